//! Client commands for cooperation proposals and sanctions screening.

use crate::choices::{CounterpartyKind, ListFormat, ReviewOutcome};
use crate::output::{json, receipt_line, when};
use anyhow::{Context, bail};
use base64::Engine;
use clap::Subcommand;
use liaison_api::cooperation::{
    AnswerRequest, CheckAnswer, CheckRequest, CommitmentRequest, ListFileUpload, ListLoadRequest,
    ListLoaded, ListsView, MatchView, MilestoneWire, ProposalFiled, ProposalList, ProposalView,
    ReportRequest, ReviewRequest,
};
use liaison_api::wire::Written;
use liaison_client::Client;
use std::path::PathBuf;

#[derive(Subcommand, Clone)]
pub enum CoopCmd {
    /// File a proposal from a JSON file (title, sector, parties, counterparties, area,
    /// value, currency, documents; docs/cooperation.md).
    Propose {
        /// The proposal (JSON).
        file: PathBuf,
    },
    /// Show a proposal: its state, answers, commitments and (for the supervisor and the
    /// filing party) its screening.
    Show {
        /// The proposal's number.
        id: u64,
    },
    /// List the proposals you may see.
    List,
    /// Accept or decline a proposal for your party.
    Answer {
        /// The proposal's number.
        id: u64,
        /// Accept it.
        #[arg(long, conflicts_with = "decline", required_unless_present = "decline")]
        accept: bool,
        /// Decline it (say why with --text).
        #[arg(long)]
        decline: bool,
        /// What your party says with its answer.
        #[arg(long, default_value = "")]
        text: String,
    },
    /// Commit your party to something on an agreed proposal, with milestones.
    Commit {
        /// The proposal's number.
        id: u64,
        /// What your party commits to.
        #[arg(long)]
        what: String,
        /// A milestone, `DUE=WHAT` with DUE in RFC 3339; repeat for more.
        #[arg(long = "milestone", required = true)]
        milestones: Vec<String>,
    },
    /// Report progress on your party's commitment; --milestone N meets milestone N.
    Report {
        /// The commitment's number.
        commitment: u64,
        /// What was done.
        #[arg(long)]
        text: String,
        /// The milestone this report meets (its index, from 0).
        #[arg(long)]
        milestone: Option<u32>,
        /// The SHA-256 of a document (uploaded with `msg attach`); repeat for more.
        #[arg(long = "document")]
        documents: Vec<String>,
    },
}

