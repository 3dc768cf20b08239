//! Writing a journal: stamping, formatting, digesting, buffering.
//!
//! Records are formatted by hand into one reusable buffer rather than through `serde_json`'s
//! generic path: an event record has a fixed shape and nothing in it needs escaping (event
//! names, decimal ids, the content shapes of `confsim_core::event::Content`), and this is the
//! hottest loop of a run. Values that can hold arbitrary text (an input's raw agent id and body,
//! the response) go through `serde_json`. A test checks the two paths agree byte for byte.
//!
//! The digest (BLAKE3) is updated over the same buffer before it is written, so it covers
//! exactly the bytes of the file, header included, and costs one pass per 64 KiB.

use crate::error::{JournalError, Result};
use crate::header::Header;
use confsim_core::event::Content;
use confsim_core::record::Record;
use confsim_core::time::{SimTime, TimeFormatter};
use std::io::Write;

const FLUSH_AT: usize = 64 * 1024;

/// What a finished journal amounts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Hex BLAKE3 digest of every byte written, header included.
    pub digest: String,
    pub records: u64,
    pub bytes: u64,
}

/// The one writer of a journal.
pub struct JournalWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    hasher: blake3::Hasher,
    time: TimeFormatter,
    last_seq: u64,
    bytes: u64,
}

impl<W: Write> std::fmt::Debug for JournalWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("last_seq", &self.last_seq)
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl<W: Write> JournalWriter<W> {
    /// Starts a journal on `out` with its header line.
    pub fn new(out: W, header: &Header) -> Result<Self> {
        let mut w = JournalWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            hasher: blake3::Hasher::new(),
            time: TimeFormatter::default(),
            last_seq: 0,
            bytes: 0,
        };
        serde_json::to_writer(&mut w.buf, header).map_err(|e| JournalError::Write(e.into()))?;
        w.buf.push(b'\n');
        Ok(w)
    }

    /// Continues a journal whose first bytes (its header line and every record up to `seq`
    /// `last_seq`, each line complete) are `existing`, already in the file behind `out`:
    /// the next record is `last_seq + 1`, and the digest and byte count cover `existing` and
    /// everything appended after it, so they equal those of the whole file. `existing` is read
    /// once, to the end, for the digest; nothing is written for it.
    pub fn resume(out: W, mut existing: impl std::io::Read, last_seq: u64) -> Result<Self> {
        let mut w = JournalWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            hasher: blake3::Hasher::new(),
            time: TimeFormatter::default(),
            last_seq,
            bytes: 0,
        };
        let mut chunk = vec![0u8; FLUSH_AT];
        loop {
            let n = match existing.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(JournalError::Write(e)),
            };
            w.hasher.update(&chunk[..n]);
            w.bytes += n as u64;
        }
        Ok(w)
    }

    /// Appends a record at simulated time `at`; returns its `seq`.
    pub fn append(&mut self, at: SimTime, record: &Record) -> Result<u64> {
        self.last_seq += 1;
        write_record(&mut self.buf, &mut self.time, self.last_seq, at, record);
        if self.buf.len() >= FLUSH_AT {
            self.drain()?;
        }
        Ok(self.last_seq)
    }

    /// Appends a record given as its fields (everything but `seq` and `at`, in order) at time
    /// `at`; returns its `seq`. For records taken as they are from outside the model (a
    /// capture's events, whose types and contents the model may not know); the bytes are what
    /// `serde_json` writes for the same fields, as for every other record.
    pub fn append_fields(
        &mut self,
        at: SimTime,
        fields: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<u64> {
        self.last_seq += 1;
        write_stamp(&mut self.buf, &mut self.time, self.last_seq, at);
        for (key, value) in fields {
            self.buf.push(b',');
            write_str(&mut self.buf, key);
            self.buf.push(b':');
            write_value(&mut self.buf, value);
        }
        self.buf.extend_from_slice(b"}\n");
        if self.buf.len() >= FLUSH_AT {
            self.drain()?;
        }
        Ok(self.last_seq)
    }

    /// The `seq` of the last record appended (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn drain(&mut self) -> Result<()> {
        self.hasher.update(&self.buf);
        self.bytes += self.buf.len() as u64;
        self.out.write_all(&self.buf).map_err(JournalError::Write)?;
        self.buf.clear();
        Ok(())
    }

    /// Hands every buffered byte to the underlying writer and flushes it.
    pub fn flush(&mut self) -> Result<()> {
        self.drain()?;
        self.out.flush().map_err(JournalError::Write)
    }

    /// Flushes and returns the digest and counts, and the underlying writer.
    pub fn finish(mut self) -> Result<(Summary, W)> {
        self.flush()?;
        let summary = Summary {
            digest: self.hasher.finalize().to_hex().to_string(),
            records: self.last_seq,
            bytes: self.bytes,
        };
        Ok((summary, self.out))
    }
}

