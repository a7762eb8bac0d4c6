//! The mio backend (the default): `mio::Poll`, its `Registry`, an eventfd
//! `mio::Waker`. See the contract in `sys/mod.rs`.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::Token;

use crate::{Interest, Ready};

/// The token of the notifier's eventfd (never handed to a registration).
const NOTIFY_TOKEN: Token = Token(usize::MAX);

pub(crate) struct Selector {
    poll: mio::Poll,
    waker: Arc<mio::Waker>,
}

pub(crate) struct Registrar {
    registry: mio::Registry,
    /// The selector's notifier, re-sent when `select_now` takes its event.
    waker: Arc<mio::Waker>,
}

#[derive(Clone)]
pub(crate) struct Notifier(Arc<mio::Waker>);

pub(crate) struct Events(mio::Events);

fn interest(i: Interest) -> mio::Interest {
    match (i.is_readable(), i.is_writable()) {
        (true, true) => mio::Interest::READABLE | mio::Interest::WRITABLE,
        (false, true) => mio::Interest::WRITABLE,
        _ => mio::Interest::READABLE,
    }
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        let poll = mio::Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), NOTIFY_TOKEN)?);
        Ok(Selector { poll, waker })
    }

    pub(crate) fn registrar(&self) -> io::Result<Registrar> {
        Ok(Registrar {
            registry: self.poll.registry().try_clone()?,
            waker: self.waker.clone(),
        })
    }

    pub(crate) fn notifier(&self) -> io::Result<Notifier> {
        Ok(Notifier(self.waker.clone()))
    }

    pub(crate) fn select(
        &mut self,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        match self.poll.poll(&mut events.0, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                events.0.clear();
                Ok(())
            }
            r => r,
        }
    }
}

impl Registrar {
    pub(crate) fn register(&self, fd: RawFd, token: usize, i: Interest) -> io::Result<()> {
        // mio registers edge-triggered on every platform.
        self.registry
            .register(&mut SourceFd(&fd), Token(token), interest(i))
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.registry.deregister(&mut SourceFd(&fd))
    }

    pub(crate) fn select_now(
        &self,
        mut f: impl FnMut(usize, Ready),
        renotify: impl FnOnce() -> bool,
    ) -> io::Result<bool> {
        const BATCH: usize = 64;
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
        // The registry's fd is a duplicate of the selector's epoll fd: the
        // same epoll instance, which Linux lets several threads wait on at
        // once (each ready edge goes to one of them).
        // SAFETY: the fd is open for as long as `self`, `events` is valid
        // for `BATCH` entries, and a zero timeout never blocks.
        let n = unsafe {
            libc::epoll_wait(
                self.registry.as_raw_fd(),
                events.as_mut_ptr(),
                BATCH as libc::c_int,
                0,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(true)
            } else {
                Err(e)
            };
        }
        let mut took_notification = false;
        for ev in &events[..n as usize] {
            let (token, bits) = (ev.u64 as usize, ev.events as libc::c_int);
            if token == NOTIFY_TOKEN.0 {
                took_notification = true;
            } else {
                f(token, ready_bits(bits));
            }
        }
        if took_notification && renotify() {
            // The owner's notification: hand it back (its eventfd is
            // edge-triggered, so a new write is a new edge). Not when the
            // owner is awake: it needs no edge, and sending one back would
            // feed the next helper's poll the same event, and so on.
            let _ = self.waker.wake();
        }
        Ok(true)
    }
}

impl Notifier {
    pub(crate) fn notify(&self) {
        // A failing eventfd write means the counter is saturated, in which
        // case the selector is already due to wake: nothing is lost.
        let _ = self.0.wake();
    }
}

impl Events {
    pub(crate) fn with_capacity(n: usize) -> Events {
        Events(mio::Events::with_capacity(n))
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(usize, Ready)) {
        for event in self.0.iter() {
            if event.token() != NOTIFY_TOKEN {
                f(event.token().0, ready(event));
            }
        }
    }
}

/// An epoll event's bits as readiness, the way mio reads them.
fn ready_bits(bits: libc::c_int) -> Ready {
    let has = |b: libc::c_int| bits & b != 0;
    let mut r = Ready::EMPTY;
    if has(libc::EPOLLIN) || has(libc::EPOLLPRI) {
        r = r | Ready::READABLE;
    }
    if has(libc::EPOLLOUT) {
        r = r | Ready::WRITABLE;
    }
    if has(libc::EPOLLHUP) || (has(libc::EPOLLIN) && has(libc::EPOLLRDHUP)) {
        r = r | Ready::READ_CLOSED;
    }
    if has(libc::EPOLLHUP) || (has(libc::EPOLLOUT) && has(libc::EPOLLERR)) || bits == libc::EPOLLERR
    {
        r = r | Ready::WRITE_CLOSED;
    }
    if has(libc::EPOLLERR) {
        r = r | Ready::ERROR;
    }
    r
}

fn ready(event: &mio::event::Event) -> Ready {
    let mut r = Ready::EMPTY;
    if event.is_readable() {
        r = r | Ready::READABLE;
    }
    if event.is_writable() {
        r = r | Ready::WRITABLE;
    }
    if event.is_read_closed() {
        r = r | Ready::READ_CLOSED;
    }
    if event.is_write_closed() {
        r = r | Ready::WRITE_CLOSED;
    }
    if event.is_error() {
        r = r | Ready::ERROR;
    }
    r
}
