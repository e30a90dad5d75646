//! Exact geometry on the unit sphere (PostGIS `geography` semantics) and the
//! geodesic refinement on the WGS84 ellipsoid.
//!
//! A position becomes a unit vector from its latitude and longitude taken as
//! spherical coordinates, as PostGIS does; polygon edges are great-circle arcs.
//! Point-in-polygon runs in a gnomonic (central) projection centred on the
//! polygon, where great-circle arcs are straight lines, so the planar crossing
//! test is exact. Distances are found on the sphere (vector algebra, no trig in
//! the inner loops); the closest pair of points is then measured on the
//! ellipsoid with geographiclib only when the spherical estimate is within the
//! sphere/ellipsoid error band of the threshold.

use std::sync::OnceLock;

use geographiclib_rs::{Geodesic, InverseGeodesic};

use crate::types::{Geometry, LonLat, Polygon};

/// PostGIS's WGS84 sphere radius ((2a + b) / 3).
pub const R_MEAN: f64 = 6_371_008.771_415_06;

/// Geodesic distance / spherical (R_MEAN) distance lies within
/// [1 - REL, 1 + REL] for any pair of points (meridional radius at the equator
/// is 0.9944 R, normal radius at the pole 1.0045 R).
const REL: f64 = 0.0075;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct V3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl V3 {
    #[inline]
    pub const fn new(x: f64, y: f64, z: f64) -> V3 {
        V3 { x, y, z }
    }
    #[inline]
    pub fn dot(self, o: V3) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }
    #[inline]
    pub fn cross(self, o: V3) -> V3 {
        V3::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }
    #[inline]
    pub fn sub(self, o: V3) -> V3 {
        V3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
    #[inline]
    pub fn add(self, o: V3) -> V3 {
        V3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
    #[inline]
    pub fn scale(self, k: f64) -> V3 {
        V3::new(self.x * k, self.y * k, self.z * k)
    }
    #[inline]
    pub fn norm2(self) -> f64 {
        self.dot(self)
    }
    #[inline]
    pub fn normalize(self) -> V3 {
        let n = self.norm2().sqrt();
        if n > 0.0 { self.scale(1.0 / n) } else { self }
    }
    pub fn from_lonlat(p: LonLat) -> V3 {
        let (slat, clat) = p.lat.to_radians().sin_cos();
        let (slon, clon) = p.lon.to_radians().sin_cos();
        V3::new(clat * clon, clat * slon, slat)
    }
    pub fn to_lonlat(self) -> LonLat {
        let lon = self.y.atan2(self.x).to_degrees();
        let lat = self
            .z
            .atan2((self.x * self.x + self.y * self.y).sqrt())
            .to_degrees();
        LonLat { lon, lat }
    }
}

/// Angle (radians) subtended by a chord of the unit sphere. Below a chord of
/// 0.01 (64 km) the series of 2·asin(c/2) to c⁷ is used: the first term left
/// out is 1.2e-4·c⁹, far below a rounding error, and it saves the libm call
/// on every candidate.
#[inline]
pub(crate) fn chord_to_angle(chord: f64) -> f64 {
    if chord < 1e-2 {
        let c2 = chord * chord;
        chord * (1.0 + c2 * (1.0 / 24.0 + c2 * (3.0 / 640.0 + c2 * (5.0 / 7168.0))))
    } else {
        2.0 * (chord * 0.5).min(1.0).asin()
    }
}

/// Geodesic distance on WGS84 in metres (geographiclib).
pub fn geodesic_distance(a: LonLat, b: LonLat) -> f64 {
    static G: OnceLock<Geodesic> = OnceLock::new();
    let g = G.get_or_init(Geodesic::wgs84);
    g.inverse(a.lat, a.lon, b.lat, b.lon)
}

/// A gnomonic frame: tangent plane at `c`, east `e`, north `n`.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    c: V3,
    e: V3,
    n: V3,
}

impl Frame {
    pub fn at(c: V3) -> Frame {
        let up = V3::new(0.0, 0.0, 1.0);
        let mut e = up.cross(c);
        if e.norm2() < 1e-20 {
            e = V3::new(0.0, 1.0, 0.0);
        }
        let e = e.normalize();
        let n = c.cross(e);
        Frame { c, e, n }
    }
    /// Gnomonic projection; `None` outside the open hemisphere around the centre
    /// (with a margin).
    #[inline]
    pub fn project(&self, v: V3) -> Option<[f64; 2]> {
        let d = v.dot(self.c);
        if d <= 1e-3 {
            return None;
        }
        Some([v.dot(self.e) / d, v.dot(self.n) / d])
    }
}

/// A great-circle arc with precomputed helpers.
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    pub a: V3,
    pub b: V3,
    /// Unit normal of the great circle through a and b.
    n: V3,
    /// q is between a and b on the circle iff q·ea >= 0 and q·eb >= 0.
    ea: V3,
    eb: V3,
    /// Bounding ball (Euclidean, in R³) of the arc: centre and radius.
    mid: V3,
    r: f64,
}

