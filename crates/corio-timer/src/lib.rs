//! The hierarchical timer wheel of the corio runtime.
//!
//! Each corio worker owns one [`Wheel`] for the sleeps and timeouts
//! registered on it. The wheel is a pure data structure: it knows nothing of
//! threads, tasks or clocks. Time is a `u64` count of ticks (one tick is
//! [`RESOLUTION`], one millisecond) starting at 0, and the owner moves it
//! forward explicitly with [`Wheel::advance`], which hands every expired
//! entry to a callback.
//!
//! ```
//! use corio_timer::Wheel;
//!
//! let mut wheel = Wheel::new();
//! let a = wheel.insert(30, "a");
//! let _b = wheel.insert(10, "b");
//! let _c = wheel.insert(5_000, "c");
//! assert_eq!(wheel.next_deadline(), Some(10));
//! assert_eq!(wheel.cancel(a), Some("a"));
//!
//! let mut fired = Vec::new();
//! wheel.advance(1_000, |_key, value| fired.push(value));
//! assert_eq!(fired, ["b"]);
//! assert_eq!(wheel.now(), 1_000);
//! assert_eq!(wheel.next_deadline(), Some(5_000));
//! ```
//!
//! # Structure
//!
//! The wheel has [`LEVELS`] = 6 levels of [`SLOTS`] = 64 slots. A slot of
//! level `l` spans `64^l` ticks, so a whole level spans `64^(l+1)` ticks:
//!
//! | level | slot width        | level span                   |
//! |-------|-------------------|------------------------------|
//! | 0     | 1 ms              | 64 ms                        |
//! | 1     | 64 ms             | ~4.1 s                       |
//! | 2     | ~4.1 s            | ~4.4 min                     |
//! | 3     | ~4.4 min          | ~4.7 h                       |
//! | 4     | ~4.7 h            | ~12.4 days                   |
//! | 5     | ~12.4 days        | 2^36 ms ≈ 2.18 years ([`RANGE`]) |
//!
//! Slots are *aligned*, not relative: think of the tick count written in
//! base 64, six digits per level. An entry with deadline `d` is placed, relative
//! to the current time `now`, at the level of the most significant base-64
//! digit in which `d` and `now` differ, in the slot given by `d`'s digit at
//! that level. Concretely, with `x = (d ^ now) | 63`, the level is
//! `floor(log2(x) / 6)` and the slot is `(d >> 6 * level) % 64`. Hence:
//!
//! * a level-0 entry shares everything but the last digit with `now`: its
//!   slot *is* its deadline (all entries of a level-0 slot are due at the same
//!   tick);
//! * a level-`l` entry (`l >= 1`) lies in the same level-`(l+1)` block as
//!   `now` but in a later level-`l` block; its slot covers the `64^l` ticks
//!   `[block_start + slot * 64^l, block_start + (slot + 1) * 64^l)`.
//!
//! Since deadlines are never behind `now` in the wheel, every occupied slot of
//! a level has an index at or after `now`'s digit for that level, and the
//! slots of a lower level all end before the first slot of a higher level
//! starts. So the next slot to process is always the lowest occupied slot of
//! the lowest non-empty level: one `trailing_zeros` on a per-level occupancy
//! bitmap (and one on the bitmap of non-empty levels). There is no rotation and
//! no scan over empty slots.
//!
//! Two lists sit beside the slots:
//!
//! * the **ready list** holds entries inserted (or reset) with a deadline
//!   already in the past (`d < now`); they all expire at the next
//!   [`advance`](Wheel::advance), sorted by deadline then insertion order;
//! * the **overflow list** holds entries whose deadline is not in `now`'s
//!   current block of [`RANGE`] ticks: the deadline is beyond the wheel's
//!   reach, so the entry is *clamped* to this list (a seventh, single-slot
//!   level). The list starts at the beginning of the range block holding a
//!   cached lower bound of its deadlines; when time reaches that point, every
//!   overflow entry is re-placed relative to the new time (those now in range
//!   go down into the levels, the others stay clamped). Entries therefore fire
//!   at their true deadline, never early, whatever their distance.
//!
//! # How time advances
//!
//! [`Wheel::advance`] to `target` first fires the ready list, then repeats:
//! take the next slot (as above); if it starts after `target`, stop; else set
//! `now` to the slot's start and process it. A level-0 slot *fires*: its
//! entries are removed and handed to the callback in list order, which is
//! insertion order (invariant 7). A higher slot
//! *cascades*: each entry is re-placed relative to the new `now`, which puts
//! it at a strictly lower level (its deadline shares the slot's level-`l`
//! block with the new `now`). The overflow list is processed the same way
//! once the levels are empty. Finally `now` becomes `target`: no remaining
//! slot starts at or before `target`, so every entry is still correctly placed
//! relative to it. An entry moves down at most once per level, and a jump far
//! ahead costs one step per *occupied* slot, not per tick.
//!
//! # Storage
//!
//! Entries live in a slab (a `Vec` with a free list threaded through the
//! vacant entries). Each slot is a circular doubly-linked list of slab indices
//! (`u32`), so inserting, cancelling and moving an entry are a handful of
//! index writes and never allocate beyond the slab's amortised growth. A
//! [`TimerKey`] is a slab index plus the entry's generation, which is bumped
//! whenever the entry leaves the wheel, so a stale key never touches a reused
//! entry.
//!
//! # Invariants
//!
//! Between public calls:
//!
//! 1. Every pending entry is in exactly one list (a level slot, the ready list
//!    or the overflow list), and that list is the one its `(deadline, now)`
//!    places it in: the ready list iff `deadline < now`, the overflow list iff
//!    `deadline` is in a later [`RANGE`] block than `now`, else level `l` slot
//!    `s` as computed above, so that the deadline lies in that slot's range.
//! 2. Vacant slab entries are exactly those on the free list; they hold no
//!    value, and their generation differs from that of every key handed out
//!    for them (up to `u32` wrap-around after 2^32 reuses of one entry).
//! 3. The occupancy bitmap of each level has bit `s` set iff slot `s` is
//!    non-empty, and the level bitmap has bit `l` set iff level `l` has an
//!    occupied slot.
//! 4. Every entry of a level-`l` slot has a deadline `>= now` (`> now` for
//!    `l >= 1`); no set occupancy bit lies before `now`'s digit at that level.
//! 5. The overflow lower bound is `<=` every overflow deadline, and the range
//!    block holding it starts after `now`.
//! 6. The cached next deadline is never later than the smallest pending
//!    deadline, and equals it when marked valid. It is marked stale only when
//!    the entry holding it fires, is cancelled or is reset to a later tick
//!    (which can only raise the minimum); an insert or reset at or below it
//!    makes it exact again. A stale value is recomputed by the next
//!    [`next_deadline`](Wheel::next_deadline) call from the first non-empty
//!    list alone (the ready list, else the lowest occupied slot of the lowest
//!    non-empty level, O(1) at level 0, else the overflow list), which holds
//!    the minimum by invariants 1 and 4.
//! 7. Every list is in insertion order (a reset counts as an insertion):
//!    inserts and resets append, and a cascade walks its list in order and
//!    appends each entry to its new list. A cascade never appends behind an
//!    entry inserted later: an entry reaches level `l` directly only once
//!    `now` is inside its deadline's level-`(l+1)` block, and by then every
//!    coarser slot holding that deadline has started, so it was cascaded
//!    (no occupied slot starts at or before `now`; invariant 4). So entries
//!    due at the same tick fire in insertion order without a sequence
//!    number; only the ready list, whose deadlines differ, is sorted (by a
//!    stable sort on the deadline).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The resolution of the timer wheel: deadlines are rounded up to it.
///
/// One wheel tick is one `RESOLUTION`.
///
/// ```
/// assert_eq!(corio_timer::RESOLUTION, std::time::Duration::from_millis(1));
/// ```
pub const RESOLUTION: Duration = Duration::from_millis(1);

