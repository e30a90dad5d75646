//! How a command fails: an exit status for each kind of failure, so that scripts can
//! tell them apart, and the error as text, or with `--json` as the API's error body
//! `{"error": {"code", "message"}}` on standard error.

use crate::config::UsageError;
use liaison_client::ClientError;
use std::process::ExitCode;

/// The kinds of failure, each with its own exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Anything else: a file that cannot be read, a check that does not hold.
    Failure = 1,
    /// A flag, argument or configuration setting is wrong (clap's own status).
    Usage = 2,
    /// No such thing, or not one the operator may see.
    NotFound = 3,
    /// No valid credentials, or the operator's party or role may not do this.
    Forbidden = 4,
    /// The server refused the request as it stands: a conflict with the cell's state or
    /// invalid input; nothing was recorded.
    Refused = 5,
    /// The server could not be reached: connection refused, name not resolved, timed
    /// out, certificate not trusted.
    Network = 6,
    /// The server failed, or answered something this client cannot read.
    Server = 7,
}

/// What `liaison --help` says of exit statuses and errors.
pub const HELP: &str = "\
Exit status:
  0  success
  1  any other failure (a file that cannot be read, a check that does not hold)
  2  usage: a flag, argument or configuration setting is wrong
  3  not found: no such thing, or not one you may see
  4  forbidden: no valid token, or your party or role may not do this
  5  refused: the server refused the request as it stands (a conflict with the
     cell's state, invalid input); nothing was recorded
  6  network: the server could not be reached (connection refused, name not
     resolved, timed out, certificate not trusted)
  7  server: the server failed or gave an answer that cannot be read

With --json, an error is printed on standard error as
{\"error\": {\"code\": \"…\", \"message\": \"…\", \"exit\": N}}: the API's error code
(docs/errors.md), or connection_refused, name_not_resolved, timeout,
connection_lost, transport, untrusted_certificate, decode, usage or failed.";

/// The kind of failure and its error code.
pub fn classify(e: &anyhow::Error) -> (Kind, String) {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<ClientError>() {
            let kind = match c {
                ClientError::Api { status, .. } => match status {
                    404 => Kind::NotFound,
                    401 | 403 => Kind::Forbidden,
                    500.. => Kind::Server,
                    _ => Kind::Refused,
                },
                ClientError::Transport { .. } | ClientError::Untrusted { .. } => Kind::Network,
                ClientError::Decode { .. } => Kind::Server,
            };
            return (kind, c.code().to_string());
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return (Kind::Usage, "usage".into());
        }
    }
    (Kind::Failure, "failed".into())
}

/// Prints the error (text, or JSON with `--json`) and gives the exit status.
pub fn report(e: &anyhow::Error, as_json: bool) -> ExitCode {
    let (kind, code) = classify(e);
    print(kind, &code, &format!("{e:#}"), as_json)
}

/// Prints an error of a known kind and gives its exit status.
pub fn print(kind: Kind, code: &str, message: &str, as_json: bool) -> ExitCode {
    if as_json {
        let body = serde_json::json!({
            "error": {"code": code, "message": message, "exit": kind as u8}
        });
        eprintln!("{body}");
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::from(kind as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> anyhow::Error {
        anyhow::Error::new(ClientError::Api {
            status,
            code: "x".into(),
            message: "m".into(),
        })
        .context("doing something")
    }

    #[test]
    fn the_kind_follows_the_http_status_through_context() {
        assert_eq!(classify(&api(404)).0, Kind::NotFound);
        assert_eq!(classify(&api(401)).0, Kind::Forbidden);
        assert_eq!(classify(&api(403)).0, Kind::Forbidden);
        assert_eq!(classify(&api(409)).0, Kind::Refused);
        assert_eq!(classify(&api(422)).0, Kind::Refused);
        assert_eq!(classify(&api(503)).0, Kind::Server);
        assert_eq!(classify(&anyhow::anyhow!("no file")).0, Kind::Failure);
    }
}
