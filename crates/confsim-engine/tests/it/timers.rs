//! Conference timing (product.md §7.4-§7.6): the warning and the end, exact to the
//! millisecond; `releaseAgentConf` and the timers it cancels; `prolongTime`, its cap and how the
//! warning moves with the end.

use crate::support::*;
use confsim_core::{AgentId, AgentState, ConfId, Op, Timer};
use serde_json::{Value, json};

fn conf_json(conf: ConfId) -> Value {
    json!({ "confId": conf.0 })
}

/// The three release events of one agent, all at `at_ms`.
fn release_events(at_ms: i64, agent: u32, conf: ConfId) -> Vec<Ev> {
    vec![
        ev(
            at_ms,
            "AgentOther_PhoneRelease",
            agent,
            json!({ "phoneState": 3 }),
        ),
        ev(at_ms, "AgentConf_SelfLeaveResult", agent, conf_json(conf)),
        ev(at_ms, "AgentState_Ready", agent, Value::Null),
    ]
}

/// Given idle 101 with zero latency, an active conference applied for at `at_ms` with `body`;
/// the log is emptied so the test sees only what follows.
fn active_at(at_ms: i64, body: Value) -> (Sim, ConfId) {
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101])]);
    assert_success(
        &sim.submit_at(at_ms, Op::RequestAgentConf, "101", body),
        json!({}),
    );
    sim.settle();
    let conf = sim.conf_of(101).unwrap();
    assert!(sim.platform().conference(conf).unwrap().is_active());
    sim.take_events();
    (sim, conf)
}

#[track_caller]
fn assert_released(sim: &Sim, conf: ConfId) {
    let agent = sim.platform().agent(AgentId(101)).unwrap();
    assert_eq!((agent.state, agent.conf), (AgentState::Idle, None));
    assert!(sim.platform().conference(conf).is_none());
    assert_eq!(sim.engine.pending_timers(), vec![]);
}

// ------------------------------------------------------------------ warning and end

#[test]
fn the_warning_and_the_end_fire_exactly_on_time() {
    // Given a conference of 10 minutes with a 4-minute warning, started at 30.5 s,
    let t0 = 30_500;
    let (mut sim, conf) = active_at(t0, json!({ "memberNum": 4, "time": 10, "promptTime": 4 }));
    let (warn, end) = (t0 + 6 * MIN, t0 + 10 * MIN);
    // then nothing happens up to a millisecond before the warning,
    sim.advance_to(warn - 1);
    assert_eq!(sim.events(), vec![]);
    // the chair is warned exactly at t0 + (time - p) minutes,
    sim.advance_to(warn);
    assert_eq!(
        sim.take_events(),
        vec![ev(warn, "AgentConf_Timeout", 101, conf_json(conf))]
    );
    assert_eq!(
        sim.engine.pending_timers(),
        vec![(t(end), Timer::End(conf))]
    );
    // nothing more until a millisecond before the end,
    sim.advance_to(end - 1);
    assert_eq!(sim.events(), vec![]);
    // and at t0 + time minutes the conference is released, in order, at exactly that instant.
    sim.advance_to(end);
    assert_eq!(sim.take_events(), release_events(end, 101, conf));
    assert_released(&sim, conf);
    sim.drain();
    assert_eq!(sim.events(), vec![]);
}

#[test]
fn timer_events_carry_their_due_time_even_with_latency() {
    // With latency, t0 is the RequestSuccess; the warning and the end are exact from it.
    let mut sim = Sim::new(latency(10, 100), vec![idle(&[101])]);
    sim.request(101, json!({ "memberNum": 4, "time": 5, "promptTime": 3 }));
    let conf = sim.conf_of(101).unwrap();
    sim.advance_to(MIN);
    let t0 = sim.take_events().last().unwrap().0;
    sim.drain();
    let mut expected = vec![ev(t0 + 2 * MIN, "AgentConf_Timeout", 101, conf_json(conf))];
    expected.extend(release_events(t0 + 5 * MIN, 101, conf));
    assert_eq!(sim.events(), expected);
    assert_released(&sim, conf);
}

