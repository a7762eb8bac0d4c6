//! Unit tests: edge cases, plus a seeded random run against a sorted model
//! that checks the internal invariants after every operation.

use super::*;
use std::collections::BTreeMap;

/// Checks every invariant listed in the crate documentation.
fn check<T>(wheel: &Wheel<T>) {
    let now = wheel.now;
    let mut pending = 0;
    let mut overflow_count = 0;
    for list in 0..LISTS {
        let head = wheel.heads[list];
        if list < READY {
            let (level, slot) = (list / SLOTS, list % SLOTS);
            assert_eq!(
                wheel.occupied[level] >> slot & 1 == 1,
                head != NIL,
                "occupancy bit of level {level} slot {slot}"
            );
        }
        if head == NIL {
            continue;
        }
        let mut index = head;
        loop {
            let entry = &wheel.entries[index as usize];
            assert_eq!(entry.list as usize, list);
            assert!(entry.value.is_some());
            assert_eq!(wheel.entries[entry.next as usize].prev, index);
            assert_eq!(
                list_for(now, entry.deadline),
                list,
                "entry due at {} misplaced at now {now}",
                entry.deadline
            );
            if list < READY {
                let (level, slot) = (list / SLOTS, list % SLOTS);
                let start = slot_start(now, level, slot);
                let width = 1u64 << (level as u32 * SLOT_BITS);
                assert!(entry.deadline >= start && entry.deadline - start < width);
                assert!(entry.deadline >= now);
                assert!(level == 0 || entry.deadline > now);
            }
            if list == OVERFLOW {
                overflow_count += 1;
                assert!(wheel.overflow_min <= entry.deadline);
            }
            pending += 1;
            index = entry.next;
            if index == head {
                break;
            }
        }
    }
    assert_eq!(pending, wheel.len);
    if overflow_count > 0 {
        assert!(wheel.overflow_min & !(RANGE - 1) > now);
    } else {
        assert_eq!(wheel.overflow_min, u64::MAX);
    }
    for level in 0..LEVELS {
        assert_eq!(wheel.levels >> level & 1 == 1, wheel.occupied[level] != 0);
    }
    assert_eq!(wheel.levels >> LEVELS, 0);
    let mut vacant = 0;
    let mut index = wheel.free;
    while index != NIL {
        let entry = &wheel.entries[index as usize];
        assert_eq!(entry.list, VACANT);
        assert!(entry.value.is_none());
        vacant += 1;
        index = entry.next;
    }
    assert_eq!(vacant + pending, wheel.entries.len());
    let true_min = wheel
        .entries
        .iter()
        .filter(|e| e.list != VACANT)
        .map(|e| e.deadline)
        .min();
    if let Some(true_min) = true_min {
        let cached = wheel.min_cache.load(Ordering::Relaxed);
        assert!(cached <= true_min);
        if wheel.min_valid.load(Ordering::Relaxed) {
            assert_eq!(cached, true_min);
        }
    }
    assert_eq!(wheel.next_deadline(), true_min);
}

fn fire_all<T>(wheel: &mut Wheel<T>, now: u64) -> Vec<T> {
    let mut fired = Vec::new();
    wheel.advance(now, |_, v| fired.push(v));
    check(wheel);
    fired
}

#[test]
fn send_and_sync() {
    fn assert_send_sync<X: Send + Sync>() {}
    assert_send_sync::<Wheel<String>>();
    assert_send_sync::<TimerKey>();
}

#[test]
fn empty_wheel() {
    let mut wheel = Wheel::<u8>::default();
    assert_eq!(wheel.now(), 0);
    assert_eq!(wheel.len(), 0);
    assert_eq!(wheel.next_deadline(), None);
    assert!(fire_all(&mut wheel, 1_000).is_empty());
    assert_eq!(wheel.now(), 1_000);
    check(&wheel);
}

#[test]
fn deadline_zero_at_start() {
    let mut wheel = Wheel::new();
    wheel.insert(0, 'a');
    check(&wheel);
    assert_eq!(wheel.next_deadline(), Some(0));
    assert_eq!(fire_all(&mut wheel, 0), ['a']);
    assert_eq!(wheel.now(), 0);
}

