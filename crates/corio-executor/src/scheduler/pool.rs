//! Recycling of task memory, per worker.
//!
//! A spawn allocates a task and, very often, another worker frees it (the
//! one that stole and finished it). With the system allocator that is a
//! cross-thread free per task, and the allocator's per-arena lock becomes
//! the bottleneck of spawn-heavy programs. So task blocks are recycled by
//! the runtime:
//!
//! * Blocks come in size classes of 64 bytes up to [`MAX_BLOCK`], aligned to
//!   64. A task that is larger or more aligned uses the global allocator.
//! * Each block belongs to the worker that first allocated it (its *origin*,
//!   kept in the task header). Each worker keeps a free list per class
//!   ([`LocalCache`], touched only by that worker's thread).
//! * A block freed on its origin worker goes back on the local list. A block
//!   freed anywhere else is pushed on its origin's [`ReturnStack`] for that
//!   class: a lock-free stack that other threads only push to, and that the
//!   origin empties all at once (`take_all`, one swap) when its local list
//!   runs dry. Because nobody pops single blocks concurrently, there is no
//!   ABA problem.
//! * A worker's lists hold at most [`MAX_CACHED_BYTES`] of blocks in all;
//!   more go back to the global allocator, including the part of a chain
//!   taken from a return stack that does not fit.
//! * Memory a burst needed goes back when it is over. A worker that goes
//!   to sleep holding more than [`IDLE_CACHED_BYTES`] starts a period of
//!   [`MEMORY_LINGER`] and sleeps at most
//!   until its end; then it frees what its cache did not need during the
//!   period (the lowest it fell to, above `IDLE_CACHED_BYTES`:
//!   [`LocalCache::decay`]), every block still waiting in its own return
//!   stacks, and trims the shared cache of spawners outside the runtime
//!   ([`Pool::decay`]). Taking a whole stack is what its origin does too,
//!   so this needs no other protocol. Worker 0's cache, parked in the
//!   runtime while no `run` call is active, is decayed by a worker
//!   that sleeps (`scheduler/worker.rs`).
//! * Tasks spawned from threads that are not workers (`Handle::spawn` from a
//!   plain thread) use a shared cache instead: a [`LocalCache`] behind a
//!   mutex (only such spawners take it), refilled from its own return
//!   stacks, which the workers that free those tasks push to.
//! * The pool lives in the runtime's shared state, which every task keeps
//!   alive, so a block can always be returned. When the shared state drops,
//!   every block left in the return stacks is freed; a worker's local lists
//!   are freed with its core.

use std::alloc::Layout;
use std::ptr::{self, NonNull};

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicPtr, Mutex, Ordering};

/// Block sizes are multiples of this, and blocks are aligned to it.
pub(crate) const BLOCK_ALIGN: usize = 64;
/// The largest pooled task, in bytes (`config::MAX_POOLED_TASK`).
pub(crate) const MAX_BLOCK: usize = crate::config::MAX_POOLED_TASK;
/// Number of size classes.
pub(crate) const NUM_CLASSES: usize = MAX_BLOCK / BLOCK_ALIGN;
#[cfg(doc)]
use crate::config::MEMORY_LINGER;
use crate::config::{IDLE_CACHED_BYTES, MAX_CACHED_BYTES};

/// The size class of `layout`, if it is pooled.
#[inline]
pub(crate) fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > BLOCK_ALIGN || layout.size() > MAX_BLOCK || layout.size() == 0 {
        return None;
    }
    Some((layout.size() - 1) / BLOCK_ALIGN)
}

/// The layout of every block of `class`.
#[inline]
pub(crate) fn class_layout(class: usize) -> Layout {
    // SAFETY: the size is a non-zero multiple of a power-of-two alignment.
    unsafe { Layout::from_size_align_unchecked((class + 1) * BLOCK_ALIGN, BLOCK_ALIGN) }
}

/// A free block's first word links it to the next free block.
struct FreeBlock {
    next: *mut FreeBlock,
}

