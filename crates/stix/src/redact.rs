//! The supervisor's redactions: whole objects removed, properties removed.
//!
//! Only an object's creator may publish a new version of it, so any object the release
//! changes becomes a NEW object:
//! - its id is minted deterministically from (original id, submission) with UUIDv5
//!   ([`derived_id`]), so the same decision always yields the same ids;
//! - `created_by_ref` is the supervisor's identity, `created` = `modified` = the release
//!   time (SCOs, which have neither, only get the new id);
//! - its markings stay the same: `object_marking_refs` untouched, granular markings kept
//!   except selectors into removed content (list indices are renumbered when references
//!   are removed from a list);
//! - it carries an `external_references` entry `{"source_name": "liaison-redaction", …}`
//!   saying that it was released redacted (with the submission as `external_id`).
//!
//! Provenance decision: the original id is NOT written into the released object, and no
//! `derived-from` relationship is emitted. The original is not released, so such a
//! relationship would dangle, and the id would let a recipient correlate the redacted
//! object with the original if it ever saw it elsewhere. The mapping stays with the
//! supervisor: it is reproducible from (original id, submission) and returned in
//! [`Release::derived`] for the record.
//!
//! An object "changes" when properties are removed from it, when it refers to a removed
//! object (the reference is removed), or when it refers to an object that changes (the
//! reference is rewritten to the new id), transitively. References to removed objects
//! disappear from every `*_ref`/`*_refs` at any depth; if that empties a required list
//! or removes a required reference, the redaction fails naming object and property.
//! Unchanged objects are released byte for byte. Every changed object is re-validated.
//! When a changed id has several versions in the submission, only its newest is
//! released (the derived object has one version).

use crate::error::{ErrorCode, StixError};
use crate::object::{
    COMMON_REQUIRED, StixObject, is_sco, required, selector_exists, valid_id, validate,
};
use crate::time;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// `source_name` of the external reference added to every derived object.
pub const PROVENANCE_SOURCE: &str = "liaison-redaction";

/// Properties removed from one object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyRedaction {
    pub id: String,
    pub properties: Vec<String>,
}

/// A redaction as the supervisor sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedactionSpec {
    pub remove_objects: Vec<String>,
    pub remove_properties: Vec<PropertyRedaction>,
}

/// A redaction as sets (the form the server builds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redaction {
    pub remove_objects: BTreeSet<String>,
    /// Object id → top-level properties to remove.
    pub remove_properties: BTreeMap<String, BTreeSet<String>>,
}

impl From<&RedactionSpec> for Redaction {
    fn from(s: &RedactionSpec) -> Self {
        let mut r = Redaction {
            remove_objects: s.remove_objects.iter().cloned().collect(),
            remove_properties: BTreeMap::new(),
        };
        for p in &s.remove_properties {
            r.remove_properties
                .entry(p.id.clone())
                .or_default()
                .extend(p.properties.iter().cloned());
        }
        r
    }
}

/// What a release needs besides the objects: all passed in, nothing read or drawn.
#[derive(Clone, Copy, Debug)]
pub struct ReleaseContext<'a> {
    /// The submission's id, as the record names it.
    pub submission: &'a str,
    /// The cell's UUIDv5 namespace for derived ids.
    pub namespace: uuid::Uuid,
    /// `identity--…` of the supervising party.
    pub supervisor_identity: &'a str,
    /// STIX timestamp of the release (milliseconds recommended).
    pub release_time: &'a str,
}

/// The released objects, and original id → derived id for every changed object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub objects: Vec<StixObject>,
    pub derived: BTreeMap<String, String>,
}

/// The id of the object derived from `original` when released from `submission`:
/// same type, UUIDv5 in `namespace` of `"{original}/redacted/{submission}"`.
pub fn derived_id(namespace: &uuid::Uuid, original: &str, submission: &str) -> String {
    let t = original.split_once("--").map_or(original, |(t, _)| t);
    format!(
        "{t}--{}",
        uuid::Uuid::new_v5(
            namespace,
            format!("{original}/redacted/{submission}").as_bytes()
        )
    )
}

