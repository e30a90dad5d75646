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

/// An event serialized once: the payload its log entry commits to, and the stored form
/// (the header with that payload spliced in as the body), byte-identical to
/// `encode_event` up to field order, so a large body (an intelligence submission of a
/// thousand objects) is escaped once, not three times.
pub struct Encoded {
    pub payload: Vec<u8>,
    pub stored: Vec<u8>,
}

#[derive(serde::Serialize)]
struct Header<'a> {
    seq: u64,
    at: &'a liaison_core::Timestamp,
    author: &'a liaison_core::Author,
    concerns: &'a std::collections::BTreeSet<liaison_core::PartyId>,
    audience: &'a liaison_core::Audience,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: &'a Option<liaison_core::event::AuthorSignature>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    observed: bool,
}

/// `{…header…}` + `,"<key>":` + `value` + `}`: a JSON object with one more member.
fn splice(mut object: Vec<u8>, key: &str, value: &[u8]) -> Vec<u8> {
    debug_assert_eq!(object.last(), Some(&b'}'));
    object.pop();
    object.reserve(key.len() + value.len() + 5);
    if object.len() > 1 {
        object.push(b',');
    }
    object.push(b'"');
    object.extend_from_slice(key.as_bytes());
    object.extend_from_slice(b"\":");
    object.extend_from_slice(value);
    object.push(b'}');
    object
}

pub fn encode(event: &Event) -> Encoded {
    let payload = payload_bytes(event);
    let header = serde_json::to_vec(&Header {
        seq: event.seq,
        at: &event.at,
        author: &event.author,
        concerns: &event.concerns,
        audience: &event.audience,
        signature: &event.signature,
        observed: event.observed,
    })
    .unwrap_or_default();
    let stored = splice(header, "body", &payload);
    Encoded { payload, stored }
}

/// The SSE frame of an event (`id:`, `event:`, `data:` the `EventView` JSON), from its
/// payload: the body is not serialized again but spliced in without its `kind` tag.
/// Bodies that carry hidden fields take the `EventView` path, which removes them.
pub fn sse_frame(event: &Event, payload: &[u8]) -> Vec<u8> {
    let tag = format!("{{\"kind\":\"{}\"", event.kind());
    let data = match payload.strip_prefix(tag.as_bytes()) {
        Some(rest) if !crate::wire::may_hide(payload) => {
            let rest = rest.strip_prefix(b",").unwrap_or(rest);
            let mut d = Vec::with_capacity(rest.len() + 1);
            d.push(b'{');
            d.extend_from_slice(rest);
            Some(d)
        }
        _ => None,
    };
    let json = match data {
        Some(data) => {
            let view = crate::wire::EventView::header(event);
            let head = serde_json::to_vec(&view).unwrap_or_default();
            let mut out = splice(head, "data", &data);
            if let Some(sig) = &event.signature {
                let sig = serde_json::to_vec(sig).unwrap_or_default();
                out = splice(out, "signature", &sig);
            }
            out
        }
        None => serde_json::to_vec(&crate::wire::EventView::from(event)).unwrap_or_default(),
    };
    let mut frame = format!("id: {}\nevent: {}\ndata: ", event.seq, event.kind()).into_bytes();
    frame.extend_from_slice(&json);
    frame.extend_from_slice(b"\n\n");
    frame
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

    #[test]
    fn encoded_once_is_the_same_event() {
        let e = decode_event(BEFORE_COT.as_bytes()).expect("decodes");
        let enc = encode(&e);
        assert_eq!(enc.stored, encode_event(&e), "unsigned: byte-identical");
        assert_eq!(enc.payload, payload_bytes(&e));
        let frame = String::from_utf8(sse_frame(&e, &enc.payload)).expect("utf8");
        let data = frame
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("data line");
        let got: serde_json::Value = serde_json::from_str(data).expect("json");
        let want = serde_json::to_value(crate::wire::EventView::from(&e)).expect("view");
        assert_eq!(got, want);
    }
}
