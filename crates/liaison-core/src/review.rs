//! Periodic review, in the manner of the incidents-at-sea annual reviews and the UN
//! observers' reports: what happened in a period, what is still open, who missed which
//! deadline and how fast each party acknowledges. Computed only over what the reader
//! may see.

use crate::PartyId;
use crate::state::State;
use crate::time::{Duration, Timestamp};
use crate::visibility::{Viewer, can_see};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AckStats {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OpenIncident {
    pub id: u64,
    pub category: &'static str,
    pub reporter_party: PartyId,
    pub attributed_to: Option<PartyId>,
    pub age: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Missed {
    pub duty: &'static str,
    pub subject: String,
    pub party: PartyId,
    pub level: u8,
    pub due_at: Timestamp,
    pub met_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Review {
    pub from: Timestamp,
    pub to: Timestamp,
    pub incidents_reported_by: BTreeMap<PartyId, usize>,
    pub incidents_attributed_to: BTreeMap<String, usize>,
    pub incidents_by_category: BTreeMap<&'static str, usize>,
    pub disowned_by: BTreeMap<PartyId, usize>,
    pub messages_sent_by: BTreeMap<PartyId, usize>,
    pub open_incidents: Vec<OpenIncident>,
    pub missed: Vec<Missed>,
    /// Deadlines still open at the end of the period and not yet passed.
    pub open_deadlines: Vec<Missed>,
    pub acknowledgement_times: BTreeMap<PartyId, AckStats>,
    /// Activity notifications filed, by filing party.
    pub notifications_by: BTreeMap<PartyId, usize>,
    /// Of those, filed later than the charter's lead time, by filing party.
    pub late_notices_by: BTreeMap<PartyId, usize>,
    /// Conflicts found on notifications (when filed or later), by the filing party and
    /// severity (`violation`, `warning`, `info`).
    pub conflicts_by: BTreeMap<(PartyId, String), usize>,
    /// Objections to other parties' notifications, by objecting party.
    pub objections_by: BTreeMap<PartyId, usize>,
    /// Withdrawn notifications, by filing party.
    pub notifications_withdrawn_by: BTreeMap<PartyId, usize>,
    /// The supervisor's intelligence decisions, by decision (`approved`, `redacted`,
    /// `rejected`).
    pub intel_decisions: BTreeMap<&'static str, usize>,
    /// What redactions removed: whole objects, and properties.
    pub redacted_objects: usize,
    pub redacted_properties: usize,
    /// Intelligence submitted, by submitting party.
    pub intel_submitted_by: BTreeMap<PartyId, usize>,
    /// Cooperation proposals filed in the period, by sector and state (as it stands now).
    pub proposals_by: BTreeMap<(&'static str, &'static str), usize>,
    /// Screening matches recorded in the period (at filing or at a list load).
    pub screening_matches: usize,
    /// The supervisor's reviews of matches in the period, by outcome.
    pub screening_reviews: BTreeMap<&'static str, usize>,
    /// Proposals ended at screening in the period.
    pub proposals_rejected_at_screening: usize,
    /// Sanctions lists loaded in the period, by source.
    pub lists_loaded: BTreeMap<String, usize>,
    /// Milestones of commitments due before the end of the period and unmet then.
    pub overdue_milestones: Vec<OverdueMilestone>,
}

/// A commitment's milestone past due and unmet at the end of the period.
#[derive(Clone, Debug, PartialEq)]
pub struct OverdueMilestone {
    pub proposal: u64,
    pub commitment: u64,
    pub index: usize,
    pub party: PartyId,
    pub what: String,
    pub due_at: Timestamp,
    pub level: u8,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::default();
    }
    let rank = ((p / 100.0) * (sorted.len() as f64)).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn in_period(t: Timestamp, from: Timestamp, to: Timestamp) -> bool {
    t >= from && t < to
}

pub fn review(
    state: &State,
    viewer: &Viewer,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Review {
    let seen = |seq: u64| {
        state
            .events
            .get(seq as usize)
            .is_some_and(|e| can_see(viewer, e))
    };
    let mut r = Review {
        from,
        to,
        ..Review::default()
    };
    for i in state.incidents.values() {
        if !seen(i.id) {
            continue;
        }
        if in_period(i.reported_at, from, to) {
            *r.incidents_reported_by
                .entry(i.reporter_party.clone())
                .or_default() += 1;
            *r.incidents_attributed_to
                .entry(i.attributed_to.clone().unwrap_or_else(|| "unknown".into()))
                .or_default() += 1;
            *r.incidents_by_category
                .entry(i.category.as_str())
                .or_default() += 1;
            for a in i.accounts.iter().filter(|a| a.disowned) {
                *r.disowned_by.entry(a.party.clone()).or_default() += 1;
            }
        }
        if i.reported_at < to && i.closure.as_ref().is_none_or(|c| c.at >= to) {
            r.open_incidents.push(OpenIncident {
                id: i.id,
                category: i.category.as_str(),
                reporter_party: i.reporter_party.clone(),
                attributed_to: i.attributed_to.clone(),
                age: to.min(now).since(i.reported_at),
            });
        }
    }
    let mut times: BTreeMap<PartyId, Vec<Duration>> = BTreeMap::new();
    for m in state.hotline.messages.values() {
        if !seen(m.id) || !in_period(m.sent_at, from, to) {
            continue;
        }
        *r.messages_sent_by.entry(m.from.clone()).or_default() += 1;
        for (p, rs) in &m.recipients {
            if let Some(at) = rs.acknowledged_at {
                times
                    .entry(p.clone())
                    .or_default()
                    .push(at.since(m.sent_at));
            }
        }
    }
    for o in state.obligations.all.values() {
        let subject_seq = o
            .key
            .subject
            .split('/')
            .next()
            .and_then(|s| s.parse::<u64>().ok());
        if subject_seq.is_none_or(|s| !seen(s)) {
            continue;
        }
        let row = || Missed {
            duty: o.key.duty.as_str(),
            subject: o.key.subject.clone(),
            party: o.key.party.clone(),
            level: o.level,
            due_at: o.first_due,
            // What was known at the end of the period.
            met_at: o.met_at.filter(|m| *m < to),
        };
        if o.level > 0 && in_period(o.first_due, from, to) {
            r.missed.push(row());
        } else if o.opened_at < to && o.first_due >= to && o.met_at.is_none_or(|m| m >= to) {
            r.open_deadlines.push(row());
        }
    }
    record_events(state, &seen, from, to, &mut r);
    cooperation(state, &seen, from, to, &mut r);
    for (p, mut v) in times {
        v.sort();
        r.acknowledgement_times.insert(
            p,
            AckStats {
                count: v.len(),
                p50: percentile(&v, 50.0),
                p90: percentile(&v, 90.0),
                p99: percentile(&v, 99.0),
                max: v.last().copied().unwrap_or_default(),
            },
        );
    }
    r
}

/// Deconfliction and intelligence, counted from the record's events in the period.
fn record_events(
    state: &State,
    seen: &dyn Fn(u64) -> bool,
    from: Timestamp,
    to: Timestamp,
    r: &mut Review,
) {
    use crate::event::EventBody;
    let first = state.events.partition_point(|e| e.at < from);
    let filer = |n: u64| {
        state
            .deconfliction
            .notifications
            .get(&n)
            .map(|n| n.party.clone())
    };
    for e in state.events[first..].iter().take_while(|e| e.at < to) {
        if !seen(e.seq) {
            continue;
        }
        let party = || e.author.party.clone();
        match &e.body {
            EventBody::NotificationFiled { late, .. } => {
                *r.notifications_by.entry(party()).or_default() += 1;
                if *late {
                    *r.late_notices_by.entry(party()).or_default() += 1;
                }
            }
            // Each conflict is its own event, when filed or found later.
            EventBody::ConflictDetected {
                notification,
                conflict,
            } => {
                let p = filer(*notification).unwrap_or_default();
                *r.conflicts_by
                    .entry((p, conflict.severity.clone()))
                    .or_default() += 1;
            }
            EventBody::NotificationAnswered {
                objection: true, ..
            } => *r.objections_by.entry(party()).or_default() += 1,
            EventBody::NotificationWithdrawn { .. } => {
                *r.notifications_withdrawn_by.entry(party()).or_default() += 1;
            }
            EventBody::ScreeningMatched { hits, .. } => r.screening_matches += hits.len(),
            EventBody::ScreeningReviewed { outcome, .. } => {
                *r.screening_reviews.entry(outcome.as_str()).or_default() += 1;
            }
            EventBody::ProposalRejected { .. } => r.proposals_rejected_at_screening += 1,
            EventBody::ListLoaded { source, .. } => {
                *r.lists_loaded.entry(source.clone()).or_default() += 1;
            }
            EventBody::IntelSubmitted { .. } => {
                *r.intel_submitted_by.entry(party()).or_default() += 1;
            }
            EventBody::IntelDecided {
                decision,
                removed_objects,
                removed_properties,
                ..
            } => {
                *r.intel_decisions.entry(decision.as_str()).or_default() += 1;
                r.redacted_objects += removed_objects.len();
                r.redacted_properties += removed_properties.values().map(Vec::len).sum::<usize>();
            }
            _ => {}
        }
    }
}

/// Proposals by sector and state, and the milestones overdue at the end of the period.
fn cooperation(
    state: &State,
    seen: &dyn Fn(u64) -> bool,
    from: Timestamp,
    to: Timestamp,
    r: &mut Review,
) {
    for p in state.cooperation.proposals.values() {
        if seen(p.id) && in_period(p.filed_at, from, to) {
            *r.proposals_by
                .entry((p.draft.sector.as_str(), p.state()))
                .or_default() += 1;
        }
    }
    for c in state.cooperation.commitments.values() {
        if !seen(c.id) {
            continue;
        }
        for (i, m) in c.milestones.iter().enumerate() {
            let met = c.met.get(i).copied().flatten().is_some_and(|t| t < to);
            if m.due < to && !met {
                let key = crate::deadline::ObligationKey::new(
                    crate::deadline::Duty::MeetMilestone,
                    crate::cooperation::milestone_subject(c.id, i),
                    c.party.clone(),
                );
                let o = state.obligations.get(&key);
                if o.is_some_and(|o| !o.is_open() && o.met_at.is_some_and(|t| t < to)) {
                    // Settled: its proposal ended.
                    continue;
                }
                r.overdue_milestones.push(OverdueMilestone {
                    proposal: c.proposal,
                    commitment: c.id,
                    index: i,
                    party: c.party.clone(),
                    what: m.what.clone(),
                    due_at: m.due,
                    level: o.map_or(0, |o| o.level),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=10).map(Duration::from_secs).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_secs(5));
        assert_eq!(percentile(&v, 90.0), Duration::from_secs(9));
        assert_eq!(percentile(&v, 99.0), Duration::from_secs(10));
        assert_eq!(percentile(&[], 50.0), Duration::default());
    }
}
