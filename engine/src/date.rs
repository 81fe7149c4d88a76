//! Dates for `before` / `after`: RFC 3339 strings or epoch seconds, as epoch milliseconds.

use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Epoch milliseconds of an RFC 3339 date-time string or a number of epoch seconds
/// (fractions allowed). `None` for anything else, or for numbers beyond ±10^14 s.
pub(crate) fn parse(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => parse_rfc3339(text),
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            if !seconds.is_finite() || seconds.abs() > 1e14 {
                return None;
            }
            // Round half away from zero; `f64::round` is not in `core`.
            let ms = seconds * 1000.0;
            Some(if ms >= 0.0 {
                (ms + 0.5) as i64
            } else {
                (ms - 0.5) as i64
            })
        }
        _ => None,
    }
}

/// Epoch milliseconds of an RFC 3339 date-time string.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
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
    use serde_json::json;

    #[test]
    fn parses_rfc3339_with_offsets_and_fractions() {
        assert_eq!(parse(&json!("1970-01-01T00:00:01Z")), Some(1000));
        assert_eq!(parse(&json!("1970-01-01T01:00:01+01:00")), Some(1000));
        assert_eq!(
            parse(&json!("2026-11-25T12:00:00.250Z")),
            Some(1_795_608_000_250)
        );
        assert_eq!(parse(&json!("2026-11-25")), None);
        assert_eq!(parse(&json!("yesterday")), None);
    }

    #[test]
    fn numbers_are_epoch_seconds() {
        assert_eq!(parse(&json!(1.5)), Some(1500));
        assert_eq!(parse(&json!(-2)), Some(-2000));
        assert_eq!(parse(&json!(1e300)), None);
        assert_eq!(parse(&json!(true)), None);
    }

    #[test]
    fn now_round_trips_through_seconds() {
        assert_eq!(
            parse(&now_value(1_764_072_000_123)),
            Some(1_764_072_000_123)
        );
    }
}
