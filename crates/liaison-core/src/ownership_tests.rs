//! Who owns what: each party manages its own operators, publishes new versions of its
//! own sites and revises its own zones until they are agreed, and amends or withdraws
//! its own notifications; the supervising party suspends operators and nothing more.

use crate::command::tests::{actor, created, run};
use crate::deadline::{Duty, ObligationKey};
use crate::deconfliction::{Shape, ShapeKind, SiteCategory, Stance, ZoneKind, ZoneRules};
use crate::{Actor, Command, OperatorRole, OperatorSpec, State};
use std::collections::BTreeMap;

fn code(r: Result<(), crate::DomainError>) -> Result<(), &'static str> {
    r.map_err(|e| e.code())
}

fn active() -> State {
    let mut s = created();
    let us = actor(&s, "us-supervisor");
    run(&mut s, &us, Command::ApproveCell).expect("approve");
    s
}

/// Runs `cmd` and says whether it was refused with `code`, recording nothing.
fn refused(s: &mut State, who: &str, cmd: Command, want: &str) {
    let before = s.next_seq();
    let a = actor(s, who);
    assert_eq!(code(run(s, &a, cmd.clone())), Err(want), "{who}: {cmd:?}");
    assert_eq!(s.next_seq(), before, "a refusal records nothing");
}

fn ok(s: &mut State, who: &str, cmd: Command) -> u64 {
    let first = s.next_seq();
    let a = actor(s, who);
    run(s, &a, cmd.clone()).unwrap_or_else(|e| panic!("{who}: {cmd:?}: {e}"));
    first
}

fn add(name: &str, party: &str) -> Command {
    Command::AddOperator {
        spec: OperatorSpec {
            name: name.into(),
            party: party.into(),
            role: OperatorRole::Liaison,
        },
        token_hash: format!("hash-{name}"),
        key: None,
    }
}

#[test]
fn only_a_party_s_own_admin_manages_its_operators() {
    let mut s = active();
    for who in ["us-admin", "us-supervisor", "sy-admin", "il-liaison"] {
        refused(&mut s, who, add("il-ghost", "il"), "forbidden");
        refused(
            &mut s,
            who,
            Command::DisableOperator {
                name: "il-liaison".into(),
            },
            "forbidden",
        );
        refused(
            &mut s,
            who,
            Command::RotateToken {
                name: "il-admin".into(),
                token_hash: "stolen".into(),
            },
            "forbidden",
        );
    }
    ok(&mut s, "il-admin", add("il-two", "il"));
    ok(
        &mut s,
        "il-admin",
        Command::RotateToken {
            name: "il-two".into(),
            token_hash: "fresh".into(),
        },
    );
    ok(
        &mut s,
        "il-admin",
        Command::DisableOperator {
            name: "il-two".into(),
        },
    );
    refused(
        &mut s,
        "us-admin",
        Command::EnableOperator {
            name: "il-two".into(),
        },
        "forbidden",
    );
    ok(
        &mut s,
        "il-admin",
        Command::EnableOperator {
            name: "il-two".into(),
        },
    );
}

#[test]
fn only_a_party_s_admin_registers_its_witness() {
    let mut s = active();
    let w = || Command::RegisterWitness {
        vkey: "il-witness+01234567+AAAA".into(),
    };
    refused(&mut s, "il-liaison", w(), "forbidden");
    refused(&mut s, "sy-liaison", w(), "forbidden");
    ok(&mut s, "il-admin", w());
    assert!(s.witnesses.contains_key("il"));
    // The witness registered is always the caller's own party's.
    ok(&mut s, "us-admin", w());
    assert_eq!(s.witnesses.len(), 2);
}

/// A cell whose charter pins the log key and il's witness key.
fn pinned(log_vkey: &str) -> Result<State, crate::DomainError> {
    let mut s = State::new();
    let mut charter = crate::charter::tests::golan();
    charter.parties[0].witness = Some("il.witness+01234567+BPINNED".into());
    charter.log_key = Some("log+89abcdef+APINNED".into());
    let token_hashes = charter
        .operators
        .iter()
        .map(|o| (o.name.clone(), format!("hash-{}", o.name)))
        .collect();
    run(
        &mut s,
        &Actor::System,
        Command::CreateCell {
            charter,
            log_vkey: log_vkey.into(),
            token_hashes,
            keys: Vec::new(),
        },
    )?;
    Ok(s)
}

