//! The pair's TLS: both ends present a certificate signed by the pair's CA (`[cluster]
//! ca`), and accept only such a certificate from the other (rustls, ring, TLS 1.3).

use super::{ClusterConfig, ClusterError};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

fn err(path: &Path, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Tls(format!("{}: {e}", path.display()))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClusterError> {
    let pem = std::fs::read(path).map_err(|e| err(path, e))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(path, e))?;
    if certs.is_empty() {
        return Err(err(path, "no CERTIFICATE block found"));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, ClusterError> {
    let pem = std::fs::read(path).map_err(|e| err(path, e))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| err(path, e))?
        .ok_or_else(|| err(path, "no PRIVATE KEY block found"))
}

fn roots(config: &ClusterConfig) -> Result<Arc<rustls::RootCertStore>, ClusterError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs(&config.ca)? {
        roots.add(cert).map_err(|e| err(&config.ca, e))?;
    }
    Ok(Arc::new(roots))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The primary's side: a client certificate from the pair's CA is required.
pub(super) fn server(config: &ClusterConfig) -> Result<Arc<rustls::ServerConfig>, ClusterError> {
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots(config)?, provider())
            .build()
            .map_err(|e| err(&config.ca, e))?;
    let tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ClusterError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&config.certificate)?, key(&config.key)?)
        .map_err(|e| err(&config.certificate, e))?;
    Ok(Arc::new(tls))
}

/// The standby's side: the primary's certificate must come from the pair's CA and name
/// the address dialled; ours goes with the handshake.
pub(super) fn client(config: &ClusterConfig) -> Result<Arc<rustls::ClientConfig>, ClusterError> {
    let tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ClusterError::Tls(e.to_string()))?
        .with_root_certificates(roots(config)?)
        .with_client_auth_cert(certs(&config.certificate)?, key(&config.key)?)
        .map_err(|e| err(&config.certificate, e))?;
    Ok(Arc::new(tls))
}
