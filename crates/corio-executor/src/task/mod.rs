//! Tasks: the allocation, its state machine, and the handles to it.
//!
//! # Protocol
//!
//! A task is one allocation (see `raw.rs`) shared by several owners, each
//! holding one reference in the state word (see `state.rs` for every bit):
//!
//! * the **registry** of the runtime, from spawn until completion (so
//!   shutdown can reach every unfinished task and `all_tasks` can list them);
//! * the **`Task<T>` handle** (join interest), until it is dropped;
//! * at most one **`Notified`** in a run queue (the `NOTIFIED` bit);
//! * every **`Waker`** and **`TaskRef`**.
//!
//! Life of a task:
//!
//! ```text
//!   spawn ──► NOTIFIED ──(worker pops)──► RUNNING ──Ready/panic──► COMPLETE
//!                ▲                          │  │
//!                │      wake (idle task)    │  └─ wake while running: sets
//!                └──────── idle ◄─Pending───┘     NOTIFIED, the runner
//!                                                 requeues after the poll
//! ```
//!
//! * **Wake.** A wake of an idle task sets `NOTIFIED` and queues it; of a
//!   notified or complete task does nothing; of a running task sets
//!   `NOTIFIED`, and the thread that polls it requeues it (to the back of the
//!   queue) when the poll returns `Pending`.
//! * **Panics.** `poll` runs under `catch_unwind`; a panic completes the task
//!   with [`TaskError::Panicked`]. A panic while dropping the future or the
//!   output is caught too and sent to the exception handler.
//! * **Completion.** The runner stores the outcome, then sets `COMPLETE`. If
//!   a `Task` handle still exists, the outcome is its to take and its waker
//!   is woken; otherwise the runner drops the outcome at once, and an
//!   unretrieved panic goes to the runtime's exception handler (asyncio's
//!   "Task exception was never retrieved"), unless its task group reports
//!   it, `exception()` retrieved it, or done callbacks are still queued (the
//!   callback runner then decides, after them; see `callbacks.rs`). Then
//!   the task's group is told and its done callbacks are started.
//! * **Detach.** Dropping a `Task` handle does not stop the task.
//! * **Abort.** [`TaskRef::abort`] sets `ABORTED` and queues the task if it is
//!   idle; the next time a worker picks it up (or when the current poll
//!   returns), the future is dropped, `Drop` impls run, and the task
//!   completes as cancelled.
//! * **Shutdown.** The runtime takes every task out of the registry and
//!   drops the futures of those not yet complete, on a thread allowed to
//!   drop them (a `!Send` task's own worker).

mod callbacks;
pub(crate) mod cancel;
mod error;
mod id;
pub(crate) mod raw;
mod state;

pub use callbacks::CallbackId;
pub use callbacks::ChildSink;
pub use cancel::poll_cancelled;
pub(crate) use cancel::{cancel_enter_task, cancel_leave_task};
pub use error::{CancelScope, Cancelled, InvalidStateError, TaskError};
pub use id::TaskId;
pub(crate) use raw::allocate;
pub(crate) use raw::{Header, Notified, RawTask, Schedule, NO_ORIGIN, NO_OWNER};

pub use error::panic_message;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::context;

/// A handle to a spawned task: await it for the task's outcome.
///
/// `Task<T>` is asyncio's `Task`: awaiting it gives `Ok(output)`, or a
/// [`TaskError`] if the task panicked or was cancelled. Dropping the handle
/// *detaches* the task: it keeps running, and a panic in it then goes to the
/// runtime's exception handler.
///
/// # Example
///
/// ```
/// let rt = corio::Runtime::builder().workers(2).build().unwrap();
/// let out = rt.run(async {
///     let task = corio::spawn(async { 6 * 7 });
///     assert!(!task.name().is_empty());
///     task.await.unwrap()
/// });
/// assert_eq!(out, 42);
/// ```
#[must_use = "dropping a Task detaches it; await it to get its output"]
pub struct Task<T> {
    raw: NonNull<Header>,
    /// Cancellations delivered to the awaiting task while it awaited this
    /// one, and forwarded to it (asyncio: cancelling the awaiter cancels
    /// what it awaits). Boxed: rare, and handles are kept in bulk.
    forwarded: Option<Box<Forwarded>>,
    _output: PhantomData<T>,
}

