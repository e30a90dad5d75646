//! Client commands for intelligence sharing.

use crate::choices::{IntelDecision, IntelState, Precedence};
use crate::output::{json, receipt_line};
use anyhow::{Context, bail};
use clap::Subcommand;
use liaison_api::intel::{
    DecisionPreview, DecisionRequest, IntelAckRequest, IntelSubmitted, RecipientsWire,
    SubmissionView, SubmitIntel,
};
use liaison_api::wire::{Me, Written};
use liaison_client::Client;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Subcommand, Clone)]
pub enum IntelCmd {
    /// Submit a STIX 2.1 bundle for the supervisor's decision.
    Submit {
        /// A STIX 2.1 bundle (JSON) whose objects carry their TLP markings.
        file: PathBuf,
        /// Recipient parties (TLP:AMBER needs them), comma-separated.
        #[arg(long, value_delimiter = ',')]
        to: Vec<String>,
        /// Recipient operators (TLP:RED needs them), comma-separated.
        #[arg(long, value_delimiter = ',')]
        to_operators: Vec<String>,
        /// How urgent it is: it sets when the supervisor's decision is due.
        #[arg(long, default_value_t = Precedence::Routine)]
        precedence: Precedence,
    },
    /// List the submissions you may see.
    List {
        /// Only those in this state.
        #[arg(long)]
        state: Option<IntelState>,
    },
    /// Show a submission: its objects, their markings and the decision.
    Show {
        /// The submission's number.
        id: u64,
    },
    /// Decide (supervisor): approve, reject --reason, or redact --remove-object/--remove-property ID:PROP.
    Decide {
        /// The submission's number.
        id: u64,
        /// The decision.
        decision: IntelDecision,
        /// Why: kept with the decision.
        #[arg(long, default_value = "")]
        reason: String,
        /// Leave out this object (its STIX id) from the release; repeat for more.
        #[arg(long)]
        remove_object: Vec<String>,
        /// OBJECT_ID:PROPERTY
        #[arg(long)]
        remove_property: Vec<String>,
        /// Narrow the recipients to these parties.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Show what each recipient would receive (the objects after the redaction, and
        /// who gets them) without deciding; nothing is recorded.
        #[arg(long)]
        dry_run: bool,
    },
    /// Acknowledge a release to your party.
    Ack {
        /// The submission's number.
        id: u64,
        /// A note kept with the acknowledgement.
        #[arg(long)]
        note: Option<String>,
    },
    /// Withdraw a submission of your party.
    Withdraw {
        /// The submission's number.
        id: u64,
    },
    /// Write what was released to you since the last pull as a STIX bundle.
    Pull {
        /// The file to write the STIX bundle to.
        #[arg(long)]
        out: PathBuf,
        /// The folder where the time of each operator's last pull from each server is
        /// kept (one file per server and operator, so operators sharing a folder never
        /// take each other's turn).
        #[arg(long, default_value = ".liaison-pull")]
        state: PathBuf,
    },
}

/// A decision's preview, for the supervisor: who would receive what.
fn print_preview(p: &DecisionPreview) {
    let to = if p.to_operators.is_empty() {
        p.to_parties.join(", ")
    } else {
        format!(
            "{} (operators {})",
            p.to_parties.join(", "),
            p.to_operators.join(", ")
        )
    };
    println!(
        "dry run: {} of submission #{} would release {} object(s) to {} (nothing recorded)",
        p.decision,
        p.submission,
        p.released.len(),
        if to.is_empty() { "nobody" } else { &to }
    );
    for o in &p.removed_objects {
        println!("  withheld {o}");
    }
    for (o, props) in &p.removed_properties {
        println!("  from {o} removed {}", props.join(", "));
    }
    for o in &p.released {
        println!(
            "  each recipient receives {} ({}) sha256 {}",
            o.id, o.version, o.sha256
        );
        print_object(&o.object);
    }
}

