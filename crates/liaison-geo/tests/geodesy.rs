//! Geodesy: great-circle edges, thresholds near 1 m, antimeridian, UTM 36/37.

mod common;

use common::*;
use liaison_geo::{
    Area, Breach, Engine, Geometry, Rule, Severity, Site, Waiver, Zone, ZoneRules, ZoneStatus,
    area_distance, geodesic_distance,
};

fn d(a: &Area, b: &Area) -> f64 {
    area_distance(a, b).unwrap_or(f64::NAN)
}

#[test]
fn point_in_polygon_uses_great_circle_edges() {
    // The edge (0,60)-(40,60) is a great-circle arc that peaks at 61.52°N
    // (tan φ = tan 60° / cos 20°) above lon 20. A planar test would call
    // (20, 61) inside (61 > 60); on the sphere it is ~58 km outside.
    let poly = Area::polygon(rect(0.0, 60.0, 40.0, 70.0));
    let outside = circle(ll(20.0, 61.0), 1.0);
    let inside = circle(ll(20.0, 61.8), 1.0);
    let dist = d(&outside, &poly);
    assert!(dist > 50_000.0 && dist < 60_000.0, "{dist}");
    assert_eq!(d(&inside, &poly), 0.0);
}

#[test]
fn sites_within_1m_of_threshold() {
    // Site circle and activity circle whose centres are D apart (geodesic).
    let c = ll(35.9, 33.1);
    for (dist, radius, buf) in [
        (1000.0, 600.0, 400.0),
        (5000.0, 2000.0, 3000.0),
        (250.0, 50.0, 200.0),
    ] {
        for az in [0.0, 45.0, 90.0, 200.0] {
            let q = direct(c, az, dist);
            assert!((geodesic_distance(c, q) - dist).abs() < 1e-6);
            for (delta, expect) in [(-0.6, false), (0.6, true), (-0.05, false), (0.05, true)] {
                let mut e = Engine::new();
                e.insert_site(Site {
                    id: 1u64,
                    area: circle(c, radius + delta),
                })
                .expect("site");
                let hits = e
                    .check(&act(9, "a", "air", circle(q, buf), (0, 10), (0.0, 1.0)))
                    .expect("check");
                assert_eq!(
                    !hits.sites.is_empty(),
                    expect,
                    "dist {dist} az {az} delta {delta}"
                );
                if let Some(h) = hits.sites.first() {
                    assert!((h.distance_m - dist).abs() < 0.01, "{}", h.distance_m);
                    assert!((h.threshold_m - (radius + delta + buf)).abs() < 1e-9);
                }
            }
        }
    }
}

#[test]
fn polygon_edge_threshold_within_1m() {
    // A zone with its western edge on the meridian 36°E (the UTM 36/37
    // boundary); an activity circle west of it in zone 36.
    let zone = rect(36.0, 32.9, 36.3, 33.3);
    let p = ll(36.0, 33.1);
    let q = direct(p, 270.0, 2_000.0);
    let dist = d(&circle(q, 1.0), &Area::polygon(zone.clone()));
    assert!((dist - 2_000.0).abs() < 0.5, "{dist}");
    let mut e = Engine::new();
    e.insert_zone(Zone {
        id: 1u64,
        geometry: Geometry::Polygon(zone),
        status: ZoneStatus::Agreed,
        rules: ZoneRules::default(),
        waivers: vec![],
    })
    .expect("zone");
    for (buf, expect) in [(dist - 0.3, false), (dist + 0.3, true)] {
        let c = e
            .check(&act(2, "a", "air", circle(q, buf), (0, 10), (0.0, 1.0)))
            .expect("check");
        assert_eq!(!c.zones.is_empty(), expect, "buf {buf}");
    }
}

#[test]
fn utm_36_37_boundary_is_a_non_event() {
    // A corridor crossing 36°E and a site on each side.
    let line = vec![ll(35.95, 33.0), ll(36.05, 33.0)];
    let north = |lon: f64| direct(ll(lon, 33.0), 0.0, 800.0);
    let mut e = Engine::build(
        vec![
            Site {
                id: 1u64,
                area: circle(north(35.999_9), 100.0),
            },
            Site {
                id: 2,
                area: circle(north(36.000_1), 100.0),
            },
            Site {
                id: 3,
                area: circle(north(36.0), 100.0),
            },
            Site {
                id: 4,
                area: circle(north(36.0), 50.0),
            },
        ],
        vec![],
        vec![],
    )
    .expect("build");
    let c = e
        .check(&act(
            9,
            "a",
            "ground",
            Area::corridor(line, 720.0),
            (0, 10),
            (0.0, 0.0),
        ))
        .expect("check");
    let ids: Vec<u64> = c.sites.iter().map(|h| h.id).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    e.remove_site(&2);
    let c = e.check(&act(
        9,
        "a",
        "ground",
        Area::corridor(vec![ll(35.95, 33.0), ll(36.05, 33.0)], 720.0),
        (0, 10),
        (0.0, 0.0),
    ));
    assert_eq!(c.expect("check").sites.len(), 2);
}

