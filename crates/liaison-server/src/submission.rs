//! The extractor for writes: authenticates the caller, reads the body, checks the
//! author's signature when the request carries one, and parses the JSON (or, for
//! Cursor-on-Target, hands over the XML bytes). Whether the operator had to sign, and
//! whether the signature is fresh, the writer decides.

use crate::app::App;
use crate::auth::{Caller, authenticate, connection_of};
use crate::error::HttpError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Uri};
use base64::Engine;
use liaison_api::ApiError;
use liaison_api::signing::{
    HEADER, NONCE_HEADER, PARTY_HEADER, SIGNED_HEADERS, SignedRequest, TIME_HEADER, check_nonce,
    parse_header,
};
use liaison_core::event::AuthorSignature;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// A write request: who, what, and the author's signature if the operator signs.
pub struct Submission<T> {
    pub caller: Caller,
    pub body: T,
    pub signature: Option<AuthorSignature>,
}

/// Checks a write's `Liaison-Signature` against the operator's active key, over the
/// canonical form of the request (`liaison/submission/v2`). No header: `None`, and the
/// writer refuses the write if the operator must sign. Freshness (the time window and
/// the nonce) is decided by the writer against the state it decides on.
pub fn check_signature(
    app: &App,
    caller: &Caller,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<AuthorSignature>, ApiError> {
    let header = |name: &str| -> Result<Option<&str>, ApiError> {
        match headers.get(name) {
            None => Ok(None),
            Some(v) => v.to_str().map(Some).map_err(|_| {
                ApiError::new("bad_signature", format!("the {name} header is not ASCII"))
            }),
        }
    };
    let Some(sig_header) = header(HEADER)? else {
        if headers.contains_key(PARTY_HEADER) {
            return Err(ApiError::new(
                "bad_party_signature",
                "a party's statement is carried by its operator's signed request: send Liaison-Signature too",
            ));
        }
        return Ok(None);
    };
    let (key, origin) = {
        let s = app.shared.state.read();
        let key = s
            .operator(&caller.name)
            .and_then(|o| o.active_key().cloned());
        (key, app.shared.ledger.read().origin().to_string())
    };
    let Some(key) = key else {
        return Err(ApiError::new(
            "bad_signature",
            format!(
                "operator {} has no registered key to check a signature against",
                caller.name
            ),
        ));
    };
    let (key_id, sig) = parse_header(sig_header).map_err(|m| ApiError::new("bad_signature", m))?;
    if key_id != key.key_id {
        return Err(ApiError::new(
            "bad_signature",
            format!(
                "key {key_id} is not the operator's active key ({})",
                key.key_id
            ),
        ));
    }
    let nonce = header(NONCE_HEADER)?
        .ok_or_else(|| ApiError::new("bad_signature", "a signed write carries Liaison-Nonce"))?;
    check_nonce(nonce).map_err(|m| ApiError::new("bad_signature", m))?;
    let time_text = header(TIME_HEADER)?
        .ok_or_else(|| ApiError::new("bad_signature", "a signed write carries Liaison-Time"))?;
    let time = liaison_api::time::parse(time_text)
        .map_err(|e| ApiError::new("bad_signature", format!("Liaison-Time: {e}")))?;
    let mut signed_headers: [String; 3] = Default::default();
    for (slot, name) in signed_headers.iter_mut().zip(SIGNED_HEADERS) {
        *slot = header(name)?.unwrap_or_default().to_string();
    }
    let digest = hex::encode(Sha256::digest(body));
    let signed = SignedRequest {
        origin,
        operator: caller.name.clone(),
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers: signed_headers,
        body_sha256: digest.clone(),
        nonce: nonce.to_string(),
        time: time_text.to_string(),
    }
    .canonical()
    .map_err(|m| ApiError::new("bad_signature", m))?;
    liaison_log::keys::verify_signature_b64(&key.public_key, signed.as_bytes(), &sig).map_err(
        |e| {
            ApiError::new(
                "bad_signature",
                format!("the signature does not verify: {e}"),
            )
        },
    )?;
    let party_signature = match header(PARTY_HEADER)? {
        None => None,
        Some(h) => Some(check_party_signature(app, caller, h, signed.as_bytes())?),
    };
    Ok(Some(AuthorSignature {
        key_id,
        signature: sig,
        body_sha256: digest,
        signed: Some(signed),
        nonce: Some(nonce.to_string()),
        time: Some(time),
        party_signature,
    }))
}

/// Checks a `Liaison-Party-Signature` over the signed text with the key the caller's
/// party pinned in the charter; returns its key id and signature.
fn check_party_signature(
    app: &App,
    caller: &Caller,
    header: &str,
    signed: &[u8],
) -> Result<(String, String), ApiError> {
    let bad = |m: String| ApiError::new("bad_party_signature", m);
    let pinned = app
        .shared
        .state
        .read()
        .charter()
        .and_then(|c| c.party(&caller.party))
        .and_then(|p| p.key.clone())
        .ok_or_else(|| {
            bad(format!(
                "party {} pinned no key in the charter",
                caller.party
            ))
        })?;
    let verifier = liaison_log::note::Verifier::from_vkey(&pinned)
        .map_err(|e| ApiError::internal(format!("party {}'s pinned key: {e}", caller.party)))?;
    let (key_id, sig) = parse_header(header).map_err(bad)?;
    if key_id != hex::encode(verifier.id) {
        return Err(bad(format!(
            "key {key_id} is not party {}'s key ({})",
            caller.party,
            hex::encode(verifier.id)
        )));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sig.trim())
        .map_err(|_| bad("the party signature is not base64".into()))?;
    let sig_bytes = ed25519_dalek::Signature::from_slice(&raw)
        .map_err(|_| bad("the party signature is not 64 bytes".into()))?;
    verifier
        .key
        .verify_strict(signed, &sig_bytes)
        .map_err(|_| {
            bad(format!(
                "the signature does not verify with party {}'s key",
                caller.party
            ))
        })?;
    Ok((key_id, sig))
}

/// What every write extractor reads before it looks at the body's format.
struct Received {
    caller: Caller,
    headers: HeaderMap,
    method: String,
    uri: Uri,
    bytes: Bytes,
}

async fn receive(req: Request, app: &App) -> Result<Received, HttpError> {
    let auth = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let caller =
        authenticate(app, auth.as_deref(), &connection_of(req.extensions())).map_err(HttpError)?;
    let headers = req.headers().clone();
    let method = req.method().as_str().to_string();
    let uri = req.uri().clone();
    let bytes = Bytes::from_request(req, app).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            HttpError(ApiError::new(
                "payload_too_large",
                "the body is larger than this endpoint accepts",
            ))
        } else {
            HttpError(ApiError::bad_request(e.body_text()))
        }
    })?;
    Ok(Received {
        caller,
        headers,
        method,
        uri,
        bytes,
    })
}

