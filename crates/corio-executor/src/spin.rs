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
//! machine (a few microseconds on bare metal, tens in a VM, more again on
//! a busy host). So no spin here has a constant. Wakeups of workers by an
//! unpark, and of blocking-pool threads by a new job, are measured: from
//! the moment the waker decides to wake the thread to the moment it runs
//! again ([`record_wakeup`]). The estimate is the 90th percentile of the
//! last `config::WAKEUP_WINDOW` samples ([`wakeup_cost`]): it follows the
//! machine as soon as there are samples, and one slow wakeup in ten does
//! not move it.
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
//! A measurement over `config::WAKEUP_SAMPLE_MAX` is a stall (a
//! descheduled thread), not a wakeup, and is dropped. A thread woken just
//! as it was about to block resumes at once; such samples are cheap
//! wakeups in effect and sit below the percentile unless they are most of
//! them. Before the first sample the estimate is zero, and nothing spins.
//!
//! This is a statistic, not a synchronization protocol: a sample that
//! meets another being recorded is dropped. It uses std's atomics and
//! mutex directly, and under loom nothing spins (the models check
//! protocols that never rely on a spin).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

use std::time::{Duration, Instant};

use crate::config::{WAKEUP_SAMPLE_MAX, WAKEUP_WINDOW};

/// The estimated cost of one thread wakeup, in nanoseconds (0: none
/// measured yet): the 90th percentile of `SAMPLES`.
static WAKEUP_NANOS: AtomicU64 = AtomicU64::new(0);

/// The last `WAKEUP_WINDOW` wakeup costs.
static SAMPLES: Mutex<Window> = Mutex::new(Window::new());

/// A ring of the most recent samples.
struct Window {
    nanos: [u64; WAKEUP_WINDOW],
    /// Samples in the ring (up to `WAKEUP_WINDOW`).
    len: usize,
    /// Where the next sample goes.
    next: usize,
}

impl Window {
    const fn new() -> Window {
        Window {
            nanos: [0; WAKEUP_WINDOW],
            len: 0,
            next: 0,
        }
    }

    /// Adds a sample (replacing the oldest once full) and returns the
    /// 90th percentile of the samples held.
    fn push(&mut self, sample: u64) -> u64 {
        self.nanos[self.next] = sample;
        self.next = (self.next + 1) % WAKEUP_WINDOW;
        self.len = (self.len + 1).min(WAKEUP_WINDOW);
        let mut sorted = self.nanos;
        let held = &mut sorted[..self.len];
        held.sort_unstable();
        held[(self.len - 1) * 9 / 10]
    }
}

/// Another thread decided to wake a sleeping one, which ran again `cost`
/// nanoseconds later: a sample of the estimate, unless it was a stall.
pub(crate) fn record_wakeup(cost: u64) {
    if cost == 0 || cost > WAKEUP_SAMPLE_MAX.as_nanos() as u64 {
        return;
    }
    // A sample that meets another is dropped rather than waited for.
    if let Ok(mut window) = SAMPLES.try_lock() {
        WAKEUP_NANOS.store(window.push(cost), Relaxed);
    }
}

/// The current estimate of one thread wakeup's cost, the 90th percentile
/// of the recent samples (zero until one is measured).
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
    fn the_estimate_is_the_90th_percentile_of_the_recent_samples() {
        let mut w = Window::new();
        assert_eq!(w.push(40_000), 40_000, "the first sample is the estimate");
        // Samples spread evenly over 1..=100 us, in a scrambled order.
        let mut est = 0;
        for round in 0..20u64 {
            for i in 0..100u64 {
                est = w.push((1 + (i * 37 + round) % 100) * 1_000);
            }
        }
        assert!(
            (75_000..=100_000).contains(&est),
            "{est} ns is not near the 90th percentile (90 us)"
        );
        // The machine gets faster: the estimate follows within a window.
        for _ in 0..WAKEUP_WINDOW {
            est = w.push(5_000);
        }
        assert_eq!(est, 5_000);
        // One slow wakeup in ten does not move it.
        for i in 0..WAKEUP_WINDOW {
            est = w.push(if i % 10 == 0 { 500_000 } else { 5_000 });
        }
        assert_eq!(est, 5_000);
    }

    #[test]
    fn a_spin_whose_signal_is_there_returns_true_and_one_that_never_comes_returns_false() {
        assert!(spin_until(|| true));
        assert!(!spin_until(|| false));
    }
}
