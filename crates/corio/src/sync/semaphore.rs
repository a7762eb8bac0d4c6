//! `Semaphore` and `BoundedSemaphore`, and the permit protocol that
//! [`Lock`](super::Lock) is built on.
//!
//! # Protocol
//!
//! The state is one atomic word: the available permits shifted left by
//! one, and a `WAITERS` bit that is set exactly while the wait list has a
//! node (a waiter linked, or granted permits but not yet run), and that is
//! only changed under the wait list's mutex.
//!
//! * While `WAITERS` is clear, `try_acquire` and `release` are one CAS on
//!   the word, without the mutex.
//! * While it is set, nobody takes permits without the mutex: a newcomer
//!   queues behind the waiters (asyncio 3.11+'s FIFO: waiters that were
//!   woken but have not run yet still count), and `release` runs the grant
//!   loop under the mutex: permits go to the front waiter while there are
//!   enough for what it asks, never past it to a smaller request behind
//!   (a large request at the head is not starved).
//! * A waiter that was granted permits and is cancelled, aborted or
//!   dropped before it runs returns them and runs the grant loop; so does
//!   a granted waiter when it runs (asyncio's "wake as many as allowed"),
//!   and a linked waiter that leaves the head.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use corio_executor::sync::{AtomicUsize, Mutex, Ordering};
use corio_executor::Cancelled;

use super::waiters::{Key, WaitList, Wakers};

const WAITERS: usize = 1;
const SHIFT: u32 = 1;

/// The most permits a semaphore can hold.
///
/// ```
/// assert!(corio::sync::MAX_PERMITS >= u32::MAX as usize);
/// ```
pub const MAX_PERMITS: usize = usize::MAX >> 2;

/// The counting core shared by [`Semaphore`], [`BoundedSemaphore`] and
/// [`Lock`](super::Lock).
#[derive(Debug)]
pub(crate) struct Permits {
    state: AtomicUsize,
    waiters: Mutex<WaitList>,
}

