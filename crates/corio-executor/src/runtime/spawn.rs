//! The free functions that find the current runtime: `spawn`,
//! `spawn_local`, `all_tasks`, `current_task`, `yield_now`, and
//! `TaskBuilder`.

use super::*;

#[track_caller]
pub(crate) fn no_running_loop(what: &str) -> ! {
    panic!(
        "corio: {what} was called with no running event loop: this thread is not a corio \
         worker. Call it from inside `corio::run(...)` (or a task spawned there), or use \
         `Handle::spawn` with a handle from `Runtime::handle()`."
    )
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
/// # let rt = corio::Runtime::new().unwrap();
/// rt.run(async {
///     let task = corio::spawn(async { 42 });
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
    let at = std::panic::Location::caller();
    let task = context::with_worker(|cx| {
        cx.map(|cx| Shared::spawn_at(&cx.shared, future, NO_OWNER, name, at))
    });
    match task {
        Some(task) => task,
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
/// # let rt = corio::Runtime::new().unwrap();
/// rt.run(async {
///     let shared = Rc::new(5);
///     let s = shared.clone();
///     let task = corio::spawn_local(async move { *s + 1 });
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
    let at = std::panic::Location::caller();
    let task = context::with_worker(|cx| {
        cx.map(|cx| Shared::spawn_at(&cx.shared, future, cx.core.index, name, at))
    });
    match task {
        Some(task) => task,
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
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let t = corio::spawn(std::future::pending::<()>());
///     let all = corio::all_tasks();
///     assert_eq!(all.len(), 2); // the main task and `t`
///     assert!(all.contains(&t.task_ref()));
/// #   t.abort();
/// });
/// ```
#[track_caller]
pub fn all_tasks() -> Vec<TaskRef> {
    match context::with_worker(|cx| cx.map(|cx| cx.shared.all_tasks())) {
        Some(tasks) => tasks,
        None => no_running_loop("all_tasks"),
    }
}

/// The task being run on this thread (asyncio's `current_task()`), or
/// `None` outside a task.
///
/// ```
/// assert!(corio::current_task().is_none());
/// # let rt = corio::Runtime::new().unwrap();
/// rt.run(async { assert!(corio::current_task().is_some()) });
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
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let t = corio::spawn(async { 1 });
///     corio::yield_now().await.unwrap(); // `t` runs here
///     assert!(t.done());
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// ```
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let yielding: corio::YieldNow = corio::yield_now();
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
/// # let rt = corio::Runtime::new().unwrap();
/// rt.run(async {
///     let t = corio::task::Builder::new().name("fetcher").spawn(async { 3 });
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
    /// let b = corio::task::Builder::new();
    /// # drop(b);
    /// ```
    pub fn new() -> TaskBuilder {
        TaskBuilder { name: None }
    }

    /// Names the task (the default is `Task-<id>`).
    ///
    /// ```
    /// let b = corio::task::Builder::new().name("worker");
    /// # drop(b);
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> TaskBuilder {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Spawns on the current runtime, like [`spawn()`].
    ///
    /// # Panics
    ///
    /// With "no running event loop" outside a corio worker thread.
    ///
    /// ```
    /// # let rt = corio::Runtime::new().unwrap();
    /// rt.run(async {
    ///     let t = corio::task::Builder::new().name("a").spawn(async {});
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
    /// # let rt = corio::Runtime::new().unwrap();
    /// rt.run(async {
    ///     let rc = std::rc::Rc::new(1);
    ///     let t = corio::task::Builder::new().name("l").spawn_local(async move { *rc });
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
    /// let rt = corio::Runtime::new().unwrap();
    /// let t = corio::task::Builder::new().name("x").spawn_on(async { 9 }, &rt.handle());
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
