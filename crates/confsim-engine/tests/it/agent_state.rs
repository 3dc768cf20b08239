//! The agent state calls through the engine (docs/semantics.md "Agent state calls"): what the
//! platform checks of `requestAgentConf` and the invitations see after them, a rest's timeout
//! in simulated time, an application sent while a state change is still being announced, and
//! rebuild-equals-live with state calls and a rest pending.

use crate::support::*;
use confsim_core::{AgentId, AgentState, Op};
use serde_json::{Value, json};

fn state(sim: &Sim, agent: u32) -> AgentState {
    sim.platform().agent(AgentId(agent)).unwrap().state
}

#[test]
fn a_busy_or_resting_agents_application_fails_and_once_free_it_succeeds() {
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101, 102])]);
    sim.ok_at(0, Op::SayBusy, 101, Value::Null);
    sim.ok_at(0, Op::Rest, 102, json!({ "time": 600, "reason": 4 }));
    sim.settle();
    assert_eq!(
        sim.take_events(),
        [
            ev(
                0,
                "AgentState_SetNotReady_Success",
                101,
                json!({ "reason": "0" })
            ),
            ev(0, "AgentState_SetRest_Success", 102, Value::Null),
        ]
    );
    // product.md §7.2: the application is accepted, then fails with the state cause, and the
    // agent stays as it was.
    for agent in [101, 102] {
        let body = json!({ "memberNum": 2 });
        assert_retcode(&sim.op_at(1_000, Op::RequestAgentConf, agent, body), "0");
    }
    sim.settle();
    assert_eq!(
        sim.take_events(),
        [
            ev(
                1_000,
                "AgentConf_RequestFailed",
                101,
                json!({ "cause": 21201 })
            ),
            ev(
                1_000,
                "AgentConf_RequestFailed",
                102,
                json!({ "cause": 21201 })
            ),
        ]
    );
    assert_eq!(
        (state(&sim, 101), state(&sim, 102)),
        (AgentState::Busy, AgentState::Rest)
    );
    // Free again, the same application goes through.
    sim.ok_at(2_000, Op::SayFree, 101, Value::Null);
    sim.ok_at(2_000, Op::CancelRest, 102, Value::Null);
    sim.settle();
    assert_eq!(
        sim.take_events(),
        [
            ev(2_000, "AgentState_CancelNotReady_Success", 101, Value::Null),
            ev(2_000, "AgentState_Ready", 101, Value::Null),
            ev(2_000, "AgentState_CancelRest_Success", 102, Value::Null),
            ev(2_000, "AgentState_Ready", 102, Value::Null),
        ]
    );
    let conf = sim.start_conf(3_000, 101, 3);
    // In a conference (talking), no state call is taken.
    for op in [Op::SayBusy, Op::SayFree, Op::Work, Op::Rest] {
        let body = json!({ "time": 60, "reason": 0 });
        assert_rejected(
            &sim.op_at(4_000, op, 101, body),
            "100-009",
            "in a conference",
        );
    }
    assert_eq!(state(&sim, 101), AgentState::Talking);
    // Its release makes it idle, and a state call is taken again.
    sim.ok_at(5_000, Op::ReleaseAgentConf, 101, Value::Null);
    sim.settle();
    assert!(sim.platform().conference(conf).is_none());
    sim.ok_at(6_000, Op::Work, 101, Value::Null);
    assert_eq!(state(&sim, 101), AgentState::Work);
    sim.assert_rebuilds();
}

#[test]
fn an_invitation_to_an_agent_in_wrap_up_fails_and_members_hear_it() {
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101, 102])]);
    sim.ok_at(0, Op::Work, 102, Value::Null);
    let conf = sim.start_conf(1_000, 101, 3);
    sim.take_events();
    let invite = addresses(vec![agent_addr(102)]);
    sim.ok_at(2_000, Op::BatchAddParticipant, 101, invite);
    sim.settle();
    assert_eq!(
        sim.take_events(),
        told(2_000, &[101], &pc_agent(conf, 102, 1, 6, 1)),
        "the invitee in wrap-up never rings"
    );
    assert_eq!(state(&sim, 102), AgentState::Work);
}

#[test]
fn a_rest_times_out_in_simulated_time_and_the_agent_keeps_resting() {
    let mut sim = Sim::new(latency(25, 25), vec![idle(&[101])]);
    sim.ok_at(1_000, Op::Rest, 101, json!({ "time": 300, "reason": 2 }));
    // A rest pending is part of the state a journal rebuilds.
    sim.advance_to(60_000);
    sim.assert_rebuilds();
    sim.drain();
    assert_eq!(
        sim.events_of(101),
        [
            ev(1_025, "AgentState_SetRest_Success", 101, Value::Null),
            ev(301_025, "AgentState_Rest_Timeout", 101, Value::Null),
        ]
    );
    assert_eq!(state(&sim, 101), AgentState::Rest);
    sim.ok_at(400_000, Op::CancelRest, 101, Value::Null);
    sim.drain();
    assert_eq!(state(&sim, 101), AgentState::Idle);
    sim.assert_rebuilds();
}

/// With latency, an application may reach its platform check before a state call's events
/// have been sent. It then fails with the state cause rather than join a conference that those
/// events (an `AgentState_Ready` after `AgentState_Busy`) would contradict; once they are
/// sent it succeeds. Seeds give both orders.
#[test]
fn an_application_checked_before_a_state_change_is_announced_fails() {
    let (mut early, mut late) = (0, 0);
    for seed in 0..60 {
        let roster = vec![agents(&[101], AgentState::Busy)];
        let mut sim = Sim::with_seed(seed, latency(0, 100), roster);
        sim.ok_at(0, Op::SayFree, 101, Value::Null);
        assert_retcode(
            &sim.op_at(1, Op::RequestAgentConf, 101, json!({ "memberNum": 2 })),
            "0",
        );
        sim.drain();
        let types: Vec<&str> = sim.events_of(101).iter().map(|e| e.1).collect();
        let announced = types.iter().position(|t| *t == "AgentState_Ready").unwrap();
        if types.contains(&"AgentConf_RequestFailed") {
            early += 1;
            assert_eq!(
                types,
                [
                    "AgentConf_RequestFailed",
                    "AgentState_CancelNotReady_Success",
                    "AgentState_Ready"
                ],
                "seed {seed}"
            );
        } else {
            late += 1;
            let busy = types.iter().position(|t| *t == "AgentState_Busy").unwrap();
            assert!(announced < busy, "seed {seed}: {types:?}");
        }
        assert!(sim.platform().agent(AgentId(101)).unwrap().conf.is_none());
        sim.assert_rebuilds();
    }
    assert!(
        early > 0 && late > 0,
        "both orders occur: {early} early, {late} late"
    );
}
