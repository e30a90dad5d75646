//! Wire types for intelligence sharing's own API (`/api/v1/intel`); TAXII resources are
//! built in `liaison-server::routes::taxii` around the objects' raw bytes.

use crate::time;
use crate::wire::Receipt;
use liaison_core::intel::Submission;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

/// `POST /api/v1/intel/submissions`: a STIX bundle and who it is for.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SubmitIntel {
    /// A STIX 2.1 bundle or a TAXII envelope.
    #[schema(value_type = Object)]
    pub bundle: serde_json::Value,
    /// Recipient parties (needed for TLP:AMBER and AMBER+STRICT).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Recipient operators (needed for TLP:RED).
    #[serde(default)]
    pub recipient_operators: Vec<String>,
    /// Acknowledgement precedence; default `routine`.
    #[serde(default)]
    pub precedence: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct IntelSubmitted {
    pub id: u64,
    pub tlp: String,
    pub objects: usize,
    pub receipt: Receipt,
}

/// The recipients a decision releases to (never wider than the marking allows).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct RecipientsWire {
    #[serde(default)]
    pub parties: Vec<String>,
    #[serde(default)]
    pub operators: Vec<String>,
}

/// `POST /api/v1/intel/submissions/{id}/decision`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve`, `reject` or `redact`.
    pub decision: String,
    #[serde(default)]
    pub reason: String,
    /// For `redact`: ids of objects to withhold.
    #[serde(default)]
    pub remove_objects: Vec<String>,
    /// For `redact`: object id → top-level properties to withhold.
    #[serde(default)]
    pub remove_properties: BTreeMap<String, Vec<String>>,
    /// Narrow the recipients; omitted = everyone the marking allows.
    #[serde(default)]
    pub recipients: Option<RecipientsWire>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct IntelAckRequest {
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ObjectSummary {
    pub id: String,
    pub r#type: String,
    pub version: String,
    /// The STIX object itself, for the submitter and the supervisor (who decides on it):
    /// what they see is what a decision releases or redacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub object: Option<serde_json::Value>,
}

/// What a decision would do, shown to the supervisor before it decides: the objects
/// every recipient would receive (after the redaction, each with the SHA-256 of its
/// bytes as served) and the recipients, exactly as the decision would record them.
/// Nothing is recorded. A redaction's derived objects carry the time of the preview;
/// deciding later gives them the time of the decision (the same ids).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DecisionPreview {
    pub submission: u64,
    pub decision: String,
    pub to_parties: Vec<String>,
    /// For TLP:RED, the operators who alone read it in their party's inbox.
    pub to_operators: Vec<String>,
    pub released: Vec<PreviewObject>,
    pub removed_objects: Vec<String>,
    pub removed_properties: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PreviewObject {
    pub id: String,
    pub r#type: String,
    pub version: String,
    /// SHA-256 of the object's bytes as every recipient would be served them.
    pub sha256: String,
    #[schema(value_type = Object)]
    pub object: serde_json::Value,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DecisionView {
    pub decision: String,
    pub reason: String,
    pub by: String,
    pub at: String,
    pub released: Vec<ObjectSummary>,
    pub to_parties: Vec<String>,
    pub to_operators: Vec<String>,
    pub removed_objects: Vec<String>,
    pub removed_properties: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SubmissionView {
    pub id: u64,
    pub party: String,
    pub operator: String,
    pub at: String,
    /// `pending`, `released`, `rejected` or `withdrawn`.
    pub state: String,
    pub tlp: String,
    pub precedence: String,
    pub recipients: Vec<String>,
    pub recipient_operators: Vec<String>,
    pub objects: Vec<ObjectSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionView>,
    /// Party → when it acknowledged.
    pub acknowledged: BTreeMap<String, String>,
}

impl SubmissionView {
    /// `full` shows the submitted objects (the submitter and the supervisor); recipients
    /// see only what was released.
    pub fn new(s: &Submission, full: bool) -> Self {
        let summary = |o: &liaison_core::intel::IntelObject| ObjectSummary {
            id: o.id.clone(),
            r#type: o.r#type.clone(),
            version: o.version.clone(),
            object: if full {
                serde_json::from_str(&o.raw).ok()
            } else {
                None
            },
        };
        SubmissionView {
            id: s.id,
            party: s.party.clone(),
            operator: s.operator.clone(),
            at: time::format(s.at),
            state: s.state().into(),
            tlp: s.tlp.clone(),
            precedence: s.precedence.as_str().into(),
            recipients: s.recipients.iter().cloned().collect(),
            recipient_operators: if full {
                s.recipient_operators.iter().cloned().collect()
            } else {
                Vec::new()
            },
            objects: if full {
                s.objects.iter().map(|o| summary(o)).collect()
            } else {
                Vec::new()
            },
            decision: s.decision.as_ref().map(|d| DecisionView {
                decision: d.kind.as_str().into(),
                reason: if full {
                    d.reason.clone()
                } else {
                    String::new()
                },
                by: d.by.clone(),
                at: time::format(d.at),
                released: d.released.iter().map(|o| summary(o)).collect(),
                to_parties: d.to_parties.iter().cloned().collect(),
                to_operators: d.to_operators.iter().cloned().collect(),
                removed_objects: if full {
                    d.removed_objects.clone()
                } else {
                    Vec::new()
                },
                removed_properties: if full {
                    d.removed_properties.clone()
                } else {
                    BTreeMap::new()
                },
            }),
            acknowledged: s
                .acknowledged
                .iter()
                .map(|(p, (at, _))| (p.clone(), time::format(*at)))
                .collect(),
        }
    }
}

/// Parses a list of ids into a set, refusing duplicates silently merged.
pub fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}
