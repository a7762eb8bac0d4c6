//! `TaskGroup`: structured concurrency with asyncio's semantics.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{log, rt, Log, HOUR, MS};
use corio::task_group::{Failure, TaskGroup};
use std::future::Future;
use std::pin::Pin;

use corio::{CancelScope, Runtime, TaskError, TaskGroupError, TaskRef};

#[test]
fn leaving_the_group_waits_for_every_child_and_returns_the_body_output() {
    let events = Log::default();
    let e = events.clone();
    let start = Instant::now();
    let (out, children) = rt(2).run(async move {
        let (out, children) = TaskGroup::<()>::run(|tg| {
            let e = e.clone();
            async move {
                let children: Vec<_> = (1..=3u32)
                    .map(|i| {
                        let e = e.clone();
                        tg.spawn(async move {
                            corio::sleep(i * 30 * MS).await.unwrap();
                            log(&e, format!("child {i}"));
                            i
                        })
                    })
                    .collect();
                log(&e, "body done");
                ("body", children)
            }
        })
        .await
        .unwrap();
        log(&e, "left the group");
        assert!(children.iter().all(|c| c.done()));
        (out, children)
    });
    assert_eq!(out, "body");
    assert_eq!(
        *events.lock().unwrap(),
        [
            "body done",
            "child 1",
            "child 2",
            "child 3",
            "left the group"
        ]
    );
    assert!(start.elapsed() >= Duration::from_millis(90));
    let values: Vec<u32> = rt(1).run(async move {
        let mut v = Vec::new();
        for c in children {
            v.push(c.await.unwrap());
        }
        v
    });
    assert_eq!(values, [1, 2, 3]);
}

#[test]
fn the_first_failing_child_cancels_the_other_children_and_the_body() {
    let events = Log::default();
    let e = events.clone();
    let err = rt(1).run(async move {
        TaskGroup::<()>::run(|tg| async move {
            let e1 = e.clone();
            tg.spawn(async move {
                if let Err(c) = corio::sleep(HOUR).await {
                    log(&e1, format!("sibling cancelled: {:?}", c.scope()));
                }
            });
            tg.spawn(async {
                corio::sleep(10 * MS).await.unwrap();
                panic!("child failed");
            });
            let r = corio::sleep(HOUR).await;
            let c = r.unwrap_err();
            log(&e, format!("body cancelled: {:?}", c.scope()));
            // The body may still clean up, awaiting: one request, one delivery.
            corio::sleep(MS).await.unwrap();
        })
        .await
        .unwrap_err()
    });
    let ev = events.lock().unwrap();
    assert!(ev.contains(&"sibling cancelled: Task".to_owned()), "{ev:?}");
    assert!(
        ev.contains(&"body cancelled: TaskGroup".to_owned()),
        "{ev:?}"
    );
    assert_eq!(err.failures().len(), 1);
    match &err.failures()[0] {
        Failure::Panicked { message, task, .. } => {
            assert_eq!(message, "child failed");
            assert!(task.is_some());
        }
        f => panic!("{f:?}"),
    }
    assert!(!err.is_cancelled());
    let _ = CancelScope::TaskGroup;
}

#[test]
fn an_err_from_a_spawn_try_child_fails_the_group_with_that_error_and_its_name() {
    let err = rt(2).run(async {
        TaskGroup::<String>::run(|tg| async move {
            tg.spawn(async { corio::sleep(HOUR).await });
            drop(tg.spawn_try(async {
                corio::current_task().unwrap().set_name("fetcher");
                corio::sleep(5 * MS).await.unwrap();
                Err::<u8, _>("connection refused".to_string())
            }));
            let _ = corio::sleep(HOUR).await;
        })
        .await
        .unwrap_err()
    });
    match err.failures() {
        [Failure::Error { name, error, .. }] => {
            assert_eq!(name, "fetcher");
            assert_eq!(error, "connection refused");
        }
        f => panic!("{f:?}"),
    }
    assert_eq!(
        err.to_string(),
        "1 failure in a task group: fetcher failed: connection refused"
    );
}

#[test]
fn every_failure_is_returned_together_in_the_order_they_happened() {
    let err = rt(1).run(async {
        TaskGroup::<String>::run(|tg| async move {
            // Fails only when the group cancels it (refusing the
            // cancellation, so the error is its own): a second failure.
            tg.spawn_try(async {
                match corio::sleep(HOUR).await {
                    Ok(()) => Ok(()),
                    Err(c) => {
                        c.suppress();
                        Err("cleanup failed".to_string())
                    }
                }
            });
            tg.spawn(async {
                corio::yield_now().await.unwrap();
                panic!("first");
            });
        })
        .await
        .unwrap_err()
    });
    let f = err.failures();
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(matches!(&f[0], Failure::Panicked { message, .. } if message == "first"));
    assert!(matches!(&f[1], Failure::Error { error, .. } if error == "cleanup failed"));
    assert!(err.to_string().starts_with("2 failures in a task group: "));
}

#[test]
fn a_cancelled_child_is_not_a_failure() {
    let out = rt(1).run(async {
        TaskGroup::<()>::run(|tg| async move {
            let c = tg.spawn(async { corio::sleep(HOUR).await });
            corio::yield_now().await.unwrap();
            c.cancel();
            let me_too = tg.spawn(async {
                corio::current_task().unwrap().cancel();
                corio::yield_now().await
            });
            drop(me_too);
            "fine"
        })
        .await
    });
    assert_eq!(out.unwrap(), "fine");
}

