//! Commercial and civil cooperation: proposals between parties, the screening of their
//! counterparties against sanctions lists, the parties' answers, agreement, and the
//! commitments (with milestones and progress reports) an agreed proposal carries.
//!
//! Screening itself (parsing lists, matching names) happens at the edge, inside the
//! writer, against the lists the state records as in force; the core records what it
//! is given, decides who may do what, when a proposal is agreed, blocked or ended, and
//! which matches are new. A milestone is a deadline like any other (`deadline.rs`).

use crate::command::{Actor, Draft, check_text, require_supervisor};
use crate::deadline::{Duty, ObligationKey};
use crate::deconfliction::{Conflict, Shape};
use crate::error::DomainError;
use crate::event::{Event, EventBody};
use crate::state::State;
use crate::time::Timestamp;
use crate::{OperatorName, PartyId, PartyRole};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const MAX_TITLE: usize = 300;
pub const MAX_DESCRIPTION: usize = 64 * 1024;
pub const MAX_TRANSLATIONS: usize = 8;
pub const MAX_PARTIES: usize = 16;
pub const MAX_COUNTERPARTIES: usize = 50;
/// Longest name of a counterparty, in any script (bytes).
pub const MAX_NAME: usize = 300;
/// Most written forms of one counterparty's name besides its `name` (`ar`, `he`, `en` ...).
pub const MAX_NAME_FORMS: usize = 8;
pub const MAX_IDENTIFIERS: usize = 16;
pub const MAX_DOCUMENTS: usize = 32;
pub const MAX_MILESTONES: usize = 32;
/// Most matches recorded for one counterparty in one screening.
pub const MAX_HITS_PER_COUNTERPARTY: usize = 20;
/// Most files one list load holds (OFAC's three CSV files).
pub const MAX_LIST_FILES: usize = 3;
/// The largest list file the cell keeps (bytes).
pub const MAX_LIST_FILE_BYTES: u64 = 32 * 1024 * 1024;
/// Most lists in force at once (one per source).
pub const MAX_LISTS: usize = 16;
/// The longest reason or text of an answer, a review, a commitment or a report.
pub const MAX_TEXT: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    Energy,
    Water,
    Agriculture,
    TradeAndCrossings,
    Health,
    Demining,
    Reconstruction,
    Telecommunications,
    Tourism,
    Other,
}

impl Sector {
    pub const ALL: [Sector; 10] = [
        Sector::Energy,
        Sector::Water,
        Sector::Agriculture,
        Sector::TradeAndCrossings,
        Sector::Health,
        Sector::Demining,
        Sector::Reconstruction,
        Sector::Telecommunications,
        Sector::Tourism,
        Sector::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Sector::Energy => "energy",
            Sector::Water => "water",
            Sector::Agriculture => "agriculture",
            Sector::TradeAndCrossings => "trade_and_crossings",
            Sector::Health => "health",
            Sector::Demining => "demining",
            Sector::Reconstruction => "reconstruction",
            Sector::Telecommunications => "telecommunications",
            Sector::Tourism => "tourism",
            Sector::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Sector> {
        Sector::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterpartyKind {
    Person,
    Organisation,
}

impl CounterpartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CounterpartyKind::Person => "person",
            CounterpartyKind::Organisation => "organisation",
        }
    }
    /// `organization` is taken for `organisation`.
    pub fn parse(s: &str) -> Option<CounterpartyKind> {
        match s {
            "person" => Some(CounterpartyKind::Person),
            "organisation" | "organization" => Some(CounterpartyKind::Organisation),
            _ => None,
        }
    }
}

/// A company, organisation or person a proposal deals with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterparty {
    pub kind: CounterpartyKind,
    /// The name as the proposal states it (in any script).
    pub name: String,
    /// The name as written in other scripts or languages, by tag (`ar`, `he`, `en`).
    pub names: BTreeMap<String, String>,
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country: Option<String>,
    /// Registration numbers, passport numbers and other identifiers.
    pub identifiers: Vec<String>,
}

impl Counterparty {
    /// Every name screened: `name` first, then the other written forms, each once.
    pub fn all_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = vec![self.name.as_str()];
        for n in self.names.values() {
            if !out.contains(&n.as_str()) {
                out.push(n);
            }
        }
        out
    }
}

/// A translation of the title and description, attributed to whoever made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalTranslation {
    pub language: String,
    pub title: String,
    pub description: String,
    /// Who translated it, in words (an operator, a party's translation service).
    pub by: String,
}

