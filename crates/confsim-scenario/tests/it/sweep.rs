//! Sweeps (product.md §10.1): the files are the same bytes whatever the number of threads,
//! slices merge into the whole sweep's files, a `--vary` that does not fit the scenario is an
//! error naming it before anything runs, and `cells.csv` summarizes `runs.csv`.

use confsim_scenario::ScenarioError;
use confsim_scenario::sweep::{self, Plan, Slice, Vary};
use std::path::{Path, PathBuf};

const SCENARIO: &str = r#"{"name": "small-sweep", "seed": 3,
    "platform": {"vdn": {"id": 1, "maxConcurrentCalls": 8, "systemCallerNo": "10000"}},
    "agents": [{"ids": "101-160"}],
    "load": [{"name": "rooms", "agents": "101-160", "body": {"memberNum": {"uniform": [2, 10]}, "time": 10},
              "arrival": {"poisson": {"perSecond": 1}}, "until": "1m", "releaseAfter": {"uniform": ["20s", "1m"]}}],
    "until": "3m",
    "expect": [{"count": "AgentConf_RequestFailed", "max": 12}]}"#;

fn scenario_file(dir: &Path) -> PathBuf {
    let file = dir.join("small.json");
    std::fs::write(&file, SCENARIO).unwrap();
    file
}

fn vary(args: &[&str]) -> Vec<Vary> {
    args.iter().map(|a| Vary::parse(a).unwrap()).collect()
}

fn plan(dir: &Path) -> Plan {
    Plan::new(
        &scenario_file(dir),
        vary(&[
            "platform.vdn.maxConcurrentCalls=4,6,8,10",
            "load[0].arrival.poisson.perSecond=0.5,2",
        ]),
        3,
    )
    .unwrap()
}

const FILES: [&str; 4] = ["runs.csv", "cells.csv", "sweep.json", "sweep.html"];

