//! Events at rest: the full event is stored as JSON next to its canonical log entry.

use liaison_core::Event;

pub fn encode_event(event: &Event) -> Vec<u8> {
    // Serializing plain data structs to a Vec cannot fail; an empty body would be
    // caught by decode on read, never silently accepted.
    serde_json::to_vec(event).unwrap_or_default()
}

pub fn decode_event(bytes: &[u8]) -> Result<Event, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("stored event does not decode: {e}"))
}

/// Hex SHA-256 inputs are computed by the caller; this is the payload the log entry
/// commits to: the event without its header, so parties can verify entries they may not read.
pub fn payload_bytes(event: &Event) -> Vec<u8> {
    serde_json::to_vec(&event.body).unwrap_or_default()
}
