//! Networking (asyncio's streams and servers): TCP today; UDP and Unix
//! sockets come next.
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
//! | `await reader.read(n)`, `writer.write(b); await writer.drain()` | `futures_io::AsyncRead::poll_read`, `AsyncWrite::poll_write` (use an extension trait such as futures-util's `AsyncReadExt`) |
//! | `writer.write_eof()` | `stream.shutdown(Shutdown::Write)` |

mod tcp;

pub use corio_executor::io::{into_cancelled, is_cancelled};
pub use tcp::{Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
