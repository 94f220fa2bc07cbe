//! Durations as koi writes them everywhere: `500ms`, `30s`, `5m`, `1h` (and `2d`).

use std::fmt;
use std::time::Duration;

/// A duration string koi could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: write a number and a unit, like 500ms, 30s, 5m, 1h or 2d",
            self.0
        )
    }
}

impl std::error::Error for DurationError {}

/// Parses `500ms`, `30s`, `5m`, `1h` or `2d`. A bare number is refused: units are never guessed.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let err = || DurationError(text.to_string());
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.len() > 12 {
        return Err(err());
    }
    let n: u64 = num.parse().map_err(|_| err())?;
    let ms_per = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(err()),
    };
    n.checked_mul(ms_per)
        .map(Duration::from_millis)
        .ok_or_else(err)
}

/// Formats a duration in the largest unit that divides it (the inverse of [`parse_duration`]).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, per) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= per && ms % per == 0 {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
    }

    #[test]
    fn refuses_bare_numbers_bad_units_and_overflow() {
        for bad in [
            "30",
            "",
            "s",
            "1.5s",
            "-1s",
            "5 m",
            "1w",
            "99999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn format_round_trips() {
        for s in ["500ms", "30s", "5m", "1h", "2d", "90s"] {
            let d = parse_duration(s).unwrap_or_default();
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
