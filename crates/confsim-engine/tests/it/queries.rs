//! `queryConfInfos` (A18, the §5.3 result shape) and `queryAllConfIds` (A19, inspectors only):
//! who sees which conference, every field of the answer, and the refusals.

use crate::support::*;
use confsim_core::{ConfId, Op};
use serde_json::{Value, json};

/// Chair 101 (capacity 5) from 0 with 102 joined at 1 s, phone "5551" joined at 7 s (invited
/// at 2 s), 103 invited at 2 s and not answering (gone at 32 s); another conference chaired by
/// 104 from 500 ms; 105 idle, 106 an inspector, 107 signed out. Just before 90 s, log emptied.
fn two_meetings() -> (Sim, ConfId, ConfId) {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![
            idle(&[101, 102, 103, 104, 105]),
            inspector(&[106]),
            signed_out(&[107]),
        ],
    );
    let a = sim.start_conf(0, 101, 5);
    let b = sim.start_conf(500, 104, 2);
    sim.join(1_000, 101, 102);
    sim.ok_at(
        2_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr("5551"), agent_addr(103)]),
    );
    sim.advance_to(90_000 - 1);
    sim.take_events();
    (sim, a, b)
}

/// The §5.3 element of `two_meetings`' first conference at `now_ms`, before 103 answers.
fn info_a(conf: ConfId, now_ms: i64) -> Value {
    let member = |address: &str, kind: &str, role: u8, enter: i64| {
        json!({
            "addressType": kind,
            "address": address,
            "deviceCallType": 0,
            "deviceType": 0,
            "channelAttrib": 3,
            "channelState": 0,
            "role": role,
            "enterTime": t(enter).as_unix_ms(),
        })
    };
    json!({
        "confId": conf.0,
        "confState": 0,
        "startTime": t(0).as_unix_ms(),
        "applyConfTime": 60,
        "confHaveBeenTime": now_ms / MIN,
        "addresses": [
            member("101", "9", 1, 0),
            member("102", "9", 0, 1_000),
            member("5551", "6", 0, 2_000 + ANSWER_MS),
        ],
    })
}

#[test]
fn members_see_their_own_conference_with_every_field() {
    let mut sim = Sim::new(
        meeting_platform(),
        vec![
            idle(&[101, 102, 103, 104, 105]),
            inspector(&[106]),
            signed_out(&[107]),
        ],
    );
    let a = sim.start_conf(0, 101, 5);
    sim.start_conf(500, 104, 2);
    sim.join(1_000, 101, 102);
    sim.ok_at(
        2_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![phone_addr("5551"), agent_addr(103)]),
    );
    sim.advance_to(30_000);
    // Joined members only: 103 is still ringing and is not listed.
    for agent in [101, 102, 103] {
        let response = sim.op(Op::QueryConfInfos, agent, json!({ "confIds": [a.0] }));
        assert_success(&response, json!([info_a(a, 30_000)]));
    }
    // Whole minutes elapsed, as time goes on.
    sim.ok_at(31_000, Op::AnswerAgentConf, 103, Value::Null);
    sim.advance_to(2 * MIN + 59_999);
    let result = sim.query(101, &[a]);
    assert_eq!(result[0]["confHaveBeenTime"], json!(2));
    assert_eq!(result[0]["addresses"].as_array().unwrap().len(), 4);
    assert_eq!(result[0]["addresses"][3]["address"], json!("103"));
    assert_eq!(
        result[0]["addresses"][3]["enterTime"],
        json!(t(31_000).as_unix_ms())
    );
    // A prolongation shows in applyConfTime.
    assert_retcode(
        &sim.op(Op::ProlongTime, 101, json!({ "prolongTime": 5 })),
        "0",
    );
    assert_eq!(sim.query(102, &[a])[0]["applyConfTime"], json!(65));
    // Queries change nothing and are journaled like any input.
    sim.assert_rebuilds();
}

