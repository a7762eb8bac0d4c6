//! `Queue`, `LifoQueue` and `PriorityQueue`: asyncio's queues (3.13, with
//! `shutdown`).
//!
//! # Protocol
//!
//! One mutex holds the items, three wait lists (getters, putters, `join`
//! waiters), the count of unfinished items and the shutdown flag. The rules
//! are asyncio's:
//!
//! * `put` into a queue that is not full inserts at once (a newcomer does
//!   not wait behind woken putters), and notifies the front getter;
//!   `get` from a queue that is not empty takes at once, and notifies the
//!   front putter. A notified waiter re-checks when it runs, and waits
//!   again at the back if a newcomer took what it was woken for.
//! * A waiter that was notified and is cancelled, aborted or dropped
//!   before it ran passes the notification on to the next waiter of its
//!   kind if what it was woken for is still there. A cancelled `get`
//!   never takes an item; a cancelled `put` never inserts, and its item
//!   comes back in the error.
//! * `shutdown` notifies every getter and putter: putters fail, getters
//!   take what is left and then fail. `shutdown(true)` also drops the
//!   items (outside the mutex), counts them done and wakes `join`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use corio_executor::sync::{Arc, Mutex, MutexGuard};
use corio_executor::Cancelled;

use super::waiters::{block_on, wake_all, Key, WaitList};

/// Buffer capacity, in items, below which an emptying queue keeps its
/// memory.
const KEEP_ITEMS: usize = 64;

mod private {
    /// The storage of one queue order.
    pub trait Buffer<T>: Default {
        fn push(&mut self, item: T);
        fn pop(&mut self) -> Option<T>;
        fn len(&self) -> usize;
        fn capacity(&self) -> usize;
        fn shrink_to(&mut self, cap: usize);
    }

    pub trait Sealed {}
}
use private::Buffer;

