//! The sleeping examples of asyncio's "Coroutines and Tasks" page, as corio
//! programs: same printed order, durations scaled down (1 s -> 50 ms).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_millis(50);

type Log = Arc<Mutex<Vec<String>>>;

fn log(l: &Log, s: impl Into<String>) {
    l.lock().unwrap().push(s.into());
}

#[test]
fn seed_hello_then_world_after_a_sleep() {
    // async def main(): print('hello'); await asyncio.sleep(1); print('world')
    let l: Log = Arc::default();
    let l2 = l.clone();
    let start = Instant::now();
    corio::run(async move {
        log(&l2, "hello");
        corio::sleep(SECOND).await.unwrap();
        log(&l2, "world");
    });
    assert!(start.elapsed() >= SECOND);
    assert_eq!(*l.lock().unwrap(), ["hello", "world"]);
}

async fn say_after(l: Log, delay: Duration, what: &'static str) {
    corio::sleep(delay).await.unwrap();
    log(&l, what);
}

#[test]
fn seed_say_after_awaited_in_turn_takes_the_sum_of_the_delays() {
    let l: Log = Arc::default();
    let l2 = l.clone();
    let elapsed = corio::run(async move {
        let start = Instant::now();
        say_after(l2.clone(), SECOND, "hello").await;
        say_after(l2.clone(), 2 * SECOND, "world").await;
        start.elapsed()
    });
    assert_eq!(*l.lock().unwrap(), ["hello", "world"]);
    assert!(elapsed >= 3 * SECOND, "{elapsed:?}");
}

#[test]
fn seed_say_after_as_tasks_takes_the_longest_delay() {
    let l: Log = Arc::default();
    let l2 = l.clone();
    let elapsed = corio::run(async move {
        let task1 = corio::create_task(say_after(l2.clone(), SECOND, "hello"));
        let task2 = corio::create_task(say_after(l2.clone(), 2 * SECOND, "world"));
        let start = Instant::now();
        task1.await.unwrap();
        task2.await.unwrap();
        start.elapsed()
    });
    assert_eq!(*l.lock().unwrap(), ["hello", "world"]);
    assert!(elapsed >= 2 * SECOND && elapsed < 3 * SECOND, "{elapsed:?}");
}

#[test]
fn seed_display_date_ticks_every_second_for_five_seconds() {
    // end_time = loop.time() + 5.0
    // while True: print(now); if loop.time() + 1.0 >= end_time: break; await sleep(1)
    let ticks = corio::run(async {
        let start = Instant::now();
        let end_time = start + 5 * SECOND;
        let mut ticks = Vec::new();
        loop {
            ticks.push(start.elapsed());
            if Instant::now() + SECOND >= end_time {
                break;
            }
            corio::sleep(SECOND).await.unwrap();
        }
        ticks
    });
    assert_eq!(ticks.len(), 5, "{ticks:?}");
    for (i, t) in ticks.iter().enumerate() {
        assert!(*t >= SECOND * i as u32, "tick {i} came early: {t:?}");
    }
}
