//! Benchmarks that measure (tests assert behaviour; these report figures):
//! `bench log`: signed, durable appends through the one write path, with N concurrent
//! writers, and receipt latency at a fixed rate (with `--http`: the same writes posted by
//! client threads to a real server, plain HTTP unsigned, plain HTTP signed and HTTPS
//! signed); `bench hotline`: the time from a
//! message's acceptance to its arrival on connected recipients' SSE streams;
//! `bench deconflict-http`: the server's check path over HTTP against the engine itself;
//! `bench screening`: sanctions screening's quality and speed on the evaluation set, side
//! by side with the anchor's committed results.

use anyhow::{Context, bail};
use clap::Subcommand;
use liaison_api::charter_toml::parse_charter;
use liaison_client::{Client, Trust};
use liaison_core::{Actor, Command, Precedence};
use liaison_server::{App, SystemClock};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand, Clone)]
pub enum BenchCmd {
    /// Signed, durable appends: throughput with concurrent writers, then latency at a fixed rate.
    /// With --http: hotline messages posted over loopback by --writers client threads (one
    /// keep-alive connection each) to a real server, in three configurations: plain HTTP
    /// unsigned (signatures optional in that cell's charter), plain HTTP signed, and HTTPS
    /// signed (the client pinning the cell certificate); writes/s, p50/p99 latency and the
    /// ratios.
    Log {
        /// Concurrent writers.
        #[arg(long, default_value_t = 64)]
        writers: usize,
        /// Events per run (with --http: per configuration and run).
        #[arg(long, default_value_t = 40_000)]
        events: usize,
        /// Rate for the latency phase (events per second; not with --http).
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// How many times to measure.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Over HTTP and HTTPS instead of in-process (see above).
        #[arg(long, conflicts_with = "rate")]
        http: bool,
    },
    /// The conflict engine on a workload directory (sites/zones/actives/queries .ndjson).
    Deconflict {
        /// The workload folder (written by `bench workload`).
        #[arg(long)]
        workload: std::path::PathBuf,
        /// The file to write the results to (JSON lines).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// TAXII: POST N objects in batches of 1,000, page through the inbox and the manifest at
    /// limit=100, and GET 1,000 objects by id, over HTTP.
    Taxii {
        /// STIX objects to post.
        #[arg(long, default_value_t = 5000)]
        objects: usize,
    },
    /// The server's check path: seed a real server through the API (bulk site import, zones
    /// with stances, notifications from both member parties), then run the same queries
    /// against its engine in-process, through the check handler without HTTP, and as
    /// `POST /api/v1/deconfliction/check` from a client thread of its own (the server on one),
    /// one Feature a request (from a client that sleeps between answers, and again from one
    /// that never sleeps) and in FeatureCollections of 100.
    DeconflictHttp {
        /// Protected sites to seed.
        #[arg(long, default_value_t = 100_000)]
        sites: usize,
        /// Zones to seed.
        #[arg(long, default_value_t = 300)]
        zones: usize,
        /// Notifications to seed.
        #[arg(long, default_value_t = 4_000)]
        notifications: usize,
        /// Queries per run.
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
        /// How many times to measure.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The seed of the generated workload.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Requests kept in flight, each on a keep-alive connection of its own.
        #[arg(long, default_value_t = 16)]
        connections: usize,
    },
    /// Write a seeded deconfliction workload.
    Workload {
        /// The folder to write the workload to.
        #[arg(long)]
        out: std::path::PathBuf,
        /// The seed of the generated workload.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A small workload (for quick checks and the PostGIS comparison).
        #[arg(long)]
        small: bool,
    },
    /// Sanctions screening on the evaluation set (bench/screening): parse the list, build
    /// the index, screen every labelled query (recall and false-match rate by threshold,
    /// beside the anchor's results when they are there), then screenings per second on
    /// this thread and the time to re-screen N counterparties.
    Screening {
        /// The list (FollowTheMoney JSON lines).
        #[arg(long, default_value = "bench/screening/list.ftm.json")]
        list: std::path::PathBuf,
        /// The labelled queries (JSON lines).
        #[arg(long, default_value = "bench/screening/queries.jsonl")]
        queries: std::path::PathBuf,
        /// The anchor's results for the same queries (skipped when absent).
        #[arg(long, default_value = "bench/screening/anchor-results.jsonl")]
        anchor: std::path::PathBuf,
        /// The anchor's speed (skipped when absent).
        #[arg(long, default_value = "bench/screening/anchor-speed.json")]
        anchor_speed: std::path::PathBuf,
        /// Use only the first N queries.
        #[arg(long)]
        limit: Option<usize>,
        /// How many times to measure the speed.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Counterparties (two names each) re-screened after the list is loaded.
        #[arg(long, default_value_t = 10_000)]
        counterparties: usize,
    },
    /// Acceptance-to-delivery latency on SSE with many connected recipients.
    Hotline {
        /// Connected recipients.
        #[arg(long, default_value_t = 100)]
        clients: usize,
        /// Messages sent per second.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// How long to send.
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

/// The demo charter without its area of interest: the seeded workload spreads over a
/// box around the Levant, sea included.
fn bench_charter() -> anyhow::Result<liaison_core::Charter> {
    let mut charter =
        parse_charter(crate::server::DEMO_CHARTER).map_err(|e| anyhow::anyhow!("{e}"))?;
    charter.settings.area_of_interest = None;
    Ok(charter)
}

async fn fresh_cell(
    dir: &std::path::Path,
) -> anyhow::Result<(App, Actor, ed25519_dalek::SigningKey)> {
    let charter = bench_charter()?;
    let (app, creds) = App::init(dir, charter, Arc::new(SystemClock)).await?;
    let keys = crate::server::keys_of(&creds)?;
    let actor = |n: &str| Actor::of(&app.shared.state.read(), n).context("operator");
    let key = |n: &str| keys.get(n).cloned().context("no key");
    app.command_with_key(
        actor("us-supervisor")?,
        &key("us-supervisor")?,
        Command::ApproveCell,
    )
    .await?;
    Ok((app.clone(), actor("il-liaison")?, key("il-liaison")?))
}

/// One signed submission, verified as the server verifies it, then appended.
async fn signed_send(
    app: &App,
    origin: &str,
    actor: &Actor,
    key: &ed25519_dalek::SigningKey,
    n: u64,
) -> anyhow::Result<()> {
    let body = format!(
        "{{\"to\":[\"sy\"],\"precedence\":\"routine\",\"subject\":\"bench {n}\",\"body\":\"b\"}}"
    );
    // Signed as the HTTP path signs, then checked as the server checks.
    let sig = app.sign_in_process("il-liaison", key, body.as_bytes())?;
    let public = liaison_log::keys::public_b64(&key.verifying_key());
    let signed = sig.signed.as_deref().unwrap_or_default();
    if !signed.contains(&format!("\norigin {origin}\n")) {
        bail!("signed for another log");
    }
    liaison_log::keys::verify_signature_b64(&public, signed.as_bytes(), &sig.signature)?;
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
    let out = app.command_signed(actor.clone(), Some(sig), cmd).await?;
    if out.receipt.is_none() {
        bail!("no receipt");
    }
    Ok(())
}

pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    if let BenchCmd::Screening {
        list,
        queries,
        anchor,
        anchor_speed,
        limit,
        runs,
        counterparties,
    } = cmd
    {
        return screening::run(&screening::Args {
            list,
            queries,
            anchor,
            anchor_speed,
            limit,
            runs: runs.max(1),
            counterparties,
        });
    }
    // The servers a benchmark starts stay quiet unless asked (`LIAISON_LOG=info`
    // shows, say, the deconfliction engine's repacks with their times).
    if std::env::var_os("LIAISON_LOG").is_some() {
        crate::server::logging(crate::server::LogFormat::Text);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cmd {
        BenchCmd::Log {
            writers,
            events,
            rate,
            runs,
            http,
        } => {
            if http {
                rt.block_on(bench_log_http(writers.max(1), events, runs.max(1)))
            } else {
                rt.block_on(bench_log(writers, events, rate, runs))
            }
        }
        BenchCmd::Hotline {
            clients,
            rate,
            seconds,
        } => rt.block_on(bench_hotline(clients, rate, seconds)),
        BenchCmd::Taxii { objects } => rt.block_on(bench_taxii(objects)),
        BenchCmd::DeconflictHttp {
            sites,
            zones,
            notifications,
            queries,
            runs,
            seed,
            connections,
        } => {
            let sizes = liaison_geo::workload::Sizes {
                sites,
                zones,
                actives: notifications,
                queries,
            };
            // The server on this thread (one core, as the engine's checks are), its
            // client on a thread of its own (see `drive`).
            let one = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            drop(rt);
            one.block_on(bench_deconflict_http(sizes, runs, seed, connections.max(1)))
        }
        BenchCmd::Deconflict { workload, out } => {
            let f = liaison_geo::bench::run(&workload, &out).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({"load_s": f.load_s, "index_s": f.index_s, "queries": f.queries,
                    "queries_per_second": f.queries_per_second, "peak_rss_mb": f.peak_rss_mb})
            );
            Ok(())
        }
        BenchCmd::Screening { .. } => unreachable!("handled above"),
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

/// The three ways `bench log --http` posts its writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    PlainUnsigned,
    PlainSigned,
    HttpsSigned,
}

impl Wire {
    const ALL: [Wire; 3] = [Wire::PlainUnsigned, Wire::PlainSigned, Wire::HttpsSigned];

    fn name(self) -> &'static str {
        match self {
            Wire::PlainUnsigned => "plain_unsigned",
            Wire::PlainSigned => "plain_signed",
            Wire::HttpsSigned => "https_signed",
        }
    }

    fn signed(self) -> bool {
        self != Wire::PlainUnsigned
    }
}

/// What one configuration of one run measured.
struct WireRun {
    /// `http` or `https`, as the writers' URL had it.
    scheme: String,
    /// Measured writes, each answered with its receipt.
    writes: usize,
    /// Events the cell appended meanwhile, the unmeasured first write of each writer
    /// included.
    recorded: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// A demo cell with a cell certificate, approved, served on a free loopback port: over
/// TLS for [`Wire::HttpsSigned`], else plain HTTP. For [`Wire::PlainUnsigned`] every
/// party signs optionally; otherwise the demo charter's default holds (members and the
/// supervisor must sign, so an unsigned write would be refused).
async fn serve_bench_cell(dir: &std::path::Path, wire: Wire) -> anyhow::Result<(Served, Trust)> {
    liaison_server::at_rest::make_private_dir(dir)?;
    liaison_server::tls::make_cell_certificate(dir, &[]).map_err(|e| anyhow::anyhow!(e))?;
    let mut charter = bench_charter()?;
    if !wire.signed() {
        for p in &mut charter.parties {
            p.signatures = Some(liaison_core::charter::Signatures::Optional);
        }
    }
    let (app, creds) = App::init(dir, charter, Arc::new(SystemClock)).await?;
    let keys = crate::server::keys_of(&creds)?;
    let us = Actor::of(&app.shared.state.read(), "us-supervisor").context("us")?;
    // A supervisor who signs optionally has no key made for it.
    match keys.get("us-supervisor") {
        Some(k) => app.command_with_key(us, k, Command::ApproveCell).await?,
        None => app.command(us, Command::ApproveCell).await?,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (cert, key) = liaison_server::tls::cell_files(dir);
    let mut trust = Trust::default();
    let (url, config) = if wire == Wire::HttpsSigned {
        let (config, fp) =
            liaison_server::tls::server_config(&cert, &key).map_err(|e| anyhow::anyhow!(e))?;
        let _ = app.shared.tls_fingerprint.set(fp);
        trust
            .add_pem(&std::fs::read(&cert)?)
            .map_err(|e| anyhow::anyhow!(e))?;
        (format!("https://{addr}"), Some(config))
    } else {
        (format!("http://{addr}"), None)
    };
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::listen::serve(
        listener,
        app.clone(),
        config,
        liaison_server::listen::Limits::default(),
        async {
            let _ = stop_rx.await;
        },
    ));
    Ok((
        Served {
            app,
            url,
            creds,
            stop,
            server,
        },
        trust,
    ))
}

/// One writer's client: the CLI's own, pinning the cell certificate over HTTPS and
/// signing every write with `il-liaison`'s key (`liaison/submission/v2`) when `wire` signs.
fn bench_client(served: &Served, trust: &Trust, wire: Wire) -> anyhow::Result<Client> {
    let c = Client::with_trust(&served.url, Some(served.token("il-liaison")?), trust)?;
    if !wire.signed() {
        return Ok(c);
    }
    let key = crate::server::keys_of(&served.creds)?
        .get("il-liaison")
        .cloned()
        .context("no key for il-liaison")?;
    let origin = served.app.shared.ledger.read().origin().to_string();
    let signer = move |input: &liaison_client::SignInput| {
        crate::record::sign_headers(&key, &origin, "il-liaison", input).unwrap_or_default()
    };
    Ok(c.with_signer(Arc::new(signer)))
}

/// One hotline message from `il-liaison` to Syria; fails unless it is recorded with a
/// receipt.
fn post_message(c: &Client, n: usize) -> anyhow::Result<()> {
    // The answer parses only with its receipt.
    let _sent: liaison_api::hotline::MessageSent = c.post(
        "/api/v1/messages",
        &serde_json::json!({"to": ["sy"], "precedence": "routine", "subject": format!("bench {n}"), "body": "b"}),
    )?;
    Ok(())
}

/// `writers` client threads, each on a connection of its own, post `per` messages each
/// after one unmeasured write that opens the connection (and, over HTTPS, does the
/// handshake). Returns every measured write's latency and the wall time of them all.
fn drive_writers(clients: Vec<Client>, per: usize) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let writers = clients.len();
    let ready = std::sync::Barrier::new(writers + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(w, c)| {
                let ready = &ready;
                s.spawn(move || {
                    let warm = post_message(&c, w * (per + 1));
                    ready.wait();
                    warm?;
                    let mut lat = Vec::with_capacity(per);
                    for i in 1..=per {
                        let t = Instant::now();
                        post_message(&c, w * (per + 1) + i)?;
                        lat.push(t.elapsed());
                    }
                    Ok::<_, anyhow::Error>(lat)
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        let mut lat = Vec::with_capacity(writers * per);
        let mut failed = None;
        for h in handles {
            match h.join() {
                Ok(Ok(l)) => lat.extend(l),
                Ok(Err(e)) => failed = failed.or(Some(e)),
                Err(_) => failed = failed.or(Some(anyhow::anyhow!("a writer panicked"))),
            }
        }
        let wall = start.elapsed();
        match failed {
            Some(e) => Err(e),
            None => Ok((lat, wall)),
        }
    })
}

async fn bench_wire(wire: Wire, writers: usize, per: usize) -> anyhow::Result<WireRun> {
    let tmp = tempfile_dir()?;
    let (served, trust) = serve_bench_cell(&tmp, wire).await?;
    let clients = (0..writers)
        .map(|_| bench_client(&served, &trust, wire))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The writers are threads of their own, outside the server's runtime.
    let before = served.app.head();
    let measured = tokio::task::spawn_blocking(move || drive_writers(clients, per)).await?;
    let recorded = served.app.head().saturating_sub(before);
    let scheme = served.url.split(':').next().unwrap_or_default().to_string();
    served.stop().await;
    let _ = std::fs::remove_dir_all(&tmp);
    let (mut lat, wall) = measured?;
    lat.sort();
    Ok(WireRun {
        scheme,
        writes: lat.len(),
        recorded,
        per_second: lat.len() as f64 / wall.as_secs_f64(),
        p50_ms: pct(&lat, 50.0),
        p99_ms: pct(&lat, 99.0),
    })
}

/// `bench log --http`: each run measures the three configurations, each on a fresh cell,
/// starting with a different one each run; the summary holds the medians and their ratios.
async fn bench_log_http(writers: usize, events: usize, runs: usize) -> anyhow::Result<()> {
    let per = events / writers;
    if per == 0 {
        bail!("--events ({events}) must be at least --writers ({writers})");
    }
    let mut results: Vec<Vec<WireRun>> = Wire::ALL.iter().map(|_| Vec::new()).collect();
    for run in 0..runs {
        for k in 0..Wire::ALL.len() {
            let i = (run + k) % Wire::ALL.len();
            let wire = Wire::ALL[i];
            let r = bench_wire(wire, writers, per).await?;
            println!(
                "run {}: {}: {writers} writers over {}, {} writes ({} recorded) = {:.0}/s, p50 {:.2} ms p99 {:.2} ms",
                run + 1,
                wire.name(),
                r.scheme,
                r.writes,
                r.recorded,
                r.per_second,
                r.p50_ms,
                r.p99_ms
            );
            results[i].push(r);
        }
    }
    let med = |i: usize, f: fn(&WireRun) -> f64| median(results[i].iter().map(f).collect());
    let mut summary = serde_json::json!({
        "bench": "log-http", "writers": writers, "writes_per_configuration": per * writers,
        "runs": runs,
    });
    for (i, wire) in Wire::ALL.iter().enumerate() {
        let n = wire.name();
        summary[format!("{n}_writes_per_second_median")] = med(i, |r| r.per_second).into();
        summary[format!("{n}_p50_ms_median")] = med(i, |r| r.p50_ms).into();
        summary[format!("{n}_p99_ms_median")] = med(i, |r| r.p99_ms).into();
        summary[format!("{n}_writes")] =
            serde_json::json!(results[i].iter().map(|r| r.writes).collect::<Vec<_>>());
        summary[format!("{n}_recorded")] =
            serde_json::json!(results[i].iter().map(|r| r.recorded).collect::<Vec<_>>());
    }
    let (u, s, t) = (
        med(0, |r| r.per_second),
        med(1, |r| r.per_second),
        med(2, |r| r.per_second),
    );
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    summary["plain_signed_over_plain_unsigned"] = ratio(s, u).into();
    summary["https_signed_over_plain_signed"] = ratio(t, s).into();
    summary["https_signed_over_plain_unsigned"] = ratio(t, u).into();
    summary["tls_and_signatures_cost_percent"] = ((1.0 - ratio(t, u)) * 100.0).into();
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

/// The demo cell, approved by its supervisor and served on a free loopback port.
struct Served {
    app: App,
    url: String,
    creds: liaison_api::wire::CredentialsFile,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    fn token(&self, name: &str) -> anyhow::Result<String> {
        self.creds
            .operators
            .iter()
            .find(|o| o.name == name)
            .map(|o| o.token.clone())
            .with_context(|| format!("no operator {name}"))
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// A clock that runs at the real pace from a given instant.
struct WorkloadClock {
    started: Instant,
    at: liaison_core::Timestamp,
}

impl liaison_server::clock::Clock for WorkloadClock {
    fn now(&self) -> liaison_core::Timestamp {
        let elapsed = i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX);
        self.at.plus(liaison_core::Duration(elapsed))
    }
}

async fn serve_demo_cell(dir: &std::path::Path) -> anyhow::Result<Served> {
    let mut charter = bench_charter()?;
    // The HTTP benchmarks' clients send bearer tokens only: every party signs optionally.
    for p in &mut charter.parties {
        p.signatures = Some(liaison_core::charter::Signatures::Optional);
    }
    // The cell lives a day before the workload's epoch, so that every generated
    // activity is still to come when it is notified, as the same answers need.
    let clock = WorkloadClock {
        started: Instant::now(),
        at: liaison_core::Timestamp::from_secs(liaison_geo::workload::T0 - 86_400),
    };
    let (app, creds) = App::init(dir, charter, Arc::new(clock)).await?;
    let us = Actor::of(&app.shared.state.read(), "us-supervisor").context("us")?;
    app.command(us, Command::ApproveCell).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(liaison_server::serve(listener, app.clone(), async {
        let _ = stop_rx.await;
    }));
    Ok(Served {
        app,
        url,
        creds,
        stop,
        server,
    })
}

async fn bench_hotline(clients: usize, rate: u64, seconds: u64) -> anyhow::Result<()> {
    let tmp = tempfile_dir()?;
    let served = serve_demo_cell(&tmp).await?;
    let url = served.url.clone();
    let token = |name: &str| served.token(name);
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
    served.stop().await;
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
    let served = serve_demo_cell(&tmp).await?;
    let url = served.url.clone();
    let token = |name: &str| served.token(name);
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
    served.stop().await;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// The workload generator's activity shapes, as notified activity kinds (zones prohibit them too).
fn activity_kind(shape: &str) -> &'static str {
    match shape {
        "polygon" => "exercise",
        "circle" => "artillery",
        _ => "air_patrol",
    }
}

fn read_lines(path: &std::path::Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).context("workload line"))
        .collect()
}

/// A generated activity as the API's notification Feature, and the member party notifying it.
fn notice_feature(line: &serde_json::Value) -> (serde_json::Value, usize) {
    let p = &line["properties"];
    let secs = |k: &str| {
        liaison_api::time::format(liaison_core::Timestamp::from_secs(
            p[k].as_i64().unwrap_or(0),
        ))
    };
    let mut props = serde_json::json!({
        "kind": activity_kind(p["kind"].as_str().unwrap_or("")),
        "alt_min_m": p["alt_min_m"], "alt_max_m": p["alt_max_m"],
        "start": secs("t_start"), "end": secs("t_end"), "precedence": "routine",
    });
    let buffer = p["buffer_m"].clone();
    match line["geometry"]["type"].as_str() {
        Some("Point") => props["radius_m"] = buffer,
        Some("LineString") => props["half_width_m"] = buffer,
        _ => {}
    }
    // Parties 1 and 2 of the generator are the two members; 3 alternates between them.
    let party = match p["party"].as_i64() {
        Some(1) => 0,
        Some(2) => 1,
        _ => (line["id"].as_u64().unwrap_or(0) % 2) as usize,
    };
    (
        serde_json::json!({"type": "Feature", "geometry": line["geometry"], "properties": props}),
        party,
    )
}

/// Time this thread has spent on a CPU (Linux `schedstat`), to rate work per
/// CPU-second as well as per wall-clock second on a shared machine.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Checks per second of wall-clock time and, when known, of CPU time.
struct Rate {
    wall: f64,
    cpu: Option<f64>,
}

impl Rate {
    fn since(n: usize, wall: Instant, cpu: Option<Duration>) -> Rate {
        let cpu = match (cpu, thread_cpu()) {
            (Some(a), Some(b)) if b > a => Some(n as f64 / (b - a).as_secs_f64()),
            _ => None,
        };
        Rate {
            wall: n as f64 / wall.elapsed().as_secs_f64(),
            cpu,
        }
    }
}

/// One HTTP/1.1 request as bytes, ready to write.
fn raw_request(method: &str, path: &str, token: &str, body: &str) -> Vec<u8> {
    let mut r =
        format!("{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n");
    if !body.is_empty() {
        r.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

/// Sends `requests` over `conns` keep-alive connections at once, from a thread of its
/// own (one async task per connection, raw bytes, no client library), so that the
/// server, on its own core, is what is measured. Answers each round trip's time and,
/// if `keep`, the bodies in request order (else none: copying them into fresh memory
/// made the client, not the server, the slower side); any status but 200 is an error.
fn drive(
    addr: std::net::SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    conns: usize,
    keep: bool,
) -> anyhow::Result<(Vec<Vec<u8>>, Vec<Duration>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut set = tokio::task::JoinSet::new();
        for k in 0..conns {
            let requests = requests.clone();
            set.spawn(async move {
                let mut sock = tokio::net::TcpStream::connect(addr).await?;
                sock.set_nodelay(true)?;
                let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
                let mut out = Vec::new();
                for i in (k..requests.len()).step_by(conns) {
                    let t = Instant::now();
                    sock.write_all(&requests[i]).await?;
                    // Headers, then a body of Content-Length bytes.
                    let (head_end, len) = loop {
                        if let Some(at) = answer_at(&buf, i)? {
                            break at;
                        }
                        let mut chunk = [0u8; 1 << 14];
                        let n = sock.read(&mut chunk).await?;
                        if n == 0 {
                            bail!("the server closed the connection");
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    };
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 1 << 14];
                        let n = sock.read(&mut chunk).await?;
                        if n == 0 {
                            bail!("the server closed the connection");
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = if keep {
                        buf[head_end..head_end + len].to_vec()
                    } else {
                        Vec::new()
                    };
                    out.push((i, body, t.elapsed()));
                    buf.drain(..head_end + len);
                }
                Ok::<_, anyhow::Error>(out)
            });
        }
        let mut all = Vec::with_capacity(requests.len());
        while let Some(r) = set.join_next().await {
            all.extend(r??);
        }
        all.sort_by_key(|(i, _, _)| *i);
        Ok(all.into_iter().map(|(_, b, t)| (b, t)).unzip())
    })
}

/// Where the answer at the start of `buf` (to request `i`) has its body, once its
/// headers are all in: the end of the headers and the body's Content-Length. Any
/// status but 200 is an error.
fn answer_at(buf: &[u8], i: usize) -> anyhow::Result<Option<(usize, usize)>> {
    let Some(h) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..h])?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("request {i}: {}", head.lines().next().unwrap_or(""));
    }
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .context("an answer without Content-Length")?;
    Ok(Some((h + 4, len)))
}

/// How long the spinning client waits for the server to answer anything.
const SPIN_PATIENCE: Duration = Duration::from_secs(30);

/// As [`drive`], but the client thread never sleeps: it goes round its non-blocking
/// connections writing and reading whatever it can. On loopback the server's thread
/// runs the client's side of TCP for every answer it writes, including the wake-up
/// of a client asleep in `epoll_wait` (an inter-processor interrupt, costly in a
/// virtual machine); a remote client does that work on its own machine. With a
/// client that is always awake, what is charged to the server is closer to what it
/// pays for a remote one (it still runs the client's receive path). Keeps no bodies
/// and no times; answers how many answers came back (all of them, or an error).
fn drive_spinning(
    addr: std::net::SocketAddr,
    requests: &[Vec<u8>],
    conns: usize,
) -> anyhow::Result<usize> {
    use std::io::{ErrorKind, Read, Write};
    struct Conn {
        sock: std::net::TcpStream,
        /// The request in flight on this connection (they take turns: `k`, `k + conns`, …).
        next: usize,
        written: usize,
        buf: Vec<u8>,
    }
    let mut all: Vec<Conn> = (0..conns.min(requests.len()))
        .map(|k| {
            let sock = std::net::TcpStream::connect(addr)?;
            sock.set_nodelay(true)?;
            sock.set_nonblocking(true)?;
            Ok(Conn {
                sock,
                next: k,
                written: 0,
                buf: Vec::with_capacity(1 << 16),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut answered = 0;
    let mut chunk = vec![0u8; 1 << 16];
    let mut progress = Instant::now();
    while !all.is_empty() {
        all.retain_mut(|c| c.next < requests.len());
        if progress.elapsed() > SPIN_PATIENCE {
            bail!("no answer from the server for {SPIN_PATIENCE:?}");
        }
        for c in &mut all {
            let request = &requests[c.next];
            if c.written < request.len() {
                match c.sock.write(&request[c.written..]) {
                    Ok(n) => c.written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e.into()),
                }
            }
            match c.sock.read(&mut chunk) {
                Ok(0) => bail!("the server closed the connection"),
                Ok(n) => c.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.into()),
            }
            if let Some((head_end, len)) = answer_at(&c.buf, c.next)?
                && c.buf.len() >= head_end + len
            {
                answered += 1;
                progress = Instant::now();
                c.buf.drain(..head_end + len);
                c.next += conns;
                c.written = 0;
            }
        }
    }
    Ok(answered)
}

/// Hit ids of one check answer, `{"sites": [...], "zones": [...], "activities": [...]}`.
fn answer_ids(v: &serde_json::Value) -> [Vec<u64>; 3] {
    let ids = |k: &str| {
        v[k].as_array()
            .map(|a| a.iter().filter_map(|x| x["id"].as_u64()).collect())
            .unwrap_or_default()
    };
    [ids("sites"), ids("zones"), ids("activities")]
}

async fn bench_deconflict_http(
    sizes: liaison_geo::workload::Sizes,
    runs: usize,
    seed: u64,
    conns: usize,
) -> anyhow::Result<()> {
    let tmp = tempfile_dir()?;
    let work = tmp.join("workload");
    liaison_geo::workload::generate(&work, seed, &sizes)?;
    let data = tmp.join("data");
    let served = serve_demo_cell(&data).await?;
    let (app, url) = (served.app.clone(), served.url.clone());
    let token = |name: &str| served.token(name);
    let members = [("il", token("il-liaison")?), ("sy", token("sy-liaison")?)];
    // One connection for everything, kept alive.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let post = |path: &str, tok: &str, body: String| {
        http.post(format!("{url}{path}"))
            .bearer_auth(tok)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let ok = |r: reqwest::Response| async move {
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("{status}: {text}");
        }
        Ok::<_, anyhow::Error>(text)
    };

    // The queries: the body each sends, and the activity the server makes of it.
    let mut queries = Vec::new();
    for l in read_lines(&work.join("queries.ndjson"))? {
        let (feature, party) = notice_feature(&l);
        let f = liaison_geo::geojson::parse_features(&feature)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .remove(0);
        let key = match f.geometry {
            liaison_geo::types::Geometry::Point(_) => "radius_m",
            liaison_geo::types::Geometry::LineString(_) => "half_width_m",
            _ => "buffer_m",
        };
        let shape = liaison_server::deconfliction::to_shape(
            &f.area(key).map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let time = |k: &str| {
            liaison_api::time::parse(feature["properties"][k].as_str().unwrap_or(""))
                .map(|t| t.micros() / 1_000_000)
                .map_err(|e| anyhow::anyhow!("{e}"))
        };
        let act = liaison_server::deconfliction::activity(
            0,
            members[party].0,
            feature["properties"]["kind"].as_str().unwrap_or(""),
            &shape,
            (
                feature["properties"]["alt_min_m"].as_f64().unwrap_or(0.0),
                feature["properties"]["alt_max_m"].as_f64().unwrap_or(0.0),
            ),
            (time("start")?, time("end")?),
        );
        queries.push((feature.to_string(), party, act));
    }

    // Seed through the API: sites in FeatureCollections of 5,000. Meanwhile a thread
    // checks against the engine as the handlers reach it (through the read model's
    // lock), every 2 ms: how long a check waits while the writer indexes and repacks.
    let importing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let probe = {
        let (app, importing) = (app.clone(), importing.clone());
        let acts: Vec<_> = queries.iter().take(64).map(|q| q.2.clone()).collect();
        std::thread::spawn(move || {
            let mut waits = Vec::new();
            for act in acts.iter().cycle() {
                if !importing.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let t = Instant::now();
                let _ = app.shared.geo.read().engine.check(act);
                waits.push(t.elapsed().as_secs_f64() * 1e3);
                std::thread::sleep(Duration::from_millis(2));
            }
            waits
        })
    };
    let seeding = Instant::now();
    let categories = [
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
    let sites = read_lines(&work.join("sites.ndjson"))?;
    for (b, chunk) in sites.chunks(5_000).enumerate() {
        let features: Vec<serde_json::Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let n = b * 5_000 + i;
                serde_json::json!({"type": "Feature", "geometry": l["geometry"], "properties": {
                    "category": categories[n % categories.len()], "name": format!("Site {n}"),
                    "radius_m": l["properties"]["radius_m"]}})
            })
            .collect();
        let body = serde_json::json!({"type": "FeatureCollection", "features": features});
        ok(post("/api/v1/sites", &members[b % 2].1, body.to_string()).await?).await?;
    }
    let sites_s = seeding.elapsed().as_secs_f64();
    importing.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut waits = probe
        .join()
        .map_err(|_| anyhow::anyhow!("the probe thread panicked"))?;
    waits.sort_by(f64::total_cmp);
    let at = |q: f64| {
        waits
            .get(((waits.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let (import_p50, import_p99, import_max) = (at(0.5), at(0.99), at(1.0));
    println!(
        "site import: {} sites in {sites_s:.1} s; {} checks meanwhile: p50 {import_p50:.3} ms, p99 {import_p99:.3} ms, max {import_max:.1} ms",
        sites.len(),
        waits.len()
    );
    // Zones, proposed by one member; the other accepts (agreed), disputes, or says nothing.
    for (i, l) in read_lines(&work.join("zones.ndjson"))?.iter().enumerate() {
        let p = &l["properties"];
        let prohibited: Vec<&str> = p["prohibited"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|k| activity_kind(k.as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default();
        let body = serde_json::json!({"type": "Feature", "geometry": l["geometry"], "properties": {
            "name": format!("Zone {i}"), "zone_kind": "area_of_limitation", "prohibited_kinds": prohibited,
            "alt_min_m": p["alt_min_m"], "alt_max_m": p["alt_max_m"]}});
        let (proposer, other) = (&members[i % 2].1, &members[(i + 1) % 2].1);
        let w: serde_json::Value = serde_json::from_str(
            &ok(post("/api/v1/zones", proposer, body.to_string()).await?).await?,
        )?;
        let id = w["seqs"][0].as_u64().context("zone id")?;
        let stance = match p["status"].as_str() {
            Some("agreed") => "accepted",
            Some("disputed") => "disputed",
            _ => continue,
        };
        let body = serde_json::json!({ "stance": stance }).to_string();
        ok(post(&format!("/api/v1/zones/{id}/stance"), other, body).await?).await?;
    }
    // Notifications from both members, 16 at a time so that they share commits.
    let notices: Vec<(String, usize)> = read_lines(&work.join("actives.ndjson"))?
        .iter()
        .map(|l| {
            let (f, party) = notice_feature(l);
            (f.to_string(), party)
        })
        .collect();
    let filer = reqwest::Client::new();
    for chunk in notices.chunks(16) {
        let mut tasks = Vec::new();
        for (body, party) in chunk {
            let req = filer
                .post(format!("{url}/api/v1/notifications"))
                .bearer_auth(&members[*party].1)
                .header("content-type", "application/json")
                .body(body.clone());
            tasks.push(tokio::spawn(async move { req.send().await }));
        }
        for t in tasks {
            ok(t.await??).await?;
        }
    }
    let seeding_s = seeding.elapsed().as_secs_f64();
    let (n_sites, n_zones, n_actives) = app.shared.geo.read().engine.len();

    // The server runs on this thread (one core, as the engine's checks do); the
    // client is a thread of its own on the other core, keeping `conns` requests in
    // flight so that the server never waits for it (with 4, it waited for a tenth of
    // the time on answers of 24 KB). Server CPU is this thread's.
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse()?;
    let over = |requests: Arc<Vec<Vec<u8>>>, keep: bool| async move {
        let (t, c) = (Instant::now(), thread_cpu());
        let n = requests.len();
        let (bodies, mut lat) =
            tokio::task::spawn_blocking(move || drive(addr, requests, conns, keep)).await??;
        lat.sort();
        Ok::<_, anyhow::Error>((Rate::since(n, t, c), bodies, lat))
    };
    // The floor: an authenticated request that does no work.
    let floor_requests: Arc<Vec<Vec<u8>>> = Arc::new(
        queries
            .iter()
            .map(|(_, party, _)| raw_request("GET", "/api/v1/me", &members[*party].1, ""))
            .collect(),
    );
    let (floor, _, _) = over(floor_requests, false).await?;
    println!(
        "floor: GET /api/v1/me {:.0} requests/s ({:.0} per server CPU-second)",
        floor.wall,
        floor.cpu.unwrap_or(0.0)
    );
    let check_requests: Arc<Vec<Vec<u8>>> = Arc::new(
        queries
            .iter()
            .map(|(body, party, _)| {
                raw_request(
                    "POST",
                    "/api/v1/deconfliction/check",
                    &members[*party].1,
                    body,
                )
            })
            .collect(),
    );
    // The same queries as bulk checks: FeatureCollections of `BULK` of one party's.
    const BULK: usize = 100;
    let mut bulk_bodies: Vec<(usize, Vec<&str>)> = Vec::new();
    for party in 0..members.len() {
        let mine: Vec<&str> = queries
            .iter()
            .filter(|q| q.1 == party)
            .map(|q| q.0.as_str())
            .collect();
        bulk_bodies.extend(mine.chunks(BULK).map(|c| (party, c.to_vec())));
    }
    let bulk_requests: Arc<Vec<Vec<u8>>> = Arc::new(
        bulk_bodies
            .iter()
            .map(|(party, fs)| {
                let body = format!(
                    r#"{{"type":"FeatureCollection","features":[{}]}}"#,
                    fs.join(",")
                );
                raw_request(
                    "POST",
                    "/api/v1/deconfliction/check",
                    &members[*party].1,
                    &body,
                )
            })
            .collect(),
    );
    let per_bulk = queries.len() as f64 / bulk_requests.len().max(1) as f64;
    let (mut direct, mut in_process, mut over_http) = (Vec::new(), Vec::new(), Vec::new());
    let (mut in_bulk, mut spinning) = (Vec::new(), Vec::new());
    let mut expected = Vec::new();
    for run in 0..runs {
        // (a) The server's own engine, in-process. Each answer is dropped once made, as
        // the handler drops its own: keeping them all made the first run fault in fresh
        // pages for 20,000 answers (a quarter of its time on the million-site state),
        // and the engine look slower than it is.
        {
            let engine = app.shared.geo.read();
            let (t, c) = (Instant::now(), thread_cpu());
            for (_, _, act) in &queries {
                std::hint::black_box(engine.engine.check(act)?);
            }
            direct.push(Rate::since(queries.len(), t, c));
        }
        if run + 1 == runs {
            let engine = app.shared.geo.read();
            expected = queries
                .iter()
                .map(|(_, _, act)| {
                    let c = engine.engine.check(act)?;
                    Ok([
                        c.sites.iter().map(|h| h.id).collect::<Vec<_>>(),
                        c.zones.iter().map(|h| h.id).collect(),
                        c.actives.iter().map(|h| h.id).collect(),
                    ])
                })
                .collect::<anyhow::Result<_>>()?;
        }
        // (b) The handler's work without HTTP: body in, answer's JSON out.
        {
            let viewers = members.each_ref().map(|(party, _)| liaison_core::Viewer {
                party: party.to_string(),
                party_role: liaison_core::PartyRole::Member,
                operator: None,
            });
            let (t, c) = (Instant::now(), thread_cpu());
            for (body, party, _) in &queries {
                let answer = liaison_server::routes::deconfliction::check_answer(
                    &app,
                    &viewers[*party],
                    body.as_bytes(),
                )
                .map_err(|e| anyhow::anyhow!("{}", e.0.message))?;
                std::hint::black_box(answer);
            }
            in_process.push(Rate::since(queries.len(), t, c));
        }
        // (c) The same queries over HTTP.
        let (rate, _, lat) = over(check_requests.clone(), false).await?;
        over_http.push(rate);
        // (c') The same again from a client that never sleeps (see `drive_spinning`).
        let requests = check_requests.clone();
        let (t, c) = (Instant::now(), thread_cpu());
        let answered =
            tokio::task::spawn_blocking(move || drive_spinning(addr, &requests, conns)).await??;
        spinning.push(Rate::since(answered, t, c));
        // (d) In bulk: the checks of a request share its HTTP exchange.
        let (bulk, _, _) = over(bulk_requests.clone(), false).await?;
        in_bulk.push(Rate {
            wall: bulk.wall * per_bulk,
            cpu: bulk.cpu.map(|c| c * per_bulk),
        });
        println!(
            "run {}: direct {:.0} checks/s ({:.0} per CPU-second), handler without HTTP {:.0} checks/s, HTTP {:.0} checks/s ({:.2} of direct; {:.0} per server CPU-second; round trip with {conns} in flight p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms), HTTP from a client that never sleeps {:.0} checks/s ({:.2} of direct), HTTP in bulks of {BULK} {:.0} checks/s",
            run + 1,
            direct[run].wall,
            direct[run].cpu.unwrap_or(0.0),
            in_process[run].wall,
            over_http[run].wall,
            over_http[run].wall / direct[run].wall,
            over_http[run].cpu.unwrap_or(0.0),
            pct(&lat, 50.0),
            pct(&lat, 99.0),
            pct(&lat, 100.0),
            spinning[run].wall,
            spinning[run].wall / direct[run].wall,
            in_bulk[run].wall
        );
    }
    // Both paths must give the same answers (checked in a pass of its own, unmeasured).
    let (_, answers, _) = over(check_requests.clone(), true).await?;
    let mut differing = 0;
    let (mut hits, mut bytes) = (0usize, 0usize);
    for (want, body) in expected.iter().zip(&answers) {
        let got = answer_ids(&serde_json::from_slice(body)?);
        let mut got_sorted = got.clone();
        for g in &mut got_sorted {
            g.sort_unstable();
        }
        if &got_sorted != want {
            differing += 1;
        }
        hits += want.iter().map(Vec::len).sum::<usize>();
        bytes += body.len();
    }
    let wall = |v: &[Rate]| median(v.iter().map(|r| r.wall).collect());
    let cpu = |v: &[Rate]| median(v.iter().map(|r| r.cpu.unwrap_or(0.0)).collect());
    let (d, h, hp) = (wall(&direct), wall(&over_http), wall(&in_process));
    // Each run's passes follow one another within seconds, so on a machine whose speed
    // drifts between runs the ratio within a run is the steadier figure.
    let per_run = |v: &[Rate]| -> Vec<f64> {
        v.iter()
            .zip(&direct)
            .map(|(x, e)| x.wall / e.wall)
            .collect()
    };
    let (http_runs, bulk_runs) = (per_run(&over_http), per_run(&in_bulk));
    let spin_runs = per_run(&spinning);
    let (dc, hc) = (cpu(&direct), cpu(&over_http));
    println!(
        "{}",
        serde_json::json!({"bench": "deconflict-http", "connections": conns, "sites": n_sites, "zones": n_zones, "notifications": n_actives,
            "queries": queries.len(), "runs": runs, "seeding_s": seeding_s, "site_import_s": sites_s,
            "import_checks": waits.len(), "import_check_p50_ms": import_p50, "import_check_p99_ms": import_p99, "import_check_max_ms": import_max,
            "hits_per_query": hits as f64 / queries.len().max(1) as f64,
            "answer_bytes_per_query": bytes as f64 / queries.len().max(1) as f64,
            "floor_requests_per_second": floor.wall, "floor_requests_per_server_cpu_second": floor.cpu,
            "direct_checks_per_second_median": d, "handler_checks_per_second_median": hp, "handler_over_direct": hp / d,
            "http_checks_per_second_median": h, "http_over_direct": h / d,
            "http_over_direct_per_run": http_runs, "http_over_direct_per_run_median": median(http_runs.clone()),
            "spinning_client_checks_per_second_median": wall(&spinning),
            "spinning_client_over_direct_per_run": spin_runs, "spinning_client_over_direct_per_run_median": median(spin_runs.clone()),
            "spinning_client_checks_per_server_cpu_second_median": cpu(&spinning),
            "bulk_over_direct_per_run": bulk_runs, "bulk_over_direct_per_run_median": median(bulk_runs.clone()),
            "bulk_size": BULK, "bulk_checks_per_second_median": wall(&in_bulk), "bulk_over_direct": wall(&in_bulk) / d,
            "direct_checks_per_cpu_second_median": dc, "http_checks_per_server_cpu_second_median": hc,
            "http_over_direct_cpu": if dc > 0.0 { hc / dc } else { 0.0 }, "answers_differing": differing})
    );
    served.stop().await;
    let _ = std::fs::remove_dir_all(&tmp);
    if differing > 0 {
        bail!("{differing} answers over HTTP differ from the engine's");
    }
    Ok(())
}

/// `bench screening`: our screener on the evaluation set, and the anchor's committed
/// results beside it.
mod screening {
    use super::median;
    use anyhow::Context;
    use liaison_screening::eval::{self, Label, Outcome};
    use liaison_screening::{Format, Query, Screener, SourceFile, THRESHOLD};
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::time::Instant;

    pub struct Args {
        pub list: PathBuf,
        pub queries: PathBuf,
        pub anchor: PathBuf,
        pub anchor_speed: PathBuf,
        pub limit: Option<usize>,
        pub runs: usize,
        pub counterparties: usize,
    }

    /// The anchor's threshold: yente's default score threshold.
    const ANCHOR_THRESHOLD: f64 = 0.70;
    /// The thresholds of the printed curve.
    const CURVE: [f64; 10] = [0.50, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 1.00];

    /// This thread's time on a CPU so far (Linux: the first field of
    /// `/proc/thread-self/schedstat`, nanoseconds), so that a figure per CPU-second does
    /// not depend on what else the machine runs.
    fn thread_cpu_s() -> Option<f64> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
        Some(ns / 1e9)
    }

    fn read_anchor(path: &PathBuf) -> anyhow::Result<Option<HashMap<String, Outcome>>> {
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        let mut out = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let o: Outcome = serde_json::from_str(line)
                .with_context(|| format!("{} line {}", path.display(), i + 1))?;
            out.insert(o.id.clone(), o);
        }
        Ok(Some(out))
    }

    pub fn run(a: &Args) -> anyhow::Result<()> {
        let bytes = std::fs::read(&a.list).with_context(|| a.list.display().to_string())?;
        let qbytes = std::fs::read(&a.queries).with_context(|| a.queries.display().to_string())?;
        let mut queries = eval::parse_queries(&qbytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.queries.display()))?;
        if let Some(n) = a.limit {
            queries.truncate(n);
        }
        anyhow::ensure!(!queries.is_empty(), "no queries");
        let name = a
            .list
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("list");
        let t = Instant::now();
        let list = liaison_screening::parse(
            Format::FtmJson,
            &[SourceFile {
                name,
                bytes: &bytes,
            }],
        )?;
        let parse_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let screener = Screener::new(&[list]);
        let index_s = t.elapsed().as_secs_f64();
        println!(
            "list: {} names and aliases indexed; parse {parse_s:.3} s, index {index_s:.3} s",
            screener.names_indexed()
        );

        // Quality: every query, everything reported down to 0.5.
        let ours: Vec<Outcome> = queries
            .iter()
            .map(|q| eval::outcome(&screener, q, 0.5))
            .collect();
        let pairs: Vec<(Label, &Outcome)> =
            queries.iter().map(|q| q.label).zip(ours.iter()).collect();
        let anchor = read_anchor(&a.anchor)?;
        let anchor_pairs: Option<Vec<(Label, &Outcome)>> = match &anchor {
            Some(m) => Some(
                queries
                    .iter()
                    .map(|q| {
                        m.get(&q.id)
                            .map(|o| (q.label, o))
                            .with_context(|| format!("the anchor has no result for {}", q.id))
                    })
                    .collect::<anyhow::Result<_>>()?,
            ),
            None => None,
        };
        let positives = queries.iter().filter(|q| q.label == Label::Match).count();
        println!(
            "queries: {} ({positives} true variants, {} non-matches)",
            queries.len(),
            queries.len() - positives
        );
        println!(
            "threshold | ours recall | ours false-match rate | anchor recall | anchor false-match rate | anchor recall, target always compared"
        );
        let mut curve = Vec::new();
        for t in CURVE {
            let p = eval::point(&pairs, t);
            let an = anchor_pairs.as_ref().map(|ap| eval::point(ap, t));
            let oracle = anchor_pairs
                .as_ref()
                .and_then(|ap| eval::oracle_recall(ap, t));
            let cell = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.3}"));
            println!(
                "{t:.2} | {:.3} | {:.3} | {} | {} | {}",
                p.recall,
                p.false_match_rate,
                cell(an.map(|x| x.recall)),
                cell(an.map(|x| x.false_match_rate)),
                cell(oracle),
            );
            curve.push(serde_json::json!({"threshold": t, "recall": p.recall,
                "false_match_rate": p.false_match_rate,
                "anchor_recall": an.map(|x| x.recall),
                "anchor_false_match_rate": an.map(|x| x.false_match_rate),
                "anchor_recall_target_compared": oracle}));
        }
        let at_ours = eval::point(&pairs, THRESHOLD);

        // Speed: every query screened as a screening is (threshold, at most 20 matches),
        // on this thread.
        let mut per_s = Vec::new();
        let mut per_cpu_s = Vec::new();
        for _ in 0..a.runs {
            let cpu = thread_cpu_s();
            let t = Instant::now();
            let mut found = 0usize;
            for q in &queries {
                let (kind, names) = eval::query_of(q);
                found += screener
                    .screen(&Query {
                        kind,
                        names: &names,
                        country: None,
                    })
                    .len();
            }
            let el = t.elapsed().as_secs_f64();
            per_s.push(queries.len() as f64 / el);
            let cpu = cpu
                .zip(thread_cpu_s())
                .map(|(a, b)| b - a)
                .filter(|c| *c > 0.0);
            if let Some(c) = cpu {
                per_cpu_s.push(queries.len() as f64 / c);
            }
            println!(
                "speed run: {} screenings in {el:.3} s, {} s on the CPU ({found} matches)",
                queries.len(),
                cpu.map_or("?".into(), |c| format!("{c:.3}"))
            );
        }
        let screenings_per_s = median(per_s.clone());
        let screenings_per_cpu_s = (!per_cpu_s.is_empty()).then(|| median(per_cpu_s.clone()));

        // Re-screen: N counterparties of two names each (consecutive queries), after a
        // list load: the index build, then every counterparty.
        let mut rescreen = Vec::new();
        let mut rescreen_cpu = Vec::new();
        for _ in 0..a.runs {
            let cpu = thread_cpu_s();
            let t = Instant::now();
            let mut found = 0usize;
            for i in 0..a.counterparties {
                let q1 = &queries[(2 * i) % queries.len()];
                let q2 = &queries[(2 * i + 1) % queries.len()];
                let names = [q1.name.as_str(), q2.name.as_str()];
                found += screener
                    .screen(&Query {
                        kind: Some(q1.kind),
                        names: &names,
                        country: None,
                    })
                    .len();
            }
            rescreen.push(t.elapsed().as_secs_f64());
            if let Some(c) = cpu.zip(thread_cpu_s()).map(|(a, b)| b - a) {
                rescreen_cpu.push(c);
            }
            std::hint::black_box(found);
        }
        // The same re-screen spread over every core (scoped threads, each a share of the
        // counterparties).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut rescreen_all = Vec::new();
        for _ in 0..a.runs {
            let t = Instant::now();
            let chunk = a.counterparties.div_ceil(threads).max(1);
            std::thread::scope(|sc| {
                for start in (0..a.counterparties).step_by(chunk) {
                    let (screener, queries) = (&screener, &queries);
                    sc.spawn(move || {
                        let mut found = 0usize;
                        for i in start..(start + chunk).min(a.counterparties) {
                            let q1 = &queries[(2 * i) % queries.len()];
                            let q2 = &queries[(2 * i + 1) % queries.len()];
                            let names = [q1.name.as_str(), q2.name.as_str()];
                            found += screener
                                .screen(&Query {
                                    kind: Some(q1.kind),
                                    names: &names,
                                    country: None,
                                })
                                .len();
                        }
                        std::hint::black_box(found);
                    });
                }
            });
            rescreen_all.push(t.elapsed().as_secs_f64());
        }
        let rescreen_all_s = median(rescreen_all.clone());
        println!(
            "re-screen on {threads} threads: {} counterparties in {rescreen_all_s:.3} s (median)",
            a.counterparties
        );
        let rescreen_s = median(rescreen.clone());
        let rescreen_cpu_s = (!rescreen_cpu.is_empty()).then(|| median(rescreen_cpu.clone()));
        println!(
            "re-screen: {} counterparties in {rescreen_s:.3} s (median; {} s on the CPU), {:.3} s with the index build",
            a.counterparties,
            rescreen_cpu_s.map_or("?".into(), |c| format!("{c:.3}")),
            rescreen_s + index_s
        );

        let mut summary = serde_json::json!({
            "bench": "screening",
            "names": screener.names_indexed(),
            "queries": queries.len(),
            "parse_s": parse_s,
            "index_s": index_s,
            "threshold": THRESHOLD,
            "recall": at_ours.recall,
            "false_match_rate": at_ours.false_match_rate,
            "screenings_per_s": screenings_per_s,
            "screenings_per_s_runs": per_s,
            "screenings_per_cpu_s": screenings_per_cpu_s,
            "rescreen_cpu_s": rescreen_cpu_s,
            "load_average": std::fs::read_to_string("/proc/loadavg").ok()
                .and_then(|l| l.split_whitespace().next().and_then(|x| x.parse::<f64>().ok())),
            "counterparties": a.counterparties,
            "rescreen_s": rescreen_s,
            "rescreen_runs_s": rescreen,
            "rescreen_with_index_s": rescreen_s + index_s,
            "rescreen_threads": threads,
            "rescreen_all_threads_s": rescreen_all_s,
            "curve": curve,
        });
        if let Some(ap) = &anchor_pairs {
            let an = eval::point(ap, ANCHOR_THRESHOLD);
            let ours_at = eval::recall_at_rate(&pairs, an.false_match_rate);
            println!(
                "at the anchor's threshold {ANCHOR_THRESHOLD:.2}: anchor recall {:.3} at false-match rate {:.3}; ours {:.3} at {:.3} (our threshold {:.2})",
                an.recall,
                an.false_match_rate,
                ours_at.recall,
                ours_at.false_match_rate,
                ours_at.threshold
            );
            summary["anchor_threshold"] = ANCHOR_THRESHOLD.into();
            summary["anchor_recall"] = an.recall.into();
            summary["anchor_false_match_rate"] = an.false_match_rate.into();
            summary["ours_recall_at_anchor_rate"] = ours_at.recall.into();
            summary["ours_rate_at_anchor_rate"] = ours_at.false_match_rate.into();
            summary["ours_threshold_at_anchor_rate"] = ours_at.threshold.into();
            summary["anchor_recall_target_compared"] =
                eval::oracle_recall(ap, ANCHOR_THRESHOLD).into();
        }
        if a.anchor_speed.exists() {
            let text = std::fs::read_to_string(&a.anchor_speed)?;
            let v: serde_json::Value = serde_json::from_str(&text)?;
            if let Some(x) = v["screenings_per_s_median"].as_f64() {
                summary["anchor_screenings_per_s"] = x.into();
                summary["speed_ratio"] = (screenings_per_s / x).into();
                println!(
                    "speed: ours {screenings_per_s:.0}/s, anchor {x:.2}/s, ratio {:.0}×",
                    screenings_per_s / x
                );
            }
            if let (Some(x), Some(ours)) = (
                v["screenings_per_cpu_s_median"].as_f64(),
                screenings_per_cpu_s,
            ) {
                summary["anchor_screenings_per_cpu_s"] = x.into();
                summary["speed_ratio_cpu"] = (ours / x).into();
                println!(
                    "per CPU-second: ours {ours:.0}, anchor {x:.2}, ratio {:.0}×",
                    ours / x
                );
            }
        }
        println!("{summary}");
        Ok(())
    }
}
