//! Go-style durations (`1h`, `15m`, `1h30m`, `90s`, `1.5h`), as ESC's
//! `duration` inputs are written.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration; write e.g. \"1h\", \"15m\" or \"1h30m\"")]
    Empty,
    #[error("negative duration \"{0}\"")]
    Negative(String),
    #[error("invalid duration \"{0}\": expected numbers with units h, m, s, ms, us or ns, e.g. \"1h30m\"")]
    Syntax(String),
    #[error("missing unit in duration \"{0}\": write e.g. \"{0}s\" or \"{0}m\"")]
    MissingUnit(String),
    #[error("unknown unit \"{unit}\" in duration \"{text}\": use h, m, s, ms, us or ns")]
    UnknownUnit { unit: String, text: String },
    #[error("duration \"{0}\" is too large")]
    Overflow(String),
}

/// Parses a duration the way Go's `time.ParseDuration` does, minus negative
/// values (nothing escsh feeds them to accepts one).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let s = match s.strip_prefix('-') {
        Some(rest) if parse_unsigned(rest, text).is_ok_and(|d| !d.is_zero()) => {
            return Err(DurationError::Negative(text.to_string()))
        }
        Some(rest) => rest,
        None => s.strip_prefix('+').unwrap_or(s),
    };
    // Go accepts a bare "0" without a unit.
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    parse_unsigned(s, text)
}

fn parse_unsigned(mut s: &str, text: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax(text.to_string());
    if s.is_empty() {
        return Err(syntax());
    }
    let mut total_nanos: u128 = 0;
    while !s.is_empty() {
        let number_len = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, rest) = s.split_at(number_len);
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (unit, rest) = rest.split_at(unit_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(syntax());
        }
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(text.to_string()));
        }
        let unit_nanos = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_string(),
            text: text.to_string(),
        })?;
        total_nanos = total_nanos
            .checked_add(scaled(number, unit_nanos).ok_or_else(|| overflow(text))?)
            .ok_or_else(|| overflow(text))?;
        s = rest;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| overflow(text))?;
    Ok(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

fn overflow(text: &str) -> DurationError {
    DurationError::Overflow(text.to_string())
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

/// `number` (digits with at most one '.') times `unit` nanoseconds, in
/// integer arithmetic so "1.1h" is exact; fraction digits beyond nanosecond
/// precision are dropped, as Go does.
fn scaled(number: &str, unit: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole.checked_mul(unit)?;
    let mut scale = unit;
    for digit in fraction.bytes().take(30) {
        scale /= 10;
        nanos = nanos.checked_add(u128::from(digit - b'0') * scale)?;
    }
    Some(nanos)
}

/// Renders a duration in Go's style (`1h0m0s`, `15m0s`, `1h30m0s`), for
/// messages that echo a limit back to the user.
pub struct GoStyle(pub Duration);

impl fmt::Display for GoStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h{m}m{s}s")
        } else if m > 0 {
            write!(f, "{m}m{s}s")
        } else {
            write!(f, "{s}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> u64 {
        parse(text).unwrap().as_secs()
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(secs("1h"), 3600);
        assert_eq!(secs("15m"), 900);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("1.5h"), 5400);
        assert_eq!(secs("2h45m30s"), 9930);
        assert_eq!(secs("0"), 0);
        assert_eq!(secs("+1h"), 3600);
        assert_eq!(secs(" 1h "), 3600);
        assert_eq!(parse("1500ms").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("1µs").unwrap(), Duration::from_micros(1));
        assert_eq!(parse(".5s").unwrap(), Duration::from_millis(500));
    }

    #[test]
    fn rejects_bad_durations() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert!(matches!(parse("-1h"), Err(DurationError::Negative(_))));
        assert!(matches!(parse("60"), Err(DurationError::MissingUnit(_))));
        assert!(matches!(
            parse("1d"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(parse("h"), Err(DurationError::Syntax(_))));
        assert!(matches!(parse("1..5h"), Err(DurationError::Syntax(_))));
        assert!(matches!(
            parse("1h 30m"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse("99999999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
        let message = parse("1d").unwrap_err().to_string();
        assert!(
            message.contains("\"d\"") && message.contains("h, m, s"),
            "{message}"
        );
    }

    #[test]
    fn renders_go_style() {
        assert_eq!(GoStyle(Duration::from_secs(3600)).to_string(), "1h0m0s");
        assert_eq!(GoStyle(Duration::from_secs(900)).to_string(), "15m0s");
        assert_eq!(GoStyle(Duration::from_secs(43200)).to_string(), "12h0m0s");
        assert_eq!(GoStyle(Duration::from_secs(5)).to_string(), "5s");
    }
}
