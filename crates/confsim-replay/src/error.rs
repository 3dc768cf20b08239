//! The replay crate's errors: why a journal could not be replayed at all. A replay that ran
//! and found differences is not an error but an `Outcome` with the verdict `Diverged`.

use confsim_engine::EngineError;
use confsim_journal::JournalError;
use std::path::PathBuf;

pub type Result<T, E = ReplayError> = std::result::Result<T, E>;

/// Why a journal could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be opened or read.
    #[error("{journal}: {error}")]
    Io {
        journal: String,
        error: std::io::Error,
    },
    /// The file is not a journal: a bad header, a record that does not parse, a gap in `seq`.
    #[error("{journal}:{line}: {reason}")]
    NotAJournal {
        journal: String,
        line: u64,
        reason: String,
    },
    /// A directory to replay that holds no journal.
    #[error("{}: no journals (*.jsonl) in this directory", dir.display())]
    EmptyDirectory { dir: PathBuf },
    /// The engine failed. Replay journals into memory and clamps times, so this means a
    /// broken invariant rather than bad input; it is reported, never hidden.
    #[error("{journal}: the replay failed: {error}")]
    Engine { journal: String, error: EngineError },
}

impl ReplayError {
    /// Whether the error is the user's input (exit code 2) rather than a failure of the tool.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ReplayError::Engine { .. })
    }

    /// The journal error `error`, for the journal named `journal`.
    pub(crate) fn journal(journal: &str, error: JournalError) -> Self {
        let journal = journal.to_owned();
        match error {
            JournalError::Malformed { line, reason } => ReplayError::NotAJournal {
                journal,
                line,
                reason,
            },
            JournalError::Gap {
                line,
                expected,
                found,
            } => ReplayError::NotAJournal {
                journal,
                line,
                reason: format!(
                    "expected seq {expected}, found {found}: records are missing or out of order"
                ),
            },
            // The journal crate reports read failures as `Write` (its reader shares the
            // writer's variant); either way it is an I/O failure on this journal.
            JournalError::Io { error, .. } | JournalError::Write(error) => {
                ReplayError::Io { journal, error }
            }
        }
    }

    pub(crate) fn io(journal: &str, error: std::io::Error) -> Self {
        ReplayError::Io {
            journal: journal.to_owned(),
            error,
        }
    }
}
