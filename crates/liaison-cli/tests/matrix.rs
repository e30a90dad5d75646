//! The adversarial matrix: every write endpoint of the JSON API, tried by every operator
//! of the demo charter, on objects owned by each party. Exactly the combinations the
//! ownership table allows succeed; every other is refused with its stable code and
//! records nothing. The table is also rendered as the ownership section of
//! `docs/security.md`, which a test keeps current.
//!
//! Each object is made afresh for each attempt, so no attempt's outcome depends on
//! another's; attempts that the table allows run last for each object kind, and what
//! they change is put back before the next attempt.

mod common;

use common::{Cell, Http, Resp, Server, in_hours};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// What an attempt must come to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    /// 403 `forbidden`.
    Forbidden,
    /// 409 `invalid_state`: the owner itself uses another endpoint for this.
    InvalidState,
    /// 404 `not_found`: the caller may not read the object, so it is not told it exists.
    NotFound,
    /// 401 `unauthorized`: the caller is the suspended operator itself.
    Unauthorized,
}

impl Outcome {
    fn wire(self) -> (u16, &'static str) {
        match self {
            Outcome::Allowed => (200, ""),
            Outcome::Forbidden => (403, "forbidden"),
            Outcome::InvalidState => (409, "invalid_state"),
            Outcome::NotFound => (404, "not_found"),
            Outcome::Unauthorized => (401, "unauthorized"),
        }
    }
}

/// An operator of the demo charter.
#[derive(Clone, Copy, Debug)]
struct Op {
    name: &'static str,
    party: &'static str,
    role: &'static str,
}

const OPERATORS: [Op; 9] = [
    op("il-liaison", "il", "liaison"),
    op("il-analyst", "il", "analyst"),
    op("il-admin", "il", "admin"),
    op("sy-liaison", "sy", "liaison"),
    op("sy-analyst", "sy", "analyst"),
    op("sy-admin", "sy", "admin"),
    op("us-supervisor", "us", "supervisor"),
    op("us-admin", "us", "admin"),
    op("undof-observer", "undof", "observer"),
];

const fn op(name: &'static str, party: &'static str, role: &'static str) -> Op {
    Op { name, party, role }
}

/// A member party (Israel, Syria).
fn member(o: &Op) -> bool {
    matches!(o.party, "il" | "sy")
}

/// A role that speaks for its party on the hotline and in incidents.
fn speaks(o: &Op) -> bool {
    matches!(o.role, "liaison" | "supervisor" | "observer")
}

/// The supervisor: role supervisor in the supervising party.
fn supervisor(o: &Op) -> bool {
    o.role == "supervisor" && o.party == "us"
}

/// `allow`, for an object the caller may read only when `reads`.
fn allow_reading(reads: bool, yes: bool) -> Outcome {
    if reads { allow(yes) } else { Outcome::NotFound }
}

fn allow(yes: bool) -> Outcome {
    if yes {
        Outcome::Allowed
    } else {
        Outcome::Forbidden
    }
}

/// The operator each party's objects are made by in the setup.
fn owner_op(party: &str) -> &'static str {
    match party {
        "il" => "il-liaison",
        "sy" => "sy-liaison",
        "us" => "us-supervisor",
        _ => "undof-observer",
    }
}

/// Another party to address: Syria for Israel, Israel for everyone else.
fn other(party: &str) -> &'static str {
    if party == "il" { "sy" } else { "il" }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Cell,
    Operators,
    Hotline,
    Incidents,
    Intel,
    Sites,
    Zones,
    Notifications,
}

/// One attempt's request, once its object exists.
struct Attempt {
    path: String,
    body: Value,
    /// A CoT XML body instead of the JSON one.
    xml: Option<String>,
    /// Sent over TAXII 2.1: success is 202 and errors carry the TAXII error body (no
    /// `error.code`), so only the status is compared.
    taxii: bool,
}

/// One write endpoint of the ownership table.
struct Row {
    group: Group,
    /// `METHOD path`, with what sets this row apart when a path has several.
    write: &'static str,
    /// The parties whose objects it is tried on; empty when it acts on no owned object.
    owners: &'static [&'static str],
    /// Who may, in words.
    who: &'static str,
    /// What everyone else gets.
    others: &'static str,
    rule: fn(&Op, &str) -> Outcome,
    prepare: fn(&World, &str, &Op) -> Attempt,
    /// Puts back what the attempt (with its outcome) changed.
    restore: fn(&World, &str, Outcome),
}

fn nothing(_: &World, _: &str, _: Outcome) {}

const ALL: &[&str] = &[];
const FORBIDDEN: &str = "403 `forbidden`";
const UNREAD: &str = "403 `forbidden`; 404 `not_found` to whoever may not read it";

