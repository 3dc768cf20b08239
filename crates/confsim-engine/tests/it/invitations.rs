//! Inviting (`batchAddParticipant`, A10), answering (`answerAgentConf`, A2) and rejecting
//! (`rejectAgentConf`, A3): the body, the capacity, who rings when, phone numbers that answer
//! after their delay or never, ring timeouts, and the events every party receives.

use crate::support::*;
use confsim_core::state::{Address, MemberStatus};
use confsim_core::{AgentId, AgentState, ConfId, Op};
use serde_json::{Value, json};

/// Chair 101 of an active conference of capacity `capacity`, started at 0; idle agents 102-106,
/// 107 busy, 108 signed out, 109 talking. The log is emptied.
fn chaired(capacity: u32) -> (Sim, ConfId) {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![
            idle(&[101, 102, 103, 104, 105, 106]),
            agents(&[107], AgentState::Busy),
            signed_out(&[108]),
            agents(&[109], AgentState::Talking),
        ],
    );
    let conf = sim.start_conf(0, 101, capacity);
    sim.take_events();
    (sim, conf)
}

fn status(sim: &Sim, conf: ConfId, address: Address) -> Option<MemberStatus> {
    sim.conference(conf)
        .member_at(&address)
        .map(|m| m.status.clone())
}

fn agent(id: u32) -> Address {
    Address::Agent(AgentId(id))
}

// ------------------------------------------------------------------ batchAddParticipant

#[test]
fn invited_agents_ring_and_join_when_they_answer() {
    let (mut sim, conf) = chaired(5);
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102), agent_addr(103)]),
    );
    // Each invitee's phone rings; nobody else hears anything (members do not hear ringing).
    assert_eq!(
        sim.take_events(),
        vec![
            ev(1_000, "AgentConf_Ringing", 102, conf_json(conf)),
            ev(1_000, "AgentConf_Ringing", 103, conf_json(conf)),
        ]
    );
    assert_eq!(
        status(&sim, conf, agent(102)),
        Some(MemberStatus::Ringing {
            timeout: t(1_000 + RING_MS)
        })
    );
    assert_eq!(sim.agent(102).conf, Some(conf));
    // 102 answers: it joins; the chair hears it.
    sim.ok_at(2_000, Op::AnswerAgentConf, 102, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            vec![ev(2_000, "AgentConf_SelfJoinResult", 102, conf_json(conf))],
            told(2_000, &[101], &pc_agent(conf, 102, 0, 255, 0)),
        ]
        .concat()
    );
    let a = sim.agent(102);
    assert_eq!(a.state, AgentState::Talking);
    assert_eq!(status(&sim, conf, agent(102)), Some(MemberStatus::Joined));
    assert_eq!(
        offset(
            sim.conference(conf)
                .member_at(&agent(102))
                .unwrap()
                .enter_time
        ),
        2_000
    );
    // 103 answers: the chair first, then 102, hear it.
    sim.ok_at(3_000, Op::AnswerAgentConf, 103, json!({ "ignored": true }));
    assert_eq!(
        sim.take_events(),
        [
            vec![ev(3_000, "AgentConf_SelfJoinResult", 103, conf_json(conf))],
            told(3_000, &[101, 102], &pc_agent(conf, 103, 0, 255, 0)),
        ]
        .concat()
    );
    assert_invariants(sim.platform());
    sim.assert_rebuilds();
}

