//! Intelligence sharing at the edge: STIX validation and redaction (`liaison-stix`),
//! the marking rule, and the commands that record each step. Shared by the JSON API and
//! the TAXII server.

use crate::app::App;
use crate::auth::Caller;
use crate::writer::Outcome;
use liaison_api::ApiError;
use liaison_core::charter::PartyRole;
use liaison_core::event::AuthorSignature;
use liaison_core::intel::{DecisionKind, IntelObject, Submission};
use liaison_core::{Command, DomainError, Precedence, State, Timestamp};
use liaison_stix::redact::{Redaction, apply, derived_id};
use liaison_stix::release::{Membership, Submitted, allowed_recipients};
use liaison_stix::tlp::{Recipients, Tlp, submission_tlp};
use liaison_stix::{ErrorCode, StixError, StixObject};
use std::collections::{BTreeMap, BTreeSet};

pub fn stix_error(e: StixError) -> ApiError {
    let code = match e.code {
        ErrorCode::UnknownMarking => "unknown_marking",
        _ => "invalid_input",
    };
    ApiError::new(code, format!("invalid STIX: {e}"))
}

pub fn to_core(o: &StixObject) -> IntelObject {
    IntelObject {
        id: o.id.clone(),
        r#type: o.r#type.clone(),
        spec_version: o.spec_version.clone(),
        version: o.version.clone(),
        raw: o.raw.clone(),
    }
}

/// STIX timestamps with millisecond precision, as STIX recommends.
pub fn stix_time(t: Timestamp) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(t.micros())
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn namespace(app: &App) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        app.shared.ledger.read().origin().as_bytes(),
    )
}

/// The supervising party's STIX identity, stable for the cell.
pub fn supervisor_identity(app: &App) -> String {
    let party = app
        .shared
        .state
        .read()
        .supervisor_party()
        .cloned()
        .unwrap_or_default();
    format!(
        "identity--{}",
        uuid::Uuid::new_v5(&namespace(app), format!("party:{party}").as_bytes())
    )
}

pub struct SubmitArgs {
    pub objects: Vec<StixObject>,
    pub recipients: BTreeSet<String>,
    pub recipient_operators: BTreeSet<String>,
    pub precedence: Precedence,
}

/// Records a submission. Notes and opinions that refer to objects released to the
/// caller's party also acknowledge those releases.
pub async fn submit(
    app: &App,
    caller: &Caller,
    sig: Option<AuthorSignature>,
    a: SubmitArgs,
) -> Result<(u64, String, Outcome), ApiError> {
    let default_tlp = app
        .shared
        .state
        .read()
        .charter()
        .map(|c| c.settings.default_tlp.clone())
        .unwrap_or_else(|| "amber".into());
    let default = Tlp::parse(&default_tlp).unwrap_or(Tlp::Amber);
    let tlp = submission_tlp(&a.objects, default).map_err(stix_error)?;
    let acks = referenced_releases(app, caller, &a.objects);
    // A note or opinion answering releases goes back to the parties that shared them,
    // unless the submitter names its recipients.
    let recipients = if a.recipients.is_empty() && !acks.is_empty() {
        let s = app.shared.state.read();
        acks.iter()
            .filter_map(|id| s.intel.submissions.get(id))
            .map(|sub| sub.party.clone())
            .collect()
    } else {
        a.recipients
    };
    let cmd = Command::SubmitIntel {
        tlp: tlp.as_str().into(),
        precedence: a.precedence,
        recipients,
        recipient_operators: a.recipient_operators,
        objects: a.objects.iter().map(to_core).collect(),
    };
    let out = app.command_signed(caller.actor(), sig, cmd).await?;
    let id = *out
        .seqs
        .first()
        .ok_or_else(|| ApiError::internal("no event recorded"))?;
    for s in acks {
        let _ = app
            .observe(
                caller.actor(),
                Command::AcknowledgeIntel {
                    submission: s,
                    note: Some(format!("by STIX object in submission {id}")),
                },
            )
            .await;
    }
    Ok((id, tlp.as_str().into(), out))
}

