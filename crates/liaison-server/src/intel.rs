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
use liaison_core::{Command, Precedence, Timestamp};
use liaison_stix::redact::{Redaction, apply};
use liaison_stix::tlp::{Recipients, Tlp, allowed, clamp, strictest};
use liaison_stix::{StixError, StixObject};
use std::collections::{BTreeMap, BTreeSet};

pub fn stix_error(e: StixError) -> ApiError {
    ApiError::new("invalid_input", format!("invalid STIX: {e}"))
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
    let tlp = strictest(a.objects.iter().flat_map(|o| o.marking_refs.iter()))
        .or_else(|| Tlp::parse(&default_tlp))
        .unwrap_or(Tlp::Amber);
    let acks = referenced_releases(app, caller, &a.objects);
    let cmd = Command::SubmitIntel {
        tlp: tlp.as_str().into(),
        precedence: a.precedence,
        recipients: a.recipients,
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

/// The supervisor's decision: redactions applied, recipients clamped to the marking.
pub async fn decide(
    app: &App,
    caller: &Caller,
    sig: Option<AuthorSignature>,
    id: u64,
    a: DecideArgs,
) -> Result<Outcome, ApiError> {
    let kind = match a.decision.as_str() {
        "approve" => DecisionKind::Approved,
        "reject" => DecisionKind::Rejected,
        "redact" => DecisionKind::Redacted,
        d => {
            return Err(ApiError::invalid(format!(
                "decision: {d:?} is not approve, reject or redact"
            )));
        }
    };
    if caller.party_role != PartyRole::Supervisor {
        return Err(ApiError::forbidden(
            "only the supervising party decides on releases",
        ));
    }
    let (sub, members, operators): (Submission, BTreeSet<String>, Vec<(String, String)>) = {
        let s = app.shared.state.read();
        let sub = s
            .intel
            .submissions
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("submission {id}")))?;
        let c = s
            .charter()
            .ok_or_else(|| ApiError::new("no_cell", "no cell"))?;
        let members = c
            .parties
            .iter()
            .filter(|p| p.role != PartyRole::Supervisor)
            .map(|p| p.id.clone())
            .collect();
        let ops = s
            .operators
            .values()
            .filter(|o| o.active)
            .map(|o| (o.spec.name.clone(), o.spec.party.clone()))
            .collect();
        (sub, members, ops)
    };
    if sub.decision.is_some() || sub.withdrawn.is_some() {
        return Err(ApiError::new(
            "invalid_state",
            format!("submission {id} is already {}", sub.state()),
        ));
    }
    let tlp = Tlp::parse(&sub.tlp).unwrap_or(Tlp::Red);
    let allow = allowed(
        tlp,
        &sub.party,
        &sub.recipients,
        &sub.recipient_operators,
        &members,
        &operators,
    );
    let to = clamp(a.recipients.as_ref(), &allow);
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
    let released = match kind {
        DecisionKind::Rejected => Vec::new(),
        DecisionKind::Approved => sub.objects.iter().map(|o| (**o).clone()).collect(),
        DecisionKind::Redacted => {
            let r = Redaction {
                remove_objects: a.remove_objects.iter().cloned().collect(),
                remove_properties: a
                    .remove_properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
                    .collect(),
            };
            if r.remove_objects.is_empty() && r.remove_properties.is_empty() {
                return Err(ApiError::invalid(
                    "a redaction names objects or properties to remove",
                ));
            }
            let ns = namespace(app);
            let release_time = stix_time(app.shared.clock.now());
            let ident = supervisor_identity(app);
            let out = apply(&originals, &r, &ident, &release_time, |orig| {
                let t = orig.split("--").next().unwrap_or("x-unknown");
                format!(
                    "{t}--{}",
                    uuid::Uuid::new_v5(&ns, format!("{orig}/redacted/{id}").as_bytes())
                )
            })
            .map_err(|e| {
                ApiError::new(
                    "unprocessable",
                    format!("the redaction would leave invalid STIX: {e}"),
                )
            })?;
            out.iter().map(to_core).collect()
        }
    };
    let cmd = Command::DecideIntel {
        submission: id,
        decision: kind,
        reason: a.reason,
        removed_objects: a.remove_objects,
        removed_properties: a.remove_properties,
        released,
        to_parties: to.parties,
        to_operators: to.operators,
    };
    app.command_signed(caller.actor(), sig, cmd).await
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
