//! The charter: who is in the cell, who acts for whom, and the cell's settings.

use crate::error::DomainError;
use crate::time::Duration;
use crate::{OperatorName, PartyId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Limits on the charter itself, so a hostile file cannot exhaust the server.
pub const MAX_PARTIES: usize = 32;
pub const MAX_OPERATORS: usize = 10_000;
pub const MAX_NAME_LEN: usize = 200;
pub const MAX_ID_LEN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    Member,
    Supervisor,
    Observer,
}

impl PartyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyRole::Member => "member",
            PartyRole::Supervisor => "supervisor",
            PartyRole::Observer => "observer",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    Liaison,
    Analyst,
    Supervisor,
    Observer,
    Admin,
}

impl OperatorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorRole::Liaison => "liaison",
            OperatorRole::Analyst => "analyst",
            OperatorRole::Supervisor => "supervisor",
            OperatorRole::Observer => "observer",
            OperatorRole::Admin => "admin",
        }
    }
}

impl fmt::Display for OperatorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for PartyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Message and acknowledgement precedence, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precedence {
    Flash,
    Immediate,
    Priority,
    Routine,
}

impl Precedence {
    pub const ALL: [Precedence; 4] = [
        Precedence::Flash,
        Precedence::Immediate,
        Precedence::Priority,
        Precedence::Routine,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Precedence::Flash => "flash",
            Precedence::Immediate => "immediate",
            Precedence::Priority => "priority",
            Precedence::Routine => "routine",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: PartyId,
    pub name: String,
    pub role: PartyRole,
    /// Whether the party's operators must sign their writes; absent, the role decides
    /// (see [`Party::must_sign`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Signatures>,
    /// The party's own Ed25519 key, pinned as a signed-note verifier key
    /// (`name+keyid+base64`): a statement signed with it speaks for the party in the
    /// management of its operators and its witness. `liaison init` makes one for a party
    /// that pins none. The edge checks its syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The party's witness key (signed-note verifier key), pinned by the charter: in
    /// force from the cell's creation, and no other key may be registered for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<String>,
    /// The certificate authority (one PEM certificate) that issues the party's client
    /// certificates: when pinned, the party's operators are served only over a TLS
    /// connection whose client certificate it issued ([`Party::admits`]). The core
    /// keeps the text as given; the edge checks that it is a CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<String>,
}

/// A party's charter setting for its operators' author signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signatures {
    Required,
    Optional,
}

/// What a request's connection shows of its client, as the TLS layer established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Plain HTTP (loopback, or `--insecure-http`): no client certificate is possible.
    Plain,
    /// TLS. `certificate` is the party whose pinned client CA issued the certificate the
    /// client presented (and proved it holds the key of), or `None` when it presented none.
    Tls { certificate: Option<PartyId> },
}

impl Party {
    /// Whether one of this party's operators may be served over `connection`: a client
    /// certificate speaks for the party whose CA issued it, so it must be this party's;
    /// and a party that pins a client CA is served only over TLS with such a certificate.
    pub fn admits(&self, connection: &Connection) -> Result<(), DomainError> {
        let certificate = match connection {
            Connection::Tls { certificate } => certificate.as_deref(),
            Connection::Plain => None,
        };
        if let Some(other) = certificate
            && other != self.id
        {
            return Err(DomainError::ClientCertificateMismatch(format!(
                "the client certificate was issued by party {other}'s CA, but the token is party {}'s: a certificate speaks only for its own party",
                self.id
            )));
        }
        if self.client_ca.is_some() && certificate.is_none() {
            return Err(DomainError::ClientCertificateRequired(match connection {
                Connection::Plain => format!(
                    "party {} pins a client CA in the charter, so its operators are served only over HTTPS with a client certificate it issued; this connection is plain HTTP",
                    self.id
                ),
                Connection::Tls { .. } => format!(
                    "party {} pins a client CA in the charter: connect with a client certificate it issued (--client-cert and --client-key)",
                    self.id
                ),
            }));
        }
        Ok(())
    }

