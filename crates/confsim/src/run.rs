//! `confsim run` and `confsim validate`.

use crate::{ClockArg, RunArgs};
use anyhow::{Context, Result, bail};
use confsim_scenario::report::thousands;
use confsim_scenario::{ClockChoice, Progress, RunOptions, Scenario};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

pub fn validate(file: &Path) -> Result<ExitCode> {
    let scenario = confsim_scenario::load(file)?;
    println!(
        "{}: valid scenario {:?} ({} agent groups, {} steps, {} load generators, {} expectations, seed {})",
        file.display(),
        scenario.name,
        scenario.agents.len(),
        scenario.steps.len(),
        scenario.load.len(),
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

/// The progress display: a bar over simulated time when the scenario has `until`, a spinner
/// otherwise; nothing at all with `--quiet` or when stdout or stderr is not a terminal (a
/// pipe, a CI log), so captured output holds only the summary or the JSON.
fn progress_bar(quiet: bool, until_ms: Option<u64>) -> ProgressBar {
    if quiet || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let target = ProgressDrawTarget::stderr_with_hz(4);
    match until_ms {
        Some(until) => {
            let bar = ProgressBar::with_draw_target(Some(until.max(1)), target);
            bar.set_style(
                ProgressStyle::with_template("{prefix}[{bar:32}] {percent:>3}%  {msg}")
                    .map(|s| s.progress_chars("=> "))
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, target);
            bar.set_style(
                ProgressStyle::with_template("{prefix}{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    }
}

fn show(bar: &ProgressBar, p: Progress) {
    // Whole seconds: milliseconds would only flicker.
    let sim = confsim_core::SimDuration::from_millis(p.sim_ms / 1000 * 1000);
    let of = p
        .until_ms
        .map(|u| format!(" of {}", confsim_core::SimDuration::from_millis(u)))
        .unwrap_or_default();
    let rate = if p.wall_secs > 0.0 {
        p.events as f64 / p.wall_secs
    } else {
        0.0
    };
    if p.until_ms.is_some() {
        bar.set_position(p.sim_ms);
    } else {
        bar.tick();
    }
    bar.set_message(format!(
        "simulated {sim}{of}  {} events  {}",
        thousands(p.events),
        events_rate(rate)
    ));
}

fn events_rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M events/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k events/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} events/s")
    }
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
    let bar = progress_bar(args.quiet, scenario.until.map(|u| u.0.as_millis()));
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
        let out: Box<dyn Write + Send> = match journal {
            Some(file) => Box::new(file),
            None => Box::new(std::io::sink()),
        };
        let (report, _) =
            confsim_scenario::run_with_progress(&scenario, &options, out, &mut |p| show(&bar, p))
                .with_context(|| format!("running {} (seed {seed})", args.scenario.display()))?;
        report
    };
    bar.finish_and_clear();

    let described: Vec<String> = scenario
        .expect
        .iter()
        .map(confsim_scenario::expect::describe)
        .collect();
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("{}: cannot write the report", path.display()))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, confsim_scenario::html::render(&report, &described))
            .with_context(|| format!("{}: cannot write the HTML report", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
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
            bar.set_prefix(format!("run {round}/2 "));
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
        let difference = first_difference(BufReader::new(&first), BufReader::new(&second))?;
        return Ok(Err(difference.unwrap_or_else(|| {
            "the journals' digests differ, yet every line is equal (line endings?)".to_owned()
        })));
    }
    if let Some(mut out) = journal {
        first.rewind()?;
        std::io::copy(&mut first, &mut out).context("writing the journal")?;
        out.flush()?;
    }
    Ok(Ok(first_report))
}

/// Where two journals first differ, named as a user reads a journal: the header is line 1,
/// record `seq` n is line n + 1. `None` when they are equal line by line.
fn first_difference(a: impl BufRead, b: impl BufRead) -> std::io::Result<Option<String>> {
    let mut a = a.lines();
    let mut b = b.lines();
    let mut line = 0u64;
    loop {
        line += 1;
        match (a.next().transpose()?, b.next().transpose()?) {
            (None, None) => return Ok(None),
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                let show = |l: Option<String>| l.unwrap_or_else(|| "(end of journal)".to_owned());
                let which = if line == 1 {
                    "the header (line 1)".to_owned()
                } else {
                    format!("record seq {} (line {line})", line - 1)
                };
                return Ok(Some(format!(
                    "the journals differ first at {which}:\n  first run:  {}\n  second run: {}",
                    show(x),
                    show(y)
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(a: &str, b: &str) -> Option<String> {
        first_difference(a.as_bytes(), b.as_bytes()).unwrap()
    }

    #[test]
    fn the_first_differing_record_is_named_by_its_seq() {
        let a = "{\"format\":1}\n{\"seq\":1,\"x\":1}\n{\"seq\":2,\"x\":2}\n{\"seq\":3,\"x\":3}\n";
        let b = "{\"format\":1}\n{\"seq\":1,\"x\":1}\n{\"seq\":2,\"x\":9}\n{\"seq\":3,\"x\":8}\n";
        assert_eq!(diff(a, a), None);
        assert_eq!(
            diff(a, b).unwrap(),
            "the journals differ first at record seq 2 (line 3):\n  first run:  {\"seq\":2,\"x\":2}\n  second run: {\"seq\":2,\"x\":9}"
        );
    }

    #[test]
    fn a_different_header_or_a_shorter_journal_is_named_too() {
        assert!(
            diff("{\"seed\":1}\n", "{\"seed\":2}\n")
                .unwrap()
                .starts_with("the journals differ first at the header (line 1):")
        );
        assert!(
            diff("h\nr1\nr2\n", "h\nr1\n")
                .unwrap()
                .ends_with("first run:  r2\n  second run: (end of journal)")
        );
    }

    #[test]
    fn rates_read_in_events_per_second() {
        assert_eq!(events_rate(12.0), "12 events/s");
        assert_eq!(events_rate(12_345.0), "12.3 k events/s");
        assert_eq!(events_rate(2_500_000.0), "2.50 M events/s");
    }
}
