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
    let admin = cell.token("us-admin");
    assert_eq!(
        http.post("/api/v1/cell/approve", Some(&us), json!({}))
            .status,
        200
    );

    let acked = Arc::new(Mutex::new(Vec::<(String, u64)>::new()));
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
                let r = client
                    .post(format!("{url}/api/v1/operators"))
                    .bearer_auth(&admin)
                    .json(&json!({"name": name, "party": "il", "role": "analyst"}))
                    .send();
                match r {
                    Ok(resp) if resp.status().as_u16() == 200 => {
                        let v: serde_json::Value = resp.json().expect("json");
                        let idx = v["receipt"]["index"].as_u64().expect("index");
                        acked.lock().expect("lock").push((name, idx));
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
    for (name, idx) in &acked {
        let e = &events[*idx as usize];
        assert_eq!(e["kind"], "operator_added");
        assert_eq!(
            e["data"]["operator"]["name"],
            name.as_str(),
            "acknowledged event {idx} is not {name}"
        );
    }
    // And the cell still takes writes after the restart.
    let r = http.post(
        "/api/v1/operators",
        Some(&admin),
        json!({"name": "after-restart", "party": "sy", "role": "analyst"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
