//! `corio::sync::{Queue, LifoQueue, PriorityQueue}`: asyncio 3.13's queues
//! (with `shutdown`), after CPython's `Lib/test/test_asyncio/test_queues.py`.
//!
//! The tests that check an order run on one worker, where tasks run in
//! asyncio's FIFO order, so `await asyncio.sleep(0)` translates to
//! `corio::yield_now().await`.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use common::{rt, XorShift, MS};
use corio::sync::{
    Event, GetError, LifoQueue, PriorityQueue, PutError, Queue, TaskDoneError, TryGetError,
    TryPutError,
};
use corio::{CancelScope, TaskError};

/// An item that counts its drops.
#[derive(Debug)]
struct Counted {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

async fn yield_n(n: usize) {
    for _ in 0..n {
        corio::yield_now().await.unwrap();
    }
}

/// `Ok(item)`, or `Err` with the item of a `put` stopped by a timeout
/// (the cancellation is refused, so that `wait_for` returns the item
/// instead of dropping it with the future's output).
async fn put_keeping_item<T>(q: &Queue<T>, item: T) -> Result<(), T> {
    match q.put(item).await {
        Ok(()) => Ok(()),
        Err(PutError::Cancelled { cancelled, item }) => {
            assert_eq!(cancelled.scope(), CancelScope::Timeout);
            cancelled.suppress();
            Err(item)
        }
        Err(PutError::ShutDown(_)) => panic!("the queue was shut down"),
    }
}

// ---------------------------------------------------------------------------
// Order, size, the non-blocking methods.

#[test]
fn queue_is_send_sync_clone_and_shares_one_queue_between_handles() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Queue<String>>();
    assert_traits::<LifoQueue<String>>();
    assert_traits::<PriorityQueue<String>>();
    let q = Queue::new(0);
    let q2 = q.clone();
    q.put_nowait(1).unwrap();
    assert_eq!(q2.qsize(), 1);
    assert_eq!(q2.get_nowait().unwrap(), 1);
    assert!(q.empty());
}

#[test]
fn fifo_queue_hands_out_items_in_put_order() {
    let q = Queue::new(0);
    for i in [1, 3, 2] {
        q.put_nowait(i).unwrap();
    }
    let items: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(items, [1, 3, 2]);
}

#[test]
fn lifo_queue_hands_out_the_last_item_first() {
    let q = LifoQueue::new(0);
    for i in [1, 3, 2] {
        q.put_nowait(i).unwrap();
    }
    let items: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(items, [2, 3, 1]);
}

#[test]
fn priority_queue_hands_out_the_smallest_item_first() {
    let q = PriorityQueue::new(0);
    for i in [1, 3, 2] {
        q.put_nowait(i).unwrap();
    }
    let items: Vec<_> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(items, [1, 2, 3]);

    // asyncio's (priority, data) entries, and Reverse for largest first.
    let q = PriorityQueue::new(0);
    for e in [(2, "b"), (1, "z"), (2, "a"), (0, "x")] {
        q.put_nowait(e).unwrap();
    }
    let items: Vec<_> = (0..4).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(items, [(0, "x"), (1, "z"), (2, "a"), (2, "b")]);
    let q = PriorityQueue::new(0);
    for i in [5, 9, 1] {
        q.put_nowait(std::cmp::Reverse(i)).unwrap();
    }
    assert_eq!(q.get_nowait().unwrap().0, 9);
}

#[test]
fn every_order_blocks_and_wakes_the_same_way() {
    rt(1).run(async {
        let lifo = LifoQueue::new(2);
        let prio = PriorityQueue::new(2);
        let (l2, p2) = (lifo.clone(), prio.clone());
        let getter = corio::spawn(async move {
            let a = l2.get().await.unwrap();
            let b = p2.get().await.unwrap();
            (a, b)
        });
        corio::yield_now().await.unwrap();
        assert!(!getter.done());
        lifo.put(7).await.unwrap();
        prio.put(8).await.unwrap();
        assert_eq!(getter.await.unwrap(), (7, 8));

        for i in [1, 2] {
            lifo.put_nowait(i).unwrap();
        }
        assert!(lifo.full());
        let l2 = lifo.clone();
        let putter = corio::spawn(async move { l2.put(3).await.unwrap() });
        corio::yield_now().await.unwrap();
        assert!(!putter.done());
        assert_eq!(lifo.get().await.unwrap(), 2);
        putter.await.unwrap();
        assert_eq!(lifo.get_nowait().unwrap(), 3);
        assert_eq!(lifo.get_nowait().unwrap(), 1);
    });
}

#[test]
fn empty_full_qsize_and_maxsize_follow_the_items() {
    // test_empty, test_full.
    let q = Queue::new(0);
    assert!(q.empty());
    q.put_nowait(1).unwrap();
    assert!(!q.empty());
    assert_eq!(q.get_nowait().unwrap(), 1);
    assert!(q.empty());
    assert!(!q.full());

    let q = Queue::new(2);
    assert_eq!(q.maxsize(), 2);
    assert_eq!(q.qsize(), 0);
    assert!(!q.full());
    q.put_nowait('a').unwrap();
    assert_eq!(q.qsize(), 1);
    assert!(!q.full() && !q.empty());
    q.put_nowait('b').unwrap();
    assert_eq!(q.qsize(), 2);
    assert!(q.full());
    q.get_nowait().unwrap();
    assert!(!q.full());
    assert_eq!(q.qsize(), 1);
    assert!(!q.is_shut_down());
    let shown = format!("{q:?}");
    assert!(shown.contains("maxsize: 2"), "{shown}");
    assert!(shown.contains("qsize: 1"), "{shown}");
}

#[test]
fn maxsize_zero_is_unbounded() {
    let q = Queue::new(0);
    assert_eq!(q.maxsize(), 0);
    for i in 0..10_000 {
        q.put_nowait(i).unwrap();
        assert!(!q.full());
    }
    assert_eq!(q.qsize(), 10_000);
    rt(1).run(async move {
        // put never waits either.
        q.put(10_000).await.unwrap();
        assert_eq!(q.qsize(), 10_001);
        assert_eq!(q.get().await.unwrap(), 0);
    });
}

#[test]
fn put_nowait_on_a_full_queue_fails_with_full_and_returns_the_item() {
    // test_nonblocking_put_exception.
    let q = Queue::new(1);
    q.put_nowait(String::from("first")).unwrap();
    let err = q.put_nowait(String::from("second")).unwrap_err();
    assert!(err.to_string().contains("QueueFull"), "{err}");
    match err {
        TryPutError::Full(item) => assert_eq!(item, "second"),
        TryPutError::ShutDown(_) => panic!("not shut down"),
    }
    assert_eq!(q.qsize(), 1);
    assert_eq!(
        q.put_nowait(String::from("third")).unwrap_err().into_item(),
        "third"
    );
    assert_eq!(q.get_nowait().unwrap(), "first");
}

#[test]
fn get_nowait_on_an_empty_queue_fails_with_empty() {
    // test_nonblocking_get_exception.
    let q = Queue::<i32>::new(0);
    assert_eq!(q.get_nowait().unwrap_err(), TryGetError::Empty);
    assert!(q
        .get_nowait()
        .unwrap_err()
        .to_string()
        .contains("QueueEmpty"));
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait(), Ok(1));
    assert_eq!(q.get_nowait(), Err(TryGetError::Empty));
}

