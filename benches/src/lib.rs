//! Pieces shared by the benchmarks in `benches/benches/`: written once and
//! run unchanged on every runtime, so that only the runtime differs.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use async_executor::Executor;

/// Worker threads of every runtime in every benchmark (the machines have 2
/// cores).
pub const WORKERS: usize = 2;

/// corio with [`WORKERS`] workers (the thread calling `run` is one of them).
pub fn corio_runtime() -> corio::Runtime {
    corio::Runtime::builder().workers(WORKERS).build().unwrap()
}

/// tokio's multi-thread runtime with [`WORKERS`] workers and every driver
/// (the thread calling `block_on` is not one of them).
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

/// The criterion settings of every benchmark file: 10 samples, the given
/// measurement time, a 500 ms warm-up, and the command line's options.
pub fn criterion(measurement: Duration) -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(10)
        .measurement_time(measurement)
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args()
}

/// A countdown latch: `count_down` `n` times, and the (single) waiter wakes.
///
/// ```
/// let latch = corio_benches::Latch::new(1);
/// latch.count_down();
/// corio::run(latch.wait());
/// ```
#[derive(Debug)]
pub struct Latch {
    remaining: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl Latch {
    /// A latch that opens after `n` count-downs.
    pub fn new(n: usize) -> Arc<Latch> {
        Arc::new(Latch {
            remaining: AtomicUsize::new(n),
            waker: Mutex::new(None),
        })
    }

    /// Counts down once; the last one wakes the waiter.
    pub fn count_down(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let waker = self.waker.lock().unwrap().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// A `'static` future that completes once the count reaches zero.
    pub fn wait(self: &Arc<Self>) -> LatchWait {
        LatchWait(self.clone())
    }
}

/// The future returned by [`Latch::wait`].
#[derive(Debug)]
pub struct LatchWait(Arc<Latch>);

impl Future for LatchWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let latch = &self.0;
        if latch.remaining.load(Ordering::Acquire) == 0 {
            return Poll::Ready(());
        }
        let mut slot = latch.waker.lock().unwrap();
        match &mut *slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
        // Checked again under the lock: the last `count_down` takes the
        // lock after its decrement, so either it sees our waker or we see 0.
        if latch.remaining.load(Ordering::Acquire) == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Wakes itself and returns `Pending` once, then `Ready`: a plain yield
/// with no runtime behind it (no cancellation check, no budget). A yield
/// for async-executor, which has none, and a control for corio's.
///
/// ```
/// corio::run(corio_benches::PlainYield::new());
/// ```
#[derive(Debug, Default)]
pub struct PlainYield(bool);

impl PlainYield {
    /// A yield that has not happened yet.
    pub fn new() -> PlainYield {
        PlainYield(false)
    }
}

impl Future for PlainYield {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// `futures-lite`'s thread-parking `block_on`, to drive `Executor::run`
/// on a thread of the benchmark.
///
/// ```
/// assert_eq!(corio_benches::block_on(async { 3 }), 3);
/// ```
pub use futures_lite::future::block_on;

/// Runs `future` as a task through `spawn` (a runtime's spawn function,
/// detaching the task) and blocks this thread on a channel until the task
/// has its output: how every arm of a workload waits, so that the
/// benchmark's thread is a worker of no runtime.
///
/// ```
/// let rt = corio_benches::CorioOwnThread::new();
/// let v = corio_benches::spawn_and_wait(async { 7 }, |f| drop(rt.handle().spawn(f)));
/// assert_eq!(v, 7);
/// ```
pub fn spawn_and_wait<F>(future: F, spawn: impl FnOnce(BoxFuture)) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    spawn(Box::pin(async move {
        let _ = tx.send(future.await);
    }));
    rx.recv().unwrap()
}

/// The future [`spawn_and_wait`] hands to a runtime's spawn function.
pub type BoxFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// A corio runtime with [`WORKERS`] workers whose worker 0 is a thread of
/// its own, running a main task that only waits for the end (as a server's
/// main task awaits its listener): the benchmark's thread is a worker of
/// none. Dropping it shuts the runtime down.
///
/// ```
/// let rt = corio_benches::CorioOwnThread::new();
/// let (tx, rx) = std::sync::mpsc::channel();
/// drop(rt.handle().spawn(async move { tx.send(5).unwrap() }));
/// assert_eq!(rx.recv().unwrap(), 5);
/// ```
#[derive(Debug)]
pub struct CorioOwnThread {
    handle: corio::Handle,
    stop: Arc<Latch>,
    thread: Option<thread::JoinHandle<()>>,
}

impl CorioOwnThread {
    /// Starts the runtime.
    pub fn new() -> CorioOwnThread {
        let stop = Latch::new(1);
        let wait = stop.wait();
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let rt = corio_runtime();
            tx.send(rt.handle()).unwrap();
            rt.run(wait);
            rt.shutdown();
        });
        CorioOwnThread {
            handle: rx.recv().unwrap(),
            stop,
            thread: Some(thread),
        }
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &corio::Handle {
        &self.handle
    }
}

impl Default for CorioOwnThread {
    fn default() -> Self {
        CorioOwnThread::new()
    }
}

impl Drop for CorioOwnThread {
    fn drop(&mut self) {
        self.stop.count_down();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// An `async-executor` `Executor` run by threads of its own, each inside
/// async-io's `block_on` (so they drive async-io's timers and I/O, as in a
/// smol program): [`WORKERS`]
/// of them with [`new`](SmolThreads::new) (the benchmark's thread is none
/// of them), or as many as asked with
/// [`with_threads`](SmolThreads::with_threads) (`WORKERS - 1` when the
/// benchmark's thread runs the executor too, in `block_on`). Dropping it
/// stops them.
///
/// ```
/// let ex = corio_benches::SmolThreads::new();
/// let (tx, rx) = std::sync::mpsc::channel();
/// ex.executor().spawn(async move { tx.send(6).unwrap() }).detach();
/// assert_eq!(rx.recv().unwrap(), 6);
/// ```
#[derive(Debug)]
pub struct SmolThreads {
    executor: Arc<Executor<'static>>,
    /// One stop latch per thread ([`Latch`] has one waiter).
    threads: Vec<(Arc<Latch>, thread::JoinHandle<()>)>,
}

impl SmolThreads {
    /// Starts [`WORKERS`] threads.
    pub fn new() -> SmolThreads {
        SmolThreads::with_threads(WORKERS)
    }

    /// Starts `n` threads.
    ///
    /// ```
    /// let ex = corio_benches::SmolThreads::with_threads(1);
    /// assert_eq!(corio_benches::block_on(ex.executor().run(async { 2 })), 2);
    /// ```
    pub fn with_threads(n: usize) -> SmolThreads {
        let executor = Arc::new(Executor::new());
        let threads = (0..n)
            .map(|_| {
                let executor = executor.clone();
                let stop = Latch::new(1);
                let wait = stop.wait();
                // async-io's `block_on` (smol's): a thread blocked in it
                // drives the reactor and timers, as in a smol program.
                (
                    stop,
                    thread::spawn(move || async_io::block_on(executor.run(wait))),
                )
            })
            .collect();
        SmolThreads { executor, threads }
    }

    /// The executor.
    pub fn executor(&self) -> &Arc<Executor<'static>> {
        &self.executor
    }
}

impl Default for SmolThreads {
    fn default() -> Self {
        SmolThreads::new()
    }
}

impl Drop for SmolThreads {
    fn drop(&mut self) {
        for (stop, t) in self.threads.drain(..) {
            stop.count_down();
            t.join().unwrap();
        }
    }
}
