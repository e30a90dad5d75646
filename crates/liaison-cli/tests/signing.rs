//! Author signatures that bind what is recorded: a captured request cannot be replayed
//! (not even after a restart), a signed TAXII submission cannot be sent to other
//! recipients, a stale time is refused, an operator who must sign cannot write unsigned
//! (an observer may), writes the server makes on an operator's behalf are marked as its
//! observation, and `liaison verify` catches signed bytes that are not what was signed.

mod common;

use common::{Cell, Http, all_events, fresh_nonce, sign_with, time_from_now};
use serde_json::json;

fn head(http: &Http) -> serde_json::Value {
    http.get("/healthz", None).json()["events"].clone()
}

fn message() -> Vec<u8> {
    serde_json::to_vec(
        &json!({"to": ["sy"], "precedence": "routine", "subject": "s", "body": "we withdraw"}),
    )
    .expect("json")
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[test]
fn a_captured_signed_request_replayed_byte_for_byte_is_refused_even_after_a_restart() {
    let cell = Cell::init();
    let mut server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let key = common::key_for(&il).expect("init made il-liaison a key");
    let body = message();
    let mut headers = sign_with(
        &key,
        "POST",
        "/api/v1/messages",
        &[JSON],
        &body,
        &fresh_nonce(),
        &time_from_now(0),
    );
    headers.push((JSON.0.into(), JSON.1.into()));
    let r = http.send_exact(
        "POST",
        "/api/v1/messages",
        Some(&il),
        &headers,
        body.clone(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let before = head(&http);
    let r = http.send_exact(
        "POST",
        "/api/v1/messages",
        Some(&il),
        &headers,
        body.clone(),
    );
    assert_eq!((r.status, r.code().as_str()), (401, "signature_replayed"));
    assert_eq!(head(&http), before, "a replay records nothing");

    // The nonce memory is derived from the record: a restart does not forget it.
    server.kill9();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let r = http.send_exact("POST", "/api/v1/messages", Some(&il), &headers, body);
    assert_eq!((r.status, r.code().as_str()), (401, "signature_replayed"));
    assert_eq!(head(&http), before);
}

#[test]
fn a_signed_taxii_submission_sent_to_other_recipients_is_refused() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let key = common::key_for(&il).expect("key");
    let path = "/taxii2/il/collections/submissions/objects/";
    let body = serde_json::to_vec(&json!({"objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--a1b2c3d4-0000-4000-8000-000000000009",
         "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z", "name": "launcher",
         "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix", "valid_from": "2026-01-10T08:00:00Z"}]}))
    .expect("json");
    let ct = ("content-type", "application/taxii+json;version=2.1");
    let signed_for = [
        ct,
        ("x-liaison-recipients", "sy"),
        ("x-liaison-precedence", "flash"),
    ];
    let sig = sign_with(
        &key,
        "POST",
        path,
        &signed_for,
        &body,
        &fresh_nonce(),
        &time_from_now(0),
    );
    let with = |recipients: &str, precedence: &str| {
        let mut h = sig.clone();
        h.push((ct.0.into(), ct.1.into()));
        h.push(("x-liaison-recipients".into(), recipients.into()));
        h.push(("x-liaison-precedence".into(), precedence.into()));
        h
    };
    let before = head(&http);
    for (recipients, precedence) in [("sy,undof", "flash"), ("undof", "flash"), ("sy", "routine")] {
        let r = http.send_exact(
            "POST",
            path,
            Some(&il),
            &with(recipients, precedence),
            body.clone(),
        );
        assert_eq!(r.status, 422, "{recipients} {precedence}: {}", r.body);
        assert!(r.body.contains("does not verify"), "{}", r.body);
    }
    // A query string the author did not sign is refused too.
    let r = http.send_exact(
        "POST",
        &format!("{path}?x=1"),
        Some(&il),
        &with("sy", "flash"),
        body.clone(),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(head(&http), before, "nothing was recorded");
    // As signed, it is taken, and its recipients are those the author signed.
    let r = http.send_exact("POST", path, Some(&il), &with("sy", "flash"), body);
    assert_eq!(r.status, 202, "{}", r.body);
    let us = cell.token("us-supervisor");
    let submitted = all_events(&http, &us)
        .into_iter()
        .find(|e| e["kind"] == "intel_submitted")
        .expect("submitted");
    let signed = submitted["signature"]["signed"].as_str().expect("signed");
    assert!(
        signed.contains("\nheader x-liaison-recipients: sy\n")
            && signed.contains("\nheader x-liaison-precedence: flash\n"),
        "{signed}"
    );
}

#[test]
fn a_time_outside_the_window_is_refused() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let key = common::key_for(&il).expect("key");
    let before = head(&http);
    for offset in [-301 - 60, 301 + 60] {
        let body = message();
        let mut headers = sign_with(
            &key,
            "POST",
            "/api/v1/messages",
            &[JSON],
            &body,
            &fresh_nonce(),
            &time_from_now(offset),
        );
        headers.push((JSON.0.into(), JSON.1.into()));
        let r = http.send_exact("POST", "/api/v1/messages", Some(&il), &headers, body);
        assert_eq!(
            (r.status, r.code().as_str()),
            (401, "signature_stale"),
            "{offset}s: {}",
            r.body
        );
    }
    // A time that is not RFC 3339 is a malformed signature.
    let body = message();
    let mut headers = sign_with(
        &key,
        "POST",
        "/api/v1/messages",
        &[JSON],
        &body,
        &fresh_nonce(),
        "yesterday",
    );
    headers.push((JSON.0.into(), JSON.1.into()));
    let r = http.send_exact("POST", "/api/v1/messages", Some(&il), &headers, body);
    assert_eq!((r.status, r.code().as_str()), (422, "bad_signature"));
    assert_eq!(head(&http), before, "nothing was recorded");
}

