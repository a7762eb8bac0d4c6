//! Synchronization primitives and queues for tasks: asyncio's `Event`,
//! `Lock`, `Semaphore`, `BoundedSemaphore`, `Condition`, `Barrier`, and
//! `Queue` / `PriorityQueue` / `LifoQueue` (3.13, with `shutdown`).
//!
//! | asyncio | corio |
//! |---|---|
//! | `ev = asyncio.Event()`; `await ev.wait()`; `ev.set()` | [`Event`]: `ev.wait().await?`; `ev.set()` |
//! | `async with lock:` | `let guard = lock.acquire().await?;` ([`Lock<T>`] holds the data) |
//! | `async with sem:` | `let _permit = sem.acquire().await?;` ([`Semaphore`]) |
//! | `async with cond: await cond.wait()` | `let g = cond.acquire().await?; let g = cond.wait(g).await?;` ([`Condition`]) |
//! | `await barrier.wait()` | `barrier.wait().await?` ([`Barrier`]) |
//! | `q = asyncio.Queue(maxsize)`; `await q.put(x)`; `await q.get()` | [`Queue::new(maxsize)`](Queue); `q.put(x).await?`; `q.get().await?` |
//!
//! All of them are `Send + Sync` and work across the runtime's workers
//! (and from plain threads, for the queues' `*_blocking` methods). Every
//! `.await` on them is a corio cancellation point: it returns
//! `Err(Cancelled)` (inside the primitive's error type) when the task has a
//! cancellation request not yet delivered, records where the task is
//! suspended ([`TaskRef::get_stack`](crate::TaskRef::get_stack)), and spends
//! the task's cooperative budget, so a task that finds its queue always
//! ready still lets others run.
//!
//! # The wait-list protocol
//!
//! Each primitive keeps its waiters in a FIFO under one mutex (a
//! `parking_lot` mutex, held for a few instructions, never across an
//! `.await`). Whoever makes progress possible (release, `set`, `put`,
//! `notify`) takes waiters off the front and *notifies* them: it gives
//! them what they waited for (the lock, permits) or a wakeup to re-check (a
//! queue), and wakes them after the mutex is released. A notified waiter
//! stays counted until its task runs. If it is cancelled, aborted or
//! dropped before it runs, it passes what it was given on to the next
//! waiter, so nothing is lost and nothing waits forever:
//!
//! * a [`Lock`] is handed from holder to waiter directly, never left free
//!   while someone waits: no newcomer barges in front of a woken waiter;
//! * a [`Semaphore`] grants permits to the front waiter while there are
//!   enough for what it asks, and a newcomer queues while anyone waits
//!   (asyncio 3.11+'s order);
//! * a [`Condition`] notification meant for a cancelled waiter goes to the
//!   next one (asyncio 3.13), and the waiter takes the lock back before it
//!   returns, also when cancelled;
//! * a queue wakeup meant for a cancelled getter (putter) goes to the next
//!   getter (putter) if the item (the room) is still there.
//!
//! Uncontended, the semaphore and the lock are one atomic compare-and-swap
//! to acquire and one to release; the mutex is only taken when a task has
//! to wait or someone waits.
//!
//! The protocols are model-checked with loom (`loom-tests/tests/sync.rs`).

mod barrier;
mod condition;
mod event;
mod lock;
pub mod queue;
mod semaphore;
mod waiters;

pub use barrier::{Barrier, BarrierError, BarrierWait};
pub use condition::{Condition, ConditionCancelled, ConditionWait, NotifyUnlocked};
pub use event::{Event, EventWait};
pub use lock::{Lock, LockAcquire, LockGuard, OwnedLockAcquire, OwnedLockGuard};
pub use queue::{
    GenericQueue, GetError, LifoQueue, PriorityQueue, PutError, Queue, TaskDoneError, TryGetError,
    TryPutError,
};
pub use semaphore::{
    Acquire, AcquireOwned, BoundedAcquire, BoundedPermit, BoundedSemaphore, OwnedPermit, Permit,
    Semaphore, TooManyReleases, MAX_PERMITS,
};
