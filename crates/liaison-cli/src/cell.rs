//! Client commands for the cell, the record and operators.

use crate::choices::OperatorRole;
use crate::output::{json, receipt_line};
use anyhow::{Context, bail};
use clap::Subcommand;
use liaison_api::wire::{
    AddOperatorRequest, CellView, EventView, Health, OperatorIssued, OperatorView, SuspendRequest,
    Written,
};
use liaison_client::{Client, Trust};

pub fn client(server: &str, token: Option<String>, trust: &Trust) -> anyhow::Result<Client> {
    if token.is_none() {
        bail!(
            "no token: pass --token or set LIAISON_TOKEN (tokens are in the data directory's credentials.json)"
        );
    }
    Ok(Client::with_trust(server, token, trust)?)
}

/// `liaison healthcheck`: asks the server's `/readyz`, without credentials, and succeeds
/// only when it answers 200 (the record replayed, the writer well, the store answering):
/// the container image's health check, or any monitor's.
pub fn healthcheck(server: &str, trust: &Trust, as_json: bool) -> anyhow::Result<()> {
    let c = Client::with_trust(server, None, trust)?;
    match c.get::<Health>("/readyz") {
        Ok(h) if as_json => json(&h),
        Ok(h) => {
            println!("{server}: {}", h.status);
            Ok(())
        }
        // A 503 carries the reason as a health body, not an error body.
        Err(liaison_client::ClientError::Api {
            status, message, ..
        }) => {
            let reason = serde_json::from_str::<Health>(&message)
                .map(|h| h.status)
                .unwrap_or(message);
            bail!("{server} is not ready (HTTP {status}): {reason}")
        }
        Err(e) => Err(e.into()),
    }
}

/// What the client trusts for an https:// server: `--ca` and `--ca-fingerprint`.
pub fn trust(ca: Option<&std::path::Path>, fingerprint: Option<&str>) -> anyhow::Result<Trust> {
    let mut t = Trust::default();
    if let Some(path) = ca {
        let pem =
            std::fs::read(path).with_context(|| format!("cannot read --ca {}", path.display()))?;
        t.add_pem(&pem)
            .map_err(|e| anyhow::anyhow!("--ca {}: {e}", path.display()))?;
    }
    if let Some(fp) = fingerprint {
        t.add_fingerprint(fp)
            .map_err(|e| anyhow::anyhow!("--ca-fingerprint: {e}"))?;
    }
    Ok(t)
}

/// The client certificate to present: `--client-cert` with `--client-key`.
pub fn client_certificate(
    trust: &mut Trust,
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(()),
        (Some(c), Some(k)) => (c, k),
        _ => anyhow::bail!(
            "a client certificate needs its key: give both --client-cert and --client-key (LIAISON_CLIENT_CERT, LIAISON_CLIENT_KEY)"
        ),
    };
    liaison_server::at_rest::check_private(key)
        .map_err(|e| anyhow::anyhow!("--client-key: {e}"))?;
    let cert_pem = std::fs::read(cert)
        .with_context(|| format!("cannot read --client-cert {}", cert.display()))?;
    let key_pem = std::fs::read(key)
        .with_context(|| format!("cannot read --client-key {}", key.display()))?;
    trust
        .set_client_certificate(&cert_pem, &key_pem)
        .map_err(|e| anyhow::anyhow!("--client-cert {}: {e}", cert.display()))
}

#[derive(Subcommand, Clone)]
pub enum CellCmd {
    /// Show the charter, parties, status and the log key.
    Show,
    /// Approve the charter (supervisor).
    Approve,
    /// Suspend the cell (supervisor).
    Suspend {
        /// Why: kept in the record and shown to every party.
        #[arg(long)]
        reason: String,
    },
    /// Resume a suspended cell (supervisor).
    Resume,
}

#[derive(Subcommand, Clone)]
pub enum EventsCmd {
    /// Follow the record live; with --after N, replay from after N first.
    Tail {
        /// Replay the events after this sequence number first.
        #[arg(long)]
        after: Option<u64>,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<usize>,
    },
}

