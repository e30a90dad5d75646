//! Ownership through real HTTP, tried as the party that stands to lose would: the
//! supervising party cannot make an operator for a member and speak through it; a
//! member cannot move another party's protected site, only propose a change that the
//! registrant accepts or rejects; only the filer withdraws its notification. Every
//! refusal records nothing.

mod common;

use common::{Cell, Http, all_events, in_hours};
use serde_json::{Value, json};

fn circle(lon: f64, lat: f64, props: Value) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props})
}

/// How many events the supervisor (who reads everything) sees.
fn recorded(http: &Http, us: &str) -> usize {
    all_events(http, us).len()
}

#[test]
fn the_supervising_party_cannot_create_a_member_operator_and_speak_as_the_member() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let us = cell.token("us-supervisor");
    let before = recorded(&http, &us);
    for who in ["us-admin", "us-supervisor"] {
        let r = http.post(
            "/api/v1/operators",
            Some(&cell.token(who)),
            json!({"name": "il-ghost", "party": "il", "role": "liaison"}),
        );
        assert_eq!((r.status, r.code().as_str()), (403, "forbidden"), "{who}");
        for path in [
            "/api/v1/operators/il-liaison/rotate",
            "/api/v1/operators/il-liaison/disable",
        ] {
            let r = http.post(path, Some(&cell.token(who)), json!({}));
            assert_eq!(
                (r.status, r.code().as_str()),
                (403, "forbidden"),
                "{who} {path}"
            );
        }
    }
    assert_eq!(recorded(&http, &us), before, "nothing recorded");

    // Israel's own admin can.
    let r = http.post(
        "/api/v1/operators",
        Some(&cell.token("il-admin")),
        json!({"name": "il-two", "party": "il", "role": "liaison"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Enrolled by the token's hash, the token is not the server's to show; a hash that
    // is not one, or a key that is not one, is refused and records nothing.
    let hash = "ab".repeat(32);
    let r = http.post(
        "/api/v1/operators",
        Some(&cell.token("il-admin")),
        json!({"name": "il-three", "party": "il", "role": "analyst", "token_hash": hash}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["operator"]["token"], "");
    let before = recorded(&http, &us);
    for bad in [
        json!({"name": "il-four", "party": "il", "role": "analyst", "token_hash": "xyz"}),
        json!({"name": "il-four", "party": "il", "role": "analyst", "public_key": "not-a-key"}),
    ] {
        let r = http.post("/api/v1/operators", Some(&cell.token("il-admin")), bad);
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "invalid_input"),
            "{}",
            r.body
        );
    }
    assert_eq!(recorded(&http, &us), before, "nothing recorded");

    // The supervisor suspends an operator pending review: its token stops working, every
    // party sees why, and the member's admin cannot lift it.
    let il = cell.token("il-liaison");
    let r = http.post(
        "/api/v1/operators/il-liaison/suspend",
        Some(&cell.token("us-supervisor")),
        json!({"reason": "review of a FLASH message"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(http.get("/api/v1/me", Some(&il)).status, 401);
    let sy_sees = all_events(&http, &cell.token("sy-liaison"));
    assert!(
        sy_sees.iter().any(|e| e["kind"] == "operator_suspended"
            && e["data"]["reason"] == "review of a FLASH message"),
        "Syria sees the suspension and its reason"
    );
    let r = http.post(
        "/api/v1/operators/il-liaison/reinstate",
        Some(&cell.token("il-admin")),
        json!({}),
    );
    assert_eq!(r.status, 403);
    let r = http.post(
        "/api/v1/operators/il-liaison/reinstate",
        Some(&cell.token("us-admin")),
        json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(http.get("/api/v1/me", Some(&il)).status, 200);
}

#[test]
fn a_member_cannot_move_another_party_s_protected_site_only_propose_a_change() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let (us, sy, il) = (
        cell.token("us-supervisor"),
        cell.token("sy-liaison"),
        cell.token("il-liaison"),
    );
    let town = circle(
        36.5667,
        32.7089,
        json!({"category": "minority_community", "radius_m": 3000, "names": {"en": "As-Suwayda"}}),
    );
    let r = http.post("/api/v1/sites", Some(&us), town);
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["ids"][0].as_u64().expect("id");
    let before = recorded(&http, &us);

    // Moved 80 km and shrunk to 10 m, by the GeoJSON `site` property: refused.
    let moved = circle(
        35.70,
        33.20,
        json!({"site": id, "category": "minority_community", "radius_m": 10, "names": {"en": "As-Suwayda"}}),
    );
    for token in [&sy, &il] {
        let r = http.post("/api/v1/sites", Some(token), moved.clone());
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "forbidden"),
            "{}",
            r.body
        );
    }
    assert_eq!(recorded(&http, &us), before, "nothing recorded");
    let shown = http.get(&format!("/api/v1/sites/{id}"), Some(&sy)).json();
    assert_eq!(shown["properties"]["radius_m"], 3000.0);
    assert_eq!(shown["properties"]["registered_by"], "us");

    // Syria proposes a change instead; only the registrant answers it.
    let bigger = circle(
        36.5667,
        32.7089,
        json!({"category": "minority_community", "radius_m": 4000, "names": {"en": "As-Suwayda"}}),
    );
    let r = http.post(&format!("/api/v1/sites/{id}/proposals"), Some(&sy), bigger);
    assert_eq!(r.status, 200, "{}", r.body);
    let proposal = r.json()["seqs"][0].as_u64().expect("proposal id");
    let answer = format!("/api/v1/sites/proposals/{proposal}/answer");
    let r = http.post(&answer, Some(&il), json!({"accept": true}));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = http.post(
        &answer,
        Some(&us),
        json!({"accept": true, "text": "agreed"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let shown = http.get(&format!("/api/v1/sites/{id}"), Some(&sy)).json();
    assert_eq!(shown["properties"]["radius_m"], 4000.0);
    assert_eq!(shown["properties"]["version"], 2);
    assert_eq!(
        shown["properties"]["registered_by"], "us",
        "still the supervisor's"
    );
}

#[test]
fn only_the_filer_withdraws_a_notification_and_a_withdrawn_one_conflicts_with_nothing() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let (us, sy, il) = (
        cell.token("us-supervisor"),
        cell.token("sy-liaison"),
        cell.token("il-liaison"),
    );
    let exercise = |lon: f64| {
        circle(
            lon,
            33.0,
            json!({"kind": "exercise", "radius_m": 5000, "alt_min_m": 0, "alt_max_m": 3000,
                "start": in_hours(3), "end": in_hours(5)}),
        )
    };
    let r = http.post("/api/v1/notifications", Some(&il), exercise(35.9));
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    let check = |token: &str| {
        http.post("/api/v1/deconfliction/check", Some(token), exercise(35.91))
            .json()["activities"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(check(&sy), 1, "Syria's exercise would overlap Israel's");

    let before = recorded(&http, &us);
    let withdraw = format!("/api/v1/notifications/{id}/withdraw");
    for token in [&sy, &us] {
        let r = http.post(&withdraw, Some(token), json!({"reason": "mine now"}));
        assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    }
    assert_eq!(recorded(&http, &us), before, "nothing recorded");
    let r = http.post(&withdraw, Some(&il), json!({"reason": "cancelled"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        check(&sy),
        0,
        "a withdrawn notification conflicts with nothing"
    );
    let r = http.post(&withdraw, Some(&il), json!({}));
    assert_eq!((r.status, r.code().as_str()), (409, "invalid_state"));
}