/// One match of a counterparty against a listed entry, as the screener found it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Index of the counterparty in the proposal.
    pub counterparty: u32,
    /// The list's source (`ofac-sdn`, `un-sc`, `opensanctions` ...).
    pub list: String,
    pub entry_id: String,
    pub listed_name: String,
    /// Which of the counterparty's names met it.
    pub our_name: String,
    /// 0 to 1.
    pub score: f64,
    /// Which normalisation made the names meet, in words.
    pub why: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// Not the listed party (or allowed): the match no longer blocks.
    Clear,
    /// Blocks the proposal until cleared.
    Hold,
    /// Ends the proposal.
    Reject,
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Clear => "clear",
            Review::Hold => "hold",
            Review::Reject => "reject",
        }
    }
    pub fn parse(s: &str) -> Option<Review> {
        match s {
            "clear" => Some(Review::Clear),
            "hold" => Some(Review::Hold),
            "reject" => Some(Review::Reject),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    pub what: String,
    pub due: Timestamp,
}

/// A file of a list load, kept by its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFile {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// The cooperation commands, dispatched from [`crate::command::decide`].
#[derive(Clone, Debug, PartialEq)]
pub enum CoopCommand {
    /// The supervisor loads a list (parsed at the edge); `screened` is every match the
    /// screener finds, with the lists in force after this load, for the counterparties
    /// of every open or agreed proposal: the new ones are recorded.
    LoadList {
        source: String,
        format: String,
        published: Option<String>,
        files: Vec<ListFile>,
        entries: u64,
        screened: Vec<(u64, Vec<Hit>)>,
    },
    /// A proposal with its conflicts and the matches of its counterparties, found at
    /// the edge.
    FileProposal {
        proposal: Box<ProposalBody>,
        hits: Vec<Hit>,
    },
    ReviewMatch {
        proposal: u64,
        index: u32,
        outcome: Review,
        reason: String,
    },
    AnswerProposal {
        proposal: u64,
        accept: bool,
        text: String,
    },
    MakeCommitment {
        proposal: u64,
        /// The committing party; the caller's own when absent.
        party: Option<PartyId>,
        what: String,
        milestones: Vec<Milestone>,
    },
    ReportProgress {
        commitment: u64,
        milestone: Option<u32>,
        text: String,
        documents: Vec<String>,
    },
}

/// A proposal as filed and recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProposalBody {
    pub title: String,
    pub description: String,
    pub language: String,
    pub translations: Vec<ProposalTranslation>,
    pub sector: Sector,
    pub parties: BTreeSet<PartyId>,
    pub counterparties: Vec<Counterparty>,
    pub area: Option<Shape>,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub documents: Vec<String>,
    pub conflicts: Vec<Conflict>,
}

/// A list in force: the latest load of its source.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedList {
    pub source: String,
    pub format: String,
    pub published: Option<String>,
    pub files: Vec<ListFile>,
    pub entries: u64,
    pub seq: u64,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReviewRecord {
    pub outcome: Review,
    pub reason: String,
    pub by: OperatorName,
    pub at: Timestamp,
    pub seq: u64,
}

/// A match recorded on a proposal, with the event that recorded it and its reviews.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenedMatch {
    pub hit: Hit,
    pub seq: u64,
    pub at: Timestamp,
    pub reviews: Vec<ReviewRecord>,
}

impl ScreenedMatch {
    /// `pending`, `cleared`, `held` or `rejected`: the latest review decides.
    pub fn status(&self) -> &'static str {
        match self.reviews.last().map(|r| r.outcome) {
            None => "pending",
            Some(Review::Clear) => "cleared",
            Some(Review::Hold) => "held",
            Some(Review::Reject) => "rejected",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub accepted: bool,
    pub text: String,
    pub by: OperatorName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub id: u64,
    pub filer: PartyId,
    pub operator: OperatorName,
    pub filed_at: Timestamp,
    pub draft: ProposalBody,
    pub answers: BTreeMap<PartyId, Answer>,
    pub matches: Vec<ScreenedMatch>,
    pub agreed_at: Option<Timestamp>,
    pub rejected_at: Option<Timestamp>,
    pub commitments: Vec<u64>,
}

impl Proposal {
    /// `open`, `agreed`, `declined` or `rejected` (at screening).
    pub fn state(&self) -> &'static str {
        if self.rejected_at.is_some() {
            "rejected"
        } else if self.answers.values().any(|a| !a.accepted) {
            "declined"
        } else if self.agreed_at.is_some() {
            "agreed"
        } else {
            "open"
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state(), "rejected" | "declined")
    }

