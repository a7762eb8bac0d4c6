//! `corio::sync`'s Event, Lock, Semaphore, BoundedSemaphore, Condition and
//! Barrier, against asyncio 3.13's semantics: CPython's
//! `Lib/test/test_asyncio/test_locks.py` translated (with one worker, tasks
//! run in asyncio's FIFO order, so `await asyncio.sleep(0)` is
//! `corio::yield_now()`), plus cancellation points, `get_stack`, and
//! stress runs on two workers.
//!
//! asyncio's tests often leave a lock held by a finished task and release
//! it from the main task (`lock.release()`). Here a task hands its guard
//! over instead: the primitives are leaked (`&'static`), so guards are
//! `'static` and can be kept in a shared `Held` list that the main task
//! drops from.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use corio::sync::{
    Barrier, BarrierError, BoundedSemaphore, Condition, Event, Lock, LockGuard, NotifyUnlocked,
    Semaphore, MAX_PERMITS,
};
use corio::{Cancelled, Task, TaskError, TaskRef};

mod common;
use common::{rt, XorShift, MS};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// What the tasks of a test report, in order.
type Seen = Arc<Mutex<Vec<u32>>>;

fn seen() -> Seen {
    Seen::default()
}

fn push(s: &Seen, v: u32) {
    s.lock().unwrap().push(v);
}

fn get(s: &Seen) -> Vec<u32> {
    s.lock().unwrap().clone()
}

/// Guards kept alive after the task that took them finished (asyncio's
/// "the lock stays acquired").
type Held<T = ()> = Arc<Mutex<Vec<LockGuard<'static, T>>>>;

/// asyncio's `lock.release()` from the main task: drops the oldest held
/// guard.
fn release<T>(held: &Held<T>) {
    let g = held.lock().unwrap().remove(0);
    drop(g);
}

/// A primitive that lives for the whole test process, so its guards and
/// futures are `'static`.
fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// `await asyncio.sleep(0)`.
async fn tick() {
    corio::yield_now().await.unwrap();
}

async fn ticks(n: usize) {
    for _ in 0..n {
        tick().await;
    }
}

/// A future that is not a corio cancellation point and suspends once (it
/// wakes itself): a task in it can be cancelled "before it awaits" the
/// primitive that follows.
fn suspend_once_without_cancellation_point() -> impl Future<Output = ()> {
    let mut polled = false;
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        if polled {
            Poll::Ready(())
        } else {
            polled = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

fn assert_cancelled<T: std::fmt::Debug>(r: Result<T, TaskError>) {
    match r {
        Err(e) if e.is_cancelled() => {}
        other => panic!("expected a cancelled task, got {other:?}"),
    }
}

/// Runs a multi-worker test body with a generous time limit, so that a lost
/// wakeup fails the test instead of hanging it.
async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match corio::timeout(Duration::from_secs(30), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: did not finish in 30 s (a lost wakeup?)"),
    }
}

#[test]
fn the_primitives_their_guards_and_their_futures_are_send_and_sync_as_needed() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Event>();
    send_sync::<Lock<Vec<u8>>>();
    send_sync::<Semaphore>();
    send_sync::<BoundedSemaphore>();
    send_sync::<Condition<Vec<u8>>>();
    send_sync::<Barrier>();
    send::<LockGuard<'static, Vec<u8>>>();
    send::<corio::sync::Permit<'static>>();
    send::<corio::sync::OwnedPermit>();
    send::<corio::sync::BoundedPermit<'static>>();
    send::<corio::sync::LockAcquire<'static, Vec<u8>>>();
    send::<corio::sync::EventWait<'static>>();
    send::<corio::sync::Acquire<'static>>();
    send::<corio::sync::AcquireOwned>();
    send::<corio::sync::BoundedAcquire<'static>>();
    send::<corio::sync::ConditionWait<'static, Vec<u8>>>();
    send::<corio::sync::BarrierWait<'static>>();
}

// ---------------------------------------------------------------------------
// Lock
// ---------------------------------------------------------------------------

#[test]
fn lock_waiters_get_the_lock_in_the_order_they_asked() {
    // test_locks.py LockTests.test_acquire
    let lock: &'static Lock = leak(Lock::new(()));
    rt(1).run(async move {
        let result = seen();
        let held: Held = Held::default();
        let g0 = lock.acquire().await.unwrap();
        let c = |i: u32| {
            let (result, held) = (result.clone(), held.clone());
            corio::spawn(async move {
                let g = lock.acquire().await.unwrap();
                push(&result, i);
                held.lock().unwrap().push(g);
                true
            })
        };
        let t1 = c(1);
        let t2 = c(2);

        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);

        drop(g0); // lock.release()
        tick().await;
        assert_eq!(get(&result), [1]);

        tick().await;
        assert_eq!(get(&result), [1]);

        let t3 = c(3);

        release(&held);
        tick().await;
        assert_eq!(get(&result), [1, 2]);

        release(&held);
        tick().await;
        assert_eq!(get(&result), [1, 2, 3]);

        assert!(t1.done() && t2.done() && t3.done());
        assert!(t1.await.unwrap() && t2.await.unwrap() && t3.await.unwrap());
        assert!(lock.locked());
        release(&held);
        assert!(!lock.locked());
    });
}

#[test]
fn lock_waiters_take_turns_in_fifo_order_over_two_rounds() {
    // Like test_acquire_fifo_order, for the lock: each task takes the lock,
    // holds it across an await, releases it and asks again at the back.
    rt(1).run(async {
        let lock = Arc::new(Lock::new(Vec::new()));
        let g = lock.acquire().await.unwrap();
        let tasks: Vec<_> = (0..6u32)
            .map(|i| {
                let lock = lock.clone();
                corio::spawn(async move {
                    let mut g = lock.acquire().await.unwrap();
                    g.push((i, 1));
                    corio::yield_now().await.unwrap(); // held across the await
                    drop(g);
                    lock.acquire().await.unwrap().push((i, 2));
                })
            })
            .collect();
        tick().await; // every task waits
        drop(g);
        for t in tasks {
            t.await.unwrap();
        }
        let order = lock.acquire().await.unwrap().clone();
        let expected: Vec<_> = (0..6)
            .map(|i| (i, 1))
            .chain((0..6).map(|i| (i, 2)))
            .collect();
        assert_eq!(order, expected);
    });
}

#[test]
fn lock_acquire_cancelled_while_waiting_leaves_no_trace() {
    // test_locks.py LockTests.test_acquire_cancel
    let lock: &'static Lock = leak(Lock::new(()));
    rt(1).run(async move {
        let g = lock.acquire().await.unwrap();
        let task = corio::spawn(async move { lock.acquire().await.map(drop) });
        tick().await;
        assert!(!task.done());
        task.cancel();
        assert_cancelled(task.await);
        // Nobody waits any more: the release leaves the lock free.
        drop(g);
        assert!(!lock.locked());
        let g = lock.try_acquire().expect("the lock is free");
        drop(g);
    });
}

#[test]
fn lock_cancel_race_moves_on_to_the_next_waiter() {
    // test_locks.py LockTests.test_cancel_race: A holds the lock, B and C
    // wait; at once B is cancelled and A releases: C gets the lock.
    let lock: &'static Lock<Vec<&'static str>> = leak(Lock::new(Vec::new()));
    rt(1).run(async move {
        let fa: &'static Event = leak(Event::new());
        let lockit = |name: &'static str, blocker: Option<&'static Event>| {
            corio::spawn(async move {
                let mut g = lock.acquire().await?;
                g.push(name);
                if let Some(b) = blocker {
                    b.wait().await?;
                }
                Ok::<_, Cancelled>(())
            })
        };
        let ta = lockit("A", Some(fa));
        tick().await;
        assert!(lock.locked());
        let tb = lockit("B", None);
        tick().await;
        let tc = lockit("C", None);
        tick().await;

        fa.set();
        tb.cancel();
        tick().await;
        assert!(ta.done());
        assert!(tb.done() && tb.cancelled());
        // asyncio says `not lock.locked()` here (released, C not run yet);
        // corio hands the lock to C directly: held, and no newcomer barges.
        assert!(lock.locked());
        assert!(lock.try_acquire().is_none());
        tc.await.unwrap().unwrap();
        ta.await.unwrap().unwrap();
        assert_cancelled(tb.await);
        assert_eq!(*lock.try_acquire().expect("free at the end"), ["A", "C"]);
    });
}

#[test]
fn lock_cancel_then_release_takes_only_one_lock() {
    // test_locks.py LockTests.test_cancel_release_race (bpo-32734)
    let lock: &'static Lock = leak(Lock::new(()));
    rt(1).run(async move {
        let lock_count = Arc::new(AtomicUsize::new(0));
        let call_count = Arc::new(AtomicUsize::new(0));
        let held: Held = Held::default();
        let lockit = || {
            let (lc, cc, held) = (lock_count.clone(), call_count.clone(), held.clone());
            corio::spawn(async move {
                cc.fetch_add(1, Ordering::SeqCst);
                let g = lock.acquire().await?;
                lc.fetch_add(1, Ordering::SeqCst);
                held.lock().unwrap().push(g);
                Ok::<_, Cancelled>(())
            })
        };
        let g = lock.acquire().await.unwrap();
        let t1 = lockit();
        let t2 = lockit();
        let t3 = lockit();
        tick().await; // start them

        // trigger(): t1.cancel(); lock.release()
        t1.cancel();
        drop(g);
        assert_cancelled(t1.await);

        assert_eq!(lock_count.load(Ordering::SeqCst), 1);
        assert_eq!(call_count.load(Ordering::SeqCst), 3);
        assert!(t2.done());
        t3.cancel();
        tick().await;
        assert!(t3.done() && t3.cancelled());
        t2.await.unwrap().unwrap();
        assert_cancelled(t3.await);
        release(&held);
        assert!(!lock.locked());
    });
}

#[test]
fn lock_waiter_cancelled_after_it_was_handed_the_lock_passes_it_to_the_next_waiter() {
    // The brief's scenario: A holds, B and C wait; A releases (B is handed
    // the lock); B is cancelled before it runs; C must get the lock.
    let lock: &'static Lock<Vec<&'static str>> = leak(Lock::new(Vec::new()));
    rt(1).run(async move {
        let waiter = |name: &'static str| {
            corio::spawn(async move {
                lock.acquire().await?.push(name);
                Ok::<_, Cancelled>(name)
            })
        };
        let a = lock.acquire().await.unwrap();
        let b = waiter("B");
        let c = waiter("C");
        tick().await;
        drop(a); // B is handed the lock
        assert!(lock.locked());
        assert!(lock.try_acquire().is_none());
        b.cancel();
        tick().await; // B runs: cancelled, hands the lock to C
        assert!(b.done() && b.cancelled());
        assert!(lock.locked(), "C holds the lock until it runs");
        assert_eq!(c.await.unwrap().unwrap(), "C");
        assert_cancelled(b.await);
        assert!(!lock.locked(), "not stuck");
        assert_eq!(*lock.try_acquire().unwrap(), ["C"]);
    });
}

#[test]
fn lock_finished_waiter_cancelled_wakes_the_second_waiter() {
    // test_locks.py LockTests.test_finished_waiter_cancelled, literally:
    // tc is created but has not run when tb is cancelled and woken.
    let lock: &'static Lock = leak(Lock::new(()));
    rt(1).run(async move {
        let g = lock.acquire().await.unwrap();
        assert!(lock.locked());
        let tb = corio::spawn(async move { lock.acquire().await.map(drop) });
        tick().await;

        let tc = corio::spawn(async move { lock.acquire().await.map(drop) });
        tb.cancel();
        drop(g);
        tick().await;

        assert!(lock.locked());
        assert!(tb.done() && tb.cancelled());
        tc.await.unwrap().unwrap();
        assert_cancelled(tb.await);
        assert!(!lock.locked());
    });
}

#[test]
fn lock_woken_waiter_is_not_overtaken_by_a_newcomer() {
    // No barging: after the release to a waiting task, a newcomer (even
    // one that runs first) waits behind it.
    let lock: &'static Lock<Vec<&'static str>> = leak(Lock::new(Vec::new()));
    rt(1).run(async move {
        let g = lock.acquire().await.unwrap();
        let b = corio::spawn(async move { lock.acquire().await.unwrap().push("B") });
        tick().await; // B waits
        let newcomer = corio::spawn(async move { lock.acquire().await.unwrap().push("new") });
        drop(g); // handed to B, which has not run yet
        assert!(lock.try_acquire().is_none(), "try_acquire barged in");
        // The newcomer runs before B, and must still queue behind it.
        newcomer.await.unwrap();
        b.await.unwrap();
        assert_eq!(*lock.try_acquire().unwrap(), ["B", "new"]);
    });
}

