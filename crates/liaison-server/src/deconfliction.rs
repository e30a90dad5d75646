//! Deconfliction at the edge: GeoJSON in and out, and the conflict engine
//! (`liaison-geo`), kept as a read model of the record: sites, zones (with their
//! agreement status and approved waivers) and filed notifications, indexed in memory
//! and answered without touching the database.

use liaison_core::State;
use liaison_core::deconfliction::{Conflict, Notification, Shape, ShapeKind, Site, Zone, members};
use liaison_core::event::{Event, EventBody};
use liaison_geo::engine::Engine;
use liaison_geo::types::{self as g, Area, Geometry, LonLat};
use std::collections::{BTreeSet, HashMap};

pub type GeoEngine = Engine<u64>;

/// The engine as a read model of the record: what it indexes, and through which event.
pub struct GeoModel {
    pub engine: GeoEngine,
    /// Events `0..through` are indexed; later ones (earlier requests of the group
    /// commit being decided) are not yet.
    pub through: usize,
    /// Each indexed site's name and registrant, as an answer states them: found by a
    /// hash lookup rather than a walk of the state's ordered map of every site.
    pub labels: HashMap<u64, Label>,
}

/// How an answer names a site: its name (English first) and who registered it.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub name: Box<str>,
    pub party: Box<str>,
}

