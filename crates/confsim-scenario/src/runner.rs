//! Runs a scenario: builds the engine from the scenario's platform and roster, merges three
//! sources of work in (time, kind, sequence) order (the scripted steps, the load generators'
//! wake-ups, the platform's timers), advances time through the chosen clock, and reports.
//!
//! Determinism does not depend on the clock: the clock only decides how long the runner waits
//! before each item, never which item comes next or what it does. That is why a wall-clock run
//! and a virtual run of the same scenario and seed journal the same bytes.

use crate::error::Result;
use crate::expect::{self, Verdict};
use crate::load::{LoadDriver, Touch, TouchSink};
use crate::report::{BEHIND_MS, Latency, Report};
use crate::scenario::{Dur, Scenario};
use crate::stats::{Percentiles, Stats, buckets, ms_histogram};
use crate::timeline::Timeline;
use confsim_core::record::{InputRecord, Record};
use confsim_core::{AgentId, AgentText, ConfId, Content, EventType, Input, Op, SimTime};
use confsim_engine::{Clock, Engine, EngineError, Observer, Stopwatch, VirtualClock, WallClock};
use confsim_journal::{Header, JournalError};
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

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
    pub events: u64,
    pub wall_secs: f64,
}

/// How often (real time) the runner reports progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// On the virtual clock, how many items between looks at the stopwatch.
const PROGRESS_CHECK_ITEMS: u64 = 1 << 10;
/// Bars in the HTML page's latency histogram.
pub(crate) const LATENCY_BARS: u64 = 40;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            seed: None,
            clock: ClockChoice::Virtual,
            journal_name: None,
        }
    }
}

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

/// What the runner watches on the engine's thread as records are journaled: (with load
/// generators) the touches the generators absorb. The statistics are not here: they are kept
/// on the journal's thread (see `run_with_progress`).
#[derive(Debug)]
struct RunObserver {
    touches: Vec<Touch>,
    collect_touches: bool,
    /// The next input's path id and the agent the driver made it from (see
    /// `TouchSink::submitting`).
    submitting: Option<(AgentText, AgentId)>,
}

impl Observer for RunObserver {
    /// The usual record, an event, is a type test and at most a push; inputs are out of line.
    #[inline]
    fn on_record(&mut self, _seq: u64, _at: SimTime, record: &Record) {
        if !self.collect_touches {
            return;
        }
        match record {
            Record::Event(event) => {
                let success = match (event.ty, &event.content) {
                    (EventType::AgentConfRequestSuccess, Content::Conf(id)) => Some(*id),
                    _ => None,
                };
                self.touch(event.agent, success);
            }
            Record::Input(input) => self.on_input(input),
        }
    }
}

impl RunObserver {
    /// Adds a touch, unless it repeats the last one's agent without a success: `absorb` would
    /// skip it (the agent's state after the engine call is the same for both), so it is not
    /// stored at all.
    #[inline]
    fn touch(&mut self, agent: AgentId, success: Option<ConfId>) {
        if success.is_none() && self.touches.last().is_some_and(|t| t.agent == agent) {
            return;
        }
        self.touches.push(Touch { agent, success });
    }

    #[inline(never)]
    fn on_input(&mut self, input: &InputRecord) {
        // A chair's invitation, removal or transfer changes other agents at once (an invitee
        // counts as in the conference from the invitation): touch them too.
        for agent in named_agents(input.op, &input.body) {
            self.touch(agent, None);
        }
        // The path id as sent; one that is not a number names no agent and changes nothing.
        // A load generator's input comes with its agent already: its name is the string the
        // driver announced (the same allocation), so nothing needs parsing.
        let agent = match self.submitting.take() {
            Some((announced, agent)) if announced == input.agent => Some(agent),
            _ => input.agent.parse().ok().map(AgentId),
        };
        if let Some(agent) = agent {
            self.touch(agent, None);
        }
    }
}

