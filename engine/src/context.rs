//! The evaluation context: OpenFeature's `targetingKey` plus free-form attributes.

use alloc::string::{String, ToString};
use serde_json::{Map, Value};

use crate::attribute::TARGETING_KEY;

/// Why a context was refused. Hosts map these to OpenFeature's `INVALID_CONTEXT`
/// or `PARSE_ERROR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("context is not valid JSON: {0}")]
    Json(String),
    #[error("context must be a JSON object, found {0}")]
    NotAnObject(&'static str),
    #[error("context `targetingKey` must be a string, found {0}")]
    TargetingKeyNotString(&'static str),
}

impl ContextError {
    /// The OpenFeature error code a host should report for this error.
    pub fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Json(_) => crate::ErrorCode::ParseError,
            _ => crate::ErrorCode::InvalidContext,
        }
    }
}

/// A validated evaluation context. Construction checks its shape once, so
/// evaluation never has to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    attributes: Map<String, Value>,
}

impl Context {
    /// An empty context (no targeting key).
    pub fn new() -> Self {
        Self::default()
    }

    /// A context holding only a targeting key.
    pub fn with_targeting_key(key: &str) -> Self {
        let mut attributes = Map::new();
        attributes.insert(TARGETING_KEY.to_string(), Value::String(key.to_string()));
        Self { attributes }
    }

    /// Adds or replaces one attribute. Setting `targetingKey` to a non-string is refused.
    pub fn set(&mut self, name: &str, value: Value) -> Result<(), ContextError> {
        if name == TARGETING_KEY && !value.is_string() {
            return Err(ContextError::TargetingKeyNotString(type_name(&value)));
        }
        self.attributes.insert(name.to_string(), value);
        Ok(())
    }

    pub fn from_value(value: Value) -> Result<Self, ContextError> {
        match value {
            Value::Object(attributes) => Self::from_map(attributes),
            other => Err(ContextError::NotAnObject(type_name(&other))),
        }
    }

    pub fn from_map(attributes: Map<String, Value>) -> Result<Self, ContextError> {
        if let Some(key) = attributes.get(TARGETING_KEY)
            && !key.is_string()
        {
            return Err(ContextError::TargetingKeyNotString(type_name(key)));
        }
        Ok(Self { attributes })
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, ContextError> {
        let text = crate::error::json_text(bytes).map_err(ContextError::Json)?;
        let value =
            crate::reader::document(text, crate::reader::value).map_err(ContextError::Json)?;
        Self::from_value(value)
    }

    pub fn targeting_key(&self) -> Option<&str> {
        self.attributes.get(TARGETING_KEY).and_then(Value::as_str)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.attributes.get(name)
    }

    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }
}

/// The JSON type of a value, as error messages name it.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_non_objects_and_non_string_keys() {
        assert_eq!(
            Context::from_value(json!([1])),
            Err(ContextError::NotAnObject("array"))
        );
        assert_eq!(
            Context::from_value(json!({"targetingKey": 7})),
            Err(ContextError::TargetingKeyNotString("number"))
        );
        assert!(matches!(
            Context::from_json(b"{"),
            Err(ContextError::Json(_))
        ));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_with_their_offset() {
        assert_eq!(
            Context::from_json(b"{\"plan\":\"pr\xffo\"}"),
            Err(ContextError::Json(
                "not valid UTF-8 (first invalid byte at offset 11)".into()
            ))
        );
    }

    #[test]
    fn reads_the_targeting_key() {
        let ctx = Context::from_json(br#"{"targetingKey":"u1","plan":"pro"}"#).unwrap();
        assert_eq!(ctx.targeting_key(), Some("u1"));
        assert_eq!(ctx.get("plan"), Some(&json!("pro")));
        assert_eq!(Context::new().targeting_key(), None);
    }

    #[test]
    fn set_guards_the_targeting_key_type() {
        let mut ctx = Context::with_targeting_key("a");
        assert!(ctx.set(TARGETING_KEY, json!(1)).is_err());
        ctx.set("age", json!(3)).unwrap();
        assert_eq!(ctx.get("age"), Some(&json!(3)));
    }
}
