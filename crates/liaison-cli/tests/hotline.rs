//! The hotline, deadlines and incidents through real HTTP.

mod common;

use common::{Cell, Http, repo_root};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn fast_charter(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("examples/demo.toml")).expect("demo");
    let text = text
        .replace("flash = \"10m\"", "flash = \"1s\"")
        .replace("immediate = \"30m\"", "immediate = \"2s\"")
        .replace("second_level = \"30m\"", "second_level = \"1s\"");
    let p = dir.join("fast.toml");
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn pending_cell_refuses_operational_business_and_writes_nothing() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let il = cell.token("il-liaison");
    let before = http.head(&il).clone();
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "flash", "subject": "s", "body": "b"}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "cell_pending_approval")
    );
    assert_eq!(http.head(&il), before);
}

#[test]
fn message_lifecycle_numbering_and_errors() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, undof) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("undof-observer"),
    );
    cell.approve(&http);

    let send = |subject: &str| {
        http.post("/api/v1/messages", Some(&il), json!({"to": ["sy"], "precedence": "immediate", "subject": subject, "body": "שלום", "language": "he"}))
    };
    let r = send("first");
    assert_eq!(r.status, 200, "{}", r.body);
    let m1 = r.json();
    assert_eq!(m1["channel"], "il>sy");
    assert_eq!(m1["seq"], 1);
    assert!(m1["receipt"]["checkpoint"].is_string());
    let m2 = send("second").json();
    assert_eq!(m2["seq"], 2, "numbers on a channel have no gaps");
    let id = m1["id"].as_u64().expect("id");

    let view = http
        .get(&format!("/api/v1/messages/{id}"), Some(&il))
        .json();
    assert_eq!(view["recipients"][0]["state"], "sent");
    assert_eq!(view["language"], "he");
    assert_eq!(view["body"], "שלום", "the original text is kept as written");
    // The recipient fetches its inbox: delivered; opens it: read; acknowledges: acknowledged.
    let inbox = http.get("/api/v1/messages?box=inbox", Some(&sy)).json();
    assert_eq!(inbox.as_array().map(|a| a.len()), Some(2));
    assert_eq!(
        http.get(&format!("/api/v1/messages/{id}"), Some(&il))
            .json()["recipients"][0]["state"],
        "delivered"
    );
    // Fetching it is not reading it; a person of Syria opening it is.
    http.get(&format!("/api/v1/messages/{id}"), Some(&sy));
    assert_eq!(
        http.get(&format!("/api/v1/messages/{id}"), Some(&il))
            .json()["recipients"][0]["state"],
        "delivered"
    );
    let r = http.post(&format!("/api/v1/messages/{id}/read"), Some(&sy), json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["recipients"][0]["state"], "read");
    let r = http.post(&format!("/api/v1/messages/{id}/read"), Some(&il), json!({}));
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "only a recipient reads: {}",
        r.body
    );
    let r = http.post(
        &format!("/api/v1/messages/{id}/ack"),
        Some(&sy),
        json!({"reply": "received, checking"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = http
        .get(&format!("/api/v1/messages/{id}"), Some(&il))
        .json();
    assert_eq!(v["recipients"][0]["state"], "acknowledged");
    assert_eq!(v["recipients"][0]["reply"], "received, checking");
    assert!(v["recipients"][0]["acknowledged_at"].is_string());
    // A translation sits beside the original, attributed.
    let r = http.post(
        &format!("/api/v1/messages/{id}/translations"),
        Some(&sy),
        json!({"language": "ar", "text": "سلام"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = http
        .get(&format!("/api/v1/messages/{id}"), Some(&il))
        .json();
    assert_eq!(v["body"], "שלום");
    assert_eq!(v["translations"][0]["party"], "sy");

    let head = http.head(&il).clone();
    // Bad input: clear errors, nothing written.
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["xx"], "precedence": "flash", "subject": "s", "body": "b"}),
    );
    assert_eq!((r.status, r.code().as_str()), (422, "invalid_input"));
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "urgent", "subject": "s", "body": "b"}),
    );
    assert_eq!(r.status, 422);
    let r = http.post(&format!("/api/v1/messages/{id}/ack"), Some(&il), json!({}));
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "the sender is not a recipient"
    );
    let r = http.post(
        &format!("/api/v1/messages/{id}/ack"),
        Some(&undof),
        json!({}),
    );
    assert_eq!(r.status, 404, "the observer cannot even see it");
    let r = http.post(&format!("/api/v1/messages/{id}/ack"), Some(&sy), json!({}));
    assert_eq!((r.status, r.code().as_str()), (409, "invalid_state"));
    let r = http.post("/api/v1/messages", Some(&il), json!({"to": ["sy"], "precedence": "routine", "subject": "s", "body": "b", "emergency": true}));
    assert_eq!(r.status, 422, "only FLASH can be an emergency");
    let big = vec![b'x'; (8 << 20) + 1];
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/attachments", server.url))
        .bearer_auth(&il)
        .body(big)
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(http.head(&il), head, "refused requests write nothing");

    // Attachments are stored by hash and readable only by those who may read the message.
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/attachments", server.url))
        .bearer_auth(&il)
        .body("map of the area")
        .send()
        .expect("send");
    let sha = r.json::<serde_json::Value>().expect("json")["sha256"]
        .as_str()
        .expect("sha")
        .to_string();
    let r = http.post("/api/v1/messages", Some(&il), json!({"to": ["sy"], "precedence": "priority", "subject": "map", "body": "see attached", "attachments": [{"sha256": sha, "name": "map.txt"}]}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        http.get(&format!("/api/v1/attachments/{sha}"), Some(&sy))
            .body,
        "map of the area"
    );
    assert_eq!(
        http.get(&format!("/api/v1/attachments/{sha}"), Some(&undof))
            .status,
        404
    );
}

