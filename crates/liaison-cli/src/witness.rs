//! `liaison witness`: a party's witness of the shared record.
//!
//! It trusts no first use: the log key, and the witness keys the charter pins, come
//! from the party's credentials file, the charter file or the command line, never from
//! the server it watches. It follows the server's checkpoints (each an extension of the
//! last, proved from the tiles), verifies every other witness's cosignature on them,
//! keeps them, and cosigns. With `--listen` it serves its latest cosigned checkpoint
//! (`GET /checkpoint`) and takes checkpoints through the C2SP tlog-witness protocol
//! (`POST /add-checkpoint`); with `--peer` it compares its view with other parties'
//! witnesses, so that a fork shown to one party is caught by another's witness even
//! when the server lies to both. On any evidence of a fork it writes the evidence to
//! its state directory and stops.

use crate::record::read_key;
use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use liaison_api::wire::{
    CellView, CosignatureAccepted, CosignatureRequest, CredentialsFile, Me, WitnessRequest,
    WitnessView, Written,
};
use liaison_client::Client;
use liaison_log::checkpoint::Checkpoint;
use liaison_log::merkle::{Hash, consistency_proof, verify_consistency_from};
use liaison_log::note::{Signer, TYPE_COSIGNATURE, Verifier, open_note, split_note};
use liaison_log::tiles::{TilePath, TiledHashes};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

pub struct WitnessArgs {
    pub party: String,
    pub key: PathBuf,
    pub state: PathBuf,
    pub once: bool,
    pub interval_ms: u64,
    /// The log's verifier key given on the command line.
    pub log_key: Option<String>,
    /// The party's credentials file (`credentials-<party>.json`).
    pub credentials: Option<PathBuf>,
    /// The charter file.
    pub charter: Option<PathBuf>,
    pub listen: Option<String>,
    pub peers: Vec<String>,
}

/// What the witness trusts, taken out of band: the log key and, per party, its role
/// and the witness key the charter pins, if the source names the parties.
pub(crate) struct Pins {
    pub log: Verifier,
    /// (party, role, pinned witness key)
    pub parties: Option<Vec<(String, String, Option<String>)>>,
}

/// Where the trusted keys come from: `--log-key`, `--credentials`, `--charter`.
pub(crate) struct Sources<'a> {
    pub log_key: Option<&'a str>,
    pub credentials: Option<&'a std::path::Path>,
    pub charter: Option<&'a std::path::Path>,
}

fn pins(a: &WitnessArgs) -> anyhow::Result<Pins> {
    trust(&Sources {
        log_key: a.log_key.as_deref(),
        credentials: a.credentials.as_deref(),
        charter: a.charter.as_deref(),
    })
}

/// Reads the trusted keys from every source given; they must agree, and one must
/// give the log key.
pub(crate) fn trust(a: &Sources) -> anyhow::Result<Pins> {
    let mut logs: Vec<(String, String)> = Vec::new();
    let mut parties: Option<Vec<(String, String, Option<String>)>> = None;
    let mut agree = |source: String, list: Vec<(String, String, Option<String>)>| match &parties {
        Some(p) if *p != list => Err(anyhow!(
            "{source} names other parties or witness keys than the other source given"
        )),
        _ => {
            parties = Some(list);
            Ok(())
        }
    };
    if let Some(v) = a.log_key {
        logs.push(("--log-key".into(), v.to_string()));
    }
    if let Some(p) = a.credentials {
        let c: CredentialsFile = serde_json::from_slice(
            &std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        )
        .with_context(|| format!("{} is not a credentials file", p.display()))?;
        let v = c.log_vkey.ok_or_else(|| {
            anyhow!(
                "{} carries no log key (`log_vkey`): it was written before cells pinned it",
                p.display()
            )
        })?;
        logs.push((p.display().to_string(), v));
        if !c.parties.is_empty() {
            agree(
                p.display().to_string(),
                c.parties
                    .into_iter()
                    .map(|p| (p.id, p.role, p.witness))
                    .collect(),
            )?;
        }
    }
    if let Some(p) = a.charter {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        let charter = liaison_api::charter_toml::parse_charter(&text)
            .map_err(|e| anyhow!("{}: {e}", p.display()))?;
        if let Some(v) = charter.log_key {
            logs.push((p.display().to_string(), v));
        }
        agree(
            p.display().to_string(),
            charter
                .parties
                .into_iter()
                .map(|p| (p.id, p.role.as_str().to_string(), p.witness))
                .collect(),
        )?;
    }
    let Some((_, first)) = logs.first() else {
        bail!(
            "the log's key must come from a source other than the server: \
             give --credentials credentials-<party>.json (as `liaison init` wrote it), \
             --charter FILE (with `[log] key`) or the log's verifier key"
        );
    };
    let log = Verifier::from_vkey(first).map_err(|e| anyhow!("the log key {first}: {e}"))?;
    for (source, v) in &logs {
        let other = Verifier::from_vkey(v).map_err(|e| anyhow!("{source}: the log key: {e}"))?;
        if other != log {
            bail!(
                "{source} gives the log key {v}, another source {}: they must agree",
                log.vkey()
            );
        }
    }
    Ok(Pins { log, parties })
}