// ---------------------------------------------------------------------------
// Waiting: get for a put, put for room.

#[test]
fn get_on_a_nonempty_queue_returns_at_once() {
    // test_blocking_get, test_blocking_put.
    rt(1).run(async {
        let q = Queue::new(0);
        q.put(1).await.unwrap();
        assert_eq!(q.get().await.unwrap(), 1);
    });
}

#[test]
fn get_waits_for_a_put() {
    // test_blocking_get_wait, test_put_with_waiting_getters.
    rt(1).run(async {
        let q = Queue::new(0);
        let finished = Arc::new(AtomicBool::new(false));
        let (q2, f2) = (q.clone(), finished.clone());
        let getter = corio::spawn(async move {
            let v = q2.get().await.unwrap();
            f2.store(true, Ordering::SeqCst);
            v
        });
        yield_n(3).await;
        assert!(!finished.load(Ordering::SeqCst));
        assert!(!getter.done());
        q.put("a").await.unwrap();
        assert_eq!(getter.await.unwrap(), "a");
        assert!(finished.load(Ordering::SeqCst));
        assert!(q.empty());
    });
}

#[test]
fn get_waits_for_a_put_nowait_made_later_by_a_timer() {
    // test_blocking_get_wait with its call_later.
    rt(1).run(async {
        let q = Queue::new(0);
        let q2 = q.clone();
        let start = Instant::now();
        let putter = corio::spawn(async move {
            corio::sleep(10 * MS).await.unwrap();
            q2.put_nowait(1).unwrap();
        });
        assert_eq!(q.get().await.unwrap(), 1);
        assert!(start.elapsed() >= 10 * MS);
        putter.await.unwrap();
    });
}

#[test]
fn a_putter_blocks_at_maxsize_and_resumes_after_each_get() {
    // test_maxsize.
    rt(1).run(async {
        let q = Queue::new(2);
        assert_eq!(q.maxsize(), 2);
        let have_been_put = Arc::new(Mutex::new(Vec::new()));
        let (q2, put2) = (q.clone(), have_been_put.clone());
        let t = corio::spawn(async move {
            for i in 0..3 {
                q2.put(i).await.unwrap();
                put2.lock().unwrap().push(i);
            }
            true
        });
        corio::yield_now().await.unwrap();
        // The putter is blocked after putting two items.
        assert_eq!(*have_been_put.lock().unwrap(), [0, 1]);
        assert_eq!(q.get_nowait().unwrap(), 0);
        // Let the putter resume and put the last item.
        corio::yield_now().await.unwrap();
        assert_eq!(*have_been_put.lock().unwrap(), [0, 1, 2]);
        assert_eq!(q.get_nowait().unwrap(), 1);
        assert_eq!(q.get_nowait().unwrap(), 2);
        assert!(t.done());
        assert!(t.await.unwrap());
    });
}

#[test]
fn put_waits_while_full_and_the_blocked_putter_proceeds_after_a_get() {
    // test_blocking_put_wait.
    rt(1).run(async {
        let q = Queue::new(1);
        let finished = Arc::new(AtomicBool::new(false));
        let started = Arc::new(Event::new());
        let (q2, f2, s2) = (q.clone(), finished.clone(), started.clone());
        let put_task = corio::spawn(async move {
            s2.set();
            q2.put(1).await.unwrap();
            q2.put(2).await.unwrap();
            f2.store(true, Ordering::SeqCst);
        });
        started.wait().await.unwrap();
        yield_n(2).await;
        assert!(!finished.load(Ordering::SeqCst));
        assert!(q.full());
        let getter = corio::spawn({
            let q = q.clone();
            async move {
                corio::sleep(10 * MS).await.unwrap();
                q.get_nowait().unwrap()
            }
        });
        put_task.await.unwrap();
        assert!(finished.load(Ordering::SeqCst));
        assert_eq!(getter.await.unwrap(), 1);
        assert_eq!(q.get_nowait().unwrap(), 2);
    });
}

#[test]
fn get_with_putters_wakes_the_blocked_putter() {
    // test_get_with_putters.
    rt(1).run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let q2 = q.clone();
        let putter = corio::spawn(async move { q2.put(2).await });
        corio::yield_now().await.unwrap();
        assert!(!putter.done());
        assert_eq!(q.get().await.unwrap(), 1);
        putter.await.unwrap().unwrap();
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get_nowait().unwrap(), 2);
    });
}

#[test]
fn get_with_waiting_putters_takes_their_items_in_put_order() {
    // test_get_with_waiting_putters.
    rt(1).run(async {
        let q = Queue::new(1);
        let (qa, qb) = (q.clone(), q.clone());
        let a = corio::spawn(async move { qa.put('a').await.unwrap() });
        let b = corio::spawn(async move { qb.put('b').await.unwrap() });
        corio::yield_now().await.unwrap();
        assert!(a.done() && !b.done());
        assert_eq!(q.get().await.unwrap(), 'a');
        assert_eq!(q.get().await.unwrap(), 'b');
        b.await.unwrap();
    });
}

#[test]
fn getters_waiting_for_a_producer_through_a_queue_of_one_all_finish() {
    // test_why_are_getters_waiting (issue #268).
    rt(1).run(async {
        let q = Queue::new(1);
        let (qp, qc) = (q.clone(), q.clone());
        let producer = corio::spawn(async move {
            for i in 0..5 {
                qp.put(i).await.unwrap();
            }
        });
        let consumer = corio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..5 {
                got.push(qc.get().await.unwrap());
            }
            got
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), [0, 1, 2, 3, 4]);
    });
}

#[test]
fn putters_beyond_maxsize_all_finish_once_a_getter_drains_the_queue() {
    // test_why_are_putters_waiting.
    rt(1).run(async {
        let q = Queue::new(2);
        let qg = q.clone();
        let getter = corio::spawn(async move {
            corio::yield_now().await.unwrap();
            let n = qg.qsize();
            (0..n).map(|_| qg.get_nowait().unwrap()).collect::<Vec<_>>()
        });
        let putters: Vec<_> = (0..4)
            .map(|i| {
                let q = q.clone();
                corio::spawn(async move { q.put(i).await.unwrap() })
            })
            .collect();
        assert_eq!(getter.await.unwrap(), [0, 1]);
        for p in putters {
            p.await.unwrap();
        }
        assert_eq!(q.get_nowait().unwrap(), 2);
        assert_eq!(q.get_nowait().unwrap(), 3);
    });
}

// ---------------------------------------------------------------------------
// task_done and join.

#[test]
fn join_returns_after_every_item_is_task_done() {
    // test_task_done: two workers, 100 items.
    rt(1).run(async {
        let q = Queue::new(0);
        for i in 0..100u32 {
            q.put_nowait(i).unwrap();
        }
        let acc = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (q, acc) = (q.clone(), acc.clone());
                corio::spawn(async move {
                    loop {
                        let item = match q.get().await {
                            Ok(item) => item,
                            Err(GetError::Cancelled(c)) => return Err::<(), _>(c),
                            Err(GetError::ShutDown) => unreachable!(),
                        };
                        acc.fetch_add(item as usize, Ordering::SeqCst);
                        q.task_done().unwrap();
                    }
                })
            })
            .collect();
        q.join().await.unwrap();
        assert_eq!(acc.load(Ordering::SeqCst), (0..100).sum::<usize>());
        for w in &workers {
            w.cancel();
        }
        for w in workers {
            assert!(w.await.unwrap_err().is_cancelled());
        }
        assert_eq!(q.task_done(), Err(TaskDoneError));
    });
}

