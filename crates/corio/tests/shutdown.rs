//! Shutdown: nothing leaks, nothing crashes, when other threads keep
//! spawning and waking while the runtime goes away.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use corio::Runtime;

#[test]
fn spawning_from_another_thread_during_shutdown_neither_crashes_nor_leaks() {
    for _ in 0..20 {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let handle = rt.handle();
        let metrics = handle.metrics();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let spawner = std::thread::spawn(move || {
            let mut n = 0;
            while !s.load(Ordering::Relaxed) {
                drop(handle.spawn(async {
                    let _ = corio::yield_now().await;
                }));
                n += 1;
            }
            (handle, n)
        });
        rt.run(async {
            for _ in 0..50 {
                let _ = corio::yield_now().await;
            }
        });
        drop(rt);
        stop.store(true, Ordering::Relaxed);
        let (handle, _spawned) = spawner.join().unwrap();
        // After shutdown a spawn still returns a task, which ends cancelled.
        let late = handle.spawn(async { 1 });
        assert!(late.done());
        drop(late);
        drop(handle);
        assert_eq!(metrics.live_tasks(), 0);
    }
}

#[test]
fn wakers_kept_by_other_threads_are_harmless_after_shutdown() {
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let metrics = rt.handle().metrics();
    let w = wakers.clone();
    rt.run(async move {
        for _ in 0..100 {
            let w = w.clone();
            drop(corio::spawn(std::future::poll_fn(move |cx| {
                w.lock().unwrap().push(cx.waker().clone());
                std::task::Poll::<()>::Pending
            })));
        }
        let _ = corio::yield_now().await;
        while w.lock().unwrap().len() < 100 {
            let _ = corio::yield_now().await;
        }
    });
    drop(rt);
    // The tasks were dropped at shutdown; waking them now does nothing.
    let waker_thread = {
        let wakers = wakers.clone();
        std::thread::spawn(move || {
            for w in wakers.lock().unwrap().drain(..) {
                w.wake();
            }
        })
    };
    waker_thread.join().unwrap();
    assert_eq!(metrics.live_tasks(), 0);
}

#[test]
fn dropping_a_runtime_whose_tasks_are_busy_waits_for_their_current_poll_only() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let rt = Runtime::builder().workers(2).build().unwrap();
    let metrics = rt.handle().metrics();
    rt.run(async move {
        for _ in 0..4 {
            let p = p.clone();
            drop(corio::spawn(async move {
                loop {
                    p.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                    let _ = corio::yield_now().await;
                }
            }));
        }
        while p.load(Ordering::Relaxed) < 10 {
            let _ = corio::yield_now().await;
        }
    });
    let start = std::time::Instant::now();
    drop(rt);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(metrics.live_tasks(), 0);
}

#[test]
fn many_runtimes_created_and_dropped_leave_nothing_behind() {
    for workers in [1, 2, 3] {
        for _ in 0..20 {
            let rt = Runtime::builder().workers(workers).build().unwrap();
            let m = rt.handle().metrics();
            let v = rt.run(async { corio::spawn(async { 7 }).await.unwrap() });
            assert_eq!(v, 7);
            drop(rt);
            assert_eq!(m.live_tasks(), 0);
        }
    }
}
