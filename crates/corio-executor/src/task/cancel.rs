//! asyncio's cancellation: requests, delivery at await points, refusal, and
//! the cancel scopes of timeouts and task groups.
//!
//! # The model
//!
//! `task.cancel()` does not stop a task. It records a *request* and wakes
//! the task; the next corio awaitable the task polls (or the one it is
//! suspended in, which is polled again) completes with `Err(Cancelled)`:
//! the request is *delivered*. The task may clean up, awaiting normally, and
//! either let the cancellation through (it ends cancelled) or refuse it with
//! [`Cancelled::suppress`] (it ends normally). A task that finishes while a
//! request is pending and undelivered ends cancelled too (asyncio: a cancel
//! that lands just before the coroutine returns), and a task cancelled
//! before its first poll never runs its body.
//!
//! # Who keeps what
//!
//! * **The task** (its header's extras, behind their lock): how many
//!   requests were made and not withdrawn by `uncancel` (asyncio's
//!   `cancelling()`), how many were delivered, how many of those were
//!   suppressed, and the latest message. Two state bits mirror it so the
//!   hot paths need no lock: `CANCEL_REQUESTED` (a request awaits
//!   delivery) and `CANCEL_SEEN` (a request was ever made; completion must
//!   decide its outcome under the lock). Both change only under the lock.
//! * **A cancel scope** ([`Scope`], inside a timeout future, or a task
//!   group's run future, which cancels its body through one): its own
//!   requested / delivered / suppressed counts, in plain cells, since only
//!   the thread polling the task touches them. While the scope's future is
//!   polled, the scope is linked into this thread's *scope chain* (a
//!   thread-local list through the scopes' `parent` pointers, innermost
//!   first), and a thread-local count says how many scopes on the chain
//!   have a request awaiting delivery.
//!
//! # Delivery
//!
//! A corio awaitable calls [`poll_cancelled`] first. When nothing is pending
//! that is one load of the task's state word and one thread-local read.
//! Otherwise the *outermost* pending request is delivered (the task's own
//! before any scope's: the whole task is going away), and the pending
//! requests of the scopes inside it are dropped, absorbed by the same
//! delivery: one `Err(Cancelled)` per await, never one per request. A scope
//! whose request was absorbed does not turn the cancellation into a
//! `TimeoutError`: the outer cancellation goes on through it.
//!
//! # Outcome
//!
//! With the extras lock held, the completing thread decides: the task ends
//! cancelled iff `cancelling() > 0` and a request is undelivered or a
//! delivered one was not suppressed. `uncancel()` down to zero therefore
//! also lets the output through, as does suppressing every delivery.

use std::cell::Cell;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use super::error::{Cancelled, ScopeKind, Source};
use super::raw::Header;
use super::state::WakeAction;
use crate::context;
use crate::sync::thread_local;

// `SCOPES`: the innermost scope being polled on this thread, or null.
// `PENDING`: the one word `poll_cancelled` reads: how many scopes on that
// chain have a request awaiting delivery, plus `ROOT` if the task being
// polled may have one of its own (set when its poll starts, if its state
// says so, or when it cancels itself; cleared when the request is
// delivered). A request from another thread during a poll is seen at the
// next poll, which it causes (it wakes the task).
thread_local! {
    static SCOPES: Cell<*const Scope> = Cell::new(ptr::null());
    static PENDING: Cell<u32> = Cell::new(0);
}

/// The `PENDING` bit of the task's own request.
const ROOT: u32 = 1 << 31;

/// A task's poll starts: sets the root hint, returns the word to restore.
pub(crate) fn cancel_enter_task(requested: bool) -> u32 {
    PENDING.with(|p| p.replace(if requested { ROOT } else { 0 }))
}

/// The poll ends: restores the word saved by `cancel_enter_task`.
pub(crate) fn cancel_leave_task(saved: u32) {
    PENDING.with(|p| p.set(saved));
}

fn set_root_hint(on: bool) {
    PENDING.with(|p| p.set(if on { p.get() | ROOT } else { p.get() & !ROOT }));
}

