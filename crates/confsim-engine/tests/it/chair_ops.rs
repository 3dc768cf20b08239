//! The chair's operations: passing the chair on (`applyToShiftPresident`, A9), the capacity
//! (`modifyConfResource`, A17), `prolongTime` and `releaseAgentConf` in a conference with
//! members; and the role rules every chair operation shares (product.md §7.6): `000-002` bad
//! path, `100-006` not signed in, `101-001` no conference (or not yet `RequestSuccess`, or
//! being released), `101-002` not the chair, and the body checked before the role.

use crate::support::*;
use confsim_core::state::Address;
use confsim_core::{AgentId, ConfId, Op};
use serde_json::{Value, json};

const MUSIC: &str = "y:/conf/1/hold.V3";

/// Chair 101 with joined agents 102 and 103 (capacity 4) by 2 s; 104, 105 idle, 106 signed out.
fn meeting() -> (Sim, ConfId) {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![idle(&[101, 102, 103, 104, 105]), signed_out(&[106])],
    );
    let conf = sim.start_conf(0, 101, 4);
    sim.join(1_000, 101, 102);
    sim.join(2_000, 101, 103);
    sim.take_events();
    (sim, conf)
}

/// Every chair operation with a body that is valid against `meeting()` (it names 102).
fn chair_ops() -> Vec<(Op, Value)> {
    vec![
        (Op::ReleaseAgentConf, Value::Null),
        (
            Op::HoldParticipant,
            json!({ "addressType": "9", "address": "102", "voicePath": MUSIC }),
        ),
        (Op::UnholdParticipant, agent_addr(102)),
        (Op::ProlongTime, json!({ "prolongTime": 5 })),
        (Op::ApplyToShiftPresident, json!({ "destAgentNo": 102 })),
        (Op::BatchAddParticipant, addresses(vec![agent_addr(104)])),
        (Op::BatchRemoveParticipant, addresses(vec![agent_addr(102)])),
        (
            Op::ChangeParticipantMode,
            json!({ "attribute": 1, "addressType": "9", "address": "102" }),
        ),
        (Op::PlayVoiceToConf, json!({ "voicePath": MUSIC })),
        (Op::StopVoiceToConf, Value::Null),
        (
            Op::PlayVoiceToParticipant,
            json!({ "addressType": "9", "address": "102", "voicePath": MUSIC }),
        ),
        (Op::StopVoiceToParticipant, agent_addr(102)),
        (
            Op::ModifyConfResource,
            json!({ "modifyType": 0, "modifyNum": 2 }),
        ),
    ]
}

// ------------------------------------------------------------------ role rules

#[test]
fn every_chair_operation_refuses_by_role_with_the_documented_code() {
    for (op, body) in chair_ops() {
        let (mut sim, _) = meeting();
        assert_rejected(&sim.submit(op, "1e2", body.clone()), "000-002", "agent id");
        assert_rejected(
            &sim.op_at(3_000, op, 106, body.clone()),
            "100-006",
            "not signed in",
        );
        assert_rejected(
            &sim.op_at(3_000, op, 104, body.clone()),
            "101-001",
            "no conference",
        );
        assert_rejected(
            &sim.op_at(3_000, op, 102, body.clone()),
            "101-002",
            "not the chair",
        );
        assert_eq!(sim.take_events(), vec![], "{op}");
        // A held member is no chair either (the role comes before "already held": 100-007).
        let held = json!({ "addressType": "9", "address": "102", "voicePath": MUSIC });
        sim.ok_at(3_000, Op::HoldParticipant, 101, held);
        sim.take_events();
        assert_rejected(&sim.op_at(3_000, op, 102, body), "101-002", "not the chair");
        assert_eq!(sim.take_events(), vec![], "{op}");
        sim.assert_rebuilds();
    }
}

#[test]
fn every_chair_operation_refuses_a_bad_body_before_the_role() {
    for (op, _) in chair_ops() {
        if matches!(op, Op::ReleaseAgentConf | Op::StopVoiceToConf) {
            continue; // no body to get wrong
        }
        let (mut sim, _) = meeting();
        for agent in [101, 102, 104] {
            let response = sim.op_at(3_000, op, agent, json!({ "bogus": 1 }));
            assert_retcode(&response, "000-002");
        }
        let response = sim.op_at(3_000, op, 104, json!([1, 2]));
        assert_rejected(&response, "000-002", "JSON object");
    }
}

