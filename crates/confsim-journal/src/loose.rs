//! Reading a journal as it is written, without the model's types.
//!
//! `JournalReader` reads a journal into the core's records, so an event type or a content
//! shape the model does not produce is an error there. A capture of a real gateway may hold
//! both, and it is still a journal: this reader takes every record's fields as they are
//! (names as strings, contents and bodies as JSON), so a capture can be continued, compared
//! and converted whatever the platform sent. What it checks is what makes a file a journal:
//! the header, one JSON object a line, `seq` 1, 2, 3 … and an RFC 3339 `at` on each, and the
//! keys that say what a record is, with their types. A last line without its `\n` is a torn
//! tail, reported and dropped, as `JournalReader` does.

use crate::error::{JournalError, Result};
use crate::header::Header;
use crate::reader::{JournalReader, TornTail, open_record, take_string};
use confsim_core::time::SimTime;
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::Path;

/// A record as written.
#[derive(Clone, Debug, PartialEq)]
pub struct LooseRecord {
    pub seq: u64,
    pub at: SimTime,
    /// Its line number in the file.
    pub line: u64,
    pub kind: LooseKind,
}

/// What a record is, with its fields as written.
#[derive(Clone, Debug, PartialEq)]
pub enum LooseKind {
    Event {
        event_type: String,
        work_no: String,
        content: Value,
    },
    Input {
        op: String,
        agent: String,
        body: Value,
        retcode: String,
        message: String,
        result: Value,
    },
}

impl LooseRecord {
    /// The record as JSON, with the keys its line has, in the writer's order.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("seq".into(), self.seq.into());
        map.insert("at".into(), self.at.to_string().into());
        match &self.kind {
            LooseKind::Event {
                event_type,
                work_no,
                content,
            } => {
                map.insert("eventType".into(), event_type.clone().into());
                map.insert("workNo".into(), work_no.clone().into());
                map.insert("content".into(), content.clone());
            }
            LooseKind::Input {
                op,
                agent,
                body,
                retcode,
                message,
                result,
            } => {
                let mut response = Map::new();
                response.insert("retcode".into(), retcode.clone().into());
                response.insert("message".into(), message.clone().into());
                response.insert("result".into(), result.clone());
                map.insert("op".into(), op.clone().into());
                map.insert("agentId".into(), agent.clone().into());
                map.insert("body".into(), body.clone());
                map.insert("response".into(), Value::Object(response));
            }
        }
        Value::Object(map)
    }
}

/// A whole journal, read loosely.
#[derive(Clone, Debug)]
pub struct LooseJournal {
    pub header: Header,
    pub records: Vec<LooseRecord>,
    /// The torn last line, dropped.
    pub torn: Option<TornTail>,
}

/// Reads a journal loosely (see the module's notes).
pub fn read_loose<R: BufRead>(input: R) -> Result<LooseJournal> {
    let mut reader = JournalReader::new(input)?;
    let header = reader.header().clone();
    let mut records = Vec::new();
    let mut buf = Vec::new();
    let (mut line, mut torn) = (1u64, None);
    loop {
        buf.clear();
        let n = reader
            .input_mut()
            .read_until(b'\n', &mut buf)
            .map_err(JournalError::Write)?;
        if n == 0 {
            break;
        }
        line += 1;
        if buf.last() != Some(&b'\n') {
            torn = Some(TornTail {
                line,
                bytes: buf.len(),
            });
            break;
        }
        buf.pop();
        let record = parse_loose(&buf, line)?;
        let expected = records.len() as u64 + 1;
        if record.seq != expected {
            return Err(JournalError::Gap {
                line,
                expected,
                found: record.seq,
            });
        }
        records.push(record);
    }
    Ok(LooseJournal {
        header,
        records,
        torn,
    })
}

/// Reads the journal file at `path` loosely.
pub fn read_loose_file(path: &Path) -> Result<LooseJournal> {
    let file = std::fs::File::open(path).map_err(|error| JournalError::Io {
        path: path.to_owned(),
        error,
    })?;
    read_loose(std::io::BufReader::with_capacity(1 << 16, file))
}

