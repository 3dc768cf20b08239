//! Push mode (product.md §9.1): a sign-in with `callBackUri` and `serviceToken` (or `pushUrl`)
//! gets its events POSTed to a real callback server on loopback, in order, with the vendor's
//! headers; an unacknowledged batch is sent again while later events wait; a poll answers
//! `000-001`; a callback the gateway may not call is refused at sign-in and never journaled.

use crate::support::{BASE, Client, gateway, metric};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One callback as the receiver saw it.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Value,
    acknowledged: bool,
    /// When it arrived, in Unix milliseconds.
    at_ms: i64,
}

/// The present in Unix milliseconds (what a callback's lateness is measured against).
#[allow(clippy::disallowed_methods)] // The receiver's clock, not the simulation's.
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A callback server on 127.0.0.1 that records every request and answers the first `fail`
/// of them with an error (alternately HTTP 500 and a 200 whose retcode is not "0").
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(fail: usize) -> Self {
        let seen = Arc::new(Mutex::new(Vec::<Received>::new()));
        let handler = |State((seen, fail)): State<(Arc<Mutex<Vec<Received>>>, usize)>,
                       headers: HeaderMap,
                       body: Bytes| async move {
            let body: Value = serde_json::from_slice(&body).expect("a JSON callback body");
            let mut seen = seen.lock().unwrap();
            let n = seen.len();
            let acknowledged = n >= fail;
            seen.push(Received {
                headers,
                body,
                acknowledged,
                at_ms: unix_ms(),
            });
            match (acknowledged, n % 2) {
                (true, _) => (StatusCode::OK, r#"{"message":"success","retcode":"0"}"#),
                (false, 0) => (StatusCode::INTERNAL_SERVER_ERROR, "down"),
                (false, _) => (StatusCode::OK, r#"{"message":"busy","retcode":"1"}"#),
            }
        };
        let app = Router::new()
            .route("/cb", post(handler))
            .with_state((seen.clone(), fail));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}/cb", self.addr)
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// The events of every acknowledged callback, in order of arrival.
    fn acknowledged_events(&self) -> Vec<Value> {
        self.seen()
            .into_iter()
            .filter(|r| r.acknowledged)
            .flat_map(|r| r.body["eventList"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Waits (real time, at most 10 s) until `n` events were acknowledged.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.acknowledged_events();
            if events.len() >= n || tokio::time::Instant::now() > deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn sign_in(c: &Client, agent: u32, body: Value) -> crate::support::Reply {
    c.send(
        Method::PUT,
        &format!("{BASE}/onlineagent/{agent}"),
        &[("Content-Type", "application/json")],
        body.to_string(),
    )
    .await
}

/// The gateway's metrics text.
async fn metrics_of(c: &Client) -> String {
    c.send(
        Method::GET,
        "/simulator/metrics",
        &[],
        axum::body::Body::empty(),
    )
    .await
    .text
}

/// Signs agent 101 in for push mode to `receiver` with `token`, applies for a conference of
/// `body` a second later and lets the platform answer: the Guid, and the journal's events for
/// 101 the receiver should get.
async fn push_and_apply(
    c: &Client,
    receiver: &Receiver,
    token: &str,
    body: Value,
) -> (String, Vec<(Value, Value)>) {
    let reply = sign_in(
        c,
        101,
        json!({"password": "", "status": "4", "callBackUri": receiver.url(), "serviceToken": token}),
    )
    .await;
    assert_eq!(reply.retcode(), "0", "{}", reply.text);
    let guid = reply.set_guid().unwrap();
    c.advance(1_000).await;
    let apply = c.conf(101, &guid, "requestagentconf", body).await;
    assert_eq!(apply.retcode(), "0", "{}", apply.text);
    c.advance(2_000).await;
    (guid, journaled(c, "101"))
}

/// The journal's events for `agent`, as `(eventType, content)`.
fn journaled(c: &Client, agent: &str) -> Vec<(Value, Value)> {
    c.records()
        .into_iter()
        .filter(|r| r.get("eventType").is_some() && r["workNo"] == agent)
        .map(|r| (r["eventType"].clone(), r["content"].clone()))
        .collect()
}

fn pushed(events: &[Value]) -> Vec<(Value, Value)> {
    events
        .iter()
        .map(|e| (e["eventType"].clone(), e["content"].clone()))
        .collect()
}

#[tokio::test]
async fn events_are_pushed_in_order_with_the_vendors_headers_and_a_poll_is_000_001() {
    let receiver = Receiver::start(0).await;
    let c = Client::new(gateway(|_| {}));
    let (guid, expected) = push_and_apply(
        &c,
        &receiver,
        "tok-101",
        json!({"memberNum": 4, "time": 50}),
    )
    .await;
    assert!(
        expected.len() >= 6,
        "sign-in and application events: {expected:?}"
    );
    let events = receiver.wait_for(expected.len()).await;
    assert_eq!(
        pushed(&events),
        expected,
        "every event, in the journal's order, once"
    );
    for event in &events {
        assert_eq!(event["workNo"], "101");
        assert!(event["eventGenTime"].is_i64(), "{event}");
    }
    let first = &receiver.seen()[0];
    assert_eq!(first.body["workNo"], "101");
    assert_eq!(
        first.headers["content-type"],
        "application/json; charset=UTF-8"
    );
    assert_eq!(first.headers["guid"], guid.as_str());
    assert_eq!(first.headers["service_token"], "tok-101");
    // Polling is the wrong way to get a push-mode agent's events.
    let poll = c.poll(101, &guid).await;
    assert_eq!(poll.retcode(), "000-001", "{}", poll.text);
    let metrics = metrics_of(&c).await;
    assert_eq!(
        metric(&metrics, "confsim_gateway_pushed_events_total"),
        Some(expected.len() as u64)
    );
    assert_eq!(metric(&metrics, "confsim_gateway_push_sessions"), Some(1));
    assert_eq!(
        metric(&metrics, "confsim_gateway_push_failures_total"),
        Some(0)
    );
}

#[tokio::test]
async fn an_unacknowledged_batch_is_sent_again_and_later_events_wait_behind_it() {
    // The first three callbacks fail (500, retcode 1, 500): each is retried with the same
    // batch, and what the application made due meanwhile comes after it.
    let receiver = Receiver::start(3).await;
    let c = Client::new(gateway(|_| {}));
    let (_, expected) =
        push_and_apply(&c, &receiver, "t", json!({"memberNum": 2, "time": 10})).await;
    let events = receiver.wait_for(expected.len()).await;
    assert_eq!(
        pushed(&events),
        expected,
        "in order, nothing lost, nothing doubled"
    );
    let seen = receiver.seen();
    assert!(
        seen.len() >= 4,
        "three failures and at least one acknowledged"
    );
    for retry in &seen[1..4] {
        assert_eq!(
            retry.body["eventList"][0], seen[0].body["eventList"][0],
            "a retry starts with the unacknowledged batch's first event"
        );
    }
    let metrics = metrics_of(&c).await;
    assert_eq!(
        metric(&metrics, "confsim_gateway_push_failures_total"),
        Some(3)
    );
}

#[tokio::test]
async fn a_callback_the_gateway_may_not_call_is_refused_at_sign_in_and_never_journaled() {
    let receiver = Receiver::start(0).await;
    let c = Client::new(gateway(|_| {}));
    for callback in [
        "http://192.0.2.10:9000/cb".to_owned(),
        "https://127.0.0.1:9/cb".to_owned(),
        "not a url".to_owned(),
    ] {
        let reply = sign_in(
            &c,
            101,
            json!({"password": "", "callBackUri": callback, "serviceToken": "t"}),
        )
        .await;
        assert_eq!(reply.retcode(), "100-001", "{callback}: {}", reply.text);
        assert!(reply.set_guid().is_none());
    }
    assert!(
        c.inputs().is_empty(),
        "a refused callback never reaches the platform: {:?}",
        c.inputs()
    );
    // A list replaces the loopback default: `localhost:PORT` listed, 127.0.0.1 not.
    let port = receiver.addr.port();
    let listed = Client::new(gateway(|config| {
        config.push_allow = vec![format!("localhost:{port}").parse().unwrap()];
    }));
    let refused = sign_in(
        &listed,
        101,
        json!({"password": "", "callBackUri": receiver.url(), "serviceToken": "t"}),
    )
    .await;
    assert_eq!(refused.retcode(), "100-001");
    let allowed = sign_in(
        &listed,
        101,
        json!({"password": "", "callBackUri": format!("http://localhost:{port}/cb"), "serviceToken": "t"}),
    )
    .await;
    assert_eq!(allowed.retcode(), "0", "{}", allowed.text);
}

#[tokio::test]
async fn the_legacy_push_url_pushes_and_a_sign_out_pushes_its_last_events() {
    let receiver = Receiver::start(0).await;
    let c = Client::new(gateway(|_| {}));
    let reply = sign_in(&c, 101, json!({"password": "", "pushUrl": receiver.url()})).await;
    let guid = reply.set_guid().unwrap();
    c.advance(1_000).await;
    // The heartbeat is push mode's liveness, and answers as it does for a polling agent.
    let heartbeat = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/101/heartbeat"),
            &[("Guid", guid.as_str())],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(heartbeat.retcode(), "0", "{}", heartbeat.text);
    let logout = c
        .send(
            Method::DELETE,
            &format!("{BASE}/onlineagent/101/forcelogout"),
            &[("Guid", guid.as_str())],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(logout.retcode(), "0", "{}", logout.text);
    c.advance(1_000).await;
    let expected = journaled(&c, "101");
    assert_eq!(
        expected.last().map(|(ty, _)| ty.as_str()),
        Some(Some("AgentOther_ShutdownService")),
        "{expected:?}"
    );
    let events = receiver.wait_for(expected.len()).await;
    assert_eq!(pushed(&events), expected);
    assert!(
        !receiver.seen()[0].headers.contains_key("service_token"),
        "a pushUrl sign-in without a serviceToken sends none"
    );
}

/// The push figure: 1,000 push-mode agents on the wall clock (speed 1) over real TCP, each
/// applying for a conference and releasing it in a loop for 10 s, every callback acknowledged
/// by one receiver on loopback. Checks that every agent's pushed events equal its journaled
/// ones, in order, each once; prints events pushed per second and the lateness of each event
/// from when it was due (its `eventGenTime`, on the wall clock) to when the receiver had it.
///
/// `cargo test --release -p confsim-gateway --test it push::a_thousand -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load figure; run it in a release build with --ignored --nocapture"]
async fn a_thousand_push_mode_agents_get_every_event_in_order() {
    use crate::tcp::{Server, client, json_of};
    use confsim_gateway::{ClockMode, GatewayConfig};
    const AGENTS: u32 = 1_000;
    let run_for = Duration::from_secs(10);
    let receiver = Receiver::start(0).await;
    let start = confsim_gateway::present();
    let started_ms = unix_ms();
    let config = GatewayConfig {
        clock: ClockMode::Wall { speed: 1.0 },
        start,
        inactivity: None,
        ..GatewayConfig::default()
    };
    let server = Arc::new(Server::start(config, None).await);
    let http = client();
    let began = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for agent in 101..101 + AGENTS {
        let (http, server, url) = (http.clone(), server.clone(), receiver.url());
        tasks.push(tokio::spawn(async move {
            let reply = http
                .put(server.vendor(&format!("/onlineagent/{agent}")))
                .header("Content-Type", "application/json")
                .body(json!({"password": "", "callBackUri": url, "serviceToken": "t"}).to_string())
                .send()
                .await
                .unwrap();
            let guid =
                reply.headers()["set-guid"].to_str().unwrap()["JSESSIONID=".len()..].to_owned();
            assert_eq!(json_of(reply).await["retcode"], "0");
            let mut inputs = 1u64;
            while began.elapsed() < run_for {
                for (action, body, pause) in [
                    ("requestagentconf", r#"{"memberNum":2,"time":60}"#, 300),
                    ("releaseagentconf", "", 200),
                ] {
                    let reply = http
                        .post(server.vendor(&format!("/agentconf/{agent}/{action}")))
                        .header("Guid", guid.as_str())
                        .header("Content-Type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(reply.status(), 200);
                    inputs += 1;
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            }
            inputs
        }));
    }
    let mut inputs = 0;
    for task in tasks {
        inputs += task.await.unwrap();
    }
    // Let the last events fall due and be delivered.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (journal, _) = crate::support::journal_events(&http, &server).await;
    let expected: usize = journal.values().map(Vec::len).sum();
    let events = receiver.wait_for(expected).await;
    let seen = receiver.seen();
    let mut by_agent: std::collections::BTreeMap<u32, crate::support::Seen> = Default::default();
    let mut lateness = Vec::with_capacity(events.len());
    for r in seen.iter().filter(|r| r.acknowledged) {
        let agent: u32 = r.body["workNo"].as_str().unwrap().parse().unwrap();
        for event in r.body["eventList"].as_array().unwrap() {
            let event = crate::support::seen_event(event);
            // Due on the wall clock: the session's real start plus the event's simulated offset.
            lateness.push(r.at_ms - (started_ms + (event.2 - start.as_unix_ms())));
            by_agent.entry(agent).or_default().push(event);
        }
    }
    assert_eq!(
        by_agent, journal,
        "every agent's pushed events are its journaled ones, in order"
    );
    lateness.sort_unstable();
    let at = |q: f64| lateness[((lateness.len() - 1) as f64 * q) as usize];
    let first = seen.iter().map(|r| r.at_ms).min().unwrap();
    let last = seen.iter().map(|r| r.at_ms).max().unwrap();
    let metrics = crate::support::metrics(&http, &server).await;
    println!(
        "{AGENTS} push-mode agents, {inputs} inputs, {} events pushed in {} callbacks ({} not acknowledged) over {:.1} s: {:.0} events/s; lateness from due to received p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        lateness.len(),
        seen.len(),
        metric(&metrics, "confsim_gateway_push_failures_total").unwrap_or(0),
        (last - first) as f64 / 1000.0,
        lateness.len() as f64 * 1000.0 / (last - first).max(1) as f64,
        at(0.5),
        at(0.9),
        at(0.99),
        lateness.last().unwrap(),
    );
}