#[test]
fn a_panic_in_the_body_cancels_the_children_and_is_listed_as_a_failure() {
    let started = Arc::new(AtomicUsize::new(0));
    let cleaned = Arc::new(AtomicUsize::new(0));
    let children = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (s, c, ch) = (started.clone(), cleaned.clone(), children.clone());
    let err = rt(2).run(async move {
        TaskGroup::<()>::run(|tg| async move {
            for _ in 0..3 {
                let (s, c) = (s.clone(), c.clone());
                let child = tg.spawn(async move {
                    s.fetch_add(1, Ordering::SeqCst);
                    if corio::sleep(HOUR).await.is_err() {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                });
                ch.lock().unwrap().push(child.task_ref());
            }
            corio::yield_now().await.unwrap();
            panic!("body bug");
        })
        .await
        .unwrap_err()
    });
    // Every child was cancelled: the ones that had started cleaned up, the
    // others never ran their body.
    let children = children.lock().unwrap();
    assert_eq!(children.len(), 3);
    assert!(children.iter().all(|t| t.done() && t.cancelled()));
    assert_eq!(
        cleaned.load(Ordering::SeqCst),
        started.load(Ordering::SeqCst)
    );
    match err.failures() {
        [Failure::Panicked {
            task: None,
            name,
            message,
        }] => {
            assert_eq!(name, "body");
            assert_eq!(message, "body bug");
        }
        f => panic!("{f:?}"),
    }
}

#[test]
fn the_group_leaves_cancelling_of_its_task_exactly_where_it_was() {
    rt(1).run(async {
        let me = corio::current_task().unwrap();
        // One earlier, refused cancellation: cancelling() is 1 before.
        me.cancel();
        corio::yield_now().await.unwrap_err().suppress();
        assert_eq!(me.cancelling(), 1);
        let err = TaskGroup::<()>::run(|tg| async move {
            tg.spawn(async { panic!("x") });
            let _ = corio::sleep(HOUR).await; // cancelled by the group
        })
        .await
        .unwrap_err();
        assert_eq!(err.failures().len(), 1);
        assert_eq!(
            me.cancelling(),
            1,
            "the group's own cancellation left no trace"
        );
        // And the task is not being cancelled: awaits work.
        corio::sleep(MS).await.unwrap();
    });
}

#[test]
fn child_errors_win_over_an_outside_cancellation() {
    let out = rt(1).run(async {
        let t = corio::spawn(async {
            TaskGroup::<String>::run(|tg| async move {
                tg.spawn_try(async {
                    match corio::sleep(HOUR).await {
                        Ok(()) => Ok(()),
                        Err(c) => {
                            c.suppress();
                            Err("failed while cancelled".to_string())
                        }
                    }
                });
                corio::sleep(HOUR).await
            })
            .await
        });
        corio::yield_now().await.unwrap();
        t.cancel();
        t.await
    });
    // The task is not reported cancelled: the group's error got through.
    let err = out.expect("the failure wins").unwrap_err();
    assert_eq!(err.failures().len(), 1);
    assert!(err.cancelled().is_some());
    assert!(!err.is_cancelled());
}

#[test]
fn an_outside_cancellation_with_no_failures_cancels_the_children_and_the_task() {
    let cleaned = Arc::new(AtomicUsize::new(0));
    let c = cleaned.clone();
    let out = rt(2).run(async move {
        let t = corio::spawn(async move {
            TaskGroup::<()>::run(|tg| async move {
                tg.spawn(async move {
                    if corio::sleep(HOUR).await.is_err() {
                        corio::sleep(5 * MS).await.unwrap(); // cleanup awaits work
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                });
                // The body finished: the group waits, and the wait is a
                // cancellation point.
            })
            .await
            .map(|()| "group ended normally")
        });
        corio::sleep(10 * MS).await.unwrap();
        t.cancel();
        t.await
    });
    assert!(matches!(out, Err(TaskError::Cancelled(_))), "{out:?}");
    assert_eq!(cleaned.load(Ordering::SeqCst), 1);
}

#[test]
fn spawning_into_a_group_that_is_closing_panics_saying_why() {
    let (after_finish, during_abort) = rt(1).run(async {
        let tg = TaskGroup::<()>::run(|tg| async move { tg }).await.unwrap();
        assert!(tg.is_closing());
        let tg2 = tg.clone();
        let after_finish = corio::spawn(async move {
            drop(tg2.spawn(async {}));
        })
        .await
        .unwrap_err()
        .to_string();
        let err = TaskGroup::<()>::run(|tg| async move {
            let tg2 = tg.clone();
            tg.spawn(async move {
                let _ = corio::sleep(HOUR).await;
                assert!(tg2.is_closing());
                drop(tg2.spawn(async {})); // during the abort
            });
            tg.spawn(async { panic!("first") });
        })
        .await
        .unwrap_err();
        let during_abort = match &err.failures()[1] {
            Failure::Panicked { message, .. } => message.clone(),
            f => panic!("{f:?}"),
        };
        (after_finish, during_abort)
    });
    assert!(
        after_finish.contains("closing (it has finished)"),
        "{after_finish}"
    );
    assert!(during_abort.contains("shutting down"), "{during_abort}");
}

#[test]
fn children_can_spawn_siblings_while_the_group_waits() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    rt(2).run(async move {
        TaskGroup::<()>::run(|tg| async move {
            let tg2 = tg.clone();
            tg.spawn(async move {
                corio::sleep(10 * MS).await.unwrap();
                for _ in 0..5 {
                    let c = c.clone();
                    tg2.spawn(async move {
                        corio::sleep(10 * MS).await.unwrap();
                        c.fetch_add(1, Ordering::SeqCst);
                    });
                }
            });
        })
        .await
        .unwrap();
    });
    assert_eq!(
        count.load(Ordering::SeqCst),
        5,
        "the group waited for the late siblings"
    );
}

#[test]
fn dropping_the_group_future_aborts_its_children() {
    let dropped = Arc::new(AtomicUsize::new(0));
    struct OnDrop(Arc<AtomicUsize>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let d = dropped.clone();
    rt(2).run(async move {
        let t = corio::spawn(async move {
            TaskGroup::<()>::run(|tg| async move {
                for _ in 0..4 {
                    let guard = OnDrop(d.clone());
                    tg.spawn(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await
                    });
                }
                std::future::pending::<()>().await
            })
            .await
        });
        corio::sleep(10 * MS).await.unwrap();
        t.abort();
        let _ = t.await;
        corio::sleep(10 * MS).await.unwrap();
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 4);
}

#[test]
fn a_group_childs_panic_is_reported_by_the_group_not_as_never_retrieved() {
    let reports = Arc::new(AtomicUsize::new(0));
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(2)
        .exception_handler(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let err = rt.run(async {
        TaskGroup::<()>::run(|tg| async move {
            tg.spawn(async { panic!("reported once") });
        })
        .await
        .unwrap_err()
    });
    assert_eq!(err.failures().len(), 1);
    assert_eq!(reports.load(Ordering::SeqCst), 0);
}

#[test]
fn ten_thousand_children_all_finish_before_the_group_returns() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    rt(2).run(async move {
        let c2 = c.clone();
        TaskGroup::<()>::run(|tg| async move {
            let c = c2;
            for _ in 0..10_000 {
                let c = c.clone();
                tg.spawn(async move {
                    corio::yield_now().await.unwrap();
                    c.fetch_add(1, Ordering::SeqCst);
                });
            }
        })
        .await
        .unwrap();
        assert_eq!(c.load(Ordering::SeqCst), 10_000);
    });
    assert_eq!(count.load(Ordering::SeqCst), 10_000);
}

#[test]
fn children_that_finish_before_spawn_returns_and_an_abort_mid_spawn_leave_nothing_behind() {
    // Stress for the slot protocol: children complete on another worker
    // before their spawner stored them, and a failure aborts the group
    // while the body is still spawning (each later spawn then panics,
    // which the body catches).
    for round in 0..20 {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        let (err, spawned) = rt(4).run(async move {
            let spawned = Arc::new(AtomicUsize::new(0));
            let s = spawned.clone();
            let err = TaskGroup::<()>::run(|tg| async move {
                for i in 0..2000 {
                    if tg.is_closing() {
                        break;
                    }
                    let f = f.clone();
                    let child = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        tg.spawn(async move {
                            f.fetch_add(1, Ordering::SeqCst);
                            if i == 1000 {
                                panic!("round {round}");
                            }
                        })
                    }));
                    if child.is_ok() {
                        s.fetch_add(1, Ordering::SeqCst);
                    }
                    if i % 64 == 0 {
                        let _ = corio::yield_now().await;
                    }
                }
            })
            .await
            .unwrap_err();
            (err, spawned.load(Ordering::SeqCst))
        });
        assert_eq!(err.failures().len(), 1);
        // Every child spawned either ran or was cancelled before it started;
        // none is still running: the group waited for all of them.
        assert!(finished.load(Ordering::SeqCst) <= spawned);
        assert!(spawned >= 1001);
    }
}

