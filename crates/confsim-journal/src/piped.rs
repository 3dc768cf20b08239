//! A journal formatted, digested and written on a thread of its own.
//!
//! Why: formatting a record, hashing its bytes and handing them to the kernel were a fifth of
//! the instructions of a virtual-time run, all on the engine's thread. The engine has nothing
//! to wait for from the journal (it stamps `seq` itself and never reads back), so the records
//! can go, in batches, to a second thread that runs a plain `JournalWriter`. The bytes are the
//! same as the inline writer's: one writer, fed the same records in the same order.
//!
//! Bounded: at most `QUEUED` batches of `BATCH` records wait in the channel; when the writer
//! falls behind, the engine blocks on the send rather than buffering without limit. Batches
//! come back on a second channel, emptied, with the records that own allocations (inputs, and
//! events with boxed content) beside them in a vector of their own; the engine drops those
//! (its own allocations) as it hands over more (below), so a steady run allocates no batches
//! and each thread frees only what it allocated. The other records, most of them, are plain data
//! and are dropped where they were written: dropping them frees nothing, and sorting them out
//! there spares the engine's thread a look at every record of every batch.
//!
//! The engine drops the records that come back one at a time, one for each record that owns
//! allocations it hands over, not a batch's worth at once: an allocation just made (that
//! record's) is then matched by one freed, so the allocator's small per-thread cache serves
//! both, where a couple of hundred frees in a row overflowed it into the allocator's slower
//! bins, and the allocations after them came from there too. It keeps up: every record that
//! comes back was handed over once, and each handed over drops one while any wait. After a
//! burst of inputs (a closed loop's first applications, all at once) more than `BATCH` may
//! wait; those beyond it are dropped at once when a batch comes back, so that the stock left
//! standing for the rest of the run is at most `BATCH` records. An input record need not even
//! be allocated: `input_record` puts it in the box of a returned input, in place of the one
//! that its push would have dropped.
//!
//! Errors: the writer thread stops at its first I/O error; the engine learns of it at a later
//! hand-over (the batches already queued, at most `QUEUED` of them, are accepted first), at
//! `flush` or at `finish`, which return that error; every push after it fails too, naming it.
//! The records handed over in between are applied by the engine but not journaled: a run stops
//! at the error, so nothing relies on them. Dropping a `PipedJournal` without `finish` still
//! writes and flushes everything handed over (the thread is joined); an error then goes
//! unreported, so callers that care call `finish`.
//!
//! Taps: a caller that needs to see every record but not at once (a run's statistics, read
//! only for its final report) can hand a `RecordTap` to `with_tap`; it runs on the writer
//! thread right after each record is appended, with the record's `seq`, and comes back from
//! `finish_with_tap`. That moves its work off the engine's thread too, onto the one with
//! capacity to spare. It sees exactly the records journaled, in order; at a write error the
//! thread stops, and the tap with it (the run fails with that error anyway).

use crate::error::{JournalError, Result};
use crate::header::Header;
use crate::writer::{JournalWriter, Summary};
use confsim_core::event::Content;
use confsim_core::record::{InputRecord, Record};
use confsim_core::time::SimTime;
use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Records per hand-over: large enough that the channel costs nothing per record, small enough
/// that a batch (40 bytes a record: 160 KiB) stays in the L2 cache. The writer keeps up and
/// parks between batches, so every hand-over is a wake-up (a `futex` call, a few microseconds
/// here): at 1,024 records they were 2.5% of the engine thread's time in the closed-loop day
/// (`perf`), at 4,096 a quarter of that.
const BATCH: usize = 4096;
/// Batches in flight at most.
const QUEUED: usize = 4;

type Batch = Vec<(SimTime, Record)>;

/// The records of a written batch that own allocations, going back to the engine's thread to
/// be dropped there (see the module comment).
type Owned = Vec<Record>;

/// Whether dropping `record` frees nothing, so that any thread may drop it. Lists the plain
/// contents rather than the boxed one: content added later goes back to the engine by default,
/// which is never wrong, only (if it is plain) a little slower.
fn is_plain(record: &Record) -> bool {
    match record {
        Record::Input(_) => false,
        Record::Event(event) => matches!(
            event.content,
            Content::Null
                | Content::Conf(_)
                | Content::Cause(_)
                | Content::PhoneState(_)
                | Content::Offhook(_)
                | Content::Result(_)
                | Content::Reason(_)
        ),
    }
}

/// Sees every record on the writer thread, right after it is appended (see the module
/// comment). `Any`, so that the caller can take its own type back from `finish_with_tap`.
pub trait RecordTap: std::any::Any + Send {
    fn on_record(&mut self, seq: u64, at: SimTime, record: &Record);
}

