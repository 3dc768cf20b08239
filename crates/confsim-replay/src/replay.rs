//! The replay of one journal (product.md §4.3): a fresh engine built from the header
//! re-executes the recorded inputs at their recorded simulated times, in virtual time, and
//! every line it journals is compared with the recorded line at the same position.
//!
//! The interleaving is the whole difficulty. Timer firings are not inputs: they are what the
//! inputs and the seed imply, so the replay fires them itself. What it must reproduce is where
//! each input fell among the timers due at the same instant, and the two drivers differ there:
//! the scenario runner submits a step *before* the timers due at its instant, while the gateway
//! records a request when it arrives, possibly *after* timers of that instant have fired. The
//! journal says which: an input recorded as `seq` s came after exactly s − 1 records. So before
//! the input at (s, T) the replay fires the timers due at or before T *while it has produced
//! fewer than s − 1 records*, and then submits. Both drivers' journals replay exactly, and
//! nothing about the driver needs to be written in the header.

use crate::compare::Comparator;
use crate::error::{ReplayError, Result};
use crate::outcome::{Outcome, Torn, Verdict};
use crate::scan::{Lead, Scanned};
use crate::tolerant::{CaptureOptions, compare_capture};
use confsim_core::{Input, Platform, SimTime};
use confsim_engine::{Engine, EngineError, Step, Stopwatch};
use confsim_journal::{
    BoxedTap, Header, JournalError, JournalReader, LooseJournal, RecordTap, TornTail,
    read_loose_file,
};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The read buffer of each of the two cursors over a journal file.
const READ_BUFFER: usize = 64 * 1024;

/// Replays the journal file at `path`.
///
/// The file is read by two cursors, each streaming it once: one ahead of the engine that finds
/// the inputs, and one behind it that the comparison reads. Memory stays the size of the
/// buffers, however long the journal or however far apart its inputs.
///
/// The replaying engine's journal is formatted and compared on a thread of its own (as a run
/// writes its journal: `Engine::new_piped`), so the engine's thread only reads the inputs and
/// re-executes: a replay keeps up with the run that wrote the file. The outcome is the same as
/// `replay_readers`' (the comparison sees the same bytes in the same order).
pub fn replay_file(path: &Path) -> Result<Outcome> {
    let name = path.display().to_string();
    let (lead, header, follow) = file_cursors(path, &name)?;
    replay_with(&name, lead, header, follow, Engine::new_piped, &mut ()).map(|(outcome, _)| outcome)
}

/// What a replay can be watched by, besides the comparison: `confsim report` makes a journal's
/// report from a replay the journal matches byte for byte, and its timeline needs the
/// platform's state between records, which only the engine's thread has.
pub trait Sampler {
    /// Whether `sample` has anything to record before an item due at `at`. Monotone in `at`
    /// (due at `t` means due at every later time), and cheap: it is asked before every item.
    fn due(&self, at: SimTime) -> bool;
    /// Called before the engine handles an item due at `at` when `due(at)`, with the platform
    /// as every earlier record left it.
    fn sample(&mut self, at: SimTime, platform: &Platform);
}

/// No sampling: a plain replay.
impl Sampler for () {
    #[inline]
    fn due(&self, _: SimTime) -> bool {
        false
    }
    fn sample(&mut self, _: SimTime, _: &Platform) {}
}

/// A replay watched by a `Sampler` on the engine's thread and a tap on the comparison's
/// (`replay_file_watched`), and what they saw.
#[derive(Debug)]
pub struct Watched<T> {
    pub outcome: Outcome,
    /// The tap, having seen every record the replay produced, in order.
    pub tap: T,
    /// The platform after the last record.
    pub platform: Platform,
    /// The recorded journal's last record's time (`None`: no records).
    pub last_at: Option<SimTime>,
}

/// As `replay_file`, with `tap` seeing every record the replay produces (on the thread that
/// compares them, so the engine's thread does not pay for it) and `sampler` consulted before
/// every item the engine handles. When the outcome is identical, with nothing reformatted, no
/// header normalized and no torn tail, the replay produced the file's bytes: what the tap saw
/// is exactly the journal's records, and the sampler the state between them.
pub fn replay_file_watched<T: RecordTap>(
    path: &Path,
    tap: T,
    sampler: &mut impl Sampler,
) -> Result<Watched<T>> {
    let name = path.display().to_string();
    let (lead, header, follow) = file_cursors(path, &name)?;
    let (outcome, end) = replay_with(
        &name,
        lead,
        header,
        follow,
        |header, comparator| Engine::new_piped_with_tap(header, comparator, Box::new(tap)),
        sampler,
    )?;
    // The tap given above comes back from the journal's thread; the error only keeps this
    // panic-free.
    let tap = end
        .tap
        .and_then(|tap| (tap as Box<dyn std::any::Any>).downcast::<T>().ok())
        .ok_or_else(|| ReplayError::Engine {
            journal: name.clone(),
            error: EngineError::Journal(JournalError::Write(std::io::Error::other(
                "the replay's tap did not come back from the comparison's thread",
            ))),
        })?;
    Ok(Watched {
        outcome,
        tap: *tap,
        platform: end.platform,
        last_at: end.last_at,
    })
}

