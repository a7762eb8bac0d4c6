//! asyncio's `as_completed`: the outcomes of a set of tasks, in the order
//! they finish, as a `Stream`.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::gather::ReadySet;
use crate::{poll_cancelled, Cancelled, Sleep, Task, TaskError, TimeoutError};

/// Why an [`as_completed`] stream stopped early.
///
/// ```
/// let e = corio::AsCompletedError::Timeout(corio::TimeoutError::new());
/// assert!(e.to_string().contains("deadline"));
/// ```
#[derive(Debug)]
pub enum AsCompletedError {
    /// The timeout passed (asyncio raises `TimeoutError`); the tasks not yet
    /// finished keep running.
    Timeout(TimeoutError),
    /// The task reading the stream was cancelled; the tasks keep running.
    Cancelled(Cancelled),
}

impl fmt::Display for AsCompletedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsCompletedError::Timeout(e) => write!(f, "as_completed: {e}"),
            AsCompletedError::Cancelled(c) => write!(f, "as_completed: {c}"),
        }
    }
}

impl std::error::Error for AsCompletedError {}

/// The outcomes of `tasks` in the order they finish (asyncio's
/// `as_completed(aws, timeout)`), as a [`Stream`]: each item is a task's
/// outcome, `Ok(Ok(v))` or `Ok(Err(TaskError))`.
///
/// When `timeout` passes first, the stream yields
/// `Err(AsCompletedError::Timeout)` and ends; the tasks not yet finished keep
/// running (their handles are dropped, detaching them). The stream's
/// `next()` is a cancellation point: a cancelled reader gets
/// `Err(AsCompletedError::Cancelled)` and the stream ends.
///
/// # Example
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use std::time::Duration;
/// use futures_core::Stream;
///
/// corio::run(async {
///     let tasks = [30u32, 10, 20].map(|ms| corio::spawn(async move {
///         corio::sleep(Duration::from_millis(ms as u64)).await.unwrap();
///         ms
///     }));
///     let mut stream = corio::as_completed(tasks, None);
///     let mut order = Vec::new();
///     while let Some(item) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
///         order.push(item.unwrap().unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
#[track_caller]
pub fn as_completed<T, I>(tasks: I, timeout: impl Into<Option<Duration>>) -> AsCompleted<T>
where
    I: IntoIterator<Item = Task<T>>,
{
    let tasks: Vec<Option<Task<T>>> = tasks.into_iter().map(Some).collect();
    let (set, wakers) = ReadySet::with_wakers(tasks.len());
    let sleep = timeout.into().map(|d| {
        crate::sleep_until(
            Instant::now()
                .checked_add(d)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365 * 30)),
        )
    });
    AsCompleted {
        left: tasks.len(),
        tasks,
        wakers,
        set,
        first: true,
        finished: VecDeque::new(),
        sleep,
        ended: false,
        at: std::panic::Location::caller(),
    }
}

/// The stream returned by [`as_completed`].
///
/// ```
/// let s: corio::AsCompleted<u8> = corio::as_completed(Vec::new(), None);
/// # drop(s);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T> {
    tasks: Vec<Option<Task<T>>>,
    wakers: Vec<Waker>,
    set: Arc<ReadySet>,
    first: bool,
    /// Outcomes taken but not yet yielded, in completion order.
    finished: VecDeque<Result<T, TaskError>>,
    /// Tasks not yet yielded.
    left: usize,
    sleep: Option<Sleep>,
    ended: bool,
    /// Where the stream was made: a stream's `poll_next` is not reached
    /// through an `.await` that `#[track_caller]` could name, so a task
    /// waiting on it is shown suspended here.
    at: &'static std::panic::Location<'static>,
}

impl<T> Unpin for AsCompleted<T> {}

impl<T> AsCompleted<T> {
    /// Ends the stream; the tasks not yet finished run on, detached.
    fn end(&mut self) {
        self.ended = true;
        self.tasks.clear();
        self.sleep = None;
    }
}

impl<T> Stream for AsCompleted<T> {
    type Item = Result<Result<T, TaskError>, AsCompletedError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        if let Some(c) = poll_cancelled() {
            this.end();
            return Poll::Ready(Some(Err(AsCompletedError::Cancelled(c))));
        }
        let first = std::mem::take(&mut this.first);
        for i in this.set.take(cx, first, this.tasks.len()) {
            let Some(task) = this.tasks[i].as_mut() else {
                continue;
            };
            let mut child_cx = Context::from_waker(&this.wakers[i]);
            if let Poll::Ready(out) = task.poll_outcome(&mut child_cx) {
                this.tasks[i] = None;
                this.finished.push_back(out);
            }
        }
        if let Some(out) = this.finished.pop_front() {
            this.left -= 1;
            return Poll::Ready(Some(Ok(out)));
        }
        if this.left == 0 {
            this.end();
            return Poll::Ready(None);
        }
        if let Some(sleep) = &mut this.sleep {
            if Pin::new(sleep).poll(cx).is_ready() {
                this.end();
                return Poll::Ready(Some(Err(AsCompletedError::Timeout(TimeoutError::new()))));
            }
        }
        corio_executor::hooks::note_suspended(this.at);
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            (0, Some(0))
        } else {
            (self.finished.len(), Some(self.left + 1))
        }
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("left", &self.left)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
