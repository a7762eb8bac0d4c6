//! `TaskGroup`: asyncio's structured concurrency (`async with TaskGroup()`).
//!
//! # Protocol
//!
//! A group is shared state (`Inner`): behind one lock, its children (for
//! cancelling them), the failures so far, and whether it is *aborting* (a
//! failure was seen) or *closed* (no more spawns); beside it, the `Tally`
//! of unfinished children and the waker of the task running
//! [`TaskGroup::run`] (`tally.rs`: the count and the wakeup at zero).
//!
//! * **Children** are spawned linked to the group
//!   (`corio_executor::hooks::spawn_linked`: the link holds a reference to
//!   the group and is made before the child can run), and put in the list
//!   under the lock. A
//!   finishing child leaves the tally (no lock), records a panic as a
//!   failure first, and wakes the group when it is the last one or a
//!   failure arrives. A child's `Err` (children spawned with
//!   [`TaskGroup::spawn_try`]) is held by the child itself before it
//!   finishes, and `child_done` decides whether it is a failure: it is not
//!   if the child ended cancelled (the `Err` is that cancellation). Each child is marked so that its panic is not also reported
//!   as "never retrieved": the group reports it.
//! * **The first failure aborts the group**: every live child gets
//!   `cancel()` (asyncio's, catchable), spawning becomes an error, and the
//!   body is cancelled through a *cancel scope* of the group's own (like a
//!   timeout's, `corio_executor::hooks::Scope`): the awaits inside the body receive
//!   `Err(Cancelled)` with [`CancelScope::TaskGroup`](crate::CancelScope),
//!   and the group absorbs that cancellation when the body finishes. The
//!   task running the group is never `cancel()`ed, so its
//!   [`cancelling()`](crate::TaskRef::cancelling) count is exactly what it
//!   was (asyncio gets there with `uncancel()`).
//! * **Leaving** (the body finished, or panicked) waits for every child.
//!   That wait is a cancellation point: a cancellation of the task from
//!   outside aborts the children, the group still waits for them, and then
//!   reports the cancellation, unless children failed: failures win.
//!   Children may spawn more children while the group waits, until it
//!   aborts or finishes.
//! * **Dropping** the group's future before it finished (its task was
//!   aborted) aborts every child: nothing outlives the group.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub(crate) mod tally;

use tally::Tally;

use corio_executor::hooks::{self, panic_message, ChildSink, Scope};
use corio_executor::sync::{AtomicUsize, Mutex, Ordering};

use crate::{poll_cancelled, CancelScope, Cancelled, Handle, Task, TaskError, TaskId, TaskRef};

