//! "Cheap when unused": spawning while the context is empty allocates
//! nothing for the context (and a non-empty one is shared, not copied).
//! Its own binary, for the counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static A: Counting = Counting;

static VAR: corio::ContextVar<u64> = corio::ContextVar::new("var");

const N: usize = 2000;

async fn spawn_and_await(n: usize) {
    for _ in 0..n {
        corio::spawn(async {}).await.unwrap();
    }
}

fn count(set_var: bool) -> usize {
    let rt = corio::Runtime::builder().workers(1).build().unwrap();
    rt.run(async move {
        if set_var {
            let _ = VAR.set(5);
        }
        spawn_and_await(N).await; // warm the task pool and the registry
        ALLOCS.store(0, Ordering::SeqCst);
        ON.store(true, Ordering::SeqCst);
        spawn_and_await(N).await;
        ON.store(false, Ordering::SeqCst);
        ALLOCS.load(Ordering::SeqCst)
    })
}

#[test]
fn spawning_allocates_nothing_per_task_for_an_empty_or_an_inherited_context() {
    let empty = count(false);
    let inherited = count(true);
    assert!(
        empty < N / 10,
        "{empty} allocations for {N} spawns, empty context"
    );
    assert!(
        inherited < N / 10,
        "{inherited} allocations for {N} spawns, inherited context"
    );
}