#[test]
fn invitations_with_latency_ring_and_join_one_draw_later() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 3 }));
    sim.advance_to(1_000);
    let conf = sim.conf_of(101).unwrap();
    sim.take_events();
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102)]),
    );
    // Invited but not yet ringing: answering is 101-001, as is rejecting.
    assert_rejected(
        &sim.op_at(1_050, Op::AnswerAgentConf, 102, Value::Null),
        "101-001",
        "rings",
    );
    assert_rejected(
        &sim.op_at(1_050, Op::RejectAgentConf, 102, Value::Null),
        "101-001",
        "rings",
    );
    sim.submit_at(1_150, Op::AnswerAgentConf, "102", Value::Null);
    // A second answer while the first is under way is a repeated call.
    assert_rejected(
        &sim.op_at(1_200, Op::AnswerAgentConf, 102, Value::Null),
        "000-007",
        "in progress",
    );
    assert_rejected(
        &sim.op_at(1_200, Op::RejectAgentConf, 102, Value::Null),
        "000-007",
        "in progress",
    );
    sim.advance_to(2_000);
    assert_eq!(
        sim.take_events(),
        vec![
            ev(1_100, "AgentConf_Ringing", 102, conf_json(conf)),
            ev(1_250, "AgentConf_SelfJoinResult", 102, conf_json(conf)),
            ev(
                1_250,
                "AgentConf_ParticipantChanged",
                101,
                pc_agent(conf, 102, 0, 255, 0)
            ),
        ]
    );
    sim.assert_rebuilds();
}

#[test]
fn device_types_given_at_the_invitation_are_in_every_participant_change() {
    let (mut sim, conf) = chaired(4);
    sim.join(500, 101, 103);
    sim.take_events();
    let invitee =
        json!({ "addressType": "9", "address": "102", "deviceCallType": 7, "deviceType": 255 });
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![invitee]),
    );
    sim.ok_at(1_000, Op::AnswerAgentConf, 102, Value::Null);
    sim.ok_at(2_000, Op::RequestLeaveAgentConf, 102, Value::Null);
    let mut joined = pc_agent(conf, 102, 0, 255, 0);
    joined["deviceCallType"] = json!(7);
    joined["deviceType"] = json!(255);
    let mut left = pc_agent(conf, 102, 1, 0, 0);
    left["deviceCallType"] = json!(7);
    left["deviceType"] = json!(255);
    assert_eq!(
        sim.take_events(),
        [
            vec![
                ev(1_000, "AgentConf_Ringing", 102, conf_json(conf)),
                ev(1_000, "AgentConf_SelfJoinResult", 102, conf_json(conf)),
            ],
            told(1_000, &[101, 103], &joined),
            leave_events(2_000, 102, conf, 2),
            told(2_000, &[101, 103], &left),
        ]
        .concat()
    );
}

#[test]
fn a_phone_number_joins_after_its_answer_delay() {
    let (mut sim, conf) = chaired(4);
    sim.join(500, 101, 102);
    sim.take_events();
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr("13800000000")]),
    );
    assert_eq!(sim.take_events(), vec![]);
    assert_eq!(
        status(&sim, conf, Address::Phone("13800000000".into())),
        Some(MemberStatus::Calling {
            due: t(1_000 + ANSWER_MS),
            answers: true
        })
    );
    sim.advance_to(1_000 + ANSWER_MS);
    assert_eq!(
        sim.take_events(),
        told(
            1_000 + ANSWER_MS,
            &[101, 102],
            &pc_phone(conf, "13800000000", 0, 255, 0)
        )
    );
    let m = sim
        .conference(conf)
        .member_at(&Address::Phone("13800000000".into()))
        .unwrap();
    assert!(m.is_joined());
    assert_eq!(offset(m.enter_time), 1_000 + ANSWER_MS);
    sim.assert_rebuilds();
}

#[test]
fn a_phone_number_that_never_answers_leaves_at_the_ring_timeout() {
    let mut platform = meeting_platform();
    platform.phones.no_answer = vec!["5550000".into()];
    let mut sim = Sim::new(platform, vec![idle(&[101])]);
    let conf = sim.start_conf(0, 101, 3);
    sim.take_events();
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr("5550000"), phone_addr("5550001")]),
    );
    sim.advance_to(1_000 + RING_MS + 1);
    assert_eq!(
        sim.take_events(),
        [
            told(
                1_000 + ANSWER_MS,
                &[101],
                &pc_phone(conf, "5550001", 0, 255, 0)
            ),
            told(1_000 + RING_MS, &[101], &pc_phone(conf, "5550000", 1, 6, 1)),
        ]
        .concat()
    );
    assert!(
        sim.conference(conf)
            .member_at(&Address::Phone("5550000".into()))
            .is_none()
    );
    assert_eq!(sim.conference(conf).occupancy(), 2);
    sim.assert_rebuilds();
}

