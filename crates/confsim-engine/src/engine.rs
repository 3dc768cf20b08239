//! The engine loop.

use crate::dense::DenseKey;
use crate::scheduler::{Keyed, Scheduler};
use confsim_core::record::{InputRecord, Record};
use confsim_core::{ConfId, Event, Input, Platform, Response, SimTime, Timer, TimerOp};
use confsim_journal::{
    BoxedTap, Header, JournalError, JournalWriter, PipedJournal, Stamped, Summary,
};
use std::io::Write;

/// Why the engine stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(
        "input at {at} is earlier than the engine's current time {now}: time only moves forward"
    )]
    TimeWentBack { at: SimTime, now: SimTime },
    #[error("the journal does not rebuild: {0}")]
    Rebuild(#[from] crate::rebuild::RebuildError),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Something in the timer queue: a platform timer, or a driver's own wake-up (a scripted
/// input, a load generator's next arrival) identified by a token the driver chose.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    Platform(Timer),
    Driver(u64),
}

/// An item as the engine's timer queue holds it, compared and hashed by what identifies it:
/// its kind; its conference, agent or token; and its number, except a step's. A conference
/// has at most one step pending (`Conference::timers`: one while applying or releasing, none
/// otherwise), and the platform moves it on by cancelling one and scheduling the next, most
/// often in one batch of timer changes: as one item to the queue, the next step replaces the
/// last in place (see `apply_timer_ops`), one map probe where a cancel and a schedule were
/// two, and none when the step replaced is the one just fired (`Scheduler::popped`). `identity` is what hashing and ordering see; equality says the same without building
/// it (see `eq`).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Queued(pub(crate) Item);

impl Queued {
    fn identity(&self) -> (u64, u64) {
        let (kind, id, n): (u64, u64, u32) = match self.0 {
            Item::Driver(token) => (0, token, 0),
            Item::Platform(timer) => match timer {
                Timer::Step(conf, _) => (1, conf.0, 0),
                Timer::Warn(conf) => (2, conf.0, 0),
                Timer::End(conf) => (3, conf.0, 0),
                Timer::Voice(conf) => (4, conf.0, 0),
                Timer::Invite(conf, n) => (5, conf.0, n),
                Timer::MemberVoice(conf, n) => (6, conf.0, n),
                Timer::Op(conf, n) => (7, conf.0, n),
                Timer::Agent(agent, n) => (8, u64::from(agent.0), n),
                Timer::Rest(agent, n) => (9, u64::from(agent.0), n),
            },
        };
        (kind << 32 | u64::from(n), id)
    }
}

impl PartialEq for Queued {
    /// As `identity` compares, without building it: the queue compares items in every probe
    /// that finds one, and two identities were two jumps through a table of variants where
    /// the derived comparison is one.
    fn eq(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            (Item::Platform(Timer::Step(a, _)), Item::Platform(Timer::Step(b, _))) => a == b,
            (a, b) => a == b,
        }
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.identity().cmp(&other.identity())
    }
}
impl std::hash::Hash for Queued {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let (a, b) = self.identity();
        state.write_u64(a);
        state.write_u64(b);
    }
}

/// A conference's step, warning, end and announcement are found by the conference's number in
/// the platform's sequence (`CONF_ID_BASE + CONF_ID_STRIDE * n`) and a lane per kind, not by
/// hash (see `dense`): the lanes match `identity`'s kinds, so equal items have equal keys. Ids
/// off the sequence, and every other item, are found by hash.
impl Keyed for Queued {
    #[inline]
    fn dense(&self) -> Option<DenseKey> {
        let Item::Platform(timer) = self.0 else {
            return None;
        };
        let (conf, lane) = match timer {
            Timer::Step(conf, _) => (conf, 0),
            Timer::Warn(conf) => (conf, 1),
            Timer::End(conf) => (conf, 2),
            Timer::Voice(conf) => (conf, 3),
            _ => return None,
        };
        let offset = conf.0.checked_sub(confsim_core::state::CONF_ID_BASE)?;
        let stride = confsim_core::state::CONF_ID_STRIDE;
        (offset % stride == 0).then_some((offset / stride, lane))
    }
}

