//! Validation errors name the feature and the problem.

mod common;

use common::*;
use liaison_geo::geojson::parse_features;
use liaison_geo::validate::{validate_activity, validate_area};
use liaison_geo::{Activity, AltBand, Area, Engine, Geometry, Problem, Site, TimeWindow};
use serde_json::json;

fn err_of(features: serde_json::Value) -> liaison_geo::FeatureError {
    let fc = json!({"type": "FeatureCollection", "features": features});
    match parse_features(&fc) {
        Err(e) => e,
        Ok(f) => panic!("expected an error, got {} features", f.len()),
    }
}

fn ok_square() -> serde_json::Value {
    json!({"type": "Feature", "id": "ok", "geometry": {"type": "Polygon",
        "coordinates": [[[35.0, 33.0], [35.1, 33.0], [35.1, 33.1], [35.0, 33.1], [35.0, 33.0]]]}, "properties": {}})
}

#[test]
fn unclosed_ring_names_feature() {
    let e = err_of(
        json!([ok_square(), {"type": "Feature", "id": "aos-1", "geometry": {"type": "Polygon",
        "coordinates": [[[35.0, 33.0], [35.1, 33.0], [35.1, 33.1], [35.0, 33.1]]]}}]),
    );
    assert_eq!(e.index, 1);
    assert_eq!(e.id.as_deref(), Some("aos-1"));
    assert_eq!(
        e.problem,
        Problem::UnclosedRing {
            polygon: 0,
            ring: 0
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains("feature 1") && msg.contains("aos-1") && msg.contains("not closed"),
        "{msg}"
    );
}

#[test]
fn self_intersecting_polygon() {
    // A bow tie.
    let e = err_of(
        json!([{"type": "Feature", "id": 7, "geometry": {"type": "Polygon",
        "coordinates": [[[35.0, 33.0], [35.1, 33.1], [35.1, 33.0], [35.0, 33.1], [35.0, 33.0]]]}}]),
    );
    assert!(matches!(e.problem, Problem::SelfIntersection { .. }), "{e}");
    assert!(e.to_string().contains("self-intersecting"));
    assert_eq!(e.id.as_deref(), Some("7"));
}

#[test]
fn out_of_range_nan_empty_too_few() {
    let e = err_of(
        json!([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [181.0, 33.0]}}]),
    );
    assert!(matches!(e.problem, Problem::OutOfRange { .. }), "{e}");
    let e = err_of(
        json!([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.0, -91.0]}}]),
    );
    assert!(matches!(e.problem, Problem::OutOfRange { .. }), "{e}");
    let e = err_of(json!([{"type": "Feature", "geometry": null}]));
    assert_eq!(e.problem, Problem::Empty);
    let e =
        err_of(json!([{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}}]));
    assert_eq!(e.problem, Problem::Empty);
    let e = err_of(
        json!([{"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": []}}]),
    );
    assert_eq!(e.problem, Problem::Empty);
    let e =
        err_of(json!([{"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}}]));
    assert_eq!(e.problem, Problem::Empty);
    let e = err_of(json!([{"type": "Feature", "geometry": {"type": "Polygon",
        "coordinates": [[[35.0, 33.0], [35.1, 33.0], [35.0, 33.0]]]}}]));
    assert_eq!(
        e.problem,
        Problem::TooFewPositions {
            polygon: 0,
            ring: 0,
            count: 3
        }
    );
    assert!(e.to_string().contains("at least 4"));
    // NaN cannot be written in JSON; check the typed path.
    let nan = Area::circle(ll(f64::NAN, 33.0), 10.0);
    assert!(matches!(
        validate_area(&nan),
        Err(Problem::NotANumber { .. })
    ));
    let e = err_of(
        json!([{"type": "Feature", "geometry": {"type": "Point", "coordinates": ["x", 1]}}]),
    );
    assert!(matches!(e.problem, Problem::Malformed(_)));
}

#[test]
fn corridor_window_altitude() {
    let line = vec![ll(35.0, 33.0), ll(35.1, 33.0)];
    assert_eq!(
        validate_area(&Area::corridor(line.clone(), 0.0)),
        Err(Problem::CorridorWithoutWidth { buffer_m: 0.0 })
    );
    assert!(validate_area(&Area::corridor(line.clone(), -5.0)).is_err());
    let a = act(
        1,
        "il",
        "air",
        Area::corridor(line.clone(), 100.0),
        (200, 100),
        (0.0, 10.0),
    );
    assert_eq!(
        validate_activity(&a),
        Err(Problem::WindowInverted {
            start: 200,
            end: 100
        })
    );
    let a = act(
        1,
        "il",
        "air",
        Area::corridor(line.clone(), 100.0),
        (100, 200),
        (500.0, 10.0),
    );
    assert_eq!(
        validate_activity(&a),
        Err(Problem::AltitudeInverted {
            min_m: 500.0,
            max_m: 10.0
        })
    );
    let a = act(
        1,
        "il",
        "air",
        Area::corridor(line, 100.0),
        (100, 200),
        (f64::NAN, 10.0),
    );
    assert_eq!(validate_activity(&a), Err(Problem::AltitudeNaN));
    // The engine refuses invalid input and names the item.
    let e = Engine::build(
        vec![Site {
            id: 42u64,
            area: Area {
                geometry: Geometry::LineString(vec![ll(35.0, 33.0), ll(35.0, 34.0)]),
                buffer_m: 0.0,
            },
        }],
        vec![],
        vec![],
    );
    let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("site 42") && msg.contains("corridor without width"),
        "{msg}"
    );
}

#[test]
fn feature_area_reads_buffer() {
    let fc = json!({"type": "Feature", "id": "c1", "geometry": {"type": "LineString",
        "coordinates": [[35.0, 33.0], [35.2, 33.0]]}, "properties": {"buffer_m": 0}});
    let f = parse_features(&fc).expect("parse");
    let e = f[0]
        .area("buffer_m")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("c1") && e.contains("corridor without width"),
        "{e}"
    );
}

/// A JSON value a hostile or broken client might put anywhere in a feature.
fn hostile_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(json!(null)),
        Just(json!(true)),
        Just(json!("Point")),
        Just(json!("Polygon")),
        Just(json!("LineString")),
        Just(json!("MultiPolygon")),
        Just(json!("")),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(5e-324)),
        Just(json!(-0.0)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(180.0)),
        Just(json!(-90.0)),
        Just(json!(90.0)),
        (-200.0f64..200.0).prop_map(|x| json!(x)),
        Just(json!([])),
        Just(json!({})),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            (inner.clone(), inner).prop_map(|(a, b)| json!([a, b])),
        ]
    })
}

