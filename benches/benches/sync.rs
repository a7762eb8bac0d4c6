//! Synchronization primitives and queues: `corio::sync` on corio, tokio's
//! `sync` on tokio, and the smol crates (`async-channel`, `async-lock`,
//! `event-listener`) on `async-executor`, each primitive on its own
//! runtime, the way a user of each stack writes the workload.
//!
//! Like for like: every runtime has [`WORKERS`] worker threads, and the
//! benchmark's main thread is a worker of none of them. It spawns the
//! workload as one task and blocks on a `std::sync::mpsc` channel for its
//! result, the same way on every runtime.
//!
//! * corio: `workers(WORKERS)`, worker 0 being a thread of this file that
//!   calls `run` with a main task that only waits for the end;
//! * tokio: `new_multi_thread().worker_threads(WORKERS)`;
//! * async-executor: `WORKERS` threads of this file calling
//!   `Executor::run`.
//!
//! See `docs/benchmarks.md` for the results and the command.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use corio_benches::{criterion, spawn_and_wait, tokio_runtime, CorioOwnThread, Latch, SmolThreads};
use criterion::Criterion;

/// Pairs in `queue_ping_pong`, and round trips per pair.
const PAIRS: usize = 1_000;
const ROUND_TRIPS: usize = 100;
/// Producers, consumers, items and capacity in `queue_mpmc`.
const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
const ITEMS: usize = 1_000_000;
const MPMC_CAPACITY: usize = 1_024;
/// Tasks and acquisitions per task in `lock_contended`.
const LOCK_TASKS: usize = 1_000;
const LOCK_ROUNDS: usize = 1_000;
/// Acquisitions in `lock_uncontended`.
const UNCONTENDED: usize = 1_000_000;
/// Tasks and permits in `semaphore_limit`.
const SEM_TASKS: usize = 100_000;
const SEM_PERMITS: usize = 64;
/// Waiters in `event_fan_out`.
const FAN_OUT: usize = 10_000;

// ---------------------------------------------------------------------------
// The runtimes: each runs a workload as one task on its worker threads.
// ---------------------------------------------------------------------------

trait Runner {
    /// Spawns `future` on the runtime and blocks this (non-worker) thread
    /// until it is done.
    fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

struct Corio(CorioOwnThread);

impl Runner for Corio {
    fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_and_wait(future, |f| drop(self.0.handle().spawn(f)))
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Runner for Tokio {
    fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_and_wait(future, |f| drop(self.0.spawn(f)))
    }
}

struct Smol(SmolThreads);

impl Runner for Smol {
    fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_and_wait(future, |f| self.0.executor().spawn(f).detach())
    }
}

/// Spawns on the runtime the current task runs on.
fn corio_spawn(f: impl Future<Output = ()> + Send + 'static) {
    drop(corio::spawn(f));
}

fn tokio_spawn(f: impl Future<Output = ()> + Send + 'static) {
    drop(tokio::spawn(f));
}

// ---------------------------------------------------------------------------
// Workloads.
// ---------------------------------------------------------------------------

