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
