//! Parsing a STIX bundle (`{"type":"bundle","id":"bundle--…","objects":[…]}`) or a
//! TAXII envelope (`{"objects":[…]}`) into validated objects, each keeping its bytes
//! exactly as sent.

use crate::error::{ErrorCode, StixError};
use crate::object::{StixObject, valid_id, validate};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeSet;

/// Most objects one envelope may carry.
pub const MAX_OBJECTS: usize = 10_000;

#[derive(serde::Deserialize)]
struct Wrapper<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    spec_version: Option<&'a RawValue>,
    #[serde(borrow)]
    objects: Option<Vec<&'a RawValue>>,
}

fn env(code: ErrorCode, property: &str, message: impl Into<String>) -> StixError {
    StixError::new(code, "envelope", property, message)
}

/// Parses and validates a bundle or envelope. Every object must be valid; the first
/// error is returned. The same id twice is allowed only as different versions.
pub fn parse_envelope(body: &str) -> Result<Vec<StixObject>, StixError> {
    let w: Wrapper = serde_json::from_str(body)
        .map_err(|e| env(ErrorCode::NotJson, "", format!("not a JSON object: {e}")))?;
    if let Some(kind) = w.kind {
        if kind.get() != "\"bundle\"" {
            return Err(env(
                ErrorCode::InvalidEnvelope,
                "type",
                "expected a TAXII envelope or a STIX bundle",
            ));
        }
        let id: Option<String> = w.id.and_then(|i| serde_json::from_str(i.get()).ok());
        if id.as_deref().and_then(valid_id) != Some("bundle") {
            return Err(env(
                ErrorCode::InvalidId,
                "id",
                "a bundle's id is bundle--UUID",
            ));
        }
        if w.spec_version.is_some() {
            return Err(env(
                ErrorCode::UnsupportedSpecVersion,
                "spec_version",
                "a STIX 2.1 bundle has no spec_version (2.0 bundles are not accepted)",
            ));
        }
    }
    let objects = w
        .objects
        .ok_or_else(|| env(ErrorCode::InvalidEnvelope, "objects", "missing"))?;
    if objects.is_empty() {
        return Err(env(
            ErrorCode::EmptyList,
            "objects",
            "empty lists are not allowed",
        ));
    }
    if objects.len() > MAX_OBJECTS {
        return Err(env(
            ErrorCode::TooManyObjects,
            "objects",
            format!("at most {MAX_OBJECTS} objects per envelope"),
        ));
    }
    let mut out = Vec::with_capacity(objects.len());
    let mut seen = BTreeSet::new();
    for (i, raw) in objects.iter().enumerate() {
        let v: Value = serde_json::from_str(raw.get()).map_err(|e| {
            StixError::new(
                ErrorCode::NotJson,
                format!("objects[{i}]"),
                "",
                e.to_string(),
            )
        })?;
        let o = validate(&v, raw.get(), i)?;
        if !seen.insert((o.id.clone(), o.version.clone())) {
            return Err(StixError::new(
                ErrorCode::DuplicateObject,
                &o.id,
                "",
                format!("objects[{i}] repeats this id and version"),
            ));
        }
        out.push(o);
    }
    Ok(out)
}

/// [`parse_envelope`] over bytes: UTF-8 JSON.
pub fn parse_bytes(body: &[u8]) -> Result<Vec<StixObject>, StixError> {
    let s = std::str::from_utf8(body)
        .map_err(|e| env(ErrorCode::NotJson, "", format!("not UTF-8: {e}")))?;
    parse_envelope(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::tests::INDICATOR;
    use crate::tlp::Tlp;

    #[test]
    fn envelopes_and_bundles_keep_bytes() {
        let amber = Tlp::Amber.marking_definition_json();
        let body = format!("{{\"objects\": [ {INDICATOR} ,\n {amber}]}}");
        let objs = parse_envelope(&body).expect("valid");
        assert_eq!(objs[0].raw, INDICATOR);
        assert_eq!(objs[1].raw, amber);
        let bundle = format!(
            r#"{{"type":"bundle","id":"bundle--d6e3c0b4-f916-4d15-a01f-e3761c5f48ac","objects":[{INDICATOR}]}}"#
        );
        assert_eq!(
            parse_bytes(bundle.as_bytes()).expect("valid")[0].raw,
            INDICATOR
        );
    }

    #[test]
    fn refusals() {
        let cases = [
            ("not json".to_string(), ErrorCode::NotJson),
            ("[1]".to_string(), ErrorCode::NotJson),
            (r#"{"objects":[]}"#.to_string(), ErrorCode::EmptyList),
            (r#"{"more":false}"#.to_string(), ErrorCode::InvalidEnvelope),
            (
                format!(r#"{{"type":"report","objects":[{INDICATOR}]}}"#),
                ErrorCode::InvalidEnvelope,
            ),
            (
                format!(r#"{{"type":"bundle","objects":[{INDICATOR}]}}"#),
                ErrorCode::InvalidId,
            ),
            (
                format!(
                    r#"{{"type":"bundle","id":"bundle--d6e3c0b4-f916-4d15-a01f-e3761c5f48ac","spec_version":"2.0","objects":[{INDICATOR}]}}"#
                ),
                ErrorCode::UnsupportedSpecVersion,
            ),
            (
                format!(r#"{{"objects":[{INDICATOR},{INDICATOR}]}}"#),
                ErrorCode::DuplicateObject,
            ),
            (
                r#"{"objects":[{"type":"x"}]}"#.to_string(),
                ErrorCode::InvalidType,
            ),
        ];
        for (body, code) in cases {
            assert_eq!(parse_envelope(&body).expect_err(&body).code, code, "{body}");
        }
        let e = parse_envelope(&format!(
            r#"{{"objects":[{INDICATOR},{{"type":"indicator"}}]}}"#
        ))
        .expect_err("no id");
        assert_eq!(
            (e.object.as_str(), e.property.as_str()),
            ("objects[1]", "id")
        );
        assert_eq!(
            parse_bytes(b"{\"objects\":\xff}").expect_err("utf8").code,
            ErrorCode::NotJson
        );
        let many = format!(
            r#"{{"objects":[{}]}}"#,
            vec!["{}"; MAX_OBJECTS + 1].join(",")
        );
        assert_eq!(
            parse_envelope(&many).expect_err("many").code,
            ErrorCode::TooManyObjects
        );
    }
}
