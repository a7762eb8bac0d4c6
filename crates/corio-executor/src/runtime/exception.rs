//! The exception handler: what it is told (`ExceptionContext`) and how
//! a report reaches it.

use super::*;

/// What the exception handler is told: asyncio's exception-handler
/// `context` dict, as a struct.
///
/// # Example
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use corio::Runtime;
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
///     drop(corio::spawn(async { panic!("lost") }));
///     corio::yield_now().await.unwrap();
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
    /// let rt = corio::Runtime::builder()
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
    ///     drop(corio::spawn(async { panic!("oops") }));
    ///     corio::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn message(&self) -> &str {
        self.message
    }
    /// The name of the task concerned, if any.
    ///
    /// ```
    /// let rt = corio::Runtime::builder()
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
    ///     drop(corio::spawn(async { panic!("oops") }));
    ///     corio::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn task_name(&self) -> Option<&str> {
        self.task_name.as_deref()
    }
    /// The id of the task concerned, if any.
    ///
    /// ```
    /// let rt = corio::Runtime::builder()
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
    ///     drop(corio::spawn(async { panic!("oops") }));
    ///     corio::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn task_id(&self) -> Option<TaskId> {
        self.task_id
    }
    /// The panic payload, if a panic is the cause.
    ///
    /// ```
    /// let rt = corio::Runtime::builder()
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
    ///     drop(corio::spawn(async { panic!("oops") }));
    ///     corio::yield_now().await.unwrap();
    /// });
    /// ```
    pub fn payload(&self) -> Option<&'a (dyn Any + Send)> {
        self.payload
    }
    /// The panic's message, if a panic is the cause.
    ///
    /// ```
    /// let rt = corio::Runtime::builder()
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
    ///     drop(corio::spawn(async { panic!("oops") }));
    ///     corio::yield_now().await.unwrap();
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
pub(crate) struct ExceptionHandler(pub(crate) Option<StdArc<HandlerFn>>);

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
