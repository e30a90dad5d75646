//! Properties: order independence, buffer monotonicity, agreement with a
//! brute-force geodesic reference.

mod common;

use std::collections::BTreeSet;

use common::*;
use liaison_geo::{
    Activity, Area, Conflicts, Engine, Geometry, LonLat, Site, Zone, ZoneRules, ZoneStatus,
    area_distance,
};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Work {
    sites: Vec<Site<u64>>,
    zones: Vec<Zone<u64>>,
    actives: Vec<Activity<u64>>,
    queries: Vec<Activity<u64>>,
}

fn random_area(rng: &mut ChaCha8Rng, c: LonLat) -> Area {
    let p = direct(c, rng.gen_range(0.0..360.0), rng.gen_range(0.0..25_000.0));
    match rng.gen_range(0..3) {
        0 => {
            let n = rng.gen_range(4..12);
            let r = rng.gen_range(500.0..8_000.0);
            Area::polygon(star(rng, p, n, r))
        }
        1 => circle(p, rng.gen_range(100.0..5_000.0)),
        _ => {
            let mut line = vec![p];
            for _ in 0..rng.gen_range(1..4) {
                let last = line[line.len() - 1];
                line.push(direct(
                    last,
                    rng.gen_range(0.0..360.0),
                    rng.gen_range(1_000.0..10_000.0),
                ));
            }
            Area::corridor(line, rng.gen_range(50.0..2_000.0))
        }
    }
}

fn random_activity(rng: &mut ChaCha8Rng, id: u64, c: LonLat) -> Activity<u64> {
    let t0 = rng.gen_range(0..100);
    let a0 = rng.gen_range(0.0..1000.0_f64).round();
    act(
        id,
        ["1", "2", "3"][rng.gen_range(0..3)],
        "air",
        random_area(rng, c),
        (t0, t0 + rng.gen_range(1..50)),
        (a0, a0 + rng.gen_range(0.0..800.0_f64).round()),
    )
}

/// A small workload around a centre chosen to include the UTM 36/37 boundary,
/// the antimeridian and high latitudes.
fn workload(seed: u64) -> Work {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let c = match rng.gen_range(0..4) {
        0 => ll(36.0, 33.0),
        1 => ll(180.0, -16.5),
        2 => ll(20.0, 65.0),
        _ => ll(rng.gen_range(34.0..43.0), rng.gen_range(29.0..38.0)),
    };
    let sites = (0..40)
        .map(|i| {
            let p = direct(c, rng.gen_range(0.0..360.0), rng.gen_range(0.0..30_000.0));
            let area = if rng.gen_bool(0.8) {
                circle(p, rng.gen_range(50.0..2_000.0))
            } else {
                let r = rng.gen_range(200.0..2_000.0);
                Area::polygon(star(&mut rng, p, 6, r))
            };
            Site { id: i, area }
        })
        .collect();
    let zones = (0..8)
        .map(|i| {
            let p = direct(c, rng.gen_range(0.0..360.0), rng.gen_range(0.0..25_000.0));
            let n = rng.gen_range(8..30);
            let r = rng.gen_range(2_000.0..10_000.0);
            Zone {
                id: i,
                geometry: Geometry::Polygon(star(&mut rng, p, n, r)),
                status: ZoneStatus::Agreed,
                rules: ZoneRules::default(),
                waivers: vec![],
            }
        })
        .collect();
    let actives = (0..30).map(|i| random_activity(&mut rng, i, c)).collect();
    let queries = (0..6)
        .map(|i| random_activity(&mut rng, 1000 + i, c))
        .collect();
    Work {
        sites,
        zones,
        actives,
        queries,
    }
}

fn ids(c: &Conflicts<u64>) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    (
        c.sites.iter().map(|h| h.id).collect(),
        c.zones.iter().map(|h| h.id).collect(),
        c.actives.iter().map(|h| h.id).collect(),
    )
}