fn referenced_releases(app: &App, caller: &Caller, objects: &[StixObject]) -> BTreeSet<u64> {
    let refs: BTreeSet<String> = objects
        .iter()
        .filter(|o| o.r#type == "note" || o.r#type == "opinion")
        .filter_map(|o| serde_json::from_str::<serde_json::Value>(&o.raw).ok())
        .flat_map(|v| {
            v.get("object_refs")
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    if refs.is_empty() {
        return BTreeSet::new();
    }
    let s = app.shared.state.read();
    s.intel
        .inbox
        .get(&caller.party)
        .map(|inbox| {
            inbox
                .iter()
                .filter(|r| refs.contains(&r.object.id))
                .map(|r| r.submission)
                .collect()
        })
        .unwrap_or_default()
}

pub struct DecideArgs {
    pub decision: String,
    pub reason: String,
    pub remove_objects: Vec<String>,
    pub remove_properties: BTreeMap<String, Vec<String>>,
    pub recipients: Option<Recipients>,
}

/// The supervisor's decision, decided in the writer against the state it commits to:
/// the core says who may decide and on what (`intel::decidable`), the release (the
/// redaction applied, the recipients the marking allows) is built from that same state,
/// and the core checks that every field of the decision agrees with what is released.
/// Anything asked that cannot be done exactly is refused whole.
pub async fn decide(
    app: &App,
    caller: &Caller,
    sig: Option<AuthorSignature>,
    id: u64,
    a: DecideArgs,
) -> Result<Outcome, ApiError> {
    let kind = decision_kind(&a.decision)?;
    let ctx = ReleaseCtx {
        namespace: namespace(app),
        identity: supervisor_identity(app),
    };
    let actor = caller.actor();
    let who = actor.actor.clone();
    app.submit(
        actor,
        sig,
        Box::new(move |state, now| {
            let sub = liaison_core::intel::decidable(state, &who, id)?;
            let cmd = decision_command(state, sub, kind, a, &ctx, now)?;
            liaison_core::decide(state, &who, &cmd, now)
        }),
    )
    .await
}

fn decision_kind(d: &str) -> Result<DecisionKind, ApiError> {
    match d {
        "approve" => Ok(DecisionKind::Approved),
        "reject" => Ok(DecisionKind::Rejected),
        "redact" => Ok(DecisionKind::Redacted),
        d => Err(ApiError::invalid(format!(
            "decision: {d:?} is not approve, reject or redact"
        ))),
    }
}

/// The decision as it would be recorded now, without recording it: the same rules (who
/// may decide, on what, releasing what to whom) decided by the core against the current
/// state, so a preview that succeeds is the release the decision would make, and one
/// that fails is refused with the error the decision would get. Returns the
/// `Command::DecideIntel` the writer would decide.
pub fn preview(app: &App, caller: &Caller, id: u64, a: DecideArgs) -> Result<Command, ApiError> {
    let kind = decision_kind(&a.decision)?;
    let ctx = ReleaseCtx {
        namespace: namespace(app),
        identity: supervisor_identity(app),
    };
    let who = caller.core_actor();
    let now = app.shared.clock.now();
    let state = app.shared.state.read();
    let sub = liaison_core::intel::decidable(&state, &who, id)?;
    let cmd = decision_command(&state, sub, kind, a, &ctx, now)?;
    liaison_core::decide(&state, &who, &cmd, now)?;
    Ok(cmd)
}

struct ReleaseCtx {
    namespace: uuid::Uuid,
    identity: String,
}

/// The command that records the decision: what it releases, to whom.
fn decision_command(
    state: &State,
    sub: &Submission,
    kind: DecisionKind,
    a: DecideArgs,
    ctx: &ReleaseCtx,
    now: Timestamp,
) -> Result<Command, DomainError> {
    let to = if kind == DecisionKind::Rejected {
        if a.recipients.is_some() {
            return Err(DomainError::refused(
                liaison_core::intel::DECISION_INCONSISTENT,
                "a rejection releases nothing: it names no recipients",
            ));
        }
        Recipients::default()
    } else {
        recipients(state, sub, a.recipients.as_ref())?
    };
    let released = match kind {
        DecisionKind::Rejected => Vec::new(),
        DecisionKind::Approved => sub.objects.iter().map(|o| (**o).clone()).collect(),
        DecisionKind::Redacted => redacted(sub, &a, ctx, now)?,
    };
    Ok(Command::DecideIntel {
        submission: sub.id,
        decision: kind,
        reason: a.reason,
        removed_objects: a.remove_objects,
        removed_properties: a.remove_properties,
        released,
        to_parties: to.parties,
        to_operators: to.operators,
    })
}

/// Whom the release reaches: everyone the marking allows, or exactly those asked for,
/// each of whom the marking must allow.
fn recipients(
    state: &State,
    sub: &Submission,
    asked: Option<&Recipients>,
) -> Result<Recipients, DomainError> {
    let not_allowed =
        |m: String| DomainError::refused(liaison_core::intel::RECIPIENT_NOT_ALLOWED, m);
    let members = state
        .charter()
        .map(|c| {
            c.parties
                .iter()
                .filter(|p| p.role != PartyRole::Supervisor)
                .map(|p| p.id.clone())
                .collect()
        })
        .unwrap_or_default();
    let operators = state
        .operators
        .values()
        .filter(|o| o.active)
        .map(|o| (o.spec.name.clone(), o.spec.party.clone()))
        .collect();
    let tlp = Tlp::parse(&sub.tlp).unwrap_or(Tlp::Red);
    let allow = allowed_recipients(
        Submitted {
            tlp,
            submitter_party: &sub.party,
            named_parties: &sub.recipients,
            named_operators: &sub.recipient_operators,
        },
        &Membership {
            parties: members,
            operators,
        },
    );
    let Some(asked) = asked else {
        return Ok(allow.recipients);
    };
    let tlp_name = tlp.name();
    if let Some(p) = asked
        .parties
        .iter()
        .find(|p| !allow.recipients.parties.contains(*p))
    {
        return Err(not_allowed(format!(
            "{tlp_name} submission {} may not be released to party {p}",
            sub.id
        )));
    }
    if let Some(o) = asked
        .operators
        .iter()
        .find(|o| !allow.recipients.operators.contains(*o))
    {
        return Err(not_allowed(format!(
            "{tlp_name} submission {} may not be released to operator {o}",
            sub.id
        )));
    }
    let to = allow.clamp(Some(asked));
    if let Some(p) = asked.parties.iter().find(|p| !to.parties.contains(*p)) {
        return Err(not_allowed(format!(
            "party {p} would receive nothing: none of its operators is a recipient"
        )));
    }
    Ok(to)
}

/// The redaction applied to the submission: new derived objects, the rest unchanged.
fn redacted(
    sub: &Submission,
    a: &DecideArgs,
    ctx: &ReleaseCtx,
    now: Timestamp,
) -> Result<Vec<IntelObject>, DomainError> {
    let originals: Vec<StixObject> = sub
        .objects
        .iter()
        .map(|o| StixObject {
            id: o.id.clone(),
            r#type: o.r#type.clone(),
            spec_version: o.spec_version.clone(),
            version: o.version.clone(),
            created_by_ref: None,
            marking_refs: Vec::new(),
            raw: o.raw.clone(),
        })
        .collect();
    let r = Redaction {
        remove_objects: a.remove_objects.iter().cloned().collect(),
        remove_properties: a
            .remove_properties
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect(),
    };
    let submission = sub.id.to_string();
    let out = apply(&originals, &r, &ctx.identity, &stix_time(now), |orig| {
        derived_id(&ctx.namespace, orig, &submission)
    })
    .map_err(redaction_error)?;
    Ok(out.iter().map(to_core).collect())
}

fn redaction_error(e: StixError) -> DomainError {
    let code = match e.code {
        ErrorCode::UnknownObject => liaison_core::intel::UNKNOWN_OBJECT,
        ErrorCode::UnknownProperty => "unknown_property",
        ErrorCode::RequiredProperty | ErrorCode::MarkingNotRedactable => "property_not_removable",
        ErrorCode::ConflictingRedaction | ErrorCode::EmptyRelease => {
            liaison_core::intel::DECISION_INCONSISTENT
        }
        _ => "unprocessable",
    };
    DomainError::refused(code, format!("the redaction is refused: {e}"))
}

/// A withdrawal publishes a revoked version of every released object the submitter
/// created (objects the supervisor derived by redaction are the supervisor's to revoke).
pub async fn withdraw(
    app: &App,
    caller: &Caller,
    sig: Option<AuthorSignature>,
    id: u64,
) -> Result<Outcome, ApiError> {
    let released: Vec<IntelObject> = {
        let s = app.shared.state.read();
        let sub = s
            .intel
            .submissions
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("submission {id}")))?;
        let mine: BTreeSet<&str> = sub.objects.iter().map(|o| o.id.as_str()).collect();
        sub.decision
            .as_ref()
            .map(|d| {
                d.released
                    .iter()
                    .filter(|o| mine.contains(o.id.as_str()))
                    .map(|o| (**o).clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let now = app.shared.clock.now();
    let mut revoked = Vec::new();
    for o in released {
        let mut v: serde_json::Value =
            serde_json::from_str(&o.raw).map_err(|e| ApiError::internal(e.to_string()))?;
        let Some(m) = v.as_object_mut() else { continue };
        if !m.contains_key("modified") {
            continue;
        }
        // The new version must be strictly later than the one it replaces.
        let prev = liaison_api::time::parse(&o.version).unwrap_or(now);
        let t = if now > prev {
            now
        } else {
            Timestamp::from_micros(prev.micros() + 1000)
        };
        m.insert("modified".into(), serde_json::Value::String(stix_time(t)));
        m.insert("revoked".into(), serde_json::Value::Bool(true));
        let raw = serde_json::to_string(&v).map_err(|e| ApiError::internal(e.to_string()))?;
        let checked = liaison_stix::object::validate(&v, &raw, 0).map_err(stix_error)?;
        revoked.push(to_core(&checked));
    }
    app.command_signed(
        caller.actor(),
        sig,
        Command::WithdrawIntel {
            submission: id,
            revoked,
        },
    )
    .await
}
