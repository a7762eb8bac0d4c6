//! What the workers park on: each worker's reactor and timer wheel, one
//! park for both, and the help idle workers give busy ones.
//!
//! # One park for time and I/O
//!
//! A worker with nothing to run sleeps in its reactor (`epoll_wait`, behind
//! the [`Parker`] of `park.rs`), with a timeout that is its timer slot's
//! next deadline (`time/driver.rs`): time is stacked over I/O, so one
//! system call waits for both. A timer registered from another thread that
//! moves a sleeper's deadline earlier unparks it (see
//! `Drivers::register_timer` in `time/driver.rs`). One parked worker at a
//! time is the *timer watcher*: it also sleeps no later than the earliest
//! deadline of every other worker, so the timers of a worker stuck in a
//! long poll still fire.
//!
//! # Helping
//!
//! An idle worker, before it sleeps and when it wakes, does the work a busy
//! peer cannot do while it polls:
//!
//! * fires its own due timers, and those of peers whose wheels are free;
//! * delivers a busy peer's I/O events: it drains the reactor of a peer
//!   that is not parked in it (try-lock), or takes the events ready now
//!   beside a peer that is (where the backend can); the woken tasks come
//!   to the helper's queue;
//! * when a peer with I/O sources was awake as it went to sleep, it sleeps
//!   at most `config::IO_HELP_INTERVAL`, and if that peer's tick has not
//!   moved since (it is stuck in one poll), drains its reactor.
//!
//! A worker whose peers are all parked sleeps without a helping timeout:
//! an idle runtime does not wake up.
//!
//! # Who calls what
//!
//! `worker.rs` decides *whether* to sleep (queues empty, idle bookkeeping,
//! a spin for expected remote work) and calls [`Drivers::poll_ready`],
//! [`Drivers::park`] and [`Drivers::after_park`] around it; every other
//! thread only calls [`Drivers::unpark`] (and the timer registration).

use std::task::Waker;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::park::{new_driver, DefaultDriver, Driver, Parker};
use crate::config::IO_HELP_INTERVAL;
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::time::driver::{Clock, TimerSlot, NEVER, NO_WATCHER};

type DriverUnpark = <DefaultDriver as Driver>::Unpark;

/// The drivers of every worker of a runtime, and the clock their timers
/// count in.
pub(crate) struct Drivers {
    workers: Box<[WorkerDriver]>,
    /// Each worker's timer wheel (`time/driver.rs`), in worker order.
    timers: Box<[CachePadded<TimerSlot>]>,
    /// The runtime's millisecond clock for timers.
    pub(crate) clock: Clock,
    /// The parked worker that also wakes for other workers' timers.
    pub(crate) timer_watcher: AtomicUsize,
}

/// One worker's: its reactor behind its parker, its timer slot, and what
/// peers read to help it.
struct WorkerDriver {
    parker: Parker<DriverUnpark>,
    /// The worker's event loop. Its owner holds the lock while it parks in
    /// it; an idle peer try-locks it to drain events of a busy owner.
    reactor: Mutex<DefaultDriver>,
    /// The reactor's handle, for registering I/O sources in it.
    #[cfg(not(loom))]
    io: corio_reactor::IoHandle,
    /// How many times this worker went to sleep (for `Metrics`).
    parks: AtomicUsize,
    /// The worker's tick, published now and then and after each park
    /// (relaxed): a peer that sees it unchanged over a helping interval
    /// takes this worker to be stuck in a long poll.
    tick: AtomicUsize,
}

/// A worker's reused buffers for parking and helping (in its `Core`).
#[derive(Default)]
pub(crate) struct Scratch {
    /// The wakers of fired timers.
    fired: Vec<Waker>,
    /// The peers (and their ticks) to look at after a helping interval.
    peer_ticks: Vec<(usize, usize)>,
}

/// What happened in [`Drivers::park`], for [`Drivers::after_park`].
#[must_use]
pub(crate) struct Parked {
    /// This worker was the timer watcher while it slept.
    watching: bool,
    /// A peer with I/O sources was awake when it went to sleep.
    awake_peers: bool,
}

