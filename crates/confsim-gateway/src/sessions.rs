//! The gateway's sessions: who holds which Guid, each agent's queue of events awaiting a
//! poll, and the observer that fills the queues from the journal.
//!
//! Authentication is transport, not platform: the core numbers sessions, this module maps a
//! session to an unguessable Guid (a version-4 UUID, 122 bits from the operating system's
//! randomness) and checks it on every call *before* the platform sees the call. A call that
//! fails the check is answered `100-006` and never journaled, because it never happened as far
//! as the platform is concerned (the same request with the right Guid would be journaled).
//!
//! Each session's queue is bounded (`--queue-capacity`, 10,000 events by default). When an
//! event arrives for a full queue, the *oldest* queued event is dropped to make room: the
//! newest events describe the agent's present state, which is what a client that fell behind
//! needs to recover. A dropped event is still in the journal (the observer sees each record
//! only after it was journaled), so nothing of the record is lost, only its delivery: the
//! drop is counted (`confsim_gateway_events_dropped_total`), warned about once per session,
//! and told to that agent's client in an `X-Confsim-Dropped-Events` header on every later
//! poll answer. A client that stops polling altogether is signed out after the inactivity
//! period, as the vendor's gateway does (`MAXTIME`), and its queue freed after another.
//!
//! A session lives from a successful sign-in until its agent has signed out *and* its client
//! has polled every event left for it (so the client sees `AgentOther_ShutdownService` after a
//! forced sign-out); after that its Guid is `100-006` too. A signed-out session nobody polls
//! is forgotten after the inactivity period.

use crate::clock::real_now;
use crate::config::{GuidMode, GuidPolicy, NODE_NAME};
use crate::metrics::Counters;
use crate::push::{PushTake, PushTarget};
use confsim_core::record::Record;
use confsim_core::{AgentId, Event, EventType, Rejection, SimTime, retcode};
use confsim_engine::Observer;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Where a session is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    SignedIn,
    /// Signed out; the Guid still polls the remaining events. `awaiting_shutdown`: a forced
    /// sign-out whose `AgentOther_ShutdownService` has not been journaled yet.
    SignedOut {
        awaiting_shutdown: bool,
    },
}

/// One agent's session at the gateway.
#[derive(Debug)]
pub(crate) struct Session {
    guid: String,
    issued_at: SimTime,
    /// The replaced Guid and until when it is still accepted.
    previous: Option<(String, SimTime)>,
    pub login_time: SimTime,
    /// When its client was last heard from (real time: liveness is the client's, §9.2).
    pub last_heard: Instant,
    pub phase: Phase,
    pub polls_in_flight: u32,
    /// Events awaiting a poll, oldest first, with their instants. Kept typed and serialized
    /// when polled: most of the cost of an event nobody polls (a client that went away, a
    /// queue overflowing) is then never paid.
    queue: VecDeque<(SimTime, Event)>,
    /// Events dropped from this session's full queue since its sign-in.
    dropped: u64,
    pub notify: Arc<Notify>,
    /// Push mode: where the events go instead of a poll.
    push: Option<PushTarget>,
    /// Counts the agent's sign-ins: a push task delivers for one sign-in only, so a newer
    /// sign-in (push or not) stops the older one's.
    generation: u64,
}

/// What a call needs its Guid for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Any interface but polling: only a signed-in session's Guid.
    Call,
    /// Polling: a signed-out session's Guid too, while events remain for it.
    Poll,
}

/// A successful Guid check.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Authenticated {
    /// The client sent the replaced Guid (in its grace window): tell it the current one.
    pub used_previous: bool,
}

/// What a poll finds in the queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// The poll's body, and the events this session has lost to overflow so far.
    Event(String, u64),
    /// Nothing yet; wait.
    Empty,
    /// Signed out and drained: the session is over.
    Over,
}

/// The sessions, the queues and the counters: the engine's observer.
#[derive(Debug)]
pub(crate) struct Desk {
    sessions: FxHashMap<AgentId, Session>,
    pub counters: Counters,
    queue_capacity: usize,
    queued: usize,
}

/// A fresh Guid: `<uuid>.AgentGateway0`, the shape of the vendor's.
fn new_guid() -> String {
    format!("{}.{NODE_NAME}", uuid::Uuid::new_v4())
}

