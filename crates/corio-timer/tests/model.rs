//! Property tests: random operation sequences on a [`Wheel`] against a
//! reference model, a `BTreeMap` ordered by `(deadline, insertion sequence)`.
//!
//! After every operation the wheel and the model must agree on `len`, `now`
//! and (exactly) `next_deadline`; each `advance` must fire exactly the model's
//! expired entries, keys and values, in order; `cancel`, `reset`, `deadline`
//! and `get_mut` must agree on every key ever issued (fired, cancelled and
//! stale ones included).

use std::collections::{BTreeMap, HashMap};

use corio_timer::{TimerKey, Wheel, LEVELS, RANGE};
use proptest::prelude::*;
use proptest::sample::Index;

/// A deadline, relative to the wheel's time when the operation runs.
#[derive(Clone, Debug)]
enum When {
    /// `now + 0..200`.
    Near(u64),
    /// `now + 0..100_000`.
    Medium(u64),
    /// `now + 0..2^40`: mostly beyond the wheel's range.
    Far(u64),
    /// `now - 1..=1000` (saturating at 0).
    Past(u64),
    /// Exactly on (or one off) a slot or level boundary.
    Boundary(usize, u8),
    /// `u64::MAX - 0..1000`.
    Huge(u64),
}

/// How far an `advance` goes.
#[derive(Clone, Debug)]
enum Step {
    Near(u64),
    Medium(u64),
    Far(u64),
    Back(u64),
    /// To the model's next deadline (or `now` if empty or past).
    ToNext,
    /// To the model's next deadline minus one.
    JustBeforeNext,
    /// To `u64::MAX`.
    End,
}

#[derive(Clone, Debug)]
enum Op {
    Insert(When),
    Cancel(Index),
    Reset(Index, When),
    Advance(Step),
    NextDeadline,
    Deadline(Index),
    GetMut(Index),
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        6 => (0..200u64).prop_map(When::Near),
        4 => (0..100_000u64).prop_map(When::Medium),
        2 => (0..1u64 << 40).prop_map(When::Far),
        2 => (0..1_000u64).prop_map(When::Past),
        2 => (0..7usize, 0..3u8).prop_map(|(l, o)| When::Boundary(l, o)),
        1 => (0..1_000u64).prop_map(When::Huge),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        60 => (0..200u64).prop_map(Step::Near),
        30 => (0..100_000u64).prop_map(Step::Medium),
        10 => (0..1u64 << 41).prop_map(Step::Far),
        10 => (0..100u64).prop_map(Step::Back),
        30 => Just(Step::ToNext),
        20 => Just(Step::JustBeforeNext),
        1 => Just(Step::End),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => when().prop_map(Op::Insert),
        10 => any::<Index>().prop_map(Op::Cancel),
        10 => (any::<Index>(), when()).prop_map(|(i, w)| Op::Reset(i, w)),
        20 => step().prop_map(Op::Advance),
        5 => Just(Op::NextDeadline),
        5 => any::<Index>().prop_map(Op::Deadline),
        3 => any::<Index>().prop_map(Op::GetMut),
    ]
}

fn resolve(now: u64, when: &When) -> u64 {
    match *when {
        When::Near(x) | When::Medium(x) | When::Far(x) => now.saturating_add(x),
        When::Past(x) => now.saturating_sub(x + 1),
        When::Boundary(level, off) => {
            // The next multiple of 64^level after now, or 64^level from now
            // (level 6 is RANGE itself), shifted by -1, 0 or +1.
            let width = 1u64 << (6 * level);
            let edge = if off % 2 == 0 {
                (now / width).saturating_add(1).saturating_mul(width)
            } else {
                now.saturating_add(width)
            };
            match off {
                0 => edge.saturating_sub(1),
                1 => edge,
                _ => edge.saturating_add(1),
            }
        }
        When::Huge(x) => u64::MAX - x,
    }
}

/// Where an `advance` by `step` goes, from `now`.
fn target(now: u64, next_deadline: Option<u64>, step: &Step) -> u64 {
    let next = next_deadline.unwrap_or(now).max(now);
    match *step {
        Step::Near(x) | Step::Medium(x) | Step::Far(x) => now.saturating_add(x),
        Step::Back(x) => now.saturating_sub(x),
        Step::ToNext => next,
        Step::JustBeforeNext => next.saturating_sub(1).max(now),
        Step::End => u64::MAX,
    }
}

/// The reference model.
#[derive(Default)]
struct Model {
    now: u64,
    seq: u64,
    /// Pending entries by firing order.
    queue: BTreeMap<(u64, u64), (TimerKey, u64)>,
    /// Pending entries' `(deadline, seq)` by key.
    pending: HashMap<TimerKey, (u64, u64)>,
}

impl Model {
    fn insert(&mut self, key: TimerKey, deadline: u64, value: u64) {
        let order = (deadline, self.seq);
        self.seq += 1;
        assert!(self.queue.insert(order, (key, value)).is_none());
        assert!(self.pending.insert(key, order).is_none());
    }

