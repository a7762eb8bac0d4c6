//! Results and introspection: `try_result`, `exception`, `state`,
//! `get_stack` (where a task is suspended), `all_tasks`, `dump`.

mod common;

use std::time::Duration;

use common::{rt, HOUR, MS};
use corio::TaskState;

#[test]
fn try_result_is_an_invalid_state_error_until_done_then_gives_the_outcome_once() {
    rt(1).run(async {
        let mut t = corio::spawn(async { 42 });
        let err = t.try_result().unwrap_err();
        assert!(err.is_not_done());
        assert!(err.to_string().contains("not done"), "{err}");
        corio::yield_now().await.unwrap();
        assert_eq!(t.try_result().unwrap().unwrap(), 42);
        let again = t.try_result().unwrap_err();
        assert!(!again.is_not_done());
        assert!(again.to_string().contains("already retrieved"), "{again}");
    });
}

#[test]
fn try_result_gives_the_panic_or_the_cancellation_of_a_finished_task() {
    rt(1).run(async {
        let mut p = corio::spawn(async { panic!("bad input") });
        let mut c = corio::spawn(async { corio::sleep(HOUR).await });
        corio::yield_now().await.unwrap();
        c.cancel();
        corio::yield_now().await.unwrap();
        assert!(p.try_result().unwrap().unwrap_err().is_panic());
        assert!(c.try_result().unwrap().unwrap_err().is_cancelled());
    });
}

#[test]
fn awaiting_a_task_after_try_result_took_its_output_panics_saying_so() {
    let err = rt(1).run(async {
        let mut t = corio::spawn(async { 1 });
        corio::yield_now().await.unwrap();
        t.try_result().unwrap().unwrap();
        corio::spawn(t).await.unwrap_err()
    });
    assert!(err.to_string().contains("await a Task only once"), "{err}");
}

#[test]
fn exception_is_an_invalid_state_error_while_running_then_the_panic_message_or_none() {
    rt(1).run(async {
        let p = corio::spawn(async { panic!("Ouch") });
        let ok = corio::spawn(async {});
        let c = corio::spawn(async { corio::sleep(HOUR).await });
        assert!(p.exception().unwrap_err().is_not_done());
        corio::yield_now().await.unwrap();
        c.cancel();
        corio::yield_now().await.unwrap();
        assert_eq!(p.exception().unwrap().as_deref(), Some("Ouch"));
        assert_eq!(ok.exception().unwrap(), None);
        assert_eq!(c.exception().unwrap(), None);
        assert!(c.cancelled());
    });
}

#[test]
fn state_follows_the_task_from_scheduled_to_suspended_running_and_done() {
    rt(1).run(async {
        let t = corio::spawn(async {
            let me = corio::current_task().unwrap();
            assert_eq!(me.state(), TaskState::Running);
            corio::sleep(5 * MS).await.unwrap();
        });
        assert_eq!(t.state(), TaskState::Scheduled);
        corio::yield_now().await.unwrap();
        assert_eq!(t.state(), TaskState::Suspended);
        let p = corio::spawn(async { panic!() });
        let c = corio::spawn(async { corio::sleep(HOUR).await });
        corio::yield_now().await.unwrap();
        c.cancel();
        let r = t.task_ref();
        t.await.unwrap();
        assert_eq!(r.state(), TaskState::Finished);
        assert_eq!(p.state(), TaskState::Panicked);
        assert_eq!(c.state(), TaskState::Cancelled);
    });
}

#[test]
fn get_stack_gives_the_file_and_line_of_the_await_where_the_task_is_suspended() {
    rt(2).run(async {
        let sleeper = corio::spawn(async {
            corio::sleep(HOUR).await // line A
        });
        let line_a = line!() - 2;
        let awaiter = corio::spawn(async {
            let inner = corio::spawn(std::future::pending::<()>());
            inner.await // line B
        });
        let line_b = line!() - 2;
        let gatherer = corio::spawn(async {
            corio::gather([corio::sleep(HOUR)]).await // line C
        });
        let line_c = line!() - 2;
        let timed = corio::spawn(async {
            corio::timeout(HOUR, corio::sleep(HOUR)).await // line D
        });
        let line_d = line!() - 2;
        corio::sleep(20 * MS).await.unwrap();
        let refs = [
            sleeper.task_ref(),
            awaiter.task_ref(),
            gatherer.task_ref(),
            timed.task_ref(),
        ];
        for (t, line) in refs.iter().zip([line_a, line_b, line_c, line_d]) {
            let stack = t.get_stack();
            assert_eq!(stack.len(), 1, "{}", t.name());
            assert_eq!(stack[0].file(), file!());
            assert_eq!(stack[0].line(), line, "{}", t.name());
            let text = t.format_stack();
            assert!(text.contains(&format!("line {line}")), "{text}");
        }
        for t in &refs {
            t.abort();
        }
        let _ = (sleeper.await, awaiter.await, gatherer.await, timed.await);
    });
}

