//! The wait list under every primitive of `corio::sync`.
//!
//! A [`WaitList`] is a FIFO of waiting futures kept in a slab, always used
//! under its primitive's mutex. A waiter is in one of three states:
//!
//! * **linked**: in the FIFO, waiting; its node holds the waker of its
//!   latest poll;
//! * **notified**: taken out of the FIFO by the primitive, which has given
//!   it what it waited for (the lock, permits, a notification, a wakeup to
//!   re-check a queue); the node stays allocated until the waiter's future
//!   sees it, so that the primitive can still count it (asyncio's "woken
//!   but not yet run" waiters);
//! * **free**: the future consumed the notification, or gave up.
//!
//! Invariants, each kept under the primitive's mutex:
//!
//! * A future owns at most one node and is the only one to free it, by
//!   [`WaitList::poll_notified`] (it got what it waited for) or
//!   [`WaitList::remove`] (cancelled, aborted or dropped). `remove` says
//!   whether the node had been notified, and then the future passes what it
//!   was given on (hands the lock to the next waiter, returns its permits,
//!   wakes the next getter): a notification is never lost with the future
//!   that was meant to take it.
//! * A notification moves a node from linked to notified exactly once, in
//!   FIFO order, and its waker is woken after the mutex is released.
//! * When the last node is freed, the slab is emptied and gives back memory
//!   a burst of waiters needed.

use std::task::Waker;

/// Names one waiter's node.
pub(crate) type Key = u32;

const NIL: u32 = u32::MAX;

/// Slab capacity (in nodes) kept when the list empties; beyond it the
/// memory goes back to the allocator.
const KEEP_NODES: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Status {
    Free,
    Linked,
    Notified,
}

#[derive(Debug)]
struct Node {
    waker: Option<Waker>,
    prev: u32,
    next: u32,
    status: Status,
    /// What the waiter asks for (a semaphore's permit count).
    want: u32,
}

/// A FIFO of waiters in a slab (see the module docs).
#[derive(Debug)]
pub(crate) struct WaitList {
    nodes: Vec<Node>,
    head: u32,
    tail: u32,
    /// Free nodes, chained through `next`.
    free: u32,
    /// Nodes in the FIFO.
    linked: usize,
    /// Nodes linked or notified.
    used: usize,
}

impl Default for WaitList {
    fn default() -> Self {
        WaitList::new()
    }
}

impl WaitList {
    pub(crate) const fn new() -> WaitList {
        WaitList {
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            linked: 0,
            used: 0,
        }
    }

    /// Links a new waiter at the back; it will be woken with `waker`.
    pub(crate) fn push_back(&mut self, waker: &Waker, want: usize) -> Key {
        let want = u32::try_from(want).unwrap_or_else(|_| {
            panic!("corio::sync: a wait for {want} permits at once: at most u32::MAX")
        });
        let node = Node {
            waker: Some(waker.clone()),
            prev: self.tail,
            next: NIL,
            status: Status::Linked,
            want,
        };
        let key = if self.free != NIL {
            let key = self.free;
            self.free = self.nodes[key as usize].next;
            self.nodes[key as usize] = node;
            key
        } else {
            let key = u32::try_from(self.nodes.len())
                .ok()
                .filter(|&k| k != NIL)
                .expect("corio::sync: more than 4 billion waiters on one primitive");
            self.nodes.push(node);
            key
        };
        if self.tail == NIL {
            self.head = key;
        } else {
            self.nodes[self.tail as usize].next = key;
        }
        self.tail = key;
        self.linked += 1;
        self.used += 1;
        key
    }

    /// Waiters linked or notified but not yet run.
    #[inline]
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// What the front waiter asks for.
    #[inline]
    pub(crate) fn front_want(&self) -> Option<usize> {
        (self.head != NIL).then(|| self.nodes[self.head as usize].want as usize)
    }

    /// Takes the front waiter out of the FIFO, marks it notified and
    /// returns its waker (to wake once the mutex is released).
    pub(crate) fn notify_front(&mut self) -> Option<Waker> {
        if self.head == NIL {
            return None;
        }
        let key = self.head;
        self.unlink(key);
        let node = &mut self.nodes[key as usize];
        node.status = Status::Notified;
        node.waker.take()
    }

    /// Notifies every linked waiter, in FIFO order, and returns their
    /// wakers.
    pub(crate) fn notify_all(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::with_capacity(self.linked);
        while let Some(w) = self.notify_front() {
            wakers.push(w);
        }
        wakers
    }

    /// Empties the list at once, returning the wakers of the linked
    /// waiters: every key handed out so far becomes invalid. For a
    /// primitive whose waiters tell by other means that they were released
    /// (`Event`'s generation), so that they never take the mutex again.
    pub(crate) fn drain(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::with_capacity(self.linked);
        let mut key = self.head;
        while key != NIL {
            let node = &mut self.nodes[key as usize];
            wakers.extend(node.waker.take());
            key = node.next;
        }
        self.nodes.clear();
        self.nodes.shrink_to(KEEP_NODES);
        self.head = NIL;
        self.tail = NIL;
        self.free = NIL;
        self.linked = 0;
        self.used = 0;
        wakers
    }