impl<T> Buffer<T> for VecDeque<T> {
    fn push(&mut self, item: T) {
        self.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    fn capacity(&self) -> usize {
        VecDeque::capacity(self)
    }
    fn shrink_to(&mut self, cap: usize) {
        VecDeque::shrink_to(self, cap);
    }
}

impl<T> Buffer<T> for Vec<T> {
    fn push(&mut self, item: T) {
        Vec::push(self, item);
    }
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn capacity(&self) -> usize {
        Vec::capacity(self)
    }
    fn shrink_to(&mut self, cap: usize) {
        Vec::shrink_to(self, cap);
    }
}

impl<T: Ord> Buffer<T> for BinaryHeap<Reverse<T>> {
    fn push(&mut self, item: T) {
        BinaryHeap::push(self, Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        BinaryHeap::pop(self).map(|Reverse(t)| t)
    }
    fn len(&self) -> usize {
        BinaryHeap::len(self)
    }
    fn capacity(&self) -> usize {
        BinaryHeap::capacity(self)
    }
    fn shrink_to(&mut self, cap: usize) {
        BinaryHeap::shrink_to(self, cap);
    }
}

/// The order a [`GenericQueue`] hands out its items in: [`Fifo`],
/// [`Lifo`] or [`Priority`]. Sealed.
///
/// ```
/// use corio::sync::{queue::Lifo, GenericQueue};
/// let q: GenericQueue<u8, Lifo> = GenericQueue::new(0); // a LifoQueue
/// q.put_nowait(1).unwrap();
/// ```
pub trait Order<T>: private::Sealed {
    #[doc(hidden)]
    type Buffer: private::Buffer<T>;
}

/// First in, first out: [`Queue`].
///
/// ```
/// let q: corio::sync::GenericQueue<u8, corio::sync::queue::Fifo> = corio::sync::Queue::new(0);
/// # drop(q);
/// ```
#[derive(Debug)]
pub enum Fifo {}
/// Last in, first out: [`LifoQueue`].
///
/// ```
/// let q: corio::sync::GenericQueue<u8, corio::sync::queue::Lifo> = corio::sync::LifoQueue::new(0);
/// # drop(q);
/// ```
#[derive(Debug)]
pub enum Lifo {}
/// Smallest item first (asyncio's heap order): [`PriorityQueue`].
///
/// ```
/// let q: corio::sync::GenericQueue<u8, corio::sync::queue::Priority> =
///     corio::sync::PriorityQueue::new(0);
/// # drop(q);
/// ```
#[derive(Debug)]
pub enum Priority {}

impl private::Sealed for Fifo {}
impl private::Sealed for Lifo {}
impl private::Sealed for Priority {}

impl<T> Order<T> for Fifo {
    type Buffer = VecDeque<T>;
}
impl<T> Order<T> for Lifo {
    type Buffer = Vec<T>;
}
impl<T: Ord> Order<T> for Priority {
    type Buffer = BinaryHeap<Reverse<T>>;
}

/// A first-in, first-out queue (asyncio's `Queue`). See [`GenericQueue`]
/// for its methods.
///
/// ```
/// corio::run(async {
///     let q = corio::sync::Queue::new(0);
///     q.put(1).await.unwrap();
///     q.put(2).await.unwrap();
///     assert_eq!(q.get().await.unwrap(), 1);
/// });
/// ```
pub type Queue<T> = GenericQueue<T, Fifo>;

/// A last-in, first-out queue (asyncio's `LifoQueue`).
///
/// ```
/// let q = corio::sync::LifoQueue::new(0);
/// q.put_nowait(1).unwrap();
/// q.put_nowait(2).unwrap();
/// assert_eq!(q.get_nowait().unwrap(), 2);
/// ```
pub type LifoQueue<T> = GenericQueue<T, Lifo>;

/// A queue that hands out its smallest item first (asyncio's
/// `PriorityQueue`); put `(priority, data)` tuples as in asyncio, or any
/// `Ord` item (`std::cmp::Reverse` for largest first).
///
/// ```
/// let q = corio::sync::PriorityQueue::new(0);
/// q.put_nowait((2, "low")).unwrap();
/// q.put_nowait((1, "high")).unwrap();
/// assert_eq!(q.get_nowait().unwrap(), (1, "high"));
/// ```
pub type PriorityQueue<T> = GenericQueue<T, Priority>;

struct State<B> {
    items: B,
    getters: WaitList,
    putters: WaitList,
    joiners: WaitList,
    unfinished: usize,
    shut_down: bool,
}

struct Inner<B> {
    maxsize: usize,
    state: Mutex<State<B>>,
}

impl<B> Inner<B> {
    /// Whether a queue holding `len` items is full.
    fn full(&self, len: usize) -> bool {
        self.maxsize != 0 && len >= self.maxsize
    }
}

/// A queue for tasks and threads: [`Queue`] (FIFO), [`LifoQueue`] and
/// [`PriorityQueue`] are this type with an [`Order`].
///
/// The handle is cheap to clone (an `Arc` inside): producers and consumers
/// on any worker, or on plain threads (the `*_blocking` methods), share one
/// queue. Every `.await` is a cancellation point that loses nothing: a
/// cancelled `get` takes no item, a cancelled `put` inserts nothing and
/// gives its item back.
///
/// asyncio's queue example, with 3 workers:
///
/// ```
/// use std::time::Duration;
///
/// corio::run(async {
///     let queue = corio::sync::Queue::new(0);
///     for ms in [3, 1, 2, 1, 3] {
///         queue.put_nowait(Duration::from_millis(ms)).unwrap();
///     }
///     let workers: Vec<_> = (0..3)
///         .map(|_| {
///             let queue = queue.clone();
///             corio::spawn(async move {
///                 loop {
///                     let Ok(d) = queue.get().await else { break };
///                     corio::sleep(d).await.unwrap();
///                     queue.task_done().unwrap();
///                 }
///             })
///         })
///         .collect();
///     queue.join().await.unwrap(); // every item taken and done
///     for w in &workers {
///         w.cancel();
///     }
///     for w in workers {
///         assert!(w.await.unwrap_err().is_cancelled());
///     }
/// });
/// ```
pub struct GenericQueue<T, O: Order<T>> {
    inner: Arc<Inner<O::Buffer>>,
    _items: PhantomData<fn(T) -> T>,
}

impl<T, O: Order<T>> Clone for GenericQueue<T, O> {
    fn clone(&self) -> Self {
        GenericQueue {
            inner: self.inner.clone(),
            _items: PhantomData,
        }
    }
}

impl<T, O: Order<T>> fmt::Debug for GenericQueue<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("Queue")
            .field("maxsize", &self.inner.maxsize)
            .field("qsize", &st.items.len())
            .field("unfinished", &st.unfinished)
            .field("shut_down", &st.shut_down)
            .finish()
    }
}

