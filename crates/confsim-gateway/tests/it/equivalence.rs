//! The architecture invariant: an HTTP session and a scenario that make the same inputs at the
//! same simulated times journal the same bytes. The scenario is named `serve`, the name the
//! gateway writes in its header, so the whole files are compared, header included; what the
//! gateway refuses itself (a wrong Guid) is in neither. And the session's journal, reported after
//! the fact (`confsim report`), gives the run's report.

use crate::support::{BASE, Client, gateway};
use axum::body::Body;
use axum::http::Method;
use confsim_scenario::{RunOptions, run};
use serde_json::{Value, json};
use std::path::Path;

/// The inputs: (offset ms, agent as typed, op, action path, body). An action starting with
/// `/` is an `/onlineagent/{agentid}` suffix taking no body: the body is what the gateway
/// makes of its parameters, which the scenario step gives.
fn script() -> Vec<(u64, &'static str, &'static str, &'static str, Value)> {
    let seed_body = json!({"memberNum":4,"confCallerNo":"10000","time":50,"promptTime":5,"beepTone":true,"playMode":2,"voicePath":"y:/conf/120/1136287.V3"});
    vec![
        (
            0,
            "101",
            "login",
            "",
            json!({"password": "", "status": "4"}),
        ),
        (0, "102", "login", "", json!({"password": "x", "status": 4})),
        (
            1_000,
            "101",
            "requestAgentConf",
            "requestagentconf",
            seed_body,
        ),
        (
            2_000,
            "abc",
            "requestAgentConf",
            "requestagentconf",
            json!({"memberNum": 2}),
        ),
        (
            3_000,
            "101",
            "batchAddParticipant",
            "batchaddparticipant",
            json!({"addresses": [{"addressType": "9", "address": "102"}, {"addressType": "6", "address": "88001"}]}),
        ),
        (
            5_000,
            "102",
            "answerAgentConf",
            "answeragentconf",
            Value::Null,
        ),
        (
            7_000,
            "102",
            "prolongTime",
            "prolongtime",
            json!({"prolongTime": 10}),
        ),
        (
            605_000,
            "101",
            "prolongTime",
            "prolongtime",
            json!({"prolongTime": 10}),
        ),
        (
            606_000,
            "101",
            "queryConfInfos",
            "queryconfinfos",
            json!({"confIds": [1030400]}),
        ),
        (
            607_000,
            "101",
            "requestAgentConf",
            "requestagentconf",
            json!({"memberNum": "4"}),
        ),
        (
            3_400_000,
            "101",
            "releaseAgentConf",
            "releaseagentconf",
            Value::Null,
        ),
        (
            3_410_000,
            "101",
            "sayBusy",
            "/saybusy?reason=205",
            json!({"reason": 205}),
        ),
        (
            3_420_000,
            "101",
            "rest",
            "/rest/60/2",
            json!({"time": 60, "reason": 2}),
        ),
        (
            3_430_000,
            "101",
            "resetSkill",
            "/resetskill/TRUE",
            json!({"auto": true}),
        ),
        (
            3_440_000,
            "101",
            "queryAgentSkills",
            "/agentskills",
            Value::Null,
        ),
        (3_490_000, "101", "cancelRest", "/cancelrest", Value::Null),
        (3_500_000, "102", "logout", "", Value::Null),
    ]
}

const UNTIL_MS: u64 = 3_600_000;

