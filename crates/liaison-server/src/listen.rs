//! The accept loop: TLS (when configured) and the limits a connection meets before any
//! handler, and so before any credential is looked at: a cap on open connections, a
//! TLS handshake timeout, a header-read timeout, an idle timeout and a body timeout.
//!
//! HTTP/1.1 only, through hyper, so that every one of these limits applies.

use crate::App;
use axum::body::Body;
use hyper_util::rt::{TokioIo, TokioTimer};
use liaison_core::charter::Connection;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The limits of every connection.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most connections open at once; the next waits in the listen backlog.
    pub max_connections: usize,
    /// A TLS handshake not done within this is dropped.
    pub handshake: Duration,
    /// A request head not read within this is dropped. hyper starts the clock whenever
    /// the connection waits for a head, so it also ends a keep-alive connection that
    /// sends no new request within this.
    pub header_read: Duration,
    /// A connection on which nothing moves, in or out, for this long while the server
    /// waits on it is closed (a stalled upload, a client that stops reading).
    pub idle: Duration,
    /// A request body not read to its end within this is refused.
    pub body: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            body: Duration::from_secs(120),
        }
    }
}

/// Serves `app` on `listener`, over TLS when `tls` is given, until `shutdown`
/// resolves; then stops accepting, ends streams and lets open requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let closing = app.shared.closing.clone();
    let app_charter = app.shared.state.read().charter().cloned();
    crate::deadlines::spawn(app.clone());
    let body_limit = limits.body;
    let router = crate::router(app).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let (parts, body) = req.into_parts();
            let body = Body::new(DeadlineBody::new(body, body_limit));
            next.run(axum::extract::Request::from_parts(parts, body))
                .await
        },
    ));
    // Which party's CA issued a client certificate: the charter is fixed at creation.
    let client_cas = Arc::new(
        crate::tls::ClientCas::from_charter(app_charter.as_ref()).map_err(io::Error::other)?,
    );
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Small writes (an SSE frame, a receipt) go out at once: with Nagle's algorithm
        // a frame that follows another waits for the client's delayed ACK, up to 40 ms.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY on a connection");
        }
        // Each request knows the address it came from, for the access log, and what its
        // connection shows of the client (TLS, and whose client certificate), for
        // authentication.
        let conn_router = router.clone();
        let router_for = move |connection: Connection| {
            hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
                conn_router,
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(crate::metrics::Peer(peer));
                    req.extensions_mut().insert(connection.clone());
                    req
                },
            ))
        };
        let watcher = graceful.watcher();
        let http = http.clone();
        let acceptor = acceptor.clone();
        let client_cas = client_cas.clone();
        let (handshake, idle) = (limits.handshake, limits.idle);
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                Some(acceptor) => {
                    let stream = match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let connection = client_cas.connection(stream.get_ref().1.peer_certificates());
                    let svc = router_for(connection);
                    let io = TokioIo::new(IdleIo::new(stream, idle));
                    let _ = watcher.watch(http.serve_connection(io, svc)).await;
                }
                None => {
                    let svc = router_for(Connection::Plain);
                    let io = TokioIo::new(IdleIo::new(tcp, idle));
                    let _ = watcher.watch(http.serve_connection(io, svc)).await;
                }
            }
        });
    }
    drop(listener);
    closing.send_replace(true);
    graceful.shutdown().await;
    Ok(())
}

/// A connection that fails with `TimedOut` once nothing has been read or written for
/// `idle` while it is waited on.
struct IdleIo<T> {
    inner: T,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<T> IdleIo<T> {
    fn new(inner: T, idle: Duration) -> Self {
        IdleIo {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn moved(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle")
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.moved();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.moved();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.moved();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A request body that fails once `limit` has passed since the request arrived, so a
/// client that trickles a body cannot hold a handler (and a write slot) for long.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Body, limit: Duration) -> Self {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request body took too long",
                )))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
