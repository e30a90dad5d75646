//! A store kept in step with a replica: a write returns `Ok` only once both hold it, so
//! that losing the primary's disk loses nothing a caller was told is written.
//!
//! A batch of events goes to the primary first, then to the replica. When the replica
//! refuses it, the primary takes it back ([`Store::undo_append`]) and the call fails
//! with [`StoreError::Replica`]: neither keeps a batch nobody was told of, and the next
//! batch continues the same sequence on both. A crash between the two commits leaves
//! the primary one batch ahead (never acknowledged); opening catches the replica up.
//! The other writes (cosignatures, blobs, kept answers, forgotten claims) are sets
//! that a second copy of never harms: they go to the replica first, so the primary
//! never holds one its replica lacks. Reads are the primary's.

use crate::{
    AppendBatch, Result, Store, StoreError, StoredCheckpoint, StoredEvent, StoredIdempotent,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How a replica fares, as `/metrics` shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicationStatus {
    /// Whether the replica took the last write asked of it.
    pub up: bool,
    /// Writes the replica failed since the store was opened.
    pub failures: u64,
    /// Events the replica holds, when it answers.
    pub events: Option<u64>,
}

pub struct Replicated {
    primary: Arc<dyn Store>,
    replica: Arc<dyn Store>,
    /// Set when the replica refused a batch and the primary could not take it back: the
    /// two differ, and every write is refused until a restart catches the replica up.
    diverged: AtomicBool,
    up: AtomicBool,
    failures: AtomicU64,
}

impl Replicated {
    /// A store over `primary` kept in step with `replica`, which must hold the same
    /// record already (the server catches it up before it opens this).
    pub fn new(primary: Arc<dyn Store>, replica: Arc<dyn Store>) -> Replicated {
        Replicated {
            primary,
            replica,
            diverged: AtomicBool::new(false),
            up: AtomicBool::new(true),
            failures: AtomicU64::new(0),
        }
    }

    fn replica_failed(&self, e: &StoreError) -> StoreError {
        self.up.store(false, Ordering::SeqCst);
        self.failures.fetch_add(1, Ordering::SeqCst);
        StoreError::Replica(e.to_string())
    }

    fn replica_took(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    fn check_in_step(&self) -> Result<()> {
        if self.diverged.load(Ordering::SeqCst) {
            return Err(StoreError::Backend(
                "the primary holds a batch its replica refused and could not take it back; \
                 writes are refused until a restart catches the replica up"
                    .into(),
            ));
        }
        Ok(())
    }

    /// A write to the replica before the primary's.
    fn replica_first<T>(&self, f: impl Fn(&dyn Store) -> Result<T>) -> Result<T> {
        self.check_in_step()?;
        match f(self.replica.as_ref()) {
            Ok(_) => self.replica_took(),
            Err(e) => return Err(self.replica_failed(&e)),
        }
        f(self.primary.as_ref())
    }
}

impl Store for Replicated {
    fn append(&self, batch: &AppendBatch) -> Result<()> {
        self.check_in_step()?;
        self.primary.append(batch)?;
        let Err(e) = self.replica.append(batch) else {
            self.replica_took();
            return Ok(());
        };
        let refused = self.replica_failed(&e);
        // A replica whose commit failed late may hold the batch after all; taking it
        // back there finds it only if it is the batch, byte for byte.
        let _ = self.replica.undo_append(batch);
        match self.primary.undo_append(batch) {
            Ok(_) => Err(refused),
            Err(u) => {
                self.diverged.store(true, Ordering::SeqCst);
                Err(StoreError::Backend(format!(
                    "{refused}; and the primary could not take the batch back: {u}"
                )))
            }
        }
    }

    fn undo_append(&self, batch: &AppendBatch) -> Result<bool> {
        let primary = self.primary.undo_append(batch)?;
        let replica = self
            .replica
            .undo_append(batch)
            .map_err(|e| self.replica_failed(&e))?;
        Ok(primary || replica)
    }

    fn len(&self) -> Result<u64> {
        self.primary.len()
    }

    fn read_events(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.primary.read_events(from, limit)
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.primary.latest_checkpoint()
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        self.primary.checkpoint(size)
    }

    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<bool> {
        self.replica_first(|s| s.add_cosignature(size, witness, line))
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>> {
        self.primary.cosignatures(size)
    }

    fn latest_cosigned(&self) -> Result<Vec<(String, u64)>> {
        self.primary.latest_cosigned()
    }

    fn cosigned_by_all(&self, witnesses: &[String]) -> Result<Option<u64>> {
        self.primary.cosigned_by_all(witnesses)
    }

    fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.replica_first(|s| s.put_blob(key, bytes))
    }

    fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.primary.get_blob(key)
    }

    fn idempotent(&self, scope: &str, key: &str) -> Result<Option<StoredIdempotent>> {
        self.primary.idempotent(scope, key)
    }

    fn keep_answer(&self, scope: &str, key: &str, answer: &[u8]) -> Result<bool> {
        self.replica_first(|s| s.keep_answer(scope, key, answer))
    }

    fn forget_claims_before(&self, micros: i64) -> Result<u64> {
        self.replica_first(|s| s.forget_claims_before(micros))
    }

    fn probe_write(&self) -> Result<()> {
        self.check_in_step()?;
        self.primary.probe_write()?;
        match self.replica.probe_write() {
            Ok(()) => {
                self.replica_took();
                Ok(())
            }
            Err(e) => Err(self.replica_failed(&e)),
        }
    }

    fn replication(&self) -> Option<ReplicationStatus> {
        Some(ReplicationStatus {
            up: self.up.load(Ordering::SeqCst),
            failures: self.failures.load(Ordering::SeqCst),
            events: self.replica.len().ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStore, StoredClaim, conformance};

    /// A memory store that refuses every write while `down` is set, as a replica on a
    /// disk that went away does.
    #[derive(Default)]
    struct Unplugged {
        inner: MemoryStore,
        down: AtomicBool,
    }

    impl Unplugged {
        fn check(&self) -> Result<()> {
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Backend("disk I/O error".into()));
            }
            Ok(())
        }
    }

    impl Store for Unplugged {
        fn append(&self, batch: &AppendBatch) -> Result<()> {
            self.check()?;
            self.inner.append(batch)
        }
        fn undo_append(&self, batch: &AppendBatch) -> Result<bool> {
            self.check()?;
            self.inner.undo_append(batch)
        }
        fn len(&self) -> Result<u64> {
            self.inner.len()
        }
        fn read_events(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
            self.inner.read_events(from, limit)
        }
        fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
            self.inner.latest_checkpoint()
        }
        fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
            self.inner.checkpoint(size)
        }
        fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<bool> {
            self.check()?;
            self.inner.add_cosignature(size, witness, line)
        }
        fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>> {
            self.inner.cosignatures(size)
        }
        fn latest_cosigned(&self) -> Result<Vec<(String, u64)>> {
            self.inner.latest_cosigned()
        }
        fn cosigned_by_all(&self, witnesses: &[String]) -> Result<Option<u64>> {
            self.inner.cosigned_by_all(witnesses)
        }
        fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<()> {
            self.check()?;
            self.inner.put_blob(key, bytes)
        }
        fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>> {
            self.inner.get_blob(key)
        }
        fn idempotent(&self, scope: &str, key: &str) -> Result<Option<StoredIdempotent>> {
            self.inner.idempotent(scope, key)
        }
        fn keep_answer(&self, scope: &str, key: &str, answer: &[u8]) -> Result<bool> {
            self.check()?;
            self.inner.keep_answer(scope, key, answer)
        }
        fn forget_claims_before(&self, micros: i64) -> Result<u64> {
            self.check()?;
            self.inner.forget_claims_before(micros)
        }
        fn probe_write(&self) -> Result<()> {
            self.check()
        }
    }

    fn batch(from: u64, n: u64, key: &str) -> AppendBatch {
        AppendBatch {
            events: (from..from + n)
                .map(|seq| StoredEvent {
                    seq,
                    entry: vec![seq as u8; 4],
                    event: format!("event {seq}").into_bytes(),
                })
                .collect(),
            checkpoint: Some(StoredCheckpoint {
                size: from + n,
                note: format!("cp{}", from + n),
            }),
            claims: vec![StoredClaim {
                scope: "op".into(),
                key: key.into(),
                request: key.as_bytes().to_vec(),
                created_micros: 1,
                recorded: vec![1],
            }],
        }
    }

    fn same(a: &dyn Store, b: &dyn Store) {
        assert_eq!(a.len().ok(), b.len().ok());
        assert_eq!(a.read_events(0, 100).ok(), b.read_events(0, 100).ok());
        assert_eq!(a.latest_checkpoint().ok(), b.latest_checkpoint().ok());
    }

    #[test]
    fn a_replicated_store_conforms_and_both_copies_hold_the_story() {
        let primary = Arc::new(MemoryStore::new());
        let replica = Arc::new(MemoryStore::new());
        let store = Replicated::new(primary.clone(), replica.clone());
        conformance::run(&store);
        same(primary.as_ref(), replica.as_ref());
        assert_eq!(replica.cosignatures(7).ok(), primary.cosignatures(7).ok());
        assert_eq!(replica.get_blob("abc").ok(), primary.get_blob("abc").ok());
        assert_eq!(
            replica.idempotent("op", "k2").ok(),
            primary.idempotent("op", "k2").ok()
        );
        let status = store.replication().expect("status");
        assert_eq!(
            (status.up, status.failures, status.events),
            (true, 0, Some(7))
        );
    }

    #[test]
    fn a_batch_the_replica_refuses_is_kept_nowhere_and_the_next_continues_on_both() {
        let primary = Arc::new(MemoryStore::new());
        let replica = Arc::new(Unplugged::default());
        let store = Replicated::new(primary.clone(), replica.clone());
        store.append(&batch(0, 3, "a")).expect("first");
        replica.down.store(true, Ordering::SeqCst);
        let refused = store.append(&batch(3, 2, "b"));
        assert!(
            matches!(refused, Err(StoreError::Replica(_))),
            "{refused:?}"
        );
        assert_eq!(primary.len().ok(), Some(3), "the primary took it back");
        assert_eq!(primary.idempotent("op", "b").ok().flatten(), None);
        assert_eq!(
            primary.latest_checkpoint().ok().flatten().map(|c| c.size),
            Some(3)
        );
        assert!(store.probe_write().is_err_and(|e| e.is_replica()));
        assert!(store.add_cosignature(3, "il", "line").is_err());
        assert_eq!(
            primary.cosignatures(3).ok(),
            Some(vec![]),
            "nothing the replica lacks"
        );
        let status = store.replication().expect("status");
        assert!(!status.up && status.failures == 3, "{status:?}");

        replica.down.store(false, Ordering::SeqCst);
        store.probe_write().expect("the replica is back");
        store.append(&batch(3, 2, "c")).expect("continues");
        same(primary.as_ref(), &replica.inner);
        assert_eq!(primary.len().ok(), Some(5));
        assert!(store.replication().is_some_and(|s| s.up));
    }

    #[test]
    fn a_refused_primary_write_reaches_no_replica() {
        let primary = Arc::new(MemoryStore::new());
        let replica = Arc::new(MemoryStore::new());
        let store = Replicated::new(primary.clone(), replica.clone());
        store.append(&batch(0, 2, "a")).expect("first");
        // Out of order on the primary: refused there, never sent on.
        assert!(matches!(
            store.append(&batch(5, 1, "x")),
            Err(StoreError::OutOfOrder { .. })
        ));
        same(primary.as_ref(), replica.as_ref());
        assert_eq!(replica.len().ok(), Some(2));
    }

    #[test]
    fn undo_takes_back_only_the_batch_it_is_given() {
        for store in [
            Box::new(MemoryStore::new()) as Box<dyn Store>,
            Box::new(Unplugged::default()),
        ] {
            let b1 = batch(0, 2, "a");
            let b2 = batch(2, 2, "b");
            store.append(&b1).expect("b1");
            assert_eq!(store.undo_append(&b2).ok(), Some(false), "never appended");
            store.append(&b2).expect("b2");
            assert!(store.undo_append(&b1).is_err(), "not the tail");
            let mut forged = b2.clone();
            forged.events[1].event = b"other".to_vec();
            assert!(store.undo_append(&forged).is_err(), "not the same bytes");
            assert_eq!(store.len().ok(), Some(4));
            assert_eq!(store.undo_append(&b2).ok(), Some(true));
            assert_eq!(store.len().ok(), Some(2));
            assert_eq!(
                store.latest_checkpoint().ok().flatten().map(|c| c.size),
                Some(2)
            );
            assert_eq!(store.idempotent("op", "b").ok().flatten(), None);
            assert!(store.idempotent("op", "a").ok().flatten().is_some());
            store.append(&batch(2, 1, "c")).expect("continues");
        }
    }
}
