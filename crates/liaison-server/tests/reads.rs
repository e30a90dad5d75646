//! Reads that leak nothing: an operator's answers never depend on events it may not
//! read. A cell is given a random history; then, for one viewer (the observer, or a
//! member), the events it may not read are changed (their text) or more are appended,
//! and every read endpoint, the dry-run check, both exports, the SSE stream and the log
//! (entry bundles, receipts, the checkpoint) must answer it byte for byte as before.
//!
//! What every operator may know is left out, and named here: the record's size
//! (`/api/v1/cell`'s `log.size`, `/api/v1/log/status`'s `size`, the checkpoint's size),
//! and the leaf hashes of the events it may not read, with everything computed from
//! them: the withheld items of an entry bundle (`LSNH` and a leaf hash), a receipt's
//! inclusion proof and checkpoint, the checkpoint's root and signatures, and the hash
//! tiles (all of whose bytes are such hashes, so they are not read here). A leaf hash is
//! of a salted entry, so it tells nothing of the event but that it was recorded; a
//! changed event necessarily has another one. The cells' salts are seeded, so that two
//! cells given the same history have the same entries.
//!
//! The second part throws random query parameters and tile paths at the router: no
//! answer is a panic (500).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use liaison_core::charter::{
    Charter, OperatorRole, OperatorSpec, Party, PartyRole, Settings, Signatures,
};
use liaison_core::{Actor, Command, Timestamp, Viewer, can_see};
use liaison_log::tiles::{BundleItem, entry_bundle, parse_entry_bundle, withheld_item};
use liaison_server::ledger::LogSigner;
use liaison_server::{App, ManualClock, SeededSalts, router};
use liaison_store::{MemoryStore, Store};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tower::ServiceExt;

const PARTIES: [(&str, PartyRole, OperatorRole); 4] = [
    ("il", PartyRole::Member, OperatorRole::Liaison),
    ("sy", PartyRole::Member, OperatorRole::Liaison),
    ("us", PartyRole::Supervisor, OperatorRole::Supervisor),
    ("undof", PartyRole::Observer, OperatorRole::Observer),
];

/// The moment every run happens at (the clock stands still).
const NOW: i64 = 1_800_000_000;

fn charter() -> Charter {
    Charter {
        name: "Read cell".into(),
        parties: PARTIES
            .iter()
            .map(|(id, role, _)| Party {
                key: None,
                id: (*id).into(),
                name: id.to_uppercase(),
                role: *role,
                // Decided in process, unsigned: what is read is the subject here.
                signatures: Some(Signatures::Optional),
                witness: None,
                client_ca: None,
            })
            .collect(),
        operators: PARTIES
            .iter()
            .map(|(p, _, r)| OperatorSpec {
                name: format!("{p}-op"),
                party: (*p).into(),
                role: *r,
            })
            .collect(),
        settings: Settings::default(),
        log_key: None,
    }
}

/// One write of the history, by party `by` (an index into `PARTIES`); `text` is what
/// a run that changes the events the viewer may not read changes.
#[derive(Clone, Debug)]
enum Op {
    Message {
        by: usize,
        to: Vec<usize>,
    },
    Notify {
        by: usize,
        dx: i8,
        dy: i8,
        hours: u8,
    },
    Site {
        by: usize,
        dx: i8,
        dy: i8,
    },
    Incident {
        by: usize,
    },
    Intel {
        by: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4, proptest::collection::btree_set(0usize..4, 1..3))
            .prop_map(|(by, to)| message(by, to)),
        (0usize..2, -5i8..5, -5i8..5, 0u8..48).prop_map(|(by, dx, dy, hours)| Op::Notify {
            by,
            dx,
            dy,
            hours
        }),
        (0usize..4, -5i8..5, -5i8..5).prop_map(|(by, dx, dy)| Op::Site { by, dx, dy }),
        (0usize..4).prop_map(|by| Op::Incident { by }),
        (0usize..2).prop_map(|by| Op::Intel { by }),
    ]
}

/// A message from `by` to the others of `to` (to the supervisor if none is left).
fn message(by: usize, to: std::collections::BTreeSet<usize>) -> Op {
    let mut to: Vec<usize> = to.into_iter().filter(|p| *p != by).collect();
    if to.is_empty() {
        to.push(if by == 2 { 0 } else { 2 });
    }
    Op::Message { by, to }
}