/// Receives a write whose media type `media_ok` accepts (given the `Content-Type`
/// and the body), then checks the author's signature over the exact bytes.
async fn signed(
    req: Request,
    app: &App,
    media_ok: impl FnOnce(Option<&str>, &[u8]) -> Result<(), HttpError>,
) -> Result<(Caller, Bytes, Option<AuthorSignature>), HttpError> {
    let Received {
        caller,
        headers,
        method,
        uri,
        bytes,
    } = receive(req, app).await?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    media_ok(content_type, &bytes)?;
    if !headers.contains_key(HEADER) {
        return Ok((caller, bytes, None));
    }
    // The operator's key and the log's origin are read under the state's and the
    // ledger's locks, which the writer holds while a batch commits: wait for them on a
    // blocking thread, never on one of the server's few worker threads (which would
    // stop them reading and queueing other requests until the batch is on disk).
    let (a, c, b) = (app.clone(), caller.clone(), bytes.clone());
    let signature =
        tokio::task::spawn_blocking(move || check_signature(&a, &c, &method, &uri, &headers, &b))
            .await
            .map_err(|e| HttpError(ApiError::internal(e.to_string())))?
            .map_err(HttpError)?;
    Ok((caller, bytes, signature))
}

/// A JSON write whose body is left as bytes, for a handler that parses it its own way
/// (after the same authentication, media-type and author-signature checks).
pub struct JsonSubmission {
    pub caller: Caller,
    pub body: Bytes,
    pub signature: Option<AuthorSignature>,
}

impl FromRequest<App> for JsonSubmission {
    type Rejection = HttpError;
    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let (caller, body, signature) = signed(req, app, |content_type, bytes| {
            let empty = bytes.iter().all(u8::is_ascii_whitespace);
            if empty || content_type.is_some_and(|c| c.starts_with("application/json")) {
                Ok(())
            } else {
                Err(HttpError(ApiError::new(
                    "unsupported_media_type",
                    "send the body as application/json",
                )))
            }
        })
        .await?;
        Ok(JsonSubmission {
            caller,
            body,
            signature,
        })
    }
}

/// Parses a JSON body (an empty one as `{}`): malformed JSON is a bad request, JSON
/// of the wrong shape an invalid one.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    let text: &[u8] = if empty { b"{}" } else { bytes };
    serde_json::from_slice(text).map_err(|e| {
        if e.is_data() {
            HttpError(ApiError::invalid(format!("body: {e}")))
        } else {
            HttpError(ApiError::bad_request(format!("body: {e}")))
        }
    })
}

impl<T: DeserializeOwned> FromRequest<App> for Submission<T> {
    type Rejection = HttpError;
    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let JsonSubmission {
            caller,
            body,
            signature,
        } = JsonSubmission::from_request(req, app).await?;
        Ok(Submission {
            caller,
            body: json_body(&body)?,
            signature,
        })
    }
}

/// A write whose body is XML (Cursor-on-Target): the exact bytes, after the same
/// authentication and author-signature check as every JSON write.
pub struct XmlSubmission {
    pub caller: Caller,
    pub body: Bytes,
    pub signature: Option<AuthorSignature>,
}

impl FromRequest<App> for XmlSubmission {
    type Rejection = HttpError;
    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let (caller, body, signature) = signed(req, app, |content_type, _| {
            let media = content_type
                .and_then(|c| c.split(';').next())
                .map(|c| c.trim().to_ascii_lowercase());
            if matches!(
                media.as_deref(),
                Some("application/xml" | "text/xml" | "application/cot+xml")
            ) {
                Ok(())
            } else {
                Err(HttpError(ApiError::new(
                    "unsupported_media_type",
                    "send the body as application/xml",
                )))
            }
        })
        .await?;
        Ok(XmlSubmission {
            caller,
            body,
            signature,
        })
    }
}

/// Base64 helper for key ids in messages.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
