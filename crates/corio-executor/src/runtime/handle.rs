//! `Handle`: a runtime reached from any thread.

use super::*;

/// A cloneable, thread-safe handle to a [`Runtime`].
///
/// # Example
///
/// ```
/// let rt = corio::Runtime::new().unwrap();
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
    /// # let rt = corio::Runtime::new().unwrap();
    /// rt.run(async {
    ///     let h = corio::Handle::current();
    ///     h.spawn(async {}).await.unwrap();
    /// });
    /// ```
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|| no_running_loop("Handle::current"))
    }

    /// Like [`Handle::current`], but `None` outside a corio worker.
    ///
    /// ```
    /// assert!(corio::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::with_worker(|cx| {
            cx.map(|cx| Handle {
                shared: cx.shared.clone(),
            })
        })
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
    /// let rt = corio::Runtime::builder()
    ///     .exception_handler(move |cx| s.lock().unwrap().push(cx.message().to_owned()))
    ///     .build()
    ///     .unwrap();
    /// rt.handle().report("disk almost full");
    /// assert_eq!(*seen.lock().unwrap(), ["disk almost full"]);
    /// ```
    pub fn report(&self, message: &str) {
        self.shared.report(None, message, None);
    }

    /// Sends a panic that nobody else will see to the runtime's exception
    /// handler, with `message` saying where it happened (what corio's
    /// bridges do with a panicking done callback).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let rt = corio::Runtime::builder()
    ///     .exception_handler(move |cx| s.lock().unwrap().push(cx.to_string()))
    ///     .build()
    ///     .unwrap();
    /// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
    /// rt.handle().report_panic("a callback panicked", &*payload);
    /// let seen = seen.lock().unwrap();
    /// assert!(seen[0].contains("a callback panicked") && seen[0].contains("boom"));
    /// ```
    pub fn report_panic(&self, message: &str, payload: &(dyn std::any::Any + Send)) {
        self.shared.report(None, message, Some(payload));
    }

    /// Spawns a task on the runtime, from any thread.
    ///
    /// ```
    /// let rt = corio::Runtime::new().unwrap();
    /// let task = rt.handle().spawn(async { "hi" });
    /// assert_eq!(rt.run(task).unwrap(), "hi");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // From a thread outside the runtime, the next submission is likely
        // a round trip away: an idle worker spins for it (`bridges.rs`).
        self.shared.bridges.note_external_submit();
        Shared::spawn(&self.shared, future, NO_OWNER, None)
    }

    /// Whether the runtime has shut down (asyncio's `loop.is_closed()`):
    /// from then on nothing spawned on it runs.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let handle = rt.handle();
    /// assert!(!handle.is_closed());
    /// drop(rt);
    /// assert!(handle.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_shutdown()
    }

    #[track_caller]
    pub(crate) fn spawn_named<F>(&self, future: F, name: Option<Box<str>>) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(&self.shared, future, NO_OWNER, name)
    }

    /// Runs `f` on this runtime's blocking pool, from any thread, and
    /// returns an awaitable for its result (tokio's `spawn_blocking`;
    /// `corio::to_thread` is this on the current runtime, under asyncio's
    /// name). The job is queued at once; awaiting is optional.
    ///
    /// `f` sees the calling task's [context variables](crate::ContextVar)
    /// (none from a thread outside the runtime). It runs on a plain thread
    /// with no running event loop: to spawn from it, move a `Handle` in.
    /// See [`Blocking`](crate::Blocking) for panics and cancellation.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let job = rt.handle().spawn_blocking(|| 6 * 7);
    /// assert_eq!(rt.run(job).unwrap(), 42);
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> crate::Blocking<R>
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
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
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
        crate::bridges::call_soon_threadsafe(&self.shared, Box::new(f))
    }

    /// A sleep bound to this runtime: unlike [`sleep`](crate::sleep), it may
    /// be polled from any thread, not only inside the runtime (its timer
    /// then lives in worker 0's wheel).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
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
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
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
    /// let rt = corio::Runtime::builder().debug(false).build().unwrap();
    /// assert!(!rt.handle().debug());
    /// ```
    pub fn debug(&self) -> bool {
        self.shared.slow_poll.is_some()
    }

    /// The runtime's unfinished tasks (asyncio's `all_tasks()`, from any
    /// thread), in no particular order.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
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
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let h = rt.handle();
    /// rt.run(async move {
    ///     let _t = corio::task::Builder::new()
    ///         .name("poller")
    ///         .spawn(corio::sleep(Duration::from_secs(3600)));
    ///     corio::yield_now().await.unwrap();
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
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_workers(), 2);
    /// ```
    pub fn metrics(&self) -> Metrics {
        Metrics {
            shared: self.shared.clone(),
        }
    }
}
