//! The fuzzer's interesting inputs (`fuzz/`, target `scenario_parse`) as regression tests:
//! every file under `tests/fuzz-corpus/` goes through the parser as the fuzz target does; none
//! may panic, and every error must name the file, line and column.
//!
//! `CONFSIM_FUZZ_CORPUS=DIR` checks another directory instead (a whole fuzz corpus).

use confsim_scenario::ScenarioError;
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

#[test]
fn fuzz_corpus_parses_or_fails_with_a_location() {
    let files = corpus();
    assert!(!files.is_empty(), "the fuzz corpus is empty");
    let mut unlocated = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("a readable corpus file");
        let text = String::from_utf8_lossy(&bytes);
        let outcome = std::panic::catch_unwind(|| {
            confsim_scenario::parse(&text, Path::new("fuzz.json")).err()
        });
        let Ok(error) = outcome else {
            panic!("the parser panicked on {}", file.display());
        };
        match error {
            None => {}
            Some(ScenarioError::Invalid {
                line: Some(_),
                column: Some(_),
                ..
            }) => {
                let message = error.map(|e| e.to_string()).unwrap_or_default();
                let (line, column) = message
                    .strip_prefix("fuzz.json:")
                    .and_then(|rest| rest.split_once(':'))
                    .and_then(|(line, rest)| Some((line, rest.split_once(':')?.0)))
                    .unwrap_or_default();
                assert!(
                    line.parse::<usize>().is_ok() && column.parse::<usize>().is_ok(),
                    "{}: the message does not start with fuzz.json:LINE:COLUMN: {message}",
                    file.display()
                );
            }
            Some(other) => unlocated.push(format!("{}: {other}", file.display())),
        }
    }
    assert!(
        unlocated.is_empty(),
        "errors without a line and column:\n{}",
        unlocated.join("\n")
    );
}