#[test]
fn deadline_equal_to_now_fires_on_advance_to_now() {
    let mut wheel = Wheel::new();
    fire_all(&mut wheel, 500);
    wheel.insert(500, 'a');
    check(&wheel);
    assert_eq!(fire_all(&mut wheel, 500), ['a']);
    assert!(wheel.is_empty());
}

#[test]
fn past_deadlines_fire_in_order_before_future_ones() {
    let mut wheel = Wheel::new();
    fire_all(&mut wheel, 10_000);
    wheel.insert(10_001, "future");
    wheel.insert(9_000, "b");
    wheel.insert(10_000, "now");
    wheel.insert(5, "a");
    wheel.insert(9_000, "c");
    check(&wheel);
    assert_eq!(wheel.next_deadline(), Some(5));
    assert_eq!(fire_all(&mut wheel, 10_000), ["a", "b", "c", "now"]);
    assert_eq!(wheel.next_deadline(), Some(10_001));
    assert_eq!(fire_all(&mut wheel, 10_001), ["future"]);
}

#[test]
fn past_deadlines_do_not_fire_on_backwards_advance() {
    let mut wheel = Wheel::new();
    fire_all(&mut wheel, 100);
    wheel.insert(50, 'p');
    assert!(fire_all(&mut wheel, 99).is_empty());
    assert_eq!(wheel.now(), 100);
    assert_eq!(wheel.len(), 1);
    assert_eq!(fire_all(&mut wheel, 100), ['p']);
}

#[test]
fn advance_backwards_is_a_noop() {
    let mut wheel = Wheel::new();
    wheel.insert(300, 'x');
    fire_all(&mut wheel, 200);
    assert!(fire_all(&mut wheel, 100).is_empty());
    assert_eq!(wheel.now(), 200);
    assert_eq!(wheel.next_deadline(), Some(300));
    assert!(fire_all(&mut wheel, 299).is_empty());
    assert_eq!(fire_all(&mut wheel, 300), ['x']);
}

#[test]
fn exact_slot_boundaries() {
    let mut boundaries = Vec::new();
    for level in 1..=LEVELS as u32 {
        let edge = 1u64 << (level * SLOT_BITS);
        boundaries.extend([edge - 1, edge, edge + 1]);
    }
    boundaries.extend([2 * RANGE - 1, 2 * RANGE, u64::MAX - 1, u64::MAX]);
    for base in [0, 1, 63, 64, 4_095, 4_096, RANGE - 1, RANGE, 123_456_789] {
        let mut wheel = Wheel::new();
        fire_all(&mut wheel, base);
        for &b in &boundaries {
            let deadline = base.saturating_add(b);
            wheel.insert(deadline, deadline);
            check(&wheel);
        }
        let mut expected: Vec<u64> = boundaries.iter().map(|&b| base.saturating_add(b)).collect();
        expected.sort();
        expected.dedup(); // saturated deadlines fire together
        for &deadline in &expected {
            if deadline > base {
                assert!(fire_all(&mut wheel, deadline - 1)
                    .iter()
                    .all(|&d| d < deadline));
            }
            assert_eq!(wheel.next_deadline(), Some(deadline), "base {base}");
            let fired = fire_all(&mut wheel, deadline);
            assert!(
                fired.iter().all(|&d| d == deadline),
                "base {base}: {fired:?}"
            );
        }
        assert!(wheel.is_empty());
    }
}

#[test]
fn boundaries_fire_one_tick_apart() {
    let mut wheel = Wheel::new();
    for d in [63, 64, 4_095, 4_096, 262_143, 262_144] {
        wheel.insert(d, d);
    }
    check(&wheel);
    let mut fired = Vec::new();
    for t in 0..=262_144 {
        wheel.advance(t, |_, v| fired.push((t, v)));
    }
    check(&wheel);
    let expected: Vec<(u64, u64)> = [63, 64, 4_095, 4_096, 262_143, 262_144]
        .into_iter()
        .map(|d| (d, d))
        .collect();
    assert_eq!(fired, expected);
}

