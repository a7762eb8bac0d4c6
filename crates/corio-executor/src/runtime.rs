//! The runtime: building it, running a main future on it, handles to it,
//! and the free functions that find the current one.

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
use crate::sync::{thread, Arc, Ordering};
use crate::task::{panic_message, Cancelled, Header, Task, TaskError, TaskId, TaskRef, NO_OWNER};

/// What the exception handler is told: asyncio's exception-handler
/// `context` dict, as a struct.
///
/// # Example
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use corio_executor::Runtime;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let rt = Runtime::builder()
///     .workers(1)
///     .exception_handler(move |cx| {
///         log.lock().unwrap().push(cx.panic_message().unwrap_or("").to_owned())
///     })
///     .build()
///     .unwrap();
/// rt.run(async {
///     drop(corio_executor::spawn(async { panic!("lost") }));
///     corio_executor::yield_now().await.unwrap();
/// });
/// assert_eq!(*seen.lock().unwrap(), ["lost"]);
/// ```
pub struct ExceptionContext<'a> {
    message: &'a str,
    task_name: Option<String>,
    task_id: Option<TaskId>,
    payload: Option<&'a (dyn Any + Send)>,
    panic_message: Option<String>,
}

impl<'a> ExceptionContext<'a> {
    /// What happened, e.g. `"Task exception was never retrieved"`.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder()
    ///     .workers(1)
    ///     .exception_handler(|cx| {
    ///         assert_eq!(cx.message(), "Task exception was never retrieved");
    ///         assert!(cx.task_name().unwrap().starts_with("Task-"));
    ///         assert!(cx.task_id().is_some());
    ///         assert_eq!(cx.panic_message(), Some("oops"));
    ///         assert!(cx.payload().unwrap().downcast_ref::<&str>().is_some());
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.run(async {
    ///     drop(corio_executor::spawn(async { panic!("oops") }));
    ///     corio_executor::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn message(&self) -> &str {
        self.message
    }
    /// The name of the task concerned, if any.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder()
    ///     .workers(1)
    ///     .exception_handler(|cx| {
    ///         assert_eq!(cx.message(), "Task exception was never retrieved");
    ///         assert!(cx.task_name().unwrap().starts_with("Task-"));
    ///         assert!(cx.task_id().is_some());
    ///         assert_eq!(cx.panic_message(), Some("oops"));
    ///         assert!(cx.payload().unwrap().downcast_ref::<&str>().is_some());
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.run(async {
    ///     drop(corio_executor::spawn(async { panic!("oops") }));
    ///     corio_executor::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn task_name(&self) -> Option<&str> {
        self.task_name.as_deref()
    }
    /// The id of the task concerned, if any.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder()
    ///     .workers(1)
    ///     .exception_handler(|cx| {
    ///         assert_eq!(cx.message(), "Task exception was never retrieved");
    ///         assert!(cx.task_name().unwrap().starts_with("Task-"));
    ///         assert!(cx.task_id().is_some());
    ///         assert_eq!(cx.panic_message(), Some("oops"));
    ///         assert!(cx.payload().unwrap().downcast_ref::<&str>().is_some());
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.run(async {
    ///     drop(corio_executor::spawn(async { panic!("oops") }));
    ///     corio_executor::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn task_id(&self) -> Option<TaskId> {
        self.task_id
    }
    /// The panic payload, if a panic is the cause.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder()
    ///     .workers(1)
    ///     .exception_handler(|cx| {
    ///         assert_eq!(cx.message(), "Task exception was never retrieved");
    ///         assert!(cx.task_name().unwrap().starts_with("Task-"));
    ///         assert!(cx.task_id().is_some());
    ///         assert_eq!(cx.panic_message(), Some("oops"));
    ///         assert!(cx.payload().unwrap().downcast_ref::<&str>().is_some());
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.run(async {
    ///     drop(corio_executor::spawn(async { panic!("oops") }));
    ///     corio_executor::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn payload(&self) -> Option<&'a (dyn Any + Send)> {
        self.payload
    }
    /// The panic's message, if a panic is the cause.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder()
    ///     .workers(1)
    ///     .exception_handler(|cx| {
    ///         assert_eq!(cx.message(), "Task exception was never retrieved");
    ///         assert!(cx.task_name().unwrap().starts_with("Task-"));
    ///         assert!(cx.task_id().is_some());
    ///         assert_eq!(cx.panic_message(), Some("oops"));
    ///         assert!(cx.payload().unwrap().downcast_ref::<&str>().is_some());
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.run(async {
    ///     drop(corio_executor::spawn(async { panic!("oops") }));
    ///     corio_executor::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        self.panic_message.as_deref()
    }
}

impl fmt::Display for ExceptionContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)?;
        if let (Some(name), Some(id)) = (&self.task_name, self.task_id) {
            write!(f, "\n  task: {name} (id {id})")?;
        }
        if let Some(msg) = &self.panic_message {
            write!(f, "\n  panic: {msg}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ExceptionContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptionContext")
            .field("message", &self.message)
            .field("task_name", &self.task_name)
            .field("task_id", &self.task_id)
            .field("panic_message", &self.panic_message)
            .finish()
    }
}

type HandlerFn = dyn Fn(&ExceptionContext<'_>) + Send + Sync + 'static;

/// The runtime's exception handler (default: print to stderr).
#[derive(Clone, Default)]
pub(crate) struct ExceptionHandler(Option<StdArc<HandlerFn>>);

impl ExceptionHandler {
    pub(crate) fn report(
        &self,
        task: Option<&Header>,
        message: &str,
        payload: Option<&(dyn Any + Send)>,
    ) {
        let cx = ExceptionContext {
            message,
            task_name: task.map(Header::name),
            task_id: task.map(Header::id),
            payload,
            panic_message: payload.map(panic_message),
        };
        let ran = match &self.0 {
            Some(h) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(&cx))).is_ok(),
            None => false,
        };
        if !ran {
            eprintln!("corio: {cx}");
        }
    }
}

/// Configures and builds a [`Runtime`].
///
/// # Example
///
/// ```
/// let rt = corio_executor::Runtime::builder()
///     .workers(2)
///     .thread_name("my-app")
///     .build()
///     .unwrap();
/// assert_eq!(rt.run(async { 1 + 1 }), 2);
/// ```
#[must_use = "a Builder does nothing until `build` is called"]
pub struct Builder {
    workers: Option<usize>,
    thread_name: String,
    exception_handler: ExceptionHandler,
    shutdown_grace: Duration,
    /// `None`: decided by `CORIO_DEBUG` at build time.
    debug: Option<bool>,
    slow_poll_threshold: Duration,
    max_blocking_threads: Option<usize>,
    blocking_keep_alive: Duration,
}

/// The default of [`Builder::slow_poll_threshold`]: asyncio's
/// `slow_callback_duration`.
///
/// ```
/// assert_eq!(corio_executor::DEFAULT_SLOW_POLL_THRESHOLD.as_millis(), 100);
/// ```
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// The default of [`Builder::shutdown_grace`].
///
/// ```
/// assert_eq!(corio_executor::DEFAULT_SHUTDOWN_GRACE.as_secs(), 5);
/// ```
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// A builder with the defaults: one worker per available CPU, threads
    /// named `corio-worker-<n>`, panics reported to stderr.
    ///
    /// ```
    /// let rt = corio_executor::Builder::new().build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn new() -> Builder {
        Builder {
            workers: None,
            thread_name: "corio-worker".to_owned(),
            exception_handler: ExceptionHandler::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            debug: None,
            slow_poll_threshold: DEFAULT_SLOW_POLL_THRESHOLD,
            max_blocking_threads: None,
            blocking_keep_alive: crate::blocking::DEFAULT_KEEP_ALIVE,
        }
    }

