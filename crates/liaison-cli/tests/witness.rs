//! Witnesses that cannot be fooled, through the real binary over real HTTP: keys pinned
//! in the charter, a witness that refuses a server with another log key, a forged
//! cosignature of another party caught, receipts brought up to a final checkpoint, the
//! C2SP tlog-witness `add-checkpoint` protocol, and a forked log shown to one party's
//! witness caught by the peer exchange.

mod common;

use base64::Engine;
use common::{Cell, Http, Server, bin, command_as, remember_keys, repo_root};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn liaison(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run liaison")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8 path")
}

/// A cell whose charter pins the log key and the witness keys of `pinned` parties;
/// the witness key files are `keys/<party>-witness.key` (made for il, sy and us).
struct Pinned {
    cell: Cell,
    log_vkey: String,
}

impl Pinned {
    fn witness_key(&self, party: &str) -> PathBuf {
        self.cell
            .tmp
            .path()
            .join("wkeys")
            .join(format!("{party}-witness.key"))
    }
    fn witness_vkey(&self, party: &str) -> String {
        std::fs::read_to_string(self.witness_key(party).with_extension("vkey"))
            .expect("vkey")
            .trim()
            .to_string()
    }
    fn credentials(&self, party: &str) -> PathBuf {
        self.cell.data().join(format!("credentials-{party}.json"))
    }
}

/// The demo charter with `[log] key` and `witness = …` for the `pinned` parties.
fn pinned_charter(dir: &Path, log_vkey: &str, pins: &[(&str, String)]) -> PathBuf {
    let mut charter =
        std::fs::read_to_string(repo_root().join("examples/demo.toml")).expect("demo charter");
    for (party, vkey) in pins {
        let at = format!("id = \"{party}\"\n");
        assert!(charter.contains(&at), "{party}");
        charter = charter.replacen(&at, &format!("{at}witness = \"{vkey}\"\n"), 1);
    }
    charter.push_str(&format!("\n[log]\nkey = \"{log_vkey}\"\n"));
    let path = dir.join("charter.toml");
    std::fs::write(&path, charter).expect("write charter");
    path
}

fn pinned_cell(pinned: &[&str]) -> Pinned {
    let tmp = tempfile::tempdir().expect("tmp");
    let keys = tmp.path().join("wkeys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    let log_key = keys.join("log.key");
    ok(&liaison(&[
        "keygen",
        "--out",
        p(&log_key),
        "--log",
        "liaison.test/pinned",
    ]));
    let log_vkey = std::fs::read_to_string(log_key.with_extension("vkey"))
        .expect("log vkey")
        .trim()
        .to_string();
    let mut pins = Vec::new();
    for party in ["il", "sy", "us"] {
        let k = keys.join(format!("{party}-witness.key"));
        ok(&liaison(&["keygen", "--out", p(&k), "--witness", party]));
        let vkey = std::fs::read_to_string(k.with_extension("vkey"))
            .expect("vkey")
            .trim()
            .to_string();
        if pinned.contains(&party) {
            pins.push((party, vkey));
        }
    }
    let charter = pinned_charter(tmp.path(), &log_vkey, &pins);
    let data = tmp.path().join("data");
    ok(&liaison(&[
        "init",
        "--data",
        p(&data),
        "--charter",
        p(&charter),
        "--log-key",
        p(&log_key),
    ]));
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("credentials.json")).expect("creds"))
            .expect("json");
    let tokens = remember_keys(&data, &tmp.path().join("keys"), &creds);
    Pinned {
        cell: Cell { tmp, tokens },
        log_vkey,
    }
}

/// Runs a party's witness once against `url`, trusting its credentials file.
fn witness_once(pc: &Pinned, url: &str, party: &str, state: &Path, extra: &[&str]) -> Output {
    let token = pc.cell.token(&format!("{party}-admin"));
    command_as(&token)
        .args([
            "--server", url, "--token", &token, "witness", "--party", party,
        ])
        .args(["--witness-key", p(&pc.witness_key(party))])
        .args(["--state", p(state)])
        .args(["--credentials", p(&pc.credentials(party))])
        .args(extra)
        .arg("--once")
        .output()
        .expect("run witness")
}

