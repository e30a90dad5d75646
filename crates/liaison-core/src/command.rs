//! Commands and the decision function: the only place rules about who may do what, and
//! in which state of the cell, are written down.

use crate::charter::{
    Charter, OperatorRole, OperatorSpec, PartyRole, Precedence, check_id, check_role_fits,
};
use crate::deconfliction::{Conflict, Shape, SiteCategory, Stance, ZoneKind, ZoneRules};
use crate::error::DomainError;
use crate::event::{Audience, EventBody};
use crate::hotline::AttachmentRef;
use crate::incident::{Category, Outcome, Place, TimePrecision};
use crate::intel::{DecisionKind, IntelObject};
use crate::state::{CellStatus, State};
use crate::time::Duration;
use crate::time::Timestamp;
use crate::{OperatorName, PartyId};
use std::collections::BTreeMap;
use std::collections::BTreeSet;

/// Who is issuing a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Operator {
        name: OperatorName,
        party: PartyId,
        role: OperatorRole,
        party_role: PartyRole,
    },
    /// The cell itself: bootstrap from a charter file, deadlines firing.
    System,
}

impl Actor {
    pub fn of(state: &State, name: &str) -> Option<Actor> {
        let op = state.operator(name)?;
        if !op.can_act() {
            return None;
        }
        let party_role = state.party_role(&op.spec.party)?;
        Some(Actor::Operator {
            name: op.spec.name.clone(),
            party: op.spec.party.clone(),
            role: op.spec.role,
            party_role,
        })
    }

    /// Whether this actor, authenticated earlier (with the token whose hash is
    /// `token_hash`, and the signing key `key_id`), still stands as itself in `state`:
    /// the operator is still active, with the same party and role, the token it
    /// presented is still its token, and the key that signed is still its active key.
    /// The writer asks this of every request against the state it decides on, so a
    /// request queued before a disable, a rotation or a revocation and decided after it
    /// is refused. `None` means the request carries no token (or no signature) to check.
    pub fn still_stands(
        &self,
        state: &State,
        token_hash: Option<&str>,
        key_id: Option<&str>,
    ) -> Result<(), DomainError> {
        let Actor::Operator { name, .. } = self else {
            return Ok(());
        };
        if Actor::of(state, name).as_ref() != Some(self) {
            return Err(DomainError::CredentialsChanged(format!(
                "operator {name} was disabled or changed after this request was authenticated"
            )));
        }
        let op = state.operator(name);
        if let Some(hash) = token_hash
            && op.is_none_or(|o| o.token_hash != hash)
        {
            return Err(DomainError::CredentialsChanged(format!(
                "the token of {name} was rotated after this request was authenticated"
            )));
        }
        if let Some(key_id) = key_id
            && op.and_then(|o| o.active_key()).map(|k| k.key_id.as_str()) != Some(key_id)
        {
            return Err(DomainError::CredentialsChanged(format!(
                "key {key_id} is no longer active for {name}"
            )));
        }
        Ok(())
    }

    /// Whether this actor may be served over `connection` in `state`: its party's
    /// charter entry decides ([`crate::charter::Party::admits`]). The edge asks this
    /// when it authenticates every request, reads included, and the writer asks it
    /// again of every write against the state it decides on. The cell itself always may.
    pub fn check_connection(
        &self,
        state: &State,
        connection: &crate::charter::Connection,
    ) -> Result<(), DomainError> {
        let Actor::Operator { party, .. } = self else {
            return Ok(());
        };
        let charter = state.charter().ok_or(DomainError::NoCell)?;
        let party = charter.party(party).ok_or_else(|| {
            DomainError::forbidden(format!("party {party} is not in the charter"))
        })?;
        party.admits(connection)
    }

    pub fn party(&self) -> Option<&str> {
        match self {
            Actor::Operator { party, .. } => Some(party),
            Actor::System => None,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Actor::Operator { name, .. } => name,
            Actor::System => crate::event::SYSTEM_OPERATOR,
        }
    }

