//! `liaison`: the server, the demo and the command-line client of the joint
//! communication cell. Parses flags into typed commands and hands them to the library
//! crates; holds no domain logic of its own.

mod cell;
mod hotline;
mod output;
mod server;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "liaison",
    version,
    about = "Liaison: the software a joint communication cell runs on"
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
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        charter: PathBuf,
    },
    /// Serve a cell.
    Serve {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8470")]
        listen: String,
    },
    /// Create (or reuse) the demo cell, approve it, seed some history and serve it.
    Demo {
        #[arg(long, default_value = "./liaison-demo")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8470")]
        listen: String,
    },
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
    Msg {
        #[command(subcommand)]
        action: hotline::MsgCmd,
    },
    /// A live feed of messages, acknowledgements and escalations (bell on FLASH).
    Watch,
    /// Escalations you may see.
    Escalations,
    /// Incidents and disputes.
    Incident {
        #[command(subcommand)]
        action: hotline::IncidentCmd,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result =
        match cli.command {
            Cmd::Init { data, charter } => server::init(&data, &charter, cli.json),
            Cmd::Serve { data, listen } => server::serve(&data, &listen),
            Cmd::Demo { data, listen } => server::demo(&data, &listen),
            Cmd::Cell { action } => {
                cell::client(&cli.server, cli.token).and_then(|c| cell::cell(&c, action, cli.json))
            }
            Cmd::Events { action } => cell::client(&cli.server, cli.token)
                .and_then(|c| cell::events(&c, action, cli.json)),
            Cmd::Operator { action } => cell::client(&cli.server, cli.token)
                .and_then(|c| cell::operator(&c, action, cli.json)),
            Cmd::Msg { action } => cell::client(&cli.server, cli.token)
                .and_then(|c| hotline::msg(&c, action, cli.json)),
            Cmd::Watch => {
                cell::client(&cli.server, cli.token).and_then(|c| hotline::watch(&c, cli.json))
            }
            Cmd::Escalations => cell::client(&cli.server, cli.token)
                .and_then(|c| hotline::escalations(&c, cli.json)),
            Cmd::Incident { action } => cell::client(&cli.server, cli.token)
                .and_then(|c| hotline::incident(&c, action, cli.json)),
            Cmd::Report { from, to, out } => cell::client(&cli.server, cli.token)
                .and_then(|c| hotline::report(&c, &from, &to, &out)),
        };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
