//! What an awaitable built on the executor does: the executor's whole
//! surface for the `corio` crate (timeouts, task groups, `corio::sync`,
//! `corio::net`, ...) and for anyone writing their own leaf futures.
//!
//! # The protocol of an awaitable
//!
//! A corio awaitable's `poll` does, in this order:
//!
//! 1. **Be a cancellation point**: [`poll_cancelled`] first. If it returns
//!    `Some(c)`, complete with `Err(c)` (undoing nothing, since nothing was
//!    done yet): this is how `task.cancel()` and an expired timeout reach
//!    the task.
//! 2. **Spend budget** if it may complete at once: [`poll_proceed`]. When
//!    the task has done enough in this poll, it returns `Pending` (after
//!    waking the task), so a task whose every await is ready still lets the
//!    other tasks on its worker run.
//! 3. Do its work; register the waker if it cannot complete.
//! 4. **Record where the task suspends** when it returns `Pending`:
//!    [`note_suspended`] with the `.await`'s location (make `poll`
//!    `#[track_caller]` and pass `Location::caller()`), for
//!    `TaskRef::get_stack` and `Runtime::dump`.
//!
//! A future that runs another future and can cancel it on its own (a
//! timeout, a task group stopping its body) polls it inside a cancel
//! [`Scope`]: after [`Scope::cancel`], the cancellation points inside
//! deliver `Err(Cancelled)` without cancelling the whole task, and the
//! scope tells afterwards whether the inner future let that cancellation
//! through ([`Scope::cancelled_caught`]) or refused it.
//!
//! The outcome of another task is observed through its handle, without
//! the awaiting task's cancellation or budget getting in the way (a
//! combinator decides for itself what a cancellation of its own task
//! means): [`Task::poll_outcome`](crate::Task::poll_outcome) takes the
//! outcome, [`Task::poll_done`](crate::Task::poll_done) waits for it and
//! leaves it in the task.
//!
//! # Example
//!
//! A leaf future that completes at its second poll, written like corio's
//! own:
//!
//! ```
//! use std::future::Future;
//! use std::panic::Location;
//! use std::pin::Pin;
//! use std::task::{Context, Poll};
//! use corio::Cancelled;
//! use corio_executor::hooks;
//!
//! struct SecondPoll(bool);
//!
//! impl Future for SecondPoll {
//!     type Output = Result<(), Cancelled>;
//!     #[track_caller]
//!     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
//!         if let Some(c) = hooks::poll_cancelled() {
//!             return Poll::Ready(Err(c));
//!         }
//!         std::task::ready!(hooks::poll_proceed(cx));
//!         if self.0 {
//!             return Poll::Ready(Ok(()));
//!         }
//!         self.0 = true;
//!         cx.waker().wake_by_ref();
//!         hooks::note_suspended(Location::caller());
//!         Poll::Pending
//!     }
//! }
//!
//! corio::run(async {
//!     SecondPoll(false).await.unwrap();
//!     corio::current_task().unwrap().cancel();
//!     // The request is delivered at the next cancellation point.
//!     let c = SecondPoll(false).await.unwrap_err();
//!     c.suppress(); // refused: the main task goes on
//!     SecondPoll(false).await.unwrap();
//! });
//! ```

pub use crate::context::{note_suspended, poll_proceed};
pub use crate::spin::spin_until;
pub use crate::task::cancel::{poll_cancelled, Scope, ScopeGuard};
pub use crate::task::cancel::{rearm, scopes_let_through};
pub use crate::task::{panic_message, ChildSink};

use std::future::Future;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::scheduler::Shared;
use crate::task::{Cancelled, Header, Task, TaskRef, NO_OWNER};
use crate::Handle;

