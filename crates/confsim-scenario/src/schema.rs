//! The scenario file's JSON Schema (draft 2020-12), for editors and for `confsim schema`.
//!
//! It is derived by `schemars` from the very types `parse` deserializes into, so a field added
//! to the parser is in the schema without anyone remembering to add it. The types whose serde
//! form is written by hand (durations, distributions, event names, the expectations' one-of
//! shape) describe themselves here. What only the checks after parsing can say (an agent
//! outside `agentIdRange`, a step after `until`) is not in the schema: `confsim run` still
//! says it, with the JSON path.

use crate::dist::{DISTRIBUTIONS, DurDist, Template};
use crate::expect::{EventName, Expectation, RawExpect};
use crate::scenario::{Dur, PathAgent, Scenario};
use confsim_core::event::EventType;
use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};
use serde_json::Value;
use std::borrow::Cow;

/// `"250ms"`, `"45s"`, `"1h30m"`, or whole milliseconds.
fn duration_schema() -> Schema {
    json_schema!({
        "description": "A duration: a string such as \"250ms\", \"45s\", \"1h30m\", or a whole number of milliseconds.",
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": r"^\s*([0-9]+(\.[0-9]+)?\s*(ms|s|m|h|d)\s*)+$" },
        ],
    })
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        duration_schema()
    }
}

impl JsonSchema for DurDist {
    fn schema_name() -> Cow<'static, str> {
        "DurationDistribution".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let dist: Vec<Value> = DISTRIBUTIONS
            .iter()
            .map(|name| {
                serde_json::json!({
                    "type": "object",
                    "required": [name],
                    "properties": { *name: {} },
                    "additionalProperties": false,
                })
            })
            .collect();
        let mut any_of = vec![duration_schema().to_value()];
        any_of.extend(dist);
        json_schema!({
            "description": "A duration, or a distribution of durations: {\"uniform\": [a, b]}, {\"choice\": [...]}, {\"exponential\": {\"mean\": d}}, {\"normal\": {\"mean\": d, \"stddev\": d}}.",
            "anyOf": any_of,
        })
    }
}

impl JsonSchema for Template {
    fn schema_name() -> Cow<'static, str> {
        "BodyTemplate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A request body: any JSON value, in which an object with one key among uniform, choice, exponential, normal is a distribution drawn anew for each arrival.",
        })
    }
}

impl JsonSchema for PathAgent {
    fn schema_name() -> Cow<'static, str> {
        "PathAgent".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The {agentid} the step calls with: normally a number; any string is allowed, to test a malformed id.",
            "type": ["integer", "string"],
        })
    }
}

impl JsonSchema for EventName {
    fn schema_name() -> Cow<'static, str> {
        "EventType".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = EventType::ALL.iter().map(|t| t.name()).collect();
        json_schema!({
            "description": "An event type, by the vendor's name.",
            "type": "string",
            "enum": names,
        })
    }
}

impl JsonSchema for Expectation {
    fn schema_name() -> Cow<'static, str> {
        "Expectation".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // The fields as written; exactly one of sequence, event, count, retcode.
        let mut schema = RawExpect::json_schema(generator);
        let one_of: Vec<Value> = ["sequence", "event", "count", "retcode"]
            .iter()
            .map(|key| serde_json::json!({ "required": [key] }))
            .collect();
        schema.insert("oneOf".to_owned(), Value::Array(one_of));
        schema
    }
}

/// The scenario file's JSON Schema, draft 2020-12.
pub fn scenario_schema() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<Scenario>().to_value()
}
