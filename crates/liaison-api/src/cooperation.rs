//! Wire types for cooperation proposals, sanctions screening, answers, commitments and
//! progress reports.

use crate::time;
use crate::wire::Receipt;
use liaison_core::cooperation::{
    Commitment, Counterparty, CounterpartyKind, Hit, LoadedList, Proposal, ProposalTranslation,
    ScreenedMatch,
};
use liaison_core::deadline::{Duty, Obligations};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A counterparty as sent: `name` may be left out when `names` gives one (English first).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CounterpartyWire {
    /// `person` or `organisation` (`organization` is taken too).
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The name as written in each script, by language tag: `{"ar": "…", "he": "…", "en": "…"}`.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// ISO 3166-1 alpha-2 code.
    #[serde(default)]
    pub country: Option<String>,
    /// Registration numbers and other identifiers.
    #[serde(default)]
    pub identifiers: Vec<String>,
}

impl CounterpartyWire {
    /// The core's counterparty; an unknown kind is named by its index.
    pub fn to_core(&self, i: usize) -> Result<Counterparty, String> {
        let kind = CounterpartyKind::parse(&self.kind).ok_or_else(|| {
            format!(
                "counterparties[{i}].kind: {:?} is not person or organisation",
                self.kind
            )
        })?;
        let name = self
            .name
            .clone()
            .or_else(|| self.names.get("en").cloned())
            .or_else(|| self.names.values().next().cloned())
            .unwrap_or_default();
        Ok(Counterparty {
            kind,
            name,
            names: self.names.clone(),
            country: self.country.clone(),
            identifiers: self.identifiers.clone(),
        })
    }
}

impl From<&Counterparty> for CounterpartyWire {
    fn from(c: &Counterparty) -> Self {
        CounterpartyWire {
            kind: c.kind.as_str().into(),
            name: Some(c.name.clone()),
            names: c.names.clone(),
            country: c.country.clone(),
            identifiers: c.identifiers.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TranslationWire {
    pub language: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Who translated it.
    pub by: String,
}

impl From<&ProposalTranslation> for TranslationWire {
    fn from(t: &ProposalTranslation) -> Self {
        TranslationWire {
            language: t.language.clone(),
            title: t.title.clone(),
            description: t.description.clone(),
            by: t.by.clone(),
        }
    }
}

impl From<TranslationWire> for ProposalTranslation {
    fn from(t: TranslationWire) -> Self {
        ProposalTranslation {
            language: t.language,
            title: t.title,
            description: t.description,
            by: t.by,
        }
    }
}

/// `POST /api/v1/cooperation/proposals`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProposalRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The language of the title and description. Default `en`.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub translations: Vec<TranslationWire>,
    /// `energy`, `water`, `agriculture`, `trade_and_crossings`, `health`, `demining`,
    /// `reconstruction`, `telecommunications`, `tourism` or `other`.
    pub sector: String,
    /// The member parties the proposal involves (a member party's own included).
    pub parties: Vec<String>,
    #[serde(default)]
    pub counterparties: Vec<CounterpartyWire>,
    /// A GeoJSON geometry: Point, LineString, Polygon or MultiPolygon.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub area: Option<serde_json::Value>,
    /// Metres around the area checked against zones and sites (a point's radius). Default 0.
    #[serde(default)]
    pub area_buffer_m: Option<f64>,
    #[serde(default)]
    pub value: Option<f64>,
    /// ISO 4217 code, with `value`.
    #[serde(default)]
    pub currency: Option<String>,
    /// SHA-256 of each document (uploaded as attachments are).
    #[serde(default)]
    pub documents: Vec<String>,
}

/// One match, as a proposal's screening and `POST /api/v1/screening/check` state it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MatchView {
    /// The counterparty's name as the proposal gives it (or the name checked).
    pub counterparty: String,
    /// The counterparty's index in the proposal (absent for a check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty_index: Option<u32>,
    /// The list's source: `ofac-sdn`, `un-sc`, `opensanctions` ...
    pub list: String,
    pub entry_id: String,
    pub listed_name: String,
    /// Which of our names met the listed name.
    pub our_name: String,
    pub score: f64,
    pub why: String,
    /// The match's number within the proposal, for reviewing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// `pending`, `cleared`, `held` or `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<ReviewView>,
}

impl MatchView {
    pub fn of_hit(h: &Hit, counterparty: &str) -> MatchView {
        MatchView {
            counterparty: counterparty.to_string(),
            counterparty_index: Some(h.counterparty),
            list: h.list.clone(),
            entry_id: h.entry_id.clone(),
            listed_name: h.listed_name.clone(),
            our_name: h.our_name.clone(),
            score: h.score,
            why: h.why.clone(),
            index: None,
            status: None,
            found_at: None,
            reviews: Vec::new(),
        }
    }