/// Bits of a tick count covered by one level.
const SLOT_BITS: u32 = 6;

/// The number of slots per level.
///
/// ```
/// assert_eq!(corio_timer::SLOTS, 64);
/// ```
pub const SLOTS: usize = 1 << SLOT_BITS;

/// The number of levels of the wheel.
///
/// ```
/// assert_eq!(corio_timer::LEVELS, 6);
/// ```
pub const LEVELS: usize = 6;

/// The span of the wheel in ticks: `64^6 = 2^36` ms, about 2.18 years.
///
/// Deadlines outside the current block of `RANGE` ticks are clamped to the
/// overflow list and placed into the wheel as time approaches them; they still
/// fire exactly at their deadline.
///
/// ```
/// use corio_timer::{Wheel, RANGE};
///
/// let mut wheel = Wheel::new();
/// wheel.insert(3 * RANGE + 7, ());
/// let mut fired = 0;
/// wheel.advance(3 * RANGE + 6, |_, ()| fired += 1);
/// assert_eq!(fired, 0);
/// wheel.advance(3 * RANGE + 7, |_, ()| fired += 1);
/// assert_eq!(fired, 1);
/// ```
pub const RANGE: u64 = 1 << (SLOT_BITS as usize * LEVELS);

/// List id of the entries whose deadline has already passed.
const READY: usize = LEVELS * SLOTS;
/// List id of the entries beyond the wheel's range.
const OVERFLOW: usize = READY + 1;
/// The number of lists: every level slot, the ready list and the overflow list.
const LISTS: usize = OVERFLOW + 1;
/// The `list` of a vacant slab entry.
const VACANT: u16 = u16::MAX;
/// The null slab index.
const NIL: u32 = u32::MAX;

