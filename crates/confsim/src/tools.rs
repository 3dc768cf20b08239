//! `confsim schema`, `confsim completions` and `confsim man`: what editors, shells and `man`
//! need, generated from the same definitions the tool itself uses (the parser's types, the
//! command line's clap definition), so they cannot drift from it.

use anyhow::{Context, Result};
use clap::{CommandFactory, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Which file format's schema.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// A scenario file (`confsim run`, `validate`, `sweep`).
    Scenario,
    /// A platform file (`confsim serve --platform`).
    Platform,
}

/// Prints the JSON Schema (draft 2020-12) of a file format.
pub fn schema(kind: SchemaKind) -> Result<ExitCode> {
    let schema = match kind {
        SchemaKind::Scenario => confsim_scenario::schema::scenario_schema(),
        SchemaKind::Platform => confsim_gateway::platform_file_schema(),
    };
    let mut text = serde_json::to_string_pretty(&schema)?;
    text.push('\n');
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // `confsim schema scenario | head` is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => other.map(|()| ExitCode::SUCCESS).map_err(Into::into),
    }
}

/// Prints a completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut command = crate::Cli::command();
    clap_complete::generate(shell, &mut command, "confsim", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// Writes `confsim.1` and one page per subcommand (`confsim-run.1`, …) into `dir`.
pub fn man(dir: &Path) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let command = crate::Cli::command();
    let written = write_pages(&command, dir, "confsim", "confsim")?;
    for page in &written {
        println!("{}", page.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The page of `command` (`name` as a file, `usage` as typed) and of its subcommands.
fn write_pages(
    command: &clap::Command,
    dir: &Path,
    name: &str,
    usage: &str,
) -> Result<Vec<PathBuf>> {
    let command = command
        .clone()
        .display_name(name.to_owned())
        .bin_name(usage.to_owned());
    let path = dir.join(format!("{name}.1"));
    let mut bytes = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut bytes)?;
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    let mut written = vec![path];
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_name = format!("{name}-{}", sub.get_name());
        let sub_usage = format!("{usage} {}", sub.get_name());
        written.extend(write_pages(sub, dir, &sub_name, &sub_usage)?);
    }
    Ok(written)
}