    pub fn is_supervisor(&self) -> bool {
        matches!(
            self,
            Actor::Operator {
                role: OperatorRole::Supervisor,
                party_role: PartyRole::Supervisor,
                ..
            }
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Creates the cell from a validated charter; only the system may do this, once.
    CreateCell {
        charter: Charter,
        log_vkey: String,
        token_hashes: Vec<(OperatorName, String)>,
        /// Signing keys made at creation: (operator, base64 public key, key id).
        keys: Vec<(OperatorName, String, String)>,
    },
    ApproveCell,
    /// An operator command stated by the operator's party under its own key (pinned in
    /// the charter), so it stands whatever the carrying operator's role: adding,
    /// enabling, disabling and rotating the party's operators, registering its witness.
    /// The edge has checked the party's signature; the core checks what it may cover.
    AsParty(Box<Command>),
    SuspendCell {
        reason: String,
    },
    ResumeCell,
    AddOperator {
        spec: OperatorSpec,
        token_hash: String,
        /// The new operator's signing key (base64 public key, key id), when its party's
        /// admin enrols one with it; the edge checks its syntax.
        key: Option<(String, String)>,
    },
    DisableOperator {
        name: OperatorName,
    },
    /// The supervising party suspends any operator pending review (and nothing more).
    SuspendOperator {
        name: OperatorName,
        reason: String,
    },
    /// The supervising party lifts its suspension.
    ReinstateOperator {
        name: OperatorName,
    },
    EnableOperator {
        name: OperatorName,
    },
    RotateToken {
        name: OperatorName,
        token_hash: String,
    },
    /// Registers (or replaces) the caller's party's witness key; the edge checks its syntax.
    RegisterWitness {
        vkey: String,
    },
    /// Registers (or rotates to) an Ed25519 key that signs the operator's submissions.
    RegisterKey {
        public_key: String,
        key_id: String,
    },
    /// Revokes the operator's signing key.
    RevokeKey {
        key_id: String,
    },
    SendMessage {
        to: BTreeSet<PartyId>,
        precedence: Precedence,
        subject: String,
        body: String,
        language: String,
        emergency: bool,
        test: bool,
        attachments: Vec<AttachmentRef>,
    },
    MarkDelivered {
        message: u64,
    },
    /// Records delivery of many messages at once (pushed to a connected client).
    MarkDeliveredMany {
        messages: Vec<u64>,
    },
    MarkRead {
        message: u64,
    },
    AcknowledgeMessage {
        message: u64,
        reply: Option<String>,
    },
    TranslateMessage {
        message: u64,
        language: String,
        text: String,
    },
    CloseEmergency {
        message: u64,
        reason: String,
    },
    /// The cell's clock: escalate every obligation whose deadline has passed.
    EscalateDue {
        limit: usize,
    },
    ReportIncident {
        category: Category,
        precedence: Precedence,
        occurred_at: Timestamp,
        precision: TimePrecision,
        place: Place,
        description: String,
        attributed_to: Option<PartyId>,
        links: Vec<String>,
        attachments: Vec<AttachmentRef>,
    },
    AcknowledgeIncident {
        incident: u64,
    },
    /// The reporting party corrects what it reported (the category, the place, the
    /// time); the earlier values stay in the record and in the incident's history.
    CorrectIncident {
        incident: u64,
        category: Option<Category>,
        place: Option<Place>,
        occurred_at: Option<Timestamp>,
        precision: Option<TimePrecision>,
        reason: String,
    },
    /// The reporting party withdraws its report; what was said stays in the record.
    WithdrawIncident {
        incident: u64,
        reason: String,
    },
    SubmitAccount {
        incident: u64,
        text: String,
        disowned: bool,
        answers: Option<u32>,
        attachments: Vec<AttachmentRef>,
    },
    RequestInformation {
        incident: u64,
        party: PartyId,
        question: String,
        within: Duration,
    },
    RecordFinding {
        incident: u64,
        text: String,
    },
    CloseIncident {
        incident: u64,
        outcome: Outcome,
        measures: String,
    },
    /// Objects validated at the edge; the marking and recipients chosen by the submitter.
    SubmitIntel {
        tlp: String,
        precedence: Precedence,
        recipients: BTreeSet<PartyId>,
        recipient_operators: BTreeSet<OperatorName>,
        objects: Vec<IntelObject>,
    },
    /// The supervisor's decision; the edge has applied the redactions and clamped the
    /// recipients to what the marking allows.
    DecideIntel {
        submission: u64,
        decision: DecisionKind,
        reason: String,
        removed_objects: Vec<String>,
        removed_properties: BTreeMap<String, Vec<String>>,
        released: Vec<IntelObject>,
        to_parties: BTreeSet<PartyId>,
        to_operators: BTreeSet<OperatorName>,
    },
    AcknowledgeIntel {
        submission: u64,
        note: Option<String>,
    },
    WithdrawIntel {
        submission: u64,
        revoked: Vec<IntelObject>,
    },
    DeleteIntelObject {
        collection: String,
        object: String,
        version: Option<String>,
    },
    RegisterSite {
        site: Option<u64>,
        names: BTreeMap<String, String>,
        category: SiteCategory,
        shape: Shape,
        /// Unread CoT `<detail>` children to keep with this version (see `SiteRegistered`).
        cot_detail: Option<String>,
    },
    ConfirmSite {
        site: u64,
    },
    /// A party other than a site's registrant proposes a new version of it.
    ProposeSiteChange {
        site: u64,
        names: BTreeMap<String, String>,
        category: SiteCategory,
        shape: Shape,
        cot_detail: Option<String>,
    },
    /// The registrant accepts (recording the new version) or rejects a proposed change.
    AnswerSiteChange {
        proposal: u64,
        accept: bool,
        text: String,
    },
    RegisterZone {
        zone: Option<u64>,
        name: String,
        kind: ZoneKind,
        shape: Shape,
        rules: ZoneRules,
        note: String,
    },
    TakeZoneStance {
        zone: u64,
        stance: Stance,
    },
    GrantWaiver {
        zone: u64,
        rules: BTreeSet<String>,
        kinds: BTreeSet<String>,
        start: Timestamp,
        end: Timestamp,
        text: String,
    },
    ApproveWaiver {
        waiver: u64,
    },
    /// A notification with the conflicts the engine found at the edge.
    FileNotification {
        kind: String,
        shape: Shape,
        alt_min_m: f64,
        alt_max_m: f64,
        start: Timestamp,
        end: Timestamp,
        forces: String,
        precedence: Precedence,
        conflicts: Vec<Conflict>,
        /// The filer's earlier notification this one replaces.
        amends: Option<u64>,
    },
    /// The filer withdraws its notification.
    WithdrawNotification {
        notification: u64,
        reason: String,
    },
    /// Several notifications filed as one decision, all or none: each must be a
    /// `FileNotification`; each gets its own events, numbered as if filed one by one.
    FileNotifications {
        notices: Vec<Command>,
    },
    AnswerNotification {
        notification: u64,
        objection: bool,
        text: String,
    },
    /// Cooperation business: proposals, screening, answers, commitments.
    Cooperation(crate::cooperation::CoopCommand),
}

impl Command {
    /// Charter business is all a cell accepts while pending approval or suspended.
    pub fn is_charter_business(&self) -> bool {
        if let Command::AsParty(inner) = self {
            return inner.is_charter_business();
        }
        matches!(
            self,
            Command::CreateCell { .. }
                | Command::ApproveCell
                | Command::SuspendCell { .. }
                | Command::ResumeCell
                | Command::AddOperator { .. }
                | Command::DisableOperator { .. }
                | Command::SuspendOperator { .. }
                | Command::ReinstateOperator { .. }
                | Command::EnableOperator { .. }
                | Command::RotateToken { .. }
                | Command::RegisterWitness { .. }
                | Command::RegisterKey { .. }
                | Command::RevokeKey { .. }
        )
    }
}

/// An event before it has a sequence number, a time and an author.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub audience: Audience,
    pub concerns: BTreeSet<PartyId>,
    pub body: EventBody,
}

impl Draft {
    pub fn everyone(body: EventBody) -> Draft {
        Draft {
            audience: Audience::Everyone,
            concerns: BTreeSet::new(),
            body,
        }
    }