    /// For the future that owns `key`: true (and the node is freed) if it
    /// was notified; otherwise its waker becomes `waker` and it stays.
    pub(crate) fn poll_notified(&mut self, key: Key, waker: &Waker) -> bool {
        let node = &mut self.nodes[key as usize];
        match node.status {
            Status::Notified => {
                self.release(key);
                true
            }
            Status::Linked => {
                match &mut node.waker {
                    Some(w) if w.will_wake(waker) => {}
                    slot => *slot = Some(waker.clone()),
                }
                false
            }
            Status::Free => unreachable!("corio::sync: a waiter polled a freed node"),
        }
    }

    /// For the future that owns `key` and gives up: frees the node and
    /// returns whether it had been notified (then the caller passes on what
    /// it was given) and what it asked for.
    pub(crate) fn remove(&mut self, key: Key) -> (bool, usize) {
        let node = &self.nodes[key as usize];
        let (status, want) = (node.status, node.want as usize);
        match status {
            Status::Linked => self.unlink(key),
            Status::Notified => {}
            Status::Free => unreachable!("corio::sync: a waiter removed a freed node"),
        }
        self.release(key);
        (status == Status::Notified, want)
    }

    fn unlink(&mut self, key: Key) {
        let (prev, next) = {
            let n = &self.nodes[key as usize];
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
        self.linked -= 1;
    }

    fn release(&mut self, key: Key) {
        self.used -= 1;
        if self.used == 0 {
            // Every node is free: start over, and give back what a burst
            // of waiters needed.
            self.nodes.clear();
            self.nodes.shrink_to(KEEP_NODES);
            self.head = NIL;
            self.tail = NIL;
            self.free = NIL;
            return;
        }
        let node = &mut self.nodes[key as usize];
        node.status = Status::Free;
        node.waker = None;
        node.next = self.free;
        self.free = key;
    }

    /// Slab capacity, for the tests of memory give-back.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.nodes.capacity()
    }
}

/// Wakes every waker in `wakers` (after the caller released its mutex).
#[inline]
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// Wakers collected under a mutex, to wake after it is released: the first
/// one inline, so that the common hand-off to one waiter allocates nothing.
#[derive(Default)]
pub(crate) struct Wakers {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Wakers {
    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Wakes them all, in the order they were added.
    pub(crate) fn wake(self) {
        if let Some(w) = self.first {
            w.wake();
        }
        wake_all(self.rest);
    }
}

impl Extend<Waker> for Wakers {
    fn extend<I: IntoIterator<Item = Waker>>(&mut self, iter: I) {
        for w in iter {
            if self.first.is_none() {
                self.first = Some(w);
            } else {
                self.rest.push(w);
            }
        }
    }
}

/// Runs `future` to completion on this OS thread, parking it between polls:
/// the `*_blocking` methods. Panics (naming `what` and its async twin
/// `instead`) on a corio worker thread, where blocking would stall the
/// event loop.
#[track_caller]
pub(crate) fn block_on<F: std::future::Future>(what: &str, instead: &str, future: F) -> F::Output {
    use corio_executor::sync::thread;
    use std::task::{Context, Poll, Wake};

    if corio_executor::Handle::try_current().is_some() {
        panic!(
            "corio::sync: {what} blocks the OS thread and was called on a corio worker, \
             where it would stall the event loop: use `{instead}` in async code, and \
             {what} only on a plain thread or inside `corio::to_thread(..)`"
        );
    }
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn noop() -> Waker {
        Waker::noop().clone()
    }

    #[test]
    fn notifications_go_in_fifo_order_and_removed_waiters_are_skipped() {
        let w = noop();
        let mut l = WaitList::new();
        let a = l.push_back(&w, 1);
        let b = l.push_back(&w, 2);
        let c = l.push_back(&w, 3);
        assert_eq!(l.remove(b), (false, 2));
        assert_eq!(l.front_want(), Some(1));
        assert!(l.notify_front().is_some());
        assert_eq!(l.front_want(), Some(3));
        assert_eq!(l.used(), 2);
        assert!(l.poll_notified(a, &w));
        assert!(!l.poll_notified(c, &w));
        assert!(l.notify_front().is_some());
        assert!(l.notify_front().is_none());
        assert_eq!(l.remove(c), (true, 3));
        assert_eq!(l.used(), 0);
    }

    #[test]
    fn a_node_is_a_waker_and_16_bytes_more() {
        assert!(std::mem::size_of::<Node>() <= std::mem::size_of::<Waker>() + 16);
    }

    #[test]
    fn the_slab_gives_memory_back_when_the_last_waiter_leaves() {
        let w = noop();
        let mut l = WaitList::new();
        let keys: Vec<_> = (0..10_000).map(|_| l.push_back(&w, 1)).collect();
        assert!(l.capacity() >= 10_000);
        for k in keys {
            l.remove(k);
        }
        assert!(l.capacity() <= KEEP_NODES);
    }
}
