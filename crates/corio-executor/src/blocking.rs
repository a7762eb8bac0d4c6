//! The blocking pool behind [`Handle::spawn_blocking`] (and `corio`'s
//! `to_thread`): threads for work that would block an event loop.
//!
//! # Threads
//!
//! Threads start on demand, one per job submitted while no thread is idle
//! or spinning, up to [`Builder::max_blocking_threads`] (default
//! min(32, cores + 4), Python's `ThreadPoolExecutor` default); beyond that
//! jobs queue (FIFO). A thread that finishes a job spins for the next one,
//! for a few thread wakeups' worth of time (`crate::spin`): a caller
//! awaiting jobs one by one submits the next as soon as it is woken, and
//! the spin saves a thread wakeup per job.
//! Then it sleeps on the pool's condition variable; one that sleeps for
//! the keep-alive ([`Builder::blocking_keep_alive`], default 10 s) with
//! nothing to do exits.
//!
//! # A job
//!
//! [`Blocking`] shares one `Job` with the pool. Its stage goes
//! `Queued` → `Running` (a pool thread took the closure) → `Done` (the
//! result is stored; the awaiter's waker is woken) → `Taken`. An awaiter
//! that is cancelled, or dropped, while the job is `Queued` takes the
//! closure back (it never runs) and removes the job from the queue; while
//! it is `Running`, it marks the job `abandoned`, and the result is
//! dropped when it arrives (a panic then goes to the exception handler,
//! since nobody else will see it). All of it under the job's lock, taken
//! by the pool thread before and after it runs the closure (never while).
//!
//! # Shutdown
//!
//! Dropping the runtime shuts the pool down: queued jobs are dropped (their
//! awaiters, if any are still polled, see a cancellation), idle threads
//! exit, and running jobs are waited for until the shutdown grace ends;
//! threads still running then are left to finish on their own and named
//! in a report.
//!
//! loom: `loom-tests/tests/blocking_pool.rs` (a job submitted while the
//! only thread finishes, spins and goes to sleep is never stranded;
//! shutdown waits for a running job and drops a queued one).
//!
//! [`Handle::spawn_blocking`]: crate::Handle::spawn_blocking
//! [`Builder::max_blocking_threads`]: crate::Builder::max_blocking_threads
//! [`Builder::blocking_keep_alive`]: crate::Builder::blocking_keep_alive

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::context_var;
use crate::scheduler::Shared;
use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering};
// std's `Arc` for jobs and the pool, also under loom: loom's has no
// unsized coercion (`Arc<dyn Run>`) or `self: &Arc<Self>` receivers. The
// hand-off's protocol lives in the facade's locks and atomics, which the
// model (`loom-tests/tests/blocking_pool.rs`) checks; the runtime's
// `Shared` stays behind the facade's `Arc`.
use crate::task::{poll_cancelled, Cancelled, TaskError};
use std::sync::Arc;

/// What the pool runs: a job, type-erased (public for the loom model).
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub trait Run: Send + Sync {
    /// Runs the job on a pool thread.
    fn run(&self);
    /// The pool is shutting down and will never run it.
    fn discard(&self);
}

/// A queued job.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub type JobRef = Arc<dyn Run>;

/// The blocking pool of a runtime.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct Pool {
    state: Mutex<PoolState>,
    /// Idle threads sleep here.
    work: Condvar,
    /// Shutdown waits here for running threads to exit.
    exited: Condvar,
    /// Threads spinning for a job right now (lock-free hint for `submit`).
    spinning: AtomicUsize,
    /// Jobs in the queue (lock-free hint for spinners).
    queued: AtomicUsize,
    /// Jobs submitted and not finished (`jobs_in_flight`).
    in_flight: AtomicUsize,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
}

