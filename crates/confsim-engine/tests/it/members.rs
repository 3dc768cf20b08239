//! What happens to members: leaving (`requestLeaveAgentConf`, A4), being removed
//! (`batchRemoveParticipant`, A11), held and unheld (`holdParticipant`, `unholdParticipant`, A6,
//! A7) and muted (`changeParticipantMode`, A12): bodies, refusals, and every party's events.

use crate::support::*;
use confsim_core::state::Address;
use confsim_core::{AgentId, AgentState, ConfId, Op};
use serde_json::{Value, json};

const PHONE: &str = "13800000000";
const MUSIC: &str = "y:/conf/1/hold.V3";

/// Chair 101 with joined agents 102 and 103 and the joined phone `PHONE` (capacity 6), all by
/// 10 s; 104 and 105 idle, 106 signed out. The log is emptied.
fn meeting() -> (Sim, ConfId) {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![idle(&[101, 102, 103, 104, 105]), signed_out(&[106])],
    );
    let conf = sim.start_conf(0, 101, 6);
    sim.join(1_000, 101, 102);
    sim.join(2_000, 101, 103);
    sim.ok_at(
        3_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr(PHONE)]),
    );
    sim.advance_to(10_000);
    assert!(
        sim.conference(conf)
            .member_at(&phone())
            .is_some_and(|m| m.is_joined())
    );
    sim.take_events();
    (sim, conf)
}

fn phone() -> Address {
    Address::Phone(PHONE.into())
}

fn agent(id: u32) -> Address {
    Address::Agent(AgentId(id))
}

/// A participant-operation body naming `address` (from `agent_addr`/`phone_addr`) with `extra`.
fn at(address: Value, extra: Value) -> Value {
    let mut body = address;
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

// ------------------------------------------------------------------ requestLeaveAgentConf

#[test]
fn a_member_leaves_and_the_others_hear_reason_0() {
    let (mut sim, conf) = meeting();
    sim.ok_at(11_000, Op::RequestLeaveAgentConf, 102, Value::Null);
    assert_eq!(
        sim.take_events(),
        [
            leave_events(11_000, 102, conf, 2),
            told(11_000, &[101, 103], &pc_agent(conf, 102, 1, 0, 0)),
        ]
        .concat()
    );
    let a = sim.agent(102);
    assert_eq!((a.conf, a.state), (None, AgentState::Idle));
    assert!(sim.conference(conf).member_at(&agent(102)).is_none());
    // Gone: leaving again is 101-001; it may apply for its own conference now.
    assert_rejected(
        &sim.op_at(11_000, Op::RequestLeaveAgentConf, 102, Value::Null),
        "101-001",
        "no conference",
    );
    assert_retcode(
        &sim.op_at(11_000, Op::RequestAgentConf, 102, json!({ "memberNum": 2 })),
        "0",
    );
    assert_invariants(sim.platform());
    sim.assert_rebuilds();
}

#[test]
fn leave_errors() {
    let (mut sim, _) = meeting();
    sim.ok_at(
        11_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(104)]),
    );
    assert_rejected(
        &sim.op_at(11_000, Op::RequestLeaveAgentConf, 101, Value::Null),
        "101-007",
        "release",
    );
    // A ringing invitee has not joined; 105 has no conference at all.
    assert_rejected(
        &sim.op_at(11_000, Op::RequestLeaveAgentConf, 104, Value::Null),
        "101-001",
        "not joined",
    );
    assert_rejected(
        &sim.op_at(11_000, Op::RequestLeaveAgentConf, 105, Value::Null),
        "101-001",
        "no conference",
    );
    assert_rejected(
        &sim.op_at(11_000, Op::RequestLeaveAgentConf, 106, Value::Null),
        "100-006",
        "not signed in",
    );
    assert_rejected(
        &sim.submit(Op::RequestLeaveAgentConf, "", Value::Null),
        "000-002",
        "agent id",
    );
    assert_eq!(
        sim.take_events(),
        vec![ev(
            11_000,
            "AgentConf_Ringing",
            104,
            conf_json(sim.conf_of(101).unwrap())
        )]
    );
}

