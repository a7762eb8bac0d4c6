//! Models the blocking pool's hand-off (`blocking.rs`): `submit` against a
//! pool thread that finishes a job, spins for the next one (the lock-free
//! `spinning` / `queued` hints), and goes to sleep on the condition
//! variable; and shutdown against running and queued jobs.
//!
//! Under loom a timed wait never times out, so a job left in the queue
//! with its thread asleep is a deadlock (the model waits for the job).
#![cfg(loom)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use corio_executor::protocols::{JobRef, Pool, Run};
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Condvar, Mutex};
use loom::thread;

/// Counts finished jobs (run or discarded) and lets the model wait for n.
struct Done {
    count: Mutex<usize>,
    cv: Condvar,
}

impl Done {
    fn new() -> Arc<Done> {
        Arc::new(Done {
            count: Mutex::new(0),
            cv: Condvar::new(),
        })
    }

    fn add(&self) {
        *self.count.lock().unwrap() += 1;
        self.cv.notify_all();
    }

    fn wait_for(&self, n: usize) {
        let mut c = self.count.lock().unwrap();
        while *c < n {
            c = self.cv.wait(c).unwrap();
        }
    }
}

struct Job {
    ran: AtomicUsize,
    discarded: AtomicUsize,
    done: Arc<Done>,
}

impl Run for Job {
    fn run(&self) {
        self.ran.fetch_add(1, SeqCst);
        self.done.add();
    }

    fn discard(&self) {
        self.discarded.fetch_add(1, SeqCst);
        self.done.add();
    }
}

fn job(done: &Arc<Done>) -> Arc<Job> {
    Arc::new(Job {
        ran: AtomicUsize::new(0),
        discarded: AtomicUsize::new(0),
        done: done.clone(),
    })
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// The second job is submitted while the only thread runs the first,
/// spins, or falls asleep: it still runs, exactly once.
#[test]
fn a_job_submitted_while_the_thread_goes_to_sleep_is_not_stranded() {
    loom::model(|| {
        let pool = Arc::new(Pool::new(1, Duration::from_secs(10), "pool".into()));
        let done = Done::new();
        let (a, b) = (job(&done), job(&done));
        pool.submit(a.clone() as JobRef).ok().unwrap();
        let submitter = {
            let (pool, b) = (pool.clone(), b.clone());
            thread::spawn(move || pool.submit(b as JobRef).ok().unwrap())
        };
        submitter.join().unwrap();
        done.wait_for(2);
        assert_eq!((a.ran.load(SeqCst), b.ran.load(SeqCst)), (1, 1));
        assert_eq!(pool.shutdown(far()), 0);
        assert_eq!(
            pool.threads(),
            0,
            "shutdown returned before the thread left"
        );
    });
}

/// Shutdown while jobs are queued or running: each job is run or
/// discarded exactly once, and shutdown returns after the thread left.
#[test]
fn shutdown_runs_or_discards_each_job_exactly_once() {
    loom::model(|| {
        let pool = Arc::new(Pool::new(1, Duration::from_secs(10), "pool".into()));
        let done = Done::new();
        let (a, b) = (job(&done), job(&done));
        pool.submit(a.clone() as JobRef).ok().unwrap();
        pool.submit(b.clone() as JobRef).ok().unwrap();
        assert_eq!(pool.shutdown(far()), 0);
        done.wait_for(2);
        for j in [&a, &b] {
            assert_eq!(j.ran.load(SeqCst) + j.discarded.load(SeqCst), 1);
        }
        assert_eq!(pool.threads(), 0);
        assert!(
            pool.submit(job(&done) as JobRef).is_err(),
            "a shut-down pool took a job"
        );
    });
}
