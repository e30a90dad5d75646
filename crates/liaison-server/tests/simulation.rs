//! A seeded, deterministic simulation of the cell under the hotline and incident
//! workload: parties send messages and report incidents, some answer in time, some late,
//! some never; the clock jumps; the server restarts from its store. After every step the
//! invariants are checked. A failing run prints its seed; rerun it with
//! `LIAISON_SIM_SEED=<seed> cargo test -p liaison-server --test simulation`.

use liaison_core::charter::{
    Charter, OperatorRole, OperatorSpec, Party, PartyRole, Settings, Signatures,
};
use liaison_core::deadline::{Duty, MAX_LEVEL, ObligationKey};
use liaison_core::event::EventBody;
use liaison_core::incident::{Category, Outcome, Place, TimePrecision};
use liaison_core::{
    Actor, Audience, Command, Duration, Precedence, State, Timestamp, Viewer, can_see,
};
use liaison_server::ledger::LogSigner;
use liaison_server::{App, Clock, ManualClock};
use liaison_store::{MemoryStore, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const PARTIES: [(&str, PartyRole); 4] = [
    ("il", PartyRole::Member),
    ("sy", PartyRole::Member),
    ("us", PartyRole::Supervisor),
    ("undof", PartyRole::Observer),
];

fn charter() -> Charter {
    let mut operators = Vec::new();
    for (p, role) in PARTIES {
        let r = match role {
            PartyRole::Member => OperatorRole::Liaison,
            PartyRole::Supervisor => OperatorRole::Supervisor,
            PartyRole::Observer => OperatorRole::Observer,
        };
        operators.push(OperatorSpec {
            name: format!("{p}-op"),
            party: p.into(),
            role: r,
        });
    }
    Charter {
        name: "Simulated cell".into(),
        parties: PARTIES
            .iter()
            // The simulation decides commands in process, where no request carries an
            // HTTP signature: every party signs optionally.
            .map(|(id, role)| Party {
                key: None,
                id: (*id).into(),
                name: id.to_uppercase(),
                role: *role,
                signatures: Some(Signatures::Optional),
                witness: None,
                client_ca: None,
            })
            .collect(),
        operators,
        settings: Settings::default(),
        log_key: None,
    }
}

struct World {
    rng: ChaCha8Rng,
    store: Arc<MemoryStore>,
    signer: LogSigner,
    clock: ManualClock,
    app: App,
    rt: tokio::runtime::Runtime,
    /// How many escalation events we have seen per (obligation, level).
    escalations: BTreeMap<(ObligationKey, u8), usize>,
}

impl World {
    fn actor(&self, party: &str) -> Actor {
        let s = self.app.shared.state.read();
        Actor::of(&s, &format!("{party}-op")).expect("operator")
    }

    fn run(&self, actor: Actor, cmd: Command) -> bool {
        self.rt.block_on(self.app.command(actor, cmd)).is_ok()
    }

    fn restart(&mut self) {
        let before = self.app.shared.state.read().obligations.all.clone();
        let head = self.app.head();
        let app = App::start(
            self.store.clone() as Arc<dyn Store>,
            self.signer.clone(),
            Arc::new(self.clock.clone()),
        );
        self.app = app.unwrap_or_else(|e| panic!("restart failed: {e}"));
        assert_eq!(self.app.head(), head, "restart changed the record");
        assert_eq!(
            self.app.shared.state.read().obligations.all,
            before,
            "deadlines must be derived from the record"
        );
    }
}

fn check_invariants(w: &mut World, now: Timestamp) {
    let s: &State = &w.app.shared.state.read();
    // Gapless, unique sequence numbers.
    for (i, e) in s.events.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "sequence gap at {i}");
    }
    // Gapless, unique numbers on every channel.
    let mut per_channel: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for m in s.hotline.messages.values() {
        per_channel
            .entry(&m.channel)
            .or_default()
            .push(m.channel_seq);
    }
    for (c, mut v) in per_channel {
        v.sort();
        assert_eq!(
            v,
            (1..=v.len() as u64).collect::<Vec<_>>(),
            "channel {c} numbering"
        );
    }
    // Count escalation events per obligation and level: never twice.
    w.escalations.clear();
    for e in &s.events {
        if let EventBody::Escalated {
            duty,
            subject,
            party,
            level,
            ..
        } = &e.body
        {
            let k = ObligationKey::new(duty.clone(), subject.clone(), party.clone());
            *w.escalations.entry((k.clone(), *level)).or_default() += 1;
            let o = s.obligations.get(&k).expect("escalated obligation exists");
            assert!(
                o.met_at.is_none_or(|m| m >= e.at),
                "{k:?} escalated after it was met"
            );
        }
    }
    for ((k, level), n) in &w.escalations {
        assert_eq!(*n, 1, "{k:?} escalated to level {level} {n} times");
    }
    // Every deadline is met or escalated: nothing unmet is still due after the clock ran.
    assert!(
        s.obligations.due(now, 1).is_empty(),
        "a due deadline was not escalated"
    );
    for o in s.obligations.all.values() {
        let unmet_at = |t: Timestamp| o.met_at.is_none_or(|m| m > t);
        if now >= o.first_due && unmet_at(o.first_due) {
            assert!(
                o.level >= 1,
                "{:?} missed its deadline without escalation",
                o.key
            );
        }
        if o.met_at.is_some_and(|m| m <= o.first_due) {
            assert_eq!(o.level, 0, "{:?} escalated though met in time", o.key);
        }
        assert!(o.level <= MAX_LEVEL);
        assert_eq!(o.escalated_at.len(), o.level as usize);
    }
    // No event is visible outside its audience, and the audience is what the domain says.
    let supervisor = "us".to_string();
    for e in &s.events {
        let entitled: Option<BTreeSet<String>> = match &e.body {
            EventBody::MessageSent { to, .. } => {
                let mut p = to.clone();
                p.insert(e.author.party.clone());
                Some(p)
            }
            EventBody::MessageDelivered { message, .. }
            | EventBody::MessageRead { message, .. }
            | EventBody::MessageAcknowledged { message, .. } => {
                s.hotline.messages.get(message).map(|m| m.parties())
            }
            EventBody::IncidentReported { .. } => s
                .incidents
                .get(&e.seq)
                .map(|i| i.parties().into_iter().collect()),
            EventBody::IncidentAccount { incident, .. }
            | EventBody::IncidentAcknowledged { incident }
            | EventBody::InformationRequested { incident, .. }
            | EventBody::FindingRecorded { incident, .. }
            | EventBody::IncidentClosed { incident, .. } => s
                .incidents
                .get(incident)
                .map(|i| i.parties().into_iter().collect()),
            EventBody::Escalated {
                duty,
                subject,
                party,
                ..
            } => {
                let o = s.obligations.get(&ObligationKey::new(
                    duty.clone(),
                    subject.clone(),
                    party.clone(),
                ));
                o.map(|o| {
                    let mut p = o.waiting.clone();
                    p.insert(party.clone());
                    p
                })
            }
            _ => None,
        };
        let Some(mut entitled) = entitled else {
            continue;
        };
        entitled.insert(supervisor.clone());
        for (p, role) in PARTIES {
            let viewer = Viewer {
                party: p.into(),
                party_role: role,
                operator: None,
            };
            assert_eq!(
                can_see(&viewer, e),
                entitled.contains(p),
                "event {} ({}) visibility for {p}",
                e.seq,
                e.kind()
            );
        }
        assert!(
            matches!(e.audience, Audience::Parties(_)),
            "operational events are never addressed to everyone"
        );
    }
}

