//! Durable storage for the record: the ordered events, the signed checkpoints and their
//! cosignatures, and content-addressed blobs (attachments).
//!
//! [`Store`] is deliberately narrow: it stores bytes in sequence and never interprets
//! them, so a second backend (PostgreSQL) only has to keep the same promises, which
//! [`conformance::run`] checks. It must never decide anything about the domain, and an
//! append that returns `Ok` must survive `kill -9` and power loss.

pub mod conformance;
mod memory;
mod replicated;
mod sqlite;

pub use memory::MemoryStore;
pub use replicated::{Replicated, ReplicationStatus};
pub use sqlite::{SqliteStore, backup_database, copy_database_into};

/// One event as stored: its sequence number, the canonical log entry (header bytes that
/// are hashed into the Merkle tree) and the full event in the wire crate's encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: u64,
    pub entry: Vec<u8>,
    pub event: Vec<u8>,
}

/// A signed checkpoint note for the tree of `size` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
}

/// Everything one group commit writes, in one transaction.
#[derive(Clone, Debug, Default)]
pub struct AppendBatch {
    pub events: Vec<StoredEvent>,
    pub checkpoint: Option<StoredCheckpoint>,
    /// Idempotency keys claimed by the requests whose events this batch records, so a
    /// retry after a crash finds its first request recorded and records nothing new.
    pub claims: Vec<StoredClaim>,
}

/// An idempotency key as a request recorded under it claimed it. The store keeps the
/// bytes as given: `request` and `recorded` are the server's, never interpreted here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClaim {
    /// Whose key it is (the operator); keys of different scopes never meet.
    pub scope: String,
    pub key: String,
    /// What identifies the request (the server's fingerprint of it).
    pub request: Vec<u8>,
    /// When it was claimed, in microseconds since the epoch (the server's clock).
    pub created_micros: i64,
    /// What the request recorded (the server's encoding).
    pub recorded: Vec<u8>,
}

/// A claimed idempotency key and, once the server kept it, the first answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredIdempotent {
    pub claim: StoredClaim,
    pub answer: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("append out of order: the store holds {have} events but the batch starts at {got}")]
    OutOfOrder { have: u64, got: u64 },
    #[error("checkpoint for size {0} does not follow the stored one")]
    CheckpointRegression(u64),
    /// The disk (or the database's size limit) is full: nothing of the call was
    /// written, and the same call may succeed once space is freed.
    #[error("storage is full: {0}")]
    Full(String),
    /// The replica did not take a write the primary took: the primary took it back,
    /// so neither holds it, and the same call may succeed once the replica answers.
    #[error("the replica did not take the write: {0}")]
    Replica(String),
    #[error("storage error: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

impl StoreError {
    /// True when the call failed for want of space and may be retried once space is
    /// freed: the store holds nothing of it.
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Full(_))
    }

    /// True when the replica failed and nothing of the call was kept anywhere.
    pub fn is_replica(&self) -> bool {
        matches!(self, StoreError::Replica(_))
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Upper bound on rows one `read_events` call returns.
pub const MAX_READ: usize = 10_000;

pub trait Store: Send + Sync + 'static {
    /// Appends a batch durably: the events must continue the sequence exactly, and the
    /// checkpoint (if any) must be for a larger tree than the last stored one. Either
    /// everything is written or nothing is.
    fn append(&self, batch: &AppendBatch) -> Result<()>;
    /// Takes back a batch this store appended and nobody was told of: its events, its
    /// checkpoint and its claims, only while they are the store's last, byte for byte.
    /// `Ok(false)` when the store does not hold the batch's first event (it was never
    /// appended, or already taken back); an error when it holds something else there,
    /// which is left as it is. The replicated store calls it on its primary when the
    /// replica refuses a batch, so that a refused batch is kept nowhere. A claim the
    /// batch replaced (one past its 24 hours, claimed again) is not brought back.
    fn undo_append(&self, batch: &AppendBatch) -> Result<bool>;
    /// How many events the store holds; the next sequence number.
    fn len(&self) -> Result<u64>;
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Events with `seq >= from`, at most `limit` (capped at [`MAX_READ`]).
    fn read_events(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>>;
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;
    /// The checkpoint signed for a tree of exactly `size` entries, if one was.
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>>;
    /// Stores a witness's cosignature line for the checkpoint of `size`; a second
    /// cosignature from the same witness for the same size replaces nothing.
    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<bool>;
    /// Cosignature lines gathered for the checkpoint of `size`, by witness name.
    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>>;
    /// For each witness, the largest checkpoint size it has cosigned.
    fn latest_cosigned(&self) -> Result<Vec<(String, u64)>>;
    /// The largest checkpoint size that every one of `witnesses` has cosigned (none
    /// for an empty list).
    fn cosigned_by_all(&self, witnesses: &[String]) -> Result<Option<u64>>;
    /// Content-addressed blobs; `key` is the hex SHA-256 computed by the caller.
    fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<()>;
    fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// The claim of `key` in `scope`, with its answer if one was kept. A claim made in
    /// a later batch replaces an earlier one of the same scope and key.
    fn idempotent(&self, scope: &str, key: &str) -> Result<Option<StoredIdempotent>>;
    /// Keeps the first answer to a claimed key; a key never claimed keeps nothing, and a
    /// second answer replaces nothing.
    fn keep_answer(&self, scope: &str, key: &str, answer: &[u8]) -> Result<bool>;
    /// Forgets the claims made before `micros`; returns how many.
    fn forget_claims_before(&self, micros: i64) -> Result<u64>;
    /// Whether a small durable write succeeds now: after a [`StoreError::Full`], the
    /// writer asks this before it decides another batch, so that while the disk stays
    /// full it refuses at once and keeps nothing of the refused batch. A store that
    /// cannot run out of space answers `Ok`.
    fn probe_write(&self) -> Result<()> {
        Ok(())
    }
    /// How the store's replica fares, for a store that keeps one.
    fn replication(&self) -> Option<ReplicationStatus> {
        None
    }
}