/// asyncio's `TaskGroup`: spawn children into it; leaving waits for all of
/// them; the first failing child (a panic, or an `Err` from a child
/// spawned with [`spawn_try`](TaskGroup::spawn_try)) cancels the other
/// children and the body; every failure is returned together.
///
/// `E` is the error type of the children spawned with `spawn_try`
/// (`Infallible` if there are none). The group handle is cheap to clone,
/// so children can spawn siblings.
///
/// | asyncio | corio |
/// |---|---|
/// | `async with TaskGroup() as tg:` | `TaskGroup::run(\|tg\| async move { ... }).await` |
/// | `tg.create_task(coro)` | `tg.spawn(fut)`, or `tg.spawn_try(fut)` for a `Result` |
/// | `ExceptionGroup` of the failures | `Err(TaskGroupError)` listing them |
///
/// # Example
///
/// ```
/// use corio::task_group::TaskGroup;
/// # let rt = corio::Runtime::builder().workers(2).build().unwrap();
/// rt.run(async {
///     let out = TaskGroup::<std::io::Error>::run(|tg| async move {
///         let a = tg.spawn(async { 1 });
///         let b = tg.spawn_try(async { Ok(2) });
///         (a, b)
///     })
///     .await;
///     // Leaving waited for both children: their outputs are there.
///     let (a, b) = out.unwrap();
///     assert_eq!(a.await.unwrap() + b.await.unwrap().unwrap(), 3);
/// });
/// ```
pub struct TaskGroup<E = std::convert::Infallible> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for TaskGroup<E> {
    fn clone(&self) -> TaskGroup<E> {
        TaskGroup {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<E> {
    handle: Handle,
    /// Unfinished children and the waiting task's waker (`tally.rs`).
    tally: Tally,
    state: Mutex<GroupState<E>>,
    /// How many errors `state.held` holds.
    holding: AtomicUsize,
}

struct GroupState<E> {
    /// The children, for cancelling them: every live one is here; finished
    /// ones are swept out when the list has doubled since the last sweep.
    children: Vec<TaskRef>,
    swept_len: usize,
    /// No more spawns: aborting, or finished.
    closed: bool,
    /// Why it closed, for the panic of a spawn into it.
    close_reason: &'static str,
    aborting: bool,
    failures: Vec<Failure<E>>,
    /// Errors returned by `spawn_try` children whose outcome is not yet
    /// decided (see `child_done`).
    held: Vec<(TaskId, Failure<E>)>,
}

/// One failure of a [`TaskGroup`]: a child (or the body) panicked, or a
/// child spawned with [`TaskGroup::spawn_try`] returned `Err`.
///
/// ```
/// use corio::task_group::{Failure, TaskGroup};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let err = TaskGroup::<&str>::run(|tg| async move {
///         tg.spawn_try(async { Err::<(), _>("no") });
///     })
///     .await
///     .unwrap_err();
///     match &err.failures()[0] {
///         Failure::Error { error, .. } => assert_eq!(*error, "no"),
///         other => panic!("{other:?}"),
///     }
/// });
/// ```
#[derive(Debug)]
pub enum Failure<E> {
    /// A child, or the body (`task: None`), panicked.
    Panicked {
        /// The child's id; `None` for the group's body.
        task: Option<TaskId>,
        /// The child's name (`"body"` for the body).
        name: String,
        /// The panic message.
        message: String,
    },
    /// A child spawned with [`TaskGroup::spawn_try`] returned `Err(error)`
    /// (and did not end cancelled), or the body of
    /// [`TaskGroup::try_run`] did (named `"body"`).
    Error {
        /// The child's id; for the body, the id of the task running the
        /// group.
        task: TaskId,
        /// The child's name.
        name: String,
        /// What it returned.
        error: E,
    },
}

impl<E> Failure<E> {
    /// The name of the task that failed (`"body"` for the group's body).
    ///
    /// ```
    /// let f = corio::task_group::Failure::<()>::Panicked {
    ///     task: None,
    ///     name: "body".into(),
    ///     message: "x".into(),
    /// };
    /// assert_eq!(f.name(), "body");
    /// ```
    pub fn name(&self) -> &str {
        match self {
            Failure::Panicked { name, .. } | Failure::Error { name, .. } => name,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Panicked { name, message, .. } => write!(f, "{name} panicked: {message}"),
            Failure::Error { name, error, .. } => write!(f, "{name} failed: {error}"),
        }
    }
}

/// Why a [`TaskGroup`] failed: every failure of its children (and body),
/// in the order they happened, and the cancellation of the task running the
/// group if one arrived (asyncio's `ExceptionGroup`; a bare cancellation,
/// with no failures, is asyncio's `CancelledError`).
///
/// ```
/// use corio::task_group::TaskGroup;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let err = TaskGroup::<String>::run(|tg| async move {
///         tg.spawn_try(async {
///             // Cancelled by the group when its sibling fails: it refuses the
///             // cancellation and fails in its own right.
///             match corio::sleep(std::time::Duration::from_secs(60)).await {
///                 Ok(()) => Ok(()),
///                 Err(cancelled) => {
///                     cancelled.suppress();
///                     Err("cleanup failed".to_string())
///                 }
///             }
///         });
///         tg.spawn_try(async { Err::<(), _>("disk full".to_string()) });
///     })
///     .await
///     .unwrap_err();
///     assert_eq!(err.failures().len(), 2);
///     assert!(err.to_string().starts_with("2 failures in a task group"));
/// });
/// ```
pub struct TaskGroupError<E> {
    failures: Vec<Failure<E>>,
    cancelled: Option<Cancelled>,
}

impl<E> TaskGroupError<E> {
    /// The failures, in the order they happened (empty if the group only
    /// ended because its task was cancelled).
    ///
    /// ```
    /// # use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let err = TaskGroup::<()>::run(|tg| async move { tg.spawn(async { panic!("p") }); })
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.failures()[0].name().len() > 0, true);
    /// # });
    /// ```
    pub fn failures(&self) -> &[Failure<E>] {
        &self.failures
    }

    /// The failures, by value.
    ///
    /// ```
    /// # use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let err = TaskGroup::<u8>::run(|tg| async move { tg.spawn_try(async { Err::<(), _>(7) }); })
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.into_failures().len(), 1);
    /// # });
    /// ```
    pub fn into_failures(self) -> Vec<Failure<E>> {
        self.failures
    }

    /// The cancellation of the task running the group, or of a cancel scope
    /// around it (a timeout, an outer group), if one arrived (let through
    /// by the body, or delivered while the group waited for its children;
    /// [`Cancelled::scope`] tells which). With no failures, it is why the
    /// group ended, and the cancellation goes on. With failures, they win
    /// (asyncio raises the `ExceptionGroup` instead of `CancelledError`):
    /// a scope's cancellation is put back (its next await is cancelled
    /// again, and a timeout lets this error through), and the task's own is
    /// refused, so this error is what the task's awaiter sees if the task
    /// returns it.
    ///
    /// ```
    /// # use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let err = TaskGroup::<()>::run(|tg| async move { tg.spawn(async { panic!("p") }); })
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.cancelled().is_none());
    /// # });
    /// ```
    pub fn cancelled(&self) -> Option<&Cancelled> {
        self.cancelled.as_ref()
    }

