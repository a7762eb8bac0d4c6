//! `Lock<T>`: asyncio's `Lock`, holding the data it protects.
//!
//! A lock is a one-permit [`semaphore`](super::semaphore) and the data.
//! Release hands the lock to the front waiter directly (the permit never
//! becomes free while someone waits), so a newcomer cannot barge past a
//! woken waiter that has not run yet, and a waiter that was handed the lock
//! and is cancelled before it runs hands it on in turn.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use std::sync::Arc;

use corio_executor::sync::UnsafeCell;
use corio_executor::Cancelled;

use super::semaphore::{Acquiring, Permits};

/// A mutual-exclusion lock for tasks (asyncio's `Lock`), holding the data
/// it protects: [`acquire`](Lock::acquire) waits in FIFO order and returns
/// a [`LockGuard`] that derefs to the data and releases the lock when
/// dropped (asyncio's `async with lock:`).
///
/// There is no poisoning: a task that panics while holding the guard
/// releases the lock as the guard drops.
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let counter = Arc::new(corio::sync::Lock::new(0));
///     let mut tasks = Vec::new();
///     for _ in 0..10 {
///         let counter = counter.clone();
///         tasks.push(corio::spawn(async move {
///             let mut n = counter.acquire().await.unwrap();
///             let seen = *n;
///             corio::yield_now().await.unwrap(); // still held across the await
///             *n = seen + 1;
///         }));
///     }
///     corio::gather(tasks).await.unwrap();
///     assert_eq!(*counter.acquire().await.unwrap(), 10);
/// });
/// ```
pub struct Lock<T = ()> {
    permits: Permits,
    value: UnsafeCell<T>,
}

// SAFETY: the lock gives the data to one guard at a time, possibly on
// another thread: it needs `T: Send`, like `std::sync::Mutex`.
unsafe impl<T: Send> Send for Lock<T> {}
// SAFETY: as above; `&Lock` only hands out `&mut T` through the one guard.
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    /// An unlocked lock holding `value`.
    ///
    /// ```
    /// let lock = corio::sync::Lock::new(vec![1, 2]);
    /// assert!(!lock.locked());
    /// ```
    pub fn new(value: T) -> Lock<T> {
        Lock {
            permits: Permits::new(1),
            value: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock (a cancellation point). Waiters get it in the
    /// order they asked.
    ///
    /// ```
    /// corio::run(async {
    ///     let lock = corio::sync::Lock::new(String::new());
    ///     lock.acquire().await.unwrap().push_str("hi");
    ///     assert_eq!(*lock.acquire().await.unwrap(), "hi");
    /// });
    /// ```
    pub fn acquire(&self) -> LockAcquire<'_, T> {
        LockAcquire {
            lock: self,
            state: Acquiring::new(1),
            cancellable: true,
        }
    }

    /// Like [`acquire`](Self::acquire) on an `Arc`: the guard holds the
    /// `Arc`, so it can move into a spawned task (tokio's `lock_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// corio::run(async {
    ///     let lock = Arc::new(corio::sync::Lock::new(0));
    ///     let mut guard = lock.clone().acquire_owned().await.unwrap();
    ///     corio::spawn(async move { *guard += 1 }).await.unwrap();
    ///     assert_eq!(*lock.acquire().await.unwrap(), 1);
    /// });
    /// ```
    pub fn acquire_owned(self: Arc<Self>) -> OwnedLockAcquire<T> {
        OwnedLockAcquire {
            lock: Some(self),
            state: Acquiring::new(1),
        }
    }

    /// [`acquire`](Self::acquire) that does not deliver cancellations: for
    /// `Condition::wait`, which re-acquires even when cancelled.
    pub(crate) fn acquire_uncancellable(&self) -> LockAcquire<'_, T> {
        LockAcquire {
            lock: self,
            state: Acquiring::new(1),
            cancellable: false,
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// ```
    /// let lock = corio::sync::Lock::new(1);
    /// let g = lock.try_acquire().unwrap();
    /// assert!(lock.try_acquire().is_none());
    /// drop(g);
    /// assert!(lock.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard<'_, T>> {
        self.permits
            .try_acquire(1)
            .then(|| LockGuard { lock: self })
    }

    /// Whether the lock is held (asyncio's `locked()`).
    ///
    /// ```
    /// let lock = corio::sync::Lock::new(());
    /// let _g = lock.try_acquire();
    /// assert!(lock.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.permits.available() == 0
    }

    /// The data, through `&mut self`: no other reference can hold the lock.
    ///
    /// ```
    /// let mut lock = corio::sync::Lock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard.
        self.value.with_mut(|p| unsafe { &mut *p })
    }

    /// The data, taking the lock apart.
    ///
    /// ```
    /// assert_eq!(corio::sync::Lock::new(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    pub(crate) fn release(&self) {
        self.permits.release(1);
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Lock::new(T::default())
    }
}

