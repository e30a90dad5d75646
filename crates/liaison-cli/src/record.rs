//! The shared record from the command line: keys, receipts, party witnesses and the
//! full audit.

use crate::output::json;
use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use liaison_api::wire::{CellView, KeyRequest, Me, Receipt, Written};
use liaison_client::Client;
use liaison_log::checkpoint::Checkpoint;
use liaison_log::entry::Entry;
use liaison_log::merkle::{Tree, leaf_hash};
use liaison_log::note::{Verifier, open_note};
use liaison_log::proof;
use liaison_log::tiles::{BundleItem, TilePath, parse_entry_bundle, tile_bytes};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand, Clone)]
pub enum KeyCmd {
    /// Register the public half of a key file as your signing key (rotates any old one);
    /// the registration is signed with your current key (`--key` or `LIAISON_KEY`).
    Register {
        /// The new key (PKCS#8 PEM, as `liaison keygen` writes it).
        #[arg(long)]
        new_key: PathBuf,
    },
    /// Revoke a signing key by id.
    Revoke {
        /// The key's id (as `cell show` lists it).
        key_id: String,
    },
}

/// Writes a file readable only by its owner.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    liaison_server::app::write_private(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn keygen(out: &Path, party: Option<&str>, as_json: bool) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists; refusing to overwrite a key", out.display());
    }
    if let Some(party) = party {
        // A party's key: signed-note key text, its verifier key pinned in the charter.
        let signer = liaison_log::note::Signer::generate(&format!("{party}.party"), &mut rand_os())
            .map_err(|e| anyhow!("party key: {e}"))?;
        write_private(out, format!("{}\n", signer.key_text()).as_bytes())?;
        let vkey = signer.verifier().vkey();
        if as_json {
            return json(&serde_json::json!({"private_key": out, "vkey": vkey}));
        }
        println!("wrote {} (private, mode 0600)", out.display());
        println!("pin it in the charter's [[parties]] entry for {party}:");
        println!("key = \"{vkey}\"");
        return Ok(());
    }
    let key = liaison_log::keys::generate(&mut rand_os());
    let text = liaison_log::keys::to_pkcs8_pem(&key)?;
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
        "register it with: liaison key register --new-key {}",
        out.display()
    );
    Ok(())
}

/// A party's witness key: the Ed25519 key file `witness --witness-key` reads, and its
/// verifier key (`<party>.witness+keyid+base64`, type 0x04) in OUT.vkey, for the
/// charter's `witness = …`.
pub fn keygen_witness(out: &Path, party: &str, as_json: bool) -> anyhow::Result<()> {
    liaison_core::charter::check_id("--witness", party).map_err(|e| anyhow!("{e}"))?;
    if out.exists() {
        bail!("{} exists; refusing to overwrite a key", out.display());
    }
    let key = liaison_log::keys::generate(&mut rand_os());
    let signer = liaison_log::cosignature::witness_signer(&format!("{party}.witness"), key.clone())
        .map_err(|e| anyhow!("{e}"))?;
    let vkey = signer.verifier().vkey();
    write_private(out, liaison_log::keys::to_pkcs8_pem(&key)?.as_bytes())?;
    let vkey_path = out.with_extension("vkey");
    std::fs::write(&vkey_path, format!("{vkey}\n"))?;
    if as_json {
        return json(&serde_json::json!({"private_key": out, "vkey": vkey}));
    }
    println!(
        "wrote {} (private, mode 0600) and {}",
        out.display(),
        vkey_path.display()
    );
    println!("{party}'s witness key; pin it in the charter's [[parties]] entry for {party}:");
    println!("witness = \"{vkey}\"");
    Ok(())
}

/// A log key made before the cell: `PRIVATE+KEY+…` for `init --log-key`, and its
/// verifier key in OUT.vkey, for the charter's `[log] key = …`.
pub fn keygen_log(out: &Path, origin: &str, as_json: bool) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists; refusing to overwrite a key", out.display());
    }
    let signer = liaison_server::ledger::LogSigner::generate(origin).map_err(|e| anyhow!(e))?;
    let vkey = signer.vkey();
    write_private(out, format!("{}\n", signer.key_text()).as_bytes())?;
    let vkey_path = out.with_extension("vkey");
    std::fs::write(&vkey_path, format!("{vkey}\n"))?;
    if as_json {
        return json(&serde_json::json!({"private_key": out, "vkey": vkey}));
    }
    println!(
        "wrote {} (private, mode 0600) and {}",
        out.display(),
        vkey_path.display()
    );
    println!(
        "pin it in the charter, then create the cell with `liaison init --log-key {}`:",
        out.display()
    );
    println!("[log]\nkey = \"{vkey}\"");
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