    /// The most threads the blocking pool ([`to_thread`](crate::to_thread))
    /// starts; more jobs than that wait in its queue. The default is
    /// Python's `ThreadPoolExecutor` default, min(32, cores + 4): enough
    /// threads to overlap blocking I/O, few enough that a burst of calls
    /// does not start hundreds of threads (tokio's default cap is 512).
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().max_blocking_threads(2).build().unwrap();
    /// # drop(rt);
    /// ```
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        assert!(
            n > 0,
            "max_blocking_threads(0): the blocking pool needs at least one thread"
        );
        self.max_blocking_threads = Some(n);
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits
    /// (default 10 s, as tokio's).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_executor::Runtime::builder()
    ///     .blocking_keep_alive(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Debug mode (asyncio's `loop.set_debug(True)`): every poll is timed,
    /// and one slower than [`slow_poll_threshold`](Builder::slow_poll_threshold)
    /// is reported to the exception handler with the task's name and the
    /// `.await` it resumed from; and each task remembers where it was
    /// spawned, which reports about it ("Task exception was never
    /// retrieved") then name. Without this call, debug mode is on when the
    /// environment variable `CORIO_DEBUG` is `1` at `build` time. Off, it
    /// costs one predictable branch per poll.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().debug(true).build().unwrap();
    /// assert!(rt.handle().debug());
    /// ```
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = Some(on);
        self
    }

    /// In debug mode, the poll duration over which a poll is reported.
    /// Default: [`DEFAULT_SLOW_POLL_THRESHOLD`] (100 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_executor::Runtime::builder()
    ///     .debug(true)
    ///     .slow_poll_threshold(Duration::from_millis(20))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll_threshold = threshold;
        self
    }

    /// How long [`Runtime::shutdown`] (and so `corio::run` when its main
    /// future returns) lets the cancelled tasks clean up before it aborts
    /// the ones still running. Default: [`DEFAULT_SHUTDOWN_GRACE`] (5 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_executor::Runtime::builder()
    ///     .shutdown_grace(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// rt.shutdown();
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Builder {
        self.shutdown_grace = grace;
        self
    }

    /// The total number of threads that run tasks, *including* the thread
    /// that calls [`Runtime::run`]. `workers(1)` is a single-threaded event
    /// loop in the caller's thread, like asyncio's.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let here = std::thread::current().id();
    /// assert_eq!(rt.run(async move { std::thread::current().id() }), here);
    /// ```
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// The name prefix of the runtime's threads (`<name>-<index>`).
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(2).thread_name("app").build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// Sets the exception handler: it receives panics that nobody else will
    /// see (a task's panic whose `Task` handle was dropped unretrieved, a
    /// panic in a `Drop` of a task's future or output). The default prints
    /// the task's name and the panic message to stderr. A handler that
    /// panics falls back to the default.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder()
    ///     .exception_handler(|cx| eprintln!("[app] {cx}"))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn exception_handler<F>(mut self, handler: F) -> Builder
    where
        F: Fn(&ExceptionContext<'_>) + Send + Sync + 'static,
    {
        self.exception_handler = ExceptionHandler(Some(StdArc::new(handler)));
        self
    }

    /// Builds the runtime and starts its background worker threads.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `workers(0)`; otherwise the OS error if an epoll
    /// instance or a thread cannot be created.
    ///
    /// ```
    /// let err = corio_executor::Runtime::builder().workers(0).build().unwrap_err();
    /// assert!(err.to_string().contains("workers(0)"));
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        let n = match self.workers {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "workers(0): a runtime needs at least one worker thread; \
                     use workers(1) for a single-threaded event loop",
                ))
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let debug = self
            .debug
            .unwrap_or_else(|| std::env::var_os("CORIO_DEBUG").is_some_and(|v| v == "1"));
        let slow_poll = debug.then_some(self.slow_poll_threshold);
        let blocking = crate::blocking::Pool::new(
            self.max_blocking_threads
                .unwrap_or_else(crate::blocking::default_max_threads),
            self.blocking_keep_alive,
            format!("{}-blocking", self.thread_name),
        );
        let (shared, cores) = Shared::new(n, self.exception_handler, slow_poll, blocking)?;
        let mut cores = cores.into_iter().map(Box::new);
        *shared.core0.lock() = cores.next();
        let mut threads = Vec::with_capacity(n - 1);
        for (i, core) in cores.enumerate() {
            let shared2 = shared.clone();
            let spawned = spawn_thread(format!("{}-{}", self.thread_name, i + 1), move || {
                worker::worker_main(shared2, core)
            });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    let rt = Runtime {
                        shared,
                        threads,
                        shutdown_grace: self.shutdown_grace,
                        deadline: std::cell::Cell::new(None),
                        _not_send: PhantomData,
                    };
                    drop(rt);
                    return Err(e);
                }
            }
        }
        Ok(Runtime {
            shared,
            threads,
            shutdown_grace: self.shutdown_grace,
            deadline: std::cell::Cell::new(None),
            _not_send: PhantomData,
        })
    }
}

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
/// let rt = corio_executor::Runtime::new().unwrap();
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
    /// let rt = corio_executor::Runtime::new().unwrap();
    /// assert_eq!(rt.run(async { "done" }), "done");
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
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
    /// let rt = corio_executor::Runtime::builder().workers(2).build().unwrap();
    /// let n = rt.run(async {
    ///     let tasks: Vec<_> = (0..10).map(|i| corio_executor::spawn(async move { i })).collect();
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
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let r = rt.try_run(async {
    ///     corio_executor::current_task().unwrap().cancel();
    ///     corio_executor::yield_now().await
    /// });
    /// assert!(r.unwrap_err().is_cancelled());
    /// ```
    pub fn try_run<F>(&self, main: F) -> Result<F::Output, TaskError>
    where
        F: Future + 'static,
    {
        if !context::worker().is_null() {
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
    /// ([`Task::cancel`]) and the runtime keeps running while they clean
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
    /// let rt = corio_executor::Runtime::builder().workers(2).build().unwrap();
    /// rt.run(async move {
    ///     let t = corio_executor::spawn(async move {
    ///         if corio_executor::sleep(Duration::from_secs(3600)).await.is_err() {
    ///             // Cleanup may await.
    ///             corio_executor::sleep(Duration::from_millis(5)).await.unwrap();
    ///             c.store(true, Ordering::SeqCst);
    ///         }
    ///     });
    ///     // Until it waits in its sleep (it may start on the other worker).
    ///     while t.get_stack().is_empty() {
    ///         corio_executor::yield_now().await.unwrap();
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
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let _t = rt.handle().spawn(async {});
    /// assert!(rt.dump().contains("1 unfinished task"));
    /// ```
    pub fn dump(&self) -> String {
        dump(&self.shared)
    }

    /// A handle to this runtime, usable from any thread.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::new().unwrap();
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

/// A cloneable, thread-safe handle to a [`Runtime`].
///
/// # Example
///
/// ```
/// let rt = corio_executor::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let t = std::thread::spawn(move || handle.spawn(async { 1 })).join().unwrap();
/// assert_eq!(rt.run(t).unwrap(), 1);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.num_workers)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// The handle of the runtime whose worker is running on this thread.
    ///
    /// # Panics
    ///
    /// Outside a corio worker, with a message naming the mistake.
    ///
    /// ```
    /// # let rt = corio_executor::Runtime::new().unwrap();
    /// rt.run(async {
    ///     let h = corio_executor::Handle::current();
    ///     h.spawn(async {}).await.unwrap();
    /// });
    /// ```
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|| no_running_loop("Handle::current"))
    }

    /// Like [`Handle::current`], but `None` outside a corio worker.
    ///
    /// ```
    /// assert!(corio_executor::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        let cx = context::worker();
        if cx.is_null() {
            return None;
        }
        // SAFETY: the worker context outlives everything run on its thread.
        let shared = unsafe { &(*cx).shared }.clone();
        Some(Handle { shared })
    }

    /// Sends a report that is not a panic to the runtime's exception
    /// handler (the default handler prints it to stderr): what corio's own
    /// I/O layer uses for conditions it handles but that an operator should
    /// know of, such as an accept loop out of file descriptors.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let rt = corio_executor::Runtime::builder()
    ///     .exception_handler(move |cx| s.lock().unwrap().push(cx.message().to_owned()))
    ///     .build()
    ///     .unwrap();
    /// rt.handle().report("disk almost full");
    /// assert_eq!(*seen.lock().unwrap(), ["disk almost full"]);
    /// ```
    pub fn report(&self, message: &str) {
        self.shared.report(None, message, None);
    }

    /// Spawns a task on the runtime, from any thread.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::new().unwrap();
    /// let task = rt.handle().spawn(async { "hi" });
    /// assert_eq!(rt.run(task).unwrap(), "hi");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(&self.shared, future, NO_OWNER, None)
    }

    #[track_caller]
    pub(crate) fn spawn_named<F>(&self, future: F, name: Option<Box<str>>) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(&self.shared, future, NO_OWNER, name)
    }

    /// Runs `f` on this runtime's blocking pool, from any thread: what
    /// [`to_thread`](crate::to_thread) does inside the runtime.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let job = rt.handle().to_thread(|| 6 * 7);
    /// assert_eq!(rt.run(job).unwrap(), 42);
    /// ```
    pub fn to_thread<F, R>(&self, f: F) -> crate::ToThread<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        crate::blocking::submit(&self.shared, f)
    }

    /// Runs `f` on the runtime soon, from any thread (asyncio's
    /// `loop.call_soon_threadsafe`). Callbacks run one at a time in the
    /// order they were submitted, on a worker thread; a panicking one is
    /// reported to the exception handler and the next ones still run.
    ///
    /// # Errors
    ///
    /// [`ShutdownError`](crate::ShutdownError) if the runtime has shut
    /// down (`f` is dropped).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let rt = corio_executor::Runtime::builder().workers(2).build().unwrap();
    /// let (tx, rx) = mpsc::channel();
    /// for i in 0..3 {
    ///     let tx = tx.clone();
    ///     rt.handle().call_soon_threadsafe(move || tx.send(i).unwrap()).unwrap();
    /// }
    /// let got: Vec<i32> = (0..3).map(|_| rx.recv().unwrap()).collect();
    /// assert_eq!(got, [0, 1, 2]);
    /// ```
    pub fn call_soon_threadsafe<F>(&self, f: F) -> Result<(), crate::ShutdownError>
    where
        F: FnOnce() + Send + 'static,
    {
        Shared::call_soon_threadsafe(&self.shared, Box::new(f))
    }

    /// A sleep bound to this runtime: unlike [`sleep`](crate::sleep), it may
    /// be polled from any thread, not only inside the runtime (its timer
    /// then lives in worker 0's wheel).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = corio_executor::Runtime::builder().workers(2).build().unwrap();
    /// let s = rt.handle().sleep(Duration::from_millis(10));
    /// let start = Instant::now();
    /// rt.run(async move { s.await.unwrap() });
    /// assert!(start.elapsed() >= Duration::from_millis(5));
    /// ```
    pub fn sleep(&self, duration: std::time::Duration) -> crate::Sleep {
        let deadline = std::time::Instant::now()
            .checked_add(duration)
            .unwrap_or_else(crate::time::far_future);
        self.sleep_until(deadline)
    }

    /// Like [`Handle::sleep`], until an instant.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let at = Instant::now() + Duration::from_millis(5);
    /// let s = rt.handle().sleep_until(at);
    /// rt.run(async move { s.await.unwrap() });
    /// assert!(Instant::now() >= at);
    /// ```
    pub fn sleep_until(&self, deadline: std::time::Instant) -> crate::Sleep {
        crate::Sleep::with_handle(deadline, self.shared.clone())
    }

    /// Whether the runtime runs in debug mode (asyncio's
    /// `loop.get_debug()`); see [`Builder::debug`].
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().debug(false).build().unwrap();
    /// assert!(!rt.handle().debug());
    /// ```
    pub fn debug(&self) -> bool {
        self.shared.slow_poll.is_some()
    }

    /// The runtime's unfinished tasks (asyncio's `all_tasks()`, from any
    /// thread), in no particular order.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let t = rt.handle().spawn(async {});
    /// assert_eq!(rt.handle().all_tasks(), vec![t.task_ref()]);
    /// ```
    pub fn all_tasks(&self) -> Vec<TaskRef> {
        self.shared.all_tasks()
    }

    /// A text listing of every unfinished task, one per line, sorted by id:
    /// id, state ([`TaskState`](crate::TaskState)), age, name, and the
    /// file and line of the `.await` where it is suspended (`-` while it
    /// runs or when it waits in a future that is not corio's). Safe to call
    /// from any thread, also while the runtime is busy: each task is read
    /// on its own, so the listing is not one atomic snapshot.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.handle();
    /// rt.run(async move {
    ///     let _t = corio_executor::TaskBuilder::new()
    ///         .name("poller")
    ///         .spawn(corio_executor::sleep(Duration::from_secs(3600)));
    ///     corio_executor::yield_now().await.unwrap();
    ///     let text = h.dump();
    ///     assert!(text.contains("poller"));
    ///     assert!(text.contains("suspended"));
    /// # _t.abort();
    /// });
    /// ```
    pub fn dump(&self) -> String {
        dump(&self.shared)
    }

    /// Counters describing the runtime.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_workers(), 2);
    /// ```
    pub fn metrics(&self) -> Metrics {
        Metrics {
            shared: self.shared.clone(),
        }
    }
}