    /// Whether this party's operators must sign every write: as the charter says, or,
    /// when it is silent, required for member parties and the supervisor and optional
    /// for observers.
    pub fn must_sign(&self) -> bool {
        match self.signatures {
            Some(Signatures::Required) => true,
            Some(Signatures::Optional) => false,
            None => self.role != PartyRole::Observer,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSpec {
    pub name: OperatorName,
    pub party: PartyId,
    pub role: OperatorRole,
}

/// Acknowledgement deadlines by precedence. A deadline that passes unmet escalates;
/// if it is still unmet after `second_level` more, it escalates again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    pub flash: Duration,
    pub immediate: Duration,
    pub priority: Duration,
    pub routine: Duration,
    /// Delay after the first escalation before the second, higher one.
    pub second_level: Duration,
}

impl Deadlines {
    pub fn for_precedence(&self, p: Precedence) -> Duration {
        match p {
            Precedence::Flash => self.flash,
            Precedence::Immediate => self.immediate,
            Precedence::Priority => self.priority,
            Precedence::Routine => self.routine,
        }
    }
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            flash: Duration::from_mins(10),
            immediate: Duration::from_mins(30),
            priority: Duration::from_hours(3),
            routine: Duration::from_hours(6),
            second_level: Duration::from_mins(30),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub deadlines: Deadlines,
    /// Minimum notice before military activity, by activity kind (e.g. `air_strike`).
    pub lead_times: BTreeMap<String, Duration>,
    /// TLP 2.0 marking given to intelligence submitted without one.
    pub default_tlp: String,
    /// A party whose clients are all silent this long is shown as unreachable.
    pub heartbeat_timeout: Duration,
    /// Protected sites must be re-confirmed this often.
    pub site_reconfirm: Duration,
    /// How far a signed write's client time may be from the cell's clock.
    #[serde(
        default = "default_signature_window",
        skip_serializing_if = "is_default_signature_window"
    )]
    pub signature_window: Duration,
    /// An answer to a notification is due this long before the activity starts (or at
    /// once, when the start is nearer), and never later than its precedence allows.
    #[serde(
        default = "default_answer_margin",
        skip_serializing_if = "is_default_answer_margin"
    )]
    pub answer_margin: Duration,
    /// Where the cell's positions lie: a position outside it is refused (most often
    /// latitude and longitude swapped). None: anywhere on Earth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_of_interest: Option<AreaOfInterest>,
    /// Whether observer parties read cooperation proposals and their steps (never
    /// their screening).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cooperation_observers: bool,
}

/// The cell's area of interest: a ring of `[lon, lat]` positions in degrees (closed or
/// not), its edges straight in longitude and latitude: a position is inside by the
/// even-odd rule. It does not cross the antimeridian.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AreaOfInterest {
    pub ring: Vec<[f64; 2]>,
}

// Finite by `Charter::validate`, so equality is reflexive.
impl Eq for AreaOfInterest {}

/// Most vertices an area of interest may have.
pub const MAX_AREA_VERTICES: usize = 1000;

