//! The upstream gateway `confsim record` forwards to: its URL, and the HTTP client that
//! reaches it (hyper-util's pooled client over plain TCP or rustls).
//!
//! The client keeps the letter case of the header names it receives (`http1_preserve_header_case`),
//! and hands it on with the response, so the proxy's server writes every header back in the
//! upstream's own case (`Set-GUID` included); it sends the client's header names in the client's
//! case the same way. Connections are pooled per upstream and opened as needed: each held long
//! poll holds one, as it would against the gateway directly.

use crate::error::{GatewayError, Result};
use http_body_util::Full;
use hyper::Uri;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// How the upstream's certificate is checked (https only).
#[derive(Clone, Debug, Default)]
pub enum UpstreamTrust {
    /// Trust the certificates of this PEM file (`--upstream-ca`): a lab's own CA, or a
    /// self-signed certificate.
    Ca(std::path::PathBuf),
    /// Accept any certificate (`--upstream-insecure`): for a lab gateway whose certificate
    /// cannot be had; the traffic is still encrypted, but anyone in between can read it.
    Insecure,
    /// Neither given: an https upstream needs one of them (there is no system store here).
    #[default]
    Unset,
}

/// A parsed `--upstream URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamUrl {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// A path the upstream's routes live under (empty, or `/prefix` without a trailing `/`).
    pub prefix: String,
}

impl UpstreamUrl {
    /// `http://HOST[:PORT][/prefix]` or `https://…`; the port defaults to 80 or 443.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| {
            GatewayError::Config(format!(
                "--upstream {text:?}: {why} (give http://HOST:PORT or https://HOST:PORT)"
            ))
        };
        let uri: Uri = text.parse().map_err(|_| bad("not a URL"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(_) => return Err(bad("the scheme must be http or https")),
            None => return Err(bad("the scheme is missing")),
        };
        let authority = uri.authority().ok_or_else(|| bad("the host is missing"))?;
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        if uri.query().is_some() {
            return Err(bad("a query has no place in the upstream's URL"));
        }
        let host = authority.host().trim_matches(['[', ']']).to_owned();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(UpstreamUrl {
            https,
            host,
            port,
            prefix: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// `HOST:PORT`, as a capture's header names its source.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The upstream's URI of a request's path and query.
    pub fn uri(&self, path_and_query: &str) -> Result<Uri, hyper::http::Error> {
        let scheme = if self.https { "https" } else { "http" };
        let text = format!(
            "{scheme}://{}{}{path_and_query}",
            self.host_port(),
            self.prefix
        );
        Ok(text.parse::<Uri>()?)
    }
}

/// The pooled client of the upstream.
pub(crate) type UpstreamClient = Client<Connector, Full<Bytes>>;

/// Opens connections to the upstream: TCP, then TLS for https.
#[derive(Clone)]
pub(crate) struct Connector {
    url: Arc<UpstreamUrl>,
    tls: Option<TlsConnector>,
    timeout: Duration,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("url", &self.url)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// How long connecting (TCP and TLS handshake) may take before the client is answered 502.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Connector {
    pub fn new(url: &UpstreamUrl, trust: &UpstreamTrust) -> Result<Self> {
        let tls = if url.https {
            Some(tls_connector(trust)?)
        } else {
            if !matches!(trust, UpstreamTrust::Unset) {
                return Err(GatewayError::Config(
                    "--upstream-ca and --upstream-insecure apply to an https upstream".to_owned(),
                ));
            }
            None
        };
        Ok(Connector {
            url: Arc::new(url.clone()),
            tls,
            timeout: CONNECT_TIMEOUT,
        })
    }

    pub fn client(self) -> UpstreamClient {
        Client::builder(TokioExecutor::new())
            .http1_preserve_header_case(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(self)
    }

    async fn connect(self) -> io::Result<UpstreamIo> {
        let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port)).await?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(UpstreamIo::Plain(tcp)),
            Some(tls) => {
                let name = ServerName::try_from(self.url.host.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                Ok(UpstreamIo::Tls(Box::new(tls.connect(name, tcp).await?)))
            }
        }
    }
}

impl tower::Service<Uri> for Connector {
    type Response = TokioIo<UpstreamIo>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Every request goes to the one upstream, whatever its URI says.
    fn call(&mut self, _: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            match tokio::time::timeout(this.timeout, this.connect()).await {
                Ok(connected) => connected.map(TokioIo::new),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connecting to the upstream timed out",
                )),
            }
        })
    }
}

/// The rustls client configuration for `trust`.
fn tls_connector(trust: &UpstreamTrust) -> Result<TlsConnector> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::Config(format!("TLS: {e}")))?;
    let config = match trust {
        UpstreamTrust::Ca(file) => builder
            .with_root_certificates(roots(file)?)
            .with_no_client_auth(),
        UpstreamTrust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
        UpstreamTrust::Unset => {
            return Err(GatewayError::Config(
                "an https upstream needs --upstream-ca CA.pem (the certificate authority, or the self-signed certificate, that signed its certificate) or --upstream-insecure".to_owned(),
            ));
        }
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The certificates of a PEM file, as trust anchors.
fn roots(file: &Path) -> Result<rustls::RootCertStore> {
    let bad = |message: String| GatewayError::Tls {
        file: file.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| bad(format!("cannot read the CA certificates: {e}")))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate (-----BEGIN CERTIFICATE-----) in the file".to_owned(),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
    }
    Ok(roots)
}

/// `--upstream-insecure`: every certificate is accepted; signatures are still checked, so the
/// handshake is a real one with whoever answers.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection to the upstream, plain or TLS.
#[derive(Debug)]
pub(crate) enum UpstreamIo {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for UpstreamIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            UpstreamIo::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            UpstreamIo::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_flush(cx),
            UpstreamIo::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            UpstreamIo::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls_are_read_with_their_defaults() {
        let u = UpstreamUrl::parse("https://gw.lab:8043").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.prefix.as_str()),
            (true, "gw.lab", 8043, "")
        );
        assert_eq!(u.host_port(), "gw.lab:8043");
        let u = UpstreamUrl::parse("http://127.0.0.1/base/").unwrap();
        assert_eq!((u.port, u.prefix.as_str()), (80, "/base"));
        assert_eq!(
            u.uri("/agentgateway/resource/x?a=1").unwrap().to_string(),
            "http://127.0.0.1:80/base/agentgateway/resource/x?a=1"
        );
        let u = UpstreamUrl::parse("http://[::1]:9").unwrap();
        assert_eq!(u.host_port(), "[::1]:9");
        for bad in [
            "gw:8043",
            "ftp://gw",
            "http://u:p@gw",
            "http://gw?x=1",
            "::",
        ] {
            let err = UpstreamUrl::parse(bad).unwrap_err().to_string();
            assert!(err.contains("--upstream"), "{bad}: {err}");
        }
    }
}
