//! `init`, `serve` and `demo`: the commands that own a data directory.

use crate::output::json;
use anyhow::Context;
use liaison_api::charter_toml::parse_charter;
use liaison_api::wire::CredentialsFile;
use liaison_core::{Actor, Command};
use liaison_server::{App, SystemClock, at_rest, tls};
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

/// Protected sites and illustrative zones for the demo; each feature says where it came from.
pub const DEMO_MAP: &str = include_str!("../../../examples/demo-deconfliction.geojson");

/// The demo charter: Israel and Syria as members, the United States supervising, UNDOF observing.
pub const DEMO_CHARTER: &str = include_str!("../../../examples/demo.toml");

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// How log lines are written to standard error.
#[derive(clap::ValueEnum, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Logs to standard error in `format`, filtered by `LIAISON_LOG` (default `info`).
pub(crate) fn logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIAISON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// How a server is watched: its log's format, its metrics' own listener and the
/// readiness threshold on witnesses.
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct OpsArgs {
    /// Write log lines as text or as JSON objects (the filter is `LIAISON_LOG`).
    #[arg(long = "log-format", env = "LIAISON_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Also serve `/metrics` on this address, over plain HTTP and without credentials
    /// (for Prometheus): bind it where only the monitoring can reach it. On the main
    /// listener `/metrics` needs the token of a supervising-party operator.
    #[arg(
        long = "metrics-listen",
        env = "LIAISON_METRICS_LISTEN",
        value_name = "ADDR"
    )]
    pub metrics_listen: Option<String>,
    /// `/readyz` answers 503 once a party's witness is more than this many entries
    /// behind the log (0: never).
    #[arg(long = "max-witness-lag", env = "LIAISON_MAX_WITNESS_LAG", value_name = "N", default_value_t = liaison_server::app::DEFAULT_MAX_WITNESS_LAG)]
    pub max_witness_lag: u64,
}

/// How `serve` speaks: HTTPS with a certificate, or plain HTTP where that is safe
/// (the flags are in `config::ServeSettings`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TlsArgs {
    /// The TLS certificate chain (PEM); default: the cell certificate, if any.
    pub tls_cert: Option<PathBuf>,
    /// Its private key.
    pub tls_key: Option<PathBuf>,
    /// Plain HTTP on an address that is not loopback.
    pub insecure_http: bool,
}

pub fn init(
    data: &Path,
    charter_path: &Path,
    hostnames: &[String],
    log_key: Option<&Path>,
    as_json: bool,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(charter_path)
        .with_context(|| format!("cannot read charter {}", charter_path.display()))?;
    let file = liaison_api::charter_toml::parse_charter_file(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", charter_path.display()))?;
    if data.join("cell.db").exists() {
        anyhow::bail!("{} already holds a cell", data.display());
    }
    let log_key = match log_key {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the log key {}", p.display()))?;
            Some(
                liaison_server::ledger::LogSigner::from_key_text(text.trim())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            )
        }
    };
    // Refuse before anything is written: a pinned log key needs its private half.
    match (&log_key, &file.charter.log_key) {
        (None, Some(pinned)) => anyhow::bail!(
            "the charter pins the log key {pinned}: give its private key with --log-key FILE"
        ),
        (Some(k), Some(pinned)) if k.vkey() != *pinned => anyhow::bail!(
            "the charter pins the log key {pinned}, but --log-key holds {}",
            k.vkey()
        ),
        _ => {}
    }
    let fingerprint = if hostnames.is_empty() {
        None
    } else {
        at_rest::make_private_dir(data)
            .with_context(|| format!("cannot create {}", data.display()))?;
        Some(tls::make_cell_certificate(data, hostnames).map_err(|e| anyhow::anyhow!(e))?)
    };
    let rt = runtime()?;
    let creds = rt.block_on(async {
        let (_app, creds) = App::init_with(data, file, log_key, Arc::new(SystemClock)).await?;
        Ok::<_, anyhow::Error>(creds)
    })?;
    if as_json {
        return json(&creds);
    }
    println!(
        "cell created in {} (pending the supervisor's approval)",
        data.display()
    );
    println!(
        "operator tokens and keys: {}",
        data.join("credentials.json").display()
    );
    let files: Vec<String> = creds
        .operators
        .iter()
        .map(|o| format!("credentials-{}.json", o.party))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "hand each party its own file ({}: its operators' tokens and keys, and the party's own key unless the charter pinned one), then delete them and credentials.json: whoever holds them can act as those parties",
        files.join(", ")
    );
    if let Some(vkey) = &creds.log_vkey {
        println!("log key (each party's file carries it, for its witness): {vkey}");
    }
    if let Some(fp) = fingerprint {
        println!(
            "TLS certificate: {} (SHA-256 {fp})",
            data.join(tls::CERT_FILE).display()
        );
        println!(
            "clients pin it with --ca {} or --ca-fingerprint {fp}",
            data.join(tls::CERT_FILE).display()
        );
    }
    Ok(())
}