/// Blocks freed by other threads, waiting for their origin worker.
#[derive(Debug)]
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct ReturnStack {
    head: AtomicPtr<FreeBlock>,
}

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
impl ReturnStack {
    /// An empty stack.
    pub fn new() -> ReturnStack {
        ReturnStack {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Pushes a free block (any thread).
    ///
    /// # Safety
    ///
    /// `block` is a free block of this stack's class, owned by the caller,
    /// at least one word large and word-aligned.
    pub unsafe fn push(&self, block: NonNull<u8>) {
        let block = block.cast::<FreeBlock>().as_ptr();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: the caller owns the block until the CAS publishes it.
            unsafe { (*block).next = head };
            match self
                .head
                .compare_exchange_weak(head, block, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => head = actual,
            }
        }
    }

    /// Takes every block pushed so far: the head of a `next`-linked chain.
    fn take_all(&self) -> *mut FreeBlock {
        if self.head.load(Ordering::Relaxed).is_null() {
            return ptr::null_mut();
        }
        self.head.swap(ptr::null_mut(), Ordering::Acquire)
    }

    /// Takes every block pushed so far and returns their addresses (for
    /// the loom models).
    #[cfg(loom)]
    pub fn take_all_addrs(&self) -> Vec<usize> {
        let mut taken = Vec::new();
        let mut cur = self.take_all();
        while !cur.is_null() {
            taken.push(cur as usize);
            // SAFETY: blocks in a taken chain are ours; `next` was written
            // before the Release push that our Acquire swap synchronised with.
            cur = unsafe { (*cur).next };
        }
        taken
    }

    /// Frees every block in the stack.
    fn free_all(&self, class: usize) {
        // SAFETY: a taken chain is ours, of blocks of `class`.
        unsafe { free_chain(self.take_all(), class) }
    }
}

/// Frees a chain of blocks.
///
/// # Safety
///
/// The chain is ours (taken from a stack, or unlinked from a list) and its
/// blocks were allocated with `class_layout(class)`.
unsafe fn free_chain(mut cur: *mut FreeBlock, class: usize) {
    while !cur.is_null() {
        // SAFETY: the caller's contract; `next` was written before the
        // block was published to us (a Release push our Acquire swap
        // synchronised with, or our own thread).
        unsafe {
            let next = (*cur).next;
            std::alloc::dealloc(cur.cast(), class_layout(class));
            cur = next;
        }
    }
}

impl Default for ReturnStack {
    fn default() -> Self {
        ReturnStack::new()
    }
}

/// The origin tag of blocks of the shared cache for non-worker spawners.
pub(crate) const REMOTE_ORIGIN: usize = u32::MAX as usize - 1;

/// The shared half of the pool: one return stack per worker and class, and
/// the cache of non-worker spawners with its return stacks.
pub(crate) struct Pool {
    returns: Box<[CachePadded<[ReturnStack; NUM_CLASSES]>]>,
    remote_returns: CachePadded<[ReturnStack; NUM_CLASSES]>,
    remote_cache: Mutex<LocalCache>,
}

impl Pool {
    pub(crate) fn new(num_workers: usize) -> Pool {
        Pool {
            returns: (0..num_workers)
                .map(|_| CachePadded::new(std::array::from_fn(|_| ReturnStack::new())))
                .collect(),
            remote_returns: CachePadded::new(std::array::from_fn(|_| ReturnStack::new())),
            remote_cache: Mutex::new(LocalCache::new()),
        }
    }

    fn returns_of(&self, origin: usize) -> &[ReturnStack; NUM_CLASSES] {
        if origin == REMOTE_ORIGIN {
            &self.remote_returns
        } else {
            &self.returns[origin]
        }
    }

    /// A block for a task spawned from a thread that is not a worker.
    pub(crate) fn alloc_remote(&self, class: usize) -> NonNull<u8> {
        self.remote_cache
            .lock()
            .alloc_from(&self.remote_returns[class], class)
    }

    /// The end of a worker's memory period (`LocalCache::decay`): frees
    /// the blocks other threads returned to `worker` that it has not taken
    /// back, and those in the stacks of spawners outside the runtime, and
    /// trims their shared cache to `IDLE_CACHED_BYTES`.
    pub(crate) fn decay(&self, worker: usize) {
        for (class, stack) in self.returns[worker].iter().enumerate() {
            stack.free_all(class);
        }
        for (class, stack) in self.remote_returns.iter().enumerate() {
            stack.free_all(class);
        }
        self.remote_cache.lock().trim(IDLE_CACHED_BYTES);
    }

    /// Returns a block to `origin` from another thread.
    ///
    /// # Safety
    ///
    /// `block` was allocated by `origin`'s cache for `class` and is free.
    pub(crate) unsafe fn give_back(&self, origin: usize, class: usize, block: NonNull<u8>) {
        // SAFETY: forwarded contract; blocks are at least 64 bytes.
        unsafe { self.returns_of(origin)[class].push(block) }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let remote: &[ReturnStack; NUM_CLASSES] = &self.remote_returns;
        for stacks in self
            .returns
            .iter()
            .map(|s| &**s)
            .chain(std::iter::once(remote))
        {
            for (class, stack) in stacks.iter().enumerate() {
                stack.free_all(class);
            }
        }
    }
}

/// A worker's own free lists.
pub(crate) struct LocalCache {
    /// The head of each class's list.
    lists: [*mut FreeBlock; NUM_CLASSES],
    /// Bytes on all the lists (at most `MAX_CACHED_BYTES`).
    bytes: usize,
    /// The fewest bytes the lists held since the current period began
    /// (`decay`): what the period did not need.
    low_water: usize,
}

// SAFETY: the cache owns its blocks; it moves with its `Core`, which is only
// ever used by one thread at a time.
unsafe impl Send for LocalCache {}

impl LocalCache {
    pub(crate) fn new() -> LocalCache {
        LocalCache {
            lists: [ptr::null_mut(); NUM_CLASSES],
            bytes: 0,
            low_water: 0,
        }
    }

