//! `Condition`: asyncio's `Condition`, over a [`Lock`] it owns.
//!
//! `wait` links the waiter in the condition's list *before* it releases
//! the lock, so a `notify` by the next holder of the lock always finds it.
//! `notify(n)` moves up to `n` linked waiters to notified. A waiter then
//! re-acquires the lock (in the lock's FIFO) before it returns, also when
//! it was cancelled, and a cancellation that arrives while it takes the
//! lock back is returned with the guard. A waiter that was notified and
//! then returns cancelled (before it ran, or while it took the lock back)
//! passes a notification on to the next linked waiter (asyncio 3.13).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use corio_executor::sync::Mutex;
use corio_executor::Cancelled;

use super::lock::{Lock, LockAcquire, LockGuard};
use super::waiters::{Key, WaitList, Wakers};

/// A condition variable for tasks (asyncio's `Condition`): tasks holding
/// its lock [`wait`](Condition::wait) until another task holding the lock
/// [`notify`](Condition::notify)s them. The lock holds the data the
/// condition is about.
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let cond = Arc::new(corio::sync::Condition::new(Vec::new()));
///     let consumer = corio::spawn({
///         let cond = cond.clone();
///         async move {
///             let guard = cond.acquire().await.unwrap();
///             let mut items = cond.wait_for(guard, |v| !v.is_empty()).await.unwrap();
///             items.pop().unwrap()
///         }
///     });
///     let mut items = cond.acquire().await.unwrap();
///     items.push("job");
///     cond.notify(1).unwrap();
///     drop(items);
///     assert_eq!(consumer.await.unwrap(), "job");
/// });
/// ```
pub struct Condition<T = ()> {
    lock: Lock<T>,
    waiters: Mutex<WaitList>,
}

impl<T> Condition<T> {
    /// A condition whose lock holds `value`.
    ///
    /// ```
    /// let cond = corio::sync::Condition::new(0);
    /// assert!(!cond.locked());
    /// ```
    pub fn new(value: T) -> Condition<T> {
        Condition {
            lock: Lock::new(value),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Waits for the condition's lock (see [`Lock::acquire`]).
    ///
    /// ```
    /// corio::run(async {
    ///     let cond = corio::sync::Condition::new(1);
    ///     assert_eq!(*cond.acquire().await.unwrap(), 1);
    /// });
    /// ```
    pub fn acquire(&self) -> LockAcquire<'_, T> {
        self.lock.acquire()
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// ```
    /// let cond = corio::sync::Condition::new(());
    /// assert!(cond.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard<'_, T>> {
        self.lock.try_acquire()
    }

    /// Whether the lock is held.
    ///
    /// ```
    /// let cond = corio::sync::Condition::new(());
    /// let _g = cond.try_acquire();
    /// assert!(cond.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// The condition's lock.
    ///
    /// ```
    /// let cond = corio::sync::Condition::new(());
    /// assert!(!cond.lock().locked());
    /// ```
    pub fn lock(&self) -> &Lock<T> {
        &self.lock
    }

    /// Releases the lock, waits to be notified, and takes the lock again
    /// before it returns (asyncio's `wait()`, a cancellation point).
    ///
    /// Also when the task is cancelled while it waits, the lock is taken
    /// again first: the error, [`ConditionCancelled`], carries the guard
    /// with the cancellation (`?` turns it into [`Cancelled`] and releases
    /// the lock). Like every condition variable's, a return does not prove
    /// the condition holds: check it in a loop, or use
    /// [`wait_for`](Self::wait_for).
    ///
    /// # Panics
    ///
    /// If `guard` holds another condition's lock.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// corio::run(async {
    ///     let cond = Arc::new(corio::sync::Condition::new(false));
    ///     let waiter = corio::spawn({
    ///         let cond = cond.clone();
    ///         async move {
    ///             let mut ready = cond.acquire().await.unwrap();
    ///             while !*ready {
    ///                 ready = cond.wait(ready).await.unwrap();
    ///             }
    ///         }
    ///     });
    ///     {
    ///         let mut ready = cond.acquire().await.unwrap();
    ///         *ready = true;
    ///         cond.notify_all().unwrap();
    ///     } // the guard drops: the waiter can take the lock
    ///     waiter.await.unwrap();
    /// });
    /// ```
    pub fn wait<'a>(&'a self, guard: LockGuard<'a, T>) -> ConditionWait<'a, T> {
        assert!(
            std::ptr::eq(guard.lock, &self.lock),
            "corio::sync::Condition::wait() was given the guard of another lock: pass the \
             guard returned by this condition's acquire()"
        );
        ConditionWait {
            cond: self,
            phase: Phase::Start(guard),
            key: None,
            notified: false,
            cancelled: None,
        }
    }

    /// Waits until `predicate` holds for the data (asyncio's `wait_for`):
    /// checks it, and [`wait`](Self::wait)s while it is false. Returns the
    /// guard, with the lock held.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// corio::run(async {
    ///     let cond = Arc::new(corio::sync::Condition::new(0));
    ///     let waiter = corio::spawn({
    ///         let cond = cond.clone();
    ///         async move {
    ///             let g = cond.acquire().await.unwrap();
    ///             *cond.wait_for(g, |n| *n >= 3).await.unwrap()
    ///         }
    ///     });
    ///     for _ in 0..3 {
    ///         let mut n = cond.acquire().await.unwrap();
    ///         *n += 1;
    ///         cond.notify_all().unwrap();
    ///     }
    ///     assert_eq!(waiter.await.unwrap(), 3);
    /// });
    /// ```
    pub async fn wait_for<'a>(
        &'a self,
        mut guard: LockGuard<'a, T>,
        mut predicate: impl FnMut(&T) -> bool,
    ) -> Result<LockGuard<'a, T>, ConditionCancelled<'a, T>> {
        loop {
            if predicate(&guard) {
                return Ok(guard);
            }
            guard = self.wait(guard).await?;
        }
    }

