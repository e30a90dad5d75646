//! Deconfliction through real HTTP: sites, zones with stances, notifications checked when
//! filed, the dry-run check, conflicts, answers, and bad GeoJSON refused with the feature
//! and the problem named.

mod common;

use common::{Cell, Http, in_hours};
use serde_json::{Value, json};

fn circle(lon: f64, lat: f64, props: Value) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props})
}

#[test]
fn notifications_are_checked_against_sites_zones_and_other_activity() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
    );
    cell.approve(&http);

    // A Druze town as a protected site, named in three languages.
    let site = circle(
        35.7680,
        33.2700,
        json!({"category": "minority_community", "radius_m": 2000,
        "names": {"en": "Majdal Shams", "ar": "مجدل شمس", "he": "מג'דל שמס"}}),
    );
    let r = http.post("/api/v1/sites", Some(&il), site);
    assert_eq!(r.status, 200, "{}", r.body);
    let site_id = r.json()["ids"][0].as_u64().expect("id");
    let sites = http.get("/api/v1/sites", Some(&sy)).json();
    let p = &sites["features"][0]["properties"];
    assert_eq!(p["names"]["ar"], "مجدل شمس");
    assert!(
        p["mgrs"].as_str().is_some_and(|m| m.starts_with("36S")),
        "MGRS read-back: {p}"
    );

    // A no-fly zone Syria proposes and Israel disputes.
    let zone = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[35.70, 33.20], [35.90, 33.20], [35.90, 33.35], [35.70, 33.35], [35.70, 33.20]]]},
        "properties": {"name": "Hermon no-fly", "zone_kind": "no_fly_zone", "prohibited_kinds": ["uav_flight", "air_strike"]}});
    let r = http.post("/api/v1/zones", Some(&sy), zone);
    assert_eq!(r.status, 200, "{}", r.body);
    let zone_id = r.json()["seqs"][0].as_u64().expect("id");
    assert_eq!(
        http.post(
            &format!("/api/v1/zones/{zone_id}/stance"),
            Some(&il),
            json!({"stance": "disputed"})
        )
        .status,
        200
    );
    let zones = http.get("/api/v1/zones", Some(&us)).json();
    assert_eq!(zones["features"][0]["properties"]["status"], "disputed");

    // Israel notifies a UAV flight 1 km from the town, with too little notice.
    let uav = circle(
        35.7790,
        33.2700,
        json!({"kind": "uav_flight", "radius_m": 500, "alt_min_m": 500, "alt_max_m": 2000,
        "start": in_hours(0), "end": in_hours(2), "forces": "one Hermes 450", "precedence": "immediate"}),
    );
    let before = http.get("/api/v1/notifications", Some(&us)).json()["features"]
        .as_array()
        .map(|a| a.len());
    let dry = http
        .post("/api/v1/deconfliction/check", Some(&il), uav.clone())
        .json();
    assert_eq!(
        http.get("/api/v1/notifications", Some(&us)).json()["features"]
            .as_array()
            .map(|a| a.len()),
        before,
        "a check files nothing"
    );
    let r = http.post("/api/v1/notifications", Some(&il), uav);
    assert_eq!(r.status, 200, "{}", r.body);
    let filed = r.json();
    assert_eq!(
        filed["conflicts"], dry,
        "the check answers what filing answers"
    );
    assert_eq!(filed["late"], true);
    assert!(filed["receipt"]["checkpoint"].is_string());
    let sites_hit = filed["conflicts"]["sites"].as_array().expect("sites");
    assert_eq!(sites_hit.len(), 1);
    assert_eq!(sites_hit[0]["id"].as_u64(), Some(site_id));
    let zones_hit = filed["conflicts"]["zones"].as_array().expect("zones");
    assert_eq!(
        zones_hit[0]["severity"], "warning",
        "a disputed zone's rule broken is a warning"
    );
    let il_id = filed["id"].as_u64().expect("id");
    // Syria, which must answer the notification, is told of each of its conflicts, a
    // site it did not register included; the observer, to whom it is not addressed,
    // is not.
    let of_il = |token: &str| {
        let listed = http.get("/api/v1/conflicts", Some(token)).json();
        listed
            .as_array()
            .expect("conflicts")
            .iter()
            .filter(|x| x["notification"].as_u64() == Some(il_id))
            .count()
    };
    assert_eq!(of_il(&sy), sites_hit.len() + zones_hit.len());
    assert_eq!(of_il(&us), sites_hit.len() + zones_hit.len());
    assert_eq!(of_il(&cell.token("undof-observer")), 0);
    // A page at a time, each after the last one's `seq`, they are the same list.
    let whole = http.get("/api/v1/conflicts", Some(&us)).json();
    let mut paged: Vec<Value> = Vec::new();
    // (Bounded, so that a server which ignored `after` fails rather than hangs.)
    for _ in 0..100 {
        let path = match paged.last() {
            Some(x) => format!("/api/v1/conflicts?limit=1&after={}", x["seq"]),
            None => "/api/v1/conflicts?limit=1".to_string(),
        };
        let page = http.get(&path, Some(&us)).json();
        let page = page.as_array().expect("a page");
        assert!(page.len() <= 1);
        if page.is_empty() {
            break;
        }
        paged.extend(page.iter().cloned());
    }
    assert_eq!(Value::Array(paged), whole);
    assert_eq!(
        whole.as_array().map(Vec::len),
        Some(sites_hit.len() + zones_hit.len())
    );
    for bad in ["limit=0", "limit=5001", "after=-1"] {
        let r = http.get(&format!("/api/v1/conflicts?{bad}"), Some(&us));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let listed: Value = serde_json::from_str(&common::cli(
        &server,
        &us,
        &["deconflict", "conflicts", "--json"],
    ))
    .expect("JSON");
    assert_eq!(listed, whole);

    // Syria notifies a ground movement across the same place and time: activity overlap.
    let convoy = json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[35.74, 33.26], [35.80, 33.28]]},
        "properties": {"kind": "ground_movement", "half_width_m": 300, "alt_min_m": 0, "alt_max_m": 600, "start": in_hours(1), "end": in_hours(5), "forces": "internal security convoy"}});
    let dry = http
        .post("/api/v1/deconfliction/check", Some(&sy), convoy.clone())
        .json();
    let r = http.post("/api/v1/notifications", Some(&sy), convoy);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["conflicts"],
        dry,
        "the check answers what filing answers: a site, a zone touched, an activity"
    );
    assert!(
        ["sites", "zones", "activities"]
            .iter()
            .all(|k| dry[k].as_array().is_some_and(|a| !a.is_empty())),
        "{dry}"
    );
    let acts = r.json()["conflicts"]["activities"]
        .as_array()
        .cloned()
        .expect("activities");
    assert_eq!(acts.len(), 1, "{acts:?}");
    assert_eq!(acts[0]["id"].as_u64(), Some(il_id));
    let conflicts = http.get("/api/v1/conflicts", Some(&il)).json();
    assert!(
        conflicts
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x["filed_by"] == "sy")),
        "Israel is told of the overlap: {conflicts}"
    );

    // The other side answers; the filer cannot answer itself.
    assert_eq!(
        http.post(
            &format!("/api/v1/notifications/{il_id}/answer"),
            Some(&il),
            json!({"answer": "acknowledge"})
        )
        .status,
        403
    );
    assert_eq!(
        http.post(
            &format!("/api/v1/notifications/{il_id}/answer"),
            Some(&sy),
            json!({"answer": "object", "text": "inside our airspace"})
        )
        .status,
        200
    );

    // The observer's own post is concerned by a notification, and the observer is told
    // of that conflict, and of no other, from the start or after any earlier one.
    let undof = cell.token("undof-observer");
    let post = circle(
        35.95,
        32.95,
        json!({"category": "un_post", "radius_m": 300, "names": {"en": "Observation Post 73"}}),
    );
    let r = http.post("/api/v1/sites", Some(&undof), post);
    assert_eq!(r.status, 200, "{}", r.body);
    let post_id = r.json()["ids"][0].as_u64().expect("id");
    let patrol = circle(
        35.951,
        32.95,
        json!({"kind": "ground_movement", "radius_m": 200, "alt_min_m": 0, "alt_max_m": 10,
        "start": in_hours(30), "end": in_hours(31), "forces": "two vehicles"}),
    );
    let r = http.post("/api/v1/notifications", Some(&sy), patrol);
    assert_eq!(r.status, 200, "{}", r.body);
    let patrol_id = r.json()["id"].as_u64();
    let seen = http.get("/api/v1/conflicts", Some(&undof)).json();
    let seen = seen.as_array().expect("conflicts");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["notification"].as_u64(), patrol_id);
    assert_eq!(seen[0]["id"].as_u64(), Some(post_id));
    let earlier = whole[0]["seq"].as_u64().expect("seq");
    let after = http
        .get(&format!("/api/v1/conflicts?after={earlier}"), Some(&undof))
        .json();
    assert_eq!(after, Value::Array(seen.clone()));
    let later = seen[0]["seq"].as_u64().expect("seq");
    let none = http
        .get(&format!("/api/v1/conflicts?after={later}"), Some(&undof))
        .json();
    assert_eq!(none, json!([]));
    // The members and the supervisor see it too.
    for token in [&il, &sy, &us] {
        let all = http.get("/api/v1/conflicts", Some(token)).json();
        assert!(
            all.as_array()
                .is_some_and(|a| a.iter().any(|x| x["seq"] == seen[0]["seq"])),
            "{all}"
        );
    }

    let export = http.get("/api/v1/deconfliction/export", Some(&us)).json();
    assert!(export["features"].as_array().is_some_and(|f| f.len() >= 4));
}

