//! An OpenFeature provider for the `open-feature` crate: the same local evaluation
//! behind OpenFeature's API.
//!
//! ```no_run
//! use edgeflag::{Client, openfeature::EdgeflagProvider};
//! use open_feature::{EvaluationContext, OpenFeature};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .url("https://flags.example.com")
//!     .server_key(std::env::var("EDGEFLAG_SERVER_KEY")?)
//!     .build()
//!     .await?;
//! let mut api = OpenFeature::singleton_mut().await;
//! api.set_provider(EdgeflagProvider::new(client)).await;
//! let flags = api.create_client();
//! drop(api);
//!
//! let ctx = EvaluationContext::default()
//!     .with_targeting_key("user-2")
//!     .with_custom_field("email", "ada@example.com");
//! let on = flags.get_bool_value("new-checkout", Some(&ctx), None).await.unwrap_or(false);
//! # Ok(())
//! # }
//! ```
//!
//! Context fields map to attributes as they are; `DateTime` fields become RFC 3339
//! strings (which date operators read). `Struct` fields are opaque in that crate
//! (`Arc<dyn Any>`), so they are passed only when they hold a `serde_json::Value`.
//! Object values become `StructValue`s; JSON `null`s inside them are left out, since
//! OpenFeature's values have no null. Engine errors become `EvaluationError`s with the
//! matching code, as the OpenFeature client expects of a provider.

use async_trait::async_trait;
use edgeflag_engine::{Context, ErrorCode, Reason, ValueType};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationError, EvaluationErrorCode,
    EvaluationReason, EvaluationResult, FlagMetadata, StructValue, Value as OfValue,
    provider::{FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails},
};
use serde_json::{Map, Value};

use crate::{Client, Evaluation, details::as_int};

/// The provider. Build the [`Client`] first (it has a verified snapshot once built),
/// so the provider is ready from the start.
#[derive(Debug)]
pub struct EdgeflagProvider {
    client: Client,
    metadata: ProviderMetadata,
}

impl EdgeflagProvider {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            metadata: ProviderMetadata::new("edgeflag"),
        }
    }

    /// The client behind the provider, for its events and listing.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn resolve<T>(
        &self,
        flag: &str,
        value_type: ValueType,
        ctx: &EvaluationContext,
        convert: impl FnOnce(Value) -> Option<T>,
    ) -> EvaluationResult<ResolutionDetails<T>> {
        let context = context(ctx)?;
        let evaluation = self.client.evaluate_as(flag, value_type, &context);
        resolution(evaluation, convert)
    }
}

#[async_trait]
impl FeatureProvider for EdgeflagProvider {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    fn status(&self) -> ProviderStatus {
        if self.client.is_closed() {
            ProviderStatus::STALE
        } else {
            ProviderStatus::Ready
        }
    }

    async fn resolve_bool_value(
        &self,
        flag: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        self.resolve(flag, ValueType::Boolean, ctx, |v| v.as_bool())
    }

    async fn resolve_int_value(
        &self,
        flag: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        self.resolve(flag, ValueType::Number, ctx, |v| as_int(&v))
    }

    async fn resolve_float_value(
        &self,
        flag: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.resolve(flag, ValueType::Number, ctx, |v| v.as_f64())
    }

