//! Validation of STIX 2.1 objects as they arrive: identifiers, types, versions,
//! timestamps, no empty lists or nulls, required properties and marking references.

use serde_json::Value;

/// Most objects one envelope may carry.
pub const MAX_OBJECTS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object}: {property}: {message}")]
pub struct StixError {
    /// The object's id, or its position if it has none.
    pub object: String,
    pub property: String,
    pub message: String,
}

fn err(object: &str, property: &str, message: impl Into<String>) -> StixError {
    StixError {
        object: object.to_string(),
        property: property.to_string(),
        message: message.into(),
    }
}

/// A validated object: the fields Liaison indexes, and the bytes exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixObject {
    pub id: String,
    pub r#type: String,
    pub spec_version: String,
    /// `modified`, or `created`, or empty for objects without versions (SCOs).
    pub version: String,
    pub created_by_ref: Option<String>,
    pub marking_refs: Vec<String>,
    pub raw: String,
}

/// Properties each common type requires, beyond the common ones.
pub fn required(t: &str) -> &'static [&'static str] {
    match t {
        "report" => &["name", "published", "object_refs"],
        "indicator" => &["pattern", "pattern_type", "valid_from"],
        "observed-data" => &[
            "first_observed",
            "last_observed",
            "number_observed",
            "object_refs",
        ],
        "sighting" => &["sighting_of_ref"],
        "identity" => &["name"],
        "note" => &["content", "object_refs"],
        "opinion" => &["opinion", "object_refs"],
        "relationship" => &["relationship_type", "source_ref", "target_ref"],
        "malware" => &["is_family"],
        "threat-actor" | "campaign" | "attack-pattern" | "tool" | "vulnerability"
        | "infrastructure" | "intrusion-set" | "course-of-action" => &["name"],
        "grouping" => &["context", "object_refs"],
        "location" => &[],
        _ => &[],
    }
}

/// Types that are STIX Cyber-observable Objects: no `created`/`modified`.
fn is_sco(t: &str) -> bool {
    matches!(
        t,
        "artifact"
            | "autonomous-system"
            | "directory"
            | "domain-name"
            | "email-addr"
            | "email-message"
            | "file"
            | "ipv4-addr"
            | "ipv6-addr"
            | "mac-addr"
            | "mutex"
            | "network-traffic"
            | "process"
            | "software"
            | "url"
            | "user-account"
            | "windows-registry-key"
            | "x509-certificate"
    )
}

fn valid_type_name(t: &str) -> bool {
    (3..=250).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !t.starts_with('-')
        && !t.ends_with('-')
        && !t.contains("--")
}

/// `type--UUID`
pub fn valid_id(id: &str) -> Option<&str> {
    let (t, u) = id.split_once("--")?;
    if !valid_type_name(t) || uuid::Uuid::parse_str(u).is_err() || u.len() != 36 {
        return None;
    }
    Some(t)
}

/// RFC 3339 in UTC with a `Z`, as STIX requires.
pub fn valid_timestamp(s: &str) -> bool {
    s.ends_with('Z')
        && s.len() >= 20
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
        && s.as_bytes().get(10) == Some(&b'T')
}

