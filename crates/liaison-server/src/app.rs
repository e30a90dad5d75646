//! The server's shared state: the projection, the log, the store, the clock and the
//! write queue; and how a data directory is created and reopened.

use crate::auth::Acting;
use crate::clock::Clock;
use crate::ledger::{Ledger, LogSigner};
use crate::writer::{self, Decider, Outcome, WriteRequest};
use liaison_api::ApiError;
use liaison_api::codec::decode_event;
use liaison_api::wire::{CredentialsFile, OperatorCredentials};
use liaison_core::event::AuthorSignature;
use liaison_core::{Actor, Charter, Command, DomainError, State, decide};
use liaison_store::{MAX_READ, SqliteStore, Store};
use parking_lot::RwLock;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot, watch};

/// A TAXII selection and the head it was computed at.
pub type CachedSelection = (u64, Arc<Vec<liaison_core::intel::Record>>);

/// A collection view's records with their positions by object id, and the head it was built at.
pub type IdIndex = (
    u64,
    Arc<Vec<liaison_core::intel::Record>>,
    Arc<std::collections::HashMap<String, Vec<usize>>>,
);

pub struct Shared {
    pub state: RwLock<State>,
    pub ledger: RwLock<Ledger>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Where the writer draws each entry's salt.
    pub salts: Arc<dyn crate::salt::Salts>,
    /// The number of committed events; changes wake SSE streams and watchers.
    pub head: watch::Sender<u64>,
    /// Set to true when the server is shutting down, so long-lived streams end.
    pub closing: watch::Sender<bool>,
    /// Last heartbeat per party. Kept in memory: reachability is about now, not history.
    pub heartbeats: parking_lot::Mutex<std::collections::HashMap<String, liaison_core::Timestamp>>,
    /// Each committed event with its SSE frame, rendered once and shared by all streams
    /// (`rendered[i].event.seq == i`).
    pub rendered: RwLock<Vec<crate::routes::events::Frame>>,
    /// TAXII selections by (operator, collection, filters), valid while the head is unchanged.
    pub taxii_cache: parking_lot::Mutex<std::collections::HashMap<String, CachedSelection>>,
    /// Per collection view: its records and an index of them by object id.
    pub taxii_ids: parking_lot::Mutex<std::collections::HashMap<String, IdIndex>>,
    /// The conflict engine over sites, zones and notifications, kept in step with commits.
    pub geo: RwLock<crate::deconfliction::GeoModel>,
    /// The sanctions screener over the lists in force, rebuilt from their stored files.
    pub screeners: crate::screening::Screeners,
    /// Active operators by token hash, refreshed after each commit that changes them.
    pub credentials: RwLock<std::collections::HashMap<String, crate::auth::Caller>>,
    /// Deliveries being recorded for pushed messages, so many clients of one party
    /// record one delivery.
    pub delivering: parking_lot::Mutex<crate::routes::events::PushedDeliveries>,
    /// The SHA-256 fingerprint of the TLS certificate being served, once serving HTTPS.
    pub tls_fingerprint: std::sync::OnceLock<String>,
    /// Open event streams per operator, capped at
    /// [`crate::routes::events::MAX_STREAMS_PER_OPERATOR`].
    pub streams: parking_lot::Mutex<std::collections::HashMap<String, usize>>,
    /// Idempotency keys whose first request is being handled.
    pub idempotency: crate::idempotency::InFlight,
    /// What the server counts as it runs (`/metrics`).
    pub metrics: crate::metrics::Metrics,
    /// `/readyz` answers 503 once a witness is more entries than this behind the log's
    /// head; 0 turns the check off.
    pub max_witness_lag: AtomicU64,
    failed: AtomicBool,
    /// Set while the store refuses writes for want of space: the writer then refuses
    /// each batch at once until a probe write succeeds.
    storage_full: AtomicBool,
    /// Set while the replica refuses writes: the writer then refuses each batch at once
    /// until a probe write reaches both copies.
    replica_unavailable: AtomicBool,
    /// The locks on the data directory and the replica folder, held while the server runs.
    locks: parking_lot::Mutex<Vec<crate::replica::Held>>,
}

