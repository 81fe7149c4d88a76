//! Every shared vector through the engine component, compared with the vector's
//! `expect` and with the native engine's own answer. Writes the `wit-component`
//! row of the conformance table.

use edgeflag_engine::{Context as NativeContext, Snapshot, ValueType as NativeType};
use edgeflag_vectors::{FILES, Tally, now, parse, same, suppressions, text};
use edgeflag_wasm_host::engine::{
    EngineInstance, SnapshotHandle, error_code_name, evaluation_to_json, value_type,
};
use serde_json::{Map, Value, json};

use crate::support::engine_component;

const RUNTIME: &str = "wit-component";

#[test]
fn the_engine_component_imports_nothing() {
    assert_eq!(engine_component().imports(), Vec::<String>::new());
}

#[test]
fn every_vector_passes_through_the_component() {
    let suppressed = suppressions(RUNTIME);
    let mut instance = engine_component().instantiate().unwrap();
    let mut tally = Tally::default();
    for (name, text_) in FILES {
        let doc = parse(name, text_);
        let bytes = serde_json::to_vec(&doc["snapshot"]).unwrap();
        let native = Snapshot::load(&bytes).unwrap();
        let handle = instance.load(&bytes).unwrap().unwrap_or_else(|e| {
            panic!("{name}: the component refused the snapshot: {}", e.message)
        });
        check_warnings(&mut instance, handle, &doc, &native.warnings, name);
        for case in doc["cases"].as_array().into_iter().flatten() {
            let label = format!("{name} / {}", text(case, "name"));
            let outcome = run_case(&mut instance, handle, &native.snapshot, case);
            let is_suppressed = suppressed.contains(&(name.to_string(), text(case, "name")));
            tally.record(label, outcome, is_suppressed);
        }
        for load in doc["loads"].as_array().into_iter().flatten() {
            let label = format!("{name} / {}", text(load, "name"));
            let outcome = run_load(&mut instance, load);
            let is_suppressed = suppressed.contains(&(name.to_string(), text(load, "name")));
            tally.record(label, outcome, is_suppressed);
        }
    }
    tally.finish(RUNTIME);
}

/// A load (tests/vectors/README.md, "Loads") through the component and natively: both
/// refuse it alike, at the expected member, or both load it with the expected warnings
/// and answers.
fn run_load(instance: &mut EngineInstance, load: &Value) -> Result<(), String> {
    let json = load["text"].as_str().ok_or("`text` is not a string")?;
    match (
        instance.load(json.as_bytes()).unwrap(),
        Snapshot::load(json.as_bytes()),
    ) {
        (Err(ours), Err(theirs)) => {
            if ours.message != theirs.to_string() {
                return Err(format!("component: {}; native: {theirs}", ours.message));
            }
            match load.get("refused") {
                Some(expected) if expected.as_str() == theirs.path() => Ok(()),
                Some(expected) => Err(format!(
                    "refused at {:?}, expected {expected}",
                    theirs.path()
                )),
                None => Err(format!("the snapshot was refused: {theirs}")),
            }
        }
        (Ok(handle), Ok(native)) => {
            if load.get("refused").is_some() {
                return Err("the snapshot loaded; expected a refusal".into());
            }
            let ours: Vec<Value> = instance
                .warnings(handle)
                .unwrap()
                .iter()
                .map(|w| json!({"kind": kind_name(w.kind), "key": w.key, "path": w.path}))
                .collect();
            let fits = |e: &Value, a: &Value| {
                e["kind"] == a["kind"]
                    && e["key"] == a["key"]
                    && (e.get("path").is_none() || e["path"] == a["path"])
            };
            let expected: Vec<Value> = load["expectWarnings"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !(expected.iter().all(|e| ours.iter().any(|a| fits(e, a)))
                && ours.iter().all(|a| expected.iter().any(|e| fits(e, a))))
            {
                return Err(format!("expected warnings {expected:?}, got {ours:?}"));
            }
            let all = json!({"all": true, "context": {}, "expectAll": load["expectAll"]});
            run_case(instance, handle, &native.snapshot, &all)
        }
        (ours, theirs) => Err(format!(
            "the component and the engine disagree: {:?} / {:?}",
            ours.map(drop),
            theirs.map(drop)
        )),
    }
}

fn kind_name(kind: edgeflag_wasm_host::engine::ItemKind) -> &'static str {
    match kind {
        edgeflag_wasm_host::engine::ItemKind::Flag => "flag",
        edgeflag_wasm_host::engine::ItemKind::Segment => "segment",
        edgeflag_wasm_host::engine::ItemKind::Snapshot => "snapshot",
    }
}

#[test]
fn a_refused_snapshot_is_a_typed_load_error() {
    let mut instance = engine_component().instantiate().unwrap();
    let refused = instance.load(b"{not json").unwrap().unwrap_err();
    assert!(
        matches!(
            refused.kind,
            edgeflag_wasm_host::engine::LoadErrorKind::Json
        ),
        "{refused:?}"
    );
    let refused = instance
        .load(br#"{"schemaVersion": 99, "environment": "e", "version": 1, "generatedAt": "2026-11-25T12:00:00Z", "flags": []}"#)
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            refused.kind,
            edgeflag_wasm_host::engine::LoadErrorKind::UnsupportedSchema
        ),
        "{refused:?}"
    );
}

