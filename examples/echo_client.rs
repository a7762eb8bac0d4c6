//! A TCP echo client: sends a few lines to the echo server and prints what
//! comes back, with the round-trip time.
//!
//! ```sh
//! cargo run --release --example echo_server &   # in another terminal
//! cargo run --release --example echo_client            # 127.0.0.1:7878
//! ```

use std::time::Instant;

use corio::net::{AsyncReadExt, AsyncWriteExt, TcpStream};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".to_owned());
    corio::run(async move {
        let mut stream = match TcpStream::connect(&*addr).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot connect to {addr}: {e} (is the echo server running?)");
                return;
            }
        };
        stream.set_nodelay(true).unwrap();
        for line in ["hello", "from", "corio"] {
            let start = Instant::now();
            stream.write_all(line.as_bytes()).await.unwrap();
            let mut back = vec![0u8; line.len()];
            stream.read_exact(&mut back).await.unwrap();
            println!(
                "sent {line:?}, got {:?} back in {:?}",
                String::from_utf8_lossy(&back),
                start.elapsed()
            );
        }
    });
}
