//! TLP 2.0 markings: the five OASIS marking-definition objects, the TLP 1.0 ids STIX 2.1
//! predefines (mapped onto TLP 2.0), and the effective marking of a submission.
//!
//! The release rule these markings impose lives in [`crate::release`]; its items are
//! re-exported here for existing callers.

use crate::object::StixObject;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::release::{Recipients, allowed, clamp};

/// The OASIS extension that carries a TLP 2.0 level.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
/// `created` of the five OASIS TLP 2.0 marking-definitions.
pub const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";
/// `created` of the four TLP 1.0 marking-definitions STIX 2.1 predefines.
pub const TLP1_CREATED: &str = "2017-01-20T00:00:00.000Z";

/// TLP levels, ordered from least to most strict: `max` is the strictest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tlp {
    #[serde(rename = "clear")]
    Clear,
    #[serde(rename = "green")]
    Green,
    #[serde(rename = "amber")]
    Amber,
    #[serde(rename = "amber+strict")]
    AmberStrict,
    #[serde(rename = "red")]
    Red,
}

/// TLP 2.0 ids (OASIS cti-stix-common-objects).
const TLP2_IDS: [(Tlp, &str); 5] = [
    (
        Tlp::Clear,
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    ),
    (
        Tlp::Green,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    ),
    (
        Tlp::Amber,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    ),
    (
        Tlp::AmberStrict,
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    ),
    (
        Tlp::Red,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    ),
];

/// TLP 1.0 ids predefined by STIX 2.1, with their TLP 2.0 equivalent (WHITE → CLEAR).
/// TLP 1.0 has no AMBER+STRICT.
const TLP1_IDS: [(Tlp, &str, &str); 4] = [
    (
        Tlp::Clear,
        "white",
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        Tlp::Green,
        "green",
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        Tlp::Amber,
        "amber",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        Tlp::Red,
        "red",
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

impl Tlp {
    /// Every level, least strict first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The level of a published marking-definition id (TLP 2.0 or TLP 1.0).
    pub fn from_marking(id: &str) -> Option<Tlp> {
        TLP2_IDS
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(t, _)| *t)
            .or_else(|| {
                TLP1_IDS
                    .iter()
                    .find(|(_, _, i)| *i == id)
                    .map(|(t, _, _)| *t)
            })
    }

    /// Parses `clear`, `TLP:AMBER+STRICT`, `white` (TLP 1.0 for CLEAR), any case.
    pub fn parse(s: &str) -> Option<Tlp> {
        let s = s.trim().to_ascii_lowercase();
        match s.strip_prefix("tlp:").unwrap_or(&s) {
            "clear" | "white" => Some(Tlp::Clear),
            "green" => Some(Tlp::Green),
            "amber" => Some(Tlp::Amber),
            "amber+strict" => Some(Tlp::AmberStrict),
            "red" => Some(Tlp::Red),
            _ => None,
        }
    }

    /// `clear`, `green`, `amber`, `amber+strict`, `red` (the `tlp_2_0` values).
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// `TLP:CLEAR` … `TLP:RED`, the marking-definition's `name`.
    pub fn name(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// The TLP 2.0 marking-definition id.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => TLP2_IDS[0].1,
            Tlp::Green => TLP2_IDS[1].1,
            Tlp::Amber => TLP2_IDS[2].1,
            Tlp::AmberStrict => TLP2_IDS[3].1,
            Tlp::Red => TLP2_IDS[4].1,
        }
    }

    /// The TLP 1.0 marking-definition id of the same level, if TLP 1.0 has one.
    pub fn tlp1_marking_id(self) -> Option<&'static str> {
        TLP1_IDS
            .iter()
            .find(|(t, _, _)| *t == self)
            .map(|(_, _, i)| *i)
    }

    /// The OASIS TLP 2.0 marking-definition object, as compact JSON with the OASIS
    /// property order. Ship it with anything marked by it: TLP 2.0 is not predefined in
    /// STIX 2.1, so a consumer may not know the id.
    pub fn marking_definition_json(self) -> &'static str {
        match self {
            Tlp::Clear => {
                r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487","created":"2022-10-01T00:00:00.000Z","name":"TLP:CLEAR","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"clear"}}}"#
            }
            Tlp::Green => {
                r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb","created":"2022-10-01T00:00:00.000Z","name":"TLP:GREEN","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"green"}}}"#
            }
            Tlp::Amber => {
                r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421","created":"2022-10-01T00:00:00.000Z","name":"TLP:AMBER","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber"}}}"#
            }
            Tlp::AmberStrict => {
                r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003","created":"2022-10-01T00:00:00.000Z","name":"TLP:AMBER+STRICT","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber+strict"}}}"#
            }
            Tlp::Red => {
                r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","created":"2022-10-01T00:00:00.000Z","name":"TLP:RED","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"red"}}}"#
            }
        }
    }

    /// The level a marking-definition states: the TLP 2.0 extension's `tlp_2_0`, or a
    /// TLP 1.0 `definition_type: "tlp"` with `definition.tlp`. Says nothing of whether
    /// the id is a published one.
    pub fn of_marking_definition(v: &Value) -> Option<Tlp> {
        v.as_object().and_then(Self::of_marking_definition_map)
    }

    pub(crate) fn of_marking_definition_map(m: &Map<String, Value>) -> Option<Tlp> {
        if m.get("type").and_then(Value::as_str) != Some("marking-definition") {
            return None;
        }
        if let Some(level) = m
            .get("extensions")
            .and_then(|e| e.get(TLP2_EXTENSION_ID))
            .and_then(|x| x.get("tlp_2_0"))
            .and_then(Value::as_str)
        {
            return match level {
                "white" => None,
                other => Tlp::parse(other),
            };
        }
        if m.get("definition_type").and_then(Value::as_str) == Some("tlp") {
            let level = m
                .get("definition")
                .and_then(|d| d.get("tlp"))
                .and_then(Value::as_str)?;
            return match level {
                "amber+strict" | "clear" => None,
                other => TLP1_IDS
                    .iter()
                    .find(|(_, name, _)| *name == other)
                    .map(|(t, _, _)| *t),
            };
        }
        None
    }
}

