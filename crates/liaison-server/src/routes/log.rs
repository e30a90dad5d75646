//! The shared record over HTTP, in the C2SP tlog-tiles layout: the latest checkpoint with
//! every party witness's cosignature, hash tiles and entry bundles; cosignatures posted by
//! witnesses; receipts for past events.
//!
//! Hash tiles are public to every operator, so every party checks the whole tree. An
//! entry's bytes (its kind, author, time, audience and payload hash) go only to those
//! who may read its event: in an entry bundle, an entry its reader may not read is
//! replaced by its leaf hash (`tiles::withheld_item`), and receipts are given only for
//! events the caller may read. A bundle whose every entry its reader may read is the
//! C2SP tlog-tiles bundle.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use liaison_api::ApiError;
use liaison_api::wire::{CosignatureAccepted, CosignatureRequest, Receipt};
use liaison_core::can_see;
use liaison_log::merkle::leaf_hash;
use liaison_log::tiles::{TilePath, entry_bundle, withheld_item};

fn text(body: impl Into<String>) -> Response {
    let mut r = body.into().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Who may keep a full tile: any cache for a hash tile, only the reader's own for an
/// entry bundle, whose content depends on who reads it.
#[derive(Clone, Copy)]
enum Keep {
    Public,
    Private,
}

fn bytes(body: Vec<u8>, immutable: Option<Keep>) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(keep) = immutable {
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(match keep {
                Keep::Public => "public, max-age=31536000, immutable",
                Keep::Private => "private, max-age=31536000, immutable",
            }),
        );
    }
    r
}

/// The latest checkpoint note with every cosignature gathered for it.
pub fn checkpoint_with_cosignatures(app: &App) -> Result<String, ApiError> {
    let (note, size) = {
        let l = app.shared.ledger.read();
        (l.latest_note().map(str::to_string), l.size())
    };
    let note = note.ok_or_else(|| ApiError::not_found("the log has no checkpoint yet"))?;
    let cosigs = app
        .shared
        .store
        .cosignatures(size)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut out = note;
    for (_, line) in cosigs {
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

#[utoipa::path(get, path = "/log/checkpoint", tag = "record", security(("bearer" = [])),
    responses((status = 200, description = "text/plain: the signed checkpoint note (C2SP tlog-checkpoint) with the party witnesses' cosignature lines")))]
pub async fn checkpoint(State(app): State<App>, _caller: Caller) -> HttpResult<Response> {
    Ok(text(checkpoint_with_cosignatures(&app)?))
}

#[utoipa::path(get, path = "/log/tile/{path}", tag = "record", security(("bearer" = [])),
    params(("path" = String, Path, description = "`<L>/<N>[.p/<W>]` for hash tiles, `entries/<N>[.p/<W>]` for entry bundles")),
    responses((status = 200, description = "application/octet-stream: the tile; in an entry bundle, an entry the caller may not read is `LSNH` and its 32-byte leaf hash"),
              (status = 400, description = "Malformed tile path", body = liaison_api::ErrorBody),
              (status = 404, description = "Beyond the end of the log", body = liaison_api::ErrorBody)))]
pub async fn tile(
    State(app): State<App>,
    caller: Caller,
    Path(path): Path<String>,
) -> HttpResult<Response> {
    let tp = TilePath::parse(&format!("tile/{path}"))
        .map_err(|e| HttpError(ApiError::bad_request(format!("tile path: {e}"))))?;
    let ledger = app.shared.ledger.read();
    let size = ledger.size();
    match tp {
        TilePath::Hashes {
            level,
            index,
            width,
        } => {
            let data = liaison_log::tiles::tile_bytes(ledger.tree(), level, index, width)
                .map_err(|e| HttpError(ApiError::not_found(format!("tile {path}: {e}"))))?;
            Ok(bytes(data, width.is_none().then_some(Keep::Public)))
        }
        TilePath::Entries { index, width } => {
            let start = index.saturating_mul(256);
            let count = u64::from(width.unwrap_or(256));
            if start.saturating_add(count) > size {
                return Err(HttpError(ApiError::not_found(format!(
                    "entry bundle {path} is beyond the log's {size} entries"
                ))));
            }
            drop(ledger);
            let rows = app
                .shared
                .store
                .read_events(start, count as usize)
                .map_err(|e| HttpError(ApiError::internal(e.to_string())))?;
            if rows.len() as u64 != count {
                return Err(HttpError(ApiError::internal(
                    "the store returned fewer entries than the log holds",
                )));
            }
            // An entry the caller may not read is given as its leaf hash alone.
            let withheld: Vec<Option<Vec<u8>>> = {
                let viewer = caller.viewer();
                let s = app.shared.state.read();
                rows.iter()
                    .map(|r| {
                        let readable = s
                            .events
                            .get(r.seq as usize)
                            .is_some_and(|e| can_see(&viewer, e));
                        (!readable).then(|| withheld_item(&leaf_hash(&r.entry)))
                    })
                    .collect()
            };
            let entries: Vec<&[u8]> = rows
                .iter()
                .zip(&withheld)
                .map(|(r, w)| w.as_deref().unwrap_or(&r.entry))
                .collect();
            let data =
                entry_bundle(&entries).map_err(|e| HttpError(ApiError::internal(e.to_string())))?;
            Ok(bytes(data, width.is_none().then_some(Keep::Private)))
        }
    }
}