    fn cancel(&mut self, key: TimerKey) -> Option<u64> {
        let order = self.pending.remove(&key)?;
        Some(self.queue.remove(&order).unwrap().1)
    }

    fn reset(&mut self, key: TimerKey, deadline: u64) -> bool {
        match self.cancel(key) {
            Some(value) => {
                self.insert(key, deadline, value);
                true
            }
            None => false,
        }
    }

    fn advance(&mut self, to: u64) -> Vec<(TimerKey, u64)> {
        let mut fired = Vec::new();
        if to < self.now {
            return fired;
        }
        self.now = to;
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > to {
                break;
            }
            let (key, value) = entry.remove();
            self.pending.remove(&key);
            fired.push((key, value));
        }
        fired
    }

    fn next_deadline(&self) -> Option<u64> {
        self.queue.keys().next().map(|&(deadline, _)| deadline)
    }
}

/// `next_wakeup` is `None` iff the wheel is empty, never later than the
/// earliest deadline (or than `now` when one is already due), so a worker
/// parked until it misses nothing.
fn check_next_wakeup(wheel: &Wheel<u64>, model: &Model) -> Result<(), TestCaseError> {
    match (wheel.next_wakeup(), model.next_deadline()) {
        (None, None) => {}
        (Some(w), Some(min)) => prop_assert!(
            w <= min.max(model.now),
            "next_wakeup {} is past the earliest deadline {} (now {})",
            w,
            min,
            model.now
        ),
        (w, min) => prop_assert!(false, "next_wakeup {:?} vs earliest {:?}", w, min),
    }
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut wheel = Wheel::new();
    let mut model = Model::default();
    // Every key ever issued, with its value.
    let mut keys: Vec<(TimerKey, u64)> = Vec::new();
    let mut next_value = 0u64;
    for op in ops {
        let now = wheel.now();
        prop_assert_eq!(now, model.now);
        match op {
            Op::Insert(when) => {
                let deadline = resolve(now, &when);
                let value = next_value;
                next_value += 1;
                let key = wheel.insert(deadline, value);
                prop_assert!(!keys.iter().any(|&(k, _)| k == key), "key reused");
                model.insert(key, deadline, value);
                keys.push((key, value));
                prop_assert_eq!(wheel.deadline(key), Some(deadline));
            }
            Op::Cancel(i) if !keys.is_empty() => {
                let (key, _) = keys[i.index(keys.len())];
                prop_assert_eq!(wheel.cancel(key), model.cancel(key));
            }
            Op::Reset(i, when) if !keys.is_empty() => {
                let (key, _) = keys[i.index(keys.len())];
                let deadline = resolve(now, &when);
                prop_assert_eq!(wheel.reset(key, deadline), model.reset(key, deadline));
            }
            Op::Advance(step) => {
                let to = target(now, model.next_deadline(), &step);
                let mut fired = Vec::new();
                wheel.advance(to, |key, value| fired.push((key, value)));
                prop_assert_eq!(fired, model.advance(to), "advance from {} to {}", now, to);
                prop_assert_eq!(wheel.now(), model.now);
            }
            Op::NextDeadline => {}
            Op::Deadline(i) if !keys.is_empty() => {
                let (key, _) = keys[i.index(keys.len())];
                let expected = model.pending.get(&key).map(|&(deadline, _)| deadline);
                prop_assert_eq!(wheel.deadline(key), expected);
                prop_assert_eq!(wheel.contains(key), expected.is_some());
            }
            Op::GetMut(i) if !keys.is_empty() => {
                let (key, value) = keys[i.index(keys.len())];
                let expected = model.pending.contains_key(&key).then_some(value);
                prop_assert_eq!(wheel.get_mut(key).map(|v| *v), expected);
            }
            _ => {}
        }
        prop_assert_eq!(wheel.len(), model.queue.len());
        prop_assert_eq!(wheel.is_empty(), model.queue.is_empty());
        check_next_wakeup(&wheel, &model)?;
        prop_assert_eq!(wheel.next_deadline(), model.next_deadline());
    }
    // Drain: everything left fires, in order.
    let mut fired = Vec::new();
    wheel.advance(u64::MAX, |key, value| fired.push((key, value)));
    prop_assert_eq!(fired, model.advance(u64::MAX));
    prop_assert!(wheel.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    })]

    /// Random operation sequences agree with the model.
    #[test]
    fn wheel_matches_model(ops in prop::collection::vec(op(), 1..200)) {
        run(ops)?;
    }

    /// The same, but `next_deadline` is only compared before advancing and
    /// at the end, so the wheel's cached minimum goes stale across many
    /// removals before it is recomputed.
    #[test]
    fn wheel_matches_model_with_lazy_next_deadline(
        ops in prop::collection::vec(op(), 1..200)
    ) {
        let mut wheel = Wheel::new();
        let mut model = Model::default();
        let mut keys: Vec<TimerKey> = Vec::new();
        for (value, op) in (0u64..).zip(ops) {
            let now = wheel.now();
            match op {
                Op::Insert(when) => {
                    let deadline = resolve(now, &when);
                    let key = wheel.insert(deadline, value);
                    model.insert(key, deadline, value);
                    keys.push(key);
                }
                Op::Cancel(i) if !keys.is_empty() => {
                    let key = keys[i.index(keys.len())];
                    prop_assert_eq!(wheel.cancel(key), model.cancel(key));
                }
                Op::Reset(i, when) if !keys.is_empty() => {
                    let key = keys[i.index(keys.len())];
                    let deadline = resolve(now, &when);
                    prop_assert_eq!(wheel.reset(key, deadline), model.reset(key, deadline));
                }
                Op::Advance(step) => {
                    check_next_wakeup(&wheel, &model)?;
                    prop_assert_eq!(wheel.next_deadline(), model.next_deadline());
                    let to = target(now, model.next_deadline(), &step);
                    let mut fired = Vec::new();
                    wheel.advance(to, |key, value| fired.push((key, value)));
                    prop_assert_eq!(fired, model.advance(to));
                }
                _ => {}
            }
        }
        prop_assert_eq!(wheel.next_deadline(), model.next_deadline());
        prop_assert_eq!(wheel.len(), model.queue.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 500,
        ..ProptestConfig::default()
    })]

    /// Parking on `next_wakeup` and advancing to it, again and again, fires
    /// every entry at its deadline and never spins: each wakeup fires an
    /// entry or moves `next_wakeup` later, and no entry costs more than
    /// `LEVELS + 1` wakeups. Removals in between leave the cache stale.
    #[test]
    fn advancing_to_next_wakeup_makes_progress(
        deadlines in prop::collection::vec(0..1u64 << 40, 1..60),
        cancel_every in 2..5usize,
    ) {
        let mut wheel = Wheel::new();
        let mut model = Model::default();
        let keys: Vec<TimerKey> = deadlines
            .iter()
            .enumerate()
            .map(|(value, &d)| {
                let key = wheel.insert(d, value as u64);
                model.insert(key, d, value as u64);
                key
            })
            .collect();
        for key in keys.iter().step_by(cancel_every) {
            prop_assert_eq!(wheel.cancel(*key), model.cancel(*key));
        }
        let budget = (LEVELS + 2) * keys.len();
        let mut wakeups = 0;
        while let Some(w) = wheel.next_wakeup() {
            prop_assert!(w <= model.next_deadline().unwrap().max(model.now));
            let to = w.max(wheel.now());
            let mut fired = Vec::new();
            wheel.advance(to, |key, value| fired.push((key, value)));
            let expected = model.advance(to);
            prop_assert_eq!(&fired, &expected);
            if fired.is_empty() {
                prop_assert!(wheel.next_wakeup().is_some_and(|after| after > w), "no progress at {}", w);
            }
            wakeups += 1;
            prop_assert!(wakeups <= budget, "{} wakeups for {} entries", wakeups, keys.len());
        }
        prop_assert!(model.queue.is_empty());
    }
}

