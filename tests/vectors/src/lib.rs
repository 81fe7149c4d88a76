//! The shared test vectors of `tests/vectors/` for Rust runners: the native engine
//! (`engine/tests/vectors.rs`) and the wasmtime host (`wasm-host/tests/`). Every file is
//! embedded with `include_str!`, so a runner needs no file system. Depend on it as a
//! dev-dependency only: it is test support, and [`Tally::finish`] panics on a failure.

use std::{collections::BTreeSet, path::PathBuf};

use serde_json::{Value, json};

/// Embeds each named vector file as `(name, text)`.
macro_rules! vector_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../", $name)))),*]
    };
}

/// Every vector file, in `index.json` order (a test below keeps the two equal).
pub const FILES: &[(&str, &str)] = vector_files![
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
    "15-regex.json",
    "16-spec-edges.json",
    "17-client-snapshots.json",
];

pub const INDEX: &str = include_str!("../index.json");
pub const SUPPRESSIONS: &str = include_str!("../suppressions.json");
pub const VECTORS_SCHEMA: &str = include_str!("../vectors.schema.json");

/// The evaluation time of a case without `now`: 2026-11-25T12:00:00Z.
pub const DEFAULT_NOW_MS: i64 = 1_795_608_000_000;

/// Parses an embedded file; a file that is not JSON is a broken checkout.
pub fn parse(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// A case's evaluation time: its `now`, or [`DEFAULT_NOW_MS`]; `None` if `now` is not an integer.
pub fn now(case: &Value) -> Option<i64> {
    case.get("now").map_or(Some(DEFAULT_NOW_MS), Value::as_i64)
}

/// A string field, or `""`.
pub fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_string()
}

/// The `(file, case)` pairs `runtime` suppresses in `suppressions.json`.
pub fn suppressions(runtime: &str) -> BTreeSet<(String, String)> {
    let all = parse("suppressions.json", SUPPRESSIONS);
    all.get(runtime)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| (text(s, "file"), text(s, "case")))
        .collect()
}

/// JSON equality where numbers compare as doubles (`2` equals `2.0`), as in every
/// JSON runtime.
pub fn same(a: &Value, b: &Value) -> bool {
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

/// `Ok` if `actual` is the same JSON as `expected`, else a message saying both.
pub fn compare(expected: &Value, actual: &Value) -> Result<(), String> {
    if same(expected, actual) {
        Ok(())
    } else {
        Err(format!("expected {expected}, got {actual}"))
    }
}

/// Pass/fail/suppressed counts of one runtime, as the conformance table reads them.
#[derive(Debug, Default)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub suppressed: usize,
    pub failures: Vec<String>,
}

impl Tally {
    /// Records one case; a suppressed case that passes is a failure, so the list stays honest.
    pub fn record(&mut self, label: String, outcome: Result<(), String>, suppressed: bool) {
        match (outcome, suppressed) {
            (Ok(()), false) => self.passed += 1,
            (Err(_), true) => self.suppressed += 1,
            (Ok(()), true) => {
                self.failed += 1;
                self.failures.push(format!(
                    "{label}: passes but is suppressed; remove it from suppressions.json"
                ));
            }
            (Err(problem), false) => {
                self.failed += 1;
                self.failures.push(format!("{label}: {problem}"));
            }
        }
    }

    /// A problem that is not one case's (a refused snapshot, wrong load warnings).
    pub fn fail(&mut self, problem: String) {
        self.failures.push(problem);
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.suppressed
    }

    /// Writes `<runtime>.json` into `$EDGEFLAG_CONFORMANCE_DIR` (default
    /// `target/conformance/`) for `cargo xtask conformance`, then panics on any failure.
    pub fn finish(self, runtime: &str) {
        let total = self.total();
        println!(
            "{runtime}: {}/{total} passed, {} failed, {} suppressed",
            self.passed, self.failed, self.suppressed
        );
        let dir = std::env::var_os("EDGEFLAG_CONFORMANCE_DIR").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/conformance"),
            PathBuf::from,
        );
        let summary = json!({"runtime": runtime, "passed": self.passed, "failed": self.failed,
            "suppressed": self.suppressed, "total": total});
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            std::fs::write(dir.join(format!("{runtime}.json")), format!("{summary}\n"))
        });
        if let Err(e) = written {
            panic!("cannot write {runtime}.json into {}: {e}", dir.display());
        }
        assert!(
            self.failures.is_empty(),
            "{} vector check(s) failed:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(self.passed > 500, "only {} vectors passed", self.passed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_list_is_index_json_and_the_files_on_disk() {
        let index = parse("index.json", INDEX);
        let listed: Vec<&str> = index["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let embedded: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed, embedded, "add the new vector file to FILES");
        let mut on_disk: Vec<String> = std::fs::read_dir(env!("CARGO_MANIFEST_DIR"))
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
    }

    #[test]
    fn numbers_compare_as_doubles_and_structure_counts() {
        assert!(same(&json!({"a": [2, 1.5]}), &json!({"a": [2.0, 1.5]})));
        assert!(!same(&json!({"a": 1}), &json!({"a": 1, "b": null})));
        assert!(!same(&json!([1, 2]), &json!([2, 1])));
        assert!(compare(&json!("x"), &json!("y")).is_err());
    }

    #[test]
    fn a_suppressed_case_that_passes_is_a_failure() {
        let mut tally = Tally::default();
        tally.record("f / a".into(), Ok(()), false);
        tally.record("f / b".into(), Err("no".into()), true);
        tally.record("f / c".into(), Ok(()), true);
        tally.record("f / d".into(), Err("wrong".into()), false);
        assert_eq!((tally.passed, tally.suppressed, tally.failed), (1, 1, 2));
        assert_eq!(tally.failures.len(), 2);
        assert!(tally.failures[0].contains("passes but is suppressed"));
    }
}
