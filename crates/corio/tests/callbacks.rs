//! Done callbacks: `add_done_callback` / `remove_done_callback`.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{log, rt, Log, MS};
use corio::{Runtime, TaskId};

#[test]
fn callbacks_never_run_inline_and_run_in_registration_order() {
    let events: Log = Log::default();
    let e = events.clone();
    rt(1).run(async move {
        let t = corio::spawn(async {});
        for i in 0..3 {
            let e = e.clone();
            t.add_done_callback(move |_| log(&e, format!("cb{i}")));
        }
        t.await.unwrap();
        log(&e, "awaited");
        corio::yield_now().await.unwrap();
        log(&e, "after yield");
    });
    assert_eq!(
        *events.lock().unwrap(),
        ["awaited", "cb0", "cb1", "cb2", "after yield"]
    );
}

#[test]
fn a_callback_added_after_completion_runs_soon_not_inline() {
    let events: Log = Log::default();
    let e = events.clone();
    rt(1).run(async move {
        let t = corio::spawn(async { 5 });
        corio::yield_now().await.unwrap();
        assert!(t.done());
        let e1 = e.clone();
        t.add_done_callback(move |_| log(&e1, "late 1"));
        let e2 = e.clone();
        t.add_done_callback(move |_| log(&e2, "late 2"));
        log(&e, "added");
        corio::yield_now().await.unwrap();
        log(&e, "yielded");
        assert_eq!(t.await.unwrap(), 5, "a callback does not take the output");
    });
    assert_eq!(
        *events.lock().unwrap(),
        ["added", "late 1", "late 2", "yielded"]
    );
}

#[test]
fn callbacks_keep_registration_order_across_completion_on_many_workers() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    rt(4).run(async move {
        let t = corio::spawn(async { corio::sleep(MS).await.unwrap() });
        for i in 0..50 {
            let s = s.clone();
            t.add_done_callback(move |_| s.lock().unwrap().push(i));
            if i == 25 {
                corio::sleep(5 * MS).await.unwrap(); // some before, some after
            }
        }
        let _ = t.await;
        corio::sleep(20 * MS).await.unwrap();
    });
    assert_eq!(*seen.lock().unwrap(), (0..50).collect::<Vec<_>>());
}

#[test]
fn the_callback_sees_the_finished_task_done_cancelled_panic_message_and_name() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    rt(1).run(async move {
        let ok = corio::task::Builder::new().name("ok").spawn(async {});
        let boom = corio::task::Builder::new()
            .name("boom")
            .spawn(async { panic!("Ouch") });
        let cancelled = corio::task::Builder::new()
            .name("stopped")
            .spawn(async { corio::sleep(common::HOUR).await });
        for t in [ok.task_ref(), boom.task_ref(), cancelled.task_ref()] {
            let s = s.clone();
            t.add_done_callback(move |t| {
                s.lock()
                    .unwrap()
                    .push((t.name(), t.done(), t.cancelled(), t.exception().unwrap()))
            });
        }
        corio::yield_now().await.unwrap();
        cancelled.cancel();
        let _ = cancelled.await;
        corio::yield_now().await.unwrap();
        drop((ok, boom));
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.contains(&("ok".into(), true, false, None)));
    assert!(seen.contains(&("boom".into(), true, false, Some("Ouch".into()))));
    assert!(seen.contains(&("stopped".into(), true, true, None)));
}

#[test]
fn a_removed_callback_never_runs_and_removing_twice_returns_false() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    rt(1).run(async move {
        let t = corio::spawn(async {});
        let r1 = r.clone();
        let id = t.add_done_callback(move |_| {
            r1.fetch_add(100, Ordering::SeqCst);
        });
        let r2 = r.clone();
        t.add_done_callback(move |_| {
            r2.fetch_add(1, Ordering::SeqCst);
        });
        assert!(t.remove_done_callback(id));
        assert!(!t.remove_done_callback(id));
        t.await.unwrap();
        corio::yield_now().await.unwrap();
    });
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_callback_reaches_the_exception_handler_and_the_next_one_still_runs() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(2)
        .exception_handler(move |cx| {
            r.lock().unwrap().push((
                cx.message().to_owned(),
                cx.task_name().unwrap_or_default().to_owned(),
                cx.panic_message().unwrap_or_default().to_owned(),
            ))
        })
        .build()
        .unwrap();
    let after = Arc::new(AtomicUsize::new(0));
    let a = after.clone();
    let out = rt.run(async move {
        let t = corio::task::Builder::new().name("watched").spawn(async {});
        t.add_done_callback(|_| panic!("callback bug"));
        let a2 = a.clone();
        t.add_done_callback(move |_| {
            a2.fetch_add(1, Ordering::SeqCst);
        });
        t.await.unwrap();
        // Soon: wait (generously) for the second callback.
        for _ in 0..5000 {
            if a.load(Ordering::SeqCst) == 1 {
                break;
            }
            corio::sleep(MS).await.unwrap();
        }
        // The workers are still there.
        corio::spawn(async { 7 }).await.unwrap()
    });
    assert_eq!(out, 7);
    assert_eq!(after.load(Ordering::SeqCst), 1);
    assert_eq!(
        *reports.lock().unwrap(),
        [(
            "a done callback panicked".to_owned(),
            "watched".to_owned(),
            "callback bug".to_owned()
        )]
    );
}