pub fn serve(settings: &crate::config::Serve) -> anyhow::Result<()> {
    logging(settings.ops.log_format);
    let rt = runtime()?;
    rt.block_on(async {
        let app = App::open_replicated(
            &settings.data,
            settings.replica.as_deref(),
            Arc::new(SystemClock),
        )?;
        if let Some(r) = &settings.replica {
            tracing::info!(replica = %r.display(), events = app.head(), "replicating the record");
            println!("Replicating every commit to {}", r.display());
        }
        let tls = tls_config(&settings.data, &settings.tls, &app)?;
        let listener = bind(&settings.listen).await?;
        watch(&app, &settings.ops).await?;
        run(app, listener, tls, settings.tls.insecure_http).await
    })
}

/// Applies `ops` to `app`: the readiness threshold, and the metrics' own listener when
/// one is asked for (bound before anything is announced, so a busy address fails the
/// start).
async fn watch(app: &App, ops: &OpsArgs) -> anyhow::Result<()> {
    app.set_max_witness_lag(ops.max_witness_lag);
    let Some(addr) = &ops.metrics_listen else {
        return Ok(());
    };
    let listener = bind(addr).await?;
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() {
        tracing::warn!(%local, "serving metrics without credentials on an address that is not loopback");
    }
    println!("Metrics on http://{local}/metrics  (no credentials)");
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(e) = liaison_server::serve_metrics(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// The TLS configuration `serve` uses: the given files, else the cell certificate when
/// there is one, else none; asking clients for certificates the charter's client CAs
/// issued when parties pin any.
fn tls_config(
    data: &Path,
    args: &TlsArgs,
    app: &App,
) -> anyhow::Result<Option<(Arc<rustls::ServerConfig>, String)>> {
    if args.insecure_http {
        return Ok(None);
    }
    let (cert, key) = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => {
            let (c, k) = tls::cell_files(data);
            if !c.exists() {
                return Ok(None);
            }
            (c, k)
        }
    };
    let client_cas = tls::ClientCas::from_charter(app.shared.state.read().charter())
        .map_err(|e| anyhow::anyhow!(e))?;
    let config = tls::server_config(&cert, &key, &client_cas).map_err(|e| anyhow::anyhow!(e))?;
    Ok(Some(config))
}

async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))
}

