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
    pub cooperation: crate::cooperation::Cooperation,
    /// The nonces of each operator's recorded signed writes, within the signature window.
    pub nonces: BTreeMap<OperatorName, Nonces>,
}

/// Most nonces remembered per operator. When more arrive within the window, the oldest
/// are forgotten and the operator's floor rises to their time: a write signed at or
/// before the floor is refused as stale, so a forgotten nonce can never be replayed.
pub const MAX_NONCES: usize = 100_000;

/// One operator's recently used nonces, oldest first, and the floor below which its
/// signed times are refused.
#[derive(Clone, Debug, Default)]
pub struct Nonces {
    order: std::collections::VecDeque<(Timestamp, String)>,
    seen: std::collections::HashSet<String>,
    floor: Option<Timestamp>,
}

impl Nonces {
    pub fn contains(&self, nonce: &str) -> bool {
        self.seen.contains(nonce)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn remember(&mut self, time: Timestamp, nonce: &str, horizon: Timestamp) {
        while self.order.front().is_some_and(|(t, _)| *t < horizon) {
            if let Some((_, n)) = self.order.pop_front() {
                self.seen.remove(&n);
            }
        }
        if self.seen.insert(nonce.to_string()) {
            self.order.push_back((time, nonce.to_string()));
        }
        while self.order.len() > MAX_NONCES {
            if let Some((t, n)) = self.order.pop_front() {
                self.seen.remove(&n);
                self.floor = Some(self.floor.map_or(t, |f| f.max(t)));
            }
        }
    }
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

    /// Whether an operator must sign its writes: its party's charter setting says so, or
    /// it has registered a signing key (then everything it writes is signed by it).
    pub fn must_sign(&self, name: &str) -> bool {
        let Some(o) = self.operators.get(name) else {
            return false;
        };
        o.active_key().is_some() || self.charter().is_some_and(|c| c.must_sign(&o.spec.party))
    }

    /// The charter's signature window (the default before a cell exists).
    pub fn signature_window(&self) -> crate::time::Duration {
        self.charter()
            .map(|c| c.settings.signature_window)
            .unwrap_or(crate::charter::DEFAULT_SIGNATURE_WINDOW)
    }

    /// Checks that a signed write is fresh at `now`: its client time within the
    /// signature window (and above the operator's floor) and its nonce not yet used.
    pub fn check_fresh(
        &self,
        name: &str,
        nonce: &str,
        time: Timestamp,
        now: Timestamp,
    ) -> Result<(), crate::DomainError> {
        let window = self.signature_window();
        let skew = if time > now {
            time.since(now)
        } else {
            now.since(time)
        };
        if skew > window {
            return Err(crate::DomainError::SignatureStale(format!(
                "the signed time is {}s from the cell's clock; the window is {}s",
                skew.secs(),
                window.secs()
            )));
        }
        let mem = self.nonces.get(name);
        if let Some(floor) = mem.and_then(|m| m.floor)
            && time <= floor
        {
            return Err(crate::DomainError::SignatureStale(
                "the signed time is older than the oldest nonce the cell remembers for this operator"
                    .into(),
            ));
        }
        if mem.is_some_and(|m| m.contains(nonce)) {
            return Err(crate::DomainError::SignatureReplayed(format!(
                "nonce {nonce:?} was already used by {name}: a replayed request"
            )));
        }
        Ok(())
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
                // A witness key the charter pins is in force from the start.
                for p in &charter.parties {
                    if let Some(w) = &p.witness {
                        self.witnesses.insert(p.id.clone(), w.clone());
                    }
                }
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
                let known =
                    crate::cooperation::apply(self, &event) || crate::ops::apply(self, &event);
                debug_assert!(known, "State::apply does not know {}", event.kind());
            }
        }
        if let Some(sig) = &event.signature
            && let (Some(nonce), Some(time)) = (&sig.nonce, sig.time)
        {
            let horizon = Timestamp::from_micros(
                event
                    .at
                    .micros()
                    .saturating_sub(self.signature_window().micros()),
            );
            self.nonces
                .entry(event.author.operator.clone())
                .or_default()
                .remember(time, nonce, horizon);
        }
        self.events.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charter::Signatures;

    #[test]
    fn who_must_sign_follows_the_role_unless_the_charter_says_otherwise() {
        let mut c = crate::charter::tests::golan();
        assert!(c.must_sign("il") && c.must_sign("us") && !c.must_sign("undof"));
        assert!(!c.must_sign("nobody"));
        for p in &mut c.parties {
            p.signatures = Some(if p.id == "undof" {
                Signatures::Required
            } else {
                Signatures::Optional
            });
        }
        assert!(!c.must_sign("il") && !c.must_sign("us") && c.must_sign("undof"));
    }

    #[test]
    fn a_nonce_is_refused_twice_and_a_full_memory_raises_the_floor() {
        let mut s = State::new();
        let now = Timestamp::from_secs(1_800_000_000);
        let fresh =
            |s: &State, n: &str, t: Timestamp| s.check_fresh("op", n, t, now).map_err(|e| e.code());
        assert_eq!(fresh(&s, "a", now), Ok(()));
        assert_eq!(
            fresh(&s, "a", Timestamp::from_secs(1_800_000_000 - 301)),
            Err("signature_stale")
        );
        assert_eq!(
            fresh(&s, "a", Timestamp::from_secs(1_800_000_000 + 301)),
            Err("signature_stale")
        );
        let horizon = Timestamp::from_secs(1_800_000_000 - 300);
        let mem = s.nonces.entry("op".into()).or_default();
        for i in 0..MAX_NONCES as i64 + 10 {
            mem.remember(
                Timestamp::from_micros(now.micros() - 1_000_000 + i),
                &format!("n{i}"),
                horizon,
            );
        }
        assert_eq!(mem.len(), MAX_NONCES);
        assert_eq!(
            fresh(&s, &format!("n{}", MAX_NONCES + 5), now),
            Err("signature_replayed")
        );
        // n0..n9 were forgotten; their times are now below the floor.
        assert_eq!(
            fresh(
                &s,
                "n3",
                Timestamp::from_micros(now.micros() - 1_000_000 + 3)
            ),
            Err("signature_stale")
        );
        assert_eq!(fresh(&s, "new", now), Ok(()));
    }
}
