//! A typed, blocking HTTP client for the Liaison API, used by the CLI, the witness and
//! the tests. It knows URLs and error bodies; it must never embed domain rules.

mod trust;

pub use trust::Trust;

use liaison_api::ErrorBody;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader};
use std::time::Duration;

/// The header under which every write is sent once, whatever the retries.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// How many times a write is sent at most when the connection fails.
pub const WRITE_ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body.
    #[error("{code} (HTTP {status}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The request did not reach the server, or its answer did not come back.
    #[error("cannot reach {url}: {}{message}", failure.describe())]
    Transport {
        url: String,
        failure: NetworkFailure,
        message: String,
    },
    /// The server's TLS certificate is not one this client trusts.
    #[error(
        "{url}: the server's TLS certificate is not trusted ({reason}); pin the cell's certificate with --ca FILE (LIAISON_CA) or --ca-fingerprint SHA256 (LIAISON_CA_FINGERPRINT), both given by `liaison init --hostname`"
    )]
    Untrusted { url: String, reason: String },
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
}

/// What failed on the way to the server, as far as the error says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkFailure {
    /// Nothing listens at the address (the server is not running there).
    ConnectionRefused,
    /// The host name has no address.
    NameNotResolved,
    /// No answer within the time allowed.
    TimedOut,
    /// The connection broke while the request or its answer was under way.
    ConnectionLost,
    /// Anything else the error chain does not name.
    Other,
}

impl NetworkFailure {
    /// The error code a `--json` error carries.
    pub fn code(self) -> &'static str {
        match self {
            NetworkFailure::ConnectionRefused => "connection_refused",
            NetworkFailure::NameNotResolved => "name_not_resolved",
            NetworkFailure::TimedOut => "timeout",
            NetworkFailure::ConnectionLost => "connection_lost",
            NetworkFailure::Other => "transport",
        }
    }

    /// The words that open the message, before the underlying error's own.
    fn describe(self) -> &'static str {
        match self {
            NetworkFailure::ConnectionRefused => {
                "connection refused (is the server running on that address?): "
            }
            NetworkFailure::NameNotResolved => "the host name could not be resolved: ",
            NetworkFailure::TimedOut => "timed out: ",
            NetworkFailure::ConnectionLost => "the connection was lost: ",
            NetworkFailure::Other => "",
        }
    }

    /// Reads the error chain: an `io::Error` says refused, reset or timed out; the
    /// resolver's error says the name has no address.
    fn of(e: &(dyn std::error::Error + 'static)) -> NetworkFailure {
        use std::io::ErrorKind;
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if let Some(r) = err.downcast_ref::<reqwest::Error>()
                && r.is_timeout()
            {
                return NetworkFailure::TimedOut;
            }
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    ErrorKind::ConnectionRefused => return NetworkFailure::ConnectionRefused,
                    ErrorKind::TimedOut => return NetworkFailure::TimedOut,
                    ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof => return NetworkFailure::ConnectionLost,
                    _ => {}
                }
            }
            // hyper-util's resolver wraps getaddrinfo's failure in a private type
            // whose text is all that shows.
            let text = err.to_string();
            if text.starts_with("dns error") || text.contains("failed to lookup address") {
                return NetworkFailure::NameNotResolved;
            }
            cur = err.source();
        }
        NetworkFailure::Other
    }
}

impl ClientError {
    /// Whether the request failed on the way (nothing answered): worth retrying.
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Transport { .. })
    }

    pub fn code(&self) -> &str {
        match self {
            ClientError::Api { code, .. } => code,
            ClientError::Transport { failure, .. } => failure.code(),
            ClientError::Untrusted { .. } => "untrusted_certificate",
            ClientError::Decode { .. } => "decode",
        }
    }
}

#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
    signer: Option<std::sync::Arc<SubmissionSigner>>,
}

