//! The part of a task group that its children touch as they finish: how
//! many are unfinished, and the waker of the task running the group.
//!
//! # Protocol
//!
//! * `live` counts unfinished children. A spawn raises it ([`Tally::join`])
//!   with the group's state lock held, the same lock under which the group
//!   decides it has finished, so no child joins a group that saw zero. A
//!   finishing child lowers it ([`Tally::leave`]) without that lock: the
//!   common completion is one atomic decrement.
//! * `waiter` holds the waker of the task running the group, behind its own
//!   small lock. The waiting task stores its waker *then* reads `live`
//!   ([`Tally::poll_empty`]); the child that brings `live` to zero
//!   decrements *then* takes the waker. One of the two sees the other, so
//!   the last child's wakeup is never lost. Failures wake the same waker
//!   ([`Tally::wake`]) after recording themselves under the state lock,
//!   which the waiting task reads after storing its waker.
//! * Each unfinished child holds a reference to the group in its link
//!   (`corio_executor::hooks::spawn_linked`), dropped after its `leave`:
//!   the group outlives every child that can still reach it.
//!
//! Model: `loom-tests/tests/task_group.rs`.

use std::task::Waker;

use corio_executor::sync::{AtomicUsize, Mutex, Ordering};

/// Unfinished children and the waiting task's waker; see the module docs.
#[derive(Debug, Default)]
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom model drives it (`crate::protocols`)
pub struct Tally {
    live: AtomicUsize,
    waiter: Mutex<Option<Waker>>,
}

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom model drives it (`crate::protocols`)
impl Tally {
    /// A tally with no children.
    pub fn new() -> Tally {
        Tally::default()
    }

    /// A child joins (call with the group's state lock held).
    pub fn join(&self) {
        self.live.fetch_add(1, Ordering::AcqRel);
    }

    /// A child finished; the last one wakes the waiting task.
    pub fn leave(&self) {
        if self.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.wake();
        }
    }

    /// Wakes the waiting task, if one is registered.
    pub fn wake(&self) {
        let waker = self.waiter.lock().take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Registers the waiting task's waker (before it reads anything the
    /// wakers of [`wake`](Tally::wake) publish).
    pub fn register(&self, waker: &Waker) {
        let mut slot = self.waiter.lock();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// Registers `waker`, then tells whether every child has finished.
    pub fn poll_empty(&self, waker: &Waker) -> bool {
        self.register(waker);
        self.is_empty()
    }

    /// Whether every child has finished.
    pub fn is_empty(&self) -> bool {
        self.live.load(Ordering::Acquire) == 0
    }

    /// Drops the registered waker (the group finished: a handle kept
    /// afterwards must not keep the task alive).
    pub fn clear(&self) {
        drop(self.waiter.lock().take());
    }

    /// The number of unfinished children (for `Debug`).
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
}
