//! Several journals at once (a regression corpus in CI): the command line's files and
//! directories expanded into a list, each journal replayed with its own verdict, and a summary.
//! A journal that cannot be replayed is an entry of the list, not the end of the run: the rest
//! still get their verdicts.

use crate::error::{ReplayError, Result};
use crate::outcome::{Outcome, Verdict};
use crate::replay::replay_file_with;
use crate::tolerant::CaptureOptions;
use serde::Serialize;
use std::path::PathBuf;

/// Expands files and directories into the journals to replay: a file as given, a directory
/// as every `*.jsonl` file directly inside it, in name order (so verdicts, summaries and JUnit
/// reports come out in the same order on every machine). Subdirectories are not searched, so a
/// corpus can keep other material beside its journals.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            out.push(arg.clone());
            continue;
        }
        let name = arg.display().to_string();
        let mut found = Vec::new();
        for entry in std::fs::read_dir(arg).map_err(|e| ReplayError::io(&name, e))? {
            let path = entry.map_err(|e| ReplayError::io(&name, e))?.path();
            if path.extension().is_some_and(|e| e == "jsonl") && path.is_file() {
                found.push(path);
            }
        }
        if found.is_empty() {
            return Err(ReplayError::EmptyDirectory { dir: arg.clone() });
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// One journal of a corpus and what replaying it gave.
#[derive(Debug)]
pub struct Replayed {
    pub journal: PathBuf,
    pub result: Result<Outcome>,
}

impl Replayed {
    /// The verdict line, with the first divergence or the error below it.
    pub fn human(&self) -> String {
        match &self.result {
            Ok(outcome) => outcome.human(),
            Err(error) => format!(
                "{}: NOT A JOURNAL (or unreadable): {error}\n",
                self.journal.display()
            ),
        }
    }

    /// The outcome as JSON, or for a journal that could not be replayed
    /// `{"journal", "verdict": "invalid", "ok": false, "error"}`.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.result {
            Ok(outcome) => serde_json::to_value(outcome).unwrap_or_default(),
            Err(error) => serde_json::json!({
                "journal": self.journal.display().to_string(),
                "verdict": "invalid",
                "ok": false,
                "error": error.to_string(),
            }),
        }
    }
}

/// Replays every journal in turn.
pub fn replay_all(journals: &[PathBuf]) -> Vec<Replayed> {
    replay_all_with(journals, &CaptureOptions::default())
}

/// Replays every journal in turn, captures with `options`.
pub fn replay_all_with(journals: &[PathBuf], options: &CaptureOptions) -> Vec<Replayed> {
    journals
        .iter()
        .map(|journal| Replayed {
            journal: journal.clone(),
            result: replay_file_with(journal, options),
        })
        .collect()
}

/// The verdicts of a corpus, counted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub journals: u64,
    pub identical: u64,
    pub diverged: u64,
    /// Journals that could not be replayed (not a journal, unreadable).
    pub invalid: u64,
    pub records: u64,
    pub wall_time_ms: f64,
    pub records_per_sec: f64,
    pub ok: bool,
}

impl Summary {
    pub fn of(replayed: &[Replayed]) -> Self {
        let mut s = Summary {
            journals: replayed.len() as u64,
            identical: 0,
            diverged: 0,
            invalid: 0,
            records: 0,
            wall_time_ms: 0.0,
            records_per_sec: 0.0,
            ok: false,
        };
        for r in replayed {
            match &r.result {
                Ok(o) => {
                    match o.verdict {
                        Verdict::Identical => s.identical += 1,
                        Verdict::Diverged => s.diverged += 1,
                    }
                    s.records += o.records;
                    s.wall_time_ms += o.wall_time_ms;
                }
                Err(_) => s.invalid += 1,
            }
        }
        s.ok = s.identical == s.journals;
        if s.wall_time_ms > 0.0 {
            s.records_per_sec = s.records as f64 / (s.wall_time_ms / 1000.0);
        }
        s
    }

    /// `3 journals: 2 identical, 1 diverged, 0 invalid; 1,234 records at 1.2 M records/s`.
    pub fn line(&self) -> String {
        format!(
            "{} journal{}: {} identical, {} diverged, {} invalid; {} records at {}",
            self.journals,
            if self.journals == 1 { "" } else { "s" },
            self.identical,
            self.diverged,
            self.invalid,
            crate::outcome::thousands(self.records),
            crate::outcome::rate(self.records_per_sec)
        )
    }
}
