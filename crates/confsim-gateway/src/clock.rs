//! The gateway's clocks: the wall clock (the engine's `WallClock`, read at each request) and
//! the manual clock (the engine's own time, moved only by the control API).
//!
//! This module is the gateway's one reader of the real clock, as the engine's clock module is
//! the engine's; `clippy.toml` bans `Instant::now` and `SystemTime::now` everywhere else.

use crate::config::ClockMode;
use confsim_core::SimTime;
use confsim_engine::WallClock;
use std::time::Instant;

/// How the gateway finds "now" in simulated time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SimClock {
    Wall(WallClock),
    /// The engine's time is the clock: nothing moves it but `advance`.
    Manual,
}

impl SimClock {
    pub fn start(mode: ClockMode, start: SimTime) -> Self {
        match mode {
            ClockMode::Wall { speed } => SimClock::Wall(WallClock::start(start, speed)),
            ClockMode::Manual => SimClock::Manual,
        }
    }

    /// The simulated present. The engine's time never goes back: on the wall clock a request
    /// that raced a timer firing may find the engine a millisecond ahead of its own reading.
    pub fn now(&self, engine_now: SimTime) -> SimTime {
        match self {
            SimClock::Wall(w) => w.sim_at(real_now()).max(engine_now),
            SimClock::Manual => engine_now,
        }
    }

    /// The real instant at which simulated `t` is reached (`None` on the manual clock, where
    /// no real instant ever reaches anything).
    pub fn real_instant(&self, t: SimTime) -> Option<Instant> {
        match self {
            SimClock::Wall(w) => Some(w.real_instant(t)),
            SimClock::Manual => None,
        }
    }

    pub fn speed(&self) -> f64 {
        match self {
            SimClock::Wall(w) => w.speed(),
            SimClock::Manual => 0.0,
        }
    }

    pub fn mode(&self) -> &'static str {
        match self {
            SimClock::Wall(_) => "wall",
            SimClock::Manual => "manual",
        }
    }
}

#[allow(clippy::disallowed_methods)] // The gateway's one reading of the real clock.
pub(crate) fn real_now() -> Instant {
    Instant::now()
}

/// The present real time as a `SimTime`, to the millisecond: the default start of a wall-clock
/// session, so that `loginTime` and `eventGenTime` are the present to a client (at speed 1,
/// within a millisecond of its own clock; a start rounded to the second would put every event
/// up to a second in the past, and a capture through `confsim record` would see events stamped
/// before the requests that caused them). A journal's header then says when the session began,
/// which is what it records.
#[allow(clippy::disallowed_methods)] // Read once, at start-up, and written into the header.
pub fn present() -> SimTime {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    SimTime::from_unix_ms(ms)
}

/// When `confsim record` saw an answer, which is what a capture records (a capture's times are
/// real ones by definition): the present, as `present` reads it.
pub(crate) fn real_time() -> SimTime {
    present()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The present is the real clock to the millisecond, not rounded to the second: a wall-clock
    /// session's events are stamped with the client's present, not up to a second before it.
    #[test]
    #[allow(clippy::disallowed_methods)] // The real clock is what is checked.
    fn the_present_is_the_real_time_to_the_millisecond() {
        let real = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
        };
        // Wait until the real clock is well inside a second, so that rounding to the second
        // would be off by at least 200 ms.
        while real() % 1000 < 200 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let before = real();
        let present = present().as_unix_ms();
        let after = real();
        assert!(
            before <= present && present <= after,
            "{before} {present} {after}"
        );
    }
}