#[test]
fn before_request_success_and_while_releasing_chair_operations_are_101_001() {
    for (op, body) in chair_ops() {
        let mut sim = Sim::new(latency(100, 100), vec![idle(&[101])]);
        sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
        // Busy, alerting, off-hook and self-join have come; RequestSuccess has not.
        sim.advance_to(450);
        assert_eq!(sim.events().len(), 4);
        let response = sim.submit(op, "101", body.clone());
        assert_rejected(&response, "101-001", "no conference");
        sim.advance_to(1_000);
        assert_retcode(&sim.submit(Op::ReleaseAgentConf, "101", Value::Null), "0");
        sim.advance_to(1_050);
        assert_rejected(&sim.submit(op, "101", body), "101-001", "no conference");
        sim.drain();
        assert!(sim.platform().conferences().is_empty());
        sim.assert_rebuilds();
    }
}

#[test]
fn while_releasing_member_operations_are_101_001_too() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102, 103])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102), agent_addr(103)]),
    );
    sim.submit_at(1_200, Op::AnswerAgentConf, "102", Value::Null);
    sim.advance_to(2_000);
    sim.submit_at(2_000, Op::ReleaseAgentConf, "101", Value::Null);
    sim.advance_to(2_050);
    assert_rejected(
        &sim.submit(Op::RequestLeaveAgentConf, "102", Value::Null),
        "101-001",
        "no conference",
    );
    assert_rejected(
        &sim.submit(Op::AnswerAgentConf, "103", Value::Null),
        "101-001",
        "rings",
    );
    assert_rejected(
        &sim.submit(Op::RejectAgentConf, "103", Value::Null),
        "101-001",
        "rings",
    );
    assert_rejected(
        &sim.submit(Op::ReleaseAgentConf, "101", Value::Null),
        "101-001",
        "no conference",
    );
    // Still attached until the release: a new application is 101-003.
    assert_rejected(
        &sim.submit(Op::RequestAgentConf, "102", json!({ "memberNum": 2 })),
        "101-003",
        "already in",
    );
    sim.drain();
    assert_invariants(sim.platform());
    assert!(sim.platform().conferences().is_empty());
    sim.assert_rebuilds();
}

// ------------------------------------------------------------------ applyToShiftPresident

#[test]
fn passing_the_chair_on() {
    let (mut sim, conf) = meeting();
    sim.ok_at(
        3_000,
        Op::ApplyToShiftPresident,
        101,
        json!({ "destAgentNo": 102 }),
    );
    assert_eq!(
        sim.take_events(),
        [
            vec![ev(
                3_000,
                "AgentConf_PresidentChanged",
                102,
                conf_json(conf)
            )],
            told(3_000, &[101, 103], &pc_agent(conf, 102, 2, 255, 0)),
        ]
        .concat()
    );
    assert_eq!(sim.conference(conf).chair, AgentId(102));
    let roles: Vec<(Value, Value)> = sim.query(103, &[conf])[0]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["address"].clone(), a["role"].clone()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (json!("101"), json!(0)),
            (json!("102"), json!(1)),
            (json!("103"), json!(0))
        ]
    );
    // The old chair is a member now: chair operations are 101-002, and it may leave.
    assert_rejected(
        &sim.op_at(4_000, Op::ProlongTime, 101, json!({ "prolongTime": 5 })),
        "101-002",
        "not the chair",
    );
    assert_rejected(
        &sim.op_at(4_000, Op::ReleaseAgentConf, 101, Value::Null),
        "101-002",
        "chair",
    );
    assert_rejected(
        &sim.op_at(4_000, Op::RequestLeaveAgentConf, 102, Value::Null),
        "101-007",
        "release",
    );
    // The new chair chairs: the warning and end go to it.
    assert_success(
        &sim.op_at(4_000, Op::ProlongTime, 102, json!({ "prolongTime": 5 })),
        json!({ "applyedTime": 5 }),
    );
    sim.ok_at(5_000, Op::RequestLeaveAgentConf, 101, Value::Null);
    sim.take_events();
    sim.advance_to(62 * MIN);
    assert_eq!(
        sim.take_events(),
        vec![ev(62 * MIN, "AgentConf_Timeout", 102, conf_json(conf))]
    );
    // String ids are accepted (the vendor's demo sends it as a query parameter).
    sim.ok_at(
        62 * MIN,
        Op::ApplyToShiftPresident,
        102,
        json!({ "destAgentNo": "103" }),
    );
    assert_eq!(sim.conference(conf).chair, AgentId(103));
    assert_invariants(sim.platform());
    sim.assert_rebuilds();
}

