//! Every tuning choice of the runtime, in one place, each with what it
//! trades and why it has its value.
//!
//! None of them is a timing fitted to one machine. Most are proportions
//! (how many tasks, how many bytes, how often relative to the work done),
//! right on any machine for the same reason. Spins have no constant at
//! all: each is bounded by the cost of a thread wakeup, which the runtime
//! measures as it runs (`crate::spin`). What remains are a few user-facing
//! defaults (set per runtime on the [`Builder`](crate::Builder)) and one
//! latency policy, [`IO_HELP_INTERVAL`].
//!
//! Under `--cfg loom` the sizes shrink so that the models reach the edge
//! cases (a full run queue, the injector's turn) in a few steps.

use std::time::Duration;

// ---- The scheduler's proportions ----

/// How many tasks a worker's stealable run queue holds; a push onto a full
/// one moves half of them to the global injector. The queue is a fixed
/// ring of pointers (2 KiB): long enough that a burst of spawns stays local
/// (cheap to push and pop, no contention), short enough that a backlog
/// reaches the injector, where every worker can take from it.
pub(crate) const LOCAL_QUEUE_CAPACITY: usize = if cfg!(loom) { 4 } else { 256 };

/// How many ticks pass between two looks at the global injector before the
/// worker's own queue, so that work from outside (and spilled backlogs) is
/// never starved by a worker whose tasks keep waking each other. A prime,
/// so it does not fall into step with a periodic workload.
pub(crate) const GLOBAL_QUEUE_INTERVAL: u32 = if cfg!(loom) { 2 } else { 61 };

/// How many leaf operations (awaits of corio's awaitables that could
/// complete at once) one poll of a task may perform before they start
/// returning `Pending` to force a yield: a task whose every await is ready
/// (a busy socket, a full channel) still lets the others on its worker
/// run. Large enough that the forced yield is rare next to the work done.
pub(crate) const COOP_BUDGET: u32 = if cfg!(loom) { 4 } else { 128 };

/// How many tasks from the LIFO slot a worker runs back to back after a
/// poll (a message-passing pair handing a message back and forth) before
/// the next task comes from the run queue: enough for a round trip to stay
/// hot in cache, few enough that such a pair cannot starve the queue.
pub(crate) const MAX_LIFO_POLLS_PER_TICK: u32 = 3;

/// `call_soon_threadsafe` callbacks one poll of the drainer task runs
/// before it yields to the other tasks on its worker.
pub(crate) const SOON_BATCH: usize = 64;

// ---- Spinning ----

/// How many thread wakeups' worth of time a thread spins for a signal it
/// expects from another thread before it sleeps (`crate::spin`, which
/// measures what a wakeup costs on the machine it runs on). A proportion:
/// the signal in a one-by-one exchange often needs the other side woken
/// first and then its turn of work, so a spin shorter than about one
/// wakeup gives up just before it comes, and the exchange falls into the
/// mode where every round trip pays two wakeups; a longer spin takes the
/// cores from the threads doing the work (a pool thread, the worker), which
/// on a small machine slows the very exchange it waits for. Two is where
/// both bridges benchmarks do best (`docs/benchmarks.md`, "Bridges between
/// threads": four was 1.2x slower on the concurrent one, six slower
/// still).
pub(crate) const SPIN_WAKEUPS: u32 = 2;

/// A measured "wakeup" longer than this was not the cost of a wakeup but a
/// stall (a descheduled thread, a suspended VM): it is not a sample of the
/// estimate spins are bounded by. Any machine that can run a server wakes
/// a thread well within it, so it only filters, it does not tune.
pub(crate) const WAKEUP_SAMPLE_MAX: Duration = Duration::from_millis(1);

/// One worker park in this many is measured for the wakeup estimate: a
/// measurement costs a clock read on each side, which a workload that
/// parks and unparks tens of thousands of times a second feels; one in
/// sixteen keeps the estimate current at a sixteenth of the cost.
#[cfg_attr(loom, allow(dead_code))] // the measured parks are not modelled
pub(crate) const WAKEUP_SAMPLE_EVERY: u32 = 16;

/// The wakeup estimate is the 90th percentile of this many recent samples
/// (`crate::spin`): enough that one slow wakeup in ten does not move it,
/// few enough that it follows the machine within a few hundred parks.
pub(crate) const WAKEUP_WINDOW: usize = 32;

// ---- Memory ----

