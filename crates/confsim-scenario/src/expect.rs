//! Expectations (product.md §3 `expect[]`): what a run must show, checked after it.

use crate::scenario::Dur;
use confsim_core::time::{SimDuration, SimTime};
use confsim_core::{AgentId, EventType};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How many: exactly, at least, at most (`min` and `max` may be combined).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Bound {
    pub equals: Option<u64>,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

impl Bound {
    pub fn holds(&self, n: u64) -> bool {
        self.equals.is_none_or(|e| n == e)
            && self.min.is_none_or(|m| n >= m)
            && self.max.is_none_or(|m| n <= m)
    }

    fn write(&self, obj: &mut Map<String, Value>) {
        for (key, v) in [
            ("equals", self.equals),
            ("min", self.min),
            ("max", self.max),
        ] {
            if let Some(v) = v {
                obj.insert(key.to_owned(), v.into());
            }
        }
    }
}

/// One expectation.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawExpect")]
pub enum Expectation {
    /// These event types reach `agent` in this order (others may come between).
    Sequence {
        agent: AgentId,
        events: Vec<EventType>,
    },
    /// An event of this type reaches `agent` at `at` (from the start) within the tolerance.
    EventAt {
        agent: AgentId,
        event: EventType,
        at: SimDuration,
        tolerance_ms: u64,
    },
    /// How many events of this type the run produced.
    Count { event: EventType, bound: Bound },
    /// How many inputs got this retcode.
    Retcode { retcode: String, bound: Bound },
}

/// An event type named in a scenario; unknown names are refused with the list of known ones.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventName(EventType);

impl<'de> Deserialize<'de> for EventName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        EventType::from_name(&name).map(EventName).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.name()).collect();
            de::Error::custom(format!(
                "unknown event type {name:?}; known types: {}",
                known.join(", ")
            ))
        })
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawExpect {
    agent: Option<u32>,
    sequence: Option<Vec<EventName>>,
    event: Option<EventName>,
    at: Option<Dur>,
    tolerance_ms: Option<u64>,
    count: Option<EventName>,
    retcode: Option<String>,
    equals: Option<u64>,
    min: Option<u64>,
    max: Option<u64>,
}

impl TryFrom<RawExpect> for Expectation {
    type Error = String;

    fn try_from(r: RawExpect) -> Result<Self, String> {
        let kinds = [
            r.sequence.is_some(),
            r.event.is_some(),
            r.count.is_some(),
            r.retcode.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err("an expectation has exactly one of \"sequence\", \"event\", \"count\" or \"retcode\"".into());
        }
        let bound = Bound {
            equals: r.equals,
            min: r.min,
            max: r.max,
        };
        let has_bound = bound != Bound::default();
        let agent = r.agent.map(AgentId);
        let need_agent =
            |what: &str| agent.ok_or_else(|| format!("a \"{what}\" expectation needs \"agent\""));
        let no = |cond: bool, what: &str| {
            if cond {
                Err(format!(
                    "\"{what}\" does not belong in this kind of expectation"
                ))
            } else {
                Ok(())
            }
        };
        if let Some(seq) = r.sequence {
            no(has_bound, "equals/min/max")?;
            no(r.at.is_some() || r.tolerance_ms.is_some(), "at/toleranceMs")?;
            if seq.is_empty() {
                return Err("\"sequence\" must name at least one event type".into());
            }
            return Ok(Expectation::Sequence {
                agent: need_agent("sequence")?,
                events: seq.into_iter().map(|e| e.0).collect(),
            });
        }
        if let Some(event) = r.event {
            no(has_bound, "equals/min/max")?;
            let at = r.at.ok_or("an \"event\" expectation needs \"at\"")?;
            return Ok(Expectation::EventAt {
                agent: need_agent("event")?,
                event: event.0,
                at: at.0,
                tolerance_ms: r.tolerance_ms.unwrap_or(0),
            });
        }
        no(r.agent.is_some(), "agent")?;
        no(r.at.is_some() || r.tolerance_ms.is_some(), "at/toleranceMs")?;
        if !has_bound {
            return Err(
                "a \"count\" or \"retcode\" expectation needs \"equals\", \"min\" or \"max\""
                    .into(),
            );
        }
        if let Some(count) = r.count {
            return Ok(Expectation::Count {
                event: count.0,
                bound,
            });
        }
        let retcode = r.retcode.unwrap_or_default();
        Ok(Expectation::Retcode { retcode, bound })
    }
}

impl Expectation {
    /// The agent an expectation is about, if any.
    pub fn agent(&self) -> Option<AgentId> {
        match self {
            Expectation::Sequence { agent, .. } | Expectation::EventAt { agent, .. } => {
                Some(*agent)
            }
            _ => None,
        }
    }