/// See `Task::forwarded`.
#[derive(Default)]
struct Forwarded(Vec<Cancelled>);

// SAFETY: the handle only reads the output (on the thread that owns the
// handle), so it may move between threads when the output may.
unsafe impl<T: Send> Send for Task<T> {}
// SAFETY: `&Task` only offers thread-safe queries (state loads, the name
// lock, abort).
unsafe impl<T: Send> Sync for Task<T> {}

impl<T> Unpin for Task<T> {}

impl<T> Task<T> {
    /// # Safety
    ///
    /// `raw` carries the join handle's reference of a task whose output type
    /// is `T`.
    pub(crate) unsafe fn from_raw(raw: NonNull<Header>) -> Task<T> {
        Task {
            raw,
            forwarded: None,
            _output: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle holds a reference.
        unsafe { self.raw.as_ref() }
    }

    /// Polls for the task's outcome *without* being a cancellation point and
    /// without spending the cooperative budget: what combinators that
    /// decide for themselves what a cancellation of the awaiting task means
    /// (`shield`, `gather`) build on. `cx`'s waker is woken when the task
    /// finishes. Like `.await`, it yields the outcome once.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let mut t = corio::spawn(async { 4 });
    /// let out = poll_fn(|cx| t.poll_outcome(cx)).await;
    /// assert_eq!(out.unwrap(), 4);
    /// # });
    /// ```
    pub fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        let mut out: Poll<Result<T, TaskError>> = Poll::Pending;
        // SAFETY: we hold the join handle's reference and pass a slot of the
        // task's exact output type.
        let taken = unsafe {
            raw::try_read_output_raw(self.raw, &mut out as *mut _ as *mut (), cx.waker())
        };
        if taken {
            panic!(
                "a corio Task was awaited after its output was already taken: await a Task \
                 only once (clone a `TaskRef` if several places need to watch it, or use \
                 `try_result()` to ask without panicking)"
            );
        }
        out
    }

    /// The task's outcome if it is done, without waiting (asyncio's
    /// `result()`): `Err(InvalidStateError)` if it is still running, or if
    /// its output was already taken (by an await or an earlier call).
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let mut t = corio::spawn(async { 6 });
    /// assert!(t.try_result().unwrap_err().is_not_done());
    /// corio::yield_now().await.unwrap();
    /// assert_eq!(t.try_result().unwrap().unwrap(), 6);
    /// # });
    /// ```
    pub fn try_result(&mut self) -> Result<Result<T, TaskError>, InvalidStateError> {
        if !self.done() {
            return Err(InvalidStateError::not_done());
        }
        let mut out: Poll<Result<T, TaskError>> = Poll::Pending;
        // SAFETY: as in `poll_outcome`. The task is complete, so the waker is
        // not stored.
        let taken = unsafe {
            raw::try_read_output_raw(self.raw, &mut out as *mut _ as *mut (), Waker::noop())
        };
        match out {
            Poll::Ready(out) if !taken => Ok(out),
            _ => Err(InvalidStateError::taken()),
        }
    }

    /// Polls for the task to finish without taking its output (what
    /// `wait` needs: the caller awaits the task afterwards). `cx`'s waker is
    /// woken when it finishes.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let mut t = corio::spawn(async { 5 });
    /// poll_fn(|cx| t.poll_done(cx)).await;
    /// assert!(t.done());
    /// assert_eq!(t.await.unwrap(), 5); // the output is still there
    /// # });
    /// ```
    pub fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if raw::can_read_output(self.header(), cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// A counted reference to the task that does not own its output.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let task = corio::spawn(async {});
    /// let r = task.task_ref();
    /// assert_eq!(r.id(), task.id());
    /// # });
    /// ```
    pub fn task_ref(&self) -> TaskRef {
        TaskRef::from_header(self.raw)
    }
}

/// A `Task` is also a [`TaskRef`]: every query and control of the task
/// (`cancel`, `done`, `name`, `add_done_callback`, ...) is `TaskRef`'s.
impl<T> std::ops::Deref for Task<T> {
    type Target = TaskRef;

