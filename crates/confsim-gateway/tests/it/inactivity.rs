//! The inactivity sign-out (agentgateway.md §2.3, product.md §9.2): a client that sends nothing
//! and holds no poll for the period, in *real* time whatever the clock and speed, is signed out
//! by a journaled `forceLogout` at the simulated time the silence is detected, so a replay
//! reproduces it.

use crate::support::{Client, gateway};
use crate::tcp::{Server, client, json_of, login, poll};
use confsim_gateway::{ClockMode, GatewayConfig};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test]
async fn a_silent_client_is_signed_out_in_real_time_and_a_polling_one_is_not() {
    let c = Client::new(gateway(|config| {
        config.inactivity = Some(Duration::from_millis(800))
    }));
    let silent = c.login(101).await;
    let busy = c.login(102).await;
    // A manual clock's 45-minute step is not silence: nobody is signed out by it.
    c.advance(45 * 60_000).await;
    assert_eq!(
        c.gateway.check_liveness(),
        0,
        "45 simulated minutes in no real time"
    );
    // 102 polls every 20 ms of real time; 101 says nothing.
    let quiet_from = Instant::now();
    while quiet_from.elapsed() < Duration::from_millis(1_000) {
        c.drain(102, &busy).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.advance(1_000).await;
    assert_eq!(c.gateway.check_liveness(), 1, "only the silent one");
    assert_eq!(c.gateway.check_liveness(), 0, "and only once");
    // The sign-out's events come after the platform's latency, in simulated time.
    c.advance(1_000).await;
    let force: Vec<_> = c
        .inputs()
        .into_iter()
        .filter(|r| r["op"] == "forceLogout")
        .collect();
    assert_eq!(force.len(), 1, "only the silent agent");
    assert_eq!(force[0]["agentId"], "101");
    assert_eq!(
        force[0]["at"], "2026-01-05T09:45:01.000Z",
        "at the simulated time the silence was detected"
    );
    assert_eq!(force[0]["response"]["retcode"], "0");
    // Its client gets everything up to AgentOther_ShutdownService, then 100-006.
    for expected in [
        "AgentOther_InService",
        "AgentState_Ready",
        "AgentOther_ShutdownService",
    ] {
        assert_eq!(
            c.poll(101, &silent).await.json()["event"]["eventType"],
            expected
        );
    }
    assert_eq!(c.poll(101, &silent).await.retcode(), "100-006");
    // The polling agent is still signed in.
    let r = c
        .conf(102, &busy, "requestagentconf", json!({"memberNum": 2}))
        .await;
    assert_eq!(r.retcode(), "0", "{}", r.text);

    // The session's journal, inactivity sign-out included, replays identically.
    let journal = c.gateway.journal_bytes().unwrap();
    let outcome = confsim_replay::replay_bytes("session", &journal).unwrap();
    assert!(outcome.ok, "{}", outcome.human());
}

#[tokio::test]
async fn a_held_poll_keeps_the_agent_active_however_long_it_is_held() {
    let c = Client::new(gateway(|config| {
        config.inactivity = Some(Duration::from_millis(100));
        config.poll_wait = Duration::from_secs(10);
    }));
    let guid = c.login(101).await;
    // The sign-in's two events, then a poll held with nothing to answer.
    c.advance(1_000).await;
    c.poll(101, &guid).await;
    c.poll(101, &guid).await;
    let held = {
        let c = c.clone();
        let guid = guid.clone();
        tokio::spawn(async move { c.poll(101, &guid).await })
    };
    // Three periods of real time and ten simulated minutes pass while the poll is held.
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.advance(600_000).await;
    assert_eq!(c.gateway.check_liveness(), 0);
    assert!(c.inputs().iter().all(|r| r["op"] != "forceLogout"));
    c.gateway.shut_down();
    held.await.unwrap();
}

#[tokio::test]
async fn at_speed_600_a_client_polling_every_500_ms_stays_and_one_that_stops_is_signed_out() {
    // 600x: the 400 ms inactivity period is four simulated minutes; the client polls each
    // 500 ms of real time (five simulated minutes), the demo's rhythm.
    let server = Server::start(
        GatewayConfig {
            clock: ClockMode::Wall { speed: 600.0 },
            poll_wait: Duration::from_millis(450),
            inactivity: Some(Duration::from_millis(400)),
            ..GatewayConfig::default()
        },
        None,
    )
    .await;
    let http = client();
    let guid = login(&http, &server, 101).await;
    for _ in 0..6 {
        // A poll is held up to 450 ms, then the client sleeps 50 ms before the next.
        poll(&http, &server, 101, &guid).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = http
        .get(server.vendor("/onlineagent/101/agentstatus"))
        .header("Guid", &guid)
        .send()
        .await
        .unwrap();
    let status = json_of(status).await;
    assert_eq!(status["retcode"], "0", "still signed in: {status}");
    // Then it stops: the clock's own sweep signs it out within a period and a bit.
    let deadline = Instant::now() + Duration::from_secs(10);
    let signed_out = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let journal = http
            .get(server.url("/simulator/journal?from=0"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if journal.contains(r#""op":"forceLogout""#) {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
    };
    assert!(
        signed_out,
        "the silent client is signed out by the clock's task"
    );
    server.stop().await;
}
