//! Spinning before blocking, bounded by what a thread wakeup costs here.
//!
//! Some threads expect another thread's signal within moments: a worker
//! about to park while a blocking job it is waiting for finishes, a pool
//! thread that just finished a job (the caller often submits the next one
//! at once), a thread waiting for a `ConcurrentFuture`. Sleeping costs a
//! wakeup when the signal comes: a futex or eventfd write on one side, a
//! trip through the OS scheduler on the other. Spinning for the signal
//! instead pays only while it spins, and spinning for at most what one
//! wakeup costs never costs more than twice the best choice made in
//! hindsight (the classic spin-then-block bound).
//!
//! What a wakeup costs depends on the machine: a few microseconds on bare
//! metal, tens in a small VM. So no spin here has a constant. The workers
//! measure each wakeup they get from an unpark, from the moment the
//! unparker decides to wake them to the moment they run again
//! ([`record_wakeup`], called by the worker parker), and every spin is
//! bounded by a running estimate of that cost ([`spin_until`]).
//!
//! The estimate falls faster than it rises: a wakeup slowed by an
//! oversubscribed machine must not make every thread spin longer (a spin
//! then takes the CPU from the very thread that would send the signal),
//! and a sample that caught a worker just before it blocked (nearly free)
//! must not undo many real ones. Before the first measurement it is zero,
//! and nothing spins.
//!
//! This is a statistic, not a synchronization protocol: a lost update
//! costs one sample. It uses std's atomics directly, and under loom
//! nothing spins (the models check protocols that never rely on a spin).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The estimated cost of one thread wakeup, in nanoseconds (0: none
/// measured yet).
static WAKEUP_NANOS: AtomicU64 = AtomicU64::new(0);

/// A measured "wakeup" longer than this was not the cost of a wakeup but a
/// stall (a descheduled thread, a suspended VM): it is not a sample. Any
/// machine that can run a server wakes a thread well within it.
const MAX_SAMPLE: Duration = Duration::from_millis(1);

/// Nanoseconds since the first call in this process: a stamp that fits an
/// atomic word, for [`record_wakeup`]'s measurements.
pub(crate) fn now_nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    // Never 0, so that 0 can mean "no stamp".
    (epoch.elapsed().as_nanos() as u64).max(1)
}

/// A thread woken by another ran again `nanos` after the waker decided to
/// wake it: folds the sample into the estimate.
pub(crate) fn record_wakeup(nanos: u64) {
    let old = WAKEUP_NANOS.load(Relaxed);
    WAKEUP_NANOS.store(next_estimate(old, nanos), Relaxed);
}

/// The estimate after a sample: a quarter of the way down to a smaller
/// one, a sixteenth of the way up to a larger one; a stall is no sample.
fn next_estimate(old: u64, sample: u64) -> u64 {
    if sample == 0 || sample > MAX_SAMPLE.as_nanos() as u64 {
        old
    } else if old == 0 {
        sample
    } else if sample < old {
        old - (old - sample) / 4
    } else {
        old + (sample - old) / 16
    }
}

/// The current estimate of one thread wakeup's cost (zero until one is
/// measured).
pub(crate) fn wakeup_cost() -> Duration {
    Duration::from_nanos(WAKEUP_NANOS.load(Relaxed))
}

/// The cores this process may run on (cached): whether a spin would take
/// a core from a thread that has work.
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Spins until `ready()` or for about one thread wakeup's cost, whichever
/// comes first; true if `ready()` did. Under loom, asks once.
pub(crate) fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
    if cfg!(loom) {
        return ready();
    }
    if ready() {
        return true;
    }
    let limit = wakeup_cost();
    if limit.is_zero() {
        return false;
    }
    let until = Instant::now() + limit;
    loop {
        for _ in 0..64 {
            std::hint::spin_loop();
        }
        if ready() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_falls_fast_rises_slowly_and_ignores_stalls() {
        let mut est = next_estimate(0, 40_000);
        assert_eq!(est, 40_000, "the first sample is the estimate");
        est = next_estimate(est, 20_000);
        assert_eq!(est, 35_000, "a quarter down");
        est = next_estimate(est, 51_000);
        assert_eq!(est, 36_000, "a sixteenth up");
        assert_eq!(next_estimate(est, 50_000_000), est, "a stall is no sample");
        assert_eq!(next_estimate(est, 0), est);
    }

    #[test]
    fn a_spin_whose_signal_is_there_returns_true_and_one_that_never_comes_returns_false() {
        assert!(spin_until(|| true));
        assert!(!spin_until(|| false));
    }
}
