//! The canonical bytes of a log entry: an event's header and the SHA-256 of its payload,
//! so every party can verify the whole tree, including entries whose payload it may not
//! read.
//!
//! Layout (all integers big-endian; strings UTF-8 with a u16 length prefix):
//!
//! ```text
//! "LSNE" version(u8 = 1)
//! origin, index(u64), kind, author operator, author party, time in µs (i64)
//! audience count (u8), then each party id (sorted, unique; "*" alone = everyone)
//! payload SHA-256 (32 bytes)
//! signature flag (u8: 0 none, 1 present), then key id (4 bytes) and Ed25519 signature (64 bytes)
//! ```
//!
//! Version 2 is version 1 followed by:
//!
//! ```text
//! author kind (u8: 0 the author's statement, 1 the server's observation on its behalf)
//! signed flag (u8: 0 none, 1 present), then the SHA-256 of the bytes the author signed (32 bytes)
//! ```
//!
//! Version 3, a salted entry, is what the server writes now:
//!
//! ```text
//! "LSNE" version(u8 = 3) salt (32 random bytes)
//! then the fields of version 1 from the origin on, and the two fields version 2 adds,
//! always present
//! ```
//!
//! The salt is drawn at random for each event when it is recorded and kept in its entry,
//! so the leaf hash of an entry (which every party reads in the hash tiles) cannot be
//! found by hashing guesses of its kind, author, time and audience: the entry's bytes
//! go only to those who may read its event, and to the others its leaf hash tells
//! nothing but that an event was recorded.
//!
//! An unsalted entry is written in version 1 exactly when it is a statement without
//! signed bytes (every entry recorded before version 2, and unsigned statements), and in
//! version 2 otherwise; entries recorded before version 3 keep their bytes. The signed
//! flag is 1 only with a signature. Decoding is strict: any other byte string is
//! refused, so each entry has one encoding.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

const MAGIC: &[u8; 4] = b"LSNE";
const VERSION: u8 = 1;
const VERSION_2: u8 = 2;
const VERSION_3: u8 = 3;
/// Bytes of an entry's salt.
pub const SALT_LEN: usize = 32;
pub const MAX_FIELD: usize = 1024;
pub const MAX_AUDIENCE: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntrySignature {
    pub key_id: [u8; 4],
    pub sig: [u8; 64],
}

impl EntrySignature {
    /// From the record's text form: hex key id and base64 signature.
    pub fn from_text(key_id: &str, sig: &str) -> Result<EntrySignature, EntryError> {
        let k = hex::decode(key_id).map_err(|_| EntryError("key id is not hex".into()))?;
        let s = B64
            .decode(sig)
            .map_err(|_| EntryError("signature is not base64".into()))?;
        Ok(EntrySignature {
            key_id: k
                .try_into()
                .map_err(|_| EntryError("key id is not 4 bytes".into()))?,
            sig: s
                .try_into()
                .map_err(|_| EntryError("signature is not 64 bytes".into()))?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub origin: String,
    pub index: u64,
    pub kind: String,
    pub author_operator: String,
    pub author_party: String,
    pub time_micros: i64,
    pub audience: Vec<String>,
    pub payload_sha256: [u8; 32],
    pub signature: Option<EntrySignature>,
    /// True when the server recorded the event on the author's behalf.
    pub observed: bool,
    /// SHA-256 of the exact bytes the author signed (only with a signature).
    pub signed_sha256: Option<[u8; 32]>,
    /// The random salt of a version 3 entry; `None` for entries recorded before it.
    pub salt: Option<[u8; SALT_LEN]>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed entry: {0}")]
pub struct EntryError(pub String);

fn put_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(MAX_FIELD);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&b[..n]);
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(200);
        out.extend_from_slice(MAGIC);
        let v2 = self.salt.is_some() || self.observed || self.signed_sha256.is_some();
        match &self.salt {
            Some(salt) => {
                out.push(VERSION_3);
                out.extend_from_slice(salt);
            }
            None => out.push(if v2 { VERSION_2 } else { VERSION }),
        }
        put_str(&mut out, &self.origin);
        out.extend_from_slice(&self.index.to_be_bytes());
        put_str(&mut out, &self.kind);
        put_str(&mut out, &self.author_operator);
        put_str(&mut out, &self.author_party);
        out.extend_from_slice(&self.time_micros.to_be_bytes());
        let n = self.audience.len().min(MAX_AUDIENCE);
        out.push(n as u8);
        for a in &self.audience[..n] {
            put_str(&mut out, a);
        }
        out.extend_from_slice(&self.payload_sha256);
        match &self.signature {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                out.extend_from_slice(&s.key_id);
                out.extend_from_slice(&s.sig);
            }
        }
        if v2 {
            out.push(u8::from(self.observed));
            match (&self.signature, &self.signed_sha256) {
                (Some(_), Some(h)) => {
                    out.push(1);
                    out.extend_from_slice(h);
                }
                _ => out.push(0),
            }
        }
        out
    }

