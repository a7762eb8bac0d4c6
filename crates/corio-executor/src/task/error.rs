//! The outcomes of a task that did not return a value.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::TaskId;

/// A task was cancelled, or an awaitable was interrupted by a cancellation
/// request (asyncio's `CancelledError`).
///
/// An awaitable that completes with `Err(Cancelled)` has *delivered* one
/// cancellation request to the task (or to the timeout scope it belongs
/// to, see [`scope`](Cancelled::scope)). The task then cleans up, awaiting
/// normally, and ends as cancelled, unless it refuses the request with
/// [`suppress`](Cancelled::suppress).
///
/// # Example
///
/// ```
/// use corio::Cancelled;
///
/// let c = Cancelled::with_message("shutting down");
/// assert_eq!(c.message(), Some("shutting down"));
/// assert_eq!(c.to_string(), "cancelled: shutting down");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Cancelled {
    /// Boxed, so that `Result<(), Cancelled>` (what every cancellation
    /// point returns) is one word: the error is rare, the `Ok` is not.
    inner: Box<Inner>,
}

#[derive(Clone, Default, PartialEq, Eq)]
struct Inner {
    message: Option<Arc<str>>,
    source: Source,
}

/// Whose request a [`Cancelled`] delivers.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) enum Source {
    /// Made by hand (`Cancelled::new`), or an abort: refers to no request.
    #[default]
    None,
    /// A `cancel()` of this task.
    Task(TaskId),
    /// The cancel scope with this id, in this task, of this kind
    /// (`Timeout` or `TaskGroup`): a timeout's expiry, or a task group
    /// stopping its body.
    Scope(TaskId, u64, CancelScope),
}

/// Which request a [`Cancelled`] delivered: see [`Cancelled::scope`].
///
/// ```
/// use corio::{Cancelled, CancelScope};
/// assert_eq!(Cancelled::new().scope(), CancelScope::None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CancelScope {
    /// None: the value was made by hand, or the task was aborted.
    None,
    /// The whole task: `cancel()` was called on it.
    Task,
    /// A timeout scope (`timeout`, `wait_for`) inside the task expired: the
    /// scope turns this cancellation into a `TimeoutError` when its future
    /// finishes.
    Timeout,
    /// A child of a `TaskGroup` failed, and the group stops its body: the
    /// group absorbs this cancellation when the body finishes and reports
    /// the failure instead.
    TaskGroup,
}

impl Cancelled {
    /// A cancellation without a message.
    ///
    /// ```
    /// assert_eq!(corio::Cancelled::new().message(), None);
    /// ```
    pub fn new() -> Cancelled {
        Cancelled::default()
    }

    pub(crate) fn delivered(message: Option<Arc<str>>, source: Source) -> Cancelled {
        Cancelled {
            inner: Box::new(Inner { message, source }),
        }
    }

    pub(crate) fn source(&self) -> Source {
        self.inner.source
    }

    /// A cancellation carrying the message given to `cancel_with`.
    ///
    /// ```
    /// let c = corio::Cancelled::with_message("bye");
    /// assert_eq!(c.message(), Some("bye"));
    /// ```
    pub fn with_message(message: impl Into<Arc<str>>) -> Cancelled {
        Cancelled::delivered(Some(message.into()), Source::None)
    }

    /// The message given with the request, if any.
    ///
    /// ```
    /// assert!(corio::Cancelled::new().message().is_none());
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// The message as shared.
    pub(crate) fn message_arc(&self) -> Option<Arc<str>> {
        self.inner.message.clone()
    }

    /// Which request this delivered: the task's own `cancel()`, or the
    /// expiry of a timeout scope.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corio::CancelScope;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let me = corio::current_task().unwrap();
    ///     me.cancel();
    ///     let c = corio::sleep(Duration::from_secs(1)).await.unwrap_err();
    ///     assert_eq!(c.scope(), CancelScope::Task);
    ///     c.suppress(); // or `run` would see the main task end cancelled
    /// });
    /// ```
    pub fn scope(&self) -> CancelScope {
        match self.inner.source {
            Source::None => CancelScope::None,
            Source::Task(_) => CancelScope::Task,
            Source::Scope(_, _, kind) => kind,
        }
    }

