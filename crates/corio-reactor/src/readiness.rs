//! Per-source readiness: what the reactor learned about one registered
//! socket, and the tasks waiting to read or write it.
//!
//! # The readiness word
//!
//! One `AtomicUsize` per source:
//!
//! | bits   | meaning |
//! |--------|---------|
//! | 0      | `READABLE` |
//! | 1      | `WRITABLE` |
//! | 2      | `READ_CLOSED` (the peer shut its write half; reads see EOF) |
//! | 3      | `WRITE_CLOSED` (writes fail: reset, or our write half is shut) |
//! | 4      | `ERROR` |
//! | 5      | `SHUTDOWN`: deregistered, or the reactor is gone; every poll returns at once |
//! | 16..   | the *tick*: how many events were set, wrapping |
//!
//! Sources are registered edge-triggered, so the reactor only reports
//! *changes*. The word therefore accumulates them, and only the I/O side
//! clears them, when an operation finds the socket not ready after all
//! (`WouldBlock`).
//!
//! # Protocol
//!
//! * **Set** ([`ScheduledIo::set_readiness`], the thread that drains the
//!   reactor): OR the event's bits in and bump the tick, in one CAS; then
//!   take, under the waiter lock, the waker of each direction the event
//!   makes ready, and wake them outside it.
//! * **Poll** ([`ScheduledIo::poll_ready`], the task): if the word has a bit
//!   of the direction, return it with the tick it was read at. Otherwise
//!   store the waker under the waiter lock and read the word again, still
//!   under the lock. A set either changed the word before that second read
//!   (the poll sees it), or takes the lock after the poll released it (the
//!   set sees the waker): a wakeup is never lost.
//! * **Clear** ([`ScheduledIo::clear_readiness`], the task, after
//!   `WouldBlock`): remove the direction's readable/writable bit, but only
//!   if the tick is still the one the poll returned. A newer event bumped
//!   the tick, so a clear based on stale knowledge never erases it; the
//!   next poll returns at once and the operation is retried. The closed and
//!   error bits are never cleared: they are final.
//! * **Shutdown** ([`ScheduledIo::shutdown`]): sets `SHUTDOWN` and wakes
//!   everyone; polls return it from then on, so I/O on a deregistered
//!   source fails instead of hanging.
//!
//! Model: `loom-tests/tests/readiness.rs` (set vs poll vs clear vs waker
//! replacement).

use std::fmt;
use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicUsize, Mutex, Ordering};

const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
const READ_CLOSED: usize = 1 << 2;
const WRITE_CLOSED: usize = 1 << 3;
const ERROR: usize = 1 << 4;
const SHUTDOWN: usize = 1 << 5;
const READY_MASK: usize = READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | ERROR;

const TICK_SHIFT: usize = 16;
const TICK_MASK: usize = 0xFFFF << TICK_SHIFT;

/// A set of readiness flags, as an event reports them or a poll returns
/// them.
///
/// ```
/// use corio_reactor::Ready;
/// let r = Ready::READABLE | Ready::READ_CLOSED;
/// assert!(r.is_readable() && r.is_read_closed() && !r.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ready(usize);

impl Ready {
    /// Nothing.
    pub const EMPTY: Ready = Ready(0);
    /// Data (or a connection) can be read.
    pub const READABLE: Ready = Ready(READABLE);
    /// Data can be written.
    pub const WRITABLE: Ready = Ready(WRITABLE);
    /// The peer closed its write half: reads return end of file.
    pub const READ_CLOSED: Ready = Ready(READ_CLOSED);
    /// Writing is no longer possible (reset, or the write half is shut).
    pub const WRITE_CLOSED: Ready = Ready(WRITE_CLOSED);
    /// The socket has a pending error (`SO_ERROR`).
    pub const ERROR: Ready = Ready(ERROR);

    /// True if no flag is set.
    ///
    /// ```
    /// assert!(corio_reactor::Ready::EMPTY.is_empty());
    /// ```
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True if `READABLE` is set.
    ///
    /// ```
    /// assert!(corio_reactor::Ready::READABLE.is_readable());
    /// ```
    pub fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// True if `WRITABLE` is set.
    ///
    /// ```
    /// assert!(corio_reactor::Ready::WRITABLE.is_writable());
    /// ```
    pub fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// True if `READ_CLOSED` is set.
    ///
    /// ```
    /// assert!(corio_reactor::Ready::READ_CLOSED.is_read_closed());
    /// ```
    pub fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }

    /// True if `WRITE_CLOSED` is set.
    ///
    /// ```
    /// assert!(corio_reactor::Ready::WRITE_CLOSED.is_write_closed());
    /// ```
    pub fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }

    /// True if `ERROR` is set.
    ///
    /// ```
    /// assert!(corio_reactor::Ready::ERROR.is_error());
    /// ```
    pub fn is_error(self) -> bool {
        self.0 & ERROR != 0
    }
}

