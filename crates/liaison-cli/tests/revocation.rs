//! Revocation at once: disabling an operator or rotating its token ends its open event
//! streams within a second, and no delivery is recorded in its name afterwards; an
//! operator holds at most a fixed number of event streams at once.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The demo charter (whose `il-admin` manages Israel's operators) with a
/// second liaison officer for Israel.
fn charter(dir: &std::path::Path) -> std::path::PathBuf {
    let demo = std::fs::read_to_string(repo_root().join("examples/demo.toml")).expect("demo");
    let path = dir.join("charter.toml");
    let text =
        format!("{demo}\n[[operators]]\nname = \"il-duty\"\nparty = \"il\"\nrole = \"liaison\"\n");
    std::fs::write(&path, text).expect("write charter");
    path
}

/// An event stream read on its own thread.
struct Stream {
    /// The sequence numbers of the events the stream delivered, and when it ended.
    ended: mpsc::Receiver<(Vec<u64>, Instant)>,
}

/// Opens `GET /api/v1/events` as the operator of `token` and returns once the server
/// has answered with the stream's headers.
fn open_stream(base: &str, token: &str) -> Stream {
    let (opened_tx, opened) = mpsc::channel();
    let (ended_tx, ended) = mpsc::channel();
    let (url, token) = (format!("{base}/api/v1/events"), token.to_string());
    std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client");
        let resp = client
            .get(url)
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .send()
            .expect("stream");
        let _ = opened_tx.send(resp.status().as_u16());
        let mut seqs = Vec::new();
        let mut reader = BufReader::new(resp);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if let Some(id) = line.trim_end().strip_prefix("id:") {
                seqs.extend(id.trim().parse::<u64>().ok());
            }
        }
        let _ = ended_tx.send((seqs, Instant::now()));
    });
    let status = opened
        .recv_timeout(Duration::from_secs(30))
        .expect("the stream opens");
    assert_eq!(status, 200, "the stream opens");
    Stream { ended }
}

impl Stream {
    /// Waits for the stream's end, at most `within` after `since`; returns what it got.
    fn ends_within(&self, since: Instant, within: Duration) -> Vec<u64> {
        let (seqs, at) = self
            .ended
            .recv_timeout(within.saturating_sub(since.elapsed()))
            .unwrap_or_else(|_| panic!("the stream is still open {within:?} after the change"));
        assert!(at.duration_since(since) <= within, "ended too late");
        seqs
    }

    fn is_open(&self) -> bool {
        matches!(self.ended.try_recv(), Err(mpsc::TryRecvError::Empty))
    }
}

fn send(http: &Http, token: &str, subject: &str) -> Value {
    let r = http.post(
        "/api/v1/messages",
        Some(token),
        json!({"to": ["il"], "precedence": "routine", "subject": subject, "body": "b"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn disabling_an_operator_ends_its_streams_at_once_and_nothing_is_delivered_in_its_name() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cell = Cell::init_with(&charter(tmp.path()));
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let (il, il_admin, sy) = (
        cell.token("il-liaison"),
        cell.token("il-admin"),
        cell.token("sy-liaison"),
    );
    let duty = cell.token("il-duty");

    let stream = open_stream(&server.url, &il);
    let other = open_stream(&server.url, &duty);
    // While il-liaison stands, its stream delivers.
    let before = send(&http, &sy, "before")["receipt"]["index"]
        .as_u64()
        .expect("index");

    let r = http.post(
        "/api/v1/operators/il-liaison/disable",
        Some(&il_admin),
        json!({}),
    );
    assert_eq!(
        r.status, 200,
        "Israel's admin disables its liaison: {}",
        r.body
    );
    let disabled_at = r.json()["receipt"]["index"].as_u64().expect("index");
    let got = stream.ends_within(Instant::now(), Duration::from_secs(1));
    assert!(got.contains(&before), "the stream was live before: {got:?}");
    assert!(
        got.iter().all(|s| *s < disabled_at),
        "nothing after the disable reached the stream: {got:?}"
    );
    assert!(other.is_open(), "another operator's stream goes on");

    // A message after the change, fetched by Israel's other liaison officer: delivered,
    // and never in il-liaison's name.
    let after = send(&http, &sy, "after")["id"]
        .as_u64()
        .expect("message id");
    let r = http.get(&format!("/api/v1/messages/{after}"), Some(&duty));
    assert_eq!(r.status, 200, "{}", r.body);
    for e in all_events(&http, &sy) {
        if e["seq"].as_u64() > Some(disabled_at) {
            assert_ne!(
                e["author"]["operator"], "il-liaison",
                "recorded in the disabled operator's name: {e}"
            );
        }
    }
    // Its token opens nothing any more.
    let r = http.get("/api/v1/events/page", Some(&il));
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
}

#[test]
fn rotating_a_token_ends_the_streams_opened_with_the_old_one() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let sy = cell.token("sy-liaison");
    let stream = open_stream(&server.url, &sy);
    let r = http.post("/api/v1/operators/sy-liaison/rotate", Some(&sy), json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    stream.ends_within(Instant::now(), Duration::from_secs(1));
    // The new token streams.
    let fresh = r.json()["operator"]["token"]
        .as_str()
        .expect("new token")
        .to_string();
    let again = open_stream(&server.url, &fresh);
    assert!(again.is_open());
}

#[test]
fn an_operator_holds_at_most_eight_event_streams() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let sy = cell.token("sy-liaison");
    let streams: Vec<reqwest::blocking::Response> = (0..8)
        .map(|_| {
            let r = reqwest::blocking::Client::new()
                .get(format!("{}/api/v1/events", server.url))
                .bearer_auth(&sy)
                .send()
                .expect("stream");
            assert_eq!(r.status(), 200);
            r
        })
        .collect();
    let r = http.get("/api/v1/events", Some(&sy));
    assert_eq!((r.status, r.code().as_str()), (429, "too_many_streams"));
    // Another operator is not held back by sy-liaison's streams.
    let il = open_stream(&server.url, &cell.token("il-liaison"));
    assert!(il.is_open());
    // Once the operator closes one, it may open another (the server notices a closed
    // stream when it next writes to it: at the latest with the next keep-alive).
    drop(streams);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let mut status = 0;
    for _ in 0..60 {
        let r = client
            .get(format!("{}/api/v1/events", server.url))
            .bearer_auth(&sy)
            .send()
            .expect("request");
        status = r.status().as_u16();
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(status, 200, "a closed stream gives its slot back");
}
