//! Networking (asyncio's streams, servers and datagram endpoints): TCP,
//! UDP, and Unix stream and datagram sockets.
//!
//! Sockets are registered in the reactor of the worker that creates them
//! (see `corio_executor::io`), implement the `futures-io` traits, and every
//! await on them is a cancellation point: a cancelled task's pending read,
//! write, accept or connect completes with an `io::Error` for which
//! [`is_cancelled`] is true.
//!
//! | asyncio | corio |
//! |---|---|
//! | `await asyncio.start_server(cb, host, port)` | `TcpListener::bind(addr).await?`, then `accept().await` in a loop |
//! | `reader, writer = await asyncio.open_connection(host, port)` | `TcpStream::connect(addr).await?` (`AsyncRead + AsyncWrite`; `into_split()` for two halves) |
//! | `await reader.read(n)`, `readexactly(n)` | `stream.read(&mut buf).await`, `stream.read_exact(&mut buf).await` ([`AsyncReadExt`]) |
//! | `writer.write(b); await writer.drain()` | `stream.write_all(b).await` ([`AsyncWriteExt`]) |
//! | `writer.write_eof()` | `stream.shutdown(Shutdown::Write)` |

use std::io;

/// The end of a non-blocking connect: the socket turns writable once it is
/// done, either way; `SO_ERROR` says which, and `getpeername` fails with
/// `NotConnected` while it is still in progress (a spurious wakeup).
fn connect_result(
    error: io::Result<Option<io::Error>>,
    peer: io::Result<impl Sized>,
) -> io::Result<()> {
    if let Some(e) = error? {
        return Err(e);
    }
    match peer {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
}

/// The result of `shutdown` on a stream socket: a connection the peer has
/// already reset has nothing left to shut down, so `NotConnected` is done.
fn shutdown_result(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        r => r,
    }
}

/// One operation on `io` as a future, recording its caller (the `.await`
/// of the public method, through `#[track_caller]`) as where the task
/// waits while it is pending.
#[track_caller]
fn io_op<'a, S: std::os::fd::AsRawFd, R>(
    io: &'a corio_executor::io::PollEvented<S>,
    direction: corio_executor::io::Direction,
    mut op: impl FnMut(&S) -> io::Result<R> + 'a,
) -> impl std::future::Future<Output = io::Result<R>> + 'a {
    let at = std::panic::Location::caller();
    std::future::poll_fn(move |cx| tcp::track(at, io.poll_io(cx, direction, &mut op)))
}

/// `futures_io::AsyncRead + AsyncWrite` for a stream type (and `&` it),
/// through its `poll_read_priv` / `poll_write_priv` / `shutdown`.
macro_rules! stream_io {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}
use stream_io;

mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use corio_executor::io::{into_cancelled, is_cancelled};
/// The `futures-io` traits the sockets implement, and futures-util's
/// extension traits and helpers for them (`read_exact`, `write_all`,
/// `copy`, buffered readers...), re-exported rather than rewritten.
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
pub use futures_util::io::{
    copy, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter,
};
pub use tcp::{Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
pub use udp::UdpSocket;

/// Resolves a host name on the blocking pool (`getaddrinfo` blocks), as
/// asyncio's `loop.getaddrinfo` does in its executor: the addresses of
/// `addr`, for [`TcpStream::connect`] and friends, which resolve in place
/// (their `ToSocketAddrs` argument may borrow, so it cannot move to
/// another thread).
///
/// # Errors
///
/// The resolver's error; a cancellation of the task as an `io::Error`
/// wrapping [`Cancelled`](crate::Cancelled) ([`is_cancelled`] tells).
///
/// ```
/// corio::run(async {
///     let addrs: Vec<_> = corio::net::lookup_host(("localhost", 80)).await.unwrap().collect();
///     assert!(addrs.iter().all(|a| a.port() == 80));
/// });
/// ```
pub async fn lookup_host<A>(addr: A) -> io::Result<std::vec::IntoIter<std::net::SocketAddr>>
where
    A: std::net::ToSocketAddrs + Send + 'static,
{
    match crate::to_thread(move || addr.to_socket_addrs().map(Vec::from_iter)).await {
        Ok(r) => r.map(Vec::into_iter),
        Err(corio_executor::TaskError::Cancelled(c)) => {
            Err(io::Error::new(io::ErrorKind::Interrupted, c))
        }
        Err(corio_executor::TaskError::Panicked { message, .. }) => Err(io::Error::other(format!(
            "corio: the resolver panicked: {message}"
        ))),
    }
}
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
