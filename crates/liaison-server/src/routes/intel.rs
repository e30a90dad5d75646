//! Intelligence sharing's JSON API: submissions, the supervisor's decisions,
//! acknowledgements and withdrawals.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::intel::{
    DecideArgs, SubmitArgs, decide as decide_release, preview as preview_release, stix_error,
    submit as submit_intel, withdraw as withdraw_intel,
};
use crate::routes::hotline::parse_precedence;
use crate::routes::{receipt_of, written};
use crate::submission::Submission;
use axum::Json;
use axum::extract::{Path, State};
use liaison_api::ApiError;
use liaison_api::intel::{
    DecisionPreview, DecisionRequest, IntelAckRequest, IntelSubmitted, PreviewObject,
    SubmissionView, SubmitIntel, set,
};
use liaison_api::wire::Written;
use liaison_core::{Command, Precedence, can_see};
use liaison_stix::tlp::Recipients;
use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

/// The submitter and the supervisor see everything; a recipient sees what was released.
fn view(app: &App, caller: &Caller, id: u64) -> Result<SubmissionView, HttpError> {
    let s = app.shared.state.read();
    let sub = s
        .intel
        .submissions
        .get(&id)
        .ok_or_else(|| HttpError(ApiError::not_found(format!("submission {id}"))))?;
    let viewer = caller.viewer();
    let readable = |seq: u64| {
        usize::try_from(seq)
            .ok()
            .and_then(|i| s.events.get(i))
            .is_some_and(|e| can_see(&viewer, e))
    };
    // The submitter's party and the supervisor read the submission's own event.
    let full = readable(sub.id);
    let decided_visible = sub.decision.as_ref().is_some_and(|d| readable(d.seq));
    if !full && !decided_visible {
        return Err(HttpError(ApiError::not_found(format!("submission {id}"))));
    }
    let mut v = SubmissionView::new(sub, full);
    if !full {
        // A recipient reads the decision, not the submission: not whom the submitter
        // asked for or which of its operators sent it, and of the acknowledgements
        // only its own party's (each goes to the submitter, the supervisor and the
        // party that acknowledged).
        v.recipients.clear();
        v.operator.clear();
        v.acknowledged.retain(|party, _| *party == caller.party);
    }
    Ok(v)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// `pending`, `released`, `rejected` or `withdrawn`.
    pub state: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/intel/submissions", tag = "intel", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Submissions the caller may see: its party's, those released to it, or all for the supervisor", body = [SubmissionView])))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> HttpResult<Json<Vec<SubmissionView>>> {
    let ids: Vec<u64> = app
        .shared
        .state
        .read()
        .intel
        .submissions
        .keys()
        .copied()
        .collect();
    let mut out = Vec::new();
    for id in ids.into_iter().rev().take(5000) {
        if let Ok(v) = view(&app, &caller, id)
            && q.state.as_deref().is_none_or(|st| st == v.state)
        {
            out.push(v);
        }
    }
    out.reverse();
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/intel/submissions/{id}", tag = "intel", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Submission id")),
    responses((status = 200, description = "The submission", body = SubmissionView), (status = 404, description = "Unknown or not visible", body = liaison_api::ErrorBody)))]
pub async fn show(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u64>,
) -> HttpResult<Json<SubmissionView>> {
    view(&app, &caller, id).map(Json)
}

#[utoipa::path(post, path = "/api/v1/intel/submissions", tag = "intel", security(("bearer" = [])), request_body = SubmitIntel,
    responses((status = 200, description = "Held for the supervisor's decision", body = IntelSubmitted),
              (status = 422, description = "Invalid STIX, naming the object and property", body = liaison_api::ErrorBody)))]
