//! A cheap, coarse clock for task ages (`Runtime::dump`, `TaskRef::age`).
//!
//! Every spawn stamps its task, so this must cost next to nothing: it reads
//! `CLOCK_MONOTONIC_COARSE` (a few nanoseconds through the vDSO, resolution
//! one scheduler tick, 1 to 4 ms) and keeps centiseconds in a wrapping
//! `u32`. Ages are therefore exact to about 10 ms for tasks younger than
//! 497 days.

use std::time::Duration;

/// The current coarse time in centiseconds, wrapping.
#[inline]
pub(crate) fn now_centis() -> u32 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    #[cfg(target_os = "linux")]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC_COARSE;
    #[cfg(not(target_os = "linux"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    // SAFETY: `ts` is a valid out-pointer; the clock exists on every
    // supported system (on failure `ts` stays zero: ages read 0).
    unsafe { libc::clock_gettime(CLOCK, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(100)
        .wrapping_add(ts.tv_nsec as u64 / 10_000_000) as u32
}

/// How long ago `stamp` (from [`now_centis`]) was.
pub(crate) fn age(stamp: u32) -> Duration {
    Duration::from_millis(u64::from(now_centis().wrapping_sub(stamp)) * 10)
}
