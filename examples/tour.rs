//! A live tour of corio: the examples of asyncio's "Coroutines and Tasks"
//! page, as corio programs, in the page's order.
//!
//! Run it with `cargo run --release --example tour`.
//!
//! Then the rest of the task layer (wait, as_completed, TaskGroup, done
//! callbacks with the fundamentals seed's `bg_task`, context variables,
//! introspection and debug mode), asyncio's queue example, a TCP round
//! trip, and the thread bridges.

use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `time.strftime('%X')`: the wall-clock time of day, UTC.
fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// `datetime.datetime.now()`, with milliseconds, UTC.
fn now_stamp() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:03}", clock(), d.subsec_millis())
}

fn section(title: &str) {
    println!("\n=== {title} ===");
}

// async def nested():
//     return 42
async fn nested() -> i32 {
    42
}

fn hello_world() {
    section("Coroutines: hello, one second, world");
    // async def main():
    //     print('hello')
    //     await asyncio.sleep(1)
    //     print('world')
    corio::run(async {
        println!("hello");
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        println!("world");
    });
}

// async def say_after(delay, what):
//     await asyncio.sleep(delay)
//     print(what)
async fn say_after(delay: Duration, what: &str) {
    corio::sleep(delay).await.unwrap();
    println!("{what}");
}

fn say_after_in_turn() {
    section("Awaiting coroutines one after the other: 1 s + 2 s");
    corio::run(async {
        println!("started at {}", clock());
        say_after(Duration::from_secs(1), "hello").await;
        say_after(Duration::from_secs(2), "world").await;
        println!("finished at {}", clock());
    });
}

fn say_after_as_tasks() {
    section("create_task runs them concurrently: about 2 s");
    corio::run(async {
        let task1 = corio::create_task(say_after(Duration::from_secs(1), "hello"));
        let task2 = corio::create_task(say_after(Duration::from_secs(2), "world"));
        println!("started at {}", clock());
        // Wait until both tasks are completed (should take around 2 seconds.)
        task1.await.unwrap();
        task2.await.unwrap();
        println!("finished at {}", clock());
    });
}

fn display_date() {
    section("Sleeping: display the date every second for 5 seconds");
    corio::run(async {
        let end_time = Instant::now() + Duration::from_secs(5);
        loop {
            println!("{}", now_stamp());
            if Instant::now() + Duration::from_secs(1) >= end_time {
                break;
            }
            corio::sleep(Duration::from_secs(1)).await.unwrap();
        }
    });
}

fn coroutines() {
    section("Coroutines: awaiting a coroutine");
    // async def main():
    //     nested()               # creates a coroutine object, never runs
    //     print(await nested())  # will print "42".
    corio::run(async {
        let _never_awaited = nested(); // a future does nothing until awaited
        println!("{}", nested().await);
    });
}

fn tasks() {
    section("Tasks: create_task schedules a coroutine concurrently");
    // async def main():
    //     task = asyncio.create_task(nested())
    //     await task
    let out = corio::run(async {
        let task = corio::create_task(nested());
        println!("created {} (done: {})", task.name(), task.done());
        let value = task.await.expect("nested() does not fail");
        println!("awaited it: {value}");
        value
    });
    assert_eq!(out, 42);
}

fn running_a_program() {
    section("Running an asyncio program: run() returns main's result");
    let result = corio::run(async { "main's result" });
    println!("corio::run returned {result:?}");
}

fn introspection() {
    section("Introspection: current_task() and task names");
    corio::run(async {
        let me = corio::current_task().expect("main runs as a task");
        println!("main runs as {}", me.name());
        let named = corio::task::Builder::new()
            .name("fetcher")
            .spawn(async { corio::current_task().map(|t| t.name()) });
        println!(
            "a task named with task::Builder sees itself as {:?}",
            named.await.unwrap()
        );
    });
    println!(
        "outside run(), current_task() is {:?}",
        corio::current_task()
    );
}

