//! The foundation issue through the real binary and real HTTP: init, charter errors,
//! authentication, the pending-approval rule, suspend/resume, operators and SSE.

mod common;

use common::{Cell, Http, all_events, liaison, repo_root};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn init_accepts_the_issue_charter_and_writes_private_credentials() {
    let cell = Cell::init_with(&repo_root().join("examples/golan.toml"));
    let names: Vec<&str> = cell.tokens.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "il-liaison",
            "sy-liaison",
            "us-supervisor",
            "undof-observer"
        ]
    );
    for t in &cell.tokens {
        assert!(t.3.len() >= 40, "token too short: {}", t.3);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cell.data().join("credentials.json"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // One file per party, to hand over: its own operators only, 0600.
    let all: serde_json::Value = serde_json::from_slice(
        &std::fs::read(cell.data().join("credentials.json")).expect("creds"),
    )
    .expect("json");
    let mut handed = Vec::new();
    for party in ["il", "sy", "us", "undof"] {
        let path = cell.data().join(format!("credentials-{party}.json"));
        let own: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("party file")).expect("json");
        for o in own["operators"].as_array().expect("operators") {
            assert_eq!(o["party"], party, "{path:?} holds another party's operator");
            handed.push(o.clone());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{path:?}");
        }
    }
    let mut every = all["operators"].as_array().expect("operators").clone();
    let key = |o: &serde_json::Value| o["name"].as_str().unwrap_or_default().to_string();
    every.sort_by_key(key);
    handed.sort_by_key(key);
    assert_eq!(handed, every, "the party files hold every operator once");
    // Tokens are stored only as hashes: no token appears in the database.
    let db = std::fs::read(cell.data().join("cell.db")).expect("db");
    let wal = std::fs::read(cell.data().join("cell.db-wal")).unwrap_or_default();
    for t in &cell.tokens {
        let needle = t.3.as_bytes();
        assert!(
            !db.windows(needle.len()).any(|w| w == needle),
            "token stored in clear"
        );
        assert!(
            !wal.windows(needle.len()).any(|w| w == needle),
            "token stored in clear"
        );
    }
    // Twice on the same directory is refused.
    let data = cell.data();
    let out = liaison(&[
        "init",
        "--data",
        data.to_str().expect("utf8"),
        "--charter",
        "../../examples/golan.toml",
    ]);
    assert!(!out.status.success());
}

#[test]
fn malformed_charter_names_line_and_field_and_creates_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(repo_root().join("examples/golan.toml")).expect("read");
    let bad = text.replacen("role = \"liaison\"", "role = \"spy\"", 1);
    let line = bad
        .lines()
        .position(|l| l.contains("\"spy\""))
        .expect("line")
        + 1;
    let path = tmp.path().join("bad.toml");
    std::fs::write(&path, bad).expect("write");
    let data = tmp.path().join("data");
    let out = liaison(&[
        "init",
        "--data",
        data.to_str().expect("utf8"),
        "--charter",
        path.to_str().expect("utf8"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("line {line}")), "{err}");
    assert!(err.contains("operators[0].role"), "{err}");
    assert!(
        !data.join("cell.db").exists(),
        "nothing may be written for a bad charter"
    );
}

