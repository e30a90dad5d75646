//! Operating the server: `/metrics` (who may read it, and every family moving under
//! load), the access log, and `/readyz`'s witness check, through the real binary.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A charter whose FLASH messages are overdue after a second.
fn fast_charter(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("examples/demo.toml")).expect("demo");
    let text = text
        .replace("flash = \"10m\"", "flash = \"1s\"")
        .replace("second_level = \"30m\"", "second_level = \"1s\"");
    let p = dir.join("fast.toml");
    std::fs::write(&p, text).expect("write");
    p
}

/// Every sample of an exposition, by series (name and labels, as written).
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("series and value");
            (
                series.to_string(),
                value
                    .parse::<f64>()
                    .unwrap_or_else(|_| panic!("value: {l}")),
            )
        })
        .collect()
}

fn scrape(http: &Http, token: &str) -> (String, BTreeMap<String, f64>) {
    let r = http.get("/metrics", Some(token));
    assert_eq!(r.status, 200, "{}", r.body);
    let ct = r.headers["content-type"].to_str().expect("content type");
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let s = samples(&r.body);
    (r.body, s)
}

fn value(s: &BTreeMap<String, f64>, series: &str) -> f64 {
    *s.get(series)
        .unwrap_or_else(|| panic!("{series} is missing from {s:#?}"))
}

/// A witness key for `party`, as `liaison keygen --witness` makes one.
fn witness_vkey(party: &str) -> String {
    let key = liaison_log::keys::generate(&mut rand::rngs::OsRng);
    liaison_log::note::Verifier::new(
        &format!("witness.{party}"),
        liaison_log::note::TYPE_COSIGNATURE,
        key.verifying_key(),
    )
    .expect("verifier")
    .vkey()
}