/// The leaf check of every corio awaitable: delivers a pending cancellation
/// request of the current task, or of a cancel scope it is inside, as the
/// `Err` the awaitable completes with. `None` outside a task. When nothing
/// is pending it reads one thread-local word.
///
/// # Example
///
/// A leaf future of one's own that is a cancellation point:
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use corio_executor::Cancelled;
///
/// struct Forever;
/// impl Future for Forever {
///     type Output = Result<(), Cancelled>;
///     fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
///         match corio_executor::poll_cancelled() {
///             Some(c) => Poll::Ready(Err(c)),
///             None => Poll::Pending, // `cancel()` wakes the task: we are polled again
///         }
///     }
/// }
/// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// let out = rt.run(async {
///     let t = corio_executor::spawn(async { Forever.await });
///     corio_executor::yield_now().await.unwrap();
///     t.cancel();
///     t.await
/// });
/// assert!(out.unwrap_err().is_cancelled());
/// ```
#[inline]
pub fn poll_cancelled() -> Option<Cancelled> {
    if PENDING.with(Cell::get) == 0 {
        return None;
    }
    let task = context::current_task_header()?;
    // SAFETY: the current task is alive while it is being polled.
    deliver(unsafe { task.as_ref() })
}

#[cold]
fn deliver(header: &Header) -> Option<Cancelled> {
    let task = header.id();
    // The task's own request first: it is the outermost.
    if let Some(c) = header.with_extras(|e| {
        if !header.state.load().is_cancel_requested() {
            set_root_hint(false);
            return None;
        }
        set_root_hint(false);
        header.state.clear_cancel_requested();
        e.cancel_delivered += 1;
        Some(Cancelled::delivered(
            e.cancel_message.clone(),
            Source::Task(task),
        ))
    }) {
        absorb_scopes(None);
        return Some(c);
    }
    // The outermost pending scope.
    let mut outermost: *const Scope = ptr::null();
    let mut cur = SCOPES.with(Cell::get);
    while !cur.is_null() {
        // SAFETY: scopes on the chain are alive: each is linked for the
        // duration of a poll of the future that contains it.
        let scope = unsafe { &*cur };
        if scope.is_pending() {
            outermost = cur;
        }
        cur = scope.parent.get();
    }
    if outermost.is_null() {
        return None;
    }
    // SAFETY: as above.
    let scope = unsafe { &*outermost };
    scope.delivered.set(scope.requested.get());
    PENDING.with(|p| p.set(p.get() - 1));
    absorb_scopes(Some(outermost));
    Some(Cancelled::delivered(
        None,
        Source::Scope(task, scope.id.get(), scope.kind),
    ))
}

/// Drops the pending requests of the scopes inside `until` (all of them if
/// `None`): the delivery just made stands for them too.
fn absorb_scopes(until: Option<*const Scope>) {
    let mut cur = SCOPES.with(Cell::get);
    while !cur.is_null() && Some(cur) != until {
        // SAFETY: scopes on the chain are alive (see `deliver`).
        let scope = unsafe { &*cur };
        if scope.is_pending() {
            scope.requested.set(scope.delivered.get());
            scope.absorbed.set(true);
            PENDING.with(|p| p.set(p.get() - 1));
        }
        cur = scope.parent.get();
    }
}

/// `Cancelled::suppress`: the current task refuses the request `c`
/// delivered.
pub(crate) fn suppress(c: &Cancelled) {
    let Some(task) = context::current_task_header() else {
        return;
    };
    // SAFETY: the current task is alive while it is being polled.
    let header = unsafe { task.as_ref() };
    match c.source() {
        Source::Task(id) if id == header.id() => header.with_extras(|e| {
            if e.cancel_suppressed < e.cancel_delivered {
                e.cancel_suppressed += 1;
            }
        }),
        Source::Scope(id, scope_id, _) if id == header.id() => {
            let mut cur = SCOPES.with(Cell::get);
            while !cur.is_null() {
                // SAFETY: scopes on the chain are alive (see `deliver`).
                let scope = unsafe { &*cur };
                if scope.id.get() == scope_id {
                    if scope.suppressed.get() < scope.delivered.get() {
                        scope.suppressed.set(scope.suppressed.get() + 1);
                    }
                    return;
                }
                cur = scope.parent.get();
            }
        }
        _ => {}
    }
}

