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
