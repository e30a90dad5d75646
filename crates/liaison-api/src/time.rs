//! RFC 3339 text for [`Timestamp`]s.

use chrono::{DateTime, SecondsFormat, Utc};
use liaison_core::Timestamp;

/// `2026-01-06T12:00:00.000000Z`: always UTC, always microseconds.
pub fn format(t: Timestamp) -> String {
    match DateTime::<Utc>::from_timestamp_micros(t.micros()) {
        Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Micros, true),
        None => "invalid-time".into(),
    }
}

pub fn parse(text: &str) -> Result<Timestamp, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|dt| Timestamp::from_micros(dt.with_timezone(&Utc).timestamp_micros()))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_trip() {
        let t = Timestamp::from_micros(1_767_700_800_123_456);
        assert_eq!(format(t), "2026-01-06T12:00:00.123456Z");
        assert_eq!(parse(&format(t)), Ok(t));
        assert!(parse("yesterday").is_err());
    }
}