    /// `clear` when every match is cleared (or there is none), `held` when one is held,
    /// else `pending` (a match not yet reviewed).
    pub fn screening(&self) -> &'static str {
        let s: Vec<&str> = self.matches.iter().map(ScreenedMatch::status).collect();
        if s.contains(&"rejected") {
            "rejected"
        } else if s.contains(&"held") {
            "held"
        } else if s.contains(&"pending") {
            "pending"
        } else {
            "clear"
        }
    }

    /// The parties whose answer is awaited: every involved party but the filer (whose
    /// filing is its acceptance) that has not answered.
    pub fn awaiting(&self) -> BTreeSet<PartyId> {
        self.draft
            .parties
            .iter()
            .filter(|p| **p != self.filer && !self.answers.contains_key(*p))
            .cloned()
            .collect()
    }

    /// Who reads the proposal and its steps: the parties it involves, its filer and,
    /// when the charter says so, the observers (the supervisor is always added).
    pub fn readers(&self, state: &State) -> BTreeSet<PartyId> {
        let mut set = self.draft.parties.clone();
        set.insert(self.filer.clone());
        set.extend(observers_reading(state));
        set
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub milestone: Option<u32>,
    pub text: String,
    pub documents: Vec<String>,
    pub by: OperatorName,
    pub at: Timestamp,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Commitment {
    pub id: u64,
    pub proposal: u64,
    pub party: PartyId,
    pub what: String,
    pub milestones: Vec<Milestone>,
    /// When each milestone was met (by a progress report naming it).
    pub met: Vec<Option<Timestamp>>,
    pub reports: Vec<Report>,
    pub made_at: Timestamp,
}

#[derive(Clone, Debug, Default)]
pub struct Cooperation {
    /// The lists in force, by source.
    pub lists: BTreeMap<String, LoadedList>,
    pub proposals: BTreeMap<u64, Proposal>,
    pub commitments: BTreeMap<u64, Commitment>,
}

impl Cooperation {
    /// What identifies the lists in force: each source with its files' SHA-256, so
    /// that the same lists give the same screener (and the same matches).
    pub fn fingerprint(&self) -> Vec<(String, Vec<String>)> {
        self.lists
            .values()
            .map(|l| {
                (
                    l.source.clone(),
                    l.files.iter().map(|f| f.sha256.clone()).collect(),
                )
            })
            .collect()
    }
}

/// The milestone obligation's subject: `commitment/index`.
pub fn milestone_subject(commitment: u64, index: usize) -> String {
    format!("{commitment}/{index}")
}

fn observers_reading(state: &State) -> Vec<PartyId> {
    let Some(c) = state.charter() else {
        return Vec::new();
    };
    if !c.settings.cooperation_observers {
        return Vec::new();
    }
    c.parties
        .iter()
        .filter(|p| p.role == PartyRole::Observer)
        .map(|p| p.id.clone())
        .collect()
}

/// The operator speaks for its party in cooperation business: a liaison or supervisor
/// operator of a member or the supervising party.
fn speaks(actor: &Actor) -> Result<(&str, &str), DomainError> {
    match actor {
        Actor::Operator {
            name,
            party,
            role,
            party_role,
        } => {
            use crate::charter::OperatorRole as R;
            if *party_role == PartyRole::Observer {
                return Err(DomainError::forbidden(
                    "an observer party takes no part in cooperation business",
                ));
            }
            if !matches!(role, R::Liaison | R::Supervisor) {
                return Err(DomainError::forbidden(format!(
                    "role {role} cannot speak for a party; use a liaison or supervisor operator"
                )));
            }
            Ok((name, party))
        }
        Actor::System => Err(DomainError::forbidden("the cell files no proposals itself")),
    }
}

fn proposal(state: &State, id: u64) -> Result<&Proposal, DomainError> {
    state
        .cooperation
        .proposals
        .get(&id)
        .ok_or_else(|| DomainError::not_found(format!("proposal {id}")))
}

/// The screening's audience: the filing party and the supervisor.
fn screening_draft(state: &State, p_filer: &str, body: EventBody) -> Draft {
    Draft::to_parties(state, [&p_filer.to_string()], body)
}

fn check_sha256s(field: &str, docs: &[String]) -> Result<(), DomainError> {
    if docs.len() > MAX_DOCUMENTS {
        return Err(DomainError::invalid(
            field,
            format!("at most {MAX_DOCUMENTS} documents"),
        ));
    }
    for (i, d) in docs.iter().enumerate() {
        if d.len() != 64
            || !d
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(DomainError::invalid(
                format!("{field}[{i}]"),
                "must be a SHA-256: 64 lowercase hex digits",
            ));
        }
    }
    Ok(())
}

fn check_hits(hits: &[Hit], counterparties: usize) -> Result<(), DomainError> {
    for h in hits {
        if h.counterparty as usize >= counterparties
            || !(0.0..=1.0).contains(&h.score)
            || h.list.is_empty()
        {
            return Err(DomainError::invalid(
                "screening",
                "a match names no counterparty of the proposal",
            ));
        }
    }
    if hits.len() > counterparties * MAX_HITS_PER_COUNTERPARTY {
        return Err(DomainError::invalid("screening", "too many matches"));
    }
    Ok(())
}

pub(crate) fn check_counterparty(i: usize, c: &Counterparty) -> Result<(), DomainError> {
    let f = |k: &str| format!("counterparties[{i}].{k}");
    if c.name.trim().is_empty() {
        return Err(DomainError::invalid(
            f("name"),
            "a counterparty needs a name",
        ));
    }
    check_text(&f("name"), &c.name, MAX_NAME)?;
    if c.names.len() > MAX_NAME_FORMS {
        return Err(DomainError::invalid(
            f("names"),
            format!("at most {MAX_NAME_FORMS} written forms"),
        ));
    }
    for (tag, n) in &c.names {
        crate::hotline::check_language(tag).map_err(|m| DomainError::invalid(f("names"), m))?;
        if n.trim().is_empty() {
            return Err(DomainError::invalid(
                f(&format!("names.{tag}")),
                "must not be empty",
            ));
        }
        check_text(&f(&format!("names.{tag}")), n, MAX_NAME)?;
    }
    if let Some(cc) = &c.country
        && (cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(DomainError::invalid(
            f("country"),
            format!("{cc:?} is not an ISO 3166-1 alpha-2 code such as SY or IL"),
        ));
    }
    if c.identifiers.len() > MAX_IDENTIFIERS {
        return Err(DomainError::invalid(
            f("identifiers"),
            format!("at most {MAX_IDENTIFIERS}"),
        ));
    }
    for (k, id) in c.identifiers.iter().enumerate() {
        check_text(&f(&format!("identifiers[{k}]")), id, 200)?;
    }
    Ok(())
}