#[test]
fn several_conferences_keep_their_own_timers() {
    // Given three chairs applying at different times with different durations,
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101, 102, 103])]);
    sim.submit_at(
        0,
        Op::RequestAgentConf,
        "101",
        json!({ "memberNum": 2, "time": 6 }),
    );
    sim.submit_at(
        1_000,
        Op::RequestAgentConf,
        "102",
        json!({ "memberNum": 2, "time": 4 }),
    );
    sim.submit_at(
        2_000,
        Op::RequestAgentConf,
        "103",
        json!({ "memberNum": 2, "time": 5, "promptTime": 4 }),
    );
    let confs: Vec<ConfId> = [101, 102, 103].map(|a| sim.conf_of(a).unwrap()).to_vec();
    sim.settle();
    sim.take_events();
    sim.drain();
    // then every timer event comes at its own exact time, in time order.
    let got: Vec<(i64, &str, u32)> = sim.events().iter().map(|e| (e.0, e.1, e.2)).collect();
    assert_eq!(
        got,
        vec![
            (1_000 + MIN, "AgentConf_Timeout", 102),
            (2_000 + MIN, "AgentConf_Timeout", 103),
            (3 * MIN, "AgentConf_Timeout", 101),
            (1_000 + 4 * MIN, "AgentOther_PhoneRelease", 102),
            (1_000 + 4 * MIN, "AgentConf_SelfLeaveResult", 102),
            (1_000 + 4 * MIN, "AgentState_Ready", 102),
            (2_000 + 5 * MIN, "AgentOther_PhoneRelease", 103),
            (2_000 + 5 * MIN, "AgentConf_SelfLeaveResult", 103),
            (2_000 + 5 * MIN, "AgentState_Ready", 103),
            (6 * MIN, "AgentOther_PhoneRelease", 101),
            (6 * MIN, "AgentConf_SelfLeaveResult", 101),
            (6 * MIN, "AgentState_Ready", 101),
        ]
    );
    for conf in confs {
        assert!(sim.platform().conference(conf).is_none());
    }
}

#[test]
fn a_conference_from_a_call_ends_with_the_chair_ready_and_the_peer_gone() {
    let mut sim = Sim::new(zero_latency(), vec![agents(&[2001], AgentState::Talking)]);
    sim.request(2001, json!({ "memberNum": 4, "time": 4 }));
    let conf = sim.conf_of(2001).unwrap();
    sim.settle();
    sim.take_events();
    sim.drain();
    // The customer's leg leaves with the conference (changeReason 3, conference ended), and
    // the chair, still present, hears it before its own leave.
    let peer_left = json!({
        "result": 0, "changeReason": 3, "changeType": 1, "confId": conf,
        "participant": "9002001", "participantType": 6, "deviceCallType": 0, "deviceType": 0
    });
    let mut expected = vec![
        ev(MIN, "AgentConf_Timeout", 2001, conf_json(conf)),
        ev(4 * MIN, "AgentConf_ParticipantChanged", 2001, peer_left),
    ];
    expected.extend(release_events(4 * MIN, 2001, conf));
    assert_eq!(sim.events(), expected);
    let agent = sim.platform().agent(AgentId(2001)).unwrap();
    assert_eq!(
        (agent.state, agent.conf, agent.peer.clone()),
        (AgentState::Idle, None, None)
    );
    assert_eq!(sim.platform().conferences().len(), 0);
}

// ------------------------------------------------------------------ releaseAgentConf

