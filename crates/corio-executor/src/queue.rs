//! Run queues behind a small interface, so the loom models can check the
//! scheduler's use of them.
//!
//! The scheduler needs three things: a worker-owned FIFO queue
//! ([`LocalQueue`]), a handle that lets other workers steal half of it
//! ([`Stealer`]), and a global multi-producer queue ([`Injector`]). In normal
//! builds they are crossbeam-deque's lock-free `Worker`, `Stealer` and
//! `Injector`. crossbeam-deque is not loom-aware, so under `--cfg loom` they
//! are a mutex-protected `VecDeque` with the same contract:
//!
//! * `push`/`pop` are called only by the owning worker; `pop` takes from the
//!   front (FIFO).
//! * `steal_batch_and_pop` moves about half of the victim's tasks into the
//!   thief's queue and returns one more to run now; an item is either stolen
//!   or popped, never both and never lost.
//! * `len`/`is_empty` are hints when other threads are active.

#[cfg(not(loom))]
mod imp {
    use crossbeam_deque::Steal;

    /// A worker-owned FIFO queue.
    #[derive(Debug)]
    pub(crate) struct LocalQueue<T>(crossbeam_deque::Worker<T>);

    /// Steals from a [`LocalQueue`].
    #[derive(Debug)]
    pub(crate) struct Stealer<T>(crossbeam_deque::Stealer<T>);

    /// The global multi-producer, multi-consumer queue.
    #[derive(Debug)]
    pub(crate) struct Injector<T>(crossbeam_deque::Injector<T>);

    impl<T> LocalQueue<T> {
        /// Creates an empty queue.
        pub(crate) fn new() -> Self {
            LocalQueue(crossbeam_deque::Worker::new_fifo())
        }
        /// Returns a stealer for this queue.
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.stealer())
        }
        /// Pushes to the back (owner only).
        #[inline]
        pub(crate) fn push(&self, item: T) {
            self.0.push(item)
        }
        /// Pops from the front (owner only).
        #[inline]
        pub(crate) fn pop(&self) -> Option<T> {
            self.0.pop()
        }
        /// How many items are queued.
        #[inline]
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    fn retry<T>(mut f: impl FnMut() -> Steal<T>) -> Option<T> {
        loop {
            match f() {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }

    impl<T> Stealer<T> {
        /// Moves about half of the victim's items to `dest` and pops one.
        pub(crate) fn steal_batch_and_pop(&self, dest: &LocalQueue<T>) -> Option<T> {
            retry(|| self.0.steal_batch_and_pop(&dest.0))
        }
        /// Whether the victim's queue is empty.
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<T> Injector<T> {
        /// Creates an empty injector.
        pub(crate) fn new() -> Self {
            Injector(crossbeam_deque::Injector::new())
        }
        /// Pushes to the back, from any thread.
        #[inline]
        pub(crate) fn push(&self, item: T) {
            self.0.push(item)
        }
        /// Pops one item from the front.
        pub(crate) fn pop(&self) -> Option<T> {
            retry(|| self.0.steal())
        }
        /// Moves a batch into `dest` and pops one more.
        pub(crate) fn steal_batch_and_pop(&self, dest: &LocalQueue<T>) -> Option<T> {
            retry(|| self.0.steal_batch_and_pop(&dest.0))
        }
        /// Whether the injector is empty.
        #[inline]
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }
}

#[cfg(loom)]
mod imp {
    use crate::sync::{Arc, Mutex};
    use std::collections::VecDeque;

    /// Stand-in for crossbeam's `Worker`: a shared, locked `VecDeque`.
    #[derive(Debug)]
    pub struct LocalQueue<T>(Arc<Mutex<VecDeque<T>>>);

    /// Stand-in for crossbeam's `Stealer`.
    #[derive(Debug)]
    pub struct Stealer<T>(Arc<Mutex<VecDeque<T>>>);

    /// Stand-in for crossbeam's `Injector`.
    #[derive(Debug)]
    pub struct Injector<T>(Mutex<VecDeque<T>>);

    impl<T> LocalQueue<T> {
        /// Creates an empty queue.
        pub fn new() -> Self {
            LocalQueue(Arc::new(Mutex::new(VecDeque::new())))
        }
        /// Returns a stealer for this queue.
        pub fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.clone())
        }
        /// Pushes to the back (owner only).
        pub fn push(&self, item: T) {
            self.0.lock().push_back(item)
        }
        /// Pops from the front (owner only).
        pub fn pop(&self) -> Option<T> {
            self.0.lock().pop_front()
        }
        /// How many items are queued.
        pub fn len(&self) -> usize {
            self.0.lock().len()
        }
        /// Whether the queue is empty.
        pub fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
    }

    impl<T> Stealer<T> {
        /// Moves half of the victim's items to `dest` and pops one.
        pub fn steal_batch_and_pop(&self, dest: &LocalQueue<T>) -> Option<T> {
            if Arc::ptr_eq(&self.0, &dest.0) {
                return None;
            }
            let mut batch = {
                let mut src = self.0.lock();
                let n = src.len().div_ceil(2);
                src.drain(..n).collect::<VecDeque<T>>()
            };
            let first = batch.pop_front();
            dest.0.lock().extend(batch);
            first
        }
        /// Whether the victim's queue is empty.
        pub fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
    }

    impl<T> Injector<T> {
        /// Creates an empty injector.
        pub fn new() -> Self {
            Injector(Mutex::new(VecDeque::new()))
        }
        /// Pushes to the back, from any thread.
        pub fn push(&self, item: T) {
            self.0.lock().push_back(item)
        }
        /// Pops one item from the front.
        pub fn pop(&self) -> Option<T> {
            self.0.lock().pop_front()
        }
        /// Moves a batch into `dest` and pops one more.
        pub fn steal_batch_and_pop(&self, dest: &LocalQueue<T>) -> Option<T> {
            let mut batch = {
                let mut src = self.0.lock();
                // Half the injector, at most half a local queue's capacity.
                let n = src
                    .len()
                    .div_ceil(2)
                    .min(crate::config::LOCAL_QUEUE_CAPACITY / 2);
                src.drain(..n).collect::<VecDeque<T>>()
            };
            let first = batch.pop_front();
            dest.0.lock().extend(batch);
            first
        }
        /// Whether the injector is empty.
        pub fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
    }
}

#[cfg(not(loom))]
pub(crate) use imp::*;
#[cfg(loom)]
pub use imp::*;

impl<T> Default for LocalQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Default for Injector<T> {
    fn default() -> Self {
        Self::new()
    }
}