impl Permits {
    pub(crate) fn new(permits: usize) -> Permits {
        assert!(
            permits <= MAX_PERMITS,
            "corio::sync::Semaphore: {permits} permits is more than MAX_PERMITS ({MAX_PERMITS})"
        );
        Permits {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    #[inline]
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    /// asyncio's `locked()`: no permit is free, or someone is waiting (a
    /// newcomer would wait).
    #[inline]
    pub(crate) fn locked(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & WAITERS != 0 || s >> SHIFT == 0
    }

    /// Takes `n` permits if they are free and nobody waits.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & WAITERS != 0 || s >> SHIFT < n {
                return false;
            }
            match self.state.compare_exchange_weak(
                s,
                s - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Adds `n` permits by CAS, without the mutex, while nobody waits.
    #[inline]
    fn add_while_nobody_waits(&self, n: usize, bound: usize) -> Result<(), Blocked> {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & WAITERS != 0 {
                return Err(Blocked::Waiters);
            }
            let permits = (s >> SHIFT) + n;
            if permits > bound {
                return Err(Blocked::Bound);
            }
            match self.state.compare_exchange_weak(
                s,
                permits << SHIFT,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    /// Returns `n` permits (to the front waiters first).
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        match self.add_while_nobody_waits(n, MAX_PERMITS) {
            Ok(()) => {}
            Err(Blocked::Bound) => past_max_permits(),
            Err(Blocked::Waiters) => self.release_slow(n),
        }
    }

    #[cold]
    fn release_slow(&self, n: usize) {
        let mut list = self.waiters.lock();
        let wakers = self.settle(&mut list, n);
        drop(list);
        wakers.wake();
    }

    /// Returns `n` permits unless the free permits would pass `bound`
    /// (then nothing changes and it returns false): `BoundedSemaphore`.
    pub(crate) fn release_bounded(&self, n: usize, bound: usize) -> bool {
        match self.add_while_nobody_waits(n, bound) {
            Ok(()) => true,
            Err(Blocked::Bound) => false,
            Err(Blocked::Waiters) => {
                let mut list = self.waiters.lock();
                if self.available() + n > bound {
                    return false;
                }
                let wakers = self.settle(&mut list, n);
                drop(list);
                wakers.wake();
                true
            }
        }
    }

    /// Under the mutex: adds `n` permits, grants the front waiters what
    /// they ask for while there is enough, and writes the state back.
    fn settle(&self, list: &mut WaitList, n: usize) -> Wakers {
        let mut wakers = Wakers::default();
        let s = self.state.load(Ordering::Acquire);
        if s & WAITERS == 0 {
            // Nobody waits (and the fast paths may run): a plain add. The
            // bit cannot be set meanwhile: only the mutex holder sets it.
            debug_assert_eq!(list.used(), 0);
            if self.add_while_nobody_waits(n, MAX_PERMITS).is_err() {
                past_max_permits();
            }
            return wakers;
        }
        let mut permits = (s >> SHIFT) + n;
        if permits > MAX_PERMITS {
            past_max_permits();
        }
        while let Some(want) = list.front_want() {
            if want > permits {
                break;
            }
            permits -= want;
            wakers.extend(list.notify_front());
        }
        let bit = if list.used() == 0 { 0 } else { WAITERS };
        self.state.store(permits << SHIFT | bit, Ordering::Release);
        wakers
    }
}

/// Why [`Permits::add_while_nobody_waits`] did not add.
enum Blocked {
    /// Somebody waits: add under the mutex.
    Waiters,
    /// The free permits would pass the bound.
    Bound,
}

#[cold]
#[track_caller]
fn past_max_permits() -> ! {
    panic!(
        "corio::sync::Semaphore: release() would raise the permits past MAX_PERMITS \
         ({MAX_PERMITS})"
    )
}

/// The state of one `acquire(n)`: the waiter's node, if it queued.
#[derive(Debug)]
pub(crate) struct Acquiring {
    n: usize,
    key: Option<Key>,
    done: bool,
}

impl Acquiring {
    pub(crate) const fn new(n: usize) -> Acquiring {
        Acquiring {
            n,
            key: None,
            done: false,
        }
    }

    /// Polls for the permits. With `cancellable`, a pending cancellation of
    /// the task is delivered first (and permits granted to this waiter go
    /// on to the next).
    pub(crate) fn poll(
        &mut self,
        permits: &Permits,
        cx: &mut Context<'_>,
        cancellable: bool,
    ) -> Poll<Result<(), Cancelled>> {
        assert!(
            !self.done,
            "corio::sync: an acquire future polled after it completed"
        );
        if cancellable {
            if let Some(c) = corio_executor::poll_cancelled() {
                self.give_up(permits);
                self.done = true;
                return Poll::Ready(Err(c));
            }
            std::task::ready!(corio_executor::hooks::poll_proceed(cx));
        }
        match self.key {
            None => {
                if permits.try_acquire(self.n) {
                    self.done = true;
                    return Poll::Ready(Ok(()));
                }
                // Checked before the state changes: a panic here leaves the
                // semaphore as it was.
                assert!(
                    u32::try_from(self.n).is_ok(),
                    "corio::sync::Semaphore::acquire_many({}) has to wait, and a waiter can ask \
                     for at most u32::MAX permits at once: acquire them in smaller parts",
                    self.n
                );
                let mut list = permits.waiters.lock();
                let mut s = permits.state.load(Ordering::Acquire);
                loop {
                    if s & WAITERS != 0 {
                        break;
                    }
                    let (next, got) = if s >> SHIFT >= self.n {
                        (s - (self.n << SHIFT), true)
                    } else {
                        (s | WAITERS, false)
                    };
                    match permits.state.compare_exchange_weak(
                        s,
                        next,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) if got => {
                            self.done = true;
                            return Poll::Ready(Ok(()));
                        }
                        Ok(_) => break,
                        Err(actual) => s = actual,
                    }
                }
                self.key = Some(list.push_back(cx.waker(), self.n));
                Poll::Pending
            }
            Some(key) => {
                let mut list = permits.waiters.lock();
                if !list.poll_notified(key, cx.waker()) {
                    return Poll::Pending;
                }
                self.key = None;
                self.done = true;
                // Granted. asyncio: now wake as many as the permits allow.
                let wakers = permits.settle(&mut list, 0);
                drop(list);
                wakers.wake();
                Poll::Ready(Ok(()))
            }
        }
    }

    /// Leaves the wait list; permits granted to this waiter go back.
    pub(crate) fn give_up(&mut self, permits: &Permits) {
        if let Some(key) = self.key.take() {
            let mut list = permits.waiters.lock();
            let (granted, want) = list.remove(key);
            let wakers = permits.settle(&mut list, if granted { want } else { 0 });
            drop(list);
            wakers.wake();
        }
    }
}

/// A counting semaphore (asyncio's `Semaphore`): `acquire` takes a permit,
/// waiting in FIFO order while none is free; the [`Permit`] gives it back
/// when dropped.
///
/// Fair as asyncio 3.11+ is: a newcomer never takes a permit while
/// earlier waiters wait (also those already granted and not yet run), and
/// [`acquire_many`](Semaphore::acquire_many) at the head of the line is
/// served before smaller requests behind it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// corio::run(async {
///     // At most 2 downloads at a time.
///     let limit = Arc::new(corio::sync::Semaphore::new(2));
///     let mut tasks = Vec::new();
///     for i in 0..5 {
///         let limit = limit.clone();
///         tasks.push(async move {
///             let _permit = limit.acquire().await.unwrap();
///             corio::sleep(Duration::from_millis(1)).await.unwrap();
///             i
///         });
///     }
///     let out = corio::gather(tasks).await.unwrap();
///     assert_eq!(out, [0, 1, 2, 3, 4]);
///     assert_eq!(limit.available(), 2);
/// });
/// ```
#[derive(Debug)]
pub struct Semaphore {
    permits: Permits,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    ///
    /// # Panics
    ///
    /// If `permits` is more than [`MAX_PERMITS`].
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(3);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: Permits::new(permits),
        }
    }

