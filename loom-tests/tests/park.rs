//! Models the worker parker (`scheduler::park::Parker`) in front of the loom
//! driver (`park::new_driver()`, a condvar stand-in for the reactor).
//!
//! Protocol: `unpark` swaps the state word to `NOTIFIED` and only touches
//! the driver if it replaced `PARKED`; `park` consumes a pending `NOTIFIED`,
//! or moves `EMPTY -> PARKED`, blocks in the driver, and stores `EMPTY`.
//!
//! Property checked in every interleaving of an unpark with the parked
//! thread's `while !flag { park() }` loop (the unparker sets `flag` before
//! unparking): the parked thread always sees the flag (a lost wakeup is a
//! loom deadlock), and it parks at most once per unpark (plus once per timed
//! park, which may return at any time): no unpark is lost and none is
//! "double-counted" into a busy loop.
#![cfg(loom)]

use corio_executor::protocols::{new_driver, Driver, Parker};
use loom::sync::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{Acquire, Release},
};
use loom::sync::Arc;
use loom::thread;

/// Spawns a thread that sets `flag` and then unparks `parker`.
fn set_and_unpark<U: corio_executor::protocols::Unpark>(
    parker: &Arc<Parker<U>>,
    flag: &Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    let parker = parker.clone();
    let flag = flag.clone();
    thread::spawn(move || {
        flag.store(true, Release);
        parker.unpark();
    })
}

/// One unpark from another thread, before, during or after the park.
#[test]
fn unpark_from_another_thread() {
    loom::model(|| {
        let mut driver = new_driver().unwrap();
        let parker = Arc::new(Parker::new(driver.unparker()));
        let flag = Arc::new(AtomicBool::new(false));
        let th = set_and_unpark(&parker, &flag);

        let mut parks = 0;
        while !flag.load(Acquire) {
            parker.park(&mut driver, None);
            parks += 1;
            assert!(parks <= 1, "parked again after the only unpark");
        }
        th.join().unwrap();
    });
}

/// Two unparkers racing with each other and with the parker; the parked
/// thread waits for both flags.
#[test]
fn two_unparkers() {
    loom::model(|| {
        let mut driver = new_driver().unwrap();
        let parker = Arc::new(Parker::new(driver.unparker()));
        let a = Arc::new(AtomicBool::new(false));
        let b = Arc::new(AtomicBool::new(false));
        let ta = set_and_unpark(&parker, &a);
        let tb = set_and_unpark(&parker, &b);

        let mut parks = 0;
        while !(a.load(Acquire) && b.load(Acquire)) {
            parker.park(&mut driver, None);
            parks += 1;
            assert!(parks <= 2, "more returns from park than unparks");
        }
        ta.join().unwrap();
        tb.join().unwrap();
    });
}

/// The same unparker wakes the thread twice (two rounds of a flag
/// hand-off): the second unpark is not swallowed by a stale state left by
/// the first one.
#[test]
fn unpark_twice_in_sequence() {
    loom::model(|| {
        let mut driver = new_driver().unwrap();
        let parker = Arc::new(Parker::new(driver.unparker()));
        let round = Arc::new(AtomicUsize::new(0));
        let th = {
            let parker = parker.clone();
            let round = round.clone();
            thread::spawn(move || {
                for r in 1..=2 {
                    round.store(r, Release);
                    parker.unpark();
                }
            })
        };

        let mut parks = 0;
        for r in 1..=2 {
            while round.load(Acquire) < r {
                parker.park(&mut driver, None);
                parks += 1;
                assert!(parks <= 2, "more returns from park than unparks");
            }
        }
        th.join().unwrap();
    });
}

/// A timed park (which the loom driver models as returning at once, the
/// most adversarial timeout) racing with the unpark, then untimed parks:
/// the unpark is not consumed and lost by the timed park.
#[test]
fn timed_park_then_park() {
    loom::model(|| {
        let mut driver = new_driver().unwrap();
        let parker = Arc::new(Parker::new(driver.unparker()));
        let flag = Arc::new(AtomicBool::new(false));
        let th = set_and_unpark(&parker, &flag);

        parker.park(&mut driver, Some(std::time::Duration::from_millis(1)));
        let mut parks = 0;
        while !flag.load(Acquire) {
            parker.park(&mut driver, None);
            parks += 1;
            assert!(parks <= 1, "parked again after the only unpark");
        }
        th.join().unwrap();
    });
}
