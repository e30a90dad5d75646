//! Ed25519 keys for operators and witnesses: generation (RNG passed in), PKCS#8 PEM and
//! unencrypted OpenSSH key files, public keys in base64, strict verification.
//!
//! Verification follows RFC 8032 strictly (`verify_strict`), and weak (small-order)
//! public keys are refused at registration, so every party accepts exactly the same
//! signatures.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a key file this tool reads (PKCS#8 PEM or unencrypted OpenSSH ed25519): {0}")]
    Format(String),
    #[error(
        "encrypted OpenSSH keys are not supported; decrypt with `ssh-keygen -p -N ''` on a copy"
    )]
    Encrypted,
    #[error("not an Ed25519 public key: {0}")]
    BadPublic(String),
    #[error("the public key is weak (small order) and refused")]
    Weak,
    #[error("the signature does not verify")]
    BadSignature,
}

pub fn generate<R: rand::CryptoRng + rand::RngCore>(rng: &mut R) -> SigningKey {
    SigningKey::generate(rng)
}

pub fn to_pkcs8_pem(key: &SigningKey) -> Result<String, KeyError> {
    key.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map(|s| s.to_string())
        .map_err(|e| KeyError::Format(e.to_string()))
}

/// Reads a private key file: PKCS#8 PEM (`openssl genpkey -algorithm ed25519`) or an
/// unencrypted OpenSSH key (`ssh-keygen -t ed25519 -N ''`).
pub fn read_private_key(text: &str) -> Result<SigningKey, KeyError> {
    let t = text.trim();
    if t.starts_with("-----BEGIN PRIVATE KEY-----") {
        return SigningKey::from_pkcs8_pem(t).map_err(|e| KeyError::Format(e.to_string()));
    }
    if t.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
        return read_openssh(t);
    }
    Err(KeyError::Format("expected a PEM block".into()))
}

struct Ssh<'a> {
    b: &'a [u8],
}

impl<'a> Ssh<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], KeyError> {
        if self.b.len() < n {
            return Err(KeyError::Format("truncated OpenSSH key".into()));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u32(&mut self) -> Result<u32, KeyError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<&'a [u8], KeyError> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
}

fn read_openssh(text: &str) -> Result<SigningKey, KeyError> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let raw = B64
        .decode(body.trim())
        .map_err(|e| KeyError::Format(e.to_string()))?;
    let magic = b"openssh-key-v1\0";
    if !raw.starts_with(magic) {
        return Err(KeyError::Format("missing openssh-key-v1 magic".into()));
    }
    let mut r = Ssh {
        b: &raw[magic.len()..],
    };
    let cipher = r.string()?;
    let _kdf = r.string()?;
    let _kdf_opts = r.string()?;
    if cipher != b"none" {
        return Err(KeyError::Encrypted);
    }
    if r.u32()? != 1 {
        return Err(KeyError::Format("expected exactly one key".into()));
    }
    let _public = r.string()?;
    let mut p = Ssh { b: r.string()? };
    if p.u32()? != p.u32()? {
        return Err(KeyError::Format(
            "check integers differ (corrupt key)".into(),
        ));
    }
    if p.string()? != b"ssh-ed25519" {
        return Err(KeyError::Format("not an ssh-ed25519 key".into()));
    }
    let pk = p.string()?;
    let sk = p.string()?;
    if sk.len() != 64 || pk.len() != 32 || &sk[32..] != pk {
        return Err(KeyError::Format("malformed ed25519 key material".into()));
    }
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&sk[..32]);
    Ok(SigningKey::from_bytes(&seed))
}

/// Parses an OpenSSH public key line `ssh-ed25519 AAAA… comment`.
pub fn read_openssh_public(line: &str) -> Result<VerifyingKey, KeyError> {
    let mut parts = line.split_whitespace();
    if parts.next() != Some("ssh-ed25519") {
        return Err(KeyError::BadPublic("expected ssh-ed25519".into()));
    }
    let raw = B64
        .decode(parts.next().unwrap_or_default())
        .map_err(|e| KeyError::BadPublic(e.to_string()))?;
    let mut r = Ssh { b: &raw };
    if r.string()? != b"ssh-ed25519" {
        return Err(KeyError::BadPublic("key type mismatch".into()));
    }
    let pk: [u8; 32] = r
        .string()?
        .try_into()
        .map_err(|_| KeyError::BadPublic("not 32 bytes".into()))?;
    VerifyingKey::from_bytes(&pk).map_err(|e| KeyError::BadPublic(e.to_string()))
}

