//! The server's side of the shared record: the Merkle tree over every entry, the log's
//! signing key, checkpoints and receipts. Pure computation over `liaison-log`; the
//! writer decides when to call it.

use liaison_api::codec::payload_bytes;
use liaison_api::wire::Receipt;
use liaison_core::Event;
use liaison_log::checkpoint::Checkpoint;
use liaison_log::entry::{Entry, EntrySignature, SALT_LEN};
use liaison_log::merkle::{Tree, leaf_hash};
use liaison_log::note::{Signer, Verifier};
use liaison_log::proof;
use liaison_store::StoredCheckpoint;
use sha2::{Digest, Sha256};

/// The log's note signer: the checkpoint origin doubles as the key name.
#[derive(Clone)]
pub struct LogSigner {
    signer: Signer,
}

impl LogSigner {
    /// A new log key named after the origin; fails only for an origin that is not a
    /// valid key name (empty, or with spaces or `+`).
    pub fn generate(origin: &str) -> Result<LogSigner, String> {
        Signer::generate(origin, &mut rand::rngs::OsRng)
            .map(|signer| LogSigner { signer })
            .map_err(|e| format!("log key: {e}"))
    }

    pub fn from_key_text(text: &str) -> Result<LogSigner, String> {
        Signer::from_key_text(text)
            .map(|signer| LogSigner { signer })
            .map_err(|e| format!("log key: {e}"))
    }

    pub fn key_text(&self) -> String {
        self.signer.key_text()
    }

    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    pub fn vkey(&self) -> String {
        self.signer.verifier().vkey()
    }

    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }
}

pub struct Ledger {
    signer: LogSigner,
    tree: Tree,
    /// The last checkpoint note signed, for the tree's current size.
    last_note: Option<String>,
}

impl Ledger {
    pub fn new(signer: LogSigner) -> Ledger {
        Ledger {
            signer,
            tree: Tree::new(),
            last_note: None,
        }
    }

    pub fn signer_clone(&self) -> LogSigner {
        self.signer.clone()
    }

    pub fn origin(&self) -> &str {
        self.signer.origin()
    }

    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    pub fn size(&self) -> u64 {
        self.tree.len()
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The canonical entry for an event: its header and the hash of its payload, salted
    /// with `salt` (version 3) or, for an entry recorded before salts, without one.
    pub fn entry_for(&self, event: &Event, salt: Option<[u8; SALT_LEN]>) -> Vec<u8> {
        self.entry_with_payload(event, &payload_bytes(event), salt)
    }

    /// The entry of an event whose payload (`codec::payload_bytes`) is already at hand.
    pub fn entry_with_payload(
        &self,
        event: &Event,
        payload: &[u8],
        salt: Option<[u8; SALT_LEN]>,
    ) -> Vec<u8> {
        let signature = event
            .signature
            .as_ref()
            .and_then(|s| EntrySignature::from_text(&s.key_id, &s.signature).ok());
        Entry {
            origin: self.origin().to_string(),
            index: event.seq,
            kind: event.kind().to_string(),
            author_operator: event.author.operator.clone(),
            author_party: event.author.party.clone(),
            time_micros: event.at.micros(),
            audience: event.audience.to_list(),
            payload_sha256: Sha256::digest(payload).into(),
            signed_sha256: signature.as_ref().and_then(|_| {
                event
                    .signature
                    .as_ref()
                    .and_then(|s| s.signed.as_ref())
                    .map(|t| Sha256::digest(t.as_bytes()).into())
            }),
            signature,
            observed: event.observed,
            salt,
        }
        .encode()
    }

    pub fn push(&mut self, entry: &[u8]) {
        self.tree.push(leaf_hash(entry));
    }

    /// Signs a checkpoint for the current tree; the writer stores it with the batch.
    pub fn sign_checkpoint(&mut self) -> StoredCheckpoint {
        let cp = Checkpoint::new(self.origin(), self.tree.len(), self.tree.root());
        let note = liaison_log::note::sign_note(&cp.to_text(), &[&self.signer.signer]);
        self.last_note = Some(note.clone());
        StoredCheckpoint {
            size: self.tree.len(),
            note,
        }
    }

    pub fn latest_note(&self) -> Option<&str> {
        self.last_note.as_deref()
    }

    /// Checks that a stored checkpoint note is signed by this log's key and matches the
    /// tree replayed from the store; remembers it as the latest.
    pub fn check_signed(&mut self, note: &str) -> Result<(), String> {
        let opened = liaison_log::note::open_note(note, &[self.signer.verifier()])
            .map_err(|e| format!("the stored checkpoint does not verify: {e}"))?;
        let cp = Checkpoint::parse(opened.text())
            .map_err(|e| format!("the stored checkpoint does not parse: {e}"))?;
        if cp.origin != self.origin() {
            return Err(format!(
                "the stored checkpoint is for another log ({})",
                cp.origin
            ));
        }
        if cp.size != self.tree.len() || cp.root != self.tree.root() {
            return Err(format!(
                "the store holds {} entries but the last signed checkpoint says {} with another root: refusing to continue a different history",
                self.tree.len(),
                cp.size
            ));
        }
        self.last_note = Some(note.to_string());
        Ok(())
    }

    /// A receipt for entry `index` against the latest checkpoint.
    pub fn receipt(&self, index: u64, entry: &[u8]) -> Result<Receipt, String> {
        let note = self.last_note.clone().ok_or("no checkpoint signed yet")?;
        self.receipt_at(index, entry, self.tree.len(), note)
    }

    /// A receipt for entry `index` against the checkpoint of `size` this log signed,
    /// whose note (with whatever cosignatures it carries) is `note`.
    pub fn receipt_at(
        &self,
        index: u64,
        entry: &[u8],
        size: u64,
        note: String,
    ) -> Result<Receipt, String> {
        let path = self
            .tree
            .inclusion_proof(index, size)
            .map_err(|e| e.to_string())?;
        let r = proof::Receipt {
            index,
            proof: path.clone(),
            checkpoint: note.clone(),
        };
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok(Receipt {
            index,
            proof: path.iter().map(|h| b64.encode(h)).collect(),
            checkpoint: note,
            leaf_hash: hex::encode(leaf_hash(entry)),
            entry: b64.encode(entry),
            text: r.to_text(),
        })
    }
}
