//! The task allocation, its vtable, the poll harness and the waker.
//!
//! A task is one heap allocation, a `Cell<F, S>`:
//!
//! ```text
//! Header  (not generic: state word, vtable, id, owner, join-waker slot,
//!          registry slot, spawn time, where the task is suspended, its
//!          context variables, and a pointer to the rarely used extras:
//!          name, cancellation record, panic message, done callbacks,
//!          allocated the first time one is set)
//! S       (the scheduler hook: where to queue the task when it is woken)
//! Stage   (the future while it runs, then its outcome, then nothing)
//! ```
//!
//! Everything that is not generic lives in the header, so type-erased code
//! (queues, wakers, the registry) works on `NonNull<Header>` and reaches the
//! generic parts through the vtable.

use std::alloc::Layout;
use std::any::Any;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::callbacks::{Callbacks, GroupLink};
use super::cancel;
use super::error::{panic_message, Cancelled, TaskError};
use super::id::TaskId;
use super::state::{State, ToIdle, ToRunning, WakeAction};
use crate::context;
use crate::context_var::Context as VarContext;
use crate::sync::{AtomicPtr, Mutex, Ordering, UnsafeCell};

/// What a task needs from the runtime that owns it.
///
/// The executor's scheduler implements it; the loom models implement a
/// simple one to check the task state machine alone.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub trait Schedule: Send + Sync + Sized + 'static {
    /// Queues a woken task. Called from any thread.
    fn schedule(&self, task: Notified);

    /// Requeues a task that was woken during its own poll (or yielded).
    /// Called on the thread that just polled it; goes to the back of the
    /// queue.
    fn reschedule(&self, task: Notified);

    /// Removes the task from the runtime's registry on completion. Returns
    /// true if the registry still held its reference, which the caller then
    /// releases.
    fn release(&self, task: &Header) -> bool;

    /// A panic nobody will ever see otherwise: an unretrieved task panic, or
    /// a panic while dropping a future or an output.
    fn unhandled_panic(&self, task: &Header, what: &'static str, payload: &(dyn Any + Send));

    /// Runs `f` soon, on the runtime, never inline (done callbacks). The
    /// default, for models without a loop, runs it at once.
    fn call_soon(&self, f: Box<dyn FnOnce() + Send + 'static>) {
        f()
    }

    /// Memory for a new task of `layout`: a block and an origin tag to give
    /// back to [`Schedule::free_block`], or `None` for the global allocator.
    fn alloc_block(&self, layout: Layout) -> Option<(NonNull<u8>, u32)> {
        let _ = layout;
        None
    }

    /// Frees a task's memory. Every other field of the task has been
    /// dropped; the hook itself is passed by value and dropped last, after
    /// the memory was handed back.
    ///
    /// # Safety
    ///
    /// `block` holds a task of `layout` whose fields were dropped, obtained
    /// from `alloc_block` with tag `origin`, or from the global allocator
    /// with `layout` if `origin` is [`NO_ORIGIN`].
    unsafe fn free_block(self, block: NonNull<u8>, layout: Layout, origin: u32) {
        let _ = origin;
        // SAFETY: forwarded contract: a global allocation of `layout`.
        unsafe { std::alloc::dealloc(block.as_ptr(), layout) }
    }
}

/// The origin tag of a task allocated by the global allocator.
pub(crate) const NO_ORIGIN: u32 = u32::MAX;

