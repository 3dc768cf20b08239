//! The replay of a capture (product.md §8.2): what a model can be expected to match of a real
//! gateway, rather than bytes.
//!
//! A fresh engine (the header's platform and seed, or `--platform`'s) re-executes the
//! capture's inputs at their recorded times (each after the timers due at or before it, as a
//! gateway request arrives), then runs on until the capture's last record plus the tolerance.
//! The two journals are then compared:
//!
//! - **inputs**, one for one in order: the `retcode` (a `retcode` divergence), then the
//!   `result` (`content`); a result's `loginTime` is a time, compared within the tolerance, and
//!   a result the gateway did not send (journaled `null`) is not compared;
//! - **events, per agent**: the recorded and produced event types of each agent are aligned
//!   (a longest common subsequence, so one missing event does not make every later one
//!   differ); a recorded event with no partner is `missing`, a produced one `extra`; an aligned
//!   pair whose contents differ is `content`, and one whose times are further apart than the
//!   tolerance `time`. `eventGenTime` is not compared (it is not in a journal's records).
//!
//! The model runs on past the capture's last record by the tolerance, so that an event a little
//! later than recorded is still produced; what it produces after that last record and finds no
//! partner for is not counted: the capture saw nothing then (it stopped, or its tail was torn).
//!
//! Conference ids are the platform's own numbering, so they are mapped: pairs are compared in
//! recorded order, and the first time a recorded id meets a produced one they are mapped to
//! each other, one to one, from then on. An input that names a conference (`queryConfInfos`'
//! `confIds`) is sent with the model's id in its place: the one that appeared at the same
//! place in the order of the conferences the events have named so far. The cause of a divergence is the nearest recorded
//! input at or before it by the same agent (an application for its success sequence), else
//! the nearest input at all.

use crate::outcome::{Cause, Divergence, DivergenceKind, FieldDiff};
use confsim_core::{AgentGroup, Input, PlatformConfig, SimDuration, SimTime};
use confsim_engine::Engine;
use confsim_journal::{Header, LooseJournal, LooseKind, LooseRecord, read_loose};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// How a capture is replayed.
#[derive(Clone, Debug)]
pub struct CaptureOptions {
    /// Times within this many ms of the recorded ones match (`--tolerance-ms`).
    pub tolerance_ms: u64,
    /// Another platform configuration than the header's (`--platform`), and its name.
    pub platform: Option<(String, PlatformConfig, Vec<AgentGroup>)>,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            tolerance_ms: 1000,
            platform: None,
        }
    }
}

/// The kinds of divergence of a capture's replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureKind {
    /// Recorded, not produced.
    Missing,
    /// Produced, not recorded.
    Extra,
    /// An event's content, or an input's result, differs.
    Content,
    /// An input's retcode differs.
    Retcode,
    /// An event came further from its recorded time than the tolerance.
    Time,
}

impl CaptureKind {
    pub fn name(self) -> &'static str {
        match self {
            CaptureKind::Missing => "missing",
            CaptureKind::Extra => "extra",
            CaptureKind::Content => "content",
            CaptureKind::Retcode => "retcode",
            CaptureKind::Time => "time",
        }
    }
}

/// Divergences counted by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub missing: u64,
    pub extra: u64,
    pub content: u64,
    pub retcode: u64,
    pub time: u64,
}

impl KindCounts {
    fn add(&mut self, kind: CaptureKind) {
        *match kind {
            CaptureKind::Missing => &mut self.missing,
            CaptureKind::Extra => &mut self.extra,
            CaptureKind::Content => &mut self.content,
            CaptureKind::Retcode => &mut self.retcode,
            CaptureKind::Time => &mut self.time,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.missing + self.extra + self.content + self.retcode + self.time
    }
}

/// One agent's first divergence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentDivergence {
    pub agent: String,
    pub kind: CaptureKind,
    /// Divergences of this agent in all.
    pub count: u64,
    pub divergence: Divergence,
}

/// What the replay of a capture found, beyond what every replay reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaptureComparison {
    /// The gateway the capture was made from (`HOST:PORT`).
    pub upstream: String,
    /// The platform configuration replayed against: `header`, or the `--platform` file.
    pub platform: String,
    pub tolerance_ms: u64,
    pub inputs: u64,
    pub events: u64,
    pub divergences: KindCounts,
    /// Conference ids mapped between the capture and the model.
    pub conferences_mapped: u64,
    /// Each agent's first divergence, agents in order of their first divergence.
    pub agents: Vec<AgentDivergence>,
}