#[test]
fn keys_pinned_in_the_charter_are_in_force_from_the_start_and_no_other_is_taken() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A charter that pins the log key refuses a cell made without its private half,
    // or with another key, and writes nothing.
    ok(&liaison(&[
        "keygen",
        "--out",
        p(&tmp.path().join("log.key")),
        "--log",
        "liaison.test/a",
    ]));
    ok(&liaison(&[
        "keygen",
        "--out",
        p(&tmp.path().join("other.key")),
        "--log",
        "liaison.test/a",
    ]));
    let vkey = std::fs::read_to_string(tmp.path().join("log.vkey")).expect("vkey");
    let charter = pinned_charter(tmp.path(), vkey.trim(), &[]);
    let data = tmp.path().join("data");
    let o = liaison(&["init", "--data", p(&data), "--charter", p(&charter)]);
    assert!(!o.status.success());
    assert!(said(&o).contains("--log-key"), "{}", said(&o));
    let o = liaison(&[
        "init",
        "--data",
        p(&data),
        "--charter",
        p(&charter),
        "--log-key",
        p(&tmp.path().join("other.key")),
    ]);
    assert!(!o.status.success());
    assert!(said(&o).contains("pins the log key"), "{}", said(&o));
    assert!(!data.join("cell.db").exists(), "nothing is written");
    // A witness key of the wrong type is refused, naming the line.
    let bad = pinned_charter(tmp.path(), vkey.trim(), &[("il", vkey.trim().to_string())]);
    let o = liaison(&["init", "--data", p(&data), "--charter", p(&bad)]);
    assert!(said(&o).contains("parties[0].witness"), "{}", said(&o));

    // il and us pinned, sy not.
    let pc = pinned_cell(&["il", "us"]);
    let server = pc.cell.serve();
    let http = Http::new(&server.url);
    let us = pc.cell.token("us-supervisor");
    let cell = http.get("/api/v1/cell", Some(&us)).json();
    assert_eq!(cell["log"]["vkey"], json!(pc.log_vkey));
    assert_eq!(cell["parties"][0]["witness"], json!(pc.witness_vkey("il")));
    // Each party's credentials carry the log key and every pinned witness key.
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pc.credentials("sy")).expect("creds")).expect("json");
    assert_eq!(creds["log_vkey"], json!(pc.log_vkey));
    assert_eq!(creds["parties"][0]["witness"], json!(pc.witness_vkey("il")));
    assert_eq!(creds["parties"][2]["witness"], json!(pc.witness_vkey("us")));
    assert!(creds["parties"][1].get("witness").is_none(), "{creds}");
    // The pinned keys are in force before anyone registers anything.
    let witnesses = http.get("/api/v1/witnesses", Some(&us)).json();
    let key_of = |w: &serde_json::Value, party: &str| {
        w.as_array()
            .expect("list")
            .iter()
            .find(|v| v["party"] == party)
            .map(|v| v["vkey"].clone())
    };
    assert_eq!(key_of(&witnesses, "il"), Some(json!(pc.witness_vkey("il"))));
    pc.cell.approve(&http);
    // il's own admin cannot register another key for il…
    let another = pc.cell.tmp.path().join("another-il-witness.key");
    ok(&liaison(&[
        "keygen",
        "--out",
        p(&another),
        "--witness",
        "il",
    ]));
    let other = std::fs::read_to_string(another.with_extension("vkey")).expect("vkey");
    let other = other.trim();
    let r = http.post(
        "/api/v1/witnesses",
        Some(&pc.cell.token("il-admin")),
        json!({ "vkey": other }),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "witness_pinned"),
        "{}",
        r.body
    );
    // …sy's admin registers for sy alone, never for il…
    let r = http.post(
        "/api/v1/witnesses",
        Some(&pc.cell.token("sy-admin")),
        json!({ "vkey": pc.witness_vkey("sy") }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let witnesses = http.get("/api/v1/witnesses", Some(&us)).json();
    assert_eq!(key_of(&witnesses, "il"), Some(json!(pc.witness_vkey("il"))));
    assert_eq!(key_of(&witnesses, "sy"), Some(json!(pc.witness_vkey("sy"))));
    // …and the supervisor's admin cannot replace the supervisor's pinned key either.
    let r = http.post(
        "/api/v1/witnesses",
        Some(&pc.cell.token("us-admin")),
        json!({ "vkey": pc.witness_vkey("sy") }),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "witness_pinned"),
        "{}",
        r.body
    );
}

