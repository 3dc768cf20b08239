//! The run report (product.md §5) and its human rendering.

use crate::expect::Verdict;
use crate::load::LoadFigures;
use crate::stats::{Bucket, Percentiles};
use crate::timeline::Point;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `latency_ms`: request-to-success percentiles, and on the wall clock the timer lateness.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    #[serde(flatten)]
    pub request_to_success: Percentiles,
    /// Wall clock only: real milliseconds between an item's due instant and when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timer_lateness: Option<Percentiles>,
}

/// One run's report. Field names are the report's public keys.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub clock: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Hex BLAKE3 digest of the journal's bytes.
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    pub inputs: u64,
    pub events: u64,
    pub records: u64,
    pub journal_bytes: u64,
    pub sim_time_ms: u64,
    pub wall_time_ms: f64,
    pub events_per_sec: f64,
    pub records_per_sec: f64,
    pub counts: BTreeMap<String, u64>,
    pub retcodes: BTreeMap<String, u64>,
    /// Load arrivals that found no eligible agent (every generator together).
    pub dropped_arrivals: u64,
    /// Each load generator's figures, in `load[]` order (absent without generators).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load: Vec<LoadFigures>,
    pub latency_ms: Latency,
    /// Whether the run fell behind real time on the wall clock (some item ran over 100 ms late).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fell_behind: Option<bool>,
    pub active_conferences_at_end: u64,
    /// The process's peak resident memory when the run ended, in bytes, where the platform
    /// tells it (Linux: `VmHWM` of `/proc/self/status`); absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<u64>,
    pub expectations: Vec<Verdict>,
    /// Every expectation held.
    pub ok: bool,
    /// For the HTML page, not the JSON report: active conferences and busy agents sampled
    /// every `timeline_interval_ms` of simulated time (at most `timeline::MAX_POINTS`).
    #[serde(skip)]
    pub timeline: Vec<Point>,
    #[serde(skip)]
    pub timeline_interval_ms: u64,
    /// For the HTML page: the request-to-success latencies in equal-width bars.
    #[serde(skip)]
    pub latency_buckets: Vec<Bucket>,
}

/// A wall-clock item that runs this late (real time) means the run could not keep up.
pub const BEHIND_MS: u64 = 100;

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate as `1.2 k/s`.
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}/s")
    }
}

impl Report {
    /// The summary printed on stdout without `--json`.
    pub fn human(&self, describe: &[String]) -> String {
        let mut s = String::new();
        let sim = confsim_core::SimDuration::from_millis(self.sim_time_ms);
        let _ = writeln!(
            s,
            "scenario {}  seed {}  clock {}{}",
            self.scenario,
            self.seed,
            self.clock,
            self.speed.map(|x| format!(" x{x}")).unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "simulated {sim} in {:.3} s of real time",
            self.wall_time_ms / 1000.0
        );
        if self.fell_behind == Some(true) {
            let late = self.latency_ms.timer_lateness.as_ref().map_or(0, |t| t.max);
            let _ = writeln!(
                s,
                "FELL BEHIND real time: items ran up to {late} ms late (more than {BEHIND_MS} ms); the machine could not keep up with --speed {}",
                self.speed.unwrap_or(1.0)
            );
        }
        let _ = writeln!(
            s,
            "journal   {} records ({} inputs, {} events), {} bytes, {}",
            thousands(self.records),
            thousands(self.inputs),
            thousands(self.events),
            thousands(self.journal_bytes),
            rate(self.records_per_sec)
        );
        let _ = writeln!(
            s,
            "digest    {}{}",
            self.digest,
            self.journal
                .as_ref()
                .map(|j| format!("  ({j})"))
                .unwrap_or_default()
        );
        if let Some(bytes) = self.peak_memory_bytes {
            let _ = writeln!(s, "memory    {:.1} MB peak resident", bytes as f64 / 1e6);
        }
        if !self.counts.is_empty() {
            let _ = writeln!(s, "\nevents");
            for (name, n) in &self.counts {
                let _ = writeln!(s, "  {name:<36} {:>12}", thousands(*n));
            }
        }
        if !self.retcodes.is_empty() {
            let _ = writeln!(s, "\nretcodes");
            for (code, n) in &self.retcodes {
                let _ = writeln!(s, "  {code:<36} {:>12}", thousands(*n));
            }
        }
        let l = &self.latency_ms.request_to_success;
        if l.count > 0 {
            let _ = writeln!(
                s,
                "\nrequest to AgentConf_RequestSuccess (simulated ms, n={})",
                thousands(l.count)
            );
            let _ = writeln!(
                s,
                "  p50 {:>8}  p90 {:>8}  p99 {:>8}  max {:>8}",
                l.p50, l.p90, l.p99, l.max
            );
        }
        if let Some(t) = &self.latency_ms.timer_lateness {
            let _ = writeln!(s, "\ntimer lateness (real ms, n={})", thousands(t.count));
            let _ = writeln!(
                s,
                "  p50 {:>8}  p90 {:>8}  p99 {:>8}  max {:>8}",
                t.p50, t.p90, t.p99, t.max
            );
            let _ = writeln!(
                s,
                "  {}",
                if self.fell_behind == Some(true) {
                    "fell behind real time (see above)"
                } else {
                    "kept up with real time"
                }
            );
        }
        if !self.load.is_empty() {
            let labels: Vec<String> = self
                .load
                .iter()
                .map(|g| format!("{} ({} {})", g.name, g.arrival, g.op))
                .collect();
            // The label column is as wide as the longest label, so the figures stay aligned.
            let w = labels
                .iter()
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0)
                .max(34);
            let _ = writeln!(
                s,
                "\nload{:<pad$} {:>10} {:>10} {:>10} {:>10} {:>10}",
                "",
                "arrivals",
                "dropped",
                "submitted",
                "accepted",
                "released",
                pad = w - 2
            );
            for (g, label) in self.load.iter().zip(&labels) {
                let _ = writeln!(
                    s,
                    "  {label:<w$} {:>10} {:>10} {:>10} {:>10} {:>10}",
                    thousands(g.arrivals),
                    thousands(g.dropped),
                    thousands(g.submitted),
                    thousands(g.accepted),
                    thousands(g.releases)
                );
            }
            let _ = writeln!(
                s,
                "  dropped arrivals {} (no eligible agent free at the arrival)",
                thousands(self.dropped_arrivals)
            );
            let _ = writeln!(
                s,
                "  active conferences at the end {}",
                thousands(self.active_conferences_at_end)
            );
        }
        if !self.expectations.is_empty() {
            let held = self.expectations.iter().filter(|v| v.ok).count();
            let _ = writeln!(
                s,
                "\nexpectations: {held} of {} hold",
                self.expectations.len()
            );
            for (v, d) in self.expectations.iter().zip(describe) {
                let _ = writeln!(
                    s,
                    "  {}  {d}: {}",
                    if v.ok { "ok  " } else { "FAIL" },
                    v.detail
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
