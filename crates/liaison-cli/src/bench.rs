//! Benchmarks that measure (tests assert behaviour; these report figures):
//! `bench log`: signed, durable appends through the one write path, with N concurrent
//! writers, and receipt latency at a fixed rate; `bench hotline`: the time from a
//! message's acceptance to its arrival on connected recipients' SSE streams.

use anyhow::{Context, bail};
use clap::Subcommand;
use liaison_api::charter_toml::parse_charter;
use liaison_core::event::AuthorSignature;
use liaison_core::{Actor, Command, Precedence};
use liaison_server::{App, SystemClock};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand, Clone)]
pub enum BenchCmd {
    /// Signed, durable appends: throughput with concurrent writers, then latency at a fixed rate.
    Log {
        #[arg(long, default_value_t = 64)]
        writers: usize,
        #[arg(long, default_value_t = 40_000)]
        events: usize,
        /// Rate for the latency phase (events per second).
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The conflict engine on a workload directory (sites/zones/actives/queries .ndjson).
    Deconflict {
        #[arg(long)]
        workload: std::path::PathBuf,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// TAXII: POST N objects in batches of 1,000, page through the inbox and the manifest at
    /// limit=100, and GET 1,000 objects by id, over HTTP.
    Taxii {
        #[arg(long, default_value_t = 5000)]
        objects: usize,
    },
    /// Write a seeded deconfliction workload.
    Workload {
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A small workload (for quick checks and the PostGIS comparison).
        #[arg(long)]
        small: bool,
    },
    /// Acceptance-to-delivery latency on SSE with many connected recipients.
    Hotline {
        #[arg(long, default_value_t = 100)]
        clients: usize,
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = (((p / 100.0) * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn fresh_cell(
    dir: &std::path::Path,
) -> anyhow::Result<(App, Actor, ed25519_dalek::SigningKey)> {
    let charter = parse_charter(crate::server::DEMO_CHARTER).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (app, _) = App::init(dir, charter, Arc::new(SystemClock)).await?;
    let actor = |n: &str| Actor::of(&app.shared.state.read(), n).context("operator");
    app.command(actor("us-supervisor")?, Command::ApproveCell)
        .await?;
    let key = liaison_log::keys::generate(&mut rand::rngs::OsRng);
    let public_key = liaison_log::keys::public_b64(&key.verifying_key());
    let key_id = liaison_log::keys::check_public_key_b64(&public_key)?;
    app.command(
        actor("il-liaison")?,
        Command::RegisterKey { public_key, key_id },
    )
    .await?;
    Ok((app.clone(), actor("il-liaison")?, key))
}

/// One signed submission, verified as the server verifies it, then appended.
async fn signed_send(
    app: &App,
    origin: &str,
    actor: &Actor,
    key: &ed25519_dalek::SigningKey,
    n: u64,
) -> anyhow::Result<()> {
    use sha2::Digest;
    let body = format!(
        "{{\"to\":[\"sy\"],\"precedence\":\"routine\",\"subject\":\"bench {n}\",\"body\":\"b\"}}"
    );
    let digest = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    let msg = liaison_api::signing::submission_message(
        origin,
        "il-liaison",
        "POST",
        "/api/v1/messages",
        &digest,
    );
    let sig = liaison_log::keys::sign_b64(key, &msg);
    let public = liaison_log::keys::public_b64(&key.verifying_key());
    liaison_log::keys::verify_signature_b64(&public, &msg, &sig)?;
    let key_id = liaison_log::keys::operator_key_id(&key.verifying_key());
    let cmd = Command::SendMessage {
        to: BTreeSet::from(["sy".to_string()]),
        precedence: Precedence::Routine,
        subject: format!("bench {n}"),
        body: "b".into(),
        language: "en".into(),
        emergency: false,
        test: false,
        attachments: Vec::new(),
    };
    let out = app
        .command_signed(
            actor.clone(),
            Some(AuthorSignature {
                key_id,
                signature: sig,
                body_sha256: digest,
            }),
            cmd,
        )
        .await?;
    if out.receipt.is_none() {
        bail!("no receipt");
    }
    Ok(())
}

pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cmd {
        BenchCmd::Log {
            writers,
            events,
            rate,
            runs,
        } => rt.block_on(bench_log(writers, events, rate, runs)),
        BenchCmd::Hotline {
            clients,
            rate,
            seconds,
        } => rt.block_on(bench_hotline(clients, rate, seconds)),
        BenchCmd::Taxii { objects } => rt.block_on(bench_taxii(objects)),
        BenchCmd::Deconflict { workload, out } => {
            let f = liaison_geo::bench::run(&workload, &out).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({"load_s": f.load_s, "index_s": f.index_s, "queries": f.queries,
                    "queries_per_second": f.queries_per_second, "peak_rss_mb": f.peak_rss_mb})
            );
            Ok(())
        }
        BenchCmd::Workload { out, seed, small } => {
            let sizes = if small {
                liaison_geo::workload::Sizes::small()
            } else {
                liaison_geo::workload::Sizes::default()
            };
            liaison_geo::workload::generate(&out, seed, &sizes)?;
            println!("workload written to {}", out.display());
            Ok(())
        }
    }
}

async fn bench_log(writers: usize, events: usize, rate: u64, runs: usize) -> anyhow::Result<()> {
    let mut tput = Vec::new();
    let (mut p50s, mut p99s, mut lp50, mut lp99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let tmp = tempfile_dir()?;
        let (app, actor, key) = fresh_cell(&tmp).await?;
        let origin: Arc<str> = app.shared.ledger.read().origin().into();
        // Phase 1: saturating writers.
        let per = events / writers;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (app, actor, key, origin) =
                (app.clone(), actor.clone(), key.clone(), origin.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per);
                for i in 0..per {
                    let t = Instant::now();
                    signed_send(&app, &origin, &actor, &key, (w * per + i) as u64).await?;
                    lat.push(t.elapsed());
                }
                Ok::<_, anyhow::Error>(lat)
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await??);
        }
        let secs = start.elapsed().as_secs_f64();
        lat.sort();
        let eps = lat.len() as f64 / secs;
        // Phase 2: a fixed rate, one request every 1/rate seconds, each on its own task.
        let n = (rate * 3) as usize;
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            ticker.tick().await;
            let (app, actor, key, origin) =
                (app.clone(), actor.clone(), key.clone(), origin.clone());
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                signed_send(&app, &origin, &actor, &key, 1_000_000 + i as u64)
                    .await
                    .map(|_| t.elapsed())
            }));
        }
        let mut rl = Vec::new();
        for t in tasks {
            rl.push(t.await??);
        }
        rl.sort();
        println!(
            "run {}: {writers} writers: {} signed durable events in {secs:.2}s = {eps:.0}/s, receipt latency p50 {:.2} ms p99 {:.2} ms; at {rate}/s: p50 {:.2} ms p99 {:.2} ms",
            run + 1,
            lat.len(),
            pct(&lat, 50.0),
            pct(&lat, 99.0),
            pct(&rl, 50.0),
            pct(&rl, 99.0)
        );
        tput.push(eps);
        p50s.push(pct(&lat, 50.0));
        p99s.push(pct(&lat, 99.0));
        lp50.push(pct(&rl, 50.0));
        lp99.push(pct(&rl, 99.0));
        drop(app);
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let summary = serde_json::json!({
        "bench": "log", "writers": writers, "events_per_run": events, "runs": runs,
        "events_per_second_median": median(tput),
        "saturated_p50_ms_median": median(p50s), "saturated_p99_ms_median": median(p99s),
        "rate": rate, "at_rate_p50_ms_median": median(lp50), "at_rate_p99_ms_median": median(lp99),
    });
    println!("{summary}");
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let mut bytes = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let d = std::env::temp_dir().join(format!("liaison-bench-{}", hex::encode(bytes)));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

