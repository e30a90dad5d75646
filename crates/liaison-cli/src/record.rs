//! The shared record from the command line: keys, receipts, party witnesses and the
//! full audit.

use crate::output::json;
use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use liaison_api::wire::{
    CellView, CosignatureAccepted, CosignatureRequest, KeyRequest, Me, Receipt, WitnessRequest,
    WitnessView, Written,
};
use liaison_client::Client;
use liaison_log::checkpoint::Checkpoint;
use liaison_log::entry::Entry;
use liaison_log::merkle::{Tree, consistency_proof, leaf_hash, verify_consistency_from};
use liaison_log::note::{Verifier, open_note};
use liaison_log::proof;
use liaison_log::tiles::{TilePath, TiledHashes, parse_entry_bundle, tile_bytes};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand, Clone)]
pub enum KeyCmd {
    /// Register the public half of a key file as your signing key (rotates any old one).
    Register {
        #[arg(long)]
        key: PathBuf,
    },
    /// Revoke a signing key by id.
    Revoke { key_id: String },
}

/// Writes a file readable only by its owner.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    liaison_server::app::write_private(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn keygen(out: &Path, openssh: bool, as_json: bool) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists; refusing to overwrite a key", out.display());
    }
    let key = liaison_log::keys::generate(&mut rand_os());
    let text = if openssh {
        bail!(
            "writing OpenSSH keys is not supported; use `ssh-keygen -t ed25519 -N ''`, which this tool reads"
        )
    } else {
        liaison_log::keys::to_pkcs8_pem(&key)?
    };
    write_private(out, text.as_bytes())?;
    let public = liaison_log::keys::public_b64(&key.verifying_key());
    let id = liaison_log::keys::operator_key_id(&key.verifying_key());
    let pub_path = out.with_extension("pub");
    std::fs::write(&pub_path, format!("{public}\n"))?;
    if as_json {
        return json(&serde_json::json!({"private_key": out, "public_key": public, "key_id": id}));
    }
    println!(
        "wrote {} (private, mode 0600) and {}",
        out.display(),
        pub_path.display()
    );
    println!("public key {public}  (key id {id})");
    println!(
        "register it with: liaison key register --key {}",
        out.display()
    );
    Ok(())
}

fn rand_os() -> rand::rngs::OsRng {
    rand::rngs::OsRng
}

pub fn read_key(path: &Path) -> anyhow::Result<ed25519_dalek::SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key {}", path.display()))?;
    Ok(liaison_log::keys::read_private_key(&text)?)
}

/// A client that signs every submission with the operator's key.
pub fn signing_client(c: Client, key_path: &Path) -> anyhow::Result<Client> {
    let key = read_key(key_path)?;
    let me: Me = c.get("/api/v1/me")?;
    let cell: CellView = c.get("/api/v1/cell")?;
    let key_id = liaison_log::keys::operator_key_id(&key.verifying_key());
    let origin = cell.log.origin;
    let signer = move |method: &str, path: &str, body: &[u8]| {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(body));
        let msg =
            liaison_api::signing::submission_message(&origin, &me.operator, method, path, &digest);
        format!("{key_id}:{}", liaison_log::keys::sign_b64(&key, &msg))
    };
    Ok(c.with_signer(Arc::new(signer)))
}

pub fn key(c: &Client, cmd: KeyCmd, as_json: bool) -> anyhow::Result<()> {
    let w: Written = match cmd {
        KeyCmd::Register { key } => {
            let k = read_key(&key)?;
            let public_key = liaison_log::keys::public_b64(&k.verifying_key());
            c.post("/api/v1/keys", &KeyRequest { public_key })?
        }
        KeyCmd::Revoke { key_id } => c.post(
            &format!("/api/v1/keys/{key_id}/revoke"),
            &serde_json::json!({}),
        )?,
    };
    if as_json {
        return json(&w);
    }
    println!("done; {}", crate::output::receipt_line(&w.receipt));
    Ok(())
}

/// Reads a receipt file: the JSON a write returned (whole, or its `receipt` field).
fn read_receipt(path: &Path) -> anyhow::Result<Receipt> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
        anyhow!(
            "{} is not JSON: save the answer of a write (it has a \"receipt\" field)",
            path.display()
        )
    })?;
    let r = v.get("receipt").cloned().unwrap_or(v);
    serde_json::from_value(r).context("the file holds no receipt (index, proof, checkpoint, entry)")
}

