//! TCP on loopback, corio against tokio and smol, same worker count:
//!
//! * `tcp_echo/corio`, `tcp_echo/tokio`: an echo server (one task per
//!   connection) and 50 client tasks, each doing 2 000 round trips of 64
//!   bytes over its own connection with `TCP_NODELAY`, on the same runtime;
//! * `tcp_ping_pong/*`: the same with one connection and 20 000 round trips:
//!   latency-bound, the workers are mostly idle (what waking an idle worker
//!   for a peer's events costs shows here).
//!
//! The smol arms run the same code on async-executor with async-net's
//! sockets (async-io's `Async<TcpStream>`).
//!
//! Each runtime has two worker threads of its own (smol: two threads
//! running the executor inside `async_io::block_on`, `SmolThreads`); the
//! workload runs as a task and the benchmark's thread, a worker of none,
//! waits on a channel (`spawn_and_wait`).
//!
//! The reactor backend is the default (mio) unless the bench is built with
//! `--features corio/polling`. See `docs/benchmarks.md`.

use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use corio_benches::{criterion, spawn_and_wait, tokio_runtime, CorioOwnThread, SmolThreads};
use criterion::Criterion;

/// Client connections.
const CONNECTIONS: usize = 50;
/// Round trips per connection.
const ROUND_TRIPS: usize = 2_000;
/// Bytes per message.
const MESSAGE: usize = 64;

async fn corio_echo() {
    corio_echo_with(CONNECTIONS, ROUND_TRIPS).await
}

async fn corio_echo_with(connections: usize, round_trips: usize) {
    use corio::net::{AsyncReadExt, AsyncWriteExt, TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = corio::spawn(async move {
        for _ in 0..connections {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            drop(corio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while s.read_exact(&mut buf).await.is_ok() {
                    if s.write_all(&buf).await.is_err() {
                        break;
                    }
                }
            }));
        }
    });
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            corio::spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.set_nodelay(true).unwrap();
                let msg = [7u8; MESSAGE];
                let mut buf = [0u8; MESSAGE];
                for _ in 0..round_trips {
                    c.write_all(&msg).await.unwrap();
                    c.read_exact(&mut buf).await.unwrap();
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

async fn tokio_echo() {
    tokio_echo_with(CONNECTIONS, ROUND_TRIPS).await
}

async fn tokio_echo_with(connections: usize, round_trips: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..connections {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while s.read_exact(&mut buf).await.is_ok() {
                    if s.write_all(&buf).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.set_nodelay(true).unwrap();
                let msg = [7u8; MESSAGE];
                let mut buf = [0u8; MESSAGE];
                for _ in 0..round_trips {
                    c.write_all(&msg).await.unwrap();
                    c.read_exact(&mut buf).await.unwrap();
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

async fn smol_echo_with(ex: Arc<Executor<'static>>, connections: usize, round_trips: usize) {
    use async_net::{TcpListener, TcpStream};
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let spawner = ex.clone();
    let server = ex.spawn(async move {
        for _ in 0..connections {
            let (mut s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            spawner
                .spawn(async move {
                    let mut buf = [0u8; MESSAGE];
                    while s.read_exact(&mut buf).await.is_ok() {
                        if s.write_all(&buf).await.is_err() {
                            break;
                        }
                    }
                })
                .detach();
        }
    });
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            ex.spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.set_nodelay(true).unwrap();
                let msg = [7u8; MESSAGE];
                let mut buf = [0u8; MESSAGE];
                for _ in 0..round_trips {
                    c.write_all(&msg).await.unwrap();
                    c.read_exact(&mut buf).await.unwrap();
                }
            })
        })
        .collect();
    for c in clients {
        c.await;
    }
    server.await;
}

fn net(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_echo");
    {
        let rt = CorioOwnThread::new();
        group.bench_function("corio", |b| {
            b.iter(|| spawn_and_wait(corio_echo(), |f| drop(rt.handle().spawn(f))))
        });
    }
    {
        let rt = tokio_runtime();
        group.bench_function("tokio", |b| {
            b.iter(|| spawn_and_wait(tokio_echo(), |f| drop(rt.spawn(f))))
        });
    }
    {
        let rt = SmolThreads::new();
        let ex = rt.executor().clone();
        group.bench_function("smol", |b| {
            b.iter(|| {
                spawn_and_wait(smol_echo_with(ex.clone(), CONNECTIONS, ROUND_TRIPS), |f| {
                    ex.spawn(f).detach()
                })
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("tcp_ping_pong");
    {
        let rt = CorioOwnThread::new();
        group.bench_function("corio", |b| {
            b.iter(|| spawn_and_wait(corio_echo_with(1, 20_000), |f| drop(rt.handle().spawn(f))))
        });
    }
    {
        let rt = tokio_runtime();
        group.bench_function("tokio", |b| {
            b.iter(|| spawn_and_wait(tokio_echo_with(1, 20_000), |f| drop(rt.spawn(f))))
        });
    }
    {
        let rt = SmolThreads::new();
        let ex = rt.executor().clone();
        group.bench_function("smol", |b| {
            b.iter(|| {
                spawn_and_wait(smol_echo_with(ex.clone(), 1, 20_000), |f| {
                    ex.spawn(f).detach()
                })
            })
        });
    }
    group.finish();
}

// What `criterion_group!` + `criterion_main!` expand to, minus the
// undocumented `pub fn` the former generates.
fn main() {
    let mut c = criterion(Duration::from_secs(10));
    net(&mut c);
    c.final_summary();
}
