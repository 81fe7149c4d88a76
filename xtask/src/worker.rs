//! The Cloudflare Worker: its node packages, its build with worker-build using only
//! local tools (no downloads), its dry-run deploy and its test suite on local workerd.

use std::{fs, path::PathBuf, process::Command};

use crate::root;

fn dir() -> PathBuf {
    root().join("edge-worker")
}

fn bin(name: &str) -> PathBuf {
    dir().join("node_modules").join(".bin").join(name)
}

/// `PATH` with the package's node 22 first: wrangler and miniflare need it, the
/// machine's node may be older.
fn path_with_node() -> String {
    let bins = dir().join("node_modules").join(".bin");
    format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn run_in(
    program: &str,
    args: &[&str],
    envs: &[(&str, String)],
    cwd: PathBuf,
) -> Result<(), String> {
    let status = Command::new(program)
        .args(args)
        .current_dir(&cwd)
        .env("PATH", path_with_node())
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

/// `npm ci` unless `node_modules` matches the lockfile already.
pub fn npm_install() -> Result<(), String> {
    let lock = dir().join("package-lock.json");
    let installed = dir().join("node_modules").join(".package-lock.json");
    let fresh = match (fs::metadata(&lock), fs::metadata(&installed)) {
        (Ok(a), Ok(b)) => b.modified().ok() >= a.modified().ok(),
        _ => false,
    };
    if fresh && bin("node").exists() {
        return Ok(());
    }
    run_in("npm", &["ci", "--no-audit", "--no-fund"], &[], dir())
}

/// Builds `edge-worker/build/` with worker-build, pointing it at local tools.
pub fn build() -> Result<(), String> {
    npm_install()?;
    let home = std::env::var("HOME").unwrap_or_default();
    let envs = [
        (
            "WASM_BINDGEN_BIN",
            format!("{home}/.cargo/bin/wasm-bindgen"),
        ),
        ("WASM_OPT_BIN", bin("wasm-opt").display().to_string()),
        ("ESBUILD_BIN", bin("esbuild").display().to_string()),
    ];
    run_in("worker-build", &["--profile", "wasm"], &envs, dir())
}

/// Wrangler without telemetry, without network look-ups, and with its state in the repo.
fn wrangler_env() -> Vec<(&'static str, String)> {
    vec![
        ("WRANGLER_SEND_METRICS", "false".into()),
        ("CLOUDFLARE_CF_FETCH_ENABLED", "false".into()),
        (
            "XDG_CONFIG_HOME",
            root()
                .join(".wrangler")
                .join("config")
                .display()
                .to_string(),
        ),
    ]
}

/// `wrangler deploy --dry-run`: proves the bundle and wrangler.toml are deployable.
pub fn dry_run_deploy() -> Result<(), String> {
    let out = crate::target_dir().join("wrangler-dry-run");
    let out = out.display().to_string();
    let wrangler = bin("wrangler").display().to_string();
    run_in(
        &wrangler,
        &["deploy", "--dry-run", "--outdir", &out],
        &wrangler_env(),
        root(),
    )
}

/// The node suite on Miniflare (local workerd).
pub fn test() -> Result<(), String> {
    let mut files: Vec<String> = fs::read_dir(dir().join("test"))
        .map_err(|e| format!("edge-worker/test: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| format!("test/{}", e.file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".test.mjs"))
        .collect();
    files.sort();
    let mut args = vec!["--test"];
    args.extend(files.iter().map(String::as_str));
    let node = bin("node").display().to_string();
    run_in(&node, &args, &wrangler_env(), dir())
}