impl<T, O: Order<T>> GenericQueue<T, O> {
    /// A queue that holds at most `maxsize` items (`0`: no limit; asyncio's
    /// `Queue(maxsize=0)`).
    ///
    /// ```
    /// let q = corio::sync::Queue::<u8>::new(2);
    /// assert_eq!(q.maxsize(), 2);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        GenericQueue {
            inner: Arc::new(Inner {
                maxsize,
                state: Mutex::new(State {
                    items: O::Buffer::default(),
                    getters: WaitList::new(),
                    putters: WaitList::new(),
                    joiners: WaitList::new(),
                    unfinished: 0,
                    shut_down: false,
                }),
            }),
            _items: PhantomData,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<O::Buffer>> {
        self.inner.state.lock()
    }

    /// The limit given to [`new`](Self::new) (`0`: none).
    ///
    /// ```
    /// assert_eq!(corio::sync::Queue::<()>::new(0).maxsize(), 0);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.inner.maxsize
    }

    /// How many items are in the queue.
    ///
    /// ```
    /// let q = corio::sync::Queue::new(0);
    /// q.put_nowait('a').unwrap();
    /// assert_eq!(q.qsize(), 1);
    /// ```
    pub fn qsize(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether the queue holds no item.
    ///
    /// ```
    /// assert!(corio::sync::Queue::<()>::new(0).empty());
    /// ```
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether the queue holds `maxsize` items (never, with no limit).
    ///
    /// ```
    /// let q = corio::sync::Queue::new(1);
    /// q.put_nowait(()).unwrap();
    /// assert!(q.full());
    /// ```
    pub fn full(&self) -> bool {
        let st = self.lock();
        self.inner.full(st.items.len())
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// ```
    /// let q = corio::sync::Queue::<()>::new(0);
    /// q.shutdown(false);
    /// assert!(q.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.lock().shut_down
    }

    /// Puts `item` in, waiting while the queue is full (a cancellation
    /// point).
    ///
    /// # Errors
    ///
    /// [`PutError::ShutDown`] if the queue is shut down (before or while
    /// waiting); [`PutError::Cancelled`] if the task is cancelled while it
    /// waits. Both give the item back.
    ///
    /// ```
    /// corio::run(async {
    ///     let q = corio::sync::Queue::new(1);
    ///     q.put("a").await.unwrap();
    ///     let getter = corio::spawn({
    ///         let q = q.clone();
    ///         async move { q.get().await.unwrap() }
    ///     });
    ///     q.put("b").await.unwrap(); // waits until the getter took "a"
    ///     assert_eq!(getter.await.unwrap(), "a");
    ///     assert_eq!(q.get_nowait().unwrap(), "b");
    /// });
    /// ```
    pub fn put(&self, item: T) -> Put<'_, T, O> {
        Put {
            queue: self,
            item: Some(item),
            key: None,
        }
    }

    /// Takes an item, waiting while the queue is empty (a cancellation
    /// point).
    ///
    /// # Errors
    ///
    /// [`GetError::ShutDown`] once the queue is shut down and empty;
    /// [`GetError::Cancelled`] if the task is cancelled while it waits (no
    /// item was taken).
    ///
    /// ```
    /// corio::run(async {
    ///     let q = corio::sync::Queue::new(0);
    ///     corio::spawn({
    ///         let q = q.clone();
    ///         async move { q.put(5).await.unwrap() }
    ///     });
    ///     assert_eq!(q.get().await.unwrap(), 5);
    /// });
    /// ```
    pub fn get(&self) -> Get<'_, T, O> {
        Get {
            queue: self,
            key: None,
            _items: PhantomData,
        }
    }

    /// Puts `item` in without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`] (asyncio's `QueueFull`) or
    /// [`TryPutError::ShutDown`], with the item.
    ///
    /// ```
    /// let q = corio::sync::Queue::new(1);
    /// q.put_nowait(1).unwrap();
    /// let err = q.put_nowait(2).unwrap_err();
    /// assert_eq!(err.into_item(), 2);
    /// ```
    pub fn put_nowait(&self, item: T) -> Result<(), TryPutError<T>> {
        let mut st = self.lock();
        if st.shut_down {
            return Err(TryPutError::ShutDown(item));
        }
        if self.inner.full(st.items.len()) {
            return Err(TryPutError::Full(item));
        }
        let waker = self.insert(&mut st, item);
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Takes an item without waiting.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] (asyncio's `QueueEmpty`), or
    /// [`TryGetError::ShutDown`] if the queue is shut down and empty.
    ///
    /// ```
    /// let q = corio::sync::Queue::<i32>::new(0);
    /// assert!(matches!(q.get_nowait(), Err(corio::sync::TryGetError::Empty)));
    /// ```
    pub fn get_nowait(&self) -> Result<T, TryGetError> {
        let mut st = self.lock();
        match self.take(&mut st) {
            Some((item, waker)) => {
                drop(st);
                if let Some(w) = waker {
                    w.wake();
                }
                Ok(item)
            }
            None if st.shut_down => Err(TryGetError::ShutDown),
            None => Err(TryGetError::Empty),
        }
    }

    /// Under the mutex: inserts, counts the item unfinished, and returns
    /// the front getter's waker.
    fn insert(&self, st: &mut State<O::Buffer>, item: T) -> Option<Waker> {
        st.items.push(item);
        st.unfinished += 1;
        st.getters.notify_front()
    }

    /// Under the mutex: takes an item, and returns the front putter's
    /// waker.
    fn take(&self, st: &mut State<O::Buffer>) -> Option<(T, Option<Waker>)> {
        let item = st.items.pop()?;
        let len = st.items.len();
        let cap = st.items.capacity();
        if cap > KEEP_ITEMS && len < cap / 4 {
            st.items.shrink_to((cap / 2).max(KEEP_ITEMS));
        }
        Some((item, st.putters.notify_front()))
    }

    /// Marks one item taken by `get` as processed (asyncio's
    /// `task_done()`); when every item put is done, [`join`](Self::join)
    /// returns.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] (asyncio's `ValueError`) if it is called more
    /// times than items were put.
    ///
    /// ```
    /// let q = corio::sync::Queue::new(0);
    /// q.put_nowait(()).unwrap();
    /// q.get_nowait().unwrap();
    /// q.task_done().unwrap();
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut st = self.lock();
        if st.unfinished == 0 {
            return Err(TaskDoneError);
        }
        st.unfinished -= 1;
        let wakers = if st.unfinished == 0 {
            st.joiners.notify_all()
        } else {
            Vec::new()
        };
        drop(st);
        wake_all(wakers);
        Ok(())
    }

    /// Waits until every item put has been taken and marked done with
    /// [`task_done`](Self::task_done) (a cancellation point).
    ///
    /// ```
    /// corio::run(async {
    ///     let q = corio::sync::Queue::new(0);
    ///     q.put_nowait(1).unwrap();
    ///     let worker = corio::spawn({
    ///         let q = q.clone();
    ///         async move {
    ///             q.get().await.unwrap();
    ///             q.task_done().unwrap();
    ///         }
    ///     });
    ///     q.join().await.unwrap();
    ///     worker.await.unwrap();
    /// });
    /// ```
    pub fn join(&self) -> Join<'_, T, O> {
        Join {
            queue: self,
            key: None,
            _items: PhantomData,
        }
    }

    /// Shuts the queue down (asyncio 3.13's `shutdown(immediate)`): `put`
    /// fails from now on, and every waiting putter fails; getters take
    /// what is left and then fail with [`GetError::ShutDown`].
    ///
    /// With `immediate`, the items left are dropped at once and counted
    /// done, so `join` returns, and every waiting getter fails now.
    ///
    /// ```
    /// let q = corio::sync::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.shutdown(false);
    /// assert_eq!(q.get_nowait().unwrap(), 1);
    /// assert!(matches!(q.get_nowait(), Err(corio::sync::TryGetError::ShutDown)));
    /// assert!(q.put_nowait(2).is_err());
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        let mut st = self.lock();
        st.shut_down = true;
        let mut dropped = None;
        let mut wakers = Vec::new();
        if immediate {
            let items = std::mem::take(&mut st.items);
            st.unfinished = st.unfinished.saturating_sub(items.len());
            if st.unfinished == 0 {
                wakers = st.joiners.notify_all();
            }
            dropped = Some(items);
        }
        wakers.extend(st.getters.notify_all());
        wakers.extend(st.putters.notify_all());
        drop(st);
        wake_all(wakers);
        // The items' destructors run outside the mutex.
        drop(dropped);
    }

    /// [`put`](Self::put) for a plain thread: blocks the OS thread while
    /// the queue is full.
    ///
    /// # Errors
    ///
    /// [`PutError::ShutDown`] with the item.
    ///
    /// # Panics
    ///
    /// On a corio worker thread, where it would stall the event loop (use
    /// `put(item).await` there).
    ///
    /// ```
    /// corio::run(async {
    ///     let q = corio::sync::Queue::new(1);
    ///     let producer = std::thread::spawn({
    ///         let q = q.clone();
    ///         move || {
    ///             for i in 0..3 {
    ///                 q.put_blocking(i).unwrap();
    ///             }
    ///         }
    ///     });
    ///     for i in 0..3 {
    ///         assert_eq!(q.get().await.unwrap(), i);
    ///     }
    ///     producer.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn put_blocking(&self, item: T) -> Result<(), PutError<T>> {
        block_on(
            "Queue::put_blocking()",
            "queue.put(item).await",
            self.put(item),
        )
    }

    /// [`get`](Self::get) for a plain thread: blocks the OS thread while
    /// the queue is empty.
    ///
    /// # Errors
    ///
    /// [`GetError::ShutDown`] once the queue is shut down and empty.
    ///
    /// # Panics
    ///
    /// On a corio worker thread (use `get().await` there).
    ///
    /// ```
    /// let q = corio::sync::Queue::new(0);
    /// let consumer = std::thread::spawn({
    ///     let q = q.clone();
    ///     move || q.get_blocking().unwrap()
    /// });
    /// corio::run(async move { q.put(7).await.unwrap() });
    /// assert_eq!(consumer.join().unwrap(), 7);
    /// ```
    #[track_caller]
    pub fn get_blocking(&self) -> Result<T, GetError> {
        block_on("Queue::get_blocking()", "queue.get().await", self.get())
    }

    /// [`join`](Self::join) for a plain thread.
    ///
    /// # Panics
    ///
    /// On a corio worker thread (use `join().await` there).
    ///
    /// ```
    /// let q = corio::sync::Queue::<()>::new(0);
    /// q.join_blocking(); // nothing unfinished
    /// ```
    #[track_caller]
    pub fn join_blocking(&self) {
        block_on("Queue::join_blocking()", "queue.join().await", self.join())
            .expect("a plain thread is never cancelled");
    }
}

