//! asyncio's ordering with one worker, task identity, abort, and misuse.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use corio::Runtime;

fn rt(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
}

#[test]
fn with_one_worker_spawned_and_woken_tasks_run_in_fifo_order_like_asyncio() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    rt(1).run(async move {
        let mut tasks = Vec::new();
        for name in ["A", "B", "C"] {
            let l = l.clone();
            tasks.push(corio::spawn(async move {
                l.lock().unwrap().push(format!("{name}1"));
                let _ = corio::yield_now().await;
                l.lock().unwrap().push(format!("{name}2"));
            }));
        }
        let _ = corio::yield_now().await;
        l.lock().unwrap().push("main".into());
        for t in tasks {
            t.await.unwrap();
        }
        l.lock().unwrap().push("end".into());
    });
    // Python: create_task A, B, C; await sleep(0); print("main"); await each.
    assert_eq!(
        *log.lock().unwrap(),
        ["A1", "B1", "C1", "main", "A2", "B2", "C2", "end"]
    );
}

#[test]
fn spawned_tasks_do_not_start_until_the_spawner_yields_with_one_worker() {
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    rt(1).run(async move {
        let s2 = s.clone();
        let t = corio::spawn(async move { s2.store(true, Ordering::SeqCst) });
        assert!(!s.load(Ordering::SeqCst));
        t.await.unwrap();
        assert!(s.load(Ordering::SeqCst));
    });
}

#[test]
fn default_names_are_task_dash_id_and_ids_increase_in_spawn_order() {
    rt(1).run(async {
        let main = corio::current_task().unwrap();
        assert_eq!(main.name(), format!("Task-{}", main.id()));
        let a = corio::spawn(async {});
        let b = corio::spawn(async {});
        assert_eq!(a.name(), format!("Task-{}", a.id()));
        assert!(main.id() < a.id() && a.id() < b.id());
    });
}

#[test]
fn task_builder_names_a_task_and_set_name_renames_it() {
    rt(2).run(async {
        let t = corio::task::Builder::new()
            .name("fetcher")
            .spawn(async { corio::current_task().unwrap().name() });
        assert_eq!(t.name(), "fetcher");
        t.set_name("renamed");
        assert_eq!(t.name(), "renamed");
        let seen_inside = t.await.unwrap();
        assert!(seen_inside == "fetcher" || seen_inside == "renamed");
    });
}

#[test]
fn current_task_is_none_outside_a_task_and_names_the_running_task_inside() {
    assert!(corio::current_task().is_none());
    rt(2).run(async {
        let t = corio::spawn(async { corio::current_task().unwrap().id() });
        let id = t.id();
        assert_eq!(t.await.unwrap(), id);
    });
}

#[test]
fn task_refs_to_the_same_task_are_equal() {
    rt(1).run(async {
        let a = corio::current_task().unwrap();
        let b = corio::current_task().unwrap();
        assert_eq!(a, b);
        let t = corio::spawn(async {});
        assert_ne!(a, t.task_ref());
    });
}

#[test]
fn aborting_a_task_before_its_first_poll_never_runs_its_body() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    rt(1).run(async move {
        let t = corio::spawn(async move { r.store(true, Ordering::SeqCst) });
        t.abort();
        assert!(t.await.unwrap_err().is_cancelled());
    });
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn abort_drops_the_future_at_its_await_point_and_runs_its_drop() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for workers in [1, 2] {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        rt(workers).run(async move {
            let c = Counted(d.clone());
            let t = corio::spawn(async move {
                let _c = c;
                std::future::pending::<()>().await
            });
            let _ = corio::yield_now().await;
            t.abort();
            let err = t.await.unwrap_err();
            assert!(err.is_cancelled(), "{err:?}");
            assert_eq!(d.load(Ordering::SeqCst), 1);
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn abort_of_a_finished_task_keeps_its_output() {
    rt(1).run(async {
        let t = corio::spawn(async { 3 });
        let _ = corio::yield_now().await;
        assert!(t.done());
        t.abort();
        assert_eq!(t.await.unwrap(), 3);
    });
}

#[test]
fn done_is_false_while_running_and_true_after() {
    rt(1).run(async {
        let t = corio::spawn(async {
            let _ = corio::yield_now().await;
        });
        assert!(!t.done());
        let _ = corio::yield_now().await;
        assert!(!t.done());
        let _ = corio::yield_now().await;
        assert!(t.done());
    });
}

#[test]
fn awaiting_a_task_twice_panics_with_a_message_that_names_the_mistake() {
    let msg = rt(1).run(async {
        let mut t = corio::spawn(async { 1 });
        assert_eq!((&mut t).await.unwrap(), 1);
        let again = corio::spawn(async move { (&mut t).await.map(|_| ()) });
        match again.await {
            Err(corio::TaskError::Panicked { message, .. }) => message,
            other => panic!("expected a panic, got {other:?}"),
        }
    });
    assert!(msg.contains("await a Task only once"), "{msg}");
}

#[test]
fn a_main_that_panics_makes_run_panic_with_the_same_payload() {
    let err = std::panic::catch_unwind(|| rt(2).run(async { panic!("main failed") })).unwrap_err();
    assert_eq!(*err.downcast_ref::<&str>().unwrap(), "main failed");
}

#[test]
fn a_task_awaiting_many_ready_tasks_is_made_to_yield_by_its_budget() {
    // 300 finished tasks awaited back to back are all ready, so without a
    // cooperative budget `main` would never give up the (only) worker and
    // the marker task could not run until the loop ends.
    let marker_ran = Arc::new(AtomicBool::new(false));
    let m = marker_ran.clone();
    let first_seen_at = rt(1).run(async move {
        let tasks: Vec<_> = (0..300).map(|_| corio::spawn(async {})).collect();
        let _ = corio::yield_now().await; // all 300 run and finish
        let m2 = m.clone();
        drop(corio::spawn(
            async move { m2.store(true, Ordering::SeqCst) },
        ));
        let mut first_seen_at = None;
        for (i, t) in tasks.into_iter().enumerate() {
            t.await.unwrap();
            if first_seen_at.is_none() && m.load(Ordering::SeqCst) {
                first_seen_at = Some(i);
            }
        }
        first_seen_at
    });
    let at = first_seen_at.expect("the marker task never ran during the loop");
    assert!(at < 299, "budget did not force a yield early enough: {at}");
}

#[test]
fn one_worker_runs_thousands_of_ready_tasks_in_spawn_order() {
    // More ready tasks than a worker's run queue holds before it spills
    // to the shared queue for other workers: with one worker there are no
    // others, and asyncio's single FIFO order must hold.
    const TASKS: usize = 5_000;
    let order = Arc::new(Mutex::new(Vec::with_capacity(TASKS)));
    rt(1).run({
        let order = order.clone();
        async move {
            let tasks: Vec<_> = (0..TASKS)
                .map(|i| {
                    let order = order.clone();
                    corio::spawn(async move { order.lock().unwrap().push(i) })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        }
    });
    let order = order.lock().unwrap();
    assert_eq!(*order, (0..TASKS).collect::<Vec<_>>());
}
