//! `confsim sweep` and `confsim report`: exit codes, what goes where, and the files.

use crate::support::{confsim, root};
use std::path::Path;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn bundled(name: &str) -> String {
    root().join("scenarios").join(name).display().to_string()
}

#[test]
fn a_vary_path_the_scenario_does_not_have_is_exit_2_naming_it_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let scenario = bundled("vdn-limit-sweep.json");
    let o = out.display().to_string();
    for (vary, said) in [
        (
            "platform.vdn.maxConcurentCalls=4,8",
            "--vary platform.vdn.maxConcurentCalls=4: platform.vdn.maxConcurentCalls: unknown field `maxConcurentCalls`",
        ),
        (
            "platform.vdn.maxConcurrentCalls=4,x",
            "--vary platform.vdn.maxConcurrentCalls=x: platform.vdn.maxConcurrentCalls:",
        ),
        ("load[2].arrival.poisson.perSecond=1", "there is no load[2]"),
        ("load[0]..x=1", "is not a JSON path"),
    ] {
        let r = confsim(&["sweep", &scenario, "--vary", vary, "--out", &o, "--quiet"]);
        let err = text(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{vary}: {err}");
        assert!(
            err.contains("vdn-limit-sweep.json") && err.contains(said),
            "{vary}: {err}"
        );
        assert!(!out.exists(), "nothing ran, nothing was written");
    }
    for cell in ["4/4", "1", "a/b", "0/0"] {
        let r = confsim(&[
            "sweep",
            &scenario,
            "--vary",
            "until=15m",
            "--cell",
            cell,
            "--quiet",
        ]);
        assert_eq!(r.status.code(), Some(2), "{cell}");
        assert!(text(&r.stderr).contains("--cell"), "{}", text(&r.stderr));
    }
}

#[test]
fn a_sweep_writes_its_files_names_its_knees_and_exits_1_when_runs_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let r = confsim(&[
        "sweep",
        &bundled("vdn-limit-sweep.json"),
        "--vary",
        "platform.vdn.maxConcurrentCalls=6,10",
        "--seeds",
        "2",
        "--jobs",
        "2",
        "--out",
        &out.display().to_string(),
    ]);
    let (stdout, stderr) = (text(&r.stdout), text(&r.stderr));
    // Limit 6 fails the scenario's "at most 300 failures"; 10 holds.
    assert_eq!(r.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("2 cells × 2 seeds = 4 runs"), "{stdout}");
    assert!(
        stdout.contains("knee: count_AgentConf_RequestFailed (count of AgentConf_RequestFailed <= 300) holds at platform.vdn.maxConcurrentCalls=10 and not at platform.vdn.maxConcurrentCalls=6"),
        "{stdout}"
    );
    assert!(
        stderr.contains("expectations failed in 2 of 4 runs"),
        "{stderr}"
    );
    // No progress bar when the output is not a terminal.
    assert!(
        !stderr.contains("runs/s") && !stderr.contains('\r'),
        "{stderr}"
    );
    for f in ["runs.csv", "cells.csv", "sweep.json", "sweep.html"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 5);
    assert!(runs.starts_with("platform.vdn.maxConcurrentCalls,seed,digest,inputs,events,dropped_arrivals,accepted,retcode_0,"), "{runs}");
}

#[test]
fn slices_run_on_their_own_and_merge_into_the_whole_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = bundled("vdn-limit-sweep.json");
    let dir = |name: &str| tmp.path().join(name).display().to_string();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "sweep",
            scenario.as_str(),
            "--vary",
            "platform.vdn.maxConcurrentCalls=10,12",
            "--vary",
            "load[0].arrival.poisson.perSecond=1,2",
            "--seeds",
            "2",
            "--quiet",
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        confsim(&refs)
    };
    let whole = dir("whole");
    assert_eq!(run(args(&["--out", &whole])).status.code(), Some(0));
    let mut slices = Vec::new();
    for k in 0..3 {
        let d = dir(&format!("slice-{k}"));
        let r = run(args(&[
            "--cell",
            &format!("{k}/3"),
            "--out",
            &d,
            "--jobs",
            "1",
        ]));
        assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
        slices.push(d);
    }
    let merged = dir("merged");
    let mut merge: Vec<&str> = vec!["sweep", "--merge"];
    merge.extend(slices.iter().map(String::as_str));
    merge.extend(["--out", merged.as_str()]);
    let r = confsim(&merge);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    for f in ["runs.csv", "cells.csv", "sweep.json", "sweep.html"] {
        let a = std::fs::read(Path::new(&whole).join(f)).unwrap();
        let b = std::fs::read(Path::new(&merged).join(f)).unwrap();
        assert!(
            a == b,
            "{f} of the merged slices differs from the whole sweep's"
        );
    }
    let r = confsim(&["sweep", "--merge", &slices[0], "--out", &dir("partial")]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("slices missing: 1/3, 2/3"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn report_of_a_runs_journal_equals_the_runs_report() {
    let tmp = tempfile::tempdir().unwrap();
    let journal = tmp.path().join("burst.jsonl").display().to_string();
    let ran = confsim(&[
        "run",
        &bundled("capacity-vdn-limit.json"),
        "--journal",
        &journal,
        "--json",
    ]);
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
    let html = tmp.path().join("page.html");
    let reported = confsim(&[
        "report",
        &journal,
        "--json",
        "--html",
        &html.display().to_string(),
    ]);
    assert_eq!(
        reported.status.code(),
        Some(0),
        "{}",
        text(&reported.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&reported.stdout).unwrap();
    for key in [
        "scenario",
        "seed",
        "digest",
        "inputs",
        "events",
        "records",
        "journal_bytes",
        "counts",
        "retcodes",
        "latency_ms",
        "active_conferences_at_end",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(b["clock"], "journal");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("capacity-vdn-limit"));
    // The summary without --json.
    let human = confsim(&["report", &journal]);
    assert_eq!(human.status.code(), Some(0));
    assert!(text(&human.stdout).contains(a["digest"].as_str().unwrap()));
    // Not a journal: exit 2, the file and line named.
    let r = confsim(&["report", &bundled("capacity-vdn-limit.json")]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("capacity-vdn-limit.json: line 1:"),
        "{}",
        text(&r.stderr)
    );
}
