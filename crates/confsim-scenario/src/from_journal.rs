//! The report of a journal after the fact (`confsim report`, product.md §10.2): the same
//! `Report` a run makes, computed from any journal's records (a run's, a `serve` session's, a
//! capture's).
//!
//! Two ways to the same figures. The fast one is a replay (`confsim_replay`): a journal this
//! build reproduces byte for byte (a run's or a `serve` session's, unless an older build wrote
//! it) is re-executed from its inputs, the statistics watch the records the replay produces on
//! the thread that compares them, and the timeline samples the replaying platform. The replay
//! parses only the inputs and compares every other line as bytes, so the report costs what a
//! replay costs. Only when the outcome is identical (nothing reformatted, no header normalized,
//! no torn tail) are those the file's records, and only then is the report taken from it.
//!
//! Otherwise (a capture, a torn tail, a journal this build does not reproduce) the records are
//! folded. Every line is parsed, tolerantly: a record of a type or shape the model does not
//! have is counted by its names (`Stats::on_loose`) and the platform's state stops there. The
//! figures a run's statistics read from records (counts, retcodes, the request-to-success
//! latency) come from the same `Stats`, fed the same records in the same order, and the
//! platform's state between records (for the timeline and the conferences active at the end)
//! is rebuilt through the core as the records stream by (`Rebuilder`), in memory that does not
//! grow with the journal. The digest is BLAKE3 over the file's bytes, as the writer kept it.
//!
//! Either way, what a journal does not hold is not invented: there are no `dropped_arrivals`
//! (arrivals that found no agent journal nothing), no load figures and no expectations.

use crate::error::{Result, ScenarioError};
use crate::report::{Latency, Report};
use crate::runner::{LATENCY_BARS, peak_memory_bytes};
use crate::stats::{Percentiles, Stats, buckets};
use crate::timeline::Timeline;
use confsim_core::{Platform, SimTime};
use confsim_engine::{Observer, Rebuilder, Stopwatch};
use confsim_journal::{AnyRecord, Header, JournalError, JournalReader, TornTail};
use confsim_replay::{Sampler, Verdict, replay_file_watched};
use std::io::{BufReader, Read};
use std::path::Path;

/// A journal's report, and what the reader had to say about the file.
#[derive(Debug)]
pub struct JournalReport {
    pub report: Report,
    /// The incomplete last line, when the journal has one (it is left out of every figure).
    pub torn: Option<TornTail>,
    /// Why the platform's state could not be followed to the end, when it could not (a
    /// journal this build of the platform does not explain): the timeline and
    /// `active_conferences_at_end` then stop at the record named.
    pub state_stopped: Option<String>,
    /// How the figures were had.
    pub derived: Derived,
}

/// How a journal's report was computed (the figures are the same either way).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Derived {
    /// From a replay that reproduced the file byte for byte.
    Replay,
    /// By parsing and folding every record.
    Fold,
}

/// The report of the journal in `file`: from a byte-identical replay when the journal is one
/// this build reproduces, else by folding its records (see the module comment).
pub fn report_journal(file: &Path) -> Result<JournalReport> {
    let stopwatch = Stopwatch::start();
    match by_replay(file, &stopwatch)? {
        Some(done) => Ok(done),
        None => fold(file, &stopwatch),
    }
}

/// The report of the journal in `file` by folding its records, whatever the journal: what
/// `report_journal` does when a replay does not reproduce the file.
pub fn report_journal_folded(file: &Path) -> Result<JournalReport> {
    fold(file, &Stopwatch::start())
}

/// The timeline, sampling the replaying platform.
struct Sampling(Timeline);

impl Sampler for Sampling {
    #[inline]
    fn due(&self, at: SimTime) -> bool {
        self.0.due(at)
    }

    fn sample(&mut self, at: SimTime, platform: &Platform) {
        self.0.sample_before(
            at,
            platform.active_conferences() as u64,
            platform.talking_agents() as u64,
        );
    }
}

