//! An in-memory store for tests and the simulator. Same promises as SQLite, minus
//! durability across processes.

use crate::{
    AppendBatch, MAX_READ, Result, Store, StoreError, StoredCheckpoint, StoredEvent,
    StoredIdempotent,
};
use parking_lot::Mutex;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    events: Vec<StoredEvent>,
    checkpoint: Option<StoredCheckpoint>,
    checkpoints: BTreeMap<u64, String>,
    cosignatures: BTreeMap<(u64, String), String>,
    blobs: BTreeMap<String, Vec<u8>>,
    idempotency: BTreeMap<(String, String), StoredIdempotent>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn append(&self, batch: &AppendBatch) -> Result<()> {
        let mut g = self.inner.lock();
        let have = g.events.len() as u64;
        for (i, e) in batch.events.iter().enumerate() {
            if e.seq != have + i as u64 {
                return Err(StoreError::OutOfOrder {
                    have: have + i as u64,
                    got: e.seq,
                });
            }
        }
        if let (Some(new), Some(old)) = (&batch.checkpoint, &g.checkpoint)
            && new.size < old.size
        {
            return Err(StoreError::CheckpointRegression(new.size));
        }
        g.events.extend(batch.events.iter().cloned());
        if let Some(c) = &batch.checkpoint {
            g.checkpoint = Some(c.clone());
            g.checkpoints.insert(c.size, c.note.clone());
        }
        for c in &batch.claims {
            g.idempotency.insert(
                (c.scope.clone(), c.key.clone()),
                StoredIdempotent {
                    claim: c.clone(),
                    answer: None,
                },
            );
        }
        Ok(())
    }

    fn undo_append(&self, batch: &AppendBatch) -> Result<bool> {
        let Some(first) = batch.events.first() else {
            return Err(StoreError::Backend(
                "only a batch of events can be taken back".into(),
            ));
        };
        let mut g = self.inner.lock();
        let have = g.events.len() as u64;
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
        let start = first.seq as usize;
        if g.events[start..] != batch.events[..] {
            return Err(StoreError::Backend(format!(
                "cannot take back events {}..{end}: the store holds others",
                first.seq
            )));
        }
        if let Some(cp) = &batch.checkpoint {
            if g.checkpoint.as_ref() != Some(cp) {
                return Err(StoreError::Backend(format!(
                    "cannot take back the checkpoint for {}: it is not the last one stored",
                    cp.size
                )));
            }
            g.checkpoints.remove(&cp.size);
            g.checkpoint = g
                .checkpoints
                .iter()
                .next_back()
                .map(|(size, note)| StoredCheckpoint {
                    size: *size,
                    note: note.clone(),
                });
        }
        g.events.truncate(start);
        for c in &batch.claims {
            let k = (c.scope.clone(), c.key.clone());
            if g.idempotency.get(&k).is_some_and(|i| i.claim == *c) {
                g.idempotency.remove(&k);
            }
        }
        Ok(true)
    }

    fn len(&self) -> Result<u64> {
        Ok(self.inner.lock().events.len() as u64)
    }

    fn read_events(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let g = self.inner.lock();
        let start = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(g.events.len());
        let end = start
            .saturating_add(limit.min(MAX_READ))
            .min(g.events.len());
        Ok(g.events[start..end].to_vec())
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        Ok(self.inner.lock().checkpoint.clone())
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        Ok(self
            .inner
            .lock()
            .checkpoints
            .get(&size)
            .map(|n| StoredCheckpoint {
                size,
                note: n.clone(),
            }))
    }

    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<bool> {
        let mut g = self.inner.lock();
        let key = (size, witness.to_string());
        if g.cosignatures.contains_key(&key) {
            return Ok(false);
        }
        g.cosignatures.insert(key, line.to_string());
        Ok(true)
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>> {
        let g = self.inner.lock();
        Ok(g.cosignatures
            .range((size, String::new())..)
            .take_while(|((s, _), _)| *s == size)
            .map(|((_, w), l)| (w.clone(), l.clone()))
            .collect())
    }

    fn latest_cosigned(&self) -> Result<Vec<(String, u64)>> {
        let g = self.inner.lock();
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for (size, w) in g.cosignatures.keys() {
            let e = out.entry(w.clone()).or_default();
            *e = (*e).max(*size);
        }
        Ok(out.into_iter().collect())
    }

    fn cosigned_by_all(&self, witnesses: &[String]) -> Result<Option<u64>> {
        if witnesses.is_empty() {
            return Ok(None);
        }
        let g = self.inner.lock();
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for (size, w) in g.cosignatures.keys() {
            if witnesses.contains(w) {
                *counts.entry(*size).or_default() += 1;
            }
        }
        Ok(counts
            .into_iter()
            .rev()
            .find(|(_, n)| *n == witnesses.len())
            .map(|(s, _)| s))
    }

    fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.inner
            .lock()
            .blobs
            .entry(key.to_string())
            .or_insert_with(|| bytes.to_vec());
        Ok(())
    }

    fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.lock().blobs.get(key).cloned())
    }

    fn idempotent(&self, scope: &str, key: &str) -> Result<Option<StoredIdempotent>> {
        Ok(self
            .inner
            .lock()
            .idempotency
            .get(&(scope.to_string(), key.to_string()))
            .cloned())
    }

    fn keep_answer(&self, scope: &str, key: &str, answer: &[u8]) -> Result<bool> {
        let mut g = self.inner.lock();
        match g.idempotency.get_mut(&(scope.to_string(), key.to_string())) {
            Some(i) if i.answer.is_none() => {
                i.answer = Some(answer.to_vec());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn forget_claims_before(&self, micros: i64) -> Result<u64> {
        let mut g = self.inner.lock();
        let before = g.idempotency.len();
        g.idempotency
            .retain(|_, i| i.claim.created_micros >= micros);
        Ok((before - g.idempotency.len()) as u64)
    }
}
