//! Timer benchmarks: corio's timers side by side with tokio's and with
//! async-io's on async-executor ("smol"), every runtime with the same
//! number of worker threads.
//!
//! * `timers_fire`: 100 000 tasks each sleep 1..=50 ms (a fixed-seed
//!   xorshift sequence), then count a latch down.
//! * `timeout_cancel_armed`: one task awaits, 1 000 000 times, a 10 s
//!   timeout around a future that is pending once: the timer is armed,
//!   then cancelled (dropped) when the inner future completes
//!   (`corio::timeout`, `tokio::time::timeout`, and smol's idiom
//!   `future.or(async { Timer::after(d).await; Err(..) })`).
//! * `timeout_ready`: the same with a future that is ready at once: no
//!   timer needs arming.
//! * `sleep_many`: 1 000 000 tasks each start a one-hour sleep. The
//!   criterion benchmark times spawning them until every sleep is
//!   registered (a fresh runtime per iteration, dropped untimed); the live
//!   heap per sleeping task, measured with a counting global allocator, is
//!   printed (`println!`) before the criterion benchmarks run.
//!
//! Runtimes are built as in `scheduler.rs`:
//!
//! * corio: `Runtime::builder().workers(WORKERS)` whose worker 0 is a
//!   thread of its own (`CorioOwnThread`);
//! * tokio: `new_multi_thread().worker_threads(WORKERS).enable_all()`;
//! * smol: an async-executor run by `WORKERS` threads of its own inside
//!   `async_io::block_on` (`SmolThreads::new`);
//!
//! and the benchmark's thread is a worker of none: it spawns the root
//! future as a task and waits on a channel (`spawn_and_wait`).
//!
//! See `docs/benchmarks.md` for the results.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use async_executor::Executor;
use async_io::Timer;
use corio_benches::{
    criterion, spawn_and_wait, tokio_runtime, CorioOwnThread, Latch, PlainYield, SmolThreads,
};
use criterion::{Criterion, SamplingMode};

/// Tasks in `timers_fire`.
const FIRE_TASKS: usize = 100_000;
/// The longest sleep in `timers_fire`, in ms (the shortest is 1 ms).
const FIRE_MAX_MS: u64 = 50;
/// Seed of the xorshift sequence of sleep durations in `timers_fire`.
const FIRE_SEED: u64 = 0x9E37_79B9_7F4A_7C15;
/// Timeouts per iteration of `timeout_cancel_armed`.
const TIMEOUTS: usize = 1_000_000;
/// The (never reached) timeout in `timeout_cancel_armed`.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Sleeping tasks in `sleep_many`.
const SLEEPERS: usize = 1_000_000;
/// How long each `sleep_many` task sleeps (never reached).
const SLEEPER_SLEEP: Duration = Duration::from_secs(3600);
/// Fresh runtimes measured, per runtime kind, in the memory report.
const MEMORY_ROUNDS: usize = 3;

// ---------------------------------------------------------------------------
// A counting allocator, for `sleep_many`'s memory report.
// ---------------------------------------------------------------------------

/// `System`, counting the net bytes allocated while [`COUNTING`] is on.
///
/// Counting is off except around the memory measurement, so that the timed
/// benchmarks do not pay for a shared atomic on every allocation. While it
/// is on, every allocation, deallocation and reallocation updates [`NET`],
/// so `NET` at the end of the window is exactly "live bytes now − live
/// bytes when counting started".
struct CountingAlloc;

/// Whether [`CountingAlloc`] is counting.
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since counting started.
static NET: AtomicIsize = AtomicIsize::new(0);

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        NET.fetch_add(delta, Ordering::Relaxed);
    }
}

/// Resets [`NET`] to zero and starts counting.
fn start_counting() {
    NET.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
}

