//! The gateway's configuration: the clock, the Guid policy, polling, limits, and the platform
//! file (`--platform FILE.json`).
//!
//! Every period that the vendor expresses in time for the platform (Guid rotation and
//! validity) is *simulated* time, so it compresses with `--speed` and moves with the manual
//! clock like everything else the platform does. Two periods are real time, because they are
//! about the client, not the simulation: `poll_wait`, how long a TCP connection is held, and
//! `inactivity`, how long a client may be silent (product.md §9.2: a client polling every
//! 500 ms must not be signed out at `--speed 600`, nor by a manual clock's 45-minute step).

use crate::error::{GatewayError, Result};
use confsim_core::ids::AgentSet;
use confsim_core::time::{SimDuration, SimTime};
use confsim_core::{AgentGroup, AgentId, AgentState, PlatformConfig};
use confsim_scenario::locate::locate;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How simulated time passes.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ClockMode {
    /// Simulated time runs `speed` times faster than real time, from the start.
    Wall { speed: f64 },
    /// Simulated time moves only through `POST /simulator/clock/advance`.
    Manual,
}

impl ClockMode {
    pub fn name(&self) -> &'static str {
        match self {
            ClockMode::Wall { .. } => "wall",
            ClockMode::Manual => "manual",
        }
    }
}

/// The vendor's two authentication modes (agentgateway.md §2.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GuidMode {
    /// One Guid per sign-in, valid for the whole session (`AUTHMODE = 1`).
    Static,
    /// The Guid is replaced every `interval` on the polling (or heartbeat) response
    /// (`AUTHMODE = 2`).
    Dynamic,
}

/// When Guids are replaced and how long a replaced one is still accepted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GuidPolicy {
    pub mode: GuidMode,
    /// `GUIDINTERVAL`: a Guid is replaced once it is this old (dynamic mode).
    pub interval: SimDuration,
    /// `GUIDTIMEOUT`: a Guid is accepted for at least this long after it was issued. A
    /// replaced Guid stays valid for `timeout - interval` after its replacement, which
    /// guarantees that (it was current for at least `interval`).
    pub timeout: SimDuration,
}

impl GuidPolicy {
    /// The grace window of a replaced Guid.
    pub fn grace(&self) -> SimDuration {
        SimDuration::from_millis(
            self.timeout
                .as_millis()
                .saturating_sub(self.interval.as_millis()),
        )
    }
}

impl Default for GuidPolicy {
    /// Static, with the vendor's default periods (`GUIDINTERVAL` 60 s, `GUIDTIMEOUT` 120 s) for
    /// when dynamic mode is chosen. Static is the default because the vendor's own C# demo
    /// reads `Set-GUID` only at sign-in: a client like it would be locked out of a dynamic
    /// gateway after two minutes, and integrators point exactly such clients at this server.
    fn default() -> Self {
        GuidPolicy {
            mode: GuidMode::Static,
            interval: SimDuration::from_secs(60),
            timeout: SimDuration::from_secs(120),
        }
    }
}

/// When the journal file reaches the disk (`--fsync`). Every mode hands each record to the
/// operating system before the answer that depends on it leaves, so killing the process
/// loses nothing acknowledged; the modes differ on a machine that stops (power, kernel).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Fsync {
    /// Each answer waits for its own `fdatasync`, taken under the engine's lock: nothing later
    /// is even decided before an input is on disk. Throughput is one input per disk sync.
    Always,
    /// Group commit: an answer waits until a sync that started after its record was written
    /// has finished; answers that arrive while a sync runs share the next one. Acknowledged
    /// inputs are on disk, as with `Always`, and throughput holds. The default: the journal is
    /// the record users trust, and this makes it durable for about the price of `Never`.
    #[default]
    Batch,
    /// Written to the operating system, never synced: survives the process, not the machine.
    Never,
}

impl Fsync {
    pub fn name(&self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Batch => "batch",
            Fsync::Never => "never",
        }
    }
}

/// Who may use the control API under `/simulator/` (`--control`, `--control-token`). It can
/// move the manual clock and read the whole journal, Guids of nobody but inputs of everybody,
/// so it is open only where only the machine's own users reach it.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ControlAccess {
    /// Absent: every `/simulator/` route answers 404.
    Off,
    /// Open to whoever reaches the port. Refused on an address that is not loopback
    /// (`check_address`): anyone on the network could move the clock and read the journal.
    #[default]
    Open,
    /// Every request must carry `Authorization: Bearer <token>` (compared in constant time);
    /// otherwise 401. Allowed on any address.
    Token(String),
}

