//! Idempotent writes: a `POST` sent with an `Idempotency-Key` header and retried with
//! the same key within [`WINDOW`] gets the first answer back (the same receipt) and
//! records nothing new.
//!
//! A key belongs to the operator that sent it: two operators' keys never meet. The
//! key is claimed in the same transaction as the events its request records (the
//! writer puts it in the batch), so a retry after a crash still finds its first request
//! recorded; the answer is kept once the handler has made it. A retry whose request
//! differs from the first (method, path, query, content type, the headers that change
//! what is recorded, the body) is refused (`idempotency_key_reused`); one that arrives
//! while the first is still being decided waits for nothing and is told so
//! (`idempotency_in_flight`). If the server stopped between recording a request and
//! keeping its answer, the retry is told which events the first recorded
//! (`idempotency_answer_lost`), and records nothing.
//!
//! The claim travels from this middleware to the writer in a task-local
//! ([`current`]): every handler runs inside the middleware's task, so a handler's
//! writes carry it without each handler passing it on, and writes the server makes on
//! its own (deliveries pushed on a stream, the clock's escalations) never do.

use crate::app::App;
use crate::auth::authenticate;
use crate::error::HttpError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use liaison_api::ApiError;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

/// The request header that carries the key.
pub const HEADER: &str = "idempotency-key";
/// The answer header that marks a repeated first answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a key is remembered.
pub const WINDOW: liaison_core::Duration = liaison_core::Duration::from_hours(24);
/// The longest key accepted.
pub const MAX_KEY: usize = 255;
/// The largest answer kept; a larger one is not repeated (the retry is told what the
/// first request recorded instead).
pub const MAX_ANSWER: usize = 1 << 20;

tokio::task_local! {
    static CLAIM: Arc<Claim>;
}

/// The claim of the request being handled on this task, if it carries a key.
pub fn current() -> Option<Arc<Claim>> {
    CLAIM.try_with(Arc::clone).ok()
}

/// Keys whose first request is being handled or decided, by (operator, key).
#[derive(Default)]
pub struct InFlight(parking_lot::Mutex<HashSet<(String, String)>>);

/// A key claimed by one request: while it lives, no other request with the same key is
/// handled (the writer holds it until the request is decided, even if its client left).
pub struct Claim {
    app: App,
    pub scope: String,
    pub key: String,
    /// The request's fingerprint, known once its body has been read to the end.
    fingerprint: OnceLock<[u8; 32]>,
    /// The events the request recorded, set by the writer after the commit.
    recorded: OnceLock<Vec<u64>>,
}

impl Claim {
    pub fn fingerprint(&self) -> Option<[u8; 32]> {
        self.fingerprint.get().copied()
    }

    /// Called by the writer once the request's events are committed.
    pub fn recorded(&self, seqs: Vec<u64>) {
        let _ = self.recorded.set(seqs);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.app.shared.idempotency.0.lock().remove(&(
            std::mem::take(&mut self.scope),
            std::mem::take(&mut self.key),
        ));
    }
}

/// How a claim's recorded events are kept in the store: the sequence numbers, as text.
pub fn encode_recorded(seqs: &[u64]) -> Vec<u8> {
    seqs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
        .into_bytes()
}

fn decode_recorded(bytes: &[u8]) -> Vec<u64> {
    std::str::from_utf8(bytes)
        .unwrap_or("")
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// An answer as kept: status (2 bytes), content type (2-byte length, then bytes), body.
fn encode_answer(status: StatusCode, content_type: Option<&HeaderValue>, body: &[u8]) -> Vec<u8> {
    let ct = content_type.map(HeaderValue::as_bytes).unwrap_or(b"");
    let mut out = Vec::with_capacity(4 + ct.len() + body.len());
    out.extend_from_slice(&status.as_u16().to_be_bytes());
    out.extend_from_slice(&(ct.len() as u16).to_be_bytes());
    out.extend_from_slice(ct);
    out.extend_from_slice(body);
    out
}

fn decode_answer(bytes: &[u8]) -> Option<Response> {
    let status =
        StatusCode::from_u16(u16::from_be_bytes(bytes.get(0..2)?.try_into().ok()?)).ok()?;
    let n = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize;
    let ct = bytes.get(4..4 + n)?;
    let body = bytes.get(4 + n..)?.to_vec();
    let mut r = (status, body).into_response();
    if !ct.is_empty() {
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_bytes(ct).ok()?);
    }
    r.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    Some(r)
}

/// The key as sent, if it is one: 1 to [`MAX_KEY`] visible ASCII characters.
fn parse_key(v: &HeaderValue) -> Result<String, ApiError> {
    let s = v.to_str().unwrap_or("");
    if s.is_empty() || s.len() > MAX_KEY || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            "bad_idempotency_key",
            format!("an Idempotency-Key is 1 to {MAX_KEY} visible ASCII characters"),
        ));
    }
    Ok(s.to_string())
}