#[test]
fn release_before_request_success_is_101_001() {
    // Zero latency: the sequence is due but not yet fired.
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101])]);
    sim.request(101, json!({ "memberNum": 4 }));
    assert_rejected(&sim.release(101), "101-001", "no conference");
    // With latency: 1 ms after the request, and just before the RequestSuccess.
    let mut sim = Sim::new(latency(10, 100), vec![idle(&[101])]);
    sim.request(101, json!({ "memberNum": 4 }));
    sim.advance_to(1);
    assert_rejected(&sim.release(101), "101-001", "no conference");
    let success = {
        let mut probe = Sim::new(latency(10, 100), vec![idle(&[101])]);
        probe.request(101, json!({ "memberNum": 4 }));
        probe.advance_to(MIN);
        probe.events().last().unwrap().0
    };
    sim.advance_to(success - 1);
    assert_rejected(&sim.release(101), "101-001", "no conference");
    // The refused releases did not disturb the application.
    sim.advance_to(success);
    assert_eq!(sim.events().last().unwrap().1, "AgentConf_RequestSuccess");
    assert_success(&sim.release(101), json!({}));
}

#[test]
fn release_without_any_conference_is_101_001() {
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101])]);
    assert_rejected(&sim.release(101), "101-001", "no conference");
}

#[test]
fn release_emits_the_three_events_and_cancels_both_timers() {
    // Given an active 10-minute conference,
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 10 }));
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(7 * MIN), Timer::Warn(conf)),
            (t(10 * MIN), Timer::End(conf))
        ]
    );
    // when the chair releases at 2 minutes,
    assert_success(
        &sim.submit_at(2 * MIN, Op::ReleaseAgentConf, "101", Value::Null),
        json!({}),
    );
    // then the warning and the end are cancelled at once (only the release step remains),
    let pending = sim.engine.pending_timers();
    assert_eq!(pending.len(), 1);
    assert!(matches!(pending[0], (due, Timer::Step(c, _)) if due == t(2 * MIN) && c == conf));
    // the release events come at the release time (zero latency),
    sim.settle();
    assert_eq!(sim.take_events(), release_events(2 * MIN, 101, conf));
    assert_released(&sim, conf);
    // and no Timeout and no second release ever arrives.
    sim.advance_to(24 * 60 * MIN);
    assert_eq!(sim.events(), vec![]);
}

#[test]
fn release_with_latency_happens_one_draw_after_the_request() {
    let platform = latency(10, 100);
    let cfg = platform.latency;
    let mut sim = Sim::new(platform, vec![idle(&[101])]);
    sim.request(101, json!({ "memberNum": 4 }));
    let conf = sim.conf_of(101).unwrap();
    sim.advance_to(MIN);
    sim.take_events();
    assert_success(&sim.release(101), json!({}));
    // Five draws were used by the application (the first step and four more); the release
    // uses the sixth.
    let d = sim.platform().draws().latency_ms(&cfg, conf, 5) as i64;
    assert!((10..=100).contains(&d));
    assert_eq!(
        sim.engine.pending_timers(),
        vec![(t(MIN + d), Timer::Step(conf, 6))]
    );
    // While the release is under way, another release or a prolongation is 101-001.
    sim.advance_to(MIN + d - 1);
    assert_rejected(&sim.release(101), "101-001", "no conference");
    assert_rejected(
        &sim.prolong(101, json!({ "prolongTime": 5 })),
        "101-001",
        "no conference",
    );
    sim.drain();
    assert_eq!(sim.events(), release_events(MIN + d, 101, conf));
    assert_released(&sim, conf);
}

#[test]
fn release_after_release_is_101_001() {
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4 }));
    assert_success(&sim.release(101), json!({}));
    assert_rejected(&sim.release(101), "101-001", "no conference");
    sim.settle();
    assert_released(&sim, conf);
    assert_rejected(&sim.release(101), "101-001", "no conference");
}

#[test]
fn release_after_the_warning_gives_no_second_warning() {
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 10 }));
    sim.advance_to(8 * MIN);
    assert_eq!(
        sim.take_events(),
        vec![ev(7 * MIN, "AgentConf_Timeout", 101, conf_json(conf))]
    );
    assert_success(&sim.release(101), json!({}));
    sim.drain();
    assert_eq!(sim.events(), release_events(8 * MIN, 101, conf));
}

#[test]
fn release_after_the_end_is_101_001() {
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 4 }));
    sim.advance_to(4 * MIN);
    assert_released(&sim, conf);
    assert_rejected(&sim.release(101), "101-001", "no conference");
}

