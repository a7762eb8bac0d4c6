//! The per-worker event loop of the corio runtime.
//!
//! Every corio worker thread owns one [`Reactor`]: its own `epoll` instance
//! (through [`mio::Poll`]) and an eventfd-backed [`mio::Waker`] that other
//! threads use to interrupt it. A worker with nothing to run *parks* by
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

use mio::{Events, Poll, Token, Waker};

mod readiness;
mod registration;
#[allow(unreachable_pub, dead_code)]
mod sync;

pub use mio::Interest;
pub use readiness::{Direction, Ready, ReadyEvent, ScheduledIo};
pub use registration::{IoHandle, Registration};

/// The token reserved for the reactor's own waker.
const WAKER_TOKEN: Token = Token(usize::MAX);

/// How many readiness events one `epoll_wait` may return.
const EVENTS_CAPACITY: usize = 1024;

/// One worker's event loop: an `epoll` instance plus a cross-thread waker.
///
/// See the [crate documentation](crate) for the park/unpark contract.
pub struct Reactor {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
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
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        let shared = Arc::new(registration::Shared::new(poll.registry().try_clone()?));
        Ok(Reactor {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            waker,
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
            waker: Arc::clone(&self.waker),
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
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(e),
        }
        let mut n = 0;
        for event in self.events.iter() {
            if event.token() == WAKER_TOKEN {
                continue;
            }
            n += 1;
            // A stale token (deregistered, slot reused) reaches nobody.
            if let Some(io) = self.shared.lookup(event.token()) {
                io.set_readiness(Ready::from_mio(event));
            }
        }
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
    waker: Arc<Waker>,
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
        // A failing eventfd write means the counter is saturated, in which
        // case the reactor is already due to wake: nothing is lost.
        let _ = self.waker.wake();
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