#[test]
fn a_second_leave_while_the_first_is_under_way_is_000_007() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102)]),
    );
    sim.submit_at(1_200, Op::AnswerAgentConf, "102", Value::Null);
    sim.advance_to(2_000);
    let conf = sim.conf_of(101).unwrap();
    sim.take_events();
    assert_retcode(
        &sim.op_at(2_000, Op::RequestLeaveAgentConf, 102, Value::Null),
        "0",
    );
    assert_rejected(
        &sim.op_at(2_050, Op::RequestLeaveAgentConf, 102, Value::Null),
        "000-007",
        "in progress",
    );
    // The chair cannot remove it meanwhile either.
    assert_rejected(
        &sim.op_at(
            2_050,
            Op::BatchRemoveParticipant,
            101,
            addresses(vec![agent_addr(102)]),
        ),
        "000-007",
        "in progress",
    );
    sim.advance_to(3_000);
    assert_eq!(
        sim.take_events(),
        [
            leave_events(2_100, 102, conf, 2),
            told(2_100, &[101], &pc_agent(conf, 102, 1, 0, 0)),
        ]
        .concat()
    );
    sim.assert_rebuilds();
}

// ------------------------------------------------------------------ batchRemoveParticipant

#[test]
fn removing_a_joined_agent() {
    let (mut sim, conf) = meeting();
    let response = sim.op_at(
        11_000,
        Op::BatchRemoveParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    assert_success(&response, json!({ "noExistParticipants": [] }));
    assert_eq!(
        sim.take_events(),
        [
            leave_events(11_000, 102, conf, 3),
            told(11_000, &[101, 103], &pc_agent(conf, 102, 1, 1, 0)),
        ]
        .concat()
    );
    assert_eq!(sim.agent(102).conf, None);
    assert_invariants(sim.platform());
    sim.assert_rebuilds();
}

#[test]
fn removing_a_phone_a_calling_phone_and_a_ringing_agent() {
    let (mut sim, conf) = meeting();
    sim.ok_at(
        11_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(104), phone_addr("777")]),
    );
    sim.take_events();
    for (address, events) in [
        (
            phone_addr(PHONE),
            told(12_000, &[101, 102, 103], &pc_phone(conf, PHONE, 1, 1, 0)),
        ),
        (
            phone_addr("777"),
            told(12_000, &[101, 102, 103], &pc_phone(conf, "777", 1, 1, 1)),
        ),
        (
            agent_addr(104),
            [
                unring_events(12_000, 104, 3),
                told(12_000, &[101, 102, 103], &pc_agent(conf, 104, 1, 1, 1)),
            ]
            .concat(),
        ),
    ] {
        let response = sim.op_at(
            12_000,
            Op::BatchRemoveParticipant,
            101,
            addresses(vec![address]),
        );
        assert_success(&response, json!({ "noExistParticipants": [] }));
        assert_eq!(sim.take_events(), events);
    }
    assert_eq!(sim.conference(conf).occupancy(), 3);
    assert_eq!(sim.agent(104).conf, None);
    // The removed phone's answer never comes.
    sim.advance_to(11_000 + RING_MS + 1);
    assert_eq!(sim.take_events(), vec![]);
    sim.assert_rebuilds();
}

#[test]
fn addresses_that_name_no_participant_come_back_as_sent() {
    let (mut sim, conf) = meeting();
    let response = sim.op_at(
        11_000,
        Op::BatchRemoveParticipant,
        101,
        addresses(vec![
            json!({ "addressType": "9", "address": "150", "deviceType": 3 }),
            phone_addr("999"),
            agent_addr(103),
            agent_addr(104),
        ]),
    );
    assert_success(
        &response,
        json!({ "noExistParticipants": [
            { "addressType": "9", "address": "150" },
            { "addressType": "6", "address": "999" },
            { "addressType": "9", "address": "104" },
        ]}),
    );
    assert_eq!(
        sim.take_events(),
        [
            leave_events(11_000, 103, conf, 3),
            told(11_000, &[101, 102], &pc_agent(conf, 103, 1, 1, 0)),
        ]
        .concat()
    );
    // Only unknown addresses: a success that does nothing.
    let response = sim.op_at(
        12_000,
        Op::BatchRemoveParticipant,
        101,
        addresses(vec![phone_addr("1")]),
    );
    assert_success(
        &response,
        json!({ "noExistParticipants": [{ "addressType": "6", "address": "1" }] }),
    );
    assert_eq!(sim.take_events(), vec![]);
    sim.assert_rebuilds();
}

#[test]
fn the_chair_cannot_remove_itself_101_006() {
    let (mut sim, conf) = meeting();
    let response = sim.op_at(
        11_000,
        Op::BatchRemoveParticipant,
        101,
        addresses(vec![agent_addr(102), agent_addr(101)]),
    );
    assert_rejected(&response, "101-006", "itself");
    // Refused whole: 102 is still there.
    assert!(sim.conference(conf).member_at(&agent(102)).is_some());
    assert_eq!(sim.take_events(), vec![]);
}

