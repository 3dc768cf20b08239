//! The `requestAgentConf` body (agentgateway.md §5.1, product.md §7.1): every documented range
//! boundary from inside and outside, types, null fields, defaults and the promptTime clamp.

use crate::support::*;
use confsim_core::{AgentId, Timer};
use serde_json::{Value, json};

/// Given idle agent 101 on a zero-latency platform, when it applies with `body` at the start,
/// then this is the synchronous answer (and the sim, settled, to look at what followed).
fn apply_with(body: Value) -> (Sim, confsim_core::Response) {
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101])]);
    let response = sim.request(101, body);
    sim.settle();
    (sim, response)
}

#[track_caller]
fn accepted(body: Value) -> Sim {
    let (sim, response) = apply_with(body.clone());
    assert_success(&response, json!({}));
    // And the application went through: the agent chairs an active conference.
    let conf = sim.conf_of(101).expect("agent 101 is in a conference");
    assert!(
        sim.platform().conference(conf).unwrap().is_active(),
        "{body} gives an active conference"
    );
    sim
}

#[track_caller]
fn refused(body: Value, field: &str) {
    let (sim, response) = apply_with(body.clone());
    assert_rejected(&response, "000-002", field);
    // Nothing started: no conference, no event, no timer.
    assert_eq!(sim.conf_of(101), None, "{body}");
    assert_eq!(sim.events(), vec![], "{body}");
    assert_eq!(sim.engine.pending_timers(), vec![], "{body}");
}

/// The parameters the conference was created with.
fn params(sim: &Sim) -> confsim_core::state::ConfParams {
    let conf = sim.conf_of(101).unwrap();
    sim.platform().conference(conf).unwrap().params.clone()
}

#[test]
fn member_num_1_and_120_are_accepted() {
    for n in [1, 120] {
        let sim = accepted(json!({ "memberNum": n }));
        assert_eq!(params(&sim).member_num, n);
    }
}

#[test]
fn member_num_out_of_range_missing_or_mistyped_is_000_002() {
    refused(json!({ "memberNum": 0 }), "memberNum");
    refused(json!({ "memberNum": 121 }), "memberNum");
    refused(json!({ "memberNum": -1 }), "memberNum");
    refused(json!({}), "memberNum is mandatory");
    refused(json!({ "memberNum": "4" }), "memberNum");
    refused(json!({ "memberNum": 4.5 }), "memberNum");
    refused(json!({ "memberNum": true }), "memberNum");
    refused(json!({ "memberNum": [4] }), "memberNum");
}

#[test]
fn conf_caller_no_is_at_most_24_bytes() {
    // Given 24 ASCII bytes: accepted, and the conference calls out with it.
    let caller = "1".repeat(24);
    let sim = accepted(json!({ "memberNum": 4, "confCallerNo": caller }));
    assert_eq!(&*params(&sim).caller_no, caller);
    // 25 bytes: refused.
    refused(
        json!({ "memberNum": 4, "confCallerNo": "1".repeat(25) }),
        "confCallerNo",
    );
    // Not a string.
    refused(
        json!({ "memberNum": 4, "confCallerNo": 10000 }),
        "confCallerNo",
    );
}

#[test]
fn conf_caller_no_counts_bytes_not_characters() {
    // 12 two-byte characters are 24 bytes: accepted.
    let twelve = "é".repeat(12);
    let sim = accepted(json!({ "memberNum": 4, "confCallerNo": twelve }));
    assert_eq!(&*params(&sim).caller_no, twelve);
    // 13 of them are 13 characters but 26 bytes: refused.
    refused(
        json!({ "memberNum": 4, "confCallerNo": "é".repeat(13) }),
        "confCallerNo",
    );
    // 1 + 24 bytes in 13 characters: refused.
    refused(
        json!({ "memberNum": 4, "confCallerNo": format!("1{}", "é".repeat(12)) }),
        "confCallerNo",
    );
}

#[test]
fn an_absent_or_empty_conf_caller_no_uses_the_vdn_system_number() {
    let sim = accepted(json!({ "memberNum": 4 }));
    assert_eq!(&*params(&sim).caller_no, "10000");
    let sim = accepted(json!({ "memberNum": 4, "confCallerNo": "" }));
    assert_eq!(&*params(&sim).caller_no, "10000");
}

#[test]
fn time_4_and_1440_are_accepted() {
    for time in [4, 1440] {
        let sim = accepted(json!({ "memberNum": 4, "time": time }));
        assert_eq!(params(&sim).time_min, time);
        // The end timer is exactly `time` minutes after the start (zero latency: t0 = 0).
        let conf = sim.conf_of(101).unwrap();
        assert!(
            sim.engine
                .pending_timers()
                .contains(&(t(i64::from(time) * MIN), Timer::End(conf))),
            "time {time}"
        );
    }
}

