//! JSON Schemas (draft 2020-12, through `schemars`) of the types whose serde form is written
//! by hand: what `confsim schema` says of them must be what their `Deserialize` accepts.

use crate::ids::{AgentRange, AgentSet};
use crate::input::Op;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;

/// `"MIN-MAX"` with 1 <= MIN <= MAX (`parse_range`).
const RANGE_PATTERN: &str = r"^\s*[0-9]+\s*-\s*[0-9]+\s*$";

impl JsonSchema for AgentRange {
    fn schema_name() -> Cow<'static, str> {
        "AgentRange".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A range of agent ids, \"MIN-MAX\" with 1 <= MIN <= MAX, such as \"101-59999\".",
            "type": "string",
            "pattern": RANGE_PATTERN,
        })
    }
}

impl JsonSchema for AgentSet {
    fn schema_name() -> Cow<'static, str> {
        "AgentSet".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Agents: one id, a list of ids, or a range string such as \"101-1100\".",
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": u32::MAX },
                { "type": "array", "items": { "type": "integer", "minimum": 1, "maximum": u32::MAX } },
                { "type": "string", "pattern": r"^\s*[0-9]+\s*$" },
                { "type": "string", "pattern": RANGE_PATTERN },
            ],
        })
    }
}

impl JsonSchema for Op {
    fn schema_name() -> Cow<'static, str> {
        "Op".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut names: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
        // The alias `from_name_or_alias` also accepts.
        names.push("queryVdnConfId");
        json_schema!({
            "description": "A vendor operation, by its log name.",
            "type": "string",
            "enum": names,
        })
    }
}
