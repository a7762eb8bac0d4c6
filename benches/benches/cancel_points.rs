//! What a cancellation point costs when no request is pending.
//!
//! Every corio awaitable first checks for a cancellation request to
//! deliver. These benchmarks run one task that awaits `LOOP` times in a
//! row, on corio and on tokio (same worker count), and, as an in-process
//! control, on corio with a hand-written yield that skips the check:
//!
//! * `yield_loop/corio`: `corio::yield_now()` (checks);
//! * `yield_loop/corio_unchecked`: a wake-then-`Pending` future, the same
//!   scheduling without the check;
//! * `yield_loop/tokio`: `tokio::task::yield_now()`;
//! * `sleep_zero_loop/corio`: `corio::sleep(Duration::ZERO)` (always yields
//!   once, like asyncio's `sleep(0)`, and checks);
//! * `sleep_zero_loop/tokio`: `tokio::task::yield_now()`, tokio's nearest
//!   equivalent: its `sleep(Duration::ZERO)` goes through the timer and
//!   waits for the next millisecond tick (about 1 ms each), which would
//!   measure the tick, not the await.
//!
//! Each runtime has two worker threads of its own; the loop runs as an
//! ordinary task and the benchmark's thread, a worker of neither, waits on
//! a channel (`spawn_and_wait`). See `docs/benchmarks.md`.

use std::future::Future;
use std::time::Duration;

use corio_benches::{criterion, spawn_and_wait, tokio_runtime, CorioOwnThread, PlainYield};
use criterion::Criterion;

/// Awaits per iteration.
const LOOP: usize = 100_000;

/// Runs `body` as a task on corio and waits for it.
fn on_corio<F: Future<Output = ()> + Send + 'static>(rt: &CorioOwnThread, body: F) {
    spawn_and_wait(body, |f| drop(rt.handle().spawn(f)))
}

/// Runs `body` as a task on tokio and waits for it.
fn on_tokio<F: Future<Output = ()> + Send + 'static>(rt: &tokio::runtime::Runtime, body: F) {
    spawn_and_wait(body, |f| drop(rt.spawn(f)))
}

/// `LOOP` awaits of tokio's `yield_now`: the tokio side of both groups.
async fn tokio_yields() {
    for _ in 0..LOOP {
        tokio::task::yield_now().await;
    }
}

fn cancel_points(c: &mut Criterion) {
    let corio = CorioOwnThread::new();
    let tokio = tokio_runtime();

    let mut group = c.benchmark_group("yield_loop");
    group.bench_function("corio", |b| {
        b.iter(|| {
            on_corio(&corio, async {
                for _ in 0..LOOP {
                    corio::yield_now().await.unwrap();
                }
            })
        })
    });
    group.bench_function("corio_unchecked", |b| {
        b.iter(|| {
            on_corio(&corio, async {
                for _ in 0..LOOP {
                    PlainYield::new().await;
                }
            })
        })
    });
    group.bench_function("tokio", |b| b.iter(|| on_tokio(&tokio, tokio_yields())));
    group.finish();

    let mut group = c.benchmark_group("sleep_zero_loop");
    group.bench_function("corio", |b| {
        b.iter(|| {
            on_corio(&corio, async {
                for _ in 0..LOOP {
                    corio::sleep(Duration::ZERO).await.unwrap();
                }
            })
        })
    });
    group.bench_function("tokio", |b| b.iter(|| on_tokio(&tokio, tokio_yields())));
    group.finish();
}

// What `criterion_group!` + `criterion_main!` expand to, minus the
// undocumented `pub fn` the former generates.
fn main() {
    let mut c = criterion(Duration::from_secs(3));
    cancel_points(&mut c);
    c.final_summary();
}
