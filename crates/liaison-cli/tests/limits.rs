//! Limits before credentials, and files at rest: an unauthenticated request is refused
//! before its body is read (JSON writes and TAXII alike); the data directory, the
//! database and its WAL are their owner's alone, and the server refuses to start on a
//! key file or data directory that group or others can read.

mod common;

use common::{Cell, bin};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// Sends a POST whose head announces `announced` bytes of body but sends only the
/// first kilobyte, then reads the answer's status line. A server that read the body
/// before the credentials would wait for the rest instead of answering.
fn refused_before_the_body(url: &str, path: &str, authorization: &str, announced: usize) -> String {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("connect");
    // Generous: only a server that waits for the body runs into it.
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{authorization}Content-Length: {announced}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(&[b'x'; 1024]).expect("first kilobyte");
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(2).any(|w| w == b"\r\n") {
        let n = s
            .read(&mut buf)
            .expect("the server answers before the body is sent");
        assert!(n > 0, "the server closed without answering");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    text.lines().next().unwrap_or_default().to_string()
}

#[test]
fn credentials_are_checked_before_any_body_is_read() {
    let cell = Cell::init();
    let server = cell.serve();
    // Five MiB: under every route's body limit, so only credentials can refuse it.
    let big = 5 << 20;
    for (path, auth) in [
        ("/api/v1/messages", String::new()),
        (
            "/api/v1/messages",
            "Authorization: Bearer lsn_not-a-token\r\n".to_string(),
        ),
        ("/api/v1/attachments", String::new()),
        ("/taxii2/il/collections/any/objects/", String::new()),
        (
            "/taxii2/il/collections/any/objects/",
            // il-liaison with a wrong password (HTTP Basic).
            "Authorization: Basic aWwtbGlhaXNvbjp3cm9uZw==\r\n".to_string(),
        ),
    ] {
        let status = refused_before_the_body(&server.url, path, &auth, big);
        assert!(status.contains(" 401 "), "{path} {auth:?}: {status}");
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

fn chmod(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod");
}

fn serve_fails(data: &Path) -> String {
    let out = std::process::Command::new(bin())
        .args([
            "serve",
            "--data",
            data.to_str().expect("utf8"),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("LIAISON_LOG", "warn")
        .output()
        .expect("run liaison");
    assert!(!out.status.success(), "the server must refuse to start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_data_directory_and_keys_are_private_and_checked_on_start() {
    let cell = Cell::init();
    let data = cell.data();
    {
        // A server has run and written: the WAL and shared-memory files exist.
        let _server = cell.serve();
    }
    assert_eq!(mode(&data), 0o700);
    for f in [
        "cell.db",
        "cell.db-wal",
        "cell.db-shm",
        "log.key",
        "credentials.json",
    ] {
        let p = data.join(f);
        assert!(p.exists(), "{f}");
        assert_eq!(mode(&p), 0o600, "{f}");
    }

    // Each file opened to others stops the server, which names it and the fix.
    for (f, open, fix) in [
        ("log.key", 0o640, "chmod 600"),
        ("cell.db", 0o644, "chmod 600"),
        ("cell.db-wal", 0o604, "chmod 600"),
        ("", 0o755, "chmod 700"),
    ] {
        let p = if f.is_empty() {
            data.clone()
        } else {
            data.join(f)
        };
        chmod(&p, open);
        let err = serve_fails(&data);
        let shown = format!("{fix} {}", p.display());
        assert!(err.contains(&shown), "{f}: {err}");
        chmod(&p, if f.is_empty() { 0o700 } else { 0o600 });
    }
    // Put back, it serves again.
    drop(cell.serve());
}

#[test]
fn a_tls_key_others_can_read_stops_the_server() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let charter = common::repo_root().join("examples/demo.toml");
    let out = common::liaison(&[
        "init",
        "--data",
        data.to_str().expect("utf8"),
        "--charter",
        charter.to_str().expect("utf8"),
        "--hostname",
        "cell.test",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = data.join("tls.key");
    assert_eq!(mode(&key), 0o600);
    chmod(&key, 0o644);
    let err = serve_fails(&data);
    assert!(
        err.contains(&format!("chmod 600 {}", key.display())),
        "{err}"
    );
}
