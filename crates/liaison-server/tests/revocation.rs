//! The writer decides on the operator as it stands in the state it decides against, not
//! as it stood when the request was authenticated: a request authenticated before a
//! disable, a token rotation or a key revocation, and decided after it, is refused and
//! records nothing.

use liaison_core::charter::{
    Charter, OperatorRole, OperatorSpec, Party, PartyRole, Settings, Signatures,
};
use liaison_core::event::AuthorSignature;
use liaison_core::{Actor, Command, Precedence, Timestamp};
use liaison_server::app::token_hash;
use liaison_server::auth::Acting;
use liaison_server::ledger::LogSigner;
use liaison_server::{App, ManualClock};
use liaison_store::{MemoryStore, Store};
use std::collections::BTreeSet;
use std::sync::Arc;

fn charter() -> Charter {
    let op = |name: &str, party: &str, role| OperatorSpec {
        name: name.into(),
        party: party.into(),
        role,
    };
    let party = |id: &str, role| Party {
        key: None,
        id: id.into(),
        name: id.to_uppercase(),
        role,
        // Signing is optional here so that plain commands stand for requests; the key
        // test signs with a real key.
        signatures: Some(Signatures::Optional),
        witness: None,
        client_ca: None,
    };
    Charter {
        name: "Revocation cell".into(),
        parties: vec![
            party("il", PartyRole::Member),
            party("sy", PartyRole::Member),
            party("us", PartyRole::Supervisor),
        ],
        operators: vec![
            op("il-op", "il", OperatorRole::Liaison),
            op("sy-op", "sy", OperatorRole::Liaison),
            op("us-op", "us", OperatorRole::Supervisor),
        ],
        settings: Settings::default(),
        log_key: None,
    }
}

struct Cell {
    app: App,
    rt: tokio::runtime::Runtime,
    /// `il-op` as it was authenticated at the start: its actor and its token's hash.
    il: Acting,
}

fn cell() -> Cell {
    cell_of(charter())
}

fn cell_of(charter: Charter) -> Cell {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Arc::new(MemoryStore::new());
    let signer = LogSigner::generate("revocation.liaison/cell").expect("log key");
    let clock = ManualClock::new(Timestamp::from_secs(1_800_000_000));
    let app = App::start(store as Arc<dyn Store>, signer, Arc::new(clock)).expect("start");
    let (creds, _) = rt
        .block_on(app.create_cell(charter, &Default::default()))
        .expect("create");
    let actor = |name: &str| Actor::of(&app.shared.state.read(), name).expect("operator");
    rt.block_on(app.command(actor("us-op"), Command::ApproveCell))
        .expect("approve");
    let token = creds
        .operators
        .iter()
        .find(|o| o.name == "il-op")
        .map(|o| o.token.clone())
        .expect("il-op's token");
    let il = Acting {
        actor: actor("il-op"),
        token_hash: Some(token_hash(&token)),
        connection: None,
    };
    Cell { app, rt, il }
}

fn message() -> Command {
    Command::SendMessage {
        to: BTreeSet::from(["sy".to_string()]),
        precedence: Precedence::Routine,
        subject: "crossing at Quneitra".into(),
        body: "as agreed".into(),
        language: "en".into(),
        emergency: false,
        test: false,
        attachments: Vec::new(),
    }
}

impl Cell {
    /// Queues the change and then `il-op`'s stale request; both are decided by the
    /// writer in that order. Returns the request's error code and whether it recorded.
    fn after(&self, change: Command, signature: Option<AuthorSignature>) -> (String, bool) {
        let head = |app: &App| app.head();
        let (changed, stale) = self.rt.block_on(async {
            let change = self.app.command(Actor::System, change);
            let stale = self
                .app
                .command_signed(self.il.clone(), signature, message());
            futures::join!(change, stale)
        });
        let after_change = head(&self.app);
        changed.expect("the change is recorded");
        let code = stale.err().map(|e| e.code.to_string()).unwrap_or_default();
        (code, head(&self.app) != after_change)
    }
}

