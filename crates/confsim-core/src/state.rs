//! The platform's state and the two functions over it: `decide` (rules: an input against the
//! state at a time gives a response) and `apply` (a journal record changes the state; it cannot
//! fail). Timer firings are decided by `fire`, which turns a due timer into events.
//!
//! Pending timers are *part of the state*: every conference's phase carries the due times it
//! waits for (`Conference::timers`). `apply` reports how they changed as `TimerOp`s, computed
//! generically by comparing a touched conference's timers before and after, so no rule is
//! repeated for the scheduler's sake, and folding a journal rebuilds them exactly.

use crate::causes;
use crate::config::{AgentGroup, PlatformConfig};
use crate::draws::{Draws, Slot};
use crate::event::{Content, Event, EventType, OffhookType, phone_state};
use crate::ids::{AgentId, ConfId};
use crate::input::{Input, Op, Rejection, Response, retcode};
use crate::ops;
use crate::record::{InputRecord, Record};
use crate::time::{SimDuration, SimTime};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// An agent's state, as a scenario sets it at the start.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    #[default]
    Idle,
    /// "Show busy" (not-ready, CTI state 7).
    Busy,
    /// Wrap-up.
    Work,
    Rest,
    /// In a call (a two-party call, or the agent's conference leg).
    Talking,
}

/// One agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub signed_in: bool,
    pub state: AgentState,
    /// Meaningful while talking: no hold, mute, announcement or transfer in progress.
    pub stable_call: bool,
    /// Meaningful while talking: the called agent of a two-agent three-party call.
    pub three_party_called: bool,
    /// The far party of the agent's current two-party call.
    pub peer: Option<String>,
    /// The conference this agent applies for or is a member of.
    pub conf: Option<ConfId>,
}

/// A conference member's address: an agent or a phone number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Agent(AgentId),
    Phone(String),
}

/// One member of a conference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub address: Address,
    pub enter_time: SimTime,
}

/// The parameters of a conference, after defaults and the `promptTime` clamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfParams {
    pub member_num: u32,
    pub caller_no: String,
    pub time_min: u32,
    /// `min(promptTime, time - 1)`: the warning's lead before the end, in minutes.
    pub prompt_min: u32,
    pub beep_tone: bool,
    pub voice_path: Option<String>,
}

/// The next event of an application's success sequence (product.md §7.3).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ApplyStep {
    Busy,
    Alerting,
    Offhook,
    SelfJoin,
    Success,
}

impl ApplyStep {
    /// The first step: from idle the phone rings and goes off-hook first; from a stable call the
    /// agent's existing leg is moved into the conference.
    pub fn first(from_call: bool) -> Self {
        if from_call {
            ApplyStep::SelfJoin
        } else {
            ApplyStep::Busy
        }
    }

    fn next(self) -> Option<Self> {
        match self {
            ApplyStep::Busy => Some(ApplyStep::Alerting),
            ApplyStep::Alerting => Some(ApplyStep::Offhook),
            ApplyStep::Offhook => Some(ApplyStep::SelfJoin),
            ApplyStep::SelfJoin => Some(ApplyStep::Success),
            ApplyStep::Success => None,
        }
    }

    fn event_type(self) -> EventType {
        match self {
            ApplyStep::Busy => EventType::AgentStateBusy,
            ApplyStep::Alerting => EventType::AgentOtherPhoneAlerting,
            ApplyStep::Offhook => EventType::AgentOtherPhoneOffhook,
            ApplyStep::SelfJoin => EventType::AgentConfSelfJoinResult,
            ApplyStep::Success => EventType::AgentConfRequestSuccess,
        }
    }
}

/// Where a conference is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Accepted; the platform's asynchronous answer is on its way, `next` due at `due`.
    Applying { next: ApplyStep, due: SimTime },
    /// Running since `start` (the `AgentConf_RequestSuccess`); ends at `end`; the warning is due
    /// at `warn_at` (`None` once it fired and until a prolongation re-arms it).
    Active {
        start: SimTime,
        end: SimTime,
        warn_at: Option<SimTime>,
    },
    /// `releaseAgentConf` accepted; the platform releases at `due`.
    Releasing { due: SimTime },
    /// Its members are leaving (release or end under way); nothing more is due.
    Ending,
}

