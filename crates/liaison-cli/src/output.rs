//! Printing: human-readable text by default, JSON with `--json`.

use serde::Serialize;

pub fn json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// One line summarising a receipt, for human output after a write.
pub fn receipt_line(r: &liaison_api::wire::Receipt) -> String {
    let size = r.checkpoint.lines().nth(1).unwrap_or("?");
    format!("recorded as entry {} (checkpoint size {size})", r.index)
}

/// Says so when a list is empty, so that "nothing there" never looks like "broken".
pub fn none_if_empty<T>(items: &[T], what: &str) {
    if items.is_empty() {
        println!("no {what}");
    }
}

/// A time for people: RFC 3339 in UTC to the second (`2026-01-06T12:00:00Z`), then the
/// same moment in the terminal's local zone when that zone is not UTC
/// (`(local 14:00:00+02:00)`). Text that is not an RFC 3339 time is shown as it is.
pub fn when(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => utc_and_local(t.with_timezone(&chrono::Utc)),
        Err(_) => text.to_string(),
    }
}

/// [`when`] for a time the record keeps as microseconds since the epoch.
pub fn when_micros(micros: i64) -> String {
    match chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros) {
        Some(t) => utc_and_local(t),
        None => format!("(invalid time {micros})"),
    }
}

fn utc_and_local(t: chrono::DateTime<chrono::Utc>) -> String {
    let utc = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let local = t.with_timezone(&chrono::Local);
    if local.offset().local_minus_utc() == 0 {
        utc
    } else {
        format!("{utc} (local {})", local.format("%H:%M:%S%:z"))
    }
}

/// The fields of an event's data that hold times, as the record keeps them
/// (microseconds since the epoch).
const TIME_FIELDS: &[&str] = &[
    "at",
    "due_at",
    "when",
    "start",
    "end",
    "valid_from",
    "valid_until",
    "met_at",
    "previous_when",
    "expires_at",
    "from",
    "to",
];

/// An event's data for people: `key=value` for each field, times as [`when`], nested
/// values as compact JSON, cut at `max` characters with an ellipsis.
pub fn data_summary(data: &serde_json::Value, max: usize) -> String {
    let Some(fields) = data.as_object() else {
        return cut(&data.to_string(), max);
    };
    let parts: Vec<String> = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::Number(n) if TIME_FIELDS.contains(&k.as_str()) => match n.as_i64() {
                Some(m) => format!("{k}={}", when_micros(m)),
                None => format!("{k}={n}"),
            },
            serde_json::Value::String(s) => format!("{k}={s:?}"),
            v => format!("{k}={v}"),
        })
        .collect();
    cut(&parts.join(" "), max)
}

/// `text` cut at `max` characters (never inside a character), with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc3339_to_the_second() {
        // The local part depends on the process's zone; the UTC part never does.
        assert!(when("2026-01-06T12:00:00.123456Z").starts_with("2026-01-06T12:00:00Z"));
        assert!(when_micros(1_767_700_800_123_456).starts_with("2026-01-06T12:00:00Z"));
        assert_eq!(when("soon"), "soon");
    }

    #[test]
    fn data_shows_times_as_times_and_cuts_whole_characters() {
        let d =
            serde_json::json!({"due_at": 1_767_700_800_000_000i64, "subject": "נחיתה", "level": 2});
        let s = data_summary(&d, 200);
        assert!(s.contains("due_at=2026-01-06T12:00:00Z"), "{s}");
        assert!(s.contains("level=2") && s.contains("\"נחיתה\""), "{s}");
        assert_eq!(cut("αβγδ", 3), "αβ…");
    }
}
