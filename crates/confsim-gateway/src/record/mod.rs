//! `confsim record` (product.md §8.1): a recording reverse proxy in front of a real gateway.
//!
//! Every request under `/agentgateway/resource/` goes to the upstream as it came (method, path,
//! query, headers in the client's letter case, body) and the upstream's answer goes back as it
//! came (status, headers in the upstream's letter case, `Set-GUID` included, body): hyper
//! keeps each side's header case when asked to (`preserve_header_case`) and hands it from the
//! client to the server through the message's extensions, so nothing is rewritten by hand.
//! Only the hop-by-hop headers (RFC 9110 §7.6.1: `Connection`, `Transfer-Encoding`, …) are
//! the proxy's own on each side, as they must be; bodies are forwarded whole, so their length
//! is the same.
//!
//! Each answer of a vendor operation, and each event a poll delivered, is journaled into the
//! capture (`capture.rs`) before the answer leaves (durably, as `--fsync` says). An upstream
//! that cannot be reached, or whose answer breaks off, is a `502` to the client and nothing in
//! the capture: the proxy never invents an answer. A request is a task, not a thread: a long
//! poll held by the upstream is a future waiting on its connection, so thousands of agents
//! each holding a poll cost a connection and a task each.

mod capture;
mod upstream;

pub use capture::Resumed;
pub use upstream::{UpstreamTrust, UpstreamUrl};

use crate::config::Fsync;
use crate::error::Result;
use crate::gateway::needs_guid;
use crate::routes::body_value;
use crate::routes::vendor::{
    AGENTCONF, Online, decode, online_action, parameters, reset_skill_body, state_call_body,
};
use crate::server::next_connection;
use capture::{Capture, Pending};
use confsim_core::{AgentGroup, Op, PlatformConfig, retcode};
use confsim_journal::{Header, Source, Summary};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{Map, Value};
use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use upstream::{Connector, UpstreamClient};

/// The vendor's routes, which are all the proxy forwards.
const BASE: &str = "/agentgateway/resource/";
/// How long a stop waits for requests in flight (a held poll among them) before dropping them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// How `confsim record` runs.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    pub upstream: UpstreamUrl,
    pub trust: UpstreamTrust,
    pub fsync: Fsync,
    /// The platform configuration a replay of the capture should use, for its header.
    pub platform: PlatformConfig,
    pub agents: Vec<AgentGroup>,
    /// A request's line and headers must arrive within this (also the idle keep-alive time).
    pub header_read_timeout: Duration,
    pub max_header_bytes: usize,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// The largest request body forwarded (larger: 413, nothing forwarded).
    pub max_body_bytes: usize,
}

impl RecordConfig {
    /// The defaults of `confsim record` for `upstream`.
    pub fn new(upstream: UpstreamUrl) -> Self {
        RecordConfig {
            upstream,
            trust: UpstreamTrust::Unset,
            fsync: Fsync::Batch,
            platform: PlatformConfig::default(),
            agents: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_connections: 10_000,
            max_body_bytes: 1 << 20,
        }
    }
}

/// What the proxy has done, for its summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    /// Requests answered by the upstream and passed back.
    pub forwarded: u64,
    /// Requests answered 502: the upstream could not be reached or broke off.
    pub unreachable: u64,
    /// Vendor operations journaled, and events.
    pub inputs: u64,
    pub events: u64,
    /// Answers to vendor operations that were not the vendor's JSON envelope (not journaled).
    pub not_envelopes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    forwarded: AtomicU64,
    unreachable: AtomicU64,
    inputs: AtomicU64,
    events: AtomicU64,
    not_envelopes: AtomicU64,
}

/// The recording proxy; cheap to clone (one per connection).
#[derive(Clone, Debug)]
pub struct Recorder {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: RecordConfig,
    header: Header,
    client: UpstreamClient,
    capture: Capture,
    counters: Counters,
}

