//! Models the task state machine (`task/state.rs`, `task/raw.rs`,
//! `task/cancel.rs`): one task allocation shared by its runner, its wakers,
//! its `Task` join handle, `abort()` and `cancel()` callers and the registry
//! (`RawTask::shutdown`), on 2 and 3 threads.
//!
//! The task is built with `task::new_task` around a [`Mock`] scheduler hook
//! whose run queue is a loom `Mutex<VecDeque<Notified>>` plus a condvar.
//! The runner thread pops and runs notifications and polls the join handle
//! with a waker that kicks the same condvar, so a lost task wakeup or a lost
//! join wakeup leaves the runner blocked forever, which loom reports as a
//! deadlock.
//!
//! Properties checked in every interleaving:
//!
//! * **no lost wakeup**: the join handle always yields the output (or
//!   `Cancelled` when an abort or shutdown raced in);
//! * **no double poll**: the future returns `Ready` at most once and is
//!   never polled again after it (the harness would turn that into a
//!   panic, and the output into `Err(Panicked)`);
//! * **exactly-once drops**: the future and the output are each dropped
//!   exactly once (drop counters), whoever ends up owning them;
//! * **no leak, no use-after-free**: once every thread is done, the task
//!   allocation has been freed (the `Arc` the hook holds is released; loom
//!   also reports any leaked `Arc`), and loom's `UnsafeCell` tracking checks
//!   that the stage and join-waker slots are never accessed concurrently.
#![cfg(loom)]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

use corio_executor::protocols::{new_task, Header, Notified, Schedule};
use corio_executor::{Task, TaskError};
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

// ---- the mock scheduler ----

/// The mock run queue: notifications, plus a flag the join waker raises.
#[derive(Default)]
struct RunqState {
    tasks: VecDeque<Notified>,
    kicked: bool,
}

/// A run queue the runner thread can block on.
#[derive(Default)]
struct Runq {
    state: Mutex<RunqState>,
    cv: Condvar,
}

impl Runq {
    fn push(&self, task: Notified) {
        self.state.lock().unwrap().tasks.push_back(task);
        self.cv.notify_one();
    }

    fn pop(&self) -> Option<Notified> {
        self.state.lock().unwrap().tasks.pop_front()
    }
}

/// The scheduler hook stored in the task.
struct Mock {
    runq: Arc<Runq>,
    /// What `release` answers: true models a registry that still held the
    /// task at completion (the completer releases that reference).
    release: bool,
    panics: Arc<AtomicUsize>,
}

impl Schedule for Mock {
    fn schedule(&self, task: Notified) {
        self.runq.push(task);
    }

    fn reschedule(&self, task: Notified) {
        self.runq.push(task);
    }

    fn release(&self, _task: &Header) -> bool {
        self.release
    }

    fn unhandled_panic(
        &self,
        _task: &Header,
        _what: &'static str,
        _payload: &(dyn std::any::Any + Send),
    ) {
        self.panics.fetch_add(1, SeqCst);
    }
}

/// The join waker of the runner: raises `kicked` and wakes the runner.
struct Kick(Arc<Runq>);

impl Wake for Kick {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.state.lock().unwrap().kicked = true;
        self.0.cv.notify_one();
    }
}

/// A waker that counts its wakes; its `Arc` shows whether clones leaked.
struct CountWake(Arc<AtomicUsize>);