fn dist(a: &Area, b: &Area) -> f64 {
    area_distance(a, b).unwrap_or(f64::NAN)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn conflicts_survive_reordering(seed in any::<u64>(), shuffle in any::<u64>()) {
        let w = workload(seed);
        let e1 = Engine::build(w.sites.clone(), w.zones.clone(), w.actives.clone()).expect("build");
        let mut rng = ChaCha8Rng::seed_from_u64(shuffle);
        let (mut s, mut z, mut a) = (w.sites.clone(), w.zones.clone(), w.actives.clone());
        s.shuffle(&mut rng);
        z.shuffle(&mut rng);
        a.shuffle(&mut rng);
        // Also build the second engine incrementally, with removals.
        let mut e2 = Engine::new();
        for x in s { e2.insert_site(x).expect("site"); }
        for x in z { e2.insert_zone(x).expect("zone"); }
        for x in &a { e2.insert_active(x.clone()).expect("active"); }
        e2.remove_active(&a[0].id);
        e2.insert_active(a[0].clone()).expect("active");
        for q in &w.queries {
            prop_assert_eq!(e1.check(q).expect("check"), e2.check(q).expect("check"));
        }
    }

    #[test]
    fn larger_buffer_never_loses_a_conflict(seed in any::<u64>(), extra in 0.0f64..5_000.0) {
        let w = workload(seed);
        let e = Engine::build(w.sites, w.zones, w.actives).expect("build");
        for q in &w.queries {
            let mut q2 = q.clone();
            if matches!(q2.area.geometry, Geometry::Polygon(_)) && extra == 0.0 { continue; }
            q2.area.buffer_m += extra;
            let (s1, z1, a1) = ids(&e.check(q).expect("check"));
            let (s2, z2, a2) = ids(&e.check(&q2).expect("check"));
            let sub = |x: &Vec<u64>, y: &Vec<u64>| x.iter().all(|i| y.contains(i));
            prop_assert!(sub(&s1, &s2) && sub(&z1, &z2) && sub(&a1, &a2));
        }
    }

    #[test]
    fn engine_equals_brute_force(seed in any::<u64>()) {
        let w = workload(seed);
        let e = Engine::build(w.sites.clone(), w.zones.clone(), w.actives.clone()).expect("build");
        for q in &w.queries {
            let (s, z, a) = ids(&e.check(q).expect("check"));
            let (s, z, a): (BTreeSet<u64>, BTreeSet<u64>, BTreeSet<u64>) =
                (s.into_iter().collect(), z.into_iter().collect(), a.into_iter().collect());
            // Where the reference is more than 1 m from the threshold, membership must agree.
            let check = |got: bool, d: f64, thr: f64| (d - thr).abs() <= 1.0 || got == (d <= thr);
            for x in &w.sites {
                let thr = x.area.buffer_m + q.area.buffer_m;
                let d = match (&x.area.geometry, &q.area.geometry) {
                    // Independent reference for two circles: geographiclib directly.
                    (Geometry::Point(p1), Geometry::Point(p2)) => liaison_geo::geodesic_distance(*p1, *p2),
                    _ => dist(&x.area, &q.area),
                };
                prop_assert!(check(s.contains(&x.id), d, thr), "site {} d {} thr {}", x.id, d, thr);
            }
            for x in &w.zones {
                let d = dist(&Area { geometry: x.geometry.clone(), buffer_m: 0.0 }, &q.area);
                prop_assert!(check(z.contains(&x.id), d, q.area.buffer_m), "zone {} d {}", x.id, d);
            }
            for x in &w.actives {
                let overlap = x.party != q.party && x.window.overlap(&q.window).is_some() && x.alt.overlap(&q.alt).is_some();
                let thr = x.area.buffer_m + q.area.buffer_m;
                if !overlap {
                    prop_assert!(!a.contains(&x.id));
                    continue;
                }
                let d = dist(&x.area, &q.area);
                prop_assert!(check(a.contains(&x.id), d, thr), "active {} d {} thr {}", x.id, d, thr);
            }
        }
    }
}

#[test]
fn generated_workload_matches_itself() {
    // The generator is deterministic and the benchmark runs end to end.
    let dir = tempfile::tempdir().expect("tempdir");
    let sizes = liaison_geo::workload::Sizes {
        sites: 2_000,
        zones: 20,
        actives: 300,
        queries: 30,
    };
    liaison_geo::workload::generate(dir.path(), 7, &sizes).expect("gen");
    let first = std::fs::read(dir.path().join("queries.ndjson")).expect("read");
    let dir2 = tempfile::tempdir().expect("tempdir");
    liaison_geo::workload::generate(dir2.path(), 7, &sizes).expect("gen");
    assert_eq!(
        first,
        std::fs::read(dir2.path().join("queries.ndjson")).expect("read")
    );
    let out = dir.path().join("out.jsonl");
    let f = liaison_geo::bench::run(dir.path(), &out).expect("bench");
    assert_eq!(f.queries, 30);
    assert_eq!(f.sites, 2_000);
    let text = std::fs::read_to_string(&out).expect("out");
    assert_eq!(text.lines().count(), 30);
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap_or("{}")).expect("json");
    assert_eq!(first["id"], 0);
    assert!(first["sites"].is_array() && first["zones"].is_array() && first["actives"].is_array());
}

