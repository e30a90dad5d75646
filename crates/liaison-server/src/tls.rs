//! The cell's TLS certificate: made at `init`, loaded at `serve`, named by the SHA-256
//! fingerprint of its DER so that clients can pin it.
//!
//! rustls with the ring provider; no other TLS stack and no downloads.

use crate::at_rest;
use liaison_core::charter::{Charter, Connection};
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
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

/// The client CAs the charter's parties pin (`client_ca` in `[[parties]]`): the TLS
/// layer asks any client for a certificate one of them issued (a client may present
/// none), and each connection is told which party's CA issued the one presented.
#[derive(Clone, Default)]
pub struct ClientCas {
    /// One verifier per party that pins a CA, trusting that CA alone.
    parties: Vec<(String, Arc<dyn ClientCertVerifier>)>,
    /// Trusts every pinned CA and lets a client present no certificate.
    any: Option<Arc<dyn ClientCertVerifier>>,
}

impl std::fmt::Debug for ClientCas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parties: Vec<&str> = self.parties.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("ClientCas")
            .field("parties", &parties)
            .finish()
    }
}

impl ClientCas {
    /// The client CAs `charter` pins; refuses one that is not a single PEM certificate
    /// usable as a trust anchor, and one CA pinned by two parties (its certificates would
    /// speak for both).
    pub fn from_charter(charter: Option<&Charter>) -> Result<ClientCas, String> {
        let provider = Arc::new(ring_provider());
        let mut all = rustls::RootCertStore::empty();
        let mut seen: Vec<(Vec<u8>, &str)> = Vec::new();
        let mut parties = Vec::new();
        for p in charter.map(|c| c.parties.as_slice()).unwrap_or_default() {
            let Some(pem) = &p.client_ca else { continue };
            let field = format!("party {}'s client_ca", p.id);
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("{field} is not a PEM certificate: {e}"))?;
            let [ca] = certs.as_slice() else {
                return Err(format!(
                    "{field} holds {} certificates; give one",
                    certs.len()
                ));
            };
            if let Some((_, other)) = seen.iter().find(|(d, _)| d == ca.as_ref()) {
                return Err(format!(
                    "{field} is party {other}'s client CA too: a certificate it issued would speak for both"
                ));
            }
            seen.push((ca.as_ref().to_vec(), &p.id));
            let mut one = rustls::RootCertStore::empty();
            one.add(ca.clone())
                .map_err(|e| format!("{field} cannot be a trust anchor: {e}"))?;
            all.add(ca.clone())
                .map_err(|e| format!("{field} cannot be a trust anchor: {e}"))?;
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(one),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("{field}: {e}"))?;
            parties.push((p.id.clone(), verifier));
        }
        if parties.is_empty() {
            return Ok(ClientCas::default());
        }
        let any =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(all), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("client CAs: {e}"))?;
        Ok(ClientCas {
            parties,
            any: Some(any),
        })
    }

    /// What a TLS connection shows of its client, given the certificates it presented
    /// (which the handshake verified against the pinned CAs, the client having proved it
    /// holds the first one's key): the party whose CA issued them, if any.
    pub fn connection(&self, presented: Option<&[CertificateDer<'_>]>) -> Connection {
        let certificate =
            presented
                .and_then(|chain| chain.split_first())
                .and_then(|(end, intermediates)| {
                    let now = UnixTime::now();
                    self.parties
                        .iter()
                        .find(|(_, v)| v.verify_client_cert(end, intermediates, now).is_ok())
                        .map(|(party, _)| party.clone())
                });
        Connection::Tls { certificate }
    }
}

/// A server configuration from a PEM certificate chain and its PEM private key, and
/// the fingerprint of the chain's first (the server's own) certificate. Refuses a key
/// file that group or others may read. When parties pin client CAs, the server asks
/// each client for a certificate one of them issued, and accepts a client without one.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_cas: &ClientCas,
) -> Result<(Arc<rustls::ServerConfig>, String), String> {
    at_rest::check_private(key)?;
    let chain = read_chain(cert)?;
    let fp = fingerprint(chain[0].as_ref());
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the TLS key {}: {e}", key.display()))?;
    let provider = Arc::new(ring_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match &client_cas.any {
        Some(verifier) => builder.with_client_cert_verifier(verifier.clone()),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
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