/// A timer, identified by what it is for; at most one of each is pending at a time.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The next asynchronous step of an application or a release. The number is the
    /// conference's count of latency draws when the step was scheduled, which makes every step
    /// a distinct timer: a step that fires and schedules the next at the same instant (zero
    /// latency) is still a change the scheduler sees.
    Step(ConfId, u32),
    /// `AgentConf_Timeout` to the chair.
    Warn(ConfId),
    /// The conference's time is up.
    End(ConfId),
}

/// How `apply` changed the pending timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimerOp {
    Schedule(SimTime, Timer),
    Cancel(Timer),
}

/// One conference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conference {
    pub id: ConfId,
    pub chair: AgentId,
    pub params: ConfParams,
    /// The far party, when the chair applied from a stable two-party call.
    pub from_call: Option<String>,
    /// Members in the order they joined; the chair's leg first once it joined.
    pub members: Vec<Member>,
    pub phase: Phase,
    pub requested_at: SimTime,
    /// Latency draws used so far: the next draw's key.
    pub draws_used: u32,
}

type Timers = [Option<(SimTime, Timer)>; 2];

impl Conference {
    /// The timers this conference waits for, derived from its phase alone.
    pub fn timers(&self) -> Timers {
        match self.phase {
            Phase::Applying { due, .. } | Phase::Releasing { due } => {
                [Some((due, Timer::Step(self.id, self.draws_used))), None]
            }
            Phase::Active { end, warn_at, .. } => [
                warn_at.map(|w| (w, Timer::Warn(self.id))),
                Some((end, Timer::End(self.id))),
            ],
            Phase::Ending => [None, None],
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self.phase, Phase::Active { .. })
    }

    /// Agent members, chair first, then in the order they joined.
    pub fn agent_members(&self) -> impl Iterator<Item = AgentId> + '_ {
        let chair = self
            .members
            .iter()
            .any(|m| m.address == Address::Agent(self.chair))
            .then_some(self.chair);
        chair
            .into_iter()
            .chain(self.members.iter().filter_map(|m| match m.address {
                Address::Agent(id) if id != self.chair => Some(id),
                _ => None,
            }))
    }
}

/// First conference id and the step between ids: the vendor's samples (1030400, 1030656,
/// 1031168) are multiples of 256 apart, so ids look like the real platform's.
pub const CONF_ID_BASE: u64 = 1_030_400;
pub const CONF_ID_STRIDE: u64 = 256;

/// The whole platform: configuration, randomness, agents and conferences.
#[derive(Clone, Debug, PartialEq)]
pub struct Platform {
    config: PlatformConfig,
    draws: Draws,
    // Hash maps, not ordered maps: these are looked up several times per record, and nothing
    // iterates them into output unsorted (`agents()`, `conferences()` and `pending_timers()`
    // sort). FxHash is deterministic (no per-process random seed).
    agents: FxHashMap<AgentId, Agent>,
    confs: FxHashMap<ConfId, Conference>,
    confs_created: u64,
}

impl Platform {
    /// A platform at the start of a run: the roster's agents in their initial states.
    pub fn new(config: PlatformConfig, seed: u64, roster: &[AgentGroup]) -> Self {
        let mut agents = FxHashMap::default();
        for group in roster {
            for id in group.ids.iter() {
                let talking = group.state == AgentState::Talking;
                agents.insert(
                    id,
                    Agent {
                        signed_in: group.signed_in,
                        state: group.state,
                        stable_call: talking && group.stable_call,
                        three_party_called: talking && group.three_party_called,
                        peer: talking
                            .then(|| group.peer.clone().unwrap_or_else(|| default_peer(id))),
                        conf: None,
                    },
                );
            }
        }
        Platform {
            config,
            draws: Draws::new(seed),
            agents,
            confs: FxHashMap::default(),
            confs_created: 0,
        }
    }

    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    pub fn draws(&self) -> &Draws {
        &self.draws
    }