/// Items as such (a driver keeping its own queue of platform timers and wake-ups): found by
/// hash.
impl Keyed for Item {}

/// What `Engine::step` did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing is due at or before the limit.
    Idle,
    /// A platform timer fired (its events are journaled).
    Fired,
    /// A driver item is due; the engine's time is now its due time.
    Driver(u64),
}

/// Sees every record right after it is journaled and applied.
pub trait Observer {
    fn on_record(&mut self, seq: u64, at: SimTime, record: &Record);
}

impl Observer for () {
    fn on_record(&mut self, _: u64, _: SimTime, _: &Record) {}
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_record(&mut self, seq: u64, at: SimTime, record: &Record) {
        self.0.on_record(seq, at, record);
        self.1.on_record(seq, at, record);
    }
}

/// Where the engine's records go: formatted on the engine's thread, before the record is
/// applied (the gateway: a record that cannot be journaled is not applied), or handed to a
/// writer thread after it is applied (runs: the engine does not wait for the formatting).
enum Journal<W: Write> {
    // Boxed: the writer holds the BLAKE3 hasher's state (about 2 KB).
    Inline(Box<JournalWriter<W>>),
    Piped(PipedJournal<W>),
}

/// The engine: platform state, timer queue and journal, at a simulated time.
pub struct Engine<W: Write> {
    platform: Platform,
    scheduler: Scheduler<Queued>,
    journal: Journal<W>,
    now: SimTime,
    timer_ops: Vec<TimerOp>,
    fired: Vec<Event>,
    inputs: u64,
    events: u64,
}

impl<W: Write> std::fmt::Debug for Engine<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("now", &self.now)
            .field("inputs", &self.inputs)
            .field("events", &self.events)
            .finish()
    }
}

impl<W: Write> Engine<W> {
    /// A fresh platform as the header describes it, journaling to `out`, at the header's start.
    pub fn new(header: &Header, out: W) -> Result<Self> {
        Ok(Engine {
            platform: Platform::new(header.platform.clone(), header.seed, &header.agents),
            scheduler: Scheduler::with_capacity(expected_timers(header)),
            journal: Journal::Inline(Box::new(JournalWriter::new(out, header)?)),
            now: header.start,
            timer_ops: Vec::new(),
            fired: Vec::new(),
            inputs: 0,
            events: 0,
        })
    }

    /// As `new`, with the journal formatted, digested and written on a thread of its own
    /// (`PipedJournal`): same bytes, and the engine's thread does not pay for them. For runs;
    /// a driver that must know a record is journaled before acting on it (the gateway's
    /// durable modes) uses `new` and `flush`.
    pub fn new_piped(header: &Header, out: W) -> Result<Self>
    where
        W: Send + 'static,
    {
        Self::piped(header, PipedJournal::new(out, header)?)
    }

    /// As `new_piped`, with `tap` seeing every record on the journal's thread once it is
    /// journaled (later than the observers on the engine's thread see it): for work that needs every record but not at once (a run's
    /// statistics, read only for its report), so that the engine's thread does not pay for it.
    /// `finish_with_tap` hands it back.
    pub fn new_piped_with_tap(header: &Header, out: W, tap: BoxedTap) -> Result<Self>
    where
        W: Send + 'static,
    {
        Self::piped(header, PipedJournal::with_tap(out, header, tap)?)
    }

    fn piped(header: &Header, journal: PipedJournal<W>) -> Result<Self> {
        Ok(Engine {
            platform: Platform::new(header.platform.clone(), header.seed, &header.agents),
            scheduler: Scheduler::with_capacity(expected_timers(header)),
            journal: Journal::Piped(journal),
            now: header.start,
            timer_ops: Vec::new(),
            fired: Vec::new(),
            inputs: 0,
            events: 0,
        })
    }