    /// An event for the given parties; the supervising party is always added.
    pub fn to_parties<'a>(
        state: &State,
        parties: impl IntoIterator<Item = &'a String>,
        body: EventBody,
    ) -> Draft {
        let mut set: BTreeSet<PartyId> = parties.into_iter().cloned().collect();
        let concerns = set.clone();
        if let Some(s) = state.supervisor_party() {
            set.insert(s.clone());
        }
        Draft {
            audience: Audience::Parties(set),
            concerns,
            body,
        }
    }
}

/// Refuses anything but charter business while the cell is not active.
pub fn require_active(state: &State) -> Result<(), DomainError> {
    match state.cell.as_ref().map(|c| c.status) {
        None => Err(DomainError::NoCell),
        Some(CellStatus::PendingApproval) => Err(DomainError::CellPendingApproval),
        Some(CellStatus::Suspended) => Err(DomainError::CellSuspended),
        Some(CellStatus::Active) => Ok(()),
    }
}

/// Decides a command against the state at time `now`. Pure: the same inputs give the
/// same drafts. Nothing is written when this returns an error.
pub fn decide(
    state: &State,
    actor: &Actor,
    command: &Command,
    now: Timestamp,
) -> Result<Vec<Draft>, DomainError> {
    decide_as(state, actor, command, now, false)
}

