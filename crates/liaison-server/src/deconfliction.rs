//! Deconfliction at the edge: GeoJSON in and out, and the conflict engine
//! (`liaison-geo`), kept as a read model of the record: sites, zones (with their
//! agreement status and approved waivers) and filed notifications, indexed in memory
//! and answered without touching the database.

use liaison_core::State;
use liaison_core::deconfliction::{Conflict, Notification, Shape, ShapeKind, Site, Zone, members};
use liaison_core::event::{Event, EventBody};
use liaison_geo::engine::Engine;
use liaison_geo::types::{self as g, Area, Geometry, LonLat};
use parking_lot::{RwLock, RwLockUpgradableReadGuard};
use std::collections::BTreeSet;
use std::time::Instant;

/// The engine over the record's ids, each site labelled as answers name it.
pub type GeoEngine = Engine<u64, Label>;

/// The engine as a read model of the record: what it indexes, and through which event.
pub struct GeoModel {
    pub engine: GeoEngine,
    /// Events `0..through` are indexed; later ones (earlier requests of the group
    /// commit being decided) are not yet.
    pub through: usize,
    /// The registrants the sites' labels name.
    pub parties: Vec<Box<str>>,
}

/// How an answer names a site: its name (English first) and who registered it. The
/// engine keeps it beside the site, so that it moves with it and needs no table of
/// its own, to be filled and grown under the writer's lock (a walk of the state's
/// ordered map of every site, the other way to find it, took 1.3 µs a hit). The
/// name is kept inline when short, as nearly all are: reading a hit's label is one
/// cache miss, not two.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub name: Text<44>,
    /// The registrant, as an index into `GeoModel::parties` (a cell has few parties).
    pub party: u16,
}

fn label(s: &Site, parties: &mut Vec<Box<str>>) -> Label {
    let name = s
        .names
        .get("en")
        .or_else(|| s.names.values().next())
        .map_or("", String::as_str);
    let party = match parties.iter().position(|p| **p == *s.registered_by) {
        Some(k) => k,
        None => {
            parties.push(s.registered_by.as_str().into());
            parties.len() - 1
        }
    };
    Label {
        name: Text::new(name),
        party: u16::try_from(party).unwrap_or(u16::MAX),
    }
}

/// Text of up to `N` bytes (at most 255) kept inline, longer text on the heap.
#[derive(Clone, Debug, PartialEq)]
pub enum Text<const N: usize> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(Box<str>),
}

impl<const N: usize> Text<N> {
    pub fn new(s: &str) -> Self {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= N => {
                let mut bytes = [0; N];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Text::Inline { len, bytes }
            }
            _ => Text::Heap(s.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // The bytes are a whole `&str`'s, as `new` copied them.
            Text::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("")
            }
            Text::Heap(s) => s,
        }
    }
}

fn ll(p: &[f64; 2]) -> LonLat {
    LonLat::new(p[0], p[1])
}

fn back(p: &LonLat) -> [f64; 2] {
    [p.lon, p.lat]
}

pub fn to_area(s: &Shape) -> Area {
    let polygon = |rings: &Vec<Vec<[f64; 2]>>| g::Polygon {
        exterior: rings
            .first()
            .map(|r| r.iter().map(ll).collect())
            .unwrap_or_default(),
        holes: rings
            .iter()
            .skip(1)
            .map(|r| r.iter().map(ll).collect())
            .collect(),
    };
    let first = || {
        s.coordinates
            .first()
            .and_then(|p| p.first())
            .cloned()
            .unwrap_or_default()
    };
    let geometry = match s.kind {
        ShapeKind::Polygon => Geometry::Polygon(
            s.coordinates
                .first()
                .map(polygon)
                .unwrap_or_else(|| g::Polygon::new(Vec::new())),
        ),
        ShapeKind::MultiPolygon => {
            Geometry::MultiPolygon(s.coordinates.iter().map(polygon).collect())
        }
        ShapeKind::Circle => Geometry::Point(
            first()
                .first()
                .map(ll)
                .unwrap_or(LonLat::new(f64::NAN, f64::NAN)),
        ),
        ShapeKind::Corridor => Geometry::LineString(first().iter().map(ll).collect()),
    };
    Area {
        geometry,
        buffer_m: s.buffer_m,
    }
}