#[test]
fn a_witness_key_the_charter_pins_is_in_force_from_the_start_and_cannot_be_replaced() {
    assert_eq!(
        pinned("log+89abcdef+AOTHER").err().map(|e| e.code()),
        Some("log_key_mismatch"),
        "a cell is created only with the log key its charter pins"
    );
    let mut s = pinned("log+89abcdef+APINNED").expect("created");
    assert_eq!(
        s.witnesses.get("il").map(String::as_str),
        Some("il.witness+01234567+BPINNED")
    );
    let us = actor(&s, "us-supervisor");
    run(&mut s, &us, Command::ApproveCell).expect("approve");
    let other = || Command::RegisterWitness {
        vkey: "il.witness+76543210+BOTHER".into(),
    };
    refused(&mut s, "il-admin", other(), "witness_pinned");
    refused(&mut s, "il-liaison", other(), "forbidden");
    // Another party's admin registers only its own party's key, never il's.
    ok(&mut s, "sy-admin", other());
    assert_eq!(
        s.witnesses.get("il").map(String::as_str),
        Some("il.witness+01234567+BPINNED")
    );
}

#[test]
fn the_supervisor_suspends_and_reinstates_but_a_party_cannot_lift_it() {
    let mut s = active();
    let suspend = || Command::SuspendOperator {
        name: "il-liaison".into(),
        reason: "review of message 12".into(),
    };
    refused(&mut s, "sy-admin", suspend(), "forbidden");
    refused(&mut s, "il-admin", suspend(), "forbidden");
    refused(&mut s, "undof-observer", suspend(), "forbidden");
    let seq = ok(&mut s, "us-supervisor", suspend());
    assert!(
        s.events[seq as usize].audience.includes("sy"),
        "every party sees a suspension"
    );
    assert!(Actor::of(&s, "il-liaison").is_none(), "suspended: no actor");
    refused(&mut s, "us-admin", suspend(), "invalid_state");
    // The party's admin disabling and enabling it again does not lift the suspension.
    ok(
        &mut s,
        "il-admin",
        Command::DisableOperator {
            name: "il-liaison".into(),
        },
    );
    ok(
        &mut s,
        "il-admin",
        Command::EnableOperator {
            name: "il-liaison".into(),
        },
    );
    assert!(Actor::of(&s, "il-liaison").is_none());
    refused(
        &mut s,
        "il-admin",
        Command::ReinstateOperator {
            name: "il-liaison".into(),
        },
        "forbidden",
    );
    ok(
        &mut s,
        "us-admin",
        Command::ReinstateOperator {
            name: "il-liaison".into(),
        },
    );
    assert!(Actor::of(&s, "il-liaison").is_some());
}

fn circle(lon: f64, lat: f64, r: f64) -> Shape {
    Shape {
        kind: ShapeKind::Circle,
        coordinates: vec![vec![vec![[lon, lat]]]],
        buffer_m: r,
    }
}

fn site(id: Option<u64>, shape: Shape) -> Command {
    Command::RegisterSite {
        site: id,
        names: BTreeMap::from([("en".to_string(), "As-Suwayda".to_string())]),
        category: SiteCategory::MinorityCommunity,
        shape,
        cot_detail: None,
    }
}

#[test]
fn only_the_registrant_or_the_supervisor_publishes_a_new_site_version() {
    let mut s = active();
    let id = ok(
        &mut s,
        "us-supervisor",
        site(None, circle(36.57, 32.71, 3000.0)),
    );
    let moved = || site(Some(id), circle(35.6, 33.2, 10.0));
    refused(&mut s, "sy-liaison", moved(), "forbidden");
    refused(&mut s, "il-admin", moved(), "forbidden");
    refused(&mut s, "undof-observer", moved(), "forbidden");
    assert_eq!(s.deconfliction.sites[&id].shape.buffer_m, 3000.0);

    // Syria proposes instead; the registrant owes an answer.
    let proposal = ok(
        &mut s,
        "sy-liaison",
        Command::ProposeSiteChange {
            site: id,
            names: BTreeMap::from([("en".to_string(), "As-Suwayda".to_string())]),
            category: SiteCategory::MinorityCommunity,
            shape: circle(36.57, 32.71, 4000.0),
            cot_detail: None,
        },
    );
    let owed = ObligationKey::new(Duty::AnswerSiteProposal, proposal.to_string(), "us");
    assert!(s.obligations.get(&owed).is_some_and(|o| o.is_open()));
    let answer = |accept| Command::AnswerSiteChange {
        proposal,
        accept,
        text: String::new(),
    };
    refused(&mut s, "sy-liaison", answer(true), "forbidden");
    refused(&mut s, "il-liaison", answer(true), "forbidden");
    ok(&mut s, "us-supervisor", answer(true));
    let v = &s.deconfliction.sites[&id];
    assert_eq!((v.version, v.shape.buffer_m), (2, 4000.0));
    assert_eq!(
        v.registered_by, "us",
        "a new version never changes the owner"
    );
    assert!(s.obligations.get(&owed).is_some_and(|o| !o.is_open()));
    refused(&mut s, "us-supervisor", answer(false), "invalid_state");

    // A proposal made against an older version cannot be accepted.
    let stale = ok(
        &mut s,
        "il-liaison",
        Command::ProposeSiteChange {
            site: id,
            names: BTreeMap::from([("en".to_string(), "x".to_string())]),
            category: SiteCategory::MinorityCommunity,
            shape: circle(36.0, 32.0, 5.0),
            cot_detail: None,
        },
    );
    ok(
        &mut s,
        "us-supervisor",
        site(Some(id), circle(36.57, 32.71, 3500.0)),
    );
    refused(
        &mut s,
        "us-supervisor",
        Command::AnswerSiteChange {
            proposal: stale,
            accept: true,
            text: String::new(),
        },
        "invalid_state",
    );
    // A member's own site: it publishes; the supervisor may too, and ownership stays.
    let il_site = ok(&mut s, "il-liaison", site(None, circle(35.7, 33.0, 500.0)));
    refused(
        &mut s,
        "sy-admin",
        site(Some(il_site), circle(35.7, 33.0, 5.0)),
        "forbidden",
    );
    ok(
        &mut s,
        "il-admin",
        site(Some(il_site), circle(35.7, 33.0, 600.0)),
    );
    ok(
        &mut s,
        "us-supervisor",
        site(Some(il_site), circle(35.7, 33.0, 700.0)),
    );
    assert_eq!(s.deconfliction.sites[&il_site].registered_by, "il");
}

