//! Done callbacks (asyncio's `add_done_callback`) and the runtime's own
//! completion hooks.
//!
//! # Protocol
//!
//! Both kinds live in the task's extras, behind the extras lock, and the
//! `CALLBACKS` state bit tells the completing thread to look (see the
//! "Done callbacks" invariant in `state.rs` for why none is lost).
//!
//! * **User callbacks** never run inline. At completion (or at once, when
//!   one is added to a finished task) a *runner* is handed to the task's
//!   scheduler with `call_soon`; it pops the callbacks one by one, in
//!   registration order, and runs each with a [`TaskRef`] of the finished
//!   task. At most one runner per task exists at a time (`runner_scheduled`,
//!   under the lock), so callbacks added while it runs still run in order,
//!   by the same runner. A panic in a callback is caught and sent to the
//!   exception handler; the next callback still runs.
//! * **A link** (a `TaskGroup` watching a child, `hooks::spawn_linked`):
//!   a [`ChildSink`] kept in the extras. The sink is told inline, on the
//!   completing thread, after the outcome is stored and the joiner woken;
//!   it must be quick and must not block. The link is made before the
//!   child can run, so it never finds the child finished.

use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use super::raw::Header;
use super::TaskRef;

/// A user callback: sees the finished task.
pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskRef) + Send + 'static>;

/// What hears about a linked task finishing (a task group watching its
/// children): see [`hooks::spawn_linked`](crate::hooks::spawn_linked).
///
/// ```
/// use corio::TaskRef;
/// use corio_executor::hooks::ChildSink;
///
/// /// Prints each child's outcome as it finishes.
/// struct Log;
/// impl ChildSink for Log {
///     fn child_done(&self, child: &TaskRef) {
///         println!("{} finished: {}", child.name(), child.state());
///     }
/// }
/// let _sink: std::sync::Arc<dyn ChildSink> = std::sync::Arc::new(Log);
/// ```
pub trait ChildSink: Send + Sync + 'static {
    /// `child` finished: called once, inline on the thread that completed
    /// it, after its outcome is stored and its awaiter woken. It must be
    /// quick and must not block; a panic in it goes to the exception
    /// handler.
    fn child_done(&self, child: &TaskRef);
}

/// A child's link (in its extras).
pub(crate) struct GroupLink {
    sink: std::sync::Arc<dyn ChildSink>,
}

impl std::fmt::Debug for GroupLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupLink").finish_non_exhaustive()
    }
}

/// Identifies a done callback, for
/// [`remove_done_callback`](crate::TaskRef::remove_done_callback).
///
/// ```
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let t = corio::spawn(async {});
/// let a = t.add_done_callback(|_| {});
/// let b = t.add_done_callback(|_| {});
/// assert_ne!(a, b);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(NonZeroU64);

impl CallbackId {
    fn next() -> CallbackId {
        // Ids only need to be unique; not a protocol (std, not the facade).
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        CallbackId(NonZeroU64::new(n).expect("callback ids do not wrap"))
    }
}

/// The callbacks of one task (in its extras).
#[derive(Default)]
pub(crate) struct Callbacks {
    user: VecDeque<(CallbackId, DoneCallback)>,
    /// A runner is queued or running: it will pick up what is pushed.
    runner_scheduled: bool,
}

impl Callbacks {
    /// Callbacks are queued or running.
    pub(crate) fn pending(&self) -> bool {
        self.runner_scheduled || !self.user.is_empty()
    }
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("user", &self.user.len())
            .field("runner_scheduled", &self.runner_scheduled)
            .finish()
    }
}