#[test]
fn bad_geojson_names_the_feature_and_stores_nothing() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let il = cell.token("il-liaison");
    cell.approve(&http);
    let head = || http.head(&il);
    let before = head();
    let bulk = json!({"type": "FeatureCollection", "features": [
        circle(35.5, 33.0, json!({"category": "medical", "radius_m": 300, "name": "Hospital A"})),
        circle(35.6, 33.1, json!({"category": "medical", "radius_m": 300, "name": "Hospital B"})),
        {"type": "Feature", "id": "bad-ring", "geometry": {"type": "Polygon", "coordinates": [[[35.0, 33.0], [35.1, 33.0], [35.1, 33.1]]]}, "properties": {"category": "school", "name": "x"}},
    ]});
    let r = http.post("/api/v1/sites", Some(&il), bulk);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("bad-ring"), "{}", r.body);
    assert_eq!(
        head(),
        before,
        "a bulk import with one bad feature stores nothing"
    );
    let cases = [
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [200.0, 33.0]}, "properties": {"kind": "uav_flight", "radius_m": 10, "start": in_hours(10), "end": in_hours(11)}}),
        json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[35.0, 33.0], [35.1, 33.1]]}, "properties": {"kind": "ground_movement", "start": in_hours(10), "end": in_hours(11)}}),
        circle(
            35.0,
            33.0,
            json!({"kind": "uav_flight", "radius_m": 10, "start": in_hours(11), "end": in_hours(10)}),
        ),
        circle(
            35.0,
            33.0,
            json!({"kind": "uav_flight", "radius_m": 10, "start": in_hours(10), "end": in_hours(11), "alt_min_m": 900, "alt_max_m": 100}),
        ),
        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {"kind": "exercise", "start": in_hours(10), "end": in_hours(11)}}),
        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[35.0, 33.0], [35.1, 33.1], [35.1, 33.0], [35.0, 33.1], [35.0, 33.0]]]}, "properties": {"kind": "exercise", "start": in_hours(10), "end": in_hours(11)}}),
    ];
    for c in cases {
        let r = http.post("/api/v1/notifications", Some(&il), c.clone());
        assert_eq!(r.status, 422, "{c} → {}", r.body);
        assert!(r.body.contains("feature 0"), "{}", r.body);
    }
    // A bulk filing with one bad feature files none of them; a bulk check (which
    // files nothing anyway) is refused whole too, naming the feature.
    let good = |lon: f64| {
        circle(
            lon,
            33.0,
            json!({"kind": "uav_flight", "radius_m": 10, "start": in_hours(10), "end": in_hours(11)}),
        )
    };
    let bad = json!({"type": "Feature", "id": "late-bad", "geometry": {"type": "Point", "coordinates": [35.0, 33.0]},
        "properties": {"kind": "uav_flight", "radius_m": 10, "start": in_hours(11), "end": in_hours(10)}});
    let r = http.post(
        "/api/v1/notifications",
        Some(&il),
        json!({"type": "FeatureCollection", "features": [good(35.0), good(35.2), bad]}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("feature 2 (late-bad)"), "{}", r.body);
    let r = http.post(
        "/api/v1/deconfliction/check",
        Some(&il),
        json!({"type": "FeatureCollection", "features": [good(35.0), bad.clone()]}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("feature 1 (late-bad)"), "{}", r.body);
    // A body that is not UTF-8 throughout is malformed wherever the bad byte sits,
    // even in a member the check does not read: for a check as for a filing.
    let mut body = serde_json::to_vec(&circle(
        35.0,
        33.0,
        json!({"kind": "uav_flight", "radius_m": 10, "start": in_hours(10), "end": in_hours(11), "forces": "two aircraft"}),
    ))
    .expect("json");
    let at = body.windows(3).position(|w| w == b"two").expect("forces");
    body[at] = 0xff;
    for path in ["/api/v1/deconfliction/check", "/api/v1/notifications"] {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}{path}", server.url))
            .bearer_auth(&il)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .expect("send");
        assert_eq!(r.status().as_u16(), 400, "{path}");
        let text = r.text().expect("text");
        assert!(text.contains("bad_request"), "{path}: {text}");
    }
    assert_eq!(head(), before);
}

