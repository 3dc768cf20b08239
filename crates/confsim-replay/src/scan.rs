//! The lead cursor: reads the recorded journal ahead of the engine and hands the driver what it
//! must act on (the inputs), checking every line's `seq` on the way.
//!
//! Why not `JournalReader`: the reader parses every line into JSON values, and most lines of a
//! journal are events that the replay never needs to understand, because it produces them
//! itself and compares bytes (see `compare`). So an event line in the writer's own form,
//! `{"seq":N,"at":"…","eventType":…`, is only *sniffed* for its `seq` and `at`; an input line
//! in that form is read for just what the engine needs (`QuickInputs`); every other line goes
//! through `confsim_journal::parse_line`, the reader's definition of a record, so errors read
//! exactly as the reader's do. A line read the quick way that is broken further on (a bad event
//! name, a cut object, a response that is not one) cannot equal anything the engine writes, so
//! the comparison parses it and reports it. Lines are scanned inside the read buffer, without
//! being copied out, unless one straddles its end.

use confsim_core::record::Record;
use confsim_core::{AgentText, Input, Op, SimDuration, SimTime};
use confsim_journal::{Header, JournalError, JournalReader, TornTail, parse_line};
use rustc_hash::FxHashMap;
use serde::de::IgnoredAny;
use serde_json::Value;
use std::io::BufRead;
use std::sync::Arc;

/// What the driver learns from one recorded line.
#[derive(Debug)]
pub(crate) enum Scanned {
    /// An event record: the engine is expected to produce it by firing a timer.
    Event,
    /// An input to submit at `at`, recorded as record `seq`.
    Input { seq: u64, at: SimTime, input: Input },
}

/// The start of a record line in the writer's form.
#[derive(Debug, PartialEq)]
pub(crate) struct Sniffed<'a> {
    pub seq: u64,
    /// The text of `at`, without quotes.
    pub at: &'a [u8],
    pub input: bool,
    /// Where the line goes on after `at`'s closing quote (at `,"op"` or `,"eventType"`).
    pub after_at: usize,
}

/// Reads `{"seq":N,"at":"…",` and the next key, the way `JournalWriter` writes them. `None`
/// for anything else (other spacing or key order, escapes, a leading zero): such lines are
/// parsed in full instead, so sniffing never accepts what the parser would refuse.
pub(crate) fn sniff(line: &[u8]) -> Option<Sniffed<'_>> {
    // Called for every line, so it is kept to a few comparisons: no general search when the
    // line has the writer's exact shape.
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let mut seq = 0u64;
    let mut digits = 0;
    // Nineteen digits always fit in a u64; a twentieth sends the line to the parser.
    while digits < MAX_SEQ_DIGITS && rest.get(digits).is_some_and(u8::is_ascii_digit) {
        seq = seq * 10 + u64::from(rest[digits] - b'0');
        digits += 1;
    }
    if digits == 0
        || rest.get(digits).is_some_and(u8::is_ascii_digit)
        || (digits > 1 && rest[0] == b'0')
    {
        return None;
    }
    let rest = rest[digits..].strip_prefix(b",\"at\":\"")?;
    let at_start = line.len() - rest.len();
    // The writer's `at` has 24 characters (`2026-01-05T09:00:00.041Z`); look there first.
    let end = if rest.get(AT_LEN) == Some(&b'"') {
        AT_LEN
    } else {
        memchr::memchr(b'"', rest)?
    };
    let (at, rest) = rest.split_at(end);
    // `memchr`, not `contains`: every line comes through here, and the slice search's byte loop
    // was a third of the sniff.
    if memchr::memchr(b'\\', at).is_some() {
        return None;
    }
    let rest = &rest[1..];
    let input = if rest.starts_with(b",\"eventType\":\"") {
        false
    } else if rest.starts_with(b",\"op\":\"") {
        true
    } else {
        return None;
    };
    Some(Sniffed {
        seq,
        at,
        input,
        after_at: at_start + end + 1,
    })
}

/// The length of `at` as the writer formats it.
const AT_LEN: usize = 24;
const MAX_SEQ_DIGITS: usize = 19;

