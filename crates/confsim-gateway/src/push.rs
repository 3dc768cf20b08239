//! Push mode (product.md §9.1, agentgateway.md §4.3): an agent that signs in with both
//! `callBackUri` and `serviceToken` (or the older clients' `pushUrl`) gets its events POSTed to
//! that address instead of polling for them.
//!
//! The events go into the same per-agent queue a poll reads (bounded by `--queue-capacity`,
//! the oldest dropped and counted when it is full, as for polling), and one task per push-mode
//! session empties it: it takes the oldest events (up to [`BATCH_MAX`]) as one batch, POSTs
//! `{"workNo", "eventList"}` with the `Guid` and `service_token` headers, and takes the next
//! batch only when the receiver acknowledged this one (HTTP 200 with `"retcode":"0"`). An error,
//! a timeout or any other answer is retried with the same body after a backoff (doubling from
//! [`BACKOFF_FIRST`] to [`BACKOFF_MAX`]) while later events wait behind it: delivery is in
//! order, at least once (a receiver that processed a batch but whose acknowledgement was lost
//! gets it again), never reordered. A batch in flight is out of the queue, so an overflow
//! drops only events not yet sent.
//!
//! Callbacks go only where `--push-allow` says (loopback by default), checked at sign-in: a
//! callback elsewhere is refused with `100-001` before the platform sees the sign-in, so the
//! simulator cannot be made to send requests to arbitrary hosts. The client is hyper's over
//! plain HTTP; an `https` callback is refused the same way.

use crate::gateway::Gateway;
use crate::sessions::write_event;
use confsim_core::{AgentId, Event, Rejection, SimTime, retcode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::time::Duration;

/// The most events one callback carries.
pub(crate) const BATCH_MAX: usize = 100;
/// How long a callback may take before it counts as failed (and is retried).
pub(crate) const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);
/// The first retry's wait; each failure in a row doubles it, up to [`BACKOFF_MAX`].
pub(crate) const BACKOFF_FIRST: Duration = Duration::from_millis(100);
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Where a push-mode agent's events go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PushTarget {
    pub uri: Uri,
    /// Sent as `service_token` (absent for a legacy `pushUrl` sign-in without one).
    pub token: Option<String>,
}

/// A host (and optionally a port) callbacks may go to: `--push-allow HOST[:PORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushAllow {
    host: String,
    port: Option<u16>,
}