impl AreaOfInterest {
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let r = &self.ring;
        let mut inside = false;
        let mut j = r.len().wrapping_sub(1);
        for i in 0..r.len() {
            let ([xi, yi], [xj, yj]) = (r[i], r[j]);
            if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    /// The box around it: west, south, east, north.
    pub fn bounds(&self) -> [f64; 4] {
        self.ring.iter().fold(
            [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            |[w, s, e, n], [lon, lat]| [w.min(*lon), s.min(*lat), e.max(*lon), n.max(*lat)],
        )
    }

    fn check(&self) -> Result<(), String> {
        let n = self.ring.len();
        if !(3..=MAX_AREA_VERTICES).contains(&n) {
            return Err(format!(
                "a ring of 3 to {MAX_AREA_VERTICES} [longitude, latitude] positions"
            ));
        }
        let ok = self.ring.iter().all(|[lon, lat]| {
            lon.is_finite()
                && lat.is_finite()
                && (-180.0..=180.0).contains(lon)
                && (-90.0..=90.0).contains(lat)
        });
        let [w, s, e, n] = self.bounds();
        if !ok || w >= e || s >= n {
            return Err(
                "positions are [longitude, latitude] in degrees, and enclose an area".into(),
            );
        }
        Ok(())
    }
}

impl Charter {
    /// Refuses a position (`[lon, lat]`, as GeoJSON gives it) outside the cell's area
    /// of interest, saying when it would be inside with latitude and longitude swapped.
    pub fn check_position(&self, field: &str, [lon, lat]: [f64; 2]) -> Result<(), DomainError> {
        let Some(a) = &self.settings.area_of_interest else {
            return Ok(());
        };
        if a.contains(lon, lat) {
            return Ok(());
        }
        let [w, s, e, n] = a.bounds();
        let area = format!("within longitude {w} to {e}, latitude {s} to {n}");
        let hint = if a.contains(lat, lon) {
            format!(
                "; latitude and longitude look swapped: positions are longitude first ([{lat}, {lon}], or --at {lat},{lon})"
            )
        } else {
            String::new()
        };
        Err(DomainError::invalid(
            field,
            format!(
                "position [{lon}, {lat}] (longitude {lon}, latitude {lat}) is outside the cell's area of interest ({area}){hint}"
            ),
        ))
    }

    /// [`Charter::check_position`] for every position of a list.
    pub fn check_positions<'a>(
        &self,
        field: &str,
        positions: impl IntoIterator<Item = &'a [f64; 2]>,
    ) -> Result<(), DomainError> {
        if self.settings.area_of_interest.is_none() {
            return Ok(());
        }
        positions
            .into_iter()
            .try_for_each(|p| self.check_position(field, *p))
    }
}

/// The answer margin when the charter does not set one: fifteen minutes.
pub const DEFAULT_ANSWER_MARGIN: Duration = Duration::from_mins(15);

fn default_answer_margin() -> Duration {
    DEFAULT_ANSWER_MARGIN
}

fn is_default_answer_margin(d: &Duration) -> bool {
    *d == DEFAULT_ANSWER_MARGIN
}

/// The signature window when the charter does not set one: five minutes.
pub const DEFAULT_SIGNATURE_WINDOW: Duration = Duration::from_secs(300);

fn default_signature_window() -> Duration {
    DEFAULT_SIGNATURE_WINDOW
}

fn is_default_signature_window(d: &Duration) -> bool {
    *d == DEFAULT_SIGNATURE_WINDOW
}

impl Default for Settings {
    fn default() -> Self {
        let lead_times = [
            ("air_strike", Duration::from_hours(1)),
            ("air_patrol", Duration::from_mins(30)),
            ("uav_flight", Duration::from_mins(30)),
            ("artillery", Duration::from_hours(1)),
            ("ground_movement", Duration::from_hours(2)),
            ("exercise", Duration::from_hours(72)),
            ("demining", Duration::from_hours(24)),
            ("humanitarian_convoy", Duration::from_hours(48)),
            ("other", Duration::from_hours(1)),
        ]
        .into_iter()
        .map(|(k, d)| (k.to_string(), d))
        .collect();
        Settings {
            deadlines: Deadlines::default(),
            lead_times,
            default_tlp: "amber".into(),
            heartbeat_timeout: Duration::from_mins(5),
            site_reconfirm: Duration::from_hours(24 * 30),
            signature_window: DEFAULT_SIGNATURE_WINDOW,
            answer_margin: DEFAULT_ANSWER_MARGIN,
            area_of_interest: None,
            cooperation_observers: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charter {
    pub name: String,
    pub parties: Vec<Party>,
    pub operators: Vec<OperatorSpec>,
    pub settings: Settings,
    /// The log's verifier key (signed-note form), pinned by the charter: the cell is
    /// created only with its private half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_key: Option<String>,
}

/// Longest verifier key a charter may pin.
pub const MAX_VKEY_LEN: usize = 400;

/// A verifier key's outward shape (`name+keyid+base64`, printable ASCII without
/// spaces); the edges check that it parses as a key.
fn check_vkey(field: &str, vkey: &str) -> Result<(), CharterError> {
    let ok = !vkey.is_empty()
        && vkey.len() <= MAX_VKEY_LEN
        && vkey.bytes().all(|b| b.is_ascii_graphic())
        && vkey.split('+').count() >= 3;
    if ok {
        Ok(())
    } else {
        Err(err(
            field,
            format!(
                "{vkey:?} is not a verifier key (name+keyid+base64, at most {MAX_VKEY_LEN} characters)"
            ),
        ))
    }
}

/// A charter problem, naming the field it is about (e.g. `operators[2].party`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CharterError {
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> CharterError {
    CharterError {
        field: field.into(),
        message: message.into(),
    }
}

/// Ids are lowercase ASCII letters, digits, `-` and `_`, starting with a letter, so they
/// are safe in URLs (`/taxii2/<party-id>/`), file names and log entries.
pub fn check_id(field: &str, id: &str) -> Result<(), CharterError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.as_bytes()[0].is_ascii_lowercase()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(err(
            field,
            format!(
                "{id:?} is not a valid id: use 1-{MAX_ID_LEN} lowercase letters, digits, '-' or '_', starting with a letter"
            ),
        ))
    }
}

impl Charter {
    /// Checks the rules a charter must satisfy before a cell can be created from it.
    pub fn validate(&self) -> Result<(), CharterError> {
        if self.name.trim().is_empty() || self.name.len() > MAX_NAME_LEN {
            return Err(err("name", format!("must be 1-{MAX_NAME_LEN} characters")));
        }
        if self.parties.len() > MAX_PARTIES {
            return Err(err("parties", format!("at most {MAX_PARTIES} parties")));
        }
        let mut ids = BTreeSet::new();
        for (i, p) in self.parties.iter().enumerate() {
            check_id(&format!("parties[{i}].id"), &p.id)?;
            if !ids.insert(p.id.as_str()) {
                return Err(err(
                    format!("parties[{i}].id"),
                    format!("duplicate party id {:?}", p.id),
                ));
            }
            if p.name.trim().is_empty() || p.name.len() > MAX_NAME_LEN {
                return Err(err(
                    format!("parties[{i}].name"),
                    format!("must be 1-{MAX_NAME_LEN} characters"),
                ));
            }
            if p.key
                .as_ref()
                .is_some_and(|k| k.is_empty() || k.len() > 400)
            {
                return Err(err(
                    format!("parties[{i}].key"),
                    "a verifier key of 1-400 characters",
                ));
            }
            if let Some(w) = &p.witness {
                check_vkey(&format!("parties[{i}].witness"), w)?;
            }
        }
        let mut pinned = BTreeSet::new();
        for (i, p) in self.parties.iter().enumerate() {
            if let Some(w) = &p.witness
                && (!pinned.insert(w.as_str()) || self.log_key.as_deref() == Some(w.as_str()))
            {
                return Err(err(
                    format!("parties[{i}].witness"),
                    "each party's witness key is its own, and not the log's",
                ));
            }
        }
        if let Some(a) = &self.settings.area_of_interest {
            a.check().map_err(|m| err("settings.area_of_interest", m))?;
        }
        let m = self.settings.answer_margin;
        if m.micros() < 0 || m > Duration::from_hours(24 * 7) {
            return Err(err("settings.answer_margin", "must be between 0 and 7d"));
        }
        if let Some(k) = &self.log_key {
            check_vkey("log.key", k)?;
        }
        let w = self.settings.signature_window;
        if w.micros() <= 0 || w > Duration::from_hours(24) {
            return Err(err(
                "settings.signature_window",
                "must be more than 0 and at most 24h",
            ));
        }
        let supervisors = self
            .parties
            .iter()
            .filter(|p| p.role == PartyRole::Supervisor)
            .count();
        if supervisors != 1 {
            return Err(err(
                "parties",
                format!("exactly one party must have role \"supervisor\", found {supervisors}"),
            ));
        }
        let members = self
            .parties
            .iter()
            .filter(|p| p.role == PartyRole::Member)
            .count();
        if members < 2 {
            return Err(err(
                "parties",
                format!("at least two parties must have role \"member\", found {members}"),
            ));
        }
        if self.operators.len() > MAX_OPERATORS {
            return Err(err(
                "operators",
                format!("at most {MAX_OPERATORS} operators"),
            ));
        }
        let mut names = BTreeSet::new();
        for (i, o) in self.operators.iter().enumerate() {
            check_id(&format!("operators[{i}].name"), &o.name)?;
            if !names.insert(o.name.as_str()) {
                return Err(err(
                    format!("operators[{i}].name"),
                    format!("duplicate operator name {:?}", o.name),
                ));
            }
            let party = self.party(&o.party).ok_or_else(|| {
                err(
                    format!("operators[{i}].party"),
                    format!("unknown party {:?}", o.party),
                )
            })?;
            check_role_fits(party.role, o.role)
                .map_err(|m| err(format!("operators[{i}].role"), m))?;
        }
        if !self.operators.iter().any(|o| {
            o.role == OperatorRole::Supervisor
                && self
                    .party(&o.party)
                    .is_some_and(|p| p.role == PartyRole::Supervisor)
        }) {
            return Err(err(
                "operators",
                "the supervising party needs at least one operator with role \"supervisor\" to approve the charter",
            ));
        }
        let d = &self.settings.deadlines;
        if !(d.flash <= d.immediate && d.immediate <= d.priority && d.priority <= d.routine) {
            return Err(err(
                "deadlines",
                "deadlines must not shrink as precedence falls (flash <= immediate <= priority <= routine)",
            ));
        }
        for (k, v) in &self.settings.lead_times {
            if v.micros() < 0 {
                return Err(err(format!("lead_times.{k}"), "must not be negative"));
            }
        }
        Ok(())
    }

