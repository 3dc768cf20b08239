//! The platform's state and the functions over it: `decide` (rules: an input against the state
//! at a time gives a response), `apply` (a journal record changes the state; it cannot fail)
//! and `fire` (a due timer gives events).
//!
//! Pending timers are *part of the state*: a conference's phase, its members' invitations, its
//! pending notifications and announcements, an agent's pending sign-in, sign-out or state call
//! events and its rest's end all carry their due times (`Conference::timers`, `Agent::timers`).
//! Every mutation goes through `conf_mut`/`agent_mut`, which remember the entity's timers before
//! the change; at the end of `apply` or `fire` the before and after sets are compared into
//! `TimerOp`s. No rule is written twice for the scheduler's sake.
//!
//! `fire` may consume what triggered it (a pending notification, an announcement's end, a
//! pending sign-in's events): timer firings are not journaled, they are what the inputs and
//! the seed imply, so rebuilding state from a journal re-fires timers in order
//! (`confsim_engine::rebuild`) and checks each event it gets against the journal.

use crate::config::{AgentGroup, PlatformConfig, SignInMode};
use crate::draws::Draws;
use crate::event::{Event, EventType};
use crate::ids::{AgentId, ConfId};
use crate::input::{Input, Rejection, Response, retcode};
use crate::notify;
use crate::ops;
use crate::record::{InputRecord, Record};
use crate::time::{SimDuration, SimTime};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// An agent's state, as a scenario sets it at the start.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    #[default]
    Idle,
    /// "Show busy" (not ready, CTI state 7).
    Busy,
    /// Wrap-up.
    Work,
    Rest,
    /// In a call (a two-party call, or the agent's conference leg).
    Talking,
}

/// Events owed to an agent after a sign-in or sign-out, one latency draw after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentPendingKind {
    /// `AgentOther_InService` and the state events for `status` (3 busy, 4 idle, 5 work); a
    /// `takeover` (forced sign-in of a signed-in agent) in a call or conference sends only
    /// `AgentOther_InService`.
    SignedIn { status: u8, takeover: bool },
    /// Leaving any conference (`changeReason` 4) and `AgentOther_ShutdownService`.
    SignedOut,
    /// A state call's events (`sayBusy`, `sayFree`, `work`, `cancelWork`, `rest`,
    /// `cancelRest`): the exit event of `from` when it differs from `to`, then the entry event
    /// of `to` (`reason` is `AgentState_SetNotReady_Success`'s).
    StateChanged {
        from: AgentState,
        to: AgentState,
        reason: u8,
    },
}

/// A rest's end (`AgentState_Rest_Timeout` is due then): the agent stays resting after it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RestTimer {
    pub due: SimTime,
    /// The agent's draw count when the rest was asked for: makes every rest a distinct timer.
    pub nonce: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentPending {
    pub due: SimTime,
    pub kind: AgentPendingKind,
    /// The agent's draw count when scheduled: makes every pending batch a distinct timer.
    pub nonce: u32,
}

/// One agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub signed_in: bool,
    /// Sign-ins so far: a forced sign-in starts a new session.
    pub sessions: u32,
    pub state: AgentState,
    /// Meaningful while talking: no hold, mute, announcement or transfer in progress.
    pub stable_call: bool,
    /// Meaningful while talking: the called agent of a two-agent three-party call.
    pub three_party_called: bool,
    /// The far party of the agent's current two-party call.
    pub peer: Option<String>,
    /// The conference this agent applies for, is invited to, or is a member of.
    pub conf: Option<ConfId>,
    pub inspector: bool,
    pub password: Option<String>,
    pub pending: Option<AgentPending>,
    /// While resting: when the rest's time is up (`AgentState_Rest_Timeout`), until it fires.
    pub rest: Option<RestTimer>,
    /// Latency draws used for this agent's own events: the next draw's key.
    pub draws_used: u32,
}

impl Agent {
    fn signed_out(inspector: bool, password: Option<String>) -> Self {
        Agent {
            signed_in: false,
            sessions: 0,
            state: AgentState::Idle,
            stable_call: false,
            three_party_called: false,
            peer: None,
            conf: None,
            inspector,
            password,
            pending: None,
            rest: None,
            draws_used: 0,
        }
    }

    /// Free for a new conference: signed in, idle, in none, no sign-in or sign-out under way.
    pub fn is_free(&self) -> bool {
        self.signed_in
            && self.state == AgentState::Idle
            && self.conf.is_none()
            && self.pending.is_none()
    }

    /// The timers this agent waits for: its pending events, and its rest's end.
    pub fn timers(&self, id: AgentId) -> AgentTimers {
        [
            self.pending
                .as_ref()
                .map(|p| (p.due, Timer::Agent(id, p.nonce))),
            self.rest.map(|r| (r.due, Timer::Rest(id, r.nonce))),
        ]
    }

    /// Everything this agent waits for, without the gaps.
    fn each_timer(&self, id: AgentId) -> impl Iterator<Item = (SimTime, Timer)> {
        self.timers(id).into_iter().flatten()
    }
}

/// An agent's two kinds of timer (see `Agent::timers`).
pub type AgentTimers = [Option<(SimTime, Timer)>; 2];

/// A conference member's address: an agent or a phone number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    Agent(AgentId),
    Phone(String),
}

impl Address {
    /// The `participant` string and `participantType` of events and queries.
    pub fn wire(&self) -> (String, u8) {
        match self {
            Address::Agent(id) => (id.decimal(), crate::event::address_type::AGENT),
            Address::Phone(number) => (number.clone(), crate::event::address_type::PHONE),
        }
    }

    pub fn agent(&self) -> Option<AgentId> {
        match self {
            Address::Agent(id) => Some(*id),
            Address::Phone(_) => None,
        }
    }
}

/// Where a member is in joining.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    /// Invited; at `due` an agent's phone starts ringing (or the invitation fails), or a phone
    /// number answers (when `answers`) or stops ringing unanswered.
    Calling { due: SimTime, answers: bool },
    /// An invited agent's phone rings (it got `AgentConf_Ringing`) until `timeout`.
    Ringing { timeout: SimTime },
    /// A ringing agent answered or rejected; the platform's answer is on its way. Nothing times
    /// out any more: an accepted answer is not lost to the ring timeout.
    Responding,
    /// In the conference.
    Joined,
}

/// One member of a conference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Unique within the conference: names the member's timers.
    pub no: u32,
    pub address: Address,
    pub status: MemberStatus,
    /// 1 listen only, 2 speak only, 3 listen and speak, 4 neither.
    pub attrib: u8,
    pub held: bool,
    /// A channel announcement plays until then.
    pub voice_until: Option<SimTime>,
    pub enter_time: SimTime,
    pub device_call_type: u8,
    pub device_type: u8,
}

impl Member {
    pub fn new(no: u32, address: Address, status: MemberStatus, at: SimTime) -> Self {
        Member {
            no,
            address,
            status,
            attrib: 3,
            held: false,
            voice_until: None,
            enter_time: at,
            device_call_type: 0,
            device_type: 0,
        }
    }

    pub fn is_joined(&self) -> bool {
        self.status == MemberStatus::Joined
    }
}

/// The parameters of a conference, after defaults and the `promptTime` clamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfParams {
    pub member_num: u32,
    /// Shared: most conferences carry the VDN's number or a generator's, and a copy per
    /// conference was an allocation per conference.
    pub caller_no: Arc<str>,
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

    pub(crate) fn event_type(self) -> EventType {
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
    Releasing {
        due: SimTime,
        start: SimTime,
        end: SimTime,
    },
    /// Its members are leaving (release or end under way); nothing more is due.
    Ending,
}

/// A notification owed to a conference's members, one latency draw after the operation that
/// caused it. Its events are decided when it fires, against the members present then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfOp {
    /// An invitee answered: `SelfJoinResult` to it, `ParticipantChanged` (joined) to the others.
    Answer { member: u32 },
    /// An invitee rejected.
    Reject { member: u32 },
    /// A member leaves (`requestLeaveAgentConf`).
    Leave { member: u32 },
    /// The chair removes members (`batchRemoveParticipant`).
    Remove { members: Vec<u32> },
    /// A member was held, unheld, muted or unmuted (`changeType` 5, 6, 3, 4).
    Change { member: u32, change_type: u8 },
    /// The chair passed to `to`.
    Chair { to: AgentId },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOp {
    pub no: u32,
    pub due: SimTime,
    pub op: ConfOp,
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
    /// The conference announcement ends.
    Voice(ConfId),
    /// A member's invitation (calling or ringing) moves on.
    Invite(ConfId, u32),
    /// A member's channel announcement ends.
    MemberVoice(ConfId, u32),
    /// A pending notification of the conference.
    Op(ConfId, u32),
    /// An agent's pending sign-in, sign-out or state call events.
    Agent(AgentId, u32),
    /// An agent's rest is up (`AgentState_Rest_Timeout`).
    Rest(AgentId, u32),
}

