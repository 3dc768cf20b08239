//! `confsim convert` (product.md §8.3): any journal (a capture, a `serve` session, a run) as
//! an editable scenario.
//!
//! The scenario starts at the journal's first record; it has the header's seed, platform and
//! roster (agents the roster does not list start signed out, which is how a journal that signs
//! them in began), one step per input at its offset from the first record (steps with the same
//! offset run in file order, as the inputs did), and per agent a `sequence` expectation of the
//! event types the journal has for it, in order. It has no `until`: the run goes on while
//! anything is pending, and a `sequence` lets other events come between and after.
//!
//! A journal read loosely may hold what the model does not know: an input whose `op` is no
//! operation of the model becomes no step, an event type the model does not produce is left out
//! of its agent's sequence, and an agent outside the platform's id range gets no expectation.
//! Each is counted in [`Converted`], so the command can say what it left out.
//!
//! The text is written for people: the top level indented, one step or expectation a line.

use confsim_core::time::SimTime;
use confsim_core::{AgentId, EventType, Op};
use confsim_journal::{LooseJournal, LooseKind};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A converted journal.
#[derive(Clone, Debug)]
pub struct Converted {
    /// The scenario file's text (ends with a newline).
    pub text: String,
    pub steps: usize,
    pub expectations: usize,
    /// Inputs whose `op` the model does not know, left out: (line, op).
    pub unknown_ops: Vec<(u64, String)>,
    /// Events whose type the model does not know, left out of the sequences: (line, type).
    pub unknown_events: Vec<(u64, String)>,
    /// Agents with events but outside the platform's range: no expectation.
    pub agents_out_of_range: Vec<String>,
}

/// A step's agent as the scenario writes it: a number when the path id is one, written the
/// same way, else the text as it was sent.
fn agent_value(agent: &str) -> Value {
    match agent.parse::<u64>() {
        Ok(n) if n.to_string() == agent => Value::from(n),
        _ => Value::String(agent.to_owned()),
    }
}

/// Converts `journal` into a scenario named `name`; `from` describes the file in the
/// scenario's description.
pub fn convert(journal: &LooseJournal, name: &str, from: &str) -> Converted {
    let header = &journal.header;
    // The first record's time; a capture's event stamped with its `eventGenTime` may come
    // before the record ahead of it, so the earliest.
    let first = journal
        .records
        .iter()
        .map(|r| r.at)
        .min()
        .unwrap_or(header.start);
    let offset = |at: SimTime| at.since(first);
    let mut steps = Vec::new();
    let mut unknown_ops = Vec::new();
    let mut unknown_events = Vec::new();
    let mut sequences: BTreeMap<AgentId, Vec<&'static str>> = BTreeMap::new();
    let mut out_of_range = Vec::new();
    for record in &journal.records {
        match &record.kind {
            LooseKind::Input {
                op, agent, body, ..
            } => {
                let Some(op) = Op::from_name(op) else {
                    unknown_ops.push((record.line, op.clone()));
                    continue;
                };
                let mut step = Map::new();
                step.insert("at".into(), offset(record.at).to_string().into());
                step.insert("agent".into(), agent_value(agent));
                step.insert("op".into(), op.name().into());
                if !body.is_null() {
                    step.insert("body".into(), body.clone());
                }
                steps.push(Value::Object(step));
            }
            LooseKind::Event {
                event_type,
                work_no,
                ..
            } => {
                let Some(ty) = EventType::from_name(event_type) else {
                    unknown_events.push((record.line, event_type.clone()));
                    continue;
                };
                match work_no.parse::<u32>() {
                    Ok(id) if header.platform.agent_id_range.contains(id) => {
                        sequences.entry(AgentId(id)).or_default().push(ty.name());
                    }
                    _ => {
                        if !out_of_range.contains(work_no) {
                            out_of_range.push(work_no.clone());
                        }
                    }
                }
            }
        }
    }
    let expect: Vec<Value> = sequences
        .into_iter()
        .map(|(agent, events)| json!({"agent": agent.0, "sequence": events}))
        .collect();
    let source = match &header.source {
        Some(source) => format!("a capture of {} ({})", source.upstream, source.kind),
        None => format!("the journal of {:?}", header.scenario),
    };
    let description = format!(
        "Converted from {from}, {source}: one step per input at its offset from the first record, and each agent's events as a sequence."
    );
    let mut text = String::from("{\n");
    let mut field = |key: &str, value: String, last: bool| {
        let _ = writeln!(
            text,
            "  {}: {value}{}",
            Value::from(key),
            if last { "" } else { "," }
        );
    };
    field("name", Value::from(name).to_string(), false);
    field("description", Value::from(description).to_string(), false);
    field("seed", header.seed.to_string(), false);
    field("start", Value::from(first.to_string()).to_string(), false);
    field("platform", indented(&json!(header.platform)), false);
    field("agents", lines(&json!(header.agents)), false);
    field("steps", lines(&Value::Array(steps.clone())), false);
    field("expect", lines(&Value::Array(expect.clone())), true);
    text.push_str("}\n");
    Converted {
        text,
        steps: steps.len(),
        expectations: expect.len(),
        unknown_ops,
        unknown_events,
        agents_out_of_range: out_of_range,
    }
}