fn queue_ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_ping_pong");
    {
        let rt = Corio(CorioOwnThread::new());
        group.bench_function("corio Queue(1)", |b| {
            b.iter(|| {
                rt.run(async {
                    let done = Latch::new(PAIRS);
                    for _ in 0..PAIRS {
                        let (ping, pong) = (corio::sync::Queue::new(1), corio::sync::Queue::new(1));
                        let (ping2, pong2) = (ping.clone(), pong.clone());
                        corio_spawn(async move {
                            for _ in 0..ROUND_TRIPS {
                                let v = ping2.get().await.unwrap();
                                pong2.put(v).await.unwrap();
                            }
                        });
                        let done = done.clone();
                        corio_spawn(async move {
                            for i in 0..ROUND_TRIPS {
                                ping.put(i).await.unwrap();
                                pong.get().await.unwrap();
                            }
                            done.count_down();
                        });
                    }
                    done.wait().await;
                })
            })
        });
    }
    {
        let rt = Tokio(tokio_runtime());
        group.bench_function("tokio mpsc::channel(1)", |b| {
            b.iter(|| {
                rt.run(async {
                    let done = Latch::new(PAIRS);
                    for _ in 0..PAIRS {
                        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel(1);
                        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel(1);
                        tokio_spawn(async move {
                            for _ in 0..ROUND_TRIPS {
                                let v = ping_rx.recv().await.unwrap();
                                pong_tx.send(v).await.unwrap();
                            }
                        });
                        let done = done.clone();
                        tokio_spawn(async move {
                            for i in 0..ROUND_TRIPS {
                                ping_tx.send(i).await.unwrap();
                                pong_rx.recv().await.unwrap();
                            }
                            done.count_down();
                        });
                    }
                    done.wait().await;
                })
            })
        });
    }
    {
        let rt = Smol(SmolThreads::new());
        let ex = rt.0.executor().clone();
        group.bench_function("async-channel bounded(1) on async-executor", |b| {
            b.iter(|| {
                let ex = ex.clone();
                rt.run(async move {
                    let done = Latch::new(PAIRS);
                    for _ in 0..PAIRS {
                        let (ping_tx, ping_rx) = async_channel::bounded(1);
                        let (pong_tx, pong_rx) = async_channel::bounded(1);
                        ex.spawn(async move {
                            for _ in 0..ROUND_TRIPS {
                                let v = ping_rx.recv().await.unwrap();
                                pong_tx.send(v).await.unwrap();
                            }
                        })
                        .detach();
                        let done = done.clone();
                        ex.spawn(async move {
                            for i in 0..ROUND_TRIPS {
                                ping_tx.send(i).await.unwrap();
                                pong_rx.recv().await.unwrap();
                            }
                            done.count_down();
                        })
                        .detach();
                    }
                    done.wait().await;
                })
            })
        });
    }
    group.finish();
}

/// A bounded MPMC queue the way a tokio user writes one: a
/// `tokio::sync::Mutex<VecDeque>` and two `Notify`s.
struct TokioMpmc {
    items: tokio::sync::Mutex<VecDeque<usize>>,
    not_empty: tokio::sync::Notify,
    not_full: tokio::sync::Notify,
    closed: AtomicBool,
}

impl TokioMpmc {
    async fn push(&self, item: usize) {
        loop {
            let not_full = self.not_full.notified();
            {
                let mut items = self.items.lock().await;
                if items.len() < MPMC_CAPACITY {
                    items.push_back(item);
                    drop(items);
                    self.not_empty.notify_one();
                    return;
                }
            }
            not_full.await;
        }
    }

    async fn pop(&self) -> Option<usize> {
        loop {
            let not_empty = self.not_empty.notified();
            {
                let mut items = self.items.lock().await;
                if let Some(item) = items.pop_front() {
                    drop(items);
                    self.not_full.notify_one();
                    return Some(item);
                }
                if self.closed.load(Ordering::Acquire) {
                    return None;
                }
            }
            not_empty.await;
        }
    }

    async fn close(&self) {
        let _items = self.items.lock().await;
        self.closed.store(true, Ordering::Release);
        self.not_empty.notify_waiters();
    }
}

