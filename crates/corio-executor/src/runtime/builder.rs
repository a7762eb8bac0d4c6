//! `Builder`: the runtime's settings, and starting its workers.

use super::*;

/// Configures and builds a [`Runtime`].
///
/// # Example
///
/// ```
/// let rt = corio::Runtime::builder()
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

pub use crate::config::{DEFAULT_SHUTDOWN_GRACE, DEFAULT_SLOW_POLL_THRESHOLD};

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
    /// let rt = corio::Builder::new().build().unwrap();
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
            blocking_keep_alive: crate::config::DEFAULT_BLOCKING_KEEP_ALIVE,
        }
    }

    /// The most threads the blocking pool starts
    /// ([`Handle::spawn_blocking`](crate::Handle::spawn_blocking),
    /// `corio::to_thread`); more jobs than that wait in its queue. The default is
    /// Python's `ThreadPoolExecutor` default, min(32, cores + 4): enough
    /// threads to overlap blocking I/O, few enough that a burst of calls
    /// does not start hundreds of threads (tokio's default cap is 512).
    ///
    /// ```
    /// let rt = corio::Runtime::builder().max_blocking_threads(2).build().unwrap();
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
    /// let rt = corio::Runtime::builder()
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
    /// let rt = corio::Runtime::builder().debug(true).build().unwrap();
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
    /// let rt = corio::Runtime::builder()
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
    /// let rt = corio::Runtime::builder()
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
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
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
    /// let rt = corio::Runtime::builder().workers(2).thread_name("app").build().unwrap();
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
    /// let rt = corio::Runtime::builder()
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
    /// let err = corio::Runtime::builder().workers(0).build().unwrap_err();
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
                .unwrap_or_else(crate::config::default_max_blocking_threads),
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
