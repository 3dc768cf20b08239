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
use confsim_engine::{Engine, EngineError, Step, Stopwatch};
use confsim_journal::Header;
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
    let open = || {
        File::open(path)
            .map(|file| BufReader::with_capacity(READ_BUFFER, file))
            .map_err(|error| ReplayError::io(&name, error))
    };
    replay_with(&name, open()?, open()?, |header, comparator| {
        Engine::new_piped(header, comparator)
    })
}

/// Replays a journal held in memory; `name` names it in the outcome and in errors.
pub fn replay_bytes(name: &str, journal: &[u8]) -> Result<Outcome> {
    replay_readers(name, journal, journal)
}

/// Replays a journal given two independent readers of the same bytes: `lead` is read ahead of
/// the engine for the inputs, `follow` behind it for the comparison.
pub fn replay_readers<L: BufRead, F: BufRead>(name: &str, lead: L, follow: F) -> Result<Outcome> {
    replay_with(name, lead, follow, |header, comparator| {
        Engine::new(header, comparator)
    })
}

/// The replay, with the engine `make_engine` makes from the header and the comparison: inline for
/// any reader, piped for readers that can move to another thread.
fn replay_with<L: BufRead, F: BufRead>(
    name: &str,
    lead: L,
    follow: F,
    make_engine: impl FnOnce(&Header, Comparator<F>) -> Result<Engine<Comparator<F>>, EngineError>,
) -> Result<Outcome> {
    let stopwatch = Stopwatch::start();
    let journal_error = |error| ReplayError::journal(name, error);
    // The comparison never fails a write and times are clamped, so an engine error is a
    // broken invariant; it is still reported as an error, never a panic.
    let engine_error = |error: EngineError| ReplayError::Engine {
        journal: name.to_owned(),
        error,
    };

    let (mut lead, header) = Lead::new(lead).map_err(journal_error)?;
    let mut engine = make_engine(&header, Comparator::new(name, follow)).map_err(engine_error)?;
    let produced = |engine: &Engine<_>| {
        let (inputs, events) = engine.counts();
        inputs + events
    };

    while let Some(scanned) = lead.next().map_err(journal_error)? {
        let Scanned::Input { seq, at, input } = scanned else {
            // Events are the engine's to produce; the comparison checks them.
            continue;
        };
        while produced(&engine) + 1 < seq {
            if engine.step(at, &mut ()).map_err(engine_error)? == Step::Idle {
                break;
            }
        }
        // A recorded input earlier than the engine's time cannot come from any run (time only
        // moves forward); submitting it at the engine's time makes that a divergence rather
        // than an error, and the comparison shows its `at`.
        engine
            .set_time(at.max(engine.now()))
            .map_err(engine_error)?;
        engine.submit(input, &mut ()).map_err(engine_error)?;
    }

    // After the last input, what the timers imply up to the last recorded instant. Not beyond:
    // a journal ends where its run stopped (a scenario's `until`, a gateway shut down), and
    // timers due later had not fired.
    let end = lead
        .last_at()
        .map_err(journal_error)?
        .unwrap_or(header.start);
    while engine.step(end, &mut ()).map_err(engine_error)? != Step::Idle {}

    let (summary, comparator, _platform) = engine.finish().map_err(engine_error)?;
    let tally = comparator.finish()?;

    let records = lead.records();
    let wall_secs = stopwatch.elapsed().as_secs_f64();
    let verdict = if tally.differences == 0 {
        Verdict::Identical
    } else {
        Verdict::Diverged
    };
    Ok(Outcome {
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
        torn_tail: lead.torn_tail().map(|t| Torn {
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
    })
}
