//! The multi-threaded, work-stealing scheduler.
//!
//! # Shape
//!
//! A runtime has `n` workers. Worker 0 is the thread that calls `run`; the
//! other `n - 1` are threads the runtime starts. Each worker owns a
//! [`Core`]: a stealable FIFO run queue, a LIFO slot, a queue
//! of its `!Send` tasks. Shared by all ([`Shared`]): the injector (work
//! from outside the workers), each worker's stealer and inbox, each
//! worker's driver (`driver.rs`: the reactor and timer wheel it parks on),
//! the idle/searching bookkeeping, and the task registry.
//!
//! # Where a task goes when it is woken or spawned
//!
//! | who / what                                 | where |
//! |--------------------------------------------|-------|
//! | spawn on a worker                          | back of that worker's run queue |
//! | wake on a worker, more than one worker     | that worker's LIFO slot (the old occupant goes to the back of the run queue) |
//! | wake on a worker, `workers(1)`             | back of the run queue (asyncio's FIFO order) |
//! | a task woken during its own poll, a yield  | back of the run queue |
//! | spawn or wake from any other thread        | the injector, then one idle worker is unparked |
//! | a `!Send` task, on its own worker          | that worker's local queue (its run queue with `workers(1)`) |
//! | a `!Send` task, from anywhere else         | its worker's inbox, and that worker is unparked |
//!
//! A run queue longer than its capacity moves half of its tasks to the
//! injector. After a push that other workers could steal, one parked
//! worker is woken if no worker is searching (see `idle.rs`).
//!
//! # Shutdown order
//!
//! 1. The `shutdown` flag is set and every worker is unparked.
//! 2. Each background worker leaves its loop, drops the notifications in its
//!    queues and shuts down its own `!Send` tasks (their futures may only be
//!    dropped on their thread), then exits; the runtime joins them.
//! 3. The dropping thread (worker 0's) drains worker 0's queues and the
//!    injector, closes the registry and shuts down every task still in it.
//! 4. A wake that races with shutdown and lands in the injector after it was
//!    drained is dropped by the waker itself: it re-checks the flag after
//!    the push (`SeqCst` on both sides).

pub(crate) mod driver;
pub(crate) mod idle;
pub(crate) mod park;
pub(crate) mod pool;
pub(crate) mod registry;
pub(crate) mod worker;

pub(crate) use worker::WorkerCx;

use std::alloc::Layout;
use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::ptr::NonNull;

use crate::context;
use crate::queue::{Injector, Stealer};
use crate::runtime::ExceptionHandler;
use crate::sync::{fence, Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::task::{self, Header, Notified, Schedule, Task, TaskId, NO_ORIGIN, NO_OWNER};
use crossbeam_utils::CachePadded;
use driver::Drivers;
use idle::Idle;
use registry::Registry;
use worker::Core;

/// State shared by all workers of one runtime.
pub(crate) struct Shared {
    pub(crate) remotes: Box<[Remote]>,
    pub(crate) injector: Injector<Notified>,
    pub(crate) idle: Idle,
    pub(crate) registry: Registry,
    pub(crate) pool: pool::Pool,
    /// What each worker parks on: its reactor and timer wheel
    /// (`driver.rs`).
    pub(crate) drivers: Drivers,
    /// How many workers are idle (out of work) and have no `!Send` tasks
    /// of their own: a worker that has some leaves
    /// its stealable tasks to them (see "Pinned workers" in `worker.rs`).
    pub(crate) idle_free: CachePadded<AtomicUsize>,
    shutdown: AtomicBool,
    pub(crate) num_workers: usize,
    exception_handler: ExceptionHandler,
    /// Debug mode: `Some(threshold)` reports polls slower than it, and
    /// records where each task was created.
    pub(crate) slow_poll: Option<std::time::Duration>,
    /// Worker 0's core while no `run` call is using it.
    pub(crate) core0: Mutex<Option<Box<Core>>>,
    /// Worker 0 left `run` holding more task memory than an idle worker
    /// keeps: the next worker to sleep decays it (`worker.rs`,
    /// `memory_period`).
    pub(crate) core0_holds_memory: AtomicBool,
    /// The blocking pool (`Handle::spawn_blocking`, `blocking.rs`).
    pub(crate) blocking: std::sync::Arc<crate::blocking::Pool>,
    /// What threads outside the runtime use to hand it work
    /// (`bridges.rs`).
    pub(crate) bridges: crate::bridges::Bridges,
}

/// What other threads may touch of one worker.
pub(crate) struct Remote {
    pub(crate) stealer: Stealer<Notified>,
    /// `!Send` tasks of this worker woken from other threads.
    inbox: Mutex<Inbox>,
    inbox_flag: AtomicBool,
}

struct Inbox {
    queue: VecDeque<Notified>,
    closed: bool,
}

/// Why a task is being queued, which decides where it goes on a worker.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Push {
    /// Woken by another task: the LIFO slot (message-passing pairs run back
    /// to back).
    Wake,
    /// Newly spawned: the back of the run queue, and a parked worker is
    /// woken to steal it.
    Spawn,
    /// Woken during its own poll (it yielded): the back of the run queue.
    /// A parked worker is woken only if there is other work queued: else
    /// this worker runs it next, and waking another one just to steal it
    /// (or find nothing) costs two context switches per yield.
    Requeue,
}

