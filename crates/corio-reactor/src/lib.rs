//! The per-worker event loop of the corio runtime.
//!
//! Every corio worker thread owns one [`Reactor`]: its own `epoll` instance
//! and a notifier (an eventfd) that other threads use to interrupt it, both
//! from the OS poller backend (`sys/mod.rs` has the contract; mio by
//! default, the `polling` crate with the `polling` feature). A worker with nothing to run *parks* by
//! calling [`Reactor::park`], which blocks in `epoll_wait` until an I/O event
//! arrives, the timeout passes, or some thread calls [`Unparker::unpark`].
//!
//! This crate knows nothing about tasks: it deals in readiness, wakers and
//! plain data. [`ScheduledIo`] (`readiness.rs`) is the per-source state that
//! registrations share between the reactor that drains events and the tasks
//! that read and write: a readiness word with a tick, so a stale clear never
//! erases a newer event, and a reader and a writer waker.
//!
//! # Contract
//!
//! * `park(timeout)` returns after at most `timeout` (rounded up to the
//!   backend's resolution, never early), or earlier when an event is ready or
//!   `unpark` was called. Spurious returns are allowed; callers re-check their
//!   own state in a loop.
//! * An `unpark` that happens *before* `park` is not lost: the next `park`
//!   returns immediately. (The eventfd stays readable and is registered
//!   edge-triggered, so an edge that arrived before `epoll_wait` is already
//!   in the ready list.) Many `unpark`s before one `park` coalesce into one
//!   return.
//! * `unpark` may be called from any thread, any number of times, and after
//!   the reactor was dropped (it then does nothing useful, but is safe).
//!
//! The executor wraps this with an atomic parked/notified state so that an
//! `unpark` only writes to the eventfd when the worker really sleeps.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use corio_reactor::Reactor;
//!
//! let mut reactor = Reactor::new().unwrap();
//! let unparker = reactor.unparker();
//! std::thread::spawn(move || unparker.unpark());
//! // Returns as soon as the other thread unparks us (or after 10 s).
//! reactor.park(Some(Duration::from_secs(10))).unwrap();
//! ```

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

mod readiness;
mod registration;
#[allow(unreachable_pub, dead_code)]
mod sync;
mod sys;

pub use readiness::{Direction, Ready, ReadyEvent, ScheduledIo};
pub use registration::{IoHandle, Registration};

/// The OS poller backend this build uses: `"mio"` or `"polling"`.
///
/// ```
/// assert!(["mio", "polling"].contains(&corio_reactor::BACKEND));
/// ```
pub const BACKEND: &str = sys::BACKEND;

/// Whether this backend's events tell that the peer closed its writing
/// half ([`Ready::READ_CLOSED`] on a half-close, from `EPOLLRDHUP`): the
/// mio backend's do; the polling backend reports only a full hang-up.
/// Where they do, a stream read that fills less than its buffer may clear
/// the readiness (the end of file that may follow the bytes is kept as
/// `READ_CLOSED`, which no clear removes); where they do not, that end of
/// file would come with no new event, so the readiness must stay until a
/// read says `WouldBlock`.
///
/// ```
/// assert_eq!(corio_reactor::REPORTS_READ_CLOSED, corio_reactor::BACKEND == "mio");
/// ```
pub const REPORTS_READ_CLOSED: bool = sys::REPORTS_READ_CLOSED;

/// What a source is registered for.
///
/// ```
/// use corio_reactor::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// Readable (and read-closed) changes.
    pub const READABLE: Interest = Interest(1);
    /// Writable (and write-closed) changes.
    pub const WRITABLE: Interest = Interest(2);

    /// Includes readability.
    ///
    /// ```
    /// assert!(corio_reactor::Interest::READABLE.is_readable());
    /// ```
    pub fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Includes writability.
    ///
    /// ```
    /// assert!(!corio_reactor::Interest::READABLE.is_writable());
    /// ```
    pub fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

/// How many readiness events one `epoll_wait` may return.
const EVENTS_CAPACITY: usize = 1024;

/// One worker's event loop: an `epoll` instance plus a cross-thread waker.
///
/// See the [crate documentation](crate) for the park/unpark contract.
pub struct Reactor {
    selector: sys::Selector,
    events: sys::Events,
    notifier: sys::Notifier,
    shared: Arc<registration::Shared>,
}

impl Reactor {
    /// Creates a reactor with its own `epoll` instance and eventfd waker.
    ///
    /// # Errors
    ///
    /// Fails when the OS refuses a new epoll or eventfd descriptor (for
    /// example because the process ran out of file descriptors).
    ///
    /// # Example
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// # drop(reactor);
    /// ```
    pub fn new() -> io::Result<Reactor> {
        let selector = sys::Selector::new()?;
        let notifier = selector.notifier()?;
        let shared = Arc::new(registration::Shared::new(selector.registrar()?));
        Ok(Reactor {
            selector,
            events: sys::Events::with_capacity(EVENTS_CAPACITY),
            notifier,
            shared,
        })
    }

    /// Returns a handle that wakes this reactor from any thread.
    ///
    /// # Example
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// let unparker = reactor.unparker();
    /// unparker.unpark(); // the next park returns at once
    /// ```
    pub fn unparker(&self) -> Unparker {
        Unparker {
            notifier: self.notifier.clone(),
        }
    }

