//! The evaluation surfaces: OFREP (single and bulk) and the native API. Both parse
//! the context the same way and call the engine; they differ only in shape.

use edgeflag_engine::{Context, EvaluationDetail, Reason};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use xxhash_rust::xxh3::xxh3_64;

use crate::{
    error::{ApiError, Surface},
    http::{Request, Response},
    ofrep,
    state::EnvState,
    usage::{MAX_SDK_COUNTS, SdkReport, Usage},
};

/// Counts one evaluation (nothing when counting is off).
fn count(usage: &Usage, state: &EnvState, key: &str, detail: &EvaluationDetail<'_>, now_ms: i64) {
    usage.record(
        &state.environment,
        key,
        detail.variant,
        detail.reason.as_str(),
        now_ms,
        1,
    );
}

/// The body of `POST /v1/usage/{client-key}`.
pub fn sdk_report(req: &Request, max: usize) -> Result<SdkReport, ApiError> {
    if req.body.len() > max {
        return Err(ApiError::new(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is over the limit of {max} bytes"),
        ));
    }
    require_object(&req.body, "request body")?;
    let report: SdkReport = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::parse(format!("request body: {e}")))?;
    if report.counts.len() > MAX_SDK_COUNTS {
        return Err(ApiError::parse(format!(
            "/counts: at most {MAX_SDK_COUNTS} counts per report"
        )));
    }
    for (i, c) in report.counts.iter().enumerate() {
        let reason_ok = !c.reason.is_empty()
            && c.reason.len() <= 32
            && c.reason
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_');
        if c.flag.is_empty()
            || c.flag.len() > 256
            || c.variant.as_ref().is_some_and(|v| v.len() > 256)
            || !reason_ok
            || c.count == 0
            || c.count > 1_000_000
        {
            return Err(ApiError::parse(format!(
                "/counts/{i}: a flag and variant of at most 256 characters, an OpenFeature reason and a count from 1 to 1,000,000"
            )));
        }
    }
    Ok(report)
}

/// An evaluation request body: OFREP's `{context}`, plus the native API's `flags`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvalBody {
    /// Absent means an empty context; an explicit `null` is not a context (400).
    #[serde(default, deserialize_with = "present")]
    context: Option<Value>,
    #[serde(default)]
    flags: Option<Vec<String>>,
}

/// Keeps an explicit `null` as `Some(Value::Null)` instead of folding it into `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn parse_body(req: &Request, max_bytes: usize) -> Result<EvalBody, ApiError> {
    if req.body.len() > max_bytes {
        return Err(ApiError::new(
            413,
            "PAYLOAD_TOO_LARGE",
            format!(
                "request body is {} bytes, the limit is {max_bytes}",
                req.body.len()
            ),
        ));
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(EvalBody::default());
    }
    let content_type = req.get_header("content-type").unwrap_or("");
    if !is_json_media_type(content_type) {
        return Err(ApiError::new(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "expected content-type application/json (or an application/…+json type), found `{content_type}`"
            ),
        ));
    }
    require_object(&req.body, "request body")?;
    serde_json::from_slice(&req.body).map_err(|e| ApiError::parse(format!("request body: {e}")))
}

/// True for `application/json` and structured `application/…+json` types, whatever
/// their parameters: a type that merely mentions "json" (`text/plain; a=json`,
/// `application/jsonx`) is not JSON.
pub fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let subtype = subtype.to_ascii_lowercase();
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
    kind.eq_ignore_ascii_case("application")
        && token(&subtype)
        && (subtype == "json" || subtype.strip_suffix("+json").is_some_and(token))
}

/// Refuses a body whose top level is not a JSON object. serde would otherwise read a
/// JSON array into a struct field by field (`[{}]` as `{"context": {}}`).
pub fn require_object(body: &[u8], what: &str) -> Result<(), ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let found = match first {
        Some(b'{') => return Ok(()),
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "a number",
        _ => "something that is not JSON",
    };
    Err(ApiError::parse(format!(
        "{what}: the top level (JSON Pointer \"\") must be an object, found {found}"
    )))
}

fn context(value: Option<Value>) -> Result<Context, ApiError> {
    Context::from_value(value.unwrap_or_else(|| Value::Object(Map::new())))
        .map_err(|e| ApiError::invalid_context(e.to_string()))
}

/// OFREP's error for a flag that evaluated to an error: 404 when it does not exist.
fn flag_error(key: &str, detail: &EvaluationDetail<'_>) -> Option<ApiError> {
    let error = detail.error.as_ref()?;
    let status = if error.code.as_str() == "FLAG_NOT_FOUND" {
        404
    } else {
        400
    };
    Some(ApiError::new(status, error.code.as_str(), error.message.clone()).for_flag(key))
}

pub fn ofrep_single(
    state: &EnvState,
    key: &str,
    req: &Request,
    max: usize,
    now_ms: i64,
    event_streams: Option<Value>,
    usage: &Usage,
) -> Response {
    let ctx = match parse_body(req, max).and_then(|body| context(body.context)) {
        Ok(ctx) => ctx,
        Err(error) => return error.for_flag(key).respond(Surface::Ofrep),
    };
    let detail = state.snapshot.evaluate(key, &ctx, now_ms);
    count(usage, state, key, &detail, now_ms);
    if let Some(error) = flag_error(key, &detail) {
        return error.respond(Surface::Ofrep);
    }
    let mut body = Vec::with_capacity(256);
    let info = state.snapshot.flag(key);
    ofrep::success(&mut body, key, &detail, info, event_streams.as_ref());
    Response::json_bytes(200, body)
}

