//! hyper 1.x on corio (cargo feature `hyper`): hyper's runtime traits, so
//! hyper's HTTP/1 server and client run on corio's workers.
//!
//! | hyper needs | corio gives |
//! |---|---|
//! | `rt::Read` + `rt::Write` over a connection | [`HyperIo`] around any `futures-io` stream (`TcpStream`, `UnixStream`, ...) |
//! | `rt::Executor` for background tasks | [`CorioExecutor`]: `corio::spawn` |
//! | `rt::Timer` for header-read timeouts and keep-alive | [`CorioTimer`]: `corio::sleep` |
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use corio::hyper::{CorioTimer, HyperIo};
//! use corio::net::{TcpListener, TcpStream};
//! use hyper::{body::Incoming, Request, Response};
//!
//! corio::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     corio::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
//!             Ok::<_, Infallible>(Response::new(String::from("Hello, World!")))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(CorioTimer)
//!             .serve_connection(HyperIo::new(stream), service)
//!             .await
//!             .unwrap();
//!     });
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(HyperIo::new(stream))
//!         .await
//!         .unwrap();
//!     corio::spawn(conn);
//!     let resp = sender.send_request(Request::new(String::new())).await.unwrap();
//!     assert_eq!(resp.status(), 200);
//! });
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

/// A `futures-io` stream as hyper's `rt::Read + rt::Write`.
///
/// ```
/// # corio::run(async {
/// let (a, _b) = corio::net::UnixStream::pair().unwrap();
/// let io = corio::hyper::HyperIo::new(a);
/// let _stream: &corio::net::UnixStream = io.get_ref();
/// # });
/// ```
#[derive(Debug)]
pub struct HyperIo<T> {
    stream: T,
    /// Where reads land before they are copied into hyper's buffer (which
    /// may be uninitialized, and `futures-io` reads need initialized
    /// memory); zeroed once, when first needed.
    scratch: Vec<u8>,
}

impl<T> HyperIo<T> {
    /// Wraps `stream`.
    ///
    /// ```
    /// # corio::run(async {
    /// # let (a, _b) = corio::net::UnixStream::pair().unwrap();
    /// let io = corio::hyper::HyperIo::new(a);
    /// # drop(io);
    /// # });
    /// ```
    pub fn new(stream: T) -> HyperIo<T> {
        HyperIo {
            stream,
            scratch: Vec::new(),
        }
    }

    /// The stream.
    ///
    /// ```
    /// # corio::run(async {
    /// # let (a, _b) = corio::net::UnixStream::pair().unwrap();
    /// let io = corio::hyper::HyperIo::new(a);
    /// assert!(io.get_ref().peer_addr().is_ok());
    /// # });
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.stream
    }

    /// The stream, unwrapped.
    ///
    /// ```
    /// # corio::run(async {
    /// # let (a, _b) = corio::net::UnixStream::pair().unwrap();
    /// let stream = corio::hyper::HyperIo::new(a).into_inner();
    /// # drop(stream);
    /// # });
    /// ```
    pub fn into_inner(self) -> T {
        self.stream
    }
}

/// The most bytes read per call (the size of the scratch buffer).
const READ_CHUNK: usize = 16 * 1024;

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.scratch.is_empty() {
            this.scratch = vec![0; READ_CHUNK];
        }
        let want = buf.remaining().min(READ_CHUNK);
        let n =
            std::task::ready!(Pin::new(&mut this.stream).poll_read(cx, &mut this.scratch[..want]))?;
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_close(cx)
    }
}

/// hyper's `rt::Executor`: spawns hyper's background futures (HTTP/2
/// streams, client connections) as corio tasks.
///
/// ```
/// use hyper::rt::Executor;
/// corio::run(async {
///     corio::hyper::CorioExecutor.execute(async {});
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CorioExecutor;

impl<F> hyper::rt::Executor<F> for CorioExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        drop(crate::spawn(fut));
    }
}

/// hyper's `rt::Timer`: corio sleeps (on the worker timer wheels).
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
/// corio::run(async {
///     corio::hyper::CorioTimer.sleep(Duration::from_millis(1)).await;
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CorioTimer;

/// A corio sleep as hyper's `rt::Sleep`; a cancellation of the task ends
/// it early (hyper then sees its timeout elapse).
struct HyperSleep(crate::Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for CorioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(crate::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(crate::sleep_until(deadline)))
    }
}
