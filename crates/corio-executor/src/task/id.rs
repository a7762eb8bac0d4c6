//! Task ids: unique in the process, increasing per thread.
//!
//! Ids are handed out in blocks so that spawning does not hit one shared
//! atomic: each thread reserves `BLOCK` ids at a time and counts through them.
//! On one thread, ids (and so the default names `Task-1`, `Task-2`, …) follow
//! spawn order, as in asyncio.

use std::fmt;
use std::num::NonZeroU64;

use crate::sync::thread_local;

/// Ids a thread reserves at once (`config::TASK_ID_BLOCK`).
const BLOCK: u64 = crate::config::TASK_ID_BLOCK;

/// The counter every block is reserved from. It orders nothing, so it is a
/// plain std atomic even under loom (loom atomics cannot be statics).
static NEXT_BLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    static RANGE: std::cell::Cell<(u64, u64)> = std::cell::Cell::new((0, 0));
}

/// A task's id: unique among all tasks of the process.
///
/// # Example
///
/// ```
/// use corio::Runtime;
/// let rt = Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let a = corio::spawn(async {});
///     let b = corio::spawn(async {});
///     assert!(a.id() < b.id());
/// });
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    pub(crate) fn next() -> TaskId {
        let id = RANGE.with(|r| {
            let (mut next, end) = r.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(BLOCK, std::sync::atomic::Ordering::Relaxed);
                r.set((next + 1, next + BLOCK));
            } else {
                r.set((next + 1, end));
            }
            next
        });
        TaskId(NonZeroU64::new(id).expect("task id counter overflowed"))
    }

    /// The id as a number.
    ///
    /// ```
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// let t = corio::spawn(async {});
    /// assert!(t.id().as_u64() > 0);
    /// # });
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({})", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
