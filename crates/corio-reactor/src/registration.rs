//! Sources registered in one reactor, and the tokens that name them.
//!
//! # Tokens and lifetime
//!
//! Each registration gets a slot in its reactor's slab and a token made of
//! the slot index (low 32 bits) and the slot's *generation* (high bits),
//! bumped every time the slot is freed. The slab holds an `Arc` of the
//! source's [`ScheduledIo`], and so does the [`Registration`]:
//!
//! * the reactor's event loop maps a token to its `ScheduledIo` under the
//!   slab lock and ignores tokens whose slot is free or whose generation is
//!   older: an event still in flight for a source that was deregistered (or
//!   whose slot was reused) reaches nobody, and no token ever points at
//!   freed memory;
//! * deregistration ([`Registration::deregister`]) removes the source from
//!   the OS poller, frees the slot, and shuts the `ScheduledIo` down, which
//!   wakes anyone still waiting; the memory goes when the last `Arc` does.
//!
//! Registration is edge-triggered: the OS reports changes, and the
//! `ScheduledIo` accumulates them (see `readiness.rs`).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::readiness::{Direction, Ready, ReadyEvent, ScheduledIo};
use crate::sys::Registrar;
use crate::Interest;

/// A registration's name in its reactor: slot index | generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Token(usize);

/// Bits of a token that hold the slot index.
const INDEX_BITS: u32 = 32;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;

/// What a reactor shares with the registrations made in it (and with
/// threads that register sources in it).
pub(crate) struct Shared {
    registry: Registrar,
    slab: parking_lot::Mutex<Slab>,
    /// `Slab::live`, readable without the lock (a hint for helpers).
    live: std::sync::atomic::AtomicUsize,
}

#[derive(Default)]
struct Slab {
    entries: Vec<Entry>,
    free: Vec<usize>,
    live: usize,
}

