//! `init`, `serve` and `demo`: the commands that own a data directory.

use crate::output::json;
use anyhow::Context;
use liaison_api::charter_toml::parse_charter;
use liaison_api::wire::CredentialsFile;
use liaison_core::{Actor, Command};
use liaison_server::{App, SystemClock};
use std::path::Path;
use std::sync::Arc;

/// The demo charter: Israel and Syria as members, the United States supervising, UNDOF observing.
pub const DEMO_CHARTER: &str = include_str!("../../../examples/demo.toml");

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIAISON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn init(data: &Path, charter_path: &Path, as_json: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(charter_path)
        .with_context(|| format!("cannot read charter {}", charter_path.display()))?;
    let charter =
        parse_charter(&text).map_err(|e| anyhow::anyhow!("{}: {e}", charter_path.display()))?;
    let rt = runtime()?;
    let creds = rt.block_on(async {
        let (_app, creds) = App::init(data, charter, Arc::new(SystemClock)).await?;
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
        "operator tokens: {}",
        data.join("credentials.json").display()
    );
    Ok(())
}

pub fn serve(data: &Path, listen: &str) -> anyhow::Result<()> {
    logging();
    let rt = runtime()?;
    rt.block_on(async {
        let app = App::open(data, Arc::new(SystemClock))?;
        run(app, listen).await
    })
}

async fn run(app: App, listen: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, events = app.head(), "serving");
    println!("Liaison is serving on http://{addr}/  (Ctrl-C to stop)");
    liaison_server::serve(listener, app, liaison_server::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

pub fn demo(data: &Path, listen: &str) -> anyhow::Result<()> {
    logging();
    let rt = runtime()?;
    rt.block_on(async {
        let creds_path = data.join("credentials.json");
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
        let url = format!("http://{listen}");
        println!();
        println!("  Golan joint communication cell: Israel and Syria, supervised by the United States, observed by UNDOF");
        println!("  API:          {url}/api/v1/cell   (OpenAPI: {url}/api/v1/openapi.json)");
        println!("  Credentials:  {}", creds_path.display());
        if let Some(us) = creds.operators.iter().find(|o| o.name == "us-supervisor") {
            println!("  Try:          LIAISON_TOKEN={} liaison cell show", us.token);
        }
        println!();
        run(app, listen).await
    })
}

/// A little history so a new user has something to look at: a message acknowledged,
/// one waiting, and an incident with both sides' accounts.
async fn seed(app: &App, _creds: &CredentialsFile) -> anyhow::Result<()> {
    use liaison_core::incident::{Category, Place, TimePrecision};
    use liaison_core::{Duration, Precedence};
    let actor = |name: &str| -> anyhow::Result<Actor> {
        let state = app.shared.state.read();
        Actor::of(&state, name).ok_or_else(|| anyhow::anyhow!("the demo charter has no {name}"))
    };
    app.command(actor("us-supervisor")?, Command::ApproveCell)
        .await?;
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
    let first = app.command(a?, cmd).await?;
    if let Some(id) = first.seqs.first() {
        app.command(
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
    app.command(a?, cmd).await?;
    let now = app.shared.clock.now();
    let reported = app
        .command(
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
    if let Some(id) = reported.seqs.first() {
        app.command(
            actor("sy-liaison")?,
            Command::AcknowledgeIncident { incident: *id },
        )
        .await?;
        app.command(
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
