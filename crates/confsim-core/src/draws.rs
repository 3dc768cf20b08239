//! Keyed randomness: every random choice of the platform is a pure function of the root seed
//! and a key naming what is drawn (a conference and a slot).
//!
//! Why keyed rather than one stream consumed in order: the journal must be rebuildable by folding
//! its records, *pending timers included*. A pending event's due time is "cause time + a latency
//! draw"; with keyed draws the fold recomputes that draw from the conference id and the step
//! number alone, without re-running every earlier decision to advance a shared stream. It also
//! makes a draw independent of how inputs from different agents interleave.
//!
//! Each draw seeds a fresh Xoshiro256++ (`rand_xoshiro`, value-stable across versions) from a
//! 64-bit key: the root seed, the stream (the conference) and the slot folded together with
//! SplitMix64's finalizer, a bijection, so distinct keys give unrelated generators. Seeding a
//! Xoshiro256++ is a few dozen instructions; the ChaCha8 generator this replaced (keyed by its
//! stream and word position) computed four 64-byte blocks per draw, and draws were 7% of a run.

use crate::config::LatencyConfig;
use crate::ids::ConfId;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

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

    fn rng(&self, conf: ConfId, slot: Slot) -> Xoshiro256PlusPlus {
        let key = mix64(mix64(self.base ^ conf.0) ^ slot.index());
        Xoshiro256PlusPlus::seed_from_u64(key)
    }

    /// A platform latency in milliseconds, uniform in `[min_ms, max_ms]`.
    pub fn latency_ms(&self, cfg: &LatencyConfig, conf: ConfId, step: u32) -> u64 {
        if cfg.min_ms >= cfg.max_ms {
            return cfg.min_ms;
        }
        self.rng(conf, Slot::Latency(step))
            .random_range(cfg.min_ms..=cfg.max_ms)
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
        self.rng(conf, slot).random::<f64>() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