/// Formats one stamped record as a journal line (with its `\n`) onto `out`.
pub fn write_record(
    out: &mut Vec<u8>,
    time: &mut TimeFormatter,
    seq: u64,
    at: SimTime,
    record: &Record,
) {
    let mut itoa = itoa::Buffer::new();
    write_stamp(out, time, seq, at);
    match record {
        Record::Event(event) => {
            out.extend_from_slice(b",\"eventType\":\"");
            out.extend_from_slice(event.ty.name().as_bytes());
            out.extend_from_slice(b"\",\"workNo\":\"");
            out.extend_from_slice(itoa.format(event.agent.0).as_bytes());
            out.extend_from_slice(b"\",\"content\":");
            write_content(out, &event.content);
        }
        Record::Input(input) => {
            out.extend_from_slice(b",\"op\":\"");
            out.extend_from_slice(input.op.name().as_bytes());
            out.extend_from_slice(b"\",\"agentId\":");
            write_str(out, &input.agent);
            out.extend_from_slice(b",\"body\":");
            write_value(out, &input.body);
            out.extend_from_slice(b",\"response\":{\"retcode\":");
            write_str(out, &input.response.retcode);
            out.extend_from_slice(b",\"message\":");
            write_str(out, &input.response.message);
            out.extend_from_slice(b",\"result\":");
            write_value(out, &input.response.result);
            out.push(b'}');
        }
    }
    out.extend_from_slice(b"}\n");
}

/// A record's opening: `{"seq":N,"at":"…"`.
fn write_stamp(out: &mut Vec<u8>, time: &mut TimeFormatter, seq: u64, at: SimTime) {
    out.extend_from_slice(b"{\"seq\":");
    out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
    out.extend_from_slice(b",\"at\":\"");
    time.write(at, out);
    out.push(b'"');
}

