//! The benchmark commands, end to end on small sizes: each runs its real server (or
//! engine), checks what it measures, and ends with one JSON line of its figures. The
//! figures themselves are not asserted (timing is not a test); that the commands run,
//! that their own checks pass and that their JSON carries what the docs cite is.

mod common;

use common::liaison;
use serde_json::Value;

/// Runs `liaison bench ARGS`, asserts that it succeeded, and returns what it printed.
fn run(args: &[&str]) -> String {
    let o = liaison(&[&["bench"], args].concat());
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "bench {args:?}: {}\n{out}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// As [`run`], and returns its last line as JSON.
fn bench(args: &[&str]) -> Value {
    let out = run(args);
    let last = out.lines().last().expect("a JSON line");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

fn positive(v: &Value, key: &str) -> f64 {
    let x = v[key].as_f64().unwrap_or_else(|| panic!("no {key} in {v}"));
    assert!(x > 0.0, "{key} = {x} in {v}");
    x
}

#[test]
fn the_check_path_benchmark_compares_every_answer_over_http_with_the_engine() {
    let v = bench(&[
        "deconflict-http",
        "--sites",
        "20000",
        "--zones",
        "60",
        "--notifications",
        "300",
        "--queries",
        "300",
        "--runs",
        "2",
    ]);
    assert_eq!(v["answers_differing"], 0, "{v}");
    assert_eq!(v["sites"], 20000, "{v}");
    assert!(positive(&v, "hits_per_query") > 1.0, "{v}");
    for key in [
        "direct_checks_per_second_median",
        "handler_checks_per_second_median",
        "http_checks_per_second_median",
        "spinning_client_checks_per_second_median",
        "bulk_checks_per_second_median",
        "floor_requests_per_second",
        "answer_bytes_per_query",
    ] {
        positive(&v, key);
    }
    for key in [
        "http_over_direct_per_run",
        "spinning_client_over_direct_per_run",
        "bulk_over_direct_per_run",
    ] {
        let runs = v[key].as_array().unwrap_or_else(|| panic!("{key}: {v}"));
        assert_eq!(runs.len(), 2, "{key}: {v}");
        assert!(runs.iter().all(|r| r.as_f64().unwrap_or(0.0) > 0.0), "{v}");
    }
}

#[test]
fn the_engine_benchmark_answers_every_query_of_a_generated_workload() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let work = dir.path().join("wl");
    let out = dir.path().join("results.jsonl");
    run(&[
        "workload",
        "--small",
        "--out",
        work.to_str().expect("a UTF-8 path"),
    ]);
    let queries = std::fs::read_to_string(work.join("queries.ndjson")).expect("the queries");
    let v = bench(&[
        "deconflict",
        "--workload",
        work.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(v["queries"].as_u64(), Some(queries.lines().count() as u64));
    for key in ["load_s", "index_s", "queries_per_second", "peak_rss_mb"] {
        positive(&v, key);
    }
    // One answer a query, in the queries' order, each naming what it found.
    let results = std::fs::read_to_string(&out).expect("the results");
    let answers: Vec<Value> = results
        .lines()
        .map(|l| serde_json::from_str(l).expect("an answer in JSON"))
        .collect();
    assert_eq!(answers.len(), queries.lines().count());
    for (q, a) in queries.lines().zip(&answers) {
        let q: Value = serde_json::from_str(q).expect("a query in JSON");
        assert_eq!(a["id"], q["id"], "{a}");
        for key in ["sites", "zones", "actives"] {
            assert!(a[key].is_array(), "{a}");
        }
    }
    let hits: usize = answers
        .iter()
        .map(|a| a["sites"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(hits > 0, "no site found by any query");
}

#[test]
fn the_record_benchmarks_run_on_their_own_servers() {
    let v = bench(&[
        "log",
        "--events",
        "400",
        "--writers",
        "4",
        "--runs",
        "1",
        "--rate",
        "200",
    ]);
    positive(&v, "events_per_second_median");
    let v = bench(&["taxii", "--objects", "200"]);
    assert_eq!(v["objects"], 200, "{v}");
    positive(&v, "ingest_objects_per_second");
    let v = bench(&[
        "hotline",
        "--clients",
        "5",
        "--seconds",
        "1",
        "--rate",
        "100",
    ]);
    assert_eq!(
        v["deliveries"],
        5 * v["accepted"].as_u64().expect("accepted"),
        "{v}"
    );
    positive(&v, "p50_ms");
}

#[test]
fn the_log_benchmark_over_http_posts_plain_signed_and_https_writes_to_real_servers() {
    let out = run(&[
        "log",
        "--http",
        "--events",
        "48",
        "--writers",
        "4",
        "--runs",
        "1",
    ]);
    let last = out.lines().last().expect("a JSON line");
    let v: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(v["bench"], "log-http", "{v}");
    assert_eq!(v["writes_per_configuration"], 48, "{v}");
    for wire in ["plain_unsigned", "plain_signed", "https_signed"] {
        // Every measured write answered with its receipt and recorded (besides each
        // writer's unmeasured first write).
        assert_eq!(v[format!("{wire}_writes")], serde_json::json!([48]), "{v}");
        let recorded = v[format!("{wire}_recorded")][0].as_u64().expect("recorded");
        assert!(recorded >= 48 + 4, "{wire}: {v}");
        for figure in ["writes_per_second_median", "p50_ms_median", "p99_ms_median"] {
            positive(&v, &format!("{wire}_{figure}"));
        }
        let scheme = if wire == "https_signed" {
            "https"
        } else {
            "http"
        };
        let line = format!("run 1: {wire}: 4 writers over {scheme}, 48 writes");
        assert!(out.lines().any(|l| l.starts_with(&line)), "{out}");
    }
    for ratio in [
        "plain_signed_over_plain_unsigned",
        "https_signed_over_plain_signed",
        "https_signed_over_plain_unsigned",
    ] {
        positive(&v, ratio);
    }
    assert!(v["tls_and_signatures_cost_percent"].is_number(), "{v}");
}

/// The evaluation set's files (`bench/screening`).
fn screening_file(name: &str) -> String {
    format!(
        "{}/../../bench/screening/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn the_screening_benchmark_scores_the_evaluation_set_beside_the_anchor() {
    let out = run(&[
        "screening",
        "--list",
        &screening_file("list.ftm.json"),
        "--queries",
        &screening_file("queries.jsonl"),
        "--anchor",
        &screening_file("anchor-results.jsonl"),
        "--anchor-speed",
        &screening_file("anchor-speed.json"),
        "--limit",
        "120",
        "--runs",
        "1",
        "--counterparties",
        "300",
    ]);
    let v: Value = serde_json::from_str(out.lines().last().expect("a JSON line")).expect("JSON");
    assert_eq!(v["bench"], "screening", "{v}");
    assert_eq!(v["queries"], 120, "{v}");
    assert!(v["names"].as_u64().expect("names") >= 50_000, "{v}");
    for key in [
        "screenings_per_s",
        "rescreen_s",
        "anchor_screenings_per_s",
        "speed_ratio",
    ] {
        positive(&v, key);
    }
    // Rates are shares, the curve is the printed table's, and recall falls as the
    // threshold rises.
    let curve = v["curve"].as_array().expect("a curve");
    assert_eq!(curve.len(), 10, "{v}");
    let recalls: Vec<f64> = curve
        .iter()
        .map(|p| p["recall"].as_f64().expect("recall"))
        .collect();
    assert!(recalls.windows(2).all(|w| w[0] >= w[1]), "{recalls:?}");
    for p in curve {
        for key in [
            "recall",
            "false_match_rate",
            "anchor_recall",
            "anchor_false_match_rate",
        ] {
            let x = p[key].as_f64().unwrap_or_else(|| panic!("no {key} in {p}"));
            assert!((0.0..=1.0).contains(&x), "{key} {x}");
        }
    }
    assert!(v["ours_recall_at_anchor_rate"].is_number(), "{v}");
    assert!(out.contains("threshold | ours recall"), "{out}");

    // Without the anchor's files the benchmark runs on its own.
    let v = bench(&[
        "screening",
        "--list",
        &screening_file("list.ftm.json"),
        "--queries",
        &screening_file("queries.jsonl"),
        "--anchor",
        "/nonexistent/anchor.jsonl",
        "--anchor-speed",
        "/nonexistent/speed.json",
        "--limit",
        "20",
        "--runs",
        "1",
        "--counterparties",
        "10",
    ]);
    assert!(v.get("anchor_recall").is_none(), "{v}");
    positive(&v, "screenings_per_s");
}
