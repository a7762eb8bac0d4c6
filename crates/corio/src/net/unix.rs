//! Unix domain sockets: `UnixListener`, `UnixStream`, `UnixDatagram`.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::panic::Location;
use std::path::Path;
use std::task::{Context, Poll};

use corio_executor::io::{Direction, Interest, PollEvented};

use super::tcp::track;

/// A Unix stream server socket (asyncio's `start_unix_server`, without the
/// callback).
///
/// ```
/// use corio::net::{UnixListener, UnixStream};
/// corio::run(async {
///     let dir = std::env::temp_dir().join(format!("corio-doc-{}", std::process::id()));
///     let _ = std::fs::remove_file(&dir);
///     let listener = UnixListener::bind(&dir).unwrap();
///     let client = UnixStream::connect(&dir).await.unwrap();
///     let (server_side, _) = listener.accept().await.unwrap();
///     assert!(server_side.peer_addr().is_ok() && client.local_addr().is_ok());
///     std::fs::remove_file(&dir).unwrap();
/// });
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to the filesystem path `path` (which must not exist).
    ///
    /// # Errors
    ///
    /// The OS error of `bind` (`AddrInUse` if the path exists, ...).
    ///
    /// ```
    /// # corio::run(async {
    /// let path = std::env::temp_dir().join(format!("corio-doc-bind-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = corio::net::UnixListener::bind(&path).unwrap();
    /// assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: PollEvented::new(mio::net::UnixListener::bind(path)?, Interest::READABLE)?,
        })
    }

    /// The address it is bound to.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// ```
    /// # corio::run(async {
    /// # let path = std::env::temp_dir().join(format!("corio-doc-la-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = corio::net::UnixListener::bind(&path).unwrap();
    /// assert!(l.local_addr().unwrap().as_pathname().is_some());
    /// # std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Waits for a connection; a cancellation point.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`, or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// # let path = std::env::temp_dir().join(format!("corio-doc-acc-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = corio::net::UnixListener::bind(&path).unwrap();
    /// let _c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    /// let (_s, _addr) = l.accept().await.unwrap();
    /// # std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, SocketAddr)>> + '_ {
        let at = Location::caller();
        async move {
            let (s, addr) =
                poll_fn(|cx| track(at, self.io.poll_io(cx, Direction::Read, |l| l.accept())))
                    .await?;
            Ok((UnixStream::from_mio(s)?, addr))
        }
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// A Unix stream connection: `futures_io::AsyncRead + AsyncWrite` (also
/// through `&UnixStream`).
///
/// ```
/// use corio::net::{AsyncReadExt, AsyncWriteExt, UnixStream};
/// corio::run(async {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     a.write_all(b"over unix").await.unwrap();
///     let mut buf = [0; 9];
///     b.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"over unix");
/// });
/// ```
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    fn from_mio(s: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Connects to the socket at `path`; a cancellation point.
    ///
    /// # Errors
    ///
    /// The OS error of `connect` (`NotFound`, `ConnectionRefused`, ...), or
    /// the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let err = corio::net::UnixStream::connect("/nonexistent/corio.sock").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # });
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream::from_mio(mio::net::UnixStream::connect(path)?)?;
        poll_fn(|cx| {
            stream.io.poll_io(cx, Direction::Write, |s| {
                super::connect_result(s.take_error(), s.peer_addr())
            })
        })
        .await?;
        Ok(stream)
    }

    /// A connected pair of sockets (`socketpair`).
    ///
    /// # Errors
    ///
    /// The OS error of `socketpair`, or of the registration.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, b) = corio::net::UnixStream::pair().unwrap();
    /// # drop((a, b));
    /// # });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, _b) = corio::net::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// The OS error of `getpeername`.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, _b) = corio::net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().is_ok());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down a half (or both) of the connection.
    ///
    /// # Errors
    ///
    /// The OS error of `shutdown`; a connection the peer has already reset
    /// counts as shut down (`Ok`), as with tokio.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, _b) = corio::net::UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        super::shutdown_result(self.io.get_ref().shutdown(how))
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read_stream(cx, buf)
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |mut s| s.write(buf))
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

