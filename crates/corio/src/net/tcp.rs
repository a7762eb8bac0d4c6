//! TCP: `TcpListener` and `TcpStream` on the worker reactors.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use corio_executor::io::{Direction, Interest, PollEvented};

/// Notes where the task waits if `p` is pending (the `.await` of the
/// public method, captured with `#[track_caller]`).
pub(super) fn track<T>(at: &'static Location<'static>, p: Poll<T>) -> Poll<T> {
    if p.is_pending() {
        corio_executor::hooks::note_suspended(at);
    }
    p
}

/// Resolves `addr` and tries `f` on each address in turn; the last error
/// if none works.
pub(super) fn each_addr<T>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "corio: the address resolved to nothing",
        )
    }))
}

/// A TCP server socket (asyncio's `start_server`, without the callback).
///
/// ```
/// use corio::net::{TcpListener, TcpStream};
/// corio::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = corio::spawn(async move { TcpStream::connect(addr).await.unwrap() });
///     let (server_side, peer) = listener.accept().await.unwrap();
///     let client = client.await.unwrap();
///     assert_eq!(peer, client.local_addr().unwrap());
///     assert_eq!(server_side.peer_addr().unwrap(), client.local_addr().unwrap());
/// });
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listening socket (`SO_REUSEADDR`, backlog 1024) to the first
    /// address of `addr` that works. Names are resolved in place with the
    /// system resolver, which blocks: on a busy server, resolve them first
    /// with [`lookup_host`](super::lookup_host) (on the blocking pool).
    ///
    /// # Errors
    ///
    /// The OS error of the last address tried (`AddrInUse`, ...).
    ///
    /// ```
    /// corio::run(async {
    ///     let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(l.local_addr().unwrap().port() > 0);
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let listener = each_addr(addr, mio::net::TcpListener::bind)?;
        Ok(TcpListener {
            io: PollEvented::new(listener, Interest::READABLE)?,
        })
    }

    /// Wraps a bound `std` listener (made non-blocking here).
    ///
    /// # Errors
    ///
    /// The OS error of the registration.
    ///
    /// ```
    /// corio::run(async {
    ///     let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let l = corio::net::TcpListener::from_std(std_l).unwrap();
    ///     # drop(l);
    /// });
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollEvented::new(
                mio::net::TcpListener::from_std(listener),
                Interest::READABLE,
            )?,
        })
    }

    /// The address it is bound to.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// ```
    /// corio::run(async {
    ///     let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(l.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Waits for a connection; a cancellation point.
    ///
    /// # Errors
    ///
    /// The OS error of `accept` (`EMFILE` when out of descriptors, ...), or
    /// the task's cancellation ([`is_cancelled`](super::is_cancelled)).
    ///
    /// ```
    /// corio::run(async {
    ///     let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let _c = std::net::TcpStream::connect(addr).unwrap();
    ///     let (_s, peer) = l.accept().await.unwrap();
    ///     assert!(peer.ip().is_loopback());
    /// });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + '_ {
        let at = Location::caller();
        async move {
            let (stream, peer) = poll_fn(|cx| track(at, self.poll_accept_raw(cx))).await?;
            Ok((TcpStream::from_mio(stream)?, peer))
        }
    }

    fn poll_accept_raw(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(mio::net::TcpStream, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |l| l.accept())
    }

    /// The connections, as a `futures_core::Stream` (asyncio's server
    /// loop), which survives running out of file descriptors; see
    /// [`Incoming`].
    ///
    /// ```
    /// use std::pin::Pin;
    /// use futures_core::Stream;
    /// corio::run(async {
    ///     let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let mut incoming = l.incoming();
    ///     let first = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await;
    ///     assert!(first.unwrap().is_ok());
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            backoff: None,
            delay: BACKOFF_START,
            reported: false,
        }
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// The stream of [`TcpListener::incoming`]: every accepted connection.
///
/// It is an accept loop that keeps serving: when the process is out of
/// file descriptors (`EMFILE`, `ENFILE`) or kernel memory (`ENOBUFS`,
/// `ENOMEM`), it reports it once to the runtime's exception handler, backs
/// off (5 ms, doubling up to 1 s, reset by the next success) and tries
/// again; a connection that was aborted before it was accepted
/// (`ECONNABORTED`, `EPROTO`) is skipped. Other errors are yielded as
/// `Err`, and the stream goes on after them.
///
/// ```
/// corio::run(async {
///     let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let _incoming: corio::net::Incoming<'_> = l.incoming();
/// });
/// ```
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    backoff: Option<corio_executor::Sleep>,
    delay: std::time::Duration,
    reported: bool,
}

/// The first back-off after running out of descriptors.
const BACKOFF_START: std::time::Duration = std::time::Duration::from_millis(5);
/// The longest back-off.
const BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(1);

fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

fn aborted_before_accept(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::ConnectionAborted || e.raw_os_error() == Some(libc::EPROTO)
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(sleep) = &mut this.backoff {
                match Pin::new(sleep).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(c)) => {
                        return Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::Interrupted,
                            c,
                        ))))
                    }
                    Poll::Ready(Ok(())) => this.backoff = None,
                }
            }
            match std::task::ready!(this.listener.poll_accept_raw(cx)) {
                Ok((s, _)) => {
                    this.delay = BACKOFF_START;
                    return Poll::Ready(Some(TcpStream::from_mio(s)));
                }
                Err(e) if out_of_resources(&e) => {
                    if !std::mem::replace(&mut this.reported, true) {
                        if let Some(h) = corio_executor::Handle::try_current() {
                            h.report(&format!(
                                "corio: accept on {:?} failed: {e}; backing off and retrying \
                                 (raise the file descriptor limit, or close idle connections)",
                                this.listener.local_addr().ok()
                            ));
                        }
                    }
                    this.backoff = Some(corio_executor::sleep(this.delay));
                    this.delay = (this.delay * 2).min(BACKOFF_MAX);
                }
                Err(e) if aborted_before_accept(&e) => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming").finish_non_exhaustive()
    }
}

