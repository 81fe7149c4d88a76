//! The dashboard's preview: evaluates an **unsigned** snapshot that the page built
//! itself from a flag being edited, with the same engine the edge runs.
//!
//! Only the `preview` cargo feature compiles this module, and only the dashboard
//! (`admin/ui/`) builds the wasm with it: the SDK that applications ship has no way to
//! load a snapshot without verifying its signature, so nothing can ever trust an
//! unsigned snapshot that came from the network. The dashboard feeds it documents it
//! assembled in the page, never documents it fetched.
//!
//! Like the rest of the adapter it decodes, calls the engine, and encodes: loading
//! answers the engine's warnings (each with the JSON Pointer of the bad field, which
//! the dashboard shows at that field), and evaluation answers the same detail JSON as
//! [`crate::Engine::evaluate`].

use edgeflag_engine::{Context, Snapshot};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::{SdkError, encode};

/// One unsigned snapshot under preview.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct Preview {
    snapshot: Option<Snapshot>,
}

#[wasm_bindgen]
impl Preview {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads a snapshot **without verifying any signature** (the name says so at every
    /// call site). Answers `{"ok": {"changed", "environment", "version", "warnings"}}`,
    /// where each warning is `{kind, key, path, message}`, or an error envelope; a refused
    /// snapshot leaves nothing loaded, so a stale draft is never evaluated by mistake.
    #[wasm_bindgen(js_name = loadUnverified)]
    pub fn load_unverified(&mut self, snapshot_json: &str) -> String {
        match Snapshot::load(snapshot_json.as_bytes()) {
            Ok(loaded) => {
                self.snapshot = Some(loaded.snapshot);
                let status = encode::status(true, self.snapshot.as_ref(), &loaded.warnings);
                encode::envelope(Ok(status))
            }
            Err(e) => {
                self.snapshot = None;
                encode::envelope(Err(SdkError::Load(e)))
            }
        }
    }

    /// Evaluates flag `key` for a context given as JSON at `now_ms`: the detail JSON
    /// (`value`, `variant`, `reason`, `errorCode`, `errorMessage`, `ruleIndex`,
    /// `ruleId`, `failedPrerequisite`, `flagVersion`), or an `ERROR` answer when
    /// nothing is loaded or the context is refused.
    pub fn evaluate(&self, key: &str, context_json: &str, now_ms: f64) -> String {
        let Some(snapshot) = &self.snapshot else {
            return encode::not_ready();
        };
        match Context::from_json(context_json.as_bytes()) {
            Ok(ctx) => encode::detail(&snapshot.evaluate(key, &ctx, encode::now(now_ms))),
            Err(e) => encode::refused_context(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::Preview;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn snapshot(rule_values: Value) -> String {
        json!({
            "schemaVersion": 1, "environment": "web-production", "version": 0,
            "generatedAt": "2026-11-25T12:00:00Z",
            "flags": [{
                "key": "banner", "version": 4, "type": "boolean", "enabled": true,
                "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                "offVariation": "off",
                "rules": [{"id": "adults", "conditions": [{"attribute": "age", "op": "gte", "values": rule_values}], "serve": {"variation": "on"}}],
                "defaultRule": {"variation": "off"}
            }]
        })
        .to_string()
    }

    #[test]
    fn evaluates_an_unsigned_draft() {
        let mut preview = Preview::new();
        let status = parse(&preview.load_unverified(&snapshot(json!([18]))));
        assert_eq!(status["ok"]["warnings"], json!([]));
        assert_eq!(status["ok"]["environment"], "web-production");
        let adult = parse(&preview.evaluate("banner", r#"{"targetingKey":"u","age":30}"#, 0.0));
        assert_eq!(adult["variant"], "on");
        assert_eq!(adult["reason"], "TARGETING_MATCH");
        assert_eq!(adult["ruleId"], "adults");
        assert_eq!(adult["flagVersion"], 4);
        let child = parse(&preview.evaluate("banner", r#"{"targetingKey":"u","age":9}"#, 0.0));
        assert_eq!(child["variant"], "off");
        assert_eq!(child["reason"], "DEFAULT");
    }

    #[test]
    fn reports_the_engines_warning_with_its_pointer() {
        let mut preview = Preview::new();
        let status = parse(&preview.load_unverified(&snapshot(json!(["eighteen"]))));
        let warning = &status["ok"]["warnings"][0];
        assert_eq!(warning["key"], "banner");
        assert_eq!(warning["path"], "/rules/0/conditions/0/values/0");
        let answer = parse(&preview.evaluate("banner", r#"{"targetingKey":"u"}"#, 0.0));
        assert_eq!(answer["errorCode"], "PARSE_ERROR");
    }

    #[test]
    fn a_refused_snapshot_leaves_nothing_to_evaluate() {
        let mut preview = Preview::new();
        parse(&preview.load_unverified(&snapshot(json!([18]))));
        let refused = parse(&preview.load_unverified(r#"{"schemaVersion": 2}"#));
        assert_eq!(refused["error"]["code"], "SNAPSHOT_REFUSED");
        let answer = parse(&preview.evaluate("banner", r#"{"targetingKey":"u"}"#, 0.0));
        assert_eq!(answer["errorCode"], "PROVIDER_NOT_READY");
    }

    #[test]
    fn a_context_that_is_not_an_object_is_refused() {
        let mut preview = Preview::new();
        parse(&preview.load_unverified(&snapshot(json!([18]))));
        let answer = parse(&preview.evaluate("banner", "[1]", 0.0));
        assert_eq!(answer["errorCode"], "INVALID_CONTEXT");
    }
}