#[test]
fn a_witness_trusts_no_first_use_and_refuses_a_server_with_another_log_key() {
    let pc = pinned_cell(&["il", "sy", "us"]);
    let other = pinned_cell(&[]);
    let server = pc.cell.serve();
    let tmp = tempfile::tempdir().expect("tmp");
    let token = pc.cell.token("il-admin");
    // No log key given: the witness does not start.
    let o = command_as(&token)
        .args(["--server", &server.url, "--token", &token, "witness"])
        .args(["--party", "il", "--witness-key", p(&pc.witness_key("il"))])
        .args(["--state", p(&tmp.path().join("none")), "--once"])
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(said(&o).contains("--credentials"), "{}", said(&o));
    // Another cell's log key: the witness stops with the evidence.
    let state = tmp.path().join("wrong");
    let o = command_as(&token)
        .args(["--server", &server.url, "--token", &token, "witness"])
        .args(["--party", "il", "--witness-key", p(&pc.witness_key("il"))])
        .args(["--state", p(&state), "--log-key", &other.log_vkey, "--once"])
        .output()
        .expect("run");
    assert!(!o.status.success());
    let err = said(&o);
    assert!(err.contains("WITNESS STOPPED"), "{err}");
    assert!(err.contains(&other.log_vkey), "{err}");
    let evidence = evidence_dirs(&state);
    assert_eq!(evidence.len(), 1, "{err}");
    let offered = std::fs::read_to_string(evidence[0].join("offered.checkpoint")).expect("file");
    assert_eq!(offered, pc.log_vkey, "the key the server presented is kept");
    // A witness key that is not the one the charter pins for the party is refused.
    let o = command_as(&token)
        .args(["--server", &server.url, "--token", &token, "witness"])
        .args(["--party", "il", "--witness-key", p(&pc.witness_key("sy"))])
        .args(["--state", p(&tmp.path().join("sykey"))])
        .args(["--credentials", p(&pc.credentials("il")), "--once"])
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(said(&o).contains("pins"), "{}", said(&o));
    // The right key, from the credentials file, cosigns.
    let out = ok(&witness_once(
        &pc,
        &server.url,
        "il",
        &tmp.path().join("good"),
        &[],
    ));
    assert!(out.contains("cosigned size"), "{out}");
}

