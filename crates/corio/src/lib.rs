//! # corio: asyncio's coroutines and tasks, in Rust
//!
//! corio brings Python asyncio's model (run, create_task, tasks you can
//! await, name, inspect and cancel) to Rust, on a multi-threaded
//! work-stealing scheduler in which every worker thread owns its own event
//! loop.
//!
//! | asyncio | corio |
//! |---|---|
//! | `asyncio.run(main())` | [`corio::run(main())`](run) |
//! | `asyncio.create_task(coro)` | [`corio::spawn(fut)`](spawn) / [`corio::create_task(fut)`](create_task) |
//! | `create_task(coro, name="x")` | [`corio::task::Builder::new().name("x").spawn(fut)`](task::Builder) |
//! | `await task` | `task.await` → `Result<T, TaskError>` |
//! | `asyncio.current_task()` | [`corio::current_task()`](current_task) |
//! | `await asyncio.sleep(d)` | [`corio::sleep(d).await`](sleep) |
//! | `await asyncio.sleep(0)` | [`corio::yield_now().await`](yield_now) or `corio::sleep(Duration::ZERO)` |
//! | a new event loop with options | [`Runtime::builder()`](Runtime::builder) |
//! | `asyncio.Lock`, `Event`, `Semaphore`, `Queue`, ... | [`corio::sync`](sync) |
//!
//! # Example
//!
//! ```
//! async fn nested() -> i32 {
//!     42
//! }
//!
//! async fn main_task() -> i32 {
//!     // Schedule nested() to run soon, concurrently with main_task().
//!     let task = corio::create_task(nested());
//!     // The task can be awaited to wait until it is complete.
//!     task.await.unwrap()
//! }
//!
//! assert_eq!(corio::run(main_task()), 42);
//! ```
//!
//! # Threading model
//!
//! `workers(n)` counts every thread that runs tasks, including the one that
//! calls `run`. With `workers(1)` corio is a single-threaded event loop in
//! the caller's thread, and tasks run in asyncio's order: spawned and woken
//! tasks join the back of one FIFO ready queue. With more workers, idle
//! workers steal from busy ones.

#![warn(missing_docs)]

use std::future::Future;

pub use corio_executor::{
    all_tasks, current_task, interval, interval_at, poll_cancelled, sleep, sleep_until, spawn,
    spawn_local, yield_now, Builder, CallbackId, CancelScope, Cancelled, ContextVar,
    ExceptionContext, Handle, Interval, InvalidStateError, Metrics, MissedTickBehavior, Runtime,
    ShutdownError, Sleep, Task, TaskError, TaskId, TaskRef, TaskState, Tick, Token, YieldNow,
    DEFAULT_SHUTDOWN_GRACE, DEFAULT_SLOW_POLL_THRESHOLD,
};

mod shield;
pub use shield::{cancellable, shield, Cancellable, Shield};

mod timeout;
pub use timeout::{
    timeout, timeout_at, timeout_scope, wait_for, Timeout, TimeoutError, TimeoutHandle,
};

mod threadsafe;
pub use threadsafe::{run_coroutine_threadsafe, ConcurrentFuture, FutureError};

mod to_thread;
pub use to_thread::{to_thread, ToThread};

pub mod task_group;
pub use task_group::{TaskGroup, TaskGroupError};

/// The protocols the loom models in `loom-tests/` drive directly (besides
/// the public API): present only under `--cfg loom`.
#[cfg(loom)]
#[doc(hidden)]
pub mod protocols {
    pub use crate::task_group::tally::Tally;
    pub use crate::threadsafe::slot::Slot;
}

/// `#[corio::main]`: turns `async fn main()` into a `fn main()` that runs
/// it with [`corio::run`](run). `#[corio::main(workers = 1)]` picks the
/// number of worker threads.
///
/// ```
/// #[corio::main(workers = 2)]
/// async fn main() {
///     let t = corio::spawn(async { 1 });
///     assert_eq!(t.await.unwrap(), 1);
/// }
/// # fn _unused() {}
/// ```
pub use corio_macros::main;

/// `#[corio::test]`: an `async fn` test run on a fresh single-worker
/// runtime (`#[corio::test(workers = 4)]` for more).
///
/// ```
/// #[corio::test]
/// async fn adds() {
///     assert_eq!(corio::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }
/// # fn main() {}
/// ```
pub use corio_macros::test;

/// `out`, after recording the caller's caller (the `.await`) as where the
/// task suspends, if it is `Pending`. For the `poll` of corio's own
/// awaitables, which are `#[track_caller]`.
#[track_caller]
#[inline]
pub(crate) fn track<T>(out: std::task::Poll<T>) -> std::task::Poll<T> {
    if out.is_pending() {
        corio_executor::hooks::note_suspended(std::panic::Location::caller());
    }
    out
}