    /// True if the group ended only because its task was cancelled (no
    /// child failed).
    ///
    /// ```
    /// # use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let err = TaskGroup::<()>::run(|tg| async move { tg.spawn(async { panic!("p") }); })
    ///     .await
    ///     .unwrap_err();
    /// assert!(!err.is_cancelled());
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.failures.is_empty() && self.cancelled.is_some()
    }

    /// The cancellation, taken out (to return it, or to read its message).
    /// Only one delivered while the group waited can be
    /// [`suppress`](Cancelled::suppress)ed; one the body let through is a
    /// record of it (the body had the delivered value).
    ///
    /// ```
    /// # use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let mut err = TaskGroup::<()>::run(|tg| async move { tg.spawn(async { panic!("p") }); })
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.take_cancelled().is_none());
    /// # });
    /// ```
    pub fn take_cancelled(&mut self) -> Option<Cancelled> {
        self.cancelled.take()
    }
}

impl<E: fmt::Debug> fmt::Debug for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupError")
            .field("failures", &self.failures)
            .field("cancelled", &self.cancelled)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failures.len() {
            0 => write!(f, "the task running the task group was cancelled"),
            1 => write!(f, "1 failure in a task group: {}", self.failures[0]),
            n => {
                write!(f, "{n} failures in a task group: ")?;
                for (i, failure) in self.failures.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{failure}")?;
                }
                Ok(())
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskGroupError<E> {}

/// A child of a [`TaskGroup`]: its [`Task`] handle (through `Deref`), which
/// may be dropped freely, since the group watches the child.
///
/// ```
/// use corio::task_group::TaskGroup;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let child = TaskGroup::<()>::run(|tg| async move { tg.spawn(async { 4 }) })
///         .await
///         .unwrap();
///     assert!(child.done()); // a `Task` method
///     assert_eq!(child.await.unwrap(), 4);
/// });
/// ```
pub struct Child<T>(Task<T>);

impl<T> Child<T> {
    /// The `Task` handle.
    ///
    /// ```
    /// # use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let c = TaskGroup::<()>::run(|tg| async move { tg.spawn(async { 1 }) }).await.unwrap();
    /// let task: corio::Task<i32> = c.into_task();
    /// assert_eq!(task.await.unwrap(), 1);
    /// # });
    /// ```
    pub fn into_task(self) -> Task<T> {
        self.0
    }
}

impl<T> std::ops::Deref for Child<T> {
    type Target = Task<T>;
    fn deref(&self) -> &Task<T> {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Child<T> {
    fn deref_mut(&mut self) -> &mut Task<T> {
        &mut self.0
    }
}

impl<T> Future for Child<T> {
    type Output = Result<T, TaskError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> fmt::Debug for Child<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Child").field(&self.0).finish()
    }
}

impl<E: Send + 'static> TaskGroup<E> {
    /// Runs `body` with a new group, then waits for every child (asyncio's
    /// `async with TaskGroup() as tg:`). Returns the body's output, or every
    /// failure together.
    ///
    /// The body runs in the calling task (it is not spawned). When a child
    /// fails, the other children are cancelled and so is the body: its
    /// awaits receive `Err(Cancelled)` (with
    /// [`CancelScope::TaskGroup`](crate::CancelScope)); it may clean up,
    /// and its output is then dropped in favour of the failures. A panic in
    /// the body is a failure too (named `"body"`). The caller's
    /// [`cancelling()`](crate::TaskRef::cancelling) count is not touched.
    ///
    /// # Panics
    ///
    /// With "no running event loop" outside a corio task.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(2).build().unwrap();
    /// rt.run(async {
    ///     let err = TaskGroup::<&str>::run(|tg| async move {
    ///         tg.spawn(async { corio::sleep(Duration::from_secs(3600)).await });
    ///         tg.spawn_try(async { Err::<(), _>("bad") });
    ///         // The failure cancels the body too.
    ///         corio::sleep(Duration::from_secs(3600)).await.unwrap_err();
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     assert_eq!(err.failures().len(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn run<F, Fut>(body: F) -> Run<E, Fut>
    where
        F: FnOnce(TaskGroup<E>) -> Fut,
        Fut: Future,
    {
        TaskGroup::start(body, None)
    }

    /// Like [`run`](TaskGroup::run), for a body that can fail: an `Err`
    /// the body returns is a failure of the group, listed with the
    /// children's (named `"body"`), and it cancels the children, as an
    /// exception raised in asyncio's `async with TaskGroup()` block does.
    /// So `?` works in the body as it does in `spawn_try` children.
    ///
    /// An `Err` returned after a cancellation was delivered to the body and
    /// not [`suppress`](Cancelled::suppress)ed is that cancellation going
    /// on, not a failure: the group's own (a child failed: the failures are
    /// already listed) or the task's (the group ends cancelled).
    ///
    /// # Panics
    ///
    /// As [`run`](TaskGroup::run), outside a corio task.
    ///
    /// ```
    /// use corio::task_group::{Failure, TaskGroup};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let err = TaskGroup::<String>::try_run(|tg| async move {
    ///         let child = tg.spawn(async { corio::sleep(std::time::Duration::from_secs(3600)).await });
    ///         let n: u32 = "forty-two".parse().map_err(|e| format!("bad input: {e}"))?;
    ///         drop(child);
    ///         Ok(n)
    ///     })
    ///     .await
    ///     .unwrap_err();
    ///     // The body's error is the group's failure; the child was cancelled.
    ///     assert!(matches!(&err.failures()[0], Failure::Error { name, .. } if name == "body"));
    ///     assert_eq!(err.failures().len(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn try_run<F, Fut, T>(body: F) -> TryRun<E, Fut>
    where
        F: FnOnce(TaskGroup<E>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        TryRun {
            run: TaskGroup::start(body, Some(split_result::<T, E>)),
        }
    }

    #[track_caller]
    fn start<F, Fut>(body: F, split: Option<Split<Fut::Output, E>>) -> Run<E, Fut>
    where
        F: FnOnce(TaskGroup<E>) -> Fut,
        Fut: Future,
    {
        let handle = Handle::try_current().unwrap_or_else(|| {
            panic!(
                "corio: TaskGroup::run was called with no running event loop: this thread is \
                 not a corio worker. Run the group inside `corio::run(...)` or a task."
            )
        });
        let group = TaskGroup {
            inner: Arc::new(Inner {
                handle,
                tally: Tally::new(),
                state: Mutex::new(GroupState {
                    children: Vec::new(),
                    swept_len: 0,
                    closed: false,
                    close_reason: "",
                    aborting: false,
                    failures: Vec::new(),
                    held: Vec::new(),
                }),
                holding: AtomicUsize::new(0),
            }),
        };
        let body = body(group.clone());
        Run {
            group,
            body: Some(Box::pin(body)),
            body_out: None,
            split,
            scope: Scope::new(CancelScope::TaskGroup),
            cancelled: None,
            enclosing_base: None,
            finished: false,
        }
    }

    /// Spawns `future` as a child. Only a panic counts as a failure; its
    /// output stays in the returned [`Child`].
    ///
    /// # Panics
    ///
    /// If the group is closing (a child failed, or it finished): asyncio's
    /// `RuntimeError`. Check [`is_closing`](TaskGroup::is_closing) first
    /// where that can happen.
    ///
    /// ```
    /// use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let n = TaskGroup::<()>::run(|tg| async move {
    ///         let c = tg.spawn(async { 21 });
    ///         c
    ///     })
    ///     .await
    ///     .unwrap();
    ///     assert_eq!(n.await.unwrap() * 2, 42);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<Fut>(&self, future: Fut) -> Child<Fut::Output>
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.spawn_child(future)
    }

    /// Spawns a child whose `Err` is a failure: the error goes into the
    /// group's [`TaskGroupError`] (the child's own output is then `None`),
    /// and, if it is the first failure, the group aborts.
    ///
    /// # Panics
    ///
    /// As [`spawn`](TaskGroup::spawn), if the group is closing.
    ///
    /// ```
    /// use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let child = TaskGroup::<String>::run(|tg| async move {
    ///         tg.spawn_try(async { Ok::<_, String>(5) })
    ///     })
    ///     .await
    ///     .unwrap();
    ///     assert_eq!(child.await.unwrap(), Some(5));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_try<T, Fut>(&self, future: Fut) -> Child<Option<T>>
    where
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        self.spawn_child(async move {
            match future.await {
                Ok(v) => Some(v),
                Err(error) => {
                    // Held until the child's outcome is decided: a child
                    // that ends cancelled did not fail (`child_done`).
                    let me = crate::current_task().expect("a child runs in a task");
                    inner.hold_error(
                        me.id(),
                        Failure::Error {
                            task: me.id(),
                            name: me.name(),
                            error,
                        },
                    );
                    None
                }
            }
        })
    }

    /// True once spawning is an error: a child failed (the group is
    /// aborting), or the group finished.
    ///
    /// ```
    /// use corio::task_group::TaskGroup;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let tg = TaskGroup::<()>::run(|tg| async move {
    ///         assert!(!tg.is_closing());
    ///         tg
    ///     })
    ///     .await
    ///     .unwrap();
    ///     assert!(tg.is_closing());
    /// });
    /// ```
    pub fn is_closing(&self) -> bool {
        self.inner.state.lock().closed
    }

    #[track_caller]
    fn spawn_child<Fut>(&self, future: Fut) -> Child<Fut::Output>
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        // One lock per spawn, taken before the child can run: it is in the
        // slab (and linked) before anything can finish or cancel it.
        let mut rejected = None;
        let inner = &self.inner;
        let sink: Arc<dyn ChildSink> = inner.clone();
        let task = hooks::spawn_linked(&inner.handle, future, sink, |child| {
            let mut st = inner.state.lock();
            if st.closed {
                rejected = Some(st.close_reason);
                return false;
            }
            if st.children.len() >= 2 * st.swept_len.max(32) {
                st.children.retain(|c| !c.done());
                st.swept_len = st.children.len();
            }
            st.children.push(child.clone());
            inner.tally.join();
            true
        });
        if let Some(why) = rejected {
            drop(task);
            panic!(
                "corio: TaskGroup::spawn on a group that is closing ({why}); spawn into a live \
                 group, check is_closing() first, or start a new group"
            );
        }
        Child(task)
    }
}

