//! Runs a scenario: builds the engine from the scenario's platform and roster, schedules the
//! scripted steps as driver items, advances time through the chosen clock, and reports.

use crate::error::Result;
use crate::expect::{self, Verdict};
use crate::report::{Latency, Report};
use crate::scenario::Scenario;
use crate::stats::{Percentiles, Stats, ms_histogram};
use confsim_core::SimTime;
use confsim_engine::{Clock, Engine, Stopwatch, VirtualClock, WallClock};
use confsim_journal::Header;
use std::io::Write;

/// How simulated time passes.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ClockChoice {
    /// As fast as possible.
    Virtual,
    /// `speed` times faster than real time.
    Wall { speed: f64 },
}

/// Options of one run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    pub clock: ClockChoice,
    /// The journal's path, only for the report (the caller opens the writer).
    pub journal_name: Option<String>,
}

/// Where a run has got to, for a progress display.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Progress {
    /// Simulated time reached, from the start.
    pub sim_ms: u64,
    /// The simulated span the run will cover, when the scenario sets `until`.
    pub until_ms: Option<u64>,
    pub records: u64,
    pub wall_secs: f64,
}

/// How often (in engine steps) the runner reports progress.
const PROGRESS_EVERY: u64 = 1 << 14;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: None,
            clock: ClockChoice::Virtual,
            journal_name: None,
        }
    }
}

/// A wall-clock item that runs this late (real time) means the run could not keep up.
const BEHIND_MS: u64 = 100;

/// The journal header a scenario run writes.
pub fn header(scenario: &Scenario, seed: u64) -> Header {
    Header::new(
        scenario.name.clone(),
        seed,
        scenario.start,
        scenario.platform.clone(),
        scenario.agents.clone(),
    )
}

/// Runs `scenario`, journaling to `out`; returns the report and the writer.
pub fn run<W: Write>(scenario: &Scenario, options: &RunOptions, out: W) -> Result<(Report, W)> {
    run_with_progress(scenario, options, out, &mut |_| {})
}

/// As `run`, calling `progress` every few thousand steps.
pub fn run_with_progress<W: Write>(
    scenario: &Scenario,
    options: &RunOptions,
    out: W,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Report, W)> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let stopwatch = Stopwatch::start();
    let mut engine = Engine::new(&header(scenario, seed), out)?;
    let mut stats = Stats::new(scenario.expect.iter().filter_map(|e| e.agent()));

    // Steps run in order of `at`, and steps with the same `at` in file order (a stable sort).
    // The runner walks them with a cursor rather than queueing them all in the engine: the
    // engine's queue then holds only platform timers, which keeps it small and fast. At the
    // same instant a step runs before the platform timers due then, as it would if all steps
    // had been scheduled first.
    let mut order: Vec<usize> = (0..scenario.steps.len()).collect();
    order.sort_by_key(|i| scenario.steps[*i].at);
    let step_due = |k: usize| {
        order
            .get(k)
            .map(|i| scenario.start.saturating_add(scenario.steps[*i].at.0))
    };
    let mut cursor = 0usize;
    let until = scenario.until.map(|u| scenario.start.saturating_add(u.0));

    let mut wall = match options.clock {
        ClockChoice::Virtual => None,
        ClockChoice::Wall { speed } => Some(WallClock::start(scenario.start, speed)),
    };
    let mut virtual_clock = VirtualClock;
    let clock: &mut dyn Clock = match wall.as_mut() {
        Some(w) => w,
        None => &mut virtual_clock,
    };
    let clock_mode = clock.mode();
    let mut lateness = ms_histogram();
    let mut steps: u64 = 0;

    loop {
        let next_step = step_due(cursor);
        let next_timer = engine.next_deadline();
        let (deadline, is_step) = match (next_step, next_timer) {
            (None, None) => break,
            (Some(s), Some(t)) if s <= t => (s, true),
            (Some(s), None) => (s, true),
            (_, Some(t)) => (t, false),
        };
        if until.is_some_and(|u| deadline > u) {
            break;
        }
        if let Some(late) = clock.wait_until(deadline) {
            lateness.saturating_record(late.as_millis() as u64);
        }
        if is_step {
            engine.set_time(deadline)?;
            engine.submit(scenario.steps[order[cursor]].input(), &mut stats)?;
            cursor += 1;
        } else {
            engine.step(deadline, &mut stats)?;
        }
        steps += 1;
        if steps % PROGRESS_EVERY == 0 {
            let (inputs, events) = engine.counts();
            progress(Progress {
                sim_ms: engine.now().since(scenario.start).as_millis(),
                until_ms: scenario.until.map(|u| u.0.as_millis()),
                records: inputs + events,
                wall_secs: stopwatch.elapsed().as_secs_f64(),
            });
        }
    }
    if let Some(u) = until {
        engine.set_time(u.max(engine.now()))?;
    }
    let end: SimTime = engine.now();
    let active_at_end = engine.platform().active_conferences() as u64;
    let (summary, out, _platform) = engine.finish()?;
    let wall_secs = stopwatch.elapsed().as_secs_f64();

    let observed = stats.observed(scenario.start);
    let expectations: Vec<Verdict> = scenario
        .expect
        .iter()
        .map(|e| expect::check(e, &observed))
        .collect();
    let per_sec = |n: u64| {
        if wall_secs > 0.0 {
            n as f64 / wall_secs
        } else {
            0.0
        }
    };
    let timer_lateness = wall.as_ref().map(|_| Percentiles::of(&lateness));
    let report = Report {
        scenario: scenario.name.clone(),
        seed,
        clock: clock_mode.to_owned(),
        speed: wall.as_ref().map(WallClock::speed),
        digest: summary.digest,
        journal: options.journal_name.clone(),
        inputs: stats.inputs,
        events: stats.events,
        records: summary.records,
        journal_bytes: summary.bytes,
        sim_time_ms: end.since(scenario.start).as_millis(),
        wall_time_ms: wall_secs * 1000.0,
        events_per_sec: per_sec(stats.events),
        records_per_sec: per_sec(summary.records),
        counts: stats.counts_by_name(),
        retcodes: stats.retcodes.clone(),
        dropped_arrivals: 0,
        fell_behind: timer_lateness.as_ref().map(|t| t.max > BEHIND_MS),
        latency_ms: Latency {
            request_to_success: Percentiles::of(&stats.request_to_success),
            timer_lateness,
        },
        active_conferences_at_end: active_at_end,
        ok: expectations.iter().all(|v| v.ok),
        expectations,
    };
    Ok((report, out))
}
