//! Models the idle/searching protocol (`scheduler::idle::Idle`) together
//! with the worker parkers (`scheduler::park::Parker` on the loom driver)
//! and the global `Injector`, without the rest of the runtime.
//!
//! Each modelled worker runs the same loop as `scheduler/worker.rs`: take
//! work from the injector; out of work, become a searcher (if allowed) and
//! look again; still nothing, register as parked (the last searcher
//! re-checks the injector and notifies if it is not empty) and park; on
//! return, `transition_worker_from_parked` says whether it was notified
//! (then it is searching). An outside thread pushes work to the injector and
//! calls `worker_to_notify`, unparking the worker it picks.
//!
//! Property checked in every interleaving: every pushed item is taken by
//! exactly one worker. A lost wakeup (the item sits in the injector while
//! every worker sleeps) is a loom deadlock. The worker that takes the last
//! item stops the others (like runtime shutdown: a flag and an unpark).
#![cfg(loom)]

use corio_executor::protocols::Idle;
use corio_executor::protocols::Injector;
use corio_executor::protocols::{new_driver, DefaultDriver, Driver, Parker};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

type Unparker = <DefaultDriver as Driver>::Unpark;

/// The shared state of the modelled scheduler.
struct Sched {
    injector: Injector<usize>,
    idle: Idle,
    parkers: Vec<Parker<Unparker>>,
    /// Items taken, by item (each must end at exactly 1).
    taken: Vec<AtomicUsize>,
    remaining: AtomicUsize,
    done: AtomicBool,
}

impl Sched {
    /// `workers` workers, all awake; `items` items will be pushed.
    fn new(workers: usize, items: usize) -> (Arc<Sched>, Vec<DefaultDriver>) {
        let drivers: Vec<_> = (0..workers).map(|_| new_driver().unwrap()).collect();
        let sched = Sched {
            injector: Injector::new(),
            idle: Idle::new(workers, workers),
            parkers: drivers.iter().map(|d| Parker::new(d.unparker())).collect(),
            taken: (0..items).map(|_| AtomicUsize::new(0)).collect(),
            remaining: AtomicUsize::new(items),
            done: AtomicBool::new(false),
        };
        (Arc::new(sched), drivers)
    }

    /// `Shared::notify_parked`.
    fn notify_parked(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            self.parkers[worker].unpark();
        }
    }

    /// `Shared::schedule_remote` for a task with no owner.
    fn push_remote(&self, item: usize) {
        self.injector.push(item);
        self.notify_parked();
    }

    /// Runs an item: records it, and stops everyone after the last one.
    fn run(&self, item: usize) {
        assert_eq!(
            self.taken[item].fetch_add(1, SeqCst),
            0,
            "item {item} taken twice"
        );
        if self.remaining.fetch_sub(1, SeqCst) == 1 {
            self.done.store(true, SeqCst);
            for p in &self.parkers {
                p.unpark();
            }
        }
    }

    /// One worker's loop (`WorkerCx::run`, `steal_work`, `park`).
    fn worker(&self, index: usize, mut driver: DefaultDriver) {
        let mut searching = false;
        while !self.done.load(SeqCst) {
            // `next_task`, then `steal_work` if we may search.
            let mut item = self.injector.pop();
            if item.is_none() && !searching && self.idle.transition_worker_to_searching() {
                searching = true;
            }
            if item.is_none() && searching {
                item = self.injector.pop();
            }
            if let Some(item) = item {
                // `run_task`: a searcher that found work hands the baton on.
                if std::mem::take(&mut searching) && self.idle.transition_worker_from_searching() {
                    self.notify_parked();
                }
                self.run(item);
                continue;
            }
            // `park`.
            let was_last = self
                .idle
                .transition_worker_to_parked(index, std::mem::take(&mut searching));
            if was_last && !self.injector.is_empty() {
                self.notify_parked();
            }
            if !self.done.load(SeqCst) {
                self.parkers[index].park(&mut driver, None);
            }
            if self.idle.transition_worker_from_parked(index) {
                searching = true;
            }
        }
    }

    fn check_all_taken_once(&self) {
        assert!(self.injector.is_empty(), "an item was never taken");
        for (i, t) in self.taken.iter().enumerate() {
            assert_eq!(t.load(SeqCst), 1, "item {i} not taken exactly once");
        }
    }
}

/// Runs `workers` workers (worker 0 on the model's main thread) and one
/// outside thread that pushes `items` items.
fn model(workers: usize, items: usize) {
    let (sched, mut drivers) = Sched::new(workers, items);
    let driver0 = drivers.remove(0);

    let outside = {
        let sched = sched.clone();
        thread::spawn(move || {
            for item in 0..items {
                sched.push_remote(item);
            }
        })
    };
    let others: Vec<_> = drivers
        .into_iter()
        .enumerate()
        .map(|(i, driver)| {
            let sched = sched.clone();
            thread::spawn(move || sched.worker(i + 1, driver))
        })
        .collect();

    sched.worker(0, driver0);
    outside.join().unwrap();
    for t in others {
        t.join().unwrap();
    }
    sched.check_all_taken_once();
}

/// A lone worker going to sleep while an outside thread pushes one item:
/// the lone worker must search (and so re-check as the last searcher), or
/// the notifier, seeing it awake, would skip the wakeup.
#[test]
fn one_worker_outside_push() {
    loom::model(|| model(1, 1));
}

/// Two workers going to sleep (searching, parking, being notified) while
/// an outside thread pushes one item.
#[test]
fn two_workers_outside_push() {
    loom::model(|| model(2, 1));
}

/// A lone worker and a burst of two outside pushes: the second push may
/// find the worker notified but not yet awake.
#[test]
fn one_worker_two_pushes() {
    loom::model(|| model(1, 2));
}

/// Two workers and a burst of two outside pushes.
#[test]
fn two_workers_two_pushes() {
    loom::model(|| model(2, 2));
}
