//! The Spin app and the engine component: their wasm builds, and the `wasm-host`
//! suite that runs both in the wasmtime host (`wasm-host/`).
//!
//! - The Spin app (`spin-app/`) builds for `wasm32-wasip2`; rustc links it as a
//!   component itself (spin-sdk 7, WASIp3 exports).
//! - The engine component (`wit/component/`) builds for `wasm32-unknown-unknown`,
//!   linked by rustup's `wasm-component-ld` so the core module becomes a component
//!   with no imports. The linker is passed with `cargo rustc` to that crate only, so
//!   the other wasm32-unknown-unknown builds (Worker, JS SDK) keep their fingerprints.

use std::{path::PathBuf, process::Command};

use crate::{conformance_dir, output_line, root, target_dir};

/// The built components, by the environment variable the host reads them from.
pub struct Components {
    pub engine: PathBuf,
    pub spin: PathBuf,
}

impl Components {
    fn env(&self) -> [(&'static str, PathBuf); 2] {
        [
            ("EDGEFLAG_ENGINE_COMPONENT", self.engine.clone()),
            ("EDGEFLAG_SPIN_COMPONENT", self.spin.clone()),
        ]
    }
}

/// `cargo xtask build-components`: builds both and prints where they are.
pub fn build_and_print() -> Result<(), String> {
    let built = build()?;
    for (var, path) in built.env() {
        println!("export {var}={}", path.display());
    }
    Ok(())
}

/// Builds both components: the engine component with the size-first `wasm` profile,
/// the Spin app with `wasm-speed` (see the root Cargo.toml).
pub fn build() -> Result<Components, String> {
    cargo(&[
        "build",
        "-p",
        "edgeflag-spin",
        "--target",
        "wasm32-wasip2",
        "--profile",
        "wasm-speed",
    ])?;
    let linker = format!("linker={}", component_linker()?);
    cargo(&[
        "rustc",
        "-p",
        "edgeflag-component",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm",
        "--crate-type",
        "cdylib",
        "--",
        "-C",
        &linker,
    ])?;
    let dir = target_dir();
    Ok(Components {
        engine: dir.join("wasm32-unknown-unknown/wasm/edgeflag_component.wasm"),
        spin: dir.join("wasm32-wasip2/wasm-speed/edgeflag_spin.wasm"),
    })
}

/// rustup's `wasm-component-ld`, in the toolchain's sysroot.
fn component_linker() -> Result<String, String> {
    let sysroot = output_line("rustc", &["--print", "sysroot"]).ok_or("cannot run rustc")?;
    let host =
        output_line("rustc", &["--print", "host-tuple"]).ok_or("cannot ask rustc for its host")?;
    let path = PathBuf::from(sysroot).join(format!("lib/rustlib/{host}/bin/wasm-component-ld"));
    if path.is_file() {
        Ok(path.display().to_string())
    } else {
        Err(format!(
            "{} is missing; it ships with rustup's Rust toolchain",
            path.display()
        ))
    }
}

fn cargo(args: &[&str]) -> Result<(), String> {
    crate::run("cargo", args)
}

/// The `wasm-host` suite: build both components, clippy them for their targets,
/// then run the host's tests against them (vectors for `wit-component` and
/// `spin-app`, the Worker suite's scenarios on Spin).
pub fn test() -> Result<(), String> {
    let built = build()?;
    for (package, target) in [
        ("edgeflag-spin", "wasm32-wasip2"),
        ("edgeflag-component", "wasm32-unknown-unknown"),
    ] {
        cargo(&[
            "clippy", "-p", package, "--target", target, "--", "-D", "warnings",
        ])?;
    }
    let status = Command::new("cargo")
        .args(["test", "-p", "edgeflag-wasm-host"])
        .current_dir(root())
        .env("EDGEFLAG_CONFORMANCE_DIR", conformance_dir())
        .envs(built.env())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo test -p edgeflag-wasm-host` failed ({status})"
        ))
    }
}
