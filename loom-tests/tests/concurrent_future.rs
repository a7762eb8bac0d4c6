//! Models the completion protocol of `ConcurrentFuture`
//! (`threadsafe/slot.rs`): the task's completion racing `cancel()`, a
//! thread blocked in `result(timeout)`, and done callbacks registered
//! during the race.
//!
//! Under loom a timed wait never times out, so a waiter that misses the
//! transition's notification blocks forever: loom reports the deadlock.
//! Callbacks count how often they ran: exactly once each, whoever wins.
#![cfg(loom)]

use std::time::Duration;

use corio::protocols::Slot;
use corio::FutureError;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// Completion vs `cancel()` vs a blocked waiter: exactly one of the two
/// transitions wins, the waiter returns its outcome (the value, or the
/// cancellation), and the loser learns it lost.
#[test]
fn completion_races_cancel_and_a_waiter_sees_the_winner() {
    loom::model(|| {
        let slot = Arc::new(Slot::<u32>::new());
        let completer = {
            let slot = slot.clone();
            thread::spawn(move || match slot.complete(Ok(3)) {
                Ok(w) => {
                    w.run(|_| unreachable!());
                    true
                }
                Err(back) => {
                    assert!(back.is_ok(), "the value came back to the loser");
                    false
                }
            })
        };
        let canceller = {
            let slot = slot.clone();
            thread::spawn(move || match slot.cancel() {
                Some(w) => {
                    w.run(|_| unreachable!());
                    true
                }
                None => false,
            })
        };
        let got = slot.wait(Some(Duration::from_secs(1)));
        let completed = completer.join().unwrap();
        let cancelled = canceller.join().unwrap();
        assert!(completed != cancelled, "exactly one transition wins");
        match got {
            Ok(v) => assert!(completed && v == 3),
            Err(e) => assert!(cancelled && e.is_cancelled()),
        }
        assert!(slot.is_done());
        assert_eq!(slot.is_cancelled(), cancelled);
    });
}

/// A done callback registered while the future completes runs exactly
/// once: by the transition if it was registered first, else handed back
/// to the registering thread.
#[test]
fn a_callback_added_during_completion_runs_exactly_once() {
    loom::model(|| {
        let slot = Arc::new(Slot::<u32>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let completer = {
            let slot = slot.clone();
            thread::spawn(move || {
                if let Ok(w) = slot.complete(Ok(1)) {
                    w.run(|_| unreachable!());
                }
            })
        };
        let r = runs.clone();
        if let Some(cb) = slot.add_callback(Box::new(move || {
            r.fetch_add(1, SeqCst);
        })) {
            cb();
        }
        completer.join().unwrap();
        assert_eq!(runs.load(SeqCst), 1);
    });
}

/// Two waiters blocked at once both wake: the transition notifies every
/// waiter, and a cancelled outcome can be read by both.
#[test]
fn a_cancellation_wakes_every_blocked_waiter() {
    loom::model(|| {
        let slot = Arc::new(Slot::<u32>::new());
        let other = {
            let slot = slot.clone();
            thread::spawn(move || slot.wait(None))
        };
        let canceller = {
            let slot = slot.clone();
            thread::spawn(move || {
                if let Some(w) = slot.cancel() {
                    w.run(|_| unreachable!());
                }
            })
        };
        let mine = slot.wait(None);
        canceller.join().unwrap();
        let theirs = other.join().unwrap();
        assert!(matches!(mine, Err(FutureError::Cancelled(_))));
        assert!(matches!(theirs, Err(FutureError::Cancelled(_))));
    });
}
