//! The outcomes of a task that did not return a value.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A task was cancelled, or an awaitable was interrupted by a cancellation
/// request (asyncio's `CancelledError`).
///
/// # Example
///
/// ```
/// use corio_executor::Cancelled;
///
/// let c = Cancelled::with_message("shutting down");
/// assert_eq!(c.message(), Some("shutting down"));
/// assert_eq!(c.to_string(), "cancelled: shutting down");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Cancelled {
    message: Option<Arc<str>>,
}

impl Cancelled {
    /// A cancellation without a message.
    ///
    /// ```
    /// assert_eq!(corio_executor::Cancelled::new().message(), None);
    /// ```
    pub fn new() -> Cancelled {
        Cancelled { message: None }
    }

    /// A cancellation carrying the message given to `cancel_with`.
    ///
    /// ```
    /// let c = corio_executor::Cancelled::with_message("bye");
    /// assert_eq!(c.message(), Some("bye"));
    /// ```
    pub fn with_message(message: impl Into<Arc<str>>) -> Cancelled {
        Cancelled {
            message: Some(message.into()),
        }
    }

    /// The message given with the request, if any.
    ///
    /// ```
    /// assert!(corio_executor::Cancelled::new().message().is_none());
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "Cancelled({m:?})"),
            None => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
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
/// use corio_executor::{Runtime, TaskError};
///
/// let rt = Runtime::builder().workers(1).build().unwrap();
/// let out = rt.run(async {
///     let task = corio_executor::spawn(async { panic!("boom") });
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
    /// use corio_executor::{Cancelled, TaskError};
    /// assert!(TaskError::Cancelled(Cancelled::new()).is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled(_))
    }

    /// True if the task panicked.
    ///
    /// ```
    /// use corio_executor::{Cancelled, TaskError};
    /// assert!(!TaskError::Cancelled(Cancelled::new()).is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked { .. })
    }

    /// Consumes the error and returns the panic payload, if it is a panic.
    ///
    /// ```
    /// use corio_executor::{Cancelled, TaskError};
    /// assert!(TaskError::Cancelled(Cancelled::new()).into_panic().is_err());
    /// ```
    pub fn into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self {
            TaskError::Panicked { payload, .. } => Ok(payload),
            other => Err(other),
        }
    }
}

/// The text of a panic payload (`&str` or `String`), or `"Box<dyn Any>"`.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
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
