//! HTTPS (`--tls-cert`, `--tls-key`): the vendor serves HTTPS on 8043, and some clients will
//! not speak anything else. rustls with the `ring` provider (a pure Rust and C build: no cmake,
//! no Go), TLS 1.2 and 1.3, PEM files.
//!
//! axum's `serve` only takes plain TCP, so the TLS server is a small accept loop: each
//! connection's handshake runs in its own task (bounded in time, so a client that connects and
//! sends nothing holds a task for at most that long), then hyper serves the same router over
//! it. A failed handshake (a plain-HTTP client on the TLS port, an untrusted certificate) costs
//! that connection only.

use crate::error::{GatewayError, Result};
use crate::gateway::Gateway;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How long a connection may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for open connections before dropping them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// As `serve`, over TLS.
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        acceptor: TlsAcceptor,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Option<confsim_journal::Summary>> {
        let clock = {
            let gateway = self.clone();
            tokio::spawn(async move { gateway.run_clock().await })
        };
        let router = crate::routes::router(self.clone());
        let graceful = GracefulShutdown::new();
        let mut signal = std::pin::pin!(signal);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let tcp = match accepted {
                        Ok((tcp, _)) => tcp,
                        Err(error) => {
                            // Out of file descriptors, say: keep serving the connections there
                            // are, and try again shortly rather than spinning.
                            tracing::warn!(%error, "accepting a connection failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let acceptor = acceptor.clone();
                    let service = TowerToHyperService::new(router.clone());
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(error)) => {
                                tracing::debug!(%error, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                        let connection = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service);
                        if let Err(error) = watcher.watch(connection).await {
                            tracing::debug!(%error, "a TLS connection ended with an error");
                        }
                    });
                }
                _ = &mut signal => break,
            }
        }
        // Held polls answer now, so open connections can finish their requests and close.
        self.shut_down();
        drop(listener);
        drop(router);
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
        let _ = clock.await;
        self.finish()
    }
}