/// The agents an input's body names, for the operations that change those agents' state:
/// `addresses[]` of type `"9"` (an agent id) of `batchAddParticipant` and
/// `batchRemoveParticipant`, and `destAgentNo` of `applyToShiftPresident`. Whatever does not
/// read as an agent id is skipped: the platform has answered it already.
fn named_agents(op: Op, body: &Value) -> Vec<AgentId> {
    let id = |v: &Value| match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    match op {
        Op::BatchAddParticipant | Op::BatchRemoveParticipant => body
            .get("addresses")
            .and_then(Value::as_array)
            .map(|addresses| {
                addresses
                    .iter()
                    .filter(|a| a.get("addressType").and_then(Value::as_str) == Some("9"))
                    .filter_map(|a| a.get("address").and_then(id).map(AgentId))
                    .collect()
            })
            .unwrap_or_default(),
        Op::ApplyToShiftPresident => body
            .get("destAgentNo")
            .and_then(id)
            .map(AgentId)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

impl TouchSink for RunObserver {
    fn touches(&mut self) -> &mut Vec<Touch> {
        &mut self.touches
    }

    fn submitting(&mut self, name: &AgentText, agent: AgentId) {
        self.submitting = Some((name.clone(), agent));
    }
}

/// The kinds of work, in the order they run at the same instant: a scripted step, then a load
/// generator's wake-up, then a platform timer (driver work before timers).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    Step,
    Wake,
    Timer,
}

/// The next item: the earliest of the three sources, and at the same instant a step before a
/// wake-up before a timer (the order of `Next`). Plain comparisons rather than the minimum of
/// an array of candidates, written out rather than looped: the runner asks several hundred
/// thousand times a simulated hour.
#[inline]
fn earliest(
    step: Option<SimTime>,
    wake: Option<SimTime>,
    timer: Option<SimTime>,
) -> Option<(SimTime, Next)> {
    let mut best = step.map(|at| (at, Next::Step));
    if let Some(at) = wake
        && best.is_none_or(|(b, _)| at < b)
    {
        best = Some((at, Next::Wake));
    }
    if let Some(at) = timer
        && best.is_none_or(|(b, _)| at < b)
    {
        best = Some((at, Next::Timer));
    }
    best
}

/// The scripted steps as inputs, in the order they run: by `at`, and steps with the same `at`
/// in file order (a stable sort). Made once, before the run, so running a step reads the next
/// entry of one vector instead of a step somewhere in the scenario (at 60,000 agents the steps
/// are tens of megabytes, visited in time order, not file order), and so equal bodies share
/// one value (`Arc`): no copy of a body per input, and the
/// platform, which remembers the last `requestAgentConf` body it checked by its allocation,
/// checks a body that many steps send once.
fn script(scenario: &Scenario) -> Vec<Scripted> {
    // The last few distinct bodies: a script repeats a handful of bodies (per operation), and
    // comparing a small value costs less than copying it.
    let mut bodies: Vec<Arc<Value>> = Vec::new();
    const BODIES: usize = 16;
    // Made in file order, then sorted: the steps' strings and bodies are read where they lie,
    // front to back, and the sort moves inputs that carry their own key. (Sorting references
    // to the steps by `at` and then making the inputs in time order read every step at random,
    // twice: at 60,000 agents that was a tenth of the run.)
    let range = scenario.platform.agent_id_range;
    let mut inputs: Vec<(Dur, Option<AgentId>, Input)> = scenario
        .steps
        .iter()
        .map(|step| {
            let agent = AgentText::new(&step.agent.0);
            let body = match bodies.iter().find(|b| same_json(b, &step.body)) {
                Some(shared) => Arc::clone(shared),
                None => {
                    let body = Arc::new(step.body.clone());
                    if bodies.len() == BODIES {
                        bodies.remove(0);
                    }
                    bodies.push(Arc::clone(&body));
                    body
                }
            };
            let id = range.parse_path_id(&agent);
            (step.at, id, Input::new(step.op, agent, body))
        })
        .collect();
    // Stable: steps with the same `at` keep their file order.
    inputs.sort_by_key(|(at, _, _)| *at);
    inputs
        .into_iter()
        .map(|(at, agent, input)| Scripted {
            at: scenario.start.saturating_add(at.0),
            agent,
            input,
        })
        .collect()
}

/// A scripted step, ready to run.
#[derive(Debug)]
struct Scripted {
    at: SimTime,
    /// The step's agent, when its path id is one: read ahead of the step to name the agent to
    /// the processor's cache (`Platform::prefetch_agent`) without reading the id's text,
    /// which is itself somewhere in memory.
    agent: Option<AgentId>,
    input: Input,
}

/// Hints for the next three steps' state (see `confsim_core::hint`): at 60,000 agents a
/// step's agent and conference are rarely in the cache, and steps are several records apart,
/// time enough for memory to arrive. Each stage reads what the one before named: the third
/// step: its agent's index entry. The second: its agent. The next: its conference, found
/// through its agent. (The step's agent id's text, which `decide` parses, is in the step.)
fn prefetch_steps(platform: &confsim_core::Platform, ahead: &[Scripted]) {
    if !platform.hints_pay() {
        return;
    }
    if let Some(id) = ahead.get(2).and_then(|step| step.agent) {
        platform.prefetch_agent_index(id);
    }
    if let Some(id) = ahead.get(1).and_then(|step| step.agent) {
        platform.prefetch_agent(id);
    }
    if let Some(next) = ahead.first() {
        if let Some(id) = next.agent {
            platform.prefetch_conf_of(id);
        }
    }
}

/// Equal values written the same: objects' keys in the same order too (the journal writes a
/// body's keys in its order, and `Value`'s own equality ignores it).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same_json(vx, vy))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(vx, vy)| same_json(vx, vy))
        }
        _ => a == b,
    }
}