impl Shared {
    pub fn is_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }
    pub fn mark_failed(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }
    /// True while writes are refused because the disk is full (reads go on).
    pub fn is_storage_full(&self) -> bool {
        self.storage_full.load(Ordering::SeqCst)
    }
    pub(crate) fn set_storage_full(&self, full: bool) {
        self.storage_full.store(full, Ordering::SeqCst);
    }
    /// True while writes are refused because the replica does not take them (reads go
    /// on).
    pub fn is_replica_unavailable(&self) -> bool {
        self.replica_unavailable.load(Ordering::SeqCst)
    }
    pub(crate) fn set_replica_unavailable(&self, down: bool) {
        self.replica_unavailable.store(down, Ordering::SeqCst);
    }
    /// What `/healthz` and `/readyz` say while writes are paused and reads go on.
    pub fn writes_paused(&self) -> Option<&'static str> {
        if self.is_storage_full() {
            Some("storage_full")
        } else if self.is_replica_unavailable() {
            Some("replica_unavailable")
        } else {
            None
        }
    }
}

/// How far a witness may fall behind the log's head, in entries, before `/readyz`
/// says the server is not ready: generous, so that only a witness that stopped trips it.
pub const DEFAULT_MAX_WITNESS_LAG: u64 = 100_000;

/// A handle to a running cell. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub shared: Arc<Shared>,
    writer: mpsc::Sender<WriteRequest>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("store: {0}")]
    Store(#[from] liaison_store::StoreError),
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
}

/// Files of a data directory.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn db(&self) -> PathBuf {
        self.0.join("cell.db")
    }
    pub fn log_key(&self) -> PathBuf {
        self.0.join("log.key")
    }
    pub fn credentials(&self) -> PathBuf {
        self.0.join("credentials.json")
    }
    /// One party's operators' credentials, to hand over to that party alone.
    pub fn party_credentials(&self, party: &str) -> PathBuf {
        self.0.join(format!("credentials-{party}.json"))
    }
}

/// Hex SHA-256 of a bearer token: the only form in which tokens are kept.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random bearer token: 256 bits from the operating system, base64url.
pub fn new_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "lsn_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Replays the store into a fresh state and log, checking as it goes that the stored
/// entries hash to the last signed checkpoint. A mismatch refuses to start: the
/// server must never continue a history different from one it signed.
pub fn rebuild(store: &dyn Store, signer: LogSigner) -> Result<(State, Ledger), OpenError> {
    let mut state = State::new();
    let mut ledger = Ledger::new(signer);
    let mut from = 0u64;
    loop {
        let rows = store.read_events(from, MAX_READ)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.seq != state.next_seq() {
                return Err(OpenError::Corrupt(format!(
                    "event {} is missing from the store",
                    state.next_seq()
                )));
            }
            let event = decode_event(&row.event)
                .map_err(|e| OpenError::Corrupt(format!("event {}: {e}", row.seq)))?;
            if event.seq != row.seq {
                return Err(OpenError::Corrupt(format!(
                    "event stored at {} claims sequence {}",
                    row.seq, event.seq
                )));
            }
            // A salted entry is re-derived with the salt it was recorded with.
            let salt = liaison_log::entry::Entry::salt_of(&row.entry);
            let expect = ledger.entry_for(&event, salt);
            if expect != row.entry {
                return Err(OpenError::Corrupt(format!(
                    "log entry {} does not match its event",
                    row.seq
                )));
            }
            ledger.push(&row.entry);
            state.apply(Arc::new(event));
            from = row.seq + 1;
        }
    }
    if let Some(cp) = store.latest_checkpoint()? {
        ledger.check_signed(&cp.note).map_err(OpenError::Corrupt)?;
    }
    Ok((state, ledger))
}