/// The scheduler hook stored in every task: which runtime it belongs to,
/// and so whose live-task count it is in. The count goes up when the hook
/// is made (in the registry shard of the task id) and down in `free_block`
/// (in a shard chosen by the freeing thread: the registry sums all shards,
/// so only the total is exact).
pub(crate) struct Hook {
    shared: Arc<Shared>,
}

impl Hook {
    fn new(shared: Arc<Shared>, id: TaskId) -> Hook {
        shared.registry.alloc(shared.registry.shard_of(id));
        Hook { shared }
    }
}

impl Schedule for Hook {
    fn schedule(&self, task: Notified) {
        self.shared.schedule(task, Push::Wake);
    }

    fn reschedule(&self, task: Notified) {
        self.shared.schedule(task, Push::Requeue);
    }

    fn release(&self, task: &Header) -> bool {
        let owner = task.owner();
        if owner != NO_OWNER {
            // A `!Send` task completes on its own worker (during a run, or
            // at shutdown, when the count no longer matters).
            self.shared.with_current_worker(|cx| {
                if let Some(cx) = cx.filter(|cx| cx.core.index == owner) {
                    cx.unpin();
                }
            });
        }
        self.shared.registry.remove(task)
    }

    fn unhandled_panic(&self, task: &Header, what: &'static str, payload: &(dyn Any + Send)) {
        let created = match self.shared.slow_poll {
            Some(_) => task.read_extras(|e| e.and_then(|e| e.created_at)),
            None => None,
        };
        match created {
            Some(at) => {
                let what = format!("{what} (task created at {at})");
                self.shared.report(Some(task), &what, Some(payload));
            }
            None => self.shared.report(Some(task), what, Some(payload)),
        }
    }

    fn call_soon(&self, f: Box<dyn FnOnce() + Send + 'static>) {
        // A tiny task that runs `f` (it catches its own panics). Dropped if
        // the runtime is shutting down, as asyncio drops callbacks
        // scheduled on a closed loop.
        let task = Shared::spawn_with(&self.shared, CallSoon(Some(f)), NO_OWNER, None, |h| {
            h.with_extras(|e| e.internal = true)
        });
        drop(task);
    }

    fn alloc_block(&self, layout: Layout) -> Option<(NonNull<u8>, u32)> {
        if cfg!(loom) {
            // The models check the task protocol, not the allocator.
            return None;
        }
        let class = pool::class_of(layout)?;
        Some(self.shared.with_current_worker(|cx| match cx {
            Some(cx) => {
                let block =
                    cx.core
                        .cache
                        .borrow_mut()
                        .alloc(&self.shared.pool, cx.core.index, class);
                (block, cx.core.index as u32)
            }
            None => (
                self.shared.pool.alloc_remote(class),
                pool::REMOTE_ORIGIN as u32,
            ),
        }))
    }

    unsafe fn free_block(self, block: NonNull<u8>, layout: Layout, origin: u32) {
        let here = self.shared.with_current_worker(|cx| {
            if origin == NO_ORIGIN {
                // SAFETY: a global allocation of `layout` (caller's contract).
                unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
            } else {
                let origin = origin as usize;
                let class = pool::class_of(layout).expect("a pooled task has a size class");
                match cx {
                    Some(cx) if cx.core.index == origin => {
                        // SAFETY: the block came from this worker's cache, for
                        // `class`.
                        unsafe { cx.core.cache.borrow_mut().free(class, block) }
                    }
                    // SAFETY: the block came from `origin`'s cache, for
                    // `class`; the pool outlives this call (we still hold
                    // the `Arc<Shared>`).
                    _ => unsafe { self.shared.pool.give_back(origin, class, block) },
                }
            }
            cx.map(|cx| cx.core.index)
        });
        let registry = &self.shared.registry;
        registry.dealloc(registry.shard_of_worker(here));
        // `self` (and its `Arc<Shared>`) drops here, after the block is back.
    }
}

