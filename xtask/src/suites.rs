//! `cargo xtask test`: every suite, in an order that builds the cheap things first.
//! A failing suite does not stop the run, so one run reports every failure; the run
//! fails if any suite failed, and ends with a `suites: N passed, N failed` line.

use std::time::Instant;

use crate::{conformance, conformance_dir, install};

struct Suite {
    name: &'static str,
    what: &'static str,
    steps: &'static [Step],
}

/// One step of a suite: a command run in the repository root, or a function of xtask.
enum Step {
    Cmd(&'static str, &'static [&'static str]),
    Fn(fn() -> Result<(), String>),
}

impl Step {
    fn run(&self) -> Result<(), String> {
        match self {
            Self::Cmd(program, args) => crate::run(program, args),
            Self::Fn(f) => f(),
        }
    }
}

const SUITES: &[Suite] = &[
    Suite {
        name: "fmt",
        what: "rustfmt check",
        steps: &[Step::Cmd("cargo", &["fmt", "--all", "--", "--check"])],
    },
    Suite {
        name: "clippy",
        what: "clippy, warnings denied: native crates, and the Worker for wasm32",
        steps: &[
            Step::Cmd(
                "cargo",
                &[
                    "clippy",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ],
            ),
            Step::Cmd(
                "cargo",
                &[
                    "clippy",
                    "-p",
                    "edgeflag-worker",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--",
                    "-D",
                    "warnings",
                ],
            ),
        ],
    },
    Suite {
        name: "rust",
        what: "unit, vector, property and router tests of the native crates",
        // The wasm host's tests need the built components: they run in `wasm-host`. The
        // server SDKs' tests need the built Worker and the Python wheel: they run in `sdks`.
        steps: &[Step::Cmd(
            "cargo",
            &[
                "test",
                "--all-features",
                "--workspace",
                "--exclude",
                "edgeflag-wasm-host",
                "--exclude",
                "edgeflag",
                "--exclude",
                "edgeflag-python",
            ],
        )],
    },
    Suite {
        name: "admin-postgres",
        what: "the admin's router and domain tests again on a throwaway PostgreSQL cluster (Debian's postgresql)",
        steps: &[Step::Fn(crate::adminpg::test)],
    },
    Suite {
        name: "engine-wasm",
        what: "the engine builds for wasm32-unknown-unknown without std; its size against the budget",
        steps: &[
            Step::Cmd(
                "cargo",
                &[
                    "build",
                    "-p",
                    "edgeflag-engine",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--profile",
                    "wasm",
                ],
            ),
            // Reports, and does not fail on, the size budget (BENCHMARKS.md says why it is missed).
            Step::Fn(crate::size::report),
        ],
    },
    Suite {
        name: "wasm-host",
        what: "the engine WIT component and the Spin app in wasmtime: vectors vs native, the Worker scenarios on Spin",
        steps: &[Step::Fn(crate::spin::test)],
    },
    Suite {
        name: "worker",
        what: "the Cloudflare Worker on local workerd: build, dry-run deploy, node suite with OpenFeature clients",
        steps: &[
            Step::Fn(crate::worker::build),
            Step::Fn(crate::worker::dry_run_deploy),
            Step::Fn(crate::worker::test),
        ],
    },
    Suite {
        name: "js-sdk",
        what: "the JS SDK: wasm-bindgen + tsc build; vectors, client and OpenFeature suites in node and Chromium; npm pack",
        steps: &[Step::Fn(crate::jssdk::build), Step::Fn(crate::jssdk::test)],
    },
    Suite {
        name: "ui",
        what: "the dashboard in Chromium against a real admin and the Worker: flows, roles, axe-core, keyboard, screenshots",
        steps: &[Step::Fn(crate::ui::test)],
    },
    Suite {
        name: "sdks",
        what: "the Rust and Python server SDKs: unit, vectors, OpenFeature; the wheel pip-installed; both against the Worker and the admin",
        steps: &[Step::Fn(crate::sdks::test)],
    },
    Suite {
        name: "e2e",
        what: "end to end across processes: admin (SQLite) publishes to the Worker and the Spin app; OFREP and JS SDK clients; key rotations",
        steps: &[Step::Fn(crate::e2e::test)],
    },
];

pub fn run(selected: &[String]) -> Result<(), String> {
    let chosen: Vec<&Suite> = SUITES
        .iter()
        .filter(|s| selected.is_empty() || selected.iter().any(|n| n == s.name))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = SUITES.iter().map(|s| s.name).collect();
        return Err(format!("no such suite; suites are: {}", names.join(", ")));
    }
    install::run_all()?;
    let _ = std::fs::remove_dir_all(conformance_dir());
    let run_started = Instant::now();
    let mut results = Vec::new();
    for suite in chosen {
        println!("\n=== {} — {}", suite.name, suite.what);
        let started = Instant::now();
        let outcome = suite.steps.iter().try_for_each(Step::run);
        let secs = started.elapsed().as_secs();
        match &outcome {
            Ok(()) => println!("=== {}: passed in {secs} s", suite.name),
            Err(e) => println!("=== {}: FAILED in {secs} s: {e}", suite.name),
        }
        results.push((suite.name, outcome.is_ok(), secs));
    }
    let ran: Vec<&str> = results.iter().map(|(name, _, _)| *name).collect();
    let bad_runtimes = conformance::print(&conformance_dir(), &ran)?;
    println!("\nSuites:");
    for (name, ok, secs) in &results {
        println!(
            "  {name:<14} {:<7} {secs:>5} s",
            if *ok { "passed" } else { "FAILED" }
        );
    }
    let passed = results.iter().filter(|r| r.1).count();
    let failed = results.len() - passed;
    println!(
        "  {:<14} {:<7} {:>5} s",
        "total",
        "",
        run_started.elapsed().as_secs()
    );
    if bad_runtimes > 0 {
        println!("{bad_runtimes} runtime(s) have failing vectors or no results");
    }
    // The summary is the last line, for CI to read; the exit code carries the verdict.
    println!("suites: {passed} passed, {failed} failed");
    if failed > 0 || bad_runtimes > 0 {
        return Err(String::new());
    }
    Ok(())
}
