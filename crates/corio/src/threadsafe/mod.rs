//! Submitting work to a runtime from other threads: asyncio's
//! `run_coroutine_threadsafe` and its `concurrent.futures.Future`, and
//! `call_soon_threadsafe`.
//!
//! # How a submission completes
//!
//! [`run_coroutine_threadsafe`] spawns the future as an ordinary task (so
//! cancellation, panics and shutdown mean what they mean for tasks) and
//! keeps its [`Task`] handle inside the [`ConcurrentFuture`]. The handle is
//! polled once at submission with a waker that is the future's own shared
//! state: the task's completion wakes it on the completing thread, which
//! takes the task's outcome and sets it in the [`Slot`]
//! (whose protocol `slot.rs` documents), then runs the done callbacks
//! there. [`ConcurrentFuture::cancel`] sets a cancelled outcome at once,
//! asks the task to cancel (asyncio's catchable cancellation), and lets go
//! of the task: what it ends with later is dropped, and a panic is reported
//! by the task layer as a detached task's.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
// std's `Arc` for the state the task's waker is made of (`Wake` needs it;
// the models drive `slot.rs` directly).
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use corio_executor::sync::Mutex;

use crate::{Cancelled, Handle, Task, TaskError, TimeoutError};

pub(crate) mod slot;

use slot::Slot;

/// Why [`ConcurrentFuture::result`] has no value.
pub enum FutureError {
    /// The timeout passed first; the coroutine goes on (call
    /// [`cancel`](ConcurrentFuture::cancel) to stop it).
    Timeout(TimeoutError),
    /// The coroutine ended cancelled, or the future was cancelled.
    Cancelled(Cancelled),
    /// The coroutine panicked.
    Panicked {
        /// The panic payload.
        payload: Box<dyn Any + Send + 'static>,
        /// The panic message (`"<non-string panic payload>"` if it had none).
        message: String,
    },
    /// The runtime had shut down: the coroutine never ran.
    Shutdown,
}

impl FutureError {
    /// Whether the timeout passed.
    ///
    /// ```
    /// let e = corio::FutureError::Timeout(corio::TimeoutError::new());
    /// assert!(e.is_timeout() && !e.is_cancelled());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, FutureError::Timeout(_))
    }

    /// Whether the coroutine or the future was cancelled.
    ///
    /// ```
    /// let e = corio::FutureError::Cancelled(corio::Cancelled::new());
    /// assert!(e.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, FutureError::Cancelled(_))
    }

    /// Whether the coroutine panicked.
    ///
    /// ```
    /// assert!(!corio::FutureError::Shutdown.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, FutureError::Panicked { .. })
    }

    fn from_task(e: TaskError) -> FutureError {
        match e {
            TaskError::Cancelled(c) => FutureError::Cancelled(c),
            TaskError::Panicked { payload, message } => FutureError::Panicked { payload, message },
        }
    }
}

impl fmt::Debug for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Timeout(_) => f.write_str("Timeout"),
            FutureError::Cancelled(c) => f.debug_tuple("Cancelled").field(c).finish(),
            FutureError::Panicked { message, .. } => f
                .debug_struct("Panicked")
                .field("message", message)
                .finish(),
            FutureError::Shutdown => f.write_str("Shutdown"),
        }
    }
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Timeout(_) => f.write_str("the result did not arrive in time"),
            FutureError::Cancelled(c) => write!(f, "the coroutine was {c}"),
            FutureError::Panicked { message, .. } => write!(f, "the coroutine panicked: {message}"),
            FutureError::Shutdown => f.write_str("the corio runtime has shut down"),
        }
    }
}

impl std::error::Error for FutureError {}

/// What the submitter and the task's completion share.
struct Inner<T: Send + 'static> {
    slot: Slot<T>,
    /// The task, until its outcome is taken (or the future is cancelled).
    task: Mutex<Option<Task<T>>>,
    handle: Handle,
}

