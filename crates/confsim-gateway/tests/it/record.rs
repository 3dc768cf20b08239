//! `confsim record` against a real upstream: gateways served on loopback, the recorder in
//! front of one of them, a real HTTP client. A whole desktop session through the proxy is
//! what the same session sees directly; the capture holds what the upstream journaled;
//! upstream down is a 502 and nothing captured; an https upstream with a self-signed CA;
//! continuing a capture whose tail was torn, and refusing files that are not captures.

use crate::tcp::{Server, client, json_of};
use confsim_gateway::record::{RecordConfig, Recorder, UpstreamTrust, UpstreamUrl};
use confsim_gateway::{GatewayConfig, tls_acceptor};
use confsim_journal::{LooseKind, LooseRecord, read_loose, read_loose_file};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A recorder on 127.0.0.1 (an ephemeral port).
pub struct Proxy {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<confsim_gateway::Result<Option<confsim_journal::Summary>>>,
}

impl Proxy {
    pub async fn start(config: RecordConfig, journal: &Path) -> Self {
        let (recorder, _) = Recorder::open(config, journal).unwrap();
        Self::serve(recorder, None).await
    }

    pub async fn serve(recorder: Recorder, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(recorder.serve(listener, tls, async {
            let _ = stopped.await;
        }));
        Proxy {
            addr,
            stop: Some(stop),
            task,
        }
    }

    pub fn vendor(&self, path: &str) -> String {
        format!("http://{}/agentgateway/resource{path}", self.addr)
    }

    pub async fn stop(mut self) -> Option<confsim_journal::Summary> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the proxy stops")
            .expect("the proxy task")
            .expect("the proxy ran")
    }
}

pub fn upstream_of(server: &Server) -> RecordConfig {
    RecordConfig::new(UpstreamUrl::parse(&format!("http://{}", server.addr)).unwrap())
}

