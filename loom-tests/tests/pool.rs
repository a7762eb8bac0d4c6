//! The task-memory pool's return stack (`scheduler/pool.rs`): other threads
//! push freed blocks while the owner takes everything at once, and a
//! worker ending its memory period may take everything too (the stacks of
//! spawners outside the runtime, whose owner is whoever holds their
//! cache's lock: `Pool::decay`).
//!
//! Property: every pushed block is taken exactly once, whatever the
//! interleaving of the pushers and the takers.

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
        let blocks: Vec<usize> = (0..2).map(|_| block().as_ptr() as usize).collect();
        let pushers: Vec<_> = blocks
            .iter()
            .map(|&b| {
                let stack = stack.clone();
                thread::spawn(move || {
                    // SAFETY: `b` is a free, word-aligned block we own.
                    unsafe { stack.push(NonNull::new(b as *mut u8).unwrap()) }
                })
            })
            .collect();
        let mut taken = stack.take_all_addrs();
        for p in pushers {
            p.join().unwrap();
        }
        taken.extend(stack.take_all_addrs());
        taken.sort_unstable();
        let mut want = blocks;
        want.sort_unstable();
        assert_eq!(taken, want);
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
        let mut taken = stack.take_all_addrs();
        pusher.join().unwrap();
        taken.extend(stack.take_all_addrs());
        assert_eq!(taken, [b]);
        assert!(stack.take_all_addrs().is_empty());
    });
}

#[test]
fn a_decay_racing_the_owner_and_a_pusher_takes_each_block_exactly_once() {
    loom::model(|| {
        let stack = Arc::new(ReturnStack::new());
        let b = block().as_ptr() as usize;
        // SAFETY: `b` is a free, word-aligned block we own.
        unsafe { stack.push(NonNull::new(b as *mut u8).unwrap()) }
        let s = stack.clone();
        let c = block().as_ptr() as usize;
        let pusher = thread::spawn(move || {
            // SAFETY: `c` is a free, word-aligned block we own.
            unsafe { s.push(NonNull::new(c as *mut u8).unwrap()) }
        });
        let s = stack.clone();
        let decayer = thread::spawn(move || s.take_all_addrs());
        let mut taken = stack.take_all_addrs();
        pusher.join().unwrap();
        taken.extend(decayer.join().unwrap());
        taken.extend(stack.take_all_addrs());
        taken.sort_unstable();
        let mut want = vec![b, c];
        want.sort_unstable();
        assert_eq!(taken, want);
    });
}
