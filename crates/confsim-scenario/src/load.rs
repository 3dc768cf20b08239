//! Load generators (product.md §3 `load[]`): their scenario form, the checks types cannot
//! express, and the driver that turns them into inputs during a run.
//!
//! A generator is a client population, not part of the platform: it sees the platform only as
//! a polling client could (the records the engine journals, and the state they imply), and
//! everything it does goes through `Engine::submit` like a scripted step. Its randomness is its
//! own ChaCha8 stream keyed by the root seed and its index (`DrawRng::for_generator`), so adding
//! a generator never changes the platform's draws, and the same scenario and seed give the same
//! journal on either clock.
//!
//! **Picking an agent.** An arrival picks, uniformly with the generator's stream, one agent of
//! the generator's set that is *eligible* (for `requestAgentConf`: signed in, idle and in no
//! conference). Scanning the set at every arrival would cost O(agents) each time, which for a
//! closed loop over 10,000 agents that are nearly all busy means billions of checks a run. So
//! each generator keeps an index of its eligible agents, updated from the records: every change
//! to an agent's state comes with a record naming that agent (its input's path id, an agent an
//! invitation, removal or chair transfer names in its body, or its event's `workNo`), because
//! the platform tells agents what happens to them, which is what a polling client relies on
//! too (see `runner::named_agents`). The index may briefly hold an agent that stopped being
//! eligible within the same instant; a pick verifies against `Engine::platform` and drops such
//! an entry before drawing again, so a pick is always uniform over the agents eligible *now*.
//! When none is, the arrival is dropped and counted (`dropped_arrivals`), never queued.
//!
//! **Wake-ups.** The generators' future work (the next arrival of an open generator, the next
//! iteration of a closed loop's slot, a chair's `releaseAfter`) waits in one small queue
//! ordered by (time, sequence), separate from the engine's timer queue. The runner merges it
//! with the scripted steps and the platform's timers; at the same instant, scripted steps run
//! first, then wake-ups, then platform timers (driver work before timers, as everywhere).
//! The queue is bounded: one wake-up per open generator, per closed slot and per tracked chair.

use crate::dist::{DrawRng, DurDist, Template};
use crate::error::Result;
use crate::scenario::{Dur, Scenario};
use crate::wakes::WakeQueue;
use confsim_core::state::{Address, Agent, MemberStatus};
use confsim_core::{
    AgentId, AgentSet, AgentText, ConfId, Input, Op, Platform, SimDuration, SimTime,
};
use confsim_engine::{Engine, Observer};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;

/// The most arrivals per simulated second a rate may ask for: a thousand per millisecond is
/// already far beyond any contact center, and the bound keeps a typo (`5e9`) from stalling a
/// run at one instant.
pub const MAX_RATE_PER_SECOND: f64 = 1_000_000.0;

/// One `load[]` entry, as written.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadSpec {
    /// For the report; default `load[i]`.
    #[serde(default)]
    pub name: Option<String>,
    /// The agents this generator acts as.
    pub agents: AgentSet,
    /// The operation each arrival calls.
    #[serde(default = "default_op")]
    pub op: Op,
    /// The request body; any value in it may be a distribution.
    #[serde(default)]
    pub body: Template,
    pub arrival: Arrival,
    /// First arrival offset (from the scenario's start); default `0s`.
    #[serde(default)]
    pub from: Option<Dur>,
    /// No arrival at or after this offset; default the scenario's `until`.
    #[serde(default)]
    pub until: Option<Dur>,
    /// At most this many arrivals (dropped ones included).
    #[serde(default)]
    pub max_count: Option<u64>,
    /// `requestAgentConf` only: the chair releases its conference this long after
    /// `AgentConf_RequestSuccess`, if it is still chair of that active conference then.
    #[serde(default)]
    pub release_after: Option<DurDist>,
    /// Which agents of the set an arrival may pick; default from the operation.
    #[serde(default)]
    pub pick: Option<Pick>,
}

fn default_op() -> Op {
    Op::RequestAgentConf
}

/// When arrivals happen.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Arrival {
    /// Exponential gaps with this mean rate.
    Poisson(Rate),
    /// Evenly spaced: arrival k at `from + k/rate`.
    Constant(Rate),
    /// `count` arrivals at `from`.
    Burst(BurstSpec),
    /// `concurrency` slots, each looping: apply, hold (`releaseAfter`), release, think.
    Closed(ClosedSpec),
}

impl Arrival {
    pub fn kind(&self) -> &'static str {
        match self {
            Arrival::Poisson(_) => "poisson",
            Arrival::Constant(_) => "constant",
            Arrival::Burst(_) => "burst",
            Arrival::Closed(_) => "closed",
        }
    }
}

#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rate {
    pub per_second: f64,
}

#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BurstSpec {
    pub count: u64,
}

