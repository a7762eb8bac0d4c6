//! Timeouts with asyncio's semantics: `timeout`, `timeout_at`, `wait_for`.
//!
//! A [`Timeout`] runs its future inside a *cancel scope* (the executor's
//! `hooks::Scope`). When the deadline passes, the scope requests a
//! cancellation that only awaits inside the future receive; the future
//! cleans up (it may await) and finishes, and only then does the timeout
//! return, with `Err(TimeoutError)` if the future let the cancellation
//! through, or with the future's own output if it refused it
//! ([`Cancelled::suppress`](crate::Cancelled::suppress)) or finished before
//! reaching an await. Nested timeouts count their own requests, so only the
//! one that expired reports `TimeoutError`, and a cancellation of the whole
//! task that arrives at the same time goes on through every scope.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use corio_executor::hooks::Scope;
use corio_executor::sync::{Arc, Mutex};

use crate::{sleep_until, CancelScope, Sleep};

/// About thirty years from now: "never" for deadlines that overflow.
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .unwrap_or(now)
}

/// The deadline of a `corio::timeout` or `corio::wait_for` passed before
/// its future finished (asyncio's `TimeoutError`); also what
/// `ConcurrentFuture::result` reports when its own timeout passes.
///
/// ```
/// let e = corio::TimeoutError::new();
/// assert_eq!(e.to_string(), "deadline has elapsed: the future was cancelled by its timeout");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeoutError {
    _private: (),
}

impl TimeoutError {
    /// A `TimeoutError` (for tests and adapters).
    ///
    /// ```
    /// assert_eq!(corio::TimeoutError::new(), Default::default());
    /// ```
    pub fn new() -> TimeoutError {
        TimeoutError { _private: () }
    }
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed: the future was cancelled by its timeout")
    }
}

impl std::error::Error for TimeoutError {}

/// Runs `future` with a time limit of `duration` (asyncio's
/// `async with asyncio.timeout(d)`).
///
/// When the time is up, the awaits inside `future` receive
/// `Err(Cancelled)`; once `future` finishes, the timeout returns
/// `Err(TimeoutError)`, or `future`'s output if it refused the cancellation
/// (or finished without reaching another await). A zero or past deadline
/// cancels at the first await, never in code that does not await.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let slow = corio::sleep(Duration::from_secs(3600));
///     let r = corio::timeout(Duration::from_millis(10), slow).await;
///     assert!(r.is_err());
///     let quick = async { 5 };
///     assert_eq!(corio::timeout(Duration::from_secs(1), quick).await, Ok(5));
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(far_future);
    Timeout::new(future, Some(deadline))
}

/// Runs `future` until `deadline` at most (asyncio's `timeout_at`); see
/// [`timeout`].
///
/// ```
/// use std::time::{Duration, Instant};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let at = Instant::now() + Duration::from_millis(10);
///     let r = corio::timeout_at(at, corio::sleep(Duration::from_secs(60))).await;
///     assert!(r.is_err());
///     assert!(Instant::now() >= at);
/// });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout::new(future, Some(deadline))
}

/// Waits for `future` with an optional time limit (asyncio's
/// `wait_for(aw, timeout)`): `None` waits as long as it takes.
///
/// On expiry the future is cancelled and waited for (its cleanup may take
/// longer than the timeout), then `Err(TimeoutError)` is returned, unless
/// it refused the cancellation and returned a value, which is then
/// returned. To keep the future running past the timeout, wrap it in
/// `shield`.
///
/// ```
/// use std::time::Duration;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     // The seed's `eternity` example: "timeout!".
///     let eternity = async {
///         corio::sleep(Duration::from_secs(3600)).await?;
///         println!("yay!");
///         Ok::<_, corio::Cancelled>(())
///     };
///     match corio::wait_for(eternity, Duration::from_millis(10)).await {
///         Err(corio::TimeoutError { .. }) => println!("timeout!"),
///         Ok(_) => unreachable!(),
///     }
///     assert_eq!(corio::wait_for(async { 1 }, None).await, Ok(1));
/// });
/// ```
pub fn wait_for<F: Future>(future: F, timeout: impl Into<Option<Duration>>) -> Timeout<F> {
    let deadline = timeout
        .into()
        .map(|d| Instant::now().checked_add(d).unwrap_or_else(far_future));
    Timeout::new(future, deadline)
}