impl<E: Send + 'static> ChildSink for Inner<E> {
    /// A child finished (told by its group link, on the completing thread).
    fn child_done(&self, child: &TaskRef) {
        // The child's outcome is decided: a panic is a failure; an `Err`
        // it returned is one unless the child ended cancelled (it let a
        // cancellation through, so the `Err` is that cancellation).
        let held = self.take_held_error(child.id());
        let failure = match child.exception().ok().flatten() {
            Some(message) => Some(Failure::Panicked {
                task: Some(child.id()),
                name: child.name(),
                message,
            }),
            None => held.filter(|_| !child.cancelled()),
        };
        if let Some(failure) = failure {
            let why = match failure {
                Failure::Panicked { .. } => "it is shutting down: a child panicked",
                Failure::Error { .. } => "it is shutting down: a child failed",
            };
            self.record_failure(failure, why);
        }
        // After the failure is recorded: the group never sees 0 without it.
        self.tally.leave();
    }
}

impl<E> Inner<E> {
    /// A `spawn_try` child returned `Err`: kept until the child's outcome
    /// is known (`child_done`, on the same thread, right after).
    fn hold_error(&self, task: TaskId, failure: Failure<E>) {
        self.state.lock().held.push((task, failure));
        self.holding.fetch_add(1, Ordering::Relaxed);
    }