/// Handle to an entry of a [`Wheel`], returned by [`Wheel::insert`].
///
/// It is a slab index plus a generation: once the entry has fired or been
/// cancelled, the key is stale, and it never refers to a later entry that
/// reuses the same storage.
///
/// ```
/// use corio_timer::Wheel;
///
/// let mut wheel = Wheel::new();
/// let old = wheel.insert(5, 'a');
/// assert_eq!(wheel.cancel(old), Some('a'));
/// let new = wheel.insert(5, 'b'); // reuses the slab entry
/// assert_ne!(old, new);
/// assert_eq!(wheel.cancel(old), None);
/// assert_eq!(wheel.deadline(new), Some(5));
/// ```
///
/// The generation is never zero, so an `Option<TimerKey>` is as small as a
/// key (8 bytes):
///
/// ```
/// use std::mem::size_of;
/// assert_eq!(size_of::<Option<corio_timer::TimerKey>>(), 8);
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct TimerKey {
    index: u32,
    generation: NonZeroU32,
}

/// One slab entry, pending or vacant.
struct Entry<T> {
    /// The tick the entry expires at.
    deadline: u64,
    /// Next entry in the entry's list (circular), or in the free list.
    next: u32,
    /// Previous entry in the entry's list (circular).
    prev: u32,
    /// Bumped whenever the entry leaves the wheel (skipping zero).
    generation: NonZeroU32,
    /// The id of the list holding the entry, or [`VACANT`].
    list: u16,
    /// `Some` iff the entry is pending.
    value: Option<T>,
}

/// A hierarchical timer wheel: values keyed by a deadline tick, handed back
/// by [`advance`](Wheel::advance) in deadline order once time reaches them.
///
/// See the [crate documentation](crate) for the structure and its invariants.
/// Insert, cancel, reset and `next_wakeup` are O(1); `next_deadline` is O(1)
/// while its cached minimum is valid (see there); `advance` costs O(1) per
/// occupied slot it crosses plus O(1) per entry moved down a level or fired.
///
/// ```
/// use corio_timer::Wheel;
///
/// let mut wheel: Wheel<&str> = Wheel::new();
/// wheel.insert(100, "late");
/// wheel.insert(2, "early");
/// wheel.insert(2, "early too");
///
/// let mut fired = Vec::new();
/// wheel.advance(u64::MAX, |_, v| fired.push(v));
/// assert_eq!(fired, ["early", "early too", "late"]);
/// assert!(wheel.is_empty());
/// ```
pub struct Wheel<T> {
    /// The slab.
    entries: Vec<Entry<T>>,
    /// Head of the free list threaded through vacant entries by `next`.
    free: u32,
    /// Number of pending entries.
    len: usize,
    /// The tick up to which `advance` has processed.
    now: u64,
    /// Head of every list (level slots, ready, overflow), or [`NIL`].
    heads: [u32; LISTS],
    /// Per level: bit `s` set iff slot `s` is non-empty.
    occupied: [u64; LEVELS],
    /// Bit `l` set iff `occupied[l] != 0`.
    levels: u32,
    /// A lower bound of the overflow deadlines (`u64::MAX` when empty).
    overflow_min: u64,
    /// Whether `min_cache` is the exact smallest pending deadline.
    min_valid: AtomicBool,
    /// The smallest pending deadline, or a lower bound of it.
    min_cache: AtomicU64,
    /// Reused buffer for sorting the entries that fire together.
    scratch: Vec<u32>,
}

