//! The gateway's journal sink: the engine's `JournalWriter` writes through it to the
//! `--journal` file (if any) and into an in-memory copy indexed by line, which is what
//! `GET /simulator/journal?from=SEQ` serves.
//!
//! Memory is bounded: past `capacity` bytes the oldest records are forgotten (half of what is
//! held, at once, so the cost of moving the rest is amortized), and a request for them is told
//! which `seq` is the earliest still held. The header line is always kept.
//!
//! A write to the file that fails (disk full, file removed under a FIFO) does not stop the
//! simulation: the error is logged once, counted in the metrics, and the file is no longer
//! written. Failing the write instead would make the engine return an error *between*
//! journaling a record and applying it, and the platform would then no longer be the fold of
//! its journal.

use crate::durable::JournalFile;
use confsim_journal::{Header, JournalReader, Stamped, TornTail};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// The journal's bytes as far as they have been written, with each line's start.
#[derive(Debug)]
pub(crate) struct JournalMemory {
    header: Vec<u8>,
    /// Bytes of the records still held, from absolute offset `base` (counted from the first
    /// record's first byte).
    bytes: VecDeque<u8>,
    base: u64,
    /// Absolute start offset of record `first_seq + i`.
    starts: VecDeque<u64>,
    first_seq: u64,
    /// Absolute offset just past the last complete line.
    complete: u64,
    /// Absolute offset just past the last byte received.
    end: u64,
    header_done: bool,
    /// Complete records received: the `seq` of the last one.
    records: u64,
    capacity: usize,
    pub file_errors: u64,
    /// The `seq` of the last complete record, for subscribers that follow the journal.
    written: watch::Sender<u64>,
}

/// What `from` asks for that is no longer in memory.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Forgotten {
    pub earliest: u64,
}

