//! UDP on the worker reactors.

mod common;

use std::io;

use common::{rt, MS};
use corio::net::UdpSocket;

#[test]
fn datagrams_keep_their_boundaries_and_senders() {
    rt(2).run(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.send_to(b"from a", addr).await.unwrap();
        b.send_to(b"from b, longer", addr).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..2 {
            let mut buf = [0; 64];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            seen.push((buf[..n].to_vec(), from));
        }
        seen.sort();
        let mut want = vec![
            (b"from a".to_vec(), a.local_addr().unwrap()),
            (b"from b, longer".to_vec(), b.local_addr().unwrap()),
        ];
        want.sort();
        assert_eq!(seen, want);
    });
}

#[test]
fn a_receiver_waits_in_its_task_until_a_datagram_arrives() {
    rt(2).run(async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = rx.local_addr().unwrap();
        let receiver = corio::spawn(async move {
            let mut buf = [0; 8];
            let (n, _) = rx.recv_from(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        corio::sleep(20 * MS).await.unwrap();
        assert!(!receiver.done());
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        tx.send_to(b"late", addr).await.unwrap();
        assert_eq!(receiver.await.unwrap(), b"late");
    });
}

#[test]
fn a_connected_socket_sends_and_receives_with_its_peer_only() {
    rt(1).run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        stranger
            .send_to(b"ignored", a.local_addr().unwrap())
            .await
            .unwrap();
        b.send(b"hello a").await.unwrap();
        let mut buf = [0; 16];
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello a");
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    });
}

#[test]
fn a_cancelled_receive_completes_with_an_error_that_is_cancelled() {
    rt(1).run(async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let t = corio::spawn(async move {
            let mut buf = [0; 8];
            let err: io::Error = rx.recv_from(&mut buf).await.unwrap_err();
            assert!(corio::net::is_cancelled(&err));
            Err::<(), _>(err)
        });
        corio::sleep(10 * MS).await.unwrap();
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
    });
}