async fn bench_hotline(clients: usize, rate: u64, seconds: u64) -> anyhow::Result<()> {
    let tmp = tempfile_dir()?;
    let charter = parse_charter(crate::server::DEMO_CHARTER).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (app, creds) = App::init(&tmp, charter, Arc::new(SystemClock)).await?;
    let us = Actor::of(&app.shared.state.read(), "us-supervisor").context("us")?;
    app.command(us, Command::ApproveCell).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::serve(listener, app.clone(), async {
        let _ = stop_rx.await;
    }));
    let token = |n: &str| {
        creds
            .operators
            .iter()
            .find(|o| o.name == n)
            .map(|o| o.token.clone())
            .context("token")
    };
    let sy = token("sy-liaison")?;
    let il = token("il-liaison")?;
    let total = (rate * seconds) as usize;
    // The readers: every SSE client is a task on one thread of its own, reading raw
    // chunks and scanning them for the frames' times, so that the benchmark measures
    // the server's delivery and not the cost of 100 client threads on two cores.
    let ready = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let readers = {
        let (url, sy, ready) = (url.clone(), sy.clone(), ready.clone());
        std::thread::Builder::new()
            .name("sse-readers".into())
            .spawn(move || -> anyhow::Result<Vec<Duration>> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let http = reqwest::Client::new();
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..clients {
                        let (http, url, sy, ready) =
                            (http.clone(), url.clone(), sy.clone(), ready.clone());
                        set.spawn(read_deliveries(http, url, sy, total, ready));
                    }
                    let mut all = Vec::with_capacity(total * clients);
                    while let Some(r) = set.join_next().await {
                        all.extend(r??);
                    }
                    Ok(all)
                })
            })?
    };
    let connected = Instant::now();
    while ready.load(std::sync::atomic::Ordering::SeqCst) < clients {
        if connected.elapsed() > Duration::from_secs(30) {
            bail!("the SSE clients did not all connect within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Senders: a fixed rate over a pool of HTTP connections.
    let http = reqwest::Client::new();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let mut sends = Vec::with_capacity(total);
    for i in 0..total {
        ticker.tick().await;
        let (http, url, il) = (http.clone(), url.clone(), il.clone());
        sends.push(tokio::spawn(async move {
            http.post(format!("{url}/api/v1/messages"))
                .bearer_auth(il)
                .json(&serde_json::json!({"to": ["sy"], "precedence": "routine", "subject": format!("m{i}"), "body": "x"}))
                .send()
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    if r.status().is_success() {
                        Ok(())
                    } else {
                        Err(format!("HTTP {}", r.status()))
                    }
                })
        }));
    }
    let (mut ok, mut refused) = (0, None);
    for s in sends {
        match s.await {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => refused = refused.or(Some(e)),
            Err(e) => refused = refused.or(Some(e.to_string())),
        }
    }
    if let Some(e) = &refused {
        eprintln!("{} of {total} messages refused, e.g. {e}", total - ok);
    }
    let sent_secs = start.elapsed().as_secs_f64();
    let mut all = tokio::task::spawn_blocking(move || readers.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the SSE reader thread panicked"))??;
    let _ = stop_tx.send(());
    let _ = server.await;
    all.sort();
    println!(
        "{ok}/{total} messages accepted in {sent_secs:.2}s ({:.0}/s); {} deliveries to {clients} SSE clients; acceptance to delivery p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        ok as f64 / sent_secs,
        all.len(),
        pct(&all, 50.0),
        pct(&all, 99.0),
        pct(&all, 100.0)
    );
    println!(
        "{}",
        serde_json::json!({"bench": "hotline", "clients": clients, "rate": rate, "accepted": ok, "deliveries": all.len(),
            "p50_ms": pct(&all, 50.0), "p99_ms": pct(&all, 99.0), "max_ms": pct(&all, 100.0)})
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// One SSE client: follows the stream until `total` messages have arrived (or 5 s pass
/// without any frame: the senders are done and some messages were refused), and returns
/// each message's time from acceptance to arrival.
async fn read_deliveries(
    http: reqwest::Client,
    url: String,
    token: String,
    total: usize,
    ready: Arc<std::sync::atomic::AtomicUsize>,
) -> anyhow::Result<Vec<Duration>> {
    let mut resp = http
        .get(format!("{url}/api/v1/events"))
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .send()
        .await?
        .error_for_status()?;
    ready.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut got = Vec::with_capacity(total);
    let mut buf: Vec<u8> = Vec::new();
    while got.len() < total {
        let Ok(chunk) = tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await else {
            break;
        };
        let Some(chunk) = chunk? else { break };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        buf.extend_from_slice(&chunk);
        let mut done = 0;
        while let Some(end) = find(&buf[done..], b"\n\n") {
            let frame = &buf[done..done + end];
            done += end + 2;
            if find(frame, b"\nevent: message_sent\n").is_none() {
                continue;
            }
            // Only the time is needed: find it without parsing the whole event.
            let Some(i) = find(frame, b"\"at\":\"") else {
                continue;
            };
            let rest = &frame[i + 6..];
            let Some(len) = rest.iter().position(|b| *b == b'"') else {
                continue;
            };
            if let Some(at) = std::str::from_utf8(&rest[..len])
                .ok()
                .and_then(|t| liaison_api::time::parse(t).ok())
            {
                got.push(Duration::from_micros((now - at.micros()).max(0) as u64));
            }
        }
        buf.drain(..done);
    }
    Ok(got)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

async fn bench_taxii(n: usize) -> anyhow::Result<()> {
    let tmp = tempfile_dir()?;
    let charter = parse_charter(crate::server::DEMO_CHARTER).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (app, creds) = App::init(&tmp, charter, Arc::new(SystemClock)).await?;
    let us_actor = Actor::of(&app.shared.state.read(), "us-supervisor").context("us")?;
    app.command(us_actor, Command::ApproveCell).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::serve(listener, app.clone(), async {
        let _ = stop_rx.await;
    }));
    let token = |name: &str| {
        creds
            .operators
            .iter()
            .find(|o| o.name == name)
            .map(|o| o.token.clone())
            .context("token")
    };
    let (il, sy, us) = (
        token("il-liaison")?,
        token("sy-liaison")?,
        token("us-supervisor")?,
    );
    let http = reqwest::Client::new();
    let media = "application/taxii+json;version=2.1";
    let green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    // Ingest.
    let start = Instant::now();
    let mut ids = Vec::with_capacity(n);
    let mut submissions = Vec::new();
    for batch in 0..n.div_ceil(1000) {
        let objs: Vec<serde_json::Value> = (batch * 1000..((batch + 1) * 1000).min(n))
            .map(|i| {
                let id = format!("indicator--{:08x}-0000-4000-8000-{:012x}", i, i);
                ids.push(id.clone());
                serde_json::json!({"type": "indicator", "spec_version": "2.1", "id": id, "created": "2026-01-10T08:00:00.000Z",
                    "modified": "2026-01-10T08:00:00.000Z", "pattern": format!("[ipv4-addr:value = '10.0.{}.{}']", i / 256 % 256, i % 256),
                    "pattern_type": "stix", "valid_from": "2026-01-10T08:00:00Z", "object_marking_refs": [green]})
            })
            .collect();
        let r = http
            .post(format!("{url}/taxii2/il/collections/submissions/objects/"))
            .basic_auth("il-liaison", Some(&il))
            .header("content-type", media)
            .header("accept", media)
            .body(serde_json::json!({"objects": objs}).to_string())
            .send()
            .await?;
        if r.status().as_u16() != 202 {
            bail!("POST failed: {}", r.text().await?);
        }
        let v: serde_json::Value = r.json().await?;
        submissions.push(v["id"].as_str().unwrap_or_default().to_string());
    }
    let ingest_s = start.elapsed().as_secs_f64();
    for sid in &submissions {
        let r = http
            .post(format!("{url}/api/v1/intel/submissions/{sid}/decision"))
            .bearer_auth(&us)
            .json(&serde_json::json!({"decision": "approve"}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("decision failed: {}", r.text().await?);
        }
    }
    // Page through the inbox and the manifest at limit=100.
    let mut page_lat = Vec::new();
    for what in ["objects", "manifest"] {
        let mut next: Option<String> = None;
        let mut seen = 0usize;
        loop {
            let mut u = format!("{url}/taxii2/sy/collections/inbox/{what}/?limit=100");
            if let Some(nx) = &next {
                u.push_str(&format!("&next={nx}"));
            }
            let t = Instant::now();
            let v: serde_json::Value = http
                .get(&u)
                .basic_auth("sy-liaison", Some(&sy))
                .header("accept", media)
                .send()
                .await?
                .json()
                .await?;
            page_lat.push(t.elapsed());
            seen += v["objects"].as_array().map(|a| a.len()).unwrap_or(0);
            match v["next"].as_str() {
                Some(nx) if v["more"] == true => next = Some(nx.to_string()),
                _ => break,
            }
        }
        if seen != n {
            bail!("{what}: paged {seen} of {n}");
        }
    }
    // 1,000 GETs by id.
    let mut get_lat = Vec::new();
    let t_all = Instant::now();
    for i in 0..1000.min(n) {
        let id = &ids[(i * 7919) % n];
        let t = Instant::now();
        let r = http
            .get(format!("{url}/taxii2/sy/collections/inbox/objects/{id}/"))
            .basic_auth("sy-liaison", Some(&sy))
            .header("accept", media)
            .send()
            .await?;
        let _ = r.bytes().await?;
        get_lat.push(t.elapsed());
    }
    let gets_s = t_all.elapsed().as_secs_f64();
    let pages_s: f64 = page_lat.iter().map(|d| d.as_secs_f64()).sum();
    let total_s = ingest_s + pages_s + gets_s;
    page_lat.sort();
    get_lat.sort();
    println!(
        "{}",
        serde_json::json!({"bench": "taxii", "objects": n, "ingest_s": ingest_s, "ingest_objects_per_second": n as f64 / ingest_s,
            "pages": page_lat.len(), "pages_s": pages_s, "total_s": total_s, "page_p50_ms": pct(&page_lat, 50.0), "page_p99_ms": pct(&page_lat, 99.0),
            "gets": get_lat.len(), "gets_s": gets_s, "get_p50_ms": pct(&get_lat, 50.0), "get_p99_ms": pct(&get_lat, 99.0)})
    );
    let _ = stop_tx.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
