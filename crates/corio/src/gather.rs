//! asyncio's `gather`: run futures concurrently as tasks and collect their
//! outputs in input order.
//!
//! * [`gather`] / [`gather!`](crate::gather!): the outputs, or the first
//!   failure (a panic or a cancellation of a child) at once, the other
//!   children running on;
//! * [`try_gather`]: the same for futures returning `Result`, where the
//!   first `Err` is a failure too;
//! * [`gather_settled`] / [`gather_settled!`](crate::gather_settled!): every
//!   outcome, failures included (asyncio's `return_exceptions=True`).
//!
//! Cancelling the task that awaits a gather cancels every child that has
//! not finished (asyncio), and the gather then reports the cancellation.
//!
//! Each child gets its own waker, so a gather of `n` tasks does O(1) work
//! per finished child, not O(n).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::{poll_cancelled, Cancelled, Task, TaskError};

/// The children that finished since the gather last looked, and the
/// gather's own waker.
#[derive(Default)]
pub(crate) struct ReadySet {
    inner: Mutex<(Vec<usize>, Option<Waker>)>,
}

impl ReadySet {
    /// A set and one waker per child: child `i`'s waker adds `i` to the set
    /// and wakes the waiter.
    pub(crate) fn with_wakers(n: usize) -> (Arc<ReadySet>, Vec<Waker>) {
        let set = Arc::new(ReadySet::default());
        let wakers = (0..n)
            .map(|index| {
                Waker::from(Arc::new(ChildWaker {
                    index,
                    set: set.clone(),
                }))
            })
            .collect();
        (set, wakers)
    }

    /// Registers the waiter's waker and takes the children woken since the
    /// last call (all of them on the `first` call).
    pub(crate) fn take(&self, cx: &Context<'_>, first: bool, n: usize) -> Vec<usize> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !g.1.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            g.1 = Some(cx.waker().clone());
        }
        if first {
            g.0.clear();
            (0..n).collect()
        } else {
            std::mem::take(&mut g.0)
        }
    }
}

