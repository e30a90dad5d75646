//! Continuous replication through the real binary: a server keeping a replica answers a
//! write only once the replica holds it, so destroying the primary's data folder during
//! 64 writers' writes loses no acknowledged event; a replica that is ahead of the
//! primary or diverges from it is refused at start (one behind is caught up); and a
//! replica that does not take writes refuses them with `replica_unavailable`, keeps
//! nothing of them, and writes resume when it answers again.

mod common;

use common::{Cell, Http, Mounted, Server, all_events, bin, fill};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
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

fn verify(data: &Path) -> String {
    ok(&Command::new(bin())
        .args(["verify", "--data", p(data)])
        .output()
        .expect("verify"))
}

fn send(http: &Http, token: &str, subject: &str) -> common::Resp {
    http.post(
        "/api/v1/messages",
        Some(token),
        json!({"to": ["sy"], "precedence": "routine", "subject": subject, "body": "replication test", "language": "en"}),
    )
}

fn serve_replicated(data: &Path, replica: &Path) -> Server {
    Server::start_with(
        data,
        &["--replica", p(replica)],
        &[("LIAISON_LOG", "warn")],
        Stdio::inherit(),
    )
}

/// Runs `serve` expecting it to refuse to start; returns what it said on stderr.
fn serve_refused(data: &Path, extra: &[&str]) -> String {
    let mut child = Command::new(bin())
        .args(["serve", "--data", p(data), "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("LIAISON_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            use std::io::Read;
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            assert!(!status.success(), "serve exited 0: {err}");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve {extra:?} on {} started; it should refuse",
                data.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    for e in std::fs::read_dir(from).expect("list") {
        let e = e.expect("entry");
        if e.file_type().expect("type").is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

fn head(http: &Http, cell: &Cell) -> u64 {
    http.head(&cell.token("us-supervisor"))
        .as_u64()
        .expect("size")
}

#[test]
fn destroying_the_primary_during_64_writers_loses_no_acknowledged_event() {
    let cell = Cell::init();
    let replica = cell.tmp.path().join("replica");
    let mut server = serve_replicated(&cell.data(), &replica);
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");

    // The replica's folder is the replicating server's: serving from it is refused.
    let err = serve_refused(&replica, &[]);
    assert!(err.contains("is the replica of a running server"), "{err}");

    // (subject, index) of every write answered with a receipt.
    let acked = Arc::new(Mutex::new(Vec::<(String, u64)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..64)
        .map(|t| {
            let (url, il, acked, stop) =
                (server.url.clone(), il.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("client");
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let subject = format!("w{t}-{i}");
                    if let Some(index) = send_quiet(&client, &url, &il, &subject) {
                        acked.lock().expect("lock").push((subject, index));
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    // The primary's data folder is destroyed while the writers write; the server goes
    // on a moment on what it still holds open, and then the host is lost.
    let before = acked.lock().expect("lock").len();
    std::fs::remove_dir_all(cell.data()).expect("rm -rf the primary");
    std::thread::sleep(Duration::from_millis(700));
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        before > 64 && acked.len() > before,
        "writes were acknowledged before ({before}) and after ({}) the primary was destroyed",
        acked.len()
    );
    assert!(!cell.data().exists());

    // Recovery: the replica is a data folder; it verifies offline and serves.
    let verified = verify(&replica);
    assert!(verified.starts_with("OK: "), "{verified}");
    let recovered = Server::start(&replica);
    let rhttp = Http::new(&recovered.url);
    let events = all_events(&rhttp, &cell.token("us-supervisor"));
    for (subject, index) in &acked {
        let e = events.get(*index as usize).unwrap_or_else(|| {
            panic!(
                "event {index} ({subject}) was acknowledged but the replica holds {} events",
                events.len()
            )
        });
        assert_eq!(e["kind"], "message_sent");
        assert_eq!(e["data"]["subject"], json!(subject), "event {index}");
    }
    // The recovered cell takes writes, continuing the sequence.
    let r = send(&rhttp, &il, "after recovery");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["receipt"]["index"], json!(events.len()));
}

/// A write's receipt index, or `None` when it was refused or the connection failed
/// (the server is killed under the writers).
fn send_quiet(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    subject: &str,
) -> Option<u64> {
    let path = "/api/v1/messages";
    let body = serde_json::to_vec(&json!({"to": ["sy"], "precedence": "routine", "subject": subject, "body": "replication test", "language": "en"})).expect("json");
    let headers = [("content-type", "application/json")];
    let mut rb = client
        .post(format!("{url}{path}"))
        .bearer_auth(token)
        .header("content-type", "application/json");
    for (k, v) in common::signature_headers(token, "POST", path, &headers, &body) {
        rb = rb.header(k, v);
    }
    let r = rb.body(body).send().ok()?;
    if r.status() != 200 {
        return None;
    }
    let v: serde_json::Value = r.json().ok()?;
    v["receipt"]["index"].as_u64()
}

#[test]
fn a_replica_ahead_or_diverging_is_refused_at_start_and_one_behind_is_caught_up() {
    let cell = Cell::init();
    let replica = cell.tmp.path().join("replica");
    let mut server = serve_replicated(&cell.data(), &replica);
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    for i in 0..3 {
        let r = send(&http, &il, &format!("both {i}"));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let n = head(&http, &cell);
    server.kill9();
    let stale = cell.tmp.path().join("stale");
    copy_dir(&replica, &stale);
    let fork = cell.tmp.path().join("fork");
    copy_dir(&cell.data(), &fork);

    // The replica served on its own goes ahead of the primary: refused, untouched.
    {
        let alone = Server::start(&replica);
        let h = Http::new(&alone.url);
        for i in 0..2 {
            assert_eq!(send(&h, &il, &format!("replica {i}")).status, 200);
        }
    }
    let err = serve_refused(&cell.data(), &["--replica", p(&replica)]);
    assert!(
        err.contains(&format!(
            "is ahead of the primary: it holds {} events, the primary {n}",
            n + 2
        )),
        "{err}"
    );
    // A copy of the primary that went its own way to the same size: diverges.
    {
        let alone = Server::start(&fork);
        let h = Http::new(&alone.url);
        for i in 0..2 {
            assert_eq!(send(&h, &il, &format!("fork {i}")).status, 200);
        }
    }
    let err = serve_refused(&fork, &["--replica", p(&replica)]);
    assert!(err.contains("diverges from the primary"), "{err}");
    // Both refusals left the replica as it was: it still serves its own history.
    {
        let alone = Server::start(&replica);
        let h = Http::new(&alone.url);
        let events = all_events(&h, &cell.token("us-supervisor"));
        assert_eq!(events.len() as u64, n + 2);
        assert_eq!(events[n as usize]["data"]["subject"], json!("replica 0"));
    }
    // A replica of another cell is refused by its log key.
    let other = Cell::init();
    let err = serve_refused(&other.data(), &["--replica", p(&replica)]);
    assert!(err.contains("another cell's log key"), "{err}");
    // The replica may not live inside the data folder.
    let inside = cell.data().join("replica");
    let err = serve_refused(&cell.data(), &["--replica", p(&inside)]);
    assert!(err.contains("must be outside the data directory"), "{err}");

    // A replica behind the primary (the stale copy, at n) is caught up on start, and
    // follows every write from then on.
    let server = serve_replicated(&fork, &stale);
    let h = Http::new(&server.url);
    let r = send(&h, &il, "caught up");
    assert_eq!(r.status, 200, "{}", r.body);
    let fork_events = all_events(&h, &cell.token("us-supervisor"));
    assert_eq!(fork_events.len() as u64, n + 3);
    drop(server);
    verify(&stale);
    let follower = Server::start(&stale);
    let fh = Http::new(&follower.url);
    assert_eq!(all_events(&fh, &cell.token("us-supervisor")), fork_events);
}

#[test]
fn a_replica_that_takes_no_writes_refuses_them_keeps_nothing_and_writes_resume() {
    let cell = Cell::init();
    // The replica lives on a small disk of its own, which the test fills.
    let disk = cell.tmp.path().join("disk");
    let mounted = match Mounted::tmpfs(&disk, "8m") {
        Ok(m) => m,
        Err(reason) => {
            println!("SKIPPED: cannot mount a tmpfs ({reason}); this test needs root");
            return;
        }
    };
    let replica = disk.join("replica");
    // Given through the environment, as a unit file would.
    let server = Server::start_with_env(&cell.data(), &[("LIAISON_REPLICA", p(&replica))]);
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
    let mut refused = None;
    for i in 0..200 {
        let r = send(&http, &il, &format!("unreplicated {i}"));
        if r.status != 200 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("no write was refused with the replica's disk full");
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "replica_unavailable"),
        "{}",
        r.body
    );
    let events = all_events(&http, &us);
    let size = events.len() as u64;
    let r = send(&http, &il, "still refused");
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "replica_unavailable"),
        "{}",
        r.body
    );
    // Nothing refused was recorded, reads go on, health and metrics say why.
    assert_eq!(all_events(&http, &us), events);
    assert!(
        events
            .iter()
            .all(|e| e["data"]["subject"] != json!("still refused"))
    );
    assert_eq!(http.head(&us), json!(size));
    let h = http.get("/healthz", None);
    assert_eq!(
        (h.status, h.json()["status"].clone()),
        (200, json!("replica_unavailable"))
    );
    let m = http.get("/metrics", Some(&us));
    assert_eq!(m.status, 200, "{}", m.body);
    assert!(m.body.contains("liaison_replica_up 0\n"), "{}", m.body);
    assert!(
        m.body.contains("liaison_replica_lag_entries 0\n"),
        "{}",
        m.body
    );
    assert!(
        !m.body.contains("liaison_replica_failures_total 0\n"),
        "{}",
        m.body
    );

    // The replica's disk has room again: the next write continues the sequence.
    std::fs::remove_file(&filler).expect("remove filler");
    let r = send(&http, &il, "replicated again");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["receipt"]["index"], json!(size));
    let h = http.get("/healthz", None);
    assert_eq!((h.status, h.json()["status"].clone()), (200, json!("ok")));
    let m = http.get("/metrics", Some(&us));
    assert!(m.body.contains("liaison_replica_up 1\n"), "{}", m.body);
    let after = all_events(&http, &us);
    drop(server);

    // The replica holds exactly the primary's record, and both verify.
    verify(&cell.data());
    verify(&replica);
    let follower = Server::start(&replica);
    let fh = Http::new(&follower.url);
    assert_eq!(all_events(&fh, &us), after);
}

/// Two servers on one data directory would each append from their own state and fork
/// the record: the second is refused while the first runs, and serves once it stopped.
#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    let cell = Cell::init();
    let first = Server::start(&cell.data());
    let h = Http::new(&first.url);
    cell.approve(&h);
    let r = send(&h, &cell.token("il-liaison"), "first");
    assert_eq!(r.status, 200, "{}", r.body);
    let err = serve_refused(&cell.data(), &[]);
    assert!(err.contains("another server serves"), "{err}");
    assert!(err.contains("serve.lock"), "{err}");
    drop(first);
    let second = Server::start(&cell.data());
    let h = Http::new(&second.url);
    let r = send(&h, &cell.token("il-liaison"), "second");
    assert_eq!(r.status, 200, "{}", r.body);
}
