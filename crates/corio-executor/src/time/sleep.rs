//! The `Sleep` future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use corio_timer::TimerKey;

use crate::context;
use crate::scheduler::Shared;
use crate::sync::Arc;
use crate::task::Cancelled;

/// Waits until `duration` has passed (asyncio's `await asyncio.sleep(d)`).
///
/// The sleep never completes early; on an idle runtime it completes within a
/// few milliseconds after its deadline. Like asyncio's, it always suspends
/// the task at least once: `sleep(Duration::ZERO)` lets the other ready
/// tasks run first.
///
/// It resolves to `Ok(())`, or `Err(Cancelled)` when the task is cancelled
/// while it sleeps (with asyncio-style cancellation).
///
/// # Panics
///
/// When first polled outside a corio runtime (use [`Handle::sleep`] for a
/// sleep that is polled from another thread).
///
/// [`Handle::sleep`]: crate::Handle::sleep
///
/// # Example
///
/// ```
/// use std::time::{Duration, Instant};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let start = Instant::now();
///     corio::sleep(Duration::from_millis(20)).await.unwrap();
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let now = Instant::now();
    sleep_until(now.checked_add(duration).unwrap_or_else(far_future))
}

/// Waits until `deadline` (asyncio's `loop.call_at`-style absolute sleep).
/// A deadline in the past still yields once.
///
/// # Example
///
/// ```
/// use std::time::{Duration, Instant};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let deadline = Instant::now() + Duration::from_millis(10);
///     corio::sleep_until(deadline).await.unwrap();
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        shared: None,
        key: None,
        worker: 0,
        first_poll: true,
        waker: (std::ptr::null(), std::ptr::null()),
    }
}

/// About thirty years from now: "never" for deadlines that overflow.
pub(crate) fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .unwrap_or(now)
}

/// A future that completes at a deadline; see [`sleep`].
///
/// The first poll registers it in the timer wheel of the worker that polls
/// it; it can then move to, be polled on, or be dropped on any other
/// thread.
///
/// It is kept small (56 bytes), since every sleeping task carries one.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    /// The runtime whose wheel holds the entry (set at registration), or, for
    /// a sleep made by `Handle::sleep`, the one to register with when polled
    /// off its workers.
    shared: Option<Arc<Shared>>,
    /// The entry in the wheel of worker `worker`, while registered.
    key: Option<TimerKey>,
    worker: u32,
    /// The next poll is the first since creation or `reset`.
    first_poll: bool,
    /// The registered waker's identity, to skip relocking when the same
    /// task polls again.
    waker: (*const (), *const ()),
}

// SAFETY: the raw pointers in `Sleep::waker` are only compared, never
// dereferenced.
unsafe impl Send for Sleep {}
// SAFETY: `&Sleep` offers only reads of plain data.
unsafe impl Sync for Sleep {}

fn waker_id(w: &Waker) -> (*const (), *const ()) {
    (w.data(), w.vtable() as *const _ as *const ())
}

impl Sleep {
    pub(crate) fn with_handle(deadline: Instant, shared: Arc<Shared>) -> Sleep {
        Sleep {
            shared: Some(shared),
            ..sleep_until(deadline)
        }
    }

    /// The instant at which the sleep completes.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(corio::sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(!corio::sleep(Duration::from_secs(60)).is_elapsed());
    /// assert!(corio::sleep(Duration::ZERO).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (earlier or later), keeping the registration. The
    /// next poll behaves like the first poll of a new sleep.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let start = Instant::now();
    ///     let mut s = corio::sleep(Duration::from_secs(3600));
    ///     s.reset(Instant::now() + Duration::from_millis(10));
    ///     s.await.unwrap();
    ///     assert!(start.elapsed() < Duration::from_secs(60));
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.first_poll = true;
        if let (Some(key), Some(shared)) = (self.key, &self.shared) {
            let tick = shared.drivers.clock.deadline_tick(deadline);
            if !shared.drivers.reset_timer(self.worker as usize, key, tick) {
                // It fired already: register again at the next poll.
                self.key = None;
            }
        }
    }

    fn register(&mut self, waker: &Waker) {
        let here = context::with_worker(|cx| {
            let cx = cx?;
            if !self
                .shared
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(s, &cx.shared))
            {
                self.shared = Some(cx.shared.clone());
            }
            Some(cx.core.index)
        });
        let worker = if let Some(index) = here {
            index
        } else if self.shared.is_some() {
            0
        } else {
            panic!(
                "corio: a Sleep was polled outside a corio runtime (no running event loop). \
                 Await it inside `corio::run(...)` or a task, or create it with \
                 `Handle::sleep(..)` to poll it from another thread."
            )
        };
        let shared = self.shared.as_ref().expect("set above");
        let tick = shared.drivers.clock.deadline_tick(self.deadline);
        self.key = Some(shared.drivers.register_timer(worker, tick, waker.clone()));
        self.worker = u32::try_from(worker).expect("corio: worker index fits in u32");
        self.waker = waker_id(waker);
    }
}

impl Future for Sleep {
    type Output = Result<(), Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(c) = crate::task::poll_cancelled() {
            return Poll::Ready(Err(c));
        }
        let out = match context::poll_proceed(cx) {
            Poll::Ready(()) => self.poll_deadline(cx).map(Ok),
            Poll::Pending => Poll::Pending,
        };
        context::track(std::panic::Location::caller(), out)
    }
}

impl Sleep {
    /// The timer part of `poll`, without the cancellation check and the
    /// cooperative budget: `Ready` once the deadline has passed. For a
    /// future with a deadline around another future (`corio::timeout`):
    /// its own timer must not consume a cancellation meant for the future
    /// it guards. Like `poll`, it suspends once even if the deadline has
    /// passed already.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    /// corio::run(async {
    ///     let mut timer = corio::sleep(Duration::from_millis(1));
    ///     corio::current_task().unwrap().cancel();
    ///     // Not a cancellation point: the timer still just waits.
    ///     poll_fn(|cx| timer.poll_deadline(cx)).await;
    ///     // The cancellation is still there for the next await.
    ///     let c = corio::yield_now().await.unwrap_err();
    ///     c.suppress();
    /// });
    /// ```
    pub fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        if !this.first_poll {
            if let (Some(_), Some(shared)) = (this.key, &this.shared) {
                let tick = shared.drivers.clock.deadline_tick(this.deadline);
                if shared
                    .drivers
                    .timers(this.worker as usize)
                    .has_fired_through(tick)
                {
                    // The wheel fired through our tick, which is at or after
                    // the deadline, so the deadline has passed without a
                    // clock read, and there is nothing to cancel on drop.
                    this.key = None;
                    return Poll::Ready(());
                }
            }
        }
        if Instant::now() >= this.deadline {
            if std::mem::replace(&mut this.first_poll, false) {
                // Like asyncio, a sleep always suspends once.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            return Poll::Ready(());
        }
        this.first_poll = false;
        match (this.key, &this.shared) {
            (Some(key), Some(shared)) => {
                let id = waker_id(cx.waker());
                if this.waker != id {
                    if shared
                        .drivers
                        .timers(this.worker as usize)
                        .set_waker(key, cx.waker())
                    {
                        this.waker = id;
                    } else {
                        this.key = None;
                        this.register(cx.waker());
                    }
                }
            }
            _ => this.register(cx.waker()),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(key), Some(shared)) = (self.key.take(), &self.shared) {
            shared.drivers.timers(self.worker as usize).cancel(key);
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.key.is_some())
            .finish()
    }
}
