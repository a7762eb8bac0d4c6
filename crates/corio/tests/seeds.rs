//! The examples of the asyncio "Coroutines and Tasks" page that need no
//! timers, as corio programs that behave the same way (the sleeping ones
//! are in `seeds_timers.rs`).

#[test]
fn seed_nested_coroutine_awaited_directly_returns_42() {
    // async def nested(): return 42
    // async def main(): print(await nested())  # will print "42".
    async fn nested() -> i32 {
        42
    }
    let out = corio::run(async {
        // Calling nested() without awaiting creates a future that never runs.
        let _never_run = nested();
        nested().await
    });
    assert_eq!(out, 42);
}

#[test]
fn seed_create_task_schedules_nested_and_awaiting_the_task_gives_42() {
    // task = asyncio.create_task(nested()); await task
    async fn nested() -> i32 {
        42
    }
    let out = corio::run(async {
        let task = corio::create_task(nested());
        task.await.unwrap()
    });
    assert_eq!(out, 42);
}

#[test]
fn seed_asyncio_run_returns_the_result_of_main() {
    // asyncio.run(coro) executes the coroutine and returns the result.
    assert_eq!(corio::run(async { "result" }), "result");
}

#[corio::test]
async fn corio_test_macro_runs_an_async_test() {
    let t = corio::spawn(async { 2 + 2 });
    assert_eq!(t.await.unwrap(), 4);
}

#[corio::test(workers = 2)]
async fn corio_test_macro_accepts_a_worker_count() {
    let ids: Vec<_> = (0..4).map(|i| corio::spawn(async move { i })).collect();
    let mut sum = 0;
    for t in ids {
        sum += t.await.unwrap();
    }
    assert_eq!(sum, 6);
}
