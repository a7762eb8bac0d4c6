//! Ctrl-C: [`ctrl_c`], and what [`corio::run`](crate::run) does on SIGINT.
//!
//! # How a signal travels
//!
//! The SIGINT handler does the one async-signal-safe thing it can: it
//! writes a byte to a pipe. A thread of ours (`corio-signal`, started the
//! first time a handler is installed) blocks reading that pipe, and for each
//! byte, in ordinary thread context, counts the signal, wakes every
//! [`ctrl_c`] future waiting, and tells every active `corio::run`: the first
//! SIGINT cancels its main task (asyncio's `KeyboardInterrupt`, delivered as
//! a cancellation the main task may clean up after), the second aborts it.
//!
//! The handler is installed while someone listens (an active `corio::run`,
//! or a `ctrl_c` future) and the previous disposition is put back when the
//! last one is done, so outside those, Ctrl-C kills the process as usual.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::TaskRef;

/// The number of SIGINTs received since the first handler was installed.
static COUNT: AtomicU64 = AtomicU64::new(0);
/// The write end of the pipe, for the handler.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

struct Listeners {
    /// How many listeners need the handler installed.
    users: usize,
    /// The disposition the handler replaced, while it is installed.
    #[cfg(unix)]
    previous: Option<libc::sigaction>,
    /// `ctrl_c` futures waiting.
    waiters: Vec<Waker>,
    /// Active `corio::run` calls.
    runs: Vec<RunEntry>,
    next_run: u64,
}

struct RunEntry {
    id: u64,
    main: Option<TaskRef>,
    interrupts: u32,
    interrupted: std::sync::Arc<AtomicBool>,
}

fn listeners() -> &'static Mutex<Listeners> {
    static L: OnceLock<Mutex<Listeners>> = OnceLock::new();
    L.get_or_init(|| {
        Mutex::new(Listeners {
            users: 0,
            #[cfg(unix)]
            previous: None,
            waiters: Vec::new(),
            runs: Vec::new(),
            next_run: 1,
        })
    })
}

fn lock() -> std::sync::MutexGuard<'static, Listeners> {
    listeners().lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: `write` is async-signal-safe; the buffer is a valid byte.
        // A full pipe drops the byte: thousands of pending SIGINTs act as
        // many, which is fine.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

/// Starts the reader thread and the pipe, once.
#[cfg(unix)]
fn start_reader() -> io::Result<()> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    let r = STARTED.get_or_init(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors `pipe` writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error().to_string());
        }
        let (read_fd, write_fd) = (fds[0], fds[1]);
        // The handler must never block on a full pipe.
        // SAFETY: plain fcntl calls on descriptors we own.
        unsafe {
            let flags = libc::fcntl(write_fd, libc::F_GETFL);
            libc::fcntl(write_fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
            libc::fcntl(read_fd, libc::F_SETFD, libc::FD_CLOEXEC);
            libc::fcntl(write_fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        WRITE_FD.store(write_fd, Ordering::Relaxed);
        std::thread::Builder::new()
            .name("corio-signal".into())
            .spawn(move || reader(read_fd))
            .map(drop)
            .map_err(|e| e.to_string())
    });
    r.clone().map_err(io::Error::other)
}

#[cfg(unix)]
fn reader(fd: libc::c_int) {
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if n == 0 {
            return; // the write end is never closed; be safe anyway
        }
        for _ in 0..n {
            deliver_one();
        }
    }
}

/// One SIGINT, in thread context.
fn deliver_one() {
    COUNT.fetch_add(1, Ordering::SeqCst);
    let (waiters, actions) = {
        let mut l = lock();
        let waiters = std::mem::take(&mut l.waiters);
        let actions: Vec<(TaskRef, bool)> = l
            .runs
            .iter_mut()
            .filter_map(|r| {
                let main = r.main.clone()?;
                r.interrupts += 1;
                r.interrupted.store(true, Ordering::SeqCst);
                Some((main, r.interrupts > 1))
            })
            .collect();
        (waiters, actions)
    };
    waiters.into_iter().for_each(Waker::wake);
    for (main, second) in actions {
        if second {
            main.abort();
        } else {
            main.cancel_with("interrupted (SIGINT)");
        }
    }
}

