//! to_thread and the blocking pool.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::rt;
use corio::{Runtime, TaskError};

#[test]
fn a_thousand_concurrent_calls_overlap_and_the_pool_never_exceeds_its_cap() {
    const CAP: usize = 8;
    let rt = Runtime::builder()
        .workers(2)
        .max_blocking_threads(CAP)
        .build()
        .unwrap();
    let metrics = rt.handle().metrics();
    let active = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads_seen = Arc::new(AtomicUsize::new(0));
    let (a, m, t) = (active.clone(), most.clone(), threads_seen.clone());
    let sum: usize = rt.run(async move {
        let jobs: Vec<_> = (0..1000)
            .map(|i| {
                let (a, m, t) = (a.clone(), m.clone(), t.clone());
                let metrics = metrics.clone();
                corio::to_thread(move || {
                    let now = a.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(now, Ordering::SeqCst);
                    t.fetch_max(metrics.blocking_threads(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_micros(200));
                    a.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for j in jobs {
            sum += j.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..1000).sum());
    let most = most.load(Ordering::SeqCst);
    assert!(most > 1, "the calls never overlapped");
    assert!(most <= CAP, "{most} jobs ran at once with a cap of {CAP}");
    assert!(threads_seen.load(Ordering::SeqCst) <= CAP);
}

#[test]
fn idle_pool_threads_retire_after_the_keep_alive() {
    let rt = Runtime::builder()
        .workers(1)
        .max_blocking_threads(4)
        .blocking_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    let metrics = rt.handle().metrics();
    rt.run(async {
        let jobs: Vec<_> = (0..4)
            .map(|_| corio::to_thread(|| std::thread::sleep(Duration::from_millis(30))))
            .collect();
        for j in jobs {
            j.await.unwrap();
        }
    });
    assert!(
        metrics.blocking_threads() >= 2,
        "the jobs did not get threads of their own"
    );
    let start = Instant::now();
    while metrics.blocking_threads() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{} idle threads never retired",
            metrics.blocking_threads()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn blocking_in_to_thread_never_stalls_other_tasks() {
    let rt = rt(1);
    let ticks = rt.run(async {
        let ticker = corio::spawn(async {
            let mut n = 0;
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(250) {
                corio::sleep(Duration::from_millis(10)).await.unwrap();
                n += 1;
            }
            n
        });
        corio::to_thread(|| std::thread::sleep(Duration::from_millis(300)))
            .await
            .unwrap();
        ticker.await.unwrap()
    });
    assert!(
        ticks >= 10,
        "the ticker ran {ticks} times while a job blocked"
    );
}

#[test]
fn a_panic_in_the_closure_comes_back_with_its_message() {
    let rt = rt(1);
    let err = rt.run(async {
        corio::to_thread(|| -> u8 { panic!("disk on fire") })
            .await
            .unwrap_err()
    });
    let TaskError::Panicked { message, .. } = err else {
        panic!("not a panic")
    };
    assert_eq!(message, "disk on fire");
}

#[test]
fn context_variables_travel_into_the_closure() {
    static USER: corio::ContextVar<&'static str> = corio::ContextVar::new("user");
    let rt = rt(1);
    let seen = rt.run(async {
        let _t = USER.set("ada");
        corio::to_thread(|| USER.get()).await.unwrap()
    });
    assert_eq!(seen, Some("ada"));
    // The pool thread's own context is back to empty afterwards.
    let after = rt.run(async { corio::to_thread(|| USER.get()).await.unwrap() });
    assert_eq!(after, None);
}

#[test]
fn cancelling_the_awaiter_removes_a_queued_job_which_never_runs() {
    let rt = Runtime::builder()
        .workers(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    rt.run(async move {
        // The only pool thread is busy for 200 ms.
        let first = corio::to_thread(|| std::thread::sleep(Duration::from_millis(200)));
        let waiter =
            corio::spawn(
                async move { corio::to_thread(move || r.store(true, Ordering::SeqCst)).await },
            );
        corio::sleep(Duration::from_millis(20)).await.unwrap();
        let start = Instant::now();
        waiter.cancel();
        let out = waiter.await;
        assert!(
            start.elapsed() < Duration::from_millis(150),
            "cancel waited for the job"
        );
        assert!(out.unwrap_err().is_cancelled());
        first.await.unwrap();
        // Give a wrongly kept job the time to run.
        corio::sleep(Duration::from_millis(50)).await.unwrap();
    });
    assert!(!ran.load(Ordering::SeqCst), "the cancelled queued job ran");
}

/// Counts drops: the result of an abandoned job must be dropped.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_started_job_runs_to_completion_after_cancel_and_its_result_is_dropped() {
    let rt = rt(1);
    let finished = Arc::new(AtomicBool::new(false));
    let drops = Arc::new(AtomicUsize::new(0));
    let (f, d) = (finished.clone(), drops.clone());
    rt.run(async move {
        let started = Arc::new(AtomicBool::new(false));
        let s = started.clone();
        let waiter = corio::spawn(async move {
            corio::to_thread(move || {
                s.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                f.store(true, Ordering::SeqCst);
                Counted(d)
            })
            .await
            .map(drop)
        });
        while !started.load(Ordering::SeqCst) {
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        }
        waiter.cancel();
        let start = Instant::now();
        assert!(waiter.await.unwrap_err().is_cancelled());
        assert!(
            start.elapsed() < Duration::from_millis(80),
            "cancel waited for the job"
        );
    });
    let start = Instant::now();
    while drops.load(Ordering::SeqCst) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the result was never dropped"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        finished.load(Ordering::SeqCst),
        "the started job did not run to completion"
    );
}

#[test]
fn shutdown_waits_for_running_jobs_within_the_grace_and_drops_queued_ones() {
    let reports = Arc::new(Mutex::new(Vec::<String>::new()));
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(1)
        .max_blocking_threads(1)
        .shutdown_grace(Duration::from_millis(500))
        .exception_handler(move |cx| r.lock().unwrap().push(cx.message().to_owned()))
        .build()
        .unwrap();
    let finished = Arc::new(AtomicBool::new(false));
    let queued_ran = Arc::new(AtomicBool::new(false));
    let (f, q) = (finished.clone(), queued_ran.clone());
    let h = rt.handle();
    // Submitted from outside any task and not awaited (dropping a
    // `ToThread` would give its job up): only shutdown decides their fate.
    let running = h.spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(100));
        f.store(true, Ordering::SeqCst);
    });
    std::thread::sleep(Duration::from_millis(20)); // the first one starts
    let queued = h.spawn_blocking(move || q.store(true, Ordering::SeqCst));
    rt.shutdown();
    drop((running, queued));
    assert!(
        finished.load(Ordering::SeqCst),
        "shutdown did not wait for the running job"
    );
    assert!(
        !queued_ran.load(Ordering::SeqCst),
        "a queued job ran during shutdown"
    );
    assert!(
        reports.lock().unwrap().is_empty(),
        "{:?}",
        reports.lock().unwrap()
    );
}

#[test]
fn a_job_still_running_after_the_grace_is_left_behind_and_reported() {
    let reports = Arc::new(Mutex::new(Vec::<String>::new()));
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(1)
        .shutdown_grace(Duration::from_millis(50))
        .exception_handler(move |cx| r.lock().unwrap().push(cx.message().to_owned()))
        .build()
        .unwrap();
    let job = rt
        .handle()
        .spawn_blocking(|| std::thread::sleep(Duration::from_millis(1500)));
    std::thread::sleep(Duration::from_millis(10));
    let start = Instant::now();
    drop(job);
    rt.shutdown();
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "shutdown waited past the grace"
    );
    let reports = reports.lock().unwrap();
    assert!(
        reports
            .iter()
            .any(|l| l.contains("to_thread job(s) still running")),
        "{reports:?}"
    );
}

#[test]
#[should_panic(expected = "no running event loop")]
fn to_thread_outside_a_runtime_panics_naming_the_mistake() {
    drop(corio::to_thread(|| ()));
}