fn evidence_dirs(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("evidence"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_forged_cosignature_of_another_party_stops_the_witness_and_receipts_are_brought_up_to_final() {
    let pc = pinned_cell(&["il", "sy", "us"]);
    let mut server = pc.cell.serve();
    let http = Http::new(&server.url);
    let us = pc.cell.token("us-supervisor");
    let approved = http.post("/api/v1/cell/approve", Some(&us), json!({}));
    assert_eq!(approved.status, 200, "{}", approved.body);
    let seq = approved.json()["seqs"][0].as_u64().expect("seq");
    // Not final before the witnesses cosign.
    let r = http.get(&format!("/api/v1/receipts/{seq}?final=1"), Some(&us));
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "not_final"),
        "{}",
        r.body
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let state = |party: &str| tmp.path().join(format!("{party}-state"));
    for party in ["il", "sy", "us"] {
        ok(&witness_once(&pc, &server.url, party, &state(party), &[]));
    }
    // The last witness verified the others' cosignatures and calls the checkpoint final.
    let out = ok(&witness_once(&pc, &server.url, "il", &state("il"), &[]));
    assert!(out.contains("cosigned by il,sy,us; final"), "{out}");
    let r = http.get(&format!("/api/v1/receipts/{seq}?final=1"), Some(&us));
    assert_eq!(r.status, 200, "{}", r.body);
    let file = tmp.path().join("final.json");
    std::fs::write(&file, &r.body).expect("write");
    let verify = |file: &Path, extra: &[&str]| {
        Command::new(bin())
            .args(["verify-receipt", p(file), "--final"])
            .args(extra)
            .output()
            .expect("run")
    };
    let creds = pc.credentials("sy");
    let out = ok(&verify(&file, &["--credentials", p(&creds)]));
    assert!(out.contains("VALID") && out.contains("FINAL"), "{out}");
    // The receipt a write answered is valid but not final.
    let plain = tmp.path().join("plain.json");
    std::fs::write(&plain, &approved.body).expect("write");
    let o = verify(&plain, &["--credentials", p(&creds)]);
    assert!(!o.status.success());
    assert!(said(&o).contains("NOT FINAL"), "{}", said(&o));
    // A final receipt with one party's cosignature taken out, from every form, is not.
    let mut v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let cp = v["checkpoint"].as_str().expect("cp").to_string();
    let sy_line = cp
        .lines()
        .find(|l| l.starts_with("— sy.witness "))
        .expect("sy's cosignature")
        .to_string();
    let without = cp.replace(&format!("{sy_line}\n"), "");
    v["checkpoint"] = json!(without);
    v["text"] = json!(v["text"].as_str().expect("text").replace(&cp, &without));
    std::fs::write(&file, v.to_string()).expect("write");
    let o = verify(&file, &["--credentials", p(&creds)]);
    assert!(!o.status.success());
    assert!(said(&o).contains("sy's witness"), "{}", said(&o));

    // The host forges sy's cosignature on the checkpoint it serves: il's witness,
    // which checks every cosignature against the pinned keys, stops with the evidence.
    server.kill9();
    {
        let db = rusqlite::Connection::open(pc.cell.data().join("cell.db")).expect("open");
        let (size, line): (i64, String) = db
            .query_row(
                "SELECT size, line FROM cosignatures WHERE witness = 'sy' ORDER BY size DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("sy's cosignature");
        let (name, b64) = line.rsplit_once(' ').expect("line");
        let mut blob = B64.decode(b64).expect("base64");
        let last = blob.len() - 1;
        blob[last] ^= 1;
        let forged = format!("{name} {}", B64.encode(&blob));
        db.execute(
            "UPDATE cosignatures SET line = ?1 WHERE witness = 'sy' AND size = ?2",
            rusqlite::params![forged, size],
        )
        .expect("update");
    }
    let server = pc.cell.serve();
    let o = witness_once(&pc, &server.url, "il", &state("il"), &[]);
    assert!(!o.status.success());
    let err = said(&o);
    assert!(
        err.contains("WITNESS STOPPED") && err.contains("sy's witness does not verify"),
        "{err}"
    );
    assert_eq!(evidence_dirs(&state("il")).len(), 1);
}

/// A witness process running in the background, killed when dropped.
struct Running {
    child: Child,
    url: Option<String>,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn start(pc: &Pinned, server: &str, party: &str, state: &Path, extra: &[&str]) -> Running {
        let token = pc.cell.token(&format!("{party}-admin"));
        let mut child = command_as(&token)
            .args([
                "--server", server, "--token", &token, "witness", "--party", party,
            ])
            .args(["--witness-key", p(&pc.witness_key(party))])
            .args(["--state", p(state)])
            .args(["--credentials", p(&pc.credentials(party))])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn witness");
        let (tx, lines) = std::sync::mpsc::channel();
        for out in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut r = Running {
            child,
            url: None,
            lines,
        };
        if extra.contains(&"--listen") {
            let line = r.wait_for("witness listening on ");
            r.url = line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .map(|u| u.trim_end_matches('/').to_string());
        }
        r
    }

    /// Waits up to 30 s for a line containing `needle`; answers it.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                if line.contains(needle) {
                    return line;
                }
                seen.push(line);
            }
        }
        panic!("no line with {needle:?} in 30 s: {seen:#?}");
    }

    /// Waits up to `secs` for the process to end; answers its status and what it said.
    fn wait_exit(&mut self, secs: u64) -> Option<(std::process::ExitStatus, String)> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                let said: Vec<String> = self.lines.try_iter().collect();
                return Some((status, said.join("\n")));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_checkpoint(url: &str, body: String) -> (u16, String, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/add-checkpoint"))
        .body(body)
        .send()
        .expect("post");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, r.text().expect("text"))
}