pub fn verify_receipt(path: &Path, vkey: &str, as_json: bool) -> anyhow::Result<()> {
    let r = read_receipt(path)?;
    let log = Verifier::from_vkey(vkey).map_err(|e| anyhow!("--vkey: {e}"))?;
    use base64::Engine;
    let entry_bytes = base64::engine::general_purpose::STANDARD
        .decode(&r.entry)
        .context("INVALID: the receipt's `entry` is not base64")?;
    let entry =
        Entry::decode(&entry_bytes).map_err(|e| anyhow!("INVALID: the receipt's `entry`: {e}"))?;
    let leaf = leaf_hash(&entry_bytes);
    if hex::encode(leaf) != r.leaf_hash {
        bail!("INVALID: the receipt's `leaf_hash` is not the hash of its `entry`");
    }
    if entry.index != r.index {
        bail!(
            "INVALID: the receipt's `index` is {} but its `entry` says {}",
            r.index,
            entry.index
        );
    }
    let parsed = proof::Receipt::parse(&r.text).map_err(|e| anyhow!("INVALID: {e}"))?;
    // Every form the receipt carries is checked: the JSON `index`, `proof` and
    // `checkpoint` must say what its `text` says (the `entry` and `leaf_hash` are
    // held to each other and to the index above), so that no form a reader might
    // trust goes unverified.
    parsed
        .agrees_with(r.index, &r.proof, &r.checkpoint)
        .map_err(|e| anyhow!("INVALID: {e}"))?;
    let cp = parsed
        .verify(&log, &leaf)
        .map_err(|e| anyhow!("INVALID: {e}"))?;
    if as_json {
        return json(&serde_json::json!({
            "valid": true, "index": entry.index, "kind": entry.kind, "author": entry.author_operator,
            "party": entry.author_party, "time_micros": entry.time_micros, "log": cp.origin, "tree_size": cp.size,
        }));
    }
    println!("VALID receipt");
    println!(
        "  entry {} ({}) by {} ({}) at {} µs since the epoch",
        entry.index, entry.kind, entry.author_operator, entry.author_party, entry.time_micros
    );
    println!(
        "  is in the log {} of {} entries, whose checkpoint is signed by the log key",
        cp.origin, cp.size
    );
    println!(
        "  the payload's SHA-256 is {}",
        hex::encode(entry.payload_sha256)
    );
    Ok(())
}

fn fetch_tile(c: &Client, p: TilePath) -> Result<Vec<u8>, String> {
    c.get_bytes(&format!("/log/{}", p.format()))
        .map_err(|e| e.to_string())
}

/// Witness state on disk: the last checkpoint this witness accepted and the log key it pinned.
struct WitnessState {
    dir: PathBuf,
}

impl WitnessState {
    fn checkpoint(&self) -> anyhow::Result<Option<String>> {
        let p = self.dir.join("checkpoint");
        if !p.exists() {
            return Ok(None);
        }
        Ok(Some(std::fs::read_to_string(&p)?))
    }
    fn save(&self, note: &str) -> anyhow::Result<()> {
        write_private(&self.dir.join("checkpoint"), note.as_bytes())
    }
    fn evidence(&self, accepted: &str, offered: &str, reason: &str) -> anyhow::Result<PathBuf> {
        let n = std::fs::read_dir(&self.dir)?.count();
        let d = self.dir.join(format!("evidence-{n}"));
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join("accepted.checkpoint"), accepted)?;
        std::fs::write(d.join("offered.checkpoint"), offered)?;
        std::fs::write(d.join("reason.txt"), format!("{reason}\n"))?;
        Ok(d)
    }
}

/// Checks a newly offered checkpoint against the last accepted one. Returns the parsed
/// checkpoint, or a reason to stop.
fn check_offered(
    c: &Client,
    log: &Verifier,
    accepted: Option<&str>,
    offered: &str,
) -> Result<Checkpoint, String> {
    let opened = open_note(offered, std::slice::from_ref(log))
        .map_err(|e| format!("the checkpoint's log signature does not verify: {e}"))?;
    let new = Checkpoint::parse(opened.text()).map_err(|e| e.to_string())?;
    if new.origin != log.name {
        return Err(format!("checkpoint for another log: {}", new.origin));
    }
    let Some(acc) = accepted else { return Ok(new) };
    let old_text = liaison_log::note::note_text(acc).map_err(|e| e.to_string())?;
    let old = Checkpoint::parse(&old_text).map_err(|e| e.to_string())?;
    if new.size < old.size {
        return Err(format!(
            "rollback: offered size {} is smaller than the accepted {}",
            new.size, old.size
        ));
    }
    if new.size == old.size {
        return if new.root == old.root {
            Ok(new)
        } else {
            Err(format!("fork: two different roots for size {}", new.size))
        };
    }
    let mut tiles = TiledHashes::new(new.size, |p| fetch_tile(c, p));
    let proof = if old.size == 0 {
        Vec::new()
    } else {
        consistency_proof(&mut tiles, old.size, new.size)
            .map_err(|e| format!("cannot build the consistency proof from tiles: {e}"))?
    };
    verify_consistency_from(old.size, new.size, &proof, &old.root, &new.root).map_err(|e| {
        format!("fork: the new checkpoint is not consistent with the accepted one ({e})")
    })?;
    // The tiles must also hash to the new root, or the server is serving a different tree.
    let root = liaison_log::merkle::root(&mut tiles, new.size).map_err(|e| e.to_string())?;
    if root != new.root {
        return Err("fork: the tiles served do not hash to the checkpoint's root".into());
    }
    Ok(new)
}