impl App {
    /// Starts a cell over `store`, replaying what it holds; its entries are salted
    /// with random bytes from the operating system.
    pub fn start(
        store: Arc<dyn Store>,
        signer: LogSigner,
        clock: Arc<dyn Clock>,
    ) -> Result<App, OpenError> {
        App::start_with_salts(store, signer, clock, Arc::new(crate::salt::OsSalts))
    }

    /// [`App::start`] with the entries' salts drawn from `salts`.
    pub fn start_with_salts(
        store: Arc<dyn Store>,
        signer: LogSigner,
        clock: Arc<dyn Clock>,
        salts: Arc<dyn crate::salt::Salts>,
    ) -> Result<App, OpenError> {
        let (state, ledger) = rebuild(store.as_ref(), signer)?;
        App::start_rebuilt(store, state, ledger, clock, salts)
    }

    /// Starts a cell over `store` from its replayed `state` and `ledger`.
    fn start_rebuilt(
        store: Arc<dyn Store>,
        state: State,
        ledger: Ledger,
        clock: Arc<dyn Clock>,
        salts: Arc<dyn crate::salt::Salts>,
    ) -> Result<App, OpenError> {
        let (head, _) = watch::channel(state.next_seq());
        let (closing, _) = watch::channel(false);
        let credentials = crate::auth::credentials_of(&state);
        let geo = crate::deconfliction::build(&state);
        let rendered = state
            .events
            .iter()
            .map(crate::routes::events::Frame::of)
            .collect();
        let shared = Arc::new(Shared {
            state: RwLock::new(state),
            ledger: RwLock::new(ledger),
            store,
            clock,
            salts,
            head,
            closing,
            heartbeats: Default::default(),
            delivering: Default::default(),
            streams: Default::default(),
            idempotency: Default::default(),
            credentials: RwLock::new(credentials),
            rendered: RwLock::new(rendered),
            geo: RwLock::new(geo),
            screeners: crate::screening::Screeners::default(),
            taxii_cache: Default::default(),
            taxii_ids: Default::default(),
            tls_fingerprint: Default::default(),
            metrics: Default::default(),
            max_witness_lag: AtomicU64::new(DEFAULT_MAX_WITNESS_LAG),
            failed: AtomicBool::new(false),
            storage_full: AtomicBool::new(false),
            replica_unavailable: AtomicBool::new(false),
            locks: Default::default(),
        });
        let (tx, rx) = mpsc::channel(writer::QUEUE);
        writer::spawn(shared.clone(), rx)?;
        warm_screener(&shared);
        Ok(App { shared, writer: tx })
    }

    /// Opens the cell in a data directory made by [`App::init`].
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> Result<App, OpenError> {
        App::open_replicated(dir, None, clock)
    }

