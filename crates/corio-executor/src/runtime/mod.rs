//! The runtime: building it, running a main future on it, handles to it,
//! and the free functions that find the current one.
//!
//! * `mod.rs`: `Runtime` (run, shutdown, drop);
//! * `builder.rs`: `Builder`, the settings and starting the workers;
//! * `handle.rs`: `Handle`, the runtime from any thread;
//! * `metrics.rs`: `Metrics`;
//! * `exception.rs`: the exception handler and `ExceptionContext`;
//! * `dump.rs`: the one-line-per-task dump;
//! * `spawn.rs`: `spawn`, `spawn_local`, `all_tasks`, `current_task`,
//!   `yield_now`, `TaskBuilder`.

mod builder;
mod dump;
mod exception;
mod handle;
mod metrics;
mod spawn;

pub use builder::{Builder, DEFAULT_SHUTDOWN_GRACE, DEFAULT_SLOW_POLL_THRESHOLD};
pub(crate) use dump::dump;
pub use exception::ExceptionContext;
pub(crate) use exception::ExceptionHandler;
pub use handle::Handle;
pub use metrics::Metrics;
pub(crate) use spawn::*;
pub use spawn::{all_tasks, current_task, spawn, spawn_local, yield_now, TaskBuilder, YieldNow};

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::context;
use crate::scheduler::{worker, Shared, WorkerCx};
use crate::sync::{thread, Arc};
use crate::task::{panic_message, Cancelled, Header, Task, TaskError, TaskId, TaskRef, NO_OWNER};

#[cfg(not(loom))]
pub(crate) fn spawn_thread(
    name: String,
    f: impl FnOnce() + Send + 'static,
) -> io::Result<thread::JoinHandle<()>> {
    thread::Builder::new().name(name).spawn(f)
}

#[cfg(loom)]
pub(crate) fn spawn_thread(
    _name: String,
    f: impl FnOnce() + Send + 'static,
) -> io::Result<thread::JoinHandle<()>> {
    Ok(thread::spawn(f))
}

