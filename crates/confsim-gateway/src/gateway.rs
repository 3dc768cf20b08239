//! The gateway's heart: one engine behind one lock, and the request flows over it.
//!
//! Every request that touches the platform takes the lock, brings simulated time up to "now"
//! (the wall clock's reading, or the manual clock's stored time) by firing every timer due on
//! the way in order, submits its input at now, fires whatever that made due at now (an event
//! with zero latency is queued before the response returns), and lets go. One lock rather than
//! finer ones because the engine is one sequence: the journal is totally ordered, and a request
//! is a few microseconds of work under it. The background task of the wall clock takes the
//! same lock to fire timers when their real instant comes.
//!
//! Order within an instant: a request at simulated time T runs after every timer due at or
//! before T. (The scenario runner puts a step *before* the timers of its instant; the journal
//! records which happened, and `confsim replay` reproduces either, by `seq`.)
//!
//! Liveness is real time (product.md §9.2): a client is silent when it has sent nothing and
//! held no poll for `--inactivity-ms` of real time, whatever the clock and speed, so a manual
//! clock's long step or a fast wall clock signs out nobody who is still polling. The clock's
//! task sweeps the sessions a few times a period (`check_liveness`); the sign-out it causes is
//! a `forceLogout` input at the simulated present, journaled like any other, so a replay
//! reproduces it at the same simulated time.

use crate::clock::{SimClock, real_now};
use crate::config::{ClockMode, GatewayConfig, GuidPolicy};
use crate::durable::{Durability, JournalFile, NotDurable, Ticket};
use crate::error::Result;
use crate::journal::{self, ExistingJournal, Forgotten, JournalMemory, JournalTap};
use crate::metrics::{self, HttpCounters, Snapshot};
use crate::push::{self, PushClient, PushTake, PushTarget};
use crate::sessions::{Desk, Phase, Purpose, Take};
use confsim_core::{
    AgentId, AgentState, Input, Op, Rejection, Response, SimDuration, SimTime, retcode,
};
use confsim_engine::{Engine, EngineError, Step};
use confsim_journal::{Header, Summary};
use rustc_hash::FxHashSet;
use serde_json::{Value, json};
use std::fs::File;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

/// The state under the lock.
#[derive(Debug)]
pub(crate) struct Inner {
    engine: Engine<JournalTap>,
    desk: Desk,
    clock: SimClock,
    guid: GuidPolicy,
    inactivity: Option<Duration>,
    /// The deadline the wall clock's task sleeps towards (`None`: nothing, or not asleep).
    ticker_target: Option<SimTime>,
    /// Agents a resumed journal left signed in, with no session here (Guids do not survive a
    /// restart): each is signed out at the inactivity deadline unless it signs in again.
    orphans: FxHashSet<AgentId>,
    /// When the orphans were left (the restart), in real time.
    orphans_since: Instant,
}

/// A synchronous answer and the Guid to send in `Set-GUID`, if any.
#[derive(Debug)]
pub(crate) struct Answer {
    pub response: Response,
    pub set_guid: Option<String>,
    /// A push-mode sign-in: the agent and sign-in whose delivery task starts with the answer.
    start_push: Option<(AgentId, u64)>,
}

impl Answer {
    fn plain(response: Response) -> Self {
        Answer {
            response,
            set_guid: None,
            start_push: None,
        }
    }

    fn with_guid(response: Response, set_guid: Option<String>) -> Self {
        Answer {
            response,
            set_guid,
            start_push: None,
        }
    }
}

/// What a poll answers.
#[derive(Debug)]
pub(crate) enum PollAnswer {
    /// The full body, ready to send; the `Set-GUID`; the events this session lost to its
    /// full queue so far (`X-Confsim-Dropped-Events` when not 0).
    Event(String, Option<String>, u64),
    Empty(Option<String>, u64),
    Refused(Response),
}

/// The interfaces the gateway answers itself (agentgateway.md §3 S8–S10): they read or touch
/// the session, not the platform, so they are not journaled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum SessionCall {
    AgentStatus,
    UpdateGuid,
    Heartbeat,
}

/// The wall clock cannot be advanced by hand (the control API answers 409).
#[derive(Debug)]
pub(crate) struct OnTheWallClock;

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    journal: Arc<Mutex<JournalMemory>>,
    pub config: GatewayConfig,
    header: Header,
    pub(crate) durable: Arc<Durability>,
    /// Wakes the wall clock's task when a request made the next deadline earlier.
    tick: Notify,
    shutdown: watch::Sender<bool>,
    pub http: HttpCounters,
    /// The push tasks' HTTP client (made at the first push-mode sign-in).
    push_client: std::sync::OnceLock<PushClient>,
}