impl JournalMemory {
    pub fn new(capacity: usize) -> Self {
        JournalMemory {
            header: Vec::new(),
            bytes: VecDeque::new(),
            base: 0,
            starts: VecDeque::new(),
            first_seq: 1,
            complete: 0,
            end: 0,
            header_done: false,
            records: 0,
            capacity,
            file_errors: 0,
            written: watch::channel(0).0,
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        if !self.header_done {
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    self.header.extend_from_slice(&data[..=i]);
                    self.header_done = true;
                    data = &data[i + 1..];
                }
                None => {
                    self.header.extend_from_slice(data);
                    return;
                }
            }
        }
        let mut at = self.end;
        if self.starts.is_empty() && self.end == self.base && !data.is_empty() {
            // The very first record byte (or the first after everything was forgotten).
            self.starts.push_back(at);
        }
        for i in memchr::memchr_iter(b'\n', data) {
            let next = at + i as u64 + 1;
            self.complete = next;
            self.records += 1;
            // The next line starts after this newline; recorded now, dropped below if no byte
            // of it ever arrives in this write.
            self.starts.push_back(next);
        }
        at += data.len() as u64;
        self.bytes.extend(data);
        self.end = at;
        // A start recorded for a line that has no byte yet is at `end`: it is kept (the next
        // write continues that line) but never served, since it is not before `complete`.
        if self.bytes.len() > self.capacity {
            self.forget_oldest_half();
        }
        if self.records != *self.written.borrow() {
            self.written.send_replace(self.records);
        }
    }

    /// Changes whenever complete records are added (its value: the last one's `seq`).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.written.subscribe()
    }

    /// Forgets the oldest records, keeping about half of the capacity.
    fn forget_oldest_half(&mut self) {
        let keep_from = self.end.saturating_sub((self.capacity / 2) as u64);
        // The first line start at or after `keep_from` that is a complete line's start.
        let mut dropped = 0u64;
        while let Some(&s) = self.starts.front() {
            if s >= keep_from || s >= self.complete {
                break;
            }
            self.starts.pop_front();
            dropped += 1;
        }
        let new_base = self.starts.front().copied().unwrap_or(self.end);
        let cut = (new_base - self.base) as usize;
        self.bytes.drain(..cut);
        self.base = new_base;
        self.first_seq += dropped;
    }

    /// The `seq` of the last complete record (0 before any).
    #[cfg(test)]
    pub fn last_seq(&self) -> u64 {
        self.records
    }

    /// The journal from record `from` on (complete lines only); `from == 0` means the whole
    /// journal, header included, which is then a journal `confsim replay` reads.
    pub fn read_from(&self, from: u64) -> Result<Vec<u8>, Forgotten> {
        if from == 0 {
            if self.first_seq > 1 {
                return Err(Forgotten {
                    earliest: self.first_seq,
                });
            }
            let mut out = self.header.clone();
            self.copy_range(self.base, self.complete, &mut out);
            return Ok(out);
        }
        if from < self.first_seq {
            return Err(Forgotten {
                earliest: self.first_seq,
            });
        }
        let index = (from - self.first_seq) as usize;
        match self.starts.get(index) {
            Some(&start) if start < self.complete => {
                let mut out = Vec::new();
                self.copy_range(start, self.complete, &mut out);
                Ok(out)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Appends the held bytes at absolute offsets `from..to` to `out`, slice by slice.
    fn copy_range(&self, from: u64, to: u64, out: &mut Vec<u8>) {
        let (a, b) = ((from - self.base) as usize, (to - self.base) as usize);
        let (front, back) = self.bytes.as_slices();
        out.reserve(b - a);
        if a < front.len() {
            out.extend_from_slice(&front[a..b.min(front.len())]);
        }
        if b > front.len() {
            out.extend_from_slice(&back[a.saturating_sub(front.len())..b - front.len()]);
        }
    }

    pub fn held_bytes(&self) -> usize {
        self.header.len() + self.bytes.len()
    }
}

/// The `Write` the engine's journal goes to.
#[derive(Debug)]
pub(crate) struct JournalTap {
    file: Option<Arc<dyn JournalFile>>,
    memory: Arc<Mutex<JournalMemory>>,
}

impl JournalTap {
    pub fn new(file: Option<Arc<dyn JournalFile>>, memory: Arc<Mutex<JournalMemory>>) -> Self {
        JournalTap { file, memory }
    }
}

/// Locks the journal's memory; a panic elsewhere while it was held leaves it usable (it is
/// only ever appended to and trimmed, each step complete).
pub(crate) fn lock(memory: &Mutex<JournalMemory>) -> MutexGuard<'_, JournalMemory> {
    memory
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Write for JournalTap {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut memory = lock(&self.memory);
        if let Some(file) = &self.file
            && let Err(error) = file.write_all(data)
        {
            tracing::error!(%error, "writing the journal file failed; it is no longer written (the in-memory journal goes on)");
            memory.file_errors += 1;
            self.file = None;
        }
        memory.push(data);
        Ok(data.len())
    }

    /// Every write went to the operating system already (the file is not buffered here).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A `--journal` file that already exists, read and trimmed, ready to be continued.
#[derive(Debug)]
pub struct ExistingJournal {
    pub path: PathBuf,
    pub header: Header,
    /// Every complete record, in order.
    pub records: Vec<Stamped>,
    /// The torn last line that was cut off, if there was one.
    pub torn: Option<TornTail>,
    /// The file's length after the cut: the header and every complete record.
    pub kept_bytes: u64,
    /// The file, open for appending after `kept_bytes`.
    pub(crate) file: File,
}

/// Why an existing journal cannot be continued.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    Journal {
        path: PathBuf,
        error: confsim_journal::JournalError,
    },
}

