//! Fuzzing the GeoJSON path by structure: features of every geometry type, near the
//! antimeridian, the poles, the 36°/37° UTM boundary and the Levant, with rings open
//! or closed, repeated, crossing or out of range, positions of the wrong length or
//! not numbers, buffers from nothing to absurd. Whatever is refused names a feature
//! of the input; whatever is taken, the engine indexes and checks without panicking,
//! built at once or insert by insert alike, and its answers agree with the
//! brute-force geodesic reference outside the 1 m band.

use liaison_geo::geojson::{parse_feature, parse_features};
use liaison_geo::{
    Activity, AltBand, Area, Engine, Geometry, Site, TimeWindow, Zone, ZoneRules, ZoneStatus,
    area_distance,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Where the features are drawn around: the places geodesy gets wrong.
const CENTRES: [(f64, f64); 8] = [
    (35.8, 33.1),      // the Golan
    (36.0, 33.0),      // the 36°/37° UTM boundary
    (179.999, 0.0),    // the antimeridian, from the east
    (-179.9995, 12.0), // and from the west
    (0.0, 89.99),      // the north pole
    (45.0, -89.95),    // the south pole
    (0.0, 0.0),        // the equator and the prime meridian
    (-120.0, 45.0),    // elsewhere
];

/// One coordinate: mostly a number, sometimes what a careless file holds instead.
fn coordinate(x: f64) -> BoxedStrategy<Value> {
    prop_oneof![
        400 => Just(json!(x)),
        2 => Just(json!(x + 400.0)),
        2 => Just(json!(-0.0)),
        1 => Just(Value::Null),
        1 => Just(json!("35.8")),
    ]
    .boxed()
}

/// A position near `c`, `scale` degrees off at most, of two numbers (rarely one or three).
fn position(c: (f64, f64), scale: f64) -> BoxedStrategy<Value> {
    (-1.0f64..1.0, -1.0f64..1.0, 0u8..20)
        .prop_flat_map(move |(dx, dy, arity)| {
            let (lon, lat) = (c.0 + dx * scale, c.1 + dy * scale);
            let (lon, lat) = (wrap(lon), lat.clamp(-90.0, 90.0));
            (coordinate(lon), coordinate(lat)).prop_map(move |(a, b)| match arity {
                0 => json!([a]),
                1 => json!([a, b, 120.0]),
                _ => json!([a, b]),
            })
        })
        .boxed()
}

fn wrap(lon: f64) -> f64 {
    if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    }
}

/// A ring around `c`: a star of 3 to 8 points in either direction most of the time
/// (a simple polygon), its points in any order otherwise (most often crossing), closed
/// most of the time; `scale` is its size in degrees.
fn ring(c: (f64, f64), scale: f64) -> BoxedStrategy<Value> {
    let points = prop::collection::vec((0.2f64..0.8, 0.3f64..1.0), 3..9);
    (points, 0u8..8, 0u8..6)
        .prop_flat_map(move |(points, order, close)| {
            let n = points.len() as f64;
            let mut at: Vec<(f64, f64)> = points
                .iter()
                .enumerate()
                .map(|(i, &(jitter, r))| {
                    let a = std::f64::consts::TAU * (i as f64 + jitter) / n;
                    (c.0 + scale * r * a.cos(), c.1 + scale * r * a.sin())
                })
                .collect();
            match order {
                0 => at.reverse(),
                1 => {
                    let middle = at.len() / 2;
                    at.swap(0, middle);
                }
                _ => {}
            }
            let ps: Vec<_> = at
                .into_iter()
                .map(|(lon, lat)| {
                    let (lon, lat) = (wrap(lon), lat.clamp(-90.0, 90.0));
                    (coordinate(lon), coordinate(lat)).prop_map(|(a, b)| json!([a, b]))
                })
                .collect();
            ps.prop_map(move |mut ps| {
                if close > 0 {
                    ps.push(ps[0].clone());
                }
                Value::Array(ps)
            })
        })
        .boxed()
}

/// An exterior ring and, sometimes, a hole a fifth of its size (or none at all).
fn polygon(c: (f64, f64), scale: f64) -> BoxedStrategy<Value> {
    (ring(c, scale), ring(c, scale / 5.0), 0u8..16)
        .prop_map(|(outer, hole, shape)| match shape {
            0 => json!([]),
            1..=2 => json!([outer, hole]),
            _ => json!([outer]),
        })
        .boxed()
}

