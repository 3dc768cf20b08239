//! A full meeting: chair 101 applies; invites agents 102, 103, 104 and a phone; 102
//! answers, 103 rejects, 104 never answers (ring timeout); the phone answers after its delay;
//! the chair mutes 102, holds the phone, passes the chair to 102; 102 extends and releases.
//! Every party's events are checked exactly, the state at the milestones, the invariants after
//! every step, rebuild-equals-live and byte-identical journals.

use crate::support::*;
use confsim_core::{AgentId, AgentState, ConfId, Op, PlatformConfig};
use serde_json::{Value, json};

const PHONE: &str = "13800000000";
const MUSIC: &str = "y:/conf/1/hold.V3";

/// One scripted step of the meeting: offset, agent, operation, body, expected response.
type Step = (i64, u32, Op, Value, Value);

fn script() -> Vec<Step> {
    let ok = json!({ "retcode": "0", "message": "success", "result": {} });
    vec![
        (
            0,
            101,
            Op::RequestAgentConf,
            json!({ "memberNum": 6, "time": 60, "promptTime": 5 }),
            ok.clone(),
        ),
        (
            1_000,
            101,
            Op::BatchAddParticipant,
            addresses(vec![
                agent_addr(102),
                agent_addr(103),
                agent_addr(104),
                phone_addr(PHONE),
            ]),
            ok.clone(),
        ),
        (2_000, 102, Op::AnswerAgentConf, Value::Null, ok.clone()),
        (3_000, 103, Op::RejectAgentConf, Value::Null, ok.clone()),
        (
            40_000,
            101,
            Op::ChangeParticipantMode,
            json!({ "attribute": 1, "addressType": "9", "address": "102" }),
            ok.clone(),
        ),
        (
            41_000,
            101,
            Op::HoldParticipant,
            json!({ "addressType": "6", "address": PHONE, "voicePath": MUSIC, "playMode": 2 }),
            ok.clone(),
        ),
        (
            42_000,
            101,
            Op::ApplyToShiftPresident,
            json!({ "destAgentNo": 102 }),
            ok.clone(),
        ),
        (
            43_000,
            101,
            Op::ProlongTime,
            json!({ "prolongTime": 30 }),
            json!({
                "retcode": "101-002",
                "message": "agent 101 is not the chair of conference 1030400",
                "result": {},
            }),
        ),
        (
            43_000,
            102,
            Op::ProlongTime,
            json!({ "prolongTime": 30 }),
            json!({ "retcode": "0", "message": "success", "result": { "applyedTime": 30 } }),
        ),
        (44_000, 102, Op::ReleaseAgentConf, Value::Null, ok),
    ]
}

fn roster() -> Vec<confsim_core::AgentGroup> {
    vec![idle(&[101, 102, 103, 104])]
}

/// Runs the meeting; checks each response and the invariants after every input and every
/// timer step; returns the simulation at the end (everything drained).
fn run(platform: PlatformConfig, seed: u64) -> Sim {
    let mut sim = Sim::with_seed(seed, platform, roster());
    for (at, agent, op, body, expected) in script() {
        while sim.step_once(at) {
            assert_invariants(sim.platform());
        }
        let response = sim.submit_at(at, op, &agent.to_string(), body);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            expected,
            "{op} at {at}"
        );
        assert_invariants(sim.platform());
    }
    while let Some(due) = sim.engine.next_deadline() {
        assert!(sim.step_once(offset(due)));
        assert_invariants(sim.platform());
    }
    sim
}

fn conf() -> ConfId {
    ConfId(1_030_400)
}

