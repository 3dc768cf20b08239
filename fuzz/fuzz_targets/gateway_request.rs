//! One HTTP request through the gateway's router (manual clock, in process): it must never
//! panic and never answer 5xx.
//!
//! Input: `METHOD PATH\n`, then `Name: value\n` header lines up to an empty line, then the
//! body. Agent 101 is signed in before each request, and `GUID` in a header value or the
//! path is replaced with its Guid, so the fuzzer reaches the handlers behind the Guid check.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use confsim_gateway::{Gateway, GatewayConfig};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tower::ServiceExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

async fn send(router: &axum::Router, request: Request<Body>) -> (u16, Vec<u8>) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let guid = response
        .headers()
        .get("set-guid")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("JSESSIONID="))
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("a body");
    assert!(status < 500, "{status}: {}", String::from_utf8_lossy(&body));
    (status, guid)
}

/// Splits the input; `None` when it is not a request the client side could even build.
fn request(data: &[u8], guid: &str) -> Option<Request<Body>> {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head).replace("GUID", guid);
    let mut lines = head.split('\n');
    let first = lines.next()?;
    let (method, path) = first.split_once(' ').unwrap_or((first, "/"));
    let mut builder = Request::builder().method(method).uri(path);
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        builder = builder.header(name.trim(), value.trim());
    }
    builder.body(Body::from(body.to_vec())).ok()
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let config = GatewayConfig {
            poll_wait: Duration::from_millis(1),
            journal_memory_bytes: 1 << 20,
            ..GatewayConfig::default()
        };
        let gateway = Gateway::new(config, None).expect("a valid configuration");
        let router = confsim_gateway::router(gateway);
        let login = Request::builder()
            .method("PUT")
            .uri("/agentgateway/resource/onlineagent/101")
            .header("Content-Type", "application/json")
            .body(Body::from(r#"{"password": "", "status": "4"}"#))
            .expect("a request");
        let (_, guid) = send(&router, login).await;
        let guid = String::from_utf8(guid).unwrap_or_default();
        if let Some(request) = request(data, &guid) {
            send(&router, request).await;
        }
    });
});
