//! Why the core refused a command. Each variant has a stable snake_case code; the wire
//! crate maps the [`ErrorClass`] to an HTTP status.

/// Broad class of a refusal, used by the edges to choose a status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The actor may not do this (HTTP 403).
    Forbidden,
    /// The thing does not exist or is not visible to the actor (HTTP 404).
    NotFound,
    /// The command conflicts with the current state (HTTP 409).
    Conflict,
    /// The command's content is invalid (HTTP 422).
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the cell is pending the supervisor's approval: only charter business is accepted")]
    CellPendingApproval,
    #[error("the cell is suspended by the supervisor: only charter business is accepted")]
    CellSuspended,
    #[error("no cell exists yet")]
    NoCell,
    #[error("{0}")]
    Forbidden(String),
    /// The operator's standing changed (disabled, token rotated, role changed, key
    /// revoked) between the request's authentication and its decision.
    #[error("{0}")]
    CredentialsChanged(String),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Well formed but refused for a reason with its own stable code (HTTP 422).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("{0}")]
    SignatureRequired(String),
    #[error("{0}")]
    SignatureReplayed(String),
    #[error("{0}")]
    SignatureStale(String),
    /// The operator's party pins a client CA and the connection shows no certificate
    /// it issued (or is plain HTTP).
    #[error("{0}")]
    ClientCertificateRequired(String),
    /// The connection's client certificate speaks for another party than the token's.
    #[error("{0}")]
    ClientCertificateMismatch(String),
}

impl DomainError {
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::CellPendingApproval => "cell_pending_approval",
            DomainError::CellSuspended => "cell_suspended",
            DomainError::NoCell => "no_cell",
            DomainError::Forbidden(_) => "forbidden",
            DomainError::CredentialsChanged(_) => "credentials_changed",
            DomainError::NotFound { .. } => "not_found",
            DomainError::InvalidState(_) => "invalid_state",
            DomainError::AlreadyExists(_) => "already_exists",
            DomainError::Invalid { .. } => "invalid_input",
            DomainError::Refused { code, .. } => code,
            DomainError::SignatureRequired(_) => "signature_required",
            DomainError::SignatureReplayed(_) => "signature_replayed",
            DomainError::SignatureStale(_) => "signature_stale",
            DomainError::ClientCertificateRequired(_) => "client_certificate_required",
            DomainError::ClientCertificateMismatch(_) => "client_certificate_mismatch",
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            DomainError::Forbidden(_)
            | DomainError::CredentialsChanged(_)
            | DomainError::SignatureRequired(_)
            | DomainError::SignatureReplayed(_)
            | DomainError::SignatureStale(_)
            | DomainError::ClientCertificateRequired(_)
            | DomainError::ClientCertificateMismatch(_) => ErrorClass::Forbidden,
            DomainError::NotFound { .. } => ErrorClass::NotFound,
            DomainError::CellPendingApproval
            | DomainError::CellSuspended
            | DomainError::NoCell
            | DomainError::InvalidState(_)
            | DomainError::AlreadyExists(_) => ErrorClass::Conflict,
            DomainError::Invalid { .. } | DomainError::Refused { .. } => ErrorClass::Invalid,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A refusal with its own code; the code must be in the wire crate's table.
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Refused {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        DomainError::Forbidden(message.into())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        DomainError::NotFound { what: what.into() }
    }
}
