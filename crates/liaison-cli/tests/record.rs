//! The shared record through the real binary: receipts verified offline, three party
//! witnesses cosigning, a forked history detected, the full audit catching one altered
//! byte, and author signatures enforced.

mod common;

use common::{Cell, Http, bin};
use serde_json::json;
use std::process::Command;

/// Runs the binary; a command with `--token` signs as that operator unless it is given
/// a key.
fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = match args.iter().position(|a| *a == "--token") {
        Some(i) if !args.contains(&"--key") => common::command_as(args[i + 1]),
        _ => Command::new(bin()),
    };
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run liaison")
}

fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn receipts_verify_offline_and_tampering_fails() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let us = cell.token("us-supervisor");
    let r = http.post("/api/v1/cell/approve", Some(&us), json!({}));
    assert_eq!(r.status, 200);
    let vkey = http.get("/api/v1/cell", Some(&us)).json()["log"]["vkey"]
        .as_str()
        .expect("vkey")
        .to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("receipt.json");
    std::fs::write(&file, &r.body).expect("write");
    let out = ok(&run(
        &["verify-receipt", file.to_str().expect("p"), "--vkey", &vkey],
        &[],
    ));
    assert!(out.contains("VALID"), "{out}");
    // A receipt claiming another index does not verify.
    let mut v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    v["receipt"]["text"] = json!(
        v["receipt"]["text"]
            .as_str()
            .expect("text")
            .replacen("index 5", "index 4", 1)
    );
    v["receipt"]["index"] = json!(4);
    std::fs::write(&file, v.to_string()).expect("write");
    assert!(
        !run(
            &["verify-receipt", file.to_str().expect("p"), "--vkey", &vkey],
            &[]
        )
        .status
        .success()
    );
    // Nor against another log's key.
    let other = Cell::init();
    let other_server = other.serve();
    let ov = Http::new(&other_server.url)
        .get("/api/v1/cell", Some(&other.token("us-supervisor")))
        .json()["log"]["vkey"]
        .as_str()
        .expect("vkey")
        .to_string();
    std::fs::write(&file, &r.body).expect("write");
    assert!(
        !run(
            &["verify-receipt", file.to_str().expect("p"), "--vkey", &ov],
            &[]
        )
        .status
        .success()
    );
}

/// Runs a party's witness once, trusting the log key from the party's credentials file
/// in `data`.
fn witness(
    url: &str,
    token: &str,
    party: &str,
    key: &std::path::Path,
    state: &std::path::Path,
    data: &std::path::Path,
) -> std::process::Output {
    let creds = data.join(format!("credentials-{party}.json"));
    run(
        &[
            "--server",
            url,
            "--token",
            token,
            "witness",
            "--party",
            party,
            "--witness-key",
            key.to_str().expect("p"),
            "--state",
            state.to_str().expect("p"),
            "--credentials",
            creds.to_str().expect("p"),
            "--once",
        ],
        &[],
    )
}

