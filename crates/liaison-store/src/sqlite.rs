//! The default store: an embedded SQLite database in WAL mode with `synchronous=FULL`,
//! so a committed transaction is on disk before `append` returns.

use crate::{
    AppendBatch, MAX_READ, Result, Store, StoreError, StoredCheckpoint, StoredClaim, StoredEvent,
    StoredIdempotent,
};
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// Migrations, applied in order and recorded in `PRAGMA user_version`. Never edit one
/// that has shipped; add a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE events (
    seq   INTEGER PRIMARY KEY,
    entry BLOB NOT NULL,
    event BLOB NOT NULL
);
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TABLE cosignatures (
    size    INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TABLE blobs (
    key   TEXT PRIMARY KEY,
    bytes BLOB NOT NULL
);
"#,
    r#"
CREATE TABLE idempotency (
    scope    TEXT NOT NULL,
    key      TEXT NOT NULL,
    request  BLOB NOT NULL,
    created  INTEGER NOT NULL,
    recorded BLOB NOT NULL,
    answer   BLOB,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_created ON idempotency (created);
"#,
    r#"
CREATE TABLE probe (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    bytes BLOB NOT NULL
);
"#,
];

/// How many bytes `probe_write` commits: enough to need fresh pages in the WAL.
const PROBE_BYTES: i64 = 16 * 1024;

pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn open(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: the WAL is fsynced at every commit, so an acknowledged append is durable.
    c.pragma_update(None, "synchronous", "FULL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    Ok(c)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = open(path)?;
        migrate(&mut writer)?;
        let reader = open(path)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }
}

/// Opens a database to copy from; never creates one: a missing database is an error,
/// not an empty copy.
fn open_source(src: &Path) -> Result<Connection> {
    let from = Connection::open_with_flags(
        src,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    from.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(from)
}

/// Copies every page of `from` into `to` with SQLite's online backup in one step: one
/// read transaction on `from` (one committed state, whatever a writer commits
/// meanwhile) and one write transaction on `to`, which ends as it was or as the copy.
fn copy_all(from: &Connection, to: &mut Connection) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let b = Backup::new(from, to)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        // -1: every page in one step, so that the copy is never restarted by a commit.
        match b.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            _ => {
                return Err(StoreError::Backend(
                    "the database stayed locked for 60 s; no copy was made".into(),
                ));
            }
        }
    }
}

/// Makes the database at `dst` (created if missing) a copy of the one at `src`, in one
/// transaction on `dst`: a crash leaves it as it was or as the copy. `dst` stays in WAL
/// mode with `synchronous=FULL`, as [`SqliteStore::open`] keeps it, so that it can be
/// opened and appended to at once. This is how a replica that is behind catches up.
pub fn copy_database_into(src: &Path, dst: &Path) -> Result<()> {
    let from = open_source(src)?;
    let mut to = open(dst)?;
    copy_all(&from, &mut to)?;
    let check: String = to.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!(
            "the copy fails SQLite's quick check: {check}"
        )));
    }
    Ok(())
}

/// Copies the database at `src` into a new file `dst` with SQLite's online backup, in
/// one step: a read transaction on `src` sees one committed state, whatever a server
/// writing to it commits meanwhile (WAL readers never block the writer, nor it them).
/// The copy is a single file in rollback-journal mode, with no WAL beside it.
pub fn backup_database(src: &Path, dst: &Path) -> Result<()> {
    let from = open_source(src)?;
    let mut to = Connection::open(dst)?;
    copy_all(&from, &mut to)?;
    to.pragma_update(None, "journal_mode", "DELETE")?;
    let check: String = to.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!(
            "the copy fails SQLite's integrity check: {check}"
        )));
    }
    Ok(())
}

impl SqliteStore {
    /// Opens an existing database to read it only: no migration runs and nothing is
    /// written, so a database another process serves, or one to be kept as it is, is
    /// left byte for byte as found. Every write through it fails.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let open = || -> Result<Connection> {
            let c = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            Ok(c)
        };
        Ok(SqliteStore {
            writer: Mutex::new(open()?),
            reader: Mutex::new(open()?),
        })
    }
}

fn migrate(c: &mut Connection) -> Result<()> {
    let version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let version = usize::try_from(version)
        .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database schema version {version} is newer than this binary knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = c.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("value {v} out of range")))
}

