//! Models runtime shutdown (`Drop for Runtime`) racing with a wake from an
//! outside thread, on the real `Runtime` under loom.
//!
//! Protocol: shutdown raises the `shutdown` flag and unparks every worker;
//! background workers leave their loop and drop their queues; the dropping
//! thread drains the injector, closes the registry and shuts down every task
//! still in it (`RawTask::shutdown`: drops the future of an idle task). A
//! wake that lands in the injector after it was drained is dropped by the
//! waker itself: it re-checks the flag after its push (`SeqCst` on both
//! sides).
//!
//! Properties checked in every interleaving: after the runtime is dropped
//! the task is complete (its join handle gives its value, or `Cancelled`),
//! its future was dropped exactly once, and nothing leaks: a notification
//! stranded in the injector would keep the task, and through its scheduler
//! hook the runtime's shared state, alive, which loom reports as a leaked
//! `Arc`.
#![cfg(loom)]

mod common;

use common::{checker, Signal};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use corio_executor::Runtime;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// Ready once the signal has fired; counts its drops.
struct Wait {
    signal: Arc<Signal>,
    drops: Arc<AtomicUsize>,
}

impl Future for Wait {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.signal.poll_fired(cx) {
            Poll::Ready(1)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

/// Spawns a task waiting on a signal that an outside thread fires while the
/// runtime is dropped.
fn shutdown_vs_remote_wake(workers: usize) {
    let rt = Runtime::builder().workers(workers).build().unwrap();
    let signal = Arc::new(Signal::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let mut task = rt.handle().spawn(Wait {
        signal: signal.clone(),
        drops: drops.clone(),
    });
    // Let the task be polled (and park its waker) before shutdown starts.
    rt.run(async {
        corio_executor::yield_now().await.unwrap();
    });

    let outside = thread::spawn(move || signal.fire());
    drop(rt);
    outside.join().unwrap();

    assert!(task.done(), "a task survived runtime shutdown");
    match Pin::new(&mut task).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(v)) => assert_eq!(v, 1),
        Poll::Ready(Err(e)) => assert!(e.is_cancelled(), "unexpected task error: {e}"),
        Poll::Pending => panic!("the join handle of a complete task is pending"),
    }
    drop(task);
    assert_eq!(
        drops.load(SeqCst),
        1,
        "the future was not dropped exactly once"
    );
}

/// One worker: the task can only run inside `run`, so the wake always
/// races with shutdown's drain and registry sweep.
#[test]
fn shutdown_vs_remote_wake_one_worker() {
    checker().check(|| shutdown_vs_remote_wake(1));
}

/// Two workers: the background worker may also be running the woken task
/// when shutdown starts.
#[test]
fn shutdown_vs_remote_wake_two_workers() {
    checker().check(|| shutdown_vs_remote_wake(2));
}