fn file_proposal(
    state: &State,
    actor: &Actor,
    d: &ProposalBody,
    hits: &[Hit],
) -> Result<Vec<Draft>, DomainError> {
    let (_, filer) = speaks(actor)?;
    let charter = state.charter().ok_or(DomainError::NoCell)?;
    if d.title.trim().is_empty() {
        return Err(DomainError::invalid("title", "must not be empty"));
    }
    check_text("title", &d.title, MAX_TITLE)?;
    check_text("description", &d.description, MAX_DESCRIPTION)?;
    crate::hotline::check_language(&d.language).map_err(|m| DomainError::invalid("language", m))?;
    if d.translations.len() > MAX_TRANSLATIONS {
        return Err(DomainError::invalid(
            "translations",
            format!("at most {MAX_TRANSLATIONS}"),
        ));
    }
    for (i, t) in d.translations.iter().enumerate() {
        crate::hotline::check_language(&t.language)
            .map_err(|m| DomainError::invalid(format!("translations[{i}].language"), m))?;
        check_text(&format!("translations[{i}].title"), &t.title, MAX_TITLE)?;
        check_text(
            &format!("translations[{i}].description"),
            &t.description,
            MAX_DESCRIPTION,
        )?;
        if t.by.trim().is_empty() {
            return Err(DomainError::invalid(
                format!("translations[{i}].by"),
                "say who translated it",
            ));
        }
        check_text(&format!("translations[{i}].by"), &t.by, 200)?;
    }
    if d.parties.len() < 2 || d.parties.len() > MAX_PARTIES {
        return Err(DomainError::invalid(
            "parties",
            format!("name between 2 and {MAX_PARTIES} parties the proposal involves"),
        ));
    }
    for p in &d.parties {
        match charter.party(p).map(|x| x.role) {
            Some(PartyRole::Member) => {}
            Some(_) => {
                return Err(DomainError::invalid(
                    "parties",
                    format!("{p:?} is not a member party"),
                ));
            }
            None => {
                return Err(DomainError::invalid(
                    "parties",
                    format!("unknown party {p:?}"),
                ));
            }
        }
    }
    let supervisor = state.party_role(filer) == Some(PartyRole::Supervisor);
    if !supervisor && !d.parties.contains(filer) {
        return Err(DomainError::invalid(
            "parties",
            format!("a member party's proposal involves itself: add {filer:?}"),
        ));
    }
    if d.counterparties.len() > MAX_COUNTERPARTIES {
        return Err(DomainError::invalid(
            "counterparties",
            format!("at most {MAX_COUNTERPARTIES}"),
        ));
    }
    for (i, c) in d.counterparties.iter().enumerate() {
        check_counterparty(i, c)?;
    }
    if let Some(area) = &d.area {
        crate::deconfliction::check_shape(state, area)
            .map_err(|e| DomainError::invalid("area", e.to_string()))?;
    }
    if let Some(v) = d.value
        && (!v.is_finite() || !(0.0..=1e15).contains(&v))
    {
        return Err(DomainError::invalid(
            "value",
            "must be a number between 0 and 10^15",
        ));
    }
    if let Some(c) = &d.currency
        && (c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(DomainError::invalid(
            "currency",
            format!("{c:?} is not an ISO 4217 code such as USD or EUR"),
        ));
    }
    if d.value.is_some() != d.currency.is_some() {
        return Err(DomainError::invalid(
            "currency",
            "give a value and its currency together",
        ));
    }
    check_sha256s("documents", &d.documents)?;
    check_hits(hits, d.counterparties.len())?;
    let seq = state.next_seq();
    let mut readers: BTreeSet<PartyId> = d.parties.clone();
    readers.insert(filer.to_string());
    readers.extend(observers_reading(state));
    let mut out = vec![Draft::to_parties(
        state,
        &readers,
        EventBody::ProposalFiled {
            proposal: Box::new(d.clone()),
        },
    )];
    if !hits.is_empty() {
        out.push(screening_draft(
            state,
            filer,
            EventBody::ScreeningMatched {
                proposal: seq,
                hits: hits.to_vec(),
            },
        ));
    }
    Ok(out)
}

fn load_list(state: &State, actor: &Actor, c: &CoopCommand) -> Result<Vec<Draft>, DomainError> {
    let CoopCommand::LoadList {
        source,
        format,
        published,
        files,
        entries,
        screened,
    } = c
    else {
        return Err(DomainError::invalid("command", "not a list load"));
    };
    require_supervisor(actor, "load a sanctions list")?;
    check_text("source", source, 100)?;
    if source.trim().is_empty() {
        return Err(DomainError::invalid("source", "must not be empty"));
    }
    if files.is_empty() || files.len() > MAX_LIST_FILES {
        return Err(DomainError::invalid(
            "files",
            format!("a list load holds 1 to {MAX_LIST_FILES} files"),
        ));
    }
    for (i, f) in files.iter().enumerate() {
        check_text(&format!("files[{i}].name"), &f.name, 255)?;
        if f.size > MAX_LIST_FILE_BYTES {
            return Err(DomainError::invalid(
                format!("files[{i}]"),
                format!("{} is larger than {MAX_LIST_FILE_BYTES} bytes", f.name),
            ));
        }
    }
    check_sha256s(
        "files",
        &files.iter().map(|f| f.sha256.clone()).collect::<Vec<_>>(),
    )?;
    if !state.cooperation.lists.contains_key(source) && state.cooperation.lists.len() >= MAX_LISTS {
        return Err(DomainError::InvalidState(format!(
            "{MAX_LISTS} lists are in force already"
        )));
    }
    let mut out = vec![Draft::everyone(EventBody::ListLoaded {
        source: source.clone(),
        format: format.clone(),
        published: published.clone(),
        files: files.clone(),
        entries: *entries,
    })];
    for (id, hits) in screened {
        let Some(p) = state.cooperation.proposals.get(id) else {
            continue;
        };
        if p.is_closed() {
            continue;
        }
        check_hits(hits, p.draft.counterparties.len())?;
        let new: Vec<Hit> = hits
            .iter()
            .filter(|h| {
                !p.matches.iter().any(|m| {
                    m.hit.counterparty == h.counterparty
                        && m.hit.list == h.list
                        && m.hit.entry_id == h.entry_id
                })
            })
            .cloned()
            .collect();
        if !new.is_empty() {
            out.push(screening_draft(
                state,
                &p.filer,
                EventBody::ScreeningMatched {
                    proposal: *id,
                    hits: new,
                },
            ));
        }
    }
    Ok(out)
}

