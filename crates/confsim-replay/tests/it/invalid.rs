//! Files that are not journals: an error (exit 2 at the command line) naming the line and the
//! reason, the same line the journal's own reader names, and never a panic.

use crate::support::{bundled, join, split};
use confsim_journal::{JournalError, JournalReader};
use confsim_replay::{ReplayError, replay_bytes, replay_file};

fn not_a_journal(bytes: &[u8]) -> (u64, String) {
    let found = match replay_bytes("bad.jsonl", bytes) {
        Err(ReplayError::NotAJournal {
            journal,
            line,
            reason,
        }) => {
            assert_eq!(journal, "bad.jsonl");
            (line, reason)
        }
        Err(other) => panic!("expected not-a-journal, got {other}"),
        Ok(outcome) => panic!("expected not-a-journal, got {}", outcome.human()),
    };
    // From a file the inputs are read on a thread of their own: the same error, same line.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    match replay_file(&path) {
        Err(ReplayError::NotAJournal { line, reason, .. }) => {
            assert_eq!(
                (line, reason),
                found,
                "replay_file agrees with replay_bytes"
            );
        }
        Err(other) => panic!("expected not-a-journal from the file, got {other}"),
        Ok(outcome) => panic!(
            "expected not-a-journal from the file, got {}",
            outcome.human()
        ),
    }
    found
}

/// The line the journal's reader rejects, for comparison.
fn reader_error_line(bytes: &[u8]) -> u64 {
    let error = match JournalReader::new(bytes) {
        Err(e) => e,
        Ok(mut reader) => reader
            .find_map(Result::err)
            .expect("the reader accepts this journal"),
    };
    match error {
        JournalError::Malformed { line, .. } | JournalError::Gap { line, .. } => line,
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn garbage_is_not_a_journal_at_line_1() {
    for (bytes, reason) in [
        (&b""[..], "the file is empty"),
        (b"hello, world\n", "the header is not JSON"),
        (b"\x00\xff\xfe binary\n\x01", "the header is not JSON"),
        (b"{\"seq\":1}\n", "not a confsim journal"),
        (b"{\"format\":\"confsim-journal\"", "incomplete"),
    ] {
        let (line, why) = not_a_journal(bytes);
        assert_eq!(line, 1, "{why}");
        assert!(why.contains(reason), "{why}");
    }
}

#[test]
fn a_record_that_does_not_parse_in_the_middle_names_its_line() {
    let (header, records) = split(&bundled("seed-request"));
    // One not in the writer's form at all, and one that starts like the writer's lines but
    // breaks further on (caught by the comparison, not the lead cursor).
    for bad in [
        "not json".to_owned(),
        records[3].replace("\"content\":", "\"content\" "),
    ] {
        let mut edited = records.clone();
        edited[3] = bad.clone();
        let journal = join(&header, &edited);
        let (line, reason) = not_a_journal(&journal);
        assert_eq!(line, 5, "{bad}: {reason}");
        assert_eq!(line, reader_error_line(&journal));
    }
}

#[test]
fn an_event_type_or_content_the_model_does_not_know_is_a_divergence_not_an_error() {
    let (header, records) = split(&bundled("seed-request"));
    for bad in [
        records[3].replace("AgentOther_PhoneOffhook", "AgentOther_PhoneOffhooked"),
        records[3].replace("{\"type\":\"main\"}", "[\"main\"]"),
    ] {
        let mut edited = records.clone();
        edited[3] = bad.clone();
        let outcome = replay_bytes("edited.jsonl", &join(&header, &edited)).unwrap();
        assert!(!outcome.ok, "{bad}");
        let first = outcome.first_divergence.as_ref().unwrap();
        assert_eq!((first.seq, first.line), (4, Some(5)), "{bad}");
    }
}

#[test]
fn a_gap_in_seq_names_its_line() {
    let (header, mut records) = split(&bundled("seed-request"));
    records.remove(4);
    let journal = join(&header, &records);
    let (line, reason) = not_a_journal(&journal);
    assert_eq!(line, 6);
    assert!(reason.contains("expected seq 5, found 6"), "{reason}");
    assert_eq!(line, reader_error_line(&journal));
}

#[test]
fn errors_name_the_file_and_line_in_one_sentence() {
    let err = replay_bytes("x.jsonl", b"nope\n").unwrap_err();
    assert!(err.is_bad_input());
    let text = err.to_string();
    assert!(text.starts_with("x.jsonl:1: "), "{text}");
    assert!(!text.contains('\n'), "{text}");
    let missing =
        confsim_replay::replay_file(std::path::Path::new("/no/such/journal.jsonl")).unwrap_err();
    assert!(matches!(missing, ReplayError::Io { .. }));
    assert!(missing.to_string().starts_with("/no/such/journal.jsonl: "));
}

/// Every single-byte corruption of a journal is answered (identical, diverged or not a
/// journal), never with a panic.
#[test]
fn corrupted_bytes_never_panic() {
    let journal = bundled("from-a-call");
    let mut answered = 0;
    for at in (0..journal.len()).step_by(3) {
        for byte in [b'"', b'}', b'9', b'\n', b' ', 0xff] {
            let mut bad = journal.clone();
            bad[at] = byte;
            let result = std::panic::catch_unwind(|| replay_bytes("corrupt", &bad).map(|_| ()));
            assert!(result.is_ok(), "panicked with byte {byte} at offset {at}");
            answered += 1;
        }
    }
    assert!(answered > 1000);
}
