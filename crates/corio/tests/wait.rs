//! asyncio's wait: (done, pending) by ReturnWhen, a timeout that never
//! cancels, empty input as an error.

use std::time::{Duration, Instant};

use corio::{ReturnWhen, WaitError};

mod common;
use common::{rt, HOUR, MS};

#[test]
fn first_completed_returns_everything_done_by_the_time_the_waiter_resumes() {
    rt(1).run(async {
        let a = corio::spawn(async { 1 });
        let b = corio::spawn(async { 2 });
        let slow = corio::spawn(async {
            corio::sleep(HOUR).await.unwrap();
            3
        });
        // On one worker a and b both finish before the waiter runs again.
        let (done, pending) = corio::wait([a, b, slow], None, ReturnWhen::FirstCompleted)
            .await
            .unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(pending.len(), 1);
        let mut outputs = Vec::new();
        for t in done {
            outputs.push(t.await.unwrap()); // the outputs are still there
        }
        assert_eq!(outputs, [1, 2]);
        assert!(!pending[0].done());
    });
}

#[test]
fn first_exception_returns_at_the_first_panic_and_not_at_a_cancellation() {
    rt(2).run(async {
        let cancelled = corio::spawn(async {
            corio::current_task().unwrap().cancel();
            corio::yield_now().await.map(|_| 0)
        });
        let panics = corio::spawn(async {
            corio::sleep(20 * MS).await.unwrap();
            panic!("boom")
        });
        let slow = corio::spawn(async {
            corio::sleep(HOUR).await.unwrap();
            Ok(1)
        });
        let start = Instant::now();
        let (done, pending) =
            corio::wait([cancelled, panics, slow], None, ReturnWhen::FirstException)
                .await
                .unwrap();
        // It waited past the cancellation, for the panic, not for the slow one.
        assert!(start.elapsed() >= 20 * MS && start.elapsed() < Duration::from_secs(5));
        assert_eq!(done.len(), 2);
        assert!(done.iter().any(|t| t.panicked()));
        assert!(done.iter().any(|t| t.cancelled()));
        assert_eq!(pending.len(), 1);
    });
}

#[test]
fn first_exception_without_a_panic_waits_for_all() {
    rt(2).run(async {
        let tasks = (0..3u32).map(|i| {
            corio::spawn(async move {
                corio::sleep(i * 5 * MS).await.unwrap();
                i
            })
        });
        let (done, pending) = corio::wait(tasks, None, ReturnWhen::FirstException)
            .await
            .unwrap();
        assert_eq!(done.len(), 3);
        assert!(pending.is_empty());
    });
}

#[test]
fn all_completed_waits_for_every_task() {
    rt(2).run(async {
        let tasks: Vec<_> = (1..=4u32)
            .map(|i| {
                corio::spawn(async move {
                    corio::sleep(i * 5 * MS).await.unwrap();
                    i
                })
            })
            .collect();
        let (done, pending) = corio::wait(tasks, None, ReturnWhen::AllCompleted)
            .await
            .unwrap();
        assert!(pending.is_empty());
        let mut sum = 0;
        for t in done {
            sum += t.await.unwrap();
        }
        assert_eq!(sum, 10);
    });
}

#[test]
fn a_timeout_returns_the_split_and_never_cancels_anything() {
    rt(2).run(async {
        let slow = corio::spawn(async {
            corio::sleep(40 * MS).await.unwrap();
            "finished anyway"
        });
        let start = Instant::now();
        let (done, mut pending) = corio::wait([slow], 10 * MS, ReturnWhen::AllCompleted)
            .await
            .unwrap();
        assert!(start.elapsed() >= 10 * MS);
        assert!(done.is_empty());
        let slow = pending.pop().unwrap();
        assert!(!slow.cancelled());
        assert_eq!(slow.await.unwrap(), "finished anyway");
    });
}

#[test]
fn wait_on_no_task_is_an_error_with_a_clear_message() {
    rt(1).run(async {
        let none: Vec<corio::Task<()>> = Vec::new();
        let err = corio::wait(none, None, ReturnWhen::AllCompleted)
            .await
            .unwrap_err();
        assert!(matches!(err, WaitError::Empty));
        assert!(err.to_string().contains("no task"), "{err}");
    });
}

#[test]
fn a_cancelled_wait_hands_the_tasks_back_uncancelled() {
    let out = rt(1).run(async {
        let waiter = corio::spawn(async {
            let t = corio::spawn(async {
                corio::sleep(20 * MS).await.unwrap();
                5
            });
            match corio::wait([t], None, ReturnWhen::AllCompleted).await {
                Err(WaitError::Cancelled { cancelled, tasks }) => {
                    cancelled.suppress();
                    let t = tasks.into_iter().next().unwrap();
                    assert!(!t.cancelled());
                    t.await.unwrap() // still running, finishes normally
                }
                other => panic!("expected a cancellation, got {other:?}"),
            }
        });
        corio::yield_now().await.unwrap();
        waiter.cancel();
        waiter.await
    });
    assert_eq!(out.unwrap(), 5);
}
