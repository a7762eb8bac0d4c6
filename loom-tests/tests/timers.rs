//! Models the per-worker timer protocol of `time/driver.rs` (`TimerSlot`),
//! with explicit ticks: under loom, `Instant::now()` is real time and a
//! timed park of the loom driver returns at once, so these models drive the
//! slots directly instead of going through `Sleep` and the `Runtime`.
//!
//! # Cross-thread cancel, re-arm and fire (the `entry_*` models)
//!
//! One slot holds one entry whose waker counts its wakes and its drops. The
//! owner fires the slot (`fire(now, .., false)`, as `fire_own_timers`),
//! while other threads cancel the entry (a `Sleep` dropped on another
//! worker), re-arm it (`reset`, `Sleep::reset` on another worker), fire it
//! with `try_only` (an idle worker's `help_with_timers`) or replace its
//! waker (`set_waker`, the `Sleep` moved to another task). Every wheel
//! operation runs under the slot's mutex, and wakers are woken or dropped
//! after it is released. Checked in every interleaving:
//!
//! * the waker is woken at most once, and only by a fire whose `now` is at
//!   or past the entry's deadline when it fired (the re-armed one if the
//!   `reset` returned true, since a reset of a fired entry returns false);
//! * after a cancel that removed it, it is never woken;
//! * a `reset` that returned true leaves the entry pending at the new tick
//!   unless a later fire or cancel took it: a fire before that tick does not
//!   wake it, a fire at or past it wakes it exactly once;
//! * the waker is dropped exactly once overall (no leak, no double drop):
//!   by its wake, by the cancel, or with the slot;
//! * a `has_fired_through(tick)` that says true (the hint a completed
//!   `Sleep` uses to skip its cancel) is only ever seen after the fire that
//!   removed the entry (the `fired_hint_*` models);
//! * once every thread is done, the published `next()` is the true earliest
//!   pending deadline ([`NEVER`] if none): the models' deadlines all lie in
//!   the wheel's finest level, where `next_wakeup` is exact.
//!
//! # No late wakeup (the `park_*` models)
//!
//! A worker about to park stores the tick it will sleep until in its
//! `park_until` (the earliest `next` of its own slot, or of every slot if it
//! is the timer watcher), issues a `SeqCst` fence and re-reads those `next`
//! words (`prepare_park`); whoever inserts or re-arms an entry at tick `T`
//! publishes the new `next` under the lock, issues a `SeqCst` fence and reads
//! the owner's and the watcher's `park_until` (`after_insert`), unparking
//! whoever sleeps past `T` (`Shared::unpark_for_timer`). This is the
//! store-buffering pattern: either the parker sees the earlier `next`, or the
//! inserter sees the later `park_until`.
//!
//! The parking worker runs the logic of `Worker::park` and treats "parks
//! past `T`" as blocking on its `Parker` until unparked (since time is not
//! modelled, a sleep past `T` is as bad as a sleep forever). A missed
//! wakeup is therefore a loom deadlock. Checked as well: once unparked, the
//! worker sees a `next` at or before `T`.
//!
//! Who must wake for `T`: the owner of the slot, and the watcher (the one
//! parked worker that sleeps until the earliest deadline of every slot). A
//! parked worker that is neither sleeps through `T` by design, so in the
//! models where two workers race for the watcher word
//! (`park_two_workers_vs_insert`, `park_watcher_handover_vs_insert`) only a
//! responsible worker blocks.
//!
//! There is no full-`Runtime` model: under loom a worker whose wheel holds
//! a pending entry parks with a timeout, which the loom driver returns from
//! at once, so it spins for as long as the entry is pending; and a `Sleep`
//! whose deadline has already passed never touches the wheel.
#![cfg(loom)]

use std::task::{Wake, Waker};

use corio_executor::protocols::{new_driver, DefaultDriver, Driver, Parker};
use corio_executor::protocols::{TimerSlot, NEVER, NO_WATCHER};
use corio_timer::TimerKey;
use crossbeam_utils::CachePadded;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

