//! The completion protocol of a [`ConcurrentFuture`](super::ConcurrentFuture):
//! one outcome, set once, by whichever comes first of the task's
//! completion and `cancel()`, and read by blocking waiters, an async
//! awaiter and done callbacks.
//!
//! # State
//!
//! Everything lives under one mutex (`State`); `done` mirrors "an outcome
//! is set" for lock-free `done()` and for waiters that spin before they
//! block.
//!
//! * `outcome` goes `Pending` → `Ready` exactly once: by [`Slot::complete`]
//!   (the task finished) or [`Slot::cancel`] (asyncio's concurrent future:
//!   cancelling a pending future cancels it at once; the task is asked to
//!   stop, and whatever it ends with later is dropped). The loser of the
//!   race gets `false` (and `complete` hands its outcome back). `Ready`
//!   becomes `Taken` when a waiter takes a value or a panic; cancelled and
//!   shut-down outcomes stay (they can be read again).
//! * `done` is stored (release) under the lock in the same critical section
//!   that sets `Ready`, so a thread that sees it (acquire) and then locks
//!   finds the outcome.
//! * `waiters` counts threads blocked on the condition variable; the
//!   transition notifies all of them if there are any. A waiter re-checks
//!   the outcome under the lock before it blocks, so a notification can
//!   not fall between its check and its wait.
//! * `callbacks` and the async `waker` are taken by the transition and run
//!   by its thread, after the lock is released (a callback may call back
//!   into the future). A callback added once the outcome is set is handed
//!   back to the caller, which runs it at once.
//!
//! loom: `loom-tests/tests/concurrent_future.rs` (completion vs `cancel()`
//! vs a waiter; a callback registered during the race runs exactly once).

use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use corio_executor::sync::{AtomicBool, Condvar, Mutex, MutexGuard, Ordering};

use super::FutureError;

/// A done callback, closed over what it needs.
pub(crate) type Callback = Box<dyn FnOnce() + Send + 'static>;

/// The shared outcome of a concurrent future.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct Slot<T> {
    done: AtomicBool,
    state: Mutex<State<T>>,
    cv: Condvar,
}

struct State<T> {
    outcome: Outcome<T>,
    waiters: usize,
    callbacks: Vec<Callback>,
    waker: Option<Waker>,
}

enum Outcome<T> {
    Pending,
    Ready(Result<T, FutureError>),
    Taken,
}

/// What a transition hands its caller to run once the lock is released.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct Wakeups {
    callbacks: Vec<Callback>,
    waker: Option<Waker>,
}

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
impl Wakeups {
    /// Just one callback (one added after the outcome was set).
    pub fn single(cb: Callback) -> Wakeups {
        Wakeups {
            callbacks: vec![cb],
            waker: None,
        }
    }

    /// Wakes the async awaiter, then runs the callbacks in registration
    /// order. A panicking callback is given to `on_panic` and the next
    /// ones still run.
    pub fn run(self, mut on_panic: impl FnMut(Box<dyn std::any::Any + Send>)) {
        if let Some(w) = self.waker {
            w.wake();
        }
        for cb in self.callbacks {
            if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(cb)) {
                on_panic(payload);
            }
        }
    }
}

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
impl<T> Slot<T> {
    /// A pending slot.
    pub fn new() -> Slot<T> {
        Slot {
            done: AtomicBool::new(false),
            state: Mutex::new(State {
                outcome: Outcome::Pending,
                waiters: 0,
                callbacks: Vec::new(),
                waker: None,
            }),
            cv: Condvar::new(),
        }
    }

