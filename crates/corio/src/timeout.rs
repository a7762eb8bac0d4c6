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
//!
//! A timeout costs nothing until its future suspends: the first poll
//! polls the future alone, outside the scope (a scope that was never
//! cancelled is invisible to everything that walks the scope chain). Only
//! when the future returns `Pending` does the timeout fix its deadline (a
//! duration starts counting then), allocate its armed part (the timer and
//! the scope) and register the timer. From the moment the timer fires,
//! every poll links the scope around the future.

use std::cell::Cell;
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
/// The time limit counts from the moment `future` first suspends (or
/// from the first call to [`Timeout::deadline`], if that comes first): a
/// future that finishes at its first poll never reads the clock or touches
/// the timer wheel, and the synchronous work before its first suspension is
/// not counted. asyncio counts from the call; to do that, use
/// [`timeout_at`]`(Instant::now() + duration, future)`.
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
    Timeout::new(future, Deadline::after(duration))
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
    Timeout::new(future, Deadline::at(deadline))
}

/// Waits for `future` with an optional time limit (asyncio's
/// `wait_for(aw, timeout)`): `None` waits as long as it takes.
///
/// On expiry the future is cancelled and waited for (its cleanup may take
/// longer than the timeout), then `Err(TimeoutError)` is returned, unless
/// it refused the cancellation and returned a value, which is then
/// returned. To keep the future running past the timeout, wrap it in
/// `shield`. The time limit counts from the future's first suspension, as
/// in [`timeout`].
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
    let deadline = match timeout.into() {
        Some(d) => Deadline::after(d),
        None => Deadline::NEVER,
    };
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
    let mut t = Timeout::new(body(handle), Deadline::from(deadline));
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
#[repr(C)]
pub struct Timeout<F> {
    // `repr(C)`, pointers first: building a `Timeout` then writes two
    // aligned words of zeros, not a span that straddles `Instant`'s
    // padding, which the compiler copied with overlapping wide moves that
    // stalled store forwarding (a third of the cost of a timeout around a
    // ready future).
    /// Made when the future first suspends with a deadline (a future
    /// ready at once never needs it, and a `Timeout` that carries only a
    /// pointer to it stays small to move).
    armed: Option<Box<Armed>>,
    /// Shared with the [`TimeoutHandle`] of a [`timeout_scope`].
    handle: Option<Arc<Mutex<HandleState>>>,
    /// Fixed (a duration becomes an instant) when the future first
    /// suspends or [`Timeout::deadline`] asks, whichever comes first; so a
    /// future ready at once never reads the clock.
    deadline: Cell<Deadline>,
    inner: F,
}

/// What an armed [`Timeout`] needs.
struct Armed {
    /// The deadline passed and the scope was cancelled.
    expired: bool,
    /// The timer; `None` once it fired or the deadline was removed.
    sleep: Option<Sleep>,
    /// Entered around the inner poll only once it was cancelled: until
    /// then it has no request, delivery or id, and nothing that walks the
    /// scope chain (delivery, `suppress`, `rearm`, `scopes_let_through`)
    /// could find it, so leaving it out of the chain changes nothing.
    scope: Scope,
}

/// A [`Timeout`]'s deadline: a fixed instant, a duration whose count has
/// not started (see [`timeout`]), or neither (no deadline). Two niche-packed
/// options rather than an enum of three: 32 bytes without padding, so the
/// `Timeout` that holds it is cheap to build and move.
#[derive(Clone, Copy, Debug)]
struct Deadline {
    at: Option<Instant>,
    after: Option<Duration>,
}

impl From<Option<Instant>> for Deadline {
    fn from(at: Option<Instant>) -> Deadline {
        Deadline { at, after: None }
    }
}

impl Deadline {
    const NEVER: Deadline = Deadline {
        at: None,
        after: None,
    };

    fn at(at: Instant) -> Deadline {
        Deadline::from(Some(at))
    }

    fn after(d: Duration) -> Deadline {
        Deadline {
            at: None,
            after: Some(d),
        }
    }

    /// The instant, starting the count of a duration now.
    fn fix(self) -> Option<Instant> {
        match self.after {
            Some(d) => Some(Instant::now().checked_add(d).unwrap_or_else(far_future)),
            None => self.at,
        }
    }
}

impl<F> Timeout<F> {
    fn new(inner: F, deadline: Deadline) -> Timeout<F> {
        Timeout {
            inner,
            deadline: Cell::new(deadline),
            armed: None,
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
        if std::mem::take(&mut st.changed) {
            let deadline = st.deadline;
            drop(st);
            self.set_deadline(deadline);
        }
    }

    /// Moves the deadline unless the timeout expired: an armed timer is
    /// reset (or dropped, for no deadline); one not armed yet is armed
    /// with the new deadline when the future next suspends.
    fn set_deadline(&mut self, deadline: Option<Instant>) {
        if self.expired() {
            return;
        }
        self.deadline.set(Deadline::from(deadline));
        if let Some(armed) = &mut self.armed {
            match (&mut armed.sleep, deadline) {
                (Some(sleep), Some(d)) => sleep.reset(d),
                (_, None) => armed.sleep = None,
                (None, Some(_)) => {}
            }
        }
    }

    /// The deadline, if any. The time limit of a [`timeout`] or
    /// [`wait_for`] that has not suspended yet starts counting now.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(corio::timeout_at(at, async {}).deadline(), Some(at));
    /// assert_eq!(corio::wait_for(async {}, None).deadline(), None);
    ///
    /// let t = corio::timeout(Duration::from_secs(1), async {});
    /// let fixed = t.deadline().unwrap();
    /// assert!(fixed >= at);
    /// assert_eq!(t.deadline(), Some(fixed), "fixed at the first call");
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        let fixed = self.deadline.get().fix();
        self.deadline.set(Deadline::from(fixed));
        fixed
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
        self.armed.as_ref().is_some_and(|a| a.expired)
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
        unsafe { self.get_unchecked_mut() }.set_deadline(deadline);
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    #[track_caller]
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.armed.is_some() || self.handle.is_some() {
            return self.poll_armed(cx);
        }
        // Not armed: no timer, nothing cancelled, no handle to follow.
        // SAFETY: `inner` is structurally pinned (never moved out, dropped in
        // place with `self`); the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        match unsafe { Pin::new_unchecked(&mut this.inner) }.poll(cx) {
            Poll::Ready(v) => Poll::Ready(Ok(v)),
            Poll::Pending => {
                this.arm(cx);
                Poll::Pending
            }
        }
    }
}