#[test]
fn asyncio_docs_example_three_workers_sleep_jobs_then_join_and_cancel() {
    let mut rng = XorShift::new(0x5eed);
    let jobs: Vec<Duration> = (0..20)
        .map(|_| Duration::from_millis(1 + rng.below(5)))
        .collect();
    let total: Duration = jobs.iter().sum();
    rt(1).run(async move {
        let queue = Queue::new(0);
        for d in &jobs {
            queue.put_nowait(*d).unwrap();
        }
        let done = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (queue, done) = (queue.clone(), done.clone());
                corio::spawn(async move {
                    loop {
                        let sleep_for = match queue.get().await {
                            Ok(d) => d,
                            Err(GetError::Cancelled(c)) => return Err::<(), _>(c),
                            Err(GetError::ShutDown) => unreachable!(),
                        };
                        corio::sleep(sleep_for).await?;
                        queue.task_done().unwrap();
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        let started = Instant::now();
        queue.join().await.unwrap();
        let slept = started.elapsed();
        assert_eq!(done.load(Ordering::SeqCst), 20);
        assert!(queue.empty());
        // Three workers sleep in parallel: at least a third of the total.
        assert!(slept >= total / 3, "{slept:?} < {total:?} / 3");
        for w in &workers {
            w.cancel();
        }
        for w in workers {
            assert!(w.await.unwrap_err().is_cancelled());
        }
    });
}

#[test]
fn join_returns_at_once_with_nothing_unfinished() {
    // test_join_empty_queue (twice, for insurance).
    rt(1).run(async {
        let q = Queue::<()>::new(0);
        q.join().await.unwrap();
        q.join().await.unwrap();
        q.put_nowait(()).unwrap();
        q.get_nowait().unwrap();
        q.task_done().unwrap();
        q.join().await.unwrap();
    });
    Queue::<()>::new(0).join_blocking();
}

#[test]
fn join_waits_for_task_done_not_for_get() {
    rt(1).run(async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let q2 = q.clone();
        let joiner = corio::spawn(async move { q2.join().await });
        let q3 = q.clone();
        let joiner2 = corio::spawn(async move { q3.join().await });
        corio::yield_now().await.unwrap();
        q.get_nowait().unwrap();
        q.get_nowait().unwrap();
        yield_n(2).await;
        assert!(
            !joiner.done(),
            "join returned with items taken but not done"
        );
        q.task_done().unwrap();
        yield_n(2).await;
        assert!(!joiner.done());
        q.task_done().unwrap();
        joiner.await.unwrap().unwrap();
        joiner2.await.unwrap().unwrap();
    });
}

#[test]
fn task_done_called_too_many_times_is_an_error() {
    // test_task_done_underflow.
    let q = Queue::<u8>::new(0);
    assert_eq!(q.task_done(), Err(TaskDoneError));
    assert!(TaskDoneError.to_string().contains("too many times"));
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    q.get_nowait().unwrap();
    // task_done counts puts, not gets: two are allowed.
    q.task_done().unwrap();
    q.task_done().unwrap();
    assert_eq!(q.task_done(), Err(TaskDoneError));
}

#[test]
fn a_cancelled_join_returns_cancelled_and_the_next_join_still_works() {
    rt(1).run(async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        let q2 = q.clone();
        let joiner = corio::spawn(async move { q2.join().await });
        corio::yield_now().await.unwrap();
        joiner.cancel();
        assert!(joiner.await.unwrap_err().is_cancelled());
        let q3 = q.clone();
        let joiner = corio::spawn(async move { q3.join().await });
        corio::yield_now().await.unwrap();
        q.get_nowait().unwrap();
        q.task_done().unwrap();
        joiner.await.unwrap().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Cancellation loses nothing.

#[test]
fn a_getter_cancelled_by_a_timeout_is_not_held_in_the_getters() {
    // test_cancelled_getters_not_being_held_in_self_getters: a stale waiter
    // would take the wakeup meant for the next getter.
    rt(1).run(async {
        let q = Queue::new(5);
        let r = corio::wait_for(q.get(), 10 * MS).await;
        assert!(r.is_err(), "expected a TimeoutError, got {r:?}");
        let q2 = q.clone();
        let next = corio::spawn(async move { q2.get().await.unwrap() });
        corio::yield_now().await.unwrap();
        q.put_nowait(1).unwrap();
        assert_eq!(next.await.unwrap(), 1);
        assert!(q.empty());
    });
}

#[test]
fn a_putter_cancelled_by_a_timeout_is_not_held_in_the_putters() {
    // test_cancelled_puts_not_being_held_in_self_putters, with wait_for.
    rt(1).run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let r = corio::wait_for(q.put(2), 10 * MS).await;
        assert!(r.is_err(), "expected a TimeoutError");
        assert_eq!(q.qsize(), 1);
        let q2 = q.clone();
        let next = corio::spawn(async move { q2.put(3).await.unwrap() });
        corio::yield_now().await.unwrap();
        assert_eq!(q.get_nowait().unwrap(), 1);
        next.await.unwrap();
        assert_eq!(q.get_nowait().unwrap(), 3);
        assert!(q.empty());
    });
}

#[test]
fn a_cancelled_put_task_inserts_nothing_and_gets_its_item_back() {
    // test_cancelled_puts_not_being_held_in_self_putters.
    rt(1).run(async {
        let q = Queue::new(1);
        q.put_nowait(String::from("one")).unwrap();
        let q2 = q.clone();
        let put_task = corio::spawn(async move {
            match q2.put(String::from("two")).await {
                Err(PutError::Cancelled { cancelled, item }) => {
                    assert_eq!(cancelled.scope(), CancelScope::Task);
                    cancelled.suppress();
                    Some(item)
                }
                other => panic!("expected a cancelled put, got {other:?}"),
            }
        });
        corio::yield_now().await.unwrap();
        put_task.cancel();
        assert_eq!(put_task.await.unwrap().as_deref(), Some("two"));
        assert_eq!(q.qsize(), 1);
        // The putter is gone: the next one gets the room.
        let q3 = q.clone();
        let next = corio::spawn(async move { q3.put(String::from("three")).await.unwrap() });
        corio::yield_now().await.unwrap();
        assert_eq!(q.get_nowait().unwrap(), "one");
        next.await.unwrap();
        assert_eq!(q.get_nowait().unwrap(), "three");
        assert!(q.empty());
    });
}

#[test]
fn a_put_task_that_lets_the_cancellation_through_ends_cancelled() {
    rt(1).run(async {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let q2 = q.clone();
        let put_task = corio::spawn(async move { q2.put(1).await });
        corio::yield_now().await.unwrap();
        put_task.cancel();
        match put_task.await {
            Err(TaskError::Cancelled(_)) => {}
            other => panic!("expected a cancelled task, got {other:?}"),
        }
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get_nowait().unwrap(), 0);
        assert!(q.empty());
    });
}

#[test]
fn a_putter_woken_by_get_nowait_then_cancelled_inserts_nothing() {
    // test_cancelled_put_silence_value_error_exception.
    rt(1).run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let q2 = q.clone();
        let put_task = corio::spawn(async move { q2.put(2).await });
        corio::yield_now().await.unwrap();
        // get_nowait notifies the putter; it is cancelled before it runs.
        assert_eq!(q.get_nowait().unwrap(), 1);
        put_task.cancel();
        assert!(put_task.await.unwrap_err().is_cancelled());
        assert!(q.empty());
        q.put_nowait(3).unwrap();
        assert_eq!(q.get_nowait().unwrap(), 3);
    });
}