#[test]
fn lock_waiter_never_handed_the_lock_and_cancelled_leaves_without_effect() {
    let lock: &'static Lock<Vec<&'static str>> = leak(Lock::new(Vec::new()));
    rt(1).run(async move {
        let waiter = |name: &'static str| {
            corio::spawn(async move {
                lock.acquire().await?.push(name);
                Ok::<_, Cancelled>(())
            })
        };
        let g = lock.acquire().await.unwrap();
        let b = waiter("B");
        let c = waiter("C");
        let d = waiter("D");
        tick().await;
        c.cancel(); // in the middle of the line
        tick().await;
        assert!(c.done() && c.cancelled());
        assert!(lock.locked());
        drop(g);
        b.await.unwrap().unwrap();
        d.await.unwrap().unwrap();
        assert_cancelled(c.await);
        assert_eq!(*lock.try_acquire().unwrap(), ["B", "D"]);
    });
}

#[test]
fn lock_waiter_aborted_after_it_was_handed_the_lock_passes_it_on() {
    let lock: &'static Lock<Vec<&'static str>> = leak(Lock::new(Vec::new()));
    rt(1).run(async move {
        let g = lock.acquire().await.unwrap();
        let b = corio::spawn(async move { lock.acquire().await.unwrap().push("B") });
        let c = corio::spawn(async move { lock.acquire().await.unwrap().push("C") });
        tick().await;
        drop(g); // handed to B
        b.abort(); // B's acquire future is dropped before it runs
        c.await.unwrap();
        assert_cancelled(b.await);
        assert!(!lock.locked());
        assert_eq!(*lock.try_acquire().unwrap(), ["C"]);
    });
}

