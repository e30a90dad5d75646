//! Events: immutable facts with an author, a time, the parties they concern and the
//! parties entitled to read them.

use crate::charter::{Charter, OperatorSpec, Precedence};
use crate::cooperation::{Hit, ListFile, Milestone, ProposalBody, Review};
use crate::deadline::Duty;
use crate::deconfliction::{Conflict, Shape, SiteCategory, Stance, ZoneKind, ZoneRules};
use crate::hotline::AttachmentRef;
use crate::incident::{Category, Outcome, Place, TimePrecision};
use crate::intel::{DecisionKind, IntelObject};
use crate::time::{Duration, Timestamp};
use crate::{OperatorName, PartyId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The operator name used for events the cell itself records (escalations, expiries).
pub const SYSTEM_OPERATOR: &str = "liaison";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub operator: OperatorName,
    /// Empty for the cell itself.
    pub party: PartyId,
}

impl Author {
    pub fn system() -> Self {
        Author {
            operator: SYSTEM_OPERATOR.into(),
            party: String::new(),
        }
    }
}

/// Who may read an event. The supervising party reads everything whatever the audience.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every party of the cell, observers included.
    Everyone,
    /// Only these parties (the supervisor is added when the event is drafted).
    Parties(BTreeSet<PartyId>),
    /// These parties, plus these individual operators of other parties (TLP:RED).
    Operators {
        parties: BTreeSet<PartyId>,
        operators: BTreeSet<OperatorName>,
    },
}

impl Audience {
    pub fn includes(&self, party: &str) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Parties(p) => p.contains(party),
            Audience::Operators { parties, .. } => parties.contains(party),
        }
    }

    /// Whether a named operator is let in individually.
    pub fn includes_operator(&self, operator: &str) -> bool {
        matches!(self, Audience::Operators { operators, .. } if operators.contains(operator))
    }

    /// The canonical list written into the log entry: `["*"]` for everyone, else the
    /// sorted party ids.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Audience::Everyone => vec!["*".into()],
            Audience::Parties(p) => p.iter().cloned().collect(),
            Audience::Operators { parties, operators } => parties
                .iter()
                .cloned()
                .chain(operators.iter().map(|o| format!("@{o}")))
                .collect(),
        }
    }
}

