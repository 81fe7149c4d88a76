//! The native runner of the shared test vectors (`tests/vectors/`, described in
//! `tests/vectors/README.md`).
//!
//! Every vector file is embedded with `include_str!`, so the same approach works in
//! wasm test runners that have no file system. Each file's snapshot is loaded once,
//! its load warnings are compared with `expectWarnings`, and every case is
//! evaluated and compared field by field with its `expect`. Known gaps of this
//! runtime live in `tests/vectors/suppressions.json` under `"native"`; nothing is
//! skipped silently, and a suppressed case that starts passing fails the run so the
//! list stays honest. The totals go to `target/conformance/native.json`.
//!
//! Besides running the cases, these tests check that every file matches
//! `tests/vectors/vectors.schema.json`, that every snapshot (except those marked
//! `"schemaValid": false`) matches `docs/snapshot.schema.json`, and that every file is
//! of the engine's spec version. The embedded files, the suppressions, the comparison
//! rule and the tally come from `edgeflag-vectors`, shared with the wasmtime host.

use std::{collections::BTreeSet, fmt::Write as _};

use edgeflag_engine::{Context, EvaluationDetail, Snapshot, ValueType, Warning};
use edgeflag_vectors::{
    FILES, INDEX, SUPPRESSIONS, Tally, VECTORS_SCHEMA, compare, now, parse, suppressions, text,
};
use serde_json::{Map, Value, json};

const SNAPSHOT_SCHEMA: &str = include_str!("../../docs/snapshot.schema.json");

/// This runtime's name in `suppressions.json` and in the conformance results.
const RUNTIME: &str = "native";

#[test]
fn every_vector_passes() {
    let suppressed = suppressions(RUNTIME);
    let mut tally = Tally::default();
    for (name, text) in FILES {
        let before = (tally.passed, tally.total(), tally.suppressed);
        run_file(name, &parse(name, text), &suppressed, &mut tally);
        println!(
            "{name}: {}/{} passed, {} suppressed",
            tally.passed - before.0,
            tally.total() - before.1,
            tally.suppressed - before.2
        );
    }
    tally.finish(RUNTIME);
}

fn run_file(name: &str, doc: &Value, suppressed: &BTreeSet<(String, String)>, tally: &mut Tally) {
    let bytes = serde_json::to_vec(&doc["snapshot"]).unwrap();
    let loaded = match Snapshot::load(&bytes) {
        Ok(loaded) => loaded,
        Err(e) => {
            for case in doc["cases"].as_array().into_iter().flatten() {
                let label = format!("{name} / {}", text(case, "name"));
                tally.record(label, Err(format!("the snapshot was refused: {e}")), false);
            }
            return;
        }
    };
    if let Some(problem) = compare_warnings(&doc["expectWarnings"], &loaded.warnings) {
        tally.fail(format!("{name}: load warnings: {problem}"));
    }
    for case in doc["cases"].as_array().into_iter().flatten() {
        let case_name = text(case, "name");
        let outcome = run_case(&loaded.snapshot, case);
        let is_suppressed = suppressed.contains(&(name.to_string(), case_name.clone()));
        tally.record(format!("{name} / {case_name}"), outcome, is_suppressed);
    }
    for load in doc["loads"].as_array().into_iter().flatten() {
        let load_name = text(load, "name");
        let is_suppressed = suppressed.contains(&(name.to_string(), load_name.clone()));
        tally.record(
            format!("{name} / {load_name}"),
            run_load(load),
            is_suppressed,
        );
    }
}

/// A snapshot given as text: refused at the expected member, or loaded with the
/// expected warnings and answers (every flag, empty context, default time).
fn run_load(load: &Value) -> Result<(), String> {
    let json = load["text"].as_str().ok_or("`text` is not a string")?;
    match (load.get("refused"), Snapshot::load(json.as_bytes())) {
        (Some(expected), Err(e)) if expected.as_str() == e.path() => Ok(()),
        (Some(expected), Err(e)) => Err(format!(
            "refused at {:?}, expected at {expected}: {e}",
            e.path()
        )),
        (Some(_), Ok(_)) => Err("the snapshot loaded; expected a refusal".into()),
        (None, Err(e)) => Err(format!("the snapshot was refused: {e}")),
        (None, Ok(loaded)) => {
            if let Some(problem) = compare_warnings(&load["expectWarnings"], &loaded.warnings) {
                return Err(format!("load warnings: {problem}"));
            }
            let answers: Map<String, Value> = loaded
                .snapshot
                .evaluate_all(&Context::new(), edgeflag_vectors::DEFAULT_NOW_MS)
                .into_iter()
                .map(|(key, detail)| (key.to_string(), result(&detail)))
                .collect();
            compare(&load["expectAll"], &answers.into())
        }
    }
}

/// Compares load warnings as sets of `{kind, key, path}`; an expected warning
/// without `path` matches any path.
fn compare_warnings(expected: &Value, actual: &[Warning]) -> Option<String> {
    let expected: Vec<&Value> = expected.as_array().into_iter().flatten().collect();
    let actual: Vec<Value> = actual
        .iter()
        .map(|w| json!({"kind": w.kind.as_str(), "key": w.key, "path": w.path}))
        .collect();
    let fits = |e: &Value, a: &Value| {
        e["kind"] == a["kind"]
            && e["key"] == a["key"]
            && (e.get("path").is_none() || e["path"] == a["path"])
    };
    let missing: Vec<&&Value> = expected
        .iter()
        .filter(|e| !actual.iter().any(|a| fits(e, a)))
        .collect();
    let extra: Vec<&Value> = actual
        .iter()
        .filter(|a| !expected.iter().any(|e| fits(e, a)))
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    Some(format!("missing {missing:?}; unexpected {extra:?}"))
}

