//! Load without loss: N agents signed in and long-polling at once over real TCP
//! connections on loopback, one connection each, while in every cycle a fifth of them apply
//! for a conference, invite two others, who answer, and release, as fast as 64 requests in
//! flight allow. Afterwards every agent's polled events must equal, in order and exactly once,
//! its events in the journal; no queue may have overflowed and no answer may be a 5xx.
//!
//! The normal suite runs 300 agents; the 5,000-agent run is ignored (it needs about 10,300
//! file descriptors, and wants an optimized build):
//!
//! ```sh
//! cargo test --release -p confsim-gateway --test it longpoll::five_thousand -- --ignored --nocapture
//! ```
//!
//! It prints the figures: agents held (the most polls held open at once, from the gateway's
//! own `confsim_gateway_polls_held`), inputs per second while driving, events compared, the
//! process's peak resident memory (`VmHWM`: server and clients together, they share the
//! process) and the duration.

use crate::support::{Seen, journal_events, metric, metrics, seen_event};
use crate::tcp::{Server, advance, json_of, login};
use confsim_gateway::GatewayConfig;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Requests the driver keeps in flight.
const IN_FLIGHT: usize = 64;
/// Pollers that connect at once.
const RAMP: usize = 500;

/// The figures of a run.
#[derive(Debug)]
struct Figures {
    agents: u32,
    held_max: u64,
    inputs_driven: u64,
    inputs_per_sec: f64,
    events_compared: usize,
    polls_answered: u64,
    peak_rss_kib: Option<u64>,
    duration: Duration,
}

/// A line of `/proc/self/<file>` (Linux), as a number: `VmHWM` (kB), `Max open files` (soft).
fn proc_number(file: &str, key: &str, field: usize) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .split_whitespace()
        .nth(field)?
        .parse()
        .ok()
}

