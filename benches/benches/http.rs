//! HTTP/1.1 hello-world with hyper 1.x, on corio (`corio::hyper`) and on
//! tokio (`hyper-util`'s `TokioIo`/`TokioTimer`), same worker count, with an
//! in-process hyper client on the same runtime:
//!
//! * `http_hello/corio`, `http_hello/tokio`: 50 keep-alive connections,
//!   each sending 200 `GET /` requests in turn (10 000 requests per
//!   iteration); the throughput is requests / time.
//!
//! See `docs/benchmarks.md`. The client here shares the runtime and the
//! cores with the server; the server figures that count come from an
//! external load generator: `benches/http/run.sh` runs
//! `examples/http_hello.rs` and its tokio twin as separate processes under
//! Debian's `wrk` (`sudo apt-get install wrk`).
//!
//! Each runtime has two worker threads of its own; the workload runs as a
//! task and the benchmark's thread, a worker of neither, waits on a
//! channel (`spawn_and_wait`).

use std::convert::Infallible;
use std::time::Duration;

use corio_benches::{criterion, spawn_and_wait, tokio_runtime, CorioOwnThread};
use criterion::{Criterion, Throughput};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};

/// Keep-alive connections.
const CONNECTIONS: usize = 50;
/// Requests per connection.
const REQUESTS: usize = 200;

async fn hello(_req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(String::from("Hello, World!")))
}

fn request() -> Request<String> {
    Request::builder()
        .uri("/")
        .header("host", "localhost")
        .body(String::new())
        .unwrap()
}

async fn corio_run() {
    use corio::hyper::{CorioTimer, HyperIo};
    use corio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = corio::spawn(async move {
        for _ in 0..CONNECTIONS {
            let (s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            drop(corio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(CorioTimer)
                    .serve_connection(HyperIo::new(s), hyper::service::service_fn(hello))
                    .await;
            }));
        }
    });
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            corio::spawn(async move {
                let s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake::<_, String>(HyperIo::new(s))
                        .await
                        .unwrap();
                let conn = corio::spawn(conn);
                for _ in 0..REQUESTS {
                    sender.ready().await.unwrap();
                    let resp = sender.send_request(request()).await.unwrap();
                    let body = resp.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(body.len(), 13);
                }
                drop(sender);
                let _ = conn.await;
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

async fn tokio_run() {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tokio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..CONNECTIONS {
            let (s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(s), hyper::service::service_fn(hello))
                    .await;
            });
        }
    });
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            tokio::spawn(async move {
                let s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake::<_, String>(TokioIo::new(s))
                        .await
                        .unwrap();
                let conn = tokio::spawn(conn);
                for _ in 0..REQUESTS {
                    sender.ready().await.unwrap();
                    let resp = sender.send_request(request()).await.unwrap();
                    let body = resp.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(body.len(), 13);
                }
                drop(sender);
                let _ = conn.await;
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

fn http(c: &mut Criterion) {
    let mut group = c.benchmark_group("http_hello");
    group.throughput(Throughput::Elements((CONNECTIONS * REQUESTS) as u64));
    {
        let rt = CorioOwnThread::new();
        group.bench_function("corio", |b| {
            b.iter(|| spawn_and_wait(corio_run(), |f| drop(rt.handle().spawn(f))))
        });
    }
    {
        let rt = tokio_runtime();
        group.bench_function("tokio", |b| {
            b.iter(|| spawn_and_wait(tokio_run(), |f| drop(rt.spawn(f))))
        });
    }
    group.finish();
}

// What `criterion_group!` + `criterion_main!` expand to, minus the
// undocumented `pub fn` the former generates.
fn main() {
    let mut c = criterion(Duration::from_secs(10));
    http(&mut c);
    c.final_summary();
}