    /// [`App::open`], keeping a replica of the data directory in the folder `replica`
    /// when one is given: caught up before the cell is served, then written in step with
    /// every commit (`replica.rs`).
    pub fn open_replicated(
        dir: &Path,
        replica: Option<&Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<App, OpenError> {
        let d = DataDir(dir.to_path_buf());
        if !d.db().exists() {
            return Err(OpenError::Invalid(format!(
                "{} holds no cell; create one with `liaison init --data {} --charter FILE`",
                dir.display(),
                dir.display()
            )));
        }
        let key = std::fs::read_to_string(d.log_key()).map_err(|e| {
            OpenError::Invalid(format!(
                "cannot read the log key {}: {e}",
                d.log_key().display()
            ))
        })?;
        crate::at_rest::check_data_dir(dir, &d.db()).map_err(OpenError::Invalid)?;
        crate::at_rest::check_private(&d.log_key()).map_err(OpenError::Invalid)?;
        let signer = LogSigner::from_key_text(key.trim()).map_err(OpenError::Invalid)?;
        crate::replica::check_not_replicating(dir)?;
        let serving = crate::replica::hold_serving(dir)?;
        let store = SqliteStore::open(&d.db())?;
        let Some(replica) = replica else {
            let app = App::start(Arc::new(store), signer, clock)?;
            app.shared.locks.lock().push(serving);
            return Ok(app);
        };
        // The primary is replayed and checked against its signed checkpoint before the
        // replica is made a copy of it.
        let (state, ledger) = rebuild(&store, signer)?;
        let (copy, held) = crate::replica::prepare(dir, replica, &store)?;
        let store = liaison_store::Replicated::new(Arc::new(store), Arc::new(copy));
        let app = App::start_rebuilt(
            Arc::new(store),
            state,
            ledger,
            clock,
            Arc::new(crate::salt::OsSalts),
        )?;
        app.shared.locks.lock().extend([serving, held]);
        Ok(app)
    }

    /// Creates a cell from a charter in an empty data directory and writes
    /// `credentials.json` (mode 0600) with every operator's token and key, and the same
    /// split by party (`credentials-<party>.json`, 0600), to hand each party its own.
    pub async fn init(
        dir: &Path,
        charter: Charter,
        clock: Arc<dyn Clock>,
    ) -> Result<(App, CredentialsFile), OpenError> {
        let file = liaison_api::charter_toml::CharterFile {
            charter,
            enrolments: Default::default(),
        };
        App::init_with(dir, file, None, clock).await
    }

    /// [`App::init`] from a charter file that may pin party keys and give the
    /// credentials a party made itself for its operators (for those the host records
    /// only the token's hash and the public key, and writes no token or key), with the
    /// log's private key when it was made beforehand (`init --log-key`): a charter that
    /// pins the log key needs it, and it must be the pinned key's.
    pub async fn init_with(
        dir: &Path,
        file: liaison_api::charter_toml::CharterFile,
        log_key: Option<LogSigner>,
        clock: Arc<dyn Clock>,
    ) -> Result<(App, CredentialsFile), OpenError> {
        let liaison_api::charter_toml::CharterFile {
            charter,
            enrolments,
        } = file;
        let d = DataDir(dir.to_path_buf());
        if d.db().exists() {
            return Err(OpenError::Invalid(format!(
                "{} already holds a cell",
                dir.display()
            )));
        }
        charter
            .validate()
            .map_err(|e| OpenError::Invalid(e.to_string()))?;
        check_pinned_keys(&charter).map_err(OpenError::Invalid)?;
        let signer = match (log_key, &charter.log_key) {
            (Some(k), Some(pinned)) if k.vkey() != *pinned => {
                return Err(OpenError::Invalid(format!(
                    "the charter pins the log key {pinned}, but the key given is {}",
                    k.vkey()
                )));
            }
            (Some(k), _) => k,
            (None, Some(pinned)) => {
                return Err(OpenError::Invalid(format!(
                    "the charter pins the log key {pinned}: give its private key (`liaison init --log-key FILE`)"
                )));
            }
            (None, None) => {
                LogSigner::generate(&origin_for(&charter.name)).map_err(OpenError::Invalid)?
            }
        };
        crate::at_rest::make_private_dir(dir)?;
        let parties: Vec<liaison_api::wire::PartyView> = charter
            .parties
            .iter()
            .map(liaison_api::wire::PartyView::from)
            .collect();
        write_private(&d.log_key(), format!("{}\n", signer.key_text()).as_bytes())?;
        crate::at_rest::create_private_file(&d.db())?;
        let serving = crate::replica::hold_serving(dir)?;
        let store = SqliteStore::open(&d.db())?;
        let app = App::start(Arc::new(store), signer, clock)?;
        app.shared.locks.lock().push(serving);
        let (creds, party_keys) = app
            .create_cell(charter, &enrolments)
            .await
            .map_err(|e| OpenError::Invalid(e.to_string()))?;
        let mut creds = creds;
        creds.tls_fingerprint = crate::tls::cell_fingerprint(dir).map_err(OpenError::Invalid)?;
        let json =
            serde_json::to_vec_pretty(&creds).map_err(|e| OpenError::Invalid(e.to_string()))?;
        write_private(&d.credentials(), &json)?;
        for party in &parties {
            let own = CredentialsFile {
                operators: creds
                    .operators
                    .iter()
                    .filter(|o| o.party == party.id)
                    .cloned()
                    .collect(),
                party_key: party_keys.get(&party.id).cloned(),
                ..creds.clone()
            };
            let json =
                serde_json::to_vec_pretty(&own).map_err(|e| OpenError::Invalid(e.to_string()))?;
            write_private(&d.party_credentials(&party.id), &json)?;
        }
        Ok((app, creds))
    }

    /// Records the cell's creation and its operators; returns their tokens and, for
    /// every operator who must sign, a new signing key whose public half is registered
    /// in the same decision.
    pub async fn create_cell(
        &self,
        mut charter: Charter,
        enrolments: &std::collections::BTreeMap<String, liaison_api::charter_toml::Enrolment>,
    ) -> Result<(CredentialsFile, std::collections::BTreeMap<String, String>), ApiError> {
        // A party that pinned no key gets one made here, pinned in the recorded charter,
        // its private half only in that party's credentials file.
        let mut party_keys = std::collections::BTreeMap::new();
        for p in charter.parties.iter_mut().filter(|p| p.key.is_none()) {
            let signer = liaison_log::note::Signer::generate(
                &format!("{}.party", p.id),
                &mut rand::rngs::OsRng,
            )
            .map_err(|e| ApiError::internal(format!("party key: {e}")))?;
            p.key = Some(signer.verifier().vkey());
            party_keys.insert(p.id.clone(), signer.key_text());
        }
        let mut creds = Vec::new();
        let mut hashes = Vec::new();
        let mut keys = Vec::new();
        for o in &charter.operators {
            let given = enrolments.get(&o.name).cloned().unwrap_or_default();
            // A token the party made itself: the host records its hash and never sees it.
            let token = match &given.token_hash {
                Some(h) => {
                    hashes.push((o.name.clone(), h.clone()));
                    String::new()
                }
                None => {
                    let token = new_token();
                    hashes.push((o.name.clone(), token_hash(&token)));
                    token
                }
            };
            let key = if let Some(public_key) = &given.public_key {
                let vk = liaison_log::keys::parse_public_b64(public_key)
                    .map_err(|e| ApiError::invalid(format!("{}: public_key: {e}", o.name)))?;
                keys.push((
                    o.name.clone(),
                    public_key.clone(),
                    liaison_log::keys::operator_key_id(&vk),
                ));
                None
            } else if charter.must_sign(&o.party) {
                let sk = liaison_log::keys::generate(&mut rand::rngs::OsRng);
                let pem = liaison_log::keys::to_pkcs8_pem(&sk)
                    .map_err(|e| ApiError::internal(format!("signing key: {e}")))?;
                let vk = sk.verifying_key();
                keys.push((
                    o.name.clone(),
                    liaison_log::keys::public_b64(&vk),
                    liaison_log::keys::operator_key_id(&vk),
                ));
                Some(pem)
            } else {
                None
            };
            creds.push(OperatorCredentials {
                name: o.name.clone(),
                party: o.party.clone(),
                role: o.role.as_str().into(),
                token,
                key,
            });
        }
        let log_vkey = self.shared.ledger.read().vkey();
        let log_vkey_out = log_vkey.clone();
        let parties = charter
            .parties
            .iter()
            .map(liaison_api::wire::PartyView::from)
            .collect();
        let cmd = Command::CreateCell {
            charter,
            log_vkey,
            token_hashes: hashes,
            keys,
        };
        self.command(Actor::System, cmd).await?;
        Ok((
            CredentialsFile {
                operators: creds,
                tls_fingerprint: None,
                party_key: None,
                log_vkey: Some(log_vkey_out),
                parties,
            },
            party_keys,
        ))
    }

    /// Queues a core command and waits until it is durable. An operator's command
    /// queued this way is unsigned, so it is refused if the operator must sign.
    pub async fn command(
        &self,
        actor: impl Into<Acting>,
        cmd: Command,
    ) -> Result<Outcome, ApiError> {
        self.command_signed(actor, None, cmd).await
    }

    /// Records what the server observed on an operator's behalf (a delivery or read
    /// mark, an automatic acknowledgement): marked in the entry as the server's
    /// observation, never as the operator's statement, and needing no signature.
    pub async fn observe(
        &self,
        actor: impl Into<Acting>,
        cmd: Command,
    ) -> Result<Outcome, ApiError> {
        self.enqueue_command(actor, None, Voice::Observation, cmd)
            .await
    }

    /// Queues a command that carries its author's verified signature.
    pub async fn command_signed(
        &self,
        actor: impl Into<Acting>,
        signature: Option<AuthorSignature>,
        cmd: Command,
    ) -> Result<Outcome, ApiError> {
        self.enqueue_command(actor, signature, Voice::Statement, cmd)
            .await
    }

    /// Records an operator's statement decided in process (the demo's seeded history,
    /// the benchmarks), signed with the operator's key over `POST /in-process` whose
    /// body is the command's text, so it is checked exactly as a signed request is.
    pub async fn command_with_key(
        &self,
        actor: Actor,
        key: &ed25519_dalek::SigningKey,
        cmd: Command,
    ) -> Result<Outcome, ApiError> {
        let Actor::Operator { name, .. } = &actor else {
            return self.command(actor, cmd).await;
        };
        let body = format!("{cmd:?}");
        let sig = self.sign_in_process(name, key, body.as_bytes())?;
        self.command_signed(actor, Some(sig), cmd).await
    }

    /// Signs `body` as `operator` would sign `POST /in-process`, with a fresh nonce and
    /// the cell's time.
    pub fn sign_in_process(
        &self,
        operator: &str,
        key: &ed25519_dalek::SigningKey,
        body: &[u8],
    ) -> Result<AuthorSignature, ApiError> {
        let mut n = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut n);
        let nonce = hex::encode(n);
        let now = self.shared.clock.now();
        let digest = hex::encode(Sha256::digest(body));
        let signed = liaison_api::signing::SignedRequest {
            origin: self.shared.ledger.read().origin().to_string(),
            operator: operator.to_string(),
            method: "POST".into(),
            path: "/in-process".into(),
            query: String::new(),
            headers: Default::default(),
            body_sha256: digest.clone(),
            nonce: nonce.clone(),
            time: liaison_api::time::format(now),
        }
        .canonical()
        .map_err(ApiError::internal)?;
        let vk = key.verifying_key();
        Ok(AuthorSignature {
            key_id: liaison_log::keys::operator_key_id(&vk),
            signature: liaison_log::keys::sign_b64(key, signed.as_bytes()),
            body_sha256: digest,
            signed: Some(signed),
            nonce: Some(nonce),
            time: Some(now),
            party_signature: None,
        })
    }

