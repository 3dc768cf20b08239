//! Every scenario under `scenarios/` is a golden test: it runs twice to byte-identical journals,
//! all its expectations hold, and its journal equals the checked-in expected file under
//! `scenarios/expected/` (the whole journal when it is small, its digest and counts when large).
//!
//! After an intended behaviour change, rewrite the expected files with
//! `UPDATE_EXPECT=1 cargo test --release -p confsim-scenario --test it golden`
//! (release, so the `big-` scenarios are included) and review the diff.
//!
//! Scenarios whose file name starts with `big-` (a 10,000-agent day: over a million records)
//! take seconds in a release build but most of a minute in the unoptimized debug build that
//! `cargo test` uses by default, twice over. They run in release builds
//! (`cargo test --release`), and in debug builds only with `CONFSIM_BIG=1`; otherwise the test
//! names each one it skipped. Their expected files are digests, so they stay checked.

use confsim_scenario::{RunOptions, run};
use std::path::{Path, PathBuf};

/// Journals with at most this many records are checked in whole.
const WHOLE_JOURNAL_MAX_RECORDS: u64 = 400;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "expected") {
                scenario_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Whether a scenario is one of the large ones (file name `big-…`).
fn is_big(file: &Path) -> bool {
    file.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("big-"))
}

/// Large scenarios run in optimized builds, or when asked for.
fn run_big() -> bool {
    !cfg!(debug_assertions) || std::env::var_os("CONFSIM_BIG").is_some()
}

fn expected_path(root: &Path, scenario: &Path, whole: bool) -> PathBuf {
    let rel = scenario.strip_prefix(root.join("scenarios")).unwrap();
    let stem = rel
        .with_extension("")
        .to_string_lossy()
        .replace(['/', '\\'], "__");
    root.join("scenarios/expected").join(if whole {
        format!("{stem}.jsonl")
    } else {
        format!("{stem}.digest.json")
    })
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1);
        }
    }
    format!(
        "lengths differ: expected {} lines, actual {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

#[test]
fn bundled_scenarios_match_their_expected_journals() {
    let root = workspace_root();
    let mut files = Vec::new();
    scenario_files(&root.join("scenarios"), &mut files);
    assert!(
        !files.is_empty(),
        "no scenarios found under {}",
        root.join("scenarios").display()
    );
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for file in &files {
        if is_big(file) && !run_big() {
            eprintln!(
                "skipped {} in this debug build: run `cargo test --release` or set CONFSIM_BIG=1",
                file.display()
            );
            continue;
        }
        let scenario = confsim_scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
        let (report, first) = run(&scenario, &RunOptions::default(), Vec::new()).unwrap();
        let (_, second) = run(&scenario, &RunOptions::default(), Vec::new()).unwrap();
        assert!(
            first == second,
            "{}: two runs with seed {} gave different journals",
            file.display(),
            report.seed
        );
        let failed: Vec<_> = report.expectations.iter().filter(|v| !v.ok).collect();
        assert!(
            failed.is_empty(),
            "{}: expectations failed (seed {}): {failed:#?}",
            file.display(),
            report.seed
        );

        let whole = report.records <= WHOLE_JOURNAL_MAX_RECORDS;
        let actual = if whole {
            String::from_utf8(first).unwrap()
        } else {
            let summary = serde_json::json!({
                "digest": report.digest, "records": report.records, "counts": report.counts, "retcodes": report.retcodes,
            });
            serde_json::to_string_pretty(&summary).unwrap() + "\n"
        };
        let expected_file = expected_path(&root, file, whole);
        if update {
            std::fs::create_dir_all(expected_file.parent().unwrap()).unwrap();
            std::fs::write(&expected_file, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_file) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{} differs from {} at {}",
                file.display(),
                expected_file.display(),
                first_difference(&expected, &actual)
            )),
            Err(_) => failures.push(format!(
                "{}: no expected file {}",
                file.display(),
                expected_file.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended: UPDATE_EXPECT=1 cargo test -p confsim-scenario --test it golden",
        failures.join("\n\n")
    );
}

#[test]
fn a_different_seed_changes_a_journal_that_draws_latencies() {
    let root = workspace_root();
    let scenario = confsim_scenario::load(&root.join("scenarios/from-a-call.json")).unwrap();
    let (a, _) = run(&scenario, &RunOptions::default(), std::io::sink()).unwrap();
    let (b, _) = run(
        &scenario,
        &RunOptions {
            seed: Some(scenario.seed + 1),
            ..RunOptions::default()
        },
        std::io::sink(),
    )
    .unwrap();
    assert_ne!(a.digest, b.digest);
    assert_eq!(
        a.counts, b.counts,
        "the seed changes times, not what happens"
    );
}

#[test]
fn the_wall_clock_gives_the_virtual_clocks_journal() {
    let root = workspace_root();
    let mut scenario = confsim_scenario::load(&root.join("scenarios/from-a-call.json")).unwrap();
    // 10 simulated minutes at speed 6000 take a tenth of a real second.
    scenario.until = None;
    let wall = RunOptions {
        clock: confsim_scenario::ClockChoice::Wall { speed: 6000.0 },
        ..RunOptions::default()
    };
    let (v, _) = run(&scenario, &RunOptions::default(), std::io::sink()).unwrap();
    let (w, _) = run(&scenario, &wall, std::io::sink()).unwrap();
    assert_eq!(v.digest, w.digest);
    assert!(
        w.latency_ms
            .timer_lateness
            .as_ref()
            .is_some_and(|t| t.count > 0)
    );
    assert!(v.latency_ms.timer_lateness.is_none());
}
