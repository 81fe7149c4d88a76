//! Dates for `before` / `after`: RFC 3339 strings or epoch seconds, as epoch
//! milliseconds.
//!
//! Both forms are brought to whole milliseconds by one rule, rounding to the
//! nearest and halves upward (towards the later instant), so that a string and a
//! number naming the same instant are equal (docs/snapshot-format.md, "Dates").
//! The parser is written out here rather than taken from a date crate, because the
//! grammar it accepts is part of the specification: RFC 3339's `date-time`,
//! without leap seconds.

use serde_json::Value;

/// The largest magnitude of epoch seconds a number may have to be a date: beyond
/// it, milliseconds would no longer be exact in a double.
pub(crate) const MAX_EPOCH_SECONDS: f64 = 1e14;

/// Epoch milliseconds of an RFC 3339 date-time string or a number of epoch seconds
/// (fractions allowed). `None` for anything else, or for numbers beyond ±10^14 s.
pub(crate) fn parse(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => parse_rfc3339(text),
        Value::Number(n) => seconds_to_ms(n.as_f64()?),
        _ => None,
    }
}

/// Epoch milliseconds of a number of epoch seconds: `seconds × 1000` as a double,
/// rounded to the nearest whole number, halves upward (JavaScript's
/// `Math.round(seconds * 1000)`).
pub(crate) fn seconds_to_ms(seconds: f64) -> Option<i64> {
    if !seconds.is_finite() || seconds.abs() > MAX_EPOCH_SECONDS {
        return None;
    }
    Some(round_half_up(seconds * 1000.0))
}

/// The nearest whole number to `v`, halves upward. `v` must be within ±2^63;
/// `f64::floor` and `f64::round` are not in `core`.
fn round_half_up(v: f64) -> i64 {
    let truncated = v as i64;
    let floor = if (truncated as f64) > v {
        truncated - 1
    } else {
        truncated
    };
    // Exact: for |v| < 2^52 both are doubles of one binade's spacing or finer, and
    // beyond it `v` has no fraction.
    if v - floor as f64 >= 0.5 {
        floor + 1
    } else {
        floor
    }
}

/// Epoch milliseconds of an RFC 3339 date-time:
///
/// ```text
/// date-time = YYYY "-" MM "-" DD ("T" / "t") hh ":" mm ":" ss ["." 1*DIGIT]
///             ("Z" / "z" / ("+" / "-") hh ":" mm)
/// ```
///
/// with a real calendar day, hours 00–23, minutes and seconds 00–59 (no leap
/// second) and offsets up to 23:59. Digits are ASCII. A fraction is rounded to
/// milliseconds, halves upward.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let (date, rest) = b.split_at_checked(10)?;
    let (year, month, day) = full_date(date)?;
    let (&sep, rest) = rest.split_first()?;
    if sep != b'T' && sep != b't' {
        return None;
    }
    let (time, rest) = rest.split_at_checked(8)?;
    let seconds_of_day = full_time(time)?;
    let (fraction_ms, rest) = fraction(rest)?;
    let offset_seconds = offset(rest)?;
    let seconds = days_from_civil(year, month, day) * 86_400 + seconds_of_day - offset_seconds;
    Some(seconds * 1000 + fraction_ms)
}

/// `YYYY-MM-DD` as a real day of the proleptic Gregorian calendar.
fn full_date(b: &[u8]) -> Option<(i64, i64, i64)> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *b else {
        return None;
    };
    let year = digits(&[y0, y1, y2, y3])?;
    let month = digits(&[m0, m1])?;
    let day = digits(&[d0, d1])?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month)
        .contains(&day)
        .then_some((year, month, day))
}

/// `hh:mm:ss` as seconds of the day; second 60 (a leap second) is refused.
fn full_time(b: &[u8]) -> Option<i64> {
    let [h0, h1, b':', m0, m1, b':', s0, s1] = *b else {
        return None;
    };
    let (hour, minute, second) = (digits(&[h0, h1])?, digits(&[m0, m1])?, digits(&[s0, s1])?);
    (hour < 24 && minute < 60 && second < 60).then_some(hour * 3600 + minute * 60 + second)
}

/// An optional `.` and one or more digits, as milliseconds rounded half up (so
/// `.9996` is 1000), and what follows it.
fn fraction(b: &[u8]) -> Option<(i64, &[u8])> {
    let Some(rest) = b.strip_prefix(b".") else {
        return Some((0, b));
    };
    let len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let (frac, rest) = rest.split_at(len);
    let mut ms = 0;
    for i in 0..3 {
        ms = ms * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    // The rest of the fraction is at least half a millisecond exactly when its
    // first digit is 5 or more.
    if frac.get(3).is_some_and(|d| *d >= b'5') {
        ms += 1;
    }
    Some((ms, rest))
}

/// `Z`, `z` or `±hh:mm`, as seconds east of UTC; nothing may follow.
fn offset(b: &[u8]) -> Option<i64> {
    match *b {
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), h0, h1, b':', m0, m1] => {
            let (hours, minutes) = (digits(&[h0, h1])?, digits(&[m0, m1])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            Some(if sign == b'-' { -seconds } else { seconds })
        }
        _ => None,
    }
}

/// ASCII decimal digits as a number.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
    })
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The evaluation time. The JSON number `$now` resolves to is made only when a
/// condition or a rollout reads `$now`, which most evaluations never do.
#[derive(Debug)]
pub(crate) struct Now {
    ms: i64,
    value: core::cell::OnceCell<Value>,
}

impl Now {
    pub(crate) fn new(ms: i64) -> Self {
        Self {
            ms,
            value: core::cell::OnceCell::new(),
        }
    }

