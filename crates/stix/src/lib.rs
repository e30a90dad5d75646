//! STIX 2.1 and TAXII 2.1 for the cell's intelligence sharing:
//! - [`object`]: validation of single objects as sent (their bytes are kept, never
//!   re-serialized), with typed errors ([`error`]);
//! - [`bundle`]: bundles and TAXII envelopes into validated objects;
//! - [`tlp`]: the TLP 2.0 marking-definitions and the effective marking of a submission;
//! - [`release`]: who a marking allows to receive, and the clamp on the supervisor;
//! - [`redact`]: the supervisor's redactions, as new derived objects;
//! - [`taxii`]: TAXII timestamps, filters, version selection, signed pagination and
//!   resource types;
//! - [`time`]: strict STIX/TAXII timestamps.
//!
//! Pure functions over JSON values and plain types. This crate must never do IO, read a
//! clock or draw random numbers: release times, ids' namespaces and signing keys are
//! passed in, and the same inputs always give the same outputs. It must never panic on
//! input. Its subject is a JSON standard, so, with `liaison-api`, it is allowed to know
//! JSON.

pub mod bundle;
pub mod error;
pub mod object;
pub mod redact;
pub mod release;
pub mod taxii;
pub mod time;
pub mod tlp;

pub use bundle::{parse_bytes, parse_envelope};
pub use error::{ErrorCode, StixError};
pub use object::{StixObject, validate, validate_str};
pub use tlp::{Tlp, effective_tlp, submission_tlp};