    /// Continues an existing journal: the platform and the timer queue are what its header
    /// and `records` (every complete record, in order) rebuild to, the time is the last
    /// record's, the next `seq` follows the last record's, and the events a timer had fired
    /// whose records were torn off (`Rebuilt::undelivered`) are journaled first, at that time,
    /// through `observer`. `existing` reads the file's kept bytes (header and records, each line
    /// complete), already behind `out`, so the digest is the whole file's.
    pub fn resume(
        header: &Header,
        records: &[Stamped],
        existing: impl std::io::Read,
        out: W,
        observer: &mut impl Observer,
    ) -> Result<Self> {
        let rebuilt = crate::rebuild::rebuild(header, records)?;
        let last_seq = records.last().map_or(0, |r| r.seq);
        let inputs = records
            .iter()
            .filter(|r| matches!(r.record, Record::Input(_)))
            .count() as u64;
        let mut scheduler = Scheduler::with_capacity(expected_timers(header));
        // In firing order: equal due times keep their order (the scheduler's sequence).
        for (due, timer) in rebuilt.pending {
            scheduler.schedule_at(due, Queued(Item::Platform(timer)));
        }
        let mut engine = Engine {
            platform: rebuilt.platform,
            scheduler,
            journal: Journal::Inline(Box::new(JournalWriter::resume(out, existing, last_seq)?)),
            now: rebuilt.last_at.unwrap_or(header.start).max(header.start),
            timer_ops: Vec::new(),
            fired: Vec::new(),
            inputs,
            events: last_seq - inputs,
        };
        for event in rebuilt.undelivered {
            engine.events += 1;
            engine.commit(Record::Event(event), observer)?;
        }
        Ok(engine)
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The `seq` of the last record journaled (0 before any).
    pub fn last_seq(&self) -> u64 {
        match &self.journal {
            Journal::Inline(j) => j.last_seq(),
            Journal::Piped(j) => j.last_seq(),
        }
    }

    /// Starts loading where the timer queue keeps conference `conf`'s timers (see
    /// `confsim_core::hint`): a driver about to end a conference (a release) names it, so
    /// that cancelling its warning and end does not wait for memory. Changes nothing.
    #[inline]
    pub fn prefetch_timers_of(&self, conf: ConfId) {
        self.scheduler
            .prefetch(Queued(Item::Platform(Timer::End(conf))));
    }

    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Input and event records journaled so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.inputs, self.events)
    }

    /// Platform timers pending, in the order they will fire.
    pub fn pending_timers(&self) -> Vec<(SimTime, Timer)> {
        self.scheduler
            .pending()
            .into_iter()
            .filter_map(|(due, Queued(item))| match item {
                Item::Platform(timer) => Some((due, timer)),
                Item::Driver(_) => None,
            })
            .collect()
    }

    /// Submits an input at the current simulated time: decides it, journals it with its
    /// response, applies it, and returns the response.
    pub fn submit(&mut self, input: Input, observer: &mut impl Observer) -> Result<Response> {
        let response = self.platform.decide(&input, self.now);
        let input = InputRecord::new(input, response.clone());
        let record = match &mut self.journal {
            Journal::Piped(j) => j.input_record(input),
            Journal::Inline(_) => Record::input(input),
        };
        self.inputs += 1;
        self.commit(record, observer)?;
        Ok(response)
    }

    /// Moves the engine's time forward to `t` without firing anything; a driver uses it to
    /// submit an input at a time of its own (a gateway request arriving between deadlines).
    /// Everything due at or before `t` must have been stepped first.
    pub fn set_time(&mut self, t: SimTime) -> Result<()> {
        if t < self.now {
            return Err(EngineError::TimeWentBack {
                at: t,
                now: self.now,
            });
        }
        self.now = t;
        Ok(())
    }

    fn commit(&mut self, record: Record, observer: &mut impl Observer) -> Result<()> {
        let seq = match &mut self.journal {
            Journal::Inline(j) => j.append(self.now, &record)?,
            Journal::Piped(j) => j.next_seq(),
        };
        self.platform.apply(self.now, &record, &mut self.timer_ops);
        self.apply_timer_ops();
        observer.on_record(seq, self.now, &record);
        if let Journal::Piped(j) = &mut self.journal {
            j.push(self.now, record)?;
        }
        Ok(())
    }

    /// Half the changes (records applied, timers fired) leave every timer as it was on the
    /// closed-loop day: those skip the call, whose prologue and epilogue alone were some 19
    /// instructions (`apply_timer_ops` inlines the whole queue and saves six registers).
    #[inline]
    fn apply_timer_ops(&mut self) {
        if !self.timer_ops.is_empty() {
            apply_timer_ops(&mut self.scheduler, &mut self.timer_ops);
        }
    }

    /// Schedules a driver wake-up at `at`.
    pub fn schedule_driver(&mut self, at: SimTime, token: u64) {
        self.scheduler.schedule_at(at, Queued(Item::Driver(token)));
    }

    /// When the next item (platform timer or driver wake-up) is due.
    pub fn next_deadline(&mut self) -> Option<SimTime> {
        self.scheduler.next_deadline()
    }

    /// Runs the earliest item due at or before `limit`.
    pub fn step(&mut self, limit: SimTime, observer: &mut impl Observer) -> Result<Step> {
        let Some((due, Queued(item))) = self.scheduler.pop_due(limit) else {
            return Ok(Step::Idle);
        };
        // Items never fall due in the past: inputs only schedule at or after `now`.
        self.now = self.now.max(due);
        match item {
            Item::Driver(token) => Ok(Step::Driver(token)),
            Item::Platform(timer) => {
                // Hints for the next two timers (see `confsim_core::hint`): the second's
                // conference, and the next one's chair and members, its conference named one
                // item ago (when it was second).
                if self.platform.hints_pay() {
                    if let Some(Queued(Item::Platform(after))) = self.scheduler.upcoming_second() {
                        self.platform.prefetch(*after);
                    }
                    if let Some(Queued(Item::Platform(next))) = self.scheduler.upcoming() {
                        self.platform.prefetch_people(*next);
                    }
                }
                let mut fired = std::mem::take(&mut self.fired);
                self.platform.fire(timer, &mut fired, &mut self.timer_ops);
                self.apply_timer_ops();
                for event in fired.drain(..) {
                    self.events += 1;
                    self.commit(Record::Event(event), observer)?;
                }
                self.fired = fired;
                Ok(Step::Fired)
            }
        }
    }

    /// Fires every platform timer due at or before `t`, then sets the time to `t`. Driver
    /// items due on the way are returned (in order) rather than handled: this is for drivers
    /// that keep none in the queue, such as the gateway.
    pub fn advance_to(&mut self, t: SimTime, observer: &mut impl Observer) -> Result<Vec<u64>> {
        let mut driver_items = Vec::new();
        loop {
            match self.step(t, observer)? {
                Step::Idle => break,
                Step::Fired => {}
                Step::Driver(token) => driver_items.push(token),
            }
        }
        self.set_time(t.max(self.now))?;
        Ok(driver_items)
    }

    /// Flushes the journal: everything journaled so far is in the underlying writer.
    pub fn flush(&mut self) -> Result<()> {
        match &mut self.journal {
            Journal::Inline(j) => Ok(j.flush()?),
            Journal::Piped(j) => Ok(j.flush()?),
        }
    }

    /// Ends the run: flushes the journal and returns its summary, the writer and the final
    /// platform state.
    pub fn finish(self) -> Result<(Summary, W, Platform)> {
        let (summary, out, platform, _) = self.finish_with_tap()?;
        Ok((summary, out, platform))
    }

    /// As `finish`, also handing back the tap given to `new_piped_with_tap` (`None` without).
    pub fn finish_with_tap(self) -> Result<(Summary, W, Platform, Option<BoxedTap>)> {
        let (summary, out, tap) = match self.journal {
            Journal::Inline(j) => {
                let (summary, out) = j.finish()?;
                (summary, out, None)
            }
            Journal::Piped(j) => j.finish_with_tap()?,
        };
        Ok((summary, out, self.platform, tap))
    }
}

