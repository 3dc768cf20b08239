//! Keyed randomness: every random choice of the platform is a pure function of the root seed
//! and a key naming what is drawn (a conference and a slot).
//!
//! Why keyed rather than one stream consumed in order: the journal must be rebuildable by folding
//! its records, *pending timers included*. A pending event's due time is "cause time + a latency
//! draw"; with keyed draws the fold recomputes that draw from the conference id and the step
//! number alone, without re-running every earlier decision to advance a shared stream. It also
//! makes a draw independent of how inputs from different agents interleave.
//!
//! Each draw seeds a fresh Xoshiro256++ from a 64-bit key: the root seed, the stream (the
//! conference) and the slot folded together with SplitMix64's finalizer, a bijection, so
//! distinct keys give unrelated generators. The generator is the one `rand_xoshiro` defines
//! (value-stable across versions), seeded as its `seed_from_u64` seeds it, and a range is drawn
//! as `rand`'s `random_range` draws it; both are written out here (`Stream`) because going
//! through the crates' traits (a 32-byte seed buffer, a generic sampler) cost three times the
//! arithmetic, and draws are on every asynchronous step. A test checks the two agree, value
//! for value, over a million keys. (The ChaCha8 generator before this computed four 64-byte
//! blocks per draw, and draws were 7% of a run.)

use crate::config::LatencyConfig;
use crate::ids::ConfId;

/// What a draw is for, within one conference. Latency draws use `0..`, one per asynchronous
/// step; the rest use high slots so the two never overlap.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The k-th latency draw of a conference.
    Latency(u32),
    /// Whether an injected fault fails the application.
    Fault,
    /// A chance drawn alongside the k-th latency draw (a phone that does not answer).
    Chance(u32),
}

impl Slot {
    fn index(self) -> u64 {
        match self {
            Slot::Latency(k) => u64::from(k),
            Slot::Fault => 1 << 40,
            Slot::Chance(k) => (1 << 41) + u64::from(k),
        }
    }
}

/// Stream numbers from here on belong to agents (conference ids are far below).
const AGENT_STREAMS: u64 = 1 << 62;

/// SplitMix64's output function: a bijection on `u64` that mixes every input bit into every
/// output bit.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The platform's source of randomness, derived from the root seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draws {
    seed: u64,
    /// The seed, mixed once.
    base: u64,
}

