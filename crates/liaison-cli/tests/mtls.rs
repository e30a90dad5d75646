//! Mutual TLS: a party that pins a client CA in the charter (`client_ca` in
//! `[[parties]]`) has its operators served only over HTTPS with a client certificate
//! that CA issued; a certificate speaks only for its own party; parties that pin none
//! are served as before. Every refusal, reads included, records nothing.

mod common;

use common::{Cell, Server, bin, repo_root};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate authority made for the test, as a party would make its own.
struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} client CA"));
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed CA");
        Ca { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A client certificate for `operator`, written into `dir` (the key 0600); returns
    /// the certificate's and the key's paths.
    fn issue(&self, operator: &str, dir: &Path) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, operator);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("issue");
        let (c, k) = (
            dir.join(format!("{operator}.crt")),
            dir.join(format!("{operator}.key")),
        );
        std::fs::write(&c, cert.pem()).expect("write cert");
        std::fs::write(&k, key.serialize_pem()).expect("write key");
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        (c, k)
    }
}

/// The demo charter with Israel and Syria pinning their client CAs; the supervising
/// party and the observer pin none.
fn charter(dir: &Path, il: &Ca, sy: &Ca) -> PathBuf {
    let demo = std::fs::read_to_string(repo_root().join("examples/demo.toml")).expect("demo");
    let pin = |text: String, id: &str, ca: &Ca| {
        let party = format!("id = \"{id}\"\n");
        let at = text.find(&party).expect("party") + party.len();
        let mut t = text;
        t.insert_str(at, &format!("client_ca = '''\n{}'''\n", ca.pem()));
        t
    };
    let text = pin(pin(demo, "il", il), "sy", sy);
    let path = dir.join("charter.toml");
    std::fs::write(&path, text).expect("write charter");
    path
}