#[derive(Subcommand, Clone)]
pub enum OperatorCmd {
    /// List the operators you may see, with their party, role and state.
    List,
    /// Enrol an operator of your party: its token and signing key are made here, and
    /// only the token's hash and the public key are sent; both are written to `--out`.
    Add {
        /// The operator's name.
        name: String,
        /// The operator's party (your own).
        #[arg(long)]
        party: String,
        /// What the operator may do in its party.
        #[arg(long)]
        role: OperatorRole,
        /// Where to write the new operator's credentials (mode 0600); default
        /// `NAME.credentials.json` in the current directory.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Make an operator's token and signing key on this machine, for a charter that
    /// enrols it (a party that pins its key): prints the charter's `[[operators]]`
    /// entry with the token's hash and the public key, and writes the credentials to
    /// `--out`. Needs no server.
    Credentials {
        /// The operator's name.
        name: String,
        /// The operator's party.
        #[arg(long)]
        party: String,
        /// What the operator may do in its party.
        #[arg(long)]
        role: OperatorRole,
        /// Default `NAME.credentials.json` in the current directory.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Disable an operator of your party: its token stops working at once.
    Disable {
        /// The operator's name.
        name: String,
    },
    /// Enable an operator of your party again.
    Enable {
        /// The operator's name.
        name: String,
    },
    /// Issue a new token; the old one stops working.
    Rotate {
        /// The operator's name.
        name: String,
    },
    /// Suspend an operator of any party pending review (the supervising party only).
    Suspend {
        /// The operator's name.
        name: String,
        /// Why: kept in the record and shown to every party.
        #[arg(long)]
        reason: String,
    },
    /// Lift a suspension (the supervising party only).
    Reinstate {
        /// The operator's name.
        name: String,
    },
}

pub fn cell(c: &Client, cmd: CellCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        CellCmd::Show => {
            let v: CellView = c.get("/api/v1/cell")?;
            if as_json {
                return json(&v);
            }
            println!("{}  [{}]", v.name, v.status.to_uppercase());
            for p in &v.parties {
                println!("  party {:<8} {:<11} {}", p.id, p.role, p.name);
            }
            for o in &v.operators {
                let state = if o.active { "" } else { "  (disabled)" };
                println!("  operator {:<18} {:<6} {}{state}", o.name, o.party, o.role);
            }
            let d = &v.settings.deadlines;
            println!(
                "  deadlines: flash {} · immediate {} · priority {} · routine {} · then {}",
                d.flash, d.immediate, d.priority, d.routine, d.second_level
            );
            println!("  log: {} entries · key {}", v.log.size, v.log.vkey);
            Ok(())
        }
        CellCmd::Approve => report(
            as_json,
            c.post("/api/v1/cell/approve", &serde_json::json!({}))?,
            "cell approved: it is active",
        ),
        CellCmd::Suspend { reason } => report(
            as_json,
            c.post("/api/v1/cell/suspend", &SuspendRequest { reason })?,
            "cell suspended",
        ),
        CellCmd::Resume => report(
            as_json,
            c.post("/api/v1/cell/resume", &serde_json::json!({}))?,
            "cell resumed",
        ),
    }
}

fn report(as_json: bool, w: Written, what: &str) -> anyhow::Result<()> {
    if as_json {
        return json(&w);
    }
    println!("{what}; {}", receipt_line(&w.receipt));
    Ok(())
}

pub fn event_line(e: &EventView) -> String {
    let who = if e.author.party.is_empty() {
        e.author.operator.clone()
    } else {
        format!("{}/{}", e.author.party, e.author.operator)
    };
    format!(
        "{}  {:<24} #{:<6} {:<22} {}",
        crate::output::when(&e.at),
        e.kind,
        e.seq,
        who,
        crate::output::data_summary(&e.data, 160)
    )
}

pub fn events(c: &Client, cmd: EventsCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        EventsCmd::Tail { after, count } => {
            let path = match after {
                Some(a) => format!("/api/v1/events?after={a}"),
                None => "/api/v1/events".to_string(),
            };
            let mut seen = 0usize;
            let mut last: Option<String> = None;
            let mut failure: Option<anyhow::Error> = None;
            let mut attempts = 0u32;
            loop {
                let r = c.stream(&path, last.as_deref(), |m| {
                    match serde_json::from_str::<EventView>(&m.data) {
                        Ok(e) => {
                            if as_json {
                                println!("{}", m.data);
                            } else {
                                println!("{}", event_line(&e));
                            }
                        }
                        Err(e) => {
                            failure = Some(anyhow::anyhow!(
                                "server sent an event that does not parse: {e}"
                            ));
                            return false;
                        }
                    }
                    seen += 1;
                    count.is_none_or(|n| seen < n)
                });
                if let Some(f) = failure.take() {
                    return Err(f);
                }
                match r {
                    Ok(l) => {
                        if count.is_some_and(|n| seen >= n) {
                            return Ok(());
                        }
                        last = l;
                        attempts = 0;
                    }
                    Err(e) if e.is_transport() && attempts < 30 => {
                        attempts += 1;
                        eprintln!(
                            "connection lost ({e}); reconnecting after event {}",
                            last.as_deref().unwrap_or("-")
                        );
                        std::thread::sleep(std::time::Duration::from_secs(1));
                    }
                    Err(e) => return Err(e).context("event stream"),
                }
            }
        }
    }
}