#[test]
fn random_workloads_have_conflicts_of_every_kind() {
    let (mut s, mut z, mut a) = (0, 0, 0);
    for seed in 0..20 {
        let w = workload(seed);
        let e = Engine::build(w.sites, w.zones, w.actives).expect("build");
        for q in &w.queries {
            let c = e.check(q).expect("check");
            s += c.sites.len();
            z += c.zones.len();
            a += c.actives.len();
        }
    }
    assert!(s > 20 && z > 5 && a > 5, "{s} {z} {a}");
}

/// Large inputs are validated and prepared on every core: the engine must be the one
/// that inserting the same items one by one gives, and a bad item is reported as the
/// first bad one in input order.
#[test]
fn a_large_build_on_every_core_equals_one_by_one_inserts() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let c = ll(36.0, 33.0);
    let sites: Vec<Site<u64>> = (0..25_000)
        .map(|i| {
            let p = direct(c, rng.gen_range(0.0..360.0), rng.gen_range(0.0..60_000.0));
            Site {
                id: i,
                area: circle(p, rng.gen_range(50.0..2_000.0)),
            }
        })
        .collect();
    let queries: Vec<_> = (0..40)
        .map(|i| random_activity(&mut rng, 100_000 + i, c))
        .collect();
    let built = Engine::build(sites.clone(), vec![], vec![]).expect("build");
    let mut inserted = Engine::new();
    for s in &sites {
        inserted.insert_site(s.clone()).expect("site");
    }
    let mut hits = 0;
    for q in &queries {
        let (a, b) = (
            built.check(q).expect("check"),
            inserted.check(q).expect("check"),
        );
        hits += a.sites.len();
        assert_eq!(a, b);
    }
    assert!(
        hits > 0,
        "the queries touch nothing: the comparison proves nothing"
    );
    let mut bad = sites;
    for i in [20_000usize, 3_000] {
        bad[i].area = circle(ll(f64::NAN, 33.0), 100.0);
    }
    let e = Engine::build(bad, vec![], vec![])
        .err()
        .expect("invalid site refused");
    assert_eq!(e.id, 3_000, "the earliest invalid item is the one reported");
}

/// A built engine keeps its first items in a packed tree and later ones in an R-tree:
/// after removals, replacements (also across the antimeridian) and new inserts it must
/// answer as an engine built one insert at a time does.
#[test]
fn a_built_engine_changed_afterwards_equals_one_by_one_inserts() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let centres = [ll(36.0, 33.0), ll(179.95, -16.5)];
    let site = |rng: &mut ChaCha8Rng, id: u64| {
        let c = centres[(id % 2) as usize];
        let p = direct(c, rng.gen_range(0.0..360.0), rng.gen_range(0.0..40_000.0));
        Site {
            id,
            area: circle(p, rng.gen_range(50.0..3_000.0)),
        }
    };
    let sites: Vec<Site<u64>> = (0..20_000).map(|i| site(&mut rng, i)).collect();
    let actives: Vec<Activity<u64>> = (0..300)
        .map(|i| random_activity(&mut rng, 1_000_000 + i, centres[(i % 2) as usize]))
        .collect();
    let mut built = Engine::build(sites.clone(), vec![], actives.clone()).expect("build");
    let mut inserted = Engine::new();
    for s in &sites {
        inserted.insert_site(s.clone()).expect("site");
    }
    for a in &actives {
        inserted.insert_active(a.clone()).expect("active");
    }
    for step in 0..3_000u64 {
        match rng.gen_range(0..4) {
            0 => {
                let id = rng.gen_range(0..25_000);
                assert_eq!(built.remove_site(&id), inserted.remove_site(&id));
            }
            1 | 2 => {
                // A replacement of a packed site, or a new one.
                let id = rng.gen_range(0..25_000);
                let s = site(&mut rng, id);
                assert_eq!(
                    built.insert_site(s.clone()).expect("site"),
                    inserted.insert_site(s).expect("site")
                );
            }
            _ => {
                let id = 1_000_000 + rng.gen_range(0..400);
                if rng.gen_bool(0.5) {
                    assert_eq!(built.remove_active(&id), inserted.remove_active(&id));
                } else {
                    let a = random_activity(&mut rng, id, centres[(step % 2) as usize]);
                    assert_eq!(
                        built.insert_active(a.clone()).expect("active"),
                        inserted.insert_active(a).expect("active")
                    );
                }
            }
        }
    }
    assert_eq!(built.len(), inserted.len());
    let mut hits = 0;
    for i in 0..200 {
        let q = random_activity(&mut rng, 5_000_000 + i, centres[(i % 2) as usize]);
        let (a, b) = (
            built.check(&q).expect("check"),
            inserted.check(&q).expect("check"),
        );
        hits += a.sites.len() + a.actives.len();
        assert_eq!(a, b);
    }
    assert!(hits > 100, "the queries touch too little: {hits}");
}

