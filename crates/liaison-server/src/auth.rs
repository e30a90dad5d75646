//! Who is calling: a bearer token (or HTTP Basic with the operator's name and token, for
//! TAXII clients) resolved to an active operator, served only over a connection its
//! party's charter entry admits (mutual TLS: [`liaison_core::charter::Party::admits`]).

use crate::app::{App, token_hash};
use crate::error::HttpError;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use liaison_api::ApiError;
use liaison_core::charter::{Connection, OperatorRole, Party, PartyRole};
use liaison_core::{Actor, Viewer};
use std::sync::Arc;

/// An authenticated, active operator.
#[derive(Clone, Debug)]
pub struct Caller {
    pub name: String,
    pub party: String,
    pub role: OperatorRole,
    pub party_role: PartyRole,
    /// Hex SHA-256 of the token the caller presented, so that the writer can check that
    /// it is still the operator's token when the request is decided.
    pub token_hash: String,
    /// The operator's party as the charter has it (whether it pins a client CA).
    pub charter_party: Arc<Party>,
    /// What the request's connection showed of the client (TLS, whose certificate).
    pub connection: Connection,
}

/// An actor as it was authenticated: who, and the hash of the token it presented. The
/// writer checks both against the state it decides on ([`Actor::still_stands`]).
#[derive(Clone, Debug)]
pub struct Acting {
    pub actor: Actor,
    /// `None` for the cell itself and for in-process callers that presented no token.
    pub token_hash: Option<String>,
    /// The connection the request came over, which the writer checks the operator's
    /// party still admits ([`Actor::check_connection`]); `None` in process.
    pub connection: Option<Connection>,
}

impl From<Actor> for Acting {
    fn from(actor: Actor) -> Self {
        Acting {
            actor,
            token_hash: None,
            connection: None,
        }
    }
}

impl Caller {
    /// The caller as the writer sees it: the operator and the token it presented.
    pub fn actor(&self) -> Acting {
        Acting {
            actor: self.core_actor(),
            token_hash: Some(self.token_hash.clone()),
            connection: Some(self.connection.clone()),
        }
    }

    /// The caller as the core's decision function sees it.
    pub fn core_actor(&self) -> Actor {
        Actor::Operator {
            name: self.name.clone(),
            party: self.party.clone(),
            role: self.role,
            party_role: self.party_role,
        }
    }
    pub fn viewer(&self) -> Viewer {
        Viewer {
            party: self.party.clone(),
            party_role: self.party_role,
            operator: Some(self.name.clone()),
        }
    }
    pub fn is_supervisor_party(&self) -> bool {
        self.party_role == PartyRole::Supervisor
    }
}

/// What a request's connection showed of the client, as the accept loop recorded it;
/// a request handed to the router in process came over no TLS.
pub fn connection_of(extensions: &axum::http::Extensions) -> Connection {
    extensions
        .get::<Connection>()
        .cloned()
        .unwrap_or(Connection::Plain)
}

/// Resolves an `Authorization` header value to an operator that may be served over
/// `connection`: a party that pins a client CA only over TLS with a certificate it
/// issued, and no party with another party's certificate.
pub fn authenticate(
    app: &App,
    header: Option<&str>,
    connection: &Connection,
) -> Result<Caller, ApiError> {
    let header = header.ok_or_else(ApiError::unauthorized)?;
    let (user, token) = if let Some(t) = header.strip_prefix("Bearer ") {
        (None, t.trim().to_string())
    } else if let Some(b) = header.strip_prefix("Basic ") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|_| ApiError::unauthorized())?;
        let text = String::from_utf8(raw).map_err(|_| ApiError::unauthorized())?;
        let (u, p) = text.split_once(':').ok_or_else(ApiError::unauthorized)?;
        (Some(u.to_string()), p.to_string())
    } else {
        return Err(ApiError::unauthorized());
    };
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::unauthorized());
    }
    // The credentials index is separate from the state so that authentication never
    // waits for a write batch to reach the disk.
    let caller = app
        .shared
        .credentials
        .read()
        .get(&token_hash(&token))
        .cloned()
        .ok_or_else(ApiError::unauthorized)?;
    if user.is_some_and(|u| u != caller.name) {
        return Err(ApiError::unauthorized());
    }
    caller.charter_party.admits(connection)?;
    let caller = Caller {
        connection: connection.clone(),
        ..caller
    };
    crate::metrics::authenticated(&caller.name);
    Ok(caller)
}

/// The active operators by token hash, as of the last commit.
pub fn credentials_of(state: &liaison_core::State) -> std::collections::HashMap<String, Caller> {
    let parties: std::collections::HashMap<&str, Arc<Party>> = state
        .charter()
        .map(|c| {
            c.parties
                .iter()
                .map(|p| (p.id.as_str(), Arc::new(p.clone())))
                .collect()
        })
        .unwrap_or_default();
    state
        .operators
        .values()
        .filter(|o| o.can_act())
        .filter_map(|o| {
            let party_role = state.party_role(&o.spec.party)?;
            let charter_party = parties.get(o.spec.party.as_str())?.clone();
            Some((
                o.token_hash.clone(),
                Caller {
                    name: o.spec.name.clone(),
                    party: o.spec.party.clone(),
                    role: o.spec.role,
                    party_role,
                    token_hash: o.token_hash.clone(),
                    charter_party,
                    connection: Connection::Plain,
                },
            ))
        })
        .collect()
}

impl FromRequestParts<App> for Caller {
    type Rejection = HttpError;
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        authenticate(app, header, &connection_of(&parts.extensions)).map_err(HttpError)
    }
}

/// The request's connection as an extractor (never refuses), for handlers that
/// authenticate themselves (TAXII).
pub struct Conn(pub Connection);

impl FromRequestParts<App> for Conn {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &App) -> Result<Self, Self::Rejection> {
        Ok(Conn(connection_of(&parts.extensions)))
    }
}
