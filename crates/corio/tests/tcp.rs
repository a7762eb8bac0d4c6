//! TCP on the worker reactors: echo, many connections, half-close, resets,
//! cancellation.

mod common;

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use common::{rt, MS};
use corio::net::{TcpListener, TcpStream};
use futures_io::{AsyncRead, AsyncWrite};

async fn read(s: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| Pin::new(&mut *s).poll_read(cx, buf)).await
}

async fn write_all(s: &mut (impl AsyncWrite + Unpin), mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *s).poll_write(cx, buf)).await?;
        buf = &buf[n..];
    }
    Ok(())
}

async fn read_exact(s: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match read(s, &mut buf[got..]).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    Ok(())
}

/// An echo server that serves each connection in its own task.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(corio::spawn(async move {
        loop {
            let (mut s, _) = match listener.accept().await {
                Ok(c) => c,
                Err(_) => return,
            };
            drop(corio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match read(&mut s, &mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if write_all(&mut s, &buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }));
        }
    }));
    addr
}

#[test]
fn an_echo_round_trip_over_loopback_returns_the_same_bytes() {
    rt(2).run(async {
        let addr = echo_server().await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        for i in 0..100u8 {
            let msg = [i; 64];
            write_all(&mut c, &msg).await.unwrap();
            let mut back = [0; 64];
            read_exact(&mut c, &mut back).await.unwrap();
            assert_eq!(back, msg);
        }
    });
}

#[test]
fn futures_util_extension_traits_work_on_corio_sockets() {
    use corio::net::{AsyncReadExt, AsyncWriteExt};
    rt(2).run(async {
        let addr = echo_server().await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"through the ext traits").await.unwrap();
        let mut back = [0; 22];
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"through the ext traits");
    });
}

#[test]
fn two_hundred_concurrent_connections_are_all_served() {
    rt(2).run(async {
        let addr = echo_server().await;
        let clients: Vec<_> = (0..200u32)
            .map(|i| async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                let msg = i.to_le_bytes().repeat(256); // 1 KiB
                write_all(&mut c, &msg).await.unwrap();
                let mut back = vec![0; msg.len()];
                read_exact(&mut c, &mut back).await.unwrap();
                back == msg
            })
            .collect();
        let ok = corio::gather(clients).await.unwrap();
        assert!(ok.into_iter().all(|b| b));
    });
}

#[test]
fn a_half_closed_connection_reads_eof_and_can_still_write_back() {
    rt(2).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            let mut buf = [0; 100];
            loop {
                match read(&mut s, &mut buf).await.unwrap() {
                    0 => break, // the client's write_eof
                    n => all.extend_from_slice(&buf[..n]),
                }
            }
            write_all(&mut s, b"got it").await.unwrap();
            all
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        write_all(&mut c, b"request").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut reply = [0; 6];
        read_exact(&mut c, &mut reply).await.unwrap();
        assert_eq!(&reply, b"got it");
        assert_eq!(server.await.unwrap(), b"request");
        // After the server closes too: end of file.
        assert_eq!(read(&mut c, &mut [0; 8]).await.unwrap(), 0);
    });
}

#[test]
fn a_peer_reset_comes_back_as_a_connection_reset_error_and_shutting_down_after_it_succeeds() {
    rt(2).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let c = std::net::TcpStream::connect(addr).unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        // SO_LINGER 0: closing sends RST instead of FIN.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid socket fd and a correctly sized option value.
        let rc = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&c),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        drop(c);
        let err = read(&mut s, &mut [0; 8]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        // Nothing is left to shut down: no error (hyper reports one from
        // its closing `poll_close` as a failed connection).
        s.shutdown(Shutdown::Write).unwrap();
        poll_fn(|cx| Pin::new(&mut s).poll_close(cx)).await.unwrap();
    });
}

#[test]
fn a_cancelled_read_completes_with_an_error_that_is_cancelled() {
    rt(2).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let reader = corio::spawn(async move {
            let mut s = s;
            let err = read(&mut s, &mut [0; 8]).await.unwrap_err();
            assert!(corio::Cancelled::is(&err));
            (corio::net::is_cancelled(&err), err.kind())
        });
        corio::sleep(10 * MS).await.unwrap();
        reader.cancel();
        let err = reader.await.unwrap_err();
        assert!(
            err.is_cancelled(),
            "the reader let the cancellation through"
        );
        // An accept is a cancellation point too.
        let acceptor = corio::spawn(async move { listener.accept().await.map(|_| ()) });
        corio::sleep(10 * MS).await.unwrap();
        acceptor.cancel();
        assert!(acceptor.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn the_cancellation_error_can_be_told_apart_and_taken_out() {
    rt(1).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let t = corio::spawn(async move {
            let err = listener.accept().await.unwrap_err();
            assert!(corio::net::is_cancelled(&err));
            let c = corio::net::into_cancelled(err).unwrap();
            c.suppress();
            "refused"
        });
        corio::sleep(10 * MS).await.unwrap();
        t.cancel();
        assert_eq!(t.await.unwrap(), "refused");
    });
}