/// Counters of a runtime, read on demand.
///
/// # Example
///
/// ```
/// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// let metrics = rt.handle().metrics();
/// rt.run(async { corio_executor::spawn(async {}).await.unwrap() });
/// drop(rt);
/// assert_eq!(metrics.live_tasks(), 0);
/// ```
#[derive(Clone)]
pub struct Metrics {
    shared: Arc<Shared>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("workers", &self.num_workers())
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

impl Metrics {
    /// How many threads the blocking pool ([`to_thread`](crate::to_thread))
    /// has now: started on demand, at most
    /// [`Builder::max_blocking_threads`], and fewer again once idle ones
    /// retire after the keep-alive.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let m = rt.handle().metrics();
    /// assert_eq!(m.blocking_threads(), 0);
    /// rt.run(async { corio_executor::to_thread(|| ()).await.unwrap() });
    /// assert_eq!(m.blocking_threads(), 1);
    /// ```
    pub fn blocking_threads(&self) -> usize {
        self.shared.blocking.threads()
    }

    /// How many worker threads the runtime has (including worker 0).
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(3).build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_workers(), 3);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.shared.num_workers
    }

    /// Task allocations not yet freed: spawned tasks that are unfinished,
    /// or finished but still referenced (by a `Task` handle, a waker, a
    /// `TaskRef`). Zero after the runtime is dropped and every handle is
    /// gone: nothing leaks.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
    /// let m = rt.handle().metrics();
    /// let t = rt.handle().spawn(async {});
    /// assert_eq!(m.live_tasks(), 1);
    /// drop(t);
    /// drop(rt);
    /// assert_eq!(m.live_tasks(), 0);
    /// ```
    pub fn live_tasks(&self) -> usize {
        self.shared.registry.live()
    }

    /// How many times the workers have gone to sleep (parked in their
    /// event loop with nothing to do), summed over all workers. Each park
    /// is a system call, and each wakeup from one a context switch, so a
    /// count that grows with the work done shows workers being woken for
    /// nothing.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::builder().workers(2).build().unwrap();
    /// let m = rt.handle().metrics();
    /// rt.run(async {
    ///     corio_executor::sleep(std::time::Duration::from_millis(20)).await.unwrap();
    /// });
    /// assert!(m.worker_park_count() >= 1); // the idle worker slept meanwhile
    /// ```
    pub fn worker_park_count(&self) -> u64 {
        self.shared
            .remotes
            .iter()
            .map(|r| r.parks.load(Ordering::Relaxed) as u64)
            .sum()
    }
}