#[test]
fn batch_remove_errors() {
    let (mut sim, _) = meeting();
    let many: Vec<Value> = (0..31).map(|i| phone_addr(&i.to_string())).collect();
    for (body, what) in [
        (Value::Null, "addresses is mandatory"),
        (json!({ "addresses": [] }), "1 to 30"),
        (json!({ "addresses": many }), "1 to 30"),
        (json!({ "addresses": "102" }), "array"),
        (addresses(vec![json!("102")]), "addresses[0]"),
        (
            addresses(vec![json!({ "addressType": "9" })]),
            "address is mandatory",
        ),
        (
            addresses(vec![json!({ "addressType": "1", "address": "102" })]),
            "addressType",
        ),
        (addresses(vec![phone_addr(&"9".repeat(25))]), "24 bytes"),
        (addresses(vec![agent_addr(99)]), "agent id"),
    ] {
        assert_rejected(
            &sim.op_at(11_000, Op::BatchRemoveParticipant, 101, body),
            "000-002",
            what,
        );
    }
    let thirty: Vec<Value> = (0..30).map(|i| phone_addr(&i.to_string())).collect();
    assert_retcode(
        &sim.op_at(11_000, Op::BatchRemoveParticipant, 101, addresses(thirty)),
        "0",
    );
    // 101-002, 101-001 and 100-006: chair_ops.rs's role table.
    assert_eq!(sim.take_events(), vec![]);
}

/// docs/semantics.md: "`ParticipantChanged` goes to every joined agent member present when the
/// notification fires" and notify.rs: "a member's own ... departure is told to it by its own
/// events". A removal of two agents in one request must not tell the first removed agent,
/// after its own `SelfLeaveResult`, that the second one left.
#[test]
fn a_batch_removal_tells_only_the_members_still_present() {
    let (mut sim, conf) = meeting();
    let response = sim.op_at(
        11_000,
        Op::BatchRemoveParticipant,
        101,
        addresses(vec![agent_addr(102), agent_addr(103), phone_addr(PHONE)]),
    );
    assert_success(&response, json!({ "noExistParticipants": [] }));
    assert_eq!(
        sim.take_events(),
        [
            leave_events(11_000, 102, conf, 3),
            told(11_000, &[101, 103], &pc_agent(conf, 102, 1, 1, 0)),
            leave_events(11_000, 103, conf, 3),
            told(11_000, &[101], &pc_agent(conf, 103, 1, 1, 0)),
            told(11_000, &[101], &pc_phone(conf, PHONE, 1, 1, 0)),
        ]
        .concat()
    );
}

/// The same address twice (not next to each other) removes the member once.
#[test]
fn an_address_listed_twice_is_removed_once() {
    let (mut sim, conf) = meeting();
    let response = sim.op_at(
        11_000,
        Op::BatchRemoveParticipant,
        101,
        addresses(vec![agent_addr(102), phone_addr(PHONE), agent_addr(102)]),
    );
    assert_retcode(&response, "0");
    let events = sim.take_events();
    let left = |e: &&Ev| e.1 == "AgentConf_SelfLeaveResult" && e.2 == 102;
    assert_eq!(events.iter().filter(left).count(), 1, "{events:#?}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.3 == pc_agent(conf, 102, 1, 1, 0))
            .count(),
        2,
        "101 and 103 hear it once each: {events:#?}"
    );
}

// ------------------------------------------------------------------ hold and unhold

#[test]
fn holding_and_unholding_a_phone_is_told_to_every_joined_agent() {
    let (mut sim, conf) = meeting();
    sim.ok_at(
        11_000,
        Op::HoldParticipant,
        101,
        at(
            phone_addr(PHONE),
            json!({ "voicePath": MUSIC, "playMode": 2 }),
        ),
    );
    assert_eq!(
        sim.take_events(),
        told(11_000, &[101, 102, 103], &pc_phone(conf, PHONE, 5, 255, 0))
    );
    assert!(sim.conference(conf).member_at(&phone()).unwrap().held);
    sim.ok_at(12_000, Op::UnholdParticipant, 101, phone_addr(PHONE));
    assert_eq!(
        sim.take_events(),
        told(12_000, &[101, 102, 103], &pc_phone(conf, PHONE, 6, 255, 0))
    );
    assert!(!sim.conference(conf).member_at(&phone()).unwrap().held);
    sim.assert_rebuilds();
}

