//! Deadlines and escalation: one mechanism for everything that must be acknowledged or
//! answered (hotline messages, released intelligence, activity notifications, incidents,
//! requests for information).
//!
//! An [`Obligation`] is opened by the event that creates the duty and met by the event
//! that fulfils it; both are folded in [`State::apply`](crate::State::apply), so the set
//! of open obligations is derived from the record and survives restarts. The cell's
//! clock (at the edge) asks [`due`] which obligations have passed their deadline and
//! records an `escalated` event for each; applying it raises the level, so the same
//! deadline can never fire twice.

use crate::time::{Duration, Timestamp};
use crate::{OperatorName, PartyId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The highest escalation level; after it, an unmet obligation stays escalated.
pub const MAX_LEVEL: u8 = 2;

/// What is owed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// Acknowledge a hotline message.
    AcknowledgeMessage,
    /// Acknowledge released intelligence.
    AcknowledgeRelease,
    /// Acknowledge or object to an activity notification.
    AnswerNotification,
    /// Acknowledge an incident attributed to the party.
    AcknowledgeIncident,
    /// Give the party's account of an incident.
    GiveAccount,
    /// Answer the supervisor's request for information.
    ProvideInformation,
    /// Accept or reject another party's proposed change to a site the party registered.
    AnswerSiteProposal,
    /// Meet a milestone of a cooperation commitment the party made.
    MeetMilestone,
}

impl Duty {
    /// Every duty, in a fixed order.
    pub const ALL: [Duty; 8] = [
        Duty::AcknowledgeMessage,
        Duty::AcknowledgeRelease,
        Duty::AnswerNotification,
        Duty::AcknowledgeIncident,
        Duty::GiveAccount,
        Duty::ProvideInformation,
        Duty::AnswerSiteProposal,
        Duty::MeetMilestone,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Duty::AcknowledgeMessage => "acknowledge_message",
            Duty::AcknowledgeRelease => "acknowledge_release",
            Duty::AnswerNotification => "answer_notification",
            Duty::AcknowledgeIncident => "acknowledge_incident",
            Duty::GiveAccount => "give_account",
            Duty::ProvideInformation => "provide_information",
            Duty::AnswerSiteProposal => "answer_site_proposal",
            Duty::MeetMilestone => "meet_milestone",
        }
    }
}

/// Identifies an obligation: the duty, the subject (message id, incident id, ...) and
/// the party that owes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObligationKey {
    pub duty: Duty,
    pub subject: String,
    pub party: PartyId,
}

impl ObligationKey {
    pub fn new(duty: Duty, subject: impl Into<String>, party: impl Into<String>) -> Self {
        ObligationKey {
            duty,
            subject: subject.into(),
            party: party.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Obligation {
    pub key: ObligationKey,
    /// Who is waiting for it (the sender, the reporter); alerted with the supervisor.
    pub waiting: BTreeSet<PartyId>,
    pub opened_at: Timestamp,
    pub first_due: Timestamp,
    /// When the next escalation fires, if the obligation is still open.
    pub next_due: Option<Timestamp>,
    pub level: u8,
    /// Delay between the first and the second escalation.
    pub second_level: Duration,
    pub met_at: Option<Timestamp>,
    pub met_by: Option<OperatorName>,
    /// Escalation times, one per level reached.
    pub escalated_at: Vec<Timestamp>,
}

impl Obligation {
    pub fn is_open(&self) -> bool {
        self.met_at.is_none()
    }
}

/// All obligations, with an index by next due time so the clock's question is cheap.
#[derive(Clone, Debug, Default)]
pub struct Obligations {
    pub all: BTreeMap<ObligationKey, Obligation>,
    due: BTreeSet<(Timestamp, ObligationKey)>,
}

impl Obligations {
    pub fn open(
        &mut self,
        key: ObligationKey,
        waiting: BTreeSet<PartyId>,
        at: Timestamp,
        deadline: Duration,
        second_level: Duration,
    ) {
        if self.all.contains_key(&key) {
            return;
        }
        let due = at.plus(deadline);
        self.due.insert((due, key.clone()));
        self.all.insert(
            key.clone(),
            Obligation {
                key,
                waiting,
                opened_at: at,
                first_due: due,
                next_due: Some(due),
                level: 0,
                second_level,
                met_at: None,
                met_by: None,
                escalated_at: Vec::new(),
            },
        );
    }

    /// Marks an obligation met; a second fulfilment changes nothing.
    pub fn meet(&mut self, key: &ObligationKey, at: Timestamp, by: &str) {
        if let Some(o) = self.all.get_mut(key)
            && o.met_at.is_none()
        {
            o.met_at = Some(at);
            o.met_by = Some(by.to_string());
            if let Some(d) = o.next_due.take() {
                self.due.remove(&(d, key.clone()));
            }
        }
    }

    /// Meets every open obligation matching the duty and subject, whoever owes it.
    pub fn meet_all(&mut self, duty: &Duty, subject: &str, at: Timestamp, by: &str) {
        let keys: Vec<ObligationKey> = self
            .all
            .range(ObligationKey::new(duty.clone(), subject, "")..)
            .take_while(|(k, _)| &k.duty == duty && k.subject == subject)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.meet(&k, at, by);
        }
    }

    /// Records that `key` escalated to `level` at `at`.
    pub fn escalate(&mut self, key: &ObligationKey, level: u8, at: Timestamp) {
        if let Some(o) = self.all.get_mut(key) {
            if o.met_at.is_some() || level <= o.level {
                return;
            }
            if let Some(d) = o.next_due.take() {
                self.due.remove(&(d, key.clone()));
            }
            o.level = level;
            o.escalated_at.push(at);
            if level < MAX_LEVEL {
                let next = at.plus(o.second_level);
                o.next_due = Some(next);
                self.due.insert((next, key.clone()));
            }
        }
    }

    /// Open obligations whose next deadline is at or before `now`, earliest first.
    pub fn due(&self, now: Timestamp, limit: usize) -> Vec<&Obligation> {
        self.due
            .iter()
            .take_while(|(d, _)| *d <= now)
            .take(limit)
            .filter_map(|(_, k)| self.all.get(k))
            .collect()
    }

    /// The earliest pending deadline, so the clock knows when to look again.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.due.iter().next().map(|(d, _)| *d)
    }

    pub fn get(&self, key: &ObligationKey) -> Option<&Obligation> {
        self.all.get(key)
    }

    /// Obligations about one subject.
    pub fn for_subject<'a>(
        &'a self,
        duty: &Duty,
        subject: &'a str,
    ) -> impl Iterator<Item = &'a Obligation> + 'a {
        let start = ObligationKey::new(duty.clone(), subject, "");
        let duty = duty.clone();
        self.all
            .range(start..)
            .take_while(move |(k, _)| k.duty == duty && k.subject == subject)
            .map(|(_, o)| o)
    }