    pub fn agent(&self, id: AgentId) -> Option<&Agent> {
        self.agents.get(&id)
    }

    /// Every agent, in id order.
    pub fn agents(&self) -> Vec<(AgentId, &Agent)> {
        let mut all: Vec<_> = self.agents.iter().map(|(id, a)| (*id, a)).collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }

    pub fn conference(&self, id: ConfId) -> Option<&Conference> {
        self.confs.get(&id)
    }

    /// Every conference, in id order.
    pub fn conferences(&self) -> Vec<&Conference> {
        let mut all: Vec<_> = self.confs.values().collect();
        all.sort_by_key(|c| c.id);
        all
    }

    pub fn active_conferences(&self) -> usize {
        self.confs.values().filter(|c| c.is_active()).count()
    }

    /// Every pending timer, ordered by due time then timer.
    pub fn pending_timers(&self) -> Vec<(SimTime, Timer)> {
        let mut all: Vec<_> = self
            .confs
            .values()
            .flat_map(|c| c.timers())
            .flatten()
            .collect();
        all.sort();
        all
    }

    pub(crate) fn next_conf_id(&self) -> ConfId {
        ConfId(CONF_ID_BASE + CONF_ID_STRIDE * self.confs_created)
    }

    /// Draws the next latency of conference `id` (its `draws_used`-th draw) and counts it.
    pub(crate) fn draw_latency(&mut self, id: ConfId) -> Option<SimDuration> {
        let conf = self.confs.get_mut(&id)?;
        let ms = self
            .draws
            .latency_ms(&self.config.latency, id, conf.draws_used);
        conf.draws_used += 1;
        Some(SimDuration::from_millis(ms))
    }

    /// Resolves the calling agent of an input: the path id must be a number in range
    /// (`000-002`), and the agent signed in (`100-006`). product.md §7.1, first two checks.
    pub(crate) fn caller(&self, input: &Input) -> Result<(AgentId, &Agent), Rejection> {
        let range = self.config.agent_id_range;
        let id = range.parse_path_id(&input.agent).ok_or_else(|| {
            Rejection::new(
                retcode::INVALID_PARAMETER,
                format!("agent id {:?} is not a number from {range}", input.agent),
            )
        })?;
        match self.agents.get(&id) {
            Some(agent) if agent.signed_in => Ok((id, agent)),
            _ => Err(Rejection::new(
                retcode::NOT_SIGNED_IN,
                format!("agent {id} is not signed in"),
            )),
        }
    }

    /// The conference a chair operation acts on: the caller's, active, chaired by the caller
    /// (product.md §7.6: before `AgentConf_RequestSuccess` it is `101-001`).
    pub(crate) fn chaired_conference(
        &self,
        id: AgentId,
        agent: &Agent,
    ) -> Result<&Conference, Rejection> {
        let conf = agent
            .conf
            .and_then(|c| self.confs.get(&c))
            .filter(|c| c.is_active())
            .ok_or_else(|| {
                Rejection::new(
                    retcode::NO_CONFERENCE,
                    format!("agent {id} has no conference"),
                )
            })?;
        if conf.chair != id {
            return Err(Rejection::new(
                retcode::NOT_CHAIR,
                format!("agent {id} is not the chair of conference {}", conf.id),
            ));
        }
        Ok(conf)
    }