    /// `$now`: epoch seconds, as a JSON number.
    pub(crate) fn value(&self) -> &Value {
        self.value.get_or_init(|| now_value(self.ms))
    }
}

/// The evaluation time as the JSON number `$now` resolves to: epoch seconds.
pub(crate) fn now_value(now_ms: i64) -> Value {
    serde_json::Number::from_f64(now_ms as f64 / 1000.0).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use serde_json::json;

    #[test]
    fn parses_rfc3339_with_offsets_and_fractions() {
        assert_eq!(parse(&json!("1970-01-01T00:00:01Z")), Some(1000));
        assert_eq!(parse(&json!("1970-01-01T01:00:01+01:00")), Some(1000));
        assert_eq!(parse(&json!("1970-01-01t00:00:01z")), Some(1000));
        assert_eq!(parse(&json!("1970-01-01T00:00:01-00:00")), Some(1000));
        assert_eq!(
            parse(&json!("2026-11-25T12:00:00.250Z")),
            Some(1_795_608_000_250)
        );
        assert_eq!(parse(&json!("2026-11-25")), None);
        assert_eq!(parse(&json!("yesterday")), None);
    }

    #[test]
    fn the_calendar_is_real_and_proleptic() {
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_rfc3339("2026-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("1900-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(parse_rfc3339("2026-04-31T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-00-01T00:00:00Z"), None);
        assert_eq!(
            parse_rfc3339("0000-01-01T00:00:00Z"),
            Some(-62_167_219_200_000)
        );
        assert_eq!(
            parse_rfc3339("9999-12-31T23:59:59.999Z"),
            Some(253_402_300_799_999)
        );
        assert_eq!(
            parse_rfc3339("1969-12-31T23:59:59Z"),
            Some(-1000),
            "before the epoch"
        );
    }

    #[test]
    fn anything_outside_the_grammar_is_refused() {
        for text in [
            "2026-12-01 00:00:00Z", // a space for the T
            "2026-12-31T23:59:60Z", // a leap second
            "2026-12-01T24:00:00Z", // hour 24
            "2026-12-01T00:60:00Z", // minute 60
            "2026-12-01T00:00:00",  // no offset
            "2026-12-01T00:00:00+24:00",
            "2026-12-01T00:00:00+01:60",
            "2026-12-01T00:00:00+0100",
            "2026-12-01T00:00:00.Z", // a dot without digits
            "2026-12-01T00:00:00Z ", // anything after the offset
            "+2026-12-01T00:00:00Z",
            "26-12-01T00:00:00Z",
            "2026-1-01T00:00:00Z",
            "2026-12-01T0:00:00Z",
            "２026-12-01T00:00:00Z", // a non-ASCII digit
            "",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn fractions_round_to_milliseconds_halves_up() {
        let at = |f: &str| parse_rfc3339(&format!("1970-01-01T00:00:00{f}Z"));
        assert_eq!(at(".0009"), Some(1));
        assert_eq!(at(".0005"), Some(1));
        assert_eq!(at(".00049999999"), Some(0));
        assert_eq!(at(".5"), Some(500));
        assert_eq!(at(".12"), Some(120));
        assert_eq!(at(".9996"), Some(1000));
        assert_eq!(
            parse_rfc3339("1969-12-31T23:59:59.9995Z"),
            Some(0),
            "halves go up before the epoch too"
        );
        assert_eq!(
            parse_rfc3339("2026-12-31T23:59:59.9999999Z"),
            parse_rfc3339("2027-01-01T00:00:00Z")
        );
    }

    #[test]
    fn numbers_are_epoch_seconds_rounded_like_strings() {
        assert_eq!(parse(&json!(1.5)), Some(1500));
        assert_eq!(parse(&json!(-2)), Some(-2000));
        assert_eq!(parse(&json!(0.0009)), Some(1));
        assert_eq!(parse(&json!(0.0005)), Some(1));
        assert_eq!(
            parse(&json!(-0.0005)),
            Some(0),
            "halves go up, not away from zero"
        );
        assert_eq!(parse(&json!(-0.0015)), Some(-1));
        assert_eq!(parse(&json!(1.001)), Some(1001));
        assert_eq!(parse(&json!(1e14)), Some(100_000_000_000_000_000));
        assert_eq!(parse(&json!(-1e14)), Some(-100_000_000_000_000_000));
        assert_eq!(parse(&json!(100_000_000_000_000.02)), None);
        assert_eq!(parse(&json!(1e300)), None);
        assert_eq!(parse(&json!(true)), None);
    }

    #[test]
    fn a_string_and_a_number_naming_one_instant_are_equal() {
        assert_eq!(
            parse(&json!("1970-01-01T00:00:00.0009Z")),
            parse(&json!(0.0009))
        );
        assert_eq!(
            parse(&json!("2026-11-25T12:00:00.0005Z")),
            parse(&json!(1_795_608_000.000_5))
        );
    }

    #[test]
    fn rounding_matches_javascripts_math_round() {
        // Math.round(x) is the nearest integer, halves towards +∞.
        for (v, want) in [
            (0.5, 1),
            (-0.5, 0),
            (1.5, 2),
            (-1.5, -1),
            (0.499_999_999_999_999_94, 0),
            (-0.499_999_999_999_999_94, 0),
            (4_503_599_627_370_495.5, 4_503_599_627_370_496),
            (1e17, 100_000_000_000_000_000),
        ] {
            assert_eq!(round_half_up(v), want, "{v}");
        }
    }

    #[test]
    fn now_round_trips_through_seconds() {
        assert_eq!(
            parse(&now_value(1_764_072_000_123)),
            Some(1_764_072_000_123)
        );
    }
}