/// A FeatureCollection of notifications is filed as one decision: each notification
/// gets its own id, receipt and conflicts, and each conflict event names its own
/// notification.
#[test]
fn bulk_notifications_are_filed_together_each_with_its_own_conflicts() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
    );
    cell.approve(&http);
    let site = circle(
        35.50,
        33.00,
        json!({"category": "medical", "radius_m": 1000, "name": "Clinic"}),
    );
    assert_eq!(http.post("/api/v1/sites", Some(&sy), site).status, 200);
    let flight = |lon: f64| {
        circle(
            lon,
            33.00,
            json!({"kind": "air_patrol", "radius_m": 500, "alt_min_m": 1000, "alt_max_m": 3000, "start": in_hours(30), "end": in_hours(32)}),
        )
    };
    // The first and third come within the site's radius, the second is far away.
    let plan = json!({"type": "FeatureCollection", "features": [flight(35.505), flight(35.90), flight(35.495)]});
    let r = http.post("/api/v1/notifications", Some(&il), plan);
    assert_eq!(r.status, 200, "{}", r.body);
    let filed = r.json()["notifications"].as_array().cloned().expect("list");
    assert_eq!(filed.len(), 3, "{filed:?}");
    let ids: Vec<u64> = filed.iter().filter_map(|n| n["id"].as_u64()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let hits: Vec<usize> = filed
        .iter()
        .map(|n| n["conflicts"]["sites"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(hits, [1, 0, 1]);
    assert!(filed.iter().all(|n| n["receipt"]["checkpoint"].is_string()));
    let listed = http.get("/api/v1/notifications", Some(&us)).json()["features"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(listed, 3);
    // A page at a time: two, then the last one, after the second's id.
    let first = http.get("/api/v1/notifications?limit=2", Some(&us)).json();
    assert_eq!(first["features"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["next_after"].as_u64(), Some(ids[1]));
    let rest = http
        .get(
            &format!("/api/v1/notifications?limit=2&after={}", ids[1]),
            Some(&us),
        )
        .json();
    assert_eq!(rest["features"][0]["id"].as_u64(), Some(ids[2]));
    assert!(rest.get("next_after").is_none(), "{rest}");
    let r = http.get("/api/v1/notifications?limit=10001", Some(&us));
    assert_eq!(r.status, 400, "{}", r.body);
    let by_cli: Value = serde_json::from_str(&common::cli(
        &server,
        &us,
        &["deconflict", "list", "--json"],
    ))
    .expect("JSON");
    assert_eq!(by_cli["features"].as_array().map(Vec::len), Some(3));
    // Each conflict event names the notification it belongs to.
    let conflicts = http.get("/api/v1/conflicts", Some(&il)).json();
    let mut named: Vec<u64> = conflicts
        .as_array()
        .expect("conflicts")
        .iter()
        .filter_map(|c| c["notification"].as_u64())
        .collect();
    named.sort_unstable();
    assert_eq!(named, [ids[0], ids[2]]);
    // The other party checks the same plan in bulk: each feature is answered as a
    // check of it alone is (the site, and the filed flights it overlaps), in order,
    // and nothing is filed.
    let features = [flight(35.505), flight(35.90), flight(35.495)];
    let r = http.post(
        "/api/v1/deconfliction/check",
        Some(&sy),
        json!({"type": "FeatureCollection", "features": features}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let checks = r.json()["checks"].as_array().cloned().expect("checks");
    assert_eq!(checks.len(), 3);
    for (f, got) in features.iter().zip(&checks) {
        let one = http.post("/api/v1/deconfliction/check", Some(&sy), f.clone());
        assert_eq!(one.status, 200, "{}", one.body);
        assert_eq!(got, &one.json());
    }
    let count = |c: &Value, k: &str| c[k].as_array().map_or(0, Vec::len);
    assert_eq!(count(&checks[0], "sites"), 1, "{}", checks[0]);
    assert_eq!(count(&checks[1], "sites"), 0, "{}", checks[1]);
    assert!(count(&checks[0], "activities") >= 1, "{}", checks[0]);
    let listed = http.get("/api/v1/notifications", Some(&us)).json()["features"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(listed, 3, "a check files nothing");
}

/// Notifications filed at the same moment by both parties land in the same group
/// commits; each must still be checked against every notification decided before it,
/// so every overlapping pair of the two parties is recorded as a conflict exactly once,
/// on the later of the two.
#[test]
fn concurrent_notifications_see_each_other() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    const EACH: usize = 16;
    let barrier = std::sync::Barrier::new(2 * EACH);
    let (start, end) = (in_hours(30), in_hours(31));
    let filed: Vec<(String, u64, Vec<u64>)> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for i in 0..2 * EACH {
            let party = if i % 2 == 0 { "il" } else { "sy" };
            let token = cell.token(&format!("{party}-liaison"));
            let (barrier, url) = (&barrier, server.url.clone());
            let n = circle(
                35.80 + i as f64 * 1e-4,
                33.10,
                json!({"kind": "uav_flight", "radius_m": 500, "alt_min_m": 100, "alt_max_m": 900,
                       "start": start, "end": end}),
            );
            handles.push(scope.spawn(move || {
                let http = Http::new(&url);
                barrier.wait();
                let r = http.post("/api/v1/notifications", Some(&token), n);
                assert_eq!(r.status, 200, "{}", r.body);
                let v = r.json();
                let seen = v["conflicts"]["activities"]
                    .as_array()
                    .expect("activities")
                    .iter()
                    .map(|a| a["id"].as_u64().expect("id"))
                    .collect();
                (party.to_string(), v["id"].as_u64().expect("id"), seen)
            }));
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let by_id: std::collections::BTreeMap<u64, (&str, &Vec<u64>)> = filed
        .iter()
        .map(|(p, id, seen)| (*id, (p.as_str(), seen)))
        .collect();
    for (id, (party, seen)) in &by_id {
        let expected: Vec<u64> = by_id
            .range(..id)
            .filter(|(_, (p, _))| p != party)
            .map(|(other, _)| *other)
            .collect();
        assert_eq!(
            **seen, expected,
            "notification {id} of {party} must conflict with every earlier notification of the other party"
        );
    }
}

/// Sites imported through the API after the server started (enough of them that the
/// server repacks its engine, beside its checks, several times over) are found by a
/// check exactly as a server restarted on the same record finds them, whose engine is
/// built from the record in one go.
#[test]
fn a_server_fed_through_the_api_answers_as_one_restarted() {
    let cell = Cell::init();
    let (il, sy) = (cell.token("il-liaison"), cell.token("sy-liaison"));
    // A small deterministic scatter over the Golan and the Hauran.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut at = move || (35.6 + 1.0 * next(), 32.6 + 0.8 * next(), next());
    let checks: Vec<Value> = (0..40)
        .map(|i| {
            let (lon, lat, _) = at();
            let props = json!({"kind": "ground_movement", "alt_min_m": 0, "alt_max_m": 100,
                               "start": in_hours(40), "end": in_hours(41)});
            let mut f = match i % 3 {
                0 => circle(lon, lat, json!({"radius_m": 4000})),
                1 => json!({"type": "Feature", "geometry": {"type": "LineString",
                            "coordinates": [[lon, lat], [lon + 0.08, lat + 0.05]]},
                            "properties": {"half_width_m": 1500}}),
                _ => json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates":
                            [[[lon, lat], [lon + 0.06, lat], [lon + 0.06, lat + 0.05], [lon, lat]]]},
                            "properties": {}}),
            };
            for (k, v) in props.as_object().expect("object") {
                f["properties"][k] = v.clone();
            }
            f
        })
        .collect();
    let answers = |http: &Http| -> Vec<Value> {
        checks
            .iter()
            .map(|c| {
                let r = http.post("/api/v1/deconfliction/check", Some(&sy), c.clone());
                assert_eq!(r.status, 200, "{}", r.body);
                r.json()["sites"].clone()
            })
            .collect()
    };
    let fed = {
        let server = cell.serve();
        let http = Http::new(&server.url);
        cell.approve(&http);
        for batch in 0..8 {
            let features: Vec<Value> = (0..1_000)
                .map(|i| {
                    let (lon, lat, r) = at();
                    circle(
                        lon,
                        lat,
                        json!({"category": "population_centre", "name": format!("Place {batch}-{i}"),
                               "radius_m": 200.0 + 1800.0 * r}),
                    )
                })
                .collect();
            let r = http.post(
                "/api/v1/sites",
                Some(&il),
                json!({"type": "FeatureCollection", "features": features}),
            );
            assert_eq!(r.status, 200, "{}", r.body);
        }
        // The export, written a chunk of 2,000 at a time, holds every site once, in
        // id order, as the listing does.
        let export = http.get("/api/v1/deconfliction/export", Some(&il)).json();
        let exported: Vec<u64> = export["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["id"].as_u64().expect("id"))
            .collect();
        assert_eq!(exported.len(), 8_000);
        assert!(exported.windows(2).all(|w| w[0] < w[1]), "in id order");
        let listed = http.get("/api/v1/sites?limit=10000", Some(&il)).json();
        assert_eq!(export["features"], listed["features"]);
        // The TAK export is written the same way: one point event per site, each once,
        // in id order, in one well-formed document.
        let r = http.get("/api/v1/deconfliction/export.cot", Some(&il));
        assert_eq!(r.status, 200, "{}", r.body);
        let limits = liaison_cot::Limits {
            max_bytes: 64 << 20,
            max_events: 100_000,
            ..liaison_cot::Limits::default()
        };
        let events = liaison_cot::parse(r.body.as_bytes(), &limits)
            .unwrap_or_else(|e| panic!("{e}: {}", &r.body[..r.body.len().min(2_000)]));
        let sites: Vec<u64> = events
            .iter()
            .filter_map(|e| {
                e.detail
                    .as_ref()?
                    .liaison
                    .as_ref()?
                    .attr("site")?
                    .parse()
                    .ok()
            })
            .collect();
        assert_eq!(sites, exported);
        answers(&http)
    };
    let server = cell.serve();
    let restarted = answers(&Http::new(&server.url));
    let found: usize = fed.iter().filter_map(Value::as_array).map(Vec::len).sum();
    assert!(found > 40, "the checks find too little to compare: {found}");
    for (i, (a, b)) in fed.iter().zip(&restarted).enumerate() {
        assert_eq!(a, b, "check {i}");
    }
}

/// `liaison deconflict check` takes a collection larger than one check does (here
/// 1,203 features, over the 500 a request takes): it sends it in parts and prints
/// one answer per feature, in the file's order.
#[test]
fn the_cli_checks_a_collection_of_any_size_in_order() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let site = circle(
        35.7680,
        33.2700,
        json!({"category": "minority_community", "radius_m": 2000, "name": "Majdal Shams"}),
    );
    let r = http.post("/api/v1/sites", Some(&cell.token("il-liaison")), site);
    assert_eq!(r.status, 200, "{}", r.body);
    // Every hundredth feature passes the site; the others are far from it.
    let n = 1_203;
    let features: Vec<Value> = (0..n)
        .map(|k| {
            let (lon, lat) = if k % 100 == 0 {
                (35.7700, 33.2710)
            } else {
                (36.5 + k as f64 * 1e-4, 32.2)
            };
            circle(
                lon,
                lat,
                json!({"kind": "uav_flight", "radius_m": 500, "alt_min_m": 100, "alt_max_m": 900,
                       "start": in_hours(30), "end": in_hours(31)}),
            )
        })
        .collect();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("flights.geojson");
    std::fs::write(
        &file,
        json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .expect("write");
    let sy = cell.token("sy-liaison");
    let run = |json: bool| {
        let mut args = vec!["deconflict", "check", file.to_str().expect("utf8")];
        if json {
            args.push("--json");
        }
        common::cli(&server, &sy, &args)
    };
    let v: Value = serde_json::from_str(&run(true)).expect("JSON");
    let checks = v["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), n);
    for (k, c) in checks.iter().enumerate() {
        let sites = c["sites"].as_array().expect("sites");
        assert_eq!(!sites.is_empty(), k % 100 == 0, "feature {k}: {c}");
    }
    let text = run(false);
    assert!(text.contains(&format!("feature {}:", n - 1)), "{text}");
    assert_eq!(
        text.matches("Majdal Shams").count(),
        n.div_ceil(100),
        "{text}"
    );
    // Each feature's area and each site it touches are read back in MGRS.
    assert_eq!(text.matches("  area at MGRS 3").count(), n, "{text}");
    assert_eq!(
        text.matches("(site at MGRS 36S").count(),
        n.div_ceil(100),
        "{text}"
    );
}

/// `GET /api/v1/sites` answers a page at a time, in id order, with the `after` of
/// the next page; `liaison site list` follows the pages to the end. One site is
/// shown with its earlier versions, each with its own MGRS.
#[test]
fn sites_are_listed_a_page_at_a_time_and_shown_with_their_versions() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let n = 1_203;
    let features: Vec<Value> = (0..n)
        .map(|i| {
            circle(
                35.0 + i as f64 * 1e-3,
                33.0,
                json!({"category": "population_centre", "radius_m": 100, "name": format!("Place {i}")}),
            )
        })
        .collect();
    let r = http.post(
        "/api/v1/sites",
        Some(&il),
        json!({"type": "FeatureCollection", "features": features}),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // Pages of 500: 500, 500, 203, each after the last id of the one before.
    let (mut seen, mut path, mut pages) = (Vec::new(), "/api/v1/sites?limit=500".to_string(), 0);
    loop {
        let page = http.get(&path, Some(&il)).json();
        pages += 1;
        let ids: Vec<u64> = page["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["id"].as_u64().expect("id"))
            .collect();
        assert!(ids.len() <= 500, "{}", ids.len());
        seen.extend(ids);
        match page["next_after"].as_u64() {
            Some(after) => {
                assert_eq!(Some(&after), seen.last());
                path = format!("/api/v1/sites?limit=500&after={after}");
            }
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, n));
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in id order");
    // Unasked, a page holds 1,000; a limit outside 1-10,000 is refused.
    let first = http.get("/api/v1/sites", Some(&il)).json();
    assert_eq!(first["features"].as_array().map(Vec::len), Some(1_000));
    for bad in ["limit=0", "limit=10001", "after=x", "page=2"] {
        let r = http.get(&format!("/api/v1/sites?{bad}"), Some(&il));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    // A reader that stops early (`site list | head -1`) ends the listing quietly, as
    // a pipe's writer stopped by SIGPIPE does, with no panic.
    let mut child = std::process::Command::new(common::bin())
        .args(["--server", &server.url, "--token", &il, "site", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run liaison");
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().expect("stdout"), &mut first).expect("read");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The CLI follows the pages.
    let listed: Value =
        serde_json::from_str(&common::cli(&server, &il, &["site", "list", "--json"]))
            .expect("JSON");
    assert_eq!(listed["features"].as_array().map(Vec::len), Some(n));

    // A new version of the first site keeps the old one, shown with its MGRS.
    let id = seen[0];
    let moved = circle(
        36.0,
        33.0,
        json!({"site": id, "category": "population_centre", "radius_m": 250, "name": "Place 0"}),
    );
    let r = http.post("/api/v1/sites", Some(&il), moved);
    assert_eq!(r.status, 200, "{}", r.body);
    let site = http
        .get(
            &format!("/api/v1/sites/{id}"),
            Some(&cell.token("sy-liaison")),
        )
        .json();
    let p = &site["properties"];
    assert_eq!(
        (p["version"].as_u64(), p["radius_m"].as_f64()),
        (Some(2), Some(250.0))
    );
    let versions = p["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "{site}");
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["radius_m"], 100.0);
    assert_eq!(versions[0]["geometry"]["coordinates"][0], 35.0);
    let (old, new) = (
        versions[0]["mgrs"].as_str().expect("mgrs"),
        p["mgrs"].as_str().expect("mgrs"),
    );
    assert!(
        old.starts_with("36S") && new.starts_with("37S") && old != new,
        "{old} {new}"
    );
    let shown = common::cli(&server, &il, &["site", "show", &id.to_string()]);
    assert!(shown.contains(new) && shown.contains(old), "{shown}");
    let r = http.get("/api/v1/sites/99999999", Some(&il));
    assert_eq!(r.status, 404, "{}", r.body);
}

/// An observer's dry-run check reports sites and zones, and another party's activity
/// only where it could read that notification: UNDOF, which cannot list Israel's
/// notifications, learns nothing of Israel's exercise from a circle over it (no id,
/// window, band or distance), on the one-pass path, the general one and in bulk; a
/// member (Syria) and the supervisor are told of it.
#[test]
fn an_observer_checks_without_learning_activity_it_may_not_read() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us, undof) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
        cell.token("undof-observer"),
    );
    cell.approve(&http);
    let site = circle(
        35.80,
        33.10,
        json!({"category": "un_post", "radius_m": 500, "names": {"en": "Post 22"}}),
    );
    let r = http.post("/api/v1/sites", Some(&us), site);
    assert_eq!(r.status, 200, "{}", r.body);
    let exercise = circle(
        35.80,
        33.10,
        json!({"kind": "exercise", "radius_m": 3000, "alt_min_m": 0, "alt_max_m": 3000,
        "start": in_hours(24), "end": in_hours(48), "forces": "a brigade"}),
    );
    let r = http.post("/api/v1/notifications", Some(&il), exercise);
    assert_eq!(r.status, 200, "{}", r.body);
    let exercise_id = r.json()["id"].as_u64().expect("id");
    assert_eq!(
        http.get("/api/v1/notifications", Some(&undof)).json()["features"],
        json!([]),
        "the observer cannot list Israel's notification"
    );

    // A 50 km circle over it, by every path the check has.
    let probe = circle(
        35.80,
        33.10,
        json!({"kind": "uav_flight", "radius_m": 50000, "start": in_hours(30), "end": in_hours(31)}),
    );
    let general = probe
        .to_string()
        .replace("\"uav_flight\"", "\"uav_fl\\u0069ght\"");
    assert_ne!(
        general,
        probe.to_string(),
        "an escape sends it the general way"
    );
    let bulk = json!({"type": "FeatureCollection", "features": [probe.clone(), probe.clone()]});
    let ids = |answer: &Value| -> Vec<u64> {
        answer["activities"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["id"].as_u64()).collect())
            .unwrap_or_default()
    };
    let sites = |answer: &Value| answer["sites"].as_array().map_or(0, Vec::len);
    for (who, token, sees) in [
        ("undof", &undof, false),
        ("sy", &sy, true),
        ("us", &us, true),
    ] {
        let want: Vec<u64> = if sees { vec![exercise_id] } else { vec![] };
        let fast = http.post("/api/v1/deconfliction/check", Some(token), probe.clone());
        assert_eq!(fast.status, 200, "{}", fast.body);
        let slow = http.post_raw(
            "/api/v1/deconfliction/check",
            Some(token),
            "application/json",
            &general,
        );
        assert_eq!(slow.status, 200, "{}", slow.body);
        assert_eq!(fast.body, slow.body, "{who}: the two paths agree");
        let fast = fast.json();
        assert_eq!(ids(&fast), want, "{who}: {fast}");
        assert_eq!(sites(&fast), 1, "{who}: sites are reported to all: {fast}");
        if !sees {
            assert!(
                !fast.to_string().contains("exercise"),
                "{who} learns nothing of it: {fast}"
            );
        }
        let r = http.post("/api/v1/deconfliction/check", Some(token), bulk.clone());
        assert_eq!(r.status, 200, "{}", r.body);
        for one in r.json()["checks"].as_array().cloned().unwrap_or_default() {
            assert_eq!(one, fast, "{who}: each of a bulk check as one alone");
        }
    }
}

/// An answer to a notification is due before the activity starts, whatever its
/// precedence allows; one about to start is due at once; a window that has already
/// ended is no notification.
#[test]
fn an_answer_is_due_before_the_activity_starts_and_an_ended_window_is_refused() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy) = (cell.token("il-liaison"), cell.token("sy-liaison"));
    cell.approve(&http);
    let patrol = |start: &str, end: &str| {
        circle(
            35.95,
            33.05,
            json!({"kind": "air_patrol", "radius_m": 2000, "alt_min_m": 1000, "alt_max_m": 3000,
            "start": start, "end": end, "forces": "two F-16", "precedence": "routine"}),
        )
    };
    let due = |id: u64| -> (liaison_core::Timestamp, liaison_core::Timestamp) {
        let all = http.get("/api/v1/obligations", Some(&sy)).json();
        let o = all
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|o| {
                        o["duty"] == "answer_notification"
                            && o["subject"].as_str() == Some(id.to_string().as_str())
                    })
                    .cloned()
            })
            .unwrap_or_else(|| panic!("no answer owed on {id}: {all}"));
        let t = |k: &str| liaison_api::time::parse(o[k].as_str().expect("time")).expect("rfc3339");
        (t("opened_at"), t("due_at"))
    };

    // An air patrol in 30 minutes, filed ROUTINE (which alone would allow 6 hours).
    let start = common::time_from_now(30 * 60);
    let r = http.post(
        "/api/v1/notifications",
        Some(&il),
        patrol(&start, &common::time_from_now(50 * 60)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    let (_, due_at) = due(id);
    let start = liaison_api::time::parse(&start).expect("start");
    assert_eq!(
        start.since(due_at),
        liaison_core::Duration::from_mins(15),
        "due 15 minutes (the charter's margin) before the patrol starts"
    );

    // One that starts in 5 minutes: the answer is due at once.
    let r = http.post(
        "/api/v1/notifications",
        Some(&il),
        patrol(
            &common::time_from_now(5 * 60),
            &common::time_from_now(25 * 60),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (opened, due_at) = due(r.json()["id"].as_u64().expect("id"));
    assert_eq!(due_at, opened, "due at once");

    // A patrol that flew an hour ago is not notified: refused, nothing recorded.
    let before = http.head(&il);
    let r = http.post(
        "/api/v1/notifications",
        Some(&il),
        patrol(
            &common::time_from_now(-2 * 3600),
            &common::time_from_now(-3600),
        ),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "invalid_input"),
        "{}",
        r.body
    );
    assert!(r.body.contains("ended"), "{}", r.body);
    assert_eq!(http.head(&il), before);
}

/// What the officer reads is the gap that matters: a 2 km orbit whose edge passes some
/// 60 m from a town reads "60 m", against the town's own protected radius, with the
/// distance from the orbit's centre only as an aside.
#[test]
fn a_conflict_says_how_far_the_activity_s_edge_is_from_the_site() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let il = cell.token("il-liaison");
    cell.approve(&http);
    let town = circle(
        35.70,
        33.00,
        json!({"category": "minority_community", "radius_m": 1500, "names": {"en": "Hader"}}),
    );
    let r = http.post("/api/v1/sites", Some(&il), town);
    assert_eq!(r.status, 200, "{}", r.body);
    // 2,060 m due north of the town (a degree of latitude is some 110.9 km here).
    let orbit = circle(
        35.70,
        33.0 + 2060.0 / 110_900.0,
        json!({"kind": "air_patrol", "radius_m": 2000, "alt_min_m": 1000, "alt_max_m": 3000,
        "start": in_hours(30), "end": in_hours(31), "forces": "two F-16"}),
    );
    let r = http.post("/api/v1/deconfliction/check", Some(&il), orbit);
    assert_eq!(r.status, 200, "{}", r.body);
    let hit = &r.json()["sites"][0];
    let reason = hit["reason"].as_str().expect("reason");
    let edge: f64 = reason
        .split("the activity's edge is ")
        .nth(1)
        .and_then(|r| r.split(" m from it").next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{reason}"));
    assert!((40.0..=80.0).contains(&edge), "{reason}");
    assert!(reason.contains("inside its 1500 m radius"), "{reason}");
    assert!(reason.contains("m from the activity's centre)"), "{reason}");
    // The numbers beside it keep their meaning: the engine's distance and threshold.
    assert!(
        hit["distance_m"]
            .as_f64()
            .is_some_and(|d| (2040.0..=2080.0).contains(&d))
    );
    assert_eq!(hit["threshold_m"].as_f64(), Some(3500.0));
}

/// A position outside the charter's area of interest (the demo's is the Levant) is
/// refused wherever it is given, and one whose latitude and longitude were swapped is
/// refused with that hint: a notification, the dry-run check, a site, an incident
/// through the CLI. Nothing is recorded; the same place the right way round is taken.
#[test]
fn a_swapped_position_is_refused_with_the_hint() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let il = cell.token("il-liaison");
    cell.approve(&http);
    let before = common::all_events(&http, &cell.token("us-supervisor")).len();
    // Quneitra is at longitude 35.82, latitude 33.12: given latitude first.
    let swapped = circle(
        33.12,
        35.82,
        json!({"kind": "uav_flight", "radius_m": 500, "start": common::time_from_now(7200),
            "end": common::time_from_now(9000), "forces": "one UAV"}),
    );
    let hinted = |r: &common::Resp| {
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "invalid_input"),
            "{}",
            r.body
        );
        let m = r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            m.contains("area of interest") && m.contains("swapped") && m.contains("[35.82, 33.12]"),
            "{m}"
        );
    };
    hinted(&http.post("/api/v1/notifications", Some(&il), swapped.clone()));
    hinted(&http.post("/api/v1/deconfliction/check", Some(&il), swapped.clone()));
    hinted(&http.post(
        "/api/v1/deconfliction/check",
        Some(&il),
        json!({"type": "FeatureCollection", "features": [swapped.clone()]}),
    ));
    let site = circle(
        33.12,
        35.82,
        json!({"category": "minority_community", "radius_m": 100, "names": {"en": "swapped"}}),
    );
    hinted(&http.post("/api/v1/sites", Some(&il), site));
    // Far from the Levant and not a swap: refused, without the hint.
    let far = circle(
        2.35,
        48.85,
        json!({"kind": "uav_flight", "radius_m": 500, "start": common::time_from_now(7200),
            "end": common::time_from_now(9000)}),
    );
    let r = http.post("/api/v1/notifications", Some(&il), far);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(!r.body.contains("swapped"), "{}", r.body);
    // The CLI's --at, latitude first by mistake.
    let o = common::command_as(&il)
        .args(["--server", &server.url, "--token", &il])
        .args([
            "incident",
            "report",
            "--category",
            "other",
            "--when",
            "2026-01-01T00:00:00Z",
        ])
        .args(["--at", "33.12,35.82", "--description", "shots heard"])
        .output()
        .expect("run");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("swapped") && err.contains("--at 35.82,33.12"),
        "{err}"
    );
    assert_eq!(
        common::all_events(&http, &cell.token("us-supervisor")).len(),
        before,
        "nothing recorded"
    );
    // The right way round is taken.
    let r = http.post(
        "/api/v1/notifications",
        Some(&il),
        circle(
            35.82,
            33.12,
            json!({"kind": "uav_flight", "radius_m": 500, "start": common::time_from_now(7200),
                "end": common::time_from_now(9000)}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The review report gives the whole period: notifications and late notices, the
/// violations and warnings found on them, objections, the supervisor's intelligence
/// decisions and what redactions removed, and deadlines open at the end of the period
/// as open (never as "met never").
#[test]
fn the_review_report_counts_deconfliction_intelligence_and_open_deadlines() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
    );
    cell.approve(&http);
    let site = circle(
        35.7680,
        33.2700,
        json!({"category": "minority_community", "radius_m": 2000, "names": {"en": "Majdal Shams"}}),
    );
    assert_eq!(http.post("/api/v1/sites", Some(&sy), site).status, 200);
    // A UAV flight over the town, filed ten minutes ahead (the lead time is 30).
    let r = http.post(
        "/api/v1/notifications",
        Some(&il),
        circle(
            35.7680,
            33.2700,
            json!({"kind": "uav_flight", "radius_m": 500, "start": common::time_from_now(600),
                "end": common::time_from_now(1800), "forces": "one UAV"}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    let r = http.post(
        &format!("/api/v1/notifications/{id}/answer"),
        Some(&sy),
        json!({"answer": "object", "text": "over the town"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let bundle = json!({"objects": [{"type": "identity", "spec_version": "2.1",
        "id": "identity--00000000-0000-4000-8000-000000000001", "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z", "name": "unit", "description": "source"}]});
    let r = http.post(
        "/api/v1/intel/submissions",
        Some(&il),
        json!({"bundle": bundle, "recipients": ["sy"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let sub = r.json()["id"].as_u64().expect("id");
    let r = http.post(
        &format!("/api/v1/intel/submissions/{sub}/decision"),
        Some(&us),
        json!({"decision": "redact", "remove_properties": {"identity--00000000-0000-4000-8000-000000000001": ["description"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A message Syria has not acknowledged yet: open, not yet due.
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "routine", "subject": "s", "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let to = common::time_from_now(60);
    let rep = http
        .get(
            &format!(
                "/api/v1/reports/review?from=2020-01-01T00:00:00Z&to={}",
                to.replace('+', "%2B").replace(':', "%3A")
            ),
            Some(&us),
        )
        .json();
    assert_eq!(rep["notifications_by"]["il"], 1, "{rep}");
    assert_eq!(rep["late_notices_by"]["il"], 1, "{rep}");
    assert_eq!(rep["conflicts_by"]["il"]["violations"], 1, "{rep}");
    assert_eq!(rep["objections_by"]["sy"], 1, "{rep}");
    assert_eq!(rep["intel_submitted_by"]["il"], 1, "{rep}");
    assert_eq!(rep["intel_decisions"]["redacted"], 1, "{rep}");
    assert_eq!(rep["intel_decisions"]["properties_removed"], 1, "{rep}");
    let open = rep["open_deadlines"].as_array().expect("open");
    assert!(
        open.iter().any(|o| o["duty"] == "acknowledge_message"
            && o["party"] == "sy"
            && o["state"] == "open, not yet due"),
        "{rep}"
    );
    let out = tempfile::tempdir().expect("tmp");
    common::cli(
        &server,
        &us,
        &[
            "report",
            "--from",
            "2020-01-01T00:00:00Z",
            "--to",
            &to,
            "--out",
            out.path().to_str().expect("p"),
        ],
    );
    let md = std::fs::read_to_string(out.path().join("review.md")).expect("md");
    for part in [
        "Late notices",
        "Conflicts found on notifications",
        "Objections",
        "Intelligence decisions",
        "Deadlines open at the end of the period",
        "open, not yet due",
    ] {
        assert!(md.contains(part), "{part}: {md}");
    }
    assert!(!md.contains("never"), "{md}");
}
