//! Ctrl-C under `corio::run`: SIGINT cancels the main task, a second one
//! aborts it, `run` reports an interrupt if the main task lets it through,
//! and `signal::ctrl_c()` wakes on it. One test in its own binary: a signal
//! reaches the whole process, so nothing else may run meanwhile.
#![cfg(unix)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

fn sigint_soon() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(30));
        // SAFETY: sending a signal to our own process.
        unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    });
}

fn sigint_handler_is_the_default() -> bool {
    // SAFETY: querying the disposition (null new action).
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old);
        old.sa_sigaction == libc::SIG_DFL
    }
}

#[test]
fn sigint_cancels_the_main_task_of_run_and_a_second_one_aborts_it() {
    assert!(sigint_handler_is_the_default());

    // 1. The main task refuses the cancellation: run returns its value.
    let out = corio::run(async {
        sigint_soon();
        match corio::sleep(HOUR).await {
            Err(c) => {
                assert_eq!(c.message(), Some("interrupted (SIGINT)"));
                c.suppress();
                "refused"
            }
            Ok(()) => "slept an hour",
        }
    });
    assert_eq!(out, "refused");
    assert!(
        sigint_handler_is_the_default(),
        "the handler was not removed"
    );

    // 2. The main task lets it through: run reports the interrupt.
    let r = catch_unwind(AssertUnwindSafe(|| {
        corio::run(async {
            sigint_soon();
            corio::sleep(HOUR).await
        })
    }));
    let payload = r.expect_err("run returned after an interrupt");
    assert!(payload
        .downcast_ref::<corio::signal::Interrupted>()
        .is_some());

    // 3. The main task cleans up slowly; a second SIGINT aborts it.
    let r = catch_unwind(AssertUnwindSafe(|| {
        corio::run(async {
            sigint_soon();
            if corio::sleep(HOUR).await.is_err() {
                sigint_soon();
                // A cleanup that would take an hour.
                let _ = corio::sleep(HOUR).await;
            }
        })
    }));
    let payload = r.expect_err("run returned after two interrupts");
    assert!(payload
        .downcast_ref::<corio::signal::Interrupted>()
        .is_some());

    // 4. ctrl_c() wakes on the next SIGINT.
    let rt = corio::Runtime::builder().workers(2).build().unwrap();
    rt.run(async {
        let waiter = corio::spawn(async { corio::signal::ctrl_c().await });
        corio::sleep(Duration::from_millis(5)).await.unwrap();
        sigint_soon();
        waiter.await.unwrap().unwrap();
    });
    drop(rt);
    assert!(sigint_handler_is_the_default());
}
