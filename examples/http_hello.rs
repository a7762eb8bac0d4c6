//! An HTTP/1.1 "Hello, World!" server: hyper 1.x on corio.
//!
//! ```sh
//! cargo run --release --features corio/hyper --example http_hello             # 127.0.0.1:3000
//! cargo run --release --features corio/hyper --example http_hello -- 0.0.0.0:8080
//! curl http://127.0.0.1:3000/    # or: wrk -t2 -c50 -d10s http://127.0.0.1:3000/
//! ```
//!
//! Each connection is served by its own task, through `corio::hyper`'s
//! I/O adapter and timer. Ctrl-C stops it. `benches/http/run.sh` measures
//! it against the same server on tokio under `wrk`.

use std::convert::Infallible;

use corio::hyper::{CorioTimer, HyperIo};
use corio::net::TcpListener;
use hyper::body::Incoming;
use hyper::{Request, Response};

async fn hello(_req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(String::from("Hello, World!\n")))
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    corio::run(async move {
        let listener = TcpListener::bind(&*addr).await.expect("bind");
        println!("serving http://{}/", listener.local_addr().unwrap());
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) if corio::net::is_cancelled(&e) => break,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            drop(corio::spawn(async move {
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(CorioTimer)
                    .serve_connection(HyperIo::new(stream), hyper::service::service_fn(hello))
                    .await;
                if let Err(e) = served {
                    eprintln!("connection error: {e}");
                }
            }));
        }
    });
}
