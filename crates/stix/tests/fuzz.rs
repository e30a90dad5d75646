//! Fuzzing the STIX envelope parser: a valid envelope (a marked indicator and the
//! report that refers to it) with any member replaced by what a broken or hostile
//! producer sends — wrong types, malformed ids, timestamps and references, extreme
//! numbers, deep nesting — is refused with a stated error (mostly naming the object),
//! or parsed; never a panic, and what is parsed can be classified by its marking.

use liaison_stix::{effective_tlp, parse_envelope};
use proptest::prelude::*;
use serde_json::{Value, json};

const INDICATOR: &str = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

fn envelope() -> Value {
    json!({"objects": [
        {"type": "indicator", "spec_version": "2.1", "id": INDICATOR,
         "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z",
         "name": "Launch site", "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
         "valid_from": "2026-01-10T08:00:00Z", "object_marking_refs": [AMBER]},
        {"type": "report", "spec_version": "2.1", "id": "report--a1b2c3d4-0000-4000-8000-000000000001",
         "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T09:00:00.000Z",
         "name": "Launch sites", "published": "2026-01-10T09:00:00Z", "object_refs": [INDICATOR],
         "object_marking_refs": [AMBER], "labels": ["de-escalation"]}
    ]})
}

/// What a broken or hostile producer puts in a STIX member.
fn hostile() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        Just(json!(false)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1e308)),
        Just(json!(u64::MAX)),
        Just(json!("")),
        Just(json!("indicator--")),
        Just(json!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")),
        Just(json!(
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
        )),
        Just(json!(
            "marking-definition--00000000-0000-0000-0000-000000000000"
        )),
        Just(json!("x--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")),
        Just(json!("2026-02-30T25:61:61Z")),
        Just(json!("2026-01-10T08:00:00.1234567890Z")),
        Just(json!("9999-12-31T23:59:59.999Z")),
        Just(json!("0000-01-01T00:00:00Z")),
        Just(json!("2.0")),
        Just(json!("report")),
        Just(json!("bundle")),
        Just(json!("\u{0}\u{202e}\u{fffd}")),
        "[a-z0-9-]{0,40}".prop_map(Value::String),
        Just(json!([])),
        Just(json!({})),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Walks down `steps` (each picks a child by index, modulo its count) and replaces
/// the value reached, or the first that has no children, with `with`.
fn put(v: &mut Value, steps: &[usize], with: Value) {
    let next = steps.split_first().and_then(|(&k, rest)| {
        let child = match v {
            Value::Array(a) if !a.is_empty() => {
                let n = a.len();
                a.get_mut(k % n)
            }
            Value::Object(o) if !o.is_empty() => {
                let n = o.len();
                o.values_mut().nth(k % n)
            }
            _ => None,
        }?;
        Some((child, rest))
    });
    match next {
        Some((child, rest)) => put(child, rest, with),
        None => *v = with,
    }
}

proptest! {
    #[test]
    fn hostile_envelopes_are_refused_with_a_named_error_or_parsed(
        edits in prop::collection::vec(
            (0usize..2, prop::collection::vec(0usize..12, 1..5), hostile()),
            1..4,
        ),
        whole in prop::option::weighted(0.05, hostile()),
        as_bundle in any::<bool>(),
    ) {
        let mut v = envelope();
        if as_bundle {
            v["type"] = json!("bundle");
            v["id"] = json!("bundle--11111111-2222-4333-8444-555555555555");
        }
        // Mostly inside an object, where the validators are; now and then the
        // envelope itself.
        for (object, steps, with) in edits {
            put(&mut v["objects"][object], &steps, with);
        }
        if let Some(with) = whole {
            v["objects"] = with;
        }
        let body = v.to_string();
        match parse_envelope(&body) {
            Err(e) => prop_assert!(!e.to_string().is_empty(), "{body}"),
            Ok(objects) => {
                let _ = effective_tlp(&objects);
            }
        }
    }
}

/// The unmodified envelope parses: the cases above start from something valid.
#[test]
fn the_envelope_fuzzed_is_valid() {
    let objects = parse_envelope(&envelope().to_string()).expect("valid");
    assert_eq!(objects.len(), 2);
}
