//! Sweeps (`confsim sweep`, product.md §10.1): one scenario run over the cross product of
//! varied values, each cell with seeds 1..N, in virtual time, several runs at once on threads;
//! its files (`runs.csv`, `cells.csv`, `sweep.json`, `sweep.html`); slices of its runs for
//! other machines, and their merge.
//!
//! A varied value is set in the scenario's JSON at a path written as the parser's errors write
//! paths (`platform.vdn.maxConcurrentCalls`, `load[0].arrival.poisson.perSecond`), and the
//! result is parsed as any scenario is: a key the format does not have, or a value of the wrong
//! type, is the parser's own error, named with the `--vary` that caused it, before anything
//! runs.
//!
//! Determinism: runs are numbered in grid order (the first `--vary` outermost, its last
//! innermost, then seeds 1..N), each run's row is kept at its number whichever thread ran it,
//! and every file is a function of the rows in that order. So the files are the same bytes
//! whatever `--jobs` is, and the rows of slices, put back in order, are those of one whole run.

use crate::error::{Result, ScenarioError};
use crate::expect::{self, Expectation};
use crate::replications::{Summary, summarize, t_quantile_975};
use crate::runner::{RunOptions, run};
use crate::scenario::{Scenario, parse};
use crate::stats::Percentiles;
use confsim_engine::Stopwatch;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The `format` of a whole sweep's `sweep.json`, and of a slice's.
pub const FORMAT: &str = "confsim-sweep";
pub const SLICE_FORMAT: &str = "confsim-sweep-slice";
/// The version of both.
pub const VERSION: u32 = 1;

/// One `--vary PATH=V1,V2,...`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vary {
    pub path: String,
    pub values: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A path in the error messages' syntax: keys joined by `.`, array indexes in brackets.
fn parse_path(path: &str) -> std::result::Result<Vec<Segment>, String> {
    let bad = || {
        format!(
            "{path:?} is not a JSON path such as platform.vdn.maxConcurrentCalls or load[0].arrival.poisson.perSecond"
        )
    };
    let mut out = Vec::new();
    let mut rest = path;
    loop {
        let end = rest.find(['.', '[', ']']).unwrap_or(rest.len());
        if end == 0 {
            return Err(bad());
        }
        out.push(Segment::Key(rest[..end].to_owned()));
        rest = &rest[end..];
        while let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or_else(bad)?;
            let index = after[..close].parse::<usize>().map_err(|_| bad())?;
            out.push(Segment::Index(index));
            rest = &after[close + 1..];
        }
        match rest.strip_prefix('.') {
            Some(next) => rest = next,
            None if rest.is_empty() => return Ok(out),
            None => return Err(bad()),
        }
    }
}