/// A tap as `PipedJournal` holds it and hands it back.
pub type BoxedTap = Box<dyn RecordTap>;

/// What the writer thread ends with: the summary, the writer, and the tap if there was one.
type Finished<W> = (Summary, W, Option<BoxedTap>);

enum Msg {
    /// A full batch, and an emptied vector (from an earlier batch) for its owned records.
    Records(Batch, Owned),
    Flush(SyncSender<Result<()>>),
}

/// A journal whose writer runs on its own thread. Same records, same bytes, same digest as
/// `JournalWriter`.
pub struct PipedJournal<W: Write> {
    tx: Option<SyncSender<Msg>>,
    spare: Receiver<(Batch, Owned)>,
    batch: Batch,
    /// Records back from the writer, waiting to be dropped on this thread (see the module
    /// comment).
    returned: Vec<Record>,
    worker: Option<JoinHandle<Result<Finished<W>>>>,
    last_seq: u64,
    /// The writer's first error, once reported, for every later call to name.
    failed: Option<String>,
}

impl<W: Write> std::fmt::Debug for PipedJournal<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipedJournal")
            .field("last_seq", &self.last_seq)
            .field("pending", &self.batch.len())
            .finish()
    }
}

impl<W: Write + Send + 'static> PipedJournal<W> {
    /// Starts a journal on `out` with its header line, written by a new thread.
    pub fn new(out: W, header: &Header) -> Result<Self> {
        Self::start(out, header, None)
    }

    /// As `new`, with `tap` seeing every record on the writer thread after it is appended;
    /// `finish_with_tap` hands it back.
    pub fn with_tap(out: W, header: &Header, tap: BoxedTap) -> Result<Self> {
        Self::start(out, header, Some(tap))
    }

    fn start(out: W, header: &Header, mut tap: Option<BoxedTap>) -> Result<Self> {
        let mut writer = JournalWriter::new(out, header)?;
        let (tx, rx) = sync_channel::<Msg>(QUEUED);
        let (spare_tx, spare) = sync_channel::<(Batch, Owned)>(QUEUED + 2);
        let worker = std::thread::Builder::new()
            .name("confsim-journal".into())
            .spawn(move || {
                for msg in rx {
                    match msg {
                        Msg::Records(mut batch, mut owned) => {
                            match tap.as_deref_mut() {
                                Some(tap) => {
                                    for (at, record) in &batch {
                                        let seq = writer.append(*at, record)?;
                                        tap.on_record(seq, *at, record);
                                    }
                                }
                                None => {
                                    for (at, record) in &batch {
                                        writer.append(*at, record)?;
                                    }
                                }
                            }
                            // The records that own allocations go back with their batch and
                            // are dropped on the engine's thread, which allocated them: freeing
                            // another thread's allocations makes both threads take the
                            // allocator's locks, and that cost as much as the formatting this
                            // thread saves. The plain ones free nothing: dropped here. (The
                            // engine may have enough spares already; then all go here.)
                            owned.extend(
                                batch
                                    .drain(..)
                                    .map(|(_, record)| record)
                                    .filter(|record| !is_plain(record)),
                            );
                            let _ = spare_tx.try_send((batch, owned));
                        }
                        Msg::Flush(ack) => {
                            let flushed = writer.flush();
                            let failure = flushed.as_ref().err().map(ToString::to_string);
                            let _ = ack.send(flushed);
                            if let Some(message) = failure {
                                return Err(JournalError::Write(std::io::Error::other(message)));
                            }
                        }
                    }
                }
                let (summary, out) = writer.finish()?;
                Ok((summary, out, tap))
            })
            .map_err(JournalError::Write)?;
        Ok(PipedJournal {
            tx: Some(tx),
            spare,
            batch: Vec::with_capacity(BATCH),
            returned: Vec::new(),
            worker: Some(worker),
            last_seq: 0,
            failed: None,
        })
    }
}

impl<W: Write> PipedJournal<W> {
    /// The `seq` the next record handed over will get.
    pub fn next_seq(&self) -> u64 {
        self.last_seq + 1
    }

