//! Models the wait-list protocols of `corio::sync` (see the module docs of
//! `crates/corio/src/sync/`), on the code that ships: each primitive's
//! atomics and mutex come from the executor's facade, which is loom's here.
//!
//! Protocols exercised, each against a waiter that gives up (its future is
//! dropped: what a cancellation, an abort or a drop does) at any point:
//!
//! * the lock hand-off: a release hands the lock to the front waiter; a
//!   waiter that was handed it and gives up hands it on; nobody is left
//!   waiting on a free lock, and the lock ends free;
//! * semaphore permits: grants to the front waiter against the fast paths
//!   (CAS without the mutex) and a large request at the head; permits
//!   granted to a waiter that gives up go back; the count ends where it
//!   started;
//! * event set / clear / wait: a waiter present at `set` returns even if
//!   `clear` follows at once;
//! * condition notify: a notification meant for a waiter that gives up
//!   goes to the next one;
//! * queue get / put against a getter that gives up, and `shutdown`
//!   against blocked getters, putters and `join`;
//! * barrier: `abort` against waiters, and a waiter that leaves the count.
//!
//! Every blocked model thread waits on a loom condvar until its waker
//! fires, so a lost wakeup is a loom deadlock.
#![cfg(loom)]

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use common::{checker, Kick};
use corio::sync::{Barrier, BarrierError, Condition, Event, GetError, Lock, Queue, Semaphore};
use loom::sync::Arc;
use loom::thread;

/// Polls `future` on this model thread until it is ready, blocking between
/// polls until its waker fires.
fn block_on<F: Future>(future: F) -> F::Output {
    let (kick, waker) = Kick::new_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        kick.block();
    }
}

/// Polls `future` once with a waker that does nothing: a waiter that gets
/// in line and then gives up.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    std::pin::Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn lock_handed_to_a_waiter_that_gives_up_goes_to_the_next() {
    checker().check(|| {
        let lock = Arc::new(Lock::new(0u32));
        let held = lock.try_acquire().unwrap();
        let quitter = thread::spawn({
            let lock = lock.clone();
            move || {
                let mut acquire = lock.acquire();
                if let Poll::Ready(Ok(mut g)) = poll_once(&mut acquire) {
                    *g += 1;
                }
                // Dropped here: linked, handed the lock, or done.
            }
        });
        let waiter = thread::spawn({
            let lock = lock.clone();
            move || {
                *block_on(lock.acquire()).unwrap() += 10;
            }
        });
        drop(held);
        quitter.join().unwrap();
        waiter.join().unwrap();
        assert!(!lock.locked(), "the lock must end free");
        let v = *lock.try_acquire().unwrap();
        assert!(v == 10 || v == 11, "the waiter always gets the lock: {v}");
    });
}

#[test]
fn semaphore_permits_granted_to_a_waiter_that_gives_up_go_back() {
    checker().check(|| {
        let sem = Arc::new(Semaphore::new(0));
        let quitter = thread::spawn({
            let sem = sem.clone();
            move || {
                let mut acquire = sem.acquire_many(2);
                if let Poll::Ready(Ok(p)) = poll_once(&mut acquire) {
                    drop(p);
                }
            }
        });
        let waiter = thread::spawn({
            let sem = sem.clone();
            move || drop(block_on(sem.acquire()).unwrap())
        });
        sem.add_permits(1);
        sem.add_permits(1);
        quitter.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(sem.available(), 2, "every permit comes back");
        assert!(!sem.locked());
    });
}

#[test]
fn semaphore_fast_paths_race_with_a_waiter_getting_in_line() {
    checker().check(|| {
        let sem = Arc::new(Semaphore::new(1));
        let other = thread::spawn({
            let sem = sem.clone();
            move || {
                // Uncontended fast path: CAS without the mutex.
                if let Some(p) = sem.try_acquire() {
                    drop(p);
                }
            }
        });
        let waiter = thread::spawn({
            let sem = sem.clone();
            move || drop(block_on(sem.acquire_many(1)).unwrap())
        });
        other.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(sem.available(), 1, "{sem:?}");
    });
}

#[test]
fn event_waiter_present_at_set_returns_even_if_clear_follows() {
    checker().check(|| {
        let ev = Arc::new(Event::new());
        let (in_line, in_line_waker) = Kick::new_waker();
        let waiter = thread::spawn({
            let ev = ev.clone();
            move || {
                let (kick, waker) = Kick::new_waker();
                let mut cx = Context::from_waker(&waker);
                let mut wait = pin!(ev.wait());
                let first = wait.as_mut().poll(&mut cx);
                in_line_waker.wake();
                if first.is_pending() {
                    loop {
                        kick.block();
                        if wait.as_mut().poll(&mut cx).is_ready() {
                            break;
                        }
                    }
                }
            }
        });
        let quitter = thread::spawn({
            let ev = ev.clone();
            move || {
                let mut wait = ev.wait();
                let _ = poll_once(&mut wait);
            }
        });
        in_line.block();
        ev.set();
        ev.clear();
        waiter.join().unwrap();
        quitter.join().unwrap();
        assert!(!ev.is_set());
    });
}