    pub fn of_match(p: &Proposal, index: usize, m: &ScreenedMatch) -> MatchView {
        let name = p
            .draft
            .counterparties
            .get(m.hit.counterparty as usize)
            .map_or("", |c| c.name.as_str());
        MatchView {
            index: u32::try_from(index).ok(),
            status: Some(m.status().into()),
            found_at: Some(time::format(m.at)),
            reviews: m
                .reviews
                .iter()
                .map(|r| ReviewView {
                    outcome: r.outcome.as_str().into(),
                    reason: r.reason.clone(),
                    by: r.by.clone(),
                    at: time::format(r.at),
                })
                .collect(),
            ..MatchView::of_hit(&m.hit, name)
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ReviewView {
    /// `clear`, `hold` or `reject`.
    pub outcome: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// A proposal's screening: read by the supervisor and the filing party only.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ScreeningView {
    /// `clear`, `pending` (a match not reviewed), `held` or `rejected`.
    pub status: String,
    pub matches: Vec<MatchView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ProposalFiled {
    pub id: u64,
    pub receipt: Receipt,
    pub screening: ScreeningView,
    /// `{"sites": [...], "zones": [...]}`: what the area touches.
    #[schema(value_type = Object)]
    pub conflicts: serde_json::Value,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AnswerView {
    pub party: String,
    pub accepted: bool,
    pub text: String,
    pub by: String,
    pub at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MilestoneView {
    pub index: u32,
    pub what: String,
    pub due: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met_at: Option<String>,
    /// 0 until the milestone passes unmet; then 1, then 2.
    pub escalation_level: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ReportView {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<u32>,
    pub text: String,
    pub documents: Vec<String>,
    pub by: String,
    pub at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct CommitmentView {
    pub id: u64,
    pub proposal: u64,
    pub party: String,
    pub what: String,
    pub made_at: String,
    pub milestones: Vec<MilestoneView>,
    pub reports: Vec<ReportView>,
}

impl CommitmentView {
    pub fn new(c: &Commitment, obligations: &Obligations) -> CommitmentView {
        CommitmentView {
            id: c.id,
            proposal: c.proposal,
            party: c.party.clone(),
            what: c.what.clone(),
            made_at: time::format(c.made_at),
            milestones: c
                .milestones
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let key = liaison_core::deadline::ObligationKey::new(
                        Duty::MeetMilestone,
                        liaison_core::cooperation::milestone_subject(c.id, i),
                        c.party.clone(),
                    );
                    MilestoneView {
                        index: u32::try_from(i).unwrap_or(u32::MAX),
                        what: m.what.clone(),
                        due: time::format(m.due),
                        met_at: c.met.get(i).copied().flatten().map(time::format),
                        escalation_level: obligations.get(&key).map_or(0, |o| o.level),
                    }
                })
                .collect(),
            reports: c
                .reports
                .iter()
                .map(|r| ReportView {
                    id: r.seq,
                    milestone: r.milestone,
                    text: r.text.clone(),
                    documents: r.documents.clone(),
                    by: r.by.clone(),
                    at: time::format(r.at),
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ProposalView {
    pub id: u64,
    pub title: String,
    pub description: String,
    pub language: String,
    pub translations: Vec<TranslationWire>,
    pub sector: String,
    pub parties: Vec<String>,
    /// The filing party and operator.
    pub filer: String,
    pub filed_by: String,
    pub filed_at: String,
    pub counterparties: Vec<CounterpartyWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub area: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub documents: Vec<String>,
    /// `{"sites": [...], "zones": [...]}` as found at filing.
    #[schema(value_type = Object)]
    pub conflicts: serde_json::Value,
    /// `open`, `agreed`, `declined` or `rejected`.
    pub state: String,
    /// Whether screening stands in the way of agreement (true: it does not).
    pub screening_clear: bool,
    pub answers: Vec<AnswerView>,
    /// Parties whose answer is awaited.
    pub awaiting: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreed_at: Option<String>,
    pub commitments: Vec<CommitmentView>,
    /// The matches and their reviews: for the supervisor and the filing party only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screening: Option<ScreeningView>,
}

impl ProposalView {
    /// The proposal as a reader sees it; `area` and `conflicts` are the edge's GeoJSON.
    /// `matches` are the matches (with their indices) the reader may read, `None` when
    /// it may read none of the screening.
    pub fn new(
        p: &Proposal,
        commitments: Vec<CommitmentView>,
        area: Option<serde_json::Value>,
        conflicts: serde_json::Value,
        matches: Option<Vec<MatchView>>,
    ) -> ProposalView {
        let d = &p.draft;
        ProposalView {
            id: p.id,
            title: d.title.clone(),
            description: d.description.clone(),
            language: d.language.clone(),
            translations: d.translations.iter().map(TranslationWire::from).collect(),
            sector: d.sector.as_str().into(),
            parties: d.parties.iter().cloned().collect(),
            filer: p.filer.clone(),
            filed_by: p.operator.clone(),
            filed_at: time::format(p.filed_at),
            counterparties: d
                .counterparties
                .iter()
                .map(CounterpartyWire::from)
                .collect(),
            area,
            value: d.value,
            currency: d.currency.clone(),
            documents: d.documents.clone(),
            conflicts,
            state: p.state().into(),
            screening_clear: p.screening() == "clear",
            answers: p
                .answers
                .iter()
                .map(|(party, a)| AnswerView {
                    party: party.clone(),
                    accepted: a.accepted,
                    text: a.text.clone(),
                    by: a.by.clone(),
                    at: time::format(a.at),
                })
                .collect(),
            awaiting: if p.is_closed() {
                Vec::new()
            } else {
                p.awaiting().into_iter().collect()
            },
            agreed_at: p.agreed_at.map(time::format),
            commitments,
            screening: matches.map(|matches| ScreeningView {
                status: p.screening().into(),
                matches,
            }),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ProposalList {
    pub proposals: Vec<ProposalSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProposalSummary {
    pub id: u64,
    pub title: String,
    pub sector: String,
    pub filer: String,
    pub parties: Vec<String>,
    pub state: String,
    pub screening_clear: bool,
    pub filed_at: String,
}

impl From<&Proposal> for ProposalSummary {
    fn from(p: &Proposal) -> Self {
        ProposalSummary {
            id: p.id,
            title: p.draft.title.clone(),
            sector: p.draft.sector.as_str().into(),
            filer: p.filer.clone(),
            parties: p.draft.parties.iter().cloned().collect(),
            state: p.state().into(),
            screening_clear: p.screening() == "clear",
            filed_at: time::format(p.filed_at),
        }
    }
}

/// `POST /api/v1/cooperation/proposals/{id}/answer`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub accept: bool,
    #[serde(default)]
    pub text: String,
}

/// `POST /api/v1/cooperation/proposals/{id}/matches/{index}/review`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `clear`, `hold` or `reject`.
    pub outcome: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MilestoneWire {
    pub what: String,
    /// RFC 3339.
    pub due: String,
}

/// `POST /api/v1/cooperation/proposals/{id}/commitments`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CommitmentRequest {
    /// The committing party: the caller's own (the default).
    #[serde(default)]
    pub party: Option<String>,
    pub what: String,
    pub milestones: Vec<MilestoneWire>,
}

/// `POST /api/v1/cooperation/commitments/{id}/reports`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// The milestone the report meets, if it meets one.
    #[serde(default)]
    pub milestone: Option<u32>,
    pub text: String,
    #[serde(default)]
    pub documents: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListFileUpload {
    /// The file's name as published: `sdn.csv`, `alt.csv`, `add.csv`, or any name for
    /// the UN XML and the FtM JSON lines.
    pub name: String,
    /// The file's bytes in standard base64.
    pub content_base64: String,
}

/// `POST /api/v1/screening/lists`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListLoadRequest {
    /// `ofac-csv`, `un-xml` or `ftm-json`.
    pub format: String,
    /// The publication date the supervisor expects (YYYY-MM-DD): a file that states
    /// another is refused.
    #[serde(default)]
    pub published: Option<String>,
    pub files: Vec<ListFileUpload>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ListFileView {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ListView {
    pub id: u64,
    pub source: String,
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    pub entries: u64,
    pub files: Vec<ListFileView>,
    pub loaded_at: String,
}

impl From<&LoadedList> for ListView {
    fn from(l: &LoadedList) -> Self {
        ListView {
            id: l.seq,
            source: l.source.clone(),
            format: l.format.clone(),
            published: l.published.clone(),
            entries: l.entries,
            files: l
                .files
                .iter()
                .map(|f| ListFileView {
                    name: f.name.clone(),
                    sha256: f.sha256.clone(),
                    size: f.size,
                })
                .collect(),
            loaded_at: time::format(l.at),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ListLoaded {
    pub list: ListView,
    /// Proposals newly matched by this load (each with its number of new matches).
    pub new_matches: BTreeMap<u64, usize>,
    pub receipt: Receipt,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ListsView {
    pub lists: Vec<ListView>,
}

/// `POST /api/v1/screening/check`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub name: String,
    /// `person` or `organisation`; any kind when absent.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CheckAnswer {
    pub matches: Vec<MatchView>,
    /// The lists checked against, by source, with their publication dates.
    pub lists: BTreeMap<String, Option<String>>,
}
