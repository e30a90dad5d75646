//! The one table of error codes: code, HTTP status, meaning. Codes are stable API.

use liaison_core::DomainError;
use liaison_core::error::ErrorClass;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"error": {"code": "snake_case_code", "message": "…"}}`
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// An error on its way to the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

/// Every code the API can answer with, its status, and what it means. The docs and a
/// test are generated from this table, so a new code is added here first.
pub const CODES: &[(&str, u16, &str)] = &[
    (
        "unauthorized",
        401,
        "no token, or a token that belongs to no active operator",
    ),
    (
        "credentials_changed",
        401,
        "the operator was disabled, its token rotated, its role changed or its signing key revoked after the request was authenticated and before it was decided; nothing was recorded",
    ),
    (
        "client_certificate_required",
        403,
        "the operator's party pins a client CA in the charter, and the request came over plain HTTP or over TLS without a client certificate that CA issued; nothing was recorded",
    ),
    (
        "client_certificate_mismatch",
        403,
        "the connection's client certificate was issued by another party's CA than the token's party; a certificate speaks only for its own party; nothing was recorded",
    ),
    (
        "forbidden",
        403,
        "the operator is known but its party or role may not do this",
    ),
    (
        "not_found",
        404,
        "no such thing, or not visible to the operator",
    ),
    (
        "method_not_allowed",
        405,
        "the path exists but not with this method",
    ),
    (
        "not_acceptable",
        406,
        "the Accept header excludes every media type the endpoint serves",
    ),
    (
        "cell_pending_approval",
        409,
        "the supervisor has not approved the charter yet; only charter business is accepted",
    ),
    (
        "cell_suspended",
        409,
        "the supervisor suspended the cell; only charter business is accepted",
    ),
    ("no_cell", 409, "the data directory holds no cell"),
    (
        "invalid_state",
        409,
        "the thing is not in a state that allows this",
    ),
    ("already_exists", 409, "the thing already exists"),
    (
        "idempotency_in_flight",
        409,
        "a request with the same Idempotency-Key is still being handled; retry once it is answered",
    ),
    (
        "idempotency_answer_lost",
        409,
        "the first request with this Idempotency-Key was recorded (the message names its events) but the server stopped before keeping its answer; nothing new was recorded",
    ),
    (
        "idempotency_key_reused",
        422,
        "the Idempotency-Key was used within 24 hours for a different request (method, path, query, content type, recipient headers or body); nothing was recorded",
    ),
    (
        "bad_idempotency_key",
        400,
        "the Idempotency-Key header is not 1 to 255 visible ASCII characters",
    ),
    (
        "payload_too_large",
        413,
        "the body is larger than the endpoint accepts; the server reads the rest of it (up to 64 MiB, so that the client reads this answer) and closes the connection (`Connection: close`)",
    ),
    (
        "unsupported_media_type",
        415,
        "the body is not in a media type the endpoint accepts",
    ),
    (
        "bad_request",
        400,
        "the request could not be parsed (malformed JSON, bad query parameter)",
    ),
    (
        "invalid_input",
        422,
        "the request parsed but a field is invalid; the message names it",
    ),
    (
        "invalid_xml",
        422,
        "the XML body (Cursor-on-Target) is refused: malformed, a DOCTYPE or undeclared entity, nested too deep or over a limit; the message names the line, byte offset and problem",
    ),
    (
        "unprocessable",
        422,
        "the request is well formed but cannot be carried out as asked (e.g. a redaction that would leave invalid STIX)",
    ),
    (
        "decision_inconsistent",
        422,
        "a decision on intelligence whose fields disagree (an approval that removes something, a redaction that removes nothing, a rejection with recipients); nothing is recorded",
    ),
    (
        "unknown_object",
        422,
        "a redaction names an object that is not in the submission; nothing is recorded",
    ),
    (
        "unknown_property",
        422,
        "a redaction removes a property the object does not have; nothing is recorded",
    ),
    (
        "property_not_removable",
        422,
        "a redaction removes a required property or a marking; nothing is recorded",
    ),
    (
        "recipient_not_allowed",
        422,
        "a release names a recipient its marking does not allow, or would reach no one; nothing is recorded",
    ),
    (
        "unknown_marking",
        422,
        "a STIX object refers to a marking-definition that is neither a published TLP id nor in the same submission; the message names the object and the marking",
    ),
    (
        "bad_party_signature",
        422,
        "the `Liaison-Party-Signature` header does not verify with the key the caller's party pinned in the charter, is malformed, or rides on a request without the operator's own signature",
    ),
    (
        "bad_signature",
        422,
        "the author's signature does not verify against the registered key, or its `Liaison-Signature`, `Liaison-Nonce` or `Liaison-Time` header is malformed",
    ),
    (
        "signature_required",
        401,
        "the operator must sign its writes (its party's charter setting, or it registered a key) and the request carries no `Liaison-Signature`; nothing was recorded",
    ),
    (
        "signature_replayed",
        401,
        "the signed request's nonce was already used by this operator within the signature window: a replay; nothing was recorded",
    ),
    (
        "signature_stale",
        401,
        "the signed request's `Liaison-Time` is outside the charter's signature window of the cell's clock (or older than the oldest nonce the cell remembers); nothing was recorded",
    ),
    (
        "witness_pinned",
        422,
        "the charter pins the party's witness key: it is in force from the cell's creation and no other key may be registered for the party",
    ),
    (
        "milestone_before_filing",
        422,
        "a commitment's milestone falls due before its proposal was filed; nothing is recorded",
    ),
    (
        "list_file_invalid",
        422,
        "a sanctions list file is not in the format it claims, is truncated, or states another publication date than the one given; the message names the file and line, nothing is recorded and the lists in force stay as they were",
    ),
    (
        "no_lists",
        409,
        "no sanctions list is loaded yet: the supervisor loads one before names can be checked",
    ),
    (
        "log_key_mismatch",
        422,
        "the charter pins a log key and the cell is being created with another; nothing is recorded",
    ),
    (
        "not_final",
        409,
        "no checkpoint cosigned by the witness of every member party and of the supervising party covers the event yet",
    ),
    (
        "too_many_requests",
        429,
        "a queue is full; retry after a moment",
    ),
    (
        "too_many_streams",
        429,
        "the operator already holds as many open event streams as it may (8); close one first",
    ),
    (
        "internal",
        500,
        "a bug or a storage failure; nothing was written",
    ),
    (
        "storage_full",
        507,
        "the server's disk is full: nothing was written; reads go on, and the same write succeeds once space is freed, without a restart",
    ),
    (
        "replica_unavailable",
        503,
        "the server keeps a replica of the record and it did not take the write: nothing was written anywhere, reads go on, and the same write succeeds once the replica answers, without a restart",
    ),
    (
        "unavailable",
        503,
        "the server is shutting down or its store failed",
    ),
];

impl ApiError {
    /// Builds an error from a code in [`CODES`]; unknown codes become `internal`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let status = CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .map(|(_, s, _)| *s)
            .unwrap_or(500);
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        ApiError::new("unauthorized", "missing or unknown bearer token")
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new("bad_request", message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new("invalid_input", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new("not_found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new("forbidden", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new("internal", message)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
            },
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let code = e.code();
        let fallback = match e.class() {
            ErrorClass::Forbidden => 403,
            ErrorClass::NotFound => 404,
            ErrorClass::Conflict => 409,
            ErrorClass::Invalid => 422,
        };
        let mut err = ApiError::new(code, e.to_string());
        if err.status == 500 {
            err.status = fallback;
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, status, doc) in CODES {
            assert!(seen.insert(*code), "duplicate {code}");
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert!((400..600).contains(status));
            assert!(!doc.is_empty());
        }
    }

    #[test]
    fn every_domain_error_has_a_table_entry() {
        let all = [
            DomainError::CellPendingApproval,
            DomainError::CellSuspended,
            DomainError::NoCell,
            DomainError::forbidden("x"),
            DomainError::not_found("x"),
            DomainError::InvalidState("x".into()),
            DomainError::AlreadyExists("x".into()),
            DomainError::invalid("f", "m"),
            DomainError::refused(liaison_core::intel::DECISION_INCONSISTENT, "m"),
            DomainError::refused(liaison_core::intel::UNKNOWN_OBJECT, "m"),
            DomainError::refused(liaison_core::intel::RECIPIENT_NOT_ALLOWED, "m"),
            DomainError::SignatureRequired("x".into()),
            DomainError::SignatureReplayed("x".into()),
            DomainError::SignatureStale("x".into()),
            DomainError::ClientCertificateRequired("x".into()),
            DomainError::ClientCertificateMismatch("x".into()),
        ];
        for e in all {
            assert!(
                CODES.iter().any(|(c, _, _)| *c == e.code()),
                "{} missing",
                e.code()
            );
        }
    }
}

/// `docs/errors.md`, generated from [`CODES`]; a test keeps the file current.
pub fn errors_markdown() -> String {
    let mut s = String::from(
        "# Error codes\n\nEvery error the API returns is `{\"error\": {\"code\": \"…\", \"message\": \"…\"}}` with one of these codes.\nCodes are stable; messages are for people and may change.\nThis file is generated from `crates/liaison-api/src/error.rs`.\n\n| code | HTTP status | meaning |\n|---|---:|---|\n",
    );
    for (code, status, doc) in CODES {
        s.push_str(&format!("| `{code}` | {status} | {doc} |\n"));
    }
    s
}

#[cfg(test)]
mod docs_tests {
    #[test]
    fn docs_errors_md_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
        let want = super::errors_markdown();
        let have = std::fs::read_to_string(path).unwrap_or_default();
        if have != want {
            if std::env::var("LIAISON_BLESS").is_ok() {
                std::fs::write(path, &want).expect("write docs/errors.md");
            } else {
                panic!("docs/errors.md is stale; rerun with LIAISON_BLESS=1 to regenerate it");
            }
        }
    }
}
