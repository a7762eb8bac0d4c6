//! Memory a burst of tasks needed goes back to the allocator once the
//! runtime is idle: a worker that goes to sleep holding more task memory
//! than an idle worker keeps gives back, after one memory period, what its
//! cache did not need and the blocks waiting in its return stacks; worker
//! 0's cache, left in the runtime after `run`, is given back the same way
//! by a sleeping worker; the task registry's slabs shrink as they empty.
//!
//! A counting global allocator (this test binary's own) measures the live
//! heap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

/// `System`, counting live bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grow(by: isize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call forwards to `System` with the same arguments; the
// counter is only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grow(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Spawns `n` tasks at once (each yields once, so they are all alive
/// together), then awaits them all.
async fn burst(n: u64) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            corio::spawn(async move {
                corio::yield_now().await.unwrap();
                i
            })
        })
        .collect();
    let mut sum = 0;
    for t in tasks {
        sum += t.await.unwrap();
    }
    assert_eq!(sum, n * (n - 1) / 2);
}

#[test]
fn after_a_burst_of_a_million_tasks_an_idle_runtime_gives_the_task_memory_back() {
    // Well above what idle caches keep (64 KiB per worker and for
    // spawners outside the runtime), far below what the burst used.
    const LIMIT: isize = 1 << 20;
    let rt = corio::Runtime::builder().workers(2).build().unwrap();
    // One small burst first, for what the runtime allocates once.
    rt.run(burst(1_000));
    std::thread::sleep(Duration::from_millis(100));
    let before = live();
    PEAK.store(before, Ordering::Relaxed);

    rt.run(burst(1_000_000));
    let after_run = live() - before;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert!(
        peak > 64 << 20,
        "the burst used only {} KiB: it does not test giving memory back",
        peak >> 10
    );

    // The workers give memory back one memory period (half a second)
    // after they go idle; allow a generous while.
    let start = Instant::now();
    let mut held = live() - before;
    while held >= LIMIT && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
        held = live() - before;
    }
    assert!(
        held < LIMIT,
        "{} KiB still held a while after a burst of a million tasks ended \
         ({} KiB when `run` returned, {} KiB at the peak)",
        held >> 10,
        after_run >> 10,
        peak >> 10
    );
    drop(rt);
}