// ---------------------------------------------------------------------------
// A waker that counts.

/// How often a [`CountingWaker`] was woken and dropped.
#[derive(Default)]
struct Counts {
    wakes: AtomicUsize,
    drops: AtomicUsize,
}

impl Counts {
    fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }

    fn drops(&self) -> usize {
        self.drops.load(SeqCst)
    }
}

/// The inside of a counting waker: the last reference to it going away is
/// the waker's drop.
struct CountingWaker(Arc<Counts>);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.wakes.fetch_add(1, SeqCst);
    }
}

impl Drop for CountingWaker {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, SeqCst);
    }
}

/// A waker and the counters it updates.
fn counting_waker() -> (Waker, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let waker = Waker::from(std::sync::Arc::new(CountingWaker(counts.clone())));
    (waker, counts)
}

/// Fires `slot` at `now` and wakes what fired (after the lock is released,
/// as the workers do). Returns how many wakers fired, or `None` if
/// `try_only` gave up on a taken lock.
fn fire_and_wake(slot: &TimerSlot, now: u64, try_only: bool) -> Option<usize> {
    let mut out = Vec::new();
    if !slot.fire(now, &mut out, try_only) {
        assert!(try_only, "a blocking fire gave up");
        assert!(out.is_empty());
        return None;
    }
    let n = out.len();
    out.into_iter().for_each(Waker::wake);
    Some(n)
}

// ---------------------------------------------------------------------------
// Cross-thread cancel, re-arm and fire.

/// One operation on the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `fire(now, .., try_only)`, then wake what fired.
    Fire { now: u64, try_only: bool },
    /// `cancel(key)`.
    Cancel,
    /// `reset(key, tick)`.
    Reset(u64),
}

/// The owner's fire (`fire_own_timers`).
const fn own_fire(now: u64) -> Op {
    Op::Fire {
        now,
        try_only: false,
    }
}

/// An idle worker's fire (`help_with_timers`).
const fn help_fire(now: u64) -> Op {
    Op::Fire {
        now,
        try_only: true,
    }
}

/// What an [`Op`] returned.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// How many wakers this fire woke (`None`: `try_only` gave up).
    Fired(Option<usize>),
    Cancelled,
    Reset(bool),
}

fn run_op(slot: &TimerSlot, key: TimerKey, op: Op) -> Outcome {
    match op {
        Op::Fire { now, try_only } => Outcome::Fired(fire_and_wake(slot, now, try_only)),
        Op::Cancel => {
            slot.cancel(key);
            Outcome::Cancelled
        }
        Op::Reset(tick) => Outcome::Reset(slot.reset(key, tick)),
    }
}

/// Where the entry ended up once every thread is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Fired,
    Cancelled,
    Pending,
}

/// One entry inserted at `deadline`, then `ops[0]` on the model's main
/// thread racing with `ops[1..]`, one thread each; then the checks listed
/// in the module doc.
fn entry_race(deadline: u64, ops: &[Op]) {
    let ops = ops.to_vec();
    loom::model(move || {
        let slot = Arc::new(TimerSlot::new());
        let (waker, counts) = counting_waker();
        let key = slot.insert(deadline, waker);
        assert_eq!(slot.next(), deadline);

        let threads: Vec<_> = ops[1..]
            .iter()
            .map(|&op| {
                let slot = slot.clone();
                thread::spawn(move || run_op(&slot, key, op))
            })
            .collect();
        let mut outcomes = vec![run_op(&slot, key, ops[0])];
        outcomes.extend(threads.into_iter().map(|t| t.join().unwrap()));

        check_entry(&slot, key, &counts, deadline, &ops, &outcomes);
        drop(slot);
        assert_eq!(counts.drops(), 1, "the waker must be dropped exactly once");
    });
}