    fn deref(&self) -> &TaskRef {
        TaskRef::borrowed(&self.raw)
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(c) = poll_cancelled() {
            // The awaiter is being cancelled: so is what it awaits (asyncio),
            // and the awaiter goes on waiting for it to finish.
            if !Header::cancel(self.raw, c.message_arc()) {
                // It had finished already: the awaiter is cancelled, and the
                // output stays with the task.
                return Poll::Ready(Err(TaskError::Cancelled(c)));
            }
            self.forwarded.get_or_insert_with(Box::default).0.push(c);
        }
        let out = match context::poll_proceed(cx) {
            Poll::Ready(()) => self.poll_outcome(cx),
            Poll::Pending => Poll::Pending,
        };
        if out.is_pending() {
            context::note_suspended(Location::caller());
        }
        if out.is_ready() && self.forwarded.is_some() {
            let forwarded = self.forwarded.take().expect("checked").0;
            if let Poll::Ready(Err(TaskError::Cancelled(_))) = out {
                // The awaiter receives its own cancellation.
                let last = forwarded.into_iter().last().expect("not empty");
                return Poll::Ready(Err(TaskError::Cancelled(last)));
            }
            // The awaited task refused (or panicked): the cancellation was
            // absorbed, the awaiter gets the outcome.
            forwarded.into_iter().for_each(Cancelled::suppress);
        }
        out
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        // SAFETY: we give up the join handle's reference.
        unsafe { raw::drop_join_handle_raw(self.raw) }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("done", &self.done())
            .finish()
    }
}

/// A counted reference to a task, without its output: what
/// [`current_task`](crate::current_task) returns.
///
/// Equal `TaskRef`s refer to the same task.
///
/// # Example
///
/// ```
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let me = corio::current_task().unwrap();
///     assert!(me.name().starts_with("Task-"));
///     assert!(!me.done());
/// });
/// ```
#[repr(transparent)]
pub struct TaskRef {
    raw: NonNull<Header>,
}

// SAFETY: a `TaskRef` offers only thread-safe operations on the header.
unsafe impl Send for TaskRef {}
// SAFETY: as above.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// True if the task finished with a panic (asyncio: `exception()` is
    /// set). False while it runs.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let t = corio::spawn(async { panic!("x") });
    /// corio::yield_now().await.unwrap();
    /// assert!(t.panicked());
    /// assert!(t.await.unwrap_err().is_panic());
    /// # });
    /// ```
    pub fn panicked(&self) -> bool {
        let s = self.header().state.load();
        s.is_complete() && s.is_panicked()
    }

    /// A `TaskRef` borrowed from a pointer that holds a reference, without
    /// touching the count.
    pub(crate) fn borrowed(raw: &NonNull<Header>) -> &TaskRef {
        // SAFETY: `TaskRef` is `repr(transparent)` over the pointer; the
        // borrow cannot outlive the reference behind `raw`, and a
        // `&TaskRef` never drops it.
        unsafe { &*(raw as *const NonNull<Header> as *const TaskRef) }
    }

    pub(crate) fn from_header(raw: NonNull<Header>) -> TaskRef {
        // SAFETY: callers hold a reference while calling.
        unsafe { raw.as_ref() }.ref_inc();
        TaskRef { raw }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we hold a reference.
        unsafe { self.raw.as_ref() }
    }

    /// The task's id.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// assert!(me.id().as_u64() > 0);
    /// # });
    /// ```
    pub fn id(&self) -> TaskId {
        self.header().id()
    }

    /// The task's name.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// assert_eq!(me.name(), format!("Task-{}", me.id()));
    /// # });
    /// ```
    pub fn name(&self) -> String {
        self.header().name()
    }

