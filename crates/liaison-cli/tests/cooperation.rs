//! Cooperation proposals and sanctions screening through the real binary over HTTP:
//! filing, screening and its review, answers, agreement, commitments and a missed
//! milestone, list reloads, visibility per role, and bad input.

mod common;

use base64::Engine;
use common::{Cell, Http, cli, repo_root, time_from_now};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("crates/screening/fixtures").join(path)).expect("fixture")
}

fn file(name: &str, bytes: &[u8]) -> Value {
    json!({"name": name, "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes)})
}

fn ofac() -> Value {
    json!({"format": "ofac-csv", "files": [
        file("sdn.csv", &fixture("ofac/sdn.csv")),
        file("alt.csv", &fixture("ofac/alt.csv")),
        file("add.csv", &fixture("ofac/add.csv")),
    ]})
}

/// The demo charter with a third member party (Jordan), not involved in the proposals
/// filed here, and with `extra` settings.
fn charter(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("examples/demo.toml")).expect("demo");
    let text = text.replacen(
        "[[parties]]",
        "[[parties]]\nid = \"jo\"\nname = \"Jordan\"\nrole = \"member\"\n[[operators]]\nname = \"jo-liaison\"\nparty = \"jo\"\nrole = \"liaison\"\n[[parties]]",
        1,
    );
    let text = text.replacen("[settings]", &format!("[settings]\n{extra}"), 1);
    let p = dir.join("coop.toml");
    std::fs::write(&p, text).expect("write");
    p
}

/// A water project at Majdal Shams, a Druze town on the Golan, with one counterparty
/// the OFAC list names (written in Arabic and Latin letters) and one it does not.
fn proposal() -> Value {
    json!({
        "title": "Spring water for Majdal Shams",
        "description": "A pipeline from the Banias springs to the town's reservoir.",
        "language": "en",
        "translations": [{"language": "ar", "title": "مياه الينابيع لمجدل شمس", "by": "il translation service"}],
        "sector": "water",
        "parties": ["il", "sy"],
        "counterparties": [
            {"kind": "organisation", "name": "Syriatel Mobile Telecom SAL",
             "names": {"ar": "سيريتل موبايل تيليكوم"}, "country": "SY", "identifiers": ["CR 12345"]},
            {"kind": "organisation", "name": "Golan Water Engineering Ltd", "country": "IL"}
        ],
        "area": {"type": "Polygon", "coordinates": [[[35.76, 33.26], [35.78, 33.26], [35.78, 33.28], [35.76, 33.28], [35.76, 33.26]]]},
        "value": 1200000,
        "currency": "USD",
        "documents": ["ab".repeat(32)]
    })
}

fn events_of(http: &Http, token: &str) -> Vec<Value> {
    common::all_events(http, token)
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_string))
        .collect()
}

fn count(events: &[Value], kind: &str) -> usize {
    kinds(events).iter().filter(|k| *k == kind).count()
}