#[test]
fn a_no_answer_rate_of_one_means_no_phone_answers() {
    let mut platform = meeting_platform();
    platform.phones.no_answer_rate = 1.0;
    let mut sim = Sim::new(platform, vec![idle(&[101])]);
    let conf = sim.start_conf(0, 101, 3);
    sim.take_events();
    sim.ok_at(
        0,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr("1")]),
    );
    sim.advance_to(2 * RING_MS);
    assert_eq!(
        sim.take_events(),
        told(RING_MS, &[101], &pc_phone(conf, "1", 1, 6, 1))
    );
}

#[test]
fn an_agent_that_cannot_take_the_call_fails_when_it_would_have_rung() {
    // 107 busy, 108 signed out, 109 talking: accepted, then the invitation fails at once (the
    // latency draw) with reason 6 and result 1; none of them is attached to the conference.
    let (mut sim, conf) = chaired(6);
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(107), agent_addr(108), agent_addr(109)]),
    );
    assert_eq!(
        sim.take_events(),
        [
            told(1_000, &[101], &pc_agent(conf, 107, 1, 6, 1)),
            told(1_000, &[101], &pc_agent(conf, 108, 1, 6, 1)),
            told(1_000, &[101], &pc_agent(conf, 109, 1, 6, 1)),
        ]
        .concat()
    );
    for a in [107, 108, 109] {
        assert_eq!(sim.platform().agent(AgentId(a)).unwrap().conf, None);
    }
    assert_eq!(sim.conference(conf).occupancy(), 1);
    sim.assert_rebuilds();
}

#[test]
fn an_unanswered_agent_invitation_ends_at_the_ring_timeout() {
    let (mut sim, conf) = chaired(4);
    sim.join(500, 101, 103);
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    sim.take_events();
    sim.advance_to(1_000 + RING_MS - 1);
    assert_eq!(sim.take_events(), vec![]);
    sim.advance_to(1_000 + RING_MS);
    assert_eq!(
        sim.take_events(),
        [
            unring_events(1_000 + RING_MS, 102, 3),
            told(1_000 + RING_MS, &[101, 103], &pc_agent(conf, 102, 1, 6, 1)),
        ]
        .concat()
    );
    assert_eq!(sim.agent(102).conf, None);
    assert_eq!(sim.agent(102).state, AgentState::Idle);
    // Answering now is too late.
    assert_rejected(
        &sim.op_at(1_000 + RING_MS, Op::AnswerAgentConf, 102, Value::Null),
        "101-001",
        "rings",
    );
    // And it can be invited again.
    sim.ok_at(
        40_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    assert_eq!(
        sim.take_events(),
        vec![ev(40_000, "AgentConf_Ringing", 102, conf_json(conf))]
    );
    sim.assert_rebuilds();
}

#[test]
fn capacity_counts_the_chair_joined_calling_and_ringing_members() {
    // Capacity 3: the chair and two more.
    let (mut sim, conf) = chaired(3);
    let response = sim.op_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102), agent_addr(103), phone_addr("1")]),
    );
    assert_rejected(&response, "100-007", "room for 3");
    // Refused whole: nobody was invited.
    assert_eq!(sim.conference(conf).occupancy(), 1);
    assert_eq!(sim.agent(102).conf, None);
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102), phone_addr("1")]),
    );
    // The phone is still calling, 102 ringing: no room.
    assert_rejected(
        &sim.op_at(
            1_000,
            Op::BatchAddParticipant,
            101,
            addresses(vec![agent_addr(103)]),
        ),
        "100-007",
        "room",
    );
    // A reject frees a place.
    sim.ok_at(2_000, Op::RejectAgentConf, 102, Value::Null);
    sim.ok_at(
        2_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(103)]),
    );
    assert_eq!(sim.conference(conf).occupancy(), 3);
    assert_invariants(sim.platform());
    sim.assert_rebuilds();
}

