//! Simulated time: an instant (`SimTime`) and a span (`SimDuration`), both in milliseconds.
//!
//! Nothing here reads a clock. Instants are milliseconds since the Unix epoch (UTC) so that a
//! journal's `at` can be printed without any context; spans are unsigned milliseconds.

use std::fmt;

/// An instant of simulated time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(i64);

/// A span of simulated time, in milliseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

impl SimTime {
    pub const fn from_unix_ms(ms: i64) -> Self {
        SimTime(ms)
    }

    pub const fn as_unix_ms(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 instant (`2026-01-05T09:00:00Z`, with or without fractions or offset).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let dt = chrono::DateTime::parse_from_rfc3339(text).ok()?;
        Some(SimTime(dt.timestamp_millis()))
    }

    /// `self + d`, saturating at the end of representable time rather than wrapping.
    pub fn saturating_add(self, d: SimDuration) -> Self {
        SimTime(
            self.0
                .saturating_add(i64::try_from(d.0).unwrap_or(i64::MAX)),
        )
    }

    /// `self - d`, saturating.
    pub fn saturating_sub(self, d: SimDuration) -> Self {
        SimTime(
            self.0
                .saturating_sub(i64::try_from(d.0).unwrap_or(i64::MAX)),
        )
    }

    /// The span from `earlier` to `self`; zero when `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

impl fmt::Display for SimTime {
    /// RFC 3339 with milliseconds, UTC: `2026-01-05T09:00:00.041Z`, the journal's form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(24);
        TimeFormatter::default().write(*self, &mut buf);
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms)
    }

    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1000)
    }

    pub const fn from_mins(m: u64) -> Self {
        SimDuration(m * 60_000)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Parses the scenario form of a duration: `"250ms"`, `"45s"`, `"50m"`, `"2h"`, or a
    /// concatenation of those in decreasing units (`"1h30m"`, `"1m30s500ms"`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "invalid duration {text:?}: expected forms like \"250ms\", \"45s\", \"50m\", \"1h30m\""
            )
        };
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        let mut total: u64 = 0;
        let mut last_rank = u8::MAX;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            let value: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let (unit_ms, rank, len) = if rest.starts_with("ms") {
                (1, 0, 2)
            } else if rest.starts_with('s') {
                (1_000, 1, 1)
            } else if rest.starts_with('m') {
                (60_000, 2, 1)
            } else if rest.starts_with('h') {
                (3_600_000, 3, 1)
            } else if rest.starts_with('d') {
                (86_400_000, 4, 1)
            } else {
                return Err(bad());
            };
            // Units must decrease ("1h30m", not "30m1h") so a typo cannot hide.
            if rank >= last_rank {
                return Err(bad());
            }
            last_rank = rank;
            rest = &rest[len..];
            total = value
                .checked_mul(unit_ms)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
        }
        Ok(SimDuration(total))
    }
}

impl fmt::Display for SimDuration {
    /// The shortest scenario form that reads back to the same value (`"1h30m"`, `"250ms"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, name) in [(3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")] {
            if ms >= unit {
                write!(f, "{}{}", ms / unit, name)?;
                ms %= unit;
            }
        }
        Ok(())
    }
}

/// Formats instants as RFC 3339 with milliseconds, fast.
///
/// A journal writes millions of timestamps a second and consecutive records nearly always fall
/// in the same second, so the `YYYY-MM-DDTHH:MM:SS` prefix is computed once per second (with
/// chrono, so the calendar arithmetic is not ours) and only `.mmmZ` is written per record.
#[derive(Debug, Clone)]
pub struct TimeFormatter {
    cached_second: i64,
    prefix: [u8; 19],
}

impl Default for TimeFormatter {
    fn default() -> Self {
        TimeFormatter {
            cached_second: i64::MIN,
            prefix: [b'0'; 19],
        }
    }
}

impl TimeFormatter {
    /// Appends `t` to `out` as `2026-01-05T09:00:00.041Z`.
    pub fn write(&mut self, t: SimTime, out: &mut Vec<u8>) {
        let second = t.0.div_euclid(1000);
        let millis = t.0.rem_euclid(1000) as u32;
        if second != self.cached_second {
            let dt = chrono::DateTime::from_timestamp(second, 0).unwrap_or_default();
            let text = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
            // Years outside 0000-9999 do not fit the fixed-width prefix; they cannot come
            // from a valid scenario, but formatting must never panic, so fall back slowly.
            if text.len() != 19 {
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(format!(".{millis:03}Z").as_bytes());
                return;
            }
            self.prefix.copy_from_slice(text.as_bytes());
            self.cached_second = second;
        }
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&[
            b'.',
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
            b'Z',
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_documented_form() {
        assert_eq!(SimDuration::parse("250ms").unwrap().as_millis(), 250);
        assert_eq!(SimDuration::parse("45s").unwrap().as_millis(), 45_000);
        assert_eq!(SimDuration::parse("50m").unwrap().as_millis(), 3_000_000);
        assert_eq!(SimDuration::parse("1h30m").unwrap().as_millis(), 5_400_000);
        assert_eq!(
            SimDuration::parse("1m30s500ms").unwrap().as_millis(),
            90_500
        );
        assert_eq!(SimDuration::parse("0s").unwrap().as_millis(), 0);
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for bad in [
            "",
            "5",
            "m",
            "5x",
            "30m1h",
            "1h1h",
            "-5s",
            "5 s",
            "99999999999999999999h",
        ] {
            assert!(SimDuration::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn durations_print_in_scenario_form() {
        for text in ["1h30m", "250ms", "45s", "1m30s500ms", "0s"] {
            assert_eq!(SimDuration::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn instants_print_rfc3339_with_millis() {
        let t = SimTime::parse_rfc3339("2026-01-05T09:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-01-05T09:00:00.000Z");
        assert_eq!(
            t.saturating_add(SimDuration::from_millis(41)).to_string(),
            "2026-01-05T09:00:00.041Z"
        );
        let mut f = TimeFormatter::default();
        let mut out = Vec::new();
        f.write(t.saturating_add(SimDuration::from_millis(59_999)), &mut out);
        out.push(b' ');
        f.write(t.saturating_add(SimDuration::from_millis(60_000)), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-01-05T09:00:59.999Z 2026-01-05T09:01:00.000Z"
        );
    }

    #[test]
    fn instants_before_the_epoch_format_correctly() {
        let t = SimTime::from_unix_ms(-1);
        assert_eq!(t.to_string(), "1969-12-31T23:59:59.999Z");
    }
}
