//! The task layer as asyncio users know it: spawning, awaiting, naming,
//! panics, detaching, aborting, and where tasks run.

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corio::{Runtime, TaskError};

fn rt(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
}

/// Yields until `cond` holds; fails the test after 10 s.
async fn yield_until(cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "condition never became true"
        );
        let _ = corio::yield_now().await;
    }
}

#[test]
fn tasks_run_on_more_than_one_worker_thread_of_a_two_worker_runtime() {
    let threads = rt(2).run(async {
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                corio::spawn(async {
                    // Hold the worker long enough for the other one to steal.
                    std::thread::sleep(Duration::from_millis(2));
                    std::thread::current().id()
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for t in tasks {
            ids.insert(t.await.unwrap());
        }
        ids
    });
    assert!(
        threads.len() >= 2,
        "all tasks ran on one thread: {threads:?}"
    );
}

#[test]
fn one_hundred_thousand_spawned_tasks_all_complete() {
    for workers in [1, 2] {
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let sum = rt(workers).run(async move {
            let tasks: Vec<_> = (0..100_000u64)
                .map(|i| {
                    let d = d.clone();
                    corio::spawn(async move {
                        d.fetch_add(1, Ordering::Relaxed);
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            sum
        });
        assert_eq!(done.load(Ordering::Relaxed), 100_000);
        assert_eq!(sum, (0..100_000u64).sum::<u64>());
    }
}

#[test]
fn a_panicking_task_gives_panicked_with_its_message_and_other_tasks_go_on() {
    let (err, others) = rt(2).run(async {
        let n = std::hint::black_box(7);
        let bad = corio::spawn(async move { panic!("boom {n}") });
        let good: Vec<_> = (0..100).map(|i| corio::spawn(async move { i })).collect();
        let err = bad.await.unwrap_err();
        let mut sum = 0;
        for g in good {
            sum += g.await.unwrap();
        }
        (err, sum)
    });
    match err {
        TaskError::Panicked { message, payload } => {
            assert_eq!(message, "boom 7");
            assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 7");
        }
        other => panic!("expected a panic outcome, got {other:?}"),
    }
    assert_eq!(others, 4950);
}

#[test]
fn a_worker_survives_many_panicking_tasks() {
    let out = rt(1).run(async {
        for _ in 0..100 {
            assert!(corio::spawn(async { panic!("again") })
                .await
                .unwrap_err()
                .is_panic());
        }
        corio::spawn(async { "still alive" }).await.unwrap()
    });
    assert_eq!(out, "still alive");
}

#[test]
fn a_dropped_task_keeps_running() {
    for workers in [1, 2] {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        rt(workers).run(async move {
            let r2 = r.clone();
            drop(corio::spawn(async move {
                let _ = corio::yield_now().await;
                let _ = corio::yield_now().await;
                r2.store(true, Ordering::SeqCst);
            }));
            yield_until(|| r.load(Ordering::SeqCst)).await;
        });
        assert!(ran.load(Ordering::SeqCst));
    }
}

#[test]
fn an_unretrieved_panic_reaches_the_exception_handler_with_the_task_name() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let rt = Runtime::builder()
        .workers(2)
        .exception_handler(move |cx| {
            log.lock().unwrap().push((
                cx.message().to_owned(),
                cx.task_name().unwrap_or("").to_owned(),
                cx.panic_message().unwrap_or("").to_owned(),
            ))
        })
        .build()
        .unwrap();
    let s = seen.clone();
    rt.run(async move {
        // Dropped before it fails...
        drop(
            corio::task::Builder::new()
                .name("doomed")
                .spawn(async { panic!("lost panic") }),
        );
        // ...and dropped after it failed, never awaited.
        let late = corio::task::Builder::new()
            .name("late")
            .spawn(async { panic!("late panic") });
        yield_until(|| late.done()).await;
        drop(late);
        yield_until(|| s.lock().unwrap().len() == 2).await;
    });
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "Task exception was never retrieved".to_owned(),
                "doomed".to_owned(),
                "lost panic".to_owned()
            ),
            (
                "Task exception was never retrieved".to_owned(),
                "late".to_owned(),
                "late panic".to_owned()
            ),
        ]
    );
}

#[test]
fn a_retrieved_panic_does_not_reach_the_exception_handler() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let rt = Runtime::builder()
        .workers(1)
        .exception_handler(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    rt.run(async {
        assert!(corio::spawn(async { panic!("seen") }).await.is_err());
    });
    drop(rt);
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[test]
fn a_panic_in_a_futures_drop_reaches_the_exception_handler_and_the_worker_goes_on() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop exploded");
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let rt = Runtime::builder()
        .workers(1)
        .exception_handler(move |cx| {
            log.lock()
                .unwrap()
                .push(cx.panic_message().unwrap_or("").to_owned())
        })
        .build()
        .unwrap();
    let out = rt.run(async {
        let guard = PanicOnDrop;
        // The guard is dropped with the future, when the task is aborted
        // while suspended (not inside a poll).
        let t = corio::spawn(async move {
            let _g = guard;
            std::future::pending::<()>().await
        });
        let _ = corio::yield_now().await;
        t.abort();
        assert!(t.await.unwrap_err().is_cancelled());
        corio::spawn(async { 2 }).await.unwrap()
    });
    assert_eq!(out, 2);
    assert_eq!(*seen.lock().unwrap(), ["drop exploded"]);
}

#[test]
#[should_panic(expected = "no running event loop")]
fn spawn_outside_a_runtime_panics_with_no_running_event_loop() {
    drop(corio::spawn(async {}));
}

#[test]
#[should_panic(expected = "no running event loop")]
fn create_task_outside_a_runtime_panics_with_no_running_event_loop() {
    drop(corio::create_task(async {}));
}

#[test]
#[should_panic(expected = "no running event loop")]
fn spawn_local_outside_a_runtime_panics_with_no_running_event_loop() {
    drop(corio::spawn_local(async {}));
}

#[test]
fn a_nested_run_panics_with_a_message_that_names_the_mistake_and_the_fix() {
    let msg = rt(1).run(async {
        let caught = std::panic::catch_unwind(|| corio::run(async {}));
        let payload = caught.expect_err("nested run must panic");
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap()
    });
    assert!(msg.contains("nested run"), "{msg}");
    assert!(msg.contains("corio::spawn(fut).await"), "{msg}");
}

#[test]
fn a_nested_runtime_run_panics_too() {
    let inner = rt(1);
    let outer = rt(1);
    let res = outer.run(async move {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.run(async {}))).is_err()
    });
    assert!(res);
}

