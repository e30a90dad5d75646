//! The cell's TLS certificate: made at `init`, loaded at `serve`, named by the SHA-256
//! fingerprint of its DER so that clients can pin it.
//!
//! rustls with the ring provider; no other TLS stack and no downloads.

use crate::at_rest;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The cell certificate `init --hostname` writes into the data directory (PEM).
pub const CERT_FILE: &str = "tls.crt";
/// Its private key (PKCS#8 PEM, mode 0600).
pub const KEY_FILE: &str = "tls.key";

/// Names every cell certificate carries besides the host names it is given, so that a
/// client on the host itself can use it.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Most host names a certificate is made for.
pub const MAX_HOSTNAMES: usize = 32;

/// Lower-case hex SHA-256 of a certificate's DER: what `GET /api/v1/cell`,
/// `credentials.json` and `--ca-fingerprint` carry.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Paths of the cell certificate and key in a data directory.
pub fn cell_files(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(CERT_FILE), dir.join(KEY_FILE))
}

/// The fingerprint of the cell certificate in `dir`, if there is one.
pub fn cell_fingerprint(dir: &Path) -> Result<Option<String>, String> {
    let (cert, _) = cell_files(dir);
    if !cert.exists() {
        return Ok(None);
    }
    let chain = read_chain(&cert)?;
    Ok(chain.first().map(|c| fingerprint(c.as_ref())))
}

/// Makes a self-signed cell certificate for `hostnames` (plus localhost, 127.0.0.1 and
/// ::1) in `dir`: the key written with mode 0600, the certificate beside it. Returns
/// the certificate's fingerprint.
pub fn make_cell_certificate(dir: &Path, hostnames: &[String]) -> Result<String, String> {
    if hostnames.len() > MAX_HOSTNAMES {
        return Err(format!("at most {MAX_HOSTNAMES} host names"));
    }
    let mut names: Vec<String> = Vec::new();
    for n in hostnames.iter().map(|n| n.trim()) {
        if n.is_empty() || n.len() > 253 || n.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(format!("{n:?} is not a host name or address"));
        }
        if !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            names.push(n.to_string());
        }
    }
    for n in LOCAL_NAMES {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_string());
        }
    }
    let mut params = rcgen::CertificateParams::new(names.clone())
        .map_err(|e| format!("cannot make a certificate for {names:?}: {e}"))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0].clone());
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Liaison cell");
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().map_err(|e| format!("cannot make a TLS key: {e}"))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("cannot sign the cell certificate: {e}"))?;
    let (cert_path, key_path) = cell_files(dir);
    at_rest::write_private(&key_path, key.serialize_pem().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", key_path.display()))?;
    std::fs::write(&cert_path, cert.pem())
        .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))?;
    Ok(fingerprint(cert.der()))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read the TLS certificate {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{} is not a PEM certificate: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(chain)
}

/// A server configuration from a PEM certificate chain and its PEM private key, and
/// the fingerprint of the chain's first (the server's own) certificate. Refuses a key
/// file that group or others may read.
pub fn server_config(
    cert: &Path,
    key: &Path,
) -> Result<(Arc<rustls::ServerConfig>, String), String> {
    at_rest::check_private(key)?;
    let chain = read_chain(cert)?;
    let fp = fingerprint(chain[0].as_ref());
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the TLS key {}: {e}", key.display()))?;
    let provider = Arc::new(ring_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            format!(
                "the TLS key does not fit the certificate {}: {e}",
                cert.display()
            )
        })?;
    // HTTP/1.1 only: its header-read and idle timeouts are the ones the server sets.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), fp))
}

/// rustls over ring, which builds offline with a C compiler alone. rustls deprecates it
/// for its lack of post-quantum key exchange (its aws-lc provider has one).
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