    /// Waits for a permit (a cancellation point): `Err(Cancelled)` if the
    /// task is cancelled first; then the semaphore is as if it had never
    /// asked.
    ///
    /// ```
    /// corio::run(async {
    ///     let sem = corio::sync::Semaphore::new(1);
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert!(sem.locked());
    ///     drop(permit);
    ///     assert!(!sem.locked());
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits at once, in one place in the line.
    ///
    /// # Panics
    ///
    /// When awaited and it has to wait, if `n` is more than `u32::MAX`.
    ///
    /// ```
    /// corio::run(async {
    ///     let sem = corio::sync::Semaphore::new(5);
    ///     let permit = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(permit.count(), 3);
    ///     assert_eq!(sem.available(), 2);
    /// });
    /// ```
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            state: Acquiring::new(n),
        }
    }

    /// Like [`acquire`](Self::acquire) on an `Arc`: the permit holds the
    /// `Arc` and can move into a spawned task.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// corio::run(async {
    ///     let sem = Arc::new(corio::sync::Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await.unwrap();
    ///     corio::spawn(async move { drop(permit) }).await.unwrap();
    ///     assert_eq!(sem.available(), 1);
    /// });
    /// ```
    pub fn acquire_owned(self: std::sync::Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// [`acquire_many`](Self::acquire_many) on an `Arc`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// corio::run(async {
    ///     let sem = Arc::new(corio::sync::Semaphore::new(4));
    ///     let permit = sem.clone().acquire_many_owned(4).await.unwrap();
    ///     assert_eq!(permit.count(), 4);
    /// });
    /// ```
    pub fn acquire_many_owned(self: std::sync::Arc<Self>, n: usize) -> AcquireOwned {
        AcquireOwned {
            sem: Some(self),
            state: Acquiring::new(n),
        }
    }

    /// Takes a permit if one is free and nobody waits, without waiting.
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits.
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_none());
    /// assert_eq!(sem.try_acquire_many(2).unwrap().count(), 2);
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Option<Permit<'_>> {
        self.permits.try_acquire(n).then(|| Permit { sem: self, n })
    }

    /// Adds a permit (asyncio's `release()`, for code that pairs
    /// `acquire` and `release` by hand: [`Permit::forget`] the permit
    /// first). It goes to the front waiter if one waits.
    ///
    /// # Panics
    ///
    /// If the permits would pass [`MAX_PERMITS`].
    ///
    /// ```
    /// corio::run(async {
    ///     let sem = corio::sync::Semaphore::new(0);
    ///     sem.release();
    ///     sem.acquire().await.unwrap().forget();
    ///     assert_eq!(sem.available(), 0);
    /// });
    /// ```
    pub fn release(&self) {
        self.permits.release(1);
    }

    /// Adds `n` permits.
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(0);
    /// sem.add_permits(3);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.permits.release(n);
    }

    /// asyncio's `locked()`: true if `acquire()` would wait now (no free
    /// permit, or tasks already waiting).
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(1);
    /// assert!(!sem.locked());
    /// let _p = sem.try_acquire();
    /// assert!(sem.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.permits.locked()
    }

    /// The free permits.
    ///
    /// ```
    /// assert_eq!(corio::sync::Semaphore::new(7).available(), 7);
    /// ```
    pub fn available(&self) -> usize {
        self.permits.available()
    }
}

