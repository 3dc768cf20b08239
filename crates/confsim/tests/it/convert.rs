//! `confsim convert`: a run's journal becomes a scenario that sends the same inputs at the same
//! offsets and whose expectations hold; a file that is not a journal is exit 2 with its line;
//! an existing output is never overwritten.

use crate::support::{confsim, root};
use confsim_journal::{LooseKind, LooseRecord, read_loose_file};
use std::collections::BTreeMap;
use std::path::Path;

/// Inputs as (offset from the first record, op, agent, body, retcode), and each agent's events.
type Inputs = Vec<(i64, String, String, serde_json::Value, String)>;
type Events = BTreeMap<String, Vec<String>>;

fn digest(path: &Path) -> (Inputs, Events) {
    let records: Vec<LooseRecord> = read_loose_file(path).unwrap().records;
    let first = records.iter().map(|r| r.at).min().unwrap().as_unix_ms();
    let (mut inputs, mut events) = (Vec::new(), Events::new());
    for r in records {
        match r.kind {
            LooseKind::Input {
                op,
                agent,
                body,
                retcode,
                ..
            } => inputs.push((r.at.as_unix_ms() - first, op, agent, body, retcode)),
            LooseKind::Event {
                event_type,
                work_no,
                ..
            } => events.entry(work_no).or_default().push(event_type),
        }
    }
    (inputs, events)
}

#[test]
fn a_runs_journal_converts_to_a_scenario_that_runs_the_same_inputs_with_its_expectations_holding() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "seed-request",
        "full-meeting",
        "from-a-call",
        "platform-checks",
        "prolong-and-warnings",
    ] {
        let scenario = root().join(format!("scenarios/{name}.json"));
        let journal = dir.path().join(format!("{name}.jsonl"));
        let out = confsim(&[
            "run",
            scenario.to_str().unwrap(),
            "--quiet",
            "--journal",
            journal.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{name}");
        let converted = dir.path().join(format!("{name}-converted.json"));
        let out = confsim(&[
            "convert",
            journal.to_str().unwrap(),
            "-o",
            converted.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert!(stderr.contains("sequence expectations"), "{stderr}");
        let again = dir.path().join(format!("{name}-again.jsonl"));
        let out = confsim(&[
            "run",
            converted.to_str().unwrap(),
            "--json",
            "--journal",
            again.to_str().unwrap(),
        ]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {report}");
        let expectations = report["expectations"].as_array().unwrap();
        assert!(!expectations.is_empty(), "{name}");
        assert!(expectations.iter().all(|e| e["ok"] == true), "{name}");
        let (inputs, events) = digest(&journal);
        let (inputs_again, events_again) = digest(&again);
        assert_eq!(
            inputs_again, inputs,
            "{name}: the same inputs at the same offsets"
        );
        assert_eq!(events_again, events, "{name}");
    }
}

#[test]
fn bad_journals_are_exit_2_and_an_existing_output_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let journal = root().join("scenarios/replays/seed-request.jsonl");
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str("{\"seq\": 11, oops\n");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, &text).unwrap();
    let out = confsim(&["convert", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.jsonl") && stderr.contains("line 12"),
        "{stderr}"
    );
    let existing = dir.path().join("mine.json");
    std::fs::write(&existing, "{}").unwrap();
    let out = confsim(&[
        "convert",
        journal.to_str().unwrap(),
        "-o",
        existing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "{}");
    // Without -o the scenario goes to stdout, and it validates.
    let out = confsim(&["convert", journal.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let scenario = dir.path().join("stdout.json");
    std::fs::write(&scenario, &out.stdout).unwrap();
    let out = confsim(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
