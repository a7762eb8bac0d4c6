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
//! * A local list holds at most [`MAX_CACHED_BYTES`] of blocks per class;
//!   more go back to the global allocator. The return stacks are bounded by the number of
//!   blocks their worker allocated.
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
use crate::config::MAX_CACHED_BYTES;

/// Blocks a worker keeps in `class` (at least two).
#[inline]
fn max_cached(class: usize) -> usize {
    (MAX_CACHED_BYTES / class_layout(class).size()).max(2)
}

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

    /// Takes every block pushed so far and counts them (for the loom
    /// model).
    #[cfg(loom)]
    pub fn take_all_count(&self) -> usize {
        let mut n = 0;
        let mut cur = self.take_all();
        while !cur.is_null() {
            n += 1;
            // SAFETY: blocks in a taken chain are ours; `next` was written
            // before the Release push that our Acquire swap synchronised with.
            cur = unsafe { (*cur).next };
        }
        n
    }

    /// Frees every block in the stack.
    fn free_all(&self, class: usize) {
        let mut cur = self.take_all();
        while !cur.is_null() {
            // SAFETY: as in `take_all_count`; each block was allocated with
            // `class_layout(class)`.
            unsafe {
                let next = (*cur).next;
                std::alloc::dealloc(cur.cast(), class_layout(class));
                cur = next;
            }
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
    lists: [(*mut FreeBlock, usize); NUM_CLASSES],
}

// SAFETY: the cache owns its blocks; it moves with its `Core`, which is only
// ever used by one thread at a time.
unsafe impl Send for LocalCache {}

impl LocalCache {
    pub(crate) fn new() -> LocalCache {
        LocalCache {
            lists: [(ptr::null_mut(), 0); NUM_CLASSES],
        }
    }

    /// A block for `class`: from the local list, else from the blocks other
    /// threads gave back, else from the global allocator.
    pub(crate) fn alloc(&mut self, pool: &Pool, worker: usize, class: usize) -> NonNull<u8> {
        self.alloc_from(&pool.returns[worker][class], class)
    }

    fn alloc_from(&mut self, returns: &ReturnStack, class: usize) -> NonNull<u8> {
        let (head, len) = &mut self.lists[class];
        if head.is_null() {
            *head = returns.take_all();
            *len = 0; // unknown; the bound is approximate for returned chains
        }
        if let Some(block) = NonNull::new(*head) {
            // SAFETY: blocks on our list are free and ours.
            *head = unsafe { (*block.as_ptr()).next };
            *len = len.saturating_sub(1);
            return block.cast();
        }
        let layout = class_layout(class);
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc(layout) };
        NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
    }

    /// Takes back a block of ours freed on our own thread.
    ///
    /// # Safety
    ///
    /// `block` was allocated by this cache for `class` and is free.
    pub(crate) unsafe fn free(&mut self, class: usize, block: NonNull<u8>) {
        let (head, len) = &mut self.lists[class];
        if *len >= max_cached(class) {
            // SAFETY: allocated with `class_layout(class)`.
            unsafe { std::alloc::dealloc(block.as_ptr(), class_layout(class)) };
            return;
        }
        let block = block.cast::<FreeBlock>().as_ptr();
        // SAFETY: the block is free and ours.
        unsafe { (*block).next = *head };
        *head = block;
        *len += 1;
    }
}

impl Drop for LocalCache {
    fn drop(&mut self) {
        for (class, (head, _)) in self.lists.iter_mut().enumerate() {
            let mut cur = *head;
            while !cur.is_null() {
                // SAFETY: blocks on our lists are free, ours, and were
                // allocated with `class_layout(class)`.
                unsafe {
                    let next = (*cur).next;
                    std::alloc::dealloc(cur.cast(), class_layout(class));
                    cur = next;
                }
            }
            *head = ptr::null_mut();
        }
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
