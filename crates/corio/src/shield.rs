//! `shield` and `cancellable`: the two ways to change where a cancellation
//! reaches.
//!
//! * [`shield`] keeps a cancellation of the caller away from a future: the
//!   future runs as its own task, and only the caller's await is
//!   interrupted.
//! * [`cancellable`] brings a cancellation to a future that knows nothing of
//!   corio (a channel or a client of another crate): its await becomes a
//!   cancellation point.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use corio_executor::{poll_cancelled, spawn, Cancelled, Task, TaskError};

/// Protects `future` from the cancellation of the task that awaits it
/// (asyncio's `shield`).
///
/// `future` runs as its own task. If the caller is cancelled while it
/// waits, the await returns `Err(Cancelled)` at once and the task goes on
/// running, detached: from its point of view the cancellation did not
/// happen. Otherwise the await returns its output. If the task is
/// cancelled by other means (from inside), the await returns
/// `Err(Cancelled)` too; if it panics, the panic goes on in the caller.
///
/// # Panics
///
/// Outside a corio runtime (it spawns, like [`spawn`]).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     let caller = corio::spawn(async move {
///         corio::shield(async move {
///             corio::sleep(Duration::from_millis(20)).await.unwrap();
///             tx.send("saved").unwrap();
///         })
///         .await
///     });
///     corio::yield_now().await.unwrap();
///     caller.cancel();
///     assert!(caller.await.unwrap_err().is_cancelled());
///     corio::sleep(Duration::from_millis(40)).await.unwrap();
///     assert_eq!(rx.try_recv(), Ok("saved")); // the shielded work finished
/// });
/// ```
#[track_caller]
pub fn shield<F>(future: F) -> Shield<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Shield {
        task: Some(spawn(future)),
    }
}

/// The future returned by [`shield`].
///
/// ```
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let s: corio::Shield<u8> = corio::shield(async { 1 });
/// assert_eq!(s.await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Shield<T> {
    task: Option<Task<T>>,
}

impl<T> Shield<T> {
    /// The shielded task (until the caller's await gave up on it).
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let s = corio::shield(async { 1 });
    /// assert!(s.task().is_some());
    /// # });
    /// ```
    pub fn task(&self) -> Option<&Task<T>> {
        self.task.as_ref()
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T, Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let at = std::panic::Location::caller();
        let Some(task) = self.task.as_mut() else {
            panic!("corio: a Shield was polled after it completed");
        };
        if let Some(c) = poll_cancelled() {
            // The caller is cancelled; the task is not: it runs on, detached.
            self.task = None;
            return Poll::Ready(Err(c));
        }
        let out = match corio_executor::hooks::poll_proceed(cx) {
            Poll::Ready(()) => task.poll_outcome(cx),
            Poll::Pending => Poll::Pending,
        };
        let Poll::Ready(out) = out else {
            corio_executor::hooks::note_suspended(at);
            return Poll::Pending;
        };
        self.task = None;
        Poll::Ready(match out {
            Ok(v) => Ok(v),
            Err(TaskError::Cancelled(c)) => Err(c),
            Err(TaskError::Panicked { payload, .. }) => std::panic::resume_unwind(payload),
        })
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}

/// Makes the await of a future that knows nothing of corio a cancellation
/// point: it completes with `Err(Cancelled)` as soon as the task (or a
/// timeout scope around it) is cancelled, dropping `future`.
///
/// corio's own awaitables are cancellation points already; use this for
/// futures from other crates (a channel receiver, a client call), which
/// would otherwise only see a timeout or a `cancel()` when they complete.
///
/// ```
/// use std::time::Duration;
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let never = std::future::pending::<()>(); // not a corio awaitable
///     let r = corio::timeout(
///         Duration::from_millis(10),
///         corio::cancellable(never),
///     )
///     .await;
///     assert!(r.is_err());
/// });
/// ```
pub fn cancellable<F: Future>(future: F) -> Cancellable<F> {
    Cancellable { inner: future }
}

/// The future returned by [`cancellable`].
///
/// ```
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let c: corio::Cancellable<_> = corio::cancellable(async { 2 });
/// assert_eq!(c.await, Ok(2));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Cancellable<F> {
    inner: F,
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Result<F::Output, Cancelled>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(c) = poll_cancelled() {
            return Poll::Ready(Err(c));
        }
        // SAFETY: `inner` is structurally pinned: never moved out.
        unsafe { self.map_unchecked_mut(|s| &mut s.inner) }
            .poll(cx)
            .map(Ok)
    }
}