fn order() {
    section("One worker: asyncio's order (one FIFO ready queue)");
    let rt = corio::Runtime::builder().workers(1).build().unwrap();
    rt.run(async {
        let tasks: Vec<_> = ["A", "B", "C"]
            .into_iter()
            .map(|name| {
                corio::spawn(async move {
                    println!("Task {name}: step 1");
                    let _ = corio::yield_now().await; // asyncio.sleep(0)
                    println!("Task {name}: step 2");
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// Runs `f` with a one-line panic hook: Rust's default hook prints every
/// panic (with a backtrace if RUST_BACKTRACE is set), which would drown the
/// tour's own output.
fn with_quiet_panics(f: impl FnOnce()) {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("?");
        println!("(panic hook: {msg})");
    }));
    f();
    std::panic::set_hook(default_hook);
}

fn panics() {
    section("A task that fails: the error is delivered to whoever awaits it");
    // Rust's default hook prints every panic (with a backtrace if
    // RUST_BACKTRACE is set); keep the tour readable with a one-line hook.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("?");
        println!(
            "(panic hook: {} panicked: {msg})",
            thread.name().unwrap_or("?")
        );
    }));
    corio::run(async {
        let failing = corio::spawn(async {
            let divisor = std::hint::black_box(0);
            if divisor == 0 {
                panic!("division by zero");
            }
            1 / divisor
        });
        match failing.await {
            Ok(v) => println!("unexpected value {v}"),
            Err(e) => println!("awaiting it gives: {e}"),
        }
        println!(
            "the worker carries on: {}",
            corio::spawn(nested()).await.unwrap()
        );
    });
    std::panic::set_hook(default_hook);
}

fn many_workers() {
    section("Many workers: 100 000 tasks on a work-stealing runtime");
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    let rt = corio::Runtime::builder().workers(workers).build().unwrap();
    let metrics = rt.handle().metrics();
    let start = Instant::now();
    let sum = rt.run(async {
        let tasks: Vec<_> = (0..100_000u64)
            .map(|i| corio::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    println!(
        "{workers} workers ran 100000 tasks (sum {sum}) in {:.1?}",
        start.elapsed()
    );
    drop(rt);
    println!("live tasks after shutdown: {}", metrics.live_tasks());
}

fn gather_factorial() {
    section(
        "Running tasks concurrently: gather(factorial(A, 2), factorial(B, 3), factorial(C, 4))",
    );
    // async def factorial(name, number):
    //     f = 1
    //     for i in range(2, number + 1):
    //         print(f"Task {name}: Compute factorial({i})...")
    //         await asyncio.sleep(1)
    //         f *= i
    //     print(f"Task {name}: factorial({number}) = {f}")
    async fn factorial(name: &'static str, number: u64) -> u64 {
        let mut f = 1;
        for i in 2..=number {
            println!("Task {name}: Compute factorial({i})...");
            corio::sleep(Duration::from_secs(1)).await.unwrap();
            f *= i;
        }
        println!("Task {name}: factorial({number}) = {f}");
        f
    }
    // await asyncio.gather(factorial("A", 2), factorial("B", 3), factorial("C", 4))
    let rt = corio::Runtime::builder().workers(1).build().unwrap();
    rt.run(async {
        let (a, b, c) = corio::gather!(factorial("A", 2), factorial("B", 3), factorial("C", 4))
            .await
            .unwrap();
        println!("gathered: {a}, {b}, {c}");
    });
}

fn shielding() {
    section("Shielding from cancellation: the caller is cancelled, the work is not");
    // try:
    //     res = await shield(something())
    // except CancelledError:
    //     res = None
    corio::run(async {
        let caller = corio::spawn(async {
            let something = async {
                corio::sleep(Duration::from_millis(200)).await.unwrap();
                println!("something(): done, unaware of the cancellation");
                "result"
            };
            let res = match corio::shield(something).await {
                Ok(v) => Some(v),
                Err(c) => {
                    c.suppress();
                    None
                }
            };
            println!("caller: res = {res:?}");
            res
        });
        corio::sleep(Duration::from_millis(50)).await.unwrap();
        caller.cancel();
        println!("main(): caller returned {:?}", caller.await.unwrap());
        corio::sleep(Duration::from_millis(250)).await.unwrap(); // let something() finish
    });
}

fn timeouts() {
    section("Timeouts: wait_for(eternity(), timeout=1.0)");
    // async def eternity():
    //     await asyncio.sleep(3600)
    //     print('yay!')
    async fn eternity() -> Result<(), corio::Cancelled> {
        corio::sleep(Duration::from_secs(3600)).await?;
        println!("yay!");
        Ok(())
    }
    // try:
    //     await asyncio.wait_for(eternity(), timeout=1.0)
    // except asyncio.TimeoutError:
    //     print('timeout!')
    corio::run(async {
        let start = Instant::now();
        match corio::wait_for(eternity(), Duration::from_secs(1)).await {
            Err(corio::TimeoutError { .. }) => println!("timeout!"),
            Ok(_) => println!("no timeout?"),
        }
        println!("(after {:.1?})", start.elapsed());
    });
}

fn cancel_me() {
    section("Task.cancel(): cancel_me() catches, cleans up, re-raises");
    // async def cancel_me():
    //     print('cancel_me(): before sleep')
    //     try:
    //         await asyncio.sleep(3600)
    //     except asyncio.CancelledError:
    //         print('cancel_me(): cancel sleep')
    //         raise
    //     finally:
    //         print('cancel_me(): after sleep')
    async fn cancel_me() -> Result<(), corio::Cancelled> {
        println!("cancel_me(): before sleep");
        let r = corio::sleep(Duration::from_secs(3600)).await;
        if r.is_err() {
            println!("cancel_me(): cancel sleep");
        }
        println!("cancel_me(): after sleep");
        r
    }
    corio::run(async {
        let task = corio::create_task(cancel_me());
        corio::sleep(Duration::from_secs(1)).await.unwrap();
        task.cancel();
        if let Err(e) = task.await {
            assert!(e.is_cancelled());
            println!("main(): cancel_me is cancelled now");
        }
    });
}

fn waiting() {
    section("wait(FIRST_COMPLETED) and as_completed: in the order they finish");
    // done, pending = await asyncio.wait(tasks, return_when=FIRST_COMPLETED)
    corio::run(async {
        let tasks: Vec<_> = [300u64, 100, 200]
            .into_iter()
            .map(|ms| {
                corio::spawn(async move {
                    corio::sleep(Duration::from_millis(ms)).await.unwrap();
                    ms
                })
            })
            .collect();
        let (done, pending) = corio::wait(tasks, None, corio::ReturnWhen::FirstCompleted)
            .await
            .unwrap();
        println!("wait: {} done, {} pending", done.len(), pending.len());
        // for coro in asyncio.as_completed(pending): print(await coro)
        let mut stream = corio::as_completed(pending, Duration::from_secs(5));
        while let Some(outcome) = std::future::poll_fn(|cx| {
            futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
        })
        .await
        {
            println!("as_completed: {} ms", outcome.unwrap().unwrap());
        }
    });
}

fn task_group() {
    section("TaskGroup: leaving the group waits for every child");
    // async with asyncio.TaskGroup() as tg:
    //     task1 = tg.create_task(some_coro(...))
    //     task2 = tg.create_task(another_coro(...))
    // print(f"Both tasks have completed now: {task1.result()}, {task2.result()}")
    corio::run(async {
        let (task1, task2) = corio::TaskGroup::<()>::run(|tg| async move {
            let task1 = tg.spawn(async {
                say_after(Duration::from_millis(200), "some_coro done").await;
                1
            });
            let task2 = tg.spawn(async {
                say_after(Duration::from_millis(400), "another_coro done").await;
                2
            });
            (task1, task2)
        })
        .await
        .unwrap();
        let (mut task1, mut task2) = (task1.into_task(), task2.into_task());
        println!(
            "Both tasks have completed now: {}, {}",
            task1.try_result().unwrap().unwrap(),
            task2.try_result().unwrap().unwrap()
        );
    });

    section("TaskGroup: the first failure cancels the others; failures come back together");
    with_quiet_panics(|| {
        corio::run(async {
            let err = corio::TaskGroup::<String>::run(|tg| async move {
                tg.spawn(async {
                    if corio::sleep(Duration::from_secs(3600)).await.is_err() {
                        println!("sibling: cancelled by the group, cleaning up");
                    }
                });
                tg.spawn_try(async {
                    corio::sleep(Duration::from_millis(100)).await.unwrap();
                    Err::<(), _>("connection refused".to_string())
                });
                if corio::sleep(Duration::from_secs(3600)).await.is_err() {
                    println!("body: cancelled by the group");
                }
            })
            .await
            .unwrap_err();
            println!("the group failed: {err}");
        });
    });
}

fn done_callbacks() {
    section("Done callbacks: the fundamentals seed's bg_task");
    // async def bg_task():
    //     print(f"{hms()}: In the background")
    //     raise RuntimeError("Ouch")
    //
    // def done_callback(task):
    //     if e := task.exception(): print(f"{hms()}: Task <{task.get_name()}> raised an error: {e}")
    //     else: print(f"{hms()}: Task <{task.get_name()}> finished successfully")
    //
    // async def fg_task():
    //     task = asyncio.create_task(bg_task(), name="bg_task")
    //     task.add_done_callback(done_callback)
    //     print(f"{hms()}: Now we sleep and let bg_task do its thing")
    //     await asyncio.sleep(2)
    //     print(f"{hms()}: I'm awake!")
    fn done_callback(task: &corio::TaskRef) {
        match task.exception() {
            Ok(Some(e)) => println!("{}: Task <{}> raised an error: {e}", clock(), task.name()),
            _ if task.cancelled() => println!("{}: Task <{}> was cancelled!", clock(), task.name()),
            _ => println!("{}: Task <{}> finished successfully", clock(), task.name()),
        }
    }
    with_quiet_panics(|| {
        let rt = corio::Runtime::builder().workers(1).build().unwrap();
        rt.run(async {
            let task = corio::task::Builder::new().name("bg_task").spawn(async {
                println!("{}: In the background", clock());
                panic!("Ouch");
            });
            task.add_done_callback(done_callback);
            println!("{}: Now we sleep and let bg_task do its thing", clock());
            corio::sleep(Duration::from_secs(2)).await.unwrap();
            println!("{}: I'm awake!", clock());
            drop(task); // exception() retrieved the error: nothing else reports it
        });
    });
}

fn context_vars() {
    section("Context variables: a task copies its parent's context");
    static REQUEST_ID: corio::ContextVar<u32> = corio::ContextVar::new("request_id");
    corio::run(async {
        let _ = REQUEST_ID.set(7);
        let child = corio::spawn(async {
            let inherited = REQUEST_ID.get();
            let _ = REQUEST_ID.set(8);
            (inherited, REQUEST_ID.get())
        });
        let (inherited, changed) = child.await.unwrap();
        println!("the child inherited {inherited:?} and set {changed:?}");
        println!("the parent still sees {:?}", REQUEST_ID.get());
    });
}

fn dump_and_debug() {
    section("Introspection: where each task is suspended, and Runtime::dump()");
    let rt = corio::Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    rt.run(async move {
        let sleeper = corio::task::Builder::new()
            .name("sleeper")
            .spawn(corio::sleep(Duration::from_secs(3600)));
        let waiter = corio::task::Builder::new()
            .name("waiter")
            .spawn(async { corio::sleep(Duration::from_secs(3600)).await });
        corio::sleep(Duration::from_millis(20)).await.unwrap();
        waiter.print_stack();
        print!("{}", handle.dump());
        sleeper.abort();
        waiter.abort();
    });

    section("Debug mode: a poll slower than the threshold is reported");
    let rt = corio::Runtime::builder()
        .workers(1)
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.run(async {
        corio::task::Builder::new()
            .name("blocker")
            .spawn(async {
                corio::yield_now().await.unwrap();
                std::thread::sleep(Duration::from_millis(120)); // blocks the loop
            })
            .await
            .unwrap();
    });
}

fn streams() {
    section("Streams: an echo server and a client over TCP on loopback");
    // async def handle(reader, writer):
    //     writer.write(await reader.read(100)); await writer.drain()
    // server = await asyncio.start_server(handle, "127.0.0.1", 0)
    // reader, writer = await asyncio.open_connection(*server_address)
    use corio::net::{AsyncReadExt, AsyncWriteExt, TcpListener, TcpStream};
    corio::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn(async move {
            let (mut stream, peer) = listener.accept().await.unwrap();
            let mut buf = [0; 100];
            let n = stream.read(&mut buf).await.unwrap();
            stream.write_all(&buf[..n]).await.unwrap();
            peer
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"Hello World!").await.unwrap();
        let mut back = [0; 12];
        client.read_exact(&mut back).await.unwrap();
        let peer = server.await.unwrap();
        println!(
            "sent 'Hello World!' to {addr}, got {:?} back (the server saw {peer})",
            String::from_utf8_lossy(&back)
        );
    });
}

fn local_tasks() {
    section("!Send futures: spawn_local keeps them on their worker");
    corio::run(async {
        let shared = Rc::new(String::from("not Send"));
        let s = shared.clone();
        let t = corio::spawn_local(async move { format!("an Rc<String> holding {s:?}") });
        println!("{}", t.await.unwrap());
    });
}

fn threads() {
    section("Scheduling from other threads: run_coroutine_threadsafe");
    // coro = asyncio.sleep(1, result=3)
    // future = asyncio.run_coroutine_threadsafe(coro, loop)
    // assert future.result(timeout) == 3
    let rt = corio::Runtime::builder().workers(2).build().unwrap();
    let handle = rt.handle();
    let submitter = std::thread::spawn(move || {
        let future = corio::run_coroutine_threadsafe(
            async {
                corio::sleep(Duration::from_secs(1)).await?;
                Ok::<_, corio::Cancelled>(3)
            },
            &handle,
        );
        let result = future
            .result(Some(Duration::from_secs(5)))
            .unwrap()
            .unwrap();
        println!("{} a plain thread got {result} from the loop", now_stamp());

        // try: future.result(timeout)
        // except TimeoutError: print(...); future.cancel()
        let slow =
            corio::run_coroutine_threadsafe(corio::sleep(Duration::from_secs(3600)), &handle);
        match slow.result(Some(Duration::from_millis(100))) {
            Err(e) if e.is_timeout() => {
                println!("The coroutine took too long, cancelling the task...");
                slow.cancel();
            }
            other => println!("unexpected: {other:?}"),
        }
        // except Exception as exc: print(f'The coroutine raised an exception: {exc!r}')
        let failing = corio::run_coroutine_threadsafe(
            async {
                if true {
                    panic!("ValueError('bad input')");
                }
            },
            &handle,
        );
        match failing.result(Some(Duration::from_secs(5))) {
            Err(corio::FutureError::Panicked { message, .. }) => {
                println!("The coroutine raised an exception: {message}")
            }
            other => println!("The coroutine returned: {other:?}"),
        }
        // loop.call_soon_threadsafe(callback)
        let (tx, rx) = std::sync::mpsc::channel();
        handle
            .call_soon_threadsafe(move || {
                tx.send(std::thread::current().name().map(str::to_owned))
                    .unwrap()
            })
            .unwrap();
        println!(
            "call_soon_threadsafe ran on {:?}",
            rx.recv().unwrap().unwrap_or_default()
        );
    });
    // The panic above is expected: keep the default hook's message quiet.
    with_quiet_panics(|| submitter.join().unwrap());
    rt.shutdown();
}

fn to_thread() {
    section("to_thread: blocking work off the loop, the ticker keeps ticking");
    // await asyncio.gather(asyncio.to_thread(blocking_io), asyncio.sleep(1))
    corio::run(async {
        let start = Instant::now();
        let ticker = corio::spawn(async move {
            for _ in 0..3 {
                corio::sleep(Duration::from_millis(300)).await?;
                println!("  tick at {:.1} s", start.elapsed().as_secs_f64());
            }
            Ok::<_, corio::Cancelled>(())
        });
        let read = corio::to_thread(|| {
            // Blocking: a sleep standing for a slow file system or a C library.
            std::thread::sleep(Duration::from_secs(1));
            std::fs::read_to_string("Cargo.toml").map(|s| s.lines().count())
        })
        .await
        .unwrap();
        println!(
            "to_thread finished after {:.1} s: Cargo.toml has {} lines",
            start.elapsed().as_secs_f64(),
            read.unwrap_or(0)
        );
        ticker.await.unwrap().unwrap();
    });
}

// async def worker(name, queue):
//     while True:
//         sleep_for = await queue.get()
//         await asyncio.sleep(sleep_for)
//         queue.task_done()
//         print(f'{name} has slept for {sleep_for:.2f} seconds')
async fn worker(name: String, queue: corio::sync::Queue<Duration>) -> Result<(), corio::Cancelled> {
    loop {
        let sleep_for = match queue.get().await {
            Ok(d) => d,
            Err(corio::sync::GetError::Cancelled(c)) => return Err(c),
            Err(corio::sync::GetError::ShutDown) => return Ok(()),
        };
        corio::sleep(sleep_for).await?;
        queue.task_done().expect("one task_done per get");
        println!(
            "  {name} has slept for {:.2} seconds",
            sleep_for.as_secs_f64()
        );
    }
}

fn queues() {
    section("Queues: three workers share 20 sleep jobs; join() waits for all of them");
    corio::run(async {
        // random.uniform(0.05, 1.0), from a small xorshift seeded by the clock.
        let mut seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos() as u64 | 1);
        let mut uniform = move |lo: f64, hi: f64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            lo + (hi - lo) * (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let queue = corio::sync::Queue::new(0);
        let mut total_sleep_time = Duration::ZERO;
        for _ in 0..20 {
            let sleep_for = Duration::from_secs_f64(uniform(0.05, 1.0));
            total_sleep_time += sleep_for;
            queue.put_nowait(sleep_for).unwrap();
        }
        let tasks: Vec<_> = (0..3)
            .map(|i| corio::spawn(worker(format!("worker-{i}"), queue.clone())))
            .collect();
        let started_at = Instant::now();
        queue.join().await.unwrap();
        let total_slept_for = started_at.elapsed();
        for task in &tasks {
            task.cancel();
        }
        // await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks {
            assert!(task.await.unwrap_err().is_cancelled());
        }
        println!("  ====");
        println!(
            "  3 workers slept in parallel for {:.2} seconds",
            total_slept_for.as_secs_f64()
        );
        println!(
            "  total expected sleep time: {:.2} seconds",
            total_sleep_time.as_secs_f64()
        );
    });
}

fn main() {
    println!("corio tour: asyncio's coroutines and tasks, in Rust");
    hello_world();
    say_after_in_turn();
    say_after_as_tasks();
    coroutines();
    tasks();
    running_a_program();
    display_date();
    gather_factorial();
    shielding();
    timeouts();
    introspection();
    cancel_me();
    order();
    panics();
    many_workers();
    local_tasks();
    waiting();
    task_group();
    queues();
    done_callbacks();
    context_vars();
    dump_and_debug();
    streams();
    to_thread();
    threads();
}