#[test]
fn put_cancelled_race_the_cancelled_putter_does_not_take_the_room() {
    // test_put_cancelled_race.
    rt(1).run(async {
        let q = Queue::new(1);
        let put_a = corio::spawn({
            let q = q.clone();
            async move { q.put('a').await }
        });
        let put_b = corio::spawn({
            let q = q.clone();
            async move { q.put('b').await }
        });
        let put_c = corio::spawn({
            let q = q.clone();
            async move { q.put('X').await }
        });
        corio::yield_now().await.unwrap();
        assert!(put_a.done());
        assert!(!put_b.done());
        put_c.cancel();
        corio::yield_now().await.unwrap();
        assert!(put_c.done());
        assert_eq!(q.get_nowait().unwrap(), 'a');
        corio::yield_now().await.unwrap();
        assert_eq!(q.get_nowait().unwrap(), 'b');
        put_b.await.unwrap().unwrap();
        put_a.await.unwrap().unwrap();
        assert!(put_c.await.unwrap_err().is_cancelled());
        assert!(q.empty());
    });
}

#[test]
fn a_notified_putter_cancelled_before_it_runs_passes_the_room_to_the_next_putter() {
    rt(1).run(async {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let put_b = corio::spawn({
            let q = q.clone();
            async move {
                match q.put(1).await {
                    Err(PutError::Cancelled { cancelled, item }) => {
                        cancelled.suppress();
                        Err(item)
                    }
                    other => Ok(other),
                }
            }
        });
        let put_c = corio::spawn({
            let q = q.clone();
            async move { q.put(2).await }
        });
        corio::yield_now().await.unwrap();
        assert!(!put_b.done() && !put_c.done());
        // The room is for B (notified), but B is cancelled before it runs:
        // C must get it, or it waits forever with room in the queue.
        assert_eq!(q.get_nowait().unwrap(), 0);
        put_b.cancel();
        assert_eq!(put_b.await.unwrap().unwrap_err(), 1);
        put_c.await.unwrap().unwrap();
        assert_eq!(q.get_nowait().unwrap(), 2);
        assert!(q.empty());
    });
}

#[test]
fn put_cancel_drop_a_retried_put_inserts_exactly_once() {
    // test_put_cancel_drop.
    rt(1).run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let q2 = q.clone();
        let writer = corio::spawn(async move { q2.put(2).await });
        corio::yield_now().await.unwrap();
        assert_eq!(q.get_nowait().unwrap(), 1);
        writer.cancel();
        if writer.await.is_err() {
            // Try again.
            let q2 = q.clone();
            corio::spawn(async move { q2.put(2).await })
                .await
                .unwrap()
                .unwrap();
        }
        assert_eq!(q.get_nowait().unwrap(), 2);
        assert_eq!(q.qsize(), 0);
    });
}

#[test]
fn get_cancelled_race_a_cancelled_getter_leaves_the_item_to_the_next() {
    // test_get_cancelled_race: t1 is cancelled while it waits, then the put.
    rt(1).run(async {
        let q = Queue::new(0);
        let t1 = corio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        let t2 = corio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        corio::yield_now().await.unwrap();
        t1.cancel();
        corio::yield_now().await.unwrap();
        assert!(t1.done());
        q.put('a').await.unwrap();
        corio::yield_now().await.unwrap();
        assert_eq!(t2.await.unwrap().unwrap(), 'a');
        assert!(t1.await.unwrap_err().is_cancelled());
        assert!(q.empty());
    });
}

#[test]
fn a_getter_woken_by_a_put_then_cancelled_before_it_runs_passes_the_item_on() {
    // The brief's test_get_cancelled_race: getters A and B wait; a put
    // wakes A; A is cancelled before it runs; B gets the item.
    rt(1).run(async {
        let q = Queue::new(0);
        let a = corio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        let b = corio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        corio::yield_now().await.unwrap();
        q.put_nowait("item").unwrap();
        a.cancel();
        assert_eq!(q.qsize(), 1, "the item is taken only when a getter runs");
        match a.await {
            Err(TaskError::Cancelled(_)) => {}
            other => panic!("expected A cancelled, got {other:?}"),
        }
        assert_eq!(b.await.unwrap().unwrap(), "item");
        assert_eq!(q.qsize(), 0);
        assert!(q.get_nowait().is_err());
    });
}

#[test]
fn a_woken_getter_that_refuses_the_cancellation_still_took_no_item() {
    rt(1).run(async {
        let q = Queue::new(0);
        let a = corio::spawn({
            let q = q.clone();
            async move {
                match q.get().await {
                    Err(GetError::Cancelled(c)) => {
                        c.suppress();
                        None
                    }
                    other => Some(other.unwrap()),
                }
            }
        });
        let b = corio::spawn({
            let q = q.clone();
            async move { q.get().await.unwrap() }
        });
        corio::yield_now().await.unwrap();
        q.put_nowait(5).unwrap();
        a.cancel();
        assert_eq!(a.await.unwrap(), None);
        assert_eq!(b.await.unwrap(), 5);
        assert!(q.empty());
    });
}

/// Set in the child process that runs a scenario which may crash it.
const CHILD_ENV: &str = "CORIO_SYNC_QUEUES_CHILD";

/// Runs the test `name` of this binary in a child process, with
/// [`CHILD_ENV`] set: a scenario that crashes takes down the child only.
fn run_in_child(name: &str) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap()
}

