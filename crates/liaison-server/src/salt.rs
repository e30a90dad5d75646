//! Entry salts live at the edge, like the clock: the writer draws one for each event it
//! records and puts it in the event's log entry (version 3), so that the entry's leaf
//! hash, which every party reads, cannot be matched against guesses of its header. The
//! stored entry keeps the salt, and a replay re-derives the entry with it.

use liaison_log::entry::SALT_LEN;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub trait Salts: Send + Sync + 'static {
    /// The salt of the entry of event `seq`.
    fn draw(&self, seq: u64) -> [u8; SALT_LEN];
}

/// 256 random bits from the operating system for each entry: what a cell uses.
pub struct OsSalts;

impl Salts for OsSalts {
    fn draw(&self, _seq: u64) -> [u8; SALT_LEN] {
        let mut s = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut s);
        s
    }
}

/// Salts that are a function of a seed and the sequence number (SHA-256 of both), for
/// tests that hold two cells given the same history to the same bytes. A cell whose
/// seed is known has guessable leaves: never for a real cell.
pub struct SeededSalts(pub [u8; 32]);

impl Salts for SeededSalts {
    fn draw(&self, seq: u64) -> [u8; SALT_LEN] {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(seq.to_be_bytes());
        h.finalize().into()
    }
}