/// A value pretty-printed, its lines after the first indented to sit under a top-level key.
fn indented(value: &Value) -> String {
    let pretty = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    pretty.replace('\n', "\n  ")
}

/// An array with one compact item a line.
fn lines(value: &Value) -> String {
    match value {
        Value::Array(items) if !items.is_empty() => {
            let items: Vec<String> = items.iter().map(|i| format!("    {i}")).collect();
            format!("[\n{}\n  ]", items.join(",\n"))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confsim_journal::read_loose;

    const JOURNAL: &str = concat!(
        r#"{"format":"confsim-journal","version":1,"scenario":"capture","source":{"kind":"capture","upstream":"gw:8043"},"seed":1,"start":"2026-01-05T08:59:00.000Z","platform":{},"agents":[]}"#,
        "\n",
        r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","op":"login","agentId":"101","body":{"password":"***","status":"4"},"response":{"retcode":"0","message":"success","result":{}}}"#,
        "\n",
        r#"{"seq":2,"at":"2026-01-05T09:00:00.010Z","eventType":"AgentOther_InService","workNo":"101","content":null}"#,
        "\n",
        r#"{"seq":3,"at":"2026-01-05T09:00:00.020Z","eventType":"AgentOther_Odd","workNo":"101","content":{"x":1}}"#,
        "\n",
        r#"{"seq":4,"at":"2026-01-05T09:00:00.030Z","eventType":"AgentState_Ready","workNo":"101","content":null}"#,
        "\n",
        r#"{"seq":5,"at":"2026-01-05T09:01:02.500Z","op":"someVendorOp","agentId":"101","body":null,"response":{"retcode":"0","message":"","result":null}}"#,
        "\n",
        r#"{"seq":6,"at":"2026-01-05T09:01:03.000Z","op":"releaseAgentConf","agentId":"0101","body":null,"response":{"retcode":"000-002","message":"","result":{}}}"#,
        "\n",
        r#"{"seq":7,"at":"2026-01-05T09:01:04.000Z","eventType":"AgentState_Ready","workNo":"9","content":null}"#,
        "\n",
    );

    #[test]
    fn a_capture_becomes_a_scenario_that_parses_with_what_the_model_knows() {
        let journal = read_loose(JOURNAL.as_bytes()).unwrap();
        let converted = convert(&journal, "incident", "capture.jsonl");
        let scenario = crate::parse(&converted.text, std::path::Path::new("incident.json"))
            .unwrap_or_else(|e| panic!("{e}\n{}", converted.text));
        assert_eq!(scenario.name, "incident");
        assert_eq!(scenario.start.to_string(), "2026-01-05T09:00:00.000Z");
        let steps: Vec<(String, String, Op)> = scenario
            .steps
            .iter()
            .map(|s| (s.at.0.to_string(), s.agent.0.clone(), s.op))
            .collect();
        assert_eq!(
            steps,
            [
                ("0s".to_owned(), "101".to_owned(), Op::Login),
                ("1m3s".to_owned(), "0101".to_owned(), Op::ReleaseAgentConf),
            ]
        );
        assert_eq!(scenario.steps[0].body["password"], "***");
        assert_eq!(converted.expectations, 1);
        assert!(
            converted.text.contains(
                r#"{"agent":101,"sequence":["AgentOther_InService","AgentState_Ready"]}"#
            ),
            "{}",
            converted.text
        );
        assert_eq!(converted.unknown_ops, [(6, "someVendorOp".to_owned())]);
        assert_eq!(converted.unknown_events, [(4, "AgentOther_Odd".to_owned())]);
        assert_eq!(converted.agents_out_of_range, ["9"]);
        // One step a line, for people.
        assert!(
            converted.text.lines().any(|l| l
                .trim_start()
                .starts_with(r#"{"at":"0s","agent":101,"op":"login""#)),
            "{}",
            converted.text
        );
    }
}
