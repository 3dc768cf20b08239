//! Reading a journal back.
//!
//! Every line must be a complete JSON record ending in `\n`. A last line without its `\n` is a
//! torn tail (a crash mid-write): it is reported and dropped, and every record before it is kept.
//! Anything else that is wrong (a header that is not ours, a record that does not parse, a gap
//! or disorder in `seq`) is an error naming the line.

use crate::error::{JournalError, Result};
use crate::header::{FORMAT, Header, VERSION};
use crate::loose::{LooseRecord, parse_loose};
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

    /// The underlying reader, where the reader stopped.
    pub fn into_inner(self) -> R {
        self.input
    }

    /// The torn last line, known once the reader has reached the end.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    fn next_record(&mut self) -> Result<Option<Stamped>> {
        let Some(line) = self.next_line()? else {
            return Ok(None);
        };
        let stamped = parse_line(&self.buf, line)?;
        self.check_seq(line, stamped.seq)?;
        Ok(Some(stamped))
    }

    /// As the iterator, except that a line the model's types reject but that is still a record
    /// of a journal (an event type or content shape the model does not produce, as a capture of
    /// a real gateway or another version's journal may hold: see `loose.rs`) comes back loose,
    /// with the reason the model rejected it. A line that is no record is an error, as there.
    pub fn next_tolerant(&mut self) -> Result<Option<AnyRecord>> {
        let outcome = self.tolerant_record();
        if outcome.is_err() {
            self.done = true;
        }
        outcome
    }

    fn tolerant_record(&mut self) -> Result<Option<AnyRecord>> {
        let Some(line) = self.next_line()? else {
            return Ok(None);
        };
        let record = match parse_line(&self.buf, line) {
            Ok(stamped) => AnyRecord::Typed(stamped),
            Err(strict) => match parse_loose(&self.buf, line) {
                Ok(loose) => AnyRecord::Loose(Box::new(loose), strict.to_string()),
                Err(_) => return Err(strict),
            },
        };
        self.check_seq(line, record.seq())?;
        Ok(Some(record))
    }

    fn check_seq(&mut self, line: u64, seq: u64) -> Result<()> {
        if seq != self.next_seq {
            return Err(JournalError::Gap {
                line,
                expected: self.next_seq,
                found: seq,
            });
        }
        self.next_seq += 1;
        Ok(())
    }

    /// The next complete line into `buf`, and its number; `None` at the end or at a torn tail
    /// (kept in `torn`).
    fn next_line(&mut self) -> Result<Option<u64>> {
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
        Ok(Some(self.line))
    }
}

/// A record as `JournalReader::next_tolerant` reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyRecord {
    /// A record of the model's types.
    Typed(Stamped),
    /// A record the model's types reject, as written (boxed: the rare case), and why they reject
    /// it.
    Loose(Box<LooseRecord>, String),
}

impl AnyRecord {
    pub fn seq(&self) -> u64 {
        match self {
            AnyRecord::Typed(stamped) => stamped.seq,
            AnyRecord::Loose(loose, _) => loose.seq,
        }
    }