#[test]
fn time_out_of_range_or_mistyped_is_000_002() {
    refused(json!({ "memberNum": 4, "time": 3 }), "time");
    refused(json!({ "memberNum": 4, "time": 1441 }), "time");
    refused(json!({ "memberNum": 4, "time": "60" }), "time");
    refused(json!({ "memberNum": 4, "time": 60.5 }), "time");
}

#[test]
fn prompt_time_3_and_1440_are_accepted() {
    // promptTime 3 with the default time 60: warning at 57 minutes.
    let sim = accepted(json!({ "memberNum": 4, "promptTime": 3 }));
    assert_eq!(params(&sim).prompt_min, 3);
    // promptTime 1440 with time 1440: clamped to 1439, warning at 1 minute.
    let sim = accepted(json!({ "memberNum": 4, "time": 1440, "promptTime": 1440 }));
    assert_eq!(params(&sim).prompt_min, 1439);
    let conf = sim.conf_of(101).unwrap();
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(MIN), Timer::Warn(conf)),
            (t(1440 * MIN), Timer::End(conf))
        ]
    );
}

#[test]
fn prompt_time_out_of_range_or_mistyped_is_000_002() {
    refused(json!({ "memberNum": 4, "promptTime": 2 }), "promptTime");
    refused(json!({ "memberNum": 4, "promptTime": 1441 }), "promptTime");
    refused(json!({ "memberNum": 4, "promptTime": "5" }), "promptTime");
}

#[test]
fn beep_tone_needs_a_voice_path() {
    // beepTone true without voicePath, with a null one, or with an empty one: refused.
    refused(json!({ "memberNum": 4, "beepTone": true }), "voicePath");
    refused(
        json!({ "memberNum": 4, "beepTone": true, "voicePath": null }),
        "voicePath",
    );
    refused(
        json!({ "memberNum": 4, "beepTone": true, "voicePath": "" }),
        "voicePath",
    );
    // With one: accepted, and the tone file is kept.
    let sim = accepted(json!({
        "memberNum": 4, "beepTone": true, "playMode": 2, "voicePath": "y:/conf/120/1136287.V3"
    }));
    let p = params(&sim);
    assert!(p.beep_tone);
    assert_eq!(p.voice_path.as_deref(), Some("y:/conf/120/1136287.V3"));
    // beepTone false: the voicePath is ignored.
    let sim = accepted(json!({ "memberNum": 4, "beepTone": false, "voicePath": "y:/a" }));
    assert_eq!(params(&sim).voice_path, None);
}

#[test]
fn beep_tone_must_be_a_boolean() {
    refused(
        json!({ "memberNum": 4, "beepTone": "true", "voicePath": "y:/a" }),
        "beepTone",
    );
    refused(
        json!({ "memberNum": 4, "beepTone": 1, "voicePath": "y:/a" }),
        "beepTone",
    );
}

#[test]
fn play_mode_2_is_the_only_value() {
    accepted(json!({ "memberNum": 4, "playMode": 2 }));
    refused(json!({ "memberNum": 4, "playMode": 1 }), "playMode");
    refused(json!({ "memberNum": 4, "playMode": 3 }), "playMode");
    refused(json!({ "memberNum": 4, "playMode": "2" }), "playMode");
}

#[test]
fn voice_path_is_at_most_127_characters() {
    let beep = |path: String| json!({ "memberNum": 4, "beepTone": true, "voicePath": path });
    let sim = accepted(beep("v".repeat(127)));
    assert_eq!(params(&sim).voice_path, Some("v".repeat(127)));
    refused(beep("v".repeat(128)), "voicePath");
    // The limit counts characters: 127 two-byte characters (254 bytes) are accepted.
    accepted(beep("é".repeat(127)));
    refused(beep("é".repeat(128)), "voicePath");
    // Not a string.
    refused(
        json!({ "memberNum": 4, "beepTone": true, "voicePath": 7 }),
        "voicePath",
    );
}

#[test]
fn a_body_that_is_not_an_object_is_000_002() {
    for body in [json!([1]), json!("memberNum"), json!(4), json!(true)] {
        refused(body, "JSON object");
    }
    // No body at all has no fields, so the mandatory memberNum is missing.
    refused(Value::Null, "memberNum is mandatory");
}