/// A geometry around `c`, of any size from a centimetre to a few hundred kilometres.
fn geometry(c: (f64, f64)) -> BoxedStrategy<Value> {
    let scale = prop_oneof![Just(1e-7), Just(1e-4), Just(0.01), Just(0.5), Just(3.0)];
    (scale, 0u8..21)
        .prop_flat_map(move |(scale, ty)| match ty {
            0..=2 => position(c, scale)
                .prop_map(|p| json!({"type": "Point", "coordinates": p}))
                .boxed(),
            3..=6 => prop::collection::vec(position(c, scale), 0..8)
                .prop_map(|ps| json!({"type": "LineString", "coordinates": ps}))
                .boxed(),
            7..=13 => polygon(c, scale)
                .prop_map(|p| json!({"type": "Polygon", "coordinates": p}))
                .boxed(),
            14..=19 => prop::collection::vec(polygon(c, scale), 1..4)
                .prop_map(|ps| json!({"type": "MultiPolygon", "coordinates": ps}))
                .boxed(),
            _ => Just(json!({"type": "GeometryCollection", "geometries": []})).boxed(),
        })
        .boxed()
}

fn buffer() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(json!(0)),
        12 => (1.0f64..50_000.0).prop_map(|x| json!(x)),
        1 => Just(json!(-5.0)),
        1 => Just(json!(1e-9)),
        1 => Just(json!(2.5e7)),
        1 => Just(json!(1e300)),
        1 => Just(json!("100")),
    ]
    .boxed()
}

fn feature(c: (f64, f64)) -> BoxedStrategy<Value> {
    (geometry(c), buffer(), 0u8..24)
        .prop_map(|(g, b, shape)| match shape {
            0 => json!({"type": "Feature", "properties": {"radius_m": b}}),
            1 => json!({"type": "Feature", "geometry": null}),
            _ => json!({"type": "Feature", "id": format!("f{shape}"), "geometry": g, "properties": {"radius_m": b}}),
        })
        .boxed()
}

/// A collection's features, all around one of the centres.
fn features() -> BoxedStrategy<Vec<Value>> {
    (0..CENTRES.len())
        .prop_flat_map(|k| prop::collection::vec(feature(CENTRES[k]), 1..7))
        .boxed()
}

/// The feature's area, if it is taken: its geometry and its radius.
fn area_of(f: &Value, index: usize) -> Option<Area> {
    parse_feature(f, index).ok()?.area("radius_m").ok()
}