impl Timer {
    /// The conference the timer is for; `None` for an agent's.
    pub fn conf(self) -> Option<ConfId> {
        match self {
            Timer::Step(conf, _)
            | Timer::Warn(conf)
            | Timer::End(conf)
            | Timer::Voice(conf)
            | Timer::Invite(conf, _)
            | Timer::MemberVoice(conf, _)
            | Timer::Op(conf, _) => Some(conf),
            Timer::Agent(..) | Timer::Rest(..) => None,
        }
    }
}

/// How `apply` or `fire` changed the pending timers.
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
    /// Joined and invited members may number at most this (`memberNum`, changed by
    /// `modifyConfResource`).
    pub capacity: u32,
    /// The far party, when the chair applied from a stable two-party call.
    pub from_call: Option<String>,
    /// Members in the order they were invited or joined; the chair's leg first once it joined.
    pub members: Vec<Member>,
    pub phase: Phase,
    pub requested_at: SimTime,
    /// Latency draws used so far: the next draw's key.
    pub draws_used: u32,
    /// The conference announcement plays until then.
    pub voice_until: Option<SimTime>,
    /// Notifications owed, in the order they were caused.
    pub pending: Vec<PendingOp>,
    /// The next member or notification number.
    pub next_no: u32,
}

impl Conference {
    /// The timers this conference waits for, derived from its state alone.
    pub fn timers(&self, out: &mut Vec<(SimTime, Timer)>) {
        match self.phase {
            Phase::Applying { due, .. } => {
                out.push((due, Timer::Step(self.id, self.draws_used)));
            }
            // From the moment a release is accepted nothing of the conference is due but the
            // release itself: invitations stop ringing, announcements and notifications are
            // dropped (the release tells every member what happened).
            Phase::Releasing { due, .. } => {
                out.push((due, Timer::Step(self.id, self.draws_used)));
                return;
            }
            Phase::Active { end, warn_at, .. } => {
                if let Some(w) = warn_at {
                    out.push((w, Timer::Warn(self.id)));
                }
                out.push((end, Timer::End(self.id)));
            }
            Phase::Ending => return,
        }
        if let Some(v) = self.voice_until {
            out.push((v, Timer::Voice(self.id)));
        }
        for m in &self.members {
            match m.status {
                MemberStatus::Calling { due, .. } => out.push((due, Timer::Invite(self.id, m.no))),
                MemberStatus::Ringing { timeout } => {
                    out.push((timeout, Timer::Invite(self.id, m.no)))
                }
                MemberStatus::Responding | MemberStatus::Joined => {}
            }
            if let Some(v) = m.voice_until {
                out.push((v, Timer::MemberVoice(self.id, m.no)));
            }
        }
        for p in &self.pending {
            out.push((p.due, Timer::Op(self.id, p.no)));
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self.phase, Phase::Active { .. })
    }

    /// When the conference started (its `AgentConf_RequestSuccess`), once it has.
    pub fn start(&self) -> Option<SimTime> {
        match self.phase {
            Phase::Active { start, .. } | Phase::Releasing { start, .. } => Some(start),
            _ => None,
        }
    }

    pub fn member(&self, no: u32) -> Option<&Member> {
        self.members.iter().find(|m| m.no == no)
    }

    pub fn member_at(&self, address: &Address) -> Option<&Member> {
        self.members.iter().find(|m| &m.address == address)
    }

    pub fn member_mut(&mut self, address: &Address) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| &m.address == address)
    }

    /// Whether an invited agent's phone has rung (it got `AgentConf_Ringing`).
    pub fn has_rung(m: &Member) -> bool {
        matches!(
            m.status,
            MemberStatus::Ringing { .. } | MemberStatus::Responding
        )
    }

    /// Joined agent members, chair first, then in the order they were invited (or joined, for the applicant).
    ///
    /// Inline up to eight (no allocation for most conferences): this runs for every
    /// notification and every end.
    pub fn joined_agents(&self) -> AgentList {
        let mut out = AgentList::new();
        if self
            .members
            .iter()
            .any(|m| m.is_joined() && m.address == Address::Agent(self.chair))
        {
            out.push(self.chair);
        }
        out.extend(
            self.members
                .iter()
                .filter(|m| m.is_joined())
                .filter_map(|m| m.address.agent())
                .filter(|a| *a != self.chair),
        );
        out
    }

    /// A member is gone (left, removed, never answered): it and the notifications still owed
    /// about it go. A notification about someone no longer there would tell the members
    /// nothing true, and a firing that emits nothing could not be seen in the journal.
    pub(crate) fn forget_member(&mut self, address: &Address) {
        let Some(index) = self.members.iter().position(|m| &m.address == address) else {
            return;
        };
        let no = self.members.remove(index).no;
        self.pending.retain_mut(|p| match &mut p.op {
            ConfOp::Answer { member }
            | ConfOp::Reject { member }
            | ConfOp::Leave { member }
            | ConfOp::Change { member, .. } => *member != no,
            ConfOp::Remove { members } => {
                members.retain(|m| *m != no);
                !members.is_empty()
            }
            // The chair passed to it (and passed on since, or it would not be leaving).
            ConfOp::Chair { to } => Address::Agent(*to) != *address,
        });
    }

    /// Members counted against the capacity: joined, calling and ringing.
    pub fn occupancy(&self) -> u32 {
        self.members.len() as u32
    }

    fn is_gone(&self) -> bool {
        self.phase == Phase::Ending
            && !self
                .members
                .iter()
                .any(|m| m.is_joined() && m.address.agent().is_some())
    }
}

/// Agents from which prefetch hints pay (see `Platform::hints_pay`).
const HINTS_FROM_AGENTS: usize = 4_000;

/// Cache lines a value of `size` bytes can span, wherever it starts.
const fn lines_spanned(size: usize) -> usize {
    size.div_ceil(64) + 1
}
const LINES_PER_AGENT: usize = lines_spanned(std::mem::size_of::<(AgentId, Agent)>());
const LINES_PER_CONF: usize = lines_spanned(std::mem::size_of::<Option<Conference>>());

/// Agent ids the dense index covers from its base: a million ids, 4 MB of index at most (only
/// if an id that far up signs in); ids beyond it wait in a hash map.
const DENSE_IDS: u32 = 1 << 20;

/// The agents: stored together in one vector, in the order they were first seen, and found
/// through an index by id. Why not a hash map of agents: an agent is looked up several times
/// per record (the caller, each member who hears an event, the load driver's eligibility
/// checks), at random; ids are small numbers from the platform's range, so an array indexed by
/// `id - base` finds the slot in one load from a table of 4 bytes per id (40 KB for 10,000
/// agents, cache-resident), where a hash map hashed, probed and compared keys spread over
/// entries of 130 bytes. Agents are never removed (a sign-out keeps the agent), so slots never
/// move.
#[derive(Clone, Debug, Default)]
struct AgentTable {
    /// The lowest id of the dense index: the platform range's first id.
    base: u32,
    /// `id - base` → slot + 1 (0: no such agent), as long as the highest id seen.
    dense: Vec<u32>,
    /// Ids below `base` or past the dense window → slot.
    sparse: FxHashMap<AgentId, u32>,
    slots: Vec<(AgentId, Agent)>,
}

impl AgentTable {
    fn new(base: u32) -> Self {
        AgentTable {
            base,
            ..AgentTable::default()
        }
    }

    /// Where `id` sits in the dense index, if it is in its window.
    fn dense_index(&self, id: AgentId) -> Option<usize> {
        id.0.checked_sub(self.base)
            .filter(|i| *i < DENSE_IDS)
            .map(|i| i as usize)
    }

    fn slot(&self, id: AgentId) -> Option<usize> {
        let slot = match self.dense_index(id) {
            Some(i) => self.dense.get(i)?.checked_sub(1)?,
            None => *self.sparse.get(&id)?,
        };
        Some(slot as usize)
    }

    fn get(&self, id: &AgentId) -> Option<&Agent> {
        self.at(self.slot(*id)?)
    }

    /// Starts loading the agent in `slot` (see `hint`).
    #[inline]
    fn prefetch(&self, slot: usize) {
        if let Some(agent) = self.slots.get(slot) {
            crate::hint::prefetch(agent, LINES_PER_AGENT);
        }
    }

    fn at(&self, slot: usize) -> Option<&Agent> {
        self.slots.get(slot).map(|(_, a)| a)
    }

    fn at_mut(&mut self, slot: usize) -> Option<&mut Agent> {
        self.slots.get_mut(slot).map(|(_, a)| a)
    }

    fn get_mut(&mut self, id: &AgentId) -> Option<&mut Agent> {
        let slot = self.slot(*id)?;
        self.slots.get_mut(slot).map(|(_, a)| a)
    }

    fn contains_key(&self, id: &AgentId) -> bool {
        self.slot(*id).is_some()
    }

