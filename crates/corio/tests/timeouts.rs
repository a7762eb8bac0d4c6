//! asyncio's timeouts: `wait_for`, `timeout`, `timeout_at` cancel only the
//! future they guard, wait for it to clean up, and turn their own
//! cancellation (only theirs) into `TimeoutError`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corio::{CancelScope, Cancelled, TaskError, TimeoutError};

mod common;
use common::{log, rt, Log, HOUR, MS};

#[test]
fn seed_eternity_wait_for_prints_timeout() {
    // asyncio's wait_for example: eternity() sleeps an hour; wait_for gives
    // it 1 s (here 20 ms) and prints "timeout!".
    let l: Log = Arc::default();
    let l2 = l.clone();
    let start = Instant::now();
    corio::run(async move {
        let le = l2.clone();
        let eternity = async move {
            corio::sleep(HOUR).await?;
            log(&le, "yay!");
            Ok::<(), Cancelled>(())
        };
        match corio::wait_for(eternity, 20 * MS).await {
            Err(TimeoutError { .. }) => log(&l2, "timeout!"),
            Ok(r) => panic!("no timeout: {r:?}"),
        }
    });
    assert_eq!(*l.lock().unwrap(), ["timeout!"]);
    let took = start.elapsed();
    assert!(took >= 20 * MS && took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn wait_for_on_expiry_waits_for_the_cleanup_of_the_cancelled_future() {
    let l: Log = Arc::default();
    let l2 = l.clone();
    let start = Instant::now();
    let r = rt(1).run(async move {
        let lc = l2.clone();
        let r = corio::wait_for(
            async move {
                if corio::sleep(HOUR).await.is_err() {
                    // Cleanup that awaits: one request, one delivery.
                    corio::sleep(30 * MS).await.unwrap();
                    log(&lc, "cleaned up");
                }
                "unused"
            },
            10 * MS,
        )
        .await;
        log(&l2, "wait_for returned");
        r
    });
    assert_eq!(r, Err(TimeoutError::new()));
    assert_eq!(*l.lock().unwrap(), ["cleaned up", "wait_for returned"]);
    assert!(
        start.elapsed() >= 40 * MS,
        "wait_for did not wait for the cleanup"
    );
}

#[test]
fn wait_for_returns_the_value_of_a_future_that_refuses_the_cancellation() {
    let r = rt(1).run(async {
        corio::wait_for(
            async {
                match corio::sleep(HOUR).await {
                    Err(c) => {
                        assert_eq!(c.scope(), CancelScope::Timeout);
                        c.suppress();
                        "refused"
                    }
                    Ok(()) => "slept",
                }
            },
            5 * MS,
        )
        .await
    });
    assert_eq!(r, Ok("refused"));
}

#[test]
fn wait_for_gives_the_output_of_a_future_that_finishes_in_time() {
    rt(2).run(async {
        let r = corio::wait_for(
            async {
                corio::sleep(5 * MS).await.unwrap();
                "in time"
            },
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(r, Ok("in time"));
        // And the task goes on normally afterwards.
        corio::sleep(MS).await.unwrap();
    });
}

#[test]
fn wait_for_none_waits_as_long_as_it_takes() {
    let r = rt(1).run(async {
        corio::wait_for(
            async {
                corio::sleep(30 * MS).await.unwrap();
                3
            },
            None,
        )
        .await
    });
    assert_eq!(r, Ok(3));
}

#[test]
fn a_panic_during_the_cleanup_of_a_timed_out_future_is_what_the_caller_sees() {
    let out = rt(1).run(async {
        let task = corio::spawn(async {
            corio::wait_for(
                async {
                    if corio::sleep(HOUR).await.is_err() {
                        panic!("cleanup failed");
                    }
                },
                5 * MS,
            )
            .await
        });
        task.await
    });
    match out {
        Err(TaskError::Panicked { message, .. }) => assert_eq!(message, "cleanup failed"),
        other => panic!("expected the cleanup's panic, got {other:?}"),
    }
}

#[test]
fn an_outer_cancel_in_the_same_tick_as_the_expiry_is_not_lost() {
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let s = seen.clone();
    let outcome = rt(1).run(async move {
        let task = corio::spawn(async move {
            // Expires at once: the request lands at the task's next poll.
            let r = corio::timeout(Duration::ZERO, async {
                let r = corio::sleep(HOUR).await;
                // One delivery for both requests: the cleanup awaits normally.
                corio::sleep(MS)
                    .await
                    .expect("a second cancellation was delivered");
                r
            })
            .await;
            *s.lock().unwrap() = Some(match &r {
                Err(TimeoutError { .. }) => "timeout".to_owned(),
                Ok(Err(c)) => format!("cancelled by {:?}", c.scope()),
                Ok(Ok(())) => "slept".to_owned(),
            });
            r.is_ok()
        });
        // The task's first poll: the zero timeout has not fired yet (it
        // fires at the next await, like asyncio's call_soon); then the
        // outer cancel arrives before its second poll, where both land.
        corio::yield_now().await.unwrap();
        task.cancel();
        task.await
    });
    assert_eq!(seen.lock().unwrap().as_deref(), Some("cancelled by Task"));
    assert!(
        outcome.unwrap_err().is_cancelled(),
        "the outer cancellation was swallowed by the timeout"
    );
}

#[test]
fn with_nested_timeouts_only_the_scope_that_expired_reports_timeout() {
    rt(1).run(async {
        // The outer one expires; the inner one lets the cancellation pass.
        let r = corio::timeout(5 * MS, async {
            corio::timeout(HOUR, async { corio::sleep(HOUR).await }).await
        })
        .await;
        assert_eq!(r, Err(TimeoutError::new()));

        // The inner one expires; the outer one sees an ordinary output.
        let r = corio::timeout(HOUR, async {
            corio::timeout(5 * MS, async { corio::sleep(HOUR).await }).await
        })
        .await;
        assert_eq!(r, Ok(Err(TimeoutError::new())));

        // Both expire together: the outer (outermost) request is delivered,
        // the inner one is absorbed by it, so only the outer reports.
        let r = corio::timeout(Duration::ZERO, async {
            corio::timeout(Duration::ZERO, async {
                corio::yield_now().await?;
                corio::sleep(HOUR).await
            })
            .await
        })
        .await;
        assert_eq!(r, Err(TimeoutError::new()));
    });
}

#[test]
fn zero_and_past_deadlines_cancel_at_the_next_await_never_in_code_without_one() {
    rt(1).run(async {
        assert_eq!(corio::timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        let past = Instant::now() - Duration::from_millis(50);
        assert_eq!(corio::timeout_at(past, async { 6 }).await, Ok(6));
        let r = corio::timeout(Duration::ZERO, async {
            corio::yield_now().await?;
            corio::yield_now().await?;
            Ok::<_, Cancelled>(7)
        })
        .await;
        assert_eq!(r, Err(TimeoutError::new()));
        let r = corio::timeout_at(past, async {
            corio::sleep(HOUR).await?;
            Ok::<_, Cancelled>(8)
        })
        .await;
        assert_eq!(r, Err(TimeoutError::new()));
    });
}

#[test]
fn a_timeout_never_fires_before_its_deadline() {
    rt(2).run(async {
        for ms in [1u32, 3, 10] {
            let start = Instant::now();
            let r = corio::timeout(ms * MS, async { corio::sleep(HOUR).await }).await;
            assert!(r.is_err());
            assert!(start.elapsed() >= ms * MS, "fired early");
        }
    });
}

#[test]
fn reschedule_moves_the_deadline_and_expired_reports_it() {
    rt(1).run(async {
        let mut t = std::pin::pin!(corio::timeout(MS, async {
            corio::sleep(20 * MS).await.unwrap();
            "done"
        }));
        t.as_mut()
            .reschedule(Some(Instant::now() + Duration::from_secs(60)));
        assert!(!t.expired());
        assert_eq!(t.as_mut().await, Ok("done"));

        let mut t = std::pin::pin!(corio::timeout(HOUR, async { corio::sleep(HOUR).await }));
        t.as_mut().reschedule(Some(Instant::now() + 5 * MS));
        assert_eq!(t.as_mut().await, Err(TimeoutError::new()));
        assert!(t.expired());
    });
}

#[test]
fn wait_for_on_a_task_cancels_the_task_on_expiry() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let c = cancelled.clone();
    rt(2).run(async move {
        let task = corio::spawn(async move {
            let r = corio::sleep(HOUR).await;
            c.store(r.is_err(), Ordering::SeqCst);
            r
        });
        let r = corio::wait_for(task, 10 * MS).await;
        assert_eq!(r.map(|_| ()), Err(TimeoutError::new()));
    });
    assert!(
        cancelled.load(Ordering::SeqCst),
        "the awaited task was not cancelled"
    );
}

#[test]
fn a_cancel_of_the_task_reaches_a_future_inside_a_timeout() {
    let out = rt(1).run(async {
        let task = corio::spawn(async {
            let r = corio::timeout(HOUR, async { corio::sleep(HOUR).await }).await;
            // Not a timeout: the task's own cancellation, passed through.
            assert_eq!(r.unwrap().unwrap_err().scope(), CancelScope::Task);
        });
        corio::yield_now().await.unwrap();
        task.cancel();
        task.await
    });
    assert!(out.unwrap_err().is_cancelled());
}

#[test]
fn timeout_scope_lets_the_body_set_move_and_lift_its_deadline() {
    rt(1).run(async {
        // asyncio: async with timeout(None) as cm: cm.reschedule(soon)
        let start = Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        let r = corio::timeout_scope(None, |cm| async move {
            tx.send(cm.clone()).unwrap();
            assert!(cm.deadline().is_none());
            cm.reschedule(Some(Instant::now() + 10 * MS));
            corio::sleep(HOUR).await?;
            Ok::<_, Cancelled>(())
        })
        .await;
        assert_eq!(r, Err(TimeoutError::new()));
        assert!(start.elapsed() >= 10 * MS && start.elapsed() < Duration::from_secs(5));
        let cm = rx.recv().unwrap();
        assert!(cm.expired());
        cm.reschedule(None); // after expiry: ignored
        assert!(cm.expired());

        // Moving it later in the middle of the body keeps the body alive.
        let r = corio::timeout_scope(Some(Instant::now() + 5 * MS), |cm| async move {
            cm.reschedule(Some(Instant::now() + Duration::from_secs(60)));
            corio::sleep(20 * MS).await.unwrap();
            "lived"
        })
        .await;
        assert_eq!(r, Ok("lived"));
    });
}

#[test]
fn a_timeout_handle_can_reschedule_from_another_task() {
    rt(2).run(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let timed = corio::spawn(corio::timeout_scope(None, |cm| async move {
            tx.send(cm).unwrap();
            corio::sleep(HOUR).await
        }));
        corio::sleep(5 * MS).await.unwrap();
        let cm = rx.recv().unwrap();
        cm.reschedule(Some(Instant::now())); // wakes the timed task
        let r = timed.await.unwrap();
        assert_eq!(r.map(|_| ()), Err(TimeoutError::new()));
        assert!(cm.expired());
    });
}
