//! The `confsim` command line: `run`, `validate`, `replay` and `serve` (product.md §2), `record`
//! and `convert` (§8), `sweep` and `report` (§10), and
//! `schema`, `completions` and `man` for editors, shells and manual pages.
//!
//! Exit codes for every subcommand: 0 success; 1 the run worked but what it checks did not
//! hold (a failed expectation, journals that differ under `--check-determinism`); 2 bad input
//! or usage. Errors are one sentence on stderr naming the file (and for JSON the line, column
//! and path); never a panic for bad input.

mod convert;
mod record;
mod replay;
mod report;
mod run;
mod serve;
mod sweep;
mod tools;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "confsim",
    version,
    about = "Simulates the platform side of AgentGateway agent conferences, deterministically."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and print a summary (or, with --json, the report as one JSON object).
    Run(RunArgs),
    /// Check a scenario without running it.
    Validate {
        /// The scenario file (JSON).
        scenario: PathBuf,
    },
    /// Re-execute captured journals and compare every record (exit 1 if any diverged).
    Replay(replay::ReplayArgs),
    /// Serve the vendor's AgentGateway HTTP interface over the simulated platform.
    Serve(serve::ServeArgs),
    /// Forward clients to a real gateway and capture the session as a journal.
    Record(record::RecordArgs),
    /// Turn a journal (a capture, a serve session, a run) into an editable scenario.
    Convert(convert::ConvertArgs),
    /// Run a scenario over a grid of varied values and seeds; write runs.csv, cells.csv,
    /// sweep.json and sweep.html (exit 1 if any run's expectations failed).
    Sweep(sweep::SweepArgs),
    /// The report (and with --html the page) of a journal, after the fact.
    Report(report::ReportArgs),
    /// Print the JSON Schema (draft 2020-12) of the scenario or the platform file format.
    Schema {
        /// Which file format.
        #[arg(value_enum, default_value_t = tools::SchemaKind::Scenario)]
        kind: tools::SchemaKind,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (confsim.1 and one per subcommand) into a folder.
    Man {
        /// The folder (created if missing).
        #[arg(long, short = 'o', value_name = "DIR", default_value = "man")]
        out: PathBuf,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum ClockArg {
    /// As fast as possible: jump to each next deadline.
    Virtual,
    /// Real time, scaled by --speed.
    Wall,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The scenario file (JSON).
    scenario: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Write the journal (JSON Lines) to this file; it must not exist yet.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Write the report (JSON) to this file.
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    /// Write a self-contained HTML page (charts, expectations) to this file.
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
    /// Print the report as one JSON object on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// How simulated time passes.
    #[arg(long, value_enum, default_value_t = ClockArg::Virtual)]
    clock: ClockArg,
    /// With --clock wall: simulated time runs this many times faster than real time.
    #[arg(long, value_name = "X")]
    speed: Option<f64>,
    /// Run twice and fail (exit 1) unless both journals are byte-identical.
    #[arg(long)]
    check_determinism: bool,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
}

/// A reader that went away (`confsim run … | head`) ends the output, not the program with a
/// panic: Rust ignores `SIGPIPE`, so a write to a closed pipe fails, and `println!` panics on
/// a failed write. The hook ends the process quietly instead (exit 0, as `head`'s user expects
/// from a tool whose output was cut short on purpose); every other panic is reported as usual.
fn quiet_on_broken_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Validate { scenario } => run::validate(&scenario),
        Command::Replay(args) => replay::replay(args),
        Command::Serve(args) => serve::serve(args),
        Command::Record(args) => record::record(args),
        Command::Convert(args) => convert::convert(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Report(args) => report::report(args),
        Command::Schema { kind } => tools::schema(kind),
        Command::Completions { shell } => tools::completions(shell),
        Command::Man { out } => tools::man(&out),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("confsim: {err:#}");
            ExitCode::from(2)
        }
    }
}