/// Sets `value` at `path` in a scenario's JSON. A missing key is added (objects on the way
/// too), for the parser to judge: a key the format does not know is its error, named with the
/// path. A missing array entry is an error here: an entry is a whole generator or step, which
/// a single value cannot make.
fn set(root: &mut Value, path: &[Segment], value: Value) -> std::result::Result<(), String> {
    let mut here = root;
    let mut at = String::new();
    for (i, segment) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match segment {
            Segment::Key(key) => {
                let Value::Object(map) = here else {
                    return Err(format!("{at} is {}, not an object", kind(here)));
                };
                if last {
                    map.insert(key.clone(), value);
                    return Ok(());
                }
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(key);
                if matches!(path[i + 1], Segment::Index(_)) && !map.contains_key(key) {
                    return Err(format!("the scenario has no {at}"));
                }
                here = map
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
            }
            Segment::Index(index) => {
                let Value::Array(items) = here else {
                    return Err(format!("{at} is {}, not an array", kind(here)));
                };
                let len = items.len();
                let Some(item) = items.get_mut(*index) else {
                    return Err(format!(
                        "{at} has {len} entr{}, so there is no {at}[{index}]",
                        if len == 1 { "y" } else { "ies" }
                    ));
                };
                if last {
                    *item = value;
                    return Ok(());
                }
                at.push_str(&format!("[{index}]"));
                here = item;
            }
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Splits `V1,V2,...` at the commas that are not inside brackets, braces or a string, so a
/// value may be a JSON object or array (`{"uniform":[2,10]}`).
fn split_values(list: &str) -> Vec<&str> {
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in list.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&list[start..]);
    out
}

/// A value as given: JSON when it reads as JSON (`60`, `2.5`, `true`, `"x"`, `{"uniform":[2,10]}`),
/// otherwise the text as a string (`5m`, `101-200`), so durations need no quotes in a shell.
fn value_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A value as a CSV cell or a label: a string without its quotes, anything else as JSON.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Vary {
    /// Reads `PATH=V1,V2,...` (the path's syntax only; whether the scenario has it is
    /// `Plan::new`'s question).
    pub fn parse(arg: &str) -> std::result::Result<Vary, String> {
        let (path, list) = arg
            .split_once('=')
            .ok_or_else(|| format!("--vary {arg}: expected PATH=V1,V2,..."))?;
        parse_path(path).map_err(|e| format!("--vary {arg}: {e}"))?;
        let mut values = Vec::new();
        for text in split_values(list) {
            if text.is_empty() {
                return Err(format!("--vary {arg}: an empty value"));
            }
            let value = value_of(text);
            if values.contains(&value) {
                return Err(format!("--vary {arg}: {text} is given twice"));
            }
            values.push(value);
        }
        Ok(Vary {
            path: path.to_owned(),
            values,
        })
    }
}

/// A threshold on a metric, from one of the scenario's `count` or `retcode` expectations:
/// where a cell's mean stops meeting it is the knee the page marks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub metric: String,
    /// The expectation, as the run's summary describes it.
    pub expect: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

impl Threshold {
    fn of(e: &Expectation) -> Option<Threshold> {
        let (metric, bound) = match e {
            Expectation::Count { event, bound } => (format!("count_{}", event.name()), bound),
            Expectation::Retcode { retcode, bound } => (format!("retcode_{retcode}"), bound),
            _ => return None,
        };
        Some(Threshold {
            metric,
            expect: expect::describe(e),
            equals: bound.equals,
            min: bound.min,
            max: bound.max,
        })
    }

    /// Whether a cell's mean meets the bound.
    pub fn holds(&self, mean: f64) -> bool {
        self.equals.is_none_or(|e| mean == e as f64)
            && self.min.is_none_or(|m| mean >= m as f64)
            && self.max.is_none_or(|m| mean <= m as f64)
    }

    /// The levels to draw: each bound's value.
    pub fn levels(&self) -> Vec<u64> {
        [self.equals, self.min, self.max]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// What a sweep is: everything its files depend on but the rows. Slices of one sweep have
/// equal definitions; `--merge` checks it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// The scenario's name.
    pub scenario: String,
    /// BLAKE3 of the scenario file's bytes: slices of one sweep ran the same file.
    pub scenario_digest: String,
    pub vary: Vec<Vary>,
    pub seeds: u64,
    pub cells: usize,
    pub runs: usize,
    pub thresholds: Vec<Threshold>,
}

impl Definition {
    /// The cell and seed of run `i` (grid order).
    pub fn run_at(&self, i: usize) -> (usize, u64) {
        let seeds = self.seeds as usize;
        (i / seeds, (i % seeds) as u64 + 1)
    }

    /// The varied values of cell `c`: the first `--vary` outermost.
    pub fn cell_values(&self, mut c: usize) -> Vec<Value> {
        let mut out = vec![Value::Null; self.vary.len()];
        for (k, v) in self.vary.iter().enumerate().rev() {
            out[k] = v.values[c % v.values.len()].clone();
            c /= v.values.len();
        }
        out
    }

    /// The runs of slice `k` of `n`: equal parts of the grid, in order.
    pub fn slice(&self, k: usize, n: usize) -> Range<usize> {
        let at = |k: usize| (self.runs as u128 * k as u128 / n.max(1) as u128) as usize;
        at(k)..at(k + 1)
    }
}

/// A sweep ready to run: its definition and the scenario's JSON, into which each cell's values
/// are set.
#[derive(Debug)]
pub struct Plan {
    pub file: PathBuf,
    pub definition: Definition,
    root: Value,
    paths: Vec<Vec<Segment>>,
}

/// One run's row: what `runs.csv` and `sweep.json` hold of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub cell: usize,
    pub values: Vec<Value>,
    pub seed: u64,
    pub digest: String,
    pub inputs: u64,
    pub events: u64,
    pub dropped_arrivals: u64,
    /// Load generators' inputs answered `0`.
    pub accepted: u64,
    pub retcodes: BTreeMap<String, u64>,
    pub counts: BTreeMap<String, u64>,
    pub latency_ms: Percentiles,
    pub active_conferences_at_end: u64,
    pub expectations_ok: bool,
    /// The expectations that failed, each with what was seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

/// A run done, for a progress display.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Finished {
    pub run: usize,
    pub cell: usize,
    pub wall_secs: f64,
}

impl Plan {
    /// Reads the scenario and checks every `--vary` value, and then every cell, by parsing
    /// the scenario with it, before anything runs.
    pub fn new(file: &Path, vary: Vec<Vary>, seeds: u64) -> Result<Plan> {
        let sweep_error = |message: String| ScenarioError::Sweep {
            file: file.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|error| ScenarioError::Read {
            file: file.to_owned(),
            error,
        })?;
        let base = parse(&text, file)?;
        if seeds == 0 {
            return Err(sweep_error("--seeds must be at least 1".into()));
        }
        let mut seen = BTreeSet::new();
        for v in &vary {
            if !seen.insert(v.path.as_str()) {
                return Err(sweep_error(format!("--vary {} is given twice", v.path)));
            }
        }
        let root: Value = serde_json::from_str(&text).map_err(|e| sweep_error(e.to_string()))?;
        let paths = vary
            .iter()
            .map(|v| parse_path(&v.path).map_err(|e| sweep_error(format!("--vary {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let cells = vary.iter().map(|v| v.values.len()).product::<usize>();
        let definition = Definition {
            scenario: base.name.clone(),
            scenario_digest: blake3::hash(text.as_bytes()).to_hex().to_string(),
            seeds,
            cells,
            runs: cells.saturating_mul(seeds as usize),
            thresholds: base.expect.iter().filter_map(Threshold::of).collect(),
            vary,
        };
        let plan = Plan {
            file: file.to_owned(),
            definition,
            root,
            paths,
        };
        // Each value on its own first, so that an error names the one value at fault.
        for (k, v) in plan.definition.vary.iter().enumerate() {
            for value in &v.values {
                let mut root = plan.root.clone();
                let what = format!("--vary {}={}", v.path, show(value));
                set(&mut root, &plan.paths[k], value.clone())
                    .map_err(|e| sweep_error(format!("{what}: {e}")))?;
                plan.check(&root, &what)?;
            }
        }
        // Then each cell: values that are valid alone may not be together.
        for c in 0..cells {
            plan.scenario_of(c)?;
        }
        Ok(plan)
    }

    /// Parses a scenario's JSON; an error is the parser's, named with `what` varied.
    fn check(&self, root: &Value, what: &str) -> Result<Scenario> {
        parse(&root.to_string(), &self.file).map_err(|e| match e {
            ScenarioError::Invalid { path, message, .. } => ScenarioError::Sweep {
                file: self.file.clone(),
                message: if path.is_empty() {
                    format!("{what}: {message}")
                } else {
                    format!("{what}: {path}: {message}")
                },
            },
            other => other,
        })
    }

    /// The scenario of cell `c`.
    pub fn scenario_of(&self, c: usize) -> Result<Scenario> {
        let values = self.definition.cell_values(c);
        let mut root = self.root.clone();
        let mut what = Vec::new();
        for ((v, path), value) in self.definition.vary.iter().zip(&self.paths).zip(values) {
            what.push(format!("{}={}", v.path, show(&value)));
            set(&mut root, path, value).map_err(|message| ScenarioError::Sweep {
                file: self.file.clone(),
                message,
            })?;
        }
        self.check(&root, &format!("the cell {}", what.join(" ")))
    }

    /// Runs `runs` (numbers in grid order), `jobs` at once, and returns their rows in order.
    /// `on_done` hears of each run as it ends, from the thread that ran it.
    pub fn execute(
        &self,
        runs: Range<usize>,
        jobs: usize,
        on_done: &(dyn Fn(Finished) + Sync),
    ) -> Result<Vec<RunRow>> {
        let next = AtomicUsize::new(runs.start);
        let stop = AtomicBool::new(false);
        let slots: Mutex<Vec<Option<Result<RunRow>>>> =
            Mutex::new((0..runs.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..jobs.clamp(1, runs.len().max(1)) {
                scope.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= runs.end {
                            break;
                        }
                        let stopwatch = Stopwatch::start();
                        let row = self.run_one(i);
                        if row.is_err() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        let wall_secs = stopwatch.elapsed().as_secs_f64();
                        let cell = row.as_ref().map_or(0, |r| r.cell);
                        slots.lock().unwrap_or_else(|p| p.into_inner())[i - runs.start] = Some(row);
                        on_done(Finished {
                            run: i,
                            cell,
                            wall_secs,
                        });
                    }
                });
            }
        });
        let mut rows = Vec::with_capacity(runs.len());
        // An empty slot only follows a failed run, whose error is in another slot.
        for row in slots
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .flatten()
        {
            rows.push(row?);
        }
        if rows.len() != runs.len() {
            // Unreachable unless a run failed, whose error was returned above.
            return Err(ScenarioError::Sweep {
                file: self.file.clone(),
                message: "a run did not finish".into(),
            });
        }
        Ok(rows)
    }

    fn run_one(&self, i: usize) -> Result<RunRow> {
        let (cell, seed) = self.definition.run_at(i);
        let scenario = self.scenario_of(cell)?;
        let options = RunOptions {
            seed: Some(seed),
            ..RunOptions::default()
        };
        let (report, _) = run(&scenario, &options, std::io::sink())?;
        let failed = scenario
            .expect
            .iter()
            .zip(&report.expectations)
            .filter(|(_, v)| !v.ok)
            .map(|(e, v)| format!("{}: {}", expect::describe(e), v.detail))
            .collect();
        Ok(RunRow {
            cell,
            values: self.definition.cell_values(cell),
            seed,
            digest: report.digest,
            inputs: report.inputs,
            events: report.events,
            dropped_arrivals: report.dropped_arrivals,
            accepted: report.load.iter().map(|g| g.accepted).sum(),
            retcodes: report.retcodes,
            counts: report.counts,
            latency_ms: report.latency_ms.request_to_success,
            active_conferences_at_end: report.active_conferences_at_end,
            expectations_ok: report.ok,
            failed,
        })
    }
}

/// A column of figures per run.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Metric {
    Inputs,
    Events,
    Dropped,
    Accepted,
    Retcode(String),
    Count(String),
    P50,
    P90,
    P99,
    Max,
    Active,
}

impl Metric {
    fn name(&self) -> String {
        match self {
            Metric::Inputs => "inputs".into(),
            Metric::Events => "events".into(),
            Metric::Dropped => "dropped_arrivals".into(),
            Metric::Accepted => "accepted".into(),
            Metric::Retcode(code) => format!("retcode_{code}"),
            Metric::Count(event) => format!("count_{event}"),
            Metric::P50 => "latency_p50_ms".into(),
            Metric::P90 => "latency_p90_ms".into(),
            Metric::P99 => "latency_p99_ms".into(),
            Metric::Max => "latency_max_ms".into(),
            Metric::Active => "active_conferences_at_end".into(),
        }
    }

    fn of(&self, r: &RunRow) -> u64 {
        match self {
            Metric::Inputs => r.inputs,
            Metric::Events => r.events,
            Metric::Dropped => r.dropped_arrivals,
            Metric::Accepted => r.accepted,
            Metric::Retcode(code) => r.retcodes.get(code).copied().unwrap_or(0),
            Metric::Count(event) => r.counts.get(event).copied().unwrap_or(0),
            Metric::P50 => r.latency_ms.p50,
            Metric::P90 => r.latency_ms.p90,
            Metric::P99 => r.latency_ms.p99,
            Metric::Max => r.latency_ms.max,
            Metric::Active => r.active_conferences_at_end,
        }
    }
}

/// The columns: the fixed figures, every retcode and event type any run saw (by name), the
/// latency percentiles, the conferences active at the end.
fn metrics(rows: &[RunRow]) -> Vec<Metric> {
    let retcodes: BTreeSet<&String> = rows.iter().flat_map(|r| r.retcodes.keys()).collect();
    let counts: BTreeSet<&String> = rows.iter().flat_map(|r| r.counts.keys()).collect();
    let mut out = vec![
        Metric::Inputs,
        Metric::Events,
        Metric::Dropped,
        Metric::Accepted,
    ];
    out.extend(retcodes.into_iter().map(|c| Metric::Retcode(c.clone())));
    out.extend(counts.into_iter().map(|e| Metric::Count(e.clone())));
    out.extend([
        Metric::P50,
        Metric::P90,
        Metric::P99,
        Metric::Max,
        Metric::Active,
    ]);
    out
}

/// One cell's figures over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct CellSummary {
    pub values: Vec<Value>,
    pub runs: u64,
    pub runs_failed: u64,
    /// In the order of the metrics' names.
    pub metrics: Vec<Summary>,
}

