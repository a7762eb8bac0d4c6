//! Models the pinned worker's hand-off on the real `Runtime` (see "Pinned
//! workers" in `scheduler/worker.rs`).
//!
//! Protocol exercised: the main task is bound to worker 0, so worker 0 is
//! pinned. Worker 1 starts idle (counted in `Shared::idle_free`), so when
//! the main task spawns a task and waits, worker 0 hands that task to the
//! injector and wakes a worker instead of running it; worker 1 searches,
//! parks and wakes meanwhile, and may stop counting at any point. Either
//! worker 1 takes the task, or worker 0 takes it back (it re-reads the
//! count after it is on the parked list, and a worker that stops counting
//! looks at the injector).
//!
//! The main task waits for a signal that only the spawned task sends: if
//! the hand-off lost the task, both workers would sleep for ever and loom
//! would report a deadlock. Checked as well: the spawned task's value comes
//! back, and dropping the runtime frees everything.
#![cfg(loom)]

mod common;

use common::{checker, Signal, Wait};

use corio_executor::{spawn, Runtime};
use loom::sync::Arc;

#[test]
fn main_hands_a_spawned_task_over_and_it_runs() {
    checker().check(|| {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let signal = Arc::new(Signal::default());
        let s = signal.clone();
        let value = rt.run(async move {
            let task = spawn(async move {
                s.fire();
                7u32
            });
            Wait(signal).await;
            task.await.unwrap()
        });
        assert_eq!(value, 7);
        drop(rt);
    });
}
