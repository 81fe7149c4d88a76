//! The result of one evaluation, in OpenFeature's vocabulary. Errors are data:
//! an evaluation always produces a [`EvaluationDetail`], never a Rust error.

use alloc::{boxed::Box, string::String};
use core::fmt;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// Why a value was chosen (OpenFeature's resolution reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The flag has no targeting: it always serves the same variation.
    Static,
    /// No target or rule matched; the default rule served a single variation.
    Default,
    /// An individual target or a rule matched and served a single variation.
    TargetingMatch,
    /// A percentage rollout chose the variation.
    Split,
    /// The flag is off, or a prerequisite is not met: the off variation is served.
    Disabled,
    /// Evaluation failed; see the error code. No value is served: the caller's default applies.
    Error,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "STATIC",
            Self::Default => "DEFAULT",
            Self::TargetingMatch => "TARGETING_MATCH",
            Self::Split => "SPLIT",
            Self::Disabled => "DISABLED",
            Self::Error => "ERROR",
        }
    }
}

/// OpenFeature's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    FlagNotFound,
    ParseError,
    TypeMismatch,
    TargetingKeyMissing,
    InvalidContext,
    General,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FlagNotFound => "FLAG_NOT_FOUND",
            Self::ParseError => "PARSE_ERROR",
            Self::TypeMismatch => "TYPE_MISMATCH",
            Self::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            Self::InvalidContext => "INVALID_CONTEXT",
            Self::General => "GENERAL",
        }
    }
}

macro_rules! serialize_as_str {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
serialize_as_str!(Reason, ErrorCode, ValueType);

/// The type every variation of a flag shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    Boolean,
    String,
    Number,
    Object,
}

impl ValueType {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "boolean" => Some(Self::Boolean),
            "string" => Some(Self::String),
            "number" => Some(Self::Number),
            "object" => Some(Self::Object),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Number => "number",
            Self::Object => "object",
        }
    }

    /// Whether `value` is of this type. `object` admits arrays too, as OpenFeature's
    /// structure type does.
    pub fn admits(self, value: &Value) -> bool {
        match self {
            Self::Boolean => value.is_boolean(),
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
            Self::Object => value.is_object() || value.is_array(),
        }
    }
}

/// An evaluation error: a code for programs, a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationError {
    pub code: ErrorCode,
    pub message: String,
}

/// Everything one evaluation decided. Borrowed from the snapshot, so producing it
/// copies nothing on the success path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationDetail<'a> {
    /// The served value; `None` when the reason is `ERROR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<&'a Value>,
    /// The key of the served variation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'a str>,
    pub reason: Reason,
    #[serde(
        skip_serializing_if = "Option::is_none",
        rename = "errorCode",
        serialize_with = "code_only"
    )]
    pub error: Option<Box<EvaluationError>>,
    /// Index of the matched rule in the flag's `rules`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_index: Option<usize>,
    /// Id of the matched rule, when the rule has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<&'a str>,
    /// The prerequisite whose failure turned this flag off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_prerequisite: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag_version: Option<u64>,
    #[serde(skip)]
    pub(crate) variation_index: Option<u32>,
}

fn code_only<S: Serializer>(error: &Option<Box<EvaluationError>>, s: S) -> Result<S::Ok, S::Error> {
    match error {
        Some(e) => e.code.serialize(s),
        None => s.serialize_none(),
    }
}

impl<'a> EvaluationDetail<'a> {
    pub(crate) fn error(code: ErrorCode, message: String, flag_version: Option<u64>) -> Self {
        Self {
            value: None,
            variant: None,
            reason: Reason::Error,
            error: Some(Box::new(EvaluationError { code, message })),
            rule_index: None,
            rule_id: None,
            failed_prerequisite: None,
            flag_version,
            variation_index: None,
        }
    }

    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }

    pub fn error_code(&self) -> Option<ErrorCode> {
        self.error.as_ref().map(|e| e.code)
    }

    pub fn error_message(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.message.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_match_openfeature() {
        assert_eq!(Reason::TargetingMatch.as_str(), "TARGETING_MATCH");
        assert_eq!(
            ErrorCode::TargetingKeyMissing.as_str(),
            "TARGETING_KEY_MISSING"
        );
        assert_eq!(ValueType::parse("object"), Some(ValueType::Object));
        assert_eq!(ValueType::parse("json"), None);
    }

    #[test]
    fn object_type_admits_arrays_but_not_scalars() {
        assert!(ValueType::Object.admits(&json!([1])));
        assert!(!ValueType::Object.admits(&json!("x")));
        assert!(ValueType::Number.admits(&json!(1.5)));
    }

    #[test]
    fn error_details_serialize_the_code_only() {
        let d = EvaluationDetail::error(ErrorCode::FlagNotFound, "nope".into(), None);
        let out = serde_json::to_value(&d).unwrap();
        assert_eq!(
            out,
            json!({"reason": "ERROR", "errorCode": "FLAG_NOT_FOUND"})
        );
    }
}