/// The checks of the module doc, after every thread of [`entry_race`] is
/// done.
fn check_entry(
    slot: &TimerSlot,
    key: TimerKey,
    counts: &Counts,
    first_deadline: u64,
    ops: &[Op],
    outcomes: &[Outcome],
) {
    let (wakes, drops) = (counts.wakes(), counts.drops());
    assert!(wakes <= 1, "woken {wakes} times");
    assert!(drops <= 1, "dropped {drops} times");
    assert!(wakes <= drops, "a wake consumes the waker");

    // A reset that returned true came before any fire or cancel that took
    // the entry (those make it return false): the entry's deadline from
    // then on is the new one.
    let reset = ops
        .iter()
        .zip(outcomes)
        .find_map(|(op, out)| match (op, out) {
            (Op::Reset(tick), Outcome::Reset(moved)) => Some((*tick, *moved)),
            _ => None,
        });
    let deadline = match reset {
        Some((tick, true)) => tick,
        _ => first_deadline,
    };

    let mut fired = 0;
    let mut max_now = 0;
    for (op, out) in ops.iter().zip(outcomes) {
        if let (Op::Fire { now, .. }, Outcome::Fired(n)) = (op, out) {
            max_now = max_now.max(*now);
            let n = n.unwrap_or(0);
            assert!(n <= 1);
            if n == 1 {
                assert!(
                    *now >= deadline,
                    "fired at {now}, before its deadline {deadline} (reset: {reset:?})"
                );
            }
            fired += n;
        }
    }
    assert_eq!(fired, wakes, "every fired waker is woken, and only those");

    let fate = match (wakes, drops) {
        (1, _) => Fate::Fired,
        (0, 1) => Fate::Cancelled,
        _ => Fate::Pending,
    };
    let cancel = ops.contains(&Op::Cancel);
    if fate == Fate::Cancelled {
        assert!(cancel, "dropped without a cancel");
    }
    if cancel {
        assert_ne!(fate, Fate::Pending, "the cancel left the entry pending");
    }
    if matches!(reset, Some((_, false))) {
        assert_ne!(
            fate,
            Fate::Pending,
            "reset returned false on a pending entry"
        );
    }

    // The published `next` is exact once everybody is done.
    let expected = if fate == Fate::Pending {
        deadline
    } else {
        NEVER
    };
    assert_eq!(slot.next(), expected, "fate {fate:?}, reset {reset:?}");

    if fate == Fate::Pending {
        // Not before its deadline...
        assert_eq!(fire_and_wake(slot, deadline - 1, false), Some(0));
        assert_eq!(counts.wakes(), 0);
        // ...then exactly once (a wheel never goes back in time: firing at
        // a `now` behind an earlier fire's is a no-op).
        assert_eq!(fire_and_wake(slot, deadline.max(max_now), false), Some(1));
        assert_eq!(counts.wakes(), 1);
        assert_eq!(slot.next(), NEVER);
    } else {
        // A cancelled or fired entry never fires (again).
        assert_eq!(fire_and_wake(slot, NEVER - 1, false), Some(0));
        assert_eq!(counts.wakes(), wakes);
    }
    // The key is stale now: cancel and reset are no-ops.
    slot.cancel(key);
    assert!(!slot.reset(key, 1));
    assert_eq!(slot.next(), NEVER);
    assert_eq!(counts.drops(), 1);
}

/// The owner fires a due entry while another thread cancels it: exactly
/// one of them takes the waker.
#[test]
fn entry_fire_vs_cancel_due() {
    entry_race(5, &[own_fire(10), Op::Cancel]);
}

/// The owner fires before the entry is due while another thread cancels
/// it.
#[test]
fn entry_fire_vs_cancel_not_due() {
    entry_race(20, &[own_fire(10), Op::Cancel]);
}

/// A due entry is re-armed later while the owner fires: either the fire
/// wins (and the reset returns false), or the entry stays pending at the
/// new tick.
#[test]
fn entry_fire_vs_reset_later() {
    entry_race(5, &[own_fire(10), Op::Reset(20)]);
}