/// The task's name and asyncio cancellation record. Touched rarely, so it is
/// behind a small lock, and allocated only when something is first set:
/// an unnamed task that is never cancelled carries one null pointer.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    /// A name given with `task::Builder::name` or `set_name`; `None` means
    /// the default `Task-<id>`.
    pub name: Option<Box<str>>,
    /// `cancel()` calls not yet withdrawn by `uncancel()` (asyncio's
    /// `cancelling()`).
    pub cancel_requests: u32,
    /// Requests that were delivered as `Err(Cancelled)` at an await point.
    pub cancel_delivered: u32,
    /// Delivered requests the task refused with `Cancelled::suppress()`.
    pub cancel_suppressed: u32,
    /// The message of the latest request.
    pub cancel_message: Option<std::sync::Arc<str>>,
    /// The panic message, if the task panicked (kept for `exception()` and
    /// done callbacks, which never see the payload).
    pub panic_message: Option<Box<str>>,
    /// Something else reports this task's panic (its `TaskGroup`): no
    /// "exception was never retrieved" report when nobody takes it.
    pub panic_observed: bool,
    /// Done callbacks and completion hooks (see `callbacks.rs`).
    pub callbacks: Option<Box<Callbacks>>,
    /// Where the task was spawned (recorded in debug mode only).
    pub created_at: Option<&'static Location<'static>>,
    /// The task group this task is a child of, until it finishes.
    pub(crate) group: Option<GroupLink>,
    /// The task's panic went unretrieved while done callbacks were still to
    /// run: the callback runner reports it when it is done, unless a
    /// callback retrieved it with `exception()` (asyncio reports only when
    /// the task object dies, after its callbacks).
    pub panic_report_pending: bool,
    /// One of the runtime's own short tasks (running done callbacks): not
    /// listed by `all_tasks` or `dump`.
    pub internal: bool,
}

/// The non-generic head of every task allocation.
#[repr(C)]
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct Header {
    pub(crate) state: State,
    vtable: &'static Vtable,
    id: TaskId,
    /// The worker a `spawn_local` task is bound to, or `u32::MAX` for
    /// none ([`NO_OWNER`] through [`Header::owner`]).
    owner: u32,
    /// Where the memory came from (see `Schedule::alloc_block`).
    origin: u32,
    /// The `Task` handle's waker. See the `JOIN_WAKER` rules in `state.rs`.
    join_waker: UnsafeCell<Option<Waker>>,
    /// The task's index in its registry shard, or `NO_SLOT`; guarded by
    /// that shard's lock.
    pub(crate) slot: UnsafeCell<u32>,
    /// When the task was spawned, in [`crate::clock`] centiseconds
    /// (wrapping): its age in dumps.
    spawned_at: u32,
    /// `None` until a name or a cancellation is first recorded.
    extras: Mutex<Option<Box<Extras>>>,
    /// Where the task last suspended: the `.await` of the corio awaitable
    /// that returned `Pending` (null: unknown, or the task is running).
    /// Written by the runner only; read by anyone, as a hint.
    suspended_at: AtomicPtr<Location<'static>>,
    /// The task's context variables. Touched only by the thread that runs
    /// the task (it holds `RUNNING`), and by the spawner before the task is
    /// first queued.
    context: UnsafeCell<VarContext>,
}

/// `Header::owner` of a task that may run on any worker (the header
/// stores owners in a `u32`, and this one as `u32::MAX`).
pub(crate) const NO_OWNER: usize = usize::MAX;

// SAFETY: the header is shared between threads by design; every field is
// either immutable after creation, atomic, behind a lock, or an `UnsafeCell`
// whose access is serialised by the state-word protocol (join waker) or the
// registry lock (slot).
unsafe impl Send for Header {}
// SAFETY: see the `Send` impl.
unsafe impl Sync for Header {}

struct Vtable {
    poll: unsafe fn(NonNull<Header>),
    call_soon: unsafe fn(NonNull<Header>, Box<dyn FnOnce() + Send + 'static>),
    report: unsafe fn(NonNull<Header>, &'static str, &(dyn Any + Send)),
    schedule: unsafe fn(NonNull<Header>),
    dealloc: unsafe fn(NonNull<Header>),
    try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker) -> bool,
    drop_join_handle: unsafe fn(NonNull<Header>),
    shutdown: unsafe fn(NonNull<Header>),
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, TaskError>),
    Consumed,
}

#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    scheduler: S,
    stage: UnsafeCell<Stage<F>>,
}

impl Header {
    /// The task id.
    pub(crate) fn id(&self) -> TaskId {
        self.id
    }

    /// The worker this task is bound to, or [`NO_OWNER`].
    pub(crate) fn owner(&self) -> usize {
        match self.owner {
            u32::MAX => NO_OWNER,
            w => w as usize,
        }
    }

    /// The task's name: the one it was given, or `Task-<id>`.
    pub(crate) fn name(&self) -> String {
        match self.extras.lock().as_ref().and_then(|e| e.name.as_ref()) {
            Some(n) => n.to_string(),
            None => format!("Task-{}", self.id),
        }
    }

