//! Helpers shared by the integration tests: an event log and runtimes.

#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corio::Runtime;

/// An hour: a sleep that only a cancellation ends.
pub const HOUR: Duration = Duration::from_secs(3600);
/// A millisecond.
pub const MS: Duration = Duration::from_millis(1);

/// The events a test program prints, in order.
pub type Log = Arc<Mutex<Vec<String>>>;

/// Appends an event to the log.
pub fn log(l: &Log, s: impl Into<String>) {
    l.lock().unwrap().push(s.into());
}

/// A runtime with `workers` worker threads.
pub fn rt(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
}

/// A small deterministic PRNG (xorshift64), so that no test needs `rand`.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
