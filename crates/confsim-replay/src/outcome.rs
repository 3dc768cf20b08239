//! What a replay found: the verdict, the first divergent record with its cause and the fields
//! that differ, the counts, and the two ways to show it (a human text and, through serde, one
//! JSON object).

use crate::tolerant::CaptureComparison;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;

/// Whether the replay reproduced the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every recorded record was produced again, and nothing else.
    Identical,
    /// At least one record differs, is missing, or is extra.
    Diverged,
}

/// How a position of the journal differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DivergenceKind {
    /// The replay produced a different record at this position.
    Differs,
    /// The journal has a record here that the replay did not produce.
    Missing,
    /// The replay produced a record after the journal's last one.
    Extra,
}

/// The nearest input at or before a divergent record, in the recorded journal: what the
/// platform was answering when it went another way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub seq: u64,
    pub at: String,
    pub op: String,
    /// The `{agentid}` of the input exactly as recorded.
    pub agent: String,
}

/// One field (a dotted path into the record) whose values differ; an absent side is `None`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDiff {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
}

/// The first position where the replay and the journal disagree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Divergence {
    pub kind: DivergenceKind,
    pub seq: u64,
    /// The line of the recorded journal; `None` for a record produced after its end.
    pub line: Option<u64>,
    /// The record's simulated time, as recorded (as produced for an extra record).
    pub at: Option<String>,
    pub cause: Option<Cause>,
    /// The fields that differ, when both sides have a record.
    pub fields: Vec<FieldDiff>,
    /// The recorded record, and the one the replay produced.
    pub expected: Option<Value>,
    pub actual: Option<Value>,
    /// Found by the replay of a capture, where records are aligned per agent rather than by
    /// position (it changes only the words of `what`).
    #[serde(skip)]
    pub in_capture: bool,
}

/// The torn last line of a journal, which is not replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Torn {
    pub line: u64,
    pub bytes: usize,
}