impl std::fmt::Debug for ControlAccess {
    /// Never prints the token (configurations get logged).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ControlAccess::Off => "Off",
            ControlAccess::Open => "Open",
            ControlAccess::Token(_) => "Token(<hidden>)",
        })
    }
}

impl ControlAccess {
    pub fn name(&self) -> &'static str {
        match self {
            ControlAccess::Off => "off",
            ControlAccess::Open => "on",
            ControlAccess::Token(_) => "on (token)",
        }
    }

    /// Refuses an open control API on an address other than loopback: the gateway does not
    /// start rather than expose it (`--control-token` or `--control off` are the ways out).
    pub fn check_address(&self, addr: std::net::SocketAddr) -> Result<()> {
        if *self == ControlAccess::Open && !addr.ip().is_loopback() {
            return Err(GatewayError::Config(format!(
                "the control API (/simulator/: the clock, the whole journal) would be open to anyone who reaches {addr}; give --control-token TOKEN (or --control-token-file FILE) to protect it, or --control off"
            )));
        }
        Ok(())
    }
}

/// The gateway's name in Guids (`<uuid>.AgentGateway0`), as the vendor's node names appear.
pub const NODE_NAME: &str = "AgentGateway0";

/// Everything a gateway needs to start.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    pub seed: u64,
    /// The simulated instant the session starts at (the journal header's `start`).
    pub start: SimTime,
    pub clock: ClockMode,
    pub platform: PlatformConfig,
    /// The roster (every agent starts signed out: a Guid exists only through an HTTP sign-in).
    pub agents: Vec<AgentGroup>,
    /// How long (real time) a poll with no event is held before the empty answer.
    pub poll_wait: Duration,
    pub guid: GuidPolicy,
    /// An agent whose client sends nothing for this long (real time, under every clock and
    /// speed) is signed out by the gateway (`MAXTIME`, agentgateway.md §2.3) with a journaled
    /// `forceLogout` at the simulated time the silence is detected; `None` disables it.
    pub inactivity: Option<Duration>,
    /// Also accept what the vendor's demo clients send (PUT or DELETE for POST operations,
    /// `prolongTime` and `destWorkNo` as query parameters).
    pub lenient: bool,
    /// Events held per agent before the oldest are dropped.
    pub queue_capacity: usize,
    /// Bytes of journal kept in memory for `GET /simulator/journal`.
    pub journal_memory_bytes: usize,
    /// The largest request body read; larger ones are refused with 413.
    pub max_body_bytes: usize,
    /// When the `--journal` file reaches the disk.
    pub fsync: Fsync,
    /// Who may use `/simulator/`.
    pub control: ControlAccess,
    /// How long (real time) a connection may take to send a request's line and headers,
    /// counted from the first byte it is awaited (for a kept-alive connection: from the end
    /// of the previous answer). A client that is slower (a slowloris) is disconnected; no
    /// answer is sent. Also bounds a TLS handshake.
    pub header_read_timeout: Duration,
    /// The largest request line and headers together; larger ones are answered 431 by the
    /// HTTP layer and the connection closed.
    pub max_header_bytes: usize,
    /// Connections served at once. Beyond it the gateway accepts no more: new connections
    /// wait in the operating system's listen backlog until one closes.
    pub max_connections: usize,
    /// The hosts push-mode callbacks may go to (`--push-allow`); empty: loopback only.
    pub push_allow: Vec<crate::push::PushAllow>,
}

/// Bounds of `--max-header-bytes`: below 1 KiB ordinary clients fail; the upper bound keeps a
/// connection's read buffer small.
pub const MIN_HEADER_BYTES: usize = 1 << 10;
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// The most `--max-connections` may be.
pub const MAX_CONNECTIONS: usize = 1_000_000;

/// The start of a manual-clock session when none is given: the scenarios' default, so an HTTP
/// session and a scenario line up without saying so.
pub const DEFAULT_START: &str = confsim_scenario::scenario::DEFAULT_START;

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            seed: confsim_scenario::scenario::DEFAULT_SEED,
            start: SimTime::parse_rfc3339(DEFAULT_START).unwrap_or_default(),
            clock: ClockMode::Manual,
            platform: PlatformConfig::default(),
            agents: Vec::new(),
            poll_wait: Duration::from_millis(10_000),
            guid: GuidPolicy::default(),
            inactivity: Some(Duration::from_secs(120)),
            lenient: false,
            queue_capacity: 10_000,
            journal_memory_bytes: 256 << 20,
            max_body_bytes: 64 << 10,
            fsync: Fsync::default(),
            control: ControlAccess::default(),
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 << 10,
            max_connections: 10_000,
            push_allow: Vec::new(),
        }
    }
}