    /// Registers an operator's signing key. An operator who has none yet may do so
    /// unsigned (it has nothing to sign with); once it has one, the registration of the
    /// next is signed like every other write.
    pub async fn register_key(
        &self,
        actor: impl Into<Acting>,
        signature: Option<AuthorSignature>,
        cmd: Command,
    ) -> Result<Outcome, ApiError> {
        self.enqueue_command(actor, signature, Voice::FirstKey, cmd)
            .await
    }

    /// Queues several signed commands as one decision: all are recorded, or none.
    pub async fn commands_signed(
        &self,
        actor: impl Into<Acting>,
        signature: Option<AuthorSignature>,
        commands: Vec<Command>,
    ) -> Result<Outcome, ApiError> {
        refuse_party_statement(signature.as_ref())?;
        let acting = actor.into();
        let a = acting.actor.clone();
        self.submit(
            acting,
            signature,
            Box::new(move |s, now| {
                let mut out = Vec::new();
                for c in &commands {
                    out.extend(decide(s, &a, c, now)?);
                }
                Ok(out)
            }),
        )
        .await
    }

    /// Queues any decision as the actor's statement and waits until its events are
    /// durable.
    pub async fn submit(
        &self,
        actor: impl Into<Acting>,
        signature: Option<AuthorSignature>,
        decide: Decider,
    ) -> Result<Outcome, ApiError> {
        refuse_party_statement(signature.as_ref())?;
        self.enqueue(actor, signature, Voice::Statement, decide)
            .await
    }

