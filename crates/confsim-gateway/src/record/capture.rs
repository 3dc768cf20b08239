//! The capture journal of `confsim record` (product.md §8.1): the journal's format, written by
//! the journal crate's one writer, made durable by the gateway's `--fsync` machinery.
//!
//! Records are taken as the upstream gave them, not as the model would have made them: an
//! event's type and content are written as they came (`JournalWriter::append_fields`), so a
//! capture of a platform that sends something the model does not know is still a capture,
//! and the difference shows when it is replayed. What a capture never holds: a sign-in's
//! `password` and a push sign-in's `serviceToken` (both journaled as `"***"`), and Guids (they
//! travel in headers, which are not journaled; a `guid` key in a result is masked too).
//!
//! Times are real: an input is journaled at the moment the upstream's answer arrived (taken
//! under the capture's lock, so inputs are in time order in the file as they are in `seq`), an
//! event at its `eventGenTime` when it has one, else when its poll's answer arrived. An event
//! that carries an `eventGenTime` is journaled once even if a retry or a second client polls
//! it again: the last events of each agent are remembered by (type, time, content).

use crate::clock::real_time;
use crate::config::Fsync;
use crate::durable::{Durability, JournalFile, NotDurable, Ticket};
use crate::error::{GatewayError, Result};
use confsim_core::SimTime;
use confsim_journal::{Header, JournalWriter, Summary, TornTail, read_loose};
use rustc_hash::FxHashMap;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Events remembered per agent to recognize one polled twice.
const REMEMBERED: usize = 64;

/// What stands in for a secret in a capture.
const MASK: &str = "***";

/// The capture file, open for appending.
pub(crate) struct Capture {
    state: Mutex<State>,
    durability: Durability,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").finish_non_exhaustive()
    }
}

struct State {
    /// `None` once a write failed: the proxy goes on, the capture is no longer written.
    writer: Option<JournalWriter<FileSink>>,
    /// Per agent (`workNo`), the last events with an `eventGenTime`: (type, time, content).
    seen: FxHashMap<String, VecDeque<(String, i64, String)>>,
    /// The time of the last input journaled: inputs never go back in time.
    last_input: SimTime,
}

/// What continuing an existing capture found.
#[derive(Debug)]
pub struct Resumed {
    pub header: Header,
    /// Complete records kept.
    pub records: u64,
    /// The torn last line that was cut off, if there was one.
    pub torn: Option<TornTail>,
}

/// The journal file as the writer sees it.
struct FileSink(Arc<dyn JournalFile>);

impl Write for FileSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(data)?;
        Ok(data.len())
    }

    /// Every write went to the operating system already (nothing is buffered here).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn io(path: &Path, what: &str) -> impl Fn(std::io::Error) -> GatewayError {
    let context = format!("{}: {what}", path.display());
    move |error| GatewayError::Io {
        context: context.clone(),
        error,
    }
}

