//! asyncio's task layer against tokio's equivalents, same worker count:
//!
//! * `gather_10k/corio`: `corio::gather` of 10 000 trivial futures (each
//!   spawned as a task), outputs collected in input order;
//! * `gather_10k/tokio_joinset`: 10 000 tasks spawned into a
//!   `tokio::task::JoinSet`, drained with `join_next` (completion order);
//! * `gather_10k/tokio_handles`: 10 000 `tokio::spawn` handles awaited in
//!   turn;
//! * `gather_10k/tokio_join_all`: `futures::future::join_all` of 10 000
//!   `tokio::spawn` handles;
//! * `task_group_10k/corio`: a `corio::TaskGroup` whose body spawns 10 000
//!   trivial children, then leaves (waits for all of them);
//! * `task_group_10k/tokio_joinset`: 10 000 tasks spawned into a `JoinSet`,
//!   drained with `join_next`;
//! * `gather_10k/smol_handles`, `task_group_10k/smol_handles`: the same
//!   work on async-executor ("smol": no gather or task group there): 10 000
//!   `Executor::spawn` handles awaited in turn.
//!
//! Each runtime has two worker threads of its own (smol: two threads
//! running the executor inside `async_io::block_on`, `SmolThreads`); the
//! benchmark's thread is a worker of none: the workload runs as a task and
//! the thread waits on a channel (`spawn_and_wait`).
//! See `docs/benchmarks.md`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio_benches::{criterion, spawn_and_wait, tokio_runtime, CorioOwnThread, SmolThreads};
use criterion::Criterion;

/// Tasks per gather.
const TASKS: u64 = 10_000;

fn tasklayer(c: &mut Criterion) {
    let mut group = c.benchmark_group("gather_10k");
    {
        let rt = CorioOwnThread::new();
        group.bench_function("corio", |b| {
            b.iter(|| {
                let sum: u64 = spawn_and_wait(
                    async {
                        corio::gather((0..TASKS).map(|i| async move { i }))
                            .await
                            .unwrap()
                            .into_iter()
                            .sum()
                    },
                    |f| drop(rt.handle().spawn(f)),
                );
                assert_eq!(sum, TASKS * (TASKS - 1) / 2);
            })
        });
    }
    {
        let rt = tokio_runtime();
        group.bench_function("tokio_joinset", |b| {
            b.iter(|| {
                let sum: u64 = spawn_and_wait(
                    async {
                        let mut set = tokio::task::JoinSet::new();
                        for i in 0..TASKS {
                            set.spawn(async move { i });
                        }
                        let mut sum = 0;
                        while let Some(r) = set.join_next().await {
                            sum += r.unwrap();
                        }
                        sum
                    },
                    |f| drop(rt.spawn(f)),
                );
                assert_eq!(sum, TASKS * (TASKS - 1) / 2);
            })
        });
        group.bench_function("tokio_join_all", |b| {
            b.iter(|| {
                let sum: u64 = spawn_and_wait(
                    async {
                        let handles: Vec<_> =
                            (0..TASKS).map(|i| tokio::spawn(async move { i })).collect();
                        futures_util::future::join_all(handles)
                            .await
                            .into_iter()
                            .map(Result::unwrap)
                            .sum()
                    },
                    |f| drop(rt.spawn(f)),
                );
                assert_eq!(sum, TASKS * (TASKS - 1) / 2);
            })
        });
        group.bench_function("tokio_handles", |b| {
            b.iter(|| {
                let sum: u64 = spawn_and_wait(
                    async {
                        let handles: Vec<_> =
                            (0..TASKS).map(|i| tokio::spawn(async move { i })).collect();
                        let mut sum = 0;
                        for h in handles {
                            sum += h.await.unwrap();
                        }
                        sum
                    },
                    |f| drop(rt.spawn(f)),
                );
                assert_eq!(sum, TASKS * (TASKS - 1) / 2);
            })
        });
    }
    {
        let rt = SmolThreads::new();
        let ex = rt.executor().clone();
        group.bench_function("smol_handles", |b| {
            b.iter(|| {
                let spawner = ex.clone();
                let sum: u64 = spawn_and_wait(
                    async move {
                        let handles: Vec<_> = (0..TASKS)
                            .map(|i| spawner.spawn(async move { i }))
                            .collect();
                        let mut sum = 0;
                        for h in handles {
                            sum += h.await;
                        }
                        sum
                    },
                    |f| ex.spawn(f).detach(),
                );
                assert_eq!(sum, TASKS * (TASKS - 1) / 2);
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("task_group_10k");
    {
        let rt = CorioOwnThread::new();
        group.bench_function("corio", |b| {
            b.iter(|| {
                let n: u64 = spawn_and_wait(
                    async {
                        let done = Arc::new(AtomicU64::new(0));
                        let d = done.clone();
                        corio::TaskGroup::<()>::run(|tg| async move {
                            for i in 0..TASKS {
                                let d = d.clone();
                                drop(tg.spawn(async move {
                                    d.fetch_add(i, Ordering::Relaxed);
                                }));
                            }
                        })
                        .await
                        .unwrap();
                        done.load(Ordering::Relaxed)
                    },
                    |f| drop(rt.handle().spawn(f)),
                );
                assert_eq!(n, TASKS * (TASKS - 1) / 2);
            })
        });
    }
    {
        let rt = tokio_runtime();
        group.bench_function("tokio_joinset", |b| {
            b.iter(|| {
                let n: u64 = spawn_and_wait(
                    async {
                        let done = Arc::new(AtomicU64::new(0));
                        let mut set = tokio::task::JoinSet::new();
                        for i in 0..TASKS {
                            let d = done.clone();
                            set.spawn(async move {
                                d.fetch_add(i, Ordering::Relaxed);
                            });
                        }
                        while let Some(r) = set.join_next().await {
                            r.unwrap();
                        }
                        done.load(Ordering::Relaxed)
                    },
                    |f| drop(rt.spawn(f)),
                );
                assert_eq!(n, TASKS * (TASKS - 1) / 2);
            })
        });
    }
    {
        let rt = SmolThreads::new();
        let ex = rt.executor().clone();
        group.bench_function("smol_handles", |b| {
            b.iter(|| {
                let spawner = ex.clone();
                let n: u64 = spawn_and_wait(
                    async move {
                        let done = Arc::new(AtomicU64::new(0));
                        let handles: Vec<_> = (0..TASKS)
                            .map(|i| {
                                let d = done.clone();
                                spawner.spawn(async move {
                                    d.fetch_add(i, Ordering::Relaxed);
                                })
                            })
                            .collect();
                        for h in handles {
                            h.await;
                        }
                        done.load(Ordering::Relaxed)
                    },
                    |f| ex.spawn(f).detach(),
                );
                assert_eq!(n, TASKS * (TASKS - 1) / 2);
            })
        });
    }
    group.finish();
}

// What `criterion_group!` + `criterion_main!` expand to, minus the
// undocumented `pub fn` the former generates.
fn main() {
    let mut c = criterion(Duration::from_secs(3));
    tasklayer(&mut c);
    c.final_summary();
}