#[test]
fn inviting_an_agent_of_another_conference_is_101_003() {
    let (mut sim, conf) = chaired(5);
    // 104 chairs its own conference; 105 is invited there (ringing); 106 applying (latency
    // does not matter: the application exists at once).
    let other = sim.start_conf(100, 104, 4);
    sim.ok_at(
        200,
        Op::BatchAddParticipant,
        104,
        addresses(vec![agent_addr(105)]),
    );
    sim.submit(Op::RequestAgentConf, "106", json!({ "memberNum": 2 }));
    for invitee in [104, 105, 106] {
        let response = sim.op(
            Op::BatchAddParticipant,
            101,
            addresses(vec![agent_addr(102), agent_addr(invitee)]),
        );
        assert_rejected(&response, "101-003", &format!("agent {invitee}"));
    }
    assert_eq!(sim.conference(conf).occupancy(), 1);
    assert_eq!(sim.agent(105).conf, Some(other));
    sim.settle();
    sim.assert_rebuilds();
}

#[test]
fn inviting_a_participant_again_is_000_002() {
    let (mut sim, _) = chaired(5);
    sim.join(500, 101, 102);
    sim.ok_at(
        600,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(103), phone_addr("7")]),
    );
    for address in [
        agent_addr(101),
        agent_addr(102),
        agent_addr(103),
        phone_addr("7"),
    ] {
        let response = sim.op(
            Op::BatchAddParticipant,
            101,
            addresses(vec![address.clone()]),
        );
        assert_rejected(&response, "000-002", "already a participant");
    }
}

#[test]
fn batch_add_bodies_that_are_malformed_are_000_002() {
    let many: Vec<Value> = (0..121)
        .map(|i| phone_addr(&format!("{}", 1000 + i)))
        .collect();
    let bodies = [
        (Value::Null, "addresses is mandatory"),
        (json!([agent_addr(102)]), "JSON object"),
        (json!({ "addresses": [] }), "1 to 120"),
        (json!({ "addresses": many }), "1 to 120"),
        (json!({ "addresses": agent_addr(102) }), "array"),
        (json!({ "addresses": [7] }), "addresses[0]"),
        (
            addresses(vec![json!({ "address": "102" })]),
            "addresses[0].addressType is mandatory",
        ),
        (
            addresses(vec![json!({ "addressType": "9" })]),
            "addresses[0].address is mandatory",
        ),
        (
            addresses(vec![json!({ "addressType": 9, "address": "102" })]),
            "string",
        ),
        (
            addresses(vec![json!({ "addressType": "9", "address": 102 })]),
            "string",
        ),
        (
            addresses(vec![json!({ "addressType": "5", "address": "102" })]),
            "addressType",
        ),
        (
            addresses(vec![json!({ "addressType": "99", "address": "102" })]),
            "addressType",
        ),
        (addresses(vec![phone_addr("")]), "empty"),
        (addresses(vec![phone_addr(&"1".repeat(25))]), "24 bytes"),
        (addresses(vec![agent_addr(100)]), "agent id"),
        (addresses(vec![agent_addr(60_000)]), "agent id"),
        (
            addresses(vec![json!({ "addressType": "9", "address": "0102" })]),
            "agent id",
        ),
        (
            addresses(vec![phone_addr("1"), agent_addr(102), phone_addr("1")]),
            "addresses[2]",
        ),
        (
            addresses(vec![
                json!({ "addressType": "6", "address": "1", "deviceCallType": 256 }),
            ]),
            "deviceCallType",
        ),
        (
            addresses(vec![
                json!({ "addressType": "6", "address": "1", "deviceType": -1 }),
            ]),
            "deviceType",
        ),
        (
            addresses(vec![
                json!({ "addressType": "6", "address": "1", "deviceType": "0" }),
            ]),
            "deviceType",
        ),
        (
            json!({ "addresses": [phone_addr("1")], "beepTone": true }),
            "voicePath",
        ),
        (
            json!({ "addresses": [phone_addr("1")], "beepTone": "true" }),
            "beepTone",
        ),
        (
            json!({ "addresses": [phone_addr("1")], "playMode": 1 }),
            "playMode",
        ),
        (
            json!({ "addresses": [phone_addr("1")], "voicePath": "v".repeat(128) }),
            "voicePath",
        ),
        (
            json!({ "addresses": [phone_addr("1")], "caller": "1".repeat(25) }),
            "caller",
        ),
    ];
    for (body, what) in bodies {
        let (mut sim, conf) = chaired(120);
        let response = sim.op_at(1_000, Op::BatchAddParticipant, 101, body.clone());
        assert_rejected(&response, "000-002", what);
        assert_eq!(sim.conference(conf).occupancy(), 1, "{body}");
        assert_eq!(sim.events(), vec![], "{body}");
    }
    // The limits themselves are fine: 120 addresses in a room of 120 less the chair is not.
    let (mut sim, _) = chaired(120);
    let full: Vec<Value> = (0..119)
        .map(|i| phone_addr(&format!("{}", 1000 + i)))
        .collect();
    let body = json!({
        "addresses": full,
        "beepTone": true,
        "playMode": 2,
        "voicePath": "v".repeat(127),
        "caller": "1".repeat(24),
    });
    assert_retcode(&sim.op_at(1_000, Op::BatchAddParticipant, 101, body), "0");
    assert_eq!(sim.conference(sim.conf_of(101).unwrap()).occupancy(), 120);
}