#[test]
fn spawn_local_accepts_a_future_holding_an_rc_and_stays_on_its_worker() {
    let (value, same_thread) = rt(2).run(async {
        let here = std::thread::current().id();
        let rc = Rc::new(41);
        let rc2 = rc.clone();
        let t = corio::spawn_local(async move {
            let _ = corio::yield_now().await;
            (*rc2 + 1, std::thread::current().id())
        });
        let (v, there) = t.await.unwrap();
        assert_eq!(Rc::strong_count(&rc), 1);
        (v, here == there)
    });
    assert_eq!(value, 42);
    assert!(same_thread);
}

#[test]
fn local_tasks_woken_from_another_thread_run_on_their_own_worker() {
    let ok = rt(2).run(async {
        let here = std::thread::current().id();
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            f.store(true, Ordering::SeqCst);
        });
        let rc = Rc::new(());
        let local = corio::spawn_local(async move {
            let _keep = rc;
            yield_until(|| flag.load(Ordering::SeqCst)).await;
            std::thread::current().id()
        });
        local.await.unwrap() == here
    });
    assert!(ok);
}

#[test]
fn handle_spawn_from_a_plain_thread_works() {
    let rt = rt(2);
    let handle = rt.handle();
    let task = std::thread::spawn(move || {
        let tasks: Vec<_> = (0..1000)
            .map(|i| handle.spawn(async move { i * 2 }))
            .collect();
        tasks
    })
    .join()
    .unwrap();
    let sum = rt.run(async move {
        let mut sum = 0;
        for t in task {
            sum += t.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..1000).map(|i| i * 2).sum::<i32>());
}

#[test]
fn tasks_spawned_through_a_handle_run_while_nobody_calls_run_on_a_multi_worker_runtime() {
    let rt = rt(2);
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let t = rt
        .handle()
        .spawn(async move { d.store(true, Ordering::SeqCst) });
    let start = Instant::now();
    while !done.load(Ordering::SeqCst) {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        t.done() || {
            std::thread::sleep(Duration::from_millis(50));
            t.done()
        }
    );
}

#[test]
fn the_live_task_count_is_zero_after_run_returns() {
    for workers in [1, 2, 4] {
        let metrics = {
            let rt = rt(workers);
            let metrics = rt.handle().metrics();
            corio_run_with(&rt);
            metrics
        };
        assert_eq!(metrics.live_tasks(), 0, "workers({workers})");
    }
    fn corio_run_with(rt: &Runtime) {
        rt.run(async {
            for _ in 0..100 {
                drop(corio::spawn(async {
                    let _ = corio::yield_now().await;
                }));
            }
            // Tasks that never finish: shutdown drops them.
            for _ in 0..10 {
                drop(corio::spawn(std::future::pending::<()>()));
                drop(corio::spawn_local(std::future::pending::<()>()));
            }
            let t = corio::spawn(async { 1 });
            t.await.unwrap();
        });
    }
}

#[test]
fn corio_run_cancels_the_remaining_tasks_when_main_returns_and_drops_them_all() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    corio::run(async move {
        for _ in 0..10 {
            let c = Counted(d.clone());
            drop(corio::spawn(async move {
                let _c = c;
                // Cancelled at shutdown (a future that ignores cancellation
                // is aborted after the grace period: see run_shutdown.rs).
                let _ = corio::sleep(std::time::Duration::from_secs(3600)).await;
            }));
        }
        let _ = corio::yield_now().await;
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 10);
}

#[test]
#[allow(clippy::async_yields_async)] // returning the Task un-awaited is the point
fn a_runtime_can_run_several_main_futures_and_tasks_carry_over() {
    let rt = rt(1);
    let t = rt.run(async { corio::spawn(async { 5 }) });
    // The spawned task did not get a turn yet (one worker, main finished
    // first); it runs during the next `run`.
    assert_eq!(rt.run(t).unwrap(), 5);
}

#[test]
fn workers_one_runs_everything_on_the_calling_thread() {
    let here = std::thread::current().id();
    let ids = rt(1).run(async {
        let ts: Vec<_> = (0..10)
            .map(|_| corio::spawn(async { std::thread::current().id() }))
            .collect();
        let mut ids = vec![std::thread::current().id()];
        for t in ts {
            ids.push(t.await.unwrap());
        }
        ids
    });
    assert!(ids.iter().all(|&i| i == here));
}

#[test]
fn workers_zero_is_rejected_with_a_clear_error() {
    let err = Runtime::builder().workers(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("at least one worker"));
}

#[test]
fn the_worker_threads_carry_the_configured_name() {
    let rt = Runtime::builder()
        .workers(2)
        .thread_name("edge")
        .build()
        .unwrap();
    let names = rt.run(async {
        let ts: Vec<_> = (0..64)
            .map(|_| {
                corio::spawn(async {
                    std::thread::sleep(Duration::from_millis(1));
                    std::thread::current().name().map(str::to_owned)
                })
            })
            .collect();
        let mut names = HashSet::new();
        for t in ts {
            names.insert(t.await.unwrap());
        }
        names
    });
    assert!(names.contains(&Some("edge-1".to_owned())), "{names:?}");
}

#[test]
fn tasks_of_every_size_and_alignment_run_and_free_cleanly_across_workers() {
    #[repr(align(128))]
    struct OverAligned(u8);
    let rt = rt(2);
    let metrics = rt.handle().metrics();
    let remote = rt.handle();
    let from_thread = std::thread::spawn(move || {
        (0..200)
            .map(|i| remote.spawn(async move { i }))
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    let total = rt.run(async move {
        let mut handles = Vec::new();
        for i in 0..2_000usize {
            let small = corio::spawn(async move { i });
            let big_buf = [i as u8; 2048]; // a future larger than any pooled block
            let big = corio::spawn(async move {
                let _ = corio::yield_now().await;
                big_buf.iter().map(|&b| b as usize).sum::<usize>() / 2048
            });
            let aligned = OverAligned(i as u8);
            let over = corio::spawn(async move {
                let a = &aligned;
                let _ = corio::yield_now().await;
                assert_eq!(a as *const OverAligned as usize % 128, 0);
                a.0 as usize
            });
            handles.push((small, big, over));
        }
        let mut total = 0;
        for (a, b, c) in handles {
            total += a.await.unwrap() + b.await.unwrap() + c.await.unwrap();
        }
        for t in from_thread {
            total += t.await.unwrap();
        }
        total
    });
    let expected: usize = (0..2_000usize)
        .map(|i| i + (i as u8 as usize) * 2)
        .sum::<usize>()
        + (0..200).sum::<usize>();
    assert_eq!(total, expected);
    drop(rt);
    assert_eq!(metrics.live_tasks(), 0);
}

/// A future that records the address it was first polled at, and whether
/// it was dropped somewhere else (which `Pin` forbids).
struct PinProbe {
    polled_at: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
    moved: Arc<AtomicBool>,
}

impl std::future::Future for PinProbe {
    type Output = ();
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let at = &*self as *const PinProbe as usize;
        self.polled_at.store(at, Ordering::SeqCst);
        std::task::Poll::Pending // the abort wakes it
    }
}

impl Drop for PinProbe {
    fn drop(&mut self) {
        let at = self as *const PinProbe as usize;
        let polled_at = self.polled_at.load(Ordering::SeqCst);
        if polled_at != 0 && polled_at != at {
            self.moved.store(true, Ordering::SeqCst);
        }
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn an_aborted_task_drops_its_pinned_future_in_place() {
    // A future may hold pointers into itself (an awaitable borrowing one
    // of its locals), so it must be dropped where it was pinned.
    let polled_at = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let moved = Arc::new(AtomicBool::new(false));
    let probe = PinProbe {
        polled_at: polled_at.clone(),
        dropped: dropped.clone(),
        moved: moved.clone(),
    };
    rt(1).run(async move {
        let t = corio::spawn(probe);
        corio::yield_now().await.unwrap();
        t.abort();
        assert!(t.await.unwrap_err().is_cancelled());
    });
    assert_ne!(polled_at.load(Ordering::SeqCst), 0, "never polled");
    assert!(dropped.load(Ordering::SeqCst), "never dropped");
    assert!(
        !moved.load(Ordering::SeqCst),
        "the aborted task's future was moved out of its pinned place before its drop"
    );
}