/// Everything a sweep's files show: the definition, the metrics' names, each cell's summary,
/// the knees.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    pub definition: Definition,
    pub metric_names: Vec<String>,
    pub cells: Vec<CellSummary>,
    pub knees: Vec<Knee>,
}

/// Where a line's mean first crosses a threshold: between `before` and `at` of the first
/// varied value, the bound held at one and not at the other.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Knee {
    pub metric: String,
    pub expect: String,
    /// The other varied values of the line (empty with one `--vary`).
    pub line: Vec<Value>,
    pub before: Value,
    pub at: Value,
    /// Whether the bound held at `before` (and so not at `at`), or the other way round.
    pub held_before: bool,
}

/// How many lines a chart has (one per combination of the values after the first) and which
/// cell is line `l`'s `i`-th point.
pub fn lines(d: &Definition) -> usize {
    d.vary.iter().skip(1).map(|v| v.values.len()).product()
}

pub fn cell_at(d: &Definition, line: usize, i: usize) -> usize {
    i * lines(d) + line
}

impl Results {
    /// Summarizes rows in grid order.
    pub fn of(definition: &Definition, rows: &[RunRow]) -> Results {
        let metrics = metrics(rows);
        let mut cells = Vec::new();
        let mut t_by_n: BTreeMap<usize, f64> = BTreeMap::new();
        for group in rows.chunk_by(|a, b| a.cell == b.cell) {
            let t = *t_by_n
                .entry(group.len())
                .or_insert_with(|| t_quantile_975(group.len().saturating_sub(1) as u64));
            let summaries = metrics
                .iter()
                .map(|m| {
                    let values: Vec<f64> = group.iter().map(|r| m.of(r) as f64).collect();
                    summarize(&values, Some(t))
                })
                .collect();
            cells.push(CellSummary {
                values: group[0].values.clone(),
                runs: group.len() as u64,
                runs_failed: group.iter().filter(|r| !r.expectations_ok).count() as u64,
                metrics: summaries,
            });
        }
        let metric_names: Vec<String> = metrics.iter().map(Metric::name).collect();
        let knees = knees(definition, &metric_names, &cells);
        Results {
            definition: definition.clone(),
            metric_names,
            cells,
            knees,
        }
    }