/// The server's latest checkpoint note (without cosignatures) and its size.
fn log_checkpoint(http: &Http, token: &str) -> (String, u64) {
    let note = http.get("/log/checkpoint", Some(token)).body;
    let end = note.find("\n\n").expect("note") + 2;
    let first_sig = note[end..].lines().next().expect("log signature");
    let size = note.lines().nth(1).expect("size").parse().expect("size");
    (format!("{}{first_sig}\n", &note[..end]), size)
}

/// A consistency proof between two sizes, built from the server's tiles.
fn proof(http: &Http, token: &str, old: u64, new: u64) -> Vec<String> {
    let client = reqwest::blocking::Client::new();
    let mut tiles = liaison_log::tiles::TiledHashes::new(new, |t: liaison_log::tiles::TilePath| {
        let r = client
            .get(format!("{}/log/{}", http.base, t.format()))
            .bearer_auth(token)
            .send()
            .map_err(|e| e.to_string())?;
        assert_eq!(r.status().as_u16(), 200);
        r.bytes().map(|b| b.to_vec()).map_err(|e| e.to_string())
    });
    liaison_log::merkle::consistency_proof(&mut tiles, old, new)
        .expect("proof")
        .iter()
        .map(|h| B64.encode(h))
        .collect()
}

#[test]
fn the_witness_takes_checkpoints_through_the_c2sp_add_checkpoint_protocol() {
    let pc = pinned_cell(&["il", "sy", "us"]);
    let server = pc.cell.serve();
    let http = Http::new(&server.url);
    let us = pc.cell.token("us-supervisor");
    pc.cell.approve(&http);
    let tmp = tempfile::tempdir().expect("tmp");
    // Follows the server once at start, then only listens (a long interval).
    let mut w = Running::start(
        &pc,
        &server.url,
        "il",
        &tmp.path().join("il"),
        &["--listen", "127.0.0.1:0", "--interval-ms", "600000"],
    );
    w.wait_for("cosigned size");
    let url = w.url.clone().expect("url");
    let (first, n) = log_checkpoint(&http, &us);
    // What the witness cosigned, served with its cosignature.
    let served = reqwest::blocking::get(format!("{url}/checkpoint"))
        .expect("get")
        .text()
        .expect("text");
    assert!(
        served.starts_with(&first[..first.find("\n\n").expect("note")]),
        "{served}"
    );
    assert!(served.contains("— il.witness "), "{served}");
    // A client that does not know the witness's size learns it from a 409.
    let (status, ct, body) = add_checkpoint(&url, format!("old 0\n\n{first}"));
    assert_eq!(
        (status, ct.as_str(), body.clone()),
        (409, "text/x.tlog.size", format!("{n}\n"))
    );
    // A new checkpoint with its consistency proof is cosigned.
    for i in 0..3 {
        let r = http.post(
            "/api/v1/operators",
            Some(&pc.cell.token("il-admin")),
            json!({"name": format!("a{i}"), "party": "il", "role": "analyst"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let (second, m) = log_checkpoint(&http, &us);
    let lines = proof(&http, &us, n, m);
    let body = |old: u64, proof: &[String], note: &str| {
        let mut b = format!("old {old}\n");
        for l in proof {
            b.push_str(l);
            b.push('\n');
        }
        b.push('\n');
        b.push_str(note);
        b
    };
    // A proof with one byte changed is refused with 422, and nothing moves.
    let mut bad = lines.clone();
    let mut raw = B64.decode(&bad[0]).expect("b64");
    raw[0] ^= 1;
    bad[0] = B64.encode(raw);
    let (status, _, said) = add_checkpoint(&url, body(n, &bad, &second));
    assert_eq!(status, 422, "{said}");
    // An old size larger than the checkpoint's is a bad request.
    let (status, _, said) = add_checkpoint(&url, body(m + 1, &[], &second));
    assert_eq!(status, 400, "{said}");
    let (status, ct, line) = add_checkpoint(&url, body(n, &lines, &second));
    assert_eq!(status, 200, "{line}");
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = &second[..second.find("\n\n").expect("note") + 1];
    let vkey = pc.witness_vkey("il");
    liaison_log::cosignature::verify_cosignature_line(&vkey, text, line.trim_end())
        .expect("the answer is the witness's cosignature on the checkpoint");
    // The same request again: the witness is now at the new size.
    let (status, ct, said) = add_checkpoint(&url, body(n, &lines, &second));
    assert_eq!(
        (status, ct.as_str(), said),
        (409, "text/x.tlog.size", format!("{m}\n"))
    );
    // Another log's checkpoint is unknown: 404.
    let other = pinned_cell(&[]);
    let other_server = other.cell.serve();
    let (foreign, _) = log_checkpoint(
        &Http::new(&other_server.url),
        &other.cell.token("us-supervisor"),
    );
    let foreign = foreign.replace("liaison.test/pinned", "liaison.test/elsewhere");
    let (status, _, said) = add_checkpoint(&url, body(m, &[], &foreign));
    assert_eq!(status, 404, "{said}");
    // This log's origin, signed by another key: 403.
    let impostor = liaison_server::ledger::LogSigner::generate("liaison.test/pinned").expect("key");
    let cp = liaison_log::checkpoint::Checkpoint::new("liaison.test/pinned", m + 5, [7u8; 32]);
    let forged = liaison_log::note::sign_note(
        &cp.to_text(),
        &[&liaison_log::note::Signer::from_key_text(&impostor.key_text()).expect("signer")],
    );
    let (status, _, said) = add_checkpoint(&url, body(m, &[], &forged));
    assert_eq!(status, 403, "{said}");
    // Not a request at all: 400.
    let (status, _, _) = add_checkpoint(&url, "hello".into());
    assert_eq!(status, 400);
    let served = reqwest::blocking::get(format!("{url}/checkpoint"))
        .expect("get")
        .text()
        .expect("text");
    assert!(
        served.starts_with(text),
        "the witness serves what it cosigned last: {served}"
    );
    assert!(w.wait_exit(0).is_none(), "the witness goes on");
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    for e in std::fs::read_dir(from).expect("read").flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

#[test]
fn a_fork_shown_to_one_party_is_caught_by_the_peer_exchange() {
    let pc = pinned_cell(&["il", "sy", "us"]);
    let mut server = pc.cell.serve();
    let http = Http::new(&server.url);
    pc.cell.approve(&http);
    let tmp = tempfile::tempdir().expect("tmp");
    let (il_port, sy_port) = (free_port(), free_port());
    let il_url = format!("http://127.0.0.1:{il_port}");
    let sy_url = format!("http://127.0.0.1:{sy_port}");
    let il_listen = format!("127.0.0.1:{il_port}");
    let sy_listen = format!("127.0.0.1:{sy_port}");
    let args = |listen: &str, peer: &str| -> Vec<String> {
        ["--listen", listen, "--peer", peer, "--interval-ms", "200"]
            .map(str::to_string)
            .to_vec()
    };
    let il_args = args(&il_listen, &sy_url);
    let sy_args = args(&sy_listen, &il_url);
    // With one honest log the two witnesses agree while it grows.
    {
        let mut il = Running::start(
            &pc,
            &server.url,
            "il",
            &tmp.path().join("il"),
            &refs(&il_args),
        );
        let mut sy = Running::start(
            &pc,
            &server.url,
            "sy",
            &tmp.path().join("sy"),
            &refs(&sy_args),
        );
        for i in 0..10 {
            let r = http.post(
                "/api/v1/operators",
                Some(&pc.cell.token("il-admin")),
                json!({"name": format!("h{i}"), "party": "il", "role": "analyst"}),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            std::thread::sleep(Duration::from_millis(150));
        }
        std::thread::sleep(Duration::from_secs(1));
        assert!(il.wait_exit(0).is_none(), "il's witness goes on");
        assert!(sy.wait_exit(0).is_none(), "sy's witness goes on");
    }
    assert!(evidence_dirs(&tmp.path().join("il")).is_empty());
    assert!(evidence_dirs(&tmp.path().join("sy")).is_empty());

    // The host forks the log: a copy of the data directory, with the same log key,
    // serves sy a different history from the one il sees.
    server.kill9();
    let fork_dir = tmp.path().join("fork");
    copy_dir(&pc.cell.data(), &fork_dir);
    let one = pc.cell.serve();
    let two = Server::start(&fork_dir);
    let admin = pc.cell.token("il-admin");
    let add = |url: &str, name: &str| {
        let r = Http::new(url).post(
            "/api/v1/operators",
            Some(&admin),
            json!({"name": name, "party": "il", "role": "analyst"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    add(&one.url, "shown-to-il");
    add(&two.url, "shown-to-sy");
    add(&two.url, "also-shown-to-sy");
    let mut il = Running::start(&pc, &one.url, "il", &tmp.path().join("il"), &refs(&il_args));
    let mut sy = Running::start(&pc, &two.url, "sy", &tmp.path().join("sy"), &refs(&sy_args));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stopped = Vec::new();
    while Instant::now() < deadline && stopped.is_empty() {
        for (party, w) in [("il", &mut il), ("sy", &mut sy)] {
            if let Some((status, said)) = w.wait_exit(0) {
                stopped.push((party, status, said));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!stopped.is_empty(), "neither witness stopped on the fork");
    for (party, status, said) in stopped {
        assert!(!status.success(), "{party}: {said}");
        assert!(said.contains("WITNESS STOPPED"), "{party}: {said}");
        assert!(
            said.contains("fork") || said.contains("split view"),
            "{party}: {said}"
        );
        let evidence = evidence_dirs(&tmp.path().join(party));
        assert_eq!(evidence.len(), 1, "{party}: {said}");
        let d = &evidence[0];
        let peer = std::fs::read_to_string(d.join("peer.txt")).expect("the peer is named");
        let accepted = std::fs::read_to_string(d.join("accepted.checkpoint")).expect("accepted");
        let offered = std::fs::read_to_string(d.join("offered.checkpoint")).expect("offered");
        assert_ne!(accepted, offered, "{party}");
        // Both checkpoints carry the log's signature: the evidence stands on its own.
        let log = liaison_log::note::Verifier::from_vkey(&pc.log_vkey).expect("vkey");
        for note in [&accepted, &offered] {
            liaison_log::note::open_note(note, std::slice::from_ref(&log))
                .expect("signed by the log");
        }
        let expected_peer = if party == "il" { &sy_url } else { &il_url };
        assert_eq!(peer.trim(), expected_peer.as_str());
        // Where the server had to prove consistency and could not, the failed proof
        // is kept too.
        if said.contains("not consistent") {
            let proof = std::fs::read_to_string(d.join("proof.txt")).expect("the proof");
            assert!(!proof.trim().is_empty(), "{party}");
        }
    }
}