#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClosedSpec {
    pub concurrency: u32,
    /// Between the end of one iteration and the start of the next; default `0s`.
    #[serde(default)]
    pub think_time: DurDist,
}

/// Which agents an arrival may pick.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Pick {
    /// Signed in, idle, in no conference (and not applying for one).
    Free,
    /// Chair of an active conference.
    Chair,
    /// Joined member of an active conference, not its chair.
    Member,
    /// Invited to an active conference, its phone ringing (it received `AgentConf_Ringing`).
    Invited,
    /// Signed in, whatever else.
    SignedIn,
    /// Not signed in.
    SignedOut,
}

impl Pick {
    /// The agents an operation makes sense for, so that a generator of `prolongTime` drives
    /// chairs, one of `requestLeaveAgentConf` members and one of `answerAgentConf` ringing
    /// invitees without saying so.
    pub fn default_for(op: Op) -> Pick {
        match op {
            Op::RequestAgentConf | Op::Logout | Op::ForceLogout => Pick::Free,
            Op::Login | Op::ForceLogin => Pick::SignedOut,
            Op::RequestLeaveAgentConf => Pick::Member,
            Op::ReleaseAgentConf
            | Op::HoldParticipant
            | Op::UnholdParticipant
            | Op::ProlongTime
            | Op::ApplyToShiftPresident
            | Op::BatchAddParticipant
            | Op::BatchRemoveParticipant
            | Op::ChangeParticipantMode
            | Op::PlayVoiceToConf
            | Op::StopVoiceToConf
            | Op::PlayVoiceToParticipant
            | Op::StopVoiceToParticipant
            | Op::ModifyConfResource => Pick::Chair,
            Op::AnswerAgentConf | Op::RejectAgentConf => Pick::Invited,
            Op::QueryConfInfos
            | Op::QueryAllConfIds
            | Op::SayBusy
            | Op::SayFree
            | Op::Work
            | Op::CancelWork
            | Op::Rest
            | Op::CancelRest
            | Op::ResetSkill
            | Op::QueryAgentSkills => Pick::SignedIn,
        }
    }

    /// Whether `id` may be picked in the platform's current state.
    pub fn eligible(self, platform: &Platform, id: AgentId) -> bool {
        platform
            .agent(id)
            .is_some_and(|agent| self.holds(platform, id, agent))
    }

    /// As `eligible`, for an agent already looked up: the driver looks each touched agent up
    /// once, for every generator's pick and its own check that the agent is free again.
    /// Inline, with the conference cases out of line: for the usual `Free` it is one field
    /// test in `absorb`'s loop.
    #[inline]
    fn holds(self, platform: &Platform, id: AgentId, agent: &Agent) -> bool {
        match self {
            // The platform's own rule, which also waits for a sign-in's events to be sent.
            Pick::Free => agent.is_free(),
            Pick::SignedIn => agent.signed_in,
            Pick::SignedOut => !agent.signed_in,
            Pick::Chair | Pick::Member | Pick::Invited => {
                agent.signed_in && self.holds_in_conference(platform, id, agent)
            }
        }
    }

    /// `holds` for the picks that look at the agent's place in its active conference. Out of
    /// line: callers' loops need not keep the conference table at hand for the usual picks.
    #[inline(never)]
    fn holds_in_conference(self, platform: &Platform, id: AgentId, agent: &Agent) -> bool {
        let Some(conf) = agent
            .conf
            .and_then(|c| platform.conference(c))
            .filter(|c| c.is_active())
        else {
            return false;
        };
        let chair = conf.chair == id;
        let status = conf.member_at(&Address::Agent(id)).map(|m| &m.status);
        match self {
            Pick::Chair => chair,
            Pick::Member => !chair && status == Some(&MemberStatus::Joined),
            Pick::Invited => matches!(status, Some(MemberStatus::Ringing { .. })),
            // `holds` answers these without a conference; never asked here.
            Pick::Free | Pick::SignedIn | Pick::SignedOut => false,
        }
    }
}

impl LoadSpec {
    pub fn pick(&self) -> Pick {
        self.pick.unwrap_or_else(|| Pick::default_for(self.op))
    }
}