fn queue_mpmc(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_mpmc");
    let per_producer = ITEMS / PRODUCERS;
    {
        let rt = Corio(CorioOwnThread::new());
        group.bench_function("corio Queue(1024)", |b| {
            b.iter(|| {
                rt.run(async move {
                    let q = corio::sync::Queue::new(MPMC_CAPACITY);
                    let producers_left = Arc::new(AtomicUsize::new(PRODUCERS));
                    let received = Arc::new(AtomicUsize::new(0));
                    let done = Latch::new(CONSUMERS);
                    for p in 0..PRODUCERS {
                        let (q, left) = (q.clone(), producers_left.clone());
                        corio_spawn(async move {
                            for i in 0..per_producer {
                                q.put(p * per_producer + i).await.unwrap();
                            }
                            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                                q.shutdown(false);
                            }
                        });
                    }
                    for _ in 0..CONSUMERS {
                        let (q, received, done) = (q.clone(), received.clone(), done.clone());
                        corio_spawn(async move {
                            let mut n = 0;
                            while q.get().await.is_ok() {
                                n += 1;
                            }
                            received.fetch_add(n, Ordering::Relaxed);
                            done.count_down();
                        });
                    }
                    done.wait().await;
                    assert_eq!(received.load(Ordering::Relaxed), ITEMS);
                })
            })
        });
    }
    {
        let rt = Tokio(tokio_runtime());
        group.bench_function("tokio Mutex<VecDeque> + Notify", |b| {
            b.iter(|| {
                rt.run(async move {
                    let q = Arc::new(TokioMpmc {
                        items: tokio::sync::Mutex::new(VecDeque::new()),
                        not_empty: tokio::sync::Notify::new(),
                        not_full: tokio::sync::Notify::new(),
                        closed: AtomicBool::new(false),
                    });
                    let producers_left = Arc::new(AtomicUsize::new(PRODUCERS));
                    let received = Arc::new(AtomicUsize::new(0));
                    let done = Latch::new(CONSUMERS);
                    for p in 0..PRODUCERS {
                        let (q, left) = (q.clone(), producers_left.clone());
                        tokio_spawn(async move {
                            for i in 0..per_producer {
                                q.push(p * per_producer + i).await;
                            }
                            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                                q.close().await;
                            }
                        });
                    }
                    for _ in 0..CONSUMERS {
                        let (q, received, done) = (q.clone(), received.clone(), done.clone());
                        tokio_spawn(async move {
                            let mut n = 0;
                            while q.pop().await.is_some() {
                                n += 1;
                            }
                            received.fetch_add(n, Ordering::Relaxed);
                            done.count_down();
                        });
                    }
                    done.wait().await;
                    assert_eq!(received.load(Ordering::Relaxed), ITEMS);
                })
            })
        });
    }
    {
        let rt = Smol(SmolThreads::new());
        let ex = rt.0.executor().clone();
        group.bench_function("async-channel bounded(1024) on async-executor", |b| {
            b.iter(|| {
                let ex = ex.clone();
                rt.run(async move {
                    let (tx, rx) = async_channel::bounded(MPMC_CAPACITY);
                    let received = Arc::new(AtomicUsize::new(0));
                    let done = Latch::new(CONSUMERS);
                    for p in 0..PRODUCERS {
                        let tx = tx.clone();
                        ex.spawn(async move {
                            for i in 0..per_producer {
                                tx.send(p * per_producer + i).await.unwrap();
                            }
                        })
                        .detach();
                    }
                    drop(tx);
                    for _ in 0..CONSUMERS {
                        let (rx, received, done) = (rx.clone(), received.clone(), done.clone());
                        ex.spawn(async move {
                            let mut n = 0;
                            while rx.recv().await.is_ok() {
                                n += 1;
                            }
                            received.fetch_add(n, Ordering::Relaxed);
                            done.count_down();
                        })
                        .detach();
                    }
                    done.wait().await;
                    assert_eq!(received.load(Ordering::Relaxed), ITEMS);
                })
            })
        });
    }
    group.finish();
}