    /// Refuses the cancellation this value delivered (asyncio: catching
    /// `CancelledError` and carrying on): the task, or the timeout scope
    /// that made the request, no longer counts it. A task whose every
    /// delivered request was suppressed delivers its output normally, and a
    /// timeout whose future suppressed its request returns that future's
    /// output instead of `TimeoutError`.
    ///
    /// Refusing is explicit because in Rust a result is easily dropped:
    /// `let _ = sleep(d).await;` does not swallow a cancellation.
    ///
    /// Call it from the task the value was delivered to (anywhere else it
    /// does nothing), while the scope that made the request is still
    /// running. Suppressing a request does not withdraw it from
    /// [`cancelling`](crate::TaskRef::cancelling); `uncancel` does.
    ///
    /// ```
    /// use std::time::Duration;
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let out = rt.run(async {
    ///     let task = corio::spawn(async {
    ///         match corio::sleep(Duration::from_secs(3600)).await {
    ///             Ok(()) => "slept",
    ///             Err(c) => {
    ///                 c.suppress();
    ///                 "refused"
    ///             }
    ///         }
    ///     });
    ///     corio::yield_now().await.unwrap();
    ///     task.cancel();
    ///     task.await
    /// });
    /// assert_eq!(out.unwrap(), "refused");
    /// ```
    pub fn suppress(self) {
        crate::task::cancel::suppress(&self);
    }

    /// Whether an I/O error is a cancellation of the task (an I/O await
    /// completes with one, wrapping the `Cancelled`, when the task is
    /// cancelled), rather than an error of the OS.
    ///
    /// ```
    /// use corio::Cancelled;
    /// let os = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    /// assert!(!Cancelled::is(&os));
    /// let cancelled = std::io::Error::new(std::io::ErrorKind::Interrupted, Cancelled::new());
    /// assert!(Cancelled::is(&cancelled));
    /// ```
    pub fn is(err: &std::io::Error) -> bool {
        err.get_ref().is_some_and(|e| e.is::<Cancelled>())
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.message {
            Some(m) => write!(f, "Cancelled({m:?})"),
            None => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.message {
            Some(m) => write!(f, "cancelled: {m}"),
            None => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for Cancelled {}

/// Why awaiting a [`Task`](crate::Task) did not give its output.
///
/// # Example
///
/// ```
/// use corio::{Runtime, TaskError};
///
/// let rt = Runtime::builder().workers(1).build().unwrap();
/// let out = rt.run(async {
///     let task = corio::spawn(async { panic!("boom") });
///     task.await
/// });
/// match out {
///     Err(TaskError::Panicked { message, .. }) => assert_eq!(message, "boom"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
pub enum TaskError {
    /// The task was cancelled (or aborted) and did not return a value.
    Cancelled(Cancelled),
    /// The task panicked. `payload` is what `panic!` was given; `message` is
    /// its text when the payload is a string.
    Panicked {
        /// The panic payload, for `std::panic::resume_unwind`.
        payload: Box<dyn Any + Send + 'static>,
        /// The panic message, or `"Box<dyn Any>"` for a non-string payload.
        message: String,
    },
}

impl TaskError {
    pub(crate) fn panicked(payload: Box<dyn Any + Send + 'static>) -> TaskError {
        let message = panic_message(&*payload);
        TaskError::Panicked { payload, message }
    }

    /// True if the task was cancelled.
    ///
    /// ```
    /// use corio::{Cancelled, TaskError};
    /// assert!(TaskError::Cancelled(Cancelled::new()).is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled(_))
    }

    /// True if the task panicked.
    ///
    /// ```
    /// use corio::{Cancelled, TaskError};
    /// assert!(!TaskError::Cancelled(Cancelled::new()).is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked { .. })
    }

    /// Consumes the error and returns the panic payload, if it is a panic.
    ///
    /// ```
    /// use corio::{Cancelled, TaskError};
    /// assert!(TaskError::Cancelled(Cancelled::new()).into_panic().is_err());
    /// ```
    pub fn into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self {
            TaskError::Panicked { payload, .. } => Ok(payload),
            other => Err(other),
        }
    }
}

/// The text of a panic payload (`&str` or `String`), or `"Box<dyn Any>"`:
/// how every report of the runtime names a panic.
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
/// assert_eq!(corio_executor::hooks::panic_message(&*payload), "boom 1");
/// ```
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled(c) => f.debug_tuple("Cancelled").field(c).finish(),
            TaskError::Panicked { message, .. } => f
                .debug_struct("Panicked")
                .field("message", message)
                .finish_non_exhaustive(),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled(c) => write!(f, "task was {c}"),
            TaskError::Panicked { message, .. } => write!(f, "task panicked: {message}"),
        }
    }
}

impl std::error::Error for TaskError {}

impl From<Cancelled> for TaskError {
    fn from(c: Cancelled) -> TaskError {
        TaskError::Cancelled(c)
    }
}

/// A task's result was asked for when it has none to give (asyncio's
/// `InvalidStateError`): it is not done yet, or its output was already
/// taken.
///
/// ```
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let mut t = corio::spawn(async { 1 });
/// let e = t.try_result().unwrap_err();
/// assert!(e.is_not_done());
/// assert_eq!(e.to_string(), "the task is not done yet: await it, or check done() first");
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidStateError {
    taken: bool,
}

impl InvalidStateError {
    pub(crate) fn not_done() -> InvalidStateError {
        InvalidStateError { taken: false }
    }

    pub(crate) fn taken() -> InvalidStateError {
        InvalidStateError { taken: true }
    }

    /// True if the task was still running; false if its output had already
    /// been taken.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let mut t = corio::spawn(async { 1 });
    /// corio::yield_now().await.unwrap();
    /// assert_eq!(t.try_result().unwrap().unwrap(), 1);
    /// assert!(!t.try_result().unwrap_err().is_not_done());
    /// # });
    /// ```
    pub fn is_not_done(&self) -> bool {
        !self.taken
    }
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.taken {
            f.write_str("the task's result was already retrieved: a result can be taken once")
        } else {
            f.write_str("the task is not done yet: await it, or check done() first")
        }
    }
}

impl std::error::Error for InvalidStateError {}
