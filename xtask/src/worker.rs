//! The Cloudflare Worker: its node packages, its build with worker-build using only
//! local tools (no downloads), its dry-run deploy and its test suite on local workerd.

use crate::{node::Package, root};

const PKG: Package = Package("edge-worker");

/// `npm ci` unless `node_modules` matches the lockfile already.
pub fn npm_install() -> Result<(), String> {
    PKG.install()
}

/// Builds `edge-worker/build/` with worker-build, pointing it at local tools, then
/// installs the Worker's own entry point (`edge-worker/js/entry.mjs`, the OFREP fast
/// path) as `build/worker/shim.mjs` over worker-build's re-export of `index.js`.
pub fn build() -> Result<(), String> {
    npm_install()?;
    let home = std::env::var("HOME").unwrap_or_default();
    let envs = [
        (
            "WASM_BINDGEN_BIN",
            format!("{home}/.cargo/bin/wasm-bindgen"),
        ),
        ("WASM_OPT_BIN", PKG.bin("wasm-opt")),
        ("ESBUILD_BIN", PKG.bin("esbuild")),
    ];
    PKG.run("worker-build", &["--profile", "wasm"], &envs)?;
    let entry = PKG.dir().join("js").join("entry.mjs");
    let shim = PKG.dir().join("build").join("worker").join("shim.mjs");
    std::fs::copy(&entry, &shim)
        .map(drop)
        .map_err(|e| format!("cannot copy {} to {}: {e}", entry.display(), shim.display()))
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
    let wrangler = PKG.bin("wrangler");
    // From the repository root, where wrangler.toml is.
    let status = std::process::Command::new(&wrangler)
        .args(["deploy", "--dry-run", "--outdir", &out])
        .current_dir(root())
        .env("PATH", path_with_node())
        .envs(wrangler_env())
        .status()
        .map_err(|e| format!("cannot run {wrangler}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`wrangler deploy --dry-run` failed ({status})"))
    }
}

/// The node suite on Miniflare (local workerd). Node 22 keeps `EventSource` behind a
/// flag; the OFREP web provider needs it for live updates.
pub fn test() -> Result<(), String> {
    let mut envs = wrangler_env();
    envs.push(("NODE_OPTIONS", EVENTSOURCE.into()));
    PKG.node_test("test", &envs)
}

/// The node option that gives node 22 a global `EventSource` (undici's).
pub const EVENTSOURCE: &str = "--experimental-eventsource";

/// `PATH` with the package's node 22 first.
pub fn path_with_node() -> String {
    format!(
        "{}:{}",
        PKG.dir().join("node_modules").join(".bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
