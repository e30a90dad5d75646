//! Client commands for the hotline, the live watch, incidents and review reports.

use crate::choices::{
    IncidentCategory, IncidentStatus, Mailbox, Outcome, Precedence, TimePrecision,
};
use crate::output::{json, receipt_line, when};
use anyhow::{Context, bail};
use clap::Subcommand;
use liaison_api::hotline::{
    AccountRequest, AckRequest, AttachmentStored, AttachmentWire, CloseIncidentRequest,
    CorrectIncidentRequest, EscalationView, FindingRequest, IncidentReported, IncidentView,
    InfoRequestBody, MessageSent, MessageView, ObligationView, ReportIncident, SendMessage,
    WithdrawIncidentRequest,
};
use liaison_api::review::ReviewReport;
use liaison_api::wire::{EventView, Me, Written};
use liaison_client::Client;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand, Clone)]
pub enum MsgCmd {
    /// Send a message to one or more parties.
    Send {
        /// Recipient party ids, comma-separated (e.g. sy or sy,undof).
        #[arg(long, value_delimiter = ',')]
        to: Vec<String>,
        /// How urgent it is: it sets when an acknowledgement is due.
        #[arg(long, default_value_t = Precedence::Routine)]
        precedence: Precedence,
        /// The subject line.
        #[arg(long)]
        subject: String,
        /// The text; `-` reads it from standard input.
        #[arg(long)]
        body: String,
        /// The language you wrote in (ar, he, en, ...).
        #[arg(long, default_value = "en")]
        language: String,
        /// A FLASH emergency: it stays open until its author cancels it or the supervisor
        /// closes it (`msg close`).
        #[arg(long)]
        emergency: bool,
        /// A test message, acknowledged like any other.
        #[arg(long)]
        test: bool,
        /// Files to attach.
        #[arg(long)]
        attach: Vec<PathBuf>,
    },
    /// Acknowledge a message, optionally with a reply.
    Ack {
        /// The message's number (as `msg list` shows it).
        id: u64,
        /// A reply sent with the acknowledgement.
        #[arg(long)]
        reply: Option<String>,
    },
    /// List messages (fetching marks them delivered).
    List {
        /// Which messages.
        #[arg(long = "box", default_value_t = Mailbox::All)]
        mailbox: Mailbox,
    },
    /// Open one message: its text and every recipient's state. Opening a message
    /// addressed to your party records that it was read (your signed statement); the
    /// live feed (`watch`) and lists record only its delivery.
    #[command(visible_alias = "read")]
    Show {
        /// The message's number (as `msg list` shows it).
        id: u64,
    },
    /// Add a translation beside the original.
    Translate {
        /// The message's number (as `msg list` shows it).
        id: u64,
        /// The language of the translation (ar, he, en, ...).
        #[arg(long)]
        language: String,
        /// The translated text.
        #[arg(long)]
        text: String,
    },
    /// Cancel (author) or close (supervisor) an emergency.
    Close {
        /// The message's number (as `msg list` shows it).
        id: u64,
        /// Why: kept in the record.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Subcommand, Clone)]
pub enum IncidentCmd {
    /// Report an incident.
    Report {
        /// What kind of incident it is.
        #[arg(long)]
        category: IncidentCategory,
        /// When it happened (RFC 3339).
        #[arg(long)]
        when: String,
        /// How precisely the time is known.
        #[arg(long, default_value_t = TimePrecision::Exact)]
        precision: TimePrecision,
        /// lon,lat of the place.
        #[arg(long, allow_hyphen_values = true)]
        at: String,
        /// How far off the place may be, in metres.
        #[arg(long, default_value_t = 0.0)]
        uncertainty_m: f64,
        /// What happened, in your words.
        #[arg(long)]
        description: String,
        /// The party it is attributed to, or `unknown`.
        #[arg(long, default_value = "unknown")]
        against: String,
        /// How urgent it is: it sets when an acknowledgement is due.
        #[arg(long, default_value_t = Precedence::Immediate)]
        precedence: Precedence,
        /// A message, notification or other incident it relates to (repeat for more).
        #[arg(long)]
        link: Vec<String>,
    },
    /// Acknowledge an incident attributed to your party.
    Ack {
        /// The incident's number (as `incident list` shows it).
        id: u64,
    },
    /// Give your party's account (or a further submission).
    Respond {
        /// The incident's number (as `incident list` shows it).
        id: u64,
        /// Your party's account.
        #[arg(long)]
        text: String,
        /// "Not ours": disown the forces involved.
        #[arg(long)]
        not_ours: bool,
        /// The request-for-information number this answers.
        #[arg(long)]
        answers: Option<u32>,
    },
    /// Ask a party for information, with a deadline (supervisor).
    RequestInfo {
        /// The incident's number (as `incident list` shows it).
        id: u64,
        /// The party asked.
        #[arg(long)]
        party: String,
        /// What you ask.
        #[arg(long)]
        question: String,
        /// How long it has to answer (30m, 3h, 2d).
        #[arg(long, default_value = "3h")]
        within: String,
    },
    /// Correct what your party reported: the category, the time, the place (the earlier
    /// values stay in the record).
    Correct {
        /// The incident's number (as `incident list` shows it).
        id: u64,
        /// Why: kept with the correction.
        #[arg(long)]
        reason: String,
        /// The corrected category.
        #[arg(long)]
        category: Option<IncidentCategory>,
        /// When it happened (RFC 3339).
        #[arg(long)]
        when: Option<String>,
        /// How precisely the time is known.
        #[arg(long)]
        precision: Option<TimePrecision>,
        /// lon,lat of the place.
        #[arg(long, allow_hyphen_values = true)]
        at: Option<String>,
        /// How far off the place may be, in metres.
        #[arg(long)]
        uncertainty_m: Option<f64>,
    },
    /// Withdraw your party's report (what was said stays in the record; nothing more
    /// is owed on it).
    Withdraw {
        /// The incident's number (as `incident list` shows it).
        id: u64,
        /// Why: kept with the withdrawal.
        #[arg(long)]
        reason: String,
    },
    /// Record a finding (supervisor).
    Find {
        /// The incident's number (as `incident list` shows it).
        id: u64,
        /// The finding.
        #[arg(long)]
        text: String,
    },
    /// Close with an outcome and agreed measures (supervisor).
    Close {
        /// The incident's number (as `incident list` shows it).
        id: u64,
        /// How the incident ends.
        #[arg(long)]
        outcome: Outcome,
        /// The measures agreed.
        #[arg(long, default_value = "")]
        measures: String,
    },
    /// List incidents you may read.
    List {
        /// Only open or only closed ones; both without.
        #[arg(long)]
        status: Option<IncidentStatus>,
    },
    /// Show one incident: its accounts, corrections, findings and deadlines.
    Show {
        /// The incident's number (as `incident list` shows it).
        id: u64,
    },
}

fn done(as_json: bool, w: Written, what: &str) -> anyhow::Result<()> {
    if as_json {
        return json(&w);
    }
    println!("{what}; {}", receipt_line(&w.receipt));
    Ok(())
}

fn upload(c: &Client, path: &PathBuf) -> anyhow::Result<AttachmentWire> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let stored: AttachmentStored = c.post_raw(
        "/api/v1/attachments",
        "application/octet-stream",
        &[],
        bytes,
    )?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok(AttachmentWire {
        sha256: stored.sha256,
        name,
        size: stored.size,
        media_type: "application/octet-stream".into(),
    })
}

pub fn message_line(m: &MessageView) -> String {
    let states: Vec<String> = m
        .recipients
        .iter()
        .map(|r| {
            let esc = if r.escalation_level > 0 {
                format!(" ESCALATED×{}", r.escalation_level)
            } else {
                String::new()
            };
            format!("{}:{}{esc}", r.party, r.state)
        })
        .collect();
    let flag = if m.emergency && m.open {
        " EMERGENCY"
    } else if m.test {
        " TEST"
    } else {
        ""
    };
    format!(
        "#{:<5} {:<9} {:<12} {} → {}  [{}]{flag}  {}",
        m.id,
        m.precedence.to_uppercase(),
        format!("{}/{}", m.channel, m.seq),
        m.from,
        m.to.join(","),
        states.join(" "),
        m.subject
    )
}

pub fn msg(c: &Client, cmd: MsgCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        MsgCmd::Send {
            to,
            precedence,
            subject,
            body,
            language,
            emergency,
            test,
            attach,
        } => {
            let body = if body == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                s
            } else {
                body
            };
            let attachments = attach
                .iter()
                .map(|p| upload(c, p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let req = SendMessage {
                to,
                precedence: precedence.to_string(),
                subject,
                body,
                language: Some(language),
                emergency,
                test,
                attachments,
            };
            let r: MessageSent = c.post("/api/v1/messages", &req)?;
            if as_json {
                return json(&r);
            }
            println!(
                "message #{} sent (number {} on channel {}, so gaps show); {}",
                r.id,
                r.seq,
                r.channel,
                receipt_line(&r.receipt)
            );
            Ok(())
        }
        MsgCmd::Ack { id, reply } => done(
            as_json,
            c.post(&format!("/api/v1/messages/{id}/ack"), &AckRequest { reply })?,
            "acknowledged",
        ),
        MsgCmd::List { mailbox } => {
            let v: Vec<MessageView> =
                c.get(&format!("/api/v1/messages?box={mailbox}&limit=500"))?;
            if as_json {
                return json(&v);
            }
            crate::output::none_if_empty(&v, "messages");
            let me: Me = c.get("/api/v1/me")?;
            for m in &v {
                // What the caller's party still owes stands out.
                let owed = m
                    .recipients
                    .iter()
                    .any(|r| r.party == me.party && r.acknowledged_at.is_none());
                let mark = if owed { "  ← waiting on you" } else { "" };
                println!("{}{mark}", message_line(m));
            }
            Ok(())
        }
        MsgCmd::Show { id } => {
            let m: MessageView = c.get(&format!("/api/v1/messages/{id}"))?;
            let me: Me = c.get("/api/v1/me")?;
            let unread = m
                .recipients
                .iter()
                .any(|r| r.party == me.party && r.read_at.is_none());
            // A person opened it: say so, once.
            let m: MessageView = if unread {
                c.post(
                    &format!("/api/v1/messages/{id}/read"),
                    &serde_json::json!({}),
                )?
            } else {
                m
            };
            if as_json {
                return json(&m);
            }
            println!("{}", message_line(&m));
            println!(
                "from {} ({}) at {} · language {}",
                m.author,
                m.from,
                when(&m.sent_at),
                m.language
            );
            println!("\n{}\n", m.body);
            for t in &m.translations {
                println!(
                    "[translation {} by {} ({}) at {}]\n{}\n",
                    t.language,
                    t.by,
                    t.party,
                    when(&t.at),
                    t.text
                );
            }
            for r in &m.recipients {
                println!(
                    "  {:<6} {:<12} due {}  delivered {}  read {}  acknowledged {}{}",
                    r.party,
                    r.state,
                    r.due_at.as_deref().map_or("-".into(), when),
                    r.delivered_at.as_deref().map_or("-".into(), when),
                    r.read_at.as_deref().map_or("-".into(), when),
                    r.acknowledged_at.as_deref().map_or("-".into(), when),
                    r.reply
                        .as_ref()
                        .map(|x| format!("  reply: {x}"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        MsgCmd::Translate { id, language, text } => done(
            as_json,
            c.post(
                &format!("/api/v1/messages/{id}/translations"),
                &liaison_api::hotline::TranslationRequest { language, text },
            )?,
            "translation recorded",
        ),
        MsgCmd::Close { id, reason } => done(
            as_json,
            c.post(
                &format!("/api/v1/messages/{id}/close"),
                &liaison_api::hotline::ReasonRequest { reason },
            )?,
            "emergency closed",
        ),
    }
}

/// Follows the record live, printing messages, acknowledgements and escalations, ringing
/// the terminal bell for FLASH. Detects gaps in each channel's numbering and refetches.
pub fn watch(c: &Client, as_json: bool) -> anyhow::Result<()> {
    let me: Me = c.get("/api/v1/me")?;
    eprintln!("watching as {} ({}); Ctrl-C to stop", me.operator, me.party);
    let mut last: Option<String> = None;
    let mut channel_seq: BTreeMap<String, u64> = BTreeMap::new();
    let mut attempts = 0u32;
    loop {
        let r = c.stream("/api/v1/events", last.as_deref(), |m| {
            let Ok(e) = serde_json::from_str::<EventView>(&m.data) else {
                return true;
            };
            if as_json {
                println!("{}", m.data);
                return true;
            }
            let _ = watch_line(c, &e, &mut channel_seq);
            let _ = std::io::stdout().flush();
            true
        });
        match r {
            Ok(l) => {
                last = l.or(last);
                attempts = 0;
            }
            Err(e) if e.is_transport() && attempts < 600 => {
                attempts += 1;
                eprintln!(
                    "connection lost ({e}); reconnecting from event {}",
                    last.as_deref().unwrap_or("-")
                );
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn watch_line(
    c: &Client,
    e: &EventView,
    channel_seq: &mut BTreeMap<String, u64>,
) -> anyhow::Result<()> {
    let mut bell = "";
    let subject = match e.kind.as_str() {
        "message_sent" => {
            let channel = e.data["channel"].as_str().unwrap_or_default().to_string();
            let seq = e.data["channel_seq"].as_u64().unwrap_or(0);
            if let Some(prev) = channel_seq.get(&channel)
                && seq > prev + 1
            {
                println!(
                    "!! gap on channel {channel}: numbers {}..{} missing, refetching",
                    prev + 1,
                    seq - 1
                );
                let list: Vec<MessageView> = c.get("/api/v1/messages?limit=500")?;
                for m in list
                    .iter()
                    .filter(|m| m.channel == channel && m.seq > *prev && m.seq < seq)
                {
                    println!("{}", message_line(m));
                }
            }
            channel_seq.insert(channel, seq);
            let m: MessageView = c.get(&format!("/api/v1/messages/{}", e.seq))?;
            if m.precedence == "flash" {
                bell = "\x07";
            }
            message_line(&m)
        }
        "message_acknowledged" => format!(
            "message #{} acknowledged{}",
            e.data["message"],
            e.data["reply"]
                .as_str()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        "escalated" => {
            bell = "\x07";
            format!(
                "ESCALATION level {}: {} owes {} on {} (due {})",
                e.data["level"],
                e.data["party"].as_str().unwrap_or("?"),
                e.data["duty"].as_str().unwrap_or("?"),
                e.data["subject"].as_str().unwrap_or("?"),
                e.data["due_at"]
                    .as_i64()
                    .map(crate::output::when_micros)
                    .unwrap_or_else(|| "?".into())
            )
        }
        _ => crate::output::data_summary(&e.data, 160),
    };
    println!("{}", watch_layout(e, bell, &subject));
    Ok(())
}

/// The one layout of `watch`: time, kind, the event's number, who, and what it is about.
fn watch_layout(e: &EventView, bell: &str, subject: &str) -> String {
    format!(
        "{bell}{}  {:<22} #{:<6} {}/{}  {subject}",
        when(&e.at),
        e.kind,
        e.seq,
        e.author.party,
        e.author.operator
    )
}

pub fn incident(c: &Client, cmd: IncidentCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        IncidentCmd::Report {
            category,
            when,
            precision,
            at,
            uncertainty_m,
            description,
            against,
            precedence,
            link,
        } => {
            let (lon, lat) = lon_lat(&at)?;
            let req = ReportIncident {
                category: category.to_string(),
                when,
                precision: precision.to_string(),
                r#where: serde_json::json!({"type": "Point", "coordinates": [lon, lat]}),
                uncertainty_m,
                description,
                attributed_to: against,
                precedence: precedence.to_string(),
                links: link,
                attachments: Vec::new(),
            };
            let r: IncidentReported = c.post("/api/v1/incidents", &req)?;
            if as_json {
                return json(&r);
            }
            println!("incident {} reported; {}", r.id, receipt_line(&r.receipt));
            Ok(())
        }
        IncidentCmd::Ack { id } => done(
            as_json,
            c.post(
                &format!("/api/v1/incidents/{id}/ack"),
                &serde_json::json!({}),
            )?,
            "incident acknowledged",
        ),
        IncidentCmd::Respond {
            id,
            text,
            not_ours,
            answers,
        } => done(
            as_json,
            c.post(
                &format!("/api/v1/incidents/{id}/accounts"),
                &AccountRequest {
                    text,
                    disowned: not_ours,
                    answers,
                    attachments: Vec::new(),
                },
            )?,
            "account recorded",
        ),
        IncidentCmd::RequestInfo {
            id,
            party,
            question,
            within,
        } => done(
            as_json,
            c.post(
                &format!("/api/v1/incidents/{id}/information-requests"),
                &InfoRequestBody {
                    party,
                    question,
                    within,
                },
            )?,
            "information requested",
        ),
        IncidentCmd::Find { id, text } => done(
            as_json,
            c.post(
                &format!("/api/v1/incidents/{id}/findings"),
                &FindingRequest { text },
            )?,
            "finding recorded",
        ),
        IncidentCmd::Close {
            id,
            outcome,
            measures,
        } => done(
            as_json,
            c.post(
                &format!("/api/v1/incidents/{id}/close"),
                &CloseIncidentRequest {
                    outcome: outcome.to_string(),
                    measures,
                },
            )?,
            "incident closed",
        ),
        IncidentCmd::List { status } => {
            let path = match status {
                Some(s) => format!("/api/v1/incidents?status={s}"),
                None => "/api/v1/incidents".into(),
            };
            let v: Vec<IncidentView> = c.get(&path)?;
            if as_json {
                return json(&v);
            }
            crate::output::none_if_empty(&v, "incidents");
            for i in &v {
                println!(
                    "#{:<5} {:<10} {:<24} {} → {}  {}",
                    i.id,
                    i.status,
                    i.category,
                    i.reporter_party,
                    i.attributed_to,
                    i.description.chars().take(60).collect::<String>()
                );
            }
            Ok(())
        }
        IncidentCmd::Correct {
            id,
            reason,
            category,
            when,
            precision,
            at,
            uncertainty_m,
        } => {
            let r#where =
                at.as_deref().map(lon_lat).transpose()?.map(
                    |(lon, lat)| serde_json::json!({"type": "Point", "coordinates": [lon, lat]}),
                );
            done(
                as_json,
                c.post(
                    &format!("/api/v1/incidents/{id}/corrections"),
                    &CorrectIncidentRequest {
                        category: category.map(|c| c.to_string()),
                        when,
                        precision: precision.map(|p| p.to_string()),
                        r#where,
                        uncertainty_m,
                        reason,
                    },
                )?,
                "corrected (the earlier values stay in the record)",
            )
        }
        IncidentCmd::Withdraw { id, reason } => done(
            as_json,
            c.post(
                &format!("/api/v1/incidents/{id}/withdraw"),
                &WithdrawIncidentRequest { reason },
            )?,
            "withdrawn",
        ),
        IncidentCmd::Show { id } => {
            let i: IncidentView = c.get(&format!("/api/v1/incidents/{id}"))?;
            if as_json {
                return json(&i);
            }
            println!(
                "incident #{} [{}] {} · {} precision {} · reported by {} ({}) against {}",
                i.id,
                i.status,
                i.category,
                when(&i.when),
                i.precision,
                i.reporter,
                i.reporter_party,
                i.attributed_to
            );
            let kind = i.r#where["type"].as_str().unwrap_or("place");
            println!(
                "where: MGRS {} ({} {}) ± {} m\n\n{}\n",
                crate::deconflict::geometry_mgrs(&i.r#where).unwrap_or_else(|| "-".into()),
                if kind == "Point" {
                    "point"
                } else {
                    "area from"
                },
                serde_json::to_string(&i.r#where["coordinates"]).unwrap_or_default(),
                i.uncertainty_m,
                i.description
            );
            for k in &i.corrections {
                let mut was = Vec::new();
                if let Some(c) = &k.previous_category {
                    was.push(format!("category {c}"));
                }
                if let Some(w) = &k.previous_when {
                    was.push(format!("time {}", when(w)));
                }
                if let Some(w) = &k.previous_where {
                    was.push(format!(
                        "place MGRS {}",
                        crate::deconflict::geometry_mgrs(w).unwrap_or_else(|| w.to_string())
                    ));
                }
                println!(
                    "corrected by {} at {} ({}); before: {}",
                    k.by,
                    when(&k.at),
                    k.reason,
                    was.join(", ")
                );
            }
            if let Some(r) = &i.withdrawn_reason {
                println!("WITHDRAWN by the reporting party: {r}");
            }
            for a in &i.accounts {
                let tag = if a.disowned { " — NOT OURS" } else { "" };
                println!(
                    "[{} {} at {}{tag}] {}",
                    a.party,
                    a.operator,
                    when(&a.at),
                    a.text
                );
            }
            for r in &i.information_requests {
                println!(
                    "request {} to {} (within {}): {} — {}",
                    r.number,
                    r.party,
                    r.within,
                    r.question,
                    r.answered_at.as_deref().map_or("unanswered".into(), when)
                );
            }
            for f in &i.findings {
                println!("finding by {} at {}: {}", f.by, when(&f.at), f.text);
            }
            for o in &i.obligations {
                println!(
                    "deadline: {} owes {} by {} (level {}){}",
                    o.party,
                    o.duty,
                    when(&o.due_at),
                    o.level,
                    if o.met_at.is_some() { " met" } else { "" }
                );
            }
            Ok(())
        }
    }
}

/// `--at lon,lat`, longitude first.
fn lon_lat(at: &str) -> anyhow::Result<(f64, f64)> {
    let (lon, lat) = at.split_once(',').context("--at is lon,lat")?;
    let lon: f64 = lon.trim().parse().context("--at longitude")?;
    let lat: f64 = lat.trim().parse().context("--at latitude")?;
    Ok((lon, lat))
}

pub fn escalations(c: &Client, as_json: bool) -> anyhow::Result<()> {
    let v: Vec<EscalationView> = c.get("/api/v1/escalations")?;
    if as_json {
        return json(&v);
    }
    if v.is_empty() {
        println!("no escalations");
    }
    for e in v {
        println!(
            "{}  level {}  {} owes {} on {} (was due {})",
            when(&e.at),
            e.level,
            e.party,
            e.duty.replace('_', " "),
            if e.about.is_empty() {
                &e.subject
            } else {
                &e.about
            },
            when(&e.due_at)
        );
    }
    Ok(())
}

/// What the caller's party owes first (soonest due first), then what it waits for.
pub fn obligations(c: &Client, all: bool, as_json: bool) -> anyhow::Result<()> {
    let me: Me = c.get("/api/v1/me")?;
    let mut v: Vec<ObligationView> = c.get(if all {
        "/api/v1/obligations?all=true"
    } else {
        "/api/v1/obligations"
    })?;
    if as_json {
        return json(&v);
    }
    v.sort_by(|a, b| a.due_at.cmp(&b.due_at));
    let (owed, awaited): (Vec<_>, Vec<_>) = v.iter().partition(|o| o.party == me.party);
    let line = |o: &ObligationView| {
        let state = match &o.met_at {
            Some(m) => format!("met {}", when(m)),
            None if o.level > 0 => format!("OVERDUE, escalated ×{}", o.level),
            None => "open".to_string(),
        };
        format!(
            "  {:<22} {:<40} due {}  {}",
            o.duty.replace('_', " "),
            if o.about.is_empty() {
                &o.subject
            } else {
                &o.about
            },
            when(&o.due_at),
            state
        )
    };
    println!("{} owes:", me.party);
    if owed.is_empty() {
        println!("  nothing");
    }
    for o in owed {
        println!("{}  (to {})", line(o), o.waiting.join(","));
    }
    println!("waiting on others:");
    if awaited.is_empty() {
        println!("  nothing");
    }
    for o in awaited {
        println!("{}  (owed by {})", line(o), o.party);
    }
    Ok(())
}

pub fn report(c: &Client, from: &str, to: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let q = |s: &str| s.replace('+', "%2B").replace(':', "%3A");
    let r: ReviewReport = c.get(&format!(
        "/api/v1/reports/review?from={}&to={}",
        q(from),
        q(to)
    ))?;
    if out.as_os_str().is_empty() {
        bail!("--out needs a path");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let json_path = out.join("review.json");
    let md_path = out.join("review.md");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&r)?)?;
    std::fs::write(&md_path, r.to_markdown())?;
    println!("wrote {} and {}", json_path.display(), md_path.display());
    Ok(())
}