    /// Renames the task.
    pub(crate) fn set_name(&self, name: Box<str>) {
        self.with_extras(|e| e.name = Some(name));
    }

    /// Runs `f` on the task's extras (name, cancellation record), allocating
    /// them first if this is the first time. `f` runs under the extras lock:
    /// it must not call back into this task's extras.
    pub(crate) fn with_extras<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> R {
        f(self.extras.lock().get_or_insert_with(Box::default))
    }

    /// Reads the task's extras under their lock (`None`: nothing was ever
    /// recorded, every field has its default).
    pub(crate) fn read_extras<R>(&self, f: impl FnOnce(Option<&Extras>) -> R) -> R {
        f(self.extras.lock().as_deref())
    }

    /// When the task was spawned (see [`crate::clock`]).
    pub(crate) fn spawned_at(&self) -> u32 {
        self.spawned_at
    }

    /// Records where the running task suspends (see `suspended_at`).
    #[inline]
    pub(crate) fn set_suspended_at(&self, at: Option<&'static Location<'static>>) {
        let p = at.map_or(std::ptr::null_mut(), |l| {
            l as *const Location as *mut Location
        });
        self.suspended_at.store(p, Ordering::Relaxed);
    }

    /// Where the task last suspended, if a corio awaitable recorded it.
    ///
    /// A corio awaitable spawned as the task's whole future (`spawn(sleep(d))`)
    /// is polled by the harness below, so `#[track_caller]` names this
    /// file: that says nothing to the user, and reads as unknown.
    pub(crate) fn suspended_at(&self) -> Option<&'static Location<'static>> {
        let p = self.suspended_at.load(Ordering::Relaxed);
        // SAFETY: only `&'static Location`s (or null) are ever stored.
        let at: &'static Location<'static> = (!p.is_null()).then(|| unsafe { &*p })?;
        (at.file() != file!()).then_some(at)
    }

    /// Runs `f` on the task's context variables.
    ///
    /// # Safety
    ///
    /// The caller runs the task (holds `RUNNING`) on this thread, or spawned
    /// it and has not queued it yet; `f` does not re-enter.
    pub(crate) unsafe fn with_context<R>(&self, f: impl FnOnce(&mut VarContext) -> R) -> R {
        // SAFETY: forwarded contract: exclusive access for the call.
        self.context.with_mut(|c| f(unsafe { &mut *c }))
    }

    /// The panic message of a task that finished with a panic.
    pub(crate) fn panic_message(&self) -> Option<String> {
        if !self.state.load().is_panicked() {
            return None;
        }
        self.read_extras(|e| e.and_then(|e| e.panic_message.as_deref().map(str::to_owned)))
    }

    /// Sends a panic to this task's runtime's exception handler.
    pub(crate) fn report_panic(&self, what: &'static str, payload: &(dyn Any + Send)) {
        // SAFETY: `&self` proves the header is alive, and the vtable's
        // `report` only reads through the pointer.
        unsafe { (self.vtable.report)(NonNull::from(self), what, payload) }
    }

    /// Hands `f` to the task's scheduler to run soon.
    ///
    /// # Safety
    ///
    /// The caller holds a reference to the task.
    pub(crate) unsafe fn call_soon(ptr: NonNull<Header>, f: Box<dyn FnOnce() + Send + 'static>) {
        // SAFETY: forwarded contract.
        unsafe { (ptr.as_ref().vtable.call_soon)(ptr, f) }
    }

    /// Whether the task has finished (returned, panicked or was cancelled).
    pub(crate) fn is_complete(&self) -> bool {
        self.state.load().is_complete()
    }

    pub(crate) fn ref_inc(&self) {
        self.state.ref_inc()
    }

