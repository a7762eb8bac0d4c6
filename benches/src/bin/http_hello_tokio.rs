//! `examples/http_hello.rs` on tokio: the same hyper 1.x server (HTTP/1.1,
//! "Hello, World!\n", a task per connection, `TCP_NODELAY`, hyper's timer
//! from the runtime), for `benches/http/run.sh` to drive beside corio's
//! with an external load generator.
//!
//! ```sh
//! cargo run --release -p corio-benches --bin http_hello_tokio -- 127.0.0.1:3001
//! ```
//!
//! Like for like: corio's example runs its accept loop on worker 0 of a
//! runtime with one worker per core; this one has one tokio worker per
//! core and runs the accept loop as a task on them, so the main thread,
//! which only waits, is a worker of neither.

use std::convert::Infallible;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

async fn hello(_req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(String::from("Hello, World!\n")))
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async move {
        let server = tokio::spawn(async move {
            let listener = TcpListener::bind(&*addr).await.expect("bind");
            println!("serving http://{}/", listener.local_addr().unwrap());
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let served = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), hyper::service::service_fn(hello))
                        .await;
                    if let Err(e) = served {
                        eprintln!("connection error: {e}");
                    }
                });
            }
        });
        server.await.expect("the accept loop");
    });
}