impl Wake for CountWake {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polls `fut` on this thread until it is ready, blocking on a loom condvar
/// between polls until its waker fires (a lost wakeup is a loom deadlock).
fn block_on<F: Future + Unpin>(mut fut: F) -> F::Output {
    let signal = Arc::new(Runq::default());
    let waker = Waker::from(std::sync::Arc::new(Kick(signal.clone())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = Pin::new(&mut fut).poll(&mut cx) {
            return out;
        }
        let mut st = signal.state.lock().unwrap();
        while !std::mem::take(&mut st.kicked) {
            st = signal.cv.wait(st).unwrap();
        }
    }
}

/// One model's scheduler: the run queue and the panic counter.
struct Harness {
    runq: Arc<Runq>,
    panics: Arc<AtomicUsize>,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            runq: Arc::new(Runq::default()),
            panics: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn mock(&self, release: bool) -> Mock {
        Mock {
            runq: self.runq.clone(),
            release,
            panics: self.panics.clone(),
        }
    }

    /// Spawns `future` with `release == true`: the completer releases the
    /// registry's reference, so the `RawTask` is forgotten here. The first
    /// notification goes to the run queue.
    fn spawn<F: Future + 'static>(&self, future: F) -> Task<F::Output> {
        let (raw, notified, join) = new_task(future, self.mock(true));
        std::mem::forget(raw);
        self.runq.push(notified);
        join
    }

    /// Runs notifications until `join` is ready; blocks (on the condvar)
    /// while there is nothing to run and the join waker has not fired.
    fn run_until_complete<T>(&self, join: &mut Task<T>) -> Result<T, TaskError> {
        let waker = Waker::from(std::sync::Arc::new(Kick(self.runq.clone())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(out) = Pin::new(&mut *join).poll(&mut cx) {
                return out;
            }
            let next = {
                let mut st = self.runq.state.lock().unwrap();
                loop {
                    if let Some(task) = st.tasks.pop_front() {
                        break Some(task);
                    }
                    if std::mem::take(&mut st.kicked) {
                        break None;
                    }
                    st = self.runq.cv.wait(st).unwrap();
                }
            };
            if let Some(task) = next {
                task.run();
            }
        }
    }

    /// Runs whatever is queued until the queue is empty.
    fn run_queued(&self) {
        while let Some(task) = self.runq.pop() {
            task.run();
        }
    }

    /// Called once every thread is done and every handle dropped: runs the
    /// stale notifications left in the queue (they must be skipped), then
    /// checks that no panic was reported and that the task was freed.
    fn finish(self) {
        self.run_queued();
        assert_eq!(self.panics.load(SeqCst), 0, "unexpected unhandled panic");
        assert_eq!(
            Arc::strong_count(&self.runq),
            1,
            "a task (or a waker) was leaked"
        );
    }
}

// ---- futures and values with counters ----

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Counters a test future updates.
#[derive(Clone)]
struct Probe {
    drops: Arc<AtomicUsize>,
    polls: Arc<AtomicUsize>,
    readies: Arc<AtomicUsize>,
}

impl Probe {
    fn new() -> Probe {
        Probe {
            drops: Arc::new(AtomicUsize::new(0)),
            polls: Arc::new(AtomicUsize::new(0)),
            readies: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn drops(&self) -> usize {
        self.drops.load(SeqCst)
    }

    fn polls(&self) -> usize {
        self.polls.load(SeqCst)
    }

    fn readies(&self) -> usize {
        self.readies.load(SeqCst)
    }
}

/// A one-shot signal between a thread and a future: the future parks its
/// waker here until `fire` is called.
#[derive(Default)]
struct Chan(Mutex<(bool, Option<Waker>)>);

impl Chan {
    /// Sets the signal and wakes the stored waker (by value), if any.
    fn fire(&self) {
        let waker = {
            let mut st = self.0.lock().unwrap();
            st.0 = true;
            st.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Returns `Ready(value)` once `chan` has fired; until then stores a clone
/// of its waker in `chan`.
struct WaitFire {
    chan: Arc<Chan>,
    value: u32,
    probe: Probe,
    _drop: DropCount,
}

impl WaitFire {
    fn new(chan: &Arc<Chan>, value: u32, probe: &Probe) -> WaitFire {
        WaitFire {
            chan: chan.clone(),
            value,
            probe: probe.clone(),
            _drop: DropCount(probe.drops.clone()),
        }
    }
}

impl Future for WaitFire {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.probe.polls.fetch_add(1, SeqCst);
        let mut st = self.chan.0.lock().unwrap();
        if st.0 {
            self.probe.readies.fetch_add(1, SeqCst);
            Poll::Ready(self.value)
        } else {
            st.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Wakes itself (`wake_by_ref`) and returns `Pending` on the first poll,
/// then returns `Ready(output)`: a yield, which goes through the
/// wake-while-running path and `reschedule`.
struct YieldOnce<T> {
    output: Option<T>,
    probe: Probe,
    _drop: DropCount,
}

impl<T> YieldOnce<T> {
    fn new(output: T, probe: &Probe) -> YieldOnce<T> {
        YieldOnce {
            output: Some(output),
            probe: probe.clone(),
            _drop: DropCount(probe.drops.clone()),
        }
    }
}

impl<T: Unpin> Future for YieldOnce<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let n = self.probe.polls.fetch_add(1, SeqCst);
        if n == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.probe.readies.fetch_add(1, SeqCst);
        Poll::Ready(self.output.take().expect("polled after Ready"))
    }
}

/// Returns `Ready` on the first poll.
struct ReadyNow<T> {
    output: Option<T>,
    probe: Probe,
    _drop: DropCount,
}

impl<T> ReadyNow<T> {
    fn new(output: T, probe: &Probe) -> ReadyNow<T> {
        ReadyNow {
            output: Some(output),
            probe: probe.clone(),
            _drop: DropCount(probe.drops.clone()),
        }
    }
}

impl<T: Unpin> Future for ReadyNow<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        self.probe.polls.fetch_add(1, SeqCst);
        self.probe.readies.fetch_add(1, SeqCst);
        Poll::Ready(self.output.take().expect("polled after Ready"))
    }
}

/// Checks the outcome of a task that may have been aborted or shut down:
/// the value if and only if the future returned it, `Cancelled` otherwise,
/// and the future dropped exactly once either way.
fn check_value_or_cancelled(out: Result<u32, TaskError>, expected: u32, probe: &Probe) {
    match out {
        Ok(v) => {
            assert_eq!(v, expected);
            assert_eq!(probe.readies(), 1, "output without a Ready poll");
        }
        Err(e) => {
            assert!(e.is_cancelled(), "unexpected task error: {e}");
            assert_eq!(probe.readies(), 0, "cancelled after returning Ready");
        }
    }
    assert_eq!(probe.drops(), 1, "the future was not dropped exactly once");
}

// ---- models ----

/// (a) The future hands its waker to another thread, which wakes it (by
/// value) before, during or after the first poll, while the main thread
/// runs the queue until the join handle is ready.
#[test]
fn wake_from_other_thread_vs_poll() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let chan = Arc::new(Chan::default());
        let mut join = h.spawn(WaitFire::new(&chan, 42, &probe));

        let waker_thread = {
            let chan = chan.clone();
            thread::spawn(move || chan.fire())
        };

        let out = h.run_until_complete(&mut join);
        assert_eq!(out.unwrap(), 42);
        waker_thread.join().unwrap();
        drop(join);

        assert_eq!(probe.readies(), 1);
        assert!(probe.polls() <= 2, "polled {} times", probe.polls());
        assert_eq!(probe.drops(), 1);
        drop(chan);
        h.finish();
    });
}

/// (a') The future keeps a clone of its waker and completes at once; the
/// other thread wakes that clone (by value) before or after completion,
/// racing with the join handle's drop for the last reference (the waker
/// may be the one that frees the task).
#[test]
fn stale_waker_vs_completion_and_join_drop() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));

        /// Stores a clone of its waker in the slot, then is ready.
        struct StashWaker {
            slot: Arc<Mutex<Option<Waker>>>,
            _drop: DropCount,
        }
        impl Future for StashWaker {
            type Output = u32;
            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
                *self.slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::Ready(3)
            }
        }

        let mut join = h.spawn(StashWaker {
            slot: slot.clone(),
            _drop: DropCount(probe.drops.clone()),
        });
        let waker_thread = {
            let slot = slot.clone();
            thread::spawn(move || {
                let waker = slot.lock().unwrap().take();
                if let Some(w) = waker {
                    w.wake();
                }
            })
        };

        assert_eq!(h.run_until_complete(&mut join).unwrap(), 3);
        drop(join);
        waker_thread.join().unwrap();
        // If the wake ran before the waker was stored, the clone is still
        // here: dropping it may free the task.
        drop(slot.lock().unwrap().take());
        drop(slot);
        assert_eq!(probe.drops(), 1);
        h.finish();
    });
}

