//! Validation of geometries, areas, sites, zones and activities.

use std::fmt;

use crate::sphere::{Edge, PreparedPoly, V3};
use crate::types::{Activity, AltBand, Area, Geometry, LonLat, Polygon, Site, TimeWindow, Zone};

/// What is wrong with an input.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("empty geometry")]
    Empty,
    #[error("coordinate is not a number at {at}")]
    NotANumber { at: Loc },
    #[error(
        "coordinates out of range at {at}: lon {lon}, lat {lat} (lon must be in [-180, 180], lat in [-90, 90])"
    )]
    OutOfRange { at: Loc, lon: f64, lat: f64 },
    #[error("ring {ring} of polygon {polygon} has {count} positions; at least 4 are needed")]
    TooFewPositions {
        polygon: usize,
        ring: usize,
        count: usize,
    },
    #[error("line has {count} distinct positions; at least 2 are needed")]
    TooFewLinePositions { count: usize },
    #[error("ring {ring} of polygon {polygon} is not closed (first position differs from last)")]
    UnclosedRing { polygon: usize, ring: usize },
    #[error(
        "polygon {polygon} is self-intersecting (ring {ring_a} edge {edge_a} crosses ring {ring_b} edge {edge_b})"
    )]
    SelfIntersection {
        polygon: usize,
        ring_a: usize,
        edge_a: usize,
        ring_b: usize,
        edge_b: usize,
    },
    #[error("polygon {polygon} does not fit in a hemisphere")]
    TooLarge { polygon: usize },
    #[error("polygon {polygon}: hole (ring {ring}) lies outside the exterior ring")]
    HoleOutsideExterior { polygon: usize, ring: usize },
    #[error("corridor without width: buffer {buffer_m} m (a LineString needs a half-width > 0)")]
    CorridorWithoutWidth { buffer_m: f64 },
    #[error("circle without radius: buffer {buffer_m} m (a Point needs a radius > 0)")]
    CircleWithoutRadius { buffer_m: f64 },
    #[error("buffer {buffer_m} m is negative or not a number")]
    BadBuffer { buffer_m: f64 },
    #[error("time window ends at or before it starts (start {start}, end {end})")]
    WindowInverted { start: i64, end: i64 },
    #[error("altitude band upside down (min {min_m} m > max {max_m} m)")]
    AltitudeInverted { min_m: f64, max_m: f64 },
    #[error("altitude is not a number")]
    AltitudeNaN,
    #[error("zone geometry must be a Polygon or MultiPolygon")]
    ZoneNotPolygonal,
    #[error("malformed GeoJSON: {0}")]
    Malformed(String),
}

/// Where in a geometry a position is: polygon index, ring index, position index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    pub polygon: Option<usize>,
    pub ring: Option<usize>,
    pub position: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.polygon {
            write!(f, "polygon {p} ")?;
        }
        if let Some(r) = self.ring {
            write!(f, "ring {r} ")?;
        }
        write!(f, "position {}", self.position)
    }
}

/// A problem in one feature of an input, naming the feature.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("feature {index}{}: {problem}", id.as_ref().map(|i| format!(" (id {i})")).unwrap_or_default())]
pub struct FeatureError {
    /// Position of the feature in its input (0-based).
    pub index: usize,
    /// The feature's id, if it has one.
    pub id: Option<String>,
    pub problem: Problem,
}

fn check_pos(p: &LonLat, at: Loc) -> Result<(), Problem> {
    if p.lon.is_nan() || p.lat.is_nan() {
        return Err(Problem::NotANumber { at });
    }
    if !(-180.0..=180.0).contains(&p.lon) || !(-90.0..=90.0).contains(&p.lat) {
        return Err(Problem::OutOfRange {
            at,
            lon: p.lon,
            lat: p.lat,
        });
    }
    Ok(())
}