    /// Renames the task.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// me.set_name("main");
    /// assert_eq!(corio::current_task().unwrap().name(), "main");
    /// # });
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        self.header().set_name(name.into().into_boxed_str())
    }

    /// True once the task has finished.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// assert!(!corio::current_task().unwrap().done());
    /// # });
    /// ```
    pub fn done(&self) -> bool {
        self.header().is_complete()
    }

    /// Aborts the task; see [`TaskRef::abort`].
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let t = corio::spawn(std::future::pending::<()>());
    /// t.task_ref().abort();
    /// assert!(t.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort(&self) {
        Header::abort(self.raw)
    }

    /// Requests cancellation; see [`TaskRef::cancel`]. A task may cancel
    /// itself: the request is delivered at its next await.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let t = corio::spawn(async {
    ///     corio::current_task().unwrap().cancel();
    ///     corio::yield_now().await.is_err()
    /// });
    /// assert!(t.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        Header::cancel(self.raw, None)
    }

    /// Requests cancellation with a message; see [`TaskRef::cancel_with`].
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let t = corio::spawn(std::future::pending::<()>());
    /// assert!(t.task_ref().cancel_with("stop"));
    /// # });
    /// ```
    pub fn cancel_with(&self, message: impl Into<std::sync::Arc<str>>) -> bool {
        Header::cancel(self.raw, Some(message.into()))
    }

    /// Outstanding cancellation requests; see [`TaskRef::cancelling`].
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// assert_eq!(corio::current_task().unwrap().cancelling(), 0);
    /// # });
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.header().cancelling()
    }

    /// Withdraws one request; see [`TaskRef::uncancel`].
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// me.cancel();
    /// assert_eq!(me.uncancel(), 0);
    /// let _ = corio::yield_now().await; // the request is still delivered (3.11)
    /// # });
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.header().uncancel()
    }

    /// True if the task finished as cancelled; see [`TaskRef::cancelled`].
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// assert!(!corio::current_task().unwrap().cancelled());
    /// # });
    /// ```
    pub fn cancelled(&self) -> bool {
        self.header().state.load().is_cancelled()
    }
}

impl TaskRef {
    /// The panic message of a task that panicked; `Ok(None)` if it returned
    /// or was cancelled; `Err(InvalidStateError)` while it runs. See
    /// [`TaskRef::exception`]. As in asyncio, this *retrieves* the panic: it
    /// is no longer reported as "never retrieved".
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let t = corio::spawn(async {});
    /// let r = t.task_ref();
    /// t.await.unwrap();
    /// assert_eq!(r.exception(), Ok(None));
    /// # });
    /// ```
    pub fn exception(&self) -> Result<Option<String>, InvalidStateError> {
        if !self.done() {
            return Err(InvalidStateError::not_done());
        }
        let message = self.header().panic_message();
        if message.is_some() {
            // asyncio: asking for the exception retrieves it, so dropping
            // the task later reports nothing.
            self.header().with_extras(|e| e.panic_observed = true);
        }
        Ok(message)
    }

    /// Registers a done callback; see [`TaskRef::add_done_callback`].
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// me.add_done_callback(|t| assert!(t.done()));
    /// # });
    /// ```
    pub fn add_done_callback<F>(&self, f: F) -> CallbackId
    where
        F: FnOnce(&TaskRef) + Send + 'static,
    {
        Header::add_done_callback(self.raw, Box::new(f))
    }