    /// Releases one reference, freeing the task if it was the last.
    ///
    /// # Safety
    ///
    /// The caller owns a reference to the task and gives it up.
    pub(crate) unsafe fn ref_dec(ptr: NonNull<Header>) {
        // SAFETY: the caller holds a reference, so the header is alive.
        let header = unsafe { ptr.as_ref() };
        if header.state.ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { (header.vtable.dealloc)(ptr) }
        }
    }

    /// Sets `ABORTED`, and queues the task if it was idle, so that a worker
    /// drops its future.
    pub(crate) fn abort(ptr: NonNull<Header>) {
        // SAFETY: callers hold a reference (a `Task` or `TaskRef`).
        let header = unsafe { ptr.as_ref() };
        if header.state.abort() == WakeAction::Submit {
            // SAFETY: `abort` took a reference for the notification.
            unsafe { (header.vtable.schedule)(ptr) }
        }
    }

    /// Queues the task.
    ///
    /// # Safety
    ///
    /// The caller hands over a reference taken for the notification (a
    /// state transition that returned `WakeAction::Submit`).
    pub(crate) unsafe fn schedule_raw(ptr: NonNull<Header>) {
        // SAFETY: forwarded contract.
        unsafe { (ptr.as_ref().vtable.schedule)(ptr) }
    }
}

/// A reference to a task that is due to run. Owning one means owning one
/// reference count and, while the task is idle, the right to run it.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct Notified(NonNull<Header>);

// SAFETY: a `Notified` is a counted pointer to a thread-safe header. Tasks of
// `!Send` futures are only ever *run* on their owner worker (the scheduler's
// routing guarantees it), so moving the pointer between threads is sound.
unsafe impl Send for Notified {}
// SAFETY: a shared `&Notified` offers no access to the future.
unsafe impl Sync for Notified {}

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
impl Notified {
    /// The task's header.
    pub fn header(&self) -> &Header {
        // SAFETY: we hold a reference.
        unsafe { self.0.as_ref() }
    }

    /// Polls the task (or drops its future if it was aborted), consuming the
    /// notification.
    pub fn run(self) {
        let ptr = ManuallyDrop::new(self).0;
        // SAFETY: we hand our reference to `poll`, which releases it.
        unsafe { (ptr.as_ref().vtable.poll)(ptr) }
    }

    /// # Safety
    ///
    /// `ptr` carries one reference that the new `Notified` takes over.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified {
        Notified(ptr)
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { Header::ref_dec(self.0) }
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Notified({})", self.header().id())
    }
}

/// The registry's reference to a task.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct RawTask(NonNull<Header>);

// SAFETY: as for `Notified`; the registry only shuts tasks down on a thread
// allowed to drop their futures (see `Registry`).
unsafe impl Send for RawTask {}

impl RawTask {
    /// The task's header.
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we hold a reference.
        unsafe { self.0.as_ref() }
    }

    /// # Safety
    ///
    /// `ptr` carries one reference that the new `RawTask` takes over.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask(ptr)
    }

    pub(crate) fn into_raw(self) -> NonNull<Header> {
        ManuallyDrop::new(self).0
    }

    /// Drops the future if the task is idle and completes it as cancelled;
    /// releases the registry's reference. Must run on a thread allowed to
    /// drop the future (the owner worker for a `!Send` task).
    #[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
    pub fn shutdown(self) {
        let ptr = self.into_raw();
        // SAFETY: we hand over our reference.
        unsafe { (ptr.as_ref().vtable.shutdown)(ptr) }
    }
}

impl Drop for RawTask {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { Header::ref_dec(self.0) }
    }
}

/// Allocates a task. Returns the registry's reference, the first
/// notification and the join handle's pointer (three references in all).
pub(crate) fn allocate<F, S>(
    future: F,
    scheduler: S,
    id: TaskId,
    owner: usize,
    name: Option<Box<str>>,
    context: VarContext,
    spawned_at: u32,
) -> (RawTask, Notified, NonNull<Header>)
where
    F: Future + 'static,
    S: Schedule,
{
    let layout = Layout::new::<Cell<F, S>>();
    let (mem, origin) = scheduler.alloc_block(layout).unwrap_or_else(|| {
        // SAFETY: a `Cell` is never zero-sized (it has a header).
        let p = unsafe { std::alloc::alloc(layout) };
        match NonNull::new(p) {
            Some(p) => (p, NO_ORIGIN),
            None => std::alloc::handle_alloc_error(layout),
        }
    });
    let cell = Cell {
        header: Header {
            state: State::new(),
            vtable: vtable::<F, S>(),
            id,
            owner: if owner == NO_OWNER {
                u32::MAX
            } else {
                u32::try_from(owner).expect("corio: worker index fits in u32")
            },
            origin,
            join_waker: UnsafeCell::new(None),
            slot: UnsafeCell::new(crate::scheduler::registry::NO_SLOT),
            spawned_at,
            suspended_at: AtomicPtr::new(std::ptr::null_mut()),
            context: UnsafeCell::new(context),
            extras: Mutex::new(name.map(|name| {
                Box::new(Extras {
                    name: Some(name),
                    ..Extras::default()
                })
            })),
        },
        scheduler,
        stage: UnsafeCell::new(Stage::Running(future)),
    };
    let cell_ptr = mem.cast::<Cell<F, S>>();
    // SAFETY: `mem` is fresh memory that fits and aligns a `Cell<F, S>`.
    unsafe { cell_ptr.as_ptr().write(cell) };
    let ptr = cell_ptr.cast::<Header>();
    (RawTask(ptr), Notified(ptr), ptr)
}

