//! Time: `sleep`, `sleep_until`, `interval`, on per-worker timer wheels,
//! and asyncio's timeouts (`timeout`, `timeout_at`, `wait_for`: `timeout.rs`).
//!
//! The protocol (which wheel a timer lives in, cross-thread cancel and
//! re-arm, parking on the next deadline, helping) is in `driver.rs`.

pub(crate) mod driver;
mod interval;
mod sleep;
mod timeout;

pub use interval::{interval, interval_at, Interval, MissedTickBehavior, Tick};
pub(crate) use sleep::far_future;
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{
    timeout, timeout_at, timeout_scope, wait_for, Timeout, TimeoutError, TimeoutHandle,
};