/// The future of [`GenericQueue::put`].
///
/// ```
/// corio::run(async {
///     let q = corio::sync::Queue::new(0);
///     let put: corio::sync::queue::Put<'_, _, _> = q.put(1);
///     put.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T, O: Order<T>> {
    queue: &'a GenericQueue<T, O>,
    item: Option<T>,
    key: Option<Key>,
}

impl<T, O: Order<T>> Unpin for Put<'_, T, O> {}

impl<T, O: Order<T>> Put<'_, T, O> {
    /// Leaves the putters; a notification meant for this one goes on to
    /// the next putter if there is room.
    fn leave(&mut self) {
        let Some(key) = self.key.take() else { return };
        let q = &self.queue.inner;
        let mut st = q.state.lock();
        let (notified, _) = st.putters.remove(key);
        let next = if notified && !q.full(st.items.len()) {
            st.putters.notify_front()
        } else {
            None
        };
        drop(st);
        if let Some(w) = next {
            w.wake();
        }
    }
}

impl<T, O: Order<T>> Future for Put<'_, T, O> {
    type Output = Result<(), PutError<T>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(
            this.item.is_some(),
            "corio::sync: Queue::put polled after it completed"
        );
        if let Some(cancelled) = corio_executor::poll_cancelled() {
            this.leave();
            let item = this.item.take().expect("checked above");
            return Poll::Ready(Err(PutError::Cancelled { cancelled, item }));
        }
        std::task::ready!(corio_executor::hooks::poll_proceed(cx));
        let q = &this.queue.inner;
        let mut st = q.state.lock();
        if let Some(key) = this.key {
            if !st.putters.poll_notified(key, cx.waker()) {
                return crate::track(Poll::Pending);
            }
            this.key = None;
        }
        let item = this.item.take().expect("checked above");
        if st.shut_down {
            return Poll::Ready(Err(PutError::ShutDown(item)));
        }
        if q.full(st.items.len()) {
            this.item = Some(item);
            this.key = Some(st.putters.push_back(cx.waker(), 0));
            return crate::track(Poll::Pending);
        }
        let waker = this.queue.insert(&mut st, item);
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T, O: Order<T>> Drop for Put<'_, T, O> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl<T, O: Order<T>> fmt::Debug for Put<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of [`GenericQueue::get`].
///
/// ```
/// corio::run(async {
///     let q = corio::sync::Queue::new(0);
///     q.put_nowait(1).unwrap();
///     let get: corio::sync::queue::Get<'_, i32, _> = q.get();
///     assert_eq!(get.await.unwrap(), 1);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T, O: Order<T>> {
    queue: &'a GenericQueue<T, O>,
    key: Option<Key>,
    _items: PhantomData<fn() -> T>,
}

