//! Review reports for a period, over what the caller may read.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use liaison_api::ApiError;
use liaison_api::review::ReviewReport;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
pub struct PeriodQuery {
    /// Start of the period (RFC 3339), inclusive.
    pub from: String,
    /// End of the period (RFC 3339), exclusive.
    pub to: String,
}

#[utoipa::path(get, path = "/api/v1/reports/review", tag = "incidents", security(("bearer" = [])), params(PeriodQuery),
    responses((status = 200, description = "Counts, open incidents, missed deadlines, acknowledgement times", body = ReviewReport),
              (status = 400, description = "Bad period", body = liaison_api::ErrorBody)))]
pub async fn review(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> HttpResult<Json<ReviewReport>> {
    let from = liaison_api::time::parse(&q.from)
        .map_err(|m| HttpError(ApiError::bad_request(format!("from: {m}"))))?;
    let to = liaison_api::time::parse(&q.to)
        .map_err(|m| HttpError(ApiError::bad_request(format!("to: {m}"))))?;
    if to <= from {
        return Err(HttpError(ApiError::bad_request("to must be after from")));
    }
    let now = app.shared.clock.now();
    let s = app.shared.state.read();
    let r = liaison_core::review::review(&s, &caller.viewer(), from, to, now);
    let cell = s.charter().map(|c| c.name.clone()).unwrap_or_default();
    Ok(Json(ReviewReport::new(&cell, &caller.party, &r)))
}