#[test]
fn antimeridian_polygon() {
    let poly = Area::polygon(rect(179.5, -17.0, -179.5, -16.0));
    assert_eq!(d(&circle(ll(180.0, -16.5), 1.0), &poly), 0.0);
    assert_eq!(d(&circle(ll(-180.0, -16.5), 1.0), &poly), 0.0);
    assert_eq!(d(&circle(ll(-179.6, -16.5), 1.0), &poly), 0.0);
    let out = d(&circle(ll(179.0, -16.5), 1.0), &poly);
    assert!(out > 50_000.0 && out < 56_000.0, "{out}");

    let mut e = Engine::new();
    e.insert_zone(Zone {
        id: 7u64,
        geometry: poly.geometry.clone(),
        status: ZoneStatus::Disputed,
        rules: ZoneRules {
            prohibited_kinds: vec!["air".into()],
            ..Default::default()
        },
        waivers: vec![],
    })
    .expect("zone");
    // East of the antimeridian, 0.1° (~10.7 km) from the zone's eastern edge.
    let c = e
        .check(&act(
            1,
            "a",
            "air",
            circle(ll(-179.4, -16.5), 12_000.0),
            (0, 10),
            (0.0, 1.0),
        ))
        .expect("check");
    assert_eq!(c.zones.len(), 1);
    assert_eq!(c.zones[0].severity, Some(Severity::Warning));
    let c = e
        .check(&act(
            1,
            "a",
            "air",
            circle(ll(-179.4, -16.5), 10_000.0),
            (0, 10),
            (0.0, 1.0),
        ))
        .expect("check");
    assert!(c.zones.is_empty());
    // A corridor crossing the antimeridian north of the zone.
    let line = vec![ll(179.0, -15.9), ll(-179.0, -15.9)];
    let c = e
        .check(&act(
            1,
            "a",
            "air",
            Area::corridor(line, 12_000.0),
            (0, 10),
            (0.0, 1.0),
        ))
        .expect("check");
    assert_eq!(c.zones.len(), 1);
}

#[test]
fn zone_rules_waivers_and_severity() {
    let zone = |status| Zone {
        id: 1u64,
        geometry: Geometry::Polygon(rect(35.7, 32.7, 36.0, 33.4)),
        status,
        rules: ZoneRules {
            prohibited_kinds: vec!["armour".into()],
            altitude: Some(liaison_geo::AltBand::new(0.0, 3000.0)),
            force_limits: vec!["≤6,000 men".into()],
        },
        waivers: vec![
            Waiver {
                rules: vec![Rule::ProhibitedKind],
                kinds: vec!["armour".into()],
                window: liaison_geo::TimeWindow::new(100, 200),
            },
            Waiver {
                rules: vec![Rule::ProhibitedKind],
                kinds: vec!["armour".into()],
                window: liaison_geo::TimeWindow::new(200, 300),
            },
        ],
    };
    let a = |kind: &str, w: (i64, i64), alt: (f64, f64)| {
        act(5, "sy", kind, circle(ll(35.8, 33.0), 500.0), w, alt)
    };
    let e = Engine::build(vec![], vec![zone(ZoneStatus::Agreed)], vec![]).expect("build");
    // Armour outside the waivers: violation.
    let c = e.check(&a("armour", (0, 50), (0.0, 0.0))).expect("check");
    assert_eq!(
        c.zones[0].breaches,
        vec![Breach::ProhibitedKind {
            kind: "armour".into()
        }]
    );
    assert_eq!(c.zones[0].severity, Some(Severity::Violation));
    assert_eq!(c.zones[0].force_limits, vec!["≤6,000 men".to_string()]);
    // Covered by the union of two waivers: nothing broken, still touching.
    let c = e
        .check(&a("armour", (150, 250), (0.0, 0.0)))
        .expect("check");
    assert!(c.zones[0].breaches.is_empty() && c.zones[0].severity.is_none());
    // Partly outside: broken.
    let c = e
        .check(&a("armour", (250, 350), (0.0, 0.0)))
        .expect("check");
    assert_eq!(c.zones[0].breaches.len(), 1);
    // Altitude above the limit, not waived.
    let c = e
        .check(&a("air", (150, 160), (2000.0, 3500.0)))
        .expect("check");
    assert!(matches!(c.zones[0].breaches[..], [Breach::Altitude { .. }]));
    let e = Engine::build(vec![], vec![zone(ZoneStatus::Proposed)], vec![]).expect("build");
    let c = e.check(&a("armour", (0, 50), (0.0, 0.0))).expect("check");
    assert_eq!(c.zones[0].severity, Some(Severity::Warning));
}