/// The result of replaying one journal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The journal as named on the command line.
    pub journal: String,
    pub verdict: Verdict,
    pub ok: bool,
    /// From the header: the scenario's name (`serve` for a gateway session) and the seed.
    pub scenario: String,
    pub seed: u64,
    /// Complete records in the journal; every one is compared.
    pub records: u64,
    /// Records the replay produced.
    pub replayed: u64,
    /// Positions that differ (header included), counting records missing from the replay
    /// and records the replay produced after the journal's end.
    pub differences: u64,
    /// Differences after the first.
    pub further_differences: u64,
    pub first_divergence: Option<Divergence>,
    /// Lines whose bytes differ but which are equal as JSON (another writer's spacing or key
    /// order): matching, and counted here.
    pub reformatted: u64,
    pub torn_tail: Option<Torn>,
    /// When the recorded header is not in this build's normal form (written by another
    /// version, or by hand): the fields this build writes differently, such as a setting added
    /// with its default value. Not a difference: the replay ran with the recorded header.
    pub header_normalized: Option<Vec<FieldDiff>>,
    /// Records the replay produced at or after a torn tail: the journal lost them in the crash
    /// that tore it, so they are not differences.
    pub replayed_after_torn_tail: u64,
    /// Hex BLAKE3 digest of the journal the replay wrote. When identical it is the recorded
    /// file's digest, unless lines were reformatted, the header normalized, or the tail torn
    /// (the replay then also wrote what the crash lost).
    pub digest: String,
    pub wall_time_ms: f64,
    pub records_per_sec: f64,
    /// For a capture (its header's `source.kind` is `capture`): what a model can match was
    /// compared rather than bytes, and this is what was found. Absent for other journals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureComparison>,
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 record`, `2 records`.
fn records(n: u64) -> String {
    format!("{} record{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// A rate of records as `1.21 M records/s`, `15.1 k records/s` or `870 records/s`.
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M records/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k records/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} records/s")
    }
}

/// Values longer than this are cut in the side-by-side table (the full records follow it).
const CELL_MAX_CHARS: usize = 48;

fn cell(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "(absent)".to_owned();
    };
    let text = value.to_string();
    if text.chars().count() <= CELL_MAX_CHARS {
        return text;
    }
    let cut: String = text.chars().take(CELL_MAX_CHARS - 1).collect();
    cut + "…"
}

/// An agent id as recorded: bare when it is a plain number, quoted (escaped) otherwise, so a
/// strange `{agentid}` is visible as what it was.
fn agent(id: &str) -> String {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        id.to_owned()
    } else {
        format!("{id:?}")
    }
}

impl Divergence {
    /// `seq 5 (2026-01-05T09:00:00.041Z)`.
    pub fn position(&self) -> String {
        match &self.at {
            Some(at) => format!("seq {} ({at})", self.seq),
            None => format!("seq {}", self.seq),
        }
    }

    /// What kind of difference, in a few words.
    pub fn what(&self) -> String {
        match self.kind {
            DivergenceKind::Differs => {
                let fields: Vec<&str> = self.fields.iter().map(|f| f.field.as_str()).collect();
                format!("the records differ in {}", fields.join(", "))
            }
            DivergenceKind::Missing => "the replay did not produce this record".to_owned(),
            DivergenceKind::Extra if self.in_capture => {
                "the replay produced this record, which the capture does not have".to_owned()
            }
            DivergenceKind::Extra => {
                "the replay produced this record after the journal's end".to_owned()
            }
        }
    }

    /// One sentence: where, and what kind of difference.
    pub fn summary(&self) -> String {
        format!("{}: {}", self.position(), self.what())
    }

    /// What differs, the cause, the fields side by side, then both records in full; every
    /// line indented.
    pub fn details(&self, indent: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{indent}{:<10} {}", "what", self.what());
        match &self.cause {
            Some(c) => {
                let itself = if c.seq == self.seq {
                    " (this record)"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "{indent}{:<10} input seq {} ({}): {} by agent {}{itself}",
                    "cause",
                    c.seq,
                    c.at,
                    c.op,
                    agent(&c.agent)
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "{indent}{:<10} no input before it: the header's platform and seed alone",
                    "cause"
                );
            }
        }
        if !self.fields.is_empty() {
            let rows: Vec<(String, String, String)> = self
                .fields
                .iter()
                .map(|f| {
                    (
                        f.field.clone(),
                        cell(f.expected.as_ref()),
                        cell(f.actual.as_ref()),
                    )
                })
                .collect();
            let w_field = rows
                .iter()
                .map(|r| r.0.chars().count())
                .chain([10])
                .max()
                .unwrap_or(10);
            let w_expected = rows
                .iter()
                .map(|r| r.1.chars().count())
                .chain(["expected".len()])
                .max()
                .unwrap_or(8);
            let _ = writeln!(
                s,
                "{indent}{:<w_field$} {:<w_expected$}  actual",
                "field", "expected"
            );
            for (field, expected, actual) in rows {
                let _ = writeln!(
                    s,
                    "{indent}{field:<w_field$} {expected:<w_expected$}  {actual}"
                );
            }
        }
        let record = |v: &Option<Value>, missing: &str| match v {
            Some(v) => v.to_string(),
            None => missing.to_owned(),
        };
        let _ = writeln!(
            s,
            "{indent}{:<10} {}",
            "expected",
            record(&self.expected, "(none: the journal ends before it)")
        );
        let _ = writeln!(
            s,
            "{indent}{:<10} {}",
            "actual",
            record(&self.actual, "(none: the replay did not produce it)")
        );
        s
    }
}

impl Outcome {
    /// The one-line verdict.
    pub fn verdict_line(&self) -> String {
        let mut s = format!("{}: ", self.journal);
        if let Some(c) = &self.capture {
            let d = &c.divergences;
            let against = if c.platform == "header" {
                "the header's platform".to_owned()
            } else {
                c.platform.clone()
            };
            let _ = write!(
                s,
                "{} (a capture of {}, against {against}, times within {} ms): {} inputs and {} events compared; {} divergence{}: {} missing, {} extra, {} content, {} retcode, {} time",
                if d.total() == 0 {
                    "matches"
                } else {
                    "DIVERGED"
                },
                c.upstream,
                c.tolerance_ms,
                thousands(c.inputs),
                thousands(c.events),
                thousands(d.total()),
                if d.total() == 1 { "" } else { "s" },
                d.missing,
                d.extra,
                d.content,
                d.retcode,
                d.time
            );
            if let Some(first) = &self.first_divergence {
                let _ = write!(s, "; first at {}", first.position());
            }
            return s;
        }
        match &self.first_divergence {
            None => {
                let _ = write!(s, "identical: {} compared", records(self.records));
            }
            Some(d) => {
                let _ = write!(
                    s,
                    "DIVERGED at {}: {} compared, {} further difference{}",
                    d.position(),
                    records(self.records),
                    thousands(self.further_differences),
                    if self.further_differences == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
            }
        }
        if self.reformatted > 0 {
            let _ = write!(
                s,
                " ({} differ only in formatting)",
                thousands(self.reformatted)
            );
        }
        if let Some(fields) = &self.header_normalized {
            let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            let _ = write!(
                s,
                "; the header is not in this build's form{}",
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", names.join(", "))
                }
            );
        }
        if let Some(t) = &self.torn_tail {
            let _ = write!(
                s,
                "; the tail was torn (line {}, {} bytes, not replayed)",
                t.line, t.bytes
            );
        }
        // The digest identifies the journal when the replay reproduced it; of a divergent
        // replay it would only identify bytes nobody has, so it is left to the JSON.
        if self.first_divergence.is_none() {
            let _ = write!(s, ", digest {}", self.digest);
        }
        let _ = write!(s, ", {}", rate(self.records_per_sec));
        s
    }

    /// The verdict line, then for a divergence what happened and where, indented.
    pub fn human(&self) -> String {
        let mut s = self.verdict_line();
        s.push('\n');
        if let Some(capture) = &self.capture {
            // A capture: each agent's first divergence, with its cause and the records.
            for a in &capture.agents {
                let _ = writeln!(
                    s,
                    "  agent {}: first divergence {} at {}, {} in all",
                    agent(&a.agent),
                    a.kind.name(),
                    a.divergence.position(),
                    a.count
                );
                s.push_str(&a.divergence.details("    "));
            }
            return s;
        }
        if let Some(d) = &self.first_divergence {
            s.push_str(&d.details("  "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_rates_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(rate(870.4), "870 records/s");
        assert_eq!(rate(15_100.0), "15.1 k records/s");
        assert_eq!(rate(1_210_000.0), "1.21 M records/s");
    }

    #[test]
    fn details_show_the_cause_and_the_fields_side_by_side() {
        let d = Divergence {
            kind: DivergenceKind::Differs,
            seq: 5,
            line: Some(6),
            at: Some("2026-01-05T09:00:00.000Z".into()),
            cause: Some(Cause {
                seq: 1,
                at: "2026-01-05T09:00:00.000Z".into(),
                op: "requestAgentConf".into(),
                agent: "101".into(),
            }),
            fields: vec![FieldDiff {
                field: "content.confId".into(),
                expected: Some(json!(1030400)),
                actual: None,
            }],
            expected: Some(json!({"seq": 5})),
            actual: None,
            in_capture: false,
        };
        let text = d.details("  ");
        assert!(
            text.contains(
                "cause      input seq 1 (2026-01-05T09:00:00.000Z): requestAgentConf by agent 101\n"
            ),
            "{text}"
        );
        assert!(text.contains("content.confId 1030400   (absent)"), "{text}");
        assert!(
            text.contains("actual     (none: the replay did not produce it)"),
            "{text}"
        );
        assert_eq!(agent("10 1"), "\"10 1\"");
    }
}
