//! Reading a journal back.
//!
//! Every line must be a complete JSON record ending in `\n`. A last line without its `\n` is a
//! torn tail (a crash mid-write): it is reported and dropped, and every record before it is kept.
//! Anything else that is wrong (a header that is not ours, a record that does not parse, a gap
//! or disorder in `seq`) is an error naming the line.

use crate::error::{JournalError, Result};
use crate::header::{FORMAT, Header, VERSION};
use confsim_core::event::{Content, Event, EventType};
use confsim_core::record::{InputRecord, Record};
use confsim_core::time::SimTime;
use confsim_core::{AgentId, Op, Response};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::Path;

/// A record read back, with its stamp and its line number in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamped {
    pub seq: u64,
    pub at: SimTime,
    pub record: Record,
    pub line: u64,
}

/// The incomplete last line of a journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub line: u64,
    pub bytes: usize,
}

/// Reads records one at a time.
#[derive(Debug)]
pub struct JournalReader<R: BufRead> {
    input: R,
    header: Header,
    line: u64,
    next_seq: u64,
    torn: Option<TornTail>,
    buf: Vec<u8>,
    done: bool,
}

/// Reads one line into `buf`; `Ok(false)` at end of input. `complete` says whether it ended
/// with `\n` (which is removed).
fn read_line<R: BufRead>(input: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let n = input.read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    let complete = buf.last() == Some(&b'\n');
    if complete {
        buf.pop();
    }
    Ok(Some(complete))
}

impl<R: BufRead> JournalReader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> Result<Self> {
        let mut buf = Vec::new();
        let malformed = |reason: String| JournalError::Malformed { line: 1, reason };
        match read_line(&mut input, &mut buf).map_err(JournalError::Write)? {
            None => {
                return Err(malformed(
                    "the file is empty: a journal starts with a header line".into(),
                ));
            }
            Some(false) => return Err(malformed("the header line is incomplete (torn)".into())),
            Some(true) => {}
        }
        let value: Value = serde_json::from_slice(&buf)
            .map_err(|e| malformed(format!("the header is not JSON: {e}")))?;
        if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(malformed(format!(
                "not a confsim journal: the header has no \"format\": \"{FORMAT}\""
            )));
        }
        let header: Header =
            serde_json::from_value(value).map_err(|e| malformed(format!("invalid header: {e}")))?;
        if header.version != VERSION {
            return Err(malformed(format!(
                "journal format version {} is not supported (this build reads {VERSION})",
                header.version
            )));
        }
        Ok(JournalReader {
            input,
            header,
            line: 1,
            next_seq: 1,
            torn: None,
            buf,
            done: false,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The input after the lines read so far (the loose reader goes on from the header).
    pub(crate) fn input_mut(&mut self) -> &mut R {
        &mut self.input
    }

    /// The torn last line, known once the reader has reached the end.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    fn next_record(&mut self) -> Result<Option<Stamped>> {
        if self.done {
            return Ok(None);
        }
        let Some(complete) =
            read_line(&mut self.input, &mut self.buf).map_err(JournalError::Write)?
        else {
            self.done = true;
            return Ok(None);
        };
        self.line += 1;
        if !complete {
            self.done = true;
            self.torn = Some(TornTail {
                line: self.line,
                bytes: self.buf.len(),
            });
            return Ok(None);
        }
        let line = self.line;
        let stamped = parse_line(&self.buf, line)?;
        if stamped.seq != self.next_seq {
            return Err(JournalError::Gap {
                line,
                expected: self.next_seq,
                found: stamped.seq,
            });
        }
        self.next_seq += 1;
        Ok(Some(stamped))
    }
}

impl<R: BufRead> Iterator for JournalReader<R> {
    type Item = Result<Stamped>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.next_record();
        if item.is_err() {
            self.done = true;
        }
        item.transpose()
    }
}

