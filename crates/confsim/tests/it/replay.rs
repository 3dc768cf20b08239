//! `confsim replay` as a user runs it: exit 0 for identical journals, 1 for a divergence
//! (naming the first divergent record), 2 for a file that is not a journal; `--json` prints one
//! object; `--junit` writes the report; never a panic.

use std::path::Path;

use crate::support::{confsim, root};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The bundled journal of `seed-request`, copied into `dir` (edited by `edit` when given).
fn journal(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> String {
    let recorded =
        std::fs::read_to_string(root().join("scenarios/replays/seed-request.jsonl")).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, edit(recorded)).unwrap();
    path.display().to_string()
}

#[test]
fn an_identical_journal_exits_0_with_a_one_line_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal(dir.path(), "same.jsonl", |j| j);
    let out = confsim(&["replay", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with(&format!("{path}: identical: 10 records compared, digest ")),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("records/s"), "{stdout}");
    assert!(out.stderr.is_empty());
}

#[test]
fn a_divergent_journal_exits_1_naming_the_first_divergent_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal(dir.path(), "edited.jsonl", |j| {
        j.replacen(
            "\"eventType\":\"AgentConf_Timeout\",\"workNo\":\"101\",\"content\":{\"confId\":1030400}",
            "\"eventType\":\"AgentConf_Timeout\",\"workNo\":\"101\",\"content\":{\"confId\":1030401}",
            1,
        )
    });
    let out = confsim(&["replay", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "{path}: DIVERGED at seq 7 (2026-01-05T09:45:00.000Z): 10 records compared, 0 further differences"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("requestAgentConf by agent 101"), "{stdout}");
    assert!(
        text(&out.stderr).contains("replay diverged"),
        "{}",
        text(&out.stderr)
    );

    let out = confsim(&["replay", "--json", &path]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["verdict"], "diverged");
    assert_eq!(json["first_divergence"]["seq"], 7);
    assert_eq!(json["first_divergence"]["cause"]["seq"], 1);
}

#[test]
fn a_file_that_is_not_a_journal_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal(dir.path(), "garbage.jsonl", |j| {
        let mut lines: Vec<&str> = j.lines().collect();
        lines[3] = "{\"seq\":3, this is not JSON";
        lines.join("\n") + "\n"
    });
    for args in [vec!["replay", &path], vec!["replay", "--json", &path]] {
        let out = confsim(&args);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("confsim: {path}:4: not a JSON record")),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let out = confsim(&["replay", "/no/such/journal.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("confsim: /no/such/journal.jsonl: "));
    let out = confsim(&["replay"]);
    assert_eq!(out.status.code(), Some(2), "no journal is a usage error");
}

#[test]
fn a_directory_gets_a_verdict_per_journal_a_summary_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    journal(dir.path(), "a.jsonl", |j| j);
    journal(dir.path(), "b.jsonl", |j| {
        j.replacen("1030400", "1030656", 1)
    });
    let junit = dir.path().join("report.xml");
    let junit_arg = junit.display().to_string();
    let dir_arg = dir.path().display().to_string();

    let out = confsim(&["replay", &dir_arg, "--junit", &junit_arg]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("a.jsonl: identical: 10 records compared"),
        "{stdout}"
    );
    assert!(stdout.contains("b.jsonl: DIVERGED at seq 5"), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("2 journals: 1 identical, 1 diverged, 0 invalid; 20 records at"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 2);

    let out = confsim(&["replay", "--json", &dir_arg]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["summary"]["journals"], 2);
    assert_eq!(json["journals"][1]["verdict"], "diverged");
}

#[test]
fn the_bundled_corpus_replays_identically() {
    let corpus = root().join("scenarios/replays");
    let out = confsim(&["replay", &corpus.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}