/// What happened. Each variant's snake_case name is its `kind` in the record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    CellCreated {
        charter: Charter,
        log_vkey: String,
    },
    CellApproved {},
    CellSuspended {
        reason: String,
    },
    CellResumed {},
    OperatorAdded {
        operator: OperatorSpec,
        token_hash: String,
    },
    OperatorDisabled {
        name: OperatorName,
    },
    OperatorEnabled {
        name: OperatorName,
    },
    OperatorTokenRotated {
        name: OperatorName,
        token_hash: String,
    },
    OperatorKeyRegistered {
        name: OperatorName,
        public_key: String,
        key_id: String,
    },
    OperatorKeyRevoked {
        name: OperatorName,
        key_id: String,
    },
    /// The supervising party suspends an operator of any party pending review: the
    /// operator can do nothing until the supervisor reinstates it.
    OperatorSuspended {
        name: OperatorName,
        reason: String,
    },
    OperatorReinstated {
        name: OperatorName,
    },
    /// A party's witness key (signed-note vkey) for cosigning checkpoints.
    WitnessKeyRegistered {
        party: PartyId,
        vkey: String,
    },
    MessageSent {
        channel: String,
        channel_seq: u64,
        to: BTreeSet<PartyId>,
        precedence: Precedence,
        subject: String,
        body: String,
        language: String,
        emergency: bool,
        test: bool,
        attachments: Vec<AttachmentRef>,
    },
    MessageDelivered {
        message: u64,
        party: PartyId,
    },
    /// Several messages of one channel reached a recipient's connected client.
    MessagesDelivered {
        messages: Vec<u64>,
        party: PartyId,
    },
    MessageRead {
        message: u64,
        party: PartyId,
    },
    MessageAcknowledged {
        message: u64,
        party: PartyId,
        reply: Option<String>,
    },
    MessageTranslated {
        message: u64,
        language: String,
        text: String,
    },
    EmergencyClosed {
        message: u64,
        reason: String,
    },
    /// A deadline passed unmet; `level` 1 is the first escalation, 2 the second.
    Escalated {
        duty: Duty,
        subject: String,
        party: PartyId,
        level: u8,
        due_at: Timestamp,
    },
    IncidentReported {
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
    IncidentAcknowledged {
        incident: u64,
    },
    IncidentAccount {
        incident: u64,
        text: String,
        disowned: bool,
        answers: Option<u32>,
        attachments: Vec<AttachmentRef>,
    },
    InformationRequested {
        incident: u64,
        party: PartyId,
        question: String,
        within: Duration,
    },
    FindingRecorded {
        incident: u64,
        text: String,
    },
    IncidentClosed {
        incident: u64,
        outcome: Outcome,
        measures: String,
    },
    IncidentCorrected {
        incident: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<Category>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        place: Option<Place>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        occurred_at: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        precision: Option<TimePrecision>,
        reason: String,
    },
    IncidentWithdrawn {
        incident: u64,
        reason: String,
    },
    IntelSubmitted {
        tlp: String,
        precedence: Precedence,
        recipients: BTreeSet<PartyId>,
        recipient_operators: BTreeSet<OperatorName>,
        objects: Vec<IntelObject>,
    },
    IntelDecided {
        submission: u64,
        decision: DecisionKind,
        reason: String,
        removed_objects: Vec<String>,
        removed_properties: BTreeMap<String, Vec<String>>,
        released: Vec<IntelObject>,
        /// Hex SHA-256 of each released object's bytes, in the order of `released`:
        /// exactly what every recipient is served.
        #[serde(default)]
        released_sha256: Vec<String>,
        to_parties: BTreeSet<PartyId>,
        to_operators: BTreeSet<OperatorName>,
    },
    IntelAcknowledged {
        submission: u64,
        note: Option<String>,
    },
    IntelWithdrawn {
        submission: u64,
        revoked: Vec<IntelObject>,
    },
    IntelObjectDeleted {
        collection: String,
        object: String,
        version: Option<String>,
    },
    SiteRegistered {
        /// `None` for a new site (its id is this event's sequence number), else the site a new version is for.
        site: Option<u64>,
        version: u32,
        names: BTreeMap<String, String>,
        category: SiteCategory,
        shape: Shape,
        /// The `<detail>` children of the Cursor-on-Target event the site was imported
        /// from that Liaison does not read, kept byte for byte to be written back on
        /// export. Absent in events recorded before CoT import existed, and skipped when
        /// absent so those events encode exactly as they were signed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cot_detail: Option<String>,
    },
    SiteConfirmed {
        site: u64,
        version: u32,
    },
    /// A party other than the registrant proposes a new version of a site; the
    /// registrant accepts (which records the new version) or rejects it.
    SiteChangeProposed {
        site: u64,
        /// The version the change is proposed against.
        version: u32,
        names: BTreeMap<String, String>,
        category: SiteCategory,
        shape: Shape,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cot_detail: Option<String>,
    },
    SiteChangeAnswered {
        proposal: u64,
        accepted: bool,
        text: String,
    },
    ZoneRegistered {
        zone: Option<u64>,
        version: u32,
        name: String,
        zone_kind: ZoneKind,
        shape: Shape,
        rules: ZoneRules,
        note: String,
        /// A new version of an agreed zone is a proposal: the agreed version stays in
        /// force until every member accepts this one. Absent (false) otherwise, so
        /// earlier events encode as they were signed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        proposal: bool,
    },
    ZoneStanceTaken {
        zone: u64,
        stance: Stance,
        /// The proposed version the stance is on, when a change to an agreed zone is
        /// pending; absent for a stance on the zone itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u32>,
    },
    WaiverGranted {
        zone: u64,
        rules: BTreeSet<String>,
        kinds: BTreeSet<String>,
        start: Timestamp,
        end: Timestamp,
        text: String,
    },
    WaiverApproved {
        waiver: u64,
    },
    NotificationFiled {
        activity: String,
        shape: Shape,
        alt_min_m: f64,
        alt_max_m: f64,
        start: Timestamp,
        end: Timestamp,
        forces: String,
        precedence: Precedence,
        late: bool,
        conflicts: Vec<Conflict>,
        /// The filer's earlier notification this one replaces (withdrawn by it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amends: Option<u64>,
    },
    /// The filer withdraws its notification: it is no longer checked against, and
    /// nobody owes it an answer any more.
    NotificationWithdrawn {
        notification: u64,
        reason: String,
    },
    ConflictDetected {
        notification: u64,
        conflict: Conflict,
    },
    NotificationAnswered {
        notification: u64,
        objection: bool,
        text: String,
    },
    /// The supervisor loaded a sanctions list: it replaces the earlier load of the same
    /// source. The files are kept by their SHA-256, so the screener is rebuilt from them.
    ListLoaded {
        source: String,
        format: String,
        published: Option<String>,
        files: Vec<ListFile>,
        entries: u64,
    },
    ProposalFiled {
        proposal: Box<ProposalBody>,
    },
    /// Matches of a proposal's counterparties found at its filing or at a list load
    /// (read by the filing party and the supervisor only).
    ScreeningMatched {
        proposal: u64,
        hits: Vec<Hit>,
    },
    /// The supervisor's review of match `index` of the proposal.
    ScreeningReviewed {
        proposal: u64,
        index: u32,
        outcome: Review,
        reason: String,
    },
    ProposalAnswered {
        proposal: u64,
        accepted: bool,
        text: String,
    },
    /// Every involved party accepted and screening is clear.
    ProposalAgreed {
        proposal: u64,
    },
    /// A match was rejected at screening: the proposal ends.
    ProposalRejected {
        proposal: u64,
    },
    CommitmentMade {
        proposal: u64,
        party: PartyId,
        what: String,
        milestones: Vec<Milestone>,
    },
    ProgressReported {
        commitment: u64,
        milestone: Option<u32>,
        text: String,
        documents: Vec<String>,
    },
}

