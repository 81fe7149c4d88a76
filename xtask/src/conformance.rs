//! The conformance table: per runtime, how many shared vectors passed, failed or are
//! suppressed. Each runtime's runner writes `<runtime>.json` into the conformance
//! directory; this only reads and prints them.

use std::{fs, path::Path};

use serde_json::Value;

/// Every runtime that must run the shared vectors, in the order the table lists them,
/// with the `cargo xtask test` suite that runs them (`None`: not built yet).
pub const RUNTIMES: &[(&str, Option<&str>)] = &[
    ("native", Some("rust")),
    ("wit-component", Some("wasm-host")),
    ("worker", Some("worker")),
    ("spin-app", Some("wasm-host")),
    ("js-node", Some("js-sdk")),
    ("js-chromium", Some("js-sdk")),
    ("rust-client", Some("sdks")),
    ("python", Some("sdks")),
];

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub suppressed: u64,
    pub total: u64,
}

fn read(dir: &Path, runtime: &str) -> Option<Counts> {
    let text = fs::read_to_string(dir.join(format!("{runtime}.json"))).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    Some(Counts {
        passed: n("passed"),
        failed: n("failed"),
        suppressed: n("suppressed"),
        total: n("total"),
    })
}

/// Prints the table; returns how many runtimes failed vectors, or produced no results
/// although their suite exists. `ran` lists the suites of this run (empty: any).
pub fn print(dir: &Path, ran: &[&str]) -> Result<usize, String> {
    println!();
    println!("Conformance (shared vectors, tests/vectors/):");
    println!(
        "{:<15} {:>7} {:>7} {:>11} {:>7}",
        "runtime", "passed", "failed", "suppressed", "total"
    );
    let mut bad = 0;
    for (runtime, suite) in RUNTIMES {
        let Some(suite) = suite else {
            println!("{runtime:<15} {:>7}", "not built yet");
            continue;
        };
        match read(dir, runtime) {
            Some(c) => {
                if c.failed > 0 || c.passed == 0 {
                    bad += 1;
                }
                println!(
                    "{:<15} {:>7} {:>7} {:>11} {:>7}",
                    runtime, c.passed, c.failed, c.suppressed, c.total
                );
            }
            None if ran.is_empty() || ran.contains(suite) => {
                bad += 1;
                println!("{runtime:<15} {:>7}", "no results");
            }
            None => println!("{runtime:<15} {:>7}", "not run"),
        }
    }
    Ok(bad)
}
