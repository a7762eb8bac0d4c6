//! I/O sources registered in a worker's reactor, and the one pattern every
//! non-blocking operation follows.
//!
//! # Protocol
//!
//! A source is registered (edge-triggered) in the reactor of the worker
//! that creates it. Its events wake the waiting task on the thread that
//! delivers them, so a task goes where its sources' events are taken. A
//! source moves to another worker's reactor when its task waits on it from
//! there while the worker it is registered with is parked (see
//! `follow_the_task`): an idle worker that took a parked peer's events
//! (`scheduler/worker.rs`, I/O helping) keeps the tasks it woke, and the
//! two ends of an in-process connection gather on one worker. An operation
//! ([`PollEvented::poll_io`]):
//!
//! 1. is a cancellation point: a pending cancellation of the task completes
//!    it with an `io::Error` that wraps [`Cancelled`]
//!    ([`Cancelled::is`] or [`is_cancelled`] tells);
//! 2. spends one unit of the cooperative budget;
//! 3. waits for the direction's readiness ([`Registration::poll_ready`]);
//! 4. tries the operation; on `WouldBlock` it clears exactly the readiness
//!    it acted on (a newer event survives, see `corio-reactor`) and goes
//!    back to 3. A read from a byte stream that fills less than its buffer
//!    ([`PollEvented::poll_read_stream`]) drained the socket, so it clears
//!    the readiness too: under edge-triggered events, more data brings a
//!    new event, and the next read waits for it instead of spending a
//!    system call to learn `WouldBlock`. Only with a backend whose events
//!    report the peer's half-close (`corio_reactor::REPORTS_READ_CLOSED`):
//!    an end of file that arrived with the bytes brings no later event, and
//!    must survive the clear as `READ_CLOSED`.
//!
//! A source whose registration was shut down (its reactor is gone) fails
//! with `NotConnected` instead of waiting forever. Dropping a
//! [`PollEvented`] deregisters the source before closing it.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use corio_reactor::Registration;

use crate::context;
use crate::task::{poll_cancelled, Cancelled};

/// An I/O object registered in the current worker's reactor: the
/// non-blocking source plus its [`Registration`].
///
/// The building block of `corio::net`; usable for any pollable fd.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use corio_executor::io::{Direction, Interest, PollEvented};
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     a.set_nonblocking(true).unwrap();
///     let a = PollEvented::new(a, Interest::READABLE).unwrap();
///     b.write_all(b"hi").unwrap();
///     let mut buf = [0; 2];
///     let n = std::future::poll_fn(|cx| a.poll_io(cx, Direction::Read, |s| (&*s).read(&mut buf)))
///         .await
///         .unwrap();
///     assert_eq!(&buf[..n], b"hi");
/// });
/// ```
pub struct PollEvented<S: AsRawFd> {
    source: Option<S>,
    registration: Option<Registration>,
}

pub use corio_reactor::{Direction, Interest};

impl<S: AsRawFd> PollEvented<S> {
    /// Registers `source` (already non-blocking) in the current worker's
    /// reactor.
    ///
    /// # Errors
    ///
    /// The OS error of the registration.
    ///
    /// # Panics
    ///
    /// With "no running event loop" outside a corio runtime.
    ///
    /// ```
    /// use corio_executor::io::{Interest, PollEvented};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let a = PollEvented::new(a, Interest::READABLE | Interest::WRITABLE).unwrap();
    ///     assert!(a.get_ref().peer_addr().is_ok());
    /// });
    /// ```
    #[track_caller]
    pub fn new(source: S, interest: Interest) -> io::Result<PollEvented<S>> {
        let handle = current_io_handle();
        let first = !handle.has_sources();
        let registration = handle.register(&source, interest)?;
        if first {
            // The first source of this worker: an idle peer that parked
            // while this worker had none sleeps without a helping timeout;
            // wake the peers so that they park again watching this worker
            // while it is awake (I/O helping, `scheduler/driver.rs`).
            context::with_worker(|cx| {
                let Some(cx) = cx else { return };
                for i in (0..cx.shared.num_workers).filter(|&i| i != cx.core.index) {
                    cx.shared.drivers.unpark(i);
                }
            });
        }
        Ok(PollEvented {
            source: Some(source),
            registration: Some(registration),
        })
    }

    /// The source.
    ///
    /// ```
    /// # use corio_executor::io::{Interest, PollEvented};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// # a.set_nonblocking(true).unwrap();
    /// let a = PollEvented::new(a, Interest::READABLE).unwrap();
    /// let _addr = a.get_ref().local_addr().unwrap();
    /// # });
    /// ```
    pub fn get_ref(&self) -> &S {
        self.source
            .as_ref()
            .expect("the source is present until drop")
    }