    /// The `seq` of the last record handed over (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// An input record for `push`, in the allocation of a record that came back from the
    /// writer when there is one: every input record is boxed (see `Record`), and a box taken
    /// back is a `malloc` and a `free` fewer per input (a fiftieth of the engine thread's
    /// instructions in the closed-loop day). It takes the place of the returned record that
    /// `push` drops for each record that owns allocations (see the module comment), so the
    /// stock of returned records shrinks as before.
    pub fn input_record(&mut self, input: InputRecord) -> Record {
        match self.returned.pop() {
            Some(Record::Input(mut spare)) => {
                // The old input's parts (its body's count, its response) go here, as the
                // drop of the whole record would have let them go.
                *spare = input;
                Record::Input(spare)
            }
            other => {
                drop(other);
                Record::input(input)
            }
        }
    }

    /// Hands a record at simulated time `at` to the writer; returns its `seq`. An input
    /// record is expected from `input_record`, which took back a returned record for it; one
    /// made otherwise is journaled just the same.
    pub fn push(&mut self, at: SimTime, record: Record) -> Result<u64> {
        if self.tx.is_none() {
            return Err(self.stopped());
        }
        self.last_seq += 1;
        if matches!(record, Record::Event(_)) && !is_plain(&record) {
            // One allocation handed over, one returned record freed (see the module comment).
            drop(self.returned.pop());
        }
        self.batch.push((at, record));
        if self.batch.len() >= BATCH {
            self.send_batch()?;
        }
        Ok(self.last_seq)
    }

    fn send_batch(&mut self) -> Result<()> {
        // A returned batch comes back empty; its owned records wait to be dropped here, on the
        // thread that allocated them, one per push of such a record, and their vector goes out
        // again with this batch.
        let (next, owned) = match self.spare.try_recv() {
            Ok((spare, mut owned)) => {
                self.returned.append(&mut owned);
                self.returned.truncate(BATCH);
                (spare, owned)
            }
            Err(_) => (Vec::with_capacity(BATCH), Vec::new()),
        };
        let full = std::mem::replace(&mut self.batch, next);
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Records(full, owned)).is_ok());
        if sent { Ok(()) } else { Err(self.stopped()) }
    }

    /// The writer thread is gone: its error, or a plain one if it had none to give.
    fn stopped(&mut self) -> JournalError {
        self.tx = None;
        if let Some(first) = &self.failed {
            return JournalError::Write(std::io::Error::other(format!(
                "the journal stopped at an earlier error: {first}"
            )));
        }
        let error = match self.worker.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => JournalError::Write(std::io::Error::other(
                "the journal's writer thread panicked",
            )),
            _ => JournalError::Write(std::io::Error::other(
                "the journal's writer thread has stopped",
            )),
        };
        self.failed = Some(error.to_string());
        error
    }

    /// Waits until every record handed over is in the underlying writer, flushed.
    pub fn flush(&mut self) -> Result<()> {
        if !self.batch.is_empty() {
            self.send_batch()?;
        }
        let (ack_tx, ack) = sync_channel(1);
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Flush(ack_tx)).is_ok());
        if !sent {
            return Err(self.stopped());
        }
        match ack.recv() {
            Ok(result) => result,
            Err(_) => Err(self.stopped()),
        }
    }

    /// Writes everything handed over, flushes, stops the thread and returns the digest and
    /// counts, and the underlying writer.
    pub fn finish(self) -> Result<(Summary, W)> {
        let (summary, out, _) = self.finish_with_tap()?;
        Ok((summary, out))
    }

    /// As `finish`, also handing back the tap given to `with_tap` (`None` without one).
    pub fn finish_with_tap(mut self) -> Result<Finished<W>> {
        if !self.batch.is_empty() {
            self.send_batch()?;
        }
        self.tx = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(JournalError::Write(std::io::Error::other(
                "the journal's writer thread panicked",
            ))),
            None => Err(JournalError::Write(std::io::Error::other(
                "the journal's writer thread has stopped",
            ))),
        }
    }
}