    /// Decides an input at `now`: the synchronous response. Changes nothing; the caller
    /// journals the input with this response and then applies that record.
    pub fn decide(&self, input: &Input, now: SimTime) -> Response {
        // No implemented operation depends on `now` yet (queries of elapsed time will); the
        // parameter is part of the contract so drivers pass the decision time from the start.
        let _ = now;
        let decided = match input.op {
            Op::RequestAgentConf => ops::request_agent_conf::decide(self, input),
            Op::ReleaseAgentConf => ops::release_agent_conf::decide(self, input),
            Op::ProlongTime => ops::prolong_time::decide(self, input),
            op => Err(Rejection::new(
                retcode::OPERATION_EXCEPTION,
                format!("operation {op} is not implemented by this version of the simulator"),
            )),
        };
        match decided {
            Ok(result) => Response::success(result),
            Err(rejection) => rejection.into(),
        }
    }

    /// Decides what a due timer does: the events it emits, in order, appended to `out`; they all
    /// happen at the timer's due time (timer-driven events carry exactly their due time).
    /// A timer that no longer matches the state (its conference gone) emits nothing.
    pub fn fire(&self, timer: Timer, out: &mut Vec<Event>) {
        match timer {
            Timer::Step(id, _) => {
                let Some(conf) = self.confs.get(&id) else {
                    return;
                };
                match conf.phase {
                    Phase::Applying { next, .. } => self.fire_apply_step(conf, next, out),
                    Phase::Releasing { .. } => release_events(conf, out),
                    _ => {}
                }
            }
            Timer::Warn(id) => {
                if let Some(conf) = self.confs.get(&id).filter(|c| c.is_active()) {
                    out.push(Event::new(
                        EventType::AgentConfTimeout,
                        conf.chair,
                        Content::Conf(id),
                    ));
                }
            }
            Timer::End(id) => {
                if let Some(conf) = self.confs.get(&id).filter(|c| c.is_active()) {
                    release_events(conf, out);
                }
            }
        }
    }

    /// The platform's asynchronous checks (product.md §7.2) run when the first step is due; a
    /// failure is a single `AgentConf_RequestFailed` and leaves the agent as it was.
    fn fire_apply_step(&self, conf: &Conference, step: ApplyStep, out: &mut Vec<Event>) {
        let chair = conf.chair;
        if step == ApplyStep::first(conf.from_call.is_some())
            && let Some(cause) = self.platform_check(conf)
        {
            out.push(Event::new(
                EventType::AgentConfRequestFailed,
                chair,
                Content::Cause(cause),
            ));
            return;
        }
        let content = match step {
            ApplyStep::Busy | ApplyStep::Alerting => Content::Null,
            ApplyStep::Offhook => Content::Offhook(OffhookType::Main),
            ApplyStep::SelfJoin | ApplyStep::Success => Content::Conf(conf.id),
        };
        out.push(Event::new(step.event_type(), chair, content));
    }

    fn platform_check(&self, conf: &Conference) -> Option<u32> {
        let Some(agent) = self.agents.get(&conf.chair).filter(|a| a.signed_in) else {
            return Some(causes::AGENT_SIGNED_OUT);
        };
        let vdn = &self.config.vdn;
        let state_ok = match agent.state {
            AgentState::Idle => true,
            AgentState::Talking => agent.stable_call,
            _ => false,
        };
        if !state_ok {
            Some(causes::AGENT_STATE)
        } else if agent.state == AgentState::Talking && agent.three_party_called {
            Some(causes::THREE_PARTY_CALLED)
        } else if conf.params.member_num > vdn.max_concurrent_calls {
            Some(causes::VDN_CAPACITY)
        } else if !vdn.allows_caller_no(&conf.params.caller_no) {
            Some(causes::CALLER_NO_RESTRICTED)
        } else if self
            .draws
            .chance(conf.id, Slot::Fault, self.config.faults.request_failed_rate)
        {
            Some(causes::INJECTED_FAULT)
        } else {
            None
        }
    }

    /// Folds one journal record into the state, pushing the resulting timer changes to
    /// `timer_ops`. Never fails: records that do not match the state change nothing.
    pub fn apply(&mut self, at: SimTime, record: &Record, timer_ops: &mut Vec<TimerOp>) {
        let touched = self.touched_conference(record);
        let before = touched
            .and_then(|id| self.confs.get(&id))
            .map(Conference::timers)
            .unwrap_or_default();
        match record {
            Record::Input(input) => self.apply_input(at, input),
            Record::Event(event) => self.apply_event(at, event),
        }
        let after = touched
            .and_then(|id| self.confs.get(&id))
            .map(Conference::timers)
            .unwrap_or_default();
        diff_timers(&before, &after, timer_ops);
    }