impl<T, O: Order<T>> Get<'_, T, O> {
    /// Leaves the getters; a notification meant for this one goes on to
    /// the next getter if an item is there.
    fn leave(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut st = self.queue.inner.state.lock();
        let (notified, _) = st.getters.remove(key);
        let next = if notified && st.items.len() > 0 {
            st.getters.notify_front()
        } else {
            None
        };
        drop(st);
        if let Some(w) = next {
            w.wake();
        }
    }
}

impl<T, O: Order<T>> Future for Get<'_, T, O> {
    type Output = Result<T, GetError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(c) = corio_executor::poll_cancelled() {
            this.leave();
            return Poll::Ready(Err(GetError::Cancelled(c)));
        }
        std::task::ready!(corio_executor::hooks::poll_proceed(cx));
        let mut st = this.queue.inner.state.lock();
        if let Some(key) = this.key {
            if !st.getters.poll_notified(key, cx.waker()) {
                return crate::track(Poll::Pending);
            }
            this.key = None;
        }
        if let Some((item, waker)) = this.queue.take(&mut st) {
            drop(st);
            if let Some(w) = waker {
                w.wake();
            }
            return Poll::Ready(Ok(item));
        }
        if st.shut_down {
            return Poll::Ready(Err(GetError::ShutDown));
        }
        this.key = Some(st.getters.push_back(cx.waker(), 0));
        crate::track(Poll::Pending)
    }
}

