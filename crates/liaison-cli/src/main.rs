//! `liaison`: the server, the demo and the command-line client of the joint
//! communication cell. Parses flags into typed commands and hands them to the library
//! crates; holds no domain logic of its own.

mod backup;
mod bench;
mod cell;
mod choices;
mod config;
mod coop;
mod deconflict;
mod failure;
mod hotline;
mod intel;
mod manual;
mod output;
mod progress;
mod record;
mod server;
mod witness;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "liaison",
    version,
    about = "Liaison: the software a joint communication cell runs on",
    after_help = failure::HELP
)]
struct Cli {
    /// Server URL for client commands.
    #[arg(
        long,
        global = true,
        env = "LIAISON_SERVER",
        default_value = "http://127.0.0.1:8470"
    )]
    server: String,
    /// Bearer token of the operator acting.
    #[arg(long, global = true, env = "LIAISON_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file holding the token (its first line), readable by its owner only, so that
    /// the token never appears in a command line or the environment; `--token` wins.
    #[arg(long = "token-file", global = true, env = "LIAISON_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Ed25519 private key (PKCS#8 PEM) that signs every write: the `key` of the
    /// operator's entry in credentials.json, or one registered with `key register`.
    #[arg(long, global = true, env = "LIAISON_KEY")]
    key: Option<PathBuf>,
    /// The party's own key (its `party_key` in credentials-<party>.json, or a file made
    /// by `keygen --party`): the write is also the party's statement, which manages the
    /// party's operators and witness whatever the operator's role. Needs --key.
    #[arg(long = "party-key", global = true, env = "LIAISON_PARTY_KEY")]
    party_key: Option<PathBuf>,
    /// The cell's TLS certificate (PEM), or its issuer's, to trust for an https:// server.
    #[arg(long, global = true, env = "LIAISON_CA")]
    ca: Option<PathBuf>,
    /// The SHA-256 fingerprint of the cell's TLS certificate to trust (64 hex digits, as
    /// `liaison init --hostname` prints and `cell show` reports).
    #[arg(long = "ca-fingerprint", global = true, env = "LIAISON_CA_FINGERPRINT")]
    ca_fingerprint: Option<String>,
    /// The operator's client certificate (PEM, issued by the client CA its party pins
    /// in the charter), presented on every TLS connection. Needs --client-key.
    #[arg(long = "client-cert", global = true, env = "LIAISON_CLIENT_CERT")]
    client_cert: Option<PathBuf>,
    /// The private key (PEM) of --client-cert, readable by its owner only.
    #[arg(long = "client-key", global = true, env = "LIAISON_CLIENT_KEY")]
    client_key: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a cell from a charter file in an empty data directory.
    Init {
        /// The data directory to create the cell in (empty or absent).
        #[arg(long)]
        data: PathBuf,
        /// The charter file (TOML; see docs/charter.md).
        #[arg(long)]
        charter: PathBuf,
        /// Make a TLS certificate for the cell, valid for these host names or addresses
        /// (and localhost, 127.0.0.1, ::1); `serve` then speaks HTTPS with it.
        #[arg(long = "hostname", num_args = 1..)]
        hostnames: Vec<String>,
        /// The log's private key (`PRIVATE+KEY+…`, as `liaison keygen --log ORIGIN`
        /// writes it); required when the charter pins the log key (`[log] key`).
        #[arg(long = "log-key")]
        log_key: Option<PathBuf>,
    },
    /// Serve a cell: HTTPS with the cell's certificate (or --tls-cert/--tls-key); plain
    /// HTTP only on a loopback address or with --insecure-http.
    ///
    /// Every flag has an environment variable (shown with it) and a key of the same
    /// name in the configuration file; a flag wins over its variable, which wins over
    /// the file (docs/operations.md, "Configure").
    Serve {
        /// A TOML configuration file whose keys are the flags' names (`data`, `listen`,
        /// `tls-cert`, …); a key it does not know is an error.
        #[arg(long, env = "LIAISON_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: config::ServeSettings,
    },
    /// Create (or reuse) the demo cell, approve it, seed some history and serve it.
    Demo {
        /// The data directory of the demo cell (reused if it holds one).
        #[arg(long, default_value = "./liaison-demo")]
        data: PathBuf,
        /// The address to listen on.
        #[arg(long, default_value = config::DEFAULT_LISTEN)]
        listen: String,
        /// Serve HTTPS with a cell certificate made for the demo, and print how to pin it.
        #[arg(long)]
        tls: bool,
        #[command(flatten)]
        ops: server::OpsArgs,
    },
    /// Succeed only if the server (--server) is ready: its `/readyz` answers 200. Asks
    /// without credentials; for an https:// server, pin its certificate with --ca.
    Healthcheck,
    /// The cell: show, approve, suspend, resume.
    Cell {
        #[command(subcommand)]
        action: cell::CellCmd,
    },
    /// The record as this operator may read it.
    Events {
        #[command(subcommand)]
        action: cell::EventsCmd,
    },
    /// Operators: list, add, disable, enable, rotate.
    Operator {
        #[command(subcommand)]
        action: cell::OperatorCmd,
    },
    /// Hotline messages: send, ack, list, show, translate, close.
    ///
    /// A message is known by one number, `#N`, to quote and to give to `msg show N` and
    /// `msg ack N`: its entry in the shared record (the `index` of its receipt). Each
    /// channel (`il>sy`) also counts its own messages 1, 2, 3…, so that a missing one
    /// shows as a gap; that count is never needed to find a message.
    Msg {
        #[command(subcommand)]
        action: hotline::MsgCmd,
    },
    /// A live feed of messages, acknowledgements and escalations (bell on FLASH).
    Watch,
    /// Escalations you may see.
    Escalations,
    /// What your party owes, and what it waits for from others, with due times.
    Obligations {
        /// Also those already met.
        #[arg(long)]
        all: bool,
    },
    /// Fetch a receipt for an event of the record you may read (to keep, or to check
    /// offline with `verify-receipt`).
    Receipt {
        /// The event's sequence number (the `index` of the receipt you were given).
        seq: u64,
        /// Write it to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Incidents and disputes.
    Incident {
        #[command(subcommand)]
        action: hotline::IncidentCmd,
    },
    /// Generate an Ed25519 key (PKCS#8 PEM, mode 0600) and its public half.
    Keygen {
        /// The file to write the private key to (it must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Make a party's key instead (signed-note key text), and print the line that
        /// pins it in the charter.
        #[arg(long, value_name = "PARTY", conflicts_with_all = ["witness", "log"])]
        party: Option<String>,
        /// Make a party's witness key and write its verifier key (for the charter's
        /// `witness = …`) to OUT.vkey.
        #[arg(long, value_name = "PARTY", conflicts_with = "log")]
        witness: Option<String>,
        /// Make a log key for this origin (`PRIVATE+KEY+…`, for `init --log-key`) and
        /// write its verifier key (for the charter's `[log] key = …`) to OUT.vkey.
        #[arg(long, value_name = "ORIGIN")]
        log: Option<String>,
    },
    /// Register or revoke your signing key.
    #[command(name = "key")]
    KeyMgmt {
        #[command(subcommand)]
        action: record::KeyCmd,
    },
    /// Check a receipt offline against the log's verifier key (--vkey, or the one in
    /// --credentials or --charter); with --final, also that its checkpoint is
    /// cosigned by the witness of every member party and of the supervisor.
    VerifyReceipt {
        /// The receipt (JSON, as a write or `liaison receipt` gives it).
        file: PathBuf,
        /// The log's verifier key (`name+keyid+base64`).
        #[arg(long)]
        vkey: Option<String>,
        /// The party's credentials file from `liaison init`: the log key, the parties
        /// and their pinned witness keys.
        #[arg(long)]
        credentials: Option<PathBuf>,
        /// The charter file: its `[log] key`, parties and pinned witness keys.
        #[arg(long)]
        charter: Option<PathBuf>,
        /// `PARTY=VKEY`, for a party whose witness key the charter does not pin.
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// Refuse a receipt whose checkpoint is not final.
        #[arg(long = "final")]
        final_: bool,
    },
    /// Follow the log as a party's witness: verify, persist, cosign; compare with other
    /// parties' witnesses; stop on any fork, with the evidence in the state directory.
    /// The log key is never taken from the server: give --credentials, --charter or
    /// --log-key.
    Witness {
        /// The party whose witness this is.
        #[arg(long)]
        party: String,
        /// The witness's Ed25519 private key.
        #[arg(long = "witness-key")]
        witness_key: PathBuf,
        /// The folder where the witness keeps the checkpoints it cosigned and any
        /// evidence of a fork.
        #[arg(long)]
        state: PathBuf,
        /// The party's credentials file from `liaison init` (`credentials-<party>.json`):
        /// the log key and every party's role and pinned witness key.
        #[arg(long)]
        credentials: Option<PathBuf>,
        /// The charter file: its `[log] key`, parties and pinned witness keys.
        #[arg(long)]
        charter: Option<PathBuf>,
        /// The log's verifier key (`name+keyid+base64`), as the cell's founders gave it.
        #[arg(long = "log-key")]
        log_key: Option<String>,
        /// Serve the latest cosigned checkpoint (GET /checkpoint) and the C2SP
        /// tlog-witness protocol (POST /add-checkpoint) on this address, plain HTTP:
        /// everything served is signed.
        #[arg(long)]
        listen: Option<String>,
        /// Another party's witness (its --listen URL) to compare checkpoints with.
        #[arg(long = "peer", num_args = 1..)]
        peers: Vec<String>,
        /// Check and cosign once, then exit.
        #[arg(long)]
        once: bool,
        /// How often to ask the server for its latest checkpoint, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
    /// Audit the whole record: from a server (tiles and entries) or a data directory.
    Verify {
        /// Audit this data directory offline instead of the server.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Copy a cell's data directory into one archive (tar, mode 0600) while its server
    /// runs: the database through SQLite's online backup (one consistent state,
    /// audited as `verify --data` audits before the archive is written), the log key,
    /// the TLS certificate and key, and the other files at the top of DIR.
    Backup {
        /// The data directory of the cell to back up (its server may be running).
        #[arg(long)]
        data: PathBuf,
        /// The archive to write; never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup into an empty or new data directory (or over a cell, whose files
    /// are kept aside in DIR/replaced-TIME). Refused when the log has gone further
    /// than the backup (the cell in DIR, or a checkpoint a party's witness cosigned):
    /// that would roll the log back; --force does it all the same.
    Restore {
        /// The archive `liaison backup` wrote.
        #[arg(long)]
        from: PathBuf,
        /// The data directory to restore into: empty, new, or holding the cell to replace.
        #[arg(long)]
        data: PathBuf,
        /// Restore even if it rolls the log back behind what was recorded or cosigned.
        #[arg(long)]
        force: bool,
        /// A party witness's state directory (`liaison witness --state`): the log must
        /// not go back behind the checkpoint it cosigned.
        #[arg(long = "witness-state", num_args = 1..)]
        witness_states: Vec<PathBuf>,
        /// A party witness's address (`liaison witness --listen`), asked for the
        /// checkpoint it cosigned (`GET /checkpoint`).
        #[arg(long = "witness", num_args = 1..)]
        witnesses: Vec<String>,
    },
    /// Deconfliction: check, notify, answer, list, conflicts, export.
    Deconflict {
        #[command(subcommand)]
        action: deconflict::DeconflictCmd,
    },
    /// Protected sites: import, list, confirm.
    Site {
        #[command(subcommand)]
        action: deconflict::SiteCmd,
    },
    /// Zones: propose, stance, list.
    Zone {
        #[command(subcommand)]
        action: deconflict::ZoneCmd,
    },
    /// Intelligence sharing: submit, list, show, decide, ack, withdraw, pull.
    Intel {
        #[command(subcommand)]
        action: intel::IntelCmd,
    },
    /// Cooperation proposals: propose, show, list, answer, commit, report.
    Coop {
        #[command(subcommand)]
        action: coop::CoopCmd,
    },
    /// Sanctions screening: load lists, check names, review matches.
    Screening {
        #[command(subcommand)]
        action: coop::ScreeningCmd,
    },
    /// Measure: `bench log` (signed durable appends), `bench hotline` (delivery latency).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCmd,
    },
    /// Print a shell completion script (for example `liaison completions bash >
    /// /etc/bash_completion.d/liaison`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write the manual pages, generated from this binary's own flags: `liaison.1` to
    /// standard output, or one page per command into a folder.
    Man {
        /// The folder to write `liaison.1`, `liaison-serve.1`, … into.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a review report for a period as JSON and Markdown.
    Report {
        /// Start (RFC 3339).
        #[arg(long)]
        from: String,
        /// End (RFC 3339).
        #[arg(long)]
        to: String,
        /// Directory for review.json and review.md.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A reader that stops early (`liaison site list | head`) closes the pipe under
/// `println!`, which then panics with a backtrace: exit quietly instead, with the
/// status a shell reports for a program stopped by SIGPIPE (128 + 13), as other
/// command-line tools do. Any other panic is reported as before.
fn quiet_when_stdout_closes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        // std's words for a write to stdout that failed with EPIPE.
        if message.starts_with("failed printing to stdout") && message.contains("os error 32") {
            std::process::exit(141);
        }
        report(info)
    }));
}

/// Parses the command line; a usage error is printed as JSON when `--json` is among the
/// arguments, and as clap prints it otherwise (help and version are not errors).
fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        use clap::error::ErrorKind;
        let wants_json = std::env::args_os().any(|a| a == "--json");
        let informational = matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        if wants_json && !informational {
            // What is wrong and the values allowed, without the usage and hint after.
            let text = e.to_string();
            let message = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let message = message.trim_start_matches("error: ");
            return failure::print(failure::Kind::Usage, "usage", message, true);
        }
        let _ = e.print();
        ExitCode::from(e.exit_code() as u8)
    })
}