    /// Removes a done callback; see [`TaskRef::remove_done_callback`].
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// let id = me.add_done_callback(|_| {});
    /// assert!(me.remove_done_callback(id));
    /// # });
    /// ```
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        self.header().remove_done_callback(id)
    }

    /// What the task is doing now.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// assert_eq!(me.state(), corio::TaskState::Running);
    /// # });
    /// ```
    pub fn state(&self) -> TaskState {
        TaskState::of(self.header())
    }

    /// How long ago the task was spawned (to about 10 ms).
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// assert!(me.age() < std::time::Duration::from_secs(60));
    /// # });
    /// ```
    pub fn age(&self) -> Duration {
        crate::clock::age(self.header().spawned_at())
    }

    /// Where the task is suspended: the file and line of the `.await` of the
    /// corio awaitable it is waiting in (`sleep`, a `Task`, `yield_now`,
    /// `gather`, ...), or `None` while it runs, before it first suspends,
    /// when it waits in a future that is not corio's, and once it is done.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// assert_eq!(me.location(), None); // running
    /// # });
    /// ```
    pub fn location(&self) -> Option<&'static Location<'static>> {
        if self.done() {
            return None;
        }
        self.header().suspended_at()
    }

    /// The frames where the task is suspended (asyncio's `get_stack()`):
    /// corio records one, the `.await` the task is waiting at (see
    /// [`location`](TaskRef::location)); empty if unknown or done.
    ///
    /// ```
    /// use std::time::Duration;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let t = corio::spawn(async {
    ///     corio::sleep(Duration::from_secs(3600)).await
    /// });
    /// corio::yield_now().await.unwrap();
    /// let frame = t.task_ref().get_stack()[0];
    /// assert!(frame.file().ends_with(".rs"));
    /// t.abort();
    /// # });
    /// ```
    pub fn get_stack(&self) -> Vec<&'static Location<'static>> {
        self.location().into_iter().collect()
    }

    /// The stack as text, in asyncio's `print_stack` format.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let me = corio::current_task().unwrap();
    /// assert!(me.format_stack().starts_with("Stack for <"));
    /// # });
    /// ```
    pub fn format_stack(&self) -> String {
        let mut out = format!("Stack for <{} {}>", self.name(), self.state());
        match self.location() {
            Some(at) => {
                out.push_str(" (most recent call last):\n");
                out.push_str(&format!(
                    "  File \"{}\", line {}, column {}\n",
                    at.file(),
                    at.line(),
                    at.column()
                ));
            }
            None => out.push_str(": not suspended at a corio await\n"),
        }
        out
    }

    /// Prints [`format_stack`](TaskRef::format_stack) to stderr (asyncio's
    /// `print_stack()`).
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// corio::current_task().unwrap().print_stack();
    /// # });
    /// ```
    pub fn print_stack(&self) {
        eprint!("{}", self.format_stack());
    }
}

/// What a task is doing, as [`TaskRef::state`] and `Runtime::dump` report it.
///
/// ```
/// assert_eq!(corio::TaskState::Suspended.to_string(), "suspended");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Queued to run (or spawned and not yet started).
    Scheduled,
    /// Being polled right now.
    Running,
    /// Waiting to be woken.
    Suspended,
    /// Returned a value.
    Finished,
    /// Finished as cancelled (or aborted).
    Cancelled,
    /// Finished with a panic.
    Panicked,
}

impl TaskState {
    fn of(header: &Header) -> TaskState {
        let s = header.state.load();
        if s.is_complete() {
            if s.is_cancelled() {
                TaskState::Cancelled
            } else if s.is_panicked() {
                TaskState::Panicked
            } else {
                TaskState::Finished
            }
        } else if s.is_running() {
            TaskState::Running
        } else if s.is_notified() {
            TaskState::Scheduled
        } else {
            TaskState::Suspended
        }
    }

    /// True for the three states of a finished task.
    ///
    /// ```
    /// assert!(corio::TaskState::Panicked.is_done());
    /// assert!(!corio::TaskState::Running.is_done());
    /// ```
    pub fn is_done(self) -> bool {
        matches!(
            self,
            TaskState::Finished | TaskState::Cancelled | TaskState::Panicked
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Suspended => "suspended",
            TaskState::Finished => "finished",
            TaskState::Cancelled => "cancelled",
            TaskState::Panicked => "panicked",
        })
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        TaskRef::from_header(self.raw)
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: we give up our reference.
        unsafe { Header::ref_dec(self.raw) }
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &TaskRef) -> bool {
        self.raw == other.raw
    }
}

impl Eq for TaskRef {}

impl std::hash::Hash for TaskRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state)
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("done", &self.done())
            .finish()
    }
}

/// Allocates a task with a caller-chosen scheduler hook, for the loom
/// models of the task state machine. Returns the registry's reference, the
/// first notification and the join handle.
#[cfg(loom)]
pub fn new_task<F, S>(future: F, scheduler: S) -> (RawTask, Notified, Task<F::Output>)
where
    F: Future + 'static,
    S: Schedule,
{
    let (raw, notified, join) =
        raw::allocate(future, scheduler, TaskId::next(), NO_OWNER, None, None, 0);
    // SAFETY: `join` is the handle's reference of a task with output `F::Output`.
    (raw, notified, unsafe { Task::from_raw(join) })
}
