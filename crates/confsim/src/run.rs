//! `confsim run` and `confsim validate`.

use crate::{ClockArg, RunArgs};
use anyhow::{Context, Result, bail};
use confsim_scenario::{ClockChoice, Progress, RunOptions, Scenario};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

pub fn validate(file: &Path) -> Result<ExitCode> {
    let scenario = confsim_scenario::load(file)?;
    println!(
        "{}: valid scenario {:?} ({} agent groups, {} steps, {} expectations, seed {})",
        file.display(),
        scenario.name,
        scenario.agents.len(),
        scenario.steps.len(),
        scenario.expect.len(),
        scenario.seed
    );
    Ok(ExitCode::SUCCESS)
}

fn clock(args: &RunArgs) -> Result<ClockChoice> {
    match (args.clock, args.speed) {
        (ClockArg::Virtual, None) => Ok(ClockChoice::Virtual),
        (ClockArg::Virtual, Some(_)) => {
            bail!("--speed applies to the wall clock: add --clock wall")
        }
        (ClockArg::Wall, speed) => {
            let speed = speed.unwrap_or(1.0);
            if !(speed.is_finite() && speed > 0.0) {
                bail!("--speed must be a positive number, not {speed}");
            }
            Ok(ClockChoice::Wall { speed })
        }
    }
}

fn create_journal(path: &Path) -> Result<File> {
    File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            if path.exists() {
                format!(
                    "{}: a journal is never overwritten; remove it or choose another path",
                    path.display()
                )
            } else {
                format!("{}: cannot create the journal", path.display())
            }
        })
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

fn show(bar: &ProgressBar, p: Progress) {
    let sim = confsim_core::SimDuration::from_millis(p.sim_ms);
    let of = p
        .until_ms
        .map(|u| format!(" of {}", confsim_core::SimDuration::from_millis(u)))
        .unwrap_or_default();
    let rate = if p.wall_secs > 0.0 {
        p.records as f64 / p.wall_secs
    } else {
        0.0
    };
    bar.set_message(format!(
        "simulated {sim}{of}  {} records  {:.0} records/s",
        p.records, rate
    ));
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let scenario = confsim_scenario::load(&args.scenario)?;
    let options = RunOptions {
        seed: args.seed,
        clock: clock(&args)?,
        journal_name: args.journal.as_ref().map(|p| p.display().to_string()),
    };
    let seed = options.seed.unwrap_or(scenario.seed);
    if args.json {
        eprintln!("confsim: running {:?} with seed {seed}", scenario.name);
    }
    let bar = progress_bar(args.quiet);
    let journal = args.journal.as_deref().map(create_journal).transpose()?;

    let report = if args.check_determinism {
        match check_determinism(&scenario, &options, journal, &bar)? {
            Ok(report) => report,
            Err(difference) => {
                bar.finish_and_clear();
                eprintln!("confsim: not deterministic (seed {seed}): {difference}");
                return Ok(ExitCode::from(1));
            }
        }
    } else {
        let out: Box<dyn Write> = match journal {
            Some(file) => Box::new(file),
            None => Box::new(std::io::sink()),
        };
        let (report, _) =
            confsim_scenario::run_with_progress(&scenario, &options, out, &mut |p| show(&bar, p))
                .with_context(|| format!("running {} (seed {seed})", args.scenario.display()))?;
        report
    };
    bar.finish_and_clear();

    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("{}: cannot write the report", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let described: Vec<String> = scenario
            .expect
            .iter()
            .map(confsim_scenario::expect::describe)
            .collect();
        print!("{}", report.human(&described));
    }
    if !report.ok {
        eprintln!("confsim: expectations failed (seed {seed})");
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs twice into temporary files and compares them line by line. On success the first
/// journal is copied to `journal` (when asked for) and its report returned; otherwise the
/// first difference is described.
fn check_determinism(
    scenario: &Scenario,
    options: &RunOptions,
    journal: Option<File>,
    bar: &ProgressBar,
) -> Result<std::result::Result<confsim_scenario::Report, String>> {
    let run_once = |round: u32| -> Result<(confsim_scenario::Report, File)> {
        let tmp = tempfile::tempfile().context("creating a temporary journal")?;
        let mut on_progress = |p| {
            bar.set_prefix(format!("run {round}/2"));
            show(bar, p)
        };
        let (report, file) = confsim_scenario::run_with_progress(
            scenario,
            options,
            std::io::BufWriter::new(tmp),
            &mut on_progress,
        )?;
        let file = file
            .into_inner()
            .map_err(|e| e.into_error())
            .context("flushing a temporary journal")?;
        Ok((report, file))
    };
    let (first_report, mut first) = run_once(1)?;
    let (second_report, mut second) = run_once(2)?;
    use std::io::Seek;
    first.rewind()?;
    second.rewind()?;
    if first_report.digest != second_report.digest {
        let mut a = BufReader::new(&first).lines();
        let mut b = BufReader::new(&second).lines();
        let mut line = 0u64;
        loop {
            line += 1;
            match (a.next().transpose()?, b.next().transpose()?) {
                (Some(x), Some(y)) if x == y => continue,
                (x, y) => {
                    let show =
                        |l: Option<String>| l.unwrap_or_else(|| "(end of journal)".to_owned());
                    return Ok(Err(format!(
                        "the journals differ first at line {line} (seq {}):\n  first run:  {}\n  second run: {}",
                        line.saturating_sub(1),
                        show(x),
                        show(y)
                    )));
                }
            }
        }
    }
    if let Some(mut out) = journal {
        first.rewind()?;
        std::io::copy(&mut first, &mut out).context("writing the journal")?;
        out.flush()?;
    }
    Ok(Ok(first_report))
}