pub struct WitnessArgs {
    pub party: String,
    pub key: PathBuf,
    pub state: PathBuf,
    pub once: bool,
    pub interval_ms: u64,
}

pub fn witness(c: &Client, a: WitnessArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.state)?;
    let st = WitnessState {
        dir: a.state.clone(),
    };
    let cell: CellView = c.get("/api/v1/cell")?;
    let me: Me = c.get("/api/v1/me")?;
    if me.party != a.party {
        bail!(
            "the token belongs to party {} but this witness is for {}",
            me.party,
            a.party
        );
    }
    // Pin the log key on first run; a different key later is a different log.
    let pinned = a.state.join("log.vkey");
    let vkey = if pinned.exists() {
        let v = std::fs::read_to_string(&pinned)?.trim().to_string();
        if v != cell.log.vkey {
            bail!(
                "the server now presents log key {} but this witness pinned {}",
                cell.log.vkey,
                v
            );
        }
        v
    } else {
        std::fs::write(&pinned, format!("{}\n", cell.log.vkey))?;
        cell.log.vkey.clone()
    };
    let log = Verifier::from_vkey(&vkey).map_err(|e| anyhow!("log key: {e}"))?;
    let key = read_key(&a.key)?;
    let name = format!("{}.witness", a.party);
    let signer =
        liaison_log::cosignature::witness_signer(&name, key).map_err(|e| anyhow!("{e}"))?;
    let my_vkey = signer.verifier().vkey();
    let registered: Vec<WitnessView> = c.get("/api/v1/witnesses")?;
    if !registered
        .iter()
        .any(|w| w.party == a.party && w.vkey == my_vkey)
    {
        let _: Written = c.post(
            "/api/v1/witnesses",
            &WitnessRequest {
                vkey: my_vkey.clone(),
            },
        )?;
        eprintln!("registered witness key {my_vkey} for party {}", a.party);
    }
    loop {
        let offered =
            String::from_utf8(c.get_bytes("/log/checkpoint")?).context("checkpoint is not text")?;
        let accepted = st.checkpoint()?;
        match check_offered(c, &log, accepted.as_deref(), &offered) {
            Err(reason) => {
                let d = st.evidence(accepted.as_deref().unwrap_or(""), &offered, &reason)?;
                bail!(
                    "WITNESS STOPPED: {reason}. Evidence kept in {}",
                    d.display()
                );
            }
            Ok(cp) => {
                let is_new = accepted
                    .as_deref()
                    .map(|a| {
                        liaison_log::note::note_text(a).ok()
                            != liaison_log::note::note_text(&offered).ok()
                    })
                    .unwrap_or(true);
                if is_new {
                    // Persist before cosigning, so a crash never cosigns a checkpoint the
                    // witness has not recorded.
                    let own = strip_cosignatures(&offered, &log);
                    st.save(&own)?;
                    let time = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    let line = liaison_log::cosignature::cosign(&cp.to_text(), &signer, time);
                    let r: CosignatureAccepted = c.post(
                        "/log/cosignature",
                        &CosignatureRequest {
                            size: cp.size,
                            cosignature: line,
                        },
                    )?;
                    println!(
                        "cosigned size {} (cosigned by {}{})",
                        cp.size,
                        r.cosigned_by.join(","),
                        if r.r#final { "; final" } else { "" }
                    );
                }
            }
        }
        if a.once {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(a.interval_ms));
    }
}

/// Keeps only the log's own signature line, so the stored checkpoint is what the log signed.
fn strip_cosignatures(note: &str, log: &Verifier) -> String {
    let Some(idx) = note.rfind("\n\n") else {
        return note.to_string();
    };
    let (text, sigs) = note.split_at(idx + 2);
    let own: Vec<&str> = sigs
        .lines()
        .filter(|l| l.starts_with(&format!("— {} ", log.name)))
        .collect();
    format!("{text}{}\n", own.join("\n"))
}

