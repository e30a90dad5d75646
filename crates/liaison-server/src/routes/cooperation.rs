//! Cooperation proposals over HTTP: filing (screened and checked against zones and
//! sites inside the writer), reading as visibility allows, the parties' answers, the
//! supervisor's review of screening matches, commitments and progress reports.

use crate::app::App;
use crate::auth::Caller;
use crate::deconfliction::{activity, describe, find, geometry_json, to_shape};
use crate::error::{HttpError, HttpResult};
use crate::routes::deconfliction::grouped;
use crate::routes::written;
use crate::submission::Submission;
use axum::Json;
use axum::extract::{Path, State};
use liaison_api::ApiError;
use liaison_api::cooperation::{
    AnswerRequest, CommitmentRequest, CommitmentView, MatchView, ProposalFiled, ProposalList,
    ProposalRequest, ProposalSummary, ProposalView, ReportRequest, ReviewRequest, ScreeningView,
};
use liaison_api::wire::{Receipt, Written};
use liaison_core::cooperation::{CoopCommand, Milestone, Proposal, ProposalBody, Review, Sector};
use liaison_core::visibility::{can_read_proposal, can_read_screening, can_read_screening_of};
use liaison_core::{Command, DomainError, State as CoreState, Viewer};

fn invalid(m: impl Into<String>) -> HttpError {
    HttpError(ApiError::invalid(m))
}

/// How long after filing a proposal's area is checked against zones' waivers: a
/// project is there for years, so a waiver that ends sooner does not cover it.
const PROJECT_YEARS: i64 = 10;

/// The proposal's body in the core's terms, refusing what does not parse (naming the
/// field).
pub fn body_of(req: ProposalRequest) -> Result<ProposalBody, HttpError> {
    let sector = Sector::parse(&req.sector).ok_or_else(|| {
        invalid(format!(
            "sector: {:?} is not one of energy, water, agriculture, trade_and_crossings, health, demining, reconstruction, telecommunications, tourism, other",
            req.sector
        ))
    })?;
    let area = match &req.area {
        None => None,
        Some(v) => {
            let geometry = liaison_geo::geojson::parse_geometry(v)
                .map_err(|e| invalid(format!("area: {e}")))?;
            let buffer_m = req.area_buffer_m.unwrap_or(0.0);
            if !buffer_m.is_finite() || !(0.0..=100_000.0).contains(&buffer_m) {
                return Err(invalid("area_buffer_m: must be between 0 and 100,000"));
            }
            Some(to_shape(&liaison_geo::types::Area { geometry, buffer_m }))
        }
    };
    let counterparties = req
        .counterparties
        .iter()
        .enumerate()
        .map(|(i, c)| c.to_core(i))
        .collect::<Result<Vec<_>, String>>()
        .map_err(invalid)?;
    Ok(ProposalBody {
        title: req.title,
        description: req.description,
        language: req.language.unwrap_or_else(|| "en".into()),
        translations: req.translations.into_iter().map(Into::into).collect(),
        sector,
        parties: req.parties.into_iter().collect(),
        counterparties,
        area,
        value: req.value,
        currency: req.currency,
        documents: req.documents,
        conflicts: Vec::new(),
    })
}

/// The receipt of event `seq` (the proposal itself, not the screening after it).
pub fn receipt_for(app: &App, seq: u64) -> Result<Receipt, HttpError> {
    let rows = app
        .shared
        .store
        .read_events(seq, 1)
        .map_err(|e| HttpError(ApiError::internal(e.to_string())))?;
    let row = rows
        .first()
        .ok_or_else(|| HttpError(ApiError::internal("event missing")))?;
    app.shared
        .ledger
        .read()
        .receipt(seq, &row.entry)
        .map_err(|e| HttpError(ApiError::internal(e)))
}

/// `POST /api/v1/cooperation/proposals`: filed, its counterparties screened against the
/// lists in force and its area checked against zones and sites, in the writer.
#[utoipa::path(post, path = "/api/v1/cooperation/proposals", tag = "cooperation", security(("bearer" = [])), request_body = ProposalRequest,
    responses((status = 200, description = "Filed: its id, receipt, screening (matches) and conflicts (sites and zones the area touches)", body = ProposalFiled),
              (status = 403, description = "An observer, or a role that does not speak for its party", body = liaison_api::ErrorBody),
              (status = 422, description = "A field is missing or invalid (the message names it): no counterparty name, invalid GeoJSON area, unknown party", body = liaison_api::ErrorBody)))]
pub async fn file(
    State(app): State<App>,
    sub: Submission<ProposalRequest>,
) -> HttpResult<Json<ProposalFiled>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let body = body_of(body)?;
    let decider = proposal_decider(&app, caller.core_actor(), body);
    let out = app.submit(caller.actor(), signature, decider).await?;
    let id = *out
        .seqs
        .first()
        .ok_or_else(|| HttpError(ApiError::internal("no proposal recorded")))?;
    let receipt = receipt_for(&app, id)?;
    let view = view(&app.shared.state.read(), &caller.viewer(), id)?;
    Ok(Json(ProposalFiled {
        id,
        receipt,
        screening: view.screening.unwrap_or(ScreeningView {
            status: "clear".into(),
            matches: Vec::new(),
        }),
        conflicts: view.conflicts,
    }))
}