impl Store for SqliteStore {
    fn append(&self, batch: &AppendBatch) -> Result<()> {
        let mut c = self.writer.lock();
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Statements are prepared once per connection: a batch is parsed by nobody.
        let have: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM events")?
            .query_row([], |r| r.get(0))?;
        let have =
            u64::try_from(have).map_err(|_| StoreError::Corrupt("negative sequence".into()))?;
        {
            let mut ins =
                tx.prepare_cached("INSERT INTO events (seq, entry, event) VALUES (?1, ?2, ?3)")?;
            for (i, e) in batch.events.iter().enumerate() {
                let expect = have + i as u64;
                if e.seq != expect {
                    return Err(StoreError::OutOfOrder {
                        have: expect,
                        got: e.seq,
                    });
                }
                ins.execute(params![to_i64(e.seq)?, e.entry, e.event])?;
            }
        }
        if let Some(cp) = &batch.checkpoint {
            let last: Option<i64> = tx
                .prepare_cached("SELECT MAX(size) FROM checkpoints")?
                .query_row([], |r| r.get(0))?;
            if last.is_some_and(|l| l > to_i64(cp.size).unwrap_or(i64::MAX)) {
                return Err(StoreError::CheckpointRegression(cp.size));
            }
            tx.prepare_cached("INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?1, ?2)")?
                .execute(params![to_i64(cp.size)?, cp.note])?;
        }
        for c in &batch.claims {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO idempotency (scope, key, request, created, recorded, answer) \
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
            )?
            .execute(params![c.scope, c.key, c.request, c.created_micros, c.recorded])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn undo_append(&self, batch: &AppendBatch) -> Result<bool> {
        let Some(first) = batch.events.first() else {
            return Err(StoreError::Backend(
                "only a batch of events can be taken back".into(),
            ));
        };
        let mut c = self.writer.lock();
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let have: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM events")?
            .query_row([], |r| r.get(0))?;
        let have =
            u64::try_from(have).map_err(|_| StoreError::Corrupt("negative sequence".into()))?;
        if have <= first.seq {
            return Ok(false);
        }
        let end = first.seq + batch.events.len() as u64;
        if have != end {
            return Err(StoreError::Backend(format!(
                "cannot take back events {}..{end}: the store holds {have}",
                first.seq
            )));
        }
        {
            let mut q = tx.prepare_cached("SELECT entry, event FROM events WHERE seq = ?1")?;
            for e in &batch.events {
                let (entry, event): (Vec<u8>, Vec<u8>) =
                    q.query_row(params![to_i64(e.seq)?], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if entry != e.entry || event != e.event {
                    return Err(StoreError::Backend(format!(
                        "cannot take back event {}: the store holds another",
                        e.seq
                    )));
                }
            }
        }
        if let Some(cp) = &batch.checkpoint {
            let latest: Option<(i64, String)> = tx
                .query_row(
                    "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if latest != Some((to_i64(cp.size)?, cp.note.clone())) {
                return Err(StoreError::Backend(format!(
                    "cannot take back the checkpoint for {}: it is not the last one stored",
                    cp.size
                )));
            }
            tx.execute(
                "DELETE FROM checkpoints WHERE size = ?1",
                params![to_i64(cp.size)?],
            )?;
        }
        tx.execute(
            "DELETE FROM events WHERE seq >= ?1",
            params![to_i64(first.seq)?],
        )?;
        for cl in &batch.claims {
            tx.execute(
                "DELETE FROM idempotency \
                 WHERE scope = ?1 AND key = ?2 AND request = ?3 AND created = ?4 AND recorded = ?5",
                params![cl.scope, cl.key, cl.request, cl.created_micros, cl.recorded],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn len(&self) -> Result<u64> {
        let c = self.reader.lock();
        let n: i64 = c.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM events", [], |r| {
            r.get(0)
        })?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative sequence".into()))
    }

    fn read_events(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let c = self.reader.lock();
        let mut q = c.prepare_cached(
            "SELECT seq, entry, event FROM events WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = q.query_map(params![to_i64(from)?, limit.min(MAX_READ) as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, entry, event) = row?;
            let seq =
                u64::try_from(seq).map_err(|_| StoreError::Corrupt("negative sequence".into()))?;
            out.push(StoredEvent { seq, entry, event });
        }
        Ok(out)
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let c = self.reader.lock();
        let row = c
            .query_row(
                "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((size, note)) => Ok(Some(StoredCheckpoint {
                size: u64::try_from(size)
                    .map_err(|_| StoreError::Corrupt("negative size".into()))?,
                note,
            })),
        }
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let c = self.reader.lock();
        let note: Option<String> = c
            .query_row(
                "SELECT note FROM checkpoints WHERE size = ?1",
                params![to_i64(size)?],
                |r| r.get(0),
            )
            .optional()?;
        Ok(note.map(|note| StoredCheckpoint { size, note }))
    }

    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<bool> {
        let c = self.writer.lock();
        let n = c.execute(
            "INSERT OR IGNORE INTO cosignatures (size, witness, line) VALUES (?1, ?2, ?3)",
            params![to_i64(size)?, witness, line],
        )?;
        Ok(n == 1)
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>> {
        let c = self.reader.lock();
        let mut q = c.prepare_cached(
            "SELECT witness, line FROM cosignatures WHERE size = ?1 ORDER BY witness",
        )?;
        let rows = q.query_map(params![to_i64(size)?], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Into::into)
    }

    fn cosigned_by_all(&self, witnesses: &[String]) -> Result<Option<u64>> {
        let mut unique: Vec<&String> = witnesses.iter().collect();
        unique.sort();
        unique.dedup();
        if unique.is_empty() {
            return Ok(None);
        }
        let c = self.reader.lock();
        let marks = vec!["?"; unique.len()].join(", ");
        let mut q = c.prepare(&format!(
            "SELECT size FROM cosignatures WHERE witness IN ({marks}) GROUP BY size \
             HAVING COUNT(DISTINCT witness) = {} ORDER BY size DESC LIMIT 1",
            unique.len()
        ))?;
        let mut rows = q.query(rusqlite::params_from_iter(unique.iter()))?;
        match rows.next()? {
            None => Ok(None),
            Some(r) => {
                let s: i64 = r.get(0)?;
                u64::try_from(s)
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt("negative size".into()))
            }
        }
    }