#[test]
fn missed_deadlines_escalate_once_per_level_and_emergencies_stay_open() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cell = Cell::init_with(&fast_charter(tmp.path()));
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
    );
    cell.approve(&http);
    let r = http.post("/api/v1/messages", Some(&il), json!({"to": ["sy"], "precedence": "flash", "subject": "drone over Quneitra", "body": "confirm", "emergency": true}));
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    // Wait (bounded) for the cell's clock to escalate twice.
    let start = Instant::now();
    let escalations = loop {
        let e = http.get("/api/v1/escalations", Some(&us)).json();
        let n = e.as_array().map(|a| a.len()).unwrap_or(0);
        if n >= 2 || start.elapsed() > Duration::from_secs(30) {
            break e;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let list = escalations.as_array().expect("list");
    assert_eq!(list.len(), 2, "{escalations}");
    assert_eq!(list[0]["level"], 1);
    assert_eq!(list[1]["level"], 2);
    assert_eq!(list[0]["party"], "sy");
    assert_eq!(list[0]["subject"], id.to_string());
    // The sender sees them; the recipient's view shows the level.
    assert_eq!(
        http.get("/api/v1/escalations", Some(&il))
            .json()
            .as_array()
            .map(|a| a.len()),
        Some(2)
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        http.get("/api/v1/escalations", Some(&us))
            .json()
            .as_array()
            .map(|a| a.len()),
        Some(2),
        "no third level"
    );
    // The emergency is still open until its author cancels it.
    let open = http
        .get("/api/v1/messages?emergency=true", Some(&us))
        .json();
    assert_eq!(open.as_array().map(|a| a.len()), Some(1));
    let r = http.post(
        &format!("/api/v1/messages/{id}/close"),
        Some(&sy),
        json!({"reason": "not mine to close"}),
    );
    assert_eq!(r.status, 403);
    let r = http.post(
        &format!("/api/v1/messages/{id}/close"),
        Some(&il),
        json!({"reason": "drone identified"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        http.get("/api/v1/messages?emergency=true", Some(&us))
            .json()
            .as_array()
            .map(|a| a.len()),
        Some(0)
    );
    // Late acknowledgement is still recorded.
    assert_eq!(
        http.post(&format!("/api/v1/messages/{id}/ack"), Some(&sy), json!({}))
            .status,
        200
    );
}

#[test]
fn incident_accounts_side_by_side_until_the_supervisor_rules() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us, undof) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
        cell.token("undof-observer"),
    );
    cell.approve(&http);
    let r = http.post(
        "/api/v1/incidents",
        Some(&il),
        json!({
        "category": "fire_across_the_line", "when": "2026-01-10T03:10:00Z", "precision": "exact",
        "where": {"type": "Point", "coordinates": [35.85, 33.12]}, "uncertainty_m": 300,
        "description": "Mortar fire from the area of separation", "attributed_to": "sy"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    assert_eq!(
        http.get(&format!("/api/v1/incidents/{id}"), Some(&undof))
            .status,
        404,
        "the observer is not named"
    );
    let r = http.post(
        &format!("/api/v1/incidents/{id}/accounts"),
        Some(&undof),
        json!({"text": "we saw it"}),
    );
    assert_eq!(r.status, 404);
    let r = http.post(
        &format!("/api/v1/incidents/{id}/findings"),
        Some(&il),
        json!({"text": "guilty"}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "only the supervisor finds"
    );
    let r = http.post(
        &format!("/api/v1/incidents/{id}/accounts"),
        Some(&il),
        json!({"text": "x", "disowned": true}),
    );
    assert_eq!(r.status, 422, "only the named party can say not ours");
    assert_eq!(
        http.post(&format!("/api/v1/incidents/{id}/ack"), Some(&sy), json!({}))
            .status,
        200
    );
    assert_eq!(
        http.post(
            &format!("/api/v1/incidents/{id}/accounts"),
            Some(&sy),
            json!({"text": "Not our forces: an unaffiliated militia.", "disowned": true})
        )
        .status,
        200
    );
    assert_eq!(
        http.post(
            &format!("/api/v1/incidents/{id}/accounts"),
            Some(&il),
            json!({"text": "Radar tracks attached."})
        )
        .status,
        200
    );
    assert_eq!(
        http.post(
            &format!("/api/v1/incidents/{id}/information-requests"),
            Some(&us),
            json!({"party": "sy", "question": "Which units hold the ridge?", "within": "2h"})
        )
        .status,
        200
    );
    assert_eq!(
        http.post(
            &format!("/api/v1/incidents/{id}/accounts"),
            Some(&sy),
            json!({"text": "Brigade 90 holds it.", "answers": 1})
        )
        .status,
        200
    );
    assert_eq!(
        http.post(
            &format!("/api/v1/incidents/{id}/findings"),
            Some(&us),
            json!({"text": "Origin unconfirmed."})
        )
        .status,
        200
    );
    assert_eq!(
        http.post(
            &format!("/api/v1/incidents/{id}/close"),
            Some(&us),
            json!({"outcome": "unresolved", "measures": "Joint patrol on the ridge."})
        )
        .status,
        200
    );
    let v = http
        .get(&format!("/api/v1/incidents/{id}"), Some(&il))
        .json();
    let accounts = v["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 3, "every account kept, in order");
    assert_eq!(accounts[0]["party"], "sy");
    assert_eq!(accounts[0]["disowned"], true);
    assert_eq!(accounts[0]["operator"], "sy-liaison");
    assert_eq!(accounts[1]["party"], "il");
    assert_eq!(v["status"], "unresolved");
    assert!(v["information_requests"][0]["answered_at"].is_string());
    assert!(
        v["obligations"]
            .as_array()
            .expect("obligations")
            .iter()
            .all(|o| o["met_at"].is_string())
    );
    let r = http.post(
        &format!("/api/v1/incidents/{id}/accounts"),
        Some(&sy),
        json!({"text": "late"}),
    );
    assert_eq!(r.status, 409, "closed incidents take no more accounts");

    // The review report counts it, and the CLI writes JSON and Markdown.
    let rep = http
        .get(
            "/api/v1/reports/review?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
            Some(&us),
        )
        .json();
    assert_eq!(rep["incidents_attributed_to"]["sy"], 1);
    assert_eq!(rep["disowned_by"]["sy"], 1);
    let out = tempfile::tempdir().expect("tmp");
    common::cli(
        &server,
        &us,
        &[
            "report",
            "--from",
            "2020-01-01T00:00:00Z",
            "--to",
            "2100-01-01T00:00:00Z",
            "--out",
            out.path().to_str().expect("p"),
        ],
    );
    let md = std::fs::read_to_string(out.path().join("review.md")).expect("md");
    assert!(md.contains("fire_across_the_line"), "{md}");
}

#[test]
fn heartbeats_decide_reachability() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let il = cell.token("il-liaison");
    let r = http.post("/api/v1/heartbeat", Some(&il), json!({}));
    assert_eq!(r.status, 200);
    let h = http
        .get("/api/v1/channel-health", Some(&cell.token("sy-liaison")))
        .json();
    let find = |p: &str| {
        h.as_array()
            .expect("list")
            .iter()
            .find(|x| x["party"] == p)
            .cloned()
            .expect("party")
    };
    assert_eq!(find("il")["reachable"], true);
    assert_eq!(find("sy")["reachable"], false);
}

/// A message pushed to the recipient's connected clients counts as delivered without any
/// fetch, and however many clients the party has, each message's delivery is recorded
/// once.
#[test]
fn pushed_messages_are_delivered_once_per_party() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
    );
    cell.approve(&http);
    let head = common::all_events(&http, &us)
        .last()
        .and_then(|e| e["seq"].as_u64())
        .expect("head")
        .to_string();
    let ids: Vec<u64> = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (http, sy, head) = (&http, &sy, &head);
                scope.spawn(move || {
                    http.sse("/api/v1/events", sy, Some(head), 3, Duration::from_secs(10))
                        .into_iter()
                        .filter(|(_, v)| v["kind"] == "message_sent")
                        .map(|(id, _)| id)
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let ids: Vec<u64> = (0..3)
            .map(|i| {
                let r = http.post(
                    "/api/v1/messages",
                    Some(&il),
                    json!({"to": ["sy"], "precedence": "immediate", "subject": format!("push {i}"), "body": "."}),
                );
                assert_eq!(r.status, 200, "{}", r.body);
                r.json()["id"].as_u64().expect("id")
            })
            .collect();
        for r in readers {
            assert_eq!(
                r.join().expect("reader"),
                ids,
                "every client gets every message"
            );
        }
        ids
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    for id in &ids {
        loop {
            let v = http
                .get(&format!("/api/v1/messages/{id}"), Some(&il))
                .json();
            if v["recipients"][0]["state"] == "delivered" {
                assert!(v["recipients"][0]["delivered_at"].is_string());
                break;
            }
            assert_eq!(v["recipients"][0]["state"], "sent");
            assert!(
                Instant::now() < deadline,
                "message {id} was pushed but not recorded as delivered"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let mut recorded: Vec<u64> = common::all_events(&http, &us)
        .iter()
        .filter(|e| e["kind"] == "messages_delivered")
        .flat_map(|e| {
            e["data"]["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| m.as_u64().expect("id"))
                .collect::<Vec<_>>()
        })
        .collect();
    recorded.sort();
    assert_eq!(recorded, ids, "each delivery recorded exactly once");
}

/// What the sender reads is true: a FLASH pushed to Syria's live feed is delivered, not
/// read, until a person of Syria opens it; while the feed is open, Syria is reachable
/// without any heartbeat.
#[test]
fn a_flash_on_the_live_feed_is_delivered_and_read_only_when_a_person_opens_it() {
    use std::io::BufRead;
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let (il, sy) = (cell.token("il-liaison"), cell.token("sy-liaison"));
    let health = |party: &str| -> Value {
        http.get("/api/v1/channel-health", Some(&il))
            .json()
            .as_array()
            .and_then(|a| a.iter().find(|x| x["party"] == party).cloned())
            .expect("party")
    };
    assert_eq!(health("sy")["reachable"], false);
    let mut watch = common::command_as(&sy)
        .args(["--server", &server.url, "--token", &sy, "watch"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // The feed is open: Syria is reachable, and says how.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while health("sy")["connected"] != true && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let h = health("sy");
    assert_eq!(
        (h["connected"].clone(), h["reachable"].clone()),
        (json!(true), json!(true)),
        "{h}"
    );
    assert!(h["last_heartbeat"].is_null(), "no heartbeat was sent: {h}");

    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "flash", "subject": "Shots near Hader", "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    let line = loop {
        let l = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("watch prints the message");
        if l.contains("Shots near Hader") {
            break l;
        }
    };
    assert!(line.contains("FLASH") || line.contains("flash"), "{line}");
    let state = |who: &str| -> Value {
        http.get(&format!("/api/v1/messages/{id}"), Some(who))
            .json()["recipients"][0]
            .clone()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state(&il)["state"] == "sent" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = state(&il);
    assert_eq!(
        r["state"], "delivered",
        "pushed and shown by watch, but nobody read it: {r}"
    );
    assert!(r["read_at"].is_null(), "{r}");

    // A person of Syria opens it.
    let out = common::cli(&server, &sy, &["msg", "show", &id.to_string()]);
    assert!(out.contains("Shots near Hader"), "{out}");
    let r = state(&il);
    assert_eq!(r["state"], "read", "{r}");
    // Reading is Syria's own signed statement, not something the server inferred.
    let events = common::all_events(&http, &sy);
    let read = events
        .iter()
        .find(|e| e["kind"] == "message_read")
        .expect("message_read");
    assert_eq!(read["author"]["operator"], "sy-liaison");
    assert!(read["author"]["observed"].is_null(), "{read}");
    assert!(read["signature"]["signed"].is_string(), "{read}");
    let _ = watch.kill();
    let _ = watch.wait();
}

/// "What do I owe?" has one command, and a receipt can be fetched later and checked
/// offline.
#[test]
fn an_officer_lists_what_is_owed_and_fetches_a_receipt_later() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let (il, sy) = (cell.token("il-liaison"), cell.token("sy-liaison"));
    let nothing = common::cli(&server, &sy, &["obligations"]);
    assert!(nothing.contains("sy owes:\n  nothing"), "{nothing}");
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "priority", "subject": "Convoy at 06:00", "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let sent = r.json();
    let id = sent["id"].as_u64().expect("id");
    let owed = common::cli(&server, &sy, &["obligations"]);
    // What is owed reads as words: the duty, and the message by its number, precedence
    // and subject.
    assert!(
        owed.contains("acknowledge message")
            && owed.contains(&format!("PRIORITY message #{id} \"Convoy at 06:00\"")),
        "{owed}"
    );
    assert!(owed.contains("(to il)"), "{owed}");
    let waiting = common::cli(&server, &il, &["obligations"]);
    assert!(waiting.contains("il owes:\n  nothing"), "{waiting}");
    assert!(waiting.contains("(owed by sy)"), "{waiting}");

    let seq = sent["receipt"]["index"].as_u64().expect("index");
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("receipt.json");
    let out = common::cli(
        &server,
        &il,
        &[
            "receipt",
            &seq.to_string(),
            "--out",
            file.to_str().expect("p"),
        ],
    );
    assert!(out.contains("written to"), "{out}");
    let vkey = http.get("/api/v1/cell", Some(&il)).json()["log"]["vkey"]
        .as_str()
        .expect("vkey")
        .to_string();
    let o = common::liaison(&["verify-receipt", file.to_str().expect("p"), "--vkey", &vkey]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    common::assert_no_epoch_micros(&["verify-receipt"], &text);
    assert!(text.contains("Z"), "a time with its zone: {text}");
    // UNDOF, to which the message is not addressed, gets no receipt for it.
    let r = http.get(
        &format!("/api/v1/receipts/{seq}"),
        Some(&cell.token("undof-observer")),
    );
    assert_eq!(r.status, 404, "{}", r.body);
}

/// The reporting party corrects what it got wrong and withdraws what it should not have
/// reported; the earlier words stay in the record and in the incident's history; no one
/// else may do either, and an observer it does not name learns nothing.
#[test]
fn the_reporter_corrects_and_withdraws_its_report_and_the_old_words_stay() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us, undof) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
        cell.token("undof-observer"),
    );
    cell.approve(&http);
    let r = http.post(
        "/api/v1/incidents",
        Some(&il),
        json!({
        "category": "fire_across_the_line", "when": "2026-01-10T03:10:00Z",
        "where": {"type": "Point", "coordinates": [35.85, 33.12]}, "uncertainty_m": 300,
        "description": "Mortar fire from the area of separation", "attributed_to": "sy"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    let corrections = format!("/api/v1/incidents/{id}/corrections");
    let fix = json!({"category": "strike", "where": {"type": "Point", "coordinates": [35.86, 33.13]},
        "reason": "an air strike, 1.4 km further north-east"});
    let before = http.head(&us);
    for (who, want) in [(&sy, 403), (&us, 403), (&undof, 404)] {
        let r = http.post(&corrections, Some(who), fix.clone());
        assert_eq!(r.status, want, "{}", r.body);
    }
    let r = http.post(&corrections, Some(&il), json!({"reason": "nothing"}));
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "invalid_input"),
        "{}",
        r.body
    );
    assert_eq!(http.head(&us), before, "refusals record nothing");

    let r = http.post(&corrections, Some(&il), fix);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = http
        .get(&format!("/api/v1/incidents/{id}"), Some(&sy))
        .json();
    assert_eq!(v["category"], "strike");
    assert_eq!(v["where"]["coordinates"], json!([35.86, 33.13]));
    assert_eq!(v["uncertainty_m"], 300.0, "kept unless corrected");
    let c = &v["corrections"][0];
    assert_eq!(c["previous_category"], "fire_across_the_line");
    assert_eq!(c["previous_where"]["coordinates"], json!([35.85, 33.12]));
    assert_eq!(c["reason"], "an air strike, 1.4 km further north-east");
    // The report as first made is still in the record.
    let events = common::all_events(&http, &us);
    let reported = events
        .iter()
        .find(|e| e["kind"] == "incident_reported")
        .expect("reported");
    assert_eq!(reported["data"]["category"], "fire_across_the_line");
    assert!(events.iter().any(|e| e["kind"] == "incident_corrected"));

    // Syria owes an acknowledgement until Israel withdraws its report.
    let subject = id.to_string();
    let owed = |who: &str| -> usize {
        http.get("/api/v1/obligations", Some(who))
            .json()
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|o| o["subject"] == subject.as_str())
                    .count()
            })
            .unwrap_or(0)
    };
    assert!(owed(&sy) > 0);
    let withdraw = format!("/api/v1/incidents/{id}/withdraw");
    let r = http.post(&withdraw, Some(&sy), json!({"reason": "not ours"}));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = http.post(&withdraw, Some(&il), json!({"reason": "reported in error"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let v = http
        .get(&format!("/api/v1/incidents/{id}"), Some(&sy))
        .json();
    assert_eq!(v["status"], "withdrawn_by_reporter");
    assert_eq!(v["withdrawn_reason"], "reported in error");
    assert_eq!(owed(&sy), 0, "nothing more is owed on a withdrawn report");
    let r = http.post(
        &corrections,
        Some(&il),
        json!({"category": "other", "reason": "again"}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "invalid_state"),
        "{}",
        r.body
    );
}

/// Empty lists say so, and a message the officer's party still has to acknowledge is
/// marked "waiting on you" in its list; the sender's own list carries no such mark.
#[test]
fn empty_lists_say_so_and_what_you_owe_is_marked() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let (il, sy) = (cell.token("il-liaison"), cell.token("sy-liaison"));
    for (args, says) in [
        (&["msg", "list"][..], "no messages"),
        (&["incident", "list"][..], "no incidents"),
        (&["intel", "list"][..], "no submissions"),
        (&["deconflict", "list"][..], "no notifications"),
        (&["site", "list"][..], "no protected sites"),
        (&["zone", "list"][..], "no zones"),
    ] {
        let out = common::cli(&server, &sy, args);
        assert_eq!(out.trim(), says, "{args:?}");
    }
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "flash", "subject": "Shots at the crossing", "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let theirs = common::cli(&server, &sy, &["msg", "list"]);
    assert!(
        theirs.contains("Shots at the crossing") && theirs.contains("waiting on you"),
        "{theirs}"
    );
    let ours = common::cli(&server, &il, &["msg", "list", "--box", "sent"]);
    assert!(
        ours.contains("Shots at the crossing") && !ours.contains("waiting on you"),
        "{ours}"
    );
    let id = r.json()["id"].as_u64().expect("id").to_string();
    common::cli(&server, &sy, &["msg", "ack", &id]);
    let after = common::cli(&server, &sy, &["msg", "list"]);
    assert!(!after.contains("waiting on you"), "{after}");
}