#[test]
fn an_operator_who_must_sign_cannot_write_unsigned_and_an_observer_may() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    // Even the supervisor's approval of the charter is refused unsigned.
    let us = cell.token("us-supervisor");
    let r = http.post_unsigned("/api/v1/cell/approve", Some(&us), json!({}));
    assert_eq!((r.status, r.code().as_str()), (401, "signature_required"));
    cell.approve(&http);
    let before = head(&http);
    for name in ["il-liaison", "sy-analyst", "us-admin"] {
        let r = http.post_unsigned(
            "/api/v1/messages",
            Some(&cell.token(name)),
            json!({"to": ["sy", "il"], "precedence": "flash", "subject": "s", "body": "b"}),
        );
        assert_eq!(
            (r.status, r.code().as_str()),
            (401, "signature_required"),
            "{name}: {}",
            r.body
        );
    }
    assert_eq!(head(&http), before, "nothing was recorded");
    // The observer signs optionally (the charter is silent): `init` made it no key, and
    // its unsigned write is its statement.
    assert!(common::key_for(&cell.token("undof-observer")).is_none());
    let undof = cell.token("undof-observer");
    let post = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.95, 32.95]},
        "properties": {"category": "un_post", "radius_m": 300, "names": {"en": "Observation Post 73"}}});
    let r = http.post_unsigned("/api/v1/sites", Some(&undof), post);
    assert_eq!(r.status, 200, "{}", r.body);
    let site = all_events(&http, &undof)
        .into_iter()
        .find(|e| e["kind"] == "site_registered" && e["author"]["operator"] == "undof-observer")
        .expect("site");
    assert!(site["signature"].is_null() && site["author"]["observed"].is_null());
}