/// Writes that only others may read, for each viewer: what may be appended to its
/// history. (The test checks that every event they record is one it may not read.)
fn hidden_op(viewer: usize) -> BoxedStrategy<Op> {
    if viewer == 3 {
        prop_oneof![
            (0usize..2, proptest::collection::btree_set(0usize..3, 1..3))
                .prop_map(|(by, to)| message(by, to)),
            // Away from every site of the history (within ±5 of the origin), whose
            // registrant, an observer's post included, is told of a conflict with it.
            (0usize..2, 20i8..30, 20i8..30, 0u8..48).prop_map(|(by, dx, dy, hours)| Op::Notify {
                by,
                dx,
                dy,
                hours
            }),
            (0usize..2).prop_map(|by| Op::Intel { by }),
        ]
        .boxed()
    } else {
        prop_oneof![
            Just(Op::Message { by: 0, to: vec![2] }),
            Just(Op::Message { by: 2, to: vec![0] }),
            Just(Op::Intel { by: 0 }),
        ]
        .boxed()
    }
}

fn at(secs: i64) -> String {
    liaison_api::time::format(Timestamp::from_secs(secs))
}

fn point(dx: i8, dy: i8) -> Value {
    json!({"type": "Point", "coordinates": [35.8 + f64::from(dx) * 0.01, 33.1 + f64::from(dy) * 0.01]})
}

struct Cell {
    rt: tokio::runtime::Runtime,
    app: App,
    tokens: BTreeMap<String, String>,
}

impl Cell {
    /// A new cell, approved, whose log key and tokens are `signer` and fixed ones, so
    /// that two cells given the same history are the same cell.
    fn new(signer: &LogSigner) -> Cell {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let store = Arc::new(MemoryStore::new());
        let clock = ManualClock::new(Timestamp::from_secs(NOW));
        let app = App::start_with_salts(
            store as Arc<dyn Store>,
            signer.clone(),
            Arc::new(clock),
            Arc::new(SeededSalts([7; 32])),
        )
        .expect("start");
        let tokens: BTreeMap<String, String> = PARTIES
            .iter()
            .map(|(p, _, _)| ((*p).to_string(), format!("lsn_reads-test-token-of-{p}")))
            .collect();
        let cmd = Command::CreateCell {
            charter: charter(),
            log_vkey: app.shared.ledger.read().vkey(),
            token_hashes: tokens
                .iter()
                .map(|(p, t)| (format!("{p}-op"), liaison_server::app::token_hash(t)))
                .collect(),
            keys: Vec::new(),
        };
        rt.block_on(app.command(Actor::System, cmd))
            .expect("create");
        let us = {
            let s = app.shared.state.read();
            Actor::of(&s, "us-op").expect("operator")
        };
        rt.block_on(app.command(us, Command::ApproveCell))
            .expect("approve");
        Cell { rt, app, tokens }
    }

