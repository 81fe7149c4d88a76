//! The server SDKs (`sdk/rust`, `sdk/python`): the Rust client's tests (unit, shared
//! vectors, the OpenFeature provider, and the Worker on local workerd with the admin
//! publishing to it), then the Python wheel built once with maturin, installed into a
//! virtualenv with pip as a user would install a release, and its pytest suite (vectors,
//! client, OpenFeature provider, the same Worker scenario).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{install, root, target_dir};

/// Runs the suite.
pub fn test() -> Result<(), String> {
    crate::worker::build()?;
    crate::run(
        "cargo",
        &["build", "-p", "edgeflag-admin", "--bin", "edgeflag"],
    )?;
    let envs = stack_env();
    run_with(
        "cargo",
        &["test", "-p", "edgeflag", "--all-features"],
        &envs,
        &root(),
    )?;
    let wheel = python_wheel()?;
    let python = install::python_venv()?;
    let wheel = wheel.display().to_string();
    run_with(
        &python,
        &[
            "-m",
            "pip",
            "install",
            "-q",
            "--force-reinstall",
            "--no-deps",
            &wheel,
        ],
        &[],
        &root(),
    )?;
    run_with(
        &python,
        &["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        &envs,
        &root().join("sdk").join("python"),
    )
}

/// `cargo xtask python-wheel`: builds the abi3 wheel into `$CARGO_TARGET_DIR/wheels`
/// (release profile, maturin from the xtask virtualenv) and prints its path.
pub fn python_wheel_and_print() -> Result<(), String> {
    println!("{}", python_wheel()?.display());
    Ok(())
}

/// Builds the wheel and returns its path. The cargo build shares the target directory,
/// so a second run only relinks.
pub fn python_wheel() -> Result<PathBuf, String> {
    let python = install::python_venv()?;
    let out = target_dir().join("wheels");
    let _ = std::fs::remove_dir_all(&out);
    let maturin = Path::new(&python)
        .with_file_name("maturin")
        .display()
        .to_string();
    let out_arg = out.display().to_string();
    run_with(
        &maturin,
        &[
            "build",
            "--release",
            "--manifest-path",
            "sdk/python/Cargo.toml",
            "--out",
            &out_arg,
            "--interpreter",
            &python,
        ],
        &[("CARGO_TARGET_DIR", target_dir().display().to_string())],
        &root(),
    )?;
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match (wheels.pop(), wheels.is_empty()) {
        (Some(wheel), true) => Ok(wheel),
        _ => Err(format!("expected one wheel in {}", out.display())),
    }
}

/// Where the integration tests find the admin binary and the node that runs the stack.
fn stack_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "EDGEFLAG_ADMIN_BIN",
            target_dir()
                .join("debug")
                .join("edgeflag")
                .display()
                .to_string(),
        ),
        (
            "EDGEFLAG_NODE",
            crate::node::Package("edge-worker").bin("node"),
        ),
        ("WRANGLER_SEND_METRICS", "false".into()),
        ("CLOUDFLARE_CF_FETCH_ENABLED", "false".into()),
    ]
}

fn run_with(
    program: &str,
    args: &[&str],
    envs: &[(&str, String)],
    dir: &Path,
) -> Result<(), String> {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("EDGEFLAG_CONFORMANCE_DIR", crate::conformance_dir())
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}