/// Puts back a cancellation that was delivered from a cancel scope
/// enclosing the current poll (`c` came from `poll_cancelled`): the scope
/// asks again, so the next await inside it is cancelled, and the scope does
/// not count it as let through. A task group does this when its failures
/// win over the cancellation (asyncio's `uncancel(); cancel()`). False if
/// `c` is not such a cancellation.
pub(crate) fn rearm(c: &Cancelled) -> bool {
    let Source::Scope(task, scope_id, _) = c.source() else {
        return false;
    };
    // SAFETY: the current task is alive while it is being polled.
    if context::current_task_header().map(|t| unsafe { t.as_ref() }.id()) != Some(task) {
        return false;
    }
    let mut cur = SCOPES.with(Cell::get);
    while !cur.is_null() {
        // SAFETY: scopes on the chain are alive (see `deliver`).
        let scope = unsafe { &*cur };
        if scope.id.get() == scope_id {
            if scope.delivered.get() <= scope.suppressed.get() {
                return false;
            }
            let was_pending = scope.is_pending();
            scope.delivered.set(scope.delivered.get() - 1);
            if !was_pending {
                PENDING.with(|p| p.set(p.get() + 1));
            }
            return true;
        }
        cur = scope.parent.get();
    }
    false
}

/// The cancellations of the scopes enclosing the current poll that were
/// delivered and not suppressed: how many, and the outermost one. A task
/// group compares the count before and after its body to see whether the
/// body let such a cancellation through.
pub(crate) fn scopes_let_through() -> (u32, Option<Cancelled>) {
    let Some(task) = context::current_task_header() else {
        return (0, None);
    };
    // SAFETY: the current task is alive while it is being polled.
    let task = unsafe { task.as_ref() }.id();
    let (mut count, mut outermost) = (0, None);
    let mut cur = SCOPES.with(Cell::get);
    while !cur.is_null() {
        // SAFETY: scopes on the chain are alive (see `deliver`).
        let scope = unsafe { &*cur };
        let through = scope.delivered.get().saturating_sub(scope.suppressed.get());
        if through > 0 {
            count += through;
            outermost = Some(Source::Scope(task, scope.id.get(), scope.kind));
        }
        cur = scope.parent.get();
    }
    (count, outermost.map(|s| Cancelled::delivered(None, s)))
}

/// The outcome rule, with the extras lock held: `Some` if a task that
/// finishes now ends cancelled (see the module docs).
pub(crate) fn outcome(e: &super::raw::Extras, pending: bool) -> Option<Cancelled> {
    (e.cancel_requests > 0 && (pending || e.cancel_delivered > e.cancel_suppressed))
        .then(|| Cancelled::delivered(e.cancel_message.clone(), Source::None))
}

/// The cancel scope of one timeout: see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// Unique in the task; given when the scope first makes a request.
    id: Cell<u64>,
    requested: Cell<u32>,
    delivered: Cell<u32>,
    suppressed: Cell<u32>,
    /// A request of ours was dropped because an outer one was delivered.
    absorbed: Cell<bool>,
    /// The next scope out, while linked.
    parent: Cell<*const Scope>,
    kind: ScopeKind,
}

// SAFETY: `parent` is only followed while the scope is linked, which is
// within one poll on one thread; the cells are only touched by the thread
// polling the task that owns the scope.
unsafe impl Send for Scope {}

impl Scope {
    /// The scope of a task group's body.
    pub(crate) fn for_task_group() -> Scope {
        Scope {
            kind: ScopeKind::TaskGroup,
            ..Scope::default()
        }
    }

    fn is_pending(&self) -> bool {
        self.requested.get() > self.delivered.get()
    }

    /// Asks for the scope's future to be cancelled (the timeout expired).
    /// Call it while the scope is not linked (before `enter`).
    pub(crate) fn request(&self) {
        if self.id.get() == 0 {
            self.id.set(next_scope_id());
        }
        self.requested.set(self.requested.get() + 1);
    }

    /// Whether the scope asked for a cancellation.
    pub(crate) fn was_requested(&self) -> bool {
        self.requested.get() > 0 || self.absorbed.get()
    }

    /// The scope's future finished: whether a cancellation of ours was
    /// delivered and let through (then the scope reports a timeout).
    pub(crate) fn let_through(&self) -> bool {
        self.delivered.get() > self.suppressed.get()
    }