fn line(s: &SubmissionView) -> String {
    format!(
        "#{:<5} {:<9} {:<13} {} by {}  {} object(s)  acknowledged by [{}]",
        s.id,
        s.state,
        s.tlp.to_uppercase(),
        s.party,
        s.operator,
        s.objects
            .len()
            .max(s.decision.as_ref().map(|d| d.released.len()).unwrap_or(0)),
        s.acknowledged.keys().cloned().collect::<Vec<_>>().join(",")
    )
}

pub fn run(c: &Client, cmd: IntelCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        IntelCmd::Submit {
            file,
            to,
            to_operators,
            precedence,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let bundle: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let r: IntelSubmitted = c.post(
                "/api/v1/intel/submissions",
                &SubmitIntel {
                    bundle,
                    recipients: to,
                    recipient_operators: to_operators,
                    precedence: Some(precedence.to_string()),
                },
            )?;
            if as_json {
                return json(&r);
            }
            println!(
                "submission {} ({} objects, TLP:{}) held for the supervisor; {}",
                r.id,
                r.objects,
                r.tlp.to_uppercase(),
                receipt_line(&r.receipt)
            );
            Ok(())
        }
        IntelCmd::List { state } => {
            let path = match state {
                Some(s) => format!("/api/v1/intel/submissions?state={s}"),
                None => "/api/v1/intel/submissions".into(),
            };
            let v: Vec<SubmissionView> = c.get(&path)?;
            if as_json {
                return json(&v);
            }
            crate::output::none_if_empty(&v, "submissions");
            for s in &v {
                println!("{}", line(s));
            }
            Ok(())
        }
        IntelCmd::Show { id } => {
            let s: SubmissionView = c.get(&format!("/api/v1/intel/submissions/{id}"))?;
            if as_json {
                return json(&s);
            }
            println!("{}", line(&s));
            for o in &s.objects {
                println!("  submitted {} ({})", o.id, o.version);
                if let Some(obj) = &o.object {
                    print_object(obj);
                }
            }
            if let Some(d) = &s.decision {
                println!(
                    "  {} by {} at {} to [{}]{}",
                    d.decision,
                    d.by,
                    crate::output::when(&d.at),
                    d.to_parties.join(","),
                    if d.reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", d.reason)
                    }
                );
                for o in &d.released {
                    println!("  released {} ({})", o.id, o.version);
                }
            }
            Ok(())
        }
        IntelCmd::Decide {
            id,
            decision,
            reason,
            remove_object,
            remove_property,
            only,
            dry_run,
        } => {
            let mut props: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for p in remove_property {
                let (o, prop) = p
                    .rsplit_once(':')
                    .context("--remove-property is OBJECT_ID:PROPERTY")?;
                props
                    .entry(o.to_string())
                    .or_default()
                    .push(prop.to_string());
            }
            let recipients = (!only.is_empty()).then(|| RecipientsWire {
                parties: only,
                operators: Vec::new(),
            });
            let request = DecisionRequest {
                decision: decision.to_string(),
                reason,
                remove_objects: remove_object,
                remove_properties: props,
                recipients,
            };
            if dry_run {
                let p: DecisionPreview = c.post(
                    &format!("/api/v1/intel/submissions/{id}/decision/preview"),
                    &request,
                )?;
                if as_json {
                    return json(&p);
                }
                print_preview(&p);
                return Ok(());
            }
            let w: Written = c.post(
                &format!("/api/v1/intel/submissions/{id}/decision"),
                &request,
            )?;
            if as_json {
                return json(&w);
            }
            println!("decided; {}", receipt_line(&w.receipt));
            Ok(())
        }
        IntelCmd::Ack { id, note } => {
            let w: Written = c.post(
                &format!("/api/v1/intel/submissions/{id}/ack"),
                &IntelAckRequest { note },
            )?;
            if as_json {
                return json(&w);
            }
            println!("acknowledged; {}", receipt_line(&w.receipt));
            Ok(())
        }
        IntelCmd::Withdraw { id } => {
            let w: Written = c.post(
                &format!("/api/v1/intel/submissions/{id}/withdraw"),
                &serde_json::json!({}),
            )?;
            if as_json {
                return json(&w);
            }
            println!(
                "withdrawn; revoked versions sent to every inbox that had it; {}",
                receipt_line(&w.receipt)
            );
            Ok(())
        }
        IntelCmd::Pull { out, state } => {
            let me: Me = c.get("/api/v1/me")?;
            if state.is_file() {
                bail!(
                    "{} is a file; --state names the folder that keeps one cursor per server and operator",
                    state.display()
                );
            }
            std::fs::create_dir_all(&state)
                .with_context(|| format!("cannot create {}", state.display()))?;
            let state = state.join(cursor_name(c.base(), &me.operator));
            let since = std::fs::read_to_string(&state)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            let mut objects: Vec<serde_json::Value> = Vec::new();
            let mut last = since.clone();
            let mut next: Option<String> = None;
            loop {
                let mut path = format!(
                    "/taxii2/{}/collections/inbox/objects/?limit=1000&match[version]=all",
                    me.party
                );
                if let Some(n) = &next {
                    path.push_str(&format!("&next={n}"));
                } else if let Some(s) = &since {
                    path.push_str(&format!("&added_after={s}"));
                }
                let env: serde_json::Value = c.get(&path)?;
                if let Some(a) = env["objects"].as_array() {
                    objects.extend(a.iter().cloned());
                }
                match env["next"].as_str() {
                    Some(n) if env["more"] == true => next = Some(n.to_string()),
                    _ => break,
                }
            }
            // The manifest tells the date the last object was added.
            let man: serde_json::Value = c.get(&format!(
                "/taxii2/{}/collections/inbox/manifest/?match[version]=all&limit=1000{}",
                me.party,
                since
                    .as_ref()
                    .map(|s| format!("&added_after={s}"))
                    .unwrap_or_default()
            ))?;
            if let Some(d) = man["objects"]
                .as_array()
                .and_then(|a| a.last())
                .and_then(|o| o["date_added"].as_str())
            {
                last = Some(d.to_string());
            }
            let bundle = serde_json::json!({"type": "bundle", "id": format!("bundle--{}", uuid_like()), "objects": objects});
            std::fs::write(&out, serde_json::to_vec_pretty(&bundle)?)?;
            if let Some(l) = last {
                std::fs::write(&state, l)?;
            }
            println!(
                "{} new object(s) written to {}",
                bundle["objects"].as_array().map(|a| a.len()).unwrap_or(0),
                out.display()
            );
            Ok(())
        }
    }
}