// ------------------------------------------------------------------ prolongTime

#[test]
fn prolong_time_body_is_validated() {
    let (mut sim, _) = active_at(0, json!({ "memberNum": 4 }));
    for (body, what) in [
        (json!({}), "prolongTime is mandatory"),
        (Value::Null, "prolongTime is mandatory"),
        (json!({ "prolongTime": null }), "prolongTime is mandatory"),
        (json!({ "prolongTime": 0 }), "prolongTime"),
        (json!({ "prolongTime": 1441 }), "prolongTime"),
        (json!({ "prolongTime": -5 }), "prolongTime"),
        (json!({ "prolongTime": "10" }), "prolongTime"),
        (json!({ "prolongTime": 1.5 }), "prolongTime"),
        (json!([10]), "JSON object"),
    ] {
        assert_rejected(&sim.prolong(101, body.clone()), "000-002", what);
    }
    // The refusals moved nothing.
    let conf = sim.conf_of(101).unwrap();
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(57 * MIN), Timer::Warn(conf)),
            (t(60 * MIN), Timer::End(conf))
        ]
    );
    // 1 and 1440 are in range (1440 is capped, see below).
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 1 })),
        json!({ "applyedTime": 1 }),
    );
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 1440 })),
        json!({ "applyedTime": 1440 - 61 }),
    );
}

#[test]
fn prolong_without_an_active_conference_is_101_001() {
    // Never applied.
    let mut sim = Sim::new(zero_latency(), vec![idle(&[101])]);
    assert_rejected(
        &sim.prolong(101, json!({ "prolongTime": 5 })),
        "101-001",
        "no conference",
    );
    // Applying (before RequestSuccess).
    sim.request(101, json!({ "memberNum": 4 }));
    assert_rejected(
        &sim.prolong(101, json!({ "prolongTime": 5 })),
        "101-001",
        "no conference",
    );
    // Released.
    sim.settle();
    sim.release(101);
    sim.settle();
    assert_rejected(
        &sim.prolong(101, json!({ "prolongTime": 5 })),
        "101-001",
        "no conference",
    );
}

#[test]
fn prolong_moves_the_end_and_the_pending_warning() {
    // Given a 10-minute conference (warning at 7), prolonged by 5 at 2 minutes,
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 10 }));
    sim.advance_to(2 * MIN);
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 5 })),
        json!({ "applyedTime": 5 }),
    );
    // then the warning is at 12 and the end at 15,
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(12 * MIN), Timer::Warn(conf)),
            (t(15 * MIN), Timer::End(conf))
        ]
    );
    // and nothing happens at the old times.
    sim.drain();
    let mut expected = vec![ev(12 * MIN, "AgentConf_Timeout", 101, conf_json(conf))];
    expected.extend(release_events(15 * MIN, 101, conf));
    assert_eq!(sim.events(), expected);
}

#[test]
fn a_warning_that_already_fired_fires_again_after_a_prolongation() {
    // Given a 10-minute conference whose warning fired at 7,
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 10 }));
    sim.advance_to(8 * MIN);
    assert_eq!(
        sim.take_events(),
        vec![ev(7 * MIN, "AgentConf_Timeout", 101, conf_json(conf))]
    );
    assert_eq!(
        sim.engine.pending_timers(),
        vec![(t(10 * MIN), Timer::End(conf))]
    );
    // when it is prolonged by 5 at 8 minutes,
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 5 })),
        json!({ "applyedTime": 5 }),
    );
    // then the warning is re-armed for 15 - 3 = 12 and fires again; the end is at 15.
    sim.drain();
    let mut expected = vec![ev(12 * MIN, "AgentConf_Timeout", 101, conf_json(conf))];
    expected.extend(release_events(15 * MIN, 101, conf));
    assert_eq!(sim.events(), expected);
}