/// (b) The join handle is awaited on one thread (first with one waker,
/// then with another, so the join-waker slot is rewritten) while the task
/// yields once and completes on another thread: the join wakeup is never
/// lost (`block_on` would deadlock).
#[test]
fn join_waker_vs_completion() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let mut join = h.spawn(YieldOnce::new(7u32, &probe));
        let wakes = Arc::new(AtomicUsize::new(0));

        let runner = {
            let runq = h.runq.clone();
            thread::spawn(move || {
                // Run the first poll and the requeued yield.
                while let Some(task) = runq.pop() {
                    task.run();
                }
            })
        };

        let first = Waker::from(std::sync::Arc::new(CountWake(wakes.clone())));
        let out = match Pin::new(&mut join).poll(&mut Context::from_waker(&first)) {
            Poll::Ready(out) => out,
            Poll::Pending => block_on(&mut join),
        };
        assert_eq!(out.unwrap(), 7);
        runner.join().unwrap();
        drop(join);
        drop(first);

        assert_eq!(probe.polls(), 2);
        assert_eq!(probe.readies(), 1);
        assert_eq!(probe.drops(), 1);
        assert_eq!(Arc::strong_count(&wakes), 1, "the first join waker leaked");
        h.finish();
    });
}

/// (c) The join handle is polled once (registering a waker) and dropped on
/// one thread while the task completes on another: the output is dropped
/// exactly once, by the handle or by the completing thread, and the
/// registered waker is released.
#[test]
fn join_drop_vs_completion() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let out_drops = Arc::new(AtomicUsize::new(0));
        let wakes = Arc::new(AtomicUsize::new(0));
        let join = h.spawn(ReadyNow::new(DropCount(out_drops.clone()), &probe));

        let joiner = {
            let wakes = wakes.clone();
            thread::spawn(move || {
                let mut join = join;
                let waker = Waker::from(std::sync::Arc::new(CountWake(wakes)));
                if let Poll::Ready(out) = Pin::new(&mut join).poll(&mut Context::from_waker(&waker))
                {
                    drop(out.unwrap());
                }
                drop(join);
            })
        };

        h.run_queued();
        joiner.join().unwrap();

        assert_eq!(
            out_drops.load(SeqCst),
            1,
            "the output was not dropped exactly once"
        );
        assert_eq!(probe.drops(), 1);
        assert_eq!(probe.readies(), 1);
        assert_eq!(Arc::strong_count(&wakes), 1, "the join waker leaked");
        h.finish();
    });
}