/// Parses one record line (without its `\n`) loosely; `line` names it in errors.
pub fn parse_loose(bytes: &[u8], line: u64) -> Result<LooseRecord> {
    let malformed = |reason: String| JournalError::Malformed { line, reason };
    let (mut map, seq, at) = open_record(bytes, line)?;
    let string = |map: &mut Map<String, Value>, key: &str| take_string(map, key, line);
    let kind = if map.contains_key("eventType") {
        LooseKind::Event {
            event_type: string(&mut map, "eventType")?,
            work_no: string(&mut map, "workNo")?,
            content: map
                .remove("content")
                .ok_or_else(|| malformed("missing \"content\"".into()))?,
        }
    } else if map.contains_key("op") {
        let op = string(&mut map, "op")?;
        let agent = string(&mut map, "agentId")?;
        let body = map
            .remove("body")
            .ok_or_else(|| malformed("missing \"body\"".into()))?;
        let mut response = match map.remove("response") {
            Some(Value::Object(response)) => response,
            Some(other) => {
                return Err(malformed(format!(
                    "\"response\" must be an object, not {other}"
                )));
            }
            None => return Err(malformed("missing \"response\"".into())),
        };
        let mut field = |key: &str| match response.remove(key) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(malformed(format!("\"response.{key}\" must be a string"))),
        };
        let (retcode, message) = (field("retcode")?, field("message")?);
        LooseKind::Input {
            op,
            agent,
            body,
            retcode,
            message,
            result: response.remove("result").unwrap_or(Value::Null),
        }
    } else {
        return Err(malformed(
            "a record needs \"eventType\" (an event) or \"op\" (an input)".into(),
        ));
    };
    Ok(LooseRecord {
        seq,
        at,
        line,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Header;

    fn journal(lines: &[&str]) -> Vec<u8> {
        let header = Header::new("t", 1, SimTime::from_unix_ms(0), Default::default(), vec![]);
        let mut out = serde_json::to_vec(&header).unwrap();
        out.push(b'\n');
        for l in lines {
            out.extend_from_slice(l.as_bytes());
        }
        out
    }

    #[test]
    fn unknown_events_and_contents_are_read_as_they_are() {
        let bytes = journal(&[
            "{\"seq\":1,\"at\":\"2026-01-05T09:00:00.000Z\",\"eventType\":\"AgentOther_Odd\",\"workNo\":\"7\",\"content\":{\"x\":[1]}}\n",
            "{\"seq\":2,\"at\":\"2026-01-05T09:00:00.001Z\",\"op\":\"login\",\"agentId\":\"7\",\"body\":{\"password\":\"***\"},\"response\":{\"retcode\":\"0\",\"message\":\"\"}}\n",
            "{\"seq\":3,\"at\":\"2026-01-05T09:00",
        ]);
        let read = read_loose(&bytes[..]).unwrap();
        assert_eq!(read.records.len(), 2);
        assert_eq!(
            read.records[0].kind,
            LooseKind::Event {
                event_type: "AgentOther_Odd".into(),
                work_no: "7".into(),
                content: serde_json::json!({"x": [1]}),
            }
        );
        assert!(matches!(&read.records[1].kind,
            LooseKind::Input { op, result, .. } if op == "login" && result.is_null()));
        assert_eq!(read.torn, Some(TornTail { line: 4, bytes: 31 }));
        let line = std::str::from_utf8(&bytes).unwrap().lines().nth(1).unwrap();
        assert_eq!(read.records[0].to_json().to_string(), line);
    }

    #[test]
    fn what_is_not_a_journal_names_its_line() {
        for (lines, expected) in [
            (&["garbage\n"][..], "line 2: not a JSON record"),
            (
                &[
                    "{\"seq\":2,\"at\":\"2026-01-05T09:00:00.000Z\",\"op\":\"x\",\"agentId\":\"1\",\"body\":null,\"response\":{\"retcode\":\"0\",\"message\":\"\"}}\n",
                ][..],
                "line 2: expected seq 1, found 2",
            ),
            (
                &[
                    "{\"seq\":1,\"at\":\"yesterday\",\"eventType\":\"A\",\"workNo\":\"1\",\"content\":null}\n",
                ][..],
                "line 2: missing or invalid \"at\"",
            ),
            (
                &[
                    "{\"seq\":1,\"at\":\"2026-01-05T09:00:00.000Z\",\"eventType\":5,\"workNo\":\"1\",\"content\":null}\n",
                ][..],
                "line 2: \"eventType\" must be a string",
            ),
            (
                &["{\"seq\":1,\"at\":\"2026-01-05T09:00:00.000Z\",\"what\":1}\n"][..],
                "line 2: a record needs",
            ),
        ] {
            let err = read_loose(&journal(lines)[..]).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}");
        }
    }
}
