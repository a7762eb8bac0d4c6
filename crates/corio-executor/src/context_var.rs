//! Context variables (Python's `contextvars`): values that follow the flow
//! of tasks instead of threads.
//!
//! # Model
//!
//! Every task has a *context*: a small immutable map from variable to
//! value, shared copy-on-write. Spawning a task gives it a copy of the
//! spawner's context, as asyncio's `create_task` does (`copy_context()`):
//! the copy is one reference-count increment, and nothing at all while the
//! context is empty (an empty context is a null pointer). [`ContextVar::set`]
//! changes only the current task's context; if the map is shared with
//! another task it is copied first, so a child's `set` is never visible to
//! its parent, and a parent's later `set` never reaches a child already
//! spawned.
//!
//! Code that is not running in a task (the thread that calls `run`, a plain
//! thread) has a context of its own per thread, which tasks it spawns copy.
//!
//! # Who touches what
//!
//! A task's context sits in its header and is read and written only by the
//! thread running the task (which holds `RUNNING`), or by the spawner
//! before the task is first queued. So it needs no lock.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::context;
use crate::task::TaskId;

/// A context: `None` while empty.
pub(crate) type Context = Option<Arc<Vars>>;

/// The variables set in a context, by variable id (few, so a vector).
#[derive(Clone, Default)]
pub(crate) struct Vars {
    entries: Vec<(u64, Arc<dyn Any + Send + Sync>)>,
}

impl Vars {
    fn get(&self, id: u64) -> Option<&Arc<dyn Any + Send + Sync>> {
        self.entries.iter().find(|(i, _)| *i == id).map(|(_, v)| v)
    }
}

std::thread_local! {
    /// The context of code running on this thread outside any task.
    static THREAD_CONTEXT: RefCell<Context> = const { RefCell::new(None) };
}

/// Runs `f` on the current context: the running task's, or this thread's.
fn with_current<R>(f: impl FnOnce(&mut Context) -> R) -> R {
    match context::current_task_header() {
        Some(task) => {
            // SAFETY: the current task is alive while it is polled, and this
            // thread is the one running it; `f` does not re-enter (it only
            // edits the map).
            unsafe { task.as_ref().with_context(f) }
        }
        None => THREAD_CONTEXT.with(|c| f(&mut c.borrow_mut())),
    }
}

/// A copy of the current context, for a task being spawned (one reference
/// count, or nothing when empty).
#[inline]
pub(crate) fn capture() -> Context {
    match context::current_task_header() {
        // SAFETY: as in `with_current`.
        Some(task) => unsafe { task.as_ref().with_context(|c| c.clone()) },
        None => THREAD_CONTEXT.with(|c| c.borrow().clone()),
    }
}

/// Runs `f` with `context` as this thread's context (a blocking-pool job
/// running with its caller's variables), then puts the thread's own back,
/// also if `f` panics.
pub(crate) fn scope<R>(context: Context, f: impl FnOnce() -> R) -> R {
    struct Restore(Context);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            THREAD_CONTEXT.with(|c| *c.borrow_mut() = old);
        }
    }
    let old = THREAD_CONTEXT.with(|c| std::mem::replace(&mut *c.borrow_mut(), context));
    let _restore = Restore(old);
    f()
}

/// Who a context belongs to, so a token is only reset where it was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Task(TaskId),
    Thread(std::thread::ThreadId),
}

fn current_owner() -> Owner {
    match context::current_task_header() {
        // SAFETY: the current task is alive while it is polled.
        Some(task) => Owner::Task(unsafe { task.as_ref() }.id()),
        None => Owner::Thread(std::thread::current().id()),
    }
}

/// A context variable (Python's `contextvars.ContextVar`): a value per
/// task, inherited by the tasks it spawns.
///
/// Declare one as a `static` (or keep it wherever suits); [`set`] returns
/// a [`Token`] to undo the change with [`reset`]. Values must be `Clone`
/// ([`get`] returns a copy; wrap big values in an `Arc`).
///
/// [`set`]: ContextVar::set
/// [`get`]: ContextVar::get
/// [`reset`]: ContextVar::reset
///
/// # Example
///
/// ```
/// use corio::ContextVar;
///
/// static REQUEST_ID: ContextVar<u32> = ContextVar::new("request_id");
///
/// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
/// rt.run(async {
///     let _ = REQUEST_ID.set(7);
///     let child = corio::spawn(async {
///         let inherited = REQUEST_ID.get();
///         let _ = REQUEST_ID.set(8); // the child's own copy
///         inherited
///     });
///     assert_eq!(child.await.unwrap(), Some(7));
///     assert_eq!(REQUEST_ID.get(), Some(7)); // not changed by the child
/// });
/// ```
pub struct ContextVar<T> {
    name: &'static str,
    /// Unique per variable; 0 until first used.
    id: AtomicU64,
    default: Option<T>,
    _value: PhantomData<fn() -> T>,
}

impl<T> ContextVar<T> {
    /// A variable without a default: [`get`](ContextVar::get) returns
    /// `None` until it is set.
    ///
    /// ```
    /// static USER: corio::ContextVar<String> = corio::ContextVar::new("user");
    /// assert_eq!(USER.get(), None);
    /// ```
    pub const fn new(name: &'static str) -> ContextVar<T> {
        ContextVar {
            name,
            id: AtomicU64::new(0),
            default: None,
            _value: PhantomData,
        }
    }

