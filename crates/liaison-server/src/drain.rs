//! Request bodies that are read to their end even when the handler refuses them
//! unread (over the size limit, unauthenticated, a bad content type).
//!
//! A server that closes a connection while the client is still sending leaves
//! unread bytes in its socket, and the kernel answers them with a reset: the client,
//! busy writing, then sees "connection reset" or "broken pipe" instead of the clear
//! error that was sent to it. So a body dropped before its end is handed to a task
//! that reads and discards the rest, up to [`DRAIN_MAX`] bytes within
//! [`DRAIN_FOR`], and only then lets the connection go (a 413 still says
//! `Connection: close`; any other answer keeps the connection if the body ended).
//! Past either limit the connection is dropped as before.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use futures::StreamExt;
use http_body::{Frame, SizeHint};

/// The most a refused body's remainder is read for: past it the connection is
/// dropped, reset and all.
pub const DRAIN_MAX: usize = 64 << 20;

/// The longest a refused body's remainder is read for.
pub const DRAIN_FOR: Duration = Duration::from_secs(10);

/// Middleware: wraps the body of every request that has one.
pub async fn bodies(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    let req = if req.body().is_end_stream() {
        req
    } else {
        req.map(|b| Body::new(Drained { inner: Some(b) }))
    };
    next.run(req).await
}

/// A body that, dropped before its end, is drained in the background.
struct Drained {
    /// `None` once the body ended (or failed): nothing is left to drain.
    inner: Option<Body>,
}

impl HttpBody for Drained {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let Some(body) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.inner = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Drained {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if body.is_end_stream() {
            return;
        }
        // Outside a runtime (a test dropping a request) there is no connection.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(drain(body));
        }
    }
}

/// Reads and discards what is left of `body`, within the limits.
async fn drain(body: Body) {
    let mut data = body.into_data_stream();
    let mut left = DRAIN_MAX;
    let read = async {
        while let Some(Ok(chunk)) = data.next().await {
            match left.checked_sub(chunk.len()) {
                Some(l) => left = l,
                None => return false,
            }
        }
        true
    };
    match tokio::time::timeout(DRAIN_FOR, read).await {
        Ok(true) => {}
        Ok(false) => tracing::debug!("a refused body is over the drain limit; dropping it"),
        Err(_) => tracing::debug!("a refused body took too long to drain; dropping it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_read_to_its_end_leaves_nothing_to_drain() {
        let mut b = Drained {
            inner: Some(Body::from("abc")),
        };
        let mut got = Vec::new();
        while let Some(f) = std::future::poll_fn(|cx| Pin::new(&mut b).poll_frame(cx)).await {
            if let Ok(d) = f.expect("a frame").into_data() {
                got.extend_from_slice(&d);
            }
        }
        assert_eq!(got, b"abc");
        assert!(b.inner.is_none() && b.is_end_stream());
        assert_eq!(b.size_hint().exact(), Some(0));
    }

    #[tokio::test]
    async fn a_body_dropped_early_is_read_to_its_end_in_the_background() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        drop(Drained {
            inner: Some(Body::from_stream(stream)),
        });
        // The channel holds one chunk: every send after the first waits for the
        // drain to read, so all of them going through shows it reads to the end.
        for _ in 0..16 {
            tx.send(Ok(Bytes::from_static(&[0; 1024])))
                .await
                .expect("the drain is reading");
        }
        drop(tx);
    }

    #[tokio::test]
    async fn a_drain_stops_at_its_limit() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        let task = tokio::spawn(drain(Body::from_stream(stream)));
        let chunk = Bytes::from(vec![0; 1 << 20]);
        let mut sent = 0;
        while tx.send(Ok(chunk.clone())).await.is_ok() {
            sent += chunk.len();
            assert!(
                sent <= DRAIN_MAX + 2 * chunk.len(),
                "still reading at {sent}"
            );
        }
        task.await.expect("the drain ends");
        assert!(sent >= DRAIN_MAX, "stopped early, at {sent}");
    }
}
