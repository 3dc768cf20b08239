//! `confsim schema`, `completions`, `man` and `--version` as a user runs them. The schemas are
//! checked against what the parser does: every bundled scenario validates, an unknown key is
//! refused by both, and a `"$schema"` key (how an editor finds the schema) is accepted by both.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use crate::support::{confsim, root};

fn schema(kind: &str) -> jsonschema::Validator {
    let out = confsim(&["schema", kind]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "draft 2020-12"
    );
    jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema")
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Whether `confsim validate` accepts `scenario` (written to a file).
fn parser_accepts(dir: &Path, name: &str, scenario: &Value) -> bool {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(scenario).unwrap()).unwrap();
    confsim(&["validate", path.to_str().unwrap()])
        .status
        .success()
}

fn bundled_scenarios() -> Vec<(PathBuf, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    files
        .into_iter()
        .map(|p| {
            let value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p, value)
        })
        .collect()
}

#[test]
fn every_bundled_scenario_validates_against_the_schema() {
    let validator = schema("scenario");
    for (path, scenario) in bundled_scenarios() {
        let errors = errors(&validator, &scenario);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn the_schema_refuses_unknown_keys_where_the_parser_does() {
    let validator = schema("scenario");
    let dir = tempfile::tempdir().unwrap();
    let (_, base) = bundled_scenarios()
        .into_iter()
        .find(|(p, _)| p.ends_with("morning-burst.json"))
        .expect("the bundled morning burst");
    assert!(parser_accepts(dir.path(), "base.json", &base));
    // A typo at each level the parser checks: the top, the platform, a load generator, a
    // step, an expectation.
    let mut edits: Vec<(&str, Value)> = Vec::new();
    let mut top = base.clone();
    top["untill"] = json!("1h");
    edits.push(("top", top));
    let mut vdn = base.clone();
    vdn["platform"]["vdn"]["maxConcurentCalls"] = json!(5);
    edits.push(("platform.vdn", vdn));
    let mut load = base.clone();
    load["load"][0]["releaseAftr"] = json!("5m");
    edits.push(("load[0]", load));
    let mut step = base.clone();
    step["steps"] = json!([{ "at": "1s", "agent": 101, "op": "login", "bodyy": {} }]);
    edits.push(("steps[0]", step));
    let mut expect = base.clone();
    expect["expect"] = json!([{ "retcode": "0", "min": 1, "maxx": 3 }]);
    edits.push(("expect[0]", expect));
    let mut op = base.clone();
    op["steps"] = json!([{ "at": "1s", "agent": 101, "op": "logn" }]);
    edits.push(("an unknown op", op));
    for (i, (what, scenario)) in edits.iter().enumerate() {
        assert!(
            !errors(&validator, scenario).is_empty(),
            "the schema accepts a typo in {what}"
        );
        assert!(
            !parser_accepts(dir.path(), &format!("typo-{i}.json"), scenario),
            "the parser accepts a typo in {what}"
        );
    }
    // How an editor is pointed at the schema: accepted by both.
    let mut with_schema = base.clone();
    with_schema["$schema"] = json!("./confsim-scenario.schema.json");
    assert!(errors(&validator, &with_schema).is_empty());
    assert!(parser_accepts(dir.path(), "with-schema.json", &with_schema));
}

#[test]
fn the_platform_file_schema_matches_its_parser() {
    let validator = schema("platform");
    let good = json!({
        "$schema": "./confsim-platform.schema.json",
        "platform": { "latency": { "minMs": 0, "maxMs": 0 }, "signIn": "roster" },
        "agents": [ { "ids": "101-120", "password": "secret" }, { "ids": 900, "inspector": true } ]
    });
    assert!(
        errors(&validator, &good).is_empty(),
        "{:?}",
        errors(&validator, &good)
    );
    confsim_gateway::parse_platform_file(&good.to_string(), Path::new("good.json"))
        .expect("the parser accepts it too");
    let mut bad = good.clone();
    bad["agents"][0]["pasword"] = json!("x");
    assert!(!errors(&validator, &bad).is_empty());
    assert!(confsim_gateway::parse_platform_file(&bad.to_string(), Path::new("bad.json")).is_err());
}

#[test]
fn completions_man_pages_and_the_version_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = confsim(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in ["run", "replay", "serve", "schema"] {
            assert!(script.contains(sub), "{shell} completes {sub}");
        }
    }
    let out = confsim(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = confsim(&["man", "-o", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    let page = std::fs::read_to_string(dir.path().join("confsim-run.1")).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
    assert!(
        page.contains("confsim run"),
        "the synopsis names the command as typed"
    );
    assert!(
        page.contains("check\\-determinism"),
        "the options are there"
    );

    let out = confsim(&["--version"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("confsim {}", env!("CARGO_PKG_VERSION"))
    );
}

/// The schemas checked in under `docs/schema/` (what an editor's `"$schema"` points at in a
/// clone) are the ones the binary prints. `UPDATE_EXPECT=1` rewrites them, as for the golden
/// journals.
#[test]
fn the_checked_in_schemas_are_current() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    for kind in ["scenario", "platform"] {
        let out = confsim(&["schema", kind]);
        assert!(out.status.success());
        let path = root().join(format!("docs/schema/{kind}.schema.json"));
        if update {
            std::fs::write(&path, &out.stdout).unwrap();
            continue;
        }
        let checked_in = std::fs::read(&path).unwrap_or_default();
        assert!(
            checked_in == out.stdout,
            "{} is stale: run `UPDATE_EXPECT=1 cargo test -p confsim --test it tools`",
            path.display()
        );
    }
}

/// `confsim … | head`: the reader goes away before the output is written. The program ends
/// quietly with exit 0, never with a panic's message and exit 101 (every subcommand prints
/// through `println!`, which panics on a closed pipe unless the binary says otherwise).
#[test]
fn output_to_a_reader_that_went_away_ends_quietly() {
    for args in [
        vec!["run", "scenarios/seed-request.json", "--json"],
        vec!["run", "scenarios/seed-request.json", "--quiet"],
        vec!["replay", "scenarios/replays"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_confsim"))
            .args(&args)
            .current_dir(crate::support::root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before the child writes (it has a scenario to read and run first).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
