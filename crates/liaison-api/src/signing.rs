//! What an operator signs when it writes: a canonical text of everything that decides
//! what is recorded. The signature travels in the `Liaison-Signature: <key id>:<base64
//! signature>` header, the nonce and the client's time in `Liaison-Nonce` and
//! `Liaison-Time`; the signed bytes are kept with the event.
//!
//! `liaison/submission/v2` (UTF-8, each line ending in `\n`, no line may hold a `\n`):
//!
//! ```text
//! liaison/submission/v2
//! origin <log origin>
//! operator <operator name>
//! method <HTTP method, upper case>
//! path <request path, as sent>
//! query <query string after `?`, as sent; empty when none>
//! header x-liaison-precedence: <value; empty when absent>
//! header x-liaison-recipient-operators: <value; empty when absent>
//! header x-liaison-recipients: <value; empty when absent>
//! body-sha256 <hex SHA-256 of the exact body bytes>
//! nonce <the Liaison-Nonce value>
//! time <the Liaison-Time value, RFC 3339>
//! ```

/// Header carrying an author's signature.
pub const HEADER: &str = "liaison-signature";
/// Header carrying the operator's party's statement: its signature, by the party key
/// pinned in the charter, over the same canonical text (`<key id>:<base64>`).
pub const PARTY_HEADER: &str = "liaison-party-signature";
/// Header carrying the client-chosen nonce.
pub const NONCE_HEADER: &str = "liaison-nonce";
/// Header carrying the client's time (RFC 3339).
pub const TIME_HEADER: &str = "liaison-time";
/// The domain line of the current form.
pub const DOMAIN_V2: &str = "liaison/submission/v2";
/// The longest nonce accepted.
pub const MAX_NONCE: usize = 64;
/// The request headers that change what is recorded, in the order they are signed.
pub const SIGNED_HEADERS: [&str; 3] = [
    "x-liaison-precedence",
    "x-liaison-recipient-operators",
    "x-liaison-recipients",
];

/// A request as signed: every field of the canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    pub origin: String,
    pub operator: String,
    pub method: String,
    pub path: String,
    pub query: String,
    /// The values of [`SIGNED_HEADERS`], in that order (empty when absent).
    pub headers: [String; 3],
    pub body_sha256: String,
    pub nonce: String,
    pub time: String,
}

fn one_line(field: &str, v: &str) -> Result<(), String> {
    if v.contains(['\n', '\r']) {
        Err(format!("{field} holds a line break"))
    } else {
        Ok(())
    }
}

/// A nonce is 1 to 64 characters of `A-Z a-z 0-9 - _ . ~`.
pub fn check_nonce(nonce: &str) -> Result<(), String> {
    let ok = !nonce.is_empty()
        && nonce.len() <= MAX_NONCE
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Liaison-Nonce is 1-{MAX_NONCE} characters of A-Z, a-z, 0-9, '-', '_', '.' or '~'"
        ))
    }
}

impl SignedRequest {
    /// The canonical bytes; fails only for a field that would break the form (a line
    /// break, or a nonce out of its alphabet).
    pub fn canonical(&self) -> Result<String, String> {
        check_nonce(&self.nonce)?;
        for (f, v) in [
            ("origin", &self.origin),
            ("operator", &self.operator),
            ("method", &self.method),
            ("path", &self.path),
            ("query", &self.query),
            ("body-sha256", &self.body_sha256),
            ("time", &self.time),
        ] {
            one_line(f, v)?;
        }
        let mut s = format!(
            "{DOMAIN_V2}\norigin {}\noperator {}\nmethod {}\npath {}\nquery {}\n",
            self.origin, self.operator, self.method, self.path, self.query
        );
        for (name, v) in SIGNED_HEADERS.iter().zip(&self.headers) {
            one_line(name, v)?;
            s.push_str(&format!("header {name}: {v}\n"));
        }
        s.push_str(&format!(
            "body-sha256 {}\nnonce {}\ntime {}\n",
            self.body_sha256, self.nonce, self.time
        ));
        Ok(s)
    }

    /// Reads canonical bytes back; the text must be exactly what [`Self::canonical`]
    /// makes of the result.
    pub fn parse(text: &str) -> Result<SignedRequest, String> {
        let mut lines = text
            .strip_suffix('\n')
            .ok_or("the signed text does not end in a line break")?
            .split('\n');
        let mut next = |prefix: &str| -> Result<String, String> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(prefix))
                .map(str::to_string)
                .ok_or_else(|| format!("the signed text lacks its `{}` line", prefix.trim()))
        };
        if !next(DOMAIN_V2)?.is_empty() {
            return Err(format!("the signed text is not {DOMAIN_V2}"));
        }
        let origin = next("origin ")?;
        let operator = next("operator ")?;
        let method = next("method ")?;
        let path = next("path ")?;
        let query = next("query ")?;
        let headers = [
            next("header x-liaison-precedence: ")?,
            next("header x-liaison-recipient-operators: ")?,
            next("header x-liaison-recipients: ")?,
        ];
        let body_sha256 = next("body-sha256 ")?;
        let nonce = next("nonce ")?;
        let time = next("time ")?;
        let r = SignedRequest {
            origin,
            operator,
            method,
            path,
            query,
            headers,
            body_sha256,
            nonce,
            time,
        };
        if r.canonical()? != text {
            return Err("the signed text is not in its canonical form".into());
        }
        Ok(r)
    }
}

/// Splits a header value into (key id, base64 signature).
pub fn parse_header(value: &str) -> Result<(String, String), String> {
    let (k, s) = value
        .trim()
        .split_once(':')
        .ok_or("Liaison-Signature is `<key id>:<base64 signature>`")?;
    if k.len() != 8 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the key id is 8 hex digits".into());
    }
    if s.is_empty() || s.len() > 200 {
        return Err("the signature is base64 of 64 bytes".into());
    }
    Ok((k.to_ascii_lowercase(), s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SignedRequest {
        SignedRequest {
            origin: "liaison.cell/golan/ab12".into(),
            operator: "il-liaison".into(),
            method: "POST".into(),
            path: "/taxii2/il/collections/submissions/objects".into(),
            query: "".into(),
            headers: ["flash".into(), "".into(), "sy".into()],
            body_sha256: "ab".repeat(32),
            nonce: "n-1".into(),
            time: "2026-12-06T12:00:00Z".into(),
        }
    }

    #[test]
    fn canonical_text_reads_back() {
        let r = sample();
        let text = r.canonical().expect("canonical");
        assert!(text.starts_with("liaison/submission/v2\norigin liaison.cell/golan/ab12\n"));
        assert!(text.contains("\nheader x-liaison-recipients: sy\n"));
        assert_eq!(SignedRequest::parse(&text), Ok(r));
    }

    #[test]
    fn a_field_cannot_forge_another_line() {
        let mut r = sample();
        r.query = "a=1\nheader x-liaison-recipients: us".into();
        assert!(r.canonical().is_err());
        let mut r = sample();
        r.nonce = "x".repeat(65);
        assert!(r.canonical().is_err());
        let text = sample().canonical().expect("canonical");
        assert!(SignedRequest::parse(&format!("{text}extra\n")).is_err());
    }
}
