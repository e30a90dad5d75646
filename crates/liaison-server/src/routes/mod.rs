//! HTTP handlers, one module per part of the API. Handlers are thin: authenticate,
//! parse into core types, submit or read, render wire types.

pub mod cell;
pub mod cooperation;
pub mod cot;
pub mod deconfliction;
pub mod events;
pub mod hotline;
pub mod incidents;
pub mod intel;
pub mod keys;
pub mod log;
pub mod operators;
pub mod reports;
pub mod screening;
pub mod taxii;

use crate::error::HttpError;
use crate::writer::Outcome;
use liaison_api::ApiError;
use liaison_api::wire::{Receipt, Written};

/// The answer to every write: the events recorded and the receipt of the last one.
pub fn written(outcome: Outcome) -> Result<axum::Json<Written>, HttpError> {
    let receipt = receipt_of(&outcome)?;
    Ok(axum::Json(Written {
        seqs: outcome.seqs,
        receipt,
    }))
}

/// A page's size: `asked`, or `default` unasked; refused outside `1..=most`.
pub fn page_limit(asked: Option<usize>, default: usize, most: usize) -> Result<usize, HttpError> {
    match asked.unwrap_or(default) {
        n @ 1.. if n <= most => Ok(n),
        _ => Err(HttpError(ApiError::bad_request(format!(
            "limit must be 1-{most}"
        )))),
    }
}

pub fn receipt_of(outcome: &Outcome) -> Result<Receipt, HttpError> {
    outcome
        .receipt
        .clone()
        .ok_or_else(|| HttpError(ApiError::internal("the write recorded no event")))
}