/// The future of a `call_soon` task: runs its function once.
struct CallSoon(Option<Box<dyn FnOnce() + Send + 'static>>);

impl Future for CallSoon {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if let Some(f) = self.0.take() {
            f();
        }
        std::task::Poll::Ready(())
    }
}

impl Shared {
    /// Builds the shared state and the cores of all workers.
    pub(crate) fn new(
        num_workers: usize,
        exception_handler: ExceptionHandler,
        slow_poll: Option<std::time::Duration>,
        blocking: crate::blocking::Pool,
    ) -> std::io::Result<(Arc<Shared>, Vec<Core>)> {
        let mut cores = Vec::with_capacity(num_workers);
        let mut remotes = Vec::with_capacity(num_workers);
        for index in 0..num_workers {
            let core = Core::new(index);
            remotes.push(Remote {
                stealer: core.run_queue.stealer(),
                inbox: Mutex::new(Inbox {
                    queue: VecDeque::new(),
                    closed: false,
                }),
                inbox_flag: AtomicBool::new(false),
            });
            cores.push(core);
        }
        let drivers = Drivers::new(num_workers)?;
        let shared = Arc::new(Shared {
            remotes: remotes.into_boxed_slice(),
            injector: Injector::new(),
            // Background workers start awake; worker 0 is absent until `run`.
            idle: Idle::new(num_workers, num_workers - 1),
            registry: Registry::new(num_workers),
            pool: pool::Pool::new(num_workers),
            drivers,
            // Background workers start idle (`Core::idle_free`).
            idle_free: CachePadded::new(AtomicUsize::new(num_workers - 1)),
            shutdown: AtomicBool::new(false),
            num_workers,
            exception_handler,
            slow_poll,
            core0: Mutex::new(None),
            core0_holds_memory: AtomicBool::new(false),
            blocking: std::sync::Arc::new(blocking),
            bridges: crate::bridges::Bridges::default(),
        });
        Ok((shared, cores))
    }

    /// Runs `f` with the worker context of this thread if it is a worker
    /// of this runtime (`None` otherwise).
    #[inline]
    pub(crate) fn with_current_worker<R>(&self, f: impl FnOnce(Option<&WorkerCx>) -> R) -> R {
        context::with_worker(|cx| f(cx.filter(|cx| std::ptr::eq(Arc::as_ptr(&cx.shared), self))))
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Spawns `future` as a task of this runtime. `owner` binds a `!Send`
    /// task to a worker (the caller guarantees it runs on that worker).
    #[track_caller]
    pub(crate) fn spawn<F>(
        this: &Arc<Shared>,
        future: F,
        owner: usize,
        name: Option<Box<str>>,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        Shared::spawn_with(this, future, owner, name, |_| {})
    }

    /// [`Shared::spawn`] with the caller's location given (debug mode
    /// records where each task was created): for a caller inside a
    /// closure, where `#[track_caller]` does not reach.
    pub(crate) fn spawn_at<F>(
        this: &Arc<Shared>,
        future: F,
        owner: usize,
        name: Option<Box<str>>,
        at: &'static std::panic::Location<'static>,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        Shared::spawn_with_at(this, future, owner, name, |_| {}, at)
    }

    /// [`Shared::spawn`], running `prepare` on the new task before anything
    /// can run it (a task group registers its completion hook there).
    #[track_caller]
    pub(crate) fn spawn_with<F>(
        this: &Arc<Shared>,
        future: F,
        owner: usize,
        name: Option<Box<str>>,
        prepare: impl FnOnce(&Header),
    ) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let at = std::panic::Location::caller();
        Shared::spawn_with_at(this, future, owner, name, prepare, at)
    }

    fn spawn_with_at<F>(
        this: &Arc<Shared>,
        future: F,
        owner: usize,
        name: Option<Box<str>>,
        prepare: impl FnOnce(&Header),
        at: &'static std::panic::Location<'static>,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let id = TaskId::next();
        let hook = Hook::new(this.clone(), id);
        let context = crate::context_var::capture();
        // A worker's cached clock reading (refreshed every few dozen polls
        // and on waking up); a clock read from other threads.
        let now = this.with_current_worker(|cx| match cx {
            Some(cx) => cx.core.now_centis.get(),
            None => crate::clock::now_centis(),
        });
        let (raw, notified, join) = task::allocate(future, hook, id, owner, name, context, now);
        if this.slow_poll.is_some() {
            raw.header().with_extras(|e| e.created_at = Some(at));
        }
        prepare(raw.header());
        if owner != NO_OWNER {
            // Bound to the worker spawning it (`spawn_local`, the main task).
            this.with_current_worker(|cx| {
                let cx = cx.filter(|cx| cx.core.index == owner);
                cx.expect("a !Send task is spawned on its own worker").pin();
            });
        }
        match this.registry.insert(raw) {
            Ok(()) => this.schedule(notified, Push::Spawn),
            Err(raw) => {
                // The runtime is shutting down: the task never runs.
                drop(notified);
                raw.shutdown();
            }
        }
        // SAFETY: `join` is the handle's reference of a task with output
        // `F::Output`.
        unsafe { Task::from_raw(join) }
    }