pub fn to_shape(a: &Area) -> Shape {
    let rings = |p: &g::Polygon| -> Vec<Vec<[f64; 2]>> {
        std::iter::once(&p.exterior)
            .chain(p.holes.iter())
            .map(|r| r.iter().map(back).collect())
            .collect()
    };
    let (kind, coordinates) = match &a.geometry {
        Geometry::Polygon(p) => (ShapeKind::Polygon, vec![rings(p)]),
        Geometry::MultiPolygon(ps) => (ShapeKind::MultiPolygon, ps.iter().map(rings).collect()),
        Geometry::Point(p) => (ShapeKind::Circle, vec![vec![vec![back(p)]]]),
        Geometry::LineString(l) => (
            ShapeKind::Corridor,
            vec![vec![l.iter().map(back).collect()]],
        ),
    };
    Shape {
        kind,
        coordinates,
        buffer_m: a.buffer_m,
    }
}

/// GeoJSON geometry for a shape (circles and corridors as their Point / LineString).
pub fn geometry_json(s: &Shape) -> serde_json::Value {
    match s.kind {
        ShapeKind::Polygon => {
            serde_json::json!({"type": "Polygon", "coordinates": s.coordinates.first()})
        }
        ShapeKind::MultiPolygon => {
            serde_json::json!({"type": "MultiPolygon", "coordinates": s.coordinates})
        }
        ShapeKind::Circle => serde_json::json!({"type": "Point", "coordinates": s.anchor()}),
        ShapeKind::Corridor => {
            serde_json::json!({"type": "LineString", "coordinates": s.coordinates.first().and_then(|p| p.first())})
        }
    }
}

/// The MGRS reference of a shape's anchor, for reading back over a bad line.
pub fn mgrs(s: &Shape) -> String {
    s.anchor()
        .and_then(|p| liaison_geo::mgrs::to_mgrs(ll(&p)).ok())
        .unwrap_or_default()
}

fn site_item(s: &Site) -> g::Site<u64> {
    g::Site {
        id: s.id,
        area: to_area(&s.shape),
    }
}

fn zone_item(z: &Zone, members: &BTreeSet<String>) -> g::Zone<u64> {
    let status = match z.status(members) {
        "agreed" => g::ZoneStatus::Agreed,
        "disputed" => g::ZoneStatus::Disputed,
        _ => g::ZoneStatus::Proposed,
    };
    let altitude = match (z.rules.alt_min_m, z.rules.alt_max_m) {
        (None, None) => None,
        (a, b) => Some(g::AltBand::new(
            a.unwrap_or(f64::MIN),
            b.unwrap_or(f64::MAX),
        )),
    };
    let waivers = z
        .waivers
        .iter()
        .filter(|w| w.approved_at.is_some())
        .map(|w| g::Waiver {
            rules: w
                .rules
                .iter()
                .filter_map(|r| match r.as_str() {
                    "prohibited_kind" => Some(g::Rule::ProhibitedKind),
                    "altitude" => Some(g::Rule::Altitude),
                    _ => None,
                })
                .collect(),
            kinds: w.kinds.iter().cloned().collect(),
            window: g::TimeWindow::new(w.start.micros() / 1_000_000, w.end.micros() / 1_000_000),
        })
        .collect();
    g::Zone {
        id: z.id,
        geometry: to_area(&z.shape).geometry,
        status,
        rules: g::ZoneRules {
            prohibited_kinds: z.rules.prohibited_kinds.iter().cloned().collect(),
            altitude,
            force_limits: z.rules.force_limits.clone(),
        },
        waivers,
    }
}

pub fn activity(
    id: u64,
    party: &str,
    kind: &str,
    shape: &Shape,
    alt: (f64, f64),
    window: (i64, i64),
) -> g::Activity<u64> {
    g::Activity {
        id,
        party: party.to_string(),
        kind: kind.to_string(),
        area: to_area(shape),
        alt: g::AltBand::new(alt.0, alt.1),
        window: g::TimeWindow::new(window.0, window.1),
    }
}

fn notification_item(n: &Notification) -> g::Activity<u64> {
    activity(
        n.id,
        &n.party,
        &n.kind,
        &n.shape,
        (n.alt_min_m, n.alt_max_m),
        (n.start.micros() / 1_000_000, n.end.micros() / 1_000_000),
    )
}

/// Builds the read model from the state (on start).
pub fn build(state: &State) -> GeoModel {
    let mut parties = Vec::new();
    let mut engine = index(state, &mut parties);
    engine.defer_repacks();
    GeoModel {
        engine,
        through: state.events.len(),
        parties,
    }
}

