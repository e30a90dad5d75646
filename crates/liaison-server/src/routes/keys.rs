//! Operators' signing keys and parties' witness keys, and the state of witnessing.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::routes::written;
use crate::submission::Submission;
use axum::Json;
use axum::extract::{Path, State};
use liaison_api::ApiError;
use liaison_api::wire::{KeyRequest, LogStatus, WitnessRequest, WitnessView, Written};
use liaison_core::Command;
use serde::de::IgnoredAny;

#[utoipa::path(post, path = "/api/v1/keys", tag = "record", security(("bearer" = [])), request_body = KeyRequest,
    responses((status = 200, description = "Registered; from now on the operator's submissions must be signed with it", body = Written),
              (status = 422, description = "Not an Ed25519 public key, or a weak one", body = liaison_api::ErrorBody)))]
pub async fn register(
    State(app): State<App>,
    sub: Submission<KeyRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let key_id = liaison_log::keys::check_public_key_b64(&body.public_key)
        .map_err(|e| HttpError(ApiError::invalid(format!("public_key: {e}"))))?;
    let cmd = Command::RegisterKey {
        public_key: body.public_key,
        key_id,
    };
    written(app.register_key(caller.actor(), signature, cmd).await?)
}

#[utoipa::path(post, path = "/api/v1/keys/{key_id}/revoke", tag = "record", security(("bearer" = [])),
    params(("key_id" = String, Path, description = "Key id (8 hex digits)")),
    responses((status = 200, description = "Revoked; signatures by it no longer count from this index", body = Written)))]
pub async fn revoke(
    State(app): State<App>,
    Path(key_id): Path<String>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    written(
        app.command_signed(caller.actor(), signature, Command::RevokeKey { key_id })
            .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/witnesses", tag = "record", security(("bearer" = [])), request_body = WitnessRequest,
    responses((status = 200, description = "The caller's party's witness key is registered in the record", body = Written),
              (status = 422, description = "Not a tlog-cosignature verifier key (`invalid_input`), or the charter pins the party's witness key (`witness_pinned`)", body = liaison_api::ErrorBody)))]
pub async fn register_witness(
    State(app): State<App>,
    sub: Submission<WitnessRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    liaison_api::charter_toml::check_vkey(&body.vkey, liaison_api::charter_toml::KeyKind::Witness)
        .map_err(|e| HttpError(ApiError::invalid(format!("vkey: {e}"))))?;
    written(
        app.command_signed(
            caller.actor(),
            signature,
            Command::RegisterWitness { vkey: body.vkey },
        )
        .await?,
    )
}

#[utoipa::path(get, path = "/api/v1/witnesses", tag = "record", security(("bearer" = [])),
    responses((status = 200, description = "Every party's witness key", body = [WitnessView])))]
pub async fn witnesses(State(app): State<App>, _caller: Caller) -> Json<Vec<WitnessView>> {
    let s = app.shared.state.read();
    Json(
        s.witnesses
            .iter()
            .map(|(p, v)| WitnessView {
                party: p.clone(),
                vkey: v.clone(),
            })
            .collect(),
    )
}

#[utoipa::path(get, path = "/api/v1/log/status", tag = "record", security(("bearer" = [])),
    responses((status = 200, description = "Log size, the largest final size and each witness's latest cosigned size", body = LogStatus)))]
pub async fn status(State(app): State<App>, _caller: Caller) -> HttpResult<Json<LogStatus>> {
    crate::witnessing::status(&app).map(Json).map_err(HttpError)
}
