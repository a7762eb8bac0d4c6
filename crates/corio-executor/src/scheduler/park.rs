//! Parking a worker in its event loop, and unparking it from any thread.
//!
//! A worker with nothing to run blocks in its own reactor (`epoll_wait`).
//! Another thread wakes it through the reactor's eventfd. To avoid a
//! syscall per wakeup when the worker is awake anyway, an atomic word sits
//! in front of the driver:
//!
//! | state      | meaning |
//! |------------|---------|
//! | `EMPTY`    | awake, no pending unpark |
//! | `PARKED`   | about to block, or blocked, in the driver |
//! | `NOTIFIED` | an unpark is pending: the next park returns at once |
//!
//! * `unpark` swaps in `NOTIFIED`; only if it replaced `PARKED` does it
//!   write to the eventfd.
//! * `park` consumes a pending `NOTIFIED` and returns; otherwise it moves
//!   `EMPTY -> PARKED`, blocks in the driver, then swaps back to `EMPTY`.
//!   An unpark between the CAS and the block is not lost: the eventfd is
//!   written, so the driver returns at once.
//!
//! Spurious returns are allowed; the worker re-checks its queues.
//!
//! One park in `config::WAKEUP_SAMPLE_EVERY` is measured: the unpark that
//! writes to the eventfd then stamps the time, and the woken worker reports
//! how long it took to run again (`crate::spin`: that measured cost bounds
//! every spin in the runtime). The stamp is a statistic beside the
//! protocol, not part of it, and absent under loom.

use std::time::Duration;

use crate::sync::{AtomicUsize, Ordering::SeqCst};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// What a worker blocks in: its reactor normally, a condvar under loom.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub trait Driver: Send + 'static {
    /// The handle that interrupts `park` from another thread.
    type Unpark: Unpark;
    /// Blocks until unparked, an event arrives, or the timeout passes.
    fn park(&mut self, timeout: Option<Duration>);
    /// A cross-thread handle to interrupt `park`.
    fn unparker(&self) -> Self::Unpark;
    /// Delivers the I/O events that are ready now, without blocking (a busy
    /// worker's periodic look at its reactor, or an idle worker helping a
    /// busy one); returns how many. Nothing by default.
    fn poll_events(&mut self) -> usize {
        0
    }
}

/// Interrupts a [`Driver::park`].
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub trait Unpark: Send + Sync + 'static {
    /// Makes the current or next `park` return.
    fn unpark(&self);
}

#[cfg(not(loom))]
impl Driver for corio_reactor::Reactor {
    type Unpark = corio_reactor::Unparker;

    fn park(&mut self, timeout: Option<Duration>) {
        if let Err(e) = corio_reactor::Reactor::park(self, timeout) {
            // epoll_wait only fails on programming errors (EBADF, EINVAL);
            // treat it as a spurious wakeup rather than kill the worker.
            debug_assert!(false, "epoll_wait failed: {e}");
        }
    }

    fn unparker(&self) -> corio_reactor::Unparker {
        corio_reactor::Reactor::unparker(self)
    }

    fn poll_events(&mut self) -> usize {
        match corio_reactor::Reactor::park(self, Some(Duration::ZERO)) {
            Ok(n) => n,
            Err(e) => {
                debug_assert!(false, "epoll_wait failed: {e}");
                0
            }
        }
    }
}

#[cfg(not(loom))]
impl Unpark for corio_reactor::Unparker {
    fn unpark(&self) {
        corio_reactor::Unparker::unpark(self)
    }
}

/// The driver the runtime uses.
#[cfg(not(loom))]
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub type DefaultDriver = corio_reactor::Reactor;

/// The driver the runtime uses: a condvar stand-in for the reactor, since
/// loom cannot model epoll.
#[cfg(loom)]
pub type DefaultDriver = loom_driver::LoomDriver;

/// Creates a driver for a new worker.
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub fn new_driver() -> std::io::Result<DefaultDriver> {
    #[cfg(not(loom))]
    return corio_reactor::Reactor::new();
    #[cfg(loom)]
    return Ok(loom_driver::LoomDriver::new());
}

#[cfg(loom)]
mod loom_driver {
    use super::{Driver, Unpark};
    use loom::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    /// A reactor stand-in: a flag, a mutex and a condvar.
    #[derive(Debug)]
    pub struct LoomDriver(Arc<(Mutex<bool>, Condvar)>);

    /// Unparks a [`LoomDriver`].
    #[derive(Debug, Clone)]
    pub struct LoomUnpark(Arc<(Mutex<bool>, Condvar)>);

    impl LoomDriver {
        pub fn new() -> Self {
            LoomDriver(Arc::new((Mutex::new(false), Condvar::new())))
        }
    }

