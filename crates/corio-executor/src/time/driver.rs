//! Per-worker timers: ownership, cross-thread cancel and re-arm, parking on
//! the next deadline, and idle workers that fire a busy worker's timers.
//!
//! # Ownership
//!
//! Every worker owns a [`TimerSlot`]: a timer wheel (`corio-timer`) behind a
//! mutex, plus two published words. A `Sleep` registers in the wheel of the
//! worker where it is first polled (a `Sleep` first polled off the workers,
//! through a `Handle`, registers with worker 0). The wheel stores the
//! sleeping task's waker; the `Sleep` keeps the worker index and the entry's
//! key.
//!
//! The lock is held only for one wheel operation (insert, cancel, reset,
//! replace a waker, or one `advance` that collects wakers); wakers are
//! woken after it is released. So a `Sleep` dropped or re-armed on another
//! worker (its task was stolen) takes the owner's lock for a few dozen
//! nanoseconds, and never waits for anything longer than another such
//! operation. Keys carry a generation, so cancelling an entry that already
//! fired is a no-op.
//!
//! # Who fires timers
//!
//! * The owner, every `GLOBAL_QUEUE_INTERVAL` ticks of its loop, before it
//!   parks, and when it returns from parking.
//! * An idle worker, before it parks, fires any other worker's due timers
//!   (`try_lock`: it never waits for a busy owner's lock). That is what
//!   keeps a timer on time when its owner is stuck in a long poll.
//!
//! # Parking on the next deadline
//!
//! Each slot publishes `next`: the wheel's `next_wakeup`, the tick at which
//! it next has work (its earliest deadline, or the start of the coarse slot
//! holding it, where that slot cascades down a level; `u64::MAX` if empty).
//! It is never later than the earliest deadline and always O(1) to compute,
//! so a cancel never walks a crowded slot. And `park_until`: the tick its worker will wake at
//! while parked (`u64::MAX` for no timeout), or 0 while it is awake.
//!
//! * A parking worker sleeps until its own `next`. If it becomes the
//!   *watcher* (at most one parked worker is), it sleeps until the earliest
//!   `next` of all workers, so that someone wakes for a busy worker's
//!   timers. It stores `park_until`, then (after a `SeqCst` fence) re-reads
//!   the `next` words it depends on and does not park if one moved earlier.
//! * Whoever inserts or re-arms an entry with deadline `d` publishes the new
//!   `next` (under the wheel lock), then (after a `SeqCst` fence) reads the
//!   owner's and the watcher's `park_until`; if either sleeps past `d`, it
//!   unparks it, and that worker recomputes its timeout.
//!
//! The two fences make this the store-buffering pattern: either the parker
//! sees the earlier `next`, or the inserter sees the later `park_until`.
//! Deadlines are rounded up to the next millisecond tick and a wheel only
//! fires entries whose tick has passed, so no timer fires early.

use std::task::Waker;
use std::time::{Duration, Instant};

use corio_timer::{TimerKey, Wheel};

use crossbeam_utils::CachePadded;

use crate::sync::{
    fence, AtomicU64, AtomicUsize, Mutex,
    Ordering::{Acquire, Release, SeqCst},
};

/// "No deadline" / "no timeout".
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub const NEVER: u64 = u64::MAX;

/// No worker is the timer watcher.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub const NO_WATCHER: usize = usize::MAX;

/// The timers' view of the runtime's clock (`crate::clock`): ticks of
/// 1 ms since its epoch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
}

impl Clock {
    /// Ticks of `crate::clock`'s epoch.
    pub(crate) fn new() -> Clock {
        Clock {
            start: crate::clock::epoch(),
        }
    }

    /// The current tick (rounded down: ticks that have fully passed).
    pub(crate) fn now_tick(&self) -> u64 {
        self.tick_floor(Instant::now())
    }