// ---- The failure rule: a child that ends cancelled did not fail ----

/// A `spawn_try` child whose `?` lets the group's cancellation through.
async fn waits_an_hour_with_question_mark() -> Result<(), String> {
    corio::sleep(HOUR).await.map_err(|c| c.to_string())?;
    Ok(())
}

#[test]
fn siblings_the_group_cancels_are_not_failures_when_they_let_the_cancellation_through() {
    let (err, sibling) = rt(1).run(async {
        let sibling = Arc::new(std::sync::Mutex::new(None));
        let s = sibling.clone();
        let err = TaskGroup::<String>::run(|tg| async move {
            let c = tg.spawn_try(waits_an_hour_with_question_mark());
            *s.lock().unwrap() = Some(c.task_ref());
            tg.spawn_try(async {
                corio::yield_now().await.unwrap();
                Err::<(), _>("division by zero".to_string())
            });
        })
        .await
        .unwrap_err();
        let sibling = sibling.lock().unwrap().take().unwrap();
        (err, sibling)
    });
    let f = err.failures();
    assert_eq!(f.len(), 1, "only the real failure: {f:?}");
    assert!(matches!(&f[0], Failure::Error { error, .. } if error == "division by zero"));
    assert!(
        sibling.done() && sibling.cancelled(),
        "the sibling ended cancelled"
    );
    assert!(!err.is_cancelled());
}