fn check_values(obj: &str, path: &str, v: &Value) -> Result<(), StixError> {
    match v {
        Value::Null => Err(err(obj, path, "null is not allowed; omit the property")),
        Value::Array(a) => {
            if a.is_empty() {
                return Err(err(
                    obj,
                    path,
                    "empty lists are not allowed; omit the property",
                ));
            }
            for (i, x) in a.iter().enumerate() {
                check_values(obj, &format!("{path}[{i}]"), x)?;
            }
            Ok(())
        }
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                check_values(obj, &p, x)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether a granular-marking selector names a property that exists.
pub fn selector_exists(v: &Value, selector: &str) -> bool {
    let mut cur = v;
    for part in selector.split('.') {
        if let Some(idx) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            match (idx.parse::<usize>(), cur.as_array()) {
                (Ok(i), Some(a)) if i < a.len() => cur = &a[i],
                _ => return false,
            }
        } else {
            match cur.get(part) {
                Some(x) => cur = x,
                None => return false,
            }
        }
    }
    true
}

/// Validates one object given as a JSON value, keeping `raw` as its bytes.
pub fn validate(v: &Value, raw: &str, position: usize) -> Result<StixObject, StixError> {
    let pos = format!("objects[{position}]");
    let m = v
        .as_object()
        .ok_or_else(|| err(&pos, "", "an object must be a JSON object"))?;
    let t = m
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| err(&pos, "type", "missing"))?;
    if !valid_type_name(t) {
        return Err(err(&pos, "type", format!("{t:?} is not a STIX type name")));
    }
    let id = m
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| err(&pos, "id", "missing"))?;
    let id_type =
        valid_id(id).ok_or_else(|| err(&pos, "id", format!("{id:?} is not type--UUID")))?;
    if id_type != t {
        return Err(err(
            id,
            "id",
            format!("the id's type {id_type:?} is not the object's type {t:?}"),
        ));
    }
    if t == "bundle" {
        return Err(err(id, "type", "bundles are envelopes, not objects"));
    }
    let spec = m
        .get("spec_version")
        .and_then(Value::as_str)
        .ok_or_else(|| err(id, "spec_version", "missing"))?;
    if spec != "2.1" {
        return Err(err(
            id,
            "spec_version",
            format!("{spec:?}: only 2.1 is accepted"),
        ));
    }
    check_values(id, "", v)?;
    let sco = is_sco(t);
    let mut created = None;
    for p in ["created", "modified"] {
        match m.get(p) {
            Some(Value::String(s)) if valid_timestamp(s) => {
                if p == "created" {
                    created = Some(s.clone());
                }
            }
            Some(_) => return Err(err(id, p, "must be an RFC 3339 UTC timestamp ending in Z")),
            None if sco => {}
            None if p == "modified" && t == "marking-definition" => {}
            None => return Err(err(id, p, "missing")),
        }
    }
    let modified = m
        .get("modified")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(c), Some(md)) = (&created, &modified) {
        let (c, md) = (
            chrono::DateTime::parse_from_rfc3339(c),
            chrono::DateTime::parse_from_rfc3339(md),
        );
        if let (Ok(c), Ok(md)) = (c, md)
            && md < c
        {
            return Err(err(id, "modified", "is before created"));
        }
    }
    for p in required(t) {
        if !m.contains_key(*p) {
            return Err(err(id, p, format!("required for {t}")));
        }
    }
    if let Some(r) = m.get("created_by_ref")
        && r.as_str().and_then(valid_id) != Some("identity")
    {
        return Err(err(id, "created_by_ref", "must be an identity id"));
    }
    let mut marking_refs = Vec::new();
    if let Some(refs) = m.get("object_marking_refs") {
        let a = refs
            .as_array()
            .ok_or_else(|| err(id, "object_marking_refs", "must be a list"))?;
        for r in a {
            let s = r
                .as_str()
                .filter(|s| valid_id(s) == Some("marking-definition"));
            let s = s.ok_or_else(|| {
                err(
                    id,
                    "object_marking_refs",
                    "entries must be marking-definition ids",
                )
            })?;
            marking_refs.push(s.to_string());
        }
    }
    if let Some(g) = m.get("granular_markings") {
        let a = g
            .as_array()
            .ok_or_else(|| err(id, "granular_markings", "must be a list"))?;
        for (i, gm) in a.iter().enumerate() {
            let path = format!("granular_markings[{i}]");
            let mref = gm.get("marking_ref").and_then(Value::as_str);
            if mref.is_none() && gm.get("lang").is_none() {
                return Err(err(id, &path, "needs marking_ref or lang"));
            }
            if let Some(r) = mref {
                if valid_id(r) != Some("marking-definition") {
                    return Err(err(
                        id,
                        &path,
                        "marking_ref must be a marking-definition id",
                    ));
                }
                marking_refs.push(r.to_string());
            }
            let sels = gm
                .get("selectors")
                .and_then(Value::as_array)
                .ok_or_else(|| err(id, &path, "needs selectors"))?;
            for s in sels {
                let s = s
                    .as_str()
                    .ok_or_else(|| err(id, &path, "selectors are strings"))?;
                if !selector_exists(v, s) {
                    return Err(err(
                        id,
                        &path,
                        format!("selector {s:?} names no property of the object"),
                    ));
                }
            }
        }
    }
    let version = modified.or(created).unwrap_or_default();
    let created_by_ref = m
        .get("created_by_ref")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(StixObject {
        id: id.to_string(),
        r#type: t.to_string(),
        spec_version: spec.to_string(),
        version,
        created_by_ref,
        marking_refs,
        raw: raw.to_string(),
    })
}