    /// A metric's mean in each cell (0 where no run saw it).
    pub fn means(&self, metric: &str) -> Vec<f64> {
        match self.metric_names.iter().position(|m| m == metric) {
            Some(k) => self.cells.iter().map(|c| c.metrics[k].mean).collect(),
            None => vec![0.0; self.cells.len()],
        }
    }
}

fn knees(d: &Definition, names: &[String], cells: &[CellSummary]) -> Vec<Knee> {
    let mut out = Vec::new();
    let Some(first) = d.vary.first() else {
        return out;
    };
    if cells.len() != d.cells {
        return out;
    }
    for th in &d.thresholds {
        let k = names.iter().position(|m| *m == th.metric);
        let mean = |c: usize| k.map_or(0.0, |k| cells[c].metrics[k].mean);
        for line in 0..lines(d) {
            for i in 1..first.values.len() {
                let held_before = th.holds(mean(cell_at(d, line, i - 1)));
                if held_before != th.holds(mean(cell_at(d, line, i))) {
                    out.push(Knee {
                        metric: th.metric.clone(),
                        expect: th.expect.clone(),
                        line: cells[cell_at(d, line, i)].values[1..].to_vec(),
                        before: first.values[i - 1].clone(),
                        at: first.values[i].clone(),
                        held_before,
                    });
                    break;
                }
            }
        }
    }
    out
}