/// The headers that sign one write as `operator` of the log `origin`
/// (`liaison/submission/v2`): a fresh random nonce and the current time.
pub fn sign_headers(
    key: &ed25519_dalek::SigningKey,
    origin: &str,
    operator: &str,
    input: &liaison_client::SignInput,
) -> Result<Vec<(String, String)>, String> {
    sign_headers_as(key, None, origin, operator, input)
}

/// [`sign_headers`], and with `party` also the party's statement: its key's signature
/// over the same text (`Liaison-Party-Signature`).
pub fn sign_headers_as(
    key: &ed25519_dalek::SigningKey,
    party: Option<&liaison_log::note::Signer>,
    origin: &str,
    operator: &str,
    input: &liaison_client::SignInput,
) -> Result<Vec<(String, String)>, String> {
    use rand::RngCore;
    use sha2::Digest;
    let mut n = [0u8; 16];
    rand_os().fill_bytes(&mut n);
    let nonce = hex::encode(n);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    let time = liaison_api::time::format(liaison_core::Timestamp::from_secs(
        i64::try_from(now.as_secs()).map_err(|e| e.to_string())?,
    ));
    let header = |name: &str| {
        input
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let signed = liaison_api::signing::SignedRequest {
        origin: origin.to_string(),
        operator: operator.to_string(),
        method: input.method.to_string(),
        path: input.path.to_string(),
        query: input.query.to_string(),
        headers: liaison_api::signing::SIGNED_HEADERS.map(header),
        body_sha256: hex::encode(sha2::Sha256::digest(input.body)),
        nonce: nonce.clone(),
        time: time.clone(),
    }
    .canonical()?;
    let key_id = liaison_log::keys::operator_key_id(&key.verifying_key());
    let mut headers = vec![
        (
            liaison_api::signing::HEADER.to_string(),
            format!(
                "{key_id}:{}",
                liaison_log::keys::sign_b64(key, signed.as_bytes())
            ),
        ),
        (liaison_api::signing::NONCE_HEADER.to_string(), nonce),
        (liaison_api::signing::TIME_HEADER.to_string(), time),
    ];
    if let Some(p) = party {
        headers.push((
            liaison_api::signing::PARTY_HEADER.to_string(),
            format!(
                "{}:{}",
                hex::encode(p.verifier().id),
                liaison_log::keys::sign_b64(p.signing_key(), signed.as_bytes())
            ),
        ));
    }
    Ok(headers)
}

/// Reads a party's key: the signed-note private key text, alone in its file or as the
/// `party_key` of the party's credentials file.
pub fn read_party_key(path: &Path) -> anyhow::Result<liaison_log::note::Signer> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read party key {}", path.display()))?;
    let text = match serde_json::from_str::<liaison_api::wire::CredentialsFile>(&text) {
        Ok(file) => file.party_key.ok_or_else(|| {
            anyhow!(
                "{} holds no party_key (a party that pinned its own key keeps it apart)",
                path.display()
            )
        })?,
        Err(_) => text,
    };
    liaison_log::note::Signer::from_key_text(text.trim())
        .map_err(|e| anyhow!("party key {}: {e}", path.display()))
}

/// A client that signs every submission with the operator's key.
pub fn signing_client(
    c: Client,
    key_path: &Path,
    party_key: Option<&Path>,
) -> anyhow::Result<Client> {
    let key = read_key(key_path)?;
    let party = party_key.map(read_party_key).transpose()?;
    let me: Me = c.get("/api/v1/me")?;
    let cell: CellView = c.get("/api/v1/cell")?;
    let origin = cell.log.origin;
    let signer = move |input: &liaison_client::SignInput| {
        // A write that cannot be signed goes unsigned, and the server says why.
        sign_headers_as(&key, party.as_ref(), &origin, &me.operator, input).unwrap_or_default()
    };
    Ok(c.with_signer(Arc::new(signer)))
}

