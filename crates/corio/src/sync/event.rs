//! `Event`: asyncio's `Event`.
//!
//! The flag is an atomic, read without the mutex by `is_set` and by a
//! waiter's first poll. A waiter links itself under the mutex and records
//! the event's *generation*. `set` stores the flag, empties the wait list
//! and bumps the generation under the mutex, then wakes the waiters it took
//! out: each waiter that was waiting when the event was set returns (it
//! sees a new generation, without taking the mutex), even if `clear` runs
//! before it gets to run; a waiter that arrives after a `clear` waits for
//! the next `set`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use corio_executor::sync::{AtomicBool, AtomicUsize, Mutex, Ordering};
use corio_executor::Cancelled;

use super::waiters::{wake_all, Key, WaitList};

/// A flag tasks can wait for (asyncio's `Event`): [`wait`](Event::wait)
/// returns once [`set`](Event::set) has been called, at once if it is set.
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let ready = Arc::new(corio::sync::Event::new());
///     let waiter = corio::spawn({
///         let ready = ready.clone();
///         async move {
///             ready.wait().await.unwrap();
///             "went on"
///         }
///     });
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "went on");
/// });
/// ```
pub struct Event {
    set: AtomicBool,
    /// Bumped (under the mutex) by every `set` that released waiters.
    generation: AtomicUsize,
    waiters: Mutex<WaitList>,
}

impl Event {
    /// An event that is not set.
    ///
    /// ```
    /// assert!(!corio::sync::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            set: AtomicBool::new(false),
            generation: AtomicUsize::new(0),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Sets the flag and wakes every waiting task.
    ///
    /// ```
    /// let ev = corio::sync::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        if self.set.load(Ordering::Acquire) {
            return;
        }
        let mut list = self.waiters.lock();
        self.set.store(true, Ordering::Release);
        let wakers = list.drain();
        self.generation.fetch_add(1, Ordering::Release);
        drop(list);
        wake_all(wakers);
    }

    /// Clears the flag: later [`wait`](Self::wait)s wait for the next
    /// [`set`](Self::set).
    ///
    /// ```
    /// let ev = corio::sync::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.set.store(false, Ordering::Release);
    }

    /// Whether the flag is set.
    ///
    /// ```
    /// assert!(!corio::sync::Event::new().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Waits until the flag is set (a cancellation point).
    ///
    /// ```
    /// corio::run(async {
    ///     let ev = corio::sync::Event::new();
    ///     ev.set();
    ///     ev.wait().await.unwrap(); // set: returns at once
    /// });
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
            generation: 0,
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

/// The future of [`Event::wait`].
///
/// ```
/// corio::run(async {
///     let ev = corio::sync::Event::new();
///     ev.set();
///     let wait: corio::sync::EventWait<'_> = ev.wait();
///     wait.await.unwrap();
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    /// The node, while linked in the generation below.
    key: Option<Key>,
    generation: usize,
}

impl Future for EventWait<'_> {
    type Output = Result<(), Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(c) = corio_executor::poll_cancelled() {
            self.leave();
            return Poll::Ready(Err(c));
        }
        std::task::ready!(corio_executor::hooks::poll_proceed(cx));
        let out = match self.key {
            None => {
                if self.event.set.load(Ordering::Acquire) {
                    return Poll::Ready(Ok(()));
                }
                let mut list = self.event.waiters.lock();
                if self.event.set.load(Ordering::Acquire) {
                    return Poll::Ready(Ok(()));
                }
                self.generation = self.event.generation.load(Ordering::Relaxed);
                self.key = Some(list.push_back(cx.waker(), 0));
                Poll::Pending
            }
            Some(key) => {
                if self.event.generation.load(Ordering::Acquire) != self.generation {
                    // A `set` released this waiter and freed its node.
                    self.key = None;
                    return Poll::Ready(Ok(()));
                }
                let mut list = self.event.waiters.lock();
                if self.event.generation.load(Ordering::Acquire) != self.generation {
                    self.key = None;
                    return Poll::Ready(Ok(()));
                }
                list.poll_notified(key, cx.waker());
                Poll::Pending
            }
        };
        crate::track(out)
    }
}

impl EventWait<'_> {
    fn leave(&mut self) {
        if let Some(key) = self.key.take() {
            if self.event.generation.load(Ordering::Acquire) == self.generation {
                let mut list = self.event.waiters.lock();
                // Still linked unless a `set` got in meanwhile.
                if self.event.generation.load(Ordering::Acquire) == self.generation {
                    list.remove(key);
                }
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