/// A divergence found, before it is put in order.
struct Found {
    kind: CaptureKind,
    agent: String,
    /// When it happened (the recorded time, or the produced time of an extra record).
    at: SimTime,
    /// The recorded record (absent for an extra one).
    recorded: Option<usize>,
    /// The produced record (absent for a missing one).
    produced: Option<usize>,
    fields: Vec<FieldDiff>,
}

/// One to one, in recorded order of first meeting.
#[derive(Default)]
struct ConfMap {
    forward: FxHashMap<u64, u64>,
    backward: FxHashMap<u64, u64>,
}

impl ConfMap {
    fn same(&mut self, recorded: u64, produced: u64) -> bool {
        match (
            self.forward.get(&recorded).copied(),
            self.backward.get(&produced).copied(),
        ) {
            (Some(p), _) => p == produced,
            (None, Some(_)) => false,
            (None, None) => {
                self.forward.insert(recorded, produced);
                self.backward.insert(produced, recorded);
                true
            }
        }
    }
}

/// Conference ids in order of first appearance.
#[derive(Default)]
struct FirstSeen {
    order: Vec<u64>,
    index: FxHashMap<u64, usize>,
}

impl FirstSeen {
    fn see(&mut self, id: u64) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.index.entry(id) {
            e.insert(self.order.len());
            self.order.push(id);
        }
    }
}

/// The produced side: the conferences the model's events name.
impl confsim_engine::Observer for FirstSeen {
    fn on_record(&mut self, _: u64, _: SimTime, record: &confsim_core::Record) {
        if let confsim_core::Record::Event(event) = record
            && let Some(id) = event.content.conf_id()
        {
            self.see(id.0);
        }
    }
}

/// A recorded body with each conference id it names (`confId`, `confIds`) replaced by the
/// model's conference that appeared in the same place of the order, when there is one.
fn translated(body: Value, recorded: &FirstSeen, produced: &FirstSeen) -> Value {
    let id = |v: Value| match v.as_u64().and_then(|n| recorded.index.get(&n)) {
        Some(&k) => produced.order.get(k).map_or(v, |&p| Value::from(p)),
        None => v,
    };
    match body {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("confId", v) => id(v),
                        ("confIds", Value::Array(items)) => {
                            Value::Array(items.into_iter().map(id).collect())
                        }
                        (_, v) => translated(v, recorded, produced),
                    };
                    (key, value)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Whether `key` holds conference ids (`confId`, or a `confIds` list).
fn conf_key(key: &str) -> bool {
    key == "confId" || key == "confIds"
}

/// Compares recorded and produced values: conference ids through `map`, `loginTime` within the
/// tolerance; appends the paths that differ.
fn compare(
    path: &str,
    recorded: &Value,
    produced: &Value,
    map: &mut ConfMap,
    tolerance_ms: u64,
    out: &mut Vec<FieldDiff>,
) {
    let key = path.rsplit('.').next().unwrap_or(path);
    let key = key.split('[').next().unwrap_or(key);
    let differs = |out: &mut Vec<FieldDiff>| {
        out.push(FieldDiff {
            field: path.to_owned(),
            expected: Some(recorded.clone()),
            actual: Some(produced.clone()),
        })
    };
    match (recorded, produced) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(vb) => compare(&sub, va, vb, map, tolerance_ms, out),
                    None => out.push(FieldDiff {
                        field: sub,
                        expected: Some(va.clone()),
                        actual: None,
                    }),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    out.push(FieldDiff {
                        field: if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        },
                        expected: None,
                        actual: Some(vb.clone()),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                compare(&format!("{path}[{i}]"), va, vb, map, tolerance_ms, out);
            }
        }
        (Value::Number(a), Value::Number(b)) if conf_key(key) => match (a.as_u64(), b.as_u64()) {
            (Some(a), Some(b)) if map.same(a, b) => {}
            _ => differs(out),
        },
        _ if key == "loginTime" => {
            let ms = |v: &Value| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            };
            match (ms(recorded), ms(produced)) {
                (Some(a), Some(b)) if a.abs_diff(b) <= tolerance_ms => {}
                _ => differs(out),
            }
        }
        _ if recorded == produced => {}
        _ => differs(out),
    }
}