impl<F: Future> Timeout<F> {
    /// Polls once the timer is armed or a handle is attached.
    #[track_caller]
    fn poll_armed(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<F::Output, TimeoutError>> {
        // SAFETY: `inner` is structurally pinned (never moved out, dropped in
        // place with `self`); the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        this.sync_handle(cx);
        if let Some(armed) = this.armed.as_mut().filter(|a| !a.expired) {
            if let Some(sleep) = &mut armed.sleep {
                // The timer's own poll skips the cancellation check: a
                // request of the task is for the future inside, not for us.
                if sleep.poll_deadline(cx).is_ready() {
                    armed.expired = true;
                    armed.sleep = None;
                    armed.scope.cancel();
                    if let Some(handle) = &this.handle {
                        handle.lock().expired = true;
                    }
                }
            }
        }
        // SAFETY: see above.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let out = match &this.armed {
            Some(armed) if armed.scope.cancel_called() => {
                // SAFETY: the guard is dropped at the end of this block.
                // (Not `poll_in`: a closure would stop the `.await`
                // location on its way to the awaitables inside.)
                let _linked = unsafe { armed.scope.enter() };
                inner.poll(cx)
            }
            // Never cancelled: the scope is inert (see `Armed::scope`).
            _ => inner.poll(cx),
        };
        let Poll::Ready(v) = out else {
            this.arm(cx);
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
        if this
            .armed
            .as_ref()
            .is_some_and(|a| a.scope.cancelled_caught())
        {
            drop(v);
            Poll::Ready(Err(TimeoutError::new()))
        } else {
            Poll::Ready(Ok(v))
        }
    }
}

impl<F> Timeout<F> {
    /// The future suspended: unless the timer is armed, fired, or there is
    /// no deadline, fixes the deadline and arms the timer, so that a
    /// future ready at once never reads the clock or touches the timer
    /// wheel. (A first poll never finds the deadline passed: like a sleep,
    /// the timer suspends once, so a past deadline cancels at the next
    /// poll, before the future goes on.)
    #[cold]
    fn arm(&mut self, cx: &mut Context<'_>) {
        if self
            .armed
            .as_ref()
            .is_some_and(|a| a.expired || a.sleep.is_some())
        {
            return;
        }
        let Some(deadline) = self.deadline.get().fix() else {
            return;
        };
        self.deadline.set(Deadline::at(deadline));
        let armed = self.armed.get_or_insert_with(|| {
            Box::new(Armed {
                expired: false,
                sleep: None,
                scope: Scope::new(CancelScope::Timeout),
            })
        });
        let sleep = armed.sleep.insert(sleep_until(deadline));
        let first = sleep.poll_deadline(cx);
        debug_assert!(first.is_pending(), "a timer's first poll suspends");
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.deadline.get())
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
            assert!(ready.armed.is_none());
            assert!(
                ready.deadline.get().after.is_some(),
                "the clock was not read"
            );

            let mut pending = pin!(crate::timeout(
                Duration::from_secs(10),
                std::future::pending::<()>()
            ));
            let before = std::time::Instant::now();
            assert!(pending.as_mut().poll(&mut cx).is_pending());
            assert!(pending.armed.as_ref().unwrap().sleep.is_some());
            let fixed = pending.deadline().unwrap();
            assert!(fixed >= before + Duration::from_secs(10));
            assert!(fixed <= std::time::Instant::now() + Duration::from_secs(10));
        });
    }

    #[test]
    fn rescheduling_an_armed_timeout_to_none_disarms_its_timer() {
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        rt.run(async {
            let mut t = pin!(crate::timeout(Duration::from_millis(20), async {
                crate::sleep(Duration::from_millis(60))
                    .await
                    .map(|_| "done")
            }));
            // Suspend once: the 20 ms timer is armed.
            std::future::poll_fn(|cx| {
                assert!(t.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            t.as_mut().reschedule(None);
            assert_eq!(t.as_mut().deadline(), None);
            assert_eq!(t.await, Ok(Ok("done")));
        });
    }

    #[test]
    fn a_timeout_counts_from_the_first_suspension_not_the_synchronous_first_step() {
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        rt.run(async {
            // 60 ms of blocking work, then a 20 ms await, under a 40 ms limit:
            // the limit starts at the first suspension, so it is met.
            let r = crate::timeout(Duration::from_millis(40), async {
                std::thread::sleep(Duration::from_millis(60));
                crate::sleep(Duration::from_millis(20)).await.unwrap();
                "met"
            })
            .await;
            assert_eq!(r, Ok("met"));
            // Counting from the call, as asyncio does: the same body times out.
            let at = std::time::Instant::now() + Duration::from_millis(40);
            let r = crate::timeout_at(at, async {
                std::thread::sleep(Duration::from_millis(60));
                crate::sleep(Duration::from_millis(20)).await
            })
            .await;
            assert_eq!(r, Err(crate::TimeoutError::new()));
        });
    }
}