fn lock_contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock_contended");
    {
        let rt = Corio(CorioOwnThread::new());
        group.bench_function("corio Lock", |b| {
            b.iter(|| {
                rt.run(async {
                    let lock = Arc::new(corio::sync::Lock::new(0usize));
                    let done = Latch::new(LOCK_TASKS);
                    for _ in 0..LOCK_TASKS {
                        let (lock, done) = (lock.clone(), done.clone());
                        corio_spawn(async move {
                            for _ in 0..LOCK_ROUNDS {
                                *lock.acquire().await.unwrap() += 1;
                            }
                            done.count_down();
                        });
                    }
                    done.wait().await;
                    assert_eq!(*lock.acquire().await.unwrap(), LOCK_TASKS * LOCK_ROUNDS);
                })
            })
        });
    }
    {
        let rt = Tokio(tokio_runtime());
        group.bench_function("tokio Mutex", |b| {
            b.iter(|| {
                rt.run(async {
                    let lock = Arc::new(tokio::sync::Mutex::new(0usize));
                    let done = Latch::new(LOCK_TASKS);
                    for _ in 0..LOCK_TASKS {
                        let (lock, done) = (lock.clone(), done.clone());
                        tokio_spawn(async move {
                            for _ in 0..LOCK_ROUNDS {
                                *lock.lock().await += 1;
                            }
                            done.count_down();
                        });
                    }
                    done.wait().await;
                    assert_eq!(*lock.lock().await, LOCK_TASKS * LOCK_ROUNDS);
                })
            })
        });
    }
    {
        let rt = Smol(SmolThreads::new());
        let ex = rt.0.executor().clone();
        group.bench_function("async-lock Mutex on async-executor", |b| {
            b.iter(|| {
                let ex = ex.clone();
                rt.run(async move {
                    let lock = Arc::new(async_lock::Mutex::new(0usize));
                    let done = Latch::new(LOCK_TASKS);
                    for _ in 0..LOCK_TASKS {
                        let (lock, done) = (lock.clone(), done.clone());
                        ex.spawn(async move {
                            for _ in 0..LOCK_ROUNDS {
                                *lock.lock().await += 1;
                            }
                            done.count_down();
                        })
                        .detach();
                    }
                    done.wait().await;
                    assert_eq!(*lock.lock().await, LOCK_TASKS * LOCK_ROUNDS);
                })
            })
        });
    }
    group.finish();
}

fn lock_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock_uncontended");
    {
        let rt = Corio(CorioOwnThread::new());
        group.bench_function("corio Lock", |b| {
            b.iter(|| {
                rt.run(async {
                    let lock = corio::sync::Lock::new(0usize);
                    for _ in 0..UNCONTENDED {
                        *lock.acquire().await.unwrap() += 1;
                    }
                    lock.into_inner()
                })
            })
        });
    }
    {
        let rt = Tokio(tokio_runtime());
        group.bench_function("tokio Mutex", |b| {
            b.iter(|| {
                rt.run(async {
                    let lock = tokio::sync::Mutex::new(0usize);
                    for _ in 0..UNCONTENDED {
                        *lock.lock().await += 1;
                    }
                    lock.into_inner()
                })
            })
        });
    }
    {
        let rt = Smol(SmolThreads::new());
        group.bench_function("async-lock Mutex on async-executor", |b| {
            b.iter(|| {
                rt.run(async {
                    let lock = async_lock::Mutex::new(0usize);
                    for _ in 0..UNCONTENDED {
                        *lock.lock().await += 1;
                    }
                    lock.into_inner()
                })
            })
        });
    }
    group.finish();
}

fn semaphore_limit(c: &mut Criterion) {
    let mut group = c.benchmark_group("semaphore_limit");
    {
        let rt = Corio(CorioOwnThread::new());
        group.bench_function("corio Semaphore(64)", |b| {
            b.iter(|| {
                rt.run(async {
                    let sem = Arc::new(corio::sync::Semaphore::new(SEM_PERMITS));
                    let done = Latch::new(SEM_TASKS);
                    for _ in 0..SEM_TASKS {
                        let (sem, done) = (sem.clone(), done.clone());
                        corio_spawn(async move {
                            let _permit = sem.acquire().await.unwrap();
                            corio::yield_now().await.unwrap();
                            drop(_permit);
                            done.count_down();
                        });
                    }
                    done.wait().await;
                })
            })
        });
    }
    {
        let rt = Tokio(tokio_runtime());
        group.bench_function("tokio Semaphore(64)", |b| {
            b.iter(|| {
                rt.run(async {
                    let sem = Arc::new(tokio::sync::Semaphore::new(SEM_PERMITS));
                    let done = Latch::new(SEM_TASKS);
                    for _ in 0..SEM_TASKS {
                        let (sem, done) = (sem.clone(), done.clone());
                        tokio_spawn(async move {
                            let _permit = sem.acquire().await.unwrap();
                            tokio::task::yield_now().await;
                            drop(_permit);
                            done.count_down();
                        });
                    }
                    done.wait().await;
                })
            })
        });
    }
    {
        let rt = Smol(SmolThreads::new());
        let ex = rt.0.executor().clone();
        group.bench_function("async-lock Semaphore(64) on async-executor", |b| {
            b.iter(|| {
                let ex = ex.clone();
                rt.run(async move {
                    let sem = Arc::new(async_lock::Semaphore::new(SEM_PERMITS));
                    let done = Latch::new(SEM_TASKS);
                    for _ in 0..SEM_TASKS {
                        let (sem, done) = (sem.clone(), done.clone());
                        ex.spawn(async move {
                            let _permit = sem.acquire().await;
                            corio_benches::PlainYield::new().await;
                            drop(_permit);
                            done.count_down();
                        })
                        .detach();
                    }
                    done.wait().await;
                })
            })
        });
    }
    group.finish();
}

