//! Health and readiness tell a monitor the truth: `/healthz` and `/readyz` answer 200
//! while the store works, and 503 once it has failed and writes are refused.

use axum::extract::State;
use axum::http::StatusCode;
use liaison_core::charter::{
    Charter, OperatorRole, OperatorSpec, Party, PartyRole, Settings, Signatures,
};
use liaison_core::{Actor, Command, Timestamp};
use liaison_server::ledger::LogSigner;
use liaison_server::routes::cell::{healthz, readyz};
use liaison_server::{App, ManualClock};
use liaison_store::{
    AppendBatch, MemoryStore, Result, Store, StoreError, StoredCheckpoint, StoredEvent,
    StoredIdempotent,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A store that works until told to fail, and then fails every call.
struct Breakable {
    inner: MemoryStore,
    broken: AtomicBool,
}

impl Breakable {
    fn check(&self) -> Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("the disk is gone".into()));
        }
        Ok(())
    }
}

impl Store for Breakable {
    fn append(&self, batch: &AppendBatch) -> Result<()> {
        self.check()?;
        self.inner.append(batch)
    }
    fn undo_append(&self, batch: &AppendBatch) -> Result<bool> {
        self.check()?;
        self.inner.undo_append(batch)
    }
    fn len(&self) -> Result<u64> {
        self.check()?;
        self.inner.len()
    }
    fn read_events(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.check()?;
        self.inner.read_events(from, limit)
    }
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.check()?;
        self.inner.latest_checkpoint()
    }
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        self.check()?;
        self.inner.checkpoint(size)
    }
    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<bool> {
        self.check()?;
        self.inner.add_cosignature(size, witness, line)
    }
    fn cosignatures(&self, size: u64) -> Result<Vec<(String, String)>> {
        self.check()?;
        self.inner.cosignatures(size)
    }
    fn latest_cosigned(&self) -> Result<Vec<(String, u64)>> {
        self.check()?;
        self.inner.latest_cosigned()
    }
    fn cosigned_by_all(&self, witnesses: &[String]) -> Result<Option<u64>> {
        self.check()?;
        self.inner.cosigned_by_all(witnesses)
    }
    fn put_blob(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.check()?;
        self.inner.put_blob(key, bytes)
    }
    fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.check()?;
        self.inner.get_blob(key)
    }
    fn idempotent(&self, scope: &str, key: &str) -> Result<Option<StoredIdempotent>> {
        self.check()?;
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
}

fn charter() -> Charter {
    let party = |id: &str, role| Party {
        id: id.into(),
        name: id.to_uppercase(),
        role,
        signatures: Some(Signatures::Optional),
        key: None,
        witness: None,
        client_ca: None,
    };
    Charter {
        name: "Health cell".into(),
        parties: vec![
            party("il", PartyRole::Member),
            party("sy", PartyRole::Member),
            party("us", PartyRole::Supervisor),
        ],
        operators: vec![OperatorSpec {
            name: "us-op".into(),
            party: "us".into(),
            role: OperatorRole::Supervisor,
        }],
        settings: Settings::default(),
        log_key: None,
    }
}

#[test]
fn health_and_readiness_turn_503_once_the_store_fails() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Arc::new(Breakable {
        inner: MemoryStore::new(),
        broken: AtomicBool::new(false),
    });
    let signer = LogSigner::generate("health.liaison/cell").expect("log key");
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let app = App::start(store.clone() as Arc<dyn Store>, signer, Arc::new(clock)).expect("start");
    rt.block_on(app.create_cell(charter(), &Default::default()))
        .expect("create");
    let status = |app: &App| {
        rt.block_on(async {
            let (h, hb) = healthz(State(app.clone())).await;
            let (r, rb) = readyz(State(app.clone())).await;
            ((h, hb.0.status), (r, rb.0.status))
        })
    };
    assert_eq!(
        status(&app),
        (
            (StatusCode::OK, "ok".to_string()),
            (StatusCode::OK, "ready".to_string())
        )
    );

    // The disk goes: the next write fails, the state cannot be rebuilt, and the
    // server refuses writes from then on; health and readiness say so.
    store.broken.store(true, Ordering::SeqCst);
    let us = Actor::of(&app.shared.state.read(), "us-op").expect("operator");
    assert!(rt.block_on(app.command(us, Command::ApproveCell)).is_err());
    assert_eq!(
        status(&app),
        (
            (StatusCode::SERVICE_UNAVAILABLE, "store_failed".to_string()),
            (StatusCode::SERVICE_UNAVAILABLE, "store_failed".to_string())
        )
    );
}
