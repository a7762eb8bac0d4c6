//! One worker: its queues, its event loop, and the loop that runs tasks.
//!
//! # The loop, per tick
//!
//! 1. Every `GLOBAL_QUEUE_INTERVAL` ticks, take a task from the injector
//!    first (fairness) and collect `!Send` tasks woken remotely.
//! 2. Otherwise: the LIFO slot, the local `!Send` queue (every other tick
//!    first), the run queue, the inbox, then a batch from the injector.
//! 3. Poll the task under a fresh cooperative budget; then run up to
//!    `MAX_LIFO_POLLS_PER_TICK` tasks from the LIFO slot back to back (a
//!    message-passing pair), and push any further one to the back of the run
//!    queue so a ping-pong pair cannot starve the queue.
//! 4. Out of work: become a searcher (if fewer than half the workers
//!    search) and steal half of another worker's run queue, or a batch of
//!    the injector.
//! 5. Still nothing: sleep in the driver (`driver.rs`: the reactor, with the
//!    next timer deadline as timeout), after helping busy peers with their
//!    timers and I/O; a remote push or a timer moved earlier unparks it.
//!
//! # Pinned workers
//!
//! A worker with `!Send` tasks of its own (`spawn_local` tasks, and on
//! worker 0 the main task of `run`) is *pinned*: those tasks can run
//! nowhere else, so a long poll of some other task on this worker would
//! keep them waiting, however idle the other workers are. So, while
//! another worker is idle and not pinned, a pinned worker runs only its
//! own `!Send` tasks: it hands its stealable tasks (LIFO slot and run
//! queue) to the injector, wakes a worker for them, and neither steals nor
//! takes from the injector. When no such worker is idle it runs stealable
//! tasks like any other worker, and it works as before with one worker.
//!
//! `Shared::idle_free` counts the workers that are idle and not pinned;
//! each worker keeps its own contribution (`Core::idle_free`): on from the
//! moment it runs out of work (and from its start) until it takes a task.
//! A counted worker looks at the injector before it sleeps, and the
//! notification that follows each hand-off wakes it if it sleeps. Two
//! races are closed with the store-buffering pattern of the idle protocol
//! (`idle.rs`): a worker about to sleep re-reads the injector (and, if it
//! is pinned, the count) after it is on the parked list, and takes the
//! work if it is its own; a worker that stops counting looks at the
//! injector after it stops, and wakes a sleeper if work is there.
//!
//! Only the thread running the worker touches its `Core`; the cells in it
//! are therefore plain `Cell`/`RefCell`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr::NonNull;

use super::driver::Scratch;
use super::pool::LocalCache;
use super::{Push, Shared};
use crate::config::{GLOBAL_QUEUE_INTERVAL, LOCAL_QUEUE_CAPACITY, MAX_LIFO_POLLS_PER_TICK};
use crate::context;
use crate::queue::LocalQueue;
use crate::sync::{fence, Arc, Ordering};
use crate::task::{Notified, NO_OWNER};

/// A worker's own state.
pub(crate) struct Core {
    pub(crate) index: usize,
    pub(crate) run_queue: LocalQueue<Notified>,
    lifo_slot: Cell<Option<Notified>>,
    /// `!Send` tasks bound to this worker (only with more than one worker;
    /// with one, they share the run queue to keep a single FIFO order).
    local_queue: RefCell<VecDeque<Notified>>,
    tick: Cell<u32>,
    /// The clock's centiseconds (`crate::clock`), refreshed every
    /// `GLOBAL_QUEUE_INTERVAL` ticks and after parking: the spawn stamp of
    /// the tasks this worker spawns (a clock read per spawn would cost a
    /// measurable share of a spawn).
    pub(crate) now_centis: Cell<u32>,
    is_searching: Cell<bool>,
    /// While the worker delivers its drivers' events (I/O, timers, a
    /// peer's I/O it helps with): the tasks they wake are queued without a
    /// notification each, and one notification follows if the batch left
    /// work to share (`batch_notifications`).
    in_driver: Cell<bool>,
    rand: Cell<u32>,
    /// Free task blocks of this worker (see `pool.rs`).
    pub(crate) cache: RefCell<LocalCache>,
    /// When the current memory period ends (`memory_period`), if one runs.
    memory_period_end: Cell<Option<std::time::Instant>>,
    /// Reused buffers for parking and helping (`driver.rs`).
    scratch: RefCell<Scratch>,
    /// Live `!Send` tasks bound to this worker (see "Pinned workers").
    /// Changed only on this worker's thread, while it polls.
    pinned: Cell<usize>,
    /// This worker counts in `Shared::idle_free` (background workers start
    /// idle; worker 0 starts absent).
    idle_free: Cell<bool>,
    /// `Bridges::external_submits` when a spin of this worker for work
    /// from outside last ended without any (see `spin_for_remote_wake`).
    seen_external_submits: Cell<u64>,
}