    fn token(&self, party: usize) -> &str {
        &self.tokens[PARTIES[party].0]
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, Vec<u8>) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"));
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let req = req.body(body).expect("request");
        self.rt.block_on(async {
            let r = router(self.app.clone()).oneshot(req).await.expect("answer");
            let status = r.status().as_u16();
            let bytes = axum::body::to_bytes(r.into_body(), 64 << 20)
                .await
                .expect("body");
            (status, bytes.to_vec())
        })
    }

    /// Performs `op` with `text` as its free text; the events it recorded.
    fn perform(&self, k: usize, op: &Op, text: &str) -> std::ops::Range<u64> {
        let before = self.app.head();
        let (by, path, body) = match op {
            Op::Message { by, to } => (
                *by,
                "/api/v1/messages",
                json!({"to": to.iter().map(|p| PARTIES[*p].0).collect::<Vec<_>>(), "precedence": "routine", "subject": text, "body": text}),
            ),
            Op::Notify { by, dx, dy, hours } => {
                let start = NOW + 3600 * (24 + i64::from(*hours));
                (
                    *by,
                    "/api/v1/notifications",
                    json!({"type": "Feature", "geometry": point(*dx, *dy), "properties": {"kind": "exercise", "radius_m": 2000,
                        "start": at(start), "end": at(start + 7200), "forces": text}}),
                )
            }
            Op::Site { by, dx, dy } => (
                *by,
                "/api/v1/sites",
                json!({"type": "Feature", "geometry": point(*dx, *dy), "properties": {"category": "medical", "radius_m": 300, "name": format!("site {k}")}}),
            ),
            Op::Incident { by } => (
                *by,
                "/api/v1/incidents",
                json!({"category": "other", "when": at(NOW - 3600), "where": point(0, 0), "description": text}),
            ),
            Op::Intel { by } => (
                *by,
                "/api/v1/intel/submissions",
                json!({"bundle": {"objects": [{"type": "identity", "spec_version": "2.1",
                    "id": format!("identity--00000000-0000-4000-8000-{k:012}"),
                    "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": text}]},
                    "recipients": PARTIES.iter().map(|p| p.0).collect::<Vec<_>>()}),
            ),
        };
        let _ = self.request("POST", path, self.token(by), Some(&body));
        before..self.app.head()
    }

    fn invisible(&self, viewer: &Viewer, seqs: std::ops::Range<u64>) -> bool {
        let s = self.app.shared.state.read();
        seqs.into_iter().all(|q| {
            s.events
                .get(q as usize)
                .is_some_and(|e| !can_see(viewer, e))
        })
    }

    /// Every answer `viewer` gets, by name.
    fn answers(&self, party: usize) -> Answers {
        let token = self.token(party).to_string();
        let mut out = BTreeMap::new();
        let probe = json!({"type": "Feature", "geometry": point(0, 0),
            "properties": {"kind": "uav_flight", "radius_m": 50000, "start": at(NOW), "end": at(NOW + 7 * 86400)}});
        let bulk = json!({"type": "FeatureCollection", "features": [probe.clone(), probe.clone()]});
        let general = json!({"type": "Feature", "geometry": point(0, 0), "id": "general",
            "properties": {"kind": "uav_flight", "radius_m": 50000, "start": at(NOW), "end": at(NOW + 7 * 86400)}});
        let reads = [
            "/api/v1/me",
            "/api/v1/cell",
            "/api/v1/operators",
            "/api/v1/notifications",
            "/api/v1/conflicts",
            "/api/v1/obligations?all=true",
            "/api/v1/escalations",
            "/api/v1/intel/submissions",
            "/api/v1/sites",
            "/api/v1/zones",
            "/api/v1/deconfliction/export",
            "/api/v1/deconfliction/export.cot",
            "/api/v1/events/page?limit=1000",
            "/api/v1/incidents",
            "/api/v1/channel-health",
            "/api/v1/reports/review?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
            "/api/v1/log/status",
            "/api/v1/witnesses",
            "/taxii2/",
        ];
        for path in reads {
            out.insert(path.to_string(), self.request("GET", path, &token, None));
        }
        for (name, body) in [
            ("check", &probe),
            ("check bulk", &bulk),
            ("check general", &general),
        ] {
            out.insert(
                name.into(),
                self.request("POST", "/api/v1/deconfliction/check", &token, Some(body)),
            );
        }
        // Each item the lists name, one at a time.
        for (list, one) in [
            ("/api/v1/incidents", "/api/v1/incidents"),
            ("/api/v1/intel/submissions", "/api/v1/intel/submissions"),
        ] {
            let listed: Value = serde_json::from_slice(&out[list].1).unwrap_or(Value::Null);
            for item in listed.as_array().into_iter().flatten() {
                if let Some(id) = item["id"].as_u64() {
                    let path = format!("{one}/{id}");
                    let answer = self.request("GET", &path, &token, None);
                    out.insert(path, answer);
                }
            }
        }
        // Figures of the record's size, which every operator may know.
        for (path, pointer) in [
            ("/api/v1/cell", "/log/size"),
            ("/api/v1/log/status", "/size"),
        ] {
            if let Some((_, body)) = out.get_mut(path)
                && let Ok(mut v) = serde_json::from_slice::<Value>(body)
            {
                if let Some(x) = v.pointer_mut(pointer) {
                    *x = Value::Null;
                }
                *body = v.to_string().into_bytes();
            }
        }
        // The SSE stream from the start, up to as many frames as the page holds.
        let page: Value =
            serde_json::from_slice(&out["/api/v1/events/page?limit=1000"].1).expect("page");
        let n = page["events"].as_array().map_or(0, |e| {
            e.iter().filter(|e| e["seq"].as_u64() != Some(0)).count()
        });
        // The log up to the last event the viewer reads (those appended after it it may
        // not read): the entry bundle, a receipt for each event, the checkpoint.
        let end = page["events"]
            .as_array()
            .and_then(|e| e.last())
            .and_then(|e| e["seq"].as_u64())
            .map_or(1, |s| s + 1);
        assert!(end <= 256, "the histories fit in one bundle");
        let path = if end == 256 {
            "/log/tile/entries/000".to_string()
        } else {
            format!("/log/tile/entries/000.p/{end}")
        };
        let (status, body) = self.request("GET", &path, &token, None);
        out.insert("entries".into(), (status, masked_bundle(&body)));
        for seq in (0..end).chain([1 << 40]) {
            let path = format!("/api/v1/receipts/{seq}");
            let (status, body) = self.request("GET", &path, &token, None);
            let body = match serde_json::from_slice::<Value>(&body) {
                Ok(mut v) if status == 200 => {
                    for field in ["proof", "checkpoint", "text"] {
                        v[field] = Value::Null;
                    }
                    v.to_string().into_bytes()
                }
                _ => body,
            };
            out.insert(path, (status, body));
        }
        let (status, note) = self.request("GET", "/log/checkpoint", &token, None);
        let origin = String::from_utf8_lossy(&note)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        out.insert("/log/checkpoint".into(), (status, origin.into_bytes()));
        // The stream, whose frames record deliveries, after the log and just before the
        // messages' listing.
        out.insert("sse".into(), (200, self.sse(&token, n)));
        // The deliveries its frames record are gathered for 25 ms, then committed: the
        // listing reads after them, in every run alike.
        loop {
            let head = self.app.head();
            std::thread::sleep(std::time::Duration::from_millis(150));
            if self.app.head() == head {
                break;
            }
        }
        // Last: listing messages records their delivery.
        out.insert(
            "/api/v1/messages".into(),
            self.request("GET", "/api/v1/messages?limit=500", &token, None),
        );
        out
    }

    /// The SSE stream from the event after the first (`after=0`), read until it has
    /// sent `frames` events.
    fn sse(&self, token: &str, frames: usize) -> Vec<u8> {
        let req = Request::builder()
            .uri("/api/v1/events?after=0")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        self.rt.block_on(async {
            let r = router(self.app.clone()).oneshot(req).await.expect("answer");
            assert_eq!(r.status(), StatusCode::OK);
            let mut body = r.into_body().into_data_stream();
            let mut got = Vec::new();
            let count = |b: &[u8]| {
                b.windows(2).filter(|w| w == b"\n\n").count()
                    - b.windows(13).filter(|w| w == b":keep-alive\n\n").count()
            };
            // A generous bound only against a hang: the frames are all committed.
            let deadline = std::time::Duration::from_secs(60);
            while count(&got) < frames {
                use futures::StreamExt;
                match tokio::time::timeout(deadline, body.next()).await {
                    Ok(Some(Ok(chunk))) => got.extend_from_slice(&chunk),
                    other => panic!("the stream ended early: {other:?}"),
                }
            }
            got
        })
    }
}

