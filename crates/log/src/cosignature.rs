//! C2SP tlog-cosignature/v1: a witness's Ed25519 signature over
//! `cosignature/v1\ntime <unix seconds>\n` followed by the checkpoint body, carried as a
//! note signature of type 0x04 whose blob is keyid(4) || time(8, big-endian) || sig(64).

use crate::note::{NoteError, Signer, TYPE_COSIGNATURE, Verifier, key_id};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;

fn message(checkpoint_body: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{checkpoint_body}").into_bytes()
}

/// A witness signer: an Ed25519 key whose note key type is 0x04.
pub fn witness_signer(name: &str, key: ed25519_dalek::SigningKey) -> Result<Signer, NoteError> {
    Signer::new(name, TYPE_COSIGNATURE, key)
}

/// The cosignature line `— name base64(keyid || time || sig)`.
pub fn cosign(checkpoint_body: &str, witness: &Signer, time: u64) -> String {
    let sig = witness.signing_key().sign(&message(checkpoint_body, time));
    let v = witness.verifier();
    let id = key_id(witness.name(), TYPE_COSIGNATURE, v.key.as_bytes());
    let mut blob = id.to_vec();
    blob.extend_from_slice(&time.to_be_bytes());
    blob.extend_from_slice(&sig.to_bytes());
    format!("— {} {}", witness.name(), B64.encode(blob))
}

/// Verifies one cosignature line against a witness vkey; returns its timestamp.
pub fn verify_cosignature_line(
    vkey: &str,
    checkpoint_body: &str,
    line: &str,
) -> Result<u64, NoteError> {
    let v = Verifier::from_vkey(vkey)?;
    if v.key_type != TYPE_COSIGNATURE {
        return Err(NoteError::BadKey("a witness key has type 0x04".into()));
    }
    let rest = line
        .strip_prefix("— ")
        .ok_or_else(|| NoteError::Malformed("a cosignature line starts with \"— \"".into()))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| NoteError::Malformed("cosignature line".into()))?;
    if name != v.name {
        return Err(NoteError::Unverified);
    }
    let blob = B64
        .decode(b64.trim())
        .map_err(|_| NoteError::Malformed("cosignature is not base64".into()))?;
    if blob.len() != 4 + 8 + 64 || blob[..4] != v.id {
        return Err(NoteError::Unverified);
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&blob[4..12]);
    let time = u64::from_be_bytes(t);
    let sig =
        ed25519_dalek::Signature::from_slice(&blob[12..]).map_err(|_| NoteError::Unverified)?;
    v.key
        .verify_strict(&message(checkpoint_body, time), &sig)
        .map_err(|_| NoteError::Unverified)?;
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn cosign_and_verify() {
        let w = witness_signer(
            "il.witness",
            ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng),
        )
        .expect("signer");
        let body = "log.example\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let line = cosign(body, &w, 1_700_000_000);
        let vkey = w.verifier().vkey();
        assert_eq!(
            verify_cosignature_line(&vkey, body, &line),
            Ok(1_700_000_000)
        );
        assert!(verify_cosignature_line(&vkey, &body.replace('3', "4"), &line).is_err());
        let other = witness_signer(
            "il.witness",
            ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng),
        )
        .expect("signer");
        assert!(verify_cosignature_line(&other.verifier().vkey(), body, &line).is_err());
    }
}
