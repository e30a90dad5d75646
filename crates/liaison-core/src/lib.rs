//! The domain core of Liaison: the cell, its charter, parties and operators, and the
//! events that record every change.
//!
//! Commands go in, events come out: [`decide`] checks a command against the current
//! [`State`] and returns event drafts or a [`DomainError`]; [`State::apply`] folds a
//! committed [`Event`] into the state. Everything here is pure.
//!
//! This crate must never do IO, read the wall clock, draw random numbers or pick a wire
//! format. Time, ids and secrets (token hashes) arrive as arguments. Types derive serde
//! traits so the edges can persist them, but only `liaison-api` chooses JSON.

pub mod charter;
pub mod command;
pub mod cooperation;
pub mod deadline;
pub mod deconfliction;
pub mod error;
pub mod event;
pub mod hotline;
pub mod incident;
pub mod intel;
mod ops;
pub mod review;
pub mod state;
pub mod time;
pub mod visibility;

#[cfg(test)]
mod ownership_tests;

pub use charter::{
    Charter, Deadlines, OperatorRole, OperatorSpec, Party, PartyRole, Precedence, Settings,
};
pub use command::{Actor, Command, Draft, decide};
pub use error::DomainError;
pub use event::{Audience, Author, Event, EventBody};
pub use state::{CellStatus, Operator, State};
pub use time::{Duration, Timestamp, parse_duration};
pub use visibility::{
    Viewer, can_read_metrics, can_read_notification, can_read_obligation, can_see,
};

/// Party and operator identifiers are short ASCII names chosen in the charter.
pub type PartyId = String;
/// An operator's unique name, e.g. `il-liaison`.
pub type OperatorName = String;
