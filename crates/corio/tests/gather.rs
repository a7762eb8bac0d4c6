//! asyncio's gather: children run concurrently as tasks; outputs in input
//! order; the first failure returns at once while the others run on;
//! cancelling the gather cancels the children; `gather_settled` is
//! `return_exceptions=True`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corio::{GatherError, TaskError};

mod common;
use common::{log, rt, Log, HOUR, MS};

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

#[test]
fn seed_gather_factorial_prints_in_the_seeds_order() {
    // asyncio's gather example, 1 s -> 20 ms, on one worker (asyncio's order).
    async fn factorial(l: Log, name: &'static str, number: u64) -> u64 {
        let mut f = 1;
        for i in 2..=number {
            log(&l, format!("Task {name}: Compute factorial({i})..."));
            corio::sleep(20 * MS).await.unwrap();
            f *= i;
        }
        log(&l, format!("Task {name}: factorial({number}) = {f}"));
        f
    }
    let l: Log = Arc::default();
    let l2 = l.clone();
    let out = rt(1).run(async move {
        corio::gather!(
            factorial(l2.clone(), "A", 2),
            factorial(l2.clone(), "B", 3),
            factorial(l2.clone(), "C", 4),
        )
        .await
        .unwrap()
    });
    assert_eq!(out, (2, 6, 24));
    assert_eq!(
        *l.lock().unwrap(),
        [
            "Task A: Compute factorial(2)...",
            "Task B: Compute factorial(2)...",
            "Task C: Compute factorial(2)...",
            "Task A: factorial(2) = 2",
            "Task B: Compute factorial(3)...",
            "Task C: Compute factorial(3)...",
            "Task B: factorial(3) = 6",
            "Task C: Compute factorial(4)...",
            "Task C: factorial(4) = 24",
        ]
    );
}

