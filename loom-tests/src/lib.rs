//! loom models of corio's concurrency core live in `tests/`; run them with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom cargo test -p loom-tests --release`.
//!
//! * `task_state.rs`: the task state machine (wake, poll, completion, join
//!   handle, abort, shutdown) with a mock scheduler hook;
//! * `park.rs`: the worker `Parker` in front of the loom driver;
//! * `idle.rs`: the idle/searching protocol with parkers and the injector;
//! * `spawn_while_sleeping.rs`: outside spawns and wakes on the real
//!   `Runtime` while its workers go to sleep;
//! * `pinned_handoff.rs`: a worker with the main task hands a spawned task
//!   over to an idle worker on the real `Runtime`, and it is never lost;
//! * `shutdown.rs`: runtime drop racing with an outside wake;
//! * `queue.rs`: pop vs steal on the run queues;
//! * `timers.rs`: the per-worker timer slots: cross-thread cancel, re-arm,
//!   waker replacement and (helped) fire of one entry, and no late wakeup
//!   between an insert or re-arm and a worker (owner or watcher) parking;
//! * `pool.rs`: the task-memory pool's return stack (blocks pushed by other
//!   threads, taken all at once by the owner);
//! * `readiness.rs`: the reactor's per-source readiness against a polling
//!   task (set, clear after `WouldBlock`, waker replacement);
//! * `blocking_pool.rs`: the blocking pool's hand-off (submit against a
//!   thread that spins, then sleeps) and its shutdown;
//! * `concurrent_future.rs`: `ConcurrentFuture`'s completion against
//!   `cancel()`, a blocked `result(timeout)` and done callbacks;
//! * `task_group.rs`: a task group's tally (children joining and finishing,
//!   the wakeup at zero, failures);
//! * `sync.rs`: the wait lists of `corio::sync` (lock hand-off, semaphore
//!   grants and fast paths, event set/clear, condition notify, queue
//!   get/put/shutdown, barrier abort), each against a waiter that gives up.
//!
//! The models drive the executor's protocols through
//! `corio_executor::protocols`, a module that exists only under
//! `--cfg loom` and re-exports exactly what they use (the real `Runtime`
//! and the `corio::sync` primitives are reached through their public API).
//!
//! Every file is `#![cfg(loom)]`, so a normal build compiles them to
//! nothing.