fn index(state: &State, parties: &mut Vec<Box<str>>) -> GeoEngine {
    let m = members(state);
    let d = &state.deconfliction;
    let labels: Vec<Label> = d.sites.values().map(|s| label(s, parties)).collect();
    let sites = || d.sites.values().map(site_item).zip(labels.iter().cloned());
    let zones = || d.zones.values().map(|z| zone_item(z, &m));
    let actives = || {
        d.notifications
            .values()
            .filter(|n| !n.withdrawn)
            .map(notification_item)
    };
    // Bulk-loaded on every core; the record holds only validated shapes, but should
    // one not index, the others still do, one at a time.
    GeoEngine::build_labelled(sites(), zones(), actives()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a recorded shape does not index; indexing one by one");
        let mut engine = GeoEngine::labelled();
        for (s, l) in sites() {
            let _ = engine.insert_labelled_site(s, l);
        }
        for z in zones() {
            let _ = engine.insert_zone(z);
        }
        for a in actives() {
            let _ = engine.insert_active(a);
        }
        engine
    })
}

/// Keeps the read model in step with newly committed events (the writer calls it
/// after each commit, with the state's write lock held).
pub fn on_commit(geo: &RwLock<GeoModel>, state: &State) {
    update(&mut geo.write(), state);
}

fn update(model: &mut GeoModel, state: &State) {
    let from = model.through.min(state.events.len());
    let GeoModel {
        engine, parties, ..
    } = model;
    apply(engine, parties, state, &state.events[from..]);
    model.through = state.events.len();
}

/// Repacks the engine's layers that are due for it (the writer calls it after each
/// commit, once the replies are out): planned under an upgradable read lock, while
/// checks go on, then put in place under the write lock, which only the items'
/// moves take.
pub fn repack_if_due(geo: &RwLock<GeoModel>) {
    let model = geo.upgradable_read();
    let started = Instant::now();
    let Some(mut plan) = model.engine.plan_repack() else {
        return;
    };
    let planned = started.elapsed();
    let items = plan.len();
    let mut model = RwLockUpgradableReadGuard::upgrade(model);
    let locked = Instant::now();
    let done = model.engine.repack(&mut plan);
    let locked = locked.elapsed();
    drop(model);
    // What the repack replaced is freed here, outside the lock.
    drop(plan);
    tracing::info!(
        items,
        done,
        planned_ms = planned.as_secs_f64() * 1e3,
        locked_ms = locked.as_secs_f64() * 1e3,
        "repacked the deconfliction engine"
    );
}

/// Indexes what the events register, at its current version in the state.
fn apply(
    engine: &mut GeoEngine,
    parties: &mut Vec<Box<str>>,
    state: &State,
    events: &[std::sync::Arc<Event>],
) {
    let m = members(state);
    let d = &state.deconfliction;
    for ev in events {
        match &ev.body {
            EventBody::SiteRegistered { site, .. } => {
                if let Some(s) = d.sites.get(&site.unwrap_or(ev.seq)) {
                    let _ = engine.insert_labelled_site(site_item(s), label(s, parties));
                }
            }
            EventBody::ZoneRegistered { zone, .. } => {
                if let Some(z) = d.zones.get(&zone.unwrap_or(ev.seq)) {
                    let _ = engine.insert_zone(zone_item(z, &m));
                }
            }
            EventBody::ZoneStanceTaken { zone, .. } => {
                if let Some(z) = d.zones.get(zone) {
                    let _ = engine.insert_zone(zone_item(z, &m));
                }
            }
            EventBody::WaiverApproved { waiver } => {
                if let Some(z) = d.waiver_zone.get(waiver).and_then(|z| d.zones.get(z)) {
                    let _ = engine.insert_zone(zone_item(z, &m));
                }
            }
            EventBody::NotificationFiled { amends, .. } => {
                if let Some(old) = amends {
                    engine.remove_active(old);
                }
                if let Some(n) = d.notifications.get(&ev.seq) {
                    let _ = engine.insert_active(notification_item(n));
                }
            }
            EventBody::NotificationWithdrawn { notification, .. } => {
                engine.remove_active(notification);
            }
            _ => {}
        }
    }
}

