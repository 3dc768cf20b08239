//! The platform's configuration (the scenario's `platform` object) and the agents' initial
//! roster. Both are written into the journal header, normalized with every default filled in,
//! so a journal replays the same even if a default changes later.

use crate::ids::{AgentRange, AgentSet};
use crate::state::AgentState;
use serde::{Deserialize, Serialize};

/// The scenario's `platform` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformConfig {
    #[serde(default)]
    pub vdn: VdnConfig,
    #[serde(default)]
    pub agent_id_range: AgentRange,
    #[serde(default)]
    pub latency: LatencyConfig,
    #[serde(default)]
    pub faults: FaultConfig,
    /// Phone numbers invited to conferences: how long they take to answer, and which never do.
    #[serde(default)]
    pub phones: PhoneConfig,
    /// How long an invitation rings before it counts as not answered.
    #[serde(default = "default_ring_timeout_ms")]
    pub ring_timeout_ms: u64,
    /// How long an announcement (`playVoiceToConf`, `playVoiceToParticipant`) plays before it
    /// ends by itself.
    #[serde(default = "default_announcement_ms")]
    pub announcement_ms: u64,
    /// Who may sign in: `open` (any agent id in range, any password) or `roster` (only the
    /// agents listed in `agents[]`, with their `password` when one is given).
    #[serde(default)]
    pub sign_in: SignInMode,
}

fn default_ring_timeout_ms() -> u64 {
    30_000
}
fn default_announcement_ms() -> u64 {
    30_000
}

/// Who may sign in.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SignInMode {
    #[default]
    Open,
    Roster,
}

/// Invited phone numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneConfig {
    /// The delay between the invitation and the answer, uniform.
    #[serde(default = "default_answer_delay")]
    pub answer_delay: LatencyConfig,
    /// Numbers that never answer (their invitation ends at the ring timeout).
    #[serde(default)]
    pub no_answer: Vec<String>,
    /// Probability (0-1) that any other number does not answer.
    #[serde(default)]
    pub no_answer_rate: f64,
}

fn default_answer_delay() -> LatencyConfig {
    LatencyConfig {
        min_ms: 2_000,
        max_ms: 8_000,
    }
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            answer_delay: default_answer_delay(),
            no_answer: Vec::new(),
            no_answer_rate: 0.0,
        }
    }
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            vdn: VdnConfig::default(),
            agent_id_range: AgentRange::default(),
            latency: LatencyConfig::default(),
            faults: FaultConfig::default(),
            phones: PhoneConfig::default(),
            ring_timeout_ms: default_ring_timeout_ms(),
            announcement_ms: default_announcement_ms(),
            sign_in: SignInMode::default(),
        }
    }
}

/// The virtual call center (VDN) every agent belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VdnConfig {
    #[serde(default = "default_vdn_id")]
    pub id: u32,
    /// The VDN's "maximum concurrent voice calls": a conference may not be sized above it.
    #[serde(default = "default_max_calls")]
    pub max_concurrent_calls: u32,
    /// The caller number used when a request carries no `confCallerNo`.
    #[serde(default = "default_caller_no")]
    pub system_caller_no: String,
    /// The VDN's number restrictions: when present, a `confCallerNo` must equal one of these,
    /// or start with the part before a trailing `*` (`"1000*"`). Absent: any number is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_caller_nos: Option<Vec<String>>,
}

fn default_vdn_id() -> u32 {
    1
}
fn default_max_calls() -> u32 {
    120
}
fn default_caller_no() -> String {
    "10000".to_owned()
}

impl Default for VdnConfig {
    fn default() -> Self {
        VdnConfig {
            id: default_vdn_id(),
            max_concurrent_calls: default_max_calls(),
            system_caller_no: default_caller_no(),
            allowed_caller_nos: None,
        }
    }
}

impl VdnConfig {
    /// Whether the VDN's number restrictions allow `caller_no`.
    pub fn allows_caller_no(&self, caller_no: &str) -> bool {
        match &self.allowed_caller_nos {
            None => true,
            Some(list) => list.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => caller_no.starts_with(prefix),
                None => pattern == caller_no,
            }),
        }
    }
}

/// The delay of each asynchronous platform event after its cause, drawn uniformly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencyConfig {
    #[serde(default = "default_min_ms")]
    pub min_ms: u64,
    #[serde(default = "default_max_ms")]
    pub max_ms: u64,
}

fn default_min_ms() -> u64 {
    10
}
fn default_max_ms() -> u64 {
    100
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig {
            min_ms: default_min_ms(),
            max_ms: default_max_ms(),
        }
    }
}

/// Injected faults.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    /// Probability (0-1) that an accepted `requestAgentConf` ends in `AgentConf_RequestFailed`
    /// with cause [`crate::causes::INJECTED_FAULT`].
    #[serde(default)]
    pub request_failed_rate: f64,
}

/// A group of agents and their state at the scenario's start (the scenario's `agents[]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentGroup {
    pub ids: AgentSet,
    #[serde(default = "yes")]
    pub signed_in: bool,
    #[serde(default)]
    pub state: AgentState,
    /// For `talking` agents: whether the call is stable (no hold, mute, announcement, transfer
    /// in progress). An unstable call makes `requestAgentConf` fail asynchronously.
    #[serde(default = "yes")]
    pub stable_call: bool,
    /// For `talking` agents: this agent is the *called* agent of a two-agent three-party call,
    /// which the vendor forbids to start a conference.
    #[serde(default)]
    pub three_party_called: bool,
    /// For `talking` agents: the far party's phone number, which becomes a conference member when
    /// the agent applies from the call. Default: `9` followed by the agent id in six digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// An inspector may query every conference of the VDN (`queryConfInfos`,
    /// `queryAllConfIds`).
    #[serde(default)]
    pub inspector: bool,
    /// The sign-in password; absent: any password is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

