//! Incremental statistics over the records of a run: counts, retcodes, the request-to-success
//! latency histogram, and the timelines of the agents expectations name. Memory depends on the
//! number of agents, never on the length of the run (except the watched agents' timelines).

use crate::expect::Observed;
use confsim_core::record::{InputRecord, Record};
use confsim_core::{AgentId, EventType, Op, SimTime};
use confsim_engine::Observer;
use confsim_journal::{LooseKind, LooseRecord, RecordTap};
use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

/// Percentiles of a histogram, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }
}

/// One bar of a histogram: values in `[lo, hi]` were seen `count` times.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Bucket {
    pub lo: u64,
    pub hi: u64,
    pub count: u64,
}

/// The histogram's values in at most `n` equal-width bars from its minimum to its maximum
/// (for a chart; the percentiles come from the histogram itself).
pub fn buckets(h: &Histogram<u64>, n: u64) -> Vec<Bucket> {
    if h.is_empty() || n == 0 {
        return Vec::new();
    }
    let (min, max) = (h.min(), h.max());
    let width = (max - min + 1).div_ceil(n).max(1);
    let bars = (max - min) / width + 1;
    let mut out: Vec<Bucket> = (0..bars)
        .map(|i| Bucket {
            lo: min + i * width,
            hi: min + (i + 1) * width - 1,
            count: 0,
        })
        .collect();
    for v in h.iter_recorded() {
        // Every value hdrhistogram stores stands for its bucket of equivalent values;
        // the bucket's highest value, clamped to the observed range, places it.
        let value = v.value_iterated_to().clamp(min, max);
        out[((value - min) / width) as usize].count += v.count_at_value();
    }
    out
}

/// A histogram of milliseconds up to a day, three significant figures.
pub fn ms_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts; a failure here is a programming error.
    Histogram::new_with_bounds(1, 86_400_000, 3).expect("valid histogram bounds")
}

/// When each agent's accepted application started, until its success or failure. The
/// roster's agents are found by id in a vector: an insert and a removal in a hash map per
/// conference cost, on the closed-loop day, more than all the other statistics of its ten
/// records. Any other id waits in a map (`Stats::new` alone knows no roster).
#[derive(Debug, Default)]
struct Applying {
    /// The id of `dense[0]`.
    first: u32,
    dense: Vec<Option<SimTime>>,
    /// Entries of `dense` that are `Some`.
    in_dense: usize,
    others: FxHashMap<AgentId, SimTime>,
}

/// Ids a roster may span and still be indexed by a vector: up to four slots per agent, or
/// 64 Ki slots (1 MiB) whatever the roster's size, so a sparse roster cannot cost much memory.
fn dense_span(agents: usize) -> usize {
    agents.saturating_mul(4).max(1 << 16)
}

impl Applying {
    fn index(&self, id: AgentId) -> Option<usize> {
        // Ids below `first` wrap around to far past the vector's end.
        let i = id.0.wrapping_sub(self.first) as usize;
        (i < self.dense.len()).then_some(i)
    }

    fn start(&mut self, id: AgentId, at: SimTime) {
        match self.index(id) {
            Some(i) => {
                if self.dense[i].replace(at).is_none() {
                    self.in_dense += 1;
                }
            }
            None => {
                self.others.insert(id, at);
            }
        }
    }

    fn stop(&mut self, id: AgentId) -> Option<SimTime> {
        match self.index(id) {
            Some(i) => {
                let since = self.dense[i].take();
                self.in_dense -= usize::from(since.is_some());
                since
            }
            None => self.others.remove(&id),
        }
    }

    fn len(&self) -> usize {
        self.in_dense + self.others.len()
    }
}

/// The statistics observer. It sees every record of a run (on the journal's thread, as a
/// `RecordTap`, in runs; on the engine's as an `Observer` elsewhere), so its per-record work is
/// kept to counters and short vectors: retcodes in a list searched from
/// the front (a run sees a handful, the success first) and the watched agents in a sorted
/// list, not ordered maps searched with string or key comparisons per record.
#[derive(Debug)]
pub struct Stats {
    pub counts: Vec<u64>,
    /// Each retcode seen and how often, in order of first appearance (see `retcodes`).
    retcodes: Vec<(String, u64)>,
    pub inputs: u64,
    pub events: u64,
    pub last_at: Option<SimTime>,
    applying: Applying,
    pub request_to_success: Histogram<u64>,
    /// The agents whose timelines are kept, sorted, without repeats.
    watched: Vec<AgentId>,
    /// The timeline of `watched[i]` at `i`.
    timelines: Vec<Vec<(SimTime, EventType)>>,
    /// Events of types the model does not have, by name, as a capture of a real gateway may
    /// hold them (`on_loose`); empty in runs.
    others: BTreeMap<String, u64>,
}

