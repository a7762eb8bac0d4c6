//! asyncio's cancellation: requests delivered at await points, cleanup with
//! more awaits, explicit refusal, the outcome rule, abort, and awaiting a
//! task from a task that gets cancelled.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corio::{CancelScope, TaskError};

mod common;
use common::{log, rt, Log, HOUR, MS};

#[test]
fn seed_cancel_me_prints_its_events_in_asyncio_order() {
    // The `cancel_me` example of asyncio's Task.cancel() docs, 1 s -> 20 ms.
    let l: Log = Arc::default();
    let l2 = l.clone();
    corio::run(async move {
        let lt = l2.clone();
        let task = corio::spawn(async move {
            log(&lt, "cancel_me(): before sleep");
            let r = corio::sleep(HOUR).await;
            if r.is_err() {
                log(&lt, "cancel_me(): cancel sleep");
            }
            log(&lt, "cancel_me(): after sleep"); // finally:
            r // raise: let the cancellation through
        });
        corio::sleep(20 * MS).await.unwrap();
        task.cancel();
        match task.await {
            Err(TaskError::Cancelled(_)) => log(&l2, "main(): cancel_me is cancelled now"),
            other => panic!("expected a cancelled task, got {other:?}"),
        }
    });
    assert_eq!(
        *l.lock().unwrap(),
        [
            "cancel_me(): before sleep",
            "cancel_me(): cancel sleep",
            "cancel_me(): after sleep",
            "main(): cancel_me is cancelled now",
        ]
    );
}

#[test]
fn cancel_wakes_a_sleeping_task_at_once_and_its_sleep_returns_cancelled() {
    let rt = rt(2);
    let (took, scope) = rt.run(async {
        let task = corio::spawn(async {
            let start = Instant::now();
            let c = corio::sleep(HOUR).await.unwrap_err();
            (start.elapsed(), c.scope())
        });
        corio::sleep(10 * MS).await.unwrap();
        assert!(task.cancel());
        // The sleep returned Err; the task returned a value without
        // suppressing: it ends cancelled, and its output is dropped.
        assert!(task.await.unwrap_err().is_cancelled());
        let task = corio::spawn(async {
            let start = Instant::now();
            match corio::sleep(HOUR).await {
                Err(c) => {
                    let scope = c.scope();
                    c.suppress();
                    (start.elapsed(), scope)
                }
                Ok(()) => unreachable!(),
            }
        });
        corio::sleep(10 * MS).await.unwrap();
        task.cancel();
        task.await.unwrap()
    });
    assert!(
        took < Duration::from_secs(5),
        "cancel did not wake the sleeper"
    );
    assert_eq!(scope, CancelScope::Task);
}

#[test]
fn cancel_returns_false_for_a_finished_task_and_true_otherwise() {
    rt(1).run(async {
        let done = corio::spawn(async { 1 });
        corio::yield_now().await.unwrap();
        assert!(done.done());
        assert!(!done.cancel());
        assert!(!done.cancelled());
        assert_eq!(done.await.unwrap(), 1);
        let pending = corio::spawn(std::future::pending::<()>());
        assert!(pending.cancel());
        assert!(pending.cancel_with("again"));
    });
}

#[test]
fn cancel_twice_gives_cancelling_2_and_one_delivery() {
    let deliveries = rt(1).run(async {
        let task = corio::spawn(async {
            let mut deliveries = 0;
            for _ in 0..3 {
                if let Err(c) = corio::yield_now().await {
                    deliveries += 1;
                    c.suppress();
                }
            }
            deliveries
        });
        corio::yield_now().await.unwrap(); // it starts, and yields
        assert!(task.cancel());
        assert!(task.cancel());
        assert_eq!(task.cancelling(), 2);
        task.await.unwrap()
    });
    assert_eq!(deliveries, 1);
}

#[test]
fn uncancel_withdraws_one_request_and_returns_the_rest() {
    rt(1).run(async {
        let task = corio::spawn(std::future::pending::<()>());
        task.cancel();
        task.cancel();
        assert_eq!(task.uncancel(), 1);
        assert_eq!(task.cancelling(), 1);
        assert_eq!(task.uncancel(), 0);
        assert_eq!(task.uncancel(), 0);
        task.abort();
    });
}

