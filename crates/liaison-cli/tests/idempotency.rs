//! Idempotent writes through the real binary: a retry with the same `Idempotency-Key`
//! gets the first answer, byte for byte, and records nothing new, across a restart;
//! the key is the operator's own; a key reused for another request is refused.

mod common;

use common::{Cell, Http, Resp};
use serde_json::{Value, json};

const MESSAGES: &str = "/api/v1/messages";

fn message(subject: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"to": ["sy"], "precedence": "immediate", "subject": subject, "body": "b"}),
    )
    .expect("json")
}

/// Sends a message signed afresh (a new nonce and time each time), with `key`.
fn send(http: &Http, token: &str, key: &str, body: Vec<u8>) -> Resp {
    http.write(
        "POST",
        MESSAGES,
        Some(token),
        &[
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ],
        body,
    )
}

fn size(http: &Http, token: &str) -> Value {
    http.head(token)
}

#[test]
fn a_retry_gets_the_first_answer_and_records_nothing_new() {
    let cell = Cell::init();
    let mut server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let sy = cell.token("sy-liaison");

    let first = send(&http, &il, "order-1", message("one"));
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let after_first = size(&http, &il);

    // The same request again, signed afresh: the first answer, the same receipt.
    let again = send(&http, &il, "order-1", message("one"));
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, first.body, "the same answer, byte for byte");
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(size(&http, &il), after_first, "nothing new recorded");
    let messages = http.get("/api/v1/messages", Some(&sy)).json();
    let ones = messages
        .as_array()
        .map(|a| a.iter().filter(|m| m["subject"] == "one").count())
        .unwrap_or_else(|| panic!("messages: {messages}"));
    assert_eq!(ones, 1, "Syria reads the message once");
    // (Syria's read recorded its delivery: the server's observation.)
    let after_read = size(&http, &il);

    // The same key for another request: refused, nothing recorded.
    let other = send(&http, &il, "order-1", message("two"));
    assert_eq!(
        (other.status, other.code().as_str()),
        (422, "idempotency_key_reused"),
        "{}",
        other.body
    );
    assert_eq!(size(&http, &il), after_read);

    // Another operator's key of the same name is its own.
    let theirs = http.write(
        "POST",
        MESSAGES,
        Some(&sy),
        &[
            ("content-type", "application/json"),
            ("idempotency-key", "order-1"),
        ],
        serde_json::to_vec(
            &json!({"to": ["il"], "precedence": "immediate", "subject": "one", "body": "b"}),
        )
        .expect("json"),
    );
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(theirs.headers.get("idempotent-replayed").is_none());
    assert_ne!(theirs.body, first.body);
    let after_theirs = size(&http, &il);

    // A request that is refused records nothing and claims nothing: once the cause is
    // gone, the same key records.
    let bad = send(&http, &il, "order-2", br#"{"to": ["xx"]}"#.to_vec());
    assert_eq!(bad.status, 422, "{}", bad.body);
    let good = send(&http, &il, "order-2", message("three"));
    assert_eq!(good.status, 200, "{}", good.body);

    // Bad keys are refused before anything is read.
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "a key"] {
        let r = send(&http, &il, key, message("four"));
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "bad_idempotency_key"),
            "{key:?}: {}",
            r.body
        );
    }
    let before_restart = size(&http, &il);
    assert_ne!(before_restart, after_theirs);

    // The key outlives the process: after kill -9 and a restart, the retry still gets
    // the first answer.
    server.kill9();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let later = send(&http, &il, "order-1", message("one"));
    assert_eq!(later.status, 200, "{}", later.body);
    assert_eq!(later.body, first.body);
    assert_eq!(size(&http, &il), before_restart);
}

#[test]
fn concurrent_retries_record_once() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let before = size(&http, &il);
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (http, il) = (Http::new(&server.url), il.clone());
                s.spawn(move || send(&http, &il, "burst", message("burst")))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let recorded: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
    assert!(!recorded.is_empty(), "one of them is answered");
    assert!(
        recorded.iter().all(|r| r.body == recorded[0].body),
        "every 200 is the first answer"
    );
    for r in answers.iter().filter(|r| r.status != 200) {
        assert_eq!(
            (r.status, r.code().as_str()),
            (409, "idempotency_in_flight"),
            "{}",
            r.body
        );
    }
    let after = size(&http, &il);
    assert_eq!(
        after.as_u64(),
        before.as_u64().map(|b| b + 1),
        "one message recorded"
    );
}