/// An address list out of range (not only a missing field, as in chair_ops.rs) is refused
/// before the role; with a good body the same callers are 101-002 and 101-001 (chair_ops.rs's
/// role table).
#[test]
fn a_bad_body_is_refused_before_the_role_is_looked_at() {
    let (mut sim, _) = chaired(5);
    sim.join(500, 101, 102);
    // 102 is not chair, 103 has no conference: a bad body is 000-002 for both.
    for agent in [102, 103] {
        assert_rejected(
            &sim.op_at(
                1_000,
                Op::BatchAddParticipant,
                agent,
                json!({ "addresses": [] }),
            ),
            "000-002",
            "addresses",
        );
    }
}

// ------------------------------------------------------------------ answer and reject

#[test]
fn a_reject_releases_the_invitees_phone_and_members_hear_reason_2() {
    let (mut sim, conf) = chaired(5);
    sim.join(500, 101, 103);
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    sim.take_events();
    sim.ok_at(2_000, Op::RejectAgentConf, 102, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            unring_events(2_000, 102, 2),
            told(2_000, &[101, 103], &pc_agent(conf, 102, 1, 2, 1)),
        ]
        .concat()
    );
    let a = sim.agent(102);
    assert_eq!((a.conf, a.state), (None, AgentState::Idle));
    assert!(sim.conference(conf).member_at(&agent(102)).is_none());
    // Nothing is pending for it any more: the ring timeout is gone.
    sim.advance_to(1_000 + RING_MS + 1);
    assert_eq!(sim.take_events(), vec![]);
    // Answering or rejecting again is 101-001.
    assert_rejected(
        &sim.op_at(40_000, Op::RejectAgentConf, 102, Value::Null),
        "101-001",
        "rings",
    );
    assert_rejected(
        &sim.op_at(40_000, Op::AnswerAgentConf, 102, Value::Null),
        "101-001",
        "rings",
    );
    sim.assert_rebuilds();
}

#[test]
fn answer_and_reject_errors() {
    let (mut sim, _) = chaired(5);
    sim.join(500, 101, 102);
    for op in [Op::AnswerAgentConf, Op::RejectAgentConf] {
        // A joined member, the chair included, is already in the conference.
        assert_rejected(
            &sim.op_at(1_000, op, 102, Value::Null),
            "101-003",
            "already in",
        );
        assert_rejected(
            &sim.op_at(1_000, op, 101, Value::Null),
            "101-003",
            "already in",
        );
        // No invitation at all.
        assert_rejected(&sim.op_at(1_000, op, 103, Value::Null), "101-001", "rings");
        assert_rejected(
            &sim.op_at(1_000, op, 108, Value::Null),
            "100-006",
            "not signed in",
        );
        assert_rejected(&sim.submit(op, "1o2", Value::Null), "000-002", "agent id");
    }
    assert_eq!(sim.events().len(), 3, "only the join's events");
}