/// Stops counting; returns the net bytes allocated since `start_counting`.
fn stop_counting() -> isize {
    COUNTING.store(false, Ordering::SeqCst);
    NET.load(Ordering::SeqCst)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// implements `GlobalAlloc` correctly, and returns `System`'s result; the
// counting only updates atomics and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract, which
        // is the one `System.alloc` needs.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, i.e. by `System`,
        // with `layout` (our caller's contract).
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` with `layout`, and
        // `new_size` is valid for it (our caller's contract).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

// ---------------------------------------------------------------------------
// Runtime-agnostic pieces: the same code on every runtime.
// ---------------------------------------------------------------------------

/// xorshift64: the fixed sequence of sleep durations of `timers_fire`.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

// ---------------------------------------------------------------------------
// The runtimes.
// ---------------------------------------------------------------------------

/// Spawns detached tasks and makes timers, on one runtime.
trait Spawner: Clone + Send + Sync + 'static {
    /// The runtime's sleep future.
    type Sleep: Future + Send + 'static;
    /// The error of an elapsed timeout.
    type Elapsed: std::fmt::Debug;

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// The runtime's `sleep`.
    fn sleep(duration: Duration) -> Self::Sleep;

    /// The runtime's `timeout`.
    fn timeout<F>(
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Self::Elapsed>> + Send
    where
        F: Future + Unpin + Send;
}

/// A runtime under test.
trait Rt {
    /// The benchmark id.
    const NAME: &'static str;
    type Spawner: Spawner;

    fn new() -> Self;

    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` as a task of the runtime and blocks the benchmark's
    /// thread (a worker of none) until it is done.
    fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

impl Spawner for corio::Handle {
    type Sleep = corio::Sleep;
    type Elapsed = corio::TimeoutError;

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // `Handle::spawn` inside a worker is `corio::spawn`; dropping the
        // task detaches it.
        drop(self.spawn(future));
    }

    fn sleep(duration: Duration) -> corio::Sleep {
        corio::sleep(duration)
    }

    fn timeout<F>(
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, corio::TimeoutError>> + Send
    where
        F: Future + Unpin + Send,
    {
        corio::timeout(duration, future)
    }
}

struct CorioRt(CorioOwnThread);

impl Rt for CorioRt {
    const NAME: &'static str = "corio";
    type Spawner = corio::Handle;

    fn new() -> CorioRt {
        CorioRt(CorioOwnThread::new())
    }

    fn spawner(&self) -> corio::Handle {
        self.0.handle().clone()
    }

    fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_and_wait(future, |f| drop(self.0.handle().spawn(f)))
    }
}

impl Spawner for tokio::runtime::Handle {
    type Sleep = tokio::time::Sleep;
    type Elapsed = tokio::time::error::Elapsed;

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // `Handle::spawn` inside a worker is `tokio::spawn`; dropping the
        // join handle detaches the task.
        drop(tokio::runtime::Handle::spawn(self, future));
    }

    fn sleep(duration: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(duration)
    }

    fn timeout<F>(
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, tokio::time::error::Elapsed>> + Send
    where
        F: Future + Unpin + Send,
    {
        tokio::time::timeout(duration, future)
    }
}

struct TokioRt(tokio::runtime::Runtime);

impl Rt for TokioRt {
    const NAME: &'static str = "tokio";
    type Spawner = tokio::runtime::Handle;

    fn new() -> TokioRt {
        TokioRt(tokio_runtime())
    }

    fn spawner(&self) -> tokio::runtime::Handle {
        self.0.handle().clone()
    }

    fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_and_wait(future, |f| drop(self.0.spawn(f)))
    }
}

/// The error of an elapsed smol timeout.
#[derive(Debug)]
struct SmolElapsed;

impl Spawner for Arc<Executor<'static>> {
    type Sleep = Timer;
    type Elapsed = SmolElapsed;

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Executor::spawn(self, future).detach();
    }

    fn sleep(duration: Duration) -> Timer {
        Timer::after(duration)
    }

    /// smol's idiom: the future, or a timer that fails it (`or` polls the
    /// timer only while the future is pending).
    fn timeout<F>(
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, SmolElapsed>> + Send
    where
        F: Future + Unpin + Send,
    {
        futures_lite::future::or(async move { Ok(future.await) }, async move {
            Timer::after(duration).await;
            Err(SmolElapsed)
        })
    }
}

/// async-executor with async-io's timers ("smol"): two threads of its own
/// run the executor inside async-io's `block_on`, which drives the timers.
struct SmolRt(SmolThreads);