/// The report from a replay, when the replay reproduces the file byte for byte; `None` when it
/// does not (or the file is a capture, which no replay reproduces, or cannot be replayed at
/// all: the fold then names what is wrong with it).
fn by_replay(file: &Path, stopwatch: &Stopwatch) -> Result<Option<JournalReport>> {
    let header = {
        let opened = std::fs::File::open(file).map_err(|error| ScenarioError::Read {
            file: file.to_owned(),
            error,
        })?;
        match JournalReader::new(BufReader::new(opened)) {
            Ok(reader) => reader.header().clone(),
            Err(_) => return Ok(None),
        }
    };
    if header.is_capture() {
        return Ok(None);
    }
    let mut sampling = Sampling(Timeline::new(header.start, None));
    let Ok(watched) = replay_file_watched(file, new_stats(&header), &mut sampling) else {
        return Ok(None);
    };
    let outcome = &watched.outcome;
    if outcome.verdict != Verdict::Identical
        || outcome.reformatted > 0
        || outcome.header_normalized.is_some()
        || outcome.torn_tail.is_some()
        || outcome.replayed != outcome.records
    {
        return Ok(None);
    }
    let journal_bytes = std::fs::metadata(file)
        .map_err(|error| ScenarioError::Read {
            file: file.to_owned(),
            error,
        })?
        .len();
    let last_at = watched.last_at.unwrap_or(header.start).max(header.start);
    let p = &watched.platform;
    let end = End {
        last_at,
        active: p.active_conferences() as u64,
        talking: p.talking_agents() as u64,
    };
    let report = assemble(
        file,
        &header,
        &watched.tap,
        sampling.0,
        end,
        watched.outcome.digest.clone(),
        journal_bytes,
        stopwatch,
    );
    Ok(Some(JournalReport {
        report,
        torn: None,
        state_stopped: None,
        derived: Derived::Replay,
    }))
}

/// Statistics for a journal with this header, as a run keeps them.
fn new_stats(header: &Header) -> Stats {
    Stats::new([]).for_agents(header.agents.iter().flat_map(|g| g.ids.iter()))
}

/// The journal's end: its last record's time and the platform's state after it.
struct End {
    last_at: SimTime,
    active: u64,
    talking: u64,
}

/// Hashes every byte read through it.
struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Records handed from the reading thread to the folding one at a time.
const BATCH: usize = 4_096;
/// Batches in flight: reading stays at most this far ahead.
const BATCHES_AHEAD: usize = 4;