    /// Wakes up to `n` waiting tasks (asyncio's `notify(n)`); each takes
    /// the lock again before its `wait` returns.
    ///
    /// # Errors
    ///
    /// [`NotifyUnlocked`] (asyncio's `RuntimeError`) if the lock is not
    /// held: notify while holding the guard.
    ///
    /// ```
    /// let cond = corio::sync::Condition::new(());
    /// assert!(cond.notify(1).is_err()); // not holding the lock
    /// let _g = cond.try_acquire().unwrap();
    /// cond.notify(1).unwrap();
    /// ```
    pub fn notify(&self, n: usize) -> Result<(), NotifyUnlocked> {
        if !self.lock.locked() {
            return Err(NotifyUnlocked);
        }
        self.notify_n(n);
        Ok(())
    }

    /// Wakes every waiting task (asyncio's `notify_all()`).
    ///
    /// # Errors
    ///
    /// [`NotifyUnlocked`] if the lock is not held.
    ///
    /// ```
    /// let cond = corio::sync::Condition::new(());
    /// let _g = cond.try_acquire().unwrap();
    /// cond.notify_all().unwrap();
    /// ```
    pub fn notify_all(&self) -> Result<(), NotifyUnlocked> {
        self.notify(usize::MAX)
    }

    fn notify_n(&self, n: usize) {
        let mut list = self.waiters.lock();
        let mut wakers = Wakers::default();
        while wakers.len() < n {
            match list.notify_front() {
                Some(w) => wakers.extend(Some(w)),
                None => break,
            }
        }
        drop(list);
        wakers.wake();
    }
}

