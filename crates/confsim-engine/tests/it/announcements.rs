//! Announcements (A13-A16): `playVoiceToConf`, `stopVoiceToConf`, `playVoiceToParticipant`,
//! `stopVoiceToParticipant`. They end by themselves after `platform.announcementMs` with
//! `AgentConf_StopVoice` / `AgentConf_StopParticipantVoice` `{"result":0}` to the chair, or one
//! latency draw after a stop; stopping when nothing plays is refused by the platform (`100-007`).

use crate::support::*;
use confsim_core::{AgentId, ConfId, Op};
use serde_json::{Value, json};

const VOICE: &str = "y:/conf/1/welcome.V3";

/// Chair 101 with joined 102 (capacity 4) by 1 s; 103 idle; the log emptied.
fn meeting() -> (Sim, ConfId) {
    let mut sim = Sim::new(meeting_platform(), vec![idle(&[101, 102, 103])]);
    let conf = sim.start_conf(0, 101, 4);
    sim.join(1_000, 101, 102);
    sim.take_events();
    (sim, conf)
}

fn stop_voice(ms: i64) -> Ev {
    ev(ms, "AgentConf_StopVoice", 101, json!({ "result": 0 }))
}

fn stop_participant_voice(ms: i64, chair: u32) -> Ev {
    ev(
        ms,
        "AgentConf_StopParticipantVoice",
        chair,
        json!({ "result": 0 }),
    )
}

fn conf_state(sim: &mut Sim, conf: ConfId) -> Value {
    sim.query(101, &[conf])[0]["confState"].clone()
}

fn channel_states(sim: &mut Sim, conf: ConfId) -> Vec<Value> {
    sim.query(101, &[conf])[0]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["channelState"].clone())
        .collect()
}

#[test]
fn a_conference_announcement_ends_by_itself_after_its_length() {
    let (mut sim, conf) = meeting();
    assert_eq!(conf_state(&mut sim, conf), json!(0));
    sim.ok_at(
        2_000,
        Op::PlayVoiceToConf,
        101,
        json!({ "voicePath": VOICE, "playType": 1, "playMode": 2 }),
    );
    assert_eq!(conf_state(&mut sim, conf), json!(1));
    sim.advance_to(2_000 + VOICE_MS - 1);
    assert_eq!(sim.take_events(), vec![]);
    sim.advance_to(2_000 + VOICE_MS);
    assert_eq!(sim.take_events(), vec![stop_voice(2_000 + VOICE_MS)]);
    assert_eq!(conf_state(&mut sim, conf), json!(0));
    // Nothing plays now: a stop is refused.
    assert_rejected(
        &sim.op_at(30_000, Op::StopVoiceToConf, 101, Value::Null),
        "100-007",
        "no announcement",
    );
    sim.assert_rebuilds();
}

#[test]
fn stopping_a_conference_announcement_ends_it_at_once() {
    let (mut sim, _) = meeting();
    sim.ok_at(
        2_000,
        Op::PlayVoiceToConf,
        101,
        json!({ "voicePath": VOICE }),
    );
    sim.ok_at(3_000, Op::StopVoiceToConf, 101, Value::Null);
    sim.advance_to(60_000);
    assert_eq!(sim.take_events(), vec![stop_voice(3_000)]);
    sim.assert_rebuilds();
}

#[test]
fn a_stop_comes_one_latency_draw_later() {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101])]);
    sim.submit_at(0, Op::RequestAgentConf, "101", json!({ "memberNum": 2 }));
    sim.advance_to(1_000);
    sim.take_events();
    sim.submit_at(
        1_000,
        Op::PlayVoiceToConf,
        "101",
        json!({ "voicePath": VOICE }),
    );
    sim.submit_at(2_000, Op::StopVoiceToConf, "101", Value::Null);
    sim.advance_to(60_000);
    assert_eq!(sim.take_events(), vec![stop_voice(2_100)]);
    sim.assert_rebuilds();
}

#[test]
fn playing_again_restarts_the_announcement() {
    let (mut sim, _) = meeting();
    sim.ok_at(
        2_000,
        Op::PlayVoiceToConf,
        101,
        json!({ "voicePath": VOICE }),
    );
    sim.ok_at(
        12_000,
        Op::PlayVoiceToConf,
        101,
        json!({ "voicePath": VOICE }),
    );
    sim.advance_to(60_000);
    assert_eq!(sim.take_events(), vec![stop_voice(12_000 + VOICE_MS)]);
    sim.assert_rebuilds();
}

#[test]
fn a_channel_announcement_ends_by_itself_or_when_stopped() {
    let (mut sim, conf) = meeting();
    sim.ok_at(
        2_000,
        Op::PlayVoiceToParticipant,
        101,
        json!({ "addressType": "9", "address": "102", "voicePath": VOICE, "playMode": 2 }),
    );
    assert_eq!(channel_states(&mut sim, conf), vec![json!(0), json!(2)]);
    // The conference itself plays nothing.
    assert_eq!(conf_state(&mut sim, conf), json!(0));
    assert_rejected(
        &sim.op_at(2_000, Op::StopVoiceToConf, 101, Value::Null),
        "100-007",
        "no announcement",
    );
    assert_rejected(
        &sim.op_at(2_000, Op::StopVoiceToParticipant, 101, agent_addr(101)),
        "100-007",
        "no announcement",
    );
    sim.advance_to(2_000 + VOICE_MS);
    assert_eq!(
        sim.take_events(),
        vec![stop_participant_voice(2_000 + VOICE_MS, 101)]
    );
    assert_eq!(channel_states(&mut sim, conf), vec![json!(0), json!(0)]);
    // Again, to the chair's own channel, stopped after 1 s.
    sim.ok_at(
        30_000,
        Op::PlayVoiceToParticipant,
        101,
        json!({ "addressType": "9", "address": "101", "voicePath": VOICE }),
    );
    sim.ok_at(31_000, Op::StopVoiceToParticipant, 101, agent_addr(101));
    sim.advance_to(60_000);
    assert_eq!(sim.take_events(), vec![stop_participant_voice(31_000, 101)]);
    sim.assert_rebuilds();
}

