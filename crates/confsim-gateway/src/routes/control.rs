//! The control API under `/simulator/` (product.md §6): health, the clock, advancing the
//! manual clock, the journal from a sequence number, and Prometheus metrics. Its errors are
//! `{"error": "..."}` with a 4xx status: it is a tool's interface, not the vendor's.
//!
//! Access (`--control`, `--control-token`): off, every route answers 404; with a token, every
//! request must carry `Authorization: Bearer <token>` or is answered 401. The token is
//! compared through BLAKE3 digests, whose equality is constant-time, so neither the content
//! nor the length of a guess shows in the answer's timing.

use super::{control_error, json_response, read_body};
use crate::config::ControlAccess;
use crate::gateway::{Gateway, OnTheWallClock};
use crate::journal::Forgotten;
use crate::routes::subscribe::{self, Framing};
use crate::routes::vendor::query_param;
use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::Ordering;

pub(super) fn routes(gateway: &Gateway) -> Router<Gateway> {
    Router::new()
        .route("/simulator/health", get(health))
        .route("/simulator/clock", get(clock))
        .route("/simulator/clock/advance", post(advance))
        .route("/simulator/journal", get(journal))
        .route("/simulator/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(gateway.clone(), guard))
}

/// Lets a control request through only as `--control` and `--control-token` allow.
async fn guard(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    let http = &gateway.shared.http;
    match &gateway.config().control {
        ControlAccess::Open => next.run(request).await,
        ControlAccess::Off => {
            http.control_off.fetch_add(1, Ordering::Relaxed);
            control_error(
                StatusCode::NOT_FOUND,
                "the control API is off (confsim serve --control off, or an address beyond loopback without --control-token)",
            )
        }
        ControlAccess::Token(token) => {
            let given = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    let (scheme, rest) = v.trim().split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
                });
            if given.is_some_and(|given| same_token(given, token)) {
                return next.run(request).await;
            }
            http.control_unauthorized.fetch_add(1, Ordering::Relaxed);
            let mut response = control_error(
                StatusCode::UNAUTHORIZED,
                if given.is_some() {
                    "the control token is not the one the gateway was started with"
                } else {
                    "the control API needs its token: send Authorization: Bearer <the --control-token>"
                },
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"confsim-control\""),
            );
            response
        }
    }
}

/// Constant-time comparison of a presented token with the configured one: their BLAKE3
/// digests are compared (`blake3::Hash`'s equality is constant-time), so the time taken
/// depends on neither where a guess first differs nor how long the token is.
fn same_token(given: &str, token: &str) -> bool {
    blake3::hash(given.as_bytes()) == blake3::hash(token.as_bytes())
}

async fn health() -> Response {
    json_response(StatusCode::OK, r#"{"status":"ok"}"#)
}

async fn clock(State(gateway): State<Gateway>) -> Response {
    let (now, mode, speed) = gateway.clock();
    let body = json!({ "now": now.to_string(), "mode": mode, "speed": speed });
    json_response(StatusCode::OK, body.to_string())
}

/// `{"ms": n}`: how far to move the manual clock.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    ms: u64,
}

/// The most one call may advance: ten years, far past any conference (at most a day) and far
/// from overflowing simulated time.
const MAX_ADVANCE_MS: u64 = 10 * 366 * 24 * 3_600_000;

async fn advance(State(gateway): State<Gateway>, request: Request) -> Response {
    let bytes = match read_body(request, gateway.config().max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(&gateway),
    };
    let ms = match serde_json::from_slice::<Advance>(&bytes) {
        Ok(Advance { ms }) if ms <= MAX_ADVANCE_MS => ms,
        Ok(Advance { ms }) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                &format!("ms must be at most {MAX_ADVANCE_MS} (ten years), not {ms}"),
            );
        }
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "the body must be {{\"ms\": n}} with n a whole number of milliseconds: {e}"
                ),
            );
        }
    };
    match gateway.advance(ms).await {
        Ok(now) => json_response(
            StatusCode::OK,
            json!({ "now": now.to_string() }).to_string(),
        ),
        Err(OnTheWallClock) => control_error(
            StatusCode::CONFLICT,
            "the clock is the wall clock: simulated time follows real time (scaled by --speed); start the gateway with --clock manual to move it by hand",
        ),
    }
}

/// `GET /simulator/journal?from=SEQ`: JSON Lines from record SEQ on; without `from` (or
/// `from=0`) the whole journal, header included, which `confsim replay` reads as it is. With
/// `follow=true`, the response goes on with every new record (`subscribe.rs`), as Server-Sent
/// Events when the request accepts `text/event-stream`, resuming after `Last-Event-ID`.
async fn journal(
    State(gateway): State<Gateway>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let param = |name: &str| query.as_deref().and_then(|q| query_param(q, name));
    let follow = match param("follow").as_deref().map(str::trim) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(other) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                &format!("follow must be true or false, not {other:?}"),
            );
        }
    };
    let sse = follow
        && headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/event-stream"));
    // An EventSource reconnecting sends the last id it saw: resume after it, whatever `from`
    // its URL still says.
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let from_text = match (sse, resume) {
        (true, Some(last)) => match last.parse::<u64>() {
            Ok(last) => Some((last + 1).to_string()),
            Err(_) => {
                return control_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Last-Event-ID must be a record's seq (a whole number), not {last:?}"),
                );
            }
        },
        _ => param("from"),
    };
    let from = match from_text {
        None => 0,
        Some(text) => match text.trim().parse::<u64>() {
            Ok(seq) => seq,
            Err(_) => {
                return control_error(
                    StatusCode::BAD_REQUEST,
                    &format!("from must be a record's seq (a whole number), not {text:?}"),
                );
            }
        },
    };
    if follow {
        let framing = if sse {
            Framing::ServerSentEvents
        } else {
            Framing::JsonLines
        };
        return subscribe::follow(gateway, from, framing).await;
    }
    match gateway.journal_from(from) {
        Ok(bytes) => {
            let mut response = (StatusCode::OK, Body::from(bytes)).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            response
        }
        Err(Forgotten { earliest }) => control_error(
            StatusCode::GONE,
            &format!(
                "records before seq {earliest} are no longer held in memory (--journal-memory-mb); read them from the --journal file"
            ),
        ),
    }
}

async fn metrics(State(gateway): State<Gateway>) -> Response {
    let mut response = (StatusCode::OK, gateway.metrics()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