    /// The salt an entry's bytes carry (version 3), without decoding the rest.
    pub fn salt_of(bytes: &[u8]) -> Option<[u8; SALT_LEN]> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())?
            .strip_prefix(&[VERSION_3])?;
        rest.get(..SALT_LEN)?.try_into().ok()
    }

    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        let mut r = Reader { b: bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err(EntryError("not a liaison entry (magic)".into()));
        }
        let (v2, salt) = match r.u8()? {
            VERSION => (false, None),
            VERSION_2 => (true, None),
            VERSION_3 => (true, Some(r.array()?)),
            _ => return Err(EntryError("unknown entry version".into())),
        };
        let origin = r.string()?;
        let index = u64::from_be_bytes(r.array()?);
        let kind = r.string()?;
        let author_operator = r.string()?;
        let author_party = r.string()?;
        let time_micros = i64::from_be_bytes(r.array()?);
        let n = r.u8()? as usize;
        if n > MAX_AUDIENCE {
            return Err(EntryError("audience too large".into()));
        }
        let mut audience = Vec::with_capacity(n);
        for _ in 0..n {
            audience.push(r.string()?);
        }
        if audience.windows(2).any(|w| w[0] >= w[1]) {
            return Err(EntryError("audience must be sorted and unique".into()));
        }
        let payload_sha256 = r.array()?;
        let signature = match r.u8()? {
            0 => None,
            1 => Some(EntrySignature {
                key_id: r.array()?,
                sig: r.array()?,
            }),
            _ => return Err(EntryError("bad signature flag".into())),
        };
        let (observed, signed_sha256) = if v2 {
            let observed = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(EntryError("bad author kind".into())),
            };
            let signed = match r.u8()? {
                0 => None,
                1 if signature.is_some() => Some(r.array()?),
                _ => return Err(EntryError("bad signed flag".into())),
            };
            if salt.is_none() && !observed && signed.is_none() {
                return Err(EntryError("a version 1 entry written as version 2".into()));
            }
            (observed, signed)
        } else {
            (false, None)
        };
        if r.at != bytes.len() {
            return Err(EntryError("trailing bytes".into()));
        }
        Ok(Entry {
            origin,
            index,
            kind,
            author_operator,
            author_party,
            time_micros,
            audience,
            payload_sha256,
            signature,
            observed,
            signed_sha256,
            salt,
        })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| EntryError("truncated".into()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, EntryError> {
        Ok(self.take(1)?[0])
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], EntryError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn string(&mut self) -> Result<String, EntryError> {
        let n = u16::from_be_bytes(self.array()?) as usize;
        if n > MAX_FIELD {
            return Err(EntryError("field too long".into()));
        }
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| EntryError("field is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Entry {
        Entry {
            origin: "liaison.cell/golan/ab12".into(),
            index: 7,
            kind: "message_sent".into(),
            author_operator: "il-liaison".into(),
            author_party: "il".into(),
            time_micros: 1_767_700_800_000_000,
            audience: vec!["il".into(), "sy".into(), "us".into()],
            payload_sha256: [9u8; 32],
            signature: Some(EntrySignature {
                key_id: [1, 2, 3, 4],
                sig: [5u8; 64],
            }),
            observed: false,
            signed_sha256: None,
            salt: None,
        }
    }

    #[test]
    fn version_3_carries_the_salt_and_always_both_version_2_fields() {
        for (observed, signed) in [(false, None), (true, None), (false, Some([7u8; 32]))] {
            let mut e = sample();
            e.salt = Some([3u8; SALT_LEN]);
            e.observed = observed;
            e.signed_sha256 = signed;
            if observed {
                e.signature = None;
            }
            let bytes = e.encode();
            assert_eq!(bytes[4], 3);
            assert_eq!(&bytes[5..5 + SALT_LEN], &[3u8; SALT_LEN]);
            assert_eq!(Entry::decode(&bytes), Ok(e.clone()));
            assert_eq!(Entry::salt_of(&bytes), e.salt);
            // The same entry under another salt has another leaf.
            let mut other = e.clone();
            other.salt = Some([4u8; SALT_LEN]);
            assert_ne!(other.encode(), bytes);
            // Without its version 2 fields, or with a byte more, it is refused.
            let n = bytes.len() - if signed.is_some() { 34 } else { 2 };
            assert!(Entry::decode(&bytes[..n]).is_err());
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(Entry::decode(&longer).is_err());
        }
        // An unsalted entry keeps the bytes it was recorded with.
        let old = sample();
        assert_eq!(old.encode()[4], 1);
        assert_eq!(Entry::salt_of(&old.encode()), None);
        assert_eq!(Entry::decode(&old.encode()), Ok(old));
    }

    #[test]
    fn version_2_carries_the_author_kind_and_the_signed_hash() {
        let mut e = sample();
        e.signed_sha256 = Some([7u8; 32]);
        let bytes = e.encode();
        assert_eq!(bytes[4], 2);
        assert_eq!(Entry::decode(&bytes), Ok(e.clone()));
        let mut o = sample();
        o.signature = None;
        o.observed = true;
        assert_eq!(Entry::decode(&o.encode()), Ok(o.clone()));
        // A statement without signed bytes has one spelling: version 1.
        let mut v1 = sample();
        v1.signature = None;
        let mut spelled_v2 = v1.encode();
        spelled_v2[4] = 2;
        spelled_v2.extend_from_slice(&[0, 0]);
        assert!(Entry::decode(&spelled_v2).is_err());
        // Signed bytes without a signature are refused.
        let mut bytes = o.encode();
        let n = bytes.len();
        bytes[n - 1] = 1;
        bytes.extend_from_slice(&[0u8; 32]);
        assert!(Entry::decode(&bytes).is_err());
    }

    #[test]
    fn round_trip() {
        let e = sample();
        assert_eq!(Entry::decode(&e.encode()), Ok(e));
        let mut unsigned = sample();
        unsigned.signature = None;
        assert_eq!(Entry::decode(&unsigned.encode()), Ok(unsigned));
    }

    #[test]
    fn unsorted_audience_and_trailing_bytes_are_refused() {
        let mut e = sample();
        e.audience = vec!["us".into(), "il".into()];
        assert!(Entry::decode(&e.encode()).is_err());
        let mut bytes = sample().encode();
        bytes.push(0);
        assert!(Entry::decode(&bytes).is_err());
    }

    proptest! {
        #[test]
        fn every_truncation_is_refused(cut in 0usize..240, salted in any::<bool>()) {
            let mut e = sample();
            if salted {
                e.salt = Some([5u8; SALT_LEN]);
            }
            let bytes = e.encode();
            prop_assume!(cut < bytes.len());
            prop_assert!(Entry::decode(&bytes[..cut]).is_err());
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Entry::decode(&bytes);
        }
    }
}
