//! Salted entries (version 3): each event's entry carries a random salt, kept in the
//! stored entry and used again on replay; a record whose entries were written before
//! salts (versions 1 and 2) still opens, keeps its bytes and grows with salted ones; and
//! a salt changed at rest is refused, because the tree no longer hashes to what the log
//! signed.

use liaison_core::charter::{
    Charter, OperatorRole, OperatorSpec, Party, PartyRole, Settings, Signatures,
};
use liaison_core::{Actor, Command, Timestamp};
use liaison_log::entry::Entry;
use liaison_server::ledger::{Ledger, LogSigner};
use liaison_server::{App, ManualClock};
use liaison_store::{AppendBatch, MAX_READ, MemoryStore, Store, StoredEvent};
use std::sync::Arc;

fn charter() -> Charter {
    let parties = [
        ("il", PartyRole::Member, OperatorRole::Liaison),
        ("sy", PartyRole::Member, OperatorRole::Liaison),
        ("us", PartyRole::Supervisor, OperatorRole::Supervisor),
    ];
    Charter {
        name: "Salted cell".into(),
        parties: parties
            .iter()
            .map(|(id, role, _)| Party {
                id: (*id).into(),
                name: id.to_uppercase(),
                role: *role,
                signatures: Some(Signatures::Optional),
                key: None,
                witness: None,
                client_ca: None,
            })
            .collect(),
        operators: parties
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

fn start(store: &Arc<MemoryStore>, signer: &LogSigner) -> Result<App, String> {
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    App::start(
        store.clone() as Arc<dyn Store>,
        signer.clone(),
        Arc::new(clock),
    )
    .map_err(|e| e.to_string())
}

fn entries(store: &MemoryStore) -> Vec<Entry> {
    store
        .read_events(0, MAX_READ)
        .expect("read")
        .iter()
        .map(|r| Entry::decode(&r.entry).expect("an entry"))
        .collect()
}

#[test]
fn entries_before_salts_still_open_new_ones_are_salted_and_a_changed_salt_is_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let signer = LogSigner::generate("salted.liaison/cell").expect("log key");
    let salted = Arc::new(MemoryStore::new());
    let app = start(&salted, &signer).expect("start");
    let cmd = Command::CreateCell {
        charter: charter(),
        log_vkey: app.shared.ledger.read().vkey(),
        token_hashes: vec![
            ("il-op".into(), "11".repeat(32)),
            ("sy-op".into(), "33".repeat(32)),
            ("us-op".into(), "22".repeat(32)),
        ],
        keys: Vec::new(),
    };
    rt.block_on(app.command(Actor::System, cmd))
        .expect("create");
    drop(app);
    let recorded = entries(&salted);
    assert!(recorded.len() > 2, "the cell and its operators");
    let salts: std::collections::BTreeSet<_> = recorded.iter().map(|e| e.salt).collect();
    assert!(
        recorded.iter().all(|e| e.salt.is_some()),
        "every entry salted"
    );
    assert_eq!(salts.len(), recorded.len(), "a salt of its own for each");
    start(&salted, &signer).expect("a salted record reopens");

    // The same history as a cell recorded it before salts: unsalted entries (versions
    // 1 and 2) and a checkpoint over them.
    let old = Arc::new(MemoryStore::new());
    let mut ledger = Ledger::new(signer.clone());
    let mut events = Vec::new();
    for row in salted.read_events(0, MAX_READ).expect("read") {
        let event = liaison_api::codec::decode_event(&row.event).expect("event");
        let entry = ledger.entry_for(&event, None);
        assert!(matches!(entry[4], 1 | 2), "an unsalted entry");
        ledger.push(&entry);
        events.push(StoredEvent {
            seq: row.seq,
            entry,
            event: row.event,
        });
    }
    let unsalted_bytes: Vec<Vec<u8>> = events.iter().map(|e| e.entry.clone()).collect();
    old.append(&AppendBatch {
        events,
        checkpoint: Some(ledger.sign_checkpoint()),
        claims: Vec::new(),
    })
    .expect("append");
    let app = start(&old, &signer).expect("an unsalted record opens");
    let us = {
        let s = app.shared.state.read();
        Actor::of(&s, "us-op").expect("operator")
    };
    rt.block_on(app.command(us, Command::ApproveCell))
        .expect("approve");
    drop(app);
    let grown = old.read_events(0, MAX_READ).expect("read");
    let n = unsalted_bytes.len();
    for (row, before) in grown.iter().zip(&unsalted_bytes) {
        assert_eq!(&row.entry, before, "an old entry keeps its bytes");
    }
    assert!(grown.len() > n);
    assert!(
        grown[n..]
            .iter()
            .all(|r| Entry::salt_of(&r.entry).is_some() && r.entry[4] == 3),
        "what is recorded now is salted"
    );
    start(&old, &signer).expect("a record of both kinds reopens");

    // One byte of one salt changed at rest: the entry still re-derives from its event
    // with the salt it now carries, but the tree is not the one the log signed.
    let tampered = Arc::new(MemoryStore::new());
    let mut rows = grown.clone();
    let last = rows.last_mut().expect("a row");
    last.entry[5] ^= 1;
    tampered
        .append(&AppendBatch {
            events: rows,
            checkpoint: old.latest_checkpoint().expect("read"),
            claims: Vec::new(),
        })
        .expect("append");
    let refused = start(&tampered, &signer).err().expect("refused");
    assert!(
        refused.contains("refusing to continue a different history"),
        "{refused}"
    );
}