/// Runs the engine for an activity against the record as `state` has it: the indexed
/// items, plus those that earlier requests of the group commit being decided recorded
/// (so two notifications committed together see each other). Items registered or
/// re-versioned there supersede their indexed version.
pub fn find(
    model: &GeoModel,
    state: &State,
    act: &g::Activity<u64>,
) -> Result<g::Conflicts<u64>, String> {
    let mut found = model.engine.check(act).map_err(|p| p.to_string())?;
    let from = model.through.min(state.events.len());
    if from == state.events.len() {
        return Ok(found);
    }
    let mut pending = GeoEngine::labelled();
    apply(&mut pending, &mut Vec::new(), state, &state.events[from..]);
    // Withdrawn (or amended) by a request decided earlier in this group commit.
    found.actives.retain(|h| !withdrawn(state, h.id));
    if pending.is_empty() {
        return Ok(found);
    }
    let extra = pending.check(act).map_err(|p| p.to_string())?;
    found.sites.retain(|h| pending.site(&h.id).is_none());
    found.zones.retain(|h| pending.zone(&h.id).is_none());
    found.actives.retain(|h| pending.active(&h.id).is_none());
    found.sites.extend(extra.sites);
    found.zones.extend(extra.zones);
    found.actives.extend(extra.actives);
    found.sites.sort_by_key(|h| h.id);
    found.zones.sort_by_key(|h| h.id);
    found.actives.sort_by_key(|h| h.id);
    Ok(found)
}

fn withdrawn(state: &State, id: u64) -> bool {
    state
        .deconfliction
        .notifications
        .get(&id)
        .is_some_and(|n| n.withdrawn)
}

/// [`find`], with each site hit's name and registrant as an answer states them:
/// the labels the engine keeps beside its sites while the model is in step with
/// `state` (always, but in the writer's midst), else the state's.
#[allow(clippy::type_complexity)]
pub fn find_named<'a>(
    model: &'a GeoModel,
    state: &'a State,
    act: &g::Activity<u64>,
) -> Result<(g::Conflicts<u64>, Vec<(&'a str, &'a str)>), String> {
    if model.through != state.events.len() {
        let found = find(model, state, act)?;
        let names = found.sites.iter().map(|h| site_of(state, h)).collect();
        return Ok((found, names));
    }
    let (found, labels) = model
        .engine
        .check_labelled(act)
        .map_err(|p| p.to_string())?;
    let names = found
        .sites
        .iter()
        .zip(labels)
        .map(|(h, l)| {
            let named = l.and_then(|l| {
                let party = model.parties.get(usize::from(l.party))?;
                Some((l.name.as_str(), &**party))
            });
            named.unwrap_or_else(|| site_of(state, h))
        })
        .collect();
    Ok((found, names))
}

/// Metres to the nearest whole metre, as `{:.0}` writes them (ties to even), without
/// its exact-decimal path for the common case.
struct Metres(f64);

impl Metres {
    /// The common case: a whole number of metres that is not negative.
    fn whole(&self) -> Option<u64> {
        let r = self.0.round_ties_even();
        (r.is_sign_positive() && r < 1e15).then_some(r as u64)
    }

    /// Into JSON string contents.
    fn write_json(&self, out: &mut Vec<u8>) {
        match self.whole() {
            Some(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            None => in_words(out, self),
        }
    }
}

impl std::fmt::Display for Metres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.whole() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "{:.0}", self.0),
        }
    }
}

/// A site hit's reason, in words an officer needs: how far the activity's edge is
/// from the site, against the site's own protected radius, and the distance from the
/// activity's centre (point or line) only as an aside. `buffer` is the activity's
/// (its radius or half-width; 0 for an area), which the engine's distance and
/// threshold both include.
struct SiteReason<'a> {
    name: &'a str,
    h: &'a g::SiteHit<u64>,
    buffer: f64,
}

/// A site reason's words around its name and numbers.
const SITE_REASON: [&str; 5] = [
    "within the protected radius of site ",
    ": the activity's edge is ",
    " m from it, inside its ",
    " m radius (",
    " m from the activity's centre)",
];

/// The same, for an activity that is an area (no buffer): its edge is what is measured.
const SITE_REASON_AREA: [&str; 4] = [
    "within the protected radius of site ",
    ": the activity's area is ",
    " m from it, inside its ",
    " m radius",
];

