//! Models the readiness protocol of `corio-reactor` (`readiness.rs`): the
//! reactor thread setting readiness (and waking) while a task polls,
//! clears after `WouldBlock`, and replaces its waker.
//!
//! The "socket" is an atomic count of bytes that the writing thread adds to
//! *before* it sets readiness, as a kernel does before it reports the
//! event. The task reads by taking the whole count; finding 0 is
//! `WouldBlock`, after which it clears the readiness it acted on. The task
//! blocks on a loom condvar between polls until its waker fires, so a lost
//! wakeup, or a clear that erases a newer event, is a loom deadlock.
#![cfg(loom)]

mod common;

use std::task::{Context, Poll, Waker};

use common::Kick;
use corio_reactor::{Direction, Ready, ScheduledIo};
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// Reads until `want` bytes arrived, as an I/O future would: poll, try,
/// clear on `WouldBlock`, wait for the waker.
fn read_all(io: &ScheduledIo, data: &AtomicUsize, want: usize, kick: &Kick, waker: &Waker) {
    let mut got = 0;
    let mut cx = Context::from_waker(waker);
    while got < want {
        match io.poll_ready(Direction::Read, &mut cx) {
            Poll::Ready(ev) => {
                let n = data.swap(0, SeqCst);
                if n == 0 {
                    io.clear_readiness(ev); // WouldBlock
                } else {
                    got += n;
                }
            }
            Poll::Pending => kick.block(),
        }
    }
}

/// One event arrives while the task polls: it always gets the byte.
#[test]
fn a_set_racing_a_poll_is_never_lost() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(AtomicUsize::new(0));
        let (kick, waker) = Kick::new_waker();
        let writer = {
            let (io, data) = (io.clone(), data.clone());
            thread::spawn(move || {
                data.fetch_add(1, SeqCst);
                io.set_readiness(Ready::READABLE);
            })
        };
        read_all(&io, &data, 1, &kick, &waker);
        writer.join().unwrap();
    });
}

/// The task acts on an old event (no data behind it) and clears it while a
/// new event arrives: the clear never erases the new one.
#[test]
fn a_clear_based_on_a_stale_event_never_erases_a_newer_one() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        io.set_readiness(Ready::READABLE); // spurious: no data behind it
        let data = Arc::new(AtomicUsize::new(0));
        let (kick, waker) = Kick::new_waker();
        let writer = {
            let (io, data) = (io.clone(), data.clone());
            thread::spawn(move || {
                data.fetch_add(1, SeqCst);
                io.set_readiness(Ready::READABLE);
            })
        };
        read_all(&io, &data, 1, &kick, &waker);
        writer.join().unwrap();
    });
}

/// Two events from two threads, two bytes: both arrive.
#[test]
fn two_sets_from_two_threads_both_arrive() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(AtomicUsize::new(0));
        let (kick, waker) = Kick::new_waker();
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (io, data) = (io.clone(), data.clone());
                thread::spawn(move || {
                    data.fetch_add(1, SeqCst);
                    io.set_readiness(Ready::READABLE);
                })
            })
            .collect();
        read_all(&io, &data, 2, &kick, &waker);
        for w in writers {
            w.join().unwrap();
        }
    });
}

/// The task moves (its waker changes between polls) while the event
/// arrives: the new waker is the one woken, or the poll sees the event.
#[test]
fn a_waker_replaced_while_an_event_arrives_still_gets_it() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let data = Arc::new(AtomicUsize::new(0));
        let (_old_kick, old_waker) = Kick::new_waker();
        let (kick, waker) = Kick::new_waker();
        // First poll with the old waker: nothing yet.
        assert!(io
            .poll_ready(Direction::Read, &mut Context::from_waker(&old_waker))
            .is_pending());
        let writer = {
            let (io, data) = (io.clone(), data.clone());
            thread::spawn(move || {
                data.fetch_add(1, SeqCst);
                io.set_readiness(Ready::READABLE);
            })
        };
        read_all(&io, &data, 1, &kick, &waker);
        writer.join().unwrap();
    });
}

/// Deregistration races a waiting writer: it is woken, and told.
#[test]
fn shutdown_wakes_a_waiting_task_and_tells_it() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let (kick, waker) = Kick::new_waker();
        let closer = {
            let io = io.clone();
            thread::spawn(move || io.shutdown())
        };
        let mut cx = Context::from_waker(&waker);
        loop {
            match io.poll_ready(Direction::Write, &mut cx) {
                Poll::Ready(ev) => {
                    assert!(ev.shutdown, "writable without an event");
                    break;
                }
                Poll::Pending => kick.block(),
            }
        }
        closer.join().unwrap();
    });
}
