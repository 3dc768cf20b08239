//! The peer of the engine's throughput figure: a minimal hand-written discrete-event loop
//! (a binary heap of `(time, sequence)` wake-ups and one seeded generator, nothing else) that
//! simulates the closed-loop day's shape and counts the records the engine would journal.
//!
//! Each of 10,000 agents applies (one input), gets its platform's answer 10-100 ms later (five
//! events: busy, alerting, off-hook, joined, success), holds the conference 5-70 minutes (a
//! warning at 57 minutes when it lasts that long, the end at 60), releases it (one input, three
//! events: left, phone released, ready), thinks 60 s and applies again, for 8 simulated hours.
//! There is no platform state, no validation, no event content and no journal: what it costs is
//! the floor under any simulator of this model, the time and ordering machinery alone. Compare
//! its records/s with `closed-loop-day/journal-discarded` of the engine bench in the same
//! sitting:
//!
//! ```sh
//! cargo run --release -p confsim-benches --example peer_loop
//! ```
//!
//! prints one line, `records N  seconds S  records/s R`, the best of five runs.

use confsim_engine::Stopwatch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const AGENTS: u32 = 10_000;
const UNTIL_MS: u64 = 8 * 3_600_000;
const MINUTE: u64 = 60_000;

/// What an agent's next wake-up does.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// Apply: one input record, the answer scheduled after the platform's latency.
    Apply,
    /// The platform's answer: five event records; the hold (and a warning) scheduled.
    Answer,
    /// The warning three minutes before the end: one event record.
    Warn,
    /// The release (or the end at 60 minutes): an input record when the chair released, three
    /// event records; the next application scheduled after the thought.
    Release { by_chair: bool },
}

fn day(seed: u64) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut queue = BinaryHeap::with_capacity(2 * AGENTS as usize);
    let mut sequence = 0u64;
    let mut push = |queue: &mut BinaryHeap<_>, at: u64, agent: u32, step: Step| {
        sequence += 1;
        queue.push(Reverse((at, sequence, agent, step)));
    };
    for agent in 0..AGENTS {
        push(&mut queue, 0, agent, Step::Apply);
    }
    let mut records = 0u64;
    while let Some(Reverse((now, _, agent, step))) = queue.pop() {
        if now > UNTIL_MS {
            break;
        }
        match step {
            Step::Apply => {
                records += 1;
                let latency = rng.random_range(10..=100);
                push(&mut queue, now + latency, agent, Step::Answer);
            }
            Step::Answer => {
                records += 5;
                let hold = rng.random_range(5 * MINUTE..=70 * MINUTE);
                if hold > 57 * MINUTE {
                    push(&mut queue, now + 57 * MINUTE, agent, Step::Warn);
                }
                let by_chair = hold < 60 * MINUTE;
                let release = now + hold.min(60 * MINUTE);
                push(&mut queue, release, agent, Step::Release { by_chair });
            }
            Step::Warn => records += 1,
            Step::Release { by_chair } => {
                records += 3 + u64::from(by_chair);
                push(&mut queue, now + MINUTE, agent, Step::Apply);
            }
        }
    }
    records
}

fn main() {
    let mut best = f64::INFINITY;
    let mut records = 0;
    for _ in 0..5 {
        let start = Stopwatch::start();
        records = std::hint::black_box(day(7));
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "records {records}  seconds {best:.3}  records/s {:.0}",
        records as f64 / best
    );
}
