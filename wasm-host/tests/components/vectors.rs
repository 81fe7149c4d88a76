//! The shared vectors (`tests/vectors/`), embedded, and the helpers both runners use.

use std::{collections::BTreeSet, path::PathBuf};

use serde_json::{Value, json};

macro_rules! vector_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../tests/vectors/", $name)))),*]
    };
}

/// Every vector file, in `index.json` order (checked below).
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
];

const INDEX: &str = include_str!("../../../tests/vectors/index.json");
const SUPPRESSIONS: &str = include_str!("../../../tests/vectors/suppressions.json");

/// The evaluation time of a case without `now`: 2026-11-25T12:00:00Z.
pub const DEFAULT_NOW_MS: i64 = 1_795_608_000_000;

pub fn parse(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

pub fn now(case: &Value) -> i64 {
    case.get("now")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_NOW_MS)
}

/// The `(file, case)` pairs `runtime` suppresses.
pub fn suppressions(runtime: &str) -> BTreeSet<(String, String)> {
    let all = parse("suppressions.json", SUPPRESSIONS);
    all.get(runtime)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| (text(s, "file"), text(s, "case")))
        .collect()
}

pub fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_string()
}

/// JSON equality where numbers compare as doubles (`2` equals `2.0`).
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

/// Pass/fail/suppressed counts, as the conformance table reads them.
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
                self.failures
                    .push(format!("{label}: passes but is suppressed; remove it"));
            }
            (Err(problem), false) => {
                self.failed += 1;
                self.failures.push(format!("{label}: {problem}"));
            }
        }
    }

    /// Writes `<runtime>.json` for `cargo xtask conformance`, then fails on any failure.
    pub fn finish(self, runtime: &str) {
        let total = self.passed + self.failed + self.suppressed;
        println!(
            "{runtime}: {}/{total} passed, {} failed, {} suppressed",
            self.passed, self.failed, self.suppressed
        );
        let dir = std::env::var_os("EDGEFLAG_CONFORMANCE_DIR").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/conformance"),
            PathBuf::from,
        );
        let summary = json!({"runtime": runtime, "passed": self.passed, "failed": self.failed,
            "suppressed": self.suppressed, "total": total});
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{runtime}.json")), format!("{summary}\n")).unwrap();
        assert!(
            self.failures.is_empty(),
            "{} vector check(s) failed:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(self.passed > 500, "only {} vectors passed", self.passed);
    }
}

#[test]
fn the_embedded_list_is_index_json() {
    let index = parse("index.json", INDEX);
    let listed: Vec<&str> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let embedded: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
    assert_eq!(listed, embedded, "add the new vector file to FILES");
}