#[track_caller]
fn no_running_loop(what: &str) -> ! {
    panic!(
        "corio: {what} was called with no running event loop: this thread is not a corio \
         worker. Call it from inside `corio::run(...)` (or a task spawned there), or use \
         `Handle::spawn` with a handle from `Runtime::handle()`."
    )
}

fn current_cx() -> Option<&'static WorkerCx> {
    let cx = context::worker();
    // SAFETY: the worker context outlives everything run on its thread; the
    // `'static` does not escape the callers below.
    (!cx.is_null()).then(|| unsafe { &*cx })
}

/// Spawns a task on the current runtime (asyncio's `create_task`).
///
/// The task starts running soon, concurrently with the caller; await the
/// returned [`Task`] for its output, or drop it to let the task run
/// detached.
///
/// # Panics
///
/// With "no running event loop" when called outside a corio worker thread.
///
/// ```
/// # let rt = corio_executor::Runtime::new().unwrap();
/// rt.run(async {
///     let task = corio_executor::spawn(async { 42 });
///     assert_eq!(task.await.unwrap(), 42);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_named(future, None)
}

#[track_caller]
pub(crate) fn spawn_named<F>(future: F, name: Option<Box<str>>) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match current_cx() {
        Some(cx) => Shared::spawn(&cx.shared, future, NO_OWNER, name),
        None => no_running_loop("spawn"),
    }
}

