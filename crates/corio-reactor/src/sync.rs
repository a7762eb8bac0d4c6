//! The reactor's door to atomics and locks: `std`/`parking_lot` normally,
//! loom's under `--cfg loom`, so the readiness protocol (`readiness.rs`)
//! is model-checked as it ships (`loom-tests/tests/readiness.rs`).

#[cfg(not(loom))]
mod imp {
    pub use std::sync::atomic::{AtomicUsize, Ordering};

    /// A mutex (parking_lot's: no poisoning).
    #[derive(Debug, Default)]
    pub struct Mutex<T>(parking_lot::Mutex<T>);

    /// The guard of a locked [`Mutex`].
    pub type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        /// Creates an unlocked mutex.
        pub const fn new(value: T) -> Mutex<T> {
            Mutex(parking_lot::const_mutex(value))
        }

        /// Locks the mutex.
        #[inline]
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }
    }
}

#[cfg(loom)]
mod imp {
    pub use loom::sync::atomic::{AtomicUsize, Ordering};

    /// loom's mutex behind the same API as the std build's.
    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Mutex::new(T::default())
        }
    }

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
    }
}

pub(crate) use imp::*;