#[test]
fn cancelling_one_child_that_lets_it_through_is_not_a_failure_of_the_group() {
    let out = rt(2).run(async {
        TaskGroup::<String>::run(|tg| async move {
            let doomed = tg.spawn_try(waits_an_hour_with_question_mark());
            let survivor = tg.spawn_try(async {
                corio::sleep(20 * MS).await.map_err(|c| c.to_string())?;
                Ok(7)
            });
            corio::sleep(5 * MS).await.unwrap();
            assert!(doomed.cancel());
            (doomed, survivor)
        })
        .await
    });
    let (doomed, survivor) = out.expect("one cancelled child does not fail the group");
    assert!(doomed.cancelled());
    assert_eq!(rt(1).run(survivor).unwrap(), Some(7));
}

#[test]
fn an_outside_cancellation_reaches_the_parent_when_the_children_let_it_through() {
    let events = Log::default();
    let e = events.clone();
    let (out, children) = rt(2).run(async move {
        let children = Arc::new(std::sync::Mutex::new(Vec::new()));
        let ch = children.clone();
        let parent = corio::spawn(async move {
            let r = TaskGroup::<String>::run(|tg| async move {
                for _ in 0..3 {
                    ch.lock()
                        .unwrap()
                        .push(tg.spawn_try(waits_an_hour_with_question_mark()).task_ref());
                }
                corio::sleep(HOUR).await.map_err(|c| c.to_string())
            })
            .await;
            log(
                &e,
                format!(
                    "group: cancelled={:?}",
                    r.as_ref().err().map(|e| e.is_cancelled())
                ),
            );
            r.map(|_| "the parent finished normally")
        });
        corio::sleep(10 * MS).await.unwrap();
        parent.cancel_with("from outside");
        let out = parent.await;
        let children = children.lock().unwrap().clone();
        (out, children)
    });
    match out {
        Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("from outside")),
        other => panic!("the outside cancellation was swallowed: {other:?}"),
    }
    assert_eq!(*events.lock().unwrap(), ["group: cancelled=Some(true)"]);
    assert_eq!(children.len(), 3);
    assert!(children.iter().all(|c| c.done() && c.cancelled()));
}

#[test]
fn a_child_that_refuses_its_cancellation_and_returns_err_is_a_failure() {
    let err = rt(1).run(async {
        TaskGroup::<String>::run(|tg| async move {
            let c = tg.spawn_try(async {
                match corio::sleep(HOUR).await {
                    Ok(()) => Ok(()),
                    Err(c) => {
                        c.suppress();
                        Err("could not clean up".to_string())
                    }
                }
            });
            corio::yield_now().await.unwrap();
            c.cancel();
        })
        .await
        .unwrap_err()
    });
    assert!(
        matches!(err.failures(), [Failure::Error { error, .. }] if error == "could not clean up")
    );
}

#[test]
fn a_child_cancelled_before_it_returns_err_is_cancelled_whatever_it_returns() {
    // The request lands while the child runs and is never delivered: the
    // child ends cancelled, so its `Err` is not a failure.
    let out = rt(1).run(async {
        TaskGroup::<String>::run(|tg| async move {
            let c = tg.spawn_try(async {
                corio::current_task().unwrap().cancel();
                Err::<(), _>("raised after the cancel".to_string())
            });
            corio::yield_now().await.unwrap();
            c.task_ref()
        })
        .await
    });
    let child = out.expect("not a failure");
    assert!(child.cancelled());
}

// ---- A body that fails by returning an error (`try_run`) ----

#[test]
fn an_err_from_the_body_is_a_failure_and_cancels_the_children() {
    let cleaned = Arc::new(AtomicUsize::new(0));
    let c = cleaned.clone();
    let err = rt(2).run(async move {
        TaskGroup::<String>::try_run(|tg| async move {
            for _ in 0..2 {
                let c = c.clone();
                tg.spawn(async move {
                    if corio::sleep(HOUR).await.is_err() {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            corio::sleep(5 * MS).await.unwrap();
            let n: u32 = "x".parse().map_err(|_| "not a number".to_string())?;
            Ok(n)
        })
        .await
        .unwrap_err()
    });
    match err.failures() {
        [Failure::Error { name, error, .. }] => {
            assert_eq!(name, "body");
            assert_eq!(error, "not a number");
        }
        f => panic!("{f:?}"),
    }
    assert_eq!(
        cleaned.load(Ordering::SeqCst),
        2,
        "both children were cancelled"
    );
    assert!(!err.is_cancelled());
}

#[test]
fn try_run_returns_the_body_value_after_every_child() {
    let (v, child) = rt(2).run(async {
        TaskGroup::<String>::try_run(|tg| async move {
            let child = tg.spawn_try(async {
                corio::sleep(10 * MS).await.map_err(|c| c.to_string())?;
                Ok(1)
            });
            Ok((41, child))
        })
        .await
        .unwrap()
    });
    assert_eq!(v, 41);
    assert!(child.done());
}

#[test]
fn a_body_that_lets_the_groups_cancellation_through_with_question_mark_is_not_a_second_failure() {
    let err = rt(1).run(async {
        TaskGroup::<String>::try_run(|tg| async move {
            tg.spawn_try(async {
                corio::yield_now().await.unwrap();
                Err::<(), _>("child failed".to_string())
            });
            corio::sleep(HOUR).await.map_err(|c| c.to_string())?;
            Ok(())
        })
        .await
        .unwrap_err()
    });
    let f = err.failures();
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].name().starts_with("Task-"), "{f:?}");
}

#[test]
fn the_failures_are_in_order_with_the_body_error_after_an_earlier_child_failure() {
    let err = rt(1).run(async {
        TaskGroup::<String>::try_run(|tg| async move {
            tg.spawn(async { panic!("child first") });
            // The child's panic cancels the body; it refuses and fails.
            match corio::sleep(HOUR).await {
                Ok(()) => Ok(()),
                Err(c) => {
                    c.suppress();
                    Err("body second".to_string())
                }
            }
        })
        .await
        .unwrap_err()
    });
    let names: Vec<String> = err.failures().iter().map(ToString::to_string).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].ends_with("panicked: child first"), "{names:?}");
    assert_eq!(names[1], "body failed: body second");
}

