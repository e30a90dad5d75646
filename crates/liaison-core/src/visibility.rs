//! The one place where Liaison decides who may read what.
//!
//! Every read path (REST, SSE, TAXII, reports) filters through [`can_see`]; nothing
//! else compares audiences.

use crate::charter::PartyRole;
use crate::event::{Audience, Event};
use crate::state::State;

/// The reader: the party an operator acts for, and that party's role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub party: String,
    pub party_role: PartyRole,
    /// The operator, for events addressed to individual operators (TLP:RED).
    pub operator: Option<String>,
}

impl Viewer {
    pub fn of_operator(state: &State, operator: &str) -> Option<Viewer> {
        let op = state.operator(operator)?;
        let role = state.party_role(&op.spec.party)?;
        Some(Viewer {
            party: op.spec.party.clone(),
            party_role: role,
            operator: Some(operator.to_string()),
        })
    }
}

/// Whether `viewer` may read something addressed to `audience`. The supervising party
/// reads everything; everyone else reads only what names their party (or everyone).
pub fn can_see_audience(viewer: &Viewer, audience: &Audience) -> bool {
    viewer.party_role == PartyRole::Supervisor
        || audience.includes(&viewer.party)
        || viewer
            .operator
            .as_deref()
            .is_some_and(|o| audience.includes_operator(o))
}

pub fn can_see(viewer: &Viewer, event: &Event) -> bool {
    can_see_audience(viewer, &event.audience)
}

/// Whether `viewer` may read the server's metrics. They count the whole cell's traffic
/// (events by kind, every party's open obligations, each witness's lag), which only the
/// supervising party reads in full, so only its operators read them.
pub fn can_read_metrics(viewer: &Viewer) -> bool {
    viewer.party_role == PartyRole::Supervisor
}

/// Whether `viewer` may read notification `id`: whether it may read the event that
/// filed it. What a check, a list or an export says of another party's activity
/// follows this, so that an answer never tells of a notification its caller could
/// not list.
pub fn can_read_notification(state: &State, viewer: &Viewer, id: u64) -> bool {
    usize::try_from(id)
        .ok()
        .and_then(|i| state.events.get(i))
        .is_some_and(|e| {
            matches!(e.body, crate::event::EventBody::NotificationFiled { .. })
                && can_see(viewer, e)
        })
}

/// Whether `viewer` may read an obligation: whether it may read the event its duty is
/// about (the message, the notification, the incident, or the decision that released
/// the intelligence). A deadline is not an event, so it is read through the one that
/// created its subject; one whose subject cannot be found is read by no one but the
/// supervising party.
pub fn can_read_obligation(
    state: &State,
    viewer: &Viewer,
    o: &crate::deadline::Obligation,
) -> bool {
    use crate::deadline::Duty;
    let subject = &o.key.subject;
    let seq = match o.key.duty {
        Duty::AcknowledgeMessage
        | Duty::AnswerNotification
        | Duty::AcknowledgeIncident
        | Duty::GiveAccount
        | Duty::AnswerSiteProposal => subject.parse::<u64>().ok(),
        Duty::ProvideInformation | Duty::MeetMilestone => subject
            .split_once('/')
            .and_then(|(first, _)| first.parse::<u64>().ok()),
        Duty::AcknowledgeRelease => subject
            .parse::<u64>()
            .ok()
            .and_then(|id| state.intel.submissions.get(&id))
            .and_then(|s| s.decision.as_ref())
            .map(|d| d.seq),
    };
    match seq
        .and_then(|q| usize::try_from(q).ok())
        .and_then(|i| state.events.get(i))
    {
        Some(e) => can_see(viewer, e),
        None => viewer.party_role == PartyRole::Supervisor,
    }
}

/// Whether `viewer` may read the event numbered `seq` (false when there is none).
fn can_read_seq(state: &State, viewer: &Viewer, seq: u64) -> bool {
    usize::try_from(seq)
        .ok()
        .and_then(|i| state.events.get(i))
        .is_some_and(|e| can_see(viewer, e))
}

/// Whether `viewer` may read cooperation proposal `id` and its steps (answers,
/// agreement, commitments, reports): whether it may read the event that filed it.
pub fn can_read_proposal(state: &State, viewer: &Viewer, id: u64) -> bool {
    state.cooperation.proposals.contains_key(&id) && can_read_seq(state, viewer, id)
}

/// Whether `viewer` may read a screening match of a proposal, or a review of one:
/// whether it may read the event that recorded it (the filing party's and the
/// supervisor's).
pub fn can_read_screening(state: &State, viewer: &Viewer, seq: u64) -> bool {
    can_read_seq(state, viewer, seq)
}

/// Whether `viewer` reads a proposal's screening at all (its status, even with no
/// match): the supervising party and the filing party, the audience of the events
/// that record matches and reviews.
pub fn can_read_screening_of(
    state: &State,
    viewer: &Viewer,
    p: &crate::cooperation::Proposal,
) -> bool {
    viewer.party_role == PartyRole::Supervisor
        || (viewer.party == p.filer && can_read_proposal(state, viewer, p.id))
}

/// Whether `viewer` may check names against the sanctions lists: the supervising
/// party and the member parties, not observers.
pub fn can_check_names(viewer: &Viewer) -> bool {
    viewer.party_role != PartyRole::Observer
}
