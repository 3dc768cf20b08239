//! The comparison: the `Write` sink of the replaying engine's journal, which checks every line
//! the engine writes against the recorded journal's line at the same position.
//!
//! Bytes first. The writer is deterministic, so a record the replay reproduces is, byte for
//! byte, the recorded line, and the common case costs one comparison against the recorded
//! file's read buffer: no copy, no JSON. Only a line whose bytes differ is parsed (both sides):
//! the recorded one through the journal's own parser, so a line that is not a record makes the
//! file "not a journal" (exit 2) rather than a divergence, and both as JSON values to name the
//! fields that differ. Lines equal as JSON values (another writer's spacing or key order) match,
//! and are counted as reformatted.
//!
//! The header line is compared too, but cannot diverge: the replay's header is the recorded
//! one parsed and written again, so a difference is only this build's normal form (a key added
//! with its default value, another key order), which is reported as such. Refusing every journal
//! captured before a new platform setting existed would make a corpus useless; a default that
//! changes behaviour shows in the records.
//!
//! Positions, not content, pair the lines up: line n of the replay is compared with line n of
//! the journal. A record that went missing therefore shifts everything after it, and every
//! shifted line counts as a difference; the first divergence is what a user needs, and it is
//! exact.
//!
//! The engine's writer hands bytes over in 64 KiB batches, so the comparison runs behind the
//! engine; that is fine, since nothing the driver decides depends on it.

use crate::error::ReplayError;
use crate::outcome::{Cause, Divergence, DivergenceKind, FieldDiff};
use crate::scan::written_input;
use confsim_core::record::Record;
use confsim_journal::parse_line;
use serde_json::Value;
use std::io::{BufRead, Write};

/// How far the recorded journal goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum End {
    /// Lines remain (as far as has been read).
    Open,
    /// It ended after a complete line: anything the replay produces further is extra.
    Clean,
    /// It ended in a torn line: the crash that tore it lost whatever came after, so what the
    /// replay produces from there on is not compared.
    Torn,
}

/// What the comparison has counted.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Tally {
    /// Lines (the header included) identical to the recorded ones.
    pub matched: u64,
    pub reformatted: u64,
    pub differences: u64,
    pub after_torn_tail: u64,
    pub first: Option<Divergence>,
    /// Set when the recorded header is not in this build's normal form: the fields that
    /// differ (empty when only spacing or key order does).
    pub header_normalized: Option<Vec<FieldDiff>>,
}

/// Compares what it is written with the recorded journal read from `recorded`.
#[derive(Debug)]
pub(crate) struct Comparator<R> {
    journal: String,
    recorded: R,
    /// A recorded line, when it could not be compared inside the read buffer.
    line_buf: Vec<u8>,
    /// Produced bytes of a line not yet complete.
    pending: Vec<u8>,
    /// The line number (1: the header) of the next line produced.
    next_line: u64,
    end: End,
    /// The last recorded input line seen (without its `\n`) and its line number (0: none), for
    /// naming the cause of a divergence. Copied because inputs are few and a divergence is
    /// rare: parsing it is left until one happens.
    last_input: Vec<u8>,
    last_input_line: u64,
    tally: Tally,
    /// The first failure on the recorded side (a read error, a line that is not a record).
    /// Once set, the rest of the replay is not compared, and the replay reports it instead of
    /// a verdict. Kept here rather than returned from `write`, which would reach the driver as
    /// a journal *write* error with the cause lost.
    error: Option<ReplayError>,
}

impl<R: BufRead> Comparator<R> {
    /// Compares against the journal read from `recorded`, from its first line (the header).
    pub fn new(journal: &str, recorded: R) -> Self {
        Comparator {
            journal: journal.to_owned(),
            recorded,
            line_buf: Vec::new(),
            pending: Vec::new(),
            next_line: 1,
            end: End::Open,
            last_input: Vec::new(),
            last_input_line: 0,
            tally: Tally::default(),
            error: None,
        }
    }

