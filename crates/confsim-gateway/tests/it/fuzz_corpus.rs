//! The fuzzer's interesting inputs (`fuzz/`, target `gateway_request`) as regression tests:
//! every file under `tests/fuzz-corpus/` (but its `README.md`) is sent through the router as
//! the fuzz target does, to a fresh gateway after agent 101 signs in; none may panic or be
//! answered 5xx.
//!
//! `CONFSIM_FUZZ_CORPUS=DIR` checks another directory instead (a whole fuzz corpus).

use axum::body::Body;
use axum::http::Request;
use confsim_gateway::{Gateway, GatewayConfig};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tower::ServiceExt;

fn corpus() -> Vec<PathBuf> {
    let dir = std::env::var_os("CONFSIM_FUZZ_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus"),
        PathBuf::from,
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file() && !path.ends_with("README.md"))
        .collect();
    files.sort();
    files
}

// From here to `replay`, this mirrors `fuzz/fuzz_targets/gateway_request.rs` (which cannot
// use test code): the same configuration, sign-in, request splitting and `GUID` substitution.
// Keep the two in step.

/// Status, `Set-GUID` value and body of one request.
async fn send(router: &axum::Router, request: Request<Body>) -> (u16, String, String) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let guid = response
        .headers()
        .get("set-guid")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("JSESSIONID="))
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("a body");
    (status, guid, String::from_utf8_lossy(&body).into_owned())
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

/// Every status answered, the sign-in's first; a panic propagates.
async fn replay(data: &[u8]) -> Vec<(u16, String)> {
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
    let (status, guid, body) = send(&router, login).await;
    let mut answers = vec![(status, body)];
    if let Some(request) = request(data, &guid) {
        let (status, _, body) = send(&router, request).await;
        answers.push((status, body));
    }
    answers
}

#[test]
fn fuzz_corpus_never_panics_or_answers_5xx() {
    let files = corpus();
    assert!(!files.is_empty(), "the fuzz corpus is empty");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    for file in &files {
        let bytes = std::fs::read(file).expect("a readable corpus file");
        let outcome =
            std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(replay(&bytes))));
        let Ok(answers) = outcome else {
            panic!("the gateway panicked on {}", file.display());
        };
        for (status, body) in answers {
            assert!(status < 500, "{}: {status}: {body}", file.display());
        }
    }
}
