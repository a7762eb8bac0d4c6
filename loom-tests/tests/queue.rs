//! Models the run queues the scheduler is built on (`corio_executor::queue`):
//! a worker-owned [`LocalQueue`] that its owner pushes to and pops from
//! while another worker steals half of it through a [`Stealer`], and the
//! global [`Injector`] that outside threads push to while workers pop it or
//! steal a batch of it into their own queue.
//!
//! Property checked in every interleaving: every item pushed is taken
//! exactly once (popped by the owner *or* stolen, never both, never lost),
//! and the owner sees its own items in FIFO order.
//!
//! Under `--cfg loom` the queues are mutex-backed stand-ins for
//! crossbeam-deque; these models pin down the contract the scheduler relies
//! on (and that the stand-ins must keep), e.g. that a batch moved into the
//! thief's queue is not also visible to the victim.
#![cfg(loom)]

use corio_executor::protocols::{Injector, LocalQueue};
use loom::sync::Arc;
use loom::thread;

/// How many items the owner queues in the local-queue models.
const N: usize = 3;

/// Drains `q` (the caller owns it) into `out`.
fn drain(q: &LocalQueue<usize>, out: &mut Vec<usize>) {
    while let Some(i) = q.pop() {
        out.push(i);
    }
}

/// Asserts that `taken` holds every item of `0..n` exactly once.
fn assert_each_once(mut taken: Vec<usize>, n: usize) {
    taken.sort_unstable();
    assert_eq!(
        taken,
        (0..n).collect::<Vec<_>>(),
        "an item was lost or taken twice"
    );
}

/// Asserts that `seen` is increasing (FIFO order of one consumer).
fn assert_increasing(seen: &[usize]) {
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "items out of FIFO order: {seen:?}"
    );
}

/// The owner pushes `N` items then pops them all while a thief steals a
/// batch (and pops it out of its own queue).
#[test]
fn pop_vs_steal_batch_and_pop() {
    loom::model(|| {
        let owner = LocalQueue::new();
        for i in 0..N {
            owner.push(i);
        }
        let stealer = owner.stealer();

        let thief = thread::spawn(move || {
            let mine = LocalQueue::new();
            let mut got = Vec::new();
            if let Some(first) = stealer.steal_batch_and_pop(&mine) {
                got.push(first);
            }
            drain(&mine, &mut got);
            got
        });

        let mut popped = Vec::new();
        drain(&owner, &mut popped);
        let stolen = thief.join().unwrap();

        assert_increasing(&popped);
        assert_increasing(&stolen);
        assert!(owner.is_empty());
        assert_each_once([popped, stolen].concat(), N);
    });
}

/// The owner keeps pushing while the thief steals, and pops between pushes:
/// nothing pushed after (or during) a steal is lost.
#[test]
fn push_and_pop_vs_steal() {
    loom::model(|| {
        let owner = LocalQueue::new();
        owner.push(0);
        let stealer = owner.stealer();

        let thief = thread::spawn(move || {
            let mine = LocalQueue::new();
            let mut got = Vec::new();
            for _ in 0..2 {
                if let Some(first) = stealer.steal_batch_and_pop(&mine) {
                    got.push(first);
                }
            }
            drain(&mine, &mut got);
            got
        });

        let mut popped = Vec::new();
        owner.push(1);
        if let Some(i) = owner.pop() {
            popped.push(i);
        }
        owner.push(2);
        drain(&owner, &mut popped);
        let stolen = thief.join().unwrap();

        assert_increasing(&popped);
        assert_each_once([popped, stolen].concat(), N);
    });
}

/// An outside thread pushes to the injector while a worker steals a batch
/// of it into its local queue and a second worker pops it directly.
#[test]
fn injector_push_vs_pop_and_steal_batch() {
    loom::model(|| {
        let injector = Arc::new(Injector::new());
        injector.push(0);

        let pusher = {
            let injector = injector.clone();
            thread::spawn(move || {
                injector.push(1);
                injector.push(2);
            })
        };
        let popper = {
            let injector = injector.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..2 {
                    if let Some(i) = injector.pop() {
                        got.push(i);
                    }
                }
                got
            })
        };

        let local = LocalQueue::new();
        let mut stolen = Vec::new();
        if let Some(first) = injector.steal_batch_and_pop(&local) {
            stolen.push(first);
        }
        drain(&local, &mut stolen);
        pusher.join().unwrap();
        let popped = popper.join().unwrap();

        // Whatever is left after everyone is done is still in the injector.
        let mut rest = Vec::new();
        while let Some(i) = injector.pop() {
            rest.push(i);
        }
        assert!(injector.is_empty());
        assert_increasing(&stolen);
        assert_increasing(&popped);
        assert_each_once([stolen, popped, rest].concat(), N);
    });
}
