//! The one door to atomics, locks, cells, threads and thread-locals for the
//! concurrency core.
//!
//! Normally these are `std`/`parking_lot` types. Under `--cfg loom` they are
//! loom's, so the loom models in `loom-tests/` explore every interleaving of
//! the same code that ships. Every protocol imports its atomics, locks,
//! cells and threads from here. The few std atomics used directly are
//! counters and statistics that no protocol relies on (id allocation, the
//! measured wakeup cost of `spin.rs`, the parker's wakeup stamp), each
//! marked where it is declared.

#[cfg(not(loom))]
mod imp {
    pub use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub use std::sync::Arc;
    pub use std::thread;

    /// A mutex (parking_lot's: no poisoning, one byte of state).
    #[derive(Debug, Default)]
    pub struct Mutex<T: ?Sized>(parking_lot::Mutex<T>);

    /// The guard of a locked [`Mutex`].
    pub type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        /// Creates an unlocked mutex.
        pub const fn new(value: T) -> Mutex<T> {
            Mutex(parking_lot::const_mutex(value))
        }
    }

    impl<T: ?Sized> Mutex<T> {
        /// Locks the mutex, blocking the thread until it is free.
        #[inline]
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }

        /// Locks the mutex if it is free right now.
        #[inline]
        pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock()
        }
    }

    /// A condition variable for [`Mutex`] (parking_lot's), with a by-value
    /// guard API that loom's matches.
    #[derive(Debug, Default)]
    pub struct Condvar(parking_lot::Condvar);

    impl Condvar {
        /// A condition variable nobody waits on.
        pub const fn new() -> Condvar {
            Condvar(parking_lot::Condvar::new())
        }

        /// Unlocks, waits for a notification (or a spurious wakeup), locks.
        pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(&mut guard);
            guard
        }

        /// [`wait`](Self::wait) for at most `timeout`; true if it timed out.
        pub fn wait_timeout<'a, T>(
            &self,
            mut guard: MutexGuard<'a, T>,
            timeout: std::time::Duration,
        ) -> (MutexGuard<'a, T>, bool) {
            let r = self.0.wait_for(&mut guard, timeout);
            (guard, r.timed_out())
        }

        /// Wakes one waiter.
        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        /// Wakes every waiter.
        pub fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    /// `std::cell::UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// Wraps a value.
        #[inline]
        pub const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Unwraps the value.
        #[inline]
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }

        /// Gives `f` a shared raw pointer to the contents.
        #[inline]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Gives `f` an exclusive raw pointer to the contents.
        #[inline]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Declares thread-locals (std's, `const`-initialised).
    macro_rules! corio_thread_local {
        ($(static $name:ident: $t:ty = $init:expr;)*) => {
            ::std::thread_local! { $(static $name: $t = const { $init };)* }
        };
    }
    pub(crate) use corio_thread_local as thread_local;
}

#[cfg(loom)]
mod imp {
    pub use loom::cell::UnsafeCell;
    pub use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub use loom::sync::Arc;
    pub use loom::thread;

    /// loom's mutex behind the same API as the std build's.
    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    /// The guard of a locked [`Mutex`].
    pub type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        /// Creates an unlocked mutex.
        pub fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        /// Locks the mutex.
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }

        /// Locks the mutex if it is free right now.
        pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock().ok()
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Mutex::new(T::default())
        }
    }

    /// loom's condition variable behind the same API as the std build's.
    /// A timed wait never times out under loom (loom has no time): models
    /// must end every wait with a notification.
    #[derive(Debug, Default)]
    pub struct Condvar(loom::sync::Condvar);

    impl Condvar {
        /// A condition variable nobody waits on.
        pub fn new() -> Condvar {
            Condvar(loom::sync::Condvar::new())
        }

        /// Unlocks, waits for a notification, locks.
        pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(guard).unwrap()
        }

        /// Like [`wait`](Self::wait); never times out under loom.
        pub fn wait_timeout<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            _timeout: std::time::Duration,
        ) -> (MutexGuard<'a, T>, bool) {
            (self.0.wait(guard).unwrap(), false)
        }

        /// Wakes one waiter.
        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        /// Wakes every waiter.
        pub fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    /// Declares thread-locals (loom's, one per modelled thread).
    macro_rules! corio_thread_local {
        ($(static $name:ident: $t:ty = $init:expr;)*) => {
            ::loom::thread_local! { $(static $name: $t = $init;)* }
        };
    }
    pub(crate) use corio_thread_local as thread_local;
}

pub use imp::*;
