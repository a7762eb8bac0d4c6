//! UDP: `UdpSocket` on the worker reactors.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use corio_executor::io::{Direction, Interest, PollEvented};

use super::tcp::each_addr;

/// A UDP socket (asyncio's datagram endpoint, without the protocol
/// callbacks). Every send and receive is a cancellation point.
///
/// ```
/// use corio::net::UdpSocket;
/// corio::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to the first address of `addr` that works.
    ///
    /// # Errors
    ///
    /// The OS error of the last address tried.
    ///
    /// ```
    /// corio::run(async {
    ///     let s = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(s.local_addr().unwrap().port() > 0);
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let socket = each_addr(addr, mio::net::UdpSocket::bind)?;
        Ok(UdpSocket {
            io: PollEvented::new(socket, Interest::READABLE | Interest::WRITABLE)?,
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
    /// let s = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address it is connected to.
    ///
    /// # Errors
    ///
    /// `NotConnected` before [`connect`](UdpSocket::connect).
    ///
    /// ```
    /// # corio::run(async {
    /// let s = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(s.peer_addr().is_err());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets the default destination of [`send`](UdpSocket::send), and
    /// receives only from it.
    ///
    /// # Errors
    ///
    /// The OS error of `connect`.
    ///
    /// ```
    /// # corio::run(async {
    /// let a = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let b = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// a.connect(b.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// # });
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| self.io.get_ref().connect(a))
    }

    /// Sends one datagram to `target`; returns the bytes sent.
    ///
    /// # Errors
    ///
    /// The OS error of `sendto`, or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let a = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let n = a.send_to(b"x", a.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(n, 1);
    /// # });
    /// ```
    #[track_caller]
    pub fn send_to<'a>(
        &'a self,
        buf: &'a [u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        super::io_op(&self.io, Direction::Write, move |s| s.send_to(buf, target))
    }

    /// Receives one datagram; returns its length and sender.
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`, or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let a = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// a.send_to(b"me", a.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 4];
    /// let (n, from) = a.recv_from(&mut buf).await.unwrap();
    /// assert_eq!((n, from), (2, a.local_addr().unwrap()));
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
    /// `NotConnected` before [`connect`](UdpSocket::connect), another OS
    /// error of `send`, or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let a = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// a.connect(a.local_addr().unwrap()).await.unwrap();
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
    /// The OS error of `recv` (`ConnectionRefused` after a send to a port
    /// nobody listens on), or the task's cancellation.
    ///
    /// ```
    /// # corio::run(async {
    /// let a = corio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// a.connect(a.local_addr().unwrap()).await.unwrap();
    /// a.send(b"loop").await.unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(a.recv(&mut buf).await.unwrap(), 4);
    /// # });
    /// ```
    #[track_caller]
    pub fn recv<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        super::io_op(&self.io, Direction::Read, move |s| s.recv(buf))
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
