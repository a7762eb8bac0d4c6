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
use std::sync::atomic::{AtomicUsize, Ordering};
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

    /// Delivers one event: sets the readiness of the source its token names
    /// (waking its waiters on this thread); a stale token (deregistered,
    /// slot reused) reaches nobody.
    pub(crate) fn dispatch(&self, token: usize, ready: Ready) {
        if let Some(io) = self.lookup(token) {
            io.set_readiness(ready);
        }
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

    fn insert(&self, io: &Arc<ScheduledIo>) -> Token {
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
        Token(index | (entry.generation << INDEX_BITS))
    }

    /// Puts `io` in the slab and registers `fd` for it with the OS poller.
    fn add(&self, io: &Arc<ScheduledIo>, fd: RawFd, interest: Interest) -> io::Result<Token> {
        let token = self.insert(io);
        if let Err(e) = self.registry.register(fd, token.0, interest) {
            self.remove(token);
            return Err(e);
        }
        Ok(token)
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
        let io = Arc::new(ScheduledIo::new());
        let token = self.shared.add(&io, fd, interest)?;
        Ok(Registration {
            home_id: AtomicUsize::new(self.id()),
            home: parking_lot::Mutex::new(Home {
                shared: self.shared.clone(),
                token,
            }),
            io,
            fd,
            interest,
        })
    }

    /// This reactor's identity, as [`Registration::is_in`] compares it.
    fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
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

    /// Delivers the events of this reactor that are ready now, on the
    /// calling thread and without blocking, even while the reactor's owner
    /// is parked in it (the OS hands each event to one of the two). A
    /// wakeup meant for the owner that this poll takes is passed on if
    /// `owner_may_block()` says the owner may be blocking in
    /// [`Reactor::park`](crate::Reactor::park), or about to (it must answer
    /// true whenever an [`Unparker::unpark`](crate::Unparker::unpark) since
    /// the owner last woke may have written the wakeup); otherwise it is
    /// dropped. The woken wakers run on this thread, so an idle worker can
    /// take over the tasks of a peer parked in its reactor. Returns how
    /// many events it delivered, or `None` when the backend cannot poll
    /// from a second thread (the `polling` backend).
    ///
    /// ```
    /// use std::io::Write;
    /// use std::task::{Context, Poll, Waker};
    /// use corio_reactor::{Direction, Interest};
    /// let reactor = corio_reactor::Reactor::new().unwrap();
    /// let h = reactor.io_handle();
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let reg = h.register(&a, Interest::READABLE).unwrap();
    /// b.write_all(b"x").unwrap();
    /// if let Some(n) = h.poll_now(|| true) {
    ///     assert_eq!(n, 1);
    ///     let mut cx = Context::from_waker(Waker::noop());
    ///     assert!(reg.poll_ready(Direction::Read, &mut cx).is_ready());
    /// }
    /// # reg.deregister().unwrap();
    /// ```
    pub fn poll_now(&self, owner_may_block: impl FnOnce() -> bool) -> Option<usize> {
        let shared = &*self.shared;
        let mut n = 0;
        let supported = shared
            .registry
            .select_now(
                |token, ready| {
                    n += 1;
                    shared.dispatch(token, ready);
                },
                owner_may_block,
            )
            .unwrap_or_else(|e| {
                // Only a programming error (EBADF, EINVAL) makes a
                // zero-timeout epoll_wait fail: deliver nothing.
                debug_assert!(false, "epoll_wait failed: {e}");
                true
            });
        supported.then_some(n)
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
/// an operation found stale, move it to another reactor, deregister it
/// before closing the source.
///
/// Dropping a `Registration` without [`deregister`](Registration::deregister)
/// frees its slot too; the fd must then be closed at once (epoll drops a
/// closed fd by itself; one left open stays registered, and its events
/// reach nobody).
///
/// # Moving
///
/// [`move_to`](Registration::move_to) re-homes the source: the same
/// [`ScheduledIo`] (readiness, waiting wakers) gets a slot and a token in
/// the new reactor, the fd is added to the new poller *before* it is
/// removed from the old one (adding reports the readiness the fd has now,
/// so no edge falls between the two), and the old slot is freed, so an old
/// event still in flight reaches nobody. The home is behind a small lock
/// that only moves and deregistration take; [`is_in`](Registration::is_in)
/// reads a copy of its identity without it.
pub struct Registration {
    io: Arc<ScheduledIo>,
    fd: RawFd,
    interest: Interest,
    /// `IoHandle::id` of the reactor in `home`.
    home_id: AtomicUsize,
    home: parking_lot::Mutex<Home>,
}

/// The reactor a registration is in, and its token there.
struct Home {
    shared: Arc<Shared>,
    token: Token,
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
        let r = self.home.lock().shared.registry.deregister(self.fd);
        drop(self);
        r
    }

    /// Whether the source is registered in `reactor` (lock-free).
    ///
    /// ```
    /// let a = corio_reactor::Reactor::new().unwrap();
    /// let b = corio_reactor::Reactor::new().unwrap();
    /// let (s, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    /// s.set_nonblocking(true).unwrap();
    /// let reg = a.io_handle().register(&s, corio_reactor::Interest::READABLE).unwrap();
    /// assert!(reg.is_in(&a.io_handle()) && !reg.is_in(&b.io_handle()));
    /// # reg.deregister().unwrap();
    /// ```
    pub fn is_in(&self, reactor: &IoHandle) -> bool {
        self.home_id.load(Ordering::Relaxed) == reactor.id()
    }

    /// Moves the source to `reactor`: its events reach this registration
    /// from there on (see "Moving" above). Readiness already seen and the
    /// wakers waiting stay as they are. Nothing happens if it is there
    /// already.
    ///
    /// # Errors
    ///
    /// The OS error of adding the fd to the new poller; the source then
    /// stays where it was.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::task::{Context, Waker};
    /// use std::time::Duration;
    /// use corio_reactor::{Direction, Interest, Reactor};
    /// let a = Reactor::new().unwrap();
    /// let mut b = Reactor::new().unwrap();
    /// let (s, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
    /// s.set_nonblocking(true).unwrap();
    /// let reg = a.io_handle().register(&s, Interest::READABLE).unwrap();
    /// reg.move_to(&b.io_handle()).unwrap();
    /// assert_eq!((a.io_handle().registered(), b.io_handle().registered()), (0, 1));
    /// peer.write_all(b"x").unwrap();
    /// b.park(Some(Duration::from_secs(5))).unwrap();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(reg.poll_ready(Direction::Read, &mut cx).is_ready());
    /// # reg.deregister().unwrap();
    /// ```
    pub fn move_to(&self, reactor: &IoHandle) -> io::Result<()> {
        let mut home = self.home.lock();
        if Arc::ptr_eq(&home.shared, &reactor.shared) {
            return Ok(());
        }
        let token = reactor.shared.add(&self.io, self.fd, self.interest)?;
        // Failing to remove it from the old poller leaves the fd there
        // until it is closed; its events reach nobody (the slot is freed).
        let _ = home.shared.registry.deregister(self.fd);
        home.shared.remove(home.token);
        *home = Home {
            shared: reactor.shared.clone(),
            token,
        };
        self.home_id.store(reactor.id(), Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let home = self.home.get_mut();
        home.shared.remove(home.token);
        self.io.shutdown();
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.home.lock().token.0)
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
        let old_token = first.home.lock().token;
        // An event is queued in epoll for `a`...
        peer_a.write_all(b"x").unwrap();
        // ...then it is deregistered and its slot reused before the reactor
        // looks at the event.
        first.deregister().unwrap();
        let (c, _peer_c) = pair();
        let second = h.register(&c, Interest::READABLE).unwrap();
        let new_token = second.home.lock().token;
        assert_ne!(new_token, old_token, "same slot, new generation");
        assert_eq!(
            new_token.0 & super::INDEX_MASK,
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
    fn a_source_moved_while_readable_is_reported_by_its_new_reactor_only() {
        let mut old = Reactor::new().unwrap();
        let mut new = Reactor::new().unwrap();
        let (a, mut peer) = pair();
        let reg = old.io_handle().register(&a, Interest::READABLE).unwrap();
        // The edge happens while the source is in the old reactor, which
        // never looks at it.
        peer.write_all(b"x").unwrap();
        reg.move_to(&new.io_handle()).unwrap();
        assert!(reg.is_in(&new.io_handle()) && !reg.is_in(&old.io_handle()));
        assert_eq!(
            old.park(Some(Duration::ZERO)).unwrap(),
            0,
            "the old poller still has it"
        );
        let mut cx = Context::from_waker(Waker::noop());
        assert!(reg.poll_ready(Direction::Read, &mut cx).is_pending());
        assert_eq!(new.park(Some(Duration::from_secs(5))).unwrap(), 1);
        let Poll::Ready(ev) = reg.poll_ready(Direction::Read, &mut cx) else {
            panic!("the readiness from before the move was lost")
        };
        assert!(ev.ready.is_readable());
        reg.deregister().unwrap();
        assert_eq!(new.io_handle().registered(), 0);
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
