//! HTTPS (`--tls-cert`, `--tls-key`): the vendor serves HTTPS on 8043, and some clients will
//! not speak anything else. rustls with the `ring` provider (a pure Rust and C build: no cmake,
//! no Go), TLS 1.2 and 1.3, PEM files.
//!
//! The accept loop is the plain server's (`server.rs`): each connection's handshake runs in
//! its own task (bounded by the header read timeout, so a client that connects and sends
//! nothing holds a task and a connection slot for at most that long), then hyper serves the
//! same router over it. A failed handshake (a plain-HTTP client on the TLS port, an untrusted
//! certificate) costs that connection only.

use crate::error::{GatewayError, Result};
use crate::gateway::Gateway;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS configuration of a certificate chain and its private key, both PEM files.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let bad = |file: &Path, message: String| GatewayError::Tls {
        file: file.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, format!("cannot read the certificate: {e}")))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(cert, format!("not a PEM certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            cert,
            "no certificate (-----BEGIN CERTIFICATE-----) in the file".to_owned(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(key, format!("no usable PEM private key: {e}")))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(cert, e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key_der)
    .map_err(|e| bad(key, format!("the key does not fit the certificate: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

impl Gateway {
    /// As `serve`, over TLS (the same accept loop and limits, `server.rs`; a handshake must
    /// finish within the header read timeout).
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        acceptor: TlsAcceptor,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Option<confsim_journal::Summary>> {
        self.serve_on(listener, Some(acceptor), signal).await
    }
}
