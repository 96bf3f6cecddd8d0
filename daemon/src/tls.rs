//! TLS server configuration from PEM files (rustls, ring provider, TLS 1.3 and 1.2).

use std::path::Path;
use std::sync::Arc;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {reason}")]
pub struct TlsError {
    what: &'static str,
    path: String,
    reason: String,
}

fn tls_err(what: &'static str, path: &Path, reason: impl ToString) -> TlsError {
    TlsError {
        what,
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Loads a certificate chain and private key into a server configuration.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|e| tls_err("certificate", cert, e))?;
    let chain = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err("certificate", cert, e))?;
    if chain.is_empty() {
        return Err(tls_err("certificate", cert, "no CERTIFICATE block found"));
    }
    let key_pem = std::fs::read(key).map_err(|e| tls_err("key", key, e))?;
    let private = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| tls_err("key", key, e))?
        .ok_or_else(|| tls_err("key", key, "no PRIVATE KEY block found"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| tls_err("certificate", cert, e))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| tls_err("certificate/key pair", cert, e))?;
    Ok(Arc::new(config))
}
