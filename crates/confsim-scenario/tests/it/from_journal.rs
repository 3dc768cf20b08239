//! The report of a journal after the fact (product.md §10.2): for a run's journal, its
//! digest, counts, retcodes and latency percentiles equal the run's own report, on every
//! bundled scenario (the `big-` ones in optimized builds or with `CONFSIM_BIG=1`); a torn
//! tail is left out and named. A journal this build reproduces is reported from its replay, and
//! that report equals the fold's of the same file in every figure.

use confsim_scenario::{Derived, Report, RunOptions, report_journal, report_journal_folded, run};
use std::path::{Path, PathBuf};

fn bundled() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let big = !cfg!(debug_assertions) || std::env::var_os("CONFSIM_BIG").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            big || !p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("big-"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_runs_journal_reports_what_the_run_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let files = bundled();
    assert!(files.len() >= 8, "{files:?}");
    for file in files {
        let scenario = confsim_scenario::load(&file).unwrap();
        let journal = tmp.path().join(format!("{}.jsonl", scenario.name));
        let (ran, bytes) = run(&scenario, &RunOptions::default(), Vec::new()).unwrap();
        std::fs::write(&journal, &bytes).unwrap();
        let got = report_journal(&journal).unwrap();
        assert!(
            got.torn.is_none() && got.state_stopped.is_none(),
            "{file:?}"
        );
        let r = &got.report;
        let name = file.display();
        assert_eq!(got.derived, Derived::Replay, "{name}");
        let folded = report_journal_folded(&journal).unwrap();
        assert_eq!(folded.derived, Derived::Fold, "{name}");
        assert_eq!(figures(r), figures(&folded.report), "{name}");
        assert_eq!(r.digest, ran.digest, "{name}");
        assert_eq!(
            (r.inputs, r.events, r.records),
            (ran.inputs, ran.events, ran.records),
            "{name}"
        );
        assert_eq!(r.journal_bytes, ran.journal_bytes, "{name}");
        assert_eq!(r.counts, ran.counts, "{name}");
        assert_eq!(r.retcodes, ran.retcodes, "{name}");
        assert_eq!(r.latency_ms, ran.latency_ms, "{name}");
        assert_eq!(r.latency_buckets, ran.latency_buckets, "{name}");
        assert_eq!(
            r.active_conferences_at_end, ran.active_conferences_at_end,
            "{name}"
        );
        assert_eq!(
            (r.scenario.as_str(), r.seed),
            (ran.scenario.as_str(), ran.seed),
            "{name}"
        );
        // The timeline is the fold's: at the end, the run's last state.
        let (last, ran_last) = (r.timeline.last().unwrap(), ran.timeline.last().unwrap());
        assert_eq!(
            last.active_conferences, ran_last.active_conferences,
            "{name}"
        );
        assert_eq!(last.busy_agents, ran_last.busy_agents, "{name}");
        let page = confsim_scenario::html::render(r, &[]);
        assert!(page.contains("<svg") && !page.contains("<script"), "{name}");
    }
}

/// A report without what depends on the machine and the moment (times, rates, memory).
fn figures(report: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(report).unwrap();
    let object = v.as_object_mut().unwrap();
    for key in [
        "wall_time_ms",
        "events_per_sec",
        "records_per_sec",
        "peak_memory_bytes",
    ] {
        assert!(object.remove(key).is_some(), "{key}");
    }
    v
}