    fn tick_floor(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.start);
        u64::try_from(d.as_millis()).unwrap_or(NEVER - 1)
    }

    /// The tick of a deadline, rounded up, so that firing at that tick is
    /// never early.
    pub(crate) fn deadline_tick(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        let ms = d.as_millis();
        let ms = if Duration::from_millis(ms as u64) < d {
            ms + 1
        } else {
            ms
        };
        u64::try_from(ms).unwrap_or(NEVER - 1).min(NEVER - 1)
    }

    /// How long from now until `tick` has passed (`None` for [`NEVER`]).
    pub(crate) fn timeout_until(&self, tick: u64) -> Option<Duration> {
        if tick == NEVER {
            return None;
        }
        let at = self.start.checked_add(Duration::from_millis(tick))?;
        Some(at.saturating_duration_since(Instant::now()))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// One worker's timers.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct TimerSlot {
    wheel: Mutex<Wheel<Waker>>,
    /// The wheel's `next_wakeup` (never after its earliest deadline), or
    /// [`NEVER`]; written under the lock.
    next: AtomicU64,
    /// While parked: the tick the worker wakes at ([`NEVER`]: no timeout).
    /// While awake: 0.
    park_until: AtomicU64,
    /// The `now` of the wheel's latest `advance`, stored under the lock
    /// once that advance has removed every entry due by then.
    fired_through: AtomicU64,
}

impl std::fmt::Debug for TimerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerSlot")
            .field("next", &self.next.load(SeqCst))
            .field("park_until", &self.park_until.load(SeqCst))
            .finish_non_exhaustive()
    }
}

impl Default for TimerSlot {
    fn default() -> Self {
        TimerSlot::new()
    }
}

/// What an insert or re-arm asks of the caller: unpark these workers so
/// they recompute their park timeout.
#[derive(Debug, Default, PartialEq, Eq)]
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct Unparks {
    /// The owner sleeps past the new deadline.
    pub owner: bool,
    /// The watcher (this index) sleeps past the new deadline.
    pub watcher: Option<usize>,
}

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
impl TimerSlot {
    /// An empty slot for an awake worker.
    pub fn new() -> TimerSlot {
        TimerSlot {
            wheel: Mutex::new(Wheel::new()),
            next: AtomicU64::new(NEVER),
            park_until: AtomicU64::new(0),
            fired_through: AtomicU64::new(0),
        }
    }

    /// The published next wakeup tick (see `next`).
    pub fn next(&self) -> u64 {
        self.next.load(SeqCst)
    }

    fn publish(&self, wheel: &Wheel<Waker>) {
        self.next
            .store(wheel.next_wakeup().unwrap_or(NEVER), SeqCst);
    }

    /// Registers `waker` to be woken at `tick`.
    pub fn insert(&self, tick: u64, waker: Waker) -> TimerKey {
        let mut wheel = self.wheel.lock();
        let key = wheel.insert(tick, waker);
        if tick < self.next.load(SeqCst) {
            self.next.store(tick, SeqCst);
        }
        key
    }

    /// Cancels an entry (a no-op if it fired). The waker is dropped after
    /// the lock is released.
    pub fn cancel(&self, key: TimerKey) {
        let waker = {
            let mut wheel = self.wheel.lock();
            let w = wheel.cancel(key);
            if w.is_some() {
                self.publish(&wheel);
            }
            w
        };
        drop(waker);
    }

    /// Moves a pending entry to `tick`, keeping its waker. Returns false if
    /// it is no longer pending (it fired or was cancelled).
    pub fn reset(&self, key: TimerKey, tick: u64) -> bool {
        let mut wheel = self.wheel.lock();
        let moved = wheel.reset(key, tick);
        if moved {
            self.publish(&wheel);
        }
        moved
    }

    /// Replaces the waker of a pending entry (the `Sleep` moved to another
    /// task). Returns false if the entry is no longer pending.
    pub fn set_waker(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut wheel = self.wheel.lock();
        match wheel.get_mut(key) {
            Some(w) => {
                w.clone_from(waker);
                true
            }
            None => false,
        }
    }