/// (d) `abort()` from another thread (through a `TaskRef`) while the task
/// is queued, being polled (it yields once) or already complete: the task
/// ends with its value or `Cancelled`, its future is dropped exactly once,
/// and the allocation is freed.
#[test]
fn abort_vs_poll() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let mut join = h.spawn(YieldOnce::new(5u32, &probe));

        let aborter = {
            let task = join.task_ref();
            thread::spawn(move || task.abort())
        };

        let out = h.run_until_complete(&mut join);
        aborter.join().unwrap();
        drop(join);

        check_value_or_cancelled(out, 5, &probe);
        assert!(probe.polls() <= 2);
        h.finish();
    });
}

/// (e) Three threads: a waker thread waking the future (by value), an
/// aborting thread, and the runner. Value or `Cancelled`, one drop of the
/// future, nothing leaked.
#[test]
fn wake_vs_abort_vs_run() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let chan = Arc::new(Chan::default());
        let mut join = h.spawn(WaitFire::new(&chan, 9, &probe));

        let waker_thread = {
            let chan = chan.clone();
            thread::spawn(move || chan.fire())
        };
        let aborter = {
            let task = join.task_ref();
            thread::spawn(move || task.abort())
        };

        let out = h.run_until_complete(&mut join);
        waker_thread.join().unwrap();
        aborter.join().unwrap();
        drop(join);

        check_value_or_cancelled(out, 9, &probe);
        assert!(probe.polls() <= 2);
        drop(chan);
        h.finish();
    });
}