#[test]
fn passing_the_chair_errors() {
    let (mut sim, _) = meeting();
    sim.ok_at(
        3_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(104)]),
    );
    assert_rejected(
        &sim.op_at(
            3_000,
            Op::ApplyToShiftPresident,
            101,
            json!({ "destAgentNo": 101 }),
        ),
        "101-005",
        "itself",
    );
    for (body, what) in [
        (Value::Null, "destAgentNo is mandatory"),
        (json!({}), "destAgentNo is mandatory"),
        (json!({ "destAgentNo": "abc" }), "destAgentNo"),
        (json!({ "destAgentNo": 102.5 }), "destAgentNo"),
        (json!({ "destAgentNo": -102 }), "destAgentNo"),
        (json!({ "destAgentNo": 99 }), "agent id"),
        (json!({ "destAgentNo": 60_000 }), "agent id"),
        (json!({ "destAgentNo": 104 }), "not a participant"),
        (json!({ "destAgentNo": 105 }), "not a participant"),
        (json!({ "destAgentNo": 106 }), "not a participant"),
    ] {
        assert_rejected(
            &sim.op_at(3_000, Op::ApplyToShiftPresident, 101, body),
            "000-002",
            what,
        );
    }
    sim.take_events();
    sim.advance_to(10_000);
    assert_eq!(
        sim.conference(sim.conf_of(101).unwrap()).chair,
        AgentId(101)
    );
}

/// A chair passed to a member whose leave is under way: when the leave is done the old chair
/// must not be left stuck in a conference that no longer runs (it can then neither apply,
/// nor sign out, nor do anything but `forceLogout`, and even that leaves it attached).
#[test]
fn passing_the_chair_to_a_leaving_member_does_not_strand_the_others() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102)]),
    );
    sim.submit_at(1_200, Op::AnswerAgentConf, "102", Value::Null);
    sim.submit_at(2_000, Op::RequestLeaveAgentConf, "102", Value::Null);
    // Either refused (the leave is in progress) or accepted; what follows must be sane.
    let _ = sim.submit_at(
        2_010,
        Op::ApplyToShiftPresident,
        "101",
        json!({ "destAgentNo": 102 }),
    );
    sim.advance_to(60 * MIN);
    sim.drain();
    assert_invariants(sim.platform());
    // Once everything has settled, 101 is free again and may sign out.
    assert_success(
        &sim.op_at(61 * MIN, Op::Logout, 101, Value::Null),
        json!({}),
    );
}

// ------------------------------------------------------------------ modifyConfResource

#[test]
fn the_capacity_moves_within_1_to_120_and_not_below_the_members() {
    let (mut sim, conf) = meeting();
    // Room of 4 with 3 members.
    sim.ok_at(
        3_000,
        Op::ModifyConfResource,
        101,
        json!({ "modifyType": 0, "modifyNum": 2 }),
    );
    assert_eq!(sim.conference(conf).capacity, 6);
    sim.ok_at(
        3_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(104), agent_addr(105), phone_addr("1")]),
    );
    assert_eq!(sim.conference(conf).occupancy(), 6);
    assert_rejected(
        &sim.op_at(
            3_000,
            Op::ModifyConfResource,
            101,
            json!({ "modifyType": 1, "modifyNum": 2 }),
        ),
        "100-007",
        "6 members",
    );
    let response = sim.op_at(
        3_000,
        Op::BatchRemoveParticipant,
        101,
        addresses(vec![agent_addr(104)]),
    );
    assert_retcode(&response, "0");
    let response = sim.op_at(
        3_000,
        Op::BatchRemoveParticipant,
        101,
        addresses(vec![agent_addr(105), phone_addr("1")]),
    );
    assert_retcode(&response, "0");
    sim.ok_at(
        3_000,
        Op::ModifyConfResource,
        101,
        json!({ "modifyType": 1, "modifyNum": 3 }),
    );
    assert_eq!(sim.conference(conf).capacity, 3);
    // Out of 1-120 is a bad parameter.
    for body in [
        json!({ "modifyType": 1, "modifyNum": 3 }),
        json!({ "modifyType": 1, "modifyNum": 4 }),
        json!({ "modifyType": 0, "modifyNum": 118 }),
    ] {
        assert_rejected(
            &sim.op_at(3_000, Op::ModifyConfResource, 101, body),
            "000-002",
            "1 to 120",
        );
    }
    sim.ok_at(
        3_000,
        Op::ModifyConfResource,
        101,
        json!({ "modifyType": 0, "modifyNum": 117 }),
    );
    assert_eq!(sim.conference(conf).capacity, 120);
    // No events at all, only the invitations' and removals'.
    let events = sim.take_events();
    assert!(events.iter().all(|e| e.1 != "AgentConf_Timeout"));
    assert_eq!(
        events.iter().filter(|e| e.1 == "AgentConf_Ringing").count(),
        2,
        "{events:#?}"
    );
    sim.assert_rebuilds();
}