fn step(w: &mut World) {
    let parties = ["il", "sy", "us", "undof"];
    let roll = w.rng.gen_range(0..100);
    let now = w.clock.now();
    match roll {
        0..=24 => {
            let from = parties[w.rng.gen_range(0..4)];
            let others: Vec<&str> = parties.iter().copied().filter(|p| *p != from).collect();
            let n = w.rng.gen_range(1..=2);
            let to: BTreeSet<String> = (0..n)
                .map(|_| others[w.rng.gen_range(0..others.len())].to_string())
                .collect();
            let precedence = Precedence::ALL[w.rng.gen_range(0..4)];
            let emergency = precedence == Precedence::Flash && w.rng.gen_bool(0.2);
            let cmd = Command::SendMessage {
                to,
                precedence,
                subject: format!("subject {}", w.rng.r#gen::<u32>()),
                body: "body".into(),
                language: ["ar", "he", "en"][w.rng.gen_range(0..3)].into(),
                emergency,
                test: w.rng.gen_bool(0.1),
                attachments: Vec::new(),
            };
            assert!(w.run(w.actor(from), cmd), "a valid message was refused");
        }
        25..=44 => {
            // Acknowledge something still owed (whether in time depends on the clock).
            let owed: Vec<(u64, String)> = {
                let s = w.app.shared.state.read();
                s.hotline
                    .messages
                    .values()
                    .flat_map(|m| {
                        m.recipients
                            .iter()
                            .filter(|(_, r)| r.acknowledged_at.is_none())
                            .map(move |(p, _)| (m.id, p.clone()))
                    })
                    .collect()
            };
            if !owed.is_empty() && w.rng.gen_bool(0.7) {
                let (id, p) = owed[w.rng.gen_range(0..owed.len())].clone();
                assert!(w.run(
                    w.actor(&p),
                    Command::AcknowledgeMessage {
                        message: id,
                        reply: None
                    }
                ));
                // A second acknowledgement is refused and writes nothing.
                let head = w.app.head();
                assert!(!w.run(
                    w.actor(&p),
                    Command::AcknowledgeMessage {
                        message: id,
                        reply: None
                    }
                ));
                assert_eq!(w.app.head(), head);
            }
        }
        45..=54 => {
            let reporter = ["il", "sy", "undof"][w.rng.gen_range(0..3)];
            let against: Vec<&str> = ["il", "sy"]
                .into_iter()
                .filter(|p| *p != reporter)
                .collect();
            let attributed_to = if w.rng.gen_bool(0.8) {
                Some(against[w.rng.gen_range(0..against.len())].to_string())
            } else {
                None
            };
            let cmd = Command::ReportIncident {
                category: Category::ALL[w.rng.gen_range(0..7)],
                precedence: Precedence::ALL[w.rng.gen_range(0..4)],
                occurred_at: now.plus(Duration::from_mins(-30)),
                precision: TimePrecision::Exact,
                place: Place {
                    coordinates: vec![[35.8, 33.0]],
                    uncertainty_m: 500.0,
                },
                description: "shots across the line".into(),
                attributed_to,
                links: Vec::new(),
                attachments: Vec::new(),
            };
            assert!(w.run(w.actor(reporter), cmd));
        }
        55..=69 => {
            let open: Vec<(u64, Option<String>, bool)> = {
                let s = w.app.shared.state.read();
                s.incidents
                    .values()
                    .filter(|i| i.is_open())
                    .map(|i| {
                        let acked = i
                            .attributed_to
                            .as_ref()
                            .is_some_and(|a| i.acknowledged.contains_key(a));
                        (i.id, i.attributed_to.clone(), acked)
                    })
                    .collect()
            };
            if let Some((id, Some(a), acked)) =
                (!open.is_empty()).then(|| open[w.rng.gen_range(0..open.len())].clone())
            {
                let cmd = if !acked && w.rng.gen_bool(0.5) {
                    Command::AcknowledgeIncident { incident: id }
                } else {
                    Command::SubmitAccount {
                        incident: id,
                        text: "not ours".into(),
                        disowned: w.rng.gen_bool(0.5),
                        answers: None,
                        attachments: Vec::new(),
                    }
                };
                assert!(w.run(w.actor(&a), cmd));
            }
        }
        70..=74 => {
            let open: Vec<u64> = w
                .app
                .shared
                .state
                .read()
                .incidents
                .values()
                .filter(|i| i.is_open())
                .map(|i| i.id)
                .collect();
            if let Some(id) = open.first().copied() {
                let party = w.app.shared.state.read().incidents[&id]
                    .reporter_party
                    .clone();
                let cmd = match w.rng.gen_range(0..3) {
                    0 => Command::RequestInformation {
                        incident: id,
                        party,
                        question: "who fired?".into(),
                        within: Duration::from_hours(2),
                    },
                    1 => Command::RecordFinding {
                        incident: id,
                        text: "unclear".into(),
                    },
                    _ => Command::CloseIncident {
                        incident: id,
                        outcome: Outcome::Unresolved,
                        measures: "patrols".into(),
                    },
                };
                assert!(w.run(w.actor("us"), cmd));
            }
        }
        75..=79 => {
            // Someone not on a message tries to acknowledge it: refused, nothing written.
            let target = w
                .app
                .shared
                .state
                .read()
                .hotline
                .messages
                .values()
                .next()
                .map(|m| (m.id, m.parties()));
            if let Some((id, parties_on)) = target
                && let Some(outsider) = ["il", "sy", "undof"]
                    .iter()
                    .find(|p| !parties_on.contains(**p))
            {
                let head = w.app.head();
                assert!(!w.run(
                    w.actor(outsider),
                    Command::AcknowledgeMessage {
                        message: id,
                        reply: None
                    }
                ));
                assert_eq!(w.app.head(), head);
            }
        }
        80..=94 => {
            let jump = [
                Duration::from_mins(1),
                Duration::from_mins(12),
                Duration::from_mins(45),
                Duration::from_hours(4),
            ][w.rng.gen_range(0..4)];
            w.clock.advance(jump);
        }
        _ => w.restart(),
    }
    let escalated = w.rt.block_on(liaison_server::deadlines::tick(&w.app));
    assert!(escalated.is_ok(), "the clock failed: {escalated:?}");
    let now = w.clock.now();
    check_invariants(w, now);
}

fn simulate(seed: u64, steps: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = Arc::new(MemoryStore::new());
    let signer = LogSigner::generate("sim.liaison/cell").expect("log key");
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let app = App::start(
        store.clone() as Arc<dyn Store>,
        signer.clone(),
        Arc::new(clock.clone()),
    )
    .expect("start");
    let mut w = World {
        rng: ChaCha8Rng::seed_from_u64(seed),
        store,
        signer,
        clock,
        app,
        rt,
        escalations: BTreeMap::new(),
    };
    w.rt.block_on(w.app.create_cell(charter(), &Default::default()))
        .expect("create");
    assert!(w.run(w.actor("us"), Command::ApproveCell));
    for _ in 0..steps {
        step(&mut w);
    }
    // Let every remaining deadline run out: each is met or escalated to the top level.
    // Two passes: the first raises what is due to level 1, the second (after the
    // second-level delay) to level 2.
    for _ in 0..2 {
        w.clock.advance(Duration::from_hours(48));
        w.rt.block_on(liaison_server::deadlines::tick(&w.app))
            .expect("tick");
    }
    let now = w.clock.now();
    check_invariants(&mut w, now);
    let s = w.app.shared.state.read();
    for o in s.obligations.all.values() {
        assert!(
            o.met_at.is_some() || o.level == MAX_LEVEL,
            "{:?} neither met nor fully escalated",
            o.key
        );
    }
    assert!(
        s.obligations.all.values().any(|o| o.level > 0),
        "the scenario never missed a deadline: it proves nothing"
    );
    assert!(
        s.obligations
            .all
            .values()
            .any(|o| o.met_at.is_some() && o.level == 0),
        "nothing was met in time"
    );
    let _ = Duty::AcknowledgeMessage;
    // Every event's SSE frame, rendered from its payload, carries exactly its EventView,
    // and its stored form decodes to the event itself.
    let frames = w.app.shared.rendered.read();
    assert_eq!(frames.len(), s.events.len());
    for (e, f) in s.events.iter().zip(frames.iter()) {
        let text = std::str::from_utf8(&f.sse).expect("utf8 frame");
        let data = text
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("data line");
        let got: serde_json::Value = serde_json::from_str(data).expect("frame JSON");
        let want =
            serde_json::to_value(liaison_api::wire::EventView::from(e.as_ref())).expect("view");
        assert_eq!(got, want, "frame of event {}", e.seq);
        assert!(text.starts_with(&format!("id: {}\nevent: {}\n", e.seq, e.kind())));
        let stored = liaison_api::codec::encode(e).stored;
        assert_eq!(
            &liaison_api::codec::decode_event(&stored).expect("decodes"),
            e.as_ref()
        );
    }
}

#[test]
fn seeded_simulation_keeps_every_invariant() {
    let seeds: Vec<u64> = match std::env::var("LIAISON_SIM_SEED") {
        Ok(s) => vec![s.parse().expect("LIAISON_SIM_SEED is a number")],
        Err(_) => (1..=8).collect(),
    };
    for seed in seeds {
        let r = std::panic::catch_unwind(|| simulate(seed, 300));
        if let Err(e) = r {
            eprintln!("simulation failed with seed {seed}; rerun with LIAISON_SIM_SEED={seed}");
            std::panic::resume_unwind(e);
        }
    }
}