/// Checks one generator against the scenario; returns the JSON path (relative to `load[i]`)
/// of the offending value and why.
pub fn check(
    spec: &LoadSpec,
    scenario: &Scenario,
    in_roster: &dyn Fn(AgentId) -> bool,
) -> std::result::Result<(), (String, String)> {
    let err = |path: &str, message: String| Err((path.to_owned(), message));
    if spec.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
        return err("name", "must not be empty".into());
    }
    let range = scenario.platform.agent_id_range;
    if let Some(id) = spec.agents.first_outside(&range) {
        return err(
            "agents",
            format!("agent {id} is outside the platform's agentIdRange {range}"),
        );
    }
    // A generator can only ever act as agents the platform knows: one missing from the roster
    // would silently never be picked, and a typo must not silently change an experiment.
    if let Some(id) = spec.agents.iter().find(|id| !in_roster(*id)) {
        return err(
            "agents",
            format!("agent {id} is not in agents[]: a generator acts only as agents of the roster"),
        );
    }
    if spec.release_after.is_some() && spec.op != Op::RequestAgentConf {
        return err(
            "releaseAfter",
            format!(
                "releaseAfter applies to requestAgentConf generators, not {}",
                spec.op
            ),
        );
    }
    if spec.max_count == Some(0) {
        return err("maxCount", "must be at least 1".into());
    }
    let from = spec.from.map_or(SimDuration::ZERO, |d| d.0);
    if let Some(until) = spec.until
        && until.0 <= from
    {
        return err(
            "until",
            format!("until ({}) must be later than from ({from})", until.0),
        );
    }
    if let Some(end) = scenario.until
        && from >= end.0
    {
        return err(
            "from",
            format!(
                "from ({from}) is not before the scenario's until ({}): no arrival would happen",
                end.0
            ),
        );
    }
    let unbounded = spec.until.is_none() && scenario.until.is_none() && spec.max_count.is_none();
    match &spec.arrival {
        Arrival::Poisson(rate) | Arrival::Constant(rate) => {
            let kind = spec.arrival.kind();
            let r = rate.per_second;
            if !(r > 0.0 && r <= MAX_RATE_PER_SECOND) {
                return err(
                    &format!("arrival.{kind}.perSecond"),
                    format!("must be a rate above 0 and at most {MAX_RATE_PER_SECOND}, got {r}"),
                );
            }
            if unbounded {
                return err(
                    "arrival",
                    format!(
                        "{kind} arrivals need an end: give the generator \"until\" or \"maxCount\", or the scenario \"until\""
                    ),
                );
            }
        }
        Arrival::Burst(b) => {
            if b.count == 0 {
                return err("arrival.burst.count", "must be at least 1".into());
            }
        }
        Arrival::Closed(c) => {
            let set = spec.agents.len();
            if c.concurrency == 0 || c.concurrency as usize > set {
                return err(
                    "arrival.closed.concurrency",
                    format!(
                        "must be from 1 to the {set} agents of the generator's set, got {}",
                        c.concurrency
                    ),
                );
            }
            if unbounded {
                return err(
                    "arrival",
                    "a closed loop needs an end: give the generator \"until\" or \"maxCount\", or the scenario \"until\"".into(),
                );
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The driver.

/// What a record tells the generators: it concerns `agent`; for `AgentConf_RequestSuccess`,
/// also the conference that became active (for `releaseAfter`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Touch {
    pub agent: AgentId,
    pub success: Option<ConfId>,
}

/// Collects touches as records are journaled; the driver absorbs them after each engine call,
/// when it may read the platform again.
pub trait TouchSink: Observer {
    fn touches(&mut self) -> &mut Vec<Touch>;

    /// The driver is about to submit an input whose path id is `name`, made from `agent`: a
    /// sink may take the agent from here rather than parse the id back from the record.
    /// Only a hint: a sink that ignores it (the default) parses, and gets the same agent.
    fn submitting(&mut self, name: &AgentText, agent: AgentId) {
        let _ = (name, agent);
    }
}

/// A generator's figures, in the report's `load` list.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoadFigures {
    pub name: String,
    pub op: String,
    pub arrival: String,
    /// Arrivals that happened (each either submitted or dropped).
    pub arrivals: u64,
    /// Arrivals that found no eligible agent.
    pub dropped: u64,
    /// Inputs submitted, and how many of them were answered `0`.
    pub submitted: u64,
    pub accepted: u64,
    /// `releaseAgentConf` inputs sent for `releaseAfter`.
    pub releases: u64,
}

/// A generator's future work. At most one of each is pending (one next arrival per open
/// generator, scheduled again only once it ran; one iteration per closed slot, whose slot is
/// either waiting here or held by a `Track`, never both; one release per conference, whose
/// `AgentConf_RequestSuccess` comes once), so the queue never needs to replace or cancel one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Wake {
    /// The next arrival of an open (poisson, constant, burst) generator.
    Arrival { generator: u32 },
    /// The next iteration of a closed loop's slot.
    Slot { generator: u32, slot: u32 },
    /// `releaseAfter` is up for this chair's conference.
    Release {
        generator: u32,
        agent: AgentId,
        conf: ConfId,
    },
}

/// The agents of a generator's set, each with a dense member number.
#[derive(Debug)]
enum Members {
    Range {
        min: u32,
        len: u32,
    },
    List {
        ids: Vec<AgentId>,
        index: FxHashMap<AgentId, u32>,
    },
}