/// What a request under the base path is, for the capture.
#[derive(Debug, PartialEq, Eq)]
enum Vendor {
    /// A vendor operation of the journal by an agent (the path's id, decoded), with the body
    /// the gateway's core sees when it is not the one sent (a state call's parameters).
    Op(Op, String, Option<Value>),
    /// An event poll by an agent.
    Poll(String),
    /// Anything else (status, Guid refresh, heartbeat, an unknown path): forwarded only.
    Other,
}

/// Reads a request's path (under [`BASE`]) and query the way the gateway's routes do, so the
/// capture journals the input `confsim serve` would.
fn classify(path: &str, query: Option<&str>) -> Vendor {
    let Some(rest) = path.strip_prefix(BASE) else {
        return Vendor::Other;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["onlineagent", id] => Vendor::Op(Op::Login, decode(id), None),
        ["onlineagent", id, action] => match online_action(action) {
            Some((Online::Op(op), _)) => Vendor::Op(op, decode(id), state_call_body(op, query)),
            _ => Vendor::Other,
        },
        ["onlineagent", id, "rest", time, reason] => {
            let params = [
                ("time", Some(decode(time))),
                ("reason", Some(decode(reason))),
            ];
            Vendor::Op(Op::Rest, decode(id), Some(parameters(&params)))
        }
        ["onlineagent", id, "resetskill", auto] => Vendor::Op(
            Op::ResetSkill,
            decode(id),
            Some(reset_skill_body(&decode(auto))),
        ),
        ["agentevent", id] => Vendor::Poll(decode(id)),
        ["agentconf", id, action] => match AGENTCONF.iter().find(|(s, _)| s == action) {
            Some(&(_, op)) => Vendor::Op(op, decode(id), None),
            None => Vendor::Other,
        },
        _ => Vendor::Other,
    }
}