fn square(d: f64) -> Shape {
    Shape {
        kind: ShapeKind::Polygon,
        coordinates: vec![vec![vec![
            [35.8, 33.0],
            [35.8 + d, 33.0],
            [35.8 + d, 33.0 + d],
            [35.8, 33.0 + d],
            [35.8, 33.0],
        ]]],
        buffer_m: 0.0,
    }
}

fn zone(id: Option<u64>, shape: Shape) -> Command {
    Command::RegisterZone {
        zone: id,
        name: "Area of separation".into(),
        kind: ZoneKind::DemilitarisedZone,
        shape,
        rules: ZoneRules {
            prohibited_kinds: ["air_strike".to_string()].into(),
            alt_min_m: None,
            alt_max_m: None,
            force_limits: Vec::new(),
        },
        note: String::new(),
    }
}

fn stance(zone: u64, stance: Stance) -> Command {
    Command::TakeZoneStance { zone, stance }
}

#[test]
fn an_agreed_zone_stays_in_force_until_every_member_accepts_a_change() {
    let mut s = active();
    let members = crate::deconfliction::members(&s);
    let id = ok(&mut s, "il-liaison", zone(None, square(0.1)));
    // While proposed, only its proposer revises it.
    refused(
        &mut s,
        "sy-liaison",
        zone(Some(id), square(0.01)),
        "forbidden",
    );
    refused(
        &mut s,
        "us-supervisor",
        zone(Some(id), square(0.01)),
        "forbidden",
    );
    ok(&mut s, "il-liaison", zone(Some(id), square(0.2)));
    ok(&mut s, "sy-liaison", stance(id, Stance::Accepted));
    assert_eq!(s.deconfliction.zones[&id].status(&members), "agreed");

    // Syria proposes to shrink the agreed zone: a proposal, the agreed one in force.
    ok(&mut s, "sy-liaison", zone(Some(id), square(0.01)));
    let z = &s.deconfliction.zones[&id];
    assert_eq!(z.status(&members), "agreed");
    assert_eq!((z.version, z.shape.clone()), (2, square(0.2)));
    assert_eq!(z.pending.as_ref().map(|p| p.version), Some(3));
    // Another party's competing proposal waits for this one to be settled.
    refused(
        &mut s,
        "il-liaison",
        zone(Some(id), square(0.3)),
        "invalid_state",
    );
    // Israel disputes the change: the agreed version still holds.
    ok(&mut s, "il-liaison", stance(id, Stance::Disputed));
    let z = &s.deconfliction.zones[&id];
    assert_eq!(
        (z.status(&members), z.shape.clone()),
        ("agreed", square(0.2))
    );
    assert_eq!(
        z.pending.as_ref().map(|p| p.status(&members)),
        Some("disputed")
    );
    // Israel accepts after all: the change is in force, agreed by both.
    ok(&mut s, "il-liaison", stance(id, Stance::Accepted));
    let z = &s.deconfliction.zones[&id];
    assert_eq!((z.version, z.shape.clone()), (3, square(0.01)));
    assert!(z.pending.is_none());
    assert_eq!(z.status(&members), "agreed");
    assert_eq!(z.proposed_by, "il", "the zone's proposer does not change");
}