    /// The expectation in its scenario form, for the report.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        match self {
            Expectation::Sequence { agent, events } => {
                obj.insert("agent".into(), agent.0.into());
                obj.insert(
                    "sequence".into(),
                    events.iter().map(|e| e.name()).collect::<Vec<_>>().into(),
                );
            }
            Expectation::EventAt {
                agent,
                event,
                at,
                tolerance_ms,
            } => {
                obj.insert("agent".into(), agent.0.into());
                obj.insert("event".into(), event.name().into());
                obj.insert("at".into(), at.to_string().into());
                obj.insert("toleranceMs".into(), (*tolerance_ms).into());
            }
            Expectation::Count { event, bound } => {
                obj.insert("count".into(), event.name().into());
                bound.write(&mut obj);
            }
            Expectation::Retcode { retcode, bound } => {
                obj.insert("retcode".into(), retcode.clone().into());
                bound.write(&mut obj);
            }
        }
        Value::Object(obj)
    }
}

/// What a run showed that expectations are checked against.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub start: SimTime,
    pub counts: BTreeMap<EventType, u64>,
    pub retcodes: BTreeMap<String, u64>,
    /// Every event received by each agent that an expectation names, in order.
    pub timelines: BTreeMap<AgentId, Vec<(SimTime, EventType)>>,
}

/// An expectation's verdict, as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub expect: Value,
    pub ok: bool,
    pub detail: String,
}

/// An offset from the start in the scenario's own duration form (`55m316ms`), so a detail can
/// be pasted back into an expectation.
fn offset(start: SimTime, t: SimTime) -> String {
    t.since(start).to_string()
}

/// Checks one expectation.
pub fn check(e: &Expectation, seen: &Observed) -> Verdict {
    let (ok, detail) = match e {
        Expectation::Sequence { agent, events } => {
            let timeline = seen
                .timelines
                .get(agent)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut matched = 0;
            let mut last_at = None;
            for (at, ty) in timeline {
                if matched < events.len() && *ty == events[matched] {
                    matched += 1;
                    last_at = Some(*at);
                }
            }
            if matched == events.len() {
                (
                    true,
                    format!(
                        "all {} events in order, the last at +{}",
                        events.len(),
                        offset(seen.start, last_at.unwrap_or(seen.start))
                    ),
                )
            } else {
                let got: Vec<&str> = timeline.iter().take(40).map(|(_, t)| t.name()).collect();
                let more = if timeline.len() > 40 {
                    format!(" and {} more", timeline.len() - 40)
                } else {
                    String::new()
                };
                (
                    false,
                    format!(
                        "matched {matched} of {}; missing {}{}; agent {agent} received [{}]{more}",
                        events.len(),
                        events[matched],
                        if matched > 0 {
                            format!(" after {}", events[matched - 1])
                        } else {
                            String::new()
                        },
                        got.join(", ")
                    ),
                )
            }
        }
        Expectation::EventAt {
            agent,
            event,
            at,
            tolerance_ms,
        } => {
            let due = seen.start.saturating_add(*at);
            let times: Vec<SimTime> = seen
                .timelines
                .get(agent)
                .map(|t| {
                    t.iter()
                        .filter(|(_, ty)| ty == event)
                        .map(|(t, _)| *t)
                        .collect()
                })
                .unwrap_or_default();
            let within = |t: &SimTime| {
                t.since(due).as_millis().max(due.since(*t).as_millis()) <= *tolerance_ms
            };
            match times.iter().find(|t| within(t)) {
                Some(t) => (
                    true,
                    format!("received at +{} ({t})", offset(seen.start, *t)),
                ),
                None if times.is_empty() => {
                    (false, format!("agent {agent} never received {event}"))
                }
                None => {
                    let shown: Vec<String> = times
                        .iter()
                        .take(10)
                        .map(|t| format!("+{}", offset(seen.start, *t)))
                        .collect();
                    (
                        false,
                        format!(
                            "received at [{}], none within {tolerance_ms} ms of +{}",
                            shown.join(", "),
                            offset(seen.start, due)
                        ),
                    )
                }
            }
        }
        Expectation::Count { event, bound } => {
            let n = seen.counts.get(event).copied().unwrap_or(0);
            (bound.holds(n), format!("saw {n}"))
        }
        Expectation::Retcode { retcode, bound } => {
            let n = seen.retcodes.get(retcode).copied().unwrap_or(0);
            (bound.holds(n), format!("saw {n}"))
        }
    };
    Verdict {
        expect: e.to_json(),
        ok,
        detail,
    }
}

/// A short one-line description of an expectation for the human summary.
pub fn describe(e: &Expectation) -> String {
    let bound = |b: &Bound| {
        let mut parts = Vec::new();
        if let Some(v) = b.equals {
            parts.push(format!("= {v}"));
        }
        if let Some(v) = b.min {
            parts.push(format!(">= {v}"));
        }
        if let Some(v) = b.max {
            parts.push(format!("<= {v}"));
        }
        parts.join(", ")
    };
    match e {
        Expectation::Sequence { agent, events } => {
            format!("agent {agent} receives {} events in order", events.len())
        }
        Expectation::EventAt {
            agent,
            event,
            at,
            tolerance_ms,
        } => {
            format!("agent {agent} receives {event} at +{at} (±{tolerance_ms} ms)")
        }
        Expectation::Count { event, bound: b } => format!("count of {event} {}", bound(b)),
        Expectation::Retcode { retcode, bound: b } => format!("retcode {retcode} {}", bound(b)),
    }
}