impl Draws {
    pub fn new(seed: u64) -> Self {
        Draws {
            seed,
            base: mix64(seed),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn rng(&self, conf: ConfId, slot: Slot) -> Stream {
        Stream::new(Self::key(self.base, conf, slot))
    }

    fn key(base: u64, conf: ConfId, slot: Slot) -> u64 {
        mix64(mix64(base ^ conf.0) ^ slot.index())
    }

    /// A platform latency in milliseconds, uniform in `[min_ms, max_ms]`.
    pub fn latency_ms(&self, cfg: &LatencyConfig, conf: ConfId, step: u32) -> u64 {
        if cfg.min_ms >= cfg.max_ms {
            return cfg.min_ms;
        }
        self.rng(conf, Slot::Latency(step))
            .in_range(cfg.min_ms, cfg.max_ms)
    }

    /// The k-th latency of an agent's own events (sign-in and sign-out). Agents draw from
    /// streams above every conference id's, so the two never share a stream.
    pub fn agent_latency_ms(&self, cfg: &LatencyConfig, agent: crate::ids::AgentId, k: u32) -> u64 {
        self.latency_ms(cfg, ConfId(AGENT_STREAMS | u64::from(agent.0)), k)
    }

    /// Whether something of probability `p` happens, keyed by the k-th draw of a conference.
    pub fn chance_at(&self, conf: ConfId, k: u32, p: f64) -> bool {
        self.chance(conf, Slot::Chance(k), p)
    }

    /// Whether an event of probability `p` happens for this key.
    pub fn chance(&self, conf: ConfId, slot: Slot, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        self.rng(conf, slot).unit() < p
    }
}

/// Xoshiro256++ seeded from a key, as `rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64` seeds
/// it: its four words are the first four outputs of SplitMix64 started at the key.
struct Stream {
    s: [u64; 4],
}

impl Stream {
    fn new(key: u64) -> Self {
        // SplitMix64's k-th output from state `key` is its finalizer over `key + k * PHI`;
        // `mix64` adds the first `PHI` itself.
        const PHI: u64 = 0x9E37_79B9_7F4A_7C15;
        let at = |k: u64| mix64(key.wrapping_add(PHI.wrapping_mul(k)));
        Stream {
            s: [at(0), at(1), at(2), at(3)],
        }
    }

    /// The generator's next output (Xoshiro256++).
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[low, high]` (`low <= high`), as `rand` 0.9's `random_range(low..=high)`
    /// draws a `u64`: the high word of a widening multiply, with one more draw when the first
    /// lands in the biased zone.
    fn in_range(&mut self, low: u64, high: u64) -> u64 {
        let range = high.wrapping_sub(low).wrapping_add(1);
        if range == 0 {
            return self.next_u64();
        }
        let wide = u128::from(self.next_u64()) * u128::from(range);
        let (mut result, lo_order) = ((wide >> 64) as u64, wide as u64);
        if lo_order > range.wrapping_neg() {
            let new_hi_order = ((u128::from(self.next_u64()) * u128::from(range)) >> 64) as u64;
            result += u64::from(lo_order.checked_add(new_hi_order).is_none());
        }
        low.wrapping_add(result)
    }

    /// Uniform in `[0, 1)` with 53 bits, as `rand`'s `random::<f64>()`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The written-out generator and sampler give exactly what `rand_xoshiro` and `rand` give
    /// (journals depend on every value): a million keys, small ranges and ranges wide enough
    /// that the second draw for the biased zone is taken, and the unit interval.
    #[test]
    fn the_stream_agrees_with_rand_value_for_value() {
        use rand::{Rng, SeedableRng};
        use rand_xoshiro::Xoshiro256PlusPlus;
        let ranges = [
            (10, 100),
            (0, 0),
            (2_000, 8_000),
            (0, u64::MAX),
            (5, u64::MAX / 3 * 2),
            (1, (1 << 63) + 12_345),
        ];
        let mut second_draws = 0;
        for i in 0..1_000_000u64 {
            let key = mix64(i ^ 0xDEC0_DE00);
            let (low, high) = ranges[(i % ranges.len() as u64) as usize];
            let expected: u64 = Xoshiro256PlusPlus::seed_from_u64(key).random_range(low..=high);
            assert_eq!(
                Stream::new(key).in_range(low, high),
                expected,
                "key {key:#x}"
            );
            let range = high.wrapping_sub(low).wrapping_add(1);
            let first = u128::from(Stream::new(key).next_u64()) * u128::from(range);
            if range != 0 && (first as u64) > range.wrapping_neg() {
                second_draws += 1;
            }
            if i % 10 == 0 {
                let expected: f64 = Xoshiro256PlusPlus::seed_from_u64(key).random();
                assert_eq!(Stream::new(key).unit().to_bits(), expected.to_bits());
            }
        }
        assert!(
            second_draws > 10_000,
            "the biased zone was hit {second_draws} times"
        );
    }

    #[test]
    fn draws_depend_only_on_seed_and_key() {
        let cfg = LatencyConfig {
            min_ms: 10,
            max_ms: 100,
        };
        let a = Draws::new(42);
        let b = Draws::new(42);
        for conf in 1..50 {
            for step in 0..6 {
                let x = a.latency_ms(&cfg, ConfId(conf), step);
                assert_eq!(x, b.latency_ms(&cfg, ConfId(conf), step));
                assert!((10..=100).contains(&x));
            }
        }
    }

    #[test]
    fn different_seeds_and_keys_give_different_streams() {
        let cfg = LatencyConfig {
            min_ms: 0,
            max_ms: 1_000_000,
        };
        let a = Draws::new(1);
        let b = Draws::new(2);
        let xs: Vec<_> = (0..8).map(|k| a.latency_ms(&cfg, ConfId(7), k)).collect();
        let ys: Vec<_> = (0..8).map(|k| b.latency_ms(&cfg, ConfId(7), k)).collect();
        let zs: Vec<_> = (0..8).map(|k| a.latency_ms(&cfg, ConfId(8), k)).collect();
        assert_ne!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn fixed_latency_needs_no_draw() {
        let cfg = LatencyConfig {
            min_ms: 0,
            max_ms: 0,
        };
        assert_eq!(Draws::new(3).latency_ms(&cfg, ConfId(1), 0), 0);
    }

    #[test]
    fn chance_respects_its_bounds_and_rate() {
        let d = Draws::new(9);
        assert!(!d.chance(ConfId(1), Slot::Fault, 0.0));
        assert!(d.chance(ConfId(1), Slot::Fault, 1.0));
        let hits = (0..10_000)
            .filter(|c| d.chance(ConfId(*c), Slot::Fault, 0.25))
            .count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
    }
}