/// The longest common subsequence of two type sequences, as index pairs; past a size where the
/// table would be large, a greedy walk (each recorded type matched to the next produced one of
/// the same type within a window).
fn align(recorded: &[&str], produced: &[&str]) -> Vec<(usize, usize)> {
    let (n, m) = (recorded.len(), produced.len());
    if n.saturating_mul(m) > 4_000_000 {
        let mut pairs = Vec::new();
        let mut j = 0;
        for (i, ty) in recorded.iter().enumerate() {
            if let Some(k) = produced[j..].iter().take(64).position(|p| p == ty) {
                pairs.push((i, j + k));
                j += k + 1;
            }
        }
        return pairs;
    }
    let mut table = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[at(i, j)] = if recorded[i] == produced[j] {
                table[at(i + 1, j + 1)] + 1
            } else {
                table[at(i + 1, j)].max(table[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if recorded[i] == produced[j] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if table[at(i + 1, j)] >= table[at(i, j + 1)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

fn agent_of(r: &LooseRecord) -> &str {
    match &r.kind {
        LooseKind::Event { work_no, .. } => work_no,
        LooseKind::Input { agent, .. } => agent,
    }
}

/// Everything a capture's replay found.
pub(crate) struct Compared {
    pub comparison: CaptureComparison,
    /// The earliest divergence, in the form every replay reports.
    pub first: Option<Divergence>,
    pub produced: u64,
    pub digest: String,
}

/// The header a capture is replayed with: the capture's, or with `--platform`'s configuration
/// and, when the file lists agents, its roster (passwords left out: a capture's sign-ins carry
/// none).
fn replay_header(header: &Header, options: &CaptureOptions) -> Header {
    let mut header = header.clone();
    if let Some((_, platform, _)) = &options.platform {
        header.platform = platform.clone();
    }
    // A roster in the platform file replaces the header's; a file without one keeps it.
    if let Some((_, _, agents)) = &options.platform
        && !agents.is_empty()
    {
        header.agents = agents
            .iter()
            .cloned()
            .map(|mut g| {
                g.password = None;
                g
            })
            .collect();
    }
    header
}

/// Replays `capture` and compares (see the module's notes).
pub(crate) fn compare_capture(
    capture: &LooseJournal,
    options: &CaptureOptions,
) -> Result<Compared, confsim_engine::EngineError> {
    let header = replay_header(&capture.header, options);
    let mut engine = Engine::new(&header, Vec::new())?;
    let recorded = &capture.records;
    // Conference ids in order of first appearance in events, on each side so far: an input
    // that names one (`queryConfInfos`' `confIds`) is sent with the model's id in its place.
    let mut produced_confs = FirstSeen::default();
    let mut recorded_confs = FirstSeen::default();
    for r in recorded {
        match &r.kind {
            LooseKind::Event { content, .. } => {
                if let Some(id) = content.get("confId").and_then(Value::as_u64) {
                    recorded_confs.see(id);
                }
            }
            LooseKind::Input {
                op, agent, body, ..
            } => {
                // An operation the model does not have is answered by nothing: its recorded
                // record is then `missing`, as it should be.
                let Some(op) = confsim_core::Op::from_name(op) else {
                    continue;
                };
                let at = r.at.max(engine.now());
                engine.advance_to(at, &mut produced_confs)?;
                let body = translated(body.clone(), &recorded_confs, &produced_confs);
                engine.submit(Input::new(op, agent.as_str(), body), &mut produced_confs)?;
            }
        }
    }
    let last = recorded.iter().map(|r| r.at).max().unwrap_or(header.start);
    let end = last.saturating_add(SimDuration::from_millis(options.tolerance_ms));
    engine.advance_to(end.max(engine.now()), &mut produced_confs)?;
    let (summary, bytes, _) = engine.finish()?;
    let produced = read_loose(&bytes[..])
        .map(|j| j.records)
        .unwrap_or_default();

    let tolerance = options.tolerance_ms;
    let mut found: Vec<Found> = Vec::new();
    // Pairs to compare, by recorded index: inputs one for one, events as aligned per agent.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let inputs = |records: &[LooseRecord]| -> Vec<usize> {
        records
            .iter()
            .enumerate()
            .filter(|(_, r)| match &r.kind {
                LooseKind::Input { op, .. } => confsim_core::Op::from_name(op).is_some(),
                LooseKind::Event { .. } => false,
            })
            .map(|(i, _)| i)
            .collect()
    };
    let (ri, pi) = (inputs(recorded), inputs(&produced));
    pairs.extend(ri.iter().copied().zip(pi.iter().copied()));
    for (i, r) in recorded.iter().enumerate() {
        if let LooseKind::Input { op, .. } = &r.kind
            && confsim_core::Op::from_name(op).is_none()
        {
            found.push(Found {
                kind: CaptureKind::Missing,
                agent: agent_of(r).to_owned(),
                at: r.at,
                recorded: Some(i),
                produced: None,
                fields: vec![FieldDiff {
                    field: "op".into(),
                    expected: Some(op.clone().into()),
                    actual: None,
                }],
            });
        }
    }
    let by_agent = |records: &[LooseRecord]| {
        let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            if let LooseKind::Event { work_no, .. } = &r.kind {
                out.entry(work_no.clone()).or_default().push(i);
            }
        }
        out
    };
    let (rec_events, mut prod_events) = (by_agent(recorded), by_agent(&produced));
    let type_of = |r: &LooseRecord| match &r.kind {
        LooseKind::Event { event_type, .. } => event_type.clone(),
        LooseKind::Input { .. } => String::new(),
    };
    let mut agents: Vec<String> = rec_events.keys().cloned().collect();
    for agent in prod_events.keys() {
        if !rec_events.contains_key(agent) {
            agents.push(agent.clone());
        }
    }
    for agent in agents {
        let rs = rec_events.get(&agent).cloned().unwrap_or_default();
        let ps = prod_events.remove(&agent).unwrap_or_default();
        let rt: Vec<String> = rs.iter().map(|&i| type_of(&recorded[i])).collect();
        let pt: Vec<String> = ps.iter().map(|&i| type_of(&produced[i])).collect();
        let aligned = align(
            &rt.iter().map(String::as_str).collect::<Vec<_>>(),
            &pt.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let (mut matched_r, mut matched_p) = (vec![false; rs.len()], vec![false; ps.len()]);
        for &(a, b) in &aligned {
            matched_r[a] = true;
            matched_p[b] = true;
            pairs.push((rs[a], ps[b]));
        }
        for (_, &i) in rs.iter().enumerate().filter(|(k, _)| !matched_r[*k]) {
            found.push(Found {
                kind: CaptureKind::Missing,
                agent: agent.clone(),
                at: recorded[i].at,
                recorded: Some(i),
                produced: None,
                fields: Vec::new(),
            });
        }
        for (_, &j) in ps.iter().enumerate().filter(|(k, _)| !matched_p[*k]) {
            // After the capture's last record nothing was seen (the capture stopped), and a
            // torn tail may have lost records of that last instant: what the model does then
            // is not compared.
            if produced[j].at > last || (capture.torn.is_some() && produced[j].at >= last) {
                continue;
            }
            found.push(Found {
                kind: CaptureKind::Extra,
                agent: agent.clone(),
                at: produced[j].at,
                recorded: None,
                produced: Some(j),
                fields: Vec::new(),
            });
        }
    }
    // Inputs the model answered that the capture does not have (none, unless the capture
    // has fewer inputs than were replayed: it never does) or the reverse.
    for &i in ri.iter().skip(pi.len()) {
        found.push(Found {
            kind: CaptureKind::Missing,
            agent: agent_of(&recorded[i]).to_owned(),
            at: recorded[i].at,
            recorded: Some(i),
            produced: None,
            fields: Vec::new(),
        });
    }
    pairs.sort_unstable();
    let mut map = ConfMap::default();
    for (i, j) in pairs {
        let (r, p) = (&recorded[i], &produced[j]);
        let mut fields = Vec::new();
        let kind = match (&r.kind, &p.kind) {
            (
                LooseKind::Input {
                    retcode: rc,
                    result: rr,
                    ..
                },
                LooseKind::Input {
                    retcode: pc,
                    result: pr,
                    ..
                },
            ) => {
                if rc != pc {
                    fields.push(FieldDiff {
                        field: "response.retcode".into(),
                        expected: Some(rc.clone().into()),
                        actual: Some(pc.clone().into()),
                    });
                    Some(CaptureKind::Retcode)
                } else if rr.is_null() {
                    // The gateway sent no result (a capture journals its absence as null):
                    // nothing to compare.
                    None
                } else {
                    compare("response.result", rr, pr, &mut map, tolerance, &mut fields);
                    (!fields.is_empty()).then_some(CaptureKind::Content)
                }
            }
            (LooseKind::Event { content: rc, .. }, LooseKind::Event { content: pc, .. }) => {
                compare("content", rc, pc, &mut map, tolerance, &mut fields);
                if !fields.is_empty() {
                    Some(CaptureKind::Content)
                } else if r.at.as_unix_ms().abs_diff(p.at.as_unix_ms()) > tolerance {
                    fields.push(FieldDiff {
                        field: "at".into(),
                        expected: Some(r.at.to_string().into()),
                        actual: Some(p.at.to_string().into()),
                    });
                    Some(CaptureKind::Time)
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(kind) = kind {
            found.push(Found {
                kind,
                agent: agent_of(r).to_owned(),
                at: r.at,
                recorded: Some(i),
                produced: Some(j),
                fields,
            });
        }
    }

    // In time order (a recorded record before a produced one at the same instant).
    found.sort_by_key(|f| (f.at, f.recorded.map_or(u64::MAX, |i| recorded[i].seq)));
    let input_positions: Vec<usize> = recorded
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.kind, LooseKind::Input { .. }))
        .map(|(i, _)| i)
        .collect();
    let divergence = |f: &Found| -> Divergence {
        let before = |i: &usize| match f.recorded {
            Some(at) => *i <= at,
            None => recorded[*i].at <= f.at,
        };
        let candidates: Vec<usize> = input_positions.iter().copied().filter(before).collect();
        let cause = candidates
            .iter()
            .rev()
            .find(|&&i| agent_of(&recorded[i]) == f.agent)
            .or(candidates.last())
            .map(|&i| {
                let r = &recorded[i];
                let op = match &r.kind {
                    LooseKind::Input { op, .. } => op.clone(),
                    LooseKind::Event { .. } => String::new(),
                };
                Cause {
                    seq: r.seq,
                    at: r.at.to_string(),
                    op,
                    agent: agent_of(r).to_owned(),
                }
            });
        let expected = f.recorded.map(|i| recorded[i].to_json());
        let actual = f.produced.map(|j| produced[j].to_json());
        Divergence {
            kind: match f.kind {
                CaptureKind::Missing => DivergenceKind::Missing,
                CaptureKind::Extra => DivergenceKind::Extra,
                _ => DivergenceKind::Differs,
            },
            seq: f
                .recorded
                .map(|i| recorded[i].seq)
                .or(f.produced.map(|j| produced[j].seq))
                .unwrap_or(0),
            line: f.recorded.map(|i| recorded[i].line),
            at: Some(f.at.to_string()),
            cause,
            fields: f.fields.clone(),
            expected,
            actual,
            in_capture: true,
        }
    };
    let mut counts = KindCounts::default();
    let mut firsts: Vec<AgentDivergence> = Vec::new();
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    for f in &found {
        counts.add(f.kind);
        match index.get(&f.agent) {
            Some(&k) => firsts[k].count += 1,
            None => {
                index.insert(f.agent.clone(), firsts.len());
                firsts.push(AgentDivergence {
                    agent: f.agent.clone(),
                    kind: f.kind,
                    count: 1,
                    divergence: divergence(f),
                });
            }
        }
    }
    let events = recorded
        .iter()
        .filter(|r| matches!(r.kind, LooseKind::Event { .. }))
        .count() as u64;
    let comparison = CaptureComparison {
        upstream: capture
            .header
            .source
            .as_ref()
            .map_or_else(String::new, |s| s.upstream.clone()),
        platform: options
            .platform
            .as_ref()
            .map_or_else(|| "header".to_owned(), |(name, ..)| name.clone()),
        tolerance_ms: tolerance,
        inputs: recorded.len() as u64 - events,
        events,
        divergences: counts,
        conferences_mapped: map.forward.len() as u64,
        agents: firsts,
    };
    Ok(Compared {
        first: found.first().map(divergence),
        comparison,
        produced: produced.len() as u64,
        digest: summary.digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alignment_keeps_the_longest_common_order() {
        let r = ["A", "B", "C", "D"];
        let p = ["A", "C", "X", "D"];
        assert_eq!(align(&r, &p), [(0, 0), (2, 1), (3, 3)]);
        assert!(align(&r, &[]).is_empty());
    }

    #[test]
    fn conference_ids_map_one_to_one_and_login_times_within_the_tolerance() {
        let mut map = ConfMap::default();
        let mut out = Vec::new();
        compare(
            "content",
            &json!({"confId": 7}),
            &json!({"confId": 1030400}),
            &mut map,
            1000,
            &mut out,
        );
        assert!(out.is_empty());
        // 7 is 1030400 from now on, and 1030400 is taken.
        compare(
            "content",
            &json!({"confId": 7}),
            &json!({"confId": 1030401}),
            &mut map,
            1000,
            &mut out,
        );
        compare(
            "content",
            &json!({"confId": 8}),
            &json!({"confId": 1030400}),
            &mut map,
            1000,
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].field, "content.confId");
        out.clear();
        compare(
            "response.result",
            &json!({"confIds": [7], "loginTime": "1000", "x": 1}),
            &json!({"confIds": [1030400], "loginTime": "1900", "y": 1}),
            &mut map,
            1000,
            &mut out,
        );
        let fields: Vec<&str> = out.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["response.result.x", "response.result.y"]);
    }
}