pub fn operator(c: &Client, cmd: OperatorCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        OperatorCmd::List => {
            let v: Vec<OperatorView> = c.get("/api/v1/operators")?;
            if as_json {
                return json(&v);
            }
            for o in v {
                let state = match (&o.suspended, o.active) {
                    (Some(reason), _) => format!("suspended: {reason}"),
                    (None, true) => "active".into(),
                    (None, false) => "disabled".into(),
                };
                println!("{:<20} {:<8} {:<11} {state}", o.name, o.party, o.role);
            }
            Ok(())
        }
        OperatorCmd::Add {
            name,
            party,
            role,
            out,
        } => enrol(c, name, party, role.to_string(), out, as_json),
        OperatorCmd::Credentials {
            name,
            party,
            role,
            out,
        } => credentials(name, party, role.to_string(), out, as_json),
        OperatorCmd::Disable { name } => report(
            as_json,
            c.post(
                &format!("/api/v1/operators/{name}/disable"),
                &serde_json::json!({}),
            )?,
            "operator disabled",
        ),
        OperatorCmd::Enable { name } => report(
            as_json,
            c.post(
                &format!("/api/v1/operators/{name}/enable"),
                &serde_json::json!({}),
            )?,
            "operator enabled",
        ),
        OperatorCmd::Suspend { name, reason } => report(
            as_json,
            c.post(
                &format!("/api/v1/operators/{name}/suspend"),
                &serde_json::json!({ "reason": reason }),
            )?,
            "operator suspended",
        ),
        OperatorCmd::Reinstate { name } => report(
            as_json,
            c.post(
                &format!("/api/v1/operators/{name}/reinstate"),
                &serde_json::json!({}),
            )?,
            "operator reinstated",
        ),
        OperatorCmd::Rotate { name } => {
            let v: OperatorIssued = c.post(
                &format!("/api/v1/operators/{name}/rotate"),
                &serde_json::json!({}),
            )?;
            issued(as_json, v)
        }
    }
}

/// The operator commands that need no server.
pub fn operator_offline(cmd: OperatorCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        OperatorCmd::Credentials {
            name,
            party,
            role,
            out,
        } => credentials(name, party, role.to_string(), out, as_json),
        _ => bail!("this operator command needs a server"),
    }
}

/// A new operator's token and signing key, made on this machine.
fn new_credentials(
    name: &str,
    out: &Option<std::path::PathBuf>,
) -> anyhow::Result<(
    std::path::PathBuf,
    String,
    ed25519_dalek::SigningKey,
    String,
)> {
    let out = out
        .clone()
        .unwrap_or_else(|| format!("{name}.credentials.json").into());
    if out.exists() {
        bail!("{} exists: choose another --out", out.display());
    }
    let token = liaison_server::app::new_token();
    let key = liaison_log::keys::generate(&mut rand::rngs::OsRng);
    let pem = liaison_log::keys::to_pkcs8_pem(&key).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((out, token, key, pem))
}

