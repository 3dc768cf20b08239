//! The journal crate's errors.

use std::path::PathBuf;

pub type Result<T, E = JournalError> = std::result::Result<T, E>;

/// Why a journal could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("writing the journal: {0}")]
    Write(std::io::Error),
    #[error("line {line}: {reason}")]
    Malformed { line: u64, reason: String },
    #[error(
        "line {line}: expected seq {expected}, found {found}: records are missing or out of order"
    )]
    Gap {
        line: u64,
        expected: u64,
        found: u64,
    },
}