/// Bytes of freed task blocks a busy worker keeps, all size classes
/// together, for its next spawns (`scheduler/pool.rs`); beyond it, freed
/// blocks go back to the allocator. A spawn from the cache costs a pop
/// instead of a `malloc` (and a task freed on another thread no `free`
/// into a foreign arena). 4 MiB is some 16 000 tasks of a few hundred
/// bytes: a burst of spawns that size runs from the cache.
pub(crate) const MAX_CACHED_BYTES: usize = if cfg!(loom) { 128 } else { 4 << 20 };

/// Bytes of freed task blocks a worker keeps once it has been idle for
/// [`MEMORY_LINGER`] (`scheduler/pool.rs`): it trims its cache to this,
/// and when the whole runtime is idle the blocks waiting to go back to
/// their worker are freed too. So memory a burst needed goes back when it
/// is over, while the first few hundred spawns after a wakeup still come
/// from the cache.
pub(crate) const IDLE_CACHED_BYTES: usize = if cfg!(loom) { 64 } else { 64 << 10 };

/// How long a worker that goes to sleep holding more than
/// [`IDLE_CACHED_BYTES`] of task memory (or the last one to sleep, while
/// blocks wait to go back to their worker) keeps it for the next burst
/// before it gives it back: it sleeps at most this long, and trims if
/// nothing woke it sooner. A policy about workloads, not about the
/// machine: bursts that recur within it (a benchmark loop, a client that
/// sends a batch every few milliseconds) reuse their blocks instead of
/// paying the allocator each time; a burst that stays alone costs its
/// memory for this long, and one wakeup. An idle runtime that holds
/// nothing to give back sleeps without a timeout.
pub(crate) const MEMORY_LINGER: std::time::Duration = std::time::Duration::from_millis(500);

/// Entries a shard of the task registry keeps when it shrinks
/// (`scheduler/registry.rs`: a slab of task pointers that grows with the
/// most tasks the shard held at once and shrinks when they are gone):
/// enough that a shard holding a few tasks does not reallocate.
pub(crate) const SLAB_KEEP: usize = 64;

/// The largest task allocation the per-worker pool serves (in 64-byte size
/// classes); larger tasks (a future with big locals) go to the global
/// allocator. Covers the tasks of ordinary async code, whose futures are a
/// few hundred bytes.
pub(crate) const MAX_POOLED_TASK: usize = 1024;

/// How many task ids a thread reserves from the shared counter at once, so
/// that spawning does not contend on it.
pub(crate) const TASK_ID_BLOCK: u64 = 1024;

// ---- The one latency policy ----

/// How long an idle worker sleeps before it looks whether a peer that was
/// awake with I/O sources when it went to sleep is stuck in one poll, and
/// then delivers that peer's I/O events itself ("I/O helping",
/// `scheduler/worker.rs`).
///
/// The trade: the longest a stuck peer's connections wait, against how
/// often an idle worker wakes while a peer is busy. A poll longer than
/// this is a bug in the program (debug mode reports polls over 100 ms), so
/// the value bounds the damage of a bug, not the latency of a correct
/// program; it is measured in milliseconds, far above any thread wakeup.
/// An idle worker whose peers are all parked sleeps without this timeout:
/// an idle runtime does not wake up.
pub(crate) const IO_HELP_INTERVAL: Duration = Duration::from_millis(5);

/// How late an `Interval`'s tick may fire and still count as on time
/// rather than as a missed tick (whose handling `MissedTickBehavior`
/// chooses): a timer fires within a millisecond tick of its deadline
/// plus a thread wakeup, so lateness under this is jitter, not a miss.
pub(crate) const INTERVAL_LATE_TOLERANCE: Duration = Duration::from_millis(5);

// ---- Defaults of the Builder's settings ----

/// The default [`Builder::slow_poll_threshold`](crate::Builder::slow_poll_threshold):
/// asyncio's `slow_callback_duration`.
///
/// ```
/// assert_eq!(corio::DEFAULT_SLOW_POLL_THRESHOLD, std::time::Duration::from_millis(100));
/// ```
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// The default [`Builder::shutdown_grace`](crate::Builder::shutdown_grace):
/// how long dropping a runtime waits for blocking jobs that are still
/// running.
///
/// ```
/// assert_eq!(corio::DEFAULT_SHUTDOWN_GRACE, std::time::Duration::from_secs(5));
/// ```
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The default [`Builder::blocking_keep_alive`](crate::Builder::blocking_keep_alive):
/// how long an idle blocking-pool thread waits for a job before it exits.
pub(crate) const DEFAULT_BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The default [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads):
/// min(32, cores + 4), as Python's `ThreadPoolExecutor`.
pub(crate) fn default_max_blocking_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores + 4).min(32)
}