/// A checkpoint this witness accepted: the log's note with the cosignatures it verified.
#[derive(Clone)]
struct Accepted {
    note: String,
    cp: Checkpoint,
}

/// The witness's state, shared by the loop that follows the server and the listener.
struct Witness {
    dir: PathBuf,
    party: String,
    log: Verifier,
    signer: Signer,
    /// Every party's witness key in force (pinned, or else as recorded), by party.
    keys: BTreeMap<String, Verifier>,
    /// Parties whose cosignatures make a checkpoint final.
    finalizers: Vec<String>,
    accepted: Option<Accepted>,
    /// Set when the witness stopped, with its message.
    stopped: Option<String>,
}

/// Evidence of a fork or of a lie, to write down before stopping.
struct Evidence {
    reason: String,
    accepted: String,
    offered: String,
    peer: Option<String>,
    proof: Vec<Hash>,
}

impl Witness {
    fn load(&mut self) -> anyhow::Result<()> {
        let p = self.dir.join("checkpoint");
        if !p.exists() {
            return Ok(());
        }
        let note = std::fs::read_to_string(&p)?;
        let opened = open_note(&note, std::slice::from_ref(&self.log)).map_err(|e| {
            anyhow!(
                "the checkpoint kept in {} does not verify with the log key: {e}",
                p.display()
            )
        })?;
        let cp = Checkpoint::parse(opened.text())?;
        self.accepted = Some(Accepted { note, cp });
        Ok(())
    }

    fn save(&mut self, acc: Accepted) -> anyhow::Result<()> {
        crate::record::write_private(&self.dir.join("checkpoint"), acc.note.as_bytes())?;
        self.accepted = Some(acc);
        Ok(())
    }

    /// Writes the evidence to a new directory, marks the witness stopped and answers
    /// the message it stops with.
    fn stop(&mut self, e: Evidence) -> String {
        let written = (|| -> std::io::Result<PathBuf> {
            let n = std::fs::read_dir(&self.dir)?.count();
            let d = self.dir.join(format!("evidence-{n}"));
            std::fs::create_dir_all(&d)?;
            std::fs::write(d.join("reason.txt"), format!("{}\n", e.reason))?;
            std::fs::write(d.join("accepted.checkpoint"), &e.accepted)?;
            std::fs::write(d.join("offered.checkpoint"), &e.offered)?;
            if let Some(p) = &e.peer {
                std::fs::write(d.join("peer.txt"), format!("{p}\n"))?;
            }
            if !e.proof.is_empty() {
                let lines: String = e.proof.iter().map(|h| B64.encode(h) + "\n").collect();
                std::fs::write(d.join("proof.txt"), lines)?;
            }
            Ok(d)
        })();
        let msg = match written {
            Ok(d) => format!(
                "WITNESS STOPPED: {}. Evidence kept in {}",
                e.reason,
                d.display()
            ),
            Err(err) => format!(
                "WITNESS STOPPED: {} (the evidence could not be written: {err})",
                e.reason
            ),
        };
        self.stopped = Some(msg.clone());
        msg
    }

    /// Opens a note with the log key and checks it is this log's checkpoint.
    fn open(&self, note: &str) -> Result<Checkpoint, String> {
        let opened = open_note(note, std::slice::from_ref(&self.log))
            .map_err(|e| format!("the checkpoint's log signature does not verify: {e}"))?;
        let cp = Checkpoint::parse(opened.text()).map_err(|e| e.to_string())?;
        if cp.origin != self.log.name {
            return Err(format!("checkpoint for another log: {}", cp.origin));
        }
        Ok(cp)
    }