#[test]
fn a_warning_whose_new_time_is_already_past_fires_at_once() {
    // Given time 10, promptTime 5: the warning fired at 5;
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 10, "promptTime": 5 }));
    sim.advance_to(9 * MIN + 30_000);
    assert_eq!(sim.take_events().len(), 1);
    // when prolonged by 1 at 9.5 minutes, the new warning time 11 - 5 = 6 is already past,
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 1 })),
        json!({ "applyedTime": 1 }),
    );
    // so it is due at once (at the prolongation's instant, never in the past),
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(9 * MIN + 30_000), Timer::Warn(conf)),
            (t(11 * MIN), Timer::End(conf))
        ]
    );
    // fires then, and the end is at 11.
    sim.settle();
    assert_eq!(
        sim.take_events(),
        vec![ev(
            9 * MIN + 30_000,
            "AgentConf_Timeout",
            101,
            conf_json(conf)
        )]
    );
    sim.drain();
    assert_eq!(sim.events(), release_events(11 * MIN, 101, conf));
}

#[test]
fn a_pending_warning_already_past_after_prolong_also_fires_at_once() {
    // Given time 10, promptTime 9 (warning at 1), prolonged at 30 s by 1: end 11, warning 2.
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 10, "promptTime": 9 }));
    sim.advance_to(30_000);
    sim.prolong(101, json!({ "prolongTime": 1 }));
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(2 * MIN), Timer::Warn(conf)),
            (t(11 * MIN), Timer::End(conf))
        ]
    );
}

#[test]
fn the_whole_conference_lasts_at_most_1440_minutes() {
    // time 1440, prolong 10: nothing can be added.
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 1440 }));
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 10 })),
        json!({ "applyedTime": 0 }),
    );
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(1437 * MIN), Timer::Warn(conf)),
            (t(1440 * MIN), Timer::End(conf))
        ]
    );
    // time 1400, prolong 100 at 10 minutes: 40 are added (the cap counts the whole duration,
    // not the time still to run), and then nothing more.
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 1400 }));
    sim.advance_to(10 * MIN);
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 100 })),
        json!({ "applyedTime": 40 }),
    );
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 1 })),
        json!({ "applyedTime": 0 }),
    );
    assert_eq!(
        sim.engine.pending_timers(),
        vec![
            (t(1437 * MIN), Timer::Warn(conf)),
            (t(1440 * MIN), Timer::End(conf))
        ]
    );
    sim.drain();
    assert_eq!(sim.events().last().unwrap().0, 1440 * MIN);
}

#[test]
fn successive_prolongations_add_up_to_the_cap() {
    let (mut sim, conf) = active_at(5_000, json!({ "memberNum": 4, "time": 1000 }));
    let answers: Vec<Value> = [300, 300, 10]
        .iter()
        .map(|n| sim.prolong(101, json!({ "prolongTime": n })).result)
        .collect();
    assert_eq!(
        answers,
        [
            json!({ "applyedTime": 300 }),
            json!({ "applyedTime": 140 }),
            json!({ "applyedTime": 0 })
        ]
    );
    assert_eq!(
        sim.engine.pending_timers()[1],
        (t(5_000 + 1440 * MIN), Timer::End(conf))
    );
}

#[test]
fn a_prolongation_that_adds_nothing_does_not_re_arm_the_warning() {
    // The end did not move, so the warning that fired stays fired.
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 1440 }));
    sim.advance_to(1438 * MIN);
    assert_eq!(sim.take_events().len(), 1);
    assert_success(
        &sim.prolong(101, json!({ "prolongTime": 10 })),
        json!({ "applyedTime": 0 }),
    );
    sim.drain();
    assert_eq!(sim.events(), release_events(1440 * MIN, 101, conf));
}

#[test]
fn release_after_a_prolongation_cancels_the_moved_timers() {
    let (mut sim, conf) = active_at(0, json!({ "memberNum": 4, "time": 10 }));
    sim.advance_to(8 * MIN);
    sim.prolong(101, json!({ "prolongTime": 10 }));
    sim.advance_to(9 * MIN);
    sim.take_events();
    sim.release(101);
    sim.drain();
    assert_eq!(sim.events(), release_events(9 * MIN, 101, conf));
}