/// Re-reads every tile and entry from a server, recomputes the tree and checks the
/// signed checkpoint.
pub fn verify_server(c: &Client, as_json: bool) -> anyhow::Result<()> {
    let cell: CellView = c.get("/api/v1/cell")?;
    let log = Verifier::from_vkey(&cell.log.vkey).map_err(|e| anyhow!("log key: {e}"))?;
    let note = String::from_utf8(c.get_bytes("/log/checkpoint")?)?;
    let opened = open_note(&note, std::slice::from_ref(&log))
        .map_err(|e| anyhow!("FAILED: checkpoint signature: {e}"))?;
    let cp = Checkpoint::parse(opened.text())?;
    let mut tree = Tree::new();
    let mut n = 0u64;
    while n * 256 < cp.size {
        let w = (cp.size - n * 256).min(256);
        let p = TilePath::Entries {
            index: n,
            width: (w < 256).then_some(w as u16),
        };
        let bundle = c.get_bytes(&format!("/log/{}", p.format()))?;
        let entries =
            parse_entry_bundle(&bundle).map_err(|e| anyhow!("FAILED: {}: {e}", p.format()))?;
        if entries.len() as u64 != w {
            bail!(
                "FAILED: {} holds {} entries, expected {w}",
                p.format(),
                entries.len()
            );
        }
        for (i, e) in entries.iter().enumerate() {
            let index = n * 256 + i as u64;
            let entry = Entry::decode(e).map_err(|err| anyhow!("FAILED: entry {index}: {err}"))?;
            if entry.index != index || entry.origin != cp.origin {
                bail!(
                    "FAILED: entry {index} claims index {} of log {}",
                    entry.index,
                    entry.origin
                );
            }
            tree.push(leaf_hash(e));
        }
        n += 1;
    }
    if tree.root() != cp.root {
        bail!("FAILED: the entries hash to a different root than the signed checkpoint");
    }
    let mut tiles_checked = 0;
    for level in 0..3u8 {
        let count = cp.size >> (8 * u32::from(level));
        let mut t = 0u64;
        while t * 256 < count {
            let w = (count - t * 256).min(256);
            let width = (w < 256).then_some(w as u16);
            let p = TilePath::Hashes {
                level,
                index: t,
                width,
            };
            let served = c.get_bytes(&format!("/log/{}", p.format()))?;
            let want = tile_bytes(&tree, level, t, width).map_err(|e| anyhow!("{e}"))?;
            if served != want {
                bail!(
                    "FAILED: tile {} differs from the tree the entries build",
                    p.format()
                );
            }
            tiles_checked += 1;
            t += 1;
        }
    }
    if as_json {
        return json(&serde_json::json!({"ok": true, "size": cp.size, "tiles": tiles_checked}));
    }
    println!(
        "OK: {} entries re-read, {tiles_checked} tiles checked, root matches the checkpoint signed by {}",
        cp.size, log.name
    );
    Ok(())
}

/// Offline audit of a data directory: every stored entry is re-derived from its event,
/// the tree is rebuilt and the last checkpoint's signature and root are checked.
pub fn verify_data(dir: &Path, as_json: bool) -> anyhow::Result<()> {
    use liaison_store::Store;
    let key = std::fs::read_to_string(dir.join("log.key"))
        .with_context(|| format!("no log key in {}", dir.display()))?;
    let signer =
        liaison_server::ledger::LogSigner::from_key_text(key.trim()).map_err(|e| anyhow!(e))?;
    let store = liaison_store::SqliteStore::open(&dir.join("cell.db"))?;
    let mut ledger = liaison_server::ledger::Ledger::new(signer.clone());
    let mut from = 0u64;
    loop {
        let rows = store.read_events(from, liaison_store::MAX_READ)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.seq != from {
                bail!("FAILED: event {from} is missing");
            }
            let event = liaison_api::codec::decode_event(&row.event)
                .map_err(|e| anyhow!("FAILED: event {}: {e}", row.seq))?;
            if ledger.entry_for(&event) != row.entry {
                bail!(
                    "FAILED: event {} does not match its log entry (the event or the entry was altered)",
                    row.seq
                );
            }
            ledger.push(&row.entry);
            from += 1;
        }
    }
    let cp = store
        .latest_checkpoint()?
        .ok_or_else(|| anyhow!("FAILED: no signed checkpoint"))?;
    ledger
        .check_signed(&cp.note)
        .map_err(|e| anyhow!("FAILED: {e}"))?;
    if as_json {
        return json(&serde_json::json!({"ok": true, "size": from}));
    }
    println!(
        "OK: {from} events re-derived and hashed; the root matches the checkpoint signed by {}",
        signer.origin()
    );
    Ok(())
}