fn files(dir: &Path) -> Vec<Vec<u8>> {
    FILES
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

fn assert_same_files(a: &Path, b: &Path) {
    for (name, (x, y)) in FILES.iter().zip(files(a).into_iter().zip(files(b))) {
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn the_files_are_the_same_bytes_whatever_the_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan(tmp.path());
    let d = &plan.definition;
    assert_eq!((d.cells, d.runs), (8, 24));
    let mut dirs = Vec::new();
    for jobs in [1, 3] {
        let rows = plan.execute(0..d.runs, jobs, &|_| {}).unwrap();
        assert_eq!(rows.len(), 24);
        let dir = tmp.path().join(format!("jobs-{jobs}"));
        sweep::write_sweep(&dir, d, &rows).unwrap();
        dirs.push(dir);
    }
    assert_same_files(&dirs[0], &dirs[1]);
    // Grid order: the first --vary outermost, seeds innermost.
    let runs = std::fs::read_to_string(dirs[0].join("runs.csv")).unwrap();
    let firsts: Vec<String> = runs
        .lines()
        .skip(1)
        .take(7)
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        firsts,
        [
            "4,0.5,1", "4,0.5,2", "4,0.5,3", "4,2,1", "4,2,2", "4,2,3", "6,0.5,1"
        ]
    );
    // A varied value reaches the run: no room larger than the limit succeeds, so the failures
    // fall as the limit rises.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dirs[0].join("sweep.json")).unwrap()).unwrap();
    let failed = |cell: usize| {
        json["cells"][cell]["metrics"]["count_AgentConf_RequestFailed"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(failed(1) > failed(3) && failed(3) > failed(5), "{json:#}");
    let html = std::fs::read_to_string(dirs[0].join("sweep.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script") && !html.contains("http://"));
}

#[test]
fn slices_merge_into_the_whole_sweeps_files() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan(tmp.path());
    let d = &plan.definition;
    let whole = tmp.path().join("whole");
    sweep::write_sweep(&whole, d, &plan.execute(0..d.runs, 2, &|_| {}).unwrap()).unwrap();
    let n = 5;
    let mut slices = Vec::new();
    for k in 0..n {
        let runs = d.slice(k, n);
        let rows = plan.execute(runs.clone(), 2, &|_| {}).unwrap();
        let dir = tmp.path().join(format!("slice-{k}"));
        let part = Slice {
            index: k,
            count: n,
            first_run: runs.start,
            runs: runs.len(),
        };
        sweep::write_slice(&dir, d, &part, &rows).unwrap();
        slices.push(dir);
    }
    // In any order.
    slices.reverse();
    let (definition, rows) = sweep::merge(&slices).unwrap();
    let merged = tmp.path().join("merged");
    sweep::write_sweep(&merged, &definition, &rows).unwrap();
    assert_same_files(&whole, &merged);

    // A missing slice, a slice twice, a whole sweep's folder: refused, named.
    let message = |e: ScenarioError| e.to_string();
    let err = message(sweep::merge(&slices[1..]).unwrap_err());
    assert!(err.contains("slices missing: 4/5"), "{err}");
    let twice = [slices.clone(), vec![slices[0].clone()]].concat();
    let err = message(sweep::merge(&twice).unwrap_err());
    assert!(err.contains("given twice"), "{err}");
    let err = message(sweep::merge(&[whole]).unwrap_err());
    assert!(err.contains("a whole sweep, not a slice"), "{err}");
    // A slice of another sweep (other seeds).
    let other = Plan::new(
        &scenario_file(tmp.path()),
        vary(&[
            "platform.vdn.maxConcurrentCalls=4,6,8,10",
            "load[0].arrival.poisson.perSecond=0.5,2",
        ]),
        2,
    )
    .unwrap();
    let od = &other.definition;
    let runs = od.slice(0, n);
    let dir = tmp.path().join("other-0");
    let part = Slice {
        index: 0,
        count: n,
        first_run: runs.start,
        runs: runs.len(),
    };
    sweep::write_slice(&dir, od, &part, &other.execute(runs, 1, &|_| {}).unwrap()).unwrap();
    let mut mixed = slices.clone();
    mixed.retain(|s| !s.ends_with("slice-0"));
    mixed.push(dir);
    let err = message(sweep::merge(&mixed).unwrap_err());
    assert!(err.contains("a slice of another sweep"), "{err}");
}

fn plan_error(args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let err = Plan::new(&scenario_file(tmp.path()), vary(args), 2).unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    err.to_string()
}

#[test]
fn a_vary_that_does_not_fit_the_scenario_is_an_error_naming_it() {
    let err = plan_error(&["platform.vdn.maxConcurentCalls=4,8"]);
    assert!(
        err.contains("--vary platform.vdn.maxConcurentCalls=4")
            && err.contains("unknown field `maxConcurentCalls`"),
        "{err}"
    );
    let err = plan_error(&["platform.vdn.maxConcurrentCalls=4,many"]);
    assert!(
        err.contains(
            "--vary platform.vdn.maxConcurrentCalls=many: platform.vdn.maxConcurrentCalls:"
        ),
        "{err}"
    );
    let err = plan_error(&["load[1].arrival.poisson.perSecond=1"]);
    assert!(
        err.contains("load has 1 entry, so there is no load[1]"),
        "{err}"
    );
    let err = plan_error(&["steps[0].at=1s"]);
    assert!(err.contains("the scenario has no steps"), "{err}");
    let err = plan_error(&["until=3m", "until=4m"]);
    assert!(err.contains("--vary until is given twice"), "{err}");
    // A value that is valid alone: a duration without quotes is a string.
    let tmp = tempfile::tempdir().unwrap();
    let plan = Plan::new(&scenario_file(tmp.path()), vary(&["until=2m,90s"]), 1).unwrap();
    assert_eq!(plan.definition.cells, 2);
    let s = plan.scenario_of(1).unwrap();
    assert_eq!(s.until.unwrap().0.as_millis(), 90_000);
}

#[test]
fn cells_summarize_the_runs_of_their_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = Plan::new(
        &scenario_file(tmp.path()),
        vary(&["platform.vdn.maxConcurrentCalls=6,12"]),
        4,
    )
    .unwrap();
    let d = &plan.definition;
    let rows = plan.execute(0..d.runs, 2, &|_| {}).unwrap();
    let dir = tmp.path().join("out");
    sweep::write_sweep(&dir, d, &rows).unwrap();
    let mut cells = csv::Reader::from_path(dir.join("cells.csv")).unwrap();
    let head = cells.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let first: Vec<String> = cells
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let events: Vec<f64> = rows[..4].iter().map(|r| r.events as f64).collect();
    let mean = events.iter().sum::<f64>() / 4.0;
    let sd = (events.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    // t(0.975, 3) = 3.182
    let half = 3.182 * sd / 2.0;
    let read = |name: &str| first[col(name)].parse::<f64>().unwrap();
    assert_eq!(first[col("platform.vdn.maxConcurrentCalls")], "6");
    assert_eq!(first[col("seeds")], "4");
    assert!((read("events_mean") - mean).abs() < 1e-3);
    assert!((read("events_sd") - sd).abs() < 1e-3);
    assert!((read("events_ci95_lo") - (mean - half)).abs() < 1e-2 * sd.max(1.0));
    assert!((read("events_ci95_hi") - (mean + half)).abs() < 1e-2 * sd.max(1.0));
    // The expectation of at most 12 failures fails at limit 6 (most rooms are larger) and
    // holds at 12: the knee is between them, and those runs count as failed.
    assert_eq!(first[col("runs_failed")], "4");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json["knees"][0]["metric"], "count_AgentConf_RequestFailed");
    assert_eq!(
        (
            json["knees"][0]["before"].clone(),
            json["knees"][0]["at"].clone()
        ),
        (6.into(), 12.into())
    );
    assert!(
        rows.iter()
            .filter(|r| !r.expectations_ok)
            .all(|r| !r.failed.is_empty())
    );
}
