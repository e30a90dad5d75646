//! Deconfliction: protected sites, zones with rules, stances and waivers, and activity
//! notifications with the conflicts the engine found when they were filed.
//!
//! Geometry is carried as plain coordinates; the geodesy and the conflict engine live at
//! the edge (`liaison-geo`), which hands the core the conflicts it computed. The core
//! records them, opens the answer deadlines and keeps versions.

use crate::charter::{PartyRole, Precedence};
use crate::event::Audience;
use crate::time::Timestamp;
use crate::visibility::Viewer;
use crate::{OperatorName, PartyId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    Polygon,
    MultiPolygon,
    Circle,
    Corridor,
}

/// A geometry: polygons (rings of `[lon, lat]`), a circle (one position) or a corridor
/// (a line), with a buffer in metres (circle radius, corridor half-width).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub kind: ShapeKind,
    /// Polygons → rings → positions. A circle is `[[[lon, lat]]]`, a corridor `[[line]]`.
    pub coordinates: Vec<Vec<Vec<[f64; 2]>>>,
    pub buffer_m: f64,
}

impl Shape {
    /// A representative position (first vertex), for MGRS read-back and listings.
    pub fn anchor(&self) -> Option<[f64; 2]> {
        self.coordinates.first()?.first()?.first().copied()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteCategory {
    PopulationCentre,
    MinorityCommunity,
    Medical,
    School,
    Religious,
    Humanitarian,
    UnPost,
    CriticalInfrastructure,
    Diplomatic,
}

impl SiteCategory {
    pub const ALL: [SiteCategory; 9] = [
        SiteCategory::PopulationCentre,
        SiteCategory::MinorityCommunity,
        SiteCategory::Medical,
        SiteCategory::School,
        SiteCategory::Religious,
        SiteCategory::Humanitarian,
        SiteCategory::UnPost,
        SiteCategory::CriticalInfrastructure,
        SiteCategory::Diplomatic,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SiteCategory::PopulationCentre => "population_centre",
            SiteCategory::MinorityCommunity => "minority_community",
            SiteCategory::Medical => "medical",
            SiteCategory::School => "school",
            SiteCategory::Religious => "religious",
            SiteCategory::Humanitarian => "humanitarian",
            SiteCategory::UnPost => "un_post",
            SiteCategory::CriticalInfrastructure => "critical_infrastructure",
            SiteCategory::Diplomatic => "diplomatic",
        }
    }
    pub fn parse(s: &str) -> Option<SiteCategory> {
        SiteCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    pub id: u64,
    pub version: u32,
    pub names: BTreeMap<String, String>,
    pub category: SiteCategory,
    pub shape: Shape,
    pub registered_by: PartyId,
    pub registered_at: Timestamp,
    /// Party → when it last confirmed this version.
    pub confirmations: BTreeMap<PartyId, Timestamp>,
    /// Earlier versions, kept in the record and here.
    pub history: Vec<(u32, Shape, Timestamp)>,
    /// This version's unread Cursor-on-Target `<detail>` children, exactly as imported.
    pub cot_detail: Option<String>,
}

/// The most bytes of CoT `<detail>` a site keeps.
pub const MAX_COT_DETAIL: usize = 16 * 1024;

impl Site {
    pub fn last_confirmed(&self) -> Timestamp {
        self.confirmations
            .values()
            .copied()
            .max()
            .unwrap_or(self.registered_at)
    }
}

/// Another party's proposed change to a site, waiting for the registrant's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteProposal {
    pub id: u64,
    pub site: u64,
    /// The version it was proposed against.
    pub version: u32,
    pub party: PartyId,
    pub names: BTreeMap<String, String>,
    pub category: SiteCategory,
    pub shape: Shape,
    pub cot_detail: Option<String>,
    pub proposed_at: Timestamp,
    /// `accepted` or `rejected`, once answered.
    pub answer: Option<(bool, String, Timestamp)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    AreaOfSeparation,
    AreaOfLimitation,
    DemilitarisedZone,
    NoFlyZone,
    Buffer,
    Other,
}

impl ZoneKind {
    pub const ALL: [ZoneKind; 6] = [
        ZoneKind::AreaOfSeparation,
        ZoneKind::AreaOfLimitation,
        ZoneKind::DemilitarisedZone,
        ZoneKind::NoFlyZone,
        ZoneKind::Buffer,
        ZoneKind::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::AreaOfSeparation => "area_of_separation",
            ZoneKind::AreaOfLimitation => "area_of_limitation",
            ZoneKind::DemilitarisedZone => "demilitarised_zone",
            ZoneKind::NoFlyZone => "no_fly_zone",
            ZoneKind::Buffer => "buffer",
            ZoneKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<ZoneKind> {
        ZoneKind::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    Proposed,
    Accepted,
    Disputed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneRules {
    pub prohibited_kinds: BTreeSet<String>,
    pub alt_min_m: Option<f64>,
    pub alt_max_m: Option<f64>,
    pub force_limits: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Waiver {
    pub id: u64,
    pub granted_by: PartyId,
    /// `prohibited_kind` and/or `altitude`.
    pub rules: BTreeSet<String>,
    pub kinds: BTreeSet<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub text: String,
    pub approved_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    pub id: u64,
    pub version: u32,
    pub name: String,
    pub kind: ZoneKind,
    pub shape: Shape,
    pub rules: ZoneRules,
    pub stances: BTreeMap<PartyId, Stance>,
    pub waivers: Vec<Waiver>,
    pub note: String,
    /// The party that proposed the zone (its owner while it is not agreed).
    pub proposed_by: PartyId,
    /// A proposed new version of an agreed zone: this zone stays in force, and is what
    /// the engine checks, until every member accepts the proposal.
    pub pending: Option<Box<PendingZone>>,
}

/// A proposed new version of an agreed zone, with the stances taken on it.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingZone {
    pub version: u32,
    pub name: String,
    pub kind: ZoneKind,
    pub shape: Shape,
    pub rules: ZoneRules,
    pub note: String,
    pub proposed_by: PartyId,
    pub stances: BTreeMap<PartyId, Stance>,
}

/// Agreed when every member accepted (or proposed) and none disputes.
fn agreed(stances: &BTreeMap<PartyId, Stance>, members: &BTreeSet<PartyId>) -> bool {
    !stances.values().any(|s| *s == Stance::Disputed)
        && members
            .iter()
            .all(|m| matches!(stances.get(m), Some(Stance::Accepted | Stance::Proposed)))
}

/// `disputed` when any member disputes, `agreed` when every member accepted (or
/// proposed), else `proposed`.
fn status_of(stances: &BTreeMap<PartyId, Stance>, members: &BTreeSet<PartyId>) -> &'static str {
    if stances.values().any(|s| *s == Stance::Disputed) {
        "disputed"
    } else if agreed(stances, members) {
        "agreed"
    } else {
        "proposed"
    }
}

impl PendingZone {
    pub fn status(&self, members: &BTreeSet<PartyId>) -> &'static str {
        status_of(&self.stances, members)
    }
}

impl Zone {
    /// Agreed when every member party accepted it (or proposed it); disputed when any
    /// member disputes it; otherwise proposed.
    pub fn status(&self, members: &BTreeSet<PartyId>) -> &'static str {
        status_of(&self.stances, members)
    }
}

/// What the engine found for a notification, recorded as it was at filing time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// `site`, `zone` or `activity`.
    pub with: String,
    pub target: u64,
    /// The party concerned (the site's registrant, the other activity's party); empty for zones.
    pub party: PartyId,
    /// `radius`, `rule broken`, `touches`, `overlap`: and the details, in words.
    pub reason: String,
    /// `violation`, `warning` or `info`.
    pub severity: String,
    pub distance_m: f64,
    pub threshold_m: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub id: u64,
    pub party: PartyId,
    pub operator: OperatorName,
    pub kind: String,
    pub shape: Shape,
    pub alt_min_m: f64,
    pub alt_max_m: f64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub forces: String,
    pub precedence: Precedence,
    pub filed_at: Timestamp,
    pub late: bool,
    pub conflicts: Vec<Conflict>,
    /// Party → (acknowledged or objected, text, when).
    pub answers: BTreeMap<PartyId, (String, String, Timestamp)>,
    pub withdrawn: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Deconfliction {
    pub sites: BTreeMap<u64, Site>,
    pub zones: BTreeMap<u64, Zone>,
    pub notifications: BTreeMap<u64, Notification>,
    /// Proposed changes to sites by parties other than their registrants, by id.
    pub site_proposals: BTreeMap<u64, SiteProposal>,
    /// Waiver id → zone id.
    pub waiver_zone: BTreeMap<u64, u64>,
    /// The sequence numbers of the conflict events, in order (so that a page of
    /// them is found without a walk of the whole record).
    pub conflicts: Vec<u64>,
    /// The same, under each party they are addressed to (but the supervisor, who reads
    /// every one), and apart those addressed otherwise (to everyone, or to named operators), so
    /// that a party's page is found without a walk of the conflicts addressed to
    /// others only: an observer's post is concerned by a few of them in a million.
    pub conflicts_to: BTreeMap<PartyId, Vec<u64>>,
    pub conflicts_to_others: Vec<u64>,
}

impl Deconfliction {
    /// The sequence numbers after `after` of the conflict events that may be
    /// addressed to `viewer`, in order: every one it may read and perhaps a few more
    /// (`visibility::can_see` decides; the index only spares the walk).
    pub fn conflicts_for<'a>(
        &'a self,
        viewer: &Viewer,
        after: Option<u64>,
    ) -> Box<dyn Iterator<Item = u64> + 'a> {
        let from = |v: &'a [u64]| &v[after.map_or(0, |a| v.partition_point(|&x| x <= a))..];
        if viewer.party_role == PartyRole::Supervisor {
            return Box::new(from(&self.conflicts).iter().copied());
        }
        let own = self
            .conflicts_to
            .get(&viewer.party)
            .map_or(&[][..], |v| from(v));
        Box::new(merged(own, from(&self.conflicts_to_others)))
    }

    /// Indexes a conflict event under its audience: under each party it names but the
    /// supervisor (who reads `conflicts` whole), and apart if it is addressed to
    /// everyone or to named operators.
    fn index_conflict(&mut self, seq: u64, audience: &Audience, supervisor: Option<&str>) {
        self.conflicts.push(seq);
        let parties = match audience {
            Audience::Everyone => return self.conflicts_to_others.push(seq),
            Audience::Parties(parties) => parties,
            Audience::Operators { parties, .. } => {
                self.conflicts_to_others.push(seq);
                parties
            }
        };
        for p in parties.iter().filter(|p| Some(p.as_str()) != supervisor) {
            self.conflicts_to.entry(p.clone()).or_default().push(seq);
        }
    }
}

