//! The review report on the wire: JSON, and a readable Markdown rendering.

use crate::time;
use liaison_core::review::Review;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AckStatsView {
    pub count: usize,
    pub p50_s: f64,
    pub p90_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OpenIncidentView {
    pub id: u64,
    pub category: String,
    pub reporter_party: String,
    pub attributed_to: String,
    pub age_hours: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MissedView {
    pub duty: String,
    pub subject: String,
    pub party: String,
    pub level: u8,
    pub due_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met_at: Option<String>,
    /// In words: `met late`, `still open at the end of the period`, `open, not yet due`.
    pub state: String,
}

impl MissedView {
    fn new(m: &liaison_core::review::Missed, state: &str) -> Self {
        MissedView {
            duty: m.duty.into(),
            subject: m.subject.clone(),
            party: m.party.clone(),
            level: m.level,
            due_at: time::format(m.due_at),
            met_at: m.met_at.map(time::format),
            state: state.into(),
        }
    }
}

/// Conflicts found on one party's notifications, by severity.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ConflictCounts {
    pub violations: usize,
    pub warnings: usize,
    pub info: usize,
}

/// The supervisor's intelligence decisions in the period.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IntelDecisionsView {
    pub approved: usize,
    pub redacted: usize,
    pub rejected: usize,
    /// What the redactions removed: whole objects, and properties.
    pub objects_removed: usize,
    pub properties_removed: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReviewReport {
    pub cell: String,
    pub from: String,
    pub to: String,
    pub generated_for: String,
    pub incidents_reported_by: BTreeMap<String, usize>,
    pub incidents_attributed_to: BTreeMap<String, usize>,
    pub incidents_by_category: BTreeMap<String, usize>,
    pub disowned_by: BTreeMap<String, usize>,
    pub messages_sent_by: BTreeMap<String, usize>,
    pub open_incidents: Vec<OpenIncidentView>,
    pub missed_deadlines: Vec<MissedView>,
    /// Deadlines open at the end of the period and not yet due.
    pub open_deadlines: Vec<MissedView>,
    pub acknowledgement_times: BTreeMap<String, AckStatsView>,
    pub notifications_by: BTreeMap<String, usize>,
    pub late_notices_by: BTreeMap<String, usize>,
    pub notifications_withdrawn_by: BTreeMap<String, usize>,
    /// By the party whose notification it was found on.
    pub conflicts_by: BTreeMap<String, ConflictCounts>,
    pub objections_by: BTreeMap<String, usize>,
    pub intel_submitted_by: BTreeMap<String, usize>,
    pub intel_decisions: IntelDecisionsView,
    pub cooperation: CooperationView,
}

/// Cooperation in the period: proposals, screening, overdue commitments.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CooperationView {
    /// Proposals filed in the period: sector → state (now) → count.
    pub proposals: BTreeMap<String, BTreeMap<String, usize>>,
    pub lists_loaded: BTreeMap<String, usize>,
    pub screening_matches: usize,
    /// Reviews of matches by outcome: `clear`, `hold`, `reject`.
    pub screening_reviews: BTreeMap<String, usize>,
    pub rejected_at_screening: usize,
    pub overdue_milestones: Vec<OverdueMilestoneView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OverdueMilestoneView {
    pub proposal: u64,
    pub commitment: u64,
    pub milestone: usize,
    pub party: String,
    pub what: String,
    pub due_at: String,
    pub escalation_level: u8,
}

impl CooperationView {
    fn new(r: &Review) -> Self {
        let mut proposals: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for ((sector, state), n) in &r.proposals_by {
            *proposals
                .entry(sector.to_string())
                .or_default()
                .entry(state.to_string())
                .or_default() += n;
        }
        CooperationView {
            proposals,
            lists_loaded: r.lists_loaded.clone(),
            screening_matches: r.screening_matches,
            screening_reviews: r
                .screening_reviews
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            rejected_at_screening: r.proposals_rejected_at_screening,
            overdue_milestones: r
                .overdue_milestones
                .iter()
                .map(|m| OverdueMilestoneView {
                    proposal: m.proposal,
                    commitment: m.commitment,
                    milestone: m.index,
                    party: m.party.clone(),
                    what: m.what.clone(),
                    due_at: time::format(m.due_at),
                    escalation_level: m.level,
                })
                .collect(),
        }
    }

    fn markdown(&self, s: &mut String) {
        let _ = writeln!(s, "## Cooperation proposals, by sector and state\n");
        if self.proposals.is_empty() {
            let _ = writeln!(s, "None.\n");
        } else {
            let _ = writeln!(s, "| sector | state | proposals |\n|---|---|---:|");
            for (sector, states) in &self.proposals {
                for (state, n) in states {
                    let _ = writeln!(s, "| {sector} | {state} | {n} |");
                }
            }
            let _ = writeln!(s);
        }
        let reviews = |k: &str| self.screening_reviews.get(k).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "## Sanctions screening\n\n| lists loaded | matches | cleared | held | rejected | proposals ended |\n|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} |\n",
            self.lists_loaded.values().sum::<usize>(),
            self.screening_matches,
            reviews("clear"),
            reviews("hold"),
            reviews("reject"),
            self.rejected_at_screening
        );
        let _ = writeln!(s, "## Overdue commitments\n");
        if self.overdue_milestones.is_empty() {
            let _ = writeln!(s, "None.\n");
        } else {
            let _ = writeln!(
                s,
                "| proposal | commitment | milestone | party | what | due | escalation |\n|---:|---:|---:|---|---|---|---:|"
            );
            for m in &self.overdue_milestones {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    m.proposal,
                    m.commitment,
                    m.milestone,
                    m.party,
                    m.what.replace('|', "/"),
                    m.due_at,
                    m.escalation_level
                );
            }
            let _ = writeln!(s);
        }
    }
}

