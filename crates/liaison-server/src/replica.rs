//! A replica of the data directory in a second folder (another disk, a network mount),
//! written in step with every commit by [`liaison_store::Replicated`].
//!
//! Before the server serves, the replica is brought to the primary's record: a folder
//! without a cell, or one whose record is a prefix of the primary's (its last checkpoint
//! is the primary's at that size), is made a copy of the primary's database in one
//! transaction (SQLite's online backup); one that holds more than the primary, or other
//! entries, is refused and left as it is, for its record may be the only copy of what
//! the primary lost. The data directory's other files (the log key, the TLS certificate
//! and key, the credentials files) are copied beside it, so that the replica is a data
//! directory `liaison serve --data` runs from as it is. A lock file says which server
//! replicates into the folder: a second one, or a server started on the replica itself,
//! is refused while it is held.

use crate::app::{DataDir, OpenError};
use crate::at_rest;
use liaison_store::{SqliteStore, Store};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The lock file a server holds in the folder it replicates into.
pub const LOCK_FILE: &str = "replica.lock";
/// The lock file a server holds in the data directory it serves.
pub const SERVE_LOCK_FILE: &str = "serve.lock";

/// Files of a data directory that are not copied into a replica or a backup: the
/// database's own (copied by SQLite), unfinished writes and the lock.
pub fn is_data_file(name: &str) -> bool {
    !(name == "cell.db"
        || name.starts_with("cell.db-")
        || name.ends_with(".tmp")
        || name == LOCK_FILE
        || name == SERVE_LOCK_FILE)
}

/// The lock on a replica folder, held while its server runs.
pub struct Held(#[allow(dead_code)] File);

fn lock_file(dir: &Path) -> Result<File, OpenError> {
    open_lock(&dir.join(LOCK_FILE))
}

fn open_lock(path: &Path) -> Result<File, OpenError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map_err(|e| OpenError::Invalid(format!("cannot open {}: {e}", path.display())))
}

