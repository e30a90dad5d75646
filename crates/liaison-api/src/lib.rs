//! The wire format of Liaison: every JSON request and response body, the charter's TOML
//! form, the stable error-code table, and the encoding of events at rest.
//!
//! This is the only crate that knows JSON and TOML. It must never hold state, do IO or
//! decide domain rules: it converts, and leaves deciding to `liaison-core`.

pub mod charter_toml;
pub mod codec;
pub mod cooperation;
pub mod error;
pub mod hotline;
pub mod intel;
pub mod review;
pub mod signing;
pub mod time;
pub mod wire;

pub use error::{ApiError, ErrorBody, ErrorDetail};
