//! A full disk through the real binary: the data directory on a small tmpfs is filled,
//! writes are refused with `storage_full` (507) and leave nothing behind, reads go on,
//! and once the filler is deleted writes resume, without a restart.

mod common;

use common::{Cell, Http, Mounted, all_events, fill};
use serde_json::json;
use std::process::Command;

fn send(http: &Http, token: &str, subject: &str) -> common::Resp {
    http.post(
        "/api/v1/messages",
        Some(token),
        json!({"to": ["sy"], "precedence": "routine", "subject": subject, "body": "disk test", "language": "en"}),
    )
}

#[test]
fn a_full_disk_refuses_writes_serves_reads_and_writes_resume_when_space_returns() {
    let cell = Cell::init();
    // The cell moves onto a tmpfs of 8 MiB, where it is served from.
    let made = cell.tmp.path().join("made");
    std::fs::rename(cell.data(), &made).expect("move aside");
    let mounted = match Mounted::tmpfs(&cell.data(), "8m") {
        Ok(m) => m,
        Err(reason) => {
            println!("SKIPPED: cannot mount a tmpfs ({reason}); this test needs root");
            return;
        }
    };
    for e in std::fs::read_dir(&made).expect("list") {
        let e = e.expect("entry");
        let to = cell.data().join(e.file_name());
        std::fs::copy(e.path(), &to).expect("copy");
    }
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let us = cell.token("us-supervisor");
    for i in 0..5 {
        let r = send(&http, &il, &format!("before {i}"));
        assert_eq!(r.status, 200, "{}", r.body);
    }

    let filler = mounted.0.join("filler");
    assert!(fill(&filler) > 0);
    // The database may still have room in pages it holds; writes soon run out of it.
    let mut refused = None;
    for i in 0..200 {
        let r = send(&http, &il, &format!("full {i}"));
        if r.status != 200 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("no write was refused on a full disk");
    assert_eq!(
        (r.status, r.code().as_str()),
        (507, "storage_full"),
        "{}",
        r.body
    );
    let events = all_events(&http, &us);
    let head = events.len() as u64;
    // Refused again while the disk stays full, and nothing of it is kept.
    let r = send(&http, &il, "still full");
    assert_eq!(
        (r.status, r.code().as_str()),
        (507, "storage_full"),
        "{}",
        r.body
    );
    // Reads go on: the record as it was, messages, the cell; health says why writes stop.
    assert_eq!(all_events(&http, &us), events);
    assert!(
        events
            .iter()
            .all(|e| e["data"]["subject"] != json!("still full")),
        "a refused write reached the record"
    );
    assert_eq!(http.get("/api/v1/messages", Some(&il)).status, 200);
    assert_eq!(http.head(&us), json!(head));
    let h = http.get("/healthz", None);
    assert_eq!(
        (h.status, h.json()["status"].clone()),
        (200, json!("storage_full"))
    );

    // Space returns: the next write is accepted and continues the sequence, no restart.
    std::fs::remove_file(&filler).expect("remove filler");
    let r = send(&http, &il, "space again");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["receipt"]["index"], json!(head));
    let h = http.get("/healthz", None);
    assert_eq!((h.status, h.json()["status"].clone()), (200, json!("ok")));
    let after = all_events(&http, &us);
    assert_eq!(after.len() as u64, head + 1);
    assert_eq!(after[..events.len()], events[..]);
    drop(server);
    let verified = Command::new(common::bin())
        .args(["verify", "--data", cell.data().to_str().expect("utf8")])
        .output()
        .expect("verify");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
