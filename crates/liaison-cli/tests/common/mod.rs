//! Test harness: runs the real `liaison` binary on a temporary data directory and
//! talks to it over real HTTP.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// What signs for one operator: its name, its key (and the file holding it) and the log
/// it writes to.
#[derive(Clone)]
pub struct OperatorKey {
    pub name: String,
    pub origin: String,
    pub key: ed25519_dalek::SigningKey,
    pub path: PathBuf,
}

/// The signing keys of every cell this test process initialised, by bearer token, so
/// that the helpers sign each write as the operator whose token it carries.
fn keys() -> &'static Mutex<HashMap<String, OperatorKey>> {
    static KEYS: OnceLock<Mutex<HashMap<String, OperatorKey>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

/// The key that signs for `token`, if its operator has one.
pub fn key_for(token: &str) -> Option<OperatorKey> {
    keys().lock().ok().and_then(|k| k.get(token).cloned())
}

/// Registers a key for a token (an operator added or given a new key during a test).
pub fn register_key(token: &str, key: OperatorKey) {
    if let Ok(mut k) = keys().lock() {
        k.insert(token.to_string(), key);
    }
}

/// Makes a nonce no other request of this process uses.
pub fn fresh_nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "t{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// The current time, RFC 3339, `secs` seconds from now.
pub fn time_from_now(secs: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    liaison_api::time::format(liaison_core::Timestamp::from_secs(now + secs))
}

/// The `Liaison-Signature`, `Liaison-Nonce` and `Liaison-Time` headers that sign a
/// request (`path` may carry a query string), with the given nonce and time.
pub fn sign_with(
    k: &OperatorKey,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    nonce: &str,
    time: &str,
) -> Vec<(String, String)> {
    use sha2::Digest;
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let header = |name: &str| {
        headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    let signed = liaison_api::signing::SignedRequest {
        origin: k.origin.clone(),
        operator: k.name.clone(),
        method: method.to_string(),
        path: p.to_string(),
        query: q.to_string(),
        headers: liaison_api::signing::SIGNED_HEADERS.map(header),
        body_sha256: hex::encode(sha2::Sha256::digest(body)),
        nonce: nonce.to_string(),
        time: time.to_string(),
    }
    .canonical()
    .expect("canonical");
    let key_id = liaison_log::keys::operator_key_id(&k.key.verifying_key());
    vec![
        (
            "liaison-signature".into(),
            format!(
                "{key_id}:{}",
                liaison_log::keys::sign_b64(&k.key, signed.as_bytes())
            ),
        ),
        ("liaison-nonce".into(), nonce.to_string()),
        ("liaison-time".into(), time.to_string()),
    ]
}

/// The headers that sign a write by the operator of `token` now (none if it has no key).
pub fn signature_headers(
    token: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<(String, String)> {
    match key_for(token) {
        Some(k) => sign_with(
            &k,
            method,
            path,
            headers,
            body,
            &fresh_nonce(),
            &time_from_now(0),
        ),
        None => Vec::new(),
    }
}

/// A `liaison` command that signs as the operator of `token` (`LIAISON_KEY`).
pub fn command_as(token: &str) -> Command {
    let mut c = Command::new(bin());
    if let Some(k) = key_for(token) {
        c.env("LIAISON_KEY", &k.path);
    }
    c
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_liaison"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn liaison(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run liaison")
}

/// Runs `liaison ARGS` as the operator of `token` against `server`; asserts that it
/// succeeded and returns what it printed.
pub fn cli(server: &Server, token: &str, args: &[&str]) -> String {
    let o = command_as(token)
        .args(["--server", &server.url, "--token", token])
        .args(args)
        .output()
        .expect("run liaison");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    if !args.contains(&"--json") {
        assert_no_epoch_micros(args, &out);
    }
    out
}

/// What a person reads never gives a time as a count of microseconds since the epoch:
/// every black-box run of a command through [`cli`] is held to it. A run of 16 digits
/// standing alone (not part of a hex or base64 word) between 2001 and 2286 is one.
pub fn assert_no_epoch_micros(args: &[&str], out: &str) {
    let bytes = out.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let word = |b: Option<&u8>| {
            b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        };
        let alone = !word(start.checked_sub(1).and_then(|j| bytes.get(j))) && !word(bytes.get(i));
        assert!(
            !(alone && i - start == 16 && bytes[start] != b'0'),
            "{args:?} printed a time as microseconds since the epoch ({}): {out}",
            &out[start..i]
        );
    }
}

pub struct Server {
    pub dir: PathBuf,
    pub url: String,
    /// The metrics' own listener, when started with `--metrics-listen`.
    pub metrics_url: Option<String>,
    child: Child,
}