    /// Bytes of free blocks this cache holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// A block for `class`: from the local list, else from the blocks other
    /// threads gave back, else from the global allocator.
    pub(crate) fn alloc(&mut self, pool: &Pool, worker: usize, class: usize) -> NonNull<u8> {
        self.alloc_from(&pool.returns[worker][class], class)
    }

    fn alloc_from(&mut self, returns: &ReturnStack, class: usize) -> NonNull<u8> {
        if self.lists[class].is_null() {
            self.adopt(returns.take_all(), class);
        }
        if let Some(block) = NonNull::new(self.lists[class]) {
            // SAFETY: blocks on our list are free and ours.
            self.lists[class] = unsafe { (*block.as_ptr()).next };
            self.bytes -= class_layout(class).size();
            self.low_water = self.low_water.min(self.bytes);
            return block.cast();
        }
        let layout = class_layout(class);
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc(layout) };
        NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
    }

    /// Moves a chain taken from a return stack onto the (empty) list of
    /// `class`, as far as the bound allows; frees the rest.
    fn adopt(&mut self, mut cur: *mut FreeBlock, class: usize) {
        let size = class_layout(class).size();
        while !cur.is_null() {
            if self.bytes + size > MAX_CACHED_BYTES {
                // SAFETY: the rest of a taken chain is ours, of `class`.
                unsafe { free_chain(cur, class) };
                return;
            }
            // SAFETY: blocks of a taken chain are free and ours; `next` was
            // written before the Release push our Acquire swap saw.
            let next = unsafe { (*cur).next };
            // SAFETY: as above.
            unsafe { (*cur).next = self.lists[class] };
            self.lists[class] = cur;
            self.bytes += size;
            cur = next;
        }
    }

    /// Takes back a block of ours freed on our own thread.
    ///
    /// # Safety
    ///
    /// `block` was allocated by this cache for `class` and is free.
    pub(crate) unsafe fn free(&mut self, class: usize, block: NonNull<u8>) {
        let size = class_layout(class).size();
        if self.bytes + size > MAX_CACHED_BYTES {
            // SAFETY: allocated with `class_layout(class)`.
            unsafe { std::alloc::dealloc(block.as_ptr(), class_layout(class)) };
            return;
        }
        let block = block.cast::<FreeBlock>().as_ptr();
        // SAFETY: the block is free and ours.
        unsafe { (*block).next = self.lists[class] };
        self.lists[class] = block;
        self.bytes += size;
    }

    /// Frees blocks (the largest classes first) until at most `keep`
    /// bytes are left.
    pub(crate) fn trim(&mut self, keep: usize) {
        for class in (0..NUM_CLASSES).rev() {
            let size = class_layout(class).size();
            while self.bytes > keep {
                let Some(block) = NonNull::new(self.lists[class]) else {
                    break;
                };
                // SAFETY: blocks on our list are free and ours, allocated
                // with `class_layout(class)`.
                unsafe {
                    self.lists[class] = (*block.as_ptr()).next;
                    std::alloc::dealloc(block.as_ptr().cast(), class_layout(class));
                }
                self.bytes -= size;
            }
        }
        self.low_water = self.low_water.min(self.bytes);
    }

    /// Starts a period: from now on, `decay` frees what the lists do not
    /// fall below.
    pub(crate) fn start_period(&mut self) {
        self.low_water = self.bytes;
    }

    /// Ends a period: frees the blocks the lists held all through it, as
    /// far as they exceed `keep`, and starts the next period.
    pub(crate) fn decay(&mut self, keep: usize) {
        let unused = self.low_water.saturating_sub(keep);
        self.trim(self.bytes - unused);
        self.start_period();
    }
}