impl GatewayConfig {
    /// Checks what the types cannot.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(GatewayError::Config(m));
        if let ClockMode::Wall { speed } = self.clock
            && !(speed.is_finite() && speed > 0.0)
        {
            return bad(format!("--speed must be a positive number, not {speed}"));
        }
        if self.guid.interval.as_millis() == 0 {
            return bad("--guid-interval-ms must be at least 1".to_owned());
        }
        if self.guid.interval >= self.guid.timeout {
            return bad(format!(
                "--guid-interval-ms ({}) must be less than --guid-timeout-ms ({}), as the vendor requires of GUIDINTERVAL and GUIDTIMEOUT",
                self.guid.interval.as_millis(),
                self.guid.timeout.as_millis()
            ));
        }
        if self.queue_capacity == 0 {
            return bad("--queue-capacity must be at least 1".to_owned());
        }
        if self.poll_wait > Duration::from_secs(600) {
            return bad("--poll-wait-ms must be at most 600000 (ten minutes)".to_owned());
        }
        if self.header_read_timeout.is_zero() || self.header_read_timeout > Duration::from_secs(600)
        {
            return bad(format!(
                "--header-timeout-ms must be from 1 to 600000, not {}",
                self.header_read_timeout.as_millis()
            ));
        }
        if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&self.max_header_bytes) {
            return bad(format!(
                "--max-header-bytes must be from {MIN_HEADER_BYTES} to {MAX_HEADER_BYTES}, not {}",
                self.max_header_bytes
            ));
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return bad(format!(
                "--max-connections must be from 1 to {MAX_CONNECTIONS}, not {}",
                self.max_connections
            ));
        }
        if let ControlAccess::Token(token) = &self.control
            && (token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return bad(
                "--control-token must be one word of printable ASCII (it travels in an HTTP header), and not empty".to_owned(),
            );
        }
        if let Some(problem) = self.platform.check().err() {
            return bad(format!("platform.{}: {}", problem.path, problem.message));
        }
        Ok(())
    }
}

/// `--platform FILE.json`: the scenario's `platform` object and an optional roster.
///
/// ```json
/// { "platform": { "latency": { "minMs": 0, "maxMs": 0 }, "signIn": "roster" },
///   "agents": [ { "ids": "101-120", "password": "secret" }, { "ids": 900, "inspector": true } ] }
/// ```
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "confsim platform file")]
pub struct PlatformFile {
    /// The JSON Schema this file follows, for editors (`confsim schema platform`); ignored.
    #[serde(default, rename = "$schema")]
    pub schema: Option<String>,
    #[serde(default)]
    pub platform: PlatformConfig,
    #[serde(default)]
    pub agents: Vec<RosterEntry>,
}

/// One roster entry of a platform file. Unlike a scenario's agents, no state: every agent
/// starts signed out and signs in over HTTP, which is where its Guid comes from.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RosterEntry {
    pub ids: AgentSet,
    /// The sign-in password; absent: any password is accepted.
    #[serde(default)]
    pub password: Option<String>,
    /// May query every conference of the VDN.
    #[serde(default)]
    pub inspector: bool,
}

impl RosterEntry {
    /// The core's roster group for this entry: signed out, idle.
    pub fn group(&self) -> AgentGroup {
        AgentGroup {
            ids: self.ids.clone(),
            signed_in: false,
            state: AgentState::Idle,
            stable_call: true,
            three_party_called: false,
            peer: None,
            inspector: self.inspector,
            password: self.password.clone(),
        }
    }
}

/// Reads and checks a platform file.
pub fn load_platform_file(file: &Path) -> Result<(PlatformConfig, Vec<AgentGroup>)> {
    let text = std::fs::read_to_string(file).map_err(|error| GatewayError::Read {
        file: file.to_owned(),
        error,
    })?;
    parse_platform_file(&text, file)
}

/// Parses and checks platform-file text; `file` names it in errors, which carry the line,
/// column and JSON path as scenario errors do.
pub fn parse_platform_file(text: &str, file: &Path) -> Result<(PlatformConfig, Vec<AgentGroup>)> {
    let invalid = |line, column, path: String, message: String| GatewayError::Invalid {
        file: file.to_owned(),
        line,
        column,
        path,
        message,
    };
    if let Some(first) = text.trim_start().chars().next()
        && first != '{'
    {
        let (line, column) = locate(text, "").unzip();
        return Err(invalid(
            line,
            column,
            String::new(),
            "a platform file is a JSON object ({ \"platform\": { ... }, \"agents\": [ ... ] })"
                .to_owned(),
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed: PlatformFile = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        invalid(
            Some(inner.line()),
            Some(inner.column()),
            if path == "." || path == "?" {
                String::new()
            } else {
                path
            },
            strip_position(&inner.to_string()),
        )
    })?;
    if let Err(inner) = de.end() {
        return Err(invalid(
            Some(inner.line()),
            Some(inner.column()),
            String::new(),
            "unexpected text after the platform object".to_owned(),
        ));
    }
    let agents: Vec<AgentGroup> = parsed.agents.iter().map(RosterEntry::group).collect();
    check_file(&parsed.platform, &agents).map_err(|(path, message)| {
        let (line, column) = locate(text, &path).unzip();
        invalid(line, column, path, message)
    })?;
    Ok((parsed.platform, agents))
}

/// The platform file's JSON Schema (draft 2020-12), derived from the types the parser reads.
pub fn platform_file_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<PlatformFile>().to_value()
}