    /// A handle for registering sources in this reactor, from any thread.
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// let h = reactor.io_handle();
    /// assert_eq!(h.registered(), 0);
    /// ```
    pub fn io_handle(&self) -> IoHandle {
        IoHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Blocks the calling thread in `epoll_wait` until an event arrives, the
    /// timeout passes, or [`Unparker::unpark`] is called. `None` waits
    /// without a timeout; `Some(Duration::ZERO)` polls without blocking.
    ///
    /// Events for registered sources are delivered to their
    /// [`Registration`]s (readiness set, waiters woken) before it returns.
    /// Returns how many readiness events other than the reactor's own waker
    /// were received.
    ///
    /// # Errors
    ///
    /// Returns the OS error of `epoll_wait`, except `EINTR`, which is treated
    /// as a spurious wakeup.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut reactor = corio_reactor::Reactor::new().unwrap();
    /// let start = Instant::now();
    /// reactor.park(Some(Duration::from_millis(5))).unwrap();
    /// assert!(start.elapsed() >= Duration::from_millis(5));
    /// ```
    pub fn park(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        self.selector.select(&mut self.events, timeout)?;
        let mut n = 0;
        let shared = &self.shared;
        self.events.for_each(|token, ready| {
            n += 1;
            shared.dispatch(token, ready);
        });
        Ok(n)
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        // Nobody will poll these sources again: their waiters must not hang.
        self.shared.shutdown_all();
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor").finish_non_exhaustive()
    }
}

/// Wakes a [`Reactor`] blocked in [`Reactor::park`], from any thread.
///
/// # Example
///
/// ```
/// let reactor = corio_reactor::Reactor::new().unwrap();
/// let unparker = reactor.unparker();
/// let other = unparker.clone();
/// std::thread::spawn(move || other.unpark()).join().unwrap();
/// ```
#[derive(Clone)]
pub struct Unparker {
    notifier: sys::Notifier,
}

impl Unparker {
    /// Makes the reactor's current or next `park` return.
    ///
    /// # Example
    ///
    /// ```
    /// let mut reactor = corio_reactor::Reactor::new().unwrap();
    /// reactor.unparker().unpark();
    /// reactor.park(None).unwrap(); // returns at once
    /// ```
    pub fn unpark(&self) {
        self.notifier.notify();
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unparker").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn unpark_before_park_is_not_lost() {
        let mut r = Reactor::new().unwrap();
        r.unparker().unpark();
        let start = Instant::now();
        r.park(Some(Duration::from_secs(5))).unwrap();
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn unpark_from_another_thread_wakes_a_parked_reactor() {
        let mut r = Reactor::new().unwrap();
        let u = r.unparker();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            u.unpark();
        });
        let start = Instant::now();
        r.park(Some(Duration::from_secs(10))).unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
    }

    #[test]
    fn park_with_timeout_never_returns_early() {
        let mut r = Reactor::new().unwrap();
        let start = Instant::now();
        r.park(Some(Duration::from_millis(20))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_wakeup_taken_by_poll_now_on_another_thread_still_wakes_the_owner() {
        let mut r = Reactor::new().unwrap();
        let h = r.io_handle();
        // The notification is pending; a helper polls the reactor first and
        // takes its event (with a backend that can poll from a second
        // thread), then the owner parks: it must return at once anyway.
        r.unparker().unpark();
        std::thread::spawn(move || h.poll_now(|| true))
            .join()
            .unwrap();
        let start = Instant::now();
        r.park(Some(Duration::from_secs(10))).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the wakeup was lost"
        );
    }

    #[test]
    fn a_wakeup_taken_by_poll_now_while_the_owner_is_awake_is_not_sent_again() {
        let mut r = Reactor::new().unwrap();
        let h = r.io_handle();
        r.unparker().unpark();
        if h.poll_now(|| false).is_none() {
            return; // the backend polls from one thread only
        }
        // Taken and dropped: nothing is left to feed the next poll, and
        // the owner's next park sleeps its timeout.
        let start = Instant::now();
        r.park(Some(Duration::from_millis(50))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn poll_now_delivers_events_while_the_owner_is_parked_in_the_reactor() {
        use std::io::Write;
        use std::task::{Context, Poll, Waker};
        let mut r = Reactor::new().unwrap();
        let h = r.io_handle();
        if h.poll_now(|| true).is_none() {
            return; // the backend polls from one thread only
        }
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let reg = h.register(&a, Interest::READABLE).unwrap();
        let owner = std::thread::spawn(move || {
            r.park(Some(Duration::from_secs(1))).unwrap();
            r
        });
        std::thread::sleep(Duration::from_millis(50));
        b.write_all(b"x").unwrap();
        // Whichever thread takes the event, the registration sees it.
        let mut cx = Context::from_waker(Waker::noop());
        let start = Instant::now();
        while reg.poll_ready(Direction::Read, &mut cx).is_pending() {
            h.poll_now(|| true);
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the event was lost"
            );
            std::thread::yield_now();
        }
        let Poll::Ready(ev) = reg.poll_ready(Direction::Read, &mut cx) else {
            unreachable!()
        };
        assert!(ev.ready.is_readable());
        drop(owner.join().unwrap());
    }

    #[test]
    fn many_unparks_coalesce_into_one_wakeup() {
        let mut r = Reactor::new().unwrap();
        for _ in 0..100 {
            r.unparker().unpark();
        }
        r.park(Some(Duration::from_secs(5))).unwrap();
        // The second park sees no pending unpark and times out.
        let start = Instant::now();
        r.park(Some(Duration::from_millis(20))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}