#[test]
fn three_witnesses_cosign_and_a_fork_is_detected() {
    let cell = Cell::init();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut server = cell.serve();
    let http = Http::new(&server.url);
    let us = cell.token("us-supervisor");
    cell.approve(&http);
    // Each party's admin runs its witness: only an admin registers the party's key.
    let parties = [
        ("il", cell.token("il-admin")),
        ("sy", cell.token("sy-admin")),
        ("us", cell.token("us-admin")),
    ];
    for (p, _) in &parties {
        let key = tmp.path().join(format!("{p}.key"));
        ok(&run(&["keygen", "--out", key.to_str().expect("p")], &[]));
    }
    // A first pass registers each party's witness key, which is itself in the record.
    for (p, token) in &parties {
        ok(&witness(
            &server.url,
            token,
            p,
            &tmp.path().join(format!("{p}.key")),
            &tmp.path().join(format!("{p}-state")),
            &cell.data(),
        ));
    }
    for round in 0..3 {
        let admin = cell.token("sy-admin");
        let r = http.post(
            "/api/v1/operators",
            Some(&admin),
            json!({"name": format!("w{round}"), "party": "sy", "role": "analyst"}),
        );
        assert_eq!(r.status, 200);
        for (p, token) in &parties {
            let out = ok(&witness(
                &server.url,
                token,
                p,
                &tmp.path().join(format!("{p}.key")),
                &tmp.path().join(format!("{p}-state")),
                &cell.data(),
            ));
            assert!(out.contains("cosigned"), "{out}");
        }
        let status = http.get("/api/v1/log/status", Some(&us)).json();
        assert_eq!(
            status["final_size"], status["size"],
            "round {round}: {status}"
        );
    }
    let cp = String::from_utf8(
        reqwest::blocking::Client::new()
            .get(format!("{}/log/checkpoint", server.url))
            .bearer_auth(&us)
            .send()
            .expect("get")
            .text()
            .expect("text")
            .into_bytes(),
    )
    .expect("utf8");
    assert_eq!(
        cp.matches("— ").count(),
        4,
        "the log's signature and three cosignatures:\n{cp}"
    );

    // Fork: copy the data directory, let the copy and the original diverge, and show
    // the copy's history to a witness that followed the original.
    server.kill9();
    let fork_dir = tmp.path().join("fork");
    copy_dir(&cell.data(), &fork_dir);
    let server = cell.serve();
    let http = Http::new(&server.url);
    let admin = cell.token("il-admin");
    assert_eq!(
        http.post(
            "/api/v1/operators",
            Some(&admin),
            json!({"name": "orig", "party": "il", "role": "analyst"})
        )
        .status,
        200
    );
    ok(&witness(
        &server.url,
        &parties[0].1,
        "il",
        &tmp.path().join("il.key"),
        &tmp.path().join("il-state"),
        &cell.data(),
    ));
    drop(server);
    let forked = common::Server::start(&fork_dir);
    let fh = Http::new(&forked.url);
    assert_eq!(
        fh.post(
            "/api/v1/operators",
            Some(&admin),
            json!({"name": "other", "party": "il", "role": "analyst"})
        )
        .status,
        200
    );
    let out = witness(
        &forked.url,
        &parties[0].1,
        "il",
        &tmp.path().join("il.key"),
        &tmp.path().join("il-state"),
        &cell.data(),
    );
    assert!(!out.status.success(), "the witness must stop on a fork");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fork"), "{err}");
    let evidence = std::fs::read_dir(tmp.path().join("il-state"))
        .expect("state")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("evidence"));
    assert!(evidence, "the witness keeps both checkpoints as evidence");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    // A cell's directory is its owner's alone, or the server will not open it.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    for e in std::fs::read_dir(from).expect("read").flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