impl std::fmt::Display for Tlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The strictest TLP among published marking ids, if any is one.
pub fn strictest<'a>(refs: impl IntoIterator<Item = &'a String>) -> Option<Tlp> {
    refs.into_iter().filter_map(|r| Tlp::from_marking(r)).max()
}

/// The strictest TLP marking present anywhere in a submission: object-level and
/// granular markings alike (a RED sentence makes the whole submission RED). A marking
/// reference resolves to a published TLP id, or to a marking-definition object in the
/// same submission that states a TLP level. `None` when nothing is TLP-marked: the
/// caller applies the cell's default.
pub fn effective_tlp(objects: &[StixObject]) -> Option<Tlp> {
    let local: Vec<(&str, Tlp)> = objects
        .iter()
        .filter(|o| o.r#type == "marking-definition")
        .filter_map(|o| {
            let v: Value = serde_json::from_str(&o.raw).ok()?;
            Some((o.id.as_str(), Tlp::of_marking_definition(&v)?))
        })
        .collect();
    objects
        .iter()
        .flat_map(|o| o.marking_refs.iter())
        .filter_map(|r| {
            Tlp::from_marking(r).or_else(|| {
                local
                    .iter()
                    .find(|(id, _)| *id == r.as_str())
                    .map(|(_, t)| *t)
            })
        })
        .max()
}

/// Each object's TLP, resolved strictly: every marking it refers to (object-level and
/// granular) is a published TLP id (2.0, or a TLP 1.0 id STIX predefines) or a
/// marking-definition object in the same submission. Such an object that states a TLP
/// level counts with that level; one that states none (a statement) marks without a
/// level. An object's TLP is the strictest level among its markings, `None` when none
/// states one. A reference that resolves to nothing is refused, naming the object and
/// the marking: what it means cannot be known, so nothing marked by it is released.
pub fn object_tlps(objects: &[StixObject]) -> Result<Vec<Option<Tlp>>, crate::StixError> {
    let local: std::collections::BTreeMap<&str, Option<Tlp>> = objects
        .iter()
        .filter(|o| o.r#type == "marking-definition")
        .map(|o| {
            let level = serde_json::from_str::<Value>(&o.raw)
                .ok()
                .and_then(|v| Tlp::of_marking_definition(&v));
            (o.id.as_str(), level)
        })
        .collect();
    objects
        .iter()
        .map(|o| {
            let mut level = None;
            for r in &o.marking_refs {
                let found = match Tlp::from_marking(r) {
                    Some(t) => Some(t),
                    None => *local.get(r.as_str()).ok_or_else(|| {
                        crate::StixError::new(
                            crate::ErrorCode::UnknownMarking,
                            &o.id,
                            "object_marking_refs",
                            format!(
                                "marking {r} is neither a published TLP marking nor a marking-definition in this submission"
                            ),
                        )
                    })?,
                };
                level = level.max(found);
            }
            Ok(level)
        })
        .collect()
}

/// The marking of a submission: the strictest TLP of its objects, an object without a
/// TLP marking counting as `default` (marking-definitions themselves mark nothing).
/// Refuses an unresolvable marking as [`object_tlps`] does.
pub fn submission_tlp(objects: &[StixObject], default: Tlp) -> Result<Tlp, crate::StixError> {
    let levels = object_tlps(objects)?;
    Ok(objects
        .iter()
        .zip(levels)
        .filter(|(o, _)| o.r#type != "marking-definition")
        .map(|(_, t)| t.unwrap_or(default))
        .max()
        .unwrap_or(default))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::validate_str;

    #[test]
    fn ordered_by_strictness_and_named() {
        assert!(Tlp::Clear < Tlp::Green && Tlp::Green < Tlp::Amber);
        assert!(Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red);
        for t in Tlp::ALL {
            assert_eq!(Tlp::parse(t.as_str()), Some(t));
            assert_eq!(Tlp::parse(t.name()), Some(t));
            assert_eq!(Tlp::from_marking(t.marking_id()), Some(t));
            let v: Value = serde_json::from_str(t.marking_definition_json()).expect("json");
            assert_eq!(v["id"], t.marking_id());
            assert_eq!(v["name"], t.name());
            assert_eq!(v["created"], TLP2_CREATED);
            assert_eq!(Tlp::of_marking_definition(&v), Some(t));
            assert_eq!(
                serde_json::to_string(&t).expect("json"),
                format!("\"{}\"", t.as_str())
            );
        }
        assert_eq!(Tlp::parse("TLP:WHITE"), Some(Tlp::Clear));
        assert_eq!(Tlp::parse("purple"), None);
    }

    #[test]
    fn tlp1_ids_map_onto_tlp2() {
        let white = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
        assert_eq!(Tlp::from_marking(white), Some(Tlp::Clear));
        assert_eq!(
            Tlp::from_marking("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
            Some(Tlp::Red)
        );
        assert_eq!(Tlp::Clear.tlp1_marking_id(), Some(white));
        assert_eq!(Tlp::AmberStrict.tlp1_marking_id(), None);
    }

    const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-10T08:00:00.000Z","modified":"2026-01-10T08:00:00.000Z","name":"n","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix","valid_from":"2026-01-10T08:00:00Z"MARKS}"#;

    fn ind(marks: &str) -> StixObject {
        validate_str(&IND.replace("MARKS", marks)).expect("valid")
    }

    #[test]
    fn markings_resolve_strictly_or_are_refused() {
        let green = format!(r#","object_marking_refs":["{}"]"#, Tlp::Green.marking_id());
        assert_eq!(
            submission_tlp(&[ind(&green)], Tlp::Amber).expect("resolves"),
            Tlp::Green
        );
        // An unmarked object counts as the default, even beside a marked one.
        assert_eq!(
            submission_tlp(&[ind(&green), ind("")], Tlp::Amber).expect("resolves"),
            Tlp::Amber
        );
        let unknown = "marking-definition--00000000-0000-4000-8000-0000000000bb";
        let e = submission_tlp(
            &[ind(&format!(r#","object_marking_refs":["{unknown}"]"#))],
            Tlp::Amber,
        )
        .expect_err("unknown marking");
        assert_eq!(e.code, crate::ErrorCode::UnknownMarking);
        assert!(e.object.starts_with("indicator--") && e.message.contains(unknown));
        let granular =
            format!(r#","granular_markings":[{{"marking_ref":"{unknown}","selectors":["name"]}}]"#);
        assert!(submission_tlp(&[ind(&granular)], Tlp::Clear).is_err());
        // Defined in the same submission: its level counts; a statement has none.
        let def = validate_str(&format!(
            r#"{{"type":"marking-definition","spec_version":"2.1","id":"{unknown}","created":"2026-01-10T08:00:00.000Z","definition_type":"statement","definition":{{"statement":"Copyright"}}}}"#
        ))
        .expect("valid");
        assert_eq!(
            submission_tlp(&[def, ind(&granular)], Tlp::Green).expect("resolves"),
            Tlp::Green
        );
    }

    #[test]
    fn effective_is_the_strictest_object_or_granular_marking() {
        assert_eq!(effective_tlp(&[ind("")]), None);
        let green = format!(r#","object_marking_refs":["{}"]"#, Tlp::Green.marking_id());
        assert_eq!(effective_tlp(&[ind(""), ind(&green)]), Some(Tlp::Green));
        let granular_red = format!(
            r#","object_marking_refs":["{}"],"granular_markings":[{{"marking_ref":"{}","selectors":["name"]}}]"#,
            Tlp::Green.marking_id(),
            Tlp::Red.marking_id()
        );
        assert_eq!(effective_tlp(&[ind(&granular_red)]), Some(Tlp::Red));
        let tlp1_amber = r#","object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]"#;
        assert_eq!(
            effective_tlp(&[ind(&green), ind(tlp1_amber)]),
            Some(Tlp::Amber)
        );
        // A marking-definition shipped in the submission that states a level counts.
        let own = "marking-definition--00000000-0000-4000-8000-0000000000aa";
        let def = validate_str(&format!(
            r#"{{"type":"marking-definition","spec_version":"2.1","id":"{own}","created":"2026-01-10T08:00:00.000Z","name":"ours","extensions":{{"{TLP2_EXTENSION_ID}":{{"extension_type":"property-extension","tlp_2_0":"amber+strict"}}}}}}"#
        ))
        .expect("valid");
        let marked = ind(&format!(r#","object_marking_refs":["{own}"]"#));
        assert_eq!(effective_tlp(&[def, marked]), Some(Tlp::AmberStrict));
        let s = [
            Tlp::Amber.marking_id().to_string(),
            Tlp::Red.marking_id().to_string(),
        ];
        assert_eq!(strictest(s.iter()), Some(Tlp::Red));
    }
}