/// Spawns a `!Send` task that stays on the current worker thread.
///
/// # Panics
///
/// With "no running event loop" when called outside a corio worker thread.
///
/// ```
/// use std::rc::Rc;
/// # let rt = corio_executor::Runtime::new().unwrap();
/// rt.run(async {
///     let shared = Rc::new(5);
///     let s = shared.clone();
///     let task = corio_executor::spawn_local(async move { *s + 1 });
///     assert_eq!(task.await.unwrap(), 6);
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_named(future, None)
}

#[track_caller]
pub(crate) fn spawn_local_named<F>(future: F, name: Option<Box<str>>) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match current_cx() {
        Some(cx) => Shared::spawn(&cx.shared, future, cx.core.index, name),
        None => no_running_loop("spawn_local"),
    }
}

/// Every unfinished task of the current runtime, the caller included
/// (asyncio's `all_tasks()`).
///
/// # Panics
///
/// With "no running event loop" outside a corio worker thread (use
/// [`Handle::all_tasks`] there).
///
/// ```
/// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let t = corio_executor::spawn(std::future::pending::<()>());
///     let all = corio_executor::all_tasks();
///     assert_eq!(all.len(), 2); // the main task and `t`
///     assert!(all.contains(&t.task_ref()));
/// #   t.abort();
/// });
/// ```
#[track_caller]
pub fn all_tasks() -> Vec<TaskRef> {
    match current_cx() {
        Some(cx) => cx.shared.all_tasks(),
        None => no_running_loop("all_tasks"),
    }
}

