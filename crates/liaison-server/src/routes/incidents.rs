//! Incidents and disputes: report, acknowledge, accounts ("not ours" included),
//! requests for information, findings, closure.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::extract::ApiQuery;
use crate::routes::hotline::{parse_precedence, resolve_attachments};
use crate::routes::{receipt_of, written};
use crate::submission::Submission;
use axum::Json;
use axum::extract::{Path, State};
use liaison_api::ApiError;
use liaison_api::hotline::{
    AccountRequest, CloseIncidentRequest, CorrectIncidentRequest, FindingRequest, IncidentReported,
    IncidentView, InfoRequestBody, ObligationView, ReportIncident, WithdrawIncidentRequest,
    parse_place,
};
use liaison_api::wire::Written;
use liaison_core::deadline::Duty;
use liaison_core::event::AuthorSignature;
use liaison_core::incident::{Category, Outcome, Place, TimePrecision};
use liaison_core::{Command, State as CoreState, can_see, parse_duration};
use serde::Deserialize;
use serde::de::IgnoredAny;
use utoipa::IntoParams;

pub fn incident_view(s: &CoreState, id: u64) -> Option<IncidentView> {
    let i = s.incidents.get(&id)?;
    let subject = id.to_string();
    let mut obligations: Vec<ObligationView> = Vec::new();
    for duty in [Duty::AcknowledgeIncident, Duty::GiveAccount] {
        obligations.extend(
            s.obligations
                .for_subject(&duty, &subject)
                .map(ObligationView::from),
        );
    }
    for r in &i.info_requests {
        let sub = format!("{id}/{}", r.number);
        obligations.extend(
            s.obligations
                .for_subject(&Duty::ProvideInformation, &sub)
                .map(ObligationView::from),
        );
    }
    Some(IncidentView::new(i, obligations))
}

fn visible(s: &CoreState, caller: &Caller, id: u64) -> Result<(), HttpError> {
    let ok = s.incidents.contains_key(&id)
        && s.events
            .get(id as usize)
            .is_some_and(|e| can_see(&caller.viewer(), e));
    if ok {
        Ok(())
    } else {
        Err(HttpError(ApiError::not_found(format!("incident {id}"))))
    }
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", security(("bearer" = [])), request_body = ReportIncident,
    responses((status = 200, description = "Reported; the named party owes an acknowledgement", body = IncidentReported),
              (status = 422, description = "Invalid category, place, party or time", body = liaison_api::ErrorBody)))]
pub async fn report(
    State(app): State<App>,
    sub: Submission<ReportIncident>,
) -> HttpResult<Json<IncidentReported>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    let category = category(&req.category)?;
    let precision = precision(&req.precision)?;
    let occurred_at = when(&req.when)?;
    let coordinates = place(&req.r#where)?;
    let attributed_to = match req.attributed_to.as_str() {
        "unknown" | "" => None,
        p => Some(p.to_string()),
    };
    let cmd = Command::ReportIncident {
        category,
        precedence: parse_precedence(&req.precedence)?,
        occurred_at,
        precision,
        place: Place {
            coordinates,
            uncertainty_m: req.uncertainty_m,
        },
        description: req.description,
        attributed_to,
        links: req.links,
        attachments: resolve_attachments(&app, req.attachments)?,
    };
    let outcome = app.command_signed(caller.actor(), signature, cmd).await?;
    let id = *outcome
        .seqs
        .first()
        .ok_or_else(|| HttpError(ApiError::internal("no event recorded")))?;
    Ok(Json(IncidentReported {
        id,
        receipt: receipt_of(&outcome)?,
    }))
}

fn category(text: &str) -> Result<Category, HttpError> {
    Category::parse(text).ok_or_else(|| {
        HttpError(ApiError::invalid(format!(
            "category: {text:?} is not one of {}",
            Category::ALL
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    })
}

fn precision(text: &str) -> Result<TimePrecision, HttpError> {
    match text {
        "exact" => Ok(TimePrecision::Exact),
        "day" => Ok(TimePrecision::Day),
        "week" => Ok(TimePrecision::Week),
        other => Err(HttpError(ApiError::invalid(format!(
            "precision: {other:?} is not exact, day or week"
        )))),
    }
}

fn when(text: &str) -> Result<liaison_core::Timestamp, HttpError> {
    liaison_api::time::parse(text).map_err(|m| HttpError(ApiError::invalid(format!("when: {m}"))))
}

fn place(geometry: &serde_json::Value) -> Result<Vec<[f64; 2]>, HttpError> {
    parse_place(geometry).map_err(|m| HttpError(ApiError::invalid(format!("where: {m}"))))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/corrections", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = CorrectIncidentRequest,
    responses((status = 200, description = "Corrected; the earlier values stay in the record and in the incident's corrections", body = Written),
              (status = 403, description = "Not the reporting party", body = liaison_api::ErrorBody),
              (status = 404, description = "No such incident, or not visible", body = liaison_api::ErrorBody)))]
pub async fn correct(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<CorrectIncidentRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    let current_uncertainty = {
        let s = app.shared.state.read();
        s.incidents.get(&id).map(|i| i.place.uncertainty_m)
    };
    let place = match &req.r#where {
        None => None,
        Some(g) => Some(Place {
            coordinates: place(g)?,
            uncertainty_m: req
                .uncertainty_m
                .or(current_uncertainty)
                .unwrap_or_default(),
        }),
    };
    let cmd = Command::CorrectIncident {
        incident: id,
        category: req.category.as_deref().map(category).transpose()?,
        place,
        occurred_at: req.when.as_deref().map(when).transpose()?,
        precision: req.precision.as_deref().map(precision).transpose()?,
        reason: req.reason,
    };
    incident_command(&app, &caller, signature, id, cmd).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/withdraw", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = WithdrawIncidentRequest,
    responses((status = 200, description = "Withdrawn by the reporting party; what was said stays in the record, and nothing more is owed on it", body = Written),
              (status = 403, description = "Not the reporting party", body = liaison_api::ErrorBody),
              (status = 404, description = "No such incident, or not visible", body = liaison_api::ErrorBody)))]
