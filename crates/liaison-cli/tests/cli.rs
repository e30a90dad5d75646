//! The command line as people expect it, through the real binary: every command and
//! argument described in `--help` and every fixed choice listed; shell completions and
//! man pages generated from the definition; exit statuses and JSON errors by kind of
//! failure; `serve`'s settings from its flags, environment and configuration file; and
//! progress bars that stay off a standard error that is not a terminal.

mod common;

use common::{Cell, Http, bin, liaison};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// One entry of a help section: its first line (the name, with its value) and what
/// describes it, less clap's bracketed notes (`[default: …]`, `[env: …]`).
struct Item {
    section: String,
    head: String,
    text: String,
}

impl Item {
    fn description(&self) -> String {
        let mut d = String::new();
        for line in self.text.lines() {
            let mut line = line.trim().to_string();
            // Drop each "[note: …]" clap adds; what is left is the description.
            while let Some(open) = line.rfind('[') {
                let Some(close) = line[open..].find(']') else {
                    break;
                };
                let inner = &line[open + 1..open + close];
                if !inner.contains(": ") && !inner.starts_with("aliases") {
                    break;
                }
                line.replace_range(open..open + close + 1, "");
            }
            let line = line.trim();
            if line.is_empty() || line == "Possible values:" || line.starts_with("- ") {
                continue;
            }
            d.push_str(line);
            d.push(' ');
        }
        d.trim().to_string()
    }

    fn name(&self) -> &str {
        self.head.split_whitespace().next().unwrap_or_default()
    }
}

/// The entries of clap's help, in its short layout (name and description on a line)
/// and its long one (the description indented on the lines below).
fn items(help: &str) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    let mut section = String::new();
    for line in help.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if indent == 0 && !trimmed.is_empty() {
            section = trimmed.trim_end_matches(':').to_string();
            continue;
        }
        if !matches!(section.as_str(), "Commands" | "Arguments" | "Options") {
            continue;
        }
        let head = indent < 10
            && !trimmed.is_empty()
            && match section.as_str() {
                "Options" => trimmed.starts_with('-'),
                _ => indent == 2,
            };
        if head {
            let (h, rest) = trimmed.split_once("  ").unwrap_or((trimmed, ""));
            out.push(Item {
                section: section.clone(),
                head: h.to_string(),
                text: rest.to_string(),
            });
        } else if let Some(item) = out.last_mut() {
            item.text.push('\n');
            item.text.push_str(trimmed);
        }
    }
    out
}

fn help(path: &[String]) -> String {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let o = liaison(&args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Walks the commands from `liaison --help` down, and gives each command's path and help.
fn every_help() -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let text = help(&path);
        for item in items(&text) {
            if item.section == "Commands" && item.name() != "help" {
                let mut sub = path.clone();
                sub.push(item.name().to_string());
                todo.push(sub);
            }
        }
        out.push((path, text));
    }
    out
}