fn dump(shared: &Shared) -> String {
    use std::fmt::Write as _;
    let mut tasks = shared.all_tasks();
    tasks.sort_by_key(TaskRef::id);
    let rows: Vec<[String; 5]> = tasks
        .iter()
        .map(|t| {
            [
                t.id().to_string(),
                t.state().to_string(),
                format!("{:.2}s", t.age().as_secs_f64()),
                t.name(),
                t.location()
                    .map_or_else(|| "-".to_owned(), |l| l.to_string()),
            ]
        })
        .collect();
    let header = ["id", "state", "age", "name", "suspended at"];
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let n = rows.len();
    let mut out = format!(
        "corio runtime: {} worker{}, {n} unfinished task{}{}\n",
        shared.num_workers,
        if shared.num_workers == 1 { "" } else { "s" },
        if n == 1 { "" } else { "s" },
        if shared.slow_poll.is_some() {
            ", debug mode"
        } else {
            ""
        },
    );
    let mut line = |cells: [&str; 5]| {
        let _ = writeln!(
            out,
            "{:>w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
        );
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    out
}

/// The task being run on this thread (asyncio's `current_task()`), or
/// `None` outside a task.
///
/// ```
/// assert!(corio_executor::current_task().is_none());
/// # let rt = corio_executor::Runtime::new().unwrap();
/// rt.run(async { assert!(corio_executor::current_task().is_some()) });
/// ```
pub fn current_task() -> Option<TaskRef> {
    context::current_task_header().map(TaskRef::from_header)
}

/// Yields to the other ready tasks: the current task goes to the back of
/// the ready queue (asyncio's `await asyncio.sleep(0)`).
///
/// It is a cancellation point: it returns `Err(Cancelled)` when the task
/// (or a timeout scope it is in) has a cancellation request to deliver.
///
/// ```
/// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let t = corio_executor::spawn(async { 1 });
///     corio_executor::yield_now().await.unwrap(); // `t` runs here
///     assert!(t.done());
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// ```
/// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let yielding: corio_executor::YieldNow = corio_executor::yield_now();
///     assert!(yielding.await.is_ok());
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = Result<(), Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(c) = crate::task::poll_cancelled() {
            return Poll::Ready(Err(c));
        }
        if self.yielded {
            return Poll::Ready(Ok(()));
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        context::note_suspended(std::panic::Location::caller());
        Poll::Pending
    }
}