#[tokio::test]
async fn an_http_session_journals_exactly_what_the_same_scenario_does() {
    let c = Client::new(gateway(|config| config.inactivity = None));
    let mut guids = std::collections::HashMap::new();
    let mut now = 0u64;
    for (at, agent, op, action, body) in script() {
        if at > now {
            c.advance(at - now).await;
            now = at;
        }
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let reply = match op {
            "login" => {
                let reply = c
                    .send(
                        Method::PUT,
                        &format!("{BASE}/onlineagent/{agent}"),
                        &[],
                        text,
                    )
                    .await;
                guids.insert(agent, reply.set_guid().expect("signed in"));
                reply
            }
            "logout" => {
                c.send(
                    Method::DELETE,
                    &format!("{BASE}/onlineagent/{agent}/logout"),
                    &[("Guid", &guids[agent])],
                    Body::empty(),
                )
                .await
            }
            _ if action.starts_with('/') => {
                let method = if action == "/agentskills" {
                    Method::GET
                } else {
                    Method::POST
                };
                c.send(
                    method,
                    &format!("{BASE}/onlineagent/{agent}{action}"),
                    &[("Guid", &guids[agent])],
                    Body::empty(),
                )
                .await
            }
            _ => {
                let guid = guids.get(agent).cloned().unwrap_or_default();
                c.send(
                    Method::POST,
                    &format!("{BASE}/agentconf/{agent}/{action}"),
                    &[("Guid", &guid)],
                    text,
                )
                .await
            }
        };
        assert_eq!(reply.status, 200, "{op}: {}", reply.text);
        // A wrong Guid along the way: answered, not journaled, so not in the scenario.
        let stray = c
            .conf(101, "not-a-guid", "releaseagentconf", Value::Null)
            .await;
        assert_eq!(stray.retcode(), "100-006");
        // Polling does not touch the journal either.
        if let Some(guid) = guids.get("101") {
            c.poll(101, guid).await;
        }
    }
    c.advance(UNTIL_MS - now).await;
    let http = c.gateway.journal_bytes().expect("in memory");

    let steps: Vec<Value> = script()
        .into_iter()
        .map(|(at, agent, op, _, body)| {
            let mut step = json!({ "at": at, "agent": agent, "op": op });
            if !body.is_null() {
                step["body"] = body;
            }
            step
        })
        .collect();
    let scenario = json!({ "name": "serve", "steps": steps, "until": UNTIL_MS });
    let scenario = confsim_scenario::parse(&scenario.to_string(), Path::new("equivalent.json"))
        .expect("a valid scenario");
    let (report, scripted) = run(&scenario, &RunOptions::default(), Vec::new()).expect("the run");

    let http_text = String::from_utf8_lossy(&http);
    let scripted_text = String::from_utf8_lossy(&scripted);
    for (i, (a, b)) in http_text.lines().zip(scripted_text.lines()).enumerate() {
        assert_eq!(a, b, "line {} differs", i + 1);
    }
    assert_eq!(http_text.lines().count(), scripted_text.lines().count());
    assert_eq!(http, scripted, "byte for byte");
    // And it was a real session: a conference with a member, prolonged, warned, released.
    for event in [
        "AgentConf_RequestSuccess",
        "AgentConf_Ringing",
        "AgentConf_Timeout",
        "AgentConf_SelfLeaveResult",
        "AgentState_SetNotReady_Success",
        "AgentState_Rest_Timeout",
        "AgentState_CancelRest_Success",
    ] {
        assert!(
            report.counts.contains_key(event),
            "{event} in {:?}",
            report.counts
        );
    }
    assert!(report.retcodes.contains_key("000-002"));
    assert!(report.retcodes.contains_key("101-002"));

    // The session's journal reports, after the fact, what the scenario's run reported.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("session.jsonl");
    std::fs::write(&file, &http).expect("the journal written");
    let after = confsim_scenario::report_journal(&file).expect("a report of the session");
    assert!(after.torn.is_none() && after.state_stopped.is_none());
    // A session's journal replays byte for byte, so its report is the replay's.
    assert_eq!(after.derived, confsim_scenario::Derived::Replay);
    let r = &after.report;
    assert_eq!(r.digest, report.digest);
    assert_eq!((r.inputs, r.events), (report.inputs, report.events));
    assert_eq!(r.counts, report.counts);
    assert_eq!(r.retcodes, report.retcodes);
    assert_eq!(r.latency_ms, report.latency_ms);
    assert_eq!(
        r.active_conferences_at_end,
        report.active_conferences_at_end
    );
}
