//! The fuzzer's interesting inputs (`fuzz/`, target `journal_read`) as regression tests: every
//! file under `tests/fuzz-corpus/` is read as a journal, header and every record, as the fuzz
//! target does; none may panic, and reading stops at the first error.
//!
//! `CONFSIM_FUZZ_CORPUS=DIR` checks another directory instead (a whole fuzz corpus).

use confsim_journal::JournalReader;
use std::io::Cursor;
use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let dir = std::env::var_os("CONFSIM_FUZZ_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus"),
        PathBuf::from,
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Reads everything; the number of records read and whether it ended in an error.
fn read(bytes: &[u8]) -> (usize, bool) {
    let reader = match JournalReader::new(Cursor::new(bytes)) {
        Ok(reader) => reader,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return (0, true);
        }
    };
    let mut records = 0;
    let mut failed = false;
    for record in reader {
        match record {
            Ok(_) => records += 1,
            Err(error) => {
                assert!(!failed, "a record after an error");
                assert!(!error.to_string().is_empty());
                failed = true;
            }
        }
    }
    (records, failed)
}

#[test]
fn fuzz_corpus_reads_without_panicking() {
    let files = corpus();
    assert!(!files.is_empty(), "the fuzz corpus is empty");
    for file in &files {
        let bytes = std::fs::read(file).expect("a readable corpus file");
        if std::panic::catch_unwind(|| read(&bytes)).is_err() {
            panic!("the journal reader panicked on {}", file.display());
        }
    }
}