    /// Whether an outcome is set (lock-free).
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Whether the outcome is a cancellation (set by `cancel`, or the
    /// coroutine ended cancelled).
    pub fn is_cancelled(&self) -> bool {
        self.is_done()
            && matches!(
                self.state.lock().outcome,
                Outcome::Ready(Err(FutureError::Cancelled(_)))
            )
    }

    /// Sets the outcome if none is set yet; `Err(outcome)` hands it back if
    /// it lost (the future was cancelled first).
    pub fn complete(
        &self,
        outcome: Result<T, FutureError>,
    ) -> Result<Wakeups, Result<T, FutureError>> {
        let mut st = self.state.lock();
        if !matches!(st.outcome, Outcome::Pending) {
            return Err(outcome);
        }
        st.outcome = Outcome::Ready(outcome);
        Ok(self.finish(st))
    }

    /// Cancels a pending future: its outcome becomes `Cancelled` now.
    /// `None` if it already had an outcome.
    pub fn cancel(&self) -> Option<Wakeups> {
        let mut st = self.state.lock();
        if !matches!(st.outcome, Outcome::Pending) {
            return None;
        }
        st.outcome = Outcome::Ready(Err(FutureError::Cancelled(crate::Cancelled::new())));
        Some(self.finish(st))
    }

    fn finish(&self, mut st: MutexGuard<'_, State<T>>) -> Wakeups {
        self.done.store(true, Ordering::Release);
        if st.waiters > 0 {
            self.cv.notify_all();
        }
        let wakeups = Wakeups {
            callbacks: std::mem::take(&mut st.callbacks),
            waker: st.waker.take(),
        };
        drop(st);
        wakeups
    }

    /// Registers a done callback; hands it back if the outcome is already
    /// set (the caller runs it now).
    pub fn add_callback(&self, cb: Callback) -> Option<Callback> {
        let mut st = self.state.lock();
        if matches!(st.outcome, Outcome::Pending) {
            st.callbacks.push(cb);
            None
        } else {
            Some(cb)
        }
    }

    /// Blocks until the outcome is set, or `timeout` passes
    /// (`Err(FutureError::Timeout)`; the future stays pending).
    ///
    /// # Panics
    ///
    /// If the value (or panic) was already taken by an earlier call.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<T, FutureError> {
        let deadline = timeout.map(|t| Instant::now().checked_add(t));
        if timeout != Some(Duration::ZERO) {
            // A completion a thread wakeup or so away is caught without
            // putting this thread to sleep and waking it again.
            corio_executor::hooks::spin_until(|| self.is_done());
        }
        let mut st = self.state.lock();
        loop {
            if let Some(r) = Self::take(&mut st) {
                return r;
            }
            let left = match deadline {
                None | Some(None) => None,
                Some(Some(at)) => match at.checked_duration_since(Instant::now()) {
                    Some(d) if !d.is_zero() => Some(d),
                    _ => return Err(FutureError::Timeout(crate::TimeoutError::new())),
                },
            };
            st.waiters += 1;
            st = match left {
                None => self.cv.wait(st),
                Some(d) => self.cv.wait_timeout(st, d).0,
            };
            st.waiters -= 1;
        }
    }

    /// The outcome for an async awaiter, or registers its waker.
    pub fn poll(&self, cx: &mut Context<'_>) -> Poll<Result<T, FutureError>> {
        let mut st = self.state.lock();
        if let Some(r) = Self::take(&mut st) {
            return Poll::Ready(r);
        }
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// A panic that is still unretrieved, taken out (for the "never
    /// retrieved" report when the last handle goes).
    pub fn take_unretrieved_panic(&self) -> Option<String> {
        let mut st = self.state.lock();
        match std::mem::replace(&mut st.outcome, Outcome::Taken) {
            Outcome::Ready(Err(FutureError::Panicked { message, .. })) => Some(message),
            other => {
                st.outcome = other;
                None
            }
        }
    }

    fn take(st: &mut State<T>) -> Option<Result<T, FutureError>> {
        match &st.outcome {
            Outcome::Pending => None,
            Outcome::Taken => panic!(
                "ConcurrentFuture::result() was called after the result was already taken: \
                 a value or panic is handed out once (keep it from the first call)"
            ),
            Outcome::Ready(Err(FutureError::Cancelled(c))) => {
                Some(Err(FutureError::Cancelled(c.clone())))
            }
            Outcome::Ready(Err(FutureError::Shutdown)) => Some(Err(FutureError::Shutdown)),
            Outcome::Ready(_) => match std::mem::replace(&mut st.outcome, Outcome::Taken) {
                Outcome::Ready(r) => Some(r),
                _ => unreachable!(),
            },
        }
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Slot<T> {
        Slot::new()
    }
}
