//! The scenario crate's errors.

use std::path::PathBuf;

pub type Result<T, E = ScenarioError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{}: {error}", file.display())]
    Read {
        file: PathBuf,
        error: std::io::Error,
    },
    /// A scenario that is not valid: where, and why.
    #[error("{}{}: {}{}", file.display(), location(*line, *column), if path.is_empty() { String::new() } else { format!("{path}: ") }, message)]
    Invalid {
        file: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        path: String,
        message: String,
    },
    /// A journal that cannot be read (`confsim report`).
    #[error("{}: {error}", file.display())]
    Journal {
        file: PathBuf,
        error: confsim_journal::JournalError,
    },
    /// A sweep's `--vary` that does not fit the scenario, or sweep files that do not fit
    /// together: what, and why.
    #[error("{}: {message}", file.display())]
    Sweep { file: PathBuf, message: String },
    /// Writing a sweep's or a report's files.
    #[error("{}: {error}", file.display())]
    Write {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] confsim_engine::EngineError),
}

/// `:line:column` (or `:line`, or nothing) after a file name in an error message: the one
/// format every confsim error that points into a file uses (scenarios, platform files).
pub fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl ScenarioError {
    /// Whether the error is the user's input (exit code 2) rather than the run failing.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            ScenarioError::Read { .. }
                | ScenarioError::Invalid { .. }
                | ScenarioError::Journal { .. }
                | ScenarioError::Sweep { .. }
        )
    }
}