    /// The agent `id`, added by `make` if it is not there yet.
    fn get_or_insert_with(&mut self, id: AgentId, make: impl FnOnce() -> Agent) -> &mut Agent {
        let slot = match self.slot(id) {
            Some(slot) => slot,
            None => {
                let slot = self.slots.len();
                self.slots.push((id, make()));
                let stored = slot as u32 + 1;
                match self.dense_index(id) {
                    Some(i) => {
                        if self.dense.len() <= i {
                            self.dense.resize(i + 1, 0);
                        }
                        self.dense[i] = stored;
                    }
                    None => {
                        self.sparse.insert(id, stored - 1);
                    }
                }
                slot
            }
        };
        &mut self.slots[slot].1
    }

    /// Adds or replaces the agent `id`.
    fn insert(&mut self, id: AgentId, agent: Agent) {
        if let Some(slot) = self.get_mut(&id) {
            *slot = agent;
        } else {
            self.get_or_insert_with(id, move || agent);
        }
    }

    /// Every agent, in the order first seen (callers sort).
    fn iter(&self) -> impl Iterator<Item = (&AgentId, &Agent)> {
        self.slots.iter().map(|(id, a)| (id, a))
    }

    fn values(&self) -> impl Iterator<Item = &Agent> {
        self.slots.iter().map(|(_, a)| a)
    }
}

/// Equal when the same ids hold equal agents, whatever order they were first seen in.
impl PartialEq for AgentTable {
    fn eq(&self, other: &Self) -> bool {
        self.slots.len() == other.slots.len()
            && self
                .iter()
                .all(|(id, a)| other.get(id).is_some_and(|o| o == a))
    }
}

/// A few agents, inline: who hears a notification.
pub type AgentList = smallvec::SmallVec<[AgentId; 8]>;

/// First conference id and the step between ids: the vendor's samples (1030400, 1030656,
/// 1031168) are multiples of 256 apart, so ids look like the real platform's.
pub const CONF_ID_BASE: u64 = 1_030_400;
pub const CONF_ID_STRIDE: u64 = 256;

/// The conferences: an index from id to a slot in a slab. Why not a map of conferences: they
/// come and go all day, each with a new id, so a map holding them would fill with tombstones,
/// double an hour into a run (old and new table alive together), and scatter conferences over
/// memory; and boxing each cost an allocation per conference. Here the index holds 4-byte slot
/// numbers (`ConfIndex`), freed slots are reused (most recently freed first), and the slab
/// stays as large as the most conferences ever alive at once.
#[derive(Clone, Debug, Default)]
struct ConfTable {
    index: ConfIndex,
    slots: Vec<Option<Conference>>,
    free: Vec<u32>,
}