impl std::str::FromStr for PushAllow {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not HOST or HOST:PORT (for example 10.0.0.5:9000)");
        let s = s.trim();
        // `[::1]:80`, `[::1]`, `host:80`, `host`.
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad()),
            }
        } else {
            match s.rsplit_once(':') {
                Some((host, port)) if !host.contains(':') => (host, Some(port)),
                Some(_) => (s, None),
                None => (s, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
            None => None,
        };
        Ok(PushAllow {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl std::fmt::Display for PushAllow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) if self.host.contains(':') => write!(f, "[{}]:{port}", self.host),
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// Whether `host` is a loopback name or address.
fn loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The push target a sign-in body asks for, checked against `allow` (empty: loopback only).
/// `None`: the agent polls. A callback that is malformed, not `http`, or not allowed is the
/// vendor's "sign-in parameter invalid" (`100-001`).
pub(crate) fn target_of(
    body: &Value,
    allow: &[PushAllow],
) -> Result<Option<PushTarget>, Rejection> {
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let token = text("serviceToken");
    let (field, raw) = match (text("callBackUri"), token, text("pushUrl")) {
        // The documented rule: push only when both are present.
        (Some(uri), Some(_), _) => ("callBackUri", uri),
        (_, _, Some(uri)) => ("pushUrl", uri),
        _ => return Ok(None),
    };
    let refuse =
        |why: String| Rejection::new(retcode::SIGN_IN_PARAMETER, format!("{field} {raw:?} {why}"));
    let uri: Uri = raw.parse().map_err(|_| refuse("is not a URL".to_owned()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(refuse(
                "is https: the simulator pushes over plain HTTP only (give an http:// callback)"
                    .to_owned(),
            ));
        }
        _ => return Err(refuse("is not an http:// URL".to_owned())),
    }
    let Some(host) = uri.host() else {
        return Err(refuse("names no host".to_owned()));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let allowed = if allow.is_empty() {
        loopback(host)
    } else {
        allow
            .iter()
            .any(|a| a.host.eq_ignore_ascii_case(host) && a.port.is_none_or(|p| p == port))
    };
    if !allowed {
        let list = if allow.is_empty() {
            "loopback only, the default".to_owned()
        } else {
            allow
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(refuse(format!(
            "is not a callback this gateway may call ({list}; see --push-allow)"
        )));
    }
    Ok(Some(PushTarget {
        uri,
        token: token.map(str::to_owned),
    }))
}

/// The HTTP client every push task shares (one connection pool).
pub(crate) type PushClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn client() -> PushClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CALLBACK_TIMEOUT));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// What one callback came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Acknowledged,
    /// Not acknowledged: why, for the log.
    Failed(String),
}

/// POSTs one batch and reads the receiver's answer.
async fn send(client: &PushClient, target: &PushTarget, guid: &str, body: Bytes) -> Outcome {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(target.uri.clone())
        .header("Content-Type", "application/json; charset=UTF-8")
        .header("Guid", guid);
    if let Some(token) = &target.token {
        request = request.header("service_token", token.as_str());
    }
    let request = match request.body(Full::new(body)) {
        Ok(request) => request,
        Err(e) => return Outcome::Failed(format!("cannot build the request: {e}")),
    };
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("cannot reach it: {e}"))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("the answer broke off: {e}"))?
            .to_bytes();
        if status != hyper::StatusCode::OK {
            return Err(format!("it answered HTTP {status}"));
        }
        let acknowledged = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .is_some_and(|v| v.get("retcode").and_then(Value::as_str) == Some("0"));
        if acknowledged {
            Ok(())
        } else {
            Err(format!(
                "it answered {:?}, not {{\"retcode\":\"0\"}}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ))
        }
    };
    match tokio::time::timeout(CALLBACK_TIMEOUT, exchange).await {
        Ok(Ok(())) => Outcome::Acknowledged,
        Ok(Err(why)) => Outcome::Failed(why),
        Err(_) => Outcome::Failed(format!("no answer within {CALLBACK_TIMEOUT:?}")),
    }
}

/// The body of one callback: `{"workNo":"101","eventList":[…]}`, oldest first, each event as
/// a poll shows it.
pub(crate) fn batch_body(agent: AgentId, events: &[(SimTime, Event)]) -> Bytes {
    let mut body = Vec::with_capacity(32 + 120 * events.len());
    body.extend_from_slice(br#"{"workNo":""#);
    body.extend_from_slice(agent.to_string().as_bytes());
    body.extend_from_slice(br#"","eventList":["#);
    for (i, (at, event)) in events.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_event(&mut body, event, *at);
    }
    body.extend_from_slice(b"]}");
    Bytes::from(body)
}

/// The delivery task of agent `id`'s push-mode session number `generation`: runs until the
/// session ends, stops pushing, or is replaced by a newer sign-in, or the gateway stops.
pub(crate) async fn deliver(gateway: Gateway, id: AgentId, generation: u64) {
    let mut shutdown = gateway.stopping();
    let mut backoff = BACKOFF_FIRST;
    // The batch in flight: taken out of the queue, sent until acknowledged.
    let mut in_flight: Option<(Vec<(SimTime, Event)>, Bytes)> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if in_flight.is_none() {
            match gateway.push_take(id, generation) {
                PushTake::Batch(events) => {
                    let body = batch_body(id, &events);
                    in_flight = Some((events, body));
                }
                PushTake::Wait(notify) => {
                    tokio::select! {
                        _ = notify.notified() => {}
                        _ = shutdown.wait_for(|stop| *stop) => {}
                    }
                    continue;
                }
                PushTake::Stop => break,
            }
        }
        let Some((events, body)) = &in_flight else {
            continue;
        };
        let Some((target, guid)) = gateway.push_target(id, generation) else {
            break;
        };
        match send(gateway.push_client(), &target, &guid, body.clone()).await {
            Outcome::Acknowledged => {
                gateway.push_delivered(events.len() as u64);
                in_flight = None;
                backoff = BACKOFF_FIRST;
            }
            Outcome::Failed(why) => {
                gateway.push_failed();
                tracing::warn!(agent = %id, callback = %target.uri, retry_in = ?backoff, "a push callback was not acknowledged ({why}); the batch is sent again, later events wait behind it");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|stop| *stop) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    // Events taken but never acknowledged go back to the front of the queue: a newer
    // session of the agent (which keeps its queue) delivers them.
    if let Some((events, _)) = in_flight {
        gateway.push_return(id, events);
    }
}

/// What the delivery task finds.
#[derive(Debug)]
pub(crate) enum PushTake {
    /// The oldest events, out of the queue.
    Batch(Vec<(SimTime, Event)>),
    /// Nothing queued: wait for this.
    Wait(std::sync::Arc<tokio::sync::Notify>),
    /// The session ended or is no longer this task's.
    Stop,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allow(list: &[&str]) -> Vec<PushAllow> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn push_needs_both_fields_or_the_legacy_url() {
        let none = allow(&[]);
        assert_eq!(target_of(&json!({"password": ""}), &none), Ok(None));
        assert_eq!(
            target_of(&json!({"callBackUri": "http://127.0.0.1:9/cb"}), &none),
            Ok(None),
            "callBackUri without serviceToken is polling, as documented"
        );
        let both = target_of(
            &json!({"callBackUri": "http://127.0.0.1:9/cb", "serviceToken": "t0k"}),
            &none,
        )
        .unwrap()
        .unwrap();
        assert_eq!(both.uri, "http://127.0.0.1:9/cb");
        assert_eq!(both.token.as_deref(), Some("t0k"));
        let legacy = target_of(&json!({"pushUrl": "http://localhost:9/cb"}), &none)
            .unwrap()
            .unwrap();
        assert_eq!(legacy.token, None);
    }

    #[test]
    fn callbacks_go_only_where_allowed() {
        let body = |uri: &str| json!({"callBackUri": uri, "serviceToken": "t"});
        let default = allow(&[]);
        for ok in [
            "http://127.0.0.1:9/",
            "http://127.8.0.1/x",
            "http://[::1]:9/",
            "http://localhost/",
        ] {
            assert!(target_of(&body(ok), &default).unwrap().is_some(), "{ok}");
        }
        for refused in [
            "http://10.0.0.5:9/cb",
            "http://example.com/cb",
            "https://127.0.0.1/cb",
            "ftp://127.0.0.1/",
            "not a url",
            "/relative",
        ] {
            let rejection = target_of(&body(refused), &default).unwrap_err();
            assert_eq!(rejection.retcode, retcode::SIGN_IN_PARAMETER, "{refused}");
            assert!(
                rejection.message.contains("callBackUri"),
                "{}",
                rejection.message
            );
        }
        let listed = allow(&["10.0.0.5:9000", "crm.example"]);
        assert!(
            target_of(&body("http://10.0.0.5:9000/cb"), &listed)
                .unwrap()
                .is_some()
        );
        assert!(target_of(&body("http://10.0.0.5:9001/cb"), &listed).is_err());
        assert!(
            target_of(&body("http://CRM.example:8080/cb"), &listed)
                .unwrap()
                .is_some()
        );
        assert!(
            target_of(&body("http://127.0.0.1/cb"), &listed).is_err(),
            "a list replaces the loopback default"
        );
    }

    #[test]
    fn allow_entries_parse_and_print_back() {
        for s in ["10.0.0.5:9000", "crm.example", "[::1]:80", "[::1]"] {
            let a: PushAllow = s.parse().unwrap();
            assert_eq!(
                a.to_string(),
                s.replace("[::1]", if s == "[::1]" { "::1" } else { "[::1]" })
            );
        }
        for bad in ["", ":80", "host:port", "[::1", "[::1]x"] {
            assert!(bad.parse::<PushAllow>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_batch_is_the_vendors_envelope_with_the_events_in_order() {
        use confsim_core::{ConfId, Content, EventType};
        let events = vec![
            (
                SimTime::from_unix_ms(1),
                Event::new(EventType::AgentStateBusy, AgentId(101), Content::Null),
            ),
            (
                SimTime::from_unix_ms(2),
                Event::new(
                    EventType::AgentConfRequestSuccess,
                    AgentId(101),
                    Content::Conf(ConfId(7)),
                ),
            ),
        ];
        assert_eq!(
            &batch_body(AgentId(101), &events)[..],
            br#"{"workNo":"101","eventList":[{"eventType":"AgentState_Busy","workNo":"101","content":null,"eventGenTime":1},{"eventType":"AgentConf_RequestSuccess","workNo":"101","content":{"confId":7},"eventGenTime":2}]}"#
        );
    }
}