/// Compares without stopping at the first difference, so timing does not tell an attacker how
/// much of a guess was right (cheap, and a Guid is a credential).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Desk {
    pub fn new(queue_capacity: usize) -> Self {
        Desk {
            sessions: FxHashMap::default(),
            counters: Counters::default(),
            queue_capacity,
            queued: 0,
        }
    }

    pub fn session(&self, id: AgentId) -> Option<&Session> {
        self.sessions.get(&id)
    }

    pub fn session_mut(&mut self, id: AgentId) -> Option<&mut Session> {
        self.sessions.get_mut(&id)
    }

    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Checks the Guid a request carries for agent `id` at `now`, and counts the request as
    /// the agent's activity. Failures are `100-006`, as the vendor answers a wrong Guid.
    pub fn authenticate(
        &mut self,
        id: AgentId,
        guid: Option<&str>,
        now: SimTime,
        purpose: Purpose,
    ) -> Result<Authenticated, Rejection> {
        let reject = |message: String| Rejection::new(retcode::NOT_SIGNED_IN, message);
        let Some(session) = self.sessions.get_mut(&id) else {
            return Err(reject(format!("agent {id} is not signed in")));
        };
        let Some(guid) = guid else {
            return Err(reject(
                "the Guid header is missing: send the Guid issued at sign-in (Set-GUID)".to_owned(),
            ));
        };
        let used_previous = if same(guid, &session.guid) {
            false
        } else if session
            .previous
            .as_ref()
            .is_some_and(|(old, until)| now < *until && same(guid, old))
        {
            true
        } else {
            return Err(reject(format!(
                "the Guid is not the one issued to agent {id} (expired, replaced, or another agent's)"
            )));
        };
        if purpose == Purpose::Call && session.phase != Phase::SignedIn {
            return Err(reject(format!("agent {id} is signed out")));
        }
        session.last_heard = real_now();
        Ok(Authenticated { used_previous })
    }

    /// A successful sign-in (or forced sign-in): a new Guid, and the old one (if any) no longer
    /// valid. Events still queued stay: they are the agent's. Answers the Guid and the sign-in's
    /// number (its push task's, in push mode).
    pub fn signed_in(
        &mut self,
        id: AgentId,
        now: SimTime,
        push: Option<PushTarget>,
    ) -> (String, u64) {
        let guid = new_guid();
        match self.sessions.get_mut(&id) {
            Some(s) => {
                s.guid.clone_from(&guid);
                s.issued_at = now;
                s.previous = None;
                s.login_time = now;
                s.last_heard = real_now();
                s.phase = Phase::SignedIn;
                s.dropped = 0;
                s.push = push;
                s.generation += 1;
                // An older push task waiting for events looks again, and stops.
                s.notify.notify_one();
                (guid, s.generation)
            }
            None => {
                self.sessions.insert(
                    id,
                    Session {
                        guid: guid.clone(),
                        issued_at: now,
                        previous: None,
                        login_time: now,
                        last_heard: real_now(),
                        phase: Phase::SignedIn,
                        polls_in_flight: 0,
                        queue: VecDeque::new(),
                        dropped: 0,
                        notify: Arc::new(Notify::new()),
                        push,
                        generation: 0,
                    },
                );
                (guid, 0)
            }
        }
    }

    /// Whether the agent's session is in push mode.
    pub fn is_push(&self, id: AgentId) -> bool {
        self.sessions.get(&id).is_some_and(|s| s.push.is_some())
    }

    /// Push-mode sessions now.
    pub fn push_sessions(&self) -> usize {
        self.sessions.values().filter(|s| s.push.is_some()).count()
    }

    /// For the push task of sign-in `generation`: where to send, and the Guid to send with.
    pub fn push_target(&self, id: AgentId, generation: u64) -> Option<(PushTarget, String)> {
        let s = self.sessions.get(&id)?;
        let target = s.push.as_ref().filter(|_| s.generation == generation)?;
        Some((target.clone(), s.guid.clone()))
    }

    /// For the push task of sign-in `generation`: the oldest events, up to `max`, out of the
    /// queue; or what to wait on; or the end (the session is over, or not this task's).
    pub fn push_take(&mut self, id: AgentId, generation: u64, max: usize) -> PushTake {
        let Some(s) = self.sessions.get_mut(&id) else {
            return PushTake::Stop;
        };
        if s.generation != generation || s.push.is_none() {
            return PushTake::Stop;
        }
        if !s.queue.is_empty() {
            let n = s.queue.len().min(max);
            self.queued -= n;
            return PushTake::Batch(s.queue.drain(..n).collect());
        }
        match s.phase {
            Phase::SignedOut {
                awaiting_shutdown: false,
            } => {
                self.sessions.remove(&id);
                PushTake::Stop
            }
            _ => PushTake::Wait(s.notify.clone()),
        }
    }

    /// Puts a batch that was never acknowledged back at the front of the agent's queue (its
    /// task stopped), for whoever delivers the agent's events next.
    pub fn push_return(&mut self, id: AgentId, batch: Vec<(SimTime, Event)>) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        self.queued += batch.len();
        for item in batch.into_iter().rev() {
            s.queue.push_front(item);
        }
        s.notify.notify_one();
    }

    /// A successful sign-out: the Guid keeps polling what is left.
    pub fn signed_out(&mut self, id: AgentId, awaiting_shutdown: bool) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.phase = Phase::SignedOut { awaiting_shutdown };
            // Its client has a whole period from now to collect what is left.
            s.last_heard = real_now();
            // A poll held for this agent may now have to answer 100-006.
            s.notify.notify_one();
        }
    }

    /// Replaces the agent's Guid; the old one stays valid for `grace`.
    pub fn replace_guid(
        &mut self,
        id: AgentId,
        now: SimTime,
        policy: &GuidPolicy,
    ) -> Option<String> {
        let s = self.sessions.get_mut(&id)?;
        let guid = new_guid();
        let old = std::mem::replace(&mut s.guid, guid.clone());
        s.previous = Some((old, now.saturating_add(policy.grace())));
        s.issued_at = now;
        self.counters.guid_rotations += 1;
        Some(guid)
    }

    /// In dynamic mode, replaces a Guid that is at least `interval` old (agentgateway.md §2.1:
    /// the new one goes out in the polling response's `Set-GUID`).
    pub fn rotate_if_due(
        &mut self,
        id: AgentId,
        now: SimTime,
        policy: &GuidPolicy,
    ) -> Option<String> {
        if policy.mode != GuidMode::Dynamic {
            return None;
        }
        let due = self.sessions.get(&id).is_some_and(|s| {
            s.phase == Phase::SignedIn && now >= s.issued_at.saturating_add(policy.interval)
        });
        if due {
            self.replace_guid(id, now, policy)
        } else {
            None
        }
    }

    /// Events the agent's session lost to its full queue (0 without a session).
    pub fn dropped(&self, id: AgentId) -> u64 {
        self.sessions.get(&id).map_or(0, |s| s.dropped)
    }

    /// Polls held open now, over every session.
    pub fn polls_held(&self) -> u64 {
        self.sessions
            .values()
            .map(|s| u64::from(s.polls_in_flight))
            .sum()
    }

    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    pub fn current_guid(&self, id: AgentId) -> Option<&str> {
        self.sessions.get(&id).map(|s| s.guid.as_str())
    }

    /// Takes the oldest event for a poll.
    pub fn take(&mut self, id: AgentId) -> Take {
        let Some(s) = self.sessions.get_mut(&id) else {
            return Take::Over;
        };
        if let Some((at, event)) = s.queue.pop_front() {
            self.queued -= 1;
            self.counters.delivered += 1;
            return Take::Event(poll_body(&event, at), s.dropped);
        }
        match s.phase {
            Phase::SignedOut {
                awaiting_shutdown: false,
            } => {
                self.sessions.remove(&id);
                Take::Over
            }
            _ => Take::Empty,
        }
    }

    /// The liveness sweep at real instant `at` (product.md §9.2): the signed-in agents whose
    /// clients have been silent for `period` (no request, no poll held), in agent order so that
    /// their sign-outs are journaled in an order that does not depend on the map's; and the
    /// signed-out sessions nobody polled for `period` since their sign-out, forgotten here.
    pub fn silent(&mut self, at: Instant, period: Duration) -> Vec<AgentId> {
        let mut silent = Vec::new();
        let mut expired = Vec::new();
        for (&id, s) in &self.sessions {
            if at.saturating_duration_since(s.last_heard) < period {
                continue;
            }
            match s.phase {
                // A poll held open is the client listening, however long the hold lasts.
                Phase::SignedIn if s.polls_in_flight > 0 => {}
                Phase::SignedIn => silent.push(id),
                Phase::SignedOut { .. } if s.polls_in_flight == 0 => expired.push(id),
                Phase::SignedOut { .. } => {}
            }
        }
        for id in expired {
            if let Some(s) = self.sessions.remove(&id) {
                self.queued -= s.queue.len();
                self.counters.expired_sessions += 1;
            }
        }
        silent.sort_unstable();
        silent
    }

    fn route(&mut self, at: SimTime, event: &Event) {
        self.counters.count_event(event.ty);
        let Some(s) = self.sessions.get_mut(&event.agent) else {
            self.counters.undelivered += 1;
            return;
        };
        if s.queue.len() >= self.queue_capacity {
            // The overflow policy (see the module's notes): the oldest goes, the journal
            // keeps it, and the drop is counted, warned about once, and told to the client.
            s.queue.pop_front();
            self.queued -= 1;
            self.counters.dropped += 1;
            if s.dropped == 0 {
                self.counters.overflowed_sessions += 1;
                tracing::warn!(
                    agent = %event.agent,
                    capacity = self.queue_capacity,
                    "the agent's event queue is full (its client polls slower than events come): dropping its oldest events; the journal keeps them (GET /simulator/journal), and polls answer X-Confsim-Dropped-Events"
                );
            }
            s.dropped += 1;
        }
        s.queue.push_back((at, event.clone()));
        self.queued += 1;
        self.counters.queue_length_max = self.counters.queue_length_max.max(s.queue.len() as u64);
        if event.ty == EventType::AgentOtherShutdownService
            && let Phase::SignedOut { awaiting_shutdown } = &mut s.phase
        {
            *awaiting_shutdown = false;
        }
        s.notify.notify_one();
    }
}

