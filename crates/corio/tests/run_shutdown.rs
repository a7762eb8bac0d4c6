//! `corio::run` / `Runtime::shutdown`: when main returns, the remaining
//! tasks are cancelled, given a grace period to clean up, and the rest are
//! aborted and named.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corio::Runtime;

const HOUR: Duration = Duration::from_secs(3600);
const MS: Duration = Duration::from_millis(1);

/// Sets its flag when dropped: shows that a task's future was dropped.
struct OnDrop(Arc<AtomicBool>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn when_main_returns_every_remaining_task_is_cancelled_and_may_clean_up_with_awaits() {
    let cleaned = Arc::new(AtomicUsize::new(0));
    let c = cleaned.clone();
    let start = Instant::now();
    corio::run(async move {
        for _ in 0..10 {
            let c = c.clone();
            drop(corio::spawn(async move {
                if corio::sleep(HOUR).await.is_err() {
                    corio::sleep(10 * MS).await.unwrap();
                    c.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        corio::sleep(5 * MS).await.unwrap();
    });
    assert_eq!(cleaned.load(Ordering::SeqCst), 10);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "run waited for the grace period"
    );
}

#[test]
fn tasks_still_running_after_the_grace_period_are_aborted_and_named() {
    let reports: Arc<Mutex<Vec<String>>> = Arc::default();
    let r = reports.clone();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let rt = Runtime::builder()
        .workers(2)
        .shutdown_grace(50 * MS)
        .exception_handler(move |cx| r.lock().unwrap().push(cx.message().to_owned()))
        .build()
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    rt.run(async move {
        let stubborn = corio::task::Builder::new()
            .name("stubborn")
            .spawn(async move {
                let _guard = OnDrop(d);
                s.store(true, Ordering::SeqCst);
                loop {
                    // Refuses every cancellation.
                    if let Err(c) = corio::sleep(HOUR).await {
                        c.suppress();
                    }
                }
            });
        drop(stubborn);
        drop(corio::spawn(async {
            let _ = corio::sleep(HOUR).await; // lets it through: ends at once
        }));
        // It may start on the other worker: wait until it has.
        while !started.load(Ordering::SeqCst) {
            corio::yield_now().await.unwrap();
        }
    });
    let start = Instant::now();
    rt.shutdown();
    let took = start.elapsed();
    assert!(took >= 50 * MS, "the grace period was cut short: {took:?}");
    assert!(took < Duration::from_secs(5), "shutdown hung: {took:?}");
    assert!(
        dropped.load(Ordering::SeqCst),
        "the stubborn task was not aborted"
    );
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("1 task(s)"), "{}", reports[0]);
    assert!(reports[0].contains("stubborn"), "{}", reports[0]);
}

#[test]
fn shutdown_also_cancels_tasks_spawned_during_it() {
    let second = Arc::new(AtomicBool::new(false));
    let s = second.clone();
    let rt = Runtime::builder().workers(1).build().unwrap();
    rt.run(async move {
        drop(corio::spawn(async move {
            if corio::sleep(HOUR).await.is_err() {
                // Cleanup spawns another task, which is cancelled as well.
                drop(corio::spawn(async move {
                    s.store(corio::sleep(HOUR).await.is_err(), Ordering::SeqCst);
                }));
            }
        }));
        corio::yield_now().await.unwrap();
    });
    let start = Instant::now();
    rt.shutdown();
    assert!(second.load(Ordering::SeqCst));
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[test]
fn dropping_a_runtime_aborts_its_tasks_at_once() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    rt.run(async move {
        drop(corio::spawn(async move {
            let _g = OnDrop(d);
            s.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await // ignores cancellation
        }));
        // It may start on the other worker: wait until it has.
        while !started.load(Ordering::SeqCst) {
            corio::yield_now().await.unwrap();
        }
    });
    let start = Instant::now();
    drop(rt);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(dropped.load(Ordering::SeqCst));
}
