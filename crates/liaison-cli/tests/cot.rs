//! Cursor-on-Target through the real binary over real HTTP: sites imported from TAK
//! point events keep every detail child Liaison does not read and get them back byte for
//! byte on export (after a restart too); XXE, deep nesting and bad events are refused with
//! nothing stored; the CoT export shows each operator exactly the notifications the
//! GeoJSON export shows.

mod common;

use common::{Cell, Http, Server, bin, in_hours};
use liaison_cot::{Limits, parse};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Unknown detail children, with the quoting and spacing a TAK client might use.
const UNKNOWN: &str = concat!(
    r#"<__group name="Cyan" role="Team Member"/>"#,
    r#"<takv os='34'  version="4.10.0.1" device="SAMSUNG SM-G991B" platform="ATAK-CIV"/>"#,
    r#"<x:sensor xmlns:x="urn:example:sensor" fov="45"><x:range unit="m">1200</x:range><!-- kept --></x:sensor>"#,
    r#"<link uid="ANDROID-1" relation="p-p" type="a-f-G-U-C"/>"#,
);

fn point_event(uid: &str, ce: &str, detail: &str) -> String {
    format!(
        r#"<event version="2.0" uid="{uid}" type="a-n-G-I" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2027-03-01T12:00:00Z" how="h-e">
  <point lat="32.7161" lon="35.0522" hae="9999999.0" ce="{ce}" le="9999999.0"/>
  <detail>{detail}</detail>
</event>"#
    )
}

fn xml(http: &Http, path: &str, token: &str, body: &str) -> common::Resp {
    http.post_raw(path, Some(token), "application/xml", body)
}