    /// Ends the comparison once the engine has written everything: every recorded line the
    /// replay did not produce is a difference (and is checked to be a record).
    pub fn finish(mut self) -> Result<Tally, ReplayError> {
        if !self.pending.is_empty() {
            // The writer only ever writes whole lines; compare a stray partial one all the same.
            let mut line = std::mem::take(&mut self.pending);
            line.push(b'\n');
            self.compare_line(&line);
        }
        while self.error.is_none() && self.end == End::Open {
            let mut buf = std::mem::take(&mut self.line_buf);
            buf.clear();
            match self.recorded.read_until(b'\n', &mut buf) {
                Err(error) => self.fail(ReplayError::io(&self.journal, error)),
                Ok(_) if buf.last() != Some(&b'\n') => {
                    self.end = if buf.is_empty() {
                        End::Clean
                    } else {
                        End::Torn
                    };
                }
                Ok(_) => {
                    let line = self.next_line;
                    self.next_line += 1;
                    self.missing(line, &buf[..buf.len() - 1]);
                }
            }
            self.line_buf = buf;
        }
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.tally),
        }
    }

    fn fail(&mut self, error: ReplayError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    /// Compares one produced line (with its `\n`).
    fn compare_line(&mut self, produced: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let line = self.next_line;
        self.next_line += 1;
        if self.end == End::Open {
            // The fast path: the recorded bytes are in the read buffer and equal, `\n`
            // included (so a torn last line can never match here).
            match self.recorded.fill_buf() {
                Ok(available) if available.starts_with(produced) => {
                    self.recorded.consume(produced.len());
                    self.matched(line, produced);
                    return;
                }
                Ok(_) => {}
                Err(error) => return self.fail(ReplayError::io(&self.journal, error)),
            }
            let mut recorded = std::mem::take(&mut self.line_buf);
            recorded.clear();
            match self.recorded.read_until(b'\n', &mut recorded) {
                Err(error) => self.fail(ReplayError::io(&self.journal, error)),
                Ok(_) if recorded.last() != Some(&b'\n') => {
                    self.end = if recorded.is_empty() {
                        End::Clean
                    } else {
                        End::Torn
                    };
                }
                // The line straddled the end of the read buffer.
                Ok(_) if recorded == produced => self.matched(line, produced),
                Ok(_) => self.differs(
                    line,
                    &recorded[..recorded.len() - 1],
                    &produced[..produced.len() - 1],
                ),
            }
            self.line_buf = recorded;
            if self.end == End::Open {
                return;
            }
        }
        match self.end {
            End::Open => {}
            End::Torn => self.tally.after_torn_tail += 1,
            End::Clean => self.extra(line, &produced[..produced.len() - 1]),
        }
    }

    fn matched(&mut self, line: u64, bytes: &[u8]) {
        self.tally.matched += 1;
        if line > 1 && written_input(bytes) {
            self.note_input(line, &bytes[..bytes.len() - 1]);
        }
    }

    fn note_input(&mut self, line: u64, bytes: &[u8]) {
        self.last_input.clear();
        self.last_input.extend_from_slice(bytes);
        self.last_input_line = line;
    }

    /// Checks that a recorded line the replay could not take as identical is a record, and
    /// notes it if it is an input. `false` when it is not a record (the failure is kept).
    fn check_recorded(&mut self, line: u64, recorded: &[u8]) -> bool {
        match parse_line(recorded, line) {
            Ok(stamped) => {
                if matches!(stamped.record, Record::Input(_)) {
                    self.note_input(line, recorded);
                }
                true
            }
            // An event type or a content shape the model does not know is still a record: a
            // difference to show, not a file that is not a journal.
            Err(error) => match confsim_journal::parse_loose(recorded, line) {
                Ok(loose) => {
                    if matches!(loose.kind, confsim_journal::LooseKind::Input { .. }) {
                        self.note_input(line, recorded);
                    }
                    true
                }
                Err(_) => {
                    self.fail(ReplayError::journal(&self.journal, error));
                    false
                }
            },
        }
    }

    fn differs(&mut self, line: u64, recorded: &[u8], produced: &[u8]) {
        if line == 1 {
            // The lead cursor has checked the header; see the module's note on headers.
            let mut fields = Vec::new();
            diff_fields("", &json(recorded), &json(produced), &mut fields);
            self.tally.header_normalized = Some(fields);
            return;
        }
        if !self.check_recorded(line, recorded) {
            return;
        }
        let expected = json(recorded);
        let actual = json(produced);
        if expected == actual {
            self.tally.reformatted += 1;
            return;
        }
        self.difference(
            DivergenceKind::Differs,
            Some(line),
            line,
            Some(expected),
            Some(actual),
        );
    }

    fn missing(&mut self, line: u64, recorded: &[u8]) {
        if self.check_recorded(line, recorded) {
            let expected = json(recorded);
            self.difference(
                DivergenceKind::Missing,
                Some(line),
                line,
                Some(expected),
                None,
            );
        }
    }

    fn extra(&mut self, position: u64, produced: &[u8]) {
        let actual = json(produced);
        self.difference(DivergenceKind::Extra, None, position, None, Some(actual));
    }

    /// Counts a difference at line `position` of the journal (the replay's line for an extra
    /// record; never the header), and describes it if it is the first.
    fn difference(
        &mut self,
        kind: DivergenceKind,
        line: Option<u64>,
        position: u64,
        expected: Option<Value>,
        actual: Option<Value>,
    ) {
        self.tally.differences += 1;
        if self.tally.first.is_some() {
            return;
        }
        let at = expected
            .as_ref()
            .or(actual.as_ref())
            .and_then(|v| v.get("at"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let fields = match (&expected, &actual) {
            (Some(e), Some(a)) => {
                let mut fields = Vec::new();
                diff_fields("", e, a, &mut fields);
                fields
            }
            _ => Vec::new(),
        };
        self.tally.first = Some(Divergence {
            kind,
            seq: position - 1,
            line,
            at,
            cause: self.cause(),
            fields,
            expected,
            actual,
            in_capture: false,
        });
    }

    fn cause(&self) -> Option<Cause> {
        if self.last_input_line == 0 {
            return None;
        }
        let stamped = parse_line(&self.last_input, self.last_input_line).ok()?;
        match stamped.record {
            Record::Input(input) => Some(Cause {
                seq: stamped.seq,
                at: stamped.at.to_string(),
                op: input.op.name().to_owned(),
                agent: input.agent.to_string(),
            }),
            Record::Event(_) => None,
        }
    }
}

/// A line as a JSON value. The recorded side has been checked to be a record and the produced
/// side is the writer's own, so this does not fail; if it ever did, the raw text stands in.
fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Appends the fields that differ between two values: objects key by key (recorded order,
/// then keys only the replay has), anything else as a whole.
pub(crate) fn diff_fields(path: &str, expected: &Value, actual: &Value, out: &mut Vec<FieldDiff>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                match a.get(key) {
                    Some(av) => diff_fields(&join(key), ev, av, out),
                    None => out.push(FieldDiff {
                        field: join(key),
                        expected: Some(ev.clone()),
                        actual: None,
                    }),
                }
            }
            for (key, av) in a {
                if !e.contains_key(key) {
                    out.push(FieldDiff {
                        field: join(key),
                        expected: None,
                        actual: Some(av.clone()),
                    });
                }
            }
        }
        _ if expected == actual => {}
        _ => out.push(FieldDiff {
            field: if path.is_empty() {
                "(record)".to_owned()
            } else {
                path.to_owned()
            },
            expected: Some(expected.clone()),
            actual: Some(actual.clone()),
        }),
    }
}