/// A corio runtime: worker threads, each with its own event loop, and the
/// tasks they run.
///
/// The thread that calls [`run`](Runtime::run) becomes worker 0 for the
/// duration of the call. [`shutdown`](Runtime::shutdown) ends it asyncio's
/// way (cancel every task, give them a grace period, abort the rest);
/// dropping it ends it the hard way: workers are stopped and joined, and
/// every unfinished task is dropped at once.
///
/// A `Runtime` stays on the thread that built it (it is neither `Send` nor
/// `Sync`), since worker 0's `!Send` tasks live there; use a [`Handle`] to
/// reach it from other threads.
///
/// # Example
///
/// ```
/// let rt = corio::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let from_thread = std::thread::spawn(move || handle.spawn(async { 2 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.run(from_thread).unwrap(), 2);
/// ```
pub struct Runtime {
    shared: Arc<Shared>,
    threads: Vec<thread::JoinHandle<()>>,
    shutdown_grace: Duration,
    /// The end of the grace period `shutdown` started, for the blocking
    /// pool's running jobs when the runtime is then dropped.
    deadline: std::cell::Cell<Option<Instant>>,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.shared.num_workers)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with the default configuration (see [`Builder::new`]).
    ///
    /// # Errors
    ///
    /// The OS error if an epoll instance or a thread cannot be created.
    ///
    /// ```
    /// let rt = corio::Runtime::new().unwrap();
    /// assert_eq!(rt.run(async { "done" }), "done");
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `main` as a task on this runtime, with the calling thread as
    /// worker 0, until it completes; returns its output. Other tasks keep
    /// running on the background workers afterwards (until the runtime is
    /// dropped), and worker 0's pick up again at the next `run`.
    ///
    /// `main` need not be `Send`: it stays on the calling thread.
    ///
    /// # Panics
    ///
    /// * If the calling thread is already running a corio event loop
    ///   (a nested `run`).
    /// * With `main`'s own panic payload, if `main` panics.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
    /// let n = rt.run(async {
    ///     let tasks: Vec<_> = (0..10).map(|i| corio::spawn(async move { i })).collect();
    ///     let mut sum = 0;
    ///     for t in tasks { sum += t.await.unwrap(); }
    ///     sum
    /// });
    /// assert_eq!(n, 45);
    /// ```
    pub fn run<F>(&self, main: F) -> F::Output
    where
        F: Future + 'static,
    {
        match self.try_run(main) {
            Ok(v) => v,
            Err(TaskError::Panicked { payload, .. }) => std::panic::resume_unwind(payload),
            Err(TaskError::Cancelled(c)) => {
                panic!(
                    "corio: the main task was {c}: it let a cancellation through (use \
                     `try_run` to get it as an error)"
                )
            }
        }
    }

    /// Like [`run`](Runtime::run), but a main task that panicked or ended
    /// cancelled gives `Err` instead of a panic (asyncio's
    /// `run_until_complete` raising the main coroutine's exception).
    ///
    /// # Panics
    ///
    /// From a thread that is already running a corio event loop.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let r = rt.try_run(async {
    ///     corio::current_task().unwrap().cancel();
    ///     corio::yield_now().await
    /// });
    /// assert!(r.unwrap_err().is_cancelled());
    /// ```
    pub fn try_run<F>(&self, main: F) -> Result<F::Output, TaskError>
    where
        F: Future + 'static,
    {
        if context::on_worker_thread() {
            panic!(
                "corio: `run` was called from a thread that is already running a corio \
                 event loop (nested run). Inside async code, spawn the future with \
                 `corio::spawn(fut)` and `.await` the task instead of calling `run`."
            );
        }
        let core = self.shared.core0.lock().take().expect(
            "corio: worker 0's core is missing (a previous `run` panicked inside the scheduler)",
        );
        self.shared.idle.worker_enter();
        let cx = WorkerCx {
            shared: self.shared.clone(),
            core,
        };
        let mut task = {
            let _guard = context::enter_worker(&cx);
            let task = Shared::spawn(&self.shared, main, 0, None);
            cx.run(&|| task.done());
            task
        };
        cx.leave();
        *self.shared.core0.lock() = Some(cx.core);

        let mut out = Poll::Pending;
        if task.done() {
            out = Pin::new(&mut task).poll(&mut Context::from_waker(Waker::noop()));
        }
        match out {
            Poll::Ready(r) => r,
            Poll::Pending => {
                panic!("corio: the runtime was shut down before the main task finished")
            }
        }
    }

    /// Shuts the runtime down asyncio's way (what `asyncio.run` does when
    /// its main coroutine returns): every unfinished task is cancelled
    /// ([`TaskRef::cancel`]) and the runtime keeps running while they clean
    /// up, for at most the [grace period](Builder::shutdown_grace). Tasks
    /// spawned meanwhile are cancelled too. Those still running then are
    /// aborted (their futures dropped), and named in one report to the
    /// exception handler; then the runtime is dropped.
    ///
    /// # Panics
    ///
    /// From a thread that is running a corio event loop, as [`run`](Runtime::run).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let cleaned = Arc::new(AtomicBool::new(false));
    /// let c = cleaned.clone();
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
    /// rt.run(async move {
    ///     let t = corio::spawn(async move {
    ///         if corio::sleep(Duration::from_secs(3600)).await.is_err() {
    ///             // Cleanup may await.
    ///             corio::sleep(Duration::from_millis(5)).await.unwrap();
    ///             c.store(true, Ordering::SeqCst);
    ///         }
    ///     });
    ///     // Until it waits in its sleep (it may start on the other worker).
    ///     while t.get_stack().is_empty() {
    ///         corio::yield_now().await.unwrap();
    ///     }
    /// });
    /// rt.shutdown();
    /// assert!(cleaned.load(Ordering::SeqCst));
    /// ```
    pub fn shutdown(self) {
        let deadline = Instant::now()
            .checked_add(self.shutdown_grace)
            .unwrap_or_else(crate::time::far_future);
        let shared = self.shared.clone();
        self.run(async move {
            let mut asked = std::collections::HashSet::new();
            let mut pending: Vec<TaskRef> = Vec::new();
            loop {
                pending.retain(|t| !t.done());
                if pending.is_empty() {
                    // Everything we cancelled is done: look again, for tasks
                    // spawned by the cleanups (one registry walk per wave).
                    pending = shared.unfinished_tasks();
                    if pending.is_empty() {
                        break;
                    }
                    for t in &pending {
                        if asked.insert(t.id()) {
                            t.cancel();
                        }
                    }
                }
                if Instant::now() >= deadline {
                    break;
                }
                // Nothing cancels this supervisor; a millisecond poll is
                // plenty for a shutdown.
                let _ = crate::sleep(Duration::from_millis(1)).await;
            }
        });
        self.deadline.set(Some(deadline));
        let left = self.shared.unfinished_tasks();
        if !left.is_empty() {
            let names: Vec<String> = left.iter().map(TaskRef::name).collect();
            let line = format!(
                "shutdown: {} task(s) still running {:?} after they were cancelled were aborted: {}",
                left.len(),
                self.shutdown_grace,
                names.join(", ")
            );
            drop(left);
            self.shared.report(None, &line, None);
        }
        drop(self);
    }

    /// A text listing of every unfinished task: id, state, age, name, and
    /// the `.await` where it is suspended. See [`Handle::dump`].
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let _t = rt.handle().spawn(async {});
    /// assert!(rt.dump().contains("1 unfinished task"));
    /// ```
    pub fn dump(&self) -> String {
        dump(&self.shared)
    }

    /// A handle to this runtime, usable from any thread.
    ///
    /// ```
    /// let rt = corio::Runtime::new().unwrap();
    /// let h = rt.handle();
    /// let t = h.spawn(async { 5 });
    /// assert_eq!(rt.run(t).unwrap(), 5);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.begin_shutdown();
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                shared.report(None, "a corio worker thread panicked", None);
            }
        }
        // Worker 0's remains, on worker 0's thread.
        if let Some(core) = shared.core0.lock().take() {
            let cx = WorkerCx {
                shared: shared.clone(),
                core,
            };
            cx.shutdown_core();
        }
        shared.drain_injector();
        for task in shared.registry.take(true, |_| true) {
            let owner = task.header().owner();
            if owner == NO_OWNER || owner == 0 {
                task.shutdown();
            } else {
                // A `!Send` task of a worker thread that died: its future
                // must not be dropped here. Leak it rather than be unsound.
                std::mem::forget(task);
            }
        }
        shared.drain_injector();
        // The blocking pool last: the tasks that awaited its jobs are gone
        // (queued jobs of theirs were removed, running ones abandoned).
        let deadline = self.deadline.get().unwrap_or_else(|| {
            Instant::now()
                .checked_add(self.shutdown_grace)
                .unwrap_or_else(crate::time::far_future)
        });
        let busy = shared.blocking.shutdown(deadline);
        if busy > 0 {
            let line = format!(
                "shutdown: {busy} to_thread job(s) still running at the end of the shutdown \
                 grace were left to finish on their own threads"
            );
            shared.report(None, &line, None);
        }
    }
}