/// Installs the handler for one more listener.
fn acquire() -> io::Result<()> {
    #[cfg(unix)]
    {
        start_reader()?;
        let mut l = lock();
        if l.users == 0 {
            // SAFETY: a zeroed sigaction is a valid starting point; we set
            // the handler and an empty mask, and keep the old disposition.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGINT, &action, &mut previous) != 0 {
                    return Err(io::Error::last_os_error());
                }
                l.previous = Some(previous);
            }
        }
        l.users += 1;
        Ok(())
    }
    #[cfg(not(unix))]
    {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "corio: SIGINT handling is only implemented on Unix",
        ))
    }
}

/// One listener is done; the last one puts the old disposition back.
fn release() {
    #[cfg(unix)]
    {
        let mut l = lock();
        l.users -= 1;
        if l.users == 0 {
            if let Some(previous) = l.previous.take() {
                // SAFETY: restoring the disposition `sigaction` gave us.
                unsafe { libc::sigaction(libc::SIGINT, &previous, std::ptr::null_mut()) };
            }
        }
    }
}

/// Waits for the next Ctrl-C (SIGINT) sent to the process.
///
/// While any `ctrl_c` future exists (or a `corio::run` is active), SIGINT
/// no longer terminates the process; the default comes back afterwards.
/// Returns an error if the handler cannot be installed, and, as a
/// cancellation point, an error wrapping [`Cancelled`](crate::Cancelled)
/// when the task is cancelled while it waits.
///
/// # Example
///
/// ```no_run
/// corio::run(async {
///     println!("press Ctrl-C to stop");
///     corio::signal::ctrl_c().await.unwrap();
///     println!("bye");
/// });
/// ```
pub fn ctrl_c() -> CtrlC {
    let installed = acquire();
    CtrlC {
        seen: COUNT.load(Ordering::SeqCst),
        installed: installed.as_ref().is_ok(),
        error: installed.err(),
    }
}

/// The future returned by [`ctrl_c`]. Dropping it stops listening (and
/// gives Ctrl-C its default action back if nobody else listens).
///
/// ```
/// let waiting: corio::signal::CtrlC = corio::signal::ctrl_c();
/// drop(waiting);
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct CtrlC {
    seen: u64,
    installed: bool,
    error: Option<io::Error>,
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.error.take() {
            return Poll::Ready(Err(e));
        }
        if let Some(c) = crate::poll_cancelled() {
            return Poll::Ready(Err(io::Error::other(c)));
        }
        let mut l = lock();
        if COUNT.load(Ordering::SeqCst) > self.seen {
            return Poll::Ready(Ok(()));
        }
        if !l.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            l.waiters.push(cx.waker().clone());
        }
        crate::track(Poll::Pending)
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        if self.installed {
            release();
        }
    }
}

/// The SIGINT handling of one `corio::run`, from before its main task
/// starts until it returns.
pub(crate) struct RunGuard {
    id: u64,
    installed: bool,
    interrupted: std::sync::Arc<AtomicBool>,
}

impl RunGuard {
    pub(crate) fn new() -> RunGuard {
        let installed = acquire().is_ok();
        let interrupted = std::sync::Arc::new(AtomicBool::new(false));
        let mut l = lock();
        let id = l.next_run;
        l.next_run += 1;
        l.runs.push(RunEntry {
            id,
            main: None,
            interrupts: 0,
            interrupted: interrupted.clone(),
        });
        RunGuard {
            id,
            installed,
            interrupted,
        }
    }

    /// A future that names the task polling it as this run's main task,
    /// then runs `main`.
    pub(crate) fn main<F: Future>(&self, main: F) -> impl Future<Output = F::Output> {
        let id = self.id;
        async move {
            if let Some(me) = crate::current_task() {
                if let Some(r) = lock().runs.iter_mut().find(|r| r.id == id) {
                    r.main = Some(me);
                }
            }
            main.await
        }
    }

    /// Whether a SIGINT reached this run.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let entry = {
            let mut l = lock();
            let i = l.runs.iter().position(|r| r.id == self.id);
            i.map(|i| l.runs.swap_remove(i))
        };
        drop(entry);
        if self.installed {
            release();
        }
    }
}

/// The panic payload of a `corio::run` whose main task was interrupted by
/// Ctrl-C (SIGINT) and let the cancellation through: asyncio's
/// `KeyboardInterrupt`.
///
/// ```
/// let p: Box<dyn std::any::Any + Send> = Box::new(corio::signal::Interrupted);
/// assert!(p.downcast_ref::<corio::signal::Interrupted>().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted by Ctrl-C (SIGINT)")
    }
}

impl std::error::Error for Interrupted {}
