//! The service manager's notifications, received on a real Unix datagram socket as
//! systemd receives them: `READY=1` and the other states arrive as sent, the watchdog
//! interval is what systemd asks for, and the watchdog stops pinging once the store has
//! failed, so that systemd restarts the server.
#![cfg(unix)]

use liaison_core::Timestamp;
use liaison_server::ledger::LogSigner;
use liaison_server::systemd::{Notifier, watchdog, watchdog_interval};
use liaison_server::{App, ManualClock};
use liaison_store::{MemoryStore, Store};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::Duration;

/// A socket standing for systemd's, and the path `NOTIFY_SOCKET` would name.
fn manager() -> (tempfile::TempDir, UnixDatagram, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).expect("bind");
    // A guard against a test that would otherwise hang: no notification takes a minute.
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    (dir, socket, path.to_str().expect("utf8").to_string())
}

fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("a notification");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Nothing waiting on the socket. A datagram to a Unix socket is queued by the `send`
/// call itself, so a beat that sent would already be there.
fn nothing_waiting(socket: &UnixDatagram) -> bool {
    socket.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 256];
    let empty =
        matches!(socket.recv(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    socket.set_nonblocking(false).expect("blocking");
    empty
}

fn app() -> App {
    let store = Arc::new(MemoryStore::new()) as Arc<dyn Store>;
    let signer = LogSigner::generate("systemd.liaison/cell").expect("log key");
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    App::start(store, signer, Arc::new(clock)).expect("start")
}

#[test]
fn states_arrive_as_sent() {
    let (_dir, socket, path) = manager();
    let n = Notifier::to(&path).expect("notifier");
    for state in ["READY=1", "STATUS=serving", "STOPPING=1"] {
        n.notify(state).expect("notify");
        assert_eq!(receive(&socket), state);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_abstract_socket_is_named_with_an_at_sign() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("liaison-test-{}", std::process::id());
    let addr =
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
    let socket = UnixDatagram::bind_addr(&addr).expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    Notifier::to(&format!("@{name}"))
        .expect("notifier")
        .notify("READY=1")
        .expect("notify");
    assert_eq!(receive(&socket), "READY=1");
}

#[test]
fn a_socket_nobody_listens_on_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = Notifier::to(dir.path().join("absent").to_str().expect("utf8")).expect("notifier");
    assert!(n.notify("READY=1").is_err());
}

#[test]
fn the_watchdog_pings_at_half_the_period_systemd_asks_for() {
    let ms = Duration::from_millis;
    assert_eq!(
        watchdog_interval(Some("30000000"), None, 7),
        Some(ms(15_000))
    );
    assert_eq!(
        watchdog_interval(Some("30000000"), Some("7"), 7),
        Some(ms(15_000))
    );
    // Meant for another process (systemd names the main process), or no watchdog.
    assert_eq!(watchdog_interval(Some("30000000"), Some("8"), 7), None);
    assert_eq!(watchdog_interval(None, None, 7), None);
    assert_eq!(watchdog_interval(Some("0"), None, 7), None);
    assert_eq!(watchdog_interval(Some("soon"), None, 7), None);
}

#[test]
fn a_beat_pings_while_the_server_is_well_and_not_once_the_store_failed() {
    let (_dir, socket, path) = manager();
    let n = Notifier::to(&path).expect("notifier");
    let app = app();
    assert!(n.beat(&app).expect("beat"));
    assert_eq!(receive(&socket), "WATCHDOG=1");
    app.shared.mark_failed();
    assert!(!n.beat(&app).expect("beat"));
    assert!(nothing_waiting(&socket));
}

#[test]
fn the_watchdog_keeps_pinging_until_the_store_fails_then_stops() {
    let (_dir, socket, path) = manager();
    let n = Arc::new(Notifier::to(&path).expect("notifier"));
    let app = app();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let task = rt.spawn(watchdog(app.clone(), n, Duration::from_millis(5)));
    for _ in 0..3 {
        assert_eq!(receive(&socket), "WATCHDOG=1");
    }
    app.shared.mark_failed();
    // The task ends at its next beat; a watchdog that kept going would never end.
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), task).await })
        .expect("the watchdog stops once the store has failed")
        .expect("task");
}