    /// Queues one core command in the given voice.
    async fn enqueue_command(
        &self,
        actor: impl Into<Acting>,
        signature: Option<AuthorSignature>,
        voice: Voice,
        cmd: Command,
    ) -> Result<Outcome, ApiError> {
        let acting = actor.into();
        let a = acting.actor.clone();
        // A request that carries its party's signature is the party's statement: the
        // core decides what such a statement may cover.
        let cmd = match signature.as_ref().and_then(|s| s.party_signature.as_ref()) {
            Some(_) => Command::AsParty(Box::new(cmd)),
            None => cmd,
        };
        self.enqueue(
            acting,
            signature,
            voice,
            Box::new(move |s, now| decide(s, &a, &cmd, now)),
        )
        .await
    }

    async fn enqueue(
        &self,
        actor: impl Into<Acting>,
        signature: Option<AuthorSignature>,
        voice: Voice,
        decide: Decider,
    ) -> Result<Outcome, ApiError> {
        let Acting {
            actor,
            token_hash,
            connection,
        } = actor.into();
        let (reply, rx) = oneshot::channel();
        // The writer decides against the state as it is then, not as it was when the
        // request was authenticated: the operator must still be active with the same
        // role, the token it presented must still be its token, and the key that signed
        // must still be its active key (a signature counts only if its key was active
        // at that index); whether it had to sign and whether its signature is fresh are
        // decided there too. A request queued before a disable, a rotation or a
        // revocation and decided after it is refused; so is a server observation made
        // on its behalf.
        let key_id = match voice {
            Voice::Observation => None,
            _ => signature.as_ref().map(|s| s.key_id.clone()),
        };
        let standing = actor.clone();
        let decide: Decider = match &actor {
            Actor::Operator { name, .. } if voice != Voice::Observation => {
                let (name, signature) = (name.clone(), signature.clone());
                Box::new(move |s, now| {
                    standing.still_stands(s, token_hash.as_deref(), key_id.as_deref())?;
                    if let Some(c) = &connection {
                        standing.check_connection(s, c)?;
                    }
                    check_authorship(s, &name, signature.as_ref(), voice, now)?;
                    decide(s, now)
                })
            }
            _ => Box::new(move |s, now| {
                standing.still_stands(s, token_hash.as_deref(), None)?;
                if let Some(c) = &connection {
                    standing.check_connection(s, c)?;
                }
                decide(s, now)
            }),
        };
        let observed = voice == Voice::Observation && matches!(actor, Actor::Operator { .. });
        // An operator's statement carries the Idempotency-Key its request was sent with;
        // an observation is the server's and never does.
        let claim = match voice {
            Voice::Observation => None,
            _ => crate::idempotency::current(),
        };
        self.writer
            .send(WriteRequest {
                actor,
                decide,
                signature: if voice == Voice::Observation {
                    None
                } else {
                    signature
                },
                observed,
                claim,
                reply,
            })
            .await
            .map_err(|_| ApiError::new("unavailable", "the server is shutting down"))?;
        rx.await
            .map_err(|_| ApiError::new("unavailable", "the writer stopped"))?
    }