impl Members {
    fn new(set: &AgentSet) -> Self {
        match set {
            AgentSet::Range(a, b) => Members::Range {
                min: *a,
                len: b - a + 1,
            },
            _ => {
                // A list may repeat an id; an agent is one member however often it is listed.
                let mut ids = Vec::new();
                let mut index = FxHashMap::default();
                for id in set.iter() {
                    index.entry(id).or_insert_with(|| {
                        ids.push(id);
                        (ids.len() - 1) as u32
                    });
                }
                Members::List { ids, index }
            }
        }
    }

    fn len(&self) -> u32 {
        match self {
            Members::Range { len, .. } => *len,
            Members::List { ids, .. } => ids.len() as u32,
        }
    }

    fn get(&self, m: u32) -> AgentId {
        match self {
            Members::Range { min, .. } => AgentId(min + m),
            Members::List { ids, .. } => ids[m as usize],
        }
    }

    fn index_of(&self, id: AgentId) -> Option<u32> {
        match self {
            Members::Range { min, len } => id.0.checked_sub(*min).filter(|m| m < len),
            Members::List { index, .. } => Self::listed(index, id),
        }
    }

    /// A list's member number. Out of line: inlined, the id's hash was computed ahead of
    /// `absorb`'s loop over generators for every touched agent, ranges or not.
    #[inline(never)]
    fn listed(index: &FxHashMap<AgentId, u32>, id: AgentId) -> Option<u32> {
        index.get(&id).copied()
    }
}

/// The eligible members of a set: a vector to draw from, and each member's position in it,
/// so adding and removing are O(1) (swap-remove).
#[derive(Debug)]
struct EligibleIndex {
    eligible: Vec<u32>,
    position: Vec<u32>,
}

const ABSENT: u32 = u32::MAX;

impl EligibleIndex {
    fn new(len: u32) -> Self {
        EligibleIndex {
            eligible: Vec::new(),
            position: vec![ABSENT; len as usize],
        }
    }

    /// Inline: `absorb_one` calls it for every touch, and usually it changes nothing.
    #[inline]
    fn set(&mut self, m: u32, eligible: bool) {
        let pos = self.position[m as usize];
        match (eligible, pos == ABSENT) {
            (true, true) => {
                self.position[m as usize] = self.eligible.len() as u32;
                self.eligible.push(m);
            }
            (false, false) => {
                let last = self.eligible.len() - 1;
                self.eligible.swap(pos as usize, last);
                self.eligible.pop();
                if (pos as usize) < self.eligible.len() {
                    self.position[self.eligible[pos as usize] as usize] = pos;
                }
                self.position[m as usize] = ABSENT;
            }
            _ => {}
        }
    }
}

/// One generator at run time.
#[derive(Debug)]
struct Generator<'a> {
    spec: &'a LoadSpec,
    name: String,
    pick: Pick,
    rng: DrawRng,
    members: Members,
    index: EligibleIndex,
    from: SimTime,
    /// No arrival at or after this instant (`None`: bounded by `maxCount` only).
    until: Option<SimTime>,
    /// Poisson: the offset of the next arrival from `from`, in fractional milliseconds, so
    /// that gaps shorter than a millisecond still add up to the right rate.
    next_offset_ms: f64,
    /// Constant: the number of the next arrival.
    next_k: u64,
    figures: LoadFigures,
    /// The body, when it draws nothing: shared by every input rather than copied for each.
    literal: Option<std::sync::Arc<serde_json::Value>>,
    /// The agents this generator follows, by member number (see `Track`); empty for a
    /// generator that follows none (one that neither loops closed nor releases).
    tracks: Vec<Option<Track>>,
    /// Each member's id as inputs carry it, made at its first input and copied into every
    /// later one (inline: `AgentText`).
    names: Vec<Option<AgentText>>,
}

impl Generator<'_> {
    fn may_arrive(&self, now: SimTime) -> bool {
        self.until.is_none_or(|u| now < u)
            && self
                .spec
                .max_count
                .is_none_or(|m| self.figures.arrivals < m)
    }

    /// Picks an eligible agent uniformly, or `None` (see the module comment); with its
    /// member number.
    fn pick(&mut self, platform: &Platform) -> Option<(u32, AgentId)> {
        while !self.index.eligible.is_empty() {
            let at = self.rng.below(self.index.eligible.len() as u64) as usize;
            let m = self.index.eligible[at];
            let id = self.members.get(m);
            if self.pick.eligible(platform, id) {
                return Some((m, id));
            }
            self.index.set(m, false);
        }
        None
    }

    /// Member `m`'s id (`agent`) as its inputs carry it; `None` for an agent not in the set.
    fn name(&mut self, m: Option<u32>, agent: AgentId) -> AgentText {
        let Some(m) = m
            .map(|m| m as usize)
            .filter(|m| *m < self.members.len() as usize)
        else {
            return decimal(agent);
        };
        if self.names.len() <= m {
            self.names.resize(self.members.len() as usize, None);
        }
        self.names[m].get_or_insert_with(|| decimal(agent)).clone()
    }

    fn think_time(&mut self) -> SimDuration {
        match &self.spec.arrival {
            Arrival::Closed(c) => c.think_time.draw(&mut self.rng),
            _ => SimDuration::ZERO,
        }
    }
}