/// Whether a line that the journal writer wrote (so `{"seq":N,"at":"…",` and a key) is an
/// input. The comparison asks this of every line it matches, so it looks where the writer puts
/// the key after a 24-byte `at`, and sniffs only when `at` has another length.
pub(crate) fn written_input(line: &[u8]) -> bool {
    let digits = line
        .iter()
        .skip(7)
        .take(MAX_SEQ_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let quote = 7 + digits + 7 + AT_LEN;
    match line.get(quote..quote + 4) {
        Some(b"\",\"o") => true,
        Some(b"\",\"e") => false,
        _ => sniff(line).is_some_and(|s| s.input),
    }
}

/// Reads input lines in the writer's form for what the engine needs (time, operation, agent,
/// body), without a general JSON parse.
///
/// The rest of the line (the response, anything unexpected) is not looked at. That is safe by
/// construction: the engine writes the input back with the response it computes, so if this
/// read anything wrongly, or the line holds anything else, the two lines differ, and the
/// comparison parses the recorded one in full and reports it. A line this cannot read
/// (escapes in the agent id, another shape) goes to `parse_line` instead.
///
/// Why it matters: inputs are a fifth of a load journal, and parsing them with serde's derived
/// visitor (every key, the response, a fresh map per body) was the largest cost a replay had
/// over the run it replays.
#[derive(Debug, Default)]
struct QuickInputs {
    /// The second of the last input (the first 19 bytes of its `at`) and its time: a burst of
    /// inputs shares a handful of seconds, so the calendar arithmetic runs once per second.
    second: Option<([u8; 19], SimTime)>,
    /// Bodies by their text. A load generator sends a handful of distinct bodies thousands of
    /// times; the inputs share the one parsed value (`Arc`), as the run's inputs shared their
    /// generator's: no copy to make and free per input, and the platform, which remembers the
    /// last `requestAgentConf` body it checked by its allocation, checks a shared body once.
    bodies: FxHashMap<Vec<u8>, Arc<Value>>,
}

/// What follows a body in a written input; the searcher is built once (building one per search
/// cost more than the search).
static RESPONSE_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b",\"response\":"));

/// Bodies kept at most (the map is cleared when full: bounded memory, no bookkeeping).
const BODY_CACHE_ENTRIES: usize = 256;
/// Longer bodies are not kept.
const BODY_CACHE_MAX_BYTES: usize = 512;

impl QuickInputs {
    fn read(&mut self, line: &[u8], sniffed: &Sniffed<'_>) -> Option<(SimTime, Input)> {
        let at = self.time(sniffed.at)?;
        // `,"op":"NAME","agentId":"ID","body":BODY,"response":…` as `write_record` writes it.
        let rest = line.get(sniffed.after_at..)?.strip_prefix(b",\"op\":\"")?;
        let end = memchr::memchr(b'"', rest)?;
        let op = Op::from_name(std::str::from_utf8(&rest[..end]).ok()?)?;
        let rest = rest[end + 1..].strip_prefix(b",\"agentId\":\"")?;
        let end = memchr::memchr(b'"', rest)?;
        let agent = &rest[..end];
        // An escaped quote stops the search early and leaves a backslash in the slice; any
        // escape at all is left to the full parser.
        if agent.contains(&b'\\') {
            return None;
        }
        // Inline (`AgentText`): no allocation for an id of up to 23 bytes.
        let agent = AgentText::new(std::str::from_utf8(agent).ok()?);
        let rest = rest[end + 1..].strip_prefix(b",\"body\":")?;
        let body = self.body(rest)?;
        Some((at, Input::new(op, agent, body)))
    }

    /// `2026-01-05T09:00:00.041Z`: the second parsed once, the milliseconds added.
    fn time(&mut self, at: &[u8]) -> Option<SimTime> {
        let canonical = at.len() == 24
            && at[19] == b'.'
            && at[23] == b'Z'
            && at[20..23].iter().all(u8::is_ascii_digit);
        if !canonical {
            return SimTime::parse_rfc3339(std::str::from_utf8(at).ok()?);
        }
        let millis = at[20..23]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        let prefix: [u8; 19] = at[..19].try_into().ok()?;
        let second = match self.second {
            Some((cached, t)) if cached == prefix => t,
            _ => {
                let text = std::str::from_utf8(&prefix).ok()?;
                let t = SimTime::parse_rfc3339(&format!("{text}.000Z"))?;
                self.second = Some((prefix, t));
                t
            }
        };
        Some(second.saturating_add(SimDuration::from_millis(millis)))
    }

    /// The JSON value at the start of `rest`.
    fn body(&mut self, rest: &[u8]) -> Option<Arc<Value>> {
        // The writer puts `,"response":` right after the body, so the text before its first
        // occurrence is the body, or (when the body itself holds those characters) a proper
        // prefix of it, which is never a whole JSON value and so never a key of the cache: a
        // hit is the body, found without reading it through.
        if let Some(end) = RESPONSE_KEY.find(rest)
            && let Some(value) = self.bodies.get(&rest[..end])
        {
            return Some(Arc::clone(value));
        }
        // Find where the value ends without building it, to look it up by its text.
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
        values.next()?.ok()?;
        let text = &rest[..values.byte_offset()];
        if let Some(value) = self.bodies.get(text) {
            return Some(Arc::clone(value));
        }
        let value: Arc<Value> = Arc::new(serde_json::from_slice(text).ok()?);
        if text.len() <= BODY_CACHE_MAX_BYTES {
            if self.bodies.len() >= BODY_CACHE_ENTRIES {
                self.bodies.clear();
            }
            self.bodies.insert(text.to_vec(), Arc::clone(&value));
        }
        Some(value)
    }
}