/// Replaces a value somewhere in `v` with `with`: each of `path`'s choices picks a
/// child to walk into, or (one time in four) stops there.
fn replace_somewhere(v: &mut serde_json::Value, path: &[usize], with: serde_json::Value) {
    let Some((&k, rest)) = path.split_first() else {
        *v = with;
        return;
    };
    let child = match v {
        serde_json::Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            Some(&mut a[k % n])
        }
        serde_json::Value::Object(o) if !o.is_empty() => {
            let n = o.len();
            o.values_mut().nth(k % n)
        }
        _ => None,
    };
    match child {
        Some(c) if k % 4 != 0 => replace_somewhere(c, rest, with),
        _ => *v = with,
    }
}

proptest::proptest! {
    /// Fuzzing the GeoJSON path: features of every geometry with any part replaced by
    /// hostile JSON (wrong types, extreme numbers, nested arrays) are parsed, their
    /// areas validated and, when valid, checked by an engine holding a site, without a
    /// panic; what the parser refuses it refuses with a message.
    #[test]
    fn hostile_geojson_is_refused_or_checked_never_a_panic(
        base in 0usize..4,
        edits in proptest::collection::vec(
            (proptest::collection::vec(0usize..16, 0..7), hostile_value()),
            1..4,
        ),
    ) {
        let bases = [
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.8, 33.1]},
                "properties": {"radius_m": 500}}),
            json!({"type": "Feature", "geometry": {"type": "LineString",
                "coordinates": [[35.8, 33.1], [35.9, 33.2], [36.0, 33.2]]}, "properties": {"radius_m": 300}}),
            ok_square(),
            json!({"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [
                [[[35.0, 33.0], [35.1, 33.0], [35.1, 33.1], [35.0, 33.0]]],
                [[[35.5, 33.5], [35.6, 33.5], [35.6, 33.6], [35.5, 33.5]]]]}, "properties": {"radius_m": 0}}),
        ];
        let mut f = bases[base].clone();
        for (path, with) in edits {
            replace_somewhere(&mut f, &path, with);
        }
        let mut engine = Engine::new();
        engine.insert_site(Site { id: 1u64, area: Area { geometry: Geometry::Point(ll(35.8, 33.1)), buffer_m: 1000.0 } })
            .expect("a valid site");
        for fc in [f.clone(), json!({"type": "FeatureCollection", "features": [f]})] {
            match parse_features(&fc) {
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
                Ok(features) => {
                    for feature in features {
                        let Ok(area) = feature.area("radius_m") else { continue };
                        let act = Activity {
                            id: 2u64,
                            party: "il".into(),
                            kind: "air_patrol".into(),
                            area,
                            alt: AltBand::new(0.0, 1000.0),
                            window: TimeWindow::new(0, 3600),
                        };
                        let _ = engine.check(&act);
                    }
                }
            }
        }
    }
}