    /// The error `task` returned, if it returned one. Without held errors
    /// (the common case) this takes no lock: a child holds its error on the
    /// thread that then completes it, so it sees its own count.
    fn take_held_error(&self, task: TaskId) -> Option<Failure<E>> {
        if self.holding.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut st = self.state.lock();
        let i = st.held.iter().position(|(t, _)| *t == task)?;
        self.holding.fetch_sub(1, Ordering::Relaxed);
        Some(st.held.swap_remove(i).1)
    }

    /// Records a failure (a child's, or the body's) and aborts the group
    /// if it is the first: the live children are cancelled, the body is
    /// cancelled through the group's scope, and the waiting task is woken.
    fn record_failure(&self, failure: Failure<E>, why: &'static str) {
        let to_cancel = {
            let mut st = self.state.lock();
            st.failures.push(failure);
            if st.aborting {
                return;
            }
            Inner::abort_locked(&mut st, why)
        };
        for child in to_cancel {
            child.cancel();
        }
        self.tally.wake();
    }

    /// Starts the abort: closes the group; returns the children to cancel
    /// (outside the lock).
    fn abort_locked(st: &mut GroupState<E>, why: &'static str) -> Vec<TaskRef> {
        st.aborting = true;
        st.close(why);
        live_children(&st.children)
    }

