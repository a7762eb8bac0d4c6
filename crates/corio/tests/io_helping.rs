//! I/O helping, in its own binary (a timing test: no other test competes
//! for the cores).

mod common;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use common::rt;
use corio::net::TcpStream;
use futures_io::AsyncRead;

async fn read_exact(s: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match poll_fn(|cx| Pin::new(&mut *s).poll_read(cx, &mut buf[got..])).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    Ok(())
}

/// I/O helping: worker 0 spins for a second without yielding; the data for
/// a reader whose socket is registered in worker 0's reactor arrives after
/// 30 ms. The idle worker notices the busy worker is stuck, drains its
/// reactor and runs the reader: it sees the data long before the spin ends.
#[test]
fn an_idle_worker_delivers_the_io_events_of_a_worker_stuck_in_a_long_poll() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    let rt = rt(2);
    for attempt in 0.. {
        assert!(attempt < 200, "the reader never registered on worker 0");
        let outcome = rt.run(async {
            let here = std::thread::current().id();
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let peer = std::thread::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                std::thread::sleep(Duration::from_millis(30));
                let _ = s.write_all(b"x");
                s
            });
            let registered_on = Arc::new(Mutex::new(None));
            let r = registered_on.clone();
            let reader = corio::spawn(async move {
                // The socket is registered where this first poll runs.
                *r.lock().unwrap() = Some(std::thread::current().id());
                let mut c = TcpStream::connect(addr).await.unwrap();
                let mut buf = [0; 1];
                read_exact(&mut c, &mut buf).await.unwrap();
                (Instant::now(), std::thread::current().id())
            });
            while registered_on.lock().unwrap().is_none() {
                let _ = corio::yield_now().await;
            }
            if *registered_on.lock().unwrap() != Some(here) {
                let _ = reader.await;
                drop(peer.join());
                return None; // it ran elsewhere first: not the case under test
            }
            // Worker 0 now spins without yielding.
            let spin_start = Instant::now();
            while spin_start.elapsed() < Duration::from_millis(1000) {
                std::hint::spin_loop();
            }
            let (done_at, ran_on) = reader.await.unwrap();
            drop(peer.join());
            Some((
                done_at < spin_start + Duration::from_millis(200),
                ran_on != here,
            ))
        });
        if let Some((early, elsewhere)) = outcome {
            assert!(early, "the reader waited for the busy worker");
            assert!(elsewhere, "the reader did not run on the idle worker");
            break;
        }
    }
}

/// A latency-bound pair (one connection, one message in flight) whose two
/// ends start on different workers ends up on one worker: the worker that
/// goes idle takes the events of the peer parked in its reactor, and the
/// sockets follow their tasks there, so that a round trip stops crossing
/// threads (two thread wakeups each).
#[test]
fn a_ping_pong_pair_started_on_two_workers_gathers_on_one() {
    use corio::net::{AsyncReadExt, AsyncWriteExt, TcpListener};
    const ROUND_TRIPS: usize = 2_000;
    let rt = rt(2);
    for attempt in 0.. {
        assert!(
            attempt < 200,
            "the two ends never started on different workers"
        );
        let outcome = rt.run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = corio::spawn(async move {
                // The accepted socket is registered where accept completes.
                let (mut s, _) = listener.accept().await.unwrap();
                let start = std::thread::current().id();
                let mut ran_on = Vec::with_capacity(ROUND_TRIPS);
                let mut buf = [0u8; 1];
                for _ in 0..ROUND_TRIPS {
                    s.read_exact(&mut buf).await.unwrap();
                    ran_on.push(std::thread::current().id());
                    s.write_all(&buf).await.unwrap();
                }
                (start, ran_on)
            });
            let client = corio::spawn(async move {
                // Connect registers the socket in this first poll.
                let start = std::thread::current().id();
                let mut c = TcpStream::connect(addr).await.unwrap();
                let mut ran_on = Vec::with_capacity(ROUND_TRIPS);
                let mut buf = [0u8; 1];
                for _ in 0..ROUND_TRIPS {
                    c.write_all(b"x").await.unwrap();
                    c.read_exact(&mut buf).await.unwrap();
                    ran_on.push(std::thread::current().id());
                }
                (start, ran_on)
            });
            let (server_start, server_ran_on) = server.await.unwrap();
            let (client_start, client_ran_on) = client.await.unwrap();
            if server_start == client_start {
                return None; // started together: not the case under test
            }
            let second_half = server_ran_on
                .iter()
                .zip(&client_ran_on)
                .skip(ROUND_TRIPS / 2);
            Some(second_half.filter(|(s, c)| s == c).count())
        });
        if let Some(together) = outcome {
            assert!(
                together >= ROUND_TRIPS / 2 * 9 / 10,
                "only {together} of the last {} round trips ran both ends on one worker",
                ROUND_TRIPS / 2
            );
            break;
        }
    }
}

/// An idle runtime does not wake up: two workers with a listening socket
/// and ten idle keep-alive connections (their readers spread over both
/// workers) park and stay parked. The count of parks does not move for a
/// second once everything waits (a periodic wakeup would park again
/// every time it ends).
#[test]
fn an_idle_runtime_with_open_sockets_keeps_its_workers_parked() {
    use corio::net::{AsyncReadExt, TcpListener};

    let rt = rt(2);
    let metrics = rt.handle().metrics();
    let (parks_settled, parks_later, readers_waiting) = rt.run(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..10)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut readers = Vec::new();
        for _ in 0..10 {
            let (mut s, _) = listener.accept().await.unwrap();
            readers.push(corio::spawn(async move {
                let mut buf = [0u8; 1];
                s.read(&mut buf).await.map(|n| n == 0)
            }));
        }
        // The listener stays open too, with an accept pending.
        let acceptor = corio::spawn(async move { listener.accept().await.map(|_| ()) });
        // Everything waits; the main task waits on a plain thread, so that
        // no timer of the runtime is armed while we count.
        let m = metrics.clone();
        let (settled, later) = corio::to_thread(move || {
            std::thread::sleep(Duration::from_millis(300));
            let settled = m.worker_park_count();
            std::thread::sleep(Duration::from_millis(1000));
            (settled, m.worker_park_count())
        })
        .await
        .unwrap();
        let waiting = readers.iter().filter(|r| !r.done()).count();
        drop(clients);
        for r in readers {
            assert!(r.await.unwrap().unwrap(), "a reader saw its peer close");
        }
        acceptor.abort();
        (settled, later, waiting)
    });
    assert_eq!(readers_waiting, 10, "the connections were idle");
    assert_eq!(
        parks_later, parks_settled,
        "the workers of an idle runtime woke up and parked again"
    );
}
