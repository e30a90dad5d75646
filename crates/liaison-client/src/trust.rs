//! Which server certificates the client trusts: the cell's own certificate, pinned by
//! its PEM (`--ca`) or by the SHA-256 fingerprint of its DER (`--ca-fingerprint`); a
//! PEM that is a certificate authority also vouches for what it issued.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Most certificates a trust file may hold.
const MAX_CERTIFICATES: usize = 64;

/// Certificates and fingerprints the client trusts. Empty: the usual web roots.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    certificates: Vec<Vec<u8>>,
    fingerprints: Vec<[u8; 32]>,
}

impl Trust {
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.fingerprints.is_empty()
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
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
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