impl Edge {
    pub fn new(a: V3, b: V3) -> Edge {
        let n = a.cross(b).normalize();
        let ea = n.cross(a);
        let eb = b.cross(n);
        let mid = a.add(b).normalize();
        let r = a.sub(mid).norm2().sqrt().max(b.sub(mid).norm2().sqrt()) * (1.0 + 1e-12);
        Edge {
            a,
            b,
            n,
            ea,
            eb,
            mid,
            r,
        }
    }

    /// Squared chord from `p` to the arc.
    #[inline]
    pub fn closest_d2(&self, p: V3) -> f64 {
        if p.dot(self.ea) >= 0.0 && p.dot(self.eb) >= 0.0 {
            let s = p.dot(self.n);
            2.0 * s * s / (1.0 + (1.0 - s * s).max(0.0).sqrt())
        } else {
            p.sub(self.a).norm2().min(p.sub(self.b).norm2())
        }
    }

    /// Squared chord from `p` to the arc and the closest point of the arc.
    #[inline]
    pub fn closest(&self, p: V3) -> (f64, V3) {
        if p.dot(self.ea) >= 0.0 && p.dot(self.eb) >= 0.0 {
            let s = p.dot(self.n);
            let c2 = 2.0 * s * s / (1.0 + (1.0 - s * s).max(0.0).sqrt());
            let q = p.sub(self.n.scale(s)).normalize();
            (c2, q)
        } else {
            let da = p.sub(self.a).norm2();
            let db = p.sub(self.b).norm2();
            if da <= db { (da, self.a) } else { (db, self.b) }
        }
    }

    /// A ball (centre, radius, in R³) holding the whole arc.
    pub fn ball(&self) -> (V3, f64) {
        (self.mid, self.r)
    }

    /// Whether the two (minor) arcs cross or touch; the crossing point.
    #[inline]
    pub fn intersect(&self, o: &Edge) -> Option<V3> {
        // Endpoints of each arc on opposite sides (or on) the other's plane.
        let s1 = o.a.dot(self.n);
        let s2 = o.b.dot(self.n);
        if (s1 > 0.0 && s2 > 0.0) || (s1 < 0.0 && s2 < 0.0) {
            return None;
        }
        let s3 = self.a.dot(o.n);
        let s4 = self.b.dot(o.n);
        if (s3 > 0.0 && s4 > 0.0) || (s3 < 0.0 && s4 < 0.0) {
            return None;
        }
        let mut p = self.n.cross(o.n);
        if p.norm2() < 1e-30 {
            // Same great circle: overlapping if an endpoint is inside the other arc.
            for q in [o.a, o.b] {
                if q.dot(self.ea) >= 0.0 && q.dot(self.eb) >= 0.0 && q.dot(self.mid) > 0.0 {
                    return Some(q);
                }
            }
            for q in [self.a, self.b] {
                if q.dot(o.ea) >= 0.0 && q.dot(o.eb) >= 0.0 && q.dot(o.mid) > 0.0 {
                    return Some(q);
                }
            }
            return None;
        }
        if p.dot(self.mid) < 0.0 {
            p = p.scale(-1.0);
        }
        let p = p.normalize();
        let eps = -1e-15;
        if p.dot(self.ea) >= eps
            && p.dot(self.eb) >= eps
            && p.dot(o.ea) >= eps
            && p.dot(o.eb) >= eps
        {
            Some(p)
        } else {
            None
        }
    }
}

/// A polygon prepared for point-in-polygon tests in its own gnomonic frame.
///
/// The edges of all rings are kept in the plane and grouped into horizontal
/// slabs, so a test looks only at the few edges whose height range meets the
/// point's: the crossing count is the same (an edge outside the point's height
/// range never crosses its ray), at a fraction of the cost for large rings.
#[derive(Clone, Debug)]
pub(crate) struct PreparedPoly {
    frame: Frame,
    /// `[x_i, y_i, x_j, y_j]`: vertex i and the vertex before it, every ring.
    edges: Vec<[f64; 4]>,
    min: [f64; 2],
    max: [f64; 2],
    /// Slabs per unit of height (0 when the polygon has no height).
    slab_scale: f64,
    /// Edges of slab k: `slab_edges[slab_start[k]..slab_start[k + 1]]`.
    slab_start: Vec<u32>,
    slab_edges: Vec<u32>,
}

impl PreparedPoly {
    /// Whether [`PreparedPoly::new`] can prepare `p` (every vertex in the
    /// hemisphere around its centre), without building anything.
    pub fn fits(p: &Polygon) -> bool {
        let ext: Vec<V3> = p.exterior.iter().map(|v| V3::from_lonlat(*v)).collect();
        let Some(frame) = Self::frame(ext.iter().copied()) else {
            return false;
        };
        ext.iter().all(|v| frame.project(*v).is_some())
            && p.holes
                .iter()
                .flatten()
                .all(|v| frame.project(V3::from_lonlat(*v)).is_some())
    }

    /// The gnomonic frame at the centre of the exterior's vertices; `None` when they
    /// have no centre (they cancel out).
    fn frame(exterior: impl Iterator<Item = V3>) -> Option<Frame> {
        let c = exterior.fold(V3::new(0.0, 0.0, 0.0), V3::add);
        (c.norm2() >= 1e-20).then(|| Frame::at(c.normalize()))
    }