/// Headers that belong to one connection, not to the message (RFC 9110 §7.6.1), and those
/// the `Connection` header names: each side of the proxy has its own.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// An answer of the proxy itself (never of the upstream's): plain text.
fn own_answer(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl Recorder {
    /// A recorder capturing into `journal`: a new capture if the file does not exist or is
    /// empty, else the capture there continued (its torn tail cut off; see `Resumed`).
    pub fn open(config: RecordConfig, journal: &Path) -> Result<(Self, Option<Resumed>)> {
        let client = Connector::new(&config.upstream, &config.trust)?.client();
        let fresh = std::fs::metadata(journal).map_or(true, |m| m.is_file() && m.len() == 0);
        let (capture, header, resumed) = if fresh {
            let header = capture_header(&config);
            let capture = Capture::create(journal, &header, config.fsync)?;
            (capture, header, None)
        } else {
            let (capture, resumed) = Capture::resume(journal, config.fsync)?;
            (capture, resumed.header.clone(), Some(resumed))
        };
        let shared = Shared {
            config,
            header,
            client,
            capture,
            counters: Counters::default(),
        };
        Ok((
            Recorder {
                shared: Arc::new(shared),
            },
            resumed,
        ))
    }

    /// The capture's header.
    pub fn header(&self) -> &Header {
        &self.shared.header
    }

    pub fn counts(&self) -> RecordCounts {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RecordCounts {
            forwarded: get(&c.forwarded),
            unreachable: get(&c.unreachable),
            inputs: get(&c.inputs),
            events: get(&c.events),
            not_envelopes: get(&c.not_envelopes),
        }
    }

    /// Serves clients on `listener` (over TLS with `tls`) until `signal`; then waits a while
    /// for the requests in flight, flushes the capture and returns its summary.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        tls: Option<TlsAcceptor>,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Option<Summary>> {
        let config = &self.shared.config;
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .max_header_size(config.max_header_bytes)
            .preserve_header_case(true);
        let builder = Arc::new(builder);
        let slots = Arc::new(Semaphore::new(config.max_connections));
        let graceful = GracefulShutdown::new();
        let mut signal = std::pin::pin!(signal);
        loop {
            let Some((permit, tcp)) = next_connection(&listener, &slots, &mut signal).await else {
                break;
            };
            let (this, builder, watcher, tls) = (
                self.clone(),
                builder.clone(),
                graceful.watcher(),
                tls.clone(),
            );
            let timeout = config.header_read_timeout;
            tokio::spawn(async move {
                let _slot = permit;
                match tls {
                    None => this.connection(&builder, tcp, watcher).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => this.connection(&builder, tls, watcher).await,
                            Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        }
                    }
                }
            });
        }
        drop(listener);
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
        Ok(self.shared.capture.finish())
    }

    /// Serves one client connection to its end.
    async fn connection<I>(
        self,
        builder: &http1::Builder,
        io: I,
        watcher: hyper_util::server::graceful::Watcher,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = hyper::service::service_fn(move |request| {
            let this = self.clone();
            async move { Ok::<_, Infallible>(this.handle(request).await) }
        });
        if let Err(error) = watcher
            .watch(builder.serve_connection(TokioIo::new(io), service))
            .await
        {
            tracing::debug!(%error, "a client connection ended with an error");
        }
    }

    /// Forwards one request and journals what it did (see the module's notes).
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let shared = &self.shared;
        let path = request.uri().path().to_owned();
        if !path.starts_with(BASE) {
            return own_answer(
                StatusCode::NOT_FOUND,
                format!(
                    "confsim record forwards the vendor's interface under {BASE} only, not {path}\n"
                ),
            );
        }
        let (mut parts, body) = request.into_parts();
        let body = match Limited::new(body, shared.config.max_body_bytes)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                return own_answer(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the body is over {} bytes: not forwarded\n",
                        shared.config.max_body_bytes
                    ),
                );
            }
            Err(error) => {
                return own_answer(
                    StatusCode::BAD_REQUEST,
                    format!("the request's body broke off: {error}\n"),
                );
            }
        };
        let vendor = classify(&path, parts.uri.query());
        let target = parts
            .uri
            .path_and_query()
            .map_or(path.as_str(), |p| p.as_str());
        parts.uri = match shared.config.upstream.uri(target) {
            Ok(uri) => uri,
            Err(error) => {
                return own_answer(
                    StatusCode::BAD_REQUEST,
                    format!("the request's path cannot be forwarded: {error}\n"),
                );
            }
        };
        parts.version = hyper::Version::HTTP_11;
        strip_hop_by_hop(&mut parts.headers);
        let forwarded = Request::from_parts(parts, Full::new(body.clone()));
        let unreachable = |error: &dyn std::fmt::Display| {
            shared.counters.unreachable.fetch_add(1, Ordering::Relaxed);
            own_answer(
                StatusCode::BAD_GATEWAY,
                format!(
                    "confsim record: the upstream {} did not answer: {error}\n",
                    shared.config.upstream.host_port()
                ),
            )
        };
        let answer = match shared.client.request(forwarded).await {
            Ok(answer) => answer,
            Err(error) => return unreachable(&ErrorChain(&error)),
        };
        let (mut parts, answer) = answer.into_parts();
        let answer = match answer.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => return unreachable(&ErrorChain(&error)),
        };
        shared.counters.forwarded.fetch_add(1, Ordering::Relaxed);
        if parts.status == StatusCode::OK {
            Capture::durable(self.journal(vendor, &body, &answer)).await;
        }
        strip_hop_by_hop(&mut parts.headers);
        Response::from_parts(parts, Full::new(answer))
    }

    /// Journals an answer of the upstream, if it is one the capture holds.
    fn journal(&self, vendor: Vendor, request: &[u8], answer: &[u8]) -> Pending {
        let shared = &self.shared;
        let envelope = || match serde_json::from_slice::<Value>(answer) {
            Ok(Value::Object(map)) if map.get("retcode").is_some_and(Value::is_string) => Some(map),
            _ => None,
        };
        match vendor {
            Vendor::Op(op, agent, made) => {
                let Some(envelope) = envelope() else {
                    shared
                        .counters
                        .not_envelopes
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        op = op.name(),
                        agent,
                        "the upstream's answer is not the vendor's JSON envelope: not journaled"
                    );
                    return None;
                };
                // A Guid refused is the gateway's session check, which a capture cannot
                // replay (Guids are not journaled) and which `serve` does not journal either.
                if needs_guid(op)
                    && envelope.get("retcode").and_then(Value::as_str)
                        == Some(retcode::NOT_SIGNED_IN)
                {
                    return None;
                }
                shared.counters.inputs.fetch_add(1, Ordering::Relaxed);
                let body = made.unwrap_or_else(|| body_value(request));
                shared.capture.input(op.name(), &agent, body, &envelope)
            }
            Vendor::Poll(agent) => {
                let envelope: Map<String, Value> = envelope()?;
                if envelope.get("retcode").and_then(Value::as_str) != Some("0") {
                    return None;
                }
                let Some(Value::Object(event)) = envelope.get("event") else {
                    return None;
                };
                let pending = shared.capture.event(event, &agent);
                shared.counters.events.fetch_add(1, Ordering::Relaxed);
                pending
            }
            Vendor::Other => None,
        }
    }
}

