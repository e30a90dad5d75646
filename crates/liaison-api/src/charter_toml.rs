//! The charter file: TOML in, a validated [`Charter`] out, or an error naming the line
//! and the field.

use liaison_core::charter::{
    Charter, OperatorRole, OperatorSpec, Party, PartyRole, Settings, Signatures,
};
use liaison_core::{Duration, parse_duration};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use toml::Spanned;

/// Charter files larger than this are refused before parsing.
pub const MAX_CHARTER_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{field}: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct CharterFileError {
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCharter {
    name: Spanned<String>,
    #[serde(default)]
    parties: Vec<RawParty>,
    #[serde(default)]
    operators: Vec<RawOperator>,
    #[serde(default)]
    deadlines: Option<RawDeadlines>,
    #[serde(default)]
    lead_times: Option<BTreeMap<String, Spanned<String>>>,
    #[serde(default)]
    settings: Option<RawSettings>,
    #[serde(default)]
    log: Option<RawLog>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    id: Spanned<String>,
    name: Spanned<String>,
    role: Spanned<String>,
    #[serde(default)]
    signatures: Option<Spanned<String>>,
    #[serde(default)]
    key: Option<Spanned<String>>,
    witness: Option<Spanned<String>>,
    #[serde(default)]
    client_ca: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    name: Spanned<String>,
    party: Spanned<String>,
    role: Spanned<String>,
    #[serde(default)]
    token_hash: Option<Spanned<String>>,
    #[serde(default)]
    public_key: Option<Spanned<String>>,
}

/// A charter file: the charter, and the credentials its parties made themselves for
/// their operators (the host never sees their tokens or private keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharterFile {
    pub charter: Charter,
    /// By operator name: the hex SHA-256 of its token and its base64 Ed25519 public key,
    /// where the file gives them.
    pub enrolments: BTreeMap<String, Enrolment>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enrolment {
    pub token_hash: Option<String>,
    pub public_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadlines {
    flash: Option<Spanned<String>>,
    immediate: Option<Spanned<String>>,
    priority: Option<Spanned<String>>,
    routine: Option<Spanned<String>>,
    second_level: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    default_tlp: Option<Spanned<String>>,
    heartbeat_timeout: Option<Spanned<String>>,
    site_reconfirm: Option<Spanned<String>>,
    signature_window: Option<Spanned<String>>,
    answer_margin: Option<Spanned<String>>,
    /// A ring of `[longitude, latitude]` positions in degrees.
    area_of_interest: Option<Spanned<Vec<[f64; 2]>>>,
    /// Whether observer parties read cooperation proposals.
    cooperation_observers: Option<bool>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

struct Lines<'a> {
    text: &'a str,
    fields: HashMap<String, usize>,
}

impl Lines<'_> {
    fn note<T>(&mut self, field: String, v: &Spanned<T>) {
        let line = line_of(self.text, v.span().start);
        self.fields.insert(field, line);
    }
    fn err(&self, field: &str, message: impl Into<String>) -> CharterFileError {
        // A field such as `operators[2]` may be known only through one of its members.
        let line = self.fields.get(field).copied().or_else(|| {
            self.fields
                .iter()
                .filter(|(k, _)| k.starts_with(field))
                .map(|(_, l)| *l)
                .min()
        });
        CharterFileError {
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

fn party_role(s: &str) -> Option<PartyRole> {
    match s {
        "member" => Some(PartyRole::Member),
        "supervisor" => Some(PartyRole::Supervisor),
        "observer" => Some(PartyRole::Observer),
        _ => None,
    }
}

pub fn operator_role(s: &str) -> Option<OperatorRole> {
    match s {
        "liaison" => Some(OperatorRole::Liaison),
        "analyst" => Some(OperatorRole::Analyst),
        "supervisor" => Some(OperatorRole::Supervisor),
        "observer" => Some(OperatorRole::Observer),
        "admin" => Some(OperatorRole::Admin),
        _ => None,
    }
}

const TLP_NAMES: [&str; 5] = ["clear", "green", "amber", "amber+strict", "red"];

/// The two kinds of key a charter pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// The log's key: a signed-note Ed25519 key (type 0x01).
    Log,
    /// A party's witness key: a C2SP tlog-cosignature key (type 0x04).
    Witness,
}

/// Checks a pinned verifier key (`name+keyid+base64`) and answers it in its canonical
/// spelling.
pub fn check_vkey(vkey: &str, kind: KeyKind) -> Result<String, String> {
    use liaison_log::note::{TYPE_COSIGNATURE, TYPE_ED25519, Verifier};
    let v = Verifier::from_vkey(vkey).map_err(|e| format!("not a verifier key: {e}"))?;
    let (want, what) = match kind {
        KeyKind::Log => (
            TYPE_ED25519,
            "a log key is a signed-note Ed25519 key (type 0x01)",
        ),
        KeyKind::Witness => (
            TYPE_COSIGNATURE,
            "a witness key is a tlog-cosignature key (type 0x04), as `liaison keygen --witness PARTY` prints",
        ),
    };
    if v.key_type != want {
        return Err(what.to_string());
    }
    Ok(v.vkey())
}

/// Parses and validates a charter file.
pub fn parse_charter(text: &str) -> Result<Charter, CharterFileError> {
    parse_charter_file(text).map(|f| f.charter)
}

/// Most bytes of a party's pinned client CA (one PEM certificate).
pub const MAX_CLIENT_CA: usize = 16 * 1024;

/// Checks the form of a party's `client_ca`: one PEM certificate, given inline, and
/// answers it trimmed. Whether it is a CA certificate the server checks at `init`.
pub fn check_client_ca(pem: &str) -> Result<String, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let pem = pem.trim();
    if pem.len() > MAX_CLIENT_CA {
        return Err(format!("longer than {MAX_CLIENT_CA} bytes"));
    }
    if !pem.starts_with(BEGIN) || !pem.ends_with(END) {
        return Err(format!(
            "give the CA certificate itself, in PEM ({BEGIN} … {END}), inline in a multi-line string"
        ));
    }
    if pem.matches(BEGIN).count() != 1 {
        return Err(
            "give exactly one certificate: the CA that issues the party's client certificates"
                .into(),
        );
    }
    Ok(format!("{pem}\n"))
}

/// Parses a charter file with the credentials it gives. A party that pins its key
/// (`key` in `[[parties]]`) enrols its operators itself: each of them must give
/// `token_hash`, and `public_key` when the party's operators sign.
pub fn parse_charter_file(text: &str) -> Result<CharterFile, CharterFileError> {
    if text.len() > MAX_CHARTER_BYTES {
        return Err(CharterFileError {
            line: None,
            field: "(file)".into(),
            message: format!("charter files are limited to {MAX_CHARTER_BYTES} bytes"),
        });
    }
    let raw: RawCharter = toml::from_str(text).map_err(|e| CharterFileError {
        line: e.span().map(|s| line_of(text, s.start)),
        field: "(syntax)".into(),
        message: e.message().to_string(),
    })?;
    let mut lines = Lines {
        text,
        fields: HashMap::new(),
    };
    lines.note("name".into(), &raw.name);
    let mut parties = Vec::new();
    for (i, p) in raw.parties.iter().enumerate() {
        lines.note(format!("parties[{i}].id"), &p.id);
        lines.note(format!("parties[{i}].name"), &p.name);
        lines.note(format!("parties[{i}].role"), &p.role);
        let role = party_role(p.role.get_ref()).ok_or_else(|| {
            lines.err(
                &format!("parties[{i}].role"),
                format!(
                    "unknown role {:?}; use member, supervisor or observer",
                    p.role.get_ref()
                ),
            )
        })?;
        let signatures = match &p.signatures {
            None => None,
            Some(v) => {
                lines.note(format!("parties[{i}].signatures"), v);
                Some(match v.get_ref().as_str() {
                    "required" => Signatures::Required,
                    "optional" => Signatures::Optional,
                    other => {
                        return Err(lines.err(
                            &format!("parties[{i}].signatures"),
                            format!("unknown setting {other:?}; use required or optional"),
                        ));
                    }
                })
            }
        };
        let key = match &p.key {
            None => None,
            Some(v) => {
                let field = format!("parties[{i}].key");
                lines.note(field.clone(), v);
                let vkey = liaison_log::note::Verifier::from_vkey(v.get_ref()).map_err(|e| {
                    lines.err(
                        &field,
                        format!("not a verifier key (name+keyid+base64), {e}"),
                    )
                })?;
                Some(vkey.vkey())
            }
        };
        let witness = match &p.witness {
            None => None,
            Some(v) => {
                let field = format!("parties[{i}].witness");
                lines.note(field.clone(), v);
                Some(check_vkey(v.get_ref(), KeyKind::Witness).map_err(|m| lines.err(&field, m))?)
            }
        };
        let client_ca = match &p.client_ca {
            None => None,
            Some(v) => {
                let field = format!("parties[{i}].client_ca");
                lines.note(field.clone(), v);
                Some(check_client_ca(v.get_ref()).map_err(|m| lines.err(&field, m))?)
            }
        };
        parties.push(Party {
            id: p.id.get_ref().clone(),
            name: p.name.get_ref().clone(),
            role,
            signatures,
            key,
            witness,
            client_ca,
        });
    }
    let mut operators = Vec::new();
    let mut enrolments = BTreeMap::new();
    for (i, o) in raw.operators.iter().enumerate() {
        lines.note(format!("operators[{i}].name"), &o.name);
        lines.note(format!("operators[{i}].party"), &o.party);
        lines.note(format!("operators[{i}].role"), &o.role);
        let role = operator_role(o.role.get_ref()).ok_or_else(|| {
            lines.err(
                &format!("operators[{i}].role"),
                format!(
                    "unknown role {:?}; use liaison, analyst, supervisor, observer or admin",
                    o.role.get_ref()
                ),
            )
        })?;
        let mut enrolment = Enrolment::default();
        if let Some(v) = &o.token_hash {
            let field = format!("operators[{i}].token_hash");
            lines.note(field.clone(), v);
            let h = v.get_ref();
            if h.len() != 64
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(lines.err(&field, "the token's SHA-256 as 64 lowercase hex digits"));
            }
            enrolment.token_hash = Some(h.clone());
        }
        if let Some(v) = &o.public_key {
            let field = format!("operators[{i}].public_key");
            lines.note(field.clone(), v);
            liaison_log::keys::check_public_key_b64(v.get_ref()).map_err(|e| {
                lines.err(&field, format!("not an Ed25519 public key in base64: {e}"))
            })?;
            enrolment.public_key = Some(v.get_ref().trim().to_string());
        }
        let pinning = parties
            .iter()
            .find(|p| p.id == *o.party.get_ref())
            .filter(|p| p.key.is_some());
        if let Some(party) = pinning {
            if enrolment.token_hash.is_none() {
                return Err(lines.err(
                    &format!("operators[{i}].name"),
                    format!(
                        "party {:?} pins its key, so it enrols its operators itself: give this operator's token_hash (`liaison operator credentials`)",
                        party.id
                    ),
                ));
            }
            if party.must_sign() && enrolment.public_key.is_none() {
                return Err(lines.err(
                    &format!("operators[{i}].name"),
                    format!(
                        "party {:?} pins its key and its operators sign: give this operator's public_key",
                        party.id
                    ),
                ));
            }
        }
        if enrolment != Enrolment::default() {
            enrolments.insert(o.name.get_ref().clone(), enrolment);
        }
        operators.push(OperatorSpec {
            name: o.name.get_ref().clone(),
            party: o.party.get_ref().clone(),
            role,
        });
    }
    let mut settings = Settings::default();
    let dur = |lines: &mut Lines,
               field: String,
               v: &Spanned<String>|
     -> Result<Duration, CharterFileError> {
        lines.note(field.clone(), v);
        parse_duration(v.get_ref()).map_err(|m| lines.err(&field, m))
    };
    if let Some(d) = &raw.deadlines {
        let slots = [
            ("flash", &d.flash, &mut settings.deadlines.flash),
            ("immediate", &d.immediate, &mut settings.deadlines.immediate),
            ("priority", &d.priority, &mut settings.deadlines.priority),
            ("routine", &d.routine, &mut settings.deadlines.routine),
            (
                "second_level",
                &d.second_level,
                &mut settings.deadlines.second_level,
            ),
        ];
        for (name, v, slot) in slots {
            if let Some(v) = v {
                *slot = dur(&mut lines, format!("deadlines.{name}"), v)?;
            }
        }
    }
    if let Some(lt) = &raw.lead_times {
        for (kind, v) in lt {
            let d = dur(&mut lines, format!("lead_times.{kind}"), v)?;
            settings.lead_times.insert(kind.clone(), d);
        }
    }
    if let Some(s) = &raw.settings {
        if let Some(t) = &s.default_tlp {
            lines.note("settings.default_tlp".into(), t);
            let v = t.get_ref().to_ascii_lowercase();
            let v = v.strip_prefix("tlp:").unwrap_or(&v).to_string();
            if !TLP_NAMES.contains(&v.as_str()) {
                return Err(lines.err(
                    "settings.default_tlp",
                    "use clear, green, amber, amber+strict or red",
                ));
            }
            settings.default_tlp = v;
        }
        if let Some(v) = &s.heartbeat_timeout {
            settings.heartbeat_timeout = dur(&mut lines, "settings.heartbeat_timeout".into(), v)?;
        }
        if let Some(v) = &s.site_reconfirm {
            settings.site_reconfirm = dur(&mut lines, "settings.site_reconfirm".into(), v)?;
        }
        if let Some(v) = &s.answer_margin {
            settings.answer_margin = dur(&mut lines, "settings.answer_margin".into(), v)?;
        }
        if let Some(v) = &s.signature_window {
            settings.signature_window = dur(&mut lines, "settings.signature_window".into(), v)?;
        }
        if let Some(v) = s.cooperation_observers {
            settings.cooperation_observers = v;
        }
        if let Some(v) = &s.area_of_interest {
            lines.note("settings.area_of_interest".into(), v);
            settings.area_of_interest = Some(liaison_core::charter::AreaOfInterest {
                ring: v.get_ref().clone(),
            });
        }
    }
    let log_key = match raw.log.as_ref().and_then(|l| l.key.as_ref()) {
        None => None,
        Some(v) => {
            lines.note("log.key".into(), v);
            Some(check_vkey(v.get_ref(), KeyKind::Log).map_err(|m| lines.err("log.key", m))?)
        }
    };
    let charter = Charter {
        name: raw.name.into_inner(),
        parties,
        operators,
        settings,
        log_key,
    };
    charter
        .validate()
        .map_err(|e| lines.err(&e.field, e.message))?;
    Ok(CharterFile {
        charter,
        enrolments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const GOLAN: &str = include_str!("../../../examples/golan.toml");

    #[test]
    fn accepts_the_issue_example_unchanged() {
        let c = parse_charter(GOLAN).expect("valid");
        assert_eq!(c.parties.len(), 4);
        assert_eq!(c.settings.deadlines.flash, Duration::from_mins(10));
        assert_eq!(c.settings.deadlines.priority, Duration::from_hours(3));
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = parse_charter("name = \"x\"\n[[parties]\n").expect_err("error");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn unknown_party_names_line_and_field() {
        let text = GOLAN.replacen("party = \"sy\"", "party = \"xx\"", 1);
        let e = parse_charter(&text).expect_err("error");
        assert_eq!(e.field, "operators[1].party");
        let line = text
            .lines()
            .position(|l| l.contains("\"xx\""))
            .map(|i| i + 1);
        assert_eq!(e.line, line);
    }

    #[test]
    fn bad_duration_names_field() {
        let text = GOLAN.replace("flash = \"10m\"", "flash = \"soon\"");
        let e = parse_charter(&text).expect_err("error");
        assert_eq!(e.field, "deadlines.flash");
        assert!(e.line.is_some());
    }

    #[test]
    fn pinned_keys_are_read_checked_and_named_when_wrong() {
        use liaison_log::note::{TYPE_COSIGNATURE, Verifier};
        let log = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        let key = Verifier::from_vkey(log).expect("vkey").key;
        let witness = Verifier::new("il.witness", TYPE_COSIGNATURE, key)
            .expect("witness")
            .vkey();
        let pin = |log: &str, witness: &str| {
            let text = GOLAN.replacen(
                "id = \"il\"\n",
                &format!("id = \"il\"\nwitness = \"{witness}\"\n"),
                1,
            );
            format!("{text}\n[log]\nkey = \"{log}\"\n")
        };
        let c = parse_charter(&pin(log, &witness)).expect("valid");
        assert_eq!(c.log_key.as_deref(), Some(log));
        assert_eq!(c.parties[0].witness.as_deref(), Some(witness.as_str()));
        // Each key must be of its kind, and the error names the line and field.
        let e = parse_charter(&pin(&witness, &witness)).expect_err("log key of the wrong type");
        assert_eq!(e.field, "log.key");
        assert!(e.line.is_some());
        let e = parse_charter(&pin(log, log)).expect_err("witness key of the wrong type");
        assert_eq!(e.field, "parties[0].witness");
        let e = parse_charter(&pin(log, "il.witness+00000000+AAAA")).expect_err("garbage");
        assert_eq!(e.field, "parties[0].witness");
    }

    #[test]
    fn unknown_key_is_refused() {
        let text = format!("{GOLAN}\ncolour = \"blue\"\n");
        let e = parse_charter(&text).expect_err("error");
        assert!(e.message.contains("colour"), "{e}");
    }
}