fn vtable<F: Future + 'static, S: Schedule>() -> &'static Vtable {
    &Vtable {
        poll: poll::<F, S>,
        call_soon: call_soon::<F, S>,
        report: report::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
    }
}

/// # Safety
///
/// `ptr` points to a live `Cell<F, S>` (the caller holds a reference).
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: `Cell` is `repr(C)` with the header first, and the vtable that
    // led here was built for exactly this `F` and `S`.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

unsafe fn poll<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller handed us a notification reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    let (to, cancel_requested) = cell.header.state.transition_to_running_cancel();
    match to {
        ToRunning::Poll => {}
        ToRunning::Abort => {
            cancel_future(cell);
            complete(cell, true);
            return;
        }
        ToRunning::CancelBeforeStart => {
            // asyncio throws `CancelledError` into a coroutine that never
            // started: its body does not run.
            let c = cell.header.take_request_before_start();
            drop_future(cell);
            set_stage(cell, Stage::Finished(Err(TaskError::Cancelled(c))));
            complete(cell, true);
            return;
        }
        ToRunning::Skip => {
            // SAFETY: we release the notification's reference.
            unsafe { Header::ref_dec(ptr) };
            return;
        }
    }

    // The poll's waker borrows the notification's reference: no count
    // traffic unless the future clones it.
    // SAFETY: the vtable's functions uphold the `RawWaker` contract, and the
    // reference we hold outlives this borrowed waker.
    let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker(ptr)) });
    let mut cx = Context::from_waker(&waker);
    cell.header.set_suspended_at(None);
    let result = {
        let _enter = context::enter_task(ptr, cancel_requested);
        catch_unwind(AssertUnwindSafe(|| {
            cell.stage.with_mut(|stage| {
                // SAFETY: we are the runner (`RUNNING` is ours), so we have
                // exclusive access to the stage, and the future never moves
                // while it is in the allocation.
                match unsafe { &mut *stage } {
                    // SAFETY: the future is pinned in the task allocation:
                    // it is dropped in place, never moved.
                    Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(&mut cx),
                    _ => unreachable!("a task was polled after it completed"),
                }
            })
        }))
    };

    match result {
        Ok(Poll::Pending) => match cell.header.state.transition_to_idle() {
            ToIdle::Idle => {}
            ToIdle::IdleDealloc => {
                // SAFETY: that was the last reference.
                unsafe { dealloc::<F, S>(ptr) }
            }
            ToIdle::Notified => {
                // SAFETY: our reference becomes the new notification.
                cell.scheduler
                    .reschedule(unsafe { Notified::from_raw(ptr) })
            }
            ToIdle::Abort => {
                cancel_future(cell);
                complete(cell, true);
            }
        },
        Ok(Poll::Ready(output)) => {
            drop_future(cell);
            set_stage(cell, Stage::Finished(Ok(output)));
            complete_with_output(cell);
        }
        Err(payload) => {
            drop_future(cell);
            let message = panic_message(&*payload).into();
            cell.header.with_extras(|e| e.panic_message = Some(message));
            set_stage(cell, Stage::Finished(Err(TaskError::panicked(payload))));
            cell.header.state.mark_panicked();
            complete(cell, false);
        }
    }
}