/// An entry bundle with the leaf hash of every withheld entry blanked: the items it
/// gives in full, and where it withholds one.
fn masked_bundle(bundle: &[u8]) -> Vec<u8> {
    let items = parse_entry_bundle(bundle).expect("an entry bundle");
    let items: Vec<Vec<u8>> = items
        .iter()
        .map(|i| match BundleItem::of(i) {
            BundleItem::Withheld(_) => withheld_item(&[0; 32]),
            BundleItem::Entry(e) => e.to_vec(),
        })
        .collect();
    let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    entry_bundle(&refs).expect("bundle")
}

/// Each read's status and body, by what was read.
type Answers = BTreeMap<String, (u16, Vec<u8>)>;

fn viewer_of(party: usize) -> Viewer {
    Viewer {
        party: PARTIES[party].0.into(),
        party_role: PARTIES[party].1,
        operator: Some(format!("{}-op", PARTIES[party].0)),
    }
}

/// Runs `history` then `extra` on a new cell, each op's text `text(k, op's events
/// invisible before)`; returns the viewer's answers and which ops it could not read.
fn run(
    signer: &LogSigner,
    party: usize,
    history: &[Op],
    extra: &[Op],
    change: Option<&[bool]>,
) -> (Answers, Vec<bool>) {
    let cell = Cell::new(signer);
    let viewer = viewer_of(party);
    let mut hidden = Vec::new();
    for (k, op) in history.iter().enumerate() {
        let changed = change.is_some_and(|c| c[k]);
        let text = if changed {
            format!("changed secret {k} אחר")
        } else {
            format!("text {k}")
        };
        let seqs = cell.perform(k, op, &text);
        hidden.push(cell.invisible(&viewer, seqs));
    }
    for (k, op) in extra.iter().enumerate() {
        let seqs = cell.perform(1000 + k, op, &format!("appended {k}"));
        assert!(
            !seqs.is_empty() && cell.invisible(&viewer, seqs.clone()),
            "the premise: {op:?} records only what {} may not read ({seqs:?})",
            PARTIES[party].0
        );
    }
    let answers = cell.answers(party);
    let size = cell.app.head();
    let (status, bundle) = cell.request(
        "GET",
        &format!("/log/tile/entries/000.p/{size}"),
        cell.token(party),
        None,
    );
    assert_eq!(status, 200);
    let items = parse_entry_bundle(&bundle).expect("bundle");
    assert_eq!(items.len() as u64, size);
    for (seq, item) in items.iter().enumerate() {
        let withheld = matches!(BundleItem::of(item), BundleItem::Withheld(_));
        assert_eq!(
            withheld,
            cell.invisible(&viewer, seq as u64..seq as u64 + 1),
            "entry {seq}: withheld exactly when {} may not read its event",
            PARTIES[party].0
        );
    }
    for (path, (status, body)) in &answers {
        // A receipt is for an event the viewer may read, and a 404 for any other.
        let receipt = path
            .strip_prefix("/api/v1/receipts/")
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(seq) = receipt {
            let readable = seq < size && !cell.invisible(&viewer, seq..seq + 1);
            assert!(seq < size || seq == 1 << 40, "{path}");
            assert_eq!(*status, if readable { 200 } else { 404 }, "{path}");
            continue;
        }
        assert!(
            *status == 200 || path.starts_with("/taxii2"),
            "{path}: {status} {}",
            String::from_utf8_lossy(body)
        );
    }
    (answers, hidden)
}

