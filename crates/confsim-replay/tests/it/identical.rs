//! Journals that replay identically: every bundled scenario's, one with latency, one written
//! the way the gateway writes (an input after timer events of its own instant), a torn one at
//! every cut, one reformatted by another writer, and one that stopped early.

use crate::support::{self, bundled, busy, join, split};
use confsim_core::{Input, Op, SimDuration};
use confsim_engine::{Engine, Step};
use confsim_replay::{Verdict, replay_bytes, replay_file};
use serde_json::json;

fn assert_identical(name: &str, journal: &[u8]) -> confsim_replay::Outcome {
    let outcome = replay_bytes(name, journal).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        outcome.verdict,
        Verdict::Identical,
        "{name}: {}",
        outcome.human()
    );
    assert!(outcome.ok);
    assert_eq!(outcome.differences, 0);
    assert_eq!(outcome.first_divergence, None);
    outcome
}

/// Every bundled scenario, whichever driver made its inputs (scripted steps, load
/// generators). `big-` scenarios are left to release builds, as the golden test does.
#[test]
fn every_bundled_scenarios_journal_replays_identically_with_its_digest() {
    let mut scenarios: Vec<_> = std::fs::read_dir(support::workspace_root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 4, "{scenarios:?}");
    for path in scenarios {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name.starts_with("big-") && cfg!(debug_assertions) {
            continue;
        }
        let scenario = confsim_scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let (journal, digest) = support::journal_of(&scenario);
        let outcome = assert_identical(&name, &journal);
        assert_eq!(outcome.digest, digest, "{name}");
        let (_, records) = split(&journal);
        assert_eq!(outcome.records, records.len() as u64);
        assert_eq!(outcome.replayed, outcome.records);
        assert_eq!(outcome.scenario, scenario.name);
        assert_eq!(outcome.torn_tail, None);
        assert!(outcome.records_per_sec > 0.0);
    }
}

#[test]
fn a_journal_with_drawn_latencies_replays_identically() {
    let journal = busy();
    let outcome = assert_identical("busy", &journal);
    assert!(outcome.records > 20, "{}", outcome.records);
}

#[test]
fn replaying_a_file_streams_it_to_the_same_outcome() {
    let journal = busy();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.jsonl");
    std::fs::write(&path, &journal).unwrap();
    let from_file = replay_file(&path).unwrap();
    let from_memory = replay_bytes(&path.display().to_string(), &journal).unwrap();
    assert_eq!(from_file.verdict, Verdict::Identical);
    assert_eq!(from_file.digest, from_memory.digest);
    assert_eq!(from_file.records, from_memory.records);
    assert_eq!(from_file.journal, path.display().to_string());
}

/// A gateway records a request when it arrives, after whatever timers of that instant have
/// already fired; the scenario runner submits a step before them. One journal holding both
/// orders replays exactly, because the replay places each input by its `seq`.
#[test]
fn inputs_recorded_after_timer_events_of_their_instant_replay_exactly() {
    let scenario = support::scenario(
        r#"{ "name": "gateway-like", "seed": 11, "agents": [ { "ids": "101-106" } ] }"#,
    );
    let header = confsim_scenario::runner::header(&scenario, scenario.seed);
    let mut engine = Engine::new(&header, Vec::new()).unwrap();
    let request = |agent: u32| {
        Input::new(
            Op::RequestAgentConf,
            agent.to_string(),
            json!({"memberNum": 2, "time": 4}),
        )
    };
    engine.submit(request(101), &mut ()).unwrap();
    for (i, agent) in (102..=106).enumerate() {
        let due = engine.next_deadline().expect("a timer is pending");
        if i % 2 == 0 {
            // Gateway order: what is due at `due` fires, then the request arrives.
            engine.advance_to(due, &mut ()).unwrap();
        } else {
            // Runner order: the request comes first at the same instant.
            engine.set_time(due).unwrap();
        }
        engine.submit(request(agent), &mut ()).unwrap();
    }
    let end = engine.now().saturating_add(SimDuration::from_mins(10));
    while engine.step(end, &mut ()).unwrap() != Step::Idle {}
    let (_, journal, _) = engine.finish().unwrap();

    // The journal really has an input recorded after an event of its own instant.
    let (_, records) = split(&journal);
    let values: Vec<serde_json::Value> = records
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    let after_event = values.windows(2).any(|w| {
        w[0].get("eventType").is_some() && w[1].get("op").is_some() && w[0]["at"] == w[1]["at"]
    });
    assert!(after_event, "the test journal lost its point");

    assert_identical("gateway-like", &journal);
}

