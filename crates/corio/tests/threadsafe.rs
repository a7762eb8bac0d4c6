//! run_coroutine_threadsafe, ConcurrentFuture and call_soon_threadsafe:
//! submitting work to a runtime from plain threads.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::HOUR;
use corio::{run_coroutine_threadsafe, FutureError, Runtime};

/// A runtime with two background-capable workers, driven from the test
/// thread only through its handle (worker 1 runs everything).
fn rt_with_log() -> (Runtime, Arc<Mutex<Vec<String>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(2)
        .exception_handler(move |cx| {
            let line = match cx.panic_message() {
                Some(p) => format!("{}: {p}", cx.message()),
                None => cx.message().to_owned(),
            };
            r.lock().unwrap().push(line);
        })
        .build()
        .unwrap();
    (rt, reports)
}

/// The seed: `future = run_coroutine_threadsafe(asyncio.sleep(1, result=3),
/// loop); assert future.result(timeout) == 3`.
#[test]
fn the_seed_submits_a_sleep_that_yields_3_and_gets_3() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    let start = Instant::now();
    let future = run_coroutine_threadsafe(
        async {
            corio::sleep(Duration::from_millis(100)).await?;
            Ok::<_, corio::Cancelled>(3)
        },
        &handle,
    );
    assert_eq!(
        future
            .result(Some(Duration::from_secs(5)))
            .unwrap()
            .unwrap(),
        3
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert!(future.done() && !future.cancelled());
}

/// The seed's timeout branch: `except TimeoutError: future.cancel()`; the
/// task in the loop is cancelled (it sees the cancellation and cleans up).
#[test]
fn a_timed_out_result_leaves_the_coroutine_running_until_cancel_cancels_it() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let future = run_coroutine_threadsafe(
        async move {
            let r = corio::sleep(HOUR).await;
            tx.send(r.is_err()).unwrap(); // cleanup sees the cancellation
            r
        },
        &rt.handle(),
    );
    let err = future.result(Some(Duration::from_millis(50))).unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(!future.done(), "a timeout does not end the coroutine");
    assert!(future.cancel());
    assert!(future.done() && future.cancelled());
    assert!(future.result(None).unwrap_err().is_cancelled());
    assert!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        "the task in the loop was not cancelled"
    );
    assert!(!future.cancel(), "a second cancel finds it done");
}

/// The seed's exception branch: the coroutine's exception comes back from
/// `result()`; it was retrieved, so the exception handler hears nothing.
#[test]
fn a_panicking_coroutine_gives_panicked_with_its_message_and_no_report() {
    let (rt, reports) = rt_with_log();
    let future = run_coroutine_threadsafe(
        async {
            corio::sleep(Duration::from_millis(5)).await.unwrap();
            panic!("boom");
        },
        &rt.handle(),
    );
    let Err(FutureError::Panicked { message, .. }) = future.result(Some(Duration::from_secs(5)))
    else {
        panic!("not a panic")
    };
    assert_eq!(message, "boom");
    drop(future);
    drop(rt);
    assert!(
        reports.lock().unwrap().is_empty(),
        "{:?}",
        reports.lock().unwrap()
    );
}

#[test]
fn a_panic_nobody_retrieved_is_reported_when_the_future_is_dropped() {
    let (rt, reports) = rt_with_log();
    let future = run_coroutine_threadsafe(async { panic!("lost") }, &rt.handle());
    while !future.done() {
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(future);
    drop(rt);
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("never retrieved") && reports[0].contains("lost"));
}

#[test]
fn a_coroutine_that_lets_its_cancellation_through_ends_cancelled() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let future = run_coroutine_threadsafe(
        async {
            corio::current_task().unwrap().cancel();
            corio::sleep(HOUR).await
        },
        &rt.handle(),
    );
    assert!(future
        .result(Some(Duration::from_secs(5)))
        .unwrap_err()
        .is_cancelled());
    assert!(future.cancelled());
}

/// asyncio: cancelling the concurrent future cancels it at once, even if
/// the task then refuses; what the task returns is dropped.
#[test]
fn cancel_is_immediate_even_if_the_task_refuses_and_its_value_is_dropped() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let future = run_coroutine_threadsafe(
        async move {
            if let Err(c) = corio::sleep(HOUR).await {
                c.suppress();
            }
            tx.send("refused").unwrap();
            "value"
        },
        &rt.handle(),
    );
    std::thread::sleep(Duration::from_millis(20));
    assert!(future.cancel());
    assert!(future.result(None).unwrap_err().is_cancelled());
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "refused");
    assert!(
        future.cancelled(),
        "the refusal does not undo the future's cancellation"
    );
}