    pub fn at(&self) -> SimTime {
        match self {
            AnyRecord::Typed(stamped) => stamped.at,
            AnyRecord::Loose(loose, _) => loose.at,
        }
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
    match in_writers_form(bytes, line) {
        Some(stamped) => Ok(stamped),
        None => parse_any(bytes, line),
    }
}

/// A string field's raw text up to its closing quote, and the rest from that quote. `None`
/// when it holds a backslash: an escape means the text is not the string, so the general
/// parse reads that line.
fn text(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let end = bytes.iter().position(|b| *b == b'"' || *b == b'\\')?;
    if bytes[end] == b'\\' {
        return None;
    }
    Some((std::str::from_utf8(&bytes[..end]).ok()?, &bytes[end..]))
}

/// A JSON integer as the writer writes one (`0`, or digits without a leading zero) that fits
/// a u64.
fn integer(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty()
        || !bytes.iter().all(u8::is_ascii_digit)
        || (bytes.len() > 1 && bytes[0] == b'0')
    {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// A record line exactly as the writer formats it, read without a general JSON parse of the
/// line: an event (`{"seq":N,"at":"T","eventType":"X","workNo":"W","content":C}`) or an input
/// (`{"seq":N,"at":"T","op":"X","agentId":"A","body":B,"response":R}`), no spaces: every line
/// of a journal confsim wrote, read several times faster. Anything else, valid or not, is
/// `None`, and `parse_any` reads it (or names what is wrong). A line this takes, `parse_any`
/// reads the same (a test holds it to that): a field that does not pass this form's stricter
/// checks (an escape, a leading zero, a key out of order) sends the line to `parse_any`.
fn in_writers_form(bytes: &[u8], line: u64) -> Option<Stamped> {
    let rest = bytes.strip_prefix(b"{\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let seq = integer(&rest[..digits])?;
    let (at, rest) = text(rest[digits..].strip_prefix(b",\"at\":\"")?)?;
    let at = SimTime::parse_rfc3339(at)?;
    let record = if let Some(rest) = rest.strip_prefix(b"\",\"eventType\":\"") {
        let (name, rest) = text(rest)?;
        let ty = EventType::from_name(name)?;
        let (work_no, rest) = text(rest.strip_prefix(b"\",\"workNo\":\"")?)?;
        if work_no.is_empty() || !work_no.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let agent = AgentId(work_no.parse().ok()?);
        let content = rest.strip_prefix(b"\",\"content\":")?.strip_suffix(b"}")?;
        let content = match content_in_writers_form(ty, content) {
            Some(content) => content,
            None => Content::from_json(ty, &serde_json::from_slice::<Value>(content).ok()?)?,
        };
        Record::Event(Event::new(ty, agent, content))
    } else {
        let (name, rest) = text(rest.strip_prefix(b"\",\"op\":\"")?)?;
        let op = Op::from_name(name)?;
        let (agent, rest) = text(rest.strip_prefix(b"\",\"agentId\":\"")?)?;
        let rest = rest.strip_prefix(b"\",\"body\":")?;
        // One value at a time: where the body ends is where its parse stops.
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        let body = values.next()?.ok()?;
        let rest = rest[values.byte_offset()..].strip_prefix(b",\"response\":")?;
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        let response = values.next()?.ok()?;
        if &rest[values.byte_offset()..] != b"}" {
            return None;
        }
        let response: Response = serde_json::from_value(response).ok()?;
        Record::input(InputRecord {
            op,
            agent: agent.into(),
            body: body.into(),
            response,
        })
    };
    Some(Stamped {
        seq,
        at,
        record,
        line,
    })
}

/// The one-key contents the writer writes most (`{"confId":n}`, `{"type":"main"}`,
/// `{"phoneState":n}`, `{"cause":n}`, `{"result":n}`), each for the event types
/// `Content::from_json` reads it for, without building a JSON value; `None` for anything
/// else, which `Content::from_json` then reads.
fn content_in_writers_form(ty: EventType, bytes: &[u8]) -> Option<Content> {
    if bytes == b"null" {
        return Content::from_json(ty, &Value::Null);
    }
    let (key, value) = text(bytes.strip_prefix(b"{\"")?.strip_suffix(b"}")?)?;
    let value = value.strip_prefix(b"\":")?;
    let number = || integer(value);
    Some(match (ty, key) {
        (
            EventType::AgentConfSelfJoinResult
            | EventType::AgentConfRequestSuccess
            | EventType::AgentConfTimeout
            | EventType::AgentConfRinging
            | EventType::AgentConfSelfLeaveResult
            | EventType::AgentConfPresidentChanged,
            "confId",
        ) => Content::Conf(confsim_core::ConfId(number()?)),
        (EventType::AgentConfRequestFailed, "cause") => {
            Content::Cause(u32::try_from(number()?).ok()?)
        }
        (EventType::AgentOtherPhoneRelease, "phoneState") => {
            Content::PhoneState(u8::try_from(number()?).ok()?)
        }
        (EventType::AgentOtherPhoneOffhook, "type") => {
            let (name, end) = text(value.strip_prefix(b"\"")?)?;
            if end != b"\"" {
                return None;
            }
            Content::Offhook(confsim_core::event::OffhookType::from_name(name)?)
        }
        (EventType::AgentConfStopVoice | EventType::AgentConfStopParticipantVoice, "result") => {
            Content::Result(u8::try_from(number()?).ok()?)
        }
        _ => return None,
    })
}

/// Any record line: the general parse.
fn parse_any(bytes: &[u8], line: u64) -> Result<Stamped> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The tolerant read: the model's records typed, a record the model does not know loose
    /// with the reason, anything that is no record or breaks the numbering an error.
    #[test]
    fn a_tolerant_read_keeps_records_the_model_does_not_know() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios/replays/seed-request.jsonl");
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[2] = lines[2].replace(
            r#""eventType":"AgentState_Busy""#,
            r#""eventType":"AgentOther_VendorOnly""#,
        );
        assert!(lines[2].contains("VendorOnly"), "{}", lines[2]);
        let joined = lines.join("\n") + "\n";
        let mut reader = JournalReader::new(joined.as_bytes()).unwrap();
        let mut typed = 0;
        let mut loose = Vec::new();
        while let Some(record) = reader.next_tolerant().unwrap() {
            match record {
                AnyRecord::Typed(_) => typed += 1,
                AnyRecord::Loose(record, why) => loose.push((record, why)),
            }
        }
        assert_eq!(typed + loose.len(), lines.len() - 1);
        let [(record, why)] = &loose[..] else {
            panic!("{loose:?}")
        };
        assert_eq!((record.seq, record.line), (2, 3));
        assert!(why.contains("AgentOther_VendorOnly"), "{why}");
        // The strict read stops there.
        let err = JournalReader::new(joined.as_bytes())
            .unwrap()
            .find_map(Result::err)
            .unwrap();
        assert!(err.to_string().contains("line 3"), "{err}");

        for (broken, expect) in [("{\"seq\":2}", "line 3"), (&lines[3][..], "seq")] {
            let mut bad = lines.clone();
            bad[2] = broken.to_owned();
            let bad = bad.join("\n") + "\n";
            let mut reader = JournalReader::new(bad.as_bytes()).unwrap();
            let err = loop {
                match reader.next_tolerant() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("{broken} read"),
                    Err(e) => break e,
                }
            };
            assert!(err.to_string().contains(expect), "{err}");
            assert!(reader.next_tolerant().unwrap().is_none());
        }
    }

    /// Every line of the bundled journals is read the fast way, to what the general parse
    /// reads; lines near the form are left to it.
    #[test]
    fn the_writers_lines_read_fast_as_the_general_parse_reads_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/replays");
        let mut fast = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate().skip(1) {
                let n = i as u64 + 1;
                let general = parse_any(line.as_bytes(), n).unwrap();
                match in_writers_form(line.as_bytes(), n) {
                    Some(quick) => {
                        assert_eq!(quick, general, "{line}");
                        fast += 1;
                    }
                    None => panic!("a line of the writer's not read fast: {line}"),
                }
            }
        }
        assert!(fast > 50, "{fast}");
        for near in [
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Busy","workNo":"101","content":null,"x":1}"#,
            r#"{"seq":1, "at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Busy","workNo":"101","content":null}"#,
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Bus\u0079","workNo":"101","content":null}"#,
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Busy","workNo":"+101","content":null}"#,
            r#"{"seq":,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Busy","workNo":"101","content":null}"#,
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Busy","workNo":"101","content":{"confId":1}}"#,
            r#"{"seq":01,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Busy","workNo":"101","content":null}"#,
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","op":"logout","agentId":"1\\","body":{},"response":{"retcode":"0","message":"success","result":{}}}"#,
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","op":"logout","agentId":"101","body":{},"response":{"retcode":"0","message":"success","result":{}},"x":1}"#,
            r#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","op":"logout","agentId":"101","body":{} ,"response":{"retcode":"0","message":"success","result":{}}}"#,
        ] {
            assert!(in_writers_form(near.as_bytes(), 2).is_none(), "{near}");
        }
        // The general parse still reads the escaped name, and refuses the extra key.
        assert!(parse_line(br#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Bus\u0079","workNo":"101","content":null}"#, 2).is_ok());
        assert!(parse_line(br#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","eventType":"AgentState_Busy","workNo":"101","content":null,"x":1}"#, 2).is_err());
    }
}