#[test]
fn others_see_nothing_of_a_conference_not_theirs() {
    let (mut sim, a, b) = two_meetings();
    // 104 asks for both: only its own comes back; 105 gets an empty array; unknown ids are
    // left out.
    assert_eq!(
        sim.query(104, &[a, b, ConfId(1)]).as_array().unwrap().len(),
        1
    );
    assert_eq!(sim.query(104, &[a, b])[0]["confId"], json!(b.0));
    assert_eq!(sim.query(105, &[a, b]), json!([]));
    assert_eq!(sim.query(101, &[ConfId(42)]), json!([]));
}

#[test]
fn an_inspector_sees_every_started_conference() {
    let (mut sim, a, b) = two_meetings();
    // An application under way (with latency it would be visible for longer; here it is just
    // submitted) is not listed.
    sim.submit(Op::RequestAgentConf, "105", json!({ "memberNum": 2 }));
    let applying = sim.conf_of(105).unwrap();
    let result = sim.query(106, &[b, a, applying]);
    let ids: Vec<Value> = result
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["confId"].clone())
        .collect();
    assert_eq!(ids, vec![json!(b.0), json!(a.0)], "in the order asked");
    assert_eq!(
        sim.op(Op::QueryAllConfIds, 106, Value::Null).result,
        json!({ "confIds": [a.0, b.0] })
    );
    sim.settle();
    assert_success(
        &sim.op(Op::QueryAllConfIds, 106, json!({ "ignored": 1 })),
        json!({ "confIds": [a.0, b.0, applying.0] }),
    );
    // A released conference is gone from both.
    sim.ok_at(100_000, Op::ReleaseAgentConf, 104, Value::Null);
    assert_eq!(
        sim.op(Op::QueryAllConfIds, 106, Value::Null).result,
        json!({ "confIds": [a.0, applying.0] })
    );
    assert_eq!(sim.query(106, &[b]), json!([]));
    sim.assert_rebuilds();
}

#[test]
fn query_all_conf_ids_is_for_inspectors_only() {
    let (mut sim, _, _) = two_meetings();
    for agent in [101, 102, 105] {
        assert_rejected(
            &sim.op(Op::QueryAllConfIds, agent, Value::Null),
            "101-004",
            "inspector",
        );
    }
    assert_rejected(
        &sim.op(Op::QueryAllConfIds, 107, Value::Null),
        "100-006",
        "signed in",
    );
    assert_rejected(
        &sim.submit(Op::QueryAllConfIds, "abc", Value::Null),
        "000-002",
        "agent id",
    );
    // With no conference at all, an empty list.
    let mut sim = Sim::new(meeting_platform(), vec![inspector(&[106])]);
    assert_success(
        &sim.op(Op::QueryAllConfIds, 106, Value::Null),
        json!({ "confIds": [] }),
    );
}

#[test]
fn query_conf_infos_bodies() {
    let (mut sim, a, _) = two_meetings();
    let many: Vec<u64> = (0..21).map(|i| a.0 + i).collect();
    for (body, what) in [
        (Value::Null, "confIds is mandatory"),
        (json!({}), "confIds is mandatory"),
        (json!({ "confIds": [] }), "1 to 20"),
        (json!({ "confIds": many }), "1 to 20"),
        (json!({ "confIds": a.0 }), "array"),
        (json!({ "confIds": [a.0.to_string()] }), "confIds[0]"),
        (json!({ "confIds": [a.0, -1] }), "confIds[1]"),
        (json!({ "confIds": [1.5] }), "confIds[0]"),
        (json!([a.0]), "JSON object"),
    ] {
        assert_rejected(&sim.op(Op::QueryConfInfos, 101, body), "000-002", what);
    }
    let twenty: Vec<u64> = (0..20).map(|i| a.0 + i).collect();
    assert_retcode(
        &sim.op(Op::QueryConfInfos, 101, json!({ "confIds": twenty })),
        "0",
    );
    assert_rejected(
        &sim.op(Op::QueryConfInfos, 107, json!({ "confIds": [a.0] })),
        "100-006",
        "signed in",
    );
    assert_rejected(
        &sim.submit(Op::QueryConfInfos, "0", json!({ "confIds": [a.0] })),
        "000-002",
        "agent id",
    );
    assert_eq!(sim.take_events(), vec![]);
}
