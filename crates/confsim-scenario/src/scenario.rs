//! The scenario file (product.md §3): types, parsing with precise errors, and the checks that
//! types alone cannot express.

use crate::error::{Result, ScenarioError};
use crate::expect::Expectation;
use crate::load::LoadSpec;
use crate::locate::locate;
use confsim_core::time::{SimDuration, SimTime};
use confsim_core::{AgentGroup, AgentId, Input, Op, PlatformConfig};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The start used when a scenario names none.
pub const DEFAULT_START: &str = "2026-01-05T09:00:00Z";
/// The seed used when a scenario names none and `--seed` is not given.
pub const DEFAULT_SEED: u64 = 1;

/// A scenario, as written.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "confsim scenario")]
pub struct Scenario {
    /// The JSON Schema this file follows, for editors (`confsim schema`); ignored by the run.
    #[serde(default, rename = "$schema")]
    pub schema: Option<String>,
    pub name: String,
    /// Free text for people; ignored by the run.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The simulated start, RFC 3339.
    #[serde(default = "default_start", deserialize_with = "de_start")]
    #[schemars(with = "String", default = "default_start_text")]
    pub start: SimTime,
    #[serde(default)]
    pub platform: PlatformConfig,
    #[serde(default)]
    pub agents: Vec<AgentGroup>,
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    /// Load generators (see `load.rs`).
    #[serde(default)]
    pub load: Vec<LoadSpec>,
    #[serde(default)]
    pub until: Option<Dur>,
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

fn default_start_text() -> String {
    DEFAULT_START.to_owned()
}

fn default_seed() -> u64 {
    DEFAULT_SEED
}

fn default_start() -> SimTime {
    SimTime::parse_rfc3339(DEFAULT_START).unwrap_or_default()
}

fn de_start<'de, D: Deserializer<'de>>(d: D) -> Result<SimTime, D::Error> {
    let text = String::deserialize(d)?;
    SimTime::parse_rfc3339(&text).ok_or_else(|| {
        de::Error::custom(format!(
            "invalid start {text:?}: expected an RFC 3339 time such as \"2026-01-05T09:00:00Z\""
        ))
    })
}

/// A duration in a scenario: a string such as `"1h30m"` or an integer of milliseconds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub SimDuration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Ms(u64),
            Text(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            de::Error::custom("expected a duration: a string such as \"250ms\", \"45s\", \"1h30m\", or a whole number of milliseconds")
        })? {
            Raw::Ms(ms) => Ok(Dur(SimDuration::from_millis(ms))),
            Raw::Text(text) => SimDuration::parse(&text).map(Dur).map_err(de::Error::custom),
        }
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// The `{agentid}` a step calls with: normally a number, but any string is allowed so a
/// scenario can test what the platform answers to a malformed id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathAgent(pub String);

impl<'de> Deserialize<'de> for PathAgent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => Ok(PathAgent(n.to_string())),
            Value::String(s) => Ok(PathAgent(s)),
            other => Err(de::Error::custom(format!(
                "expected an agent id (a number or a string), got {other}"
            ))),
        }
    }
}

/// One scripted input.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepSpec {
    pub at: Dur,
    pub agent: PathAgent,
    pub op: Op,
    /// Exactly the JSON body the HTTP interface takes; absent for operations without one.
    #[serde(default)]
    pub body: Value,
}

impl StepSpec {
    pub fn input(&self) -> Input {
        Input::new(self.op, self.agent.0.clone(), self.body.clone())
    }
}

/// Reads and checks a scenario file.
pub fn load(file: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(file).map_err(|error| ScenarioError::Read {
        file: file.to_owned(),
        error,
    })?;
    parse(&text, file)
}

/// Parses and checks scenario text; `file` names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Scenario> {
    // serde would accept a struct written as an array; a scenario is an object, said plainly.
    if let Some(first) = text.trim_start().chars().next()
        && first != '{'
    {
        let (line, column) = locate(text, "").unzip();
        return Err(ScenarioError::Invalid {
            file: file.to_owned(),
            line,
            column,
            path: String::new(),
            message: "a scenario is a JSON object ({ ... })".to_owned(),
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let scenario: Scenario = match serde_path_to_error::deserialize(&mut de) {
        Ok(s) => s,
        Err(err) => {
            let path = err.path().to_string();
            let path = if path == "." || path == "?" {
                String::new()
            } else {
                path
            };
            let inner = err.into_inner();
            // serde_json reports where it stopped reading, which for a value of the wrong type
            // is its last character; the start of the value at the path is what a user looks
            // for. Column 0 (an empty file) becomes 1.
            let (line, column) = match (path.is_empty(), locate(text, &path)) {
                (false, Some(at)) if !inner.is_eof() => at,
                _ => (inner.line().max(1), inner.column().max(1)),
            };
            let message = if inner.is_eof() {
                "the file ends before the scenario object is complete".to_owned()
            } else {
                strip_position(&inner.to_string())
            };
            return Err(ScenarioError::Invalid {
                file: file.to_owned(),
                line: Some(line),
                column: Some(column),
                path,
                message,
            });
        }
    };
    if let Err(inner) = de.end() {
        return Err(ScenarioError::Invalid {
            file: file.to_owned(),
            line: Some(inner.line()),
            column: Some(inner.column()),
            path: String::new(),
            message: "unexpected text after the scenario object".to_owned(),
        });
    }
    check(&scenario).map_err(|(path, message)| {
        let (line, column) = locate(text, &path).unzip();
        ScenarioError::Invalid {
            file: file.to_owned(),
            line,
            column,
            path,
            message,
        }
    })?;
    Ok(scenario)
}

/// serde_json appends " at line L column C" to its messages; the error prints those itself.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// What the types cannot say: returns the JSON path of the offending value and why.
fn check(s: &Scenario) -> std::result::Result<(), (String, String)> {
    if s.name.trim().is_empty() {
        return Err(("name".into(), "must not be empty".into()));
    }
    s.platform
        .check()
        .map_err(|p| (format!("platform.{}", p.path), p.message))?;
    let range = s.platform.agent_id_range;
    let mut seen: BTreeMap<AgentId, usize> = BTreeMap::new();
    for (i, group) in s.agents.iter().enumerate() {
        group
            .check(&s.platform)
            .map_err(|p| (format!("agents[{i}].{}", p.path), p.message))?;
        for id in group.ids.iter() {
            if let Some(first) = seen.insert(id, i) {
                return Err((
                    format!("agents[{i}].ids"),
                    format!("agent {id} is already listed in agents[{first}]"),
                ));
            }
        }
    }
    let in_roster = |id: AgentId| seen.contains_key(&id);
    for (i, spec) in s.load.iter().enumerate() {
        crate::load::check(spec, s, &in_roster)
            .map_err(|(path, message)| (format!("load[{i}].{path}"), message))?;
    }
    for (i, e) in s.expect.iter().enumerate() {
        if let Some(agent) = e.agent()
            && !range.contains(agent.0)
        {
            return Err((
                format!("expect[{i}].agent"),
                format!("agent {agent} is outside the platform's agentIdRange {range}"),
            ));
        }
    }
    Ok(())
}
