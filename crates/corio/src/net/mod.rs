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
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