fn write_credentials(
    out: &std::path::Path,
    operator: liaison_api::wire::OperatorCredentials,
) -> anyhow::Result<()> {
    let file = liaison_api::wire::CredentialsFile {
        operators: vec![operator],
        tls_fingerprint: None,
        party_key: None,
        log_vkey: None,
        parties: Vec::new(),
    };
    liaison_server::app::write_private(out, &serde_json::to_vec_pretty(&file)?)
        .with_context(|| format!("cannot write {}", out.display()))
}

/// Makes an operator's credentials for a charter that enrols it, without a server.
fn credentials(
    name: String,
    party: String,
    role: String,
    out: Option<std::path::PathBuf>,
    as_json: bool,
) -> anyhow::Result<()> {
    if liaison_api::charter_toml::operator_role(&role).is_none() {
        bail!("unknown role {role:?}; use liaison, analyst, supervisor, observer or admin");
    }
    let (out, token, key, pem) = new_credentials(&name, &out)?;
    let token_hash = liaison_server::app::token_hash(&token);
    let public_key = liaison_log::keys::public_b64(&key.verifying_key());
    write_credentials(
        &out,
        liaison_api::wire::OperatorCredentials {
            name: name.clone(),
            party: party.clone(),
            role: role.clone(),
            token,
            key: Some(pem),
        },
    )?;
    if as_json {
        return json(&serde_json::json!({
            "name": name, "party": party, "role": role,
            "token_hash": token_hash, "public_key": public_key, "credentials": out,
        }));
    }
    println!(
        "wrote {} (the operator's token and key, mode 0600)",
        out.display()
    );
    println!("the charter's entry, which holds neither:");
    println!();
    println!("[[operators]]");
    println!("name = \"{name}\"");
    println!("party = \"{party}\"");
    println!("role = \"{role}\"");
    println!("token_hash = \"{token_hash}\"");
    println!("public_key = \"{public_key}\"");
    Ok(())
}

/// Makes an operator's token and signing key on this machine, enrols it with only the
/// token's hash and the public key, and writes its credentials file.
fn enrol(
    c: &Client,
    name: String,
    party: String,
    role: String,
    out: Option<std::path::PathBuf>,
    as_json: bool,
) -> anyhow::Result<()> {
    let (out, token, key, pem) = new_credentials(&name, &out)?;
    let mut v: OperatorIssued = c.post(
        "/api/v1/operators",
        &AddOperatorRequest {
            name,
            party,
            role,
            token_hash: Some(liaison_server::app::token_hash(&token)),
            public_key: Some(liaison_log::keys::public_b64(&key.verifying_key())),
        },
    )?;
    v.operator.token = token;
    v.operator.key = Some(pem);
    write_credentials(&out, v.operator.clone())?;
    if as_json {
        return json(&v);
    }
    println!(
        "operator {} ({} {}); {}",
        v.operator.name,
        v.operator.party,
        v.operator.role,
        receipt_line(&v.receipt)
    );
    println!(
        "its token and signing key were made here and are in {} (hand it to the operator; the server holds only the token's hash and the public key)",
        out.display()
    );
    Ok(())
}

fn issued(as_json: bool, v: OperatorIssued) -> anyhow::Result<()> {
    if as_json {
        return json(&v);
    }
    println!(
        "operator {} ({} {}); {}",
        v.operator.name,
        v.operator.party,
        v.operator.role,
        receipt_line(&v.receipt)
    );
    println!("token (shown once, keep it safe): {}", v.operator.token);
    Ok(())
}

/// Fetches a receipt for an event and prints it, or writes it to `out`.
pub fn receipt(c: &Client, seq: u64, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    let r: serde_json::Value = c.get(&format!("/api/v1/receipts/{seq}"))?;
    let text = serde_json::to_string_pretty(&r)?;
    match out {
        Some(path) => {
            std::fs::write(path, format!("{text}\n"))
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "receipt for event {seq} written to {}; check it with `liaison verify-receipt {}`",
                path.display(),
                path.display()
            );
        }
        None => println!("{text}"),
    }
    Ok(())
}

/// The token in `path` (its first line, trimmed): the file must be the owner's alone.
pub fn read_token_file(path: &std::path::Path) -> anyhow::Result<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "the token file {} can be read by others (mode {:o}); make it the owner's alone: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(token)
}
