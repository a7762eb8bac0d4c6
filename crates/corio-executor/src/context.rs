//! Thread-local state of the thread that runs tasks: which worker it is,
//! which task it is polling, and how much cooperative budget the poll has
//! left.
//!
//! The executor sets these around each poll, so leaf futures can find the
//! current task (for cancellation) and consume budget without arguments.
//! Reading them costs one thread-local load.

use std::cell::Cell;
use std::panic::Location;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::config::COOP_BUDGET;
use crate::scheduler::WorkerCx;
use crate::sync::thread_local;
use crate::task::Header;

/// The budget value of a thread that is not polling a task: no limit.
const UNCONSTRAINED: u32 = u32::MAX;

thread_local! {
    static CURRENT_TASK: Cell<Option<NonNull<Header>>> = Cell::new(None);
    static BUDGET: Cell<u32> = Cell::new(UNCONSTRAINED);
    static WORKER: Cell<*const WorkerCx> = Cell::new(std::ptr::null());
}

/// Restores the previous task, budget and cancellation hint when a poll
/// ends (even by panic).
pub(crate) struct TaskGuard {
    prev_task: Option<NonNull<Header>>,
    prev_budget: u32,
    prev_cancel: u32,
}

/// Marks `task` as the one being polled on this thread and gives it a fresh
/// budget; `cancel_requested`: a cancellation request is pending for it
/// (the hint `poll_cancelled` reads, see `task/cancel.rs`).
pub(crate) fn enter_task(task: NonNull<Header>, cancel_requested: bool) -> TaskGuard {
    let prev_task = CURRENT_TASK.with(|c| c.replace(Some(task)));
    let prev_budget = BUDGET.with(|b| b.replace(COOP_BUDGET));
    let prev_cancel = crate::task::cancel_enter_task(cancel_requested);
    TaskGuard {
        prev_task,
        prev_budget,
        prev_cancel,
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.prev_task));
        BUDGET.with(|b| b.set(self.prev_budget));
        crate::task::cancel_leave_task(self.prev_cancel);
    }
}

/// The task being polled on this thread, if any.
pub(crate) fn current_task_header() -> Option<NonNull<Header>> {
    CURRENT_TASK.with(|c| c.get())
}

/// Records that the current task suspends at `at` (the `.await` of a corio
/// awaitable), for `TaskRef::get_stack` and `Runtime::dump`. Does nothing
/// outside a task.
///
/// corio's awaitables call it when they return `Pending`, with the
/// location `#[track_caller]` gives their `poll` (which is the `.await`
/// that polls them).
///
/// ```
/// use std::panic::Location;
/// corio_executor::hooks::note_suspended(Location::caller()); // outside a task: no-op
/// ```
#[inline]
pub fn note_suspended(at: &'static Location<'static>) {
    if let Some(task) = current_task_header() {
        // SAFETY: the current task is alive while it is polled.
        unsafe { task.as_ref() }.set_suspended_at(Some(at));
    }
}

/// `poll`'s result, after [`note_suspended`] if it is `Pending`.
#[inline]
pub(crate) fn track<T>(at: &'static Location<'static>, out: Poll<T>) -> Poll<T> {
    if out.is_pending() {
        note_suspended(at);
    }
    out
}

/// Spends one unit of the current poll's cooperative budget.
///
/// Every corio leaf awaitable calls this first. When the task has used its
/// budget (a fixed number of operations in one poll), the awaitable returns
/// `Pending` after waking the task, so the task goes to the back of the run
/// queue and other tasks get a turn, even if the awaited thing is ready.
/// Outside a task the budget is unlimited.
///
/// # Example
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
///
/// /// A leaf future that is always ready, but still lets others run.
/// struct Ready;
/// impl Future for Ready {
///     type Output = ();
///     fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
///         std::task::ready!(corio_executor::hooks::poll_proceed(cx));
///         Poll::Ready(())
///     }
/// }
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async { for _ in 0..1000 { Ready.await } });
/// ```
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    BUDGET.with(|b| {
        let left = b.get();
        if left == UNCONSTRAINED {
            Poll::Ready(())
        } else if left == 0 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            b.set(left - 1);
            Poll::Ready(())
        }
    })
}

/// Runs `f` with the worker context of this thread, if it is running a
/// corio worker (`None` otherwise). The reference cannot leave `f`.
#[inline]
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&WorkerCx>) -> R) -> R {
    let cx = WORKER.with(|w| w.get());
    // SAFETY: a non-null pointer was installed by `enter_worker`, whose
    // guard lives on this thread's stack for as long as the worker runs
    // (every call made here happens inside it), and the borrow handed to
    // `f` cannot outlive the call.
    f(unsafe { cx.as_ref() })
}

/// Whether this thread is running a corio worker (of any runtime).
#[inline]
pub(crate) fn on_worker_thread() -> bool {
    WORKER.with(|w| !w.get().is_null())
}

/// Marks this thread as running the worker `cx` until the guard drops.
pub(crate) fn enter_worker(cx: &WorkerCx) -> WorkerGuard {
    let prev = WORKER.with(|w| w.replace(cx as *const WorkerCx));
    WorkerGuard { prev }
}

/// Restores the previous worker context.
pub(crate) struct WorkerGuard {
    prev: *const WorkerCx,
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        WORKER.with(|w| w.set(self.prev));
    }
}