/// What a client saw of one answer: status, headers (but `date`), body; every Guid the
/// session was given replaced by its number in order of appearance, so two sessions with
/// different random Guids compare equal when they are otherwise the same.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// A desktop session against `base` (a vendor URL root), moving the manual clock of the
/// upstream at `control` between steps: sign-in of two agents, polls, an agent-state call and
/// its way back, an application, an invitation and its answer, the release, a wrong Guid, a
/// path that is no interface, and sign-out. Returns every answer as seen, and the Guids issued.
async fn desktop_session(base: &str, control: &Server) -> (Vec<Seen>, Vec<String>) {
    let http = client();
    let mut seen = Vec::new();
    let mut guids: Vec<String> = Vec::new();
    let mut record = async |response: reqwest::Response, guids: &mut Vec<String>| {
        let status = response.status().as_u16();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str() != "date")
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        if let Some((_, v)) = headers.iter().find(|(k, _)| k == "set-guid") {
            let guid = v.strip_prefix("JSESSIONID=").unwrap().to_owned();
            if !guids.contains(&guid) {
                guids.push(guid);
            }
        }
        let mut body = response.text().await.unwrap();
        for (i, guid) in guids.iter().enumerate() {
            body = body.replace(guid, &format!("<guid {i}>"));
            for (_, v) in &mut headers {
                *v = v.replace(guid, &format!("<guid {i}>"));
            }
        }
        let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        seen.push(Seen {
            status,
            headers,
            body,
        });
        value
    };
    let login = |agent: u32| {
        http.put(format!("{base}/onlineagent/{agent}"))
            .header("Content-Type", "application/json; charset=UTF-8")
            .body(r#"{"password":"s3cret","status":"4","phonenum":"88001"}"#)
            .send()
    };
    let advance = async |ms: u64| {
        let r = http
            .post(control.url("/simulator/clock/advance"))
            .body(json!({ "ms": ms }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    let r = login(101).await.unwrap();
    record(r, &mut guids).await;
    let r = login(102).await.unwrap();
    record(r, &mut guids).await;
    let (chair, member) = (guids[0].clone(), guids[1].clone());
    let drain = async |agent: u32, guid: &str, seen: &mut dyn FnMut(Value)| loop {
        let r = http
            .get(format!("{base}/agentevent/{agent}"))
            .header("guid", guid)
            .header("Cookie", format!("JSESSIONID={guid}"))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str() != "date")
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let body: Value = json_of(r).await;
        let done = body.get("event").is_none();
        seen(json!({"status": status, "headers": headers, "body": body}));
        if done {
            break;
        }
    };
    let mut polled = Vec::new();
    let conf = |agent: u32, guid: &str, action: &str, body: Value| {
        let request = http
            .post(format!("{base}/agentconf/{agent}/{action}"))
            .header("Content-Type", "application/json; charset=UTF-8")
            .header("Guid", guid);
        if body.is_null() {
            request.send()
        } else {
            request.body(body.to_string()).send()
        }
    };
    advance(1_000).await;
    drain(101, &chair, &mut |v| polled.push(v)).await;
    drain(102, &member, &mut |v| polled.push(v)).await;
    // A state call with its parameter in the query, and its way back: journaled with the
    // parameters as the body, by the upstream and by the capture alike.
    for action in ["saybusy?reason=2", "sayfree"] {
        let r = http
            .post(format!("{base}/onlineagent/101/{action}"))
            .header("Guid", chair.as_str())
            .send()
            .await
            .unwrap();
        record(r, &mut guids).await;
        advance(1_000).await;
        drain(101, &chair, &mut |v| polled.push(v)).await;
    }
    let r = conf(
        101,
        &chair,
        "requestagentconf",
        json!({"memberNum": 3, "time": 30, "promptTime": 5}),
    )
    .await
    .unwrap();
    record(r, &mut guids).await;
    advance(1_000).await;
    drain(101, &chair, &mut |v| polled.push(v)).await;
    let r = conf(
        101,
        &chair,
        "batchaddparticipant",
        json!({"addresses": [{"addressType": "9", "address": "102"}]}),
    )
    .await
    .unwrap();
    record(r, &mut guids).await;
    advance(1_000).await;
    drain(102, &member, &mut |v| polled.push(v)).await;
    let r = conf(102, &member, "answeragentconf", Value::Null)
        .await
        .unwrap();
    record(r, &mut guids).await;
    advance(1_000).await;
    drain(101, &chair, &mut |v| polled.push(v)).await;
    drain(102, &member, &mut |v| polled.push(v)).await;
    let r = conf(101, &chair, "releaseagentconf", Value::Null)
        .await
        .unwrap();
    record(r, &mut guids).await;
    advance(1_000).await;
    drain(101, &chair, &mut |v| polled.push(v)).await;
    drain(102, &member, &mut |v| polled.push(v)).await;
    // A wrong Guid, and a path that names no interface.
    let r = conf(101, "not-a-guid", "prolongtime", json!({"prolongTime": 5}))
        .await
        .unwrap();
    record(r, &mut guids).await;
    let r = http
        .get(format!("{base}/agentconf/101/nothing"))
        .send()
        .await
        .unwrap();
    record(r, &mut guids).await;
    for (agent, guid) in [(101, &chair), (102, &member)] {
        let r = http
            .delete(format!("{base}/onlineagent/{agent}/logout"))
            .header("Guid", guid.as_str())
            .send()
            .await
            .unwrap();
        record(r, &mut guids).await;
    }
    for p in polled {
        let mut text = p.to_string();
        for (i, guid) in guids.iter().enumerate() {
            text = text.replace(guid, &format!("<guid {i}>"));
        }
        seen.push(Seen {
            status: 0,
            headers: Vec::new(),
            body: text,
        });
    }
    (seen, guids)
}

/// The upstream's own journal, over its control API.
async fn journal_of(server: &Server) -> Vec<LooseRecord> {
    let text = client()
        .get(server.url("/simulator/journal?from=0"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    read_loose(text.as_bytes()).unwrap().records
}

/// Each agent's events: (type, content, time).
fn events_by_agent(records: &[LooseRecord]) -> BTreeMap<String, Vec<(String, Value, String)>> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for r in records {
        if let LooseKind::Event {
            event_type,
            work_no,
            content,
        } = &r.kind
        {
            out.entry(work_no.clone()).or_default().push((
                event_type.clone(),
                content.clone(),
                r.at.to_string(),
            ));
        }
    }
    out
}

fn inputs(records: &[LooseRecord]) -> Vec<LooseKind> {
    records
        .iter()
        .filter(|r| matches!(r.kind, LooseKind::Input { .. }))
        .map(|r| r.kind.clone())
        .collect()
}

#[tokio::test]
async fn a_desktop_session_through_the_proxy_sees_what_it_sees_directly_and_is_captured() {
    let config = || GatewayConfig {
        poll_wait: Duration::from_millis(30),
        ..GatewayConfig::default()
    };
    let (proxied, direct) = (
        Server::start(config(), None).await,
        Server::start(config(), None).await,
    );
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let proxy = Proxy::start(upstream_of(&proxied), &capture).await;

    let (through, guids) = desktop_session(&proxy.vendor(""), &proxied).await;
    let (plain, _) = desktop_session(&direct.vendor(""), &direct).await;
    assert!(through.len() > 20, "{through:?}");
    assert_eq!(through, plain);
    assert!(
        through[0].headers.iter().any(|(k, _)| k == "set-guid"),
        "{:?}",
        through[0]
    );
    let summary = proxy.stop().await.expect("a capture summary");

    // The capture: a header naming its source, the upstream's inputs (the password masked),
    // and every event the agents polled, at its eventGenTime, which is when the upstream
    // journaled it.
    let text = std::fs::read_to_string(&capture).unwrap();
    assert_eq!(summary.records as usize, text.lines().count() - 1);
    for guid in &guids {
        assert!(!text.contains(guid.as_str()), "a Guid was journaled");
    }
    assert!(!text.contains("s3cret"), "a password was journaled");
    let read = read_loose_file(&capture).unwrap();
    assert!(read.header.is_capture());
    let source = read.header.source.as_ref().unwrap();
    assert_eq!(source.upstream, proxied.addr.to_string());
    let upstream = journal_of(&proxied).await;
    let masked: Vec<LooseKind> = inputs(&upstream)
        .into_iter()
        .map(|mut kind| {
            if let LooseKind::Input { op, body, .. } = &mut kind
                && op == "login"
            {
                body["password"] = json!("***");
            }
            kind
        })
        .collect();
    assert_eq!(inputs(&read.records), masked);
    assert_eq!(
        masked.len(),
        10,
        "2 sign-ins, 2 state calls, 4 conference calls, 2 sign-outs"
    );
    assert!(
        matches!(&masked[2], LooseKind::Input { op, body, .. }
            if op == "sayBusy" && body == &json!({"reason": 2})),
        "{masked:?}"
    );
    let captured = events_by_agent(&read.records);
    assert_eq!(captured, events_by_agent(&upstream));
    assert!(captured["101"].len() >= 8, "{captured:?}");
    // Inputs are journaled at the real time, in order.
    let times: Vec<_> = read
        .records
        .iter()
        .filter(|r| matches!(r.kind, LooseKind::Input { .. }))
        .map(|r| r.at)
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // It is a journal the strict reader reads too (the upstream sent only what the model knows).
    let (_, strict, torn) = confsim_journal::read_all(&capture).unwrap();
    assert_eq!((strict.len(), torn), (read.records.len(), None));
    proxied.stop().await;
    direct.stop().await;
}

/// Sends raw bytes and reads the whole answer (the request asks to close).
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn header_names_go_both_ways_in_their_senders_case() {
    let upstream = Server::start(GatewayConfig::default(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(upstream_of(&upstream), &dir.path().join("c.jsonl")).await;
    let body = r#"{"password":"","status":"4"}"#;
    let request = format!(
        "PUT /agentgateway/resource/onlineagent/101 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let through = raw(proxy.addr, &request).await;
    assert!(through.starts_with("HTTP/1.1 200"), "{through}");
    assert!(through.contains("\r\nSet-GUID: JSESSIONID="), "{through}");
    assert!(!through.contains("set-guid"), "{through}");
    // A poll with the client's own header case and cookie reaches the upstream and works.
    let guid = through
        .split("Set-GUID: JSESSIONID=")
        .nth(1)
        .unwrap()
        .split("\r\n")
        .next()
        .unwrap()
        .to_owned();
    let poll = raw(
        proxy.addr,
        &format!(
            "GET /agentgateway/resource/agentevent/101 HTTP/1.1\r\nHost: x\r\nGUID: {guid}\r\nCookie: JSESSIONID={guid}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(poll.contains(r#""retcode":"0""#), "{poll}");
    // Outside the vendor's interface the proxy forwards nothing.
    let health = raw(
        proxy.addr,
        "GET /simulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 404"), "{health}");
    proxy.stop().await;
    upstream.stop().await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_and_nothing_is_captured() {
    // A port that was just free: nothing listens there.
    let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let config = RecordConfig::new(UpstreamUrl::parse(&format!("http://{addr}")).unwrap());
    let proxy = Proxy::start(config, &capture).await;
    let http = client();
    let r = http
        .put(proxy.vendor("/onlineagent/101"))
        .body(r#"{"password":"","status":"4"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let text = r.text().await.unwrap();
    assert!(text.contains(&addr.to_string()), "{text}");
    let r = http
        .get(proxy.vendor("/agentevent/101"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    proxy.stop().await;
    let read = read_loose_file(&capture).unwrap();
    assert!(read.records.is_empty(), "{:?}", read.records);
    assert!(read.header.is_capture());
}

#[tokio::test]
async fn an_https_upstream_is_trusted_through_its_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let other_ca = dir.path().join("other.pem");
    std::fs::write(&other_ca, other.cert.pem()).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let gateway = confsim_gateway::Gateway::new(GatewayConfig::default(), None).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server =
        tokio::spawn(
            gateway.serve_tls(listener, tls_acceptor(&cert, &key).unwrap(), async {
                let _ = stopped.await;
            }),
        );
    let url = UpstreamUrl::parse(&format!("https://localhost:{port}")).unwrap();

    // Without a way to trust it, an https upstream is a clear error at start.
    let mut config = RecordConfig::new(url.clone());
    let err = Recorder::open(config.clone(), &dir.path().join("none.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--upstream-ca"), "{err}");

    let login = async |proxy: &Proxy| {
        client()
            .put(proxy.vendor("/onlineagent/101"))
            .body(r#"{"password":"","status":"4"}"#)
            .send()
            .await
            .unwrap()
    };
    // Trusted through the CA that signed it: the session goes through, and the proxy itself
    // serves HTTPS just as well... here plain HTTP to keep the client simple.
    config.trust = UpstreamTrust::Ca(cert.clone());
    let proxy = Proxy::start(config.clone(), &dir.path().join("ok.jsonl")).await;
    let r = login(&proxy).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("set-guid"));
    assert_eq!(json_of(r).await["retcode"], "0");
    proxy.stop().await;
    let read = read_loose_file(&dir.path().join("ok.jsonl")).unwrap();
    assert_eq!(read.records.len(), 1);
    assert_eq!(
        read.header.source.unwrap().upstream,
        format!("localhost:{port}")
    );

    // Another CA: the handshake fails, the client gets a 502 and nothing is captured.
    config.trust = UpstreamTrust::Ca(other_ca);
    let proxy = Proxy::start(config.clone(), &dir.path().join("bad.jsonl")).await;
    let r = login(&proxy).await;
    assert_eq!(r.status(), 502);
    let text = r.text().await.unwrap();
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    proxy.stop().await;
    assert!(
        read_loose_file(&dir.path().join("bad.jsonl"))
            .unwrap()
            .records
            .is_empty()
    );

    // --upstream-insecure accepts it.
    config.trust = UpstreamTrust::Insecure;
    let proxy = Proxy::start(config, &dir.path().join("insecure.jsonl")).await;
    assert_eq!(login(&proxy).await.status(), 200);
    proxy.stop().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_capture_is_continued_after_its_torn_tail_and_other_files_are_refused() {
    let upstream = Server::start(GatewayConfig::default(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let proxy = Proxy::start(upstream_of(&upstream), &capture).await;
    let sign_in = async |proxy: &Proxy, agent: u32| {
        let r = client()
            .put(proxy.vendor(&format!("/onlineagent/{agent}")))
            .body(r#"{"password":"","status":"4"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    sign_in(&proxy, 101).await;
    proxy.stop().await;
    // A crash mid-write leaves half a line.
    let mut bytes = std::fs::read(&capture).unwrap();
    let whole = bytes.len();
    bytes.extend_from_slice(br#"{"seq":2,"at":"2026-01-05T09:00"#);
    std::fs::write(&capture, &bytes).unwrap();

    let (recorder, resumed) = Recorder::open(upstream_of(&upstream), &capture).unwrap();
    let resumed = resumed.expect("continued");
    assert_eq!(resumed.records, 1);
    assert_eq!(resumed.torn.as_ref().map(|t| t.line), Some(3));
    assert_eq!(std::fs::metadata(&capture).unwrap().len() as usize, whole);
    let proxy = Proxy::serve(recorder, None).await;
    sign_in(&proxy, 102).await;
    proxy.stop().await;
    let read = read_loose_file(&capture).unwrap();
    assert_eq!(read.records.len(), 2);
    assert!(
        matches!(&read.records[1].kind, LooseKind::Input { agent, .. } if agent == "102"),
        "{:?}",
        read.records[1]
    );

    // Garbage in the middle: a clear error naming the file and the line, the file untouched.
    let garbage = dir.path().join("garbage.jsonl");
    let mut text = std::fs::read_to_string(&capture).unwrap();
    text.push_str("this is not a record\n");
    std::fs::write(&garbage, &text).unwrap();
    let err = Recorder::open(upstream_of(&upstream), &garbage)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("garbage.jsonl") && err.contains("line 4"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&garbage).unwrap(), text);
    // A journal that is not a capture (a serve session's) is not continued.
    let served = dir.path().join("served.jsonl");
    let mut journal = client()
        .get(upstream.url("/simulator/journal?from=0"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::fs::write(&served, &journal).unwrap();
    let err = Recorder::open(upstream_of(&upstream), &served)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a capture"), "{err}");
    journal.clear();
    upstream.stop().await;
}

#[tokio::test]
async fn many_agents_hold_polls_through_the_proxy_and_each_gets_its_events_once() {
    const AGENTS: u32 = 200;
    let upstream = Server::start(
        GatewayConfig {
            poll_wait: Duration::from_secs(20),
            ..GatewayConfig::default()
        },
        None,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let proxy = std::sync::Arc::new(Proxy::start(upstream_of(&upstream), &capture).await);
    let http = client();
    let mut guids = Vec::new();
    for agent in 0..AGENTS {
        let r = http
            .put(proxy.vendor(&format!("/onlineagent/{}", 101 + agent)))
            .body(r#"{"password":"","status":"4"}"#)
            .send()
            .await
            .unwrap();
        let guid = r.headers()["set-guid"].to_str().unwrap()[11..].to_owned();
        guids.push(guid);
    }
    // Every agent polls until it has its two sign-in events, each poll held by the upstream
    // until the clock moves.
    let mut polls = Vec::new();
    for (i, guid) in guids.into_iter().enumerate() {
        let (http, url) = (
            http.clone(),
            proxy.vendor(&format!("/agentevent/{}", 101 + i)),
        );
        polls.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 2 {
                let r = http.get(&url).header("guid", &guid).send().await.unwrap();
                assert_eq!(r.status(), 200);
                let body = json_of(r).await;
                if let Some(event) = body.get("event") {
                    got.push(event["eventType"].as_str().unwrap().to_owned());
                }
            }
            got
        }));
    }
    // Let the polls arrive and be held, then move the clock: every event is delivered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = http
        .post(upstream.url("/simulator/clock/advance"))
        .body(r#"{"ms": 1000}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for poll in polls {
        assert_eq!(
            poll.await.unwrap(),
            ["AgentOther_InService", "AgentState_Ready"]
        );
    }
    let proxy = std::sync::Arc::into_inner(proxy).unwrap();
    proxy.stop().await;
    let read = read_loose_file(&capture).unwrap();
    let events = events_by_agent(&read.records);
    assert_eq!(events.len(), AGENTS as usize);
    assert_eq!(events, events_by_agent(&journal_of(&upstream).await));
    upstream.stop().await;
}

/// A wall-clock gateway whose asynchronous events are instantaneous, its simulated present the
/// real one to the millisecond (so `eventGenTime` is real time, as a real gateway's is).
pub fn wall_gateway(platform: Value) -> GatewayConfig {
    #[allow(clippy::disallowed_methods)] // The test's stand-in for a real gateway's clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    GatewayConfig {
        clock: confsim_gateway::ClockMode::Wall { speed: 1.0 },
        start: confsim_core::SimTime::from_unix_ms(now),
        platform: serde_json::from_value(platform).unwrap(),
        poll_wait: Duration::from_millis(200),
        ..GatewayConfig::default()
    }
}

pub fn instant_platform() -> Value {
    json!({"latency": {"minMs": 0, "maxMs": 0}})
}

/// A desktop session on the wall clock through `base`, each agent polling until the event it
/// waits for: sign-in, apply, invite, answer, release, sign-out. Returns each agent's events.
pub async fn wall_session(base: &str) -> BTreeMap<u32, Vec<String>> {
    let http = client();
    let mut guids = BTreeMap::new();
    let mut seen: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for agent in [101u32, 102] {
        let r = http
            .put(format!("{base}/onlineagent/{agent}"))
            .body(r#"{"password":"pw","status":"4"}"#)
            .send()
            .await
            .unwrap();
        let guid = r.headers()["set-guid"].to_str().unwrap()[11..].to_owned();
        assert_eq!(json_of(r).await["retcode"], "0");
        guids.insert(agent, guid);
    }
    // Polls until one of `types` arrives; returns it.
    let until = async |agent: u32, types: &[&str], seen: &mut BTreeMap<u32, Vec<String>>| loop {
        let r = http
            .get(format!("{base}/agentevent/{agent}"))
            .header("guid", &guids[&agent])
            .send()
            .await
            .unwrap();
        let body = json_of(r).await;
        if let Some(event) = body.get("event") {
            let got = event["eventType"].as_str().unwrap().to_owned();
            seen.entry(agent).or_default().push(got.clone());
            if types.contains(&got.as_str()) {
                break got;
            }
        }
    };
    let conf = async |agent: u32, action: &str, body: Option<Value>| {
        let request = http
            .post(format!("{base}/agentconf/{agent}/{action}"))
            .header("guid", &guids[&agent]);
        let request = match body {
            Some(body) => request.body(body.to_string()),
            None => request,
        };
        let answer = json_of(request.send().await.unwrap()).await;
        assert_eq!(answer["retcode"], "0", "{action}: {answer}");
    };
    until(101, &["AgentState_Ready"], &mut seen).await;
    until(102, &["AgentState_Ready"], &mut seen).await;
    let body = json!({"memberNum": 3, "time": 30, "promptTime": 5});
    conf(101, "requestagentconf", Some(body)).await;
    let outcome = until(
        101,
        &["AgentConf_RequestSuccess", "AgentConf_RequestFailed"],
        &mut seen,
    )
    .await;
    if outcome == "AgentConf_RequestSuccess" {
        let invite = json!({"addresses": [{"addressType": "9", "address": "102"}]});
        conf(101, "batchaddparticipant", Some(invite)).await;
        until(102, &["AgentConf_Ringing"], &mut seen).await;
        conf(102, "answeragentconf", None).await;
        until(102, &["AgentConf_SelfJoinResult"], &mut seen).await;
        until(101, &["AgentConf_ParticipantChanged"], &mut seen).await;
        conf(101, "releaseagentconf", None).await;
        until(101, &["AgentState_Ready"], &mut seen).await;
        until(102, &["AgentState_Ready"], &mut seen).await;
    }
    for agent in [101u32, 102] {
        let r = http
            .delete(format!("{base}/onlineagent/{agent}/logout"))
            .header("guid", &guids[&agent])
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(r).await["retcode"], "0");
    }
    seen
}

#[tokio::test]
async fn a_capture_converts_to_a_scenario_that_runs_with_its_expectations_holding() {
    let upstream = Server::start(wall_gateway(instant_platform()), None).await;
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let mut config = upstream_of(&upstream);
    config.platform = serde_json::from_value(instant_platform()).unwrap();
    let proxy = Proxy::start(config, &capture).await;
    let polled = wall_session(&proxy.vendor("")).await;
    proxy.stop().await;
    upstream.stop().await;
    assert!(polled[&101].len() >= 10, "{polled:?}");

    let journal = read_loose_file(&capture).unwrap();
    let converted = confsim_scenario::convert::convert(&journal, "capture", "capture.jsonl");
    assert!(converted.unknown_ops.is_empty() && converted.unknown_events.is_empty());
    let scenario = confsim_scenario::parse(&converted.text, Path::new("capture.json"))
        .unwrap_or_else(|e| panic!("{e}\n{}", converted.text));
    assert_eq!(scenario.steps.len(), 2 + 4 + 2);
    let (report, _) =
        confsim_scenario::run(&scenario, &Default::default(), std::io::sink()).unwrap();
    assert_eq!(report.expectations.len(), 2);
    for verdict in &report.expectations {
        assert!(verdict.ok, "{verdict:?}\n{}", converted.text);
    }
    // The capture's events are exactly what the agents polled.
    let captured = events_by_agent(&journal.records);
    for (agent, types) in &polled {
        let got: Vec<&String> = captured[&agent.to_string()]
            .iter()
            .map(|(t, ..)| t)
            .collect();
        assert!(got.len() >= types.len());
        assert_eq!(
            &got[..types.len()],
            types.iter().collect::<Vec<_>>().as_slice()
        );
    }
}

/// Captures `wall_session` through a proxy in front of a gateway with `upstream_platform`, the
/// capture's header saying the model's `model_platform`.
async fn capture_of(upstream_platform: Value, model_platform: Value, path: &Path) {
    let upstream = Server::start(wall_gateway(upstream_platform), None).await;
    let mut config = upstream_of(&upstream);
    config.platform = serde_json::from_value(model_platform).unwrap();
    let proxy = Proxy::start(config, path).await;
    wall_session(&proxy.vendor("")).await;
    proxy.stop().await;
    upstream.stop().await;
}

#[tokio::test]
async fn a_capture_replays_clean_against_a_faithful_model_and_diverges_against_another() {
    let dir = tempfile::tempdir().unwrap();
    let options = confsim_replay::CaptureOptions::default();

    // The upstream is the model: the capture replays without a divergence.
    let faithful = dir.path().join("faithful.jsonl");
    capture_of(instant_platform(), instant_platform(), &faithful).await;
    let outcome = confsim_replay::replay_file_with(&faithful, &options).unwrap();
    assert!(outcome.ok, "{}", outcome.human());
    let comparison = outcome.capture.as_ref().unwrap();
    assert!(comparison.events >= 15, "{}", outcome.human());
    assert_eq!(comparison.conferences_mapped, 1);

    // An upstream whose VDN takes two calls: the application fails there, not in the model.
    let mut small = instant_platform();
    small["vdn"] = json!({"maxConcurrentCalls": 2});
    let differing = dir.path().join("differing.jsonl");
    capture_of(small.clone(), instant_platform(), &differing).await;
    let outcome = confsim_replay::replay_file_with(&differing, &options).unwrap();
    assert!(!outcome.ok);
    let text = outcome.human();
    let comparison = outcome.capture.as_ref().unwrap();
    let first = comparison
        .agents
        .iter()
        .find(|a| a.agent == "101")
        .unwrap_or_else(|| panic!("{text}"));
    let recorded = first
        .divergence
        .expected
        .as_ref()
        .map(|e| e["eventType"].clone());
    let produced = first
        .divergence
        .actual
        .as_ref()
        .map(|e| e["eventType"].clone());
    assert!(
        recorded == Some(json!("AgentConf_RequestFailed"))
            || produced == Some(json!("AgentState_Busy")),
        "{text}"
    );
    let cause = first.divergence.cause.as_ref().unwrap();
    assert_eq!(
        (cause.op.as_str(), cause.agent.as_str()),
        ("requestAgentConf", "101"),
        "{text}"
    );
    assert!(text.contains("DIVERGED (a capture of 127.0.0.1:"), "{text}");
    assert!(text.contains("agent 101: first divergence"), "{text}");

    // The model set as the platform is: the same capture matches.
    let platform = (
        "small.json".to_owned(),
        serde_json::from_value(small).unwrap(),
        Vec::new(),
    );
    let fixed = confsim_replay::CaptureOptions {
        platform: Some(platform),
        ..options
    };
    let outcome = confsim_replay::replay_file_with(&differing, &fixed).unwrap();
    assert!(outcome.ok, "{}", outcome.human());
    assert!(outcome.human().contains("against small.json"));
}

#[tokio::test]
async fn the_proxy_serves_its_clients_over_https_with_the_upstreams_header_case() {
    use tokio_rustls::rustls;
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let upstream = Server::start(GatewayConfig::default(), None).await;
    let (recorder, _) =
        Recorder::open(upstream_of(&upstream), &dir.path().join("c.jsonl")).unwrap();
    let proxy = Proxy::serve(recorder, Some(tls_acceptor(&cert, &key).unwrap())).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let body = r#"{"password":"","status":"4"}"#;
    tls.write_all(
        format!(
            "PUT /agentgateway/resource/onlineagent/101 HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\r\nSet-GUID: JSESSIONID="), "{text}");
    proxy.stop().await;
    upstream.stop().await;
}
