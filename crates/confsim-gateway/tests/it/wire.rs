//! The bytes on the wire (product.md §9.5): clients written for the real gateway compare header
//! names exactly, as the vendor's Java demo does (`header.getName().equals("Set-GUID")`), so
//! the gateway must write `Set-GUID` in that case. A raw TCP client reads the answer as bytes.

use crate::tcp::Server;
use confsim_gateway::GatewayConfig;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `request` on a fresh connection (which it closes); the whole answer as text.
async fn raw(server: &Server, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .expect("the gateway answers and closes")
        .unwrap();
    String::from_utf8(answer).unwrap()
}

/// The header names of an answer's head, as written.
fn names(answer: &str) -> Vec<&str> {
    let head = answer.split("\r\n\r\n").next().unwrap();
    head.lines()
        .skip(1)
        .filter_map(|line| line.split_once(':').map(|(name, _)| name))
        .collect()
}

fn sign_in(agent: u32, close: bool) -> String {
    let body = r#"{"password":"","status":"4"}"#;
    format!(
        "PUT /agentgateway/resource/onlineagent/{agent} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{body}",
        body.len(),
        if close { "Connection: close\r\n" } else { "" },
    )
}

#[tokio::test]
async fn set_guid_goes_out_in_the_vendors_case_byte_for_byte() {
    let server = Server::start(GatewayConfig::default(), None).await;
    let answer = raw(&server, &sign_in(101, true)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // As the Java demo looks for it: the exact name, then the JSESSIONID value.
    let names = names(&answer);
    assert!(names.contains(&"Set-GUID"), "{names:?}");
    assert!(!names.contains(&"set-guid"), "{names:?}");
    assert!(answer.contains("\r\nSet-GUID: JSESSIONID="), "{answer}");
    assert!(answer.contains(r#""retcode":"0""#), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn every_answer_on_a_kept_alive_connection_has_the_vendors_case() {
    let server = Server::start(GatewayConfig::default(), None).await;
    // Two sign-ins pipelined on one connection, the second closing it: both heads rewritten,
    // and the bodies between them unchanged.
    let answer = raw(
        &server,
        &format!("{}{}", sign_in(101, false), sign_in(102, true)),
    )
    .await;
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 2, "{answer}");
    assert_eq!(
        answer.matches("\r\nSet-GUID: JSESSIONID=").count(),
        2,
        "{answer}"
    );
    assert!(!answer.contains("set-guid"), "{answer}");
    assert_eq!(answer.matches(r#""retcode":"0""#).count(), 2, "{answer}");
    server.stop().await;
}
