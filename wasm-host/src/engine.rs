//! The engine component: compile once, instantiate, load snapshots and evaluate
//! through the `edgeflag:engine` WIT interface.

use std::path::Path;

use serde_json::{Map, Value as Json, json};
use wasmtime::error::Context as _;
use wasmtime::{
    Engine, Store,
    component::{Component, Linker, ResourceAny},
};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/engine.wit",
        world: "engine",
    });
}

pub use bindings::exports::edgeflag::engine::types::{
    Attribute, Context, ErrorCode, Evaluation, EvaluationError, ItemKind, LoadError, LoadErrorKind,
    Reason, SnapshotInfo, Value, ValueType, Warning,
};

/// The compiled engine component. Compile once, instantiate per use.
pub struct EngineComponent {
    engine: Engine,
    component: Component,
}

impl EngineComponent {
    /// Compiles the component at `path`.
    pub fn from_file(path: &Path) -> wasmtime::Result<Self> {
        let engine = Engine::default();
        let component = Component::from_file(&engine, path)
            .with_context(|| format!("compiling {}", path.display()))?;
        Ok(Self { engine, component })
    }

    /// The component's import names: the engine has none.
    pub fn imports(&self) -> Vec<String> {
        let ty = self.component.component_type();
        ty.imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// A fresh instance with an empty linker (the component imports nothing).
    pub fn instantiate(&self) -> wasmtime::Result<EngineInstance> {
        let mut store = Store::new(&self.engine, ());
        let linker = Linker::new(&self.engine);
        let bindings = bindings::Engine::instantiate(&mut store, &self.component, &linker)?;
        Ok(EngineInstance { store, bindings })
    }
}

impl std::fmt::Debug for EngineComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineComponent").finish_non_exhaustive()
    }
}

/// One instance of the engine component.
pub struct EngineInstance {
    store: Store<()>,
    bindings: bindings::Engine,
}

impl std::fmt::Debug for EngineInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineInstance").finish_non_exhaustive()
    }
}

/// A snapshot resource owned by an [`EngineInstance`].
#[derive(Debug, Clone, Copy)]
pub struct SnapshotHandle(ResourceAny);

impl EngineInstance {
    /// Loads a snapshot; the outer error is a trap, the inner a refusal.
    pub fn load(&mut self, json: &[u8]) -> wasmtime::Result<Result<SnapshotHandle, LoadError>> {
        let (store, snapshot) = (
            &mut self.store,
            self.bindings.edgeflag_engine_evaluator().snapshot(),
        );
        let loaded = snapshot.call_load(store, json)?;
        Ok(loaded.map(SnapshotHandle))
    }

    pub fn warnings(&mut self, snapshot: SnapshotHandle) -> wasmtime::Result<Vec<Warning>> {
        let (store, guest) = (
            &mut self.store,
            self.bindings.edgeflag_engine_evaluator().snapshot(),
        );
        guest.call_warnings(store, snapshot.0)
    }

    pub fn info(&mut self, snapshot: SnapshotHandle) -> wasmtime::Result<SnapshotInfo> {
        let (store, guest) = (
            &mut self.store,
            self.bindings.edgeflag_engine_evaluator().snapshot(),
        );
        guest.call_info(store, snapshot.0)
    }

    pub fn context_from_json(
        &mut self,
        json: &str,
    ) -> wasmtime::Result<Result<Context, EvaluationError>> {
        let evaluator = self.bindings.edgeflag_engine_evaluator();
        evaluator.call_context_from_json(&mut self.store, json)
    }

    pub fn evaluate(
        &mut self,
        snapshot: SnapshotHandle,
        key: &str,
        context: &Context,
        now_ms: i64,
    ) -> wasmtime::Result<Evaluation> {
        let (store, guest) = (
            &mut self.store,
            self.bindings.edgeflag_engine_evaluator().snapshot(),
        );
        guest.call_evaluate(store, snapshot.0, key, context, now_ms)
    }

    pub fn evaluate_as(
        &mut self,
        snapshot: SnapshotHandle,
        key: &str,
        expected: ValueType,
        context: &Context,
        now_ms: i64,
    ) -> wasmtime::Result<Evaluation> {
        let (store, guest) = (
            &mut self.store,
            self.bindings.edgeflag_engine_evaluator().snapshot(),
        );
        guest.call_evaluate_as(store, snapshot.0, key, expected, context, now_ms)
    }

    pub fn evaluate_all(
        &mut self,
        snapshot: SnapshotHandle,
        context: &Context,
        now_ms: i64,
    ) -> wasmtime::Result<Vec<(String, Evaluation)>> {
        let (store, guest) = (
            &mut self.store,
            self.bindings.edgeflag_engine_evaluator().snapshot(),
        );
        let all = guest.call_evaluate_all(store, snapshot.0, context, now_ms)?;
        Ok(all.into_iter().map(|f| (f.key, f.evaluation)).collect())
    }
}

/// A WIT value as JSON (`None` for text in `json` that does not parse).
pub fn value_to_json(value: &Value) -> Option<Json> {
    Some(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => json!(b),
        Value::Integer(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Text(s) => json!(s),
        Value::Json(text) => serde_json::from_str(text).ok()?,
    })
}

/// An evaluation in the engine's JSON shape (`EvaluationDetail` serialized, without
/// the error message), so it compares with the shared vectors' `expect`.
pub fn evaluation_to_json(evaluation: &Evaluation) -> Json {
    let mut out = Map::new();
    if let Some(value) = &evaluation.value {
        out.insert("value".into(), value_to_json(value).unwrap_or(Json::Null));
    }
    if let Some(variant) = &evaluation.variant {
        out.insert("variant".into(), json!(variant));
    }
    out.insert("reason".into(), json!(reason_name(evaluation.reason)));
    if let Some(error) = &evaluation.error {
        out.insert("errorCode".into(), json!(error_code_name(error.code)));
    }
    if let Some(index) = evaluation.rule_index {
        out.insert("ruleIndex".into(), json!(index));
    }
    if let Some(id) = &evaluation.rule_id {
        out.insert("ruleId".into(), json!(id));
    }
    if let Some(prerequisite) = &evaluation.failed_prerequisite {
        out.insert("failedPrerequisite".into(), json!(prerequisite));
    }
    if let Some(version) = evaluation.flag_version {
        out.insert("flagVersion".into(), json!(version));
    }
    Json::Object(out)
}

pub fn reason_name(reason: Reason) -> &'static str {
    match reason {
        Reason::Static => "STATIC",
        Reason::Default => "DEFAULT",
        Reason::TargetingMatch => "TARGETING_MATCH",
        Reason::Split => "SPLIT",
        Reason::Disabled => "DISABLED",
        Reason::Error => "ERROR",
    }
}

pub fn error_code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
        ErrorCode::ParseError => "PARSE_ERROR",
        ErrorCode::TypeMismatch => "TYPE_MISMATCH",
        ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
        ErrorCode::InvalidContext => "INVALID_CONTEXT",
        ErrorCode::General => "GENERAL",
    }
}

/// The WIT type for a vector's `type` name.
pub fn value_type(name: &str) -> Option<ValueType> {
    match name {
        "boolean" => Some(ValueType::Boolean),
        "string" => Some(ValueType::String),
        "number" => Some(ValueType::Number),
        "object" => Some(ValueType::Object),
        _ => None,
    }
}
