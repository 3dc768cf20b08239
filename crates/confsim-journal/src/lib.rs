//! confsim's journal: JSON Lines, a header line, then one record a line with `seq` and `at`.
//!
//! One writer owns a journal (`JournalWriter`); it stamps `seq`, formats records, keeps the
//! digest of every byte, and writes through a 64 KiB buffer. `PipedJournal` runs that writer on a
//! thread of its own, fed batches of records, for runs that should not pay for it on the engine's
//! thread. `JournalReader` reads a journal
//! back, keeping every complete record of a journal whose last line was torn by a crash;
//! `read_loose` reads any journal (a capture's unknown events included) with its fields as written.
//! The format is product.md §4; nothing here reads a clock.

mod error;
mod header;
mod loose;
mod piped;
mod reader;
mod writer;

pub use error::{JournalError, Result};
pub use header::{CAPTURE, FORMAT, Header, Source, VERSION};
pub use loose::{LooseJournal, LooseKind, LooseRecord, parse_loose, read_loose, read_loose_file};
pub use piped::{BoxedTap, PipedJournal, RecordTap};
pub use reader::{AnyRecord, JournalReader, Stamped, TornTail, parse_line, read_all};
pub use writer::{JournalWriter, Summary, write_record};
