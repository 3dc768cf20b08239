//! Rebuild equals live (product.md §4.2): folding the journal, read back from its bytes, gives
//! the engine's platform and pending timers at any point of a run; and the journal is
//! deterministic: the same inputs and seed give the same bytes, another seed other draws.

use crate::support::{self, *};
use confsim_core::{AgentGroup, AgentState, Op, Phase, PlatformConfig};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// One scripted input: offset from the start, path agent, operation, body.
type Line = (i64, &'static str, Op, Value);

/// Given the roster of every rebuild test: idle 101-105, 2001 talking in a stable call, 2002
/// talking in an unstable one, 300 busy.
fn roster() -> Vec<AgentGroup> {
    let mut unstable = agents(&[2002], AgentState::Talking);
    unstable.stable_call = false;
    vec![
        idle(&[101, 102, 103, 104, 105]),
        agents(&[2001], AgentState::Talking),
        unstable,
        agents(&[300], AgentState::Busy),
    ]
}

/// A script touching every phase: applications that succeed and fail, refusals, a
/// prolongation before and after a warning, releases during and after application, ends.
fn script() -> Vec<Line> {
    use Op::*;
    vec![
        (
            0,
            "101",
            RequestAgentConf,
            json!({ "memberNum": 4, "time": 4 }),
        ),
        (
            0,
            "102",
            RequestAgentConf,
            json!({ "memberNum": 4, "time": 10, "promptTime": 3 }),
        ),
        (5, "101", RequestAgentConf, json!({ "memberNum": 4 })),
        (6, "101", ReleaseAgentConf, Value::Null),
        (20, "2001", RequestAgentConf, json!({ "memberNum": 2 })),
        (30, "2002", RequestAgentConf, json!({ "memberNum": 2 })),
        (40, "300", RequestAgentConf, json!({ "memberNum": 2 })),
        (50, "abc", RequestAgentConf, json!({ "memberNum": 2 })),
        (MIN, "102", ProlongTime, json!({ "prolongTime": 5 })),
        (MIN, "103", RequestAgentConf, json!({ "memberNum": 0 })),
        (
            MIN + 1,
            "103",
            RequestAgentConf,
            json!({ "memberNum": 3, "time": 5, "promptTime": 4 }),
        ),
        (2 * MIN, "2001", ReleaseAgentConf, Value::Null),
        (2 * MIN + 1, "2001", ReleaseAgentConf, Value::Null),
        (
            2 * MIN + 2,
            "2001",
            RequestAgentConf,
            json!({ "memberNum": 2 }),
        ),
        (
            3 * MIN,
            "104",
            RequestAgentConf,
            json!({ "memberNum": 2, "time": 6 }),
        ),
        (
            3 * MIN,
            "105",
            RequestAgentConf,
            json!({ "memberNum": 2, "time": 1440 }),
        ),
        (5 * MIN, "104", ProlongTime, json!({ "prolongTime": 2 })),
        (13 * MIN, "102", ProlongTime, json!({ "prolongTime": 1 })),
        (13 * MIN, "105", ProlongTime, json!({ "prolongTime": 100 })),
        (20 * MIN, "105", ReleaseAgentConf, Value::Null),
    ]
}

/// Runs `script` checking rebuild-equals-live after every input and every single timer step.
fn run_checking_every_step(platform: PlatformConfig, seed: u64, script: &[Line]) -> Sim {
    let mut sim = Sim::with_seed(seed, platform, roster());
    sim.assert_rebuilds();
    for (at, agent, op, body) in script {
        while sim.step_once(*at) {
            sim.assert_rebuilds();
        }
        sim.submit_at(*at, *op, agent, body.clone());
        sim.assert_rebuilds();
    }
    while let Some(due) = sim.engine.next_deadline() {
        assert!(sim.step_once(offset(due)));
        sim.assert_rebuilds();
    }
    sim
}

#[test]
fn rebuild_equals_live_at_every_step_with_latency() {
    let sim = run_checking_every_step(latency(10, 100), 11, &script());
    // The run did what the script meant: successes, failures and refusals all happened.
    let events = sim.events();
    let count = |ty| events.iter().filter(|e| e.1 == ty).count();
    assert_eq!(
        count("AgentConf_RequestFailed"),
        2,
        "2002 unstable, 300 busy"
    );
    // 101, 102, 2001, 103, 104, 105 (2001 applies again while its release is under way: 101-003).
    assert_eq!(count("AgentConf_RequestSuccess"), 6);
    assert_eq!(sim.platform().conferences().len(), 0);
}

#[test]
fn rebuild_equals_live_at_every_step_with_zero_latency() {
    let sim = run_checking_every_step(zero_latency(), 11, &script());
    assert_eq!(sim.platform().conferences().len(), 0);
}

#[test]
fn rebuild_equals_live_with_faults_and_a_restricted_vdn() {
    let mut platform = latency(1, 30);
    platform.faults.request_failed_rate = 0.5;
    platform.vdn.max_concurrent_calls = 3;
    platform.vdn.allowed_caller_nos = Some(vec!["10000".into()]);
    let mut script = script();
    script.push((
        21 * MIN,
        "101",
        Op::RequestAgentConf,
        json!({ "memberNum": 4 }),
    ));
    script.push((
        21 * MIN,
        "102",
        Op::RequestAgentConf,
        json!({ "memberNum": 2, "confCallerNo": "999" }),
    ));
    let sim = run_checking_every_step(platform, 5, &script);
    assert!(
        sim.events()
            .iter()
            .any(|e| e.1 == "AgentConf_RequestFailed" && e.3 == json!({ "cause": 21203 }))
    );
}

#[test]
fn mid_run_with_conferences_applying_active_and_releasing() {
    // Given a run stopped at an instant where one conference applies, one is active (with
    // its warning already fired) and one is being released,
    let mut sim = Sim::new(latency(100, 100), roster());
    sim.submit_at(
        0,
        Op::RequestAgentConf,
        "101",
        json!({ "memberNum": 4, "time": 4 }),
    );
    sim.submit_at(0, Op::RequestAgentConf, "102", json!({ "memberNum": 4 }));
    sim.submit_at(2 * MIN, Op::ReleaseAgentConf, "102", Value::Null);
    sim.submit_at(
        2 * MIN + 10,
        Op::RequestAgentConf,
        "103",
        json!({ "memberNum": 4 }),
    );
    sim.advance_to(2 * MIN + 50);
    let phase = |agent| {
        let conf = sim.conf_of(agent).unwrap();
        sim.platform().conference(conf).unwrap().phase.clone()
    };
    assert!(matches!(phase(101), Phase::Active { warn_at: None, .. }));
    assert!(matches!(phase(102), Phase::Releasing { .. }));
    assert!(matches!(phase(103), Phase::Applying { .. }));
    // then folding the journal so far rebuilds all of it, pending timers included.
    sim.assert_rebuilds();
    assert_eq!(sim.engine.pending_timers().len(), 3);
    // And a journal torn mid-line still folds to the state of its complete records.
    let bytes = sim.journal_bytes();
    let torn = &bytes[..bytes.len() - 10];
    let mut reader = confsim_journal::JournalReader::new(torn).unwrap();
    let records: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
    assert!(reader.torn_tail().is_some());
    let (_, all) = read_journal(&bytes);
    assert_eq!(records.len(), all.len() - 1);
    assert_eq!(
        support::fold(&sim.header, &records).platform,
        support::fold(&sim.header, &all[..all.len() - 1]).platform
    );
}

#[test]
fn the_records_read_back_are_the_records_observed() {
    let mut sim = run_checking_every_step(latency(10, 100), 3, &script());
    let (_, records) = sim.read_back();
    let read: Vec<_> = records
        .into_iter()
        .map(|s| (s.seq, s.at, s.record))
        .collect();
    assert_eq!(read, sim.log.records);
    assert_eq!(
        sim.engine.counts(),
        (script().len() as u64, sim.events().len() as u64)
    );
}

/// Runs a script to the end (no checks) and returns the journal's bytes.
fn journal_of(seed: u64, platform: PlatformConfig, script: &[Line]) -> Vec<u8> {
    let mut sim = Sim::with_seed(seed, platform, roster());
    for (at, agent, op, body) in script {
        sim.submit_at(*at, *op, agent, body.clone());
    }
    sim.drain();
    sim.journal_bytes()
}

/// The journal without its header line (which names the seed, so always differs).
fn records_part(bytes: &[u8]) -> &[u8] {
    let newline = bytes.iter().position(|b| *b == b'\n').unwrap();
    &bytes[newline + 1..]
}

#[test]
fn the_same_inputs_and_seed_give_byte_identical_journals() {
    let a = journal_of(42, latency(10, 100), &script());
    let b = journal_of(42, latency(10, 100), &script());
    assert_eq!(a, b);
    // And the engine's summary is of exactly these bytes.
    let mut sim = Sim::with_seed(42, latency(10, 100), roster());
    for (at, agent, op, body) in script() {
        sim.submit_at(at, op, agent, body);
    }
    sim.drain();
    let (_, records) = read_journal(&a);
    let (summary, _, platform) = sim.engine.finish().unwrap();
    assert_eq!(summary.bytes, a.len() as u64);
    assert_eq!(summary.records, records.len() as u64);
    assert_eq!(summary.digest.len(), 64, "a hex BLAKE3 digest");
    assert_eq!(platform, support::fold(&sim.header, &records).platform);
}

#[test]
fn another_seed_with_latency_changes_the_records() {
    let a = journal_of(1, latency(10, 100), &script());
    let b = journal_of(2, latency(10, 100), &script());
    assert_ne!(records_part(&a), records_part(&b));
    // With zero latency there is nothing to draw: only the header's seed differs.
    let a = journal_of(1, zero_latency(), &script());
    let b = journal_of(2, zero_latency(), &script());
    assert_ne!(a, b);
    assert_eq!(records_part(&a), records_part(&b));
}

// ------------------------------------------------------------------ property

/// Agents the property picks from: three idle, one talking, one busy, and a bad path id.
const PATHS: [&str; 6] = ["101", "102", "103", "2001", "300", "abc"];

/// An index into `PATHS`, favouring the agents that can hold a conference.
fn agent() -> impl Strategy<Value = usize> {
    prop::sample::select(vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5])
}