/// Completes a task whose future returned: with its output, unless a
/// cancellation request decides otherwise (the outcome rule of `cancel.rs`).
fn complete_with_output<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    // Fast path: no cancellation was ever requested.
    if let Ok(prev) = cell.header.state.transition_to_complete(false, true) {
        after_complete(cell, prev);
        return;
    }
    // With the extras lock held, `cancel()` cannot run meanwhile.
    let (prev, dropped) = cell.header.with_extras(|e| {
        let pending = cell.header.state.load().is_cancel_requested();
        let cancelled = cancel::outcome(e, pending);
        let dropped = cancelled.map(|c| {
            cell.stage.with_mut(|s| {
                // SAFETY: the runner (RUNNING is still ours) owns the stage.
                unsafe { std::ptr::replace(s, Stage::Finished(Err(TaskError::Cancelled(c)))) }
            })
        });
        let prev = cell
            .header
            .state
            .transition_to_complete(dropped.is_some(), false)
            .expect("a slow completion never fails");
        (prev, dropped)
    });
    if let Some(output) = dropped {
        // The output of a task that ended cancelled: dropped outside the lock.
        drop_output(cell, output);
    }
    after_complete(cell, prev);
}

fn set_stage<F: Future, S>(cell: &Cell<F, S>, stage: Stage<F>) {
    // SAFETY: only the runner calls this, and it has exclusive access to
    // the stage; the old value is already `Consumed` (nothing to drop).
    cell.stage
        .with_mut(|s| unsafe { std::ptr::write(s, stage) });
}

/// Drops the future (or output) in the stage, reporting a panic in its
/// `Drop` to the exception handler. Leaves `Consumed`.
fn drop_future<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    let res = catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|s| {
            /// Leaves `Consumed` in the slot once the value in it is
            /// dropped, also when its `Drop` panics part-way.
            struct Consume<F: Future>(*mut Stage<F>);
            impl<F: Future> Drop for Consume<F> {
                fn drop(&mut self) {
                    // SAFETY: the slot's value was just dropped in place (or
                    // its drop unwound): it is overwritten without being
                    // read or dropped again.
                    unsafe { std::ptr::write(self.0, Stage::Consumed) };
                }
            }
            let _consume = Consume(s);
            // SAFETY: the runner has exclusive access to the stage. The
            // future is pinned in the task allocation, so it is dropped
            // where it is, never moved out first (`Pin`'s drop guarantee:
            // a future may hold pointers into itself, such as a borrow of
            // its own local by an awaitable it is suspended in).
            unsafe { std::ptr::drop_in_place(s) };
        })
    }));
    if let Err(payload) = res {
        cell.scheduler.unhandled_panic(
            &cell.header,
            "a task's future panicked while being dropped",
            &*payload,
        );
    }
}

fn cancel_future<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    drop_future(cell);
    set_stage(
        cell,
        Stage::Finished(Err(TaskError::Cancelled(Cancelled::new()))),
    );
}

/// Publishes the outcome: sets `COMPLETE`, hands the output to the handle
/// (or drops it), wakes the joiner, leaves the registry and releases the
/// runner's reference.
fn complete<F: Future, S: Schedule>(cell: &Cell<F, S>, cancelled: bool) {
    let prev = cell
        .header
        .state
        .transition_to_complete(cancelled, false)
        .expect("a slow completion never fails");
    after_complete(cell, prev);
}

/// The rest of completion, after the state says `COMPLETE`.
fn after_complete<F: Future, S: Schedule>(cell: &Cell<F, S>, prev: super::state::Snapshot) {
    if !prev.is_join_interested() {
        // Nobody can ever read the output: it is ours to drop.
        let out = cell.stage.with_mut(|s| {
            // SAFETY: without join interest the handle is gone, so the
            // completing thread has the stage to itself.
            unsafe { std::ptr::replace(s, Stage::Consumed) }
        });
        drop_output(cell, out);
    } else if prev.has_join_waker() {
        let res = catch_unwind(AssertUnwindSafe(|| {
            cell.header.join_waker.with(|w| {
                // SAFETY: `JOIN_WAKER` was set when we completed, so the
                // handle will not write the slot any more (see state.rs).
                if let Some(w) = unsafe { &*w } {
                    w.wake_by_ref();
                }
            })
        }));
        if let Err(payload) = res {
            cell.scheduler
                .unhandled_panic(&cell.header, "a join waker panicked", &*payload);
        }
    }
    if prev.has_callbacks() {
        Header::run_completion_callbacks(NonNull::from(&cell.header));
    }
    let refs = 1 + usize::from(cell.scheduler.release(&cell.header));
    if cell.header.state.ref_dec_n(refs) {
        // SAFETY: those were the last references.
        unsafe { dealloc::<F, S>(NonNull::from(&cell.header)) }
    }
}