/// An entry that is not due is re-armed to a due tick while the owner
/// fires: the fire wakes it only after the reset.
#[test]
fn entry_fire_vs_reset_earlier() {
    entry_race(20, &[own_fire(10), Op::Reset(5)]);
}

/// A cancel and a re-arm from two other threads.
#[test]
fn entry_cancel_vs_reset() {
    entry_race(5, &[Op::Cancel, Op::Reset(20)]);
}

/// The owner fires, one thread cancels, another re-arms later.
#[test]
fn entry_fire_cancel_reset_later() {
    entry_race(5, &[own_fire(10), Op::Cancel, Op::Reset(20)]);
}

/// The owner fires, one thread cancels, another re-arms earlier.
#[test]
fn entry_fire_cancel_reset_earlier() {
    entry_race(20, &[own_fire(10), Op::Cancel, Op::Reset(5)]);
}

/// The owner and a helping idle worker (`try_lock`) fire the same due
/// entry: it is woken once.
#[test]
fn entry_owner_and_helper_fire() {
    entry_race(5, &[own_fire(10), help_fire(12)]);
}

/// The owner and a helper fire while a third thread cancels.
#[test]
fn entry_owner_helper_cancel() {
    entry_race(5, &[own_fire(10), help_fire(12), Op::Cancel]);
}

/// The owner and a helper fire while a third thread re-arms the entry from
/// not due to due.
#[test]
fn entry_owner_helper_reset() {
    entry_race(20, &[own_fire(10), help_fire(10), Op::Reset(5)]);
}

/// A helper's fire (`try_lock`) racing with a cancel and a re-arm.
#[test]
fn entry_helper_cancel_reset() {
    entry_race(20, &[help_fire(10), Op::Cancel, Op::Reset(5)]);
}

/// `set_waker` (the `Sleep` is polled by another task) racing with the
/// owner's fire at `now`: the old waker is woken or replaced, never both;
/// the new one is woken only if it was installed; both are dropped once.
fn set_waker_vs_fire(deadline: u64, now: u64) {
    loom::model(move || {
        let slot = Arc::new(TimerSlot::new());
        let (old, old_counts) = counting_waker();
        let key = slot.insert(deadline, old);
        let (new, new_counts) = counting_waker();

        let th = {
            let slot = slot.clone();
            thread::spawn(move || {
                let installed = slot.set_waker(key, &new);
                drop(new);
                installed
            })
        };
        let fired = fire_and_wake(&slot, now, false).unwrap();
        let installed = th.join().unwrap();

        assert!(fired <= 1);
        assert_eq!(old_counts.drops(), usize::from(installed || fired == 1));
        assert_eq!(old_counts.wakes() + new_counts.wakes(), fired);
        if fired == 1 {
            assert!(now >= deadline);
        }
        if installed {
            assert_eq!(old_counts.wakes(), 0, "replaced, yet woken");
        } else {
            // Only a fire makes the entry not pending.
            assert_eq!(old_counts.wakes(), 1);
            assert_eq!(new_counts.wakes(), 0);
        }
        // Whatever is pending fires once, with the waker installed last.
        let later = fire_and_wake(&slot, deadline.max(now), false).unwrap();
        assert_eq!(fired + later, 1);
        assert_eq!(old_counts.wakes() + new_counts.wakes(), 1);
        assert_eq!(new_counts.wakes(), usize::from(installed));
        drop(slot);
        assert_eq!(old_counts.drops(), 1);
        assert_eq!(new_counts.drops(), 1);
    });
}