/// Decides a command; `by_party` when it is its party's statement ([`Command::AsParty`]),
/// which stands in for the role of an admin of that party.
fn decide_as(
    state: &State,
    actor: &Actor,
    command: &Command,
    now: Timestamp,
    by_party: bool,
) -> Result<Vec<Draft>, DomainError> {
    if !command.is_charter_business() {
        require_active(state)?;
    }
    match command {
        Command::AsParty(inner) => {
            if by_party {
                return Err(DomainError::invalid(
                    "statement",
                    "a party's statement holds one command",
                ));
            }
            require_party_statement(state, actor, inner)?;
            decide_as(state, actor, inner, now, true)
        }
        Command::CreateCell {
            charter,
            log_vkey,
            token_hashes,
            keys,
        } => {
            if actor != &Actor::System {
                return Err(DomainError::forbidden("only `liaison init` creates a cell"));
            }
            if state.cell.is_some() {
                return Err(DomainError::AlreadyExists(
                    "this data directory already holds a cell".into(),
                ));
            }
            charter
                .validate()
                .map_err(|e| DomainError::invalid(e.field, e.message))?;
            if let Some(pinned) = &charter.log_key
                && pinned != log_vkey
            {
                return Err(DomainError::refused(
                    "log_key_mismatch",
                    format!(
                        "the charter pins the log key {pinned} but the cell would be created with {log_vkey}"
                    ),
                ));
            }
            let mut drafts = vec![Draft::everyone(EventBody::CellCreated {
                charter: Charter {
                    operators: Vec::new(),
                    ..charter.clone()
                },
                log_vkey: log_vkey.clone(),
            })];
            let supervisor = charter
                .supervisor()
                .map(|p| p.id.clone())
                .unwrap_or_default();
            for spec in &charter.operators {
                let hash = token_hashes
                    .iter()
                    .find(|(n, _)| n == &spec.name)
                    .map(|(_, h)| h.clone())
                    .ok_or_else(|| {
                        DomainError::invalid("operators", format!("no token for {}", spec.name))
                    })?;
                let mut audience: BTreeSet<PartyId> = [spec.party.clone()].into();
                audience.insert(supervisor.clone());
                drafts.push(Draft {
                    audience: Audience::Parties(audience),
                    concerns: [spec.party.clone()].into(),
                    body: EventBody::OperatorAdded {
                        operator: spec.clone(),
                        token_hash: hash,
                    },
                });
                for (_, public_key, key_id) in keys.iter().filter(|(n, _, _)| n == &spec.name) {
                    drafts.push(enrolled_key(spec, public_key, key_id)?);
                }
            }
            if let Some((n, _, _)) = keys
                .iter()
                .find(|(n, _, _)| !charter.operators.iter().any(|o| &o.name == n))
            {
                return Err(DomainError::invalid(
                    "keys",
                    format!("{n} is not an operator of the charter"),
                ));
            }
            Ok(drafts)
        }
        Command::ApproveCell => {
            require_supervisor(actor, "approve the charter")?;
            match state.cell.as_ref().map(|c| c.status) {
                Some(CellStatus::PendingApproval) => {
                    Ok(vec![Draft::everyone(EventBody::CellApproved {})])
                }
                Some(s) => Err(DomainError::InvalidState(format!(
                    "the cell is already {}",
                    s.as_str()
                ))),
                None => Err(DomainError::NoCell),
            }
        }
        Command::SuspendCell { reason } => {
            require_supervisor(actor, "suspend the cell")?;
            check_text("reason", reason, 2000)?;
            match state.cell.as_ref().map(|c| c.status) {
                Some(CellStatus::Active) => Ok(vec![Draft::everyone(EventBody::CellSuspended {
                    reason: reason.clone(),
                })]),
                Some(s) => Err(DomainError::InvalidState(format!(
                    "only an active cell can be suspended; it is {}",
                    s.as_str()
                ))),
                None => Err(DomainError::NoCell),
            }
        }
        Command::ResumeCell => {
            require_supervisor(actor, "resume the cell")?;
            match state.cell.as_ref().map(|c| c.status) {
                Some(CellStatus::Suspended) => Ok(vec![Draft::everyone(EventBody::CellResumed {})]),
                Some(s) => Err(DomainError::InvalidState(format!(
                    "only a suspended cell can be resumed; it is {}",
                    s.as_str()
                ))),
                None => Err(DomainError::NoCell),
            }
        }
        Command::AddOperator {
            spec,
            token_hash,
            key,
        } => {
            let charter = state.charter().ok_or(DomainError::NoCell)?;
            require_admin_or_party(actor, &spec.party, by_party)?;
            check_id("name", &spec.name).map_err(|e| DomainError::invalid(e.field, e.message))?;
            if state.operator(&spec.name).is_some() {
                return Err(DomainError::AlreadyExists(format!(
                    "operator {:?} already exists",
                    spec.name
                )));
            }
            let party = charter.party(&spec.party).ok_or_else(|| {
                DomainError::invalid("party", format!("unknown party {:?}", spec.party))
            })?;
            check_role_fits(party.role, spec.role).map_err(|m| DomainError::invalid("role", m))?;
            if state.operators.len() >= crate::charter::MAX_OPERATORS {
                return Err(DomainError::InvalidState(
                    "the cell has reached its operator limit".into(),
                ));
            }
            let mut drafts = vec![Draft::to_parties(
                state,
                [&spec.party],
                EventBody::OperatorAdded {
                    operator: spec.clone(),
                    token_hash: token_hash.clone(),
                },
            )];
            if let Some((public_key, key_id)) = key {
                drafts.push(enrolled_key(spec, public_key, key_id)?);
            }
            Ok(drafts)
        }
        Command::DisableOperator { name } | Command::EnableOperator { name } => {
            let op = state
                .operator(name)
                .ok_or_else(|| DomainError::not_found(format!("operator {name:?}")))?;
            require_admin_or_party(actor, &op.spec.party, by_party)?;
            let disable = matches!(command, Command::DisableOperator { .. });
            if let Actor::Operator { name: me, .. } = actor
                && me == name
                && disable
            {
                return Err(DomainError::InvalidState(
                    "an operator cannot disable itself".into(),
                ));
            }
            if disable && !op.active {
                return Err(DomainError::InvalidState(format!(
                    "operator {name:?} is already disabled"
                )));
            }
            if !disable && op.active {
                return Err(DomainError::InvalidState(format!(
                    "operator {name:?} is already enabled"
                )));
            }
            let body = if disable {
                EventBody::OperatorDisabled { name: name.clone() }
            } else {
                EventBody::OperatorEnabled { name: name.clone() }
            };
            Ok(vec![Draft::to_parties(state, [&op.spec.party], body)])
        }
        Command::SuspendOperator { name, reason } => {
            require_supervising(actor, "suspend an operator")?;
            check_text("reason", reason, 2000)?;
            if reason.trim().is_empty() {
                return Err(DomainError::invalid(
                    "reason",
                    "say why the operator is suspended",
                ));
            }
            let op = state
                .operator(name)
                .ok_or_else(|| DomainError::not_found(format!("operator {name:?}")))?;
            if actor.name() == name {
                return Err(DomainError::InvalidState(
                    "an operator cannot suspend itself".into(),
                ));
            }
            if op.suspended.is_some() {
                return Err(DomainError::InvalidState(format!(
                    "operator {name:?} is already suspended"
                )));
            }
            // Every party sees a suspension and its reason.
            Ok(vec![Draft {
                audience: Audience::Everyone,
                concerns: [op.spec.party.clone()].into(),
                body: EventBody::OperatorSuspended {
                    name: name.clone(),
                    reason: reason.clone(),
                },
            }])
        }
        Command::ReinstateOperator { name } => {
            require_supervising(actor, "reinstate an operator")?;
            let op = state
                .operator(name)
                .ok_or_else(|| DomainError::not_found(format!("operator {name:?}")))?;
            if op.suspended.is_none() {
                return Err(DomainError::InvalidState(format!(
                    "operator {name:?} is not suspended"
                )));
            }
            Ok(vec![Draft {
                audience: Audience::Everyone,
                concerns: [op.spec.party.clone()].into(),
                body: EventBody::OperatorReinstated { name: name.clone() },
            }])
        }
        Command::RotateToken { name, token_hash } => {
            let op = state
                .operator(name)
                .ok_or_else(|| DomainError::not_found(format!("operator {name:?}")))?;
            let own = matches!(actor, Actor::Operator { name: me, .. } if me == name);
            if !own {
                require_admin_or_party(actor, &op.spec.party, by_party)?;
            }
            Ok(vec![Draft::to_parties(
                state,
                [&op.spec.party],
                EventBody::OperatorTokenRotated {
                    name: name.clone(),
                    token_hash: token_hash.clone(),
                },
            )])
        }
        Command::RegisterWitness { vkey } => {
            let Actor::Operator { party, role, .. } = actor else {
                return Err(DomainError::forbidden("witnesses belong to parties"));
            };
            if *role != OperatorRole::Admin && !by_party {
                return Err(DomainError::forbidden(
                    "only an admin of the party, or the party's own statement, registers the party's witness",
                ));
            }
            check_text("vkey", vkey, 400)?;
            let pinned = state
                .charter()
                .and_then(|c| c.party(party))
                .and_then(|p| p.witness.as_ref());
            if let Some(pinned) = pinned {
                return Err(DomainError::refused(
                    "witness_pinned",
                    if pinned == vkey {
                        format!(
                            "the charter pins {party}'s witness key {pinned}: it is in force already"
                        )
                    } else {
                        format!(
                            "the charter pins {party}'s witness key {pinned}; no other key may be registered for {party}"
                        )
                    },
                ));
            }
            Ok(vec![Draft::everyone(EventBody::WitnessKeyRegistered {
                party: party.clone(),
                vkey: vkey.clone(),
            })])
        }
        Command::RegisterKey { public_key, key_id } => {
            let Actor::Operator { name, party, .. } = actor else {
                return Err(DomainError::forbidden("keys belong to operators"));
            };
            check_text("public_key", public_key, 200)?;
            check_text("key_id", key_id, 64)?;
            // Every party may read a public key, to check the signatures of the events
            // it reads.
            Ok(vec![Draft {
                audience: Audience::Everyone,
                concerns: [party.clone()].into(),
                body: EventBody::OperatorKeyRegistered {
                    name: name.clone(),
                    public_key: public_key.clone(),
                    key_id: key_id.clone(),
                },
            }])
        }
        Command::RevokeKey { key_id } => {
            let Actor::Operator { name, party, .. } = actor else {
                return Err(DomainError::forbidden("keys belong to operators"));
            };
            let op = state
                .operator(name)
                .ok_or_else(|| DomainError::not_found(format!("operator {name:?}")))?;
            if !op
                .keys
                .iter()
                .any(|k| &k.key_id == key_id && k.revoked_seq.is_none())
            {
                return Err(DomainError::not_found(format!("active key {key_id}")));
            }
            Ok(vec![Draft::to_parties(
                state,
                [party],
                EventBody::OperatorKeyRevoked {
                    name: name.clone(),
                    key_id: key_id.clone(),
                },
            )])
        }
        Command::Cooperation(c) => crate::cooperation::decide(state, actor, c),
        other => crate::ops::decide(state, actor, other, now),
    }
}

