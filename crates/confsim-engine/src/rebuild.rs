//! Rebuilding the platform's state from a journal: the definition of "state is what the
//! journal gives".
//!
//! Inputs are applied from their records (the response says whether each was accepted; nothing
//! is decided again). Timer firings are not journaled, they are what the inputs and the seed
//! imply: when the journal shows an event, the rebuild fires the next due timer, exactly as the
//! live engine did, and checks that the event it gets is the one journaled. That also rebuilds
//! what a firing consumes (a pending notification, an announcement's end) and the timer queue,
//! so the rebuilt platform and pending timers equal the live run's.

use crate::engine::{Item, Queued, apply_timer_ops};
use crate::scheduler::Scheduler;
use confsim_core::record::Record;
use confsim_core::{Event, Platform, SimTime, Timer};
use confsim_journal::{Header, Stamped};
use std::collections::VecDeque;

/// Why a journal does not rebuild: it is not what this build of the platform produces.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RebuildError {
    #[error("seq {seq} ({at}): event {event} has no due timer to explain it")]
    Unexplained {
        seq: u64,
        at: SimTime,
        event: String,
    },
    #[error("seq {seq} ({at}): the journal has {journaled}, this build fires {fired}")]
    Mismatch {
        seq: u64,
        at: SimTime,
        journaled: String,
        fired: String,
    },
    #[error("seq {seq}: its time {at} is earlier than the record before it")]
    TimeWentBack { seq: u64, at: SimTime },
}

/// The state a journal gives.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    pub platform: Platform,
    /// Platform timers pending after the last record, in firing order.
    pub pending: Vec<(SimTime, Timer)>,
    /// Events a timer had fired but the journal does not have (it was torn mid-batch): a
    /// resumed run delivers them first.
    pub undelivered: Vec<Event>,
    /// The time of the last record.
    pub last_at: Option<SimTime>,
}

fn show(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| format!("{event:?}"))
}

/// Rebuilds the state a journal's header and records give.
pub fn rebuild<'a>(
    header: &Header,
    records: impl IntoIterator<Item = &'a Stamped>,
) -> Result<Rebuilt, RebuildError> {
    let mut rebuilder = Rebuilder::new(header);
    for stamped in records {
        rebuilder.push(stamped)?;
    }
    Ok(rebuilder.finish())
}

/// The fold of `rebuild`, one record at a time, so that a reader streaming a journal (a report
/// computed after the fact) can look at the state between records without holding them all.
#[derive(Debug)]
pub struct Rebuilder {
    platform: Platform,
    scheduler: Scheduler<Queued>,
    ops: Vec<confsim_core::TimerOp>,
    batch: VecDeque<Event>,
    fired: Vec<Event>,
    last_at: Option<SimTime>,
}

impl Rebuilder {
    /// The state before the first record: the header's platform and roster.
    pub fn new(header: &Header) -> Self {
        Rebuilder {
            platform: Platform::new(header.platform.clone(), header.seed, &header.agents),
            scheduler: Scheduler::new(),
            ops: Vec::new(),
            batch: VecDeque::new(),
            fired: Vec::new(),
            last_at: None,
        }
    }

    /// The state after the records pushed so far.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Folds the next record in (records in journal order).
    pub fn push(&mut self, stamped: &Stamped) -> Result<(), RebuildError> {
        let (seq, at) = (stamped.seq, stamped.at);
        if self.last_at.is_some_and(|t| at < t) {
            return Err(RebuildError::TimeWentBack { seq, at });
        }
        self.last_at = Some(at);
        if let Record::Event(event) = &stamped.record {
            while self.batch.is_empty() {
                let Some((_, Queued(item))) = self.scheduler.pop_due(at) else {
                    return Err(RebuildError::Unexplained {
                        seq,
                        at,
                        event: show(event),
                    });
                };
                if let Item::Platform(timer) = item {
                    self.platform.fire(timer, &mut self.fired, &mut self.ops);
                    apply_timer_ops(&mut self.scheduler, &mut self.ops);
                    self.batch.extend(self.fired.drain(..));
                }
            }
            let expected = self
                .batch
                .pop_front()
                .unwrap_or_else(|| unreachable!("the loop above filled the batch"));
            if &expected != event {
                return Err(RebuildError::Mismatch {
                    seq,
                    at,
                    journaled: show(event),
                    fired: show(&expected),
                });
            }
        }
        self.platform.apply(at, &stamped.record, &mut self.ops);
        apply_timer_ops(&mut self.scheduler, &mut self.ops);
        Ok(())
    }

    /// The state after the last record, with its pending timers.
    pub fn finish(self) -> Rebuilt {
        let pending = self
            .scheduler
            .pending()
            .into_iter()
            .filter_map(|(due, Queued(item))| match item {
                Item::Platform(timer) => Some((due, timer)),
                Item::Driver(_) => None,
            })
            .collect();
        Rebuilt {
            platform: self.platform,
            pending,
            undelivered: self.batch.into(),
            last_at: self.last_at,
        }
    }
}
