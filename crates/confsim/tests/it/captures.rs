//! `confsim replay` of a capture: what a model can match is compared (per agent, event order,
//! types, contents and times within `--tolerance-ms`; each input's retcode and result), with
//! counts by kind in the text, `--json` and `--junit`; what the model does not know is a
//! divergence (exit 1), only a file that is not a journal is exit 2.

use crate::support::{confsim, root};
use std::path::Path;

/// The bundled `seed-request` journal as a capture of `gw:8043`, edited by `edit`.
fn capture(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> String {
    let journal =
        std::fs::read_to_string(root().join("scenarios/replays/seed-request.jsonl")).unwrap();
    let journal = journal.replacen(
        r#""scenario":"seed-request","#,
        r#""scenario":"seed-request","source":{"kind":"capture","upstream":"gw:8043"},"#,
        1,
    );
    let path = dir.join(name);
    std::fs::write(&path, edit(journal)).unwrap();
    path.display().to_string()
}

/// An edit of a journal's text.
type Edit = Box<dyn Fn(String) -> String>;

fn json_of(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = confsim(args);
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), value)
}

#[test]
fn a_capture_the_model_reproduces_matches_with_its_conference_ids_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let same = capture(dir.path(), "same.jsonl", |j| j.replace("1030400", "77"));
    let out = confsim(&["replay", &same]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "{same}: matches (a capture of gw:8043, against the header's platform, times within 1000 ms): 1 inputs and 9 events compared; 0 divergences"
        )),
        "{stdout}"
    );
    let (code, json) = json_of(&["replay", &same, "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(json["capture"]["conferences_mapped"], 1);
    assert_eq!(
        json["capture"]["divergences"],
        serde_json::json!({"missing": 0, "extra": 0, "content": 0, "retcode": 0, "time": 0})
    );
}

#[test]
fn each_kind_of_divergence_is_named_with_its_cause_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Edit, &str); 5] = [
        (
            "late.jsonl",
            Box::new(|j| j.replace("09:45:00.000Z", "09:45:03.000Z")),
            "time",
        ),
        (
            "unknown-type.jsonl",
            Box::new(|j| j.replace("AgentOther_PhoneAlerting", "AgentOther_PhoneRinging2")),
            "missing",
        ),
        (
            "content-shape.jsonl",
            Box::new(|j| j.replace(r#"{"type":"main"}"#, r#"{"type":5,"extra":[1]}"#)),
            "content",
        ),
        (
            "retcode.jsonl",
            Box::new(|j| j.replacen(r#""retcode":"0""#, r#""retcode":"101-003""#, 1)),
            "retcode",
        ),
        (
            "event-gone.jsonl",
            Box::new(|j| {
                let mut lines: Vec<&str> = j.lines().collect();
                lines.retain(|l| !l.contains("AgentConf_SelfJoinResult"));
                // Renumber: seq runs 1, 2, 3 … without gaps.
                let mut out = String::new();
                for (i, l) in lines.iter().enumerate() {
                    if i == 0 {
                        out.push_str(l);
                    } else {
                        let rest = &l[l.find(",\"at\"").unwrap()..];
                        out.push_str(&format!("{{\"seq\":{i}{rest}"));
                    }
                    out.push('\n');
                }
                out
            }),
            "extra",
        ),
    ];
    for (name, edit, kind) in cases {
        let path = capture(dir.path(), name, edit);
        let out = confsim(&["replay", &path]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{name}: {stdout}");
        assert!(
            stdout.contains("DIVERGED (a capture of gw:8043"),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("agent 101: first divergence {kind} at seq ")),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains(
                "cause      input seq 1 (2026-01-05T09:00:00.000Z): requestAgentConf by agent 101"
            ),
            "{name}: {stdout}"
        );
        let (code, json) = json_of(&["replay", &path, "--json"]);
        assert_eq!(code, Some(1));
        assert!(
            json["capture"]["divergences"][kind].as_u64().unwrap() >= 1,
            "{json}"
        );
        assert_eq!(json["capture"]["agents"][0]["kind"], kind, "{json}");
    }
    // A wider tolerance takes the late timeout.
    let late = dir.path().join("late.jsonl");
    let out = confsim(&["replay", late.to_str().unwrap(), "--tolerance-ms", "5000"]);
    assert_eq!(out.status.code(), Some(0));
    // JUnit carries the same, one failing case per diverged capture.
    let report = dir.path().join("report.xml");
    let out = confsim(&[
        "replay",
        dir.path().to_str().unwrap(),
        "--junit",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        xml.matches("<failure type=\"divergence\"").count(),
        5,
        "{xml}"
    );
    assert!(xml.contains("first divergence retcode"), "{xml}");
}

#[test]
fn another_platform_is_replayed_against_with_platform() {
    let dir = tempfile::tempdir().unwrap();
    let same = capture(dir.path(), "same.jsonl", |j| j);
    // A VDN that takes two calls: the model refuses the application that the capture saw succeed.
    let platform = dir.path().join("small.json");
    std::fs::write(
        &platform,
        r#"{"platform": {"vdn": {"id": 120, "maxConcurrentCalls": 2}, "latency": {"minMs": 0, "maxMs": 0}}}"#,
    )
    .unwrap();
    let out = confsim(&["replay", &same, "--platform", platform.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("against "), "{stdout}");
    assert!(stdout.contains("small.json"), "{stdout}");
    // Its success sequence is missing, and its refusal is extra.
    assert!(stdout.contains("9 missing, 1 extra"), "{stdout}");
    assert!(
        stdout.contains("\"eventType\":\"AgentState_Busy\""),
        "{stdout}"
    );
    // A platform file with a mistake is exit 2 naming it.
    std::fs::write(&platform, r#"{"platform": {"vdn": {"id": "x"}}}"#).unwrap();
    let out = confsim(&["replay", &same, "--platform", platform.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("small.json"));
}

#[test]
fn a_capture_with_garbage_is_exit_2_naming_the_line_and_a_torn_tail_is_replayed_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = capture(dir.path(), "garbage.jsonl", |j| {
        let mut lines: Vec<&str> = j.lines().collect();
        lines.insert(4, "<html>502 Bad Gateway</html>");
        lines.join("\n") + "\n"
    });
    let out = confsim(&["replay", &garbage]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{garbage}:5: not a JSON record")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));

    let torn = capture(dir.path(), "torn.jsonl", |j| j[..j.len() - 30].to_owned());
    let out = confsim(&["replay", &torn, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["torn_tail"]["line"], 11);
    assert_eq!(json["records"], 9);
}

#[test]
fn a_run_journal_with_a_content_shape_the_model_does_not_know_is_a_divergence_not_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let journal =
        std::fs::read_to_string(root().join("scenarios/replays/seed-request.jsonl")).unwrap();
    let path = dir.path().join("edited.jsonl");
    std::fs::write(
        &path,
        journal.replace(r#"{"type":"main"}"#, r#"{"type":"sideways"}"#),
    )
    .unwrap();
    let out = confsim(&["replay", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DIVERGED at seq 4"), "{stdout}");
    assert!(stdout.contains("content.type"), "{stdout}");
}