impl<R: BufRead> Write for Comparator<R> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        if !self.pending.is_empty() {
            let Some(i) = memchr::memchr(b'\n', rest) else {
                self.pending.extend_from_slice(rest);
                return Ok(buf.len());
            };
            let mut line = std::mem::take(&mut self.pending);
            line.extend_from_slice(&rest[..=i]);
            self.compare_line(&line);
            line.clear();
            self.pending = line;
            rest = &rest[i + 1..];
        }
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.compare_line(&rest[..=i]);
            rest = &rest[i + 1..];
        }
        self.pending.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_named_by_their_path() {
        let mut out = Vec::new();
        diff_fields(
            "",
            &json!({"seq": 5, "content": {"confId": 1, "x": 2}, "gone": 1}),
            &json!({"seq": 5, "content": {"confId": 2, "x": 2}, "new": [1]}),
            &mut out,
        );
        let names: Vec<&str> = out.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["content.confId", "gone", "new"]);
        assert_eq!(out[1].actual, None);
        assert_eq!(out[2].expected, None);
    }

    #[test]
    fn lines_split_across_writes_are_compared_whole() {
        let recorded = b"{\"a\":1}\n{\"a\":2}\n";
        let mut c = Comparator::new("t", &recorded[..]);
        c.write_all(b"{\"a\":1}\n{\"a\"").unwrap();
        c.write_all(b":2}\n").unwrap();
        let tally = c.finish().unwrap();
        assert_eq!(tally.matched, 2);
        assert_eq!(tally.differences, 0);
    }
}
