//! A write whose connection fails is sent again under the same `Idempotency-Key`, so
//! the server can record it once; a new write gets a new key.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Reads one HTTP request's head and body; returns its Idempotency-Key.
fn read_request(stream: &mut std::net::TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut key = None;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "idempotency-key" => key = Some(value.trim().to_string()),
                "content-length" => length = value.trim().parse().ok()?,
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    key
}

#[test]
fn a_write_whose_connection_fails_is_retried_under_the_same_key() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let mut keys = Vec::new();
        // The first attempt: read it whole, then drop the connection unanswered (as a
        // server that crashed after recording it would).
        let (mut s, _) = listener.accept().expect("accept");
        keys.push(read_request(&mut s));
        drop(s);
        // The retry: answered.
        let (mut s, _) = listener.accept().expect("accept");
        keys.push(read_request(&mut s));
        let body = br#"{"ok":true}"#;
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(body);
        // A second, separate write: answered at once.
        let (mut s, _) = listener.accept().expect("accept");
        keys.push(read_request(&mut s));
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(body);
        keys
    });
    let client =
        liaison_client::Client::new(&format!("http://{addr}"), Some("t".into())).expect("client");
    let first: serde_json::Value = client
        .post("/api/v1/messages", &serde_json::json!({"subject": "s"}))
        .expect("the retry is answered");
    assert_eq!(first["ok"], true);
    let _: serde_json::Value = client
        .post("/api/v1/messages", &serde_json::json!({"subject": "t"}))
        .expect("answered");
    let keys = server.join().expect("server");
    assert_eq!(keys.len(), 3);
    assert!(keys[0].as_ref().is_some_and(|k| k.len() == 32), "{keys:?}");
    assert_eq!(keys[0], keys[1], "the retry carries the first key");
    assert_ne!(keys[1], keys[2], "a new write has a new key");
}