#[derive(Clone, Debug)]
enum Cmd {
    Request(Value),
    Release,
    Prolong(Value),
}

/// An optional field: mostly absent or valid, sometimes invalid.
fn field(valid: Vec<Value>, invalid: Vec<Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        4 => prop::sample::select(valid).prop_map(Some),
        1 => prop::sample::select(invalid).prop_map(Some),
    ]
}

/// A `requestAgentConf` body, valid most of the time, with short durations so that warnings
/// and ends happen within a run.
fn request_body() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            8 => prop::sample::select(vec![json!(1), json!(4), json!(120)]).prop_map(Some),
            1 => Just(None),
            1 => prop::sample::select(vec![json!(0), json!(121), json!("4"), json!(4.5)])
                .prop_map(Some),
        ],
        field(
            vec![json!(4), json!(5), json!(10), json!(1440)],
            vec![json!(3), json!(1441)],
        ),
        field(
            vec![json!(3), json!(4), json!(10)],
            vec![json!(2), json!("3")],
        ),
        field(vec![json!(false)], vec![json!(true), json!("true")]),
        field(vec![json!("y:/conf/1/a.V3")], vec![json!(""), json!(7)]),
    )
        .prop_map(|(members, time, prompt, beep, voice)| {
            let mut body = Map::new();
            for (key, value) in [
                ("memberNum", members),
                ("time", time),
                ("promptTime", prompt),
                ("beepTone", beep),
                ("voicePath", voice),
            ] {
                if let Some(v) = value {
                    body.insert(key.to_owned(), v);
                }
            }
            Value::Object(body)
        })
}

