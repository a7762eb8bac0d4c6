//! The task state word: lifecycle bits and the reference count in one
//! `AtomicUsize`.
//!
//! | bit | name            | set by                                  | cleared by |
//! |-----|-----------------|-----------------------------------------|------------|
//! | 0   | `RUNNING`       | the thread that polls or shuts the task down | `transition_to_idle`, `transition_to_complete` |
//! | 1   | `COMPLETE`      | `transition_to_complete` (once, forever) | never |
//! | 2   | `NOTIFIED`      | a wake, an abort, a spawn               | `transition_to_running` |
//! | 3   | `JOIN_INTEREST` | spawn (a `Task` handle exists)           | dropping the `Task` handle |
//! | 4   | `JOIN_WAKER`    | the handle, after writing the join-waker slot | the handle, before rewriting it |
//! | 5   | `ABORTED`       | `abort()`, runtime shutdown              | never |
//! | 6   | `CANCEL_REQUESTED` | `cancel()` (extras lock held)      | its delivery at an await point (extras lock held) |
//! | 7   | `CANCEL_SEEN`   | `cancel()`, with `CANCEL_REQUESTED` (sticky) | never |
//! | 8   | `POLLED`        | the first `transition_to_running`        | never |
//! | 9   | `CANCELLED`     | completion, when the outcome is a cancellation (with `COMPLETE`) | never |
//! | 10  | `PANICKED`      | the runner, just before completing with a panic | never |
//! | 11  | `CALLBACKS`     | `add_done_callback` and internal completion hooks (extras lock held), while not `COMPLETE` (sticky) | never |
//! | 12.. | reference count | each `Waker`, `Task`, `TaskRef`, queued `Notified`, the registry | their drops |
//!
//! Invariants:
//!
//! * **One runner.** Only the thread that moved the word into `RUNNING`
//!   touches the future. `RUNNING` and `COMPLETE` are never both set.
//! * **One queued notification.** While `NOTIFIED` is set and `RUNNING` is
//!   not, exactly one `Notified` reference to the task sits in a run queue
//!   (or is being handed to one). A wake that finds `NOTIFIED` already set
//!   does nothing; a wake while `RUNNING` only sets `NOTIFIED` and the
//!   polling thread requeues the task when the poll returns.
//! * **Output ownership.** After `COMPLETE` the output belongs to the `Task`
//!   handle if `JOIN_INTEREST` was set at completion, otherwise the
//!   completing thread drops it. The handle clears `JOIN_INTEREST` only while
//!   `COMPLETE` is unset (a CAS), so exactly one side drops the output.
//! * **Join waker slot.** While `JOIN_WAKER` is unset the handle owns the
//!   slot and may write it; while it is set (or once `COMPLETE` is set with
//!   it) the runtime side may read it and the handle must not write it.
//! * **Lifetime.** The allocation is freed by whoever drops the count to
//!   zero. The registry's reference is held until completion, so a task is
//!   never freed with a live future.
//! * **Cancellation** (asyncio's, see `cancel.rs`). `CANCEL_REQUESTED` and
//!   `CANCEL_SEEN` change only with the task's extras lock held, where the
//!   request count, deliveries and suppressions are kept. Completion takes a
//!   fast path (one CAS that fails if `CANCEL_SEEN` is set) or, once a
//!   cancellation was ever requested, decides the outcome under that lock,
//!   so `cancel()` and completion are linearizable: either `cancel()` sees
//!   `COMPLETE` and returns false, or the completing thread sees the request.
//! * **Done callbacks.** A callback is pushed into the extras first, then
//!   `CALLBACKS` is set by a CAS that fails once `COMPLETE` is set (both
//!   under the extras lock). So either the completing thread's snapshot
//!   shows `CALLBACKS` and it takes the callbacks (under the same lock), or
//!   the adder sees `COMPLETE` and schedules them itself: none is lost, none
//!   runs twice.
//!
//! Every transition below is one atomic read-modify-write.

use crate::sync::{AtomicUsize, Ordering::*};

