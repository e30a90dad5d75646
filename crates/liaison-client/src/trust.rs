//! Which server certificates the client trusts: the cell's own certificate, pinned by
//! its PEM (`--ca`) or by the SHA-256 fingerprint of its DER (`--ca-fingerprint`); a
//! PEM that is a certificate authority also vouches for what it issued. It also holds
//! the client certificate the client presents when its party pins a client CA.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Most certificates a trust file may hold.
const MAX_CERTIFICATES: usize = 64;

/// Certificates and fingerprints the client trusts (empty: the usual web roots), and
/// the client certificate it presents, if any.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    certificates: Vec<Vec<u8>>,
    fingerprints: Vec<[u8; 32]>,
    identity: Option<Identity>,
}

/// A client certificate chain and its private key, both PEM.
#[derive(Clone)]
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Identity {
    fn key(&self) -> Result<PrivateKeyDer<'static>, String> {
        PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| format!("the client key is not a PEM private key: {e}"))
    }
}

impl Trust {
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.fingerprints.is_empty()
    }

    /// Presents this client certificate (a PEM chain, the client's own first) with its
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) on every TLS connection.
    pub fn set_client_certificate(
        &mut self,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<(), String> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the client certificate is not PEM: {e}"))?;
        if chain.is_empty() {
            return Err("the client certificate file holds no PEM certificate".into());
        }
        if chain.len() > MAX_CERTIFICATES {
            return Err(format!("more than {MAX_CERTIFICATES} certificates"));
        }
        let identity = Identity {
            chain,
            cert_pem: cert_pem.to_vec(),
            key_pem: key_pem.to_vec(),
        };
        identity.key()?;
        self.identity = Some(identity);
        Ok(())
    }

    /// Whether the client presents a certificate.
    pub fn has_client_certificate(&self) -> bool {
        self.identity.is_some()
    }

    /// The client certificate and key as one PEM, for an HTTP stack that trusts the
    /// usual web roots.
    pub(crate) fn identity_pem(&self) -> Option<Vec<u8>> {
        let id = self.identity.as_ref()?;
        let mut pem = id.cert_pem.clone();
        pem.push(b'\n');
        pem.extend_from_slice(&id.key_pem);
        Some(pem)
    }

    /// Adds every certificate of a PEM file's text.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<(), String> {
        let mut n = 0;
        for c in CertificateDer::pem_slice_iter(pem) {
            let c = c.map_err(|e| format!("not a PEM certificate: {e}"))?;
            if self.certificates.len() >= MAX_CERTIFICATES {
                return Err(format!("more than {MAX_CERTIFICATES} certificates"));
            }
            self.certificates.push(c.as_ref().to_vec());
            n += 1;
        }
        if n == 0 {
            return Err("holds no PEM certificate".into());
        }
        Ok(())
    }

    /// Adds a SHA-256 fingerprint: 64 hex digits, colons allowed, `sha256:` allowed.
    pub fn add_fingerprint(&mut self, text: &str) -> Result<(), String> {
        let t = text.trim();
        let t = t
            .strip_prefix("sha256:")
            .or_else(|| t.strip_prefix("SHA256:"))
            .unwrap_or(t);
        let digits: String = t.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&digits)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                format!("{text:?} is not a SHA-256 fingerprint (64 hex digits, as `liaison init` prints)")
            })?;
        self.fingerprints.push(bytes);
        Ok(())
    }

    /// A rustls client configuration that trusts exactly this.
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(ring_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in &self.certificates {
            // A certificate that cannot be an anchor is still pinned by its bytes.
            let _ = roots.add(CertificateDer::from(c.clone()));
        }
        let issuers = if roots.is_empty() {
            None
        } else {
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .ok()
        };
        let verifier = Pinned {
            certificates: self.certificates.clone(),
            fingerprints: self.fingerprints.clone(),
            issuers,
            provider: provider.clone(),
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key()?)
                .map_err(|e| format!("the client key does not fit the client certificate: {e}"))?,
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Accepts a server certificate that is one of the pinned ones (by bytes or by
/// fingerprint, whatever name it was reached by), or that the pinned ones issued for
/// the name dialled; the handshake's signatures are always checked.
#[derive(Debug)]
struct Pinned {
    certificates: Vec<Vec<u8>>,
    fingerprints: Vec<[u8; 32]>,
    issuers: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let der = end_entity.as_ref();
        let digest: [u8; 32] = Sha256::digest(der).into();
        if self.certificates.iter().any(|c| c == der) || self.fingerprints.contains(&digest) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.issuers {
            Some(w) => {
                w.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Whether a transport error is the server's certificate not being trusted; if so, why
/// (rustls's words).
pub(crate) fn untrusted_reason(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return certificate_reason(r);
        }
        // io::Error's source() skips the error it wraps, so look inside it.
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = inner.downcast_ref::<rustls::Error>()
        {
            return certificate_reason(r);
        }
        cur = err.source();
    }
    // Some layers box the error in ways a downcast cannot see through; rustls's
    // variant name in the debug form still says what happened.
    let debug = format!("{e:?}");
    let at = debug.find("InvalidCertificate(")?;
    let rest = &debug[at + "InvalidCertificate(".len()..];
    let reason: String = rest.chars().take_while(|c| *c != ')').collect();
    Some(if reason.is_empty() {
        "invalid certificate".into()
    } else {
        reason
    })
}

fn certificate_reason(e: &rustls::Error) -> Option<String> {
    match e {
        rustls::Error::InvalidCertificate(c) => Some(format!("{c:?}")),
        _ => None,
    }
}

/// rustls over ring, which builds offline with a C compiler alone. rustls deprecates it
/// for its lack of post-quantum key exchange (its aws-lc provider has one).
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