struct PoolState {
    queue: VecDeque<JobRef>,
    threads: usize,
    /// Threads blocked on `work`.
    sleeping: usize,
    /// Notifications sent to sleeping threads that none has taken yet.
    notified: usize,
    /// When the latest of them was sent (`crate::clock::now_nanos`), 0 once
    /// a woken thread took it: the woken thread measures its wakeup.
    notified_at: u64,
    /// Threads running a job now.
    busy: usize,
    shutdown: bool,
}

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
impl Pool {
    /// A pool with no threads yet.
    pub fn new(max_threads: usize, keep_alive: Duration, thread_name: String) -> Pool {
        Pool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                sleeping: 0,
                notified: 0,
                notified_at: 0,
                busy: 0,
                shutdown: false,
            }),
            work: Condvar::new(),
            exited: Condvar::new(),
            spinning: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_threads: max_threads.max(1),
            keep_alive,
            thread_name,
        }
    }

    /// Jobs submitted and not finished yet: the completions the runtime
    /// is waiting for (a worker about to park may spin for one).
    pub fn jobs_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// How many threads the pool has now.
    pub fn threads(&self) -> usize {
        self.state.lock().threads
    }

    /// Queues a job; starts a thread if none is free and the cap allows.
    /// `Err` (the job back) if the pool is shut down.
    pub fn submit(self: &Arc<Self>, job: JobRef) -> Result<(), JobRef> {
        let mut st = self.state.lock();
        if st.shutdown {
            return Err(job);
        }
        st.queue.push_back(job);
        self.queued.fetch_add(1, Ordering::SeqCst);
        if self.spinning.load(Ordering::SeqCst) > 0 {
            // A spinning thread takes it (it checks the queue under the
            // lock before it sleeps).
            return Ok(());
        }
        if st.sleeping > st.notified {
            st.notified += 1;
            if !cfg!(loom) {
                st.notified_at = crate::clock::now_nanos();
            }
            self.work.notify_one();
            return Ok(());
        }
        if st.threads < self.max_threads {
            st.threads += 1;
            drop(st);
            let pool = self.clone();
            let spawned =
                crate::runtime::spawn_thread(self.thread_name.clone(), move || pool.thread_main());
            if spawned.is_err() {
                // Out of threads: the job waits for a running one.
                let mut st = self.state.lock();
                st.threads -= 1;
                self.exited.notify_all();
            }
        }
        Ok(())
    }

    fn thread_main(self: Arc<Self>) {
        let mut st = self.state.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                self.queued.fetch_sub(1, Ordering::SeqCst);
                st.busy += 1;
                drop(st);
                job.run();
                drop(job);
                self.spin_for_work();
                st = self.state.lock();
                st.busy -= 1;
                continue;
            }
            if st.shutdown {
                break;
            }
            st.sleeping += 1;
            let slept_at = if cfg!(loom) {
                0
            } else {
                crate::clock::now_nanos()
            };
            let (guard, timed_out) = self.work.wait_timeout(st, self.keep_alive);
            st = guard;
            let at = std::mem::take(&mut st.notified_at);
            if at > slept_at {
                crate::spin::record_wakeup(crate::clock::now_nanos() - at);
            }
            st.sleeping -= 1;
            // Whoever wakes takes a notification (a miscount only costs
            // parallelism for a moment: every thread looks at the queue
            // before it sleeps).
            st.notified = st.notified.saturating_sub(1);
            if timed_out && st.queue.is_empty() && !st.shutdown {
                break; // idle for the keep-alive: retire
            }
        }
        st.threads -= 1;
        self.exited.notify_all();
    }

    /// Spins until a job is queued, or for a few thread wakeups' worth of
    /// time (`crate::spin`).
    fn spin_for_work(&self) {
        self.spinning.fetch_add(1, Ordering::SeqCst);
        crate::spin::spin_until(|| self.queued.load(Ordering::SeqCst) > 0);
        self.spinning.fetch_sub(1, Ordering::SeqCst);
    }

    /// Removes a queued job (its awaiter gave up on it).
    fn remove(&self, job: &JobRef) {
        let mut st = self.state.lock();
        if let Some(i) = st.queue.iter().position(|j| Arc::ptr_eq(j, job)) {
            let job = st.queue.remove(i);
            self.queued.fetch_sub(1, Ordering::SeqCst);
            drop(st);
            drop(job);
        }
    }

    /// Shuts the pool down: drops the queued jobs, wakes the idle threads,
    /// and waits until `deadline` for the running ones. Returns how many
    /// threads were still running a job then.
    pub fn shutdown(&self, deadline: Instant) -> usize {
        let queued: Vec<JobRef> = {
            let mut st = self.state.lock();
            st.shutdown = true;
            self.work.notify_all();
            self.queued.store(0, Ordering::SeqCst);
            st.queue.drain(..).collect()
        };
        for job in &queued {
            job.discard();
        }
        drop(queued);
        let mut st = self.state.lock();
        while st.threads > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            if left.is_zero() {
                break;
            }
            st = self.exited.wait_timeout(st, left).0;
        }
        st.busy
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max_threads", &self.max_threads)
            .finish_non_exhaustive()
    }
}

/// One `spawn_blocking` call, shared by its awaiter and the pool.
struct Job<F, R> {
    inner: Mutex<JobInner<F, R>>,
    /// The caller's context variables, for the closure's thread.
    context: context_var::Context,
    shared: crate::sync::Arc<Shared>,
}

struct JobInner<F, R> {
    stage: Stage<F, R>,
    waker: Option<Waker>,
    /// The awaiter is gone: drop the result when it comes.
    abandoned: bool,
}

enum Stage<F, R> {
    Queued(F),
    Running,
    Done(Result<R, Box<dyn Any + Send>>),
    /// Taken by the awaiter, given up by it, or discarded at shutdown.
    Gone,
}

