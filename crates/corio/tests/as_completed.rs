//! asyncio's as_completed: outcomes in completion order, a timeout that
//! ends the stream and leaves the rest running.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use corio::{AsCompleted, AsCompletedError};
use futures_core::Stream;

mod common;
use common::{rt, HOUR, MS};

async fn next<T>(s: &mut AsCompleted<T>) -> Option<<AsCompleted<T> as Stream>::Item> {
    poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
}

#[test]
fn outcomes_come_in_completion_order_panics_included() {
    rt(2).run(async {
        // Far apart: a panic's backtrace (RUST_BACKTRACE=1) can take tens
        // of milliseconds to print before the task completes.
        let tasks = [300u32, 10, 150].map(|ms| {
            corio::spawn(async move {
                corio::sleep(ms * MS).await.unwrap();
                if ms == 150 {
                    panic!("one hundred fifty");
                }
                ms
            })
        });
        let mut s = corio::as_completed(tasks, None);
        assert_eq!(next(&mut s).await.unwrap().unwrap().unwrap(), 10);
        assert!(next(&mut s).await.unwrap().unwrap().unwrap_err().is_panic());
        assert_eq!(next(&mut s).await.unwrap().unwrap().unwrap(), 300);
        assert!(next(&mut s).await.is_none());
        assert!(next(&mut s).await.is_none());
    });
}

#[test]
fn a_timeout_yields_timeout_error_ends_the_stream_and_leaves_the_rest_running() {
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    rt(2).run(async move {
        let quick = corio::spawn(async { 1 });
        let slow = corio::spawn(async move {
            corio::sleep(40 * MS).await.unwrap();
            f.store(true, Ordering::SeqCst);
            2
        });
        let mut s = corio::as_completed([quick, slow], 10 * MS);
        assert_eq!(next(&mut s).await.unwrap().unwrap().unwrap(), 1);
        assert!(matches!(
            next(&mut s).await,
            Some(Err(AsCompletedError::Timeout(_)))
        ));
        assert!(next(&mut s).await.is_none());
        corio::sleep(60 * MS).await.unwrap();
    });
    assert!(finished.load(Ordering::SeqCst), "the slow task was stopped");
}

#[test]
fn a_cancelled_reader_gets_cancelled_and_the_tasks_run_on() {
    let out = rt(1).run(async {
        let reader = corio::spawn(async {
            let t = corio::spawn(corio::sleep(HOUR));
            let mut s = corio::as_completed([t], None);
            match next(&mut s).await {
                Some(Err(AsCompletedError::Cancelled(c))) => {
                    c.suppress();
                    "cancelled"
                }
                other => panic!("expected a cancellation, got {other:?}"),
            }
        });
        corio::yield_now().await.unwrap();
        reader.cancel();
        reader.await
    });
    assert_eq!(out.unwrap(), "cancelled");
}

#[test]
fn an_empty_set_is_an_empty_stream() {
    rt(1).run(async {
        let mut s: AsCompleted<u8> = corio::as_completed(Vec::new(), None);
        assert!(next(&mut s).await.is_none());
    });
}