fn export(http: &Http, token: &str) -> Vec<liaison_cot::Event> {
    let r = http.get("/api/v1/deconfliction/export.cot", Some(token));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.headers["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("application/xml")),
        "{:?}",
        r.headers
    );
    parse(r.body.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn head(http: &Http, token: &str) -> Value {
    http.head(token)
}

#[test]
fn unknown_detail_is_kept_byte_for_byte_through_import_export_and_restart() {
    let cell = Cell::init();
    let mut server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let body = point_event(
        "ANDROID-358f2a1c",
        "9999999.0",
        &format!(
            r#"<contact callsign="Daliyat clinic"/>{UNKNOWN}<liaison category="medical" radius_m="300" name_ar="عيادة دالية"/>"#
        ),
    );
    let r = xml(&http, "/api/v1/sites/cot", &il, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.json();
    let id = answer["ids"][0].as_u64().expect("id");
    assert_eq!(answer["uids"][0], "ANDROID-358f2a1c");
    assert!(answer["receipt"]["checkpoint"].is_string());

    let sites = http.get("/api/v1/sites", Some(&il)).json();
    let p = &sites["features"][0]["properties"];
    assert_eq!(
        (p["category"].as_str(), p["radius_m"].as_f64()),
        (Some("medical"), Some(300.0))
    );
    assert_eq!(p["names"]["ar"], "عيادة دالية");

    let check = |events: Vec<liaison_cot::Event>| {
        let site = events
            .iter()
            .find(|e| e.uid == format!("liaison-site-{id}"))
            .unwrap_or_else(|| panic!("no site event in {events:?}"));
        assert_eq!(site.cot_type, "a-n-G-I");
        assert_eq!((site.point.lat, site.point.lon), (32.7161, 35.0522));
        let d = site.detail.as_ref().expect("detail");
        assert_eq!(
            d.kept, UNKNOWN,
            "the unread detail comes back byte for byte"
        );
        let l = d.liaison.as_ref().expect("liaison");
        assert_eq!(l.attr("radius_m"), Some("300"));
        assert_eq!(l.attr("category"), Some("medical"));
        let remarks = &d.remarks.as_ref().expect("remarks").text;
        for want in ["medical", "ar: عيادة دالية", "MGRS 36S", "Confirmed by il"] {
            assert!(remarks.contains(want), "{want} not in {remarks}");
        }
    };
    // Every party reads the sites.
    check(export(&http, &cell.token("sy-liaison")));
    check(export(&http, &cell.token("undof-observer")));

    // After a restart the record is replayed: the kept bytes are in the record.
    server.kill9();
    drop(server);
    let server = Server::start(&cell.data());
    let http = Http::new(&server.url);
    check(export(&http, &il));
}

#[test]
fn the_cli_imports_cot_and_exports_it() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("sites.xml");
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<events>\n{}\n{}\n</events>\n",
        point_event(
            "a",
            "250",
            &format!(r#"<contact callsign="Post 1"/>{UNKNOWN}"#)
        ),
        point_event("b", "400", r#"<contact callsign="Post 2"/>"#),
    );
    std::fs::write(&input, doc).expect("write");
    let run = |args: &[&str]| {
        std::process::Command::new(bin())
            .args(args)
            .env("LIAISON_SERVER", &server.url)
            .env("LIAISON_TOKEN", cell.token("undof-observer"))
            .output()
            .expect("run")
    };
    let out = run(&[
        "site",
        "import-cot",
        input.to_str().expect("utf8"),
        "--category",
        "un_post",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 sites imported"), "{text}");
    // The ce of each point is its radius when no <liaison radius_m> is given.
    let sites = http
        .get("/api/v1/sites", Some(&cell.token("il-liaison")))
        .json();
    let radii: BTreeSet<i64> = sites["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["radius_m"].as_f64().unwrap_or(0.0) as i64)
        .collect();
    assert_eq!(radii, BTreeSet::from([250, 400]));

    let file = dir.path().join("picture.cot.xml");
    let out = run(&[
        "deconflict",
        "export",
        "--format",
        "cot",
        "--out",
        file.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 CoT events written"));
    let written = std::fs::read_to_string(&file).expect("read");
    assert!(written.contains(UNKNOWN), "{written}");
    let events = parse(written.as_bytes(), &Limits::default()).expect("parses");
    assert_eq!(events.len(), 2);
    // A bad file fails the command and says why.
    std::fs::write(&input, "<event>").expect("write");
    let out = run(&["site", "import-cot", input.to_str().expect("utf8")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid_xml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hostile_and_invalid_cot_is_refused_and_nothing_is_stored() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let before = head(&http, &il);
    let detail = r#"<contact callsign="x"/><liaison category="school" radius_m="100"/>"#;

    let xxe = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE event [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n{}",
        point_event(
            "xxe",
            "10",
            r#"<remarks>&xxe;</remarks><liaison category="school" radius_m="100"/>"#
        )
    );
    let laughs = format!(
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>{}",
        point_event("lol", "10", "<remarks>&lol2;</remarks>")
    );
    let undeclared = point_event("ent", "10", &format!("{detail}<x>&ext;</x>"));
    let deep = point_event(
        "deep",
        "10",
        &format!("{detail}{}{}", "<a>".repeat(200), "</a>".repeat(200)),
    );
    let malformed = point_event("m", "10", "<contact callsign=\"x\">");
    for (name, body, want) in [
        (
            "xxe",
            xxe.as_str(),
            "line 2, byte 22: a DOCTYPE is not accepted",
        ),
        ("billion laughs", laughs.as_str(), "DOCTYPE"),
        ("undeclared entity", undeclared.as_str(), "&ext;"),
        ("deep nesting", deep.as_str(), "nested deeper than"),
        ("malformed", malformed.as_str(), "malformed XML"),
    ] {
        let r = xml(&http, "/api/v1/sites/cot", &il, body);
        assert_eq!(r.status, 422, "{name}: {}", r.body);
        assert_eq!(r.code(), "invalid_xml", "{name}");
        let msg = r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(msg.contains(want), "{name}: {msg}");
        assert!(!msg.contains("root:"), "{name} leaked a file: {msg}");
    }

    // Each bad event is named; the good one is not stored either.
    let doc = format!(
        "<events>{}{}{}{}</events>",
        point_event("good", "10", detail),
        point_event(
            "no-radius",
            "9999999.0",
            r#"<contact callsign="y"/><liaison category="school"/>"#
        ),
        point_event("no-category", "10", r#"<contact callsign="z"/>"#),
        r#"<event version="2.0" uid="shape" type="u-d-f" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-02T12:00:00Z" how="h-e"><point lat="91" lon="35" hae="0" ce="1" le="1"/></event>"#,
    );
    let r = xml(&http, "/api/v1/sites/cot", &il, &doc);
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.code(), "invalid_input");
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    for want in [
        "3 of 4 events are invalid, nothing stored",
        "event 1 (uid \"no-radius\"): no radius",
        "event 2 (uid \"no-category\"): no category",
        "event 3 (uid \"shape\"), line 1",
        "latitude 91",
    ] {
        assert!(msg.contains(want), "{want} not in {msg}");
    }
    // The category can come from the query instead.
    let r = xml(
        &http,
        "/api/v1/sites/cot?category=flying_saucer",
        &il,
        &point_event("q", "10", r#"<contact callsign="z"/>"#),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("unknown category"), "{}", r.body);

    let r = http.post_raw(
        "/api/v1/sites/cot",
        Some(&il),
        "application/json",
        &point_event("j", "10", detail),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (415, "unsupported_media_type")
    );
    let big = point_event(
        "big",
        "10",
        &format!("{detail}<pad>{}</pad>", "x".repeat(3 << 20)),
    );
    let r = xml(&http, "/api/v1/sites/cot", &il, &big);
    assert_eq!((r.status, r.code().as_str()), (413, "payload_too_large"));
    // The server closes a connection whose body it refused unread, and says so: the
    // same keep-alive client's next request goes out on a new connection.
    assert_eq!(r.headers["connection"], "close");
    assert_eq!(head(&http, &il), before, "nothing was stored");

    let doc = http.get("/api/v1/openapi.json", None).json();
    assert!(doc["paths"]["/api/v1/deconfliction/export.cot"]["get"].is_object());
    assert!(
        doc["paths"]["/api/v1/sites/cot"]["post"]["requestBody"]["content"]["application/xml"]
            .is_object()
    );
}

#[test]
fn the_cot_export_shows_each_operator_the_notifications_the_geojson_export_shows() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let (il, sy) = (cell.token("il-liaison"), cell.token("sy-liaison"));
    // The circle's window, taken once: a second may pass before it is compared.
    let (start, end) = (in_hours(30), in_hours(32));
    let circle = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.8, 33.1]},
        "properties": {"kind": "uav_flight", "radius_m": 1500, "alt_min_m": 300, "alt_max_m": 1200, "start": start, "end": end, "forces": "one UAV"}});
    let corridor = json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[36.0, 33.0], [36.1, 33.05], [36.2, 33.1]]},
        "properties": {"kind": "ground_movement", "half_width_m": 200, "start": in_hours(30), "end": in_hours(40)}});
    let polygon = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[35.79, 33.09], [35.81, 33.09], [35.81, 33.11], [35.79, 33.11], [35.79, 33.09]]]},
        "properties": {"kind": "exercise", "alt_min_m": 0, "alt_max_m": 500, "start": in_hours(31), "end": in_hours(33)}});
    let mut filed = Vec::new();
    for (token, n) in [(&il, circle), (&sy, corridor), (&sy, polygon)] {
        let r = http.post("/api/v1/notifications", Some(token), n);
        assert_eq!(r.status, 200, "{}", r.body);
        filed.push(r.json()["id"].as_u64().expect("id"));
    }
    let zone = json!({"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [
        [[[35.70, 33.20], [35.90, 33.20], [35.90, 33.35], [35.70, 33.20]]],
        [[[36.70, 33.20], [36.90, 33.20], [36.90, 33.35], [36.70, 33.20]]]]},
        "properties": {"name": "Hermon no-fly", "zone_kind": "no_fly_zone", "prohibited_kinds": ["uav_flight"]}});
    let r = http.post("/api/v1/zones", Some(&sy), zone);
    assert_eq!(r.status, 200, "{}", r.body);
    let zone_id = r.json()["seqs"][0].as_u64().expect("zone");

    let mut saw_some = false;
    let mut saw_none = false;
    for (name, _, _, token) in &cell.tokens {
        let geo = http.get("/api/v1/deconfliction/export", Some(token)).json();
        let want: BTreeSet<u64> = geo["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter(|f| f["properties"]["kind"] == "activity")
            .map(|f| f["id"].as_u64().expect("id"))
            .collect();
        let events = export(&http, token);
        let got: BTreeSet<u64> = events
            .iter()
            .filter_map(|e| e.uid.strip_prefix("liaison-activity-"))
            .map(|id| id.parse().expect("id"))
            .collect();
        assert_eq!(got, want, "{name}: CoT and GeoJSON exports differ");
        saw_some |= got == filed.iter().copied().collect();
        saw_none |= got.is_empty();
        let zones: Vec<&str> = events
            .iter()
            .filter(|e| e.uid.starts_with(&format!("liaison-zone-{zone_id}")))
            .map(|e| e.uid.as_str())
            .collect();
        assert_eq!(zones.len(), 2, "{name}: one outline per polygon: {zones:?}");
    }
    assert!(
        saw_some && saw_none,
        "the observer sees none, the members all"
    );

    let events = export(&http, &il);
    let by_uid = |u: String| {
        events
            .iter()
            .find(|e| e.uid == u)
            .unwrap_or_else(|| panic!("no {u}"))
    };
    let c = by_uid(format!("liaison-activity-{}", filed[0]));
    assert_eq!(c.cot_type, "u-d-c-c");
    let d = c.detail.as_ref().expect("detail");
    assert_eq!(
        d.ellipse.as_ref().map(|e| (e.major, e.minor)),
        Some((1500.0, 1500.0))
    );
    assert_eq!(c.start, start.replace('Z', ".000000Z"));
    assert_eq!(c.stale, end.replace('Z', ".000000Z"));
    let remarks = &d.remarks.as_ref().expect("remarks").text;
    for want in ["uav_flight", "300–1200 m", "one UAV", "Conflicts: 0 sites"] {
        assert!(remarks.contains(want), "{want} not in {remarks}");
    }
    let corridor = by_uid(format!("liaison-activity-{}", filed[1]));
    assert_eq!(corridor.cot_type, "u-d-f");
    assert_eq!(corridor.detail.as_ref().map(|d| d.links.len()), Some(3));
    let polygon = by_uid(format!("liaison-activity-{}", filed[2]));
    let d = polygon.detail.as_ref().expect("detail");
    assert_eq!(d.links.len(), 5, "a closed outline");
    // The polygon overlaps the circle in space, time and altitude: one conflict.
    assert!(
        d.remarks
            .as_ref()
            .is_some_and(|r| r.text.contains("1 activities")),
        "{d:?}"
    );
    let z = by_uid(format!("liaison-zone-{zone_id}"));
    let zr = &z
        .detail
        .as_ref()
        .and_then(|d| d.remarks.clone())
        .expect("remarks")
        .text;
    assert!(
        zr.contains("no_fly_zone")
            && zr.contains("proposed")
            && zr.contains("prohibited: uav_flight"),
        "{zr}"
    );
}
