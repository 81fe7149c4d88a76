//! The Edgeflag engine for JavaScript, through wasm-bindgen.
//!
//! This crate is the thin adapter under the npm package in this directory
//! (`js-sdk/ts/`): it decodes what JavaScript passes (strings of JSON), calls
//! `edgeflag-engine` — which alone evaluates flags and verifies signed snapshots —
//! and encodes the answer as JSON. It holds no evaluation rule of its own. Its only
//! decisions are which signed snapshots to accept (the engine's shared
//! [`edgeflag_engine::accept`] rules: trusted key, expected audience and environment,
//! never older than the one held), so that a browser keeps its last good snapshot
//! whatever arrives.
//!
//! Everything that can fail answers with one envelope, `{"ok": …}` or
//! `{"error": {"code", "message"}}` (see [`error::SdkError`]); evaluation errors are
//! data in the result, as in the engine. The module is pure: no clock (JavaScript
//! passes `now`), no randomness, and one import: JavaScript's own `String`, which writes
//! the rare number with a fraction as text (see `json.rs`). Depend on the npm package, not on this crate.

mod encode;
mod error;
mod json;
#[cfg(feature = "preview")]
mod preview;

use edgeflag_engine::{
    Context, ContextError, Snapshot,
    accept::{self, Policy},
    envelope::KeySet,
};
use wasm_bindgen::prelude::wasm_bindgen;

pub use error::SdkError;
#[cfg(feature = "preview")]
pub use preview::Preview;

/// One client's engine: the trusted keys, the snapshot it serves and the current context.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Engine {
    keys: KeySet,
    policy: Policy,
    snapshot: Option<Snapshot>,
    context: Result<Context, ContextError>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Engine {
    /// An engine that trusts no key yet and accepts only `client` snapshots.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Self {
        Self {
            keys: KeySet::default(),
            policy: Policy::default(),
            snapshot: None,
            context: Ok(Context::new()),
        }
    }

    /// Trusts the keys of a JWKS document (added to those already trusted).
    /// Answers the envelope `{"ok": {"kids": […]}}` or `{"error": …}`.
    pub fn trust(&mut self, jwks_json: &str) -> String {
        let result = accept::parse_jwks(jwks_json.as_bytes()).map(|found| {
            for key in found {
                self.keys.push(key);
            }
            encode::kids(self.keys.kids())
        });
        encode::envelope(result)
    }

    /// Sets which snapshots [`Engine::update`] accepts: `audiences` is a
    /// comma-separated list (`client`, `server`); `environment`, when not empty,
    /// must match the snapshot's.
    #[wasm_bindgen(js_name = setPolicy)]
    pub fn set_policy(&mut self, audiences: &str, environment: &str) {
        self.policy = Policy::new(audiences, environment);
    }

    /// Verifies a signed snapshot (a compact JWS) and serves it if it is acceptable.
    /// Answers `{"ok": {"changed", "environment", "version", "warnings"}}`, or an error
    /// envelope with the snapshot in use left untouched.
    pub fn update(&mut self, token: &str) -> String {
        let current = self.snapshot.as_ref().map(Snapshot::version);
        match accept::accept(token, &self.keys, &self.policy, current) {
            Ok(None) => encode::envelope(Ok(encode::status(false, self.snapshot.as_ref(), &[]))),
            Ok(Some(accepted)) => {
                let loaded = accepted.loaded;
                self.snapshot = Some(loaded.snapshot);
                encode::envelope(Ok(encode::status(
                    true,
                    self.snapshot.as_ref(),
                    &loaded.warnings,
                )))
            }
            Err(e) => encode::envelope(Err(e)),
        }
    }

    /// The version of the snapshot in use (versions stay below 2^53), if any.
    pub fn version(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        // Snapshot versions are epoch milliseconds, far below 2^53.
        self.snapshot.as_ref().map(|s| s.version() as f64)
    }

    /// The environment of the snapshot in use, if any.
    pub fn environment(&self) -> Option<String> {
        self.snapshot.as_ref().map(|s| s.environment().to_string())
    }

    /// Parses and keeps the context that evaluations without their own use.
    /// A refused context is kept as its error, which every evaluation then answers.
    #[wasm_bindgen(js_name = setContext)]
    pub fn set_context(&mut self, context_json: &str) {
        self.context = Context::from_json(context_json.as_bytes());
    }

    /// Evaluates one flag for the current context at `now_ms`. `value_type` asks
    /// for typed evaluation: `0` untyped, `1` boolean, `2` string, `3` number,
    /// `4` object (numbers, so the hot path passes no string but the key).
    /// Answers the detail as JSON: `value`, `variant`, `reason`, `errorCode`,
    /// `errorMessage`, `ruleIndex`, `ruleId`, `failedPrerequisite`, `flagVersion`.
    pub fn evaluate(&self, key: &str, value_type: u32, now_ms: f64) -> String {
        match self.detail(key, value_type, now_ms, encode::detail) {
            Ok(answer) | Err(answer) => answer,
        }
    }

    /// A boolean flag's value alone: `0` false, `1` true, `2` an error (use the default).
    #[wasm_bindgen(js_name = evaluateBoolean)]
    pub fn evaluate_boolean(&self, key: &str, now_ms: f64) -> u32 {
        self.detail(key, 1, now_ms, encode::boolean).unwrap_or(2)
    }

    /// Evaluates every flag for the current context: a JSON object of flag key → detail.
    #[wasm_bindgen(js_name = evaluateAll)]
    pub fn evaluate_all(&self, now_ms: f64) -> String {
        match self.ready() {
            Ok((snapshot, ctx)) => encode::all(&snapshot.evaluate_all(ctx, encode::now(now_ms))),
            Err(answer) => answer,
        }
    }

    /// The flags of the snapshot in use, as a JSON array of
    /// `{key, version, type, enabled, valid, description?, tags, metadata}`.
    pub fn flags(&self) -> String {
        encode::flags(self.snapshot.as_ref())
    }

    /// Evaluates `key` and encodes the detail with `encode`; `Err` holds the JSON
    /// error answer when there is nothing to evaluate with.
    fn detail<T>(
        &self,
        key: &str,
        value_type: u32,
        now_ms: f64,
        encode: impl FnOnce(&edgeflag_engine::EvaluationDetail<'_>) -> T,
    ) -> Result<T, String> {
        let (snapshot, ctx) = self.ready()?;
        let now = encode::now(now_ms);
        let detail = match encode::value_type(value_type)? {
            None => snapshot.evaluate(key, ctx, now),
            Some(t) => snapshot.evaluate_as(key, t, ctx, now),
        };
        Ok(encode(&detail))
    }

    /// The snapshot and context to evaluate with, or the error answer to give instead.
    fn ready(&self) -> Result<(&Snapshot, &Context), String> {
        let snapshot = self.snapshot.as_ref().ok_or_else(encode::not_ready)?;
        match &self.context {
            Ok(ctx) => Ok((snapshot, ctx)),
            Err(e) => Err(encode::refused_context(e)),
        }
    }
}

#[cfg(test)]
mod tests;