/// Files `body` as `actor`: inside the writer, its area is checked against zones and
/// protected sites and its counterparties screened against the lists in force, both
/// against the state it is decided on.
pub fn proposal_decider(
    app: &App,
    actor: liaison_core::Actor,
    body: ProposalBody,
) -> crate::writer::Decider {
    let edge = app.clone();
    let party = actor.party().unwrap_or_default().to_string();
    Box::new(move |s, now| {
        let mut body = body;
        if let Some(shape) = &body.area {
            let end = now.plus(liaison_core::Duration::from_hours(24 * 365 * PROJECT_YEARS));
            let act = activity(
                0,
                &party,
                "cooperation_project",
                shape,
                (0.0, 0.0),
                (now.micros() / 1_000_000, end.micros() / 1_000_000),
            );
            let mut found = find(&edge.shared.geo.read(), s, &act)
                .map_err(|m| DomainError::invalid("area", m))?;
            // A project is checked against zones and protected sites, not against
            // other parties' military activity.
            found.actives.clear();
            body.conflicts = describe(s, found, act.area.buffer_m);
        }
        let hits = if s.cooperation.lists.is_empty() || body.counterparties.is_empty() {
            Vec::new()
        } else {
            let screener = edge
                .shared
                .screeners
                .for_state(edge.shared.store.as_ref(), s)
                .map_err(|m| DomainError::InvalidState(format!("screening: {m}")))?;
            crate::screening::screen(&screener, &body.counterparties)
        };
        liaison_core::decide(
            s,
            &actor,
            &Command::Cooperation(CoopCommand::FileProposal {
                proposal: Box::new(body),
                hits,
            }),
            now,
        )
    })
}

/// The proposal as `viewer` may read it: 404 when it may not read it at all; the
/// screening only where it may read the events that recorded it.
pub fn view(s: &CoreState, viewer: &Viewer, id: u64) -> Result<ProposalView, HttpError> {
    let p = s
        .cooperation
        .proposals
        .get(&id)
        .filter(|_| can_read_proposal(s, viewer, id))
        .ok_or_else(|| HttpError(ApiError::not_found(format!("proposal {id}"))))?;
    Ok(render(s, viewer, p))
}

fn render(s: &CoreState, viewer: &Viewer, p: &Proposal) -> ProposalView {
    let commitments = p
        .commitments
        .iter()
        .filter_map(|c| s.cooperation.commitments.get(c))
        .map(|c| CommitmentView::new(c, &s.obligations))
        .collect();
    let matches = can_read_screening_of(s, viewer, p).then(|| {
        p.matches
            .iter()
            .enumerate()
            .filter(|(_, m)| can_read_screening(s, viewer, m.seq))
            .map(|(i, m)| MatchView::of_match(p, i, m))
            .collect()
    });
    ProposalView::new(
        p,
        commitments,
        p.draft.area.as_ref().map(geometry_json),
        grouped(&p.draft.conflicts),
        matches,
    )
}

/// `GET /api/v1/cooperation/proposals/{id}`
#[utoipa::path(get, path = "/api/v1/cooperation/proposals/{id}", tag = "cooperation", security(("bearer" = [])),
    params(("id" = u64, Path, description = "The proposal's id")),
    responses((status = 200, description = "The proposal; `screening` only for the supervisor and the filing party", body = ProposalView),
              (status = 404, description = "No such proposal, or not visible to the caller", body = liaison_api::ErrorBody)))]
pub async fn show(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u64>,
) -> HttpResult<Json<ProposalView>> {
    Ok(Json(view(&app.shared.state.read(), &caller.viewer(), id)?))
}

/// `GET /api/v1/cooperation/proposals`
#[utoipa::path(get, path = "/api/v1/cooperation/proposals", tag = "cooperation", security(("bearer" = [])),
    responses((status = 200, description = "The proposals the caller may read, oldest first", body = ProposalList)))]
pub async fn list(State(app): State<App>, caller: Caller) -> Json<ProposalList> {
    let s = app.shared.state.read();
    let viewer = caller.viewer();
    Json(ProposalList {
        proposals: s
            .cooperation
            .proposals
            .values()
            .filter(|p| can_read_proposal(&s, &viewer, p.id))
            .map(ProposalSummary::from)
            .collect(),
    })
}

/// `POST /api/v1/cooperation/proposals/{id}/answer`
#[utoipa::path(post, path = "/api/v1/cooperation/proposals/{id}/answer", tag = "cooperation", security(("bearer" = [])), request_body = AnswerRequest,
    params(("id" = u64, Path, description = "The proposal's id")),
    responses((status = 200, description = "Answered; when it was the last acceptance awaited and screening is clear, the proposal is agreed in the same write", body = Written),
              (status = 403, description = "The caller's party is not involved", body = liaison_api::ErrorBody),
              (status = 409, description = "Answered already, or the proposal is closed", body = liaison_api::ErrorBody)))]