/// Runs `scenario`, journaling to `out`; returns the report and the writer.
pub fn run<W: Write + Send + 'static>(
    scenario: &Scenario,
    options: &RunOptions,
    out: W,
) -> Result<(Report, W)> {
    run_with_progress(scenario, options, out, &mut |_| {})
}

/// As `run`, calling `progress` about ten times a second of real time.
pub fn run_with_progress<W: Write + Send + 'static>(
    scenario: &Scenario,
    options: &RunOptions,
    out: W,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Report, W)> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let stopwatch = Stopwatch::start();
    // The journal is written on a thread of its own: a run uses both cores. The statistics
    // ride along on that thread (a tap, handed back at the end): they are read only for the
    // report, and the engine's thread is the busier one.
    let stats = Stats::new(scenario.expect.iter().filter_map(|e| e.agent()))
        .for_agents(scenario.agents.iter().flat_map(|group| group.ids.iter()));
    let mut engine = Engine::new_piped_with_tap(&header(scenario, seed), out, Box::new(stats))?;
    let mut load = LoadDriver::new(scenario, seed, engine.platform());
    let mut observer = RunObserver {
        touches: Vec::new(),
        collect_touches: !load.is_empty(),
        submitting: None,
    };

    // Steps run in order of `at`, and steps with the same `at` in file order (a stable sort).
    // The runner walks them with a cursor rather than queueing them all in the engine: the
    // engine's queue then holds only platform timers, which keeps it small and fast.
    let mut script = script(scenario).into_iter();
    let step_due = |rest: &[Scripted]| rest.first().map(|step| step.at);
    // The next step's due time, kept rather than looked up again before every item: it changes
    // only when a step runs.
    let mut next_step = step_due(script.as_slice());
    let until = scenario.until.map(|u| scenario.start.saturating_add(u.0));
    let mut timeline = Timeline::new(scenario.start, scenario.until.map(|u| u.0));

    let mut wall = match options.clock {
        ClockChoice::Virtual => None,
        ClockChoice::Wall { speed } => Some(WallClock::start(scenario.start, speed)),
    };
    let mut virtual_clock = VirtualClock;
    let on_wall = wall.is_some();
    let clock: &mut dyn Clock = match wall.as_mut() {
        Some(w) => w,
        None => &mut virtual_clock,
    };
    let clock_mode = clock.mode();
    let mut lateness = ms_histogram();
    let mut items: u64 = 0;
    let mut next_progress = PROGRESS_EVERY;

    while let Some((deadline, next)) = earliest(next_step, load.next_due(), engine.next_deadline())
    {
        if until.is_some_and(|u| deadline > u) {
            break;
        }
        if timeline.due(deadline) {
            let p = engine.platform();
            timeline.sample_before(
                deadline,
                p.active_conferences() as u64,
                p.talking_agents() as u64,
            );
        }
        // The virtual clock never waits: no call to ask it, several hundred thousand times a
        // simulated hour.
        if on_wall && let Some(late) = clock.wait_until(deadline) {
            lateness.saturating_record(late.as_millis() as u64);
        }
        match next {
            Next::Step => {
                engine.set_time(deadline)?;
                if let Some(step) = script.next() {
                    prefetch_steps(engine.platform(), script.as_slice());
                    engine.submit(step.input, &mut observer)?;
                }
                next_step = step_due(script.as_slice());
            }
            Next::Wake => {
                engine.set_time(deadline)?;
                load.run_next(&mut engine, &mut observer)?;
            }
            Next::Timer => {
                engine.step(deadline, &mut observer)?;
            }
        }
        if !observer.touches.is_empty() {
            load.absorb(engine.platform(), engine.now(), &mut observer.touches);
        }
        items += 1;
        if (on_wall || items % PROGRESS_CHECK_ITEMS == 0) && stopwatch.elapsed() >= next_progress {
            next_progress = stopwatch.elapsed() + PROGRESS_EVERY;
            let (inputs, events) = engine.counts();
            progress(Progress {
                sim_ms: engine.now().since(scenario.start).as_millis(),
                until_ms: scenario.until.map(|u| u.0.as_millis()),
                records: inputs + events,
                events,
                wall_secs: stopwatch.elapsed().as_secs_f64(),
            });
        }
    }
    if let Some(u) = until {
        engine.set_time(u.max(engine.now()))?;
    }
    let end: SimTime = engine.now();
    let active_at_end = engine.platform().active_conferences() as u64;
    timeline.finish(
        end,
        active_at_end,
        engine.platform().talking_agents() as u64,
    );
    let dropped_arrivals = load.dropped();
    let load_figures = load.figures();
    drop(load);
    let (summary, out, _platform, tap) = engine.finish_with_tap()?;
    let wall_secs = stopwatch.elapsed().as_secs_f64();

    // The tap given above, so always the statistics; the error only keeps this panic-free.
    let stats = tap
        .and_then(|tap| (tap as Box<dyn std::any::Any>).downcast::<Stats>().ok())
        .ok_or_else(|| {
            EngineError::Journal(JournalError::Write(std::io::Error::other(
                "the run's statistics did not come back from the journal's thread",
            )))
        })?;
    let stats = &*stats;
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
        retcodes: stats.retcodes(),
        dropped_arrivals,
        load: load_figures,
        fell_behind: timer_lateness.as_ref().map(|t| t.max > BEHIND_MS),
        latency_ms: Latency {
            request_to_success: Percentiles::of(&stats.request_to_success),
            timer_lateness,
        },
        active_conferences_at_end: active_at_end,
        peak_memory_bytes: peak_memory_bytes(),
        ok: expectations.iter().all(|v| v.ok),
        expectations,
        timeline_interval_ms: timeline.interval_ms(),
        timeline: timeline.points().to_vec(),
        latency_buckets: buckets(&stats.request_to_success, LATENCY_BARS),
    };
    Ok((report, out))
}