    /// A variable whose [`get`](ContextVar::get) returns `default` where it
    /// was never set (Python's `ContextVar(name, default=...)`).
    ///
    /// ```
    /// static DEPTH: corio::ContextVar<u32> = corio::ContextVar::with_default("depth", 0);
    /// assert_eq!(DEPTH.get(), Some(0));
    /// ```
    pub const fn with_default(name: &'static str, default: T) -> ContextVar<T> {
        ContextVar {
            name,
            id: AtomicU64::new(0),
            default: Some(default),
            _value: PhantomData,
        }
    }

    /// The variable's name.
    ///
    /// ```
    /// let v = corio::ContextVar::<u8>::new("level");
    /// assert_eq!(v.name(), "level");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn id(&self) -> u64 {
        // Ids only need to be unique: std atomics, not a protocol.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        let fresh = NEXT.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => fresh,
            Err(won) => won,
        }
    }
}

impl<T: Clone + Send + Sync + 'static> ContextVar<T> {
    /// The value in the current context: the one set here or inherited, or
    /// the default, or `None`.
    ///
    /// ```
    /// static V: corio::ContextVar<&str> = corio::ContextVar::new("v");
    /// # let rt = corio::Runtime::builder().workers(1).build().unwrap();
    /// rt.run(async {
    ///     assert_eq!(V.get(), None);
    ///     let _ = V.set("x");
    ///     assert_eq!(V.get(), Some("x"));
    /// });
    /// ```
    pub fn get(&self) -> Option<T> {
        let id = self.id();
        let found = with_current(|ctx| {
            ctx.as_ref()
                .and_then(|vars| vars.get(id))
                .and_then(|v| v.downcast_ref::<T>())
                .cloned()
        });
        found.or_else(|| self.default.clone())
    }

    /// Sets the value in the current context (the running task's, or this
    /// thread's outside a task); returns a token that
    /// [`reset`](ContextVar::reset) takes to restore the previous value.
    ///
    /// ```
    /// static V: corio::ContextVar<u8> = corio::ContextVar::new("v");
    /// let token = V.set(1);
    /// assert_eq!(V.get(), Some(1));
    /// V.reset(token);
    /// assert_eq!(V.get(), None);
    /// ```
    pub fn set(&self, value: T) -> Token<T> {
        let id = self.id();
        let old = with_current(|ctx| {
            let vars = Arc::make_mut(ctx.get_or_insert_with(Arc::default));
            let value: Arc<dyn Any + Send + Sync> = Arc::new(value);
            match vars.entries.iter_mut().find(|(i, _)| *i == id) {
                Some((_, slot)) => Some(std::mem::replace(slot, value)),
                None => {
                    vars.entries.push((id, value));
                    None
                }
            }
        });
        Token {
            var: id,
            owner: current_owner(),
            old,
            _value: PhantomData,
        }
    }

    /// Restores the value the variable had before the [`set`](ContextVar::set)
    /// that made `token` (unset, if it had none).
    ///
    /// # Panics
    ///
    /// If `token` came from another variable, or from a `set` in another
    /// context (another task or thread): Python raises `ValueError` there.
    ///
    /// ```
    /// static V: corio::ContextVar<u8> = corio::ContextVar::new("v");
    /// V.set(1);
    /// let token = V.set(2);
    /// assert_eq!(token.old_value(), Some(&1));
    /// V.reset(token);
    /// assert_eq!(V.get(), Some(1));
    /// ```
    pub fn reset(&self, token: Token<T>) {
        let id = self.id();
        assert!(
            token.var == id,
            "corio: ContextVar::reset was given a token made by another variable's set() \
             (this is `{}`): reset each variable with its own token",
            self.name
        );
        assert!(
            token.owner == current_owner(),
            "corio: ContextVar `{}` was reset with a token made in another context (another \
             task or thread): a token can only be reset in the task or thread whose set() made it",
            self.name
        );
        with_current(|ctx| {
            let Some(arc) = ctx.as_mut() else { return };
            let vars = Arc::make_mut(arc);
            let at = vars.entries.iter().position(|(i, _)| *i == id);
            match (at, token.old) {
                (Some(at), Some(old)) => vars.entries[at].1 = old,
                (Some(at), None) => {
                    vars.entries.swap_remove(at);
                }
                (None, Some(old)) => vars.entries.push((id, old)),
                (None, None) => {}
            }
            if vars.entries.is_empty() {
                *ctx = None;
            }
        });
    }
}

impl<T> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextVar")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What [`ContextVar::set`] returns: the previous value, to restore with
/// [`ContextVar::reset`] (Python's `contextvars.Token`).
///
/// ```
/// static V: corio::ContextVar<u8> = corio::ContextVar::new("v");
/// let t = V.set(3);
/// assert_eq!(t.old_value(), None); // it was unset
/// ```
#[must_use = "a Token is the only way to reset the variable to its previous value"]
pub struct Token<T> {
    var: u64,
    owner: Owner,
    old: Option<Arc<dyn Any + Send + Sync>>,
    _value: PhantomData<fn() -> T>,
}

impl<T: 'static> Token<T> {
    /// The value before the `set` (`None`: it was unset; Python's
    /// `Token.MISSING`).
    ///
    /// ```
    /// static V: corio::ContextVar<u8> = corio::ContextVar::new("v");
    /// let _ = V.set(1);
    /// assert_eq!(V.set(2).old_value(), Some(&1));
    /// ```
    pub fn old_value(&self) -> Option<&T> {
        self.old.as_ref().and_then(|v| v.downcast_ref::<T>())
    }
}

impl<T> fmt::Debug for Token<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("had_value", &self.old.is_some())
            .finish_non_exhaustive()
    }
}