impl Capture {
    /// Starts a capture in the new (or empty) file at `path` with `header`.
    pub fn create(path: &Path, header: &Header, fsync: Fsync) -> Result<Self> {
        let file = File::options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io(path, "cannot create the capture"))?;
        let file: Arc<dyn JournalFile> = Arc::new(file);
        let mut writer = JournalWriter::new(FileSink(file.clone()), header)?;
        writer.flush()?;
        if fsync != Fsync::Never {
            file.sync_data()
                .map_err(io(path, "cannot sync the capture"))?;
        }
        Self::with(writer, file, fsync, 0)
    }

    /// Continues the capture at `path`: every complete record is kept, a torn last line (a
    /// crash mid-write) is cut off, and the next record follows the last one. A file that is
    /// not a journal, or a journal that is not a capture, is an error and left as it is.
    pub fn resume(path: &Path, fsync: Fsync) -> Result<(Self, Resumed)> {
        let not_capture = |error| GatewayError::Capture {
            file: path.to_owned(),
            error,
        };
        let file = File::options()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io(path, "cannot open the capture"))?;
        let length = file
            .metadata()
            .map_err(io(path, "cannot read the capture"))?
            .len();
        let read =
            read_loose(std::io::BufReader::with_capacity(1 << 16, &file)).map_err(not_capture)?;
        if !read.header.is_capture() {
            return Err(GatewayError::Config(format!(
                "{}: this journal is not a capture (its header has no \"source\": {{\"kind\": \"capture\"}}); `confsim record` continues only its own captures: give another --journal",
                path.display()
            )));
        }
        let kept = length - read.torn.as_ref().map_or(0, |t| t.bytes as u64);
        if read.torn.is_some() {
            file.set_len(kept)
                .map_err(io(path, "cannot cut the torn tail"))?;
        }
        file.sync_all()
            .map_err(io(path, "cannot sync the capture"))?;
        let last = read.records.len() as u64;
        let existing = File::open(path)
            .map_err(io(path, "cannot read the capture"))?
            .take(kept);
        let file: Arc<dyn JournalFile> = Arc::new(file);
        let writer = JournalWriter::resume(FileSink(file.clone()), existing, last)?;
        let mut capture = Self::with(writer, file, fsync, last)?;
        let state = capture.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(input) = read
            .records
            .iter()
            .rev()
            .find(|r| matches!(r.kind, confsim_journal::LooseKind::Input { .. }))
        {
            state.last_input = input.at;
        }
        Ok((
            capture,
            Resumed {
                header: read.header,
                records: last,
                torn: read.torn,
            },
        ))
    }

    fn with(
        writer: JournalWriter<FileSink>,
        file: Arc<dyn JournalFile>,
        fsync: Fsync,
        on_disk: u64,
    ) -> Result<Self> {
        let durability =
            Durability::new(fsync, Some(file), on_disk).map_err(|error| GatewayError::Io {
                context: "starting the journal's sync thread".to_owned(),
                error,
            })?;
        Ok(Capture {
            state: Mutex::new(State {
                writer: Some(writer),
                seen: FxHashMap::default(),
                last_input: SimTime::from_unix_ms(i64::MIN),
            }),
            durability,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Journals a vendor operation and the upstream's answer, now.
    pub fn input(
        &self,
        op: &str,
        agent: &str,
        body: Value,
        envelope: &Map<String, Value>,
    ) -> Pending {
        let text = |key: &str| match envelope.get(key) {
            Some(Value::String(s)) => Value::String(s.clone()),
            _ => Value::String(String::new()),
        };
        let mut response = Map::new();
        response.insert("retcode".into(), text("retcode"));
        response.insert("message".into(), text("message"));
        response.insert(
            "result".into(),
            masked(envelope.get("result").cloned().unwrap_or(Value::Null)),
        );
        let mut fields = Map::new();
        fields.insert("op".into(), Value::String(op.to_owned()));
        fields.insert("agentId".into(), Value::String(agent.to_owned()));
        fields.insert("body".into(), masked(body));
        fields.insert("response".into(), Value::Object(response));
        let mut state = self.lock();
        let at = real_time().max(state.last_input);
        state.last_input = at;
        self.append(state, at, &fields)
    }

    /// Journals an event a client polled (`event` is the envelope's `event` object), once.
    pub fn event(&self, event: &Map<String, Value>, path_agent: &str) -> Pending {
        let work_no = match event.get("workNo") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => path_agent.to_owned(),
        };
        let event_type = match event.get("eventType") {
            Some(Value::String(s)) => s.clone(),
            _ => return None,
        };
        let content = event.get("content").cloned().unwrap_or(Value::Null);
        let generated = event.get("eventGenTime").and_then(|t| {
            t.as_i64()
                .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))
        });
        let mut state = self.lock();
        if let Some(ms) = generated {
            let key = (event_type.clone(), ms, content.to_string());
            let seen = state.seen.entry(work_no.clone()).or_default();
            if seen.contains(&key) {
                return None;
            }
            if seen.len() == REMEMBERED {
                seen.pop_front();
            }
            seen.push_back(key);
        }
        let at = generated.map_or_else(real_time, SimTime::from_unix_ms);
        let mut fields = Map::new();
        fields.insert("eventType".into(), Value::String(event_type));
        fields.insert("workNo".into(), Value::String(work_no));
        fields.insert("content".into(), content);
        self.append(state, at, &fields)
    }

    /// Appends and hands the record to the operating system; what the answer must wait for
    /// before it leaves, as `--fsync` says (`always` syncs here, under the lock, as the gateway
    /// does under the engine's; `batch` gives a ticket for the shared sync).
    fn append(
        &self,
        mut state: MutexGuard<'_, State>,
        at: SimTime,
        fields: &Map<String, Value>,
    ) -> Pending {
        let writer = state.writer.as_mut()?;
        let written = writer
            .append_fields(at, fields)
            .and_then(|seq| writer.flush().map(|()| seq));
        match written {
            Ok(seq) => match self.durability.written(seq) {
                Ok(ticket) => ticket,
                Err(NotDurable(why)) => {
                    tracing::error!(why, "the capture is not durable");
                    None
                }
            },
            Err(error) => {
                tracing::error!(%error, "writing the capture failed; it is no longer written (the proxy goes on forwarding)");
                state.writer = None;
                self.durability.fail(&error.to_string());
                None
            }
        }
    }

    /// Waits until the records behind `pending` are on disk. A failed sync is logged, and the
    /// answer still goes to the client: the upstream has acted on the request already, and
    /// hiding its answer would only leave the client out of step with the platform.
    pub async fn durable(pending: Pending) {
        if let Some(ticket) = pending
            && let Err(NotDurable(why)) = Durability::wait(ticket).await
        {
            tracing::error!(why, "the capture's records could not be synced");
        }
    }

    /// Flushes and returns the capture's summary.
    pub fn finish(&self) -> Option<Summary> {
        let writer = self.lock().writer.take()?;
        match writer.finish() {
            Ok((summary, _)) => Some(summary),
            Err(error) => {
                tracing::error!(%error, "flushing the capture failed");
                None
            }
        }
    }
}