/// (f) Runtime shutdown (`RawTask::shutdown`, holding the registry's
/// reference; `release` answers false, as once shutdown has taken the task
/// out of the registry) racing with a wake from another thread and with
/// the runner: shutdown drops the future only if the task is idle,
/// otherwise the runner sees `ABORTED` after its poll. Value or
/// `Cancelled`, one drop, nothing leaked.
#[test]
fn shutdown_vs_wake() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let chan = Arc::new(Chan::default());
        let (raw, notified, mut join) = new_task(WaitFire::new(&chan, 11, &probe), h.mock(false));
        h.runq.push(notified);

        let waker_thread = {
            let chan = chan.clone();
            thread::spawn(move || chan.fire())
        };
        let shutdown_thread = thread::spawn(move || raw.shutdown());

        let out = h.run_until_complete(&mut join);
        waker_thread.join().unwrap();
        shutdown_thread.join().unwrap();
        drop(join);

        check_value_or_cancelled(out, 11, &probe);
        assert!(probe.polls() <= 2);
        drop(chan);
        h.finish();
    });
}

/// (g) Shutdown racing with the join handle's drop and the runner, on a
/// task whose output has a drop counter: the output (if any) and the
/// future are each dropped exactly once.
#[test]
fn shutdown_vs_join_drop() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let out_drops = Arc::new(AtomicUsize::new(0));
        let (raw, notified, join) = new_task(
            ReadyNow::new(DropCount(out_drops.clone()), &probe),
            h.mock(false),
        );
        h.runq.push(notified);

        let shutdown_thread = thread::spawn(move || raw.shutdown());
        let joiner = thread::spawn(move || drop(join));

        h.run_queued();
        shutdown_thread.join().unwrap();
        joiner.join().unwrap();

        assert_eq!(probe.drops(), 1);
        assert!(probe.readies() <= 1);
        // The value is dropped once: as the output (by the completer or the
        // handle) if the future ran, inside the future if shutdown won.
        assert_eq!(
            out_drops.load(SeqCst),
            1,
            "the output was not dropped exactly once"
        );
        h.finish();
    });
}

// ---- asyncio cancellation (`task/cancel.rs`) ----

/// (c) `cancel()` from another thread races the task's completion (the
/// future becomes ready when a third party fires): `cancel` returns true
/// iff the task ends cancelled. Either the request lands before completion
/// (undelivered, or before the first poll: the task ends cancelled and its
/// output is dropped) or `cancel` sees the task complete and returns false.
/// Output and future are each dropped exactly once; nothing leaks.
#[test]
fn cancel_vs_completion() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let chan = Arc::new(Chan::default());
        let mut join = h.spawn(WaitFire::new(&chan, 42, &probe));
        let task = join.task_ref();

        let firer = {
            let chan = chan.clone();
            thread::spawn(move || chan.fire())
        };
        let canceller = thread::spawn(move || task.cancel());

        let out = h.run_until_complete(&mut join);
        let cancelled = canceller.join().unwrap();
        firer.join().unwrap();
        match out {
            Ok(v) => {
                assert!(!cancelled, "cancel() returned true, yet the task delivered");
                assert_eq!(v, 42);
            }
            Err(e) => {
                assert!(e.is_cancelled(), "unexpected task error: {e}");
                assert!(cancelled, "cancelled without a request");
            }
        }
        assert_eq!(join.cancelled(), cancelled);
        drop(join);
        assert_eq!(probe.drops(), 1);
        drop(chan);
        h.finish();
    });
}