/// A figure for a CSV cell: four decimals at most, without trailing zeros.
fn num(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".to_owned() } else { s }
}

fn csv_bytes(file: &Path, rows: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| ScenarioError::Write {
        file: file.to_owned(),
        error: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(&row).map_err(fail)?;
    }
    w.into_inner().map_err(|e| ScenarioError::Write {
        file: file.to_owned(),
        error: std::io::Error::other(e.to_string()),
    })
}

fn write(file: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(file, bytes).map_err(|error| ScenarioError::Write {
        file: file.to_owned(),
        error,
    })
}

/// `runs.csv`: one row per run, in grid order.
fn runs_csv(file: &Path, d: &Definition, rows: &[RunRow]) -> Result<Vec<u8>> {
    let metrics = metrics(rows);
    let mut head: Vec<String> = d.vary.iter().map(|v| v.path.clone()).collect();
    head.extend(["seed".to_owned(), "digest".to_owned()]);
    head.extend(metrics.iter().map(Metric::name));
    head.push("expectations_ok".to_owned());
    let body = rows.iter().map(|r| {
        let mut row: Vec<String> = r.values.iter().map(show).collect();
        row.extend([r.seed.to_string(), r.digest.clone()]);
        row.extend(metrics.iter().map(|m| m.of(r).to_string()));
        row.push(r.expectations_ok.to_string());
        row
    });
    csv_bytes(file, std::iter::once(head).chain(body))
}