/// The registration of a key enrolled with its operator. A public key is for everyone:
/// any party checks the author signatures of the events it reads against it.
fn enrolled_key(spec: &OperatorSpec, public_key: &str, key_id: &str) -> Result<Draft, DomainError> {
    check_text("public_key", public_key, 200)?;
    check_text("key_id", key_id, 64)?;
    Ok(Draft {
        audience: Audience::Everyone,
        concerns: [spec.party.clone()].into(),
        body: EventBody::OperatorKeyRegistered {
            name: spec.name.clone(),
            public_key: public_key.to_string(),
            key_id: key_id.to_string(),
        },
    })
}

pub(crate) fn require_supervisor(actor: &Actor, what: &str) -> Result<(), DomainError> {
    if actor.is_supervisor() {
        Ok(())
    } else {
        Err(DomainError::forbidden(format!(
            "only an operator of the supervising party with role supervisor may {what}"
        )))
    }
}

/// A party manages its own operators, through its own admins: nobody else adds,
/// enables, disables or rotates them, not even the supervising party (which may only
/// suspend them, [`require_supervising`]).
/// An admin of `party` manages its operators, or the party itself by its statement
/// (whose scope [`require_party_statement`] has checked).
fn require_admin_or_party(actor: &Actor, party: &str, by_party: bool) -> Result<(), DomainError> {
    if by_party {
        return Ok(());
    }
    require_admin_of(actor, party)
}