    /// The group's task is cancelled from outside, or the body panicked, or
    /// the run future is dropped: cancel (or abort) every live child.
    fn stop_children(&self, hard: bool, why: &'static str) {
        let to_stop = {
            let mut st = self.state.lock();
            st.aborting = true;
            st.close(why);
            live_children(&st.children)
        };
        for child in to_stop {
            if hard {
                child.abort();
            } else {
                child.cancel();
            }
        }
    }
}

impl<E> GroupState<E> {
    /// Closes the group for spawning; the first reason is kept.
    fn close(&mut self, why: &'static str) {
        if !self.closed {
            self.closed = true;
            self.close_reason = why;
        }
    }
}

fn live_children(children: &[TaskRef]) -> Vec<TaskRef> {
    children.iter().filter(|c| !c.done()).cloned().collect()
}

/// The future of [`TaskGroup::run`]: the body, then the wait for every
/// child.
///
/// ```
/// use corio::task_group::{Run, TaskGroup};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let run: Run<(), _> = TaskGroup::run(|_tg| async { 3 });
/// assert_eq!(run.await.unwrap(), 3);
/// # });
/// ```
#[must_use = "a TaskGroup does nothing unless its run future is awaited"]
pub struct Run<E, Fut: Future> {
    group: TaskGroup<E>,
    body: Option<Pin<Box<Fut>>>,
    body_out: Option<Fut::Output>,
    /// `try_run`: separates a body's `Err` (a failure) from its output.
    split: Option<Split<Fut::Output, E>>,
    /// The body's cancel scope: the group cancels the body through it.
    scope: Scope,
    /// A cancellation of the task or of an enclosing scope, let through by
    /// the body or delivered while waiting for the children.
    cancelled: Option<Cancelled>,
    /// The enclosing scopes' cancellations let through when the body
    /// started (`cancel::scopes_let_through`), once it has.
    enclosing_base: Option<u32>,
    finished: bool,
}

