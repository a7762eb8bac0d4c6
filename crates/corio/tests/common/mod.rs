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
