//! The registry of a runtime's unfinished tasks.
//!
//! Every task is linked into one shard (chosen by its id) from spawn until
//! it completes; the registry holds one reference to it meanwhile. That is
//! what lets shutdown reach every unfinished task, including ones whose
//! wakers were lost, and what `all_tasks` will list.
//!
//! Protocol:
//!
//! * A task's `links` are read and written only with its shard's lock held.
//! * `insert` fails once the shard is closed (runtime shutdown); the spawner
//!   then shuts the new task down itself.
//! * `remove` (on completion) unlinks the task if it is still linked and
//!   says so: the caller then releases the registry's reference. If shutdown
//!   took the task out first, `remove` returns false and shutdown owns that
//!   reference.
//! * Each shard also counts live task allocations (spawned, not yet freed),
//!   for `Metrics::live_tasks`.

use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::task::{Header, RawTask, TaskId};

pub(crate) struct Registry {
    shards: Box<[CachePadded<Shard>]>,
    mask: usize,
}

struct Shard {
    list: Mutex<List>,
    live: AtomicUsize,
}

struct List {
    head: Option<NonNull<Header>>,
    closed: bool,
}

// SAFETY: the raw pointers are only followed with the shard lock held, and
// the tasks they point to are kept alive by the registry's references.
unsafe impl Send for List {}

impl Registry {
    pub(crate) fn new(num_workers: usize) -> Registry {
        let n = (num_workers * 4).next_power_of_two();
        let n = if cfg!(loom) { 1 } else { n };
        Registry {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(Shard {
                        list: Mutex::new(List {
                            head: None,
                            closed: false,
                        }),
                        live: AtomicUsize::new(0),
                    })
                })
                .collect(),
            mask: n - 1,
        }
    }

    pub(crate) fn shard_of(&self, id: TaskId) -> usize {
        id.as_u64() as usize & self.mask
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
        let mut list = shard.list.lock();
        if list.closed {
            return Err(task);
        }
        let ptr = task.into_raw();
        // SAFETY: we hold the shard lock, which guards every task's links in
        // this shard; `ptr` and the old head are alive (registry refs).
        unsafe {
            ptr.as_ref().links.with_mut(|l| {
                (*l).prev = None;
                (*l).next = list.head;
            });
            if let Some(head) = list.head {
                head.as_ref().links.with_mut(|l| (*l).prev = Some(ptr));
            }
        }
        list.head = Some(ptr);
        Ok(())
    }

    /// Unlinks a completed task; true if it was linked (the caller then
    /// releases the registry's reference).
    pub(crate) fn remove(&self, task: &Header) -> bool {
        let shard = &self.shards[self.shard_of(task.id())];
        let mut list = shard.list.lock();
        // SAFETY: shard lock held; see `insert`.
        unsafe { unlink(&mut list, NonNull::from(task)) }
    }

    /// Takes out every task that `pred` selects, closing the shards first
    /// if `close` is set.
    pub(crate) fn take(&self, close: bool, pred: impl Fn(&Header) -> bool) -> Vec<RawTask> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut list = shard.list.lock();
            if close {
                list.closed = true;
            }
            let mut cur = list.head;
            while let Some(ptr) = cur {
                // SAFETY: shard lock held; linked tasks are alive.
                let header = unsafe { ptr.as_ref() };
                // SAFETY: shard lock held: we may read the links.
                cur = header.links.with(|l| unsafe { (*l).next });
                if pred(header) {
                    // SAFETY: shard lock held.
                    unsafe { unlink(&mut list, ptr) };
                    // SAFETY: the registry's reference moves to the RawTask.
                    out.push(unsafe { RawTask::from_raw(ptr) });
                }
            }
        }
        out
    }

    /// Calls `f` on every linked task.
    #[allow(dead_code)]
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for shard in self.shards.iter() {
            let list = shard.list.lock();
            let mut cur = list.head;
            while let Some(ptr) = cur {
                // SAFETY: shard lock held; linked tasks are alive.
                let header = unsafe { ptr.as_ref() };
                f(header);
                // SAFETY: shard lock held: we may read the links.
                cur = header.links.with(|l| unsafe { (*l).next });
            }
        }
    }
}

/// # Safety
///
/// The caller holds the lock of the shard `task` belongs to.
unsafe fn unlink(list: &mut List, task: NonNull<Header>) -> bool {
    // SAFETY: guarded by the shard lock (caller's contract); neighbours are
    // linked, hence alive.
    unsafe {
        let (prev, next) = task.as_ref().links.with(|l| ((*l).prev, (*l).next));
        if prev.is_none() && list.head != Some(task) {
            return false;
        }
        match prev {
            Some(p) => p.as_ref().links.with_mut(|l| (*l).next = next),
            None => list.head = next,
        }
        if let Some(n) = next {
            n.as_ref().links.with_mut(|l| (*l).prev = prev);
        }
        task.as_ref().links.with_mut(|l| {
            (*l).prev = None;
            (*l).next = None;
        });
        true
    }
}
