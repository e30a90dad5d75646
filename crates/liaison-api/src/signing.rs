//! What an operator signs when it submits: the log's origin, its own name, the request
//! line and the SHA-256 of the exact body bytes. The signature travels in the
//! `Liaison-Signature: <key id>:<base64 signature>` header and is kept in the record.

/// Header carrying an author's signature.
pub const HEADER: &str = "liaison-signature";

/// The bytes an operator signs for one submission.
pub fn submission_message(
    origin: &str,
    operator: &str,
    method: &str,
    path: &str,
    body_sha256_hex: &str,
) -> Vec<u8> {
    format!("liaison/submission/v1\n{origin}\n{operator}\n{method} {path}\n{body_sha256_hex}\n")
        .into_bytes()
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