impl Drop for LocalCache {
    fn drop(&mut self) {
        for (class, head) in self.lists.iter_mut().enumerate() {
            // SAFETY: blocks on our lists are free, ours, and were
            // allocated with `class_layout(class)`.
            unsafe { free_chain(std::mem::replace(head, ptr::null_mut()), class) };
        }
        self.bytes = 0;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_sizes_up_to_the_maximum_in_64_byte_steps() {
        assert_eq!(class_of(Layout::from_size_align(1, 8).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(64, 8).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(65, 8).unwrap()), Some(1));
        assert_eq!(
            class_of(Layout::from_size_align(1024, 64).unwrap()),
            Some(15)
        );
        assert_eq!(class_of(Layout::from_size_align(1025, 8).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(64, 128).unwrap()), None);
    }

    /// Allocates `n` blocks of `class` from `cache` and frees them back
    /// into it.
    fn fill(cache: &mut LocalCache, pool: &Pool, class: usize, n: usize) {
        let blocks: Vec<_> = (0..n).map(|_| cache.alloc(pool, 0, class)).collect();
        for b in blocks {
            // SAFETY: each block is ours, of `class`, and free now.
            unsafe { cache.free(class, b) };
        }
    }

    #[test]
    fn a_cache_holds_at_most_its_bound_and_trims_to_the_idle_bound() {
        let pool = Pool::new(1);
        let mut cache = LocalCache::new();
        let class = 3; // 256-byte blocks
        let size = class_layout(class).size();
        fill(&mut cache, &pool, class, 2 * MAX_CACHED_BYTES / size);
        assert_eq!(cache.bytes(), MAX_CACHED_BYTES / size * size);
        cache.trim(IDLE_CACHED_BYTES);
        assert!(cache.bytes() <= IDLE_CACHED_BYTES);
        assert!(cache.bytes() + size > IDLE_CACHED_BYTES);
    }

    #[test]
    fn a_period_frees_only_what_the_cache_did_not_fall_below() {
        let pool = Pool::new(1);
        let mut cache = LocalCache::new();
        let class = 3;
        let size = class_layout(class).size();
        let n = IDLE_CACHED_BYTES / size * 4;
        fill(&mut cache, &pool, class, n);
        // A period in which all but a quarter of the blocks were needed
        // frees nothing beyond the idle bound's worth of what was unused.
        cache.start_period();
        fill(&mut cache, &pool, class, n * 3 / 4);
        cache.decay(IDLE_CACHED_BYTES);
        assert_eq!(
            cache.bytes(),
            n * size,
            "a quarter unused, at the idle bound: kept"
        );
        // A period in which nothing was needed frees down to the bound.
        cache.decay(IDLE_CACHED_BYTES);
        assert!(cache.bytes() <= IDLE_CACHED_BYTES);
    }

    #[test]
    fn a_returned_chain_beyond_the_bound_goes_back_to_the_allocator() {
        let pool = Pool::new(1);
        let mut origin = LocalCache::new();
        let class = 3;
        let size = class_layout(class).size();
        let n = 2 * MAX_CACHED_BYTES / size;
        let blocks: Vec<_> = (0..n)
            .map(|_| origin.alloc(&pool, 0, class).as_ptr() as usize)
            .collect();
        std::thread::scope(|s| {
            s.spawn(|| {
                for &b in &blocks {
                    // SAFETY: each is a free block of class 3 of worker 0.
                    unsafe { pool.give_back(0, class, NonNull::new(b as *mut u8).unwrap()) }
                }
            });
        });
        // The next allocation adopts the chain: the bound's worth, minus
        // the block it hands out.
        let b = origin.alloc(&pool, 0, class);
        assert_eq!(origin.bytes(), MAX_CACHED_BYTES / size * size - size);
        // SAFETY: ours and free.
        unsafe { origin.free(class, b) };
    }

    #[test]
    fn a_decay_empties_the_workers_return_stacks() {
        let pool = Pool::new(2);
        let mut cache = LocalCache::new();
        let a = cache.alloc(&pool, 1, 0);
        // SAFETY: `a` is a free block of class 0 of worker 1.
        unsafe { pool.give_back(1, 0, a) };
        assert!(!pool.returns[1][0].head.load(Ordering::Relaxed).is_null());
        pool.decay(1);
        assert!(pool.returns[1][0].head.load(Ordering::Relaxed).is_null());
    }

    #[test]
    fn a_block_freed_by_another_thread_is_reused_by_its_origin() {
        let pool = Pool::new(1);
        let mut cache = LocalCache::new();
        let a = cache.alloc(&pool, 0, 2);
        let addr = a.as_ptr() as usize;
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: `a` is a free block of class 2 of worker 0.
                unsafe { pool.give_back(0, 2, NonNull::new(addr as *mut u8).unwrap()) }
            });
        });
        let b = cache.alloc(&pool, 0, 2);
        assert_eq!(b.as_ptr() as usize, addr);
        // SAFETY: `b` is ours and free.
        unsafe { cache.free(2, b) };
    }
}