impl Core {
    /// The end of a memory period for this core: its cache frees what the
    /// period did not need, and the blocks waiting in its return stacks go.
    fn give_back_memory(&self, pool: &super::pool::Pool) {
        self.cache
            .borrow_mut()
            .decay(crate::config::IDLE_CACHED_BYTES);
        pool.decay(self.index);
    }

    pub(crate) fn new(index: usize) -> Core {
        Core {
            index,
            run_queue: LocalQueue::new(),
            lifo_slot: Cell::new(None),
            local_queue: RefCell::new(VecDeque::new()),
            tick: Cell::new(0),
            now_centis: Cell::new(crate::clock::now_centis()),
            is_searching: Cell::new(false),
            in_driver: Cell::new(false),
            rand: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
            cache: RefCell::new(LocalCache::new()),
            memory_period_end: Cell::new(None),
            scratch: RefCell::new(Scratch::default()),
            pinned: Cell::new(0),
            idle_free: Cell::new(index != 0),
            seen_external_submits: Cell::new(0),
        }
    }

    fn next_rand(&self) -> u32 {
        // xorshift32
        let mut x = self.rand.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rand.set(x);
        x
    }
}

/// The context of a thread while it runs a worker: the runtime it belongs
/// to and the worker's core. Reached through a thread-local pointer.
pub(crate) struct WorkerCx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) core: Box<Core>,
}

impl WorkerCx {
    fn multi(&self) -> bool {
        self.shared.num_workers > 1
    }

    /// A `!Send` task bound to this worker was spawned.
    pub(crate) fn pin(&self) {
        self.core.pinned.set(self.core.pinned.get() + 1);
    }

    /// A `!Send` task bound to this worker completed.
    pub(crate) fn unpin(&self) {
        self.core
            .pinned
            .set(self.core.pinned.get().saturating_sub(1));
    }

    /// Whether this worker leaves its stealable tasks to an idle peer that
    /// is not pinned (see "Pinned workers").
    #[inline]
    fn defers(&self) -> bool {
        self.core.pinned.get() > 0
            && self.multi()
            && self.shared.idle_free.load(Ordering::Relaxed) > 0
    }

