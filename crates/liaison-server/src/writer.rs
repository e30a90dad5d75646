//! The one place where events are appended.
//!
//! A single writer thread takes write requests from a bounded queue, decides each
//! against the state (which already includes the effects of earlier requests in the
//! same batch), builds the log entries, signs one checkpoint for the batch and commits
//! events and checkpoint in one transaction: one fsync covers the batch (group commit).
//! Readers never see uncommitted events, because the state's write lock is held until
//! the commit returns. Only then are replies sent, with receipts, and subscribers woken.

use crate::app::Shared;
use liaison_api::ApiError;
use liaison_api::codec;
use liaison_api::wire::Receipt;
use liaison_core::event::AuthorSignature;
use liaison_core::event::EventBody;
use liaison_core::{Actor, Author, DomainError, Draft, Event, State, Timestamp};
use liaison_store::{AppendBatch, StoredClaim, StoredEvent};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most requests one group commit takes. Bounds the time the state lock is held.
pub const MAX_BATCH: usize = 512;
/// Capacity of the write queue; handlers wait for room when it is full.
pub const QUEUE: usize = 8192;

/// How a request turns into events: a pure function of the state and the time.
pub type Decider = Box<dyn FnOnce(&State, Timestamp) -> Result<Vec<Draft>, DomainError> + Send>;

/// Where a request's outcome is sent.
pub type Reply = oneshot::Sender<Result<Outcome, ApiError>>;

pub struct WriteRequest {
    pub actor: Actor,
    pub decide: Decider,
    pub signature: Option<AuthorSignature>,
    /// True when the server records this on the actor's behalf (its observation).
    pub observed: bool,
    /// The Idempotency-Key the request was sent with: claimed in the batch that records
    /// its events.
    pub claim: Option<Arc<crate::idempotency::Claim>>,
    pub reply: oneshot::Sender<Result<Outcome, ApiError>>,
}

/// What a committed request produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub seqs: Vec<u64>,
    /// Receipt of the request's last event its author may read; `None` if it recorded
    /// nothing its author may read.
    pub receipt: Option<Receipt>,
}

pub fn spawn(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<WriteRequest>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("liaison-writer".into())
        .spawn(move || {
            while let Some(first) = rx.blocking_recv() {
                // The queue as the writer finds it: this request and those behind it.
                let depth = rx.len() + 1;
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let m = &shared.metrics;
                m.write_queue_depth.observe(depth as f64);
                m.write_batch_size.observe(batch.len() as f64);
                run_batch(&shared, batch);
            }
        })
}

fn author_of(actor: &Actor) -> Author {
    match actor {
        Actor::System => Author::system(),
        Actor::Operator { name, party, .. } => Author {
            operator: name.clone(),
            party: party.clone(),
        },
    }
}

/// Logs and counts a request the writer refused, by its error code (never its
/// message, which may quote what was sent).
fn refused(shared: &Shared, actor: &Actor, code: &str) {
    let operator = match actor {
        Actor::System => "",
        Actor::Operator { name, .. } => name.as_str(),
    };
    tracing::info!(target: "liaison::writer", code, operator, "write refused");
    shared
        .metrics
        .write_refusals
        .get_or_create(&crate::metrics::CodeLabel {
            code: code.to_string(),
        })
        .inc();
}

