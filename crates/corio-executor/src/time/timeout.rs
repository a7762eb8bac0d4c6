//! Timeouts with asyncio's semantics: `timeout`, `timeout_at`, `wait_for`.
//!
//! A [`Timeout`] runs its future inside a *cancel scope* (see
//! `task/cancel.rs`). When the deadline passes, the scope requests a
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

use super::sleep::{far_future, Sleep};
use crate::task::Scope;

/// The deadline of a [`timeout`] or [`wait_for`] passed before its future
/// finished (asyncio's `TimeoutError`).
///
/// ```
/// let e = corio_executor::TimeoutError::new();
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
    /// assert_eq!(corio_executor::TimeoutError::new(), Default::default());
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
/// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let slow = corio_executor::sleep(Duration::from_secs(3600));
///     let r = corio_executor::timeout(Duration::from_millis(10), slow).await;
///     assert!(r.is_err());
///     let quick = async { 5 };
///     assert_eq!(corio_executor::timeout(Duration::from_secs(1), quick).await, Ok(5));
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
/// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let at = Instant::now() + Duration::from_millis(10);
///     let r = corio_executor::timeout_at(at, corio_executor::sleep(Duration::from_secs(60))).await;
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
/// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     // The seed's `eternity` example: "timeout!".
///     let eternity = async {
///         corio_executor::sleep(Duration::from_secs(3600)).await?;
///         println!("yay!");
///         Ok::<_, corio_executor::Cancelled>(())
///     };
///     match corio_executor::wait_for(eternity, Duration::from_millis(10)).await {
///         Err(corio_executor::TimeoutError { .. }) => println!("timeout!"),
///         Ok(_) => unreachable!(),
///     }
///     assert_eq!(corio_executor::wait_for(async { 1 }, None).await, Ok(1));
/// });
/// ```
pub fn wait_for<F: Future>(future: F, timeout: impl Into<Option<Duration>>) -> Timeout<F> {
    let deadline = timeout
        .into()
        .map(|d| Instant::now().checked_add(d).unwrap_or_else(far_future));
    Timeout::new(future, deadline)
}

/// A future with a deadline: see [`timeout`], [`timeout_at`], [`wait_for`].
///
/// Its deadline can be moved while it runs ([`reschedule`](Timeout::reschedule)),
/// and [`expired`](Timeout::expired) says whether it passed.
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    inner: F,
    deadline: Option<Instant>,
    /// The timer, registered at the first poll before the deadline.
    sleep: Option<Sleep>,
    scope: Scope,
    expired: bool,
}

impl<F> Timeout<F> {
    fn new(inner: F, deadline: Option<Instant>) -> Timeout<F> {
        Timeout {
            inner,
            deadline,
            sleep: None,
            scope: Scope::default(),
            expired: false,
        }
    }

    /// The deadline, if any.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(corio_executor::timeout_at(at, async {}).deadline(), Some(at));
    /// assert_eq!(corio_executor::wait_for(async {}, None).deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline passed and the future was told to cancel
    /// (asyncio's `Timeout.expired()`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = corio_executor::timeout(Duration::from_secs(1), async {});
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
    /// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let mut t = pin!(corio_executor::timeout(Duration::from_millis(1), async {
    ///         corio_executor::sleep(Duration::from_millis(20)).await.unwrap();
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned (never moved out, dropped in
        // place with `self`); the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        if !this.expired {
            if let Some(deadline) = this.deadline {
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| super::sleep::sleep_until(deadline));
                // The timer's own poll skips the cancellation check: a
                // request of the task is for the future inside, not for us.
                if sleep.poll_deadline(cx).is_ready() {
                    this.expired = true;
                    this.sleep = None;
                    this.scope.request();
                }
            }
        }
        let out = {
            let _scope = this.scope.enter();
            // SAFETY: see above.
            unsafe { Pin::new_unchecked(&mut this.inner) }.poll(cx)
        };
        match out {
            Poll::Pending => Poll::Pending,
            Poll::Ready(v) if this.scope.let_through() => {
                drop(v);
                Poll::Ready(Err(TimeoutError::new()))
            }
            Poll::Ready(v) => Poll::Ready(Ok(v)),
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