#[test]
fn lock_data_is_mutated_under_the_guard_across_two_workers() {
    const TASKS: u64 = 8;
    const ITERS: u64 = 200;
    let total = rt(2).run(async {
        within("lock counter", async {
            let lock = Arc::new(Lock::new(0u64));
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let lock = lock.clone();
                    corio::spawn(async move {
                        for i in 0..ITERS {
                            let mut g = lock.acquire().await.unwrap();
                            let seen = *g;
                            if i % 3 == 0 {
                                // The guard is held across an await: another
                                // task (maybe on the other worker) would
                                // lose this update if it got in.
                                corio::yield_now().await.unwrap();
                            }
                            *g = seen + 1;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            Arc::try_unwrap(lock).unwrap().into_inner()
        })
        .await
    });
    assert_eq!(total, TASKS * ITERS);
}

#[test]
fn lock_panic_while_holding_the_guard_releases_the_lock() {
    rt(1).run(async {
        let lock = Arc::new(Lock::new(Vec::new()));
        let panicker = corio::spawn({
            let lock = lock.clone();
            async move {
                let mut g = lock.acquire().await.unwrap();
                g.push(1);
                corio::yield_now().await.unwrap();
                if g.len() == 1 {
                    panic!("boom while holding the lock");
                }
            }
        });
        tick().await; // it holds the lock
        assert!(lock.locked());
        let waiter = corio::spawn({
            let lock = lock.clone();
            async move {
                let mut g = lock.acquire().await.unwrap();
                g.push(2);
                g.len()
            }
        });
        let err = panicker.await.unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        // No poisoning: the waiter gets the lock and the data.
        assert_eq!(waiter.await.unwrap(), 2);
        assert!(!lock.locked());
        assert_eq!(*lock.try_acquire().unwrap(), [1, 2]);
    });
}

#[test]
fn lock_try_acquire_get_mut_into_inner_default_and_debug() {
    let mut lock: Lock<u32> = Lock::default();
    assert!(!lock.locked());
    assert!(format!("{lock:?}").contains("locked: false"));
    *lock.get_mut() += 5;
    {
        let mut g = lock.try_acquire().unwrap();
        assert!(lock.locked());
        assert!(lock.try_acquire().is_none());
        assert!(format!("{lock:?}").contains("locked: true"));
        *g += 1;
        assert_eq!(format!("{g:?}"), "LockGuard(6)");
    }
    assert!(!lock.locked());
    assert_eq!(lock.into_inner(), 6);
}

// ---------------------------------------------------------------------------
// Event
// ---------------------------------------------------------------------------

#[test]
fn event_wait_returns_at_once_when_set() {
    // test_locks.py EventTests.test_wait_on_set
    rt(1).run(async {
        let ev = Event::new();
        assert!(!ev.is_set());
        ev.set();
        assert!(ev.is_set());
        // A set event does not suspend the task: with one worker, a task
        // spawned before would have run if it had.
        let other = corio::spawn(async {});
        ev.wait().await.unwrap();
        ev.wait().await.unwrap();
        assert!(!other.done());
        other.await.unwrap();
    });
}

#[test]
fn event_set_wakes_every_waiter_in_asyncio_order() {
    // test_locks.py EventTests.test_wait
    let ev: &'static Event = leak(Event::new());
    rt(1).run(async move {
        let result = seen();
        let c = |i: u32| {
            let result = result.clone();
            corio::spawn(async move {
                ev.wait().await.unwrap();
                push(&result, i);
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);

        let t3 = c(3);
        ev.set();
        tick().await;
        assert_eq!(get(&result), [3, 1, 2]);
        assert!(t1.done() && t2.done() && t3.done());
        t1.await.unwrap();
        t2.await.unwrap();
        t3.await.unwrap();
    });
}

#[test]
fn event_waiter_present_at_set_returns_even_if_cleared_before_it_runs() {
    // test_locks.py EventTests.test_clear_with_waiters
    let ev: &'static Event = leak(Event::new());
    rt(1).run(async move {
        let result = seen();
        let t = corio::spawn({
            let result = result.clone();
            async move {
                ev.wait().await.unwrap();
                push(&result, 1);
                true
            }
        });
        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);

        ev.set();
        ev.clear();
        assert!(!ev.is_set());

        ev.set();
        ev.set();
        tick().await;
        assert_eq!(get(&result), [1]);
        assert!(t.done());
        assert!(t.await.unwrap());

        // And with only set(); clear(): the waiter still returns.
        ev.clear();
        let t = corio::spawn(async move { ev.wait().await });
        tick().await;
        ev.set();
        ev.clear();
        tick().await;
        assert!(t.done());
        t.await.unwrap().unwrap();
        assert!(!ev.is_set());
    });
}

#[test]
fn event_waiter_arriving_after_clear_waits_for_the_next_set() {
    // test_locks.py EventTests.test_clear, and a new waiter after it.
    let ev: &'static Event = leak(Event::new());
    rt(1).run(async move {
        ev.set();
        assert!(ev.is_set());
        ev.clear();
        assert!(!ev.is_set());
        let t = corio::spawn(async move { ev.wait().await });
        ticks(3).await;
        assert!(!t.done(), "waits for the next set()");
        ev.set();
        tick().await;
        assert!(t.done());
        t.await.unwrap().unwrap();
        assert!(format!("{ev:?}").contains("set: true"));
    });
}

#[test]
fn event_wait_cancelled_leaves_no_waiter_behind() {
    // test_locks.py EventTests.test_wait_cancel
    let ev: &'static Event = leak(Event::new());
    rt(1).run(async move {
        let result = seen();
        let w = corio::spawn(async move { ev.wait().await });
        let other = corio::spawn({
            let result = result.clone();
            async move {
                ev.wait().await.unwrap();
                push(&result, 2);
            }
        });
        tick().await;
        w.cancel();
        assert_cancelled(w.await);
        assert_eq!(get(&result), [] as [u32; 0]);
        ev.set();
        other.await.unwrap();
        assert_eq!(get(&result), [2]);

        // A waiter set free by set() and cancelled before it runs: the
        // cancellation wins (asyncio: the task's `_must_cancel`).
        ev.clear();
        let w = corio::spawn(async move { ev.wait().await });
        tick().await;
        ev.set();
        w.cancel();
        tick().await;
        assert!(w.done() && w.cancelled());
        ev.wait().await.unwrap();
    });
}

#[test]
fn event_set_from_a_plain_thread_wakes_a_task_on_the_runtime() {
    rt(2).run(async {
        within("event set from a thread", async {
            let ev = Arc::new(Event::new());
            let waiters: Vec<_> = (0..4)
                .map(|i| {
                    let ev = ev.clone();
                    corio::spawn(async move {
                        ev.wait().await.unwrap();
                        i
                    })
                })
                .collect();
            let setter = std::thread::spawn({
                let ev = ev.clone();
                move || {
                    std::thread::sleep(5 * MS);
                    ev.set();
                }
            });
            let mut got = Vec::new();
            for w in waiters {
                got.push(w.await.unwrap());
            }
            setter.join().unwrap();
            assert_eq!(got, [0, 1, 2, 3]);
        })
        .await;
    });
}

// ---------------------------------------------------------------------------
// Semaphore and BoundedSemaphore
// ---------------------------------------------------------------------------

#[test]
fn semaphore_initial_value_zero_is_locked() {
    // test_locks.py SemaphoreTests.test_initial_value_zero
    assert!(Semaphore::new(0).locked());
    assert!(!Semaphore::new(1).locked());
}

#[test]
fn semaphore_acquire_counts_permits_and_queues_the_rest() {
    // test_locks.py SemaphoreTests.test_acquire
    let sem: &'static Semaphore = leak(Semaphore::new(3));
    rt(1).run(async move {
        let result = seen();
        sem.acquire().await.unwrap().forget();
        sem.acquire().await.unwrap().forget();
        assert!(!sem.locked());

        let c = |i: u32| {
            let result = result.clone();
            corio::spawn(async move {
                sem.acquire().await.unwrap().forget();
                push(&result, i);
                true
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        let t3 = c(3);
        tick().await;
        assert_eq!(get(&result), [1]);
        assert!(sem.locked());
        assert_eq!(sem.available(), 0);

        let t4 = c(4);
        sem.release();
        sem.release();
        assert_eq!(sem.available(), 0);

        tick().await;
        assert_eq!(sem.available(), 0);
        assert_eq!(get(&result).len(), 3);
        assert!(sem.locked());
        assert!(t1.done());
        let done = [&t2, &t3, &t4].iter().filter(|t| t.done()).count();
        assert_eq!(done, 2);
        assert_eq!(get(&result), [1, 2, 3], "FIFO: t4 came last");

        sem.release();
        for t in [t1, t2, t3, t4] {
            assert!(t.await.unwrap());
        }
    });
}

#[test]
fn semaphore_acquire_cancelled_while_waiting_leaves_no_trace() {
    // test_locks.py SemaphoreTests.test_acquire_cancel
    let sem: &'static Semaphore = leak(Semaphore::new(1));
    rt(1).run(async move {
        let p = sem.acquire().await.unwrap();
        let t = corio::spawn(async move { sem.acquire().await.map(|p| p.forget()) });
        tick().await;
        t.cancel();
        assert_cancelled(t.await);
        drop(p);
        assert_eq!(sem.available(), 1);
        assert!(!sem.locked());
    });
}

#[test]
fn semaphore_waiters_cancelled_before_they_are_awoken_pass_their_permit_on() {
    // test_locks.py SemaphoreTests.test_acquire_cancel_before_awoken
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    rt(1).run(async move {
        let t: Vec<_> = (0..4)
            .map(|_| corio::spawn(async move { sem.acquire().await.map(|p| p.forget()) }))
            .collect();
        tick().await;
        t[0].cancel();
        t[1].cancel();
        sem.release();
        tick().await;
        tick().await;
        let done = t[2..].iter().filter(|t| t.done()).count();
        assert_eq!(done, 1);
        assert!(t[2].done());
        assert!(!t[3].done());
        t[2].cancel();
        t[3].cancel();
        tick().await;
        let mut t = t.into_iter();
        assert_cancelled(t.next().unwrap().await);
        assert_cancelled(t.next().unwrap().await);
        t.next().unwrap().await.unwrap().unwrap();
        assert_cancelled(t.next().unwrap().await);
        assert_eq!(sem.available(), 0);
    });
}

#[test]
fn semaphore_cancelled_first_waiter_does_not_hang_the_second() {
    // test_locks.py SemaphoreTests.test_acquire_hang
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    rt(1).run(async move {
        let t1 = corio::spawn(async move { sem.acquire().await.map(|p| p.forget()) });
        let t2 = corio::spawn(async move { sem.acquire().await.map(|p| p.forget()) });
        tick().await;
        t1.cancel();
        sem.release();
        tick().await;
        tick().await;
        assert!(sem.locked());
        assert!(t2.done());
        assert_cancelled(t1.await);
        t2.await.unwrap().unwrap();
    });
}

#[test]
fn semaphore_waiter_cancelled_while_its_permit_is_released_does_not_hang_the_semaphore() {
    // test_locks.py SemaphoreTests.test_acquire_no_hang
    let sem: &'static Semaphore = leak(Semaphore::new(1));
    rt(1).run(async move {
        let slot: Arc<Mutex<Option<TaskRef>>> = Arc::default();
        let t1 = corio::spawn({
            let slot = slot.clone();
            async move {
                let _p = sem.acquire().await.unwrap();
                corio::yield_now().await.unwrap();
                slot.lock().unwrap().take().unwrap().cancel();
            }
        });
        let got = Arc::new(AtomicBool::new(false));
        let t2 = corio::spawn({
            let got = got.clone();
            async move {
                let _p = sem.acquire().await?;
                got.store(true, Ordering::SeqCst);
                Ok::<_, Cancelled>(())
            }
        });
        *slot.lock().unwrap() = Some(t2.task_ref());
        t1.await.unwrap();
        assert_cancelled(t2.await);
        assert!(!got.load(Ordering::SeqCst), "t2 got the permit");
        let p = corio::timeout(Duration::from_secs(1), sem.acquire())
            .await
            .expect("the semaphore hangs")
            .unwrap();
        drop(p);
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn semaphore_release_without_waiters_unlocks() {
    // test_locks.py SemaphoreTests.test_release_no_waiters
    let sem = Semaphore::new(1);
    sem.try_acquire().unwrap().forget();
    assert!(sem.locked());
    sem.release();
    assert!(!sem.locked());
}

#[test]
fn semaphore_waiters_take_turns_in_fifo_order() {
    // test_locks.py SemaphoreTests.test_acquire_fifo_order
    let sem: &'static Semaphore = leak(Semaphore::new(1));
    let result = rt(1).run(async move {
        let result = seen();
        let coro = |tag: u32| {
            let result = result.clone();
            corio::spawn(async move {
                sem.acquire().await.unwrap().forget();
                push(&result, tag * 10 + 1);
                corio::sleep(MS).await.unwrap();
                sem.release();

                sem.acquire().await.unwrap().forget();
                push(&result, tag * 10 + 2);
                corio::sleep(MS).await.unwrap();
                sem.release();
            })
        };
        let tasks = [coro(1), coro(2), coro(3)];
        for t in tasks {
            t.await.unwrap();
        }
        get(&result)
    });
    assert_eq!(result, [11, 21, 31, 12, 22, 32]);
}

#[test]
fn semaphore_fifo_order_2_a_release_and_reacquire_queues_at_the_back() {
    // test_locks.py SemaphoreTests.test_acquire_fifo_order_2
    let sem: &'static Semaphore = leak(Semaphore::new(1));
    let result = rt(1).run(async move {
        let result = seen();
        let r = result.clone();
        let t1 = corio::spawn(async move {
            sem.acquire().await.unwrap().forget();
            push(&r, 1);
            true
        });
        let r = result.clone();
        let t2 = corio::spawn(async move {
            sem.acquire().await.unwrap().forget();
            push(&r, 2);
            sem.release();
            sem.acquire().await.unwrap().forget();
            push(&r, 4);
            true
        });
        let r = result.clone();
        let t3 = corio::spawn(async move {
            sem.acquire().await.unwrap().forget();
            push(&r, 3);
            true
        });
        tick().await;
        sem.release();
        sem.release();
        for t in [t1, t2, t3] {
            assert!(t.await.unwrap());
        }
        get(&result)
    });
    assert_eq!(result, [1, 2, 3, 4]);
}

#[test]
fn semaphore_fifo_order_3_a_cancelled_waiter_is_skipped() {
    // test_locks.py SemaphoreTests.test_acquire_fifo_order_3
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    let result = rt(1).run(async move {
        let result = seen();
        let c = |i: u32| {
            let r = result.clone();
            corio::spawn(async move {
                sem.acquire().await?.forget();
                push(&r, i);
                Ok::<_, Cancelled>(true)
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        let t3 = c(3);
        tick().await;
        t1.cancel();
        tick().await;
        sem.release();
        sem.release();
        assert_cancelled(t1.await);
        assert!(t2.await.unwrap().unwrap());
        assert!(t3.await.unwrap().unwrap());
        get(&result)
    });
    assert_eq!(result, [2, 3]);
}

#[test]
fn semaphore_fifo_order_4_a_granted_waiter_wakes_as_many_as_the_permits_allow() {
    // test_locks.py SemaphoreTests.test_acquire_fifo_order_4
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    let result = rt(1).run(async move {
        let result = seen();
        let t4: Arc<Mutex<Option<Task<bool>>>> = Arc::default();

        let (r, slot) = (result.clone(), t4.clone());
        let t1 = corio::spawn(async move {
            // First task immediately waits for the semaphore; c2 wakes it.
            assert_eq!(sem.available(), 0);
            sem.acquire().await.unwrap().forget();
            // It has woken up every waiting task now.
            assert_eq!(sem.available(), 0);
            // A fourth task: it runs after c3, not c2.
            let r4 = r.clone();
            *slot.lock().unwrap() = Some(corio::spawn(async move {
                push(&r4, 4);
                true
            }));
            push(&r, 1);
            true
        });
        let r = result.clone();
        let t2 = corio::spawn(async move {
            // Releases three times, for c1, c2 and c3.
            sem.release();
            sem.release();
            sem.release();
            assert_eq!(sem.available(), 2);
            // Locked: c1 has not woken up yet.
            assert!(sem.locked());
            sem.acquire().await.unwrap().forget();
            push(&r, 2);
            true
        });
        let r = result.clone();
        let t3 = corio::spawn(async move {
            sem.acquire().await.unwrap().forget();
            assert!(sem.locked());
            push(&r, 3);
            true
        });

        tick().await;
        // Three tasks are in the queue; the first has not woken up yet.
        assert_eq!(sem.available(), 2);
        assert!(sem.locked());
        tick().await;

        let t4 = t4.lock().unwrap().take().expect("c1 created c4");
        for t in [t1, t2, t3, t4] {
            assert!(t.await.unwrap());
        }
        get(&result)
    });
    assert_eq!(result, [1, 2, 3, 4]);
}

#[test]
fn semaphore_acquire_many_at_the_head_is_not_starved_by_smaller_requests_behind_it() {
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    rt(1).run(async move {
        let result = seen();
        let r = result.clone();
        let a = corio::spawn(async move {
            let p = sem.acquire_many(3).await.unwrap();
            assert_eq!(p.count(), 3);
            p.forget();
            push(&r, 3);
        });
        tick().await;
        let r = result.clone();
        let b = corio::spawn(async move {
            sem.acquire().await.unwrap().forget();
            push(&r, 1);
        });
        tick().await;

        sem.release(); // 1 permit: not enough for A, and B must not overtake
        ticks(3).await;
        assert_eq!(get(&result), [] as [u32; 0]);
        assert!(!a.done() && !b.done());
        assert_eq!(sem.available(), 1);
        assert!(sem.locked(), "tasks wait");
        assert!(sem.try_acquire().is_none(), "a newcomer queues too");

        sem.add_permits(2); // 3: A gets them
        ticks(2).await;
        assert_eq!(get(&result), [3]);
        assert!(a.done() && !b.done());
        assert_eq!(sem.available(), 0);

        sem.release(); // then B
        tick().await;
        assert_eq!(get(&result), [3, 1]);
        a.await.unwrap();
        b.await.unwrap();
    });
}

#[test]
fn semaphore_head_waiter_leaving_lets_the_next_one_take_the_free_permits() {
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    rt(1).run(async move {
        let a = corio::spawn(async move { sem.acquire_many(3).await.map(|p| p.forget()) });
        let b = corio::spawn(async move { sem.acquire().await.map(|p| p.count()) });
        tick().await;
        sem.release(); // 1 free, A (asking 3) blocks the line
        tick().await;
        assert!(!b.done());
        a.cancel(); // A leaves the head: B gets the free permit
        ticks(2).await;
        assert_cancelled(a.await);
        assert!(b.done());
        assert_eq!(b.await.unwrap().unwrap(), 1);
        assert_eq!(sem.available(), 1, "B's permit came back when it dropped");
        assert!(!sem.locked());
    });
}

#[test]
fn semaphore_waiter_cancelled_after_it_was_granted_permits_returns_them() {
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    rt(1).run(async move {
        // Nobody else waits: the permits go back to the semaphore.
        let a = corio::spawn(async move { sem.acquire_many(2).await.map(|p| p.forget()) });
        tick().await;
        sem.add_permits(2); // granted to A
        assert_eq!(sem.available(), 0);
        assert!(sem.try_acquire().is_none());
        a.cancel();
        tick().await;
        assert_cancelled(a.await);
        assert_eq!(sem.available(), 2);
        assert!(!sem.locked());
        sem.try_acquire_many(2).unwrap().forget();

        // The next waiter gets them.
        let a = corio::spawn(async move { sem.acquire_many(2).await.map(|p| p.forget()) });
        let b = corio::spawn(async move { sem.acquire_many(2).await.map(|p| p.count()) });
        tick().await;
        sem.add_permits(2); // granted to A
        a.cancel();
        tick().await; // A returns them, B is granted them
        assert_cancelled(a.await);
        assert_eq!(sem.available(), 0);
        assert_eq!(b.await.unwrap().unwrap(), 2);
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn semaphore_waiter_aborted_after_it_was_granted_permits_returns_them() {
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    rt(1).run(async move {
        let a = corio::spawn(async move { sem.acquire().await.map(|p| p.forget()) });
        let b = corio::spawn(async move { sem.acquire().await.map(|p| p.count()) });
        tick().await;
        sem.release(); // granted to A
        a.abort();
        assert_cancelled(a.await);
        assert_eq!(b.await.unwrap().unwrap(), 1);
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn semaphore_newcomer_does_not_take_a_permit_granted_to_a_woken_waiter() {
    let sem: &'static Semaphore = leak(Semaphore::new(1));
    rt(1).run(async move {
        let result = seen();
        let p = sem.acquire().await.unwrap();
        let r = result.clone();
        let a = corio::spawn(async move {
            let _p = sem.acquire().await.unwrap();
            push(&r, 1);
        });
        tick().await;
        let r = result.clone();
        let newcomer = corio::spawn(async move {
            let _p = sem.acquire().await.unwrap();
            push(&r, 2);
        });
        drop(p); // granted to A, which has not run
        assert!(sem.locked());
        assert!(sem.try_acquire().is_none());
        newcomer.await.unwrap(); // runs first, but queues behind A
        a.await.unwrap();
        assert_eq!(get(&result), [1, 2]);
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn semaphore_locked_means_a_newcomer_would_wait() {
    let sem: &'static Semaphore = leak(Semaphore::new(2));
    rt(1).run(async move {
        assert!(!sem.locked());
        let p = sem.try_acquire_many(2).unwrap();
        assert!(sem.locked());
        drop(p);
        assert!(!sem.locked());

        let p1 = sem.try_acquire().unwrap();
        assert!(!sem.locked(), "one permit is free and nobody waits");
        let w = corio::spawn(async move { sem.acquire_many(2).await.map(|p| p.count()) });
        tick().await;
        assert_eq!(sem.available(), 1);
        assert!(sem.locked(), "someone waits: a newcomer would queue");
        assert!(sem.try_acquire().is_none());
        drop(p1);
        assert_eq!(w.await.unwrap().unwrap(), 2);
        assert!(!sem.locked());
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn semaphore_permits_are_returned_on_drop_kept_by_forget_and_added_by_release() {
    let sem = Semaphore::new(2);
    let p = sem.try_acquire_many(2).unwrap();
    assert_eq!(p.count(), 2);
    assert!(format!("{p:?}").contains("count: 2"));
    assert_eq!(sem.available(), 0);
    assert!(sem.try_acquire_many(1).is_none());
    drop(p);
    assert_eq!(sem.available(), 2);
    assert!(sem.try_acquire_many(3).is_none());

    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.available(), 1);
    sem.release();
    assert_eq!(sem.available(), 2);
    sem.add_permits(3);
    assert_eq!(sem.available(), 5);
    let p = sem.try_acquire_many(5).unwrap();
    assert!(sem.locked());
    drop(p);
    assert_eq!(sem.available(), 5);
}

#[test]
fn semaphore_owned_permit_moves_into_another_task() {
    rt(1).run(async {
        let sem = Arc::new(Semaphore::new(1));
        let p = sem.clone().acquire_owned().await.unwrap();
        assert_eq!(p.count(), 1);
        assert!(sem.locked());
        let waiter = corio::spawn({
            let sem = sem.clone();
            async move { sem.acquire_owned().await.map(|p| p.count()) }
        });
        let holder = corio::spawn(async move {
            corio::yield_now().await.unwrap();
            drop(p); // released from another task
        });
        holder.await.unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), 1);
        assert_eq!(sem.available(), 1);

        let p = sem.clone().acquire_many_owned(1).await.unwrap();
        let t = corio::spawn(async move { p.forget() });
        t.await.unwrap();
        assert_eq!(sem.available(), 0);
        sem.release();
        assert_eq!(sem.available(), 1);
    });
}

#[test]
fn bounded_semaphore_release_beyond_its_initial_value_is_too_many_releases() {
    // test_locks.py SemaphoreTests.test_release_not_acquired
    let sem: &'static BoundedSemaphore = leak(BoundedSemaphore::new(2));
    let err = sem.release().unwrap_err();
    assert!(
        err.to_string()
            .contains("BoundedSemaphore released too many times"),
        "{err}"
    );
    rt(1).run(async move {
        sem.acquire().await.unwrap().forget();
        sem.try_acquire().unwrap().forget();
        assert!(sem.locked());
        assert_eq!(sem.available(), 0);
        sem.release().unwrap();
        sem.release().unwrap();
        assert_eq!(sem.available(), 2);
        assert!(sem.release().is_err());
        assert_eq!(sem.available(), 2);

        // Permits dropped normally do not count as releases.
        let p = sem.acquire().await.unwrap();
        drop(p);
        assert!(sem.release().is_err());
        assert_eq!(sem.available(), 2);

        // A waiting acquire gets a forgotten-and-released permit.
        sem.try_acquire().unwrap().forget();
        sem.try_acquire().unwrap().forget();
        let w = corio::spawn(async move { sem.acquire().await.map(|p| p.forget()) });
        tick().await;
        assert!(!w.done());
        sem.release().unwrap();
        w.await.unwrap().unwrap();
        sem.release().unwrap();
        sem.release().unwrap();
        assert!(sem.release().is_err());
        assert_eq!(sem.available(), 2);
    });
}

#[test]
fn bounded_semaphore_never_holds_more_than_its_initial_value() {
    // BoundedSemaphore's contract: "a semaphore with `permits` permits that
    // never holds more"; release() beyond it is an error "instead of a
    // silent extra permit". Here release() is called while the permit is
    // still held (not forgotten), and then the permit is dropped: that is
    // one release too many (asyncio: the second release raises
    // ValueError). Either the early release() must fail, or the semaphore
    // must not end up above its bound.
    let sem = BoundedSemaphore::new(1);
    let p = sem.try_acquire().unwrap();
    let early = sem.release();
    drop(p);
    assert!(
        sem.available() <= 1,
        "BoundedSemaphore(1) holds {} permits after release() ({early:?}) and a permit drop",
        sem.available()
    );
    assert!(
        sem.release().is_err(),
        "a further release() succeeds: available() = {}",
        sem.available()
    );
    assert!(sem.available() <= 1, "available() = {}", sem.available());
}

#[test]
fn semaphore_acquire_many_that_must_wait_for_more_than_u32_max_panics_when_awaited() {
    // Semaphore::acquire_many's docs: "# Panics: When awaited and it has to
    // wait, if `n` is more than `u32::MAX`". Before that check, such a
    // request (e.g. MAX_PERMITS + 1, which can never be served) waited
    // forever at the head of the line and every acquire behind it too.
    for n in [u32::MAX as usize + 1, MAX_PERMITS + 1] {
        rt(1).run(async move {
            let sem = Arc::new(Semaphore::new(1));
            let t = corio::spawn({
                let sem = sem.clone();
                async move { sem.acquire_many(n).await.map(|p| p.count()) }
            });
            ticks(2).await;
            let done = t.done();
            let locked = sem.locked();
            if !done {
                t.abort();
            }
            let out = t.await;
            assert!(
                done && matches!(&out, Err(e) if e.is_panic()),
                "acquire_many({n}) did not panic: the task {} ({out:?}); meanwhile \
                 locked() = {locked}: every acquire behind the request waited too",
                if done {
                    "finished"
                } else {
                    "was still waiting"
                },
            );
            // The failed request must not leave the semaphore blocked: its
            // one permit is free and nobody waits, so a newcomer's acquire
            // completes at once.
            assert_eq!(sem.available(), 1);
            let newcomer = corio::spawn({
                let sem = sem.clone();
                async move { sem.acquire().await.map(|p| p.count()) }
            });
            ticks(2).await;
            let newcomer_done = newcomer.done();
            let locked = sem.locked();
            if !newcomer_done {
                newcomer.abort();
            }
            assert!(
                newcomer_done,
                "after acquire_many({n}) panicked, acquire() waits although 1 permit is free \
                 and nobody waits (locked() = {locked}, try_acquire() fails): the panic left \
                 the semaphore's WAITERS bit set with an empty wait list"
            );
            assert_eq!(newcomer.await.unwrap().unwrap(), 1);
            assert!(!sem.locked());
            assert_eq!(sem.try_acquire().map(|p| p.count()), Some(1));
        });
    }
    // Up to u32::MAX, a request that can be served at once is served.
    rt(1).run(async {
        let sem = Semaphore::new(u32::MAX as usize);
        let p = sem.acquire_many(u32::MAX as usize).await.unwrap();
        assert_eq!(p.count(), u32::MAX as usize);
        assert_eq!(sem.available(), 0);
    });
}

#[test]
#[should_panic(expected = "more than MAX_PERMITS")]
fn semaphore_with_more_than_max_permits_panics() {
    let _ = Semaphore::new(MAX_PERMITS + 1);
}

#[test]
#[should_panic(expected = "past MAX_PERMITS")]
fn semaphore_add_permits_past_max_permits_panics() {
    let sem = Semaphore::new(MAX_PERMITS);
    sem.add_permits(1);
}

// ---------------------------------------------------------------------------
// Condition
// ---------------------------------------------------------------------------

#[test]
fn condition_wait_releases_the_lock_and_takes_it_back_before_returning() {
    // test_locks.py ConditionTests.test_wait
    let cond: &'static Condition = leak(Condition::new(()));
    rt(1).run(async move {
        let result = seen();
        let held: Held = Held::default();
        let c = |i: u32| {
            let (result, held) = (result.clone(), held.clone());
            corio::spawn(async move {
                let g = cond.acquire().await.unwrap();
                let g = cond.wait(g).await.unwrap();
                assert!(cond.locked());
                push(&result, i);
                held.lock().unwrap().push(g);
                true
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        let t3 = c(3);

        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);
        assert!(!cond.locked(), "wait() released the lock");

        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);
        assert!(cond.locked());

        drop(g); // cond.release()
        tick().await;
        assert_eq!(get(&result), [1]);
        assert!(cond.locked());

        cond.notify(2).unwrap(); // t1 holds the lock
        tick().await;
        assert_eq!(get(&result), [1]);
        assert!(cond.locked());

        release(&held);
        tick().await;
        assert_eq!(get(&result), [1, 2]);
        assert!(cond.locked());

        release(&held);
        tick().await;
        assert_eq!(get(&result), [1, 2, 3]);
        assert!(cond.locked());

        for t in [t1, t2, t3] {
            assert!(t.await.unwrap());
        }
        release(&held);
        assert!(!cond.locked());
    });
}

#[test]
fn condition_wait_cancelled_takes_the_lock_back_and_the_error_carries_the_guard() {
    // test_locks.py ConditionTests.test_wait_cancel
    let cond: &'static Condition<u32> = leak(Condition::new(7));
    rt(1).run(async move {
        let g = cond.acquire().await.unwrap();
        let task = corio::spawn(async move {
            match cond.wait(g).await {
                Ok(_) => panic!("not notified"),
                Err(mut e) => {
                    assert!(cond.locked(), "the lock is taken back first");
                    assert_eq!(*e.guard, 7);
                    *e.guard = 8;
                    assert!(e.to_string().contains("the lock is held again"), "{e}");
                    Err::<(), _>(e.cancelled)
                }
            }
        });
        tick().await;
        assert!(!cond.locked(), "the waiter released the lock");
        task.cancel();
        assert_cancelled(task.await);
        // The guard went with the error: the lock is free, with the data.
        assert!(!cond.locked());
        assert_eq!(*cond.try_acquire().unwrap(), 8);

        // `?` turns the error into Cancelled and releases the lock.
        let task = corio::spawn(async move {
            let g = cond.acquire().await?;
            let _g = cond.wait(g).await?;
            Ok::<_, Cancelled>(())
        });
        tick().await;
        task.cancel();
        assert_cancelled(task.await);
        assert!(!cond.locked());

        // No waiter was left behind: a notify goes to a new waiter.
        let w = corio::spawn(async move {
            let g = cond.acquire().await.unwrap();
            *cond.wait(g).await.unwrap()
        });
        tick().await;
        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        drop(g);
        assert_eq!(w.await.unwrap(), 8);
    });
}

#[test]
fn condition_wait_cancelled_while_the_lock_is_contested_returns_with_the_lock_held() {
    // test_locks.py ConditionTests.test_wait_cancel_contested
    let cond: &'static Condition = leak(Condition::new(()));
    rt(1).run(async move {
        let g = cond.acquire().await.unwrap();
        assert!(cond.locked());
        let wait_task = corio::spawn(async move {
            let locked = match cond.wait(g).await {
                Ok(_g) => cond.locked(),
                Err(e) => {
                    let locked = cond.locked();
                    drop(e.guard);
                    locked
                }
            };
            assert!(locked, "wait() returned without the lock");
        });
        tick().await;
        assert!(!cond.locked());

        // Notify, but contest the lock before cancelling.
        let g = cond.acquire().await.unwrap();
        assert!(cond.locked());
        cond.notify(1).unwrap();
        wait_task.cancel();
        drop(g);
        let r = wait_task.await;
        assert!(r.is_ok() || r.unwrap_err().is_cancelled());
        assert!(!cond.locked());
    });
}

#[test]
fn condition_waiter_cancelled_after_notify_ends_cancelled() {
    // test_locks.py ConditionTests.test_wait_cancel_after_notify (bpo-32841)
    let cond: &'static Condition = leak(Condition::new(()));
    rt(1).run(async move {
        let waited = Arc::new(AtomicBool::new(false));
        let w = waited.clone();
        let waiter = corio::spawn(async move {
            let g = cond.acquire().await?;
            w.store(true, Ordering::SeqCst);
            let _g = cond.wait(g).await?;
            Ok::<_, Cancelled>(())
        });
        tick().await; // start waiting

        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        tick().await; // get to acquire()
        waiter.cancel();
        tick().await; // activate the cancellation
        drop(g);
        tick().await; // the cancellation occurs

        assert!(waiter.done() && waiter.cancelled());
        assert!(waited.load(Ordering::SeqCst));
        assert!(!cond.locked());
    });
}

#[test]
fn condition_wait_for_waits_until_the_predicate_holds() {
    // test_locks.py ConditionTests.test_wait_for
    let cond: &'static Condition<bool> = leak(Condition::new(false));
    rt(1).run(async move {
        let result = seen();
        let r = result.clone();
        let t = corio::spawn(async move {
            let g = cond.acquire().await.unwrap();
            let g = cond.wait_for(g, |presult| *presult).await.unwrap();
            assert!(*g);
            push(&r, 1);
            drop(g);
            true
        });
        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);

        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        drop(g);
        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);

        let mut g = cond.acquire().await.unwrap();
        *g = true; // presult = True
        cond.notify(1).unwrap();
        drop(g);
        tick().await;
        assert_eq!(get(&result), [1]);
        assert!(t.done());
        assert!(t.await.unwrap());

        // A predicate that already holds returns at once, with the lock.
        let g = cond.acquire().await.unwrap();
        let g = cond.wait_for(g, |b| *b).await.unwrap();
        assert!(cond.locked());
        drop(g);
        assert!(!cond.locked());
    });
}

#[test]
fn condition_notify_wakes_exactly_n_waiters_in_fifo_order() {
    // test_locks.py ConditionTests.test_notify
    let cond: &'static Condition = leak(Condition::new(()));
    rt(1).run(async move {
        let result = seen();
        let c = |i: u32| {
            let r = result.clone();
            corio::spawn(async move {
                let g = cond.acquire().await.unwrap();
                let g = cond.wait(g).await.unwrap();
                push(&r, i);
                drop(g);
                true
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        let t3 = c(3);
        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);

        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        drop(g);
        tick().await;
        assert_eq!(get(&result), [1]);

        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        cond.notify(2048).unwrap();
        drop(g);
        tick().await;
        assert_eq!(get(&result), [1, 2, 3]);
        for t in [t1, t2, t3] {
            assert!(t.await.unwrap());
        }

        // notify(n) with more waiters than n: exactly n, the first ones.
        let result = seen();
        let tasks: Vec<_> = (0..5u32)
            .map(|i| {
                let r = result.clone();
                corio::spawn(async move {
                    let g = cond.acquire().await.unwrap();
                    let _g = cond.wait(g).await.unwrap();
                    push(&r, i);
                })
            })
            .collect();
        tick().await;
        for (n, expected) in [(2, vec![0, 1]), (0, vec![0, 1]), (2, vec![0, 1, 2, 3])] {
            let g = cond.acquire().await.unwrap();
            cond.notify(n).unwrap();
            drop(g);
            ticks(3).await;
            assert_eq!(get(&result), expected, "after notify({n})");
        }
        let g = cond.acquire().await.unwrap();
        cond.notify(2).unwrap(); // one waiter left
        drop(g);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(get(&result), [0, 1, 2, 3, 4]);
    });
}

#[test]
fn condition_notify_all_wakes_every_waiter() {
    // test_locks.py ConditionTests.test_notify_all
    let cond: &'static Condition = leak(Condition::new(()));
    rt(1).run(async move {
        let result = seen();
        let c = |i: u32| {
            let r = result.clone();
            corio::spawn(async move {
                let g = cond.acquire().await.unwrap();
                let _g = cond.wait(g).await.unwrap();
                push(&r, i);
                true
            })
        };
        let t1 = c(1);
        let t2 = c(2);
        tick().await;
        assert_eq!(get(&result), [] as [u32; 0]);

        let g = cond.acquire().await.unwrap();
        cond.notify_all().unwrap();
        drop(g);
        tick().await;
        assert_eq!(get(&result), [1, 2]);
        assert!(t1.await.unwrap() && t2.await.unwrap());
    });
}

#[test]
fn condition_notify_without_the_lock_held_is_an_error() {
    // test_locks.py ConditionTests.test_notify_unacquired,
    // test_notify_all_unacquired
    let cond = Condition::new(());
    assert_eq!(cond.notify(1), Err(NotifyUnlocked));
    assert_eq!(cond.notify_all(), Err(NotifyUnlocked));
    assert!(NotifyUnlocked.to_string().contains("un-acquired lock"));
    let g = cond.try_acquire().unwrap();
    assert_eq!(cond.notify(1), Ok(()));
    assert_eq!(cond.notify_all(), Ok(()));
    drop(g);
    assert!(cond.notify(1).is_err());
    assert!(!cond.lock().locked());
    assert!(format!("{cond:?}").contains("locked: false"));
}

#[test]
fn condition_wait_with_the_guard_of_another_lock_panics_with_a_message() {
    fn message(p: Box<dyn std::any::Any + Send>) -> String {
        match p.downcast::<String>() {
            Ok(s) => *s,
            Err(p) => p.downcast::<&'static str>().map(|s| s.to_string()).unwrap(),
        }
    }
    let a = Condition::new(());
    let b = Condition::new(());
    let other = Lock::new(());
    for guard in [b.try_acquire().unwrap(), other.try_acquire().unwrap()] {
        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _w = a.wait(guard);
        }))
        .unwrap_err();
        let msg = message(p);
        assert!(msg.contains("guard of another lock"), "{msg}");
    }
    // The guards were dropped with the panic: both locks are free.
    assert!(!b.locked() && !other.locked() && !a.locked());
}

#[test]
fn condition_notified_waiter_cancelled_before_it_runs_passes_the_notification_on() {
    // asyncio 3.13: notify(1) with waiters A and B; A is cancelled after
    // the notify, before it runs: B must wake.
    let cond: &'static Condition = leak(Condition::new(()));
    rt(1).run(async move {
        let result = seen();
        let c = |i: u32| {
            let r = result.clone();
            corio::spawn(async move {
                let g = cond.acquire().await.unwrap();
                match cond.wait(g).await {
                    Ok(_g) => {
                        push(&r, i);
                        Ok(())
                    }
                    Err(e) => {
                        assert!(cond.locked());
                        push(&r, 100 + i);
                        Err(e.cancelled)
                    }
                }
            })
        };
        let a = c(1);
        let b = c(2);
        tick().await;

        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        a.cancel();
        drop(g);
        ticks(3).await;
        assert_eq!(get(&result), [101, 2]);
        assert_cancelled(a.await);
        b.await.unwrap().unwrap();
        assert!(!cond.locked());
    });
}

#[test]
fn condition_notified_waiter_aborted_before_it_runs_passes_the_notification_on() {
    let cond: &'static Condition = leak(Condition::new(()));
    rt(1).run(async move {
        let result = seen();
        let c = |i: u32| {
            let r = result.clone();
            corio::spawn(async move {
                let g = cond.acquire().await.unwrap();
                let _g = cond.wait(g).await.unwrap();
                push(&r, i);
            })
        };
        let a = c(1);
        let b = c(2);
        tick().await;
        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        a.abort();
        drop(g);
        b.await.unwrap();
        assert_cancelled(a.await);
        assert_eq!(get(&result), [2]);
    });
}

#[test]
fn condition_cancelled_wakeup_is_not_lost() {
    // test_locks.py ConditionTests.test_cancelled_wakeup
    let cond: &'static Condition<i32> = leak(Condition::new(0));
    rt(1).run(async move {
        let consumer = || {
            corio::spawn(async move {
                let mut g = cond.acquire().await?;
                loop {
                    g = cond.wait_for(g, |state| *state != 0).await?;
                    if *g < 0 {
                        return Ok::<_, Cancelled>(());
                    }
                    *g -= 1;
                }
            })
        };
        let c0 = consumer();
        let c1 = consumer();
        tick().await; // let them settle

        let mut g = cond.acquire().await.unwrap();
        *g += 1; // produce one item and wake up one consumer
        cond.notify(1).unwrap();
        c0.cancel(); // cancelled while it waits to run

        // Wait for the item to be consumed.
        let _ = corio::timeout(10 * MS, cond.wait_for(g, |state| *state == 0)).await;
        let mut g = cond.acquire().await.unwrap();
        assert_eq!(*g, 0, "the notification was lost with the cancelled waiter");

        *g = -1; // clean up
        cond.notify_all().unwrap();
        drop(g);
        c1.await.unwrap().unwrap();
        assert_cancelled(c0.await);
    });
}

#[test]
fn condition_cancelled_wakeup_while_retaking_the_lock_is_not_lost() {
    // test_locks.py ConditionTests.test_cancelled_wakeup_relock
    let cond: &'static Condition<i32> = leak(Condition::new(0));
    rt(1).run(async move {
        let consumer = || {
            corio::spawn(async move {
                let mut g = cond.acquire().await?;
                loop {
                    g = cond.wait_for(g, |state| *state != 0).await?;
                    if *g < 0 {
                        return Ok::<_, Cancelled>(());
                    }
                    *g -= 1;
                }
            })
        };
        let c0 = consumer();
        let c1 = consumer();
        tick().await;

        let mut g = cond.acquire().await.unwrap();
        *g += 1;
        cond.notify(1).unwrap();
        // c0 wakes up and settles on re-acquiring the lock.
        tick().await;
        c0.cancel(); // cancelled while it waits for the lock

        let _ = corio::timeout(10 * MS, cond.wait_for(g, |state| *state == 0)).await;
        let mut g = cond.acquire().await.unwrap();
        assert_eq!(*g, 0, "the notification was lost with the cancelled waiter");

        *g = -1;
        cond.notify_all().unwrap();
        drop(g);
        c1.await.unwrap().unwrap();
        assert_cancelled(c0.await);
    });
}

#[test]
fn condition_wait_for_cancelled_while_waiting_returns_the_cancellation_unmodified() {
    // test_locks.py ConditionTests.test_cancelled_error_wakeup
    let cond: &'static Condition<bool> = leak(Condition::new(false));
    rt(1).run(async move {
        let raised: Arc<Mutex<Option<String>>> = Arc::default();
        let r = raised.clone();
        let task = corio::spawn(async move {
            let g = cond.acquire().await?;
            match cond.wait_for(g, |wake| *wake).await {
                Ok(_) => panic!("wait_for returned without a notify"),
                Err(e) => {
                    assert!(cond.locked());
                    *r.lock().unwrap() = e.cancelled.message().map(String::from);
                    Err::<(), _>(e.cancelled)
                }
            }
        });
        tick().await;
        task.cancel_with("foo");
        match task.await {
            Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("foo")),
            other => panic!("expected cancelled, got {other:?}"),
        }
        assert_eq!(raised.lock().unwrap().as_deref(), Some("foo"));
        assert!(!cond.locked());
    });
}

#[test]
fn condition_wait_cancelled_while_retaking_the_lock_returns_cancelled_with_the_guard() {
    // test_locks.py ConditionTests.test_cancelled_error_re_aquire: the task
    // is notified, and cancelled while it waits to take the lock back. In
    // asyncio 3.13 wait() takes the lock back and then raises the
    // CancelledError (and passes the notification on). corio's module docs
    // say the same: "Every `.await` on them is a corio cancellation point:
    // it returns `Err(Cancelled)` ... when the task has a cancellation
    // request not yet delivered".
    let cond: &'static Condition<bool> = leak(Condition::new(false));
    rt(1).run(async move {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let l = log.clone();
        let task = corio::spawn(async move {
            let g = cond.acquire().await?;
            match cond.wait_for(g, |wake| *wake).await {
                Ok(_g) => {
                    l.lock().unwrap().push("wait_for returned Ok".into());
                    Ok(())
                }
                Err(e) => {
                    l.lock().unwrap().push(format!(
                        "cancelled: {:?}, locked: {}",
                        e.cancelled.message(),
                        cond.locked()
                    ));
                    Err(e.cancelled)
                }
            }
        });
        tick().await; // waiting on the condition

        let mut g = cond.acquire().await.unwrap();
        *g = true; // wake = True
        cond.notify(1).unwrap();
        tick().await; // the task now waits to take the lock back
        task.cancel_with("foo");
        drop(g);
        match task.await {
            Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("foo")),
            other => panic!("expected cancelled, got {other:?}"),
        }
        assert_eq!(
            *log.lock().unwrap(),
            ["cancelled: Some(\"foo\"), locked: true"],
            "wait_for() did not deliver the cancellation that arrived while it was taking \
             the lock back"
        );
    });
}

#[test]
fn condition_wait_inside_a_timeout_times_out_and_leaves_no_waiter() {
    // test_locks.py ConditionTests.test_timeout_in_block
    let cond: &'static Condition = leak(Condition::new(()));
    rt(1).run(async move {
        let g = cond.acquire().await.unwrap();
        let r = corio::timeout(10 * MS, cond.wait(g)).await;
        assert!(r.is_err(), "the wait timed out");
        drop(r); // the guard went with the output
        assert!(!cond.locked());
        // No stale waiter swallows a notification.
        let w = corio::spawn(async move {
            let g = cond.acquire().await.unwrap();
            let _g = cond.wait(g).await.unwrap();
        });
        tick().await;
        let g = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        drop(g);
        w.await.unwrap();
    });
}

#[test]
fn condition_producer_and_consumers_on_two_workers_lose_no_item() {
    const ITEMS: u64 = 2000;
    rt(2).run(async {
        within("condition producer/consumers", async {
            let cond = Arc::new(Condition::new((std::collections::VecDeque::new(), false)));
            let sum = Arc::new(AtomicU64::new(0));
            let count = Arc::new(AtomicU64::new(0));
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let (cond, sum, count) = (cond.clone(), sum.clone(), count.clone());
                    corio::spawn(async move {
                        loop {
                            let g = cond.acquire().await.unwrap();
                            let mut g = cond
                                .wait_for(g, |(q, closed)| !q.is_empty() || *closed)
                                .await
                                .unwrap();
                            match g.0.pop_front() {
                                Some(x) => {
                                    sum.fetch_add(x, Ordering::Relaxed);
                                    count.fetch_add(1, Ordering::Relaxed);
                                }
                                None => return,
                            }
                        }
                    })
                })
                .collect();
            for i in 0..ITEMS {
                let mut g = cond.acquire().await.unwrap();
                g.0.push_back(i);
                cond.notify(1).unwrap();
                drop(g);
                if i % 16 == 0 {
                    corio::yield_now().await.unwrap();
                }
            }
            let mut g = cond.acquire().await.unwrap();
            g.1 = true;
            cond.notify_all().unwrap();
            drop(g);
            for c in consumers {
                c.await.unwrap();
            }
            assert_eq!(count.load(Ordering::Relaxed), ITEMS);
            assert_eq!(sum.load(Ordering::Relaxed), ITEMS * (ITEMS - 1) / 2);
        })
        .await;
    });
}

// ---------------------------------------------------------------------------
// Barrier
// ---------------------------------------------------------------------------

const N: usize = 5;

/// Spawns `n` tasks running `coro()` and awaits them all, in order.
async fn gather_tasks<F, Fut>(n: usize, coro: F) -> Vec<Fut::Output>
where
    F: Fn() -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| corio::spawn(coro())).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn phase(b: &Barrier) -> String {
    format!("{b:?}")
}

#[test]
fn barrier_indices_follow_arrival_order_and_the_last_to_arrive_does_not_wait() {
    let barrier: &'static Barrier = leak(Barrier::new(N));
    assert_eq!(barrier.parties(), N);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
    rt(1).run(async move {
        let order: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let order = order.clone();
                corio::spawn(async move {
                    let index = barrier.wait().await.unwrap();
                    order.lock().unwrap().push((i, index));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // The last to arrive returned at once, before the others ran.
        assert_eq!(
            *order.lock().unwrap(),
            [(4, 4), (0, 0), (1, 1), (2, 2), (3, 3)]
        );
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());

        // The main task arriving last does not suspend: the others, woken,
        // have not run yet when its wait returns.
        let b: &'static Barrier = leak(Barrier::new(3));
        let t1 = corio::spawn(async move { b.wait().await.unwrap() });
        let t2 = corio::spawn(async move { b.wait().await.unwrap() });
        tick().await;
        assert_eq!(b.n_waiting(), 2);
        assert_eq!(b.wait().await.unwrap(), 2);
        assert!(!t1.done() && !t2.done());
        assert_eq!((t1.await.unwrap(), t2.await.unwrap()), (0, 1));
    });
}

#[test]
fn barrier_with_one_party_never_waits() {
    // test_locks.py BarrierTests.test_filling_one_task, _twice
    let barrier: &'static Barrier = leak(Barrier::new(1));
    rt(1).run(async move {
        assert_eq!(barrier.wait().await.unwrap(), 0);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());

        let t1 = corio::spawn(async move { barrier.wait().await.unwrap() });
        tick().await;
        assert_eq!(barrier.n_waiting(), 0);
        let t2 = corio::spawn(async move { barrier.wait().await.unwrap() });
        tick().await;
        assert!(t1.done() && t2.done());
        assert_eq!(t1.await.unwrap(), t2.await.unwrap());
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn barrier_counts_the_waiting_tasks_while_it_fills() {
    // test_locks.py BarrierTests.test_filling_task_by_task
    let barrier: &'static Barrier = leak(Barrier::new(3));
    rt(1).run(async move {
        let t1 = corio::spawn(async move { barrier.wait().await.unwrap() });
        tick().await;
        assert_eq!(barrier.n_waiting(), 1);
        assert!(phase(barrier).contains("Filling"));

        let t2 = corio::spawn(async move { barrier.wait().await.unwrap() });
        tick().await;
        assert_eq!(barrier.n_waiting(), 2);
        assert!(phase(barrier).contains("Filling"));

        let t3 = corio::spawn(async move { barrier.wait().await.unwrap() });
        tick().await;
        let got = [t1.await.unwrap(), t2.await.unwrap(), t3.await.unwrap()];
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn barrier_can_be_used_for_several_rounds() {
    // test_locks.py BarrierTests.test_filling_tasks_wait_twice and
    // test_filling_tasks_check_return_value
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let first = Arc::new(AtomicUsize::new(0));
        let second = Arc::new(AtomicUsize::new(0));
        let res = gather_tasks(N, || {
            let (first, second) = (first.clone(), second.clone());
            async move {
                barrier.wait().await.unwrap();
                first.fetch_add(1, Ordering::SeqCst);
                let i = barrier.wait().await.unwrap();
                second.fetch_add(1, Ordering::SeqCst);
                i
            }
        })
        .await;
        assert_eq!(first.load(Ordering::SeqCst), N);
        assert_eq!(second.load(Ordering::SeqCst), N);
        let mut sorted = res;
        sorted.sort();
        assert_eq!(sorted, (0..N).collect::<Vec<_>>());
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());

        // Ten more rounds.
        for _ in 0..10 {
            let mut res = gather_tasks(N, || async move { barrier.wait().await.unwrap() }).await;
            res.sort();
            assert_eq!(res, (0..N).collect::<Vec<_>>());
        }
    });
}

#[test]
fn barrier_drains_before_it_fills_again() {
    // test_locks.py BarrierTests.test_draining_state
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let results: Arc<Mutex<Vec<bool>>> = Arc::default();
        gather_tasks(N, || {
            let results = results.clone();
            async move {
                barrier.wait().await.unwrap();
                // The barrier fills again once the last task is released.
                results
                    .lock()
                    .unwrap()
                    .push(phase(barrier).contains("Draining"));
            }
        })
        .await;
        let results = results.lock().unwrap().clone();
        assert_eq!(results.len(), N);
        assert!(!results[N - 1]);
        assert!(results[..N - 1].iter().all(|&d| d), "{results:?}");
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    });
}

#[test]
fn barrier_blocks_newcomers_while_it_drains() {
    // test_locks.py BarrierTests.test_blocking_tasks_while_draining
    const REWAIT: usize = 2;
    let barrier: &'static Barrier = leak(Barrier::new(N));
    let barrier_nowaiting: &'static Barrier = leak(Barrier::new(N - REWAIT));
    rt(1).run(async move {
        let rewait_n = Arc::new(AtomicUsize::new(REWAIT));
        within(
            "blocking while draining",
            gather_tasks(N, || {
                let rewait_n = rewait_n.clone();
                async move {
                    barrier.wait().await.unwrap();
                    if rewait_n.load(Ordering::SeqCst) > 0 {
                        rewait_n.fetch_sub(1, Ordering::SeqCst);
                        // Wait again, only for the rewait tasks.
                        barrier.wait().await.unwrap();
                    } else {
                        // Wait for the end of the draining state...
                        barrier_nowaiting.wait().await.unwrap();
                        // ... and for the other waiting tasks.
                        barrier.wait().await.unwrap();
                    }
                }
            }),
        )
        .await;
        assert_eq!(barrier.n_waiting(), 0);
        assert_eq!(barrier_nowaiting.n_waiting(), 0);
    });
}

#[test]
fn barrier_waiter_cancelled_while_it_fills_leaves_the_count_without_breaking_it() {
    // test_locks.py BarrierTests.test_filling_tasks_cancel_one
    let barrier: &'static Barrier = leak(Barrier::new(3));
    rt(1).run(async move {
        let results = Arc::new(AtomicUsize::new(0));
        let coro = || {
            let results = results.clone();
            corio::spawn(async move {
                let r = barrier.wait().await;
                if r.is_ok() {
                    results.fetch_add(1, Ordering::SeqCst);
                }
                r
            })
        };
        let t1 = coro();
        tick().await;
        assert_eq!(barrier.n_waiting(), 1);
        let t2 = coro();
        tick().await;
        assert_eq!(barrier.n_waiting(), 2);

        t1.cancel();
        tick().await;
        assert_eq!(barrier.n_waiting(), 1);
        assert!(t1.done() && t1.cancelled());
        assert_cancelled(t1.await);
        assert!(!barrier.broken());

        let t3 = coro();
        tick().await;
        assert_eq!(barrier.n_waiting(), 2);
        let t4 = coro();
        let got = [
            t2.await.unwrap().unwrap(),
            t3.await.unwrap().unwrap(),
            t4.await.unwrap().unwrap(),
        ];
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(results.load(Ordering::SeqCst), 3);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());

        // The error a cancelled waiter gets.
        let t = corio::spawn(async move {
            match barrier.wait().await {
                Err(BarrierError::Cancelled(c)) => {
                    let msg = BarrierError::Cancelled(c.clone()).to_string();
                    assert!(msg.contains("Barrier::wait() was"), "{msg}");
                    Err::<(), _>(c)
                }
                other => panic!("expected BarrierError::Cancelled, got {other:?}"),
            }
        });
        tick().await;
        assert_eq!(barrier.n_waiting(), 1);
        t.cancel();
        assert_cancelled(t.await);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn barrier_reset_and_abort_with_nobody_waiting() {
    // test_locks.py BarrierTests.test_reset_barrier, test_abort_barrier
    let barrier = Barrier::new(1);
    barrier.reset();
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
    barrier.abort();
    assert_eq!(barrier.n_waiting(), 0);
    assert!(barrier.broken());
    assert!(phase(&barrier).contains("Broken"));
    barrier.reset();
    assert!(!barrier.broken());
}

#[test]
#[should_panic(expected = "at least one party")]
fn barrier_with_no_party_panics() {
    let _ = Barrier::new(0);
}

#[test]
fn barrier_reset_while_tasks_wait_breaks_them_and_the_barrier_works_again() {
    // test_locks.py BarrierTests.test_reset_barrier_while_tasks_waiting
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let tasks: Vec<_> = (0..N - 1)
            .map(|_| corio::spawn(async move { barrier.wait().await }))
            .collect();
        tick().await;
        assert_eq!(barrier.n_waiting(), N - 1);
        let reset = corio::spawn(async move { barrier.reset() });
        for t in tasks {
            assert!(matches!(t.await.unwrap(), Err(BarrierError::Broken)));
        }
        reset.await.unwrap();
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!phase(barrier).contains("Resetting"));
        assert!(!barrier.broken());

        // It works again.
        let mut res = gather_tasks(N, || async move { barrier.wait().await.unwrap() }).await;
        res.sort();
        assert_eq!(res, (0..N).collect::<Vec<_>>());
    });
}

#[test]
fn barrier_reset_when_tasks_are_half_draining() {
    // test_locks.py BarrierTests.test_reset_barrier_when_tasks_half_draining
    const REST: usize = N / 2;
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let broken = Arc::new(AtomicUsize::new(0));
        let passed = Arc::new(AtomicUsize::new(0));
        gather_tasks(N, || {
            let (broken, passed) = (broken.clone(), passed.clone());
            async move {
                match barrier.wait().await {
                    Err(BarrierError::Broken) => {
                        // The tasks still in the barrier.
                        broken.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {
                        // REST tasks are still in the barrier when N - REST
                        // have passed it (asyncio: `barrier._count`).
                        if passed.fetch_add(1, Ordering::SeqCst) + 1 == N - REST {
                            barrier.reset();
                        }
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        })
        .await;
        assert_eq!(broken.load(Ordering::SeqCst), REST);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!phase(barrier).contains("Resetting"));
        assert!(!barrier.broken());
    });
}

#[test]
fn barrier_reset_when_tasks_are_half_draining_half_blocking() {
    // test_locks.py
    // BarrierTests.test_reset_barrier_when_tasks_half_draining_half_blocking
    const BLOCKING: usize = N / 2;
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let results1 = Arc::new(AtomicUsize::new(0));
        let results2 = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        within(
            "reset half draining half blocking",
            gather_tasks(N, || {
                let (results1, results2, count) =
                    (results1.clone(), results2.clone(), count.clone());
                async move {
                    match barrier.wait().await {
                        Err(BarrierError::Broken) => {
                            // The tasks still waiting.
                            results1.fetch_add(1, Ordering::SeqCst);
                            // Now wait again to reach the parties.
                            barrier.wait().await.unwrap();
                        }
                        Ok(_) => {
                            if count.fetch_add(1, Ordering::SeqCst) + 1 > BLOCKING {
                                // Reset now: the waiting tasks get Broken.
                                barrier.reset();
                                barrier.wait().await.unwrap();
                            } else if barrier.wait().await.is_err() {
                                // Blocked tasks go on waiting: no error.
                                results2.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }),
        )
        .await;
        assert_eq!(results1.load(Ordering::SeqCst), BLOCKING);
        assert_eq!(results2.load(Ordering::SeqCst), 0);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!phase(barrier).contains("Resetting"));
        assert!(!barrier.broken());
    });
}

#[test]
fn barrier_reset_while_tasks_wait_and_they_wait_again() {
    // test_locks.py
    // BarrierTests.test_reset_barrier_while_tasks_waiting_and_waiting_again
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let results1 = Arc::new(AtomicUsize::new(0));
        let results2 = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..N - 1)
            .map(|_| {
                let (results1, results2) = (results1.clone(), results2.clone());
                corio::spawn(async move {
                    if let Err(BarrierError::Broken) = barrier.wait().await {
                        results1.fetch_add(1, Ordering::SeqCst);
                    }
                    // finally:
                    barrier.wait().await.unwrap();
                    results2.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        // Reset: the N - 1 waiting tasks get Broken.
        let reset = corio::spawn(async move { barrier.reset() });
        tick().await;
        // Complete the waiting tasks in their `finally`.
        let r2 = results2.clone();
        let coro2 = corio::spawn(async move {
            barrier.wait().await.unwrap();
            r2.fetch_add(1, Ordering::SeqCst);
        });
        within("waiting again after a reset", async {
            for t in tasks {
                t.await.unwrap();
            }
        })
        .await;
        coro2.await.unwrap();
        reset.await.unwrap();
        assert!(!barrier.broken());
        assert_eq!(results1.load(Ordering::SeqCst), N - 1);
        assert_eq!(results2.load(Ordering::SeqCst), N);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn barrier_reset_while_tasks_drain() {
    // test_locks.py BarrierTests.test_reset_barrier_while_tasks_draining
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let results1 = Arc::new(AtomicUsize::new(0));
        let results2 = Arc::new(AtomicUsize::new(0));
        let results3 = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        within(
            "reset while draining",
            gather_tasks(N, || {
                let (r1, r2, r3, count) = (
                    results1.clone(),
                    results2.clone(),
                    results3.clone(),
                    count.clone(),
                );
                async move {
                    barrier.wait().await.unwrap();
                    if count.fetch_add(1, Ordering::SeqCst) + 1 == N {
                        // The last task out of the barrier.
                        barrier.reset();
                        // Wait here to reach the parties.
                        barrier.wait().await.unwrap();
                    } else {
                        match barrier.wait().await {
                            Ok(_) => r1.fetch_add(1, Ordering::SeqCst),
                            Err(_) => r2.fetch_add(1, Ordering::SeqCst),
                        };
                    }
                    // Pass the barrier again: the last wait completes.
                    barrier.wait().await.unwrap();
                    r3.fetch_add(1, Ordering::SeqCst);
                }
            }),
        )
        .await;
        assert!(!barrier.broken());
        assert_eq!(results1.load(Ordering::SeqCst), N - 1);
        assert_eq!(results2.load(Ordering::SeqCst), 0);
        assert_eq!(results3.load(Ordering::SeqCst), N);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn barrier_abort_wakes_waiters_with_broken_and_later_waits_fail_until_reset() {
    let barrier: &'static Barrier = leak(Barrier::new(3));
    rt(1).run(async move {
        let t1 = corio::spawn(async move { barrier.wait().await });
        let t2 = corio::spawn(async move { barrier.wait().await });
        tick().await;
        assert_eq!(barrier.n_waiting(), 2);
        barrier.abort();
        assert!(barrier.broken());
        assert_eq!(barrier.n_waiting(), 0);
        for t in [t1, t2] {
            let e = t.await.unwrap().unwrap_err();
            assert!(matches!(e, BarrierError::Broken));
            assert!(e.to_string().contains("BrokenBarrierError"), "{e}");
        }
        // Later waits fail at once.
        assert!(matches!(barrier.wait().await, Err(BarrierError::Broken)));
        assert!(matches!(barrier.wait().await, Err(BarrierError::Broken)));
        assert!(barrier.broken());

        barrier.reset();
        assert!(!barrier.broken());
        let mut res = gather_tasks(3, || async move { barrier.wait().await.unwrap() }).await;
        res.sort();
        assert_eq!(res, [0, 1, 2]);
    });
}

#[test]
fn barrier_abort_when_tasks_are_half_draining_half_blocking() {
    // test_locks.py
    // BarrierTests.test_abort_barrier_when_tasks_half_draining_half_blocking
    const BLOCKING: usize = N / 2;
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let results1 = Arc::new(AtomicUsize::new(0));
        let results2 = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        within(
            "abort half draining half blocking",
            gather_tasks(N, || {
                let (results1, results2, count) =
                    (results1.clone(), results2.clone(), count.clone());
                async move {
                    match barrier.wait().await {
                        Err(BarrierError::Broken) => {
                            // The tasks waiting to drain.
                            results1.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {
                            if count.fetch_add(1, Ordering::SeqCst) + 1 > BLOCKING {
                                // Abort now: Broken for every task.
                                barrier.abort();
                            } else if let Err(BarrierError::Broken) = barrier.wait().await {
                                // The blocked tasks (already drained).
                                results2.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }),
        )
        .await;
        assert!(barrier.broken());
        assert_eq!(results1.load(Ordering::SeqCst), BLOCKING);
        assert_eq!(results2.load(Ordering::SeqCst), N - BLOCKING - 1);
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!phase(barrier).contains("Resetting"));
    });
}

#[derive(Debug)]
enum Failed {
    Barrier(BarrierError),
    Runtime,
}

impl From<BarrierError> for Failed {
    fn from(e: BarrierError) -> Failed {
        Failed::Barrier(e)
    }
}

#[test]
fn barrier_abort_when_one_task_fails() {
    // test_locks.py BarrierTests.test_abort_barrier_when_exception
    let barrier: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let results1 = Arc::new(AtomicUsize::new(0));
        let results2 = Arc::new(AtomicUsize::new(0));
        within(
            "abort on failure",
            gather_tasks(N, || {
                let (results1, results2) = (results1.clone(), results2.clone());
                async move {
                    let r: Result<(), Failed> = async {
                        let i = barrier.wait().await?;
                        if i == N / 2 {
                            return Err(Failed::Runtime);
                        }
                        barrier.wait().await?;
                        results1.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }
                    .await;
                    match r {
                        Err(Failed::Barrier(BarrierError::Broken)) => {
                            results2.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(Failed::Runtime) => barrier.abort(),
                        other => panic!("{other:?}"),
                    }
                }
            }),
        )
        .await;
        assert!(barrier.broken());
        assert_eq!(results1.load(Ordering::SeqCst), 0);
        assert_eq!(results2.load(Ordering::SeqCst), N - 1);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn barrier_abort_when_one_task_fails_then_reset_makes_it_usable() {
    // test_locks.py
    // BarrierTests.test_abort_barrier_when_exception_then_resetting
    let barrier1: &'static Barrier = leak(Barrier::new(N));
    let barrier2: &'static Barrier = leak(Barrier::new(N));
    rt(1).run(async move {
        let results1 = Arc::new(AtomicUsize::new(0));
        let results2 = Arc::new(AtomicUsize::new(0));
        let results3 = Arc::new(AtomicUsize::new(0));
        within(
            "abort then reset",
            gather_tasks(N, || {
                let (r1, r2, r3) = (results1.clone(), results2.clone(), results3.clone());
                async move {
                    let r: Result<(), Failed> = async {
                        let i = barrier1.wait().await?;
                        if i == N / 2 {
                            return Err(Failed::Runtime);
                        }
                        barrier1.wait().await?;
                        r1.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }
                    .await;
                    match r {
                        Err(Failed::Barrier(BarrierError::Broken)) => {
                            r2.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(Failed::Runtime) => barrier1.abort(),
                        other => panic!("{other:?}"),
                    }
                    // Synchronize and reset the barrier: everybody has left
                    // it when it is reset, and nobody enters it before.
                    let i = barrier2.wait().await.unwrap();
                    if i == N / 2 {
                        barrier1.reset();
                    }
                    barrier2.wait().await.unwrap();
                    barrier1.wait().await.unwrap();
                    r3.fetch_add(1, Ordering::SeqCst);
                }
            }),
        )
        .await;
        assert!(!barrier1.broken());
        assert_eq!(results1.load(Ordering::SeqCst), 0);
        assert_eq!(results2.load(Ordering::SeqCst), N - 1);
        assert_eq!(results3.load(Ordering::SeqCst), N);
        assert_eq!(barrier1.n_waiting(), 0);
    });
}

#[test]
fn barrier_rounds_on_two_workers_give_each_round_every_index_once() {
    const PARTIES: usize = 4;
    const ROUNDS: usize = 100;
    let by_round = rt(2).run(async {
        within("barrier rounds", async {
            let barrier = Arc::new(Barrier::new(PARTIES));
            let record: Arc<Mutex<Vec<Vec<usize>>>> =
                Arc::new(Mutex::new(vec![Vec::new(); ROUNDS]));
            let tasks: Vec<_> = (0..PARTIES)
                .map(|_| {
                    let (barrier, record) = (barrier.clone(), record.clone());
                    corio::spawn(async move {
                        for round in 0..ROUNDS {
                            let i = barrier.wait().await.unwrap();
                            record.lock().unwrap()[round].push(i);
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(barrier.n_waiting(), 0);
            assert!(!barrier.broken());
            let r = record.lock().unwrap().clone();
            r
        })
        .await
    });
    for (round, mut indices) in by_round.into_iter().enumerate() {
        indices.sort();
        assert_eq!(indices, (0..PARTIES).collect::<Vec<_>>(), "round {round}");
    }
}

// ---------------------------------------------------------------------------
// Every wait is a cancellation point
// ---------------------------------------------------------------------------

#[test]
fn every_wait_is_a_cancellation_point_even_when_it_would_not_wait() {
    let lock: &'static Lock<u32> = leak(Lock::new(1));
    let ev: &'static Event = leak(Event::new());
    let sem: &'static Semaphore = leak(Semaphore::new(2));
    let bsem: &'static BoundedSemaphore = leak(BoundedSemaphore::new(1));
    let cond: &'static Condition<u32> = leak(Condition::new(5));
    let barrier: &'static Barrier = leak(Barrier::new(1));
    let owned = Arc::new(Semaphore::new(1));
    ev.set();
    let out = rt(1).run(async move {
        let task = corio::spawn(async move {
            let me = corio::current_task().unwrap();
            let mut out = Vec::new();
            let mut note = |what: &str, r: Result<(), Cancelled>| match r {
                Err(c) => {
                    c.suppress();
                    out.push(format!("{what}: cancelled"));
                }
                Ok(()) => out.push(format!("{what}: ok")),
            };

            me.cancel();
            note("lock", lock.acquire().await.map(drop));
            // One request, one delivery: the next acquire succeeds.
            note("lock again", lock.acquire().await.map(drop));

            me.cancel();
            note("event", ev.wait().await);
            note("event again", ev.wait().await);

            me.cancel();
            note("semaphore", sem.acquire().await.map(drop));
            note("semaphore again", sem.acquire_many(2).await.map(drop));

            me.cancel();
            note("owned", owned.clone().acquire_owned().await.map(drop));
            note("owned again", owned.clone().acquire_owned().await.map(drop));

            me.cancel();
            note("bounded", bsem.acquire().await.map(drop));
            note("bounded again", bsem.acquire().await.map(drop));

            me.cancel();
            note(
                "barrier",
                match barrier.wait().await {
                    Err(BarrierError::Cancelled(c)) => Err(c),
                    Err(e) => panic!("{e}"),
                    Ok(_) => Ok(()),
                },
            );
            note(
                "barrier again",
                barrier.wait().await.map(drop).map_err(|e| panic!("{e}")),
            );

            let g = cond.acquire().await.unwrap();
            me.cancel();
            match cond.wait(g).await {
                Err(e) => {
                    // The lock was never let go of.
                    assert!(cond.locked());
                    assert_eq!(*e.guard, 5);
                    note("condition", Err(e.cancelled));
                }
                Ok(_) => note("condition", Ok(())),
            }
            assert!(!cond.locked());
            me.cancel();
            note("condition acquire", cond.acquire().await.map(drop));
            note("condition acquire again", cond.acquire().await.map(drop));
            out
        });
        task.await.unwrap()
    });
    assert_eq!(
        out,
        [
            "lock: cancelled",
            "lock again: ok",
            "event: cancelled",
            "event again: ok",
            "semaphore: cancelled",
            "semaphore again: ok",
            "owned: cancelled",
            "owned again: ok",
            "bounded: cancelled",
            "bounded again: ok",
            "barrier: cancelled",
            "barrier again: ok",
            "condition: cancelled",
            "condition acquire: cancelled",
            "condition acquire again: ok",
        ]
    );
    assert!(!lock.locked());
    assert_eq!(sem.available(), 2);
    assert_eq!(bsem.available(), 1);
    assert_eq!(barrier.n_waiting(), 0);
}

#[test]
fn a_cancel_from_another_task_before_the_await_is_delivered_by_a_free_lock_or_a_set_event() {
    let lock: &'static Lock = leak(Lock::new(()));
    let ev: &'static Event = leak(Event::new());
    ev.set();
    rt(1).run(async move {
        let t = corio::spawn(async move {
            suspend_once_without_cancellation_point().await;
            let first = lock.acquire().await.map(drop);
            let second = lock.acquire().await.map(drop);
            (first, second)
        });
        tick().await; // t is suspended, not at a corio await
        t.cancel();
        // The task did not suppress the delivery: it ends cancelled.
        assert_cancelled(t.await);
        assert!(!lock.locked());

        let log: Arc<Mutex<Vec<bool>>> = Arc::default();
        let l = log.clone();
        let t = corio::spawn(async move {
            suspend_once_without_cancellation_point().await;
            let first = ev.wait().await;
            let second = ev.wait().await;
            l.lock().unwrap().extend([first.is_err(), second.is_ok()]);
            if let Err(c) = first {
                c.suppress();
            }
            "refused"
        });
        tick().await;
        t.cancel();
        assert_eq!(t.await.unwrap(), "refused");
        assert_eq!(*log.lock().unwrap(), [true, true]);
    });
}

// ---------------------------------------------------------------------------
// get_stack: where a task waits
// ---------------------------------------------------------------------------

fn assert_suspended_at<T>(t: &Task<T>, line: u32, what: &str) {
    let stack = t.get_stack();
    assert_eq!(stack.len(), 1, "{what}: {stack:?}");
    let loc = stack[0];
    assert!(
        loc.file().ends_with("sync_primitives.rs"),
        "{what}: suspended at {loc}"
    );
    assert_eq!(loc.line(), line, "{what}: suspended at {loc}");
}

#[test]
fn get_stack_points_at_the_await_of_the_primitive_a_task_waits_in() {
    let lock: &'static Lock = leak(Lock::new(()));
    let ev: &'static Event = leak(Event::new());
    let sem: &'static Semaphore = leak(Semaphore::new(0));
    let bsem: &'static BoundedSemaphore = leak(BoundedSemaphore::new(1));
    let cond: &'static Condition = leak(Condition::new(()));
    let barrier: &'static Barrier = leak(Barrier::new(2));
    rt(1).run(async move {
        let g = lock.acquire().await.unwrap();
        let t_lock = corio::spawn(async move {
            lock.acquire().await.map(drop) // line L
        });
        let l_lock = line!() - 2;
        let t_ev = corio::spawn(async move {
            ev.wait().await // line E
        });
        let l_ev = line!() - 2;
        let t_sem = corio::spawn(async move {
            sem.acquire().await.map(drop) // line S
        });
        let l_sem = line!() - 2;
        let bp = bsem.try_acquire().unwrap();
        let t_bsem = corio::spawn(async move {
            bsem.acquire().await.map(drop) // line B
        });
        let l_bsem = line!() - 2;
        let t_cond = corio::spawn(async move {
            let g = cond.acquire().await?;
            cond.wait(g).await.map(drop).map_err(Cancelled::from) // line C
        });
        let l_cond = line!() - 2;
        let t_bar = corio::spawn(async move {
            barrier.wait().await.map(drop) // line W
        });
        let l_bar = line!() - 2;
        tick().await;

        assert_suspended_at(&t_lock, l_lock, "Lock::acquire");
        assert_suspended_at(&t_ev, l_ev, "Event::wait");
        assert_suspended_at(&t_sem, l_sem, "Semaphore::acquire");
        assert_suspended_at(&t_bsem, l_bsem, "BoundedSemaphore::acquire");
        assert_suspended_at(&t_cond, l_cond, "Condition::wait");
        assert_suspended_at(&t_bar, l_bar, "Barrier::wait");
        assert!(t_lock
            .task_ref()
            .format_stack()
            .contains(&format!("line {l_lock}")));

        // Notified, and waiting to take the lock back: still the same await.
        let cg = cond.acquire().await.unwrap();
        cond.notify(1).unwrap();
        tick().await;
        assert!(!t_cond.done());
        assert_suspended_at(&t_cond, l_cond, "Condition::wait taking the lock back");
        drop(cg);

        drop(g);
        ev.set();
        sem.release();
        drop(bp);
        barrier.wait().await.unwrap();
        t_lock.await.unwrap().unwrap();
        t_ev.await.unwrap().unwrap();
        t_sem.await.unwrap().unwrap();
        t_bsem.await.unwrap().unwrap();
        t_cond.await.unwrap().unwrap();
        t_bar.await.unwrap().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Cooperative budget
// ---------------------------------------------------------------------------

#[test]
fn a_task_that_finds_its_primitive_always_ready_still_lets_others_run() {
    let lock: &'static Lock = leak(Lock::new(()));
    let ev: &'static Event = leak(Event::new());
    let sem: &'static Semaphore = leak(Semaphore::new(1));
    let barrier: &'static Barrier = leak(Barrier::new(1));
    ev.set();
    rt(1).run(async move {
        for what in ["lock", "event", "semaphore", "barrier"] {
            let ran = Arc::new(AtomicBool::new(false));
            let other = corio::spawn({
                let ran = ran.clone();
                async move { ran.store(true, Ordering::SeqCst) }
            });
            let mut n = 0;
            while !ran.load(Ordering::SeqCst) {
                match what {
                    "lock" => drop(lock.acquire().await.unwrap()),
                    "event" => ev.wait().await.unwrap(),
                    "semaphore" => drop(sem.acquire().await.unwrap()),
                    _ => drop(barrier.wait().await.unwrap()),
                }
                n += 1;
                assert!(n < 100_000, "{what}: the other task never ran");
            }
            assert!(n > 1, "{what}: a ready await suspended the task at once");
            other.await.unwrap();
        }
    });
}

// ---------------------------------------------------------------------------
// Stress on two workers
// ---------------------------------------------------------------------------

#[test]
fn stress_lock_on_two_workers_with_random_cancellations_counts_every_increment() {
    const TASKS: usize = 50;
    const ITERS: u64 = 200;
    rt(2).run(async {
        within("lock stress", async {
            let lock = Arc::new(Lock::new(0u64));
            let successes = Arc::new(AtomicU64::new(0));
            let tasks: Vec<_> = (0..TASKS)
                .map(|k| {
                    let (lock, successes) = (lock.clone(), successes.clone());
                    corio::spawn(async move {
                        for i in 0..ITERS {
                            let Ok(mut g) = lock.acquire().await else {
                                return;
                            };
                            *g += 1;
                            successes.fetch_add(1, Ordering::Relaxed);
                            if (i + k as u64) % 5 == 0 && corio::yield_now().await.is_err() {
                                return; // cancelled while holding the guard
                            }
                        }
                    })
                })
                .collect();
            let mut rng = XorShift::new(0x9E37_79B9_7F4A_7C15);
            let mut cancelled = Vec::new();
            for _ in 0..8 {
                for _ in 0..rng.below(40) {
                    corio::yield_now().await.unwrap();
                }
                let k = rng.below(TASKS as u64) as usize;
                tasks[k].cancel();
                cancelled.push(k);
            }
            let mut n_cancelled = 0;
            for (k, t) in tasks.into_iter().enumerate() {
                match t.await {
                    Ok(()) => {}
                    Err(e) if e.is_cancelled() => {
                        assert!(cancelled.contains(&k), "task {k}");
                        n_cancelled += 1;
                    }
                    Err(e) => panic!("task {k}: {e:?}"),
                }
            }
            let total = *lock.acquire().await.unwrap();
            assert_eq!(total, successes.load(Ordering::Relaxed));
            assert!(total <= TASKS as u64 * ITERS);
            // Some cancellations land on running tasks (not all: a task may
            // have finished, or take a request at its very end).
            let _ = n_cancelled;
            assert!(!lock.locked());
            assert!(lock.try_acquire().is_some());
        })
        .await;
    });
}

#[test]
fn stress_semaphore_on_two_workers_never_has_more_permits_out_than_it_holds() {
    const PERMITS: usize = 3;
    const TASKS: usize = 30;
    const ITERS: usize = 100;
    rt(2).run(async {
        within("semaphore stress", async {
            let sem = Arc::new(Semaphore::new(PERMITS));
            let out = Arc::new(AtomicUsize::new(0));
            let high = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..TASKS)
                .map(|k| {
                    let (sem, out, high) = (sem.clone(), out.clone(), high.clone());
                    corio::spawn(async move {
                        for i in 0..ITERS {
                            let n = if (i + k) % 7 == 0 { 2 } else { 1 };
                            let Ok(p) = sem.acquire_many(n).await else {
                                return;
                            };
                            let now = out.fetch_add(n, Ordering::SeqCst) + n;
                            high.fetch_max(now, Ordering::SeqCst);
                            let r = corio::yield_now().await;
                            out.fetch_sub(n, Ordering::SeqCst);
                            drop(p);
                            if r.is_err() {
                                return;
                            }
                        }
                    })
                })
                .collect();
            let mut rng = XorShift::new(0xD1B5_4A32_D192_ED03);
            for _ in 0..5 {
                for _ in 0..rng.below(30) {
                    corio::yield_now().await.unwrap();
                }
                tasks[rng.below(TASKS as u64) as usize].cancel();
            }
            for t in tasks {
                match t.await {
                    Ok(()) => {}
                    Err(e) => assert!(e.is_cancelled(), "{e:?}"),
                }
            }
            let high = high.load(Ordering::SeqCst);
            assert!(high <= PERMITS, "{high} permits out at once");
            assert!(high >= 2, "the permits were never shared: {high}");
            assert_eq!(out.load(Ordering::SeqCst), 0);
            assert_eq!(sem.available(), PERMITS);
            assert!(!sem.locked());
        })
        .await;
    });
}

#[test]
fn bounded_semaphore_release_while_a_permit_is_held_never_passes_the_bound() {
    let sem = corio::sync::BoundedSemaphore::new(1);
    let permit = sem.try_acquire().unwrap();
    // asyncio allows this release: one permit is out.
    sem.release().unwrap();
    assert_eq!(sem.available(), 1);
    // The held permit would be a second free one: it is not added.
    drop(permit);
    assert_eq!(sem.available(), 1);
    assert!(sem.release().is_err());
    assert_eq!(sem.available(), 1);
}

#[test]
fn owned_lock_guards_move_between_tasks_on_two_workers_and_count_every_increment() {
    rt(2).run(async {
        let lock = Arc::new(Lock::new(0u64));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let lock = lock.clone();
            tasks.push(corio::spawn(async move {
                for _ in 0..100 {
                    let mut guard = lock.clone().acquire_owned().await.unwrap();
                    // The guard moves into another task, which releases it.
                    corio::spawn(async move { *guard += 1 }).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*lock.acquire().await.unwrap(), 2_000);
        assert!(!lock.locked());
    });
}
