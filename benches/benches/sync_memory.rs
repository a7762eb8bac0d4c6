//! Heap per waiting task: 10 000 tasks wait on one primitive (a held lock,
//! a semaphore with no permit, an empty queue, an unset event), and a
//! counting global allocator reports the bytes live while they wait, per
//! task. The task itself is included (each runtime allocates its tasks
//! differently), so the figure is what a user pays for one more waiter.
//!
//! corio's `corio::sync` on corio, tokio's `sync` on tokio, the smol crates
//! on `async-executor`; [`WORKERS`] worker threads each, the measuring
//! thread a worker of none. Run with
//! `cargo bench -p corio-benches --bench sync_memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use corio_benches::{tokio_runtime, CorioOwnThread, Latch, SmolThreads};

/// Counts the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `GlobalAlloc::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Waiting tasks per measurement.
const TASKS: usize = 10_000;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Spawns `TASKS` tasks made by `waiter`, lets them all reach their wait,
/// reads the heap, then runs `release` and waits for them to end. Returns
/// bytes per waiting task.
fn measure(
    spawn: &dyn Fn(BoxFuture),
    waiter: &dyn Fn(Arc<Latch>) -> BoxFuture,
    release: &mut dyn FnMut(),
) -> f64 {
    let done = Latch::new(TASKS);
    let before = LIVE.load(Ordering::SeqCst);
    for _ in 0..TASKS {
        spawn(waiter(done.clone()));
    }
    // Every task gets to its wait (and parks) long before this.
    thread::sleep(Duration::from_millis(300));
    let during = LIVE.load(Ordering::SeqCst);
    release();
    let (tx, rx) = mpsc::channel();
    spawn(Box::pin(async move {
        done.wait().await;
        let _ = tx.send(());
    }));
    rx.recv().unwrap();
    (during - before) as f64 / TASKS as f64
}

/// Row `row` of the table: its primitive only.
fn corio_rows(row: usize, spawn: &dyn Fn(BoxFuture)) -> f64 {
    let lock = Arc::new(corio::sync::Lock::new(()));
    let mut held = lock.try_acquire();
    let l = lock.clone();
    let lock_row = if row != 0 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let l = l.clone();
                Box::pin(async move {
                    drop(l.acquire().await.unwrap());
                    done.count_down();
                })
            },
            &mut || drop(held.take()),
        )
    };
    let sem = Arc::new(corio::sync::Semaphore::new(0));
    let s = sem.clone();
    let sem_row = if row != 1 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let s = s.clone();
                Box::pin(async move {
                    drop(s.acquire().await.unwrap());
                    done.count_down();
                })
            },
            &mut || sem.add_permits(TASKS),
        )
    };
    let ev = Arc::new(corio::sync::Event::new());
    let e = ev.clone();
    let event_row = if row != 2 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let e = e.clone();
                Box::pin(async move {
                    e.wait().await.unwrap();
                    done.count_down();
                })
            },
            &mut || ev.set(),
        )
    };
    let q = corio::sync::Queue::<u64>::new(0);
    let q2 = q.clone();
    let queue_row = if row != 3 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let q = q2.clone();
                Box::pin(async move {
                    let _ = q.get().await;
                    done.count_down();
                })
            },
            &mut || q.shutdown(false),
        )
    };
    [lock_row, sem_row, event_row, queue_row][row]
}

/// Row `row` of the table: its primitive only.
fn tokio_rows(row: usize, spawn: &dyn Fn(BoxFuture)) -> f64 {
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    let mut held = Some(lock.clone().try_lock_owned().unwrap());
    let l = lock.clone();
    let lock_row = if row != 0 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let l = l.clone();
                Box::pin(async move {
                    drop(l.lock().await);
                    done.count_down();
                })
            },
            &mut || drop(held.take()),
        )
    };
    let sem = Arc::new(tokio::sync::Semaphore::new(0));
    let s = sem.clone();
    let sem_row = if row != 1 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let s = s.clone();
                Box::pin(async move {
                    drop(s.acquire().await.unwrap());
                    done.count_down();
                })
            },
            &mut || sem.add_permits(TASKS),
        )
    };
    let notify = Arc::new(tokio::sync::Notify::new());
    let n = notify.clone();
    let event_row = if row != 2 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let n = n.clone();
                Box::pin(async move {
                    n.notified().await;
                    done.count_down();
                })
            },
            &mut || notify.notify_waiters(),
        )
    };
    [lock_row, sem_row, event_row, f64::NAN][row]
}