#[test]
fn a_task_that_uncancels_every_request_delivers_its_output() {
    let out = rt(1).run(async {
        let task = corio::spawn(async {
            let r = corio::sleep(HOUR).await;
            assert!(r.is_err());
            assert_eq!(corio::current_task().unwrap().uncancel(), 0);
            "kept"
        });
        corio::yield_now().await.unwrap();
        task.cancel();
        task.await
    });
    assert_eq!(out.unwrap(), "kept");
}

#[test]
fn a_task_cancelled_before_its_first_poll_never_runs_its_body() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let (cancelled, msg) = rt(1).run(async move {
        let task = corio::spawn(async move {
            r.store(true, Ordering::SeqCst);
        });
        task.cancel_with("too early");
        let err = task.await.unwrap_err();
        let TaskError::Cancelled(c) = err else {
            panic!("expected a cancellation")
        };
        (true, c.message().map(str::to_owned))
    });
    assert!(cancelled);
    assert_eq!(msg.as_deref(), Some("too early"));
    assert!(!ran.load(Ordering::SeqCst), "the body ran");
}

#[test]
fn a_task_that_cancels_itself_and_then_returns_a_value_ends_cancelled() {
    rt(1).run(async {
        let task = corio::spawn(async {
            corio::current_task().unwrap().cancel();
            42 // no await after the request: it is never delivered
        });
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled());
    });
}

#[test]
fn cleanup_awaits_after_cancelled_succeed() {
    let l: Log = Arc::default();
    let l2 = l.clone();
    rt(2).run(async move {
        let lt = l2.clone();
        let task = corio::spawn(async move {
            if corio::sleep(HOUR).await.is_err() {
                // One request, one delivery: these awaits behave normally.
                corio::sleep(5 * MS).await.unwrap();
                corio::yield_now().await.unwrap();
                let helper = corio::spawn(async { "flushed" });
                log(&lt, helper.await.unwrap());
            }
        });
        corio::sleep(5 * MS).await.unwrap();
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
    });
    assert_eq!(*l.lock().unwrap(), ["flushed"]);
}

#[test]
fn let_underscore_sleep_does_not_swallow_cancellation() {
    let after = Arc::new(AtomicBool::new(false));
    let a = after.clone();
    rt(1).run(async move {
        let task = corio::spawn(async move {
            let _ = corio::sleep(HOUR).await; // dropped result, no suppress
            a.store(true, Ordering::SeqCst);
            "finished"
        });
        corio::yield_now().await.unwrap();
        task.cancel();
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled(), "the output of a cancelled task leaked");
    });
    assert!(after.load(Ordering::SeqCst), "the code after the sleep ran");
}

#[test]
fn a_suppressed_cancellation_lets_the_task_deliver_its_output() {
    let out = rt(2).run(async {
        let task = corio::spawn(async {
            match corio::sleep(HOUR).await {
                Err(c) => {
                    c.suppress();
                    corio::sleep(MS).await.unwrap();
                    "refused"
                }
                Ok(()) => "slept",
            }
        });
        corio::sleep(5 * MS).await.unwrap();
        task.cancel();
        task.await
    });
    assert_eq!(out.unwrap(), "refused");
}

#[test]
fn a_second_cancel_after_a_suppressed_one_is_delivered_again() {
    let deliveries = rt(1).run(async {
        let task = corio::spawn(async {
            let mut n = 0;
            while n < 2 {
                match corio::sleep(HOUR).await {
                    Err(c) => {
                        n += 1;
                        c.suppress();
                    }
                    Ok(()) => unreachable!(),
                }
            }
            n
        });
        for _ in 0..2 {
            corio::yield_now().await.unwrap();
            task.cancel();
        }
        task.await.unwrap()
    });
    assert_eq!(deliveries, 2);
}

#[test]
fn cancel_with_message_reaches_the_awaitable_and_the_awaiter() {
    rt(1).run(async {
        let task = corio::spawn(async {
            let c = corio::sleep(HOUR).await.unwrap_err();
            assert_eq!(c.message(), Some("shutting down"));
        });
        corio::yield_now().await.unwrap();
        task.cancel_with("shutting down");
        let TaskError::Cancelled(c) = task.await.unwrap_err() else {
            panic!("expected a cancellation")
        };
        assert_eq!(c.message(), Some("shutting down"));
    });
}

