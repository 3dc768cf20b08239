//! HTTPS: a self-signed certificate made for the test, the real server on loopback, and a
//! rustls client that trusts only that certificate.

use confsim_gateway::{Gateway, GatewayConfig, tls_acceptor};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types::ServerName};

/// Sends one HTTP/1.1 request over TLS and returns the whole response text.
async fn https(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
    request: &str,
) -> std::io::Result<String> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("a DNS name");
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(request.as_bytes()).await?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn the_gateway_serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, made.cert.pem()).unwrap();
    std::fs::write(&key_path, made.signing_key.serialize_pem()).unwrap();

    // A key file that is not a key is a clear error naming it.
    let err = tls_acceptor(&cert_path, &cert_path)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("cert.pem") && err.contains("private key"),
        "{err}"
    );

    let acceptor = tls_acceptor(&cert_path, &key_path).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gateway = Gateway::new(GatewayConfig::default(), None).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gateway.serve_tls(listener, acceptor, async {
        let _ = stopped.await;
    }));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));

    // A plain-HTTP client on the TLS port fails its own handshake, and the server goes on.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /simulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut sink)).await;

    let health = https(
        &connector,
        addr,
        "GET /simulator/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with(r#"{"status":"ok"}"#), "{health}");

    let body = r#"{"password":"","status":"4"}"#;
    let login = https(
        &connector,
        addr,
        &format!(
            "PUT /agentgateway/resource/onlineagent/101 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
    .unwrap();
    // The vendor's case, byte for byte, under the encryption too (product.md §9.5).
    assert!(login.contains("\r\nSet-GUID: JSESSIONID="), "{login}");
    assert!(!login.contains("set-guid"), "{login}");
    assert!(login.contains(r#""retcode":"0""#), "{login}");

    stop.send(()).unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap()
        .expect("the last handle");
    assert_eq!(summary.records, 1, "the sign-in");
}