fn check_polygon(poly: &Polygon, pi: usize) -> Result<(), Problem> {
    if poly.exterior.is_empty() {
        return Err(Problem::Empty);
    }
    for (ri, ring) in poly.rings().enumerate() {
        for (k, p) in ring.iter().enumerate() {
            check_pos(
                p,
                Loc {
                    polygon: Some(pi),
                    ring: Some(ri),
                    position: k,
                },
            )?;
        }
        if ring.len() < 4 {
            return Err(Problem::TooFewPositions {
                polygon: pi,
                ring: ri,
                count: ring.len(),
            });
        }
        if ring.first() != ring.last() {
            return Err(Problem::UnclosedRing {
                polygon: pi,
                ring: ri,
            });
        }
    }
    if !PreparedPoly::fits(poly) {
        return Err(Problem::TooLarge { polygon: pi });
    }
    // Self-intersection: any two non-adjacent edges (of any rings) that meet.
    struct E {
        ring: usize,
        idx: usize,
        last: bool,
        e: Edge,
    }
    let mut edges = Vec::new();
    for (ri, ring) in poly.rings().enumerate() {
        let vs: Vec<V3> = dedup(ring).into_iter().map(V3::from_lonlat).collect();
        if vs.len() < 4 {
            // Collapsed ring: fewer than 3 distinct vertices.
            return Err(Problem::TooFewPositions {
                polygon: pi,
                ring: ri,
                count: vs.len(),
            });
        }
        let n = vs.len() - 1;
        for i in 0..n {
            edges.push(E {
                ring: ri,
                idx: i,
                last: i == n - 1,
                e: Edge::new(vs[i], vs[i + 1]),
            });
        }
    }
    // Only edges whose bounding balls meet can meet: sweep the balls' extents along
    // the axis on which their centres spread most. Of the meeting pairs, the first in
    // edge order is reported, as a pass over every pair would.
    let balls: Vec<(V3, f64)> = edges.iter().map(|e| e.e.ball()).collect();
    let spread = |f: fn(&V3) -> f64| {
        let (lo, hi) = balls.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (c, _)| {
            (lo.min(f(c)), hi.max(f(c)))
        });
        hi - lo
    };
    let axes: [fn(&V3) -> f64; 3] = [|v| v.x, |v| v.y, |v| v.z];
    let axis = axes
        .into_iter()
        .max_by(|a, b| spread(*a).total_cmp(&spread(*b)))
        .unwrap_or(|v| v.x);
    // A margin well above rounding, far below any real gap between edges.
    let span = |k: usize| {
        let (c, r) = balls[k];
        (axis(&c) - r - 1e-9, axis(&c) + r + 1e-9)
    };
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_by(|&a, &b| span(a).0.total_cmp(&span(b).0));
    let mut first: Option<(usize, usize)> = None;
    for (k, &i) in order.iter().enumerate() {
        let hi = span(i).1;
        for &j in &order[k + 1..] {
            if span(j).0 > hi {
                break;
            }
            let (i, j) = (i.min(j), i.max(j));
            let (a, b) = (&edges[i], &edges[j]);
            if a.ring == b.ring && (b.idx == a.idx + 1 || (a.idx == 0 && b.last)) {
                continue;
            }
            let ((ca, ra), (cb, rb)) = (balls[i], balls[j]);
            let reach = ra + rb + 2e-9;
            if ca.sub(cb).norm2() > reach * reach {
                continue;
            }
            if a.e.intersect(&b.e).is_some() && first.is_none_or(|f| (i, j) < f) {
                first = Some((i, j));
            }
        }
    }
    if let Some((i, j)) = first {
        return Err(Problem::SelfIntersection {
            polygon: pi,
            ring_a: edges[i].ring,
            edge_a: edges[i].idx,
            ring_b: edges[j].ring,
            edge_b: edges[j].idx,
        });
    }
    // No ring crosses another, so a hole lies wholly inside the exterior or wholly
    // outside it (touching it at most at a vertex, which may count either way): it is
    // outside when none of its vertices is inside (PostGIS: "Hole lies outside shell").
    if !poly.holes.is_empty() {
        let shell = PreparedPoly::new(&Polygon::new(poly.exterior.clone()))
            .ok_or(Problem::TooLarge { polygon: pi })?;
        for (hi, hole) in poly.holes.iter().enumerate() {
            if !hole.iter().any(|p| shell.contains(V3::from_lonlat(*p))) {
                return Err(Problem::HoleOutsideExterior {
                    polygon: pi,
                    ring: hi + 1,
                });
            }
        }
    }
    Ok(())
}

fn dedup(ring: &[LonLat]) -> Vec<LonLat> {
    let mut out: Vec<LonLat> = Vec::with_capacity(ring.len());
    for p in ring {
        if out.last() != Some(p) {
            out.push(*p);
        }
    }
    out
}

/// Validate a geometry (ranges, NaN, emptiness, ring closure and size, simple
/// polygons).
pub fn validate_geometry(g: &Geometry) -> Result<(), Problem> {
    match g {
        Geometry::Point(p) => check_pos(
            p,
            Loc {
                polygon: None,
                ring: None,
                position: 0,
            },
        ),
        Geometry::LineString(l) => {
            if l.is_empty() {
                return Err(Problem::Empty);
            }
            for (k, p) in l.iter().enumerate() {
                check_pos(
                    p,
                    Loc {
                        polygon: None,
                        ring: None,
                        position: k,
                    },
                )?;
            }
            let distinct = dedup(l).len();
            if distinct < 2 {
                return Err(Problem::TooFewLinePositions { count: distinct });
            }
            Ok(())
        }
        Geometry::Polygon(p) => check_polygon(p, 0),
        Geometry::MultiPolygon(ps) => {
            if ps.is_empty() {
                return Err(Problem::Empty);
            }
            for (i, p) in ps.iter().enumerate() {
                check_polygon(p, i)?;
            }
            Ok(())
        }
    }
}

