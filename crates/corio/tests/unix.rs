//! Unix domain sockets on the worker reactors.

mod common;

use std::path::PathBuf;

use common::{rt, MS};
use corio::net::{AsyncReadExt, AsyncWriteExt, UnixDatagram, UnixListener, UnixStream};

fn sock_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("corio-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn a_unix_echo_server_serves_several_clients() {
    let path = sock_path("echo");
    let p = path.clone();
    rt(2).run(async move {
        let listener = UnixListener::bind(&p).unwrap();
        drop(corio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                drop(corio::spawn(async move {
                    let mut buf = [0; 64];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => s.write_all(&buf[..n]).await.unwrap(),
                        }
                    }
                }));
            }
        }));
        let clients: Vec<_> = (0..20u8)
            .map(|i| {
                let p = p.clone();
                async move {
                    let mut c = UnixStream::connect(&p).await.unwrap();
                    c.write_all(&[i; 32]).await.unwrap();
                    let mut back = [0; 32];
                    c.read_exact(&mut back).await.unwrap();
                    back == [i; 32]
                }
            })
            .collect();
        assert!(corio::gather(clients)
            .await
            .unwrap()
            .into_iter()
            .all(|ok| ok));
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_half_closed_unix_stream_reads_eof_and_can_still_write_back() {
    rt(1).run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"question").await.unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"question");
        b.write_all(b"answer").await.unwrap();
        let mut back = [0; 6];
        a.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"answer");
    });
}

#[test]
fn unix_datagrams_arrive_whole_with_their_sender() {
    let server_path = sock_path("dg-server");
    let client_path = sock_path("dg-client");
    let (sp, cp) = (server_path.clone(), client_path.clone());
    rt(2).run(async move {
        let server = UnixDatagram::bind(&sp).unwrap();
        let client = UnixDatagram::bind(&cp).unwrap();
        let receiver = corio::spawn(async move {
            let mut buf = [0; 32];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            (buf[..n].to_vec(), from.as_pathname().map(|p| p.to_owned()))
        });
        corio::sleep(10 * MS).await.unwrap();
        client.send_to(b"one datagram", &sp).await.unwrap();
        let (data, from) = receiver.await.unwrap();
        assert_eq!(data, b"one datagram");
        assert_eq!(from.as_deref(), Some(cp.as_path()));
    });
    std::fs::remove_file(&server_path).unwrap();
    std::fs::remove_file(&client_path).unwrap();
}

#[test]
fn connecting_to_a_missing_unix_socket_is_not_found() {
    rt(1).run(async {
        let err = UnixStream::connect(sock_path("missing")).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    });
}