impl std::ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (READ_CLOSED, "READ_CLOSED"),
            (WRITE_CLOSED, "WRITE_CLOSED"),
            (ERROR, "ERROR"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        if set.is_empty() {
            f.write_str("Ready(EMPTY)")
        } else {
            write!(f, "Ready({})", set.join(" | "))
        }
    }
}

/// Which half of a source a task waits for.
///
/// ```
/// use corio_reactor::{Direction, Ready};
/// assert!(Direction::Read.matches(Ready::READ_CLOSED));
/// assert!(!Direction::Read.matches(Ready::WRITABLE));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Reading (or accepting).
    Read,
    /// Writing (or connecting).
    Write,
}

impl Direction {
    /// The flags that let an operation of this direction proceed (to
    /// succeed, or to fail with the socket's error).
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    /// The flag a `WouldBlock` in this direction clears.
    fn clearable(self) -> usize {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }

    /// Whether `ready` lets an operation of this direction proceed.
    ///
    /// ```
    /// use corio_reactor::{Direction, Ready};
    /// assert!(Direction::Write.matches(Ready::ERROR));
    /// ```
    pub fn matches(self, ready: Ready) -> bool {
        ready.0 & self.mask() != 0
    }
}

/// What [`ScheduledIo::poll_ready`] returns: the readiness it saw, and the
/// tick it saw it at (for [`ScheduledIo::clear_readiness`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    /// The flags of the polled direction that were set.
    pub ready: Ready,
    /// The source was deregistered (or its reactor is gone): the operation
    /// must fail, not wait.
    pub shutdown: bool,
    tick: usize,
    direction: Direction,
}