fn run_batch(shared: &Shared, batch: Vec<WriteRequest>) {
    let started = std::time::Instant::now();
    if shared.is_failed() {
        for r in batch {
            refused(shared, &r.actor, "unavailable");
            let _ = r.reply.send(Err(ApiError::new(
                "unavailable",
                "the store failed; writes are refused until restart",
            )));
        }
        return;
    }
    // While the disk is full, a batch is refused before it is decided, so that nothing
    // of it reaches the state; a small durable write says when space is back.
    // So is a batch while the replica does not take writes.
    if shared.writes_paused().is_some() {
        match shared.store.probe_write() {
            Ok(()) => {
                shared.set_storage_full(false);
                shared.set_replica_unavailable(false);
                tracing::info!("the store accepts writes again; writes resume");
            }
            Err(e) => {
                // Which of the two pauses it is now, when the probe says.
                if e.is_full() || e.is_replica() {
                    shared.set_storage_full(e.is_full());
                    shared.set_replica_unavailable(e.is_replica());
                }
                let refusal = crate::error::store_error(&e);
                tracing::warn!(code = refusal.code, error = %e, "write refused: the store still refuses writes");
                for r in batch {
                    let _ = r.reply.send(Err(refusal.clone()));
                }
                return;
            }
        }
    }
    let mut state = shared.state.write();
    let mut ledger = shared.ledger.write();
    let base_seq = state.next_seq();
    // Event times never go backwards, even if the wall clock does.
    let last_at = state.events.last().map(|e| e.at).unwrap_or_default();
    let now = shared.clock.now().max(last_at);

    let mut stored: Vec<StoredEvent> = Vec::new();
    // Each new event's payload, kept to render its SSE frame without serializing again.
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    let mut replies: Vec<(Reply, Result<Vec<u64>, ApiError>)> = Vec::new();
    // The claims of requests that record something, kept until the commit is known.
    let mut claimed: Vec<(Arc<crate::idempotency::Claim>, Vec<u64>)> = Vec::new();
    let mut claims: Vec<StoredClaim> = Vec::new();
    // Per reply, who may read its receipt: a receipt carries its entry's bytes.
    let mut readers: Vec<Option<liaison_core::Viewer>> = Vec::new();
    for req in batch {
        let WriteRequest {
            actor,
            decide,
            signature,
            observed,
            claim,
            reply,
        } = req;
        readers.push(match &actor {
            Actor::System => None,
            Actor::Operator {
                name,
                party,
                party_role,
                ..
            } => Some(liaison_core::Viewer {
                party: party.clone(),
                party_role: *party_role,
                operator: Some(name.clone()),
            }),
        });
        match decide(&state, now) {
            Err(e) => {
                refused(shared, &actor, e.code());
                replies.push((reply, Err(e.into())));
            }
            Ok(drafts) => {
                let mut seqs = Vec::with_capacity(drafts.len());
                for d in drafts {
                    let event = Event {
                        seq: state.next_seq(),
                        at: now,
                        author: author_of(&actor),
                        concerns: d.concerns,
                        audience: d.audience,
                        body: d.body,
                        signature: signature.clone(),
                        observed,
                    };
                    let encoded = codec::encode(&event);
                    let salt = shared.salts.draw(event.seq);
                    let entry = ledger.entry_with_payload(&event, &encoded.payload, Some(salt));
                    ledger.push(&entry);
                    stored.push(StoredEvent {
                        seq: event.seq,
                        entry,
                        event: encoded.stored,
                    });
                    payloads.push(encoded.payload);
                    seqs.push(event.seq);
                    state.apply(Arc::new(event));
                }
                if let Some(c) = claim
                    && !seqs.is_empty()
                    && let Some(fingerprint) = c.fingerprint()
                {
                    claims.push(StoredClaim {
                        scope: c.scope.clone(),
                        key: c.key.clone(),
                        request: fingerprint.to_vec(),
                        created_micros: now.micros(),
                        recorded: crate::idempotency::encode_recorded(&seqs),
                    });
                    claimed.push((c, seqs.clone()));
                }
                replies.push((reply, Ok(seqs)));
            }
        }
    }
    if stored.is_empty() {
        drop(ledger);
        drop(state);
        for (reply, r) in replies {
            let _ = reply.send(r.map(|seqs| Outcome {
                seqs,
                receipt: None,
            }));
        }
        return;
    }
    let checkpoint = ledger.sign_checkpoint();
    let append = AppendBatch {
        events: stored,
        checkpoint: Some(checkpoint),
        claims,
    };
    let appending = std::time::Instant::now();
    let appended = shared.store.append(&append);
    shared
        .metrics
        .store_append
        .observe(appending.elapsed().as_secs_f64());
    if let Err(e) = appended {
        // The batch was applied to the state (each request decided against the ones
        // before it) but not committed: the state and the log are rebuilt from the
        // store, which holds nothing of it.
        if e.is_full() {
            shared.set_storage_full(true);
            tracing::warn!(error = %e, "the store is full; writes are refused until space is freed (reads go on)");
        } else if e.is_replica() {
            shared.set_replica_unavailable(true);
            tracing::error!(error = %e, "the replica did not take a batch; writes are refused until it answers (reads go on)");
        } else {
            tracing::error!(error = %e, "append failed; rebuilding state from the store");
        }
        let rebuilt = crate::app::rebuild(shared.store.as_ref(), ledger.signer_clone());
        match rebuilt {
            Ok((s, l)) => {
                *state = s;
                *ledger = l;
            }
            Err(e2) => {
                tracing::error!(error = %e2, "rebuild failed; refusing further writes");
                shared.mark_failed();
            }
        }
        debug_assert!(shared.is_failed() || state.next_seq() == base_seq);
        drop(ledger);
        drop(state);
        let refusal = crate::error::store_error(&e);
        // Every request of the batch is refused, even one the state refused: that
        // refusal may rest on an earlier request of the batch, which was not recorded.
        for (reply, _) in replies {
            shared
                .metrics
                .write_refusals
                .get_or_create(&crate::metrics::CodeLabel {
                    code: refusal.code.to_string(),
                })
                .inc();
            let _ = reply.send(Err(refusal.clone()));
        }
        return;
    }
    shared
        .metrics
        .write_commit
        .observe(started.elapsed().as_secs_f64());
    for e in &state.events[base_seq as usize..] {
        shared
            .metrics
            .events
            .get_or_create(&crate::metrics::KindLabel { kind: e.kind() })
            .inc();
    }
    for (c, seqs) in claimed {
        c.recorded(seqs);
    }
    let head = state.next_seq();
    let operators_changed = append.events.len() as u64 == head - base_seq
        && state.events[base_seq as usize..].iter().any(|e| {
            matches!(
                e.body,
                EventBody::OperatorAdded { .. }
                    | EventBody::OperatorDisabled { .. }
                    | EventBody::OperatorEnabled { .. }
                    | EventBody::OperatorTokenRotated { .. }
                    | EventBody::OperatorSuspended { .. }
                    | EventBody::OperatorReinstated { .. }
                    | EventBody::CellCreated { .. }
            )
        });
    if operators_changed {
        *shared.credentials.write() = crate::auth::credentials_of(&state);
    }
    crate::deconfliction::on_commit(&shared.geo, &state);
    {
        let mut rendered = shared.rendered.write();
        debug_assert_eq!(rendered.len() as u64, base_seq);
        for (e, payload) in state.events[base_seq as usize..].iter().zip(&payloads) {
            rendered.push(crate::routes::events::Frame::with_payload(e, payload));
        }
    }
    // Each reply's receipt is for the last of its events its author may read.
    let receipt_seqs: Vec<Option<u64>> = replies
        .iter()
        .zip(&readers)
        .map(|((_, r), reader)| {
            let seqs = r.as_ref().ok()?;
            seqs.iter().rev().copied().find(|s| {
                reader
                    .as_ref()
                    .is_none_or(|v| liaison_core::can_see(v, &state.events[*s as usize]))
            })
        })
        .collect();
    drop(state);
    // Streams wake as soon as the batch is committed and its frames are ready; the
    // receipts are computed while they send.
    shared.head.send_replace(head);
    let ledger = parking_lot::RwLockWriteGuard::downgrade(ledger);
    let mut outcomes = Vec::with_capacity(replies.len());
    for ((reply, r), receipt_seq) in replies.into_iter().zip(receipt_seqs) {
        let out = r.map(|seqs| {
            let receipt = receipt_seq.and_then(|s| {
                let entry = &append.events[(s - base_seq) as usize].entry;
                ledger.receipt(s, entry).ok()
            });
            Outcome { seqs, receipt }
        });
        outcomes.push((reply, out));
    }
    drop(ledger);
    for (reply, out) in outcomes {
        let _ = reply.send(out);
    }
    crate::deconfliction::repack_if_due(&shared.geo);
}
