//! A live tour of corio: the examples of asyncio's "Coroutines and Tasks"
//! page, as corio programs, in the page's order.
//!
//! Run it with `cargo run --release --example tour`.
//!
//! Sections that need the other waiting primitives (wait, as_completed,
//! TaskGroup) join the tour as those parts of corio land.

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

fn local_tasks() {
    section("!Send futures: spawn_local keeps them on their worker");
    corio::run(async {
        let shared = Rc::new(String::from("not Send"));
        let s = shared.clone();
        let t = corio::spawn_local(async move { format!("an Rc<String> holding {s:?}") });
        println!("{}", t.await.unwrap());
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
    println!("\n(wait/as_completed/TaskGroup and I/O join the tour as they land)");
}
