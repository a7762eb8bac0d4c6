//! The registry of a runtime's unfinished tasks.
//!
//! Every task sits in one shard (chosen by its id's block, see
//! [`Registry::shard_of`]) from spawn until it completes; the registry holds one reference to it meanwhile. That is
//! what lets shutdown reach every unfinished task, including ones whose
//! wakers were lost, and what `all_tasks` lists.
//!
//! A shard is a slab: a vector of task pointers with a free list of
//! vacant indices, and each task's header keeps its index (`slot`). Linking
//! and unlinking touch the shard and the task itself, never another task,
//! so completing one of 100 000 sleeping tasks costs no cache misses on its
//! neighbours (an intrusive list would write to two of them).
//!
//! Protocol:
//!
//! * A task's `slot` is read and written only with its shard's lock held.
//! * `insert` fails once the shard is closed (runtime shutdown); the spawner
//!   then shuts the new task down itself.
//! * `remove` (on completion) vacates the task's index if it still holds one
//!   and says so: the caller then releases the registry's reference. If
//!   shutdown took the task out first, `remove` returns false and shutdown
//!   owns that reference.
//! * Each shard also counts live task allocations (spawned, not yet freed),
//!   for `Metrics::live_tasks`.
//!
//! Memory: a slab grows with the most tasks its shard held at once, and
//! gives it back as its last indices empty: vacating the last index drops
//! every vacant index at the end, and once a quarter or less of the
//! capacity is in use, the vectors shrink (and the free list forgets the
//! indices that are gone). An index on the free list may therefore be
//! stale (beyond the end, or taken again after the end grew back past it):
//! `insert` checks that an index it pops is vacant and skips it otherwise.
//! A task that lives on at a high index keeps its slab that long.

use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::task::{Header, RawTask, TaskId};

/// `Header::slot` of a task that is in no shard.
pub(crate) const NO_SLOT: u32 = u32::MAX;

pub(crate) struct Registry {
    shards: Box<[CachePadded<Shard>]>,
    mask: usize,
}

struct Shard {
    slab: Mutex<Slab>,
    live: AtomicUsize,
}

struct Slab {
    /// Task pointers; `None` at vacant indices.
    tasks: Vec<Option<NonNull<Header>>>,
    /// Vacant indices of `tasks`.
    free: Vec<u32>,
    closed: bool,
}

// SAFETY: the raw pointers are only followed with the shard lock held, and
// the tasks they point to are kept alive by the registry's references.
unsafe impl Send for Slab {}

impl Slab {
    /// Vacates `index`, which holds `task`. The caller holds the shard lock.
    fn vacate(&mut self, index: u32, task: &Header) {
        self.tasks[index as usize] = None;
        self.free.push(index);
        // SAFETY: shard lock held (the caller's `&mut Slab` is its guard).
        task.slot.with_mut(|s| unsafe { *s = NO_SLOT });
        if index as usize + 1 == self.tasks.len() {
            self.shrink();
        }
    }

    /// Drops the vacant indices at the end, and the memory of a slab that
    /// uses a quarter of its capacity or less.
    fn shrink(&mut self) {
        while let Some(None) = self.tasks.last() {
            self.tasks.pop();
        }
        let len = self.tasks.len();
        let keep = (2 * len).max(crate::config::SLAB_KEEP);
        if self.tasks.capacity() > keep && len <= self.tasks.capacity() / 4 {
            let tasks = &self.tasks;
            self.free
                .retain(|&i| tasks.get(i as usize).is_some_and(Option::is_none));
            self.tasks.shrink_to(keep);
            self.free.shrink_to(keep);
        }
    }

    /// A vacant index from the free list, skipping stale ones.
    fn pop_free(&mut self) -> Option<u32> {
        while let Some(i) = self.free.pop() {
            if self.tasks.get(i as usize).is_some_and(Option::is_none) {
                return Some(i);
            }
        }
        None
    }
}