#[test]
fn every_metric_family_is_present_and_moves_under_load() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cell = Cell::init_with(&fast_charter(tmp.path()));
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
    );
    cell.approve(&http);
    let r = http.post(
        "/api/v1/witnesses",
        Some(&cell.token("il-admin")),
        json!({"vkey": witness_vkey("il")}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, before) = scrape(&http, &us);

    // The load: writes (one of them refused), a FLASH left unanswered, a check, a TAXII
    // request, and an event stream held open while the metrics are read.
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = http.post(
            "/api/v1/messages",
            Some(&il),
            json!({"to": ["sy"], "precedence": "routine", "subject": format!("load {i}"), "body": "x"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        ids.push(r.json()["id"].as_u64().expect("id"));
    }
    let r = http.post(
        "/api/v1/messages",
        Some(&il),
        json!({"to": ["sy"], "precedence": "flash", "subject": "drone", "body": "confirm"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http.get(&format!("/api/v1/messages/{}", ids[0]), Some(&sy));
    assert_eq!(r.status, 200, "{}", r.body);
    // Only the supervising party suspends the cell: the writer refuses.
    let r = http.post("/api/v1/cell/suspend", Some(&il), json!({"reason": "no"}));
    assert_eq!(r.status, 403, "{}", r.body);
    let uav = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.8, 33.1]},
        "properties": {"kind": "uav_flight", "radius_m": 2000, "alt_min_m": 0, "alt_max_m": 3000,
                       "start": in_hours(2), "end": in_hours(3)}});
    let r = http.post("/api/v1/deconfliction/check", Some(&il), uav);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http.get("/taxii2/", Some(&il));
    assert_eq!(r.status, 200, "{}", r.body);
    let stream_client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let stream = stream_client
        .get(format!("{}/api/v1/events", server.url))
        .bearer_auth(&sy)
        .header("accept", "text/event-stream")
        .send()
        .expect("stream");
    assert_eq!(stream.status(), 200);

    // The FLASH is overdue a second after it was sent: wait for it, bounded.
    let overdue = "liaison_obligations_overdue{duty=\"acknowledge_message\"}";
    let start = Instant::now();
    let (text, after) = loop {
        let (text, s) = scrape(&http, &us);
        if value(&s, overdue) > value(&before, overdue) || start.elapsed() > Duration::from_secs(30)
        {
            break (text, s);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(stream);

    // Every family (each has a sample by now) is named liaison_*, has its HELP, is listed in the operations guide
    // and drawn on the dashboard; the dashboard draws nothing else.
    let guide = std::fs::read_to_string(repo_root().join("docs/operations.md")).expect("guide");
    let dashboard = std::fs::read_to_string(repo_root().join("deploy/grafana/liaison.json"))
        .expect("dashboard");
    let dashboard: Value = serde_json::from_str(&dashboard).expect("dashboard JSON");
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().expect("expr").to_string())
        .collect();
    let mut families = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).expect("name");
        families.push(name.to_string());
        assert!(name.starts_with("liaison_"), "{line}");
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: no HELP");
        assert!(
            guide.contains(&format!("`{name}`")),
            "{name} is not in docs/operations.md"
        );
        assert!(
            exprs.iter().any(|e| e.contains(name)),
            "{name} is not on the dashboard"
        );
    }
    assert_eq!(families.len(), 17, "{text}");
    for e in &exprs {
        for (i, _) in e.match_indices("liaison_") {
            let name: String = e[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|f| families.iter().any(|x| x == f))
                .unwrap_or(&name);
            assert!(
                families.iter().any(|x| x == family),
                "the dashboard draws {name}, which the server does not expose"
            );
        }
    }

    let moved = |series: &str| {
        let (b, a) = (
            before.get(series).copied().unwrap_or(0.0),
            value(&after, series),
        );
        assert!(a > b, "{series} did not move: {b} then {a}");
    };
    moved("liaison_log_size");
    moved("liaison_write_queue_depth_count");
    moved("liaison_write_batch_size_count");
    moved("liaison_write_batch_size_sum");
    moved("liaison_write_commit_seconds_count");
    moved("liaison_store_append_seconds_count");
    moved("liaison_write_refusals_total{code=\"forbidden\"}");
    moved("liaison_events_total{kind=\"message_sent\"}");
    moved("liaison_sse_streams_open");
    moved("liaison_obligations_open{duty=\"acknowledge_message\"}");
    moved(overdue);
    moved("liaison_witness_lag_entries{party=\"il\"}");
    moved("liaison_http_requests_total{method=\"POST\",route=\"/api/v1/messages\",status=\"200\"}");
    moved(
        "liaison_http_requests_total{method=\"GET\",route=\"/api/v1/messages/{id}\",status=\"200\"}",
    );
    moved(
        "liaison_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/messages\"}",
    );
    moved("liaison_taxii_requests_total{method=\"GET\",status=\"200\"}");
    moved("liaison_deconfliction_checks_total");
    // Gauges that stand still here are present all the same.
    assert_eq!(value(&after, "liaison_store_failed"), 0.0);
    assert!(value(&after, "liaison_write_queue_pending") >= 0.0);
    // A route is its template: no raw path, so no id, becomes a label.
    assert!(
        !text.contains(&format!("/api/v1/messages/{}\"", ids[0])),
        "a raw path is a label:\n{text}"
    );
    // The witness lags by every entry it has not cosigned: all of them.
    assert_eq!(
        value(&after, "liaison_witness_lag_entries{party=\"il\"}"),
        value(&after, "liaison_log_size")
    );
}

#[test]
fn metrics_are_the_supervisors_on_the_main_listener_and_open_on_their_own() {
    let cell = Cell::init();
    let server = Server::start_with(
        &cell.data(),
        &["--metrics-listen", "127.0.0.1:0"],
        &[("LIAISON_LOG", "warn")],
        Stdio::inherit(),
    );
    let http = Http::new(&server.url);
    let r = http.get("/metrics", None);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), "unauthorized");
    for member in ["il-liaison", "sy-admin", "undof-observer"] {
        let r = http.get("/metrics", Some(&cell.token(member)));
        assert_eq!(r.status, 403, "{member}: {}", r.body);
        assert_eq!(r.code(), "forbidden", "{member}");
        assert!(r.json()["error"]["message"].is_string());
    }
    for supervisor in ["us-supervisor", "us-admin"] {
        let r = http.get("/metrics", Some(&cell.token(supervisor)));
        assert_eq!(r.status, 200, "{supervisor}: {}", r.body);
        assert!(r.body.contains("# HELP liaison_log_size "), "{}", r.body);
    }
    let metrics_url = server.metrics_url.clone().expect("the metrics listener");
    let own = Http::new(metrics_url.trim_end_matches("/metrics"));
    let r = own.get("/metrics", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("# TYPE liaison_http_requests_total counter")
    );
    assert!(samples(&r.body)["liaison_log_size"] > 0.0);
    // That listener serves the metrics and nothing else.
    let r = own.get("/api/v1/cell", Some(&cell.token("us-supervisor")));
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.code(), "not_found");
}