/// A client whose idle connections are closed (5 s) before the gateway's header read
/// timeout (10 s) would close them, so no request races a closing connection.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Sends `requests` (agent, path suffix, body) with up to `IN_FLIGHT` at once; every answer
/// must be `retcode` "0". Returns how many were sent.
async fn drive(
    http: &reqwest::Client,
    server: &Server,
    guids: &BTreeMap<u32, String>,
    requests: Vec<(u32, &'static str, Value)>,
) -> u64 {
    let n = requests.len() as u64;
    futures_util::stream::iter(requests)
        .for_each_concurrent(IN_FLIGHT, |(agent, action, body)| async move {
            let mut request = http
                .post(server.vendor(&format!("/agentconf/{agent}/{action}")))
                .header("Guid", &guids[&agent]);
            if !body.is_null() {
                request = request.body(body.to_string());
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{action} by {agent}");
            let body = json_of(response).await;
            assert_eq!(body["retcode"], "0", "{action} by {agent}: {body}");
        })
        .await;
    n
}

/// Waits until at least `n` polls are held at once (a minute at most); returns the count.
async fn wait_held(http: &reqwest::Client, server: &Server, n: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held = metric(&metrics(http, server).await, "confsim_gateway_polls_held").unwrap_or(0);
        if held >= n {
            return held;
        }
        assert!(
            Instant::now() < deadline,
            "only {held} of {n} polls held after a minute"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn long_poll_load(agents: u32, cycles: u32) -> Figures {
    // One connection per held poll on each side, plus the driver's and the runtime's.
    let needed = u64::from(agents) * 2 + 2 * IN_FLIGHT as u64 + 100;
    if let Some(limit) = proc_number("limits", "Max open files", 0) {
        assert!(
            limit >= needed,
            "{agents} long-polling agents need about {needed} file descriptors and the soft limit (ulimit -n) is {limit}: raise it (ulimit -n {needed}) and run again"
        );
    }
    let started = Instant::now();
    let server = Arc::new(
        Server::start(
            GatewayConfig {
                poll_wait: Duration::from_secs(3),
                inactivity: None,
                max_connections: agents as usize + 4 * IN_FLIGHT,
                ..GatewayConfig::default()
            },
            None,
        )
        .await,
    );
    let driver = http();
    let ids: Vec<u32> = (101..101 + agents).collect();

    // Everyone signs in.
    let guids: BTreeMap<u32, String> = futures_util::stream::iter(ids.clone())
        .map(|id| {
            let (driver, server) = (&driver, &server);
            async move { (id, login(driver, server, id).await) }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let guids = Arc::new(guids);
    eprintln!("{agents} signed in after {:?}", started.elapsed());

    // Everyone polls, each on its own connection, until the journal is drained.
    let pollers_http = http();
    let done = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let mut pollers = Vec::new();
    for (i, &id) in ids.iter().enumerate() {
        // In waves of `RAMP` connections, each wave held before the next starts: thousands
        // of connects in the same millisecond would overflow the listen backlog (1,024 for
        // tokio's `bind`), and the kernel would reset some, which is not what this measures.
        if i > 0 && i % RAMP == 0 {
            wait_held(&driver, &server, i as u64).await;
        }
        let (http, server, done, guids, answered) = (
            pollers_http.clone(),
            server.clone(),
            done.clone(),
            guids.clone(),
            answered.clone(),
        );
        pollers.push(tokio::spawn(async move {
            let mut seen: Seen = Vec::new();
            let url = server.vendor(&format!("/agentevent/{id}"));
            loop {
                // Read before polling: an empty answer to a poll sent after the last advance
                // answered means this agent's queue is drained.
                let finished = done.load(Ordering::SeqCst);
                let response = http.get(&url).header("guid", &guids[&id]).send().await;
                let response = response.unwrap_or_else(|e| panic!("agent {id}'s poll: {e:?}"));
                assert_eq!(response.status(), 200, "agent {id}");
                assert!(response.headers().get("x-confsim-dropped-events").is_none());
                let body = json_of(response).await;
                assert_eq!(body["retcode"], "0", "agent {id}: {body}");
                answered.fetch_add(1, Ordering::Relaxed);
                match body.get("event") {
                    Some(e) => seen.push(seen_event(e)),
                    None if finished => return (id, seen),
                    None => {}
                }
            }
        }));
    }

    // Every agent holds a poll; then their sign-in events come, are polled, and every agent
    // holds a poll again. Then the count is watched while driving.
    wait_held(&driver, &server, u64::from(agents)).await;
    advance(&driver, &server, 1_000).await;
    let held_max = wait_held(&driver, &server, u64::from(agents)).await;
    eprintln!(
        "{held_max} polls held at once after {:?}",
        started.elapsed()
    );
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (http, server, watching) = (http(), server.clone(), watching.clone());
        tokio::spawn(async move {
            let mut max = 0;
            while watching.load(Ordering::SeqCst) {
                let text = metrics(&http, &server).await;
                max = max.max(metric(&text, "confsim_gateway_polls_held").unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            max
        })
    };

    // The driver: in cycle c, agent i (counted from 0) chairs when (i + c) % 5 == 0 and
    // invites agents i + 1 and i + 2, who answer; then the chair releases.
    let driving = Instant::now();
    let mut inputs = 0;
    for cycle in 0..cycles {
        let chairs: Vec<u32> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as u32 + cycle) % 5 == 0 && *i + 2 < ids.len())
            .map(|(_, id)| *id)
            .collect();
        let each = |action: &'static str, body: Value| {
            chairs
                .iter()
                .map(|c| (*c, action, body.clone()))
                .collect::<Vec<_>>()
        };
        inputs += drive(
            &driver,
            &server,
            &guids,
            each("requestagentconf", json!({"memberNum": 4, "time": 30})),
        )
        .await;
        advance(&driver, &server, 1_000).await;
        let invites = chairs
            .iter()
            .map(|c| {
                let body = json!({"addresses": [
                    {"addressType": "9", "address": (c + 1).to_string()},
                    {"addressType": "9", "address": (c + 2).to_string()},
                ]});
                (*c, "batchaddparticipant", body)
            })
            .collect();
        inputs += drive(&driver, &server, &guids, invites).await;
        advance(&driver, &server, 1_000).await;
        let answers = chairs
            .iter()
            .flat_map(|c| [c + 1, c + 2])
            .map(|m| (m, "answeragentconf", Value::Null))
            .collect();
        inputs += drive(&driver, &server, &guids, answers).await;
        advance(&driver, &server, 1_000).await;
        inputs += drive(
            &driver,
            &server,
            &guids,
            each("releaseagentconf", Value::Null),
        )
        .await;
        advance(&driver, &server, 1_000).await;
    }
    let drove = driving.elapsed();
    watching.store(false, Ordering::SeqCst);
    let held_max = held_max.max(watcher.await.unwrap());
    eprintln!(
        "{inputs} inputs driven in {drove:?} ({:.0}/s)",
        inputs as f64 / drove.as_secs_f64()
    );

    done.store(true, Ordering::SeqCst);
    let mut polled: BTreeMap<u32, Seen> = BTreeMap::new();
    for poller in pollers {
        let (id, seen) = poller.await.unwrap();
        polled.insert(id, seen);
    }
    eprintln!("every queue drained after {:?}", started.elapsed());

    // The journal's events, per agent, in journal order.
    let (journaled, journaled_inputs) = journal_events(&driver, &server).await;
    assert_eq!(journaled_inputs, u64::from(agents) + inputs);
    let total: usize = journaled.values().map(Vec::len).sum();
    // Every cycle gives each group of five at least 5 + 3 events to the chair and 2 + 3 to
    // each invitee (apply, ringing, joined, release), besides the sign-in events.
    assert!(
        total >= (agents as usize / 5) * cycles as usize * 18,
        "{total} events"
    );
    for id in &ids {
        assert_eq!(polled.get(id), journaled.get(id), "agent {id}");
    }
    let text = metrics(&driver, &server).await;
    assert_eq!(
        metric(&text, "confsim_gateway_events_dropped_total"),
        Some(0)
    );
    assert_eq!(
        metric(&text, "confsim_http_responses_total{class=\"5xx\"}"),
        Some(0)
    );
    drop(driver);
    let server = Arc::into_inner(server).expect("the pollers are done");
    server.stop().await;
    eprintln!("compared and stopped after {:?}", started.elapsed());
    Figures {
        agents,
        held_max,
        inputs_driven: inputs,
        inputs_per_sec: inputs as f64 / drove.as_secs_f64(),
        events_compared: total,
        polls_answered: answered.load(Ordering::Relaxed),
        peak_rss_kib: proc_number("status", "VmHWM:", 0),
        duration: started.elapsed(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_long_polling_agents_get_their_events_once_in_order_under_load() {
    let figures = tokio::time::timeout(Duration::from_secs(120), long_poll_load(300, 3))
        .await
        .expect("the load test is bounded in time");
    assert!(figures.held_max >= 300, "{figures:?}");
    eprintln!("{figures:#?}");
}

/// `cargo test --release -p confsim-gateway --test it longpoll::five_thousand -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "5,000 agents: about 10,300 file descriptors and an optimized build; run it by hand"]
async fn five_thousand_long_polling_agents_get_their_events_once_in_order_under_load() {
    let figures = tokio::time::timeout(Duration::from_secs(120), long_poll_load(5_000, 5))
        .await
        .expect("the load test is bounded in time");
    assert!(figures.held_max >= 5_000, "{figures:?}");
    eprintln!(
        "{} agents: held at once {}; inputs driven {} at {:.0}/s; events compared {}; polls answered {}; peak RSS {} MiB; duration {:.1} s",
        figures.agents,
        figures.held_max,
        figures.inputs_driven,
        figures.inputs_per_sec,
        figures.events_compared,
        figures.polls_answered,
        figures.peak_rss_kib.map_or(0, |k| k / 1024),
        figures.duration.as_secs_f64()
    );
}
