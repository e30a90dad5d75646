//! `backup` and `restore`: a cell's data directory in one archive, taken while the
//! server runs, and put back into an empty folder, or over a cell only when that does
//! not take the log back behind what was recorded or cosigned (unless forced).
//!
//! The archive is a plain tar file, mode 0600 (it holds the cell's private keys):
//! `liaison-backup.json` first (the format, the log's origin and key, the number of
//! events, and each file's size and SHA-256), then `cell.db`, a consistent copy made
//! with SQLite's online backup and audited before the archive is written, then every
//! other file at the top of the data directory (`log.key`, the TLS certificate and key,
//! credentials files).

use crate::output::json;
use crate::record::{Audited, audit_store};
use anyhow::{Context, anyhow, bail};
use liaison_log::checkpoint::Checkpoint;
use liaison_log::note::{Verifier, open_note};
use liaison_server::at_rest;
use liaison_server::ledger::LogSigner;
use liaison_store::{SqliteStore, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The manifest's name inside the archive: its first member.
pub const MANIFEST: &str = "liaison-backup.json";
const FORMAT: &str = "liaison-backup/1";
const DB: &str = "cell.db";
const LOG_KEY: &str = "log.key";

/// What an archive holds, written first so that a restore knows what to expect.
#[derive(Serialize, Deserialize, Debug)]
struct Manifest {
    format: String,
    /// The log's origin and verifier key: which cell this is.
    origin: String,
    log_vkey: String,
    /// Events in the copy, which is also the size of its last signed checkpoint.
    events: u64,
    /// When the copy was taken (RFC 3339).
    taken: String,
    files: Vec<FileEntry>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct FileEntry {
    name: String,
    bytes: u64,
    sha256: String,
}

/// A folder made for the duration of a command and removed afterwards, whatever
/// happens.
struct Scratch(PathBuf);

impl Scratch {
    fn new(path: PathBuf) -> anyhow::Result<Scratch> {
        if path.exists() {
            bail!(
                "{} exists: a backup or restore may be running, or one stopped half-way; remove it and try again",
                path.display()
            );
        }
        at_rest::make_private_dir(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn now_rfc3339() -> String {
    use liaison_server::Clock;
    liaison_api::time::format(liaison_server::SystemClock.now())
}

fn sha256_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

/// The log signer of a data directory's (or a staged archive's) `log.key`.
fn signer_in(dir: &Path) -> anyhow::Result<LogSigner> {
    let p = dir.join(LOG_KEY);
    let text = std::fs::read_to_string(&p)
        .with_context(|| format!("cannot read the log key {}", p.display()))?;
    LogSigner::from_key_text(text.trim()).map_err(|e| anyhow!("{}: {e}", p.display()))
}

/// The files of a data directory that go into an archive besides the database: every
/// regular file at its top, except the database's own files and unfinished writes.
fn other_files(data: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(data).with_context(|| format!("cannot list {}", data.display()))? {
        let e = e?;
        if !e.file_type()?.is_file() {
            continue;
        }
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if liaison_server::replica::is_data_file(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// `liaison backup --data DIR --out FILE`.
pub fn backup(data: &Path, out: &Path, as_json: bool) -> anyhow::Result<()> {
    if !data.join(DB).exists() {
        bail!(
            "{} holds no cell (no {DB}); give the data directory the server runs on",
            data.display()
        );
    }
    if out.exists() {
        bail!(
            "{} exists; give a new file name (a backup never overwrites one)",
            out.display()
        );
    }
    let signer = signer_in(data)?;
    let file_name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{} is not a file name", out.display()))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let scratch = Scratch::new(parent.join(format!(".{file_name}.partial")))?;
    let copy = scratch.0.join(DB);
    at_rest::create_private_file(&copy)?;
    liaison_store::backup_database(&data.join(DB), &copy)
        .with_context(|| format!("copying {}", data.join(DB).display()))?;
    // The copy is audited as `verify --data` audits a folder: an archive is never made
    // of a copy that does not verify.
    let Audited { size, signatures } = {
        let store = SqliteStore::open_read_only(&copy)?;
        audit_store(&store, &signer).context("the copy does not verify")?
    };
    let mut sources = vec![(DB.to_string(), copy.clone())];
    for name in other_files(data)? {
        sources.push((name.clone(), data.join(&name)));
    }
    let mut files = Vec::new();
    for (name, path) in &sources {
        let (bytes, sha256) = sha256_file(path)?;
        files.push(FileEntry {
            name: name.clone(),
            bytes,
            sha256,
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        origin: signer.origin().to_string(),
        log_vkey: signer.vkey(),
        events: size,
        taken: now_rfc3339(),
        files: files.clone(),
    };
    let partial = scratch.0.join("archive.tar");
    write_archive(&partial, &manifest, &sources)?;
    std::fs::rename(&partial, out)
        .with_context(|| format!("cannot move the archive to {}", out.display()))?;
    if let Ok(d) = std::fs::File::open(&parent) {
        let _ = d.sync_all();
    }
    if as_json {
        return json(&serde_json::json!({
            "ok": true, "out": out, "events": size, "signatures": signatures,
            "origin": manifest.origin, "files": files.iter().map(|f| &f.name).collect::<Vec<_>>(),
        }));
    }
    println!(
        "backup of {size} events of {} written to {} ({})",
        manifest.origin,
        out.display(),
        files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "OK: the copy verifies: {size} events re-derived, the root matches the signed checkpoint, {signatures} author signatures checked"
    );
    println!("it holds the cell's private keys: keep it as safe as the data directory (mode 0600)");
    Ok(())
}

/// Writes the tar: the manifest, then each file, every member mode 0600.
fn write_archive(
    path: &Path,
    manifest: &Manifest,
    sources: &[(String, PathBuf)],
) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = |size: u64| {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        h
    };
    let text = serde_json::to_vec_pretty(manifest)?;
    tar.append_data(&mut header(text.len() as u64), MANIFEST, text.as_slice())?;
    for (name, src) in sources {
        let f =
            std::fs::File::open(src).with_context(|| format!("cannot read {}", src.display()))?;
        let len = f.metadata()?.len();
        tar.append_data(&mut header(len), name, f)
            .with_context(|| format!("writing {name} into the archive"))?;
    }
    let mut w = tar.into_inner()?;
    w.flush()?;
    let file = w.into_inner().map_err(|e| anyhow!("{}", e.error()))?;
    file.sync_all()?;
    Ok(())
}

/// Where a restore must not take the log back behind.
pub struct RestoreArgs {
    pub from: PathBuf,
    pub data: PathBuf,
    pub force: bool,
    /// State directories of party witnesses (`liaison witness --state`).
    pub witness_states: Vec<PathBuf>,
    /// Party witnesses' addresses (`liaison witness --listen`), asked `GET /checkpoint`.
    pub witnesses: Vec<String>,
}

/// A size the log has already reached somewhere, and who says so.
struct Reached {
    who: String,
    size: u64,
}

/// Reads the archive into `stage`, checking every member against the manifest.
fn unpack(from: &Path, stage: &Path) -> anyhow::Result<Manifest> {
    let file =
        std::fs::File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut manifest: Option<Manifest> = None;
    let mut seen = Vec::new();
    for entry in archive
        .entries()
        .with_context(|| format!("{} is not a tar archive", from.display()))?
    {
        let mut entry = entry.with_context(|| format!("{} is damaged", from.display()))?;
        let path = entry.path()?.into_owned();
        let name = path.to_str().map(str::to_string).unwrap_or_default();
        let plain = !name.is_empty()
            && !name.contains('/')
            && !name.contains('\\')
            && name != "."
            && name != "..";
        if !plain || entry.header().entry_type() != tar::EntryType::Regular {
            bail!(
                "{} holds {}, which is not a plain file name: not a Liaison backup",
                from.display(),
                path.display()
            );
        }
        if manifest.is_none() {
            if name != MANIFEST {
                bail!(
                    "{} does not start with {MANIFEST}: not a Liaison backup",
                    from.display()
                );
            }
            let mut text = Vec::new();
            entry.read_to_end(&mut text)?;
            let m: Manifest = serde_json::from_slice(&text)
                .with_context(|| format!("{MANIFEST} in {} does not parse", from.display()))?;
            if m.format != FORMAT {
                bail!(
                    "{} is a backup of format {}; this binary reads {FORMAT}",
                    from.display(),
                    m.format
                );
            }
            manifest = Some(m);
            continue;
        }
        let m = manifest.as_ref().ok_or_else(|| anyhow!("no manifest"))?;
        let Some(want) = m.files.iter().find(|f| f.name == name) else {
            bail!(
                "{} holds {name}, which its manifest does not list",
                from.display()
            );
        };
        if seen.contains(&name) {
            bail!("{} holds {name} twice", from.display());
        }
        let dest = stage.join(&name);
        at_rest::create_private_file(&dest)?;
        let mut out = std::fs::OpenOptions::new().write(true).open(&dest)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            let k = entry.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            out.write_all(&buf[..k])?;
            n += k as u64;
        }
        out.sync_all()?;
        if n != want.bytes || hex::encode(h.finalize()) != want.sha256 {
            bail!(
                "{name} in {} is not what its manifest says (size or SHA-256): the archive is damaged",
                from.display()
            );
        }
        seen.push(name);
    }
    let m = manifest.ok_or_else(|| anyhow!("{} is empty: not a Liaison backup", from.display()))?;
    for f in &m.files {
        if !seen.contains(&f.name) {
            bail!(
                "{} lacks {}, which its manifest lists: the archive is incomplete",
                from.display(),
                f.name
            );
        }
    }
    Ok(m)
}

/// The size of the checkpoint a witness holds, checked against the backup's log key.
fn witness_checkpoint(note: &str, log: &Verifier, who: &str) -> anyhow::Result<u64> {
    let opened = open_note(note, std::slice::from_ref(log)).map_err(|e| {
        anyhow!("{who}: its checkpoint is not signed by the backup's log key ({e}): it follows another log")
    })?;
    Ok(Checkpoint::parse(opened.text())
        .map_err(|e| anyhow!("{who}: {e}"))?
        .size)
}

/// What the log has already reached beyond the archive, by what the folder restored
/// over holds and what the parties' witnesses cosigned.
fn reached(
    a: &RestoreArgs,
    m: &Manifest,
    existing: Option<&SqliteStore>,
) -> anyhow::Result<Vec<Reached>> {
    let log = Verifier::from_vkey(&m.log_vkey).map_err(|e| anyhow!("the backup's log key: {e}"))?;
    let mut out = Vec::new();
    if let Some(store) = existing {
        out.push(Reached {
            who: format!("the cell in {}", a.data.display()),
            size: store.len()?,
        });
        for (witness, size) in store.latest_cosigned()? {
            out.push(Reached {
                who: format!(
                    "{witness}'s witness (a cosignature kept in {})",
                    a.data.display()
                ),
                size,
            });
        }
    }
    for dir in &a.witness_states {
        let p = dir.join("checkpoint");
        let who = format!("the witness state {}", dir.display());
        let note = std::fs::read_to_string(&p)
            .with_context(|| format!("{who}: cannot read {}", p.display()))?;
        out.push(Reached {
            size: witness_checkpoint(&note, &log, &who)?,
            who,
        });
    }
    for url in &a.witnesses {
        let url = format!("{}/checkpoint", url.trim_end_matches('/'));
        let who = format!("the witness at {url}");
        let resp = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?
            .get(&url)
            .send()
            .with_context(|| format!("{who}: cannot reach it"))?;
        if !resp.status().is_success() {
            bail!("{who}: answered {}", resp.status());
        }
        let note = resp.text()?;
        out.push(Reached {
            size: witness_checkpoint(&note, &log, &who)?,
            who,
        });
    }
    Ok(out)
}

/// `liaison restore --from FILE --data DIR`.
pub fn restore(a: &RestoreArgs, as_json: bool) -> anyhow::Result<()> {
    let data = &a.data;
    let holds_cell = data.join(DB).exists();
    if data.exists() && !holds_cell {
        let mut entries =
            std::fs::read_dir(data).with_context(|| format!("cannot list {}", data.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty and holds no cell: restore into an empty or new folder",
                data.display()
            );
        }
    }
    at_rest::make_private_dir(data).with_context(|| format!("cannot create {}", data.display()))?;
    // Held until the restored files are in place: no server may serve the folder meanwhile.
    let _serving =
        liaison_server::replica::hold_serving(data).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stage = Scratch::new(data.join(format!(".restore-{}", std::process::id())))?;
    let (m, Audited { size, signatures }) = stage_archive(&a.from, &stage.0)?;
    let ahead = refuse_rollback(a, &m, size, holds_cell)?;
    let kept = if holds_cell {
        Some(keep_aside(data, &m)?)
    } else {
        None
    };
    for f in &m.files {
        std::fs::rename(stage.0.join(&f.name), data.join(&f.name))
            .with_context(|| format!("cannot put {} in place", f.name))?;
    }
    drop(stage);
    if let Ok(d) = std::fs::File::open(data) {
        let _ = d.sync_all();
    }
    let most = ahead.iter().map(|r| r.size).max();
    if as_json {
        return json(&serde_json::json!({
            "ok": true, "data": data, "events": size, "signatures": signatures,
            "origin": m.origin, "taken": m.taken, "rolled_back_from": most,
            "replaced_kept_in": kept,
        }));
    }
    println!(
        "restored {size} events of {} (backup taken {}) into {}; the copy verifies ({signatures} author signatures checked)",
        m.origin,
        m.taken,
        data.display()
    );
    if let Some(k) = &kept {
        println!("the cell it replaced is kept in {}", k.display());
    }
    if let Some(most) = most {
        println!(
            "ROLLED BACK: the log had reached {most} events; events {size} to {} are gone. Tell every party: a witness that cosigned more stops as on a fork and keeps the evidence; each party decides whether to follow the restored log (with a new witness state directory)",
            most - 1
        );
    }
    println!("serve it with: liaison serve --data {}", data.display());
    Ok(())
}

/// Unpacks the archive into `stage` and audits the copy there: it must verify and be
/// the copy its manifest describes.
fn stage_archive(from: &Path, stage: &Path) -> anyhow::Result<(Manifest, Audited)> {
    let m = unpack(from, stage)?;
    let signer = signer_in(stage)?;
    if signer.vkey() != m.log_vkey {
        bail!("the archive's log.key is not the key its manifest names: the archive is damaged");
    }
    let audited = {
        let store = SqliteStore::open_read_only(&stage.join(DB))?;
        audit_store(&store, &signer).context("the backup does not verify")?
    };
    if audited.size != m.events {
        bail!(
            "the archive's database holds {} events, its manifest says {}: the archive is damaged",
            audited.size,
            m.events
        );
    }
    Ok((m, audited))
}

/// Refuses (unless forced) a restore of `size` events when the log has gone further;
/// answers how far it went, and who says so.
fn refuse_rollback(
    a: &RestoreArgs,
    m: &Manifest,
    size: u64,
    holds_cell: bool,
) -> anyhow::Result<Vec<Reached>> {
    let existing = if holds_cell {
        let mine = signer_in(&a.data)?;
        if mine.vkey() != m.log_vkey && !a.force {
            bail!(
                "{} holds another cell (log {}) than the backup (log {}); restore into an empty or new folder, or pass --force to replace it (its files are kept aside)",
                a.data.display(),
                mine.origin(),
                m.origin
            );
        }
        let same = mine.vkey() == m.log_vkey;
        // Read only: a refused restore leaves the cell byte for byte as it was.
        same.then(|| SqliteStore::open_read_only(&a.data.join(DB)))
            .transpose()?
    } else {
        None
    };
    let ahead: Vec<Reached> = reached(a, m, existing.as_ref())?
        .into_iter()
        .filter(|r| r.size > size)
        .collect();
    if ahead.is_empty() || a.force {
        return Ok(ahead);
    }
    let lines: Vec<String> = ahead
        .iter()
        .map(|r| format!("  {} has reached {} events", r.who, r.size))
        .collect();
    let most = ahead.iter().map(|r| r.size).max().unwrap_or(size);
    bail!(
        "refusing to restore: the backup holds {size} events, but the log has gone further:\n{}\n\
         Restoring it would roll the log back: events {size} to {} were recorded, and their authors hold receipts for them; \
         they would disappear, and the next events would take their numbers with other content. \
         A party's witness that cosigned a larger checkpoint sees a log that is not an extension of what it signed, stops as on a fork, \
         and keeps the evidence; receipts for the lost events no longer verify against the log. \
         If those events are truly lost, tell every party first, then run again with --force (see docs/operations.md, \"Back up and restore\").",
        lines.join("\n"),
        most - 1
    )
}

/// Moves the files of the cell in `data` that a restore replaces into a new folder
/// `data/replaced-<unix time>`, and answers it: a cell is never deleted.
fn keep_aside(data: &Path, m: &Manifest) -> anyhow::Result<PathBuf> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = data.join(format!("replaced-{secs}"));
    if aside.exists() {
        bail!("{} exists; try again in a second", aside.display());
    }
    at_rest::make_private_dir(&aside)?;
    let mut moving: Vec<String> = m.files.iter().map(|f| f.name.clone()).collect();
    moving.extend([format!("{DB}-wal"), format!("{DB}-shm")]);
    for name in moving {
        let p = data.join(&name);
        if p.exists() {
            std::fs::rename(&p, aside.join(&name))
                .with_context(|| format!("cannot move {} aside", p.display()))?;
        }
    }
    Ok(aside)
}