/// The join waker of child `index`.
struct ChildWaker {
    index: usize,
    set: Arc<ReadySet>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waker = {
            let mut g = self.set.inner.lock().unwrap_or_else(|p| p.into_inner());
            g.0.push(self.index);
            g.1.clone()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The machinery shared by the gather futures: the children, their wakers,
/// and a cancellation forwarded to them.
struct Children<T> {
    tasks: Vec<Option<Task<T>>>,
    wakers: Vec<Waker>,
    set: Arc<ReadySet>,
    /// Not every child has been polled yet.
    first: bool,
    /// The awaiting task's cancellation, forwarded to every child.
    cancelled: Option<Cancelled>,
}

impl<T> Children<T> {
    fn new(tasks: Vec<Task<T>>) -> Children<T> {
        let (set, wakers) = ReadySet::with_wakers(tasks.len());
        Children {
            tasks: tasks.into_iter().map(Some).collect(),
            wakers,
            set,
            first: true,
            cancelled: None,
        }
    }

    /// Forwards a cancellation of the awaiting task to every child once.
    fn forward_cancel(&mut self) {
        if self.cancelled.is_some() {
            return;
        }
        if let Some(c) = poll_cancelled() {
            for t in self.tasks.iter().flatten() {
                match c.message() {
                    Some(m) => t.cancel_with(m),
                    None => t.cancel(),
                };
            }
            self.cancelled = Some(c);
        }
    }

    /// Polls the children that may have finished; calls `f(index, outcome)`
    /// for each that did, until `f` returns `Break`.
    fn poll_finished(
        &mut self,
        cx: &Context<'_>,
        mut f: impl FnMut(usize, Result<T, TaskError>) -> std::ops::ControlFlow<()>,
    ) {
        let first = std::mem::take(&mut self.first);
        let ready = self.set.take(cx, first, self.tasks.len());
        for index in ready {
            let Some(task) = self.tasks[index].as_mut() else {
                continue;
            };
            let mut child_cx = Context::from_waker(&self.wakers[index]);
            if let Poll::Ready(out) = task.poll_outcome(&mut child_cx) {
                self.tasks[index] = None;
                if f(index, out).is_break() {
                    return;
                }
            }
        }
    }
}

/// The children plus their outputs, in input order: the body of [`Gather`]
/// and [`TryGather`], which differ only in what counts as a failure.
struct Collect<T, O> {
    children: Children<T>,
    outputs: Vec<Option<O>>,
    left: usize,
}

impl<T, O> Collect<T, O> {
    fn new(tasks: Vec<Task<T>>) -> Collect<T, O> {
        Collect {
            outputs: tasks.iter().map(|_| None).collect(),
            left: tasks.len(),
            children: Children::new(tasks),
        }
    }

    /// One poll: `classify` turns a child's outcome into an output or the
    /// failure that ends the gather at once; a cancellation forwarded from
    /// the awaiting task is reported (as `on_cancel`) when the children are
    /// done with it.
    fn poll_with<E>(
        &mut self,
        cx: &Context<'_>,
        mut classify: impl FnMut(Result<T, TaskError>) -> Result<O, E>,
        on_cancel: impl FnOnce(Cancelled) -> E,
    ) -> Poll<Result<Vec<O>, E>> {
        self.children.forward_cancel();
        let mut failed = None;
        let (outputs, left) = (&mut self.outputs, &mut self.left);
        self.children
            .poll_finished(cx, |i, out| match classify(out) {
                Ok(v) => {
                    outputs[i] = Some(v);
                    *left -= 1;
                    std::ops::ControlFlow::Continue(())
                }
                Err(e) => {
                    failed = Some(e);
                    std::ops::ControlFlow::Break(())
                }
            });
        let finished = failed.is_some() || self.left == 0;
        if let Some(c) = self.children.cancelled.take_if(|_| finished) {
            // Cancelled from outside: that is what the gather reports.
            return Poll::Ready(Err(on_cancel(c)));
        }
        if let Some(e) = failed {
            return Poll::Ready(Err(e));
        }
        if self.left == 0 {
            let outputs = std::mem::take(&mut self.outputs);
            let outputs = outputs
                .into_iter()
                .map(|o| o.expect("every child finished"));
            return Poll::Ready(Ok(outputs.collect()));
        }
        Poll::Pending
    }
}

/// Runs every future as a task, concurrently, and returns their outputs in
/// input order (asyncio's `gather(*aws)`).
///
/// The first child that panics or ends cancelled makes the gather return
/// that error at once; the other children keep running (asyncio). If the
/// task awaiting the gather is cancelled, every unfinished child is
/// cancelled, and the gather returns `Err(TaskError::Cancelled)`.
///
/// # Panics
///
/// Outside a corio runtime (it spawns).
///
/// # Example
///
/// ```
/// corio::run(async {
///     let squares = corio::gather((1..=4).map(|i| async move { i * i })).await.unwrap();
///     assert_eq!(squares, [1, 4, 9, 16]);
/// });
/// ```
#[track_caller]
pub fn gather<I, F>(futures: I) -> Gather<F::Output>
where
    I: IntoIterator<Item = F>,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<Task<F::Output>> = futures.into_iter().map(crate::spawn).collect();
    Gather(Collect::new(tasks))
}

/// The future returned by [`gather`].
///
/// ```
/// corio::run(async {
///     let g: corio::Gather<u8> = corio::gather([async { 1u8 }]);
///     assert_eq!(g.await.unwrap(), [1]);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<T>(Collect<T, T>);

impl<T> Unpin for Gather<T> {}

impl<T> Future for Gather<T> {
    type Output = Result<Vec<T>, TaskError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::track(self.0.poll_with(cx, |out| out, TaskError::Cancelled))
    }
}

impl<T> fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("children", &self.0.outputs.len())
            .field("unfinished", &self.0.left)
            .finish()
    }
}

/// Why a [`try_gather`] failed: a child returned `Err`, or a child task
/// failed (panicked or was cancelled).
///
/// ```
/// let e: corio::GatherError<&str> = corio::GatherError::Failed("bad input");
/// assert_eq!(e.to_string(), "a gathered future failed: bad input");
/// ```
#[derive(Debug)]
pub enum GatherError<E> {
    /// The first child to return `Err`, with its error.
    Failed(E),
    /// The first child task that panicked or ended cancelled (or the
    /// gather's own cancellation).
    Task(TaskError),
}

