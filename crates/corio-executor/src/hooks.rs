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
pub use crate::task::cancel::{poll_cancelled, Scope, ScopeGuard};