#[test]
fn a_held_agent_hears_its_own_hold_and_the_chair_may_hold_itself() {
    let (mut sim, conf) = meeting();
    for (target, ms) in [(102, 11_000), (101, 12_000)] {
        sim.ok_at(
            ms,
            Op::HoldParticipant,
            101,
            at(agent_addr(target), json!({ "voicePath": MUSIC })),
        );
        assert_eq!(
            sim.take_events(),
            told(ms, &[101, 102, 103], &pc_agent(conf, target, 5, 255, 0))
        );
    }
}

#[test]
fn hold_takes_effect_at_once_and_is_told_one_draw_later() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.advance_to(1_000);
    let conf = sim.conf_of(101).unwrap();
    sim.take_events();
    sim.submit_at(
        1_000,
        Op::HoldParticipant,
        "101",
        at(agent_addr(101), json!({ "voicePath": MUSIC })),
    );
    assert!(sim.conference(conf).member_at(&agent(101)).unwrap().held);
    let info = sim.query(101, &[conf]);
    assert_eq!(info[0]["addresses"][0]["channelState"], json!(1));
    // Already held: the platform refuses a second hold, even before the first is told.
    assert_rejected(
        &sim.op_at(
            1_050,
            Op::HoldParticipant,
            101,
            at(agent_addr(101), json!({ "voicePath": MUSIC })),
        ),
        "100-007",
        "already held",
    );
    sim.advance_to(2_000);
    assert_eq!(
        sim.take_events(),
        told(1_100, &[101], &pc_agent(conf, 101, 5, 255, 0))
    );
    sim.assert_rebuilds();
}

#[test]
fn hold_and_unhold_refusals() {
    let (mut sim, _) = meeting();
    let hold = |address: Value| at(address, json!({ "voicePath": MUSIC }));
    // Unhold of someone not held, hold of someone held: the platform refuses (100-007).
    assert_rejected(
        &sim.op_at(11_000, Op::UnholdParticipant, 101, agent_addr(102)),
        "100-007",
        "not held",
    );
    sim.ok_at(11_000, Op::HoldParticipant, 101, hold(agent_addr(102)));
    assert_rejected(
        &sim.op_at(11_000, Op::HoldParticipant, 101, hold(agent_addr(102))),
        "100-007",
        "already held",
    );
    // Bodies.
    sim.ok_at(
        11_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(104)]),
    );
    for (op, body, what) in [
        (
            Op::HoldParticipant,
            agent_addr(103),
            "voicePath is mandatory",
        ),
        (
            Op::HoldParticipant,
            at(agent_addr(103), json!({ "voicePath": "" })),
            "voicePath",
        ),
        (
            Op::HoldParticipant,
            at(agent_addr(103), json!({ "voicePath": "v".repeat(128) })),
            "voicePath",
        ),
        (
            Op::HoldParticipant,
            at(agent_addr(103), json!({ "voicePath": 7 })),
            "voicePath",
        ),
        (
            Op::HoldParticipant,
            at(
                agent_addr(103),
                json!({ "voicePath": MUSIC, "playMode": 1 }),
            ),
            "playMode",
        ),
        (
            Op::HoldParticipant,
            at(
                agent_addr(103),
                json!({ "voicePath": MUSIC, "playMode": "2" }),
            ),
            "playMode",
        ),
        (
            Op::HoldParticipant,
            json!({ "address": "103", "voicePath": MUSIC }),
            "addressType is mandatory",
        ),
        (
            Op::HoldParticipant,
            json!({ "addressType": "9", "voicePath": MUSIC }),
            "address is mandatory",
        ),
        (
            Op::HoldParticipant,
            hold(json!({ "addressType": "3", "address": "103" })),
            "addressType",
        ),
        (
            Op::HoldParticipant,
            hold(phone_addr(&"1".repeat(25))),
            "24 bytes",
        ),
        (
            Op::HoldParticipant,
            hold(phone_addr("999")),
            "not a participant",
        ),
        (
            Op::HoldParticipant,
            hold(agent_addr(105)),
            "not a participant",
        ),
        (
            Op::HoldParticipant,
            hold(agent_addr(104)),
            "not a participant",
        ),
        (Op::HoldParticipant, hold(agent_addr(70_000)), "agent id"),
        (
            Op::UnholdParticipant,
            Value::Null,
            "addressType is mandatory",
        ),
        (
            Op::UnholdParticipant,
            json!({ "addressType": "9", "address": 102 }),
            "string",
        ),
        (
            Op::UnholdParticipant,
            phone_addr("999"),
            "not a participant",
        ),
    ] {
        assert_rejected(&sim.op_at(11_000, op, 101, body), "000-002", what);
    }
    // A voicePath of 127 characters is fine; unhold needs none.
    sim.ok_at(
        11_000,
        Op::HoldParticipant,
        101,
        at(agent_addr(103), json!({ "voicePath": "v".repeat(127) })),
    );
    sim.ok_at(11_000, Op::UnholdParticipant, 101, agent_addr(103));
    // 101-002 (a held member included), 101-001 and 100-006: chair_ops.rs's role table.
}