/// Whether `p` becomes agreed once `answered` has accepted (or with no new answer) and
/// its screening reads `screening`.
fn agrees(p: &Proposal, answered: Option<&str>, screening: &str) -> bool {
    p.agreed_at.is_none()
        && !p.is_closed()
        && screening == "clear"
        && p.awaiting().iter().all(|a| Some(a.as_str()) == answered)
}

fn review_match(
    state: &State,
    actor: &Actor,
    id: u64,
    index: u32,
    outcome: Review,
    reason: &str,
) -> Result<Vec<Draft>, DomainError> {
    require_supervisor(actor, "review a screening match")?;
    let p = proposal(state, id)?;
    let m = p
        .matches
        .get(index as usize)
        .ok_or_else(|| DomainError::not_found(format!("match {index} of proposal {id}")))?;
    if p.is_closed() {
        return Err(DomainError::InvalidState(format!(
            "proposal {id} is {}",
            p.state()
        )));
    }
    if outcome != Review::Clear && reason.trim().is_empty() {
        return Err(DomainError::invalid(
            "reason",
            "say why the match is held or rejected",
        ));
    }
    check_text("reason", reason, MAX_TEXT)?;
    if m.reviews.last().map(|r| r.outcome) == Some(outcome) {
        return Err(DomainError::InvalidState(format!(
            "match {index} of proposal {id} is already {}",
            m.status()
        )));
    }
    let mut out = vec![screening_draft(
        state,
        &p.filer,
        EventBody::ScreeningReviewed {
            proposal: id,
            index,
            outcome,
            reason: reason.to_string(),
        },
    )];
    let readers = p.readers(state);
    match outcome {
        Review::Reject => out.push(Draft::to_parties(
            state,
            &readers,
            EventBody::ProposalRejected { proposal: id },
        )),
        Review::Clear => {
            let mut after = p.clone();
            after.matches[index as usize].reviews.push(ReviewRecord {
                outcome,
                reason: String::new(),
                by: String::new(),
                at: Timestamp::from_micros(0),
                seq: 0,
            });
            if agrees(&after, None, after.screening()) {
                out.push(Draft::to_parties(
                    state,
                    &readers,
                    EventBody::ProposalAgreed { proposal: id },
                ));
            }
        }
        Review::Hold => {}
    }
    Ok(out)
}

fn answer(
    state: &State,
    actor: &Actor,
    id: u64,
    accept: bool,
    text: &str,
) -> Result<Vec<Draft>, DomainError> {
    let (_, party) = speaks(actor)?;
    let p = proposal(state, id)?;
    if !p.draft.parties.contains(party) {
        return Err(DomainError::forbidden(format!(
            "party {party:?} is not involved in proposal {id}"
        )));
    }
    if p.filer == party {
        return Err(DomainError::InvalidState(format!(
            "party {party:?} filed proposal {id}: its filing is its acceptance"
        )));
    }
    if p.answers.contains_key(party) {
        return Err(DomainError::InvalidState(format!(
            "party {party:?} has answered proposal {id} already"
        )));
    }
    if p.is_closed() {
        return Err(DomainError::InvalidState(format!(
            "proposal {id} is {}",
            p.state()
        )));
    }
    if !accept && text.trim().is_empty() {
        return Err(DomainError::invalid("text", "say why the party declines"));
    }
    check_text("text", text, MAX_TEXT)?;
    let readers = p.readers(state);
    let mut out = vec![Draft::to_parties(
        state,
        &readers,
        EventBody::ProposalAnswered {
            proposal: id,
            accepted: accept,
            text: text.to_string(),
        },
    )];
    if accept && agrees(p, Some(party), p.screening()) {
        out.push(Draft::to_parties(
            state,
            &readers,
            EventBody::ProposalAgreed { proposal: id },
        ));
    }
    Ok(out)
}

fn commit(
    state: &State,
    actor: &Actor,
    id: u64,
    party: Option<&PartyId>,
    what: &str,
    milestones: &[Milestone],
) -> Result<Vec<Draft>, DomainError> {
    let (_, mine) = speaks(actor)?;
    let p = proposal(state, id)?;
    let who = party.map_or(mine, String::as_str);
    if who != mine {
        return Err(DomainError::forbidden(format!(
            "a party commits itself: {mine:?} cannot commit {who:?}"
        )));
    }
    if !p.draft.parties.contains(who) {
        return Err(DomainError::forbidden(format!(
            "party {who:?} is not involved in proposal {id}"
        )));
    }
    if p.state() != "agreed" {
        return Err(DomainError::InvalidState(format!(
            "proposal {id} is {}: commitments are made on an agreed proposal",
            p.state()
        )));
    }
    if p.screening() != "clear" {
        return Err(DomainError::InvalidState(format!(
            "proposal {id} is held at screening: no commitment until it is cleared"
        )));
    }
    if what.trim().is_empty() {
        return Err(DomainError::invalid(
            "what",
            "say what the party commits to",
        ));
    }
    check_text("what", what, MAX_TEXT)?;
    if milestones.is_empty() || milestones.len() > MAX_MILESTONES {
        return Err(DomainError::invalid(
            "milestones",
            format!("give 1 to {MAX_MILESTONES} milestones"),
        ));
    }
    for (i, m) in milestones.iter().enumerate() {
        if m.what.trim().is_empty() {
            return Err(DomainError::invalid(
                format!("milestones[{i}].what"),
                "must not be empty",
            ));
        }
        check_text(&format!("milestones[{i}].what"), &m.what, 2000)?;
        if m.due < p.filed_at {
            return Err(DomainError::refused(
                "milestone_before_filing",
                format!(
                    "milestones[{i}].due is before proposal {id} was filed: a milestone falls after its proposal"
                ),
            ));
        }
    }
    Ok(vec![Draft::to_parties(
        state,
        &p.readers(state),
        EventBody::CommitmentMade {
            proposal: id,
            party: who.to_string(),
            what: what.to_string(),
            milestones: milestones.to_vec(),
        },
    )])
}