/// The recorded journal, read one record ahead of the engine.
#[derive(Debug)]
pub(crate) struct Lead<R> {
    input: R,
    /// A line that straddles the end of the read buffer, gathered here.
    buf: Vec<u8>,
    torn: Option<TornTail>,
    done: bool,
    state: State,
}

/// What the lead cursor knows, apart from its reader (so a line can be scanned while it is
/// still borrowed from the reader's buffer).
#[derive(Debug)]
struct State {
    line: u64,
    next_seq: u64,
    /// The line of the last complete record (0: none yet) and its time: parsed when the line
    /// was parsed, otherwise the sniffed text, parsed only if it stays the last (`last_at`).
    last_line: u64,
    last_at: Option<SimTime>,
    last_at_text: Vec<u8>,
    quick: QuickInputs,
}

impl<R: BufRead> Lead<R> {
    /// Reads the header line. It is checked by the journal's own reader, given just that line,
    /// so a bad header gets exactly the reader's error.
    pub fn new(mut input: R) -> Result<(Self, Header), JournalError> {
        let mut buf = Vec::new();
        input
            .read_until(b'\n', &mut buf)
            .map_err(JournalError::Write)?;
        let header = JournalReader::new(buf.as_slice())?.header().clone();
        let lead = Lead {
            input,
            buf,
            torn: None,
            done: false,
            state: State {
                line: 1,
                next_seq: 1,
                last_line: 0,
                last_at: None,
                last_at_text: Vec::new(),
                quick: QuickInputs::default(),
            },
        };
        Ok((lead, header))
    }

    /// The next record, `None` at the end (or at a torn last line).
    pub fn next(&mut self) -> Result<Option<Scanned>, JournalError> {
        if self.done {
            return Ok(None);
        }
        let result = self.next_line();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn next_line(&mut self) -> Result<Option<Scanned>, JournalError> {
        // The common case: the whole line is in the read buffer, and is scanned there without
        // being copied out.
        let available = self.input.fill_buf().map_err(JournalError::Write)?;
        if available.is_empty() {
            return Ok(None);
        }
        if let Some(end) = memchr::memchr(b'\n', available) {
            let scanned = self.state.scan(&available[..end]);
            self.input.consume(end + 1);
            return scanned.map(Some);
        }
        self.buf.clear();
        let n = self
            .input
            .read_until(b'\n', &mut self.buf)
            .map_err(JournalError::Write)?;
        if self.buf.last() != Some(&b'\n') {
            // A last line without its `\n` is a torn tail, as `JournalReader` reads it: never a
            // record, whatever its bytes.
            self.torn = Some(TornTail {
                line: self.state.line + 1,
                bytes: n,
            });
            return Ok(None);
        }
        self.state.scan(&self.buf[..n - 1]).map(Some)
    }

    /// Complete records read so far (all of them, once `next` has returned `None`).
    pub fn records(&self) -> u64 {
        self.state.next_seq - 1
    }

    /// The torn last line, known once `next` has returned `None`.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    /// The time of the last complete record read, `None` before any.
    pub fn last_at(&self) -> Result<Option<SimTime>, JournalError> {
        let state = &self.state;
        if state.last_line == 0 {
            return Ok(None);
        }
        if let Some(at) = state.last_at {
            return Ok(Some(at));
        }
        std::str::from_utf8(&state.last_at_text)
            .ok()
            .and_then(SimTime::parse_rfc3339)
            .map(Some)
            .ok_or_else(|| JournalError::Malformed {
                line: state.last_line,
                // The reader's wording for the same fault.
                reason: "missing or invalid \"at\"".to_owned(),
            })
    }
}

impl State {
    /// Scans the next complete line (without its `\n`).
    fn scan(&mut self, bytes: &[u8]) -> Result<Scanned, JournalError> {
        self.line += 1;
        let line = self.line;
        match sniff(bytes) {
            Some(sniffed) if !sniffed.input => {
                self.check_seq(sniffed.seq)?;
                self.last_line = line;
                self.last_at = None;
                self.last_at_text.clear();
                self.last_at_text.extend_from_slice(sniffed.at);
                return Ok(Scanned::Event);
            }
            Some(sniffed) => {
                if let Some((at, input)) = self.quick.read(bytes, &sniffed) {
                    self.check_seq(sniffed.seq)?;
                    self.last_line = line;
                    self.last_at = Some(at);
                    return Ok(Scanned::Input {
                        seq: sniffed.seq,
                        at,
                        input,
                    });
                }
            }
            None => {}
        }
        let stamped = parse_line(bytes, line)?;
        self.check_seq(stamped.seq)?;
        self.last_line = line;
        self.last_at = Some(stamped.at);
        Ok(match stamped.record {
            Record::Event(_) => Scanned::Event,
            Record::Input(record) => Scanned::Input {
                seq: stamped.seq,
                at: stamped.at,
                input: Input::new(record.op, record.agent, record.body),
            },
        })
    }

