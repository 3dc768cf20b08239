//! The harness every module uses: a platform built from a roster, an engine journaling into a
//! shared buffer (so a test can read the journal back mid-run), inputs at offsets from the start,
//! and the records the engine produced, shaped for exact comparisons.

#![allow(dead_code)] // Not every module uses every helper.

use confsim_core::config::{FaultConfig, LatencyConfig};
use confsim_core::{
    AgentGroup, AgentId, AgentSet, AgentState, ConfId, Input, Op, Platform, PlatformConfig, Record,
    Response, SimDuration, SimTime, Timer,
};
use confsim_engine::{Engine, Observer, Step};
use confsim_journal::{Header, JournalReader, Stamped};
use serde_json::Value;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// One simulated minute, in milliseconds.
pub const MIN: i64 = 60_000;

/// The start of every run.
pub fn start() -> SimTime {
    SimTime::parse_rfc3339("2026-01-05T09:00:00Z").expect("a valid start")
}

/// The instant `ms` milliseconds after the start.
pub fn t(ms: i64) -> SimTime {
    start().saturating_add(SimDuration::from_millis(
        u64::try_from(ms).expect("offsets are not negative"),
    ))
}

/// Milliseconds from the start to `at`.
pub fn offset(at: SimTime) -> i64 {
    at.as_unix_ms() - start().as_unix_ms()
}

// ---------------------------------------------------------------- configuration

/// A platform whose every asynchronous event happens at the instant of its cause.
pub fn zero_latency() -> PlatformConfig {
    latency(0, 0)
}

/// A platform with latency drawn from `[min_ms, max_ms]`.
pub fn latency(min_ms: u64, max_ms: u64) -> PlatformConfig {
    PlatformConfig {
        latency: LatencyConfig { min_ms, max_ms },
        faults: FaultConfig::default(),
        ..Default::default()
    }
}

/// Signed-in agents in `state`.
pub fn agents(ids: &[u32], state: AgentState) -> AgentGroup {
    AgentGroup {
        state,
        ..AgentGroup::new(AgentSet::List(ids.to_vec()))
    }
}

/// Signed-in idle agents.
pub fn idle(ids: &[u32]) -> AgentGroup {
    agents(ids, AgentState::Idle)
}

// ---------------------------------------------------------------- journal buffer

/// A journal destination the test keeps a handle on while the engine writes to it.
#[derive(Clone, Debug, Default)]
pub struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every record the engine handed to its observer.
#[derive(Debug, Default)]
pub struct Log {
    pub records: Vec<(u64, SimTime, Record)>,
}

impl Observer for Log {
    fn on_record(&mut self, seq: u64, at: SimTime, record: &Record) {
        self.records.push((seq, at, record.clone()));
    }
}