/// The list an entry due at `deadline` belongs in at time `now`.
#[inline]
fn list_for(now: u64, deadline: u64) -> usize {
    if deadline < now {
        return READY;
    }
    let masked = (deadline ^ now) | (SLOTS as u64 - 1);
    let level = ((63 - masked.leading_zeros()) / SLOT_BITS) as usize;
    if level >= LEVELS {
        return OVERFLOW;
    }
    let slot = (deadline >> (level as u32 * SLOT_BITS)) as usize & (SLOTS - 1);
    level * SLOTS + slot
}

/// The first tick of slot `slot` of level `level`, relative to `now`.
#[inline]
fn slot_start(now: u64, level: usize, slot: usize) -> u64 {
    let shift = level as u32 * SLOT_BITS;
    let block_mask = (1u64 << (shift + SLOT_BITS)) - 1;
    (now & !block_mask) | ((slot as u64) << shift)
}

impl<T> Wheel<T> {
    /// An empty wheel at time 0.
    ///
    /// ```
    /// let wheel: corio_timer::Wheel<u32> = corio_timer::Wheel::new();
    /// assert_eq!(wheel.now(), 0);
    /// assert!(wheel.is_empty());
    /// ```
    pub fn new() -> Wheel<T> {
        Wheel::with_capacity(0)
    }

    /// An empty wheel at time 0 with room for `n` entries before the slab
    /// grows.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::with_capacity(16);
    /// assert!(wheel.capacity() >= 16);
    /// wheel.insert(1, ());
    /// assert_eq!(wheel.len(), 1);
    /// ```
    pub fn with_capacity(n: usize) -> Wheel<T> {
        Wheel {
            entries: Vec::with_capacity(n),
            free: NIL,
            len: 0,
            now: 0,
            heads: [NIL; LISTS],
            occupied: [0; LEVELS],
            levels: 0,
            overflow_min: u64::MAX,
            min_valid: AtomicBool::new(false),
            min_cache: AtomicU64::new(u64::MAX),
            scratch: Vec::new(),
        }
    }