fn label(s: &Site) -> Label {
    let name = s
        .names
        .get("en")
        .or_else(|| s.names.values().next())
        .map_or("", String::as_str);
    Label {
        name: name.into(),
        party: s.registered_by.as_str().into(),
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
    GeoModel {
        engine: index(state),
        through: state.events.len(),
        labels: state
            .deconfliction
            .sites
            .iter()
            .map(|(id, s)| (*id, label(s)))
            .collect(),
    }
}

fn index(state: &State) -> GeoEngine {
    let m = members(state);
    let d = &state.deconfliction;
    let sites = || d.sites.values().map(site_item);
    let zones = || d.zones.values().map(|z| zone_item(z, &m));
    let actives = || {
        d.notifications
            .values()
            .filter(|n| !n.withdrawn)
            .map(notification_item)
    };
    // Bulk-loaded on every core; the record holds only validated shapes, but should
    // one not index, the others still do, one at a time.
    GeoEngine::build(sites(), zones(), actives()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a recorded shape does not index; indexing one by one");
        let mut engine = GeoEngine::new();
        for s in sites() {
            let _ = engine.insert_site(s);
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
pub fn on_commit(model: &mut GeoModel, state: &State) {
    let from = model.through.min(state.events.len());
    let events = &state.events[from..];
    apply(&mut model.engine, state, events);
    for ev in events {
        if let EventBody::SiteRegistered { site, .. } = &ev.body {
            let id = site.unwrap_or(ev.seq);
            if let Some(s) = state.deconfliction.sites.get(&id) {
                model.labels.insert(id, label(s));
            }
        }
    }
    model.through = state.events.len();
}

/// Indexes what the events register, at its current version in the state.
fn apply(engine: &mut GeoEngine, state: &State, events: &[std::sync::Arc<Event>]) {
    let m = members(state);
    let d = &state.deconfliction;
    for ev in events {
        match &ev.body {
            EventBody::SiteRegistered { site, .. } => {
                if let Some(s) = d.sites.get(&site.unwrap_or(ev.seq)) {
                    let _ = engine.insert_site(site_item(s));
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
            EventBody::NotificationFiled { .. } => {
                if let Some(n) = d.notifications.get(&ev.seq) {
                    let _ = engine.insert_active(notification_item(n));
                }
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
    let mut pending = GeoEngine::new();
    apply(&mut pending, state, &state.events[from..]);
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

/// Metres to the nearest whole metre, as `{:.0}` writes them (ties to even), without
/// its exact-decimal path for the common case.
struct Metres(f64);

impl std::fmt::Display for Metres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.0.round_ties_even();
        if r.is_sign_positive() && r < 1e15 {
            write!(f, "{}", r as u64)
        } else {
            write!(f, "{:.0}", self.0)
        }
    }
}

/// A site hit's reason, in words.
struct SiteReason<'a> {
    name: &'a str,
    h: &'a g::SiteHit<u64>,
}

impl std::fmt::Display for SiteReason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "within the radius of protected site {}: {} m away, threshold {} m",
            self.name,
            Metres(self.h.distance_m),
            Metres(self.h.threshold_m)
        )
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

fn zone_name<'a>(s: &'a State, h: &g::ZoneHit<u64>) -> &'a str {
    s.deconfliction
        .zones
        .get(&h.id)
        .map_or("", |z| z.name.as_str())
}

/// States each hit in words, as the conflicts recorded and answered.
pub fn describe(s: &State, found: g::Conflicts<u64>) -> Vec<Conflict> {
    let mut out = Vec::with_capacity(found.sites.len() + found.zones.len() + found.actives.len());
    for h in &found.sites {
        let (name, party) = site_of(s, h);
        out.push(Conflict {
            with: "site".into(),
            target: h.id,
            party: party.to_string(),
            reason: SiteReason { name, h }.to_string(),
            severity: "violation".into(),
            distance_m: h.distance_m,
            threshold_m: h.threshold_m,
        });
    }
    for h in &found.zones {
        out.push(Conflict {
            with: "zone".into(),
            target: h.id,
            party: String::new(),
            reason: ZoneReason {
                name: zone_name(s, h),
                h,
            }
            .to_string(),
            severity: zone_severity(h).into(),
            distance_m: h.distance_m,
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
            distance_m: h.distance_m,
            threshold_m: h.threshold_m,
        });
    }
    out
}

/// The dry-run check's answer, `{"sites": [...], "zones": [...], "activities": [...]}`,
/// written straight from the engine's hits: the same JSON as `describe`'s conflicts
/// grouped, without a string built per hit.
pub struct Answer<'a> {
    pub state: &'a State,
    pub model: &'a GeoModel,
    pub found: &'a g::Conflicts<u64>,
}

impl Answer<'_> {
    /// A site's name and registrant: from the model's labels while it is in step with
    /// the state (always, but in the writer's midst), else from the state.
    fn site(&self, h: &g::SiteHit<u64>) -> (&str, &str) {
        if self.model.through == self.state.events.len()
            && let Some(l) = self.model.labels.get(&h.id)
        {
            return (&l.name, &l.party);
        }
        site_of(self.state, h)
    }
}

#[derive(serde::Serialize)]
struct Item<'a, R: std::fmt::Display> {
    id: u64,
    party: &'a str,
    #[serde(serialize_with = "in_words")]
    reason: R,
    severity: &'a str,
    distance_m: f64,
    threshold_m: f64,
}

fn in_words<S: serde::Serializer, R: std::fmt::Display>(r: &R, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(r)
}

impl serde::Serialize for Answer<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (s, f) = (self.state, self.found);
        let this = self;
        let mut m = ser.serialize_map(Some(3))?;
        m.serialize_entry(
            "sites",
            &Seq(|| {
                f.sites.iter().map(move |h| {
                    let (name, party) = this.site(h);
                    Item {
                        id: h.id,
                        party,
                        reason: SiteReason { name, h },
                        severity: "violation",
                        distance_m: h.distance_m,
                        threshold_m: h.threshold_m,
                    }
                })
            }),
        )?;
        m.serialize_entry(
            "zones",
            &Seq(|| {
                f.zones.iter().map(move |h| Item {
                    id: h.id,
                    party: "",
                    reason: ZoneReason {
                        name: zone_name(s, h),
                        h,
                    },
                    severity: zone_severity(h),
                    distance_m: h.distance_m,
                    threshold_m: h.threshold_m,
                })
            }),
        )?;
        m.serialize_entry(
            "activities",
            &Seq(|| {
                f.actives.iter().map(|h| Item {
                    id: h.id,
                    party: &h.party,
                    reason: ActiveReason(h),
                    severity: "warning",
                    distance_m: h.distance_m,
                    threshold_m: h.threshold_m,
                })
            }),
        )?;
        m.end()
    }
}

/// A sequence serialized from a fresh iterator.
struct Seq<F>(F);

impl<F, I> serde::Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

#[cfg(test)]
mod tests {
    use super::Metres;
    use proptest::prelude::*;

    proptest! {
        /// Whole metres are written exactly as `{:.0}` writes them.
        #[test]
        fn metres_are_written_as_the_standard_format_does(
            x in prop_oneof![0.0f64..1e7, (0u64..20_000).prop_map(|k| k as f64 * 0.5), any::<f64>()]
        ) {
            prop_assert_eq!(Metres(x).to_string(), format!("{x:.0}"));
        }
    }
}