/// `agent.decimal()`, inline: made in place rather than as a `String` (an allocation, a copy
/// and a free fewer for each member's first input).
fn decimal(agent: AgentId) -> AgentText {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = agent.0;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Always ASCII digits; the fallback only keeps this panic-free.
    std::str::from_utf8(&digits[at..]).map_or_else(|_| agent.decimal().into(), AgentText::new)
}

/// An agent a generator follows: until it is free again (the end of a closed loop's
/// iteration), and until its conference starts (for `releaseAfter`). At most one generator
/// follows an agent at a time: a generator that picks an agent another one follows takes the
/// track over (`LoadDriver::follow`). Kept in the generator's `tracks` by member number, so
/// finding it is an index in the loop over generators `absorb` makes anyway, not a hash
/// lookup per touched agent.
#[derive(Copy, Clone, Debug)]
struct Track {
    slot: Option<u32>,
    release_after: Option<SimDuration>,
    since: SimTime,
}

/// All of a scenario's generators, their wake-up queue and the agents they follow.
#[derive(Debug)]
pub struct LoadDriver<'a> {
    gens: Vec<Generator<'a>>,
    /// Wake-ups in (time, scheduling order), in two levels (see `WakeQueue`): up to one
    /// release per active conference is pending, and a single heap of those was the run's
    /// hottest spot.
    queue: WakeQueue<Wake>,
    /// The body of every `releaseAgentConf` (`null`), shared like a literal body: an input
    /// holds its body in an `Arc`, and one allocation per release was a visible cost.
    null_body: std::sync::Arc<Value>,
}

impl<'a> LoadDriver<'a> {
    /// The scenario's generators, their eligible agents read from `platform` (the initial
    /// state), and their first wake-ups scheduled.
    pub fn new(scenario: &'a Scenario, seed: u64, platform: &Platform) -> Self {
        let mut driver = LoadDriver {
            gens: Vec::with_capacity(scenario.load.len()),
            queue: WakeQueue::new(scenario.start),
            null_body: std::sync::Arc::new(Value::Null),
        };
        let scenario_until = scenario.until.map(|u| scenario.start.saturating_add(u.0));
        for (i, spec) in scenario.load.iter().enumerate() {
            let members = Members::new(&spec.agents);
            let pick = spec.pick();
            let mut index = EligibleIndex::new(members.len());
            for m in 0..members.len() {
                if pick.eligible(platform, members.get(m)) {
                    index.set(m, true);
                }
            }
            let from = scenario
                .start
                .saturating_add(spec.from.map_or(SimDuration::ZERO, |d| d.0));
            let follows = spec.op == Op::RequestAgentConf
                && (matches!(spec.arrival, Arrival::Closed(_)) || spec.release_after.is_some());
            let tracks = if follows {
                vec![None; members.len() as usize]
            } else {
                Vec::new()
            };
            let lg = Generator {
                spec,
                name: spec.name.clone().unwrap_or_else(|| format!("load[{i}]")),
                pick,
                rng: DrawRng::for_generator(seed, i as u32),
                members,
                index,
                from,
                until: spec
                    .until
                    .map(|u| scenario.start.saturating_add(u.0))
                    .or(scenario_until),
                next_offset_ms: 0.0,
                next_k: 0,
                literal: (!spec.body.varies()).then(|| {
                    std::sync::Arc::new(
                        spec.body
                            .render(&mut DrawRng::for_generator(seed, i as u32)),
                    )
                }),
                figures: LoadFigures {
                    name: String::new(),
                    op: spec.op.name().to_owned(),
                    arrival: spec.arrival.kind().to_owned(),
                    ..LoadFigures::default()
                },
                tracks,
                names: Vec::new(),
            };
            driver.gens.push(lg);
            let g = i as u32;
            match &spec.arrival {
                Arrival::Poisson(_) => driver.schedule_next_arrival(g),
                Arrival::Constant(_) | Arrival::Burst(_) => {
                    driver.push(from, Wake::Arrival { generator: g })
                }
                Arrival::Closed(c) => {
                    for slot in 0..c.concurrency {
                        driver.push(from, Wake::Slot { generator: g, slot });
                    }
                }
            }
        }
        driver
    }

    pub fn is_empty(&self) -> bool {
        self.gens.is_empty()
    }

    fn push(&mut self, at: SimTime, wake: Wake) {
        self.queue.push(at, wake);
    }

