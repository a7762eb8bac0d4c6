//! Debug mode: slow polls and unretrieved panics, reported with the task's
//! name and location.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corio::{Runtime, TaskError};

type Reports = Arc<Mutex<Vec<(String, Option<String>)>>>;

fn debug_runtime(threshold: Duration) -> (Runtime, Reports) {
    let reports = Reports::default();
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(2)
        .debug(true)
        .slow_poll_threshold(threshold)
        .exception_handler(move |cx| {
            r.lock()
                .unwrap()
                .push((cx.message().to_owned(), cx.task_name().map(str::to_owned)))
        })
        .build()
        .unwrap();
    (rt, reports)
}

#[test]
fn a_poll_slower_than_the_threshold_is_reported_with_the_task_name_and_where_it_resumed() {
    let (rt, reports) = debug_runtime(Duration::from_millis(30));
    rt.run(async move {
        let t = corio::task::Builder::new().name("hog").spawn(async {
            corio::yield_now().await.unwrap(); // the resume line
            std::thread::sleep(Duration::from_millis(80)); // blocks the loop
        });
        let resume_line = line!() - 3;
        // A quick task is not reported.
        corio::task::Builder::new()
            .name("quick")
            .spawn(async {})
            .await
            .unwrap();
        t.await.unwrap();
        // The report is made after the slow poll returns, so on the other
        // worker it may come just after `t` completed and woke us.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !reports
            .lock()
            .unwrap()
            .iter()
            .any(|(_, t)| t.as_deref() == Some("hog"))
            && std::time::Instant::now() < deadline
        {
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        }
        // (Other polls may be slow too on a loaded machine: look at these two.)
        let reports = reports.lock().unwrap();
        assert!(
            !reports.iter().any(|(_, t)| t.as_deref() == Some("quick")),
            "{reports:?}"
        );
        let hog: Vec<_> = reports
            .iter()
            .filter(|(_, t)| t.as_deref() == Some("hog"))
            .collect();
        assert_eq!(hog.len(), 1, "{reports:?}");
        let (message, _) = hog[0];
        assert!(message.contains("slow poll"), "{message}");
        assert!(message.contains("task hog"), "{message}");
        assert!(
            message.contains(&format!("resumed at {}:{resume_line}", file!())),
            "{message}"
        );
    });
}

#[test]
fn without_debug_mode_slow_polls_are_not_reported() {
    let reports = Reports::default();
    let r = reports.clone();
    let rt = Runtime::builder()
        .workers(1)
        .debug(false)
        .exception_handler(move |cx| r.lock().unwrap().push((cx.message().to_owned(), None)))
        .build()
        .unwrap();
    assert!(!rt.handle().debug());
    rt.run(async {
        corio::spawn(async { std::thread::sleep(Duration::from_millis(150)) })
            .await
            .unwrap();
    });
    assert!(reports.lock().unwrap().is_empty());
}

#[test]
fn an_unawaited_task_that_panics_is_reported_as_never_retrieved_with_its_name_and_origin() {
    let (rt, reports) = debug_runtime(Duration::from_secs(10));
    let r = reports.clone();
    let spawn_line = rt.run(async move {
        drop(
            corio::task::Builder::new()
                .name("orphan")
                .spawn(async { panic!("lost") }),
        );
        let spawn_line = line!() - 2;
        // The orphan may run on the other worker: wait for its report
        // (a generous bound; one report is expected, and no more after).
        let start = std::time::Instant::now();
        while r.lock().unwrap().is_empty() && start.elapsed() < Duration::from_secs(5) {
            corio::sleep(Duration::from_millis(1)).await.unwrap();
        }
        corio::sleep(Duration::from_millis(20)).await.unwrap();
        spawn_line
    });
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let (message, task) = &reports[0];
    assert_eq!(task.as_deref(), Some("orphan"));
    assert!(
        message.contains("exception was never retrieved"),
        "{message}"
    );
    assert!(
        message.contains(&format!("task created at {}:{spawn_line}", file!())),
        "{message}"
    );
}

#[test]
fn corio_debug_1_in_the_environment_turns_debug_mode_on() {
    // Only this test touches the variable in this binary.
    std::env::set_var("CORIO_DEBUG", "1");
    let on = Runtime::builder().workers(1).build().unwrap();
    std::env::set_var("CORIO_DEBUG", "0");
    let off = Runtime::builder().workers(1).build().unwrap();
    std::env::remove_var("CORIO_DEBUG");
    let forced = Runtime::builder().workers(1).debug(false).build().unwrap();
    assert!(on.handle().debug());
    assert!(!off.handle().debug());
    assert!(!forced.handle().debug());
    // A panic the caller awaited is retrieved, debug mode or not.
    let err: TaskError = on.run(async { corio::spawn(async { panic!("x") }).await.unwrap_err() });
    assert!(err.is_panic());
}