/// `cells.csv`: one row per cell, each metric's mean, standard deviation and 95% interval.
fn cells_csv(file: &Path, r: &Results) -> Result<Vec<u8>> {
    let mut head: Vec<String> = r.definition.vary.iter().map(|v| v.path.clone()).collect();
    head.extend(["seeds".to_owned(), "runs_failed".to_owned()]);
    for m in &r.metric_names {
        for part in ["mean", "sd", "ci95_lo", "ci95_hi"] {
            head.push(format!("{m}_{part}"));
        }
    }
    let opt = |x: Option<f64>| x.map(num).unwrap_or_default();
    let body = r.cells.iter().map(|c| {
        let mut row: Vec<String> = c.values.iter().map(show).collect();
        row.extend([c.runs.to_string(), c.runs_failed.to_string()]);
        for s in &c.metrics {
            row.extend([
                num(s.mean),
                opt(s.sd),
                opt(s.ci95.map(|c| c.0)),
                opt(s.ci95.map(|c| c.1)),
            ]);
        }
        row
    });
    csv_bytes(file, std::iter::once(head).chain(body))
}

/// `sweep.json`: the definition, each cell's summary, the knees and every run.
fn sweep_json(r: &Results, rows: &[RunRow]) -> Value {
    let cells: Vec<Value> = r
        .cells
        .iter()
        .map(|c| {
            let mut metrics = Map::new();
            for (name, s) in r.metric_names.iter().zip(&c.metrics) {
                metrics.insert(
                    name.clone(),
                    json!({
                        "mean": s.mean,
                        "sd": s.sd,
                        "ci95_lo": s.ci95.map(|c| c.0),
                        "ci95_hi": s.ci95.map(|c| c.1),
                    }),
                );
            }
            json!({
                "values": c.values,
                "seeds": c.runs,
                "runs_failed": c.runs_failed,
                "metrics": metrics,
            })
        })
        .collect();
    json!({
        "format": FORMAT,
        "version": VERSION,
        "sweep": r.definition,
        "metrics": r.metric_names,
        "cells": cells,
        "knees": r.knees,
        "runs": rows,
    })
}

fn pretty(value: &impl Serialize) -> Vec<u8> {
    // A `Value` or derived types: serializing them cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|error| ScenarioError::Write {
        file: dir.to_owned(),
        error,
    })
}

/// Writes a whole sweep's four files into `dir` (created if missing).
pub fn write_sweep(dir: &Path, d: &Definition, rows: &[RunRow]) -> Result<Results> {
    create_dir(dir)?;
    let results = Results::of(d, rows);
    let file = dir.join("runs.csv");
    write(&file, &runs_csv(&file, d, rows)?)?;
    let file = dir.join("cells.csv");
    write(&file, &cells_csv(&file, &results)?)?;
    write(
        &dir.join("sweep.json"),
        &pretty(&sweep_json(&results, rows)),
    )?;
    write(
        &dir.join("sweep.html"),
        crate::sweep_html::render(&results).as_bytes(),
    )?;
    Ok(results)
}

/// Which runs a slice holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    pub index: usize,
    pub count: usize,
    pub first_run: usize,
    pub runs: usize,
}

/// A slice's `sweep.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SliceFile {
    format: String,
    version: u32,
    sweep: Definition,
    slice: Slice,
    runs: Vec<RunRow>,
}

/// Writes a slice's files into `dir`: its rows as `runs.csv`, and `sweep.json` with the
/// definition and the rows, which `merge` reads.
pub fn write_slice(dir: &Path, d: &Definition, slice: &Slice, rows: &[RunRow]) -> Result<()> {
    create_dir(dir)?;
    let file = dir.join("runs.csv");
    write(&file, &runs_csv(&file, d, rows)?)?;
    let json = SliceFile {
        format: SLICE_FORMAT.to_owned(),
        version: VERSION,
        sweep: d.clone(),
        slice: slice.clone(),
        runs: rows.to_vec(),
    };
    write(&dir.join("sweep.json"), &pretty(&json))
}

