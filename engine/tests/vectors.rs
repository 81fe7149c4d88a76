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
//! `"schemaValid": false`) matches `docs/snapshot.schema.json`, and that
//! `index.json` lists exactly the files on disk.

use std::{collections::BTreeSet, fmt::Write as _, path::PathBuf};

use edgeflag_engine::{Context, EvaluationDetail, Snapshot, ValueType, Warning};
use serde_json::{Map, Value, json};

/// Embeds each named vector file as `(name, text)`.
macro_rules! vector_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../tests/vectors/", $name)))),*]
    };
}

/// Every vector file, in `index.json` order. Adding a file means adding it here and there.
const FILES: &[(&str, &str)] = vector_files![
    "01-basics.json",
    "02-targets-and-rules.json",
    "03-equality.json",
    "04-strings.json",
    "05-numbers.json",
    "06-semver.json",
    "07-dates.json",
    "08-attributes.json",
    "09-segments.json",
    "10-rollouts.json",
    "11-prerequisites.json",
    "12-types.json",
    "13-invalid-and-unknown.json",
    "14-evaluate-all.json",
];

const INDEX: &str = include_str!("../../tests/vectors/index.json");
const SUPPRESSIONS: &str = include_str!("../../tests/vectors/suppressions.json");
const VECTORS_SCHEMA: &str = include_str!("../../tests/vectors/vectors.schema.json");
const SNAPSHOT_SCHEMA: &str = include_str!("../../docs/snapshot.schema.json");

/// This runtime's name in `suppressions.json` and in the conformance results.
const RUNTIME: &str = "native";
/// The evaluation time of a case without `now`: 2026-11-25T12:00:00Z.
const DEFAULT_NOW_MS: i64 = 1_795_608_000_000;

fn parse(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

#[derive(Debug, Default)]
struct Tally {
    passed: usize,
    failed: usize,
    suppressed: usize,
}

#[test]
fn every_vector_passes() {
    let suppressed = suppressions();
    let mut total = Tally::default();
    let mut failures = Vec::new();
    for (name, text) in FILES {
        let doc = parse(name, text);
        let tally = run_file(name, &doc, &suppressed, &mut failures);
        println!(
            "{name}: {}/{} passed, {} suppressed",
            tally.passed,
            tally.passed + tally.failed + tally.suppressed,
            tally.suppressed
        );
        total.passed += tally.passed;
        total.failed += tally.failed;
        total.suppressed += tally.suppressed;
    }
    let cases = total.passed + total.failed + total.suppressed;
    println!(
        "total: {}/{cases} passed, {} failed, {} suppressed",
        total.passed, total.failed, total.suppressed
    );
    write_conformance(&total);
    assert!(
        failures.is_empty(),
        "{} vector check(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The `(file, case)` pairs this runtime suppresses.
fn suppressions() -> BTreeSet<(String, String)> {
    let all = parse("suppressions.json", SUPPRESSIONS);
    let mine = all.get(RUNTIME).and_then(Value::as_array);
    mine.into_iter()
        .flatten()
        .map(|s| (text(s, "file"), text(s, "case")))
        .collect()
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_string()
}

fn run_file(
    name: &str,
    doc: &Value,
    suppressed: &BTreeSet<(String, String)>,
    failures: &mut Vec<String>,
) -> Tally {
    let bytes = serde_json::to_vec(&doc["snapshot"]).unwrap();
    let loaded = match Snapshot::load(&bytes) {
        Ok(loaded) => loaded,
        Err(e) => {
            failures.push(format!("{name}: the snapshot was refused: {e}"));
            let cases = doc["cases"].as_array().map_or(0, Vec::len);
            return Tally {
                failed: cases,
                ..Tally::default()
            };
        }
    };
    if let Some(problem) = compare_warnings(&doc["expectWarnings"], &loaded.warnings) {
        failures.push(format!("{name}: load warnings: {problem}"));
    }
    let mut tally = Tally::default();
    for case in doc["cases"].as_array().into_iter().flatten() {
        let case_name = text(case, "name");
        let outcome = run_case(&loaded.snapshot, case);
        let is_suppressed = suppressed.contains(&(name.to_string(), case_name.clone()));
        match (outcome, is_suppressed) {
            (Ok(()), false) => tally.passed += 1,
            (Err(_), true) => tally.suppressed += 1,
            (Ok(()), true) => {
                tally.failed += 1;
                failures.push(format!(
                    "{name} / {case_name}: passes but is suppressed; remove it from suppressions.json"
                ));
            }
            (Err(problem), false) => {
                tally.failed += 1;
                failures.push(format!("{name} / {case_name}: {problem}"));
            }
        }
    }
    tally
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
    let now = case.get("now").map_or(Some(DEFAULT_NOW_MS), Value::as_i64);
    let now = now.ok_or("`now` is not an integer")?;
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

fn compare(expected: &Value, actual: &Value) -> Result<(), String> {
    if same(expected, actual) {
        Ok(())
    } else {
        Err(format!("expected {expected}, got {actual}"))
    }
}

/// JSON equality where numbers compare as doubles (`2` equals `2.0`), as in every
/// JSON runtime.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn write_conformance(total: &Tally) {
    let dir = std::env::var_os("EDGEFLAG_CONFORMANCE_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/conformance"),
        PathBuf::from,
    );
    let summary = json!({
        "runtime": RUNTIME,
        "passed": total.passed,
        "failed": total.failed,
        "suppressed": total.suppressed,
        "total": total.passed + total.failed + total.suppressed,
    });
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{RUNTIME}.json")), format!("{summary}\n")).unwrap();
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

#[test]
fn index_lists_exactly_the_vector_files() {
    let index = parse("index.json", INDEX);
    let listed: Vec<&str> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let embedded: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        listed, embedded,
        "index.json and this runner list different files"
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.as_bytes().first().is_some_and(u8::is_ascii_digit) && name.ends_with(".json")
        })
        .collect();
    on_disk.sort();
    assert_eq!(
        listed, on_disk,
        "index.json must list every numbered file in tests/vectors/"
    );
    for (name, text) in FILES {
        let doc = parse(name, text);
        assert_eq!(
            doc["specVersion"], index["specVersion"],
            "{name}: specVersion"
        );
        assert_eq!(
            index["specVersion"],
            edgeflag_engine::SPEC_VERSION,
            "index.json specVersion"
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
                *name == file
                    && parse(name, body)["cases"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c["name"] == case.as_str())
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

#[test]
fn case_names_are_unique_within_a_file() {
    for (name, text) in FILES {
        let doc = parse(name, text);
        let mut seen = BTreeSet::new();
        for case in doc["cases"].as_array().unwrap() {
            let case_name = case["name"].as_str().unwrap();
            assert!(
                seen.insert(case_name),
                "{name}: duplicate case name `{case_name}`"
            );
        }
    }
}
