//! The OS poller, behind a small backend contract.
//!
//! # Backend contract
//!
//! A backend module provides exactly these items; everything else in the
//! crate is written against them:
//!
//! * `struct Selector` (owned by one reactor; `Send`):
//!   * `fn new() -> io::Result<Selector>`;
//!   * `fn registrar(&self) -> io::Result<Registrar>`;
//!   * `fn notifier(&self) -> io::Result<Notifier>`;
//!   * `fn select(&mut self, events: &mut Events, timeout: Option<Duration>)
//!     -> io::Result<()>`: blocks until an event, the timeout, or a
//!     notification; returns after at most `timeout` (never early, up to
//!     the backend's resolution); `EINTR` is an empty, successful return.
//!     Notifications are not delivered as events.
//! * `struct Registrar` (`Send + Sync`; registers sources from any thread):
//!   * `fn register(&self, fd: RawFd, token: usize, interest: Interest)
//!     -> io::Result<()>`: **edge-triggered**, reporting every readiness
//!     change of `interest` (plus errors and hang-ups) with `token`;
//!   * `fn deregister(&self, fd: RawFd) -> io::Result<()>`; the caller
//!     deregisters before it closes the fd;
//!   * `fn select_now(&self, f: impl FnMut(usize, Ready), renotify: impl
//!     FnOnce() -> bool) -> io::Result<bool>`: without blocking, calls `f`
//!     with the token and readiness of events ready now, on any thread,
//!     also while the owner blocks in `select` (each edge goes to one of
//!     them). A notification it takes is sent again if `renotify()` says
//!     the owner may be blocking (or about to block) in `select` for it, so
//!     that the owner's `select` still returns; otherwise it is dropped.
//!     `Ok(false)`: the backend cannot do this (nothing was taken).
//! * `struct Notifier` (`Send + Sync`): `fn notify(&self)` makes the
//!   current or next `select` return; notifications coalesce and are never
//!   lost (one that precedes `select` makes it return at once).
//! * `struct Events`: `fn with_capacity(n: usize) -> Events`, and
//!   `fn for_each(&self, f: impl FnMut(usize, Ready))`, the token and
//!   readiness of each event of the last `select`.
//!
//! Backends: `mio` (the default) and `polling` (cargo feature `polling`).
//! Tokens are never `usize::MAX` (both backends reserve it).

#[cfg(not(feature = "polling"))]
mod mio;
#[cfg(not(feature = "polling"))]
pub(crate) use self::mio::{Events, Notifier, Registrar, Selector};

#[cfg(feature = "polling")]
mod polling;
#[cfg(feature = "polling")]
pub(crate) use self::polling::{Events, Notifier, Registrar, Selector};

/// The name of the backend in use, for tests and benchmarks.
/// `EPOLLRDHUP` is registered and reported (`crate::REPORTS_READ_CLOSED`).
pub(crate) const REPORTS_READ_CLOSED: bool = !cfg!(feature = "polling");

pub(crate) const BACKEND: &str = if cfg!(feature = "polling") {
    "polling"
} else {
    "mio"
};