fn report(
    state: &State,
    actor: &Actor,
    id: u64,
    milestone: Option<u32>,
    text: &str,
    documents: &[String],
) -> Result<Vec<Draft>, DomainError> {
    let (_, party) = speaks(actor)?;
    let c = state
        .cooperation
        .commitments
        .get(&id)
        .ok_or_else(|| DomainError::not_found(format!("commitment {id}")))?;
    if c.party != party {
        return Err(DomainError::forbidden(format!(
            "commitment {id} is {:?}'s: only it reports its progress",
            c.party
        )));
    }
    if let Some(m) = milestone {
        match c.met.get(m as usize) {
            None => {
                return Err(DomainError::not_found(format!(
                    "milestone {m} of commitment {id}"
                )));
            }
            Some(Some(_)) => {
                return Err(DomainError::InvalidState(format!(
                    "milestone {m} of commitment {id} is met already"
                )));
            }
            Some(None) => {}
        }
    }
    if text.trim().is_empty() {
        return Err(DomainError::invalid("text", "say what was done"));
    }
    check_text("text", text, MAX_TEXT)?;
    check_sha256s("documents", documents)?;
    let p = proposal(state, c.proposal)?;
    Ok(vec![Draft::to_parties(
        state,
        &p.readers(state),
        EventBody::ProgressReported {
            commitment: id,
            milestone,
            text: text.to_string(),
            documents: documents.to_vec(),
        },
    )])
}

pub(crate) fn decide(
    state: &State,
    actor: &Actor,
    command: &CoopCommand,
) -> Result<Vec<Draft>, DomainError> {
    match command {
        CoopCommand::LoadList { .. } => load_list(state, actor, command),
        CoopCommand::FileProposal { proposal, hits } => file_proposal(state, actor, proposal, hits),
        CoopCommand::ReviewMatch {
            proposal,
            index,
            outcome,
            reason,
        } => review_match(state, actor, *proposal, *index, *outcome, reason),
        CoopCommand::AnswerProposal {
            proposal,
            accept,
            text,
        } => answer(state, actor, *proposal, *accept, text),
        CoopCommand::MakeCommitment {
            proposal,
            party,
            what,
            milestones,
        } => commit(state, actor, *proposal, party.as_ref(), what, milestones),
        CoopCommand::ReportProgress {
            commitment,
            milestone,
            text,
            documents,
        } => report(state, actor, *commitment, *milestone, text, documents),
    }
}

