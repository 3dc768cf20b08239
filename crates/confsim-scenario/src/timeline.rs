//! The run's timeline for the HTML report: active conferences and busy agents (the platform's
//! talking agents: in a call or a conference leg) sampled at fixed simulated intervals, in
//! bounded memory.
//!
//! A sample at offset `s` is the state after every record at or before `s`. The runner calls
//! `sample_before(t)` before it handles an item due at `t`: nothing changes between items, so
//! every boundary before `t` sees the state left by the previous item. The interval comes from
//! the scenario's span when it has `until` (a "nice" interval giving at most about 500
//! points); otherwise it starts at a second and doubles, keeping every other point, whenever
//! the timeline reaches `MAX_POINTS`. Either way memory stays bounded however long the run.

use confsim_core::{SimDuration, SimTime};
use serde::Serialize;

/// The most points a timeline holds.
pub const MAX_POINTS: usize = 2_000;

/// Intervals a known span may be divided into, so the chart's axis reads in round numbers.
const NICE_MS: [u64; 17] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
    900_000, 1_800_000, 3_600_000, 7_200_000,
];

/// One sample.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Point {
    /// Simulated milliseconds from the start.
    pub at_ms: u64,
    pub active_conferences: u64,
    pub busy_agents: u64,
}

/// Samples taken so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    start: SimTime,
    interval_ms: u64,
    /// Offset of the next boundary to sample.
    next_ms: u64,
    points: Vec<Point>,
}

impl Timeline {
    /// A timeline for a run from `start`, over `span` when it is known.
    pub fn new(start: SimTime, span: Option<SimDuration>) -> Self {
        let interval_ms = match span {
            Some(span) => {
                // About 500 points: a chart about 1,000 pixels wide shows no more detail than
                // that, and the page stays small.
                let wanted = span.as_millis().div_ceil(500).max(1);
                NICE_MS
                    .iter()
                    .copied()
                    .find(|n| *n >= wanted)
                    // Longer than 2000 hours: round up to whole hours.
                    .unwrap_or_else(|| wanted.div_ceil(3_600_000) * 3_600_000)
            }
            None => 1_000,
        };
        Timeline {
            start,
            interval_ms,
            next_ms: 0,
            points: Vec::new(),
        }
    }

    pub fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Whether `t` is past the next boundary, that is, whether `sample_before(t, …)` would
    /// record anything (lets the caller skip computing the state).
    pub fn due(&self, t: SimTime) -> bool {
        t >= self.start && t.since(self.start).as_millis() > self.next_ms
    }

    /// Records every boundary strictly before `t` with the current state.
    pub fn sample_before(&mut self, t: SimTime, active_conferences: u64, busy_agents: u64) {
        if t < self.start {
            return;
        }
        let limit = t.since(self.start).as_millis();
        while self.next_ms < limit {
            self.push(self.next_ms, active_conferences, busy_agents);
        }
    }

    /// Records every boundary up to and including `end`, and `end` itself when it falls
    /// between boundaries, so the last point is the state at the end.
    pub fn finish(&mut self, end: SimTime, active_conferences: u64, busy_agents: u64) {
        let end_ms = end.since(self.start).as_millis();
        while self.next_ms <= end_ms {
            self.push(self.next_ms, active_conferences, busy_agents);
        }
        if self.points.last().is_none_or(|p| p.at_ms < end_ms) {
            self.points.push(Point {
                at_ms: end_ms,
                active_conferences,
                busy_agents,
            });
        }
    }

    fn push(&mut self, at_ms: u64, active_conferences: u64, busy_agents: u64) {
        self.points.push(Point {
            at_ms,
            active_conferences,
            busy_agents,
        });
        self.next_ms += self.interval_ms;
        if self.points.len() >= MAX_POINTS {
            // Points sit at consecutive multiples of the interval from 0: keeping the even
            // ones is exactly sampling at twice the interval.
            let mut k = 0;
            self.points.retain(|_| {
                k += 1;
                k % 2 == 1
            });
            self.interval_ms *= 2;
            self.next_ms = self.next_ms.div_ceil(self.interval_ms) * self.interval_ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SimTime {
        SimTime::from_unix_ms(ms as i64)
    }

    #[test]
    fn a_known_span_gets_a_nice_interval() {
        let t = Timeline::new(at(0), Some(SimDuration::from_mins(8 * 60)));
        assert_eq!(t.interval_ms(), 60_000);
        let t = Timeline::new(at(0), Some(SimDuration::from_secs(10)));
        assert_eq!(t.interval_ms(), 100);
        let t = Timeline::new(at(0), Some(SimDuration::from_mins(60 * 24 * 365)));
        assert_eq!(t.interval_ms() % 3_600_000, 0);
    }

    #[test]
    fn samples_hold_the_state_before_the_next_item() {
        let mut t = Timeline::new(at(0), Some(SimDuration::from_secs(10)));
        // State 0 until an item at 250 ms changes it to 3.
        t.sample_before(at(250), 0, 0);
        t.sample_before(at(250), 0, 0);
        t.finish(at(450), 3, 1);
        let got: Vec<(u64, u64)> = t
            .points()
            .iter()
            .map(|p| (p.at_ms, p.active_conferences))
            .collect();
        assert_eq!(
            got,
            vec![(0, 0), (100, 0), (200, 0), (300, 3), (400, 3), (450, 3)]
        );
    }

    #[test]
    fn an_unknown_span_is_downsampled_within_bounds() {
        let mut t = Timeline::new(at(0), None);
        let day = 24 * 3_600_000;
        let mut ms = 0;
        while ms < day {
            ms += 7_919;
            t.sample_before(at(ms), ms / 1000, 0);
        }
        t.finish(at(day), 0, 0);
        assert!(t.points().len() <= MAX_POINTS, "{}", t.points().len());
        assert!(t.points().len() >= MAX_POINTS / 2 - 1);
        // Still evenly spaced at the final interval (but the closing point).
        let i = t.interval_ms();
        let pts = t.points();
        for w in pts[..pts.len() - 1].windows(2) {
            assert_eq!(w[1].at_ms - w[0].at_ms, i);
        }
    }
}
