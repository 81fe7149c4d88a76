//! OFREP success answers written straight into bytes. They are byte for byte what the
//! `serde_json::Value` trees they replace printed — members in sorted order (serde_json
//! keeps an object's members in a `BTreeMap`), serde_json's own escaping and number
//! forms — so bodies and the `ETag`s derived from them do not change. What changes is
//! the cost: no map is built, sorted and freed per flag, which was most of a bulk
//! answer's time on the Worker (BENCHMARKS.md, "Where the time goes").

use edgeflag_engine::{EvaluationDetail, FlagInfo};
use serde::Serialize;
use serde_json::Value;

/// Appends `value` as serde_json prints it. Writing into a `Vec` cannot fail, and
/// neither can serializing a string, a number or a `Value`; were it ever to, the
/// answer would lack the value and its client would refuse it as malformed JSON.
fn json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Appends a JSON string. Most strings need no escape (serde_json escapes only
/// control characters, `"` and `\\`) and are copied as they are; the others are
/// printed by serde_json itself.
fn string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        json(out, text);
    } else {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

fn member(out: &mut Vec<u8>, name: &str) {
    string(out, name);
    out.push(b':');
}

/// One successful evaluation, as OFREP's single answer and as an item of its bulk
/// answer: `{eventStreams?, key, metadata, reason, value, variant}`.
pub fn success(
    out: &mut Vec<u8>,
    key: &str,
    detail: &EvaluationDetail<'_>,
    info: Option<FlagInfo<'_>>,
    event_streams: Option<&Value>,
) {
    out.push(b'{');
    if let Some(streams) = event_streams {
        member(out, "eventStreams");
        json(out, streams);
        out.push(b',');
    }
    member(out, "key");
    string(out, key);
    out.extend_from_slice(b",\"metadata\":");
    metadata(out, info);
    out.extend_from_slice(b",\"reason\":");
    string(out, detail.reason.as_str());
    out.extend_from_slice(b",\"value\":");
    json(out, &detail.value);
    out.extend_from_slice(b",\"variant\":");
    match detail.variant {
        Some(variant) => string(out, variant),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

/// A flag's error as an item of the bulk answer: `{errorCode, errorDetails, key}`.
pub fn flag_error(out: &mut Vec<u8>, key: &str, code: &str, message: &str) {
    out.extend_from_slice(b"{\"errorCode\":");
    string(out, code);
    out.extend_from_slice(b",\"errorDetails\":");
    string(out, message);
    out.extend_from_slice(b",\"key\":");
    string(out, key);
    out.push(b'}');
}

/// OFREP metadata: the flag's string, number and boolean metadata plus `flagVersion`
/// (which wins over a metadata entry of that name), in sorted order.
fn metadata(out: &mut Vec<u8>, info: Option<FlagInfo<'_>>) {
    out.push(b'{');
    let Some(info) = info else {
        out.push(b'}');
        return;
    };
    let mut first = true;
    let mut separate = |out: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
    };
    let mut version = info.version;
    let scalars = info
        .metadata
        .iter()
        .filter(|(_, v)| v.is_string() || v.is_number() || v.is_boolean());
    for (name, value) in scalars {
        if version.is_some() && name.as_str() >= "flagVersion" {
            if let Some(v) = version.take() {
                separate(out);
                member(out, "flagVersion");
                json(out, &v);
            }
            if name == "flagVersion" {
                continue;
            }
        }
        separate(out);
        member(out, name);
        json(out, value);
    }
    if let Some(v) = version {
        separate(out);
        member(out, "flagVersion");
        json(out, &v);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use edgeflag_engine::{Context, Snapshot};
    use serde_json::{Map, json};

    use super::*;

    /// The answers as the edge built them before this writer: `Value` trees.
    fn as_values(key: &str, detail: &EvaluationDetail<'_>, info: Option<FlagInfo<'_>>) -> Value {
        let mut metadata = Map::new();
        if let Some(info) = info {
            for (k, v) in info.metadata {
                if v.is_string() || v.is_number() || v.is_boolean() {
                    metadata.insert(k.clone(), v.clone());
                }
            }
            if let Some(version) = info.version {
                metadata.insert("flagVersion".into(), json!(version));
            }
        }
        json!({"key": key, "value": detail.value, "reason": detail.reason.as_str(),
               "variant": detail.variant, "metadata": metadata})
    }

    fn written(
        key: &str,
        detail: &EvaluationDetail<'_>,
        info: Option<FlagInfo<'_>>,
        streams: Option<&Value>,
    ) -> String {
        let mut out = Vec::new();
        success(&mut out, key, detail, info, streams);
        String::from_utf8(out).unwrap()
    }

    const SNAPSHOT: &str = r#"{"schemaVersion": 1, "environment": "e", "version": 3,
        "generatedAt": "2026-12-01T00:00:00Z", "segments": [], "flags": [
        {"key": "plain", "version": 7, "type": "string", "enabled": true, "offVariation": "off",
         "variations": [{"key": "on", "value": "a \"quoted\" é\n"}, {"key": "off", "value": "b"}],
         "defaultRule": {"variation": "on"}},
        {"key": "meta", "version": 2, "type": "json", "enabled": true, "offVariation": "off",
         "metadata": {"a": 1.5, "flagVersion": "theirs", "g": true, "nested": {"x": 1}, "z": "last", "e": null},
         "variations": [{"key": "on", "value": {"b": [1, 2.25, null], "a": "x"}}, {"key": "off", "value": null}],
         "defaultRule": {"variation": "on"}},
        {"key": "late", "version": 1, "type": "number", "enabled": false, "offVariation": "off",
         "metadata": {"zz": "after", "aa": "before"},
         "variations": [{"key": "on", "value": 1e300}, {"key": "off", "value": -0.1}],
         "defaultRule": {"variation": "on"}},
        {"key": "broken", "version": 1, "type": "boolean", "enabled": true, "offVariation": "nope",
         "variations": [{"key": "on", "value": true}], "defaultRule": {"variation": "on"}}
    ]}"#;

    #[test]
    fn writes_what_the_value_trees_printed() {
        let snapshot = Snapshot::load(SNAPSHOT.as_bytes()).unwrap().snapshot;
        let ctx = Context::from_value(json!({"targetingKey": "u"})).unwrap();
        let streams =
            json!([{"type": "sse", "url": "https://e/v1/events?t=1", "inactivityDelaySec": 120}]);
        let mut seen = 0;
        for (key, detail) in snapshot.evaluate_all(&ctx, 0) {
            let info = snapshot.flag(key);
            let expected = as_values(key, &detail, snapshot.flag(key));
            assert_eq!(
                written(key, &detail, info, None),
                expected.to_string(),
                "{key}"
            );
            let mut with_streams = expected.clone();
            with_streams["eventStreams"] = streams.clone();
            assert_eq!(
                written(key, &detail, snapshot.flag(key), Some(&streams)),
                with_streams.to_string()
            );
            seen += 1;
        }
        assert_eq!(seen, 4);
        let missing = snapshot.evaluate("missing", &ctx, 0);
        assert_eq!(
            written("missing", &missing, None, None),
            as_values("missing", &missing, None).to_string()
        );
    }

    #[test]
    fn flag_version_wins_over_metadata_of_that_name() {
        let snapshot = Snapshot::load(SNAPSHOT.as_bytes()).unwrap().snapshot;
        let ctx = Context::from_value(json!({"targetingKey": "u"})).unwrap();
        let detail = snapshot.evaluate("meta", &ctx, 0);
        let text = written("meta", &detail, snapshot.flag("meta"), None);
        assert!(
            text.contains(r#""metadata":{"a":1.5,"flagVersion":2,"g":true,"z":"last"}"#),
            "{text}"
        );
    }

    #[test]
    fn strings_print_as_serde_json_prints_them() {
        for text in [
            "",
            "plain",
            "é ü 😀 \u{7f}",
            "a\"b",
            "a\\b",
            "tab\there",
            "\u{1}\u{1f}",
            "/</",
        ] {
            let mut out = Vec::new();
            string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn errors_print_like_the_value_tree() {
        let mut out = Vec::new();
        flag_error(&mut out, "k\"", "TYPE_MISMATCH", "a \\ message");
        let expected =
            json!({"key": "k\"", "errorCode": "TYPE_MISMATCH", "errorDetails": "a \\ message"});
        assert_eq!(String::from_utf8(out).unwrap(), expected.to_string());
    }
}