/// The two cursors over the journal file at `path` (`name` in errors): the lead on its own
/// thread, with the header it read, and the reader the comparison follows.
fn file_cursors(path: &Path, name: &str) -> Result<(AheadThread, Header, BufReader<File>)> {
    let open = || {
        File::open(path)
            .map(|file| BufReader::with_capacity(READ_BUFFER, file))
            .map_err(|error| ReplayError::io(name, error))
    };
    let (lead, header) = Lead::new(open()?).map_err(|error| ReplayError::journal(name, error))?;
    Ok((AheadThread::start(lead), header, open()?))
}

/// What the engine ended with, beside the outcome.
struct EngineEnd {
    platform: Platform,
    tap: Option<BoxedTap>,
    last_at: Option<SimTime>,
}

/// Replays a journal held in memory; `name` names it in the outcome and in errors.
pub fn replay_bytes(name: &str, journal: &[u8]) -> Result<Outcome> {
    replay_readers(name, journal, journal)
}

/// Replays a journal given two independent readers of the same bytes: `lead` is read ahead of
/// the engine for the inputs, `follow` behind it for the comparison.
pub fn replay_readers<L: BufRead, F: BufRead>(name: &str, lead: L, follow: F) -> Result<Outcome> {
    let (lead, header) = Lead::new(lead).map_err(|error| ReplayError::journal(name, error))?;
    replay_with(name, lead, header, follow, Engine::new, &mut ()).map(|(outcome, _)| outcome)
}

/// What the lead cursor tells the replay: the recorded inputs in order, then how the journal
/// ended.
trait Inputs {
    /// The next recorded input: its `seq`, its time and the input.
    fn next_input(&mut self) -> Result<Option<(u64, SimTime, Input)>, JournalError>;
    /// Once `next_input` has returned `None`: the records, the last one's time, a torn tail.
    fn end(self) -> Result<LeadEnd, JournalError>;
    /// The inputs already read that `next_input` will return next, as far as they are at hand
    /// (for hints; may be none).
    fn ahead(&self) -> &[(u64, SimTime, Input)] {
        &[]
    }
}

/// Hints (see `confsim_core::hint`) for the next two inputs, as the runner names its next
/// steps': the agent of the one after next, and the conference of the next one's agent (which
/// the previous call named). A replay reads inputs of agents and conferences anywhere in the
/// state, and several timers fire between two inputs: time for memory to arrive.
fn prefetch_inputs(platform: &Platform, ahead: &[(u64, SimTime, Input)]) {
    if !platform.hints_pay() {
        return;
    }
    let range = platform.config().agent_id_range;
    let agent = |i: usize| {
        ahead
            .get(i)
            .and_then(|(_, _, input)| range.parse_path_id(&input.agent))
    };
    if let Some(id) = agent(1) {
        platform.prefetch_agent(id);
    }
    if let Some(id) = agent(0) {
        platform.prefetch_conf_of(id);
    }
}

/// How the recorded journal ended.
#[derive(Debug)]
struct LeadEnd {
    records: u64,
    last_at: Option<SimTime>,
    torn_tail: Option<TornTail>,
}

impl<R: BufRead> Inputs for Lead<R> {
    fn next_input(&mut self) -> Result<Option<(u64, SimTime, Input)>, JournalError> {
        loop {
            match self.next()? {
                None => return Ok(None),
                // Events are the engine's to produce; the comparison checks them.
                Some(Scanned::Event) => {}
                Some(Scanned::Input { seq, at, input }) => return Ok(Some((seq, at, input))),
            }
        }
    }

    fn end(self) -> Result<LeadEnd, JournalError> {
        Ok(LeadEnd {
            records: self.records(),
            last_at: self.last_at()?,
            torn_tail: self.torn_tail().cloned(),
        })
    }
}

/// Inputs in a batch handed from the lead thread.
const AHEAD_BATCH: usize = 256;
/// Batches in flight at most: the lead runs at most this far ahead, so memory stays bounded.
const AHEAD_QUEUED: usize = 4;

enum Ahead {
    Inputs(Vec<(u64, SimTime, Input)>),
    End(Result<LeadEnd, JournalError>),
}

