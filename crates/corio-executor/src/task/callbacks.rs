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
//! * **Completion hooks** are the runtime's (a `TaskGroup` watching its
//!   children): they run inline on the completing thread, after the outcome
//!   is stored and the joiner woken, and must be short and must not block.
//!   A hook added to a finished task runs inline in the adder.

use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use super::raw::Header;
use super::TaskRef;

/// A user callback: sees the finished task.
pub(crate) type DoneCallback = Box<dyn FnOnce(&TaskRef) + Send + 'static>;

/// A runtime hook: runs inline on the completing thread.
pub(crate) type CompletionHook = Box<dyn FnOnce(&Header) + Send + 'static>;

/// Identifies a done callback, for
/// [`remove_done_callback`](crate::Task::remove_done_callback).
///
/// ```
/// # let rt = corio_executor::Runtime::builder().workers(1).build().unwrap();
/// # rt.run(async {
/// let t = corio_executor::spawn(async {});
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
pub struct Callbacks {
    user: VecDeque<(CallbackId, DoneCallback)>,
    hooks: Vec<CompletionHook>,
    /// A runner is queued or running: it will pick up what is pushed.
    runner_scheduled: bool,
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("user", &self.user.len())
            .field("hooks", &self.hooks.len())
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

    /// Registers a completion hook; runs it at once, here, if the task has
    /// already finished.
    pub(crate) fn add_completion_hook(&self, hook: CompletionHook) {
        let late = self.with_extras(|e| {
            let cbs = e.callbacks.get_or_insert_with(Box::default);
            if self.state.set_callbacks().is_ok() {
                cbs.hooks.push(hook);
                None
            } else {
                Some(hook)
            }
        });
        if let Some(hook) = late {
            self.run_hook(hook);
        }
    }

    fn run_hook(&self, hook: CompletionHook) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| hook(self))) {
            self.report_panic("a completion hook panicked", &*payload);
        }
    }

    /// The completing thread saw `CALLBACKS`: runs the hooks, and starts the
    /// runner for the user callbacks.
    pub(crate) fn run_completion_callbacks(ptr: NonNull<Header>) {
        // SAFETY: the completing thread holds the runner's reference.
        let header = unsafe { ptr.as_ref() };
        let (hooks, start_runner) = header.with_extras(|e| match e.callbacks.as_mut() {
            None => (Vec::new(), false),
            Some(cbs) => {
                let start = !cbs.user.is_empty() && !cbs.runner_scheduled;
                cbs.runner_scheduled |= start;
                (std::mem::take(&mut cbs.hooks), start)
            }
        });
        for hook in hooks {
            header.run_hook(hook);
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
        let next = header.with_extras(|e| {
            let cbs = e.callbacks.as_mut().expect("a runner implies callbacks");
            let next = cbs.user.pop_front();
            if next.is_none() {
                cbs.runner_scheduled = false;
            }
            next
        });
        let Some((_, f)) = next else { return };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(&task))) {
            header.report_panic("a done callback panicked", &*payload);
        }
    }
}