#[test]
fn an_awaitable_spawned_as_the_whole_task_has_no_location_rather_than_the_runtimes() {
    rt(1).run(async {
        let t = corio::spawn(corio::sleep(HOUR));
        corio::yield_now().await.unwrap();
        assert_eq!(t.state(), TaskState::Suspended);
        assert_eq!(t.task_ref().location(), None);
        t.abort();
    });
}

#[test]
fn a_task_waiting_on_as_completed_is_shown_where_the_stream_was_made() {
    rt(1).run(async {
        let line = line!() + 2;
        let t = corio::spawn(async {
            let mut s = corio::as_completed([corio::spawn(corio::sleep(HOUR))], None); // here
            std::future::poll_fn(|cx| {
                futures_core::Stream::poll_next(std::pin::Pin::new(&mut s), cx)
            })
            .await
        });
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        let at = t.task_ref().location().expect("recorded");
        assert_eq!((at.file(), at.line()), (file!(), line));
        t.abort();
    });
}

#[test]
fn a_running_or_finished_task_has_no_location() {
    rt(1).run(async {
        assert!(corio::current_task().unwrap().get_stack().is_empty());
        let t = corio::spawn(async {
            corio::sleep(MS).await.unwrap();
        });
        let r = t.task_ref();
        t.await.unwrap();
        assert_eq!(r.location(), None);
        assert!(r.format_stack().contains("not suspended"));
    });
}

#[test]
fn age_grows_from_the_spawn() {
    rt(1).run(async {
        let t = corio::spawn(async { corio::sleep(HOUR).await });
        corio::sleep(Duration::from_millis(60)).await.unwrap();
        let age = t.task_ref().age();
        assert!(age >= Duration::from_millis(40), "{age:?}");
        assert!(age < Duration::from_secs(30), "{age:?}");
        t.abort();
    });
}

#[test]
fn all_tasks_lists_the_unfinished_tasks_of_this_runtime_including_the_caller() {
    rt(2).run(async {
        let me = corio::current_task().unwrap();
        let pending: Vec<_> = (0..5)
            .map(|_| corio::spawn(async { corio::sleep(HOUR).await }))
            .collect();
        let done = corio::spawn(async {});
        let done_ref = done.task_ref();
        done.await.unwrap();
        let all = corio::all_tasks();
        assert_eq!(all.len(), 6);
        assert!(all.contains(&me));
        assert!(!all.contains(&done_ref));
        for t in &pending {
            assert!(all.contains(&t.task_ref()));
            t.abort();
        }
    });
}

#[test]
fn all_tasks_outside_a_runtime_panics_naming_the_fix() {
    let err = std::panic::catch_unwind(corio::all_tasks).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("all_tasks") && msg.contains("no running event loop"),
        "{msg}"
    );
}

#[test]
fn dump_lists_hundreds_of_tasks_with_id_name_state_location_and_age() {
    let runtime = rt(2);
    let handle = runtime.handle();
    let text = runtime.run(async move {
        let mut tasks = Vec::new();
        for i in 0..300 {
            let t = corio::task::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(async move {
                    if i % 3 == 0 {
                        corio::sleep(HOUR).await.unwrap(); // the sleep line
                    } else {
                        std::future::pending::<()>().await
                    }
                });
            tasks.push(t);
        }
        corio::sleep(30 * MS).await.unwrap();
        let text = handle.dump();
        for t in &tasks {
            t.abort();
        }
        text
    });
    let sleep_line = format!("{}:{}:", file!(), line!() - 14);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("corio runtime: 2 workers, 301 unfinished tasks"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("id") && lines[1].contains("suspended at"));
    assert_eq!(lines.len(), 2 + 301);
    let rows = &lines[2..];
    // Sorted by id; every worker listed once, with its state.
    let ids: Vec<u64> = rows
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    for i in 0..300 {
        let name = format!(" worker-{i} ");
        let row = rows
            .iter()
            .find(|l| l.contains(&name))
            .unwrap_or_else(|| panic!("worker-{i} missing:\n{text}"));
        assert!(row.contains("suspended"), "{row}");
        if i % 3 == 0 {
            assert!(row.contains(&sleep_line), "{row} vs {sleep_line}");
        } else {
            assert!(row.trim_end().ends_with('-'), "{row}");
        }
        let age: f64 = row
            .split_whitespace()
            .nth(2)
            .unwrap()
            .trim_end_matches('s')
            .parse()
            .unwrap();
        assert!((0.0..30.0).contains(&age), "{row}");
    }
    // The main task, running the dump.
    assert!(rows.iter().any(|l| l.contains("running")));
}