/// Applies a redaction with deterministic derived ids. See the module documentation.
pub fn redact(
    objects: &[StixObject],
    spec: &RedactionSpec,
    ctx: &ReleaseContext<'_>,
) -> Result<Release, StixError> {
    let r = Redaction::from(spec);
    let ns = ctx.namespace;
    let submission = ctx.submission;
    run(
        objects,
        &r,
        ctx.supervisor_identity,
        ctx.release_time,
        Some(submission),
        &|orig: &str| derived_id(&ns, orig, submission),
    )
}

/// Applies a redaction. `derive_id` mints the new id of a changed object (the caller
/// derives it deterministically); `release_time` is the STIX timestamp of the release.
pub fn apply(
    objects: &[StixObject],
    r: &Redaction,
    supervisor_identity: &str,
    release_time: &str,
    derive_id: impl Fn(&str) -> String,
) -> Result<Vec<StixObject>, StixError> {
    run(
        objects,
        r,
        supervisor_identity,
        release_time,
        None,
        &derive_id,
    )
    .map(|r| r.objects)
}

fn fail(code: ErrorCode, id: &str, prop: &str, msg: impl Into<String>) -> StixError {
    StixError::new(code, id, prop, msg)
}

/// Every identifier an object refers to through `*_ref`/`*_refs`, at any depth.
fn refs_of(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k.ends_with("_ref") {
                    if let Some(s) = x.as_str() {
                        out.insert(s.to_string());
                    }
                } else if k.ends_with("_refs") {
                    if let Some(a) = x.as_array() {
                        out.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
                    }
                } else {
                    refs_of(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs_of(x, out)),
        _ => {}
    }
}