#[test]
fn gather_runs_children_concurrently_and_keeps_input_order() {
    let start = Instant::now();
    let out = rt(2).run(async {
        // The later ones finish first; the output is still in input order.
        corio::gather((0..10u64).map(|i| async move {
            corio::sleep((10 - i as u32) * 5 * MS).await.unwrap();
            i
        }))
        .await
        .unwrap()
    });
    assert_eq!(out, (0..10).collect::<Vec<_>>());
    // Ten sleeps of up to 50 ms, concurrently: far less than their 275 ms sum.
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn the_first_failure_returns_at_once_and_the_others_keep_running() {
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    rt(2).run(async move {
        let start = Instant::now();
        let futures: Vec<BoxFut<u32>> = vec![
            Box::pin(async move {
                corio::sleep(60 * MS).await.unwrap();
                f.store(true, Ordering::SeqCst);
                1
            }),
            Box::pin(async {
                corio::sleep(5 * MS).await.unwrap();
                panic!("child two failed")
            }),
        ];
        match corio::gather(futures).await {
            Err(TaskError::Panicked { message, .. }) => assert_eq!(message, "child two failed"),
            other => panic!("expected the panic, got {other:?}"),
        }
        assert!(
            start.elapsed() < 50 * MS,
            "the gather waited for the slow child"
        );
        corio::sleep(100 * MS).await.unwrap();
    });
    assert!(
        finished.load(Ordering::SeqCst),
        "the other child was stopped"
    );
}

#[test]
fn cancelling_the_gather_cancels_every_child() {
    let cancelled = Arc::new(AtomicUsize::new(0));
    let c = cancelled.clone();
    rt(2).run(async move {
        let gatherer = corio::spawn(async move {
            corio::gather((0..5).map(|_| {
                let c = c.clone();
                async move {
                    let r = corio::sleep(HOUR).await;
                    if r.is_err() {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                    r
                }
            }))
            .await
        });
        corio::sleep(10 * MS).await.unwrap();
        gatherer.cancel();
        let out = gatherer.await;
        assert!(out.unwrap_err().is_cancelled());
        corio::sleep(20 * MS).await.unwrap();
    });
    assert_eq!(cancelled.load(Ordering::SeqCst), 5);
}

#[test]
fn try_gather_returns_the_first_err_at_once() {
    rt(2).run(async {
        let futures: Vec<BoxFut<Result<u32, String>>> = vec![
            Box::pin(async {
                corio::sleep(HOUR).await.unwrap();
                Ok(1)
            }),
            Box::pin(async { Err("bad".to_owned()) }),
        ];
        let start = Instant::now();
        match corio::try_gather(futures).await {
            Err(GatherError::Failed(e)) => assert_eq!(e, "bad"),
            other => panic!("expected the Err, got {other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        let all = corio::try_gather((1..=3).map(|i| async move { Ok::<_, String>(i) })).await;
        assert_eq!(all.unwrap(), [1, 2, 3]);
    });
}

#[test]
fn gather_settled_returns_every_outcome_in_input_order() {
    rt(2).run(async {
        let futures: Vec<BoxFut<u32>> = vec![
            Box::pin(async { 1 }),
            Box::pin(async { panic!("second") }),
            Box::pin(async {
                corio::current_task().unwrap().cancel();
                corio::yield_now().await.unwrap_err();
                3
            }),
            Box::pin(async {
                corio::sleep(10 * MS).await.unwrap();
                4
            }),
        ];
        let outcomes = corio::gather_settled(futures).await.unwrap();
        assert_eq!(*outcomes[0].as_ref().unwrap(), 1);
        assert!(outcomes[1].as_ref().unwrap_err().is_panic());
        assert!(outcomes[2].as_ref().unwrap_err().is_cancelled());
        assert_eq!(*outcomes[3].as_ref().unwrap(), 4);
    });
}

#[test]
fn a_cancelled_gather_settled_cancels_the_children_and_reports_the_cancellation() {
    let seen: Arc<std::sync::Mutex<Option<bool>>> = Arc::default();
    let s = seen.clone();
    let out = rt(1).run(async move {
        let g = corio::spawn(async move {
            // The children sleep an hour: only their cancellation ends them.
            let r = corio::gather_settled((0..3).map(|_| corio::sleep(HOUR))).await;
            *s.lock().unwrap() = Some(r.is_err());
            r.map(|v| v.len())
        });
        corio::yield_now().await.unwrap();
        g.cancel();
        g.await
    });
    assert_eq!(
        *seen.lock().unwrap(),
        Some(true),
        "the cancellation must propagate (asyncio 3.7+)"
    );
    assert!(out.unwrap_err().is_cancelled());
}

#[test]
fn gather_macros_give_tuples_of_different_types() {
    rt(2).run(async {
        let (a, b, c) = corio::gather!(async { 1u8 }, async { "two" }, async { 3.0f64 })
            .await
            .unwrap();
        assert_eq!((a, b, c), (1, "two", 3.0));
        let (x, y) = corio::gather_settled!(async { 'x' }, async {
            panic!("y");
            #[allow(unreachable_code)]
            0u32
        })
        .await
        .unwrap();
        assert_eq!(x.unwrap(), 'x');
        assert!(y.unwrap_err().is_panic());
        let r = corio::gather!(async { 1 }, async {
            corio::current_task().unwrap().cancel();
            corio::yield_now().await
        })
        .await;
        assert!(r.unwrap_err().is_cancelled());
    });
}

#[test]
fn gathering_ten_thousand_tasks_does_constant_work_per_child() {
    // One waker per child: 10 000 children finishing one by one must not
    // cost 10 000 polls each (that would take minutes here).
    let start = Instant::now();
    let n = rt(2).run(async {
        corio::gather((0..10_000u32).map(|i| async move {
            corio::yield_now().await.unwrap();
            i
        }))
        .await
        .unwrap()
        .len()
    });
    assert_eq!(n, 10_000);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_empty_gather_is_ready_at_once() {
    rt(1).run(async {
        let none: Vec<BoxFut<u8>> = Vec::new();
        assert!(corio::gather(none).await.unwrap().is_empty());
    });
}