#[test]
fn a_body_err_after_an_outside_cancellation_ends_the_group_cancelled() {
    let out = rt(1).run(async {
        let parent = corio::spawn(async {
            TaskGroup::<String>::try_run(|tg| async move {
                tg.spawn_try(waits_an_hour_with_question_mark());
                corio::sleep(HOUR).await.map_err(|c| c.to_string())?;
                Ok(())
            })
            .await
        });
        corio::yield_now().await.unwrap();
        parent.cancel();
        parent.await
    });
    assert!(matches!(out, Err(TaskError::Cancelled(_))), "{out:?}");
}

// ---- CPython 3.13 test_taskgroups cases (test_taskgroup_NN and named ones) ----

/// asyncio's `try: await sleep(10) finally: 1 / 0`: when cancelled, it refuses the
/// cancellation and fails in its own right.
async fn fails_when_cancelled() -> Result<(), String> {
    match corio::sleep(HOUR).await {
        Ok(()) => Ok(()),
        Err(c) => {
            c.suppress();
            Err("ZeroDivisionError".to_string())
        }
    }
}

/// asyncio's `crash_after(t)`: sleeps, then fails. A cancellation goes on through `?`
/// (the child then ends cancelled, not failed).
async fn crash_after(d: Duration, error: &'static str) -> Result<(), String> {
    corio::sleep(d).await.map_err(|c| c.to_string())?;
    Err(error.to_string())
}

#[test]
fn a_child_spawned_after_every_earlier_child_finished_is_still_awaited() {
    let (first, second) = rt(1).run(async {
        TaskGroup::<()>::run(|tg| async move {
            let a = tg.spawn(async {
                corio::sleep(10 * MS).await.unwrap();
                42
            });
            // Every child so far has finished: the group is still open.
            let first = a.await.unwrap();
            assert!(!tg.is_closing());
            let b = tg.spawn(async {
                corio::sleep(10 * MS).await.unwrap();
                11
            });
            (first, b)
        })
        .await
        .unwrap()
    });
    assert_eq!(first, 42);
    assert!(second.done(), "leaving waited for the late child");
    assert_eq!(rt(1).run(second).unwrap(), 11);
}

#[test]
fn a_body_err_before_its_first_await_cancels_children_that_never_ran() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let (err, children) = rt(1).run(async move {
        let children = Arc::new(std::sync::Mutex::new(Vec::new()));
        let ch = children.clone();
        let err = TaskGroup::<String>::try_run(|tg| async move {
            for _ in 0..2 {
                let r = r.clone();
                let c = tg.spawn(async move {
                    r.fetch_add(1, Ordering::SeqCst);
                    corio::sleep(HOUR).await
                });
                ch.lock().unwrap().push(c.task_ref());
            }
            Err::<(), _>("ZeroDivisionError".to_string())
        })
        .await
        .unwrap_err();
        let children: Vec<TaskRef> = children.lock().unwrap().clone();
        (err, children)
    });
    assert!(matches!(
        err.failures(),
        [Failure::Error { name, error, .. }] if name == "body" && error == "ZeroDivisionError"
    ));
    assert!(children.iter().all(|t| t.done() && t.cancelled()));
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "cancelled before their first poll"
    );
}

#[test]
fn cleanup_failures_of_an_inner_group_during_an_outside_cancellation_fail_the_outer_group() {
    let (out, outer_child) = rt(1).run(async {
        let slot = Arc::new(std::sync::Mutex::new(None));
        let s = slot.clone();
        let t = corio::spawn(async move {
            TaskGroup::<TaskGroupError<String>>::try_run(|g1| async move {
                // test_taskgroup_12's outer child (test_taskgroup_11: leave it out).
                let c = g1.spawn(async { corio::sleep(HOUR).await });
                *s.lock().unwrap() = Some(c.task_ref());
                TaskGroup::<String>::run(|g2| async move {
                    for _ in 0..5 {
                        g2.spawn_try(fails_when_cancelled());
                    }
                    // The outside cancellation arrives here and goes through.
                    let _ = corio::sleep(HOUR).await;
                })
                .await?;
                Ok(())
            })
            .await
        });
        corio::sleep(10 * MS).await.unwrap();
        t.cancel();
        let out = t.await;
        let child = slot.lock().unwrap().take().unwrap();
        (out, child)
    });
    let err = out
        .expect("the failures win: the task is not cancelled")
        .unwrap_err();
    match err.failures() {
        [Failure::Error {
            name, error: inner, ..
        }] => {
            assert_eq!(name, "body");
            assert_eq!(inner.failures().len(), 5);
            assert!(inner.failures().iter().all(
                |f| matches!(f, Failure::Error { error, .. } if error == "ZeroDivisionError")
            ));
            assert!(inner.cancelled().is_some() && !inner.is_cancelled());
        }
        f => panic!("{f:?}"),
    }
    assert!(!err.is_cancelled());
    assert!(outer_child.done() && outer_child.cancelled());
}

