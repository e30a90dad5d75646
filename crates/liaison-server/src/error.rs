//! HTTP rendering of [`ApiError`]: JSON `{"error": {"code", "message"}}` with its status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use liaison_api::ApiError;

/// Wrapper so handlers can return `Result<_, HttpError>` and use `?` on core errors.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl<E: Into<ApiError>> From<E> for HttpError {
    fn from(e: E) -> Self {
        HttpError(e.into())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(self.0.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"liaison\", Basic realm=\"liaison\""),
            );
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The body was refused unread: the server reads what is left of it
            // (`drain`, within limits) and then closes the connection rather than
            // read on. It says so, and a keep-alive client opens a new one instead
            // of sending its next request into a closed socket.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

pub type HttpResult<T> = Result<T, HttpError>;

/// A store failure as the API says it: `storage_full` (507) when the disk is full, which
/// a client may retry once space is freed; `replica_unavailable` (503) when the replica
/// did not take it, likewise once the replica answers; `internal` otherwise. Either way the store
/// kept nothing of the call.
pub fn store_error(e: &liaison_store::StoreError) -> ApiError {
    if e.is_full() {
        ApiError::new(
            "storage_full",
            format!(
                "the server's disk is full; nothing was written, reads go on, and the same write succeeds once space is freed ({e})"
            ),
        )
    } else if e.is_replica() {
        ApiError::new(
            "replica_unavailable",
            format!(
                "the replica of the record did not take the write; nothing was written anywhere, reads go on, and the same write succeeds once the replica answers ({e})"
            ),
        )
    } else {
        ApiError::internal(format!("storage failed, nothing was written: {e}"))
    }
}
