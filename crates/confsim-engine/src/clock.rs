//! Clocks: how simulated time relates to real time.
//!
//! The engine never asks a clock what time it is; a driver asks the engine for its next
//! deadline and asks the clock to *wait until* it. The virtual clock returns at once (an hour of
//! simulated time costs nothing); the wall clock sleeps until the deadline's real instant at a
//! speed factor and reports how late it woke. Either way the engine then does the same work in
//! the same order, which is why the journal is byte-identical under both. The manual clock (the
//! gateway's, moved only by the control API) is the third implementation and lives with its
//! driver, since waiting there means waiting for a request.

use confsim_core::SimTime;
use std::time::{Duration, Instant};

/// Waits until simulated deadlines.
pub trait Clock {
    /// `"virtual"`, `"wall"` or `"manual"`.
    fn mode(&self) -> &'static str;

    /// Returns once simulated time `deadline` has been reached. Returns how late the clock
    /// woke, in real time (`None` for clocks that do not wait).
    fn wait_until(&mut self, deadline: SimTime) -> Option<Duration>;
}

/// Jumps straight to every deadline.
#[derive(Debug, Default, Clone, Copy)]
pub struct VirtualClock;

impl Clock for VirtualClock {
    fn mode(&self) -> &'static str {
        "virtual"
    }

    fn wait_until(&mut self, _deadline: SimTime) -> Option<Duration> {
        None
    }
}

/// Simulated time runs `speed` times faster than real time, from `origin`.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    origin_sim: SimTime,
    origin_real: Instant,
    speed: f64,
}

impl WallClock {
    /// Starts now: simulated `origin` is the present real instant. `speed` must be positive
    /// and finite (the CLI checks it).
    #[allow(clippy::disallowed_methods)] // The one place that reads the real clock.
    pub fn start(origin: SimTime, speed: f64) -> Self {
        WallClock {
            origin_sim: origin,
            origin_real: Instant::now(),
            speed,
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The real instant at which simulated `t` is reached.
    pub fn real_instant(&self, t: SimTime) -> Instant {
        let sim_ms = t.since(self.origin_sim).as_millis() as f64;
        self.origin_real + Duration::from_secs_f64(sim_ms / 1000.0 / self.speed)
    }

    /// The simulated time corresponding to the real instant `at` (never before the origin).
    pub fn sim_at(&self, at: Instant) -> SimTime {
        let real = at.saturating_duration_since(self.origin_real).as_secs_f64();
        let ms = (real * self.speed * 1000.0).floor();
        self.origin_sim
            .saturating_add(confsim_core::SimDuration::from_millis(ms as u64))
    }
}

impl Clock for WallClock {
    fn mode(&self) -> &'static str {
        "wall"
    }

    #[allow(clippy::disallowed_methods)] // The one place that reads the real clock.
    fn wait_until(&mut self, deadline: SimTime) -> Option<Duration> {
        let due = self.real_instant(deadline);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        Some(Instant::now().saturating_duration_since(due))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_virtual_clock_never_waits() {
        let mut c = VirtualClock;
        assert_eq!(c.wait_until(SimTime::from_unix_ms(i64::MAX / 2)), None);
    }

    #[test]
    fn the_wall_clock_maps_simulated_to_real_time_at_its_speed() {
        let origin = SimTime::from_unix_ms(1_000_000);
        let c = WallClock::start(origin, 60.0);
        // One simulated minute is one real second at speed 60.
        let minute = origin.saturating_add(confsim_core::SimDuration::from_mins(1));
        let real = c.real_instant(minute).duration_since(c.origin_real);
        assert_eq!(real, Duration::from_secs(1));
        assert_eq!(
            c.sim_at(c.origin_real + Duration::from_secs(2)),
            origin.saturating_add(confsim_core::SimDuration::from_mins(2))
        );
    }

    #[test]
    fn the_wall_clock_waits_until_the_deadline() {
        let origin = SimTime::from_unix_ms(0);
        let mut c = WallClock::start(origin, 1000.0);
        // 20 simulated seconds at speed 1000 is 20 real milliseconds.
        let lateness = c.wait_until(SimTime::from_unix_ms(20_000)).unwrap();
        assert!(c.origin_real.elapsed() >= Duration::from_millis(20));
        assert!(lateness < Duration::from_secs(5));
    }
}

/// Measures real elapsed time, for reports (wall time taken, records per second).
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    #[allow(clippy::disallowed_methods)] // Reports measure real time; nothing simulated reads this.
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
