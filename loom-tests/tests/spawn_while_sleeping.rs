//! Models an outside spawn while the runtime's workers go to sleep, on the
//! real `Runtime` (worker threads are loom threads; each worker parks in the
//! loom condvar driver behind its `Parker`).
//!
//! Protocol exercised: `Handle::spawn` from a non-worker thread pushes the
//! task to the injector, then `Idle::worker_to_notify` picks a parked
//! worker (if nobody is searching) and unparks it; meanwhile the workers run
//! out of work, search, register as parked (the last searcher re-checks the
//! queues) and park.
//!
//! The main future (`rt.run`) waits for a signal that only the spawned task
//! sends, so the spawned task must run: if the spawn's wakeup were lost,
//! every worker would sleep forever and loom would report a deadlock.
//! Checked as well: the spawned task's join handle gives its value, and
//! dropping the runtime frees everything (loom reports leaked `Arc`s).
//!
//! The same path serves a *wake* from outside of a task that may run on any
//! worker (the `outside_wake_*` models): the woken task goes to the
//! injector and a sleeping worker must be notified; the main task awaits
//! the woken task's join handle, so its completion must wake the main task
//! too (locally, or through worker 0's inbox from the other worker).
//!
//! Last, a remote wake of the main task itself (`outside_wake_main_*`): it
//! is bound to worker 0 (`!Send` allowed), so the wake goes to worker 0's
//! inbox and unparks worker 0 directly, bypassing the idle protocol.
#![cfg(loom)]

mod common;

use common::{checker, Signal, Wait};

use corio_executor::{spawn, Runtime};
use loom::sync::Arc;
use loom::thread;

/// Builds a runtime with `workers` workers; an outside thread spawns a task
/// that fires the signal the main task waits on.
fn spawn_from_outside(workers: usize) {
    let rt = Runtime::builder().workers(workers).build().unwrap();
    let signal = Arc::new(Signal::default());

    let outside = {
        let handle = rt.handle();
        let signal = signal.clone();
        thread::spawn(move || {
            handle.spawn(async move {
                signal.fire();
                5u32
            })
        })
    };

    rt.run(Wait(signal));
    let task = outside.join().unwrap();
    assert_eq!(rt.run(task).unwrap(), 5);
    drop(rt);
}

/// One worker (the `run` thread, which parks when the main task waits)
/// and an outside spawner.
#[test]
fn outside_spawn_one_worker() {
    checker().check(|| spawn_from_outside(1));
}

/// Two workers (the `run` thread and a background worker, both of which may
/// be searching, parking or parked) and an outside spawner.
#[test]
fn outside_spawn_two_workers() {
    checker().check(|| spawn_from_outside(2));
}

/// The main task spawns a task that waits for a signal an outside thread
/// fires (a remote wake into the injector), and awaits it.
fn wake_from_outside(workers: usize) {
    let rt = Runtime::builder().workers(workers).build().unwrap();
    let signal = Arc::new(Signal::default());

    let outside = {
        let signal = signal.clone();
        thread::spawn(move || signal.fire())
    };

    let out = rt.run(async move {
        let task = spawn(async move {
            Wait(signal).await;
            7u32
        });
        task.await
    });
    assert_eq!(out.unwrap(), 7);
    outside.join().unwrap();
    drop(rt);
}

/// A remote wake of a sleeping task, one worker.
#[test]
fn outside_wake_one_worker() {
    checker().check(|| wake_from_outside(1));
}

/// A remote wake of a sleeping task, two workers.
#[test]
fn outside_wake_two_workers() {
    checker().check(|| wake_from_outside(2));
}

/// The main task waits for a signal an outside thread fires: a remote wake
/// of a task bound to worker 0 (its inbox, then a direct unpark).
fn wake_main_from_outside(workers: usize) {
    let rt = Runtime::builder().workers(workers).build().unwrap();
    let signal = Arc::new(Signal::default());

    let outside = {
        let signal = signal.clone();
        thread::spawn(move || signal.fire())
    };

    rt.run(Wait(signal));
    outside.join().unwrap();
    drop(rt);
}

/// A remote wake of the main task, one worker.
#[test]
fn outside_wake_main_one_worker() {
    checker().check(|| wake_main_from_outside(1));
}

/// A remote wake of the main task, two workers (the background worker
/// idles, searching and parking, meanwhile).
#[test]
fn outside_wake_main_two_workers() {
    checker().check(|| wake_main_from_outside(2));
}