/// Folds cooperation events into the state. Returns false for events it does not know.
pub(crate) fn apply(state: &mut State, event: &Event) -> bool {
    let at = event.at;
    let by = event.author.operator.clone();
    match &event.body {
        EventBody::ListLoaded {
            source,
            format,
            published,
            files,
            entries,
        } => {
            state.cooperation.lists.insert(
                source.clone(),
                LoadedList {
                    source: source.clone(),
                    format: format.clone(),
                    published: published.clone(),
                    files: files.clone(),
                    entries: *entries,
                    seq: event.seq,
                    at,
                },
            );
        }
        EventBody::ProposalFiled { proposal } => {
            state.cooperation.proposals.insert(
                event.seq,
                Proposal {
                    id: event.seq,
                    filer: event.author.party.clone(),
                    operator: by,
                    filed_at: at,
                    draft: (**proposal).clone(),
                    answers: BTreeMap::new(),
                    matches: Vec::new(),
                    agreed_at: None,
                    rejected_at: None,
                    commitments: Vec::new(),
                },
            );
        }
        EventBody::ScreeningMatched { proposal, hits } => {
            if let Some(p) = state.cooperation.proposals.get_mut(proposal) {
                p.matches.extend(hits.iter().map(|h| ScreenedMatch {
                    hit: h.clone(),
                    seq: event.seq,
                    at,
                    reviews: Vec::new(),
                }));
            }
        }
        EventBody::ScreeningReviewed {
            proposal,
            index,
            outcome,
            reason,
        } => {
            if let Some(m) = state
                .cooperation
                .proposals
                .get_mut(proposal)
                .and_then(|p| p.matches.get_mut(*index as usize))
            {
                m.reviews.push(ReviewRecord {
                    outcome: *outcome,
                    reason: reason.clone(),
                    by,
                    at,
                    seq: event.seq,
                });
            }
        }
        EventBody::ProposalRejected { proposal } => {
            if let Some(p) = state.cooperation.proposals.get_mut(proposal) {
                p.rejected_at = Some(at);
            }
            settle_proposal(state, *proposal, at, &event.author.operator);
        }
        EventBody::ProposalAnswered {
            proposal,
            accepted,
            text,
        } => {
            if let Some(p) = state.cooperation.proposals.get_mut(proposal) {
                p.answers.insert(
                    event.author.party.clone(),
                    Answer {
                        accepted: *accepted,
                        text: text.clone(),
                        by,
                        at,
                    },
                );
            }
            if !accepted {
                settle_proposal(state, *proposal, at, &event.author.operator);
            }
        }
        EventBody::ProposalAgreed { proposal } => {
            if let Some(p) = state.cooperation.proposals.get_mut(proposal) {
                p.agreed_at = Some(at);
            }
        }
        EventBody::CommitmentMade {
            proposal,
            party,
            what,
            milestones,
        } => {
            let waiting: BTreeSet<PartyId> = state
                .cooperation
                .proposals
                .get(proposal)
                .map(|p| {
                    p.draft
                        .parties
                        .iter()
                        .filter(|x| *x != party)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let second = state
                .charter()
                .map(|c| c.settings.deadlines.second_level)
                .unwrap_or_default();
            for (i, m) in milestones.iter().enumerate() {
                let within = m.due.since(at).max(crate::time::Duration(0));
                state.obligations.open(
                    ObligationKey::new(
                        Duty::MeetMilestone,
                        milestone_subject(event.seq, i),
                        party.clone(),
                    ),
                    waiting.clone(),
                    at,
                    within,
                    second,
                );
            }
            if let Some(p) = state.cooperation.proposals.get_mut(proposal) {
                p.commitments.push(event.seq);
            }
            state.cooperation.commitments.insert(
                event.seq,
                Commitment {
                    id: event.seq,
                    proposal: *proposal,
                    party: party.clone(),
                    what: what.clone(),
                    milestones: milestones.clone(),
                    met: vec![None; milestones.len()],
                    reports: Vec::new(),
                    made_at: at,
                },
            );
        }
        EventBody::ProgressReported {
            commitment,
            milestone,
            text,
            documents,
        } => {
            if let Some(c) = state.cooperation.commitments.get_mut(commitment) {
                c.reports.push(Report {
                    milestone: *milestone,
                    text: text.clone(),
                    documents: documents.clone(),
                    by: by.clone(),
                    at,
                    seq: event.seq,
                });
                if let Some(m) = milestone
                    && let Some(slot) = c.met.get_mut(*m as usize)
                {
                    *slot = Some(at);
                    state.obligations.meet_all(
                        &Duty::MeetMilestone,
                        &milestone_subject(*commitment, *m as usize),
                        at,
                        &by,
                    );
                }
            }
        }
        _ => return false,
    }
    true
}

/// A proposal that ends (declined, rejected) settles what its commitments still owe.
fn settle_proposal(state: &mut State, id: u64, at: Timestamp, by: &str) {
    let Some(p) = state.cooperation.proposals.get(&id) else {
        return;
    };
    let mut subjects = Vec::new();
    for c in &p.commitments {
        if let Some(c) = state.cooperation.commitments.get(c) {
            subjects.extend((0..c.milestones.len()).map(|i| milestone_subject(c.id, i)));
        }
    }
    for s in subjects {
        state.obligations.meet_all(&Duty::MeetMilestone, &s, at, by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::command::tests::{actor, created, run};

    fn active() -> State {
        let mut s = created();
        let us = actor(&s, "us-supervisor");
        run(&mut s, &us, Command::ApproveCell).expect("approve");
        s
    }

    fn body(counterparties: usize) -> ProposalBody {
        ProposalBody {
            title: "Water for Majdal Shams".into(),
            description: String::new(),
            language: "en".into(),
            translations: Vec::new(),
            sector: Sector::Water,
            parties: ["il".to_string(), "sy".to_string()].into(),
            counterparties: (0..counterparties)
                .map(|i| Counterparty {
                    kind: CounterpartyKind::Organisation,
                    name: format!("Company {i}"),
                    names: BTreeMap::new(),
                    country: Some("SY".into()),
                    identifiers: Vec::new(),
                })
                .collect(),
            area: None,
            value: None,
            currency: None,
            documents: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    fn hit(counterparty: u32, entry: &str) -> Hit {
        Hit {
            counterparty,
            list: "ofac-sdn".into(),
            entry_id: entry.into(),
            listed_name: "LISTED".into(),
            our_name: "ours".into(),
            score: 0.9,
            why: "same letters".into(),
        }
    }

    fn coop(s: &mut State, who: &str, c: CoopCommand) -> Result<(), DomainError> {
        let a = actor(s, who);
        run(s, &a, Command::Cooperation(c))
    }

    fn file(s: &mut State, hits: Vec<Hit>) -> u64 {
        let id = s.next_seq();
        coop(
            s,
            "il-liaison",
            CoopCommand::FileProposal {
                proposal: Box::new(body(2)),
                hits,
            },
        )
        .expect("file");
        id
    }

    fn review(s: &mut State, id: u64, index: u32, outcome: Review) -> Result<(), DomainError> {
        coop(
            s,
            "us-supervisor",
            CoopCommand::ReviewMatch {
                proposal: id,
                index,
                outcome,
                reason: "checked".into(),
            },
        )
    }

    fn accept(s: &mut State, id: u64) {
        coop(
            s,
            "sy-liaison",
            CoopCommand::AnswerProposal {
                proposal: id,
                accept: true,
                text: String::new(),
            },
        )
        .expect("accept");
    }

    #[test]
    fn agreed_only_once_every_party_accepted_and_every_match_is_cleared() {
        let mut s = active();
        let id = file(&mut s, vec![hit(0, "1"), hit(1, "2")]);
        accept(&mut s, id);
        let p = &s.cooperation.proposals[&id];
        assert_eq!((p.state(), p.screening()), ("open", "pending"));
        review(&mut s, id, 0, Review::Hold).expect("hold");
        review(&mut s, id, 1, Review::Clear).expect("clear");
        assert_eq!(s.cooperation.proposals[&id].state(), "open", "held");
        review(&mut s, id, 0, Review::Clear).expect("clear");
        assert_eq!(s.cooperation.proposals[&id].state(), "agreed");
        let agreed = s
            .events
            .iter()
            .filter(|e| matches!(e.body, EventBody::ProposalAgreed { .. }))
            .count();
        assert_eq!(agreed, 1);
    }

    #[test]
    fn the_screening_is_addressed_to_the_filer_and_the_supervisor_only() {
        let mut s = active();
        let id = file(&mut s, vec![hit(0, "1")]);
        let filed = &s.events[id as usize];
        let screened = &s.events[id as usize + 1];
        assert!(matches!(screened.body, EventBody::ScreeningMatched { .. }));
        assert!(filed.audience.includes("sy") && filed.audience.includes("il"));
        assert!(!filed.audience.includes("undof"));
        assert!(screened.audience.includes("il") && screened.audience.includes("us"));
        assert!(!screened.audience.includes("sy"));
    }

    #[test]
    fn a_list_load_records_only_new_matches_and_a_reject_ends_the_proposal() {
        let mut s = active();
        let id = file(&mut s, vec![hit(0, "1")]);
        let load = |screened: Vec<(u64, Vec<Hit>)>| CoopCommand::LoadList {
            source: "ofac-sdn".into(),
            format: "ofac-csv".into(),
            published: None,
            files: vec![ListFile {
                name: "sdn.csv".into(),
                sha256: "ab".repeat(32),
                size: 10,
            }],
            entries: 3,
            screened,
        };
        coop(
            &mut s,
            "us-supervisor",
            load(vec![(id, vec![hit(0, "1"), hit(1, "7")])]),
        )
        .expect("load");
        let p = &s.cooperation.proposals[&id];
        assert_eq!(p.matches.len(), 2, "the known match is not recorded twice");
        assert_eq!(p.matches[1].hit.entry_id, "7");
        assert_eq!(
            coop(&mut s, "il-liaison", load(Vec::new())).map_err(|e| e.code()),
            Err("forbidden")
        );
        review(&mut s, id, 1, Review::Reject).expect("reject");
        assert_eq!(s.cooperation.proposals[&id].state(), "rejected");
        assert_eq!(
            review(&mut s, id, 0, Review::Clear).map_err(|e| e.code()),
            Err("invalid_state")
        );
    }

    #[test]
    fn milestones_are_deadlines_met_by_reports_and_none_before_filing() {
        let mut s = active();
        let id = file(&mut s, Vec::new());
        accept(&mut s, id);
        assert_eq!(s.cooperation.proposals[&id].state(), "agreed");
        let filed = s.cooperation.proposals[&id].filed_at;
        let commit = |due: Timestamp| CoopCommand::MakeCommitment {
            proposal: id,
            party: None,
            what: "pipes".into(),
            milestones: vec![Milestone {
                what: "delivered".into(),
                due,
            }],
        };
        assert_eq!(
            coop(
                &mut s,
                "sy-liaison",
                commit(Timestamp::from_micros(filed.micros() - 1))
            )
            .map_err(|e| e.code()),
            Err("milestone_before_filing")
        );
        let c = s.next_seq();
        let due = filed.plus(crate::Duration::from_hours(1));
        coop(&mut s, "sy-liaison", commit(due)).expect("commit");
        let key = ObligationKey::new(Duty::MeetMilestone, milestone_subject(c, 0), "sy");
        let o = s.obligations.get(&key).expect("obligation");
        assert_eq!(
            (o.first_due, o.waiting.clone()),
            (due, ["il".into()].into())
        );
        assert_eq!(s.obligations.due(due, 10).len(), 1);
        assert_eq!(
            coop(
                &mut s,
                "il-liaison",
                CoopCommand::ReportProgress {
                    commitment: c,
                    milestone: Some(0),
                    text: "done".into(),
                    documents: Vec::new()
                }
            )
            .map_err(|e| e.code()),
            Err("forbidden"),
            "only the committed party reports"
        );
        coop(
            &mut s,
            "sy-liaison",
            CoopCommand::ReportProgress {
                commitment: c,
                milestone: Some(0),
                text: "done".into(),
                documents: vec!["cd".repeat(32)],
            },
        )
        .expect("report");
        assert!(
            s.obligations.due(due, 10).is_empty(),
            "met: never escalates"
        );
    }

    proptest::proptest! {
        /// Whatever order answers and reviews come in, a proposal is agreed exactly
        /// when every other party accepted and every match is cleared, and once.
        #[test]
        fn agreement_follows_answers_and_reviews(
            steps in proptest::collection::vec((0u8..3, 0u32..3), 0..12),
            matches in 0usize..3,
        ) {
            let mut s = active();
            let id = file(&mut s, (0..matches).map(|i| hit(0, &i.to_string())).collect());
            for (what, index) in steps {
                let _ = match what {
                    0 => coop(&mut s, "sy-liaison", CoopCommand::AnswerProposal {
                        proposal: id, accept: true, text: String::new() }),
                    1 => review(&mut s, id, index, Review::Clear),
                    _ => review(&mut s, id, index, Review::Hold),
                };
                let p = &s.cooperation.proposals[&id];
                let should = p.answers.contains_key("sy") && p.screening() == "clear";
                let agreed_events = s.events.iter()
                    .filter(|e| matches!(e.body, EventBody::ProposalAgreed { .. })).count();
                proptest::prop_assert_eq!(agreed_events, usize::from(p.agreed_at.is_some()));
                if should {
                    proptest::prop_assert!(p.agreed_at.is_some());
                }
                if p.agreed_at.is_none() {
                    proptest::prop_assert!(!should);
                }
            }
        }
    }
}
