//! The inactivity sign-out (agentgateway.md §2.3): an agent that sends nothing for the period
//! (simulated time) is signed out by a journaled `forceLogout`, so a replay reproduces it.

use crate::support::{Client, gateway};
use confsim_core::SimDuration;
use serde_json::json;

#[tokio::test]
async fn a_silent_agent_is_signed_out_and_told_so_and_a_polling_one_is_not() {
    let c = Client::new(gateway(|config| {
        config.inactivity = Some(SimDuration::from_secs(120))
    }));
    let silent = c.login(101).await;
    let busy = c.login(102).await;
    // 102 polls every 30 s; 101 says nothing.
    for _ in 0..4 {
        c.advance(30_000).await;
        c.drain(102, &busy).await;
    }
    c.advance(1_000).await;
    let force: Vec<_> = c
        .inputs()
        .into_iter()
        .filter(|r| r["op"] == "forceLogout")
        .collect();
    assert_eq!(force.len(), 1, "only the silent agent");
    assert_eq!(force[0]["agentId"], "101");
    assert_eq!(
        force[0]["at"], "2026-01-05T09:02:00.000Z",
        "exactly 120 s after its sign-in"
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
        config.inactivity = Some(SimDuration::from_secs(120));
        config.poll_wait = std::time::Duration::from_secs(10);
    }));
    let guid = c.login(101).await;
    c.advance(1_000).await;
    c.poll(101, &guid).await;
    c.poll(101, &guid).await;
    let held = {
        let c = c.clone();
        let guid = guid.clone();
        tokio::spawn(async move { c.poll(101, &guid).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // Ten simulated minutes pass while the poll is held (a fast wall clock does this).
    c.advance(600_000).await;
    assert!(c.inputs().iter().all(|r| r["op"] != "forceLogout"));
    c.gateway.shut_down();
    held.await.unwrap();
}
