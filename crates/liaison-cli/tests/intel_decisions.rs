//! The supervisor's decision on intelligence is exactly what it says: it does what every
//! field of it says or is refused whole, and the recorded event states what each
//! recipient is served, byte for byte (SHA-256 of each released object). Markings are
//! resolved strictly: a marking nobody can resolve is refused, over TAXII and the JSON
//! API alike.

mod common;

use common::{Cell, Http, Server};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const REPORT: &str = "report--a1b2c3d4-0000-4000-8000-000000000001";
const LOCATION: &str = "location--a1b2c3d4-0000-4000-8000-000000000002";

/// Operators who may hold an inbox: (name, party).
const READERS: [(&str, &str); 5] = [
    ("il-liaison", "il"),
    ("il-analyst", "il"),
    ("sy-liaison", "sy"),
    ("sy-analyst", "sy"),
    ("undof-observer", "undof"),
];

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn report(marking: &str) -> Value {
    json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
        {"type": "report", "spec_version": "2.1", "id": REPORT, "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z",
         "name": "Launchers near Quneitra", "published": "2026-01-10T08:00:00Z", "description": "Source: HUMINT asset at the crossing",
         "object_refs": [LOCATION], "object_marking_refs": [marking]},
        {"type": "location", "spec_version": "2.1", "id": LOCATION, "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z",
         "latitude": 33.12, "longitude": 35.82, "object_marking_refs": [marking]}]})
}

struct Fixture {
    cell: Cell,
    server: Server,
    http: Http,
}

impl Fixture {
    fn new() -> Fixture {
        let cell = Cell::init();
        let server = cell.serve();
        let http = Http::new(&server.url);
        cell.approve(&http);
        Fixture { cell, server, http }
    }