/// Cancelling, one by one, many entries that share a coarse slot and a
/// deadline keeps `next_wakeup` O(1) (the slot is not walked per cancel),
/// and it stays a bound the remaining entries can be parked on.
#[test]
fn next_wakeup_stays_cheap_while_a_crowded_slot_is_emptied() {
    const N: usize = 200_000;
    let deadline = 3_600_000; // an hour: a level-3 slot
    let mut wheel = Wheel::new();
    let keys: Vec<TimerKey> = (0..N).map(|i| wheel.insert(deadline, i)).collect();
    let start = std::time::Instant::now();
    for key in &keys[..N - 1] {
        wheel.cancel(*key);
        let w = wheel.next_wakeup().unwrap();
        assert!(w <= deadline);
    }
    // Quadratic work (2 * 10^10 list steps) would take minutes.
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    let mut fired = Vec::new();
    wheel.advance(deadline - 1, |_, v| fired.push(v));
    assert!(fired.is_empty());
    wheel.advance(deadline, |_, v| fired.push(v));
    assert_eq!(fired, [N - 1]);
}

/// Deterministic: a clamped entry re-enters the wheel across several range
/// blocks and still fires exactly at its deadline.
#[test]
fn clamped_entry_fires_exactly() {
    let deadline = 7 * RANGE + 3;
    let mut wheel = Wheel::new();
    let key = wheel.insert(deadline, ());
    for t in [RANGE, 3 * RANGE + 5, 7 * RANGE, deadline - 1] {
        let mut fired = 0;
        wheel.advance(t, |_, ()| fired += 1);
        assert_eq!(fired, 0, "fired early at {t}");
        assert_eq!(wheel.deadline(key), Some(deadline));
        assert_eq!(wheel.next_deadline(), Some(deadline));
    }
    let mut fired = Vec::new();
    wheel.advance(deadline, |k, ()| fired.push(k));
    assert_eq!(fired, [key]);
}
