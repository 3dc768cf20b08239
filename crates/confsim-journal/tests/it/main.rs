//! Writing a journal and reading it back: round trips, the digest, torn tails, and journals
//! that are not journals.

use confsim_core::event::{Content, EventType};
use confsim_core::{
    AgentGroup, AgentId, AgentSet, ConfId, Event, Input, InputRecord, Op, PlatformConfig, Record,
    Response, SimTime,
};
use confsim_journal::{Header, JournalError, JournalReader, JournalWriter, read_all};
use serde_json::json;
use std::io::Cursor;

mod fuzz_corpus;

fn header() -> Header {
    let roster = vec![AgentGroup::new(AgentSet::Range(101, 110))];
    Header::new(
        "t",
        42,
        SimTime::parse_rfc3339("2026-01-05T09:00:00Z").unwrap(),
        PlatformConfig::default(),
        roster,
    )
}

fn records() -> Vec<(SimTime, Record)> {
    let t0 = SimTime::parse_rfc3339("2026-01-05T09:00:00Z").unwrap();
    let input = Input::new(Op::RequestAgentConf, "101", json!({"memberNum": 4}));
    vec![
        (
            t0,
            Record::input(InputRecord::new(input, Response::success(json!({})))),
        ),
        (
            t0,
            Record::Event(Event::new(
                EventType::AgentStateBusy,
                AgentId(101),
                Content::Null,
            )),
        ),
        (
            t0,
            Record::Event(Event::new(
                EventType::AgentConfRequestSuccess,
                AgentId(101),
                Content::Conf(ConfId(1030400)),
            )),
        ),
    ]
}

fn written() -> (Vec<u8>, String) {
    let mut w = JournalWriter::new(Vec::new(), &header()).unwrap();
    for (at, r) in records() {
        w.append(at, &r).unwrap();
    }
    let (summary, bytes) = w.finish().unwrap();
    assert_eq!(summary.records, 3);
    assert_eq!(summary.bytes, bytes.len() as u64);
    (bytes, summary.digest)
}

fn read(
    bytes: &[u8],
) -> Result<
    (
        Vec<confsim_journal::Stamped>,
        Option<confsim_journal::TornTail>,
    ),
    JournalError,
> {
    let mut reader = JournalReader::new(Cursor::new(bytes))?;
    let mut out = Vec::new();
    for r in reader.by_ref() {
        out.push(r?);
    }
    Ok((out, reader.torn_tail().cloned()))
}

#[test]
fn records_round_trip_with_their_stamps() {
    let (bytes, _) = written();
    let reader = JournalReader::new(Cursor::new(&bytes)).unwrap();
    assert_eq!(reader.header(), &header());
    let (got, torn) = read(&bytes).unwrap();
    assert_eq!(torn, None);
    let expected: Vec<_> = records().into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        got.iter().map(|s| s.record.clone()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(got.iter().map(|s| s.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(
        got.iter().map(|s| s.line).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
}

#[test]
fn the_digest_is_blake3_of_every_byte() {
    let (bytes, digest) = written();
    assert_eq!(digest, blake3::hash(&bytes).to_hex().to_string());
}

#[test]
fn a_torn_last_line_keeps_every_complete_record() {
    let (bytes, _) = written();
    // Cut the file in the middle of the last record, as a crash mid-write would.
    let cut = bytes.len() - 20;
    let (got, torn) = read(&bytes[..cut]).unwrap();
    assert_eq!(got.len(), 2);
    let torn = torn.unwrap();
    assert_eq!(torn.line, 4);
    assert!(torn.bytes > 0);
    // A record that lost only its newline is torn too: a complete record ends in "\n".
    let (got, torn) = read(&bytes[..bytes.len() - 1]).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(torn.unwrap().line, 4);
}

#[test]
fn a_file_read_from_disk_reports_its_torn_tail() {
    let (bytes, _) = written();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let (h, records, torn) = read_all(&path).unwrap();
    assert_eq!(h.seed, 42);
    assert_eq!(records.len(), 2);
    assert!(torn.is_some());
    let missing = read_all(&dir.path().join("none.jsonl")).unwrap_err();
    assert!(missing.to_string().contains("none.jsonl"), "{missing}");
}

#[test]
fn garbage_in_the_middle_is_an_error_naming_the_line() {
    let (bytes, _) = written();
    let text = String::from_utf8(bytes).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{not json";
    let broken = lines.join("\n") + "\n";
    let err = read(broken.as_bytes()).unwrap_err();
    assert!(
        matches!(err, JournalError::Malformed { line: 3, .. }),
        "{err}"
    );
}

#[test]
fn a_gap_or_disorder_in_seq_is_an_error() {
    let (bytes, _) = written();
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let without_second = [lines[0], lines[1], lines[3]].join("\n") + "\n";
    let err = read(without_second.as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            JournalError::Gap {
                line: 3,
                expected: 2,
                found: 3
            }
        ),
        "{err}"
    );
    let swapped = [lines[0], lines[2], lines[1], lines[3]].join("\n") + "\n";
    assert!(matches!(
        read(swapped.as_bytes()).unwrap_err(),
        JournalError::Gap {
            line: 2,
            expected: 1,
            found: 2
        }
    ));
}

#[test]
fn files_that_are_not_journals_are_refused_at_line_one() {
    for (text, needle) in [
        ("", "empty"),
        ("{\"format\":\"confsim-journal\"", "incomplete"),
        ("hello\n", "not JSON"),
        ("{\"format\":\"other\"}\n", "not a confsim journal"),
        (
            "{\"format\":\"confsim-journal\",\"version\":99}\n",
            "invalid header",
        ),
    ] {
        let err = JournalReader::new(Cursor::new(text.as_bytes())).unwrap_err();
        assert!(
            matches!(err, JournalError::Malformed { line: 1, .. }),
            "{text:?}: {err}"
        );
        assert!(err.to_string().contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn records_with_wrong_shapes_are_refused() {
    let (bytes, _) = written();
    let head = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    for (line, needle) in [
        (
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentConf_Nope","workNo":"101","content":null}"#,
            "unknown eventType",
        ),
        (
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentConf_Timeout","workNo":"101","content":null}"#,
            "is not what",
        ),
        (
            r#"{"seq":1,"at":"yesterday","eventType":"AgentState_Busy","workNo":"101","content":null}"#,
            "\"at\"",
        ),
        (
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Busy","workNo":"101","content":null,"x":1}"#,
            "unexpected key",
        ),
        (
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z"}"#,
            "needs \"eventType\"",
        ),
        (
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","op":"requestAgentConf","agentId":"101","body":{}}"#,
            "missing \"response\"",
        ),
    ] {
        let text = format!("{head}\n{line}\n");
        let err = read(text.as_bytes()).unwrap_err();
        assert!(
            matches!(err, JournalError::Malformed { line: 2, .. }),
            "{line}: {err}"
        );
        assert!(err.to_string().contains(needle), "{line}: {err}");
    }
}