#[test]
fn access_log_has_one_line_per_request_and_never_a_token_or_query() {
    let cell = Cell::init();
    let tmp = tempfile::tempdir().expect("tmp");
    let log_path = tmp.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut server = Server::start_with(
        &cell.data(),
        &["--log-format", "json"],
        &[("LIAISON_LOG", "info")],
        log,
    );
    let http = Http::new(&server.url);
    cell.approve(&http);
    let il = cell.token("il-liaison");
    let secret = "sekrit-in-the-query";
    let r = http.get(
        &format!("/api/v1/events/page?limit=1&note={secret}"),
        Some(&il),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let wrong = "lsn_not-a-token-anyone-holds";
    assert_eq!(http.get("/api/v1/cell", Some(wrong)).status, 401);
    let body_text = "a body the log must never hold";
    // Only the supervising party suspends the cell: the writer refuses.
    let r = http.post(
        "/api/v1/cell/suspend",
        Some(&il),
        json!({"reason": body_text}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Lines are written as they happen; wait (bounded) for the last one.
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log_path).expect("read log");
        if text.contains("/api/v1/cell/suspend") || start.elapsed() > Duration::from_secs(10) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    server.kill9();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "liaison::access")
        .collect();
    let page = access
        .iter()
        .find(|l| l["fields"]["route"] == "/api/v1/events/page")
        .unwrap_or_else(|| panic!("no access line for the page:\n{text}"));
    assert_eq!(page["fields"]["method"], "GET");
    assert_eq!(page["fields"]["status"], 200);
    assert_eq!(page["fields"]["operator"], "il-liaison");
    assert!(page["fields"]["latency_ms"].as_f64().is_some(), "{page}");
    assert!(
        page["fields"]["remote"]
            .as_str()
            .is_some_and(|r| r.starts_with("127.0.0.1:")),
        "{page}"
    );
    assert_eq!(
        access
            .iter()
            .filter(|l| l["fields"]["route"] == "/api/v1/events/page")
            .count(),
        1,
        "one line per request"
    );
    let failed = lines
        .iter()
        .find(|l| l["fields"]["message"] == "authentication failed")
        .unwrap_or_else(|| panic!("no failed authentication:\n{text}"));
    assert_eq!(failed["fields"]["route"], "/api/v1/cell");
    assert!(
        failed["fields"]["remote"]
            .as_str()
            .is_some_and(|r| r.starts_with("127.0.0.1:")),
        "{failed}"
    );
    let refused = lines
        .iter()
        .find(|l| l["fields"]["message"] == "write refused")
        .unwrap_or_else(|| panic!("no refusal:\n{text}"));
    assert_eq!(refused["fields"]["code"], "forbidden");
    assert_eq!(refused["fields"]["operator"], "il-liaison");
    for never in [il.as_str(), wrong, secret, body_text] {
        assert!(!text.contains(never), "the log holds {never:?}:\n{text}");
    }
    for (_, _, _, token) in &cell.tokens {
        assert!(!text.contains(token.as_str()), "the log holds a token");
    }
}

#[test]
fn readyz_names_a_witness_lagging_past_the_threshold() {
    let cell = Cell::init();
    let mut server = Server::start_with(
        &cell.data(),
        &["--max-witness-lag", "3"],
        &[("LIAISON_LOG", "warn")],
        Stdio::inherit(),
    );
    let http = Http::new(&server.url);
    cell.approve(&http);
    let r = http.get("/readyz", None);
    assert_eq!(r.status, 200, "no witness, nothing to lag: {}", r.body);
    assert_eq!(r.json(), json!({"status": "ready"}));
    let r = http.post(
        "/api/v1/witnesses",
        Some(&cell.token("sy-admin")),
        json!({"vkey": witness_vkey("sy")}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http.get("/readyz", None);
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["status"], "witness_lagging");
    let detail = r.json()["detail"].as_str().expect("detail").to_string();
    assert_eq!(
        detail,
        "the witness of sy is more than 3 entries behind the log (--max-witness-lag)"
    );
    // /healthz says only whether the server is alive.
    assert_eq!(http.get("/healthz", None).status, 200);
    server.kill9();
    // With the check off, the same cell is ready.
    let server = Server::start_with(
        &cell.data(),
        &["--max-witness-lag", "0"],
        &[("LIAISON_LOG", "warn")],
        Stdio::inherit(),
    );
    let r = Http::new(&server.url).get("/readyz", None);
    assert_eq!(r.status, 200, "{}", r.body);
}