const RUNNING: usize = 1 << 0;
const COMPLETE: usize = 1 << 1;
const NOTIFIED: usize = 1 << 2;
const JOIN_INTEREST: usize = 1 << 3;
const JOIN_WAKER: usize = 1 << 4;
const ABORTED: usize = 1 << 5;
const CANCEL_REQUESTED: usize = 1 << 6;
const CANCEL_SEEN: usize = 1 << 7;
const POLLED: usize = 1 << 8;
const CANCELLED: usize = 1 << 9;
const PANICKED: usize = 1 << 10;
const CALLBACKS: usize = 1 << 11;

const REF_SHIFT: usize = 12;
const REF_ONE: usize = 1 << REF_SHIFT;

/// Initial state: one queued notification, a `Task` handle, and three
/// references (the handle, the queued `Notified`, the registry).
const INITIAL: usize = NOTIFIED | JOIN_INTEREST | (3 * REF_ONE);

/// The atomic state word of a task.
pub(crate) struct State(AtomicUsize);

/// A copy of the state word at one instant.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

/// Outcome of [`State::transition_to_running_cancel`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// The caller now owns the future and must poll it.
    Poll,
    /// The task was aborted: the caller owns the future and must drop it.
    Abort,
    /// The task is being polled for the first time with a cancellation
    /// request pending: the caller owns the future and must complete the
    /// task as cancelled without polling it (its body never runs).
    CancelBeforeStart,
    /// The task is already running or complete: drop the notification.
    Skip,
}

/// Outcome of [`State::transition_to_idle`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Idle; the runner's reference was released.
    Idle,
    /// Idle; the runner's reference was released and it was the last one.
    IdleDealloc,
    /// Woken during the poll: the runner's reference becomes a new
    /// `Notified` that the caller must requeue.
    Notified,
    /// Aborted during the poll: the caller still runs the task and must drop
    /// the future.
    Abort,
}

/// What a wake asks of the caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakeAction {
    /// Nothing to do.
    Nothing,
    /// Push a `Notified` to a run queue (a reference was created for it).
    Submit,
    /// The last reference was dropped: free the task.
    Dealloc,
}

impl Default for State {
    fn default() -> State {
        State::new()
    }
}

