//! Operators: list, add, disable, enable, rotate tokens.

use crate::app::{App, new_token, token_hash};
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::routes::{receipt_of, written};
use crate::submission::Submission;
use axum::Json;
use axum::extract::{Path, State};
use liaison_api::ApiError;
use liaison_api::charter_toml::operator_role;
use liaison_api::wire::{
    AddOperatorRequest, OperatorCredentials, OperatorIssued, OperatorView, SuspendRequest, Written,
};
use liaison_core::{Command, OperatorSpec};
use serde::de::IgnoredAny;

#[utoipa::path(get, path = "/api/v1/operators", tag = "operators", security(("bearer" = [])),
    responses((status = 200, description = "Operators of the caller's party (all, for the supervisor)", body = [OperatorView])))]
pub async fn list(State(app): State<App>, caller: Caller) -> Json<Vec<OperatorView>> {
    let state = app.shared.state.read();
    Json(
        state
            .operators
            .values()
            .filter(|o| caller.is_supervisor_party() || o.spec.party == caller.party)
            .map(OperatorView::from)
            .collect(),
    )
}

#[utoipa::path(post, path = "/api/v1/operators", tag = "operators", security(("bearer" = [])),
    request_body = AddOperatorRequest,
    responses((status = 200, description = "The operator and its token, shown once (empty when the request gave the token's hash)", body = OperatorIssued),
              (status = 403, description = "Not an admin of that party", body = liaison_api::ErrorBody),
              (status = 409, description = "Name taken", body = liaison_api::ErrorBody),
              (status = 422, description = "Invalid name, party or role", body = liaison_api::ErrorBody)))]
pub async fn add(
    State(app): State<App>,
    sub: Submission<AddOperatorRequest>,
) -> HttpResult<Json<OperatorIssued>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    let role = operator_role(&req.role).ok_or_else(|| {
        HttpError(ApiError::invalid(format!(
            "role: unknown role {:?}; use liaison, analyst, supervisor, observer or admin",
            req.role
        )))
    })?;
    // An admin that made the token itself sends only its hash: the host never sees it.
    let (token, hash) = match &req.token_hash {
        Some(h) => {
            if h.len() != 64
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(HttpError(ApiError::invalid(
                    "token_hash: give the token's SHA-256 as 64 lowercase hex digits",
                )));
            }
            (String::new(), h.clone())
        }
        None => {
            let token = new_token();
            let hash = token_hash(&token);
            (token, hash)
        }
    };
    let key = match &req.public_key {
        Some(k) => {
            let key_id = liaison_log::keys::check_public_key_b64(k)
                .map_err(|e| HttpError(ApiError::invalid(format!("public_key: {e}"))))?;
            Some((k.trim().to_string(), key_id))
        }
        None => None,
    };
    let spec = OperatorSpec {
        name: req.name.clone(),
        party: req.party.clone(),
        role,
    };
    let outcome = app
        .command_signed(
            caller.actor(),
            signature,
            Command::AddOperator {
                spec,
                token_hash: hash,
                key,
            },
        )
        .await?;
    Ok(Json(OperatorIssued {
        operator: OperatorCredentials {
            name: req.name,
            party: req.party,
            role: req.role,
            token,
            key: None,
        },
        receipt: receipt_of(&outcome)?,
    }))
}

#[utoipa::path(post, path = "/api/v1/operators/{name}/disable", tag = "operators", security(("bearer" = [])),
    params(("name" = String, Path, description = "Operator name")),
    responses((status = 200, description = "Disabled; its token stops working", body = Written),
              (status = 403, description = "Not an admin of that party", body = liaison_api::ErrorBody),
              (status = 404, description = "No such operator", body = liaison_api::ErrorBody)))]
pub async fn disable(
    State(app): State<App>,
    Path(name): Path<String>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    written(
        app.command_signed(caller.actor(), signature, Command::DisableOperator { name })
            .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/operators/{name}/enable", tag = "operators", security(("bearer" = [])),
    params(("name" = String, Path, description = "Operator name")),
    responses((status = 200, description = "Enabled again", body = Written),
              (status = 403, description = "Not an admin of that party", body = liaison_api::ErrorBody),
              (status = 404, description = "No such operator", body = liaison_api::ErrorBody)))]
pub async fn enable(
    State(app): State<App>,
    Path(name): Path<String>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    written(
        app.command_signed(caller.actor(), signature, Command::EnableOperator { name })
            .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/operators/{name}/suspend", tag = "operators", security(("bearer" = [])),
    params(("name" = String, Path, description = "Operator name")), request_body = SuspendRequest,
    responses((status = 200, description = "Suspended pending review; every party sees it and its reason", body = Written),
              (status = 403, description = "Not an admin or supervisor of the supervising party", body = liaison_api::ErrorBody),
              (status = 404, description = "No such operator", body = liaison_api::ErrorBody)))]
pub async fn suspend(
    State(app): State<App>,
    Path(name): Path<String>,
    sub: Submission<SuspendRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let cmd = Command::SuspendOperator {
        name,
        reason: body.reason,
    };
    written(app.command_signed(caller.actor(), signature, cmd).await?)
}

#[utoipa::path(post, path = "/api/v1/operators/{name}/reinstate", tag = "operators", security(("bearer" = [])),
    params(("name" = String, Path, description = "Operator name")),
    responses((status = 200, description = "The supervising party lifts its suspension", body = Written),
              (status = 403, description = "Not an admin or supervisor of the supervising party", body = liaison_api::ErrorBody),
              (status = 404, description = "No such operator", body = liaison_api::ErrorBody)))]
pub async fn reinstate(
    State(app): State<App>,
    Path(name): Path<String>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    written(
        app.command_signed(
            caller.actor(),
            signature,
            Command::ReinstateOperator { name },
        )
        .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/operators/{name}/rotate", tag = "operators", security(("bearer" = [])),
    params(("name" = String, Path, description = "Operator name")),
    responses((status = 200, description = "A new token, shown once; the old one stops working", body = OperatorIssued),
              (status = 403, description = "Neither the operator nor an admin of its party", body = liaison_api::ErrorBody),
              (status = 404, description = "No such operator", body = liaison_api::ErrorBody)))]
pub async fn rotate(
    State(app): State<App>,
    Path(name): Path<String>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<OperatorIssued>> {
    let Submission {
        caller, signature, ..
    } = sub;
    let token = new_token();
    let outcome = app
        .command_signed(
            caller.actor(),
            signature,
            Command::RotateToken {
                name: name.clone(),
                token_hash: token_hash(&token),
            },
        )
        .await?;
    let (party, role) = {
        let s = app.shared.state.read();
        let o = s
            .operator(&name)
            .ok_or_else(|| HttpError(ApiError::not_found(format!("operator {name:?}"))))?;
        (o.spec.party.clone(), o.spec.role.as_str().to_string())
    };
    Ok(Json(OperatorIssued {
        operator: OperatorCredentials {
            name,
            party,
            role,
            token,
            key: None,
        },
        receipt: receipt_of(&outcome)?,
    }))
}
