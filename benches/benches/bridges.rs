//! The bridges between threads, corio against tokio, same worker count:
//!
//! * `blocking_bridge_seq/*`: 10 000 trivial `corio::to_thread` calls
//!   awaited one by one, vs `tokio::task::spawn_blocking`;
//! * `blocking_bridge_concurrent/*`: the same 10 000 submitted at once,
//!   then awaited in turn;
//! * `external_submit/*`: a plain thread submits 10 000 trivial futures one
//!   by one and blocks on each result: `corio::run_coroutine_threadsafe` +
//!   `ConcurrentFuture::result`, vs `Handle::spawn` + `Handle::block_on` of
//!   the join handle.
//!
//! The smol arms: `blocking::unblock` for the blocking bridge, and
//! `Executor::spawn` + `async_io::block_on` of the task for the external
//! submit.
//!
//! Default pools on every side (corio: min(32, cores + 4) blocking
//! threads; tokio: 512; `blocking`: 500). Each runtime has two worker
//! threads of its own (smol: two threads running the executor inside
//! `async_io::block_on`, `SmolThreads`); the async side runs as a task and
//! the benchmark's thread, a worker of none, waits on a channel
//! (`spawn_and_wait`), or is the submitting thread. See
//! `docs/benchmarks.md`.

use std::time::Duration;

use corio_benches::{criterion, spawn_and_wait, tokio_runtime, CorioOwnThread, SmolThreads};
use criterion::Criterion;

/// Calls per iteration.
const CALLS: u64 = 10_000;

fn bridges(c: &mut Criterion) {
    let corio_rt = CorioOwnThread::new();
    let tokio_rt = tokio_runtime();
    let smol_rt = SmolThreads::new();
    let smol_ex = smol_rt.executor().clone();

    let mut group = c.benchmark_group("blocking_bridge_seq");
    group.bench_function("corio", |b| {
        b.iter(|| {
            spawn_and_wait(
                async {
                    let mut sum = 0;
                    for i in 0..CALLS {
                        sum += corio::to_thread(move || i).await.unwrap();
                    }
                    assert_eq!(sum, CALLS * (CALLS - 1) / 2);
                },
                |f| drop(corio_rt.handle().spawn(f)),
            )
        })
    });
    group.bench_function("tokio", |b| {
        b.iter(|| {
            spawn_and_wait(
                async {
                    let mut sum = 0;
                    for i in 0..CALLS {
                        sum += tokio::task::spawn_blocking(move || i).await.unwrap();
                    }
                    assert_eq!(sum, CALLS * (CALLS - 1) / 2);
                },
                |f| drop(tokio_rt.spawn(f)),
            )
        })
    });
    group.bench_function("smol", |b| {
        b.iter(|| {
            spawn_and_wait(
                async {
                    let mut sum = 0;
                    for i in 0..CALLS {
                        sum += blocking::unblock(move || i).await;
                    }
                    assert_eq!(sum, CALLS * (CALLS - 1) / 2);
                },
                |f| smol_ex.spawn(f).detach(),
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("blocking_bridge_concurrent");
    group.bench_function("corio", |b| {
        b.iter(|| {
            spawn_and_wait(
                async {
                    let jobs: Vec<_> = (0..CALLS).map(|i| corio::to_thread(move || i)).collect();
                    let mut sum = 0;
                    for j in jobs {
                        sum += j.await.unwrap();
                    }
                    assert_eq!(sum, CALLS * (CALLS - 1) / 2);
                },
                |f| drop(corio_rt.handle().spawn(f)),
            )
        })
    });
    group.bench_function("tokio", |b| {
        b.iter(|| {
            spawn_and_wait(
                async {
                    let jobs: Vec<_> = (0..CALLS)
                        .map(|i| tokio::task::spawn_blocking(move || i))
                        .collect();
                    let mut sum = 0;
                    for j in jobs {
                        sum += j.await.unwrap();
                    }
                    assert_eq!(sum, CALLS * (CALLS - 1) / 2);
                },
                |f| drop(tokio_rt.spawn(f)),
            )
        })
    });
    group.bench_function("smol", |b| {
        b.iter(|| {
            spawn_and_wait(
                async {
                    let jobs: Vec<_> = (0..CALLS).map(|i| blocking::unblock(move || i)).collect();
                    let mut sum = 0;
                    for j in jobs {
                        sum += j.await;
                    }
                    assert_eq!(sum, CALLS * (CALLS - 1) / 2);
                },
                |f| smol_ex.spawn(f).detach(),
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("external_submit");
    let handle = corio_rt.handle().clone();
    group.bench_function("corio", |b| {
        b.iter(|| {
            let mut sum = 0;
            for i in 0..CALLS {
                let fut = corio::run_coroutine_threadsafe(async move { i }, &handle);
                sum += fut.result(None).unwrap();
            }
            assert_eq!(sum, CALLS * (CALLS - 1) / 2);
        })
    });
    let handle = tokio_rt.handle().clone();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            let mut sum = 0;
            for i in 0..CALLS {
                let task = handle.spawn(async move { i });
                sum += handle.block_on(task).unwrap();
            }
            assert_eq!(sum, CALLS * (CALLS - 1) / 2);
        })
    });
    group.bench_function("smol", |b| {
        b.iter(|| {
            let mut sum = 0;
            for i in 0..CALLS {
                let task = smol_ex.spawn(async move { i });
                sum += async_io::block_on(task);
            }
            assert_eq!(sum, CALLS * (CALLS - 1) / 2);
        })
    });
    group.finish();
}

// What `criterion_group!` + `criterion_main!` expand to, minus the
// undocumented `pub fn` the former generates.
fn main() {
    let mut c = criterion(Duration::from_secs(5));
    bridges(&mut c);
    c.final_summary();
}