impl<W: Write> Drop for PipedJournal<W> {
    /// Without `finish` (a run that stopped on an error), everything handed over is still
    /// written: the last batch goes, the channel closes, and the thread is waited for.
    fn drop(&mut self) {
        if !self.batch.is_empty()
            && let Some(tx) = &self.tx
        {
            let _ = tx.send(Msg::Records(std::mem::take(&mut self.batch), Vec::new()));
        }
        self.tx = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confsim_core::event::{Content, EventType};
    use confsim_core::{AgentId, ConfId, Event, Input, InputRecord, Op, PlatformConfig, Response};
    use serde_json::json;

    fn header() -> Header {
        Header::new(
            "piped",
            7,
            SimTime::parse_rfc3339("2026-01-05T09:00:00Z").unwrap(),
            PlatformConfig::default(),
            Vec::new(),
        )
    }

    fn records(n: u64) -> Vec<(SimTime, Record)> {
        let t0 = SimTime::parse_rfc3339("2026-01-05T09:00:00Z").unwrap();
        (0..n)
            .map(|i| {
                let at = t0.saturating_add(confsim_core::SimDuration::from_millis(i * 7));
                let record = if i % 5 == 0 {
                    Record::input(InputRecord::new(
                        Input::new(Op::RequestAgentConf, "101", json!({"memberNum": 4})),
                        Response::success(json!({})),
                    ))
                } else {
                    Record::Event(Event::new(
                        EventType::AgentConfRequestSuccess,
                        AgentId(101),
                        Content::Conf(ConfId(1_030_400 + i)),
                    ))
                };
                (at, record)
            })
            .collect()
    }

    #[test]
    fn same_bytes_and_digest_as_the_inline_writer() {
        for n in [0, 1, BATCH as u64 - 1, BATCH as u64, 5 * BATCH as u64 + 3] {
            let mut inline = JournalWriter::new(Vec::new(), &header()).unwrap();
            let mut piped = PipedJournal::new(Vec::new(), &header()).unwrap();
            for (at, record) in records(n) {
                let a = inline.append(at, &record).unwrap();
                assert_eq!(piped.next_seq(), a);
                assert_eq!(piped.push(at, record).unwrap(), a);
            }
            let (s1, b1) = inline.finish().unwrap();
            let (s2, b2) = piped.finish().unwrap();
            assert_eq!(s1, s2, "{n} records");
            assert_eq!(b1, b2, "{n} records");
        }
    }

    /// Input records made by `input_record` take back the boxes of returned ones, so a
    /// steady run allocates none; the bytes are the inline writer's all the same, and the
    /// records waiting to be dropped stay bounded.
    #[test]
    fn input_records_take_back_the_boxes_of_returned_ones() {
        let mut inline = JournalWriter::new(Vec::new(), &header()).unwrap();
        let mut piped = PipedJournal::new(Vec::new(), &header()).unwrap();
        let address = |input: &InputRecord| input as *const InputRecord as usize;
        let mut reused = 0;
        let rounds = 6;
        for (i, (at, record)) in records(rounds * BATCH as u64).into_iter().enumerate() {
            inline.append(at, &record).unwrap();
            let record = match record {
                Record::Input(input) => {
                    let spare = match piped.returned.last() {
                        Some(Record::Input(spare)) => Some(address(spare)),
                        _ => None,
                    };
                    let record = piped.input_record(*input);
                    let Record::Input(boxed) = &record else {
                        panic!("an input record is an input");
                    };
                    if let Some(spare) = spare {
                        assert_eq!(address(boxed), spare, "the returned input's box");
                        reused += 1;
                    }
                    record
                }
                event => event,
            };
            piped.push(at, record).unwrap();
            assert!(piped.returned.len() <= BATCH);
            // Every batch written before the next is made: its inputs are back in time.
            if (i + 1) % BATCH == 0 {
                piped.flush().unwrap();
            }
        }
        let inputs = (rounds * BATCH as u64).div_ceil(5);
        // The first two batches' inputs are new; from the third on, all are taken back.
        assert!(
            reused >= inputs - 2 * (BATCH as u64).div_ceil(5),
            "{reused} of {inputs}"
        );
        assert_eq!(inline.finish().unwrap(), piped.finish().unwrap());
    }

    #[test]
    fn only_records_that_own_allocations_go_back_to_the_engine() {
        let (_, input) = records(1).remove(0);
        assert!(!is_plain(&input), "an input is boxed");
        let change = confsim_core::event::ParticipantChange {
            result: 0,
            change_type: 0,
            change_reason: 0,
            conf: ConfId(1),
            participant: "102".into(),
            participant_type: 9,
            device_call_type: 0,
            device_type: 0,
        };
        let boxed = Event::new(
            EventType::AgentConfParticipantChanged,
            AgentId(101),
            Content::Participant(Box::new(change)),
        );
        assert!(!is_plain(&Record::Event(boxed)));
        let plain = Event::new(
            EventType::AgentConfRequestSuccess,
            AgentId(101),
            Content::Conf(ConfId(1)),
        );
        assert!(is_plain(&Record::Event(plain)));
    }

    #[test]
    fn records_waiting_to_be_dropped_stay_bounded() {
        let mut piped = PipedJournal::new(std::io::sink(), &header()).unwrap();
        let mut most = 0;
        for (at, record) in records(50 * BATCH as u64) {
            piped.push(at, record).unwrap();
            most = most.max(piped.returned.len());
        }
        assert!(most <= BATCH, "{most}");
        // And after a burst of records that all own allocations.
        let mut piped = PipedJournal::new(std::io::sink(), &header()).unwrap();
        let mut most = 0;
        for (at, record) in records(50 * BATCH as u64).into_iter().step_by(5) {
            piped.push(at, record).unwrap();
            most = most.max(piped.returned.len());
        }
        assert!(most <= BATCH, "{most}");
        piped.finish().unwrap();
    }

    /// Remembers what it saw, to compare with the inline writer's stamps.
    #[derive(Debug, Default)]
    struct Seen(Vec<(u64, SimTime, bool)>);
    impl RecordTap for Seen {
        fn on_record(&mut self, seq: u64, at: SimTime, record: &Record) {
            self.0.push((seq, at, matches!(record, Record::Input(_))));
        }
    }

    #[test]
    fn a_tap_sees_every_record_in_order_and_comes_back() {
        for n in [0, 1, BATCH as u64, 3 * BATCH as u64 + 5] {
            let mut piped =
                PipedJournal::with_tap(Vec::new(), &header(), Box::new(Seen::default())).unwrap();
            let mut expected = Vec::new();
            for (at, record) in records(n) {
                let is_input = matches!(record, Record::Input(_));
                expected.push((piped.push(at, record).unwrap(), at, is_input));
            }
            let (summary, bytes, tap) = piped.finish_with_tap().unwrap();
            let seen = tap.map(|t| t as Box<dyn std::any::Any>);
            let seen = seen.and_then(|t| t.downcast::<Seen>().ok()).unwrap();
            assert_eq!(seen.0, expected, "{n} records");
            // Same bytes as without a tap.
            let mut plain = PipedJournal::new(Vec::new(), &header()).unwrap();
            for (at, record) in records(n) {
                plain.push(at, record).unwrap();
            }
            assert_eq!(plain.finish().unwrap(), (summary, bytes));
        }
        let plain = PipedJournal::new(Vec::new(), &header()).unwrap();
        assert!(plain.finish_with_tap().unwrap().2.is_none());
    }

    #[test]
    fn flush_puts_every_record_handed_over_in_the_writer() {
        let path = tempfile::NamedTempFile::new().unwrap();
        let file = std::fs::File::create(path.path()).unwrap();
        let mut piped = PipedJournal::new(file, &header()).unwrap();
        for (at, record) in records(10) {
            piped.push(at, record).unwrap();
        }
        piped.flush().unwrap();
        let text = std::fs::read_to_string(path.path()).unwrap();
        assert_eq!(text.lines().count(), 11, "header and 10 records");
        drop(piped);
    }

    /// A writer that fails after some bytes, like a full disk.
    #[derive(Debug)]
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 < buf.len() {
                return Err(std::io::Error::other("disk full"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_reaches_the_engine() {
        let mut piped = PipedJournal::new(Full(100_000), &header()).unwrap();
        let mut failed = None;
        for (at, record) in records(50 * BATCH as u64) {
            if let Err(e) = piped.push(at, record) {
                failed = Some(e);
                break;
            }
        }
        let error = match failed {
            Some(e) => e,
            None => piped.finish().unwrap_err(),
        };
        assert!(error.to_string().contains("disk full"), "{error}");
    }

    #[test]
    fn every_push_after_an_error_fails_and_names_it() {
        let mut piped = PipedJournal::new(Full(10_000), &header()).unwrap();
        let mut first = None;
        for (at, record) in records(50 * BATCH as u64) {
            if let Err(e) = piped.push(at, record) {
                first = Some(e);
                break;
            }
        }
        assert!(first.unwrap().to_string().contains("disk full"));
        let pushed = piped.last_seq();
        for (at, record) in records(3) {
            let later = piped.push(at, record).unwrap_err().to_string();
            assert!(
                later.contains("earlier error") && later.contains("disk full"),
                "{later}"
            );
        }
        assert_eq!(
            piped.last_seq(),
            pushed,
            "no seq is given to a later refused record"
        );
        assert!(piped.flush().unwrap_err().to_string().contains("disk full"));
    }

    #[test]
    fn dropping_without_finish_writes_everything() {
        let path = tempfile::NamedTempFile::new().unwrap();
        let file = std::fs::File::create(path.path()).unwrap();
        let mut piped = PipedJournal::new(file, &header()).unwrap();
        for (at, record) in records(3 * BATCH as u64 + 1) {
            piped.push(at, record).unwrap();
        }
        drop(piped);
        let text = std::fs::read_to_string(path.path()).unwrap();
        assert_eq!(text.lines().count(), 3 * BATCH + 2);
    }
}
