//! Strict STIX/TAXII timestamps: `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, UTC only.
//!
//! Parsing is by hand so nothing lenient slips through (no lowercase `t`/`z`, no space
//! separator, no offsets, no leap second).

use chrono::{DateTime, NaiveDate, Utc};

/// An instant as nanoseconds since the Unix epoch: totally ordered, exact for every
/// precision STIX allows here.
pub type Nanos = i128;

/// Parses a STIX timestamp (RFC 3339, UTC, `Z`, 0 to 9 fractional digits).
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20 || b.last() != Some(&b'Z') {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter().try_fold(0u32, |acc, d| {
            acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
        })
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    let (month, day) = (digits(5..7)?, digits(8..10)?);
    let (hour, min, sec) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            let v = digits(20..b.len() - 1)?;
            v * 10u32.pow(9 - u32::try_from(frac.len()).ok()?)
        }
        _ => return None,
    };
    if sec > 59 {
        return None;
    }
    let dt = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(hour, min, sec, nanos)?;
    Some(dt.and_utc())
}

/// Whether `s` is a valid STIX timestamp.
pub fn is_valid(s: &str) -> bool {
    parse(s).is_some()
}

/// Nanoseconds since the epoch of a STIX timestamp.
pub fn parse_nanos(s: &str) -> Option<Nanos> {
    let t = parse(s)?;
    Some(Nanos::from(t.timestamp()) * 1_000_000_000 + Nanos::from(t.timestamp_subsec_nanos()))
}

/// Microseconds since the epoch, rounded down (TAXII's precision).
pub fn parse_micros(s: &str) -> Option<i64> {
    let n = parse_nanos(s)?;
    i64::try_from(n.div_euclid(1000)).ok()
}

/// TAXII's form: exactly six fractional digits. `None` outside chrono's range.
pub fn format_micros(micros: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

/// STIX's recommended form for `created`/`modified`: milliseconds.
pub fn format_millis(micros: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_forms_only() {
        for ok in [
            "2026-01-10T08:00:00Z",
            "2026-01-10T08:00:00.1Z",
            "2026-01-10T08:00:00.123Z",
            "2026-01-10T08:00:00.123456789Z",
            "2024-02-29T23:59:59.999999Z",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "2026-01-10 08:00:00Z",
            "2026-01-10t08:00:00Z",
            "2026-01-10T08:00:00z",
            "2026-01-10T08:00:00+00:00",
            "2026-01-10T08:00:00.Z",
            "2026-01-10T08:00:00.1234567890Z",
            "2026-01-10T08:00:60Z",
            "2025-02-29T00:00:00Z",
            "2026-1-10T08:00:00Z",
            "+026-01-10T08:00:00Z",
            "2026-01-10T08:00Z",
            "",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn micros_round_trip() {
        for m in [0i64, 1, 1_768_032_000_123_456, -1, 253_402_300_799_999_999] {
            let s = format_micros(m).expect("in range");
            assert_eq!(s.len(), 27, "{s}");
            assert_eq!(parse_micros(&s), Some(m), "{s}");
        }
        assert_eq!(
            parse_micros("2026-01-10T08:00:00.1234567Z"),
            parse_micros("2026-01-10T08:00:00.123456Z")
        );
        assert_eq!(
            format_millis(1_768_032_000_123_456).as_deref(),
            Some("2026-01-10T08:00:00.123Z")
        );
    }
}