/// Takes the data directory's lock for as long as the result lives: two servers on one
/// data directory would each append to the record from their own state and fork it.
pub fn hold_serving(dir: &Path) -> Result<Held, OpenError> {
    let path = dir.join(SERVE_LOCK_FILE);
    let f = open_lock(&path)?;
    match f.try_lock() {
        Ok(()) => Ok(Held(f)),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::Invalid(format!(
            "another server serves {} (it holds {SERVE_LOCK_FILE}); stop it first, or give this one its own data directory",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(OpenError::Invalid(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// Refuses to serve from `dir` while a server replicates into it.
pub fn check_not_replicating(dir: &Path) -> Result<(), OpenError> {
    let path = dir.join(LOCK_FILE);
    if !path.exists() {
        return Ok(());
    }
    let f = lock_file(dir)?;
    match f.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::Invalid(format!(
            "{} is the replica of a running server, which writes to it; stop that server before serving from its replica",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(OpenError::Invalid(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// Takes the folder's lock for as long as the result lives.
fn hold(dir: &Path) -> Result<Held, OpenError> {
    let f = lock_file(dir)?;
    match f.try_lock() {
        Ok(()) => Ok(Held(f)),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::Invalid(format!(
            "another server replicates into {} (it holds {LOCK_FILE}); give each server its own replica folder",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(OpenError::Invalid(format!(
            "cannot lock {}: {e}",
            dir.join(LOCK_FILE).display()
        ))),
    }
}

/// The folder's path with symbolic links resolved, to compare two folders.
fn real(p: &Path) -> Result<PathBuf, OpenError> {
    std::fs::canonicalize(p)
        .map_err(|e| OpenError::Invalid(format!("cannot resolve {}: {e}", p.display())))
}

/// Brings the replica folder `replica` to the record of `primary` (the store of the
/// data directory `data`, already replayed and checked against its signed checkpoint)
/// and returns its store and its lock. See the module's documentation.
pub fn prepare(
    data: &Path,
    replica: &Path,
    primary: &dyn Store,
) -> Result<(SqliteStore, Held), OpenError> {
    at_rest::make_private_dir(replica).map_err(|e| {
        OpenError::Invalid(format!(
            "cannot create the replica folder {}: {e}",
            replica.display()
        ))
    })?;
    let (d, r) = (real(data)?, real(replica)?);
    if r.starts_with(&d) || d.starts_with(&r) {
        return Err(OpenError::Invalid(format!(
            "the replica folder {} must be outside the data directory {} and not hold it: losing one must not lose the other",
            replica.display(),
            data.display()
        )));
    }
    let held = hold(replica)?;
    let (pd, rd) = (DataDir(data.to_path_buf()), DataDir(replica.to_path_buf()));
    let key = std::fs::read(pd.log_key())?;
    if rd.log_key().exists() && std::fs::read(rd.log_key())? != key {
        return Err(OpenError::Invalid(format!(
            "{} holds another cell's log key: it is no replica of this cell; give an empty folder",
            replica.display()
        )));
    }
    let have = primary.len()?;
    let head = primary.latest_checkpoint()?;
    let in_step = if rd.db().exists() {
        at_rest::check_data_dir(replica, &rd.db()).map_err(OpenError::Invalid)?;
        let store = SqliteStore::open(&rd.db())?;
        compare(replica, &store, primary, have)?
    } else {
        at_rest::create_private_file(&rd.db())?;
        false
    };
    if !in_step {
        tracing::info!(replica = %replica.display(), events = have, "copying the record to the replica");
        liaison_store::copy_database_into(&pd.db(), &rd.db())?;
    }
    for e in std::fs::read_dir(data)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !e.file_type()?.is_file() || !is_data_file(name) {
            continue;
        }
        let bytes = std::fs::read(e.path())?;
        let to = replica.join(name);
        if std::fs::read(&to).ok().as_deref() != Some(&bytes[..]) {
            at_rest::write_private(&to, &bytes)?;
        }
    }
    let store = SqliteStore::open(&rd.db())?;
    if store.len()? != have || store.latest_checkpoint()? != head {
        return Err(OpenError::Corrupt(format!(
            "the replica in {} does not hold the primary's record after the copy",
            replica.display()
        )));
    }
    Ok((store, held))
}

/// Whether the replica already holds the primary's record (`true`), is a prefix of it
/// to be caught up (`false`), or must be left alone (an error that says why).
fn compare(
    dir: &Path,
    replica: &dyn Store,
    primary: &dyn Store,
    have: u64,
) -> Result<bool, OpenError> {
    let held = replica.len()?;
    let refuse = |why: String| {
        OpenError::Invalid(format!(
            "the replica in {} {why}; it is left as it is. If the primary lost events the replica holds, serve from the replica (`liaison serve --data {}`, see docs/operations.md); if the replica is stale, give a new folder",
            dir.display(),
            dir.display()
        ))
    };
    if held > have {
        return Err(refuse(format!(
            "is ahead of the primary: it holds {held} events, the primary {have}"
        )));
    }
    if held == 0 {
        return Ok(false);
    }
    let theirs = replica.latest_checkpoint()?;
    let Some(theirs) = theirs.filter(|c| c.size == held) else {
        return Err(refuse(format!(
            "holds {held} events without their signed checkpoint"
        )));
    };
    let ours = primary.checkpoint(held)?;
    let last = |s: &dyn Store| -> Result<Option<Vec<u8>>, OpenError> {
        Ok(s.read_events(held - 1, 1)?.pop().map(|e| e.entry))
    };
    if ours.as_ref() != Some(&theirs) || last(replica)? != last(primary)? {
        return Err(refuse(format!(
            "diverges from the primary: its checkpoint for {held} events is not the primary's"
        )));
    }
    Ok(held == have)
}