    /// When the next wake-up is due. Inline: the runner asks before every item.
    #[inline]
    pub fn next_due(&mut self) -> Option<SimTime> {
        self.queue.next_due()
    }

    /// The per-generator figures, in `load[]` order.
    pub fn figures(&self) -> Vec<LoadFigures> {
        self.gens
            .iter()
            .map(|g| LoadFigures {
                name: g.name.clone(),
                ..g.figures.clone()
            })
            .collect()
    }

    /// Arrivals of every generator that found no eligible agent.
    pub fn dropped(&self) -> u64 {
        self.gens.iter().map(|g| g.figures.dropped).sum()
    }

    /// Schedules an open generator's next arrival (poisson and constant), if it may still
    /// arrive then.
    fn schedule_next_arrival(&mut self, g: u32) {
        let lg = &mut self.gens[g as usize];
        let at = match &lg.spec.arrival {
            Arrival::Poisson(rate) => {
                lg.next_offset_ms += lg.rng.exponential(1000.0 / rate.per_second);
                lg.from
                    .saturating_add(SimDuration::from_millis(lg.next_offset_ms as u64))
            }
            Arrival::Constant(rate) => {
                // From k, not by adding a rounded gap: no drift over millions of arrivals.
                let offset = lg.next_k as f64 * 1000.0 / rate.per_second;
                lg.from
                    .saturating_add(SimDuration::from_millis(offset as u64))
            }
            Arrival::Burst(_) | Arrival::Closed(_) => return,
        };
        if lg.may_arrive(at) {
            self.push(at, Wake::Arrival { generator: g });
        }
    }

    /// Runs the earliest wake-up; the engine's time must already be its due time.
    pub fn run_next<W: Write, O: TouchSink>(
        &mut self,
        engine: &mut Engine<W>,
        observer: &mut O,
    ) -> Result<()> {
        let Some((_, wake)) = self.queue.pop() else {
            return Ok(());
        };
        // Hints (see `confsim_core::hint`): a wake-up that releases a conference reads its
        // chair and conference, cancels its timers, and frees its members, which after a hold
        // of minutes are rarely in the cache. Named in two stages: two wake-ups ahead, what is
        // found by number; one ahead, the member list, found through the conference (which
        // the first stage named, when there was one).
        if engine.platform().hints_pay() {
            let platform = engine.platform();
            if let Some(Wake::Release { agent, conf, .. }) = self.queue.upcoming_second() {
                platform.prefetch_agent(*agent);
                platform.prefetch_conf(*conf);
                engine.prefetch_timers_of(*conf);
            }
            if let Some(Wake::Release { agent, conf, .. }) = self.queue.upcoming() {
                platform.prefetch_agent(*agent);
                engine.prefetch_timers_of(*conf);
                platform.prefetch_members(*conf);
            }
        }
        let now = engine.now();
        match wake {
            Wake::Arrival { generator } => {
                let lg = &self.gens[generator as usize];
                let n = match &lg.spec.arrival {
                    Arrival::Burst(b) => b.count,
                    _ => 1,
                };
                for _ in 0..n {
                    if !self.gens[generator as usize].may_arrive(now) {
                        break;
                    }
                    self.arrive(generator, None, engine, observer)?;
                }
                let lg = &mut self.gens[generator as usize];
                lg.next_k += 1;
                self.schedule_next_arrival(generator);
            }
            Wake::Slot { generator, slot } => {
                // A slot whose generator has ended simply stops; its agent's conference runs on.
                if self.gens[generator as usize].may_arrive(now) {
                    self.arrive(generator, Some(slot), engine, observer)?;
                }
            }
            Wake::Release {
                generator,
                agent,
                conf,
            } => {
                let platform = engine.platform();
                let still_chair = platform.agent(agent).is_some_and(|a| a.conf == Some(conf))
                    && platform
                        .conference(conf)
                        .is_some_and(|c| c.is_active() && c.chair == agent);
                if still_chair {
                    let lg = &mut self.gens[generator as usize];
                    let m = lg.members.index_of(agent);
                    let name = lg.name(m, agent);
                    observer.submitting(&name, agent);
                    let input = Input::new(Op::ReleaseAgentConf, name, self.null_body.clone());
                    engine.submit(input, observer)?;
                    self.gens[generator as usize].figures.releases += 1;
                    self.absorb(engine.platform(), engine.now(), observer.touches());
                }
            }
        }
        Ok(())
    }