/// The fold. Two threads share the work, as in a run: one reads, hashes and parses the file,
/// the other folds the records and keeps the statistics.
fn fold(file: &Path, stopwatch: &Stopwatch) -> Result<JournalReport> {
    let io = |error| ScenarioError::Read {
        file: file.to_owned(),
        error,
    };
    let bad = |error: JournalError| ScenarioError::Journal {
        file: file.to_owned(),
        error,
    };
    let opened = std::fs::File::open(file).map_err(io)?;
    let hashing = Hashing {
        inner: opened,
        hasher: blake3::Hasher::new(),
    };
    let mut reader = JournalReader::new(BufReader::with_capacity(1 << 16, hashing)).map_err(bad)?;
    let header = reader.header().clone();
    let start = header.start;
    let mut stats = new_stats(&header);
    let mut state = Some(Rebuilder::new(&header));
    let mut state_stopped = None;
    let mut timeline = Timeline::new(start, None);
    let mut last_at = start;

    let (sender, batches) = std::sync::mpsc::sync_channel::<Vec<AnyRecord>>(BATCHES_AHEAD);
    let (torn, hasher, failure) = std::thread::scope(|scope| {
        let reading = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let mut failure = None;
            loop {
                match reader.next_tolerant() {
                    Ok(Some(record)) => batch.push(record),
                    Ok(None) => break,
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
                if batch.len() == BATCH
                    && sender
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    break;
                }
            }
            if !batch.is_empty() {
                let _ = sender.send(batch);
            }
            drop(sender);
            let torn = reader.torn_tail().cloned();
            (torn, reader.into_inner().into_inner().hasher, failure)
        });
        for batch in batches {
            for record in &batch {
                let at = record.at();
                if let Some(rebuilder) = &mut state {
                    if timeline.due(at) {
                        let p = rebuilder.platform();
                        timeline.sample_before(
                            at,
                            p.active_conferences() as u64,
                            p.talking_agents() as u64,
                        );
                    }
                    let pushed = match record {
                        AnyRecord::Typed(stamped) => {
                            rebuilder.push(stamped).map_err(|e| e.to_string())
                        }
                        // The model cannot follow a record it has no type for.
                        AnyRecord::Loose(loose, why) => Err(format!("seq {}: {why}", loose.seq)),
                    };
                    if let Err(why) = pushed {
                        state_stopped = Some(why);
                        state = None;
                    }
                }
                match record {
                    AnyRecord::Typed(stamped) => {
                        Observer::on_record(&mut stats, stamped.seq, at, &stamped.record)
                    }
                    AnyRecord::Loose(loose, _) => stats.on_loose(loose),
                }
                last_at = last_at.max(at);
            }
        }
        reading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    if let Some(e) = failure {
        return Err(bad(e));
    }
    let (active, talking) = state.as_ref().map_or((0, 0), |r| {
        let p = r.platform();
        (p.active_conferences() as u64, p.talking_agents() as u64)
    });

    // Every byte was hashed as it was read. A torn tail is not part of the journal, so the
    // digest of a torn file is taken again over its complete lines (streamed: a rare case).
    let (digest, journal_bytes) = match &torn {
        None => (hasher.finalize().to_hex().to_string(), hasher.count()),
        Some(tail) => {
            let len = std::fs::metadata(file).map_err(io)?.len();
            let complete = len.saturating_sub(tail.bytes as u64);
            let mut again = blake3::Hasher::new();
            let mut prefix = std::fs::File::open(file).map_err(io)?.take(complete);
            std::io::copy(&mut prefix, &mut again).map_err(io)?;
            (again.finalize().to_hex().to_string(), complete)
        }
    };
    let end = End {
        last_at,
        active,
        talking,
    };
    let report = assemble(
        file,
        &header,
        &stats,
        timeline,
        end,
        digest,
        journal_bytes,
        stopwatch,
    );
    Ok(JournalReport {
        report,
        torn,
        state_stopped,
        derived: Derived::Fold,
    })
}

/// The report from what either way found.
#[allow(clippy::too_many_arguments)]
fn assemble(
    file: &Path,
    header: &Header,
    stats: &Stats,
    mut timeline: Timeline,
    end: End,
    digest: String,
    journal_bytes: u64,
    stopwatch: &Stopwatch,
) -> Report {
    timeline.finish(end.last_at, end.active, end.talking);
    let wall_secs = stopwatch.elapsed().as_secs_f64();
    let per_sec = |n: u64| {
        if wall_secs > 0.0 {
            n as f64 / wall_secs
        } else {
            0.0
        }
    };
    let records = stats.inputs + stats.events;
    Report {
        scenario: header.scenario.clone(),
        seed: header.seed,
        clock: "journal".to_owned(),
        speed: None,
        digest,
        journal: Some(file.display().to_string()),
        inputs: stats.inputs,
        events: stats.events,
        records,
        journal_bytes,
        sim_time_ms: end.last_at.since(header.start).as_millis(),
        wall_time_ms: wall_secs * 1000.0,
        events_per_sec: per_sec(stats.events),
        records_per_sec: per_sec(records),
        counts: stats.counts_by_name(),
        retcodes: stats.retcodes(),
        dropped_arrivals: 0,
        load: Vec::new(),
        latency_ms: Latency {
            request_to_success: Percentiles::of(&stats.request_to_success),
            timer_lateness: None,
        },
        fell_behind: None,
        active_conferences_at_end: end.active,
        peak_memory_bytes: peak_memory_bytes(),
        expectations: Vec::new(),
        ok: true,
        timeline_interval_ms: timeline.interval_ms(),
        timeline: timeline.points().to_vec(),
        latency_buckets: buckets(&stats.request_to_success, LATENCY_BARS),
    }
}
