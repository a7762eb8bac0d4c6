//! A TCP echo server: every connection is served by its own task.
//!
//! ```sh
//! cargo run --release --example echo_server            # 127.0.0.1:7878
//! cargo run --release --example echo_server -- 0.0.0.0:9000
//! ```
//!
//! Try it with `cargo run --release --example echo_client`, or `nc 127.0.0.1
//! 7878`. Ctrl-C cancels the server task (and with it every connection's
//! task, through the runtime's shutdown).

use corio::net::{AsyncReadExt, AsyncWriteExt, TcpListener};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_owned());
    corio::run(async move {
        let listener = TcpListener::bind(&*addr).await.expect("bind");
        println!(
            "echo server listening on {}",
            listener.local_addr().unwrap()
        );
        loop {
            let (mut stream, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) if corio::net::is_cancelled(&e) => break, // Ctrl-C
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    continue;
                }
            };
            println!("{peer} connected");
            drop(corio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                println!("{peer} disconnected");
            }));
        }
    });
}
