//! Wire types for the hotline, deadlines, incidents and review reports.

use crate::time;
use liaison_core::deadline::Obligation;
use liaison_core::hotline::{AttachmentRef, Message};
use liaison_core::incident::Incident;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::wire::Receipt;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AttachmentWire {
    pub sha256: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default = "default_media_type")]
    pub media_type: String,
}

fn default_media_type() -> String {
    "application/octet-stream".into()
}

impl From<&AttachmentRef> for AttachmentWire {
    fn from(a: &AttachmentRef) -> Self {
        AttachmentWire {
            sha256: a.sha256.clone(),
            name: a.name.clone(),
            size: a.size,
            media_type: a.media_type.clone(),
        }
    }
}

impl From<AttachmentWire> for AttachmentRef {
    fn from(a: AttachmentWire) -> Self {
        AttachmentRef {
            sha256: a.sha256,
            name: a.name,
            size: a.size,
            media_type: a.media_type,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AttachmentStored {
    pub sha256: String,
    pub size: u64,
}

/// `POST /api/v1/messages`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    pub to: Vec<String>,
    /// `flash`, `immediate`, `priority` or `routine`.
    pub precedence: String,
    pub subject: String,
    pub body: String,
    /// The language the author wrote in: `ar`, `he`, `en` or another tag. Default `en`.
    #[serde(default)]
    pub language: Option<String>,
    /// A FLASH emergency stays open until its author cancels it or the supervisor closes it.
    #[serde(default)]
    pub emergency: bool,
    /// A test message, acknowledged like any other.
    #[serde(default)]
    pub test: bool,
    #[serde(default)]
    pub attachments: Vec<AttachmentWire>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MessageSent {
    pub id: u64,
    pub channel: String,
    /// Gapless number of the message on its channel.
    pub seq: u64,
    pub receipt: Receipt,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    #[serde(default)]
    pub reply: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TranslationRequest {
    pub language: String,
    pub text: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RecipientView {
    pub party: String,
    /// `sent`, `delivered`, `read` or `acknowledged`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// When the acknowledgement is (or was) due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// 0 until the deadline passes unmet; then 1, then 2.
    pub escalation_level: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TranslationView {
    pub language: String,
    pub text: String,
    pub by: String,
    pub party: String,
    pub at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MessageView {
    pub id: u64,
    pub channel: String,
    pub seq: u64,
    pub from: String,
    pub author: String,
    pub to: Vec<String>,
    pub precedence: String,
    pub subject: String,
    pub body: String,
    pub language: String,
    pub emergency: bool,
    /// For emergencies: still open (not cancelled or closed).
    pub open: bool,
    pub test: bool,
    pub attachments: Vec<AttachmentWire>,
    pub sent_at: String,
    pub recipients: Vec<RecipientView>,
    pub translations: Vec<TranslationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
}

impl MessageView {
    pub fn new(m: &Message, obligation: impl Fn(&str) -> Option<Obligation>) -> Self {
        MessageView {
            id: m.id,
            channel: m.channel.clone(),
            seq: m.channel_seq,
            from: m.from.clone(),
            author: m.author.clone(),
            to: m.to.iter().cloned().collect(),
            precedence: m.precedence.as_str().into(),
            subject: m.subject.clone(),
            body: m.body.clone(),
            language: m.language.clone(),
            emergency: m.emergency,
            open: m.emergency_open(),
            test: m.test,
            attachments: m.attachments.iter().map(AttachmentWire::from).collect(),
            sent_at: time::format(m.sent_at),
            recipients: m
                .recipients
                .iter()
                .map(|(p, r)| {
                    let o = obligation(p);
                    RecipientView {
                        party: p.clone(),
                        state: r.state().into(),
                        delivered_at: r.delivered_at.map(time::format),
                        read_at: r.read_at.map(time::format),
                        acknowledged_at: r.acknowledged_at.map(time::format),
                        acknowledged_by: r.acknowledged_by.clone(),
                        reply: r.reply.clone(),
                        due_at: o.as_ref().map(|o| time::format(o.first_due)),
                        escalation_level: o.map(|o| o.level).unwrap_or(0),
                    }
                })
                .collect(),
            translations: m
                .translations
                .iter()
                .map(|t| TranslationView {
                    language: t.language.clone(),
                    text: t.text.clone(),
                    by: t.by.clone(),
                    party: t.party.clone(),
                    at: time::format(t.at),
                })
                .collect(),
            closed: m
                .closed
                .as_ref()
                .map(|(at, by, reason)| format!("{} by {by}: {reason}", time::format(*at))),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ObligationView {
    /// What is owed: `acknowledge_message`, `acknowledge_incident`, `give_account`, ...
    pub duty: String,
    /// The message, incident (or `incident/request`) it is about.
    pub subject: String,
    /// The party that owes it.
    pub party: String,
    pub waiting: Vec<String>,
    pub opened_at: String,
    pub due_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_escalation_at: Option<String>,
    pub level: u8,
    pub escalated_at: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met_by: Option<String>,
    /// What the subject is, for people (as in [`EscalationView::about`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub about: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precedence: Option<String>,
}

impl From<&Obligation> for ObligationView {
    fn from(o: &Obligation) -> Self {
        ObligationView {
            duty: o.key.duty.as_str().into(),
            subject: o.key.subject.clone(),
            party: o.key.party.clone(),
            waiting: o.waiting.iter().cloned().collect(),
            opened_at: time::format(o.opened_at),
            due_at: time::format(o.first_due),
            next_escalation_at: o.next_due.map(time::format),
            level: o.level,
            escalated_at: o.escalated_at.iter().copied().map(time::format).collect(),
            met_at: o.met_at.map(time::format),
            met_by: o.met_by.clone(),
            about: String::new(),
            precedence: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct EscalationView {
    /// Sequence number of the escalation event.
    pub seq: u64,
    pub at: String,
    pub duty: String,
    pub subject: String,
    /// Whose deadline was missed.
    pub party: String,
    pub level: u8,
    pub due_at: String,
    /// What the subject is, for people: the message's precedence and subject, the
    /// incident's category, the activity notified (empty if the caller cannot read it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub about: String,
    /// The subject's precedence, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precedence: Option<String>,
}

/// `POST /api/v1/incidents`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportIncident {
    /// `airspace_violation`, `strike`, `fire_across_the_line`, `ground_incursion`,
    /// `zone_violation`, `harm_to_protected_site` or `other`.
    pub category: String,
    /// When it happened (RFC 3339).
    pub when: String,
    /// `exact`, `day` or `week`.
    #[serde(default = "default_precision")]
    pub precision: String,
    /// A GeoJSON Point or Polygon geometry.
    #[schema(value_type = Object)]
    pub r#where: serde_json::Value,
    #[serde(default)]
    pub uncertainty_m: f64,
    pub description: String,
    /// The party it is attributed to, or `unknown`.
    #[serde(default = "unknown")]
    pub attributed_to: String,
    /// Precedence for the acknowledgement deadline; default `immediate`.
    #[serde(default = "immediate")]
    pub precedence: String,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentWire>,
}

fn default_precision() -> String {
    "exact".into()
}
fn unknown() -> String {
    "unknown".into()
}
fn immediate() -> String {
    "immediate".into()
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    pub text: String,
    /// "Not ours": the party disowns the forces involved.
    #[serde(default)]
    pub disowned: bool,
    /// The number of the request for information this answers.
    #[serde(default)]
    pub answers: Option<u32>,
    #[serde(default)]
    pub attachments: Vec<AttachmentWire>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InfoRequestBody {
    pub party: String,
    pub question: String,
    /// How long the party has to answer, e.g. `2h`.
    pub within: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FindingRequest {
    pub text: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorrectIncidentRequest {
    /// The corrected category, if it changes.
    #[serde(default)]
    pub category: Option<String>,
    /// The corrected time (RFC 3339), if it changes.
    #[serde(default)]
    pub when: Option<String>,
    /// `exact`, `day` or `week`, if it changes.
    #[serde(default)]
    pub precision: Option<String>,
    /// The corrected place (a GeoJSON Point or Polygon geometry), if it changes.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub r#where: Option<serde_json::Value>,
    /// With a new place: its uncertainty in metres.
    #[serde(default)]
    pub uncertainty_m: Option<f64>,
    /// Why: kept with the correction.
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WithdrawIncidentRequest {
    pub reason: String,
}

/// A correction as the record keeps it: who, when, why, and the values it replaced.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CorrectionView {
    pub by: String,
    pub at: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub previous_where: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_when: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CloseIncidentRequest {
    /// `resolved`, `unresolved` or `withdrawn`.
    pub outcome: String,
    #[serde(default)]
    pub measures: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AccountView {
    pub party: String,
    pub operator: String,
    pub at: String,
    pub text: String,
    pub disowned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<u32>,
    pub attachments: Vec<AttachmentWire>,
    pub seq: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct InfoRequestView {
    pub number: u32,
    pub party: String,
    pub question: String,
    pub within: String,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IncidentView {
    pub id: u64,
    pub reporter_party: String,
    pub reporter: String,
    pub reported_at: String,
    pub category: String,
    pub precedence: String,
    pub when: String,
    pub precision: String,
    #[schema(value_type = Object)]
    pub r#where: serde_json::Value,
    pub uncertainty_m: f64,
    pub description: String,
    pub attributed_to: String,
    pub links: Vec<String>,
    pub attachments: Vec<AttachmentWire>,
    /// Party → when it acknowledged.
    pub acknowledged: BTreeMap<String, String>,
    /// Every party's words, side by side, in the order given.
    pub accounts: Vec<AccountView>,
    pub information_requests: Vec<InfoRequestView>,
    pub findings: Vec<FindingView>,
    /// `open`; the supervisor's outcome: `resolved`, `unresolved`, `withdrawn`; or
    /// `withdrawn_by_reporter`.
    pub status: String,
    /// The reporting party's corrections, oldest first; the fields above are the latest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<CorrectionView>,
    /// Why the reporting party withdrew its report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measures: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub obligations: Vec<ObligationView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct FindingView {
    pub text: String,
    pub by: String,
    pub at: String,
}

/// A GeoJSON geometry for an incident's place.
pub fn place_geometry(coords: &[[f64; 2]]) -> serde_json::Value {
    if coords.len() == 1 {
        serde_json::json!({"type": "Point", "coordinates": coords[0]})
    } else {
        serde_json::json!({"type": "Polygon", "coordinates": [coords]})
    }
}

/// Reads a GeoJSON Point or Polygon (outer ring only) into lon/lat pairs.
pub fn parse_place(v: &serde_json::Value) -> Result<Vec<[f64; 2]>, String> {
    let pair = |p: &serde_json::Value| -> Result<[f64; 2], String> {
        let a = p
            .as_array()
            .filter(|a| a.len() >= 2)
            .ok_or("a position is [lon, lat]")?;
        match (a[0].as_f64(), a[1].as_f64()) {
            (Some(x), Some(y)) => Ok([x, y]),
            _ => Err("a position is [lon, lat] numbers".to_string()),
        }
    };
    match v.get("type").and_then(|t| t.as_str()) {
        Some("Point") => Ok(vec![pair(
            v.get("coordinates").ok_or("Point without coordinates")?,
        )?]),
        Some("Polygon") => {
            let rings = v
                .get("coordinates")
                .and_then(|c| c.as_array())
                .ok_or("Polygon without coordinates")?;
            let outer = rings
                .first()
                .and_then(|r| r.as_array())
                .ok_or("Polygon without a ring")?;
            outer.iter().map(pair).collect()
        }
        _ => Err("where must be a GeoJSON Point or Polygon geometry".into()),
    }
}

impl IncidentView {
    pub fn new(i: &Incident, obligations: Vec<ObligationView>) -> Self {
        IncidentView {
            id: i.id,
            reporter_party: i.reporter_party.clone(),
            reporter: i.reporter.clone(),
            reported_at: time::format(i.reported_at),
            category: i.category.as_str().into(),
            precedence: i.precedence.as_str().into(),
            when: time::format(i.occurred_at),
            precision: match i.precision {
                liaison_core::incident::TimePrecision::Exact => "exact",
                liaison_core::incident::TimePrecision::Day => "day",
                liaison_core::incident::TimePrecision::Week => "week",
            }
            .into(),
            r#where: place_geometry(&i.place.coordinates),
            uncertainty_m: i.place.uncertainty_m,
            description: i.description.clone(),
            attributed_to: i.attributed_to.clone().unwrap_or_else(|| "unknown".into()),
            links: i.links.clone(),
            attachments: i.attachments.iter().map(AttachmentWire::from).collect(),
            acknowledged: i
                .acknowledged
                .iter()
                .map(|(p, (at, _))| (p.clone(), time::format(*at)))
                .collect(),
            accounts: i
                .accounts
                .iter()
                .map(|a| AccountView {
                    party: a.party.clone(),
                    operator: a.operator.clone(),
                    at: time::format(a.at),
                    text: a.text.clone(),
                    disowned: a.disowned,
                    answers: a.answers,
                    attachments: a.attachments.iter().map(AttachmentWire::from).collect(),
                    seq: a.seq,
                })
                .collect(),
            information_requests: i
                .info_requests
                .iter()
                .map(|r| InfoRequestView {
                    number: r.number,
                    party: r.party.clone(),
                    question: r.question.clone(),
                    within: r.within.to_string(),
                    at: time::format(r.at),
                    answered_at: r.answered_at.map(time::format),
                })
                .collect(),
            findings: i
                .findings
                .iter()
                .map(|f| FindingView {
                    text: f.text.clone(),
                    by: f.by.clone(),
                    at: time::format(f.at),
                })
                .collect(),
            status: match (&i.closure, &i.withdrawal) {
                (Some(c), _) => c.outcome.as_str(),
                (None, Some(_)) => "withdrawn_by_reporter",
                (None, None) => "open",
            }
            .into(),
            corrections: i
                .corrections
                .iter()
                .map(|c| CorrectionView {
                    by: c.by.clone(),
                    at: time::format(c.at),
                    reason: c.reason.clone(),
                    previous_category: c.previous_category.map(|k| k.as_str().to_string()),
                    previous_where: c
                        .previous_place
                        .as_ref()
                        .map(|p| place_geometry(&p.coordinates)),
                    previous_when: c.previous_occurred_at.map(|(t, _)| time::format(t)),
                })
                .collect(),
            withdrawn_reason: i.withdrawal.as_ref().map(|w| w.reason.clone()),
            measures: i.closure.as_ref().map(|c| c.measures.clone()),
            closed_at: i.closure.as_ref().map(|c| time::format(c.at)),
            obligations,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct IncidentReported {
    pub id: u64,
    pub receipt: Receipt,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PartyHealth {
    pub party: String,
    /// A client of the party holds the live feed open now, or sent a heartbeat within the
    /// charter's `heartbeat_timeout`.
    pub reachable: bool,
    /// A client of the party holds the live feed (`GET /api/v1/events`) open now.
    pub connected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<String>,
}