fn yes() -> bool {
    true
}

/// A configuration value that does not make sense, with the JSON path (relative to the
/// object that was checked) of the offending field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl PlatformConfig {
    /// Checks what the types alone cannot.
    pub fn check(&self) -> Result<(), ConfigProblem> {
        let problem = |path: &str, message: String| {
            Err(ConfigProblem {
                path: path.to_owned(),
                message,
            })
        };
        if self.latency.min_ms > self.latency.max_ms {
            return problem(
                "latency.minMs",
                format!(
                    "minMs ({}) must not exceed maxMs ({})",
                    self.latency.min_ms, self.latency.max_ms
                ),
            );
        }
        if self.latency.max_ms > 3_600_000 {
            return problem(
                "latency.maxMs",
                "maxMs must be at most 3600000 (one hour)".to_owned(),
            );
        }
        let rate = self.faults.request_failed_rate;
        if !(0.0..=1.0).contains(&rate) {
            return problem(
                "faults.requestFailedRate",
                format!("{rate} is not a probability between 0 and 1"),
            );
        }
        if self.vdn.max_concurrent_calls == 0 {
            return problem("vdn.maxConcurrentCalls", "must be at least 1".to_owned());
        }
        if self.vdn.system_caller_no.len() > 24 {
            return problem("vdn.systemCallerNo", "must be at most 24 bytes".to_owned());
        }
        if self.agent_id_range.min < 1 {
            return problem("agentIdRange", "ids start at 1".to_owned());
        }
        let answer = self.phones.answer_delay;
        if answer.min_ms > answer.max_ms {
            return problem(
                "phones.answerDelay.minMs",
                format!(
                    "minMs ({}) must not exceed maxMs ({})",
                    answer.min_ms, answer.max_ms
                ),
            );
        }
        let rate = self.phones.no_answer_rate;
        if !(0.0..=1.0).contains(&rate) {
            return problem(
                "phones.noAnswerRate",
                format!("{rate} is not a probability between 0 and 1"),
            );
        }
        if !(1..=86_400_000).contains(&self.ring_timeout_ms) {
            return problem(
                "ringTimeoutMs",
                "must be from 1 to 86400000 (one day)".to_owned(),
            );
        }
        if !(1..=86_400_000).contains(&self.announcement_ms) {
            return problem(
                "announcementMs",
                "must be from 1 to 86400000 (one day)".to_owned(),
            );
        }
        Ok(())
    }
}

impl AgentGroup {
    /// A group of signed-in, idle agents with every other field at its default.
    pub fn new(ids: AgentSet) -> Self {
        AgentGroup {
            ids,
            signed_in: true,
            state: AgentState::Idle,
            stable_call: true,
            three_party_called: false,
            peer: None,
            inspector: false,
            password: None,
        }
    }

    /// Checks a roster entry against the platform.
    pub fn check(&self, platform: &PlatformConfig) -> Result<(), ConfigProblem> {
        if let Some(id) = self.ids.first_outside(&platform.agent_id_range) {
            return Err(ConfigProblem {
                path: "ids".to_owned(),
                message: format!(
                    "agent {id} is outside the platform's agentIdRange {}",
                    platform.agent_id_range
                ),
            });
        }
        if let Some(password) = &self.password
            && password.len() > 32
        {
            return Err(ConfigProblem {
                path: "password".to_owned(),
                message: "must be at most 32 bytes".to_owned(),
            });
        }
        if let Some(peer) = &self.peer
            && (peer.is_empty() || peer.len() > 24)
        {
            return Err(ConfigProblem {
                path: "peer".to_owned(),
                message: "must be 1 to 24 bytes".to_owned(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_number_restrictions_match_exactly_or_by_prefix() {
        let mut vdn = VdnConfig::default();
        assert!(vdn.allows_caller_no("anything"));
        vdn.allowed_caller_nos = Some(vec!["10000".into(), "2000*".into()]);
        assert!(vdn.allows_caller_no("10000"));
        assert!(vdn.allows_caller_no("200012"));
        assert!(!vdn.allows_caller_no("100001"));
        assert!(!vdn.allows_caller_no("3000"));
    }

    #[test]
    fn platform_defaults_fill_an_empty_object() {
        let p: PlatformConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(p, PlatformConfig::default());
        assert_eq!(
            p.latency,
            LatencyConfig {
                min_ms: 10,
                max_ms: 100
            }
        );
        assert!(p.check().is_ok());
    }

    #[test]
    fn unknown_platform_keys_are_rejected() {
        assert!(serde_json::from_str::<PlatformConfig>(r#"{"latencyy": {}}"#).is_err());
        assert!(serde_json::from_str::<PlatformConfig>(r#"{"vdn": {"maxCalls": 3}}"#).is_err());
    }

    #[test]
    fn impossible_values_are_named() {
        let mut p = PlatformConfig {
            latency: LatencyConfig {
                min_ms: 5,
                max_ms: 1,
            },
            ..Default::default()
        };
        assert_eq!(p.check().unwrap_err().path, "latency.minMs");
        p.latency = LatencyConfig::default();
        p.faults.request_failed_rate = 1.5;
        assert_eq!(p.check().unwrap_err().path, "faults.requestFailedRate");
    }
}