/// A completed `Sleep` on another worker skips its cancel when the slot
/// says it fired through the entry's tick (`has_fired_through`), racing with
/// the owner's (or a helper's) fire: whenever the hint says so, the entry is
/// already gone and its waker already taken, so skipping the cancel leaks
/// nothing; otherwise the cancel or the fire removes it. Either way the
/// waker is woken at most once and dropped exactly once.
fn fired_hint_vs_fire(deadline: u64, now: u64, try_only: bool) {
    loom::model(move || {
        let slot = Arc::new(TimerSlot::new());
        let (waker, counts) = counting_waker();
        let key = slot.insert(deadline, waker);
        let th = {
            let slot = slot.clone();
            thread::spawn(move || fire_and_wake(&slot, now, try_only))
        };
        let skipped = slot.has_fired_through(deadline);
        if skipped {
            // The hint is never true before the fire that removed the entry
            // has stored it (under the lock, after `advance`).
            assert!(now >= deadline);
            assert!(
                !slot.reset(key, deadline + 100),
                "hinted fired, yet pending"
            );
        } else {
            slot.cancel(key);
        }
        let fired = th.join().unwrap();
        if skipped {
            assert_eq!(fired, Some(1));
        }
        assert!(counts.wakes() <= 1);
        assert_eq!(slot.next(), NEVER, "an entry was left behind");
        drop(slot);
        assert_eq!(counts.drops(), 1, "the waker must be dropped exactly once");
    });
}

/// The hint vs the owner's fire of the due entry.
#[test]
fn entry_fired_hint_vs_owner_fire() {
    fired_hint_vs_fire(5, 10, false);
}

/// The hint vs a helper's `try_only` fire of the due entry.
#[test]
fn entry_fired_hint_vs_helper_fire() {
    fired_hint_vs_fire(5, 10, true);
}

/// The hint vs a fire before the entry is due: never true.
#[test]
fn entry_fired_hint_vs_early_fire() {
    fired_hint_vs_fire(20, 10, false);
}

/// `set_waker` vs a fire of a due entry.
#[test]
fn entry_set_waker_vs_fire_due() {
    set_waker_vs_fire(5, 10);
}

/// `set_waker` vs a fire before the entry is due.
#[test]
fn entry_set_waker_vs_fire_not_due() {
    set_waker_vs_fire(20, 10);
}

// ---------------------------------------------------------------------------
// No late wakeup.

type Unparker = <DefaultDriver as Driver>::Unpark;

/// The timer state of `Shared`: one slot and one parker per worker, and
/// the watcher word.
struct Timers {
    slots: Vec<CachePadded<TimerSlot>>,
    watcher: AtomicUsize,
    parkers: Vec<Parker<Unparker>>,
}

/// The tick the models insert or re-arm at.
const T: u64 = 10;

/// A deadline later than [`T`].
const LATER: u64 = 100;

impl Timers {
    /// `workers` awake workers with empty wheels, and their drivers.
    fn new(workers: usize) -> (Arc<Timers>, Vec<DefaultDriver>) {
        let drivers: Vec<_> = (0..workers).map(|_| new_driver().unwrap()).collect();
        let timers = Timers {
            slots: (0..workers)
                .map(|_| CachePadded::new(TimerSlot::new()))
                .collect(),
            watcher: AtomicUsize::new(NO_WATCHER),
            parkers: drivers.iter().map(|d| Parker::new(d.unparker())).collect(),
        };
        (Arc::new(timers), drivers)
    }

    /// `Shared::unpark_for_timer`.
    fn unpark_for_timer(&self, worker: usize, tick: u64) {
        let unparks = self.slots[worker].after_insert(tick, &self.watcher, &self.slots);
        if unparks.owner {
            self.parkers[worker].unpark();
        }
        if let Some(w) = unparks.watcher {
            if w != worker || !unparks.owner {
                self.parkers[w].unpark();
            }
        }
    }

    /// `Shared::register_timer`.
    fn register(&self, worker: usize, tick: u64, waker: Waker) -> TimerKey {
        let key = self.slots[worker].insert(tick, waker);
        self.unpark_for_timer(worker, tick);
        key
    }