async fn run(
    app: App,
    listener: tokio::net::TcpListener,
    tls: Option<(Arc<rustls::ServerConfig>, String)>,
    insecure_http: bool,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    if tls.is_none() && !addr.ip().is_loopback() {
        if !insecure_http {
            anyhow::bail!(
                "refusing to serve plain HTTP on {addr}, which is not a loopback address: tokens and content would cross the network in clear text. \
                 Serve HTTPS (make a cell certificate with `liaison init --hostname NAME`, or pass --tls-cert FILE --tls-key FILE), \
                 listen on 127.0.0.1, or pass --insecure-http to serve plain HTTP all the same"
            );
        }
        tracing::warn!(
            %addr,
            "serving plain HTTP on an address that is not loopback (--insecure-http): tokens, passwords and content cross the network in clear text"
        );
    }
    if tls.is_none() {
        let pinning: Vec<String> = app
            .shared
            .state
            .read()
            .charter()
            .map(|c| {
                c.parties
                    .iter()
                    .filter(|p| p.client_ca.is_some())
                    .map(|p| p.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        if !pinning.is_empty() {
            tracing::warn!(
                parties = %pinning.join(","),
                "serving plain HTTP: these parties pin a client CA, so their operators are refused (client_certificate_required) until the cell serves HTTPS"
            );
        }
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, events = app.head(), scheme, "serving");
    let config = match tls {
        Some((config, fp)) => {
            println!("TLS certificate SHA-256: {fp}");
            let _ = app.shared.tls_fingerprint.set(fp);
            Some(config)
        }
        None => None,
    };
    println!("Liaison is serving on {scheme}://{addr}/  (Ctrl-C to stop)");
    let shutdown = service_manager(&app);
    liaison_server::listen::serve(
        listener,
        app,
        config,
        liaison_server::listen::Limits::default(),
        shutdown,
    )
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Tells systemd (`Type=notify`, when `$NOTIFY_SOCKET` is set) that the server is ready,
/// the listener being bound and the record replayed; starts the watchdog pings it asks
/// for (`WatchdogSec=`); and returns the shutdown signal, which also says `STOPPING=1`.
/// Without systemd, only the shutdown signal.
fn service_manager(app: &App) -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let notifier = match liaison_server::systemd::Notifier::from_env() {
        Ok(n) => n.map(Arc::new),
        Err(e) => {
            tracing::warn!(error = %e, "NOTIFY_SOCKET names no usable socket: systemd will not hear from this server");
            None
        }
    };
    #[cfg(unix)]
    if let Some(n) = &notifier {
        if let Err(e) = n.notify("READY=1") {
            tracing::warn!(error = %e, "cannot tell systemd the server is ready");
        }
        if let Some(every) = liaison_server::systemd::watchdog_from_env() {
            tokio::spawn(liaison_server::systemd::watchdog(
                app.clone(),
                n.clone(),
                every,
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = app;
    async move {
        liaison_server::shutdown_signal().await;
        #[cfg(unix)]
        if let Some(n) = notifier {
            let _ = n.notify("STOPPING=1");
        }
    }
}

pub fn demo(data: &Path, listen: &str, with_tls: bool, ops: &OpsArgs) -> anyhow::Result<()> {
    logging(ops.log_format);
    let rt = runtime()?;
    rt.block_on(async {
        let creds_path = data.join("credentials.json");
        let (cert_path, _) = tls::cell_files(data);
        if with_tls && !cert_path.exists() {
            at_rest::make_private_dir(data)
                .with_context(|| format!("cannot create {}", data.display()))?;
            tls::make_cell_certificate(data, &[]).map_err(|e| anyhow::anyhow!(e))?;
        }
        let app = if data.join("cell.db").exists() {
            println!("Reusing the demo cell in {}", data.display());
            App::open(data, Arc::new(SystemClock))?
        } else {
            let charter = parse_charter(DEMO_CHARTER).map_err(|e| anyhow::anyhow!("demo charter: {e}"))?;
            let (app, creds) = App::init(data, charter, Arc::new(SystemClock)).await?;
            seed(&app, &creds).await?;
            println!("Created the demo cell in {}", data.display());
            app
        };
        let creds: CredentialsFile = serde_json::from_slice(
            &std::fs::read(&creds_path).with_context(|| format!("cannot read {}", creds_path.display()))?,
        )
        .context("credentials.json does not parse")?;
        let tls = if with_tls {
            tls_config(data, &TlsArgs::default(), &app)?
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        // Bound first, so that every address printed is the one served on.
        let listener = bind(listen).await?;
        let url = format!("{scheme}://{}", listener.local_addr()?);
        watch(&app, ops).await?;
        println!();
        println!("  Golan joint communication cell: Israel and Syria, supervised by the United States, observed by UNDOF");
        println!("  API:          {url}/api/v1/cell   (OpenAPI: {url}/api/v1/openapi.json)");
        println!("  Credentials:  {}", creds_path.display());
        if let Some((_, fp)) = &tls {
            println!("  TLS:          {} (SHA-256 {fp})", cert_path.display());
            println!("  Pin it:       --ca {}   or   --ca-fingerprint {fp}", cert_path.display());
        }
        // A member's liaison officer, on the address the demo serves on.
        if let Some(il) = creds.operators.iter().find(|o| o.name == "il-liaison") {
            // The path this binary was started from, so the line works as printed.
            let exe = std::env::current_exe()
                .ok()
                .and_then(|p| std::env::current_dir().ok().and_then(|d| p.strip_prefix(&d).ok().map(|r| format!("./{}", r.display()))))
                .unwrap_or_else(|| "liaison".into());
            match &tls {
                Some(_) => println!(
                    "  Try:          LIAISON_SERVER={url} LIAISON_CA={} LIAISON_TOKEN={} {exe} cell show   (as il-liaison)",
                    cert_path.display(),
                    il.token
                ),
                None => println!(
                    "  Try:          LIAISON_SERVER={url} LIAISON_TOKEN={} {exe} cell show   (as il-liaison)",
                    il.token
                ),
            }
        }
        println!();
        run(app, listener, tls, false).await
    })
}

/// A little history so a new user has something to look at: a message acknowledged,
/// one waiting, and an incident with both sides' accounts.
/// Records a seeded statement as its operator's, signed in process with the key
/// `liaison init` made for it (an operator without one states it unsigned).
async fn say(
    app: &App,
    keys: &Keys,
    actor: Actor,
    cmd: Command,
) -> anyhow::Result<liaison_server::writer::Outcome> {
    let key = match &actor {
        Actor::Operator { name, .. } => keys.get(name),
        Actor::System => None,
    };
    Ok(match key {
        Some(k) => app.command_with_key(actor, k, cmd).await?,
        None => app.command(actor, cmd).await?,
    })
}

type Keys = std::collections::HashMap<String, ed25519_dalek::SigningKey>;

/// The signing keys in a credentials file, by operator.
pub fn keys_of(creds: &CredentialsFile) -> anyhow::Result<Keys> {
    let mut keys = Keys::new();
    for o in &creds.operators {
        if let Some(pem) = &o.key {
            keys.insert(o.name.clone(), liaison_log::keys::read_private_key(pem)?);
        }
    }
    Ok(keys)
}

async fn seed(app: &App, creds: &CredentialsFile) -> anyhow::Result<()> {
    let keys = keys_of(creds)?;
    let keys = &keys;
    use liaison_core::incident::{Category, Place, TimePrecision};
    use liaison_core::{Duration, Precedence};
    let actor = |name: &str| -> anyhow::Result<Actor> {
        let state = app.shared.state.read();
        Actor::of(&state, name).ok_or_else(|| anyhow::anyhow!("the demo charter has no {name}"))
    };
    say(app, keys, actor("us-supervisor")?, Command::ApproveCell).await?;
    let send = |from: &str,
                to: &str,
                precedence: Precedence,
                subject: &str,
                body: &str,
                language: &str| {
        let cmd = Command::SendMessage {
            to: [to.to_string()].into(),
            precedence,
            subject: subject.into(),
            body: body.into(),
            language: language.into(),
            emergency: false,
            test: false,
            attachments: Vec::new(),
        };
        (actor(from), cmd)
    };
    let (a, cmd) = send(
        "il-liaison",
        "sy",
        Precedence::Routine,
        "Test of the line",
        "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG 1234567890",
        "en",
    );
    let first = say(app, keys, a?, cmd).await?;
    if let Some(id) = first.seqs.first() {
        say(
            app,
            keys,
            actor("sy-liaison")?,
            Command::AcknowledgeMessage {
                message: *id,
                reply: Some("Received clearly.".into()),
            },
        )
        .await?;
    }
    let (a, cmd) = send(
        "sy-liaison",
        "il",
        Precedence::Priority,
        "Convoy to Suwayda",
        "قافلة مساعدات إنسانية إلى السويداء صباح الغد عبر الطريق M5. نطلب التأكيد.",
        "ar",
    );
    say(app, keys, a?, cmd).await?;
    let now = app.shared.clock.now();
    let reported = say(
        app,
        keys,
        actor("il-liaison")?,
        Command::ReportIncident {
            category: Category::FireAcrossTheLine,
            precedence: Precedence::Immediate,
            occurred_at: now.plus(Duration::from_hours(-3)),
            precision: TimePrecision::Exact,
            place: Place {
                coordinates: vec![[35.83, 33.13]],
                uncertainty_m: 500.0,
            },
            description: "Small-arms fire across the line of separation near Quneitra.".into(),
            attributed_to: Some("sy".into()),
            links: Vec::new(),
            attachments: Vec::new(),
        },
    )
    .await?;
    seed_map(app, keys, &actor).await?;
    seed_proposal(app, keys, actor("il-liaison")?).await?;
    if let Some(id) = reported.seqs.first() {
        say(
            app,
            keys,
            actor("sy-liaison")?,
            Command::AcknowledgeIncident { incident: *id },
        )
        .await?;
        say(
            app,
            keys,
            actor("sy-liaison")?,
            Command::SubmitAccount {
                incident: *id,
                text: "Not our forces; an unaffiliated group. We are investigating.".into(),
                disowned: true,
                answers: None,
                attachments: Vec::new(),
            },
        )
        .await?;
    }
    Ok(())
}

/// A water project for a Druze town on the Golan, filed by Israel with Syria: its area
/// touches the town as a protected site.
async fn seed_proposal(app: &App, keys: &Keys, actor: Actor) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "title": "Spring water for Majdal Shams",
        "description": "A pipeline from the Banias springs to the town's reservoir, built by a contractor from each side.",
        "language": "en",
        "translations": [{"language": "ar", "title": "مياه الينابيع لمجدل شمس", "by": "il translation service"}],
        "sector": "water",
        "parties": ["il", "sy"],
        "counterparties": [
            {"kind": "organisation", "name": "Golan Water Engineering Ltd",
             "names": {"he": "הנדסת מים גולן בע\"מ"}, "country": "IL"},
            {"kind": "organisation", "name": "Hermon Pipe Works LLC",
             "names": {"ar": "شركة حرمون لصناعة الأنابيب"}, "country": "SY"}
        ],
        "area": {"type": "Polygon", "coordinates": [[[35.76, 33.26], [35.78, 33.26], [35.78, 33.28], [35.76, 33.28], [35.76, 33.26]]]},
        "value": 1200000,
        "currency": "USD"
    });
    let req: liaison_api::cooperation::ProposalRequest = serde_json::from_value(body)?;
    let body = liaison_server::routes::cooperation::body_of(req)
        .map_err(|e| anyhow::anyhow!("demo proposal: {}", e.0))?;
    let signature = match (&actor, keys.get(actor.name())) {
        (Actor::Operator { name, .. }, Some(key)) => {
            Some(app.sign_in_process(name, key, format!("{body:?}").as_bytes())?)
        }
        _ => None,
    };
    let decider = liaison_server::routes::cooperation::proposal_decider(app, actor.clone(), body);
    app.submit(actor, signature, decider).await?;
    Ok(())
}

/// Druze towns, a UN position and the illustrative 1974 zones and proposed DMZ.
async fn seed_map(
    app: &App,
    keys: &Keys,
    actor: &dyn Fn(&str) -> anyhow::Result<Actor>,
) -> anyhow::Result<()> {
    use liaison_core::deconfliction::{SiteCategory, Stance, ZoneKind, ZoneRules};
    let v: serde_json::Value = serde_json::from_str(DEMO_MAP)?;
    let features =
        liaison_geo::geojson::parse_features(&v).map_err(|e| anyhow::anyhow!("demo map: {e}"))?;
    for f in features {
        let p = &f.properties;
        let s = |k: &str| {
            p.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let list = |k: &str| -> Vec<String> {
            p.get(k)
                .and_then(|x| x.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        match s("liaison_type").as_str() {
            "site" => {
                let area = f
                    .area("radius_m")
                    .map_err(|e| anyhow::anyhow!("demo map: {e}"))?;
                let category =
                    SiteCategory::parse(&s("category")).unwrap_or(SiteCategory::PopulationCentre);
                let names = p
                    .get("names")
                    .and_then(|n| n.as_object())
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| v.as_str().map(|x| (k.clone(), x.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                let who = if category == SiteCategory::UnPost {
                    "undof-observer"
                } else {
                    "us-supervisor"
                };
                let shape = liaison_server::deconfliction::to_shape(&area);
                say(
                    app,
                    keys,
                    actor(who)?,
                    Command::RegisterSite {
                        site: None,
                        names,
                        category,
                        shape,
                        cot_detail: None,
                    },
                )
                .await?;
            }
            "zone" => {
                let area = f
                    .area("buffer_m")
                    .map_err(|e| anyhow::anyhow!("demo map: {e}"))?;
                let proposer = if s("proposed_by") == "il" {
                    "il-liaison"
                } else {
                    "us-supervisor"
                };
                let rules = ZoneRules {
                    prohibited_kinds: list("prohibited_kinds").into_iter().collect(),
                    alt_min_m: None,
                    alt_max_m: None,
                    force_limits: list("force_limits"),
                };
                let cmd = Command::RegisterZone {
                    zone: None,
                    name: s("name"),
                    kind: ZoneKind::parse(&s("zone_kind")).unwrap_or(ZoneKind::Other),
                    shape: liaison_server::deconfliction::to_shape(&area),
                    rules,
                    note: format!("{} Source: {}.", s("note"), s("source")),
                };
                let out = say(app, keys, actor(proposer)?, cmd).await?;
                let Some(id) = out.seqs.first().copied() else {
                    continue;
                };
                if p.get("agreed").and_then(|x| x.as_bool()) == Some(true) {
                    for m in ["il-liaison", "sy-liaison"] {
                        say(
                            app,
                            keys,
                            actor(m)?,
                            Command::TakeZoneStance {
                                zone: id,
                                stance: Stance::Accepted,
                            },
                        )
                        .await?;
                    }
                }
                if s("disputed_by") == "sy" {
                    say(
                        app,
                        keys,
                        actor("sy-liaison")?,
                        Command::TakeZoneStance {
                            zone: id,
                            stance: Stance::Disputed,
                        },
                    )
                    .await?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
