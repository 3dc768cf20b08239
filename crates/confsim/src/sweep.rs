//! `confsim sweep`: a scenario over a grid of varied values and seeds, its slices for other
//! machines, and the merge of those slices.

use anyhow::{Context, Result, bail};
use confsim_engine::Stopwatch;
use confsim_scenario::sweep::{self, Finished, Plan, Results, RunRow, Slice, Vary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The scenario file (JSON).
    #[arg(required_unless_present = "merge")]
    scenario: Option<PathBuf>,
    /// A value to vary, at a JSON path as error messages write it, and its values:
    /// `platform.vdn.maxConcurrentCalls=4,8,16`. Repeat for a grid; the first is the x axis of
    /// the page's charts, the second its lines.
    #[arg(long, value_name = "PATH=V1,V2,...")]
    vary: Vec<String>,
    /// Replications per cell: seeds 1 to N.
    #[arg(long, value_name = "N", default_value_t = 5)]
    seeds: u64,
    /// Runs at once (default: the machine's cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// The output folder (default: sweep-NAME, NAME the scenario's; with --cell,
    /// sweep-NAME-cell-K-of-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run only the K-th of N equal slices of the runs (K from 0), for `--merge` to join.
    #[arg(long, value_name = "K/N")]
    cell: Option<String>,
    /// Join the output folders of `--cell` slices into the files of one whole sweep.
    #[arg(long, value_name = "DIR", num_args = 1.., conflicts_with_all = ["scenario", "vary", "cell", "jobs", "seeds"])]
    merge: Vec<PathBuf>,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
}

/// `K/N` with K < N.
fn parse_cell(text: &str) -> Result<(usize, usize)> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)));
    match parsed {
        Some((k, n)) if n > 0 && k < n => Ok((k, n)),
        _ => bail!("--cell {text}: expected K/N with 0 <= K < N, such as 0/4"),
    }
}