/// Permits taken from a [`Semaphore`] or [`BoundedSemaphore`]; dropping it
/// gives them back.
///
/// ```
/// let sem = corio::sync::Semaphore::new(1);
/// let permit: corio::sync::Permit<'_> = sem.try_acquire().unwrap();
/// assert_eq!(sem.available(), 0);
/// drop(permit);
/// assert_eq!(sem.available(), 1);
/// ```
#[must_use = "the permit is given back at once if it is not held"]
pub struct Permit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl Permit<'_> {
    /// Keeps the permits out of the semaphore: asyncio's style, where
    /// [`Semaphore::release`] gives one back later.
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// How many permits this holds.
    ///
    /// ```
    /// let sem = corio::sync::Semaphore::new(2);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        self.n
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.n != 0 {
            self.sem.permits.release(self.n);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("count", &self.n).finish()
    }
}

/// Permits held through an `Arc<Semaphore>`
/// ([`Semaphore::acquire_owned`]); dropping it gives them back.
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let sem = Arc::new(corio::sync::Semaphore::new(1));
///     let permit: corio::sync::OwnedPermit = sem.clone().acquire_owned().await.unwrap();
///     corio::spawn(async move { drop(permit) }).await.unwrap();
/// });
/// ```
#[must_use = "the permit is given back at once if it is not held"]
pub struct OwnedPermit {
    sem: std::sync::Arc<Semaphore>,
    n: usize,
}

impl OwnedPermit {
    /// Keeps the permits out of the semaphore (see [`Permit::forget`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(corio::sync::Semaphore::new(1));
    /// let s = sem.clone();
    /// corio::run(async move {
    ///     s.acquire_owned().await.unwrap().forget();
    /// });
    /// assert_eq!(sem.available(), 0);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// How many permits this holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// corio::run(async {
    ///     let sem = Arc::new(corio::sync::Semaphore::new(1));
    ///     assert_eq!(sem.acquire_owned().await.unwrap().count(), 1);
    /// });
    /// ```
    pub fn count(&self) -> usize {
        self.n
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if self.n != 0 {
            self.sem.permits.release(self.n);
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("count", &self.n)
            .finish()
    }
}

/// The future of [`Semaphore::acquire`] and
/// [`acquire_many`](Semaphore::acquire_many).
///
/// ```
/// corio::run(async {
///     let sem = corio::sync::Semaphore::new(1);
///     let acquire: corio::sync::Acquire<'_> = sem.acquire();
///     drop(acquire.await.unwrap());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    state: Acquiring,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let out = this.state.poll(&this.sem.permits, cx, true);
        crate::track(out.map(|r| {
            r.map(|()| Permit {
                sem: this.sem,
                n: this.state.n,
            })
        }))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.state.give_up(&self.sem.permits);
    }
}

/// The future of [`Semaphore::acquire_owned`].
///
/// ```
/// use std::sync::Arc;
///
/// corio::run(async {
///     let sem = Arc::new(corio::sync::Semaphore::new(1));
///     let acquire: corio::sync::AcquireOwned = sem.acquire_owned();
///     drop(acquire.await.unwrap());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct AcquireOwned {
    sem: Option<std::sync::Arc<Semaphore>>,
    state: Acquiring,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedPermit, Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this
            .sem
            .as_ref()
            .expect("corio::sync: an acquire future polled after it completed");
        let out = this.state.poll(&sem.permits, cx, true);
        crate::track(out.map(|r| {
            let sem = this.sem.take().expect("checked above");
            r.map(|()| OwnedPermit {
                sem,
                n: this.state.n,
            })
        }))
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            self.state.give_up(&sem.permits);
        }
    }
}