/// A JSON string exactly as serde_json writes it. Most strings (agent ids, retcodes, messages,
/// caller numbers) need no escaping and are copied as they are; the others take serde_json's
/// path, so the bytes are serde_json's either way.
fn write_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing JSON into a Vec<u8> cannot fail: serde_json only fails on I/O errors.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// A JSON value exactly as serde_json writes it (compact, keys in the map's order): integers
/// and the containers by hand, floats through serde_json (its shortest round-trip form).
fn write_value(out: &mut Vec<u8>, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let mut itoa = itoa::Buffer::new();
            if let Some(u) = n.as_u64() {
                out.extend_from_slice(itoa.format(u).as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(itoa.format(i).as_bytes());
            } else {
                let _ = serde_json::to_writer(&mut *out, n);
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

fn write_content(out: &mut Vec<u8>, content: &Content) {
    let mut itoa = itoa::Buffer::new();
    match content {
        Content::Null => out.extend_from_slice(b"null"),
        Content::Conf(id) => {
            out.extend_from_slice(b"{\"confId\":");
            out.extend_from_slice(itoa.format(id.0).as_bytes());
            out.push(b'}');
        }
        Content::Cause(cause) => {
            out.extend_from_slice(b"{\"cause\":");
            out.extend_from_slice(itoa.format(*cause).as_bytes());
            out.push(b'}');
        }
        Content::PhoneState(state) => {
            out.extend_from_slice(b"{\"phoneState\":");
            out.extend_from_slice(itoa.format(*state).as_bytes());
            out.push(b'}');
        }
        Content::Offhook(kind) => {
            out.extend_from_slice(b"{\"type\":\"");
            out.extend_from_slice(kind.name().as_bytes());
            out.extend_from_slice(b"\"}");
        }
        // Rarer shapes, or ones with text that may need escaping: serde_json's path.
        Content::Result(_) | Content::Reason(_) | Content::Participant(_) => {
            let _ = serde_json::to_writer(&mut *out, content);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confsim_core::event::{EventType, OffhookType};
    use confsim_core::{AgentId, ConfId, Event, Input, InputRecord, Op, Response};
    use serde_json::json;

    fn line(record: &Record) -> String {
        let mut out = Vec::new();
        let at = SimTime::parse_rfc3339("2026-01-05T09:00:00.041Z").unwrap();
        write_record(&mut out, &mut TimeFormatter::default(), 8, at, record);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn event_lines_match_serde_for_every_content_shape() {
        let contents = [
            Content::Null,
            Content::Conf(ConfId(1030400)),
            Content::Cause(21234),
            Content::PhoneState(3),
            Content::Offhook(OffhookType::Main),
        ];
        for content in contents {
            let event = Event::new(EventType::AgentStateBusy, AgentId(101), content.clone());
            let fast = line(&Record::Event(event));
            let expected = format!(
                "{{\"seq\":8,\"at\":\"2026-01-05T09:00:00.041Z\",\"eventType\":\"AgentState_Busy\",\"workNo\":\"101\",\"content\":{}}}\n",
                serde_json::to_string(&content).unwrap()
            );
            assert_eq!(fast, expected);
        }
    }

    #[test]
    fn input_lines_match_serde_for_odd_values() {
        let bodies = [
            serde_json::Value::Null,
            json!({}),
            json!([]),
            json!({"memberNum": 4, "time": 60, "promptTime": 3}),
            json!({"a": -7, "b": 1.5, "c": 1e300, "d": -0.0, "e": u64::MAX, "f": i64::MIN}),
            json!({"s": "tab\there \"quoted\" back\\slash \u{1} é ✓ /", "n": null, "t": true, "f": false}),
            json!({"nested": {"list": [1, "two", [3.25], {"x": null}], "empty": {}}}),
            json!([1, [2, [3, [4]]]]),
            json!("just a string \u{7f}"),
        ];
        for body in bodies {
            for agent in ["101", "", "10\"1", "a\\b", "\u{0}", "é"] {
                let response = Response {
                    retcode: "000-002".into(),
                    message: "memberNum must be \"an integer\"\n".into(),
                    result: body.clone(),
                };
                let input = Input::new(Op::RequestAgentConf, agent, body.clone());
                let fast = line(&Record::input(InputRecord::new(input, response.clone())));
                let expected = format!(
                    "{{\"seq\":8,\"at\":\"2026-01-05T09:00:00.041Z\",\"op\":\"requestAgentConf\",\"agentId\":{},\"body\":{},\"response\":{}}}\n",
                    serde_json::to_string(agent).unwrap(),
                    serde_json::to_string(&body).unwrap(),
                    serde_json::to_string(&response).unwrap()
                );
                assert_eq!(fast, expected);
            }
        }
    }

    #[test]
    fn records_given_as_fields_are_the_typed_writers_bytes() {
        let at = SimTime::parse_rfc3339("2026-01-05T09:00:00.041Z").unwrap();
        let event = Event::new(
            EventType::AgentConfRequestSuccess,
            AgentId(153),
            Content::Conf(ConfId(7)),
        );
        let header = crate::Header::new("t", 1, at, Default::default(), Vec::new());
        let mut typed = JournalWriter::new(Vec::new(), &header).unwrap();
        typed.append(at, &Record::Event(event)).unwrap();
        let mut loose = JournalWriter::new(Vec::new(), &header).unwrap();
        let fields = json!({"eventType": "AgentConf_RequestSuccess", "workNo": "153",
            "content": {"confId": 7}});
        let seq = loose
            .append_fields(at, fields.as_object().unwrap())
            .unwrap();
        assert_eq!(seq, 1);
        let (a, typed) = typed.finish().unwrap();
        let (b, loose) = loose.finish().unwrap();
        assert_eq!(
            String::from_utf8(loose).unwrap(),
            String::from_utf8(typed).unwrap()
        );
        assert_eq!(a, b);
        // An event the model does not know is written as it came.
        let mut w = JournalWriter::new(Vec::new(), &header).unwrap();
        let odd = json!({"eventType": "AgentOther_Odd\"", "workNo": "1", "content": [1, "x"]});
        w.append_fields(at, odd.as_object().unwrap()).unwrap();
        let (_, bytes) = w.finish().unwrap();
        let last = String::from_utf8(bytes)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_owned();
        let parsed: serde_json::Value = serde_json::from_str(&last).unwrap();
        assert_eq!(parsed["eventType"], "AgentOther_Odd\"");
        assert_eq!(parsed["content"], json!([1, "x"]));
    }

    #[test]
    fn input_lines_escape_what_the_client_sent() {
        let input = Input::new(
            Op::RequestAgentConf,
            "10\"1",
            json!({"memberNum": 4, "confCallerNo": "a\nb"}),
        );
        let rec = Record::input(InputRecord::new(input, Response::success(json!({}))));
        let text = line(&rec);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["agentId"], "10\"1");
        assert_eq!(parsed["body"]["confCallerNo"], "a\nb");
        assert!(text.starts_with(r#"{"seq":8,"at":"2026-01-05T09:00:00.041Z","op":"requestAgentConf","agentId":"10\"1","body":{"memberNum":4,"#));
        assert!(
            text.ends_with(
                "\"response\":{\"retcode\":\"0\",\"message\":\"success\",\"result\":{}}}\n"
            ),
            "{text}"
        );
    }
}