/// Spawns a task: asyncio's name for [`spawn`].
///
/// # Panics
///
/// With "no running event loop" outside a corio worker thread.
///
/// ```
/// corio::run(async {
///     let task = corio::create_task(async { "done" });
///     assert_eq!(task.await.unwrap(), "done");
/// });
/// ```
#[track_caller]
pub fn create_task<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(future)
}

/// Runs `main` on a new runtime and returns its output (asyncio's
/// `asyncio.run`).
///
/// The runtime has one worker per CPU, and the calling thread is one of
/// them. When `main` returns, the runtime shuts down as asyncio's does
/// ([`Runtime::shutdown`]): every task still running is cancelled and given
/// a grace period (5 s) to clean up, the ones still running after it are
/// aborted and named in a report to the exception handler, worker threads
/// are joined, and nothing leaks. Use [`Runtime::builder`] for other
/// settings.
///
/// While it runs, Ctrl-C (SIGINT) cancels the main task, which may clean up
/// and either refuse ([`Cancelled::suppress`]) or let the cancellation
/// through; a second Ctrl-C aborts it. See [`signal`].
///
/// # Panics
///
/// * If this thread is already running a corio event loop (a nested
///   `run`); spawn the future and await the task instead.
/// * With `main`'s panic, if `main` panics.
/// * With a [`signal::Interrupted`] payload (asyncio's `KeyboardInterrupt`)
///   if Ctrl-C cancelled the main task and it let the cancellation through;
///   with a message if it let another cancellation through.
///
/// # Example
///
/// ```
/// let out = corio::run(async {
///     println!("hello");
///     corio::yield_now().await.unwrap();
///     println!("world");
///     7
/// });
/// assert_eq!(out, 7);
/// ```
#[track_caller]
pub fn run<F>(main: F) -> F::Output
where
    F: Future + 'static,
{
    if Handle::try_current().is_some() {
        panic!(
            "corio::run() cannot be called from a running event loop (nested run): this \
             thread is already a corio worker. Inside async code, use \
             `corio::spawn(fut).await` instead of `corio::run(fut)`."
        );
    }
    let rt =
        Runtime::new().unwrap_or_else(|e| panic!("corio::run(): cannot start the runtime: {e}"));
    let sigint = signal::RunGuard::new();
    let out = rt.try_run(sigint.main(main));
    let interrupted = sigint.interrupted();
    // Ctrl-C during the shutdown below terminates the process as usual.
    drop(sigint);
    match out {
        Ok(v) => {
            rt.shutdown();
            v
        }
        Err(TaskError::Panicked { payload, .. }) => std::panic::resume_unwind(payload),
        Err(TaskError::Cancelled(_)) if interrupted => {
            rt.shutdown();
            eprintln!("corio: {}", signal::Interrupted);
            std::panic::resume_unwind(Box::new(signal::Interrupted))
        }
        Err(TaskError::Cancelled(c)) => {
            rt.shutdown();
            panic!("corio::run(): the main task was {c}: it let a cancellation through")
        }
    }
}

#[cfg(all(feature = "hyper", not(loom)))]
pub mod hyper;
// The executor has no I/O driver under loom; `loom-tests/` builds this
// crate for the `sync` models only.
#[cfg(not(loom))]
pub mod net;
pub mod signal;
pub mod sync;

mod gather;
#[doc(hidden)]
pub use gather::__macro;
pub use gather::{
    gather, gather_settled, try_gather, Gather, GatherError, GatherSettled, TryGather,
};

mod wait;
pub use wait::{wait, ReturnWhen, Wait, WaitError};

mod as_completed;
pub use as_completed::{as_completed, AsCompleted, AsCompletedError};

/// Time: sleeping, deadlines and periodic ticks.
pub mod time {
    pub use corio_executor::{
        interval, interval_at, sleep, sleep_until, Interval, MissedTickBehavior, Sleep,
    };
}

/// Tasks: building them with options, and the task types.
pub mod task {
    pub use corio_executor::TaskBuilder as Builder;
    pub use corio_executor::{
        current_task, spawn, spawn_local, yield_now, Task, TaskError, TaskId, TaskRef,
    };
}

#[doc(hidden)]
pub mod __private {
    /// Used by `#[corio::test]`.
    pub fn test_runtime(workers: usize) -> crate::Runtime {
        crate::Runtime::builder()
            .workers(workers)
            .build()
            .expect("corio::test: cannot start the runtime")
    }
}

/// The README's example is compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