    pub fn head(&self) -> u64 {
        *self.shared.head.borrow()
    }

    /// Write requests waiting in the writer's queue.
    pub fn queued(&self) -> usize {
        writer::QUEUE.saturating_sub(self.writer.capacity())
    }

    /// Sets the witness lag past which `/readyz` answers 503 (0: never).
    pub fn set_max_witness_lag(&self, entries: u64) {
        self.shared
            .max_witness_lag
            .store(entries, Ordering::Relaxed);
    }
}

/// A party's statement manages its operators and its witness, and is refused on any
/// other write rather than recorded beside it.
fn refuse_party_statement(signature: Option<&AuthorSignature>) -> Result<(), ApiError> {
    if signature.is_some_and(|s| s.party_signature.is_some()) {
        return Err(ApiError::new(
            "bad_party_signature",
            "a party's statement manages only its operators and its witness; this write takes none",
        ));
    }
    Ok(())
}

/// In whose voice a write is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Voice {
    /// The operator's own statement.
    Statement,
    /// The operator's statement registering a key, unsigned only while it has none.
    FirstKey,
    /// What the server observed on the operator's behalf.
    Observation,
}

/// An operator's statement must be signed if the operator must sign, by its active key,
/// with a nonce not used before and a time within the window.
fn check_authorship(
    s: &State,
    name: &str,
    signature: Option<&AuthorSignature>,
    voice: Voice,
    now: liaison_core::Timestamp,
) -> Result<(), DomainError> {
    let Some(sig) = signature else {
        let first_key =
            voice == Voice::FirstKey && s.operator(name).is_some_and(|o| o.active_key().is_none());
        if s.must_sign(name) && !first_key {
            return Err(DomainError::SignatureRequired(format!(
                "{name} must sign its writes: send Liaison-Signature, Liaison-Nonce and Liaison-Time (LIAISON_KEY for the CLI)"
            )));
        }
        return Ok(());
    };
    let active = s
        .operator(name)
        .and_then(|o| o.active_key())
        .map(|k| k.key_id.as_str());
    if active != Some(sig.key_id.as_str()) {
        return Err(DomainError::forbidden(format!(
            "key {} is no longer active for {name}",
            sig.key_id
        )));
    }
    match (&sig.nonce, sig.time) {
        (Some(nonce), Some(time)) => s.check_fresh(name, nonce, time, now),
        _ => Err(DomainError::SignatureRequired(format!(
            "{name}'s signature carries no nonce and time"
        ))),
    }
}

