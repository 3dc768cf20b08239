//! Sign-in, Guids and the session interfaces.

use crate::support::{BASE, Client, gateway};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use confsim_core::SimDuration;
use confsim_gateway::{GuidMode, GuidPolicy};
use serde_json::json;

#[tokio::test]
async fn a_sign_in_answers_the_vendor_result_and_issues_a_guid() {
    let c = Client::new(gateway(|_| {}));
    let reply = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/101"),
            &[("Content-Type", "application/json; charset=UTF-8")],
            r#"{"password":"","phonenum":"88001","status":"4","releasephone":"false","agenttype":"4"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["retcode"], "0");
    assert_eq!(body["result"]["workno"], "101");
    assert_eq!(body["result"]["serverName"], "AgentGateway");
    // message, retcode, result: the vendor's order.
    assert!(
        reply
            .text
            .starts_with(r#"{"message":"success","retcode":"0","result":{"#)
    );
    let guid = reply.set_guid().expect("Set-GUID");
    let (uuid, node) = guid.split_once('.').expect("<uuid>.<node>");
    assert_eq!(node, "AgentGateway0");
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "4", "a version-4 UUID: {uuid}");

    // A second sign-in of a signed-in agent is the platform's 100-002, and issues nothing.
    c.advance(1_000).await;
    let again = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/101"),
            &[],
            r#"{"password":""}"#,
        )
        .await;
    assert_eq!(again.retcode(), "100-002");
    assert!(again.set_guid().is_none());
}

#[tokio::test]
async fn the_guid_header_is_read_in_any_letter_case_and_checked_per_agent() {
    let c = Client::new(gateway(|_| {}));
    let g101 = c.login(101).await;
    let g102 = c.login(102).await;
    let status = |name: &'static str, guid: String| {
        let c = c.clone();
        async move {
            c.send(
                Method::GET,
                &format!("{BASE}/onlineagent/101/agentstatus"),
                &[(name, guid.as_str())],
                Body::empty(),
            )
            .await
        }
    };
    for name in ["Guid", "guid", "GUID", "gUiD"] {
        let reply = status(name, g101.clone()).await;
        assert_eq!(reply.retcode(), "0", "{name}: {}", reply.text);
        assert_eq!(
            reply.json()["result"],
            json!({"agentState": 4, "isWorking": false})
        );
    }
    // The Set-GUID form of the value is accepted too.
    assert_eq!(
        status("guid", format!("JSESSIONID={g101}")).await.retcode(),
        "0"
    );

    let journaled = c.records().len();
    // Another agent's Guid, a wrong one, none at all: 100-006, and nothing reaches the platform.
    assert_eq!(status("Guid", g102.clone()).await.retcode(), "100-006");
    assert_eq!(status("Guid", "nope".into()).await.retcode(), "100-006");
    let none = c
        .send(
            Method::GET,
            &format!("{BASE}/onlineagent/101/agentstatus"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(none.retcode(), "100-006");
    assert!(none.json()["message"].as_str().unwrap().contains("missing"));
    for reply in [
        c.conf(101, &g102, "requestagentconf", json!({"memberNum": 3}))
            .await,
        c.conf(101, "", "requestagentconf", json!({"memberNum": 3}))
            .await,
        c.poll(101, &g102).await,
    ] {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.retcode(), "100-006", "{}", reply.text);
    }
    assert_eq!(
        c.records().len(),
        journaled,
        "Guid failures are not journaled"
    );

    // The right Guid reaches the platform (and is journaled).
    let ok = c
        .conf(101, &g101, "requestagentconf", json!({"memberNum": 3}))
        .await;
    assert_eq!(ok.retcode(), "0", "{}", ok.text);
    assert_eq!(c.inputs().last().unwrap()["op"], "requestAgentConf");
}

#[tokio::test]
async fn a_path_id_that_is_no_agent_id_is_the_cores_000_002_before_any_guid_check() {
    let c = Client::new(gateway(|_| {}));
    for id in ["abc", "0101", "99", "60000", "%20101"] {
        let reply = c
            .send(
                Method::POST,
                &format!("{BASE}/agentconf/{id}/requestagentconf"),
                &[],
                r#"{"memberNum":3}"#,
            )
            .await;
        assert_eq!(reply.retcode(), "000-002", "{id}: {}", reply.text);
    }
    let agents: Vec<_> = c.inputs().iter().map(|r| r["agentId"].clone()).collect();
    assert_eq!(agents, vec!["abc", "0101", "99", "60000", " 101"]);
}

#[tokio::test]
async fn a_forced_sign_in_replaces_the_guid_and_the_old_one_stops_working() {
    let c = Client::new(gateway(|_| {}));
    let old = c.login(101).await;
    // (A sign-in whose events are still due is "invoked repeatedly", 000-007: wait for them.)
    c.advance(1_000).await;
    let reply = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/101/forcelogin"),
            &[],
            r#"{"password":""}"#,
        )
        .await;
    assert_eq!(reply.retcode(), "0", "{}", reply.text);
    let new = reply.set_guid().expect("a new Guid");
    assert_ne!(new, old);
    assert_eq!(c.poll(101, &old).await.retcode(), "100-006");
    assert_eq!(c.poll(101, &new).await.retcode(), "0");
}