#[test]
fn done_callbacks_run_on_the_completing_worker_or_at_once_when_already_done() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let future = run_coroutine_threadsafe(
        async {
            corio::sleep(Duration::from_millis(30)).await.unwrap();
            7
        },
        &rt.handle(),
    );
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    future.add_done_callback(move |f| {
        let name = std::thread::current().name().map(str::to_owned);
        tx2.send(("first", f.done(), name)).unwrap();
    });
    future.add_done_callback(move |_| {
        tx.send((
            "second",
            true,
            std::thread::current().name().map(str::to_owned),
        ))
        .unwrap();
    });
    let (which, done, thread) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((which, done), ("first", true));
    assert!(
        thread
            .as_deref()
            .is_some_and(|n| n.starts_with("corio-worker")),
        "ran on {thread:?}"
    );
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap().0, "second");
    assert_eq!(future.result(None).unwrap(), 7);
    // Added after completion: runs at once, here.
    let here = std::thread::current().id();
    let ran_here = Arc::new(AtomicBool::new(false));
    let r = ran_here.clone();
    future
        .add_done_callback(move |_| r.store(std::thread::current().id() == here, Ordering::SeqCst));
    assert!(ran_here.load(Ordering::SeqCst));
}

#[test]
fn a_panicking_done_callback_is_reported_and_the_next_still_runs() {
    let (rt, reports) = rt_with_log();
    let future = run_coroutine_threadsafe(corio::sleep(Duration::from_millis(20)), &rt.handle());
    let (tx, rx) = mpsc::channel();
    future.add_done_callback(|_| panic!("callback boom"));
    future.add_done_callback(move |_| tx.send(()).unwrap());
    rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].contains("callback boom"), "{reports:?}");
}

#[test]
fn result_on_a_worker_thread_panics_with_a_message_naming_the_fix() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    let err = rt
        .run(async move {
            let future = run_coroutine_threadsafe(corio::sleep(HOUR), &handle);
            let r = corio::spawn(async move {
                let _ = future.result(Some(Duration::from_millis(1)));
            })
            .await;
            r
        })
        .unwrap_err();
    let corio::TaskError::Panicked { message, .. } = err else {
        panic!()
    };
    assert!(
        message.contains("worker thread") && message.contains(".await"),
        "{message}"
    );
}

#[test]
fn a_handle_of_a_shut_down_runtime_gives_an_error_not_a_hang() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    rt.shutdown();
    let start = Instant::now();
    let future = run_coroutine_threadsafe(async { 1 }, &handle);
    assert!(matches!(future.result(None), Err(FutureError::Shutdown)));
    assert!(handle.call_soon_threadsafe(|| ()).is_err());
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_runtime_dropped_under_a_pending_future_ends_it_cancelled() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let future = run_coroutine_threadsafe(corio::sleep(HOUR), &rt.handle());
    let waiter = std::thread::spawn(move || future.result(None).map_err(|e| e.is_cancelled()));
    std::thread::sleep(Duration::from_millis(20));
    drop(rt);
    assert!(
        waiter.join().unwrap().unwrap_err(),
        "ended otherwise than cancelled"
    );
}

#[test]
fn a_concurrent_future_can_be_awaited_from_another_runtime() {
    let a = Runtime::builder().workers(2).build().unwrap();
    let b = Runtime::builder().workers(1).build().unwrap();
    let future = run_coroutine_threadsafe(async { "from a" }, &a.handle());
    assert_eq!(b.run(future).unwrap(), "from a");
}

#[test]
fn call_soon_threadsafe_runs_callbacks_in_submission_order() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    for i in 0..1000 {
        let seen = seen.clone();
        rt.handle()
            .call_soon_threadsafe(move || seen.lock().unwrap().push(i))
            .unwrap();
    }
    rt.handle()
        .call_soon_threadsafe(move || tx.send(()).unwrap())
        .unwrap();
    rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(*seen.lock().unwrap(), (0..1000).collect::<Vec<_>>());
}

#[test]
fn a_panicking_call_soon_callback_is_reported_and_the_next_still_runs() {
    let (rt, reports) = rt_with_log();
    let (tx, rx) = mpsc::channel();
    rt.handle()
        .call_soon_threadsafe(|| panic!("soon boom"))
        .unwrap();
    rt.handle()
        .call_soon_threadsafe(move || tx.send(()).unwrap())
        .unwrap();
    rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].contains("call_soon_threadsafe") && reports[0].contains("soon boom"));
}
