//! The engine loop.

use crate::scheduler::Scheduler;
use confsim_core::record::{InputRecord, Record};
use confsim_core::{Event, Input, Platform, Response, SimTime, Timer, TimerOp};
use confsim_journal::{Header, JournalError, JournalWriter, PipedJournal, Stamped, Summary};
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
    scheduler: Scheduler<Item>,
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
        Ok(Engine {
            platform: Platform::new(header.platform.clone(), header.seed, &header.agents),
            scheduler: Scheduler::with_capacity(expected_timers(header)),
            journal: Journal::Piped(PipedJournal::new(out, header)?),
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
            scheduler.schedule_at(due, Item::Platform(timer));
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
            .filter_map(|(due, item)| match item {
                Item::Platform(timer) => Some((due, timer)),
                Item::Driver(_) => None,
            })
            .collect()
    }

    /// Submits an input at the current simulated time: decides it, journals it with its
    /// response, applies it, and returns the response.
    pub fn submit(&mut self, input: Input, observer: &mut impl Observer) -> Result<Response> {
        let response = self.platform.decide(&input, self.now);
        let record = Record::input(InputRecord::new(input, response.clone()));
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

    fn apply_timer_ops(&mut self) {
        apply_timer_ops(&mut self.scheduler, &mut self.timer_ops);
    }

    /// Schedules a driver wake-up at `at`.
    pub fn schedule_driver(&mut self, at: SimTime, token: u64) {
        self.scheduler.schedule_at(at, Item::Driver(token));
    }

    /// When the next item (platform timer or driver wake-up) is due.
    pub fn next_deadline(&mut self) -> Option<SimTime> {
        self.scheduler.next_deadline()
    }

    /// Runs the earliest item due at or before `limit`.
    pub fn step(&mut self, limit: SimTime, observer: &mut impl Observer) -> Result<Step> {
        let Some((due, item)) = self.scheduler.pop_due(limit) else {
            return Ok(Step::Idle);
        };
        // Items never fall due in the past: inputs only schedule at or after `now`.
        self.now = self.now.max(due);
        match item {
            Item::Driver(token) => Ok(Step::Driver(token)),
            Item::Platform(timer) => {
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
        let (summary, out) = match self.journal {
            Journal::Inline(j) => j.finish()?,
            Journal::Piped(j) => j.finish()?,
        };
        Ok((summary, out, self.platform))
    }
}

/// About how many platform timers a roster keeps pending at once: a few per agent (an active
/// conference's warning and end, a step or notification under way).
fn expected_timers(header: &Header) -> usize {
    let agents: usize = header.agents.iter().map(|g| g.ids.len()).sum();
    agents.saturating_mul(3).min(1 << 20)
}

/// Carries the platform's timer changes into the queue.
pub(crate) fn apply_timer_ops(scheduler: &mut Scheduler<Item>, ops: &mut Vec<TimerOp>) {
    for op in ops.drain(..) {
        match op {
            TimerOp::Schedule(due, timer) => scheduler.schedule_at(due, Item::Platform(timer)),
            TimerOp::Cancel(timer) => {
                scheduler.cancel(Item::Platform(timer));
            }
        }
    }
}