pub async fn submit(
    State(app): State<App>,
    sub: Submission<SubmitIntel>,
) -> HttpResult<Json<IntelSubmitted>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let text = serde_json::to_string(&body.bundle)
        .map_err(|e| HttpError(ApiError::bad_request(e.to_string())))?;
    let objects = liaison_stix::parse_envelope(&text).map_err(|e| HttpError(stix_error(e)))?;
    let precedence = match &body.precedence {
        Some(p) => parse_precedence(p)?,
        None => Precedence::Routine,
    };
    let n = objects.len();
    let args = SubmitArgs {
        objects,
        recipients: set(&body.recipients),
        recipient_operators: set(&body.recipient_operators),
        precedence,
    };
    let (id, tlp, out) = submit_intel(&app, &caller, signature, args).await?;
    Ok(Json(IntelSubmitted {
        id,
        tlp,
        objects: n,
        receipt: receipt_of(&out)?,
    }))
}

#[utoipa::path(post, path = "/api/v1/intel/submissions/{id}/decision", tag = "intel", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Submission id")), request_body = DecisionRequest,
    responses((status = 200, description = "Decided; released objects appear in the recipients' inboxes", body = Written),
              (status = 403, description = "Not the supervisor", body = liaison_api::ErrorBody),
              (status = 409, description = "Already decided", body = liaison_api::ErrorBody),
              (status = 422, description = "The redaction would leave invalid STIX", body = liaison_api::ErrorBody)))]
pub async fn decide(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<DecisionRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    written(decide_release(&app, &caller, signature, id, decide_args(body)).await?)
}

fn decide_args(body: DecisionRequest) -> DecideArgs {
    DecideArgs {
        decision: body.decision,
        reason: body.reason,
        remove_objects: body.remove_objects,
        remove_properties: body.remove_properties,
        recipients: body.recipients.map(|r| Recipients {
            parties: set(&r.parties),
            operators: set(&r.operators),
        }),
    }
}

#[utoipa::path(post, path = "/api/v1/intel/submissions/{id}/decision/preview", tag = "intel", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Submission id")), request_body = DecisionRequest,
    responses((status = 200, description = "What the decision would release, to whom; nothing is recorded", body = DecisionPreview),
              (status = 403, description = "Not the supervisor", body = liaison_api::ErrorBody),
              (status = 409, description = "Already decided", body = liaison_api::ErrorBody),
              (status = 422, description = "The redaction would leave invalid STIX", body = liaison_api::ErrorBody)))]
pub async fn preview(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> HttpResult<Json<DecisionPreview>> {
    let decision = body.decision.clone();
    let cmd = preview_release(&app, &caller, id, decide_args(body))?;
    let Command::DecideIntel {
        released,
        to_parties,
        to_operators,
        removed_objects,
        removed_properties,
        ..
    } = cmd
    else {
        return Err(HttpError(ApiError::internal(
            "a decision previews as a decision",
        )));
    };
    let released = released
        .iter()
        .map(|o| PreviewObject {
            id: o.id.clone(),
            r#type: o.r#type.clone(),
            version: o.version.clone(),
            sha256: hex::encode(Sha256::digest(o.raw.as_bytes())),
            object: serde_json::from_str(&o.raw).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(Json(DecisionPreview {
        submission: id,
        decision,
        to_parties: to_parties.into_iter().collect(),
        to_operators: to_operators.into_iter().collect(),
        released,
        removed_objects,
        removed_properties,
    }))
}

#[utoipa::path(post, path = "/api/v1/intel/submissions/{id}/ack", tag = "intel", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Submission id")), request_body = IntelAckRequest,
    responses((status = 200, description = "Acknowledged", body = Written), (status = 403, description = "Not released to the caller", body = liaison_api::ErrorBody)))]
pub async fn ack(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<IntelAckRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    view(&app, &caller, id)?;
    written(
        app.command_signed(
            caller.actor(),
            signature,
            Command::AcknowledgeIntel {
                submission: id,
                note: body.note,
            },
        )
        .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/intel/submissions/{id}/withdraw", tag = "intel", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Submission id")),
    responses((status = 200, description = "Withdrawn; revoked versions go to every inbox that got it", body = Written)))]
pub async fn withdraw(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    view(&app, &caller, id)?;
    written(withdraw_intel(&app, &caller, signature, id).await?)
}
