//! The JS SDK (`js-sdk/`): its node packages, its build (the adapter crate for
//! `wasm32-unknown-unknown`, `wasm-bindgen --target web`, `tsc`) and its node,
//! Chromium and packaging suites. Nothing is downloaded but npm packages; Chromium
//! is Debian's (see `install.rs`).

use std::{fs, path::PathBuf};

use crate::{node::Package, target_dir};

const PKG: Package = Package("js-sdk");
const CRATE: &str = "edgeflag-js";
/// The files wasm-bindgen writes, which the package ships next to the compiled TypeScript.
const GLUE: &[&str] = &[
    "edgeflag_js.js",
    "edgeflag_js.d.ts",
    "edgeflag_js_bg.wasm",
    "edgeflag_js_bg.wasm.d.ts",
];

fn run_here(program: &str, args: &[&str]) -> Result<(), String> {
    PKG.run(program, args, &[])
}

/// Builds `js-sdk/dist/`: the wasm, its glue, and the compiled TypeScript.
pub fn build() -> Result<(), String> {
    PKG.install()?;
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
    let glue = PKG.dir().join("ts").join("wasm");
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
    let dist = PKG.dir().join("dist");
    let _ = fs::remove_dir_all(&dist);
    run_here(&PKG.bin("tsc"), &["-p", "tsconfig.json"])?;
    fs::create_dir_all(dist.join("wasm")).map_err(|e| format!("js-sdk/dist/wasm: {e}"))?;
    for file in GLUE {
        fs::copy(glue.join(file), dist.join("wasm").join(file))
            .map_err(|e| format!("copying {file} into js-sdk/dist/wasm: {e}"))?;
    }
    Ok(())
}

/// Builds the package and packs it as npm would publish it: `target/npm/edgeflag-js-<version>.tgz`.
/// Returns the tarball's path; `npm install <path>` installs it as the registry would.
pub fn pack() -> Result<PathBuf, String> {
    build()?;
    let out = target_dir().join("npm");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    run_here(
        "npm",
        &[
            "pack",
            "--silent",
            "--pack-destination",
            &out.display().to_string(),
        ],
    )?;
    fs::read_dir(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .ok_or_else(|| format!("npm pack wrote no tarball into {}", out.display()))
}

/// `cargo xtask pack-js`: the tarball, and how to install it.
pub fn pack_and_print() -> Result<(), String> {
    let tarball = pack()?;
    println!("{}", tarball.display());
    eprintln!("install it with: npm install {}", tarball.display());
    Ok(())
}

/// The node suites (vectors, client, OpenFeature, packaging) and the Chromium suite.
pub fn test() -> Result<(), String> {
    PKG.node_test("test", &[])
}