/// Inserts and removals past the repacking thresholds (more than 1,024 items outside
/// the packed tree, or removed from it, and more than an eighth of it): after each
/// wave, the engine answers exactly as an engine freshly built from the items alive.
#[test]
fn repacking_keeps_every_answer() {
    repack_waves(false);
}

/// The same with repacks left to the caller (as the server does, to plan them beside
/// its checks): the engine answers right before a repack (its new items in the
/// R-tree) and after it; a plan made before a change is refused and leaves the
/// engine as it was; once repacked, nothing is due.
#[test]
fn deferred_repacks_keep_every_answer() {
    repack_waves(true);
}

fn repack_waves(deferred: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let centres = [ll(36.0, 33.0), ll(179.95, -16.5)];
    let site = |rng: &mut ChaCha8Rng, id: u64| {
        let c = centres[(id % 2) as usize];
        let p = direct(c, rng.gen_range(0.0..360.0), rng.gen_range(0.0..30_000.0));
        Site {
            id,
            area: circle(p, rng.gen_range(50.0..3_000.0)),
        }
    };
    // Each site is labelled with the number of its insert: a hit's label must be
    // its site's latest, wherever inserts, removals and repacks have moved it.
    let mut engine: Engine<u64, u64> = Engine::labelled();
    if deferred {
        engine.defer_repacks();
    }
    let mut alive = std::collections::BTreeMap::new();
    let mut labels = std::collections::BTreeMap::new();
    let mut inserts = 0u64;
    let mut hits = 0;
    let mut compare = |engine: &Engine<u64, u64>,
                       alive: &std::collections::BTreeMap<u64, Site<u64>>,
                       labels: &std::collections::BTreeMap<u64, u64>,
                       rng: &mut ChaCha8Rng,
                       at: &str| {
        let fresh = Engine::build(alive.values().cloned(), vec![], vec![]).expect("build");
        for i in 0..60 {
            let q = random_activity(rng, 9_000_000 + i, centres[(i % 2) as usize]);
            let ((a, named), b) = (
                engine.check_labelled(&q).expect("check"),
                fresh.check(&q).expect("check"),
            );
            assert_eq!(engine.check(&q).expect("check"), a, "{at}, query {i}");
            let want: Vec<Option<&u64>> = a.sites.iter().map(|h| labels.get(&h.id)).collect();
            assert_eq!(named, want, "{at}, query {i}: labels");
            hits += a.sites.len();
            assert_eq!(a, b, "{at}, query {i}");
        }
    };
    for wave in 0..6u64 {
        // Inserts (some replacing), then removals of about a third.
        for _ in 0..2_500 {
            let id = rng.gen_range(0..8_000);
            let s = site(&mut rng, id);
            inserts += 1;
            labels.insert(id, inserts);
            assert_eq!(
                engine
                    .insert_labelled_site(s.clone(), inserts)
                    .expect("site"),
                alive.insert(s.id, s)
            );
        }
        for _ in 0..1_200 {
            let id = rng.gen_range(0..8_000);
            labels.remove(&id);
            assert_eq!(engine.remove_site(&id), alive.remove(&id));
            assert_eq!(engine.site_label(&id), None);
        }
        assert_eq!(engine.len().0, alive.len());
        compare(&engine, &alive, &labels, &mut rng, &format!("wave {wave}"));
        if !deferred {
            assert!(engine.plan_repack().is_none(), "repacked in line");
            continue;
        }
        let mut stale = engine.plan_repack().expect("a wave makes a repack due");
        let s = site(&mut rng, 8_000 + wave);
        inserts += 1;
        labels.insert(s.id, inserts);
        assert_eq!(
            engine
                .insert_labelled_site(s.clone(), inserts)
                .expect("site"),
            None
        );
        alive.insert(s.id, s);
        assert!(!engine.repack(&mut stale), "a plan made before a change");
        compare(
            &engine,
            &alive,
            &labels,
            &mut rng,
            &format!("wave {wave}, stale plan"),
        );
        let mut plan = engine.plan_repack().expect("still due");
        assert_eq!(plan.len(), alive.len());
        assert!(engine.repack(&mut plan));
        assert!(!engine.repack(&mut plan), "a plan is put in place once");
        drop(plan);
        assert!(
            engine.plan_repack().is_none(),
            "nothing is due after a repack"
        );
        compare(
            &engine,
            &alive,
            &labels,
            &mut rng,
            &format!("wave {wave}, repacked"),
        );
    }
    assert!(hits > 500, "the queries touch too little: {hits}");
}
