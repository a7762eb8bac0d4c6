//! `Barrier`: asyncio's `Barrier` (3.11+).
//!
//! One mutex holds the count of tasks in the barrier, its phase and the
//! wait list. The phases are asyncio's: *filling* (tasks arrive and wait),
//! *draining* (the last one arrived: everybody leaves, newcomers wait for
//! the drain to end), *resetting* (`reset()` while tasks wait: they leave
//! with `BrokenBarrierError`, newcomers wait) and *broken* (`abort()`:
//! everybody gets `BrokenBarrierError` until `reset()`). Every phase change
//! notifies every waiter, which re-checks the phase under the mutex; a task
//! leaving the barrier (returning, failing, cancelled or dropped) lowers
//! the count, and the last one out of a drain or a reset opens the barrier
//! for the next round.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use corio_executor::sync::Mutex;
use corio_executor::Cancelled;

use super::waiters::{wake_all, Key, WaitList};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Filling,
    Draining,
    Resetting,
    Broken,
}

#[derive(Debug)]
struct State {
    count: usize,
    phase: Phase,
    waiters: WaitList,
    /// Arrival tickets: `next_ticket` is the next arrival's; the current
    /// round's arrivals have tickets from `round_start` on.
    next_ticket: u64,
    round_start: u64,
    /// Tickets of this round's tasks that left while it filled.
    departed: Vec<u64>,
}

impl State {
    /// A task leaves the barrier (asyncio's `finally: count -= 1; _exit()`).
    fn exit(&mut self) -> Vec<Waker> {
        self.count -= 1;
        if self.count == 0 {
            if matches!(self.phase, Phase::Draining | Phase::Resetting) {
                self.phase = Phase::Filling;
            }
            self.new_round();
            return self.waiters.notify_all();
        }
        Vec::new()
    }

    /// Nobody is in the barrier: the next arrival is the first of a round.
    fn new_round(&mut self) {
        self.round_start = self.next_ticket;
        self.departed.clear();
    }

    /// The index of the task with `ticket` among those of its round still
    /// in the barrier, in arrival order.
    fn index(&self, ticket: u64) -> usize {
        let before = (ticket - self.round_start) as usize;
        before - self.departed.iter().filter(|&&d| d < ticket).count()
    }
}

/// A barrier for a fixed number of tasks (asyncio's `Barrier`):
/// [`wait`](Barrier::wait) blocks until `parties` tasks are waiting, then
/// releases them all together.
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let barrier = Arc::new(corio::sync::Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             async move { b.wait().await.unwrap() }
///         })
///         .collect();
///     let mut indices = corio::gather(tasks).await.unwrap();
///     indices.sort();
///     assert_eq!(indices, [0, 1, 2]); // one index per task, in arrival order
/// });
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    ///
    /// If `parties` is 0 (asyncio: `ValueError`).
    ///
    /// ```
    /// assert_eq!(corio::sync::Barrier::new(2).parties(), 2);
    /// ```
    pub fn new(parties: usize) -> Barrier {
        assert!(
            parties > 0,
            "corio::sync::Barrier::new(0): a barrier needs at least one party"
        );
        Barrier {
            parties,
            state: Mutex::new(State {
                count: 0,
                phase: Phase::Filling,
                waiters: WaitList::new(),
                next_ticket: 0,
                round_start: 0,
                departed: Vec::new(),
            }),
        }
    }

    /// Waits until `parties` tasks wait, and returns this task's index
    /// (0 to `parties - 1`, in arrival order among the tasks that pass
    /// together; the last to arrive does not wait). A cancellation point: a
    /// task cancelled while it waits leaves the count, and the barrier is
    /// not broken.
    ///
    /// # Errors
    ///
    /// [`BarrierError::Broken`] if the barrier is aborted or reset while
    /// this task waits, or is broken when it arrives;
    /// [`BarrierError::Cancelled`] if the task is cancelled.
    ///
    /// ```
    /// corio::run(async {
    ///     let barrier = corio::sync::Barrier::new(1);
    ///     assert_eq!(barrier.wait().await.unwrap(), 0);
    /// });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            ticket: None,
            key: None,
            done: false,
        }
    }

    /// Puts the barrier back to its empty state; tasks waiting in it get
    /// [`BarrierError::Broken`] (asyncio's `reset()`). Also mends a broken
    /// barrier.
    ///
    /// ```
    /// let barrier = corio::sync::Barrier::new(2);
    /// barrier.abort();
    /// barrier.reset();
    /// assert!(!barrier.broken());
    /// ```
    pub fn reset(&self) {
        let mut st = self.state.lock();
        if st.count > 0 {
            st.phase = Phase::Resetting;
        } else {
            st.phase = Phase::Filling;
            st.new_round();
        }
        let wakers = st.waiters.notify_all();
        drop(st);
        wake_all(wakers);
    }

    /// Breaks the barrier: every task waiting in it, and every later
    /// [`wait`](Self::wait) until [`reset`](Self::reset), gets
    /// [`BarrierError::Broken`] (asyncio's `abort()`).
    ///
    /// ```
    /// corio::run(async {
    ///     let barrier = corio::sync::Barrier::new(2);
    ///     barrier.abort();
    ///     assert!(barrier.broken());
    ///     assert!(matches!(barrier.wait().await, Err(corio::sync::BarrierError::Broken)));
    /// });
    /// ```
    pub fn abort(&self) {
        let mut st = self.state.lock();
        st.phase = Phase::Broken;
        let wakers = st.waiters.notify_all();
        drop(st);
        wake_all(wakers);
    }

    /// Whether the barrier is broken.
    ///
    /// ```
    /// assert!(!corio::sync::Barrier::new(1).broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.state.lock().phase == Phase::Broken
    }

    /// How many tasks wait in the barrier while it fills.
    ///
    /// ```
    /// assert_eq!(corio::sync::Barrier::new(3).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        let st = self.state.lock();
        if st.phase == Phase::Filling {
            st.count
        } else {
            0
        }
    }

    /// How many tasks must wait for the barrier to open.
    ///
    /// ```
    /// assert_eq!(corio::sync::Barrier::new(4).parties(), 4);
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock();
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("count", &st.count)
            .field("phase", &st.phase)
            .finish()
    }
}

