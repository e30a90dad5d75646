//! Plain domain types: geometries, areas, sites, zones, activities and conflicts.
//!
//! Coordinates are WGS84 degrees, `[lon, lat]` as in GeoJSON. Polygon rings are
//! closed (first position == last position) as in GeoJSON; edges are
//! great-circle arcs between consecutive vertices (PostGIS `geography`).

/// A WGS84 position in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

impl LonLat {
    pub const fn new(lon: f64, lat: f64) -> Self {
        LonLat { lon, lat }
    }
}

/// A polygon: one exterior ring and zero or more holes, each closed.
#[derive(Clone, Debug, PartialEq)]
pub struct Polygon {
    pub exterior: Vec<LonLat>,
    pub holes: Vec<Vec<LonLat>>,
}

impl Polygon {
    pub fn new(exterior: Vec<LonLat>) -> Self {
        Polygon {
            exterior,
            holes: Vec::new(),
        }
    }
    /// All rings, exterior first.
    pub fn rings(&self) -> impl Iterator<Item = &Vec<LonLat>> {
        std::iter::once(&self.exterior).chain(self.holes.iter())
    }
}

/// A core geometry. A `Point` and a `LineString` only make sense with a
/// buffer (see [`Area`]): a circle and a corridor.
#[derive(Clone, Debug, PartialEq)]
pub enum Geometry {
    Point(LonLat),
    LineString(Vec<LonLat>),
    Polygon(Polygon),
    MultiPolygon(Vec<Polygon>),
}

/// A geometry with a buffer in metres: everything within `buffer_m` of the
/// geometry (geodesic distance). Polygon: usually 0; circle: the radius;
/// corridor: the half-width.
#[derive(Clone, Debug, PartialEq)]
pub struct Area {
    pub geometry: Geometry,
    pub buffer_m: f64,
}

impl Area {
    pub fn polygon(p: Polygon) -> Self {
        Area {
            geometry: Geometry::Polygon(p),
            buffer_m: 0.0,
        }
    }
    pub fn circle(center: LonLat, radius_m: f64) -> Self {
        Area {
            geometry: Geometry::Point(center),
            buffer_m: radius_m,
        }
    }
    pub fn corridor(line: Vec<LonLat>, half_width_m: f64) -> Self {
        Area {
            geometry: Geometry::LineString(line),
            buffer_m: half_width_m,
        }
    }
}

/// Half-open time window `[start, end)` in unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeWindow {
    pub start: i64,
    pub end: i64,
}

impl TimeWindow {
    pub const fn new(start: i64, end: i64) -> Self {
        TimeWindow { start, end }
    }
    /// The overlap of two half-open windows, if not empty.
    pub fn overlap(&self, other: &TimeWindow) -> Option<TimeWindow> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(TimeWindow { start, end })
    }
}

/// Closed altitude band `[min_m, max_m]` in metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AltBand {
    pub min_m: f64,
    pub max_m: f64,
}

impl AltBand {
    pub const fn new(min_m: f64, max_m: f64) -> Self {
        AltBand { min_m, max_m }
    }
    /// The overlap of two closed bands, if not empty (touching bands overlap).
    pub fn overlap(&self, other: &AltBand) -> Option<AltBand> {
        let min_m = self.min_m.max(other.min_m);
        let max_m = self.max_m.min(other.max_m);
        (min_m <= max_m).then_some(AltBand { min_m, max_m })
    }
    /// Whether `self` lies entirely within `limit`.
    pub fn within(&self, limit: &AltBand) -> bool {
        self.min_m >= limit.min_m && self.max_m <= limit.max_m
    }
}

/// A protected site: a point with a radius (circle) or a polygon.
#[derive(Clone, Debug, PartialEq)]
pub struct Site<K> {
    pub id: K,
    pub area: Area,
}

/// Agreement status of a zone. Breaking a rule of an agreed zone is a
/// violation; of a proposed or disputed zone, a warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZoneStatus {
    Proposed,
    Agreed,
    Disputed,
}

/// The named rules of a zone that a waiver can suspend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Activity kind is in the zone's prohibited kinds.
    ProhibitedKind,
    /// Activity altitude band is not within the zone's altitude limits.
    Altitude,
}

/// Rules of a zone.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ZoneRules {
    /// Activity kinds not allowed in the zone.
    pub prohibited_kinds: Vec<String>,
    /// Permitted altitude band; an activity must lie entirely inside it.
    pub altitude: Option<AltBand>,
    /// Force limits as text (e.g. "≤6,000 men, 75 tanks"); reported, not evaluated.
    pub force_limits: Vec<String>,
}

/// A time-boxed waiver: suspends `rules` for activities of `kinds` during
/// `window`. An activity is covered when its whole window lies in the union of
/// the windows of applicable waivers.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiver {
    pub rules: Vec<Rule>,
    pub kinds: Vec<String>,
    pub window: TimeWindow,
}

/// A zone: a polygon or multipolygon with rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone<K> {
    pub id: K,
    /// `Geometry::Polygon` or `Geometry::MultiPolygon`.
    pub geometry: Geometry,
    pub status: ZoneStatus,
    pub rules: ZoneRules,
    pub waivers: Vec<Waiver>,
}

/// An activity notification (or a query for one).
#[derive(Clone, Debug, PartialEq)]
pub struct Activity<K> {
    pub id: K,
    pub party: String,
    pub kind: String,
    pub area: Area,
    pub alt: AltBand,
    pub window: TimeWindow,
}

/// Severity of a zone rule breach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// A rule of an agreed zone is broken.
    Violation,
    /// A rule of a proposed or disputed zone is broken.
    Warning,
}

/// A broken zone rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Breach {
    ProhibitedKind { kind: String },
    Altitude { activity: AltBand, limit: AltBand },
}

impl Breach {
    pub fn rule(&self) -> Rule {
        match self {
            Breach::ProhibitedKind { .. } => Rule::ProhibitedKind,
            Breach::Altitude { .. } => Rule::Altitude,
        }
    }
}

/// A site within reach of the activity.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteHit<K> {
    pub id: K,
    /// Geodesic distance between the site's geometry and the activity's geometry.
    pub distance_m: f64,
    /// Site radius (buffer) + activity buffer.
    pub threshold_m: f64,
}

/// A zone the activity touches, with the rules it breaks.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneHit<K> {
    pub id: K,
    pub distance_m: f64,
    pub threshold_m: f64,
    pub breaches: Vec<Breach>,
    /// `None` when no rule is broken (the activity only touches the zone).
    pub severity: Option<Severity>,
    pub force_limits: Vec<String>,
}

/// Another party's activity overlapping in space, time and altitude.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveHit<K> {
    pub id: K,
    pub party: String,
    pub distance_m: f64,
    pub threshold_m: f64,
    pub window: TimeWindow,
    pub alt: AltBand,
}

/// Everything an activity conflicts with; each list sorted by id.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflicts<K> {
    pub sites: Vec<SiteHit<K>>,
    pub zones: Vec<ZoneHit<K>>,
    pub actives: Vec<ActiveHit<K>>,
}

impl<K> Default for Conflicts<K> {
    fn default() -> Self {
        Conflicts {
            sites: Vec::new(),
            zones: Vec::new(),
            actives: Vec::new(),
        }
    }
}

impl<K> Conflicts<K> {
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty() && self.zones.is_empty() && self.actives.is_empty()
    }
}
