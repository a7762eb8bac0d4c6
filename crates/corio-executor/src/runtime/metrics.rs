//! `Metrics`: counters read from a running runtime.

use super::*;

/// Counters of a runtime, read on demand.
///
/// # Example
///
/// ```
/// let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// let metrics = rt.handle().metrics();
/// rt.run(async { corio::spawn(async {}).await.unwrap() });
/// drop(rt);
/// assert_eq!(metrics.live_tasks(), 0);
/// ```
#[derive(Clone)]
pub struct Metrics {
    pub(super) shared: Arc<Shared>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("workers", &self.num_workers())
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

impl Metrics {
    /// How many threads the blocking pool has now
    /// ([`Handle::spawn_blocking`](crate::Handle::spawn_blocking),
    /// `corio::to_thread`): started on demand, at most
    /// [`Builder::max_blocking_threads`], and fewer again once idle ones
    /// retire after the keep-alive.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let m = rt.handle().metrics();
    /// assert_eq!(m.blocking_threads(), 0);
    /// rt.run(async { corio::to_thread(|| ()).await.unwrap() });
    /// assert_eq!(m.blocking_threads(), 1);
    /// ```
    pub fn blocking_threads(&self) -> usize {
        self.shared.blocking.threads()
    }

    /// How many worker threads the runtime has (including worker 0).
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(3).build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_workers(), 3);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.shared.num_workers
    }

    /// Task allocations not yet freed: spawned tasks that are unfinished,
    /// or finished but still referenced (by a `Task` handle, a waker, a
    /// `TaskRef`). Zero after the runtime is dropped and every handle is
    /// gone: nothing leaks.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// let m = rt.handle().metrics();
    /// let t = rt.handle().spawn(async {});
    /// assert_eq!(m.live_tasks(), 1);
    /// drop(t);
    /// drop(rt);
    /// assert_eq!(m.live_tasks(), 0);
    /// ```
    pub fn live_tasks(&self) -> usize {
        self.shared.registry.live()
    }

    /// How many times the workers have gone to sleep (parked in their
    /// event loop with nothing to do), summed over all workers. Each park
    /// is a system call, and each wakeup from one a context switch, so a
    /// count that grows with the work done shows workers being woken for
    /// nothing.
    ///
    /// ```
    /// let rt = corio::Runtime::builder().workers(2).build().unwrap();
    /// let m = rt.handle().metrics();
    /// rt.run(async {
    ///     corio::sleep(std::time::Duration::from_millis(20)).await.unwrap();
    /// });
    /// assert!(m.worker_park_count() >= 1); // the idle worker slept meanwhile
    /// ```
    pub fn worker_park_count(&self) -> u64 {
        self.shared.drivers.park_count()
    }
}