    /// Fires every entry due at `now`: their wakers are appended to `out`.
    /// `try_only`: give up (returning false) if the lock is taken.
    pub fn fire(&self, now: u64, out: &mut Vec<Waker>, try_only: bool) -> bool {
        let mut wheel = if try_only {
            match self.wheel.try_lock() {
                Some(w) => w,
                None => return false,
            }
        } else {
            self.wheel.lock()
        };
        wheel.advance(now, |_, w| out.push(w));
        self.publish(&wheel);
        self.fired_through.store(wheel.now(), Release);
        true
    }

    /// Whether an entry registered at `tick` has surely left the wheel: an
    /// advance through `tick` has run since. A `Sleep` that completed checks
    /// this to skip the (lock-taking) cancel of an entry that already fired.
    ///
    /// It is only a hint in one direction: `false` says nothing, and an
    /// entry inserted at a tick that had already passed (it waits in the
    /// ready list for the next advance) may still be there when this says
    /// `true`; that entry fires at the next advance, waking a waker nobody
    /// waits on, and is gone.
    pub fn has_fired_through(&self, tick: u64) -> bool {
        self.fired_through.load(Acquire) >= tick
    }

    /// After an insert or re-arm at `tick` into this slot (owned by
    /// `owner`): which parked workers sleep past it and must be unparked.
    pub fn after_insert(
        &self,
        tick: u64,
        watcher: &AtomicUsize,
        slots: &[CachePadded<TimerSlot>],
    ) -> Unparks {
        fence(SeqCst);
        let owner = self.park_until.load(SeqCst) > tick;
        let w = watcher.load(SeqCst);
        let watcher = (w != NO_WATCHER && slots[w].park_until.load(SeqCst) > tick).then_some(w);
        Unparks { owner, watcher }
    }

    /// The worker is about to park until `until` (its own `next`, or the
    /// minimum over `watched` if it is the watcher). Publishes it, then
    /// re-checks: returns the tick to park until, or `None` to skip parking
    /// because a deadline moved earlier meanwhile.
    pub fn prepare_park(&self, watched: &[CachePadded<TimerSlot>], watching: bool) -> Option<u64> {
        let until = if watching {
            watched.iter().map(|s| s.next()).min().unwrap_or(NEVER)
        } else {
            self.next()
        };
        self.park_until.store(until, SeqCst);
        fence(SeqCst);
        let again = if watching {
            watched.iter().map(|s| s.next()).min().unwrap_or(NEVER)
        } else {
            self.next()
        };
        if again < until {
            self.park_until.store(0, SeqCst);
            return None;
        }
        Some(until)
    }

    /// The worker is awake again.
    pub fn unpark_done(&self) {
        self.park_until.store(0, SeqCst);
    }
}

// Registration: a task's timer goes into its worker's slot, and whoever
// sleeps past the new deadline is woken (the slot's owner, or the watcher).
impl crate::scheduler::driver::Drivers {
    /// Registers a timer in `worker`'s wheel, and unparks whoever sleeps
    /// past it.
    pub(crate) fn register_timer(&self, worker: usize, tick: u64, waker: Waker) -> TimerKey {
        let key = self.timers(worker).insert(tick, waker);
        self.unpark_for_timer(worker, tick);
        key
    }

    /// Moves a pending timer; false if it already fired.
    pub(crate) fn reset_timer(&self, worker: usize, key: TimerKey, tick: u64) -> bool {
        let moved = self.timers(worker).reset(key, tick);
        if moved {
            self.unpark_for_timer(worker, tick);
        }
        moved
    }

    fn unpark_for_timer(&self, worker: usize, tick: u64) {
        let unparks =
            self.timers(worker)
                .after_insert(tick, &self.timer_watcher, self.all_timers());
        if unparks.owner {
            self.unpark(worker);
        }
        if let Some(w) = unparks.watcher {
            if w != worker || !unparks.owner {
                self.unpark(w);
            }
        }
    }
}
