//! Time: `sleep`, `sleep_until`, `interval`, on per-worker timer wheels.
//! (asyncio's timeouts are the `corio` crate's, over cancel scopes.)
//!
//! The protocol (which wheel a timer lives in, cross-thread cancel and
//! re-arm, parking on the next deadline, helping) is in `driver.rs`.

pub(crate) mod driver;
mod interval;
mod sleep;

pub use interval::{interval, interval_at, Interval, MissedTickBehavior, Tick};
pub(crate) use sleep::far_future;
pub use sleep::{sleep, sleep_until, Sleep};

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

impl std::fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline has elapsed: the future was cancelled by its timeout")
    }
}

impl std::error::Error for TimeoutError {}