    fn touched_conference(&self, record: &Record) -> Option<ConfId> {
        match record {
            Record::Input(input) if input.response.is_success() => {
                if input.op == Op::RequestAgentConf {
                    Some(self.next_conf_id())
                } else {
                    let id = self.config.agent_id_range.parse_path_id(&input.agent)?;
                    self.agents.get(&id)?.conf
                }
            }
            Record::Input(_) => None,
            Record::Event(event) => event
                .content
                .conf_id()
                .or_else(|| self.agents.get(&event.agent)?.conf),
        }
    }

    fn apply_input(&mut self, at: SimTime, input: &InputRecord) {
        if !input.response.is_success() {
            return;
        }
        let Some(id) = self.config.agent_id_range.parse_path_id(&input.agent) else {
            return;
        };
        match input.op {
            Op::RequestAgentConf => ops::request_agent_conf::apply(self, at, id, &input.body),
            Op::ReleaseAgentConf => ops::release_agent_conf::apply(self, at, id),
            Op::ProlongTime => ops::prolong_time::apply(self, at, id, &input.response.result),
            _ => {}
        }
    }

    fn apply_event(&mut self, at: SimTime, event: &Event) {
        let id = event.agent;
        match event.ty {
            EventType::AgentStateBusy => {
                if let Some(agent) = self.agents.get_mut(&id) {
                    agent.state = AgentState::Talking;
                    agent.stable_call = true;
                }
                self.advance_application(at, id, ApplyStep::Busy);
            }
            EventType::AgentOtherPhoneAlerting => {
                self.advance_application(at, id, ApplyStep::Alerting)
            }
            EventType::AgentOtherPhoneOffhook => {
                self.advance_application(at, id, ApplyStep::Offhook)
            }
            EventType::AgentConfSelfJoinResult => {
                if let Some(conf) = self.conf_of(id, &event.content)
                    && matches!(conf.phase, Phase::Applying { .. })
                {
                    conf.members.push(Member {
                        address: Address::Agent(id),
                        enter_time: at,
                    });
                }
                self.advance_application(at, id, ApplyStep::SelfJoin);
            }
            EventType::AgentConfRequestSuccess => {
                if let Some(conf) = self.conf_of(id, &event.content)
                    && matches!(
                        conf.phase,
                        Phase::Applying {
                            next: ApplyStep::Success,
                            ..
                        }
                    )
                {
                    let end =
                        at.saturating_add(SimDuration::from_mins(u64::from(conf.params.time_min)));
                    let warn = end
                        .saturating_sub(SimDuration::from_mins(u64::from(conf.params.prompt_min)));
                    conf.phase = Phase::Active {
                        start: at,
                        end,
                        warn_at: Some(warn),
                    };
                    if let Some(peer) = conf.from_call.clone() {
                        conf.members.push(Member {
                            address: Address::Phone(peer),
                            enter_time: at,
                        });
                    }
                }
            }
            EventType::AgentConfRequestFailed => {
                if let Some(agent) = self.agents.get_mut(&id)
                    && let Some(conf) = agent.conf.take()
                {
                    self.confs.remove(&conf);
                }
            }
            EventType::AgentConfTimeout => {
                if let Some(conf) = self.conf_of(id, &event.content)
                    && let Phase::Active { warn_at, .. } = &mut conf.phase
                {
                    *warn_at = None;
                }
            }
            EventType::AgentOtherPhoneRelease => {
                if let Some(agent) = self.agents.get_mut(&id) {
                    agent.peer = None;
                }
            }
            EventType::AgentConfSelfLeaveResult => self.leave(id, &event.content),
            EventType::AgentStateReady => {
                if let Some(agent) = self.agents.get_mut(&id) {
                    agent.state = AgentState::Idle;
                    agent.stable_call = false;
                    agent.three_party_called = false;
                }
            }
            _ => {}
        }
    }

