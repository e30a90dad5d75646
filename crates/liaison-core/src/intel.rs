//! Intelligence sharing under supervision: a party submits STIX objects; nothing reaches
//! another party until the supervisor approves or redacts the release; recipients
//! acknowledge; the submitter can withdraw, which revokes what was released.
//!
//! Objects are carried as their raw JSON text, validated at the edge; the core never
//! parses them. TAXII collections are read models kept here, ordered by date added.

use crate::charter::Precedence;
use crate::time::Timestamp;
use crate::{OperatorName, PartyId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Most objects one submission may carry.
pub const MAX_OBJECTS: usize = 10_000;

/// A STIX object as sent, with the fields the collections index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntelObject {
    pub id: String,
    pub r#type: String,
    pub spec_version: String,
    pub version: String,
    pub raw: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approved,
    Rejected,
    Redacted,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Approved => "approved",
            DecisionKind::Rejected => "rejected",
            DecisionKind::Redacted => "redacted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The event that recorded the decision; its audience says who may read the release.
    pub seq: u64,
    pub kind: DecisionKind,
    pub reason: String,
    pub by: OperatorName,
    pub at: Timestamp,
    pub removed_objects: Vec<String>,
    pub removed_properties: BTreeMap<String, Vec<String>>,
    pub released: Vec<Arc<IntelObject>>,
    pub to_parties: BTreeSet<PartyId>,
    pub to_operators: BTreeSet<OperatorName>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub id: u64,
    pub party: PartyId,
    pub operator: OperatorName,
    pub at: Timestamp,
    pub tlp: String,
    pub precedence: Precedence,
    pub recipients: BTreeSet<PartyId>,
    pub recipient_operators: BTreeSet<OperatorName>,
    pub objects: Vec<Arc<IntelObject>>,
    pub decision: Option<Decision>,
    pub acknowledged: BTreeMap<PartyId, (Timestamp, OperatorName)>,
    pub withdrawn: Option<Timestamp>,
}

impl Submission {
    pub fn state(&self) -> &'static str {
        if self.withdrawn.is_some() {
            return "withdrawn";
        }
        match &self.decision {
            None => "pending",
            Some(d) if d.kind == DecisionKind::Rejected => "rejected",
            Some(_) => "released",
        }
    }
}

/// One object in one collection: when it was added there, and which submission brought it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub date_added: Timestamp,
    /// The event that added it; orders records added at the same time.
    pub seq: u64,
    pub submission: u64,
    pub object: Arc<IntelObject>,
    /// For RED releases: only these operators of the party may read it.
    pub operators: Option<BTreeSet<OperatorName>>,
}

#[derive(Clone, Debug, Default)]
pub struct Intel {
    pub submissions: BTreeMap<u64, Submission>,
    /// Per party: everything the party submitted, in every state.
    pub submitted: BTreeMap<PartyId, Vec<Record>>,
    /// Per party: everything released to it.
    pub inbox: BTreeMap<PartyId, Vec<Record>>,
    /// Every submission of every party, for the supervisor.
    pub review: Vec<Record>,
    /// Objects deleted from a collection: (party, collection) → (id, version).
    pub deleted: BTreeMap<(PartyId, String), BTreeSet<(String, String)>>,
}

use crate::charter::{OperatorRole, PartyRole};
use crate::command::{Actor, Command, Draft};
use crate::deadline::{Duty, ObligationKey};
use crate::error::DomainError;
use crate::event::{Audience, Event, EventBody};
use crate::state::State;

fn submission(state: &State, id: u64) -> Result<&Submission, DomainError> {
    state
        .intel
        .submissions
        .get(&id)
        .ok_or_else(|| DomainError::not_found(format!("submission {id}")))
}

fn with_supervisor(state: &State, mut parties: BTreeSet<PartyId>) -> BTreeSet<PartyId> {
    if let Some(s) = state.supervisor_party() {
        parties.insert(s.clone());
    }
    parties
}

/// Who may read a decision: the submitter, the supervisor, the recipient parties, and
/// for TLP:RED only the named operators of the recipients.
fn decision_audience(
    state: &State,
    sub: &Submission,
    to_parties: &BTreeSet<PartyId>,
    to_operators: &BTreeSet<OperatorName>,
) -> Audience {
    let base = with_supervisor(state, [sub.party.clone()].into());
    if to_operators.is_empty() {
        Audience::Parties(base.union(to_parties).cloned().collect())
    } else {
        Audience::Operators {
            parties: base,
            operators: to_operators.clone(),
        }
    }
}