#[test]
fn the_end_of_an_announcement_goes_to_the_chair_of_the_moment() {
    let (mut sim, conf) = meeting();
    sim.ok_at(
        2_000,
        Op::PlayVoiceToConf,
        101,
        json!({ "voicePath": VOICE }),
    );
    sim.ok_at(
        2_000,
        Op::PlayVoiceToParticipant,
        101,
        json!({ "addressType": "9", "address": "101", "voicePath": VOICE }),
    );
    sim.ok_at(
        3_000,
        Op::ApplyToShiftPresident,
        101,
        json!({ "destAgentNo": 102 }),
    );
    sim.take_events();
    sim.advance_to(2_000 + VOICE_MS);
    assert_eq!(
        sim.take_events(),
        vec![
            ev(
                2_000 + VOICE_MS,
                "AgentConf_StopVoice",
                102,
                json!({ "result": 0 })
            ),
            stop_participant_voice(2_000 + VOICE_MS, 102),
        ]
    );
    assert_eq!(sim.conference(conf).chair, AgentId(102));
}

#[test]
fn a_channel_announcement_stops_with_its_member_and_a_conference_one_with_the_conference() {
    let (mut sim, conf) = meeting();
    sim.ok_at(
        2_000,
        Op::PlayVoiceToParticipant,
        101,
        json!({ "addressType": "9", "address": "102", "voicePath": VOICE }),
    );
    sim.ok_at(
        2_000,
        Op::PlayVoiceToConf,
        101,
        json!({ "voicePath": VOICE }),
    );
    sim.ok_at(3_000, Op::RequestLeaveAgentConf, 102, Value::Null);
    sim.ok_at(4_000, Op::ReleaseAgentConf, 101, Value::Null);
    sim.advance_to(60_000);
    assert_eq!(
        sim.take_events(),
        [
            leave_events(3_000, 102, conf, 2),
            told(3_000, &[101], &pc_agent(conf, 102, 1, 0, 0)),
            leave_events(4_000, 101, conf, 3),
        ]
        .concat()
    );
    sim.assert_rebuilds();
}

#[test]
fn announcement_bodies_and_targets() {
    let (mut sim, _) = meeting();
    sim.ok_at(
        2_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(103)]),
    );
    let to = |address: Value, extra: Value| {
        let mut b = address;
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (op, body, what) in [
        (Op::PlayVoiceToConf, Value::Null, "voicePath is mandatory"),
        (
            Op::PlayVoiceToConf,
            json!({ "voicePath": "" }),
            "voicePath is mandatory",
        ),
        (
            Op::PlayVoiceToConf,
            json!({ "voicePath": "v".repeat(128) }),
            "voicePath",
        ),
        (
            Op::PlayVoiceToConf,
            json!({ "voicePath": ["a"] }),
            "voicePath",
        ),
        (
            Op::PlayVoiceToConf,
            json!({ "voicePath": VOICE, "playType": 2 }),
            "playType",
        ),
        (
            Op::PlayVoiceToConf,
            json!({ "voicePath": VOICE, "playType": "0" }),
            "playType",
        ),
        (
            Op::PlayVoiceToConf,
            json!({ "voicePath": VOICE, "playMode": 1 }),
            "playMode",
        ),
        (Op::PlayVoiceToConf, json!("play"), "JSON object"),
        (
            Op::PlayVoiceToParticipant,
            json!({ "voicePath": VOICE }),
            "addressType is mandatory",
        ),
        (
            Op::PlayVoiceToParticipant,
            agent_addr(102),
            "voicePath is mandatory",
        ),
        (
            Op::PlayVoiceToParticipant,
            to(
                agent_addr(102),
                json!({ "voicePath": VOICE, "playMode": 3 }),
            ),
            "playMode",
        ),
        (
            Op::PlayVoiceToParticipant,
            to(agent_addr(103), json!({ "voicePath": VOICE })),
            "not a participant",
        ),
        (
            Op::PlayVoiceToParticipant,
            to(phone_addr("1"), json!({ "voicePath": VOICE })),
            "not a participant",
        ),
        (
            Op::StopVoiceToParticipant,
            Value::Null,
            "addressType is mandatory",
        ),
        (
            Op::StopVoiceToParticipant,
            agent_addr(103),
            "not a participant",
        ),
        (
            Op::StopVoiceToParticipant,
            json!({ "addressType": "6", "address": "" }),
            "empty",
        ),
    ] {
        assert_rejected(&sim.op_at(2_000, op, 101, body), "000-002", what);
    }
    // Limits that are fine.
    sim.ok_at(
        2_000,
        Op::PlayVoiceToConf,
        101,
        json!({ "voicePath": "v".repeat(127), "playType": 0 }),
    );
}