#[test]
fn every_party_hears_exactly_its_events() {
    let mut sim = run(meeting_platform(), 7);
    let c = conf();
    let chair_101 = [
        apply_events(0, 101, c),
        told(2_000, &[101], &pc_agent(c, 102, 0, 255, 0)),
        told(3_000, &[101], &pc_agent(c, 103, 1, 2, 1)),
        told(6_000, &[101], &pc_phone(c, PHONE, 0, 255, 0)),
        told(31_000, &[101], &pc_agent(c, 104, 1, 6, 1)),
        told(40_000, &[101], &pc_agent(c, 102, 3, 255, 0)),
        told(41_000, &[101], &pc_phone(c, PHONE, 5, 255, 0)),
        told(42_000, &[101], &pc_agent(c, 102, 2, 255, 0)),
        told(44_000, &[101], &pc_phone(c, PHONE, 1, 3, 0)),
        told(44_000, &[101], &pc_agent(c, 102, 1, 3, 0)),
        leave_events(44_000, 101, c, 3),
    ]
    .concat();
    let member_102 = [
        vec![
            ev(1_000, "AgentConf_Ringing", 102, conf_json(c)),
            ev(2_000, "AgentConf_SelfJoinResult", 102, conf_json(c)),
        ],
        told(3_000, &[102], &pc_agent(c, 103, 1, 2, 1)),
        told(6_000, &[102], &pc_phone(c, PHONE, 0, 255, 0)),
        told(31_000, &[102], &pc_agent(c, 104, 1, 6, 1)),
        told(40_000, &[102], &pc_agent(c, 102, 3, 255, 0)),
        told(41_000, &[102], &pc_phone(c, PHONE, 5, 255, 0)),
        vec![ev(42_000, "AgentConf_PresidentChanged", 102, conf_json(c))],
        told(44_000, &[102], &pc_phone(c, PHONE, 1, 3, 0)),
        leave_events(44_000, 102, c, 3),
    ]
    .concat();
    let rejecting_103 = [
        vec![ev(1_000, "AgentConf_Ringing", 103, conf_json(c))],
        unring_events(3_000, 103, 2),
    ]
    .concat();
    let silent_104 = [
        vec![ev(1_000, "AgentConf_Ringing", 104, conf_json(c))],
        unring_events(1_000 + RING_MS, 104, 3),
    ]
    .concat();
    assert_eq!(sim.events_of(101), chair_101);
    assert_eq!(sim.events_of(102), member_102);
    assert_eq!(sim.events_of(103), rejecting_103);
    assert_eq!(sim.events_of(104), silent_104);
    assert_eq!(
        sim.events().len(),
        chair_101.len() + member_102.len() + rejecting_103.len() + silent_104.len(),
        "nobody else hears anything"
    );
    // The release, in the order the platform sends it: the phone leaves, then the new chair,
    // then the old one.
    let release: Vec<Ev> = sim.events().into_iter().filter(|e| e.0 == 44_000).collect();
    assert_eq!(
        release,
        [
            told(44_000, &[102, 101], &pc_phone(c, PHONE, 1, 3, 0)),
            leave_events(44_000, 102, c, 3),
            told(44_000, &[101], &pc_agent(c, 102, 1, 3, 0)),
            leave_events(44_000, 101, c, 3),
        ]
        .concat()
    );
    // Everything is over: no conference, no timer, everyone idle and free.
    assert!(sim.platform().conferences().is_empty());
    assert_eq!(sim.engine.pending_timers(), vec![]);
    for a in [101, 102, 103, 104] {
        let agent = sim.agent(a);
        assert_eq!((agent.state, agent.conf), (AgentState::Idle, None), "{a}");
    }
    sim.assert_rebuilds();
}

#[test]
fn the_state_at_the_milestones() {
    let mut sim = Sim::new(meeting_platform(), roster());
    let script = script();
    let c = conf();
    let member = |address: &str, kind: &str, attrib: u8, state: u8, role: u8, enter: i64| {
        json!({
            "addressType": kind, "address": address, "deviceCallType": 0, "deviceType": 0,
            "channelAttrib": attrib, "channelState": state, "role": role,
            "enterTime": t(enter).as_unix_ms(),
        })
    };
    for (i, (at, agent, op, body, _)) in script.into_iter().enumerate() {
        sim.submit_at(at, op, &agent.to_string(), body);
        sim.settle();
        match i {
            // After the invitations: three ringing, the phone calling; the room counts them.
            1 => assert_eq!(sim.conference(c).occupancy(), 5),
            // After the reject: 103 free again.
            3 => assert_eq!(sim.agent(103).conf, None),
            // After the hold: 102 muted, the phone held.
            5 => {
                let info = sim.query(102, &[c]);
                assert_eq!(
                    info[0]["addresses"],
                    json!([
                        member("101", "9", 3, 0, 1, 0),
                        member("102", "9", 1, 0, 0, 2_000),
                        member(PHONE, "6", 3, 1, 0, 1_000 + ANSWER_MS),
                    ])
                );
                assert_eq!(sim.conference(c).occupancy(), 3);
            }
            // After the transfer: 102 chairs.
            6 => {
                assert_eq!(sim.conference(c).chair, AgentId(102));
                let roles: Vec<Value> = sim.query(101, &[c])[0]["addresses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["role"].clone())
                    .collect();
                assert_eq!(roles, vec![json!(0), json!(1), json!(0)]);
            }
            // After the extension: 90 minutes.
            8 => assert_eq!(sim.query(102, &[c])[0]["applyConfTime"], json!(90)),
            _ => {}
        }
    }
}

#[test]
fn with_latency_every_party_hears_the_same_events_in_the_same_order() {
    let strip = |events: Vec<Ev>| -> Vec<(&'static str, u32, Value)> {
        events.into_iter().map(|(_, ty, a, c)| (ty, a, c)).collect()
    };
    let exact = run(meeting_platform(), 7);
    for seed in [1, 2, 3] {
        let mut platform = meeting_platform();
        platform.latency = confsim_core::config::LatencyConfig {
            min_ms: 10,
            max_ms: 150,
        };
        let mut sim = run(platform, seed);
        for a in [101, 102, 103, 104] {
            assert_eq!(
                strip(sim.events_of(a)),
                strip(exact.events_of(a)),
                "seed {seed}, agent {a}"
            );
        }
        sim.assert_rebuilds();
    }
}

#[test]
fn the_same_meeting_twice_gives_the_same_journal_bytes() {
    let mut platform = meeting_platform();
    platform.latency = confsim_core::config::LatencyConfig {
        min_ms: 10,
        max_ms: 150,
    };
    let a = run(platform.clone(), 99).journal_bytes();
    let b = run(platform, 99).journal_bytes();
    assert_eq!(a, b);
}