#[test]
fn modify_conf_resource_bodies() {
    let (mut sim, conf) = meeting();
    for (body, what) in [
        (Value::Null, "modifyType is mandatory"),
        (json!({ "modifyNum": 2 }), "modifyType is mandatory"),
        (json!({ "modifyType": 0 }), "modifyNum is mandatory"),
        (json!({ "modifyType": 2, "modifyNum": 2 }), "modifyType"),
        (json!({ "modifyType": -1, "modifyNum": 2 }), "modifyType"),
        (json!({ "modifyType": "0", "modifyNum": 2 }), "modifyType"),
        (json!({ "modifyType": 0, "modifyNum": 1 }), "modifyNum"),
        (json!({ "modifyType": 0, "modifyNum": 119 }), "modifyNum"),
        (json!({ "modifyType": 0, "modifyNum": "2" }), "modifyNum"),
    ] {
        assert_rejected(
            &sim.op_at(3_000, Op::ModifyConfResource, 101, body),
            "000-002",
            what,
        );
    }
    assert_eq!(sim.conference(conf).capacity, 4);
}

// ------------------------------------------------------------------ prolong and release

/// `prolongTime` by a non-chair (101-002) is in the role table above.
#[test]
fn prolonging_a_conference_with_members_tells_no_one() {
    let (mut sim, _) = meeting();
    assert_success(
        &sim.op_at(3_000, Op::ProlongTime, 101, json!({ "prolongTime": 1440 })),
        json!({ "applyedTime": 1380 }),
    );
    assert_eq!(sim.take_events(), vec![]);
}

#[test]
fn release_with_every_kind_of_member() {
    let (mut sim, conf) = meeting();
    // A phone that joined, one still calling, an agent ringing.
    sim.ok_at(
        3_000,
        Op::ModifyConfResource,
        101,
        json!({ "modifyType": 0, "modifyNum": 3 }),
    );
    sim.ok_at(
        3_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr("1")]),
    );
    sim.ok_at(
        9_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr("2"), agent_addr(104)]),
    );
    sim.take_events();
    assert_rejected(
        &sim.op_at(10_000, Op::ReleaseAgentConf, 102, Value::Null),
        "101-002",
        "chair",
    );
    sim.ok_at(10_000, Op::ReleaseAgentConf, 101, Value::Null);
    let all = [101, 102, 103];
    assert_eq!(
        sim.take_events(),
        [
            // Invitations first, in invitation order: the calling phone, the ringing agent.
            told(10_000, &all, &pc_phone(conf, "2", 1, 3, 1)),
            unring_events(10_000, 104, 3),
            told(10_000, &all, &pc_agent(conf, 104, 1, 3, 1)),
            // Then the phone that joined.
            told(10_000, &all, &pc_phone(conf, "1", 1, 3, 0)),
            // Then the agents, chair first; each hears those who leave before it.
            leave_events(10_000, 101, conf, 3),
            told(10_000, &[102, 103], &pc_agent(conf, 101, 1, 3, 0)),
            leave_events(10_000, 102, conf, 3),
            told(10_000, &[103], &pc_agent(conf, 102, 1, 3, 0)),
            leave_events(10_000, 103, conf, 3),
        ]
        .concat()
    );
    assert!(sim.platform().conferences().is_empty());
    for a in [101, 102, 103, 104] {
        assert_eq!(sim.agent(a).conf, None);
    }
    assert_eq!(sim.engine.pending_timers(), vec![]);
    // The phone that was calling never answers now.
    sim.advance_to(20_000);
    assert_eq!(sim.take_events(), vec![]);
    sim.assert_rebuilds();
}