#[test]
fn snapshot_info_and_evaluate_all_are_sorted_and_complete() {
    let mut instance = engine_component().instantiate().unwrap();
    let demo = include_bytes!("../../../examples/demo-snapshot.json");
    let handle = instance.load(demo).unwrap().unwrap();
    let info = instance.info(handle).unwrap();
    let native = Snapshot::load(demo).unwrap().snapshot;
    assert_eq!(info.environment, native.environment());
    assert_eq!(u64::from(info.flag_count), native.len() as u64);
    let context = instance
        .context_from_json(r#"{"targetingKey": "user-2"}"#)
        .unwrap()
        .unwrap();
    let all = instance.evaluate_all(handle, &context, 0).unwrap();
    let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    let native_keys: Vec<&str> = native.flags().map(|f| f.key).collect();
    assert_eq!(keys, native_keys);
}

fn check_warnings(
    instance: &mut EngineInstance,
    handle: SnapshotHandle,
    doc: &Value,
    native: &[edgeflag_engine::Warning],
    name: &str,
) {
    let kind = |k: &str| k.to_string();
    let ours: Vec<Value> = instance
        .warnings(handle)
        .unwrap()
        .iter()
        .map(|w| {
            let k = match w.kind {
                edgeflag_wasm_host::engine::ItemKind::Flag => "flag",
                edgeflag_wasm_host::engine::ItemKind::Segment => "segment",
                edgeflag_wasm_host::engine::ItemKind::Snapshot => "snapshot",
            };
            json!({"kind": kind(k), "key": w.key, "path": w.path, "message": w.message})
        })
        .collect();
    let theirs: Vec<Value> = native
        .iter()
        .map(|w| json!({"kind": w.kind.as_str(), "key": w.key, "path": w.path, "message": w.message}))
        .collect();
    assert_eq!(ours, theirs, "{name}: load warnings differ from native");
    let expected = doc["expectWarnings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        ours.len(),
        expected.len(),
        "{name}: expected warnings {expected:?}, got {ours:?}"
    );
    for e in &expected {
        let found = ours.iter().any(|a| {
            a["kind"] == e["kind"]
                && a["key"] == e["key"]
                && (e.get("path").is_none() || a["path"] == e["path"])
        });
        assert!(found, "{name}: missing warning {e}");
    }
}

/// Runs one case through the component and natively; both must agree with `expect`.
fn run_case(
    instance: &mut EngineInstance,
    handle: SnapshotHandle,
    native: &Snapshot,
    case: &Value,
) -> Result<(), String> {
    let now = now(case).ok_or("`now` is not an integer")?;
    let context_json = serde_json::to_string(&case["context"]).unwrap();
    let context = instance.context_from_json(&context_json).unwrap();
    let native_ctx = NativeContext::from_value(case["context"].clone());
    if case.get("all").and_then(Value::as_bool) == Some(true) {
        let (Ok(context), Ok(native_ctx)) = (context, native_ctx) else {
            return Err("an evaluate-all case needs a valid context".into());
        };
        let ours: Map<String, Value> = instance
            .evaluate_all(handle, &context, now)
            .unwrap()
            .iter()
            .map(|(k, e)| (k.clone(), evaluation_to_json(e)))
            .collect();
        let theirs: Map<String, Value> = native
            .evaluate_all(&native_ctx, now)
            .iter()
            .map(|(k, d)| (k.to_string(), serde_json::to_value(d).unwrap()))
            .collect();
        return agree(
            &case["expectAll"],
            &Value::Object(ours),
            &Value::Object(theirs),
        );
    }
    let key = case["flag"].as_str().ok_or("`flag` is not a string")?;
    let expected_type = case.get("type").and_then(Value::as_str);
    let (ours, theirs) = match (context, native_ctx) {
        (Err(ours), Err(theirs)) => (
            json!({"reason": "ERROR", "errorCode": error_code_name(ours.code)}),
            json!({"reason": "ERROR", "errorCode": theirs.code().as_str()}),
        ),
        (Ok(context), Ok(native_ctx)) => match expected_type {
            Some(name) => {
                let wit_type = value_type(name).ok_or("unknown `type`")?;
                let native_type = NativeType::parse(name).ok_or("unknown `type`")?;
                let ours = instance
                    .evaluate_as(handle, key, wit_type, &context, now)
                    .unwrap();
                let theirs = native.evaluate_as(key, native_type, &native_ctx, now);
                (
                    evaluation_to_json(&ours),
                    serde_json::to_value(theirs).unwrap(),
                )
            }
            None => {
                let ours = instance.evaluate(handle, key, &context, now).unwrap();
                let theirs = native.evaluate(key, &native_ctx, now);
                (
                    evaluation_to_json(&ours),
                    serde_json::to_value(theirs).unwrap(),
                )
            }
        },
        (ours, theirs) => {
            return Err(format!(
                "the component and the engine disagree on the context: {ours:?} / {theirs:?}"
            ));
        }
    };
    agree(&case["expect"], &ours, &theirs)
}

/// The component's answer equals the vector's and, exactly, the native engine's.
fn agree(expected: &Value, ours: &Value, native: &Value) -> Result<(), String> {
    if ours != native {
        return Err(format!("component {ours} differs from native {native}"));
    }
    if !same(expected, ours) {
        return Err(format!("expected {expected}, got {ours}"));
    }
    Ok(())
}