/// A cell of `charter`, made with `init --hostname`.
fn tls_cell(charter: &Path) -> Cell {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let out = common::liaison(&[
        "init",
        "--data",
        data.to_str().expect("utf8"),
        "--charter",
        charter.to_str().expect("utf8"),
        "--hostname",
        "liaison.cell.test",
    ]);
    assert!(
        out.status.success(),
        "init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: Value =
        serde_json::from_slice(&std::fs::read(data.join("credentials.json")).expect("creds"))
            .expect("json");
    let tokens = common::remember_keys(&data, &tmp.path().join("keys"), &creds);
    Cell { tmp, tokens }
}

/// `liaison --json --server URL --token TOKEN --ca CERT [--client-cert C --client-key K] ARGS`,
/// signing as the token's operator.
fn cli(
    server: &Server,
    cell: &Cell,
    token: &str,
    client: Option<&(PathBuf, PathBuf)>,
    args: &[&str],
) -> std::process::Output {
    let mut c = common::command_as(token);
    c.args(["--json", "--server", &server.url, "--token", token]);
    c.arg("--ca").arg(cell.data().join("tls.crt"));
    if let Some((cert, key)) = client {
        c.arg("--client-cert")
            .arg(cert)
            .arg("--client-key")
            .arg(key);
    }
    c.args(args).output().expect("run liaison")
}

/// The API error code a failed run printed (with `--json`).
fn code_of(o: &std::process::Output) -> String {
    assert!(!o.status.success(), "should have failed");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let v: Value = serde_json::from_str(stderr.trim())
        .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {stderr}"));
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A raw HTTPS client presenting `client` (or no certificate). The cell's certificate
/// is not what these tests are about: the client accepts it whatever it is.
fn raw(client: Option<&(PathBuf, PathBuf)>) -> reqwest::blocking::Client {
    let mut b = reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(std::time::Duration::from_secs(10));
    if let Some((c, k)) = client {
        let mut pem = std::fs::read(c).expect("cert");
        pem.extend(std::fs::read(k).expect("key"));
        b = b.identity(reqwest::Identity::from_pem(&pem).expect("identity"));
    }
    b.build().expect("client")
}

/// The record's size as the supervising party reads it (it pins no client CA).
fn size(server: &Server, us: &str) -> u64 {
    let r = raw(None)
        .get(format!("{}/api/v1/cell", server.url))
        .bearer_auth(us)
        .send()
        .expect("cell");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().expect("json");
    v["log"]["size"].as_u64().expect("size")
}

fn status_and_code(r: reqwest::blocking::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body = r.text().unwrap_or_default();
    let code = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or(body);
    (status, code)
}

#[test]
fn an_operator_of_a_party_with_a_client_ca_needs_a_certificate_its_ca_issued() {
    let dir = tempfile::tempdir().expect("tmp");
    let (il_ca, sy_ca, stranger) = (Ca::new("il"), Ca::new("sy"), Ca::new("stranger"));
    let cell = tls_cell(&charter(dir.path(), &il_ca, &sy_ca));
    let il_cert = il_ca.issue("il-liaison", dir.path());
    let sy_cert = sy_ca.issue("sy-liaison", dir.path());
    let stranger_cert = stranger.issue("nobody", dir.path());
    let server = cell.serve();
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let (il, sy, us) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
    );

    // The supervising party pins no client CA: it is served as before, without a
    // certificate, and approves the charter.
    ok(&cli(&server, &cell, &us, None, &["cell", "approve"]));
    // Every party reads which CA speaks for which party, as the charter pins it.
    let shown: Value = raw(None)
        .get(format!("{}/api/v1/cell", server.url))
        .bearer_auth(&us)
        .send()
        .expect("cell")
        .json()
        .expect("json");
    let pinned = |id: &str| {
        shown["parties"]
            .as_array()
            .expect("parties")
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["client_ca"].as_str().map(|s| s.trim().to_string()))
            .expect("party")
    };
    assert_eq!(pinned("il"), Some(il_ca.pem().trim().to_string()));
    assert_eq!(pinned("sy"), Some(sy_ca.pem().trim().to_string()));
    assert_eq!(pinned("us"), None);

    // Israel's operator with a certificate Israel's CA issued: reads and writes.
    ok(&cli(&server, &cell, &il, Some(&il_cert), &["cell", "show"]));
    let before = size(&server, &us);
    let sent = ok(&cli(
        &server,
        &cell,
        &il,
        Some(&il_cert),
        &[
            "msg",
            "send",
            "--to",
            "sy",
            "--subject",
            "mtls",
            "--body",
            "over mutual TLS",
        ],
    ));
    assert!(size(&server, &us) > before, "{sent}");

    let send = [
        "msg",
        "send",
        "--to",
        "sy",
        "--subject",
        "x",
        "--body",
        "refused",
    ];
    for (who, token, client, want) in [
        // Without a certificate, reads and writes are refused.
        (
            "il without a certificate",
            &il,
            None,
            "client_certificate_required",
        ),
        // With the other party's certificate (its CA is pinned too): refused.
        (
            "il with sy's certificate",
            &il,
            Some(&sy_cert),
            "client_certificate_mismatch",
        ),
        // A party that pins no CA cannot borrow a certificate either.
        (
            "us with il's certificate",
            &us,
            Some(&il_cert),
            "client_certificate_mismatch",
        ),
    ] {
        let before = size(&server, &us);
        let read = cli(&server, &cell, token, client, &["cell", "show"]);
        assert_eq!(code_of(&read), want, "{who}: read");
        let msgs = cli(&server, &cell, token, client, &["msg", "list"]);
        assert_eq!(code_of(&msgs), want, "{who}: list");
        let write = cli(&server, &cell, token, client, &send);
        assert_eq!(code_of(&write), want, "{who}: write");
        assert_eq!(size(&server, &us), before, "{who}: nothing recorded");
    }

    // A certificate no pinned CA issued does not get through the handshake.
    let before = size(&server, &us);
    let out = cli(&server, &cell, &il, Some(&stranger_cert), &send);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.is_empty(), "the client says why");
    assert_eq!(size(&server, &us), before, "nothing recorded");

    // Syria's operator with its own certificate is served; with Israel's it is not.
    ok(&cli(&server, &cell, &sy, Some(&sy_cert), &["msg", "list"]));

    // Every read is refused too: event pages, the event stream, TAXII.
    let get = |client: Option<&(PathBuf, PathBuf)>, path: &str, token: &str| {
        raw(client)
            .get(format!("{}{path}", server.url))
            .bearer_auth(token)
            .header(
                "accept",
                "application/json, text/event-stream, application/taxii+json;version=2.1",
            )
            .send()
            .expect("get")
    };
    for path in ["/api/v1/events/page", "/api/v1/events"] {
        assert_eq!(
            status_and_code(get(None, path, &il)),
            (403, "client_certificate_required".into()),
            "{path}"
        );
        assert_eq!(
            status_and_code(get(Some(&sy_cert), path, &il)),
            (403, "client_certificate_mismatch".into()),
            "{path}"
        );
    }
    assert_eq!(
        get(Some(&il_cert), "/api/v1/events/page", &il).status(),
        200
    );
    // TAXII with HTTP Basic (what TAXII clients send): the same rule.
    let taxii = |client: Option<&(PathBuf, PathBuf)>| {
        raw(client)
            .get(format!("{}/taxii2/il/collections/", server.url))
            .basic_auth("il-liaison", Some(&il))
            .header("accept", "application/taxii+json;version=2.1")
            .send()
            .expect("taxii")
    };
    let refused = taxii(None);
    assert_eq!(refused.status(), 403);
    let body = refused.text().expect("body");
    assert!(body.contains("client_certificate_required"), "{body}");
    let refused = taxii(Some(&sy_cert));
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .expect("body")
            .contains("client_certificate_mismatch")
    );
    assert_eq!(taxii(Some(&il_cert)).status(), 200);
    // Health needs no certificate.
    assert_eq!(
        raw(None)
            .get(format!("{}/healthz", server.url))
            .send()
            .expect("healthz")
            .status(),
        200
    );
}

