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

use super::error::{CancelScope, Cancelled, Source};
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
/// use corio::Cancelled;
///
/// struct Forever;
/// impl Future for Forever {
///     type Output = Result<(), Cancelled>;
///     fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
///         match corio::poll_cancelled() {
///             Some(c) => Poll::Ready(Err(c)),
///             None => Poll::Pending, // `cancel()` wakes the task: we are polled again
///         }
///     }
/// }
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// let out = rt.run(async {
///     let t = corio::spawn(async { Forever.await });
///     corio::yield_now().await.unwrap();
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
///
/// ```
/// use std::future::{poll_fn, Future};
/// use std::task::Poll;
/// use corio::CancelScope;
/// use corio_executor::hooks::{self, Scope};
///
/// corio::run(async {
///     let scope = Scope::new(CancelScope::Timeout);
///     scope.cancel();
///     let mut a = std::pin::pin!(corio::yield_now());
///     let mut b = std::pin::pin!(corio::yield_now());
///     let (rearmed, again) = poll_fn(|cx| {
///         Poll::Ready(scope.poll_in(|| {
///             let Poll::Ready(Err(c)) = a.as_mut().poll(cx) else { unreachable!() };
///             let rearmed = hooks::rearm(&c);
///             (rearmed, b.as_mut().poll(cx))
///         }))
///     })
///     .await;
///     assert!(rearmed);
///     assert!(matches!(again, Poll::Ready(Err(_))), "the scope asked again");
/// });
/// ```
pub fn rearm(c: &Cancelled) -> bool {
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
///
/// ```
/// use std::future::{poll_fn, Future};
/// use std::task::Poll;
/// use corio::CancelScope;
/// use corio_executor::hooks::{self, Scope};
///
/// corio::run(async {
///     assert_eq!(hooks::scopes_let_through().0, 0);
///     let scope = Scope::new(CancelScope::Timeout);
///     scope.cancel();
///     let mut a = std::pin::pin!(corio::yield_now());
///     let (count, outermost) = poll_fn(|cx| {
///         Poll::Ready(scope.poll_in(|| {
///             assert!(matches!(a.as_mut().poll(cx), Poll::Ready(Err(_))));
///             hooks::scopes_let_through()
///         }))
///     })
///     .await;
///     assert_eq!(count, 1);
///     assert_eq!(outermost.unwrap().scope(), CancelScope::Timeout);
/// });
/// ```
pub fn scopes_let_through() -> (u32, Option<Cancelled>) {
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

/// A cancel scope: a region of a task (one future inside it) that can be
/// cancelled on its own, the primitive under `corio::timeout` and
/// `corio::TaskGroup` (trio's `CancelScope`).
///
/// The future that owns the scope polls its inner future through
/// [`poll_in`](Scope::poll_in). After [`cancel`](Scope::cancel), the next
/// cancellation point polled inside (a corio awaitable, or anything that
/// calls [`poll_cancelled`]) completes with `Err(Cancelled)`, whose
/// [`scope()`](Cancelled::scope) is the scope's kind; awaits outside the
/// scope are not affected. When the inner future finishes,
/// [`cancelled_caught`](Scope::cancelled_caught) says whether it let that
/// cancellation through (then the owner reports its own outcome, such as a
/// `TimeoutError`) or refused it with [`Cancelled::suppress`].
///
/// Scopes nest; a cancellation of the whole task, or of an outer scope,
/// is delivered first and stands for the inner scopes' requests too (one
/// `Err` per await, never one per request). A scope is used by the task
/// that polls it, on that task's thread.
///
/// # Example
///
/// A future that cancels what it runs after its first `Pending`:
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use corio::CancelScope;
/// use corio_executor::hooks::Scope;
///
/// struct CancelAfterFirstPending<F> {
///     inner: Pin<Box<F>>,
///     scope: Scope,
/// }
///
/// impl<F: Future> Future for CancelAfterFirstPending<F> {
///     type Output = (F::Output, bool);
///     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
///         let this = &mut *self;
///         let out = this.scope.poll_in(|| this.inner.as_mut().poll(cx));
///         match out {
///             Poll::Ready(v) => Poll::Ready((v, this.scope.cancelled_caught())),
///             Poll::Pending => {
///                 if !this.scope.cancel_called() {
///                     this.scope.cancel();
///                     cx.waker().wake_by_ref(); // deliver it at the next poll
///                 }
///                 Poll::Pending
///             }
///         }
///     }
/// }
///
/// corio::run(async {
///     let body = async {
///         // Pending at the first poll; the scope is cancelled meanwhile.
///         let c = corio::sleep(std::time::Duration::from_secs(3600)).await.unwrap_err();
///         assert_eq!(c.scope(), CancelScope::Timeout);
///         Err::<(), _>(c)
///     };
///     let scoped = CancelAfterFirstPending {
///         inner: Box::pin(body),
///         scope: Scope::new(CancelScope::Timeout),
///     };
///     let (out, caught) = scoped.await;
///     assert!(out.is_err() && caught, "the body let the scope's cancellation through");
///     // The task itself was not cancelled: this await is not interrupted.
///     corio::yield_now().await.unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct Scope {
    /// Unique in the process; given when the scope first makes a request.
    id: Cell<u64>,
    requested: Cell<u32>,
    delivered: Cell<u32>,
    suppressed: Cell<u32>,
    /// A request of ours was dropped because an outer one was delivered.
    absorbed: Cell<bool>,
    /// The next scope out, while linked.
    parent: Cell<*const Scope>,
    /// Linked into this thread's chain now (inside `poll_in`).
    linked: Cell<bool>,
    kind: CancelScope,
}

// SAFETY: `parent` is only followed while the scope is linked, which is
// within one `poll_in` call on one thread; the cells are only touched by
// the thread polling the task that owns the scope.
unsafe impl Send for Scope {}

impl Scope {
    /// A scope that has not been cancelled. `kind` is what its
    /// cancellations say they came from ([`Cancelled::scope`]).
    ///
    /// # Panics
    ///
    /// If `kind` is `CancelScope::None` or `CancelScope::Task`: a scope is
    /// a `Timeout` or a `TaskGroup`.
    ///
    /// ```
    /// let s = corio_executor::hooks::Scope::new(corio::CancelScope::Timeout);
    /// assert!(!s.cancel_called());
    /// ```
    #[inline]
    pub fn new(kind: CancelScope) -> Scope {
        assert!(
            matches!(kind, CancelScope::Timeout | CancelScope::TaskGroup),
            "corio: a cancel scope is a CancelScope::Timeout or a CancelScope::TaskGroup, \
             not {kind:?} (that is the task's own cancellation)"
        );
        Scope {
            id: Cell::new(0),
            requested: Cell::new(0),
            delivered: Cell::new(0),
            suppressed: Cell::new(0),
            absorbed: Cell::new(false),
            parent: Cell::new(ptr::null()),
            linked: Cell::new(false),
            kind,
        }
    }

    fn is_pending(&self) -> bool {
        self.requested.get() > self.delivered.get()
    }

    /// Asks for the future inside to be cancelled: the next cancellation
    /// point polled inside [`poll_in`](Scope::poll_in) delivers it. The
    /// owner should make sure it is polled again (wake its task), and
    /// call this outside `poll_in`.
    ///
    /// ```
    /// let s = corio_executor::hooks::Scope::new(corio::CancelScope::Timeout);
    /// s.cancel();
    /// assert!(s.cancel_called());
    /// ```
    pub fn cancel(&self) {
        if self.id.get() == 0 {
            self.id.set(next_scope_id());
        }
        self.requested.set(self.requested.get() + 1);
    }

    /// Whether [`cancel`](Scope::cancel) was called.
    ///
    /// ```
    /// let s = corio_executor::hooks::Scope::new(corio::CancelScope::TaskGroup);
    /// assert!(!s.cancel_called());
    /// ```
    pub fn cancel_called(&self) -> bool {
        self.requested.get() > 0 || self.absorbed.get()
    }

    /// Whether a cancellation of this scope was delivered inside it and
    /// not suppressed: once the future inside has finished, whether it
    /// ended because of the scope (trio's `cancelled_caught`).
    ///
    /// ```
    /// let s = corio_executor::hooks::Scope::new(corio::CancelScope::Timeout);
    /// s.cancel();
    /// assert!(!s.cancelled_caught(), "requested, not delivered");
    /// ```
    pub fn cancelled_caught(&self) -> bool {
        self.delivered.get() > self.suppressed.get()
    }

    /// Runs `poll` (a poll of the future inside the scope) with the scope
    /// linked as the innermost on this thread, so that the cancellation
    /// points polled inside see its request; unlinks it after, also if
    /// `poll` panics.
    ///
    /// # Panics
    ///
    /// If the scope is already linked (`poll_in` inside its own `poll_in`).
    ///
    /// ```
    /// let s = corio_executor::hooks::Scope::new(corio::CancelScope::Timeout);
    /// assert_eq!(s.poll_in(|| 7), 7);
    /// ```
    pub fn poll_in<R>(&self, poll: impl FnOnce() -> R) -> R {
        // SAFETY: the guard is dropped at the end of this call (also on
        // unwind), while `self` is borrowed.
        let _linked = unsafe { self.enter() };
        poll()
    }

    /// Links the scope as the innermost on this thread until the guard is
    /// dropped: [`poll_in`](Scope::poll_in) without a closure, for an
    /// owner whose `poll` is `#[track_caller]` and polls the future inside
    /// directly, so that the `.await` location reaches that future's
    /// awaitables (a closure would stop it).
    ///
    /// # Panics
    ///
    /// If the scope is already linked.
    ///
    /// # Safety
    ///
    /// The guard must be dropped, not leaked (`mem::forget`), and before
    /// anything else is linked after it: while linked, the thread's scope
    /// chain points to the scope.
    ///
    /// ```
    /// let s = corio_executor::hooks::Scope::new(corio::CancelScope::Timeout);
    /// // SAFETY: the guard is dropped at the end of the block.
    /// let seven = {
    ///     let _linked = unsafe { s.enter() };
    ///     7
    /// };
    /// assert_eq!(seven, 7);
    /// ```
    pub unsafe fn enter(&self) -> ScopeGuard<'_> {
        assert!(
            !self.linked.replace(true),
            "corio: a cancel scope was entered inside itself; poll the future inside it once \
             per poll of its owner"
        );
        self.parent
            .set(SCOPES.with(|s| s.replace(self as *const Scope)));
        if self.is_pending() {
            PENDING.with(|p| p.set(p.get() + 1));
        }
        ScopeGuard { scope: self }
    }
}

/// Keeps a [`Scope`] linked as the innermost on this thread; dropping it
/// unlinks the scope. See [`Scope::enter`].
///
/// ```
/// use corio_executor::hooks::{Scope, ScopeGuard};
/// let s = Scope::new(corio::CancelScope::Timeout);
/// // SAFETY: dropped at the end of the statement below, never leaked.
/// let guard: ScopeGuard<'_> = unsafe { s.enter() };
/// drop(guard);
/// assert_eq!(s.poll_in(|| 1), 1, "unlinked: it can be entered again");
/// ```
#[must_use = "the scope is unlinked when the guard is dropped"]
#[derive(Debug)]
pub struct ScopeGuard<'a> {
    /// `!Send`, as `Scope` is `!Sync`: the guard stays on its thread.
    scope: &'a Scope,
}

impl Drop for ScopeGuard<'_> {
    fn drop(&mut self) {
        if self.scope.is_pending() {
            PENDING.with(|p| p.set(p.get() - 1));
        }
        SCOPES.with(|s| s.set(self.scope.parent.get()));
        self.scope.parent.set(ptr::null());
        self.scope.linked.set(false);
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
