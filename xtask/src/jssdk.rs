//! The JS SDK (`js-sdk/`): its node packages, its build (the adapter crate for
//! `wasm32-unknown-unknown`, `wasm-bindgen --target web`, `tsc`) and its node,
//! Chromium and packaging suites. Nothing is downloaded but npm packages; Chromium
//! is Debian's (see `install.rs`).

use std::{fs, path::PathBuf, process::Command};

use crate::{root, target_dir};

const CRATE: &str = "edgeflag-js";
/// The files wasm-bindgen writes, which the package ships next to the compiled TypeScript.
const GLUE: &[&str] = &[
    "edgeflag_js.js",
    "edgeflag_js.d.ts",
    "edgeflag_js_bg.wasm",
    "edgeflag_js_bg.wasm.d.ts",
];

fn dir() -> PathBuf {
    root().join("js-sdk")
}

fn bin(name: &str) -> String {
    dir()
        .join("node_modules")
        .join(".bin")
        .join(name)
        .display()
        .to_string()
}

/// Runs `program` in `js-sdk/` with the package's node 22 first on `PATH`.
fn run_here(program: &str, args: &[&str]) -> Result<(), String> {
    let path = format!(
        "{}:{}",
        dir().join("node_modules").join(".bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new(program)
        .args(args)
        .current_dir(dir())
        .env("PATH", path)
        .env("EDGEFLAG_CONFORMANCE_DIR", crate::conformance_dir())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// `npm ci` unless `node_modules` matches the lockfile already.
fn npm_install() -> Result<(), String> {
    let lock = fs::metadata(dir().join("package-lock.json")).and_then(|m| m.modified());
    let installed = fs::metadata(dir().join("node_modules").join(".package-lock.json"))
        .and_then(|m| m.modified());
    let fresh = matches!((lock, installed), (Ok(a), Ok(b)) if b >= a);
    if fresh && PathBuf::from(bin("node")).exists() {
        return Ok(());
    }
    run_here("npm", &["ci", "--no-audit", "--no-fund"])
}

/// Builds `js-sdk/dist/`: the wasm, its glue, and the compiled TypeScript.
pub fn build() -> Result<(), String> {
    npm_install()?;
    crate::run(
        "cargo",
        &[
            "build",
            "-p",
            CRATE,
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm",
        ],
    )?;
    let wasm = target_dir()
        .join("wasm32-unknown-unknown")
        .join("wasm")
        .join("edgeflag_js.wasm");
    let glue = dir().join("ts").join("wasm");
    let home = std::env::var("HOME").unwrap_or_default();
    run_here(
        &format!("{home}/.cargo/bin/wasm-bindgen"),
        &[
            "--target",
            "web",
            "--remove-name-section",
            "--remove-producers-section",
            "--out-dir",
            &glue.display().to_string(),
            &wasm.display().to_string(),
        ],
    )?;
    let dist = dir().join("dist");
    let _ = fs::remove_dir_all(&dist);
    run_here(&bin("tsc"), &["-p", "tsconfig.json"])?;
    fs::create_dir_all(dist.join("wasm")).map_err(|e| format!("js-sdk/dist/wasm: {e}"))?;
    for file in GLUE {
        fs::copy(glue.join(file), dist.join("wasm").join(file))
            .map_err(|e| format!("copying {file} into js-sdk/dist/wasm: {e}"))?;
    }
    Ok(())
}

/// The node suites (vectors, client, OpenFeature, packaging) and the Chromium suite.
pub fn test() -> Result<(), String> {
    let mut files: Vec<String> = fs::read_dir(dir().join("test"))
        .map_err(|e| format!("js-sdk/test: {e}"))?
        .filter_map(Result::ok)
        .map(|e| format!("test/{}", e.file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".test.mjs"))
        .collect();
    files.sort();
    let mut args = vec!["--test"];
    args.extend(files.iter().map(String::as_str));
    run_here(&bin("node"), &args)
}
