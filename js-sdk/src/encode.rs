//! Encoding answers for JavaScript: JSON text, which `JSON.parse` turns into plain
//! objects faster than building them across the boundary one field at a time.
//! Written by hand with [`Json`], so no generic serializer or `serde_json::Value`
//! is built for an answer.

use edgeflag_engine::{
    ContextError, EvaluationDetail, FlagInfo, Snapshot, ValueType, Warning, accept::AcceptError,
};
use serde_json::Value;

use crate::json::Json;

/// The members of one detail, without its braces: the engine's detail plus the
/// human-readable error message. Optional members are left out when absent.
fn detail_members(out: &mut Json, d: &EvaluationDetail<'_>) {
    let mut first = true;
    let mut key = |out: &mut Json, name: &str| {
        out.key(first, name);
        first = false;
    };
    if let Some(value) = d.value {
        key(out, "value");
        out.value(value);
    }
    if let Some(variant) = d.variant {
        key(out, "variant");
        out.str(variant);
    }
    key(out, "reason");
    out.str(d.reason.as_str());
    if let Some(code) = d.error_code() {
        key(out, "errorCode");
        out.str(code.as_str());
    }
    if let Some(message) = d.error_message() {
        key(out, "errorMessage");
        out.str(message);
    }
    if let Some(index) = d.rule_index {
        key(out, "ruleIndex");
        out.u64(index as u64);
    }
    if let Some(id) = d.rule_id {
        key(out, "ruleId");
        out.str(id);
    }
    if let Some(prerequisite) = d.failed_prerequisite {
        key(out, "failedPrerequisite");
        out.str(prerequisite);
    }
    if let Some(version) = d.flag_version {
        key(out, "flagVersion");
        out.u64(version);
    }
}

/// One evaluation result.
pub fn detail(detail: &EvaluationDetail<'_>) -> String {
    let mut out = Json::default();
    out.raw("{");
    detail_members(&mut out, detail);
    out.raw("}");
    out.into_string()
}

/// Every flag's result, keyed by flag.
pub fn all(results: &[(&str, EvaluationDetail<'_>)]) -> String {
    let mut out = Json::default();
    out.raw("{");
    for (i, (key, d)) in results.iter().enumerate() {
        out.key(i == 0, key).raw("{");
        detail_members(&mut out, d);
        out.raw("}");
    }
    out.raw("}");
    out.into_string()
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
        other => {
            let mut message = String::from("unknown value type code ");
            message.push_str(itoa::Buffer::new().format(other));
            Err(general(&message))
        }
    }
}

fn error_result(code: &str, message: &str) -> String {
    let mut out = Json::default();
    out.raw("{").key(true, "reason").str("ERROR");
    out.key(false, "errorCode").str(code);
    out.key(false, "errorMessage").str(message).raw("}");
    out.into_string()
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

/// The one envelope of fallible calls: `{"ok": …}` (`ok` is JSON text) or
/// `{"error": {"code", "message"}}`.
pub fn envelope(result: Result<String, AcceptError>) -> String {
    let mut out = Json::default();
    match result {
        Ok(ok) => out.raw("{").key(true, "ok").raw(&ok).raw("}"),
        Err(e) => out
            .raw("{")
            .key(true, "error")
            .raw("{")
            .key(true, "code")
            .str(e.code())
            .key(false, "message")
            .str(&e.to_string())
            .raw("}}"),
    };
    out.into_string()
}

/// What `trust` reports: the ids of every trusted key.
pub fn kids<'k>(kids: impl IntoIterator<Item = &'k str>) -> String {
    let mut out = Json::default();
    out.raw("{").key(true, "kids").strings(kids).raw("}");
    out.into_string()
}

/// What `update` reports about the snapshot in use.
pub fn status(changed: bool, snapshot: Option<&Snapshot>, warnings: &[Warning]) -> String {
    let mut out = Json::default();
    out.raw("{").key(true, "changed").bool(changed);
    out.key(false, "environment")
        .opt_str(snapshot.map(Snapshot::environment));
    out.key(false, "version");
    match snapshot {
        Some(s) => out.u64(s.version()),
        None => out.raw("null"),
    };
    out.key(false, "warnings").raw("[");
    for (i, w) in warnings.iter().enumerate() {
        if i > 0 {
            out.raw(",");
        }
        out.raw("{").key(true, "kind").str(w.kind.as_str());
        out.key(false, "key").opt_str(w.key.as_deref());
        out.key(false, "path").str(&w.path);
        out.key(false, "message").str(&w.message).raw("}");
    }
    out.raw("]}");
    out.into_string()
}

/// The listing of flags, without evaluating them.
pub fn flags(snapshot: Option<&Snapshot>) -> String {
    let mut out = Json::default();
    out.raw("[");
    for (i, f) in snapshot.into_iter().flat_map(Snapshot::flags).enumerate() {
        if i > 0 {
            out.raw(",");
        }
        flag(&mut out, &f);
    }
    out.raw("]");
    out.into_string()
}

fn flag(out: &mut Json, f: &FlagInfo<'_>) {
    out.raw("{").key(true, "key").str(f.key);
    out.key(false, "version");
    match f.version {
        Some(v) => out.u64(v),
        None => out.raw("null"),
    };
    out.key(false, "type")
        .opt_str(f.value_type.map(ValueType::as_str));
    out.key(false, "enabled").bool(f.enabled);
    out.key(false, "valid").bool(f.valid);
    if let Some(d) = f.description {
        out.key(false, "description").str(d);
    }
    out.key(false, "tags")
        .strings(f.tags.iter().map(String::as_str));
    out.key(false, "metadata").object(f.metadata).raw("}");
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