/// The fields of a STIX object a decision turns on, each on its own line: its markings
/// first, then what it says.
fn print_object(o: &serde_json::Value) {
    let markings: Vec<&str> = o["object_marking_refs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str())
                .map(marking_name)
                .collect()
        })
        .unwrap_or_default();
    println!(
        "      markings: {}",
        if markings.is_empty() {
            "none (the charter's default applies)".to_string()
        } else {
            markings.join(", ")
        }
    );
    if let Some(fields) = o.as_object() {
        for (k, v) in fields {
            if matches!(
                k.as_str(),
                "type" | "id" | "spec_version" | "created" | "modified" | "object_marking_refs"
            ) {
                continue;
            }
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut cut: String = text.chars().take(300).collect();
            if cut.len() < text.len() {
                cut.push('…');
            }
            println!("      {k}: {cut}");
        }
    }
}

/// A TLP marking definition's name, or its id when it is another marking.
fn marking_name(id: &str) -> &str {
    liaison_stix::tlp::Tlp::from_marking(id)
        .map(|t| t.name())
        .unwrap_or(id)
}

/// The cursor file of one operator on one server: readable, and safe as a file name.
fn cursor_name(server: &str, operator: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let server = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    format!("{}@{}", clean(operator), clean(server))
}

fn uuid_like() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