// The body is boxed: nothing in `Run` is structurally pinned.
impl<E, Fut: Future> Unpin for Run<E, Fut> {}

impl<E: Send + 'static, Fut: Future> Future for Run<E, Fut> {
    type Output = Result<Fut::Output, TaskGroupError<E>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let at = Location::caller();
        let this = &mut *self;
        assert!(
            !this.finished,
            "corio: a TaskGroup's run future was polled after it finished"
        );
        if let Some(body) = this.body.as_mut() {
            // Registered before reading `aborting`: a failure after the read
            // wakes us (`tally.rs`).
            this.group.inner.tally.register(cx.waker());
            let abort = this.group.inner.state.lock().aborting;
            if abort && !this.scope.cancel_called() {
                this.scope.cancel();
            }
            if this.enclosing_base.is_none() {
                this.enclosing_base = Some(hooks::scopes_let_through().0);
            }
            let out = this
                .scope
                .poll_in(|| catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx))));
            let mut body_error = None;
            match out {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(v)) => {
                    this.body = None;
                    let split = match this.split {
                        Some(split) => split(v),
                        None => Ok(v),
                    };
                    match split {
                        Ok(v) => this.body_out = Some(v),
                        Err(e) => body_error = Some(e),
                    }
                }
                Err(payload) => {
                    this.body = None;
                    let failure = Failure::Panicked {
                        task: None,
                        name: "body".to_owned(),
                        message: panic_message(&*payload),
                    };
                    this.group
                        .inner
                        .record_failure(failure, "it is shutting down: its body panicked");
                }
            }
            // The body let a cancellation of the task through.
            let task_cancelled = hooks::current_task_cancellation();
            // An enclosing scope's cancellation (a timeout, an outer group)
            // delivered in the body and not suppressed.
            let (through, enclosing) = hooks::scopes_let_through();
            let enclosing = enclosing.filter(|_| through > this.enclosing_base.unwrap_or(0));
            if let Some(error) = body_error {
                // An `Err` after a delivered, unsuppressed cancellation (the
                // group's, the task's or an enclosing scope's) is that
                // cancellation going on.
                if task_cancelled.is_none() && !this.scope.cancelled_caught() && enclosing.is_none()
                {
                    let me = crate::current_task().expect("a task group runs in a task");
                    let failure = Failure::Error {
                        task: me.id(),
                        name: "body".to_owned(),
                        error,
                    };
                    this.group
                        .inner
                        .record_failure(failure, "it is shutting down: its body failed");
                }
            }
            if let Some(c) = task_cancelled {
                // The body let a cancellation of the task through: the
                // children go too (asyncio aborts on CancelledError).
                this.cancelled = Some(c);
                this.group
                    .inner
                    .stop_children(false, "it is shutting down: its task was cancelled");
            } else if let Some(c) = enclosing {
                // The body let the cancellation of an enclosing scope
                // through: likewise.
                this.cancelled = Some(c);
                this.group
                    .inner
                    .stop_children(false, "it is shutting down: it was cancelled");
            }
        }
        if let Some(c) = poll_cancelled() {
            // Cancelled from outside while waiting: cancel the children,
            // and go on waiting for them.
            this.cancelled = Some(c);
            this.group
                .inner
                .stop_children(false, "it is shutting down: its task was cancelled");
        }
        let failures = {
            let mut st = this.group.inner.state.lock();
            if !this.group.inner.tally.poll_empty(cx.waker()) {
                drop(st);
                hooks::note_suspended(at);
                return Poll::Pending;
            }
            st.close("it has finished");
            this.group.inner.tally.clear();
            st.children.clear();
            std::mem::take(&mut st.failures)
        };
        this.finished = true;
        if failures.is_empty() && this.cancelled.is_none() {
            return Poll::Ready(Ok(this.body_out.take().expect("the body finished")));
        }
        if let Some(c) = this.cancelled.as_ref().filter(|_| !failures.is_empty()) {
            // Failures win over the cancellation (asyncio raises the
            // ExceptionGroup, not CancelledError). An enclosing scope's is
            // put back: that scope asks again, so its next await is
            // cancelled and an enclosing timeout lets the error through
            // (asyncio 3.13's `uncancel(); cancel()`, gh-116720). The
            // task's own is refused, so the error reaches whoever awaits
            // the task.
            if !hooks::rearm(c) {
                hooks::refuse_current_task_cancellation();
            }
        }
        Poll::Ready(Err(TaskGroupError {
            failures,
            cancelled: this.cancelled.take(),
        }))
    }
}

