//! The real server on loopback with a real HTTP client (reqwest): sign-in, Guids, long-poll
//! timing, the wall clock's background task, the journal over HTTP, and a graceful stop.

use confsim_core::{SimDuration, SimTime};
use confsim_gateway::{ClockMode, Gateway, GatewayConfig};
use confsim_journal::Summary;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A server on 127.0.0.1 (an ephemeral port).
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<confsim_gateway::Result<Option<Summary>>>,
}

impl Server {
    pub async fn start(config: GatewayConfig, journal: Option<std::fs::File>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let gateway = Gateway::new(config, journal).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway.serve(listener, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn vendor(&self, path: &str) -> String {
        self.url(&format!("/agentgateway/resource{path}"))
    }

    pub async fn stop(mut self) -> Option<Summary> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the server stops")
            .expect("the server task")
            .expect("the server ran")
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub async fn json_of(response: reqwest::Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

/// Signs in over HTTP; returns the Guid from `Set-GUID`.
pub async fn login(http: &reqwest::Client, server: &Server, agent: u32) -> String {
    let response = http
        .put(server.vendor(&format!("/onlineagent/{agent}")))
        .header("Content-Type", "application/json; charset=UTF-8")
        .body(r#"{"password":"","status":"4"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let set_guid = response.headers()["set-guid"].to_str().unwrap().to_owned();
    let body = json_of(response).await;
    assert_eq!(body["retcode"], "0", "{body}");
    // What the Java demo does: strip the literal prefix.
    set_guid.strip_prefix("JSESSIONID=").unwrap().to_owned()
}

pub async fn poll(http: &reqwest::Client, server: &Server, agent: u32, guid: &str) -> Value {
    let response = http
        .get(server.vendor(&format!("/agentevent/{agent}")))
        .header("guid", guid)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json_of(response).await
}

pub async fn advance(http: &reqwest::Client, server: &Server, ms: u64) {
    let response = http
        .post(server.url("/simulator/clock/advance"))
        .body(json!({ "ms": ms }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn over_tcp_a_client_signs_in_polls_long_and_applies() {
    let server = Server::start(
        GatewayConfig {
            poll_wait: Duration::from_millis(400),
            ..GatewayConfig::default()
        },
        None,
    )
    .await;
    let http = client();
    let health = http
        .get(server.url("/simulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), r#"{"status":"ok"}"#);

    let guid = login(&http, &server, 101).await;
    let other = login(&http, &server, 102).await;

    // Nothing due yet: the poll is held for the poll wait, then the exact empty body.
    let started = Instant::now();
    let empty = http
        .get(server.vendor("/agentevent/101"))
        .header("Guid", &guid)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let held = started.elapsed();
    assert_eq!(empty, r#"{"message":"","retcode":"0"}"#);
    assert!(held >= Duration::from_millis(390), "{held:?}");

    // A held poll answers as soon as the clock makes its event due.
    let poller = {
        let (http, url, guid) = (http.clone(), server.vendor("/agentevent/101"), guid.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let body = http
                .get(url)
                .header("GUID", guid)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            (body, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    advance(&http, &server, 1_000).await;
    let (body, held) = poller.await.unwrap();
    assert!(
        held < Duration::from_millis(390),
        "woken, not timed out: {held:?}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["event"]["eventType"], "AgentOther_InService");

    // Guid isolation over the wire.
    let stolen = poll(&http, &server, 101, &other).await;
    assert_eq!(stolen["retcode"], "100-006");

    let apply = http
        .post(server.vendor("/agentconf/101/requestagentconf"))
        .header("Guid", &guid)
        .header("Content-Type", "application/json; charset=UTF-8")
        .body(r#"{"memberNum":4,"time":50,"promptTime":5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(apply).await["retcode"], "0");
    advance(&http, &server, 1_000).await;
    let mut types = Vec::new();
    loop {
        let body = poll(&http, &server, 101, &guid).await;
        match body.get("event") {
            Some(e) => types.push(e["eventType"].as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(
        types,
        [
            "AgentState_Ready",
            "AgentState_Busy",
            "AgentOther_PhoneAlerting",
            "AgentOther_PhoneOffhook",
            "AgentConf_SelfJoinResult",
            "AgentConf_RequestSuccess"
        ]
    );
    let not_found = http.get(server.vendor("/nothing")).send().await.unwrap();
    assert_eq!(not_found.status(), 404);
    let big = http
        .post(server.vendor("/agentconf/101/requestagentconf"))
        .header("Guid", &guid)
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);

    let summary = server
        .stop()
        .await
        .expect("the last handle finishes the journal");
    assert_eq!(
        summary.records,
        2 + 4 + 1 + 5,
        "2 logins, 4 sign-in events, 1 apply, 5 events"
    );
}

#[tokio::test]
async fn on_the_wall_clock_timers_fire_by_themselves_and_the_journal_replays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.jsonl");
    let file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    // 1000x: a simulated minute in 60 ms of real time.
    let server = Server::start(
        GatewayConfig {
            clock: ClockMode::Wall { speed: 1000.0 },
            poll_wait: Duration::from_secs(2),
            inactivity: None,
            start: SimTime::from_unix_ms(1_767_603_600_000),
            ..GatewayConfig::default()
        },
        Some(file),
    )
    .await;
    let http = client();
    let guid = login(&http, &server, 101).await;
    let apply = http
        .post(server.vendor("/agentconf/101/requestagentconf"))
        .header("Guid", &guid)
        .body(r#"{"memberNum":2,"time":4}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(apply).await["retcode"], "0");
    // Nobody advances anything: the gateway's clock task fires the timers at their instants.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut events = Vec::new();
    while events
        .last()
        .is_none_or(|e: &Value| e["eventType"] != "AgentState_Ready" || events.len() < 3)
    {
        assert!(Instant::now() < deadline, "events so far: {events:?}");
        let body = poll(&http, &server, 101, &guid).await;
        if let Some(e) = body.get("event") {
            events.push(e.clone());
        }
    }
    let at = |ty: &str| {
        events
            .iter()
            .find(|e| e["eventType"] == ty)
            .and_then(|e| e["eventGenTime"].as_i64())
            .unwrap_or_else(|| panic!("{ty} in {events:?}"))
    };
    // Timer events carry exactly their due time, whatever the real lateness.
    let t0 = at("AgentConf_RequestSuccess");
    assert_eq!(at("AgentConf_Timeout") - t0, 60_000);
    assert_eq!(at("AgentConf_SelfLeaveResult") - t0, 4 * 60_000);
    let clock = json_of(
        http.get(server.url("/simulator/clock"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(clock["mode"], "wall");
    let now = SimTime::parse_rfc3339(clock["now"].as_str().unwrap()).unwrap();
    assert!(now.since(SimTime::from_unix_ms(t0)) >= SimDuration::from_secs(240));

    let journal = http
        .get(server.url("/simulator/journal"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let outcome = confsim_replay::replay_bytes("wall", &journal).unwrap();
    assert!(outcome.ok, "{}", outcome.human());
    let summary = server.stop().await.unwrap();
    let on_disk = std::fs::read(&path).unwrap();
    assert!(
        on_disk.starts_with(&journal),
        "the file holds what was served"
    );
    assert_eq!(
        on_disk.iter().filter(|b| **b == b'\n').count() as u64,
        summary.records + 1
    );
}