    /// One arrival of generator `g` (for a closed loop, of its `slot`).
    fn arrive<W: Write, O: TouchSink>(
        &mut self,
        g: u32,
        slot: Option<u32>,
        engine: &mut Engine<W>,
        observer: &mut O,
    ) -> Result<()> {
        let now = engine.now();
        let lg = &mut self.gens[g as usize];
        lg.figures.arrivals += 1;
        let Some((m, agent)) = lg.pick(engine.platform()) else {
            lg.figures.dropped += 1;
            if let Some(slot) = slot {
                let think = lg.think_time();
                self.push(
                    next_iteration(now, now, think),
                    Wake::Slot { generator: g, slot },
                );
            }
            return Ok(());
        };
        // Draw order, fixed for reproducibility: the pick, the body in document order, then
        // `releaseAfter`.
        // A literal body draws nothing, so sharing it leaves the draws where they were.
        let body = match &lg.literal {
            Some(shared) => shared.clone(),
            None => std::sync::Arc::new(lg.spec.body.render(&mut lg.rng)),
        };
        let release_after = lg.spec.release_after.as_ref().map(|d| d.draw(&mut lg.rng));
        let op = lg.spec.op;
        if op == Op::RequestAgentConf && (slot.is_some() || release_after.is_some()) {
            let track = Track {
                slot,
                release_after,
                since: now,
            };
            self.follow(g, m, agent, track, now);
        }
        let name = self.gens[g as usize].name(Some(m), agent);
        observer.submitting(&name, agent);
        let response = engine.submit(Input::new(op, name, body), observer)?;
        let lg = &mut self.gens[g as usize];
        lg.figures.submitted += 1;
        if response.is_success() {
            lg.figures.accepted += 1;
        }
        if let Some(slot) = slot
            && op != Op::RequestAgentConf
        {
            // Other operations complete with their response: the iteration ends here.
            let think = lg.think_time();
            self.push(
                next_iteration(now, now, think),
                Wake::Slot { generator: g, slot },
            );
        }
        self.absorb(engine.platform(), now, observer.touches());
        Ok(())
    }

    /// Generator `g` follows its member `m` (agent `id`) from now on. Another generator
    /// following the agent loses its track; if that track held a closed slot, the slot starts
    /// its next iteration. (Only reachable if an agent became free without a record naming it,
    /// see the module comment; the old slot must not be lost with its track.)
    fn follow(&mut self, g: u32, m: u32, id: AgentId, track: Track, now: SimTime) {
        for (h, lg) in self.gens.iter_mut().enumerate() {
            let Some(old) = lg
                .members
                .index_of(id)
                .and_then(|mh| lg.tracks.get_mut(mh as usize))
                .and_then(Option::take)
            else {
                continue;
            };
            if let Some(old_slot) = old.slot {
                let think = lg.think_time();
                self.queue.push(
                    next_iteration(old.since, now, think),
                    Wake::Slot {
                        generator: h as u32,
                        slot: old_slot,
                    },
                );
            }
            // At most one generator follows an agent: no other track to find.
            break;
        }
        self.gens[g as usize].tracks[m as usize] = Some(track);
    }

    /// Brings the generators up to date with the records journaled since the last call:
    /// eligibility indexes, `releaseAfter` wake-ups once a followed chair's conference starts,
    /// and the next iteration of a closed slot whose agent is free again.
    pub fn absorb(&mut self, platform: &Platform, now: SimTime, touches: &mut Vec<Touch>) {
        let mut previous: Option<AgentId> = None;
        for touch in touches.drain(..) {
            // An engine call often touches one agent several times in a row (a timer's events
            // for the same chair): its eligibility is the platform's state after the call,
            // the same each time, so it is looked up once. A success still counts.
            let repeat = previous == Some(touch.agent);
            previous = Some(touch.agent);
            if repeat && touch.success.is_none() {
                continue;
            }
            self.absorb_one(platform, now, touch, repeat);
        }
    }

    /// One touch of `absorb`. Out of line: an engine call touches one agent (apart from
    /// repeats) almost always, and inlined into the loop, the platform's tables were loaded
    /// and spilled ahead of it at every call, which cost more than the touch itself. The usual
    /// touch (an agent busy in its conference, no success) only updates eligibility; a
    /// followed agent's success or return to free goes out of line to
    /// `Generator::on_followed`.
    #[inline(never)]
    fn absorb_one(&mut self, platform: &Platform, now: SimTime, touch: Touch, repeat: bool) {
        let id = touch.agent;
        // One lookup serves every generator's pick and the free-again check.
        let agent = platform.agent(id);
        let free = agent.is_some_and(Agent::is_free);
        let news = free || touch.success.is_some();
        let LoadDriver { gens, queue, .. } = self;
        for (g, lg) in gens.iter_mut().enumerate() {
            let Some(m) = lg.members.index_of(id) else {
                continue;
            };
            if !repeat {
                let eligible = match lg.pick {
                    // The usual pick: the check made above, once for every generator.
                    Pick::Free => free,
                    pick => agent.is_some_and(|a| pick.holds(platform, id, a)),
                };
                lg.index.set(m, eligible);
            }
            // Neither free nor a success: nothing a track waits for.
            if news && lg.tracks.get(m as usize).is_some_and(Option::is_some) {
                lg.on_followed(queue, g as u32, m, touch, free, now);
            }
        }
    }
}

