//! A private log through the real binary: an entry's bytes go only to those who may read
//! its event, every other party gets its leaf hash; an observer's and a member's audit
//! (`liaison verify`) checks in full what it may read and the rest by hash, and still
//! catches a change to any entry, one it may read or not.

mod common;

use common::{Cell, Http, cli};
use liaison_log::entry::Entry;
use liaison_log::tiles::{BundleItem, parse_entry_bundle};
use serde_json::{Value, json};

/// The first entry bundle as `token`'s operator is served it.
fn bundle(url: &str, token: &str, size: u64) -> Vec<Vec<u8>> {
    let r = reqwest::blocking::Client::new()
        .get(format!("{url}/log/tile/entries/000.p/{size}"))
        .bearer_auth(token)
        .send()
        .expect("request");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or("")),
        None,
        "a partial bundle is not to be kept"
    );
    parse_entry_bundle(&r.bytes().expect("body")).expect("a bundle")
}

/// The sequence numbers of the events `token`'s operator reads.
fn readable(http: &Http, token: &str) -> Vec<u64> {
    common::all_events(http, token)
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect()
}

/// Alters one byte of the stored entry of event `seq` (its salt) under the running
/// server, as a rogue administrator of the host might.
fn alter_entry(cell: &Cell, seq: u64) {
    let db = rusqlite::Connection::open(cell.data().join("cell.db")).expect("open");
    let mut entry: Vec<u8> = db
        .query_row("SELECT entry FROM events WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .expect("row");
    assert_eq!(entry[4], 3, "a salted entry");
    entry[5] ^= 1;
    db.execute(
        "UPDATE events SET entry = ?1 WHERE seq = ?2",
        rusqlite::params![entry, seq],
    )
    .expect("update");
}

fn verify(url: &str, token: &str) -> std::process::Output {
    common::command_as(token)
        .args(["--server", url, "--token", token, "--json", "verify"])
        .output()
        .expect("run liaison")
}

#[test]
fn each_party_audits_the_whole_log_reading_only_its_own_entries_and_a_change_is_caught() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let us = cell.token("us-supervisor");
    let sy = cell.token("sy-liaison");
    let undof = cell.token("undof-observer");
    // An exchange between Israel and the United States that neither Syria nor the
    // observer may read, and one message to all.
    let mut secret = Vec::new();
    for i in 0..3 {
        let r = http.post(
            "/api/v1/messages",
            Some(&il),
            json!({"to": ["us"], "precedence": "immediate", "subject": format!("private {i}"), "body": "only for us"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        secret.push(r.json()["id"].as_u64().expect("id"));
    }
    let r = http.post(
        "/api/v1/messages",
        Some(&sy),
        json!({"to": ["il", "us", "undof"], "precedence": "routine", "subject": "to all", "body": "hello"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let size = http.head(&us).as_u64().expect("size");

    // The supervisor reads everything: its bundle is every entry.
    let full = bundle(&server.url, &us, size);
    assert!(
        full.iter()
            .all(|i| matches!(BundleItem::of(i), BundleItem::Entry(_)))
    );
    for token in [&undof, &sy] {
        let mine = readable(&http, token);
        let items = bundle(&server.url, token, size);
        assert_eq!(items.len() as u64, size);
        for (seq, item) in items.iter().enumerate() {
            let seq = seq as u64;
            match BundleItem::of(item) {
                BundleItem::Entry(e) => {
                    assert!(mine.contains(&seq), "entry {seq} given to a non-reader");
                    assert_eq!(Entry::decode(e).expect("entry").index, seq);
                    assert_eq!(e, full[seq as usize].as_slice());
                }
                BundleItem::Withheld(leaf) => {
                    assert!(!mine.contains(&seq), "entry {seq} withheld from a reader");
                    assert_eq!(leaf, liaison_log::merkle::leaf_hash(&full[seq as usize]));
                }
            }
        }
        for s in &secret {
            assert!(!mine.contains(s));
            // No receipt, which would carry the entry, for an event it may not read.
            let r = http.get(&format!("/api/v1/receipts/{s}"), Some(token));
            assert_eq!(r.status, 404);
        }
        // Its audit checks the whole tree: what it reads in full, the rest by hash.
        let out = verify(&server.url, token);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["size"].as_u64(), Some(size));
        assert_eq!(v["entries_in_full"].as_u64(), Some(mine.len() as u64));
        assert_eq!(
            v["entries_by_hash"].as_u64(),
            Some(size - mine.len() as u64)
        );
        assert_eq!(v["events_read"].as_u64(), Some(mine.len() as u64));
        assert!(v["payloads"].as_u64() > Some(0), "{v}");
    }
    let text = cli(&server, &undof, &["verify"]);
    assert!(text.contains("by their leaf hash alone"), "{text}");

    // One byte of an entry the observer may not read, changed on the host: its audit,
    // which never sees that entry, still fails.
    alter_entry(&cell, secret[1]);
    let out = verify(&server.url, &undof);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("different root"), "{err}");
    // And one it may read.
    alter_entry(&cell, secret[1]);
    assert!(verify(&server.url, &undof).status.success(), "restored");
    let last = readable(&http, &undof).last().copied().expect("an event");
    alter_entry(&cell, last);
    let out = verify(&server.url, &undof);
    assert!(!out.status.success());
}
