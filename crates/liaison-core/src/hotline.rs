//! The hotline: numbered messages between parties, with precedence, per-recipient
//! delivery, reading and acknowledgement, translations and emergencies.

use crate::charter::Precedence;
use crate::time::Timestamp;
use crate::{OperatorName, PartyId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const MAX_SUBJECT: usize = 300;
pub const MAX_BODY: usize = 64 * 1024;
pub const MAX_REPLY: usize = 16 * 1024;
pub const MAX_ATTACHMENTS: usize = 16;

/// A file attached by reference; the bytes are stored by their SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub sha256: String,
    pub name: String,
    pub size: u64,
    pub media_type: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipientState {
    pub delivered_at: Option<Timestamp>,
    pub read_at: Option<Timestamp>,
    pub read_by: Option<OperatorName>,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<OperatorName>,
    pub reply: Option<String>,
}

impl RecipientState {
    pub fn state(&self) -> &'static str {
        if self.acknowledged_at.is_some() {
            "acknowledged"
        } else if self.read_at.is_some() {
            "read"
        } else if self.delivered_at.is_some() {
            "delivered"
        } else {
            "sent"
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    pub language: String,
    pub text: String,
    pub by: OperatorName,
    pub party: PartyId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sequence number of the event that sent it.
    pub id: u64,
    pub channel: String,
    pub channel_seq: u64,
    pub from: PartyId,
    pub author: OperatorName,
    pub to: BTreeSet<PartyId>,
    pub precedence: Precedence,
    pub subject: String,
    pub body: String,
    pub language: String,
    pub emergency: bool,
    pub test: bool,
    pub attachments: Vec<AttachmentRef>,
    pub sent_at: Timestamp,
    pub recipients: BTreeMap<PartyId, RecipientState>,
    pub translations: Vec<Translation>,
    /// For emergencies: when and by whom it was cancelled or closed.
    pub closed: Option<(Timestamp, OperatorName, String)>,
}

impl Message {
    /// Parties entitled to read the message (the supervisor reads everything anyway).
    pub fn parties(&self) -> BTreeSet<PartyId> {
        let mut p = self.to.clone();
        p.insert(self.from.clone());
        p
    }

    pub fn emergency_open(&self) -> bool {
        self.emergency && self.closed.is_none()
    }
}

/// The channel a message travels on: sender party to the sorted recipient set.
pub fn channel_name(from: &str, to: &BTreeSet<PartyId>) -> String {
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    format!("{from}>{}", to.join(","))
}

#[derive(Clone, Debug, Default)]
pub struct Hotline {
    pub messages: BTreeMap<u64, Message>,
    /// Last sequence number used on each channel.
    pub channels: BTreeMap<String, u64>,
}

/// Language tags: `ar`, `he`, `en` or any other BCP 47-like tag.
pub fn check_language(tag: &str) -> Result<(), String> {
    let ok = (2..=35).contains(&tag.len())
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{tag:?} is not a language tag such as ar, he or en"
        ))
    }
}