#[test]
fn a_woken_getter_aborted_before_it_runs_passes_the_item_on() {
    let out = run_in_child("child_a_woken_getter_aborted_before_it_runs");
    assert!(
        out.status.success(),
        "the scenario failed in its child process ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The scenario of `a_woken_getter_aborted_before_it_runs_passes_the_item_on`
/// (it does nothing unless run by it, in a child process).
#[test]
fn child_a_woken_getter_aborted_before_it_runs() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    rt(1).run(async {
        let q = Queue::new(0);
        let a = corio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        let b = corio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        corio::yield_now().await.unwrap();
        q.put_nowait(1).unwrap();
        a.abort();
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(b.await.unwrap().unwrap(), 1);
        assert!(q.empty());
    });
}

#[test]
fn a_woken_get_future_dropped_before_it_runs_passes_the_item_on() {
    rt(1).run(async {
        let q = Queue::new(0);
        {
            let mut a = Box::pin(q.get());
            // Register A in front of B.
            std::future::poll_fn(|cx| {
                assert!(a.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            let b = corio::spawn({
                let q = q.clone();
                async move { q.get().await }
            });
            corio::yield_now().await.unwrap();
            q.put_nowait(1).unwrap(); // notifies A
            drop(a); // ... which never runs: B must get the item
            assert_eq!(b.await.unwrap().unwrap(), 1);
        }
        assert!(q.empty());
    });
}

#[test]
fn get_cancel_drop_one_pending_reader_the_retry_gets_the_first_item() {
    // test_get_cancel_drop_one_pending_reader.
    rt(1).run(async {
        let q = Queue::new(0);
        let reader = corio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        corio::yield_now().await.unwrap();
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        reader.cancel();
        let result = match reader.await {
            Ok(r) => r.unwrap(),
            Err(e) => {
                assert!(e.is_cancelled());
                // Try again.
                let q = q.clone();
                corio::spawn(async move { q.get().await })
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        // 2 would mean that 1 was dropped.
        assert_eq!(result, 1);
        assert_eq!(q.qsize(), 1);
    });
}

#[test]
fn get_cancel_drop_many_pending_readers_the_others_get_both_items() {
    // test_get_cancel_drop_many_pending_readers.
    rt(1).run(async {
        let q = Queue::new(0);
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                corio::spawn(async move { q.get().await })
            })
            .collect();
        corio::yield_now().await.unwrap();
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let mut readers = readers.into_iter();
        let reader1 = readers.next().unwrap();
        reader1.cancel();
        assert!(reader1.await.unwrap_err().is_cancelled());
        let mut got: Vec<i32> = Vec::new();
        for r in readers {
            got.push(r.await.unwrap().unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(q.empty());
    });
}

#[test]
fn get_within_its_timeout_returns_the_item() {
    // test_get_cancelled (within the timeout).
    rt(1).run(async {
        let q = Queue::new(0);
        let q2 = q.clone();
        let get_task =
            corio::spawn(async move { corio::wait_for(q2.get(), Duration::from_secs(5)).await });
        corio::sleep(5 * MS).await.unwrap();
        q.put_nowait(1).unwrap();
        assert_eq!(get_task.await.unwrap().unwrap().unwrap(), 1);
    });
}

#[test]
fn wait_for_get_with_tiny_timeouts_repeated_never_loses_an_item() {
    const N: u32 = 300;
    rt(1).run(async {
        let q = Queue::new(4);
        let q2 = q.clone();
        let producer = corio::spawn(async move {
            let mut rng = XorShift::new(7);
            for i in 0..N {
                if rng.below(4) == 0 {
                    corio::sleep(Duration::from_micros(rng.below(300)))
                        .await
                        .unwrap();
                }
                q2.put(i).await.unwrap();
            }
        });
        let mut rng = XorShift::new(11);
        let mut got = Vec::new();
        let mut timeouts = 0;
        while got.len() < N as usize {
            let d = Duration::from_micros(rng.below(40));
            match corio::wait_for(q.get(), d).await {
                Ok(Ok(v)) => got.push(v),
                Ok(Err(e)) => panic!("get failed inside wait_for: {e}"),
                Err(_timeout) => timeouts += 1,
            }
        }
        producer.await.unwrap();
        assert_eq!(got, (0..N).collect::<Vec<_>>());
        assert!(q.empty());
        assert!(timeouts > 0, "no timeout happened: the test tested nothing");
    });
}

#[test]
fn every_await_is_a_cancellation_point_even_on_a_ready_queue() {
    rt(1).run(async {
        let q = Queue::new(2);
        q.put_nowait(1).unwrap();
        let q2 = q.clone();
        let task = corio::spawn(async move {
            // Cancelled before it calls get() on a queue with an item.
            corio::current_task().unwrap().cancel();
            let get = q2.get().await;
            let Err(GetError::Cancelled(c)) = get else {
                panic!("get was not cancelled: {get:?}");
            };
            c.suppress();
            corio::current_task().unwrap().cancel();
            let put = q2.put(2).await;
            let Err(PutError::Cancelled { cancelled, item }) = put else {
                panic!("put was not cancelled: {put:?}");
            };
            cancelled.suppress();
            corio::current_task().unwrap().cancel();
            let join = q2.join().await;
            join.unwrap_err().suppress();
            item
        });
        assert_eq!(task.await.unwrap(), 2);
        assert_eq!(q.qsize(), 1, "a cancelled get or put changed the queue");
        assert_eq!(q.get_nowait().unwrap(), 1);

        // The same when another task cancels one that is about to get: it
        // is suspended in a plain future (not a cancellation point), so the
        // get is the first corio await to see the request.
        q.put_nowait(3).unwrap();
        let q2 = q.clone();
        let task = corio::spawn(async move {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if yielded {
                    Poll::Ready(())
                } else {
                    yielded = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
            q2.get().await
        });
        corio::yield_now().await.unwrap();
        assert!(!task.done());
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get_nowait().unwrap(), 3);
    });
}

#[test]
fn get_stack_of_a_task_blocked_in_get_points_into_this_file() {
    rt(1).run(async {
        let q = Queue::<u8>::new(1);
        let lo = line!();
        let getter = corio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        let hi = line!();
        corio::yield_now().await.unwrap();
        let stack = getter.get_stack();
        assert!(
            stack
                .iter()
                .any(|l| l.file().ends_with("sync_queues.rs") && (lo..=hi).contains(&l.line())),
            "get_stack() = {stack:?}"
        );

        q.put_nowait(1).unwrap();
        assert_eq!(getter.await.unwrap().unwrap(), 1);
        q.put_nowait(2).unwrap();
        let lo = line!();
        let putter = corio::spawn({
            let q = q.clone();
            async move { q.put(3).await }
        });
        let hi = line!();
        corio::yield_now().await.unwrap();
        let stack = putter.get_stack();
        assert!(
            stack
                .iter()
                .any(|l| l.file().ends_with("sync_queues.rs") && (lo..=hi).contains(&l.line())),
            "get_stack() = {stack:?}"
        );
        q.get_nowait().unwrap();
        putter.await.unwrap().unwrap();
    });
}

// ---------------------------------------------------------------------------
// shutdown (3.13).

#[test]
fn shutdown_of_an_empty_queue_fails_put_and_get() {
    // test_shutdown_empty.
    rt(1).run(async {
        let q = Queue::new(0);
        q.shutdown(false);
        assert!(q.is_shut_down());
        let err = q.put(String::from("data")).await.unwrap_err();
        assert!(err.to_string().contains("QueueShutDown"), "{err}");
        match err {
            PutError::ShutDown(item) => assert_eq!(item, "data"),
            PutError::Cancelled { .. } => panic!("not cancelled"),
        }
        match q.put_nowait(String::from("data2")) {
            Err(TryPutError::ShutDown(item)) => assert_eq!(item, "data2"),
            other => panic!("expected ShutDown, got {other:?}"),
        }
        assert!(matches!(q.get().await, Err(GetError::ShutDown)));
        assert_eq!(q.get_nowait(), Err(TryGetError::ShutDown));
        // join has nothing to wait for.
        q.join().await.unwrap();
    });
}

#[test]
fn shutdown_lets_get_drain_what_is_left_then_fail() {
    // test_shutdown_nonempty.
    rt(1).run(async {
        let q = Queue::new(2);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        q.shutdown(false);
        assert!(matches!(q.put(3).await, Err(PutError::ShutDown(3))));
        assert!(matches!(q.put_nowait(3), Err(TryPutError::ShutDown(3))));
        assert_eq!(q.get().await.unwrap(), 1);
        assert_eq!(q.get_nowait().unwrap(), 2);
        assert!(matches!(q.get().await, Err(GetError::ShutDown)));
        assert_eq!(q.get_nowait(), Err(TryGetError::ShutDown));
        // shutdown(false) does not count the items done.
        q.task_done().unwrap();
        q.task_done().unwrap();
        assert_eq!(q.task_done(), Err(TaskDoneError));
    });
}

#[test]
fn shutdown_wakes_blocked_getters_and_they_fail() {
    for immediate in [false, true] {
        rt(1).run(async move {
            let q = Queue::<u32>::new(0);
            let getters: Vec<_> = (0..3)
                .map(|_| {
                    let q = q.clone();
                    corio::spawn(async move { q.get().await })
                })
                .collect();
            corio::yield_now().await.unwrap();
            assert!(getters.iter().all(|g| !g.done()));
            q.shutdown(immediate);
            for g in getters {
                assert!(matches!(g.await.unwrap(), Err(GetError::ShutDown)));
            }
        });
    }
}

#[test]
fn shutdown_wakes_blocked_putters_and_they_fail_with_their_item() {
    // test_shutdown_putters.
    for immediate in [false, true] {
        rt(1).run(async move {
            let q = Queue::new(1);
            q.put_nowait(0).unwrap();
            let putters: Vec<_> = (1..=3)
                .map(|i| {
                    let q = q.clone();
                    corio::spawn(async move { q.put(i).await })
                })
                .collect();
            corio::yield_now().await.unwrap();
            assert!(putters.iter().all(|p| !p.done()));
            q.shutdown(immediate);
            for (i, p) in (1..=3).zip(putters) {
                match p.await.unwrap() {
                    Err(PutError::ShutDown(item)) => assert_eq!(item, i),
                    other => panic!("expected ShutDown, got {other:?}"),
                }
            }
            if immediate {
                assert!(q.empty());
                assert_eq!(q.get_nowait(), Err(TryGetError::ShutDown));
            } else {
                assert_eq!(q.get_nowait().unwrap(), 0);
                assert!(matches!(q.get().await, Err(GetError::ShutDown)));
            }
        });
    }
}

#[test]
fn shutdown_without_immediate_leaves_join_waiting_for_task_done() {
    rt(1).run(async {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        let q2 = q.clone();
        let joiner = corio::spawn(async move { q2.join().await });
        corio::yield_now().await.unwrap();
        q.shutdown(false);
        yield_n(3).await;
        assert!(!joiner.done());
        assert_eq!(q.get().await.unwrap(), 1);
        q.task_done().unwrap();
        joiner.await.unwrap().unwrap();
    });
}

#[test]
fn shutdown_immediate_drops_queued_items_and_counts_them_done() {
    // test_shutdown_immediate, test_shutdown_immediate_with_unfinished.
    rt(1).run(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Queue::new(0);
        for id in 0..5 {
            q.put_nowait(Counted {
                id,
                drops: drops.clone(),
            })
            .unwrap();
        }
        let held = q.get().await.unwrap(); // taken, not yet done
        assert_eq!(held.id, 0);
        let q2 = q.clone();
        let joiner = corio::spawn(async move { q2.join().await });
        corio::yield_now().await.unwrap();
        q.shutdown(true);
        assert_eq!(drops.load(Ordering::SeqCst), 4, "the queued items");
        assert!(q.empty());
        assert!(matches!(q.get().await, Err(GetError::ShutDown)));
        let back = q
            .put(Counted {
                id: 9,
                drops: drops.clone(),
            })
            .await
            .unwrap_err()
            .into_item();
        assert_eq!(back.id, 9);
        drop(back);
        assert_eq!(drops.load(Ordering::SeqCst), 5);
        // The held item is still unfinished: join waits for it.
        yield_n(3).await;
        assert!(!joiner.done());
        drop(held);
        q.task_done().unwrap();
        joiner.await.unwrap().unwrap();
        assert_eq!(q.task_done(), Err(TaskDoneError));
        assert_eq!(drops.load(Ordering::SeqCst), 6);
    });
}

#[test]
fn shutdown_immediate_wakes_blocked_join_and_putters() {
    rt(1).run(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Queue::new(2);
        let item = |id| Counted {
            id,
            drops: drops.clone(),
        };
        q.put_nowait(item(0)).unwrap();
        q.put_nowait(item(1)).unwrap();
        let putter = corio::spawn({
            let q = q.clone();
            let it = item(2);
            async move { q.put(it).await.map_err(|e| e.into_item().id) }
        });
        let joiners: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                corio::spawn(async move { q.join().await })
            })
            .collect();
        corio::yield_now().await.unwrap();
        assert!(!putter.done() && joiners.iter().all(|j| !j.done()));
        q.shutdown(true);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert_eq!(putter.await.unwrap(), Err(2));
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        for j in joiners {
            j.await.unwrap().unwrap();
        }
        assert_eq!(q.task_done(), Err(TaskDoneError));
        q.join().await.unwrap();
    });
}

#[test]
fn shutdown_immediate_drops_the_items_before_it_returns_and_outside_the_lock() {
    // Each item's destructor reads the queue: a destructor run under the
    // queue's mutex would deadlock (reported as a failure by the timeout).
    type Probe = Box<dyn Fn() -> usize + Send + Sync>;
    struct Item {
        probe: Arc<OnceLock<Probe>>,
        seen: Arc<Mutex<Vec<usize>>>,
    }
    impl Drop for Item {
        fn drop(&mut self) {
            let qsize = (self.probe.get().unwrap())();
            self.seen.lock().unwrap().push(qsize);
        }
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let probe: Arc<OnceLock<Probe>> = Arc::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let q = Queue::new(0);
        let q2 = q.clone();
        assert!(probe.set(Box::new(move || q2.qsize())).is_ok());
        for _ in 0..3 {
            q.put_nowait(Item {
                probe: probe.clone(),
                seen: seen.clone(),
            })
            .unwrap();
        }
        q.shutdown(true);
        let seen = seen.lock().unwrap().clone();
        tx.send(seen).unwrap();
    });
    let seen = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("shutdown(true) deadlocked: an item was dropped under the queue's lock");
    assert_eq!(seen, [0, 0, 0]);
}

// ---------------------------------------------------------------------------
// The blocking bridge.

#[test]
fn put_blocking_from_a_plain_thread_feeds_tasks_in_order() {
    let q = Queue::new(3);
    let producer = std::thread::spawn({
        let q = q.clone();
        move || {
            for i in 0..200 {
                q.put_blocking(i).unwrap();
            }
        }
    });
    let got = rt(1).run(async move {
        let mut got = Vec::new();
        for _ in 0..200 {
            got.push(q.get().await.unwrap());
        }
        got
    });
    producer.join().unwrap();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
}

#[test]
fn get_blocking_from_a_plain_thread_takes_what_tasks_put_in_order() {
    let q = Queue::new(2);
    let consumer = std::thread::spawn({
        let q = q.clone();
        move || {
            (0..200)
                .map(|_| q.get_blocking().unwrap())
                .collect::<Vec<_>>()
        }
    });
    rt(2).run(async move {
        for i in 0..200 {
            q.put(i).await.unwrap();
        }
    });
    assert_eq!(consumer.join().unwrap(), (0..200).collect::<Vec<_>>());
}

#[test]
fn put_blocking_waits_while_full() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let putter = std::thread::spawn({
        let (q, done) = (q.clone(), done.clone());
        move || {
            q.put_blocking(2).unwrap();
            done.store(true, Ordering::SeqCst);
        }
    });
    std::thread::sleep(20 * MS);
    assert!(!done.load(Ordering::SeqCst), "put_blocking did not wait");
    assert_eq!(q.qsize(), 1);
    rt(1).run({
        let q = q.clone();
        async move { assert_eq!(q.get().await.unwrap(), 1) }
    });
    putter.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
    assert_eq!(q.get_nowait().unwrap(), 2);
}