#[test]
fn auth_errors_pending_rule_and_state_conflicts_write_nothing() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let us = cell.token("us-supervisor");
    let il = cell.token("il-liaison");

    let head = |http: &Http| http.head(&us).as_u64().expect("events");
    let before = head(&http);

    let r = http.get("/api/v1/cell", None);
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    assert!(r.headers.get("www-authenticate").is_some());
    let r = http.get("/api/v1/cell", Some("lsn_not-a-token"));
    assert_eq!(r.status, 401);

    let r = http.get("/api/v1/cell", Some(&il));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "pending_approval");
    assert!(
        r.json()["log"]["vkey"]
            .as_str()
            .is_some_and(|k| k.contains('+'))
    );

    // A member cannot approve; the admin of the supervising party cannot either.
    let r = http.post("/api/v1/cell/approve", Some(&il), json!({}));
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = http.post(
        "/api/v1/cell/approve",
        Some(&cell.token("us-admin")),
        json!({}),
    );
    assert_eq!(r.status, 403);
    // Suspending a pending cell is a state conflict.
    let r = http.post("/api/v1/cell/suspend", Some(&us), json!({"reason": "x"}));
    assert_eq!((r.status, r.code().as_str()), (409, "invalid_state"));
    // Malformed bodies get JSON errors.
    let r = http.post_raw(
        "/api/v1/cell/suspend",
        Some(&us),
        "application/json",
        "{not json",
    );
    assert_eq!((r.status, r.code().as_str()), (400, "bad_request"));
    let r = http.post_raw("/api/v1/cell/suspend", Some(&us), "text/plain", "{}");
    assert_eq!(r.status, 415);
    let r = http.get("/api/v1/nowhere", Some(&us));
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
    assert_eq!(
        head(&http),
        before,
        "refused requests must not write events"
    );

    let r = http.post("/api/v1/cell/approve", Some(&us), json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let receipt = &r.json()["receipt"];
    assert_eq!(receipt["index"].as_u64(), Some(before));
    assert!(
        receipt["checkpoint"]
            .as_str()
            .is_some_and(|c| c.contains('\n'))
    );
    assert_eq!(head(&http), before + 1);

    let r = http.post("/api/v1/cell/approve", Some(&us), json!({}));
    assert_eq!((r.status, r.code().as_str()), (409, "invalid_state"));
    assert_eq!(head(&http), before + 1);

    let r = http.post(
        "/api/v1/cell/suspend",
        Some(&us),
        json!({"reason": "review of incident 12"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        http.get("/api/v1/cell", Some(&il)).json()["status"],
        "suspended"
    );
    let r = http.post("/api/v1/cell/resume", Some(&us), json!({}));
    assert_eq!(r.status, 200);
    assert_eq!(
        http.get("/api/v1/cell", Some(&il)).json()["status"],
        "active"
    );
}

/// Sends a request head and `body` bytes of padding on `s`, every byte of it (a write
/// that fails means the server reset the connection), then reads one answer: its
/// status, its head and its body.
fn exchange(s: &mut TcpStream, head: &str, body: usize) -> (u16, String, String) {
    s.write_all(head.as_bytes()).expect("send the head");
    let pad = vec![b' '; 64 << 10];
    let mut left = body;
    while left > 0 {
        let n = left.min(pad.len());
        s.write_all(&pad[..n])
            .unwrap_or_else(|e| panic!("the server took only {} bytes: {e}", body - left));
        left -= n;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).expect("read the answer");
        assert!(n > 0, "the connection closed before an answer");
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(got[..end].to_vec())
        .expect("text")
        .to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .expect("a content length")
        .trim()
        .parse()
        .expect("a number");
    while got.len() < end + len {
        let n = s.read(&mut buf).expect("read the answer");
        assert!(n > 0, "the connection closed inside the answer");
        got.extend_from_slice(&buf[..n]);
    }
    let status = head[9..12].parse().expect("a status");
    let body = String::from_utf8(got[end..end + len].to_vec()).expect("text");
    (status, head, body)
}

/// A body the server refuses unread (over the limit, or without credentials) is read
/// to its end before the connection goes: the client, still writing, gets every byte
/// through and reads the answer, never a reset. A 413 then closes the connection;
/// after any other answer the next request goes out on the same one.
#[test]
fn refused_bodies_are_read_to_their_end_so_the_client_reads_the_answer() {
    let cell = Cell::init();
    let server = cell.serve();
    let addr = server.url.trim_start_matches("http://").to_string();
    let il = cell.token("il-liaison");
    let connect = || {
        let s = TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        s
    };
    let post = |token: &str, len: usize| {
        format!(
            "POST /api/v1/sites HTTP/1.1\r\nHost: liaison\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    for round in 0..5 {
        // Three times the limit: refused once the server has read up to the limit
        // (or on its stated length alone), with megabytes still to come.
        let mut s = connect();
        let len = 6 << 20;
        let (status, head, body) = exchange(&mut s, &post(&il, len), len);
        assert_eq!(status, 413, "round {round}: {head}{body}");
        assert!(body.contains("payload_too_large"), "{body}");
        assert!(head.contains("connection: close"), "{head}");
        assert_eq!(s.read(&mut [0u8; 16]).expect("read"), 0, "then it closes");

        // Under the limit, refused before the body is read: the connection stays.
        let mut s = connect();
        let len = 1 << 20;
        let (status, head, body) = exchange(&mut s, &post("lsn_not-a-token", len), len);
        assert_eq!(status, 401, "round {round}: {head}{body}");
        assert!(body.contains("unauthorized"), "{body}");
        let (status, _, body) =
            exchange(&mut s, "GET /healthz HTTP/1.1\r\nHost: liaison\r\n\r\n", 0);
        assert_eq!(
            status, 200,
            "the same connection answers the next request: {body}"
        );
    }
    let http = Http::new(&server.url);
    let sites = http.get("/api/v1/sites", Some(&il)).json();
    assert_eq!(
        sites["features"].as_array().map(Vec::len),
        Some(0),
        "{sites}"
    );
}

#[test]
fn operators_can_be_added_disabled_and_rotated() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    // Each party manages its own operators through its own admin.
    let admin = cell.token("il-admin");
    let il = cell.token("il-liaison");

    let r = http.post(
        "/api/v1/operators",
        Some(&il),
        json!({"name": "il-two", "party": "il", "role": "liaison"}),
    );
    assert_eq!(r.status, 403, "a liaison is not an admin");
    let r = http.post(
        "/api/v1/operators",
        Some(&admin),
        json!({"name": "il-two", "party": "il", "role": "supervisor"}),
    );
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_input"));
    let r = http.post(
        "/api/v1/operators",
        Some(&admin),
        json!({"name": "il-two", "party": "il", "role": "liaison"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["operator"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(
        http.get("/api/v1/me", Some(&token)).json()["operator"],
        "il-two"
    );
    // Israel's operators sign: the new one registers a key before it writes.
    let key = cell.enrol_key(&http, &token, "il-two");
    let r = http.post(
        "/api/v1/operators",
        Some(&admin),
        json!({"name": "il-two", "party": "il", "role": "liaison"}),
    );
    assert_eq!((r.status, r.code().as_str()), (409, "already_exists"));

    let r = http.post("/api/v1/operators/il-two/rotate", Some(&token), json!({}));
    assert_eq!(r.status, 200);
    let new_token = r.json()["operator"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    common::register_key(&new_token, key);
    assert_eq!(
        http.get("/api/v1/me", Some(&token)).status,
        401,
        "the old token stops working"
    );
    assert_eq!(http.get("/api/v1/me", Some(&new_token)).status, 200);

    let r = http.post("/api/v1/operators/il-two/disable", Some(&admin), json!({}));
    assert_eq!(r.status, 200);
    assert_eq!(http.get("/api/v1/me", Some(&new_token)).status, 401);

    // The CLI does the same against the same server.
    // The CLI enrols with only the token's hash and the public key: the token and key
    // are made on the admin's machine, written to a file of its own, and work at once.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("il-three.json");
    let out = common::cli(
        &server,
        &admin,
        &[
            "operator",
            "add",
            "il-three",
            "--party",
            "il",
            "--role",
            "analyst",
            "--out",
            file.to_str().expect("utf8"),
        ],
    );
    assert!(
        out.contains("token and signing key were made here"),
        "{out}"
    );
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("file")).expect("json");
    let three = &creds["operators"][0];
    let token = three["token"].as_str().expect("token");
    assert!(
        three["key"]
            .as_str()
            .is_some_and(|k| k.contains("PRIVATE KEY"))
    );
    assert_eq!(
        http.get("/api/v1/me", Some(token)).json()["operator"],
        "il-three"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The server never held the token: the record has only its hash.
    let events = all_events(&http, &cell.token("us-supervisor"));
    assert!(
        !serde_json::to_string(&events)
            .expect("json")
            .contains(token)
    );
    // It signs with the key it was enrolled with: a write of its own (a charter-business
    // one, the cell being pending) is taken.
    let path = file.with_extension("pem");
    std::fs::write(&path, three["key"].as_str().expect("key")).expect("pem");
    let out = std::process::Command::new(common::bin())
        .env("LIAISON_KEY", &path)
        .args([
            "--server",
            &server.url,
            "--token",
            token,
            "operator",
            "rotate",
            "il-three",
        ])
        .output()
        .expect("run liaison");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sse_resumes_after_last_event_id_with_nothing_lost_or_repeated() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let us = cell.token("us-supervisor");
    let admin = cell.token("il-admin");
    cell.approve(&http);
    for i in 0..5 {
        let r = http.post(
            "/api/v1/operators",
            Some(&admin),
            json!({"name": format!("il-op{i}"), "party": "il", "role": "analyst"}),
        );
        assert_eq!(r.status, 200);
    }
    let all = all_events(&http, &us);
    let total = all.len();
    let first = http.sse(
        "/api/v1/events?after=0",
        &us,
        None,
        3,
        Duration::from_secs(5),
    );
    assert_eq!(first.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    let last = first.last().map(|e| e.0.to_string()).expect("some");
    let rest = http.sse(
        "/api/v1/events",
        &us,
        Some(&last),
        total - 4,
        Duration::from_secs(5),
    );
    let ids: Vec<u64> = rest.iter().map(|e| e.0).collect();
    assert_eq!(ids, (4..total as u64).collect::<Vec<_>>());
    // A new event reaches a connected stream.
    let http2 = Http::new(&server.url);
    let us2 = us.clone();
    let watcher = std::thread::spawn(move || {
        http2.sse("/api/v1/events", &us2, None, 1, Duration::from_secs(10))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        http.post(
            "/api/v1/cell/suspend",
            Some(&us),
            json!({"reason": "drill"})
        )
        .status,
        200
    );
    let got = watcher.join().expect("join");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1["kind"], "cell_suspended");
}

#[test]
fn openapi_document_lists_the_endpoints() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let doc = http.get("/api/v1/openapi.json", None).json();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for p in [
        "/api/v1/cell",
        "/api/v1/cell/approve",
        "/api/v1/events",
        "/api/v1/operators",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from OpenAPI");
    }
}

#[allow(clippy::zombie_processes)] // the caller kills and waits for the child
fn start_demo(data: &std::path::Path) -> (std::process::Child, String, String) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(common::bin())
        .args([
            "demo",
            "--data",
            data.to_str().expect("p"),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("LIAISON_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("demo");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut all = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "demo exited: {all}"
        );
        all.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix("Liaison is serving on ") {
            let url = rest
                .split_whitespace()
                .next()
                .expect("url")
                .trim_end_matches('/')
                .to_string();
            std::thread::spawn(move || {
                let mut sink = String::new();
                while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                    sink.clear();
                }
            });
            return (child, url, all);
        }
    }
}

#[test]
fn demo_creates_an_approved_cell_with_history_and_reuses_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("demo");
    let (mut child, url, out) = start_demo(&data);
    assert!(out.contains("Created the demo cell"), "{out}");
    assert!(out.contains("credentials.json"), "{out}");
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("credentials.json")).expect("creds"))
            .expect("json");
    let token = |n: &str| {
        creds["operators"]
            .as_array()
            .expect("ops")
            .iter()
            .find(|o| o["name"] == n)
            .expect("op")["token"]
            .as_str()
            .expect("t")
            .to_string()
    };
    let http = Http::new(&url);
    assert_eq!(
        http.get("/api/v1/cell", Some(&token("il-liaison"))).json()["status"],
        "active"
    );
    let msgs = http
        .get("/api/v1/messages", Some(&token("us-supervisor")))
        .json();
    assert!(msgs.as_array().is_some_and(|m| m.len() >= 2), "{msgs}");
    let incidents = http
        .get("/api/v1/incidents", Some(&token("sy-liaison")))
        .json();
    assert_eq!(incidents.as_array().map(|i| i.len()), Some(1));
    // The "Try:" line works as printed: the address served on, a member's officer.
    let try_line = out
        .lines()
        .find(|l| l.trim_start().starts_with("Try:"))
        .unwrap_or_else(|| panic!("no Try line: {out}"));
    assert!(
        try_line.contains(&format!("LIAISON_SERVER={url} ")),
        "{try_line} (serving on {url})"
    );
    assert!(
        try_line.contains(&format!("LIAISON_TOKEN={} ", token("il-liaison"))),
        "{try_line}"
    );
    let shown = std::process::Command::new(common::bin())
        .args([
            "--server",
            &url,
            "--token",
            &token("il-liaison"),
            "cell",
            "show",
        ])
        .output()
        .expect("cell show");
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let head = http.head(&token("us-supervisor"));
    let _ = child.kill();
    let _ = child.wait();
    let (mut child, url, out) = start_demo(&data);
    assert!(out.contains("Reusing the demo cell"), "{out}");
    assert_eq!(
        Http::new(&url).head(&token("us-supervisor")),
        head,
        "a second run reuses the data and adds nothing"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A token read from a file never shows in a command line or the environment; a file
/// others can read is refused, with the fix.
#[test]
fn the_cli_reads_its_token_from_a_file_only_the_owner_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let cell = Cell::init();
    let server = cell.serve();
    let file = cell.tmp.path().join("il.token");
    std::fs::write(&file, format!("{}\n", cell.token("il-liaison"))).expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let run = || {
        std::process::Command::new(common::bin())
            .args(["--server", &server.url, "--token-file"])
            .arg(&file)
            .args(["cell", "show"])
            .output()
            .expect("liaison")
    };
    let o = run();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = run();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("chmod 600"), "{err}");
}