/// OFREP bulk evaluation. `eventStreams` (ADR-0008) is part of the body, so of the
/// `ETag`; its URL changes only with the version and every 15 minutes (`live::token`).
pub fn ofrep_bulk(
    state: &EnvState,
    req: &Request,
    max: usize,
    now_ms: i64,
    event_streams: Option<Value>,
    usage: &Usage,
) -> Response {
    let ctx = match parse_body(req, max).and_then(|body| context(body.context)) {
        Ok(ctx) => ctx,
        Err(error) => return error.respond(Surface::Ofrep),
    };
    let results = state.snapshot.evaluate_all(&ctx, now_ms);
    // Members in sorted order, as a `Value` printed them: eventStreams, flags, metadata.
    let mut body = Vec::with_capacity(64 + 160 * results.len());
    body.push(b'{');
    if let Some(streams) = &event_streams {
        body.extend_from_slice(b"\"eventStreams\":");
        body.extend_from_slice(&serde_json::to_vec(streams).unwrap_or_default());
        body.push(b',');
    }
    body.extend_from_slice(b"\"flags\":[");
    // `flags()` and `evaluate_all` walk the same flags in the same order; the lookup
    // by key is only a safeguard.
    let mut infos = state.snapshot.flags();
    for (i, (key, detail)) in results.iter().enumerate() {
        count(usage, state, key, detail, now_ms);
        if i > 0 {
            body.push(b',');
        }
        let info = infos.next().filter(|info| info.key == *key);
        match flag_error(key, detail) {
            None => {
                let info = info.or_else(|| state.snapshot.flag(key));
                ofrep::success(&mut body, key, detail, info, None);
            }
            Some(e) => ofrep::flag_error(&mut body, key, e.code, &e.message),
        }
    }
    body.extend_from_slice(b"],\"metadata\":");
    let metadata = json!({"environment": state.environment, "snapshotVersion": state.version});
    body.extend_from_slice(&serde_json::to_vec(&metadata).unwrap_or_default());
    body.push(b'}');
    with_etag(req, Response::json_bytes(200, body))
}

/// Adds an `ETag` derived from the body and answers `304` when the client has it.
/// Deriving it from the body makes it right for every context and every `$now`.
pub fn with_etag(req: &Request, response: Response) -> Response {
    let etag = format!("\"{:016x}\"", xxh3_64(&response.body));
    let matches = req.get_header("if-none-match").is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().trim_start_matches("W/") == etag)
    });
    if matches {
        return Response::new(304).with_header("etag", &etag);
    }
    response.with_header("etag", &etag)
}

fn native_detail(detail: &EvaluationDetail<'_>) -> Value {
    let mut value =
        serde_json::to_value(detail).unwrap_or_else(|_| json!({"reason": Reason::Error.as_str()}));
    if let (Some(message), Some(map)) = (detail.error_message(), value.as_object_mut()) {
        map.insert("errorMessage".into(), json!(message));
    }
    value
}

/// `GET /v1/evaluate?flag=…&targetingKey=…&<attr>=…` and `POST /v1/evaluate`.
pub fn native_evaluate(
    state: &EnvState,
    req: &Request,
    max: usize,
    now_ms: i64,
    usage: &Usage,
) -> Response {
    let parsed = if req.method == "GET" {
        query_request(req)
    } else {
        parse_body(req, max).and_then(|body| Ok((context(body.context)?, body.flags)))
    };
    let (ctx, flags) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error.respond(Surface::Native),
    };
    let results: Map<String, Value> = match flags {
        Some(keys) => keys
            .iter()
            .map(|k| {
                let detail = state.snapshot.evaluate(k, &ctx, now_ms);
                count(usage, state, k, &detail, now_ms);
                (k.clone(), native_detail(&detail))
            })
            .collect(),
        None => state
            .snapshot
            .evaluate_all(&ctx, now_ms)
            .iter()
            .inspect(|(k, d)| count(usage, state, k, d, now_ms))
            .map(|(k, d)| (k.to_string(), native_detail(d)))
            .collect(),
    };
    Response::json(
        200,
        &json!({"environment": state.environment, "snapshotVersion": state.version, "flags": results}),
    )
}

/// Query parameters become a context of string attributes; `flag` (repeatable)
/// names the flags to evaluate.
fn query_request(req: &Request) -> Result<(Context, Option<Vec<String>>), ApiError> {
    let mut attributes = Map::new();
    let mut flags = Vec::new();
    for (name, value) in req.query_pairs() {
        if name == "flag" {
            flags.push(value);
        } else {
            attributes.insert(name, Value::String(value));
        }
    }
    let ctx = context(Some(Value::Object(attributes)))?;
    Ok((ctx, (!flags.is_empty()).then_some(flags)))
}

/// `GET /v1/flags`: every flag's key and metadata, no evaluation.
pub fn list_flags(state: &EnvState) -> Response {
    let flags: Vec<Value> = state
        .snapshot
        .flags()
        .map(|f| {
            json!({"key": f.key, "type": f.value_type.map(|t| t.as_str()), "version": f.version,
                   "enabled": f.enabled, "valid": f.valid, "clientVisible": f.client_visible,
                   "description": f.description, "tags": f.tags, "metadata": f.metadata})
        })
        .collect();
    Response::json(
        200,
        &json!({"environment": state.environment, "snapshotVersion": state.version, "flags": flags}),
    )
}
