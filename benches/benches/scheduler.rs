//! Scheduler benchmarks: corio side by side with tokio's multi-thread
//! runtime and `async-executor`, all with the same number of worker threads.
//!
//! Every workload is written once, generically over the [`Rt`] trait, and
//! uses the same completion latch ([`Latch`]) and the same one-slot channel
//! ([`Slot`]) on every runtime, so that only the scheduler differs.
//!
//! Each runtime has `WORKERS` worker threads of its own, and the
//! benchmark's thread is a worker of none: it spawns the workload's root
//! future as a task and blocks on a channel until the task is done
//! ([`Rt::block_on`]).
//!
//! * corio: `Runtime::builder().workers(WORKERS)` whose worker 0 is a
//!   thread of its own ([`CorioOwnThread`]);
//! * tokio: `new_multi_thread().worker_threads(WORKERS)`;
//! * async-executor: one `Executor` driven by `WORKERS` threads calling
//!   `Executor::run` ([`SmolThreads::new`]).
//!
//! See `docs/benchmarks.md` for the results.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use async_executor::Executor;
use corio_benches::{
    criterion, spawn_and_wait, tokio_runtime, CorioOwnThread, Latch, PlainYield, SmolThreads,
};
use criterion::Criterion;

/// Tasks spawned by `spawn_many_local` and `spawn_many_remote`.
const SPAWN_MANY: usize = 100_000;
/// Tasks in `yield_many`.
const YIELD_TASKS: usize = 200;
/// Yields per task in `yield_many`.
const YIELDS_PER_TASK: usize = 1_000;
/// Pairs of tasks in `ping_pong`.
const PING_PONG_PAIRS: usize = 1_000;
/// Round trips per pair in `ping_pong`.
const ROUND_TRIPS: usize = 100;
/// Length of the chain in `chained_spawn`.
const CHAIN_DEPTH: usize = 100_000;

// ---------------------------------------------------------------------------
// Runtime-agnostic synchronisation: the same code on every runtime.
// ---------------------------------------------------------------------------

/// A one-slot, single-producer single-consumer channel built on
/// `std::task::Waker` and a `std::sync::Mutex` (corio has no channels yet;
/// tokio and async-executor use this one too).
struct Slot<T> {
    inner: Mutex<SlotInner<T>>,
}

struct SlotInner<T> {
    value: Option<T>,
    receiver: Option<Waker>,
}

impl<T> Slot<T> {
    fn new() -> Arc<Slot<T>> {
        Arc::new(Slot {
            inner: Mutex::new(SlotInner {
                value: None,
                receiver: None,
            }),
        })
    }

    /// Puts `value` in the slot (which must be empty) and wakes the receiver.
    fn send(&self, value: T) {
        let waker = {
            let mut inner = self.inner.lock().unwrap();
            assert!(inner.value.is_none(), "one-slot channel overfilled");
            inner.value = Some(value);
            inner.receiver.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Waits for the next value.
    fn recv(&self) -> Recv<'_, T> {
        Recv(self)
    }
}

/// The future returned by [`Slot::recv`].
struct Recv<'a, T>(&'a Slot<T>);

impl<T> Future for Recv<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut inner = self.0.inner.lock().unwrap();
        if let Some(value) = inner.value.take() {
            return Poll::Ready(value);
        }
        match &mut inner.receiver {
            Some(w) if w.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------
// The runtimes.
// ---------------------------------------------------------------------------

/// Spawns detached tasks, from inside the runtime or from any thread.
trait Spawner: Clone + Send + Sync + 'static {
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// The runtime's own `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send + 'static;
}

