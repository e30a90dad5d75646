//! Validation of one STIX 2.1 object as it arrives: identifier, type, versions,
//! timestamps, no empty lists or nulls, property names, required properties of the
//! common SDOs/SROs/SMOs, references and markings.
//!
//! Validation reads a parsed [`Value`] but never re-serializes it: the object keeps the
//! bytes it was sent with ([`StixObject::raw`]), and those bytes are what is stored and
//! served.

use crate::error::{ErrorCode, StixError};
use crate::time;
use crate::tlp::Tlp;
use serde_json::{Map, Value};

pub use crate::bundle::{MAX_OBJECTS, parse_envelope};

/// A validated object: what Liaison indexes, and the bytes exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixObject {
    pub id: String,
    pub r#type: String,
    /// Always `2.1` once validated (SCOs without the property count as 2.1).
    pub spec_version: String,
    /// `modified`, or `created`, or empty for objects without versions (SCOs): TAXII's
    /// "version" of the object (for SCOs it is the date added, which the collection
    /// knows, not the object).
    pub version: String,
    pub created_by_ref: Option<String>,
    /// Every marking-definition the object refers to: `object_marking_refs` first, then
    /// each granular marking's `marking_ref`, in order, without repeats.
    pub marking_refs: Vec<String>,
    /// The object's JSON text exactly as received.
    pub raw: String,
}

impl StixObject {
    /// The version, if the object has one.
    pub fn version_opt(&self) -> Option<&str> {
        (!self.version.is_empty()).then_some(self.version.as_str())
    }

    /// Parses the stored bytes again (for redaction and inspection; never for storage).
    pub fn value(&self) -> Result<Value, StixError> {
        serde_json::from_str(&self.raw)
            .map_err(|e| StixError::new(ErrorCode::NotJson, &self.id, "", e.to_string()))
    }
}

fn err(code: ErrorCode, object: &str, property: &str, message: impl Into<String>) -> StixError {
    StixError::new(code, object, property, message)
}

/// The STIX Cyber-observable Object types of STIX 2.1: no `created`/`modified`,
/// optional `spec_version`, deterministic ids.
pub const SCO_TYPES: [&str; 18] = [
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// Whether `t` is a STIX Cyber-observable Object type.
pub fn is_sco(t: &str) -> bool {
    SCO_TYPES.contains(&t)
}

/// Properties every object of this type must carry, beyond `type` and `id` (and, for
/// SDOs/SROs, `spec_version`, `created`, `modified`).
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
        "grouping" => &["context", "object_refs"],
        "threat-actor" | "campaign" | "attack-pattern" | "tool" | "vulnerability"
        | "infrastructure" | "intrusion-set" | "course-of-action" | "incident" => &["name"],
        "language-content" => &["object_ref", "contents"],
        "extension-definition" => &["name", "schema", "version", "extension_types"],
        _ => &[],
    }
}

/// Properties common to every object that no redaction may remove.
pub const COMMON_REQUIRED: [&str; 5] = ["type", "spec_version", "id", "created", "modified"];

/// The opinion vocabulary (an enumeration in STIX 2.1).
pub const OPINIONS: [&str; 5] = [
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];

/// Properties holding timestamps, checked wherever they appear at the top level.
const TIMESTAMP_PROPS: [&str; 11] = [
    "created",
    "modified",
    "published",
    "valid_from",
    "valid_until",
    "first_observed",
    "last_observed",
    "first_seen",
    "last_seen",
    "start_time",
    "stop_time",
];

/// STIX type names: 3–250 of `a-z 0-9 -`, no leading/trailing or doubled hyphen.
pub fn valid_type_name(t: &str) -> bool {
    (3..=250).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !t.starts_with('-')
        && !t.ends_with('-')
        && !t.contains("--")
}

/// `type--UUID` with an RFC 4122 UUID in hyphenated form; returns the type.
pub fn valid_id(id: &str) -> Option<&str> {
    let (t, u) = id.split_once("--")?;
    if !valid_type_name(t) || u.len() != 36 {
        return None;
    }
    let parsed = uuid::Uuid::try_parse(u).ok()?;
    (parsed.get_variant() == uuid::Variant::RFC4122).then_some(t)
}

/// RFC 3339 in UTC with a `Z`, as STIX requires.
pub fn valid_timestamp(s: &str) -> bool {
    time::is_valid(s)
}