fn run_case(snapshot: &Snapshot, case: &Value) -> Result<(), String> {
    let now = now(case).ok_or("`now` is not an integer")?;
    let context = Context::from_value(case["context"].clone());
    if case.get("all").and_then(Value::as_bool) == Some(true) {
        let actual = match context {
            Ok(ctx) => snapshot
                .evaluate_all(&ctx, now)
                .into_iter()
                .map(|(key, detail)| (key.to_string(), result(&detail)))
                .collect::<Map<_, _>>()
                .into(),
            Err(e) => return Err(format!("an evaluate-all case needs a valid context: {e}")),
        };
        return compare(&case["expectAll"], &actual);
    }
    let key = case["flag"].as_str().ok_or("`flag` is not a string")?;
    let actual = match context {
        // A refused context never reaches the engine; hosts answer with the error's code.
        Err(e) => json!({"reason": "ERROR", "errorCode": e.code().as_str()}),
        Ok(ctx) => match case.get("type").and_then(Value::as_str) {
            Some(name) => {
                let value_type = ValueType::parse(name).ok_or("unknown `type`")?;
                result(&snapshot.evaluate_as(key, value_type, &ctx, now))
            }
            None => result(&snapshot.evaluate(key, &ctx, now)),
        },
    };
    compare(&case["expect"], &actual)
}

/// The result as a vector's `expect` states it: the serialized detail.
fn result(detail: &EvaluationDetail<'_>) -> Value {
    serde_json::to_value(detail).unwrap()
}

fn validator(name: &str, schema: &str) -> jsonschema::Validator {
    let schema = parse(name, schema);
    assert!(
        jsonschema::meta::is_valid(&schema),
        "{name} is not a valid JSON Schema"
    );
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name} does not compile: {e}"))
}

/// Every schema violation of `instance`, one per line.
fn violations(validator: &jsonschema::Validator, instance: &Value) -> String {
    let mut out = String::new();
    for error in validator.iter_errors(instance) {
        let _ = writeln!(out, "  at {}: {error}", error.instance_path());
    }
    out
}

#[test]
fn vector_files_match_their_schema() {
    let validator = validator("vectors.schema.json", VECTORS_SCHEMA);
    let mut problems = String::new();
    for (name, text) in FILES {
        let found = violations(&validator, &parse(name, text));
        if !found.is_empty() {
            let _ = write!(problems, "{name}:\n{found}");
        }
    }
    assert!(problems.is_empty(), "{problems}");
}

#[test]
fn snapshots_match_the_snapshot_schema() {
    let validator = validator("snapshot.schema.json", SNAPSHOT_SCHEMA);
    let mut problems = String::new();
    for (name, text) in FILES {
        let doc = parse(name, text);
        let found = violations(&validator, &doc["snapshot"]);
        let expect_valid = doc.get("schemaValid").and_then(Value::as_bool) != Some(false);
        if expect_valid && !found.is_empty() {
            let _ = write!(problems, "{name}:\n{found}");
        }
        if !expect_valid && found.is_empty() {
            let _ = writeln!(
                problems,
                "{name}: says schemaValid: false, but the schema accepts it"
            );
        }
    }
    assert!(problems.is_empty(), "{problems}");
}

/// The file list itself is checked by `edgeflag-vectors`; here, that every file speaks
/// the spec version this engine implements.
#[test]
fn every_file_is_of_this_engines_spec_version() {
    let index = parse("index.json", INDEX);
    assert_eq!(
        index["specVersion"],
        edgeflag_engine::SPEC_VERSION,
        "index.json specVersion"
    );
    for (name, text) in FILES {
        let doc = parse(name, text);
        assert_eq!(
            doc["specVersion"], index["specVersion"],
            "{name}: specVersion"
        );
    }
}

#[test]
fn suppressions_name_real_cases() {
    let all = parse("suppressions.json", SUPPRESSIONS);
    let mut problems = Vec::new();
    for (runtime, list) in all.as_object().unwrap() {
        for entry in list.as_array().unwrap() {
            let (file, case) = (text(entry, "file"), text(entry, "case"));
            let known = FILES.iter().any(|(name, body)| {
                let doc = parse(name, body);
                *name == file && names(&doc).any(|n| n == case.as_str())
            });
            if !known || text(entry, "reason").is_empty() {
                problems.push(format!(
                    "{runtime}: {file} / {case}: unknown case or no reason"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The names of a file's cases and loads.
fn names(doc: &Value) -> impl Iterator<Item = &str> {
    ["cases", "loads"]
        .into_iter()
        .flat_map(|field| doc[field].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str())
}

#[test]
fn case_names_are_unique_within_a_file() {
    for (name, text) in FILES {
        let doc = parse(name, text);
        let mut seen = BTreeSet::new();
        for case_name in names(&doc) {
            assert!(
                seen.insert(case_name),
                "{name}: duplicate case name `{case_name}`"
            );
        }
    }
}