/// Row `row` of the table: its primitive only.
fn smol_rows(row: usize, spawn: &dyn Fn(BoxFuture)) -> f64 {
    let lock = Arc::new(async_lock::Mutex::new(()));
    let mut held = Some(lock.try_lock_arc().unwrap());
    let l = lock.clone();
    let lock_row = if row != 0 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let l = l.clone();
                Box::pin(async move {
                    drop(l.lock().await);
                    done.count_down();
                })
            },
            &mut || drop(held.take()),
        )
    };
    let sem = Arc::new(async_lock::Semaphore::new(0));
    let s = sem.clone();
    let sem_row = if row != 1 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let s = s.clone();
                Box::pin(async move {
                    drop(s.acquire().await);
                    done.count_down();
                })
            },
            &mut || sem.add_permits(TASKS),
        )
    };
    let event = Arc::new(event_listener::Event::new());
    let e = event.clone();
    let event_row = if row != 2 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let e = e.clone();
                Box::pin(async move {
                    e.listen().await;
                    done.count_down();
                })
            },
            &mut || {
                event.notify(usize::MAX);
            },
        )
    };
    let (tx, rx) = async_channel::unbounded::<u64>();
    let queue_row = if row != 3 {
        f64::NAN
    } else {
        measure(
            spawn,
            &|done| {
                let rx = rx.clone();
                Box::pin(async move {
                    let _ = rx.recv().await;
                    done.count_down();
                })
            },
            &mut || {
                tx.close();
            },
        )
    };
    [lock_row, sem_row, event_row, queue_row][row]
}

/// The same gate on every runtime: a flag and a `Vec` of wakers. Tasks
/// waiting on it give the baseline (the task, its boxed future and one
/// waker), against which each primitive's own cost shows.
#[derive(Default)]
struct Gate(std::sync::Mutex<(bool, Vec<std::task::Waker>)>);

impl Gate {
    fn open(&self) {
        let wakers = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            std::mem::take(&mut g.1)
        };
        for w in wakers {
            w.wake();
        }
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut g = self.0.lock().unwrap();
            if g.0 {
                std::task::Poll::Ready(())
            } else {
                g.1.push(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// Row 4 on any runtime: tasks waiting on a [`Gate`].
fn gate_row(spawn: &dyn Fn(BoxFuture)) -> f64 {
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    measure(
        spawn,
        &|done| {
            let g = g.clone();
            Box::pin(async move {
                g.wait().await;
                done.count_down();
            })
        },
        &mut || gate.open(),
    )
}

fn main() {
    // `cargo bench` passes criterion-style flags; there is nothing to list.
    if std::env::args().any(|a| a == "--list") {
        return;
    }

    // Each row in a fresh runtime, so that no row reuses task memory that
    // an earlier row freed into a runtime's caches: row `i` is taken from
    // the `i`-th fresh runtime.
    let mut corio = [0.0; 5];
    let mut tokio = [0.0; 5];
    let mut smol = [0.0; 5];
    for i in 0..5 {
        let corio_rt = CorioOwnThread::new();
        let handle = corio_rt.handle();
        corio[i] = if i == 4 {
            gate_row(&|f| drop(handle.spawn(f)))
        } else {
            corio_rows(i, &|f| drop(handle.spawn(f)))
        };
        drop(corio_rt);

        let rt = tokio_runtime();
        tokio[i] = if i == 4 {
            gate_row(&|f| drop(rt.spawn(f)))
        } else {
            tokio_rows(i, &|f| drop(rt.spawn(f)))
        };
        drop(rt);

        let smol_rt = SmolThreads::new();
        let ex = smol_rt.executor();
        smol[i] = if i == 4 {
            gate_row(&|f| ex.spawn(f).detach())
        } else {
            smol_rows(i, &|f| ex.spawn(f).detach())
        };
    }

    println!("heap bytes per waiting task ({TASKS} tasks, the task included)");
    println!(
        "{:<26} {:>8} {:>8} {:>8}",
        "waiting in", "corio", "tokio", "smol"
    );
    let names = [
        "Lock / Mutex",
        "Semaphore",
        "Event / Notify / Event",
        "Queue::get / async-channel",
        "(baseline: a plain gate)",
    ];
    for (i, name) in names.iter().enumerate() {
        let cell = |v: f64| {
            if v.is_nan() {
                "n/a".to_owned()
            } else {
                format!("{v:.0}")
            }
        };
        println!(
            "{:<26} {:>8} {:>8} {:>8}",
            name,
            cell(corio[i]),
            cell(tokio[i]),
            cell(smol[i])
        );
    }
}