/// A party's statement is carried by one of its own operators, covers only the
/// management of that party's operators and witness, and needs a party key pinned in
/// the charter (the edge has checked the signature against it).
fn require_party_statement(
    state: &State,
    actor: &Actor,
    inner: &Command,
) -> Result<(), DomainError> {
    let Actor::Operator { party, .. } = actor else {
        return Err(DomainError::forbidden(
            "a party's statement is carried by one of its operators",
        ));
    };
    let of = |name: &OperatorName| {
        state
            .operator(name)
            .map(|o| o.spec.party.clone())
            .ok_or_else(|| DomainError::not_found(format!("operator {name:?}")))
    };
    let target = match inner {
        Command::AddOperator { spec, .. } => spec.party.clone(),
        Command::DisableOperator { name }
        | Command::EnableOperator { name }
        | Command::RotateToken { name, .. } => of(name)?,
        Command::RegisterWitness { .. } => party.clone(),
        _ => {
            return Err(DomainError::invalid(
                "statement",
                "a party's statement manages only its operators and its witness",
            ));
        }
    };
    if &target != party {
        return Err(DomainError::forbidden(format!(
            "party {party:?}'s statement does not speak for party {target:?}"
        )));
    }
    let charter = state.charter().ok_or(DomainError::NoCell)?;
    if charter.party(party).and_then(|p| p.key.as_ref()).is_none() {
        return Err(DomainError::forbidden(format!(
            "party {party:?} pinned no key in the charter"
        )));
    }
    Ok(())
}