    /// Turns this worker's count in `Shared::idle_free` on (it is out of
    /// work and not pinned) or off.
    fn set_idle_free(&self, on: bool) {
        let on = on && self.core.pinned.get() == 0;
        if self.core.idle_free.replace(on) != on {
            if on {
                self.shared.idle_free.fetch_add(1, Ordering::SeqCst);
            } else {
                self.shared.idle_free.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// This worker took a task: it stops counting as idle, and if a pinned
    /// peer handed work over meanwhile, wakes someone for it (see "Pinned
    /// workers").
    #[inline]
    fn leave_idle(&self) {
        if self.core.idle_free.get() {
            self.set_idle_free(false);
            fence(Ordering::SeqCst);
            if !self.shared.injector.is_empty() {
                self.shared.notify_parked();
            }
        }
    }

    /// A pinned worker's turn, while it defers: hands its stealable tasks
    /// over, passes on a notification to search, and takes only its own
    /// `!Send` tasks.
    fn next_pinned_task(&self, tick: u32) -> Option<Notified> {
        let core = &*self.core;
        let shared = &*self.shared;
        if core.is_searching.replace(false) && shared.idle.transition_worker_from_searching() {
            // Woken to search, but this worker leaves stealable work to
            // others: the last searcher wakes one of them instead.
            shared.notify_parked();
        }
        if tick % GLOBAL_QUEUE_INTERVAL == 0 {
            self.maintenance(tick);
        }
        let mut handed = false;
        if let Some(task) = core.lifo_slot.take() {
            shared.injector.push(task);
            handed = true;
        }
        while let Some(task) = core.run_queue.pop() {
            shared.injector.push(task);
            handed = true;
        }
        if handed {
            shared.notify_parked();
        }
        if let Some(task) = core.local_queue.borrow_mut().pop_front() {
            return Some(task);
        }
        if shared.has_inbox(core.index) {
            self.collect_inbox();
            return core.local_queue.borrow_mut().pop_front();
        }
        None
    }

    /// A worker about to sleep, on the parked list: whether the injector
    /// holds work that is its own to take (for a pinned worker: only when
    /// no idle worker is left for it; see "Pinned workers").
    fn injector_work_is_mine(&self) -> bool {
        fence(Ordering::SeqCst);
        !self.shared.injector.is_empty()
            && (self.core.pinned.get() == 0
                || !self.multi()
                || self.shared.idle_free.load(Ordering::SeqCst) == 0)
    }

    /// Queues a task on this worker (called on this worker's thread).
    pub(crate) fn schedule_local(&self, task: Notified, how: Push, is_local_task: bool) {
        let core = &*self.core;
        if is_local_task && self.multi() {
            core.local_queue.borrow_mut().push_back(task);
            return;
        }
        if how == Push::Requeue {
            let alone = self.queued() == 0;
            self.push_back_notify(task, !alone);
            return;
        }
        if how == Push::Spawn || !self.multi() {
            self.push_back(task);
            return;
        }
        if let Some(prev) = core.lifo_slot.replace(Some(task)) {
            self.push_back(prev);
        }
    }

    /// Pushes to the back of the run queue, overflowing half of it to the
    /// injector when full, and wakes a parked worker to steal.
    fn push_back(&self, task: Notified) {
        self.push_back_notify(task, true);
    }

    /// [`push_back`](Self::push_back), waking a parked worker only if
    /// `notify`.
    fn push_back_notify(&self, task: Notified, notify: bool) {
        let core = &*self.core;
        // Spill half to the injector for the other workers to take. With
        // one worker nobody else would, and the spill would break the one
        // FIFO order (asyncio's) that a single worker keeps.
        if core.run_queue.len() >= LOCAL_QUEUE_CAPACITY && self.multi() {
            self.overflow();
        }
        core.run_queue.push(task);
        if notify && self.multi() && !core.in_driver.get() {
            self.shared.notify_parked();
        }
    }

    /// Stealable tasks queued on this worker: its run queue and LIFO slot.
    fn queued(&self) -> usize {
        let core = &*self.core;
        let lifo = core.lifo_slot.take();
        let n = usize::from(lifo.is_some()) + core.run_queue.len();
        core.lifo_slot.set(lifo);
        n
    }

    /// Runs `f`, which delivers driver events, with the notifications of
    /// the tasks they wake held back, then wakes a parked worker once if
    /// more than the one task this worker runs next is queued and no
    /// searcher is about (a searcher that finds work passes the baton on
    /// itself). Events come in batches: a notification per woken task
    /// would wake a peer for each, whose wakeup takes longer than the
    /// tasks.
    fn batch_notifications<R>(&self, f: impl FnOnce() -> R) -> R {
        let core = &*self.core;
        if !self.multi() || core.in_driver.replace(true) {
            return f();
        }
        let r = f();
        core.in_driver.set(false);
        if self.queued() > 1 && !core.is_searching.get() {
            self.shared.notify_parked();
        }
        r
    }

    #[cold]
    fn overflow(&self) {
        for _ in 0..LOCAL_QUEUE_CAPACITY / 2 {
            match self.core.run_queue.pop() {
                Some(t) => self.shared.injector.push(t),
                None => break,
            }
        }
    }

    /// Runs the worker loop until `stop()` is true or the runtime shuts down.
    pub(crate) fn run(&self, stop: &dyn Fn() -> bool) {
        let core = &*self.core;
        core.now_centis.set(crate::clock::now_centis());
        while !stop() && !self.shared.is_shutdown() {
            let tick = core.tick.get().wrapping_add(1);
            core.tick.set(tick);
            if self.defers() {
                match self.next_pinned_task(tick) {
                    Some(task) => self.run_task(task, stop),
                    None => self.park(),
                }
                continue;
            }
            if let Some(task) = self.next_task(tick) {
                self.run_task(task, stop);
                continue;
            }
            self.set_idle_free(true);
            if let Some(task) = self.steal_work() {
                self.run_task(task, stop);
                continue;
            }
            self.park();
        }
    }

    fn next_task(&self, tick: u32) -> Option<Notified> {
        let core = &*self.core;
        let shared = &*self.shared;
        if tick % GLOBAL_QUEUE_INTERVAL == 0 {
            self.maintenance(tick);
            if let Some(task) = shared.injector.pop() {
                return Some(task);
            }
        }
        if let Some(task) = core.lifo_slot.take() {
            return Some(task);
        }
        if tick & 1 == 1 {
            if let Some(task) = core.local_queue.borrow_mut().pop_front() {
                return Some(task);
            }
        }
        if let Some(task) = core.run_queue.pop() {
            return Some(task);
        }
        if let Some(task) = core.local_queue.borrow_mut().pop_front() {
            return Some(task);
        }
        if shared.has_inbox(core.index) {
            self.collect_inbox();
            if let Some(task) = core.local_queue.borrow_mut().pop_front() {
                return Some(task);
            }
            if let Some(task) = core.run_queue.pop() {
                return Some(task);
            }
        }
        shared.injector.steal_batch_and_pop(&core.run_queue)
    }

    /// Every `GLOBAL_QUEUE_INTERVAL` ticks: refresh the cached clock,
    /// publish the tick, look at the reactor, fire due timers and collect
    /// the inbox.
    fn maintenance(&self, tick: u32) {
        let core = &*self.core;
        let shared = &*self.shared;
        core.now_centis.set(crate::clock::now_centis());
        // A busy worker never parks: it looks at its reactor and timers
        // now and then.
        self.batch_notifications(|| {
            shared
                .drivers
                .maintain(core.index, tick, &mut core.scratch.borrow_mut());
        });
        self.collect_inbox();
    }

    fn collect_inbox(&self) {
        let multi = self.multi();
        self.shared.take_inbox(self.core.index, |task| {
            if multi {
                self.core.local_queue.borrow_mut().push_back(task);
            } else {
                self.core.run_queue.push(task);
            }
        });
    }

    fn run_task(&self, task: Notified, stop: &dyn Fn() -> bool) {
        let core = &*self.core;
        self.leave_idle();
        if core.is_searching.replace(false) && self.shared.idle.transition_worker_from_searching() {
            // We were the last searcher: hand the baton on.
            self.shared.notify_parked();
        }
        self.poll(task);
        for _ in 0..MAX_LIFO_POLLS_PER_TICK {
            if stop() || self.defers() {
                break;
            }
            match core.lifo_slot.take() {
                Some(task) => self.poll(task),
                None => return,
            }
        }
        if let Some(task) = core.lifo_slot.take() {
            self.push_back(task);
        }
    }

    /// Runs one task; in debug mode, times the poll.
    #[inline]
    fn poll(&self, task: Notified) {
        match self.shared.slow_poll {
            None => task.run(),
            Some(threshold) => self.poll_timed(task, threshold),
        }
    }

    /// Debug mode: reports a poll slower than `threshold` with the task's
    /// name and where it resumed (asyncio's slow callback warning).
    #[cold]
    fn poll_timed(&self, task: Notified, threshold: std::time::Duration) {
        let header = NonNull::from(task.header());
        // Keeps the header alive past the poll, which may free the task.
        let task_ref = crate::task::TaskRef::from_header(header);
        let resumed_at = task.header().suspended_at();
        let start = std::time::Instant::now();
        task.run();
        let took = start.elapsed();
        if took >= threshold {
            let name = task_ref.name();
            let at = match resumed_at {
                Some(at) => format!("resumed at {at}"),
                None => "at its first poll".to_owned(),
            };
            let message = format!(
                "slow poll: task {name} ran for {:.3} s without yielding ({at}); \
                 debug mode reports polls over {:.3} s: move blocking work to a thread, \
                 or yield more often",
                took.as_secs_f64(),
                threshold.as_secs_f64()
            );
            self.shared.report(Some(task_ref.header()), &message, None);
        }
    }

    fn steal_work(&self) -> Option<Notified> {
        let core = &*self.core;
        let shared = &*self.shared;
        let n = shared.num_workers;
        // Even a lone worker (`workers(1)`) becomes a searcher: the last
        // searcher to park re-checks the queues, which is what catches a
        // remote spawn or wake whose notifier saw every worker awake (loom:
        // `spawn_while_sleeping`).
        if !core.is_searching.get() {
            if !shared.idle.transition_worker_to_searching() {
                return None;
            }
            core.is_searching.set(true);
        }
        let start = core.next_rand() as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == core.index {
                continue;
            }
            if let Some(task) = shared.remotes[victim]
                .stealer
                .steal_batch_and_pop(&core.run_queue)
            {
                return Some(task);
            }
        }
        shared.injector.steal_batch_and_pop(&core.run_queue)
    }

    fn park(&self) {
        self.batch_notifications(|| self.park_in_drivers());
    }

    /// [`park`](Self::park): helps peers and sleeps, delivering events.
    fn park_in_drivers(&self) {
        let core = &*self.core;
        let shared = &*self.shared;
        let index = core.index;
        let mut scratch = core.scratch.borrow_mut();
        // Timers that are due, or a busy peer's I/O events, make tasks
        // runnable: no need to sleep.
        if shared.drivers.poll_ready(index, &mut scratch) {
            return;
        }
        if self.spin_for_remote_wake() {
            return;
        }
        // Before it counts as parked (a notifier may pick it from then on).
        let at_most = self.memory_period();
        let last_searcher = shared
            .idle
            .transition_worker_to_parked(index, core.is_searching.replace(false));
        if last_searcher {
            shared.notify_if_work_pending();
        }
        let woken = shared
            .drivers
            .park(index, core.tick.get(), &mut scratch, at_most, || {
                !shared.is_shutdown() && !shared.has_inbox(index) && !self.injector_work_is_mine()
            });
        core.now_centis.set(crate::clock::now_centis());
        if shared.idle.transition_worker_from_parked(index) {
            core.is_searching.set(true);
        }
        shared.drivers.after_park(index, woken, &mut scratch);
    }

    /// Task memory a burst left behind goes back once a period of
    /// `config::MEMORY_LINGER` passes in which it was not needed
    /// (`pool.rs`). Called before the worker sleeps: ends the current
    /// period if it is over (giving back what it did not need), starts the
    /// next one if there is still memory to give back (its cache holds
    /// more than an idle worker keeps, or worker 0's cache, outside `run`,
    /// waits for a decay), and returns how long the worker may sleep
    /// before the period's end.
    fn memory_period(&self) -> Option<std::time::Duration> {
        use crate::config::{IDLE_CACHED_BYTES, MEMORY_LINGER};
        if cfg!(loom) {
            return None;
        }
        let core = &*self.core;
        let shared = &*self.shared;
        if let Some(end) = core.memory_period_end.get() {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if !left.is_zero() {
                return Some(left);
            }
            self.give_back_memory();
        }
        let mut cache = core.cache.borrow_mut();
        if cache.bytes() <= IDLE_CACHED_BYTES && !shared.core0_holds_memory.load(Ordering::Relaxed)
        {
            core.memory_period_end.set(None);
            return None;
        }
        cache.start_period();
        core.memory_period_end
            .set(Some(std::time::Instant::now() + MEMORY_LINGER));
        Some(MEMORY_LINGER)
    }

    /// The end of a memory period: this worker's cache gives back what the
    /// period did not need, the blocks waiting in its return stacks go
    /// back, and so does worker 0's cache if it waits for it and no `run`
    /// call holds it now.
    fn give_back_memory(&self) {
        let shared = &*self.shared;
        self.core.give_back_memory(&shared.pool);
        if shared.core0_holds_memory.swap(false, Ordering::Relaxed) {
            let core0 = shared.core0.try_lock();
            if let Some(core0) = core0.as_ref().and_then(|c| c.as_ref()) {
                core0.give_back_memory(&shared.pool);
            }
        }
    }

    /// Before parking, a searching worker that expects work from another
    /// thread spins for it, for about the cost of a thread wakeup
    /// (`crate::spin`): a caller that awaits blocking jobs (or submits
    /// coroutines from outside) one by one would otherwise pay a wakeup
    /// per round trip. It expects such work while blocking jobs are in
    /// flight, no more of them than there are cores (with more, the pool's
    /// threads need every core, and a spinning worker would slow the very
    /// jobs it waits for; their completions come often anyway), and while
    /// threads outside the runtime keep submitting work: it spins as long
    /// as its spins find work, and once one ends without any it spins again
    /// only after a further submission (a thread that submits and waits
    /// for each result sends the next one a round trip later; a worker
    /// that spun in vain for it sleeps until there is news). While it
    /// searches, remote wakes do not unpark anyone else (`Idle`). True if
    /// work arrived.
    fn spin_for_remote_wake(&self) -> bool {
        let shared = &*self.shared;
        if cfg!(loom) || !self.core.is_searching.get() {
            return false;
        }
        let submits = shared.bridges.external_submits();
        let external = self.core.seen_external_submits.get() != submits;
        let jobs = shared.blocking.jobs_in_flight();
        let jobs_may_finish = jobs > 0 && jobs <= crate::spin::cores();
        if !external && !jobs_may_finish {
            return false;
        }
        let index = self.core.index;
        let arrived =
            crate::spin::spin_until(|| !shared.injector.is_empty() || shared.has_inbox(index));
        if !arrived {
            self.core.seen_external_submits.set(submits);
        }
        arrived
    }

    /// Worker 0 is leaving `run`: hand its stealable work to the other
    /// workers through the injector.
    pub(crate) fn leave(&self) {
        let core = &*self.core;
        let shared = &*self.shared;
        self.set_idle_free(false);
        if let Some(task) = core.lifo_slot.take() {
            shared.injector.push(task);
        }
        let mut moved = false;
        while let Some(task) = core.run_queue.pop() {
            if task.header().owner() != NO_OWNER {
                // `workers(1)`: `!Send` tasks share the run queue; they stay.
                core.local_queue.borrow_mut().push_back(task);
            } else {
                shared.injector.push(task);
                moved = true;
            }
        }
        if !self.multi() {
            // Put the `!Send` tasks back in FIFO order for the next `run`.
            let local: Vec<_> = core.local_queue.borrow_mut().drain(..).collect();
            local.into_iter().for_each(|t| core.run_queue.push(t));
        }
        let last_searcher = shared.idle.worker_exit(core.is_searching.replace(false));
        if last_searcher || moved {
            shared.notify_parked();
        }
        // Worker 0's cache stays in the runtime while no `run` call is
        // active; a worker that sleeps decays it after a memory period
        // (`memory_period`; woken for it if all sleep already). With one
        // worker there is none: the cache stays within its bound.
        if self.multi() && !cfg!(loom) {
            let mut cache = core.cache.borrow_mut();
            if cache.bytes() > crate::config::IDLE_CACHED_BYTES {
                cache.start_period();
                if !shared.core0_holds_memory.swap(true, Ordering::Relaxed) {
                    shared.notify_parked();
                }
            }
        }
    }

    /// Drops every queued notification of this worker and shuts down its
    /// `!Send` tasks, on its own thread.
    pub(crate) fn shutdown_core(&self) {
        let core = &*self.core;
        let shared = &*self.shared;
        drop(core.lifo_slot.take());
        while let Some(task) = core.run_queue.pop() {
            drop(task);
        }
        let local: Vec<_> = core.local_queue.borrow_mut().drain(..).collect();
        drop(local);
        shared.close_inbox(core.index);
        let index = core.index;
        for task in shared.registry.take(false, |h| h.owner() == index) {
            task.shutdown();
        }
    }
}

/// The body of a background worker thread.
pub(crate) fn worker_main(shared: Arc<Shared>, core: Box<Core>) {
    let cx = WorkerCx { shared, core };
    let _guard = context::enter_worker(&cx);
    cx.run(&|| false);
    cx.shutdown_core();
}