impl<E: fmt::Display> fmt::Display for GatherError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatherError::Failed(e) => write!(f, "a gathered future failed: {e}"),
            GatherError::Task(e) => write!(f, "a gathered task failed: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GatherError<E> {}

/// [`gather`] for futures that return `Result`: the outputs of all, or the
/// first failure at once, where an `Err` counts as a failure too.
///
/// ```
/// corio::run(async {
///     let ok = corio::try_gather((1..=2).map(|i| async move { Ok::<_, String>(i) })).await;
///     assert_eq!(ok.unwrap(), [1, 2]);
///     let r = corio::try_gather([
///         Box::pin(async { Ok(1) }) as std::pin::Pin<Box<dyn std::future::Future<Output = Result<i32, &str>> + Send>>,
///         Box::pin(async { Err("no") }),
///     ])
///     .await;
///     assert!(matches!(r, Err(corio::GatherError::Failed("no"))));
/// });
/// ```
#[track_caller]
pub fn try_gather<I, F, T, E>(futures: I) -> TryGather<T, E>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let tasks: Vec<Task<Result<T, E>>> = futures.into_iter().map(crate::spawn).collect();
    TryGather(Collect::new(tasks))
}

/// The future returned by [`try_gather`].
///
/// ```
/// corio::run(async {
///     let g: corio::TryGather<u8, ()> = corio::try_gather([async { Ok(1u8) }]);
///     assert_eq!(g.await.unwrap(), [1]);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TryGather<T, E>(Collect<Result<T, E>, T>);

impl<T, E> Unpin for TryGather<T, E> {}

impl<T, E> Future for TryGather<T, E> {
    type Output = Result<Vec<T>, GatherError<E>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        crate::track(self.0.poll_with(
            cx,
            |out| match out {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(GatherError::Failed(e)),
                Err(e) => Err(GatherError::Task(e)),
            },
            |c| GatherError::Task(TaskError::Cancelled(c)),
        ))
    }
}

/// Runs every future as a task and returns every outcome, failures
/// included, in input order (asyncio's `gather(*aws, return_exceptions=True)`).
///
/// If the awaiting task is cancelled, every unfinished child is cancelled,
/// the gather waits for all of them, and returns `Err(Cancelled)` (asyncio:
/// the cancellation propagates regardless of `return_exceptions`).
///
/// ```
/// corio::run(async {
///     let outcomes = corio::gather_settled([
///         Box::pin(async { 1 }) as std::pin::Pin<Box<dyn std::future::Future<Output = i32> + Send>>,
///         Box::pin(async { panic!("two") }),
///     ])
///     .await
///     .unwrap();
///     assert_eq!(*outcomes[0].as_ref().unwrap(), 1);
///     assert!(outcomes[1].as_ref().unwrap_err().is_panic());
/// });
/// ```
#[track_caller]
pub fn gather_settled<I, F>(futures: I) -> GatherSettled<F::Output>
where
    I: IntoIterator<Item = F>,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<Task<F::Output>> = futures.into_iter().map(crate::spawn).collect();
    GatherSettled {
        outcomes: tasks.iter().map(|_| None).collect(),
        left: tasks.len(),
        children: Children::new(tasks),
    }
}

/// The future returned by [`gather_settled`].
///
/// ```
/// corio::run(async {
///     let g: corio::GatherSettled<u8> = corio::gather_settled([async { 1u8 }]);
///     assert_eq!(*g.await.unwrap()[0].as_ref().unwrap(), 1);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct GatherSettled<T> {
    children: Children<T>,
    outcomes: Vec<Option<Result<T, TaskError>>>,
    left: usize,
}

impl<T> Unpin for GatherSettled<T> {}

impl<T> Future for GatherSettled<T> {
    type Output = Result<Vec<Result<T, TaskError>>, Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.children.forward_cancel();
        let (outcomes, left) = (&mut this.outcomes, &mut this.left);
        this.children.poll_finished(cx, |i, out| {
            outcomes[i] = Some(out);
            *left -= 1;
            std::ops::ControlFlow::Continue(())
        });
        if this.left > 0 {
            return crate::track(Poll::Pending);
        }
        if let Some(c) = this.children.cancelled.take() {
            return Poll::Ready(Err(c));
        }
        let outcomes = std::mem::take(&mut this.outcomes);
        Poll::Ready(Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every child finished"))
            .collect()))
    }
}

/// Support for the `gather!` macros: each future writes its output into a
/// slot of its own type, and the gathered tasks return `()`.
#[doc(hidden)]
pub mod __macro {
    pub use std::sync::{Arc, Mutex};

