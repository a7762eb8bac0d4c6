//! Tasks, per-worker event loops and the work-stealing scheduler of the
//! corio runtime.
//!
//! Most users depend on the `corio` crate, which re-exports what is here
//! and builds asyncio's API on it. This crate is the per-thread executor:
//!
//! * tasks ([`Task`], [`TaskRef`]): the allocation, the state word, the
//!   cancellation record, done callbacks, context variables;
//! * the scheduler and its workers: per-worker run queues with stealing, a
//!   LIFO slot, the global injector, idle/searching accounting, and each
//!   worker's driver (its reactor and timer wheel, one park for both);
//! * [`sleep`] and [`interval`] on the per-worker wheels, I/O registration
//!   ([`io`]), the blocking pool ([`Handle::spawn_blocking`]);
//! * the [`Runtime`], [`Handle`] and the free functions ([`spawn`],
//!   [`spawn_local`], [`current_task`], [`yield_now`]);
//! * [`hooks`]: the one surface for building awaitables on all of it
//!   (cancellation points, budget, suspension points, cancel scopes,
//!   linked children), which `corio`'s timeouts, task groups and
//!   synchronization primitives are written against.
//!
//! Every atomic, lock and cell of a protocol goes through one facade
//! (`sync`), which switches to loom under `--cfg loom`; the models live in
//! `loom-tests/` and reach the protocols through a module that exists only
//! under loom. Every tuning choice is in `config.rs`.
//!
//! # Example
//!
//! ```
//! let rt = corio::Runtime::builder().workers(2).build().unwrap();
//! let sum = rt.run(async {
//!     let a = corio::spawn(async { 1 });
//!     let b = corio::spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(sum, 3);
//! ```

#![warn(missing_docs)]

mod blocking;
mod bridges;
mod clock;
mod config;
mod context;
mod context_var;
pub mod hooks;
#[cfg(not(loom))]
pub mod io;
mod queue;
mod runtime;
mod scheduler;
mod spin;
// The facade is also the `corio` crate's door to atomics and locks (its
// `corio::sync` primitives), so that there is one facade for both crates.
#[doc(hidden)]
pub mod sync;
mod task;
mod time;

/// The protocols the loom models in `loom-tests/` drive directly, and
/// nothing else: present only under `--cfg loom`.
#[cfg(loom)]
#[doc(hidden)]
pub mod protocols {
    pub use crate::blocking::{JobRef, Pool, Run};
    pub use crate::queue::{Injector, LocalQueue};
    pub use crate::scheduler::idle::Idle;
    pub use crate::scheduler::park::{new_driver, DefaultDriver, Driver, Parker, Unpark};
    pub use crate::scheduler::pool::ReturnStack;
    pub use crate::task::new_task;
    pub use crate::task::raw::{Header, Notified, Schedule};
    pub use crate::time::driver::{TimerSlot, NEVER, NO_WATCHER};
}

pub use blocking::Blocking;
pub use bridges::ShutdownError;
pub use context_var::{ContextVar, Token};
pub use runtime::{
    all_tasks, current_task, spawn, spawn_local, yield_now, Builder, ExceptionContext, Handle,
    Metrics, Runtime, TaskBuilder, YieldNow, DEFAULT_SHUTDOWN_GRACE, DEFAULT_SLOW_POLL_THRESHOLD,
};
pub use task::{
    poll_cancelled, CallbackId, CancelScope, Cancelled, InvalidStateError, Task, TaskError, TaskId,
    TaskRef, TaskState,
};
pub use time::{
    interval, interval_at, sleep, sleep_until, Interval, MissedTickBehavior, Sleep, Tick,
};
