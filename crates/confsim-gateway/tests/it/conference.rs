//! A whole conference over HTTP on the manual clock: apply with the seed's example body, poll
//! the documented events in order, invite and answer, the warning at its minute, release.

use crate::support::{Client, MINUTE, gateway};
use serde_json::{Value, json};

/// The vendor's example body (agentgateway.md §5.1, the seed page).
fn seed_body() -> Value {
    json!({"memberNum":4,"confCallerNo":"10000","time":50,"promptTime":5,"beepTone":true,"playMode":2,"voicePath":"y:/conf/120/1136287.V3"})
}

#[tokio::test]
async fn apply_invite_answer_warn_and_release() {
    // A 45-minute silence would sign the agents out (§2.3); this test is about the conference.
    let c = Client::new(gateway(|config| config.inactivity = None));
    let chair = c.login(101).await;
    let member = c.login(102).await;
    c.advance(1_000).await;
    assert_eq!(
        c.drain(101, &chair).await,
        ["AgentOther_InService", "AgentState_Ready"]
    );
    assert_eq!(
        c.drain(102, &member).await,
        ["AgentOther_InService", "AgentState_Ready"]
    );

    let apply = c.conf(101, &chair, "requestagentconf", seed_body()).await;
    assert_eq!(
        apply.text,
        r#"{"message":"success","retcode":"0","result":{}}"#
    );
    c.advance(1_000).await;
    let events = c.drain_events(101, &chair).await;
    let types: Vec<_> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "AgentState_Busy",
            "AgentOther_PhoneAlerting",
            "AgentOther_PhoneOffhook",
            "AgentConf_SelfJoinResult",
            "AgentConf_RequestSuccess"
        ]
    );
    let success = events.last().unwrap();
    let conf_id = success["content"]["confId"]
        .as_u64()
        .expect("a numeric confId");
    assert_eq!(success["workNo"], "101");
    let t0 = success["eventGenTime"]
        .as_i64()
        .expect("eventGenTime in epoch ms");
    // Each event carries its own instant, in order.
    let times: Vec<i64> = events
        .iter()
        .map(|e| e["eventGenTime"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // Invite agent 102; it rings; it answers; both hear about it.
    let invite = c
        .conf(
            101,
            &chair,
            "batchaddparticipant",
            json!({"addresses": [{"addressType": "9", "address": "102"}]}),
        )
        .await;
    assert_eq!(invite.retcode(), "0", "{}", invite.text);
    c.advance(1_000).await;
    let ringing = c.drain_events(102, &member).await;
    assert_eq!(ringing.len(), 1);
    assert_eq!(ringing[0]["eventType"], "AgentConf_Ringing");
    assert_eq!(ringing[0]["content"]["confId"], conf_id);
    let answer = c.conf(102, &member, "answeragentconf", Value::Null).await;
    assert_eq!(answer.retcode(), "0", "{}", answer.text);
    c.advance(1_000).await;
    assert_eq!(c.drain(102, &member).await, ["AgentConf_SelfJoinResult"]);
    let joined = c.drain_events(101, &chair).await;
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0]["eventType"], "AgentConf_ParticipantChanged");
    assert_eq!(joined[0]["content"]["changeType"], 0);
    assert_eq!(joined[0]["content"]["participant"], "102");

    // The member is not the chair.
    let not_chair = c
        .conf(102, &member, "prolongtime", json!({"prolongTime": 5}))
        .await;
    assert_eq!(not_chair.retcode(), "101-002");

    // The warning comes at exactly t0 + (50 - 5) minutes.
    let now = c.gateway.now().as_unix_ms();
    let warn_at = t0 + 45 * MINUTE as i64;
    c.advance((warn_at - now - 1) as u64).await;
    assert!(
        c.drain(101, &chair).await.is_empty(),
        "not a millisecond early"
    );
    c.advance(1).await;
    let warning = c.drain_events(101, &chair).await;
    assert_eq!(warning.len(), 1);
    assert_eq!(warning[0]["eventType"], "AgentConf_Timeout");
    assert_eq!(warning[0]["content"]["confId"], conf_id);
    assert_eq!(warning[0]["eventGenTime"], warn_at);

    // The inspector's view and the chair's: one conference, two members.
    let info = c
        .conf(101, &chair, "queryconfinfos", json!({"confIds": [conf_id]}))
        .await;
    assert_eq!(info.retcode(), "0", "{}", info.text);

    // Release: every agent member gets PhoneRelease, SelfLeaveResult, Ready.
    let release = c.conf(101, &chair, "releaseagentconf", Value::Null).await;
    assert_eq!(release.retcode(), "0", "{}", release.text);
    c.advance(1_000).await;
    let left = [
        "AgentOther_PhoneRelease",
        "AgentConf_SelfLeaveResult",
        "AgentState_Ready",
    ];
    assert_eq!(c.drain(101, &chair).await, left);
    let member_events = c.drain(102, &member).await;
    assert_eq!(
        member_events.last().map(String::as_str),
        Some("AgentState_Ready")
    );
    assert!(member_events.contains(&"AgentConf_SelfLeaveResult".to_owned()));

    // A chair operation after the release: no conference.
    let after = c.conf(101, &chair, "releaseagentconf", Value::Null).await;
    assert_eq!(after.retcode(), "101-001");
}

#[tokio::test]
async fn a_conference_ends_by_itself_when_the_clock_reaches_its_end() {
    let c = Client::new(gateway(|config| {
        config.inactivity = None;
        config.platform.latency.min_ms = 0;
        config.platform.latency.max_ms = 0;
    }));
    let chair = c.login(101).await;
    c.advance(0).await;
    c.drain(101, &chair).await;
    let apply = c
        .conf(
            101,
            &chair,
            "requestagentconf",
            json!({"memberNum": 2, "time": 4}),
        )
        .await;
    assert_eq!(apply.retcode(), "0");
    // Zero latency: the whole success sequence is queued before the answer returned.
    assert_eq!(c.drain(101, &chair).await.len(), 5);
    c.advance(4 * MINUTE).await;
    assert_eq!(
        c.drain(101, &chair).await,
        [
            "AgentConf_Timeout",
            "AgentOther_PhoneRelease",
            "AgentConf_SelfLeaveResult",
            "AgentState_Ready"
        ]
    );
}
