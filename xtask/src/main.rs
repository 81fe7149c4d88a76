//! `cargo xtask`: the project's automation, for what cargo cannot do on its own.
//!
//! - `install`      install what is missing (rustup targets, wasm tools from crates.io,
//!   Debian packages), each version-checked so a machine that has it skips the step;
//! - `test`         every test suite, the same command CI runs; ends with a summary line;
//! - `conformance`  the per-runtime table of shared-vector results;
//! - `build-worker` the Cloudflare Worker with worker-build and local tools (wrangler's build command);
//! - `build-ui`     the dashboard (`admin/ui/dist/`), which the admin binary embeds;
//! - `pack-js`      the JS SDK's npm tarball (`target/npm/edgeflag-js-<version>.tgz`), as a release publishes it;
//! - `python-wheel` the Python SDK's abi3 wheel with maturin, into `$CARGO_TARGET_DIR/wheels`;
//! - `size`         the engine's size as WebAssembly against its budget, and the other wasm artifacts;
//! - `up`           the whole system locally: admin on SQLite, the Worker on local workerd,
//!   demo flags published (see `demo.rs`).
//!
//! It depends on nothing but `serde_json`, runs plain processes, and stops every process it starts.

mod adminpg;
mod conformance;
mod demo;
mod e2e;
mod install;
mod jssdk;
mod node;
mod sdks;
mod size;
mod spin;
mod suites;
mod ui;
mod worker;

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("install") => install::run(),
        Some("test") => suites::run(args.get(1..).unwrap_or_default()),
        Some("conformance") => conformance::print(&conformance_dir(), &[]).map(|_| ()),
        Some("up") => demo::up(),
        Some("build-worker") => worker::build(),
        Some("build-ui") => ui::build(),
        Some("build-components") => spin::build_and_print(),
        Some("size") => size::report(),
        Some("pack-js") => jssdk::pack_and_print(),
        Some("python-wheel") => sdks::python_wheel_and_print(),
        _ => {
            eprintln!(
                "usage: cargo xtask <install | test [suite…] | conformance | build-worker | build-ui | build-components | pack-js | python-wheel | size | up>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("xtask: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the parent of this crate's directory).
pub fn root() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR for the program too; prefer it to the
    // compile-time value, which is stale when a target directory outside the clone
    // (as CI uses) holds an xtask built from another checkout.
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Where runtimes drop their `<runtime>.json` vector results.
pub fn conformance_dir() -> PathBuf {
    env::var_os("EDGEFLAG_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("conformance"))
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` as cargo does.
pub fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Runs a command in the repository root, inheriting stdio; fails on a non-zero exit.
pub fn run(program: &str, args: &[&str]) -> Result<(), String> {
    // Vector runners write their results where `conformance` reads them.
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .env("EDGEFLAG_CONFORMANCE_DIR", conformance_dir())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// The first line a command prints, if it runs at all (used for version checks).
pub fn output_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}