    /// How many entries the slab holds without growing.
    ///
    /// ```
    /// let wheel = corio_timer::Wheel::<()>::with_capacity(100);
    /// assert!(wheel.capacity() >= 100);
    /// ```
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// The tick up to which [`advance`](Wheel::advance) has processed.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::<()>::new();
    /// wheel.advance(42, |_, _| {});
    /// assert_eq!(wheel.now(), 42);
    /// wheel.advance(7, |_, _| {}); // backwards: no effect
    /// assert_eq!(wheel.now(), 42);
    /// ```
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The number of pending entries.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// wheel.insert(10, ());
    /// wheel.insert(20, ());
    /// assert_eq!(wheel.len(), 2);
    /// wheel.advance(15, |_, _| {});
    /// assert_eq!(wheel.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is pending.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// assert!(wheel.is_empty());
    /// let key = wheel.insert(10, ());
    /// assert!(!wheel.is_empty());
    /// wheel.cancel(key);
    /// assert!(wheel.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `value`, to be handed back by the first [`advance`](Wheel::advance)
    /// to a time `>= deadline`. O(1).
    ///
    /// A deadline `<= now()` expires at the next `advance` call, even
    /// `advance(now())`. A deadline beyond the wheel's [`RANGE`] is clamped
    /// internally but still fires at exactly `deadline`.
    ///
    /// # Panics
    ///
    /// If the wheel would hold more than `u32::MAX - 1` entries.
    ///
    /// ```
    /// use corio_timer::Wheel;
    ///
    /// let mut wheel = Wheel::new();
    /// wheel.advance(100, |_, _: &str| {});
    /// wheel.insert(50, "past");
    /// wheel.insert(100, "now");
    /// wheel.insert(101, "future");
    ///
    /// let mut fired = Vec::new();
    /// wheel.advance(100, |_, v| fired.push(v));
    /// assert_eq!(fired, ["past", "now"]);
    /// ```
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        let index = if self.free != NIL {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            self.free = entry.next;
            entry.deadline = deadline;
            entry.value = Some(value);
            index
        } else {
            let index = self.entries.len();
            assert!(index < NIL as usize, "corio-timer: too many timers");
            self.entries.push(Entry {
                deadline,
                next: NIL,
                prev: NIL,
                generation: NonZeroU32::MIN,
                list: VACANT,
                value: Some(value),
            });
            index as u32
        };
        self.link(index, list_for(self.now, deadline));
        self.len += 1;
        let min = self.min_cache.get_mut();
        if self.len == 1 || deadline <= *min {
            // The cache is never above the true minimum, so `deadline` is it.
            *min = deadline;
            *self.min_valid.get_mut() = true;
        }
        TimerKey {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// Removes a pending entry and returns its value. O(1).
    ///
    /// Returns `None` if the entry fired, was cancelled, or the key is stale.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// let key = wheel.insert(10, "x");
    /// assert_eq!(wheel.cancel(key), Some("x"));
    /// assert_eq!(wheel.cancel(key), None);
    ///
    /// let key = wheel.insert(10, "y");
    /// wheel.advance(10, |_, _| {});
    /// assert_eq!(wheel.cancel(key), None); // already fired
    /// ```
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let index = self.pending(key)?;
        self.unlink(index);
        let deadline = self.entries[index as usize].deadline;
        if deadline == *self.min_cache.get_mut() {
            *self.min_valid.get_mut() = false;
        }
        Some(self.release(index))
    }

    /// Moves a pending entry to a new deadline, keeping its key and value.
    /// O(1).
    ///
    /// For the order of entries due at the same tick, this counts as a new
    /// insertion. Returns `false` (and does nothing) if the entry is not
    /// pending.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// let a = wheel.insert(10, "a");
    /// let b = wheel.insert(10, "b");
    /// assert!(wheel.reset(a, 10)); // now after "b"
    /// assert!(wheel.reset(b, 500));
    ///
    /// let mut fired = Vec::new();
    /// wheel.advance(10, |_, v| fired.push(v));
    /// assert_eq!(fired, ["a"]);
    /// assert!(!wheel.reset(a, 20)); // fired
    /// assert_eq!(wheel.deadline(b), Some(500));
    /// ```
    pub fn reset(&mut self, key: TimerKey, deadline: u64) -> bool {
        let Some(index) = self.pending(key) else {
            return false;
        };
        self.unlink(index);
        let entry = &mut self.entries[index as usize];
        let old = entry.deadline;
        entry.deadline = deadline;
        self.link(index, list_for(self.now, deadline));
        let min = self.min_cache.get_mut();
        if deadline <= *min {
            // No pending deadline is below the (exact or lower-bound) cache.
            *min = deadline;
            *self.min_valid.get_mut() = true;
        } else if old == *min {
            *self.min_valid.get_mut() = false;
        }
        true
    }

