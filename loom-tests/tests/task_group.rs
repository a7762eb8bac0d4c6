//! Models the counting protocol of a task group (`corio`'s
//! `task_group/tally.rs`): children joining under the group's lock,
//! finishing without it, the wakeup of the task waiting for zero, failures
//! waking it, and the group's lifetime.
//!
//! The group is a loom `Arc<Group>`; each child holds a clone of it, as a
//! real child's link does, dropped after its `leave`. `Group`'s `Drop`
//! asserts that no child is still counted, so freeing it while a child can
//! still reach it fails the model, and loom reports a leaked reference if
//! one is never released.
//!
//! The waiting task blocks on a loom condvar between polls until its waker
//! fires: a lost wakeup is a loom deadlock.
#![cfg(loom)]

mod common;

use std::sync::atomic::Ordering::SeqCst;
use std::task::Waker;

use common::Kick;
use corio::protocols::Tally;
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The model's group: the tally, and a stand-in for the state lock
/// (`failures` counts the failures recorded under it).
struct Group {
    tally: Tally,
    state: Mutex<usize>,
    drops: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Group {
    fn drop(&mut self) {
        assert_eq!(
            self.tally.live(),
            0,
            "the group was freed with children unfinished"
        );
        self.drops.fetch_add(1, SeqCst);
    }
}

/// A child's link: a reference to its group.
struct Link(Arc<Group>);

/// Spawns a child: joins under the state lock, as `TaskGroup::spawn`
/// does; the link takes its reference.
fn join(group: &Arc<Group>) -> Link {
    let _st = group.state.lock().unwrap();
    group.tally.join();
    Link(group.clone())
}

/// A child finishes, optionally with a failure, as `child_done` does; the
/// link is dropped after.
fn finish(link: Link, failed: bool) {
    let group = &*link.0;
    if failed {
        *group.state.lock().unwrap() += 1;
        group.tally.wake();
    }
    group.tally.leave();
    drop(link);
}

/// Blocks until `ready` (polled with the waker registered) holds.
fn wait_until(kick: &Kick, waker: &Waker, mut ready: impl FnMut(&Waker) -> bool) {
    while !ready(waker) {
        kick.block();
    }
}

fn new_group() -> (Arc<Group>, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let group = Arc::new(Group {
        tally: Tally::new(),
        state: Mutex::new(0),
        drops: drops.clone(),
    });
    (group, drops)
}

/// Two children finish on two threads while the group waits for zero: the
/// last one's wakeup is never lost, and the group is freed once, after the
/// waiting side let go and every child finished.
#[test]
fn the_last_child_wakes_the_waiting_group_and_the_group_lives_until_it_returns() {
    loom::model(|| {
        let (group, drops) = new_group();
        let (kick, waker) = Kick::new_waker();
        let a = join(&group);
        let b = join(&group);
        let ta = thread::spawn(move || finish(a, false));
        let tb = thread::spawn(move || finish(b, false));
        wait_until(&kick, &waker, |w| {
            let _st = group.state.lock().unwrap();
            group.tally.poll_empty(w)
        });
        group.tally.clear();
        drop(group); // the run future and the handles let go
        ta.join().unwrap();
        tb.join().unwrap();
        assert_eq!(
            drops.load(SeqCst),
            1,
            "the group was not freed exactly once"
        );
    });
}

/// A child joins while the previous last child is leaving (the count goes
/// 1 → 0 → 1): the group outlives both children even when the waiting
/// side lets go early, and is freed once.
#[test]
fn a_join_racing_the_last_leave_frees_the_group_once_after_both() {
    loom::model(|| {
        let (group, drops) = new_group();
        let first = join(&group);
        let leaver = thread::spawn(move || finish(first, false));
        let joiner = {
            let group = group.clone();
            thread::spawn(move || {
                let second = join(&group);
                drop(group);
                finish(second, false);
            })
        };
        drop(group);
        leaver.join().unwrap();
        joiner.join().unwrap();
        assert_eq!(
            drops.load(SeqCst),
            1,
            "the group was not freed exactly once"
        );
    });
}

/// A failure is recorded under the state lock and wakes the group, racing
/// the group registering its waker and reading the state: the group always
/// learns of it (here, before the children are done: one of them is still
/// running).
#[test]
fn a_failure_always_wakes_the_group() {
    loom::model(|| {
        let (group, drops) = new_group();
        let (kick, waker) = Kick::new_waker();
        let failing = join(&group);
        let slow = join(&group);
        let t = thread::spawn(move || finish(failing, true));
        wait_until(&kick, &waker, |w| {
            group.tally.register(w);
            *group.state.lock().unwrap() > 0
        });
        t.join().unwrap();
        finish(slow, false);
        assert!(group.tally.is_empty());
        drop(group);
        assert_eq!(drops.load(SeqCst), 1);
    });
}