impl ConfTable {
    fn get(&self, id: &ConfId) -> Option<&Conference> {
        let slot = self.index.get(*id)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    /// The slot holding `id`: one lookup for a caller that reads and then changes it.
    fn slot(&self, id: &ConfId) -> Option<u32> {
        self.index.get(*id)
    }

    /// Starts loading the conference in `slot` (see `hint`).
    #[inline]
    fn prefetch(&self, slot: u32) {
        if let Some(conf) = self.slots.get(slot as usize) {
            crate::hint::prefetch(conf, LINES_PER_CONF);
        }
    }

    fn at(&self, slot: u32) -> Option<&Conference> {
        self.slots.get(slot as usize)?.as_ref()
    }

    fn at_mut(&mut self, slot: u32) -> Option<&mut Conference> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    fn insert(&mut self, id: ConfId, conf: Conference) {
        if let Some(slot) = self.index.get(id) {
            self.slots[slot as usize] = Some(conf);
            return;
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(conf);
                slot
            }
            None => {
                self.slots.push(Some(conf));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(id, slot);
    }

    fn remove(&mut self, id: &ConfId) -> Option<Conference> {
        let slot = self.index.remove(*id)?;
        let conf = self.slots.get_mut(slot as usize)?.take();
        self.free.push(slot);
        conf
    }

    /// Every conference, in no particular order (callers sort).
    fn values(&self) -> impl Iterator<Item = &Conference> {
        self.slots.iter().flatten()
    }
}

/// Equal when the same ids hold equal conferences, wherever their slots are.
impl PartialEq for ConfTable {
    fn eq(&self, other: &Self) -> bool {
        self.index.len() == other.index.len()
            && self
                .values()
                .all(|c| other.get(&c.id).is_some_and(|o| o == c))
    }
}

/// Conference id → slot, without hashing the ids the platform gives. Those are
/// `CONF_ID_BASE + CONF_ID_STRIDE * n`, `n` the count of conferences created before, so they
/// arrive in increasing `n`, and the live ones are the recent ones: a window of slots by `n`
/// (`window[n - first]`) finds them by a subtraction, a shift and an index. A conference
/// lookup runs about once per record, and a hash map of 10,000 live conferences probed at
/// random was 3% of a closed-loop run, most of it cache misses; the window is 4 bytes per
/// conference and the recent end of it, which most lookups read, stays in cache.
///
/// Memory stays proportional to the live conferences, not to the run: the window's front moves
/// on as its first conferences go, and when a long-lived one holds it back while the window
/// fills with gaps (more than half, past `GAPS`), that one moves to `sparse`. Ids off the
/// platform's sequence (none today, but the index does not rely on it) also live in `sparse`.
#[derive(Clone, Debug, Default)]
struct ConfIndex {
    /// The `n` of `window[0]`.
    first: u64,
    /// Slots by `n - first`; `GONE` where there is no conference.
    window: std::collections::VecDeque<u32>,
    /// Entries of `window` that hold a slot.
    in_window: usize,
    /// Every other conference's slot.
    sparse: FxHashMap<ConfId, u32>,
}

/// An empty entry of `ConfIndex::window`.
const GONE: u32 = u32::MAX;
/// Empty entries the window may hold whatever the live count.
const GAPS: usize = 4096;

impl ConfIndex {
    /// The id's number in the platform's sequence, if it is one of its ids.
    #[inline]
    fn number(id: ConfId) -> Option<u64> {
        let offset = id.0.checked_sub(CONF_ID_BASE)?;
        (offset % CONF_ID_STRIDE == 0).then_some(offset / CONF_ID_STRIDE)
    }

    /// Where `id` would sit in the window, if it is one of the platform's ids at or past its
    /// front.
    #[inline]
    fn position(&self, id: ConfId) -> Option<usize> {
        let n = Self::number(id)?.checked_sub(self.first)?;
        usize::try_from(n).ok()
    }

    #[inline]
    fn get(&self, id: ConfId) -> Option<u32> {
        if let Some(&slot) = self.position(id).and_then(|i| self.window.get(i))
            && slot != GONE
        {
            return Some(slot);
        }
        if self.sparse.is_empty() {
            return None;
        }
        self.sparse.get(&id).copied()
    }

    fn len(&self) -> usize {
        self.in_window + self.sparse.len()
    }

    /// Adds `id` (not present) at `slot`.
    fn insert(&mut self, id: ConfId, slot: u32) {
        if self.window.is_empty()
            && let Some(n) = Self::number(id)
        {
            // An empty window starts at the id it is given: no gap before it.
            self.first = n;
            self.window.push_back(slot);
            self.in_window = 1;
            return;
        }
        match self.position(id) {
            // In the window, or a little past its end (ids come in order, a few apart at most
            // when conferences are created and forgotten in one change).
            Some(i) if i < self.window.len() + GAPS => {
                if i >= self.window.len() {
                    self.window.resize(i + 1, GONE);
                }
                debug_assert_eq!(self.window[i], GONE, "{id:?} is not in the index yet");
                self.window[i] = slot;
                self.in_window += 1;
                self.trim();
            }
            _ => {
                self.sparse.insert(id, slot);
            }
        }
    }

    fn remove(&mut self, id: ConfId) -> Option<u32> {
        if let Some(entry) = self.position(id).and_then(|i| self.window.get_mut(i))
            && *entry != GONE
        {
            let slot = std::mem::replace(entry, GONE);
            self.in_window -= 1;
            self.trim();
            return Some(slot);
        }
        self.sparse.remove(&id)
    }

    /// Moves the front past empty entries, and past live ones too (into `sparse`) while more
    /// than half the window is gaps and the gaps are more than `GAPS`.
    fn trim(&mut self) {
        while let Some(&front) = self.window.front() {
            if front != GONE {
                let crowded_with_gaps = self.window.len() - self.in_window > GAPS
                    && self.window.len() > 2 * self.in_window;
                if !crowded_with_gaps {
                    break;
                }
                let id = ConfId(CONF_ID_BASE + CONF_ID_STRIDE * self.first);
                self.sparse.insert(id, front);
                self.in_window -= 1;
            }
            self.window.pop_front();
            self.first += 1;
        }
    }
}

/// What one `apply` or `fire` touched, with each entity's timers before the change.
#[derive(Clone, Debug, Default, PartialEq)]
struct Touched {
    confs: Vec<TouchedConf>,
    agents: Vec<TouchedAgent>,
    /// The touched conferences' timers before the change, one range each: one buffer reused
    /// across changes rather than a vector allocated per touch.
    before: Vec<Due>,
    /// An application moved on by one step (`advance_application`), with its timer changes
    /// known without a comparison: the step it waited for, cancelled, and the next, scheduled.
    /// Taken only for the first conference a change touches, so its changes come first, as the
    /// comparison's would. Should the conference be touched again in the same change, `touch`
    /// gives this up and restores the step it replaced in the timers "before".
    stepped: Option<Stepped>,
}

/// An application's step replaced by the next (see `Touched::stepped`).
#[derive(Clone, Debug, PartialEq)]
struct Stepped {
    conf: ConfId,
    /// The step it waited for, with its due time.
    was: Due,
    /// The next step.
    next: Due,
}

/// A timer with its due time.
type Due = (SimTime, Timer);
/// A conference's slot when touched (`None`: not there yet), its timers before the change, and
/// whether it was active.
type TouchedConf = (ConfId, Option<u32>, std::ops::Range<usize>, bool);
/// An agent's timers before the change, and whether it was signed in and talking.
type TouchedAgent = (AgentId, AgentTimers, bool, bool);

/// The whole platform: configuration, randomness, agents and conferences.
#[derive(Clone, Debug)]
pub struct Platform {
    config: PlatformConfig,
    draws: Draws,
    // Hash maps, not ordered maps: these are looked up several times per record, and nothing
    // iterates them into output unsorted (`agents()`, `conferences()` and `pending_timers()`
    // sort). FxHash is deterministic (no per-process random seed).
    agents: AgentTable,
    confs: ConfTable,
    confs_created: u64,
    /// Counts kept up to date by `finish` from what each change touched, so reports can sample
    /// them at any time without scanning every agent and conference.
    active_confs: usize,
    signed_in: usize,
    talking: usize,
    touched: Touched,
    scratch: Vec<(SimTime, Timer)>,
    /// The last `requestAgentConf` body applied, with the parameters it gave. A load generator
    /// sends one shared body (`Arc`) thousands of times, and checking it field by field in
    /// `decide` and again in `apply` was 7% of a closed-loop run; a body seen last time (the
    /// same allocation, which this `Arc` keeps alive, so the address cannot be reused) is
    /// known valid and gives the same parameters. Not state: a memo of a pure function.
    body_memo: Option<(Arc<Value>, ConfParams)>,
}

/// Two platforms are equal when their configuration, agents and conferences are; the
/// bookkeeping of an `apply` under way is not state.
impl PartialEq for Platform {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.draws == other.draws
            && self.agents == other.agents
            && self.confs == other.confs
            && self.confs_created == other.confs_created
            && (self.active_confs, self.signed_in, self.talking)
                == (other.active_confs, other.signed_in, other.talking)
    }
}

impl Platform {
    /// A platform at the start of a run: the roster's agents in their initial states.
    pub fn new(config: PlatformConfig, seed: u64, roster: &[AgentGroup]) -> Self {
        let mut agents = AgentTable::new(config.agent_id_range.min);
        for group in roster {
            for id in group.ids.iter() {
                let talking = group.state == AgentState::Talking;
                let mut agent = Agent::signed_out(group.inspector, group.password.clone());
                agent.signed_in = group.signed_in;
                agent.sessions = u32::from(group.signed_in);
                agent.state = group.state;
                agent.stable_call = talking && group.stable_call;
                agent.three_party_called = talking && group.three_party_called;
                agent.peer =
                    talking.then(|| group.peer.clone().unwrap_or_else(|| default_peer(id)));
                agents.insert(id, agent);
            }
        }
        let signed_in = agents.values().filter(|a| a.signed_in).count();
        let talking = agents
            .values()
            .filter(|a| a.state == AgentState::Talking)
            .count();
        Platform {
            config,
            draws: Draws::new(seed),
            agents,
            confs: ConfTable::default(),
            confs_created: 0,
            active_confs: 0,
            signed_in,
            talking,
            touched: Touched::default(),
            scratch: Vec::new(),
            body_memo: None,
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
        let mut all: Vec<&Conference> = self.confs.values().collect();
        all.sort_by_key(|c| c.id);
        all
    }

    /// Conferences started and not yet released or ended.
    pub fn active_conferences(&self) -> usize {
        self.active_confs
    }

    pub fn signed_in_agents(&self) -> usize {
        self.signed_in
    }

    /// Agents talking: in a call or a conference leg.
    pub fn talking_agents(&self) -> usize {
        self.talking
    }

    /// Whether an agent is free for a new conference: signed in, idle, in none.
    pub fn is_free(&self, id: AgentId) -> bool {
        self.agents.get(&id).is_some_and(Agent::is_free)
    }

    /// Every pending timer, ordered by due time then timer.
    pub fn pending_timers(&self) -> Vec<(SimTime, Timer)> {
        let mut all = Vec::new();
        for c in self.confs.values() {
            c.timers(&mut all);
        }
        all.extend(self.agents.iter().flat_map(|(id, a)| a.each_timer(*id)));
        all.sort();
        all
    }

    /// The parameters of a `requestAgentConf` body, if it is the last one applied.
    pub(crate) fn memo_params(&self, body: &Arc<Value>) -> Option<&ConfParams> {
        self.body_memo
            .as_ref()
            .filter(|(seen, _)| Arc::ptr_eq(seen, body))
            .map(|(_, params)| params)
    }

    /// Remembers a valid body's parameters (see `body_memo`).
    pub(crate) fn keep_params(&mut self, body: &Arc<Value>, params: ConfParams) {
        self.body_memo = Some((Arc::clone(body), params));
    }

    pub(crate) fn next_conf_id(&self) -> ConfId {
        ConfId(CONF_ID_BASE + CONF_ID_STRIDE * self.confs_created)
    }

    // ----- mutation, with timer bookkeeping -----

    fn touch_conf(&mut self, id: ConfId) {
        self.touch_conf_at(id, self.confs.slot(&id));
    }

    /// `touch_conf` of a conference whose slot the caller has looked up.
    fn touch_conf_at(&mut self, id: ConfId, slot: Option<u32>) {
        if self.touched.confs.iter().any(|(c, ..)| *c == id) {
            return;
        }
        let start = self.touched.before.len();
        let conf = slot.and_then(|s| self.confs.at(s));
        if let Some(conf) = conf {
            conf.timers(&mut self.touched.before);
        }
        // Touched again after a step moved on without a comparison: compare instead, from
        // the timers before that step.
        if let Some(stepped) = self.touched.stepped.take_if(|s| s.conf == id) {
            for due in &mut self.touched.before[start..] {
                if *due == stepped.next {
                    *due = stepped.was;
                }
            }
        }
        let range = start..self.touched.before.len();
        let active = conf.is_some_and(|c| c.is_active());
        self.touched.confs.push((id, slot, range, active));
    }

    fn touch_agent(&mut self, id: AgentId) {
        self.touch_agent_at(id, self.agents.slot(id));
    }

    /// `touch_agent` of an agent whose slot the caller has looked up.
    fn touch_agent_at(&mut self, id: AgentId, slot: Option<usize>) {
        if self.touched.agents.iter().any(|(a, ..)| *a == id) {
            return;
        }
        let agent = slot.and_then(|s| self.agents.at(s));
        let before = agent.map_or([None, None], |a| a.timers(id));
        let signed_in = agent.is_some_and(|a| a.signed_in);
        let talking = agent.is_some_and(|a| a.state == AgentState::Talking);
        self.touched.agents.push((id, before, signed_in, talking));
    }

    /// A conference to change; its timers are compared when the change is finished.
    pub(crate) fn conf_mut(&mut self, id: ConfId) -> Option<&mut Conference> {
        // One lookup, not three (is it there, its timers before, the change): this runs for
        // nearly every record, often several times.
        let slot = self.confs.slot(&id)?;
        self.touch_conf_at(id, Some(slot));
        self.confs.at_mut(slot)
    }

    /// An agent to change.
    pub(crate) fn agent_mut(&mut self, id: AgentId) -> Option<&mut Agent> {
        let slot = self.agents.slot(id)?;
        self.touch_agent_at(id, Some(slot));
        self.agents.at_mut(slot)
    }

    /// An agent to change, created signed out when it does not exist yet (a sign-in of an
    /// agent the roster does not list).
    pub(crate) fn agent_entry(&mut self, id: AgentId) -> &mut Agent {
        self.touch_agent(id);
        self.agents
            .get_or_insert_with(id, || Agent::signed_out(false, None))
    }

    pub(crate) fn insert_conference(&mut self, conf: Conference) {
        let id = conf.id;
        self.touch_conf(id);
        if let Some(agent) = self.agent_mut(conf.chair) {
            agent.conf = Some(id);
        }
        self.confs_created += 1;
        self.confs.insert(id, conf);
    }

    /// Forgets a conference; every agent still attached to it is freed.
    fn remove_conference(&mut self, id: ConfId) {
        self.touch_conf(id);
        let Some(conf) = self.confs.remove(&id) else {
            return;
        };
        let attached = conf
            .members
            .iter()
            .filter_map(|m| m.address.agent())
            .chain(std::iter::once(conf.chair));
        // The conference is out of the table (owned here), so its members can be walked while
        // the agents change: no list to collect first.
        for agent in attached {
            if let Some(a) = self.agent_mut(agent)
                && a.conf == Some(id)
            {
                a.conf = None;
            }
        }
    }

    /// Draws the next latency of conference `id` (its `draws_used`-th draw) and counts it.
    pub(crate) fn draw_latency(&mut self, id: ConfId) -> SimDuration {
        let Some(conf) = self.conf_mut(id) else {
            return SimDuration::ZERO;
        };
        let k = conf.draws_used;
        conf.draws_used += 1;
        SimDuration::from_millis(self.draws.latency_ms(&self.config.latency, id, k))
    }

    /// Draws the next latency of an agent's own events.
    pub(crate) fn draw_agent_latency(&mut self, id: AgentId) -> (SimDuration, u32) {
        let agent = self.agent_entry(id);
        let k = agent.draws_used;
        agent.draws_used += 1;
        (
            SimDuration::from_millis(self.draws.agent_latency_ms(&self.config.latency, id, k)),
            k,
        )
    }

    /// Draws a phone's answer delay and whether it answers at all.
    pub(crate) fn draw_phone_answer(&mut self, id: ConfId, number: &str) -> (SimDuration, bool) {
        let Some(conf) = self.conf_mut(id) else {
            return (SimDuration::ZERO, false);
        };
        let k = conf.draws_used;
        conf.draws_used += 1;
        let phones = &self.config.phones;
        let answers = !phones.no_answer.iter().any(|n| n == number)
            && !self.draws.chance_at(id, k, phones.no_answer_rate);
        let delay = if answers {
            self.draws.latency_ms(&phones.answer_delay, id, k)
        } else {
            self.config.ring_timeout_ms
        };
        (SimDuration::from_millis(delay), answers)
    }

    /// Queues a notification one latency draw from `at`.
    pub(crate) fn queue_op(&mut self, id: ConfId, at: SimTime, op: ConfOp) {
        let delay = self.draw_latency(id);
        if let Some(conf) = self.conf_mut(id) {
            let no = conf.next_no;
            conf.next_no += 1;
            conf.pending.push(PendingOp {
                no,
                due: at.saturating_add(delay),
                op,
            });
        }
    }

    fn finish(&mut self, ops: &mut Vec<TimerOp>) {
        // Fields borrowed apart (no `&mut self` call in the loops), so the touched lists are
        // read in place and their allocations stay for the next change.
        let count = |n: &mut usize, before: bool, after: bool| match (before, after) {
            (false, true) => *n += 1,
            (true, false) => *n -= 1,
            _ => {}
        };
        let touched = &mut self.touched;
        if let Some(stepped) = touched.stepped.take() {
            ops.push(TimerOp::Cancel(stepped.was.1));
            ops.push(TimerOp::Schedule(stepped.next.0, stepped.next.1));
        }
        for (id, slot, range, was_active) in &touched.confs {
            self.scratch.clear();
            // The slot seen at the touch, if it still holds this conference (it may have been
            // removed since, or inserted only now): no hash lookup for the usual change.
            let conf = slot
                .and_then(|s| self.confs.at(s))
                .filter(|c| c.id == *id)
                .or_else(|| self.confs.get(id));
            if let Some(conf) = conf {
                conf.timers(&mut self.scratch);
            }
            diff_timers(&touched.before[range.clone()], &self.scratch, ops);
            count(
                &mut self.active_confs,
                *was_active,
                conf.is_some_and(|c| c.is_active()),
            );
        }
        for (id, before, was_signed_in, was_talking) in &touched.agents {
            let agent = self.agents.get(id);
            let after = agent.map_or([None, None], |a| a.timers(*id));
            for (before, after) in before.iter().zip(&after) {
                diff_timers(before.as_slice(), after.as_slice(), ops);
            }
            count(
                &mut self.signed_in,
                *was_signed_in,
                agent.is_some_and(|a| a.signed_in),
            );
            count(
                &mut self.talking,
                *was_talking,
                agent.is_some_and(|a| a.state == AgentState::Talking),
            );
        }
        touched.confs.clear();
        touched.agents.clear();
        touched.before.clear();
    }

    // ----- rules shared by the operations -----

    /// Resolves the calling agent of an input: the path id must be a number in range
    /// (`000-002`), and the agent signed in (`100-006`). product.md §7.1, first two checks.
    pub(crate) fn caller(&self, input: &Input) -> Result<(AgentId, &Agent), Rejection> {
        let id = self.path_id(input)?;
        match self.agents.get(&id) {
            Some(agent) if agent.signed_in => Ok((id, agent)),
            _ => Err(Rejection::new(
                retcode::NOT_SIGNED_IN,
                format!("agent {id} is not signed in"),
            )),
        }
    }

    /// The path's agent id, or `000-002`.
    pub(crate) fn path_id(&self, input: &Input) -> Result<AgentId, Rejection> {
        let range = self.config.agent_id_range;
        range.parse_path_id(&input.agent).ok_or_else(|| {
            Rejection::new(
                retcode::INVALID_PARAMETER,
                format!("agent id {:?} is not a number from {range}", input.agent),
            )
        })
    }

    /// The conference a chair operation acts on: the caller's, active, chaired by the caller
    /// (product.md §7.6: before `AgentConf_RequestSuccess` it is `101-001`).
    pub(crate) fn chaired_conference(
        &self,
        id: AgentId,
        agent: &Agent,
    ) -> Result<&Conference, Rejection> {
        let conf = self.active_conference_of(id, agent)?;
        if conf.chair != id {
            return Err(Rejection::new(
                retcode::NOT_CHAIR,
                format!("agent {id} is not the chair of conference {}", conf.id),
            ));
        }
        Ok(conf)
    }

    /// The active conference the caller belongs to (in any member status), or `101-001`.
    pub(crate) fn active_conference_of(
        &self,
        id: AgentId,
        agent: &Agent,
    ) -> Result<&Conference, Rejection> {
        agent
            .conf
            .and_then(|c| self.confs.get(&c))
            .filter(|c| c.is_active())
            .ok_or_else(|| {
                Rejection::new(
                    retcode::NO_CONFERENCE,
                    format!("agent {id} has no conference"),
                )
            })
    }

    /// Whether sign-in by this agent is allowed in the platform's sign-in mode.
    pub(crate) fn may_sign_in(&self, id: AgentId) -> bool {
        self.config.sign_in == SignInMode::Open || self.agents.contains_key(&id)
    }

    // ----- decide / apply / fire -----

    /// Decides an input at `now`: the synchronous response. Changes nothing; the caller
    /// journals the input with this response and then applies that record.
    pub fn decide(&self, input: &Input, now: SimTime) -> Response {
        match ops::decide(self, input, now) {
            Ok(result) => Response::success(result),
            Err(rejection) => rejection.into(),
        }
    }

    /// Folds one journal record into the state, pushing the resulting timer changes to
    /// `timer_ops`. Never fails: records that do not match the state change nothing.
    pub fn apply(&mut self, at: SimTime, record: &Record, timer_ops: &mut Vec<TimerOp>) {
        match record {
            Record::Input(input) => self.apply_input(at, input),
            Record::Event(event) => self.apply_event(at, event),
        }
        self.finish(timer_ops);
    }

    fn apply_input(&mut self, at: SimTime, input: &InputRecord) {
        if !input.response.is_success() {
            return;
        }
        let Some(id) = self.config.agent_id_range.parse_path_id(&input.agent) else {
            return;
        };
        ops::apply(self, at, id, input);
    }

    /// Whether prefetch hints are worth their cost: they take about a hundred instructions per
    /// record, which pays when the agents' and conferences' state is larger than the L2 cache
    /// (1-2 MB: some 500 bytes an agent with its conference and timers, so a few thousand
    /// agents), and is waste when it fits. Drivers ask before hinting.
    #[inline]
    pub fn hints_pay(&self) -> bool {
        self.agents.slots.len() >= HINTS_FROM_AGENTS
    }

    /// Starts loading the state `timer` will read when it fires: a hint with no effect on
    /// state (see `hint`). The engine names the timer after the one it is firing, so that its
    /// conference or agent is in the cache when it comes up rather than a trip to memory away.
    #[inline]
    pub fn prefetch(&self, timer: Timer) {
        match timer.conf() {
            Some(conf) => self.prefetch_conf(conf),
            None => {
                if let Timer::Agent(id, _) | Timer::Rest(id, _) = timer {
                    self.prefetch_agent(id);
                }
            }
        }
    }

    /// Starts loading conference `id` (see `hint`).
    #[inline]
    pub fn prefetch_conf(&self, id: ConfId) {
        if let Some(slot) = self.confs.slot(&id) {
            self.confs.prefetch(slot);
        }
    }

    /// Starts loading the entry of agent `id` in the agents' index (see `hint`): the runner
    /// names the agent of a step three steps ahead, so that `prefetch_agent` a step later finds
    /// the index entry in the cache (at 60,000 agents the index is 240 KB, and it was where
    /// that hint waited).
    #[inline]
    pub fn prefetch_agent_index(&self, id: AgentId) {
        if let Some(entry) = self
            .agents
            .dense_index(id)
            .and_then(|i| self.agents.dense.get(i))
        {
            crate::hint::prefetch(entry, 1);
        }
    }

    /// Starts loading agent `id` (see `hint`): the runner names the agent of a step a few
    /// steps ahead.
    #[inline]
    pub fn prefetch_agent(&self, id: AgentId) {
        if let Some(slot) = self.agents.slot(id) {
            self.agents.prefetch(slot);
        }
    }

    /// Starts loading the conference agent `id` is in, if any (see `hint`). Reads the agent:
    /// meant for one named to `prefetch_agent` a little earlier.
    #[inline]
    pub fn prefetch_conf_of(&self, id: AgentId) {
        if let Some(conf) = self.agents.get(&id).and_then(|a| a.conf) {
            self.prefetch_conf(conf);
        }
    }

    /// Starts loading what firing `timer` reads besides its conference: the chair, and the
    /// member list (see `hint`). Reads the conference: meant for a timer whose conference was
    /// named to `prefetch` a little earlier.
    #[inline]
    pub fn prefetch_people(&self, timer: Timer) {
        if let Some(conf) = timer.conf().and_then(|id| self.confs.get(&id)) {
            self.prefetch_agent(conf.chair);
            if let Some(first) = conf.members.first() {
                crate::hint::prefetch(first, 2);
            }
        }
    }

    /// Starts loading conference `id` and its member list (see `hint`). Reads the conference:
    /// meant for one named to `prefetch_conf` a little earlier.
    #[inline]
    pub fn prefetch_members(&self, id: ConfId) {
        if let Some(conf) = self.confs.get(&id) {
            if let Some(first) = conf.members.first() {
                crate::hint::prefetch(first, 2);
            }
        }
    }

    /// Fires a due timer: appends the events it emits, in order, to `out` (they all happen at
    /// the timer's due time), consuming what triggered it. A timer that no longer matches the
    /// state emits nothing.
    pub fn fire(&mut self, timer: Timer, out: &mut Vec<Event>, timer_ops: &mut Vec<TimerOp>) {
        notify::fire(self, timer, out);
        self.finish(timer_ops);
    }

    fn apply_event(&mut self, at: SimTime, event: &Event) {
        let id = event.agent;
        match event.ty {
            EventType::AgentStateBusy => {
                if let Some(agent) = self.agent_mut(id) {
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
            EventType::AgentConfSelfJoinResult => self.self_join(at, id, event),
            EventType::AgentConfRequestSuccess => {
                let Some(conf_id) = event.content.conf_id() else {
                    return;
                };
                let Some(conf) = self.conf_mut(conf_id) else {
                    return;
                };
                if matches!(
                    conf.phase,
                    Phase::Applying {
                        next: ApplyStep::Success,
                        ..
                    }
                ) {
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
                        let no = conf.next_no;
                        conf.next_no += 1;
                        conf.members.push(Member::new(
                            no,
                            Address::Phone(peer),
                            MemberStatus::Joined,
                            at,
                        ));
                    }
                }
            }
            EventType::AgentConfRequestFailed => {
                if let Some(conf) = self.agents.get(&id).and_then(|a| a.conf)
                    && self
                        .confs
                        .get(&conf)
                        .is_some_and(|c| matches!(c.phase, Phase::Applying { .. }) && c.chair == id)
                {
                    self.remove_conference(conf);
                }
            }
            EventType::AgentConfTimeout => {
                if let Some(conf) = event.content.conf_id().and_then(|c| self.conf_mut(c))
                    && let Phase::Active { warn_at, .. } = &mut conf.phase
                {
                    *warn_at = None;
                }
            }
            EventType::AgentConfRinging => {
                let Some(conf_id) = event.content.conf_id() else {
                    return;
                };
                let timeout =
                    at.saturating_add(SimDuration::from_millis(self.config.ring_timeout_ms));
                if let Some(conf) = self.conf_mut(conf_id)
                    && let Some(m) = conf.member_mut(&Address::Agent(id))
                    && matches!(m.status, MemberStatus::Calling { .. })
                {
                    m.status = MemberStatus::Ringing { timeout };
                }
            }
            EventType::AgentConfParticipantChanged => self.participant_changed(at, event),
            EventType::AgentOtherPhoneRelease => {
                let Some(agent) = self.agent_mut(id) else {
                    return;
                };
                agent.peer = None;
                let conf = agent.conf;
                // A rung invitation ended (`uninvite`: rejected, removed, timed out, or the
                // conference over).
                self.end_invitation(id, conf);
            }
            EventType::AgentConfSelfLeaveResult => self.self_leave(id, event),
            EventType::AgentStateReady => self.set_state(id, AgentState::Idle),
            EventType::AgentStateSetNotReadySuccess => self.set_state(id, AgentState::Busy),
            EventType::AgentStateWork => self.set_state(id, AgentState::Work),
            EventType::AgentStateSetRestSuccess => self.set_state(id, AgentState::Rest),
            EventType::AgentOtherShutdownService => {
                let Some(agent) = self.agent_mut(id) else {
                    return;
                };
                agent.state = AgentState::Idle;
                agent.stable_call = false;
                agent.three_party_called = false;
                agent.peer = None;
                let conf = agent.conf;
                // The sign-out batch ended an invitation the agent still held, rung or not
                // (`uninvite`).
                self.end_invitation(id, conf);
            }
            _ => {}
        }
    }

    fn set_state(&mut self, id: AgentId, state: AgentState) {
        if let Some(agent) = self.agent_mut(id) {
            agent.state = state;
            agent.stable_call = false;
            agent.three_party_called = false;
        }
    }

    /// The applicant joined its new conference, or an invitee answered.
    fn self_join(&mut self, at: SimTime, id: AgentId, event: &Event) {
        let Some(conf_id) = event.content.conf_id() else {
            return;
        };
        let applying = self
            .confs
            .get(&conf_id)
            .is_some_and(|c| matches!(c.phase, Phase::Applying { .. }));
        if applying {
            // Not touched for this: a joined member waits for nothing, so the conference's
            // timers are as they were, and its step moving on (below) is the whole change,
            // made without a comparison when nothing else was touched.
            if let Some(conf) = self.confs.slot(&conf_id).and_then(|s| self.confs.at_mut(s)) {
                let no = conf.next_no;
                conf.next_no += 1;
                let member = Member::new(no, Address::Agent(id), MemberStatus::Joined, at);
                debug_assert!(member.voice_until.is_none(), "a joined member has no timer");
                conf.members.push(member);
            }
            self.advance_application(at, id, ApplyStep::SelfJoin);
            return;
        }
        let joined = self
            .conf_mut(conf_id)
            .and_then(|conf| conf.member_mut(&Address::Agent(id)))
            .map(|m| {
                m.status = MemberStatus::Joined;
                m.enter_time = at;
            })
            .is_some();
        if joined && let Some(agent) = self.agent_mut(id) {
            agent.state = AgentState::Talking;
            agent.stable_call = true;
        }
    }

    /// Joins are recorded for phone members (agents join with `SelfJoinResult`); a member that
    /// left, was removed or never answered is forgotten (joined agents leave with
    /// `SelfLeaveResult` first). The first recipient's copy does it; the others find it done.
    /// Agent `id`'s invitation to `conf`, if it holds one (listed, not joined), is over: it
    /// leaves the member list and the agent is free of the conference. The members'
    /// `ParticipantChanged` (left) usually records that too, but with nobody present to hear
    /// it (the chair signing out, at the same instant) only the invitee's own events can:
    /// without this the invitee stayed listed and heard the conference's end as well (found by
    /// `random_family_runs_keep_the_promises_around_known_bugs`).
    fn end_invitation(&mut self, id: AgentId, conf: Option<ConfId>) {
        let Some(conf_id) = conf else {
            return;
        };
        let invited = self
            .confs
            .get(&conf_id)
            .and_then(|c| c.member_at(&Address::Agent(id)))
            .is_some_and(|m| !m.is_joined());
        if !invited {
            return;
        }
        if let Some(c) = self.conf_mut(conf_id) {
            c.forget_member(&Address::Agent(id));
        }
        if let Some(a) = self.agent_mut(id) {
            a.conf = None;
        }
        self.forget_if_gone(conf_id);
    }

    fn participant_changed(&mut self, at: SimTime, event: &Event) {
        use crate::event::{Content, change_type};
        let Content::Participant(change) = &event.content else {
            return;
        };
        let address = match change.participant_type {
            crate::event::address_type::AGENT => match change.participant.parse() {
                Ok(n) => Address::Agent(AgentId(n)),
                Err(_) => return,
            },
            _ => Address::Phone(change.participant.clone()),
        };
        let conf_id = change.conf;
        match change.change_type {
            change_type::JOINED if change.result == 0 => {
                if let Some(conf) = self.conf_mut(conf_id)
                    && let Some(m) = conf.member_mut(&address)
                    && !m.is_joined()
                    && address.agent().is_none()
                {
                    m.status = MemberStatus::Joined;
                    m.enter_time = at;
                }
            }
            change_type::LEFT => {
                if let Some(conf) = self.conf_mut(conf_id) {
                    conf.forget_member(&address);
                }
                if let Address::Agent(agent) = address
                    && let Some(a) = self.agent_mut(agent)
                    && a.conf == Some(conf_id)
                {
                    a.conf = None;
                }
                self.forget_if_gone(conf_id);
            }
            _ => {}
        }
    }

    /// An agent's leg left its conference. When the chair leaves, the conference is over: its
    /// timers stop and the remaining members follow. The conference is forgotten once no
    /// agent is left in it.
    fn self_leave(&mut self, agent: AgentId, event: &Event) {
        let Some(conf_id) = event.content.conf_id() else {
            return;
        };
        if let Some(a) = self.agent_mut(agent)
            && a.conf == Some(conf_id)
        {
            a.conf = None;
        }
        let Some(conf) = self.conf_mut(conf_id) else {
            return;
        };
        conf.forget_member(&Address::Agent(agent));
        if conf.chair == agent {
            conf.phase = Phase::Ending;
        }
        self.forget_if_gone(conf_id);
    }

    fn forget_if_gone(&mut self, conf_id: ConfId) {
        if self.confs.get(&conf_id).is_some_and(|c| c.is_gone()) {
            self.remove_conference(conf_id);
        }
    }

    /// Moves an application past `step` when `step` is the one it waited for, and schedules
    /// the next step one latency draw later.
    fn advance_application(&mut self, at: SimTime, agent: AgentId, step: ApplyStep) {
        let Some(conf_id) = self.agents.get(&agent).and_then(|a| a.conf) else {
            return;
        };
        // One lookup for the check, the draw and the change (three steps of every application
        // come through here).
        let Some(slot) = self.confs.slot(&conf_id) else {
            return;
        };
        let Some(conf) = self.confs.at(slot) else {
            return;
        };
        let Phase::Applying { next, .. } = conf.phase else {
            return;
        };
        if next != step || conf.chair != agent {
            return;
        }
        let Some(following) = step.next() else { return };
        let Phase::Applying { due: was_due, .. } = conf.phase else {
            return;
        };
        // The first conference this change touches: its timers' change is known (this step
        // for the next; nothing else of an application changes here), so no comparison of
        // its timers before and after (see `Touched::stepped`). Debug builds compare anyway.
        let direct = self.touched.confs.is_empty() && self.touched.stepped.is_none();
        #[cfg(debug_assertions)]
        let before = {
            let mut before = Vec::new();
            conf.timers(&mut before);
            before
        };
        if !direct {
            self.touch_conf_at(conf_id, Some(slot));
        }
        let Some(conf) = self.confs.at_mut(slot) else {
            return;
        };
        let k = conf.draws_used;
        conf.draws_used += 1;
        let delay = self.draws.latency_ms(&self.config.latency, conf_id, k);
        let due = at.saturating_add(SimDuration::from_millis(delay));
        conf.phase = Phase::Applying {
            next: following,
            due,
        };
        if direct {
            let stepped = Stepped {
                conf: conf_id,
                was: (was_due, Timer::Step(conf_id, k)),
                next: (due, Timer::Step(conf_id, k + 1)),
            };
            #[cfg(debug_assertions)]
            {
                let mut after = Vec::new();
                conf.timers(&mut after);
                let mut expected = Vec::new();
                diff_timers(&before, &after, &mut expected);
                debug_assert_eq!(
                    expected,
                    [
                        TimerOp::Cancel(stepped.was.1),
                        TimerOp::Schedule(stepped.next.0, stepped.next.1)
                    ],
                    "an application's step changes only its step timer"
                );
            }
            self.touched.stepped = Some(stepped);
        }
    }
}

/// The default far party of a talking agent: `9` and the agent id in six digits.
pub fn default_peer(id: AgentId) -> String {
    format!("9{:06}", id.0)
}

/// The timer changes from `before` to `after` (each a handful of timers): every timer that is
/// gone or due at another time is cancelled, every new or moved one scheduled. Inline, with
/// plain loops: it runs for every entity every record touches, and the calls (`contains`, the
/// function itself) cost more than the few comparisons they make.
#[inline]
fn diff_timers(before: &[(SimTime, Timer)], after: &[(SimTime, Timer)], ops: &mut Vec<TimerOp>) {
    for old in before {
        if !after.iter().any(|t| t == old) {
            ops.push(TimerOp::Cancel(old.1));
        }
    }
    for new in after {
        if !before.iter().any(|t| t == new) {
            ops.push(TimerOp::Schedule(new.0, new.1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(id: u64, chair: u32) -> Conference {
        Conference {
            id: ConfId(id),
            chair: AgentId(chair),
            params: ConfParams {
                member_num: 4,
                caller_no: "10000".into(),
                time_min: 60,
                prompt_min: 3,
                beep_tone: false,
                voice_path: None,
            },
            capacity: 4,
            from_call: None,
            members: Vec::new(),
            phase: Phase::Ending,
            requested_at: SimTime::from_unix_ms(0),
            draws_used: 0,
            voice_until: None,
            pending: Vec::new(),
            next_no: 0,
        }
    }

    /// A member passed the chair and then gone (the chair passed back, then it signed out)
    /// takes its `PresidentChanged` with it: it is not there to hear it (found by
    /// `random_family_runs_keep_the_promises_around_known_bugs`).
    #[test]
    fn a_gone_member_takes_its_chair_notification_with_it() {
        let mut c = conf(1, 101);
        c.phase = Phase::Active {
            start: SimTime::from_unix_ms(0),
            end: SimTime::from_unix_ms(60_000),
            warn_at: None,
        };
        for (no, agent) in [(0, 101), (1, 102)] {
            let at = SimTime::from_unix_ms(0);
            c.members.push(Member::new(
                no,
                Address::Agent(AgentId(agent)),
                MemberStatus::Joined,
                at,
            ));
        }
        let op = |no, to| PendingOp {
            no,
            due: SimTime::from_unix_ms(100),
            op: ConfOp::Chair { to: AgentId(to) },
        };
        c.pending = vec![op(0, 102), op(1, 101)];
        c.forget_member(&Address::Agent(AgentId(102)));
        assert_eq!(c.pending, vec![op(1, 101)]);
    }

    #[test]
    fn the_agent_table_finds_ids_in_and_out_of_its_dense_window() {
        let mut a = AgentTable::new(101);
        let far = AgentId(101 + DENSE_IDS);
        for id in [AgentId(150), AgentId(5), far, AgentId(101)] {
            a.insert(id, Agent::signed_out(false, None));
        }
        // Below the base and past the window: the hash map; in the window: the index, only
        // as long as the highest id seen.
        assert_eq!(a.sparse.len(), 2);
        assert_eq!(a.dense.len(), 50);
        for id in [AgentId(150), AgentId(5), far, AgentId(101)] {
            assert!(a.contains_key(&id), "{id:?}");
        }
        assert!(a.get(&AgentId(102)).is_none() && a.get(&AgentId(6)).is_none());
        assert!(a.get(&AgentId(u32::MAX)).is_none());
        if let Some(agent) = a.get_mut(&far) {
            agent.signed_in = true;
        }
        a.get_or_insert_with(AgentId(102), || Agent::signed_out(true, None));
        assert!(a.get(&AgentId(102)).is_some_and(|x| x.inspector));
        // Replacing keeps one slot per id.
        a.insert(AgentId(5), Agent::signed_out(true, None));
        assert_eq!(a.slots.len(), 5);
        // The same agents first seen in another order: equal; a difference in one: not.
        let mut b = AgentTable::new(101);
        for (id, agent) in a.iter().collect::<Vec<_>>().into_iter().rev() {
            b.insert(*id, agent.clone());
        }
        assert_eq!(a, b);
        if let Some(agent) = b.get_mut(&AgentId(150)) {
            agent.draws_used = 1;
        }
        assert_ne!(a, b);
    }

    #[test]
    fn the_conference_table_reuses_slots_and_compares_by_id() {
        let mut a = ConfTable::default();
        a.insert(ConfId(1), conf(1, 101));
        a.insert(ConfId(2), conf(2, 102));
        assert_eq!(a.remove(&ConfId(1)).map(|c| c.chair), Some(AgentId(101)));
        assert!(a.remove(&ConfId(1)).is_none(), "removed once");
        assert!(a.get(&ConfId(1)).is_none() && a.slot(&ConfId(1)).is_none());
        a.insert(ConfId(3), conf(3, 103));
        assert_eq!(a.slots.len(), 2, "the freed slot is reused");
        assert_eq!(a.get(&ConfId(3)).map(|c| c.chair), Some(AgentId(103)));
        if let Some(c) = a.slot(&ConfId(2)).and_then(|s| a.at_mut(s)) {
            c.capacity = 9;
        }
        // The same conferences in other slots: equal. A difference in one: not.
        let mut b = ConfTable::default();
        b.insert(ConfId(3), conf(3, 103));
        b.insert(ConfId(2), conf(2, 102));
        assert_ne!(a, b);
        if let Some(c) = b.slot(&ConfId(2)).and_then(|s| b.at_mut(s)) {
            c.capacity = 9;
        }
        assert_eq!(a, b);
        let mut ids: Vec<u64> = a.values().map(|c| c.id.0).collect();
        ids.sort_unstable();
        assert_eq!(ids, [2, 3]);
    }

    /// Prefetch hints name every kind of timer and agent, present or not, and change
    /// nothing: the platform is equal before and after, and has the same pending timers.
    #[test]
    fn prefetch_hints_change_nothing() {
        let chair = AgentId(101);
        let id = ConfId(CONF_ID_BASE);
        let mut p = Platform::new(PlatformConfig::default(), 7, &[]);
        p.agent_entry(chair).conf = Some(id);
        let mut c = conf(id.0, chair.0);
        c.members.push(Member::new(
            0,
            Address::Agent(chair),
            MemberStatus::Joined,
            SimTime::from_unix_ms(0),
        ));
        p.insert_conference(c);
        p.finish(&mut Vec::new());
        let before = p.clone();
        let gone = ConfId(CONF_ID_BASE + 99 * CONF_ID_STRIDE);
        for conf in [id, gone] {
            p.prefetch_conf(conf);
            p.prefetch_members(conf);
            for timer in [
                Timer::Step(conf, 0),
                Timer::Warn(conf),
                Timer::End(conf),
                Timer::Voice(conf),
                Timer::Invite(conf, 1),
                Timer::MemberVoice(conf, 1),
                Timer::Op(conf, 1),
            ] {
                assert_eq!(timer.conf(), Some(conf));
                p.prefetch(timer);
                p.prefetch_people(timer);
            }
        }
        for agent in [chair, AgentId(102), AgentId(u32::MAX), AgentId(0)] {
            assert_eq!(Timer::Agent(agent, 0).conf(), None);
            p.prefetch_agent_index(agent);
            p.prefetch(Timer::Agent(agent, 0));
            p.prefetch_people(Timer::Agent(agent, 0));
            p.prefetch_agent(agent);
            p.prefetch_conf_of(agent);
        }
        assert_eq!(p, before);
        assert_eq!(p.pending_timers(), before.pending_timers());
    }

    /// Hints are for platforms whose state outgrows the cache: not for a handful of agents,
    /// yes from `HINTS_FROM_AGENTS`.
    #[test]
    fn hints_pay_from_a_few_thousand_agents() {
        let roster = |n: u32| vec![AgentGroup::new(crate::AgentSet::Range(101, 100 + n))];
        let small = Platform::new(PlatformConfig::default(), 7, &roster(10));
        assert!(!small.hints_pay());
        let large = Platform::new(
            PlatformConfig::default(),
            7,
            &roster(HINTS_FROM_AGENTS as u32),
        );
        assert!(large.hints_pay());
    }

    /// An application moved on a step, without comparing its timers, and then touched again
    /// in the same change (no operation does so today): the changes are those of comparing
    /// the timers before and after, as when the step is compared from the start.
    #[test]
    fn a_step_moved_on_and_touched_again_gives_the_compared_changes() {
        let chair = AgentId(101);
        let id = ConfId(CONF_ID_BASE);
        let at = SimTime::from_unix_ms(1_000);
        let mut p = Platform::new(PlatformConfig::default(), 7, &[]);
        p.agent_entry(chair).conf = Some(id);
        let mut applying = conf(id.0, chair.0);
        applying.phase = Phase::Applying {
            next: ApplyStep::Alerting,
            due: at,
        };
        applying.voice_until = Some(SimTime::from_unix_ms(9_000));
        p.insert_conference(applying);
        p.finish(&mut Vec::new());

        // Compared from the start: the conference is touched before the step moves on.
        let mut compared = p.clone();
        compared.touch_conf(id);
        compared.advance_application(at, chair, ApplyStep::Alerting);
        let mut expected = Vec::new();
        compared.finish(&mut expected);
        assert_eq!(expected.len(), 2, "{expected:?}");

        // Moved on directly, and the only conference touched: the same changes.
        let mut direct = p.clone();
        direct.advance_application(at, chair, ApplyStep::Alerting);
        assert!(direct.touched.stepped.is_some());
        let mut ops = Vec::new();
        direct.finish(&mut ops);
        assert_eq!(ops, expected);
        assert_eq!(direct, compared);

        // Moved on directly, then touched again (its announcement ends): compared after all.
        let mut again = p.clone();
        again.advance_application(at, chair, ApplyStep::Alerting);
        if let Some(c) = again.conf_mut(id) {
            c.voice_until = None;
        }
        assert!(
            again.touched.stepped.is_none(),
            "given up for the comparison"
        );
        let mut ops = Vec::new();
        again.finish(&mut ops);
        let mut expected = expected.clone();
        expected.insert(1, TimerOp::Cancel(Timer::Voice(id)));
        assert_eq!(ops, expected);
    }

    /// What the conference index is asked in a run, and worse: ids mostly in order, some kept
    /// for a long time (one holds the window's front back), some off the platform's sequence,
    /// removals of ids it never had. Against a map, with the window's memory bounded by the
    /// live count after every change.
    mod conf_index {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        #[derive(Clone, Debug)]
        enum Op {
            /// A new conference, `skip` numbers after the last one created.
            Create {
                skip: u64,
            },
            /// An id not of the platform's sequence, or one long before it.
            Odd(u64),
            /// Removes the `k`-th oldest live id (modulo the count), or an absent one.
            Remove(usize),
            RemoveAbsent(u64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                8 => (0u64..3).prop_map(|skip| Op::Create { skip }),
                1 => (0u64..1 << 40).prop_map(Op::Odd),
                6 => (0usize..64).prop_map(Op::Remove),
                1 => (0u64..1 << 40).prop_map(Op::RemoveAbsent),
            ]
        }

        fn check(index: &ConfIndex, model: &BTreeMap<ConfId, u32>, probes: &[ConfId]) {
            assert_eq!(index.len(), model.len());
            for id in model.keys().chain(probes) {
                assert_eq!(index.get(*id), model.get(id).copied(), "{id:?}");
            }
            assert!(
                index.window.len() <= 2 * index.in_window + GAPS + 1,
                "window {} for {} live",
                index.window.len(),
                index.in_window
            );
        }

        proptest! {
            #[test]
            fn agrees_with_a_map(ops in proptest::collection::vec(op(), 1..400)) {
                let mut index = ConfIndex::default();
                let mut model = BTreeMap::new();
                let mut next = 0u64;
                let mut slot = 0u32;
                let mut probes = Vec::new();
                for op in ops {
                    match op {
                        Op::Create { skip } => {
                            next += skip;
                            let id = ConfId(CONF_ID_BASE + CONF_ID_STRIDE * next);
                            next += 1;
                            index.insert(id, slot);
                            model.insert(id, slot);
                        }
                        Op::Odd(raw) => {
                            let id = ConfId(raw);
                            if model.contains_key(&id) {
                                continue;
                            }
                            index.insert(id, slot);
                            model.insert(id, slot);
                        }
                        Op::Remove(k) => {
                            let Some(id) = model.keys().nth(k % model.len().max(1)).copied() else {
                                continue;
                            };
                            prop_assert_eq!(index.remove(id), model.remove(&id));
                            probes.push(id);
                        }
                        Op::RemoveAbsent(raw) => {
                            let id = ConfId(raw);
                            prop_assert_eq!(index.remove(id), model.remove(&id));
                        }
                    }
                    slot += 1;
                    check(&index, &model, &probes);
                }
            }
        }

        /// One conference that lives all run while thousands come and go after it: the window
        /// does not grow with the run; the old one moves to the map and is still found.
        #[test]
        fn a_long_lived_conference_does_not_hold_the_window() {
            let mut index = ConfIndex::default();
            let id = |n: u64| ConfId(CONF_ID_BASE + CONF_ID_STRIDE * n);
            index.insert(id(0), 0);
            for n in 1..100_000u64 {
                index.insert(id(n), 1);
                assert_eq!(index.remove(id(n)), Some(1));
            }
            assert!(index.window.len() <= GAPS + 2, "{}", index.window.len());
            assert_eq!(index.get(id(0)), Some(0));
            assert_eq!(index.remove(id(0)), Some(0));
            assert_eq!(index.len(), 0);
            // A new id starts the window afresh.
            index.insert(id(200_000), 7);
            assert_eq!(index.get(id(200_000)), Some(7));
            assert_eq!((index.window.len(), index.sparse.len()), (1, 0));
        }
    }
}