/// The seed's `bg_task` example: the callback reports the error; asking for
/// it with `exception()` retrieves it, so nothing else reports it.
#[test]
fn seed_bg_task_done_callback_reports_the_error_and_it_counts_as_retrieved() {
    let events: Log = Log::default();
    let reports = Arc::new(AtomicUsize::new(0));
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(1)
        .exception_handler(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let e = events.clone();
    rt.run(async move {
        let e1 = e.clone();
        let task = corio::task::Builder::new()
            .name("bg_task")
            .spawn(async move {
                log(&e1, "In the background");
                panic!("Ouch");
            });
        let e2 = e.clone();
        task.add_done_callback(move |task| match task.exception() {
            Ok(Some(err)) => log(
                &e2,
                format!("Task <{}> raised an error: {err}", task.name()),
            ),
            Ok(None) if task.cancelled() => {
                log(&e2, format!("Task <{}> was cancelled!", task.name()))
            }
            _ => log(&e2, format!("Task <{}> finished successfully", task.name())),
        });
        log(&e, "Now we sleep and let bg_task do its thing");
        corio::sleep(Duration::from_millis(50)).await.unwrap();
        log(&e, "I'm awake!");
        drop(task);
    });
    assert_eq!(
        *events.lock().unwrap(),
        [
            "Now we sleep and let bg_task do its thing",
            "In the background",
            "Task <bg_task> raised an error: Ouch",
            "I'm awake!"
        ]
    );
    assert_eq!(
        reports.load(Ordering::SeqCst),
        0,
        "the callback retrieved it"
    );
}

/// asyncio's "keep references to background tasks" idiom:
/// `task.add_done_callback(background_tasks.discard)`.
#[test]
fn a_set_of_background_tasks_empties_itself_through_done_callbacks() {
    let set: Arc<Mutex<HashSet<TaskId>>> = Arc::default();
    let s = set.clone();
    rt(2).run(async move {
        for i in 0..10u32 {
            let t = corio::spawn(async move { corio::sleep(i * MS).await.unwrap() });
            s.lock().unwrap().insert(t.id());
            let s2 = s.clone();
            t.add_done_callback(move |t| {
                s2.lock().unwrap().remove(&t.id());
            });
        }
        assert_eq!(s.lock().unwrap().len(), 10);
        for _ in 0..5000 {
            if s.lock().unwrap().is_empty() {
                break;
            }
            corio::sleep(MS).await.unwrap();
        }
    });
    assert!(set.lock().unwrap().is_empty());
}

fn counting_runtime() -> (Runtime, Arc<Mutex<Vec<String>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(1)
        .exception_handler(move |cx| r.lock().unwrap().push(cx.message().to_owned()))
        .build()
        .unwrap();
    (rt, reports)
}

#[test]
fn a_detached_task_whose_callback_retrieves_the_panic_is_not_reported() {
    let (rt, reports) = counting_runtime();
    rt.run(async {
        let t = corio::spawn(async { panic!("handled by the callback") });
        t.add_done_callback(|t| {
            assert!(t.exception().unwrap().is_some());
        });
        drop(t); // detached before it fails
        corio::sleep(10 * MS).await.unwrap();
    });
    assert!(
        reports.lock().unwrap().is_empty(),
        "{:?}",
        reports.lock().unwrap()
    );
}

#[test]
fn a_detached_task_whose_callbacks_ignore_the_panic_is_reported_once_after_them() {
    let (rt, reports) = counting_runtime();
    let r = reports.clone();
    rt.run(async move {
        let t = corio::spawn(async { panic!("nobody looked") });
        t.add_done_callback(move |_| r.lock().unwrap().push("callback ran".into()));
        drop(t);
        corio::sleep(10 * MS).await.unwrap();
    });
    assert_eq!(
        *reports.lock().unwrap(),
        ["callback ran", "Task exception was never retrieved"]
    );
}

#[test]
fn the_tasks_that_run_callbacks_are_not_listed_by_all_tasks() {
    rt(1).run(async {
        let t = corio::spawn(async {});
        corio::yield_now().await.unwrap();
        // Queues a callback runner task, not run yet.
        t.add_done_callback(|_| {});
        let all = corio::all_tasks();
        assert_eq!(all, vec![corio::current_task().unwrap()]);
        corio::yield_now().await.unwrap();
    });
}