fn same(a: &Answers, b: &Answers, what: &str) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: the same reads"
    );
    for (k, (status, body)) in a {
        let (s2, b2) = &b[k];
        assert!(
            status == s2 && body == b2,
            "{what}: {k} moved:\n{status} {}\n{s2} {}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(b2)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Changing what the viewer may not read, or appending more of it, moves none of
    /// its answers.
    #[test]
    fn a_viewer_s_answers_do_not_depend_on_what_it_may_not_read(
        party in prop_oneof![Just(3usize), Just(1usize)],
        history in proptest::collection::vec(op(), 0..10),
        seed in any::<u64>(),
    ) {
        let extra: Vec<Op> = {
            use proptest::strategy::ValueTree;
            use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
            let mut runner = TestRunner::new_with_rng(
                Config::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &{
                    let mut s = [0u8; 32];
                    s[..8].copy_from_slice(&seed.to_le_bytes());
                    s
                }),
            );
            proptest::collection::vec(hidden_op(party), 1..5)
                .new_tree(&mut runner)
                .expect("tree")
                .current()
        };
        let signer = LogSigner::generate("reads.liaison/cell").expect("log key");
        let (base, hidden) = run(&signer, party, &history, &[], None);
        let (changed, _) = run(&signer, party, &history, &[], Some(&hidden));
        same(&base, &changed, "events it may not read changed");
        let (appended, _) = run(&signer, party, &history, &extra, None);
        same(&base, &appended, "events it may not read appended");
    }
}

/// A number as a hostile caller writes one: the edges of every integer type, signs,
/// fractions, exponents, and no number at all.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..3000).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just(u64::MAX.to_string()),
        Just((u64::MAX - 1).to_string()),
        Just("18446744073709551616".to_string()),
        Just((i64::MAX as u64 + 1).to_string()),
        Just(usize::MAX.to_string()),
        Just("-0".to_string()),
        Just("1e3".to_string()),
        Just("0x10".to_string()),
        Just("1.5".to_string()),
        Just(String::new()),
        "[a-z%+ ]{1,6}",
        "[0-9]{20,40}",
    ]
}