/// About how many platform timers a roster keeps pending at once: a few per agent (an active
/// conference's warning and end, a step or notification under way).
fn expected_timers(header: &Header) -> usize {
    let agents: usize = header.agents.iter().map(|g| g.ids.len()).sum();
    agents.saturating_mul(3).min(1 << 20)
}

/// Carries the platform's timer changes into the queue. A step cancelled when its
/// conference's next step is scheduled later in the same batch is left for that schedule to
/// replace (see `Queued`): the same pending items, by one map probe fewer.
pub(crate) fn apply_timer_ops(scheduler: &mut Scheduler<Queued>, ops: &mut Vec<TimerOp>) {
    // The usual batch (a step moved on: `Touched::stepped` in the core) is one schedule,
    // without the general loop's scans.
    if let [
        TimerOp::Cancel(Timer::Step(was, _)),
        TimerOp::Schedule(due, next @ Timer::Step(conf, _)),
    ] = ops[..]
        && was == conf
    {
        scheduler.schedule_at(due, Queued(Item::Platform(next)));
        ops.clear();
        return;
    }
    // Whether `op` cancels (`cancels`) or schedules a step of `conf`.
    let step_of = |op: &TimerOp, conf: ConfId, cancels: bool| match op {
        TimerOp::Cancel(Timer::Step(c, _)) => cancels && *c == conf,
        TimerOp::Schedule(_, Timer::Step(c, _)) => !cancels && *c == conf,
        _ => false,
    };
    for (i, op) in ops.iter().enumerate() {
        match *op {
            TimerOp::Schedule(due, timer) => {
                let queued = Queued(Item::Platform(timer));
                debug_assert!(
                    !matches!(timer, Timer::Step(conf, _)
                        if scheduler.contains(queued)
                            && !ops[..i].iter().any(|earlier| step_of(earlier, conf, true))),
                    "{timer:?} would replace another step of its conference: two pending"
                );
                scheduler.schedule_at(due, queued);
            }
            TimerOp::Cancel(timer) => {
                if let Timer::Step(conf, _) = timer
                    && ops[i + 1..].iter().any(|later| step_of(later, conf, false))
                {
                    continue;
                }
                scheduler.cancel(Queued(Item::Platform(timer)));
            }
        }
    }
    ops.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use confsim_core::AgentId;

    fn t(ms: i64) -> SimTime {
        SimTime::from_unix_ms(ms)
    }

    fn step(conf: u64, n: u32) -> Timer {
        Timer::Step(ConfId(conf), n)
    }

    #[test]
    fn the_queue_knows_a_step_by_its_conference_and_other_timers_by_their_number() {
        let q = |timer| Queued(Item::Platform(timer));
        assert_eq!(q(step(7, 1)), q(step(7, 2)));
        assert_ne!(q(step(7, 1)), q(step(8, 1)));
        assert_ne!(q(Timer::Warn(ConfId(7))), q(Timer::End(ConfId(7))));
        assert_ne!(q(Timer::Op(ConfId(7), 1)), q(Timer::Op(ConfId(7), 2)));
        assert_ne!(
            q(Timer::Invite(ConfId(7), 1)),
            q(Timer::MemberVoice(ConfId(7), 1))
        );
        assert_ne!(
            q(Timer::Agent(AgentId(7), 1)),
            Queued(Item::Driver(7)),
            "kinds never meet"
        );
        let hash = |x: Queued| rustc_hash::FxBuildHasher.hash_one(x);
        use std::hash::BuildHasher;
        assert_eq!(hash(q(step(7, 1))), hash(q(step(7, 2))));
    }

    /// A conference's step, warning, end and announcement have dense keys (its number in the
    /// platform's sequence, a lane per kind), equal exactly when the items are; ids off the
    /// sequence and every other item have none.
    #[test]
    fn conference_timers_of_the_platform_sequence_have_dense_keys() {
        use confsim_core::state::{CONF_ID_BASE, CONF_ID_STRIDE};
        let q = |timer| Queued(Item::Platform(timer));
        let id = |n: u64| ConfId(CONF_ID_BASE + CONF_ID_STRIDE * n);
        let kinds = |c: ConfId| {
            [
                q(Timer::Step(c, 3)),
                q(Timer::Warn(c)),
                q(Timer::End(c)),
                q(Timer::Voice(c)),
            ]
        };
        assert_eq!(
            q(Timer::Step(id(5), 1)).dense(),
            q(Timer::Step(id(5), 9)).dense()
        );
        let mut keys = std::collections::BTreeSet::new();
        for n in [0, 1, 5, 1 << 40] {
            for item in kinds(id(n)) {
                let key = item.dense();
                assert!(key.is_some_and(|(number, _)| number == n), "{item:?}");
                assert!(keys.insert(key), "{item:?}: a key of its own");
            }
        }
        for off in [
            ConfId(7),
            ConfId(CONF_ID_BASE + 1),
            ConfId(CONF_ID_BASE - CONF_ID_STRIDE),
        ] {
            for item in kinds(off) {
                assert_eq!(item.dense(), None, "{item:?}");
            }
        }
        for item in [
            q(Timer::Invite(id(1), 1)),
            q(Timer::MemberVoice(id(1), 1)),
            q(Timer::Op(id(1), 1)),
            q(Timer::Agent(AgentId(101), 1)),
            Queued(Item::Driver(1)),
        ] {
            assert_eq!(item.dense(), None, "{item:?}");
        }
    }

    /// The platform holding two steps of one conference would break `Queued`'s premise:
    /// debug builds say so rather than let one replace the other.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "two pending")]
    fn a_second_pending_step_of_a_conference_is_caught() {
        let mut s = Scheduler::new();
        let mut ops = vec![TimerOp::Schedule(t(10), step(1, 0))];
        apply_timer_ops(&mut s, &mut ops);
        let mut ops = vec![TimerOp::Schedule(t(20), step(1, 1))];
        apply_timer_ops(&mut s, &mut ops);
    }

    #[test]
    fn a_step_cancelled_and_its_successor_scheduled_in_one_batch_is_replaced() {
        let mut s = Scheduler::new();
        let mut ops = vec![
            TimerOp::Schedule(t(10), step(1, 0)),
            TimerOp::Schedule(t(20), step(2, 0)),
        ];
        apply_timer_ops(&mut s, &mut ops);
        // Conference 1 moves on; conference 2's step is cancelled for good.
        let mut ops = vec![
            TimerOp::Cancel(step(1, 0)),
            TimerOp::Cancel(step(2, 0)),
            TimerOp::Schedule(t(30), Timer::Warn(ConfId(2))),
            TimerOp::Schedule(t(5), step(1, 1)),
        ];
        apply_timer_ops(&mut s, &mut ops);
        assert!(ops.is_empty());
        let pending: Vec<_> = s.pending().into_iter().map(|(due, q)| (due, q.0)).collect();
        assert_eq!(
            pending,
            vec![
                (t(5), Item::Platform(step(1, 1))),
                (t(30), Item::Platform(Timer::Warn(ConfId(2))))
            ]
        );
        // Fired, then moved on: the popped step is replaced by the next one.
        assert_eq!(
            s.pop_due(t(5)).map(|(_, q)| q.0),
            Some(Item::Platform(step(1, 1)))
        );
        let mut ops = vec![
            TimerOp::Cancel(step(1, 1)),
            TimerOp::Schedule(t(8), step(1, 2)),
        ];
        apply_timer_ops(&mut s, &mut ops);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.pop_due(t(100)).map(|(_, q)| q.0),
            Some(Item::Platform(step(1, 2)))
        );
        // A step cancelled with no successor is gone.
        let mut ops = vec![TimerOp::Schedule(t(50), step(3, 0))];
        apply_timer_ops(&mut s, &mut ops);
        let mut ops = vec![TimerOp::Cancel(step(3, 0))];
        apply_timer_ops(&mut s, &mut ops);
        assert_eq!(s.len(), 1);
    }
}
