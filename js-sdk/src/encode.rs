//! Encoding answers for JavaScript: JSON text, which `JSON.parse` turns into plain
//! objects faster than building them across the boundary one field at a time.

use edgeflag_engine::{
    ContextError, ErrorCode, EvaluationDetail, FlagInfo, Reason, Snapshot, ValueType, Warning,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::SdkError;

/// The engine's detail plus the human-readable error message, which the engine's
/// own serialization leaves out. Spelled out rather than `#[serde(flatten)]`ed,
/// which would serialize through a slower map path on every evaluation.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_prerequisite: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flag_version: Option<u64>,
}

impl<'a> From<&'a EvaluationDetail<'a>> for Detail<'a> {
    fn from(d: &'a EvaluationDetail<'a>) -> Self {
        Self {
            value: d.value,
            variant: d.variant,
            reason: d.reason,
            error_code: d.error_code(),
            error_message: d.error_message(),
            rule_index: d.rule_index,
            rule_id: d.rule_id,
            failed_prerequisite: d.failed_prerequisite,
            flag_version: d.flag_version,
        }
    }
}

/// Every flag's result, keyed by flag, serialized in one pass.
struct All<'r, 'a>(&'r [(&'a str, EvaluationDetail<'a>)]);

impl Serialize for All<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(key, d)| (*key, Detail::from(d))))
    }
}

fn text(value: &impl Serialize) -> String {
    // Serializing these types (strings, numbers, maps with string keys) cannot fail;
    // should it ever, the caller gets an error answer rather than a panic.
    serde_json::to_string(value).unwrap_or_else(|e| general(&e.to_string()))
}

/// One evaluation result.
pub fn detail(detail: &EvaluationDetail<'_>) -> String {
    text(&Detail::from(detail))
}

/// Every flag's result, keyed by flag.
pub fn all(results: &[(&str, EvaluationDetail<'_>)]) -> String {
    text(&All(results))
}

/// A boolean result as a number, so the hottest getter needs no JSON:
/// `0` false, `1` true, `2` no value (an error: the caller's default applies).
pub fn boolean(detail: &EvaluationDetail<'_>) -> u32 {
    match detail.value.and_then(Value::as_bool) {
        Some(false) => 0,
        Some(true) => 1,
        None => 2,
    }
}

/// The value type a JavaScript caller asks for: `0` none (untyped), then
/// `boolean`, `string`, `number`, `object`. Anything else is refused.
pub fn value_type(code: u32) -> Result<Option<ValueType>, String> {
    match code {
        0 => Ok(None),
        1 => Ok(Some(ValueType::Boolean)),
        2 => Ok(Some(ValueType::String)),
        3 => Ok(Some(ValueType::Number)),
        4 => Ok(Some(ValueType::Object)),
        other => Err(general(&format!("unknown value type code {other}"))),
    }
}

fn error_result(code: &str, message: &str) -> String {
    json!({ "reason": "ERROR", "errorCode": code, "errorMessage": message }).to_string()
}

/// The answer when no snapshot has been accepted yet (OpenFeature's code for it).
pub fn not_ready() -> String {
    error_result(
        "PROVIDER_NOT_READY",
        "no verified snapshot has been loaded yet",
    )
}

/// The answer for a context the engine refused before evaluation.
pub fn refused_context(e: &ContextError) -> String {
    error_result(e.code().as_str(), &e.to_string())
}

pub fn general(message: &str) -> String {
    error_result("GENERAL", message)
}

/// The one envelope of fallible calls: `{"ok": …}` or `{"error": {"code", "message"}}`.
pub fn envelope(result: Result<Value, SdkError>) -> String {
    match result {
        Ok(ok) => json!({ "ok": ok }).to_string(),
        Err(e) => json!({ "error": { "code": e.code(), "message": e.to_string() } }).to_string(),
    }
}

/// What `update` reports about the snapshot in use.
pub fn status(changed: bool, snapshot: Option<&Snapshot>, warnings: &[Warning]) -> Value {
    let warnings: Vec<Value> = warnings
        .iter()
        .map(|w| json!({ "kind": w.kind.as_str(), "key": w.key, "path": w.path, "message": w.message }))
        .collect();
    json!({
        "changed": changed,
        "environment": snapshot.map(Snapshot::environment),
        "version": snapshot.map(Snapshot::version),
        "warnings": warnings,
    })
}

/// The listing of flags, without evaluating them.
pub fn flags(snapshot: Option<&Snapshot>) -> String {
    let list: Vec<Value> = snapshot
        .into_iter()
        .flat_map(Snapshot::flags)
        .map(|f: FlagInfo<'_>| {
            let mut entry = Map::new();
            entry.insert("key".into(), f.key.into());
            entry.insert("version".into(), f.version.into());
            entry.insert("type".into(), f.value_type.map(|t| t.as_str()).into());
            entry.insert("enabled".into(), f.enabled.into());
            entry.insert("valid".into(), f.valid.into());
            if let Some(d) = f.description {
                entry.insert("description".into(), d.into());
            }
            entry.insert("tags".into(), f.tags.into());
            entry.insert("metadata".into(), Value::Object(f.metadata.clone()));
            Value::Object(entry)
        })
        .collect();
    text(&list)
}

/// JavaScript's `Date.now()` as the engine's `now_ms`. Non-finite values become 0.
pub fn now(now_ms: f64) -> i64 {
    if now_ms.is_finite() {
        // Saturating: the engine takes whole milliseconds, and JS dates fit in i64.
        #[allow(clippy::cast_possible_truncation)]
        let ms = now_ms.floor() as i64;
        ms
    } else {
        0
    }
}
