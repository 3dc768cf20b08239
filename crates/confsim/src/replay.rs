//! `confsim replay`: re-executes captured journals and compares (product.md §4.3); a capture
//! of a real gateway by what a model can match (§8.2: `--tolerance-ms`, `--platform`).
//!
//! One journal file: its verdict (and, when it diverged, the first divergence in detail), or
//! with `--json` that outcome as one JSON object. Several journals or a directory: a verdict
//! per journal and a summary, or with `--json` one object `{"journals": [...], "summary": {...}}`.
//! Exit code 2 if any journal could not be replayed (not a journal, unreadable), else 1 if any
//! diverged, else 0.

use anyhow::{Context, Result};
use confsim_replay::{Replayed, Summary};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Journals (JSON Lines), or directories whose *.jsonl files are all replayed in name order.
    #[arg(required = true, value_name = "JOURNAL|DIR")]
    journals: Vec<PathBuf>,
    /// Print the outcome as one JSON object on stdout instead of the verdicts.
    #[arg(long)]
    json: bool,
    /// Also write a JUnit XML report, one test case per journal (the file is replaced).
    #[arg(long, value_name = "FILE.xml")]
    junit: Option<PathBuf>,
    /// Captures (`confsim record`): an event matches within this many ms of its recorded time.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    tolerance_ms: u64,
    /// Captures: replay against this platform configuration (the file `serve --platform`
    /// takes) instead of the capture header's. Other journals replay with their own.
    #[arg(long, value_name = "FILE.json")]
    platform: Option<PathBuf>,
}

pub fn replay(args: ReplayArgs) -> Result<ExitCode> {
    // A single file keeps the single-journal output (and JSON shape); anything else is a corpus.
    let single = args.journals.len() == 1 && !args.journals[0].is_dir();
    let journals = confsim_replay::expand(&args.journals)?;
    let mut options = confsim_replay::CaptureOptions {
        tolerance_ms: args.tolerance_ms,
        platform: None,
    };
    if let Some(file) = &args.platform {
        let (platform, agents) = confsim_gateway::load_platform_file(file)?;
        options.platform = Some((file.display().to_string(), platform, agents));
    }
    let replayed = confsim_replay::replay_all_with(&journals, &options);
    let summary = Summary::of(&replayed);

    if let Some(path) = &args.junit {
        std::fs::write(path, confsim_replay::junit(&replayed, &summary))
            .with_context(|| format!("{}: cannot write the JUnit report", path.display()))?;
    }

    if single {
        print_single(&replayed[0], args.json)?;
    } else if args.json {
        let journals: Vec<serde_json::Value> = replayed.iter().map(Replayed::to_json).collect();
        let all = serde_json::json!({ "journals": journals, "summary": summary });
        println!("{}", serde_json::to_string(&all)?);
    } else {
        for r in &replayed {
            print!("{}", r.human());
        }
        println!("{}", summary.line());
    }

    for r in &replayed {
        if let Err(error) = &r.result {
            // In corpus mode the error is on stdout too, with its journal's verdict; stderr
            // gets it as the one sentence every bad input gets.
            eprintln!("confsim: {error}");
        }
    }
    if summary.invalid > 0 {
        return Ok(ExitCode::from(2));
    }
    if summary.diverged > 0 {
        let diverged: Vec<String> = replayed
            .iter()
            .filter_map(|r| {
                let outcome = r.result.as_ref().ok()?;
                let d = outcome.first_divergence.as_ref()?;
                Some(format!("{} at {}", outcome.journal, d.position()))
            })
            .collect();
        eprintln!("confsim: replay diverged: {}", diverged.join("; "));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_single(replayed: &Replayed, json: bool) -> Result<()> {
    // A journal that could not be replayed prints nothing on stdout: its error goes to
    // stderr (exit 2), as for every bad input.
    let Ok(outcome) = &replayed.result else {
        return Ok(());
    };
    if json {
        println!("{}", serde_json::to_string(outcome)?);
    } else {
        print!("{}", outcome.human());
    }
    Ok(())
}