/// A cell's values, short: `maxConcurrentCalls=8 perSecond=2`.
fn cell_label(plan: &Plan, cell: usize) -> String {
    let d = &plan.definition;
    d.vary
        .iter()
        .zip(d.cell_values(cell))
        .map(|(v, value)| {
            let short = v.path.rsplit('.').next().unwrap_or(&v.path);
            format!("{short}={}", sweep::show(&value))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn progress_bar(quiet: bool, runs: usize) -> ProgressBar {
    if quiet || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar =
        ProgressBar::with_draw_target(Some(runs as u64), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("[{bar:32}] {pos}/{len} runs  {per_sec}  {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

pub fn sweep(args: SweepArgs) -> Result<ExitCode> {
    if !args.merge.is_empty() {
        return merge(&args.merge, args.out.as_deref());
    }
    let Some(file) = &args.scenario else {
        bail!("a scenario file, or --merge DIR...");
    };
    let vary = args
        .vary
        .iter()
        .map(|arg| Vary::parse(arg).map_err(|e| anyhow::anyhow!("{}: {e}", file.display())))
        .collect::<Result<Vec<_>>>()?;
    let jobs = match args.jobs {
        Some(0) => bail!("--jobs must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let slice = args.cell.as_deref().map(parse_cell).transpose()?;
    let plan = Plan::new(file, vary, args.seeds)?;
    let d = &plan.definition;
    let runs = match slice {
        Some((k, n)) => d.slice(k, n),
        None => 0..d.runs,
    };
    let out = args.out.clone().unwrap_or_else(|| match slice {
        Some((k, n)) => PathBuf::from(format!("sweep-{}-cell-{k}-of-{n}", d.scenario)),
        None => PathBuf::from(format!("sweep-{}", d.scenario)),
    });

    let bar = progress_bar(args.quiet, runs.len());
    let slowest: Mutex<Option<(f64, usize)>> = Mutex::new(None);
    let on_done = |f: Finished| {
        let mut slowest = slowest.lock().unwrap_or_else(|p| p.into_inner());
        if slowest.is_none_or(|(secs, _)| f.wall_secs > secs) {
            *slowest = Some((f.wall_secs, f.cell));
            bar.set_message(format!(
                "slowest cell: {} ({:.2} s)",
                cell_label(&plan, f.cell),
                f.wall_secs
            ));
        }
        bar.inc(1);
    };
    let stopwatch = Stopwatch::start();
    let rows = plan
        .execute(runs.clone(), jobs, &on_done)
        .with_context(|| format!("sweeping {}", file.display()))?;
    bar.finish_and_clear();
    let secs = stopwatch.elapsed().as_secs_f64();
    println!(
        "sweep {}: {} cells × {} seeds = {} runs{}; ran {} in {secs:.2} s with {jobs} jobs",
        d.scenario,
        d.cells,
        d.seeds,
        d.runs,
        match slice {
            Some((k, n)) => format!("; slice {k}/{n} has runs {}..{}", runs.start, runs.end),
            None => String::new(),
        },
        runs.len(),
    );
    match slice {
        Some((k, n)) => {
            let part = Slice {
                index: k,
                count: n,
                first_run: runs.start,
                runs: runs.len(),
            };
            sweep::write_slice(&out, d, &part, &rows)?;
            println!(
                "wrote {} (runs.csv, sweep.json): join the slices with confsim sweep --merge",
                out.display()
            );
        }
        None => {
            let results = sweep::write_sweep(&out, d, &rows)?;
            written(&out, &results);
        }
    }
    Ok(verdict(&rows, |r| cell_label(&plan, r.cell)))
}

fn written(out: &Path, results: &Results) {
    println!(
        "wrote {0}/runs.csv, {0}/cells.csv, {0}/sweep.json, {0}/sweep.html",
        out.display()
    );
    for k in &results.knees {
        let line: Vec<String> = results
            .definition
            .vary
            .iter()
            .skip(1)
            .zip(&k.line)
            .map(|(v, value)| format!("{}={}", v.path, sweep::show(value)))
            .collect();
        let (holds, fails) = if k.held_before {
            (&k.before, &k.at)
        } else {
            (&k.at, &k.before)
        };
        println!(
            "knee: {} ({}) holds at {x}={} and not at {x}={}{}",
            k.metric,
            k.expect,
            sweep::show(holds),
            sweep::show(fails),
            if line.is_empty() {
                String::new()
            } else {
                format!(" with {}", line.join(" "))
            },
            x = results.definition.vary[0].path,
        );
    }
}

/// Exit 1 when a run's expectations failed, naming the first.
fn verdict(rows: &[RunRow], label: impl Fn(&RunRow) -> String) -> ExitCode {
    let failed: Vec<&RunRow> = rows.iter().filter(|r| !r.expectations_ok).collect();
    let Some(first) = failed.first() else {
        return ExitCode::SUCCESS;
    };
    eprintln!(
        "confsim: expectations failed in {} of {} runs; the first: {} seed {}: {}",
        failed.len(),
        rows.len(),
        label(first),
        first.seed,
        first.failed.join("; ")
    );
    ExitCode::from(1)
}

fn merge(dirs: &[PathBuf], out: Option<&Path>) -> Result<ExitCode> {
    let (definition, rows) = sweep::merge(dirs)?;
    let out = out
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(format!("sweep-{}", definition.scenario)));
    let results = sweep::write_sweep(&out, &definition, &rows)?;
    println!(
        "merged {} slices of the sweep of {}: {} runs",
        dirs.len(),
        definition.scenario,
        rows.len()
    );
    written(&out, &results);
    Ok(verdict(&rows, |r| {
        definition
            .vary
            .iter()
            .zip(&r.values)
            .map(|(v, value)| format!("{}={}", v.path, sweep::show(value)))
            .collect::<Vec<_>>()
            .join(" ")
    }))
}