impl<T, O: Order<T>> Drop for Get<'_, T, O> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl<T, O: Order<T>> fmt::Debug for Get<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The future of [`GenericQueue::join`].
///
/// ```
/// corio::run(async {
///     let q = corio::sync::Queue::<()>::new(0);
///     let join: corio::sync::queue::Join<'_, _, _> = q.join();
///     join.await.unwrap(); // nothing unfinished
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T, O: Order<T>> {
    queue: &'a GenericQueue<T, O>,
    key: Option<Key>,
    _items: PhantomData<fn() -> T>,
}

impl<T, O: Order<T>> Future for Join<'_, T, O> {
    type Output = Result<(), Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(c) = corio_executor::poll_cancelled() {
            if let Some(key) = this.key.take() {
                this.queue.inner.state.lock().joiners.remove(key);
            }
            return Poll::Ready(Err(c));
        }
        std::task::ready!(corio_executor::hooks::poll_proceed(cx));
        let mut st = this.queue.inner.state.lock();
        match this.key {
            Some(key) => {
                if !st.joiners.poll_notified(key, cx.waker()) {
                    return crate::track(Poll::Pending);
                }
                this.key = None;
                Poll::Ready(Ok(()))
            }
            None if st.unfinished == 0 => Poll::Ready(Ok(())),
            None => {
                this.key = Some(st.joiners.push_back(cx.waker(), 0));
                crate::track(Poll::Pending)
            }
        }
    }
}

impl<T, O: Order<T>> Drop for Join<'_, T, O> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.inner.state.lock().joiners.remove(key);
        }
    }
}

