//! Stopping without dropping a request. axum's graceful shutdown closes the listening socket at
//! once, which resets connections the kernel had already accepted into its queue, and closes
//! connections whose request had not been read yet: behind nginx, a POST sent in that moment
//! came back 502 (seen in the rolling-restart test). Here, on shutdown the listener first takes
//! every connection already queued, then closes (new connections are refused, so a proxy tries
//! the next node), every answer from then on says `Connection: close`, and the server stops once
//! the last connection has ended (or after a bound).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the listener and the connections share.
#[derive(Debug, Default)]
pub struct Drain {
    draining: AtomicBool,
    closed: AtomicBool,
    open: AtomicUsize,
}

impl Drain {
    /// Whether shutdown has begun (answers then carry `Connection: close`).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Resolves when the listener is closed and no connection is left, or after `bound`.
    pub async fn finished(&self, bound: Duration) {
        let started = Instant::now();
        while !(self.closed.load(Ordering::Acquire) && self.open.load(Ordering::Acquire) == 0) {
            if started.elapsed() > bound {
                tracing::warn!(
                    open = self.open.load(Ordering::Acquire),
                    "connections still open at the shutdown bound"
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A TCP listener for `axum::serve` that drains its queue when `stop` turns true.
pub struct DrainingListener {
    listener: Option<TcpListener>,
    queued: Vec<(std::net::TcpStream, SocketAddr)>,
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
    drain: Arc<Drain>,
}

impl DrainingListener {
    pub fn new(listener: TcpListener, stop: watch::Receiver<bool>, drain: Arc<Drain>) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        Ok(Self { listener: Some(listener), queued: Vec::new(), addr, stop, drain })
    }

    /// Takes every connection the kernel has queued (plain non-blocking `accept` calls, which do
    /// not depend on the reactor having seen them yet), then closes the socket.
    fn close(&mut self) {
        self.drain.draining.store(true, Ordering::Release);
        if let Some(listener) = self.listener.take() {
            match listener.into_std() {
                Ok(std_listener) => {
                    while let Ok(conn) = std_listener.accept() {
                        self.queued.push(conn);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not drain the listening socket"),
            }
        }
        self.queued.reverse();
        self.drain.closed.store(true, Ordering::Release);
    }

    fn counted(&self, stream: TcpStream) -> Counted {
        self.drain.open.fetch_add(1, Ordering::AcqRel);
        Counted { stream, drain: self.drain.clone() }
    }
}

impl axum::serve::Listener for DrainingListener {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some((stream, addr)) = self.queued.pop() {
                let stream = stream.set_nonblocking(true).and_then(|()| TcpStream::from_std(stream));
                match stream {
                    Ok(stream) => return (self.counted(stream), addr),
                    Err(e) => {
                        tracing::warn!(error = %e, "a queued connection could not be served");
                        continue;
                    }
                }
            }
            let Some(listener) = &self.listener else {
                // Closed and drained: nothing more will come.
                std::future::pending::<()>().await;
                continue;
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => Some(accepted),
                _ = self.stop.wait_for(|s| *s) => None,
            };
            match accepted {
                Some(Ok((stream, addr))) => return (self.counted(stream), addr),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                None => self.close(),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// The peer address of a connection from [`DrainingListener`]; `startup` copies it into the
/// `ConnectInfo<SocketAddr>` the handlers read.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, DrainingListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, DrainingListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// A connection counted while it is open.
pub struct Counted {
    stream: TcpStream,
    drain: Arc<Drain>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drain.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    // Without these two, hyper copies each response's head and body into one buffer first.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
