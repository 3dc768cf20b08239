//! Bad requests: malformed bodies are the core's `000-002` (journaled), unknown paths 404,
//! wrong methods 405, oversized bodies 413, and nothing a client sends is ever a 5xx.

use crate::support::{BASE, Client, gateway};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn malformed_bodies_are_000_002_and_journaled_as_sent() {
    let c = Client::new(gateway(|_| {}));
    let guid = c.login(101).await;
    let cases: [(&str, serde_json::Value); 6] = [
        (r#"{"memberNum":4"#, json!(r#"{"memberNum":4"#)),
        ("memberNum=4", json!("memberNum=4")),
        (r#"{"memberNum":"4"}"#, json!({"memberNum": "4"})),
        (r#"{"time":50}"#, json!({"time": 50})),
        (r#"{"memberNum":121}"#, json!({"memberNum": 121})),
        (r#"[1,2]"#, json!([1, 2])),
    ];
    for (body, _) in &cases {
        let reply = c
            .send(
                Method::POST,
                &format!("{BASE}/agentconf/101/requestagentconf"),
                &[("Guid", &guid), ("Content-Type", "application/json")],
                body.to_string(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.retcode(), "000-002", "{body}: {}", reply.text);
        assert_eq!(reply.json()["result"], json!({}));
    }
    let inputs = c.inputs();
    let journaled: Vec<_> = inputs[1..].iter().map(|r| r["body"].clone()).collect();
    let sent: Vec<_> = cases.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(journaled, sent);
    assert!(
        inputs[1..]
            .iter()
            .all(|r| r["response"]["retcode"] == "000-002")
    );
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_journaled_with_replacement_characters() {
    let c = Client::new(gateway(|_| {}));
    let guid = c.login(101).await;
    let reply = c
        .send(
            Method::POST,
            &format!("{BASE}/agentconf/101/requestagentconf"),
            &[("Guid", &guid)],
            vec![0xff, b'{', 0xfe],
        )
        .await;
    assert_eq!(reply.retcode(), "000-002");
    assert_eq!(c.inputs()[1]["body"], json!("\u{fffd}{\u{fffd}"));
}

#[tokio::test]
async fn unknown_paths_are_404_with_the_vendor_envelope() {
    let c = Client::new(gateway(|_| {}));
    for path in [
        "/".to_owned(),
        "/agentgateway/resource/".to_owned(),
        format!("{BASE}/agentconf/101/requestagentconference"),
        format!("{BASE}/onlineagent/101/loginex"),
        format!("{BASE}/onlineagent/101/resetskill"),
        format!("{BASE}/onlineagent/101/rest/60"),
        format!("{BASE}/voicecall/101/callout"),
        format!("{BASE}/agentconf/101"),
        "/simulator/nothing".to_owned(),
    ] {
        let reply = c.send(Method::POST, &path, &[], "{}").await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.retcode(), "000-002", "{path}");
        assert!(
            reply.json()["message"]
                .as_str()
                .unwrap()
                .contains("no interface")
        );
    }
    assert!(c.inputs().is_empty());
}

#[tokio::test]
async fn an_undocumented_method_is_405_with_allow() {
    let c = Client::new(gateway(|_| {}));
    let cases = [
        (
            Method::GET,
            format!("{BASE}/agentconf/101/requestagentconf"),
            "POST",
        ),
        (
            Method::PUT,
            format!("{BASE}/agentconf/101/prolongtime"),
            "POST",
        ),
        (
            Method::POST,
            format!("{BASE}/agentconf/101/queryvdnconfid"),
            "GET",
        ),
        (Method::POST, format!("{BASE}/onlineagent/101"), "PUT"),
        (
            Method::GET,
            format!("{BASE}/onlineagent/101/logout"),
            "DELETE",
        ),
        (Method::POST, format!("{BASE}/agentevent/101"), "GET"),
    ];
    for (method, path, allow) in cases {
        let reply = c.send(method.clone(), &path, &[], "{}").await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(reply.headers.get("allow").unwrap(), allow);
        assert_eq!(reply.retcode(), "000-002");
    }
    let control = c
        .send(Method::DELETE, "/simulator/health", &[], Body::empty())
        .await;
    assert_eq!(control.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_declared_or_not() {
    let c = Client::new(gateway(|_| {}));
    let guid = c.login(101).await;
    let big = format!(r#"{{"memberNum":4,"pad":"{}"}}"#, "x".repeat(70 * 1024));
    let reply = c
        .send(
            Method::POST,
            &format!("{BASE}/agentconf/101/requestagentconf"),
            &[("Guid", &guid), ("Content-Length", &big.len().to_string())],
            big.clone(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.retcode(), "000-002");

    // A streamed body with no length is cut off when it passes the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b' '; 1024])).collect();
    let stream = Body::from_stream(futures_util::stream::iter(chunks));
    let reply = c
        .send(
            Method::POST,
            &format!("{BASE}/agentconf/101/requestagentconf"),
            &[("Guid", &guid)],
            stream,
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Exactly at the limit is fine (and the core judges it).
    let at_limit = format!(r#"{{"memberNum":4,"p":"{}"}}"#, "x".repeat(64 * 1024 - 22));
    assert_eq!(at_limit.len(), 64 * 1024);
    let reply = c
        .send(
            Method::POST,
            &format!("{BASE}/agentconf/101/requestagentconf"),
            &[("Guid", &guid)],
            at_limit,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.retcode(), "0", "{}", reply.text);
    // Refused bodies never reached the platform.
    assert_eq!(c.inputs().len(), 2);
}

#[tokio::test]
async fn nothing_a_client_sends_is_a_5xx() {
    let c = Client::new(gateway(|config| config.lenient = true));
    let guid = c.login(101).await;
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ];
    let paths = [
        format!("{BASE}/agentconf/101/requestagentconf"),
        format!("{BASE}/agentconf/101/prolongtime?prolongTime=%ZZ&prolongTime"),
        format!("{BASE}/agentconf/101/applytoshiftpresident?destWorkNo=99999999999999999999"),
        format!("{BASE}/agentconf/%FF%FE/requestagentconf"),
        format!("{BASE}/agentconf/101/queryvdnconfid"),
        format!("{BASE}/agentconf/-1/batchaddparticipant"),
        format!("{BASE}/agentconf/{}/requestagentconf", "9".repeat(400)),
        format!("{BASE}/onlineagent/101"),
        format!("{BASE}/onlineagent/101/forcelogin"),
        format!("{BASE}/onlineagent/%C3%A9/agentstatus"),
        format!("{BASE}/onlineagent/101/updateGuid"),
        format!("{BASE}/agentevent/101?calldata=x"),
        format!("{BASE}/agentevent/abc"),
        format!("{BASE}/../../etc/passwd"),
        "/simulator/clock/advance".to_owned(),
        "/simulator/journal?from=-3".to_owned(),
        "/simulator/journal?from=999999999999".to_owned(),
        "/simulator/metrics".to_owned(),
        "//".to_owned(),
    ];
    let bodies: [&[u8]; 9] = [
        b"",
        b"null",
        b"{}",
        b"{\"ms\": -1}",
        b"{\"ms\": 1e99}",
        b"{\"addresses\": [{\"addressType\": 9, \"address\": null}], \"confIds\": [[], {}]}",
        b"{\"memberNum\": 18446744073709551616, \"time\": -0.0}",
        &[0xff; 64],
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    ];
    let guid_headers: [&[(&str, &str)]; 3] = [&[], &[("Guid", guid.as_str())], &[("guid", "x")]];
    let mut seen = 0;
    for method in &methods {
        for path in &paths {
            for body in bodies {
                for headers in guid_headers {
                    let reply = c.send(method.clone(), path, headers, body.to_vec()).await;
                    assert!(
                        reply.status.as_u16() < 500,
                        "{method} {path} {body:?}: {} {}",
                        reply.status,
                        reply.text
                    );
                    seen += 1;
                }
            }
        }
    }
    assert_eq!(
        seen,
        methods.len() * paths.len() * bodies.len() * guid_headers.len()
    );
    let metrics = c
        .send(Method::GET, "/simulator/metrics", &[], Body::empty())
        .await;
    assert!(
        metrics
            .text
            .contains("confsim_http_responses_total{class=\"5xx\"} 0")
    );
}
