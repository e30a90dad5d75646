//! Party authority through the real binary: Israel and Syria pin their own keys in the
//! charter and enrol their operators themselves, so the host that runs `init` never
//! holds a member's token or key; neither the host nor the supervising party can then
//! create, rotate or enable a member's operator or speak as a member, while the party
//! itself can, by its admin or by a statement signed with its key.

mod common;

use common::{Http, Server, all_events, bin, liaison, remember_keys};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn ok_json(args: &[&str]) -> Value {
    let o = liaison(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("json")
}

/// Runs a client command as the operator of `creds` (its token and key), with the party
/// key when given; returns (success, stdout, stderr).
fn as_operator(
    server: &Server,
    creds: &Path,
    party_key: Option<&Path>,
    args: &[&str],
) -> (bool, String, String) {
    let file: Value =
        serde_json::from_slice(&std::fs::read(creds).expect("credentials")).expect("json");
    let op = &file["operators"][0];
    let key = creds.with_extension("pem");
    std::fs::write(&key, op["key"].as_str().expect("key")).expect("write key");
    let mut c = Command::new(bin());
    c.args(["--server", &server.url, "--token"])
        .arg(op["token"].as_str().expect("token"))
        .arg("--key")
        .arg(&key);
    if let Some(p) = party_key {
        c.arg("--party-key").arg(p);
    }
    let o = c.args(args).output().expect("run liaison");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn token_of(file: &Value, name: &str) -> String {
    file["operators"]
        .as_array()
        .and_then(|ops| ops.iter().find(|o| o["name"] == name))
        .and_then(|o| o["token"].as_str())
        .unwrap_or_else(|| panic!("no {name} in {file}"))
        .to_string()
}

#[test]
fn no_one_but_a_party_speaks_for_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let path = |name: &str| -> PathBuf { d.join(name) };

    // Israel and Syria each make their party key and their operators' credentials on
    // their own machines; the charter carries only the public halves and token hashes.
    let mut charter = String::from("name = \"Golan joint communication cell\"\n");
    for (id, name, role) in [
        ("il", "Israel", "member"),
        ("sy", "Syria", "member"),
        ("us", "United States", "supervisor"),
        ("undof", "UNDOF", "observer"),
    ] {
        charter.push_str(&format!(
            "[[parties]]\nid = \"{id}\"\nname = \"{name}\"\nrole = \"{role}\"\n"
        ));
        if role == "member" {
            let out = path(&format!("{id}-party.key"));
            let v = ok_json(&[
                "keygen",
                "--party",
                id,
                "--out",
                out.to_str().expect("utf8"),
                "--json",
            ]);
            charter.push_str(&format!(
                "key = \"{}\"\n",
                v["vkey"].as_str().expect("vkey")
            ));
        }
    }
    for (name, party, role) in [
        ("il-admin", "il", "admin"),
        ("il-liaison", "il", "liaison"),
        ("sy-admin", "sy", "admin"),
        ("sy-liaison", "sy", "liaison"),
    ] {
        let out = path(&format!("{name}.json"));
        let v = ok_json(&[
            "operator",
            "credentials",
            name,
            "--party",
            party,
            "--role",
            role,
            "--out",
            out.to_str().expect("utf8"),
            "--json",
        ]);
        charter.push_str(&format!(
            "[[operators]]\nname = \"{name}\"\nparty = \"{party}\"\nrole = \"{role}\"\ntoken_hash = \"{}\"\npublic_key = \"{}\"\n",
            v["token_hash"].as_str().expect("hash"),
            v["public_key"].as_str().expect("key")
        ));
    }
    for (name, party, role) in [
        ("us-supervisor", "us", "supervisor"),
        ("us-admin", "us", "admin"),
        ("undof-observer", "undof", "observer"),
    ] {
        charter.push_str(&format!(
            "[[operators]]\nname = \"{name}\"\nparty = \"{party}\"\nrole = \"{role}\"\n"
        ));
    }
    std::fs::write(path("charter.toml"), &charter).expect("charter");

    // A member that pins its key and leaves an operator without its token's hash is
    // refused, naming the line.
    let lax = charter.replacen("token_hash = ", "# token_hash = ", 1);
    std::fs::write(path("lax.toml"), lax).expect("charter");
    let o = liaison(&[
        "init",
        "--data",
        path("lax").to_str().expect("utf8"),
        "--charter",
        path("lax.toml").to_str().expect("utf8"),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("token_hash") && err.contains("line"), "{err}");

    // The host runs init: it records the members' hashes and public keys and makes
    // nothing of theirs.
    let data = path("data");
    let o = liaison(&[
        "init",
        "--data",
        data.to_str().expect("utf8"),
        "--charter",
        path("charter.toml").to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let combined: Value =
        serde_json::from_slice(&std::fs::read(data.join("credentials.json")).expect("creds"))
            .expect("json");
    for op in combined["operators"].as_array().expect("operators") {
        if op["party"] == "il" || op["party"] == "sy" {
            assert_eq!(
                op["token"], "",
                "the host never sees a member's token: {op}"
            );
            assert!(op["key"].is_null(), "nor its key: {op}");
        }
    }
    let us_file: Value = serde_json::from_slice(
        &std::fs::read(data.join("credentials-us.json")).expect("us credentials"),
    )
    .expect("json");
    assert!(
        us_file["party_key"].is_string(),
        "init made the US a party key"
    );
    let il_file: Value =
        serde_json::from_slice(&std::fs::read(data.join("credentials-il.json")).expect("il"))
            .expect("json");
    assert!(il_file["party_key"].is_null(), "Israel keeps its own");
    // As init says, the combined file is deleted once the parties have theirs.
    std::fs::remove_file(data.join("credentials.json")).expect("delete");

    let server = Server::start(&data);
    let http = Http::new(&server.url);
    remember_keys(&data, &path("keys"), &us_file);
    let us_sup = token_of(&us_file, "us-supervisor");
    let us_admin = token_of(&us_file, "us-admin");
    let r = http.post("/api/v1/cell/approve", Some(&us_sup), json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let before = http.head(&us_sup);

    // The supervising party and the host try, with everything they hold.
    let r = http.post(
        "/api/v1/operators",
        Some(&us_admin),
        json!({"name": "il-ghost", "party": "il", "role": "liaison"}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "{}",
        r.body
    );
    for who in [&us_admin, &us_sup] {
        let r = http.post("/api/v1/operators/il-liaison/rotate", Some(who), json!({}));
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "forbidden"),
            "{}",
            r.body
        );
        let r = http.post("/api/v1/operators/il-liaison/enable", Some(who), json!({}));
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "forbidden"),
            "{}",
            r.body
        );
    }
    // The US party's own key speaks for the US only.
    std::fs::write(path("us-admin.json"), {
        let op = us_file["operators"]
            .as_array()
            .and_then(|ops| ops.iter().find(|o| o["name"] == "us-admin"))
            .cloned()
            .expect("us-admin");
        serde_json::to_vec(&json!({"operators": [op]})).expect("json")
    })
    .expect("write");
    let (ok, _, err) = as_operator(
        &server,
        &path("us-admin.json"),
        Some(&data.join("credentials-us.json")),
        &[
            "operator",
            "add",
            "il-ghost",
            "--party",
            "il",
            "--role",
            "admin",
            "--out",
            path("ghost.json").to_str().expect("utf8"),
        ],
    );
    assert!(!ok && err.contains("forbidden"), "{err}");
    // What the host holds of a member is a token's hash: not a credential.
    let il_hash = charter
        .lines()
        .find_map(|l| l.strip_prefix("token_hash = \""))
        .map(|h| h.trim_end_matches('"').to_string())
        .expect("hash");
    let r = http.post(
        "/api/v1/messages",
        Some(&il_hash),
        json!({"to": ["sy"], "precedence": "flash", "subject": "We withdraw", "body": "b"}),
    );
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    assert_eq!(http.head(&us_sup), before, "nothing was recorded");

    // Israel's own admin, enrolled by the charter, manages Israel's operators.
    let (ok, out, err) = as_operator(
        &server,
        &path("il-admin.json"),
        None,
        &[
            "operator",
            "add",
            "il-analyst",
            "--party",
            "il",
            "--role",
            "analyst",
            "--out",
            path("il-analyst.json").to_str().expect("utf8"),
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("il-analyst"), "{out}");
    // A liaison officer cannot, unless it carries Israel's statement.
    let add_deputy = |party_key: Option<&Path>, out: &str| {
        as_operator(
            &server,
            &path("il-liaison.json"),
            party_key,
            &[
                "operator",
                "add",
                "il-deputy",
                "--party",
                "il",
                "--role",
                "admin",
                "--out",
                path(out).to_str().expect("utf8"),
            ],
        )
    };
    let (ok, _, err) = add_deputy(None, "d1.json");
    assert!(!ok && err.contains("forbidden"), "{err}");
    let (ok, _, err) = add_deputy(Some(&path("sy-party.key")), "d2.json");
    assert!(!ok && err.contains("bad_party_signature"), "{err}");
    let (ok, _, err) = add_deputy(Some(&path("il-party.key")), "d3.json");
    assert!(ok, "{err}");

    // The record keeps Israel's statement: its key's signature over what was signed.
    let il_admin_token = {
        let f: Value = serde_json::from_slice(&std::fs::read(path("il-admin.json")).expect("file"))
            .expect("json");
        f["operators"][0]["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let events = all_events(&http, &il_admin_token);
    let added = events
        .iter()
        .find(|e| e["kind"] == "operator_added" && e["data"]["operator"]["name"] == "il-deputy")
        .unwrap_or_else(|| panic!("no il-deputy in {events:?}"));
    assert!(added["signature"]["party_signature"].is_array(), "{added}");
}