/// What identifies a request apart from its body: method, path, query, content type and
/// the headers that change what is recorded. A retry may be signed afresh (a new nonce
/// and time), so the signature headers are not part of it.
fn head_hasher(method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> Sha256 {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    };
    field(method.as_str().as_bytes());
    field(uri.path().as_bytes());
    field(uri.query().unwrap_or("").as_bytes());
    let value = |name: &str| headers.get(name).map(HeaderValue::as_bytes).unwrap_or(b"");
    field(value(header::CONTENT_TYPE.as_str()));
    for name in liaison_api::signing::SIGNED_HEADERS {
        field(value(name));
    }
    h
}

/// Middleware over every route: handles a `POST` that carries an `Idempotency-Key`.
pub async fn layer(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match parse_key(raw) {
        Ok(k) => k,
        Err(e) => return HttpError(e).into_response(),
    };
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // An unauthenticated request is the handler's to refuse, as without a key.
    let connection = crate::auth::connection_of(req.extensions());
    let Ok(caller) = authenticate(&app, auth, &connection) else {
        return next.run(req).await;
    };
    let scope = caller.name;
    if !app
        .shared
        .idempotency
        .0
        .lock()
        .insert((scope.clone(), key.clone()))
    {
        return HttpError(ApiError::new(
            "idempotency_in_flight",
            "a request with this Idempotency-Key is still being handled; retry once it is answered",
        ))
        .into_response();
    }
    let claim = Arc::new(Claim {
        app: app.clone(),
        scope: scope.clone(),
        key: key.clone(),
        fingerprint: OnceLock::new(),
        recorded: OnceLock::new(),
    });
    let hasher = head_hasher(req.method(), req.uri(), req.headers());
    let store = app.shared.store.clone();
    let (s, k) = (scope.clone(), key.clone());
    let stored = match tokio::task::spawn_blocking(move || store.idempotent(&s, &k)).await {
        Ok(Ok(stored)) => stored,
        Ok(Err(e)) => return HttpError(ApiError::internal(e.to_string())).into_response(),
        Err(e) => return HttpError(ApiError::internal(e.to_string())).into_response(),
    };
    let oldest = app.shared.clock.now().micros() - WINDOW.micros();
    if let Some(first) = stored.filter(|s| s.claim.created_micros >= oldest) {
        // A retry: its request must be the first one, byte for byte.
        let body = match axum::body::to_bytes(req.into_body(), crate::drain::DRAIN_MAX).await {
            Ok(b) => b,
            Err(e) => return HttpError(ApiError::bad_request(e.to_string())).into_response(),
        };
        let mut h = hasher;
        h.update(&body);
        let fingerprint: [u8; 32] = h.finalize().into();
        if first.claim.request != fingerprint {
            return HttpError(ApiError::new(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; nothing was recorded",
            ))
            .into_response();
        }
        drop(claim);
        return match first.answer.as_deref().and_then(decode_answer) {
            Some(r) => r,
            None => {
                let seqs = decode_recorded(&first.claim.recorded);
                HttpError(ApiError::new(
                    "idempotency_answer_lost",
                    format!(
                        "the first request with this Idempotency-Key recorded event(s) {} but its answer was not kept; GET /api/v1/receipts/{} gives a receipt; nothing new was recorded",
                        seqs.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
                        seqs.last().copied().unwrap_or_default()
                    ),
                ))
                .into_response()
            }
        };
    }
    let req = if req.body().is_end_stream() {
        let _ = claim.fingerprint.set(hasher.finalize().into());
        req
    } else {
        let c = claim.clone();
        req.map(|b| {
            Body::new(Fingerprinted {
                inner: b,
                hasher: Some(hasher),
                claim: c,
            })
        })
    };
    let resp = CLAIM.scope(claim.clone(), next.run(req)).await;
    if claim.recorded.get().is_none() {
        return resp;
    }
    // The request recorded something: keep its answer for the retries.
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return HttpError(ApiError::internal(e.to_string())).into_response(),
    };
    if bytes.len() <= MAX_ANSWER {
        let answer = encode_answer(
            parts.status,
            parts.headers.get(header::CONTENT_TYPE),
            &bytes,
        );
        let store = app.shared.store.clone();
        let kept =
            tokio::task::spawn_blocking(move || store.keep_answer(&scope, &key, &answer)).await;
        if !matches!(kept, Ok(Ok(_))) {
            tracing::warn!("the answer to an idempotent request could not be kept");
        }
    }
    drop(claim);
    Response::from_parts(parts, Body::from(bytes))
}

/// A request body that hashes itself into its claim's fingerprint as it is read.
struct Fingerprinted {
    inner: Body,
    hasher: Option<Sha256>,
    claim: Arc<Claim>,
}

impl HttpBody for Fingerprinted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(h), Some(data)) = (this.hasher.as_mut(), frame.data_ref()) {
                    h.update(data);
                }
            }
            Poll::Ready(None) => {
                if let Some(h) = this.hasher.take() {
                    let _ = this.claim.fingerprint.set(h.finalize().into());
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Forgets keys older than [`WINDOW`]; the clock task calls it now and then.
pub fn forget_expired(app: &App) {
    let before = app.shared.clock.now().micros() - WINDOW.micros();
    if let Err(e) = app.shared.store.forget_claims_before(before) {
        tracing::warn!(error = %e, "expired idempotency keys could not be forgotten");
    }
}