    /// The conference an event is about: the one its content names, else the agent's.
    fn conf_of(&mut self, agent: AgentId, content: &Content) -> Option<&mut Conference> {
        let id = content
            .conf_id()
            .or_else(|| self.agents.get(&agent)?.conf)?;
        self.confs.get_mut(&id)
    }

    /// Moves an application past `step` when `step` is the one it waited for, and schedules
    /// the next step one latency draw later.
    fn advance_application(&mut self, at: SimTime, agent: AgentId, step: ApplyStep) {
        let Some(conf_id) = self.agents.get(&agent).and_then(|a| a.conf) else {
            return;
        };
        let Some(conf) = self.confs.get(&conf_id) else {
            return;
        };
        let Phase::Applying { next, .. } = conf.phase else {
            return;
        };
        if next != step {
            return;
        }
        let Some(following) = step.next() else { return };
        let Some(delay) = self.draw_latency(conf_id) else {
            return;
        };
        if let Some(conf) = self.confs.get_mut(&conf_id) {
            conf.phase = Phase::Applying {
                next: following,
                due: at.saturating_add(delay),
            };
        }
    }

    /// An agent's leg left its conference. When the chair leaves, the conference is over: its
    /// timers stop and the remaining members follow. The conference is forgotten once no
    /// agent is left in it.
    fn leave(&mut self, agent: AgentId, content: &Content) {
        let Some(conf_id) = content.conf_id() else {
            return;
        };
        if let Some(a) = self.agents.get_mut(&agent)
            && a.conf == Some(conf_id)
        {
            a.conf = None;
        }
        let Some(conf) = self.confs.get_mut(&conf_id) else {
            return;
        };
        conf.members.retain(|m| m.address != Address::Agent(agent));
        if conf.chair == agent {
            conf.phase = Phase::Ending;
        }
        if !conf
            .members
            .iter()
            .any(|m| matches!(m.address, Address::Agent(_)))
        {
            self.confs.remove(&conf_id);
        }
    }

    pub(crate) fn insert_conference(&mut self, conf: Conference) {
        if let Some(agent) = self.agents.get_mut(&conf.chair) {
            agent.conf = Some(conf.id);
        }
        self.confs_created += 1;
        self.confs.insert(conf.id, conf);
    }

    pub(crate) fn conference_mut(&mut self, id: ConfId) -> Option<&mut Conference> {
        self.confs.get_mut(&id)
    }
}

/// Every agent member leaves, chair first: `AgentOther_PhoneRelease {"phoneState":3}`,
/// `AgentConf_SelfLeaveResult {"confId"}`, `AgentState_Ready` (product.md §7.5).
fn release_events(conf: &Conference, out: &mut Vec<Event>) {
    for agent in conf.agent_members() {
        out.push(Event::new(
            EventType::AgentOtherPhoneRelease,
            agent,
            Content::PhoneState(phone_state::PLATFORM),
        ));
        out.push(Event::new(
            EventType::AgentConfSelfLeaveResult,
            agent,
            Content::Conf(conf.id),
        ));
        out.push(Event::new(EventType::AgentStateReady, agent, Content::Null));
    }
}

/// The default far party of a talking agent: `9` and the agent id in six digits.
pub fn default_peer(id: AgentId) -> String {
    format!("9{:06}", id.0)
}

fn diff_timers(before: &Timers, after: &Timers, ops: &mut Vec<TimerOp>) {
    for old in before.iter().flatten() {
        if !after.contains(&Some(*old)) {
            ops.push(TimerOp::Cancel(old.1));
        }
    }
    for new in after.iter().flatten() {
        if !before.contains(&Some(*new)) {
            ops.push(TimerOp::Schedule(new.0, new.1));
        }
    }
}