impl<T, O: Order<T>> fmt::Debug for Join<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("waiting", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// Why [`GenericQueue::put`] did not insert its item (which comes back).
///
/// ```
/// use corio::sync::{PutError, Queue};
///
/// corio::run(async {
///     let q = Queue::new(0);
///     q.shutdown(false);
///     match q.put("job").await {
///         Err(PutError::ShutDown(item)) => assert_eq!(item, "job"),
///         other => panic!("{other:?}"),
///     }
/// });
/// ```
pub enum PutError<T> {
    /// The queue is shut down (asyncio's `QueueShutDown`).
    ShutDown(T),
    /// The task was cancelled while it waited for room.
    Cancelled {
        /// The delivered cancellation.
        cancelled: Cancelled,
        /// The item, not inserted.
        item: T,
    },
}

impl<T> PutError<T> {
    /// The item that was not inserted.
    ///
    /// ```
    /// corio::run(async {
    ///     let q = corio::sync::Queue::new(0);
    ///     q.shutdown(false);
    ///     assert_eq!(q.put(3).await.unwrap_err().into_item(), 3);
    /// });
    /// ```
    pub fn into_item(self) -> T {
        match self {
            PutError::ShutDown(item) | PutError::Cancelled { item, .. } => item,
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::ShutDown(_) => f.write_str("ShutDown(..)"),
            PutError::Cancelled { cancelled, .. } => f
                .debug_struct("Cancelled")
                .field("cancelled", cancelled)
                .finish_non_exhaustive(),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::ShutDown(_) => f.write_str(
                "QueueShutDown: put() on a queue that was shut down; the item was not inserted",
            ),
            PutError::Cancelled { cancelled, .. } => {
                write!(f, "Queue::put() was {cancelled}; the item was not inserted")
            }
        }
    }
}

impl<T> std::error::Error for PutError<T> {}

/// Why [`GenericQueue::get`] returned no item.
///
/// ```
/// use corio::sync::{GetError, Queue};
///
/// corio::run(async {
///     let q = Queue::<u8>::new(0);
///     q.shutdown(false);
///     assert!(matches!(q.get().await, Err(GetError::ShutDown)));
/// });
/// ```
#[derive(Debug)]
pub enum GetError {
    /// The queue is shut down and empty (asyncio's `QueueShutDown`).
    ShutDown,
    /// The task was cancelled while it waited; no item was taken.
    Cancelled(Cancelled),
}

impl From<Cancelled> for GetError {
    fn from(c: Cancelled) -> GetError {
        GetError::Cancelled(c)
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::ShutDown => {
                f.write_str("QueueShutDown: get() on a queue that is shut down and empty")
            }
            GetError::Cancelled(c) => write!(f, "Queue::get() was {c}; no item was taken"),
        }
    }
}

impl std::error::Error for GetError {}

/// Why [`GenericQueue::put_nowait`] did not insert its item (which comes
/// back).
///
/// ```
/// use corio::sync::{Queue, TryPutError};
///
/// let q = Queue::new(1);
/// q.put_nowait(1).unwrap();
/// assert!(matches!(q.put_nowait(2), Err(TryPutError::Full(2))));
/// ```
pub enum TryPutError<T> {
    /// The queue holds `maxsize` items (asyncio's `QueueFull`).
    Full(T),
    /// The queue is shut down (asyncio's `QueueShutDown`).
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// The item that was not inserted.
    ///
    /// ```
    /// let q = corio::sync::Queue::new(1);
    /// q.put_nowait('a').unwrap();
    /// assert_eq!(q.put_nowait('b').unwrap_err().into_item(), 'b');
    /// ```
    pub fn into_item(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::ShutDown(item) => item,
        }
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str(
                "QueueFull: put_nowait() on a queue that holds maxsize items; await put() to \
                 wait for room",
            ),
            TryPutError::ShutDown(_) => f.write_str(
                "QueueShutDown: put_nowait() on a queue that was shut down; the item was not \
                 inserted",
            ),
        }
    }
}

impl<T> std::error::Error for TryPutError<T> {}

/// Why [`GenericQueue::get_nowait`] returned no item.
///
/// ```
/// use corio::sync::{Queue, TryGetError};
///
/// let q = Queue::<u8>::new(0);
/// assert_eq!(q.get_nowait().unwrap_err(), TryGetError::Empty);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// The queue is empty (asyncio's `QueueEmpty`).
    Empty,
    /// The queue is shut down and empty (asyncio's `QueueShutDown`).
    ShutDown,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => f.write_str(
                "QueueEmpty: get_nowait() on an empty queue; await get() to wait for an item",
            ),
            TryGetError::ShutDown => {
                f.write_str("QueueShutDown: get_nowait() on a queue that is shut down and empty")
            }
        }
    }
}

impl std::error::Error for TryGetError {}

/// [`GenericQueue::task_done`] called more times than items were put
/// (asyncio: `ValueError: task_done() called too many times`).
///
/// ```
/// let q = corio::sync::Queue::<u8>::new(0);
/// assert_eq!(q.task_done(), Err(corio::sync::TaskDoneError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "task_done() called too many times: call it once for each item taken with get()",
        )
    }
}

impl std::error::Error for TaskDoneError {}