impl SiteReason<'_> {
    /// The distance from the activity's edge, and the site's own radius (never below 0).
    fn edge_and_radius(&self) -> (Metres, Metres) {
        let edge = (self.h.distance_m - self.buffer).max(0.0) + 0.0;
        let radius = (self.h.threshold_m - self.buffer).max(0.0) + 0.0;
        (Metres(edge), Metres(radius))
    }

    /// Into JSON string contents, without the formatting machinery (a million-site
    /// answer holds a hundred of these): only the name needs escaping.
    fn write_json(&self, out: &mut Vec<u8>) {
        let (edge, radius) = self.edge_and_radius();
        if self.buffer > 0.0 {
            let [a, b, c, d, e] = SITE_REASON;
            out.extend_from_slice(a.as_bytes());
            escape_into(out, self.name);
            out.extend_from_slice(b.as_bytes());
            edge.write_json(out);
            out.extend_from_slice(c.as_bytes());
            radius.write_json(out);
            out.extend_from_slice(d.as_bytes());
            Metres(self.h.distance_m).write_json(out);
            out.extend_from_slice(e.as_bytes());
        } else {
            let [a, b, c, d] = SITE_REASON_AREA;
            out.extend_from_slice(a.as_bytes());
            escape_into(out, self.name);
            out.extend_from_slice(b.as_bytes());
            edge.write_json(out);
            out.extend_from_slice(c.as_bytes());
            radius.write_json(out);
            out.extend_from_slice(d.as_bytes());
        }
    }
}

impl std::fmt::Display for SiteReason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (edge, radius) = self.edge_and_radius();
        let name = self.name;
        if self.buffer > 0.0 {
            let [a, b, c, d, e] = SITE_REASON;
            let centre = Metres(self.h.distance_m);
            write!(f, "{a}{name}{b}{edge}{c}{radius}{d}{centre}{e}")
        } else {
            let [a, b, c, d] = SITE_REASON_AREA;
            write!(f, "{a}{name}{b}{edge}{c}{radius}{d}")
        }
    }
}

/// A zone hit's reason, in words: the rules broken, or that it only touches.
struct ZoneReason<'a> {
    name: &'a str,
    h: &'a g::ZoneHit<u64>,
}

impl std::fmt::Display for ZoneReason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name;
        match self.h.severity {
            Some(g::Severity::Violation) => write!(f, "breaks the rules of agreed zone {name}: ")?,
            Some(g::Severity::Warning) => {
                write!(f, "breaks the rules of proposed or disputed zone {name}: ")?
            }
            None => return write!(f, "touches zone {name}"),
        }
        for (i, b) in self.h.breaches.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match b {
                g::Breach::ProhibitedKind { kind } => write!(f, "{kind} is prohibited")?,
                g::Breach::Altitude { activity, limit } => write!(
                    f,
                    "altitude {}–{} m outside {}–{} m",
                    activity.min_m, activity.max_m, limit.min_m, limit.max_m
                )?,
            }
        }
        Ok(())
    }
}

fn zone_severity(h: &g::ZoneHit<u64>) -> &'static str {
    match h.severity {
        Some(g::Severity::Violation) => "violation",
        Some(g::Severity::Warning) => "warning",
        None => "info",
    }
}

/// Another activity's hit reason, in words.
struct ActiveReason<'a>(&'a g::ActiveHit<u64>);

impl std::fmt::Display for ActiveReason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = self.0;
        let at = |t| liaison_api::time::format(liaison_core::Timestamp::from_secs(t));
        write!(
            f,
            "overlaps {}'s notified activity {} in space ({} m apart), time ({} to {}) and altitude ({}–{} m)",
            h.party,
            h.id,
            Metres(h.distance_m),
            at(h.window.start),
            at(h.window.end),
            h.alt.min_m,
            h.alt.max_m
        )
    }
}

fn site_of<'a>(s: &'a State, h: &g::SiteHit<u64>) -> (&'a str, &'a str) {
    let site = s.deconfliction.sites.get(&h.id);
    let name = site
        .and_then(|s| s.names.get("en").or_else(|| s.names.values().next()))
        .map_or("", String::as_str);
    (name, site.map_or("", |s| s.registered_by.as_str()))
}

pub fn zone_name<'a>(s: &'a State, h: &g::ZoneHit<u64>) -> &'a str {
    s.deconfliction
        .zones
        .get(&h.id)
        .map_or("", |z| z.name.as_str())
}

/// States each hit in words, as the conflicts recorded and answered.
pub fn describe(s: &State, found: g::Conflicts<u64>, buffer: f64) -> Vec<Conflict> {
    describe_with(&found, buffer, |h| site_of(s, h), |h| zone_name(s, h))
}

