//! 2 000 concurrent TCP connections on loopback, all served by one echo
//! server. Its own binary: it raises the process's RLIMIT_NOFILE (to the
//! hard limit) where the soft limit is too low for 4 000 sockets.

use std::net::SocketAddr;

use corio::net::{AsyncReadExt, AsyncWriteExt, TcpListener, TcpStream};

const CONNECTIONS: usize = 2_000;

fn raise_fd_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < want {
        lim.rlim_cur = want.min(lim.rlim_max);
        // SAFETY: valid in-pointer; raising the soft limit up to the hard one.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
    lim.rlim_cur
}

async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(corio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            drop(corio::spawn(async move {
                let mut buf = [0u8; 16];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }));
        }
    }));
    addr
}

#[test]
fn two_thousand_concurrent_connections_are_all_served() {
    let limit = raise_fd_limit(2 * CONNECTIONS as u64 + 200);
    if limit < 2 * CONNECTIONS as u64 + 100 {
        eprintln!("skipped: RLIMIT_NOFILE is {limit} and cannot be raised to 4 100");
        return;
    }
    let rt = corio::Runtime::builder().workers(2).build().unwrap();
    let served = rt.run(async {
        let addr = echo_server().await;
        // Connect all of them first, so all 2 000 are open at once.
        let mut streams = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            streams.push(TcpStream::connect(addr).await.unwrap());
        }
        let clients = streams
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| async move {
                let msg = (i as u64).to_le_bytes();
                c.write_all(&msg).await.unwrap();
                let mut back = [0u8; 8];
                c.read_exact(&mut back).await.unwrap();
                back == msg
            });
        corio::gather(clients).await.unwrap()
    });
    assert_eq!(served.len(), CONNECTIONS);
    assert!(served.into_iter().all(|ok| ok));
}
