//! Bad scenarios get one clear sentence naming the file, line, column and JSON path.

use std::path::Path;

fn error_of(text: &str) -> String {
    let err = confsim_scenario::parse(text, Path::new("s.json")).unwrap_err();
    assert!(err.is_bad_input());
    err.to_string()
}

#[test]
fn type_errors_name_line_column_and_path() {
    let text = "{\n  \"name\": \"x\",\n  \"steps\": [\n    {\"at\": \"0s\", \"agent\": 101, \"op\": \"requestAgentConf\", \"body\": {}},\n    {\"at\": \"5q\", \"agent\": 101, \"op\": \"requestAgentConf\"}\n  ]\n}";
    assert_eq!(
        error_of(text),
        "s.json:5:12: steps[1].at: invalid duration \"5q\": expected forms like \"250ms\", \"45s\", \"50m\", \"1h30m\""
    );
}

#[test]
fn unknown_keys_are_errors_at_every_level() {
    assert!(
        error_of("{\"name\": \"x\", \"stepz\": []}")
            .starts_with("s.json:1:24: stepz: unknown field `stepz`")
    );
    let e = error_of("{\"name\": \"x\", \"platform\": {\"vdn\": {\"maxCalls\": 3}}}");
    assert!(
        e.contains("platform.vdn.maxCalls: unknown field `maxCalls`"),
        "{e}"
    );
    let e = error_of("{\"name\": \"x\", \"agents\": [{\"ids\": 101, \"sate\": \"idle\"}]}");
    assert!(e.contains("agents[0].sate: unknown field"), "{e}");
}

#[test]
fn semantic_errors_are_located_too() {
    let text = "{\n  \"name\": \"x\",\n  \"agents\": [{\"ids\": \"101-200\"}, {\"ids\": [150]}]\n}";
    assert_eq!(
        error_of(text),
        "s.json:3:42: agents[1].ids: agent 150 is already listed in agents[0]"
    );
    let text = "{\"name\": \"x\", \"agents\": [{\"ids\": \"50-60\"}]}";
    assert!(
        error_of(text)
            .contains("agents[0].ids: agent 50 is outside the platform's agentIdRange 101-59999")
    );
    let text = "{\"name\": \"x\", \"platform\": {\"latency\": {\"minMs\": 9, \"maxMs\": 1}}}";
    assert!(error_of(text).contains("platform.latency.minMs: minMs (9) must not exceed maxMs (1)"));
}

#[test]
fn unknown_operations_and_event_types_list_the_known_ones() {
    let e = error_of(
        "{\"name\": \"x\", \"steps\": [{\"at\": 0, \"agent\": 101, \"op\": \"requestConf\"}]}",
    );
    assert!(
        e.contains("steps[0].op: unknown operation \"requestConf\"; known operations: login"),
        "{e}"
    );
    let e =
        error_of("{\"name\": \"x\", \"expect\": [{\"count\": \"AgentConf_Nope\", \"min\": 1}]}");
    assert!(
        e.contains(
            "expect[0].count: unknown event type \"AgentConf_Nope\"; known types: AgentState_Busy"
        ),
        "{e}"
    );
}

#[test]
fn expectations_must_be_of_exactly_one_kind() {
    let e = error_of(
        "{\"name\": \"x\", \"expect\": [{\"agent\": 101, \"count\": \"AgentConf_Timeout\", \"min\": 1}]}",
    );
    assert!(e.contains("expect[0]: \"agent\" does not belong"), "{e}");
    let e = error_of("{\"name\": \"x\", \"expect\": [{\"count\": \"AgentConf_Timeout\"}]}");
    assert!(e.contains("needs \"equals\", \"min\" or \"max\""), "{e}");
    let e = error_of(
        "{\"name\": \"x\", \"expect\": [{\"count\": \"AgentConf_Timeout\", \"retcode\": \"0\", \"min\": 1}]}",
    );
    assert!(e.contains("exactly one of"), "{e}");
    let e = error_of(
        "{\"name\": \"x\", \"expect\": [{\"event\": \"AgentConf_Timeout\", \"agent\": 101}]}",
    );
    assert!(e.contains("needs \"at\""), "{e}");
}

#[test]
fn truncated_and_trailing_text_are_errors() {
    assert_eq!(
        error_of("{\"name\": \"x\","),
        "s.json:1:13: the file ends before the scenario object is complete"
    );
    assert_eq!(
        error_of(""),
        "s.json:1:1: the file ends before the scenario object is complete"
    );
    assert!(error_of("{\"name\": \"x\"} {}").contains("unexpected text after the scenario object"));
    assert_eq!(
        error_of("\n  [1]"),
        "s.json:2:3: a scenario is a JSON object ({ ... })"
    );
    assert!(error_of("{}").contains("missing field `name`"));
}

#[test]
fn a_missing_file_is_named() {
    let err = confsim_scenario::load(Path::new("/nonexistent/x.json")).unwrap_err();
    assert!(err.is_bad_input());
    assert!(
        err.to_string().starts_with("/nonexistent/x.json: "),
        "{err}"
    );
}
