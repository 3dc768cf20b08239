//! A bounded load test on loopback: 1,000 agents signed in and long-polling over real TCP
//! connections while a quarter of them apply for and release conferences; every agent's polled
//! events are then compared with the journal's events for it (nothing lost, duplicated or
//! reordered). `CONFSIM_LOAD_AGENTS` changes the count. The manual clock makes it exact: when
//! the last advance has answered, every event is queued, so an empty poll after it means the
//! agent has seen everything.

use crate::support::{Seen, journal_events, seen_event};
use crate::tcp::{Server, advance, client, login};
use confsim_gateway::GatewayConfig;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_polling_agents_each_get_their_events_once_in_order() {
    let agents: u32 = std::env::var("CONFSIM_LOAD_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let test = async {
        let server = Arc::new(
            Server::start(
                GatewayConfig {
                    poll_wait: Duration::from_secs(2),
                    inactivity: None,
                    ..GatewayConfig::default()
                },
                None,
            )
            .await,
        );
        let started = tokio::time::Instant::now();
        let http = client();
        let ids: Vec<u32> = (101..101 + agents).collect();
        let mut guids = BTreeMap::new();
        for id in &ids {
            guids.insert(*id, login(&http, &server, *id).await);
        }
        eprintln!("signed in after {:?}", started.elapsed());
        let done = Arc::new(AtomicBool::new(false));
        let mut pollers = Vec::new();
        for id in &ids {
            let (http, server, done, guid, id) = (
                http.clone(),
                server.clone(),
                done.clone(),
                guids[id].clone(),
                *id,
            );
            pollers.push(tokio::spawn(async move {
                let mut seen: Seen = Vec::new();
                loop {
                    // Read before polling: an empty answer to a poll sent after the last advance
                    // answered means this agent's queue is drained.
                    let finished = done.load(Ordering::SeqCst);
                    let body = crate::tcp::poll(&http, &server, id, &guid).await;
                    assert_eq!(body["retcode"], "0", "agent {id}: {body}");
                    match body.get("event") {
                        Some(e) => seen.push(seen_event(e)),
                        None if finished => return (id, seen),
                        None => {}
                    }
                }
            }));
        }
        // The driver: three cycles of a quarter of the agents applying, then releasing.
        let chairs: Vec<u32> = ids.iter().copied().filter(|id| id % 4 == 1).collect();
        advance(&http, &server, 1_000).await;
        for _ in 0..3 {
            for chair in &chairs {
                let r = http
                    .post(server.vendor(&format!("/agentconf/{chair}/requestagentconf")))
                    .header("Guid", &guids[chair])
                    .body(json!({"memberNum": 3, "time": 30}).to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(crate::tcp::json_of(r).await["retcode"], "0");
            }
            advance(&http, &server, 2_000).await;
            for chair in &chairs {
                let r = http
                    .post(server.vendor(&format!("/agentconf/{chair}/releaseagentconf")))
                    .header("Guid", &guids[chair])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(crate::tcp::json_of(r).await["retcode"], "0");
            }
            advance(&http, &server, 2_000).await;
        }
        eprintln!("driven after {:?}", started.elapsed());
        done.store(true, Ordering::SeqCst);
        let mut polled: BTreeMap<u32, Seen> = BTreeMap::new();
        for poller in pollers {
            let (id, seen) = poller.await.unwrap();
            polled.insert(id, seen);
        }

        eprintln!("polled after {:?}", started.elapsed());
        // The journal's events, per agent, in journal order.
        let (journaled, _) = journal_events(&http, &server).await;
        let total: usize = journaled.values().map(Vec::len).sum();
        assert!(
            total >= agents as usize * 2 + chairs.len() * 3 * 8,
            "{total} events"
        );
        for id in &ids {
            assert_eq!(polled.get(id), journaled.get(id), "agent {id}");
        }
        let server = Arc::into_inner(server).expect("the pollers are done");
        server.stop().await;
        total
    };
    let total = tokio::time::timeout(Duration::from_secs(180), test)
        .await
        .expect("the load test is bounded in time");
    eprintln!("{agents} agents: {total} events, each polled once in order");
}