#[test]
fn a_charter_can_make_an_observer_sign_and_a_member_optional() {
    let demo = std::fs::read_to_string(common::repo_root().join("examples/demo.toml"))
        .expect("demo charter");
    let charter = demo
        .replace(
            "role = \"observer\"\n[[operators]]",
            "role = \"observer\"\nsignatures = \"required\"\n[[operators]]",
        )
        .replacen(
            "role = \"member\"\n",
            "role = \"member\"\nsignatures = \"optional\"\n",
            1,
        );
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("charter.toml");
    std::fs::write(&path, charter).expect("write");
    let cell = Cell::init_with(&path);
    assert!(common::key_for(&cell.token("undof-observer")).is_some());
    assert!(common::key_for(&cell.token("il-liaison")).is_none());
    assert!(common::key_for(&cell.token("sy-liaison")).is_some());
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let post = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.95, 32.95]},
        "properties": {"category": "un_post", "radius_m": 300, "names": {"en": "Observation Post 73"}}});
    let r = http.post_unsigned("/api/v1/sites", Some(&cell.token("undof-observer")), post);
    assert_eq!((r.status, r.code().as_str()), (401, "signature_required"));
    let r = http.post_unsigned(
        "/api/v1/messages",
        Some(&cell.token("il-liaison")),
        json!({"to": ["sy"], "precedence": "routine", "subject": "s", "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A setting other than required or optional is refused at its line.
    let bad = demo.replacen(
        "role = \"member\"\n",
        "role = \"member\"\nsignatures = \"sometimes\"\n",
        1,
    );
    std::fs::write(&path, bad).expect("write");
    let out = common::liaison(&[
        "init",
        "--data",
        dir.path().join("bad").to_str().expect("p"),
        "--charter",
        path.to_str().expect("p"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("parties[0].signatures"), "{err}");
}

#[test]
fn deliveries_and_reads_are_the_servers_observation_and_verify_checks_every_signature() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let (il, sy) = (cell.token("il-liaison"), cell.token("sy-liaison"));
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "routine", "subject": "s", "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    // Syria's client fetches it: the server records its delivery, as its observation.
    // A person of Syria opens it: Syria's own statement.
    assert_eq!(http.get("/api/v1/messages", Some(&sy)).status, 200);
    assert_eq!(
        http.post(&format!("/api/v1/messages/{id}/read"), Some(&sy), json!({}))
            .status,
        200
    );
    let events = all_events(&http, &sy);
    let delivered = events
        .iter()
        .find(|e| e["kind"] == "message_delivered")
        .expect("message_delivered");
    assert_eq!(delivered["author"]["observed"], true, "{delivered}");
    assert!(delivered["signature"].is_null(), "{delivered}");
    let read = events
        .iter()
        .find(|e| e["kind"] == "message_read")
        .expect("message_read");
    assert!(read["author"]["observed"].is_null(), "{read}");
    assert!(read["signature"]["signed"].is_string(), "{read}");
    let sent = events
        .iter()
        .find(|e| e["kind"] == "message_sent")
        .expect("sent");
    assert!(sent["author"]["observed"].is_null(), "a statement: {sent}");
    assert!(sent["signature"]["signed"].is_string(), "{sent}");
    // Syria's `liaison verify` checks the signature of every event it may read.
    let out = common::cli(&server, &sy, &["verify", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v["signatures"].as_u64().unwrap_or(0) >= 2, "{v}");
}

#[test]
fn verify_detects_an_event_whose_signed_bytes_are_not_what_was_signed() {
    let cell = Cell::init();
    let mut server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "routine", "subject": "s", "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seq = r.json()["id"].as_u64().expect("id");
    server.kill9();
    let data = cell.data();
    let out = common::liaison(&["verify", "--data", data.to_str().expect("p"), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["signatures"].as_u64().unwrap_or(0) >= 2, "{v}");

    let db = rusqlite::Connection::open(data.join("cell.db")).expect("open");
    let (entry, event): (Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT entry, event FROM events WHERE seq = ?1",
            [seq as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    let mut ev: serde_json::Value = serde_json::from_slice(&event).expect("event json");
    let signed = ev["signature"]["signed"]
        .as_str()
        .expect("signed")
        .to_string();
    // The host rewrites the signed bytes to claim another request was signed.
    let forged = signed.replace("path /api/v1/messages\n", "path /api/v1/messages/\n");
    assert_ne!(forged, signed);
    ev["signature"]["signed"] = json!(forged);
    let forged_event = serde_json::to_vec(&ev).expect("json");
    db.execute(
        "UPDATE events SET event = ?1 WHERE seq = ?2",
        rusqlite::params![forged_event, seq as i64],
    )
    .expect("update");
    let out = common::liaison(&["verify", "--data", data.to_str().expect("p")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("event {seq} does not match its log entry")),
        "{err}"
    );
    // Rewriting the entry too, as a host holding the log key could before signing a new
    // checkpoint, still fails: the author's key did not sign those bytes.
    let mut e = liaison_log::entry::Entry::decode(&entry).expect("entry");
    use sha2::Digest;
    e.signed_sha256 = Some(sha2::Sha256::digest(forged.as_bytes()).into());
    db.execute(
        "UPDATE events SET entry = ?1 WHERE seq = ?2",
        rusqlite::params![e.encode(), seq as i64],
    )
    .expect("update");
    let out = common::liaison(&["verify", "--data", data.to_str().expect("p")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "event {seq}: the author's signature does not verify"
        )),
        "{err}"
    );
}