fn table() -> Vec<Row> {
    vec![
        // --- The cell -------------------------------------------------------------------
        Row {
            group: Group::Cell,
            write: "POST /api/v1/cell/approve",
            owners: ALL,
            who: "the supervisor",
            others: FORBIDDEN,
            rule: |o, _| allow(supervisor(o)),
            prepare: |_, _, _| at("/api/v1/cell/approve", json!({})),
            restore: nothing,
        },
        Row {
            group: Group::Cell,
            write: "POST /api/v1/cell/suspend",
            owners: ALL,
            who: "the supervisor",
            others: FORBIDDEN,
            rule: |o, _| allow(supervisor(o)),
            prepare: |_, _, _| at("/api/v1/cell/suspend", json!({"reason": "review"})),
            restore: |w, _, out| {
                if out == Outcome::Allowed {
                    w.must("us-supervisor", "/api/v1/cell/resume", json!({}));
                }
            },
        },
        Row {
            group: Group::Cell,
            write: "POST /api/v1/cell/resume",
            owners: ALL,
            who: "the supervisor",
            others: FORBIDDEN,
            rule: |o, _| allow(supervisor(o)),
            prepare: |w, _, _| {
                w.must(
                    "us-supervisor",
                    "/api/v1/cell/suspend",
                    json!({"reason": "review"}),
                );
                at("/api/v1/cell/resume", json!({}))
            },
            restore: |w, _, out| {
                if out != Outcome::Allowed {
                    w.must("us-supervisor", "/api/v1/cell/resume", json!({}));
                }
            },
        },
        // --- Operators ------------------------------------------------------------------
        Row {
            group: Group::Operators,
            write: "POST /api/v1/operators",
            owners: &["il", "sy", "us", "undof"],
            who: "an admin of the new operator's party",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.role == "admin" && o.party == owner),
            prepare: |w, owner, _| {
                let role = if owner == "undof" {
                    "observer"
                } else {
                    "analyst"
                };
                at(
                    "/api/v1/operators",
                    json!({"name": format!("{owner}-new{}", w.next()), "party": owner, "role": role}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Operators,
            write: "POST /api/v1/operators/{name}/disable",
            owners: &["il", "sy", "us", "undof"],
            who: "an admin of the operator's party",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.role == "admin" && o.party == owner),
            prepare: |_, owner, _| {
                at(
                    &format!("/api/v1/operators/{}/disable", target(owner)),
                    json!({}),
                )
            },
            restore: |w, owner, out| {
                if out == Outcome::Allowed {
                    w.must(
                        &format!("{owner}-admin"),
                        &format!("/api/v1/operators/{}/enable", target(owner)),
                        json!({}),
                    );
                }
            },
        },
        Row {
            group: Group::Operators,
            write: "POST /api/v1/operators/{name}/enable",
            owners: &["il", "sy", "us", "undof"],
            who: "an admin of the operator's party",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.role == "admin" && o.party == owner),
            // UNDOF has no admin: nobody can disable its observer, so the attempts on
            // it find it enabled; the admin check comes first and decides.
            prepare: |w, owner, _| {
                if owner != "undof" {
                    w.must(
                        &format!("{owner}-admin"),
                        &format!("/api/v1/operators/{}/disable", target(owner)),
                        json!({}),
                    );
                }
                at(
                    &format!("/api/v1/operators/{}/enable", target(owner)),
                    json!({}),
                )
            },
            restore: |w, owner, out| {
                if out != Outcome::Allowed && owner != "undof" {
                    w.must(
                        &format!("{owner}-admin"),
                        &format!("/api/v1/operators/{}/enable", target(owner)),
                        json!({}),
                    );
                }
            },
        },
        // The observer rotating its own token is left out: it would change the token the
        // rest of the matrix uses for it. Every target here is another operator.
        Row {
            group: Group::Operators,
            write: "POST /api/v1/operators/{name}/rotate",
            owners: &["il", "sy", "us"],
            who: "the operator itself, or an admin of its party",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.role == "admin" && o.party == owner),
            prepare: |_, owner, _| {
                at(
                    &format!("/api/v1/operators/{}/rotate", target(owner)),
                    json!({}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Operators,
            write: "POST /api/v1/operators/{name}/suspend",
            owners: &["il", "sy", "us", "undof"],
            who: "an admin or supervisor of the supervising party",
            others: FORBIDDEN,
            rule: |o, _| allow(o.party == "us"),
            prepare: |_, owner, _| {
                at(
                    &format!("/api/v1/operators/{}/suspend", target(owner)),
                    json!({"reason": "review"}),
                )
            },
            restore: |w, owner, out| {
                if out == Outcome::Allowed {
                    w.must(
                        "us-admin",
                        &format!("/api/v1/operators/{}/reinstate", target(owner)),
                        json!({}),
                    );
                }
            },
        },
        Row {
            group: Group::Operators,
            write: "POST /api/v1/operators/{name}/reinstate",
            owners: &["il", "sy", "us", "undof"],
            who: "an admin or supervisor of the supervising party",
            others: "403 `forbidden`; 401 `unauthorized` to the suspended operator itself",
            rule: |o, owner| {
                if o.name == target(owner) {
                    Outcome::Unauthorized
                } else {
                    allow(o.party == "us")
                }
            },
            prepare: |w, owner, _| {
                w.must(
                    "us-supervisor",
                    &format!("/api/v1/operators/{}/suspend", target(owner)),
                    json!({"reason": "review"}),
                );
                at(
                    &format!("/api/v1/operators/{}/reinstate", target(owner)),
                    json!({}),
                )
            },
            restore: |w, owner, out| {
                if out != Outcome::Allowed {
                    w.must(
                        "us-admin",
                        &format!("/api/v1/operators/{}/reinstate", target(owner)),
                        json!({}),
                    );
                }
            },
        },
        // Each party's witness key: the caller's own party's, so no other party's
        // object can be named here.
        Row {
            group: Group::Operators,
            write: "POST /api/v1/witnesses",
            owners: ALL,
            who: "an admin of the party, for its own party's witness",
            others: FORBIDDEN,
            rule: |o, _| allow(o.role == "admin"),
            prepare: |_, _, o| {
                let key = liaison_log::keys::generate(&mut rand::rngs::OsRng);
                let vkey = liaison_log::note::Verifier::new(
                    &format!("witness.{}", o.party),
                    liaison_log::note::TYPE_COSIGNATURE,
                    key.verifying_key(),
                )
                .expect("verifier")
                .vkey();
                at("/api/v1/witnesses", json!({"vkey": vkey}))
            },
            restore: nothing,
        },
        // --- Hotline --------------------------------------------------------------------
        Row {
            group: Group::Hotline,
            write: "POST /api/v1/messages",
            owners: ALL,
            who: "the liaison, supervisor and observer operators of any party",
            others: FORBIDDEN,
            rule: |o, _| allow(speaks(o)),
            prepare: |_, _, o| at("/api/v1/messages", message(o.party, false)),
            restore: nothing,
        },
        Row {
            group: Group::Hotline,
            write: "POST /api/v1/messages/{id}/ack",
            owners: &["il"],
            who: "the liaison, supervisor and observer operators of a recipient party",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", speaks(o) && o.party == "sy"),
            prepare: |w, _, _| {
                let id = w.message(false);
                at(&format!("/api/v1/messages/{id}/ack"), json!({}))
            },
            restore: nothing,
        },
        Row {
            group: Group::Hotline,
            write: "POST /api/v1/messages/{id}/read",
            owners: &["il"],
            who: "the liaison, supervisor and observer operators of a recipient party",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", speaks(o) && o.party == "sy"),
            prepare: |w, _, _| {
                let id = w.message(false);
                at(&format!("/api/v1/messages/{id}/read"), json!({}))
            },
            restore: nothing,
        },
        Row {
            group: Group::Hotline,
            write: "POST /api/v1/messages/{id}/translations",
            owners: &["il"],
            who: "the liaison, analyst, supervisor and observer operators of a party on the message or of the supervising party",
            others: UNREAD,
            rule: |o, _| {
                allow_reading(
                    o.party != "undof",
                    o.role != "admin" && matches!(o.party, "il" | "sy" | "us"),
                )
            },
            prepare: |w, _, _| {
                let id = w.message(false);
                at(
                    &format!("/api/v1/messages/{id}/translations"),
                    json!({"language": "ar", "text": "نص"}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Hotline,
            write: "POST /api/v1/messages/{id}/close",
            owners: &["il"],
            who: "the emergency's author, or the supervisor",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", o.name == "il-liaison" || supervisor(o)),
            prepare: |w, _, _| {
                let id = w.message(true);
                at(
                    &format!("/api/v1/messages/{id}/close"),
                    json!({"reason": "over"}),
                )
            },
            restore: nothing,
        },
        // --- Incidents ------------------------------------------------------------------
        Row {
            group: Group::Incidents,
            write: "POST /api/v1/incidents",
            owners: ALL,
            who: "the liaison, supervisor and observer operators of any party",
            others: FORBIDDEN,
            rule: |o, _| allow(speaks(o)),
            prepare: |_, _, _| at("/api/v1/incidents", incident(None)),
            restore: nothing,
        },
        Row {
            group: Group::Incidents,
            write: "POST /api/v1/incidents/{id}/ack",
            owners: &["sy"],
            who: "the liaison, supervisor and observer operators of the party it is attributed to",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", speaks(o) && o.party == "il"),
            prepare: |w, _, _| {
                let id = w.incident();
                at(&format!("/api/v1/incidents/{id}/ack"), json!({}))
            },
            restore: nothing,
        },
        Row {
            group: Group::Incidents,
            write: "POST /api/v1/incidents/{id}/accounts",
            owners: &["sy"],
            who: "the liaison, supervisor and observer operators of the reporting party or of the party it is attributed to",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", speaks(o) && member(o)),
            prepare: |w, _, _| {
                let id = w.incident();
                at(
                    &format!("/api/v1/incidents/{id}/accounts"),
                    json!({"text": "our account"}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Incidents,
            write: "POST /api/v1/incidents/{id}/information-requests",
            owners: &["sy"],
            who: "the supervisor",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", supervisor(o)),
            prepare: |w, _, _| {
                let id = w.incident();
                at(
                    &format!("/api/v1/incidents/{id}/information-requests"),
                    json!({"party": "il", "question": "Which unit?", "within": "2h"}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Incidents,
            write: "POST /api/v1/incidents/{id}/findings",
            owners: &["sy"],
            who: "the supervisor",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", supervisor(o)),
            prepare: |w, _, _| {
                let id = w.incident();
                at(
                    &format!("/api/v1/incidents/{id}/findings"),
                    json!({"text": "Origin unconfirmed."}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Incidents,
            write: "POST /api/v1/incidents/{id}/close",
            owners: &["sy"],
            who: "the supervisor",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", supervisor(o)),
            prepare: |w, _, _| {
                let id = w.incident();
                at(
                    &format!("/api/v1/incidents/{id}/close"),
                    json!({"outcome": "unresolved"}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Incidents,
            write: "POST /api/v1/incidents/{id}/corrections",
            owners: &["sy"],
            who: "the liaison, supervisor and observer operators of the reporting party",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", speaks(o) && o.party == "sy"),
            prepare: |w, _, _| {
                let id = w.incident();
                at(
                    &format!("/api/v1/incidents/{id}/corrections"),
                    json!({"category": "strike", "reason": "it was a strike"}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Incidents,
            write: "POST /api/v1/incidents/{id}/withdraw",
            owners: &["sy"],
            who: "the liaison, supervisor and observer operators of the reporting party",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", speaks(o) && o.party == "sy"),
            prepare: |w, _, _| {
                let id = w.incident();
                at(
                    &format!("/api/v1/incidents/{id}/withdraw"),
                    json!({"reason": "reported in error"}),
                )
            },
            restore: nothing,
        },
        // --- Intelligence ---------------------------------------------------------------
        Row {
            group: Group::Intel,
            write: "POST /api/v1/intel/submissions",
            owners: ALL,
            who: "the liaison, analyst and observer operators of the member and observer parties",
            others: FORBIDDEN,
            rule: |o, _| allow(o.party != "us" && o.role != "admin"),
            prepare: |_, _, o| {
                at(
                    "/api/v1/intel/submissions",
                    json!({"bundle": bundle(), "recipients": [other(o.party)]}),
                )
            },
            restore: nothing,
        },
        // Over TAXII, each party submits through its own API root only.
        Row {
            group: Group::Intel,
            write: "POST /taxii2/{root}/collections/submissions/objects/",
            owners: &["il", "sy", "undof"],
            who: "the liaison, analyst and observer operators of the party whose API root it is",
            others: "403 (TAXII error body)",
            rule: |o, owner| allow(o.party == owner && o.role != "admin"),
            prepare: |_, owner, _| {
                let envelope = json!({"objects": bundle()["objects"].clone()});
                Attempt {
                    path: format!("/taxii2/{owner}/collections/submissions/objects/"),
                    body: envelope,
                    xml: None,
                    taxii: true,
                }
            },
            restore: nothing,
        },
        Row {
            group: Group::Intel,
            write: "POST /api/v1/intel/submissions/{id}/decision",
            owners: &["il"],
            who: "the supervisor",
            others: FORBIDDEN,
            rule: |o, _| allow(supervisor(o)),
            prepare: |w, _, _| {
                let id = w.submission(false);
                at(
                    &format!("/api/v1/intel/submissions/{id}/decision"),
                    json!({"decision": "approve"}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Intel,
            write: "POST /api/v1/intel/submissions/{id}/ack",
            owners: &["il"],
            who: "the operators of a party it was released to",
            others: UNREAD,
            rule: |o, _| allow_reading(o.party != "undof", o.party == "sy"),
            prepare: |w, _, _| {
                let id = w.submission(true);
                at(&format!("/api/v1/intel/submissions/{id}/ack"), json!({}))
            },
            restore: nothing,
        },
        Row {
            group: Group::Intel,
            write: "POST /api/v1/intel/submissions/{id}/withdraw",
            owners: &["il"],
            who: "the submitting party's operators",
            others: UNREAD,
            rule: |o, owner| allow_reading(matches!(o.party, "il" | "us"), o.party == owner),
            prepare: |w, _, _| {
                let id = w.submission(false);
                at(
                    &format!("/api/v1/intel/submissions/{id}/withdraw"),
                    json!({}),
                )
            },
            restore: nothing,
        },
        // --- Sites ----------------------------------------------------------------------
        Row {
            group: Group::Sites,
            write: "POST /api/v1/sites (a new site)",
            owners: ALL,
            who: "any operator",
            others: "none",
            rule: |_, _| Outcome::Allowed,
            prepare: |w, _, _| at("/api/v1/sites", w.site(None)),
            restore: nothing,
        },
        Row {
            group: Group::Sites,
            write: "POST /api/v1/sites (a new version: `site` set)",
            owners: &["il", "us", "undof"],
            who: "the registrant party's operators, or the supervising party's",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.party == owner || o.party == "us"),
            prepare: |w, owner, _| {
                let id = w.site_of(owner);
                at("/api/v1/sites", w.site(Some(id)))
            },
            restore: nothing,
        },
        Row {
            group: Group::Sites,
            write: "POST /api/v1/sites/cot (a new version: `<liaison site=…>`)",
            owners: &["il", "us", "undof"],
            who: "the registrant party's operators, or the supervising party's",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.party == owner || o.party == "us"),
            prepare: |w, owner, _| {
                let id = w.site_of(owner);
                Attempt {
                    path: "/api/v1/sites/cot".into(),
                    body: Value::Null,
                    xml: Some(cot_site(w.next(), id)),
                    taxii: false,
                }
            },
            restore: nothing,
        },
        Row {
            group: Group::Sites,
            write: "POST /api/v1/sites/{id}/proposals",
            owners: &["il", "us", "undof"],
            who: "the operators of any party but the registrant",
            others: "409 `invalid_state` (the registrant publishes a new version instead)",
            rule: |o, owner| {
                if o.party == owner {
                    Outcome::InvalidState
                } else {
                    Outcome::Allowed
                }
            },
            prepare: |w, owner, _| {
                let id = w.site_of(owner);
                at(&format!("/api/v1/sites/{id}/proposals"), w.site(None))
            },
            restore: nothing,
        },
        Row {
            group: Group::Sites,
            write: "POST /api/v1/sites/proposals/{id}/answer",
            owners: &["il", "us", "undof"],
            who: "the registrant party's operators",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.party == owner),
            prepare: |w, owner, _| {
                let id = w.site_of(owner);
                let r = w.must(
                    "sy-liaison",
                    &format!("/api/v1/sites/{id}/proposals"),
                    w.site(None),
                );
                let proposal = seq(&r);
                at(
                    &format!("/api/v1/sites/proposals/{proposal}/answer"),
                    json!({"accept": true}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Sites,
            write: "POST /api/v1/sites/{id}/confirm",
            owners: &["il"],
            who: "any operator (each party confirms for itself)",
            others: "none",
            rule: |_, _| Outcome::Allowed,
            prepare: |w, owner, _| {
                let id = w.site_of(owner);
                at(&format!("/api/v1/sites/{id}/confirm"), json!({}))
            },
            restore: nothing,
        },
        // --- Zones ----------------------------------------------------------------------
        Row {
            group: Group::Zones,
            write: "POST /api/v1/zones (a new zone)",
            owners: ALL,
            who: "the operators of the member parties and of the supervising party",
            others: FORBIDDEN,
            rule: |o, _| allow(o.party != "undof"),
            prepare: |w, _, _| at("/api/v1/zones", w.zone(None)),
            restore: nothing,
        },
        Row {
            group: Group::Zones,
            write: "POST /api/v1/zones (a new version of a zone not yet agreed: `zone` set)",
            owners: &["il", "sy"],
            who: "the proposing party's operators",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.party == owner),
            prepare: |w, owner, _| {
                let id = w.zone_of(owner, false);
                at("/api/v1/zones", w.zone(Some(id)))
            },
            restore: nothing,
        },
        Row {
            group: Group::Zones,
            write: "POST /api/v1/zones (a new version of an agreed zone: `zone` set)",
            owners: &["il"],
            who: "the operators of the member parties and of the supervising party (a proposal: the agreed version stays in force until every member accepts)",
            others: FORBIDDEN,
            rule: |o, _| allow(o.party != "undof"),
            prepare: |w, owner, _| {
                let id = w.zone_of(owner, true);
                at("/api/v1/zones", w.zone(Some(id)))
            },
            restore: nothing,
        },
        Row {
            group: Group::Zones,
            write: "POST /api/v1/zones/{id}/stance",
            owners: &["il", "sy"],
            who: "the operators of the member parties",
            others: FORBIDDEN,
            rule: |o, _| allow(member(o)),
            prepare: |w, owner, _| {
                let id = w.zone_of(owner, false);
                at(
                    &format!("/api/v1/zones/{id}/stance"),
                    json!({"stance": "disputed"}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Zones,
            write: "POST /api/v1/zones/{id}/waivers",
            owners: &["il", "sy"],
            who: "the operators of the member parties (in effect once the supervisor approves)",
            others: FORBIDDEN,
            rule: |o, _| allow(member(o)),
            prepare: |w, owner, _| {
                let id = w.zone_of(owner, false);
                at(&format!("/api/v1/zones/{id}/waivers"), waiver())
            },
            restore: nothing,
        },
        Row {
            group: Group::Zones,
            write: "POST /api/v1/waivers/{id}/approve",
            owners: &["il"],
            who: "the supervisor",
            others: FORBIDDEN,
            rule: |o, _| allow(supervisor(o)),
            prepare: |w, owner, _| {
                let zone = w.zone_of("sy", false);
                let r = w.must(
                    owner_op(owner),
                    &format!("/api/v1/zones/{zone}/waivers"),
                    waiver(),
                );
                let id = seq(&r);
                at(&format!("/api/v1/waivers/{id}/approve"), json!({}))
            },
            restore: nothing,
        },
        // --- Notifications --------------------------------------------------------------
        Row {
            group: Group::Notifications,
            write: "POST /api/v1/notifications (a new notification)",
            owners: ALL,
            who: "the operators of the member parties",
            others: FORBIDDEN,
            rule: |o, _| allow(member(o)),
            prepare: |w, _, _| at("/api/v1/notifications", w.notification(None)),
            restore: nothing,
        },
        Row {
            group: Group::Notifications,
            write: "POST /api/v1/notifications (an amendment: `amends` set)",
            owners: &["il"],
            who: "the filing party's operators",
            others: FORBIDDEN,
            rule: |o, owner| allow(o.party == owner),
            prepare: |w, owner, _| {
                let id = w.notification_of(owner);
                at("/api/v1/notifications", w.notification(Some(id)))
            },
            restore: nothing,
        },
        Row {
            group: Group::Notifications,
            write: "POST /api/v1/notifications/{id}/withdraw",
            owners: &["il"],
            who: "the filing party's operators",
            others: UNREAD,
            rule: |o, owner| allow_reading(o.party != "undof", o.party == owner),
            prepare: |w, owner, _| {
                let id = w.notification_of(owner);
                at(
                    &format!("/api/v1/notifications/{id}/withdraw"),
                    json!({"reason": "cancelled"}),
                )
            },
            restore: nothing,
        },
        Row {
            group: Group::Notifications,
            write: "POST /api/v1/notifications/{id}/answer",
            owners: &["il"],
            who: "the operators of the other member parties",
            others: UNREAD,
            rule: |o, owner| allow_reading(o.party != "undof", member(o) && o.party != owner),
            prepare: |w, owner, _| {
                let id = w.notification_of(owner);
                at(
                    &format!("/api/v1/notifications/{id}/answer"),
                    json!({"answer": "acknowledge"}),
                )
            },
            restore: nothing,
        },
    ]
}

fn at(path: &str, body: Value) -> Attempt {
    Attempt {
        path: path.to_string(),
        body,
        xml: None,
        taxii: false,
    }
}

/// The operator each party's operator-management attempts act on.
fn target(party: &str) -> &'static str {
    match party {
        "il" => "il-target",
        "sy" => "sy-target",
        "us" => "us-target",
        _ => "undof-observer",
    }
}

fn seq(r: &Value) -> u64 {
    r["seqs"][0]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq: {r}"))
}

fn id(r: &Value) -> u64 {
    r["id"]
        .as_u64()
        .or_else(|| r["ids"][0].as_u64())
        .or_else(|| r["seqs"][0].as_u64())
        .unwrap_or_else(|| panic!("no id: {r}"))
}

fn message(from: &str, emergency: bool) -> Value {
    let precedence = if emergency { "flash" } else { "routine" };
    json!({"to": [other(from)], "precedence": precedence, "subject": "s", "body": "b", "emergency": emergency})
}

fn incident(attributed_to: Option<&str>) -> Value {
    let mut v = json!({"category": "other", "when": "2026-01-01T00:00:00Z",
        "where": {"type": "Point", "coordinates": [35.8, 33.1]}, "description": "Shots heard"});
    if let Some(a) = attributed_to {
        v["attributed_to"] = json!(a);
    }
    v
}

fn bundle() -> Value {
    const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
        {"type": "report", "spec_version": "2.1", "id": "report--a1b2c3d4-0000-4000-8000-000000000001",
         "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z",
         "name": "Launchers near Quneitra", "published": "2026-01-10T08:00:00Z",
         "object_refs": ["location--a1b2c3d4-0000-4000-8000-000000000002"], "object_marking_refs": [AMBER]},
        {"type": "location", "spec_version": "2.1", "id": "location--a1b2c3d4-0000-4000-8000-000000000002",
         "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z",
         "latitude": 33.12, "longitude": 35.82, "object_marking_refs": [AMBER]}]})
}

/// A CoT event publishing a new version of `site`.
fn cot_site(n: u64, site: u64) -> String {
    format!(
        r#"<event version="2.0" uid="MATRIX-{n}" type="a-n-G-I" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2027-03-01T12:00:00Z" how="h-e">
  <point lat="33.30" lon="35.70" hae="9999999.0" ce="9999999.0" le="9999999.0"/>
  <detail><contact callsign="Site {n}"/><liaison site="{site}" category="medical" radius_m="300"/></detail>
</event>"#
    )
}

fn waiver() -> Value {
    json!({"rules": ["prohibited_kind"], "kinds": ["uav_flight"], "start": in_hours(1), "end": in_hours(2)})
}

/// One cell and its server, approved (unless for the cell's own rows), with an operator
/// of each member party and of the supervising party to manage.
struct World {
    cell: Cell,
    _server: Server,
    http: Http,
    n: AtomicU64,
}

impl World {
    fn new(group: Group) -> World {
        let cell = Cell::init();
        let server = cell.serve();
        let http = Http::new(&server.url);
        let w = World {
            cell,
            _server: server,
            http,
            n: AtomicU64::new(0),
        };
        if group != Group::Cell {
            w.cell.approve(&w.http);
        }
        if group == Group::Operators {
            for party in ["il", "sy", "us"] {
                w.must(
                    &format!("{party}-admin"),
                    "/api/v1/operators",
                    json!({"name": target(party), "party": party, "role": "analyst"}),
                );
            }
        }
        w
    }

    fn next(&self) -> u64 {
        self.n.fetch_add(1, Ordering::SeqCst)
    }

    fn post(&self, who: &str, path: &str, body: Value) -> Resp {
        self.http.post(path, Some(&self.cell.token(who)), body)
    }

    /// A setup write that must succeed.
    fn must(&self, who: &str, path: &str, body: Value) -> Value {
        let r = self.post(who, path, body);
        assert_eq!(r.status, 200, "setup {who} {path}: {}", r.body);
        r.json()
    }

    /// The log's size, as the supervisor reads it.
    fn size(&self) -> Value {
        self.http.head(&self.cell.token("us-supervisor"))
    }

    /// A message from Israel to Syria.
    fn message(&self, emergency: bool) -> u64 {
        id(&self.must("il-liaison", "/api/v1/messages", message("il", emergency)))
    }

    /// An incident Syria reports and attributes to Israel.
    fn incident(&self) -> u64 {
        id(&self.must("sy-liaison", "/api/v1/incidents", incident(Some("il"))))
    }

    /// A submission by Israel for Syria, approved when `released`.
    fn submission(&self, released: bool) -> u64 {
        let s = id(&self.must(
            "il-liaison",
            "/api/v1/intel/submissions",
            json!({"bundle": bundle(), "recipients": ["sy"]}),
        ));
        if released {
            self.must(
                "us-supervisor",
                &format!("/api/v1/intel/submissions/{s}/decision"),
                json!({"decision": "approve"}),
            );
        }
        s
    }

    /// A protected site's GeoJSON, in a place of its own.
    fn site(&self, site: Option<u64>) -> Value {
        let n = self.next() as f64;
        let mut props = json!({"category": "minority_community", "radius_m": 500, "names": {"en": format!("Site {n}")}});
        if let Some(s) = site {
            props["site"] = json!(s);
        }
        json!({"type": "Feature", "geometry": {"type": "Point",
            "coordinates": [35.60 + (n % 50.0) * 0.004, 33.30]}, "properties": props})
    }

    fn site_of(&self, party: &str) -> u64 {
        id(&self.must(owner_op(party), "/api/v1/sites", self.site(None)))
    }

    fn zone(&self, zone: Option<u64>) -> Value {
        let x = 35.60 + (self.next() % 50) as f64 * 0.004;
        let mut props =
            json!({"name": "Z", "zone_kind": "no_fly_zone", "prohibited_kinds": ["uav_flight"]});
        if let Some(z) = zone {
            props["zone"] = json!(z);
        }
        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates":
            [[[x, 33.50], [x + 0.003, 33.50], [x + 0.003, 33.52], [x, 33.52], [x, 33.50]]]},
            "properties": props})
    }

    /// A zone proposed by `party`'s liaison; agreed by the other member when `agreed`.
    fn zone_of(&self, party: &str, agreed: bool) -> u64 {
        let z = seq(&self.must(owner_op(party), "/api/v1/zones", self.zone(None)));
        if agreed {
            self.must(
                owner_op(other(party)),
                &format!("/api/v1/zones/{z}/stance"),
                json!({"stance": "accepted"}),
            );
        }
        z
    }

    fn notification(&self, amends: Option<u64>) -> Value {
        let x = 35.60 + (self.next() % 50) as f64 * 0.004;
        let mut props = json!({"kind": "exercise", "radius_m": 100, "alt_min_m": 0, "alt_max_m": 100,
            "start": in_hours(3), "end": in_hours(5)});
        if let Some(a) = amends {
            props["amends"] = json!(a);
        }
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, 32.90]}, "properties": props})
    }

    fn notification_of(&self, party: &str) -> u64 {
        id(&self.must(
            owner_op(party),
            "/api/v1/notifications",
            self.notification(None),
        ))
    }
}

/// Runs every row of `group`: each operator on each owner's object, the allowed last.
fn run(group: Group) {
    let w = World::new(group);
    let mut failures = Vec::new();
    for row in table().into_iter().filter(|r| r.group == group) {
        let owners: Vec<&str> = if row.owners.is_empty() {
            vec![""]
        } else {
            row.owners.to_vec()
        };
        for owner in owners {
            let mut ops = OPERATORS.to_vec();
            ops.sort_by_key(|o| (row.rule)(o, owner) == Outcome::Allowed);
            for o in &ops {
                let expected = (row.rule)(o, owner);
                let attempt = (row.prepare)(&w, owner, o);
                let before = w.size();
                let r = if attempt.taxii {
                    const CT: &str = "application/taxii+json;version=2.1";
                    w.http.write(
                        "POST",
                        &attempt.path,
                        Some(&w.cell.token(o.name)),
                        &[
                            ("content-type", CT),
                            ("accept", CT),
                            ("x-liaison-recipients", other(o.party)),
                        ],
                        serde_json::to_vec(&attempt.body).expect("json"),
                    )
                } else {
                    match &attempt.xml {
                        Some(xml) => w.http.post_raw(
                            &attempt.path,
                            Some(&w.cell.token(o.name)),
                            "application/xml",
                            xml,
                        ),
                        None => w.post(o.name, &attempt.path, attempt.body),
                    }
                };
                let after = w.size();
                let (status, code) = match (attempt.taxii, expected) {
                    (true, Outcome::Allowed) => (202, ""),
                    (true, other) => (other.wire().0, ""),
                    (false, other) => other.wire(),
                };
                let got = if r.status == status && code.is_empty() {
                    (r.status, String::new())
                } else {
                    (r.status, r.code())
                };
                let what = format!("{} by {} on {owner:?}'s object", row.write, o.name);
                if got != (status, code.to_string()) {
                    failures.push(format!(
                        "{what}: expected {status} {code}, got {} {}: {}",
                        got.0, got.1, r.body
                    ));
                } else if expected == Outcome::Allowed && after == before {
                    failures.push(format!("{what}: allowed but nothing recorded"));
                } else if expected != Outcome::Allowed && after != before {
                    failures.push(format!(
                        "{what}: refused but recorded ({before} -> {after})"
                    ));
                }
                let outcome = if r.status == 200 || r.status == 202 {
                    Outcome::Allowed
                } else {
                    Outcome::Forbidden
                };
                (row.restore)(&w, owner, outcome);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_cell_is_approved_suspended_and_resumed_only_by_the_supervisor() {
    run(Group::Cell);
}

#[test]
fn each_party_manages_its_own_operators_and_the_supervising_party_suspends() {
    run(Group::Operators);
}

#[test]
fn hotline_writes_by_speakers_and_recipients_only() {
    run(Group::Hotline);
}

#[test]
fn incident_writes_by_named_parties_and_the_supervisor_only() {
    run(Group::Incidents);
}

#[test]
fn intelligence_writes_by_submitters_recipients_and_the_supervisor_only() {
    run(Group::Intel);
}

#[test]
fn sites_change_only_by_their_registrant_or_the_supervisor() {
    run(Group::Sites);
}

#[test]
fn zones_change_only_by_their_proposer_until_agreed() {
    run(Group::Zones);
}

#[test]
fn notifications_change_only_by_their_filer_and_are_answered_by_the_others() {
    run(Group::Notifications);
}

const HEADING: &str = "## Ownership: who may write what";

/// The ownership section of `docs/security.md`, rendered from the table.
fn render() -> String {
    let mut s = format!(
        "{HEADING}\n\n\
         Generated from the adversarial test matrix (`crates/liaison-cli/tests/matrix.rs`), \
         which tries every write below as every operator of the demo charter on objects \
         owned by each party; every refusal records nothing.\n\n\
         | Write | Who may | Everyone else |\n|---|---|---|\n"
    );
    for row in table() {
        let write = match row.write.split_once(" (") {
            Some((endpoint, note)) => format!("`{endpoint}` ({note}"),
            None => format!("`{}`", row.write),
        };
        s.push_str(&format!("| {write} | {} | {} |\n", row.who, row.others));
    }
    s
}

#[test]
fn docs_security_md_has_the_ownership_table_of_the_matrix() {
    let path = common::repo_root().join("docs/security.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let section = text.find(HEADING).map(|start| {
        let rest = &text[start..];
        let end = rest[HEADING.len()..]
            .find("\n## ")
            .map_or(rest.len(), |e| e + HEADING.len() + 1);
        rest[..end].trim_end().to_string()
    });
    let expected = render();
    if section.as_deref() != Some(expected.trim_end())
        && std::env::var("LIAISON_BLESS").is_ok()
        && let (Some(old), Some(start)) = (section.as_deref(), text.find(HEADING))
    {
        let mut updated = text.clone();
        updated.replace_range(start..start + old.len(), expected.trim_end());
        std::fs::write(&path, updated).expect("write docs/security.md");
        return;
    }
    assert_eq!(
        section.as_deref(),
        Some(expected.trim_end()),
        "docs/security.md must contain exactly this section (up to the next `## ` heading):\n\n{expected}"
    );
}
