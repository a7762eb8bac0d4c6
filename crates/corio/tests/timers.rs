//! Timers: sleep, sleep_until, interval, reset, accuracy, ownership across
//! workers, and idle workers firing a busy worker's timers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use corio::{MissedTickBehavior, Runtime};

fn rt(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn a_sleep_never_completes_before_its_deadline() {
    for workers in [1, 2] {
        rt(workers).run(async {
            for ms in [0u64, 1, 2, 3, 5, 8, 13, 21] {
                let start = Instant::now();
                corio::sleep(MS * ms as u32).await.unwrap();
                assert!(
                    start.elapsed() >= MS * ms as u32,
                    "{ms} ms sleep woke early"
                );
            }
        });
    }
}

#[test]
fn on_an_idle_runtime_a_sleep_fires_within_a_few_ms_of_its_deadline() {
    let late = rt(2).run(async {
        let mut worst = Duration::ZERO;
        for _ in 0..5 {
            let deadline = Instant::now() + 30 * MS;
            corio::sleep_until(deadline).await.unwrap();
            worst = worst.max(Instant::now() - deadline);
        }
        worst
    });
    // "A few ms" on a dedicated machine; generous for a loaded CI box.
    assert!(late < 50 * MS, "fired {late:?} late");
}

#[test]
fn three_concurrent_100ms_sleeps_finish_in_well_under_200ms() {
    for workers in [1, 2] {
        let elapsed = rt(workers).run(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..3)
                .map(|_| corio::spawn(async { corio::sleep(100 * MS).await.unwrap() }))
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            start.elapsed()
        });
        assert!(elapsed >= 100 * MS && elapsed < 180 * MS, "{elapsed:?}");
    }
}

#[test]
fn sleep_zero_always_yields_to_the_other_ready_tasks() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    rt(1).run(async move {
        let r2 = r.clone();
        drop(corio::spawn(
            async move { r2.store(true, Ordering::SeqCst) },
        ));
        corio::sleep(Duration::ZERO).await.unwrap();
        assert!(
            r.load(Ordering::SeqCst),
            "sleep(0) did not let the other task run"
        );
    });
    assert!(ran.load(Ordering::SeqCst));
}

#[test]
fn sleep_until_a_past_instant_yields_once_and_completes() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    rt(1).run(async move {
        let o2 = o.clone();
        drop(corio::spawn(
            async move { o2.lock().unwrap().push("other") },
        ));
        corio::sleep_until(Instant::now() - 50 * MS).await.unwrap();
        o.lock().unwrap().push("main");
    });
    assert_eq!(*order.lock().unwrap(), ["other", "main"]);
}