/// The lead cursor on a thread of its own, for a file: scanning every line for the inputs
/// (a fifth of a load journal) was a quarter of a replay's engine thread. The inputs come in
/// order, in bounded batches; a journal error comes after the inputs before it, as the inline
/// cursor would meet it.
struct AheadThread {
    rx: std::sync::mpsc::Receiver<Ahead>,
    batch: std::vec::IntoIter<(u64, SimTime, Input)>,
    end: Option<Result<LeadEnd, JournalError>>,
}

impl AheadThread {
    fn start<R: BufRead + Send + 'static>(mut lead: Lead<R>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(AHEAD_QUEUED);
        // If the replay stops early (its receiver dropped), the sends fail and the thread ends.
        std::thread::spawn(move || {
            let mut batch = Vec::with_capacity(AHEAD_BATCH);
            loop {
                match lead.next_input() {
                    Ok(Some(input)) => {
                        batch.push(input);
                        if batch.len() == AHEAD_BATCH {
                            let full =
                                std::mem::replace(&mut batch, Vec::with_capacity(AHEAD_BATCH));
                            if tx.send(Ahead::Inputs(full)).is_err() {
                                return;
                            }
                        }
                    }
                    Ok(None) => {
                        let _ = tx.send(Ahead::Inputs(batch));
                        let _ = tx.send(Ahead::End(lead.end()));
                        return;
                    }
                    Err(error) => {
                        let _ = tx.send(Ahead::Inputs(batch));
                        let _ = tx.send(Ahead::End(Err(error)));
                        return;
                    }
                }
            }
        });
        AheadThread {
            rx,
            batch: Vec::new().into_iter(),
            end: None,
        }
    }
}

impl Inputs for AheadThread {
    fn next_input(&mut self) -> Result<Option<(u64, SimTime, Input)>, JournalError> {
        loop {
            if let Some(input) = self.batch.next() {
                return Ok(Some(input));
            }
            // The end reached: no more inputs, or the journal's error (returned once, as the
            // inline cursor returns it, and the replay stops there).
            if matches!(self.end, Some(Err(_)))
                && let Some(Err(error)) = self.end.take()
            {
                return Err(error);
            }
            if self.end.is_some() {
                return Ok(None);
            }
            match self.rx.recv() {
                Ok(Ahead::Inputs(batch)) => self.batch = batch.into_iter(),
                Ok(Ahead::End(end)) => self.end = Some(end),
                Err(_) => {
                    return Err(JournalError::Write(std::io::Error::other(
                        "the journal's reading thread stopped",
                    )));
                }
            }
        }
    }

    fn ahead(&self) -> &[(u64, SimTime, Input)] {
        self.batch.as_slice()
    }

    fn end(mut self) -> Result<LeadEnd, JournalError> {
        while self.end.is_none() {
            if self.next_input()?.is_none() {
                break;
            }
        }
        self.end.take().unwrap_or_else(|| {
            Err(JournalError::Write(std::io::Error::other(
                "the journal's reading thread stopped",
            )))
        })
    }
}