#[test]
fn far_future_beyond_range() {
    let far = [RANGE, RANGE + 1, 3 * RANGE + 17, 1 << 40, (1 << 50) + 5];
    let mut wheel = Wheel::new();
    for &d in far.iter().rev() {
        wheel.insert(d, d);
    }
    check(&wheel);
    assert_eq!(wheel.next_deadline(), Some(RANGE));
    for &d in &far {
        assert!(fire_all(&mut wheel, d - 1).is_empty());
        assert_eq!(wheel.next_deadline(), Some(d));
        assert_eq!(fire_all(&mut wheel, d), [d]);
    }
    assert!(wheel.is_empty());
}

#[test]
fn far_future_near_a_range_block_boundary() {
    let mut wheel = Wheel::new();
    fire_all(&mut wheel, RANGE - 2);
    wheel.insert(RANGE + 1, 'b');
    wheel.insert(RANGE - 1, 'a');
    check(&wheel);
    assert_eq!(fire_all(&mut wheel, RANGE), ['a']);
    assert_eq!(fire_all(&mut wheel, RANGE + 1), ['b']);
}

#[test]
fn huge_jump_with_few_entries_is_fast() {
    let mut wheel = Wheel::new();
    let ten_years = 10 * 365 * 24 * 3_600 * 1_000u64;
    wheel.insert(ten_years, 2);
    wheel.insert(7, 1);
    wheel.insert(u64::MAX, 3);
    assert_eq!(fire_all(&mut wheel, ten_years + 5), [1, 2]);
    assert_eq!(fire_all(&mut wheel, u64::MAX - 1), []);
    assert_eq!(fire_all(&mut wheel, u64::MAX), [3]);
    assert_eq!(wheel.now(), u64::MAX);
    // Inserting at the end of time still works.
    wheel.insert(u64::MAX, 4);
    assert_eq!(fire_all(&mut wheel, u64::MAX), [4]);
}

#[test]
fn cancel_after_fire_is_none() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(10, 'a');
    assert_eq!(fire_all(&mut wheel, 10), ['a']);
    assert_eq!(wheel.cancel(key), None);
    assert_eq!(wheel.deadline(key), None);
    assert!(!wheel.reset(key, 20));
    assert!(wheel.get_mut(key).is_none());
    check(&wheel);
}

#[test]
fn stale_key_after_slot_reuse() {
    let mut wheel = Wheel::new();
    let old = wheel.insert(10, 'a');
    assert_eq!(wheel.cancel(old), Some('a'));
    let new = wheel.insert(20, 'b');
    assert_eq!(new.index, old.index);
    assert_ne!(new, old);
    assert_eq!(wheel.cancel(old), None);
    assert!(!wheel.reset(old, 5));
    assert_eq!(wheel.deadline(old), None);
    assert!(wheel.get_mut(old).is_none());
    assert!(!wheel.contains(old));
    assert_eq!(wheel.deadline(new), Some(20));
    check(&wheel);
    // Also after firing.
    fire_all(&mut wheel, 20);
    let newer = wheel.insert(30, 'c');
    assert_eq!(newer.index, new.index);
    assert_eq!(wheel.cancel(new), None);
    assert_eq!(wheel.cancel(newer), Some('c'));
}

#[test]
fn key_from_another_wheel_out_of_bounds() {
    let mut big = Wheel::new();
    let keys: Vec<_> = (0..10).map(|i| big.insert(i, i)).collect();
    let mut small = Wheel::<u64>::new();
    assert_eq!(small.cancel(keys[9]), None);
    assert_eq!(small.deadline(keys[9]), None);
}

#[test]
fn reset_earlier_and_later() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(5_000, 'a');
    let b = wheel.insert(100, 'b');
    assert!(wheel.reset(a, 50)); // earlier: level 2 -> level 0
    check(&wheel);
    assert_eq!(wheel.next_deadline(), Some(50));
    assert!(wheel.reset(b, 1 << 40)); // later: beyond range
    check(&wheel);
    assert_eq!(wheel.deadline(b), Some(1 << 40));
    assert_eq!(fire_all(&mut wheel, 50), ['a']);
    assert!(wheel.reset(b, 10)); // into the past
    check(&wheel);
    assert_eq!(wheel.next_deadline(), Some(10));
    assert_eq!(fire_all(&mut wheel, 50), ['b']);
}