/// Top-level property names: `a-z 0-9 _`, 3–250 characters (`id` is the one shorter
/// name STIX itself defines).
fn valid_property_name(k: &str) -> bool {
    (k == "id" || (3..=250).contains(&k.len()))
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn check_values(obj: &str, path: &str, v: &Value) -> Result<(), StixError> {
    match v {
        Value::Null => Err(err(
            ErrorCode::NullValue,
            obj,
            path,
            "null is not allowed; omit the property",
        )),
        Value::Array(a) => {
            if a.is_empty() {
                return Err(err(
                    ErrorCode::EmptyList,
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

/// Every `*_ref` (a string) and `*_refs` (a list of strings) at any depth must hold
/// identifiers. Marking references are checked by their own rules.
fn check_refs(obj: &str, path: &str, m: &Map<String, Value>) -> Result<(), StixError> {
    for (k, v) in m {
        if path.is_empty() && (k == "object_marking_refs" || k == "granular_markings") {
            continue;
        }
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if k.ends_with("_ref") {
            if v.as_str().and_then(valid_id).is_none() {
                return Err(err(
                    ErrorCode::InvalidReference,
                    obj,
                    &p,
                    "must be a STIX identifier (type--UUID)",
                ));
            }
        } else if k.ends_with("_refs") {
            let a = v.as_array().ok_or_else(|| {
                err(
                    ErrorCode::InvalidReference,
                    obj,
                    &p,
                    "must be a list of identifiers",
                )
            })?;
            for (i, x) in a.iter().enumerate() {
                if x.as_str().and_then(valid_id).is_none() {
                    return Err(err(
                        ErrorCode::InvalidReference,
                        obj,
                        &format!("{p}[{i}]"),
                        "must be a STIX identifier (type--UUID)",
                    ));
                }
            }
        } else {
            match v {
                Value::Object(inner) => check_refs(obj, &p, inner)?,
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        if let Value::Object(inner) = x {
                            check_refs(obj, &format!("{p}[{i}]"), inner)?;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Whether a granular-marking selector names a property that exists:
/// `description`, `external_references.[0].url`, `kill_chain_phases.[1]`.
pub fn selector_exists(v: &Value, selector: &str) -> bool {
    if selector.is_empty() {
        return false;
    }
    let mut cur = v;
    for part in selector.split('.') {
        if let Some(idx) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            match (idx.parse::<usize>(), cur.as_array()) {
                (Ok(i), Some(a)) if i < a.len() => cur = &a[i],
                _ => return false,
            }
        } else {
            match cur.as_object().and_then(|m| m.get(part)) {
                Some(x) => cur = x,
                None => return false,
            }
        }
    }
    true
}

fn get_str<'a>(m: &'a Map<String, Value>, id: &str, p: &str) -> Result<Option<&'a str>, StixError> {
    match m.get(p) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(err(ErrorCode::InvalidProperty, id, p, "must be a string")),
    }
}

fn need_str<'a>(m: &'a Map<String, Value>, id: &str, p: &str) -> Result<&'a str, StixError> {
    get_str(m, id, p)?.ok_or_else(|| err(ErrorCode::MissingProperty, id, p, "required"))
}

fn get_ts(m: &Map<String, Value>, id: &str, p: &str) -> Result<Option<time::Nanos>, StixError> {
    match get_str(m, id, p)? {
        None => Ok(None),
        Some(s) => time::parse_nanos(s).map(Some).ok_or_else(|| {
            err(
                ErrorCode::InvalidTimestamp,
                id,
                p,
                format!("{s:?} is not an RFC 3339 UTC timestamp ending in Z"),
            )
        }),
    }
}

fn ordered(
    m: &Map<String, Value>,
    id: &str,
    first: &str,
    second: &str,
    strict: bool,
) -> Result<(), StixError> {
    if let (Some(a), Some(b)) = (get_ts(m, id, first)?, get_ts(m, id, second)?)
        && (b < a || (strict && b == a))
    {
        let rel = if strict { "after" } else { "at or after" };
        return Err(err(
            ErrorCode::TimestampOrder,
            id,
            second,
            format!("must be {rel} {first}"),
        ));
    }
    Ok(())
}

fn int_in(
    m: &Map<String, Value>,
    id: &str,
    p: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<(), StixError> {
    match m.get(p) {
        None => Ok(()),
        Some(v) if v.as_i64().is_some_and(|n| range.contains(&n)) => Ok(()),
        Some(_) => Err(err(
            ErrorCode::InvalidProperty,
            id,
            p,
            format!(
                "must be an integer from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn num_in(
    m: &Map<String, Value>,
    id: &str,
    p: &str,
    lo: f64,
    hi: f64,
) -> Result<Option<f64>, StixError> {
    match m.get(p) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
            _ => Err(err(
                ErrorCode::InvalidProperty,
                id,
                p,
                format!("must be a number from {lo} to {hi}"),
            )),
        },
    }
}

fn bool_prop(m: &Map<String, Value>, id: &str, p: &str) -> Result<Option<bool>, StixError> {
    match m.get(p) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(err(
            ErrorCode::InvalidProperty,
            id,
            p,
            "must be true or false",
        )),
    }
}

fn string_list(m: &Map<String, Value>, id: &str, p: &str) -> Result<(), StixError> {
    match m.get(p) {
        None => Ok(()),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(err(
            ErrorCode::InvalidProperty,
            id,
            p,
            "must be a list of strings",
        )),
    }
}

fn common_props(m: &Map<String, Value>, id: &str) -> Result<(), StixError> {
    bool_prop(m, id, "revoked")?;
    bool_prop(m, id, "defanged")?;
    int_in(m, id, "confidence", 0..=100)?;
    get_str(m, id, "lang")?;
    string_list(m, id, "labels")?;
    if let Some(e) = m.get("extensions") {
        let e = e.as_object().ok_or_else(|| {
            err(
                ErrorCode::InvalidProperty,
                id,
                "extensions",
                "must be a dictionary",
            )
        })?;
        for (k, v) in e {
            if !v.is_object() {
                return Err(err(
                    ErrorCode::InvalidProperty,
                    id,
                    &format!("extensions.{k}"),
                    "an extension must be a dictionary",
                ));
            }
        }
    }
    if let Some(x) = m.get("external_references") {
        let a = x.as_array().ok_or_else(|| {
            err(
                ErrorCode::InvalidProperty,
                id,
                "external_references",
                "must be a list",
            )
        })?;
        for (i, r) in a.iter().enumerate() {
            let p = format!("external_references[{i}]");
            let r = r
                .as_object()
                .ok_or_else(|| err(ErrorCode::InvalidProperty, id, &p, "must be a dictionary"))?;
            need_str(r, id, "source_name")
                .map_err(|e| err(e.code, id, &format!("{p}.source_name"), e.message))?;
            if !["description", "url", "external_id"]
                .iter()
                .any(|k| r.contains_key(*k))
            {
                return Err(err(
                    ErrorCode::InvalidProperty,
                    id,
                    &p,
                    "needs description, url or external_id besides source_name",
                ));
            }
        }
    }
    Ok(())
}

fn type_rules(t: &str, m: &Map<String, Value>, id: &str) -> Result<(), StixError> {
    for p in required(t) {
        if !m.contains_key(*p) {
            return Err(err(
                ErrorCode::MissingProperty,
                id,
                p,
                format!("required for {t}"),
            ));
        }
    }
    match t {
        "report" | "identity" | "note" | "grouping" | "indicator" | "threat-actor" | "campaign"
        | "attack-pattern" | "tool" | "vulnerability" | "infrastructure" | "intrusion-set"
        | "course-of-action" | "malware" | "location" | "incident" => {
            for p in [
                "name",
                "description",
                "content",
                "context",
                "pattern",
                "pattern_type",
            ] {
                get_str(m, id, p)?;
            }
        }
        _ => {}
    }
    match t {
        "indicator" => ordered(m, id, "valid_from", "valid_until", true)?,
        "observed-data" => {
            int_in(m, id, "number_observed", 1..=999_999_999)?;
            ordered(m, id, "first_observed", "last_observed", false)?;
        }
        "sighting" => {
            int_in(m, id, "count", 0..=999_999_999)?;
            ordered(m, id, "first_seen", "last_seen", false)?;
        }
        "relationship" => {
            need_str(m, id, "relationship_type")?;
            ordered(m, id, "start_time", "stop_time", true)?;
        }
        "campaign" | "intrusion-set" | "threat-actor" | "infrastructure" => {
            ordered(m, id, "first_seen", "last_seen", false)?;
        }
        "opinion" => {
            let o = need_str(m, id, "opinion")?;
            if !OPINIONS.contains(&o) {
                return Err(err(
                    ErrorCode::InvalidProperty,
                    id,
                    "opinion",
                    format!("{o:?} is not one of {}", OPINIONS.join(", ")),
                ));
            }
        }
        "malware" => {
            ordered(m, id, "first_seen", "last_seen", false)?;
            if bool_prop(m, id, "is_family")? == Some(true) && !m.contains_key("name") {
                return Err(err(
                    ErrorCode::MissingProperty,
                    id,
                    "name",
                    "required for a malware family",
                ));
            }
        }
        "location" => {
            let lat = num_in(m, id, "latitude", -90.0, 90.0)?;
            let lon = num_in(m, id, "longitude", -180.0, 180.0)?;
            num_in(m, id, "precision", 0.0, f64::MAX)?;
            if lat.is_some() != lon.is_some() {
                let p = if lat.is_some() {
                    "longitude"
                } else {
                    "latitude"
                };
                return Err(err(
                    ErrorCode::MissingProperty,
                    id,
                    p,
                    "latitude and longitude go together",
                ));
            }
            if m.contains_key("precision") && lat.is_none() {
                return Err(err(
                    ErrorCode::MissingProperty,
                    id,
                    "latitude",
                    "precision needs latitude and longitude",
                ));
            }
            if lat.is_none() && !m.contains_key("region") && !m.contains_key("country") {
                return Err(err(
                    ErrorCode::MissingProperty,
                    id,
                    "region",
                    "a location needs region, country, or latitude and longitude",
                ));
            }
        }
        "marking-definition" => marking_definition(m, id)?,
        _ => {}
    }
    Ok(())
}

fn marking_definition(m: &Map<String, Value>, id: &str) -> Result<(), StixError> {
    if m.contains_key("modified") {
        return Err(err(
            ErrorCode::InvalidProperty,
            id,
            "modified",
            "marking definitions cannot be versioned",
        ));
    }
    let has_def = m.contains_key("definition");
    let def_type = get_str(m, id, "definition_type")?;
    if def_type.is_some() != has_def {
        let p = if has_def {
            "definition_type"
        } else {
            "definition"
        };
        return Err(err(
            ErrorCode::MissingProperty,
            id,
            p,
            "definition_type and definition go together",
        ));
    }
    if !has_def && !m.contains_key("extensions") {
        return Err(err(
            ErrorCode::MissingProperty,
            id,
            "extensions",
            "a marking definition needs definition_type and definition, or an extension",
        ));
    }
    if has_def && !m.get("definition").is_some_and(Value::is_object) {
        return Err(err(
            ErrorCode::InvalidProperty,
            id,
            "definition",
            "must be a dictionary",
        ));
    }
    // A published TLP id carries exactly its own level: a marking-definition reusing
    // the RED id to say "clear" would otherwise downgrade everything marked with it.
    if let Some(expected) = Tlp::from_marking(id) {
        let stated = Tlp::of_marking_definition_map(m);
        if stated != Some(expected) {
            return Err(err(
                ErrorCode::TlpMarkingMismatch,
                id,
                if has_def { "definition" } else { "extensions" },
                format!(
                    "the published id of {} states another level",
                    expected.name()
                ),
            ));
        }
    }
    Ok(())
}

fn markings(v: &Value, m: &Map<String, Value>, id: &str) -> Result<Vec<String>, StixError> {
    let mut refs: Vec<String> = Vec::new();
    if let Some(x) = m.get("object_marking_refs") {
        let a = x.as_array().ok_or_else(|| {
            err(
                ErrorCode::InvalidMarkingRef,
                id,
                "object_marking_refs",
                "must be a list",
            )
        })?;
        for (i, r) in a.iter().enumerate() {
            let s = r
                .as_str()
                .filter(|s| valid_id(s) == Some("marking-definition"))
                .ok_or_else(|| {
                    err(
                        ErrorCode::InvalidMarkingRef,
                        id,
                        &format!("object_marking_refs[{i}]"),
                        "must be a marking-definition id",
                    )
                })?;
            if !refs.iter().any(|x| x == s) {
                refs.push(s.to_string());
            }
        }
    }
    if let Some(g) = m.get("granular_markings") {
        let a = g.as_array().ok_or_else(|| {
            err(
                ErrorCode::InvalidGranularMarking,
                id,
                "granular_markings",
                "must be a list",
            )
        })?;
        for (i, gm) in a.iter().enumerate() {
            let path = format!("granular_markings[{i}]");
            let gm = gm.as_object().ok_or_else(|| {
                err(
                    ErrorCode::InvalidGranularMarking,
                    id,
                    &path,
                    "must be a dictionary",
                )
            })?;
            let mref = gm.get("marking_ref");
            let lang = gm.get("lang");
            match (mref, lang) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(err(
                        ErrorCode::InvalidGranularMarking,
                        id,
                        &path,
                        "needs exactly one of marking_ref and lang",
                    ));
                }
                (Some(r), None) => {
                    let s = r
                        .as_str()
                        .filter(|s| valid_id(s) == Some("marking-definition"))
                        .ok_or_else(|| {
                            err(
                                ErrorCode::InvalidMarkingRef,
                                id,
                                &format!("{path}.marking_ref"),
                                "must be a marking-definition id",
                            )
                        })?;
                    if !refs.iter().any(|x| x == s) {
                        refs.push(s.to_string());
                    }
                }
                (None, Some(l)) => {
                    if !l.is_string() {
                        return Err(err(
                            ErrorCode::InvalidGranularMarking,
                            id,
                            &format!("{path}.lang"),
                            "must be a string",
                        ));
                    }
                }
            }
            let sels = gm
                .get("selectors")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    err(
                        ErrorCode::InvalidGranularMarking,
                        id,
                        &format!("{path}.selectors"),
                        "required: a list of selectors",
                    )
                })?;
            for (j, s) in sels.iter().enumerate() {
                let sp = format!("{path}.selectors[{j}]");
                let s = s.as_str().ok_or_else(|| {
                    err(
                        ErrorCode::InvalidGranularMarking,
                        id,
                        &sp,
                        "selectors are strings",
                    )
                })?;
                if !selector_exists(v, s) {
                    return Err(err(
                        ErrorCode::DanglingSelector,
                        id,
                        &sp,
                        format!("selector {s:?} names no property of the object"),
                    ));
                }
            }
        }
    }
    Ok(refs)
}

/// Validates one object given as a JSON value, keeping `raw` as its bytes. `position`
/// names the object in errors until its id is known.
pub fn validate(v: &Value, raw: &str, position: usize) -> Result<StixObject, StixError> {
    let pos = format!("objects[{position}]");
    let m = v.as_object().ok_or_else(|| {
        err(
            ErrorCode::NotAnObject,
            &pos,
            "",
            "an object must be a JSON object",
        )
    })?;
    let t = match m.get("type") {
        None => return Err(err(ErrorCode::MissingProperty, &pos, "type", "required")),
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            return Err(err(
                ErrorCode::InvalidType,
                &pos,
                "type",
                "must be a string",
            ));
        }
    };
    if !valid_type_name(t) {
        return Err(err(
            ErrorCode::InvalidType,
            &pos,
            "type",
            format!("{t:?} is not a STIX type name"),
        ));
    }
    let id = match m.get("id") {
        None => return Err(err(ErrorCode::MissingProperty, &pos, "id", "required")),
        Some(Value::String(id)) => id.as_str(),
        Some(_) => return Err(err(ErrorCode::InvalidId, &pos, "id", "must be a string")),
    };
    let id_type = valid_id(id).ok_or_else(|| {
        err(
            ErrorCode::InvalidId,
            &pos,
            "id",
            format!("{id:?} is not type--UUID with an RFC 4122 UUID"),
        )
    })?;
    if id_type != t {
        return Err(err(
            ErrorCode::IdTypeMismatch,
            id,
            "id",
            format!("the id's type {id_type:?} is not the object's type {t:?}"),
        ));
    }
    if t == "bundle" {
        return Err(err(
            ErrorCode::UnexpectedBundle,
            id,
            "type",
            "bundles are envelopes, not objects",
        ));
    }
    let sco = is_sco(t);
    let spec = match m.get("spec_version") {
        None if sco => "2.1",
        None => {
            return Err(err(
                ErrorCode::MissingProperty,
                id,
                "spec_version",
                "required",
            ));
        }
        Some(Value::String(s)) if s == "2.1" => "2.1",
        Some(s) => {
            return Err(err(
                ErrorCode::UnsupportedSpecVersion,
                id,
                "spec_version",
                format!("{s}: only 2.1 is accepted"),
            ));
        }
    };
    check_values(id, "", v)?;
    for k in m.keys() {
        if !valid_property_name(k) {
            return Err(err(
                ErrorCode::InvalidPropertyName,
                id,
                k,
                "property names are 3 to 250 characters of a-z, 0-9 and _",
            ));
        }
    }
    for p in TIMESTAMP_PROPS {
        get_ts(m, id, p)?;
    }
    if !sco {
        if !m.contains_key("created") {
            return Err(err(ErrorCode::MissingProperty, id, "created", "required"));
        }
        if !m.contains_key("modified") && t != "marking-definition" {
            return Err(err(ErrorCode::MissingProperty, id, "modified", "required"));
        }
        ordered(m, id, "created", "modified", false)?;
    }
    common_props(m, id)?;
    check_refs(id, "", m)?;
    if let Some(r) = m.get("created_by_ref")
        && r.as_str().and_then(valid_id) != Some("identity")
    {
        return Err(err(
            ErrorCode::InvalidReference,
            id,
            "created_by_ref",
            "must be an identity id",
        ));
    }
    type_rules(t, m, id)?;
    let marking_refs = markings(v, m, id)?;
    let version = m
        .get("modified")
        .or_else(|| m.get("created"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
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

/// Validates one object from its JSON text, keeping the text as its bytes.
pub fn validate_str(raw: &str) -> Result<StixObject, StixError> {
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| err(ErrorCode::NotJson, "objects[0]", "", e.to_string()))?;
    validate(&v, raw, 0)
}

/// Validates one object from its bytes (UTF-8 JSON), keeping them.
pub fn validate_bytes(raw: &[u8]) -> Result<StixObject, StixError> {
    let s = std::str::from_utf8(raw)
        .map_err(|e| err(ErrorCode::NotJson, "objects[0]", "", e.to_string()))?;
    validate_str(s)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const INDICATOR: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","name":"Launch site","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix","valid_from":"2026-01-10T08:00:00Z","object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}"#;

    fn check(raw: &str) -> Result<StixObject, StixError> {
        validate_str(raw)
    }

    fn code_of(raw: &str) -> (ErrorCode, String) {
        let e = check(raw).expect_err("must be refused");
        (e.code, e.property)
    }

    #[test]
    fn keeps_bytes_and_indexes_fields() {
        let spaced = INDICATOR.replace(",\"name\"", " ,\n  \"name\"");
        let o = check(&spaced).expect("valid");
        assert_eq!(o.raw, spaced);
        assert_eq!(o.version, "2026-01-10T08:00:00.000Z");
        assert_eq!(o.r#type, "indicator");
        assert_eq!(o.spec_version, "2.1");
        assert_eq!(
            o.marking_refs,
            vec!["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421".to_string()]
        );
        assert_eq!(o.created_by_ref, None);
    }

    fn swap(from: &str, to: &str) -> String {
        assert!(INDICATOR.contains(from), "{from}");
        INDICATOR.replacen(from, to, 1)
    }

    #[test]
    fn each_rule_has_its_code_and_property() {
        use ErrorCode::*;
        let cases: Vec<(String, ErrorCode, &str)> = vec![
            ("[]".into(), NotAnObject, ""),
            (swap(r#""type":"indicator","#, ""), MissingProperty, "type"),
            (
                swap(r#""type":"indicator""#, r#""type":"Indicator""#),
                InvalidType,
                "type",
            ),
            (
                swap(r#""type":"indicator""#, r#""type":"ab""#),
                InvalidType,
                "type",
            ),
            (
                swap(r#""type":"indicator""#, r#""type":7"#),
                InvalidType,
                "type",
            ),
            (
                swap(
                    "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                    "indicator--x",
                ),
                InvalidId,
                "id",
            ),
            (
                // RFC 4122 variant bits are required.
                swap("4cbf-938f", "4cbf-038f"),
                InvalidId,
                "id",
            ),
            (
                swap("indicator--8e2e", "malware--8e2e"),
                IdTypeMismatch,
                "id",
            ),
            (
                swap(r#""spec_version":"2.1","#, ""),
                MissingProperty,
                "spec_version",
            ),
            (
                swap(r#""spec_version":"2.1""#, r#""spec_version":"2.0""#),
                UnsupportedSpecVersion,
                "spec_version",
            ),
            (
                swap(
                    r#""created":"2026-01-10T08:00:00.000Z""#,
                    r#""created":"2026-01-10 08:00:00Z""#,
                ),
                InvalidTimestamp,
                "created",
            ),
            (
                swap(
                    r#""modified":"2026-01-10T08:00:00.000Z""#,
                    r#""modified":"2026-01-10T08:00:00.000+00:00""#,
                ),
                InvalidTimestamp,
                "modified",
            ),
            (
                swap(
                    r#""modified":"2026-01-10T08:00:00.000Z""#,
                    r#""modified":"2026-01-09T08:00:00.000Z""#,
                ),
                TimestampOrder,
                "modified",
            ),
            (
                swap(r#""modified":"2026-01-10T08:00:00.000Z","#, ""),
                MissingProperty,
                "modified",
            ),
            (
                swap(r#""name":"Launch site""#, r#""labels":[]"#),
                EmptyList,
                "labels",
            ),
            (
                swap(r#""name":"Launch site""#, r#""name":null"#),
                NullValue,
                "name",
            ),
            (
                swap(r#""name":"Launch site""#, r#""x_a":{"b":[1,null]}"#),
                NullValue,
                "x_a.b[1]",
            ),
            (
                swap(r#""name":"Launch site""#, r#""Name":"x""#),
                InvalidPropertyName,
                "Name",
            ),
            (
                swap(r#""name":"Launch site""#, r#""xy":"x""#),
                InvalidPropertyName,
                "xy",
            ),
            (
                swap(r#""pattern_type":"stix","#, ""),
                MissingProperty,
                "pattern_type",
            ),
            (
                swap(r#""name":"Launch site""#, r#""name":5"#),
                InvalidProperty,
                "name",
            ),
            (
                swap(
                    r#""name":"Launch site""#,
                    r#""valid_until":"2026-01-09T00:00:00Z""#,
                ),
                TimestampOrder,
                "valid_until",
            ),
            (
                swap(r#""name":"Launch site""#, r#""confidence":101"#),
                InvalidProperty,
                "confidence",
            ),
            (
                swap(r#""name":"Launch site""#, r#""revoked":"no""#),
                InvalidProperty,
                "revoked",
            ),
            (
                swap(
                    r#""name":"Launch site""#,
                    r#""external_references":[{"source_name":"x"}]"#,
                ),
                InvalidProperty,
                "external_references[0]",
            ),
            (
                swap(
                    r#""name":"Launch site""#,
                    r#""created_by_ref":"report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f""#,
                ),
                InvalidReference,
                "created_by_ref",
            ),
            (
                swap(r#""name":"Launch site""#, r#""x_sample_refs":["nope"]"#),
                InvalidReference,
                "x_sample_refs[0]",
            ),
            (
                swap(
                    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
                    "identity--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
                ),
                InvalidMarkingRef,
                "object_marking_refs[0]",
            ),
            (
                swap(
                    r#""object_marking_refs""#,
                    r#""granular_markings":[{"marking_ref":"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421","selectors":["description"]}],"object_marking_refs""#,
                ),
                DanglingSelector,
                "granular_markings[0].selectors[0]",
            ),
            (
                swap(
                    r#"["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]"#,
                    r#"["TLP:AMBER"]"#,
                ),
                InvalidMarkingRef,
                "object_marking_refs[0]",
            ),
            (
                swap(
                    r#""object_marking_refs""#,
                    r#""granular_markings":[{"marking_ref":"red","selectors":["name"]}],"object_marking_refs""#,
                ),
                InvalidMarkingRef,
                "granular_markings[0].marking_ref",
            ),
            (
                swap(
                    r#""object_marking_refs""#,
                    r#""granular_markings":[{"selectors":["name"]}],"object_marking_refs""#,
                ),
                InvalidGranularMarking,
                "granular_markings[0]",
            ),
            (
                swap(
                    r#""object_marking_refs""#,
                    r#""granular_markings":[{"lang":"en"}],"object_marking_refs""#,
                ),
                InvalidGranularMarking,
                "granular_markings[0].selectors",
            ),
        ];
        for (raw, code, prop) in cases {
            let (c, p) = code_of(&raw);
            assert_eq!((c, p.as_str()), (code, prop), "{raw}");
        }
    }

    const ID: &str = "00000000-0000-4000-8000-000000000001";
    const T: &str = r#""spec_version":"2.1","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z""#;

    fn sdo(t: &str, rest: &str) -> String {
        let sep = if rest.is_empty() { "" } else { "," };
        format!(r#"{{"type":"{t}","id":"{t}--{ID}",{T}{sep}{rest}}}"#)
    }

    #[test]
    fn required_properties_of_the_common_types() {
        let r = r#""object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]"#;
        let valid = [
            sdo(
                "report",
                &format!(r#""name":"r","published":"2026-01-10T08:00:00Z",{r}"#),
            ),
            sdo(
                "observed-data",
                &format!(
                    r#""first_observed":"2026-01-10T08:00:00Z","last_observed":"2026-01-10T09:00:00Z","number_observed":3,{r}"#
                ),
            ),
            sdo(
                "sighting",
                r#""sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f""#,
            ),
            sdo("location", r#""latitude":33.1,"longitude":35.8"#),
            sdo("location", r#""country":"SY""#),
            sdo(
                "identity",
                r#""name":"IDF","identity_class":"organization""#,
            ),
            sdo("note", &format!(r#""content":"seen",{r}"#)),
            sdo("opinion", &format!(r#""opinion":"agree",{r}"#)),
            sdo(
                "relationship",
                r#""relationship_type":"indicates","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f""#,
            ),
            sdo("malware", r#""is_family":false"#),
            sdo("threat-actor", r#""name":"x""#),
            sdo("campaign", r#""name":"x""#),
            sdo("attack-pattern", r#""name":"x""#),
            sdo("tool", r#""name":"x""#),
            sdo("vulnerability", r#""name":"x""#),
            sdo("infrastructure", r#""name":"x""#),
            sdo("intrusion-set", r#""name":"x""#),
            sdo("course-of-action", r#""name":"x""#),
            sdo(
                "grouping",
                &format!(r#""context":"suspicious-activity",{r}"#),
            ),
            format!(r#"{{"type":"ipv4-addr","id":"ipv4-addr--{ID}","value":"10.0.0.1"}}"#),
        ];
        for raw in &valid {
            check(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        }
        let invalid = [
            (sdo("report", &format!(r#""name":"r",{r}"#)), "published"),
            (
                sdo("report", r#""name":"r","published":"2026-01-10T08:00:00Z""#),
                "object_refs",
            ),
            (
                sdo(
                    "observed-data",
                    &format!(
                        r#""first_observed":"2026-01-10T08:00:00Z","last_observed":"2026-01-10T09:00:00Z","number_observed":0,{r}"#
                    ),
                ),
                "number_observed",
            ),
            (
                sdo(
                    "observed-data",
                    &format!(
                        r#""first_observed":"2026-01-10T10:00:00Z","last_observed":"2026-01-10T09:00:00Z","number_observed":1,{r}"#
                    ),
                ),
                "last_observed",
            ),
            (sdo("sighting", ""), "sighting_of_ref"),
            (
                sdo("sighting", r#""sighting_of_ref":"nope""#),
                "sighting_of_ref",
            ),
            (sdo("location", r#""latitude":33.1"#), "longitude"),
            (
                sdo("location", r#""latitude":133.1,"longitude":35.8"#),
                "latitude",
            ),
            (sdo("location", r#""description":"somewhere""#), "region"),
            (
                sdo("identity", r#""identity_class":"organization""#),
                "name",
            ),
            (sdo("note", r#""content":"seen""#), "object_refs"),
            (
                sdo("opinion", &format!(r#""opinion":"maybe",{r}"#)),
                "opinion",
            ),
            (
                sdo(
                    "relationship",
                    r#""relationship_type":"indicates","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f""#,
                ),
                "target_ref",
            ),
            (sdo("malware", r#""is_family":true"#), "name"),
            (sdo("malware", r#""name":"x""#), "is_family"),
            (sdo("threat-actor", ""), "name"),
            (sdo("grouping", r#""context":"x""#), "object_refs"),
        ];
        for (raw, prop) in invalid {
            let e = check(&raw).expect_err(&raw);
            assert_eq!(e.property, prop, "{raw}: {e}");
            assert_eq!(
                e.object,
                format!("{}--{ID}", raw.split('"').nth(3).unwrap_or("")),
                "{e}"
            );
        }
    }

    #[test]
    fn marking_definitions() {
        for t in Tlp::ALL {
            check(t.marking_definition_json()).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        }
        let tlp1 = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:WHITE","definition":{"tlp":"white"}}"#;
        check(tlp1).expect("TLP 1.0 white");
        let spoof = Tlp::Red
            .marking_definition_json()
            .replace(r#""tlp_2_0":"red""#, r#""tlp_2_0":"clear""#);
        assert_ne!(spoof, Tlp::Red.marking_definition_json());
        assert_eq!(
            check(&spoof).expect_err("spoof").code,
            ErrorCode::TlpMarkingMismatch
        );
        let versioned = tlp1.replace(
            r#""created":"2017-01-20T00:00:00.000Z""#,
            r#""created":"2017-01-20T00:00:00.000Z","modified":"2018-01-20T00:00:00.000Z""#,
        );
        assert_eq!(
            check(&versioned).expect_err("modified").property,
            "modified"
        );
        let statement = format!(
            r#"{{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--{ID}","created":"2026-01-10T08:00:00.000Z","definition_type":"statement"}}"#
        );
        assert_eq!(check(&statement).expect_err("half").property, "definition");
        assert!(
            check(&statement.replace(
                r#""statement""#,
                r#""statement","definition":{"statement":"Copyright"}"#
            ))
            .is_ok()
        );
    }

    #[test]
    fn granular_markings_are_indexed_and_checked() {
        let obj = swap(
            r#""object_marking_refs""#,
            r#""granular_markings":[{"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","selectors":["name","pattern"]},{"lang":"ar","selectors":["name"]}],"object_marking_refs""#,
        );
        let o = check(&obj).expect("valid");
        assert_eq!(o.marking_refs.len(), 2);
        assert!(selector_exists(&o.value().expect("json"), "name"));
        let v: Value = serde_json::from_str(r#"{"a":[{"b":1}],"c":{"d":2}}"#).expect("json");
        assert!(selector_exists(&v, "a.[0].b"));
        assert!(selector_exists(&v, "c.d"));
        assert!(!selector_exists(&v, "a.[1]"));
        assert!(!selector_exists(&v, "a.b"));
        assert!(!selector_exists(&v, ""));
    }
}