#[test]
fn cancelled_is_true_only_for_tasks_that_ended_cancelled() {
    rt(1).run(async {
        let refused = corio::spawn(async {
            if let Err(c) = corio::sleep(HOUR).await {
                c.suppress();
            }
        });
        let accepted = corio::spawn(async {
            let _ = corio::sleep(HOUR).await;
        });
        corio::yield_now().await.unwrap();
        refused.cancel();
        accepted.cancel();
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        assert!(refused.done() && !refused.cancelled());
        assert!(accepted.done() && accepted.cancelled());
    });
}

#[test]
fn an_awaited_task_is_cancelled_along_with_its_awaiter() {
    let inner_saw = Arc::new(AtomicBool::new(false));
    let seen = inner_saw.clone();
    rt(2).run(async move {
        let outer = corio::spawn(async move {
            let inner = corio::spawn(async move {
                let r = corio::sleep(HOUR).await;
                seen.store(r.is_err(), Ordering::SeqCst);
                r
            });
            // The outer task waits here; cancelling it cancels `inner`.
            inner.await
        });
        corio::sleep(5 * MS).await.unwrap();
        outer.cancel_with("stop");
        let TaskError::Cancelled(c) = outer.await.unwrap_err() else {
            panic!("expected a cancellation")
        };
        assert_eq!(c.message(), Some("stop"));
    });
    assert!(
        inner_saw.load(Ordering::SeqCst),
        "the inner task was not cancelled"
    );
}

#[test]
fn an_awaited_task_that_refuses_gives_its_value_to_the_cancelled_awaiter() {
    // asyncio: the inner task absorbs the cancellation; the awaiter resumes
    // with its result and carries on.
    let out = rt(1).run(async {
        let outer = corio::spawn(async {
            let inner = corio::spawn(async {
                if let Err(c) = corio::sleep(HOUR).await {
                    c.suppress();
                }
                7
            });
            let v = inner.await.unwrap();
            corio::yield_now().await.unwrap(); // normal again
            v * 6
        });
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        outer.cancel();
        outer.await
    });
    assert_eq!(out.unwrap(), 42);
}

#[test]
fn abort_runs_drop_and_ends_the_task_cancelled() {
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    rt(2).run(async move {
        let task = corio::spawn(async move {
            let _flag = Flag(d);
            // No async cleanup happens on abort: this never completes.
            corio::sleep(HOUR).await
        });
        corio::sleep(5 * MS).await.unwrap();
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
    });
    assert!(dropped.load(Ordering::SeqCst), "abort did not run Drop");
}

#[test]
fn a_cancelled_interval_tick_sleep_until_and_yield_return_cancelled() {
    rt(1).run(async {
        let until =
            corio::spawn(async { corio::sleep_until(Instant::now() + HOUR).await.unwrap_err() });
        let ticker = corio::spawn(async {
            let mut iv = corio::interval(HOUR);
            iv.tick().await.unwrap(); // the first tick is immediate
            iv.tick().await.unwrap_err()
        });
        let yielder = corio::spawn(async {
            loop {
                if let Err(c) = corio::yield_now().await {
                    c.suppress();
                    return "stopped";
                }
            }
        });
        corio::sleep(5 * MS).await.unwrap(); // the first tick is done
        ticker.cancel();
        yielder.cancel();
        until.cancel();
        assert!(ticker.await.unwrap_err().is_cancelled());
        assert!(until.await.unwrap_err().is_cancelled());
        assert_eq!(yielder.await.unwrap(), "stopped");
    });
}

#[test]
fn cancelling_many_sleeping_tasks_from_another_worker_ends_them_all() {
    let ended = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let e = ended.clone();
    rt(2).run(async move {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (e, started) = (e.clone(), started.clone());
                corio::spawn(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    let r = corio::sleep(HOUR).await;
                    e.fetch_add(1, Ordering::SeqCst);
                    r
                })
            })
            .collect();
        // Every task is asleep before the cancels (on a loaded machine,
        // a fixed pause may end before the last one first runs, and a task
        // cancelled before its first poll never runs its body).
        while started.load(Ordering::SeqCst) < 1000 {
            corio::sleep(MS).await.unwrap();
        }
        corio::sleep(MS).await.unwrap();
        for t in &tasks {
            t.cancel();
        }
        for t in tasks {
            assert!(t.await.unwrap_err().is_cancelled());
        }
    });
    assert_eq!(ended.load(Ordering::SeqCst), 1000);
}