/// Splits a `try_run` body's output into its value and its error.
type Split<O, E> = fn(O) -> Result<O, E>;

fn split_result<T, E>(out: Result<T, E>) -> Result<Result<T, E>, E> {
    out.map(Ok)
}

/// The future of [`TaskGroup::try_run`]: the body (whose `Err` is a
/// failure of the group), then the wait for every child.
///
/// ```
/// use corio::task_group::{TaskGroup, TryRun};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let run = TaskGroup::<String>::try_run(|_tg| async { Ok(3) });
/// assert_eq!(run.await.unwrap(), 3);
/// # });
/// ```
#[must_use = "a TaskGroup does nothing unless its run future is awaited"]
pub struct TryRun<E, Fut: Future> {
    run: Run<E, Fut>,
}

impl<E: Send + 'static, T, Fut: Future<Output = Result<T, E>>> Future for TryRun<E, Fut> {
    type Output = Result<T, TaskGroupError<E>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.run).poll(cx).map(|out| {
            out.map(|body| match body {
                Ok(v) => v,
                Err(_) => unreachable!("a body's error is taken out as a failure"),
            })
        })
    }
}

impl<E, Fut: Future> fmt::Debug for TryRun<E, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TryRun").field(&self.run).finish()
    }
}

impl<E, Fut: Future> Drop for Run<E, Fut> {
    fn drop(&mut self) {
        if !self.finished {
            // Dropped before the end (its task was aborted): nothing may
            // outlive the group.
            self.group
                .inner
                .stop_children(true, "its run future was dropped");
        }
    }
}

impl<E, Fut: Future> fmt::Debug for Run<E, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("body_running", &self.body.is_some())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("TaskGroup")
            .field("live", &self.inner.tally.live())
            .field("failures", &st.failures.len())
            .field("closing", &st.closed)
            .finish()
    }
}