#[test]
fn over_plain_http_a_party_with_a_client_ca_is_refused_and_others_are_served() {
    let dir = tempfile::tempdir().expect("tmp");
    let (il_ca, sy_ca) = (Ca::new("il"), Ca::new("sy"));
    let cell = tls_cell(&charter(dir.path(), &il_ca, &sy_ca));
    let server = Server::start_with(
        &cell.data(),
        &["--insecure-http"],
        &[("LIAISON_LOG", "warn")],
        std::process::Stdio::null(),
    );
    assert!(server.url.starts_with("http://"), "{}", server.url);
    let http = common::Http::new(&server.url);
    cell.approve(&http);
    let us = cell.token("us-supervisor");
    let before = http.head(&us);
    for name in ["il-liaison", "sy-liaison"] {
        let token = cell.token(name);
        let r = http.get("/api/v1/cell", Some(&token));
        assert_eq!(
            (r.status, r.code()),
            (403, "client_certificate_required".into()),
            "{name}"
        );
        assert!(r.body.contains("plain HTTP"), "{}", r.body);
        let r = http.post(
            "/api/v1/messages",
            Some(&token),
            serde_json::json!({"to": ["us"], "subject": "x", "body": "plain", "language": "en"}),
        );
        assert_eq!(
            (r.status, r.code()),
            (403, "client_certificate_required".into()),
            "{name}: {}",
            r.body
        );
    }
    assert_eq!(http.head(&us), before, "nothing recorded");
    // The observer pins no CA: served over plain HTTP as before.
    let undof = cell.token("undof-observer");
    assert_eq!(http.get("/api/v1/cell", Some(&undof)).status, 200);
}

#[test]
fn init_refuses_a_client_ca_that_is_no_certificate_or_pinned_by_two_parties() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = Ca::new("shared");
    let init = |charter: &Path| {
        let data = dir.path().join(format!("data-{}", rand_suffix()));
        Command::new(bin())
            .args(["init", "--data"])
            .arg(&data)
            .arg("--charter")
            .arg(charter)
            .output()
            .expect("init")
    };
    let shared = charter(dir.path(), &ca, &ca);
    let out = init(&shared);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("client CA too"), "{err}");

    let demo = std::fs::read_to_string(repo_root().join("examples/demo.toml")).expect("demo");
    let bad = demo.replacen(
        "id = \"il\"\n",
        "id = \"il\"\nclient_ca = \"/etc/ssl/il-ca.pem\"\n",
        1,
    );
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).expect("write");
    let out = init(&path);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("parties[0].client_ca") && err.contains("PEM"),
        "{err}"
    );
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn taxii2_client_presents_the_party_s_client_certificate() {
    let Ok(py) = std::env::var("LIAISON_PYTHON") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set LIAISON_PYTHON (run scripts/test.sh)"
        );
        eprintln!(
            "LIAISON_PYTHON is not set: skipping the taxii2-client run with a client certificate"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let (il_ca, sy_ca) = (Ca::new("il"), Ca::new("sy"));
    let cell = tls_cell(&charter(dir.path(), &il_ca, &sy_ca));
    let (il_cert, il_key) = il_ca.issue("il-analyst", dir.path());
    let (sy_cert, sy_key) = sy_ca.issue("sy-analyst", dir.path());
    let server = cell.serve();
    ok(&cli(
        &server,
        &cell,
        &cell.token("us-supervisor"),
        None,
        &["cell", "approve"],
    ));
    let ca = cell.data().join("tls.crt");
    // The collections of Israel's API root, as il-analyst, with the certificate given
    // (or none): prints their titles, or the HTTP status of the refusal.
    let script = r#"
import os, sys
from taxii2client.v21 import ApiRoot
url, token, ca, cert, key = sys.argv[1:6]
# requests, whose sessions taxii2-client uses, takes the pinned certificate from here.
os.environ["REQUESTS_CA_BUNDLE"] = ca
try:
    root = ApiRoot(url + "/taxii2/il/", user="il-analyst", password=token, verify=ca,
                   cert=(cert, key) if cert else None)
    print("collections:", ",".join(sorted(c.title for c in root.collections)))
except Exception as e:
    status = getattr(getattr(e, "response", None), "status_code", None)
    print("refused:", status, getattr(getattr(e, "response", None), "text", e))
"#;
    let run = |cert: &Path, key: &Path| {
        let out = Command::new(&py)
            .arg("-c")
            .arg(script)
            .arg(&server.url)
            .arg(cell.token("il-analyst"))
            .arg(&ca)
            .arg(cert)
            .arg(key)
            .output()
            .expect("run python");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let served = run(&il_cert, &il_key);
    assert!(served.starts_with("collections:"), "{served}");
    let none = run(Path::new(""), Path::new(""));
    assert!(
        none.starts_with("refused: 403") && none.contains("client_certificate_required"),
        "{none}"
    );
    let other = run(&sy_cert, &sy_key);
    assert!(
        other.starts_with("refused: 403") && other.contains("client_certificate_mismatch"),
        "{other}"
    );
}