fn dist(a: &Area, b: &Area) -> Option<f64> {
    area_distance(a, b).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn whatever_is_taken_is_checked_and_whatever_is_refused_is_named(
        features in features(),
    ) {
        let n = features.len();
        let collection = json!({"type": "FeatureCollection", "features": features});
        // The collection is refused at its first bad feature, and says which.
        let taken: Vec<_> = features.iter().enumerate().map(|(i, f)| parse_feature(f, i)).collect();
        match parse_features(&collection) {
            Ok(all) => prop_assert!(taken.iter().all(Result::is_ok) && all.len() == n),
            Err(e) => {
                prop_assert!(e.index < n);
                let first_bad = taken.iter().position(Result::is_err);
                prop_assert_eq!(Some(e.index), first_bad);
                prop_assert!(e.to_string().contains(&format!("feature {}", e.index)), "{}", e);
            }
        }

        // Every feature taken, as an area with its buffer, becomes a site, a zone
        // (if polygonal) and one member's activity; each is then the other member's query.
        let areas: Vec<Area> = taken.iter().flatten().filter_map(|f| f.area("radius_m").ok()).collect();
        let window = TimeWindow::new(0, 3600);
        let alt = AltBand::new(0.0, 1000.0);
        let activity = |id: u64, party: &str, area: &Area| Activity {
            id,
            party: party.to_string(),
            kind: "uav_flight".to_string(),
            area: area.clone(),
            alt,
            window,
        };
        let (mut sites, mut zones, mut actives) = (Vec::new(), Vec::new(), Vec::new());
        let mut one_by_one = Engine::new();
        for (i, a) in areas.iter().enumerate() {
            let id = i as u64;
            let site = Site { id, area: a.clone() };
            if one_by_one.insert_site(site.clone()).is_ok() {
                sites.push(site);
            }
            if matches!(a.geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) {
                let zone = Zone {
                    id,
                    geometry: a.geometry.clone(),
                    status: ZoneStatus::Agreed,
                    rules: ZoneRules {
                        prohibited_kinds: vec!["uav_flight".to_string()],
                        altitude: None,
                        force_limits: Vec::new(),
                    },
                    waivers: Vec::new(),
                };
                if one_by_one.insert_zone(zone.clone()).is_ok() {
                    zones.push(zone);
                }
            }
            let act = activity(id, "il", a);
            if one_by_one.insert_active(act.clone()).is_ok() {
                actives.push(act);
            }
        }
        let built = Engine::build(sites.clone(), zones.clone(), actives.clone()).map_err(|e| {
            TestCaseError::fail(format!("what was inserted one by one must build: {e:?}"))
        })?;

        // Where the reference is more than 1 m from the threshold, membership must agree.
        let agrees = |got: bool, d: Option<f64>, thr: f64| match d {
            Some(d) => (d - thr).abs() <= 1.0 || got == (d <= thr),
            None => true,
        };
        for (i, a) in areas.iter().enumerate() {
            let q = activity(1000 + i as u64, "sy", a);
            let (x, y) = (built.check(&q), one_by_one.check(&q));
            prop_assert_eq!(&x, &y);
            // A validated activity is always checked.
            let found = x.map_err(|e| TestCaseError::fail(format!("{e} for {:?}", q.area)))?;
            for h in &found.sites {
                prop_assert!(h.distance_m.is_finite() && h.distance_m >= 0.0, "{:?}", h);
            }
            for s in &sites {
                let got = found.sites.iter().any(|h| h.id == s.id);
                let thr = s.area.buffer_m + q.area.buffer_m;
                prop_assert!(agrees(got, dist(&s.area, &q.area), thr), "site {} of {:?} for {:?}", s.id, s.area, q.area);
            }
            for z in &zones {
                let got = found.zones.iter().any(|h| h.id == z.id);
                let za = Area { geometry: z.geometry.clone(), buffer_m: 0.0 };
                prop_assert!(agrees(got, dist(&za, &q.area), q.area.buffer_m), "zone {} for {:?}", z.id, q.area);
            }
            for o in &actives {
                let got = found.actives.iter().any(|h| h.id == o.id);
                let thr = o.area.buffer_m + q.area.buffer_m;
                prop_assert!(agrees(got, dist(&o.area, &q.area), thr), "active {} for {:?}", o.id, q.area);
            }
        }
    }
}

/// The generator is not all refusals: most collections hold a feature the engine
/// takes, many hold a zone, many are refused, and features meet one another.
#[test]
fn the_generator_reaches_both_paths() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = features();
    let (mut taken, mut zones, mut refused, mut meeting) = (0, 0, 0, 0);
    let cases = 400;
    for _ in 0..cases {
        let fs = strategy.new_tree(&mut runner).expect("a case").current();
        let areas: Vec<Area> = fs
            .iter()
            .enumerate()
            .filter_map(|(i, f)| area_of(f, i))
            .collect();
        taken += usize::from(!areas.is_empty());
        zones += usize::from(
            areas
                .iter()
                .any(|a| matches!(a.geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_))),
        );
        refused += usize::from(areas.len() < fs.len());
        let meet = |a: &Area, b: &Area| dist(a, b).is_some_and(|d| d <= a.buffer_m + b.buffer_m);
        meeting += usize::from(
            areas
                .iter()
                .enumerate()
                .any(|(i, a)| areas[i + 1..].iter().any(|b| meet(a, b))),
        );
    }
    assert!(taken * 10 > cases * 6, "taken {taken} of {cases}");
    assert!(zones * 10 > cases * 3, "with a zone {zones} of {cases}");
    assert!(refused * 10 > cases * 3, "refused {refused} of {cases}");
    assert!(
        meeting * 10 > cases * 2,
        "features meeting {meeting} of {cases}"
    );
}