/// Validate an area: its geometry and its buffer (a corridor needs a width, a
/// circle a radius).
pub fn validate_area(a: &Area) -> Result<(), Problem> {
    if a.buffer_m.is_nan() || a.buffer_m < 0.0 || a.buffer_m.is_infinite() {
        return Err(Problem::BadBuffer {
            buffer_m: a.buffer_m,
        });
    }
    validate_geometry(&a.geometry)?;
    match a.geometry {
        Geometry::LineString(_) if a.buffer_m <= 0.0 => Err(Problem::CorridorWithoutWidth {
            buffer_m: a.buffer_m,
        }),
        Geometry::Point(_) if a.buffer_m <= 0.0 => Err(Problem::CircleWithoutRadius {
            buffer_m: a.buffer_m,
        }),
        _ => Ok(()),
    }
}

pub fn validate_window(w: &TimeWindow) -> Result<(), Problem> {
    if w.end <= w.start {
        return Err(Problem::WindowInverted {
            start: w.start,
            end: w.end,
        });
    }
    Ok(())
}

pub fn validate_alt(b: &AltBand) -> Result<(), Problem> {
    if b.min_m.is_nan() || b.max_m.is_nan() {
        return Err(Problem::AltitudeNaN);
    }
    if b.max_m < b.min_m {
        return Err(Problem::AltitudeInverted {
            min_m: b.min_m,
            max_m: b.max_m,
        });
    }
    Ok(())
}

pub fn validate_site<K>(s: &Site<K>) -> Result<(), Problem> {
    validate_area(&s.area)
}

pub fn validate_zone<K>(z: &Zone<K>) -> Result<(), Problem> {
    match z.geometry {
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) => {}
        _ => return Err(Problem::ZoneNotPolygonal),
    }
    validate_geometry(&z.geometry)?;
    if let Some(b) = &z.rules.altitude {
        validate_alt(b)?;
    }
    for w in &z.waivers {
        validate_window(&w.window)?;
    }
    Ok(())
}

pub fn validate_activity<K>(a: &Activity<K>) -> Result<(), Problem> {
    validate_area(&a.area)?;
    validate_window(&a.window)?;
    validate_alt(&a.alt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The pass over every pair of edges that the sweep replaces.
    fn first_crossing(poly: &Polygon) -> Option<(usize, usize, usize, usize)> {
        let mut edges = Vec::new();
        for (ri, ring) in poly.rings().enumerate() {
            let vs: Vec<V3> = dedup(ring).into_iter().map(V3::from_lonlat).collect();
            let n = vs.len() - 1;
            for i in 0..n {
                edges.push((ri, i, i == n - 1, Edge::new(vs[i], vs[i + 1])));
            }
        }
        for i in 0..edges.len() {
            for j in (i + 1)..edges.len() {
                let (a, b) = (&edges[i], &edges[j]);
                if a.0 == b.0 && (b.1 == a.1 + 1 || (a.1 == 0 && b.2)) {
                    continue;
                }
                if a.3.intersect(&b.3).is_some() {
                    return Some((a.0, a.1, b.0, b.1));
                }
            }
        }
        None
    }

    fn ring(pts: &[(f64, f64)]) -> Vec<LonLat> {
        let mut r: Vec<LonLat> = pts.iter().map(|&(x, y)| LonLat::new(x, y)).collect();
        r.push(r[0]);
        r
    }

    proptest! {
        /// Random rings (many of them self-intersecting, some with a hole that may cross
        /// the exterior): the sweep reports what the pass over every pair reports.
        #[test]
        fn the_sweep_finds_the_first_crossing_of_every_pair(
            ext in proptest::collection::vec((35.0f64..35.5, 33.0f64..33.5), 3..40),
            hole in proptest::collection::vec((35.1f64..35.4, 33.1f64..33.4), 3..8),
            with_hole in any::<bool>(),
        ) {
            let poly = Polygon {
                exterior: ring(&ext),
                holes: if with_hole { vec![ring(&hole)] } else { vec![] },
            };
            prop_assume!(poly.rings().all(|r| dedup(r).len() >= 4));
            let want = first_crossing(&poly);
            let got = match check_polygon(&poly, 0) {
                Err(Problem::SelfIntersection { ring_a, edge_a, ring_b, edge_b, .. }) => {
                    Some((ring_a, edge_a, ring_b, edge_b))
                }
                // A hole that crosses nothing may still lie outside the exterior.
                Ok(()) | Err(Problem::HoleOutsideExterior { .. }) => None,
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            };
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn a_hole_outside_its_exterior_is_refused_and_one_inside_is_taken() {
        let square = ring(&[(35.0, 33.0), (35.4, 33.0), (35.4, 33.4), (35.0, 33.4)]);
        let inside = ring(&[(35.1, 33.1), (35.2, 33.1), (35.2, 33.2), (35.1, 33.2)]);
        let outside = ring(&[(35.6, 33.1), (35.7, 33.1), (35.7, 33.2), (35.6, 33.2)]);
        let with = |hole: &Vec<LonLat>| Polygon {
            exterior: square.clone(),
            holes: vec![hole.clone()],
        };
        assert_eq!(check_polygon(&with(&inside), 0), Ok(()));
        assert_eq!(
            check_polygon(&with(&outside), 2),
            Err(Problem::HoleOutsideExterior {
                polygon: 2,
                ring: 1
            })
        );
    }
}
