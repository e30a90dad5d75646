//! STIX 2.1 and TLP 2.0 for the cell's intelligence sharing: validation of objects as
//! sent (kept byte for byte), the TLP marking of a submission, who a marking allows to
//! receive it, and the supervisor's redactions.
//!
//! Pure functions over JSON values: this crate must never do IO, read a clock or draw
//! random numbers (release times and ids are passed in). Its subject is a JSON standard,
//! so, with `liaison-api`, it is allowed to know JSON.

pub mod object;
pub mod redact;
pub mod tlp;

pub use object::{StixError, StixObject, parse_envelope};
pub use tlp::Tlp;
