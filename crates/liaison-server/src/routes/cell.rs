//! The cell: its charter, status and the supervisor's approve / suspend / resume.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::routes::written;
use crate::submission::Submission;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liaison_api::ApiError;
use liaison_api::wire::{CellView, Health, LogInfo, Me, OperatorView, SuspendRequest, Written};
use liaison_core::Command;
use serde::de::IgnoredAny;

#[utoipa::path(get, path = "/healthz", tag = "server",
    responses((status = 200, description = "The server is alive and its writer well (`ok`), or alive with writes refused while reads go on: until space is freed on its disk (`storage_full`), or until its replica takes writes again (`replica_unavailable`); no figure of the record", body = Health),
              (status = 503, description = "The store failed: writes are refused until a restart (`store_failed`)", body = Health)))]
pub async fn healthz(State(app): State<App>) -> (StatusCode, Json<Health>) {
    if app.shared.is_failed() {
        return health(StatusCode::SERVICE_UNAVAILABLE, "store_failed");
    }
    if let Some(paused) = app.shared.writes_paused() {
        return health(StatusCode::OK, paused);
    }
    health(StatusCode::OK, "ok")
}

#[utoipa::path(get, path = "/readyz", tag = "server",
    responses((status = 200, description = "Ready for traffic: the record was replayed (the server serves only after), the writer is well, the store answers and no witness is more entries behind than `--max-witness-lag` (`ready`); or the store answers reads but writes are refused until space is freed on its disk (`storage_full`) or until its replica takes writes again (`replica_unavailable`)", body = Health),
              (status = 503, description = "Not ready: `store_failed`, `store_unreachable` or `witness_lagging`, with the failed check in `detail`", body = Health)))]
pub async fn readyz(State(app): State<App>) -> (StatusCode, Json<Health>) {
    let paused = app.shared.writes_paused();
    match tokio::task::spawn_blocking(move || readiness(&app)).await {
        Ok(Ok(())) => health(StatusCode::OK, paused.unwrap_or("ready")),
        Ok(Err((status, detail))) => not_ready(status, detail),
        Err(e) => not_ready(
            "store_unreachable",
            format!("the store check did not finish: {e}"),
        ),
    }
}

/// The readiness checks in order; the first that fails names itself.
fn readiness(app: &App) -> Result<(), (&'static str, String)> {
    if app.shared.is_failed() {
        return Err((
            "store_failed",
            "the store failed: writes are refused until a restart".into(),
        ));
    }
    app.shared.store.len().map_err(|e| {
        (
            "store_unreachable",
            format!("the store does not answer: {e}"),
        )
    })?;
    let limit = app
        .shared
        .max_witness_lag
        .load(std::sync::atomic::Ordering::Relaxed);
    if limit == 0 {
        return Ok(());
    }
    let lags = crate::witnessing::lags(app).map_err(|e| {
        (
            "store_unreachable",
            format!("the witnesses' cosignatures cannot be read: {}", e.message),
        )
    })?;
    // The answer needs no credentials, so it names the parties but no figure of the
    // record (the lag itself is in the metrics).
    let behind: Vec<&str> = lags
        .iter()
        .filter(|(_, lag)| *lag > limit)
        .map(|(party, _)| party.as_str())
        .collect();
    if behind.is_empty() {
        return Ok(());
    }
    Err((
        "witness_lagging",
        format!(
            "the witness of {} is more than {limit} entries behind the log (--max-witness-lag)",
            behind.join(", ")
        ),
    ))
}

fn health(code: StatusCode, status: &str) -> (StatusCode, Json<Health>) {
    (
        code,
        Json(Health {
            status: status.into(),
            detail: None,
        }),
    )
}

fn not_ready(status: &str, detail: String) -> (StatusCode, Json<Health>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Health {
            status: status.into(),
            detail: Some(detail),
        }),
    )
}

#[utoipa::path(get, path = "/metrics", tag = "server", security(("bearer" = [])),
    responses((status = 200, description = "The server's metrics in the Prometheus text exposition format 0.0.4 (every family `liaison_*`, listed in docs/operations.md)", body = String, content_type = "text/plain"),
              (status = 401, description = "Unknown token", body = liaison_api::ErrorBody),
              (status = 403, description = "Not an operator of the supervising party", body = liaison_api::ErrorBody)))]
pub async fn metrics(State(app): State<App>, caller: Caller) -> Response {
    if !liaison_core::can_read_metrics(&caller.viewer()) {
        return HttpError(ApiError::forbidden(
            "only the supervising party's operators read the server's metrics",
        ))
        .into_response();
    }
    crate::metrics::exposition(app).await
}

#[utoipa::path(get, path = "/api/v1/me", tag = "cell", security(("bearer" = [])),
    responses((status = 200, description = "The calling operator", body = Me),
              (status = 401, description = "Unknown token", body = liaison_api::ErrorBody)))]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        operator: caller.name.clone(),
        party: caller.party.clone(),
        role: caller.role.as_str().into(),
        party_role: caller.party_role.as_str().into(),
    })
}

#[utoipa::path(get, path = "/api/v1/cell", tag = "cell", security(("bearer" = [])),
    responses((status = 200, description = "Charter, parties, status and the log's key", body = CellView),
              (status = 401, description = "Unknown token", body = liaison_api::ErrorBody)))]
pub async fn show(State(app): State<App>, caller: Caller) -> HttpResult<Json<CellView>> {
    let (origin, vkey, size) = {
        let l = app.shared.ledger.read();
        (l.origin().to_string(), l.vkey(), l.size())
    };
    let state = app.shared.state.read();
    let cell = state
        .cell
        .as_ref()
        .ok_or_else(|| HttpError(ApiError::new("no_cell", "no cell exists")))?;
    let operators: Vec<OperatorView> = state
        .operators
        .values()
        .filter(|o| caller.is_supervisor_party() || o.spec.party == caller.party)
        .map(OperatorView::from)
        .collect();
    let mut view = CellView::new(cell, operators, LogInfo { origin, vkey, size });
    view.tls_fingerprint = app.shared.tls_fingerprint.get().cloned();
    Ok(Json(view))
}

#[utoipa::path(post, path = "/api/v1/cell/approve", tag = "cell", security(("bearer" = [])),
    responses((status = 200, description = "The charter takes effect", body = Written),
              (status = 403, description = "Not the supervisor", body = liaison_api::ErrorBody),
              (status = 409, description = "Not pending approval", body = liaison_api::ErrorBody)))]
pub async fn approve(
    State(app): State<App>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    written(
        app.command_signed(caller.actor(), signature, Command::ApproveCell)
            .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/cell/suspend", tag = "cell", security(("bearer" = [])),
    request_body = SuspendRequest,
    responses((status = 200, description = "The cell is suspended", body = Written),
              (status = 403, description = "Not the supervisor", body = liaison_api::ErrorBody),
              (status = 409, description = "Not active", body = liaison_api::ErrorBody)))]
pub async fn suspend(
    State(app): State<App>,
    sub: Submission<SuspendRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    written(
        app.command_signed(
            caller.actor(),
            signature,
            Command::SuspendCell { reason: req.reason },
        )
        .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/cell/resume", tag = "cell", security(("bearer" = [])),
    responses((status = 200, description = "The cell is active again", body = Written),
              (status = 403, description = "Not the supervisor", body = liaison_api::ErrorBody),
              (status = 409, description = "Not suspended", body = liaison_api::ErrorBody)))]
pub async fn resume(
    State(app): State<App>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    written(
        app.command_signed(caller.actor(), signature, Command::ResumeCell)
            .await?,
    )
}