fn secs(d: liaison_core::Duration) -> f64 {
    d.micros() as f64 / 1e6
}

impl ReviewReport {
    pub fn new(cell: &str, party: &str, r: &Review) -> Self {
        let own = |m: &BTreeMap<String, usize>| m.clone();
        ReviewReport {
            cell: cell.into(),
            from: time::format(r.from),
            to: time::format(r.to),
            generated_for: party.into(),
            incidents_reported_by: own(&r.incidents_reported_by),
            incidents_attributed_to: own(&r.incidents_attributed_to),
            incidents_by_category: r
                .incidents_by_category
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            disowned_by: own(&r.disowned_by),
            messages_sent_by: own(&r.messages_sent_by),
            open_incidents: r
                .open_incidents
                .iter()
                .map(|o| OpenIncidentView {
                    id: o.id,
                    category: o.category.into(),
                    reporter_party: o.reporter_party.clone(),
                    attributed_to: o.attributed_to.clone().unwrap_or_else(|| "unknown".into()),
                    age_hours: secs(o.age) / 3600.0,
                })
                .collect(),
            missed_deadlines: r
                .missed
                .iter()
                .map(|m| {
                    let state = if m.met_at.is_some() {
                        "met late"
                    } else {
                        "still open at the end of the period"
                    };
                    MissedView::new(m, state)
                })
                .collect(),
            open_deadlines: r
                .open_deadlines
                .iter()
                .map(|m| MissedView::new(m, "open, not yet due"))
                .collect(),
            notifications_by: own(&r.notifications_by),
            late_notices_by: own(&r.late_notices_by),
            notifications_withdrawn_by: own(&r.notifications_withdrawn_by),
            conflicts_by: r.conflicts_by.iter().fold(
                BTreeMap::new(),
                |mut m: BTreeMap<String, ConflictCounts>, ((p, severity), n)| {
                    let c = m.entry(p.clone()).or_default();
                    match severity.as_str() {
                        "violation" => c.violations += n,
                        "warning" => c.warnings += n,
                        _ => c.info += n,
                    }
                    m
                },
            ),
            objections_by: own(&r.objections_by),
            intel_submitted_by: own(&r.intel_submitted_by),
            intel_decisions: IntelDecisionsView {
                approved: r.intel_decisions.get("approved").copied().unwrap_or(0),
                redacted: r.intel_decisions.get("redacted").copied().unwrap_or(0),
                rejected: r.intel_decisions.get("rejected").copied().unwrap_or(0),
                objects_removed: r.redacted_objects,
                properties_removed: r.redacted_properties,
            },
            cooperation: CooperationView::new(r),
            acknowledgement_times: r
                .acknowledgement_times
                .iter()
                .map(|(p, s)| {
                    (
                        p.clone(),
                        AckStatsView {
                            count: s.count,
                            p50_s: secs(s.p50),
                            p90_s: secs(s.p90),
                            p99_s: secs(s.p99),
                            max_s: secs(s.max),
                        },
                    )
                })
                .collect(),
        }
    }