    /// Links the scope as the innermost on this thread while its future is
    /// polled; the guard unlinks it.
    ///
    /// The scope must stay where it is until the guard is dropped (it sits
    /// in a pinned future).
    pub(crate) fn enter(&self) -> ScopeGuard<'_> {
        self.parent
            .set(SCOPES.with(|s| s.replace(self as *const Scope)));
        if self.is_pending() {
            PENDING.with(|p| p.set(p.get() + 1));
        }
        ScopeGuard { scope: self }
    }
}

/// Unlinks a scope (see [`Scope::enter`]), also when the poll panics.
pub(crate) struct ScopeGuard<'a> {
    scope: &'a Scope,
}

impl Drop for ScopeGuard<'_> {
    fn drop(&mut self) {
        if self.scope.is_pending() {
            PENDING.with(|p| p.set(p.get() - 1));
        }
        SCOPES.with(|s| s.set(self.scope.parent.get()));
        self.scope.parent.set(ptr::null());
    }
}

/// A fresh scope id. Only scopes that expire take one, so this shared
/// counter is off the hot path (it is not a protocol: std, not the facade).
fn next_scope_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Header {
    /// `cancel()` / `cancel_with(msg)`: records a request and wakes the
    /// task. False if it already finished.
    pub(crate) fn cancel(ptr: NonNull<Header>, message: Option<Arc<str>>) -> bool {
        // SAFETY: callers hold a reference (a `Task` or `TaskRef`).
        let header = unsafe { ptr.as_ref() };
        let action = header.with_extras(|e| match header.state.request_cancel() {
            Err(()) => None,
            Ok(action) => {
                e.cancel_requests += 1;
                if message.is_some() {
                    e.cancel_message = message;
                }
                Some(action)
            }
        });
        if action.is_some() && context::current_task_header() == Some(ptr) {
            // A task cancelling itself: its next await in this poll delivers.
            set_root_hint(true);
        }
        match action {
            None => false,
            Some(WakeAction::Submit) => {
                // SAFETY: `request_cancel` took a reference for the
                // notification.
                unsafe { Header::schedule_raw(ptr) };
                true
            }
            Some(_) => true,
        }
    }

    /// Whether the task would end cancelled if it finished now (the
    /// outcome rule): a request is outstanding and undelivered, or was
    /// delivered and not suppressed.
    pub(crate) fn is_being_cancelled(&self) -> bool {
        if !self.state.load().is_cancel_seen() {
            return false;
        }
        self.with_extras(|e| outcome(e, self.state.load().is_cancel_requested()).is_some())
    }

    /// The message of the latest cancellation request, if any.
    pub(crate) fn cancel_message(&self) -> Option<Arc<str>> {
        self.read_extras(|e| e.and_then(|e| e.cancel_message.clone()))
    }

    /// Refuses one delivered, unsuppressed request of this task (a task
    /// group whose failures win over the cancellation).
    pub(crate) fn suppress_one_delivery(&self) {
        self.with_extras(|e| {
            if e.cancel_suppressed < e.cancel_delivered {
                e.cancel_suppressed += 1;
            }
        });
    }

    /// asyncio's `cancelling()`: requests made and not withdrawn.
    pub(crate) fn cancelling(&self) -> u32 {
        self.read_extras(|e| e.map_or(0, |e| e.cancel_requests))
    }

    /// asyncio's `uncancel()` (3.11): withdraws one request; returns how
    /// many remain.
    pub(crate) fn uncancel(&self) -> u32 {
        if !self.state.load().is_cancel_seen() {
            return 0;
        }
        self.with_extras(|e| {
            e.cancel_requests = e.cancel_requests.saturating_sub(1);
            e.cancel_requests
        })
    }

    /// Delivers the pending request of a task that is about to run for the
    /// first time (its body never runs).
    pub(crate) fn take_request_before_start(&self) -> Cancelled {
        let id = self.id();
        self.with_extras(|e| {
            self.state.clear_cancel_requested();
            e.cancel_delivered += 1;
            Cancelled::delivered(e.cancel_message.clone(), Source::Task(id))
        })
    }
}