    /// The deadline of a pending entry, or `None` if it is not pending.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// let key = wheel.insert(1234, ());
    /// assert_eq!(wheel.deadline(key), Some(1234));
    /// wheel.cancel(key);
    /// assert_eq!(wheel.deadline(key), None);
    /// ```
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        let index = self.pending(key)?;
        Some(self.entries[index as usize].deadline)
    }

    /// Whether the entry is pending (neither fired nor cancelled).
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// let key = wheel.insert(3, ());
    /// assert!(wheel.contains(key));
    /// wheel.advance(3, |_, _| {});
    /// assert!(!wheel.contains(key));
    /// ```
    pub fn contains(&self, key: TimerKey) -> bool {
        self.pending(key).is_some()
    }

    /// The value of a pending entry, or `None` if it is not pending.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// let key = wheel.insert(3, 'v');
    /// assert_eq!(wheel.get(key), Some(&'v'));
    /// ```
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        let index = self.pending(key)?;
        self.entries[index as usize].value.as_ref()
    }

    /// The value of a pending entry, mutably, or `None` if it is not pending.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// let key = wheel.insert(3, 1);
    /// *wheel.get_mut(key).unwrap() += 1;
    /// let mut fired = Vec::new();
    /// wheel.advance(3, |_, v| fired.push(v));
    /// assert_eq!(fired, [2]);
    /// assert!(wheel.get_mut(key).is_none());
    /// ```
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        let index = self.pending(key)?;
        self.entries[index as usize].value.as_mut()
    }

    /// The smallest deadline among pending entries (a past deadline is
    /// returned as is), or `None` if the wheel is empty.
    ///
    /// O(1) while the cached minimum is valid. After the earliest entry has
    /// been removed it is recomputed from the first non-empty list alone:
    /// the ready list, the lowest occupied slot (O(1) at level 0, a walk of
    /// that slot's entries above it) or the overflow list. Code that only
    /// needs to know when to wake up, and may remove many entries in
    /// between, should use [`next_wakeup`](Wheel::next_wakeup), which never
    /// walks a list.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// assert_eq!(wheel.next_deadline(), None);
    /// let a = wheel.insert(700, ());
    /// wheel.insert(9_000, ());
    /// assert_eq!(wheel.next_deadline(), Some(700));
    /// wheel.cancel(a);
    /// assert_eq!(wheel.next_deadline(), Some(9_000));
    ///
    /// wheel.advance(10_000, |_, _| {});
    /// wheel.insert(3, ()); // in the past
    /// assert_eq!(wheel.next_deadline(), Some(3));
    /// ```
    pub fn next_deadline(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        // Writers hold `&mut self`; concurrent `&self` callers compute and
        // store the same value. Release/Acquire on the flag makes a reader
        // that sees it set also see the value stored before it.
        if self.min_valid.load(Ordering::Acquire) {
            return Some(self.min_cache.load(Ordering::Relaxed));
        }
        let min = self.compute_min();
        self.min_cache.store(min, Ordering::Relaxed);
        self.min_valid.store(true, Ordering::Release);
        Some(min)
    }

    /// The earliest tick at which [`advance`](Wheel::advance) has work to
    /// do, or `None` if the wheel is empty. Always O(1): this is what a
    /// worker parks on.
    ///
    /// It is never later than the earliest pending deadline, or than
    /// [`now`](Wheel::now) when an entry is already due, so sleeping until it
    /// never misses a deadline. It may be earlier than
    /// [`next_deadline`](Wheel::next_deadline): when the earliest entry sits
    /// in a coarse slot and the cached minimum is stale, it is the start of
    /// that slot, where `advance` cascades the slot's entries down a level.
    /// Either way `advance(next_wakeup())` makes progress: it fires an entry,
    /// or afterwards `next_wakeup()` is later than before. (An entry moves
    /// down at most [`LEVELS`] times, so a timer costs at most that many
    /// early wakeups.)
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// assert_eq!(wheel.next_wakeup(), None);
    /// let a = wheel.insert(5_000, "a");
    /// wheel.insert(5_000, "b");
    /// assert_eq!(wheel.next_wakeup(), Some(5_000)); // exact while cached
    /// wheel.cancel(a);
    /// // The earliest entry left sits in the level-2 slot from 4096 to 8191:
    /// assert_eq!(wheel.next_wakeup(), Some(4_096));
    /// wheel.advance(4_096, |_, _| unreachable!()); // "b" moves to level 1
    /// assert_eq!(wheel.next_wakeup(), Some(4_992));
    /// wheel.advance(4_992, |_, _| unreachable!()); // and to level 0
    /// assert_eq!(wheel.next_wakeup(), Some(5_000));
    /// assert_eq!(wheel.next_deadline(), Some(5_000));
    /// ```
    pub fn next_wakeup(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        if self.min_valid.load(Ordering::Acquire) {
            return Some(self.min_cache.load(Ordering::Relaxed));
        }
        Some(if self.heads[READY] != NIL {
            self.now
        } else if self.levels != 0 {
            let level = self.levels.trailing_zeros() as usize;
            let slot = self.occupied[level].trailing_zeros() as usize;
            slot_start(self.now, level, slot)
        } else {
            self.overflow_min & !(RANGE - 1)
        })
    }

    /// Advances time to `now` and calls `f` on every entry with a deadline
    /// `<= now`, removing it: in deadline order, entries due at the same tick
    /// in insertion order (a [`reset`](Wheel::reset) counts as an insertion).
    ///
    /// `now()` becomes `max(now(), now)`; if `now < self.now()`, nothing
    /// fires. Entries already due (inserted with a deadline `<= now()`) fire
    /// even on `advance(self.now())`. A far jump costs O(1) per occupied slot
    /// on the way, not per tick.
    ///
    /// If `f` panics, the entries not yet handed to it stay pending and the
    /// wheel stays consistent.
    ///
    /// ```
    /// let mut wheel = corio_timer::Wheel::new();
    /// let far = 10 * 365 * 24 * 3_600 * 1_000; // ten years, in ms
    /// wheel.insert(far, "far");
    /// wheel.insert(64, "b");
    /// wheel.insert(63, "a");
    ///
    /// let mut fired = Vec::new();
    /// wheel.advance(far - 1, |_, v| fired.push(v));
    /// assert_eq!(fired, ["a", "b"]);
    /// wheel.advance(far, |_, v| fired.push(v));
    /// assert_eq!(fired, ["a", "b", "far"]);
    /// ```
    pub fn advance(&mut self, now: u64, mut f: impl FnMut(TimerKey, T)) {
        if now < self.now {
            return;
        }
        if self.len == 0 {
            self.now = now;
            return;
        }
        if self.heads[READY] != NIL {
            self.fire(READY, &mut f);
        }
        loop {
            let (list, start) = if self.levels != 0 {
                let level = self.levels.trailing_zeros() as usize;
                let slot = self.occupied[level].trailing_zeros() as usize;
                (level * SLOTS + slot, slot_start(self.now, level, slot))
            } else if self.heads[OVERFLOW] != NIL {
                (OVERFLOW, self.overflow_min & !(RANGE - 1))
            } else {
                break;
            };
            if start > now {
                break;
            }
            debug_assert!(start >= self.now);
            self.now = start;
            if list < SLOTS {
                self.fire(list, &mut f);
            } else {
                self.cascade(list);
            }
        }
        self.now = now;
    }

    /// The index of the pending entry `key` refers to.
    #[inline]
    fn pending(&self, key: TimerKey) -> Option<u32> {
        let entry = self.entries.get(key.index as usize)?;
        (entry.generation == key.generation && entry.list != VACANT).then_some(key.index)
    }

    /// Appends entry `index` to list `list`.
    #[inline]
    fn link(&mut self, index: u32, list: usize) {
        let head = self.heads[list];
        if head == NIL {
            self.heads[list] = index;
            let entry = &mut self.entries[index as usize];
            entry.next = index;
            entry.prev = index;
            if list < READY {
                let (level, slot) = (list / SLOTS, list % SLOTS);
                self.occupied[level] |= 1 << slot;
                self.levels |= 1 << level;
            }
        } else {
            let tail = self.entries[head as usize].prev;
            self.entries[tail as usize].next = index;
            self.entries[head as usize].prev = index;
            let entry = &mut self.entries[index as usize];
            entry.next = head;
            entry.prev = tail;
        }
        let entry = &mut self.entries[index as usize];
        entry.list = list as u16;
        if list == OVERFLOW && entry.deadline < self.overflow_min {
            self.overflow_min = entry.deadline;
        }
    }

    /// Removes entry `index` from its list.
    #[inline]
    fn unlink(&mut self, index: u32) {
        let entry = &self.entries[index as usize];
        let (list, next, prev) = (entry.list as usize, entry.next, entry.prev);
        if next == index {
            self.empty_list(list);
        } else {
            self.entries[prev as usize].next = next;
            self.entries[next as usize].prev = prev;
            if self.heads[list] == index {
                self.heads[list] = next;
            }
        }
    }

    /// Marks list `list` empty (its entries, if any, are detached).
    #[inline]
    fn empty_list(&mut self, list: usize) {
        self.heads[list] = NIL;
        if list < READY {
            let (level, slot) = (list / SLOTS, list % SLOTS);
            self.occupied[level] &= !(1 << slot);
            if self.occupied[level] == 0 {
                self.levels &= !(1 << level);
            }
        } else if list == OVERFLOW {
            self.overflow_min = u64::MAX;
        }
    }

    /// Frees the (unlinked) entry `index` and returns its value.
    #[inline]
    fn release(&mut self, index: u32) -> T {
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.checked_add(1).unwrap_or(NonZeroU32::MIN);
        entry.list = VACANT;
        entry.next = self.free;
        self.free = index;
        self.len -= 1;
        entry.value.take().expect("a pending entry holds a value")
    }

    /// Fires every entry of list `list` (the ready list or a level-0 slot) in
    /// deadline order, ties in insertion order (= list order, invariant 7).
    fn fire(&mut self, list: usize, f: &mut impl FnMut(TimerKey, T)) {
        let mut batch = std::mem::take(&mut self.scratch);
        batch.clear();
        let head = self.heads[list];
        let mut index = head;
        loop {
            batch.push(index);
            index = self.entries[index as usize].next;
            if index == head {
                break;
            }
        }
        if list == READY && batch.len() > 1 {
            let entries = &self.entries;
            let deadline = |&i: &u32| entries[i as usize].deadline;
            if !batch.is_sorted_by_key(deadline) {
                // Stable: ties keep list (insertion) order.
                batch.sort_by_key(deadline);
            }
        }
        *self.min_valid.get_mut() = false;
        for &index in &batch {
            // Unlink one at a time: if `f` panics, the rest stay pending.
            self.unlink(index);
            let generation = self.entries[index as usize].generation;
            let value = self.release(index);
            f(TimerKey { index, generation }, value);
        }
        self.scratch = batch;
    }

    /// Re-places every entry of list `list` (a slot of level >= 1, or the
    /// overflow list) relative to the current time.
    fn cascade(&mut self, list: usize) {
        let head = self.heads[list];
        self.empty_list(list);
        let mut index = head;
        loop {
            let entry = &self.entries[index as usize];
            let next = entry.next;
            let to = list_for(self.now, entry.deadline);
            debug_assert!(to != READY && (to < list - list % SLOTS || to == OVERFLOW));
            self.link(index, to);
            if next == head {
                break;
            }
            index = next;
        }
    }

    /// The smallest deadline in list `list` (non-empty).
    fn list_min(&self, list: usize) -> u64 {
        let head = self.heads[list];
        let mut index = head;
        let mut min = u64::MAX;
        loop {
            let entry = &self.entries[index as usize];
            min = min.min(entry.deadline);
            index = entry.next;
            if index == head {
                return min;
            }
        }
    }

    /// The smallest pending deadline (the wheel is not empty).
    fn compute_min(&self) -> u64 {
        if self.heads[READY] != NIL {
            self.list_min(READY)
        } else if self.levels != 0 {
            let level = self.levels.trailing_zeros() as usize;
            let slot = self.occupied[level].trailing_zeros() as usize;
            if level == 0 {
                slot_start(self.now, 0, slot)
            } else {
                self.list_min(level * SLOTS + slot)
            }
        } else {
            self.list_min(OVERFLOW)
        }
    }
}

/// The same as [`Wheel::new`].
///
/// ```
/// let wheel: corio_timer::Wheel<()> = Default::default();
/// assert_eq!(wheel.now(), 0);
/// ```
impl<T> Default for Wheel<T> {
    fn default() -> Wheel<T> {
        Wheel::new()
    }
}

/// Shows the time, the number of pending entries and the next deadline.
///
/// ```
/// let mut wheel = corio_timer::Wheel::new();
/// wheel.insert(5, ());
/// assert_eq!(
///     format!("{wheel:?}"),
///     "Wheel { now: 0, len: 1, next_deadline: Some(5), .. }"
/// );
/// ```
impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("now", &self.now)
            .field("len", &self.len)
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