#[test]
fn full_audit_passes_and_one_altered_byte_fails() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let us = cell.token("us-supervisor");
    cell.approve(&http);
    for i in 0..300 {
        let r = http.post(
            "/api/v1/operators",
            Some(&cell.token("il-admin")),
            json!({"name": format!("a{i}"), "party": "il", "role": "analyst"}),
        );
        assert_eq!(r.status, 200);
    }
    let out = ok(&run(
        &["--server", &server.url, "--token", &us, "verify"],
        &[],
    ));
    assert!(out.contains("OK"), "{out}");
    drop(server);
    let data = cell.data();
    ok(&run(&["verify", "--data", data.to_str().expect("p")], &[]));
    // Alter one byte of one stored event, as a rogue administrator might.
    {
        let db = rusqlite::Connection::open(data.join("cell.db")).expect("open");
        let mut ev: Vec<u8> = db
            .query_row("SELECT event FROM events WHERE seq = 123", [], |r| r.get(0))
            .expect("row");
        let needle = b"\"name\":\"a";
        let pos = ev
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("an added operator's name in event 123");
        ev[pos + needle.len()] = b'x';
        db.execute("UPDATE events SET event = ?1 WHERE seq = 123", [ev])
            .expect("update");
    }
    let out = run(&["verify", "--data", data.to_str().expect("p")], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("event 123"), "the audit names where: {err}");
    // And the server refuses to start on a history that does not match what it signed.
    let start = Command::new(bin())
        .args([
            "serve",
            "--data",
            data.to_str().expect("p"),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run");
    assert!(!start.status.success());
}

#[test]
fn registered_keys_make_signatures_mandatory() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let us = cell.token("us-supervisor");
    let tmp = tempfile::tempdir().expect("tmp");
    let key = tmp.path().join("us.key");
    ok(&run(&["keygen", "--out", key.to_str().expect("p")], &[]));
    // Registering a new key is itself signed with the key `init` made.
    let init_key = cell.key_path("us-supervisor");
    ok(&run(
        &[
            "--server",
            &server.url,
            "--token",
            &us,
            "key",
            "register",
            "--new-key",
            key.to_str().expect("p"),
        ],
        &[("LIAISON_KEY", init_key.to_str().expect("p"))],
    ));
    // Unsigned fails…
    let r = http.post_unsigned("/api/v1/cell/approve", Some(&us), json!({}));
    assert_eq!((r.status, r.code().as_str()), (401, "signature_required"));
    // …a forged signature fails…
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/cell/approve", server.url))
        .bearer_auth(&us)
        .header("liaison-signature", "00000000:AAAA")
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 422);
    // …the key `init` made no longer counts…
    let out = run(
        &[
            "--server",
            &server.url,
            "--token",
            &us,
            "--key",
            init_key.to_str().expect("p"),
            "cell",
            "approve",
        ],
        &[],
    );
    assert!(!out.status.success());
    // …and the CLI signs with the new key.
    let out = ok(&run(
        &[
            "--server",
            &server.url,
            "--token",
            &us,
            "--key",
            key.to_str().expect("p"),
            "cell",
            "approve",
        ],
        &[],
    ));
    assert!(out.contains("approved"), "{out}");
    let events = common::all_events(&http, &us);
    let approved = events
        .iter()
        .find(|e| e["kind"] == "cell_approved")
        .expect("approved");
    assert!(
        approved["signature"]["key_id"].is_string(),
        "the signature is part of the record: {approved}"
    );
    assert!(
        approved["signature"]["signed"]
            .as_str()
            .is_some_and(|s| s.starts_with("liaison/submission/v2\n")),
        "the signed bytes are kept with the event: {approved}"
    );
}

/// `verify-receipt` checks every form a receipt carries, not only its text: a receipt
/// whose JSON `proof` is garbage, or whose `checkpoint` is a (genuinely signed)
/// checkpoint of another size, is refused with the field named; the receipt as
/// written verifies.
#[test]
fn a_receipt_whose_forms_disagree_is_refused_naming_the_field() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let us = cell.token("us-supervisor");
    let first = http.post("/api/v1/cell/approve", Some(&us), json!({}));
    assert_eq!(first.status, 200, "{}", first.body);
    let il = cell.token("il-liaison");
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "routine", "subject": "s", "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let vkey = http.get("/api/v1/cell", Some(&us)).json()["log"]["vkey"]
        .as_str()
        .expect("vkey")
        .to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("receipt.json");
    let verify = |body: &str| {
        std::fs::write(&file, body).expect("write");
        run(
            &["verify-receipt", file.to_str().expect("p"), "--vkey", &vkey],
            &[],
        )
    };
    assert!(ok(&verify(&r.body)).contains("VALID"));
    let good: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let earlier: serde_json::Value = serde_json::from_str(&first.body).expect("json");
    assert_ne!(
        earlier["receipt"]["checkpoint"], good["receipt"]["checkpoint"],
        "two checkpoints of two sizes"
    );
    let mut garbage = good.clone();
    garbage["receipt"]["proof"] = json!(["garbage", "AAAA"]);
    let mut other_size = good.clone();
    other_size["receipt"]["checkpoint"] = earlier["receipt"]["checkpoint"].clone();
    let mut other_index = good.clone();
    other_index["receipt"]["index"] = json!(0);
    let mut other_leaf = good.clone();
    other_leaf["receipt"]["leaf_hash"] = json!("00".repeat(32));
    for (field, bad) in [
        ("proof", garbage),
        ("checkpoint", other_size),
        ("index", other_index),
        ("leaf_hash", other_leaf),
    ] {
        let o = verify(&bad.to_string());
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!o.status.success(), "{field}: {said}");
        assert!(!said.contains("VALID receipt"), "{field}: {said}");
        assert!(said.contains(&format!("`{field}`")), "{field}: {said}");
    }
}