#[test]
fn get_blocking_and_put_blocking_return_shut_down_after_shutdown() {
    let q = Queue::<u32>::new(1);
    let getter = std::thread::spawn({
        let q = q.clone();
        move || q.get_blocking()
    });
    // Whether it already waits or not, it ends with ShutDown.
    std::thread::sleep(5 * MS);
    q.shutdown(false);
    assert!(matches!(getter.join().unwrap(), Err(GetError::ShutDown)));
    assert!(matches!(q.get_blocking(), Err(GetError::ShutDown)));
    assert!(matches!(q.put_blocking(4), Err(PutError::ShutDown(4))));

    // A put_blocking waiting for room is woken by the shutdown.
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let putter = std::thread::spawn({
        let q = q.clone();
        move || q.put_blocking(1)
    });
    std::thread::sleep(5 * MS);
    q.shutdown(false);
    assert!(matches!(putter.join().unwrap(), Err(PutError::ShutDown(1))));
    assert_eq!(q.get_blocking().unwrap(), 0);
}

#[test]
fn join_blocking_from_a_plain_thread_waits_for_task_done_in_tasks() {
    let q = Queue::new(0);
    for i in 0..10 {
        q.put_nowait(i).unwrap();
    }
    let joiner = std::thread::spawn({
        let q = q.clone();
        move || q.join_blocking()
    });
    rt(2).run(async move {
        for _ in 0..10 {
            q.get().await.unwrap();
            q.task_done().unwrap();
        }
    });
    joiner.join().unwrap();
}