impl Stats {
    pub fn new(watched: impl IntoIterator<Item = AgentId>) -> Self {
        let watched: Vec<AgentId> = watched
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Stats {
            counts: vec![0; EventType::ALL.len()],
            retcodes: Vec::new(),
            inputs: 0,
            events: 0,
            last_at: None,
            applying: Applying::default(),
            request_to_success: ms_histogram(),
            timelines: vec![Vec::new(); watched.len()],
            watched,
            others: BTreeMap::new(),
        }
    }

    /// Indexes the applications under way of these agents (the roster) by id: see `Applying`.
    /// Other agents' are still counted, in a map.
    pub fn for_agents(mut self, agents: impl IntoIterator<Item = AgentId>) -> Self {
        let (mut lo, mut hi, mut n) = (u32::MAX, 0u32, 0usize);
        for id in agents {
            (lo, hi, n) = (lo.min(id.0), hi.max(id.0), n + 1);
        }
        if n > 0 && self.applying.len() == 0 {
            let span = (hi - lo) as usize + 1;
            if span <= dense_span(n) {
                self.applying.first = lo;
                self.applying.dense = vec![None; span];
            }
        }
        self
    }

    /// How often each retcode was answered.
    pub fn retcodes(&self) -> BTreeMap<String, u64> {
        self.retcodes.iter().cloned().collect()
    }

    /// Event counts by name, only the types that occurred (those the model does not have
    /// included).
    pub fn counts_by_name(&self) -> BTreeMap<String, u64> {
        let mut counts: BTreeMap<String, u64> = EventType::ALL
            .iter()
            .zip(&self.counts)
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| (t.name().to_owned(), *n))
            .collect();
        counts.extend(self.others.iter().map(|(name, n)| (name.clone(), *n)));
        counts
    }

    /// A record the model's types reject, as written (a capture's event of a type the model
    /// does not have, or of a content the model does not produce): counted by its names as
    /// `on_record` counts a typed one, so a capture's counts, retcodes and latencies are the
    /// file's whatever the real gateway sent.
    pub fn on_loose(&mut self, record: &LooseRecord) {
        let at = record.at;
        self.last_at = Some(at);
        match &record.kind {
            LooseKind::Event {
                event_type,
                work_no,
                ..
            } => {
                self.events += 1;
                let Some(ty) = EventType::from_name(event_type) else {
                    *self.others.entry(event_type.clone()).or_default() += 1;
                    return;
                };
                self.counts[ty as usize] += 1;
                let Ok(agent) = work_no.parse().map(AgentId) else {
                    return;
                };
                if matches!(
                    ty,
                    EventType::AgentConfRequestSuccess | EventType::AgentConfRequestFailed
                ) {
                    self.on_application_end(at, ty, agent);
                }
                if let Ok(i) = self.watched.binary_search(&agent) {
                    self.watch(i, at, ty);
                }
            }
            LooseKind::Input {
                op, agent, retcode, ..
            } => {
                self.inputs += 1;
                self.count_retcode(retcode);
                if Op::from_name(op) == Some(Op::RequestAgentConf)
                    && retcode == confsim_core::retcode::SUCCESS
                    && let Ok(id) = agent.parse()
                {
                    self.applying.start(AgentId(id), at);
                }
            }
        }
    }

    /// How many entries the statistics hold in their growable structures: retcodes seen,
    /// agents with an application under way, and the watched agents' timeline events. The
    /// first two are bounded by the distinct retcodes and the number of agents, whatever the
    /// run's length; only the timelines of the agents that expectations name grow with it
    /// (each of their events is 16 bytes). The histograms and event counts have a fixed size.
    pub fn held_entries(&self) -> usize {
        self.retcodes.len()
            + self.applying.len()
            + self.timelines.iter().map(Vec::len).sum::<usize>()
    }

    pub fn observed(&self, start: SimTime) -> Observed {
        Observed {
            start,
            counts: EventType::ALL
                .iter()
                .zip(&self.counts)
                .filter(|(_, n)| **n > 0)
                .map(|(t, n)| (*t, *n))
                .collect(),
            retcodes: self.retcodes(),
            // Only the agents that received an event, as a map filled on the first one had.
            timelines: self
                .watched
                .iter()
                .zip(&self.timelines)
                .filter(|(_, events)| !events.is_empty())
                .map(|(agent, events)| (*agent, events.clone()))
                .collect(),
        }
    }

    fn count_retcode(&mut self, retcode: &str) {
        match self.retcodes.iter_mut().find(|(r, _)| r == retcode) {
            Some((_, n)) => *n += 1,
            None => self.retcodes.push((retcode.to_owned(), 1)),
        }
    }

    /// Out of line: only runs whose expectations name agents get here, and only for their
    /// events.
    #[cold]
    fn watch(&mut self, i: usize, at: SimTime, ty: EventType) {
        self.timelines[i].push((at, ty));
    }
}

