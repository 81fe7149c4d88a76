//! Install-if-missing for every tool the builds and tests need. Each step checks the
//! installed version first, so a prepared machine skips it; nothing is fetched from
//! anywhere but rustup, crates.io, npm and Debian.

use crate::{output_line, run as exec};

const TARGETS: &[&str] = &["wasm32-unknown-unknown", "wasm32-wasip2"];

/// The exact `wasm-bindgen` pinned in the workspace `Cargo.toml`; the CLI must match it.
pub const WASM_BINDGEN: &str = "0.2.130";

/// Tools installed with `cargo install`: (binary, crate, exact version, `--locked`).
/// Only what a suite in `suites.rs` uses belongs here: on a fresh machine every entry
/// is a compile from crates.io that CI pays for (together about 20 minutes).
/// `wasm-bindgen-cli` goes without `--locked`: its lockfile pins a yanked crate.
const CARGO_TOOLS: &[(&str, &str, &str, bool)] = &[
    ("wasm-bindgen", "wasm-bindgen-cli", WASM_BINDGEN, false),
    ("worker-build", "worker-build", "0.8.7", true),
];

/// Debian packages as (package, a path it installs). The admin's PostgreSQL suite
/// will add `postgresql`.
const APT: &[(&str, &str)] = &[
    // The admin-postgres suite starts a throwaway cluster from Debian's PostgreSQL.
    ("postgresql", "/usr/lib/postgresql"),
    // The JS SDK's browser suite drives Debian's Chromium (never a downloaded one).
    ("chromium", "/usr/bin/chromium"),
    ("chromium-driver", "/usr/bin/chromedriver"),
];

pub fn run_all() -> Result<(), String> {
    rust_targets()?;
    for (binary, krate, version, locked) in CARGO_TOOLS {
        cargo_tool(binary, krate, version, *locked)?;
    }
    apt_packages()?;
    python_venv().map(drop)
}

/// The pinned Python tools of the `sdks` suite (maturin, pytest, the OpenFeature SDK).
const PYTHON_REQUIREMENTS: &str = "sdk/python/requirements-dev.txt";

/// The virtualenv of the Python SDK's build and tests, `$CARGO_TARGET_DIR/python/venv`,
/// made with the machine's `python3` (3.9 or newer) and kept out of the system
/// site-packages. Creates it if missing and installs the pinned requirements (pip skips
/// what is already there, without asking PyPI). Returns its `python`.
pub fn python_venv() -> Result<String, String> {
    let venv = crate::target_dir().join("python").join("venv");
    let python = venv.join("bin").join("python").display().to_string();
    if !std::path::Path::new(&python).exists() {
        println!("xtask install: a Python virtualenv at {}", venv.display());
        exec("python3", &["-m", "venv", &venv.display().to_string()])?;
    }
    let requirements = crate::root()
        .join(PYTHON_REQUIREMENTS)
        .display()
        .to_string();
    exec(
        &python,
        &[
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            &requirements,
        ],
    )?;
    Ok(python)
}

pub fn run() -> Result<(), String> {
    run_all()?;
    println!("xtask install: everything is in place");
    Ok(())
}

fn rust_targets() -> Result<(), String> {
    let installed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    let installed = String::from_utf8_lossy(&installed.stdout);
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut args = vec!["target", "add"];
    args.extend(missing);
    exec("rustup", &args)
}

/// `cargo install` of `krate` at `version` unless `binary --version` already reports it.
/// wasm-bindgen-cli must be installed without `--locked`: its lockfile pins a yanked crate.
fn cargo_tool(binary: &str, krate: &str, version: &str, locked: bool) -> Result<(), String> {
    let reported = output_line(binary, &["--version"]).unwrap_or_default();
    if reported.split_whitespace().any(|word| word == version) {
        return Ok(());
    }
    println!(
        "xtask install: {krate} {version} (found: {reported:?}); this compiles from crates.io"
    );
    let mut args = vec!["install", krate, "--version", version];
    if locked {
        args.push("--locked");
    }
    exec("cargo", &args)
}

fn apt_packages() -> Result<(), String> {
    let missing: Vec<&str> = APT
        .iter()
        .filter(|(_, path)| !std::path::Path::new(path).exists())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("xtask install: apt-get install {}", missing.join(" "));
    exec("apt-get", &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(missing);
    let status = std::process::Command::new("apt-get")
        .args(&args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("apt-get install failed ({status})"))
    }
}
