//! The asynchronous part of `requestAgentConf` (product.md §7.2, §7.3): the success sequences
//! from idle and from a stable call, with zero latency and with latency, and the platform's
//! asynchronous refusals, each a single `AgentConf_RequestFailed`.

use crate::support::*;
use confsim_core::causes;
use confsim_core::state::Address;
use confsim_core::{AgentGroup, AgentId, AgentState, ConfId, Op, PlatformConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn conf_json(conf: ConfId) -> Value {
    json!({ "confId": conf.0 })
}

/// The success sequence from idle, all at `at_ms`.
fn idle_sequence(at_ms: i64, agent: u32, conf: ConfId) -> Vec<Ev> {
    vec![
        ev(at_ms, "AgentState_Busy", agent, Value::Null),
        ev(at_ms, "AgentOther_PhoneAlerting", agent, Value::Null),
        ev(
            at_ms,
            "AgentOther_PhoneOffhook",
            agent,
            json!({ "type": "main" }),
        ),
        ev(at_ms, "AgentConf_SelfJoinResult", agent, conf_json(conf)),
        ev(at_ms, "AgentConf_RequestSuccess", agent, conf_json(conf)),
    ]
}

#[test]
fn from_idle_with_zero_latency_the_whole_sequence_happens_at_the_request() {
    // Given idle agent 101 and zero latency,
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101])]);
    // when it applies 1.5 s after the start,
    let response = sim.submit_at(
        1_500,
        Op::RequestAgentConf,
        "101",
        json!({ "memberNum": 4 }),
    );
    assert_success(&response, json!({}));
    let conf = sim.conf_of(101).expect("applying");
    // then nothing has happened before time is stepped,
    assert_eq!(sim.events(), vec![]);
    // and stepping the same instant gives exactly the five events, in order, at 1.5 s.
    sim.settle();
    assert_eq!(sim.events(), idle_sequence(1_500, 101, conf));
    // The agent is talking, chairs the conference and is its only member.
    let agent = sim.platform().agent(AgentId(101)).unwrap();
    assert_eq!((agent.state, agent.conf), (AgentState::Talking, Some(conf)));
    let c = sim.platform().conference(conf).unwrap();
    assert_eq!(c.chair, AgentId(101));
    assert!(c.is_active());
    assert_eq!(
        c.members
            .iter()
            .map(|m| (m.address.clone(), offset(m.enter_time)))
            .collect::<Vec<_>>(),
        vec![(Address::Agent(AgentId(101)), 1_500)]
    );
}

#[test]
fn from_idle_with_latency_each_event_follows_the_previous_by_a_draw() {
    // Given latency uniform in [10, 100] ms,
    let platform = latency(10, 100);
    let cfg = platform.latency;
    for seed in [1, 2, 3, 42] {
        let mut sim = Sim::with_seed(seed, platform.clone(), vec![idle(&[101])]);
        sim.submit_at(
            1_000,
            Op::RequestAgentConf,
            "101",
            json!({ "memberNum": 4 }),
        );
        let conf = sim.conf_of(101).unwrap();
        sim.advance_to(MIN);
        let events = sim.events();
        // then the same five events in order,
        let types: Vec<&str> = events.iter().map(|e| e.1).collect();
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
        // each strictly after the previous (the request first) by the k-th draw of the
        // conference, which lies within [min, max].
        let mut previous = 1_000;
        for (k, e) in events.iter().enumerate() {
            let draw = sim.platform().draws().latency_ms(&cfg, conf, k as u32);
            assert!((10..=100).contains(&draw), "draw {k} = {draw}");
            assert_eq!(e.0, previous + draw as i64, "seed {seed}, event {k}");
            assert!(e.0 > previous);
            previous = e.0;
        }
        // Contents are exactly the vendor's shapes.
        let shapes: Vec<Value> = events.iter().map(|e| e.3.clone()).collect();
        assert_eq!(
            shapes,
            [
                Value::Null,
                Value::Null,
                json!({ "type": "main" }),
                conf_json(conf),
                conf_json(conf)
            ]
        );
    }
}

#[test]
fn the_conference_starts_at_request_success_not_at_the_request() {
    // With latency, t0 is the RequestSuccess event: the warning and the end count from it.
    let mut sim = Sim::new(latency(10, 100), vec![idle(&[101])]);
    sim.submit_at(
        0,
        Op::RequestAgentConf,
        "101",
        json!({ "memberNum": 4, "time": 10 }),
    );
    let conf = sim.conf_of(101).unwrap();
    sim.advance_to(MIN);
    let t0 = sim.events().last().unwrap().0;
    assert!((50..=500).contains(&t0), "five draws of 10-100 ms: {t0}");
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(t0 + 7 * MIN), confsim_core::Timer::Warn(conf)),
            (t(t0 + 10 * MIN), confsim_core::Timer::End(conf)),
        ]
    );
}