impl Registry {
    pub(crate) fn new(num_workers: usize) -> Registry {
        let n = (num_workers * 4).next_power_of_two();
        let n = if cfg!(loom) { 1 } else { n };
        Registry {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(Shard {
                        slab: Mutex::new(Slab {
                            tasks: Vec::new(),
                            free: Vec::new(),
                            closed: false,
                        }),
                        live: AtomicUsize::new(0),
                    })
                })
                .collect(),
            mask: n - 1,
        }
    }

    /// The shard of a task: that of its id's block (the ids a thread
    /// reserves at once, `config::TASK_ID_BLOCK`), so that the tasks a
    /// worker spawns in a row lock one shard, whose line stays in that
    /// worker's cache, while other workers' blocks land on other shards.
    pub(crate) fn shard_of(&self, id: TaskId) -> usize {
        ((id.as_u64() - 1) / crate::config::TASK_ID_BLOCK) as usize & self.mask
    }

    /// The shard whose live count a thread updates when it frees a task:
    /// one per worker (`None`: not a worker thread).
    pub(crate) fn shard_of_worker(&self, worker: Option<usize>) -> usize {
        worker.map_or(self.mask, |w| w & self.mask)
    }

    /// Counts a new task allocation in `shard`.
    pub(crate) fn alloc(&self, shard: usize) {
        self.shards[shard].live.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a freed task allocation in `shard`.
    pub(crate) fn dealloc(&self, shard: usize) {
        self.shards[shard].live.fetch_sub(1, Ordering::Relaxed);
    }

    /// Task allocations not yet freed.
    pub(crate) fn live(&self) -> usize {
        // Per-shard counts may be transiently "negative" (wrapped) when a
        // task is freed on another shard's count; the wrapping sum is exact.
        self.shards.iter().fold(0usize, |acc, s| {
            acc.wrapping_add(s.live.load(Ordering::Relaxed))
        })
    }

    /// Links a new task. Fails if the runtime is shutting down.
    pub(crate) fn insert(&self, task: RawTask) -> Result<(), RawTask> {
        let shard = &self.shards[self.shard_of(task.header().id())];
        let mut slab = shard.slab.lock();
        if slab.closed {
            return Err(task);
        }
        let ptr = task.into_raw();
        let index = match slab.pop_free() {
            Some(i) => {
                slab.tasks[i as usize] = Some(ptr);
                i
            }
            None => {
                let i = u32::try_from(slab.tasks.len()).expect("corio: too many live tasks");
                slab.tasks.push(Some(ptr));
                i
            }
        };
        // SAFETY: shard lock held; `ptr` is alive (the registry's reference).
        unsafe { ptr.as_ref().slot.with_mut(|s| *s = index) };
        Ok(())
    }

    /// Unlinks a completed task; true if it was linked (the caller then
    /// releases the registry's reference).
    pub(crate) fn remove(&self, task: &Header) -> bool {
        let shard = &self.shards[self.shard_of(task.id())];
        let mut slab = shard.slab.lock();
        // SAFETY: shard lock held.
        let index = task.slot.with(|s| unsafe { *s });
        if index == NO_SLOT {
            return false;
        }
        slab.vacate(index, task);
        true
    }

    /// Takes out every task that `pred` selects, closing the shards first
    /// if `close` is set.
    pub(crate) fn take(&self, close: bool, pred: impl Fn(&Header) -> bool) -> Vec<RawTask> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut slab = shard.slab.lock();
            if close {
                slab.closed = true;
            }
            // Vacating the last index shortens the slab: re-read its length.
            let mut index = 0;
            while index < slab.tasks.len() {
                let Some(ptr) = slab.tasks[index] else {
                    index += 1;
                    continue;
                };
                // SAFETY: shard lock held; linked tasks are alive.
                let header = unsafe { ptr.as_ref() };
                if pred(header) {
                    slab.vacate(index as u32, header);
                    // SAFETY: the registry's reference moves to the RawTask.
                    out.push(unsafe { RawTask::from_raw(ptr) });
                }
                index += 1;
            }
            if close && slab.tasks.iter().all(Option::is_none) {
                // Nothing can be inserted any more: give the memory back.
                slab.tasks = Vec::new();
                slab.free = Vec::new();
            }
        }
        out
    }

    /// Calls `f` on every linked task.
    #[allow(dead_code)]
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for shard in self.shards.iter() {
            let slab = shard.slab.lock();
            for ptr in slab.tasks.iter().flatten() {
                // SAFETY: shard lock held; linked tasks are alive.
                f(unsafe { ptr.as_ref() });
            }
        }
    }
}