#[test]
fn answer_and_reject_after_the_conference_ended_are_101_001() {
    let (mut sim, conf) = chaired(5);
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102), agent_addr(103)]),
    );
    sim.ok_at(2_000, Op::ReleaseAgentConf, 101, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            vec![
                ev(1_000, "AgentConf_Ringing", 102, conf_json(conf)),
                ev(1_000, "AgentConf_Ringing", 103, conf_json(conf)),
            ],
            unring_events(2_000, 102, 3),
            told(2_000, &[101], &pc_agent(conf, 102, 1, 3, 1)),
            unring_events(2_000, 103, 3),
            told(2_000, &[101], &pc_agent(conf, 103, 1, 3, 1)),
            leave_events(2_000, 101, conf, 3),
        ]
        .concat()
    );
    assert_rejected(
        &sim.op_at(2_000, Op::AnswerAgentConf, 102, Value::Null),
        "101-001",
        "rings",
    );
    assert_rejected(
        &sim.op_at(2_000, Op::RejectAgentConf, 103, Value::Null),
        "101-001",
        "rings",
    );
    assert!(sim.platform().conferences().is_empty());
    sim.assert_rebuilds();
}

#[test]
fn a_ringing_invitee_cannot_apply_or_be_invited_elsewhere() {
    let (mut sim, _) = chaired(5);
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    assert_rejected(
        &sim.op_at(1_000, Op::RequestAgentConf, 102, json!({ "memberNum": 2 })),
        "101-003",
        "already in",
    );
    sim.start_conf(1_000, 103, 4);
    assert_rejected(
        &sim.op_at(
            1_000,
            Op::BatchAddParticipant,
            103,
            addresses(vec![agent_addr(102)]),
        ),
        "101-003",
        "agent 102",
    );
}

// ------------------------------------------------------------------ races with latency

/// release_agent_conf.rs: "from the moment the request is accepted the conference's timers are
/// cancelled". An invitation made just before the release must not start ringing while the
/// conference is being released (the invitee could not even answer it: 101-001).
#[test]
fn an_invitation_does_not_ring_while_the_conference_is_released() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.advance_to(1_000);
    let conf = sim.conf_of(101).unwrap();
    sim.take_events();
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102)]),
    );
    sim.submit_at(1_050, Op::ReleaseAgentConf, "101", Value::Null);
    sim.advance_to(1_120);
    assert_rejected(
        &sim.op(Op::AnswerAgentConf, 102, Value::Null),
        "101-001",
        "rings",
    );
    sim.advance_to(2_000);
    assert_eq!(
        sim.take_events(),
        [
            told(1_150, &[101], &pc_agent(conf, 102, 1, 3, 1)),
            leave_events(1_150, 101, conf, 3),
        ]
        .concat()
    );
}

/// member_answer.rs: "One latency draw later the invitee joins". An answer accepted just before
/// the ring timeout must not be lost to it.
#[test]
fn an_accepted_answer_is_not_lost_to_the_ring_timeout() {
    let mut platform = latency(100, 100);
    platform.ring_timeout_ms = 30_000;
    let mut sim = Sim::new(platform, vec![idle(&[101, 102])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102)]),
    );
    sim.advance_to(1_100);
    let conf = sim.conf_of(101).unwrap();
    sim.take_events();
    // Ringing since 1.1 s, timing out at 31.1 s; answered at 31.05 s.
    assert_retcode(
        &sim.submit_at(31_050, Op::AnswerAgentConf, "102", Value::Null),
        "0",
    );
    sim.advance_to(40_000);
    assert_eq!(
        sim.take_events(),
        [
            vec![ev(31_150, "AgentConf_SelfJoinResult", 102, conf_json(conf))],
            told(31_150, &[101], &pc_agent(conf, 102, 0, 255, 0)),
        ]
        .concat()
    );
}