    /// Every cosignature on `note` by a known witness key, verified: the lines by
    /// party, or the party whose line does not verify. Lines by unknown keys are
    /// ignored, as signed notes ignore them.
    fn cosignatures(&self, note: &str) -> Result<BTreeMap<String, String>, String> {
        let (body, lines) = split_note(note).map_err(|e| e.to_string())?;
        let mut out = BTreeMap::new();
        for l in lines {
            let Some((party, v)) = self
                .keys
                .iter()
                .find(|(_, v)| v.name == l.name && l.blob.len() >= 4 && l.blob[..4] == v.id)
            else {
                continue;
            };
            let line = format!("— {} {}", l.name, B64.encode(&l.blob));
            liaison_log::cosignature::verify_cosignature_line(&v.vkey(), &body, &line).map_err(
                |e| format!("the cosignature of {party}'s witness does not verify ({e}): {line}"),
            )?;
            out.insert(party.clone(), line);
        }
        Ok(out)
    }

    /// The log's note for `cp` with these cosignature lines.
    fn note_with(&self, offered: &str, cosigs: &BTreeMap<String, String>) -> String {
        let (text, lines) = split_note(offered).unwrap_or_default();
        let mut out = format!("{text}\n");
        for l in lines
            .iter()
            .filter(|l| l.name == self.log.name && l.blob.len() >= 4 && l.blob[..4] == self.log.id)
        {
            out.push_str(&format!("— {} {}\n", l.name, B64.encode(&l.blob)));
        }
        for line in cosigs.values() {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    fn cosign(&self, cp: &Checkpoint) -> String {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        liaison_log::cosignature::cosign(&cp.to_text(), &self.signer, time)
    }

    fn is_final(&self, cosigs: &BTreeMap<String, String>) -> bool {
        self.finalizers.iter().all(|p| cosigs.contains_key(p))
    }
}

fn lock(w: &Mutex<Witness>) -> MutexGuard<'_, Witness> {
    // A panic elsewhere leaves the state as it was written last: carry on with it.
    w.lock().unwrap_or_else(|e| e.into_inner())
}

fn fetch_tile(c: &Client, p: TilePath) -> Result<Vec<u8>, String> {
    c.get_bytes(&format!("/log/{}", p.format()))
        .map_err(|e| e.to_string())
}

/// Proves from the server's tiles that the tree of `old` is a prefix of the tree of
/// `new`; answers the proof, or why not with the proof that failed.
fn prove_consistency(
    c: &Client,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<Vec<Hash>, (String, Vec<Hash>)> {
    if old.size == new.size {
        return if old.root == new.root {
            Ok(Vec::new())
        } else {
            Err((
                format!("fork: two different roots for size {}", new.size),
                Vec::new(),
            ))
        };
    }
    let mut tiles = TiledHashes::new(new.size, |p| fetch_tile(c, p));
    let proof = if old.size == 0 {
        Vec::new()
    } else {
        consistency_proof(&mut tiles, old.size, new.size).map_err(|e| {
            (
                format!("cannot build the consistency proof from the tiles: {e}"),
                Vec::new(),
            )
        })?
    };
    verify_consistency_from(old.size, new.size, &proof, &old.root, &new.root).map_err(|e| {
        (
            format!(
                "fork: the checkpoint of size {} is not consistent with the one of size {} ({e})",
                new.size, old.size
            ),
            proof.clone(),
        )
    })?;
    // The tiles must hash to the new root, or the server serves a different tree.
    let root = liaison_log::merkle::root(&mut tiles, new.size)
        .map_err(|e| (e.to_string(), proof.clone()))?;
    if root != new.root {
        return Err((
            "fork: the tiles served do not hash to the checkpoint's root".into(),
            proof,
        ));
    }
    Ok(proof)
}

/// The witness keys in force at the server (pinned in the record's charter, or
/// registered), checked against the keys this witness pinned.
fn keys_in_force(
    c: &Client,
    pins: &Pins,
    cell: &CellView,
) -> Result<BTreeMap<String, Verifier>, String> {
    let registered: Vec<WitnessView> = c
        .get("/api/v1/witnesses")
        .map_err(|e| format!("cannot read the witness keys: {e}"))?;
    let mut keys = BTreeMap::new();
    for w in &registered {
        if let Ok(v) = Verifier::from_vkey(&w.vkey)
            && v.key_type == TYPE_COSIGNATURE
        {
            keys.insert(w.party.clone(), v);
        }
    }
    for (party, _, pinned) in pins.parties.iter().flatten() {
        let Some(pinned) = pinned else { continue };
        let in_record = cell
            .parties
            .iter()
            .find(|p| &p.id == party)
            .and_then(|p| p.witness.as_ref());
        if in_record != Some(pinned) {
            return Err(format!(
                "the server's charter pins {} as {party}'s witness key, but this witness pins {pinned}",
                in_record.map_or("nothing", String::as_str)
            ));
        }
        let served = registered.iter().find(|w| &w.party == party);
        if served.map(|w| &w.vkey) != Some(pinned) {
            return Err(format!(
                "the server says {party}'s witness key is {}, but this witness pins {pinned}",
                served.map_or("none", |w| w.vkey.as_str())
            ));
        }
        let v = Verifier::from_vkey(pinned).map_err(|e| format!("{party}'s pinned key: {e}"))?;
        keys.insert(party.clone(), v);
    }
    Ok(keys)
}

pub fn witness(c: &Client, a: WitnessArgs) -> anyhow::Result<()> {
    let pins = pins(&a)?;
    std::fs::create_dir_all(&a.state)?;
    // A state directory belongs to one log: the key it followed is kept beside it.
    let kept = a.state.join("log.vkey");
    if kept.exists() {
        let v = std::fs::read_to_string(&kept)?.trim().to_string();
        if v != pins.log.vkey() {
            bail!(
                "{} followed the log {v}, not the log key given ({}): use another state directory",
                a.state.display(),
                pins.log.vkey()
            );
        }
    } else {
        std::fs::write(&kept, format!("{}\n", pins.log.vkey()))?;
    }
    let me: Me = c.get("/api/v1/me")?;
    if me.party != a.party {
        bail!(
            "the token belongs to party {} but this witness is for {}",
            me.party,
            a.party
        );
    }
    let my_pin = pins
        .parties
        .iter()
        .flatten()
        .find(|(p, _, _)| *p == a.party)
        .and_then(|(_, _, w)| w.clone());
    let name = match &my_pin {
        Some(v) => {
            Verifier::from_vkey(v)
                .map_err(|e| anyhow!("the key pinned for {}: {e}", a.party))?
                .name
        }
        None => format!("{}.witness", a.party),
    };
    let signer = liaison_log::cosignature::witness_signer(&name, read_key(&a.key)?)
        .map_err(|e| anyhow!("{e}"))?;
    let my_vkey = signer.verifier().vkey();
    if let Some(pinned) = &my_pin
        && *pinned != my_vkey
    {
        bail!(
            "the charter pins {pinned} as {}'s witness key, but --witness-key is {my_vkey}",
            a.party
        );
    }
    let w = Arc::new(Mutex::new(Witness {
        dir: a.state.clone(),
        party: a.party.clone(),
        log: pins.log.clone(),
        signer,
        keys: BTreeMap::new(),
        finalizers: Vec::new(),
        accepted: None,
        stopped: None,
    }));
    lock(&w).load()?;
    let cell: CellView = c.get("/api/v1/cell")?;
    if cell.log.vkey != pins.log.vkey() {
        let msg = lock(&w).stop(Evidence {
            reason: format!(
                "the server presents the log key {}, but this witness pins {}",
                cell.log.vkey,
                pins.log.vkey()
            ),
            accepted: pins.log.vkey(),
            offered: cell.log.vkey.clone(),
            peer: None,
            proof: Vec::new(),
        });
        bail!(msg);
    }
    if my_pin.is_none() {
        let registered: Vec<WitnessView> = c.get("/api/v1/witnesses")?;
        if !registered
            .iter()
            .any(|v| v.party == a.party && v.vkey == my_vkey)
        {
            let _: Written = c.post(
                "/api/v1/witnesses",
                &WitnessRequest {
                    vkey: my_vkey.clone(),
                },
            )?;
            eprintln!("registered witness key {my_vkey} for party {}", a.party);
        }
    }
    let finalizers: Vec<String> = match &pins.parties {
        Some(list) => list
            .iter()
            .filter(|(_, role, _)| role != "observer")
            .map(|(p, _, _)| p.clone())
            .collect(),
        None => cell
            .parties
            .iter()
            .filter(|p| p.role != "observer")
            .map(|p| p.id.clone())
            .collect(),
    };
    lock(&w).finalizers = finalizers;
    match keys_in_force(c, &pins, &cell) {
        Ok(k) => lock(&w).keys = k,
        Err(reason) => {
            let msg = lock(&w).stop(Evidence {
                reason,
                accepted: String::new(),
                offered: serde_json::to_string_pretty(&cell.parties)?,
                peer: None,
                proof: Vec::new(),
            });
            bail!(msg);
        }
    }
    if let Some(addr) = &a.listen {
        listen(addr, w.clone())?;
    }
    let peers = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let mut last_report: Option<Followed> = None;
    loop {
        if let Some(msg) = lock(&w).stopped.clone() {
            bail!(msg);
        }
        let cell: CellView = c.get("/api/v1/cell")?;
        let keys = keys_in_force(c, &pins, &cell);
        let keys = match keys {
            Ok(k) => k,
            Err(reason) => {
                let msg = lock(&w).stop(Evidence {
                    reason,
                    accepted: String::new(),
                    offered: serde_json::to_string_pretty(&cell.parties)?,
                    peer: None,
                    proof: Vec::new(),
                });
                bail!(msg);
            }
        };
        lock(&w).keys = keys;
        let report = follow(c, &w)?;
        if last_report.as_ref() != Some(&report) {
            println!(
                "cosigned size {} (cosigned by {}{})",
                report.size,
                report.by.join(","),
                if report.fin { "; final" } else { "" }
            );
            last_report = Some(report);
        }
        for peer in &a.peers {
            compare_with_peer(c, &w, &peers, peer)?;
        }
        if a.once {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(a.interval_ms));
    }
}

/// What one step of following the server came to: the accepted size, the parties whose
/// cosignatures on it this witness verified, and whether that makes it final.
#[derive(PartialEq, Eq)]
struct Followed {
    size: u64,
    by: Vec<String>,
    fin: bool,
}

/// One step of following the server: takes its latest checkpoint, checks it extends the
/// accepted one and that every known cosignature on it verifies, keeps it and cosigns
/// it (posting the cosignature to the server if it lacks it).
fn follow(c: &Client, w: &Mutex<Witness>) -> anyhow::Result<Followed> {
    let offered =
        String::from_utf8(c.get_bytes("/log/checkpoint")?).context("checkpoint is not text")?;
    let mut g = lock(w);
    let accepted = g.accepted.clone();
    let evidence = |reason: String, proof: Vec<Hash>| Evidence {
        reason,
        accepted: accepted
            .as_ref()
            .map(|a| a.note.clone())
            .unwrap_or_default(),
        offered: offered.clone(),
        peer: None,
        proof,
    };
    let cp = match g.open(&offered) {
        Ok(cp) => cp,
        Err(reason) => bail!(g.stop(evidence(reason, Vec::new()))),
    };
    if let Some(acc) = &accepted {
        if cp.size < acc.cp.size {
            let reason = format!(
                "rollback: offered size {} is smaller than the accepted {}",
                cp.size, acc.cp.size
            );
            bail!(g.stop(evidence(reason, Vec::new())));
        }
        if let Err((reason, proof)) = prove_consistency(c, &acc.cp, &cp) {
            bail!(g.stop(evidence(reason, proof)));
        }
    }
    let served = match g.cosignatures(&offered) {
        Ok(c) => c,
        Err(reason) => bail!(g.stop(evidence(reason, Vec::new()))),
    };
    let party = g.party.clone();
    let served_mine = served.contains_key(&party);
    let mut cosigs = served;
    // Cosignatures this witness verified before, on the same checkpoint, stay.
    if let Some(acc) = accepted.as_ref().filter(|a| a.cp == cp)
        && let Ok(before) = g.cosignatures(&acc.note)
    {
        for (p, l) in before {
            cosigs.entry(p).or_insert(l);
        }
    }
    let mine = match cosigs.get(&party) {
        Some(l) => l.clone(),
        None => g.cosign(&cp),
    };
    cosigs.insert(party, mine.clone());
    // Persist before cosigning, so a crash never cosigns a checkpoint the witness has
    // not recorded.
    let note = g.note_with(&offered, &cosigs);
    g.save(Accepted {
        note,
        cp: cp.clone(),
    })?;
    let fin = g.is_final(&cosigs);
    drop(g);
    if !served_mine {
        let _: CosignatureAccepted = c.post(
            "/log/cosignature",
            &CosignatureRequest {
                size: cp.size,
                cosignature: mine,
            },
        )?;
    }
    Ok(Followed {
        size: cp.size,
        by: cosigs.into_keys().collect(),
        fin,
    })
}

/// Compares the accepted checkpoint with a peer witness's: the same size must have the
/// same root, and the smaller must be a prefix of the larger, proved from this
/// witness's server. A peer that cannot be reached, or serves what the log did not
/// sign, is reported and skipped: only the log's own signature makes evidence.
fn compare_with_peer(
    c: &Client,
    w: &Mutex<Witness>,
    http: &reqwest::blocking::Client,
    peer: &str,
) -> anyhow::Result<()> {
    let url = format!("{}/checkpoint", peer.trim_end_matches('/'));
    let theirs = match http.get(&url).send().and_then(|r| r.error_for_status()) {
        Ok(r) => match r.text() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("peer {peer}: {e}");
                return Ok(());
            }
        },
        Err(e) => {
            eprintln!("peer {peer}: {e}");
            return Ok(());
        }
    };
    let their_cp = match lock(w).open(&theirs) {
        Ok(cp) => cp,
        Err(e) => {
            eprintln!("peer {peer} serves a checkpoint this witness does not take: {e}");
            return Ok(());
        }
    };
    let mine = lock(w).accepted.clone();
    let Some(mut mine) = mine else { return Ok(()) };
    if their_cp.size > mine.cp.size {
        // The peer may have seen a newer checkpoint than this witness's last: the
        // server must show it too, now.
        follow(c, w)?;
        mine = lock(w)
            .accepted
            .clone()
            .ok_or_else(|| anyhow!("no checkpoint accepted"))?;
        if their_cp.size > mine.cp.size {
            let reason = format!(
                "split view: peer {peer} holds a checkpoint of size {} signed by the log, but the server shows this witness only {}",
                their_cp.size, mine.cp.size
            );
            bail!(lock(w).stop(Evidence {
                reason,
                accepted: mine.note,
                offered: theirs,
                peer: Some(peer.to_string()),
                proof: Vec::new(),
            }));
        }
    }
    if let Err((reason, proof)) = prove_consistency(c, &their_cp, &mine.cp) {
        bail!(lock(w).stop(Evidence {
            reason: format!("{reason}; shown by peer {peer}"),
            accepted: mine.note,
            offered: theirs,
            peer: Some(peer.to_string()),
            proof,
        }));
    }
    Ok(())
}