#[test]
fn an_outer_failure_cancels_a_nested_group_which_ends_cancelled_not_failed() {
    let events = Log::default();
    let e = events.clone();
    let err = rt(1).run(async move {
        TaskGroup::<String>::run(|g1| async move {
            g1.spawn_try(crash_after(10 * MS, "ValueError(0.1)"));
            let inner = TaskGroup::<String>::run(|g2| async move {
                g2.spawn_try(crash_after(HOUR, "ValueError(10)"));
            })
            .await
            .unwrap_err();
            log(
                &e,
                format!(
                    "inner: is_cancelled={} scope={:?} failures={}",
                    inner.is_cancelled(),
                    inner.cancelled().map(|c| c.scope()),
                    inner.failures().len()
                ),
            );
        })
        .await
        .unwrap_err()
    });
    assert!(matches!(err.failures(), [Failure::Error { error, .. }] if error == "ValueError(0.1)"));
    assert!(!err.is_cancelled());
    assert_eq!(
        *events.lock().unwrap(),
        ["inner: is_cancelled=true scope=Some(TaskGroup) failures=0"]
    );
}

#[test]
fn an_inner_groups_failure_fails_the_outer_group_as_its_body_failure() {
    let (err, outer_child) = rt(1).run(async {
        let slot = Arc::new(std::sync::Mutex::new(None));
        let s = slot.clone();
        let err = TaskGroup::<TaskGroupError<String>>::try_run(|g1| async move {
            let c = g1.spawn(async { corio::sleep(HOUR).await });
            *s.lock().unwrap() = Some(c.task_ref());
            TaskGroup::<String>::run(|g2| async move {
                g2.spawn_try(crash_after(10 * MS, "ValueError(0.1)"));
            })
            .await?;
            Ok(())
        })
        .await
        .unwrap_err();
        let child = slot.lock().unwrap().take().unwrap();
        (err, child)
    });
    match err.failures() {
        [Failure::Error {
            name, error: inner, ..
        }] => {
            assert_eq!(name, "body");
            assert!(matches!(
                inner.failures(),
                [Failure::Error { error, .. }] if error == "ValueError(0.1)"
            ));
        }
        f => panic!("{f:?}"),
    }
    assert!(outer_child.done() && outer_child.cancelled());
}

#[test]
fn a_child_failure_during_the_bodys_cleanup_from_an_outside_cancellation_wins() {
    let events = Log::default();
    let e = events.clone();
    let out = rt(1).run(async move {
        let t = corio::spawn(async move {
            TaskGroup::<String>::run(|tg| async move {
                tg.spawn_try(crash_after(30 * MS, "ZeroDivisionError"));
                let c = corio::sleep(HOUR).await.unwrap_err();
                log(&e, format!("body: {:?}", c.scope()));
                // Cleanup that awaits; the child fails meanwhile and the group cancels it.
                let c = corio::sleep(HOUR).await.unwrap_err();
                log(&e, format!("cleanup: {:?}", c.scope()));
            })
            .await
        });
        corio::sleep(10 * MS).await.unwrap();
        t.cancel();
        t.await
    });
    let err = out
        .expect("the failure wins over the cancellation")
        .unwrap_err();
    assert!(
        matches!(err.failures(), [Failure::Error { error, .. }] if error == "ZeroDivisionError")
    );
    assert!(err.cancelled().is_some() && !err.is_cancelled());
    assert_eq!(
        *events.lock().unwrap(),
        ["body: Task", "cleanup: TaskGroup"]
    );
}

#[test]
fn a_cancellation_forwarded_to_the_task_running_the_group_loses_to_a_child_failure() {
    let out = rt(1).run(async {
        let runner = corio::spawn(async {
            corio::spawn(async {
                TaskGroup::<String>::run(|tg| async move {
                    tg.spawn_try(crash_after(30 * MS, "ZeroDivisionError"));
                    let _ = corio::sleep(HOUR).await; // the forwarded cancellation
                    let _ = corio::sleep(HOUR).await; // cleanup, cancelled by the group
                })
                .await
            })
            .await
        });
        corio::sleep(10 * MS).await.unwrap();
        runner.cancel();
        runner.await
    });
    let err = out
        .expect("the runner is not cancelled")
        .expect("the task running the group is not cancelled")
        .unwrap_err();
    assert!(
        matches!(err.failures(), [Failure::Error { error, .. }] if error == "ZeroDivisionError")
    );
    assert!(!err.is_cancelled());
}