/// Builds a task with options (asyncio's `create_task(coro, name=...)`).
///
/// ```
/// # let rt = corio_executor::Runtime::new().unwrap();
/// rt.run(async {
///     let t = corio_executor::TaskBuilder::new().name("fetcher").spawn(async { 3 });
///     assert_eq!(t.name(), "fetcher");
///     assert_eq!(t.await.unwrap(), 3);
/// });
/// ```
#[derive(Debug, Default)]
#[must_use = "a task Builder does nothing until `spawn` is called"]
pub struct TaskBuilder {
    name: Option<Box<str>>,
}

impl TaskBuilder {
    /// A builder with no options set.
    ///
    /// ```
    /// let b = corio_executor::TaskBuilder::new();
    /// # drop(b);
    /// ```
    pub fn new() -> TaskBuilder {
        TaskBuilder { name: None }
    }

    /// Names the task (the default is `Task-<id>`).
    ///
    /// ```
    /// let b = corio_executor::TaskBuilder::new().name("worker");
    /// # drop(b);
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> TaskBuilder {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Spawns on the current runtime, like [`spawn`].
    ///
    /// # Panics
    ///
    /// With "no running event loop" outside a corio worker thread.
    ///
    /// ```
    /// # let rt = corio_executor::Runtime::new().unwrap();
    /// rt.run(async {
    ///     let t = corio_executor::TaskBuilder::new().name("a").spawn(async {});
    ///     t.await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_named(future, self.name)
    }

    /// Spawns a `!Send` task on the current worker, like [`spawn_local`].
    ///
    /// # Panics
    ///
    /// With "no running event loop" outside a corio worker thread.
    ///
    /// ```
    /// # let rt = corio_executor::Runtime::new().unwrap();
    /// rt.run(async {
    ///     let rc = std::rc::Rc::new(1);
    ///     let t = corio_executor::TaskBuilder::new().name("l").spawn_local(async move { *rc });
    ///     assert_eq!(t.await.unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_local_named(future, self.name)
    }

    /// Spawns on the runtime behind `handle`, from any thread.
    ///
    /// ```
    /// let rt = corio_executor::Runtime::new().unwrap();
    /// let t = corio_executor::TaskBuilder::new().name("x").spawn_on(async { 9 }, &rt.handle());
    /// assert_eq!(rt.run(t).unwrap(), 9);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.spawn_named(future, self.name)
    }
}
