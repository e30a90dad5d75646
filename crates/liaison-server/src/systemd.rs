//! The service manager's notification protocol (`sd_notify`): `READY=1` once the server
//! serves, `WATCHDOG=1` at half the watchdog period for as long as the server is well
//! (what `/healthz` answers 200 to), and `STOPPING=1` when it shuts down.
//! Each is one datagram to the socket named by `$NOTIFY_SOCKET`; without that variable
//! (not started by systemd with `Type=notify`) nothing is sent.
//! A server whose store has failed stops its watchdog pings, so systemd restarts it
//! rather than keeping alive a process that refuses every write.

use crate::App;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Where the service manager listens for notifications.
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// The notifier `$NOTIFY_SOCKET` names, or `None` when the variable is unset or empty.
    pub fn from_env() -> io::Result<Option<Notifier>> {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(path) if !path.is_empty() => Notifier::to(&path.to_string_lossy()).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier sending to `path`: a socket file, or an abstract socket when it starts
    /// with `@` (Linux), as `$NOTIFY_SOCKET` may name either.
    pub fn to(path: &str) -> io::Result<Notifier> {
        let addr = match path.strip_prefix('@') {
            Some(name) => abstract_addr(name)?,
            None => SocketAddr::from_pathname(path)?,
        };
        let socket = UnixDatagram::unbound()?;
        // A manager that stops reading must not stall the server's async threads.
        socket.set_nonblocking(true)?;
        Ok(Notifier { socket, addr })
    }

    /// Sends one state line (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`).
    pub fn notify(&self, state: &str) -> io::Result<()> {
        let sent = self.socket.send_to_addr(state.as_bytes(), &self.addr)?;
        if sent != state.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("sent {sent} of {} bytes of {state:?}", state.len()),
            ));
        }
        Ok(())
    }

    /// One watchdog beat: `WATCHDOG=1` when the server is well, the same test `/healthz`
    /// makes; nothing once the store has failed. Says whether it pinged.
    pub fn beat(&self, app: &App) -> io::Result<bool> {
        if app.shared.is_failed() {
            return Ok(false);
        }
        self.notify("WATCHDOG=1")?;
        Ok(true)
    }
}

#[cfg(target_os = "linux")]
fn abstract_addr(name: &str) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name.as_bytes())
}

#[cfg(not(target_os = "linux"))]
fn abstract_addr(name: &str) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("abstract socket @{name}: only Linux has them"),
    ))
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC`, as systemd advises, when it
/// is set to a positive number of microseconds and `WATCHDOG_PID` (if set) is this
/// process; otherwise no watchdog is expected of it.
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if pid.is_some_and(|p| p.trim().parse::<u32>().ok() != Some(own_pid)) {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

/// The watchdog interval systemd asked of this process (`WATCHDOG_USEC`, `WATCHDOG_PID`).
pub fn watchdog_from_env() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    watchdog_interval(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// Pings the watchdog every `every` while the server is well; returns when it is not,
/// so that systemd's watchdog expires and restarts the service.
pub async fn watchdog(app: App, notifier: std::sync::Arc<Notifier>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match notifier.beat(&app) {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(
                    "the store has failed: no more watchdog pings, the service manager will restart the server"
                );
                return;
            }
            Err(e) => tracing::warn!(error = %e, "cannot ping the service manager's watchdog"),
        }
    }
}
