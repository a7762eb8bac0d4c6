//! The task-memory pool's return stack (`scheduler/pool.rs`): other threads
//! push freed blocks while the owning worker takes everything at once.
//!
//! Property: every pushed block is taken exactly once, whatever the
//! interleaving of two pushers and the owner's `take_all`.

#![cfg(loom)]

use std::ptr::NonNull;

use corio_executor::protocols::ReturnStack;
use loom::sync::Arc;
use loom::thread;

/// A block-sized, block-aligned piece of memory the model owns for good
/// (leaked: loom runs the model many times, each leak is 64 bytes).
fn block() -> NonNull<u8> {
    #[repr(align(64))]
    struct Block(#[allow(dead_code)] [u8; 64]);
    NonNull::from(Box::leak(Box::new(Block([0; 64])))).cast()
}

#[test]
fn two_pushers_vs_take_all_lose_and_duplicate_nothing() {
    loom::model(|| {
        let stack = Arc::new(ReturnStack::new());
        let pushers: Vec<_> = (0..2)
            .map(|_| {
                let stack = stack.clone();
                let b = block().as_ptr() as usize;
                thread::spawn(move || {
                    // SAFETY: `b` is a free, word-aligned block we own.
                    unsafe { stack.push(NonNull::new(b as *mut u8).unwrap()) }
                })
            })
            .collect();
        let taken_early = stack.take_all_count();
        for p in pushers {
            p.join().unwrap();
        }
        let taken_late = stack.take_all_count();
        assert_eq!(taken_early + taken_late, 2);
    });
}

#[test]
fn push_after_take_all_is_seen_by_the_next_take() {
    loom::model(|| {
        let stack = Arc::new(ReturnStack::new());
        let s = stack.clone();
        let b = block().as_ptr() as usize;
        let pusher = thread::spawn(move || {
            // SAFETY: `b` is a free, word-aligned block we own.
            unsafe { s.push(NonNull::new(b as *mut u8).unwrap()) }
        });
        let first = stack.take_all_count();
        pusher.join().unwrap();
        let second = stack.take_all_count();
        assert_eq!(first + second, 1);
        assert_eq!(stack.take_all_count(), 0);
    });
}
