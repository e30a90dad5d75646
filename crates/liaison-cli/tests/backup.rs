//! Backup and restore through the real binary: a backup taken while 64 writers write is
//! restored elsewhere, verifies, serves, and holds every event acknowledged before it
//! began; a restore that would roll the log back behind what the cell recorded or a
//! party's witness cosigned is refused unless forced.

mod common;

use common::{Cell, Http, Server, all_events, bin, command_as};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run liaison")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn send(http: &Http, token: &str, subject: &str) -> Option<u64> {
    let r = http.post(
        "/api/v1/messages",
        Some(token),
        json!({"to": ["sy"], "precedence": "routine", "subject": subject, "body": "backup test", "language": "en"}),
    );
    (r.status == 200).then(|| {
        r.json()["receipt"]["index"]
            .as_u64()
            .expect("receipt index")
    })
}

#[test]
fn a_backup_taken_under_64_writers_restores_elsewhere_verifies_and_keeps_every_acknowledged_event()
{
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");

    // (subject, index, when the answer arrived)
    let acked = Arc::new(Mutex::new(Vec::<(String, u64, Instant)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..64)
        .map(|t| {
            let (url, il, acked, stop) =
                (server.url.clone(), il.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let http = Http::new(&url);
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let subject = format!("w{t}-{i}");
                    if let Some(index) = send(&http, &il, &subject) {
                        acked
                            .lock()
                            .expect("lock")
                            .push((subject, index, Instant::now()));
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let out = cell.tmp.path().join("cell-backup.tar");
    let started = Instant::now();
    let said = ok(&run(&[
        "backup",
        "--data",
        p(&cell.data()),
        "--out",
        p(&out),
    ]));
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer");
    }
    assert!(said.contains("OK: the copy verifies"), "{said}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out)
        .expect("archive")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the archive holds private keys");
    let acked = acked.lock().expect("lock").clone();
    let before: Vec<_> = acked.iter().filter(|a| a.2 < started).collect();
    let after = acked.len() - before.len();
    assert!(
        before.len() > 64 && after > 0,
        "writes went on before ({}) and during or after ({after}) the backup",
        before.len()
    );

    // Restored into a new folder, the copy verifies offline and serves.
    let restored = cell.tmp.path().join("restored");
    ok(&run(&[
        "restore",
        "--from",
        p(&out),
        "--data",
        p(&restored),
    ]));
    let verified = ok(&run(&["verify", "--data", p(&restored)]));
    assert!(verified.starts_with("OK: "), "{verified}");
    let copy = Server::start(&restored);
    let copy_http = Http::new(&copy.url);
    let us = cell.token("us-supervisor");
    let original = all_events(&http, &us);
    let events = all_events(&copy_http, &us);
    assert!(
        events.len() < original.len(),
        "the copy is of a moment during the writes"
    );
    // The copy is a prefix of the record: the same events, byte for byte as served.
    assert_eq!(events[..], original[..events.len()]);
    for (subject, index, _) in &before {
        let e = &events.get(*index as usize).unwrap_or_else(|| {
            panic!("event {index} ({subject}) acknowledged before the backup is missing")
        });
        assert_eq!(e["kind"], "message_sent");
        assert_eq!(e["data"]["subject"], json!(subject));
    }
    // The restored cell takes writes, continuing the sequence it holds.
    let next = send(&copy_http, &il, "after restore").expect("a write on the restored cell");
    assert_eq!(next, events.len() as u64);
}

/// Registers a witness key for `party` and runs its witness once, cosigning the head.
fn cosign_once(cell: &Cell, url: &str, party: &str, state: &Path) {
    let key = cell.tmp.path().join(format!("{party}-witness.key"));
    if !key.exists() {
        ok(&run(&["keygen", "--out", p(&key), "--witness", party]));
        let vkey = std::fs::read_to_string(key.with_extension("vkey")).expect("vkey");
        let r = Http::new(url).post(
            "/api/v1/witnesses",
            Some(&cell.token(&format!("{party}-admin"))),
            json!({"vkey": vkey.trim()}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let token = cell.token(&format!("{party}-admin"));
    let creds = cell.data().join(format!("credentials-{party}.json"));
    ok(&command_as(&token)
        .args([
            "--server", url, "--token", &token, "witness", "--party", party,
        ])
        .args(["--witness-key", p(&key), "--state", p(state)])
        .args(["--credentials", p(&creds), "--once"])
        .output()
        .expect("run witness"));
}

fn head(http: &Http, cell: &Cell) -> u64 {
    http.head(&cell.token("us-supervisor"))
        .as_u64()
        .expect("size")
}

#[test]
fn a_restore_that_would_roll_the_log_back_is_refused_unless_forced() {
    let cell = Cell::init();
    let mut server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    for i in 0..3 {
        send(&http, &il, &format!("before {i}")).expect("write");
    }
    let out = cell.tmp.path().join("early.tar");
    ok(&run(&[
        "backup",
        "--data",
        p(&cell.data()),
        "--out",
        p(&out),
    ]));
    // A backup never overwrites a file.
    let again = run(&["backup", "--data", p(&cell.data()), "--out", p(&out)]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
    let backed_up = head(&http, &cell);
    for i in 0..3 {
        send(&http, &il, &format!("after {i}")).expect("write");
    }
    // il's witness cosigns the log as it is now, beyond the backup.
    let state = cell.tmp.path().join("il-witness");
    cosign_once(&cell, &server.url, "il", &state);
    let cosigned = head(&http, &cell);
    assert!(cosigned > backed_up);
    server.kill9();

    // Over the cell itself: refused, naming the witness, and nothing is touched.
    let db = std::fs::read(cell.data().join("cell.db")).expect("db");
    let o = run(&["restore", "--from", p(&out), "--data", p(&cell.data())]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("roll the log back"), "{err}");
    assert!(err.contains("il's witness"), "{err}");
    assert!(err.contains(&format!("holds {backed_up} events")), "{err}");
    assert_eq!(std::fs::read(cell.data().join("cell.db")).expect("db"), db);

    // Into a new folder, the witness's state says how far the log went: refused too,
    // and the folder holds nothing of the backup.
    let fresh = cell.tmp.path().join("fresh");
    let o = run(&[
        "restore",
        "--from",
        p(&out),
        "--data",
        p(&fresh),
        "--witness-state",
        p(&state),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&format!("has reached {cosigned} events")),
        "{err}"
    );
    assert!(!fresh.join("cell.db").exists());
    // A folder that is not empty and holds no cell is refused.
    let other = cell.tmp.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("notes.txt"), "mine").expect("write");
    let o = run(&["restore", "--from", p(&out), "--data", p(&other)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty and holds no cell"));

    // Forced: the log is rolled back, the cell it replaced is kept aside, and the
    // restored cell verifies and serves the backup's events.
    let said = ok(&run(&[
        "restore",
        "--from",
        p(&out),
        "--data",
        p(&cell.data()),
        "--force",
    ]));
    assert!(said.contains("ROLLED BACK"), "{said}");
    let kept: Vec<_> = std::fs::read_dir(cell.data())
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("replaced-"))
        .collect();
    assert_eq!(kept.len(), 1, "the replaced cell is kept aside");
    assert_eq!(
        std::fs::read(kept[0].path().join("cell.db")).expect("kept db"),
        db
    );
    ok(&run(&["verify", "--data", p(&cell.data())]));
    let server = cell.serve();
    let http = Http::new(&server.url);
    assert_eq!(head(&http, &cell), backed_up);
    // il's witness sees a log that is not an extension of what it cosigned, and stops.
    let token = cell.token("il-admin");
    let o = command_as(&token)
        .args([
            "--server",
            &server.url,
            "--token",
            &token,
            "witness",
            "--party",
            "il",
        ])
        .args(["--witness-key", p(&cell.tmp.path().join("il-witness.key"))])
        .args(["--state", p(&state)])
        .args([
            "--credentials",
            p(&cell.data().join("credentials-il.json")),
            "--once",
        ])
        .output()
        .expect("run witness");
    let told = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !o.status.success(),
        "the witness accepted a rolled-back log: {told}"
    );
    assert!(told.contains("WITNESS STOPPED"), "{told}");
}
