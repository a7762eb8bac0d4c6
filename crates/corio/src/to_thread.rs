//! asyncio's `to_thread`: the runtime's blocking pool
//! (`Handle::spawn_blocking`) under asyncio's name, called from a task.

use crate::Handle;

/// The result of [`to_thread`]: a future of `Result<R, TaskError>`.
///
/// A panic in the closure comes back as [`TaskError::Panicked`] with its
/// message. Awaiting is a cancellation point: a cancelled awaiter gets
/// [`TaskError::Cancelled`] at once; a job not started yet never runs, one
/// already running finishes on its thread and its result is dropped.
/// Dropping it before it completes gives the job up the same way.
///
/// ```
/// let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let a: corio::ToThread<i32> = corio::to_thread(|| 1);
///     let b = corio::to_thread(|| 2); // both run at once
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
///
/// [`TaskError::Panicked`]: crate::TaskError::Panicked
/// [`TaskError::Cancelled`]: crate::TaskError::Cancelled
pub type ToThread<R> = corio_executor::Blocking<R>;

/// Runs `f` on the runtime's blocking pool and returns an awaitable for its
/// result (asyncio's `to_thread`; tokio's `spawn_blocking`). The job is
/// queued at once; awaiting is optional.
///
/// `f` sees the calling task's [context variables](crate::ContextVar).
/// It runs on a plain thread with no running event loop (as in asyncio):
/// to spawn from it, move a [`Handle`] in. For panics and cancellation see
/// [`ToThread`].
///
/// # Panics
///
/// With "no running event loop" outside a corio runtime; from other
/// threads use [`Handle::spawn_blocking`].
///
/// ```
/// let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// let n = rt.run(async {
///     corio::to_thread(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0))
///         .await
///         .unwrap()
/// });
/// assert!(n > 0);
/// ```
#[track_caller]
pub fn to_thread<F, R>(f: F) -> ToThread<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let Some(handle) = Handle::try_current() else {
        panic!(
            "corio: to_thread() was called with no running event loop: this thread is not \
             a corio worker. Call it inside `corio::run(...)` or a task, or use \
             `handle.spawn_blocking(f)` with a `Handle` from other threads."
        )
    };
    handle.spawn_blocking(f)
}