fn event_fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_fan_out");
    {
        let rt = Corio(CorioOwnThread::new());
        group.bench_function("corio Event::set", |b| {
            b.iter(|| {
                rt.run(async {
                    let ev = Arc::new(corio::sync::Event::new());
                    let waiting = Latch::new(FAN_OUT);
                    let done = Latch::new(FAN_OUT);
                    for _ in 0..FAN_OUT {
                        let (ev, waiting, done) = (ev.clone(), waiting.clone(), done.clone());
                        corio_spawn(async move {
                            let mut wait = pin!(ev.wait());
                            // Get in line, then say so.
                            let first = std::future::poll_fn(|cx| {
                                Poll::Ready(wait.as_mut().poll(cx).is_ready())
                            })
                            .await;
                            waiting.count_down();
                            if !first {
                                wait.await.unwrap();
                            }
                            done.count_down();
                        });
                    }
                    waiting.wait().await;
                    ev.set();
                    done.wait().await;
                })
            })
        });
    }
    {
        let rt = Tokio(tokio_runtime());
        group.bench_function("tokio Notify::notify_waiters", |b| {
            b.iter(|| {
                rt.run(async {
                    let notify = Arc::new(tokio::sync::Notify::new());
                    let waiting = Latch::new(FAN_OUT);
                    let done = Latch::new(FAN_OUT);
                    for _ in 0..FAN_OUT {
                        let (notify, waiting, done) =
                            (notify.clone(), waiting.clone(), done.clone());
                        tokio_spawn(async move {
                            let mut notified = pin!(notify.notified());
                            notified.as_mut().enable();
                            waiting.count_down();
                            notified.await;
                            done.count_down();
                        });
                    }
                    waiting.wait().await;
                    notify.notify_waiters();
                    done.wait().await;
                })
            })
        });
    }
    {
        let rt = Smol(SmolThreads::new());
        let ex = rt.0.executor().clone();
        group.bench_function("event-listener Event::notify on async-executor", |b| {
            b.iter(|| {
                let ex = ex.clone();
                rt.run(async move {
                    let event = Arc::new(event_listener::Event::new());
                    let waiting = Latch::new(FAN_OUT);
                    let done = Latch::new(FAN_OUT);
                    for _ in 0..FAN_OUT {
                        let (event, waiting, done) = (event.clone(), waiting.clone(), done.clone());
                        ex.spawn(async move {
                            let listener = event.listen();
                            waiting.count_down();
                            listener.await;
                            done.count_down();
                        })
                        .detach();
                    }
                    waiting.wait().await;
                    event.notify(usize::MAX);
                    done.wait().await;
                })
            })
        });
    }
    group.finish();
}

fn main() {
    let mut c = criterion(Duration::from_secs(3));
    queue_ping_pong(&mut c);
    queue_mpmc(&mut c);
    lock_contended(&mut c);
    lock_uncontended(&mut c);
    semaphore_limit(&mut c);
    event_fan_out(&mut c);
    c.final_summary();
}