#[utoipa::path(post, path = "/log/cosignature", tag = "record", security(("bearer" = [])),
    request_body = CosignatureRequest,
    responses((status = 200, description = "Accepted and served with the checkpoint", body = CosignatureAccepted),
              (status = 403, description = "Not the witness of the caller's party", body = liaison_api::ErrorBody),
              (status = 409, description = "Not the current checkpoint", body = liaison_api::ErrorBody),
              (status = 422, description = "The cosignature does not verify with the party's witness key", body = liaison_api::ErrorBody)))]
pub async fn cosign(
    State(app): State<App>,
    caller: Caller,
    ApiJson(req): ApiJson<CosignatureRequest>,
) -> HttpResult<Json<CosignatureAccepted>> {
    crate::witnessing::accept(&app, &caller, req)
        .map(Json)
        .map_err(HttpError)
}

/// `?final=1`: the receipt against the latest final checkpoint.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct ReceiptQuery {
    /// `1` (or `true`): against the latest checkpoint cosigned by the witness of every
    /// member party and of the supervising party, with their cosignatures.
    #[serde(default)]
    pub r#final: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/receipts/{seq}", tag = "record", security(("bearer" = [])),
    params(("seq" = u64, Path, description = "Sequence number (log index) of an event the caller may read"), ReceiptQuery),
    responses((status = 200, description = "A fresh receipt against the latest checkpoint, or with `final=1` against the latest final one (its note carries the finalizers' cosignatures)", body = Receipt),
              (status = 400, description = "`final` is neither 1, true, 0 nor false", body = liaison_api::ErrorBody),
              (status = 404, description = "Unknown or not visible", body = liaison_api::ErrorBody),
              (status = 409, description = "`not_final`: no final checkpoint covers the event yet", body = liaison_api::ErrorBody)))]
pub async fn receipt(
    State(app): State<App>,
    caller: Caller,
    Path(seq): Path<u64>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<ReceiptQuery>,
) -> HttpResult<Json<Receipt>> {
    let want_final = match q.r#final.as_deref() {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(other) => {
            return Err(HttpError(ApiError::bad_request(format!(
                "final={other:?}: use final=1"
            ))));
        }
    };
    let visible = {
        let s = app.shared.state.read();
        s.events
            .get(seq as usize)
            .is_some_and(|e| can_see(&caller.viewer(), e))
    };
    if !visible {
        return Err(HttpError(ApiError::not_found(format!("event {seq}"))));
    }
    let rows = app
        .shared
        .store
        .read_events(seq, 1)
        .map_err(|e| HttpError(ApiError::internal(e.to_string())))?;
    let row = rows
        .first()
        .ok_or_else(|| HttpError(ApiError::not_found(format!("event {seq}"))))?;
    if want_final {
        let (size, note) = crate::witnessing::final_checkpoint(&app, seq).map_err(HttpError)?;
        let ledger = app.shared.ledger.read();
        return ledger
            .receipt_at(seq, &row.entry, size, note)
            .map(Json)
            .map_err(|e| HttpError(ApiError::internal(e)));
    }
    let ledger = app.shared.ledger.read();
    ledger
        .receipt(seq, &row.entry)
        .map(Json)
        .map_err(|e| HttpError(ApiError::internal(e)))
}
