//! Visibility is enforced in one place, and this test proves no read endpoint leaks:
//! it seeds events that only one member party (and the supervisor) may read, each
//! carrying a marker string, then walks every GET endpoint in the OpenAPI document,
//! with every path parameter it can fill, as every operator, and checks that no
//! response carries a marker of a party the caller may not read.

mod common;

use common::{Cell, Http};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// Seeds restricted content; returns marker → the parties (besides the supervisor) that may read it.
fn seed(http: &Http, cell: &Cell) -> BTreeMap<String, String> {
    cell.approve(http);
    let mut markers = BTreeMap::new();
    for party in ["il", "sy"] {
        let name = format!("{party}-marker-op");
        let r = http.post(
            "/api/v1/operators",
            Some(&cell.token(&format!("{party}-admin"))),
            json!({"name": name, "party": party, "role": "analyst"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        markers.insert(name, party.to_string());
        // A hotline message from the party to the supervisor only.
        let token = cell.token(&format!("{party}-liaison"));
        let subject = format!("{party}-marker-msg");
        let r = http.post("/api/v1/messages", Some(&token), json!({"to": ["us"], "precedence": "routine", "subject": subject, "body": "for the supervisor"}));
        assert_eq!(r.status, 200, "{}", r.body);
        markers.insert(subject, party.to_string());
        // An incident reported by the party against nobody in particular.
        let description = format!("{party}-marker-incident");
        let r = http.post("/api/v1/incidents", Some(&token), json!({"category": "other", "when": "2026-01-01T00:00:00Z", "where": {"type": "Point", "coordinates": [35.8, 33.1]}, "description": description}));
        assert_eq!(r.status, 200, "{}", r.body);
        markers.insert(description, party.to_string());
        // Intelligence still pending the supervisor's decision.
        let name = format!("{party}-marker-intel");
        let bundle = json!({"objects": [{"type": "identity", "spec_version": "2.1", "id": format!("identity--00000000-0000-4000-8000-00000000000{}", if party == "il" { 1 } else { 2 }), "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": name}]});
        let r = http.post(
            "/api/v1/intel/submissions",
            Some(&token),
            json!({"bundle": bundle, "recipients": [if party == "il" { "sy" } else { "il" }]}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        markers.insert(name, party.to_string());
    }
    // An activity notification: for the member parties and the supervisor, not the observer.
    let n = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.8, 33.1]},
        "properties": {"kind": "exercise", "radius_m": 1000, "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z", "forces": "members-marker-notification"}});
    let r = http.post("/api/v1/notifications", Some(&cell.token("il-liaison")), n);
    assert_eq!(r.status, 200, "{}", r.body);
    markers.insert("members-marker-notification".into(), "il,sy".into());
    markers
}

fn fill(path: &str, values: &BTreeMap<&str, Vec<String>>) -> Vec<String> {
    let mut out = vec![path.to_string()];
    for (param, candidates) in values {
        let key = format!("{{{param}}}");
        if path.contains(&key) {
            out = out
                .iter()
                .flat_map(|p| {
                    candidates
                        .iter()
                        .map(|c| p.replace(&key, c))
                        .collect::<Vec<_>>()
                })
                .collect();
        }
    }
    out
}

#[test]
fn no_read_endpoint_leaks_outside_the_audience() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let markers = seed(&http, &cell);
    let us = cell.token("us-supervisor");
    let head = http.head(&us).as_u64().expect("head");

    let doc = http.get("/api/v1/openapi.json", None).json();
    let mut values: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    values.insert("seq", (0..head).map(|s| s.to_string()).collect());
    let ops: Vec<String> = http
        .get("/api/v1/operators", Some(&us))
        .json()
        .as_array()
        .expect("ops")
        .iter()
        .map(|o| o["name"].as_str().expect("name").to_string())
        .collect();
    values.insert("name", ops);
    values.insert(
        "path",
        vec!["0/000".into(), "entries/000".into(), "0/000.p/5".into()],
    );

    let paths: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(_, item)| item.get("get").is_some())
        .map(|(p, _)| p.clone())
        .collect();
    assert!(paths.len() >= 8, "the walk must cover the API: {paths:?}");
    let mut checked = 0;
    for (name, party, _role, token) in &cell.tokens {
        let allowed = |p: &String| party == "us" || p.split(',').any(|x| x == party);
        let forbidden: Vec<&String> = markers
            .iter()
            .filter(|(_, p)| !allowed(p))
            .map(|(m, _)| m)
            .collect();
        let visible: Vec<&String> = markers
            .iter()
            .filter(|(_, p)| allowed(p))
            .map(|(m, _)| m)
            .collect();
        let mut seen_own = false;
        for path in &paths {
            if path == "/api/v1/events" {
                let events = http.sse(
                    "/api/v1/events?after=0",
                    token,
                    None,
                    usize::MAX,
                    Duration::from_millis(1500),
                );
                for (_, data) in &events {
                    let text = data.to_string();
                    for m in &forbidden {
                        assert!(
                            !text.contains(m.as_str()),
                            "{name} saw {m} on the SSE stream"
                        );
                    }
                    seen_own |= visible.iter().any(|m| text.contains(m.as_str()));
                }
                continue;
            }
            for concrete in fill(path, &values) {
                let r = http.get(&concrete, Some(token));
                assert!(r.status < 500, "{concrete} as {name}: {}", r.status);
                for m in &forbidden {
                    assert!(
                        !r.body.contains(m.as_str()),
                        "{name} ({party}) saw {m} at {concrete}"
                    );
                }
                seen_own |= visible.iter().any(|m| r.body.contains(m.as_str()));
                checked += 1;
            }
        }
        // The walk must be able to see what it looks for, or it proves nothing.
        if !visible.is_empty() {
            assert!(
                seen_own,
                "{name} never saw its own party's markers: the walk is blind"
            );
        }
    }
    assert!(checked > 50, "only {checked} requests were checked");
    let _ = Value::Null;
}

/// `/healthz` answers without credentials, so it says only whether the server is
/// well: the same bytes before and after the record grows, and no figure of it.
#[test]
fn healthz_tells_nothing_of_the_record() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let before = http.get("/healthz", None);
    assert_eq!(before.status, 200);
    assert_eq!(before.json(), json!({"status": "ok"}));
    let _ = seed(&http, &cell);
    let after = http.get("/healthz", None);
    assert_eq!((after.status, &after.body), (200, &before.body));
}