/// The message of a task's panic.
fn panic_message(r: Result<impl std::fmt::Debug, TaskError>) -> String {
    match r {
        Err(TaskError::Panicked { message, .. }) => message,
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn blocking_methods_on_a_corio_worker_panic() {
    let messages = rt(1).run(async {
        let q = Queue::<u8>::new(1);
        let get = corio::spawn({
            let q = q.clone();
            async move { q.get_blocking() }
        });
        let get = panic_message(get.await);
        let put = corio::spawn({
            let q = q.clone();
            async move { q.put_blocking(1) }
        });
        let put = panic_message(put.await);
        let join = corio::spawn({
            let q = q.clone();
            async move { q.join_blocking() }
        });
        let join = panic_message(join.await);
        // Nothing happened to the queue.
        assert!(q.empty());
        [get, put, join]
    });
    let [get, put, join] = messages;
    assert!(get.contains("get_blocking()"), "{get}");
    assert!(get.contains("corio worker"), "{get}");
    assert!(get.contains(".await"), "{get}");
    assert!(put.contains("put_blocking()"), "{put}");
    assert!(join.contains("join_blocking()"), "{join}");
}

#[test]
fn get_blocking_panic_on_a_worker_names_get_await() {
    // The brief (and get_blocking's docs: "use `get().await` there"): the
    // message names the async method to use.
    let message = rt(1).run(async {
        let q = Queue::<u8>::new(1);
        let task = corio::spawn(async move { q.get_blocking() });
        panic_message(task.await)
    });
    assert!(message.contains("get().await"), "{message}");
}

#[test]
fn get_blocking_works_inside_to_thread() {
    rt(1).run(async {
        let q = Queue::new(0);
        let q2 = q.clone();
        let blocked = corio::to_thread(move || {
            let a = q2.get_blocking().unwrap();
            let b = q2.get_blocking().unwrap();
            q2.put_blocking(a + b).unwrap();
        });
        q.put(20).await.unwrap();
        q.put(22).await.unwrap();
        blocked.await.unwrap();
        assert_eq!(q.get().await.unwrap(), 42);
    });
}

// ---------------------------------------------------------------------------
// Several workers, memory, stress.

#[test]
fn cloned_handles_work_from_tasks_on_two_workers() {
    const PER_PRODUCER: u32 = 1000;
    let (mut got, by_consumer) = rt(2).run(async {
        let q = Queue::new(8);
        let producers: Vec<_> = (0..2u32)
            .map(|p| {
                let q = q.clone();
                corio::spawn(async move {
                    for i in 0..PER_PRODUCER {
                        q.put(p * PER_PRODUCER + i).await.unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                corio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        match q.get().await {
                            Ok(v) => {
                                got.push(v);
                                q.task_done().unwrap();
                            }
                            Err(GetError::ShutDown) => return got,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        q.join().await.unwrap();
        q.shutdown(false);
        let mut all = Vec::new();
        let mut by_consumer = Vec::new();
        for c in consumers {
            let got = c.await.unwrap();
            // Each consumer sees each producer's items in order.
            for p in 0..2 {
                let mine: Vec<_> = got.iter().filter(|&&v| v / PER_PRODUCER == p).collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]));
            }
            by_consumer.push(got.len());
            all.extend(got);
        }
        (all, by_consumer)
    });
    got.sort_unstable();
    assert_eq!(got, (0..2 * PER_PRODUCER).collect::<Vec<_>>());
    assert_eq!(by_consumer.iter().sum::<usize>(), 2 * PER_PRODUCER as usize);
}

#[test]
fn a_burst_of_100_000_items_then_drained_leaves_a_working_queue() {
    const N: u32 = 100_000;
    rt(1).run(async {
        let q = Queue::new(0);
        for i in 0..N {
            q.put_nowait(i).unwrap();
        }
        assert_eq!(q.qsize(), N as usize);
        for i in 0..N {
            assert_eq!(q.get_nowait().unwrap(), i);
        }
        assert!(q.empty());
        // Still a FIFO queue that blocks and wakes.
        let q2 = q.clone();
        let getter =
            corio::spawn(async move { (q2.get().await.unwrap(), q2.get().await.unwrap()) });
        corio::yield_now().await.unwrap();
        q.put(1).await.unwrap();
        q.put(2).await.unwrap();
        assert_eq!(getter.await.unwrap(), (1, 2));
        for _ in 0..N + 2 {
            q.task_done().unwrap();
        }
        assert_eq!(q.task_done(), Err(TaskDoneError));
        q.join().await.unwrap();

        // A burst of waiters, then the same again. (With more tasks than a
        // worker's local run queue holds, one worker does not run them in
        // strict FIFO order: only the set of items is checked here.)
        for round in 0..2 {
            let started = Arc::new(AtomicUsize::new(0));
            let getters: Vec<_> = (0..1000)
                .map(|_| {
                    let (q, started) = (q.clone(), started.clone());
                    corio::spawn(async move {
                        started.fetch_add(1, Ordering::SeqCst);
                        q.get().await.unwrap()
                    })
                })
                .collect();
            while started.load(Ordering::SeqCst) < 1000 {
                corio::yield_now().await.unwrap();
            }
            for i in 0..1000 {
                q.put_nowait(round * 1000 + i).unwrap();
            }
            let mut got = Vec::new();
            for g in getters {
                got.push(g.await.unwrap());
            }
            got.sort_unstable();
            assert_eq!(got, (round * 1000..round * 1000 + 1000).collect::<Vec<_>>());
            assert!(q.empty());
        }
        // Fewer waiters than that: served in the order they came.
        let getters: Vec<_> = (0..100)
            .map(|_| {
                let q = q.clone();
                corio::spawn(async move { q.get().await.unwrap() })
            })
            .collect();
        corio::yield_now().await.unwrap();
        for i in 0..100 {
            q.put_nowait(i).unwrap();
        }
        for (i, g) in (0..100).zip(getters) {
            assert_eq!(g.await.unwrap(), i);
        }
        assert!(q.empty());
    });
}

/// One round of the stress test: every item put is received once.
fn stress_round(seed: u64) {
    const PRODUCERS: u32 = 4;
    const CONSUMERS: u64 = 4;
    const PER_PRODUCER: u32 = 5000;
    let start = Instant::now();
    let put_timeouts = Arc::new(AtomicUsize::new(0));
    let get_timeouts = Arc::new(AtomicUsize::new(0));
    let (pt, gt) = (put_timeouts.clone(), get_timeouts.clone());
    let mut got = rt(2).run(async move {
        let q = Queue::new(16);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (q, timeouts) = (q.clone(), pt.clone());
                corio::spawn(async move {
                    let mut rng = XorShift::new(seed ^ (0x9e37_79b9 + u64::from(p)));
                    for i in 0..PER_PRODUCER {
                        let mut item = p * PER_PRODUCER + i;
                        loop {
                            match rng.below(8) {
                                // put under a tiny timeout: on expiry the
                                // item comes back and is put again.
                                0..=2 => {
                                    let d = Duration::from_micros(rng.below(30));
                                    match corio::wait_for(put_keeping_item(&q, item), d).await {
                                        Ok(Ok(())) => break,
                                        Ok(Err(back)) => {
                                            assert_eq!(back, item);
                                            timeouts.fetch_add(1, Ordering::Relaxed);
                                        }
                                        Err(_) => panic!("wait_for dropped item {item}"),
                                    }
                                }
                                // put_nowait, yielding while full.
                                3 => match q.put_nowait(item) {
                                    Ok(()) => break,
                                    Err(TryPutError::Full(back)) => {
                                        item = back;
                                        corio::yield_now().await.unwrap();
                                    }
                                    Err(TryPutError::ShutDown(_)) => unreachable!(),
                                },
                                _ => {
                                    q.put(item).await.unwrap();
                                    break;
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|c| {
                let (q, timeouts) = (q.clone(), gt.clone());
                corio::spawn(async move {
                    let mut rng = XorShift::new(seed ^ (0x51ed_270b + c));
                    let mut got = Vec::new();
                    loop {
                        let r = if rng.below(3) == 0 {
                            // get under a tiny timeout: on expiry no item
                            // was taken.
                            let d = Duration::from_micros(rng.below(30));
                            match corio::wait_for(q.get(), d).await {
                                Ok(r) => r,
                                Err(_) => {
                                    timeouts.fetch_add(1, Ordering::Relaxed);
                                    continue;
                                }
                            }
                        } else {
                            q.get().await
                        };
                        match r {
                            Ok(v) => got.push(v),
                            Err(GetError::ShutDown) => return got,
                            Err(GetError::Cancelled(c)) => panic!("consumer cancelled: {c}"),
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        q.shutdown(false);
        let mut got = Vec::new();
        for c in consumers {
            got.extend(c.await.unwrap());
        }
        assert!(q.empty());
        got
    });
    let n = PRODUCERS * PER_PRODUCER;
    assert_eq!(
        got.len(),
        n as usize,
        "seed {seed}: items lost or duplicated"
    );
    got.sort_unstable();
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "seed {seed}");
    let (pt, gt) = (
        put_timeouts.load(Ordering::Relaxed),
        get_timeouts.load(Ordering::Relaxed),
    );
    // A zero timeout always expires: both kinds happen.
    assert!(
        pt > 0 && gt > 0,
        "seed {seed}: {pt} put and {gt} get timeouts"
    );
    eprintln!(
        "stress seed {seed}: {pt} put and {gt} get timeouts, {:?}",
        start.elapsed()
    );
}

#[test]
fn stress_producers_and_consumers_with_random_timeouts_receive_every_item_once() {
    for seed in [1, 2, 3] {
        stress_round(seed);
    }
}

#[test]
fn consumers_cancelled_at_random_while_blocked_lose_no_item() {
    const N: u32 = 4000;
    const CONSUMERS: usize = 8;
    for workers in [1, 2] {
        let (mut got, cancelled) = rt(workers).run(async move {
            let q = Queue::new(4);
            let received = Arc::new(Mutex::new(Vec::new()));
            let consumers: Vec<_> = (0..CONSUMERS)
                .map(|_| {
                    let (q, received) = (q.clone(), received.clone());
                    corio::spawn(async move {
                        loop {
                            match q.get().await {
                                // No await between the get and the push: an
                                // item taken is always recorded.
                                Ok(v) => received.lock().unwrap().push(v),
                                Err(GetError::ShutDown) => return Ok(()),
                                Err(GetError::Cancelled(c)) => return Err::<(), _>(c),
                            }
                        }
                    })
                })
                .collect();
            let q2 = q.clone();
            let producer = corio::spawn(async move {
                let mut rng = XorShift::new(99);
                for i in 0..N {
                    q2.put(i).await.unwrap();
                    if rng.below(16) == 0 {
                        corio::yield_now().await.unwrap();
                    }
                }
            });
            // Cancel all consumers but two, at random moments.
            let mut rng = XorShift::new(1234);
            let mut order: Vec<usize> = (0..CONSUMERS).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let victims = &order[..CONSUMERS - 2];
            for &v in victims {
                for _ in 0..rng.below(40) {
                    corio::yield_now().await.unwrap();
                }
                consumers[v].cancel();
            }
            producer.await.unwrap();
            // Wait until every item is taken (or give up, and let the
            // assertions below say what is missing).
            let deadline = Instant::now() + Duration::from_secs(10);
            while received.lock().unwrap().len() < N as usize && Instant::now() < deadline {
                corio::sleep(MS).await.unwrap();
            }
            q.shutdown(false);
            let mut cancelled = 0;
            for (i, c) in consumers.into_iter().enumerate() {
                match c.await {
                    Ok(r) => {
                        assert!(!victims.contains(&i), "victim {i} was not cancelled");
                        r.unwrap();
                    }
                    Err(e) => {
                        assert!(e.is_cancelled());
                        assert!(victims.contains(&i));
                        cancelled += 1;
                    }
                }
            }
            let got = std::mem::take(&mut *received.lock().unwrap());
            (got, cancelled)
        });
        assert_eq!(cancelled, CONSUMERS - 2, "workers({workers})");
        assert_eq!(
            got.len(),
            N as usize,
            "workers({workers}): lost or duplicated"
        );
        got.sort_unstable();
        assert_eq!(got, (0..N).collect::<Vec<_>>(), "workers({workers})");
    }
}

#[test]
fn a_hot_producer_and_consumer_on_a_ready_queue_still_let_others_run() {
    // With one worker, a task whose put and get never have to wait only
    // yields through the cooperative budget: the other task must get a turn.
    rt(1).run(async {
        let q = Queue::new(0);
        let ran = Arc::new(AtomicBool::new(false));
        let other = corio::spawn({
            let ran = ran.clone();
            async move { ran.store(true, Ordering::SeqCst) }
        });
        let mut n = 0u32;
        while !ran.load(Ordering::SeqCst) {
            q.put(n).await.unwrap();
            assert_eq!(q.get().await.unwrap(), n);
            n += 1;
            assert!(n < 100_000, "the other task never ran");
        }
        assert!(n > 1, "a ready put/get suspended the task at once");
        other.await.unwrap();
    });
}
