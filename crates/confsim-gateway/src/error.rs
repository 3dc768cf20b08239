//! The gateway crate's errors: what stops a gateway from starting or running. Everything a
//! client sends is an *answer* (a `retcode`, or a 4xx for transport problems), never one of
//! these.

use confsim_scenario::error::location;
use std::path::PathBuf;

pub type Result<T, E = GatewayError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{}: {error}", file.display())]
    Read {
        file: PathBuf,
        error: std::io::Error,
    },
    /// A platform file that is not valid: where, and why (the scenario errors' format).
    #[error("{}{}: {}{}", file.display(), location(*line, *column), if path.is_empty() { String::new() } else { format!("{path}: ") }, message)]
    Invalid {
        file: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        path: String,
        message: String,
    },
    /// A certificate or key file that cannot serve TLS.
    #[error("{}: {message}", file.display())]
    Tls { file: PathBuf, message: String },
    /// A configuration value (a flag) that does not make sense.
    #[error("{0}")]
    Config(String),
    /// The socket could not be bound or served.
    #[error("{context}: {error}")]
    Io {
        context: String,
        error: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] confsim_engine::EngineError),
    /// A capture (`confsim record --journal`) that cannot be continued: not a journal.
    #[error("{}: {error}", file.display())]
    Capture {
        file: PathBuf,
        error: confsim_journal::JournalError,
    },
    #[error(transparent)]
    Journal(#[from] confsim_journal::JournalError),
    /// An existing journal that cannot be continued.
    #[error(transparent)]
    Resume(#[from] crate::journal::ResumeError),
}

impl GatewayError {
    /// Whether the error is the user's input (exit code 2) rather than the server failing.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            GatewayError::Read { .. }
                | GatewayError::Invalid { .. }
                | GatewayError::Tls { .. }
                | GatewayError::Config(_)
                | GatewayError::Capture { .. }
        )
    }
}
