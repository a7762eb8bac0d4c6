//! A worker with `!Send` tasks of its own (the main task of `run`, or
//! `spawn_local` tasks) is never taken by a long poll of a stealable task
//! while another worker idles: the tasks pinned to it run on time.
//!
//! Each test keeps one core busy for 600 ms; they run one at a time (a lock)
//! so that the machine has a core left for the worker under test.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{rt, HOUR, MS};

/// How long the busy task computes without awaiting.
const BUSY: Duration = Duration::from_millis(600);
/// Well under `BUSY`: a pinned task that waited for the busy one misses it.
const ON_TIME: Duration = Duration::from_millis(300);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Computes for `BUSY` without awaiting (or until `stop` is set).
fn spin(stop: &AtomicBool) {
    let start = Instant::now();
    while start.elapsed() < BUSY && !stop.load(Ordering::Relaxed) {
        std::hint::spin_loop();
    }
}

#[test]
fn the_main_task_wakes_on_time_while_a_task_it_spawned_computes() {
    let _one = serial();
    let (woke_after, total) = rt(2).run(async {
        let start = Instant::now();
        let busy = corio::spawn(async {
            spin(&AtomicBool::new(false));
        });
        corio::sleep(20 * MS).await.unwrap();
        let woke_after = start.elapsed();
        busy.await.unwrap();
        (woke_after, start.elapsed())
    });
    assert!(
        woke_after < ON_TIME,
        "main slept 20 ms and woke after {woke_after:?}: it waited for the busy task"
    );
    assert!(total >= BUSY, "the busy task ran in full ({total:?})");
}

#[test]
fn the_main_task_cancels_a_spinning_child_before_it_finishes() {
    let _one = serial();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let (cancelled_at, outcome) = rt(2).run(async move {
        let start = Instant::now();
        let child = corio::spawn(async move {
            spin(&s);
            // The cancellation is delivered at the first await after the spin.
            corio::sleep(HOUR).await
        });
        corio::sleep(20 * MS).await.unwrap();
        assert!(child.cancel(), "the child is still running");
        let cancelled_at = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        (cancelled_at, child.await)
    });
    assert!(
        cancelled_at < ON_TIME,
        "cancel() was called only after {cancelled_at:?}"
    );
    assert!(
        outcome.as_ref().is_err_and(|e| e.is_cancelled()),
        "{outcome:?}"
    );
}

#[test]
fn a_spawn_local_task_wakes_on_time_beside_a_busy_stealable_task() {
    let _one = serial();
    let woke_after = rt(2).run(async {
        // Pinned to this worker, as main is; it starts the busy task itself.
        let local = corio::spawn_local(async {
            let start = Instant::now();
            let busy = corio::spawn(async { spin(&AtomicBool::new(false)) });
            corio::sleep(20 * MS).await.unwrap();
            (start.elapsed(), busy)
        });
        let (woke_after, busy) = local.await.unwrap();
        busy.await.unwrap();
        woke_after
    });
    assert!(
        woke_after < ON_TIME,
        "the local task woke after {woke_after:?}"
    );
}

#[test]
fn a_spawn_local_task_on_another_worker_wakes_on_time_beside_a_busy_task() {
    let _one = serial();
    // Three workers: whichever one the spawning task runs on, a worker with
    // no pinned task is idle to take the busy task.
    let woke_after = rt(3).run(async {
        corio::spawn(async {
            let local = corio::spawn_local(async {
                let start = Instant::now();
                corio::sleep(20 * MS).await.unwrap();
                start.elapsed()
            });
            let busy = corio::spawn(async { spin(&AtomicBool::new(false)) });
            let woke_after = local.await.unwrap();
            busy.await.unwrap();
            woke_after
        })
        .await
        .unwrap()
    });
    assert!(
        woke_after < ON_TIME,
        "the local task woke after {woke_after:?}"
    );
}

#[test]
fn with_every_worker_busy_a_pinned_worker_still_runs_stealable_tasks() {
    let _one = serial();
    // Two workers, four tasks of 100 ms each and no idle worker: the main
    // task's worker takes its share, so they take about 200 ms, not 400.
    let took = rt(2).run(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                corio::spawn(async {
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_millis(100) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    });
    assert!(took < Duration::from_millis(350), "took {took:?}");
}