super::stream_io!(UnixStream);
super::stream_io!(&UnixStream);

/// A Unix datagram socket.
///
/// ```
/// use corio::net::UnixDatagram;
/// corio::run(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"one datagram").await.unwrap();
///     let mut buf = [0; 32];
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"one datagram");
/// });
/// ```
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    fn from_mio(s: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Binds to the filesystem path `path`.
    ///
    /// # Errors
    ///
    /// The OS error of `bind`.
    ///
    /// ```
    /// # corio::run(async {
    /// let path = std::env::temp_dir().join(format!("corio-doc-dg-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let s = corio::net::UnixDatagram::bind(&path).unwrap();
    /// assert!(s.local_addr().unwrap().as_pathname().is_some());
    /// # std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can send, and receive replies once
    /// connected).
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    ///
    /// ```
    /// # corio::run(async {
    /// let s = corio::net::UnixDatagram::unbound().unwrap();
    /// assert!(s.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// A connected pair (`socketpair`).
    ///
    /// # Errors
    ///
    /// The OS error of `socketpair`.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, b) = corio::net::UnixDatagram::pair().unwrap();
    /// # drop((a, b));
    /// # });
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_mio(a)?, UnixDatagram::from_mio(b)?))
    }

    /// Sets the default destination of `send`.
    ///
    /// # Errors
    ///
    /// The OS error of `connect`.
    ///
    /// ```
    /// # corio::run(async {
    /// let path = std::env::temp_dir().join(format!("corio-doc-dgc-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = corio::net::UnixDatagram::bind(&path).unwrap();
    /// let client = corio::net::UnixDatagram::unbound().unwrap();
    /// client.connect(&path).unwrap();
    /// client.send(b"hi").await.unwrap();
    /// let mut buf = [0; 2];
    /// assert_eq!(server.recv(&mut buf).await.unwrap(), 2);
    /// # std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, _b) = corio::net::UnixDatagram::pair().unwrap();
    /// assert!(a.local_addr().is_ok());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sends one datagram to `path`.
    ///
    /// # Errors
    ///
    /// The OS error of `sendto`, or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let path = std::env::temp_dir().join(format!("corio-doc-dgs-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = corio::net::UnixDatagram::bind(&path).unwrap();
    /// let client = corio::net::UnixDatagram::unbound().unwrap();
    /// client.send_to(b"x", &path).await.unwrap();
    /// # drop(server);
    /// # std::fs::remove_file(&path).unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn send_to<'a, P: AsRef<Path> + 'a>(
        &'a self,
        buf: &'a [u8],
        path: P,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        super::io_op(&self.io, Direction::Write, move |s| {
            s.send_to(buf, path.as_ref())
        })
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`, or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, b) = corio::net::UnixDatagram::pair().unwrap();
    /// a.send(b"q").await.unwrap();
    /// let mut buf = [0; 1];
    /// let (n, _from) = b.recv_from(&mut buf).await.unwrap();
    /// assert_eq!(n, 1);
    /// # });
    /// ```
    #[track_caller]
    pub fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a {
        super::io_op(&self.io, Direction::Read, move |s| s.recv_from(buf))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error of `send`, or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, _b) = corio::net::UnixDatagram::pair().unwrap();
    /// assert_eq!(a.send(b"abc").await.unwrap(), 3);
    /// # });
    /// ```
    #[track_caller]
    pub fn send<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        super::io_op(&self.io, Direction::Write, move |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error of `recv`, or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let (a, b) = corio::net::UnixDatagram::pair().unwrap();
    /// b.send(b"back").await.unwrap();
    /// let mut buf = [0; 4];
    /// assert_eq!(a.recv(&mut buf).await.unwrap(), 4);
    /// # });
    /// ```
    #[track_caller]
    pub fn recv<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        super::io_op(&self.io, Direction::Read, move |s| s.recv(buf))
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