    async fn resolve_string_value(
        &self,
        flag: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        self.resolve(flag, ValueType::String, ctx, |v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    async fn resolve_struct_value(
        &self,
        flag: &str,
        ctx: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        self.resolve(flag, ValueType::Object, ctx, |v| match v {
            Value::Object(map) => Some(structure(map)),
            _ => None,
        })
    }
}

/// OpenFeature's context as the engine's.
fn context(ctx: &EvaluationContext) -> EvaluationResult<Context> {
    let mut attributes = Map::new();
    for (name, field) in &ctx.custom_fields {
        if let Some(value) = field_value(field) {
            attributes.insert(name.clone(), value);
        }
    }
    if let Some(key) = &ctx.targeting_key {
        attributes.insert("targetingKey".into(), Value::String(key.clone()));
    }
    Context::from_map(attributes)
        .map_err(|e| error(EvaluationErrorCode::InvalidContext, e.to_string()))
}

fn field_value(field: &EvaluationContextFieldValue) -> Option<Value> {
    match field {
        EvaluationContextFieldValue::Bool(b) => Some(Value::Bool(*b)),
        EvaluationContextFieldValue::Int(i) => Some(Value::from(*i)),
        EvaluationContextFieldValue::Float(f) => Some(Value::from(*f)),
        EvaluationContextFieldValue::String(s) => Some(Value::String(s.clone())),
        EvaluationContextFieldValue::DateTime(t) => {
            t.format(&time_format()).ok().map(Value::String)
        }
        EvaluationContextFieldValue::Struct(any) => any.downcast_ref::<Value>().cloned(),
    }
}

fn time_format() -> time::format_description::well_known::Rfc3339 {
    time::format_description::well_known::Rfc3339
}

fn resolution<T>(
    evaluation: Evaluation,
    convert: impl FnOnce(Value) -> Option<T>,
) -> EvaluationResult<ResolutionDetails<T>> {
    if let Some(code) = evaluation.error_code {
        let message = evaluation.error_message.unwrap_or_default();
        return Err(error(error_code(code), message));
    }
    let flag_version = evaluation.flag_version;
    let Some(value) = evaluation.value.and_then(convert) else {
        return Err(error(
            EvaluationErrorCode::TypeMismatch,
            format!(
                "flag `{}` does not hold a value of the requested type",
                evaluation.flag_key
            ),
        ));
    };
    let mut metadata = FlagMetadata::default();
    if let Some(version) = flag_version.and_then(|v| i64::try_from(v).ok()) {
        metadata.add_value("flagVersion", version);
    }
    if let Some(rule) = evaluation.rule_id {
        metadata.add_value("ruleId", rule);
    }
    Ok(ResolutionDetails {
        value,
        variant: evaluation.variant,
        reason: Some(reason(evaluation.reason)),
        flag_metadata: Some(metadata),
    })
}

fn error(code: EvaluationErrorCode, message: String) -> EvaluationError {
    EvaluationError {
        code,
        message: Some(message),
    }
}

fn error_code(code: ErrorCode) -> EvaluationErrorCode {
    match code {
        ErrorCode::FlagNotFound => EvaluationErrorCode::FlagNotFound,
        ErrorCode::ParseError => EvaluationErrorCode::ParseError,
        ErrorCode::TypeMismatch => EvaluationErrorCode::TypeMismatch,
        ErrorCode::TargetingKeyMissing => EvaluationErrorCode::TargetingKeyMissing,
        ErrorCode::InvalidContext => EvaluationErrorCode::InvalidContext,
        other => EvaluationErrorCode::General(other.as_str().to_string()),
    }
}

fn reason(reason: Reason) -> EvaluationReason {
    match reason {
        Reason::Static => EvaluationReason::Static,
        Reason::Default => EvaluationReason::Default,
        Reason::TargetingMatch => EvaluationReason::TargetingMatch,
        Reason::Split => EvaluationReason::Split,
        Reason::Disabled => EvaluationReason::Disabled,
        Reason::Error => EvaluationReason::Error,
    }
}

fn structure(map: Map<String, Value>) -> StructValue {
    let mut out = StructValue::default();
    for (key, value) in map {
        if let Some(value) = of_value(value) {
            out.add_field(key, value);
        }
    }
    out
}

fn of_value(value: Value) -> Option<OfValue> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => OfValue::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => OfValue::Int(i),
            None => OfValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => OfValue::String(s),
        Value::Array(items) => OfValue::Array(items.into_iter().filter_map(of_value).collect()),
        Value::Object(map) => OfValue::Struct(structure(map)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_drop_nulls_and_keep_numbers_typed() {
        let Value::Object(map) = json!({"a": null, "b": 2, "c": [1.5, null], "d": {"e": "x"}})
        else {
            unreachable!()
        };
        let s = structure(map);
        assert!(!s.fields.contains_key("a"));
        assert_eq!(s.fields["b"], OfValue::Int(2));
        assert_eq!(s.fields["c"], OfValue::Array(vec![OfValue::Float(1.5)]));
    }

    #[test]
    fn context_fields_become_attributes() {
        let ctx = EvaluationContext::default()
            .with_targeting_key("u1")
            .with_custom_field("plan", "beta")
            .with_custom_field("age", 42)
            .with_custom_field(
                "at",
                EvaluationContextFieldValue::DateTime(time::OffsetDateTime::UNIX_EPOCH),
            )
            .with_custom_field(
                "address",
                EvaluationContextFieldValue::new_struct(json!({"country": "DE"})),
            );
        let context = context(&ctx).unwrap();
        assert_eq!(context.targeting_key(), Some("u1"));
        assert_eq!(context.get("age"), Some(&json!(42)));
        assert_eq!(context.get("at"), Some(&json!("1970-01-01T00:00:00Z")));
        assert_eq!(context.get("address"), Some(&json!({"country": "DE"})));
    }
}