#[test]
fn actives_time_half_open_altitude_closed() {
    let area = || circle(ll(36.2, 32.7), 1000.0);
    let e = Engine::build(
        vec![],
        vec![],
        vec![
            act(1, "il", "air", area(), (0, 100), (0.0, 1000.0)),
            act(2, "il", "air", area(), (100, 200), (0.0, 1000.0)),
            act(3, "il", "air", area(), (50, 150), (1000.0, 2000.0)),
            act(4, "il", "air", area(), (50, 150), (1000.1, 2000.0)),
            act(5, "sy", "air", area(), (50, 150), (0.0, 1000.0)),
        ],
    )
    .expect("build");
    let c = e
        .check(&act(
            9,
            "sy",
            "air",
            circle(ll(36.2, 32.71), 500.0),
            (60, 100),
            (500.0, 1000.0),
        ))
        .expect("check");
    let ids: Vec<u64> = c.actives.iter().map(|h| h.id).collect();
    assert_eq!(ids, vec![1, 3]);
    assert_eq!(c.actives[0].window, liaison_geo::TimeWindow::new(60, 100));
    assert_eq!(c.actives[1].alt, liaison_geo::AltBand::new(1000.0, 1000.0));
}

#[test]
fn concurrent_readers() {
    let mut rng = rand::thread_rng();
    let sites: Vec<Site<u64>> = (0..2000)
        .map(|i| {
            use rand::Rng;
            Site {
                id: i,
                area: circle(
                    ll(rng.gen_range(35.0..37.0), rng.gen_range(32.0..34.0)),
                    500.0,
                ),
            }
        })
        .collect();
    let e = Engine::build(sites, vec![], vec![]).expect("build");
    let q = act(
        1,
        "a",
        "air",
        circle(ll(36.0, 33.0), 20_000.0),
        (0, 1),
        (0.0, 0.0),
    );
    let want = e.check(&q).expect("check");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_eq!(e.check(&q).expect("check"), want));
        }
    });
}

#[test]
fn later_duplicate_wins_and_insert_replaces() {
    let near = circle(ll(36.0, 33.0), 100.0);
    let far = circle(ll(40.0, 30.0), 100.0);
    let q = act(
        9,
        "a",
        "air",
        circle(ll(36.0, 33.0), 10.0),
        (0, 10),
        (0.0, 1.0),
    );
    let e = Engine::build(
        vec![
            Site {
                id: 1u64,
                area: near.clone(),
            },
            Site {
                id: 1,
                area: far.clone(),
            },
        ],
        vec![],
        vec![],
    )
    .expect("build");
    assert!(e.check(&q).expect("check").sites.is_empty());
    assert_eq!(e.len(), (1, 0, 0));
    let e = Engine::build(
        vec![
            Site {
                id: 1u64,
                area: far.clone(),
            },
            Site {
                id: 1,
                area: near.clone(),
            },
        ],
        vec![],
        vec![],
    )
    .expect("build");
    assert_eq!(e.check(&q).expect("check").sites.len(), 1);
    let mut e = e;
    let old = e.insert_site(Site { id: 1, area: far }).expect("insert");
    assert_eq!(old.map(|s| s.area), Some(near));
    assert!(e.check(&q).expect("check").sites.is_empty());
    assert!(e.remove_site(&1).is_some());
    assert!(e.remove_site(&1).is_none());
    assert!(e.is_empty());
}

#[test]
fn item_split_at_the_antimeridian_is_reported_once() {
    // A site whose circle crosses the antimeridian is indexed as two boxes; a
    // polygon around the north pole is searched with one full-longitude box
    // that meets both. The site must still be one conflict, not two.
    let ring: Vec<_> = (0..=12)
        .map(|i| ll(-180.0 + 30.0 * (i % 12) as f64, 59.0))
        .collect();
    let cap = Area::polygon(liaison_geo::Polygon::new(ring));
    for build in [false, true] {
        let site = Site {
            id: 7u64,
            area: circle(ll(179.99, 62.0), 2_000.0),
        };
        let e = if build {
            Engine::build([site], [], []).expect("build")
        } else {
            let mut e = Engine::new();
            e.insert_site(site).expect("site");
            e
        };
        let hits = e
            .check(&act(9, "a", "air", cap.clone(), (0, 10), (0.0, 1.0)))
            .expect("check");
        let ids: Vec<u64> = hits.sites.iter().map(|h| h.id).collect();
        assert_eq!(ids, vec![7], "built in bulk: {build}");
        assert_eq!(hits.sites[0].distance_m, 0.0);
    }
}