/// A running gateway: cheap to clone (handlers share one).
#[derive(Clone)]
pub struct Gateway {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("clock", &self.shared.config.clock)
            .field("seed", &self.shared.header.seed)
            .finish_non_exhaustive()
    }
}

/// Locks the engine. A handler that panicked while holding the lock (a broken invariant in the
/// core) poisons it; the gateway goes on with the state as the panic left it rather than
/// answering every later request with an error, and the panic itself was logged and answered.
fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The answer to a failure of the engine itself (its journal; never a client's doing).
fn engine_failure(error: &EngineError) -> Response {
    tracing::error!(%error, "the engine failed");
    Rejection::new(
        retcode::OPERATION_EXCEPTION,
        format!("the simulator failed: {error}"),
    )
    .into()
}

/// The answer to an input that cannot be acknowledged because the journal is not durable.
fn not_durable(error: &NotDurable) -> Response {
    Rejection::new(
        retcode::OPERATION_EXCEPTION,
        format!(
            "the journal could not be made durable ({}); the gateway acknowledges no input until it is restarted on its journal",
            error.0
        ),
    )
    .into()
}

impl Inner {
    fn now(&self) -> SimTime {
        self.clock.now(self.engine.now())
    }

    /// Brings the engine up to the present, firing everything due on the way.
    fn catch_up(&mut self) -> Result<SimTime, EngineError> {
        let now = self.now();
        self.advance_to(now)?;
        Ok(now)
    }

    /// Fires every timer and handles every inactivity deadline due at or before `t`, in
    /// (time, sequence) order, then sets the time to `t`.
    fn advance_to(&mut self, t: SimTime) -> Result<(), EngineError> {
        loop {
            match self.engine.step(t, &mut self.desk)? {
                Step::Idle => break,
                Step::Fired => {}
                // The gateway schedules no driver items of its own.
                Step::Driver(_) => {}
            }
        }
        let now = self.engine.now().max(t);
        self.engine.set_time(now)
    }

    /// Signs out every agent whose client has been silent for the inactivity period (real
    /// time), at the simulated present; returns how many. The orphans of a restart count as
    /// silent from the restart.
    fn check_liveness(&mut self) -> Result<usize, EngineError> {
        let Some(period) = self.inactivity else {
            return Ok(0);
        };
        let at = real_now();
        let mut silent = self.desk.silent(at, period);
        if !self.orphans.is_empty() && at.saturating_duration_since(self.orphans_since) >= period {
            let platform = self.engine.platform();
            let mut orphans: Vec<AgentId> = self
                .orphans
                .drain()
                .filter(|&id| platform.agent(id).is_some_and(|a| a.signed_in))
                .collect();
            silent.append(&mut orphans);
            silent.sort_unstable();
            silent.dedup();
        }
        if silent.is_empty() {
            return Ok(0);
        }
        let now = self.catch_up()?;
        for &id in &silent {
            tracing::info!(agent = %id, "no request for the inactivity period: signing out");
            let input = Input::new(Op::ForceLogout, id.to_string(), Value::Null);
            let response = self.engine.submit(input, &mut self.desk)?;
            self.desk.counters.inactivity_signouts += 1;
            // A refusal means the platform had signed it out already; the session is over
            // either way.
            self.desk.signed_out(id, response.is_success());
        }
        self.advance_to(now)?;
        Ok(silent.len())
    }

    /// Submits an input at `now` and keeps the sessions in step with its answer.
    fn submit(
        &mut self,
        input: Input,
        id: Option<AgentId>,
        now: SimTime,
        push: Option<PushTarget>,
    ) -> Result<Answer, EngineError> {
        let op = input.op;
        let response = self.engine.submit(input, &mut self.desk)?;
        let mut set_guid = None;
        let mut start_push = None;
        if response.is_success()
            && let Some(id) = id
        {
            match op {
                Op::Login | Op::ForceLogin => {
                    self.orphans.remove(&id);
                    let pushing = push.is_some();
                    let (guid, generation) = self.desk.signed_in(id, now, push);
                    set_guid = Some(guid);
                    start_push = pushing.then_some((id, generation));
                }
                Op::Logout => self.desk.signed_out(id, false),
                Op::ForceLogout => self.desk.signed_out(id, true),
                _ => {}
            }
        }
        // What the input made due now (zero latency) happens before the answer leaves.
        self.advance_to(now)?;
        Ok(Answer {
            response,
            set_guid,
            start_push,
        })
    }

    /// Whether the wall clock's task must look again: the next deadline moved earlier than
    /// the one it sleeps towards.
    fn ticker_must_wake(&mut self) -> bool {
        if matches!(self.clock, SimClock::Manual) {
            return false;
        }
        match (self.engine.next_deadline(), self.ticker_target) {
            (Some(next), Some(target)) => next < target,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    fn reject(&mut self, rejection: Rejection) -> Response {
        self.desk.counters.count_gateway_retcode(rejection.retcode);
        rejection.into()
    }
}

/// Makes what a new or resumed gateway wrote to its journal at start-up durable.
fn durable_start(mode: crate::config::Fsync, file: &dyn JournalFile) -> Result<()> {
    if mode == crate::config::Fsync::Never {
        return Ok(());
    }
    file.sync_data().map_err(|error| crate::GatewayError::Io {
        context: "syncing the journal file".to_owned(),
        error,
    })
}

/// The sync thread of `--fsync batch` could not start.
fn sync_thread_error(error: std::io::Error) -> crate::GatewayError {
    crate::GatewayError::Io {
        context: "starting the journal's sync thread".to_owned(),
        error,
    }
}

/// Whether an operation needs a Guid: all but sign-in (agentgateway.md §1: `Guid` on every
/// call except sign-in).
pub(crate) fn needs_guid(op: Op) -> bool {
    !matches!(op, Op::Login | Op::ForceLogin)
}

/// The gateway status of an agent (agentgateway.md §8.2) from its platform state.
fn agent_state_code(signed_in: bool, state: AgentState) -> u8 {
    match (signed_in, state) {
        (false, _) => 2,
        (true, AgentState::Busy) => 3,
        (true, AgentState::Idle) => 4,
        (true, AgentState::Work) => 5,
        (true, AgentState::Talking) => 7,
        (true, AgentState::Rest) => 8,
    }
}

impl Gateway {
    /// A gateway over a fresh platform as `config` describes it, journaling to `journal` (if
    /// given) and to memory. Needs no runtime; the wall clock starts now. The journal's header
    /// is written to the file at once (and synced, in the durable `--fsync` modes), so a crash
    /// before the first input leaves a journal a restart continues.
    pub fn new(config: GatewayConfig, journal: Option<File>) -> Result<Self> {
        Self::create(
            config,
            journal.map(|file| Arc::new(file) as Arc<dyn JournalFile>),
        )
    }

    /// [`Gateway::new`] journaling through `file` instead of a `std::fs::File`: the seam a
    /// test uses to put a simulated disk under the journal (one that keeps what was written
    /// apart from what was synced, and can lose power). `serve` never uses it.
    #[doc(hidden)]
    pub fn with_journal_file(config: GatewayConfig, file: Arc<dyn JournalFile>) -> Result<Self> {
        Self::create(config, Some(file))
    }

    fn create(config: GatewayConfig, journal: Option<Arc<dyn JournalFile>>) -> Result<Self> {
        config.check()?;
        let header = Header::new(
            "serve",
            config.seed,
            config.start,
            config.platform.clone(),
            config.agents.clone(),
        );
        let memory = Arc::new(Mutex::new(JournalMemory::new(config.journal_memory_bytes)));
        let mut engine = Engine::new(&header, JournalTap::new(journal.clone(), memory.clone()))?;
        if let Some(file) = &journal {
            engine.flush()?;
            durable_start(config.fsync, &**file)?;
        }
        let desk = Desk::new(config.queue_capacity);
        let durable = Durability::new(config.fsync, journal, 0).map_err(sync_thread_error)?;
        Ok(Self::assemble(
            config,
            header,
            memory,
            engine,
            desk,
            durable,
            FxHashSet::default(),
        ))
    }

    /// A gateway that continues an existing journal (`ExistingJournal::open` read it and cut
    /// its torn tail off): the platform, its pending timers and the `seq` numbering are what
    /// the journal rebuilds to, simulated time resumes at the last record's (on the wall clock
    /// it runs on from there: the time the server was down is not simulated), and the events a
    /// timer had fired whose records were torn off are journaled first. The journal's header
    /// decides the seed, the start, the platform and the roster; `config`'s are replaced.
    ///
    /// Sessions are not in the journal: every Guid is gone, and an agent the platform still
    /// has signed in must sign in again with `forceLogin` (`login` answers `100-002`). One that
    /// does not is signed out by the inactivity rule (`--inactivity-ms` after the restart), a
    /// journaled `forceLogout` like any other.
    pub fn resume(mut config: GatewayConfig, existing: ExistingJournal) -> Result<Self> {
        let header = existing.header.clone();
        config.seed = header.seed;
        config.start = header.start;
        config.platform = header.platform.clone();
        config.agents = header.agents.clone();
        config.check()?;
        let memory = Arc::new(Mutex::new(JournalMemory::new(config.journal_memory_bytes)));
        let kept = existing.kept_reader(memory.clone())?;
        let mut desk = Desk::new(config.queue_capacity);
        let file: Arc<dyn JournalFile> = Arc::new(existing.file);
        let tap = JournalTap::new(Some(file.clone()), memory.clone());
        let mut engine = Engine::resume(&header, &existing.records, kept, tap, &mut desk)?;
        engine.flush()?;
        durable_start(config.fsync, &*file)?;
        let mut orphans = FxHashSet::default();
        for (id, agent) in engine.platform().agents() {
            if agent.signed_in {
                orphans.insert(id);
            }
        }
        let durable = Durability::new(config.fsync, Some(file), engine.last_seq())
            .map_err(sync_thread_error)?;
        Ok(Self::assemble(
            config, header, memory, engine, desk, durable, orphans,
        ))
    }

    fn assemble(
        config: GatewayConfig,
        header: Header,
        memory: Arc<Mutex<JournalMemory>>,
        engine: Engine<JournalTap>,
        desk: Desk,
        durable: Durability,
        orphans: FxHashSet<AgentId>,
    ) -> Self {
        let inner = Inner {
            clock: SimClock::start(config.clock, engine.now()),
            engine,
            desk,
            guid: config.guid,
            inactivity: config.inactivity,
            ticker_target: None,
            orphans,
            orphans_since: real_now(),
        };
        let (shutdown, _) = watch::channel(false);
        Gateway {
            shared: Arc::new(Shared {
                inner: Mutex::new(inner),
                journal: memory,
                config,
                header,
                durable: Arc::new(durable),
                tick: Notify::new(),
                shutdown,
                http: HttpCounters::default(),
                push_client: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Under the engine's lock, after something was journaled: hands the records to the
    /// operating system and, by `--fsync`, syncs them now (`always`) or returns the ticket the
    /// answer must wait on (`batch`, `Gateway::durable`).
    fn settle(&self, inner: &mut Inner) -> Result<Option<Ticket>, Response> {
        let durable = &self.shared.durable;
        if !durable.has_file() {
            return Ok(None);
        }
        if let Err(e) = inner.engine.flush() {
            return Err(engine_failure(&e));
        }
        if journal::lock(&self.shared.journal).file_errors > 0 {
            durable.fail("writing the journal file failed");
        }
        durable
            .written(inner.engine.last_seq())
            .map_err(|e| not_durable(&e))
    }

    /// Waits (batch mode) until the ticket's records are on disk.
    async fn durable(&self, wait: Option<Ticket>) -> Result<(), Response> {
        match wait {
            Some(ticket) => Durability::wait(ticket).await.map_err(|e| not_durable(&e)),
            None => Ok(()),
        }
    }

    /// The journal's header (the seed, the start, the platform and the roster).
    pub fn header(&self) -> &Header {
        &self.shared.header
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.shared.config
    }

    /// The simulated present.
    pub fn now(&self) -> SimTime {
        lock(&self.shared.inner).now()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.shared.inner)
    }

    fn wake_ticker_if(&self, wake: bool) {
        if wake {
            self.shared.tick.notify_one();
        }
    }

    /// One call to a journaled interface. `guid` is the request's `Guid` header. The answer
    /// comes once the input's records are as durable as `--fsync` promises.
    pub(crate) async fn call(&self, input: Input, guid: Option<&str>) -> Answer {
        let (answer, wait) = self.call_locked(input, guid);
        if let Some((id, generation)) = answer.start_push {
            // Started before the answer leaves, so no event of the new session waits for it.
            tokio::spawn(push::deliver(self.clone(), id, generation));
        }
        match self.durable(wait).await {
            Ok(()) => answer,
            Err(response) => Answer::plain(response),
        }
    }

    fn call_locked(&self, input: Input, guid: Option<&str>) -> (Answer, Option<Ticket>) {
        let plain = |response| (Answer::plain(response), None);
        let mut inner = self.lock();
        let now = match inner.catch_up() {
            Ok(now) => now,
            Err(e) => return plain(engine_failure(&e)),
        };
        // Nothing is decided that could not be made durable.
        if let Some(refusal) = self.shared.durable.refusal() {
            return plain(not_durable(&refusal));
        }
        // The path id first (product.md §7.1): one that is not an agent id goes to the core,
        // which answers 000-002 and journals it. A real id must carry that agent's Guid.
        let id = inner
            .engine
            .platform()
            .config()
            .agent_id_range
            .parse_path_id(&input.agent);
        if needs_guid(input.op)
            && let Some(id) = id
            && let Err(rejection) = inner.desk.authenticate(id, guid, now, Purpose::Call)
        {
            return plain(inner.reject(rejection));
        }
        // A push-mode sign-in's callback is checked before the platform sees the sign-in: one
        // this gateway may not call is refused like a Guid, and never journaled.
        let push = match id {
            Some(_) if matches!(input.op, Op::Login | Op::ForceLogin) => {
                match push::target_of(&input.body, &self.shared.config.push_allow) {
                    Ok(push) => push,
                    Err(rejection) => return plain(inner.reject(rejection)),
                }
            }
            _ => None,
        };
        let answer = match inner.submit(input, id, now, push) {
            Ok(answer) => answer,
            Err(e) => Answer::plain(engine_failure(&e)),
        };
        let settled = self.settle(&mut inner);
        let wake = inner.ticker_must_wake();
        drop(inner);
        self.wake_ticker_if(wake);
        match settled {
            Ok(wait) => (answer, wait),
            Err(response) => plain(response),
        }
    }

    /// The path id of a gateway-answered interface, or its `000-002`.
    fn path_id(inner: &mut Inner, raw: &str) -> Result<AgentId, Response> {
        let range = inner.engine.platform().config().agent_id_range;
        range.parse_path_id(raw).ok_or_else(|| {
            inner.reject(Rejection::new(
                retcode::INVALID_PARAMETER,
                format!("agent id {raw:?} is not a number from {range}"),
            ))
        })
    }

    /// `agentstatus`, `updateGuid` and `heartbeat`.
    pub(crate) fn session_call(
        &self,
        kind: SessionCall,
        raw_id: &str,
        guid: Option<&str>,
    ) -> Answer {
        let mut inner = self.lock();
        let now = match inner.catch_up() {
            Ok(now) => now,
            Err(e) => return Answer::plain(engine_failure(&e)),
        };
        let id = match Self::path_id(&mut inner, raw_id) {
            Ok(id) => id,
            Err(response) => return Answer::plain(response),
        };
        let auth = match inner.desk.authenticate(id, guid, now, Purpose::Call) {
            Ok(auth) => auth,
            Err(rejection) => return Answer::plain(inner.reject(rejection)),
        };
        let policy = inner.guid;
        let answer = match kind {
            SessionCall::AgentStatus => {
                let (signed_in, state) = inner
                    .engine
                    .platform()
                    .agent(id)
                    .map_or((false, AgentState::Idle), |a| (a.signed_in, a.state));
                Answer::plain(Response::success(json!({
                    "agentState": agent_state_code(signed_in, state),
                    // "Working" is the vendor's wrap-up state (§8.2 value 5, CTI 6).
                    "isWorking": signed_in && state == AgentState::Work,
                })))
            }
            SessionCall::UpdateGuid => {
                let guid = inner.desk.replace_guid(id, now, &policy);
                Answer::with_guid(Response::success(json!({ "guid": guid })), guid)
            }
            SessionCall::Heartbeat => {
                // The heartbeat carries dynamic-mode rotations in push mode (§2.1).
                let set_guid = inner.desk.rotate_if_due(id, now, &policy).or_else(|| {
                    auth.used_previous
                        .then(|| inner.desk.current_guid(id).map(str::to_owned))
                        .flatten()
                });
                let login = inner
                    .desk
                    .session(id)
                    .map_or(0, |s| s.login_time.as_unix_ms());
                Answer::with_guid(
                    Response::success(json!({ "loginTime": login.to_string() })),
                    set_guid,
                )
            }
        };
        let wake = inner.ticker_must_wake();
        drop(inner);
        self.wake_ticker_if(wake);
        answer
    }

    /// `GET /agentevent/{agentid}`: the oldest event at once, or wait up to the poll wait
    /// (real time) for one, or the empty answer. One event per answer, each exactly once.
    pub(crate) async fn poll(&self, raw_id: &str, guid: Option<&str>) -> PollAnswer {
        let deadline = tokio::time::Instant::now() + self.shared.config.poll_wait;
        let mut shutdown = self.shared.shutdown.subscribe();
        let (id, notify) = {
            let mut inner = self.lock();
            let now = match inner.catch_up() {
                Ok(now) => now,
                Err(e) => return PollAnswer::Refused(engine_failure(&e)),
            };
            let id = match Self::path_id(&mut inner, raw_id) {
                Ok(id) => id,
                Err(response) => return PollAnswer::Refused(response),
            };
            if let Err(rejection) = inner.desk.authenticate(id, guid, now, Purpose::Poll) {
                return PollAnswer::Refused(inner.reject(rejection));
            }
            if inner.desk.is_push(id) {
                return PollAnswer::Refused(inner.reject(Rejection::new(
                    retcode::WRONG_EVENT_MODE,
                    format!(
                        "agent {id} signed in for push mode (callBackUri and serviceToken): its events are POSTed to its callback, not polled"
                    ),
                )));
            }
            let Some(session) = inner.desk.session_mut(id) else {
                return PollAnswer::Refused(
                    Rejection::new(retcode::NOT_SIGNED_IN, "not signed in").into(),
                );
            };
            session.polls_in_flight += 1;
            (id, session.notify.clone())
        };
        let _held = HeldPoll { gateway: self, id };
        let mut first = true;
        loop {
            let (answer, wait) = {
                let mut inner = self.lock();
                let now = match inner.catch_up() {
                    Ok(now) => now,
                    Err(e) => return PollAnswer::Refused(engine_failure(&e)),
                };
                // Checked again after every wait: a forced sign-in elsewhere may have replaced
                // this Guid while the poll was held, and its events are the new client's.
                if !first
                    && let Err(rejection) = inner.desk.authenticate(id, guid, now, Purpose::Poll)
                {
                    return PollAnswer::Refused(inner.reject(rejection));
                }
                first = false;
                let taken = inner.desk.take(id);
                let wake = inner.ticker_must_wake();
                let out_of_time = tokio::time::Instant::now() >= deadline || *shutdown.borrow();
                let mut wait = None;
                let answer = match taken {
                    // An event is not shown before it is as durable as an answer would be.
                    Take::Event(body, dropped) => Some(match self.settle(&mut inner) {
                        Ok(w) => {
                            wait = w;
                            let set_guid = self.rotation(&mut inner, id, guid, now);
                            PollAnswer::Event(body, set_guid, dropped)
                        }
                        Err(response) => PollAnswer::Refused(response),
                    }),
                    Take::Over => Some(PollAnswer::Refused(inner.reject(Rejection::new(
                        retcode::NOT_SIGNED_IN,
                        format!("agent {id} is signed out"),
                    )))),
                    Take::Empty if out_of_time => {
                        let set_guid = self.rotation(&mut inner, id, guid, now);
                        Some(PollAnswer::Empty(set_guid, inner.desk.dropped(id)))
                    }
                    Take::Empty => None,
                };
                drop(inner);
                self.wake_ticker_if(wake);
                (answer, wait)
            };
            if let Some(answer) = answer {
                return match self.durable(wait).await {
                    Ok(()) => answer,
                    Err(response) => PollAnswer::Refused(response),
                };
            }
            tokio::select! {
                _ = notify.notified() => {}
                _ = tokio::time::sleep_until(deadline) => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        }
    }

    /// For a push task: the oldest events of agent `id`'s queue (see `Desk::push_take`).
    pub(crate) fn push_take(&self, id: AgentId, generation: u64) -> PushTake {
        let mut inner = self.lock();
        // The clock's work due by now is journaled (and routed) first, as a poll does.
        if let Err(e) = inner.catch_up() {
            tracing::error!("the engine failed: {e}");
            return PushTake::Stop;
        }
        let taken = inner.desk.push_take(id, generation, push::BATCH_MAX);
        let wake = inner.ticker_must_wake();
        drop(inner);
        self.wake_ticker_if(wake);
        taken
    }

    pub(crate) fn push_target(&self, id: AgentId, generation: u64) -> Option<(PushTarget, String)> {
        self.lock().desk.push_target(id, generation)
    }

    pub(crate) fn push_delivered(&self, events: u64) {
        let counters = &mut self.lock().desk.counters;
        counters.pushed_events += events;
        counters.push_batches += 1;
    }

    pub(crate) fn push_failed(&self) {
        self.lock().desk.counters.push_failures += 1;
    }

    pub(crate) fn push_return(&self, id: AgentId, batch: Vec<(SimTime, confsim_core::Event)>) {
        self.lock().desk.push_return(id, batch);
    }

    pub(crate) fn push_client(&self) -> &PushClient {
        self.shared.push_client.get_or_init(push::client)
    }

    /// The `Set-GUID` of a poll answer: a rotation due in dynamic mode, or the current Guid
    /// for a client still sending the replaced one.
    fn rotation(
        &self,
        inner: &mut Inner,
        id: AgentId,
        guid: Option<&str>,
        now: SimTime,
    ) -> Option<String> {
        let policy = inner.guid;
        if let Some(new) = inner.desk.rotate_if_due(id, now, &policy) {
            return Some(new);
        }
        let current = inner.desk.current_guid(id)?;
        (guid != Some(current)
            && inner
                .desk
                .session(id)
                .is_some_and(|s| s.phase == Phase::SignedIn))
        .then(|| current.to_owned())
    }

    /// `POST /simulator/clock/advance`: moves the manual clock on by `ms`, firing everything
    /// due on the way, in order. Answers the new present.
    /// Answers once what the advance journaled is as durable as `--fsync` promises.
    pub(crate) async fn advance(&self, ms: u64) -> Result<SimTime, OnTheWallClock> {
        if let ClockMode::Wall { .. } = self.shared.config.clock {
            return Err(OnTheWallClock);
        }
        let (now, wait) = {
            let mut inner = self.lock();
            let target = inner
                .engine
                .now()
                .saturating_add(SimDuration::from_millis(ms));
            if let Err(e) = inner.advance_to(target) {
                engine_failure(&e);
            }
            let wait = self.settle(&mut inner).ok().flatten();
            (inner.engine.now(), wait)
        };
        let _ = self.durable(wait).await;
        Ok(now)
    }

    /// The clock's reading: (now, mode, speed).
    pub(crate) fn clock(&self) -> (SimTime, &'static str, f64) {
        let inner = self.lock();
        (inner.now(), inner.clock.mode(), inner.clock.speed())
    }

    /// The journal from record `from` on (0: all of it, header included).
    pub(crate) fn journal_from(&self, from: u64) -> Result<Vec<u8>, Forgotten> {
        self.flush();
        journal::lock(&self.shared.journal).read_from(from)
    }

    /// Changes whenever records reach the in-memory journal (for subscribers that follow it).
    pub(crate) fn journal_written(&self) -> watch::Receiver<u64> {
        journal::lock(&self.shared.journal).subscribe()
    }

    /// Becomes `true` when the gateway stops.
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.shared.shutdown.subscribe()
    }

    /// Signs out, by a journaled `forceLogout` at the simulated present, every agent whose
    /// client has been silent for `--inactivity-ms` of real time (product.md §9.2); returns
    /// how many. The clock's task calls it a few times a period; a test may call it directly.
    pub fn check_liveness(&self) -> usize {
        let mut inner = self.lock();
        let signed_out = match inner.check_liveness() {
            Ok(n) => n,
            Err(e) => {
                engine_failure(&e);
                0
            }
        };
        let wake = inner.ticker_must_wake();
        drop(inner);
        self.wake_ticker_if(wake);
        signed_out
    }

    /// The whole journal as written so far, header included (for tests and tools).
    pub fn journal_bytes(&self) -> Option<Vec<u8>> {
        self.journal_from(0).ok()
    }

    /// Writes the journal's buffered records to the file and the in-memory copy.
    pub fn flush(&self) {
        if let Err(e) = self.lock().engine.flush() {
            engine_failure(&e);
        }
    }

    /// The Prometheus text of `GET /simulator/metrics`.
    pub(crate) fn metrics(&self) -> String {
        let snapshot = {
            let mut inner = self.lock();
            if let Err(e) = inner.catch_up() {
                engine_failure(&e);
            }
            let platform = inner.engine.platform();
            let (active_conferences, signed_in_agents) =
                (platform.active_conferences(), platform.signed_in_agents());
            let (inputs, events) = inner.engine.counts();
            let memory = journal::lock(&self.shared.journal);
            Snapshot {
                counters: inner.desk.counters.clone(),
                active_conferences,
                signed_in_agents,
                sessions: inner.desk.sessions(),
                queued_events: inner.desk.queued(),
                sim_time_ms: inner.engine.now().as_unix_ms(),
                journal_records: inputs + events,
                journal_memory_bytes: memory.held_bytes(),
                journal_file_errors: memory.file_errors,
                journal_syncs: self.shared.durable.syncs(),
                queue_capacity: inner.desk.queue_capacity(),
                polls_held: inner.desk.polls_held(),
                push_sessions: inner.desk.push_sessions(),
                max_connections: self.shared.config.max_connections,
            }
        };
        metrics::render(&snapshot, &self.shared.http)
    }

    /// The wall clock's task: sleeps until the real instant of the next deadline (or until a
    /// request moves it earlier), then fires what is due; flushes the journal every second.
    /// Returns when the gateway shuts down. On the manual clock it only flushes.
    pub async fn run_clock(&self) {
        let mut flush = tokio::time::interval(std::time::Duration::from_secs(1));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutdown = self.shared.shutdown.subscribe();
        // A few sweeps a period: a silent client is signed out within a quarter period late.
        let mut liveness = tokio::time::interval(liveness_tick(self.shared.config.inactivity));
        liveness.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let wake_at = {
                let mut inner = self.lock();
                let next = inner.engine.next_deadline();
                inner.ticker_target = next;
                next.and_then(|t| inner.clock.real_instant(t))
            };
            let sleep = async {
                match wake_at {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => {
                    let mut inner = self.lock();
                    if let Err(e) = inner.catch_up() {
                        engine_failure(&e);
                    }
                    inner.ticker_target = None;
                }
                _ = self.shared.tick.notified() => {}
                _ = flush.tick() => self.flush(),
                _ = liveness.tick(), if self.shared.config.inactivity.is_some() => {
                    self.check_liveness();
                }
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
        self.flush();
    }

    /// Asks everything to stop: held polls answer at once, the clock's task ends.
    pub fn shut_down(&self) {
        self.shared.shutdown.send_replace(true);
    }

    /// Serves HTTP on `listener` until `signal` completes, with the clock's task beside it;
    /// then lets held polls answer, flushes the journal and returns its summary (`None` if a
    /// clone of this gateway is still alive elsewhere, so the engine could not be finished;
    /// the journal is flushed either way). Refuses to start (`GatewayError::Config`) with an
    /// open control API on an address that is not loopback. The transport's limits
    /// (`header_read_timeout`, `max_header_bytes`, `max_connections`) are in `server.rs`.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Option<Summary>> {
        self.serve_on(listener, None, signal).await
    }

    /// Finishes the journal: the summary (digest, records, bytes) when this is the last handle.
    pub fn finish(self) -> Result<Option<Summary>> {
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => {
                let inner = shared.inner.into_inner().unwrap_or_else(|p| p.into_inner());
                let (summary, _, _) = inner.engine.finish()?;
                Ok(Some(summary))
            }
            Err(shared) => {
                Gateway { shared }.flush();
                Ok(None)
            }
        }
    }
}

/// Marks a poll as held while it lives: the agent is listening, so not inactive. When the poll
/// ends (answered, or its client went away and the future was dropped) the end counts as
/// activity too.
struct HeldPoll<'a> {
    gateway: &'a Gateway,
    id: AgentId,
}

impl Drop for HeldPoll<'_> {
    fn drop(&mut self) {
        let mut inner = self.gateway.lock();
        if let Some(s) = inner.desk.session_mut(self.id) {
            s.polls_in_flight = s.polls_in_flight.saturating_sub(1);
            s.last_heard = crate::clock::real_now();
        }
    }
}

/// How often the clock's task sweeps for silent clients: a quarter of the period, between
/// 10 ms and 1 s.
fn liveness_tick(period: Option<Duration>) -> Duration {
    period.map_or(Duration::from_secs(1), |p| {
        (p / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    })
}
