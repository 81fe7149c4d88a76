//! The Edgeflag engine as a WebAssembly component exporting the `edgeflag:engine`
//! world (`wit/engine.wit`). Any component host (wasmtime, jco, Python's `wasmtime`)
//! can load it: it has no imports, so it needs no WASI and cannot do I/O.
//!
//! This crate only converts between the WIT types and the engine's own; every
//! decision is `edgeflag-engine`'s. Build it with `cargo xtask build-components`
//! (wasm32-unknown-unknown, linked by rustup's `wasm-component-ld`).

mod convert;

use edgeflag_engine::{Context, Snapshot as Engine, ValueType as EngineValueType};

use bindings::exports::edgeflag::engine::evaluator::{Guest, GuestSnapshot, Snapshot};
use bindings::exports::edgeflag::engine::types::{
    Context as WitContext, Evaluation, EvaluationError, FlagEvaluation, LoadError, SnapshotInfo,
    ValueType, Warning,
};

/// The generated bindings, kept out of sight behind this crate's small API.
#[allow(unsafe_code, clippy::all, missing_debug_implementations)]
// Reason: wit-bindgen's generated glue uses `unsafe` for the canonical ABI.
mod bindings {
    wit_bindgen::generate!({
        path: "../engine.wit",
        world: "engine",
    });
    use super::Component;
    export!(Component);
}

/// The exported component.
#[derive(Debug)]
struct Component;

/// A loaded snapshot behind the `snapshot` resource.
#[derive(Debug)]
struct LoadedSnapshot {
    snapshot: Engine,
    warnings: Vec<edgeflag_engine::Warning>,
}

impl Guest for Component {
    type Snapshot = LoadedSnapshot;

    fn context_from_json(json: String) -> Result<WitContext, EvaluationError> {
        Context::from_json(json.as_bytes())
            .map(|ctx| convert::context_to_wit(&ctx))
            .map_err(|e| convert::context_error(&e))
    }
}

impl GuestSnapshot for LoadedSnapshot {
    fn load(json: Vec<u8>) -> Result<Snapshot, LoadError> {
        let loaded = Engine::load(&json).map_err(|e| convert::load_error(&e))?;
        Ok(Snapshot::new(LoadedSnapshot {
            snapshot: loaded.snapshot,
            warnings: loaded.warnings,
        }))
    }

    fn warnings(&self) -> Vec<Warning> {
        self.warnings.iter().map(convert::warning).collect()
    }

    fn info(&self) -> SnapshotInfo {
        SnapshotInfo {
            environment: self.snapshot.environment().to_string(),
            version: self.snapshot.version(),
            generated_at: self.snapshot.generated_at().to_string(),
            flag_count: u32::try_from(self.snapshot.len()).unwrap_or(u32::MAX),
        }
    }

    fn evaluate(&self, key: String, context: WitContext, now_ms: i64) -> Evaluation {
        match convert::context_from_wit(context) {
            Ok(ctx) => convert::evaluation(&self.snapshot.evaluate(&key, &ctx, now_ms)),
            Err(e) => convert::refused(&e),
        }
    }

    fn evaluate_as(
        &self,
        key: String,
        expected: ValueType,
        context: WitContext,
        now_ms: i64,
    ) -> Evaluation {
        let expected = match expected {
            ValueType::Boolean => EngineValueType::Boolean,
            ValueType::String => EngineValueType::String,
            ValueType::Number => EngineValueType::Number,
            ValueType::Object => EngineValueType::Object,
        };
        match convert::context_from_wit(context) {
            Ok(ctx) => {
                convert::evaluation(&self.snapshot.evaluate_as(&key, expected, &ctx, now_ms))
            }
            Err(e) => convert::refused(&e),
        }
    }

    fn evaluate_all(&self, context: WitContext, now_ms: i64) -> Vec<FlagEvaluation> {
        let ctx = match convert::context_from_wit(context) {
            Ok(ctx) => ctx,
            // A refused context cannot be evaluated at all: every flag answers the refusal.
            Err(e) => {
                return self
                    .snapshot
                    .flags()
                    .map(|flag| FlagEvaluation {
                        key: flag.key.to_string(),
                        evaluation: convert::refused(&e),
                    })
                    .collect();
            }
        };
        self.snapshot
            .evaluate_all(&ctx, now_ms)
            .into_iter()
            .map(|(key, detail)| FlagEvaluation {
                key: key.to_string(),
                evaluation: convert::evaluation(&detail),
            })
            .collect()
    }
}
