//! What an evaluation answers, owned: the engine's [`EvaluationDetail`] borrows from
//! the snapshot, which the refresh task may replace at any moment, so the client copies
//! the few strings out. The value-only getters skip even that.

use edgeflag_engine::{ErrorCode, EvaluationDetail, Reason};
use serde::Serialize;
use serde_json::Value;

/// One evaluation with everything the engine decided. For the typed getters `value`
/// is always set (the caller's default when the reason is `ERROR`); for the untyped
/// [`Evaluation`] it is `None` on `ERROR`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details<T> {
    pub flag_key: String,
    pub value: T,
    /// The key of the served variation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Index of the matched rule in the flag's `rules`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// The prerequisite whose failure turned this flag off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_prerequisite: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag_version: Option<u64>,
}

/// The engine's answer as is: no default applied, `value` is `None` on `ERROR`.
pub type Evaluation = Details<Option<Value>>;

impl<T> Details<T> {
    /// True when the reason is `ERROR` (and `value` is the default).
    pub fn is_error(&self) -> bool {
        self.error_code.is_some()
    }

    fn with<U>(self, value: U) -> Details<U> {
        Details {
            flag_key: self.flag_key,
            value,
            variant: self.variant,
            reason: self.reason,
            error_code: self.error_code,
            error_message: self.error_message,
            rule_index: self.rule_index,
            rule_id: self.rule_id,
            failed_prerequisite: self.failed_prerequisite,
            flag_version: self.flag_version,
        }
    }
}

impl Evaluation {
    /// Copies the engine's answer out of the snapshot.
    pub fn from_detail(flag_key: &str, detail: &EvaluationDetail<'_>) -> Self {
        Self {
            flag_key: flag_key.to_string(),
            value: detail.value.cloned(),
            variant: detail.variant.map(str::to_string),
            reason: detail.reason,
            error_code: detail.error_code(),
            error_message: detail.error_message().map(str::to_string),
            rule_index: detail.rule_index,
            rule_id: detail.rule_id.map(str::to_string),
            failed_prerequisite: detail.failed_prerequisite.map(str::to_string),
            flag_version: detail.flag_version,
        }
    }

    /// The engine's answer with the caller's default applied, read straight from the
    /// borrowed detail (no copy of the value): `convert` reads the value, whose JSON type
    /// the engine already checked; when it cannot, the answer becomes `TYPE_MISMATCH`.
    pub(crate) fn typed_from<T>(
        flag_key: &str,
        detail: &EvaluationDetail<'_>,
        default: T,
        convert: impl FnOnce(&Value) -> Option<T>,
    ) -> Details<T> {
        let converted = if detail.is_error() {
            None
        } else {
            detail.value.and_then(convert)
        };
        match converted {
            Some(value) => Details {
                flag_key: flag_key.to_string(),
                value,
                variant: detail.variant.map(str::to_string),
                reason: detail.reason,
                error_code: None,
                error_message: None,
                rule_index: detail.rule_index,
                rule_id: detail.rule_id.map(str::to_string),
                failed_prerequisite: detail.failed_prerequisite.map(str::to_string),
                flag_version: detail.flag_version,
            },
            None => Evaluation::from_detail(flag_key, detail).typed(default, |_| None),
        }
    }

    /// Applies the caller's default: `convert` reads the value (the engine already
    /// checked its type); when it cannot, the answer becomes `TYPE_MISMATCH`.
    pub(crate) fn typed<T>(
        self,
        default: T,
        convert: impl FnOnce(Value) -> Option<T>,
    ) -> Details<T> {
        if self.is_error() {
            return self.with(default);
        }
        let mut details = self;
        match details.value.take().and_then(convert) {
            Some(value) => details.with(value),
            None => {
                let message = format!(
                    "flag `{}` does not hold a value of the requested type",
                    details.flag_key
                );
                let mut out = details.with(default);
                out.reason = Reason::Error;
                out.error_code = Some(ErrorCode::TypeMismatch);
                out.error_message = Some(message);
                out.variant = None;
                out.rule_index = None;
                out.rule_id = None;
                out
            }
        }
    }
}

/// A JSON number as an `i64`, if it is a whole number in range (`3.0` counts): what the
/// integer getters (and OpenFeature's integer resolution) accept from a number flag.
pub fn as_int(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        let f = value.as_f64()?;
        // Whole and inside i64's range: the cast below is then exact.
        let in_range =
            f.fract() == 0.0 && (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&f);
        #[allow(clippy::cast_possible_truncation)]
        in_range.then_some(f as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(value: Value) -> Evaluation {
        Evaluation {
            flag_key: "f".into(),
            value: Some(value),
            variant: Some("v".into()),
            reason: Reason::TargetingMatch,
            error_code: None,
            error_message: None,
            rule_index: Some(0),
            rule_id: Some("r".into()),
            failed_prerequisite: None,
            flag_version: Some(2),
        }
    }

    #[test]
    fn typed_keeps_the_detail_or_reports_a_mismatch() {
        let d = ok(json!(3.0)).typed(7, |v| as_int(&v));
        assert_eq!(
            (d.value, d.variant.as_deref(), d.reason),
            (3, Some("v"), Reason::TargetingMatch)
        );
        let d = ok(json!(3.5)).typed(7, |v| as_int(&v));
        assert_eq!(
            (d.value, d.error_code, d.reason),
            (7, Some(ErrorCode::TypeMismatch), Reason::Error)
        );
        assert_eq!(d.flag_version, Some(2));
        assert!(d.variant.is_none());
    }

    #[test]
    fn whole_numbers_only() {
        assert_eq!(as_int(&json!(-4)), Some(-4));
        assert_eq!(as_int(&json!(1e300)), None);
        assert_eq!(as_int(&json!("4")), None);
    }
}