impl Drivers {
    /// One driver per worker.
    pub(crate) fn new(num_workers: usize) -> std::io::Result<Drivers> {
        let workers = (0..num_workers)
            .map(|_| {
                let reactor = new_driver()?;
                Ok(WorkerDriver {
                    parker: Parker::new(Driver::unparker(&reactor)),
                    #[cfg(not(loom))]
                    io: reactor.io_handle(),
                    reactor: Mutex::new(reactor),
                    parks: AtomicUsize::new(0),
                    tick: AtomicUsize::new(0),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Drivers {
            workers: workers.into_boxed_slice(),
            timers: (0..num_workers)
                .map(|_| CachePadded::new(TimerSlot::new()))
                .collect(),
            clock: Clock::new(),
            timer_watcher: AtomicUsize::new(NO_WATCHER),
        })
    }

    /// Wakes `worker` if it is parked, or makes its next park return.
    #[inline]
    pub(crate) fn unpark(&self, worker: usize) {
        self.workers[worker].parker.unpark();
    }

    /// Whether `worker` is parked (or about to block) in its reactor.
    #[cfg(not(loom))]
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.workers[worker].parker.is_parked()
    }

    /// The reactor handle of `worker`, for registering I/O sources.
    #[cfg(not(loom))]
    pub(crate) fn io(&self, worker: usize) -> &corio_reactor::IoHandle {
        &self.workers[worker].io
    }

    /// The worker whose reactor `is_in` says holds a source.
    #[cfg(not(loom))]
    pub(crate) fn io_owner(
        &self,
        is_in: impl Fn(&corio_reactor::IoHandle) -> bool,
    ) -> Option<usize> {
        self.workers.iter().position(|w| is_in(&w.io))
    }

    /// The timer slot of `worker`.
    pub(crate) fn timers(&self, worker: usize) -> &TimerSlot {
        &self.timers[worker]
    }

    /// Every worker's timer slot, in worker order (for the watcher
    /// protocol of `time/driver.rs`).
    pub(crate) fn all_timers(&self) -> &[CachePadded<TimerSlot>] {
        &self.timers
    }

    /// How many times the workers have gone to sleep, summed.
    pub(crate) fn park_count(&self) -> u64 {
        self.workers
            .iter()
            .map(|w| w.parks.load(Ordering::Relaxed) as u64)
            .sum()
    }

    /// A busy worker's periodic look at its reactor and timers (it never
    /// parks while it has work): publishes its tick, delivers the ready
    /// events (unless an idle peer is draining them right now) and fires
    /// its due timers.
    pub(crate) fn maintain(&self, me: usize, tick: u32, scratch: &mut Scratch) {
        // Published now and then, not every tick: the line is read by
        // peers, and a stuck worker publishes nothing at all, which is all
        // a helper needs to see.
        self.workers[me]
            .tick
            .store(tick as usize, Ordering::Relaxed);
        if let Some(mut reactor) = self.workers[me].reactor.try_lock() {
            reactor.poll_events();
        }
        self.fire_own_timers(me, scratch);
    }

    /// Before sleeping: fires due timers (this worker's and free peers')
    /// and delivers busy peers' I/O events. True if any task may have
    /// become runnable: no need to sleep.
    pub(crate) fn poll_ready(&self, me: usize, scratch: &mut Scratch) -> bool {
        self.fire_own_timers(me, scratch)
            | self.help_with_timers(me, scratch)
            | self.help_with_io(me, None)
    }

    /// Sleeps in `me`'s reactor until unparked, an I/O event, the next
    /// timer deadline (of every worker, for the watcher), or the helping
    /// interval when a peer with I/O sources is awake, or `at_most` (the
    /// end of the worker's memory period). `may_sleep` is asked
    /// last, after this worker is registered where wakers look (the
    /// worker's queues were empty when it decided to park; anything that
    /// arrived since must be seen): if it says no, the park returns at
    /// once. `tick` is published on the way out.
    pub(crate) fn park(
        &self,
        me: usize,
        tick: u32,
        scratch: &mut Scratch,
        at_most: Option<Duration>,
        may_sleep: impl FnOnce() -> bool,
    ) -> Parked {
        let watching = self
            .timer_watcher
            .compare_exchange(NO_WATCHER, me, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        let slot = &self.timers[me];
        let awake_peers = self.note_awake_peers(me, scratch);
        if let Some(until) = slot.prepare_park(self.all_timers(), watching) {
            if may_sleep() {
                let mut timeout = self.clock.timeout_until(until);
                if awake_peers {
                    let h = IO_HELP_INTERVAL;
                    timeout = Some(timeout.map_or(h, |t| t.min(h)));
                }
                if let Some(m) = at_most {
                    timeout = Some(timeout.map_or(m, |t| t.min(m)));
                }
                if timeout != Some(Duration::ZERO) {
                    let w = &self.workers[me];
                    w.parks.fetch_add(1, Ordering::Relaxed);
                    let mut reactor = w.reactor.lock();
                    w.parker.park(&mut *reactor, timeout);
                }
            }
        }
        slot.unpark_done();
        self.workers[me]
            .tick
            .store(tick as usize, Ordering::Relaxed);
        if watching {
            self.timer_watcher.store(NO_WATCHER, Ordering::SeqCst);
        }
        Parked {
            watching,
            awake_peers,
        }
    }

    /// After sleeping: fires due timers (also the other workers', for the
    /// watcher), and drains the reactor of each peer seen awake before
    /// sleeping that has not moved since (stuck in one poll).
    pub(crate) fn after_park(&self, me: usize, parked: Parked, scratch: &mut Scratch) {
        self.fire_own_timers(me, scratch);
        if parked.watching {
            self.help_with_timers(me, scratch);
        }
        if parked.awake_peers {
            self.help_stuck_peers(me, scratch);
        }
    }

    /// Fires `me`'s due timers. True if any fired.
    fn fire_own_timers(&self, me: usize, scratch: &mut Scratch) -> bool {
        let slot = &self.timers[me];
        if slot.next() == NEVER {
            return false;
        }
        let now = self.clock.now_tick();
        if slot.next() > now {
            return false;
        }
        slot.fire(now, &mut scratch.fired, false);
        wake_all(&mut scratch.fired)
    }

    /// Fires the due timers of the other workers whose wheels are free
    /// right now (an idle worker helping one stuck in a long poll). True
    /// if any fired.
    fn help_with_timers(&self, me: usize, scratch: &mut Scratch) -> bool {
        let mut now = None;
        for (i, slot) in self.timers.iter().enumerate() {
            if i == me || slot.next() == NEVER {
                continue;
            }
            let now = *now.get_or_insert_with(|| self.clock.now_tick());
            if slot.next() <= now {
                slot.fire(now, &mut scratch.fired, true);
            }
        }
        wake_all(&mut scratch.fired)
    }

    /// Remembers the ticks of the peers that are awake and have I/O
    /// sources (a peer parked in its reactor handles its own events).
    /// Returns whether there is one.
    fn note_awake_peers(&self, me: usize, scratch: &mut Scratch) -> bool {
        let seen = &mut scratch.peer_ticks;
        seen.clear();
        #[cfg(not(loom))]
        for (i, w) in self.workers.iter().enumerate() {
            if i != me && w.io.has_sources() && !w.parker.is_parked() {
                seen.push((i, w.tick.load(Ordering::Relaxed)));
            }
        }
        #[cfg(loom)]
        let _ = me;
        !seen.is_empty()
    }

    /// After a helping interval: drains the reactor of each peer noted
    /// before parking whose tick has not moved (it is stuck in one poll),
    /// so the I/O events of its tasks do not wait for that poll to end.
    fn help_stuck_peers(&self, me: usize, scratch: &mut Scratch) {
        for &(i, tick) in &scratch.peer_ticks {
            if self.workers[i].tick.load(Ordering::Relaxed) == tick {
                self.help_with_io(me, Some(i));
            }
        }
    }

    /// I/O helping: drains the reactors of other workers that are not in
    /// them right now (their owners are busy), so their tasks' I/O events
    /// are not stuck behind a long poll; the woken tasks come to this
    /// worker's queue. `only`: just that worker. True if any event was
    /// delivered.
    fn help_with_io(&self, me: usize, only: Option<usize>) -> bool {
        if cfg!(loom) {
            // The models check the scheduler; reactors are not modelled.
            return false;
        }
        let mut delivered = 0;
        for (i, w) in self.workers.iter().enumerate() {
            if i == me || only.is_some_and(|o| o != i) {
                continue;
            }
            #[cfg(not(loom))]
            if !w.io.has_sources() {
                continue;
            }
            if let Some(mut reactor) = w.reactor.try_lock() {
                delivered += reactor.poll_events();
            } else {
                // Held by its owner while it parks in it: take the events
                // ready now beside it (where the backend can), so that the
                // tasks they wake run here at once instead of waiting for
                // the owner's thread to wake up (a latency-bound pair of
                // tasks then gathers on the awake worker; also while the
                // owner is being woken: its thread may wait for a core).
                // A wakeup of the owner this poll takes goes back to it
                // only if it is still pending (else it is stale).
                #[cfg(not(loom))]
                {
                    delivered += w.io.poll_now(|| w.parker.is_notified()).unwrap_or(0);
                }
            }
        }
        delivered > 0
    }
}

/// Wakes the wakers of fired timers (emptying the buffer). True if any.
fn wake_all(fired: &mut Vec<Waker>) -> bool {
    let any = !fired.is_empty();
    fired.drain(..).for_each(Waker::wake);
    any
}