/// Runs the future `body` makes under a timeout whose deadline the body
/// itself can move, through the [`TimeoutHandle`] it is given (asyncio's
/// `async with asyncio.timeout(d) as cm: ... cm.reschedule(when)`).
/// `deadline` `None` starts without one.
///
/// ```
/// use std::time::{Duration, Instant};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let r = corio::timeout_scope(None, |cm| async move {
///         // Decide the deadline once inside, as asyncio's timeout(None) allows.
///         cm.reschedule(Some(Instant::now() + Duration::from_millis(10)));
///         corio::sleep(Duration::from_secs(3600)).await?;
///         Ok::<_, corio::Cancelled>(())
///     })
///     .await;
///     assert!(r.is_err());
/// });
/// ```
pub fn timeout_scope<F, Fut>(deadline: Option<Instant>, body: F) -> Timeout<Fut>
where
    F: FnOnce(TimeoutHandle) -> Fut,
    Fut: Future,
{
    let shared = Arc::new(Mutex::new(HandleState {
        deadline,
        changed: false,
        expired: false,
        waker: None,
    }));
    let handle = TimeoutHandle {
        shared: shared.clone(),
    };
    let mut t = Timeout::new(body(handle), deadline);
    t.handle = Some(shared);
    t
}

/// Moves the deadline of a running [`timeout_scope`] and tells whether it
/// expired; cloneable, usable from the body or from another task.
///
/// ```
/// use std::time::Duration;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     let r = corio::timeout_scope(None, |cm| async move {
///         tx.send(cm.clone()).unwrap();
///         corio::sleep(Duration::from_millis(5)).await.unwrap();
///         "done"
///     })
///     .await;
///     assert_eq!(r, Ok("done"));
///     let cm = rx.recv().unwrap();
///     assert!(!cm.expired() && cm.deadline().is_none());
/// });
/// ```
#[derive(Clone)]
pub struct TimeoutHandle {
    shared: Arc<Mutex<HandleState>>,
}

struct HandleState {
    deadline: Option<Instant>,
    /// `reschedule` was called since the timeout last looked.
    changed: bool,
    expired: bool,
    /// The task polling the timeout, to wake on a reschedule.
    waker: Option<std::task::Waker>,
}

impl TimeoutHandle {
    /// Moves the deadline (`None`: no deadline). Does nothing once the
    /// timeout has expired.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let r = corio::timeout_scope(Some(Instant::now()), |cm| async move {
    ///         cm.reschedule(None); // before the first await: no timeout after all
    ///         corio::sleep(Duration::from_millis(5)).await.unwrap();
    ///         7
    ///     })
    ///     .await;
    ///     assert_eq!(r, Ok(7));
    /// });
    /// ```
    pub fn reschedule(&self, deadline: Option<Instant>) {
        let waker = {
            let mut st = self.shared.lock();
            if st.expired {
                return;
            }
            st.deadline = deadline;
            st.changed = true;
            st.waker.clone()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The current deadline.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let at = Instant::now() + Duration::from_secs(1);
    ///     let r = corio::timeout_scope(Some(at), |cm| async move { cm.deadline() }).await;
    ///     assert_eq!(r, Ok(Some(at)));
    /// });
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.shared.lock().deadline
    }

    /// Whether the deadline passed (the body was told to cancel).
    ///
    /// ```
    /// use std::time::Duration;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let (tx, rx) = std::sync::mpsc::channel();
    ///     let r = corio::timeout_scope(None, |cm| async move {
    ///         tx.send(cm.clone()).unwrap();
    ///         cm.reschedule(Some(std::time::Instant::now()));
    ///         corio::sleep(Duration::from_secs(3600)).await
    ///     })
    ///     .await;
    ///     assert!(r.is_err());
    ///     assert!(rx.recv().unwrap().expired());
    /// });
    /// ```
    pub fn expired(&self) -> bool {
        self.shared.lock().expired
    }
}

impl fmt::Debug for TimeoutHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("TimeoutHandle")
            .field("deadline", &st.deadline)
            .field("expired", &st.expired)
            .finish()
    }
}

/// A future with a deadline: see [`timeout`], [`timeout_at`], [`wait_for`].
///
/// Its deadline can be moved while it runs ([`reschedule`](Timeout::reschedule)),
/// and [`expired`](Timeout::expired) says whether it passed.
///
/// ```
/// use std::time::Duration;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let t: corio::Timeout<_> = corio::timeout(Duration::from_secs(1), async { 3 });
/// assert_eq!(t.await, Ok(3));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    inner: F,
    deadline: Option<Instant>,
    /// The timer, armed when the future first suspends before the
    /// deadline passed (a future ready at once never arms one).
    sleep: Option<Sleep>,
    scope: Scope,
    expired: bool,
    /// Shared with the [`TimeoutHandle`] of a [`timeout_scope`].
    handle: Option<Arc<Mutex<HandleState>>>,
}

impl<F> Timeout<F> {
    fn new(inner: F, deadline: Option<Instant>) -> Timeout<F> {
        Timeout {
            inner,
            deadline,
            sleep: None,
            scope: Scope::new(CancelScope::Timeout),
            expired: false,
            handle: None,
        }
    }

