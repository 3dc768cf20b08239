//! Journals to replay, made by running scenarios, and the edits the tests make to them.

use confsim_scenario::{RunOptions, Scenario, run};
use std::path::{Path, PathBuf};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn scenario(text: &str) -> Scenario {
    confsim_scenario::parse(text, Path::new("test.json")).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a scenario; returns its journal and the run's digest.
pub fn journal_of(scenario: &Scenario) -> (Vec<u8>, String) {
    let (report, bytes) =
        run(scenario, &RunOptions::default(), Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    (bytes, report.digest)
}

/// The journal of a bundled scenario (`scenarios/NAME.json`).
pub fn bundled(name: &str) -> Vec<u8> {
    let path = workspace_root()
        .join("scenarios")
        .join(format!("{name}.json"));
    let scenario = confsim_scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    journal_of(&scenario).0
}

/// A scenario with platform latency (10-100 ms): two agents apply, one prolongs, one releases,
/// and the platform's timers end what is left. Events land at drawn, uneven times.
pub const BUSY: &str = r#"{
  "name": "busy",
  "seed": 7,
  "agents": [ { "ids": "101-104", "state": "idle" } ],
  "steps": [
    { "at": "0s", "agent": 101, "op": "requestAgentConf", "body": { "memberNum": 3, "time": 10, "promptTime": 3 } },
    { "at": "50ms", "agent": 102, "op": "requestAgentConf", "body": { "memberNum": 2, "time": 5 } },
    { "at": "1s", "agent": 103, "op": "requestAgentConf", "body": { "memberNum": 0 } },
    { "at": "6m", "agent": 101, "op": "prolongTime", "body": { "prolongTime": 3 } },
    { "at": "2m", "agent": 102, "op": "releaseAgentConf" }
  ]
}"#;

pub fn busy() -> Vec<u8> {
    journal_of(&scenario(BUSY)).0
}

/// A journal as its header line and record lines (without `\n`).
pub fn split(journal: &[u8]) -> (String, Vec<String>) {
    let text = std::str::from_utf8(journal).expect("journals are UTF-8");
    let mut lines = text.lines().map(str::to_owned);
    let header = lines.next().expect("a header line");
    (header, lines.collect())
}

pub fn join(header: &str, records: &[String]) -> Vec<u8> {
    let mut out = String::from(header);
    out.push('\n');
    for r in records {
        out.push_str(r);
        out.push('\n');
    }
    out.into_bytes()
}

/// Rewrites every record's `seq` to its position, as a journal edited by hand and then made
/// consistent again would be (a gap would make it not a journal at all).
pub fn renumber(records: &mut [String]) {
    for (i, r) in records.iter_mut().enumerate() {
        let comma = r.find(',').expect("a record has fields after seq");
        *r = format!("{{\"seq\":{}{}", i + 1, &r[comma..]);
    }
}

/// The part of a record line after its `seq`: what moves when two records are swapped.
pub fn after_seq(record: &str) -> &str {
    &record[record.find(',').expect("a record has fields after seq")..]
}

/// The seq (1-based) of the first record line containing `needle`.
pub fn seq_of(records: &[String], needle: &str) -> usize {
    records
        .iter()
        .position(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no record contains {needle}"))
        + 1
}
