//! Time as plain numbers: the core never reads a clock, it is handed [`Timestamp`]s.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Microseconds since the Unix epoch, UTC. Microseconds because TAXII requires them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_micros(us: i64) -> Self {
        Timestamp(us)
    }
    pub const fn from_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(1_000_000))
    }
    pub const fn micros(self) -> i64 {
        self.0
    }
    pub const fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }
    /// How long after `earlier` this instant is (negative when it is before).
    pub const fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

/// A span of time in microseconds.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Duration(pub i64);

impl Duration {
    pub const fn from_secs(s: i64) -> Self {
        Duration(s.saturating_mul(1_000_000))
    }
    pub const fn from_mins(m: i64) -> Self {
        Duration::from_secs(m.saturating_mul(60))
    }
    pub const fn from_hours(h: i64) -> Self {
        Duration::from_secs(h.saturating_mul(3600))
    }
    pub const fn micros(self) -> i64 {
        self.0
    }
    pub const fn secs(self) -> i64 {
        self.0 / 1_000_000
    }
}

impl fmt::Display for Duration {
    /// Renders in the same form [`parse_duration`] accepts, largest exact unit first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us % 1_000_000 != 0 {
            return write!(f, "{}ms", us / 1000);
        }
        let s = us / 1_000_000;
        if s != 0 && s % 86_400 == 0 {
            write!(f, "{}d", s / 86_400)
        } else if s != 0 && s % 3600 == 0 {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s % 60 == 0 {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// Parses durations such as `90s`, `10m`, `3h`, `2d`, `1h30m` or `500ms`.
/// Returns a sentence describing the problem on failure.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration; expected e.g. 10m, 90s, 3h".into());
    }
    let mut total: i64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration {text:?}; expected e.g. 10m, 90s, 3h"
            ));
        }
        let (num, tail) = rest.split_at(digits);
        let n: i64 = num
            .parse()
            .map_err(|_| format!("duration {text:?} is too large"))?;
        let unit_len = tail.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let (unit, tail) = tail.split_at(unit_len);
        let per = match unit {
            "ms" => 1_000,
            "s" => 1_000_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            "d" => 86_400_000_000,
            "" => return Err(format!("duration {text:?} lacks a unit (ms, s, m, h, d)")),
            other => {
                return Err(format!(
                    "unknown unit {other:?} in duration {text:?}; use ms, s, m, h or d"
                ));
            }
        };
        total = n
            .checked_mul(per)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration {text:?} is too large"))?;
        rest = tail;
    }
    if total <= 0 {
        return Err(format!("duration {text:?} must be positive"));
    }
    Ok(Duration(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_mins(10)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("3h"), Ok(Duration::from_hours(3)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration(500_000)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_hours(48)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "10",
            "m",
            "10x",
            "-5m",
            "0s",
            "99999999999999999999h",
            "1.5h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips(secs in 1i64..10_000_000) {
            let d = Duration::from_secs(secs);
            proptest::prop_assert_eq!(parse_duration(&d.to_string()), Ok(d));
        }
    }
}