impl From<DomainError> for OpenError {
    fn from(e: DomainError) -> Self {
        OpenError::Invalid(e.to_string())
    }
}

/// The checkpoint origin names the log: a fixed prefix, the cell's name as a slug and
/// a random suffix so two cells with the same name never share an origin.
/// Checks that every key a charter pins parses as the kind of key it pins (the TOML
/// parser does the same, naming the line; a charter built in code passes here).
fn check_pinned_keys(charter: &Charter) -> Result<(), String> {
    use liaison_api::charter_toml::{KeyKind, check_vkey};
    if let Some(k) = &charter.log_key {
        check_vkey(k, KeyKind::Log).map_err(|e| format!("log.key: {e}"))?;
    }
    for (i, p) in charter.parties.iter().enumerate() {
        if let Some(w) = &p.witness {
            check_vkey(w, KeyKind::Witness).map_err(|e| format!("parties[{i}].witness: {e}"))?;
        }
    }
    crate::tls::ClientCas::from_charter(Some(charter))?;
    Ok(())
}

fn origin_for(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let mut suffix = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut suffix);
    format!(
        "liaison.cell/{}/{}",
        if slug.is_empty() { "cell" } else { &slug },
        hex::encode(suffix)
    )
}

/// Writes a file only its owner can read, atomically (temporary file, fsync, rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Builds the screener over the lists in force from their stored files, on a thread of
/// its own, so that the first filing or check after a start finds it ready. A failure
/// here is met again, and reported, by the request that needs the screener.
fn warm_screener(shared: &Arc<Shared>) {
    let coop = {
        let s = shared.state.read();
        if s.cooperation.lists.is_empty() {
            return;
        }
        liaison_core::cooperation::Cooperation {
            lists: s.cooperation.lists.clone(),
            ..Default::default()
        }
    };
    let shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("screener".into())
        .spawn(move || {
            if let Err(e) = shared.screeners.for_lists(shared.store.as_ref(), &coop) {
                tracing::error!(error = %e, "the sanctions lists in force do not load");
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the screener's thread");
    }
}