#[test]
fn suppress_outside_the_task_it_was_delivered_to_does_nothing() {
    let out = rt(1).run(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let task = corio::spawn(async move {
            let c = corio::sleep(HOUR).await.unwrap_err();
            tx.send(c).unwrap();
            "value"
        });
        corio::yield_now().await.unwrap();
        task.cancel();
        corio::yield_now().await.unwrap();
        // Suppressing in another task (the main one) is not a refusal.
        rx.recv().unwrap().suppress();
        task.await
    });
    assert!(out.unwrap_err().is_cancelled());
}

#[test]
fn shield_keeps_the_callers_cancellation_away_from_the_shielded_task() {
    let l: Log = Arc::default();
    let l2 = l.clone();
    rt(2).run(async move {
        let ls = l2.clone();
        let caller = corio::spawn(async move {
            let r = corio::shield(async move {
                corio::sleep(30 * MS).await.unwrap();
                log(&ls, "shielded work done");
                5
            })
            .await;
            r.map_err(|c| c.scope())
        });
        corio::sleep(5 * MS).await.unwrap();
        let start = Instant::now();
        caller.cancel();
        let err = caller.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(
            start.elapsed() < 25 * MS,
            "the caller waited for the shielded task"
        );
        log(&l2, "caller cancelled");
        corio::sleep(60 * MS).await.unwrap();
    });
    assert_eq!(
        *l.lock().unwrap(),
        ["caller cancelled", "shielded work done"]
    );
}

#[test]
fn shield_gives_the_output_when_nobody_is_cancelled_and_a_panic_goes_on_in_the_caller() {
    rt(1).run(async {
        assert_eq!(corio::shield(async { 9 }).await, Ok(9));
        let caller = corio::spawn(async { corio::shield(async { panic!("inside") }).await });
        match caller.await {
            Err(TaskError::Panicked { message, .. }) => assert_eq!(message, "inside"),
            other => panic!("expected the shielded panic, got {other:?}"),
        }
    });
}

#[test]
fn seed_shield_with_except_cancelled_ignores_the_cancellation() {
    // try: res = await shield(something()) except CancelledError: res = None
    let out = rt(1).run(async {
        let caller = corio::spawn(async {
            let res = match corio::shield(corio::sleep(20 * MS)).await {
                Ok(_) => Some("something"),
                Err(c) => {
                    c.suppress();
                    None
                }
            };
            res
        });
        corio::yield_now().await.unwrap();
        caller.cancel();
        caller.await
    });
    assert_eq!(out.unwrap(), None);
}

#[test]
fn wait_for_a_shielded_future_times_out_but_the_work_goes_on() {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    rt(2).run(async move {
        let r = corio::wait_for(
            corio::shield(async move {
                corio::sleep(30 * MS).await.unwrap();
                d.store(true, Ordering::SeqCst);
            }),
            5 * MS,
        )
        .await;
        assert_eq!(r.map(|_| ()), Err(corio::TimeoutError::new()));
        corio::sleep(60 * MS).await.unwrap();
    });
    assert!(
        done.load(Ordering::SeqCst),
        "the shielded work was cancelled"
    );
}

#[test]
fn cancellable_makes_a_foreign_future_a_cancellation_point_and_drops_it() {
    struct Foreign(Arc<AtomicBool>);
    impl std::future::Future for Foreign {
        type Output = ();
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            std::task::Poll::Pending // never woken: knows nothing of corio
        }
    }
    impl Drop for Foreign {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    rt(1).run(async move {
        let task = corio::spawn(async move { corio::cancellable(Foreign(d)).await });
        corio::yield_now().await.unwrap();
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        let r = corio::timeout(5 * MS, corio::cancellable(std::future::pending::<()>())).await;
        assert!(r.is_err());
    });
    assert!(dropped.load(Ordering::SeqCst));
}