    /// How many obligations of each duty are open, and how many of those are overdue
    /// (past their first deadline at `now`), every duty named even when it has none.
    pub fn tally(&self, now: Timestamp) -> BTreeMap<Duty, DutyTally> {
        let mut out: BTreeMap<Duty, DutyTally> = Duty::ALL
            .iter()
            .map(|d| (d.clone(), DutyTally::default()))
            .collect();
        for o in self.all.values().filter(|o| o.is_open()) {
            let t = out.entry(o.key.duty.clone()).or_default();
            t.open += 1;
            if o.first_due <= now {
                t.overdue += 1;
            }
        }
        out
    }
}

/// Open and overdue obligations of one duty ([`Obligations::tally`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DutyTally {
    pub open: u64,
    pub overdue: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_twice_then_stops() {
        let mut o = Obligations::default();
        let k = ObligationKey::new(Duty::AcknowledgeMessage, "7", "sy");
        let t0 = Timestamp::from_secs(1000);
        o.open(
            k.clone(),
            ["il".to_string()].into(),
            t0,
            Duration::from_mins(10),
            Duration::from_mins(30),
        );
        assert!(o.due(t0.plus(Duration::from_mins(9)), 10).is_empty());
        let t1 = t0.plus(Duration::from_mins(10));
        assert_eq!(o.due(t1, 10).len(), 1);
        o.escalate(&k, 1, t1);
        assert!(
            o.due(t1, 10).is_empty(),
            "the same deadline never fires twice"
        );
        let t2 = t1.plus(Duration::from_mins(30));
        assert_eq!(o.due(t2, 10).len(), 1);
        o.escalate(&k, 2, t2);
        assert!(o.due(t2.plus(Duration::from_hours(100)), 10).is_empty());
        assert_eq!(o.get(&k).map(|x| x.level), Some(2));
    }

    #[test]
    fn tally_counts_open_and_overdue_by_duty() {
        let mut o = Obligations::default();
        let t0 = Timestamp::from_secs(0);
        let ten = Duration::from_mins(10);
        for (duty, subject, at) in [
            (Duty::AcknowledgeMessage, "1", 0),
            (Duty::AcknowledgeMessage, "2", 0),
            (Duty::AcknowledgeMessage, "3", 300),
            (Duty::GiveAccount, "4", 0),
        ] {
            o.open(
                ObligationKey::new(duty, subject, "sy"),
                BTreeSet::new(),
                t0.plus(Duration::from_secs(at)),
                ten,
                ten,
            );
        }
        o.meet(
            &ObligationKey::new(Duty::GiveAccount, "4", "sy"),
            t0,
            "sy-liaison",
        );
        // At ten minutes the first two messages are due, the third not yet.
        let t = o.tally(t0.plus(ten));
        assert_eq!(t.len(), Duty::ALL.len(), "every duty is named");
        assert_eq!(
            t[&Duty::AcknowledgeMessage],
            DutyTally {
                open: 3,
                overdue: 2
            }
        );
        assert_eq!(
            t[&Duty::GiveAccount],
            DutyTally::default(),
            "met is not open"
        );
        assert_eq!(t[&Duty::AnswerSiteProposal], DutyTally::default());
    }

    #[test]
    fn met_obligations_never_fire() {
        let mut o = Obligations::default();
        let k = ObligationKey::new(Duty::GiveAccount, "3", "il");
        let t0 = Timestamp::from_secs(0);
        o.open(
            k.clone(),
            BTreeSet::new(),
            t0,
            Duration::from_mins(1),
            Duration::from_mins(1),
        );
        o.meet(&k, t0, "il-liaison");
        assert!(o.due(t0.plus(Duration::from_hours(1)), 10).is_empty());
        o.escalate(&k, 1, t0.plus(Duration::from_hours(1)));
        assert_eq!(o.get(&k).map(|x| x.level), Some(0));
    }
}