/// A TCP connection (asyncio's reader/writer pair in one object):
/// `futures_io::AsyncRead + AsyncWrite`, also through `&TcpStream`, so one
/// task may read while another writes.
///
/// ```
/// use std::pin::Pin;
/// use futures_io::{AsyncRead, AsyncWrite};
/// use corio::net::{TcpListener, TcpStream};
/// corio::run(async {
///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = l.local_addr().unwrap();
///     let server = corio::spawn(async move {
///         let (mut s, _) = l.accept().await.unwrap();
///         let mut buf = [0; 5];
///         let n = std::future::poll_fn(|cx| Pin::new(&mut s).poll_read(cx, &mut buf)).await.unwrap();
///         buf[..n].to_vec()
///     });
///     let mut c = TcpStream::connect(addr).await.unwrap();
///     std::future::poll_fn(|cx| Pin::new(&mut c).poll_write(cx, b"hello")).await.unwrap();
///     assert_eq!(server.await.unwrap(), b"hello");
/// });
/// ```
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(stream, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Connects to the first address of `addr` that accepts; a
    /// cancellation point.
    ///
    /// # Errors
    ///
    /// The OS error of the last address tried (`ConnectionRefused`, ...),
    /// or the task's cancellation.
    ///
    /// ```
    /// corio::run(async {
    ///     let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    /// });
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_one(a).await {
                Ok(s) => return Ok(s),
                Err(e) if corio_executor::io::is_cancelled(&e) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "corio: the address resolved to nothing",
            )
        }))
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        // A non-blocking connect: writable once it is done, either way.
        poll_fn(|cx| {
            stream.io.poll_io(cx, Direction::Write, |s| {
                super::connect_result(s.take_error(), s.peer_addr())
            })
        })
        .await?;
        Ok(stream)
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the peer is gone, or another `getpeername` error.
    ///
    /// ```
    /// # corio::run(async {
    /// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// assert!(c.peer_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// ```
    /// # corio::run(async {
    /// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// assert!(c.local_addr().unwrap().port() > 0);
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// ```
    /// # corio::run(async {
    /// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// c.set_nodelay(true).unwrap();
    /// assert!(c.nodelay().unwrap());
    /// # });
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    ///
    /// ```
    /// # corio::run(async {
    /// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let _ = c.nodelay().unwrap();
    /// # });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Shuts down the read half, the write half (asyncio's `write_eof`:
    /// the peer reads end of file, and may still write back), or both.
    ///
    /// # Errors
    ///
    /// The OS error of `shutdown`; a connection the peer has already reset
    /// counts as shut down (`Ok`), as with tokio.
    ///
    /// ```
    /// use std::net::Shutdown;
    /// # corio::run(async {
    /// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// c.shutdown(Shutdown::Write).unwrap();
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        super::shutdown_result(self.io.get_ref().shutdown(how))
    }

    /// Reads without consuming: the next read returns the same bytes; a
    /// cancellation point.
    ///
    /// # Errors
    ///
    /// The OS error of `recv(MSG_PEEK)`, or the task's cancellation.
    ///
    /// ```
    /// use std::io::Write;
    /// # corio::run(async {
    /// let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// client.write_all(b"ab").unwrap();
    /// let (peer, _) = l.accept().await.unwrap();
    /// let mut buf = [0; 2];
    /// assert_eq!(peer.peek(&mut buf).await.unwrap(), 2);
    /// assert_eq!(&buf, b"ab");
    /// # });
    /// ```
    #[track_caller]
    pub fn peek<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        super::io_op(&self.io, Direction::Read, move |s| s.peek(buf))
    }

    /// Splits the stream into a read half and a write half that can move to
    /// different tasks.
    ///
    /// ```
    /// # corio::run(async {
    /// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let (r, w) = c.into_split();
    /// assert_eq!(r.peer_addr().unwrap(), w.peer_addr().unwrap());
    /// # });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (
            OwnedReadHalf {
                stream: stream.clone(),
            },
            OwnedWriteHalf { stream },
        )
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read_stream(cx, buf)
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |mut s| s.write(buf))
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

super::stream_io!(TcpStream);
super::stream_io!(&TcpStream);

/// The read half of [`TcpStream::into_split`].
///
/// ```
/// # corio::run(async {
/// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let (r, _w) = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap().into_split();
/// let _: &corio::net::OwnedReadHalf = &r;
/// # });
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Arc<TcpStream>,
}

/// The write half of [`TcpStream::into_split`]; closing it (or dropping
/// it) shuts the write half down.
///
/// ```
/// # corio::run(async {
/// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let (_r, w) = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap().into_split();
/// let _: &corio::net::OwnedWriteHalf = &w;
/// # });
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
}

impl OwnedReadHalf {
    /// The remote address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    ///
    /// ```
    /// # corio::run(async {
    /// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let (r, _w) = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap().into_split();
    /// assert!(r.peer_addr().is_ok());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

impl OwnedWriteHalf {
    /// The remote address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    ///
    /// ```
    /// # corio::run(async {
    /// # let l = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let (_r, w) = corio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap().into_split();
    /// assert!(w.peer_addr().is_ok());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

impl futures_io::AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_read_priv(cx, buf)
    }
}

impl futures_io::AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown(Shutdown::Write))
    }
}