#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// The readiness of one registered source and the wakers of the tasks
/// waiting on it. The protocol (set, poll, clear, shutdown) is in the
/// crate source, `readiness.rs`, and in the [crate docs](crate).
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use corio_reactor::{Direction, Ready, ScheduledIo};
///
/// let io = ScheduledIo::new();
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(io.poll_ready(Direction::Read, &mut cx).is_pending());
/// io.set_readiness(Ready::READABLE);
/// let Poll::Ready(ev) = io.poll_ready(Direction::Read, &mut cx) else { panic!() };
/// assert!(ev.ready.is_readable());
/// io.clear_readiness(ev); // the read said WouldBlock
/// assert!(io.poll_ready(Direction::Read, &mut cx).is_pending());
/// ```
#[derive(Default)]
pub struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl ScheduledIo {
    /// A source with no readiness yet.
    ///
    /// ```
    /// let io = corio_reactor::ScheduledIo::new();
    /// # drop(io);
    /// ```
    pub fn new() -> ScheduledIo {
        ScheduledIo::default()
    }

    /// An event arrived: ORs `ready` into the word, bumps the tick, and
    /// wakes the tasks waiting for a direction it makes ready.
    ///
    /// ```
    /// let io = corio_reactor::ScheduledIo::new();
    /// io.set_readiness(corio_reactor::Ready::WRITABLE);
    /// assert!(io.readiness().is_writable());
    /// ```
    pub fn set_readiness(&self, ready: Ready) {
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            let tick = ((cur & TICK_MASK) >> TICK_SHIFT).wrapping_add(1) & 0xFFFF;
            let next = (cur & !TICK_MASK) | ready.0 | (tick << TICK_SHIFT);
            match self.readiness.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        self.wake(ready.0);
    }

    /// Marks the source shut down (deregistered, or its reactor gone) and
    /// wakes every waiter; polls return at once from now on.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use corio_reactor::{Direction, ScheduledIo};
    /// let io = ScheduledIo::new();
    /// io.shutdown();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let Poll::Ready(ev) = io.poll_ready(Direction::Write, &mut cx) else { panic!() };
    /// assert!(ev.shutdown);
    /// ```
    pub fn shutdown(&self) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        self.wake(READY_MASK);
    }

    /// Takes the wakers of the directions `bits` makes ready, under the
    /// waiter lock, and wakes them outside it.
    fn wake(&self, bits: usize) {
        let (reader, writer) = {
            let mut w = self.waiters.lock();
            let reader = if bits & Direction::Read.mask() != 0 {
                w.reader.take()
            } else {
                None
            };
            let writer = if bits & Direction::Write.mask() != 0 {
                w.writer.take()
            } else {
                None
            };
            (reader, writer)
        };
        if let Some(w) = reader {
            w.wake();
        }
        if let Some(w) = writer {
            w.wake();
        }
    }

    /// The readiness of `direction` if it has some (or the source was shut
    /// down); otherwise registers `cx`'s waker for that direction (one
    /// waiter per direction: the latest poll's) and returns `Pending`.
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// use corio_reactor::{Direction, Ready, ScheduledIo};
    /// let io = ScheduledIo::new();
    /// io.set_readiness(Ready::READABLE);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(io.poll_ready(Direction::Read, &mut cx).is_ready());
    /// assert!(io.poll_ready(Direction::Write, &mut cx).is_pending());
    /// ```
    pub fn poll_ready(&self, direction: Direction, cx: &mut Context<'_>) -> Poll<ReadyEvent> {
        if let Some(ev) = self.ready_now(direction, self.readiness.load(Ordering::Acquire)) {
            return Poll::Ready(ev);
        }
        let mut w = self.waiters.lock();
        let slot = match direction {
            Direction::Read => &mut w.reader,
            Direction::Write => &mut w.writer,
        };
        match slot {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        // Read again under the lock: a set that the first read missed has
        // either changed the word by now, or will take the lock after us
        // and find the waker.
        match self.ready_now(direction, self.readiness.load(Ordering::Acquire)) {
            Some(ev) => Poll::Ready(ev),
            None => Poll::Pending,
        }
    }

    fn ready_now(&self, direction: Direction, word: usize) -> Option<ReadyEvent> {
        let shutdown = word & SHUTDOWN != 0;
        let ready = word & direction.mask();
        (shutdown || ready != 0).then_some(ReadyEvent {
            ready: Ready(ready),
            shutdown,
            tick: word & TICK_MASK,
            direction,
        })
    }

    /// The operation that `event` allowed found the socket not ready
    /// (`WouldBlock`): clears the direction's readable or writable flag,
    /// unless an event arrived since `event` was returned (then the next
    /// poll returns at once). Closed and error flags stay.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use corio_reactor::{Direction, Ready, ScheduledIo};
    /// let io = ScheduledIo::new();
    /// io.set_readiness(Ready::READABLE);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let Poll::Ready(stale) = io.poll_ready(Direction::Read, &mut cx) else { panic!() };
    /// io.set_readiness(Ready::READABLE); // new data arrived meanwhile
    /// io.clear_readiness(stale);         // ... so this clear is ignored
    /// assert!(io.poll_ready(Direction::Read, &mut cx).is_ready());
    /// ```
    pub fn clear_readiness(&self, event: ReadyEvent) {
        let clear = event.direction.clearable();
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            if cur & TICK_MASK != event.tick || cur & clear == 0 {
                return;
            }
            match self.readiness.compare_exchange_weak(
                cur,
                cur & !clear,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The readiness flags set now (for inspection and tests).
    ///
    /// ```
    /// assert!(corio_reactor::ScheduledIo::new().readiness().is_empty());
    /// ```
    pub fn readiness(&self) -> Ready {
        Ready(self.readiness.load(Ordering::Acquire) & READY_MASK)
    }
}

impl fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.readiness.load(Ordering::Relaxed);
        f.debug_struct("ScheduledIo")
            .field("ready", &Ready(word & READY_MASK))
            .field("shutdown", &(word & SHUTDOWN != 0))
            .field("tick", &((word & TICK_MASK) >> TICK_SHIFT))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdCount;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(StdCount);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(StdCount::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn a_set_wakes_only_the_direction_it_makes_ready() {
        let io = ScheduledIo::new();
        let (reads, rw) = counting();
        let (writes, ww) = counting();
        assert!(io
            .poll_ready(Direction::Read, &mut Context::from_waker(&rw))
            .is_pending());
        assert!(io
            .poll_ready(Direction::Write, &mut Context::from_waker(&ww))
            .is_pending());
        io.set_readiness(Ready::WRITABLE);
        assert_eq!(reads.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(writes.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        io.set_readiness(Ready::READ_CLOSED);
        assert_eq!(reads.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn a_clear_with_the_current_tick_clears_and_closed_flags_stay() {
        let io = ScheduledIo::new();
        let mut cx = Context::from_waker(Waker::noop());
        io.set_readiness(Ready::READABLE | Ready::READ_CLOSED);
        let Poll::Ready(ev) = io.poll_ready(Direction::Read, &mut cx) else {
            panic!()
        };
        io.clear_readiness(ev);
        assert_eq!(io.readiness(), Ready::READ_CLOSED);
        // EOF is final: the poll still returns at once.
        assert!(io.poll_ready(Direction::Read, &mut cx).is_ready());
    }

    #[test]
    fn the_tick_wraps_and_still_tells_events_apart() {
        let io = ScheduledIo::new();
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..70_000 {
            io.set_readiness(Ready::READABLE);
        }
        let Poll::Ready(stale) = io.poll_ready(Direction::Read, &mut cx) else {
            panic!()
        };
        io.set_readiness(Ready::READABLE);
        io.clear_readiness(stale);
        assert!(io.readiness().is_readable());
    }

    #[test]
    fn shutdown_wakes_both_directions_and_stays() {
        let io = ScheduledIo::new();
        let (reads, rw) = counting();
        let (writes, ww) = counting();
        let _ = io.poll_ready(Direction::Read, &mut Context::from_waker(&rw));
        let _ = io.poll_ready(Direction::Write, &mut Context::from_waker(&ww));
        io.shutdown();
        assert_eq!(reads.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(writes.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(ev) = io.poll_ready(Direction::Read, &mut cx) else {
            panic!()
        };
        assert!(ev.shutdown);
        io.clear_readiness(ev);
        assert!(io.poll_ready(Direction::Read, &mut cx).is_ready());
    }
}
