//! Conversions between the engine's types and the WIT types. Values cross as typed
//! scalars, or as JSON text for arrays and objects (WIT types cannot be recursive).

use edgeflag_engine::{
    Context, ContextError, ErrorCode as EngineCode, EvaluationDetail, ItemKind,
    LoadError as EngineLoadError, Reason as EngineReason, TARGETING_KEY,
};
use serde_json::{Map, Number, Value as Json};

use crate::bindings::exports::edgeflag::engine::types::{
    Attribute, Context as WitContext, ErrorCode, Evaluation, EvaluationError, ItemKind as WitKind,
    LoadError, LoadErrorKind, Reason, Value, Warning,
};

/// A JSON value as a WIT value.
pub fn value_to_wit(value: &Json) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            // A u64 above i64::MAX keeps its exact digits as JSON text.
            None if n.is_u64() => Value::Json(n.to_string()),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Json(other.to_string()),
    }
}

/// A WIT value as JSON. JSON text that does not parse, or a float that is not
/// finite, is an invalid context (JSON has no such values).
pub fn value_from_wit(value: Value) -> Result<Json, ContextError> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Integer(i) => Json::from(i),
        Value::Float(f) => Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| ContextError::Json("a number must be finite".to_string()))?,
        Value::Text(s) => Json::String(s),
        Value::Json(text) => {
            serde_json::from_str(&text).map_err(|e| ContextError::Json(e.to_string()))?
        }
    })
}

pub fn context_to_wit(ctx: &Context) -> WitContext {
    WitContext {
        targeting_key: ctx.targeting_key().map(str::to_string),
        attributes: ctx
            .attributes()
            .iter()
            .filter(|(name, _)| name.as_str() != TARGETING_KEY)
            .map(|(name, value)| Attribute {
                name: name.clone(),
                value: value_to_wit(value),
            })
            .collect(),
    }
}

/// Builds the engine's context, with the same checks as [`Context::from_map`].
pub fn context_from_wit(ctx: WitContext) -> Result<Context, ContextError> {
    let mut map = Map::new();
    for attribute in ctx.attributes {
        map.insert(attribute.name, value_from_wit(attribute.value)?);
    }
    if let Some(key) = ctx.targeting_key {
        map.insert(TARGETING_KEY.to_string(), Json::String(key));
    }
    Context::from_map(map)
}

pub fn context_error(error: &ContextError) -> EvaluationError {
    EvaluationError {
        code: code(error.code()),
        message: error.to_string(),
    }
}

/// The answer to a refused context: `ERROR` with the refusal's code.
pub fn refused(error: &ContextError) -> Evaluation {
    Evaluation {
        value: None,
        variant: None,
        reason: Reason::Error,
        error: Some(context_error(error)),
        rule_index: None,
        rule_id: None,
        failed_prerequisite: None,
        flag_version: None,
    }
}

pub fn evaluation(detail: &EvaluationDetail<'_>) -> Evaluation {
    Evaluation {
        value: detail.value.map(value_to_wit),
        variant: detail.variant.map(str::to_string),
        reason: reason(detail.reason),
        error: detail.error.as_ref().map(|e| EvaluationError {
            code: code(e.code),
            message: e.message.clone(),
        }),
        rule_index: detail
            .rule_index
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX)),
        rule_id: detail.rule_id.map(str::to_string),
        failed_prerequisite: detail.failed_prerequisite.map(str::to_string),
        flag_version: detail.flag_version,
    }
}

fn reason(reason: EngineReason) -> Reason {
    match reason {
        EngineReason::Static => Reason::Static,
        EngineReason::Default => Reason::Default,
        EngineReason::TargetingMatch => Reason::TargetingMatch,
        EngineReason::Split => Reason::Split,
        EngineReason::Disabled => Reason::Disabled,
        EngineReason::Error => Reason::Error,
    }
}

fn code(code: EngineCode) -> ErrorCode {
    match code {
        EngineCode::FlagNotFound => ErrorCode::FlagNotFound,
        EngineCode::ParseError => ErrorCode::ParseError,
        EngineCode::TypeMismatch => ErrorCode::TypeMismatch,
        EngineCode::TargetingKeyMissing => ErrorCode::TargetingKeyMissing,
        EngineCode::InvalidContext => ErrorCode::InvalidContext,
        EngineCode::General => ErrorCode::General,
    }
}

pub fn warning(warning: &edgeflag_engine::Warning) -> Warning {
    Warning {
        kind: match warning.kind {
            ItemKind::Flag => WitKind::Flag,
            ItemKind::Segment => WitKind::Segment,
            ItemKind::Snapshot => WitKind::Snapshot,
        },
        key: warning.key.clone(),
        path: warning.path.clone(),
        message: warning.message.clone(),
    }
}

pub fn load_error(error: &EngineLoadError) -> LoadError {
    let kind = match error {
        EngineLoadError::TooLarge { .. } => LoadErrorKind::TooLarge,
        EngineLoadError::Json { .. } => LoadErrorKind::Json,
        EngineLoadError::NotUtf8 { .. } => LoadErrorKind::NotUtf8,
        EngineLoadError::UnsupportedSchema { .. } => LoadErrorKind::UnsupportedSchema,
        EngineLoadError::TooMany { .. } => LoadErrorKind::TooMany,
        EngineLoadError::Invalid { .. } => LoadErrorKind::Invalid,
    };
    LoadError {
        kind,
        message: error.to_string(),
    }
}