fn main() -> ExitCode {
    quiet_when_stdout_closes();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failure::report(&e, json),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let key = cli.key.clone();
    let party_key = cli.party_key.clone();
    let mut trust = cell::trust(cli.ca.as_deref(), cli.ca_fingerprint.as_deref())?;
    cell::client_certificate(
        &mut trust,
        cli.client_cert.as_deref(),
        cli.client_key.as_deref(),
    )?;
    // Client commands sign their submissions when a key is given.
    let client = |server: &str, token: Option<String>| -> anyhow::Result<liaison_client::Client> {
        let c = cell::client(server, token, &trust)?;
        match (&key, &party_key) {
            (Some(k), p) => record::signing_client(c, k, p.as_deref()),
            (None, Some(_)) => Err(anyhow::anyhow!(
                "--party-key signs together with the operator's own key: give --key too"
            )),
            (None, None) => Ok(c),
        }
    };
    let token = match (&cli.token, &cli.token_file) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(path)) => Some(cell::read_token_file(path)?),
        (None, None) => None,
    };
    let (server, json) = (cli.server.clone(), cli.json);
    let with = |f: &dyn Fn(&liaison_client::Client) -> anyhow::Result<()>| {
        client(&server, token.clone()).and_then(|c| f(&c))
    };
    match cli.command {
        Cmd::Init {
            data,
            charter,
            hostnames,
            log_key,
        } => server::init(&data, &charter, &hostnames, log_key.as_deref(), json),
        Cmd::Serve { config, settings } => server::serve(&settings.resolve(config.as_deref())?),
        Cmd::Completions { shell } => manual::completions(Cli::command(), shell),
        Cmd::Man { out } => manual::man(Cli::command(), out.as_deref()),
        Cmd::Demo {
            data,
            listen,
            tls,
            ops,
        } => server::demo(&data, &listen, tls, &ops),
        Cmd::Healthcheck => cell::healthcheck(&server, &trust, json),
        Cmd::Cell { action } => with(&|c| cell::cell(c, action.clone(), json)),
        Cmd::Events { action } => with(&|c| cell::events(c, action.clone(), json)),
        // Credentials for a charter are made offline: no server, no token.
        Cmd::Operator {
            action: action @ cell::OperatorCmd::Credentials { .. },
        } => cell::operator_offline(action, json),
        Cmd::Operator { action } => with(&|c| cell::operator(c, action.clone(), json)),
        Cmd::Msg { action } => with(&|c| hotline::msg(c, action.clone(), json)),
        Cmd::Watch => with(&|c| hotline::watch(c, json)),
        Cmd::Escalations => with(&|c| hotline::escalations(c, json)),
        Cmd::Obligations { all } => with(&|c| hotline::obligations(c, all, json)),
        Cmd::Receipt { seq, out } => with(&|c| cell::receipt(c, seq, out.as_deref())),
        Cmd::Incident { action } => with(&|c| hotline::incident(c, action.clone(), json)),
        Cmd::Report { from, to, out } => with(&|c| hotline::report(c, &from, &to, &out)),
        Cmd::Keygen {
            out,
            party,
            witness,
            log,
        } => match (party, witness, log) {
            (Some(p), _, _) => record::keygen(&out, Some(&p), json),
            (None, Some(party), _) => record::keygen_witness(&out, &party, json),
            (None, None, Some(origin)) => record::keygen_log(&out, &origin, json),
            (None, None, None) => record::keygen(&out, None, json),
        },
        Cmd::KeyMgmt { action } => with(&|c| record::key(c, action.clone(), json)),
        Cmd::VerifyReceipt {
            file,
            vkey,
            credentials,
            charter,
            witnesses,
            final_,
        } => record::verify_receipt(
            &file,
            &record::ReceiptTrust {
                vkey,
                credentials,
                charter,
                witnesses,
                final_,
            },
            json,
        ),
        Cmd::Witness {
            party,
            witness_key,
            state,
            credentials,
            charter,
            log_key,
            listen,
            peers,
            once,
            interval_ms,
        } => client(&server, token.clone()).and_then(|c| {
            witness::witness(
                &c,
                witness::WitnessArgs {
                    party,
                    key: witness_key,
                    state,
                    once,
                    interval_ms,
                    log_key,
                    credentials,
                    charter,
                    listen,
                    peers,
                },
            )
        }),
        Cmd::Bench { what } => bench::run(what),
        Cmd::Deconflict { action } => with(&|c| deconflict::run(c, action.clone(), json)),
        Cmd::Site { action } => with(&|c| deconflict::site(c, action.clone(), json)),
        Cmd::Zone { action } => with(&|c| deconflict::zone(c, action.clone(), json)),
        Cmd::Intel { action } => with(&|c| intel::run(c, action.clone(), json)),
        Cmd::Coop { action } => with(&|c| coop::run(c, action.clone(), json)),
        Cmd::Screening { action } => with(&|c| coop::run_screening(c, action.clone(), json)),
        Cmd::Backup { data, out } => backup::backup(&data, &out, json),
        Cmd::Restore {
            from,
            data,
            force,
            witness_states,
            witnesses,
        } => backup::restore(
            &backup::RestoreArgs {
                from,
                data,
                force,
                witness_states,
                witnesses,
            },
            json,
        ),
        Cmd::Verify { data: Some(d) } => record::verify_data(&d, json),
        Cmd::Verify { data: None } => cell::client(&server, token.clone(), &trust)
            .and_then(|c| record::verify_server(&c, json)),
    }
}
