//! A task that yields while nothing else is queued stays where it is: the
//! worker runs it again next, and no parked worker is woken to steal it
//! (`Metrics::worker_park_count` counts how often workers went to sleep).

use std::thread;

use corio::Runtime;

#[test]
fn a_lone_yielding_task_is_not_handed_to_a_woken_worker_on_every_yield() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let metrics = rt.handle().metrics();
    let (parks, migrations) = rt.run(async move {
        // Let the other worker finish starting up and park.
        corio::sleep(std::time::Duration::from_millis(50))
            .await
            .unwrap();
        let parks_before = metrics.worker_park_count();
        let migrations = corio::spawn(async {
            let mut on = thread::current().id();
            let mut migrations = 0;
            for _ in 0..10_000 {
                let _ = corio::yield_now().await;
                let now = thread::current().id();
                if now != on {
                    migrations += 1;
                    on = now;
                }
            }
            migrations
        })
        .await
        .unwrap();
        (metrics.worker_park_count() - parks_before, migrations)
    });
    // Waking the parked worker on every yield made it go back to sleep
    // over a hundred times in 10 000 yields.
    assert!(parks <= 10, "the other worker was woken {parks} times");
    assert!(migrations <= 4, "the task moved {migrations} times");
}
