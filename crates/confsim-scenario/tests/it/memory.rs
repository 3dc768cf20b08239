//! Memory that does not grow with the run's length: the statistics and the report's
//! timeline hold as many entries after a run ten times longer. Entry counts, not bytes or
//! timing, so the test is exact and cheap; the bytes are measured by `confsim run --json`'s
//! `peak_memory_bytes` (docs/benchmarks.md, "Memory over run length").

use confsim_engine::Observer;
use confsim_journal::JournalReader;
use confsim_scenario::stats::Stats;
use confsim_scenario::timeline::MAX_POINTS;
use confsim_scenario::{RunOptions, run};
use std::path::Path;

const AGENTS: usize = 200;

/// The closed-loop day in small: 200 agents applying, holding 5-70 minutes, thinking a minute.
fn closed_loop(until: &str) -> confsim_scenario::Scenario {
    let text = format!(
        r#"{{"name": "closed-loop-{until}", "seed": 7,
            "platform": {{ "latency": {{ "minMs": 10, "maxMs": 100 }} }},
            "agents": [ {{ "ids": "101-300" }} ],
            "load": [ {{ "agents": "101-300",
                "body": {{ "memberNum": 4, "time": 60, "promptTime": 3 }},
                "arrival": {{ "closed": {{ "concurrency": 200, "thinkTime": "60s" }} }},
                "releaseAfter": {{ "uniform": ["5m", "70m"] }} }} ],
            "until": "{until}"}}"#
    );
    confsim_scenario::parse(&text, Path::new("closed-loop.json")).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the scenario; returns its record count, its timeline's length, and the entries that
/// statistics fed its whole journal hold at the end.
fn entries_after(until: &str) -> (u64, usize, usize) {
    let (report, journal) = run(&closed_loop(until), &RunOptions::default(), Vec::new()).unwrap();
    let mut stats = Stats::new([]);
    for stamped in JournalReader::new(journal.as_slice()).unwrap() {
        let stamped = stamped.unwrap();
        stats.on_record(stamped.seq, stamped.at, &stamped.record);
    }
    assert_eq!(stats.inputs + stats.events, report.records);
    (report.records, report.timeline.len(), stats.held_entries())
}

#[test]
fn statistics_and_timeline_stay_bounded_as_the_run_lengthens() {
    let (short_records, short_points, short_entries) = entries_after("1h");
    let (long_records, long_points, long_entries) = entries_after("10h");
    assert!(
        long_records > 8 * short_records,
        "{short_records} → {long_records}"
    );
    // At most one application under way per agent, and one retcode ("0").
    for entries in [short_entries, long_entries] {
        assert!(entries <= AGENTS + 1, "{entries} entries");
    }
    for points in [short_points, long_points] {
        assert!(points <= MAX_POINTS, "{points} timeline points");
    }
}
