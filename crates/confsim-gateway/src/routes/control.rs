//! The control API under `/simulator/` (product.md §6): health, the clock, advancing the
//! manual clock, the journal from a sequence number, and Prometheus metrics. Its errors are
//! `{"error": "..."}` with a 4xx status: it is a tool's interface, not the vendor's.

use super::{control_error, json_response, read_body};
use crate::gateway::{Gateway, OnTheWallClock};
use crate::journal::Forgotten;
use crate::routes::vendor::query_param;
use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

pub(super) fn routes() -> Router<Gateway> {
    Router::new()
        .route("/simulator/health", get(health))
        .route("/simulator/clock", get(clock))
        .route("/simulator/clock/advance", post(advance))
        .route("/simulator/journal", get(journal))
        .route("/simulator/metrics", get(metrics))
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
/// `from=0`) the whole journal, header included, which `confsim replay` reads as it is.
async fn journal(State(gateway): State<Gateway>, RawQuery(query): RawQuery) -> Response {
    let from = match query.as_deref().and_then(|q| query_param(q, "from")) {
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