impl State {
    /// The state of a freshly spawned task.
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(INITIAL))
    }

    /// Reads the state word.
    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    #[inline]
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (R, Option<Snapshot>)) -> R {
        let mut curr = self.0.load(Acquire);
        loop {
            let (ret, next) = f(Snapshot(curr));
            let Some(next) = next else { return ret };
            match self.0.compare_exchange_weak(curr, next.0, AcqRel, Acquire) {
                Ok(_) => return ret,
                Err(actual) => curr = actual,
            }
        }
    }

    /// A scheduler took the task's `Notified` out of a queue and wants to
    /// run it. Clears `NOTIFIED`, sets `RUNNING`. (The unit tests' short
    /// form of `transition_to_running_cancel`.)
    #[cfg(test)]
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.transition_to_running_cancel().0
    }

    /// The transition to running (`Idle` → `Running`, or to abort), also
    /// saying whether a cancellation request was pending as the task started
    /// running (the hint for `poll_cancelled`), from the same CAS.
    pub(crate) fn transition_to_running_cancel(&self) -> (ToRunning, bool) {
        let mut requested = false;
        let to = self.update(|s| {
            requested = s.is_cancel_requested();
            if s.is_running() || s.is_complete() {
                return (ToRunning::Skip, None);
            }
            let next = Snapshot((s.0 | RUNNING | POLLED) & !NOTIFIED);
            if s.is_aborted() {
                (ToRunning::Abort, Some(next))
            } else if s.is_cancel_requested() && s.0 & POLLED == 0 {
                (ToRunning::CancelBeforeStart, Some(next))
            } else {
                (ToRunning::Poll, Some(next))
            }
        });
        (to, requested)
    }

    /// The poll returned `Pending`. Clears `RUNNING`; keeps the runner's
    /// reference as a new notification if the task was woken meanwhile,
    /// releases it otherwise.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.update(|s| {
            debug_assert!(s.is_running());
            if s.is_aborted() {
                return (ToIdle::Abort, None);
            }
            let mut next = s.0 & !RUNNING;
            if s.is_notified() {
                return (ToIdle::Notified, Some(Snapshot(next)));
            }
            debug_assert!(s.ref_count() > 0);
            next -= REF_ONE;
            if next < REF_ONE {
                (ToIdle::IdleDealloc, Some(Snapshot(next)))
            } else {
                (ToIdle::Idle, Some(Snapshot(next)))
            }
        })
    }

    /// The future finished (or was dropped). Clears `RUNNING`, sets
    /// `COMPLETE` (and `CANCELLED` if `cancelled`), and returns the word as
    /// it was just before.
    ///
    /// `fast`: fail, changing nothing, if a cancellation was ever requested;
    /// the caller then decides the outcome with the extras lock held and
    /// calls again with `fast` false. Without `fast` it always succeeds.
    pub(crate) fn transition_to_complete(
        &self,
        cancelled: bool,
        fast: bool,
    ) -> Result<Snapshot, ()> {
        self.update(|s| {
            debug_assert!(s.is_running() && !s.is_complete());
            if fast && s.0 & CANCEL_SEEN != 0 {
                return (Err(()), None);
            }
            let mut next = (s.0 & !RUNNING) | COMPLETE;
            if cancelled {
                next |= CANCELLED;
            }
            (Ok(s), Some(Snapshot(next)))
        })
    }

    /// `cancel()`, with the task's extras lock held: sets `CANCEL_REQUESTED`
    /// and `CANCEL_SEEN` and wakes the task like `wake_by_ref` (so it reaches
    /// an await point where the request is delivered). Fails if the task is
    /// complete.
    pub(crate) fn request_cancel(&self) -> Result<WakeAction, ()> {
        self.update(|s| {
            if s.is_complete() {
                return (Err(()), None);
            }
            let flags = s.0 | CANCEL_REQUESTED | CANCEL_SEEN;
            if s.is_notified() {
                (Ok(WakeAction::Nothing), Some(Snapshot(flags)))
            } else if s.is_running() {
                (Ok(WakeAction::Nothing), Some(Snapshot(flags | NOTIFIED)))
            } else {
                check_overflow(s);
                (
                    Ok(WakeAction::Submit),
                    Some(Snapshot((flags | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// The runner is about to complete the task with a panic (readers look
    /// only after `COMPLETE`, which this precedes).
    pub(crate) fn mark_panicked(&self) {
        self.0.fetch_or(PANICKED, Release);
    }

    /// A completion callback was pushed into the extras (extras lock held):
    /// sets `CALLBACKS` so the completing thread looks for it. Fails if the
    /// task is already complete: the caller then runs it (see the
    /// invariants).
    pub(crate) fn set_callbacks(&self) -> Result<(), ()> {
        self.update(|s| {
            if s.is_complete() {
                (Err(()), None)
            } else if s.0 & CALLBACKS != 0 {
                (Ok(()), None)
            } else {
                (Ok(()), Some(Snapshot(s.0 | CALLBACKS)))
            }
        })
    }

    /// The pending request was delivered (extras lock held).
    pub(crate) fn clear_cancel_requested(&self) {
        self.0.fetch_and(!CANCEL_REQUESTED, AcqRel);
    }

    /// Runtime shutdown wants to drop the future. Sets `ABORTED`; if the
    /// task is idle, also claims `RUNNING` and returns true: the caller then
    /// owns the future.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|s| {
            let mut next = s.0 | ABORTED;
            let claim = !s.is_running() && !s.is_complete();
            if claim {
                next |= RUNNING;
            }
            (claim, Some(Snapshot(next)))
        })
    }

    /// A waker is consumed by `wake`. Its reference either becomes the
    /// queued notification or is released.
    pub(crate) fn wake_by_val(&self) -> WakeAction {
        self.update(|s| {
            if s.is_running() {
                // The runner requeues it; release our reference (never the
                // last: the runner holds one).
                (
                    WakeAction::Nothing,
                    Some(Snapshot((s.0 | NOTIFIED) - REF_ONE)),
                )
            } else if s.is_complete() || s.is_notified() {
                let next = s.0 - REF_ONE;
                if next < REF_ONE {
                    (WakeAction::Dealloc, Some(Snapshot(next)))
                } else {
                    (WakeAction::Nothing, Some(Snapshot(next)))
                }
            } else {
                (WakeAction::Submit, Some(Snapshot(s.0 | NOTIFIED)))
            }
        })
    }

    /// `wake_by_ref`: like [`State::wake_by_val`], but a submitted
    /// notification takes a new reference.
    pub(crate) fn wake_by_ref(&self) -> WakeAction {
        self.update(|s| {
            if s.is_complete() || s.is_notified() {
                (WakeAction::Nothing, None)
            } else if s.is_running() {
                (WakeAction::Nothing, Some(Snapshot(s.0 | NOTIFIED)))
            } else {
                check_overflow(s);
                (
                    WakeAction::Submit,
                    Some(Snapshot((s.0 | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// `abort()`: sets `ABORTED`. Returns `Submit` when the task was idle, in
    /// which case a new reference was taken for the notification the caller
    /// must queue so that a worker drops the future.
    pub(crate) fn abort(&self) -> WakeAction {
        self.update(|s| {
            if s.is_complete() || s.is_aborted() {
                (WakeAction::Nothing, None)
            } else if s.is_running() || s.is_notified() {
                (WakeAction::Nothing, Some(Snapshot(s.0 | ABORTED)))
            } else {
                check_overflow(s);
                (
                    WakeAction::Submit,
                    Some(Snapshot((s.0 | ABORTED | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// The handle registered its waker in the slot. Fails (returning the
    /// word) if the task completed first.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is_join_interested() && !s.has_join_waker());
            if s.is_complete() {
                (Err(s), None)
            } else {
                (Ok(()), Some(Snapshot(s.0 | JOIN_WAKER)))
            }
        })
    }

    /// The handle takes the slot back to write another waker. Fails
    /// (returning the word) if the task completed first.
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is_join_interested() && s.has_join_waker());
            if s.is_complete() {
                (Err(s), None)
            } else {
                (Ok(()), Some(Snapshot(s.0 & !JOIN_WAKER)))
            }
        })
    }

    /// The `Task` handle is dropped before completion: clears
    /// `JOIN_INTEREST` and `JOIN_WAKER` (the handle then owns the slot).
    /// Fails if the task completed first, in which case the handle owns the
    /// output and must drop it.
    pub(crate) fn drop_join_interest(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.is_join_interested());
            if s.is_complete() {
                (Err(s), None)
            } else {
                (Ok(s), Some(Snapshot(s.0 & !(JOIN_INTEREST | JOIN_WAKER))))
            }
        })
    }

    /// Takes one more reference.
    #[inline]
    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Releases one reference; true if it was the last.
    #[inline]
    pub(crate) fn ref_dec(&self) -> bool {
        self.ref_dec_n(1)
    }

    /// Releases `n` references; true if they were the last.
    #[inline]
    pub(crate) fn ref_dec_n(&self, n: usize) -> bool {
        let prev = Snapshot(self.0.fetch_sub(n * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= n);
        prev.ref_count() == n
    }
}

#[inline]
fn check_overflow(s: Snapshot) {
    if s.0 > isize::MAX as usize {
        std::process::abort();
    }
}

impl Snapshot {
    /// Being polled (or shut down) right now.
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    /// The future is finished or dropped; the outcome is stored.
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    /// A notification is queued or pending.
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    /// A `Task` handle exists.
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    /// The join-waker slot holds the handle's waker.
    pub(crate) fn has_join_waker(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    /// `abort()` or shutdown was requested.
    pub(crate) fn is_aborted(self) -> bool {
        self.0 & ABORTED != 0
    }
    /// A soft cancellation request is pending (not yet delivered).
    pub(crate) fn is_cancel_requested(self) -> bool {
        self.0 & CANCEL_REQUESTED != 0
    }
    /// `cancel()` was called at least once.
    pub(crate) fn is_cancel_seen(self) -> bool {
        self.0 & CANCEL_SEEN != 0
    }
    /// The task completed as cancelled (or aborted).
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    /// The task completed with a panic.
    pub(crate) fn is_panicked(self) -> bool {
        self.0 & PANICKED != 0
    }
    /// Completion callbacks were registered before completion.
    pub(crate) fn has_callbacks(self) -> bool {
        self.0 & CALLBACKS != 0
    }
    /// The number of references.
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.has_join_waker())
            .field("aborted", &self.is_aborted())
            .field("cancel_requested", &self.is_cancel_requested())
            .field("cancelled", &self.is_cancelled())
            .field("refs", &self.ref_count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fresh_task_is_notified_with_three_references() {
        let s = State::new().load();
        assert!(s.is_notified() && s.is_join_interested());
        assert!(!s.is_running() && !s.is_complete());
        assert_eq!(s.ref_count(), 3);
    }

    #[test]
    fn wake_while_running_is_requeued_by_the_runner() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.wake_by_ref(), WakeAction::Nothing);
        assert_eq!(s.transition_to_idle(), ToIdle::Notified);
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_idle(), ToIdle::Idle);
        assert_eq!(s.load().ref_count(), 2);
    }

    #[test]
    fn second_wake_of_a_notified_task_does_nothing() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_idle(), ToIdle::Idle);
        assert_eq!(s.wake_by_ref(), WakeAction::Submit);
        assert_eq!(s.wake_by_ref(), WakeAction::Nothing);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn abort_of_an_idle_task_submits_it_and_running_drops_it() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_idle(), ToIdle::Idle);
        assert_eq!(s.abort(), WakeAction::Submit);
        assert_eq!(s.abort(), WakeAction::Nothing);
        assert_eq!(s.transition_to_running(), ToRunning::Abort);
    }

    #[test]
    fn abort_during_poll_is_seen_at_idle() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.abort(), WakeAction::Nothing);
        assert_eq!(s.transition_to_idle(), ToIdle::Abort);
    }

    #[test]
    fn join_handle_cannot_drop_interest_after_completion() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        let prev = s.transition_to_complete(false, true).unwrap();
        assert!(prev.is_join_interested());
        assert!(s.drop_join_interest().is_err());
        assert!(s.set_join_waker().is_err());
    }

    #[test]
    fn a_cancel_before_the_first_poll_is_seen_by_it_and_only_by_it() {
        let s = State::new();
        assert_eq!(s.request_cancel(), Ok(WakeAction::Nothing)); // notified
        assert_eq!(s.transition_to_running(), ToRunning::CancelBeforeStart);
        let t = State::new();
        assert_eq!(t.transition_to_running(), ToRunning::Poll);
        assert_eq!(t.transition_to_idle(), ToIdle::Idle);
        assert_eq!(t.request_cancel(), Ok(WakeAction::Submit));
        assert_eq!(t.transition_to_running(), ToRunning::Poll);
    }

    #[test]
    fn cancel_of_a_complete_task_fails_and_completion_after_cancel_takes_the_slow_path() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.request_cancel(), Ok(WakeAction::Nothing));
        assert!(s.load().is_notified(), "a cancel while running requeues");
        assert_eq!(s.transition_to_complete(false, true), Err(()));
        let prev = s.transition_to_complete(true, false).unwrap();
        assert!(prev.is_cancel_requested());
        assert!(s.load().is_cancelled() && s.load().is_complete());
        assert_eq!(s.request_cancel(), Err(()));
    }

    #[test]
    fn callbacks_can_be_flagged_until_completion_only() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.set_callbacks(), Ok(()));
        let prev = s.transition_to_complete(false, true).unwrap();
        assert!(prev.has_callbacks());
        assert_eq!(s.set_callbacks(), Err(()));
    }

    #[test]
    fn shutdown_claims_only_idle_tasks() {
        let s = State::new();
        assert!(s.transition_to_shutdown());
        let t = State::new();
        assert_eq!(t.transition_to_running(), ToRunning::Poll);
        assert!(!t.transition_to_shutdown());
        assert_eq!(t.transition_to_idle(), ToIdle::Abort);
    }
}