/// Reads the slices in `dirs` (any order) and checks that they are the slices of one sweep,
/// each run exactly once: the definition and the rows in grid order.
pub fn merge(dirs: &[PathBuf]) -> Result<(Definition, Vec<RunRow>)> {
    let mut parts: Vec<(PathBuf, SliceFile)> = Vec::new();
    for dir in dirs {
        let file = dir.join("sweep.json");
        let text = std::fs::read_to_string(&file).map_err(|error| ScenarioError::Read {
            file: file.clone(),
            error,
        })?;
        let bad = |message: String| ScenarioError::Sweep {
            file: file.clone(),
            message,
        };
        let value: Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a sweep's slice: {e}")))?;
        match value.get("format").and_then(Value::as_str) {
            Some(SLICE_FORMAT) => {}
            Some(FORMAT) => {
                return Err(bad(
                    "a whole sweep, not a slice: --merge joins the output folders of --cell K/N"
                        .into(),
                ));
            }
            _ => {
                return Err(bad(format!(
                    "not a sweep's slice (no \"format\": \"{SLICE_FORMAT}\")"
                )));
            }
        }
        let slice: SliceFile = serde_path_to_error::deserialize(value)
            .map_err(|e| bad(format!("{}: {}", e.path(), e.inner())))?;
        if slice.version != VERSION {
            return Err(bad(format!(
                "slice format version {} is not supported (this build reads {VERSION})",
                slice.version
            )));
        }
        parts.push((file, slice));
    }
    let Some((first_file, first)) = parts.first() else {
        return Err(ScenarioError::Sweep {
            file: PathBuf::from("--merge"),
            message: "no slices given".into(),
        });
    };
    let (first_file, definition, count) =
        (first_file.clone(), first.sweep.clone(), first.slice.count);
    for (file, part) in &parts {
        let bad = |message: String| ScenarioError::Sweep {
            file: file.clone(),
            message,
        };
        if part.sweep != definition {
            return Err(bad(format!(
                "a slice of another sweep than {} (scenario, values, seeds or thresholds differ)",
                first_file.display()
            )));
        }
        if part.slice.count != count {
            return Err(bad(format!(
                "slice {}/{} does not go with slices of {count}",
                part.slice.index, part.slice.count
            )));
        }
        let expected = definition.slice(part.slice.index, count);
        let ok = part.slice.first_run == expected.start
            && part.slice.runs == expected.len()
            && part.runs.len() == expected.len()
            && part
                .runs
                .iter()
                .zip(expected)
                .all(|(r, i)| (r.cell, r.seed) == definition.run_at(i));
        if !ok {
            return Err(bad(format!(
                "slice {}/{count} does not hold the runs it should",
                part.slice.index
            )));
        }
    }
    parts.sort_by_key(|(_, p)| p.slice.index);
    let indexes: Vec<usize> = parts.iter().map(|(_, p)| p.slice.index).collect();
    if indexes != (0..count).collect::<Vec<_>>() {
        let have: BTreeSet<usize> = indexes.iter().copied().collect();
        let missing: Vec<String> = (0..count)
            .filter(|k| !have.contains(k))
            .map(|k| format!("{k}/{count}"))
            .collect();
        let message = if missing.is_empty() {
            "a slice is given twice".to_owned()
        } else {
            format!("slices missing: {}", missing.join(", "))
        };
        return Err(ScenarioError::Sweep {
            file: first_file,
            message,
        });
    }
    let rows = parts.into_iter().flat_map(|(_, p)| p.runs).collect();
    Ok((definition, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_the_errors_write_them() {
        use Segment::{Index, Key};
        let key = |k: &str| Key(k.to_owned());
        assert_eq!(
            parse_path("platform.vdn.maxConcurrentCalls").unwrap(),
            [key("platform"), key("vdn"), key("maxConcurrentCalls")]
        );
        assert_eq!(
            parse_path("load[0].arrival.poisson.perSecond").unwrap(),
            [
                key("load"),
                Index(0),
                key("arrival"),
                key("poisson"),
                key("perSecond")
            ]
        );
        assert_eq!(parse_path("steps[3].body.memberNum").unwrap()[1], Index(3));
        for bad in ["", ".a", "a.", "a..b", "a[x]", "a[0", "[0]", "a]b", "a[0]b"] {
            assert!(parse_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_split_at_top_level_commas_and_read_as_json_or_text() {
        let v = Vary::parse(r#"load[0].body.memberNum=4,{"uniform":[2,10]},"a,b",5m"#).unwrap();
        assert_eq!(v.path, "load[0].body.memberNum");
        assert_eq!(
            v.values,
            [
                json!(4),
                json!({"uniform": [2, 10]}),
                json!("a,b"),
                json!("5m")
            ]
        );
        assert!(Vary::parse("nopath").is_err());
        assert!(
            Vary::parse("a=1,,2")
                .unwrap_err()
                .contains("an empty value")
        );
        assert!(Vary::parse("a=1,1").unwrap_err().contains("given twice"));
        assert_eq!(show(&json!("5m")), "5m");
        assert_eq!(show(&json!(2.5)), "2.5");
    }

    #[test]
    fn a_value_is_set_where_the_path_says_and_missing_keys_are_added() {
        let mut root = json!({"platform": {"vdn": {"id": 1}}, "load": [{"name": "a"}]});
        set(&mut root, &parse_path("platform.vdn.id").unwrap(), json!(7)).unwrap();
        set(
            &mut root,
            &parse_path("platform.faults.requestFailedRate").unwrap(),
            json!(0.5),
        )
        .unwrap();
        set(&mut root, &parse_path("load[0].name").unwrap(), json!("b")).unwrap();
        assert_eq!(
            root,
            json!({"platform": {"vdn": {"id": 7}, "faults": {"requestFailedRate": 0.5}}, "load": [{"name": "b"}]})
        );
        let err = set(&mut root, &parse_path("load[2].name").unwrap(), json!(1)).unwrap_err();
        assert_eq!(err, "load has 1 entry, so there is no load[2]");
        let err = set(&mut root, &parse_path("steps[0].at").unwrap(), json!(1)).unwrap_err();
        assert_eq!(err, "the scenario has no steps");
        let err = set(
            &mut root,
            &parse_path("platform.vdn.id.x").unwrap(),
            json!(1),
        )
        .unwrap_err();
        assert_eq!(err, "platform.vdn.id is a number, not an object");
    }

    fn definition(vary: &[(&str, &[Value])], seeds: u64) -> Definition {
        let vary: Vec<Vary> = vary
            .iter()
            .map(|(p, v)| Vary {
                path: (*p).to_owned(),
                values: v.to_vec(),
            })
            .collect();
        let cells = vary.iter().map(|v| v.values.len()).product();
        Definition {
            scenario: "s".into(),
            scenario_digest: String::new(),
            vary,
            seeds,
            cells,
            runs: cells * seeds as usize,
            thresholds: Vec::new(),
        }
    }

    #[test]
    fn runs_are_in_grid_order_and_slices_cover_them_once() {
        let d = definition(
            &[
                ("a", &[json!(1), json!(2)]),
                ("b", &[json!("x"), json!("y"), json!("z")]),
            ],
            2,
        );
        assert_eq!((d.cells, d.runs), (6, 12));
        assert_eq!(d.cell_values(0), [json!(1), json!("x")]);
        assert_eq!(d.cell_values(1), [json!(1), json!("y")]);
        assert_eq!(d.cell_values(3), [json!(2), json!("x")]);
        assert_eq!(d.run_at(0), (0, 1));
        assert_eq!(d.run_at(3), (1, 2));
        assert_eq!(lines(&d), 3);
        assert_eq!(cell_at(&d, 1, 1), 4); // a=2, b=y
        for n in [1, 2, 5, 12, 20] {
            let mut next = 0;
            for k in 0..n {
                let s = d.slice(k, n);
                assert_eq!(s.start, next);
                next = s.end;
            }
            assert_eq!(next, 12);
        }
    }

    #[test]
    fn a_knee_is_where_a_lines_mean_stops_meeting_the_threshold() {
        let mut d = definition(&[("rate", &[json!(1), json!(2), json!(4)])], 1);
        d.thresholds.push(Threshold {
            metric: "dropped_arrivals".into(),
            expect: "dropped at most 10".into(),
            equals: None,
            min: None,
            max: Some(10),
        });
        let names = vec!["dropped_arrivals".to_owned()];
        let cell = |mean: f64, v: i64| CellSummary {
            values: vec![json!(v)],
            runs: 1,
            runs_failed: 0,
            metrics: vec![summarize(&[mean], None)],
        };
        let cells = [cell(0.0, 1), cell(10.0, 2), cell(30.0, 4)];
        let k = knees(&d, &names, &cells);
        assert_eq!(k.len(), 1);
        assert_eq!(
            (k[0].before.clone(), k[0].at.clone(), k[0].held_before),
            (json!(2), json!(4), true)
        );
        // Falling below the bound is a knee too, the first crossing only.
        let k = knees(&d, &names, &[cell(20.0, 1), cell(5.0, 2), cell(40.0, 4)]);
        assert_eq!(
            (k.len(), k[0].at.clone(), k[0].held_before),
            (1, json!(2), false)
        );
        // Never met, or always: no knee.
        assert!(knees(&d, &names, &[cell(20.0, 1), cell(30.0, 2), cell(40.0, 4)]).is_empty());
        assert!(knees(&d, &names, &[cell(0.0, 1), cell(1.0, 2), cell(2.0, 4)]).is_empty());
    }

    #[test]
    fn figures_have_at_most_four_decimals() {
        assert_eq!(num(5.0), "5");
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(2.123456), "2.1235");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(num(1234.5), "1234.5");
    }
}