#[test]
fn reset_of_the_minimum_updates_next_deadline() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(10, 'a');
    wheel.insert(20, 'b');
    assert_eq!(wheel.next_deadline(), Some(10));
    assert!(wheel.reset(a, 30));
    check(&wheel);
    assert_eq!(wheel.next_deadline(), Some(20));
    assert!(wheel.reset(a, 20));
    assert_eq!(fire_all(&mut wheel, 20), ['b', 'a']);
}

#[test]
fn ties_fire_in_insertion_order() {
    let mut wheel = Wheel::new();
    // Inserted at different levels, cascaded at different times.
    wheel.insert(300_000, 0);
    fire_all(&mut wheel, 200_000);
    wheel.insert(300_000, 1);
    fire_all(&mut wheel, 299_990);
    wheel.insert(300_000, 2);
    let k = wheel.insert(300_000, 3);
    wheel.insert(300_000, 4);
    assert!(wheel.reset(k, 300_000));
    assert_eq!(fire_all(&mut wheel, 400_000), [0, 1, 2, 4, 3]);
}

#[test]
fn ties_with_clamped_entries_fire_in_insertion_order() {
    let d = 5 * RANGE + 12_345;
    let mut wheel = Wheel::new();
    wheel.insert(d, 0); // clamped to the overflow list
    fire_all(&mut wheel, 5 * RANGE - 10);
    wheel.insert(d, 1); // still beyond this range block
    fire_all(&mut wheel, 5 * RANGE + 1);
    wheel.insert(d, 2); // directly into level 2
    fire_all(&mut wheel, d - 3);
    wheel.insert(d, 3); // level 0
    assert_eq!(fire_all(&mut wheel, d), [0, 1, 2, 3]);
}

#[test]
fn many_ties_in_one_slot() {
    let mut wheel = Wheel::new();
    let keys: Vec<_> = (0..100).map(|i| wheel.insert(1_000, i)).collect();
    // Reset every other one: they move behind the rest, in reset order.
    for k in keys.iter().step_by(2).rev() {
        assert!(wheel.reset(*k, 1_000));
    }
    let mut expected: Vec<i32> = (1..100).step_by(2).collect();
    expected.extend((0..100).step_by(2).rev());
    assert_eq!(fire_all(&mut wheel, 1_000), expected);
}

#[test]
fn fired_keys_match_inserted_keys() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(3, 'a');
    let b = wheel.insert(1, 'b');
    let mut fired = Vec::new();
    wheel.advance(3, |k, v| fired.push((k, v)));
    assert_eq!(fired, [(b, 'b'), (a, 'a')]);
}

#[test]
fn next_deadline_exact_inside_higher_levels() {
    let mut wheel = Wheel::new();
    let keys: Vec<_> = [5_000u64, 4_500, 4_700, 4_200]
        .into_iter()
        .map(|d| wheel.insert(d, d))
        .collect();
    assert_eq!(wheel.next_deadline(), Some(4_200));
    wheel.cancel(keys[3]);
    assert_eq!(wheel.next_deadline(), Some(4_500));
    wheel.cancel(keys[1]);
    check(&wheel);
    assert_eq!(wheel.next_deadline(), Some(4_700));
    fire_all(&mut wheel, 4_100); // cascades, fires nothing
    assert_eq!(wheel.next_deadline(), Some(4_700));
}

#[test]
fn get_and_get_mut() {
    let mut wheel = Wheel::new();
    let k = wheel.insert(9, String::from("a"));
    wheel.get_mut(k).unwrap().push('b');
    assert_eq!(wheel.get(k).map(String::as_str), Some("ab"));
    assert_eq!(fire_all(&mut wheel, 9), ["ab"]);
    assert!(wheel.get(k).is_none());
}

#[test]
fn panicking_callback_leaves_the_rest_pending() {
    let mut wheel = Wheel::new();
    for i in 0..5 {
        wheel.insert(10, i);
    }
    wheel.insert(20, 5);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wheel.advance(30, |_, v| assert_ne!(v, 2));
    }));
    assert!(result.is_err());
    check(&wheel);
    assert_eq!(wheel.len(), 3);
    assert_eq!(fire_all(&mut wheel, 30), [3, 4, 5]);
}