fn prolong_body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec![json!(1), json!(5), json!(100), json!(1440)]),
        1 => prop::sample::select(vec![json!(0), json!(1441), json!("5"), json!(null)]),
    ]
    .prop_map(|v| json!({ "prolongTime": v }))
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        2 => request_body().prop_map(Cmd::Request),
        1 => Just(Cmd::Release),
        2 => prolong_body().prop_map(Cmd::Prolong),
    ]
}

/// The gap before an input: none, some milliseconds (inside an application's latency), or
/// minutes (across warnings and ends).
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => Just(0),
        2 => 0..250i64,
        3 => 0..(3 * MIN),
        1 => 0..(12 * MIN),
    ]
}

fn platform() -> impl Strategy<Value = PlatformConfig> {
    (
        0..60u64,
        0..200u64,
        prop::sample::select(vec![0.0, 0.0, 0.3]),
    )
        .prop_map(|(min, width, faults)| {
            let mut p = latency(min, min + width);
            p.faults.request_failed_rate = faults;
            p
        })
}

/// Runs the inputs; when `check`, asserts rebuild-equals-live after every input and at the end.
fn run_random(
    seed: u64,
    platform: &PlatformConfig,
    inputs: &[(i64, usize, Cmd)],
    check: bool,
) -> Vec<u8> {
    let mut sim = Sim::with_seed(seed, platform.clone(), roster());
    let mut at = 0;
    for (gap, agent, cmd) in inputs {
        at += gap;
        let path = PATHS[*agent];
        let (op, body) = match cmd {
            Cmd::Request(body) => (Op::RequestAgentConf, body.clone()),
            Cmd::Release => (Op::ReleaseAgentConf, Value::Null),
            Cmd::Prolong(body) => (Op::ProlongTime, body.clone()),
        };
        sim.submit_at(at, op, path, body);
        if check {
            sim.assert_rebuilds();
        }
    }
    sim.drain();
    if check {
        sim.assert_rebuilds();
        // Everything ends: no conference and no timer is left.
        assert_eq!(sim.platform().conferences().len(), 0);
        assert_eq!(sim.engine.pending_timers(), vec![]);
    }
    sim.journal_bytes()
}

/// 64 cases a run (proptest seeds each run afresh, so every run tries new ones);
/// `PROPTEST_CASES` sets another count, for a long hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_runs_rebuild_and_are_deterministic(
        seed in any::<u64>(),
        platform in platform(),
        inputs in prop::collection::vec((gap(), agent(), cmd()), 1..30),
    ) {
        let first = run_random(seed, &platform, &inputs, true);
        let second = run_random(seed, &platform, &inputs, false);
        prop_assert!(first == second, "the same inputs and seed give the same journal bytes");
    }
}