/// Codes of a decision's refusals (each in the wire crate's error table).
pub const DECISION_INCONSISTENT: &str = "decision_inconsistent";
pub const UNKNOWN_OBJECT: &str = "unknown_object";
pub const RECIPIENT_NOT_ALLOWED: &str = "recipient_not_allowed";

/// Hex SHA-256 of an object's bytes, as the decision event records it.
pub fn sha256_hex(raw: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(raw.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The submission `actor` may decide on now: only an operator of the supervising party
/// with role supervisor, and only while the submission is pending. The writer's decider
/// asks this before it builds the release, against the state it commits to.
pub fn decidable<'a>(
    state: &'a State,
    actor: &Actor,
    id: u64,
) -> Result<&'a Submission, DomainError> {
    crate::command::require_supervisor(actor, "decide on intelligence")?;
    let sub = submission(state, id)?;
    if sub.decision.is_some() || sub.withdrawn.is_some() {
        return Err(DomainError::InvalidState(format!(
            "submission {id} is already {}",
            sub.state()
        )));
    }
    Ok(sub)
}

fn inconsistent(message: impl Into<String>) -> DomainError {
    DomainError::refused(DECISION_INCONSISTENT, message)
}

/// Every field of a decision agrees with the others and with the submission: an
/// approval releases the submission byte for byte and removes nothing; a redaction
/// removes what exists and releases no submitted id other than byte for byte; a
/// rejection releases nothing to no one.
fn check_decision(
    sub: &Submission,
    kind: DecisionKind,
    reason: &str,
    removed_objects: &[String],
    removed_properties: &BTreeMap<String, Vec<String>>,
    released: &[IntelObject],
) -> Result<(), DomainError> {
    let removes = !removed_objects.is_empty() || !removed_properties.is_empty();
    match kind {
        DecisionKind::Rejected => {
            if reason.trim().is_empty() {
                return Err(DomainError::invalid(
                    "reason",
                    "a rejection gives its reason",
                ));
            }
            if removes || !released.is_empty() {
                return Err(inconsistent(
                    "a rejection releases nothing: it names no objects or properties to remove",
                ));
            }
            return Ok(());
        }
        DecisionKind::Approved => {
            if removes {
                return Err(inconsistent(
                    "an approval releases the submission as submitted; to remove objects or properties, decide redact",
                ));
            }
            let same = released.len() == sub.objects.len()
                && released.iter().zip(&sub.objects).all(|(r, o)| *r == **o);
            if !same {
                return Err(inconsistent(
                    "an approval releases exactly the submitted objects",
                ));
            }
        }
        DecisionKind::Redacted => {
            if !removes {
                return Err(inconsistent(
                    "a redaction names objects or properties to remove",
                ));
            }
            let submitted: BTreeSet<&str> = sub.objects.iter().map(|o| o.id.as_str()).collect();
            let mut touched = BTreeSet::new();
            for o in removed_objects {
                if !submitted.contains(o.as_str()) {
                    return Err(DomainError::refused(
                        UNKNOWN_OBJECT,
                        format!("{o}: no such object in submission {}", sub.id),
                    ));
                }
                if !touched.insert(o.as_str()) {
                    return Err(inconsistent(format!("{o}: removed twice")));
                }
            }
            for (o, props) in removed_properties {
                if !submitted.contains(o.as_str()) {
                    return Err(DomainError::refused(
                        UNKNOWN_OBJECT,
                        format!("{o}: no such object in submission {}", sub.id),
                    ));
                }
                if !touched.insert(o.as_str()) {
                    return Err(inconsistent(format!(
                        "{o}: removed whole and redacted at once"
                    )));
                }
                let distinct: BTreeSet<&String> = props.iter().collect();
                if props.is_empty() || distinct.len() != props.len() {
                    return Err(inconsistent(format!(
                        "{o}: name each property to remove once"
                    )));
                }
            }
            if released.is_empty() {
                return Err(DomainError::invalid("objects", "nothing would be released"));
            }
            for r in released {
                let as_submitted = sub.objects.iter().any(|o| **o == *r);
                if touched.contains(r.id.as_str())
                    || (submitted.contains(r.id.as_str()) && !as_submitted)
                {
                    return Err(inconsistent(format!(
                        "{}: an object released under a submitted id is released as submitted, and a redacted or removed one not at all",
                        r.id
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Recipients are parties of the cell other than the submitter and the supervisor,
/// within what the submission's marking allows: CLEAR and GREEN any, AMBER only the
/// parties the submitter named, RED only the operators it named (each of whose parties
/// is a recipient, and each recipient party through one of them).
fn check_recipients(
    state: &State,
    sub: &Submission,
    to_parties: &BTreeSet<PartyId>,
    to_operators: &BTreeSet<OperatorName>,
) -> Result<(), DomainError> {
    let not_allowed = |m: String| DomainError::refused(RECIPIENT_NOT_ALLOWED, m);
    if to_parties.is_empty() {
        return Err(not_allowed(
            "the marking allows no recipient: name recipient parties (AMBER) or operators (RED) in the submission".into(),
        ));
    }
    let red = sub.tlp == "red";
    let named_only = red || sub.tlp == "amber" || sub.tlp == "amber+strict";
    for p in to_parties {
        let member = state
            .party_role(p)
            .is_some_and(|r| r != PartyRole::Supervisor);
        if !member || *p == sub.party || (named_only && !red && !sub.recipients.contains(p)) {
            return Err(not_allowed(format!(
                "TLP:{} submission {} may not be released to party {p}",
                sub.tlp.to_ascii_uppercase(),
                sub.id
            )));
        }
    }
    if red == to_operators.is_empty() {
        return Err(not_allowed(
            "a TLP:RED release names its operators, and only a TLP:RED release does".into(),
        ));
    }
    let mut reached = BTreeSet::new();
    for o in to_operators {
        let party = state
            .operator(o)
            .filter(|op| op.active)
            .map(|op| &op.spec.party);
        match party {
            Some(p) if to_parties.contains(p) && sub.recipient_operators.contains(o) => {
                reached.insert(p);
            }
            _ => {
                return Err(not_allowed(format!(
                    "TLP:RED submission {} may not be released to operator {o}",
                    sub.id
                )));
            }
        }
    }
    if red && let Some(p) = to_parties.iter().find(|p| !reached.contains(p)) {
        return Err(not_allowed(format!(
            "party {p} would receive nothing: none of its operators is a recipient"
        )));
    }
    Ok(())
}

/// A marking that releases only to named recipients (AMBER to parties, RED to
/// operators) must name at least one the supervisor could release to: a member or
/// observer party other than the submitter's own, or an active operator of one.
/// Otherwise the submission could only ever be rejected, so it is refused now.
fn needs_recipients(
    state: &State,
    tlp: &str,
    own: &PartyId,
    recipients: &BTreeSet<PartyId>,
    operators: &BTreeSet<OperatorName>,
) -> Result<(), DomainError> {
    let receiver = |p: &PartyId| {
        p != own
            && state
                .party_role(p)
                .is_some_and(|r| r != PartyRole::Supervisor)
    };
    match tlp {
        "amber" | "amber+strict" if !recipients.iter().any(receiver) => Err(DomainError::invalid(
            "recipients",
            format!(
                "TLP:{} is released only to the parties the submitter names: name at least one member or observer party other than your own (--to)",
                tlp.to_ascii_uppercase()
            ),
        )),
        "red"
            if !operators.iter().any(|o| {
                state
                    .operator(o)
                    .is_some_and(|op| op.active && receiver(&op.spec.party))
            }) =>
        {
            Err(DomainError::invalid(
                "recipient_operators",
                "TLP:RED is released only to the operators the submitter names: name at least one active operator of another member or observer party (--to-operators)",
            ))
        }
        _ => Ok(()),
    }
}

pub(crate) fn decide(
    state: &State,
    actor: &Actor,
    command: &Command,
    now: Timestamp,
) -> Result<Vec<Draft>, DomainError> {
    let charter = state.charter().ok_or(DomainError::NoCell)?;
    match command {
        Command::SubmitIntel {
            tlp,
            precedence,
            recipients,
            recipient_operators,
            objects,
        } => {
            let Actor::Operator {
                party,
                role,
                party_role,
                ..
            } = actor
            else {
                return Err(DomainError::forbidden("intelligence comes from parties"));
            };
            if *party_role == PartyRole::Supervisor || matches!(role, OperatorRole::Admin) {
                return Err(DomainError::forbidden(
                    "intelligence is submitted by member and observer parties' liaisons and analysts",
                ));
            }
            if objects.is_empty() || objects.len() > MAX_OBJECTS {
                return Err(DomainError::invalid(
                    "objects",
                    format!("submit 1-{MAX_OBJECTS} objects"),
                ));
            }
            for p in recipients {
                if charter.party(p).is_none() {
                    return Err(DomainError::invalid(
                        "recipients",
                        format!("unknown party {p:?}"),
                    ));
                }
            }
            for o in recipient_operators {
                if state.operator(o).is_none() {
                    return Err(DomainError::invalid(
                        "recipient_operators",
                        format!("unknown operator {o:?}"),
                    ));
                }
            }
            needs_recipients(state, tlp, party, recipients, recipient_operators)?;
            Ok(vec![Draft::to_parties(
                state,
                [party],
                EventBody::IntelSubmitted {
                    tlp: tlp.clone(),
                    precedence: *precedence,
                    recipients: recipients.clone(),
                    recipient_operators: recipient_operators.clone(),
                    objects: objects.clone(),
                },
            )])
        }
        Command::DecideIntel {
            submission: id,
            decision,
            reason,
            removed_objects,
            removed_properties,
            released,
            to_parties,
            to_operators,
        } => {
            let sub = decidable(state, actor, *id)?;
            check_decision(
                sub,
                *decision,
                reason,
                removed_objects,
                removed_properties,
                released,
            )?;
            if *decision != DecisionKind::Rejected {
                check_recipients(state, sub, to_parties, to_operators)?;
            }
            let audience = decision_audience(state, sub, to_parties, to_operators);
            Ok(vec![Draft {
                audience,
                concerns: to_parties
                    .iter()
                    .cloned()
                    .chain([sub.party.clone()])
                    .collect(),
                body: EventBody::IntelDecided {
                    submission: *id,
                    decision: *decision,
                    reason: reason.clone(),
                    removed_objects: removed_objects.clone(),
                    removed_properties: removed_properties.clone(),
                    released_sha256: released.iter().map(|o| sha256_hex(&o.raw)).collect(),
                    released: released.clone(),
                    to_parties: to_parties.clone(),
                    to_operators: to_operators.clone(),
                },
            }])
        }
        Command::AcknowledgeIntel {
            submission: id,
            note,
        } => {
            let Actor::Operator { name, party, .. } = actor else {
                return Err(DomainError::forbidden("acknowledgements come from people"));
            };
            let sub = submission(state, *id)?;
            let d = sub
                .decision
                .as_ref()
                .filter(|d| d.kind != DecisionKind::Rejected)
                .ok_or_else(|| DomainError::not_found(format!("released submission {id}")))?;
            if !d.to_parties.contains(party)
                || (!d.to_operators.is_empty() && !d.to_operators.contains(name))
            {
                return Err(DomainError::forbidden(format!(
                    "submission {id} was not released to {name}"
                )));
            }
            if sub.acknowledged.contains_key(party) {
                return Err(DomainError::InvalidState(format!(
                    "{party} already acknowledged submission {id}"
                )));
            }
            if let Some(n) = note {
                crate::command::check_text("note", n, 16 * 1024)?;
            }
            Ok(vec![Draft {
                audience: decision_audience(state, sub, &[party.clone()].into(), &d.to_operators),
                concerns: [sub.party.clone()].into(),
                body: EventBody::IntelAcknowledged {
                    submission: *id,
                    note: note.clone(),
                },
            }])
        }
        Command::WithdrawIntel {
            submission: id,
            revoked,
        } => {
            let Actor::Operator { party, .. } = actor else {
                return Err(DomainError::forbidden(
                    "withdrawals come from the submitter",
                ));
            };
            let sub = submission(state, *id)?;
            if &sub.party != party {
                return Err(DomainError::forbidden(
                    "only the submitting party may withdraw",
                ));
            }
            if sub.withdrawn.is_some() {
                return Err(DomainError::InvalidState(format!(
                    "submission {id} is already withdrawn"
                )));
            }
            let (to_parties, to_operators) = sub
                .decision
                .as_ref()
                .map(|d| (d.to_parties.clone(), d.to_operators.clone()))
                .unwrap_or_default();
            Ok(vec![Draft {
                audience: decision_audience(state, sub, &to_parties, &to_operators),
                concerns: to_parties.clone(),
                body: EventBody::IntelWithdrawn {
                    submission: *id,
                    revoked: revoked.clone(),
                },
            }])
        }
        Command::DeleteIntelObject {
            collection,
            object,
            version,
        } => {
            let Actor::Operator { party, .. } = actor else {
                return Err(DomainError::forbidden("collections belong to parties"));
            };
            Ok(vec![Draft::to_parties(
                state,
                [party],
                EventBody::IntelObjectDeleted {
                    collection: collection.clone(),
                    object: object.clone(),
                    version: version.clone(),
                },
            )])
        }
        _ => crate::deconfliction::decide(state, actor, command, now),
    }
}

fn record(
    at: Timestamp,
    seq: u64,
    submission: u64,
    object: &Arc<IntelObject>,
    operators: Option<&BTreeSet<OperatorName>>,
) -> Record {
    Record {
        date_added: at,
        seq,
        submission,
        object: object.clone(),
        operators: operators.cloned(),
    }
}

pub(crate) fn apply(state: &mut State, event: &Event) -> bool {
    let at = event.at;
    let by = event.author.operator.clone();
    let deadlines = state
        .charter()
        .map(|c| c.settings.deadlines.clone())
        .unwrap_or_default();
    match &event.body {
        EventBody::IntelSubmitted {
            tlp,
            precedence,
            recipients,
            recipient_operators,
            objects,
        } => {
            let objects: Vec<Arc<IntelObject>> = objects.iter().cloned().map(Arc::new).collect();
            let party = event.author.party.clone();
            for o in &objects {
                state
                    .intel
                    .submitted
                    .entry(party.clone())
                    .or_default()
                    .push(record(at, event.seq, event.seq, o, None));
                state
                    .intel
                    .review
                    .push(record(at, event.seq, event.seq, o, None));
            }
            state.intel.submissions.insert(
                event.seq,
                Submission {
                    id: event.seq,
                    party,
                    operator: by,
                    at,
                    tlp: tlp.clone(),
                    precedence: *precedence,
                    recipients: recipients.clone(),
                    recipient_operators: recipient_operators.clone(),
                    objects,
                    decision: None,
                    acknowledged: BTreeMap::new(),
                    withdrawn: None,
                },
            );
        }
        EventBody::IntelDecided {
            submission,
            decision,
            reason,
            removed_objects,
            removed_properties,
            released,
            to_parties,
            to_operators,
            ..
        } => {
            let released: Vec<Arc<IntelObject>> = released.iter().cloned().map(Arc::new).collect();
            let ops = (!to_operators.is_empty()).then_some(to_operators);
            let mut waiting = BTreeSet::new();
            let mut precedence = crate::charter::Precedence::Routine;
            if let Some(s) = state.intel.submissions.get_mut(submission) {
                waiting.insert(s.party.clone());
                precedence = s.precedence;
                s.decision = Some(Decision {
                    seq: event.seq,
                    kind: *decision,
                    reason: reason.clone(),
                    by,
                    at,
                    removed_objects: removed_objects.clone(),
                    removed_properties: removed_properties.clone(),
                    released: released.clone(),
                    to_parties: to_parties.clone(),
                    to_operators: to_operators.clone(),
                });
            }
            if *decision != DecisionKind::Rejected {
                for p in to_parties {
                    let inbox = state.intel.inbox.entry(p.clone()).or_default();
                    for o in &released {
                        inbox.push(record(at, event.seq, *submission, o, ops));
                    }
                    state.obligations.open(
                        ObligationKey::new(
                            Duty::AcknowledgeRelease,
                            submission.to_string(),
                            p.clone(),
                        ),
                        waiting.clone(),
                        at,
                        deadlines.for_precedence(precedence),
                        deadlines.second_level,
                    );
                }
            }
        }
        EventBody::IntelAcknowledged { submission, .. } => {
            let party = event.author.party.clone();
            if let Some(s) = state.intel.submissions.get_mut(submission) {
                s.acknowledged.insert(party.clone(), (at, by.clone()));
            }
            state.obligations.meet(
                &ObligationKey::new(Duty::AcknowledgeRelease, submission.to_string(), party),
                at,
                &by,
            );
        }
        EventBody::IntelWithdrawn {
            submission,
            revoked,
        } => {
            let revoked: Vec<Arc<IntelObject>> = revoked.iter().cloned().map(Arc::new).collect();
            let mut targets = Vec::new();
            if let Some(s) = state.intel.submissions.get_mut(submission) {
                s.withdrawn = Some(at);
                if let Some(d) = &s.decision
                    && d.kind != DecisionKind::Rejected
                {
                    targets = d.to_parties.iter().cloned().collect();
                    let ops = (!d.to_operators.is_empty()).then_some(d.to_operators.clone());
                    for p in &targets {
                        let inbox = state.intel.inbox.entry(p.clone()).or_default();
                        for o in &revoked {
                            inbox.push(record(at, event.seq, *submission, o, ops.as_ref()));
                        }
                    }
                }
            }
            state
                .obligations
                .meet_all(&Duty::AcknowledgeRelease, &submission.to_string(), at, &by);
            let _ = targets;
        }
        EventBody::IntelObjectDeleted {
            collection,
            object,
            version,
        } => {
            state
                .intel
                .deleted
                .entry((event.author.party.clone(), collection.clone()))
                .or_default()
                .insert((object.clone(), version.clone().unwrap_or_default()));
        }
        _ => return crate::deconfliction::apply(state, event),
    }
    true
}