#[test]
fn connecting_to_a_closed_port_is_connection_refused() {
    rt(1).run(async {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let err = TcpStream::connect(port).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn split_halves_read_and_write_from_two_tasks_at_once() {
    rt(2).run(async {
        let addr = echo_server().await;
        let (mut r, mut w) = TcpStream::connect(addr).await.unwrap().into_split();
        let writer = corio::spawn(async move {
            for i in 0..50u8 {
                write_all(&mut w, &[i; 100]).await.unwrap();
                corio::sleep(MS).await.unwrap();
            }
        });
        let mut got = vec![0; 5000];
        read_exact(&mut r, &mut got).await.unwrap();
        writer.await.unwrap();
        for (i, chunk) in got.chunks(100).enumerate() {
            assert!(chunk.iter().all(|&b| b == i as u8));
        }
    });
}

#[test]
fn a_task_waiting_to_accept_is_shown_suspended_at_the_accept() {
    rt(1).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let line = line!() + 1;
        let t = corio::spawn(async move { listener.accept().await.map(|_| ()) });
        corio::yield_now().await.unwrap();
        corio::yield_now().await.unwrap();
        let at = t.task_ref().location().expect("recorded");
        assert_eq!((at.file(), at.line()), (file!(), line));
        t.abort();
    });
}

#[test]
fn a_reader_waits_without_spinning_until_data_arrives() {
    rt(1).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let writer = corio::spawn(async move {
            corio::sleep(Duration::from_millis(50)).await.unwrap();
            write_all(&mut c, b"late").await.unwrap();
            c
        });
        let start = std::time::Instant::now();
        let mut buf = [0; 4];
        read_exact(&mut s, &mut buf).await.unwrap();
        assert_eq!(&buf, b"late");
        assert!(start.elapsed() >= Duration::from_millis(40));
        drop(writer.await.unwrap());
    });
}

#[test]
fn dropping_a_stream_mid_read_in_another_task_breaks_nothing() {
    rt(2).run(async {
        let addr = echo_server().await;
        for _ in 0..50 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let laddr = listener.local_addr().unwrap();
            let mut writer = TcpStream::connect(laddr).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            let reader = corio::spawn(async move {
                let mut s = s;
                read(&mut s, &mut [0; 8]).await
            });
            corio::yield_now().await.unwrap();
            // Data arrives while the reader (and its stream) is torn down.
            let w = corio::spawn(async move {
                let _ = write_all(&mut writer, b"racing").await;
                writer
            });
            reader.abort();
            // It read the data first, or was dropped mid-read.
            match reader.await {
                Ok(r) => assert_eq!(r.unwrap(), 6),
                Err(e) => assert!(e.is_cancelled()),
            }
            drop(w.await.unwrap());
        }
        // Everything else still works.
        let mut c = TcpStream::connect(addr).await.unwrap();
        write_all(&mut c, b"still fine").await.unwrap();
        let mut back = [0; 10];
        read_exact(&mut c, &mut back).await.unwrap();
        assert_eq!(&back, b"still fine");
    });
}

#[test]
fn lookup_host_resolves_on_the_pool_and_the_address_connects() {
    rt(1).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let addrs: Vec<SocketAddr> = corio::net::lookup_host(("127.0.0.1", port))
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs, [SocketAddr::from(([127, 0, 0, 1], port))]);
        let to = addrs[0];
        let client = corio::spawn(async move { TcpStream::connect(to).await.unwrap() });
        let (accepted, _) = listener.accept().await.unwrap();
        let client = client.await.unwrap();
        assert_eq!(accepted.peer_addr().unwrap(), client.local_addr().unwrap());
        let bad = corio::net::lookup_host("no port here").await;
        assert!(bad.is_err(), "an address without a port resolved");
    });
}

#[test]
fn after_a_read_that_drains_the_socket_later_bytes_and_the_end_of_file_still_arrive() {
    rt(2).run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            for chunk in [&b"abc"[..], b"defg", b"h"] {
                c.write_all(chunk).unwrap();
                // Time for the reader to read this chunk (a short read,
                // which clears the readiness) before the next is sent.
                std::thread::sleep(20 * MS);
            }
            // Then the end of file.
        });
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            // Each read fills less than the buffer: each drains the socket.
            let n = corio::timeout(Duration::from_secs(10), read(&mut s, &mut buf))
                .await
                .expect("the next bytes (or the end of file) woke the reader")
                .unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"abcdefgh");
        writer.join().unwrap();
    });
}