/// The future of [`Barrier::wait`].
///
/// ```
/// corio::run(async {
///     let b = corio::sync::Barrier::new(1);
///     let wait: corio::sync::BarrierWait<'_> = b.wait();
///     assert_eq!(wait.await.unwrap(), 0);
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    /// Set once this task is counted in the barrier.
    ticket: Option<u64>,
    key: Option<Key>,
    done: bool,
}

impl BarrierWait<'_> {
    /// Makes sure this waiter is linked, with `cx`'s waker.
    fn park(&mut self, st: &mut State, cx: &Context<'_>) {
        if let Some(key) = self.key {
            if !st.waiters.poll_notified(key, cx.waker()) {
                return;
            }
        }
        self.key = Some(st.waiters.push_back(cx.waker(), 0));
    }

    fn unlink(&mut self, st: &mut State) {
        if let Some(key) = self.key.take() {
            st.waiters.remove(key);
        }
    }

    /// Leaves the barrier (cancelled, dropped, or done).
    fn leave(&mut self) -> Vec<Waker> {
        let mut st = self.barrier.state.lock();
        self.unlink(&mut st);
        self.done = true;
        if let Some(ticket) = self.ticket.take() {
            if st.phase == Phase::Filling {
                // Leaving a filling barrier: later arrivals move up.
                st.departed.push(ticket);
            }
            st.exit()
        } else {
            Vec::new()
        }
    }
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BarrierError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(
            !self.done,
            "corio::sync: Barrier::wait polled after it completed"
        );
        if let Some(c) = corio_executor::poll_cancelled() {
            wake_all(self.leave());
            return Poll::Ready(Err(BarrierError::Cancelled(c)));
        }
        std::task::ready!(corio_executor::hooks::poll_proceed(cx));
        let barrier = self.barrier;
        let mut st = barrier.state.lock();
        let ticket = match self.ticket {
            None => {
                // Blocked while the barrier drains or resets.
                match st.phase {
                    Phase::Draining | Phase::Resetting => {
                        self.park(&mut st, cx);
                        return crate::track(Poll::Pending);
                    }
                    Phase::Broken => {
                        self.unlink(&mut st);
                        self.done = true;
                        return Poll::Ready(Err(BarrierError::Broken));
                    }
                    Phase::Filling => {}
                }
                self.unlink(&mut st);
                let ticket = st.next_ticket;
                st.next_ticket += 1;
                st.count += 1;
                self.ticket = Some(ticket);
                if st.count == barrier.parties {
                    // The last to arrive opens the barrier.
                    st.phase = Phase::Draining;
                    let index = st.index(ticket);
                    let mut wakers = st.waiters.notify_all();
                    self.ticket = None;
                    self.done = true;
                    wakers.extend(st.exit());
                    drop(st);
                    wake_all(wakers);
                    return Poll::Ready(Ok(index));
                }
                ticket
            }
            Some(ticket) => ticket,
        };
        let out = match st.phase {
            Phase::Filling => {
                self.park(&mut st, cx);
                return crate::track(Poll::Pending);
            }
            Phase::Draining => Ok(st.index(ticket)),
            Phase::Resetting | Phase::Broken => Err(BarrierError::Broken),
        };
        self.unlink(&mut st);
        self.ticket = None;
        self.done = true;
        let wakers = st.exit();
        drop(st);
        wake_all(wakers);
        Poll::Ready(out)
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if !self.done {
            wake_all(self.leave());
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("ticket", &self.ticket)
            .finish_non_exhaustive()
    }
}

/// Why [`Barrier::wait`] did not pass the barrier.
///
/// ```
/// use corio::sync::{Barrier, BarrierError};
///
/// corio::run(async {
///     let b = Barrier::new(2);
///     b.abort();
///     assert!(matches!(b.wait().await, Err(BarrierError::Broken)));
/// });
/// ```
#[derive(Debug)]
pub enum BarrierError {
    /// The barrier was aborted or reset while the task waited, or was
    /// broken when it arrived (asyncio's `BrokenBarrierError`).
    Broken,
    /// The waiting task was cancelled; it left the barrier, which is not
    /// broken.
    Cancelled(Cancelled),
}

impl From<Cancelled> for BarrierError {
    fn from(c: Cancelled) -> BarrierError {
        BarrierError::Cancelled(c)
    }
}

impl fmt::Display for BarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierError::Broken => f.write_str(
                "BrokenBarrierError: the barrier was aborted or reset; call reset() before \
                 using it again",
            ),
            BarrierError::Cancelled(c) => write!(f, "Barrier::wait() was {c}"),
        }
    }
}

impl std::error::Error for BarrierError {}
