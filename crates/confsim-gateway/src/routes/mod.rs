//! The HTTP surface: the vendor's routes under `/agentgateway/resource/` (`vendor.rs`), the
//! control API under `/simulator/` (`control.rs`), and what every route shares: reading a
//! body within the limit, the JSON envelopes, the vendor-style 404 and 405, and the panic
//! guard.
//!
//! Transport rule: a client gets HTTP 200 with `{"message","retcode","result"}` for every
//! business answer, errors included (clients parse the body and branch on `retcode`); 404 for
//! a path that names no interface, 405 for a method the interface does not take, 413 for a
//! body over the limit; never a 5xx for anything it sends. A panic (a broken invariant in the
//! simulator, never the client's fault) is caught and answered 200 with `100-007`, the
//! vendor's "exception during the operation".

mod control;
mod subscribe;
pub(crate) mod vendor;

use crate::gateway::Gateway;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::Ordering;

pub(crate) const JSON: &str = "application/json;charset=UTF-8";

/// The HTTP router of a gateway.
pub fn router(gateway: Gateway) -> Router {
    let panics = gateway.clone();
    let counted = gateway.clone();
    vendor::routes()
        .merge(control::routes(&gateway))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(move |response: Response| {
            let gateway = counted.clone();
            async move {
                gateway.shared.http.count(response.status().as_u16());
                response
            }
        }))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            move |cause: Box<dyn std::any::Any + Send + 'static>| {
                panics.shared.http.panics.fetch_add(1, Ordering::Relaxed);
                let what = cause
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| cause.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                tracing::error!(panic = what, "a handler panicked; answered 100-007");
                envelope(
                    StatusCode::OK,
                    "100-007",
                    &format!("the simulator failed while handling the request: {what}"),
                    &Value::Object(Default::default()),
                )
            },
        ))
        .with_state(gateway)
}

/// The vendor's envelope, in the order its samples write it.
#[derive(Serialize)]
struct Envelope<'a> {
    message: &'a str,
    retcode: &'a str,
    result: &'a Value,
}

pub(crate) fn envelope(
    status: StatusCode,
    retcode: &str,
    message: &str,
    result: &Value,
) -> Response {
    let body = serde_json::to_vec(&Envelope {
        message,
        retcode,
        result,
    })
    .unwrap_or_default();
    json_response(status, body)
}

pub(crate) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = (status, body.into()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

/// Adds `Set-GUID: JSESSIONID=<guid>` (agentgateway.md §2.2).
pub(crate) fn with_set_guid(mut response: Response, guid: Option<&str>) -> Response {
    if let Some(guid) = guid
        && let Ok(value) = HeaderValue::from_str(&format!("JSESSIONID={guid}"))
    {
        response.headers_mut().insert("set-guid", value);
    }
    response
}

/// The control API's error shape: `{"error": "..."}` with a 4xx status.
pub(crate) fn control_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::to_vec(&serde_json::json!({ "error": message })).unwrap_or_default();
    json_response(status, body)
}

/// A path that names no interface: 404 with the vendor's envelope (`000-002`, bad URL), so a
/// client that parses every body still reads something it understands.
async fn not_found(
    State(gateway): State<Gateway>,
    method: Method,
    uri: axum::http::Uri,
) -> Response {
    gateway
        .shared
        .http
        .not_found
        .fetch_add(1, Ordering::Relaxed);
    envelope(
        StatusCode::NOT_FOUND,
        "000-002",
        &format!("no interface at {method} {}", uri.path()),
        &Value::Object(Default::default()),
    )
}

/// A method the interface does not take: 405 with the envelope and an `Allow` header.
pub(crate) fn wrong_method(method: &Method, path: &str, allowed: &[Method]) -> Response {
    let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    let mut response = envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        "000-002",
        &format!(
            "{path} does not take {method}; it takes {}",
            allow.join(", ")
        ),
        &Value::Object(Default::default()),
    );
    if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        "000-002",
        &format!("{} does not take {method}", uri.path()),
        &Value::Object(Default::default()),
    )
}

/// Why a body could not be read.
pub(crate) enum BodyError {
    TooLarge(usize),
    /// The client stopped sending (or sent a broken chunked encoding).
    Broken,
}

impl BodyError {
    pub fn into_response(self, gateway: &Gateway) -> Response {
        match self {
            BodyError::TooLarge(limit) => {
                gateway
                    .shared
                    .http
                    .body_too_large
                    .fetch_add(1, Ordering::Relaxed);
                envelope(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "000-002",
                    &format!("the request body is larger than {limit} bytes"),
                    &Value::Object(Default::default()),
                )
            }
            BodyError::Broken => envelope(
                StatusCode::BAD_REQUEST,
                "000-002",
                "the request body could not be read",
                &Value::Object(Default::default()),
            ),
        }
    }
}

/// Reads a request body of at most `limit` bytes. A declared `Content-Length` over the limit
/// is refused before a byte is read; a body that turns out longer is refused as soon as it
/// passes the limit, so an endless body costs at most `limit` bytes of memory.
pub(crate) async fn read_body(request: Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    if let Some(length) = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        && length > limit as u64
    {
        return Err(BodyError::TooLarge(limit));
    }
    use http_body_util::BodyExt;
    match http_body_util::Limited::new(request.into_body(), limit)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(BodyError::TooLarge(limit))
        }
        Err(_) => Err(BodyError::Broken),
    }
}

/// The body as the core takes it: no body (or only whitespace) is `null`; JSON is its value;
/// anything else is the text itself as a JSON string, so the core answers `000-002` for it
/// like any other wrong type and the journal records what was sent (bytes that are not UTF-8
/// are replaced by U+FFFD).
pub(crate) fn body_value(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The `Guid` header (any letter case: HTTP header names are case-insensitive, and the
/// vendor's demos send `guid`). A value written like the `Set-GUID` header
/// (`JSESSIONID=<guid>`) is accepted too.
pub(crate) fn guid_header(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("guid")?.to_str().ok()?.trim();
    let value = value.strip_prefix("JSESSIONID=").unwrap_or(value);
    (!value.is_empty()).then(|| value.to_owned())
}