    pub fn party(&self, id: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.id == id)
    }

    /// Whether the operators of `party` must sign their writes (false for an unknown party,
    /// which has no operators).
    pub fn must_sign(&self, party: &str) -> bool {
        self.party(party).is_some_and(Party::must_sign)
    }

    /// The parties whose cosignatures make a checkpoint final: every member and the
    /// supervisor.
    pub fn finalizers(&self) -> impl Iterator<Item = &Party> {
        self.parties
            .iter()
            .filter(|p| p.role != PartyRole::Observer)
    }

    pub fn supervisor(&self) -> Option<&Party> {
        self.parties
            .iter()
            .find(|p| p.role == PartyRole::Supervisor)
    }
}

/// Which operator roles a party of a given role may staff.
pub fn check_role_fits(party: PartyRole, role: OperatorRole) -> Result<(), String> {
    let ok = match role {
        OperatorRole::Supervisor => party == PartyRole::Supervisor,
        OperatorRole::Observer => party == PartyRole::Observer,
        OperatorRole::Liaison | OperatorRole::Analyst => party != PartyRole::Observer,
        OperatorRole::Admin => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "role \"{role}\" is not available to a party with role \"{party}\""
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn golan() -> Charter {
        let party = |id: &str, name: &str, role| Party {
            key: None,
            id: id.into(),
            name: name.into(),
            role,
            signatures: None,
            witness: None,
            client_ca: None,
        };
        let op = |name: &str, party: &str, role| OperatorSpec {
            name: name.into(),
            party: party.into(),
            role,
        };
        Charter {
            name: "Golan joint communication cell".into(),
            parties: vec![
                party("il", "Israel", PartyRole::Member),
                party("sy", "Syria", PartyRole::Member),
                party("us", "United States", PartyRole::Supervisor),
                party("undof", "UNDOF", PartyRole::Observer),
            ],
            operators: vec![
                op("il-liaison", "il", OperatorRole::Liaison),
                op("sy-liaison", "sy", OperatorRole::Liaison),
                op("us-supervisor", "us", OperatorRole::Supervisor),
                op("undof-observer", "undof", OperatorRole::Observer),
                op("us-admin", "us", OperatorRole::Admin),
                op("il-admin", "il", OperatorRole::Admin),
                op("sy-admin", "sy", OperatorRole::Admin),
            ],
            settings: Settings::default(),
            log_key: None,
        }
    }

    #[test]
    fn a_client_certificate_speaks_only_for_its_party() {
        let c = golan();
        let mut il = c.party("il").cloned().expect("il");
        let sy = c.party("sy").cloned().expect("sy");
        let tls = |p: Option<&str>| Connection::Tls {
            certificate: p.map(str::to_string),
        };
        let code = |r: Result<(), DomainError>| r.err().map(|e| (e.code(), e.class()));
        let mismatch = Some((
            "client_certificate_mismatch",
            crate::error::ErrorClass::Forbidden,
        ));
        let required = Some((
            "client_certificate_required",
            crate::error::ErrorClass::Forbidden,
        ));
        // Without a client CA: plain, TLS without a certificate, its own certificate.
        for conn in [Connection::Plain, tls(None), tls(Some("il"))] {
            assert_eq!(il.admits(&conn), Ok(()), "{conn:?}");
        }
        // Another party's certificate never speaks for this party.
        assert_eq!(code(il.admits(&tls(Some("sy")))), mismatch);
        il.client_ca = Some("-----BEGIN CERTIFICATE-----".into());
        assert_eq!(il.admits(&tls(Some("il"))), Ok(()));
        for conn in [Connection::Plain, tls(None)] {
            assert_eq!(code(il.admits(&conn)), required, "{conn:?}");
        }
        assert_eq!(code(il.admits(&tls(Some("sy")))), mismatch);
        assert_eq!(code(sy.admits(&tls(Some("il")))), mismatch);
    }

    #[test]
    fn golan_is_valid() {
        assert_eq!(golan().validate(), Ok(()));
    }

    #[test]
    fn two_supervisors_are_refused() {
        let mut c = golan();
        c.parties[0].role = PartyRole::Supervisor;
        assert_eq!(
            c.validate().map_err(|e| e.field),
            Err("parties".to_string())
        );
    }

    #[test]
    fn operator_of_unknown_party_names_the_field() {
        let mut c = golan();
        c.operators[1].party = "xx".into();
        let e = c.validate().err();
        assert_eq!(e.map(|e| e.field), Some("operators[1].party".to_string()));
    }

    #[test]
    fn member_cannot_hold_supervisor_role() {
        let mut c = golan();
        c.operators[0].role = OperatorRole::Supervisor;
        assert_eq!(
            c.validate().map_err(|e| e.field),
            Err("operators[0].role".to_string())
        );
    }
}