#[test]
fn a_body_that_refuses_an_outside_cancellation_and_returns_err_fails_the_group() {
    let out = rt(1).run(async {
        let t = corio::spawn(async {
            let err = TaskGroup::<String>::try_run(|_tg| async move {
                match corio::sleep(HOUR).await {
                    Ok(()) => Ok(()),
                    Err(c) => {
                        c.suppress();
                        Err("MyExc".to_string())
                    }
                }
            })
            .await
            .unwrap_err();
            let me = corio::current_task().unwrap();
            (err.to_string(), err.is_cancelled(), me.cancelling())
        });
        corio::yield_now().await.unwrap();
        t.cancel();
        t.await
    });
    let (msg, cancelled, cancelling) = out.expect("the failure wins: the task is not cancelled");
    assert_eq!(msg, "1 failure in a task group: body failed: MyExc");
    assert!(!cancelled);
    assert_eq!(
        cancelling, 1,
        "suppress() refuses the request, it does not withdraw it"
    );
}

#[test]
fn a_body_that_panics_while_the_group_cancels_it_is_a_second_failure() {
    let err = rt(1).run(async {
        TaskGroup::<String>::run(|tg| async move {
            tg.spawn_try(async {
                corio::yield_now().await.map_err(|c| c.to_string())?;
                Err::<(), _>("ZeroDivisionError".to_string())
            });
            if corio::sleep(HOUR).await.is_err() {
                panic!("MyBaseExc");
            }
        })
        .await
        .unwrap_err()
    });
    let f: Vec<String> = err.failures().iter().map(ToString::to_string).collect();
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f[0].ends_with("failed: ZeroDivisionError"), "{f:?}");
    assert_eq!(f[1], "body panicked: MyBaseExc");
}

fn hydra(
    tg: TaskGroup<String>,
    heads: Arc<AtomicUsize>,
) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
    Box::pin(async move {
        heads.fetch_add(1, Ordering::SeqCst);
        corio::sleep(MS).await.map_err(|c| c.to_string())?;
        tg.spawn_try(hydra(tg.clone(), heads.clone()));
        tg.spawn_try(hydra(tg.clone(), heads.clone()));
        Ok(())
    })
}

#[test]
fn a_failure_stops_children_that_keep_spawning_children() {
    let heads = Arc::new(AtomicUsize::new(0));
    let h = heads.clone();
    let err = rt(1).run(async move {
        TaskGroup::<String>::run(|tg| async move {
            tg.spawn_try(hydra(tg.clone(), h.clone()));
            tg.spawn_try(async move {
                while h.load(Ordering::SeqCst) < 10 {
                    corio::sleep(MS).await.map_err(|c| c.to_string())?;
                }
                Err::<(), _>("ZeroDivisionError".to_string())
            });
        })
        .await
        .unwrap_err()
    });
    assert!(
        matches!(err.failures(), [Failure::Error { error, .. }] if error == "ZeroDivisionError")
    );
    assert!(heads.load(Ordering::SeqCst) >= 10);
}

static REQUEST: corio::ContextVar<u32> = corio::ContextVar::new("request");

#[test]
fn group_children_copy_the_context_of_the_code_that_spawns_them() {
    rt(1).run(async {
        let _ = REQUEST.set(1);
        TaskGroup::<()>::run(|tg| async move {
            let c = tg.spawn(async {
                let seen = REQUEST.get();
                let _ = REQUEST.set(2);
                seen
            });
            assert_eq!(c.await.unwrap(), Some(1));
            assert_eq!(REQUEST.get(), Some(1), "a child's set stays its own");
        })
        .await
        .unwrap();
    });
}

#[test]
fn running_a_group_outside_the_runtime_panics_with_no_running_event_loop() {
    let payload = std::panic::catch_unwind(|| {
        let _run = TaskGroup::<()>::run(|_tg| async {});
    })
    .unwrap_err();
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains("no running event loop"), "{msg}");
}

#[test]
fn a_future_spawned_into_a_finished_group_is_dropped_without_running() {
    struct OnDrop(Arc<AtomicUsize>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let polled = Arc::new(AtomicUsize::new(0));
    let (d, p) = (dropped.clone(), polled.clone());
    rt(1).run(async move {
        let tg = TaskGroup::<()>::run(|tg| async move { tg }).await.unwrap();
        let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let guard = OnDrop(d);
            drop(tg.spawn(async move {
                let _guard = guard;
                p.fetch_add(1, Ordering::SeqCst);
            }));
        }));
        assert!(spawned.is_err());
        corio::yield_now().await.unwrap(); // a worker picks the rejected task up and drops it
    });
    assert_eq!(polled.load(Ordering::SeqCst), 0);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn nested_groups_failing_together_keep_the_outer_groups_cancellation_of_the_body() {
    let events = Log::default();
    let e = events.clone();
    let (err, cancelling) = rt(1).run(async move {
        let me = corio::current_task().unwrap();
        let err = TaskGroup::<String>::run(|outer| async move {
            let inner = TaskGroup::<String>::run(|inner| {
                let outer = outer.clone();
                async move {
                    inner.spawn_try(async {
                        corio::yield_now().await.map_err(|c| c.to_string())?;
                        Err::<(), _>("RuntimeError".to_string())
                    });
                    outer.spawn_try(async {
                        corio::yield_now().await.map_err(|c| c.to_string())?;
                        Err::<(), _>("ValueError".to_string())
                    });
                }
            })
            .await
            .unwrap_err();
            log(&e, format!("inner: {}", inner));
            // asyncio 3.13: cancelling() == 1 here; the next await is cancelled.
            // (Bounded, so that today's behaviour fails fast instead of hanging.)
            match corio::sleep(50 * MS).await {
                Err(c) => log(&e, format!("outer body cancelled: {:?}", c.scope())),
                Ok(()) => log(&e, "outer body was not cancelled"),
            }
        })
        .await
        .unwrap_err();
        (err, me.cancelling())
    });
    assert!(matches!(err.failures(), [Failure::Error { error, .. }] if error == "ValueError"));
    assert_eq!(cancelling, 0);
    let ev = events.lock().unwrap();
    assert!(
        ev[0].starts_with("inner: 1 failure in a task group:") && ev[0].ends_with("RuntimeError"),
        "{ev:?}"
    );
    assert_eq!(ev[1], "outer body cancelled: TaskGroup", "{ev:?}");
}