#[test]
fn drops_pending_values() {
    use std::rc::Rc;
    let token = Rc::new(());
    let mut wheel = Wheel::new();
    for d in [0, 50, 5_000, 1 << 40] {
        wheel.insert(d, Rc::clone(&token));
    }
    fire_all(&mut wheel, 10);
    assert_eq!(Rc::strong_count(&token), 4);
    drop(wheel);
    assert_eq!(Rc::strong_count(&token), 1);
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random operations against a sorted model, checking the internal
/// invariants after each one (the proptest model in `tests/model.rs` only
/// sees the public API).
#[test]
fn random_against_model_with_invariants() {
    let mut rng = Rng(0x5EED);
    for _ in 0..40 {
        let mut wheel = Wheel::new();
        let mut model: BTreeMap<(u64, u64), (TimerKey, u64)> = BTreeMap::new();
        let mut by_key: BTreeMap<u64, (u64, u64)> = BTreeMap::new(); // value -> (deadline, seq)
        let mut keys: Vec<(TimerKey, u64)> = Vec::new();
        let mut seq = 0u64;
        let mut value = 0u64;
        for _ in 0..400 {
            let now = wheel.now();
            let deadline = |rng: &mut Rng| match rng.below(6) {
                0 => now.saturating_add(rng.below(200)),
                1 => now.saturating_add(rng.below(100_000)),
                2 => now.saturating_add(rng.below(1 << 40)),
                3 => now.saturating_sub(rng.below(1_000) + 1),
                4 => now.saturating_add(1 << (6 * rng.below(7))),
                _ => now.saturating_add(rng.below(5_000_000)),
            };
            match rng.below(10) {
                0..=3 => {
                    let d = deadline(&mut rng);
                    let key = wheel.insert(d, value);
                    model.insert((d, seq), (key, value));
                    by_key.insert(value, (d, seq));
                    keys.push((key, value));
                    seq += 1;
                    value += 1;
                }
                4 if !keys.is_empty() => {
                    let (key, v) = keys[rng.below(keys.len() as u64) as usize];
                    let expected = by_key.remove(&v).map(|ds| {
                        model.remove(&ds);
                        v
                    });
                    assert_eq!(wheel.cancel(key), expected);
                }
                5 if !keys.is_empty() => {
                    let (key, v) = keys[rng.below(keys.len() as u64) as usize];
                    let d = deadline(&mut rng);
                    let pending = by_key.contains_key(&v);
                    assert_eq!(wheel.reset(key, d), pending);
                    if pending {
                        let old = by_key.insert(v, (d, seq)).unwrap();
                        model.remove(&old);
                        model.insert((d, seq), (key, v));
                        seq += 1;
                    }
                }
                _ => {
                    let to = match rng.below(5) {
                        0 => now.saturating_add(rng.below(100)),
                        1 => now.saturating_add(rng.below(100_000)),
                        2 => now.saturating_add(rng.below(1 << 41)),
                        3 => now.saturating_sub(rng.below(50)),
                        _ => model.keys().next().map_or(now, |&(d, _)| d.max(now)),
                    };
                    let mut fired = Vec::new();
                    wheel.advance(to, |k, v| fired.push((k, v)));
                    let mut expected = Vec::new();
                    if to >= now {
                        while let Some(entry) = model.first_entry() {
                            if entry.key().0 > to {
                                break;
                            }
                            let (key, v) = entry.remove();
                            by_key.remove(&v);
                            expected.push((key, v));
                        }
                    }
                    assert_eq!(fired, expected);
                    assert_eq!(wheel.now(), now.max(to));
                }
            }
            check(&wheel);
            assert_eq!(wheel.len(), model.len());
            assert_eq!(wheel.next_deadline(), model.keys().next().map(|&(d, _)| d));
        }
    }
}

/// An entry holding a waker is 40 bytes: memory per sleeping task is a
/// benchmark target, and the wheel entry is part of it.
#[test]
fn an_entry_holding_a_waker_is_40_bytes() {
    assert_eq!(std::mem::size_of::<super::Entry<std::task::Waker>>(), 40);
}