    /// `None` when a vertex is not in the hemisphere around the polygon's centre.
    pub fn new(p: &Polygon) -> Option<PreparedPoly> {
        let frame = Self::frame(p.exterior.iter().map(|v| V3::from_lonlat(*v)))?;
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        let mut edges = Vec::new();
        for ring in p.rings() {
            let mut pts = Vec::with_capacity(ring.len());
            for v in ring {
                let q = frame.project(V3::from_lonlat(*v))?;
                for k in 0..2 {
                    min[k] = min[k].min(q[k]);
                    max[k] = max[k].max(q[k]);
                }
                pts.push(q);
            }
            let n = pts.len();
            if n < 2 {
                continue;
            }
            let mut j = n - 1;
            for i in 0..n {
                let ([xi, yi], [xj, yj]) = (pts[i], pts[j]);
                // An edge without height never changes the crossing count.
                if yi != yj {
                    edges.push([xi, yi, xj, yj]);
                }
                j = i;
            }
        }
        let slabs = edges.len().clamp(1, 1024);
        let height = max[1] - min[1];
        let slab_scale = if height > 0.0 {
            slabs as f64 / height
        } else {
            0.0
        };
        let mut poly = PreparedPoly {
            frame,
            edges,
            min,
            max,
            slab_scale,
            slab_start: vec![0; slabs + 1],
            slab_edges: Vec::new(),
        };
        // Counting sort of (slab, edge) pairs into the slabs' lists.
        let range = |poly: &PreparedPoly, e: &[f64; 4]| {
            (poly.slab(e[1].min(e[3])), poly.slab(e[1].max(e[3])))
        };
        for e in &poly.edges {
            let (lo, hi) = range(&poly, e);
            for k in lo..=hi {
                poly.slab_start[k + 1] += 1;
            }
        }
        for k in 0..slabs {
            poly.slab_start[k + 1] += poly.slab_start[k];
        }
        let mut fill = poly.slab_start.clone();
        poly.slab_edges = vec![0; poly.slab_start[slabs] as usize];
        for (i, e) in poly.edges.iter().enumerate() {
            let (lo, hi) = range(&poly, e);
            for f in &mut fill[lo..=hi] {
                poly.slab_edges[*f as usize] = i as u32;
                *f += 1;
            }
        }
        Some(poly)
    }

    /// The slab of height `y` (monotone in `y`, clamped to the slabs).
    #[inline]
    fn slab(&self, y: f64) -> usize {
        let last = self.slab_start.len() - 2;
        (((y - self.min[1]) * self.slab_scale).max(0.0) as usize).min(last)
    }

    /// Even-odd point-in-polygon (holes excluded). Points on the boundary may
    /// go either way; callers also measure the distance to the boundary.
    pub fn contains(&self, v: V3) -> bool {
        let Some([x, y]) = self.frame.project(v) else {
            return false;
        };
        if x < self.min[0] || x > self.max[0] || y < self.min[1] || y > self.max[1] {
            return false;
        }
        let k = self.slab(y);
        let (a, b) = (self.slab_start[k] as usize, self.slab_start[k + 1] as usize);
        let mut inside = false;
        for &i in &self.slab_edges[a..b] {
            let [xi, yi, xj, yj] = self.edges[i as usize];
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
        inside
    }

    /// The same test over every edge, without the slabs (the reference the
    /// slabs must agree with).
    #[cfg(test)]
    fn contains_all_edges(&self, v: V3) -> bool {
        let Some([x, y]) = self.frame.project(v) else {
            return false;
        };
        let mut inside = false;
        for &[xi, yi, xj, yj] in &self.edges {
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
        inside
    }
}

/// A geometry prepared for distance tests.
#[derive(Clone, Debug)]
pub(crate) enum Shape {
    Point(V3),
    Complex(Box<Complex>),
}

#[derive(Clone, Debug)]
pub(crate) struct Complex {
    /// One vertex of each component (for containment tests).
    reps: Vec<V3>,
    edges: Vec<Edge>,
    polys: Vec<PreparedPoly>,
    /// Bounding ball of all vertices.
    center: V3,
    r: f64,
}

/// The closest pair between two shapes on the unit sphere.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Near {
    pub chord2: f64,
    pub pa: V3,
    pub pb: V3,
}

fn push_edges(ring: &[LonLat], edges: &mut Vec<Edge>, verts: &mut Vec<V3>) {
    let mut prev: Option<V3> = None;
    for p in ring {
        let v = V3::from_lonlat(*p);
        verts.push(v);
        if let Some(a) = prev {
            if a.sub(v).norm2() > 1e-28 {
                edges.push(Edge::new(a, v));
            } else {
                continue;
            }
        }
        prev = Some(v);
    }
}

impl Shape {
    /// Prepare a geometry. Fails (None) only for polygons that do not fit in
    /// a hemisphere (validation rejects them first).
    pub fn new(g: &Geometry) -> Option<Shape> {
        let polys: Vec<&Polygon> = match g {
            Geometry::Point(p) => return Some(Shape::Point(V3::from_lonlat(*p))),
            Geometry::LineString(_) => Vec::new(),
            Geometry::Polygon(p) => vec![p],
            Geometry::MultiPolygon(ps) => ps.iter().collect(),
        };
        let mut edges = Vec::new();
        let mut verts = Vec::new();
        let mut reps = Vec::new();
        let mut prepared = Vec::new();
        if let Geometry::LineString(line) = g {
            let first = line.first()?;
            reps.push(V3::from_lonlat(*first));
            push_edges(line, &mut edges, &mut verts);
            if edges.is_empty() {
                return Some(Shape::Point(reps[0]));
            }
        }
        for p in polys {
            let first = p.exterior.first()?;
            reps.push(V3::from_lonlat(*first));
            for ring in p.rings() {
                push_edges(ring, &mut edges, &mut verts);
            }
            prepared.push(PreparedPoly::new(p)?);
        }
        let mut c = V3::new(0.0, 0.0, 0.0);
        for v in &verts {
            c = c.add(*v);
        }
        let center = if c.norm2() > 1e-20 {
            c.normalize()
        } else {
            verts[0]
        };
        let mut r: f64 = 0.0;
        for v in &verts {
            r = r.max(v.sub(center).norm2().sqrt());
        }
        if center.dot(verts[0]) < 0.0 || r > 1.4 {
            // Larger than a hemisphere: the ball bound still holds, but be safe.
            r = 2.0;
        }
        Some(Shape::Complex(Box::new(Complex {
            reps,
            edges,
            polys: prepared,
            center,
            r: r * (1.0 + 1e-12),
        })))
    }

