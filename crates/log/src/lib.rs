//! The shared record's primitives: RFC 6962 / RFC 9162 Merkle hashing and proofs, the
//! C2SP tlog-tiles layout, signed notes, checkpoints and cosignatures, tlog-proof
//! receipts, the canonical encoding of log entries, and Ed25519 key files.
//!
//! Everything here is pure computation. This crate must never do IO, read a clock or
//! draw randomness of its own (key generation takes the RNG as an argument), so every
//! party can run exactly the same verification code the server runs.

pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod tiles;

pub use merkle::{Hash, leaf_hash, node_hash};
