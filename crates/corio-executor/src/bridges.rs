//! The runtime's side of the bridges from other threads: the
//! `call_soon_threadsafe` queue, the count of submissions from outside
//! (which tells an idle worker to spin for the next one), and the error a
//! shut-down runtime answers with. (`run_coroutine_threadsafe` and its
//! `ConcurrentFuture` are the `corio` crate's, built on `Handle::spawn`.)
//!
//! # `call_soon_threadsafe`
//!
//! Callbacks go into one FIFO queue. The submitter that finds no drainer
//! task spawns one; the drainer runs the callbacks in order, a batch per
//! poll (`config::SOON_BATCH`), and ends when it finds the queue empty,
//! under the lock that a submitter takes to decide whether to start a new
//! one: so callbacks run one at a time, in submission order, and none is
//! left without a drainer.

use std::collections::VecDeque;
use std::fmt;

use crate::scheduler::Shared;
use crate::sync::{Arc, AtomicU64, Mutex, Ordering};
use crate::task::NO_OWNER;

/// The bridges' state in a runtime's `Shared`.
#[derive(Default)]
pub(crate) struct Bridges {
    /// `call_soon_threadsafe` callbacks, run in FIFO order by one drainer
    /// task at a time.
    soon: Mutex<SoonQueue>,
    /// How many times a thread outside the runtime submitted work: a worker
    /// that sees it move spins briefly before it parks (the next
    /// submission is likely a round trip away).
    external_submits: AtomicU64,
}

impl Bridges {
    /// A thread outside the runtime submitted work (counted only from
    /// threads that are not workers).
    pub(crate) fn note_external_submit(&self) {
        if !crate::context::on_worker_thread() {
            self.external_submits.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many times a thread outside the runtime submitted work.
    pub(crate) fn external_submits(&self) -> u64 {
        self.external_submits.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
struct SoonQueue {
    queue: VecDeque<Box<dyn FnOnce() + Send + 'static>>,
    /// A drainer task exists (it clears this when it finds the queue empty).
    draining: bool,
}

/// The task that runs `call_soon_threadsafe` callbacks, in FIFO order, a
/// batch per poll; it ends when it finds the queue empty (under the lock
/// that a submitter takes to decide whether to start a new one).
struct SoonDrainer {
    shared: Arc<Shared>,
}

impl std::future::Future for SoonDrainer {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        for _ in 0..crate::config::SOON_BATCH {
            let f = {
                let mut q = self.shared.bridges.soon.lock();
                match q.queue.pop_front() {
                    Some(f) => f,
                    None => {
                        q.draining = false;
                        return std::task::Poll::Ready(());
                    }
                }
            };
            if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                self.shared.report(
                    None,
                    "a call_soon_threadsafe callback panicked",
                    Some(&*payload),
                );
            }
        }
        // Let other tasks run between batches.
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// `Handle::call_soon_threadsafe`: queues `f` and makes sure a drainer
/// task runs the queue.
pub(crate) fn call_soon_threadsafe(
    shared: &Arc<Shared>,
    f: Box<dyn FnOnce() + Send + 'static>,
) -> Result<(), ShutdownError> {
    if shared.is_shutdown() {
        return Err(ShutdownError::new());
    }
    let start = {
        let mut q = shared.bridges.soon.lock();
        q.queue.push_back(f);
        !std::mem::replace(&mut q.draining, true)
    };
    shared.bridges.note_external_submit();
    if start {
        let drainer = SoonDrainer {
            shared: shared.clone(),
        };
        let task = Shared::spawn_with(shared, drainer, NO_OWNER, None, |h| {
            h.with_extras(|e| e.internal = true)
        });
        drop(task);
    }
    Ok(())
}

/// The runtime a [`Handle`](crate::Handle) belongs to has shut down (what
/// [`Handle::call_soon_threadsafe`](crate::Handle::call_soon_threadsafe) returns then).
///
/// ```
/// let e = corio::ShutdownError::new();
/// assert_eq!(e.to_string(), "the corio runtime has shut down");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownError {
    _private: (),
}

impl ShutdownError {
    /// A `ShutdownError`.
    ///
    /// ```
    /// let _ = corio::ShutdownError::new();
    /// ```
    pub fn new() -> ShutdownError {
        ShutdownError { _private: () }
    }
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the corio runtime has shut down")
    }
}

impl std::error::Error for ShutdownError {}