/// serde_json appends " at line L column C" to its messages; the error prints those itself.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn check_file(
    platform: &PlatformConfig,
    agents: &[AgentGroup],
) -> std::result::Result<(), (String, String)> {
    platform
        .check()
        .map_err(|p| (format!("platform.{}", p.path), p.message))?;
    let mut seen: BTreeMap<AgentId, usize> = BTreeMap::new();
    for (i, group) in agents.iter().enumerate() {
        group
            .check(platform)
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(PlatformConfig, Vec<AgentGroup>)> {
        parse_platform_file(text, Path::new("p.json"))
    }

    #[test]
    fn a_roster_starts_signed_out_with_its_passwords() {
        let (platform, agents) = parse(
            r#"{"platform": {"signIn": "roster"}, "agents": [{"ids": "101-102", "password": "pw"}, {"ids": 900, "inspector": true}]}"#,
        )
        .unwrap();
        assert_eq!(platform.sign_in, confsim_core::config::SignInMode::Roster);
        assert_eq!(agents.len(), 2);
        assert!(agents.iter().all(|g| !g.signed_in));
        assert_eq!(agents[0].password.as_deref(), Some("pw"));
        assert!(agents[1].inspector);
    }

    #[test]
    fn errors_name_the_file_line_column_and_path() {
        let err = parse("{\n  \"platform\": {\"latency\": {\"minMs\": 5, \"maxMs\": 1}}\n}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.json:2:"), "{err}");
        assert!(err.contains("platform.latency.minMs"), "{err}");

        let err = parse("{\"agents\": [{\"ids\": 101, \"state\": \"idle\"}]}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("agents[0]") && err.contains("unknown field `state`"),
            "{err}"
        );

        let err = parse("{\"agents\": [{\"ids\": \"101-105\"}, {\"ids\": 103}]}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("agents[1].ids") && err.contains("already listed"),
            "{err}"
        );

        let err = parse("[]").unwrap_err().to_string();
        assert!(err.contains("JSON object"), "{err}");
    }

    #[test]
    fn flags_that_contradict_each_other_are_refused() {
        let mut c = GatewayConfig::default();
        c.guid.interval = SimDuration::from_secs(120);
        assert!(c.check().is_err());
        let c = GatewayConfig {
            clock: ClockMode::Wall { speed: 0.0 },
            ..GatewayConfig::default()
        };
        assert!(c.check().is_err());
        assert!(GatewayConfig::default().check().is_ok());
        for tune in [
            (|c: &mut GatewayConfig| c.header_read_timeout = Duration::ZERO) as fn(&mut _),
            |c| c.max_header_bytes = 100,
            |c| c.max_header_bytes = 64 << 20,
            |c| c.max_connections = 0,
            |c| c.control = ControlAccess::Token(String::new()),
            |c| c.control = ControlAccess::Token("two words".to_owned()),
        ] {
            let mut c = GatewayConfig::default();
            tune(&mut c);
            let err = c.check().unwrap_err();
            assert!(err.is_bad_input(), "{err}");
        }
    }

    #[test]
    fn an_open_control_api_is_refused_beyond_loopback_and_its_token_never_printed() {
        let open = ControlAccess::Open;
        assert!(
            open.check_address("127.0.0.1:8043".parse().unwrap())
                .is_ok()
        );
        assert!(open.check_address("[::1]:8043".parse().unwrap()).is_ok());
        let err = open
            .check_address("0.0.0.0:8043".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--control-token"), "{err}");
        let token = ControlAccess::Token("s3cret".to_owned());
        assert!(token.check_address("0.0.0.0:8043".parse().unwrap()).is_ok());
        assert!(
            ControlAccess::Off
                .check_address("10.0.0.1:1".parse().unwrap())
                .is_ok()
        );
        let config = GatewayConfig {
            control: token,
            ..GatewayConfig::default()
        };
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