/// A future that is a cancellation point: completes with `"cancelled"`
/// when a request is delivered to it (`poll_cancelled`), or `"woken"` once
/// its channel fires.
struct CancelPoint {
    chan: Arc<Chan>,
    delivered: Arc<AtomicUsize>,
    _drop: DropCount,
}

impl Future for CancelPoint {
    type Output = &'static str;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if corio_executor::poll_cancelled().is_some() {
            self.delivered.fetch_add(1, SeqCst);
            return Poll::Ready("cancelled");
        }
        let mut st = self.chan.0.lock().unwrap();
        if st.0 {
            Poll::Ready("woken")
        } else {
            st.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// (d) `cancel()` and an ordinary wake race from two threads while the
/// task sits in a cancellation point: the task is never left asleep with a
/// request pending (a lost wakeup would deadlock the runner), the request
/// is delivered at most once, and a task that got a request (`cancel`
/// returned true) ends cancelled, whether the request was delivered or was
/// still pending when the woken future returned; otherwise it finished
/// first and delivers its output.
#[test]
fn cancel_vs_wake() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let chan = Arc::new(Chan::default());
        let delivered = Arc::new(AtomicUsize::new(0));
        let mut join = h.spawn(CancelPoint {
            chan: chan.clone(),
            delivered: delivered.clone(),
            _drop: DropCount(probe.drops.clone()),
        });
        let task = join.task_ref();

        let waker = {
            let chan = chan.clone();
            thread::spawn(move || chan.fire())
        };
        let canceller = thread::spawn(move || task.cancel());

        let out = h.run_until_complete(&mut join);
        let cancelled = canceller.join().unwrap();
        waker.join().unwrap();
        if cancelled {
            assert!(out.unwrap_err().is_cancelled());
        } else {
            // The wake won: the task finished before the request.
            assert_eq!(out.unwrap(), "woken");
            assert_eq!(delivered.load(SeqCst), 0);
        }
        assert!(delivered.load(SeqCst) <= 1, "one request, one delivery");
        drop(join);
        assert_eq!(probe.drops(), 1);
        drop(chan);
        h.finish();
    });
}

/// (e) A done callback is added from another thread while the task
/// completes (the `CALLBACKS` bit, `task/callbacks.rs`): whichever wins,
/// the callback runs exactly once, after completion (it sees the task
/// done), and none is lost. The mock's `call_soon` runs the runner at once,
/// on the thread that hands it over.
#[test]
fn done_callback_vs_completion() {
    loom::model(|| {
        let h = Harness::new();
        let probe = Probe::new();
        let chan = Arc::new(Chan::default());
        let mut join = h.spawn(WaitFire::new(&chan, 7, &probe));
        let task = join.task_ref();
        let ran = Arc::new(AtomicUsize::new(0));

        let firer = {
            let chan = chan.clone();
            thread::spawn(move || chan.fire())
        };
        let adder = {
            let ran = ran.clone();
            thread::spawn(move || {
                task.add_done_callback(move |t| {
                    assert!(t.done(), "a done callback ran before completion");
                    ran.fetch_add(1, SeqCst);
                });
            })
        };

        assert_eq!(h.run_until_complete(&mut join).unwrap(), 7);
        adder.join().unwrap();
        firer.join().unwrap();
        assert_eq!(ran.load(SeqCst), 1, "the callback did not run exactly once");
        drop(join);
        drop(chan);
        h.finish();
    });
}