/// Reads a whole journal file: its header, every complete record, and the torn tail if any.
pub fn read_all(path: &Path) -> Result<(Header, Vec<Stamped>, Option<TornTail>)> {
    let file = std::fs::File::open(path).map_err(|error| JournalError::Io {
        path: path.to_owned(),
        error,
    })?;
    let mut reader = JournalReader::new(std::io::BufReader::with_capacity(1 << 16, file))?;
    let mut records = Vec::new();
    for record in reader.by_ref() {
        records.push(record?);
    }
    let torn = reader.torn_tail().cloned();
    Ok((reader.header, records, torn))
}

/// Parses one record line (without its `\n`); `line` is its line number, for errors. This is
/// the one definition of a valid record: the reader uses it for every line, and a replay for
/// the lines it cannot take as identical to what it produced.
pub fn parse_line(bytes: &[u8], line: u64) -> Result<Stamped> {
    let malformed = |reason: String| JournalError::Malformed { line, reason };
    let (mut map, seq, at) = open_record(bytes, line)?;
    let string = |map: &mut Map<String, Value>, key: &str| take_string(map, key, line);
    let record = if map.contains_key("eventType") {
        let name = string(&mut map, "eventType")?;
        let ty = EventType::from_name(&name)
            .ok_or_else(|| malformed(format!("unknown eventType {name:?}")))?;
        let work_no = string(&mut map, "workNo")?;
        let agent = work_no
            .parse()
            .map(AgentId)
            .map_err(|_| malformed(format!("invalid workNo {work_no:?}")))?;
        let content_json = map
            .remove("content")
            .ok_or_else(|| malformed("missing \"content\"".into()))?;
        let content = Content::from_json(ty, &content_json)
            .ok_or_else(|| malformed(format!("content {content_json} is not what {ty} carries")))?;
        Record::Event(Event::new(ty, agent, content))
    } else if map.contains_key("op") {
        let name = string(&mut map, "op")?;
        let op = Op::from_name(&name).ok_or_else(|| malformed(format!("unknown op {name:?}")))?;
        let agent = string(&mut map, "agentId")?;
        let body = map
            .remove("body")
            .ok_or_else(|| malformed("missing \"body\"".into()))?;
        let response = map
            .remove("response")
            .ok_or_else(|| malformed("missing \"response\"".into()))?;
        let response: Response = serde_json::from_value(response)
            .map_err(|e| malformed(format!("invalid response: {e}")))?;
        Record::input(InputRecord {
            op,
            agent: agent.into(),
            body: body.into(),
            response,
        })
    } else {
        return Err(malformed(
            "a record needs \"eventType\" (an event) or \"op\" (an input)".into(),
        ));
    };
    if let Some(key) = map.keys().next() {
        return Err(malformed(format!("unexpected key \"{key}\"")));
    }
    Ok(Stamped {
        seq,
        at,
        record,
        line,
    })
}

/// A record line as a JSON object, with its `seq` and `at` taken out: what every record has,
/// for this reader and the loose one alike.
pub(crate) fn open_record(bytes: &[u8], line: u64) -> Result<(Map<String, Value>, u64, SimTime)> {
    let malformed = |reason: String| JournalError::Malformed { line, reason };
    let mut map: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("not a JSON record: {e}")))?;
    let seq = map
        .remove("seq")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| malformed("missing or invalid \"seq\"".into()))?;
    let at = map
        .remove("at")
        .and_then(|v| v.as_str().and_then(SimTime::parse_rfc3339))
        .ok_or_else(|| malformed("missing or invalid \"at\"".into()))?;
    Ok((map, seq, at))
}

/// Takes the string `key` out of a record.
pub(crate) fn take_string(map: &mut Map<String, Value>, key: &str, line: u64) -> Result<String> {
    match map.remove(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(JournalError::Malformed {
            line,
            reason: format!("\"{key}\" must be a string, not {other}"),
        }),
        None => Err(JournalError::Malformed {
            line,
            reason: format!("missing \"{key}\""),
        }),
    }
}