#[test]
fn null_fields_count_as_absent() {
    // Given every optional field null: accepted with every default.
    let sim = accepted(json!({
        "memberNum": 4, "confCallerNo": null, "time": null, "promptTime": null,
        "beepTone": null, "playMode": null, "voicePath": null
    }));
    let p = params(&sim);
    assert_eq!(
        (p.time_min, p.prompt_min, &*p.caller_no, p.beep_tone),
        (60, 3, "10000", false)
    );
    // A null mandatory field is a missing one.
    refused(json!({ "memberNum": null }), "memberNum is mandatory");
}

#[test]
fn unknown_fields_are_ignored() {
    accepted(json!({ "memberNum": 4, "colour": "blue" }));
}

#[test]
fn defaults_time_60_and_prompt_3_drive_the_timers() {
    // Given a body with only memberNum, applied at the start with zero latency (t0 = 0),
    let mut sim = accepted(json!({ "memberNum": 4 }));
    let conf = sim.conf_of(101).unwrap();
    // then the warning is due at 60 - 3 = 57 minutes and the end at 60,
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(57 * MIN), Timer::Warn(conf)),
            (t(60 * MIN), Timer::End(conf))
        ]
    );
    // and they fire exactly then.
    sim.take_events();
    sim.drain();
    let times: Vec<(i64, &str)> = sim.events().iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(
        times,
        vec![
            (57 * MIN, "AgentConf_Timeout"),
            (60 * MIN, "AgentOther_PhoneRelease"),
            (60 * MIN, "AgentConf_SelfLeaveResult"),
            (60 * MIN, "AgentState_Ready"),
        ]
    );
}

#[test]
fn prompt_time_at_or_above_time_clamps_to_time_minus_one() {
    // time 4, promptTime 10 → p = 3: the warning comes 1 minute after the start.
    for (time, prompt, warn_min) in [(4, 10, 1), (4, 4, 1), (10, 10, 1), (10, 9, 1), (10, 8, 2)] {
        let mut sim = accepted(json!({ "memberNum": 4, "time": time, "promptTime": prompt }));
        let conf = sim.conf_of(101).unwrap();
        assert_eq!(params(&sim).prompt_min, (prompt).min(time - 1));
        sim.take_events();
        sim.advance_to(i64::from(time) * MIN - 1);
        assert_eq!(
            sim.events(),
            vec![ev(
                i64::from(warn_min) * MIN,
                "AgentConf_Timeout",
                101,
                json!({ "confId": conf.0 })
            )],
            "time {time}, promptTime {prompt}"
        );
        assert_eq!(sim.platform().agent(AgentId(101)).unwrap().conf, Some(conf));
    }
}

/// A load generator shares one body between thousands of inputs, and the platform remembers
/// the last body it applied (by allocation) rather than checking it again: a shared body still
/// gives each conference its parameters, a different body (even between two uses of the first)
/// gives its own, and an invalid body shared the same way is refused every time.
#[test]
fn a_body_shared_between_inputs_gives_the_same_parameters_each_time() {
    use confsim_core::{Input, Op};
    use std::sync::Arc;
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101, 102, 103, 104, 105])]);
    let shared = Arc::new(json!({ "memberNum": 4, "time": 30, "confCallerNo": "777" }));
    let other = Arc::new(json!({ "memberNum": 9, "time": 90 }));
    let invalid = Arc::new(json!({ "memberNum": 0 }));
    let submit = |sim: &mut Sim, agent: &str, body: &Arc<Value>| {
        let input = Input::new(Op::RequestAgentConf, agent, Arc::clone(body));
        let response = sim
            .engine
            .submit(input, &mut sim.log)
            .expect("the journal accepts the input");
        sim.settle();
        response
    };
    for (agent, body) in [("101", &shared), ("102", &other), ("103", &shared)] {
        assert_success(&submit(&mut sim, agent, body), json!({}));
    }
    for _ in 0..2 {
        assert_rejected(&submit(&mut sim, "104", &invalid), "000-002", "memberNum");
    }
    assert_eq!(sim.conf_of(104), None);
    let params_of = |sim: &Sim, agent: u32| {
        let conf = sim.conf_of(agent).expect("in a conference");
        let p = sim.platform().conference(conf).unwrap().params.clone();
        (p.member_num, p.time_min, p.caller_no.to_string())
    };
    assert_eq!(params_of(&sim, 101), (4, 30, "777".to_owned()));
    assert_eq!(params_of(&sim, 102), (9, 90, "10000".to_owned()));
    assert_eq!(params_of(&sim, 103), (4, 30, "777".to_owned()));
    // After the valid shared body was applied, an invalid one is still refused, and the valid
    // one still accepted.
    assert_success(&submit(&mut sim, "105", &shared), json!({}));
    assert_eq!(params_of(&sim, 105), (4, 30, "777".to_owned()));
}