/// An event as a test compares it: offset from the start in ms, event type, workNo, content.
pub type Ev = (i64, &'static str, u32, Value);

/// Shorthand for an expected event.
pub fn ev(at_ms: i64, ty: &'static str, agent: u32, content: Value) -> Ev {
    (at_ms, ty, agent, content)
}

// ---------------------------------------------------------------- the simulation

/// An engine at a simulated time, with its journal and everything it produced.
#[derive(Debug)]
pub struct Sim {
    pub engine: Engine<Shared>,
    pub header: Header,
    pub log: Log,
    journal: Shared,
}

impl Sim {
    pub fn new(platform: PlatformConfig, roster: Vec<AgentGroup>) -> Self {
        Sim::with_seed(7, platform, roster)
    }

    pub fn with_seed(seed: u64, platform: PlatformConfig, roster: Vec<AgentGroup>) -> Self {
        let header = Header::new("it", seed, start(), platform, roster);
        let journal = Shared::default();
        let engine = Engine::new(&header, journal.clone()).expect("the engine starts");
        Sim {
            engine,
            header,
            log: Log::default(),
            journal,
        }
    }

    /// Fires everything due up to `ms` after the start and moves the engine's time there.
    pub fn advance_to(&mut self, ms: i64) {
        let driver = self
            .engine
            .advance_to(t(ms), &mut self.log)
            .expect("time moves forward");
        assert!(driver.is_empty(), "no driver items were scheduled");
    }

    /// Runs the single earliest item due at or before `ms` after the start; whether one ran.
    pub fn step_once(&mut self, ms: i64) -> bool {
        match self
            .engine
            .step(t(ms), &mut self.log)
            .expect("the step runs")
        {
            Step::Idle => false,
            Step::Fired => true,
            Step::Driver(token) => panic!("no driver items were scheduled, got {token}"),
        }
    }

    /// Fires everything due at the current instant (zero-latency events of a just-submitted
    /// input) without moving time.
    pub fn settle(&mut self) {
        let now = offset(self.engine.now());
        self.advance_to(now);
    }

    /// Fires everything still pending, however far in the future.
    pub fn drain(&mut self) {
        while let Some(due) = self.engine.next_deadline() {
            self.advance_to(offset(due));
        }
    }

    /// Submits `op` by path agent `agent` at the engine's current time.
    pub fn submit(&mut self, op: Op, agent: &str, body: Value) -> Response {
        self.engine
            .submit(Input::new(op, agent, body), &mut self.log)
            .expect("the journal accepts the input")
    }

    /// Advances to `ms` (firing what is due on the way), then submits.
    pub fn submit_at(&mut self, ms: i64, op: Op, agent: &str, body: Value) -> Response {
        self.advance_to(ms);
        self.submit(op, agent, body)
    }

    pub fn request(&mut self, agent: u32, body: Value) -> Response {
        self.submit(Op::RequestAgentConf, &agent.to_string(), body)
    }

    pub fn release(&mut self, agent: u32) -> Response {
        self.submit(Op::ReleaseAgentConf, &agent.to_string(), Value::Null)
    }

    pub fn prolong(&mut self, agent: u32, body: Value) -> Response {
        self.submit(Op::ProlongTime, &agent.to_string(), body)
    }

    pub fn platform(&self) -> &Platform {
        self.engine.platform()
    }

    /// The conference agent `id` applies for or is in.
    pub fn conf_of(&self, id: u32) -> Option<ConfId> {
        self.platform().agent(AgentId(id)).and_then(|a| a.conf)
    }

    /// Every event journaled so far, in journal order.
    pub fn events(&self) -> Vec<Ev> {
        self.log
            .records
            .iter()
            .filter_map(|(_, at, record)| match record {
                Record::Event(e) => Some((
                    offset(*at),
                    e.ty.name(),
                    e.agent.0,
                    serde_json::to_value(&e.content).expect("content serializes"),
                )),
                Record::Input(_) => None,
            })
            .collect()
    }

    /// Events for one agent.
    pub fn events_of(&self, agent: u32) -> Vec<Ev> {
        self.events().into_iter().filter(|e| e.2 == agent).collect()
    }

    /// Takes the events journaled so far out of the log (so the next check sees only new ones).
    pub fn take_events(&mut self) -> Vec<Ev> {
        let events = self.events();
        self.log.records.clear();
        events
    }

    /// The journal's bytes so far.
    pub fn journal_bytes(&mut self) -> Vec<u8> {
        self.engine.flush().expect("the journal flushes");
        self.journal.0.borrow().clone()
    }

    /// The journal read back from its bytes.
    pub fn read_back(&mut self) -> (Header, Vec<Stamped>) {
        read_journal(&self.journal_bytes())
    }

    /// Rebuild equals live: folding the journal read back gives the engine's platform and its
    /// pending timers.
    pub fn assert_rebuilds(&mut self) {
        let (header, records) = self.read_back();
        assert_eq!(header, self.header, "the header reads back as written");
        let rebuilt = fold(&header, &records);
        assert_eq!(
            &rebuilt.platform,
            self.platform(),
            "rebuilt state equals live state"
        );
        assert_eq!(
            rebuilt.pending,
            self.engine.pending_timers(),
            "rebuilt timer queue equals the engine's, in firing order"
        );
        assert_eq!(
            sorted(rebuilt.platform.pending_timers()),
            sorted(self.engine.pending_timers()),
            "the timers the state implies are the ones queued"
        );
    }
}

/// Timers in a canonical order. The engine lists timers due at the same instant in scheduling
/// order, the platform by timer; both are the same set.
pub fn sorted(mut timers: Vec<(SimTime, Timer)>) -> Vec<(SimTime, Timer)> {
    timers.sort();
    timers
}

/// Reads journal bytes back, failing the test on any error or torn tail.
pub fn read_journal(bytes: &[u8]) -> (Header, Vec<Stamped>) {
    let mut reader = JournalReader::new(bytes).expect("the header reads back");
    let records = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .expect("every record reads back");
    assert!(
        reader.torn_tail().is_none(),
        "a flushed journal is not torn"
    );
    (reader.header().clone(), records)
}

/// The `retcode` of a response, with its message when it is not the expected one.
#[track_caller]
pub fn assert_retcode(response: &Response, retcode: &str) {
    assert_eq!(
        response.retcode, retcode,
        "unexpected retcode; message: {:?}",
        response.message
    );
}

/// A success exactly as the vendor answers it: `{"retcode":"0","message":"success","result":r}`.
#[track_caller]
pub fn assert_success(response: &Response, result: Value) {
    assert_eq!(
        *response,
        Response {
            retcode: "0".into(),
            message: "success".into(),
            result
        }
    );
}

/// A rejection with `retcode`, an empty `result`, and a message that names `what`.
#[track_caller]
pub fn assert_rejected(response: &Response, retcode: &str, what: &str) {
    assert_retcode(response, retcode);
    assert_eq!(
        response.result,
        serde_json::json!({}),
        "a rejection's result"
    );
    assert!(
        response.message.contains(what),
        "message {:?} should name {what:?}",
        response.message
    );
}

/// Rebuilds the state a journal's records give, failing the test if the journal does not
/// rebuild.
pub fn fold(header: &Header, records: &[Stamped]) -> confsim_engine::Rebuilt {
    confsim_engine::rebuild(header, records)
        .unwrap_or_else(|e| panic!("the journal does not rebuild: {e}"))
}

// ---------------------------------------------------------------- the whole family

/// A conference id as event content: `{"confId": n}`.
pub fn conf_json(conf: ConfId) -> Value {
    serde_json::json!({ "confId": conf.0 })
}

/// The platform of the issue-3 tests: zero latency (every asynchronous answer at the instant of
/// its cause), phones answer exactly 5 s after the invitation, invitations ring 30 s,
/// announcements play 20 s.
pub fn meeting_platform() -> PlatformConfig {
    let mut p = zero_latency();
    p.phones.answer_delay = LatencyConfig {
        min_ms: 5_000,
        max_ms: 5_000,
    };
    p.ring_timeout_ms = 30_000;
    p.announcement_ms = 20_000;
    p
}

/// The phone answer delay of `meeting_platform`.
pub const ANSWER_MS: i64 = 5_000;
/// The ring timeout of `meeting_platform`.
pub const RING_MS: i64 = 30_000;
/// The announcement length of `meeting_platform`.
pub const VOICE_MS: i64 = 20_000;

/// Agents on the roster but signed out.
pub fn signed_out(ids: &[u32]) -> AgentGroup {
    AgentGroup {
        signed_in: false,
        ..idle(ids)
    }
}

/// An inspector, signed in and idle.
pub fn inspector(ids: &[u32]) -> AgentGroup {
    AgentGroup {
        inspector: true,
        ..idle(ids)
    }
}

/// An agent participant as `batchAddParticipant` and the participant operations name it.
pub fn agent_addr(id: u32) -> Value {
    serde_json::json!({ "addressType": "9", "address": id.to_string() })
}

/// A phone-number participant.
pub fn phone_addr(number: &str) -> Value {
    serde_json::json!({ "addressType": "6", "address": number })
}

/// `{"addresses": [...]}`.
pub fn addresses(items: Vec<Value>) -> Value {
    serde_json::json!({ "addresses": items })
}

/// `AgentConf_ParticipantChanged` content about agent `who`, exactly as the platform sends it
/// (device types 0).
pub fn pc_agent(conf: ConfId, who: u32, change_type: u8, reason: u8, result: u8) -> Value {
    pc_content(conf, &who.to_string(), 9, change_type, reason, result)
}

/// The same about phone number `number`.
pub fn pc_phone(conf: ConfId, number: &str, change_type: u8, reason: u8, result: u8) -> Value {
    pc_content(conf, number, 6, change_type, reason, result)
}

/// `AgentConf_ParticipantChanged` content, in the vendor's key order.
pub fn pc_content(
    conf: ConfId,
    participant: &str,
    participant_type: u8,
    change_type: u8,
    reason: u8,
    result: u8,
) -> Value {
    serde_json::json!({
        "result": result,
        "changeReason": reason,
        "changeType": change_type,
        "confId": conf.0,
        "participant": participant,
        "participantType": participant_type,
        "deviceCallType": 0,
        "deviceType": 0,
    })
}

/// The same `ParticipantChanged` content told to each of `to`, in that order, at `at_ms`.
pub fn told(at_ms: i64, to: &[u32], content: &Value) -> Vec<Ev> {
    to.iter()
        .map(|a| ev(at_ms, "AgentConf_ParticipantChanged", *a, content.clone()))
        .collect()
}

/// The success sequence of an application from idle, all at `at_ms`.
pub fn apply_events(at_ms: i64, agent: u32, conf: ConfId) -> Vec<Ev> {
    vec![
        ev(at_ms, "AgentState_Busy", agent, Value::Null),
        ev(at_ms, "AgentOther_PhoneAlerting", agent, Value::Null),
        ev(
            at_ms,
            "AgentOther_PhoneOffhook",
            agent,
            serde_json::json!({ "type": "main" }),
        ),
        ev(at_ms, "AgentConf_SelfJoinResult", agent, conf_json(conf)),
        ev(at_ms, "AgentConf_RequestSuccess", agent, conf_json(conf)),
    ]
}

/// A joined agent leaves: `PhoneRelease {"phoneState": phone}`, `SelfLeaveResult`,
/// `AgentState_Ready`, at `at_ms`.
pub fn leave_events(at_ms: i64, agent: u32, conf: ConfId, phone: u8) -> Vec<Ev> {
    vec![
        ev(
            at_ms,
            "AgentOther_PhoneRelease",
            agent,
            serde_json::json!({ "phoneState": phone }),
        ),
        ev(at_ms, "AgentConf_SelfLeaveResult", agent, conf_json(conf)),
        ev(at_ms, "AgentState_Ready", agent, Value::Null),
    ]
}

/// A ringing invitation ends without a join: `PhoneRelease {"phoneState": phone}`,
/// `AgentState_Ready`.
pub fn unring_events(at_ms: i64, agent: u32, phone: u8) -> Vec<Ev> {
    vec![
        ev(
            at_ms,
            "AgentOther_PhoneRelease",
            agent,
            serde_json::json!({ "phoneState": phone }),
        ),
        ev(at_ms, "AgentState_Ready", agent, Value::Null),
    ]
}

/// A sign-in body with the password every open-mode test uses and `extra` fields on top.
pub fn sign_in(extra: Value) -> Value {
    let mut body = serde_json::json!({ "password": "" });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

impl Sim {
    /// Submits `op` by agent `agent` with `body` at the engine's current time.
    pub fn op(&mut self, op: Op, agent: u32, body: Value) -> Response {
        self.submit(op, &agent.to_string(), body)
    }

    /// Advances to `ms` (firing what is due on the way), submits `op` by `agent` with `body`,
    /// and fires what falls due at that same instant (with zero latency: the whole answer).
    pub fn op_at(&mut self, ms: i64, op: Op, agent: u32, body: Value) -> Response {
        let response = self.submit_at(ms, op, &agent.to_string(), body);
        self.settle();
        response
    }

    /// `op_at`, asserting the plain success `{}`.
    #[track_caller]
    pub fn ok_at(&mut self, ms: i64, op: Op, agent: u32, body: Value) {
        let response = self.op_at(ms, op, agent, body);
        assert_success(&response, serde_json::json!({}));
    }

    /// Agent `chair` applies at `ms` (zero latency) and the conference is active at once.
    #[track_caller]
    pub fn start_conf(&mut self, ms: i64, chair: u32, member_num: u32) -> ConfId {
        self.ok_at(
            ms,
            Op::RequestAgentConf,
            chair,
            serde_json::json!({ "memberNum": member_num }),
        );
        let conf = self.conf_of(chair).expect("the chair applied");
        assert!(
            self.platform()
                .conference(conf)
                .is_some_and(|c| c.is_active()),
            "the conference is active"
        );
        conf
    }

    /// The chair invites `agent` at `ms` and the agent answers at once (zero latency).
    #[track_caller]
    pub fn join(&mut self, ms: i64, chair: u32, agent: u32) {
        self.ok_at(
            ms,
            Op::BatchAddParticipant,
            chair,
            addresses(vec![agent_addr(agent)]),
        );
        self.ok_at(ms, Op::AnswerAgentConf, agent, Value::Null);
        let conf = self.conf_of(chair).expect("the chair has a conference");
        assert!(
            self.platform()
                .conference(conf)
                .and_then(|c| c.member_at(&confsim_core::state::Address::Agent(AgentId(agent))))
                .is_some_and(|m| m.is_joined()),
            "{agent} joined"
        );
    }

    pub fn agent(&self, id: u32) -> &confsim_core::Agent {
        self.platform()
            .agent(AgentId(id))
            .expect("the agent exists")
    }

    /// The conference `conf`, which must exist.
    pub fn conference(&self, conf: ConfId) -> &confsim_core::Conference {
        self.platform()
            .conference(conf)
            .expect("the conference exists")
    }

    /// `queryConfInfos` by `agent` for `conf_ids` now, which must succeed; its result.
    #[track_caller]
    pub fn query(&mut self, agent: u32, conf_ids: &[ConfId]) -> Value {
        let ids: Vec<u64> = conf_ids.iter().map(|c| c.0).collect();
        let response = self.op(
            Op::QueryConfInfos,
            agent,
            serde_json::json!({ "confIds": ids }),
        );
        assert_retcode(&response, "0");
        response.result
    }
}

/// The platform's invariants, as the property test and the scenario tests check them after
/// every step (agentgateway.md §9.3):
/// - joined, calling and ringing members never exceed the capacity;
/// - an active conference has exactly one chair, a joined agent member;
/// - no agent points at a conference that no longer exists or that does not list it (as a
///   member, or as the chair of an application), and no agent is listed by two conferences.
#[track_caller]
pub fn assert_invariants(p: &Platform) {
    use confsim_core::state::Address;
    use std::collections::BTreeMap;
    let mut listed: BTreeMap<AgentId, ConfId> = BTreeMap::new();
    for c in p.conferences() {
        assert!(
            c.occupancy() <= c.capacity,
            "conference {} has {} members for a capacity of {}",
            c.id,
            c.occupancy(),
            c.capacity
        );
        if c.is_active() {
            let chairs: Vec<_> = c
                .members
                .iter()
                .filter(|m| m.is_joined() && m.address == Address::Agent(c.chair))
                .collect();
            assert_eq!(
                chairs.len(),
                1,
                "active conference {} has its chair {} joined exactly once: {:?}",
                c.id,
                c.chair,
                c.members
            );
            assert_eq!(
                p.agent(c.chair).and_then(|a| a.conf),
                Some(c.id),
                "the chair of active conference {} is attached to it",
                c.id
            );
        }
        let mut agents: Vec<AgentId> = c.members.iter().filter_map(|m| m.address.agent()).collect();
        if !matches!(c.phase, confsim_core::Phase::Ending) {
            agents.push(c.chair);
        }
        agents.sort();
        agents.dedup();
        for a in agents {
            let attached = p.agent(a).and_then(|x| x.conf);
            if attached == Some(c.id) {
                if let Some(other) = listed.insert(a, c.id) {
                    panic!("agent {a} is attached to conferences {other} and {}", c.id);
                }
            }
        }
    }
    for (id, a) in p.agents() {
        if let Some(conf) = a.conf {
            let Some(c) = p.conference(conf) else {
                panic!("agent {id} points at conference {conf}, which no longer exists");
            };
            assert!(
                c.members.iter().any(|m| m.address == Address::Agent(id)) || c.chair == id,
                "agent {id} points at conference {conf}, which does not list it"
            );
            assert!(
                !matches!(c.phase, confsim_core::Phase::Ending),
                "agent {id} is stuck in conference {conf}, which has ended: {c:?}"
            );
        }
    }
}

/// Latency 100 ms: chair 101 applied at 0 s and invited 102 at 1 s; at 2 s 102's phone rings.
/// The events so far are taken.
#[track_caller]
pub fn ringing_invitee() -> Sim {
    let mut sim = Sim::new(latency(100, 100), vec![idle(&[101, 102])]);
    sim.ok_at(
        0,
        Op::RequestAgentConf,
        101,
        serde_json::json!({ "memberNum": 4 }),
    );
    sim.ok_at(
        1_000,
        Op::BatchAddParticipant,
        101,
        addresses(vec![agent_addr(102)]),
    );
    sim.advance_to(2_000);
    assert!(
        sim.events_of(102)
            .iter()
            .any(|e| e.1 == "AgentConf_Ringing")
    );
    sim.take_events();
    sim
}
