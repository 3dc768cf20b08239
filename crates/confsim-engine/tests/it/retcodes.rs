//! The order of the synchronous checks of `requestAgentConf` (product.md §7.1): path id
//! (`000-002`), signed in (`100-006`), body (`000-002`), not already in or applying for a
//! conference (`101-003`). Each test makes a later check fail too, to show the earlier one wins.

use crate::support::*;
use confsim_core::{AgentGroup, AgentState, Op, PlatformConfig, Record};
use serde_json::{Value, json};

/// A body every check accepts.
fn valid() -> Value {
    json!({ "memberNum": 4 })
}

/// A body refused for its memberNum.
fn invalid() -> Value {
    json!({ "memberNum": 0 })
}

/// Given 101 idle and signed in, 102 on the roster but signed out; 103 is not on the roster.
fn roster() -> Vec<AgentGroup> {
    let mut out = idle(&[102]);
    out.signed_in = false;
    vec![idle(&[101]), out]
}

#[test]
fn a_bad_path_id_is_000_002_whatever_the_body() {
    for path in ["abc", "0101", "100", "60000", "", "+101", "101 ", "1e3"] {
        for body in [valid(), invalid(), json!("not even an object")] {
            let mut sim = Sim::new(zero_latency(), roster());
            let response = sim.submit(Op::RequestAgentConf, path, body.clone());
            assert_rejected(&response, "000-002", "agent id");
            assert!(
                response.message.contains(&format!("{path:?}")),
                "{path:?} {body}: {}",
                response.message
            );
            sim.settle();
            assert_eq!(sim.events(), vec![], "{path:?}");
        }
    }
}

#[test]
fn the_path_id_bounds_are_those_of_the_default_range() {
    // 101 and 59999 are ids; 100 and 60000 are not (checked above), whatever the roster.
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101, 59_999])]);
    assert_success(&sim.request(101, valid()), json!({}));
    assert_success(&sim.request(59_999, valid()), json!({}));
}

#[test]
fn a_bad_path_id_comes_before_signed_in_for_every_operation() {
    // 60000 is out of range and not signed in: the path check comes first.
    for op in [Op::RequestAgentConf, Op::ReleaseAgentConf, Op::ProlongTime] {
        let mut sim = Sim::new(zero_latency(), roster());
        assert_rejected(&sim.submit(op, "60000", Value::Null), "000-002", "agent id");
        assert_rejected(&sim.submit(op, "x", Value::Null), "000-002", "agent id");
    }
}

#[test]
fn not_signed_in_is_100_006_even_with_an_invalid_body() {
    for agent in ["102", "103"] {
        for body in [valid(), invalid(), json!([1])] {
            let mut sim = Sim::new(zero_latency(), roster());
            let response = sim.submit(Op::RequestAgentConf, agent, body.clone());
            assert_rejected(&response, "100-006", "not signed in");
            sim.settle();
            assert_eq!(sim.events(), vec![], "agent {agent}, {body}");
        }
    }
}

#[test]
fn not_signed_in_is_100_006_for_release_and_prolong() {
    for agent in ["102", "103"] {
        let mut sim = Sim::new(zero_latency(), roster());
        assert_rejected(
            &sim.submit(Op::ReleaseAgentConf, agent, Value::Null),
            "100-006",
            "not signed in",
        );
        assert_rejected(
            &sim.submit(Op::ProlongTime, agent, json!({ "prolongTime": 0 })),
            "100-006",
            "not signed in",
        );
    }
}

#[test]
fn an_invalid_body_is_000_002_even_when_already_in_a_conference() {
    // Given 101 chairing an active conference,
    let mut sim = Sim::new(zero_latency(), roster());
    assert_success(&sim.request(101, valid()), json!({}));
    sim.settle();
    assert!(
        sim.platform()
            .conference(sim.conf_of(101).unwrap())
            .unwrap()
            .is_active()
    );
    // when it applies again with an invalid body, then the body check wins,
    assert_rejected(&sim.request(101, invalid()), "000-002", "memberNum");
    // and with a valid one it is 101-003.
    assert_rejected(&sim.request(101, valid()), "101-003", "already");
}

#[test]
fn applying_twice_before_success_is_101_003() {
    // Given a platform with latency: the first application is still under way 5 ms later.
    let mut sim = Sim::new(latency(10, 100), roster());
    assert_success(
        &sim.submit_at(0, Op::RequestAgentConf, "101", valid()),
        json!({}),
    );
    let conf = sim.conf_of(101).unwrap();
    let response = sim.submit_at(5, Op::RequestAgentConf, "101", valid());
    assert_rejected(&response, "101-003", &conf.to_string());
    // And with an invalid body, 000-002 still comes first.
    assert_rejected(
        &sim.submit_at(6, Op::RequestAgentConf, "101", invalid()),
        "000-002",
        "memberNum",
    );
    // The refused inputs changed nothing: one conference, one success sequence.
    sim.drain();
    let successes = sim
        .events()
        .iter()
        .filter(|e| e.1 == "AgentConf_RequestSuccess")
        .count();
    assert_eq!(successes, 1);
}