    /// Queues a notified task (see [`Push`] for where it goes).
    pub(crate) fn schedule(&self, task: Notified, how: Push) {
        let owner = task.header().owner();
        self.with_current_worker(|cx| match cx {
            Some(cx) if owner == NO_OWNER || owner == cx.core.index => {
                cx.schedule_local(task, how, owner != NO_OWNER)
            }
            _ => self.schedule_remote(task, owner),
        })
    }

    fn schedule_remote(&self, task: Notified, owner: usize) {
        if owner != NO_OWNER {
            let remote = &self.remotes[owner];
            let mut inbox = remote.inbox.lock();
            if inbox.closed {
                drop(inbox);
                drop(task);
                return;
            }
            inbox.queue.push_back(task);
            remote.inbox_flag.store(true, Ordering::Release);
            drop(inbox);
            self.drivers.unpark(owner);
            return;
        }
        self.injector.push(task);
        fence(Ordering::SeqCst);
        if self.shutdown.load(Ordering::SeqCst) {
            self.drain_injector();
            return;
        }
        self.notify_parked();
    }

    /// Wakes one parked worker if nobody is searching.
    pub(crate) fn notify_parked(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            self.drivers.unpark(worker);
        }
    }

    /// Called by the last searcher before it parks: if any queue still has
    /// work, make sure someone is awake to take it.
    pub(crate) fn notify_if_work_pending(&self) {
        // Pairs with the fence in `Idle::should_notify` (see `idle.rs`).
        fence(Ordering::SeqCst);
        let pending =
            self.remotes.iter().any(|r| !r.stealer.is_empty()) || !self.injector.is_empty();
        if pending {
            self.notify_parked();
        }
    }

    /// Moves the `!Send` tasks woken remotely for `worker` into `f`.
    pub(crate) fn take_inbox(&self, worker: usize, mut f: impl FnMut(Notified)) {
        let remote = &self.remotes[worker];
        if !remote.inbox_flag.load(Ordering::Acquire) {
            return;
        }
        remote.inbox_flag.store(false, Ordering::Relaxed);
        let tasks = std::mem::take(&mut remote.inbox.lock().queue);
        tasks.into_iter().for_each(&mut f);
    }

    pub(crate) fn has_inbox(&self, worker: usize) -> bool {
        self.remotes[worker].inbox_flag.load(Ordering::Acquire)
    }

    /// Closes `worker`'s inbox and drops what it holds.
    pub(crate) fn close_inbox(&self, worker: usize) {
        let tasks = {
            let mut inbox = self.remotes[worker].inbox.lock();
            inbox.closed = true;
            std::mem::take(&mut inbox.queue)
        };
        drop(tasks);
    }

    pub(crate) fn drain_injector(&self) {
        while let Some(task) = self.injector.pop() {
            drop(task);
        }
    }

    /// Step 1 of shutdown: raise the flag and wake every worker.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        for worker in 0..self.num_workers {
            self.drivers.unpark(worker);
        }
    }

    /// Sends a panic nobody else will see to the exception handler.
    pub(crate) fn report(
        &self,
        task: Option<&Header>,
        what: &str,
        payload: Option<&(dyn Any + Send)>,
    ) {
        self.exception_handler.report(task, what, payload);
    }

    /// Every task of this runtime that has not finished (but the runtime's
    /// own callback runners).
    pub(crate) fn all_tasks(&self) -> Vec<crate::task::TaskRef> {
        let mut out = Vec::new();
        self.registry.for_each(|h| {
            if !h.is_complete() {
                out.push(crate::task::TaskRef::from_header(NonNull::from(h)));
            }
        });
        out.retain(|t| !t.header().read_extras(|e| e.is_some_and(|e| e.internal)));
        out
    }

    /// Every task of this runtime that has not finished, except the one
    /// polling now (if any).
    pub(crate) fn unfinished_tasks(&self) -> Vec<crate::task::TaskRef> {
        let me = context::current_task_header();
        let mut out = Vec::new();
        self.registry.for_each(|h| {
            if !h.is_complete() && me != Some(NonNull::from(h)) {
                out.push(crate::task::TaskRef::from_header(NonNull::from(h)));
            }
        });
        out
    }
}