impl Rt for SmolRt {
    const NAME: &'static str = "smol";
    type Spawner = Arc<Executor<'static>>;

    fn new() -> SmolRt {
        SmolRt(SmolThreads::new())
    }

    fn spawner(&self) -> Arc<Executor<'static>> {
        self.0.executor().clone()
    }

    fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_and_wait(future, |f| self.0.executor().spawn(f).detach())
    }
}

// ---------------------------------------------------------------------------
// The workloads.
// ---------------------------------------------------------------------------

/// Runs the future `root(spawner, latch)` as a task of `rt` (spawned from
/// the future given to `block_on`), and waits until the latch, of `count`,
/// has been counted down.
fn in_task<R, F, Fut>(rt: &R, count: usize, root: F)
where
    R: Rt,
    F: FnOnce(R::Spawner, Arc<Latch>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let spawner = rt.spawner();
    rt.block_on(async move {
        let done = Latch::new(count);
        let (s, d) = (spawner.clone(), done.clone());
        spawner.spawn_detached(root(s, d));
        done.wait().await;
    });
}

/// A root task spawns `FIRE_TASKS` tasks; each sleeps 1..=`FIRE_MAX_MS` ms
/// (the same sequence every time), then counts the latch down.
fn timers_fire<R: Rt>(rt: &R) {
    in_task(rt, FIRE_TASKS, |s, done| async move {
        let mut rng = XorShift(FIRE_SEED);
        for _ in 0..FIRE_TASKS {
            let d = Duration::from_millis(1 + rng.next() % FIRE_MAX_MS);
            let done = done.clone();
            s.spawn_detached(async move {
                let _ = <R::Spawner as Spawner>::sleep(d).await;
                done.count_down();
            });
        }
    });
}

/// One task awaits `TIMEOUTS` times a `TIMEOUT` timeout around a
/// [`PlainYield`]: each timer is registered, then cancelled.
fn timeout_cancel_armed<R: Rt>(rt: &R) {
    in_task(rt, 1, |_, done| async move {
        for _ in 0..TIMEOUTS {
            let r = <R::Spawner as Spawner>::timeout(TIMEOUT, PlainYield::new()).await;
            assert!(r.is_ok(), "a 10 s timeout elapsed");
        }
        done.count_down();
    });
}

/// One task awaits `TIMEOUTS` times a `TIMEOUT` timeout around a future
/// that is ready at once.
fn timeout_ready<R: Rt>(rt: &R) {
    in_task(rt, 1, |_, done| async move {
        for i in 0..TIMEOUTS {
            let r = <R::Spawner as Spawner>::timeout(TIMEOUT, std::future::ready(i)).await;
            assert_eq!(r.unwrap(), i);
        }
        done.count_down();
    });
}

/// A root task spawns `SLEEPERS` tasks; each counts the latch down, then
/// sleeps `SLEEPER_SLEEP`. Returns once every task has counted down (the
/// last ones may still be registering their sleep).
fn spawn_sleepers<R: Rt>(rt: &R) {
    in_task(rt, SLEEPERS, |s, registered| async move {
        for _ in 0..SLEEPERS {
            let registered = registered.clone();
            s.spawn_detached(async move {
                registered.count_down();
                let _ = <R::Spawner as Spawner>::sleep(SLEEPER_SLEEP).await;
            });
        }
    });
}

// ---------------------------------------------------------------------------
// The memory report.
// ---------------------------------------------------------------------------

/// On a fresh runtime: counts the live heap added by spawning `SLEEPERS`
/// sleeping tasks; prints it per task, with the time to spawn them (until
/// all are registered) and the time to drop the runtime.
fn memory_round<R: Rt>(round: usize) -> f64 {
    let rt = R::new();
    start_counting();
    let start = Instant::now();
    spawn_sleepers(&rt);
    let spawned = start.elapsed();
    // Let the last tasks finish the poll that registers their sleep.
    thread::sleep(Duration::from_millis(20));
    let bytes = stop_counting();
    let start = Instant::now();
    drop(rt);
    let dropped = start.elapsed();
    let per_task = bytes as f64 / SLEEPERS as f64;
    println!(
        "sleep_many memory/{:<5} round {round}: {:>6.1} MiB live for {SLEEPERS} sleeping tasks \
         = {per_task:.1} bytes/task; spawn + register {:.1} ms; drop runtime {:.1} ms",
        R::NAME,
        bytes as f64 / (1024.0 * 1024.0),
        spawned.as_secs_f64() * 1e3,
        dropped.as_secs_f64() * 1e3,
    );
    per_task
}