#[test]
fn a_request_decided_after_its_operator_is_disabled_is_refused() {
    let c = cell();
    // Before the change, the same request is taken.
    c.rt.block_on(c.app.command(c.il.clone(), message()))
        .expect("an active operator's message is recorded");
    let before = c.app.head();
    let (code, recorded) = c.after(
        Command::DisableOperator {
            name: "il-op".into(),
        },
        None,
    );
    assert_eq!(code, "credentials_changed");
    assert!(!recorded, "nothing is recorded for the disabled operator");
    assert_eq!(c.app.head(), before + 1, "only the disable is recorded");
}

#[test]
fn a_request_decided_after_its_token_is_rotated_is_refused() {
    let c = cell();
    let (code, recorded) = c.after(
        Command::RotateToken {
            name: "il-op".into(),
            token_hash: token_hash("lsn_the-new-token"),
        },
        None,
    );
    assert_eq!(code, "credentials_changed");
    assert!(!recorded);
    // The same operator with its new token is taken.
    let fresh = Acting {
        actor: c.il.actor.clone(),
        token_hash: Some(token_hash("lsn_the-new-token")),
        connection: None,
    };
    c.rt.block_on(c.app.command(fresh, message()))
        .expect("the new token stands");
}

#[test]
fn a_request_signed_with_a_key_revoked_before_its_decision_is_refused() {
    let c = cell();
    let key = liaison_log::keys::generate(&mut rand::rngs::OsRng);
    let key_id = liaison_log::keys::operator_key_id(&key.verifying_key());
    // Registered by the operator itself: as a command, the key's syntax is the edge's.
    c.rt.block_on(c.app.command(
        c.il.clone(),
        Command::RegisterKey {
            public_key: liaison_log::keys::public_b64(&key.verifying_key()),
            key_id: key_id.clone(),
        },
    ))
    .expect("key registered");
    // A message signed with the key while it was active, decided after its revocation.
    let signature = c
        .app
        .sign_in_process("il-op", &key, b"a message")
        .expect("signed");
    let revoke = Command::RevokeKey { key_id };
    let head = c.app.head();
    let (changed, stale) = c.rt.block_on(async {
        let change = c.app.command_with_key(c.il.actor.clone(), &key, revoke);
        let stale = c
            .app
            .command_signed(c.il.clone(), Some(signature), message());
        futures::join!(change, stale)
    });
    changed.expect("the revocation is recorded");
    assert_eq!(
        stale.err().map(|e| e.code),
        Some("credentials_changed"),
        "a signature by a revoked key does not count"
    );
    assert_eq!(c.app.head(), head + 1, "only the revocation is recorded");
}

#[test]
fn the_writer_serves_an_operator_only_over_a_connection_its_party_admits() {
    use liaison_core::charter::Connection;
    // il pins a client CA (its text is the edge's to check; the rule is the core's).
    let mut ch = charter();
    ch.parties[0].client_ca = Some("-----BEGIN CERTIFICATE-----\n".into());
    let c = cell_of(ch);
    let with = |connection: Connection| Acting {
        connection: Some(connection),
        ..c.il.clone()
    };
    let tls = |party: Option<&str>| Connection::Tls {
        certificate: party.map(str::to_string),
    };
    for (connection, want) in [
        (Connection::Plain, "client_certificate_required"),
        (tls(None), "client_certificate_required"),
        (tls(Some("sy")), "client_certificate_mismatch"),
    ] {
        let before = c.app.head();
        let e =
            c.rt.block_on(c.app.command(with(connection.clone()), message()))
                .expect_err("refused");
        assert_eq!((e.status, e.code), (403, want), "{connection:?}");
        assert_eq!(c.app.head(), before, "nothing recorded for {connection:?}");
    }
    c.rt.block_on(c.app.command(with(tls(Some("il"))), message()))
        .expect("il's own certificate stands");
    // sy pins no CA, but il's certificate does not speak for it either.
    let sy = Acting {
        actor: Actor::of(&c.app.shared.state.read(), "sy-op").expect("sy-op"),
        token_hash: None,
        connection: Some(tls(Some("il"))),
    };
    let e =
        c.rt.block_on(c.app.command(sy, message()))
            .expect_err("refused");
    assert_eq!(e.code, "client_certificate_mismatch");
}