#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    objects: Option<Vec<&'a serde_json::value::RawValue>>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Parses a TAXII envelope (`{"objects": [...]}`) or a STIX bundle, validating every
/// object and keeping each object's bytes as sent.
pub fn parse_envelope(body: &str) -> Result<Vec<StixObject>, StixError> {
    let env: Envelope =
        serde_json::from_str(body).map_err(|e| err("envelope", "", format!("not JSON: {e}")))?;
    if env.kind.as_deref().is_some_and(|k| k != "bundle") {
        return Err(err("envelope", "type", "expected an envelope or a bundle"));
    }
    let objects = env
        .objects
        .ok_or_else(|| err("envelope", "objects", "missing"))?;
    if objects.is_empty() {
        return Err(err("envelope", "objects", "empty lists are not allowed"));
    }
    if objects.len() > MAX_OBJECTS {
        return Err(err(
            "envelope",
            "objects",
            format!("at most {MAX_OBJECTS} objects per envelope"),
        ));
    }
    let mut out = Vec::with_capacity(objects.len());
    for (i, raw) in objects.iter().enumerate() {
        let v: Value = serde_json::from_str(raw.get())
            .map_err(|e| err(&format!("objects[{i}]"), "", e.to_string()))?;
        out.push(validate(&v, raw.get(), i)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const INDICATOR: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","name":"Launch site","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix","valid_from":"2026-01-10T08:00:00Z","object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}"#;

    #[test]
    fn keeps_bytes_and_indexes_fields() {
        let body = format!(r#"{{"objects":[{INDICATOR}]}}"#);
        let objs = parse_envelope(&body).expect("valid");
        assert_eq!(objs[0].raw, INDICATOR);
        assert_eq!(objs[0].version, "2026-01-10T08:00:00.000Z");
        assert_eq!(objs[0].marking_refs.len(), 1);
    }

    #[test]
    fn rejections_name_object_and_property() {
        let cases = [
            (
                INDICATOR.replace("\"spec_version\":\"2.1\"", "\"spec_version\":\"2.0\""),
                "spec_version",
            ),
            (INDICATOR.replace("indicator--8e2e", "malware--8e2e"), "id"),
            (
                INDICATOR.replace("\"pattern_type\":\"stix\",", ""),
                "pattern_type",
            ),
            (
                INDICATOR.replace("\"name\":\"Launch site\"", "\"labels\":[]"),
                "labels",
            ),
            (
                INDICATOR.replace(
                    "2026-01-10T08:00:00.000Z\",\"modified",
                    "2026-01-10 08:00\",\"modified",
                ),
                "created",
            ),
            (
                INDICATOR.replace("\"name\":\"Launch site\"", "\"name\":null"),
                "name",
            ),
        ];
        for (obj, prop) in cases {
            let e = parse_envelope(&format!(r#"{{"objects":[{obj}]}}"#)).expect_err("invalid");
            assert_eq!(e.property, prop, "{e}");
        }
        assert!(parse_envelope(r#"{"objects":[]}"#).is_err());
        assert!(parse_envelope("not json").is_err());
    }

    #[test]
    fn granular_selectors_must_exist() {
        let obj = INDICATOR.replace(
            "\"object_marking_refs\"",
            r#""granular_markings":[{"marking_ref":"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421","selectors":["description"]}],"object_marking_refs""#,
        );
        let e = parse_envelope(&format!(r#"{{"objects":[{obj}]}}"#)).expect_err("invalid");
        assert!(e.property.starts_with("granular_markings"), "{e}");
    }
}