    /// A slot for `fut`'s output, and the future to spawn: it runs `fut`
    /// and leaves the output in the slot.
    pub fn slot<F>(
        fut: F,
    ) -> (
        Arc<Mutex<Option<F::Output>>>,
        impl std::future::Future<Output = ()> + Send + 'static,
    )
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(None));
        let s = slot.clone();
        (slot, async move {
            let v = fut.await;
            *s.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
        })
    }

    /// Takes the output a child left in its slot.
    pub fn take<T>(slot: &Mutex<Option<T>>) -> T {
        slot.lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .expect("a gathered task finished without an output")
    }
}

/// asyncio's `gather(a, b, c)` for futures of different types: runs them as
/// tasks, concurrently, and returns a tuple of their outputs, or the first
/// failure at once (see [`gather`](crate::gather())). Up to 12 futures; for
/// more, or a number known only at run time, use `gather` on an iterator.
///
/// ```
/// corio::run(async {
///     let (n, s) = corio::gather!(async { 1 }, async { "two" }).await.unwrap();
///     assert_eq!((n, s), (1, "two"));
/// });
/// ```
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {{
        let slots = ($($crate::__macro::slot($fut),)+);
        $crate::__gather_tuple!(@go slots, [$($fut),+])
    }};
}

/// asyncio's `gather(a, b, return_exceptions=True)` for futures of
/// different types: a tuple of every outcome (see
/// [`gather_settled`](crate::gather_settled())).
///
/// ```
/// corio::run(async {
///     let (a, b) = corio::gather_settled!(async { 1 }, async { "x" }).await.unwrap();
///     assert_eq!((a.unwrap(), b.unwrap()), (1, "x"));
/// });
/// ```
#[macro_export]
macro_rules! gather_settled {
    ($($fut:expr),+ $(,)?) => {{
        let slots = ($($crate::__macro::slot($fut),)+);
        $crate::__gather_tuple!(@settled slots, [$($fut),+])
    }};
}

/// The tuple plumbing of `gather!` / `gather_settled!`, by arity.
#[doc(hidden)]
#[macro_export]
macro_rules! __gather_tuple {
    (@go $slots:ident, [$($fut:expr),+]) => {
        $crate::__gather_tuple!(@go_n $slots, [$($fut),+], [0 1 2 3 4 5 6 7 8 9 10 11], [])
    };
    (@go_n $slots:ident, [$head:expr $(, $rest:expr)*], [$i:tt $($is:tt)*], [$($done:tt)*]) => {
        $crate::__gather_tuple!(@go_n $slots, [$($rest),*], [$($is)*], [$($done)* $i])
    };
    (@go_n $slots:ident, [], [$($is:tt)*], [$($i:tt)+]) => {{
        let slots = $slots;
        let futures: ::std::vec::Vec<::std::pin::Pin<::std::boxed::Box<dyn ::std::future::Future<Output = ()> + Send>>> =
            ::std::vec![$(::std::boxed::Box::pin(slots.$i.1),)+];
        let slots = ($(slots.$i.0,)+);
        let gathered = $crate::gather(futures);
        async move {
            gathered.await?;
            Ok::<_, $crate::TaskError>(($($crate::__macro::take(&slots.$i),)+))
        }
    }};
    (@settled $slots:ident, [$($fut:expr),+]) => {
        $crate::__gather_tuple!(@settled_n $slots, [$($fut),+], [0 1 2 3 4 5 6 7 8 9 10 11], [])
    };
    (@settled_n $slots:ident, [$head:expr $(, $rest:expr)*], [$i:tt $($is:tt)*], [$($done:tt)*]) => {
        $crate::__gather_tuple!(@settled_n $slots, [$($rest),*], [$($is)*], [$($done)* $i])
    };
    (@settled_n $slots:ident, [], [$($is:tt)*], [$($i:tt)+]) => {{
        let slots = $slots;
        let futures: ::std::vec::Vec<::std::pin::Pin<::std::boxed::Box<dyn ::std::future::Future<Output = ()> + Send>>> =
            ::std::vec![$(::std::boxed::Box::pin(slots.$i.1),)+];
        let slots = ($(slots.$i.0,)+);
        let gathered = $crate::gather_settled(futures);
        async move {
            let outcomes = gathered.await?;
            let mut outcomes = outcomes.into_iter();
            Ok::<_, $crate::Cancelled>(($(
                {
                    let _ = $i;
                    outcomes
                        .next()
                        .expect("one outcome per future")
                        .map(|()| $crate::__macro::take(&slots.$i))
                },
            )+))
        }
    }};
}