/// An error with its causes, for the 502's text (hyper's own message is often just "client
/// error (Connect)", the cause says which).
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// A new capture's header: where it comes from, and the configuration a replay should use.
/// A roster's passwords are left out: the capture's sign-ins carry `"***"`, which a replay's
/// platform must accept.
fn capture_header(config: &RecordConfig) -> Header {
    let agents = config
        .agents
        .iter()
        .cloned()
        .map(|mut group| {
            group.password = None;
            group
        })
        .collect();
    let mut header = Header::new(
        "capture",
        1,
        crate::clock::real_time(),
        config.platform.clone(),
        agents,
    );
    header.source = Some(Source::capture(config.upstream.host_port()));
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_as_the_gateway_routes_them() {
        let p = |s: &str| classify(&format!("{BASE}{s}"), None);
        let op = |op, agent: &str| Vendor::Op(op, agent.to_owned(), None);
        assert_eq!(p("onlineagent/101"), op(Op::Login, "101"));
        assert_eq!(p("onlineagent/101/forcelogin"), op(Op::ForceLogin, "101"));
        assert_eq!(p("onlineagent/101/logout"), op(Op::Logout, "101"));
        assert_eq!(p("onlineagent/101/agentstatus"), Vendor::Other);
        assert_eq!(p("onlineagent/101/heartbeat"), Vendor::Other);
        assert_eq!(p("agentevent/1%301"), Vendor::Poll("101".into()));
        assert_eq!(
            p("agentconf/101/requestagentconf"),
            op(Op::RequestAgentConf, "101")
        );
        assert_eq!(
            p("agentconf/101/queryvdnconfid"),
            op(Op::QueryAllConfIds, "101")
        );
        assert_eq!(p("agentconf/101/nothing"), Vendor::Other);
        assert_eq!(p("voicecall/101/answer"), Vendor::Other);
        assert_eq!(classify("/simulator/health", None), Vendor::Other);
        // The state calls journal their parameters as the body, as the gateway does.
        assert_eq!(
            classify(&format!("{BASE}onlineagent/101/saybusy"), Some("reason=7")),
            Vendor::Op(
                Op::SayBusy,
                "101".into(),
                Some(serde_json::json!({"reason": 7}))
            )
        );
        assert_eq!(
            p("onlineagent/101/rest/600/3"),
            Vendor::Op(
                Op::Rest,
                "101".into(),
                Some(serde_json::json!({"time": 600, "reason": 3}))
            )
        );
        assert_eq!(
            p("onlineagent/101/resetskill/TRUE"),
            Vendor::Op(
                Op::ResetSkill,
                "101".into(),
                Some(serde_json::json!({"auto": true}))
            )
        );
    }

    #[test]
    fn hop_by_hop_headers_are_each_sides_own() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("guid", "g"),
            ("cookie", "JSESSIONID=g"),
            ("content-length", "2"),
        ] {
            headers.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-length", "cookie", "guid"]);
    }
}