/// States each hit in words, `site` naming a site hit and its registrant, `zone` a
/// zone hit.
fn describe_with<'a>(
    found: &g::Conflicts<u64>,
    buffer: f64,
    site: impl Fn(&g::SiteHit<u64>) -> (&'a str, &'a str),
    zone: impl Fn(&g::ZoneHit<u64>) -> &'a str,
) -> Vec<Conflict> {
    let mut out = Vec::with_capacity(found.sites.len() + found.zones.len() + found.actives.len());
    for h in &found.sites {
        let (name, party) = site(h);
        out.push(Conflict {
            with: "site".into(),
            target: h.id,
            party: party.to_string(),
            reason: SiteReason { name, h, buffer }.to_string(),
            severity: "violation".into(),
            distance_m: centimetres(h.distance_m),
            threshold_m: h.threshold_m,
        });
    }
    for h in &found.zones {
        out.push(Conflict {
            with: "zone".into(),
            target: h.id,
            party: String::new(),
            reason: ZoneReason { name: zone(h), h }.to_string(),
            severity: zone_severity(h).into(),
            distance_m: centimetres(h.distance_m),
            threshold_m: h.threshold_m,
        });
    }
    for h in &found.actives {
        out.push(Conflict {
            with: "activity".into(),
            target: h.id,
            party: h.party.clone(),
            reason: ActiveReason(h).to_string(),
            severity: "warning".into(),
            distance_m: centimetres(h.distance_m),
            threshold_m: h.threshold_m,
        });
    }
    out
}

/// The dry-run check's answer, `{"sites": [...], "zones": [...], "activities": [...]}`,
/// written straight from the engine's hits into JSON text: the same bytes as
/// `describe`'s conflicts grouped and serialized (`Grouped`), without a string built
/// per hit. `labels` are the site hits' names and registrants (`find_named`),
/// `zone` names a zone hit.
pub fn write_answer<'a>(
    out: &mut Vec<u8>,
    found: &g::Conflicts<u64>,
    buffer: f64,
    labels: &[(&'a str, &'a str)],
    zone: impl Fn(&g::ZoneHit<u64>) -> &'a str,
) {
    out.reserve(64 + found.sites.len() * 256 + (found.zones.len() + found.actives.len()) * 512);
    out.extend_from_slice(b"{\"sites\":[");
    for (k, (h, &(name, party))) in found.sites.iter().zip(labels).enumerate() {
        let reason = |out: &mut Vec<u8>| SiteReason { name, h, buffer }.write_json(out);
        item(
            out,
            k,
            h.id,
            party,
            reason,
            "violation",
            h.distance_m,
            h.threshold_m,
        );
    }
    out.extend_from_slice(b"],\"zones\":[");
    for (k, h) in found.zones.iter().enumerate() {
        let reason = |out: &mut Vec<u8>| in_words(out, ZoneReason { name: zone(h), h });
        let severity = zone_severity(h);
        item(
            out,
            k,
            h.id,
            "",
            reason,
            severity,
            h.distance_m,
            h.threshold_m,
        );
    }
    out.extend_from_slice(b"],\"activities\":[");
    for (k, h) in found.actives.iter().enumerate() {
        let reason = |out: &mut Vec<u8>| in_words(out, ActiveReason(h));
        item(
            out,
            k,
            h.id,
            &h.party,
            reason,
            "warning",
            h.distance_m,
            h.threshold_m,
        );
    }
    out.extend_from_slice(b"]}");
}

/// One conflict of an answer, the `k`th of its list, as serde writes a `Conflict`'s
/// answered fields.
#[allow(clippy::too_many_arguments)]
fn item(
    out: &mut Vec<u8>,
    k: usize,
    id: u64,
    party: &str,
    reason: impl FnOnce(&mut Vec<u8>),
    severity: &str,
    distance_m: f64,
    threshold_m: f64,
) {
    if k > 0 {
        out.push(b',');
    }
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    out.extend_from_slice(b",\"party\":\"");
    escape_into(out, party);
    out.extend_from_slice(b"\",\"reason\":\"");
    reason(out);
    out.extend_from_slice(b"\",\"severity\":\"");
    escape_into(out, severity);
    out.extend_from_slice(b"\",\"distance_m\":");
    distance(out, distance_m);
    out.extend_from_slice(b",\"threshold_m\":");
    number(out, threshold_m);
    out.push(b'}');
}

/// Text in words into JSON string contents.
fn in_words(out: &mut Vec<u8>, words: impl std::fmt::Display) {
    use std::fmt::Write;
    // Writing into a Vec cannot fail, and the reasons' Display never does.
    let _ = write!(Escaping(out), "{words}");
}