/// Drops an outcome nobody will read; an unretrieved panic goes to the
/// exception handler first.
fn drop_output<F: Future, S: Schedule>(cell: &Cell<F, S>, out: Stage<F>) {
    if let Stage::Finished(Err(TaskError::Panicked { payload, .. })) = &out {
        let report_now = cell.header.with_extras(|e| {
            if e.panic_observed {
                // Retrieved (`exception()`), or its `TaskGroup` reports it.
                false
            } else if e.callbacks.as_ref().is_some_and(|c| c.pending()) {
                // A done callback may still retrieve it: decided later.
                e.panic_report_pending = true;
                false
            } else {
                true
            }
        });
        if report_now {
            cell.scheduler.unhandled_panic(
                &cell.header,
                "Task exception was never retrieved",
                &**payload,
            );
        }
    }
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(out))) {
        cell.scheduler.unhandled_panic(
            &cell.header,
            "a task's output panicked while being dropped",
            &*payload,
        );
    }
}

unsafe fn call_soon<F: Future + 'static, S: Schedule>(
    ptr: NonNull<Header>,
    f: Box<dyn FnOnce() + Send + 'static>,
) {
    // SAFETY: the caller holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.call_soon(f);
}

unsafe fn report<F: Future + 'static, S: Schedule>(
    ptr: NonNull<Header>,
    what: &'static str,
    payload: &(dyn Any + Send),
) {
    // SAFETY: the caller holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.unhandled_panic(&cell.header, what, payload);
}

unsafe fn schedule<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller hands us a notification reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: as above.
    cell.scheduler.schedule(unsafe { Notified::from_raw(ptr) });
}

unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<Cell<F, S>>().as_ptr();
    // SAFETY: the last reference is gone: nobody else can reach the cell.
    // We move the hook out, drop the other fields in place, and hand the
    // memory (allocated in `allocate` via the hook or the global allocator,
    // as `origin` says) back through the hook.
    unsafe {
        let origin = (*cell).header.origin;
        let scheduler = std::ptr::read(std::ptr::addr_of!((*cell).scheduler));
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*cell).header));
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*cell).stage));
        scheduler.free_block(ptr.cast(), Layout::new::<Cell<F, S>>(), origin);
    }
}

/// Whether the output can be read now; otherwise registers `waker` to be
/// woken on completion. Only the join handle may call it (it writes the
/// join-waker slot).
pub(crate) fn can_read_output(header: &Header, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    if snapshot.has_join_waker() {
        let same = header.join_waker.with(|w| {
            // SAFETY: reading while `JOIN_WAKER` is set is allowed for the
            // handle: the runtime side only ever reads the slot too.
            unsafe { &*w }.as_ref().is_some_and(|w| w.will_wake(waker))
        });
        if same {
            return false;
        }
        if header.state.unset_join_waker().is_err() {
            return true;
        }
    }
    header.join_waker.with_mut(|w| {
        // SAFETY: `JOIN_WAKER` is unset, so the handle owns the slot.
        unsafe { *w = Some(waker.clone()) }
    });
    header.state.set_join_waker().is_err()
}

unsafe fn try_read_output<F: Future + 'static, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) -> bool {
    // SAFETY: the join handle holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(&cell.header, waker) {
        return false;
    }
    let stage = cell.stage.with_mut(|s| {
        // SAFETY: `COMPLETE` is set and the handle still has join interest,
        // so the output is the handle's alone.
        unsafe { std::ptr::replace(s, Stage::Consumed) }
    });
    let out = match stage {
        Stage::Finished(out) => out,
        _ => return true,
    };
    let dst = dst.cast::<Poll<Result<F::Output, TaskError>>>();
    // SAFETY: the caller passed a valid `*mut Poll<Result<F::Output, _>>`.
    unsafe { *dst = Poll::Ready(out) };
    false
}

