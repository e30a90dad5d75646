//! The supervisor's redactions: objects removed, properties removed. Only an object's
//! creator may version it, so a property-redacted object is a new object, derived from
//! the original, created by the supervising party at the release time.

use crate::object::{StixError, StixObject, required, selector_exists, validate};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Properties no redaction may remove: without them the object is not STIX.
const COMMON_REQUIRED: [&str; 5] = ["type", "spec_version", "id", "created", "modified"];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redaction {
    pub remove_objects: BTreeSet<String>,
    /// Object id → top-level properties to remove.
    pub remove_properties: BTreeMap<String, BTreeSet<String>>,
}

fn fail(id: &str, prop: &str, msg: impl Into<String>) -> StixError {
    StixError {
        object: id.into(),
        property: prop.into(),
        message: msg.into(),
    }
}

/// Applies a redaction. `derive_id` mints the new id for a redacted object (the caller
/// derives it deterministically); `release_time` is the STIX timestamp of the release.
pub fn apply(
    objects: &[StixObject],
    r: &Redaction,
    supervisor_identity: &str,
    release_time: &str,
    derive_id: impl Fn(&str) -> String,
) -> Result<Vec<StixObject>, StixError> {
    for id in r.remove_objects.iter().chain(r.remove_properties.keys()) {
        if !objects.iter().any(|o| &o.id == id) {
            return Err(fail(id, "", "no such object in the submission"));
        }
    }
    let mut out = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        if r.remove_objects.contains(&o.id) {
            continue;
        }
        let mut v: Value =
            serde_json::from_str(&o.raw).map_err(|e| fail(&o.id, "", e.to_string()))?;
        let Some(m) = v.as_object_mut() else {
            return Err(fail(&o.id, "", "not an object"));
        };
        let mut changed = false;
        // References to removed objects go too; a required reference cannot.
        for (k, val) in m.iter_mut() {
            if k.ends_with("_refs")
                && let Some(a) = val.as_array_mut()
            {
                let before = a.len();
                a.retain(|x| x.as_str().is_none_or(|s| !r.remove_objects.contains(s)));
                changed |= a.len() != before;
            }
        }
        let mut empties: Vec<String> = m
            .iter()
            .filter(|(_, v)| v.as_array().is_some_and(Vec::is_empty))
            .map(|(k, _)| k.clone())
            .collect();
        for (k, val) in m.iter() {
            if k.ends_with("_ref") && val.as_str().is_some_and(|s| r.remove_objects.contains(s)) {
                empties.push(k.clone());
            }
        }
        for k in &empties {
            if required(&o.r#type).contains(&k.as_str()) {
                return Err(fail(
                    &o.id,
                    k,
                    "removing the objects it refers to would leave a required property empty",
                ));
            }
            m.remove(k);
            changed = true;
        }
        if let Some(props) = r.remove_properties.get(&o.id) {
            for p in props {
                if COMMON_REQUIRED.contains(&p.as_str())
                    || required(&o.r#type).contains(&p.as_str())
                {
                    return Err(fail(
                        &o.id,
                        p,
                        format!("is required for {}; redact the object instead", o.r#type),
                    ));
                }
                if m.remove(p).is_some() {
                    changed = true;
                }
            }
        }
        if changed {
            derive(m, &o.id, supervisor_identity, release_time, &derive_id);
            drop_dangling_granular(&mut v);
        }
        let raw = if changed {
            serde_json::to_string(&v).map_err(|e| fail(&o.id, "", e.to_string()))?
        } else {
            o.raw.clone()
        };
        let checked = validate(&v, &raw, i).map_err(|e| {
            fail(
                &o.id,
                &e.property,
                format!("after redaction: {}", e.message),
            )
        })?;
        out.push(checked);
    }
    if out.is_empty() {
        return Err(fail(
            "submission",
            "objects",
            "the redaction removes every object; reject the submission instead",
        ));
    }
    Ok(out)
}

/// A new object derived from the original: new id, the supervisor as creator, the
/// release time as creation, and a reference to what it was derived from.
fn derive(
    m: &mut Map<String, Value>,
    original: &str,
    supervisor_identity: &str,
    release_time: &str,
    derive_id: &impl Fn(&str) -> String,
) {
    m.insert("id".into(), Value::String(derive_id(original)));
    m.insert(
        "created_by_ref".into(),
        Value::String(supervisor_identity.into()),
    );
    if m.contains_key("created") {
        m.insert("created".into(), Value::String(release_time.into()));
    }
    if m.contains_key("modified") {
        m.insert("modified".into(), Value::String(release_time.into()));
    }
    m.remove("revoked");
    let note = serde_json::json!({"source_name": "liaison-redaction", "description": format!("redacted release derived from {original}")});
    match m
        .get_mut("external_references")
        .and_then(Value::as_array_mut)
    {
        Some(a) => a.push(note),
        None => {
            m.insert("external_references".into(), Value::Array(vec![note]));
        }
    }
}

fn drop_dangling_granular(v: &mut Value) {
    let snapshot = v.clone();
    let Some(m) = v.as_object_mut() else { return };
    let Some(g) = m.get_mut("granular_markings").and_then(Value::as_array_mut) else {
        return;
    };
    for gm in g.iter_mut() {
        if let Some(sels) = gm.get_mut("selectors").and_then(Value::as_array_mut) {
            sels.retain(|s| s.as_str().is_some_and(|s| selector_exists(&snapshot, s)));
        }
    }
    g.retain(|gm| {
        gm.get("selectors")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    });
    if g.is_empty() {
        m.remove("granular_markings");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::parse_envelope;

    const REPORT: &str = r#"{"type":"report","spec_version":"2.1","id":"report--a1b2c3d4-0000-4000-8000-000000000001","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","name":"Launchers","published":"2026-01-10T08:00:00Z","description":"Source: agent X","object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","location--a1b2c3d4-0000-4000-8000-000000000002"],"granular_markings":[{"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","selectors":["description"]}]}"#;
    const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix","valid_from":"2026-01-10T08:00:00Z"}"#;
    const LOC: &str = r#"{"type":"location","spec_version":"2.1","id":"location--a1b2c3d4-0000-4000-8000-000000000002","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","latitude":33.1,"longitude":35.8}"#;

    fn objs() -> Vec<StixObject> {
        parse_envelope(&format!(r#"{{"objects":[{REPORT},{IND},{LOC}]}}"#)).expect("valid")
    }

    fn new_id(orig: &str) -> String {
        let t = orig.split("--").next().unwrap_or("x");
        format!("{t}--00000000-0000-4000-8000-00000000beef")
    }

    #[test]
    fn removing_a_property_derives_a_new_valid_object_and_drops_its_granular_marking() {
        let mut r = Redaction::default();
        r.remove_properties.insert(
            "report--a1b2c3d4-0000-4000-8000-000000000001".into(),
            ["description".to_string()].into(),
        );
        let out = apply(
            &objs(),
            &r,
            "identity--00000000-0000-4000-8000-000000000009",
            "2026-01-11T00:00:00.000Z",
            new_id,
        )
        .expect("ok");
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].id, "report--00000000-0000-4000-8000-00000000beef");
        assert!(!out[0].raw.contains("agent X"));
        assert!(!out[0].raw.contains("granular_markings"));
        assert_eq!(out[1].raw, IND, "untouched objects keep their bytes");
    }

    #[test]
    fn removing_an_object_removes_references_but_never_a_required_list() {
        let mut r = Redaction::default();
        r.remove_objects
            .insert("location--a1b2c3d4-0000-4000-8000-000000000002".into());
        let out = apply(
            &objs(),
            &r,
            "identity--00000000-0000-4000-8000-000000000009",
            "2026-01-11T00:00:00.000Z",
            new_id,
        )
        .expect("ok");
        assert_eq!(out.len(), 2);
        assert!(!out[0].raw.contains("location--"));
        r.remove_objects
            .insert("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into());
        let e = apply(
            &objs(),
            &r,
            "identity--00000000-0000-4000-8000-000000000009",
            "2026-01-11T00:00:00.000Z",
            new_id,
        )
        .expect_err("required");
        assert_eq!(e.property, "object_refs");
        let mut r = Redaction::default();
        r.remove_properties.insert(
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
            ["pattern".to_string()].into(),
        );
        let e = apply(
            &objs(),
            &r,
            "identity--00000000-0000-4000-8000-000000000009",
            "2026-01-11T00:00:00.000Z",
            new_id,
        )
        .expect_err("required");
        assert_eq!(e.property, "pattern");
    }
}
