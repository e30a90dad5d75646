//! Request and response bodies of the JSON API under `/api/v1/`.

use crate::time;
use liaison_core::charter::Settings;
use liaison_core::state::Cell;
use liaison_core::{Event, Operator, Party};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PartyView {
    pub id: String,
    pub name: String,
    /// `member`, `supervisor` or `observer`.
    pub role: String,
    /// The party's witness key as the charter pins it (signed-note verifier key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<String>,
    /// The CA certificate (PEM) that issues the party's client certificates, when the
    /// charter pins one: its operators are then served only over TLS with a certificate
    /// it issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<String>,
}

impl From<&Party> for PartyView {
    fn from(p: &Party) -> Self {
        PartyView {
            id: p.id.clone(),
            name: p.name.clone(),
            role: p.role.as_str().into(),
            witness: p.witness.clone(),
            client_ca: p.client_ca.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OperatorView {
    pub name: String,
    pub party: String,
    /// `liaison`, `analyst`, `supervisor`, `observer` or `admin`.
    pub role: String,
    pub active: bool,
    pub added_at: String,
    /// Signed-note key id of the operator's active signing key, if it registered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Why the supervising party suspended the operator, while it is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl From<&Operator> for OperatorView {
    fn from(o: &Operator) -> Self {
        let key = o.active_key();
        OperatorView {
            name: o.spec.name.clone(),
            party: o.spec.party.clone(),
            role: o.spec.role.as_str().into(),
            active: o.active,
            added_at: time::format(o.added_at),
            key_id: key.map(|k| k.key_id.clone()),
            suspended: o.suspended.clone(),
            public_key: key.map(|k| k.public_key.clone()),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DeadlinesView {
    pub flash: String,
    pub immediate: String,
    pub priority: String,
    pub routine: String,
    pub second_level: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SettingsView {
    pub deadlines: DeadlinesView,
    /// Minimum notice by activity kind, e.g. `{"air_strike": "1h"}`.
    pub lead_times: BTreeMap<String, String>,
    pub default_tlp: String,
    pub heartbeat_timeout: String,
    pub site_reconfirm: String,
}

impl From<&Settings> for SettingsView {
    fn from(s: &Settings) -> Self {
        let d = &s.deadlines;
        SettingsView {
            deadlines: DeadlinesView {
                flash: d.flash.to_string(),
                immediate: d.immediate.to_string(),
                priority: d.priority.to_string(),
                routine: d.routine.to_string(),
                second_level: d.second_level.to_string(),
            },
            lead_times: s
                .lead_times
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            default_tlp: s.default_tlp.clone(),
            heartbeat_timeout: s.heartbeat_timeout.to_string(),
            site_reconfirm: s.site_reconfirm.to_string(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct LogInfo {
    /// The checkpoint origin line, which names this cell's log.
    pub origin: String,
    /// The log's verifier key in signed-note form: `name+keyid+base64`.
    pub vkey: String,
    /// Number of entries in the log.
    pub size: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CellView {
    pub name: String,
    /// `pending_approval`, `active` or `suspended`.
    pub status: String,
    pub parties: Vec<PartyView>,
    /// The operators the caller may see: its own party's, or everyone's for the supervisor.
    pub operators: Vec<OperatorView>,
    pub settings: SettingsView,
    pub log: LogInfo,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// SHA-256 (hex, of the DER) of the TLS certificate the server presents, when it
    /// serves HTTPS: what a client pins with `--ca-fingerprint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
}

impl CellView {
    pub fn new(cell: &Cell, operators: Vec<OperatorView>, log: LogInfo) -> Self {
        CellView {
            name: cell.charter.name.clone(),
            status: cell.status.as_str().into(),
            parties: cell.charter.parties.iter().map(PartyView::from).collect(),
            operators,
            settings: SettingsView::from(&cell.charter.settings),
            log,
            created_at: time::format(cell.created_at),
            approved_at: cell.approved_at.map(time::format),
            approved_by: cell.approved_by.clone(),
            tls_fingerprint: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AuthorView {
    pub operator: String,
    /// Empty for events the cell records itself.
    pub party: String,
    /// True when the server recorded the event on the operator's behalf (a delivery or
    /// read mark, an automatic acknowledgement): the server's observation, never the
    /// operator's statement. Absent for statements.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observed: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct EventView {
    /// Gapless position in the record, starting at 0; the SSE `id:`.
    pub seq: u64,
    pub at: String,
    pub kind: String,
    pub author: AuthorView,
    pub concerns: Vec<String>,
    /// Parties entitled to read the event; `["*"]` means every party.
    pub audience: Vec<String>,
    /// The event's content; its fields depend on `kind`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub signature: Option<serde_json::Value>,
}

/// Fields that hold secrets' hashes are not shown even to those who may read the event.
const HIDDEN_FIELDS: [&str; 1] = ["token_hash"];

/// Whether a body's JSON may carry a field that `EventView` hides (a false positive only
/// costs the slower path).
pub fn may_hide(body_json: &[u8]) -> bool {
    HIDDEN_FIELDS
        .iter()
        .any(|f| memchr::memmem::find(body_json, format!("\"{f}\"").as_bytes()).is_some())
}

/// `EventView` without `data` and `signature`, for frames that splice those in.
#[derive(Serialize)]
pub struct EventViewHeader {
    pub seq: u64,
    pub at: String,
    pub kind: &'static str,
    pub author: AuthorView,
    pub concerns: Vec<String>,
    pub audience: Vec<String>,
}

impl EventView {
    pub fn header(e: &Event) -> EventViewHeader {
        EventViewHeader {
            seq: e.seq,
            at: time::format(e.at),
            kind: e.kind(),
            author: AuthorView {
                operator: e.author.operator.clone(),
                party: e.author.party.clone(),
                observed: e.observed,
            },
            concerns: e.concerns.iter().cloned().collect(),
            audience: e.audience.to_list(),
        }
    }
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        let mut data = serde_json::to_value(&e.body).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = data.as_object_mut() {
            obj.remove("kind");
            for f in HIDDEN_FIELDS {
                obj.remove(f);
            }
        }
        EventView {
            seq: e.seq,
            at: time::format(e.at),
            kind: e.kind().into(),
            author: AuthorView {
                operator: e.author.operator.clone(),
                party: e.author.party.clone(),
                observed: e.observed,
            },
            concerns: e.concerns.iter().cloned().collect(),
            audience: e.audience.to_list(),
            data,
            signature: e
                .signature
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok()),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct EventsPage {
    pub events: Vec<EventView>,
    /// Pass as `after` to get the next page; absent when the caller is up to date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
}

/// Proof that an event is in the log: its index, the signed checkpoint that includes it
/// and the inclusion proof. `text` is the same in C2SP tlog-proof form, for
/// `liaison verify-receipt`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    /// Base64 SHA-256 hashes, leaf to root.
    pub proof: Vec<String>,
    /// The signed checkpoint note.
    pub checkpoint: String,
    /// Hex SHA-256 leaf hash of the entry.
    pub leaf_hash: String,
    /// Base64 of the canonical log entry bytes.
    pub entry: String,
    /// C2SP tlog-proof text.
    pub text: String,
}

/// What every write answers: the events it recorded and the receipt of the last one.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Written {
    pub seqs: Vec<u64>,
    pub receipt: Receipt,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SuspendRequest {
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddOperatorRequest {
    pub name: String,
    pub party: String,
    pub role: String,
    /// Hex SHA-256 of a token the admin made itself: the server never sees the token,
    /// and answers with an empty `token`. Without it the server makes one and shows it once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    /// The new operator's Ed25519 public key (base64 of its 32 bytes), registered with it,
    /// so that an operator whose party must sign can write at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// An operator with its bearer token. The token is shown once, here, and never again.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OperatorCredentials {
    pub name: String,
    pub party: String,
    pub role: String,
    pub token: String,
    /// The operator's Ed25519 signing key (PKCS#8 PEM), made by `liaison init` for every
    /// operator who must sign; its public half is registered in the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OperatorIssued {
    pub operator: OperatorCredentials,
    pub receipt: Receipt,
}

/// `DIR/credentials.json`, written by `liaison init` with mode 0600.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CredentialsFile {
    pub operators: Vec<OperatorCredentials>,
    /// SHA-256 (hex, of the DER) of the cell's TLS certificate, for clients to pin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
    /// The party's own key (signed-note private key text), made by `liaison init` for a
    /// party that pinned none; only in that party's own file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_key: Option<String>,
    /// The log's verifier key, handed over out of band so that a party's witness and
    /// `verify-receipt` never take it from the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_vkey: Option<String>,
    /// Every party with its role and the witness key the charter pins for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<PartyView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Me {
    pub operator: String,
    pub party: String,
    pub role: String,
    pub party_role: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Health {
    /// `ok` or `ready`; `storage_full` (alive, reads served, writes refused until space is
    /// freed); `replica_unavailable` (likewise, until the replica takes writes again);
    /// `store_failed`, `store_unreachable` or `witness_lagging`. Without
    /// credentials, so it tells nothing of the record.
    pub status: String,
    /// Which readiness check failed, in a sentence (absent when all passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `POST /log/cosignature`: a party witness's cosignature of the checkpoint of `size`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CosignatureRequest {
    pub size: u64,
    /// The C2SP tlog-cosignature line: `— <witness name> <base64>`.
    pub cosignature: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CosignatureAccepted {
    pub size: u64,
    /// Parties whose witnesses have cosigned this checkpoint.
    pub cosigned_by: Vec<String>,
    /// Cosigned by every member party and the supervisor.
    pub r#final: bool,
}

/// `POST /api/v1/witnesses`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WitnessRequest {
    /// The witness's verifier key in signed-note form (`name+keyid+base64`).
    pub vkey: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct WitnessView {
    pub party: String,
    pub vkey: String,
}

/// `POST /api/v1/keys`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct LogStatus {
    pub size: u64,
    /// The largest checkpoint size cosigned by every member party and the supervisor.
    pub final_size: u64,
    /// For each party with a witness: the largest size it has cosigned.
    pub cosigned: std::collections::BTreeMap<String, u64>,
}