impl EventBody {
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::CellCreated { .. } => "cell_created",
            EventBody::CellApproved {} => "cell_approved",
            EventBody::CellSuspended { .. } => "cell_suspended",
            EventBody::CellResumed {} => "cell_resumed",
            EventBody::OperatorAdded { .. } => "operator_added",
            EventBody::OperatorDisabled { .. } => "operator_disabled",
            EventBody::OperatorEnabled { .. } => "operator_enabled",
            EventBody::OperatorTokenRotated { .. } => "operator_token_rotated",
            EventBody::OperatorKeyRegistered { .. } => "operator_key_registered",
            EventBody::OperatorKeyRevoked { .. } => "operator_key_revoked",
            EventBody::OperatorSuspended { .. } => "operator_suspended",
            EventBody::OperatorReinstated { .. } => "operator_reinstated",
            EventBody::WitnessKeyRegistered { .. } => "witness_key_registered",
            EventBody::MessageSent { .. } => "message_sent",
            EventBody::MessageDelivered { .. } => "message_delivered",
            EventBody::MessagesDelivered { .. } => "messages_delivered",
            EventBody::MessageRead { .. } => "message_read",
            EventBody::MessageAcknowledged { .. } => "message_acknowledged",
            EventBody::MessageTranslated { .. } => "message_translated",
            EventBody::EmergencyClosed { .. } => "emergency_closed",
            EventBody::Escalated { .. } => "escalated",
            EventBody::IncidentReported { .. } => "incident_reported",
            EventBody::IncidentAcknowledged { .. } => "incident_acknowledged",
            EventBody::IncidentAccount { .. } => "incident_account",
            EventBody::InformationRequested { .. } => "information_requested",
            EventBody::FindingRecorded { .. } => "finding_recorded",
            EventBody::SiteRegistered { .. } => "site_registered",
            EventBody::SiteConfirmed { .. } => "site_confirmed",
            EventBody::SiteChangeProposed { .. } => "site_change_proposed",
            EventBody::SiteChangeAnswered { .. } => "site_change_answered",
            EventBody::ZoneRegistered { .. } => "zone_registered",
            EventBody::ZoneStanceTaken { .. } => "zone_stance_taken",
            EventBody::WaiverGranted { .. } => "waiver_granted",
            EventBody::WaiverApproved { .. } => "waiver_approved",
            EventBody::NotificationFiled { .. } => "notification_filed",
            EventBody::NotificationWithdrawn { .. } => "notification_withdrawn",
            EventBody::ConflictDetected { .. } => "conflict_detected",
            EventBody::NotificationAnswered { .. } => "notification_answered",
            EventBody::IntelSubmitted { .. } => "intel_submitted",
            EventBody::IntelDecided { .. } => "intel_decided",
            EventBody::IntelAcknowledged { .. } => "intel_acknowledged",
            EventBody::IntelWithdrawn { .. } => "intel_withdrawn",
            EventBody::IntelObjectDeleted { .. } => "intel_object_deleted",
            EventBody::IncidentClosed { .. } => "incident_closed",
            EventBody::IncidentCorrected { .. } => "incident_corrected",
            EventBody::IncidentWithdrawn { .. } => "incident_withdrawn",
            EventBody::ListLoaded { .. } => "list_loaded",
            EventBody::ProposalFiled { .. } => "proposal_filed",
            EventBody::ScreeningMatched { .. } => "screening_matched",
            EventBody::ScreeningReviewed { .. } => "screening_reviewed",
            EventBody::ProposalAnswered { .. } => "proposal_answered",
            EventBody::ProposalAgreed { .. } => "proposal_agreed",
            EventBody::ProposalRejected { .. } => "proposal_rejected",
            EventBody::CommitmentMade { .. } => "commitment_made",
            EventBody::ProgressReported { .. } => "progress_reported",
        }
    }
}

/// An author's Ed25519 signature over what they submitted, checked before the event
/// was appended and kept in the record so authorship can be proven later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorSignature {
    /// The signed-note style key id (8 hex digits) of the operator's registered key.
    pub key_id: String,
    /// Base64 Ed25519 signature over the submission signing message.
    pub signature: String,
    /// Hex SHA-256 of the exact request body the author signed.
    pub body_sha256: String,
    /// The exact bytes the author signed (`liaison/submission/v2`, UTF-8 text); absent
    /// for signatures recorded under v1, which covered only the request line and body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
    /// The client-chosen nonce inside `signed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The client's time inside `signed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// The operator's party's statement: its key's id and its base64 Ed25519 signature
    /// over the same `signed` bytes, with the party key pinned in the charter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_signature: Option<(String, String)>,
}

/// A committed event. `seq` is its gapless position in the record, starting at 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub at: Timestamp,
    pub author: Author,
    pub concerns: BTreeSet<PartyId>,
    pub audience: Audience,
    pub body: EventBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<AuthorSignature>,
    /// True when the server recorded this on the author's behalf (a delivery or read
    /// mark, an automatic acknowledgement): the server's observation, not the
    /// operator's statement.
    #[serde(default, skip_serializing_if = "is_false")]
    pub observed: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Event {
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }
}