/// Spawns `future` on `handle`'s runtime as a task linked to `sink`, the
/// way a task group spawns its children.
///
/// `link` runs once, with the new task, before it can run anywhere: return
/// true to link it (then `sink.child_done` is called when it finishes,
/// and its panic is `sink`'s to report: nothing reports it as "never
/// retrieved"), or false to refuse it (it is dropped without running, as
/// if aborted at once). Whatever `link` records about the task (in a list
/// of children, say) is therefore in place before the task can finish or
/// be cancelled.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use corio::TaskRef;
/// use corio_executor::hooks::{self, ChildSink};
///
/// struct Count(AtomicUsize);
/// impl ChildSink for Count {
///     fn child_done(&self, child: &TaskRef) {
///         assert!(child.done());
///         self.0.fetch_add(1, Ordering::SeqCst);
///     }
/// }
///
/// // One worker: the child's completion (and `child_done`) has run by the
/// // time the awaiting task is polled again. (With more, `child_done` may
/// // still be running on another worker when the awaiter sees the result.)
/// let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let sink = Arc::new(Count(AtomicUsize::new(0)));
///     let handle = corio::Handle::current();
///     let kept = hooks::spawn_linked(&handle, async { 1 }, sink.clone(), |_| true);
///     let refused = hooks::spawn_linked(&handle, async { 2 }, sink.clone(), |_| false);
///     assert_eq!(kept.await.unwrap(), 1);
///     assert!(refused.await.unwrap_err().is_cancelled());
///     assert_eq!(sink.0.load(Ordering::SeqCst), 1);
/// });
/// ```
#[track_caller]
pub fn spawn_linked<F>(
    handle: &Handle,
    future: F,
    sink: Arc<dyn ChildSink>,
    link: impl FnOnce(&TaskRef) -> bool,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Shared::spawn_with(&handle.shared, future, NO_OWNER, None, |header: &Header| {
        let ptr = NonNull::from(header);
        if link(TaskRef::borrowed(&ptr)) {
            header.link_to_group(sink);
        } else {
            // Never polled: dropped when a worker picks it up.
            Header::abort(ptr);
        }
    })
}

/// The cancellation the current task would end with if it finished now:
/// `Some` if a request of its own is pending, or was delivered and not
/// suppressed (asyncio: a `CancelledError` is propagating), carrying the
/// latest request's message. `None` outside a task. A task group asks this
/// when its body finishes, to tell a body that let its task's
/// cancellation through from one that finished normally.
///
/// ```
/// corio::run(async {
///     assert!(corio_executor::hooks::current_task_cancellation().is_none());
///     corio::current_task().unwrap().cancel_with("bye");
///     let c = corio_executor::hooks::current_task_cancellation().unwrap();
///     assert_eq!(c.message(), Some("bye"));
///     corio::yield_now().await.unwrap_err().suppress();
///     assert!(corio_executor::hooks::current_task_cancellation().is_none());
/// });
/// ```
pub fn current_task_cancellation() -> Option<Cancelled> {
    let task = crate::context::current_task_header()?;
    // SAFETY: the current task is alive while it is being polled.
    let task = unsafe { task.as_ref() };
    task.is_being_cancelled()
        .then(|| match task.cancel_message() {
            Some(m) => Cancelled::with_message(m),
            None => Cancelled::new(),
        })
}

/// Refuses one delivered, unsuppressed cancellation of the current task,
/// as if the value delivered had been [`Cancelled::suppress`]ed: for a
/// combinator that decides the cancellation loses to something else (a
/// task group whose children failed reports the failures, and the task
/// goes on). Does nothing outside a task or when there is none.
///
/// ```
/// corio::run(async {
///     corio::current_task().unwrap().cancel();
///     let _ = corio::yield_now().await; // delivered, not suppressed
///     assert!(corio_executor::hooks::current_task_cancellation().is_some());
///     corio_executor::hooks::refuse_current_task_cancellation();
///     assert!(corio_executor::hooks::current_task_cancellation().is_none());
/// });
/// ```
pub fn refuse_current_task_cancellation() {
    if let Some(task) = crate::context::current_task_header() {
        // SAFETY: the current task is alive while it is being polled.
        unsafe { task.as_ref() }.suppress_one_delivery();
    }
}