    fn check_seq(&mut self, seq: u64) -> Result<(), JournalError> {
        if seq != self.next_seq {
            return Err(JournalError::Gap {
                line: self.line,
                expected: self.next_seq,
                found: seq,
            });
        }
        self.next_seq += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confsim_core::time::TimeFormatter;
    use confsim_core::{InputRecord, Response};
    use serde_json::json;

    fn written(seq: u64, at_ms: i64, agent: &str, body: Value) -> Vec<u8> {
        let input = Input::new(Op::RequestAgentConf, agent, body);
        let record = Record::input(InputRecord::new(input, Response::success(json!({}))));
        let mut out = Vec::new();
        let at = SimTime::from_unix_ms(at_ms);
        confsim_journal::write_record(&mut out, &mut TimeFormatter::default(), seq, at, &record);
        out.pop();
        out
    }

    #[test]
    fn quick_inputs_read_what_the_parser_reads() {
        let mut quick = QuickInputs::default();
        let bodies = [
            json!({"memberNum": 4, "time": 60, "promptTime": 3}),
            json!({"confCallerNo": "a\"b\\c\u{1}é,\"response\":", "nested": {"x": [1, 2.5]}}),
            Value::Null,
            json!("text"),
            json!({"memberNum": 4, "time": 60, "promptTime": 3}),
        ];
        for (i, body) in bodies.into_iter().enumerate() {
            let seq = i as u64 + 1;
            let line = written(seq, 1_767_603_600_041 + i as i64 * 999, "101", body);
            let sniffed = sniff(&line).expect("the writer's form");
            let (at, input) = quick.read(&line, &sniffed).expect("read quickly");
            let parsed = parse_line(&line, seq + 1).unwrap();
            let Record::Input(record) = parsed.record else {
                panic!("an input")
            };
            assert_eq!(at, parsed.at);
            assert_eq!(
                input,
                Input::new(record.op, record.agent, record.body),
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
        // Escapes in the agent id are left to the full parser.
        let line = written(9, 0, "10\"1", Value::Null);
        assert_eq!(quick.read(&line, &sniff(&line).unwrap()), None);
    }

    #[test]
    fn sniffing_reads_the_writers_form_only() {
        let event = br#"{"seq":12,"at":"2026-01-05T09:00:00.041Z","eventType":"AgentState_Busy","workNo":"101","content":null}"#;
        assert_eq!(
            sniff(event),
            Some(Sniffed {
                seq: 12,
                at: b"2026-01-05T09:00:00.041Z",
                input: false,
                after_at: 41,
            })
        );
        let input =
            br#"{"seq":1,"at":"2026-01-05T09:00:00.000Z","op":"requestAgentConf","agentId":"101"}"#;
        assert!(sniff(input).unwrap().input);
        assert!(written_input(input));
        assert!(!written_input(event));
        let long_year = br#"{"seq":1,"at":"+12026-01-05T09:00:00.000Z","op":"requestAgentConf"}"#;
        assert!(written_input(long_year));
        assert_eq!(
            sniff(br#"{"seq":18446744073709551615,"at":"x","op":"y"}"#),
            None,
            "twenty digits"
        );
        assert_eq!(
            sniff(br#"{"seq":9999999999999999999,"at":"x","op":"y"}"#).map(|s| s.seq),
            Some(9_999_999_999_999_999_999)
        );
        for other in [
            &br#"{ "seq":1,"at":"x","eventType":"A"}"#[..],
            br#"{"seq":01,"at":"x","eventType":"A"}"#,
            br#"{"seq":1.0,"at":"x","eventType":"A"}"#,
            br#"{"seq":99999999999999999999,"at":"x","eventType":"A"}"#,
            br#"{"seq":1234567890123456789012345,"at":"x","eventType":"A"}"#,
            br#"{"seq":1,"at":"2026\u002d01","eventType":"A"}"#,
            br#"{"seq":1,"at":"x","workNo":"101","eventType":"A"}"#,
            br#"{"seq":1,"at":"x"#,
            b"",
        ] {
            assert_eq!(sniff(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}
