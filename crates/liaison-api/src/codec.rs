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

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_core::event::EventBody;

    /// A site event as recorded before sites could carry CoT detail: it must decode, and
    /// encode to exactly the bytes it was stored (and its payload hashed) as.
    const BEFORE_COT: &str = r#"{"seq":7,"at":1772366400000000,"author":{"operator":"il-liaison","party":"il"},"concerns":[],"audience":"everyone","body":{"kind":"site_registered","site":null,"version":1,"names":{"en":"Majdal Shams"},"category":"minority_community","shape":{"kind":"circle","coordinates":[[[[35.768,33.27]]]],"buffer_m":2000.0}}}"#;

    #[test]
    fn site_events_recorded_before_cot_decode_and_encode_unchanged() {
        let e = decode_event(BEFORE_COT.as_bytes()).expect("decodes");
        assert!(matches!(
            &e.body,
            EventBody::SiteRegistered {
                cot_detail: None,
                ..
            }
        ));
        assert_eq!(
            String::from_utf8(encode_event(&e)).ok().as_deref(),
            Some(BEFORE_COT)
        );
        let body = &BEFORE_COT[BEFORE_COT.find(r#"{"kind""#).unwrap_or(0)..BEFORE_COT.len() - 1];
        assert_eq!(
            String::from_utf8(payload_bytes(&e)).ok().as_deref(),
            Some(body)
        );
    }

    #[test]
    fn cot_detail_is_kept_when_present() {
        let mut e = decode_event(BEFORE_COT.as_bytes()).expect("decodes");
        if let EventBody::SiteRegistered { cot_detail, .. } = &mut e.body {
            *cot_detail = Some(r#"<__group name="Cyan" role="Team Member"/>"#.into());
        }
        let back = decode_event(&encode_event(&e)).expect("decodes");
        assert_eq!(back, e);
    }
}