impl Observer for Desk {
    fn on_record(&mut self, _seq: u64, at: SimTime, record: &Record) {
        match record {
            Record::Input(input) => self.counters.count_input(input.op, &input.response.retcode),
            Record::Event(event) => self.route(at, event),
        }
    }
}

/// The whole body of the poll that delivers `event`:
/// `{"message":"","retcode":"0","event":{"eventType","workNo","content","eventGenTime"}}`.
pub(crate) fn poll_body(event: &Event, at: SimTime) -> String {
    let mut buf = Vec::with_capacity(160);
    buf.extend_from_slice(br#"{"message":"","retcode":"0","event":"#);
    write_event(&mut buf, event, at);
    buf.push(b'}');
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Appends `{"eventType","workNo","content","eventGenTime"}`: the event as a poll and a push
/// show it.
pub(crate) fn write_event(buf: &mut Vec<u8>, event: &Event, at: SimTime) {
    let start = buf.len();
    // The core's own serialization ({eventType, workNo, content}) is the vendor's shape; its
    // closing brace is replaced to add the newer pages' `eventGenTime` (epoch ms).
    if serde_json::to_writer(&mut *buf, event).is_err() {
        // Writing a typed event into memory cannot fail; keep the body valid regardless.
        buf.truncate(start);
        buf.extend_from_slice(b"null");
        return;
    }
    buf.pop();
    buf.extend_from_slice(br#","eventGenTime":"#);
    buf.extend_from_slice(at.as_unix_ms().to_string().as_bytes());
    buf.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use confsim_core::{ConfId, Content, SimDuration};

    fn t(ms: i64) -> SimTime {
        SimTime::from_unix_ms(ms)
    }

    #[test]
    fn a_poll_body_has_the_vendor_envelope_and_the_event_time() {
        let e = Event::new(
            EventType::AgentConfRequestSuccess,
            AgentId(153),
            Content::Conf(ConfId(1030400)),
        );
        assert_eq!(
            poll_body(&e, t(1784529722590)),
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentConf_RequestSuccess","workNo":"153","content":{"confId":1030400},"eventGenTime":1784529722590}}"#
        );
    }

    #[test]
    fn guids_are_checked_per_agent_and_replaced_ones_expire() {
        let mut desk = Desk::new(10);
        let a = desk.signed_in(AgentId(101), t(0), None).0;
        let b = desk.signed_in(AgentId(102), t(0), None).0;
        assert!(a.ends_with(".AgentGateway0") && a.len() == 36 + 14);
        assert_ne!(a, b);
        assert!(
            desk.authenticate(AgentId(101), Some(&a), t(1), Purpose::Call)
                .is_ok()
        );
        let other = desk.authenticate(AgentId(101), Some(&b), t(1), Purpose::Call);
        assert_eq!(other.unwrap_err().retcode, "100-006");
        assert!(
            desk.authenticate(AgentId(101), None, t(1), Purpose::Call)
                .is_err()
        );
        assert!(
            desk.authenticate(AgentId(103), Some(&a), t(1), Purpose::Call)
                .is_err()
        );

        let policy = GuidPolicy {
            mode: GuidMode::Dynamic,
            interval: SimDuration::from_secs(60),
            timeout: SimDuration::from_secs(120),
        };
        assert_eq!(desk.rotate_if_due(AgentId(101), t(59_999), &policy), None);
        let a2 = desk
            .rotate_if_due(AgentId(101), t(60_000), &policy)
            .unwrap();
        let ok = desk.authenticate(AgentId(101), Some(&a), t(119_999), Purpose::Call);
        assert_eq!(
            ok,
            Ok(Authenticated {
                used_previous: true
            })
        );
        assert!(
            desk.authenticate(AgentId(101), Some(&a), t(120_000), Purpose::Call)
                .is_err()
        );
        assert!(
            desk.authenticate(AgentId(101), Some(&a2), t(120_000), Purpose::Call)
                .is_ok()
        );

        // A forced sign-in invalidates the old Guid at once.
        let a3 = desk.signed_in(AgentId(101), t(121_000), None).0;
        assert!(
            desk.authenticate(AgentId(101), Some(&a2), t(121_000), Purpose::Call)
                .is_err()
        );
        assert!(
            desk.authenticate(AgentId(101), Some(&a3), t(121_000), Purpose::Call)
                .is_ok()
        );
    }

    #[test]
    fn a_queued_event_is_small_so_the_documented_memory_bound_holds() {
        // SECURITY.md's bound: a full queue is about capacity x this many bytes (plus a boxed
        // ParticipantChanged content, and the VecDeque's rounding up to a power of two).
        let bytes = std::mem::size_of::<(SimTime, Event)>();
        assert!(bytes <= 32, "{bytes} bytes");
    }

    #[test]
    fn a_full_queue_drops_its_oldest_event_and_counts_it() {
        let mut desk = Desk::new(2);
        desk.signed_in(AgentId(101), t(0), None);
        for i in 0..3 {
            let e = Event::new(EventType::AgentStateReady, AgentId(101), Content::Null);
            desk.on_record(i + 1, t(i as i64), &Record::Event(e));
        }
        assert_eq!(desk.counters.dropped, 1);
        assert_eq!(desk.counters.overflowed_sessions, 1);
        assert_eq!(desk.counters.queue_length_max, 2);
        assert_eq!(desk.dropped(AgentId(101)), 1);
        let Take::Event(first, dropped) = desk.take(AgentId(101)) else {
            panic!("an event was queued")
        };
        assert_eq!(dropped, 1, "the client is told");
        assert!(first.ends_with(r#""eventGenTime":1}}"#), "{first}");
        assert!(matches!(desk.take(AgentId(101)), Take::Event(..)));
        assert_eq!(desk.take(AgentId(101)), Take::Empty);
        assert_eq!(desk.queued(), 0);
        // A second overflow of the same session is counted, not warned about again; a new
        // sign-in starts the session's count afresh.
        for i in 3..6 {
            let e = Event::new(EventType::AgentStateReady, AgentId(101), Content::Null);
            desk.on_record(i + 1, t(i as i64), &Record::Event(e));
        }
        assert_eq!(
            (desk.counters.dropped, desk.counters.overflowed_sessions),
            (2, 1)
        );
        desk.signed_in(AgentId(101), t(10), None);
        assert_eq!(desk.dropped(AgentId(101)), 0);
    }

    #[test]
    fn a_signed_out_session_polls_until_its_shutdown_event_is_taken() {
        let mut desk = Desk::new(10);
        let g = desk.signed_in(AgentId(101), t(0), None).0;
        desk.signed_out(AgentId(101), true);
        assert!(
            desk.authenticate(AgentId(101), Some(&g), t(1), Purpose::Call)
                .is_err()
        );
        assert!(
            desk.authenticate(AgentId(101), Some(&g), t(1), Purpose::Poll)
                .is_ok()
        );
        assert_eq!(desk.take(AgentId(101)), Take::Empty);
        let e = Event::new(
            EventType::AgentOtherShutdownService,
            AgentId(101),
            Content::Null,
        );
        desk.on_record(1, t(5), &Record::Event(e));
        assert!(matches!(desk.take(AgentId(101)), Take::Event(..)));
        assert_eq!(desk.take(AgentId(101)), Take::Over);
        assert!(
            desk.authenticate(AgentId(101), Some(&g), t(6), Purpose::Poll)
                .is_err()
        );
    }
}