/// A body or result with its secrets masked: `password` and `serviceToken` (any letter case,
/// and `service_token`) become `"***"`, and a `guid` is masked likewise.
fn masked(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let lower = key.to_ascii_lowercase();
                    let secret = matches!(
                        lower.as_str(),
                        "password" | "servicetoken" | "service_token" | "guid"
                    );
                    let value = if secret && !value.is_null() {
                        Value::String(MASK.to_owned())
                    } else {
                        value
                    };
                    (key, value)
                })
                .collect(),
        ),
        other => other,
    }
}

/// A ticket to wait on before the answer leaves (`batch`), as the gateway's answers do.
pub(crate) type Pending = Option<Ticket>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_event_polled_twice_is_journaled_once_and_one_without_a_time_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let mut header = Header::new(
            "capture",
            1,
            SimTime::from_unix_ms(0),
            Default::default(),
            vec![],
        );
        header.source = Some(confsim_journal::Source::capture("gw:1"));
        let capture = Capture::create(&path, &header, Fsync::Never).unwrap();
        let event = |v: Value| v.as_object().unwrap().clone();
        let timed = event(json!({"eventType": "AgentState_Ready", "workNo": "101",
            "content": null, "eventGenTime": 1767603600123_i64}));
        assert!(capture.event(&timed, "101").is_none());
        capture.event(&timed, "101");
        // The same event for another agent, and an unknown event without a time, twice.
        capture.event(&timed, "102");
        let untimed = event(json!({"eventType": "AgentOther_Odd", "workNo": 102, "content": [1]}));
        capture.event(&untimed, "102");
        capture.event(&untimed, "102");
        capture.finish().unwrap();
        let read = read_loose(std::io::BufReader::new(File::open(&path).unwrap())).unwrap();
        let seen: Vec<(String, String)> = read
            .records
            .iter()
            .map(|r| match &r.kind {
                confsim_journal::LooseKind::Event {
                    event_type,
                    work_no,
                    ..
                } => (event_type.clone(), work_no.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(read.records[0].at, SimTime::from_unix_ms(1767603600123));
        assert_eq!(seen[2], ("AgentOther_Odd".to_owned(), "102".to_owned()));
    }

    #[test]
    fn secrets_are_masked_and_nothing_else_changes() {
        let body = json!({"password": "s3cret", "phonenum": "1", "serviceToken": "t",
            "callBackUri": "http://x", "Guid": "g"});
        assert_eq!(
            masked(body),
            json!({"password": "***", "phonenum": "1", "serviceToken": "***",
                "callBackUri": "http://x", "Guid": "***"})
        );
        assert_eq!(masked(json!({"password": null})), json!({"password": null}));
        assert_eq!(masked(json!("password")), json!("password"));
    }
}