#[test]
fn every_command_and_argument_is_described_and_every_choice_listed() {
    let helps = every_help();
    assert!(helps.len() > 60, "only {} commands found", helps.len());
    let mut undescribed = Vec::new();
    for (path, text) in &helps {
        for item in items(text) {
            if item.description().is_empty() {
                undescribed.push(format!("liaison {} {}", path.join(" "), item.head));
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "without a description:\n{}",
        undescribed.join("\n")
    );

    let precedences = ["flash", "immediate", "priority", "routine"];
    let categories = [
        "airspace_violation",
        "strike",
        "fire_across_the_line",
        "ground_incursion",
        "zone_violation",
        "harm_to_protected_site",
        "other",
    ];
    let precisions = ["exact", "day", "week"];
    let roles = ["liaison", "analyst", "supervisor", "observer", "admin"];
    let site_categories = [
        "population_centre",
        "minority_community",
        "medical",
        "school",
        "religious",
        "humanitarian",
        "un_post",
        "critical_infrastructure",
        "diplomatic",
    ];
    let choices: &[(&str, &str, &[&str])] = &[
        ("msg send", "--precedence", &precedences),
        ("msg list", "--box", &["inbox", "sent", "all"]),
        ("incident report", "--category", &categories),
        ("incident report", "--precision", &precisions),
        ("incident report", "--precedence", &precedences),
        ("incident correct", "--category", &categories),
        ("incident correct", "--precision", &precisions),
        ("incident list", "--status", &["open", "closed"]),
        (
            "incident close",
            "--outcome",
            &["resolved", "unresolved", "withdrawn"],
        ),
        ("deconflict answer", "<ANSWER>", &["acknowledge", "object"]),
        ("deconflict export", "--format", &["geojson", "cot"]),
        ("site import-cot", "--category", &site_categories),
        ("site answer", "<ANSWER>", &["accept", "reject"]),
        ("zone stance", "<STANCE>", &["accepted", "disputed"]),
        ("intel submit", "--precedence", &precedences),
        (
            "intel list",
            "--state",
            &["pending", "released", "rejected", "withdrawn"],
        ),
        (
            "intel decide",
            "<DECISION>",
            &["approve", "reject", "redact"],
        ),
        ("operator add", "--role", &roles),
        ("operator credentials", "--role", &roles),
        ("completions", "<SHELL>", &["bash", "zsh", "fish"]),
        ("serve", "--insecure-http", &["true", "false"]),
    ];
    for (path, arg, values) in choices {
        let (_, text) = helps
            .iter()
            .find(|(p, _)| p.join(" ") == *path)
            .unwrap_or_else(|| panic!("no command `liaison {path}`"));
        let item = items(text)
            .into_iter()
            .find(|i| i.head.split([' ', ',', '=', '[']).any(|w| w == *arg))
            .unwrap_or_else(|| panic!("`liaison {path}` has no {arg}:\n{text}"));
        let listed = format!("{} {}", item.head, item.text);
        assert!(
            listed.to_lowercase().contains("possible values"),
            "`liaison {path}` {arg} lists no values:\n{listed}"
        );
        for v in *values {
            let word = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '_') == *v;
            assert!(
                listed.split_whitespace().any(word),
                "`liaison {path}` {arg} does not list {v}:\n{listed}"
            );
        }
    }
}

#[test]
fn the_help_says_what_each_exit_status_means() {
    let text = help(&[]);
    for line in [
        "2  usage",
        "3  not found",
        "4  forbidden",
        "5  refused",
        "6  network",
        "7  server",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    let o = liaison(&["completions", "bash"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let script = String::from_utf8_lossy(&o.stdout);
    assert!(
        script.contains("complete -F"),
        "not a bash completion script"
    );
    for sub in ["serve", "deconflict", "incident", "completions", "man"] {
        assert!(script.contains(sub), "the bash script never names {sub}");
    }
    // A fixed choice is completed with its values.
    assert!(script.contains("flash immediate priority routine"));
    for shell in ["zsh", "fish"] {
        let o = liaison(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("deconflict"),
            "{shell}"
        );
    }
    let o = liaison(&["completions", "tcsh"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_are_written_for_every_command() {
    let o = liaison(&["man"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH liaison"),
        "{page}"
    );
    assert!(page.contains("completions"));

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let o = liaison(&["man", "--out", out.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in [
        "liaison",
        "liaison-serve",
        "liaison-msg-send",
        "liaison-zone-stance",
    ] {
        let text = std::fs::read_to_string(out.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(text.contains(".TH"), "{name}.1 is not a man page");
    }
    let serve = std::fs::read_to_string(out.join("liaison-serve.1")).expect("serve page");
    for word in ["config", "LIAISON_LISTEN", "tls\\-cert"] {
        assert!(serve.contains(word), "liaison-serve.1 never says {word}");
    }
    let zone = std::fs::read_to_string(out.join("liaison-zone-stance.1")).expect("page");
    assert!(zone.contains("disputed"), "the stance page lists no values");
}

/// Runs the binary and gives its exit status and the JSON error it printed on stderr.
fn failing(mut cmd: Command, args: &[&str]) -> (Option<i32>, Value) {
    let o = cmd.args(args).output().expect("run liaison");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let error: Value = serde_json::from_str(stderr.trim())
        .unwrap_or_else(|e| panic!("{args:?}: stderr is not JSON ({e}): {stderr}"));
    (o.status.code(), error["error"].clone())
}

/// `liaison --json ARGS` as the operator of `token` (signing with its key).
fn failing_as(url: &str, token: &str, args: &[&str]) -> (Option<i32>, Value) {
    let mut cmd = common::command_as(token);
    cmd.args(["--json", "--server", url, "--token", token]);
    failing(cmd, args)
}

#[test]
fn errors_have_an_exit_status_by_kind_and_the_api_s_code_in_json() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let undof = cell.token("undof-observer");
    let us = cell.token("us-supervisor");
    let url = server.url.as_str();

    let (code, e) = failing_as(url, &il, &["msg", "show", "987654"]);
    assert_eq!(
        (code, e["code"].as_str()),
        (Some(3), Some("not_found")),
        "{e}"
    );
    assert_eq!(e["exit"], 3);

    let (code, e) = failing_as(url, "not-a-token", &["cell", "show"]);
    assert_eq!(
        (code, e["code"].as_str()),
        (Some(4), Some("unauthorized")),
        "{e}"
    );

    let (code, e) = failing_as(url, &undof, &["cell", "suspend", "--reason", "no"]);
    assert_eq!(
        (code, e["code"].as_str()),
        (Some(4), Some("forbidden")),
        "{e}"
    );

    // The supervisor approves a cell already in effect: the state refuses it.
    let (code, e) = failing_as(url, &us, &["cell", "approve"]);
    assert_eq!(code, Some(5), "{e}");
    assert_eq!(e["code"], "invalid_state", "{e}");

    // Without --json: the same status, and the message in words.
    let o = common::command_as(&il)
        .args(["--server", url, "--token", &il, "msg", "show", "987654"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: "));
}

#[test]
fn network_and_usage_errors_say_what_failed() {
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, e) = failing(
        Command::new(bin()),
        &["--json", "--server", &url, "--token", "t", "cell", "show"],
    );
    assert_eq!(code, Some(6), "{e}");
    assert_eq!(e["code"], "connection_refused", "{e}");
    let message = e["message"].as_str().unwrap_or_default();
    assert!(message.contains("connection refused"), "{message}");
    assert!(message.contains(&url), "{message}");

    // A name that cannot resolve (`.invalid` never does).
    let (code, e) = failing(
        Command::new(bin()),
        &[
            "--json",
            "--server",
            "http://no-such-host.invalid:8470",
            "--token",
            "t",
            "cell",
            "show",
        ],
    );
    assert_eq!(
        (code, e["code"].as_str()),
        (Some(6), Some("name_not_resolved")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("could not be resolved"),
        "{e}"
    );

    let (code, e) = failing(
        Command::new(bin()),
        &["--json", "msg", "send", "--precedence", "urgent"],
    );
    assert_eq!((code, e["code"].as_str()), (Some(2), Some("usage")), "{e}");
    assert!(
        e["message"].as_str().unwrap_or_default().contains("urgent"),
        "{e}"
    );
    let o = liaison(&["msg", "send", "--precedence", "urgent"]);
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(
        text.contains("flash, immediate, priority, routine"),
        "{text}"
    );
}

/// Starts `liaison serve` with `args` and `env` in `dir`; gives the address it serves
/// on, or its exit status and standard error when it does not start.
fn serve_in(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<String, (Option<i32>, String)> {
    let mut cmd = Command::new(bin());
    cmd.arg("serve")
        .args(args)
        .current_dir(dir)
        .env("LIAISON_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "LIAISON_CONFIG",
        "LIAISON_DATA",
        "LIAISON_LISTEN",
        "LIAISON_INSECURE_HTTP",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut served = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read");
        if let Some(rest) = line.strip_prefix("Liaison is serving on ") {
            served = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    match served {
        Some(url) => {
            let _ = child.kill();
            let _ = child.wait();
            Ok(url)
        }
        None => {
            let out = child.wait_with_output().expect("wait");
            Err((
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ))
        }
    }
}

#[test]
fn serve_takes_each_setting_from_its_flag_then_its_variable_then_the_file() {
    let cell = Cell::init();
    let dir = cell.tmp.path();
    // Relative paths in the file are the file's folder's: `data` is beside it.
    let config = dir.join("liaison.toml");
    std::fs::write(&config, "data = \"data\"\nlisten = \"127.0.0.2:0\"\n").expect("config");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let at = elsewhere.path();
    let file = config.to_str().expect("utf8");

    let url = serve_in(at, &["--config", file], &[]).expect("serves from the file");
    assert!(url.starts_with("http://127.0.0.2:"), "{url}");
    let url = serve_in(at, &[], &[("LIAISON_CONFIG", file)]).expect("LIAISON_CONFIG");
    assert!(url.starts_with("http://127.0.0.2:"), "{url}");
    let url = serve_in(
        at,
        &["--config", file],
        &[("LIAISON_LISTEN", "127.0.0.3:0")],
    )
    .expect("variable over file");
    assert!(url.starts_with("http://127.0.0.3:"), "{url}");
    let url = serve_in(
        at,
        &["--config", file, "--listen", "127.0.0.4:0"],
        &[("LIAISON_LISTEN", "127.0.0.3:0")],
    )
    .expect("flag over variable");
    assert!(url.starts_with("http://127.0.0.4:"), "{url}");
    let data = cell.data();
    let url = serve_in(
        at,
        &["--listen", "127.0.0.5:0"],
        &[("LIAISON_DATA", data.to_str().expect("utf8"))],
    )
    .expect("no file at all");
    assert!(url.starts_with("http://127.0.0.5:"), "{url}");

    // A switch too: the file allows plain HTTP off loopback, the variable takes it back.
    std::fs::write(
        &config,
        "data = \"data\"\nlisten = \"0.0.0.0:0\"\ninsecure-http = true\n",
    )
    .expect("config");
    let url = serve_in(at, &["--config", file], &[]).expect("insecure-http from the file");
    assert!(url.starts_with("http://0.0.0.0:"), "{url}");
    let (code, err) = serve_in(
        at,
        &["--config", file],
        &[("LIAISON_INSECURE_HTTP", "false")],
    )
    .expect_err("the variable turns it off");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("refusing to serve plain HTTP"), "{err}");
    let url = serve_in(
        at,
        &["--config", file, "--insecure-http"],
        &[("LIAISON_INSECURE_HTTP", "false")],
    )
    .expect("the flag turns it back on");
    assert!(url.starts_with("http://0.0.0.0:"), "{url}");

    // A key the file should not have is named, as a usage error.
    std::fs::write(&config, "data = \"data\"\nlisen = \"127.0.0.2:0\"\n").expect("config");
    let (code, err) = serve_in(at, &["--config", file], &[]).expect_err("unknown key");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("lisen"), "{err}");
    assert!(err.contains("liaison.toml"), "{err}");

    // Without a data directory anywhere, it says where one may be given.
    let (code, err) = serve_in(at, &[], &[]).expect_err("no data");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("LIAISON_DATA"), "{err}");
}

#[test]
fn site_import_draws_no_progress_bar_when_stderr_is_not_a_terminal() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let features: Vec<Value> = (0..30)
        .map(|i| {
            json!({"type": "Feature",
                   "geometry": {"type": "Point", "coordinates": [35.0 + i as f64 * 1e-3, 33.0]},
                   "properties": {"category": "population_centre", "radius_m": 100, "name": format!("Place {i}")}})
        })
        .collect();
    let file = cell.tmp.path().join("sites.geojson");
    std::fs::write(
        &file,
        json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .expect("write");
    let o = common::command_as(&il)
        .args(["--server", &server.url, "--token", &il, "site", "import"])
        .args([file.to_str().expect("utf8"), "--batch", "10"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("30 of 30 sites imported"));
    assert!(
        o.stderr.is_empty(),
        "stderr is a pipe, yet: {:?}",
        String::from_utf8_lossy(&o.stderr)
    );
}
