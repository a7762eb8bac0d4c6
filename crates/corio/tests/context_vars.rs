//! `ContextVar`: values that follow tasks (Python's `contextvars`).

mod common;

use std::sync::mpsc;

use common::rt;
use corio::ContextVar;

static REQUEST: ContextVar<u32> = ContextVar::new("request");
static LEVEL: ContextVar<&str> = ContextVar::with_default("level", "info");

#[test]
fn a_child_copies_the_parents_context_when_it_is_spawned() {
    let (inherited, later) = rt(2).run(async {
        let _ = REQUEST.set(1);
        let child = corio::spawn(async {
            corio::sleep(common::MS * 5).await.unwrap();
            REQUEST.get()
        });
        // Set after the spawn: the child's copy was taken already.
        let _ = REQUEST.set(2);
        let grandchild_view = corio::spawn(async { REQUEST.get() }).await.unwrap();
        (child.await.unwrap(), grandchild_view)
    });
    assert_eq!(inherited, Some(1));
    assert_eq!(later, Some(2));
}

#[test]
fn a_value_set_in_a_child_is_not_visible_to_the_parent() {
    let (in_child, in_parent) = rt(1).run(async {
        let _ = REQUEST.set(10);
        let in_child = corio::spawn(async {
            let _ = REQUEST.set(11);
            let _ = LEVEL.set("debug");
            (REQUEST.get(), LEVEL.get())
        })
        .await
        .unwrap();
        (in_child, (REQUEST.get(), LEVEL.get()))
    });
    assert_eq!(in_child, (Some(11), "debug".into()));
    assert_eq!(in_parent, (Some(10), "info".into()));
}

#[test]
fn an_unset_variable_gives_its_default_or_none() {
    static PLAIN: ContextVar<String> = ContextVar::new("plain");
    rt(1).run(async {
        assert_eq!(PLAIN.get(), None);
        assert_eq!(LEVEL.get(), Some("info"));
    });
}

#[test]
fn reset_restores_the_previous_value_and_unsets_a_variable_that_had_none() {
    static V: ContextVar<u8> = ContextVar::new("v");
    rt(1).run(async {
        let first = V.set(1);
        assert_eq!(first.old_value(), None);
        let second = V.set(2);
        assert_eq!(second.old_value(), Some(&1));
        V.reset(second);
        assert_eq!(V.get(), Some(1));
        V.reset(first);
        assert_eq!(V.get(), None);
    });
}

#[test]
fn reset_with_a_token_made_in_another_task_panics_naming_the_mistake() {
    static V: ContextVar<u8> = ContextVar::new("v_other");
    let err = rt(1).run(async {
        let token = corio::spawn(async { V.set(1) }).await.unwrap();
        let t = corio::spawn(async move { V.reset(token) });
        t.await.unwrap_err()
    });
    let msg = err.to_string();
    assert!(
        msg.contains("made in another context") && msg.contains("v_other"),
        "{msg}"
    );
}

#[test]
fn a_task_spawned_with_a_handle_from_a_plain_thread_copies_that_threads_context() {
    let runtime = rt(2);
    let handle = runtime.handle();
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let _ = REQUEST.set(77);
        let task = handle.spawn(async { REQUEST.get() });
        tx.send(task).unwrap();
    });
    t.join().unwrap();
    let task = rx.recv().unwrap();
    assert_eq!(runtime.run(task).unwrap(), Some(77));
    // This thread's own context was never set.
    assert_eq!(REQUEST.get(), None);
}

#[test]
fn values_travel_through_await_points_and_across_workers() {
    static TRACE: ContextVar<std::sync::Arc<str>> = ContextVar::new("trace");
    let out = rt(4).run(async {
        let tasks: Vec<_> = (0..32)
            .map(|i| async move {
                let _ = TRACE.set(format!("req-{i}").into());
                for _ in 0..5 {
                    corio::yield_now().await.unwrap();
                    corio::sleep(common::MS).await.unwrap();
                }
                TRACE.get().unwrap().to_string() == format!("req-{i}")
            })
            .collect();
        corio::gather(tasks).await.unwrap()
    });
    assert!(out.into_iter().all(|ok| ok));
}