pub fn public_b64(key: &VerifyingKey) -> String {
    B64.encode(key.as_bytes())
}

/// An operator key's id: 8 hex digits of SHA-256("liaison/operator-key\n" || key).
pub fn operator_key_id(key: &VerifyingKey) -> String {
    let mut h = Sha256::new();
    h.update(b"liaison/operator-key\n");
    h.update(key.as_bytes());
    hex::encode(&h.finalize()[..4])
}

/// Parses a base64 public key for registration, refusing weak keys; returns its key id.
pub fn check_public_key_b64(b64: &str) -> Result<String, KeyError> {
    let key = parse_public_b64(b64)?;
    Ok(operator_key_id(&key))
}

pub fn parse_public_b64(b64: &str) -> Result<VerifyingKey, KeyError> {
    let raw = B64
        .decode(b64.trim())
        .map_err(|e| KeyError::BadPublic(e.to_string()))?;
    let pk: [u8; 32] = raw
        .try_into()
        .map_err(|_| KeyError::BadPublic("not 32 bytes".into()))?;
    let key = VerifyingKey::from_bytes(&pk).map_err(|e| KeyError::BadPublic(e.to_string()))?;
    if key.is_weak() {
        return Err(KeyError::Weak);
    }
    Ok(key)
}

pub fn sign_b64(key: &SigningKey, msg: &[u8]) -> String {
    B64.encode(key.sign(msg).to_bytes())
}

/// Strict RFC 8032 verification of a base64 signature by a base64 public key.
pub fn verify_signature_b64(public_b64: &str, msg: &[u8], sig_b64: &str) -> Result<(), KeyError> {
    let key = parse_public_b64(public_b64)?;
    let raw = B64
        .decode(sig_b64.trim())
        .map_err(|_| KeyError::BadSignature)?;
    let sig = Signature::from_slice(&raw).map_err(|_| KeyError::BadSignature)?;
    key.verify_strict(msg, &sig)
        .map_err(|_| KeyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs8_round_trip_and_signatures() {
        let k = generate(&mut rand::rngs::OsRng);
        let pem = to_pkcs8_pem(&k).expect("pem");
        let back = read_private_key(&pem).expect("read");
        assert_eq!(back.to_bytes(), k.to_bytes());
        let pubk = public_b64(&k.verifying_key());
        let sig = sign_b64(&k, b"hello");
        assert!(verify_signature_b64(&pubk, b"hello", &sig).is_ok());
        assert!(verify_signature_b64(&pubk, b"hellp", &sig).is_err());
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point encodes as 0x01 followed by zeros: small order.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        assert_eq!(check_public_key_b64(&B64.encode(weak)), Err(KeyError::Weak));
    }

    #[test]
    fn reads_an_unencrypted_openssh_key() {
        // Built by hand in the openssh-key-v1 layout for a known seed.
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let pk = k.verifying_key().to_bytes();
        let s = |v: &[u8]| [&(v.len() as u32).to_be_bytes()[..], v].concat();
        let public = [s(b"ssh-ed25519"), s(&pk)].concat();
        let mut private = [
            vec![0, 0, 0, 9, 0, 0, 0, 9],
            s(b"ssh-ed25519"),
            s(&pk),
            s(&[&[7u8; 32][..], &pk].concat()),
            s(b"test"),
        ]
        .concat();
        let mut pad = 1u8;
        while private.len() % 8 != 0 {
            private.push(pad);
            pad += 1;
        }
        let body = [
            b"openssh-key-v1\0".to_vec(),
            s(b"none"),
            s(b"none"),
            s(b""),
            1u32.to_be_bytes().to_vec(),
            s(&public),
            s(&private),
        ]
        .concat();
        let pem = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            B64.encode(body)
        );
        assert_eq!(read_private_key(&pem).map(|k| k.to_bytes()), Ok([7u8; 32]));
        let line = format!("ssh-ed25519 {} test", B64.encode(&public));
        assert_eq!(read_openssh_public(&line).map(|k| k.to_bytes()), Ok(pk));
    }
}
