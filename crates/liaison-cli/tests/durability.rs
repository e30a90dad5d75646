//! An acknowledged write survives `kill -9`: writers hammer the server, it is killed
//! mid-burst, restarted, and every acknowledged event is there, in a gapless sequence.

mod common;

use common::{Cell, Http, all_events};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn kill_9_during_writes_loses_nothing_acknowledged() {
    let cell = Cell::init();
    let mut server = cell.serve();
    let http = Http::new(&server.url);
    let us = cell.token("us-supervisor");
    let admin = cell.token("il-admin");
    cell.approve(&http);

    let acked = Arc::new(Mutex::new(Vec::<(String, u64, serde_json::Value)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..8 {
        let (url, admin, acked, stop) = (
            server.url.clone(),
            admin.clone(),
            acked.clone(),
            stop.clone(),
        );
        handles.push(std::thread::spawn(move || {
            let http = Http::new(&url);
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("d{t}-{i}");
                let client = reqwest::blocking::Client::new();
                let body =
                    serde_json::to_vec(&json!({"name": name, "party": "il", "role": "analyst"}))
                        .expect("json");
                let mut rb = client
                    .post(format!("{url}/api/v1/operators"))
                    .bearer_auth(&admin)
                    .header("content-type", "application/json");
                for (k, v) in
                    common::signature_headers(&admin, "POST", "/api/v1/operators", &[], &body)
                {
                    rb = rb.header(k, v);
                }
                let r = rb.body(body).send();
                match r {
                    Ok(resp) if resp.status().as_u16() == 200 => {
                        let v: serde_json::Value = resp.json().expect("json");
                        let idx = v["receipt"]["index"].as_u64().expect("index");
                        acked
                            .lock()
                            .expect("lock")
                            .push((name, idx, v["receipt"].clone()));
                    }
                    _ => {}
                }
                i += 1;
            }
            drop(http);
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for h in handles {
        let _ = h.join();
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() > 20,
        "the burst was too small to prove anything: {}",
        acked.len()
    );

    let server = cell.serve();
    let http = Http::new(&server.url);
    let events = all_events(&http, &us);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["seq"].as_u64(),
            Some(i as u64),
            "the sequence has a gap at {i}"
        );
    }
    for (name, idx, _) in &acked {
        let e = &events[*idx as usize];
        assert_eq!(e["kind"], "operator_added");
        assert_eq!(
            e["data"]["operator"]["name"],
            name.as_str(),
            "acknowledged event {idx} is not {name}"
        );
    }
    // Every receipt still proves its event against the checkpoint it was given, and every
    // checkpoint signed before the crash is consistent with the log after it.
    let vkey = http.get("/api/v1/cell", Some(&us)).json()["log"]["vkey"]
        .as_str()
        .expect("vkey")
        .to_string();
    let log = liaison_log::note::Verifier::from_vkey(&vkey).expect("vkey");
    let mut largest = (0u64, [0u8; 32]);
    for (_, idx, receipt) in &acked {
        let r = liaison_log::proof::Receipt::parse(receipt["text"].as_str().expect("text"))
            .expect("parse");
        let leaf: [u8; 32] = hex::decode(receipt["leaf_hash"].as_str().expect("leaf"))
            .expect("hex")
            .try_into()
            .expect("32");
        let cp = r
            .verify(&log, &leaf)
            .unwrap_or_else(|e| panic!("receipt {idx}: {e}"));
        if cp.size > largest.0 {
            largest = (cp.size, cp.root);
        }
    }
    let note = reqwest::blocking::Client::new()
        .get(format!("{}/log/checkpoint", server.url))
        .bearer_auth(&us)
        .send()
        .expect("get")
        .text()
        .expect("text");
    let opened = liaison_log::note::open_note(&note, std::slice::from_ref(&log)).expect("signed");
    let now = liaison_log::checkpoint::Checkpoint::parse(opened.text()).expect("checkpoint");
    let base = server.url.clone();
    let mut tiles =
        liaison_log::tiles::TiledHashes::new(now.size, |p: liaison_log::tiles::TilePath| {
            reqwest::blocking::Client::new()
                .get(format!("{base}/log/{}", p.format()))
                .bearer_auth(&us)
                .send()
                .and_then(|r| r.bytes())
                .map(|b| b.to_vec())
                .map_err(|e| e.to_string())
        });
    let proof =
        liaison_log::merkle::consistency_proof(&mut tiles, largest.0, now.size).expect("proof");
    liaison_log::merkle::verify_consistency_from(
        largest.0, now.size, &proof, &largest.1, &now.root,
    )
    .expect("the log after the crash continues every checkpoint signed before it");
    // And the cell still takes writes after the restart.
    let r = http.post(
        "/api/v1/operators",
        Some(&admin),
        json!({"name": "after-restart", "party": "il", "role": "analyst"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