    fn ball(&self) -> (V3, f64) {
        match self {
            Shape::Point(p) => (*p, 0.0),
            Shape::Complex(c) => (c.center, c.r),
        }
    }

    /// Lower bound of the chord between any point of `self` and any point of `o`.
    #[inline]
    pub fn chord_lower_bound(&self, o: &Shape) -> f64 {
        let (c1, r1) = self.ball();
        let (c2, r2) = o.ball();
        c1.sub(c2).norm2().sqrt() - r1 - r2
    }

    fn contains(&self, v: V3) -> bool {
        match self {
            Shape::Point(_) => false,
            Shape::Complex(c) => c.polys.iter().any(|p| p.contains(v)),
        }
    }
}

/// Nothing within the cap.
const FAR: Near = Near {
    chord2: f64::INFINITY,
    pa: V3::new(0.0, 0.0, 0.0),
    pb: V3::new(0.0, 0.0, 0.0),
};

fn point_to_complex(p: V3, c: &Complex, flip: bool, cap: f64) -> Near {
    let wrap = |chord2: f64, q: V3| {
        if flip {
            Near {
                chord2,
                pa: q,
                pb: p,
            }
        } else {
            Near {
                chord2,
                pa: p,
                pb: q,
            }
        }
    };
    if c.polys.iter().any(|poly| poly.contains(p)) {
        return wrap(0.0, p);
    }
    // Edges further than the best so far (at first: the cap) cannot matter.
    let mut best2 = cap * cap;
    let mut best = cap;
    let mut found = None;
    for e in &c.edges {
        let t = best + e.r;
        if p.sub(e.mid).norm2() > t * t {
            continue;
        }
        let d2 = e.closest_d2(p);
        if d2 < best2 {
            let (d2, q) = e.closest(p);
            best2 = d2;
            best = d2.sqrt();
            found = Some(q);
        }
    }
    match found {
        Some(q) => wrap(best2, q),
        None => FAR,
    }
}

fn complex_to_complex(a: &Complex, b: &Complex, cap: f64) -> Near {
    for r in &a.reps {
        if b.polys.iter().any(|poly| poly.contains(*r)) {
            return Near {
                chord2: 0.0,
                pa: *r,
                pb: *r,
            };
        }
    }
    for r in &b.reps {
        if a.polys.iter().any(|poly| poly.contains(*r)) {
            return Near {
                chord2: 0.0,
                pa: *r,
                pb: *r,
            };
        }
    }
    // Pairs further apart than the best so far (at first: the cap) cannot matter.
    let mut best2 = cap * cap;
    let mut best = cap;
    let mut found = false;
    let mut pa = a.reps[0];
    let mut pb = b.reps[0];
    for e1 in &a.edges {
        // Skip edges of `a` that cannot beat the best so far against all of `b`.
        let t = best + e1.r + b.r;
        if e1.mid.sub(b.center).norm2() > t * t {
            continue;
        }
        for e2 in &b.edges {
            let t = best + e1.r + e2.r;
            if e1.mid.sub(e2.mid).norm2() > t * t {
                continue;
            }
            if let Some(x) = e1.intersect(e2) {
                return Near {
                    chord2: 0.0,
                    pa: x,
                    pb: x,
                };
            }
            for (p, e, flip) in [
                (e1.a, e2, false),
                (e1.b, e2, false),
                (e2.a, e1, true),
                (e2.b, e1, true),
            ] {
                if e.closest_d2(p) < best2 {
                    let (d2, q) = e.closest(p);
                    best2 = d2;
                    best = d2.sqrt();
                    found = true;
                    (pa, pb) = if flip { (q, p) } else { (p, q) };
                }
            }
        }
    }
    if !found {
        return FAR;
    }
    Near {
        chord2: best2,
        pa,
        pb,
    }
}

/// Closest pair of points between two shapes on the unit sphere (0 when they
/// intersect or one contains the other). Only pairs closer than the chord
/// `cap` are looked for: when there is none the answer's `chord2` is
/// infinite (any larger chord may also be reported as such).
pub(crate) fn nearest(a: &Shape, b: &Shape, cap: f64) -> Near {
    match (a, b) {
        (Shape::Point(p), Shape::Point(q)) => Near {
            chord2: p.sub(*q).norm2(),
            pa: *p,
            pb: *q,
        },
        (Shape::Point(p), Shape::Complex(c)) => point_to_complex(*p, c, false, cap),
        (Shape::Complex(c), Shape::Point(p)) => point_to_complex(*p, c, true, cap),
        (Shape::Complex(x), Shape::Complex(y)) => complex_to_complex(x, y, cap),
    }
}

/// Spherical distance (metres, R_MEAN) of a chord.
#[inline]
pub(crate) fn sphere_m(chord2: f64) -> f64 {
    R_MEAN * chord_to_angle(chord2.sqrt())
}

/// Distance (metres) between two nearby points on the WGS84 ellipsoid from the
/// local metric at their midpoint: ds² = (M dφ)² + (N cos φ dλ)², evaluated
/// with vectors (no trigonometry). Relative error grows as (d/R)²; used only
/// away from thresholds and below 20 km.
fn local_distance(pa: V3, pb: V3) -> f64 {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 0.006_694_379_990_141_317;
    let d = pb.sub(pa);
    let c = d.norm2().sqrt();
    if c == 0.0 {
        return 0.0;
    }
    let m = pa.add(pb).normalize();
    let h = (m.x * m.x + m.y * m.y).sqrt();
    if h < 1e-9 {
        return geodesic_distance(pa.to_lonlat(), pb.to_lonlat());
    }
    let s = m.z;
    let w2 = 1.0 - E2 * s * s;
    let w = w2.sqrt();
    let n_rad = A / w;
    let m_rad = A * (1.0 - E2) / (w2 * w);
    let east = V3::new(-m.y / h, m.x / h, 0.0);
    let north = V3::new(-s * m.x / h, -s * m.y / h, h);
    let (de, dn) = (d.dot(east), d.dot(north));
    let scale = chord_to_angle(c) / c;
    ((m_rad * dn).powi(2) + (n_rad * de).powi(2)).sqrt() * scale
}

/// Whether the geodesic distance between two shapes is at most `thr_m`, with
/// PostGIS `geography` semantics (closest points found on the sphere, their
/// distance measured on the WGS84 ellipsoid). Returns the distance when within.
///
/// The spherical distance decides whenever it is further from the threshold
/// than the sphere/ellipsoid error bound; only pairs in that band are measured
/// with geographiclib. The distance returned for a clear hit is the local
/// ellipsoidal metric (exact geodesic beyond 20 km).
pub(crate) fn within(a: &Shape, b: &Shape, thr_m: f64) -> Option<f64> {
    // A pair can be within only if its spherical distance ds satisfies
    // ds·(1 - REL) - 0.5 <= thr; a chord never exceeds its angle, so no pair
    // with a longer chord than that angle (times a hair) needs looking at.
    let cap = (thr_m + 0.5) / ((1.0 - REL) * R_MEAN) * (1.0 + 1e-9);
    // Cheap rejection on bounding balls.
    if a.chord_lower_bound(b) > cap {
        return None;
    }
    let near = nearest(a, b, cap);
    if near.chord2 == 0.0 {
        return Some(0.0);
    }
    if near.chord2 > cap * cap {
        return None;
    }
    let ds = sphere_m(near.chord2);
    if ds * (1.0 - REL) - 0.5 > thr_m {
        return None;
    }
    if ds * (1.0 + REL) + 0.5 < thr_m && ds < 20_000.0 {
        return Some(local_distance(near.pa, near.pb));
    }
    let d = geodesic_distance(near.pa.to_lonlat(), near.pb.to_lonlat());
    (d <= thr_m).then_some(d)
}

/// Geodesic distance between two shapes (PostGIS semantics, see [`within`]).
pub(crate) fn distance(a: &Shape, b: &Shape) -> f64 {
    let near = nearest(a, b, f64::INFINITY);
    if near.chord2 == 0.0 {
        return 0.0;
    }
    geodesic_distance(near.pa.to_lonlat(), near.pb.to_lonlat())
}

/// Whether `v` is inside any polygon of the shape.
#[allow(dead_code)]
pub(crate) fn shape_contains(s: &Shape, v: V3) -> bool {
    s.contains(v)
}

// ---------------------------------------------------------------------------
// Bounding boxes (lon/lat degrees), split at the antimeridian.

/// `[min_lon, min_lat, max_lon, max_lat]`, with min_lon <= max_lon, all within
/// [-180, 180] x [-90, 90].
pub type BBox = [f64; 4];

/// Latitude extremes of the great-circle arc a→b (degrees), beyond its
/// vertices' latitudes.
fn arc_lat_extent(a: V3, b: V3, lo: &mut f64, hi: &mut f64) {
    let n = a.cross(b);
    if n.norm2() < 1e-30 {
        return;
    }
    let n = n.normalize();
    let z = V3::new(0.0, 0.0, 1.0);
    let p = z.sub(n.scale(n.z));
    if p.norm2() < 1e-24 {
        return; // the arc lies on the equator
    }
    let p = p.normalize();
    let ea = n.cross(a);
    let eb = b.cross(n);
    for q in [p, p.scale(-1.0)] {
        if q.dot(ea) >= 0.0 && q.dot(eb) >= 0.0 {
            let lat = q.z.clamp(-1.0, 1.0).asin().to_degrees();
            *lo = lo.min(lat);
            *hi = hi.max(lat);
        }
    }
}

fn norm_lon_delta(d: f64) -> f64 {
    let mut d = d % 360.0;
    if d > 180.0 {
        d -= 360.0;
    } else if d < -180.0 {
        d += 360.0;
    }
    d
}

/// One component's extent: unwrapped lon range and lat range.
struct Extent {
    lon_lo: f64,
    lon_hi: f64,
    lat_lo: f64,
    lat_hi: f64,
    full_lon: bool,
}

fn extent(vs: &[LonLat], closed: bool) -> Extent {
    let mut lat_lo = f64::INFINITY;
    let mut lat_hi = f64::NEG_INFINITY;
    let mut lon = vs[0].lon;
    let mut lon_lo = lon;
    let mut lon_hi = lon;
    let mut winding = 0.0;
    for (i, p) in vs.iter().enumerate() {
        lat_lo = lat_lo.min(p.lat);
        lat_hi = lat_hi.max(p.lat);
        if i > 0 {
            let d = norm_lon_delta(p.lon - vs[i - 1].lon);
            winding += d;
            lon += d;
            lon_lo = lon_lo.min(lon);
            lon_hi = lon_hi.max(lon);
            arc_lat_extent(
                V3::from_lonlat(vs[i - 1]),
                V3::from_lonlat(*p),
                &mut lat_lo,
                &mut lat_hi,
            );
        }
    }
    let mut full_lon = false;
    if closed && winding.abs() > 180.0 {
        // The ring goes around a pole.
        full_lon = true;
        let mean = vs.iter().map(|p| p.lat).sum::<f64>() / vs.len() as f64;
        if mean >= 0.0 {
            lat_hi = 90.0;
        } else {
            lat_lo = -90.0;
        }
    }
    Extent {
        lon_lo,
        lon_hi,
        lat_lo,
        lat_hi,
        full_lon,
    }
}

/// Bounding boxes of a geometry expanded by `buffer_m` (conservatively, for
/// geodesic distances), split at the antimeridian.
pub fn bboxes(g: &Geometry, buffer_m: f64) -> Vec<BBox> {
    let mut exts = Vec::new();
    match g {
        Geometry::Point(p) => exts.push(extent(std::slice::from_ref(p), false)),
        Geometry::LineString(l) if !l.is_empty() => exts.push(extent(l, false)),
        Geometry::LineString(_) => {}
        Geometry::Polygon(p) => {
            if !p.exterior.is_empty() {
                exts.push(extent(&p.exterior, true))
            }
        }
        Geometry::MultiPolygon(ps) => {
            for p in ps {
                if !p.exterior.is_empty() {
                    exts.push(extent(&p.exterior, true));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(exts.len());
    for e in &exts {
        let (bs, n) = expand(e, buffer_m);
        out.extend_from_slice(&bs[..n]);
    }
    out
}

/// Boxes of a point expanded by `buffer_m` (one, or two across the
/// antimeridian), without allocating.
pub fn point_bboxes(p: LonLat, buffer_m: f64) -> ([BBox; 2], usize) {
    let e = Extent {
        lon_lo: p.lon,
        lon_hi: p.lon,
        lat_lo: p.lat,
        lat_hi: p.lat,
        full_lon: false,
    };
    expand(&e, buffer_m)
}

/// An extent expanded by `buffer_m`, as one or two boxes.
fn expand(e: &Extent, buffer_m: f64) -> ([BBox; 2], usize) {
    let buf = buffer_m.max(0.0) * 1.01 + 2.0;
    let dlat = buf / 110_000.0;
    let lat_lo = e.lat_lo - dlat - 1e-9;
    let lat_hi = e.lat_hi + dlat + 1e-9;
    let maxabs = lat_lo.abs().max(lat_hi.abs());
    let lat_lo = lat_lo.max(-90.0);
    let lat_hi = lat_hi.min(90.0);
    let full = [-180.0, lat_lo, 180.0, lat_hi];
    if e.full_lon || maxabs >= 89.5 {
        return ([full, full], 1);
    }
    let dlon = buf / (111_000.0 * maxabs.to_radians().cos()) + 1e-9;
    let lo = e.lon_lo - dlon;
    let hi = e.lon_hi + dlon;
    if hi - lo >= 360.0 {
        return ([full, full], 1);
    }
    // Shift so lo is in [-180, 180).
    let shift = ((lo + 180.0) / 360.0).floor() * 360.0;
    let (lo, hi) = (lo - shift, hi - shift);
    if hi <= 180.0 {
        let b = [lo, lat_lo, hi, lat_hi];
        ([b, b], 1)
    } else {
        (
            [
                [lo, lat_lo, 180.0, lat_hi],
                [-180.0, lat_lo, hi - 360.0, lat_hi],
            ],
            2,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat)
    }

    #[test]
    fn arc_bulges_poleward() {
        // An east-west edge at 60N from lon 0 to 40: the arc peaks above 60N.
        let bb = bboxes(
            &Geometry::LineString(vec![ll(0.0, 60.0), ll(40.0, 60.0)]),
            0.0,
        );
        assert_eq!(bb.len(), 1);
        assert!(bb[0][3] > 61.5, "{:?}", bb); // tan φ = tan 60° / cos 20°
    }

    #[test]
    fn antimeridian_split() {
        let bb = bboxes(
            &Geometry::LineString(vec![ll(179.5, 0.0), ll(-179.5, 0.0)]),
            0.0,
        );
        assert_eq!(bb.len(), 2, "{bb:?}");
        assert!(bb.iter().any(|b| b[0] < 179.5 && b[2] == 180.0));
        assert!(bb.iter().any(|b| b[0] == -180.0 && b[2] > -179.5));
    }

    #[test]
    fn local_metric_close_to_geodesic() {
        for (a, b) in [
            (ll(35.0, 33.0), ll(35.1, 33.05)),
            (ll(-179.99, 60.0), ll(179.99, 60.01)),
            (ll(10.0, -45.0), ll(10.0, -44.9)),
            (ll(36.0, 33.0), ll(36.15, 33.0)),
            (ll(0.0, 0.0), ll(0.0, 0.15)),
        ] {
            let g = geodesic_distance(a, b);
            let l = local_distance(V3::from_lonlat(a), V3::from_lonlat(b));
            assert!((g - l).abs() < 0.01 + g * 1e-5, "{g} {l}");
        }
    }

    /// A star polygon around `c` with `n` vertices (closed), optionally with a
    /// smaller star hole around the same centre.
    fn star(c: LonLat, n: usize, r_deg: f64, jitter: &[f64], hole: bool) -> Polygon {
        let ring = |r: f64, ccw: bool| {
            let mut v: Vec<LonLat> = (0..n)
                .map(|i| {
                    let a = std::f64::consts::TAU * i as f64 / n as f64;
                    let rr = r * (0.5 + 0.5 * jitter[i % jitter.len()]);
                    ll(
                        c.lon + rr * a.cos(),
                        (c.lat + rr * a.sin()).clamp(-89.9, 89.9),
                    )
                })
                .collect();
            if !ccw {
                v.reverse();
            }
            v.push(v[0]);
            v
        };
        Polygon {
            exterior: ring(r_deg, true),
            holes: if hole {
                vec![ring(r_deg * 0.2, false)]
            } else {
                Vec::new()
            },
        }
    }

    /// The closest pair by brute force: containment of one vertex per
    /// component, then every pair of edges (or the point against every edge).
    fn nearest_brute(a: &Shape, b: &Shape) -> Near {
        let parts = |s: &Shape| match s {
            Shape::Point(p) => (vec![*p], Vec::new()),
            Shape::Complex(c) => (c.reps.clone(), c.edges.clone()),
        };
        let ((ra, ea), (rb, eb)) = (parts(a), parts(b));
        if let Some(r) = ra.iter().find(|r| b.contains(**r)) {
            return Near {
                chord2: 0.0,
                pa: *r,
                pb: *r,
            };
        }
        if let Some(r) = rb.iter().find(|r| a.contains(**r)) {
            return Near {
                chord2: 0.0,
                pa: *r,
                pb: *r,
            };
        }
        let mut best = Near {
            chord2: f64::INFINITY,
            pa: ra[0],
            pb: rb[0],
        };
        let mut consider = |(chord2, pa, pb): (f64, V3, V3)| {
            if chord2 < best.chord2 {
                best = Near { chord2, pa, pb };
            }
        };
        let to = |e: &Edge, p: V3| e.closest(p);
        match (ea.is_empty(), eb.is_empty()) {
            (true, true) => consider((ra[0].sub(rb[0]).norm2(), ra[0], rb[0])),
            (true, false) => eb.iter().for_each(|e| {
                let (d2, q) = to(e, ra[0]);
                consider((d2, ra[0], q))
            }),
            (false, true) => ea.iter().for_each(|e| {
                let (d2, q) = to(e, rb[0]);
                consider((d2, q, rb[0]))
            }),
            (false, false) => {
                for e1 in &ea {
                    for e2 in &eb {
                        if let Some(x) = e1.intersect(e2) {
                            return Near {
                                chord2: 0.0,
                                pa: x,
                                pb: x,
                            };
                        }
                        for p in [e1.a, e1.b] {
                            let (d2, q) = to(e2, p);
                            consider((d2, p, q));
                        }
                        for p in [e2.a, e2.b] {
                            let (d2, q) = to(e1, p);
                            consider((d2, q, p));
                        }
                    }
                }
            }
        }
        best
    }

    /// The distance test as it was before the cap and the series:
    /// the closest pair by brute force, every distance through libm's asin.
    fn within_reference(a: &Shape, b: &Shape, thr_m: f64) -> Option<f64> {
        let angle = |c2: f64| R_MEAN * 2.0 * (c2.sqrt() * 0.5).min(1.0).asin();
        let near = nearest_brute(a, b);
        if near.chord2 == 0.0 {
            return Some(0.0);
        }
        let ds = angle(near.chord2);
        if ds * (1.0 - REL) - 0.5 > thr_m {
            return None;
        }
        if ds * (1.0 + REL) + 0.5 < thr_m && ds < 20_000.0 {
            return Some(local_distance(near.pa, near.pb));
        }
        let d = geodesic_distance(near.pa.to_lonlat(), near.pb.to_lonlat());
        (d <= thr_m).then_some(d)
    }

    fn shape_of(kind: u8, c: LonLat, size: f64, jitter: &[f64]) -> Geometry {
        match kind % 3 {
            0 => Geometry::Point(c),
            1 => Geometry::LineString(vec![
                c,
                ll(c.lon + size, c.lat + size * 0.3),
                ll(c.lon + size * 1.5, c.lat - size * 0.4),
            ]),
            _ => Geometry::Polygon(star(
                c,
                5 + jitter.len() * 9,
                size,
                jitter,
                kind.is_multiple_of(2),
            )),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, .. Default::default() })]

        /// The slabs change which edges are looked at, never the answer.
        #[test]
        fn slabs_agree_with_every_edge(
            lon in -180.0f64..180.0, lat in -80.0f64..80.0, n in 3usize..120,
            r in 0.001f64..2.0, jitter in proptest::collection::vec(0.0f64..1.0, 1..9),
            hole in proptest::bool::ANY,
            probes in proptest::collection::vec((-1.2f64..1.2, -1.2f64..1.2), 1..60),
        ) {
            let c = ll(lon, lat);
            let p = star(c, n, r, &jitter, hole);
            let prep = PreparedPoly::new(&p).expect("fits a hemisphere");
            // Probes around the polygon, and every vertex (on the boundary).
            let pts = probes.iter().map(|(dx, dy)| ll(lon + dx * r, (lat + dy * r).clamp(-90.0, 90.0)))
                .chain(p.rings().flatten().copied());
            for q in pts {
                let v = V3::from_lonlat(q);
                proptest::prop_assert_eq!(prep.contains(v), prep.contains_all_edges(v), "{:?}", q);
            }
        }

        /// The capped search and the series give the answer of the plain search.
        #[test]
        fn capped_within_agrees_with_reference(
            lon in -180.0f64..180.0, lat in -85.0f64..85.0,
            kinds in (0u8..6, 0u8..6),
            offset in (-0.3f64..0.3, -0.3f64..0.3),
            sizes in (0.001f64..0.2, 0.001f64..0.2),
            jitter in proptest::collection::vec(0.0f64..1.0, 1..6),
            thr in 0.0f64..40_000.0,
        ) {
            let a = shape_of(kinds.0, ll(lon, lat), sizes.0, &jitter);
            let b = shape_of(kinds.1, ll(lon + offset.0, (lat + offset.1).clamp(-89.0, 89.0)), sizes.1, &jitter);
            let (Some(sa), Some(sb)) = (Shape::new(&a), Shape::new(&b)) else {
                return Ok(());
            };
            // Also right at the reference distance, where the band rules decide.
            let d = distance(&sa, &sb);
            for t in [thr, d, d - 0.4, d + 0.4, d * 1.007, d * 0.993] {
                let t = t.max(0.0);
                let got = within(&sa, &sb, t);
                let want = within_reference(&sa, &sb, t);
                proptest::prop_assert_eq!(got.is_some(), want.is_some(), "thr {} d {}", t, d);
                if let (Some(g), Some(w)) = (got, want) {
                    proptest::prop_assert!((g - w).abs() <= 1e-6 + w * 1e-9, "{} {}", g, w);
                }
            }
        }
    }

    #[test]
    fn series_matches_asin() {
        let mut c = 1e-9;
        while c < 2.0 {
            let reference = 2.0 * (c * 0.5_f64).asin();
            let got = chord_to_angle(c);
            assert!(
                (got - reference).abs() <= reference * 4e-16,
                "{c}: {got} {reference}"
            );
            c *= 1.07;
        }
    }

    #[test]
    fn edge_closest_interior() {
        let e = Edge::new(
            V3::from_lonlat(ll(0.0, 0.0)),
            V3::from_lonlat(ll(10.0, 0.0)),
        );
        let (c2, q) = e.closest(V3::from_lonlat(ll(5.0, 1.0)));
        let ang = chord_to_angle(c2.sqrt()).to_degrees();
        assert!((ang - 1.0).abs() < 1e-9, "{ang}");
        let ql = q.to_lonlat();
        assert!((ql.lon - 5.0).abs() < 1e-9 && ql.lat.abs() < 1e-9);
    }
}
