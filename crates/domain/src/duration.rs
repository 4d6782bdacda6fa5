//! Durations in configuration, written `30s`, `10m`, `12h`, `5d` (SPEC §7).
//!
//! A positive whole number followed by exactly one unit: `s` seconds, `m` minutes, `h` hours,
//! `d` days. Combined forms (`1h30m`), fractions and other units are refused with an error that
//! names the problem, so start-up can say what is wrong with which variable.

use std::time::Duration;

/// Seconds in a day.
const DAY_SECS: u64 = 24 * 60 * 60;
/// Longest duration accepted: 3650 days (about ten years). Far beyond any sensible TTL, and
/// small enough that adding it to any timestamp of this century stays in range.
pub const MAX_DURATION: Duration = Duration::from_secs(3650 * DAY_SECS);

/// Why a duration setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was given.
    #[error("duration is empty")]
    Empty,
    /// A number without a unit, e.g. `30`.
    #[error("duration needs a unit: s, m, h or d (e.g. 30m)")]
    MissingUnit,
    /// A unit other than `s`, `m`, `h`, `d`, e.g. `30ms` or `5w`.
    #[error("unknown duration unit: use s, m, h or d")]
    UnknownUnit,
    /// The part before the unit is not a whole number, e.g. `1.5h`, `-5m`, `h`.
    #[error("duration must be a whole number followed by a unit (e.g. 30m)")]
    NotANumber,
    /// The number is zero.
    #[error("duration must be greater than zero")]
    Zero,
    /// More than [`MAX_DURATION`].
    #[error("duration is too large (at most 3650d)")]
    TooLarge,
}

/// Parses a duration such as `30s`, `10m`, `12h`, `5d`. Surrounding spaces are ignored.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let unit_start =
        text.char_indices().rev().take_while(|(_, c)| c.is_ascii_alphabetic()).last().map_or(text.len(), |(i, _)| i);
    let (number, unit) = text.split_at(unit_start);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::NotANumber);
    }
    let unit_secs = match unit {
        "" => return Err(DurationError::MissingUnit),
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => DAY_SECS,
        _ => return Err(DurationError::UnknownUnit),
    };
    let count: u64 = number.parse().map_err(|_| DurationError::TooLarge)?;
    if count == 0 {
        return Err(DurationError::Zero);
    }
    let secs = count.checked_mul(unit_secs).ok_or(DurationError::TooLarge)?;
    let duration = Duration::from_secs(secs);
    if duration > MAX_DURATION {
        return Err(DurationError::TooLarge);
    }
    Ok(duration)
}

/// Writes a duration in the largest unit that expresses it exactly: `5d`, `36h`, `90m`, `45s`.
///
/// The inverse of [`parse_duration`] for whole seconds; a sub-second part is dropped, and zero
/// is written `0s`.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (count, unit) = if secs == 0 {
        (0, "s")
    } else if secs.is_multiple_of(DAY_SECS) {
        (secs / DAY_SECS, "d")
    } else if secs.is_multiple_of(3600) {
        (secs / 3600, "h")
    } else if secs.is_multiple_of(60) {
        (secs / 60, "m")
    } else {
        (secs, "s")
    };
    format!("{count}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        let cases = [
            ("30s", 30),
            ("10m", 600),
            ("12h", 43_200),
            ("5d", 432_000),
            ("90d", 7_776_000),
            (" 30m ", 1800),
            ("007s", 7),
            ("3650d", 315_360_000),
        ];
        for (input, secs) in cases {
            assert_eq!(parse_duration(input), Ok(Duration::from_secs(secs)), "input {input:?}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        use DurationError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("30", MissingUnit),
            ("30ms", UnknownUnit),
            ("5w", UnknownUnit),
            ("5D", UnknownUnit),
            ("5days", UnknownUnit),
            ("s", NotANumber),
            ("-5m", NotANumber),
            ("+5m", NotANumber),
            ("1.5h", NotANumber),
            ("1h30m", NotANumber),
            ("30 s", NotANumber),
            ("５m", NotANumber),
            ("0s", Zero),
            ("000d", Zero),
            ("3651d", TooLarge),
            ("99999999999999999999999s", TooLarge),
            ("18446744073709551615d", TooLarge),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), Err(expected), "input {input:?}");
        }
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (90, "90s"),
            (600, "10m"),
            (5400, "90m"),
            (43_200, "12h"),
            (129_600, "36h"),
            (432_000, "5d"),
        ];
        for (secs, expected) in cases {
            assert_eq!(format_duration(Duration::from_secs(secs)), expected);
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s");
    }

    #[test]
    fn format_then_parse_gives_back_the_same_duration() {
        for input in ["30s", "10m", "12h", "5d", "90d", "61s", "25h"] {
            let duration = parse_duration(input).unwrap();
            assert_eq!(format_duration(duration), input);
            assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }
    }
}