    /// `Shared::reset_timer`.
    fn reset(&self, worker: usize, key: TimerKey, tick: u64) -> bool {
        let moved = self.slots[worker].reset(key, tick);
        if moved {
            self.unpark_for_timer(worker, tick);
        }
        moved
    }

    /// The earliest `next` a parked worker depends on.
    fn watched_next(&self, index: usize, watching: bool) -> u64 {
        if watching {
            self.slots.iter().map(|s| s.next()).min().unwrap_or(NEVER)
        } else {
            self.slots[index].next()
        }
    }

    /// The timer half of `Worker::park` for worker `index`, where a timed
    /// park until a tick after [`T`] blocks until unparked (time is not
    /// modelled, so sleeping past `T` is as bad as sleeping forever). Only a
    /// worker that must wake for `T` (`responsible_for(watching)`) blocks;
    /// the others sleep through it by design, so they do not block here.
    /// Returns whether it became the watcher.
    fn park(
        &self,
        index: usize,
        driver: &mut DefaultDriver,
        try_watch: bool,
        responsible_for: impl Fn(bool) -> bool,
    ) -> bool {
        let watching = try_watch
            && self
                .watcher
                .compare_exchange(NO_WATCHER, index, SeqCst, SeqCst)
                .is_ok();
        let slot = &self.slots[index];
        let mut blocked = false;
        if let Some(until) = slot.prepare_park(&self.slots, watching) {
            if until > T && responsible_for(watching) {
                self.parkers[index].park(driver, None);
                blocked = true;
            }
        }
        slot.unpark_done();
        if watching {
            self.watcher.store(NO_WATCHER, SeqCst);
        }
        if blocked {
            // Only the inserter unparks, after it published its deadline.
            let next = self.watched_next(index, watching);
            assert!(next <= T, "unparked, yet sees next = {next}");
        }
        watching
    }
}

/// How the other thread brings a deadline at [`T`].
#[derive(Clone, Copy, Debug)]
enum Arm {
    /// Inserts a new entry at `T` (`register_timer`).
    Insert,
    /// Re-arms an entry from [`LATER`] to `T` (`reset_timer`).
    Reset,
}

/// Worker 0 (the model's main thread) parks, as the watcher if `watch`;
/// another thread arms a deadline at [`T`] in the slot of worker `target`
/// (awake, if it is not worker 0). If `own_later`, worker 0's own wheel
/// already holds an entry at [`LATER`].
fn park_vs_arm(workers: usize, target: usize, watch: bool, arm: Arm, own_later: bool) {
    loom::model(move || {
        let (timers, mut drivers) = Timers::new(workers);
        let (waker, counts) = counting_waker();
        if own_later {
            let (w, _) = counting_waker();
            timers.slots[0].insert(LATER, w);
        }
        let reset_key = match arm {
            Arm::Insert => None,
            Arm::Reset => Some(timers.slots[target].insert(LATER, waker.clone())),
        };

        let th = {
            let timers = timers.clone();
            thread::spawn(move || match reset_key {
                None => {
                    timers.register(target, T, waker);
                }
                Some(key) => assert!(timers.reset(target, key, T)),
            })
        };
        let watching = timers.park(0, &mut drivers[0], watch, |_| true);
        assert_eq!(watching, watch);
        th.join().unwrap();

        // The entry is pending at `T`: it fires once, at `T`.
        let slot = &timers.slots[target];
        assert_eq!(fire_and_wake(slot, T - 1, false), Some(0));
        assert_eq!(fire_and_wake(slot, T, false), Some(1));
        assert_eq!(counts.wakes(), 1);
    });
}

/// Worker 0 parks on its own (empty) wheel while another thread inserts an
/// entry into it.
#[test]
fn park_owner_vs_insert() {
    park_vs_arm(1, 0, false, Arm::Insert, false);
}