    impl Driver for LoomDriver {
        type Unpark = LoomUnpark;
        fn park(&mut self, timeout: Option<Duration>) {
            let (lock, cv) = &*self.0;
            let mut woken = lock.lock().unwrap();
            // A timed park may return at any time: model it as returning
            // at once, which is the most adversarial choice.
            if timeout.is_none() {
                while !*woken {
                    woken = cv.wait(woken).unwrap();
                }
            }
            *woken = false;
        }
        fn unparker(&self) -> LoomUnpark {
            LoomUnpark(self.0.clone())
        }
    }

    impl Unpark for LoomUnpark {
        fn unpark(&self) {
            let (lock, cv) = &*self.0;
            *lock.lock().unwrap() = true;
            cv.notify_one();
        }
    }
}

/// The cross-thread half of a worker's parker: the state word plus the
/// driver's unpark handle.
#[derive(Debug)]
#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
pub struct Parker<U> {
    state: AtomicUsize,
    unpark: U,
    /// While a park is measured: `MEASURE` until an unpark decides to wake
    /// the worker, then when it did (`crate::clock::now_nanos`); 0 while
    /// no park is measured.
    #[cfg(not(loom))]
    woken_at: std::sync::atomic::AtomicU64,
    /// Parks so far (only the owner touches it): one in
    /// `config::WAKEUP_SAMPLE_EVERY` is measured.
    #[cfg(not(loom))]
    parks: std::sync::atomic::AtomicU32,
}

/// `Parker::woken_at` of a measured park that no unpark has stamped yet.
#[cfg(not(loom))]
const MEASURE: u64 = u64::MAX;

#[cfg_attr(not(loom), allow(unreachable_pub))] // the loom models drive it (`crate::protocols`)
impl<U: Unpark> Parker<U> {
    /// A parker in front of a driver's unpark handle.
    pub fn new(unpark: U) -> Parker<U> {
        Parker {
            state: AtomicUsize::new(EMPTY),
            unpark,
            #[cfg(not(loom))]
            woken_at: std::sync::atomic::AtomicU64::new(0),
            #[cfg(not(loom))]
            parks: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Whether the worker is parked (or about to block) in its driver.
    pub fn is_parked(&self) -> bool {
        self.state.load(SeqCst) == PARKED
    }

    /// Whether an unpark is pending: the worker is being woken (or its
    /// next park returns at once). A wakeup written to the driver is
    /// needed only while this holds: an unpark writes only when it swaps
    /// `NOTIFIED` for `PARKED`, and the state leaves `NOTIFIED` only once
    /// the worker is awake, so a wakeup taken from the driver while the
    /// state is `EMPTY` or `PARKED` (again) is stale.
    pub fn is_notified(&self) -> bool {
        self.state.load(SeqCst) == NOTIFIED
    }

    /// Wakes the worker if it is parked, or makes its next park return.
    pub fn unpark(&self) {
        if self.state.swap(NOTIFIED, SeqCst) == PARKED {
            #[cfg(not(loom))]
            if self.woken_at.load(std::sync::atomic::Ordering::Relaxed) == MEASURE {
                self.woken_at.store(
                    crate::clock::now_nanos(),
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            self.unpark.unpark();
        }
    }

    /// Blocks in `driver` until unparked (or the timeout, or a spurious
    /// wakeup). Only the owning worker calls this.
    pub fn park<D: Driver<Unpark = U>>(&self, driver: &mut D, timeout: Option<Duration>) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        #[cfg(not(loom))]
        let measured = {
            use std::sync::atomic::Ordering::Relaxed;
            let n = self.parks.load(Relaxed);
            self.parks.store(n.wrapping_add(1), Relaxed);
            let measured = n % crate::config::WAKEUP_SAMPLE_EVERY == 0;
            self.woken_at
                .store(if measured { MEASURE } else { 0 }, Relaxed);
            measured
        };
        if self
            .state
            .compare_exchange(EMPTY, PARKED, SeqCst, SeqCst)
            .is_err()
        {
            // An unpark raced in: consume it. A swap, not a store: it must
            // read (acquire) the latest unpark, which may be a second one.
            self.state.swap(EMPTY, SeqCst);
            return;
        }
        driver.park(timeout);
        #[cfg(not(loom))]
        if measured {
            let at = self.woken_at.swap(0, std::sync::atomic::Ordering::Relaxed);
            if at != MEASURE && at != 0 {
                crate::spin::record_wakeup(crate::clock::now_nanos().saturating_sub(at));
            }
        }
        // A swap, not a store, so that it acquires from an unpark that
        // swapped in `NOTIFIED` after we were woken (loom: park.rs model).
        self.state.swap(EMPTY, SeqCst);
    }
}