/// A talking agent in a stable two-party call.
fn talking(ids: &[u32]) -> AgentGroup {
    agents(ids, AgentState::Talking)
}

#[test]
fn from_a_stable_call_the_leg_joins_and_the_peer_becomes_a_member() {
    // Given 2001 talking (default peer) and 2002 talking with a given peer,
    let mut with_peer = talking(&[2002]);
    with_peer.peer = Some("13800000000".to_owned());
    let mut sim = Sim::new(zero_latency(), vec![talking(&[2001]), with_peer]);
    // when both apply,
    sim.submit_at(
        2_000,
        Op::RequestAgentConf,
        "2001",
        json!({ "memberNum": 4 }),
    );
    sim.submit_at(
        2_000,
        Op::RequestAgentConf,
        "2002",
        json!({ "memberNum": 4 }),
    );
    let (c1, c2) = (sim.conf_of(2001).unwrap(), sim.conf_of(2002).unwrap());
    sim.settle();
    // then each gets exactly SelfJoinResult and RequestSuccess (no Busy, no ringing),
    for (agent, conf) in [(2001, c1), (2002, c2)] {
        assert_eq!(
            sim.events_of(agent),
            vec![
                ev(2_000, "AgentConf_SelfJoinResult", agent, conf_json(conf)),
                ev(2_000, "AgentConf_RequestSuccess", agent, conf_json(conf)),
            ]
        );
    }
    // and the far party of each call is a member, after the chair.
    let members = |conf| {
        sim.platform()
            .conference(conf)
            .unwrap()
            .members
            .iter()
            .map(|m| m.address.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        members(c1),
        vec![
            Address::Agent(AgentId(2001)),
            Address::Phone("9002001".to_owned())
        ]
    );
    assert_eq!(
        members(c2),
        vec![
            Address::Agent(AgentId(2002)),
            Address::Phone("13800000000".to_owned())
        ]
    );
    assert_eq!(
        sim.platform().agent(AgentId(2001)).unwrap().state,
        AgentState::Talking
    );
}

#[test]
fn from_a_stable_call_with_latency_two_draws_apart() {
    let platform = latency(20, 80);
    let cfg = platform.latency;
    let mut sim = Sim::new(platform, vec![talking(&[2001])]);
    sim.submit_at(0, Op::RequestAgentConf, "2001", json!({ "memberNum": 4 }));
    let conf = sim.conf_of(2001).unwrap();
    sim.advance_to(MIN);
    let d0 = sim.platform().draws().latency_ms(&cfg, conf, 0) as i64;
    let d1 = sim.platform().draws().latency_ms(&cfg, conf, 1) as i64;
    assert_eq!(
        sim.events(),
        vec![
            ev(d0, "AgentConf_SelfJoinResult", 2001, conf_json(conf)),
            ev(d0 + d1, "AgentConf_RequestSuccess", 2001, conf_json(conf)),
        ]
    );
}

/// Given `group` (agent 101) on `platform`, when 101 applies with `body` at 0, then exactly one
/// `AgentConf_RequestFailed {"cause": cause}` arrives after the first draw, and the agent is
/// exactly as it was, in no conference, with nothing pending.
#[track_caller]
fn fails_with(platform: PlatformConfig, group: AgentGroup, body: Value, cause: u32) {
    for platform in [
        PlatformConfig {
            latency: zero_latency().latency,
            ..platform.clone()
        },
        PlatformConfig {
            latency: latency(10, 100).latency,
            ..platform
        },
    ] {
        let cfg = platform.latency;
        let mut sim = Sim::new(platform, vec![group.clone()]);
        let before = sim.platform().agent(AgentId(101)).unwrap().clone();
        assert_success(&sim.request(101, body.clone()), json!({}));
        let conf = sim.conf_of(101).unwrap();
        sim.drain();
        let d0 = sim.platform().draws().latency_ms(&cfg, conf, 0) as i64;
        assert_eq!(
            sim.events(),
            vec![ev(
                d0,
                "AgentConf_RequestFailed",
                101,
                json!({ "cause": cause })
            )],
            "{group:?} {body}"
        );
        assert_eq!(sim.platform().agent(AgentId(101)).unwrap(), &before);
        assert_eq!(sim.platform().conferences().len(), 0);
        assert_eq!(sim.engine.pending_timers(), vec![]);
        sim.assert_rebuilds();
    }
}

#[test]
fn busy_work_or_rest_agents_fail_asynchronously() {
    for state in [AgentState::Busy, AgentState::Work, AgentState::Rest] {
        fails_with(
            zero_latency(),
            agents(&[101], state),
            json!({ "memberNum": 4 }),
            causes::AGENT_STATE,
        );
    }
}

#[test]
fn a_talking_agent_in_an_unstable_call_fails() {
    let mut group = talking(&[101]);
    group.stable_call = false;
    fails_with(
        zero_latency(),
        group,
        json!({ "memberNum": 4 }),
        causes::AGENT_STATE,
    );
}

#[test]
fn the_called_agent_of_a_three_party_call_fails() {
    let mut group = talking(&[101]);
    group.three_party_called = true;
    fails_with(
        zero_latency(),
        group,
        json!({ "memberNum": 4 }),
        causes::THREE_PARTY_CALLED,
    );
}

#[test]
fn member_num_above_the_vdn_capacity_fails_and_at_it_succeeds() {
    let mut platform = zero_latency();
    platform.vdn.max_concurrent_calls = 10;
    fails_with(
        platform.clone(),
        idle(&[101]),
        json!({ "memberNum": 11 }),
        causes::VDN_CAPACITY,
    );
    let mut sim = Sim::new(platform, vec![idle(&[101])]);
    sim.request(101, json!({ "memberNum": 10 }));
    sim.settle();
    assert_eq!(
        sim.events().last().unwrap().1,
        "AgentConf_RequestSuccess",
        "memberNum equal to the capacity is allowed"
    );
}

#[test]
fn a_conf_caller_no_outside_the_vdn_restrictions_fails() {
    let mut platform = zero_latency();
    platform.vdn.allowed_caller_nos = Some(vec!["10000".to_owned(), "2000*".to_owned()]);
    fails_with(
        platform.clone(),
        idle(&[101]),
        json!({ "memberNum": 4, "confCallerNo": "3000" }),
        causes::CALLER_NO_RESTRICTED,
    );
    // Allowed: exactly listed, by prefix, or absent (the system number 10000 is listed).
    for body in [
        json!({ "memberNum": 4, "confCallerNo": "10000" }),
        json!({ "memberNum": 4, "confCallerNo": "2000123" }),
        json!({ "memberNum": 4 }),
    ] {
        let mut sim = Sim::new(platform.clone(), vec![idle(&[101])]);
        sim.request(101, body.clone());
        sim.settle();
        assert_eq!(
            sim.events().last().unwrap().1,
            "AgentConf_RequestSuccess",
            "{body}"
        );
    }
    // Absent while the system number is not allowed: refused too.
    platform.vdn.allowed_caller_nos = Some(vec!["2000*".to_owned()]);
    fails_with(
        platform,
        idle(&[101]),
        json!({ "memberNum": 4 }),
        causes::CALLER_NO_RESTRICTED,
    );
}

#[test]
fn an_injected_fault_fails_with_the_vendor_sample_cause() {
    let mut platform = zero_latency();
    platform.faults.request_failed_rate = 1.0;
    fails_with(
        platform.clone(),
        idle(&[101]),
        json!({ "memberNum": 4 }),
        causes::INJECTED_FAULT,
    );
    fails_with(
        platform,
        talking(&[101]),
        json!({ "memberNum": 4 }),
        causes::INJECTED_FAULT,
    );
}

#[test]
fn conf_ids_are_unique_positive_integers() {
    // Given 20 idle agents and 1 busy one, each applying, some twice (after a release),
    let mut sim = Sim::new(
        latency(5, 50),
        vec![
            idle(&(101..=120).collect::<Vec<_>>()),
            agents(&[200], AgentState::Busy),
        ],
    );
    let mut ids = Vec::new();
    for agent in (101..=120).chain([200]) {
        sim.request(agent, json!({ "memberNum": 2, "time": 4 }));
        ids.push(sim.conf_of(agent).unwrap());
    }
    sim.advance_to(MIN);
    for agent in 101..=105 {
        sim.release(agent);
    }
    sim.advance_to(2 * MIN);
    for agent in (101..=105).chain([200]) {
        sim.request(agent, json!({ "memberNum": 2 }));
        ids.push(sim.conf_of(agent).unwrap());
    }
    sim.drain();
    // then every id is positive and distinct (failed applications used theirs too),
    assert!(ids.iter().all(|c| c.0 > 0));
    let distinct: BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
    // and every confId an event carries is one of them.
    for e in sim.events() {
        if let Some(id) = e.3.get("confId") {
            let id = id.as_u64().expect("confId is a JSON number");
            assert!(ids.contains(&ConfId(id)), "{e:?}");
        }
    }
}

#[test]
fn concurrent_applications_each_get_their_own_complete_sequence() {
    let mut sim = Sim::new(latency(10, 100), vec![idle(&[101, 102, 103])]);
    for agent in [101, 102, 103] {
        sim.request(agent, json!({ "memberNum": 4 }));
    }
    sim.advance_to(MIN);
    for agent in [101, 102, 103] {
        let conf = sim.conf_of(agent).unwrap();
        let types: Vec<(&str, Value)> = sim
            .events_of(agent)
            .into_iter()
            .map(|e| (e.1, e.3))
            .collect();
        assert_eq!(
            types,
            idle_sequence(0, agent, conf)
                .into_iter()
                .map(|e| (e.1, e.3))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(sim.platform().active_conferences(), 3);
}