impl<F, R> Run for Job<F, R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    fn run(&self) {
        let f = {
            let mut inner = self.inner.lock();
            match std::mem::replace(&mut inner.stage, Stage::Running) {
                Stage::Queued(f) => f,
                other => {
                    // Given up on before it started.
                    inner.stage = other;
                    return;
                }
            }
        };
        let context = self.context.clone();
        let result = catch_unwind(AssertUnwindSafe(|| context_var::scope(context, f)));
        self.shared
            .blocking
            .in_flight
            .fetch_sub(1, Ordering::SeqCst);
        let mut inner = self.inner.lock();
        if inner.abandoned {
            inner.stage = Stage::Gone;
            drop(inner);
            if let Err(payload) = result {
                self.shared.report(
                    None,
                    "a blocking job (to_thread) panicked after its awaiter was cancelled or dropped",
                    Some(&*payload),
                );
            }
            return;
        }
        inner.stage = Stage::Done(result);
        let waker = inner.waker.take();
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn discard(&self) {
        let f = {
            let mut inner = self.inner.lock();
            match std::mem::replace(&mut inner.stage, Stage::Gone) {
                Stage::Queued(f) => {
                    self.shared
                        .blocking
                        .in_flight
                        .fetch_sub(1, Ordering::SeqCst);
                    Some((f, inner.waker.take()))
                }
                other => {
                    inner.stage = other;
                    None
                }
            }
        };
        if let Some((f, waker)) = f {
            drop(f);
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

/// Queues `f` on the blocking pool of `shared` (`Handle::spawn_blocking`).
pub(crate) fn submit<F, R>(shared: &crate::sync::Arc<Shared>, f: F) -> Blocking<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let job = Arc::new(Job {
        inner: Mutex::new(JobInner {
            stage: Stage::Queued(f),
            waker: None,
            abandoned: false,
        }),
        context: context_var::capture(),
        shared: shared.clone(),
    });
    shared.blocking.in_flight.fetch_add(1, Ordering::SeqCst);
    let erased: JobRef = job.clone();
    let state: Arc<dyn Await<R>> = job;
    if let Err(job) = shared.blocking.submit(erased) {
        job.discard();
    }
    Blocking { job: Some(state) }
}

/// The awaiter's side of a job, type-erased over the closure.
trait Await<R>: Send + Sync {
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<R, TaskError>>;
    /// The awaiter gives up: remove the job if queued, abandon it if
    /// running, drop a result that arrived.
    fn give_up(self: Arc<Self>);
}

impl<F, R> Await<R> for Job<F, R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<R, TaskError>> {
        let mut inner = self.inner.lock();
        match std::mem::replace(&mut inner.stage, Stage::Gone) {
            Stage::Done(r) => Poll::Ready(r.map_err(TaskError::panicked)),
            Stage::Gone => Poll::Ready(Err(TaskError::Cancelled(Cancelled::with_message(
                "the runtime shut down before the blocking job ran",
            )))),
            other => {
                inner.stage = other;
                match &inner.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => inner.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    fn give_up(self: Arc<Self>) {
        let mut inner = self.inner.lock();
        match std::mem::replace(&mut inner.stage, Stage::Gone) {
            Stage::Queued(f) => {
                self.shared
                    .blocking
                    .in_flight
                    .fetch_sub(1, Ordering::SeqCst);
                drop(inner);
                drop(f);
                let job: JobRef = self.clone();
                self.shared.blocking.remove(&job);
            }
            Stage::Running => {
                inner.stage = Stage::Running;
                inner.abandoned = true;
                inner.waker = None;
            }
            Stage::Done(Err(payload)) => {
                drop(inner);
                self.shared.report(
                    None,
                    "a blocking job (to_thread) panicked and its awaiter was cancelled or dropped",
                    Some(&*payload),
                );
            }
            Stage::Done(Ok(r)) => {
                drop(inner);
                drop(r);
            }
            Stage::Gone => {}
        }
    }
}

/// A job on the blocking pool ([`Handle::spawn_blocking`], `corio`'s
/// `to_thread`): a future of `Result<R, TaskError>`.
///
/// A panic in the job comes back as [`TaskError::Panicked`] with its
/// message. Awaiting is a cancellation point: a cancelled awaiter gets
/// [`TaskError::Cancelled`] at once; a job not started yet never runs, one
/// already running finishes on its thread and its result is dropped.
/// Dropping it before it completes gives the job up the same way.
///
/// ```
/// let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let a = corio::to_thread(|| 1);
///     let b = corio::to_thread(|| 2); // both run at once
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
///
/// [`Handle::spawn_blocking`]: crate::Handle::spawn_blocking
#[must_use = "dropping a blocking job's future gives up its result (the job may not run)"]
pub struct Blocking<R> {
    job: Option<Arc<dyn Await<R>>>,
}

impl<R> Future for Blocking<R> {
    type Output = Result<R, TaskError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(job) = self.job.as_ref() else {
            panic!("a to_thread job was polled after it completed: await it only once")
        };
        if let Some(c) = poll_cancelled() {
            let job = self.job.take().expect("checked");
            job.give_up();
            return Poll::Ready(Err(TaskError::Cancelled(c)));
        }
        let out = job.poll_result(cx);
        if out.is_ready() {
            self.job = None;
        } else {
            crate::context::note_suspended(std::panic::Location::caller());
        }
        out
    }
}

impl<R> Drop for Blocking<R> {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            job.give_up();
        }
    }
}

impl<R> fmt::Debug for Blocking<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking")
            .field("done", &self.job.is_none())
            .finish()
    }
}