#[test]
fn a_proposal_from_filing_through_screening_answers_commitments_and_a_missed_milestone() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
    );
    cell.approve(&http);
    // The town as a protected site: the project's area touches it.
    let site = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.768, 33.27]},
        "properties": {"category": "minority_community", "radius_m": 2000, "names": {"en": "Majdal Shams"}}});
    assert_eq!(http.post("/api/v1/sites", Some(&sy), site).status, 200);
    let r = http.post("/api/v1/screening/lists", Some(&us), ofac());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["list"]["source"], "ofac-sdn");

    let r = http.post("/api/v1/cooperation/proposals", Some(&il), proposal());
    assert_eq!(r.status, 200, "{}", r.body);
    let filed = r.json();
    let id = filed["id"].as_u64().expect("id");
    assert!(filed["receipt"]["checkpoint"].is_string());
    assert_eq!(
        filed["receipt"]["index"], id,
        "the receipt is the proposal's"
    );
    assert_eq!(filed["screening"]["status"], "pending", "{filed}");
    let matches = filed["screening"]["matches"].as_array().expect("matches");
    assert!(
        !matches.is_empty(),
        "the listed company is matched: {filed}"
    );
    for m in matches {
        assert_eq!(m["counterparty"], "Syriatel Mobile Telecom SAL", "{m}");
        assert_eq!(m["list"], "ofac-sdn");
        assert_eq!(m["entry_id"], "10024");
        assert!(m["score"].as_f64().is_some_and(|s| s > 0.0 && s <= 1.0));
        assert!(m["why"].as_str().is_some_and(|w| !w.is_empty()), "{m}");
        assert!(m["listed_name"].is_string() && m["our_name"].is_string());
    }
    let sites = filed["conflicts"]["sites"].as_array().expect("sites");
    assert_eq!(sites.len(), 1, "the area touches the town: {filed}");
    assert!(
        sites[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Majdal Shams")),
        "{filed}"
    );

    // The other party accepts; a match not yet reviewed keeps the proposal open.
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/answer"),
        Some(&sy),
        json!({"accept": true, "text": "agreed in principle"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let p = http
        .get(&format!("/api/v1/cooperation/proposals/{id}"), Some(&il))
        .json();
    assert_eq!(p["state"], "open", "{p}");
    assert_eq!(p["screening_clear"], false);
    // The supervisor holds the match: still no agreement, and no commitment.
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/matches/0/review"),
        Some(&us),
        json!({"outcome": "hold", "reason": "same company as OFAC 10024? asking for its registration"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/commitments"),
        Some(&sy),
        json!({"what": "lay the pipe", "milestones": [{"what": "pipes delivered", "due": time_from_now(3600)}]}),
    );
    assert_eq!((r.status, r.code().as_str()), (409, "invalid_state"));
    // Cleared after review: the last clearance agrees the proposal in the same write.
    let n = matches.len();
    for i in 0..n {
        let r = http.post(
            &format!("/api/v1/cooperation/proposals/{id}/matches/{i}/review"),
            Some(&us),
            json!({"outcome": "clear", "reason": "registration SY-2209 differs: another company"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let p = http
        .get(&format!("/api/v1/cooperation/proposals/{id}"), Some(&sy))
        .json();
    assert_eq!(p["state"], "agreed", "{p}");
    assert_eq!(p["screening_clear"], true);
    assert!(p["agreed_at"].is_string());
    assert_eq!(count(&events_of(&http, &us), "proposal_agreed"), 1);

    // A milestone due before the proposal was filed is refused, recording nothing.
    let before = http.head(&us);
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/commitments"),
        Some(&sy),
        json!({"what": "lay the pipe", "milestones": [{"what": "survey", "due": time_from_now(-3600)}]}),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "milestone_before_filing"),
        "{}",
        r.body
    );
    assert_eq!(http.head(&us), before);

    // Syria commits: one milestone due in two seconds (missed), one in an hour (met).
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/commitments"),
        Some(&sy),
        json!({"what": "lay the pipe from the springs", "milestones": [
            {"what": "pipes delivered", "due": time_from_now(2)},
            {"what": "trench dug", "due": time_from_now(3600)}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let commitment = r.json()["seqs"][0].as_u64().expect("commitment");
    let milestone_escalations = || -> Vec<Value> {
        http.get("/api/v1/escalations", Some(&il))
            .json()
            .as_array()
            .expect("escalations")
            .iter()
            .filter(|e| e["duty"] == "meet_milestone")
            .cloned()
            .collect()
    };
    let start = Instant::now();
    while milestone_escalations().is_empty() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let first = milestone_escalations();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["subject"], format!("{commitment}/0"));
    assert_eq!(first[0]["party"], "sy");
    assert_eq!(first[0]["level"], 1);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(milestone_escalations().len(), 1, "escalated exactly once");

    // A progress report with a document meets the second milestone.
    let r = http.post(
        &format!("/api/v1/cooperation/commitments/{commitment}/reports"),
        Some(&sy),
        json!({"milestone": 1, "text": "trench dug along the road", "documents": ["cd".repeat(32)]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Only the committed party reports on its commitment.
    let r = http.post(
        &format!("/api/v1/cooperation/commitments/{commitment}/reports"),
        Some(&il),
        json!({"text": "we saw it"}),
    );
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let p = http
        .get(&format!("/api/v1/cooperation/proposals/{id}"), Some(&il))
        .json();
    let ms = &p["commitments"][0]["milestones"];
    assert_eq!(ms[0]["escalation_level"], 1, "{p}");
    assert!(ms[0]["met_at"].is_null());
    assert!(ms[1]["met_at"].is_string(), "{p}");
    assert_eq!(ms[1]["escalation_level"], 0);
    assert_eq!(
        p["commitments"][0]["reports"][0]["documents"][0],
        "cd".repeat(32)
    );

    // The same story as a person reads it.
    let shown = cli(&server, &il, &["coop", "show", &id.to_string()]);
    assert!(
        shown.contains("agreed") && shown.contains("Spring water"),
        "{shown}"
    );
    assert!(shown.contains("escalated (level 1)"), "{shown}");
    let listed = cli(&server, &sy, &["coop", "list"]);
    assert!(listed.contains(&format!("{id} [water] agreed")), "{listed}");

    // The review report counts proposals by sector and state, the screening and its
    // outcomes, and the overdue commitment.
    let out = cell.tmp.path().join("report");
    let (from, to) = (time_from_now(-3600), time_from_now(3600));
    cli(
        &server,
        &us,
        &[
            "report",
            "--from",
            &from,
            "--to",
            &to,
            "--out",
            out.to_str().expect("utf8"),
        ],
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("review.json")).expect("json"))
            .expect("json");
    let c = &report["cooperation"];
    assert_eq!(c["proposals"]["water"]["agreed"], 1, "{c}");
    assert_eq!(c["screening_matches"], n, "{c}");
    assert_eq!(c["screening_reviews"]["hold"], 1, "{c}");
    assert_eq!(c["screening_reviews"]["clear"], n, "{c}");
    assert_eq!(c["lists_loaded"]["ofac-sdn"], 1, "{c}");
    let overdue = c["overdue_milestones"].as_array().expect("overdue");
    assert_eq!(overdue.len(), 1, "{c}");
    assert_eq!(overdue[0]["what"], "pipes delivered");
    assert_eq!(overdue[0]["escalation_level"], 1);
    let md = std::fs::read_to_string(out.join("review.md")).expect("md");
    assert!(
        md.contains("## Overdue commitments") && md.contains("pipes delivered"),
        "{md}"
    );
}

#[test]
fn a_list_reload_that_newly_matches_a_counterparty_blocks_its_proposal() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, us, undof) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("us-supervisor"),
        cell.token("undof-observer"),
    );
    cell.approve(&http);
    // The list as first loaded lacks Cham Wings; the reload adds it.
    let dir = cell.tmp.path().join("lists");
    std::fs::create_dir_all(dir.join("old")).expect("dir");
    let sdn = String::from_utf8(fixture("ofac/sdn.csv")).expect("utf8");
    let old: String = sdn
        .split_inclusive('\n')
        .filter(|l| !l.contains("CHAM WINGS"))
        .collect();
    std::fs::write(dir.join("old/sdn.csv"), old).expect("write");
    std::fs::write(dir.join("sdn.csv"), &sdn).expect("write");
    let load = |path: &std::path::Path| {
        cli(
            &server,
            &us,
            &[
                "screening",
                "load",
                "--format",
                "ofac-csv",
                path.to_str().expect("utf8"),
            ],
        )
    };
    let out = load(&dir.join("old/sdn.csv"));
    assert!(out.contains("ofac-sdn"), "{out}");

    let mut body = proposal();
    body["counterparties"] =
        json!([{"kind": "organisation", "name": "Cham Wings Airlines", "country": "SY"}]);
    body["area"] = Value::Null;
    let r = http.post("/api/v1/cooperation/proposals", Some(&il), body);
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    assert_eq!(r.json()["screening"]["status"], "clear", "{}", r.body);

    // A name check finds nothing yet, and records nothing.
    let before = http.head(&us);
    let r = http.post(
        "/api/v1/screening/check",
        Some(&sy),
        json!({"name": "Cham Wings", "kind": "organisation", "country": "SY"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["matches"], json!([]));

    let out = load(&dir.join("sdn.csv"));
    assert!(
        out.contains(&format!("proposal {id}: 1 new matches"))
            || out.contains(&format!("proposal {id}:")),
        "{out}"
    );
    assert_ne!(http.head(&us), before);
    let p = http
        .get(&format!("/api/v1/cooperation/proposals/{id}"), Some(&il))
        .json();
    assert_eq!(p["screening_clear"], false, "{p}");
    assert_eq!(p["screening"]["matches"][0]["entry_id"], "10027", "{p}");
    assert_eq!(p["screening"]["matches"][0]["status"], "pending");
    // Syria's acceptance does not agree it while the match stands.
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/answer"),
        Some(&sy),
        json!({"accept": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let p = http
        .get(&format!("/api/v1/cooperation/proposals/{id}"), Some(&sy))
        .json();
    assert_eq!(p["state"], "open", "{p}");
    assert!(p.get("screening").is_none(), "not the filer: {p}");

    // The check now finds it, for a member party and for the supervisor, recording nothing.
    let size = http.head(&us);
    for token in [&sy, &us] {
        let r = http.post(
            "/api/v1/screening/check",
            Some(token),
            json!({"name": "شام وينغز", "kind": "organisation"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let _ = r;
        let r = http.post(
            "/api/v1/screening/check",
            Some(token),
            json!({"name": "Cham Wings", "kind": "organisation", "country": "SY"}),
        );
        assert_eq!(r.json()["matches"][0]["entry_id"], "10027", "{}", r.body);
        assert_eq!(r.json()["matches"][0]["counterparty"], "Cham Wings");
    }
    let r = http.post(
        "/api/v1/screening/check",
        Some(&undof),
        json!({"name": "Cham Wings"}),
    );
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    assert_eq!(http.head(&us), size, "checks record nothing");

    // A restart rebuilds the screener from the stored files: the same answer.
    drop(server);
    let server = cell.serve();
    let http = Http::new(&server.url);
    let r = http.post(
        "/api/v1/screening/check",
        Some(&sy),
        json!({"name": "Cham Wings", "kind": "organisation", "country": "SY"}),
    );
    assert_eq!(r.json()["matches"][0]["entry_id"], "10027", "{}", r.body);
    // The supervisor rejects the match: the proposal ends.
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/matches/0/review"),
        Some(&us),
        json!({"outcome": "reject", "reason": "the designated airline itself"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let p = http
        .get(&format!("/api/v1/cooperation/proposals/{id}"), Some(&sy))
        .json();
    assert_eq!(p["state"], "rejected", "{p}");
}

#[test]
fn each_step_is_visible_to_the_parties_involved_and_screening_to_the_filer_and_supervisor() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cell = Cell::init_with(&charter(tmp.path(), ""));
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, sy, jo, us, undof) = (
        cell.token("il-liaison"),
        cell.token("sy-liaison"),
        cell.token("jo-liaison"),
        cell.token("us-supervisor"),
        cell.token("undof-observer"),
    );
    cell.approve(&http);
    assert_eq!(
        http.post("/api/v1/screening/lists", Some(&us), ofac())
            .status,
        200
    );
    let r = http.post("/api/v1/cooperation/proposals", Some(&il), proposal());
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    let n = r.json()["screening"]["matches"]
        .as_array()
        .map(Vec::len)
        .expect("matches");
    assert!(n > 0);
    // Answer, review (every match cleared), commitment, report: one of each step.
    assert_eq!(
        http.post(
            &format!("/api/v1/cooperation/proposals/{id}/answer"),
            Some(&sy),
            json!({"accept": true})
        )
        .status,
        200
    );
    for i in 0..n {
        let r = http.post(
            &format!("/api/v1/cooperation/proposals/{id}/matches/{i}/review"),
            Some(&us),
            json!({"outcome": "clear"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/commitments"),
        Some(&il),
        json!({"what": "fund the pumps", "milestones": [{"what": "pumps bought", "due": time_from_now(7200)}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json()["seqs"][0].as_u64().expect("commitment");
    let r = http.post(
        &format!("/api/v1/cooperation/commitments/{c}/reports"),
        Some(&il),
        json!({"milestone": 0, "text": "bought"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let steps = [
        "proposal_filed",
        "proposal_answered",
        "proposal_agreed",
        "commitment_made",
        "progress_reported",
    ];
    let screening = ["screening_matched", "screening_reviewed"];
    // (token, reads the proposal and its steps, reads its screening)
    let roles = [
        ("filing member", &il, true, true),
        ("involved member", &sy, true, false),
        ("member not involved", &jo, false, false),
        ("observer", &undof, false, false),
        ("supervisor", &us, true, true),
    ];
    for (role, token, reads, screens) in roles {
        let ev = events_of(&http, token);
        for k in steps {
            assert_eq!(count(&ev, k) > 0, reads, "{role} and {k}");
        }
        assert_eq!(count(&ev, "screening_matched") > 0, screens, "{role}");
        assert_eq!(
            count(&ev, "screening_reviewed"),
            if screens { n } else { 0 },
            "{role}"
        );
        let r = http.get(&format!("/api/v1/cooperation/proposals/{id}"), Some(token));
        if reads {
            assert_eq!(r.status, 200, "{role}: {}", r.body);
            let p = r.json();
            assert_eq!(p.get("screening").is_some(), screens, "{role}: {p}");
            assert_eq!(
                p["commitments"][0]["reports"][0]["text"], "bought",
                "{role}"
            );
        } else {
            assert_eq!((r.status, r.code().as_str()), (404, "not_found"), "{role}");
        }
        let list = http
            .get("/api/v1/cooperation/proposals", Some(token))
            .json();
        assert_eq!(
            list["proposals"].as_array().map(Vec::len),
            Some(usize::from(reads)),
            "{role}"
        );
        // Nobody learns of a proposal through a write it may not make.
        if !reads {
            let r = http.post(
                &format!("/api/v1/cooperation/proposals/{id}/answer"),
                Some(token),
                json!({"accept": true}),
            );
            assert_eq!((r.status, r.code().as_str()), (404, "not_found"), "{role}");
        }
    }
    let _ = screening;
    // Who may file: not an observer; a member only with itself among the parties.
    let r = http.post("/api/v1/cooperation/proposals", Some(&undof), proposal());
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "{}",
        r.body
    );
    let r = http.post("/api/v1/cooperation/proposals", Some(&jo), proposal());
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "invalid_input"),
        "{}",
        r.body
    );
    // Only the supervisor reviews matches and loads lists.
    let r = http.post(
        &format!("/api/v1/cooperation/proposals/{id}/matches/0/review"),
        Some(&il),
        json!({"outcome": "clear"}),
    );
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = http.post("/api/v1/screening/lists", Some(&il), ofac());
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    // The supervisor may file for members, not being one of the parties itself.
    let r = http.post("/api/v1/cooperation/proposals", Some(&us), proposal());
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn observers_read_proposals_when_the_charter_says_so_but_never_their_screening() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cell = Cell::init_with(&charter(tmp.path(), "cooperation_observers = true"));
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, us, undof) = (
        cell.token("il-liaison"),
        cell.token("us-supervisor"),
        cell.token("undof-observer"),
    );
    cell.approve(&http);
    assert_eq!(
        http.post("/api/v1/screening/lists", Some(&us), ofac())
            .status,
        200
    );
    let r = http.post("/api/v1/cooperation/proposals", Some(&il), proposal());
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["id"].as_u64().expect("id");
    let p = http
        .get(&format!("/api/v1/cooperation/proposals/{id}"), Some(&undof))
        .json();
    assert_eq!(p["title"], "Spring water for Majdal Shams", "{p}");
    assert!(p.get("screening").is_none(), "{p}");
    let ev = events_of(&http, &undof);
    assert_eq!(count(&ev, "proposal_filed"), 1);
    assert_eq!(count(&ev, "screening_matched"), 0);
}

#[test]
fn bad_input_is_refused_with_its_code_and_nothing_is_recorded() {
    let cell = Cell::init();
    let server = cell.serve();
    let http = Http::new(&server.url);
    let (il, us) = (cell.token("il-liaison"), cell.token("us-supervisor"));
    cell.approve(&http);
    let un = fixture("un/consolidated.xml");
    let r = http.post(
        "/api/v1/screening/lists",
        Some(&us),
        json!({"format": "un-xml", "files": [file("consolidated.xml", &un)]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let lists = http.get("/api/v1/screening/lists", Some(&us)).json();
    let size = http.head(&us);
    let refused = |path: &str, body: Value, status: u16, code: &str, says: &str| {
        let r = http.post(
            path,
            Some(if path.contains("lists") { &us } else { &il }),
            body,
        );
        assert_eq!((r.status, r.code().as_str()), (status, code), "{}", r.body);
        assert!(r.body.contains(says), "{says:?} in {}", r.body);
        assert_eq!(http.head(&us), size, "nothing recorded: {}", r.body);
    };
    // A counterparty with no name.
    let mut p = proposal();
    p["counterparties"] = json!([{"kind": "person", "country": "SY"}]);
    refused(
        "/api/v1/cooperation/proposals",
        p,
        422,
        "invalid_input",
        "counterparties[0].name",
    );
    // An area that is not valid GeoJSON.
    let mut p = proposal();
    p["area"] = json!({"type": "Polygon", "coordinates": [[[35.76, 33.26], [35.78, 33.26]]]});
    refused(
        "/api/v1/cooperation/proposals",
        p,
        422,
        "invalid_input",
        "area",
    );
    // A list file not in the format it claims, with the file and line named.
    refused(
        "/api/v1/screening/lists",
        json!({"format": "ofac-csv", "files": [file("sdn.csv", b"\"1\",\"X\"\r\nnot csv at all\r\n")]}),
        422,
        "list_file_invalid",
        "sdn.csv",
    );
    // A truncated XML file.
    refused(
        "/api/v1/screening/lists",
        json!({"format": "un-xml", "files": [file("consolidated.xml", &un[..un.len() / 2])]}),
        422,
        "list_file_invalid",
        "consolidated.xml",
    );
    // A publication date other than the one stated.
    refused(
        "/api/v1/screening/lists",
        json!({"format": "un-xml", "published": "2024-01-01", "files": [file("consolidated.xml", &un)]}),
        422,
        "list_file_invalid",
        "2024-01-01",
    );
    // The list loaded before stays in force, and still matches.
    assert_eq!(http.get("/api/v1/screening/lists", Some(&us)).json(), lists);
    let r = http.post(
        "/api/v1/screening/check",
        Some(&il),
        json!({"name": "Rami Makhlouf", "kind": "person"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json()["matches"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["list"] == "un-sc")),
        "{}",
        r.body
    );
}
