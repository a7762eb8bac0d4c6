//! `Interval`: a periodic tick.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{sleep_until, Sleep};
use crate::task::Cancelled;

/// What an [`Interval`] does when ticks were missed (the task was busy, or
/// the runtime overloaded, for longer than a period).
///
/// # Example
///
/// ```
/// use corio::{interval, MissedTickBehavior};
/// use std::time::Duration;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let mut iv = interval(Duration::from_millis(10));
/// iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
/// iv.tick().await.unwrap();
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up, keeping the
    /// original schedule (`start + n * period`). The default.
    #[default]
    Burst,
    /// Restart the schedule from now: the next tick is one period after the
    /// late one was observed.
    Delay,
    /// Drop the missed ticks and keep the original phase: the next tick is
    /// the next `start + n * period` after now.
    Skip,
}

impl MissedTickBehavior {
    fn next_after(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => scheduled + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let p = period.as_nanos().max(1);
                let into = u64::try_from(behind % p).unwrap_or(0);
                now + period - Duration::from_nanos(into)
            }
        }
    }
}

/// A tick every `period`, the first one at once (see [`interval`]).
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

/// Ticks every `period`; the first tick completes immediately.
///
/// asyncio has no interval type: the usual loop is
/// `while True: ...; await asyncio.sleep(period)`, which drifts by the time
/// the body takes. `interval` keeps a fixed schedule instead.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Example
///
/// ```
/// use std::time::{Duration, Instant};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let start = Instant::now();
///     let mut iv = corio::interval(Duration::from_millis(10));
///     for _ in 0..3 {
///         iv.tick().await.unwrap(); // at 0, 10 and 20 ms
///     }
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Like [`interval`], with the first tick at `start`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let start = Instant::now() + Duration::from_millis(5);
///     let mut iv = corio::interval_at(start, Duration::from_millis(10));
///     assert_eq!(iv.tick().await.unwrap(), start);
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "interval: the period must be non-zero"
    );
    Interval {
        sleep: sleep_until(start),
        period,
        missed: MissedTickBehavior::default(),
    }
}

impl Interval {
    /// Waits for the next tick; returns the instant it was scheduled for.
    ///
    /// ```
    /// use std::time::Duration;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let mut iv = corio::interval(Duration::from_millis(5));
    /// let first = iv.tick().await.unwrap();
    /// let second = iv.tick().await.unwrap();
    /// assert_eq!(second - first, Duration::from_millis(5));
    /// # });
    /// ```
    pub fn tick(&mut self) -> Tick<'_> {
        Tick { interval: self }
    }

    /// Polls for the next tick (for hand-written futures).
    ///
    /// ```
    /// use std::time::Duration;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let mut iv = corio::interval(Duration::from_millis(5));
    /// std::future::poll_fn(|cx| iv.poll_tick(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Result<Instant, Cancelled>> {
        if let Err(c) = std::task::ready!(Pin::new(&mut self.sleep).poll(cx)) {
            return Poll::Ready(Err(c));
        }
        let scheduled = self.sleep.deadline();
        let now = Instant::now();
        // A little late counts as on time, not as a missed tick.
        let next =
            if now.saturating_duration_since(scheduled) > crate::config::INTERVAL_LATE_TOLERANCE {
                self.missed.next_after(scheduled, now, self.period)
            } else {
                scheduled + self.period
            };
        self.sleep.reset(next);
        Poll::Ready(Ok(scheduled))
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut iv = corio::interval(Duration::from_secs(1));
    /// iv.reset();
    /// ```
    pub fn reset(&mut self) {
        self.sleep.reset(Instant::now() + self.period);
    }

    /// The period.
    ///
    /// ```
    /// use std::time::Duration;
    /// let iv = corio::interval(Duration::from_secs(1));
    /// assert_eq!(iv.period(), Duration::from_secs(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The current missed-tick behaviour.
    ///
    /// ```
    /// use corio::MissedTickBehavior;
    /// let iv = corio::interval(std::time::Duration::from_secs(1));
    /// assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what happens when ticks are missed.
    ///
    /// ```
    /// use corio::MissedTickBehavior;
    /// let mut iv = corio::interval(std::time::Duration::from_secs(1));
    /// iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

/// The future of [`Interval::tick`].
///
/// ```
/// use std::time::Duration;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let mut iv = corio::interval(Duration::from_millis(1));
/// let tick: corio::Tick<'_> = iv.tick();
/// assert!(tick.await.is_ok());
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Tick<'a> {
    interval: &'a mut Interval,
}

impl Future for Tick<'_> {
    type Output = Result<Instant, Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = self.interval.poll_tick(cx);
        crate::context::track(std::panic::Location::caller(), out)
    }
}