fn memory_report() {
    println!("sleep_many: live heap per sleeping task (counting global allocator)");
    let mut medians = Vec::new();
    for name in [CorioRt::NAME, TokioRt::NAME] {
        let mut rounds: Vec<f64> = (0..MEMORY_ROUNDS)
            .map(|i| {
                if name == CorioRt::NAME {
                    memory_round::<CorioRt>(i + 1)
                } else {
                    memory_round::<TokioRt>(i + 1)
                }
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        medians.push(rounds[rounds.len() / 2]);
    }
    println!(
        "sleep_many memory: median bytes/task corio {:.1}, tokio {:.1}; tokio / corio = {:.2}",
        medians[0],
        medians[1],
        medians[1] / medians[0]
    );
}

/// Whether the command line's filters (if any) select `sleep_many`.
///
/// Criterion's filter is not public, so this is a heuristic: any argument
/// that is not an option counts as a filter (so do option values such as
/// `--profile-time 5`'s, which skips the report when profiling).
fn memory_report_selected() -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| f.contains("sleep_many"))
}

// ---------------------------------------------------------------------------
// Criterion.
// ---------------------------------------------------------------------------

/// One group per workload: `<workload>/corio`, `<workload>/tokio`. Each
/// runtime is built once, before its benchmark, and dropped after it.
fn bench_workload(
    c: &mut Criterion,
    name: &str,
    flat: bool,
    corio: fn(&CorioRt),
    tokio: fn(&TokioRt),
    smol: fn(&SmolRt),
) {
    let mut group = c.benchmark_group(name);
    if flat {
        group.sampling_mode(SamplingMode::Flat);
    }
    {
        let rt = CorioRt::new();
        group.bench_function(CorioRt::NAME, |b| b.iter(|| corio(&rt)));
    }
    {
        let rt = TokioRt::new();
        group.bench_function(TokioRt::NAME, |b| b.iter(|| tokio(&rt)));
    }
    {
        let rt = SmolRt::new();
        group.bench_function(SmolRt::NAME, |b| b.iter(|| smol(&rt)));
    }
    group.finish();
}

/// `sleep_many/<runtime>`: the time to spawn `SLEEPERS` sleeping tasks
/// until all have counted down, on a fresh runtime per iteration (built and
/// dropped outside the timed part: dropping the runtime is what frees the
/// sleeping tasks).
fn bench_sleep_many(c: &mut Criterion) {
    fn run<R: Rt>(iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let rt = R::new();
            let start = Instant::now();
            spawn_sleepers(&rt);
            total += start.elapsed();
            drop(rt);
        }
        total
    }
    let mut group = c.benchmark_group("sleep_many");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(CorioRt::NAME, |b| b.iter_custom(run::<CorioRt>));
    group.bench_function(TokioRt::NAME, |b| b.iter_custom(run::<TokioRt>));
    group.bench_function(SmolRt::NAME, |b| b.iter_custom(run::<SmolRt>));
    group.finish();
}

fn timers(c: &mut Criterion) {
    bench_workload(
        c,
        "timers_fire",
        false,
        timers_fire,
        timers_fire,
        timers_fire,
    );
    bench_workload(
        c,
        "timeout_cancel_armed",
        true,
        timeout_cancel_armed,
        timeout_cancel_armed,
        timeout_cancel_armed,
    );
    bench_workload(
        c,
        "timeout_ready",
        true,
        timeout_ready,
        timeout_ready,
        timeout_ready,
    );
    bench_sleep_many(c);
}

// What `criterion_group!` + `criterion_main!` expand to, minus the
// undocumented `pub fn` the former generates.
fn main() {
    if memory_report_selected() {
        memory_report();
    }
    let mut c = criterion(Duration::from_secs(5));
    timers(&mut c);
    c.final_summary();
}