/// What a signer sees of a write: the request line, the headers sent with it and the
/// exact body.
pub struct SignInput<'a> {
    pub method: &'a str,
    /// The path, without the query string.
    pub path: &'a str,
    /// The query string after `?` (empty when none).
    pub query: &'a str,
    pub headers: &'a [(&'a str, String)],
    pub body: &'a [u8],
}

/// Signs every write: returns the headers to add (`Liaison-Signature`, `Liaison-Nonce`,
/// `Liaison-Time`).
pub type SubmissionSigner = dyn Fn(&SignInput) -> Vec<(String, String)> + Send + Sync;

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> Result<Client, ClientError> {
        Client::with_trust(base, token, &Trust::default())
    }

    /// A client that trusts the server certificates `trust` names (and, when it names
    /// none, the usual web roots).
    pub fn with_trust(
        base: &str,
        token: Option<String>,
        trust: &Trust,
    ) -> Result<Client, ClientError> {
        let mut builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(None);
        if trust.is_empty()
            && let Some(pem) = trust.identity_pem()
        {
            let identity =
                reqwest::Identity::from_pem(&pem).map_err(|e| ClientError::Transport {
                    url: base.into(),
                    failure: NetworkFailure::Other,
                    message: format!("the client certificate: {e}"),
                })?;
            builder = builder.identity(identity);
        }
        if !trust.is_empty() {
            let config = trust
                .client_config()
                .map_err(|message| ClientError::Transport {
                    url: base.into(),
                    failure: NetworkFailure::Other,
                    message,
                })?;
            builder = builder.use_preconfigured_tls(config);
        }
        let http = builder.build().map_err(|e| ClientError::Transport {
            url: base.into(),
            failure: NetworkFailure::Other,
            message: e.to_string(),
        })?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
            signer: None,
        })
    }

    /// Signs every POST from now on.
    pub fn with_signer(mut self, signer: std::sync::Arc<SubmissionSigner>) -> Client {
        self.signer = Some(signer);
        self
    }

    fn sign(
        &self,
        mut rb: reqwest::blocking::RequestBuilder,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> reqwest::blocking::RequestBuilder {
        if let Some(s) = &self.signer {
            let (p, q) = path.split_once('?').unwrap_or((path, ""));
            let input = SignInput {
                method: "POST",
                path: p,
                query: q,
                headers,
                body,
            };
            for (k, v) in s(&input) {
                rb = rb.header(k, v);
            }
        }
        rb
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn auth(&self, rb: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    fn finish<T: DeserializeOwned>(
        &self,
        url: &str,
        r: reqwest::Result<reqwest::blocking::Response>,
    ) -> Result<T, ClientError> {
        let resp = r.map_err(|e| transport(url, &e))?;
        let status = resp.status();
        let bytes = resp.bytes().map_err(|e| transport(url, &e))?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(b) => ClientError::Api {
                    status: status.as_u16(),
                    code: b.error.code,
                    message: b.error.message,
                },
                Err(_) => ClientError::Api {
                    status: status.as_u16(),
                    code: "http_error".into(),
                    message: String::from_utf8_lossy(&bytes).chars().take(500).collect(),
                },
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            url: url.into(),
            message: e.to_string(),
        })
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = self.url(path);
        let r = self
            .auth(self.http.get(&url).timeout(Duration::from_secs(60)))
            .send();
        self.finish(&url, r)
    }

    /// GET returning raw bytes (tiles, checkpoints), with the HTTP status for errors.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.url(path);
        let resp = self
            .auth(self.http.get(&url).timeout(Duration::from_secs(60)))
            .send()
            .map_err(|e| transport(&url, &e))?;
        let status = resp.status();
        let bytes = resp.bytes().map_err(|e| transport(&url, &e))?;
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(b) => (b.error.code, b.error.message),
                Err(_) => (
                    "http_error".into(),
                    String::from_utf8_lossy(&bytes).chars().take(500).collect(),
                ),
            };
            return Err(ClientError::Api {
                status: status.as_u16(),
                code,
                message,
            });
        }
        Ok(bytes.to_vec())
    }

    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Decode {
            url: self.url(path),
            message: e.to_string(),
        })?;
        self.write(path, "application/json", &[], bytes)
    }

    /// POST a raw body with extra headers (signed submissions, plain-text cosignatures).
    pub fn post_raw<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<T, ClientError> {
        self.write(path, content_type, headers, body)
    }

    /// Sends a write under a fresh `Idempotency-Key` and, if the connection fails or the
    /// first attempt is still being handled, sends it again under the same key (signed
    /// afresh): the server records it once and answers every attempt with the first
    /// answer.
    fn write<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<T, ClientError> {
        let url = self.url(path);
        let key = {
            use rand::RngCore;
            let mut k = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut k);
            hex::encode(k)
        };
        let mut attempt = 0;
        loop {
            let mut rb = self
                .auth(self.http.post(&url).timeout(Duration::from_secs(60)))
                .header("content-type", content_type)
                .header(IDEMPOTENCY_KEY, &key);
            for (k, v) in headers {
                rb = rb.header(*k, v);
            }
            let r = self
                .sign(rb, path, headers, &body)
                .body(body.clone())
                .send();
            let out = self.finish(&url, r);
            let again = match &out {
                Err(ClientError::Transport { .. }) => true,
                Err(e) => e.code() == "idempotency_in_flight",
                Ok(_) => false,
            };
            attempt += 1;
            if !again || attempt >= WRITE_ATTEMPTS {
                return out;
            }
            std::thread::sleep(Duration::from_millis(250 << attempt));
        }
    }

    /// Opens an SSE stream and calls `on_message` for each event until it returns false
    /// or the stream ends. Returns the id of the last event seen.
    pub fn stream(
        &self,
        path: &str,
        last_event_id: Option<&str>,
        mut on_message: impl FnMut(SseMessage) -> bool,
    ) -> Result<Option<String>, ClientError> {
        let url = self.url(path);
        let mut rb = self
            .auth(self.http.get(&url))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            rb = rb.header("last-event-id", id);
        }
        let resp = rb.send().map_err(|e| transport(&url, &e))?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let text = resp.text().unwrap_or_default();
            return Err(match serde_json::from_str::<ErrorBody>(&text) {
                Ok(b) => ClientError::Api {
                    status,
                    code: b.error.code,
                    message: b.error.message,
                },
                Err(_) => ClientError::Api {
                    status,
                    code: "http_error".into(),
                    message: text,
                },
            });
        }
        let mut reader = BufReader::new(resp);
        let mut cur = SseMessage::default();
        let mut last = last_event_id.map(str::to_string);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| transport(&url, &e))?;
            if n == 0 {
                return Ok(last);
            }
            let l = line.trim_end_matches(['\r', '\n']);
            if l.is_empty() {
                if cur.id.is_some() || !cur.data.is_empty() || cur.event.is_some() {
                    if let Some(id) = &cur.id {
                        last = Some(id.clone());
                    }
                    if !on_message(std::mem::take(&mut cur)) {
                        return Ok(last);
                    }
                }
                continue;
            }
            if l.starts_with(':') {
                continue;
            }
            let (field, value) = l
                .split_once(':')
                .map(|(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)))
                .unwrap_or((l, ""));
            match field {
                "id" => cur.id = Some(value.to_string()),
                "event" => cur.event = Some(value.to_string()),
                "data" => {
                    if !cur.data.is_empty() {
                        cur.data.push('\n');
                    }
                    cur.data.push_str(value);
                }
                _ => {}
            }
        }
    }
}

/// A transport error, or, when the cause is the server's certificate, the error that
/// says so.
fn transport(url: &str, e: &(dyn std::error::Error + 'static)) -> ClientError {
    match trust::untrusted_reason(e) {
        Some(reason) => ClientError::Untrusted {
            url: url.into(),
            reason,
        },
        None => ClientError::Transport {
            url: url.into(),
            failure: NetworkFailure::of(e),
            message: innermost(e),
        },
    }
}

/// The innermost error's words (reqwest's outer ones only say "error sending request").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