/// A [`Semaphore`] that refuses to be released above its initial value
/// (asyncio's `BoundedSemaphore`): [`release`](Self::release) that would
/// make more permits free than it started with is an error instead of a
/// silent extra permit.
///
/// ```
/// corio::run(async {
///     let sem = corio::sync::BoundedSemaphore::new(1);
///     sem.acquire().await.unwrap().forget();
///     sem.release().unwrap();
///     assert!(sem.release().is_err()); // one release too many
/// });
/// ```
#[derive(Debug)]
pub struct BoundedSemaphore {
    sem: Semaphore,
    bound: usize,
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits that never holds more.
    ///
    /// ```
    /// assert_eq!(corio::sync::BoundedSemaphore::new(2).available(), 2);
    /// ```
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            sem: Semaphore::new(permits),
            bound: permits,
        }
    }

    /// Waits for a permit (see [`Semaphore::acquire`]).
    ///
    /// ```
    /// corio::run(async {
    ///     let sem = corio::sync::BoundedSemaphore::new(1);
    ///     let _p = sem.acquire().await.unwrap();
    ///     assert!(sem.locked());
    /// });
    /// ```
    pub fn acquire(&self) -> BoundedAcquire<'_> {
        BoundedAcquire {
            bounded: self,
            state: Acquiring::new(1),
        }
    }

    /// Takes a permit if one is free and nobody waits.
    ///
    /// ```
    /// let sem = corio::sync::BoundedSemaphore::new(1);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<BoundedPermit<'_>> {
        self.sem
            .permits
            .try_acquire(1)
            .then(|| BoundedPermit { sem: self, n: 1 })
    }

    /// Gives back a permit (asyncio's `release()`, for a permit that was
    /// [`forget`](BoundedPermit::forget)-ed).
    ///
    /// # Errors
    ///
    /// [`TooManyReleases`] (asyncio's `ValueError`) if every permit is
    /// already free: it would go above its initial value.
    ///
    /// ```
    /// let sem = corio::sync::BoundedSemaphore::new(1);
    /// let err = sem.release().unwrap_err();
    /// assert!(err.to_string().contains("released too many times"));
    /// ```
    pub fn release(&self) -> Result<(), TooManyReleases> {
        if self.sem.permits.release_bounded(1, self.bound) {
            Ok(())
        } else {
            Err(TooManyReleases { bound: self.bound })
        }
    }

    /// True if `acquire()` would wait now.
    ///
    /// ```
    /// assert!(!corio::sync::BoundedSemaphore::new(1).locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// The free permits.
    ///
    /// ```
    /// assert_eq!(corio::sync::BoundedSemaphore::new(3).available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.sem.available()
    }
}

/// A permit of a [`BoundedSemaphore`]; dropping it gives it back, unless
/// [`BoundedSemaphore::release`] already filled the semaphore up to its
/// bound meanwhile (asyncio raises `ValueError` in the holder's release
/// then; a drop cannot fail, so the permit is not added).
///
/// ```
/// let sem = corio::sync::BoundedSemaphore::new(1);
/// let permit: corio::sync::BoundedPermit<'_> = sem.try_acquire().unwrap();
/// drop(permit);
/// assert_eq!(sem.available(), 1);
/// ```
#[must_use = "the permit is given back at once if it is not held"]
#[derive(Debug)]
pub struct BoundedPermit<'a> {
    sem: &'a BoundedSemaphore,
    n: usize,
}

impl BoundedPermit<'_> {
    /// Keeps the permit out; [`BoundedSemaphore::release`] gives it back.
    ///
    /// ```
    /// let sem = corio::sync::BoundedSemaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release().unwrap();
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for BoundedPermit<'_> {
    fn drop(&mut self) {
        if self.n != 0 {
            self.sem.sem.permits.release_bounded(self.n, self.sem.bound);
        }
    }
}

/// The future of [`BoundedSemaphore::acquire`].
///
/// ```
/// corio::run(async {
///     let sem = corio::sync::BoundedSemaphore::new(1);
///     let acquire: corio::sync::BoundedAcquire<'_> = sem.acquire();
///     drop(acquire.await.unwrap());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct BoundedAcquire<'a> {
    bounded: &'a BoundedSemaphore,
    state: Acquiring,
}

impl<'a> Future for BoundedAcquire<'a> {
    type Output = Result<BoundedPermit<'a>, Cancelled>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this.bounded;
        let out = this.state.poll(&sem.sem.permits, cx, true);
        crate::track(out.map(|r| r.map(|()| BoundedPermit { sem, n: 1 })))
    }
}

impl Drop for BoundedAcquire<'_> {
    fn drop(&mut self) {
        self.state.give_up(&self.bounded.sem.permits);
    }
}

/// [`BoundedSemaphore::release`] with every permit already in the
/// semaphore (asyncio: `ValueError: BoundedSemaphore released too many
/// times`).
///
/// ```
/// let sem = corio::sync::BoundedSemaphore::new(1);
/// assert!(sem.release().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManyReleases {
    bound: usize,
}

impl fmt::Display for TooManyReleases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BoundedSemaphore released too many times: all {} permits are already free; \
             release() only what was acquired and forgotten",
            self.bound
        )
    }
}

impl std::error::Error for TooManyReleases {}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Semaphore>();
    is::<BoundedSemaphore>();
    is::<Permit<'static>>();
    is::<OwnedPermit>();
}
