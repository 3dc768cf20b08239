//! The transport's limits over real TCP, with raw sockets: a slow client is disconnected
//! after the header read timeout, an oversized request head is answered 431, connections
//! beyond the cap wait until one closes; none of them is ever a 5xx.

use crate::support::metric;
use crate::tcp::Server;
use confsim_gateway::GatewayConfig;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The metrics at the end of a test, over a new connection; none of these limits may ever
/// have given a 5xx.
async fn metrics(server: &Server) -> String {
    let text = crate::support::metrics(&reqwest::Client::new(), server).await;
    assert_eq!(
        metric(&text, "confsim_http_responses_total{class=\"5xx\"}"),
        Some(0),
        "{text}"
    );
    text
}

/// The connections the gateway closed for `reason`, in the metrics' `text`.
fn closed_for(text: &str, reason: &str) -> Option<u64> {
    let series = format!("confsim_http_connections_closed_total{{reason=\"{reason}\"}}");
    metric(text, &series)
}

/// Reads until the server closes the connection (or `within` passes: a panic). Returns what
/// was read and when the connection closed.
async fn read_to_close(tcp: &mut TcpStream, within: Duration) -> (String, Instant) {
    let mut got = Vec::new();
    tokio::time::timeout(within, tcp.read_to_end(&mut got))
        .await
        .expect("the server closes the connection")
        .ok();
    (String::from_utf8_lossy(&got).into_owned(), Instant::now())
}

#[tokio::test]
async fn a_client_that_stalls_or_trickles_its_headers_is_disconnected_after_the_timeout() {
    let server = Server::start(
        GatewayConfig {
            header_read_timeout: Duration::from_millis(400),
            ..GatewayConfig::default()
        },
        None,
    )
    .await;
    // Half a request head, then nothing.
    let started = Instant::now();
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(b"GET /simulator/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A slowloris: one byte every 100 ms, never finishing (it would take 4 s).
    let mut trickler = TcpStream::connect(server.addr).await.unwrap();
    let trickle = tokio::spawn(async move {
        for b in b"GET /simulator/health HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaa" {
            if trickler.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        read_to_close(&mut trickler, Duration::from_secs(5)).await
    });
    let (answer, closed) = read_to_close(&mut stalled, Duration::from_secs(5)).await;
    let held = closed - started;
    assert_eq!(answer, "", "disconnected without an answer (no 5xx)");
    assert!(
        held >= Duration::from_millis(350) && held < Duration::from_secs(3),
        "{held:?}"
    );
    let (answer, closed) = trickle.await.unwrap();
    assert_eq!(answer, "");
    assert!(
        closed - started < Duration::from_secs(3),
        "trickling bytes does not extend it"
    );

    // A client that sends its head in time is served as always.
    let mut ok = TcpStream::connect(server.addr).await.unwrap();
    ok.write_all(b"GET /simulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_to_close(&mut ok, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let text = metrics(&server).await;
    assert_eq!(closed_for(&text, "header_timeout"), Some(2), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn a_request_head_over_the_limit_is_431_and_never_a_5xx() {
    let server = Server::start(
        GatewayConfig {
            max_header_bytes: 4096,
            ..GatewayConfig::default()
        },
        None,
    )
    .await;
    let request = |extra: &str| {
        format!(
            "GET /agentgateway/resource/agentevent/101 HTTP/1.1\r\nHost: x\r\nGuid: nope\r\n{extra}Connection: close\r\n\r\n"
        )
    };
    let send = |text: String| {
        let addr = server.addr;
        async move {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            // The server may answer and close before taking all of a huge head: a reset then
            // is fine, the answer was read first or not at all.
            let _ = tcp.write_all(text.as_bytes()).await;
            read_to_close(&mut tcp, Duration::from_secs(5)).await.0
        }
    };
    // Just under the limit: the vendor's answer (no session: 100-006).
    let under = send(request(&format!("X-Pad: {}\r\n", "a".repeat(3_900)))).await;
    assert!(under.starts_with("HTTP/1.1 200 "), "{under}");
    assert!(under.contains("100-006"), "{under}");
    // One long header, and many headers: 431, and the connection closed.
    let long = send(request(&format!("X-Pad: {}\r\n", "a".repeat(5_000)))).await;
    assert!(long.starts_with("HTTP/1.1 431 "), "{long}");
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = send(request(&many)).await;
    assert!(many.starts_with("HTTP/1.1 431 "), "{many}");
    // A huge one that never ends its head.
    let endless = send(format!("GET / HTTP/1.1\r\nX-Pad: {}", "a".repeat(64 << 10))).await;
    assert!(
        endless.is_empty() || endless.starts_with("HTTP/1.1 431 "),
        "{endless}"
    );

    let text = metrics(&server).await;
    assert!(
        closed_for(&text, "header_too_large").unwrap() >= 2,
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes_then_are_served() {
    let server = Server::start(
        GatewayConfig {
            max_connections: 2,
            header_read_timeout: Duration::from_secs(30),
            ..GatewayConfig::default()
        },
        None,
    )
    .await;
    let health = b"GET /simulator/health HTTP/1.1\r\nHost: x\r\n\r\n";
    // Two connections take both slots (kept alive after an answer each).
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    for tcp in [&mut first, &mut second] {
        tcp.write_all(health).await.unwrap();
        let mut buf = [0u8; 512];
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 "));
    }
    // The third connects (the kernel's backlog takes it) but is not served yet.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(health).await.unwrap();
    let mut buf = [0u8; 512];
    let waited = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "the third connection is not served while two are open"
    );
    // One closes: the third is served, with no error.
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200 "),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    drop(third);
    drop(second);
    // The metrics connection may have to wait for the closes to be noticed: it is served.
    let text = tokio::time::timeout(Duration::from_secs(5), metrics(&server))
        .await
        .unwrap();
    assert!(
        metric(&text, "confsim_http_connection_cap_waits_total").unwrap() >= 1,
        "{text}"
    );
    assert_eq!(metric(&text, "confsim_http_connections_max"), Some(2));
    server.stop().await;
}