/// Inline, so that the runner's observer and this one are a single call per record: the
/// usual record, an event that is neither a success nor a failure, is a few counters; inputs
/// and the end of an application are out of line.
impl Observer for Stats {
    #[inline]
    fn on_record(&mut self, _seq: u64, at: SimTime, record: &Record) {
        self.last_at = Some(at);
        match record {
            Record::Input(input) => self.on_input(at, input),
            Record::Event(event) => {
                self.events += 1;
                self.counts[event.ty as usize] += 1;
                if matches!(
                    event.ty,
                    EventType::AgentConfRequestSuccess | EventType::AgentConfRequestFailed
                ) {
                    self.on_application_end(at, event.ty, event.agent);
                }
                if !self.watched.is_empty()
                    && let Ok(i) = self.watched.binary_search(&event.agent)
                {
                    self.watch(i, at, event.ty);
                }
            }
        }
    }
}

/// A run's statistics are read only for its report, so the runner has them kept on the
/// journal's thread, which has capacity to spare, rather than on the engine's.
impl RecordTap for Stats {
    fn on_record(&mut self, seq: u64, at: SimTime, record: &Record) {
        Observer::on_record(self, seq, at, record);
    }
}

impl Stats {
    #[inline(never)]
    fn on_input(&mut self, at: SimTime, input: &InputRecord) {
        self.inputs += 1;
        self.count_retcode(&input.response.retcode);
        if input.op == Op::RequestAgentConf
            && input.response.is_success()
            && let Ok(id) = input.agent.parse()
        {
            self.applying.start(AgentId(id), at);
        }
    }

    /// An `AgentConf_RequestSuccess` or `AgentConf_RequestFailed`.
    #[inline(never)]
    fn on_application_end(&mut self, at: SimTime, ty: EventType, agent: AgentId) {
        let since = self.applying.stop(agent);
        if ty == EventType::AgentConfRequestSuccess
            && let Some(since) = since
        {
            // Values above the histogram's day-long range saturate rather than fail.
            self.request_to_success
                .saturating_record(at.since(since).as_millis());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_are_indexed_by_id_in_the_roster_and_mapped_beyond_it() {
        let mut a = Stats::new([]).for_agents((101..=110).map(AgentId)).applying;
        assert_eq!((a.first, a.dense.len()), (101, 10));
        let t = SimTime::from_unix_ms;
        a.start(AgentId(101), t(1));
        a.start(AgentId(110), t(2));
        a.start(AgentId(110), t(3)); // a second application of the same agent: still one
        a.start(AgentId(100), t(4)); // outside the roster (below it)
        a.start(AgentId(111), t(5)); // and above it
        assert_eq!(a.len(), 4);
        assert_eq!(a.stop(AgentId(110)), Some(t(3)));
        assert_eq!(a.stop(AgentId(110)), None);
        assert_eq!(a.stop(AgentId(100)), Some(t(4)));
        assert_eq!(a.stop(AgentId(105)), None);
        assert_eq!(a.len(), 2);
        // A roster too sparse for a vector keeps everything in the map.
        let sparse = Stats::new([]).for_agents([AgentId(1), AgentId(1_000_000)]);
        assert!(sparse.applying.dense.is_empty());
    }

    #[test]
    fn buckets_cover_the_range_and_every_value() {
        let mut h = ms_histogram();
        for v in [50, 51, 60, 70, 99, 100, 250] {
            h.record(v).unwrap();
        }
        let b = buckets(&h, 10);
        assert_eq!(b.first().unwrap().lo, 50);
        assert!(b.last().unwrap().hi >= 250);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 7);
        assert!(b.len() <= 10);
        assert_eq!(b[0].count, 4, "{b:?}"); // 50, 51, 60 and 70 in [50, 70]
        assert!(buckets(&ms_histogram(), 10).is_empty());
        let mut one = ms_histogram();
        one.record(42).unwrap();
        assert_eq!(
            buckets(&one, 40),
            vec![Bucket {
                lo: 42,
                hi: 42,
                count: 1
            }]
        );
    }
}
