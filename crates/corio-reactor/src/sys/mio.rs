//! The mio backend (the default): `mio::Poll`, its `Registry`, an eventfd
//! `mio::Waker`. See the contract in `sys/mod.rs`.

use std::io;
use std::os::fd::RawFd;
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

pub(crate) struct Registrar(mio::Registry);

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
        Ok(Registrar(self.poll.registry().try_clone()?))
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
        self.0
            .register(&mut SourceFd(&fd), Token(token), interest(i))
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.0.deregister(&mut SourceFd(&fd))
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