#[test]
fn applying_at_the_same_instant_with_zero_latency_is_101_003() {
    // With zero latency the sequence is due at once but has not fired until time is stepped.
    let mut sim = Sim::new(zero_latency(), roster());
    assert_success(&sim.request(101, valid()), json!({}));
    assert_rejected(&sim.request(101, valid()), "101-003", "already");
}

#[test]
fn applying_while_the_release_is_under_way_is_101_003() {
    let mut sim = Sim::new(latency(10, 10), roster());
    sim.request(101, valid());
    sim.advance_to(MIN);
    assert_success(&sim.release(101), json!({}));
    // The release completes 10 ms later; until then the agent is still in the conference.
    assert_rejected(
        &sim.submit_at(MIN + 5, Op::RequestAgentConf, "101", valid()),
        "101-003",
        "already",
    );
    // Once released it may apply again.
    assert_success(
        &sim.submit_at(MIN + 10, Op::RequestAgentConf, "101", valid()),
        json!({}),
    );
}

#[test]
fn after_an_asynchronous_failure_the_agent_may_apply_again() {
    // Given a VDN of 2 concurrent calls, an application for 3 fails asynchronously,
    let mut platform = zero_latency();
    platform.vdn.max_concurrent_calls = 2;
    let mut sim = Sim::new(platform, roster());
    assert_success(&sim.request(101, json!({ "memberNum": 3 })), json!({}));
    sim.settle();
    assert_eq!(sim.conf_of(101), None);
    // then a second one is not 101-003.
    assert_success(&sim.request(101, json!({ "memberNum": 2 })), json!({}));
}

#[test]
fn the_agent_id_range_is_configurable() {
    // Given "agentIdRange": "101-999999" and agent 999999 on the roster,
    let platform: PlatformConfig = serde_json::from_value(json!({
        "agentIdRange": "101-999999", "latency": { "minMs": 0, "maxMs": 0 }
    }))
    .unwrap();
    let mut sim = Sim::new(platform, vec![idle(&[999_999])]);
    // then 999999 may apply, and 1000000 is still out of range.
    assert_success(&sim.request(999_999, valid()), json!({}));
    assert_rejected(
        &sim.submit(Op::RequestAgentConf, "1000000", valid()),
        "000-002",
        "agent id",
    );
    sim.settle();
    assert_eq!(
        sim.events_of(999_999).last().map(|e| e.1),
        Some("AgentConf_RequestSuccess")
    );
}

#[test]
fn with_the_default_range_999999_is_000_002() {
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101])]);
    assert_rejected(
        &sim.submit(Op::RequestAgentConf, "999999", valid()),
        "000-002",
        "agent id",
    );
}

#[test]
fn a_success_answers_exactly_retcode_0_message_success_result_empty() {
    let mut sim = Sim::new(zero_latency(), roster());
    let response = sim.request(101, valid());
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({ "retcode": "0", "message": "success", "result": {} })
    );
}

#[test]
fn every_input_is_journaled_with_its_response_refused_or_not() {
    let mut sim = Sim::new(zero_latency(), roster());
    let answers = [
        sim.submit(Op::RequestAgentConf, "abc", valid()),
        sim.submit(Op::RequestAgentConf, "102", valid()),
        sim.submit(Op::RequestAgentConf, "101", invalid()),
        sim.submit(Op::RequestAgentConf, "101", valid()),
        sim.submit(Op::RequestAgentConf, "101", valid()),
    ];
    let (_, records) = sim.read_back();
    let journaled: Vec<_> = records
        .iter()
        .map(|s| match &s.record {
            Record::Input(i) => (s.seq, i.agent.to_string(), i.response.clone()),
            Record::Event(e) => panic!("no event before time is stepped: {e:?}"),
        })
        .collect();
    let expected: Vec<_> = ["abc", "102", "101", "101", "101"]
        .iter()
        .zip(answers)
        .enumerate()
        .map(|(i, (agent, r))| (i as u64 + 1, (*agent).to_owned(), r))
        .collect();
    assert_eq!(journaled, expected);
    assert_eq!(
        expected.iter().map(|e| &*e.2.retcode).collect::<Vec<_>>(),
        ["000-002", "100-006", "000-002", "0", "101-003"]
    );
}

#[test]
fn signed_out_talking_agents_are_still_100_006() {
    // signedIn false wins over any state.
    let mut group = agents(&[101], AgentState::Talking);
    group.signed_in = false;
    let mut sim = Sim::new(zero_latency(), vec![group]);
    assert_rejected(&sim.request(101, valid()), "100-006", "not signed in");
}