fn query(params: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::collection::vec((proptest::sample::select(params), number()), 0..4).prop_map(|kv| {
        kv.iter()
            .map(|(k, v)| format!("{k}={}", v.replace('%', "%25").replace(' ', "%20")))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// A list endpoint and its query.
fn list_request() -> impl Strategy<Value = String> {
    const PAGED: &[&str] = &["after", "limit"];
    prop_oneof![
        query(PAGED).prop_map(|q| format!("/api/v1/events/page?{q}")),
        query(&["after"]).prop_map(|q| format!("/api/v1/events?{q}")),
        query(&["after", "limit", "box", "emergency"])
            .prop_map(|q| format!("/api/v1/messages?{q}")),
        query(&["after"]).prop_map(|q| format!("/api/v1/escalations?{q}")),
        query(&["all"]).prop_map(|q| format!("/api/v1/obligations?{q}")),
        query(&["status"]).prop_map(|q| format!("/api/v1/incidents?{q}")),
        query(&["state"]).prop_map(|q| format!("/api/v1/intel/submissions?{q}")),
        query(PAGED).prop_map(|q| format!("/api/v1/sites?{q}")),
        query(PAGED).prop_map(|q| format!("/api/v1/notifications?{q}")),
        query(PAGED).prop_map(|q| format!("/api/v1/conflicts?{q}")),
        query(&["from", "to"]).prop_map(|q| format!("/api/v1/reports/review?{q}")),
        number().prop_map(|n| format!("/api/v1/events/{n}")),
        number().prop_map(|n| format!("/api/v1/receipts/{n}")),
        number().prop_map(|n| format!("/api/v1/sites/{n}")),
        number().prop_map(|n| format!("/api/v1/messages/{n}")),
        number().prop_map(|n| format!("/api/v1/incidents/{n}")),
        number().prop_map(|n| format!("/api/v1/intel/submissions/{n}")),
    ]
}

/// A tile path: mostly of the right shape (digit groups, `x` prefixes, a width), with
/// the edges of the index's range.
fn tile_path() -> impl Strategy<Value = String> {
    let group = prop_oneof![
        "[0-9]{3}",
        Just("999".to_string()),
        Just("000".to_string()),
        "[0-9x]{0,5}",
    ];
    let head = prop_oneof![
        "[0-9]".prop_map(String::from),
        Just("entries".to_string()),
        "[0-9]{2,3}",
        Just(String::new()),
    ];
    let width = prop_oneof![
        Just(String::new()),
        (0u32..300).prop_map(|w| format!(".p/{w}")),
        "\\.p/[0-9a-z]{0,4}",
    ];
    (head, proptest::collection::vec(group, 0..9), width).prop_map(|(h, groups, w)| {
        let n = groups.len();
        let idx: Vec<String> = groups
            .into_iter()
            .enumerate()
            .map(|(i, g)| if i + 1 < n { format!("x{g}") } else { g })
            .collect();
        format!("/log/tile/{h}/{}{w}", idx.join("/"))
    })
}

/// The tile path that made the server panic: an index whose tile ends past 2^64.
#[test]
fn a_tile_past_the_end_of_the_index_range_is_not_found() {
    let cell = Cell::new(&LogSigner::generate("reads.liaison/cell").expect("log key"));
    let token = cell.token(0).to_string();
    for path in [
        "/log/tile/0/x072/x057/x594/x037/x927/935",
        "/log/tile/7/x072/x057/x594/x037/x927/935",
        "/log/tile/0/x072/x057/x594/x037/x927/935.p/255",
        "/log/tile/entries/x072/x057/x594/x037/x927/935",
        "/log/tile/0/x999/x999/x999/x999/x999/999",
    ] {
        let (status, body) = cell.request("GET", path, &token, None);
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// No list parameter and no tile path makes the server panic or answer past a
    /// page: a 2xx, or a 4xx saying what is wrong.
    #[test]
    fn list_parameters_and_tile_paths_never_panic(
        reqs in proptest::collection::vec(prop_oneof![list_request(), tile_path()], 1..24),
        party in 0usize..4,
    ) {
        static CELL: std::sync::OnceLock<Cell> = std::sync::OnceLock::new();
        let cell = CELL.get_or_init(|| {
            let cell = Cell::new(&LogSigner::generate("reads.liaison/cell").expect("log key"));
            let history = [
                Op::Message { by: 0, to: vec![1] },
                Op::Notify { by: 1, dx: 0, dy: 0, hours: 1 },
                Op::Site { by: 2, dx: 1, dy: 1 },
                Op::Incident { by: 0 },
                Op::Intel { by: 1 },
            ];
            for (k, op) in history.iter().enumerate() {
                cell.perform(k, op, "fuzz");
            }
            cell
        });
        for path in &reqs {
            let Ok(uri) = path.parse::<axum::http::Uri>() else { continue };
            let req = Request::builder()
                .uri(uri)
                .header("authorization", format!("Bearer {}", cell.token(party)))
                .body(Body::empty())
                .expect("request");
            let status = cell.rt.block_on(async {
                router(cell.app.clone()).oneshot(req).await.expect("answer").status()
            });
            prop_assert!(
                status.is_success() || status.is_client_error(),
                "{path}: {status}"
            );
        }
    }
}