/// A runtime under test.
trait Rt {
    type Spawner: Spawner;

    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` as a task of the runtime and blocks the benchmark's
    /// thread (a worker of none) until it is done.
    fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

impl Spawner for corio::Handle {
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // `Handle::spawn` inside a worker is `corio::spawn`; dropping the
        // task detaches it.
        drop(self.spawn(future));
    }

    async fn yield_now() {
        let _ = corio::yield_now().await;
    }
}

struct CorioRt(CorioOwnThread);

impl CorioRt {
    fn new() -> CorioRt {
        CorioRt(CorioOwnThread::new())
    }
}

impl Rt for CorioRt {
    type Spawner = corio::Handle;

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
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // `Handle::spawn` inside a worker is `tokio::spawn`; dropping the
        // join handle detaches the task.
        drop(tokio::runtime::Handle::spawn(self, future));
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }
}

struct TokioRt(tokio::runtime::Runtime);

impl TokioRt {
    fn new() -> TokioRt {
        TokioRt(tokio_runtime())
    }
}

impl Rt for TokioRt {
    type Spawner = tokio::runtime::Handle;

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

impl Spawner for Arc<Executor<'static>> {
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Executor::spawn(self, future).detach();
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        PlainYield::new()
    }
}

/// An `Executor` run by `WORKERS` threads of its own.
struct AsyncExecutorRt(SmolThreads);

impl AsyncExecutorRt {
    fn new() -> AsyncExecutorRt {
        AsyncExecutorRt(SmolThreads::new())
    }
}

impl Rt for AsyncExecutorRt {
    type Spawner = Arc<Executor<'static>>;

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

/// A benchmark, run the same way on every runtime.
trait Workload {
    const NAME: &'static str;
    fn run<R: Rt>(rt: &R);
}

/// Runs `root` as a task of `rt` (spawned from the future given to
/// `block_on`), and waits until a latch of `count` has been counted down.
fn in_task<R, F>(rt: &R, count: usize, root: F)
where
    R: Rt,
    F: FnOnce(R::Spawner, Arc<Latch>) + Send + 'static,
{
    let spawner = rt.spawner();
    rt.block_on(async move {
        let done = Latch::new(count);
        let (s, d) = (spawner.clone(), done.clone());
        spawner.spawn_detached(async move { root(s, d) });
        done.wait().await;
    });
}

/// From inside a task, spawn `SPAWN_MANY` tasks that each count a latch
/// down; wait for the latch.
struct SpawnManyLocal;

impl Workload for SpawnManyLocal {
    const NAME: &'static str = "spawn_many_local";

    fn run<R: Rt>(rt: &R) {
        in_task(rt, SPAWN_MANY, |s, done| {
            for _ in 0..SPAWN_MANY {
                let done = done.clone();
                s.spawn_detached(async move { done.count_down() });
            }
        });
    }
}

/// From a plain (non-runtime) thread, spawn `SPAWN_MANY` tasks through the
/// runtime's handle, each counting a latch down; the main thread waits for
/// the latch in `block_on`.
struct SpawnManyRemote;

impl Workload for SpawnManyRemote {
    const NAME: &'static str = "spawn_many_remote";

    fn run<R: Rt>(rt: &R) {
        let done = Latch::new(SPAWN_MANY);
        let spawner = rt.spawner();
        let d = done.clone();
        thread::scope(|scope| {
            scope.spawn(move || {
                for _ in 0..SPAWN_MANY {
                    let d = d.clone();
                    spawner.spawn_detached(async move { d.count_down() });
                }
            });
            rt.block_on(done.wait());
        });
    }
}

/// `YIELD_TASKS` tasks, each yielding `YIELDS_PER_TASK` times.
struct YieldMany;

impl Workload for YieldMany {
    const NAME: &'static str = "yield_many";

    fn run<R: Rt>(rt: &R) {
        in_task(rt, YIELD_TASKS, |s, done| {
            for _ in 0..YIELD_TASKS {
                let done = done.clone();
                s.spawn_detached(async move {
                    for _ in 0..YIELDS_PER_TASK {
                        R::Spawner::yield_now().await;
                    }
                    done.count_down();
                });
            }
        });
    }
}

/// `PING_PONG_PAIRS` pairs of tasks, each pair passing a message back and
/// forth `ROUND_TRIPS` times over two [`Slot`]s.
struct PingPong;

impl Workload for PingPong {
    const NAME: &'static str = "ping_pong";

    fn run<R: Rt>(rt: &R) {
        in_task(rt, PING_PONG_PAIRS, |s, done| {
            for _ in 0..PING_PONG_PAIRS {
                let ping = Slot::<usize>::new();
                let pong = Slot::<usize>::new();
                let (ping2, pong2) = (ping.clone(), pong.clone());
                s.spawn_detached(async move {
                    for _ in 0..ROUND_TRIPS {
                        let v = ping2.recv().await;
                        pong2.send(v);
                    }
                });
                let done = done.clone();
                s.spawn_detached(async move {
                    for i in 0..ROUND_TRIPS {
                        ping.send(i);
                        let v = pong.recv().await;
                        debug_assert_eq!(v, i);
                    }
                    done.count_down();
                });
            }
        });
    }
}

/// Each task spawns the next, `CHAIN_DEPTH` deep; the last one counts the
/// latch down.
struct ChainedSpawn;

fn chain<S: Spawner>(s: S, done: Arc<Latch>, n: usize) {
    if n == 0 {
        done.count_down();
    } else {
        let next = s.clone();
        s.spawn_detached(async move { chain(next, done, n - 1) });
    }
}

impl Workload for ChainedSpawn {
    const NAME: &'static str = "chained_spawn";

    fn run<R: Rt>(rt: &R) {
        in_task(rt, 1, |s, done| chain(s, done, CHAIN_DEPTH));
    }
}

// ---------------------------------------------------------------------------
// Criterion.
// ---------------------------------------------------------------------------

/// One group per workload: `<workload>/corio`, `<workload>/tokio`,
/// `<workload>/async-executor`. Each runtime is built once, before its
/// benchmark, and dropped after it.
fn bench_workload<W: Workload>(c: &mut Criterion) {
    let mut group = c.benchmark_group(W::NAME);
    {
        let rt = CorioRt::new();
        group.bench_function("corio", |b| b.iter(|| W::run(&rt)));
    }
    {
        let rt = TokioRt::new();
        group.bench_function("tokio", |b| b.iter(|| W::run(&rt)));
    }
    {
        let rt = AsyncExecutorRt::new();
        group.bench_function("async-executor", |b| b.iter(|| W::run(&rt)));
    }
    group.finish();
}

fn scheduler(c: &mut Criterion) {
    bench_workload::<SpawnManyLocal>(c);
    bench_workload::<SpawnManyRemote>(c);
    bench_workload::<YieldMany>(c);
    bench_workload::<PingPong>(c);
    bench_workload::<ChainedSpawn>(c);
}

// What `criterion_group!` + `criterion_main!` expand to, minus the
// undocumented `pub fn` the former generates.
fn main() {
    let mut c = criterion(Duration::from_secs(3));
    scheduler(&mut c);
    c.final_summary();
}