#[test]
fn the_end_of_time_releases_the_members_too() {
    let (mut sim, conf) = meeting();
    sim.advance_to(60 * MIN);
    assert_eq!(
        sim.take_events(),
        [
            vec![ev(57 * MIN, "AgentConf_Timeout", 101, conf_json(conf))],
            leave_events(60 * MIN, 101, conf, 3),
            told(60 * MIN, &[102, 103], &pc_agent(conf, 101, 1, 3, 0)),
            leave_events(60 * MIN, 102, conf, 3),
            told(60 * MIN, &[103], &pc_agent(conf, 102, 1, 3, 0)),
            leave_events(60 * MIN, 103, conf, 3),
        ]
        .concat()
    );
    assert!(sim.platform().conferences().is_empty());
    sim.assert_rebuilds();
}

#[test]
fn a_conference_from_a_call_brings_the_far_party_in_as_a_phone_member() {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![
            agents(&[101], confsim_core::AgentState::Talking),
            idle(&[102]),
        ],
    );
    sim.ok_at(0, Op::RequestAgentConf, 101, json!({ "memberNum": 3 }));
    let conf = sim.conf_of(101).unwrap();
    let peer = Address::Phone(confsim_core::state::default_peer(AgentId(101)));
    let m = sim.conference(conf).member_at(&peer).unwrap();
    assert!(m.is_joined());
    sim.join(1_000, 101, 102);
    sim.take_events();
    sim.ok_at(2_000, Op::ReleaseAgentConf, 101, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            told(2_000, &[101, 102], &pc_phone(conf, "9000101", 1, 3, 0)),
            leave_events(2_000, 101, conf, 3),
            told(2_000, &[102], &pc_agent(conf, 101, 1, 3, 0)),
            leave_events(2_000, 102, conf, 3),
        ]
        .concat()
    );
}

/// Capacity counts the far party of a call too: `memberNum` 1 from a call cannot hold both.
#[test]
fn a_conference_from_a_call_respects_its_capacity() {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![agents(&[101], confsim_core::AgentState::Talking)],
    );
    sim.ok_at(0, Op::RequestAgentConf, 101, json!({ "memberNum": 1 }));
    assert_invariants(sim.platform());
}

/// The chair passed to a member who is then signed out at the same instant: the news that it
/// is the chair is overtaken by its sign-out, which, as it is the chair now, ends the
/// conference. It hears nothing after its sign-out (it used to get `PresidentChanged`; found by
/// `random_family_runs_keep_every_promise`).
#[test]
fn a_new_chair_signed_out_at_once_hears_nothing_of_the_chair() {
    let mut sim = ringing_invitee();
    sim.ok_at(2_000, Op::AnswerAgentConf, 102, Value::Null);
    sim.advance_to(3_000);
    let conf = sim.conf_of(101).expect("the conference");
    assert!(
        sim.conference(conf)
            .member_at(&Address::Agent(AgentId(102)))
            .is_some_and(|m| m.is_joined())
    );
    sim.take_events();
    sim.ok_at(
        3_000,
        Op::ApplyToShiftPresident,
        101,
        json!({ "destAgentNo": 102 }),
    );
    sim.ok_at(3_000, Op::ForceLogout, 102, Value::Null);
    sim.advance_to(4_000);
    let heard: Vec<&str> = sim.events_of(102).into_iter().map(|e| e.1).collect();
    assert!(!heard.contains(&"AgentConf_PresidentChanged"), "{heard:?}");
    assert_eq!(heard.last().copied(), Some("AgentOther_ShutdownService"));
    assert!(
        sim.platform().conferences().is_empty(),
        "its sign-out ended the conference"
    );
    sim.assert_rebuilds();
}
