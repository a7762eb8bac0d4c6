//! The runtime's one clock: time since a process-wide epoch (the first
//! time anything asks), read from `Instant`.
//!
//! Everything the runtime measures or schedules counts from this epoch,
//! each at the resolution it needs: timers in whole milliseconds (the
//! ticks of `time/driver.rs`'s `Clock`), task ages in centiseconds (a
//! wrapping `u32` stamp in each task header, exact to 10 ms for tasks
//! younger than 497 days), wakeup measurements in nanoseconds
//! (`spin.rs`). One epoch and one source, so they never disagree.
//!
//! Spawning stamps every task, so a worker caches its centisecond reading
//! (refreshed now and then and after each park, `scheduler/worker.rs`)
//! instead of reading the clock per spawn.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The epoch: the first reading of this clock in the process.
pub(crate) fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The time from the epoch to `t` (zero before it).
#[inline]
pub(crate) fn since_epoch(t: Instant) -> Duration {
    t.saturating_duration_since(epoch())
}

/// Nanoseconds since the epoch, never 0 (so that 0 can mean "no stamp").
pub(crate) fn now_nanos() -> u64 {
    (since_epoch(Instant::now()).as_nanos() as u64).max(1)
}

/// Centiseconds since the epoch, wrapping: a task's spawn stamp.
#[inline]
pub(crate) fn now_centis() -> u32 {
    (since_epoch(Instant::now()).as_millis() / 10) as u32
}

/// How long ago `stamp` (from [`now_centis`]) was.
pub(crate) fn age(stamp: u32) -> Duration {
    Duration::from_millis(u64::from(now_centis().wrapping_sub(stamp)) * 10)
}