#[test]
fn a_torn_tail_replays_every_complete_record_and_says_so() {
    let journal = bundled("seed-request");
    let (header, records) = split(&journal);
    let complete = header.len() + 1;
    // Every cut that leaves a line without its `\n` is a torn tail, wherever it falls.
    let mut cuts = 0;
    for cut in complete + 1..journal.len() {
        if journal[cut - 1] == b'\n' {
            continue;
        }
        let outcome = assert_identical("torn", &journal[..cut]);
        let torn = outcome.torn_tail.as_ref().expect("a torn tail");
        let whole_lines = journal[..cut].iter().filter(|b| **b == b'\n').count() as u64;
        assert_eq!(torn.line, whole_lines + 1);
        assert_eq!(outcome.records, whole_lines - 1);
        assert!(outcome.verdict_line().contains("the tail was torn"));
        cuts += 1;
    }
    assert!(cuts > records.len());
}

#[test]
fn records_equal_as_json_but_written_differently_match_and_are_counted() {
    let journal = bundled("seed-request");
    let (header, mut records) = split(&journal);
    // Another writer's spacing and key order, for the input (which the replay must still
    // read and submit) and for an event.
    for i in [0, 2] {
        let value: serde_json::Value = serde_json::from_str(&records[i]).unwrap();
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.reverse();
        let mut reordered = serde_json::Map::new();
        for key in keys {
            reordered.insert(key.clone(), value[&key].clone());
        }
        records[i] = serde_json::to_string_pretty(&reordered)
            .unwrap()
            .replace('\n', " ");
    }
    let outcome = assert_identical("reformatted", &join(&header, &records));
    assert_eq!(outcome.reformatted, 2);
    assert!(
        outcome
            .verdict_line()
            .contains("2 differ only in formatting")
    );
}

#[test]
fn a_journal_that_stopped_before_its_timers_replays_without_them() {
    // `until` stops the run between the warning (45m) and the end (50m): the replay fires
    // nothing after the journal's last record.
    let path = support::workspace_root().join("scenarios/seed-request.json");
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replacen("\"expect\"", "\"until\": \"47m\", \"expect\"", 1);
    let (journal, _) = support::journal_of(&support::scenario(&text));
    let outcome = assert_identical("until", &journal);
    assert_eq!(outcome.replayed, outcome.records);
    assert!(
        split(&journal)
            .1
            .last()
            .unwrap()
            .contains("AgentConf_Timeout")
    );
}

/// A journal captured before a platform setting existed has no key for it; this build fills in
/// the default, and the records still match. That is noted, not a divergence.
#[test]
fn a_header_written_by_another_version_is_normalized_not_a_divergence() {
    let journal = bundled("seed-request");
    let (header, records) = split(&journal);
    let mut value: serde_json::Value = serde_json::from_str(&header).unwrap();
    let platform = value["platform"].as_object_mut().unwrap();
    let removed = platform.remove("ringTimeoutMs");
    assert!(
        removed.is_some(),
        "the header lost its ringTimeoutMs: pick another default"
    );
    let older = serde_json::to_string(&value).unwrap();
    let outcome = assert_identical("older", &join(&older, &records));
    let fields = outcome.header_normalized.as_ref().expect("noted");
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].field, "platform.ringTimeoutMs");
    assert_eq!(fields[0].expected, None);
    assert!(
        outcome
            .verdict_line()
            .contains("the header is not in this build's form (platform.ringTimeoutMs)"),
        "{}",
        outcome.verdict_line()
    );
    assert_eq!(assert_identical("same", &journal).header_normalized, None);
}
