//! `confsim report JOURNAL`: the report and the HTML page of any journal, after the fact.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The journal (JSON Lines) of a run or a `serve` session.
    journal: PathBuf,
    /// Print the report as one JSON object on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// Write a self-contained HTML page (charts, counts) to this file.
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
}

pub fn report(args: ReportArgs) -> Result<ExitCode> {
    let done = confsim_scenario::report_journal(&args.journal)?;
    let shown = args.journal.display();
    if let Some(tail) = &done.torn {
        eprintln!(
            "confsim: {shown}:{}: the last line is torn ({} bytes without a line end), left out of every figure",
            tail.line, tail.bytes
        );
    }
    if let Some(why) = &done.state_stopped {
        eprintln!(
            "confsim: {shown}: this build of the platform does not explain the journal ({why}): the timeline and active_conferences_at_end stop at that record"
        );
    }
    let report = &done.report;
    if let Some(path) = &args.html {
        std::fs::write(path, confsim_scenario::html::render(report, &[]))
            .with_context(|| format!("{}: cannot write the HTML report", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        print!("{}", report.human(&[]));
    }
    Ok(ExitCode::SUCCESS)
}
