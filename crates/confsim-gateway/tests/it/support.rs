//! Helpers: a gateway on the manual clock, driven in-process through the router with
//! `tower::ServiceExt::oneshot`, and the vendor calls the tests make; reading the metrics'
//! text; and what the load tests over TCP (load.rs, longpoll.rs) compare.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use confsim_gateway::{Gateway, GatewayConfig};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tower::ServiceExt;

pub const BASE: &str = "/agentgateway/resource";

/// A manual-clock gateway with short poll waits; `tune` changes the rest.
pub fn gateway(tune: impl FnOnce(&mut GatewayConfig)) -> Gateway {
    let mut config = GatewayConfig {
        poll_wait: Duration::from_millis(30),
        ..GatewayConfig::default()
    };
    tune(&mut config);
    Gateway::new(config, None).expect("a valid configuration")
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn retcode(&self) -> String {
        self.json()["retcode"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The Guid of `Set-GUID: JSESSIONID=<guid>`.
    pub fn set_guid(&self) -> Option<String> {
        let value = self.headers.get("set-guid")?.to_str().ok()?;
        Some(value.strip_prefix("JSESSIONID=")?.to_owned())
    }
}

/// An in-process client of a gateway's router.
#[derive(Clone)]
pub struct Client {
    pub gateway: Gateway,
    router: Router,
}

impl Client {
    pub fn new(gateway: Gateway) -> Self {
        Client {
            router: confsim_gateway::router(gateway.clone()),
            gateway,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body.into()).expect("a valid request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Signs `agent` in (status idle) and returns its Guid.
    pub async fn login(&self, agent: u32) -> String {
        let reply = self
            .send(
                Method::PUT,
                &format!("{BASE}/onlineagent/{agent}"),
                &[("Content-Type", "application/json")],
                json!({"password": "", "status": "4"}).to_string(),
            )
            .await;
        assert_eq!(reply.retcode(), "0", "{}", reply.text);
        reply.set_guid().expect("Set-GUID on a successful sign-in")
    }

    /// An agentconf operation (POST), with the agent's Guid.
    pub async fn conf(&self, agent: u32, guid: &str, action: &str, body: Value) -> Reply {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        self.send(
            Method::POST,
            &format!("{BASE}/agentconf/{agent}/{action}"),
            &[("Guid", guid), ("Content-Type", "application/json")],
            body,
        )
        .await
    }

    /// One poll.
    pub async fn poll(&self, agent: u32, guid: &str) -> Reply {
        self.send(
            Method::GET,
            &format!("{BASE}/agentevent/{agent}"),
            &[("Guid", guid)],
            Body::empty(),
        )
        .await
    }

    /// Polls until the empty answer; returns the events' types, in order.
    pub async fn drain(&self, agent: u32, guid: &str) -> Vec<String> {
        self.drain_events(agent, guid)
            .await
            .into_iter()
            .map(|e| e["eventType"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Polls until the empty answer; returns the events.
    pub async fn drain_events(&self, agent: u32, guid: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let reply = self.poll(agent, guid).await;
            let body = reply.json();
            assert_eq!(body["retcode"], "0", "{}", reply.text);
            match body.get("event") {
                Some(event) => out.push(event.clone()),
                None => return out,
            }
        }
    }

    /// Moves the manual clock on; returns the new present.
    pub async fn advance(&self, ms: u64) -> String {
        let reply = self
            .send(
                Method::POST,
                "/simulator/clock/advance",
                &[],
                json!({ "ms": ms }).to_string(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json()["now"].as_str().unwrap_or_default().to_owned()
    }

    /// The journal's lines after the header, as JSON.
    pub fn records(&self) -> Vec<Value> {
        let bytes = self
            .gateway
            .journal_bytes()
            .expect("the journal is in memory");
        String::from_utf8(bytes)
            .expect("UTF-8")
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).expect("a JSON record"))
            .collect()
    }

    /// The journaled inputs.
    pub fn inputs(&self) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r.get("op").is_some())
            .collect()
    }
}

pub const MINUTE: u64 = 60_000;

/// A series' value in the Prometheus text of `/simulator/metrics`.
pub fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `GET` over TCP: the body's text.
async fn text_at(http: &reqwest::Client, url: String) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// `/simulator/metrics` over TCP.
pub async fn metrics(http: &reqwest::Client, server: &crate::tcp::Server) -> String {
    text_at(http, server.url("/simulator/metrics")).await
}

/// What one agent saw of its events: (eventType, content, eventGenTime) in order.
pub type Seen = Vec<(String, Value, i64)>;

/// A polled event as `Seen` keeps it.
pub fn seen_event(event: &Value) -> (String, Value, i64) {
    (
        event["eventType"].as_str().unwrap().to_owned(),
        event["content"].clone(),
        event["eventGenTime"].as_i64().unwrap(),
    )
}

/// The journal's events per agent in journal order, as the agents should have polled them,
/// and how many records were inputs; fetched over TCP.
pub async fn journal_events(
    http: &reqwest::Client,
    server: &crate::tcp::Server,
) -> (BTreeMap<u32, Seen>, u64) {
    let journal = text_at(http, server.url("/simulator/journal?from=1")).await;
    let mut events: BTreeMap<u32, Seen> = BTreeMap::new();
    let mut inputs = 0;
    for line in journal.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let Some(ty) = r.get("eventType") else {
            inputs += 1;
            continue;
        };
        let agent: u32 = r["workNo"].as_str().unwrap().parse().unwrap();
        let at = confsim_core::SimTime::parse_rfc3339(r["at"].as_str().unwrap()).unwrap();
        events.entry(agent).or_default().push((
            ty.as_str().unwrap().to_owned(),
            r["content"].clone(),
            at.as_unix_ms(),
        ));
    }
    (events, inputs)
}