#[tokio::test]
async fn after_a_forced_sign_out_the_guid_polls_until_the_shutdown_event_then_is_refused() {
    let c = Client::new(gateway(|_| {}));
    let guid = c.login(101).await;
    c.advance(1_000).await;
    assert_eq!(
        c.drain(101, &guid).await,
        ["AgentOther_InService", "AgentState_Ready"]
    );
    let out = c
        .send(
            Method::DELETE,
            &format!("{BASE}/onlineagent/101/forcelogout"),
            &[("guid", &guid)],
            Body::empty(),
        )
        .await;
    assert_eq!(out.retcode(), "0", "{}", out.text);
    // Other calls: signed out.
    let status = c
        .send(
            Method::GET,
            &format!("{BASE}/onlineagent/101/agentstatus"),
            &[("guid", &guid)],
            Body::empty(),
        )
        .await;
    assert_eq!(status.retcode(), "100-006");
    // The shutdown event is one latency draw away: the poll waits for it rather than refusing.
    assert_eq!(
        c.poll(101, &guid).await.text,
        r#"{"message":"","retcode":"0"}"#
    );
    c.advance(1_000).await;
    let last = c.poll(101, &guid).await.json();
    assert_eq!(last["event"]["eventType"], "AgentOther_ShutdownService");
    assert_eq!(c.poll(101, &guid).await.retcode(), "100-006");
    assert_eq!(c.poll(101, &guid).await.retcode(), "100-006");
}

#[tokio::test]
async fn after_a_sign_out_the_remaining_events_are_polled_then_100_006() {
    let c = Client::new(gateway(|_| {}));
    let guid = c.login(101).await;
    c.advance(1_000).await;
    let out = c
        .send(
            Method::DELETE,
            &format!("{BASE}/onlineagent/101/logout"),
            &[("guid", &guid)],
            Body::empty(),
        )
        .await;
    assert_eq!(out.retcode(), "0", "{}", out.text);
    assert_eq!(
        c.poll(101, &guid).await.json()["event"]["eventType"],
        "AgentOther_InService"
    );
    assert_eq!(
        c.poll(101, &guid).await.json()["event"]["eventType"],
        "AgentState_Ready"
    );
    assert_eq!(c.poll(101, &guid).await.retcode(), "100-006");
    // And the agent may sign in again.
    let again = c.login(101).await;
    assert_ne!(again, guid);
}

#[tokio::test]
async fn update_guid_and_heartbeat_answer_from_the_session() {
    let c = Client::new(gateway(|_| {}));
    let guid = c.login(101).await;
    let reply = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/101/updateGuid"),
            &[("guid", &guid)],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.retcode(), "0");
    let new = reply.json()["result"]["guid"].as_str().unwrap().to_owned();
    assert_eq!(reply.set_guid().as_deref(), Some(new.as_str()));
    assert_ne!(new, guid);
    let heartbeat = c
        .send(
            Method::PUT,
            &format!("{BASE}/onlineagent/101/heartbeat"),
            &[("guid", &new)],
            Body::empty(),
        )
        .await;
    assert_eq!(heartbeat.retcode(), "0");
    assert_eq!(heartbeat.json()["result"]["loginTime"], "1767603600000");
    // updateGuid and heartbeat are the gateway's: nothing journaled but the sign-in.
    assert_eq!(c.inputs().len(), 1);
}

#[tokio::test]
async fn a_roster_password_is_checked_by_the_platform() {
    let c = Client::new(gateway(|config| {
        let (platform, agents) = confsim_gateway::parse_platform_file(
            r#"{"platform": {"signIn": "roster"}, "agents": [{"ids": "101-102", "password": "s3cret"}]}"#,
            std::path::Path::new("p.json"),
        )
        .unwrap();
        config.platform = platform;
        config.agents = agents;
    }));
    let sign_in = |agent: u32, password: &'static str| {
        let c = c.clone();
        async move {
            c.send(
                Method::PUT,
                &format!("{BASE}/onlineagent/{agent}"),
                &[],
                json!({ "password": password }).to_string(),
            )
            .await
            .retcode()
        }
    };
    assert_eq!(sign_in(101, "wrong").await, "100-004");
    assert_eq!(sign_in(103, "s3cret").await, "100-004");
    assert_eq!(sign_in(101, "s3cret").await, "0");
}

#[tokio::test]
async fn dynamic_guids_rotate_on_the_poll_and_the_old_one_has_a_grace_window() {
    let c = Client::new(gateway(|config| {
        config.guid = GuidPolicy {
            mode: GuidMode::Dynamic,
            ..GuidPolicy::default()
        };
    }));
    let first = c.login(101).await;
    c.advance(59_000).await;
    assert!(
        c.poll(101, &first).await.set_guid().is_none(),
        "not due yet"
    );
    c.advance(1_000).await;
    let poll = c.poll(101, &first).await;
    let second = poll.set_guid().expect("rotated at 60 s, on the poll");
    assert_ne!(second, first);
    // The replaced Guid works for the grace window (timeout - interval = 60 s), and a client
    // still sending it is told the current one.
    c.advance(59_999).await;
    let late = c.poll(101, &first).await;
    assert_eq!(late.retcode(), "0", "{}", late.text);
    assert_eq!(late.set_guid().as_deref(), Some(second.as_str()));
    c.advance(1).await;
    assert_eq!(c.poll(101, &first).await.retcode(), "100-006");
    // The second Guid is now 60 s old: the next poll rotates again.
    let third = c
        .poll(101, &second)
        .await
        .set_guid()
        .expect("rotated again");
    assert_ne!(third, second);
}

#[test]
fn the_grace_window_is_the_timeout_less_the_interval() {
    let policy = GuidPolicy::default();
    assert_eq!(policy.grace(), SimDuration::from_secs(60));
    assert_eq!(policy.mode, GuidMode::Static);
}
