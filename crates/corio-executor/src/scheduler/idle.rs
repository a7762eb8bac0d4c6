//! Idle and searching accounting: who may be woken, and when.
//!
//! One atomic word counts the workers that are *unparked* (awake) and,
//! among them, the ones *searching* for work (stealing). A mutex-protected
//! list holds the parked workers. The rules:
//!
//! * **Wake at most one, and only when useful.** After making work
//!   available, a thread calls [`Idle::worker_to_notify`]. It picks a parked
//!   worker only if no worker is searching (a searcher will find the work)
//!   and some worker is parked. The chosen worker is counted as unparked and
//!   searching *before* it wakes, so a burst of spawns wakes one worker, not
//!   a herd.
//! * **Bounded searching.** At most half the workers search at once
//!   ([`Idle::transition_worker_to_searching`]).
//! * **The last searcher re-checks.** A notifier skips the wakeup when it
//!   sees a searcher. If that searcher then gives up and parks, it is the
//!   *last* searcher, and must look at every queue once more after it stops
//!   counting as searching ([`Idle::transition_worker_to_parked`] returns
//!   true). The notifier's check comes after its push, so either it sees no
//!   searcher and wakes someone, or the last searcher sees the work. Both
//!   sides put a `SeqCst` fence between their write and their read (the
//!   store-buffering pattern).
//! * **A searcher that finds work wakes a successor** if it was the last
//!   searcher, so work keeps spreading.
//! * A worker that returns from parking calls
//!   [`Idle::transition_worker_from_parked`]: if it is still in the parked
//!   list it was not notified (a timeout, a direct unpark for its `!Send`
//!   tasks, a spurious wakeup) and it removes itself, counted as unparked
//!   but not searching.
//! * Worker 0 is the thread that calls `run`; while no `run` is active it is
//!   *absent*: neither unparked nor in the parked list.

use crate::sync::{fence, AtomicUsize, Mutex, Ordering::SeqCst};

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;
const UNPARK_ONE: usize = 1 << UNPARK_SHIFT;

/// The idle/searching bookkeeping of one runtime.
#[derive(Debug)]
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
impl Idle {
    /// Bookkeeping for `num_workers` workers, of which `unparked` start
    /// awake and not searching.
    pub fn new(num_workers: usize, unparked: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(unparked << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn should_notify(&self) -> bool {
        // The fence orders the caller's push before this read, against the
        // last searcher's fence between its counter update and its re-check
        // of the queues (`Shared::notify_if_work_pending`): of the two, at
        // least one sees the other's write. A fence and a load rather than a
        // `fetch_add(0)`, so that busy workers pushing tasks do not take the
        // counter's cache line exclusively on every push.
        fence(SeqCst);
        let s = self.state.load(SeqCst);
        s & SEARCH_MASK == 0 && (s >> UNPARK_SHIFT) < self.num_workers
    }

    /// Picks a parked worker to wake after new work was made available, and
    /// counts it as unparked and searching. `None`: nobody needs waking.
    pub fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_notify() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.should_notify() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add(UNPARK_ONE | 1, SeqCst);
        Some(worker)
    }

    /// A worker out of local work wants to steal. Refused (false) when half
    /// the workers already search.
    pub fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * (s & SEARCH_MASK) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searching worker found work. True if it was the last searcher (it
    /// should then wake another worker).
    pub fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(prev & SEARCH_MASK > 0);
        prev & SEARCH_MASK == 1
    }

    /// A worker goes to sleep. True if it was the last searcher (it must
    /// then re-check every queue for work).
    pub fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = UNPARK_ONE | usize::from(is_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && prev & SEARCH_MASK == 1
    }

    /// A worker returned from parking. True if a notifier woke it (it is
    /// now counted as searching); false if it woke for another reason and
    /// took itself off the parked list.
    pub fn transition_worker_from_parked(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(UNPARK_ONE, SeqCst);
                false
            }
            None => true,
        }
    }

    /// Worker 0 arrives (a `run` call starts).
    pub fn worker_enter(&self) {
        self.state.fetch_add(UNPARK_ONE, SeqCst);
    }

    /// Worker 0 leaves (its `run` call returns). True if it was the last
    /// searcher.
    pub fn worker_exit(&self, is_searching: bool) -> bool {
        let prev = self
            .state
            .fetch_sub(UNPARK_ONE | usize::from(is_searching), SeqCst);
        is_searching && prev & SEARCH_MASK == 1
    }

    /// Workers currently searching (for the unit tests).
    #[cfg(test)]
    pub fn num_searching(&self) -> usize {
        self.state.load(SeqCst) & SEARCH_MASK
    }

    /// Workers currently awake (for the unit tests).
    #[cfg(test)]
    pub fn num_unparked(&self) -> usize {
        self.state.load(SeqCst) >> UNPARK_SHIFT
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_searcher_suppresses_further_wakeups() {
        // Workers 1..=3 awake, worker 0 absent (no `run` call).
        let idle = Idle::new(4, 3);
        idle.transition_worker_to_parked(1, false);
        idle.transition_worker_to_parked(2, false);
        assert_eq!(idle.num_unparked(), 1);
        assert_eq!(idle.worker_to_notify(), Some(2));
        // 2 is now searching: no more wakeups until it finds work.
        assert_eq!(idle.worker_to_notify(), None);
        assert!(idle.transition_worker_from_searching());
        assert_eq!(idle.worker_to_notify(), Some(1));
    }

    #[test]
    fn last_searcher_to_park_is_told_to_recheck() {
        let idle = Idle::new(2, 2);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_parked(0, true));
        assert!(!idle.transition_worker_to_parked(1, false));
    }

    #[test]
    fn searching_is_bounded_to_half_the_workers() {
        let idle = Idle::new(4, 4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
    }

    #[test]
    fn woken_without_notification_removes_itself() {
        let idle = Idle::new(2, 2);
        idle.transition_worker_to_parked(1, false);
        assert!(!idle.transition_worker_from_parked(1));
        assert_eq!(idle.num_unparked(), 2);
        idle.transition_worker_to_parked(1, false);
        assert_eq!(idle.worker_to_notify(), Some(1));
        assert!(idle.transition_worker_from_parked(1));
        assert_eq!(idle.num_searching(), 1);
    }
}