fn require_admin_of(actor: &Actor, party: &str) -> Result<(), DomainError> {
    match actor {
        Actor::System => Ok(()),
        Actor::Operator {
            role, party: mine, ..
        } => {
            if *role == OperatorRole::Admin && mine == party {
                Ok(())
            } else {
                Err(DomainError::forbidden(format!(
                    "only an admin of party {party:?} manages its operators"
                )))
            }
        }
    }
}

/// The supervising party's admins and supervisors suspend and reinstate operators.
fn require_supervising(actor: &Actor, what: &str) -> Result<(), DomainError> {
    match actor {
        Actor::Operator {
            role: OperatorRole::Admin | OperatorRole::Supervisor,
            party_role: PartyRole::Supervisor,
            ..
        } => Ok(()),
        _ => Err(DomainError::forbidden(format!(
            "only an admin or supervisor of the supervising party may {what}"
        ))),
    }
}

/// Checks free text against a length limit; the limit is in bytes of UTF-8.
pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), DomainError> {
    if text.len() > max {
        return Err(DomainError::invalid(field, format!("at most {max} bytes")));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::charter::tests::golan;
    use crate::event::{Author, Event};
    use std::sync::Arc;

    pub fn run(state: &mut State, actor: &Actor, cmd: Command) -> Result<(), DomainError> {
        let now = Timestamp::from_secs(1_800_000_000);
        let drafts = decide(state, actor, &cmd, now)?;
        for d in drafts {
            let author = match actor {
                Actor::System => Author::system(),
                Actor::Operator { name, party, .. } => Author {
                    operator: name.clone(),
                    party: party.clone(),
                },
            };
            let ev = Event {
                seq: state.next_seq(),
                at: now,
                author,
                concerns: d.concerns,
                audience: d.audience,
                body: d.body,
                signature: None,
                observed: false,
            };
            state.apply(Arc::new(ev));
        }
        Ok(())
    }

    pub fn created() -> State {
        created_with(golan())
    }

    /// A cell created from `charter`, each operator's token hash `hash-<name>`.
    pub fn created_with(charter: crate::Charter) -> State {
        let mut s = State::new();
        let tokens = charter
            .operators
            .iter()
            .map(|o| (o.name.clone(), format!("hash-{}", o.name)))
            .collect();
        run(
            &mut s,
            &Actor::System,
            Command::CreateCell {
                charter,
                log_vkey: "k".into(),
                token_hashes: tokens,
                keys: Vec::new(),
            },
        )
        .expect("create");
        s
    }

    pub fn actor(s: &State, name: &str) -> Actor {
        Actor::of(s, name).expect("operator exists")
    }

    #[test]
    fn cell_starts_pending_and_only_supervisor_approves() {
        let mut s = created();
        assert_eq!(
            s.cell.as_ref().map(|c| c.status),
            Some(CellStatus::PendingApproval)
        );
        let il = actor(&s, "il-liaison");
        assert_eq!(
            run(&mut s, &il, Command::ApproveCell).map_err(|e| e.code()),
            Err("forbidden")
        );
        let admin = actor(&s, "us-admin");
        assert_eq!(
            run(&mut s, &admin, Command::ApproveCell).map_err(|e| e.code()),
            Err("forbidden")
        );
        let us = actor(&s, "us-supervisor");
        let before = s.next_seq();
        run(&mut s, &us, Command::ApproveCell).expect("approve");
        assert_eq!(s.next_seq(), before + 1);
        assert_eq!(s.cell.as_ref().map(|c| c.status), Some(CellStatus::Active));
        assert_eq!(
            run(&mut s, &us, Command::ApproveCell).map_err(|e| e.code()),
            Err("invalid_state")
        );
    }

    #[test]
    fn suspend_and_resume() {
        let mut s = created();
        let us = actor(&s, "us-supervisor");
        assert_eq!(
            run(&mut s, &us, Command::ResumeCell).map_err(|e| e.code()),
            Err("invalid_state")
        );
        run(&mut s, &us, Command::ApproveCell).expect("approve");
        run(
            &mut s,
            &us,
            Command::SuspendCell {
                reason: "review".into(),
            },
        )
        .expect("suspend");
        assert_eq!(
            s.cell.as_ref().map(|c| c.status),
            Some(CellStatus::Suspended)
        );
        run(&mut s, &us, Command::ResumeCell).expect("resume");
        assert_eq!(s.cell.as_ref().map(|c| c.status), Some(CellStatus::Active));
    }

    #[test]
    fn operator_tokens_rotate_and_old_hash_stops_working() {
        let mut s = created();
        assert!(s.operator_by_token_hash("hash-il-liaison").is_some());
        let il = actor(&s, "il-liaison");
        run(
            &mut s,
            &il,
            Command::RotateToken {
                name: "il-liaison".into(),
                token_hash: "new".into(),
            },
        )
        .expect("rotate");
        assert!(s.operator_by_token_hash("hash-il-liaison").is_none());
        assert_eq!(
            s.operator_by_token_hash("new")
                .map(|o| o.spec.name.as_str()),
            Some("il-liaison")
        );
        let sy = actor(&s, "sy-liaison");
        let r = run(
            &mut s,
            &sy,
            Command::RotateToken {
                name: "il-liaison".into(),
                token_hash: "x".into(),
            },
        );
        assert_eq!(r.map_err(|e| e.code()), Err("forbidden"));
    }

    #[test]
    fn an_actor_authenticated_before_a_change_no_longer_stands_after_it() {
        let mut s = created();
        let il = actor(&s, "il-liaison");
        assert_eq!(il.still_stands(&s, Some("hash-il-liaison"), None), Ok(()));
        assert_eq!(Actor::System.still_stands(&s, Some("x"), Some("y")), Ok(()));
        let code = |r: Result<(), DomainError>| r.map_err(|e| e.code());
        // Another operator's token, or a key the operator never registered.
        assert_eq!(
            code(il.still_stands(&s, Some("hash-sy-liaison"), None)),
            Err("credentials_changed")
        );
        assert_eq!(
            code(il.still_stands(&s, None, Some("k1"))),
            Err("credentials_changed")
        );
        // A rotated token: the hash presented before the rotation no longer stands.
        let rotate = Command::RotateToken {
            name: "il-liaison".into(),
            token_hash: "new".into(),
        };
        run(&mut s, &il, rotate).expect("rotate");
        assert_eq!(
            code(il.still_stands(&s, Some("hash-il-liaison"), None)),
            Err("credentials_changed")
        );
        assert_eq!(il.still_stands(&s, Some("new"), None), Ok(()));
        // A different role for the same name is another actor.
        let Actor::Operator {
            name,
            party,
            party_role,
            ..
        } = il.clone()
        else {
            unreachable!("an operator")
        };
        let other_role = Actor::Operator {
            name,
            party,
            role: OperatorRole::Admin,
            party_role,
        };
        assert_eq!(
            code(other_role.still_stands(&s, Some("new"), None)),
            Err("credentials_changed")
        );
        // Disabled (by whoever may): the actor stands no more, whatever token it presents.
        s.apply(Arc::new(Event {
            seq: s.next_seq(),
            at: Timestamp::from_secs(1_800_000_001),
            author: Author::system(),
            concerns: BTreeSet::new(),
            audience: Audience::Everyone,
            body: EventBody::OperatorDisabled {
                name: "il-liaison".into(),
            },
            signature: None,
            observed: false,
        }));
        assert_eq!(
            code(il.still_stands(&s, Some("new"), None)),
            Err("credentials_changed")
        );
        assert_eq!(
            code(il.still_stands(&s, None, None)),
            Err("credentials_changed")
        );
    }

    #[test]
    fn disabled_operator_is_no_actor() {
        let mut s = created();
        let admin = actor(&s, "sy-admin");
        run(
            &mut s,
            &admin,
            Command::DisableOperator {
                name: "sy-liaison".into(),
            },
        )
        .expect("disable");
        assert!(Actor::of(&s, "sy-liaison").is_none());
        run(
            &mut s,
            &admin,
            Command::EnableOperator {
                name: "sy-liaison".into(),
            },
        )
        .expect("enable");
        assert!(Actor::of(&s, "sy-liaison").is_some());
    }

    #[test]
    fn operator_events_are_visible_only_to_own_party_and_supervisor() {
        let s = created();
        let added = s.events.iter().find(|e| matches!(&e.body, EventBody::OperatorAdded { operator, .. } if operator.name == "il-liaison"));
        let added = added.expect("event");
        assert!(added.audience.includes("il"));
        assert!(added.audience.includes("us"));
        assert!(!added.audience.includes("sy"));
        assert!(!added.audience.includes("undof"));
    }
}
