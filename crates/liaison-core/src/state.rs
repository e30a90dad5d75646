//! The projection of the record that commands are decided against and the API reads.

use crate::charter::{Charter, OperatorRole, OperatorSpec, PartyRole};
use crate::deadline::Obligations;
use crate::event::{Event, EventBody};
use crate::hotline::Hotline;
use crate::incident::Incident;
use crate::time::Timestamp;
use crate::{OperatorName, PartyId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellStatus {
    PendingApproval,
    Active,
    Suspended,
}

impl CellStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CellStatus::PendingApproval => "pending_approval",
            CellStatus::Active => "active",
            CellStatus::Suspended => "suspended",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Cell {
    pub charter: Charter,
    pub status: CellStatus,
    pub log_vkey: String,
    pub created_at: Timestamp,
    pub approved_at: Option<Timestamp>,
    pub approved_by: Option<OperatorName>,
    pub status_changed_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct OperatorKey {
    pub key_id: String,
    pub public_key: String,
    pub registered_seq: u64,
    pub revoked_seq: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Operator {
    pub spec: OperatorSpec,
    pub active: bool,
    /// Why the supervising party suspended this operator, while it is suspended.
    pub suspended: Option<String>,
    pub token_hash: String,
    pub added_at: Timestamp,
    pub keys: Vec<OperatorKey>,
}

impl Operator {
    /// Whether the operator may act: enabled by its party and not suspended.
    pub fn can_act(&self) -> bool {
        self.active && self.suspended.is_none()
    }

    /// The key that signs this operator's submissions now, if one is registered.
    pub fn active_key(&self) -> Option<&OperatorKey> {
        self.keys.iter().rev().find(|k| k.revoked_seq.is_none())
    }
}

/// Everything the core knows, rebuilt by folding events in order.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub cell: Option<Cell>,
    pub operators: BTreeMap<OperatorName, Operator>,
    token_index: HashMap<String, OperatorName>,
    /// Every committed event, in order; `events[i].seq == i`.
    pub events: Vec<Arc<Event>>,
    pub hotline: Hotline,
    pub obligations: Obligations,
    pub incidents: BTreeMap<u64, Incident>,
    /// Each party's witness key (signed-note vkey), latest registration wins.
    pub witnesses: BTreeMap<PartyId, String>,
    pub intel: crate::intel::Intel,
    pub deconfliction: crate::deconfliction::Deconfliction,
}

impl State {
    pub fn new() -> Self {
        State::default()
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.events.len() as u64
    }

    pub fn charter(&self) -> Option<&Charter> {
        self.cell.as_ref().map(|c| &c.charter)
    }

    pub fn supervisor_party(&self) -> Option<&PartyId> {
        self.charter().and_then(|c| c.supervisor()).map(|p| &p.id)
    }

    pub fn party_role(&self, party: &str) -> Option<PartyRole> {
        self.charter().and_then(|c| c.party(party)).map(|p| p.role)
    }

    pub fn operator_by_token_hash(&self, hash: &str) -> Option<&Operator> {
        self.token_index
            .get(hash)
            .and_then(|n| self.operators.get(n))
    }

    pub fn operator(&self, name: &str) -> Option<&Operator> {
        self.operators.get(name)
    }

    pub fn role_of(&self, name: &str) -> Option<OperatorRole> {
        self.operators.get(name).map(|o| o.spec.role)
    }

    /// Folds one committed event into the state. Events arrive in sequence order; the
    /// decision that produced them already checked every rule, so this cannot fail.
    pub fn apply(&mut self, event: Arc<Event>) {
        debug_assert_eq!(
            event.seq,
            self.next_seq(),
            "events must be applied in order"
        );
        match &event.body {
            EventBody::CellCreated { charter, log_vkey } => {
                self.cell = Some(Cell {
                    charter: charter.clone(),
                    status: CellStatus::PendingApproval,
                    log_vkey: log_vkey.clone(),
                    created_at: event.at,
                    approved_at: None,
                    approved_by: None,
                    status_changed_at: event.at,
                });
            }
            EventBody::CellApproved {} => {
                if let Some(c) = self.cell.as_mut() {
                    c.status = CellStatus::Active;
                    c.approved_at = Some(event.at);
                    c.approved_by = Some(event.author.operator.clone());
                    c.status_changed_at = event.at;
                }
            }
            EventBody::CellSuspended { .. } => {
                if let Some(c) = self.cell.as_mut() {
                    c.status = CellStatus::Suspended;
                    c.status_changed_at = event.at;
                }
            }
            EventBody::CellResumed {} => {
                if let Some(c) = self.cell.as_mut() {
                    c.status = CellStatus::Active;
                    c.status_changed_at = event.at;
                }
            }
            EventBody::OperatorAdded {
                operator,
                token_hash,
            } => {
                self.token_index
                    .insert(token_hash.clone(), operator.name.clone());
                if let Some(c) = self.cell.as_mut()
                    && !c.charter.operators.iter().any(|o| o.name == operator.name)
                {
                    c.charter.operators.push(operator.clone());
                }
                self.operators.insert(
                    operator.name.clone(),
                    Operator {
                        spec: operator.clone(),
                        active: true,
                        suspended: None,
                        token_hash: token_hash.clone(),
                        added_at: event.at,
                        keys: Vec::new(),
                    },
                );
            }
            EventBody::OperatorDisabled { name } => {
                if let Some(o) = self.operators.get_mut(name) {
                    o.active = false;
                }
            }
            EventBody::OperatorEnabled { name } => {
                if let Some(o) = self.operators.get_mut(name) {
                    o.active = true;
                }
            }
            EventBody::OperatorSuspended { name, reason } => {
                if let Some(o) = self.operators.get_mut(name) {
                    o.suspended = Some(reason.clone());
                }
            }
            EventBody::OperatorReinstated { name } => {
                if let Some(o) = self.operators.get_mut(name) {
                    o.suspended = None;
                }
            }
            EventBody::OperatorTokenRotated { name, token_hash } => {
                if let Some(o) = self.operators.get_mut(name) {
                    self.token_index.remove(&o.token_hash);
                    o.token_hash = token_hash.clone();
                    self.token_index.insert(token_hash.clone(), name.clone());
                }
            }
            EventBody::OperatorKeyRegistered {
                name,
                public_key,
                key_id,
            } => {
                if let Some(o) = self.operators.get_mut(name) {
                    for k in o.keys.iter_mut().filter(|k| k.revoked_seq.is_none()) {
                        // Registering a new key rotates: the old one stops counting here.
                        k.revoked_seq = Some(event.seq);
                    }
                    o.keys.push(OperatorKey {
                        key_id: key_id.clone(),
                        public_key: public_key.clone(),
                        registered_seq: event.seq,
                        revoked_seq: None,
                    });
                }
            }
            EventBody::OperatorKeyRevoked { name, key_id } => {
                if let Some(o) = self.operators.get_mut(name) {
                    for k in o
                        .keys
                        .iter_mut()
                        .filter(|k| &k.key_id == key_id && k.revoked_seq.is_none())
                    {
                        k.revoked_seq = Some(event.seq);
                    }
                }
            }
            EventBody::WitnessKeyRegistered { party, vkey } => {
                self.witnesses.insert(party.clone(), vkey.clone());
            }
            _ => {
                let known = crate::ops::apply(self, &event);
                debug_assert!(known, "State::apply does not know {}", event.kind());
            }
        }
        self.events.push(event);
    }
}