pub fn key(c: &Client, cmd: KeyCmd, as_json: bool) -> anyhow::Result<()> {
    let w: Written = match cmd {
        KeyCmd::Register { new_key } => {
            let k = read_key(&new_key)?;
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

/// What `verify-receipt` checks a receipt against.
pub struct ReceiptTrust {
    pub vkey: Option<String>,
    pub credentials: Option<PathBuf>,
    pub charter: Option<PathBuf>,
    /// `PARTY=VKEY`: a witness key the charter does not pin, as the record registered it.
    pub witnesses: Vec<String>,
    /// Require a cosignature from the witness of every member party and the supervisor.
    pub final_: bool,
}

/// Checks that a receipt's checkpoint carries a valid cosignature from the witness of
/// every member party and of the supervising party; answers them.
fn check_final(
    t: &ReceiptTrust,
    pins: &crate::witness::Pins,
    note: &str,
) -> anyhow::Result<Vec<String>> {
    let Some(parties) = &pins.parties else {
        bail!("--final needs the parties and their witness keys: give --credentials or --charter");
    };
    let mut given = std::collections::BTreeMap::new();
    for w in &t.witnesses {
        let (party, vkey) = w
            .split_once('=')
            .ok_or_else(|| anyhow!("--witness {w:?}: use PARTY=VKEY"))?;
        given.insert(party.to_string(), vkey.to_string());
    }
    let (body, lines) = liaison_log::note::split_note(note).map_err(|e| anyhow!("INVALID: {e}"))?;
    let mut cosigned = Vec::new();
    for (party, role, pinned) in parties {
        if role == "observer" {
            continue;
        }
        let vkey = match (pinned, given.get(party)) {
            (Some(p), Some(g)) if p != g => {
                bail!("--witness {party}={g}: the charter pins {p} as {party}'s witness key")
            }
            (Some(p), _) => p.clone(),
            (None, Some(g)) => g.clone(),
            (None, None) => bail!(
                "the charter pins no witness key for {party}: give --witness {party}=VKEY (GET /api/v1/witnesses)"
            ),
        };
        let v = Verifier::from_vkey(&vkey).map_err(|e| anyhow!("{party}'s witness key: {e}"))?;
        let line = lines
            .iter()
            .find(|l| l.name == v.name && l.blob.len() >= 4 && l.blob[..4] == v.id)
            .ok_or_else(|| {
                anyhow!("NOT FINAL: the checkpoint carries no cosignature of {party}'s witness")
            })?;
        use base64::Engine;
        let text = format!(
            "— {} {}",
            line.name,
            base64::engine::general_purpose::STANDARD.encode(&line.blob)
        );
        liaison_log::cosignature::verify_cosignature_line(&vkey, &body, &text).map_err(|e| {
            anyhow!("NOT FINAL: the cosignature of {party}'s witness does not verify: {e}")
        })?;
        cosigned.push(party.clone());
    }
    Ok(cosigned)
}

pub fn verify_receipt(path: &Path, t: &ReceiptTrust, as_json: bool) -> anyhow::Result<()> {
    let r = read_receipt(path)?;
    let pins = crate::witness::trust(&crate::witness::Sources {
        log_key: t.vkey.as_deref(),
        credentials: t.credentials.as_deref(),
        charter: t.charter.as_deref(),
    })?;
    let log = pins.log.clone();
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
    let cosigned = if t.final_ {
        Some(check_final(t, &pins, &parsed.checkpoint)?)
    } else {
        None
    };
    if as_json {
        return json(&serde_json::json!({
            "valid": true, "index": entry.index, "kind": entry.kind, "author": entry.author_operator,
            "party": entry.author_party, "time_micros": entry.time_micros,
            "time": chrono::DateTime::<chrono::Utc>::from_timestamp_micros(entry.time_micros).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            "log": cp.origin, "tree_size": cp.size,
            "final": cosigned.is_some(), "cosigned_by": cosigned,
        }));
    }
    println!("VALID receipt");
    println!(
        "  entry {} ({}) by {} ({}) at {}",
        entry.index,
        entry.kind,
        entry.author_operator,
        entry.author_party,
        crate::output::when_micros(entry.time_micros)
    );
    println!(
        "  is in the log {} of {} entries, whose checkpoint is signed by the log key",
        cp.origin, cp.size
    );
    println!(
        "  the payload's SHA-256 is {}",
        hex::encode(entry.payload_sha256)
    );
    if let Some(parties) = cosigned {
        println!(
            "  FINAL: the checkpoint is cosigned by the witness of every member party and the supervisor ({})",
            parties.join(", ")
        );
    }
    Ok(())
}

/// Re-reads every tile and entry bundle from a server, recomputes the tree and checks
/// the signed checkpoint. An entry the caller may read is checked in full (it decodes,
/// names this log and its index, and says what the event the caller reads says, down to
/// its payload's hash); one it may not read is served as its leaf hash alone and goes
/// into the tree as such, so a change to any entry still changes the root.
pub fn verify_server(c: &Client, as_json: bool) -> anyhow::Result<()> {
    let cell: CellView = c.get("/api/v1/cell")?;
    let log = Verifier::from_vkey(&cell.log.vkey).map_err(|e| anyhow!("log key: {e}"))?;
    let note = String::from_utf8(c.get_bytes("/log/checkpoint")?)?;
    let opened = open_note(&note, std::slice::from_ref(&log))
        .map_err(|e| anyhow!("FAILED: checkpoint signature: {e}"))?;
    let cp = Checkpoint::parse(opened.text())?;
    let mut tree = Tree::new();
    // Each entry of the tree, `None` where the server withheld it from this reader.
    let mut all_entries: Vec<Option<Entry>> = Vec::new();
    let mut n = 0u64;
    while n * 256 < cp.size {
        let w = (cp.size - n * 256).min(256);
        let p = TilePath::Entries {
            index: n,
            width: (w < 256).then_some(w as u16),
        };
        let bundle = c.get_bytes(&format!("/log/{}", p.format()))?;
        let items =
            parse_entry_bundle(&bundle).map_err(|e| anyhow!("FAILED: {}: {e}", p.format()))?;
        if items.len() as u64 != w {
            bail!(
                "FAILED: {} holds {} entries, expected {w}",
                p.format(),
                items.len()
            );
        }
        for (i, item) in items.iter().enumerate() {
            let index = n * 256 + i as u64;
            let item = BundleItem::of(item);
            tree.push(item.leaf_hash());
            let BundleItem::Entry(e) = item else {
                all_entries.push(None);
                continue;
            };
            let entry = Entry::decode(e).map_err(|err| anyhow!("FAILED: entry {index}: {err}"))?;
            if entry.index != index || entry.origin != cp.origin {
                bail!(
                    "FAILED: entry {index} claims index {} of log {}",
                    entry.index,
                    entry.origin
                );
            }
            all_entries.push(Some(entry));
        }
        n += 1;
    }
    if tree.root() != cp.root {
        bail!("FAILED: the entries hash to a different root than the signed checkpoint");
    }
    let read = check_readable(c, &cp.origin, &all_entries)?;
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
    let in_full = all_entries.iter().filter(|e| e.is_some()).count();
    let by_hash = all_entries.len() - in_full;
    if as_json {
        return json(&serde_json::json!({
            "ok": true, "size": cp.size, "tiles": tiles_checked, "entries_in_full": in_full,
            "entries_by_hash": by_hash, "events_read": read.events, "payloads": read.payloads,
            "signatures": read.signatures,
        }));
    }
    println!(
        "OK: {} entries re-read ({in_full} in full, {by_hash} by their leaf hash alone: events this operator may not read), {tiles_checked} tiles checked, root matches the checkpoint signed by {}",
        cp.size, log.name
    );
    println!(
        "OK: {} events read agree with their entries ({} payload hashes recomputed), {} author signatures checked",
        read.events, read.payloads, read.signatures
    );
    Ok(())
}

/// Offline audit of a data directory: every stored entry is re-derived from its event,
/// the tree is rebuilt and the last checkpoint's signature and root are checked.
pub fn verify_data(dir: &Path, as_json: bool) -> anyhow::Result<()> {
    let key = std::fs::read_to_string(dir.join("log.key"))
        .with_context(|| format!("no log key in {}", dir.display()))?;
    let signer =
        liaison_server::ledger::LogSigner::from_key_text(key.trim()).map_err(|e| anyhow!(e))?;
    let store = liaison_store::SqliteStore::open(&dir.join("cell.db"))?;
    let Audited { size, signatures } = audit_store(&store, &signer)?;
    if as_json {
        return json(&serde_json::json!({"ok": true, "size": size, "signatures": signatures}));
    }
    println!(
        "OK: {size} events re-derived and hashed; the root matches the checkpoint signed by {}",
        signer.origin()
    );
    println!(
        "OK: {signatures} author signatures are over exactly the bytes their entries commit to"
    );
    Ok(())
}

/// What an audit of a store found sound.
pub struct Audited {
    /// Events re-derived and hashed: the size of the last signed checkpoint.
    pub size: u64,
    /// Author signatures checked over the bytes their entries commit to.
    pub signatures: u64,
}

/// The audit `verify --data` runs: every stored entry is re-derived from its event, each
/// author signature checked, the tree rebuilt, and the last checkpoint's signature by
/// `signer` and its root checked against it.
pub fn audit_store(
    store: &liaison_store::SqliteStore,
    signer: &liaison_server::ledger::LogSigner,
) -> anyhow::Result<Audited> {
    use liaison_store::Store;
    let mut ledger = liaison_server::ledger::Ledger::new(signer.clone());
    let mut keys = Keys::new();
    let mut signatures = 0u64;
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
            if ledger.entry_for(&event, Entry::salt_of(&row.entry)) != row.entry {
                bail!(
                    "FAILED: event {} does not match its log entry (the event or the entry was altered)",
                    row.seq
                );
            }
            let entry =
                Entry::decode(&row.entry).map_err(|e| anyhow!("FAILED: entry {}: {e}", row.seq))?;
            if let liaison_core::event::EventBody::OperatorKeyRegistered {
                name,
                public_key,
                key_id,
            } = &event.body
            {
                keys.insert((name.clone(), key_id.clone()), public_key.clone());
            }
            if let Some(sig) = &event.signature {
                let authored = Authored {
                    seq: event.seq,
                    operator: &event.author.operator,
                    observed: event.observed,
                    signature: sig,
                };
                if check_authored(&authored, &entry, signer.origin(), &keys)
                    .map_err(|e| anyhow!("FAILED: {e}"))?
                {
                    signatures += 1;
                }
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
    Ok(Audited {
        size: from,
        signatures,
    })
}

/// Operators' public keys by (operator, key id), as registered in the record.
type Keys = std::collections::HashMap<(String, String), String>;

/// An event's authorship as the record states it.
struct Authored<'a> {
    seq: u64,
    operator: &'a str,
    observed: bool,
    signature: &'a liaison_core::event::AuthorSignature,
}

/// Checks that an event is exactly what its author signed: the signed bytes hash to
/// what its entry commits to, they name this log, this author and the nonce and time
/// kept beside them, and the author's registered key signed them. `Ok(false)` for a
/// signature recorded under v1, which kept no signed bytes.
fn check_authored(a: &Authored, entry: &Entry, origin: &str, keys: &Keys) -> Result<bool, String> {
    use sha2::Digest;
    let seq = a.seq;
    let sig = a.signature;
    let Some(signed) = &sig.signed else {
        return Ok(false);
    };
    let hash: [u8; 32] = sha2::Sha256::digest(signed.as_bytes()).into();
    if entry.signed_sha256 != Some(hash) {
        return Err(format!(
            "event {seq}: the signed bytes stored with it are not those its log entry commits to"
        ));
    }
    if a.observed || entry.observed {
        return Err(format!(
            "event {seq}: a server observation carries an author signature"
        ));
    }
    let r = liaison_api::signing::SignedRequest::parse(signed)
        .map_err(|e| format!("event {seq}: {e}"))?;
    let time = liaison_api::time::parse(&r.time).map_err(|e| format!("event {seq}: {e}"))?;
    if r.origin != origin
        || r.operator != a.operator
        || Some(&r.nonce) != sig.nonce.as_ref()
        || Some(time) != sig.time
        || r.body_sha256 != sig.body_sha256
    {
        return Err(format!(
            "event {seq}: the signed bytes name another log, author, nonce, time or body than the event"
        ));
    }
    let key = keys
        .get(&(a.operator.to_string(), sig.key_id.clone()))
        .ok_or_else(|| {
            format!(
                "event {seq}: key {} of {} is not registered in the record",
                sig.key_id, a.operator
            )
        })?;
    liaison_log::keys::verify_signature_b64(key, signed.as_bytes(), &sig.signature)
        .map_err(|e| format!("event {seq}: the author's signature does not verify: {e}"))?;
    Ok(true)
}

/// What checking the events a reader reads against their entries counted.
struct ReadChecked {
    events: u64,
    payloads: u64,
    signatures: u64,
}

/// The SHA-256 of an event's payload as the caller reads it (`kind` and `data`), or
/// `None` when the view leaves out a field the payload holds (a token's hash).
fn payload_sha256(e: &liaison_api::wire::EventView) -> Option<[u8; 32]> {
    use sha2::Digest;
    let mut data = e.data.as_object()?.clone();
    data.insert("kind".into(), serde_json::Value::String(e.kind.clone()));
    let body: liaison_core::event::EventBody =
        serde_json::from_value(serde_json::Value::Object(data)).ok()?;
    Some(sha2::Sha256::digest(serde_json::to_vec(&body).ok()?).into())
}

/// Checks every event the caller may read against the entries of the verified tree:
/// its entry was served in full, and says the event's kind, author, time, audience and
/// payload hash; and its author's signature, if any, is over what the entry commits to.
fn check_readable(
    c: &Client,
    origin: &str,
    entries: &[Option<Entry>],
) -> anyhow::Result<ReadChecked> {
    let mut keys = Keys::new();
    let mut checked = ReadChecked {
        events: 0,
        payloads: 0,
        signatures: 0,
    };
    let mut after: Option<u64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/v1/events/page?limit=1000&after={a}"),
            None => "/api/v1/events/page?limit=1000".to_string(),
        };
        let page: liaison_api::wire::EventsPage = c.get(&path)?;
        for e in &page.events {
            if e.kind == "operator_key_registered" {
                let field = |k: &str| e.data.get(k).and_then(|v| v.as_str()).map(str::to_string);
                if let (Some(n), Some(p), Some(k)) =
                    (field("name"), field("public_key"), field("key_id"))
                {
                    keys.insert((n, k), p);
                }
            }
            if e.seq >= entries.len() as u64 {
                // Recorded after the checkpoint this run verified.
                continue;
            }
            let entry = entries[e.seq as usize].as_ref().ok_or_else(|| {
                anyhow!(
                    "FAILED: event {} is served to this operator, but its entry was withheld",
                    e.seq
                )
            })?;
            let at = liaison_api::time::parse(&e.at)
                .map_err(|err| anyhow!("FAILED: event {}: its time: {err}", e.seq))?;
            if entry.kind != e.kind
                || entry.author_operator != e.author.operator
                || entry.author_party != e.author.party
                || entry.observed != e.author.observed
                || entry.time_micros != at.micros()
                || entry.audience != e.audience
            {
                bail!(
                    "FAILED: event {} is not what its entry says (kind, author, time or audience)",
                    e.seq
                );
            }
            if let Some(h) = payload_sha256(e) {
                if h != entry.payload_sha256 {
                    bail!(
                        "FAILED: event {}'s content is not what its entry's payload hash commits to",
                        e.seq
                    );
                }
                checked.payloads += 1;
            }
            checked.events += 1;
            let Some(sig) = &e.signature else { continue };
            let sig: liaison_core::event::AuthorSignature = serde_json::from_value(sig.clone())
                .map_err(|err| anyhow!("FAILED: event {}: its signature: {err}", e.seq))?;
            let authored = Authored {
                seq: e.seq,
                operator: &e.author.operator,
                observed: e.author.observed,
                signature: &sig,
            };
            if check_authored(&authored, entry, origin, &keys)
                .map_err(|err| anyhow!("FAILED: {err}"))?
            {
                checked.signatures += 1;
            }
        }
        match page.next_after {
            Some(n) => after = Some(n),
            None => return Ok(checked),
        }
    }
}