#[test]
fn condition_notification_for_a_waiter_that_gives_up_goes_to_the_next() {
    checker().check(|| {
        let cond = Arc::new(Condition::new(false));
        let quitter = thread::spawn({
            let cond = cond.clone();
            move || {
                let guard = block_on(cond.acquire()).unwrap();
                let mut wait = cond.wait(guard);
                // Links itself and releases the lock, then gives up.
                let _ = poll_once(&mut wait);
            }
        });
        let waiter = thread::spawn({
            let cond = cond.clone();
            move || {
                let guard = block_on(cond.acquire()).unwrap();
                let ready = block_on(cond.wait_for(guard, |ready| *ready)).unwrap();
                assert!(*ready);
            }
        });
        {
            let mut ready = block_on(cond.acquire()).unwrap();
            *ready = true;
            cond.notify(1).unwrap();
        }
        quitter.join().unwrap();
        waiter.join().unwrap();
        assert!(!cond.locked());
    });
}

#[test]
fn queue_item_meant_for_a_getter_that_gives_up_reaches_the_next() {
    checker().check(|| {
        let q = Queue::new(1);
        let quitter = thread::spawn({
            let q = q.clone();
            move || {
                let mut get = q.get();
                match poll_once(&mut get) {
                    Poll::Ready(Ok(item)) => Some(item),
                    _ => None,
                }
            }
        });
        let getter = thread::spawn({
            let q = q.clone();
            move || block_on(q.get()).ok()
        });
        q.put_nowait(1).unwrap();
        let a = quitter.join().unwrap();
        if a.is_none() {
            // Only the waiting getter can take the item.
            assert_eq!(getter.join().unwrap(), Some(1));
        } else {
            // The quitter took it on its one poll: end the getter.
            q.shutdown(false);
            assert_eq!(getter.join().unwrap(), None);
        }
        assert!(q.empty());
    });
}

#[test]
fn queue_shutdown_immediate_wakes_blocked_getters_putters_and_join() {
    checker().check(|| {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let putter = thread::spawn({
            let q = q.clone();
            move || block_on(q.put(2)).map_err(|e| e.into_item())
        });
        let joiner = thread::spawn({
            let q = q.clone();
            move || block_on(q.join()).unwrap()
        });
        q.shutdown(true);
        let put = putter.join().unwrap();
        joiner.join().unwrap();
        // The put either got in before the shutdown (and was dropped by
        // it) or failed with its item.
        assert!(matches!(put, Ok(()) | Err(2)));
        assert!(matches!(q.get_nowait(), Err(_)));
        assert!(matches!(block_on(q.get()), Err(GetError::ShutDown)));
    });
}

#[test]
fn barrier_abort_breaks_waiters_and_a_leaving_waiter_does_not() {
    checker().check(|| {
        let barrier = Arc::new(Barrier::new(3));
        let quitter = thread::spawn({
            let barrier = barrier.clone();
            move || {
                let mut wait = barrier.wait();
                let _ = poll_once(&mut wait);
            }
        });
        let waiter = thread::spawn({
            let barrier = barrier.clone();
            move || block_on(barrier.wait())
        });
        barrier.abort();
        quitter.join().unwrap();
        assert!(matches!(waiter.join().unwrap(), Err(BarrierError::Broken)));
        assert!(barrier.broken());
        assert_eq!(barrier.n_waiting(), 0);
        barrier.reset();
        assert!(!barrier.broken());
    });
}

#[test]
fn semaphore_large_request_and_small_one_both_get_their_permits() {
    checker().check(|| {
        let sem = Arc::new(Semaphore::new(0));
        let large = thread::spawn({
            let sem = sem.clone();
            move || drop(block_on(sem.acquire_many(2)).unwrap())
        });
        let small = thread::spawn({
            let sem = sem.clone();
            move || drop(block_on(sem.acquire()).unwrap())
        });
        sem.release();
        sem.release();
        large.join().unwrap();
        small.join().unwrap();
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn queue_room_meant_for_a_putter_that_gives_up_reaches_the_next() {
    checker().check(|| {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let quitter = thread::spawn({
            let q = q.clone();
            move || {
                let mut put = q.put(1);
                matches!(poll_once(&mut put), Poll::Ready(Ok(())))
            }
        });
        let putter = thread::spawn({
            let q = q.clone();
            move || block_on(q.put(2)).is_ok()
        });
        assert_eq!(q.get_nowait().unwrap(), 0);
        let quitter_put = quitter.join().unwrap();
        if quitter_put {
            // The quitter's item took the room: make room for the putter.
            assert_eq!(block_on(q.get()).unwrap(), 1);
        }
        assert!(putter.join().unwrap());
        assert_eq!(block_on(q.get()).unwrap(), 2);
        assert!(q.empty());
    });
}