unsafe fn drop_join_handle<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the join handle holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.drop_join_interest() {
        Ok(prev) => {
            if prev.has_join_waker() {
                // We cleared `JOIN_WAKER`, so the slot is ours again.
                let old = cell.header.join_waker.with_mut(|w| {
                    // SAFETY: see above.
                    unsafe { (*w).take() }
                });
                drop(old);
            }
        }
        Err(_) => {
            let out = cell.stage.with_mut(|s| {
                // SAFETY: complete with join interest: the output is ours.
                unsafe { std::ptr::replace(s, Stage::Consumed) }
            });
            drop_output(cell, out);
        }
    }
    // SAFETY: the handle's reference.
    unsafe { Header::ref_dec(ptr) }
}

unsafe fn shutdown<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the registry's reference was handed to us.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        cancel_future(cell);
        // `complete` releases the reference we hold (the registry's).
        complete(cell, true);
    } else {
        // SAFETY: release the registry's reference.
        unsafe { Header::ref_dec(ptr) }
    }
}

/// Reads the output into `dst` if the task is complete, else registers the
/// waker. Used by `Task<T>`. Returns true (leaving `dst` alone) if the
/// task is complete but its output was already taken.
///
/// # Safety
///
/// The caller holds the join handle's reference and `dst` is a valid
/// `*mut Poll<Result<T, TaskError>>` where `T` is the task's output type.
pub(crate) unsafe fn try_read_output_raw(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { (ptr.as_ref().vtable.try_read_output)(ptr, dst, waker) }
}

/// Drops the join handle's reference and join interest.
///
/// # Safety
///
/// The caller holds the join handle's reference and gives it up.
pub(crate) unsafe fn drop_join_handle_raw(ptr: NonNull<Header>) {
    // SAFETY: forwarded contract.
    unsafe { (ptr.as_ref().vtable.drop_join_handle)(ptr) }
}

// ---- waker ----

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

fn raw_waker(ptr: NonNull<Header>) -> RawWaker {
    RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE)
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: a waker's data is a header pointer with a reference.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: as above.
    unsafe { ptr.as_ref() }.ref_inc();
    raw_waker(ptr)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: a waker's data is a header pointer with a reference, which
    // this consumes.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: as above.
    let header = unsafe { ptr.as_ref() };
    match header.state.wake_by_val() {
        WakeAction::Nothing => {}
        // SAFETY: our reference becomes the notification.
        WakeAction::Submit => unsafe { (header.vtable.schedule)(ptr) },
        // SAFETY: ours was the last reference.
        WakeAction::Dealloc => unsafe { (header.vtable.dealloc)(ptr) },
    }
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: a waker's data is a header pointer with a reference.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: as above.
    let header = unsafe { ptr.as_ref() };
    if header.state.wake_by_ref() == WakeAction::Submit {
        // SAFETY: `wake_by_ref` took a reference for the notification.
        unsafe { (header.vtable.schedule)(ptr) }
    }
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: a waker's data is a header pointer with a reference, which
    // this releases.
    unsafe { Header::ref_dec(NonNull::new_unchecked(data as *mut Header)) }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::mem::size_of;
    use std::time::Duration;

    use super::{Cell, Header};
    use crate::scheduler::Hook;
    use crate::time::Sleep;

    fn cell_size<F: Future>(_: &F) -> usize {
        size_of::<Cell<F, Hook>>()
    }

    /// Memory per sleeping task is a benchmark target (at most tokio's); these
    /// sizes are what it is made of, so a field added to the header or to
    /// `Sleep` shows up here first.
    #[test]
    fn a_sleeping_task_fits_a_192_byte_block() {
        assert_eq!(size_of::<Header>(), 88, "the task header grew");
        assert_eq!(size_of::<Sleep>(), 56, "Sleep grew");
        assert_eq!(size_of::<crate::Task<u64>>(), 16, "the Task handle grew");
        assert_eq!(
            size_of::<Result<(), crate::Cancelled>>(),
            8,
            "Cancelled grew"
        );
        let latch = std::sync::Arc::new(());
        let task = async move {
            let _ = crate::sleep(Duration::from_secs(1)).await;
            drop(latch);
        };
        let size = cell_size(&task);
        assert!(size <= 192, "a sleeping task takes {size} bytes");
    }
}