impl<T: Default> Default for Condition<T> {
    fn default() -> Self {
        Condition::new(T::default())
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}

enum Phase<'a, T> {
    /// Not polled yet: holds the guard.
    Start(LockGuard<'a, T>),
    /// Linked in the condition's list, lock released.
    Waiting,
    /// Notified or cancelled: taking the lock back.
    Reacquiring(LockAcquire<'a, T>),
    Done,
}

/// The future of [`Condition::wait`].
///
/// ```
/// corio::run(async {
///     let cond = corio::sync::Condition::new(());
///     let guard = cond.acquire().await.unwrap();
///     let wait: corio::sync::ConditionWait<'_, ()> = cond.wait(guard);
///     drop(wait); // never polled: the guard drops with it
///     assert!(!cond.locked());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct ConditionWait<'a, T> {
    cond: &'a Condition<T>,
    phase: Phase<'a, T>,
    key: Option<Key>,
    /// Took a notification (and is taking the lock back).
    notified: bool,
    cancelled: Option<Cancelled>,
}

impl<'a, T> Future for ConditionWait<'a, T> {
    type Output = Result<LockGuard<'a, T>, ConditionCancelled<'a, T>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match std::mem::replace(&mut this.phase, Phase::Done) {
                Phase::Start(guard) => {
                    if let Some(cancelled) = corio_executor::poll_cancelled() {
                        return Poll::Ready(Err(ConditionCancelled { cancelled, guard }));
                    }
                    if corio_executor::hooks::poll_proceed(cx).is_pending() {
                        this.phase = Phase::Start(guard);
                        return Poll::Pending;
                    }
                    // Link first, then release: the next holder's notify
                    // finds this waiter.
                    this.key = Some(this.cond.waiters.lock().push_back(cx.waker(), 0));
                    drop(guard);
                    this.phase = Phase::Waiting;
                    return crate::track(Poll::Pending);
                }
                Phase::Waiting => {
                    let key = this.key.expect("a waiting condition waiter has a node");
                    if let Some(c) = corio_executor::poll_cancelled() {
                        this.leave(key);
                        this.cancelled = Some(c);
                    } else {
                        let notified = this.cond.waiters.lock().poll_notified(key, cx.waker());
                        if !notified {
                            this.phase = Phase::Waiting;
                            return crate::track(Poll::Pending);
                        }
                        this.key = None;
                        this.notified = true;
                    }
                    this.phase = Phase::Reacquiring(this.cond.lock.acquire_uncancellable());
                }
                Phase::Reacquiring(mut acquire) => {
                    // A cancellation that arrives while the lock is taken
                    // back is delivered with the guard too (asyncio 3.13);
                    // at most one: a second request stays pending for the
                    // next await.
                    if this.cancelled.is_none() {
                        this.cancelled = corio_executor::poll_cancelled();
                    }
                    match Pin::new(&mut acquire).poll(cx) {
                        Poll::Ready(Ok(guard)) => {
                            return Poll::Ready(match this.cancelled.take() {
                                Some(cancelled) => {
                                    if this.notified {
                                        // The notification this waiter took
                                        // goes to another one (asyncio 3.13).
                                        this.cond.notify_n(1);
                                    }
                                    Err(ConditionCancelled { cancelled, guard })
                                }
                                None => Ok(guard),
                            });
                        }
                        Poll::Ready(Err(_)) => unreachable!("an uncancellable acquire"),
                        Poll::Pending => {
                            this.phase = Phase::Reacquiring(acquire);
                            return crate::track(Poll::Pending);
                        }
                    }
                }
                Phase::Done => panic!("corio::sync: Condition::wait polled after it completed"),
            }
        }
    }
}

impl<T> ConditionWait<'_, T> {
    /// Leaves the list; a notification meant for this waiter goes on to
    /// the next one.
    fn leave(&mut self, key: Key) {
        self.key = None;
        let mut list = self.cond.waiters.lock();
        let (notified, _) = list.remove(key);
        let next = if notified { list.notify_front() } else { None };
        drop(list);
        if let Some(w) = next {
            w.wake();
        }
    }
}

impl<T> Drop for ConditionWait<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.leave(key);
        }
    }
}

impl<T> fmt::Debug for ConditionWait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionWait").finish_non_exhaustive()
    }
}

/// [`Condition::wait`] was cancelled: the lock was taken again, and here
/// is its guard, with the cancellation (asyncio re-acquires the lock before
/// it raises `CancelledError`).
///
/// ```
/// use corio::sync::{Condition, ConditionCancelled};
///
/// corio::run(async {
///     let cond = Condition::new(0);
///     corio::current_task().unwrap().cancel();
///     let guard = cond.try_acquire().unwrap();
///     match cond.wait(guard).await {
///         Err(ConditionCancelled { cancelled, guard }) => {
///             assert_eq!(*guard, 0); // the lock is held
///             cancelled.suppress();
///         }
///         Ok(_) => unreachable!(),
///     };
/// });
/// ```
pub struct ConditionCancelled<'a, T> {
    /// The delivered cancellation.
    pub cancelled: Cancelled,
    /// The guard: the lock is held.
    pub guard: LockGuard<'a, T>,
}

impl<T> From<ConditionCancelled<'_, T>> for Cancelled {
    /// Keeps the cancellation and releases the lock.
    fn from(e: ConditionCancelled<'_, T>) -> Cancelled {
        e.cancelled
    }
}

impl<T> fmt::Debug for ConditionCancelled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionCancelled")
            .field("cancelled", &self.cancelled)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for ConditionCancelled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Condition::wait() was {} (the lock is held again)",
            self.cancelled
        )
    }
}

impl<T> std::error::Error for ConditionCancelled<'_, T> {}

/// [`Condition::notify`] without the lock held (asyncio: `RuntimeError:
/// cannot notify on un-acquired lock`).
///
/// ```
/// let cond = corio::sync::Condition::new(());
/// assert_eq!(cond.notify(1), Err(corio::sync::NotifyUnlocked));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyUnlocked;

impl fmt::Display for NotifyUnlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "Condition::notify() on an un-acquired lock: acquire the condition and notify \
             while holding the guard",
        )
    }
}

impl std::error::Error for NotifyUnlocked {}