impl Server {
    /// Starts `liaison serve` on a free port and waits until it answers.
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[], &[("LIAISON_LOG", "warn")], Stdio::inherit())
    }

    /// [`Server::start`] with these environment variables added.
    pub fn start_with_env(dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut all = vec![("LIAISON_LOG", "warn")];
        all.extend_from_slice(env);
        Server::start_with(dir, &[], &all, Stdio::inherit())
    }

    /// [`Server::start`] with more flags, environment and where its standard error goes.
    pub fn start_with(
        dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
        stderr: impl Into<Stdio>,
    ) -> Server {
        let mut child = Command::new(bin())
            .args([
                "serve",
                "--data",
                dir.to_str().expect("utf8"),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut metrics_url = None;
        let url = loop {
            line.clear();
            let n = reader.read_line(&mut line).expect("read server output");
            assert!(n > 0, "server exited before serving");
            if let Some(rest) = line.trim().strip_prefix("Metrics on ") {
                metrics_url = rest.split_whitespace().next().map(str::to_string);
            }
            if let Some(rest) = line.trim().strip_prefix("Liaison is serving on ") {
                break rest
                    .split_whitespace()
                    .next()
                    .expect("url")
                    .trim_end_matches('/')
                    .to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        Server {
            dir: dir.to_path_buf(),
            url,
            metrics_url,
            child,
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server as systemd does (SIGTERM) and waits for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        self.child.wait().expect("wait for the server")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A data directory with a freshly initialised cell from `examples/demo.toml`.
pub struct Cell {
    pub tmp: tempfile::TempDir,
    pub tokens: Vec<(String, String, String, String)>,
}

impl Cell {
    pub fn init() -> Cell {
        Cell::init_with(&repo_root().join("examples/demo.toml"))
    }

    pub fn init_with(charter: &Path) -> Cell {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let out = liaison(&[
            "init",
            "--data",
            data.to_str().expect("utf8"),
            "--charter",
            charter.to_str().expect("utf8"),
        ]);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let creds: Value =
            serde_json::from_slice(&std::fs::read(data.join("credentials.json")).expect("creds"))
                .expect("json");
        let tokens = remember_keys(&data, &tmp.path().join("keys"), &creds);
        Cell { tmp, tokens }
    }

    pub fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    pub fn token(&self, name: &str) -> String {
        self.tokens
            .iter()
            .find(|t| t.0 == name)
            .map(|t| t.3.clone())
            .unwrap_or_else(|| panic!("no operator {name}"))
    }

    /// The log's origin, which every signature names.
    pub fn origin(&self) -> String {
        let log_key = std::fs::read_to_string(self.data().join("log.key")).expect("log key");
        liaison_server::ledger::LogSigner::from_key_text(log_key.trim())
            .expect("log key")
            .origin()
            .to_string()
    }

    /// Gives an operator added during a test a signing key: registers its public half
    /// (an operator without a key may do so unsigned) and signs its writes from then on.
    pub fn enrol_key(&self, http: &Http, token: &str, name: &str) -> OperatorKey {
        let key = liaison_log::keys::generate(&mut rand::rngs::OsRng);
        let path = self.tmp.path().join("keys").join(format!("{name}.pem"));
        let pem = liaison_log::keys::to_pkcs8_pem(&key).expect("pem");
        std::fs::write(&path, pem).expect("write key");
        let public_key = liaison_log::keys::public_b64(&key.verifying_key());
        let r = http.post_unsigned(
            "/api/v1/keys",
            Some(token),
            serde_json::json!({ "public_key": public_key }),
        );
        assert_eq!(r.status, 200, "registering {name}'s key: {}", r.body);
        let k = OperatorKey {
            name: name.to_string(),
            origin: self.origin(),
            key,
            path,
        };
        register_key(token, k.clone());
        k
    }

    /// The file holding the signing key `liaison init` made for `name`.
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.tmp.path().join("keys").join(format!("{name}.pem"))
    }

    pub fn serve(&self) -> Server {
        Server::start(&self.data())
    }

    /// Approves the charter as the supervisor's liaison (`us-supervisor`): from then
    /// on the cell is in effect.
    pub fn approve(&self, http: &Http) {
        let us = self.token("us-supervisor");
        let r = http.post("/api/v1/cell/approve", Some(&us), serde_json::json!({}));
        assert_eq!(r.status, 200, "approving the cell: {}", r.body);
    }
}

pub struct Http {
    pub base: String,
    client: reqwest::blocking::Client,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

impl Http {
    pub fn new(base: &str) -> Http {
        Http {
            base: base.to_string(),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    fn send(&self, rb: reqwest::blocking::RequestBuilder, token: Option<&str>) -> Resp {
        let rb = match token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        };
        let r = rb.send().expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().expect("body");
        Resp {
            status,
            headers,
            body,
        }
    }

    /// The number of events in the record, as `token`'s caller sees the log's size
    /// (`/healthz` tells no figure of the record).
    pub fn head(&self, token: &str) -> Value {
        self.get("/api/v1/cell", Some(token)).json()["log"]["size"].clone()
    }

    /// Sends a write signed as the operator of `token` (when it has a key), with extra
    /// headers; the signature covers them.
    pub fn write(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.client.request(m, format!("{}{}", self.base, path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(t) = token {
            for (k, v) in signature_headers(t, method, path, headers, &body) {
                rb = rb.header(k, v);
            }
        }
        self.send(rb.body(body), token)
    }

    /// Sends exactly these headers and body, signing nothing (a captured request).
    pub fn send_exact(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.client.request(m, format!("{}{}", self.base, path));
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        self.send(rb.body(body), token)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.client.get(format!("{}{}", self.base, path)), token)
    }

    /// POSTs JSON, signed as the operator of `token`.
    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        let bytes = serde_json::to_vec(&body).expect("json");
        self.write(
            "POST",
            path,
            token,
            &[("content-type", "application/json")],
            bytes,
        )
    }

    /// POSTs JSON without a signature, whatever the operator.
    pub fn post_unsigned(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(
            self.client
                .post(format!("{}{}", self.base, path))
                .json(&body),
            token,
        )
    }

    pub fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> Resp {
        self.write(
            "POST",
            path,
            token,
            &[("content-type", content_type)],
            body.as_bytes().to_vec(),
        )
    }

    /// Reads SSE events until `n` arrive or `wait` passes; returns (id, data) pairs.
    pub fn sse(
        &self,
        path: &str,
        token: &str,
        last_id: Option<&str>,
        n: usize,
        wait: Duration,
    ) -> Vec<(u64, Value)> {
        let client = reqwest::blocking::Client::builder()
            .timeout(wait)
            .build()
            .expect("client");
        let mut rb = client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_id {
            rb = rb.header("last-event-id", id);
        }
        let mut out = Vec::new();
        let Ok(resp) = rb.send() else { return out };
        let mut reader = BufReader::new(resp);
        let mut id = None;
        let mut line = String::new();
        while out.len() < n {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if let Some(v) = l.strip_prefix("id:") {
                id = v.trim().parse::<u64>().ok();
            } else if let Some(v) = l.strip_prefix("data:") {
                let v: Value = serde_json::from_str(v.trim()).expect("sse data json");
                out.push((id.take().expect("id before data"), v));
            }
        }
        out
    }
}

/// Every event the operator may read, walking the page API.
pub fn all_events(http: &Http, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/v1/events/page?limit=1000&after={a}"),
            None => "/api/v1/events/page?limit=1000".to_string(),
        };
        let r = http.get(&path, Some(token));
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        out.extend(v["events"].as_array().expect("events").iter().cloned());
        match v["next_after"].as_u64() {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// An RFC 3339 UTC time `h` hours from now (civil date by Howard Hinnant's algorithm).
pub fn in_hours(h: i64) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
        + h * 3600;
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Remembers the signing key of every operator in a credentials file, so that writes
/// made with its token are signed (`Http::post`, `command_as`); answers the operators
/// as (name, party, role, token).
pub fn remember_keys(
    data: &Path,
    key_dir: &Path,
    creds: &Value,
) -> Vec<(String, String, String, String)> {
    let log_key = std::fs::read_to_string(data.join("log.key")).expect("log key");
    let origin = liaison_server::ledger::LogSigner::from_key_text(log_key.trim())
        .expect("log key")
        .origin()
        .to_string();
    std::fs::create_dir_all(key_dir).expect("key dir");
    creds["operators"]
        .as_array()
        .expect("operators")
        .iter()
        .map(|o| {
            let s = |k: &str| o[k].as_str().expect("field").to_string();
            if let Some(pem) = o["key"].as_str() {
                let path = key_dir.join(format!("{}.pem", s("name")));
                std::fs::write(&path, pem).expect("write key");
                let key = liaison_log::keys::read_private_key(pem).expect("PKCS#8 key");
                register_key(
                    &s("token"),
                    OperatorKey {
                        name: s("name"),
                        origin: origin.clone(),
                        key,
                        path,
                    },
                );
            }
            (s("name"), s("party"), s("role"), s("token"))
        })
        .collect()
}

/// The demo charter with signing optional for the members and the supervisor, for the
/// Python TAXII client, which cannot sign its requests; written into `dir`.
pub fn unsigned_charter(dir: &Path) -> PathBuf {
    let demo =
        std::fs::read_to_string(repo_root().join("examples/demo.toml")).expect("demo charter");
    let charter = demo
        .replace(
            "role = \"member\"\n",
            "role = \"member\"\nsignatures = \"optional\"\n",
        )
        .replace(
            "role = \"supervisor\"\n[[parties]]",
            "role = \"supervisor\"\nsignatures = \"optional\"\n[[parties]]",
        );
    assert_eq!(charter.matches("signatures = \"optional\"").count(), 3);
    let path = dir.join("charter.toml");
    std::fs::write(&path, charter).expect("write charter");
    path
}

/// A tmpfs mounted for the test, unmounted when dropped.
pub struct Mounted(pub PathBuf);

impl Mounted {
    /// Mounts a tmpfs of `size` at `dir`; `Err` with the reason when not permitted.
    pub fn tmpfs(dir: &Path, size: &str) -> Result<Mounted, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let o = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
        }
        Ok(Mounted(dir.to_path_buf()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes zeros into `path` until the filesystem has no room left.
pub fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        match std::io::Write::write(&mut f, &chunk) {
            Ok(0) => break,
            Ok(k) => n += k as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // The last pages the page cache held back.
    let _ = f.sync_all();
    n
}