/// Worker 0 parks until a later entry of its own wheel while another
/// thread inserts an earlier one.
#[test]
fn park_owner_behind_later_vs_insert() {
    park_vs_arm(1, 0, false, Arm::Insert, true);
}

/// Worker 0 parks until its own entry at [`LATER`] while another thread
/// re-arms it to [`T`] (`reset` publishes `next` itself).
#[test]
fn park_owner_vs_reset_earlier() {
    park_vs_arm(1, 0, false, Arm::Reset, false);
}

/// Worker 0 is the watcher and parks while another thread inserts into
/// awake worker 1's wheel: the watcher must wake for it.
#[test]
fn park_watcher_vs_insert_other() {
    park_vs_arm(2, 1, true, Arm::Insert, false);
}

/// As `park_watcher_vs_insert_other`, with a later entry in the
/// watcher's own wheel.
#[test]
fn park_watcher_behind_later_vs_insert_other() {
    park_vs_arm(2, 1, true, Arm::Insert, true);
}

/// The watcher parks while another thread re-arms an entry of awake
/// worker 1 from [`LATER`] to [`T`].
#[test]
fn park_watcher_vs_reset_other() {
    park_vs_arm(2, 1, true, Arm::Reset, false);
}

/// Worker 0 is both the owner and the watcher (one unpark serves both).
#[test]
fn park_owner_watcher_vs_insert() {
    park_vs_arm(2, 0, true, Arm::Insert, false);
}

/// Both workers park and race to become the watcher, while a third thread
/// inserts into worker 1's wheel: worker 1 (the owner) must wake, and so
/// must worker 0 if it became the watcher; a worker 0 that is not the
/// watcher sleeps through it by design.
#[test]
fn park_two_workers_vs_insert() {
    loom::model(|| {
        let (timers, mut drivers) = Timers::new(2);
        let mut driver1 = drivers.pop().unwrap();
        let mut driver0 = drivers.pop().unwrap();
        let (waker, counts) = counting_waker();

        let inserter = {
            let timers = timers.clone();
            thread::spawn(move || {
                timers.register(1, T, waker);
            })
        };
        let worker1 = {
            let timers = timers.clone();
            thread::spawn(move || timers.park(1, &mut driver1, true, |_| true))
        };
        timers.park(0, &mut driver0, true, |watching| watching);
        worker1.join().unwrap();
        inserter.join().unwrap();

        assert_eq!(fire_and_wake(&timers.slots[1], T, false), Some(1));
        assert_eq!(counts.wakes(), 1);
    });
}

/// The watcher hands over: worker 1, the watcher, wakes (stores
/// `park_until = 0`, then clears the watcher word) while worker 0 parks and
/// tries to become the watcher, and a third thread inserts into the wheel
/// of worker 2 (awake, not modelled). If worker 0 became the watcher it
/// must wake for the insert, even when the inserter read the old watcher.
/// If it did not (worker 1 still held the word), it is not responsible.
#[test]
fn park_watcher_handover_vs_insert() {
    loom::model(|| {
        let (timers, mut drivers) = Timers::new(3);
        // Worker 1 is parked as the watcher, with no deadline anywhere.
        timers.watcher.store(1, SeqCst);
        assert_eq!(
            timers.slots[1].prepare_park(&timers.slots, true),
            Some(NEVER)
        );
        let (waker, counts) = counting_waker();

        let inserter = {
            let timers = timers.clone();
            thread::spawn(move || {
                timers.register(2, T, waker);
            })
        };
        let old_watcher = {
            let timers = timers.clone();
            thread::spawn(move || {
                timers.slots[1].unpark_done();
                timers.watcher.store(NO_WATCHER, SeqCst);
            })
        };
        timers.park(0, &mut drivers[0], true, |watching| watching);
        old_watcher.join().unwrap();
        inserter.join().unwrap();

        assert_eq!(fire_and_wake(&timers.slots[2], T, false), Some(1));
        assert_eq!(counts.wakes(), 1);
    });
}