    /// Takes a reschedule made through the handle; remembers the waker.
    fn sync_handle(&mut self, cx: &Context<'_>) {
        let Some(handle) = &self.handle else { return };
        let mut st = handle.lock();
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }
        if std::mem::take(&mut st.changed) && !self.expired {
            self.deadline = st.deadline;
            match (&mut self.sleep, st.deadline) {
                (Some(sleep), Some(d)) => sleep.reset(d),
                (_, None) => self.sleep = None,
                (None, Some(_)) => {}
            }
        }
    }

    /// The deadline, if any.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(corio::timeout_at(at, async {}).deadline(), Some(at));
    /// assert_eq!(corio::wait_for(async {}, None).deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline passed and the future was told to cancel
    /// (asyncio's `Timeout.expired()`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = corio::timeout(Duration::from_secs(1), async {});
    /// assert!(!t.expired());
    /// ```
    pub fn expired(&self) -> bool {
        self.expired
    }

    /// Moves the deadline (`None`: no deadline), as asyncio's
    /// `Timeout.reschedule()`. Does nothing once the timeout has expired:
    /// the cancellation is already on its way.
    ///
    /// ```
    /// use std::pin::pin;
    /// use std::time::{Duration, Instant};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let mut t = pin!(corio::timeout(Duration::from_millis(1), async {
    ///         corio::sleep(Duration::from_millis(20)).await.unwrap();
    ///         "done"
    ///     }));
    ///     t.as_mut().reschedule(Some(Instant::now() + Duration::from_secs(60)));
    ///     assert_eq!(t.await, Ok("done"));
    /// });
    /// ```
    pub fn reschedule(self: Pin<&mut Self>, deadline: Option<Instant>) {
        // SAFETY: only the unpinned fields are touched.
        let this = unsafe { self.get_unchecked_mut() };
        if this.expired {
            return;
        }
        this.deadline = deadline;
        if let (Some(sleep), Some(d)) = (&mut this.sleep, deadline) {
            sleep.reset(d);
        }
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned (never moved out, dropped in
        // place with `self`); the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        this.sync_handle(cx);
        if !this.expired {
            if let Some(sleep) = &mut this.sleep {
                // The timer's own poll skips the cancellation check: a
                // request of the task is for the future inside, not for us.
                if sleep.poll_deadline(cx).is_ready() {
                    this.expired = true;
                    this.sleep = None;
                    this.scope.cancel();
                    if let Some(handle) = &this.handle {
                        handle.lock().expired = true;
                    }
                }
            }
        }
        let out = {
            // SAFETY: the guard is dropped at the end of this block. (Not
            // `poll_in`: a closure would stop the `.await` location on its
            // way to the awaitables inside.)
            let _linked = unsafe { this.scope.enter() };
            // SAFETY: see above.
            unsafe { Pin::new_unchecked(&mut this.inner) }.poll(cx)
        };
        let Poll::Ready(v) = out else {
            if let (false, None, Some(deadline)) = (this.expired, &this.sleep, this.deadline) {
                // The future suspends: arm the timer now, so that one ready
                // at once never touches the timer wheel. (A first poll
                // never finds the deadline passed: like a sleep, the timer
                // suspends once, so a past deadline cancels at the next
                // poll, before the future goes on; the same as if the
                // timer had been armed before the future's first poll.)
                let sleep = this.sleep.insert(sleep_until(deadline));
                let first = sleep.poll_deadline(cx);
                debug_assert!(first.is_pending(), "a timer's first poll suspends");
            }
            if this.handle.as_ref().is_some_and(|h| h.lock().changed) {
                // The body moved the deadline: take it at the next poll.
                cx.waker().wake_by_ref();
            }
            return Poll::Pending;
        };
        if let Some(handle) = &this.handle {
            // A handle kept after the end must not keep the task alive.
            handle.lock().waker = None;
        }
        if this.scope.cancelled_caught() {
            drop(v);
            Poll::Ready(Err(TimeoutError::new()))
        } else {
            Poll::Ready(Ok(v))
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.deadline)
            .field("expired", &self.expired())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    #[test]
    fn a_future_ready_at_once_never_arms_the_timer_and_a_pending_one_does() {
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        rt.run(async {
            let mut cx = Context::from_waker(Waker::noop());
            let mut ready = pin!(crate::timeout(Duration::from_secs(10), async { 7 }));
            assert_eq!(ready.as_mut().poll(&mut cx), Poll::Ready(Ok(7)));
            assert!(ready.sleep.is_none());

            let mut pending = pin!(crate::timeout(
                Duration::from_secs(10),
                std::future::pending::<()>()
            ));
            assert!(pending.as_mut().poll(&mut cx).is_pending());
            assert!(pending.sleep.is_some());
        });
    }
}
