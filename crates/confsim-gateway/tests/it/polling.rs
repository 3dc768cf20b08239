//! Long polling: the empty answer, waking on an event, one event per answer, in order, once.

use crate::support::{Client, gateway};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test]
async fn with_nothing_pending_a_poll_is_held_then_answers_exactly_the_empty_body() {
    let c = Client::new(gateway(|config| {
        config.poll_wait = Duration::from_millis(200)
    }));
    let guid = c.login(101).await;
    let started = Instant::now();
    let reply = c.poll(101, &guid).await;
    let held = started.elapsed();
    assert_eq!(reply.text, r#"{"message":"","retcode":"0"}"#);
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/json;charset=UTF-8"
    );
    assert!(
        held >= Duration::from_millis(190),
        "answered after {held:?}"
    );
    assert!(held < Duration::from_secs(5), "answered after {held:?}");
}

#[tokio::test]
async fn a_held_poll_answers_as_soon_as_an_event_arrives() {
    let c = Client::new(gateway(|config| config.poll_wait = Duration::from_secs(10)));
    let guid = c.login(101).await;
    let poller = {
        let c = c.clone();
        let guid = guid.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let reply = c.poll(101, &guid).await;
            (reply, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!poller.is_finished(), "held while nothing is pending");
    // The sign-in events fall due when the clock moves; the held poll gets the first.
    c.advance(1_000).await;
    let (reply, held) = tokio::time::timeout(Duration::from_secs(5), poller)
        .await
        .expect("the poll woke up")
        .expect("the poll task");
    assert_eq!(reply.json()["event"]["eventType"], "AgentOther_InService");
    assert!(held < Duration::from_secs(5), "{held:?}");
    // The second event is still there for the next poll: one event per answer.
    assert_eq!(
        c.poll(101, &guid).await.json()["event"]["eventType"],
        "AgentState_Ready"
    );
}

#[tokio::test]
async fn every_event_is_polled_once_in_journal_order() {
    let c = Client::new(gateway(|config| config.inactivity = None));
    let guids = [c.login(101).await, c.login(102).await, c.login(103).await];
    c.advance(1_000).await;
    for (agent, guid) in [(101, &guids[0]), (102, &guids[1])] {
        let r = c
            .conf(
                agent,
                guid,
                "requestagentconf",
                json!({"memberNum": 3, "time": 4}),
            )
            .await;
        assert_eq!(r.retcode(), "0");
    }
    c.advance(10 * 60_000).await;
    for (i, agent) in [101u32, 102, 103].into_iter().enumerate() {
        let polled = c.drain_events(agent, &guids[i]).await;
        let journaled: Vec<_> = c
            .records()
            .into_iter()
            .filter(|r| r.get("eventType").is_some() && r["workNo"] == agent.to_string().as_str())
            .collect();
        assert!(!journaled.is_empty());
        assert_eq!(polled.len(), journaled.len(), "agent {agent}");
        for (p, j) in polled.iter().zip(&journaled) {
            assert_eq!(p["eventType"], j["eventType"]);
            assert_eq!(p["workNo"], j["workNo"]);
            assert_eq!(p["content"], j["content"]);
            let at = confsim_core::SimTime::parse_rfc3339(j["at"].as_str().unwrap()).unwrap();
            assert_eq!(p["eventGenTime"], at.as_unix_ms());
        }
    }
}

#[tokio::test]
async fn the_shutdown_releases_held_polls_at_once() {
    let c = Client::new(gateway(|config| config.poll_wait = Duration::from_secs(30)));
    let guid = c.login(101).await;
    let poller = {
        let c = c.clone();
        tokio::spawn(async move { c.poll(101, &guid).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.gateway.shut_down();
    let reply = tokio::time::timeout(Duration::from_secs(5), poller)
        .await
        .expect("released")
        .expect("the poll task");
    assert_eq!(reply.text, r#"{"message":"","retcode":"0"}"#);
}