fn marking_refs_of(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(a) = v.get("object_marking_refs").and_then(Value::as_array) {
        out.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
    }
    if let Some(a) = v.get("granular_markings").and_then(Value::as_array) {
        out.extend(
            a.iter()
                .filter_map(|g| g.get("marking_ref"))
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
    }
    out
}

/// What the reference walk did, in selector coordinates of the original object.
#[derive(Default)]
struct Edits {
    /// Paths (selector segments) of keys that were deleted.
    deleted: Vec<Vec<String>>,
    /// Lists whose elements were removed: path, and old index → new index.
    lists: Vec<(Vec<String>, Vec<Option<usize>>)>,
}

fn fix_refs(
    m: &mut Map<String, Value>,
    path: &[String],
    removed: &BTreeSet<String>,
    renamed: &BTreeMap<String, String>,
    edits: &mut Edits,
) {
    let mut delete = Vec::new();
    for (k, x) in m.iter_mut() {
        let mut here = path.to_vec();
        here.push(k.clone());
        if k.ends_with("_ref") {
            if let Some(s) = x.as_str() {
                if removed.contains(s) {
                    delete.push(k.clone());
                } else if let Some(n) = renamed.get(s) {
                    *x = Value::String(n.clone());
                }
            }
        } else if k.ends_with("_refs") {
            if let Some(a) = x.as_array_mut() {
                let mut map = Vec::with_capacity(a.len());
                let mut kept = Vec::with_capacity(a.len());
                for e in a.drain(..) {
                    match e.as_str() {
                        Some(s) if removed.contains(s) => map.push(None),
                        Some(s) => {
                            map.push(Some(kept.len()));
                            kept.push(
                                renamed
                                    .get(s)
                                    .map_or(e.clone(), |n| Value::String(n.clone())),
                            );
                        }
                        None => {
                            map.push(Some(kept.len()));
                            kept.push(e);
                        }
                    }
                }
                *a = kept;
                if a.is_empty() {
                    delete.push(k.clone());
                } else if map.iter().any(Option::is_none) {
                    edits.lists.push((here, map));
                }
            }
        } else {
            match x {
                Value::Object(inner) => fix_refs(inner, &here, removed, renamed, edits),
                Value::Array(a) => {
                    for (i, e) in a.iter_mut().enumerate() {
                        if let Value::Object(inner) = e {
                            let mut p = here.clone();
                            p.push(format!("[{i}]"));
                            fix_refs(inner, &p, removed, renamed, edits);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for k in delete {
        m.remove(&k);
        let mut here = path.to_vec();
        here.push(k);
        edits.deleted.push(here);
    }
}

/// A selector after the edits, or `None` if what it selected is gone.
fn remap_selector(sel: &str, removed_props: &BTreeSet<String>, edits: &Edits) -> Option<String> {
    let mut segs: Vec<String> = sel.split('.').map(str::to_string).collect();
    if segs.first().is_some_and(|s| removed_props.contains(s)) {
        return None;
    }
    if edits.deleted.iter().any(|d| segs.starts_with(d)) {
        return None;
    }
    for (path, map) in &edits.lists {
        if segs.len() > path.len() && segs.starts_with(path) {
            let seg = &segs[path.len()];
            let idx = seg
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<usize>().ok())?;
            let new = (*map.get(idx)?)?;
            segs[path.len()] = format!("[{new}]");
        }
    }
    Some(segs.join("."))
}

fn fix_granular(v: &mut Value, removed_props: &BTreeSet<String>, edits: &Edits) {
    let Some(g) = v
        .get("granular_markings")
        .and_then(Value::as_array)
        .cloned()
    else {
        return;
    };
    let mut kept = Vec::new();
    for mut gm in g {
        if let Some(sels) = gm.get_mut("selectors").and_then(Value::as_array_mut) {
            let new: Vec<Value> = sels
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|s| remap_selector(s, removed_props, edits))
                .filter(|s| selector_exists(v, s))
                .map(Value::String)
                .collect();
            *sels = new;
            if !sels.is_empty() {
                kept.push(gm);
            }
        }
    }
    if let Some(m) = v.as_object_mut() {
        if kept.is_empty() {
            m.remove("granular_markings");
        } else {
            m.insert("granular_markings".into(), Value::Array(kept));
        }
    }
}

fn run(
    objects: &[StixObject],
    r: &Redaction,
    supervisor_identity: &str,
    release_time: &str,
    submission: Option<&str>,
    derive_id: &dyn Fn(&str) -> String,
) -> Result<Release, StixError> {
    if valid_id(supervisor_identity) != Some("identity") {
        return Err(fail(
            ErrorCode::InvalidReleaseContext,
            "release",
            "created_by_ref",
            "the supervisor's identity must be identity--UUID",
        ));
    }
    if !time::is_valid(release_time) {
        return Err(fail(
            ErrorCode::InvalidReleaseContext,
            "release",
            "created",
            "the release time must be a STIX timestamp",
        ));
    }
    let values: Vec<Value> = objects
        .iter()
        .map(StixObject::value)
        .collect::<Result<_, _>>()?;
    let by_id = |id: &str| -> Vec<(&StixObject, &Value)> {
        objects
            .iter()
            .zip(&values)
            .filter(|(o, _)| o.id == id)
            .collect()
    };

    // The redaction must name what exists, and may not touch markings or required
    // properties.
    for id in &r.remove_objects {
        if by_id(id).is_empty() {
            return Err(fail(
                ErrorCode::UnknownObject,
                id,
                "",
                "no such object in the submission",
            ));
        }
        if r.remove_properties.contains_key(id) {
            return Err(fail(
                ErrorCode::ConflictingRedaction,
                id,
                "",
                "removed whole and redacted at once",
            ));
        }
    }
    for (id, props) in &r.remove_properties {
        let versions = by_id(id);
        let Some((first, _)) = versions.first() else {
            return Err(fail(
                ErrorCode::UnknownObject,
                id,
                "",
                "no such object in the submission",
            ));
        };
        let t = first.r#type.as_str();
        for p in props {
            if t == "marking-definition" || p == "object_marking_refs" || p == "granular_markings" {
                return Err(fail(
                    ErrorCode::MarkingNotRedactable,
                    id,
                    p,
                    "markings travel with what they mark and cannot be redacted",
                ));
            }
            if COMMON_REQUIRED.contains(&p.as_str()) || required(t).contains(&p.as_str()) {
                return Err(fail(
                    ErrorCode::RequiredProperty,
                    id,
                    p,
                    format!("is required for {t}; remove the whole object instead"),
                ));
            }
            if !versions.iter().any(|(_, v)| v.get(p).is_some()) {
                return Err(fail(
                    ErrorCode::UnknownProperty,
                    id,
                    p,
                    "the object has no such property",
                ));
            }
        }
    }

    // Markings in use stay: removing one would release what it marks unmarked.
    let removed = &r.remove_objects;
    for (o, v) in objects.iter().zip(&values) {
        if removed.contains(&o.id) {
            continue;
        }
        if let Some(m) = marking_refs_of(v).intersection(removed).next() {
            return Err(fail(
                ErrorCode::MarkingNotRedactable,
                &o.id,
                "object_marking_refs",
                format!("marks this object with {m}, which the redaction removes"),
            ));
        }
    }

    // Which objects change: directly redacted, referring to a removed object, or
    // referring to a changed one (transitively).
    let refs: Vec<BTreeSet<String>> = values
        .iter()
        .map(|v| {
            let mut s = BTreeSet::new();
            refs_of(v, &mut s);
            s
        })
        .collect();
    let mut changed: BTreeSet<String> = r
        .remove_properties
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    loop {
        let mut grew = false;
        for (o, rs) in objects.iter().zip(&refs) {
            if removed.contains(&o.id) || changed.contains(&o.id) {
                continue;
            }
            if rs
                .iter()
                .any(|x| removed.contains(x) || changed.contains(x))
            {
                changed.insert(o.id.clone());
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let renamed: BTreeMap<String, String> = changed
        .iter()
        .map(|id| (id.clone(), derive_id(id)))
        .collect();
    // Of a changed id, only the newest version is derived.
    let mut newest: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        if !changed.contains(&o.id) {
            continue;
        }
        let later =
            |j: usize| time::parse_nanos(&o.version) >= time::parse_nanos(&objects[j].version);
        match newest.get(o.id.as_str()) {
            Some(&j) if !later(j) => {}
            _ => {
                newest.insert(&o.id, i);
            }
        }
    }

    let empty = BTreeSet::new();
    let mut out = Vec::new();
    for (i, (o, v)) in objects.iter().zip(&values).enumerate() {
        if removed.contains(&o.id) {
            continue;
        }
        if !changed.contains(&o.id) {
            out.push(o.clone());
            continue;
        }
        if newest.get(o.id.as_str()) != Some(&i) {
            continue;
        }
        if o.r#type == "marking-definition" {
            return Err(fail(
                ErrorCode::MarkingNotRedactable,
                &o.id,
                "",
                "a marking-definition refers to removed or redacted objects; markings cannot change",
            ));
        }
        let mut v = v.clone();
        let removed_props = r.remove_properties.get(&o.id).unwrap_or(&empty);
        let mut edits = Edits::default();
        {
            let Some(m) = v.as_object_mut() else {
                return Err(fail(ErrorCode::NotAnObject, &o.id, "", "not a JSON object"));
            };
            for p in removed_props {
                m.remove(p);
            }
            fix_refs(m, &[], removed, &renamed, &mut edits);
            for d in &edits.deleted {
                if let [k] = d.as_slice()
                    && required(&o.r#type).contains(&k.as_str())
                {
                    return Err(fail(
                        ErrorCode::RequiredProperty,
                        &o.id,
                        k,
                        "the redaction removes every object this required reference names",
                    ));
                }
            }
        }
        fix_granular(&mut v, removed_props, &edits);
        let new_id = renamed
            .get(&o.id)
            .cloned()
            .unwrap_or_else(|| derive_id(&o.id));
        let Some(m) = v.as_object_mut() else {
            return Err(fail(ErrorCode::NotAnObject, &o.id, "", "not a JSON object"));
        };
        m.insert("id".into(), Value::String(new_id));
        if !is_sco(&o.r#type) {
            m.insert(
                "created_by_ref".into(),
                Value::String(supervisor_identity.into()),
            );
            m.insert("created".into(), Value::String(release_time.into()));
            m.insert("modified".into(), Value::String(release_time.into()));
        }
        let mut note = Map::new();
        note.insert(
            "source_name".into(),
            Value::String(PROVENANCE_SOURCE.into()),
        );
        note.insert(
            "description".into(),
            Value::String("Released by the supervising party with content removed.".into()),
        );
        if let Some(s) = submission {
            note.insert("external_id".into(), Value::String(s.into()));
        }
        match m
            .get_mut("external_references")
            .and_then(Value::as_array_mut)
        {
            Some(a) => a.push(Value::Object(note)),
            None => {
                m.insert(
                    "external_references".into(),
                    Value::Array(vec![Value::Object(note)]),
                );
            }
        }
        let raw = serde_json::to_string(&v)
            .map_err(|e| fail(ErrorCode::NotJson, &o.id, "", e.to_string()))?;
        let checked = validate(&v, &raw, i).map_err(|e| {
            fail(
                e.code,
                &o.id,
                &e.property,
                format!("after redaction: {}", e.message),
            )
        })?;
        out.push(checked);
    }
    if out.is_empty() {
        return Err(fail(
            ErrorCode::EmptyRelease,
            "submission",
            "objects",
            "the redaction removes every object; reject the submission instead",
        ));
    }
    Ok(Release {
        objects: out,
        derived: renamed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::parse_envelope;
    use crate::tlp::Tlp;

    const REPORT: &str = r#"{"type":"report","spec_version":"2.1","id":"report--a1b2c3d4-0000-4000-8000-000000000001","created_by_ref":"identity--a1b2c3d4-0000-4000-8000-0000000000f0","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","name":"Launchers","published":"2026-01-10T08:00:00Z","description":"Source: agent X","object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","location--a1b2c3d4-0000-4000-8000-000000000002","relationship--a1b2c3d4-0000-4000-8000-000000000003","identity--a1b2c3d4-0000-4000-8000-0000000000f0"],"object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],"granular_markings":[{"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","selectors":["description"]},{"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","selectors":["object_refs.[1]","object_refs.[3]","name"]}]}"#;
    const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix","valid_from":"2026-01-10T08:00:00Z"}"#;
    const LOC: &str = r#"{"type":"location","spec_version":"2.1","id":"location--a1b2c3d4-0000-4000-8000-000000000002","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","latitude":33.1,"longitude":35.8,"description":"Observer post 7"}"#;
    const REL: &str = r#"{"type":"relationship","spec_version":"2.1","id":"relationship--a1b2c3d4-0000-4000-8000-000000000003","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","relationship_type":"located-at","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"location--a1b2c3d4-0000-4000-8000-000000000002"}"#;
    const WHO: &str = r#"{"type":"identity","spec_version":"2.1","id":"identity--a1b2c3d4-0000-4000-8000-0000000000f0","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","name":"Source unit 8200","identity_class":"organization"}"#;
    const SUPERVISOR: &str = "identity--00000000-0000-4000-8000-000000000009";
    const AT: &str = "2026-01-11T00:00:00.000Z";

    fn objs() -> Vec<StixObject> {
        parse_envelope(&format!(
            r#"{{"objects":[{REPORT},{IND},{LOC},{REL},{WHO}]}}"#
        ))
        .expect("valid")
    }

    fn ctx() -> ReleaseContext<'static> {
        ReleaseContext {
            submission: "42",
            namespace: uuid::Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef),
            supervisor_identity: SUPERVISOR,
            release_time: AT,
        }
    }

    fn spec(objects: &[&str], props: &[(&str, &[&str])]) -> RedactionSpec {
        RedactionSpec {
            remove_objects: objects.iter().map(|s| s.to_string()).collect(),
            remove_properties: props
                .iter()
                .map(|(id, p)| PropertyRedaction {
                    id: id.to_string(),
                    properties: p.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
        }
    }

    fn find<'a>(r: &'a Release, t: &str) -> Vec<&'a StixObject> {
        r.objects.iter().filter(|o| o.r#type == t).collect()
    }

    /// Every released object is valid, and no reference points at an original that
    /// was changed or removed.
    fn consistent(r: &Release, removed: &[&str]) {
        for o in &r.objects {
            let v = o.value().expect("json");
            crate::object::validate(&v, &o.raw, 0).expect("valid");
            let mut refs = BTreeSet::new();
            refs_of(&v, &mut refs);
            for x in refs {
                assert!(
                    !removed.contains(&x.as_str()),
                    "{} refers to removed {x}",
                    o.id
                );
                assert!(
                    !r.derived.contains_key(&x),
                    "{} refers to original {x}",
                    o.id
                );
            }
        }
    }

    #[test]
    fn removing_a_property_derives_a_new_valid_object() {
        let s = spec(
            &[],
            &[(
                "location--a1b2c3d4-0000-4000-8000-000000000002",
                &["description"],
            )],
        );
        let r = redact(&objs(), &s, &ctx()).expect("ok");
        let loc = find(&r, "location")[0];
        let expect_id = derived_id(
            &ctx().namespace,
            "location--a1b2c3d4-0000-4000-8000-000000000002",
            "42",
        );
        assert_eq!(loc.id, expect_id);
        assert!(!loc.raw.contains("Observer post"));
        assert_eq!(loc.created_by_ref.as_deref(), Some(SUPERVISOR));
        assert_eq!(loc.version, AT);
        let v = loc.value().expect("json");
        assert_eq!(v["created"], AT);
        assert_eq!(
            v["external_references"][0]["source_name"],
            PROVENANCE_SOURCE
        );
        assert_eq!(v["external_references"][0]["external_id"], "42");
        assert!(
            !loc.raw.contains("a1b2c3d4-0000-4000-8000-000000000002"),
            "original id never released"
        );
        // The report and the relationship refer to the location: rewritten, so derived.
        let rep = find(&r, "report")[0];
        assert!(rep.raw.contains(&expect_id));
        assert_ne!(rep.id, "report--a1b2c3d4-0000-4000-8000-000000000001");
        let rel = find(&r, "relationship")[0];
        assert_eq!(rel.value().expect("json")["target_ref"], expect_id.as_str());
        // Untouched objects keep their bytes.
        assert_eq!(find(&r, "indicator")[0].raw, IND);
        assert_eq!(find(&r, "identity")[0].raw, WHO);
        consistent(&r, &[]);
        // Reproducible.
        assert_eq!(redact(&objs(), &s, &ctx()).expect("ok"), r);
    }

    #[test]
    fn granular_markings_follow_the_redaction() {
        let s = spec(
            &[],
            &[(
                "report--a1b2c3d4-0000-4000-8000-000000000001",
                &["description"],
            )],
        );
        let r = redact(&objs(), &s, &ctx()).expect("ok");
        let rep = find(&r, "report")[0];
        let v = rep.value().expect("json");
        assert!(!rep.raw.contains("agent X"));
        assert_eq!(v["granular_markings"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["object_marking_refs"][0], Tlp::Amber.marking_id());
        assert_eq!(
            rep.marking_refs.len(),
            2,
            "object marking and the remaining RED one"
        );
        // Removing the location (and the relationship that needs it) renumbers the
        // marked list entries: [1] and [2] are gone, [3] becomes [1].
        let s = spec(
            &[
                "location--a1b2c3d4-0000-4000-8000-000000000002",
                "relationship--a1b2c3d4-0000-4000-8000-000000000003",
            ],
            &[],
        );
        let r = redact(&objs(), &s, &ctx()).expect("ok");
        let v = find(&r, "report")[0].value().expect("json");
        assert_eq!(v["object_refs"].as_array().map(Vec::len), Some(2));
        let sels = &v["granular_markings"][1]["selectors"];
        assert_eq!(sels, &serde_json::json!(["object_refs.[1]", "name"]));
        assert_eq!(
            v["object_refs"][1],
            "identity--a1b2c3d4-0000-4000-8000-0000000000f0"
        );
        consistent(
            &r,
            &[
                "location--a1b2c3d4-0000-4000-8000-000000000002",
                "relationship--a1b2c3d4-0000-4000-8000-000000000003",
            ],
        );
    }

    #[test]
    fn required_references_and_properties_cannot_go() {
        // The relationship's target is a required reference.
        let e = redact(
            &objs(),
            &spec(
                &[
                    "location--a1b2c3d4-0000-4000-8000-000000000002",
                    "relationship--a1b2c3d4-0000-4000-8000-000000000003",
                ],
                &[],
            ),
            &ctx(),
        );
        assert!(e.is_ok(), "{e:?}");
        let e = redact(
            &objs(),
            &spec(&["location--a1b2c3d4-0000-4000-8000-000000000002"], &[]),
            &ctx(),
        )
        .expect_err("relationship target");
        assert_eq!(
            (e.code, e.object.as_str(), e.property.as_str()),
            (
                ErrorCode::RequiredProperty,
                "relationship--a1b2c3d4-0000-4000-8000-000000000003",
                "target_ref"
            )
        );
        let all = [
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "location--a1b2c3d4-0000-4000-8000-000000000002",
            "relationship--a1b2c3d4-0000-4000-8000-000000000003",
            "identity--a1b2c3d4-0000-4000-8000-0000000000f0",
        ];
        let e = redact(&objs(), &spec(&all, &[]), &ctx()).expect_err("report refs");
        assert_eq!(
            (e.code, e.property.as_str()),
            (ErrorCode::RequiredProperty, "object_refs")
        );
        for (id, p, code) in [
            (
                "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "pattern",
                ErrorCode::RequiredProperty,
            ),
            (
                "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "modified",
                ErrorCode::RequiredProperty,
            ),
            (
                "report--a1b2c3d4-0000-4000-8000-000000000001",
                "object_marking_refs",
                ErrorCode::MarkingNotRedactable,
            ),
            (
                "report--a1b2c3d4-0000-4000-8000-000000000001",
                "granular_markings",
                ErrorCode::MarkingNotRedactable,
            ),
            (
                "report--a1b2c3d4-0000-4000-8000-000000000001",
                "descripton",
                ErrorCode::UnknownProperty,
            ),
            (
                "report--00000000-0000-4000-8000-000000000000",
                "description",
                ErrorCode::UnknownObject,
            ),
        ] {
            let e = redact(&objs(), &spec(&[], &[(id, &[p])]), &ctx()).expect_err(p);
            assert_eq!(
                (e.code, e.property.as_str()),
                (
                    code,
                    if code == ErrorCode::UnknownObject {
                        ""
                    } else {
                        p
                    }
                ),
                "{e}"
            );
        }
        let e = redact(
            &objs(),
            &spec(
                &["location--a1b2c3d4-0000-4000-8000-000000000002"],
                &[(
                    "location--a1b2c3d4-0000-4000-8000-000000000002",
                    &["description"],
                )],
            ),
            &ctx(),
        )
        .expect_err("both");
        assert_eq!(e.code, ErrorCode::ConflictingRedaction);
    }

    #[test]
    fn removing_the_source_identity_anonymises() {
        let r = redact(
            &objs(),
            &spec(&["identity--a1b2c3d4-0000-4000-8000-0000000000f0"], &[]),
            &ctx(),
        )
        .expect("ok");
        assert!(find(&r, "identity").is_empty());
        let rep = find(&r, "report")[0];
        assert_eq!(rep.created_by_ref.as_deref(), Some(SUPERVISOR));
        assert!(!rep.raw.contains("0000000000f0"));
        consistent(&r, &["identity--a1b2c3d4-0000-4000-8000-0000000000f0"]);
    }

    #[test]
    fn markings_in_use_cannot_be_removed() {
        let amber = Tlp::Amber.marking_definition_json();
        let o = parse_envelope(&format!(
            r#"{{"objects":[{REPORT},{IND},{LOC},{REL},{WHO},{amber}]}}"#
        ))
        .expect("valid");
        let e = redact(&o, &spec(&[Tlp::Amber.marking_id()], &[]), &ctx()).expect_err("in use");
        assert_eq!(e.code, ErrorCode::MarkingNotRedactable);
        let e = redact(
            &o,
            &spec(&[], &[(Tlp::Amber.marking_id(), &["name"])]),
            &ctx(),
        )
        .expect_err("immutable");
        assert_eq!(e.code, ErrorCode::MarkingNotRedactable);
    }

    #[test]
    fn nothing_left_and_bad_context() {
        let o = parse_envelope(&format!(r#"{{"objects":[{IND}]}}"#)).expect("valid");
        let e = redact(
            &o,
            &spec(&["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"], &[]),
            &ctx(),
        )
        .expect_err("empty");
        assert_eq!(e.code, ErrorCode::EmptyRelease);
        let mut c = ctx();
        c.release_time = "yesterday";
        assert_eq!(
            redact(&o, &spec(&[], &[]), &c).expect_err("time").code,
            ErrorCode::InvalidReleaseContext
        );
        let mut c = ctx();
        c.supervisor_identity = "report--00000000-0000-4000-8000-000000000009";
        assert_eq!(
            redact(&o, &spec(&[], &[]), &c).expect_err("who").code,
            ErrorCode::InvalidReleaseContext
        );
        // No redaction: everything byte for byte.
        let r = redact(&objs(), &spec(&[], &[]), &ctx()).expect("ok");
        assert_eq!(r.objects, objs());
        assert!(r.derived.is_empty());
    }

    #[test]
    fn older_versions_of_a_changed_object_are_not_released() {
        let v2 = IND.replace(
            r#""modified":"2026-01-10T08:00:00.000Z""#,
            r#""modified":"2026-01-10T09:00:00.000Z","name":"newer","description":"second""#,
        );
        let v1 = IND.replace(
            r#""pattern_type""#,
            r#""description":"first","pattern_type""#,
        );
        let o = parse_envelope(&format!(r#"{{"objects":[{v2},{v1}]}}"#)).expect("valid");
        let r = redact(
            &o,
            &spec(
                &[],
                &[(
                    "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                    &["description"],
                )],
            ),
            &ctx(),
        )
        .expect("ok");
        assert_eq!(r.objects.len(), 1);
        assert!(r.objects[0].raw.contains("newer"));
        assert!(!r.objects[0].raw.contains("second") && !r.objects[0].raw.contains("first"));
    }

    #[test]
    fn legacy_apply_matches() {
        let mut r = Redaction::default();
        r.remove_properties.insert(
            "report--a1b2c3d4-0000-4000-8000-000000000001".into(),
            ["description".to_string()].into(),
        );
        let ns = ctx().namespace;
        let out = apply(&objs(), &r, SUPERVISOR, AT, |orig| {
            derived_id(&ns, orig, "42")
        })
        .expect("ok");
        assert_eq!(out.len(), 5);
        assert_eq!(
            out[0].id,
            derived_id(&ns, "report--a1b2c3d4-0000-4000-8000-000000000001", "42")
        );
        assert!(!out[0].raw.contains("agent X"));
        assert_eq!(out[1].raw, IND);
    }
}