impl<T: Send + 'static> Inner<T> {
    /// The task finished (or this is a spurious wake): move its outcome
    /// into the slot.
    fn collect(self: &Arc<Self>) {
        let outcome = {
            let mut task = self.task.lock();
            let Some(t) = task.as_mut() else { return };
            // Polled with this state's waker: a spurious wake must leave
            // it registered, not a no-op one.
            let waker = Waker::from(self.clone());
            match t.poll_outcome(&mut Context::from_waker(&waker)) {
                Poll::Pending => return,
                Poll::Ready(r) => {
                    *task = None;
                    r.map_err(FutureError::from_task)
                }
            }
        };
        if let Ok(wakeups) = self.slot.complete(outcome) {
            self.run(wakeups);
        }
    }

    fn run(self: &Arc<Self>, wakeups: slot::Wakeups) {
        wakeups.run(|payload| {
            self.handle
                .report_panic("a ConcurrentFuture done callback panicked", &*payload)
        });
    }
}

impl<T: Send + 'static> Wake for Inner<T> {
    fn wake(self: Arc<Self>) {
        self.collect();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.collect();
    }
}

/// The result of a coroutine submitted from another thread (asyncio's
/// `concurrent.futures.Future` from `run_coroutine_threadsafe`).
///
/// Block on it with [`result`](ConcurrentFuture::result), ask with
/// [`done`](ConcurrentFuture::done), stop it with
/// [`cancel`](ConcurrentFuture::cancel), or `.await` it (it is a `Future`,
/// for async code on another runtime or thread). Dropping it does not stop
/// the coroutine. A panic nobody retrieved is reported to the runtime's
/// exception handler when the future is dropped.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// let rt = corio::Runtime::builder().workers(2).build().unwrap();
/// let handle = rt.handle();
/// let fut = corio::run_coroutine_threadsafe(
///     async {
///         corio::sleep(Duration::from_millis(10)).await.unwrap();
///         3
///     },
///     &handle,
/// );
/// assert_eq!(fut.result(Some(Duration::from_secs(5))).unwrap(), 3);
/// ```
pub struct ConcurrentFuture<T: Send + 'static> {
    inner: Arc<Inner<T>>,
}

/// Submits `future` to the runtime of `handle` from any thread, as a task,
/// and returns a [`ConcurrentFuture`] for its outcome (asyncio's
/// `run_coroutine_threadsafe(coro, loop)`).
///
/// If the runtime has shut down, the future is dropped and the returned
/// future is done with [`FutureError::Shutdown`].
///
/// ```
/// let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// let handle = rt.handle();
/// let fut = std::thread::spawn(move || {
///     corio::run_coroutine_threadsafe(async { 2 + 2 }, &handle)
/// })
/// .join()
/// .unwrap();
/// # let w = rt.handle().spawn(async {});
/// # rt.run(w).unwrap();
/// assert_eq!(fut.result(None).unwrap(), 4);
/// ```
#[track_caller]
pub fn run_coroutine_threadsafe<F>(future: F, handle: &Handle) -> ConcurrentFuture<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let inner = Arc::new(Inner {
        slot: Slot::new(),
        task: Mutex::new(None),
        handle: handle.clone(),
    });
    if handle.is_closed() {
        drop(future);
        let _ = inner.slot.complete(Err(FutureError::Shutdown));
        return ConcurrentFuture { inner };
    }
    *inner.task.lock() = Some(handle.spawn(future));
    // The first look registers the state as the task's join waker (and
    // takes the outcome if the task is done already).
    inner.collect();
    ConcurrentFuture { inner }
}

