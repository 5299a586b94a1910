//! TLS for remote sessions (`wss://`, `https://`), with rustls and its `ring` provider (never
//! aws-lc-rs, which cannot be built for Android without the NDK).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate file could not be read or holds no certificate.
    #[error("cannot read the certificate chain from {0}: {1}")]
    Cert(String, String),
    /// The key file could not be read or holds no private key.
    #[error("cannot read the private key from {0}: {1}")]
    Key(String, String),
    /// rustls refused the certificate and key (for instance, they do not match).
    #[error("the certificate and key do not work together: {0}")]
    Config(String),
}

/// A rustls server configuration from PEM files: a certificate chain and its private key.
///
/// # Errors
/// See [`TlsError`].
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let c = cert.display().to_string();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::Cert(c.clone(), e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Cert(c.clone(), e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::Cert(c, "no certificate in the file".into()));
    }
    let k = key.display().to_string();
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key(k, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(cfg))
}
