//! asyncio's `wait`: wait for some or all of a set of tasks, with a
//! timeout that never cancels anything.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::gather::ReadySet;
use crate::{poll_cancelled, Cancelled, Sleep, Task};

/// When [`wait`] returns (asyncio's `return_when`).
///
/// ```
/// assert_ne!(corio::ReturnWhen::FirstCompleted, corio::ReturnWhen::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any task finishes (`FIRST_COMPLETED`).
    FirstCompleted,
    /// As soon as any task panics, or when all have finished
    /// (`FIRST_EXCEPTION`; a cancelled task is not an exception).
    FirstException,
    /// When every task has finished (`ALL_COMPLETED`).
    AllCompleted,
}

/// Why a [`wait`] returned no `(done, pending)` split.
#[derive(Debug)]
pub enum WaitError<T> {
    /// `wait` was given no task (asyncio: `ValueError`).
    Empty,
    /// The waiting task was cancelled. The tasks were not: here they are.
    Cancelled {
        /// The delivered cancellation.
        cancelled: Cancelled,
        /// The tasks `wait` was given, unchanged.
        tasks: Vec<Task<T>>,
    },
}

impl<T> fmt::Display for WaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Empty => f.write_str(
                "corio::wait() was given no task: pass at least one (asyncio: \
                 'Set of Tasks/Futures is empty')",
            ),
            WaitError::Cancelled { cancelled, .. } => write!(f, "wait() was {cancelled}"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for WaitError<T> {}

/// Waits for `tasks` until `return_when` is met or `timeout` passes
/// (asyncio's `wait(aws, timeout, return_when)`), and returns them split
/// into `(done, pending)`, in input order within each.
///
/// Nothing is cancelled, on timeout or otherwise: pending tasks keep
/// running, and done ones still hold their outputs (await them). With
/// `FirstCompleted`, `done` holds every task finished by the time the
/// waiter resumes, which may be more than one.
///
/// # Errors
///
/// [`WaitError::Empty`] for no tasks; [`WaitError::Cancelled`], with the
/// tasks handed back, if the waiting task is cancelled meanwhile.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use corio::ReturnWhen;
/// corio::run(async {
///     let quick = corio::spawn(async { 1 });
///     let slow = corio::spawn(corio::sleep(Duration::from_secs(3600)));
///     let (done, pending) = corio::wait([quick], None, ReturnWhen::AllCompleted).await.unwrap();
///     assert_eq!(done.len(), 1);
///     assert!(pending.is_empty());
///     let (done, pending) = corio::wait([slow], Duration::from_millis(10), ReturnWhen::AllCompleted)
///         .await
///         .unwrap();
///     assert!(done.is_empty() && pending.len() == 1); // timed out, not cancelled
///     assert!(!pending[0].done());
/// });
/// ```
pub fn wait<T, I>(
    tasks: I,
    timeout: impl Into<Option<Duration>>,
    return_when: ReturnWhen,
) -> Wait<T>
where
    I: IntoIterator<Item = Task<T>>,
{
    let tasks: Vec<Task<T>> = tasks.into_iter().collect();
    let (set, wakers) = ReadySet::with_wakers(tasks.len());
    let sleep = timeout
        .into()
        .map(|d| crate::sleep_until(Instant::now().checked_add(d).unwrap_or_else(far)));
    Wait {
        tasks,
        wakers,
        set,
        first: true,
        sleep,
        return_when,
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// The future returned by [`wait`].
///
/// ```
/// use corio::ReturnWhen;
/// corio::run(async {
///     let w: corio::Wait<u8> = corio::wait([corio::spawn(async { 1u8 })], None, ReturnWhen::FirstCompleted);
///     let (done, _) = w.await.unwrap();
///     assert_eq!(done.len(), 1);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T> {
    tasks: Vec<Task<T>>,
    wakers: Vec<Waker>,
    set: Arc<ReadySet>,
    first: bool,
    sleep: Option<Sleep>,
    return_when: ReturnWhen,
}

impl<T> Unpin for Wait<T> {}

impl<T> Wait<T> {
    fn split(&mut self) -> (Vec<Task<T>>, Vec<Task<T>>) {
        std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|t| t.done())
    }
}

impl<T> Future for Wait<T> {
    type Output = Result<(Vec<Task<T>>, Vec<Task<T>>), WaitError<T>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.tasks.is_empty() {
            return Poll::Ready(Err(WaitError::Empty));
        }
        if let Some(cancelled) = poll_cancelled() {
            let tasks = std::mem::take(&mut this.tasks);
            return Poll::Ready(Err(WaitError::Cancelled { cancelled, tasks }));
        }
        let first = std::mem::take(&mut this.first);
        for i in this.set.take(cx, first, this.tasks.len()) {
            let mut child_cx = Context::from_waker(&this.wakers[i]);
            let _ = this.tasks[i].poll_done(&mut child_cx);
        }
        let any = this.tasks.iter().any(|t| t.done());
        let all = this.tasks.iter().all(|t| t.done());
        let met = match this.return_when {
            ReturnWhen::FirstCompleted => any,
            ReturnWhen::FirstException => all || this.tasks.iter().any(|t| t.panicked()),
            ReturnWhen::AllCompleted => all,
        };
        let timed_out = match &mut this.sleep {
            Some(sleep) => Pin::new(sleep).poll(cx).is_ready(),
            None => false,
        };
        if met || timed_out {
            return Poll::Ready(Ok(this.split()));
        }
        crate::track(Poll::Pending)
    }
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks.len())
            .field("return_when", &self.return_when)
            .finish_non_exhaustive()
    }
}