    /// A document a liaison officer can read or print.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Review report: {}\n", self.cell);
        let _ = writeln!(
            s,
            "Period: {} to {}  \nPrepared for: party `{}`\n",
            self.from, self.to, self.generated_for
        );
        let table = |s: &mut String, title: &str, head: &str, m: &BTreeMap<String, usize>| {
            let _ = writeln!(s, "## {title}\n");
            if m.is_empty() {
                let _ = writeln!(s, "None.\n");
                return;
            }
            let _ = writeln!(s, "| {head} | count |\n|---|---:|");
            for (k, v) in m {
                let _ = writeln!(s, "| {k} | {v} |");
            }
            let _ = writeln!(s);
        };
        table(
            &mut s,
            "Incidents reported, by reporting party",
            "party",
            &self.incidents_reported_by,
        );
        table(
            &mut s,
            "Incidents, by party they were attributed to",
            "party",
            &self.incidents_attributed_to,
        );
        table(
            &mut s,
            "Incidents, by category",
            "category",
            &self.incidents_by_category,
        );
        table(
            &mut s,
            "\"Not ours\" answers, by party",
            "party",
            &self.disowned_by,
        );
        table(
            &mut s,
            "Hotline messages sent, by party",
            "party",
            &self.messages_sent_by,
        );
        table(
            &mut s,
            "Activity notifications filed, by party",
            "party",
            &self.notifications_by,
        );
        table(
            &mut s,
            "Late notices (filed inside the lead time), by party",
            "party",
            &self.late_notices_by,
        );
        table(
            &mut s,
            "Notifications withdrawn, by party",
            "party",
            &self.notifications_withdrawn_by,
        );
        let _ = writeln!(s, "## Conflicts found on notifications, by filing party\n");
        if self.conflicts_by.is_empty() {
            let _ = writeln!(s, "None.\n");
        } else {
            let _ = writeln!(
                s,
                "| party | violations | warnings | info |\n|---|---:|---:|---:|"
            );
            for (p, c) in &self.conflicts_by {
                let _ = writeln!(
                    s,
                    "| {p} | {} | {} | {} |",
                    c.violations, c.warnings, c.info
                );
            }
            let _ = writeln!(s);
        }
        table(
            &mut s,
            "Objections to notifications, by objecting party",
            "party",
            &self.objections_by,
        );
        table(
            &mut s,
            "Intelligence submitted, by party",
            "party",
            &self.intel_submitted_by,
        );
        let d = &self.intel_decisions;
        let _ = writeln!(
            s,
            "## Intelligence decisions\n\n| approved | redacted | rejected | objects removed | properties removed |\n|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} |\n",
            d.approved, d.redacted, d.rejected, d.objects_removed, d.properties_removed
        );
        self.cooperation.markdown(&mut s);
        let _ = writeln!(s, "## Open incidents at the end of the period\n");
        if self.open_incidents.is_empty() {
            let _ = writeln!(s, "None.\n");
        } else {
            let _ = writeln!(
                s,
                "| id | category | reported by | attributed to | age (h) |\n|---:|---|---|---|---:|"
            );
            for o in &self.open_incidents {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {:.1} |",
                    o.id, o.category, o.reporter_party, o.attributed_to, o.age_hours
                );
            }
            let _ = writeln!(s);
        }
        for (title, rows) in [
            ("Missed deadlines", &self.missed_deadlines),
            (
                "Deadlines open at the end of the period",
                &self.open_deadlines,
            ),
        ] {
            let _ = writeln!(s, "## {title}\n");
            if rows.is_empty() {
                let _ = writeln!(s, "None.\n");
                continue;
            }
            let _ = writeln!(
                s,
                "| duty | subject | party | level | due | met | state |\n|---|---|---|---:|---|---|---|"
            );
            for m in rows {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    m.duty,
                    m.subject,
                    m.party,
                    m.level,
                    m.due_at,
                    m.met_at.as_deref().unwrap_or("—"),
                    m.state
                );
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "## Time to acknowledge hotline messages\n");
        if self.acknowledgement_times.is_empty() {
            let _ = writeln!(s, "No acknowledgements in the period.\n");
        } else {
            let _ = writeln!(
                s,
                "| party | acknowledged | p50 (s) | p90 (s) | p99 (s) | max (s) |\n|---|---:|---:|---:|---:|---:|"
            );
            for (p, a) in &self.acknowledgement_times {
                let _ = writeln!(
                    s,
                    "| {p} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
                    a.count, a.p50_s, a.p90_s, a.p99_s, a.max_s
                );
            }
        }
        s
    }
}