pub async fn withdraw(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<WithdrawIncidentRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    let cmd = Command::WithdrawIncident {
        incident: id,
        reason: req.reason,
    };
    incident_command(&app, &caller, signature, id, cmd).await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct IncidentQuery {
    /// `open` or `closed`; default both.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", security(("bearer" = [])), params(IncidentQuery),
    responses((status = 200, description = "Incidents the caller may read (at most 1000, newest last)", body = [IncidentView])))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> HttpResult<Json<Vec<IncidentView>>> {
    let want = q.status.as_deref();
    if !matches!(want, None | Some("open") | Some("closed")) {
        return Err(HttpError(ApiError::bad_request(
            "status must be open or closed",
        )));
    }
    let s = app.shared.state.read();
    let out = s
        .incidents
        .values()
        .filter(|i| visible(&s, &caller, i.id).is_ok())
        .filter(|i| match want {
            Some("open") => i.is_open(),
            Some("closed") => !i.is_open(),
            _ => true,
        })
        .rev()
        .take(1000)
        .filter_map(|i| incident_view(&s, i.id))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The incident with every side's account", body = IncidentView),
              (status = 404, description = "Unknown or not visible", body = liaison_api::ErrorBody)))]
pub async fn show(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u64>,
) -> HttpResult<Json<IncidentView>> {
    let s = app.shared.state.read();
    visible(&s, &caller, id)?;
    incident_view(&s, id)
        .map(Json)
        .ok_or_else(|| HttpError(ApiError::not_found(format!("incident {id}"))))
}

async fn incident_command(
    app: &App,
    caller: &Caller,
    signature: Option<AuthorSignature>,
    id: u64,
    cmd: Command,
) -> HttpResult<Json<Written>> {
    visible(&app.shared.state.read(), caller, id)?;
    written(app.command_signed(caller.actor(), signature, cmd).await?)
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/ack", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")),
    responses((status = 200, description = "The named party acknowledged; its account is now due", body = Written)))]
pub async fn ack(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    incident_command(
        &app,
        &caller,
        signature,
        id,
        Command::AcknowledgeIncident { incident: id },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/accounts", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = AccountRequest,
    responses((status = 200, description = "Account appended beside the others", body = Written),
              (status = 403, description = "Party not named in the incident", body = liaison_api::ErrorBody)))]
pub async fn account(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<AccountRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    let attachments = resolve_attachments(&app, req.attachments)?;
    let cmd = Command::SubmitAccount {
        incident: id,
        text: req.text,
        disowned: req.disowned,
        answers: req.answers,
        attachments,
    };
    incident_command(&app, &caller, signature, id, cmd).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/information-requests", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = InfoRequestBody,
    responses((status = 200, description = "Requested, with a deadline", body = Written),
              (status = 403, description = "Not the supervisor", body = liaison_api::ErrorBody)))]
pub async fn request_info(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<InfoRequestBody>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    let within = parse_duration(&req.within)
        .map_err(|m| HttpError(ApiError::invalid(format!("within: {m}"))))?;
    let cmd = Command::RequestInformation {
        incident: id,
        party: req.party,
        question: req.question,
        within,
    };
    incident_command(&app, &caller, signature, id, cmd).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/findings", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = FindingRequest,
    responses((status = 200, description = "Finding recorded", body = Written),
              (status = 403, description = "Not the supervisor", body = liaison_api::ErrorBody)))]
pub async fn finding(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<FindingRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    incident_command(
        &app,
        &caller,
        signature,
        id,
        Command::RecordFinding {
            incident: id,
            text: req.text,
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/close", tag = "incidents", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Incident id")), request_body = CloseIncidentRequest,
    responses((status = 200, description = "Closed with its outcome and agreed measures", body = Written),
              (status = 403, description = "Not the supervisor", body = liaison_api::ErrorBody)))]
pub async fn close(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<CloseIncidentRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    let outcome = match req.outcome.as_str() {
        "resolved" => Outcome::Resolved,
        "unresolved" => Outcome::Unresolved,
        "withdrawn" => Outcome::Withdrawn,
        o => {
            return Err(HttpError(ApiError::invalid(format!(
                "outcome: {o:?} is not resolved, unresolved or withdrawn"
            ))));
        }
    };
    incident_command(
        &app,
        &caller,
        signature,
        id,
        Command::CloseIncident {
            incident: id,
            outcome,
            measures: req.measures,
        },
    )
    .await
}