// ------------------------------------------------------------------ changeParticipantMode

#[test]
fn muting_and_unmuting_are_told_other_modes_are_silent() {
    let (mut sim, conf) = meeting();
    let mode = |attribute: u8, address: Value| at(address, json!({ "attribute": attribute }));
    sim.ok_at(
        11_000,
        Op::ChangeParticipantMode,
        101,
        mode(1, agent_addr(102)),
    );
    assert_eq!(
        sim.take_events(),
        told(11_000, &[101, 102, 103], &pc_agent(conf, 102, 3, 255, 0))
    );
    assert_eq!(
        sim.conference(conf).member_at(&agent(102)).unwrap().attrib,
        1
    );
    sim.ok_at(
        12_000,
        Op::ChangeParticipantMode,
        101,
        mode(3, agent_addr(102)),
    );
    assert_eq!(
        sim.take_events(),
        told(12_000, &[101, 102, 103], &pc_agent(conf, 102, 4, 255, 0))
    );
    sim.ok_at(
        13_000,
        Op::ChangeParticipantMode,
        101,
        mode(2, phone_addr(PHONE)),
    );
    sim.ok_at(
        13_000,
        Op::ChangeParticipantMode,
        101,
        mode(4, agent_addr(103)),
    );
    sim.advance_to(20_000);
    assert_eq!(sim.take_events(), vec![]);
    // The query shows the attributes.
    let info = sim.query(101, &[conf]);
    let attribs: Vec<(Value, Value)> = info[0]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["address"].clone(), a["channelAttrib"].clone()))
        .collect();
    assert_eq!(
        attribs,
        vec![
            (json!("101"), json!(3)),
            (json!("102"), json!(3)),
            (json!("103"), json!(4)),
            (json!(PHONE), json!(2)),
        ]
    );
    sim.assert_rebuilds();
}

#[test]
fn change_participant_mode_refusals() {
    let (mut sim, _) = meeting();
    for (body, what) in [
        (agent_addr(102), "attribute is mandatory"),
        (at(agent_addr(102), json!({ "attribute": 0 })), "attribute"),
        (at(agent_addr(102), json!({ "attribute": 5 })), "attribute"),
        (
            at(agent_addr(102), json!({ "attribute": "1" })),
            "attribute",
        ),
        (
            at(agent_addr(102), json!({ "attribute": 1.0 })),
            "attribute",
        ),
        (
            json!({ "attribute": 1, "addressType": "9" }),
            "address is mandatory",
        ),
        (
            at(agent_addr(104), json!({ "attribute": 1 })),
            "not a participant",
        ),
        (
            at(phone_addr("1"), json!({ "attribute": 1 })),
            "not a participant",
        ),
    ] {
        assert_rejected(
            &sim.op_at(11_000, Op::ChangeParticipantMode, 101, body),
            "000-002",
            what,
        );
    }
    // 101-002, 101-001 and 100-006: chair_ops.rs's role table.
    assert_eq!(sim.take_events(), vec![]);
}

/// A notification about a member that left before it fired emits nothing; the rebuild from the
/// journal must still equal the live state (ARCHITECTURE.md "State is the fold").
#[test]
fn a_notification_about_a_member_that_left_first_still_rebuilds() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 4 }));
    sim.submit_at(
        1_000,
        Op::BatchAddParticipant,
        "101",
        addresses(vec![agent_addr(102)]),
    );
    sim.submit_at(1_200, Op::AnswerAgentConf, "102", Value::Null);
    // 102 leaves at 2 s (told at 2.1 s); the chair holds it at 2.05 s (told at 2.15 s, when
    // it is gone: nothing to tell).
    sim.submit_at(2_000, Op::RequestLeaveAgentConf, "102", Value::Null);
    assert_retcode(
        &sim.submit_at(
            2_050,
            Op::HoldParticipant,
            "101",
            at(agent_addr(102), json!({ "voicePath": MUSIC })),
        ),
        "0",
    );
    sim.advance_to(3_000);
    assert!(sim.platform().conferences()[0].pending.is_empty());
    sim.assert_rebuilds();
}