fn notice(amends: Option<u64>) -> Command {
    Command::FileNotification {
        kind: "exercise".into(),
        shape: circle(35.8, 33.1, 1000.0),
        alt_min_m: 0.0,
        alt_max_m: 500.0,
        start: crate::Timestamp::from_secs(1_800_100_000),
        end: crate::Timestamp::from_secs(1_800_103_600),
        forces: String::new(),
        precedence: crate::Precedence::Priority,
        conflicts: Vec::new(),
        amends,
    }
}

#[test]
fn only_the_filer_amends_or_withdraws_a_notification() {
    let mut s = active();
    let first = ok(&mut s, "il-liaison", notice(None));
    let owed = ObligationKey::new(Duty::AnswerNotification, first.to_string(), "sy");
    assert!(s.obligations.get(&owed).is_some_and(|o| o.is_open()));
    let withdraw = |n| Command::WithdrawNotification {
        notification: n,
        reason: "cancelled".into(),
    };
    refused(&mut s, "sy-liaison", withdraw(first), "forbidden");
    refused(&mut s, "us-supervisor", withdraw(first), "forbidden");
    // The observer may not read it: it is not told the notification exists, nor whose.
    refused(&mut s, "undof-observer", withdraw(first), "not_found");
    refused(&mut s, "sy-liaison", notice(Some(first)), "forbidden");
    let second = ok(&mut s, "il-admin", notice(Some(first)));
    assert!(s.deconfliction.notifications[&first].withdrawn);
    assert!(!s.deconfliction.notifications[&second].withdrawn);
    assert!(
        s.obligations.get(&owed).is_some_and(|o| !o.is_open()),
        "nobody owes an answer to what was amended"
    );
    refused(&mut s, "il-liaison", withdraw(first), "invalid_state");
    ok(&mut s, "il-liaison", withdraw(second));
    assert!(s.deconfliction.notifications[&second].withdrawn);
    refused(&mut s, "il-liaison", notice(Some(second)), "invalid_state");
}

/// A cell whose member parties pinned their keys in the charter.
fn active_with_party_keys() -> State {
    let mut charter = crate::charter::tests::golan();
    for p in charter.parties.iter_mut() {
        p.key = Some(format!("{}.party+00000000+key", p.id));
    }
    let mut s = crate::command::tests::created_with(charter);
    let us = actor(&s, "us-supervisor");
    run(&mut s, &us, Command::ApproveCell).expect("approve");
    s
}

fn as_party(cmd: Command) -> Command {
    Command::AsParty(Box::new(cmd))
}

#[test]
fn a_party_s_statement_manages_its_own_operators_and_nothing_else() {
    let mut s = active_with_party_keys();
    // Without the statement, a liaison officer manages nothing.
    refused(&mut s, "il-liaison", add("il-new", "il"), "forbidden");
    // With it, any operator of the party carries the party's word.
    ok(&mut s, "il-liaison", as_party(add("il-new", "il")));
    ok(
        &mut s,
        "il-liaison",
        as_party(Command::DisableOperator {
            name: "il-new".into(),
        }),
    );
    ok(
        &mut s,
        "il-liaison",
        as_party(Command::EnableOperator {
            name: "il-new".into(),
        }),
    );
    ok(
        &mut s,
        "il-liaison",
        as_party(Command::RotateToken {
            name: "il-admin".into(),
            token_hash: "hash-rotated".into(),
        }),
    );
    ok(
        &mut s,
        "il-liaison",
        as_party(Command::RegisterWitness {
            vkey: "il.witness+00000000+key".into(),
        }),
    );
    // A party's statement never speaks for another party, the supervising party's
    // included.
    refused(
        &mut s,
        "sy-liaison",
        as_party(add("il-ghost", "il")),
        "forbidden",
    );
    refused(
        &mut s,
        "us-admin",
        as_party(add("il-ghost", "il")),
        "forbidden",
    );
    refused(
        &mut s,
        "us-supervisor",
        as_party(Command::RotateToken {
            name: "il-liaison".into(),
            token_hash: "hash-stolen".into(),
        }),
        "forbidden",
    );
    refused(
        &mut s,
        "us-admin",
        as_party(Command::EnableOperator {
            name: "il-new".into(),
        }),
        "forbidden",
    );
    // It covers operators and the witness only, and holds one command.
    refused(
        &mut s,
        "il-liaison",
        as_party(Command::SuspendOperator {
            name: "sy-liaison".into(),
            reason: "no".into(),
        }),
        "invalid_input",
    );
    refused(
        &mut s,
        "il-liaison",
        as_party(as_party(add("il-twice", "il"))),
        "invalid_input",
    );
}

#[test]
fn a_party_that_pinned_no_key_makes_no_statement() {
    let mut s = active();
    refused(
        &mut s,
        "il-admin",
        as_party(add("il-new", "il")),
        "forbidden",
    );
    // Its admins manage its operators as before.
    ok(&mut s, "il-admin", add("il-new", "il"));
}