    fn submit(&self, body: Value) -> u64 {
        let r = self.http.post(
            "/api/v1/intel/submissions",
            Some(&self.cell.token("il-liaison")),
            body,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["id"].as_u64().expect("id")
    }

    fn decide(&self, as_: &str, id: u64, body: Value) -> common::Resp {
        self.http.post(
            &format!("/api/v1/intel/submissions/{id}/decision"),
            Some(&self.cell.token(as_)),
            body,
        )
    }

    /// Every event on the record (the supervisor reads everything).
    fn events(&self) -> Vec<Value> {
        common::all_events(&self.http, &self.cell.token("us-supervisor"))
    }

    /// The recorded decision on a submission, if any.
    fn decision(&self, id: u64) -> Option<Value> {
        self.events()
            .into_iter()
            .find(|e| e["kind"] == "intel_decided" && e["data"]["submission"] == id)
            .map(|e| e["data"].clone())
    }

    /// The operator's party inbox over TAXII: the body as served, and its objects.
    fn inbox(&self, operator: &str, party: &str) -> (String, Vec<Value>) {
        let r = reqwest::blocking::Client::new()
            .get(format!(
                "{}/taxii2/{party}/collections/inbox/objects/?limit=1000",
                self.server.url
            ))
            .basic_auth(operator, Some(self.cell.token(operator)))
            .header("accept", "application/taxii+json;version=2.1")
            .send()
            .expect("get inbox");
        assert_eq!(r.status().as_u16(), 200, "{operator}");
        let text = r.text().expect("text");
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_ne!(v["more"], true, "one page holds the test's inbox");
        let objects = v["objects"].as_array().cloned().unwrap_or_default();
        (text, objects)
    }
}

/// The reproduction: an approval that names a removed property used to be recorded with
/// the removal while the object went out unredacted. Now it is refused whole, and the
/// redaction that does remove it is recorded with the hash of what each recipient gets.
#[test]
fn an_approval_that_removes_is_refused_and_a_redaction_releases_what_it_records() {
    let f = Fixture::new();
    let id = f.submit(json!({"bundle": report(AMBER), "recipients": ["sy"]}));
    let before = f.events().len();
    let r = f.decide(
        "us-supervisor",
        id,
        json!({"decision": "approve", "remove_properties": {REPORT: ["description"]}}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "decision_inconsistent"),
        "{}",
        r.body
    );
    assert_eq!(f.events().len(), before, "nothing recorded");
    let (text, objects) = f.inbox("sy-liaison", "sy");
    assert!(objects.is_empty(), "{text}");

    let r = f.decide(
        "us-supervisor",
        id,
        json!({"decision": "redact", "remove_properties": {REPORT: ["description"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let d = f.decision(id).expect("recorded");
    assert_eq!(d["removed_properties"], json!({REPORT: ["description"]}));
    let released = d["released"].as_array().expect("released");
    let hashes = d["released_sha256"].as_array().expect("hashes");
    assert_eq!(released.len(), 2);
    assert_eq!(hashes.len(), released.len());
    let (text, objects) = f.inbox("sy-liaison", "sy");
    assert!(
        !text.contains("HUMINT"),
        "the removed property is gone: {text}"
    );
    assert_eq!(objects.len(), released.len(), "{text}");
    for (o, h) in released.iter().zip(hashes) {
        let raw = o["raw"].as_str().expect("raw");
        assert_eq!(h.as_str(), Some(sha256(raw).as_str()));
        assert!(text.contains(raw), "served byte for byte: {raw}");
    }
    // UNDOF was not named by the AMBER submission: nothing reaches it.
    assert!(f.inbox("undof-observer", "undof").1.is_empty());
}

/// Every decision that cannot be carried out exactly as asked is refused with its own
/// code, and records nothing: the submission stays pending and no inbox moves.
#[test]
fn decisions_that_cannot_be_done_exactly_are_refused_whole() {
    let f = Fixture::new();
    let amber = f.submit(json!({"bundle": report(AMBER), "recipients": ["sy"]}));
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("us-admin", json!({"decision": "approve"}), 403, "forbidden"),
        (
            "sy-liaison",
            json!({"decision": "approve"}),
            403,
            "forbidden",
        ),
        (
            "us-supervisor",
            json!({"decision": "approve", "remove_objects": [LOCATION]}),
            422,
            "decision_inconsistent",
        ),
        (
            "us-supervisor",
            json!({"decision": "redact"}),
            422,
            "decision_inconsistent",
        ),
        (
            "us-supervisor",
            json!({"decision": "reject", "reason": "no", "remove_objects": [LOCATION]}),
            422,
            "decision_inconsistent",
        ),
        (
            "us-supervisor",
            json!({"decision": "reject", "reason": "no", "recipients": {"parties": ["sy"]}}),
            422,
            "decision_inconsistent",
        ),
        (
            "us-supervisor",
            json!({"decision": "redact", "remove_objects": [LOCATION], "remove_properties": {LOCATION: ["latitude"]}}),
            422,
            "decision_inconsistent",
        ),
        (
            "us-supervisor",
            json!({"decision": "redact", "remove_objects": ["location--a1b2c3d4-0000-4000-8000-0000000000ff"]}),
            422,
            "unknown_object",
        ),
        (
            "us-supervisor",
            json!({"decision": "redact", "remove_properties": {"report--a1b2c3d4-0000-4000-8000-0000000000ff": ["description"]}}),
            422,
            "unknown_object",
        ),
        (
            "us-supervisor",
            json!({"decision": "redact", "remove_properties": {REPORT: ["labels"]}}),
            422,
            "unknown_property",
        ),
        (
            "us-supervisor",
            json!({"decision": "redact", "remove_properties": {REPORT: ["name"]}}),
            422,
            "property_not_removable",
        ),
        (
            "us-supervisor",
            json!({"decision": "redact", "remove_properties": {REPORT: ["object_marking_refs"]}}),
            422,
            "property_not_removable",
        ),
        (
            "us-supervisor",
            json!({"decision": "approve", "recipients": {"parties": ["sy", "undof"]}}),
            422,
            "recipient_not_allowed",
        ),
        (
            "us-supervisor",
            json!({"decision": "approve", "recipients": {"parties": ["il"]}}),
            422,
            "recipient_not_allowed",
        ),
        (
            "us-supervisor",
            json!({"decision": "approve", "recipients": {"parties": ["us"]}}),
            422,
            "recipient_not_allowed",
        ),
        (
            "us-supervisor",
            json!({"decision": "approve", "recipients": {"parties": ["sy"], "operators": ["sy-analyst"]}}),
            422,
            "recipient_not_allowed",
        ),
        (
            "us-supervisor",
            json!({"decision": "approve", "recipients": {"parties": []}}),
            422,
            "recipient_not_allowed",
        ),
        (
            "us-supervisor",
            json!({"decision": "maybe"}),
            422,
            "invalid_input",
        ),
    ];
    let red = f.submit(
        json!({"bundle": report(RED), "recipients": ["sy"], "recipient_operators": ["sy-liaison"]}),
    );
    let red_cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "us-supervisor",
            json!({"decision": "approve", "recipients": {"operators": ["sy-analyst"]}}),
            422,
            "recipient_not_allowed",
        ),
        (
            "us-supervisor",
            json!({"decision": "approve", "recipients": {"parties": ["sy", "undof"], "operators": ["sy-liaison"]}}),
            422,
            "recipient_not_allowed",
        ),
    ];
    let before = f.events().len();
    for (id, list) in [(amber, &cases), (red, &red_cases)] {
        for (who, body, status, code) in list {
            let r = f.decide(who, id, body.clone());
            assert_eq!(
                (r.status, r.code().as_str()),
                (*status, *code),
                "{who} {body}: {}",
                r.body
            );
        }
    }
    assert_eq!(f.events().len(), before, "nothing recorded");
    for (op, party) in READERS {
        assert!(f.inbox(op, party).1.is_empty(), "{op}");
    }
    for id in [amber, red] {
        let v = f
            .http
            .get(
                &format!("/api/v1/intel/submissions/{id}"),
                Some(&f.cell.token("us-supervisor")),
            )
            .json();
        assert_eq!(v["state"], "pending", "{v}");
    }
    // Exactly as asked, the same decisions go through.
    let r = f.decide(
        "us-supervisor",
        red,
        json!({"decision": "approve", "recipients": {"operators": ["sy-liaison"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(f.inbox("sy-liaison", "sy").1.len(), 2);
    assert!(f.inbox("sy-analyst", "sy").1.is_empty());
}

fn submit_raw_taxii(f: &Fixture, envelope: &Value) -> reqwest::blocking::Response {
    let path = "/taxii2/il/collections/submissions/objects/";
    let token = f.cell.token("il-liaison");
    let body = envelope.to_string();
    let mut rb = reqwest::blocking::Client::new()
        .post(format!("{}{path}", f.server.url))
        .basic_auth("il-liaison", Some(&token))
        .header("content-type", "application/taxii+json;version=2.1")
        .header("accept", "application/taxii+json;version=2.1")
        .header("x-liaison-recipients", "sy")
        .header("x-liaison-recipient-operators", "sy-liaison");
    // Israel's operators must sign: the signature covers the recipients headers too.
    for (k, v) in common::signature_headers(
        &token,
        "POST",
        path,
        &[
            ("x-liaison-recipients", "sy"),
            ("x-liaison-recipient-operators", "sy-liaison"),
        ],
        body.as_bytes(),
    ) {
        rb = rb.header(k, v);
    }
    rb.body(body).send().expect("post")
}

/// A marking that resolves to nothing is refused (422 `unknown_marking`, naming the
/// object and the marking) over TAXII and the JSON API, granular markings included;
/// a marking-definition shipped in the same bundle resolves, with the level it states.
#[test]
fn markings_are_resolved_strictly_over_taxii_and_the_json_api() {
    let f = Fixture::new();
    let unknown = "marking-definition--00000000-0000-4000-8000-0000000000aa";
    let before = f.events().len();
    let mut granular = report(GREEN);
    granular["objects"][0]["granular_markings"] =
        json!([{"marking_ref": unknown, "selectors": ["description"]}]);
    for bundle in [report(unknown), granular] {
        let r = f.http.post(
            "/api/v1/intel/submissions",
            Some(&f.cell.token("il-liaison")),
            json!({"bundle": bundle.clone(), "recipients": ["sy"]}),
        );
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "unknown_marking"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(REPORT) && r.body.contains(unknown),
            "{}",
            r.body
        );
        let envelope = json!({"objects": bundle["objects"]});
        let r = submit_raw_taxii(&f, &envelope);
        assert_eq!(r.status().as_u16(), 422);
        let v: Value = r.json().expect("a TAXII error");
        assert_eq!(v["title"], "unknown_marking", "{v}");
        let d = v["description"].as_str().expect("description");
        assert!(d.contains(REPORT) && d.contains(unknown), "{d}");
    }
    assert_eq!(f.events().len(), before, "nothing recorded");

    // Defined in the bundle as TLP:RED under its own id: the submission is RED.
    let own_red = json!({"type": "marking-definition", "spec_version": "2.1", "id": unknown,
        "created": "2026-01-10T08:00:00.000Z", "name": "ours",
        "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension", "tlp_2_0": "red"}}});
    let mut bundle = report(unknown);
    bundle["objects"]
        .as_array_mut()
        .expect("objects")
        .push(own_red.clone());
    let r = f.http.post(
        "/api/v1/intel/submissions",
        Some(&f.cell.token("il-liaison")),
        json!({"bundle": bundle, "recipients": ["sy"], "recipient_operators": ["sy-liaison"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["tlp"], "red");
    let mut envelope = json!({"objects": report(unknown)["objects"]});
    envelope["objects"]
        .as_array_mut()
        .expect("objects")
        .push(own_red);
    let r = submit_raw_taxii(&f, &envelope);
    assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());
    let id: u64 = r.json::<Value>().expect("status")["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("status id");
    let v = f
        .http
        .get(
            &format!("/api/v1/intel/submissions/{id}"),
            Some(&f.cell.token("us-supervisor")),
        )
        .json();
    assert_eq!(v["tlp"], "red", "{v}");
}

/// One random decision: which objects, which marking, what the supervisor removes and
/// to whom it narrows.
#[derive(Clone, Debug)]
struct Case {
    indicators: usize,
    with_report: bool,
    marking: u8,
    named: u8,
    removed_objects: u8,
    removed_properties: u32,
    narrow: Option<u8>,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        1usize..4,
        any::<bool>(),
        0u8..3,
        1u8..4,
        any::<u8>(),
        any::<u32>(),
        proptest::option::of(1u8..4),
    )
        .prop_map(
            |(indicators, with_report, marking, named, ro, rp, narrow)| Case {
                indicators,
                with_report,
                marking,
                named,
                removed_objects: ro,
                removed_properties: rp,
                narrow,
            },
        )
}

/// Builds the submission of case `n`, and says which objects and properties the
/// decision removes. Every value is unique to its object and case, so that a removed
/// one can be looked for anywhere.
fn build(
    n: usize,
    c: &Case,
) -> (
    Value,
    Vec<String>,
    BTreeMap<String, Vec<String>>,
    Vec<String>,
) {
    let marking = [GREEN, AMBER, RED][c.marking as usize];
    let props = ["name", "description", "labels"];
    let mut objects = Vec::new();
    let mut removed_objects = Vec::new();
    let mut removed_properties = BTreeMap::new();
    let mut gone = Vec::new();
    let mut ids = Vec::new();
    for i in 0..c.indicators {
        let id = format!("indicator--00000000-0000-4000-8000-{n:06x}{i:06x}");
        let v = |p: &str| format!("{p}-{n}-{i}-unique");
        objects.push(json!({"type": "indicator", "spec_version": "2.1", "id": id,
            "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z",
            "name": v("name"), "description": v("description"), "labels": [v("labels")],
            "pattern": format!("[ipv4-addr:value = '10.0.{n}.{i}']"), "pattern_type": "stix",
            "valid_from": "2026-01-10T08:00:00Z", "object_marking_refs": [marking]}));
        if c.removed_objects & (1 << i) != 0 {
            removed_objects.push(id.clone());
            gone.extend([v("name"), v("description"), v("labels"), id.clone()]);
        } else {
            let chosen: Vec<String> = props
                .iter()
                .enumerate()
                .filter(|(k, _)| c.removed_properties & (1 << (3 * i + k)) != 0)
                .map(|(_, p)| p.to_string())
                .collect();
            gone.extend(chosen.iter().map(|p| v(p)));
            if !chosen.is_empty() {
                removed_properties.insert(id.clone(), chosen);
            }
        }
        ids.push(id);
    }
    if c.with_report {
        let id = format!("report--00000000-0000-4000-8000-{n:06x}ffffff");
        let desc = format!("report-description-{n}-unique");
        objects.push(json!({"type": "report", "spec_version": "2.1", "id": id,
            "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z",
            "name": format!("report-{n}"), "published": "2026-01-10T08:00:00Z",
            "description": desc, "object_refs": ids, "object_marking_refs": [marking]}));
        if c.removed_objects & 0x80 != 0 {
            removed_objects.push(id);
            gone.push(desc);
        } else if c.removed_properties & (1 << 31) != 0 {
            removed_properties.insert(id, vec!["description".into()]);
            gone.push(desc);
        }
    }
    let bundle = json!({"type": "bundle", "id": format!("bundle--00000000-0000-4000-8000-{n:012x}"), "objects": objects});
    (bundle, removed_objects, removed_properties, gone)
}

/// Who the marking allows, as the test's own oracle: (parties, operators).
fn allowed(c: &Case) -> (BTreeSet<&'static str>, BTreeSet<&'static str>, Value) {
    let pick = |bits: u8, from: [&'static str; 2]| -> BTreeSet<&'static str> {
        from.iter()
            .enumerate()
            .filter(|(k, _)| bits & (1 << k) != 0)
            .map(|(_, x)| *x)
            .collect()
    };
    match c.marking {
        0 => (["sy", "undof"].into(), BTreeSet::new(), json!({})),
        1 => {
            let parties = pick(c.named, ["sy", "undof"]);
            let body = json!({"recipients": parties});
            (parties, BTreeSet::new(), body)
        }
        _ => {
            let ops = pick(c.named, ["sy-liaison", "undof-observer"]);
            let parties = ops
                .iter()
                .map(|o| if *o == "sy-liaison" { "sy" } else { "undof" })
                .collect::<BTreeSet<_>>();
            let body = json!({"recipients": parties, "recipient_operators": ops});
            (parties, ops, body)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, max_shrink_iters: 0, failure_persistence: None, ..ProptestConfig::default() })]
    /// What each operator receives through the TAXII inbox equals what the recorded
    /// decisions say it receives (the released objects' bytes, whose hashes the events
    /// carry); removed objects and properties appear nowhere; no one outside the
    /// recorded recipients gets anything.
    #[test]
    fn every_recipient_receives_exactly_what_the_record_says(all in proptest::collection::vec(cases(), 8..=8)) {
        let f = Fixture::new();
        let mut expected: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for (n, c) in all.iter().enumerate() {
            let (bundle, removed_objects, removed_properties, gone) = build(n, c);
            let (parties, operators, mut body) = allowed(c);
            body["bundle"] = bundle.clone();
            let id = f.submit(body);
            let narrowed: Option<BTreeSet<&str>> = c.narrow.map(|bits| {
                let from: Vec<&str> = if operators.is_empty() { parties.iter().copied().collect() } else { operators.iter().copied().collect() };
                let s: BTreeSet<&str> = from.iter().enumerate().filter(|(k, _)| bits & (1 << k) != 0).map(|(_, x)| *x).collect();
                if s.is_empty() { from.into_iter().take(1).collect() } else { s }
            });
            let removes = !removed_objects.is_empty() || !removed_properties.is_empty();
            let mut decision = json!({"decision": if removes { "redact" } else { "approve" },
                "remove_objects": removed_objects, "remove_properties": removed_properties});
            if let Some(s) = &narrowed {
                decision["recipients"] = if operators.is_empty() { json!({"parties": s}) } else { json!({"operators": s}) };
            }
            let r = f.decide("us-supervisor", id, decision.clone());
            let all_removed = removed_objects.len() == c.indicators + usize::from(c.with_report);
            let report_emptied = c.with_report && c.removed_objects & 0x80 == 0 && removed_objects.len() == c.indicators;
            if parties.is_empty() {
                prop_assert_eq!((r.status, r.code()), (422, "recipient_not_allowed".to_string()), "{} {}", decision, r.body);
            } else if all_removed {
                prop_assert_eq!((r.status, r.code()), (422, "decision_inconsistent".to_string()), "{} {}", decision, r.body);
            } else if report_emptied {
                prop_assert_eq!((r.status, r.code()), (422, "property_not_removable".to_string()), "{} {}", decision, r.body);
            } else {
                prop_assert_eq!(r.status, 200, "{} {}", decision, r.body);
                let d = f.decision(id).expect("recorded");
                let released = d["released"].as_array().cloned().unwrap_or_default();
                let hashes = d["released_sha256"].as_array().cloned().unwrap_or_default();
                prop_assert_eq!(released.len(), hashes.len());
                let raws: Vec<String> = released.iter().map(|o| o["raw"].as_str().unwrap_or_default().to_string()).collect();
                for (raw, h) in raws.iter().zip(&hashes) {
                    let want = sha256(raw);
                    prop_assert_eq!(h.as_str(), Some(want.as_str()));
                    for g in &gone {
                        prop_assert!(!raw.contains(g.as_str()), "{} still in {}", g, raw);
                    }
                }
                if !removes {
                    let submitted: Vec<String> = bundle["objects"].as_array().expect("objects").iter().map(|o| o.to_string()).collect();
                    prop_assert_eq!(&raws, &submitted, "an approval releases the submission byte for byte");
                }
                // The record's recipients are what was asked, within the marking.
                let to_parties: BTreeSet<String> = d["to_parties"].as_array().expect("parties").iter().filter_map(|p| p.as_str().map(String::from)).collect();
                let to_operators: BTreeSet<String> = d["to_operators"].as_array().expect("operators").iter().filter_map(|p| p.as_str().map(String::from)).collect();
                let want: BTreeSet<&str> = narrowed.clone().unwrap_or_else(|| if operators.is_empty() { parties.clone() } else { operators.clone() });
                let got = if operators.is_empty() { &to_parties } else { &to_operators };
                prop_assert_eq!(got.iter().map(String::as_str).collect::<BTreeSet<_>>(), want);
                for (op, party) in READERS {
                    let receives = to_parties.contains(party) && (to_operators.is_empty() || to_operators.contains(op));
                    if receives {
                        expected.entry(op).or_default().extend(raws.iter().map(|r| serde_json::from_str::<Value>(r).expect("json")));
                    }
                }
            }
            for (op, party) in READERS {
                let (text, objects) = f.inbox(op, party);
                let want = expected.get(op).cloned().unwrap_or_default();
                let key = |v: &Value| v.to_string();
                let mut a: Vec<String> = objects.iter().map(key).collect();
                let mut b: Vec<String> = want.iter().map(key).collect();
                a.sort();
                b.sort();
                prop_assert_eq!(a, b, "{} after case {}: {:?}", op, n, c);
                for g in &gone {
                    prop_assert!(!text.contains(g.as_str()), "{} reached {}", g, op);
                }
            }
        }
    }
}

/// A party that may not decide learns nothing from trying: the same `403` whether the
/// submission exists (another party's) or not.
#[test]
fn deciding_without_the_right_tells_nothing_of_what_exists() {
    let f = Fixture::new();
    let id = f.submit(json!({"bundle": report(AMBER), "recipients": ["sy"]}));
    let body = json!({"decision": "approve"});
    let existing = f.decide("sy-liaison", id, body.clone());
    let missing = f.decide("sy-liaison", id + 1_000_000, body);
    assert_eq!(
        (existing.status, existing.code()),
        (missing.status, missing.code()),
        "{} / {}",
        existing.body,
        missing.body
    );
    assert_eq!(existing.status, 403);
}

/// A submission whose marking releases only to named recipients, and that names none
/// the supervisor could release to, is refused when it is submitted (it could only ever
/// be rejected), with the flag that fixes it; nothing is recorded. GREEN needs no names.
#[test]
fn a_submission_whose_marking_needs_recipients_and_names_none_is_refused_at_submission() {
    let f = Fixture::new();
    let il = f.cell.token("il-liaison");
    let before = f.events().len();
    for (body, field, hint) in [
        (json!({"bundle": report(AMBER)}), "recipients", "--to"),
        (
            json!({"bundle": report(AMBER), "recipients": ["il", "us"]}),
            "recipients",
            "--to",
        ),
        (
            json!({"bundle": report(RED), "recipients": ["sy"]}),
            "recipient_operators",
            "--to-operators",
        ),
        (
            json!({"bundle": report(RED), "recipients": ["sy"], "recipient_operators": ["il-analyst"]}),
            "recipient_operators",
            "--to-operators",
        ),
    ] {
        let r = f
            .http
            .post("/api/v1/intel/submissions", Some(&il), body.clone());
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.code(), "invalid_input", "{}", r.body);
        let message = r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains(field) && message.contains(hint),
            "{message}"
        );
    }
    assert_eq!(f.events().len(), before, "nothing recorded");
    // Unmarked bundles take the charter's default (AMBER): the same rule.
    let unmarked = json!({"objects": [{"type": "identity", "spec_version": "2.1",
        "id": "identity--00000000-0000-4000-8000-000000000009", "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z", "name": "unmarked"}]});
    let r = f.http.post(
        "/api/v1/intel/submissions",
        Some(&il),
        json!({"bundle": unmarked}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "invalid_input"),
        "{}",
        r.body
    );
    f.submit(json!({"bundle": report(GREEN)}));
}

/// The supervisor sees what a decision would release before making it: the objects after
/// the redaction, byte for byte with their hashes, and the recipients; nothing is
/// recorded. An approval previews exactly the bytes it then records; only the
/// supervisor may preview, and a member gets the same refusal whether the submission
/// exists or not.
#[test]
fn a_dry_run_decision_shows_what_each_recipient_would_receive_and_records_nothing() {
    let f = Fixture::new();
    let id = f.submit(json!({"bundle": report(AMBER), "recipients": ["sy"]}));
    let us = f.cell.token("us-supervisor");
    let before = f.events().len();
    let path = format!("/api/v1/intel/submissions/{id}/decision/preview");
    let r = f.http.post(
        &path,
        Some(&us),
        json!({"decision": "redact", "remove_properties": {REPORT: ["description"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let p = r.json();
    assert_eq!(p["to_parties"], json!(["sy"]));
    let released = p["released"].as_array().expect("released");
    assert_eq!(released.len(), 2);
    assert!(
        !r.body.contains("HUMINT"),
        "the removed property is gone: {}",
        r.body
    );
    for o in released {
        assert_eq!(o["sha256"].as_str().map(str::len), Some(64), "{o}");
        assert!(o["object"]["description"].is_null(), "{o}");
    }
    assert_eq!(f.events().len(), before, "a preview records nothing");

    // An approval previews exactly what it records.
    let r = f
        .http
        .post(&path, Some(&us), json!({"decision": "approve"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let previewed: Vec<Value> = r.json()["released"]
        .as_array()
        .expect("released")
        .iter()
        .map(|o| o["sha256"].clone())
        .collect();
    assert_eq!(f.events().len(), before, "a preview records nothing");
    // Refusals are the decision's own.
    let r = f.http.post(
        &path,
        Some(&us),
        json!({"decision": "approve", "recipients": {"parties": ["undof"]}}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "recipient_not_allowed"),
        "{}",
        r.body
    );
    let sy = f.cell.token("sy-liaison");
    let mine = f
        .http
        .post(&path, Some(&sy), json!({"decision": "approve"}));
    let missing = f.http.post(
        "/api/v1/intel/submissions/999999/decision/preview",
        Some(&sy),
        json!({"decision": "approve"}),
    );
    assert_eq!(mine.status, 403, "{}", mine.body);
    assert_eq!(
        (mine.status, mine.body.clone()),
        (missing.status, missing.body)
    );

    // The CLI says it is a dry run, and what each recipient receives.
    let out = common::cli(
        &f.server,
        &us,
        &["intel", "decide", &id.to_string(), "approve", "--dry-run"],
    );
    assert!(
        out.contains("dry run") && out.contains("nothing recorded"),
        "{out}"
    );
    assert!(out.contains(REPORT) && out.contains("sy"), "{out}");
    assert_eq!(f.events().len(), before, "a preview records nothing");

    let r = f.decide("us-supervisor", id, json!({"decision": "approve"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let d = f.decision(id).expect("recorded");
    assert_eq!(d["released_sha256"].as_array().expect("hashes"), &previewed);
}