#[derive(Default)]
struct Entry {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

impl Shared {
    pub(crate) fn new(registry: Registrar) -> Shared {
        Shared {
            registry,
            slab: parking_lot::Mutex::new(Slab::default()),
            live: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The `ScheduledIo` an event's token names, if it is still registered.
    pub(crate) fn lookup(&self, token: usize) -> Option<Arc<ScheduledIo>> {
        let index = token & INDEX_MASK;
        let generation = token >> INDEX_BITS;
        let slab = self.slab.lock();
        let entry = slab.entries.get(index)?;
        if entry.generation != generation {
            return None;
        }
        entry.io.clone()
    }

    /// Marks every registered source shut down (the reactor is going away).
    pub(crate) fn shutdown_all(&self) {
        let ios: Vec<Arc<ScheduledIo>> = {
            let slab = self.slab.lock();
            slab.entries.iter().filter_map(|e| e.io.clone()).collect()
        };
        for io in ios {
            io.shutdown();
        }
    }

    fn insert(&self) -> (Token, Arc<ScheduledIo>) {
        let io = Arc::new(ScheduledIo::new());
        let mut slab = self.slab.lock();
        let index = match slab.free.pop() {
            Some(i) => i,
            None => {
                slab.entries.push(Entry::default());
                slab.entries.len() - 1
            }
        };
        assert!(
            index <= INDEX_MASK,
            "corio: more than 2^32 sources registered in one reactor"
        );
        slab.live += 1;
        self.live
            .store(slab.live, std::sync::atomic::Ordering::Relaxed);
        let entry = &mut slab.entries[index];
        entry.io = Some(io.clone());
        // Generations wrap within the token's upper bits; the reserved
        // waker token (all ones) is never produced.
        let token = Token(index | (entry.generation << INDEX_BITS));
        (token, io)
    }

    fn remove(&self, token: Token) {
        let index = token.0 & INDEX_MASK;
        let mut slab = self.slab.lock();
        let entry = &mut slab.entries[index];
        if entry.io.take().is_some() {
            entry.generation = (entry.generation + 1) & (usize::MAX >> (INDEX_BITS + 1));
            slab.free.push(index);
            slab.live -= 1;
            self.live
                .store(slab.live, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.slab.lock().live
    }
}

/// A handle to a reactor for registering sources in it, from any thread.
///
/// ```
/// let reactor = corio_reactor::Reactor::new().unwrap();
/// let handle = reactor.io_handle();
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let reg = handle.register(&a, corio_reactor::Interest::READABLE).unwrap();
/// assert_eq!(handle.registered(), 1);
/// reg.deregister().unwrap();
/// assert_eq!(handle.registered(), 0);
/// ```
#[derive(Clone)]
pub struct IoHandle {
    pub(crate) shared: Arc<Shared>,
}

impl IoHandle {
    /// Registers `source` (edge-triggered) for `interest`; events for it
    /// reach the returned [`Registration`] whenever the reactor is polled.
    ///
    /// # Errors
    ///
    /// The OS error of `epoll_ctl` (for example, the fd is already
    /// registered, or is not pollable).
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let reg = reactor.io_handle().register(&a, corio_reactor::Interest::WRITABLE).unwrap();
    /// # reg.deregister().unwrap();
    /// ```
    pub fn register(&self, source: &impl AsRawFd, interest: Interest) -> io::Result<Registration> {
        let fd = source.as_raw_fd();
        let (token, io) = self.shared.insert();
        if let Err(e) = self.shared.registry.register(fd, token.0, interest) {
            self.shared.remove(token);
            return Err(e);
        }
        Ok(Registration {
            shared: self.shared.clone(),
            io,
            token,
            fd,
        })
    }

    /// Whether any source is registered (a lock-free hint, for threads
    /// deciding whether to drain this reactor).
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// assert!(!reactor.io_handle().has_sources());
    /// ```
    pub fn has_sources(&self) -> bool {
        self.shared.live.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// How many sources are registered now.
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// assert_eq!(reactor.io_handle().registered(), 0);
    /// ```
    pub fn registered(&self) -> usize {
        self.shared.live()
    }
}

impl std::fmt::Debug for IoHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoHandle")
            .field("registered", &self.registered())
            .finish()
    }
}

/// One source registered in a reactor: poll it for readiness, clear what
/// an operation found stale, deregister it before closing the source.
///
/// Dropping a `Registration` without [`deregister`](Registration::deregister)
/// frees its slot too; the fd must then be closed at once (epoll drops a
/// closed fd by itself; one left open stays registered, and its events
/// reach nobody).
pub struct Registration {
    shared: Arc<Shared>,
    io: Arc<ScheduledIo>,
    token: Token,
    fd: RawFd,
}

impl Registration {
    /// The readiness of `direction`, or registers `cx`'s waker for it; see
    /// [`ScheduledIo::poll_ready`].
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// use corio_reactor::{Direction, Interest};
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let reg = reactor.io_handle().register(&a, Interest::READABLE).unwrap();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(reg.poll_ready(Direction::Read, &mut cx).is_pending()); // nothing sent
    /// # reg.deregister().unwrap();
    /// ```
    pub fn poll_ready(&self, direction: Direction, cx: &mut Context<'_>) -> Poll<ReadyEvent> {
        self.io.poll_ready(direction, cx)
    }

    /// After `WouldBlock`; see [`ScheduledIo::clear_readiness`].
    ///
    /// ```
    /// use std::io::Write;
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Duration;
    /// use corio_reactor::{Direction, Interest};
    /// let mut reactor = corio_reactor::Reactor::new().unwrap();
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let reg = reactor.io_handle().register(&a, Interest::READABLE).unwrap();
    /// b.write_all(b"x").unwrap();
    /// reactor.park(Some(Duration::from_secs(5))).unwrap();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let Poll::Ready(ev) = reg.poll_ready(Direction::Read, &mut cx) else { panic!() };
    /// reg.clear_readiness(ev); // as if the read had said WouldBlock
    /// assert!(reg.readiness().is_empty());
    /// # reg.deregister().unwrap();
    /// ```
    pub fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event)
    }

    /// The readiness set now.
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let reg = reactor.io_handle().register(&a, corio_reactor::Interest::READABLE).unwrap();
    /// assert!(reg.readiness().is_empty()); // the reactor was not polled yet
    /// # reg.deregister().unwrap();
    /// ```
    pub fn readiness(&self) -> Ready {
        self.io.readiness()
    }

    /// Removes the source from the reactor and frees the registration (call
    /// it before closing the source); tasks still waiting on it are woken
    /// and see it shut down.
    ///
    /// # Errors
    ///
    /// The OS error of `epoll_ctl(DEL)`; the registration is freed anyway.
    ///
    /// ```
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let h = reactor.io_handle();
    /// let reg = h.register(&a, corio_reactor::Interest::READABLE).unwrap();
    /// reg.deregister().unwrap();
    /// assert_eq!(h.registered(), 0);
    /// ```
    pub fn deregister(self) -> io::Result<()> {
        let r = self.shared.registry.deregister(self.fd);
        drop(self);
        r
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.remove(self.token);
        self.io.shutdown();
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token.0)
            .field("io", &self.io)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use crate::Interest;

    use crate::{Direction, Reactor};

    fn pair() -> (UnixStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (a, b)
    }

    #[test]
    fn an_event_for_a_registered_socket_reaches_its_registration() {
        let mut reactor = Reactor::new().unwrap();
        let (a, mut b) = pair();
        let reg = reactor
            .io_handle()
            .register(&a, Interest::READABLE)
            .unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(reg.poll_ready(Direction::Read, &mut cx).is_pending());
        b.write_all(b"x").unwrap();
        reactor.park(Some(Duration::from_secs(5))).unwrap();
        let Poll::Ready(ev) = reg.poll_ready(Direction::Read, &mut cx) else {
            panic!("no readiness after the event")
        };
        assert!(ev.ready.is_readable() && !ev.shutdown);
        reg.deregister().unwrap();
    }

    #[test]
    fn a_slot_reused_after_deregistration_gets_a_new_token_and_old_events_reach_nobody() {
        let mut reactor = Reactor::new().unwrap();
        let h = reactor.io_handle();
        let (a, mut peer_a) = pair();
        let first = h.register(&a, Interest::READABLE).unwrap();
        let old_token = first.token;
        // An event is queued in epoll for `a`...
        peer_a.write_all(b"x").unwrap();
        // ...then it is deregistered and its slot reused before the reactor
        // looks at the event.
        first.deregister().unwrap();
        let (c, _peer_c) = pair();
        let second = h.register(&c, Interest::READABLE).unwrap();
        assert_ne!(second.token, old_token, "same slot, new generation");
        assert_eq!(
            second.token.0 & super::INDEX_MASK,
            old_token.0 & super::INDEX_MASK
        );
        assert!(h.shared.lookup(old_token.0).is_none());
        reactor.park(Some(Duration::from_millis(20))).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            second.poll_ready(Direction::Read, &mut cx).is_pending(),
            "the old source's event reached the new one"
        );
        second.deregister().unwrap();
    }

    #[test]
    fn dropping_the_reactor_shuts_its_registrations_down() {
        let reactor = Reactor::new().unwrap();
        let (a, _b) = pair();
        let reg = reactor
            .io_handle()
            .register(&a, Interest::READABLE | Interest::WRITABLE)
            .unwrap();
        drop(reactor);
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(ev) = reg.poll_ready(Direction::Read, &mut cx) else {
            panic!()
        };
        assert!(ev.shutdown);
    }
}