#[test]
fn a_torn_tail_is_left_out_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = confsim_scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/seed-request.json"),
    )
    .unwrap();
    let (ran, bytes) = run(&scenario, &RunOptions::default(), Vec::new()).unwrap();
    // Cut the last line in the middle.
    let cut = bytes.len() - 10;
    let complete = bytes[..cut].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    let journal = tmp.path().join("torn.jsonl");
    std::fs::write(&journal, &bytes[..cut]).unwrap();
    let got = report_journal(&journal).unwrap();
    assert_eq!(got.derived, Derived::Fold);
    let torn = got.torn.expect("the torn tail is reported");
    assert_eq!(torn.bytes, cut - complete);
    assert_eq!(got.report.records, ran.records - 1);
    assert_eq!(got.report.journal_bytes, complete as u64);
    assert_eq!(
        got.report.digest,
        blake3::hash(&bytes[..complete]).to_hex().to_string()
    );
    // A journal this build does not explain (an event changed in the middle): the counts
    // are still the file's, and the state stops where the fold does, named.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("\"eventType\":\"AgentOther_PhoneAlerting\""))
        .unwrap();
    let changed = lines[i].replace("AgentOther_PhoneAlerting", "AgentState_Ready");
    let mut other: Vec<&str> = lines.clone();
    other[i] = &changed;
    let other_file = tmp.path().join("other.jsonl");
    std::fs::write(&other_file, other.join("\n") + "\n").unwrap();
    let got = report_journal(&other_file).unwrap();
    assert_eq!(got.derived, Derived::Fold);
    let why = got.state_stopped.expect("the fold stops");
    assert!(why.contains(&format!("seq {i}")), "{why}");
    assert_eq!(got.report.records, ran.records);
    let ready = |counts: &std::collections::BTreeMap<String, u64>| {
        counts.get("AgentState_Ready").copied().unwrap_or(0)
    };
    assert_eq!(ready(&got.report.counts), ready(&ran.counts) + 1);

    // Not a journal at all: an error naming the file and the line.
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"not\": \"a journal\"}\n").unwrap();
    let err = report_journal(&bad).unwrap_err();
    assert!(err.is_bad_input());
    assert!(
        err.to_string()
            .contains("bad.jsonl: line 1: not a confsim journal"),
        "{err}"
    );
}

#[test]
fn a_capture_is_folded_not_replayed() {
    // A capture is a real gateway's record: no replay reproduces it byte for byte, so its
    // report is the fold's. The records of a run under a capture's header stand in for one,
    // with what a real gateway sends and the model does not: an event type it does not have,
    // and a success whose content has another shape.
    let tmp = tempfile::tempdir().unwrap();
    let scenario = confsim_scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/seed-request.json"),
    )
    .unwrap();
    let (ran, bytes) = run(&scenario, &RunOptions::default(), Vec::new()).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let (header, records) = text.split_once('\n').unwrap();
    let mut header: serde_json::Value = serde_json::from_str(header).unwrap();
    header["source"] = serde_json::json!({"kind": "capture", "upstream": "127.0.0.1:8043"});
    let as_captured = |records: &str| {
        let file = tmp.path().join("capture.jsonl");
        std::fs::write(&file, format!("{header}\n{records}")).unwrap();
        report_journal(&file).unwrap()
    };
    let got = as_captured(records);
    assert_eq!(got.derived, Derived::Fold);
    assert_eq!(
        (got.report.records, &got.report.counts, &got.report.retcodes),
        (ran.records, &ran.counts, &ran.retcodes)
    );
    assert_eq!(got.report.latency_ms, ran.latency_ms);

    let vendor = records
        .replace(
            r#""eventType":"AgentOther_PhoneAlerting""#,
            r#""eventType":"AgentOther_VendorOnly""#,
        )
        .replace(
            r#""eventType":"AgentConf_RequestSuccess","workNo":"101","content":{"confId":1030400}"#,
            r#""eventType":"AgentConf_RequestSuccess","workNo":"101","content":{"confId":"1030400","vdn":1}"#,
        );
    assert_ne!(vendor, records);
    let got = as_captured(&vendor);
    let mut counts = ran.counts.clone();
    counts.remove("AgentOther_PhoneAlerting");
    counts.insert("AgentOther_VendorOnly".into(), 1);
    assert_eq!(
        (got.report.records, &got.report.counts, &got.report.retcodes),
        (ran.records, &counts, &ran.retcodes)
    );
    // The success is still the end of the application, however its content reads.
    assert_eq!(got.report.latency_ms, ran.latency_ms);
    let why = got
        .state_stopped
        .expect("the model cannot follow the vendor's event");
    assert!(why.contains("AgentOther_VendorOnly"), "{why}");
}