impl<T> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}

/// Holds a [`Lock`] and derefs to its data; dropping it releases the lock
/// (to the front waiter, if any).
///
/// ```
/// let lock = corio::sync::Lock::new(vec![1]);
/// let mut guard: corio::sync::LockGuard<'_, Vec<i32>> = lock.try_acquire().unwrap();
/// guard.push(2);
/// drop(guard);
/// assert_eq!(lock.into_inner(), [1, 2]);
/// ```
#[must_use = "the lock is released at once if the guard is not held"]
pub struct LockGuard<'a, T> {
    pub(crate) lock: &'a Lock<T>,
}

// SAFETY: sharing the guard shares `&T` across threads.
unsafe impl<T: Sync> Sync for LockGuard<'_, T> {}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock: no `&mut T` exists elsewhere.
        self.lock.value.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock, and `&mut self` excludes every
        // other reference through it.
        self.lock.value.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

impl<T: fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LockGuard").field(&**self).finish()
    }
}

/// The future of [`Lock::acquire`].
///
/// ```
/// corio::run(async {
///     let lock = corio::sync::Lock::new(1);
///     let acquire: corio::sync::LockAcquire<'_, i32> = lock.acquire();
///     assert_eq!(*acquire.await.unwrap(), 1);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct LockAcquire<'a, T> {
    lock: &'a Lock<T>,
    state: Acquiring,
    cancellable: bool,
}

impl<'a, T> Future for LockAcquire<'a, T> {
    type Output = Result<LockGuard<'a, T>, Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this.lock;
        let out = this.state.poll(&lock.permits, cx, this.cancellable);
        crate::track(out.map(|r| r.map(|()| LockGuard { lock })))
    }
}

impl<T> Drop for LockAcquire<'_, T> {
    fn drop(&mut self) {
        self.state.give_up(&self.lock.permits);
    }
}

impl<T> fmt::Debug for LockAcquire<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockAcquire").finish_non_exhaustive()
    }
}

/// Holds a [`Lock`] through an `Arc` ([`Lock::acquire_owned`]) and derefs
/// to its data; dropping it releases the lock.
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let lock = Arc::new(corio::sync::Lock::new(String::new()));
///     let mut guard: corio::sync::OwnedLockGuard<String> =
///         lock.clone().acquire_owned().await.unwrap();
///     guard.push('x');
///     drop(guard);
///     assert_eq!(*lock.acquire().await.unwrap(), "x");
/// });
/// ```
#[must_use = "the lock is released at once if the guard is not held"]
pub struct OwnedLockGuard<T> {
    lock: Arc<Lock<T>>,
}

// SAFETY: sharing the guard shares `&T` across threads.
unsafe impl<T: Sync> Sync for OwnedLockGuard<T> {}

impl<T> Deref for OwnedLockGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock: no `&mut T` exists elsewhere.
        self.lock.value.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedLockGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock, and `&mut self` excludes every
        // other reference through it.
        self.lock.value.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedLockGuard<T> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedLockGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedLockGuard").field(&**self).finish()
    }
}

/// The future of [`Lock::acquire_owned`].
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let lock = Arc::new(corio::sync::Lock::new(()));
///     let acquire: corio::sync::OwnedLockAcquire<()> = lock.acquire_owned();
///     drop(acquire.await.unwrap());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedLockAcquire<T> {
    lock: Option<Arc<Lock<T>>>,
    state: Acquiring,
}

impl<T> Future for OwnedLockAcquire<T> {
    type Output = Result<OwnedLockGuard<T>, Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let lock = this
            .lock
            .as_ref()
            .expect("corio::sync: an acquire future polled after it completed");
        let out = this.state.poll(&lock.permits, cx, true);
        crate::track(out.map(|r| {
            let lock = this.lock.take().expect("checked above");
            r.map(|()| OwnedLockGuard { lock })
        }))
    }
}

impl<T> Drop for OwnedLockAcquire<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.state.give_up(&lock.permits);
        }
    }
}

impl<T> fmt::Debug for OwnedLockAcquire<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedLockAcquire").finish_non_exhaustive()
    }
}
