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
use confsim_journal::{JournalError, JournalReader, Stamped, TornTail};
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

/// The report of the journal in `file`. Two threads share the work, as in a run: one reads,
/// hashes and parses the file, the other folds the records and keeps the statistics.
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
    let hashing = Hashing {
        inner: opened,
        hasher: blake3::Hasher::new(),
    };
    let mut reader = JournalReader::new(BufReader::with_capacity(1 << 16, hashing)).map_err(bad)?;
    let header = reader.header().clone();
    let start = header.start;
    let mut stats = Stats::new([]).for_agents(header.agents.iter().flat_map(|g| g.ids.iter()));
    let mut state = Some(Rebuilder::new(&header));
    let mut state_stopped = None;
    let mut timeline = Timeline::new(start, None);
    let mut last_at = start;

    let (sender, batches) = std::sync::mpsc::sync_channel::<Vec<Stamped>>(BATCHES_AHEAD);
    let (torn, hasher, failure) = std::thread::scope(|scope| {
        let reading = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let mut failure = None;
            for stamped in reader.by_ref() {
                match stamped {
                    Ok(stamped) => batch.push(stamped),
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
            for stamped in &batch {
                if let Some(rebuilder) = &mut state {
                    if timeline.due(stamped.at) {
                        let p = rebuilder.platform();
                        timeline.sample_before(
                            stamped.at,
                            p.active_conferences() as u64,
                            p.talking_agents() as u64,
                        );
                    }
                    if let Err(why) = rebuilder.push(stamped) {
                        state_stopped = Some(why.to_string());
                        state = None;
                    }
                }
                Observer::on_record(&mut stats, stamped.seq, stamped.at, &stamped.record);
                last_at = last_at.max(stamped.at);
            }
        }
        reading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    if let Some(e) = failure {
        return Err(bad(e));
    }
    let (active_at_end, talking_at_end) = state.as_ref().map_or((0, 0), |r| {
        let p = r.platform();
        (p.active_conferences() as u64, p.talking_agents() as u64)
    });
    timeline.finish(last_at, active_at_end, talking_at_end);

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