/// The process's peak resident set size, from `/proc/self/status` (`VmHWM: 123456 kB`); `None`
/// where there is no such file. It covers the whole process, so a second run in the same process
/// (`--check-determinism`) reports the peak of both.
pub(crate) fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Bodies are shared only when they would be written the same, key order included.
    #[test]
    fn bodies_are_the_same_only_when_written_the_same() {
        let a = json!({"memberNum": 4, "time": 60, "list": [1, {"x": null}]});
        assert!(same_json(&a, &a.clone()));
        let reordered: Value =
            serde_json::from_str(r#"{"time": 60, "memberNum": 4, "list": [1, {"x": null}]}"#)
                .unwrap_or_default();
        assert_eq!(a, reordered, "equal as values");
        assert!(!same_json(&a, &reordered), "but written in another order");
        assert!(!same_json(&json!({"n": 4}), &json!({"n": 4.0})));
        assert!(!same_json(&json!([1, 2]), &json!([1, 2, 3])));
        assert!(same_json(&Value::Null, &Value::Null));
    }

    /// The script runs steps by `at`, equal times in file order, each with its own agent and
    /// body; equal bodies are one shared value.
    #[test]
    fn the_script_orders_steps_and_shares_equal_bodies() {
        let text = r#"{
            "name": "s", "seed": 1, "start": "2026-01-05T09:00:00Z",
            "agents": [{"ids": "101-103", "signedIn": true}],
            "steps": [
                {"at": "2s", "agent": "103", "op": "releaseAgentConf"},
                {"at": "1s", "agent": "101", "op": "requestAgentConf", "body": {"memberNum": 4}},
                {"at": "1s", "agent": "102", "op": "requestAgentConf", "body": {"memberNum": 4}},
                {"at": "0s", "agent": "103", "op": "requestAgentConf", "body": {"memberNum": 3}}
            ]
        }"#;
        let scenario = crate::scenario::parse(text, std::path::Path::new("s.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let script = script(&scenario);
        let agents: Vec<&str> = script.iter().map(|s| &*s.input.agent).collect();
        assert_eq!(agents, ["103", "101", "102", "103"]);
        let ids: Vec<Option<AgentId>> = script.iter().map(|s| s.agent).collect();
        assert_eq!(
            ids,
            [103, 101, 102, 103].map(|id| Some(AgentId(id))),
            "each step's agent id, parsed"
        );
        let offsets: Vec<i64> = script
            .iter()
            .map(|s| s.at.as_unix_ms() - scenario.start.as_unix_ms())
            .collect();
        assert_eq!(offsets, [0, 1_000, 1_000, 2_000]);
        assert!(Arc::ptr_eq(&script[1].input.body, &script[2].input.body));
        assert!(!Arc::ptr_eq(&script[0].input.body, &script[1].input.body));
        assert_eq!(*script[0].input.body, json!({"memberNum": 3}));
    }

    #[test]
    fn the_earliest_source_runs_first_and_steps_then_wakes_then_timers_at_one_instant() {
        let t = SimTime::from_unix_ms;
        assert_eq!(earliest(None, None, None), None);
        assert_eq!(
            earliest(Some(t(5)), Some(t(5)), Some(t(5))),
            Some((t(5), Next::Step))
        );
        assert_eq!(
            earliest(Some(t(6)), Some(t(5)), Some(t(5))),
            Some((t(5), Next::Wake))
        );
        assert_eq!(
            earliest(None, Some(t(6)), Some(t(5))),
            Some((t(5), Next::Timer))
        );
        assert_eq!(
            earliest(Some(t(4)), None, Some(t(5))),
            Some((t(4), Next::Step))
        );
        assert_eq!(earliest(None, Some(t(7)), None), Some((t(7), Next::Wake)));
        // Every combination agrees with the minimum of (time, kind).
        let times = [None, Some(t(1)), Some(t(2))];
        for step in times {
            for wake in times {
                for timer in times {
                    let min = [(step, Next::Step), (wake, Next::Wake), (timer, Next::Timer)]
                        .into_iter()
                        .filter_map(|(due, kind)| due.map(|d| (d, kind)))
                        .min();
                    assert_eq!(earliest(step, wake, timer), min);
                }
            }
        }
    }

    #[test]
    fn bodies_that_change_other_agents_name_them() {
        let body = json!({"addresses": [
            {"addressType": "9", "address": "2001"},
            {"addressType": "6", "address": "13800000001"},
            {"addressType": "9", "address": "x"},
            {"addressType": "9", "address": 2002}
        ]});
        assert_eq!(
            named_agents(Op::BatchAddParticipant, &body),
            vec![AgentId(2001), AgentId(2002)]
        );
        assert_eq!(
            named_agents(Op::ApplyToShiftPresident, &json!({"destAgentNo": 2003})),
            vec![AgentId(2003)]
        );
        assert!(named_agents(Op::ProlongTime, &json!({"prolongTime": 5})).is_empty());
        assert!(named_agents(Op::BatchAddParticipant, &json!(null)).is_empty());
    }
}