#[test]
fn sleeps_complete_in_deadline_order_with_one_worker() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    rt(1).run(async move {
        let tasks: Vec<_> = [30u32, 10, 20, 0, 40]
            .into_iter()
            .map(|ms| {
                let o = o.clone();
                corio::spawn(async move {
                    corio::sleep(MS * ms).await.unwrap();
                    o.lock().unwrap().push(ms);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*order.lock().unwrap(), [0, 10, 20, 30, 40]);
}

#[test]
fn reset_moves_a_pending_sleep_earlier_and_later() {
    rt(2).run(async {
        let start = Instant::now();
        let mut s = corio::sleep(Duration::from_secs(3600));
        // Register it first, then pull the deadline in.
        assert!(futures_poll_once(&mut s).is_pending());
        s.reset(Instant::now() + 20 * MS);
        s.await.unwrap();
        let e = start.elapsed();
        assert!(e >= 20 * MS && e < Duration::from_secs(5), "{e:?}");

        let start = Instant::now();
        let mut s = corio::sleep(5 * MS);
        assert!(futures_poll_once(&mut s).is_pending());
        s.reset(Instant::now() + 40 * MS);
        s.await.unwrap();
        assert!(start.elapsed() >= 40 * MS);
    });
}

/// Polls a future once with a no-op waker, inside the current task.
fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    std::pin::Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn interval_ticks_on_a_fixed_schedule() {
    rt(1).run(async {
        let start = Instant::now();
        let mut iv = corio::interval(10 * MS);
        let mut ticks = Vec::new();
        for _ in 0..5 {
            ticks.push(iv.tick().await.unwrap());
        }
        for (i, t) in ticks.iter().enumerate() {
            assert_eq!(*t - ticks[0], 10 * MS * i as u32, "tick {i} off schedule");
        }
        assert!(start.elapsed() >= 40 * MS);
    });
}

/// Blocks the worker for `d` (a task that does not yield), so ticks are
/// missed.
fn stall(d: Duration) {
    std::thread::sleep(d);
}

#[test]
fn interval_burst_fires_missed_ticks_back_to_back_on_the_original_schedule() {
    rt(1).run(async {
        let mut iv = corio::interval(10 * MS);
        let t0 = iv.tick().await.unwrap();
        stall(35 * MS);
        let t1 = iv.tick().await.unwrap();
        let t2 = iv.tick().await.unwrap();
        let t3 = iv.tick().await.unwrap();
        assert_eq!((t1 - t0, t2 - t0, t3 - t0), (10 * MS, 20 * MS, 30 * MS));
        // The three catch-up ticks came at once, right after the stall.
        assert!(Instant::now() - t0 < 45 * MS);
    });
}

#[test]
fn interval_delay_restarts_the_schedule_after_a_missed_tick() {
    rt(1).run(async {
        let mut iv = corio::interval(10 * MS);
        iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let t0 = iv.tick().await.unwrap();
        stall(35 * MS);
        let late = iv.tick().await.unwrap(); // scheduled at t0 + 10, seen at ~t0 + 35
        assert_eq!(late - t0, 10 * MS);
        let seen_late = Instant::now();
        let next = iv.tick().await.unwrap();
        assert!(
            next >= seen_late + 10 * MS - MS,
            "next tick not a period after the late one"
        );
    });
}

#[test]
fn interval_skip_drops_missed_ticks_and_keeps_the_phase() {
    rt(1).run(async {
        let mut iv = corio::interval(10 * MS);
        iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let t0 = iv.tick().await.unwrap();
        stall(35 * MS);
        let _late = iv.tick().await.unwrap();
        let next = iv.tick().await.unwrap();
        let offset = (next - t0).as_millis();
        assert_eq!(offset % 10, 0, "phase lost: {offset} ms");
        assert!(offset >= 40, "a missed tick was not skipped: {offset} ms");
    });
}

#[test]
fn a_sleep_dropped_on_another_thread_after_registering_is_cancelled_cleanly() {
    let rt = rt(2);
    let metrics = rt.handle().metrics();
    rt.run(async {
        for _ in 0..100 {
            let mut s = corio::sleep(Duration::from_secs(3600));
            assert!(futures_poll_once(&mut s).is_pending());
            std::thread::spawn(move || drop(s)).join().unwrap();
        }
        // The wheel is empty again: a short sleep still works.
        corio::sleep(5 * MS).await.unwrap();
    });
    drop(rt);
    assert_eq!(metrics.live_tasks(), 0);
}

#[test]
fn a_sleep_moved_to_a_task_on_another_worker_wakes_that_task() {
    rt(2).run(async {
        let mut s = corio::sleep(30 * MS);
        assert!(futures_poll_once(&mut s).is_pending());
        let start = Instant::now();
        corio::spawn(async move { s.await.unwrap() }).await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
    });
}

struct ThreadWaker(std::thread::Thread);
impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal `block_on` for a plain thread.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn a_sleep_made_through_a_handle_works_on_a_plain_thread() {
    let rt = rt(2);
    let handle = rt.handle();
    let elapsed = std::thread::spawn(move || {
        let start = Instant::now();
        block_on(handle.sleep(30 * MS)).unwrap();
        start.elapsed()
    })
    .join()
    .unwrap();
    assert!(
        elapsed >= 30 * MS && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}

#[test]
#[should_panic(expected = "no running event loop")]
fn a_plain_sleep_polled_outside_a_runtime_panics_with_a_clear_message() {
    let _ = block_on(corio::sleep(MS));
}

#[test]
fn an_idle_worker_fires_the_timers_of_a_worker_stuck_in_a_long_poll() {
    let rt = rt(2);
    let (slept, early, elsewhere) = rt.run(async {
        // The main task stays on this thread (worker 0): a sleep it polls
        // first is registered on worker 0's wheel.
        let here = std::thread::current().id();
        let slept_from = Instant::now();
        let mut sleep = corio::sleep(10 * MS);
        assert!(futures_poll_once(&mut sleep).is_pending());
        let first_poll = Arc::new(Mutex::new(false));
        let fp = first_poll.clone();
        let sleeper = corio::spawn(async move {
            *fp.lock().unwrap() = true;
            sleep.await.unwrap();
            (Instant::now(), std::thread::current().id())
        });
        // Let the sleeper wait on that timer (wherever it runs).
        while !*first_poll.lock().unwrap() {
            let _ = corio::yield_now().await;
        }
        // Worker 0 now spins for 300 ms without yielding.
        let spin_start = Instant::now();
        while spin_start.elapsed() < 300 * MS {
            std::hint::spin_loop();
        }
        let (done_at, ran_on) = sleeper.await.unwrap();
        (
            done_at - slept_from,
            done_at < spin_start + 150 * MS,
            ran_on != here,
        )
    });
    assert!(slept >= 10 * MS);
    assert!(early, "the sleeper waited for the busy worker");
    assert!(
        elsewhere,
        "the sleeper did not complete on the other worker"
    );
}

#[test]
fn many_tasks_sleeping_random_durations_all_wake_in_time() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let worst = rt(2).run(async move {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let tasks: Vec<_> = (0..2000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let ms = 1 + (seed % 50) as u32;
                let c = c.clone();
                corio::spawn(async move {
                    let deadline = Instant::now() + MS * ms;
                    corio::sleep_until(deadline).await.unwrap();
                    c.fetch_add(1, Ordering::Relaxed);
                    Instant::now() - deadline
                })
            })
            .collect();
        let mut worst = Duration::ZERO;
        for t in tasks {
            worst = worst.max(t.await.unwrap());
        }
        worst
    });
    assert_eq!(count.load(Ordering::Relaxed), 2000);
    assert!(
        worst < Duration::from_millis(500),
        "a sleeper was {worst:?} late"
    );
}