/// The replay, with the engine `make_engine` makes from the header and the comparison: inline for
/// any reader, piped for readers that can move to another thread.
fn replay_with<F: BufRead>(
    name: &str,
    mut lead: impl Inputs,
    header: Header,
    follow: F,
    make_engine: impl FnOnce(&Header, Comparator<F>) -> Result<Engine<Comparator<F>>, EngineError>,
    sampler: &mut impl Sampler,
) -> Result<(Outcome, EngineEnd)> {
    let stopwatch = Stopwatch::start();
    let journal_error = |error| ReplayError::journal(name, error);
    // The comparison never fails a write and times are clamped, so an engine error is a
    // broken invariant; it is still reported as an error, never a panic.
    let engine_error = |error: EngineError| ReplayError::Engine {
        journal: name.to_owned(),
        error,
    };

    let mut engine = make_engine(&header, Comparator::new(name, follow)).map_err(engine_error)?;
    let produced = |engine: &Engine<_>| {
        let (inputs, events) = engine.counts();
        inputs + events
    };

    while let Some((seq, at, input)) = lead.next_input().map_err(journal_error)? {
        prefetch_inputs(engine.platform(), lead.ahead());
        while produced(&engine) + 1 < seq {
            sample_timer(&mut engine, at, sampler);
            if engine.step(at, &mut ()).map_err(engine_error)? == Step::Idle {
                break;
            }
        }
        // A recorded input earlier than the engine's time cannot come from any run (time only
        // moves forward); submitting it at the engine's time makes that a divergence rather
        // than an error, and the comparison shows its `at`.
        let at = at.max(engine.now());
        if sampler.due(at) {
            sampler.sample(at, engine.platform());
        }
        engine.set_time(at).map_err(engine_error)?;
        engine.submit(input, &mut ()).map_err(engine_error)?;
    }

    // After the last input, what the timers imply up to the last recorded instant. Not beyond:
    // a journal ends where its run stopped (a scenario's `until`, a gateway shut down), and
    // timers due later had not fired.
    let lead = lead.end().map_err(journal_error)?;
    let end = lead.last_at.unwrap_or(header.start);
    loop {
        sample_timer(&mut engine, end, sampler);
        if engine.step(end, &mut ()).map_err(engine_error)? == Step::Idle {
            break;
        }
    }

    let (summary, comparator, platform, tap) = engine.finish_with_tap().map_err(engine_error)?;
    let tally = comparator.finish()?;

    let records = lead.records;
    let wall_secs = stopwatch.elapsed().as_secs_f64();
    let verdict = if tally.differences == 0 {
        Verdict::Identical
    } else {
        Verdict::Diverged
    };
    let outcome = Outcome {
        journal: name.to_owned(),
        verdict,
        ok: verdict == Verdict::Identical,
        scenario: header.scenario,
        seed: header.seed,
        records,
        replayed: summary.records,
        differences: tally.differences,
        further_differences: tally.differences.saturating_sub(1),
        first_divergence: tally.first,
        reformatted: tally.reformatted,
        torn_tail: lead.torn_tail.map(|t| Torn {
            line: t.line,
            bytes: t.bytes,
        }),
        header_normalized: tally.header_normalized,
        replayed_after_torn_tail: tally.after_torn_tail,
        digest: summary.digest,
        wall_time_ms: wall_secs * 1000.0,
        records_per_sec: if wall_secs > 0.0 {
            records as f64 / wall_secs
        } else {
            0.0
        },
        capture: None,
    };
    let end = EngineEnd {
        platform,
        tap,
        last_at: lead.last_at,
    };
    Ok((outcome, end))
}

/// Before a step with limit `limit`: the sampler's turn if the timer the step would fire (the
/// next deadline, when at or before the limit) is due for a sample. The deadline is looked up
/// only when a sample could be due by the limit, so an unsampled replay never pays for it.
#[inline]
fn sample_timer<W: std::io::Write>(
    engine: &mut Engine<W>,
    limit: SimTime,
    sampler: &mut impl Sampler,
) {
    if !sampler.due(limit) {
        return;
    }
    if let Some(due) = engine.next_deadline()
        && due <= limit
        && sampler.due(due)
    {
        sampler.sample(due, engine.platform());
    }
}

/// Replays the journal file at `path`: a capture (its header's `source.kind` is `capture`)
/// as [`replay_capture`] does, with `options`; any other journal byte for byte
/// ([`replay_file`]), which `options` do not change.
pub fn replay_file_with(path: &Path, options: &CaptureOptions) -> Result<Outcome> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|error| ReplayError::io(&name, error))?;
    let capture = JournalReader::new(BufReader::with_capacity(READ_BUFFER, file))
        .map_err(|error| ReplayError::journal(&name, error))?
        .header()
        .is_capture();
    if !capture {
        return replay_file(path);
    }
    let journal = read_loose_file(path).map_err(|error| ReplayError::journal(&name, error))?;
    replay_capture(&name, &journal, options)
}

/// Replays a capture read loosely, comparing what a model can match (`tolerant.rs`); `name`
/// names it in the outcome and in errors.
pub fn replay_capture(
    name: &str,
    journal: &LooseJournal,
    options: &CaptureOptions,
) -> Result<Outcome> {
    let stopwatch = Stopwatch::start();
    let compared = compare_capture(journal, options).map_err(|error| ReplayError::Engine {
        journal: name.to_owned(),
        error,
    })?;
    let records = journal.records.len() as u64;
    let differences = compared.comparison.divergences.total();
    let verdict = if differences == 0 {
        Verdict::Identical
    } else {
        Verdict::Diverged
    };
    let wall_secs = stopwatch.elapsed().as_secs_f64();
    Ok(Outcome {
        journal: name.to_owned(),
        verdict,
        ok: verdict == Verdict::Identical,
        scenario: journal.header.scenario.clone(),
        seed: journal.header.seed,
        records,
        replayed: compared.produced,
        differences,
        further_differences: differences.saturating_sub(1),
        first_divergence: compared.first,
        reformatted: 0,
        torn_tail: journal.torn.as_ref().map(|t| Torn {
            line: t.line,
            bytes: t.bytes,
        }),
        header_normalized: None,
        replayed_after_torn_tail: 0,
        digest: compared.digest,
        wall_time_ms: wall_secs * 1000.0,
        records_per_sec: if wall_secs > 0.0 {
            records as f64 / wall_secs
        } else {
            0.0
        },
        capture: Some(compared.comparison),
    })
}
