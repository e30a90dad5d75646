//! Under systemd (`Type=notify`, `WatchdogSec=`): the real binary tells the service
//! manager's socket `READY=1` once it serves, pings `WATCHDOG=1` while it is well and
//! says `STOPPING=1` on SIGTERM; `liaison healthcheck` succeeds only against a server
//! that is ready.
#![cfg(unix)]

mod common;
use common::*;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("a notification");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn serve_notifies_ready_pings_the_watchdog_and_says_stopping() {
    let cell = Cell::init();
    let path = cell.tmp.path().join("notify");
    let socket = UnixDatagram::bind(&path).expect("bind");
    // A guard against a hang: every notification here comes within milliseconds.
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut server = Server::start_with_env(
        &cell.data(),
        &[
            ("NOTIFY_SOCKET", path.to_str().expect("utf8")),
            // 0.2 s: a ping every 0.1 s.
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    assert_eq!(receive(&socket), "READY=1");
    for _ in 0..2 {
        assert_eq!(receive(&socket), "WATCHDOG=1");
    }

    let out = liaison(&["healthcheck", "--server", &server.url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{}: ready", server.url)
    );

    let status = server.terminate();
    assert!(status.success(), "the server exited with {status}");
    // Pings already queued come first; the last word is STOPPING=1.
    let mut last = receive(&socket);
    while last == "WATCHDOG=1" {
        last = receive(&socket);
    }
    assert_eq!(last, "STOPPING=1");
}

#[test]
fn healthcheck_fails_when_no_server_answers() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = liaison(&["healthcheck", "--server", &url]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach"), "{err}");
}
