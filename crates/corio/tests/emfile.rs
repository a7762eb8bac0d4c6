//! An accept loop (`TcpListener::incoming`) that runs out of file
//! descriptors backs off, reports once, and keeps serving. Its own binary:
//! it lowers the process's RLIMIT_NOFILE.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corio::net::TcpListener;
use futures_core::Stream;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(64, |d| d.count())
}

fn set_soft_limit(soft: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let old = lim.rlim_cur;
    lim.rlim_cur = soft.min(lim.rlim_max);
    // SAFETY: valid in-pointer; lowering (or restoring) the soft limit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    old
}

#[test]
fn an_accept_loop_out_of_file_descriptors_backs_off_reports_once_and_keeps_serving() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let rt = corio::Runtime::builder()
        .workers(1)
        .exception_handler(move |cx| r.lock().unwrap().push(cx.message().to_owned()))
        .build()
        .unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    rt.run(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn(async move {
            let mut incoming = listener.incoming();
            let mut held = Vec::new();
            while let Some(conn) = poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await {
                held.push(conn.expect("the loop rides out EMFILE"));
                a.fetch_add(1, Ordering::SeqCst);
            }
        });
        corio::yield_now().await.unwrap();
        // Leave room for 20 more descriptors, then take them all with
        // clients (a blocking connect completes through the backlog).
        let old = set_soft_limit(open_fds() as u64 + 20);
        let mut clients = Vec::new();
        loop {
            match std::net::TcpStream::connect(addr) {
                Ok(c) => clients.push(c),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                    break;
                }
            }
        }
        // The server now finds no descriptor for each pending connection.
        corio::sleep(Duration::from_millis(100)).await.unwrap();
        let before = accepted.load(Ordering::SeqCst);
        // Free half the client descriptors: the server gets to accept again.
        clients.truncate(clients.len() / 2);
        let start = Instant::now();
        while accepted.load(Ordering::SeqCst) == before && start.elapsed() < Duration::from_secs(5)
        {
            corio::sleep(Duration::from_millis(10)).await.unwrap();
        }
        let after = accepted.load(Ordering::SeqCst);
        set_soft_limit(old);
        assert!(
            after > before,
            "the accept loop stopped serving ({before} -> {after})"
        );
        server.abort();
        drop(clients);
    });
    let reports = reports.lock().unwrap();
    let emfile: Vec<_> = reports
        .iter()
        .filter(|m| m.contains("backing off"))
        .collect();
    assert_eq!(emfile.len(), 1, "{reports:?}");
    assert!(emfile[0].contains("Too many open files"), "{}", emfile[0]);
}
