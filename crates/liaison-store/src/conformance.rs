//! One story every backend must pass: sequence continuity, atomic batches, checkpoints
//! that never go backwards, idempotent cosignatures and blobs.

use crate::{AppendBatch, Store, StoreError, StoredCheckpoint, StoredClaim, StoredEvent};

fn ev(seq: u64) -> StoredEvent {
    StoredEvent {
        seq,
        entry: vec![seq as u8; 3],
        event: format!("event {seq}").into_bytes(),
    }
}

/// Runs the story against an empty store; panics (in tests) with the first broken promise.
pub fn run(store: &dyn Store) {
    assert_eq!(store.len().ok(), Some(0), "a new store is empty");
    let batch = AppendBatch {
        events: (0..5).map(ev).collect(),
        checkpoint: Some(StoredCheckpoint {
            size: 5,
            note: "cp5".into(),
        }),
        claims: Vec::new(),
    };
    assert!(store.append(&batch).is_ok(), "first batch appends");
    assert_eq!(store.len().ok(), Some(5));

    // A gap is refused and writes nothing, not even the events before the gap.
    let gap = AppendBatch {
        events: vec![ev(5), ev(7)],
        checkpoint: None,
        claims: vec![claim("k1", 10)],
    };
    assert!(matches!(
        store.append(&gap),
        Err(StoreError::OutOfOrder { .. })
    ));
    assert_eq!(
        store.len().ok(),
        Some(5),
        "a refused batch leaves nothing behind"
    );
    assert_eq!(
        store.idempotent("op", "k1").ok().flatten(),
        None,
        "not even its idempotency claims"
    );

    // A replayed sequence number is refused.
    let replay = AppendBatch {
        events: vec![ev(4)],
        checkpoint: None,
        claims: Vec::new(),
    };
    assert!(store.append(&replay).is_err());

    // A checkpoint for a smaller tree is refused, with its events.
    let regress = AppendBatch {
        events: vec![ev(5)],
        checkpoint: Some(StoredCheckpoint {
            size: 3,
            note: "cp3".into(),
        }),
        claims: vec![claim("k3", 10)],
    };
    assert!(store.append(&regress).is_err());
    assert_eq!(store.len().ok(), Some(5));
    assert_eq!(store.idempotent("op", "k3").ok().flatten(), None);

    let next = AppendBatch {
        events: vec![ev(5), ev(6)],
        checkpoint: Some(StoredCheckpoint {
            size: 7,
            note: "cp7".into(),
        }),
        claims: vec![claim("k1", 10), claim("k2", 20)],
    };
    assert!(store.append(&next).is_ok());
    let all = store.read_events(0, 100).unwrap_or_default();
    assert_eq!(all.len(), 7);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as u64 && *e == ev(i as u64))
    );
    assert_eq!(store.read_events(5, 1).unwrap_or_default(), vec![ev(5)]);
    assert!(store.read_events(7, 10).unwrap_or_default().is_empty());
    assert_eq!(
        store.latest_checkpoint().ok().flatten(),
        Some(StoredCheckpoint {
            size: 7,
            note: "cp7".into()
        })
    );

    assert_eq!(
        store.checkpoint(5).ok().flatten(),
        Some(StoredCheckpoint {
            size: 5,
            note: "cp5".into()
        })
    );
    assert_eq!(store.checkpoint(6).ok().flatten(), None);
    assert_eq!(store.add_cosignature(7, "il", "line-il").ok(), Some(true));
    assert_eq!(
        store.add_cosignature(7, "il", "other").ok(),
        Some(false),
        "first cosignature stays"
    );
    assert_eq!(store.add_cosignature(7, "sy", "line-sy").ok(), Some(true));
    assert_eq!(store.add_cosignature(5, "il", "old").ok(), Some(true));
    assert_eq!(
        store.cosignatures(7).unwrap_or_default(),
        vec![
            ("il".to_string(), "line-il".to_string()),
            ("sy".to_string(), "line-sy".to_string())
        ]
    );

    assert_eq!(
        store.latest_cosigned().unwrap_or_default(),
        vec![("il".to_string(), 7), ("sy".to_string(), 7)]
    );
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        store.cosigned_by_all(&names(&["il", "sy"])).ok(),
        Some(Some(7))
    );
    assert_eq!(store.cosigned_by_all(&names(&["il"])).ok(), Some(Some(7)));
    assert_eq!(
        store.cosigned_by_all(&names(&["sy", "us"])).ok(),
        Some(None)
    );
    assert_eq!(store.cosigned_by_all(&[]).ok(), Some(None));
    // A size every witness cosigned stays final after some of them move on.
    assert_eq!(store.add_cosignature(9, "il", "line-il-9").ok(), Some(true));
    assert_eq!(
        store.cosigned_by_all(&names(&["il", "sy"])).ok(),
        Some(Some(7))
    );
    assert_eq!(store.cosigned_by_all(&names(&["il"])).ok(), Some(Some(9)));
    assert!(store.put_blob("abc", b"hello").is_ok());
    assert_eq!(
        store.get_blob("abc").ok().flatten(),
        Some(b"hello".to_vec())
    );
    assert_eq!(store.get_blob("missing").ok().flatten(), None);

    // Idempotency claims: recorded with their batch, one first answer each, scoped,
    // forgotten by age.
    let got = store.idempotent("op", "k1").ok().flatten();
    assert_eq!(got.as_ref().map(|i| &i.claim), Some(&claim("k1", 10)));
    assert_eq!(got.and_then(|i| i.answer), None);
    assert_eq!(store.idempotent("other", "k1").ok().flatten(), None);
    assert_eq!(store.keep_answer("op", "k1", b"first").ok(), Some(true));
    assert_eq!(store.keep_answer("op", "k1", b"second").ok(), Some(false));
    assert_eq!(store.keep_answer("op", "never", b"x").ok(), Some(false));
    assert_eq!(
        store
            .idempotent("op", "k1")
            .ok()
            .flatten()
            .and_then(|i| i.answer),
        Some(b"first".to_vec())
    );
    assert_eq!(store.forget_claims_before(15).ok(), Some(1));
    assert_eq!(store.idempotent("op", "k1").ok().flatten(), None);
    assert!(store.idempotent("op", "k2").ok().flatten().is_some());

    // A batch nobody was told of is taken back whole, and only while it is the tail,
    // byte for byte; the sequence then continues as if it had never been appended.
    let tail = AppendBatch {
        events: vec![ev(7), ev(8)],
        checkpoint: Some(StoredCheckpoint {
            size: 9,
            note: "cp9".into(),
        }),
        claims: vec![claim("k4", 30)],
    };
    assert_eq!(store.undo_append(&tail).ok(), Some(false), "never appended");
    assert!(store.append(&tail).is_ok());
    let mut forged = tail.clone();
    forged.events[1].entry = vec![0; 3];
    assert!(store.undo_append(&forged).is_err(), "other bytes stay");
    assert!(store.undo_append(&next).is_err(), "not the tail: stays");
    assert_eq!(store.len().ok(), Some(9));
    assert_eq!(store.undo_append(&tail).ok(), Some(true));
    assert_eq!(store.len().ok(), Some(7));
    assert_eq!(store.checkpoint(9).ok().flatten(), None);
    assert_eq!(
        store.latest_checkpoint().ok().flatten().map(|c| c.size),
        Some(7)
    );
    assert_eq!(store.idempotent("op", "k4").ok().flatten(), None);
    assert!(store.idempotent("op", "k2").ok().flatten().is_some());
    assert_eq!(
        store.undo_append(&tail).ok(),
        Some(false),
        "already taken back"
    );
}

fn claim(key: &str, created_micros: i64) -> StoredClaim {
    StoredClaim {
        scope: "op".into(),
        key: key.into(),
        request: key.as_bytes().to_vec(),
        created_micros,
        recorded: vec![1, 2, 3],
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_conforms() {
        super::run(&crate::MemoryStore::new());
    }

    #[test]
    fn sqlite_store_conforms() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::SqliteStore::open(&dir.path().join("cell.db")).expect("open");
        super::run(&store);
    }

    #[test]
    fn sqlite_store_reopens_with_its_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cell.db");
        {
            let store = crate::SqliteStore::open(&path).expect("open");
            super::run(&store);
        }
        let store = crate::SqliteStore::open(&path).expect("reopen");
        use crate::Store;
        assert_eq!(store.len().ok(), Some(7));
    }
}