/// A number as serde_json writes it (`null` for NaN and infinities). A whole number
/// of metres (most thresholds: a radius plus a buffer) is written `1500.0` by the
/// integer's digits, without the shortest-decimal search.
fn number(out: &mut Vec<u8>, x: f64) {
    if x.is_sign_positive() && x < 1e15 && x.fract() == 0.0 {
        out.extend_from_slice(itoa::Buffer::new().format(x as u64).as_bytes());
        out.extend_from_slice(b".0");
    } else if serde_json::to_writer(&mut *out, &x).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// A distance as conflicts state it: to the centimetre. The engine's answers are right
/// to within a metre; the shortest decimal of a geodesic distance (17 digits) only made
/// answers longer and harder to read back.
pub fn centimetres(x: f64) -> f64 {
    if x.is_finite() {
        (x * 100.0).round() / 100.0
    } else {
        x
    }
}

/// `centimetres(x)` as serde_json writes it, from the integer of centimetres' digits:
/// the shortest decimal of `n / 100` is `n / 100` written out with at most two
/// decimals, trailing zeros dropped (one kept, `842.0`), as long as no two such
/// decimals meet in one `f64`: below `1e13` m, where `f64`s are closer together than
/// half a centimetre. Beyond that, and for negative or non-finite input, serde's own.
fn distance(out: &mut Vec<u8>, x: f64) {
    let c = (x * 100.0).round();
    if !(c.is_sign_positive() && c < 1e15) {
        return number(out, centimetres(x));
    }
    let n = c as u64;
    out.extend_from_slice(itoa::Buffer::new().format(n / 100).as_bytes());
    let frac = (n % 100) as u8;
    match (frac / 10, frac % 10) {
        (t, 0) => out.extend_from_slice(&[b'.', b'0' + t]),
        (t, u) => out.extend_from_slice(&[b'.', b'0' + t, b'0' + u]),
    }
}

/// A string's contents in JSON, escaped exactly as serde_json escapes them: `"`, `\\`
/// and the control characters, nothing else.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        return out.extend_from_slice(bytes);
    }
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[from..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

/// Whether any byte is `"`, `\\` or a control character: eight bytes at a time (a
/// byte of `x` is below 0x20 where `x - 0x20..` borrows into its high bit while its
/// own high bit is clear; equal to `"` or `\\` where its XOR with them is zero).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let low = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        if low | zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\'))) != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Formatted text written into JSON string contents, escaped as it goes.
struct Escaping<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Metres, Text, describe_with, write_answer};
    use crate::routes::deconfliction::Grouped;
    use liaison_geo::types as g;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 ]{0,12}",
            any::<String>(),
            "[\"\\\\\u{0}-\u{1f}\u{7f}\u{2028}é\u{5d0}\u{627}]{0,8}",
        ]
    }

    fn metres() -> impl Strategy<Value = f64> {
        prop_oneof![
            0.0f64..1e6,
            1e9f64..1e14,
            (0u32..4000).prop_map(|k| f64::from(k) * 0.5),
            (0u64..2_000_000_000_000_000).prop_map(|k| k as f64),
            (0u32..64).prop_map(|e| 2f64.powi(e as i32 - 5)),
            prop_oneof![Just(1e15), Just(1e15 - 1.0), Just(1e16), Just(9.5e14)],
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            any::<f64>(),
        ]
    }

    fn band() -> impl Strategy<Value = g::AltBand> {
        (-500.0f64..20_000.0, 0.0f64..5000.0).prop_map(|(a, d)| g::AltBand::new(a, a + d))
    }

    type Case = (g::Conflicts<u64>, Vec<(String, String)>, Vec<String>);

    /// Hits of every kind, with the sites' names and registrants and the zones' names.
    fn conflicts() -> impl Strategy<Value = Case> {
        let site = (any::<u64>(), metres(), metres(), text(), text());
        let breach = prop_oneof![
            text().prop_map(|kind| g::Breach::ProhibitedKind { kind }),
            (band(), band()).prop_map(|(activity, limit)| g::Breach::Altitude { activity, limit }),
        ];
        let severity = prop_oneof![
            Just(None),
            Just(Some(g::Severity::Violation)),
            Just(Some(g::Severity::Warning))
        ];
        let zone = (
            any::<u64>(),
            metres(),
            metres(),
            prop::collection::vec(breach, 0..3),
            severity,
            text(),
        );
        let active = (
            any::<u64>(),
            text(),
            metres(),
            metres(),
            0i64..4_000_000_000,
            1i64..1_000_000,
            band(),
        );
        (
            prop::collection::vec(site, 0..6),
            prop::collection::vec(zone, 0..4),
            prop::collection::vec(active, 0..4),
        )
            .prop_map(|(sites, zones, actives)| {
                let mut labels = Vec::new();
                let mut names = Vec::new();
                let found = g::Conflicts {
                    sites: sites
                        .into_iter()
                        .map(|(id, distance_m, threshold_m, name, party)| {
                            labels.push((name, party));
                            g::SiteHit {
                                id,
                                distance_m,
                                threshold_m,
                            }
                        })
                        .collect(),
                    zones: zones
                        .into_iter()
                        .map(|(id, distance_m, threshold_m, breaches, severity, name)| {
                            names.push(name);
                            g::ZoneHit {
                                id,
                                distance_m,
                                threshold_m,
                                breaches,
                                severity,
                                force_limits: Vec::new(),
                            }
                        })
                        .collect(),
                    actives: actives
                        .into_iter()
                        .map(
                            |(id, party, distance_m, threshold_m, start, len, alt)| g::ActiveHit {
                                id,
                                party,
                                distance_m,
                                threshold_m,
                                window: g::TimeWindow::new(start, start + len),
                                alt,
                            },
                        )
                        .collect(),
                };
                (found, labels, names)
            })
    }

    proptest! {
        /// Inline or not, a label's text is the text it was made of.
        #[test]
        fn text_keeps_its_text(t in text(), long in "[a-z\u{5d0}-\u{5ea}]{30,80}") {
            let (a, b, c) = (Text::<44>::new(&t), Text::<14>::new(&long), Text::<44>::new(&long));
            prop_assert_eq!(a.as_str(), t.as_str());
            prop_assert_eq!(b.as_str(), long.as_str());
            prop_assert_eq!(c.as_str(), long.as_str());
            let inline = matches!(Text::<44>::new("Majdal Shams"), Text::Inline { .. });
            prop_assert!(inline);
            prop_assert_eq!(std::mem::size_of::<Text<44>>(), 48);
        }

        /// Whole metres are written exactly as `{:.0}` writes them.
        #[test]
        fn metres_are_written_as_the_standard_format_does(
            x in prop_oneof![0.0f64..1e7, (0u64..20_000).prop_map(|k| k as f64 * 0.5), any::<f64>()]
        ) {
            prop_assert_eq!(Metres(x).to_string(), format!("{x:.0}"));
        }

        /// A distance is written to the centimetre exactly as serde writes the
        /// centimetres' `f64`, at every magnitude (past `1e13`, serde's own path).
        #[test]
        fn distances_are_written_as_serde_writes_their_centimetres(x in metres()) {
            let mut out = Vec::new();
            super::distance(&mut out, x);
            let want = serde_json::to_vec(&super::centimetres(x)).expect("a number");
            prop_assert_eq!(String::from_utf8(out).expect("text"), String::from_utf8(want).expect("text"));
        }

        /// The eight-at-a-time test for bytes to escape agrees with the byte-by-byte
        /// one, wherever in the text the byte is.
        #[test]
        fn escape_test_finds_every_byte_to_escape(t in text(), pad in "[a-z]{0,19}", at in 0usize..20) {
            let mut s = pad.clone();
            s.insert_str(at.min(pad.len()), &t);
            let naive = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(super::needs_escape(s.as_bytes()), naive);
        }

        /// The check's answer, written by hand, is byte for byte what serde makes of
        /// the conflicts in words: any names, parties, numbers and rules.
        #[test]
        fn the_written_answer_is_the_serialized_conflicts((found, labels, names) in conflicts()) {
            let site = |h: &g::SiteHit<u64>| {
                let k = found.sites.iter().position(|x| std::ptr::eq(x, h)).expect("a hit of found");
                (labels[k].0.as_str(), labels[k].1.as_str())
            };
            let zone = |h: &g::ZoneHit<u64>| {
                let k = found.zones.iter().position(|x| std::ptr::eq(x, h)).expect("a hit of found");
                names[k].as_str()
            };
            // An activity's buffer of a third of the first site's threshold, or none.
            let buffer = found.sites.first().map_or(0.0, |h| h.threshold_m / 3.0);
            let mut written = Vec::new();
            let named: Vec<(&str, &str)> = found.sites.iter().map(site).collect();
            write_answer(&mut written, &found, buffer, &named, zone);
            let serialized = serde_json::to_vec(&Grouped(describe_with(&found, buffer, site, zone))).expect("serialize");
            prop_assert_eq!(String::from_utf8(written).expect("utf-8"), String::from_utf8(serialized).expect("utf-8"));
        }
    }
}