impl ExistingJournal {
    /// Reads the journal at `path` (every complete record; a torn last line is noted, not an
    /// error) and cuts the torn tail off the file, so the next record starts a line. The cut
    /// and the records before it are synced to disk before anything is appended. A file that
    /// is not a journal, or a record that does not parse or breaks the `seq` order, is an
    /// error and the file is left as it is.
    pub fn open(path: &Path) -> Result<Self, ResumeError> {
        let io = |error| ResumeError::Io {
            path: path.to_owned(),
            error,
        };
        let journal = |error| ResumeError::Journal {
            path: path.to_owned(),
            error,
        };
        let file = File::options()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let length = file.metadata().map_err(io)?.len();
        let mut reader = JournalReader::new(std::io::BufReader::with_capacity(1 << 16, &file))
            .map_err(journal)?;
        let mut records = Vec::new();
        for record in reader.by_ref() {
            records.push(record.map_err(journal)?);
        }
        let torn = reader.torn_tail().cloned();
        let header = reader.header().clone();
        drop(reader);
        let kept_bytes = length - torn.as_ref().map_or(0, |t| t.bytes as u64);
        if torn.is_some() {
            file.set_len(kept_bytes).map_err(io)?;
        }
        file.sync_all().map_err(io)?;
        Ok(ExistingJournal {
            path: path.to_owned(),
            header,
            records,
            torn,
            kept_bytes,
            file,
        })
    }

    /// The `seq` of the last complete record (0: none).
    pub fn last_seq(&self) -> u64 {
        self.records.last().map_or(0, |r| r.seq)
    }

    /// The kept bytes of the file, each also pushed into the in-memory journal as it is read.
    pub(crate) fn kept_reader(
        &self,
        memory: Arc<Mutex<JournalMemory>>,
    ) -> Result<Tee<std::io::Take<File>>, ResumeError> {
        let file = File::open(&self.path).map_err(|error| ResumeError::Io {
            path: self.path.clone(),
            error,
        })?;
        Ok(Tee {
            input: file.take(self.kept_bytes),
            memory,
        })
    }
}

/// Reads through, copying every byte into the in-memory journal.
pub(crate) struct Tee<R> {
    input: R,
    memory: Arc<Mutex<JournalMemory>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        lock(&self.memory).push(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_with(capacity: usize, lines: &[&str]) -> JournalMemory {
        let mut m = JournalMemory::new(capacity);
        for l in lines {
            m.push(l.as_bytes());
        }
        m
    }

    #[test]
    fn records_are_served_from_any_seq_and_the_header_with_the_whole() {
        let m = memory_with(
            1 << 20,
            &["{\"h\":1}\n{\"seq\":1}\n", "{\"seq\":2}\n{\"se", "q\":3}\n"],
        );
        assert_eq!(m.last_seq(), 3);
        assert_eq!(
            m.read_from(0).unwrap(),
            b"{\"h\":1}\n{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n"
        );
        assert_eq!(m.read_from(2).unwrap(), b"{\"seq\":2}\n{\"seq\":3}\n");
        assert_eq!(m.read_from(3).unwrap(), b"{\"seq\":3}\n");
        assert_eq!(m.read_from(4).unwrap(), b"");
        assert_eq!(m.read_from(99).unwrap(), b"");
    }

    #[test]
    fn an_incomplete_line_is_not_served() {
        let m = memory_with(1 << 20, &["{\"h\":1}\n{\"seq\":1}\n{\"seq\":"]);
        assert_eq!(m.last_seq(), 1);
        assert_eq!(m.read_from(1).unwrap(), b"{\"seq\":1}\n");
        assert_eq!(m.read_from(2).unwrap(), b"");
    }

    #[test]
    fn past_the_capacity_the_oldest_records_are_forgotten() {
        let mut m = JournalMemory::new(100);
        m.push(b"{\"header\":true}\n");
        for seq in 1..=50u64 {
            m.push(format!("{{\"seq\":{seq:03}}}\n").as_bytes());
        }
        assert!(m.held_bytes() <= 100 + 16 + 12, "{}", m.held_bytes());
        assert_eq!(m.last_seq(), 50);
        let earliest = m.read_from(1).unwrap_err().earliest;
        assert!(earliest > 1 && earliest <= 50);
        assert_eq!(m.read_from(0).unwrap_err().earliest, earliest);
        let tail = m.read_from(earliest).unwrap();
        let first = std::str::from_utf8(&tail).unwrap().lines().next().unwrap();
        assert_eq!(first, format!("{{\"seq\":{earliest:03}}}"));
        assert_eq!(m.read_from(50).unwrap(), b"{\"seq\":050}\n");
    }
}
