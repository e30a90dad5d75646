//! A full disk through the real binary: the data directory on a small tmpfs is filled,
//! writes are refused with `storage_full` (507) and leave nothing behind, reads go on,
//! and once the filler is deleted writes resume, without a restart.

mod common;

use common::{Cell, Http, all_events};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Mounted(PathBuf);

impl Mounted {
    /// Mounts a tmpfs of `size` at `dir`; `Err` with the reason when not permitted.
    fn tmpfs(dir: &Path, size: &str) -> Result<Mounted, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let o = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
        }
        Ok(Mounted(dir.to_path_buf()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the filesystem has no room left.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(k) => n += k as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // The last pages the page cache held back.
    let _ = f.sync_all();
    n
}

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
