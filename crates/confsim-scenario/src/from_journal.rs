//! The report of a journal after the fact (`confsim report`, product.md §10.2): the same
//! `Report` a run makes, computed from any journal's records (a run's, a `serve` session's).
//!
//! The figures a run's statistics read from records (counts, retcodes, the request-to-success
//! latency) come from the same `Stats`, fed the same records in the same order, so they equal
//! the run's own. The digest is BLAKE3 over the file's bytes, as the writer kept it. The
//! timeline and the conferences active at the end need the platform's state between records:
//! the journal is folded through the core as it streams by (`Rebuilder`), in memory that does
//! not grow with the journal. What a journal does not hold is not invented: there are no
//! `dropped_arrivals` (arrivals that found no agent journal nothing), no load figures and no
//! expectations.

use crate::error::{Result, ScenarioError};
use crate::report::{Latency, Report};
use crate::runner::{LATENCY_BARS, peak_memory_bytes};
use crate::stats::{Percentiles, Stats, buckets};
use crate::timeline::Timeline;
use confsim_engine::{Observer, Rebuilder, Stopwatch};
use confsim_journal::{JournalError, JournalReader, TornTail};
use std::cell::RefCell;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

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
}

/// Hashes every byte read through it, into a hasher the caller keeps (the journal reader
/// owns the reader and does not give it back).
struct Hashing<R> {
    inner: R,
    hasher: Rc<RefCell<blake3::Hasher>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.borrow_mut().update(&buf[..n]);
        Ok(n)
    }
}

/// The report of the journal in `file`.
pub fn report_journal(file: &Path) -> Result<JournalReport> {
    let io = |error| ScenarioError::Read {
        file: file.to_owned(),
        error,
    };
    let bad = |error: JournalError| ScenarioError::Journal {
        file: file.to_owned(),
        error,
    };
    let stopwatch = Stopwatch::start();
    let opened = std::fs::File::open(file).map_err(io)?;
    let hasher = Rc::new(RefCell::new(blake3::Hasher::new()));
    let hashing = Hashing {
        inner: opened,
        hasher: Rc::clone(&hasher),
    };
    let mut reader = JournalReader::new(BufReader::with_capacity(1 << 16, hashing)).map_err(bad)?;
    let header = reader.header().clone();
    let start = header.start;
    let mut stats = Stats::new([]).for_agents(header.agents.iter().flat_map(|g| g.ids.iter()));
    let mut state = Some(Rebuilder::new(&header));
    let mut state_stopped = None;
    let mut timeline = Timeline::new(start, None);
    let mut last_at = start;
    for stamped in reader.by_ref() {
        let stamped = stamped.map_err(bad)?;
        if let Some(rebuilder) = &mut state {
            if timeline.due(stamped.at) {
                let p = rebuilder.platform();
                timeline.sample_before(
                    stamped.at,
                    p.active_conferences() as u64,
                    p.talking_agents() as u64,
                );
            }
            if let Err(why) = rebuilder.push(&stamped) {
                state_stopped = Some(why.to_string());
                state = None;
            }
        }
        Observer::on_record(&mut stats, stamped.seq, stamped.at, &stamped.record);
        last_at = last_at.max(stamped.at);
    }
    let torn = reader.torn_tail().cloned();
    let (active_at_end, talking_at_end) = state.as_ref().map_or((0, 0), |r| {
        let p = r.platform();
        (p.active_conferences() as u64, p.talking_agents() as u64)
    });
    timeline.finish(last_at, active_at_end, talking_at_end);
    drop(reader);

    // Every byte was hashed as it was read. A torn tail is not part of the journal, so the
    // digest of a torn file is taken again over its complete lines (streamed: a rare case).
    let (digest, journal_bytes) = match &torn {
        None => {
            let hasher = hasher.borrow();
            (hasher.finalize().to_hex().to_string(), hasher.count())
        }
        Some(tail) => {
            let len = std::fs::metadata(file).map_err(io)?.len();
            let complete = len.saturating_sub(tail.bytes as u64);
            let mut again = blake3::Hasher::new();
            let mut prefix = std::fs::File::open(file).map_err(io)?.take(complete);
            std::io::copy(&mut prefix, &mut again).map_err(io)?;
            (again.finalize().to_hex().to_string(), complete)
        }
    };
    let wall_secs = stopwatch.elapsed().as_secs_f64();
    let per_sec = |n: u64| {
        if wall_secs > 0.0 {
            n as f64 / wall_secs
        } else {
            0.0
        }
    };
    let records = stats.inputs + stats.events;
    let report = Report {
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
        sim_time_ms: last_at.since(start).as_millis(),
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
        active_conferences_at_end: active_at_end,
        peak_memory_bytes: peak_memory_bytes(),
        expectations: Vec::new(),
        ok: true,
        timeline_interval_ms: timeline.interval_ms(),
        timeline: timeline.points().to_vec(),
        latency_buckets: buckets(&stats.request_to_success, LATENCY_BARS),
    };
    Ok(JournalReport {
        report,
        torn,
        state_stopped,
    })
}
