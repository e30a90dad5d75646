//! Receipts in the C2SP tlog-proof text form:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! index <n>
//! <base64 hash>        (one line per inclusion-proof hash, leaf to root)
//!
//! <signed checkpoint note>
//! ```
//!
//! A receipt proves, to anyone holding the log's verifier key, that the entry with the
//! given leaf hash is at `index` in the tree the log signed.

use crate::checkpoint::Checkpoint;
use crate::merkle::{Hash, verify_inclusion};
use crate::note::{Verifier, open_note};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("malformed receipt: {0}")]
    Malformed(String),
    #[error("the checkpoint is not signed by the log key: {0}")]
    Signature(String),
    #[error("the entry is not in the signed tree: {0}")]
    Inclusion(String),
    #[error("the receipt's `{0}` is not what its text says")]
    Disagrees(&'static str),
}

impl Receipt {
    pub fn to_text(&self) -> String {
        let mut s = format!("{HEADER}\nindex {}\n", self.index);
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    pub fn parse(text: &str) -> Result<Receipt, ReceiptError> {
        let bad = |m: &str| ReceiptError::Malformed(m.to_string());
        let rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(|| bad("missing header line"))?;
        let (head, checkpoint) = rest
            .split_once("\n\n")
            .ok_or_else(|| bad("missing blank line before the checkpoint"))?;
        // One spelling per receipt, as for checkpoints: lines end in `\n` alone, and
        // the index is plain decimal (no sign, no leading zero).
        let mut lines = head.split('\n');
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .filter(|n| {
                !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && (n.len() == 1 || !n.starts_with('0'))
            })
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| bad("the second line must be `index N`, N in plain decimal"))?;
        let mut proof = Vec::new();
        for l in lines {
            let raw = B64.decode(l).map_err(|_| bad("proof line is not base64"))?;
            proof.push(
                raw.try_into()
                    .map_err(|_| bad("proof hash is not 32 bytes"))?,
            );
            if proof.len() > 64 {
                return Err(bad("proof too long"));
            }
        }
        Ok(Receipt {
            index,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// Whether a receipt's other forms say what its text says: its `index`, its
    /// `proof` (base64 hashes, leaf to root) and its `checkpoint` (the signed note), as
    /// a JSON receipt carries them beside its `text`. A form that cannot be read, or
    /// says anything else, is named.
    pub fn agrees_with(
        &self,
        index: u64,
        proof: &[String],
        checkpoint: &str,
    ) -> Result<(), ReceiptError> {
        if index != self.index {
            return Err(ReceiptError::Disagrees("index"));
        }
        if proof.len() != self.proof.len()
            || proof.iter().zip(&self.proof).any(|(b64, h)| {
                B64.decode(b64)
                    .ok()
                    .is_none_or(|raw| raw.as_slice() != h.as_slice() || B64.encode(&raw) != *b64)
            })
        {
            return Err(ReceiptError::Disagrees("proof"));
        }
        if checkpoint != self.checkpoint {
            return Err(ReceiptError::Disagrees("checkpoint"));
        }
        Ok(())
    }

    /// Verifies the receipt for an entry's leaf hash against the log's verifier key.
    /// Returns the checkpoint it is anchored to.
    pub fn verify(&self, log: &Verifier, leaf: &Hash) -> Result<Checkpoint, ReceiptError> {
        let opened = open_note(&self.checkpoint, std::slice::from_ref(log))
            .map_err(|e| ReceiptError::Signature(e.to_string()))?;
        let cp =
            Checkpoint::parse(opened.text()).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
        if cp.origin != log.name {
            return Err(ReceiptError::Signature(format!(
                "checkpoint origin {} is not the key's log {}",
                cp.origin, log.name
            )));
        }
        verify_inclusion(leaf, self.index, cp.size, &self.proof, &cp.root)
            .map_err(|e| ReceiptError::Inclusion(e.to_string()))?;
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{Tree, leaf_hash};
    use crate::note::{Signer, sign_note};

    #[test]
    fn a_receipt_agrees_only_with_its_own_forms() {
        let t = Tree::from_leaf_hashes((0..11u8).map(|i| leaf_hash(&[i])));
        let r = Receipt {
            index: 4,
            proof: t.inclusion_proof(4, 11).expect("proof"),
            checkpoint: "log.example/r\n11\nroot\n".into(),
        };
        let proof: Vec<String> = r.proof.iter().map(|h| B64.encode(h)).collect();
        assert_eq!(r.agrees_with(4, &proof, &r.checkpoint), Ok(()));
        assert_eq!(
            r.agrees_with(5, &proof, &r.checkpoint),
            Err(ReceiptError::Disagrees("index"))
        );
        let mut garbage = proof.clone();
        garbage[0] = "not base64!".into();
        let mut swapped = proof.clone();
        swapped.swap(0, 1);
        let mut padless = proof.clone();
        padless[0] = padless[0].trim_end_matches('=').into();
        for p in [garbage, swapped, padless, proof[1..].to_vec(), vec![]] {
            assert_eq!(
                r.agrees_with(4, &p, &r.checkpoint),
                Err(ReceiptError::Disagrees("proof")),
                "{p:?}"
            );
        }
        assert_eq!(
            r.agrees_with(4, &proof, "log.example/r\n12\nroot\n"),
            Err(ReceiptError::Disagrees("checkpoint"))
        );
    }

    #[test]
    fn receipt_round_trip_and_verify() {
        let s = Signer::generate("log.example/r", &mut rand::rngs::OsRng).expect("signer");
        let t = Tree::from_leaf_hashes((0..11u8).map(|i| leaf_hash(&[i])));
        let cp = Checkpoint::new("log.example/r", 11, t.root());
        let note = sign_note(&cp.to_text(), &[&s]);
        let r = Receipt {
            index: 4,
            proof: t.inclusion_proof(4, 11).expect("proof"),
            checkpoint: note,
        };
        let back = Receipt::parse(&r.to_text()).expect("parse");
        assert_eq!(back, r);
        let text = r.to_text();
        for other in [
            text.replacen("index 4", "index +4", 1),
            text.replacen("index 4", "index 04", 1),
            text.replacen("index 4\n", "index 4\r\n", 1),
            text.replacen("index 4\n", "index 4\n\r\n", 1),
        ] {
            assert!(
                Receipt::parse(&other).is_err(),
                "{other:?} should be refused"
            );
        }
        assert!(back.verify(&s.verifier(), &leaf_hash(&[4])).is_ok());
        assert!(back.verify(&s.verifier(), &leaf_hash(&[5])).is_err());
        let other = Signer::generate("log.example/r", &mut rand::rngs::OsRng).expect("signer");
        assert!(back.verify(&other.verifier(), &leaf_hash(&[4])).is_err());
    }
}
