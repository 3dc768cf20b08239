//! The journal's first line: what ran, with what configuration, from when.
//!
//! It holds everything needed to rebuild the platform's initial state (the platform object and
//! the agent roster, normalized with defaults filled in), so a replay needs the header and the
//! input records only. Nothing in it depends on the machine or the wall clock.

use confsim_core::time::SimTime;
use confsim_core::{AgentGroup, PlatformConfig};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The value of the header's `format` key.
pub const FORMAT: &str = "confsim-journal";
/// The journal format version this build writes and reads.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The scenario's name, `serve` for a gateway session, `capture` for a capture.
    pub scenario: String,
    /// Where the records came from, when not from confsim's own platform: a capture of a real
    /// gateway by `confsim record`. Absent (and not written) for runs and `serve` sessions, so
    /// their headers are what they always were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub seed: u64,
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub start: SimTime,
    pub platform: PlatformConfig,
    pub agents: Vec<AgentGroup>,
}

impl Header {
    pub fn new(
        scenario: impl Into<String>,
        seed: u64,
        start: SimTime,
        platform: PlatformConfig,
        agents: Vec<AgentGroup>,
    ) -> Self {
        Header {
            format: FORMAT.to_owned(),
            version: VERSION,
            scenario: scenario.into(),
            source: None,
            seed,
            start,
            platform,
            agents,
        }
    }

    /// Whether the journal is a capture of a real gateway (`"source": {"kind": "capture"}`),
    /// which a replay compares by what a model can match rather than byte for byte.
    pub fn is_capture(&self) -> bool {
        self.source.as_ref().is_some_and(|s| s.kind == CAPTURE)
    }
}

/// The value of `source.kind` in a capture's header.
pub const CAPTURE: &str = "capture";

/// A header's `source`: what produced the records (`kind`, `"capture"`), and from where
/// (`upstream`, `HOST:PORT`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub kind: String,
    pub upstream: String,
}

impl Source {
    /// The source of a capture of the gateway at `upstream` (`HOST:PORT`).
    pub fn capture(upstream: impl Into<String>) -> Self {
        Source {
            kind: CAPTURE.to_owned(),
            upstream: upstream.into(),
        }
    }
}

fn ser_time<S: Serializer>(t: &SimTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<SimTime, D::Error> {
    let text = String::deserialize(d)?;
    SimTime::parse_rfc3339(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("invalid RFC 3339 time {text:?}")))
}