impl Generator<'_> {
    /// A touch of member `m`, which this generator (number `g`) follows, with news for its
    /// track: a success (the `releaseAfter` wake-up) or the agent free again (the end of the
    /// track). Out of line: see `LoadDriver::absorb_one`.
    #[inline(never)]
    fn on_followed(
        &mut self,
        queue: &mut WakeQueue<Wake>,
        g: u32,
        m: u32,
        touch: Touch,
        free: bool,
        now: SimTime,
    ) {
        let Some(track) = self.tracks.get(m as usize).copied().flatten() else {
            return;
        };
        if let (Some(conf), Some(hold)) = (touch.success, track.release_after) {
            queue.push(
                now.saturating_add(hold),
                Wake::Release {
                    generator: g,
                    agent: touch.agent,
                    conf,
                },
            );
        }
        if free {
            // Free again: the application failed, or was refused, or the conference is
            // over. A closed slot thinks, then starts its next iteration.
            self.tracks[m as usize] = None;
            if let Some(slot) = track.slot {
                let think = self.think_time();
                queue.push(
                    next_iteration(track.since, now, think),
                    Wake::Slot { generator: g, slot },
                );
            }
        }
    }
}

/// When a closed slot's next iteration starts: `think` after the end of this one, but at least
/// a millisecond after its start, so that a loop of instant refusals (an invalid body, no
/// eligible agent) with no think time cannot hold simulated time still.
fn next_iteration(started: SimTime, ended: SimTime, think: SimDuration) -> SimTime {
    let at = ended.saturating_add(think);
    if at <= started {
        started.saturating_add(SimDuration::from_millis(1))
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_number_ranges_and_lists_densely() {
        let r = Members::new(&AgentSet::Range(101, 110));
        assert_eq!(r.len(), 10);
        assert_eq!(r.get(0), AgentId(101));
        assert_eq!(r.index_of(AgentId(110)), Some(9));
        assert_eq!(r.index_of(AgentId(111)), None);
        assert_eq!(r.index_of(AgentId(100)), None);
        let l = Members::new(&AgentSet::List(vec![7, 5, 7, 9]));
        assert_eq!(l.len(), 3);
        assert_eq!(l.get(1), AgentId(5));
        assert_eq!(l.index_of(AgentId(9)), Some(2));
        assert_eq!(l.index_of(AgentId(8)), None);
    }

    #[test]
    fn the_eligible_index_adds_and_removes_in_constant_time() {
        let mut ix = EligibleIndex::new(5);
        for m in 0..5 {
            ix.set(m, true);
        }
        ix.set(1, true); // already there: no duplicate
        assert_eq!(ix.eligible.len(), 5);
        ix.set(0, false);
        ix.set(4, false);
        ix.set(4, false);
        let mut left = ix.eligible.clone();
        left.sort();
        assert_eq!(left, vec![1, 2, 3]);
        for (pos, m) in ix.eligible.iter().enumerate() {
            assert_eq!(ix.position[*m as usize], pos as u32);
        }
        ix.set(0, true);
        assert_eq!(ix.position[0], 3);
    }

    #[test]
    fn names_are_the_ids_in_decimal() {
        for id in [0, 7, 10, 101, 10_100, 999_999, u32::MAX] {
            assert_eq!(&*decimal(AgentId(id)), AgentId(id).decimal());
        }
    }

    #[test]
    fn a_slot_never_restarts_at_the_instant_it_started() {
        let t = SimTime::from_unix_ms(1_000);
        assert_eq!(
            next_iteration(t, t, SimDuration::ZERO),
            SimTime::from_unix_ms(1_001)
        );
        assert_eq!(
            next_iteration(t, SimTime::from_unix_ms(5_000), SimDuration::ZERO),
            SimTime::from_unix_ms(5_000)
        );
        assert_eq!(
            next_iteration(t, t, SimDuration::from_secs(60)),
            SimTime::from_unix_ms(61_000)
        );
    }

    #[test]
    fn operations_pick_the_agents_they_make_sense_for() {
        assert_eq!(Pick::default_for(Op::RequestAgentConf), Pick::Free);
        assert_eq!(Pick::default_for(Op::ProlongTime), Pick::Chair);
        assert_eq!(Pick::default_for(Op::ReleaseAgentConf), Pick::Chair);
        assert_eq!(Pick::default_for(Op::RequestLeaveAgentConf), Pick::Member);
        assert_eq!(Pick::default_for(Op::Login), Pick::SignedOut);
        assert_eq!(Pick::default_for(Op::AnswerAgentConf), Pick::Invited);
        assert_eq!(Pick::default_for(Op::QueryConfInfos), Pick::SignedIn);
    }
}