/// Two ascending lists as one, each number once.
fn merged<'a>(a: &'a [u64], b: &'a [u64]) -> impl Iterator<Item = u64> + 'a {
    let (mut a, mut b) = (a.iter().copied().peekable(), b.iter().copied().peekable());
    std::iter::from_fn(move || match (a.peek().copied(), b.peek().copied()) {
        (Some(x), Some(y)) => {
            if x <= y {
                a.next();
            }
            if y <= x {
                b.next();
            }
            Some(x.min(y))
        }
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

use crate::command::{Actor, Command, Draft, check_text, require_supervisor};
use crate::deadline::{Duty, ObligationKey};
use crate::error::DomainError;
use crate::event::{Event, EventBody};
use crate::state::State;
use crate::time::Duration;

/// Activity kinds a notification may declare.
pub const ACTIVITY_KINDS: [&str; 9] = [
    "air_strike",
    "air_patrol",
    "uav_flight",
    "artillery",
    "ground_movement",
    "exercise",
    "demining",
    "humanitarian_convoy",
    "other",
];

/// The charter's member parties (whose stances decide a zone's status).
pub fn members(state: &State) -> BTreeSet<PartyId> {
    state
        .charter()
        .map(|c| {
            c.parties
                .iter()
                .filter(|p| p.role == crate::charter::PartyRole::Member)
                .map(|p| p.id.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn party_of(actor: &Actor) -> Result<&str, DomainError> {
    actor
        .party()
        .ok_or_else(|| DomainError::forbidden("parties do this, not the cell"))
}

pub(crate) fn check_shape(state: &State, shape: &Shape) -> Result<(), DomainError> {
    if shape.coordinates.is_empty() || !shape.buffer_m.is_finite() || shape.buffer_m < 0.0 {
        return Err(DomainError::invalid(
            "geometry",
            "empty geometry or invalid buffer",
        ));
    }
    match state.charter() {
        Some(c) => c.check_positions("geometry", shape.coordinates.iter().flatten().flatten()),
        None => Ok(()),
    }
}

/// Most notifications one decision may file.
pub const MAX_NOTICES: usize = 500;

/// Decides one notification whose own event will be number `seq`.
fn file_notification(
    state: &State,
    actor: &Actor,
    command: &Command,
    now: Timestamp,
    seq: u64,
) -> Result<Vec<Draft>, DomainError> {
    let Command::FileNotification {
        kind,
        shape,
        alt_min_m,
        alt_max_m,
        start,
        end,
        forces,
        precedence,
        conflicts,
        amends,
    } = command
    else {
        return Err(DomainError::invalid(
            "notices",
            "only notifications are filed together",
        ));
    };
    let party = party_of(actor)?;
    if !members(state).contains(party) {
        return Err(DomainError::forbidden(
            "member parties notify their activity",
        ));
    }
    if !ACTIVITY_KINDS.contains(&kind.as_str()) {
        return Err(DomainError::invalid(
            "kind",
            format!("{kind:?} is not one of {}", ACTIVITY_KINDS.join(", ")),
        ));
    }
    check_shape(state, shape)?;
    if end <= start {
        return Err(DomainError::invalid(
            "window",
            "the window ends before it starts",
        ));
    }
    if !(alt_min_m.is_finite() && alt_max_m.is_finite()) || alt_min_m > alt_max_m {
        return Err(DomainError::invalid(
            "altitude",
            "the altitude band is upside down",
        ));
    }
    check_text("forces", forces, 4000)?;
    if *end <= now {
        return Err(DomainError::invalid(
            "window",
            "the window has already ended: notify activity that is still to come or under way (an incident reports what happened)",
        ));
    }
    if let Some(old) = amends {
        own_open_notification(state, party, *old)?;
    }
    let lead = state
        .charter()
        .and_then(|c| c.settings.lead_times.get(kind).copied())
        .unwrap_or(Duration::from_hours(1));
    let late = start.since(now) < lead;
    let mut audience = members(state);
    audience.insert(party.to_string());
    let mut out = vec![Draft::to_parties(
        state,
        &audience,
        EventBody::NotificationFiled {
            activity: kind.clone(),
            shape: shape.clone(),
            alt_min_m: *alt_min_m,
            alt_max_m: *alt_max_m,
            start: *start,
            end: *end,
            forces: forces.clone(),
            precedence: *precedence,
            late,
            conflicts: conflicts.clone(),
            amends: *amends,
        },
    )];
    // Every conflict is its own event, for everyone the notification is addressed to
    // (the filer and the members who must answer it: it carries its conflicts, and
    // they weigh them in acknowledging or objecting), the party concerned (a site's
    // registrant, which may be an observer's post) and the supervisor.
    let notification = seq;
    for c in conflicts {
        let mut parties = audience.clone();
        if !c.party.is_empty() {
            parties.insert(c.party.clone());
        }
        out.push(Draft::to_parties(
            state,
            &parties,
            EventBody::ConflictDetected {
                notification,
                conflict: c.clone(),
            },
        ));
    }
    Ok(out)
}

/// Refuses a notification its caller may not read as if it did not exist, so that a
/// refusal never tells whose it is.
fn readable_notification(state: &State, actor: &Actor, id: u64) -> Result<(), DomainError> {
    if let Actor::Operator { name, .. } = actor
        && let Some(viewer) = crate::visibility::Viewer::of_operator(state, name)
        && !crate::visibility::can_read_notification(state, &viewer, id)
    {
        return Err(DomainError::not_found(format!("notification {id}")));
    }
    Ok(())
}

/// The notification `id`, if `party` filed it and it still stands.
fn own_open_notification<'a>(
    state: &'a State,
    party: &str,
    id: u64,
) -> Result<&'a Notification, DomainError> {
    let n = state
        .deconfliction
        .notifications
        .get(&id)
        .ok_or_else(|| DomainError::not_found(format!("notification {id}")))?;
    if n.party != party {
        return Err(DomainError::forbidden(format!(
            "notification {id} is {}'s: only the filer amends or withdraws it",
            n.party
        )));
    }
    if n.withdrawn {
        return Err(DomainError::InvalidState(format!(
            "notification {id} is already withdrawn"
        )));
    }
    Ok(n)
}

/// Checks a site version's names, shape and CoT detail.
fn check_site(
    state: &State,
    names: &BTreeMap<String, String>,
    shape: &Shape,
    cot_detail: &Option<String>,
) -> Result<(), DomainError> {
    check_shape(state, shape)?;
    if names.is_empty() || names.len() > 10 {
        return Err(DomainError::invalid(
            "names",
            "give 1-10 names, by language",
        ));
    }
    for (lang, n) in names {
        crate::hotline::check_language(lang).map_err(|m| DomainError::invalid("names", m))?;
        check_text("names", n, 200)?;
    }
    if cot_detail
        .as_ref()
        .is_some_and(|d| d.len() > MAX_COT_DETAIL)
    {
        return Err(DomainError::invalid(
            "cot_detail",
            format!("keep at most {MAX_COT_DETAIL} bytes of CoT detail"),
        ));
    }
    Ok(())
}

/// The site `id`, or `not_found`.
fn site_of(d: &Deconfliction, id: u64) -> Result<&Site, DomainError> {
    d.sites
        .get(&id)
        .ok_or_else(|| DomainError::not_found(format!("site {id}")))
}

/// Whether the actor's party is the supervising party.
fn supervising(actor: &Actor) -> bool {
    matches!(
        actor,
        Actor::Operator {
            party_role: PartyRole::Supervisor,
            ..
        }
    )
}

/// Decides a new version of a zone: its proposer revises it while it is not agreed;
/// once agreed, any member or the supervising party may propose a new version, which
/// waits for every member's acceptance while the agreed one stays in force.
fn zone_version(
    state: &State,
    actor: &Actor,
    party: &str,
    id: u64,
) -> Result<(u32, bool), DomainError> {
    let z = state
        .deconfliction
        .zones
        .get(&id)
        .ok_or_else(|| DomainError::not_found(format!("zone {id}")))?;
    let members = members(state);
    if z.status(&members) != "agreed" {
        if z.proposed_by != party {
            return Err(DomainError::forbidden(format!(
                "zone {id} is {}'s proposal and not agreed: only {} revises it; accept or dispute it",
                z.proposed_by, z.proposed_by
            )));
        }
        return Ok((z.version + 1, false));
    }
    if !members.contains(party) && !supervising(actor) {
        return Err(DomainError::forbidden(
            "member parties and the supervisor propose changes to an agreed zone",
        ));
    }
    if let Some(p) = &z.pending
        && p.proposed_by != party
    {
        return Err(DomainError::InvalidState(format!(
            "{} already proposed version {} of zone {id}; accept or dispute it first",
            p.proposed_by, p.version
        )));
    }
    let latest = z.pending.as_ref().map_or(z.version, |p| p.version);
    Ok((latest + 1, true))
}

pub(crate) fn decide(
    state: &State,
    actor: &Actor,
    command: &Command,
    now: Timestamp,
) -> Result<Vec<Draft>, DomainError> {
    let d = &state.deconfliction;
    match command {
        Command::RegisterSite {
            site,
            names,
            category,
            shape,
            cot_detail,
        } => {
            let party = party_of(actor)?;
            check_site(state, names, shape, cot_detail)?;
            let version = match site {
                None => 1,
                Some(id) => {
                    let s = site_of(d, *id)?;
                    if s.registered_by != party && !supervising(actor) {
                        return Err(DomainError::forbidden(format!(
                            "site {id} is {}'s: only {} or the supervisor publishes a new version; propose a change instead",
                            s.registered_by, s.registered_by
                        )));
                    }
                    s.version + 1
                }
            };
            Ok(vec![Draft::everyone(EventBody::SiteRegistered {
                site: *site,
                version,
                names: names.clone(),
                category: *category,
                shape: shape.clone(),
                cot_detail: cot_detail.clone(),
            })])
        }
        Command::ProposeSiteChange {
            site,
            names,
            category,
            shape,
            cot_detail,
        } => {
            let party = party_of(actor)?;
            check_site(state, names, shape, cot_detail)?;
            let s = site_of(d, *site)?;
            if s.registered_by == party {
                return Err(DomainError::InvalidState(format!(
                    "site {site} is your party's: publish a new version instead"
                )));
            }
            Ok(vec![Draft::everyone(EventBody::SiteChangeProposed {
                site: *site,
                version: s.version,
                names: names.clone(),
                category: *category,
                shape: shape.clone(),
                cot_detail: cot_detail.clone(),
            })])
        }
        Command::AnswerSiteChange {
            proposal,
            accept,
            text,
        } => {
            let party = party_of(actor)?;
            check_text("text", text, 4000)?;
            let p = d
                .site_proposals
                .get(proposal)
                .ok_or_else(|| DomainError::not_found(format!("site proposal {proposal}")))?;
            let s = site_of(d, p.site)?;
            if s.registered_by != party {
                return Err(DomainError::forbidden(format!(
                    "site {} is {}'s: only {} answers a proposed change",
                    p.site, s.registered_by, s.registered_by
                )));
            }
            if p.answer.is_some() {
                return Err(DomainError::InvalidState(format!(
                    "site proposal {proposal} is already answered"
                )));
            }
            if *accept && p.version != s.version {
                return Err(DomainError::InvalidState(format!(
                    "site {} changed (version {}) since proposal {proposal} (against version {}); reject it and ask for a new one",
                    p.site, s.version, p.version
                )));
            }
            let mut out = vec![Draft::everyone(EventBody::SiteChangeAnswered {
                proposal: *proposal,
                accepted: *accept,
                text: text.clone(),
            })];
            if *accept {
                out.push(Draft::everyone(EventBody::SiteRegistered {
                    site: Some(p.site),
                    version: s.version + 1,
                    names: p.names.clone(),
                    category: p.category,
                    shape: p.shape.clone(),
                    cot_detail: p.cot_detail.clone(),
                }));
            }
            Ok(out)
        }
        Command::ConfirmSite { site } => {
            party_of(actor)?;
            let s = site_of(d, *site)?;
            Ok(vec![Draft::everyone(EventBody::SiteConfirmed {
                site: *site,
                version: s.version,
            })])
        }
        Command::RegisterZone {
            zone,
            name,
            kind,
            shape,
            rules,
            note,
        } => {
            let party = party_of(actor)?;
            if state.party_role(party) == Some(crate::charter::PartyRole::Observer) {
                return Err(DomainError::forbidden("observers do not propose zones"));
            }
            check_shape(state, shape)?;
            if !matches!(shape.kind, ShapeKind::Polygon | ShapeKind::MultiPolygon) {
                return Err(DomainError::invalid(
                    "geometry",
                    "a zone is a Polygon or MultiPolygon",
                ));
            }
            check_text("name", name, 200)?;
            check_text("note", note, 4000)?;
            if let (Some(a), Some(b)) = (rules.alt_min_m, rules.alt_max_m)
                && a > b
            {
                return Err(DomainError::invalid(
                    "rules.altitude",
                    "the altitude band is upside down",
                ));
            }
            let (version, proposal) = match zone {
                None => (1, false),
                Some(id) => zone_version(state, actor, party, *id)?,
            };
            Ok(vec![Draft::everyone(EventBody::ZoneRegistered {
                zone: *zone,
                version,
                name: name.clone(),
                zone_kind: *kind,
                shape: shape.clone(),
                rules: rules.clone(),
                note: note.clone(),
                proposal,
            })])
        }
        Command::TakeZoneStance { zone, stance } => {
            let party = party_of(actor)?;
            if !members(state).contains(party) {
                return Err(DomainError::forbidden(
                    "only member parties accept or dispute zones",
                ));
            }
            let z = d
                .zones
                .get(zone)
                .ok_or_else(|| DomainError::not_found(format!("zone {zone}")))?;
            if *stance == Stance::Proposed {
                return Err(DomainError::invalid("stance", "accept or dispute"));
            }
            // While a change to an agreed zone is pending, a stance is on the change.
            Ok(vec![Draft::everyone(EventBody::ZoneStanceTaken {
                zone: *zone,
                stance: *stance,
                version: z.pending.as_ref().map(|p| p.version),
            })])
        }
        Command::GrantWaiver {
            zone,
            rules,
            kinds,
            start,
            end,
            text,
        } => {
            let party = party_of(actor)?;
            if !members(state).contains(party) {
                return Err(DomainError::forbidden(
                    "waivers are granted by member parties",
                ));
            }
            d.zones
                .get(zone)
                .ok_or_else(|| DomainError::not_found(format!("zone {zone}")))?;
            if end <= start {
                return Err(DomainError::invalid(
                    "window",
                    "the window ends before it starts",
                ));
            }
            for r in rules {
                if r != "prohibited_kind" && r != "altitude" {
                    return Err(DomainError::invalid(
                        "rules",
                        format!("{r:?} is not prohibited_kind or altitude"),
                    ));
                }
            }
            check_text("text", text, 4000)?;
            Ok(vec![Draft::everyone(EventBody::WaiverGranted {
                zone: *zone,
                rules: rules.clone(),
                kinds: kinds.clone(),
                start: *start,
                end: *end,
                text: text.clone(),
            })])
        }
        Command::ApproveWaiver { waiver } => {
            require_supervisor(actor, "approve a waiver")?;
            let zone = d
                .waiver_zone
                .get(waiver)
                .ok_or_else(|| DomainError::not_found(format!("waiver {waiver}")))?;
            let approved = d
                .zones
                .get(zone)
                .and_then(|z| z.waivers.iter().find(|w| w.id == *waiver))
                .is_some_and(|w| w.approved_at.is_some());
            if approved {
                return Err(DomainError::InvalidState(format!(
                    "waiver {waiver} is already approved"
                )));
            }
            Ok(vec![Draft::everyone(EventBody::WaiverApproved {
                waiver: *waiver,
            })])
        }
        Command::FileNotification { .. } => {
            file_notification(state, actor, command, now, state.next_seq())
        }
        Command::FileNotifications { notices } => {
            if notices.is_empty() || notices.len() > MAX_NOTICES {
                return Err(DomainError::invalid(
                    "notices",
                    format!("file between 1 and {MAX_NOTICES} notifications at once"),
                ));
            }
            let mut out: Vec<Draft> = Vec::new();
            for n in notices {
                // Each notification is numbered by the events decided before it here.
                out.extend(file_notification(
                    state,
                    actor,
                    n,
                    now,
                    state.next_seq() + out.len() as u64,
                )?);
            }
            Ok(out)
        }
        Command::WithdrawNotification {
            notification,
            reason,
        } => {
            let party = party_of(actor)?;
            check_text("reason", reason, 2000)?;
            readable_notification(state, actor, *notification)?;
            let n = own_open_notification(state, party, *notification)?;
            let mut audience = members(state);
            audience.insert(n.party.clone());
            Ok(vec![Draft::to_parties(
                state,
                &audience,
                EventBody::NotificationWithdrawn {
                    notification: *notification,
                    reason: reason.clone(),
                },
            )])
        }
        Command::AnswerNotification {
            notification,
            objection,
            text,
        } => {
            let party = party_of(actor)?;
            let n = d
                .notifications
                .get(notification)
                .ok_or_else(|| DomainError::not_found(format!("notification {notification}")))?;
            if n.party == party || !members(state).contains(party) {
                return Err(DomainError::forbidden(
                    "the other member parties answer a notification",
                ));
            }
            if n.answers.contains_key(party) {
                return Err(DomainError::InvalidState(format!(
                    "{party} already answered notification {notification}"
                )));
            }
            check_text("text", text, 4000)?;
            let mut audience = members(state);
            audience.insert(n.party.clone());
            Ok(vec![Draft::to_parties(
                state,
                &audience,
                EventBody::NotificationAnswered {
                    notification: *notification,
                    objection: *objection,
                    text: text.clone(),
                },
            )])
        }
        _ => Err(DomainError::InvalidState(
            "not a deconfliction command".into(),
        )),
    }
}

pub(crate) fn apply(state: &mut State, event: &Event) -> bool {
    let at = event.at;
    let party = event.author.party.clone();
    let members = members(state);
    let deadlines = state
        .charter()
        .map(|c| c.settings.deadlines.clone())
        .unwrap_or_default();
    let answer_margin = state
        .charter()
        .map(|c| c.settings.answer_margin)
        .unwrap_or(crate::charter::DEFAULT_ANSWER_MARGIN);
    let d = &mut state.deconfliction;
    match &event.body {
        EventBody::SiteRegistered {
            site,
            version,
            names,
            category,
            shape,
            cot_detail,
        } => {
            let id = site.unwrap_or(event.seq);
            let entry = d.sites.entry(id).or_insert_with(|| Site {
                id,
                version: 0,
                names: BTreeMap::new(),
                category: *category,
                shape: shape.clone(),
                registered_by: party.clone(),
                registered_at: at,
                confirmations: BTreeMap::new(),
                history: Vec::new(),
                cot_detail: None,
            });
            if entry.version > 0 {
                entry
                    .history
                    .push((entry.version, entry.shape.clone(), entry.registered_at));
            }
            entry.version = *version;
            entry.names = names.clone();
            entry.category = *category;
            entry.shape = shape.clone();
            entry.cot_detail = cot_detail.clone();
            // A new version never changes who owns the site.
            entry.registered_at = at;
            entry.confirmations = [(party, at)].into();
        }
        EventBody::SiteConfirmed { site, version } => {
            if let Some(s) = d.sites.get_mut(site)
                && s.version == *version
            {
                s.confirmations.insert(party, at);
            }
        }
        EventBody::SiteChangeProposed {
            site,
            version,
            names,
            category,
            shape,
            cot_detail,
        } => {
            let owner = d.sites.get(site).map(|s| s.registered_by.clone());
            d.site_proposals.insert(
                event.seq,
                SiteProposal {
                    id: event.seq,
                    site: *site,
                    version: *version,
                    party: party.clone(),
                    names: names.clone(),
                    category: *category,
                    shape: shape.clone(),
                    cot_detail: cot_detail.clone(),
                    proposed_at: at,
                    answer: None,
                },
            );
            if let Some(owner) = owner {
                state.obligations.open(
                    ObligationKey::new(Duty::AnswerSiteProposal, event.seq.to_string(), owner),
                    [party].into(),
                    at,
                    deadlines.routine,
                    deadlines.second_level,
                );
            }
        }
        EventBody::SiteChangeAnswered {
            proposal,
            accepted,
            text,
        } => {
            if let Some(p) = d.site_proposals.get_mut(proposal) {
                p.answer = Some((*accepted, text.clone(), at));
            }
            state.obligations.meet(
                &ObligationKey::new(Duty::AnswerSiteProposal, proposal.to_string(), party),
                at,
                &event.author.operator,
            );
        }
        EventBody::ZoneRegistered {
            zone,
            version,
            name,
            zone_kind: kind,
            shape,
            rules,
            note,
            proposal,
        } => {
            let id = zone.unwrap_or(event.seq);
            if *proposal {
                if let Some(z) = d.zones.get_mut(&id) {
                    z.pending = Some(Box::new(PendingZone {
                        version: *version,
                        name: name.clone(),
                        kind: *kind,
                        shape: shape.clone(),
                        rules: rules.clone(),
                        note: note.clone(),
                        proposed_by: party.clone(),
                        stances: [(party, Stance::Proposed)].into(),
                    }));
                }
                return true;
            }
            let (waivers, proposed_by) = d
                .zones
                .get(&id)
                .map(|z| (z.waivers.clone(), z.proposed_by.clone()))
                .unwrap_or_else(|| (Vec::new(), party.clone()));
            d.zones.insert(
                id,
                Zone {
                    id,
                    version: *version,
                    name: name.clone(),
                    kind: *kind,
                    shape: shape.clone(),
                    rules: rules.clone(),
                    stances: [(party, Stance::Proposed)].into(),
                    waivers,
                    note: note.clone(),
                    proposed_by,
                    pending: None,
                },
            );
        }
        EventBody::ZoneStanceTaken {
            zone,
            stance,
            version,
        } => {
            if let Some(z) = d.zones.get_mut(zone) {
                match (version, z.pending.as_mut()) {
                    (None, _) => {
                        z.stances.insert(party, *stance);
                    }
                    (Some(v), Some(p)) if p.version == *v => {
                        p.stances.insert(party, *stance);
                        if agreed(&p.stances, &members) {
                            // Every member accepted the change: it is in force now.
                            if let Some(p) = z.pending.take() {
                                let p = *p;
                                z.version = p.version;
                                z.name = p.name;
                                z.kind = p.kind;
                                z.shape = p.shape;
                                z.rules = p.rules;
                                z.note = p.note;
                                z.stances = p.stances;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        EventBody::WaiverGranted {
            zone,
            rules,
            kinds,
            start,
            end,
            text,
        } => {
            if let Some(z) = d.zones.get_mut(zone) {
                z.waivers.push(Waiver {
                    id: event.seq,
                    granted_by: party,
                    rules: rules.clone(),
                    kinds: kinds.clone(),
                    start: *start,
                    end: *end,
                    text: text.clone(),
                    approved_at: None,
                });
                d.waiver_zone.insert(event.seq, *zone);
            }
        }
        EventBody::WaiverApproved { waiver } => {
            if let Some(zone) = d.waiver_zone.get(waiver).copied()
                && let Some(w) = d
                    .zones
                    .get_mut(&zone)
                    .and_then(|z| z.waivers.iter_mut().find(|w| w.id == *waiver))
            {
                w.approved_at = Some(at);
            }
        }
        EventBody::NotificationFiled {
            activity: kind,
            shape,
            alt_min_m,
            alt_max_m,
            start,
            end,
            forces,
            precedence,
            late,
            conflicts,
            amends,
        } => {
            if let Some(old) = amends
                && let Some(n) = d.notifications.get_mut(old)
            {
                n.withdrawn = true;
                state.obligations.meet_all(
                    &Duty::AnswerNotification,
                    &old.to_string(),
                    at,
                    &event.author.operator,
                );
            }
            let d = &mut state.deconfliction;
            d.notifications.insert(
                event.seq,
                Notification {
                    id: event.seq,
                    party: party.clone(),
                    operator: event.author.operator.clone(),
                    kind: kind.clone(),
                    shape: shape.clone(),
                    alt_min_m: *alt_min_m,
                    alt_max_m: *alt_max_m,
                    start: *start,
                    end: *end,
                    forces: forces.clone(),
                    precedence: *precedence,
                    filed_at: at,
                    late: *late,
                    conflicts: conflicts.clone(),
                    answers: BTreeMap::new(),
                    withdrawn: false,
                },
            );
            // The answer is due before the activity starts (by the charter's margin), at
            // once if the start is nearer, and never later than its precedence allows.
            let before_start = Duration(
                start
                    .since(at)
                    .micros()
                    .saturating_sub(answer_margin.micros())
                    .max(0),
            );
            let due_in = deadlines.for_precedence(*precedence).min(before_start);
            for m in members.iter().filter(|m| **m != party) {
                state.obligations.open(
                    ObligationKey::new(Duty::AnswerNotification, event.seq.to_string(), m.clone()),
                    [party.clone()].into(),
                    at,
                    due_in,
                    deadlines.second_level,
                );
            }
        }
        EventBody::NotificationWithdrawn { notification, .. } => {
            if let Some(n) = d.notifications.get_mut(notification) {
                n.withdrawn = true;
            }
            state.obligations.meet_all(
                &Duty::AnswerNotification,
                &notification.to_string(),
                at,
                &event.author.operator,
            );
        }
        EventBody::ConflictDetected { .. } => {
            let supervisor = state.cell.as_ref().and_then(|c| c.charter.supervisor());
            d.index_conflict(
                event.seq,
                &event.audience,
                supervisor.map(|p| p.id.as_str()),
            );
        }
        EventBody::NotificationAnswered {
            notification,
            objection,
            text,
        } => {
            if let Some(n) = d.notifications.get_mut(notification) {
                n.answers.insert(
                    party.clone(),
                    (
                        if *objection {
                            "objected"
                        } else {
                            "acknowledged"
                        }
                        .into(),
                        text.clone(),
                        at,
                    ),
                );
            }
            state.obligations.meet(
                &ObligationKey::new(Duty::AnswerNotification, notification.to_string(), party),
                at,
                &event.author.operator,
            );
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{Deconfliction, merged};
    use crate::charter::PartyRole;
    use crate::event::Audience;
    use crate::visibility::{Viewer, can_see_audience};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const PARTIES: [&str; 4] = ["il", "sy", "us", "undof"];
    const OPERATORS: [&str; 2] = ["il-liaison", "undof-observer"];

    fn names(of: &'static [&'static str]) -> impl Strategy<Value = BTreeSet<String>> {
        proptest::sample::subsequence(of, 0..=of.len())
            .prop_map(|v| v.into_iter().map(String::from).collect())
    }

    fn audience() -> impl Strategy<Value = Audience> {
        prop_oneof![
            1 => Just(Audience::Everyone),
            6 => names(&PARTIES).prop_map(Audience::Parties),
            2 => (names(&PARTIES), names(&OPERATORS))
                .prop_map(|(parties, operators)| Audience::Operators { parties, operators }),
        ]
    }

    proptest! {
        /// A party's conflicts, read through the index, are exactly those it may read
        /// of all of them: whoever it is, whatever they were addressed to, from any
        /// point on; in order, each once.
        #[test]
        fn the_index_misses_no_conflict_a_viewer_may_read(
            audiences in proptest::collection::vec((1u64..4, audience()), 0..60),
            after in proptest::option::of(0u64..200),
        ) {
            let mut d = Deconfliction::default();
            let mut seq = 0;
            let mut all = Vec::new();
            for (gap, a) in &audiences {
                seq += gap;
                d.index_conflict(seq, a, Some("us"));
                all.push((seq, a));
            }
            for party in PARTIES {
                let party_role = match party {
                    "us" => PartyRole::Supervisor,
                    "undof" => PartyRole::Observer,
                    _ => PartyRole::Member,
                };
                for operator in [None, Some("il-liaison"), Some("undof-observer")] {
                    let viewer = Viewer { party: party.into(), party_role, operator: operator.map(String::from) };
                    let listed: Vec<u64> = d.conflicts_for(&viewer, after).collect();
                    prop_assert!(listed.windows(2).all(|w| w[0] < w[1]), "{listed:?}");
                    let readable = |s: &u64| {
                        let a = all.iter().find(|(q, _)| q == s).map(|(_, a)| *a);
                        a.is_some_and(|a| can_see_audience(&viewer, a))
                    };
                    let through_index: Vec<u64> = listed.iter().copied().filter(readable).collect();
                    let walked: Vec<u64> = all
                        .iter()
                        .map(|(s, _)| *s)
                        .filter(|s| after.is_none_or(|a| *s > a))
                        .filter(readable)
                        .collect();
                    prop_assert_eq!(through_index, walked);
                }
            }
        }

        /// Two ascending lists merged: their union, ascending, each number once.
        #[test]
        fn merged_is_the_sorted_union(a in proptest::collection::btree_set(0u64..100, 0..30), b in proptest::collection::btree_set(0u64..100, 0..30)) {
            let (va, vb): (Vec<u64>, Vec<u64>) = (a.iter().copied().collect(), b.iter().copied().collect());
            let got: Vec<u64> = merged(&va, &vb).collect();
            let want: Vec<u64> = a.union(&b).copied().collect();
            prop_assert_eq!(got, want);
        }
    }
}