#[derive(Subcommand, Clone)]
pub enum ScreeningCmd {
    /// Load a sanctions list (supervisor): it replaces the earlier list of its source,
    /// and every open proposal is screened again.
    Load {
        /// The list's published format.
        #[arg(long)]
        format: ListFormat,
        /// The publication date you expect (YYYY-MM-DD): a file stating another is refused.
        #[arg(long)]
        published: Option<String>,
        /// The list's files (OFAC: sdn.csv, and alt.csv and add.csv when you have them).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The lists in force.
    Lists,
    /// Check a name against the lists in force; nothing is recorded.
    Check {
        /// The name, in any script.
        name: String,
        /// Person or organisation.
        #[arg(long)]
        kind: Option<CounterpartyKind>,
        /// ISO 3166-1 alpha-2 country code.
        #[arg(long)]
        country: Option<String>,
    },
    /// Review a proposal's screening match (supervisor): clear, hold or reject.
    Review {
        /// The proposal's number.
        proposal: u64,
        /// The match's index, as `coop show` lists it.
        index: u32,
        /// The review.
        outcome: ReviewOutcome,
        /// Why (required to hold or reject).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

fn match_line(m: &MatchView) -> String {
    let index = m.index.map(|i| format!("[{i}] ")).unwrap_or_default();
    let status = m
        .status
        .as_deref()
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    format!(
        "{index}{} ~ {} ({} {}) score {:.2}{status}: {}",
        m.our_name, m.listed_name, m.list, m.entry_id, m.score, m.why
    )
}

fn print_proposal(p: &ProposalView) {
    println!(
        "proposal {} [{}] {}: {} (filed by {} at {})",
        p.id,
        p.sector,
        p.state,
        p.title,
        p.filer,
        when(&p.filed_at)
    );
    println!("  parties: {}", p.parties.join(", "));
    if let (Some(v), Some(c)) = (p.value, &p.currency) {
        println!("  value: {v} {c}");
    }
    for (i, c) in p.counterparties.iter().enumerate() {
        let other: Vec<String> = c.names.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!(
            "  counterparty {i}: {} ({}{}){}",
            c.name.as_deref().unwrap_or(""),
            c.kind,
            c.country
                .as_deref()
                .map(|x| format!(", {x}"))
                .unwrap_or_default(),
            if other.is_empty() {
                String::new()
            } else {
                format!(" [{}]", other.join("; "))
            }
        );
    }
    for a in &p.answers {
        println!(
            "  {} {} at {}{}",
            a.party,
            if a.accepted { "accepted" } else { "declined" },
            when(&a.at),
            if a.text.is_empty() {
                String::new()
            } else {
                format!(": {}", a.text)
            }
        );
    }
    if !p.awaiting.is_empty() {
        println!("  awaiting: {}", p.awaiting.join(", "));
    }
    if !p.screening_clear {
        println!("  held at sanctions screening");
    }
    if let Some(s) = &p.screening {
        println!("  screening: {} ({} matches)", s.status, s.matches.len());
        for m in &s.matches {
            println!("    {}", match_line(m));
            for r in &m.reviews {
                println!(
                    "      {} by {} at {}: {}",
                    r.outcome,
                    r.by,
                    when(&r.at),
                    r.reason
                );
            }
        }
    }
    if let Some(c) = p.conflicts.as_object() {
        for (k, v) in c {
            for hit in v.as_array().into_iter().flatten() {
                println!(
                    "  {}: {}",
                    k.trim_end_matches('s'),
                    hit.get("reason").and_then(|r| r.as_str()).unwrap_or("")
                );
            }
        }
    }
    for c in &p.commitments {
        println!("  commitment {} by {}: {}", c.id, c.party, c.what);
        for m in &c.milestones {
            let state = match (&m.met_at, m.escalation_level) {
                (Some(t), _) => format!("met {}", when(t)),
                (None, 0) => "open".into(),
                (None, l) => format!("missed, escalated (level {l})"),
            };
            println!("    [{}] {} due {}: {state}", m.index, m.what, when(&m.due));
        }
    }
}

pub fn run(c: &Client, cmd: CoopCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        CoopCmd::Propose { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let body: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let r: ProposalFiled = c.post("/api/v1/cooperation/proposals", &body)?;
            if as_json {
                return json(&r);
            }
            println!(
                "proposal {} filed; screening {} ({} matches); {}",
                r.id,
                r.screening.status,
                r.screening.matches.len(),
                receipt_line(&r.receipt)
            );
            for m in &r.screening.matches {
                println!("  {}", match_line(m));
            }
            Ok(())
        }
        CoopCmd::Show { id } => {
            let p: ProposalView = c.get(&format!("/api/v1/cooperation/proposals/{id}"))?;
            if as_json {
                return json(&p);
            }
            print_proposal(&p);
            Ok(())
        }
        CoopCmd::List => {
            let l: ProposalList = c.get("/api/v1/cooperation/proposals")?;
            if as_json {
                return json(&l);
            }
            crate::output::none_if_empty(&l.proposals, "proposals");
            for p in &l.proposals {
                println!(
                    "{} [{}] {}{}: {} (by {}, parties {})",
                    p.id,
                    p.sector,
                    p.state,
                    if p.screening_clear {
                        ""
                    } else {
                        ", held at screening"
                    },
                    p.title,
                    p.filer,
                    p.parties.join(",")
                );
            }
            Ok(())
        }
        CoopCmd::Answer {
            id,
            accept,
            decline,
            text,
        } => {
            if accept == decline {
                bail!("say --accept or --decline");
            }
            let r: Written = c.post(
                &format!("/api/v1/cooperation/proposals/{id}/answer"),
                &AnswerRequest { accept, text },
            )?;
            written(&r, as_json, if accept { "accepted" } else { "declined" })
        }
        CoopCmd::Commit {
            id,
            what,
            milestones,
        } => {
            let mut ms = Vec::with_capacity(milestones.len());
            for m in milestones {
                let Some((due, what)) = m.split_once('=') else {
                    bail!("--milestone takes DUE=WHAT, DUE in RFC 3339: {m:?}");
                };
                ms.push(MilestoneWire {
                    what: what.to_string(),
                    due: due.to_string(),
                });
            }
            let r: Written = c.post(
                &format!("/api/v1/cooperation/proposals/{id}/commitments"),
                &CommitmentRequest {
                    party: None,
                    what,
                    milestones: ms,
                },
            )?;
            if as_json {
                return json(&r);
            }
            println!(
                "commitment {} made; {}",
                r.seqs.first().copied().unwrap_or_default(),
                receipt_line(&r.receipt)
            );
            Ok(())
        }
        CoopCmd::Report {
            commitment,
            text,
            milestone,
            documents,
        } => {
            let r: Written = c.post(
                &format!("/api/v1/cooperation/commitments/{commitment}/reports"),
                &ReportRequest {
                    milestone,
                    text,
                    documents,
                },
            )?;
            written(&r, as_json, "progress reported")
        }
    }
}

fn written(r: &Written, as_json: bool, what: &str) -> anyhow::Result<()> {
    if as_json {
        return json(r);
    }
    println!("{what}; {}", receipt_line(&r.receipt));
    Ok(())
}

pub fn run_screening(c: &Client, cmd: ScreeningCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        ScreeningCmd::Load {
            format,
            published,
            files,
        } => {
            let mut uploads = Vec::with_capacity(files.len());
            for f in &files {
                let bytes =
                    std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
                let name = f
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                uploads.push(ListFileUpload {
                    name,
                    content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
                });
            }
            let r: ListLoaded = c.post(
                "/api/v1/screening/lists",
                &ListLoadRequest {
                    format: format.to_string(),
                    published,
                    files: uploads,
                },
            )?;
            if as_json {
                return json(&r);
            }
            println!(
                "list {} ({} entries, published {}) in force; {}",
                r.list.source,
                r.list.entries,
                r.list.published.as_deref().unwrap_or("undated"),
                receipt_line(&r.receipt)
            );
            for (p, n) in &r.new_matches {
                println!("  proposal {p}: {n} new matches, held for review");
            }
            Ok(())
        }
        ScreeningCmd::Lists => {
            let l: ListsView = c.get("/api/v1/screening/lists")?;
            if as_json {
                return json(&l);
            }
            crate::output::none_if_empty(&l.lists, "lists loaded");
            for x in &l.lists {
                println!(
                    "{} ({}): {} entries, published {}, loaded {}",
                    x.source,
                    x.format,
                    x.entries,
                    x.published.as_deref().unwrap_or("undated"),
                    when(&x.loaded_at)
                );
            }
            Ok(())
        }
        ScreeningCmd::Check {
            name,
            kind,
            country,
        } => {
            let r: CheckAnswer = c.post(
                "/api/v1/screening/check",
                &CheckRequest {
                    name,
                    kind: kind.map(|k| k.to_string()),
                    country,
                },
            )?;
            if as_json {
                return json(&r);
            }
            crate::output::none_if_empty(&r.matches, "matches");
            for m in &r.matches {
                println!("{}", match_line(m));
            }
            Ok(())
        }
        ScreeningCmd::Review {
            proposal,
            index,
            outcome,
            reason,
        } => {
            let r: Written = c.post(
                &format!("/api/v1/cooperation/proposals/{proposal}/matches/{index}/review"),
                &ReviewRequest {
                    outcome: outcome.to_string(),
                    reason,
                },
            )?;
            written(
                &r,
                as_json,
                &format!("match {index} of proposal {proposal}: {outcome}"),
            )
        }
    }
}
