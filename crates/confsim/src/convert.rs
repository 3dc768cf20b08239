//! `confsim convert JOURNAL [-o SCENARIO.json]` (product.md §8.3): any journal as an editable
//! scenario (`confsim_scenario::convert`), written to a new file or to stdout; what the model
//! does not know (and so cannot be a step or an expectation) is named on stderr.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// The journal: a capture (`confsim record`), a `serve` session's, a run's.
    journal: PathBuf,
    /// Write the scenario to this file (it must not exist yet); default: stdout.
    #[arg(long, short = 'o', value_name = "SCENARIO.json")]
    out: Option<PathBuf>,
}

pub fn convert(args: ConvertArgs) -> Result<ExitCode> {
    let path = &args.journal;
    let journal = confsim_journal::read_loose_file(path)
        .with_context(|| format!("{}: not a journal", path.display()))?;
    if let Some(torn) = &journal.torn {
        eprintln!(
            "confsim: {}: line {} is torn ({} bytes without their newline); converted without it",
            path.display(),
            torn.line,
            torn.bytes
        );
    }
    let name = path
        .file_stem()
        .map_or_else(|| "converted".into(), |s| s.to_string_lossy().into_owned());
    let converted =
        confsim_scenario::convert::convert(&journal, &name, &path.display().to_string());
    for (line, op) in &converted.unknown_ops {
        eprintln!(
            "confsim: {}: line {line}: op {op:?} is no operation of the model; no step for it",
            path.display()
        );
    }
    for (line, ty) in &converted.unknown_events {
        eprintln!(
            "confsim: {}: line {line}: event type {ty:?} is not one the model produces; left out of its agent's sequence",
            path.display()
        );
    }
    for agent in &converted.agents_out_of_range {
        eprintln!(
            "confsim: {}: agent {agent:?} is outside the platform's agentIdRange; no expectation for it",
            path.display()
        );
    }
    match &args.out {
        None => std::io::stdout()
            .write_all(converted.text.as_bytes())
            .context("writing the scenario to stdout")?,
        Some(out) => {
            if out.exists() {
                bail!(
                    "{}: the file exists; convert writes a new scenario only (remove it or give another -o)",
                    out.display()
                );
            }
            std::fs::write(out, &converted.text)
                .with_context(|| format!("{}: cannot write the scenario", out.display()))?;
            eprintln!(
                "{}: {} steps, {} sequence expectations",
                out.display(),
                converted.steps,
                converted.expectations
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