impl<T: Send + 'static> ConcurrentFuture<T> {
    /// Blocks the calling OS thread until the coroutine's outcome, for at
    /// most `timeout` (`None`: as long as it takes).
    ///
    /// The value (or panic) is handed out once; a cancelled outcome can be
    /// read again.
    ///
    /// # Errors
    ///
    /// [`FutureError::Timeout`] if the timeout passed (the coroutine goes
    /// on), [`FutureError::Cancelled`], [`FutureError::Panicked`] with the
    /// message, [`FutureError::Shutdown`].
    ///
    /// # Panics
    ///
    /// * On a corio worker thread while the outcome is not there yet: it
    ///   would block the event loop (and could deadlock it). In async code,
    ///   `.await` the `ConcurrentFuture`, or `spawn` the coroutine and await
    ///   the task.
    /// * If the value was already taken by an earlier call.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
    /// let fut = corio::run_coroutine_threadsafe(
    ///     corio::sleep(Duration::from_secs(3600)),
    ///     &rt.handle(),
    /// );
    /// let err = fut.result(Some(Duration::from_millis(20))).unwrap_err();
    /// assert!(err.is_timeout());
    /// fut.cancel();
    /// ```
    #[track_caller]
    pub fn result(&self, timeout: Option<Duration>) -> Result<T, FutureError> {
        if !self.inner.slot.is_done() && Handle::try_current().is_some() {
            panic!(
                "corio: ConcurrentFuture::result() was called on a corio worker thread while \
                 the coroutine is still running: blocking here stalls the event loop and can \
                 deadlock it. In async code, `.await` the ConcurrentFuture instead (or spawn \
                 the coroutine with `corio::spawn` and await the task); call result() from \
                 plain threads only."
            );
        }
        self.inner.slot.wait(timeout)
    }

    /// Cancels the coroutine (asyncio's `future.cancel()`): if it is not
    /// done yet, the future is done now, cancelled ([`result`] gives
    /// [`FutureError::Cancelled`] at once and the done callbacks run on this
    /// thread), and the task is asked to cancel, which it may clean up
    /// after, or refuse: what it ends with is dropped. Returns whether it
    /// cancelled (false if the future was already done).
    ///
    /// [`result`]: ConcurrentFuture::result
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
    /// let fut = corio::run_coroutine_threadsafe(
    ///     corio::sleep(std::time::Duration::from_secs(3600)),
    ///     &rt.handle(),
    /// );
    /// assert!(fut.cancel());
    /// assert!(fut.cancelled() && fut.done());
    /// assert!(fut.result(None).unwrap_err().is_cancelled());
    /// assert!(!fut.cancel()); // already done
    /// ```
    pub fn cancel(&self) -> bool {
        let Some(wakeups) = self.inner.slot.cancel() else {
            return false;
        };
        if let Some(task) = self.inner.task.lock().take() {
            task.cancel();
            // Detached from here on: its outcome is dropped.
        }
        self.inner.run(wakeups);
        true
    }

    /// Whether the outcome is there (finished, cancelled, failed).
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let fut = corio::run_coroutine_threadsafe(async { 1 }, &rt.handle());
    /// # let w = rt.handle().spawn(async {});
    /// rt.run(w).unwrap(); // let the runtime run it
    /// assert!(fut.done());
    /// ```
    pub fn done(&self) -> bool {
        self.inner.slot.is_done()
    }

    /// Whether [`cancel`](ConcurrentFuture::cancel) cancelled it, or the
    /// coroutine ended cancelled.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let fut = corio::run_coroutine_threadsafe(async { 1 }, &rt.handle());
    /// assert!(!fut.cancelled());
    /// # fut.cancel();
    /// ```
    pub fn cancelled(&self) -> bool {
        self.inner.slot.is_cancelled()
    }

    /// Calls `f` with this future once it is done, on the thread that
    /// completes it (a worker, or the thread that calls `cancel`), or at
    /// once on this thread if it is done already (asyncio's
    /// `add_done_callback`). Callbacks run in registration order; a
    /// panicking one is reported to the runtime's exception handler and the
    /// others still run.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
    /// let fut = corio::run_coroutine_threadsafe(async { 5 }, &rt.handle());
    /// let (tx, rx) = mpsc::channel();
    /// fut.add_done_callback(move |f| tx.send(f.done()).unwrap());
    /// assert!(rx.recv().unwrap());
    /// ```
    pub fn add_done_callback<F>(&self, f: F)
    where
        F: FnOnce(&ConcurrentFuture<T>) + Send + 'static,
    {
        let me = ConcurrentFuture {
            inner: self.inner.clone(),
        };
        let cb: slot::Callback = Box::new(move || f(&me));
        if let Some(cb) = self.inner.slot.add_callback(cb) {
            self.inner.run(slot::Wakeups::single(cb));
        }
    }
}

impl<T: Send + 'static> Future for ConcurrentFuture<T> {
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.slot.poll(cx)
    }
}

impl<T: Send + 'static> Drop for Inner<T> {
    fn drop(&mut self) {
        // The last reference (the futures, the task's waker and callback
        // copies are all gone): a panic nobody took is reported, as asyncio
        // logs "Future exception was never retrieved".
        if let Some(message) = self.slot.take_unretrieved_panic() {
            self.handle.report(&format!(
                "Future exception was never retrieved: a coroutine submitted with \
                 run_coroutine_threadsafe panicked: {message}"
            ));
        }
    }
}

impl<T: Send + 'static> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrentFuture")
            .field("done", &self.done())
            .finish_non_exhaustive()
    }
}
