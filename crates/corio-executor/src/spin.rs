//! Spinning before blocking, bounded by what a thread wakeup costs here.
//!
//! Some threads expect another thread's signal within moments: a worker
//! about to park while a blocking job it is waiting for finishes, a pool
//! thread that just finished a job (the caller often submits the next one
//! at once), a thread waiting for a `ConcurrentFuture`. Sleeping costs a
//! wakeup when the signal comes: a futex or eventfd write on one side, a
//! trip through the OS scheduler on the other. Spinning pays only while it
//! spins.
//!
//! How long to spin follows from what a wakeup costs, which depends on the
//! machine (a few microseconds on bare metal, more in a VM, more again on
//! a busy host). So no spin here has a constant. Every wakeup of a worker
//! by an unpark, and of a blocking-pool thread by a new job, is measured:
//! from the moment the waker decides to wake it to the moment it runs
//! again ([`record_wakeup`]). The estimate is a running 90th percentile of
//! those samples ([`wakeup_cost`]).
//!
//! A spin lasts up to `config::SPIN_WAKEUPS` (two) such wakeups
//! ([`spin_until`]). One is not
//! enough: in a one-by-one exchange (a task awaiting blocking jobs one at
//! a time, a thread submitting coroutines and waiting for each), the
//! signal a spinner waits for often needs the other side woken first, then
//! its turn of work, then the signal itself; a spin shorter than that
//! round trip gives up just before the signal comes, both sides fall
//! asleep, and from then on every exchange pays two wakeups. Two covers
//! the other side's wakeup and its turn; longer spins take the cores from
//! the threads doing the work (see `config::SPIN_WAKEUPS`).
//!
//! Samples that say nothing about a wakeup are dropped: a thread woken
//! just as it was about to block resumes almost at once, and one that
//! took over a millisecond was descheduled, not woken slowly. Before the
//! first sample the estimate is zero, and nothing spins.
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

/// The longest measurement that is a wakeup, not a stall
/// (`config::WAKEUP_SAMPLE_MAX`).
const MAX_SAMPLE: Duration = crate::config::WAKEUP_SAMPLE_MAX;

/// A thread that had been parked for `asleep` nanoseconds when another
/// decided to wake it ran again `cost` nanoseconds later: folds the cost
/// into the estimate if the thread was surely asleep (parked for at least
/// as long as its wakeup took; one woken just as it was about to block
/// resumes almost at once, which says nothing about a wakeup's cost).
pub(crate) fn record_wakeup(asleep: u64, cost: u64) {
    if asleep < cost {
        return;
    }
    let old = WAKEUP_NANOS.load(Relaxed);
    WAKEUP_NANOS.store(next_estimate(old, cost), Relaxed);
}

/// The estimate after a sample: up by a sixteenth of itself after a larger
/// sample, down by a hundred and forty-fourth after a smaller one, so that
/// it settles where one sample in ten is larger (the 90th percentile); a
/// stall is no sample.
fn next_estimate(old: u64, sample: u64) -> u64 {
    if sample == 0 || sample > MAX_SAMPLE.as_nanos() as u64 {
        old
    } else if old == 0 {
        sample
    } else if sample > old {
        old + (old / 16).max(1)
    } else {
        old - old / 144
    }
}

/// The current estimate of one thread wakeup's cost, the 90th percentile
/// of the samples (zero until one is measured).
pub(crate) fn wakeup_cost() -> Duration {
    Duration::from_nanos(WAKEUP_NANOS.load(Relaxed))
}

/// The cores this process may run on (cached): whether a spin would take
/// a core from a thread that has work.
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Spins until `ready()` or for a few thread wakeups' worth of time (as
/// measured on this machine: see below), whichever comes first; true if
/// `ready()` did. For a thread that expects another thread's signal within
/// moments and would otherwise sleep and be woken (a plain thread waiting
/// for a coroutine's result, as `ConcurrentFuture::result` does before it
/// blocks). Under loom, asks once.
///
/// Spins last up to `config::SPIN_WAKEUPS` times the measured cost of one
/// thread wakeup; nothing spins until the runtime has measured one.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// let done = AtomicBool::new(true);
/// assert!(corio_executor::hooks::spin_until(|| done.load(Ordering::Acquire)));
/// ```
pub fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
    if cfg!(loom) {
        return ready();
    }
    if ready() {
        return true;
    }
    let limit = crate::config::SPIN_WAKEUPS * wakeup_cost();
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
    fn the_estimate_settles_at_the_90th_percentile_and_ignores_stalls() {
        let mut est = next_estimate(0, 40_000);
        assert_eq!(est, 40_000, "the first sample is the estimate");
        // Samples spread evenly over 1..=100 us, in a scrambled order.
        for round in 0..200u64 {
            for i in 0..100u64 {
                let us = 1 + (i * 37 + round) % 100;
                est = next_estimate(est, us * 1_000);
            }
        }
        assert!(
            (80_000..=98_000).contains(&est),
            "settled at {est} ns, not near the 90th percentile (90 us)"
        );
        assert_eq!(next_estimate(est, 50_000_000), est, "a stall is no sample");
        assert_eq!(next_estimate(est, 0), est);
    }

    #[test]
    fn a_spin_whose_signal_is_there_returns_true_and_one_that_never_comes_returns_false() {
        assert!(spin_until(|| true));
        assert!(!spin_until(|| false));
    }
}
