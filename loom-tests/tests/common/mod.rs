//! Helpers shared by the full-runtime loom models.

#![allow(dead_code, unreachable_pub)] // each model file uses a different subset

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::sync::{Arc, Mutex};

/// The model checker for the full-runtime models: bounded to 2 preemptions
/// unless `LOOM_MAX_PREEMPTIONS` asks for another bound.
pub fn checker() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder
}

/// A one-shot signal: `fire` sets it and wakes the waiting task.
#[derive(Default)]
pub struct Signal(Mutex<(bool, Option<Waker>)>);

impl Signal {
    /// Sets the signal and wakes the stored waker (by value), if any.
    pub fn fire(&self) {
        let waker = {
            let mut st = self.0.lock().unwrap();
            st.0 = true;
            st.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// True once fired; otherwise stores the task's waker and returns false.
    pub fn poll_fired(&self, cx: &Context<'_>) -> bool {
        let mut st = self.0.lock().unwrap();
        if !st.0 {
            st.1 = Some(cx.waker().clone());
        }
        st.0
    }
}

/// Ready once the signal has fired.
pub struct Wait(pub Arc<Signal>);

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.poll_fired(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A waker for a model thread that blocks between polls: waking raises a
/// flag and signals a loom condvar, so a lost wakeup is a loom deadlock.
#[derive(Default)]
pub struct Kick {
    kicked: Mutex<bool>,
    cv: loom::sync::Condvar,
}

struct KickWaker(Arc<Kick>);

impl std::task::Wake for KickWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        *self.0.kicked.lock().unwrap() = true;
        self.0.cv.notify_one();
    }
}

impl Kick {
    /// A kick and the waker that raises it.
    pub fn new_waker() -> (Arc<Kick>, Waker) {
        let kick = Arc::new(Kick::default());
        let waker = Waker::from(std::sync::Arc::new(KickWaker(kick.clone())));
        (kick, waker)
    }

    /// Blocks until the waker has fired since the last call.
    pub fn block(&self) {
        let mut k = self.kicked.lock().unwrap();
        while !std::mem::take(&mut *k) {
            k = self.cv.wait(k).unwrap();
        }
    }
}