pub async fn answer(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<AnswerRequest>,
) -> HttpResult<Json<Written>> {
    let cmd = CoopCommand::AnswerProposal {
        proposal: id,
        accept: sub.body.accept,
        text: sub.body.text,
    };
    visible(&app, &sub.caller, id)?;
    let out = app
        .command_signed(sub.caller.actor(), sub.signature, Command::Cooperation(cmd))
        .await?;
    written(out)
}

/// A proposal the caller cannot read is not found, whatever it asks of it.
fn visible(app: &App, caller: &Caller, id: u64) -> Result<(), HttpError> {
    let s = app.shared.state.read();
    if can_read_proposal(&s, &caller.viewer(), id) {
        Ok(())
    } else {
        Err(HttpError(ApiError::not_found(format!("proposal {id}"))))
    }
}

/// `POST /api/v1/cooperation/proposals/{id}/matches/{index}/review`
#[utoipa::path(post, path = "/api/v1/cooperation/proposals/{id}/matches/{index}/review", tag = "cooperation", security(("bearer" = [])), request_body = ReviewRequest,
    params(("id" = u64, Path, description = "The proposal's id"), ("index" = u32, Path, description = "The match's index in the proposal's screening")),
    responses((status = 200, description = "Reviewed: clear (no longer blocks), hold (blocks agreement), reject (ends the proposal)", body = Written),
              (status = 403, description = "Only the supervisor reviews", body = liaison_api::ErrorBody)))]
pub async fn review(
    State(app): State<App>,
    Path((id, index)): Path<(u64, u32)>,
    sub: Submission<ReviewRequest>,
) -> HttpResult<Json<Written>> {
    let outcome = Review::parse(&sub.body.outcome)
        .ok_or_else(|| invalid("outcome: must be clear, hold or reject"))?;
    visible(&app, &sub.caller, id)?;
    let cmd = CoopCommand::ReviewMatch {
        proposal: id,
        index,
        outcome,
        reason: sub.body.reason,
    };
    let out = app
        .command_signed(sub.caller.actor(), sub.signature, Command::Cooperation(cmd))
        .await?;
    written(out)
}

/// `POST /api/v1/cooperation/proposals/{id}/commitments`
#[utoipa::path(post, path = "/api/v1/cooperation/proposals/{id}/commitments", tag = "cooperation", security(("bearer" = [])), request_body = CommitmentRequest,
    params(("id" = u64, Path, description = "The proposal's id")),
    responses((status = 200, description = "Committed; each milestone is a deadline that escalates when missed", body = Written),
              (status = 409, description = "The proposal is not agreed, or held at screening", body = liaison_api::ErrorBody),
              (status = 422, description = "A milestone due before the proposal was filed (milestone_before_filing), or a bad field", body = liaison_api::ErrorBody)))]
pub async fn commit(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<CommitmentRequest>,
) -> HttpResult<Json<Written>> {
    let mut milestones = Vec::with_capacity(sub.body.milestones.len());
    for (i, m) in sub.body.milestones.into_iter().enumerate() {
        let due = liaison_api::time::parse(&m.due)
            .map_err(|e| invalid(format!("milestones[{i}].due: {e}")))?;
        milestones.push(Milestone { what: m.what, due });
    }
    visible(&app, &sub.caller, id)?;
    let cmd = CoopCommand::MakeCommitment {
        proposal: id,
        party: sub.body.party,
        what: sub.body.what,
        milestones,
    };
    let out = app
        .command_signed(sub.caller.actor(), sub.signature, Command::Cooperation(cmd))
        .await?;
    written(out)
}

/// `POST /api/v1/cooperation/commitments/{id}/reports`
#[utoipa::path(post, path = "/api/v1/cooperation/commitments/{id}/reports", tag = "cooperation", security(("bearer" = [])), request_body = ReportRequest,
    params(("id" = u64, Path, description = "The commitment's id")),
    responses((status = 200, description = "Reported; a report naming a milestone meets it", body = Written),
              (status = 403, description = "Only the committed party reports", body = liaison_api::ErrorBody)))]
pub async fn report(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<ReportRequest>,
) -> HttpResult<Json<Written>> {
    {
        let s = app.shared.state.read();
        let proposal = s.cooperation.commitments.get(&id).map(|c| c.proposal);
        if !proposal.is_some_and(|p| can_read_proposal(&s, &sub.caller.viewer(), p)) {
            return Err(HttpError(ApiError::not_found(format!("commitment {id}"))));
        }
    }
    let cmd = CoopCommand::ReportProgress {
        commitment: id,
        milestone: sub.body.milestone,
        text: sub.body.text,
        documents: sub.body.documents,
    };
    let out = app
        .command_signed(sub.caller.actor(), sub.signature, Command::Cooperation(cmd))
        .await?;
    written(out)
}