    fn latest_cosigned(&self) -> Result<Vec<(String, u64)>> {
        let c = self.reader.lock();
        let mut q = c.prepare_cached(
            "SELECT witness, MAX(size) FROM cosignatures GROUP BY witness ORDER BY witness",
        )?;
        let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (w, s) = row?;
            out.push((
                w,
                u64::try_from(s).map_err(|_| StoreError::Corrupt("negative size".into()))?,
            ));
        }
        Ok(out)
    }

    fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let c = self.writer.lock();
        c.execute(
            "INSERT OR IGNORE INTO blobs (key, bytes) VALUES (?1, ?2)",
            params![key, bytes],
        )?;
        Ok(())
    }

    fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let c = self.reader.lock();
        c.query_row(
            "SELECT bytes FROM blobs WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )
        .optional()
        .map_err(Into::into)
    }

    fn idempotent(&self, scope: &str, key: &str) -> Result<Option<StoredIdempotent>> {
        let c = self.reader.lock();
        Ok(c.prepare_cached(
            "SELECT request, created, recorded, answer FROM idempotency WHERE scope = ?1 AND key = ?2",
        )?
        .query_row(params![scope, key], |r| {
            Ok(StoredIdempotent {
                claim: StoredClaim {
                    scope: scope.to_string(),
                    key: key.to_string(),
                    request: r.get(0)?,
                    created_micros: r.get(1)?,
                    recorded: r.get(2)?,
                },
                answer: r.get(3)?,
            })
        })
        .optional()?)
    }

    fn keep_answer(&self, scope: &str, key: &str, answer: &[u8]) -> Result<bool> {
        let c = self.writer.lock();
        let n = c
            .prepare_cached(
                "UPDATE idempotency SET answer = ?3 WHERE scope = ?1 AND key = ?2 AND answer IS NULL",
            )?
            .execute(params![scope, key, answer])?;
        Ok(n == 1)
    }

    fn forget_claims_before(&self, micros: i64) -> Result<u64> {
        let c = self.writer.lock();
        let n = c
            .prepare_cached("DELETE FROM idempotency WHERE created < ?1")?
            .execute(params![micros])?;
        Ok(n as u64)
    }

    fn probe_write(&self) -> Result<()> {
        let c = self.writer.lock();
        c.prepare_cached("INSERT OR REPLACE INTO probe (id, bytes) VALUES (1, randomblob(?1))")?
            .execute(params![PROBE_BYTES])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> StoreError {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None).into()
    }

    #[test]
    fn a_full_disk_is_told_apart_from_other_failures() {
        assert!(failure(rusqlite::ffi::SQLITE_FULL).is_full());
        assert!(!failure(rusqlite::ffi::SQLITE_IOERR).is_full());
        assert!(!failure(rusqlite::ffi::SQLITE_BUSY).is_full());
    }

    #[test]
    fn a_backup_is_one_file_holding_the_record_and_a_read_only_store_writes_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let src = dir.path().join("cell.db");
        let store = SqliteStore::open(&src).expect("open");
        let events: Vec<StoredEvent> = (0..3)
            .map(|seq| StoredEvent {
                seq,
                entry: vec![seq as u8; 8],
                event: vec![seq as u8; 16],
            })
            .collect();
        store
            .append(&AppendBatch {
                events: events.clone(),
                checkpoint: Some(StoredCheckpoint {
                    size: 3,
                    note: "note".into(),
                }),
                claims: Vec::new(),
            })
            .expect("append");
        store.probe_write().expect("probe");
        assert_eq!(store.len().expect("len"), 3, "a probe records nothing");

        let dst = dir.path().join("copy.db");
        backup_database(&src, &dst).expect("backup");
        assert!(
            !dir.path().join("copy.db-wal").exists(),
            "the copy is one file"
        );
        let bytes = std::fs::read(&dst).expect("copy");
        let copy = SqliteStore::open_read_only(&dst).expect("open copy");
        assert_eq!(copy.read_events(0, 10).expect("read"), events);
        assert_eq!(
            copy.latest_checkpoint()
                .expect("checkpoint")
                .map(|c| c.size),
            Some(3)
        );
        let next = AppendBatch {
            events: vec![StoredEvent {
                seq: 3,
                entry: vec![3; 8],
                event: vec![3; 16],
            }],
            checkpoint: None,
            claims: Vec::new(),
        };
        assert!(copy.append(&next).is_err());
        assert!(copy.probe_write().is_err());
        drop(copy);
        assert_eq!(std::fs::read(&dst).expect("copy"), bytes);
        // A missing database is an error, never an empty copy.
        assert!(backup_database(&dir.path().join("none.db"), &dir.path().join("x.db")).is_err());
    }
}