impl Header {
    /// `add_done_callback`: registers `f` to run soon after the task
    /// finishes (soon, not inline, if it already has).
    pub(crate) fn add_done_callback(ptr: NonNull<Header>, f: DoneCallback) -> CallbackId {
        // SAFETY: callers hold a reference (a `Task` or `TaskRef`).
        let header = unsafe { ptr.as_ref() };
        let id = CallbackId::next();
        let start_runner = header.with_extras(|e| {
            let cbs = e.callbacks.get_or_insert_with(Box::default);
            cbs.user.push_back((id, f));
            if header.state.set_callbacks().is_ok() {
                // The completing thread will see the bit.
                return false;
            }
            !std::mem::replace(&mut cbs.runner_scheduled, true)
        });
        if start_runner {
            Header::start_callback_runner(ptr);
        }
        id
    }

    /// `remove_done_callback`: true if `id` was registered and had not run.
    pub(crate) fn remove_done_callback(&self, id: CallbackId) -> bool {
        self.read_extras(|e| e.is_some_and(|e| e.callbacks.is_some()))
            && self.with_extras(|e| {
                let Some(cbs) = e.callbacks.as_mut() else {
                    return false;
                };
                match cbs.user.iter().position(|(i, _)| *i == id) {
                    Some(at) => {
                        drop(cbs.user.remove(at));
                        true
                    }
                    None => false,
                }
            })
    }

    /// Links a task that has not been queued yet to `sink`: it is told
    /// when the task finishes, and reports its panic (so nothing else
    /// reports it as never retrieved).
    pub(crate) fn link_to_group(&self, sink: std::sync::Arc<dyn ChildSink>) {
        self.with_extras(|e| {
            e.group = Some(GroupLink { sink });
            e.panic_observed = true;
            let flagged = self.state.set_callbacks();
            debug_assert!(flagged.is_ok(), "linked before the task can run");
        });
    }

    /// The completing thread saw `CALLBACKS`: tells the group, and starts
    /// the runner for the user callbacks.
    pub(crate) fn run_completion_callbacks(ptr: NonNull<Header>) {
        // SAFETY: the completing thread holds the runner's reference.
        let header = unsafe { ptr.as_ref() };
        let (group, start_runner) = header.with_extras(|e| {
            let start = e.callbacks.as_mut().is_some_and(|cbs| {
                !cbs.user.is_empty() && !std::mem::replace(&mut cbs.runner_scheduled, true)
            });
            (e.group.take(), start)
        });
        if let Some(link) = group {
            let child = TaskRef::borrowed(&ptr);
            let told = catch_unwind(AssertUnwindSafe(|| link.sink.child_done(child)));
            if let Err(payload) = told {
                header.report_panic("a task group's completion hook panicked", &*payload);
            }
        }
        if start_runner {
            Header::start_callback_runner(ptr);
        }
    }

    fn start_callback_runner(ptr: NonNull<Header>) {
        let task = TaskRef::from_header(ptr);
        let runner = Box::new(move || run_user_callbacks(task));
        // SAFETY: we hold a reference to the task (the `TaskRef` inside the
        // runner holds another).
        unsafe { Header::call_soon(ptr, runner) }
    }
}

/// The runner: pops and runs callbacks in order until none are left.
fn run_user_callbacks(task: TaskRef) {
    let header = task.header();
    loop {
        let (next, unretrieved) = header.with_extras(|e| {
            let cbs = e.callbacks.as_mut().expect("a runner implies callbacks");
            let next = cbs.user.pop_front();
            let mut unretrieved = None;
            if next.is_none() {
                cbs.runner_scheduled = false;
                if std::mem::take(&mut e.panic_report_pending) && !e.panic_observed {
                    unretrieved = e.panic_message.clone();
                }
            }
            (next, unretrieved)
        });
        if let Some(message) = unretrieved {
            // No callback retrieved the panic (see `panic_report_pending`).
            let payload: Box<dyn std::any::Any + Send> = Box::new(message.to_string());
            header.report_panic("Task exception was never retrieved", &*payload);
        }
        let Some((_, f)) = next else { return };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(&task))) {
            header.report_panic("a done callback panicked", &*payload);
        }
    }
}
