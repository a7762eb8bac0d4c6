//! The `polling` backend (cargo feature `polling`): one `polling::Poller`,
//! shared by the reactor, its registrar and its notifier. See the contract
//! in `sys/mod.rs`.

use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use polling::{Event, PollMode, Poller};

use crate::{Interest, Ready};

pub(crate) struct Selector(Arc<Poller>);

pub(crate) struct Registrar(Arc<Poller>);

#[derive(Clone)]
pub(crate) struct Notifier(Arc<Poller>);

pub(crate) struct Events(polling::Events);

fn event(token: usize, i: Interest) -> Event {
    Event::new(token, i.is_readable(), i.is_writable())
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        Ok(Selector(Arc::new(Poller::new()?)))
    }

    pub(crate) fn registrar(&self) -> io::Result<Registrar> {
        Ok(Registrar(self.0.clone()))
    }

    pub(crate) fn notifier(&self) -> io::Result<Notifier> {
        Ok(Notifier(self.0.clone()))
    }

    pub(crate) fn select(
        &mut self,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        events.0.clear();
        // `polling` retries EINTR itself and does not report notifications
        // as events.
        self.0.wait(&mut events.0, timeout).map(drop)
    }
}

impl Registrar {
    pub(crate) fn register(&self, fd: RawFd, token: usize, i: Interest) -> io::Result<()> {
        // SAFETY: the contract makes the caller deregister `fd` before it
        // closes it, which is what `Poller::add` requires.
        unsafe { self.0.add_with_mode(fd, event(token, i), PollMode::Edge) }
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: the fd is open: the contract deregisters before closing.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        self.0.delete(fd)
    }

    pub(crate) fn select_now(
        &self,
        _f: impl FnMut(usize, Ready),
        _renotify: impl FnOnce() -> bool,
    ) -> io::Result<bool> {
        // `Poller::wait` admits one waiter at a time (a second returns at
        // once with nothing), and its notifier is registered one-shot, so
        // waiting on its epoll fd behind its back could swallow a wakeup.
        Ok(false)
    }
}

impl Notifier {
    pub(crate) fn notify(&self) {
        // Fails only if the notification pipe is broken, in which case the
        // poller is gone and nobody waits.
        let _ = self.0.notify();
    }
}

impl Events {
    pub(crate) fn with_capacity(n: usize) -> Events {
        Events(polling::Events::with_capacity(
            NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN),
        ))
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(usize, Ready)) {
        for ev in self.0.iter() {
            let mut r = Ready::EMPTY;
            if ev.readable {
                r = r | Ready::READABLE;
            }
            if ev.writable {
                r = r | Ready::WRITABLE;
            }
            if ev.is_interrupt() {
                // EPOLLHUP / EPOLLRDHUP: the peer is gone in both directions.
                r = r | Ready::READ_CLOSED | Ready::WRITE_CLOSED;
            }
            if ev.is_err() == Some(true) {
                r = r | Ready::ERROR;
            }
            f(ev.key, r);
        }
    }
}