#[test]
fn failures_that_win_over_an_outside_cancellation_refuse_it_for_the_code_after_the_group() {
    let out = rt(1).run(async {
        let t = corio::spawn(async {
            let me = corio::current_task().unwrap();
            let me2 = me.clone();
            let err = TaskGroup::<String>::run(|tg| async move {
                tg.spawn_try(async move {
                    me2.cancel(); // the outside cancellation and the failure collide
                    Err::<(), _>("RuntimeError".to_string())
                });
                corio::sleep(HOUR).await.map_err(|c| c.to_string())
            })
            .await
            .unwrap_err();
            assert_eq!(err.failures().len(), 1);
            assert!(err.cancelled().is_some() && !err.is_cancelled());
            let cancelling = me.cancelling(); // 1, as in asyncio
                                              // asyncio 3.13: this await raises CancelledError. corio: the request was refused.
            let after = corio::sleep(MS).await;
            (cancelling, after.is_ok())
        });
        t.await
    });
    assert_eq!(out.expect("the task is not cancelled"), (1, true));
}

#[test]
fn a_child_whose_own_child_fails_at_once_is_cancelled_at_its_next_await() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let err = rt(1).run(async move {
        TaskGroup::<String>::run(|tg| async move {
            let tg2 = tg.clone();
            tg.spawn(async move {
                tg2.spawn_try(async { Err::<(), _>("third task failed".to_string()) });
                let cancelled = match corio::yield_now().await {
                    Err(_) => true,
                    Ok(()) => corio::yield_now().await.is_err(),
                };
                assert!(cancelled, "the sibling's failure cancels this child");
                r.fetch_add(1, Ordering::SeqCst);
            });
        })
        .await
        .unwrap_err()
    });
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert!(
        matches!(err.failures(), [Failure::Error { error, .. }] if error == "third task failed")
    );
}

#[test]
fn an_expired_timeout_around_a_group_is_a_timeout_error() {
    let out = rt(1).run(async {
        corio::timeout(
            10 * MS,
            TaskGroup::<String>::run(|tg| async move {
                tg.spawn_try(waits_an_hour_with_question_mark());
            }),
        )
        .await
    });
    assert!(out.is_err(), "TimeoutError: {out:?}");
}

#[test]
fn child_failures_win_over_an_expiring_timeout_around_the_group() {
    let out = rt(1).run(async {
        corio::timeout(
            10 * MS,
            TaskGroup::<String>::run(|tg| async move {
                tg.spawn_try(fails_when_cancelled());
            }),
        )
        .await
    });
    let err = out
        .expect("asyncio 3.13: the ExceptionGroup goes through the timeout")
        .unwrap_err();
    assert!(
        matches!(err.failures(), [Failure::Error { error, .. }] if error == "ZeroDivisionError")
    );
}

#[test]
fn a_body_that_lets_an_enclosing_timeout_through_cancels_the_children() {
    // The timeout expires while the body waits; the body lets the
    // cancellation through, so the children are cancelled too (asyncio:
    // the block raises CancelledError, and the group aborts).
    let start = Instant::now();
    let (out, child) = rt(1).run(async {
        let slot = Arc::new(std::sync::Mutex::new(None));
        let s = slot.clone();
        let out = corio::timeout(
            10 * MS,
            TaskGroup::<()>::run(|tg| async move {
                let c = tg.spawn(async { corio::sleep(2 * 1000 * MS).await });
                *s.lock().unwrap() = Some(c.task_ref());
                let _ = corio::sleep(HOUR).await;
            }),
        )
        .await;
        let child = slot.lock().unwrap().take().unwrap();
        (out, child)
    });
    assert!(out.is_err(), "a TimeoutError: {out:?}");
    assert!(child.done() && child.cancelled());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "the group waited for its child to finish on its own"
    );
}

#[test]
fn a_try_run_body_that_lets_an_enclosing_timeout_through_with_question_mark_is_not_a_failure() {
    let out = rt(1).run(async {
        corio::timeout(
            10 * MS,
            TaskGroup::<String>::try_run(|tg| async move {
                tg.spawn(async { corio::sleep(HOUR).await });
                corio::sleep(HOUR).await.map_err(|c| c.to_string())?;
                Ok(())
            }),
        )
        .await
    });
    // The timeout's cancellation went through the body: a TimeoutError,
    // not a failure of the group.
    assert!(out.is_err(), "{out:?}");
}