/// Serves the witness's latest cosigned checkpoint and the C2SP tlog-witness
/// `add-checkpoint` call, on a thread of its own.
fn listen(addr: &str, w: Arc<Mutex<Witness>>) -> anyhow::Result<()> {
    use axum::routing::{get, post};
    let std_listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    std_listener.set_nonblocking(true)?;
    let local = std_listener.local_addr()?;
    println!("witness listening on http://{local}/ (GET /checkpoint, POST /add-checkpoint)");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let app = axum::Router::new()
                .route("/checkpoint", get(serve_checkpoint))
                .route("/add-checkpoint", post(add_checkpoint))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
                .with_state(w);
            match tokio::net::TcpListener::from_std(std_listener) {
                Ok(l) => {
                    if let Err(e) = axum::serve(l, app).await {
                        eprintln!("witness listener: {e}");
                    }
                }
                Err(e) => eprintln!("witness listener: {e}"),
            }
        });
    });
    Ok(())
}

/// Largest `add-checkpoint` body: 63 proof lines and a note.
const MAX_BODY: usize = liaison_log::note::MAX_NOTE + 64 * 64;

type Reply = (
    axum::http::StatusCode,
    [(axum::http::header::HeaderName, &'static str); 1],
    String,
);

fn reply(status: u16, content_type: &'static str, body: String) -> Reply {
    (
        axum::http::StatusCode::from_u16(status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        [(axum::http::header::CONTENT_TYPE, content_type)],
        body,
    )
}

async fn serve_checkpoint(
    axum::extract::State(w): axum::extract::State<Arc<Mutex<Witness>>>,
) -> Reply {
    match lock(&w).accepted.as_ref() {
        Some(a) => reply(200, "text/plain; charset=utf-8", a.note.clone()),
        None => reply(
            404,
            "text/plain; charset=utf-8",
            "this witness has cosigned no checkpoint yet\n".into(),
        ),
    }
}

async fn add_checkpoint(
    axum::extract::State(w): axum::extract::State<Arc<Mutex<Witness>>>,
    body: axum::body::Bytes,
) -> Reply {
    let text = "text/plain; charset=utf-8";
    let Ok(body) = std::str::from_utf8(&body) else {
        return reply(400, text, "the body is not UTF-8\n".into());
    };
    let req = match AddCheckpoint::parse(body) {
        Ok(r) => r,
        Err(e) => return reply(400, text, format!("{e}\n")),
    };
    let mut g = lock(&w);
    if let Some(msg) = &g.stopped {
        return reply(503, text, format!("{msg}\n"));
    }
    match add(&mut g, &req) {
        Ok(line) => reply(200, text, format!("{line}\n")),
        Err(AddError::Conflict(size)) => reply(409, "text/x.tlog.size", format!("{size}\n")),
        Err(AddError::Status(s, m)) => reply(s, text, format!("{m}\n")),
    }
}

/// An `add-checkpoint` request body: `old N`, the consistency proof, a blank line and
/// the checkpoint note.
struct AddCheckpoint {
    old: u64,
    proof: Vec<Hash>,
    note: String,
}

impl AddCheckpoint {
    fn parse(body: &str) -> Result<AddCheckpoint, String> {
        let (head, note) = body
            .split_once("\n\n")
            .ok_or("no blank line before the checkpoint")?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| {
                !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && (n.len() == 1 || !n.starts_with('0'))
            })
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or("the first line must be `old N`, N in plain decimal")?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == 63 {
                return Err("more than 63 consistency proof lines".into());
            }
            let raw = B64.decode(l).map_err(|_| "a proof line is not base64")?;
            proof.push(raw.try_into().map_err(|_| "a proof hash is not 32 bytes")?);
        }
        Ok(AddCheckpoint {
            old,
            proof,
            note: note.to_string(),
        })
    }
}

enum AddError {
    /// 409 with the size of the latest cosigned checkpoint.
    Conflict(u64),
    Status(u16, String),
}

/// The checks of C2SP tlog-witness `add-checkpoint`, made against the accepted
/// checkpoint and persisted under the same lock, so two requests cannot roll it back.
fn add(g: &mut Witness, req: &AddCheckpoint) -> Result<String, AddError> {
    let (text, _) =
        split_note(&req.note).map_err(|e| AddError::Status(400, format!("the checkpoint: {e}")))?;
    let origin = text.lines().next().unwrap_or_default();
    if origin != g.log.name {
        return Err(AddError::Status(
            404,
            format!("this witness does not witness the log {origin:?}"),
        ));
    }
    let cp = g.open(&req.note).map_err(|e| AddError::Status(403, e))?;
    if req.old > cp.size {
        return Err(AddError::Status(
            400,
            format!(
                "old size {} is larger than the checkpoint's {}",
                req.old, cp.size
            ),
        ));
    }
    let latest = g.accepted.as_ref().map_or(0, |a| a.cp.size);
    if req.old != latest {
        return Err(AddError::Conflict(latest));
    }
    let cosigs = g
        .cosignatures(&req.note)
        .map_err(|e| AddError::Status(422, e))?;
    match g.accepted.clone() {
        Some(acc) if acc.cp.size == cp.size => {
            if acc.cp.root != cp.root {
                // Two roots the log signed for one size: a fork, whoever brought it.
                let reason = format!(
                    "fork: a checkpoint of size {} with another root, through add-checkpoint",
                    cp.size
                );
                g.stop(Evidence {
                    reason,
                    accepted: acc.note,
                    offered: req.note.clone(),
                    peer: None,
                    proof: Vec::new(),
                });
                return Err(AddError::Conflict(latest));
            }
        }
        Some(acc) => {
            verify_consistency_from(acc.cp.size, cp.size, &req.proof, &acc.cp.root, &cp.root)
                .map_err(|e| AddError::Status(422, format!("the consistency proof: {e}")))?;
        }
        None => {
            if !req.proof.is_empty() {
                return Err(AddError::Status(
                    422,
                    "the consistency proof from size 0 must be empty".into(),
                ));
            }
        }
    }
    let mut cosigs = cosigs;
    let party = g.party.clone();
    let line = g.cosign(&cp);
    cosigs.insert(party, line.clone());
    let note = g.note_with(&req.note, &cosigs);
    g.save(Accepted { note, cp })
        .map_err(|e| AddError::Status(500, format!("cannot keep the checkpoint: {e}")))?;
    Ok(line)
}
