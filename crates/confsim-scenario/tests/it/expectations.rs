//! Every kind of expectation, holding and failing, with what the report says was seen.

use confsim_scenario::{Report, RunOptions, run};
use std::path::Path;

/// Agent 101 applies at 0s for a 10-minute conference warned 3 minutes before its end, with
/// no latency: success at 0s, AgentConf_Timeout at exactly 7m, the end at exactly 10m.
/// Agent 102 is not signed in and gets 100-006. `expect` is the scenario's list.
fn run_with(expect: &str) -> Report {
    let text = format!(
        r#"{{"name": "expect", "platform": {{"latency": {{"minMs": 0, "maxMs": 0}}}},
        "agents": [{{"ids": [101]}}, {{"ids": [102], "signedIn": false}}],
        "steps": [
          {{"at": "0s", "agent": 101, "op": "requestAgentConf", "body": {{"memberNum": 4, "time": 10, "promptTime": 3}}}},
          {{"at": "0s", "agent": 102, "op": "requestAgentConf", "body": {{"memberNum": 4}}}}
        ],
        "expect": [{expect}]}}"#
    );
    let scenario = confsim_scenario::parse(&text, Path::new("s.json")).unwrap();
    run(&scenario, &RunOptions::default(), std::io::sink())
        .unwrap()
        .0
}

/// The single expectation's verdict: ok, and the detail.
fn verdict(expect: &str) -> (bool, String) {
    let report = run_with(expect);
    assert_eq!(report.expectations.len(), 1);
    assert_eq!(report.ok, report.expectations[0].ok);
    let v = &report.expectations[0];
    (v.ok, v.detail.clone())
}

#[test]
fn a_sequence_holds_with_other_events_between_and_fails_naming_what_is_missing() {
    let (ok, detail) = verdict(
        r#"{"agent": 101, "sequence": ["AgentState_Busy", "AgentConf_RequestSuccess", "AgentConf_Timeout", "AgentState_Ready"]}"#,
    );
    assert!(ok);
    assert_eq!(detail, "all 4 events in order, the last at +10m");

    let (ok, detail) =
        verdict(r#"{"agent": 101, "sequence": ["AgentConf_RequestSuccess", "AgentState_Busy"]}"#);
    assert!(!ok);
    assert!(
        detail.starts_with(
            "matched 1 of 2; missing AgentState_Busy after AgentConf_RequestSuccess; agent 101 received [AgentState_Busy, AgentOther_PhoneAlerting"
        ),
        "{detail}"
    );

    let (ok, detail) = verdict(r#"{"agent": 102, "sequence": ["AgentState_Busy"]}"#);
    assert!(!ok);
    assert_eq!(
        detail,
        "matched 0 of 1; missing AgentState_Busy; agent 102 received []"
    );
}

#[test]
fn an_event_holds_within_its_tolerance_and_fails_showing_when_it_came() {
    let (ok, detail) = verdict(r#"{"agent": 101, "event": "AgentConf_Timeout", "at": "7m"}"#);
    assert!(ok);
    assert_eq!(detail, "received at +7m (2026-01-05T09:07:00.000Z)");

    let (ok, _) = verdict(
        r#"{"agent": 101, "event": "AgentConf_Timeout", "at": "7m1s", "toleranceMs": 1000}"#,
    );
    assert!(ok);

    let (ok, detail) = verdict(
        r#"{"agent": 101, "event": "AgentConf_Timeout", "at": "7m1s", "toleranceMs": 999}"#,
    );
    assert!(!ok);
    assert_eq!(detail, "received at [+7m], none within 999 ms of +7m1s");

    let (ok, detail) = verdict(r#"{"agent": 102, "event": "AgentConf_Timeout", "at": "7m"}"#);
    assert!(!ok);
    assert_eq!(detail, "agent 102 never received AgentConf_Timeout");
}

#[test]
fn counts_hold_against_equals_min_and_max() {
    for (expect, ok) in [
        (r#"{"count": "AgentConf_Timeout", "equals": 1}"#, true),
        (r#"{"count": "AgentConf_Timeout", "equals": 2}"#, false),
        (
            r#"{"count": "AgentConf_Timeout", "min": 1, "max": 1}"#,
            true,
        ),
        (r#"{"count": "AgentConf_Timeout", "min": 2}"#, false),
        (r#"{"count": "AgentConf_RequestFailed", "max": 0}"#, true),
        (r#"{"count": "AgentState_Ready", "max": 0}"#, false),
    ] {
        let (got, detail) = verdict(expect);
        assert_eq!(got, ok, "{expect}: {detail}");
        assert!(detail.starts_with("saw "), "{detail}");
    }
    assert_eq!(
        verdict(r#"{"count": "AgentState_Ready", "max": 0}"#).1,
        "saw 1"
    );
}

#[test]
fn retcode_counts_hold_or_fail_with_what_was_seen() {
    assert_eq!(
        verdict(r#"{"retcode": "100-006", "equals": 1}"#),
        (true, "saw 1".to_owned())
    );
    assert_eq!(
        verdict(r#"{"retcode": "0", "min": 2}"#),
        (false, "saw 1".to_owned())
    );
    assert_eq!(
        verdict(r#"{"retcode": "000-002", "equals": 0}"#),
        (true, "saw 0".to_owned())
    );
}

#[test]
fn the_report_lists_every_expectation_in_order_and_fails_if_any_fails() {
    let report = run_with(
        r#"{"retcode": "0", "equals": 1}, {"count": "AgentConf_Timeout", "equals": 5}, {"agent": 101, "sequence": ["AgentState_Ready"]}"#,
    );
    let oks: Vec<bool> = report.expectations.iter().map(|v| v.ok).collect();
    assert_eq!(oks, [true, false, true]);
    assert!(!report.ok);
    assert_eq!(
        report.expectations[1].expect,
        serde_json::json!({"count": "AgentConf_Timeout", "equals": 5})
    );
    let human = report.human(&["a".to_owned(), "b".to_owned(), "c".to_owned()]);
    assert!(human.contains("expectations: 2 of 3 hold"), "{human}");
    assert!(human.contains("FAIL  b: saw 1"), "{human}");
}