    /// Runs the non-blocking operation `op` when the source is ready in
    /// `direction`; see the module docs for the protocol.
    ///
    /// ```
    /// use std::io::Write;
    /// use corio_executor::io::{Direction, Interest, PollEvented};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let a = PollEvented::new(a, Interest::WRITABLE).unwrap();
    ///     let n = std::future::poll_fn(|cx| a.poll_io(cx, Direction::Write, |s| (&*s).write(b"x")))
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_then(cx, direction, op, |_| false)
    }

    /// Reads from a byte stream (a TCP or Unix stream socket, a pipe) into
    /// `buf` when it is readable; see the module docs for the protocol. A
    /// read that fills less than `buf` (and is not end of file) tells that
    /// the stream is drained, so the next read waits for the next event.
    /// Not for datagram sockets, whose short reads drain nothing.
    ///
    /// ```
    /// use std::io::Write;
    /// use corio_executor::io::{Interest, PollEvented};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let a = PollEvented::new(a, Interest::READABLE).unwrap();
    ///     b.write_all(b"hi").unwrap();
    ///     let mut buf = [0; 8];
    ///     let n = std::future::poll_fn(|cx| a.poll_read_stream(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(&buf[..n], b"hi");
    /// });
    /// ```
    pub fn poll_read_stream(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a S: io::Read,
    {
        let len = buf.len();
        self.poll_io_then(
            cx,
            Direction::Read,
            |mut s| io::Read::read(&mut s, buf),
            |&n| corio_reactor::REPORTS_READ_CLOSED && n > 0 && n < len,
        )
    }

    /// [`poll_io`](Self::poll_io), clearing the readiness also after a
    /// success for which `drained` is true.
    fn poll_io_then<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        if let Some(c) = poll_cancelled() {
            return Poll::Ready(Err(cancelled_error(c)));
        }
        std::task::ready!(context::poll_proceed(cx));
        let registration = self
            .registration
            .as_ref()
            .expect("the registration is present until drop");
        loop {
            let Poll::Ready(ev) = registration.poll_ready(direction, cx) else {
                follow_the_task(registration);
                return Poll::Pending;
            };
            if ev.shutdown {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "corio: the I/O source's event loop has shut down",
                )));
            }
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => registration.clear_readiness(ev),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(r) => {
                    if drained(&r) {
                        registration.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(r));
                }
                r => return Poll::Ready(r),
            }
        }
    }

    /// Deregisters the source and hands it back.
    ///
    /// ```
    /// # use corio_executor::io::{Interest, PollEvented};
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// # rt.run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// # a.set_nonblocking(true).unwrap();
    /// let a = PollEvented::new(a, Interest::READABLE).unwrap();
    /// let std_stream = a.into_inner().unwrap();
    /// # drop(std_stream);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// The OS error of the deregistration.
    pub fn into_inner(mut self) -> io::Result<S> {
        let r = self
            .registration
            .take()
            .map_or(Ok(()), Registration::deregister);
        let source = self
            .source
            .take()
            .expect("the source is present until drop");
        r.map(|()| source)
    }
}

impl<S: AsRawFd> Drop for PollEvented<S> {
    fn drop(&mut self) {
        // Deregister before the fd is closed (the backend contract).
        if let Some(r) = self.registration.take() {
            let _ = r.deregister();
        }
        drop(self.source.take());
    }
}

impl<S: AsRawFd + fmt::Debug> fmt::Debug for PollEvented<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollEvented")
            .field("source", &self.source)
            .field("registration", &self.registration)
            .finish()
    }
}

/// A source whose task waits on it from a worker other than the one whose
/// reactor it is in moves to this worker's reactor when that one is
/// parked: the task was woken here (an idle worker took the sleeping
/// peer's events, or stole the task), and its next events should land
/// where it runs instead of waking the sleeping peer. Sources thus gather
/// on awake workers, and a latency-bound pair of tasks on one worker (a
/// round trip that crosses threads costs two thread wakeups). A peer that
/// is awake keeps its sources: they are busy there, and moving them back
/// and forth would cost two `epoll_ctl` calls per steal.
fn follow_the_task(registration: &Registration) {
    context::with_worker(|cx| {
        if let Some(cx) = cx {
            follow_the_task_to(cx, registration);
        }
    });
}

fn follow_the_task_to(cx: &crate::scheduler::WorkerCx, registration: &Registration) {
    let shared = &*cx.shared;
    let here = shared.drivers.io(cx.core.index);
    if shared.num_workers == 1 || registration.is_in(here) {
        return;
    }
    let Some(owner) = shared.drivers.io_owner(|h| registration.is_in(h)) else {
        return;
    };
    if shared.drivers.is_parked(owner) {
        // On failure the source stays where it is and works as before.
        let _ = registration.move_to(here);
    }
}

/// The reactor handle of the current worker.
#[track_caller]
fn current_io_handle() -> corio_reactor::IoHandle {
    let here = context::with_worker(|cx| cx.map(|cx| cx.shared.drivers.io(cx.core.index).clone()));
    if let Some(io) = here {
        return io;
    }
    panic!(
        "corio: an I/O object was created with no running event loop: this thread is not a \
         corio worker. Create sockets inside `corio::run(...)` or a task."
    )
}

/// The `io::Error` an I/O operation completes with when the task is
/// cancelled: kind `Interrupted`, wrapping the delivered [`Cancelled`].
fn cancelled_error(c: Cancelled) -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, c)
}

/// Whether `err` is the cancellation of the task (an I/O await completes
/// with one when the task is cancelled), and not an OS error.
///
/// ```
/// let e = std::io::Error::other("boom");
/// assert!(!corio_executor::io::is_cancelled(&e));
/// ```
pub fn is_cancelled(err: &io::Error) -> bool {
    Cancelled::is(err)
}

/// The [`Cancelled`] inside an I/O error, taken out (to
/// [`suppress`](Cancelled::suppress) it, or return it).
///
/// ```
/// let e = std::io::Error::other("boom");
/// assert!(corio_executor::io::into_cancelled(e).is_err());
/// ```
///
/// # Errors
///
/// Gives `err` back if it is not a cancellation.
pub fn into_cancelled(err: io::Error) -> Result<Cancelled, io::Error> {
    if !is_cancelled(&err) {
        return Err(err);
    }
    let inner = err.into_inner().expect("checked: it wraps a Cancelled");
    Ok(*inner
        .downcast::<Cancelled>()
        .expect("checked: it is a Cancelled"))
}
