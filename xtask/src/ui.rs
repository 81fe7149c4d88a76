//! The dashboard (`admin/ui/`): its build and its browser suite.
//!
//! `build` makes `admin/ui/dist/`, which `admin/build.rs` embeds in the `edgeflag` binary:
//! the JS SDK adapter for `wasm32-unknown-unknown` with its `preview` feature (the unsigned
//! draft preview, never in the SDK's own build), wasm-bindgen's glue into
//! `admin/ui/build/wasm/`, a type check (`tsc`), then esbuild (`build.mjs`), which also
//! checks the first-load budget. Run it before building the admin, or `/` serves a page
//! saying the dashboard is not built.
//!
//! `test` builds the dashboard, the Worker and the admin, then runs `admin/ui/test/` in
//! Debian's Chromium through playwright-core against a real `edgeflag serve`; screenshots
//! go to `<target>/ui-screenshots/`.

use std::fs;

use crate::{node::Package, target_dir};

const PKG: Package = Package("admin/ui");

pub fn build() -> Result<(), String> {
    PKG.install()?;
    crate::run(
        "cargo",
        &[
            "build",
            "-p",
            "edgeflag-js",
            "--features",
            "preview",
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
    let glue = PKG.dir().join("build").join("wasm");
    let _ = fs::remove_dir_all(&glue);
    let home = std::env::var("HOME").unwrap_or_default();
    PKG.run(
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
        &[],
    )?;
    PKG.run(&PKG.bin("tsc"), &["-p", "tsconfig.json"], &[])?;
    PKG.run(&PKG.bin("node"), &["build.mjs"], &[])
}

/// Where the browser suite leaves its screenshots for a reviewer.
pub fn screenshots_dir() -> std::path::PathBuf {
    target_dir().join("ui-screenshots")
}

pub fn test() -> Result<(), String> {
    build()?;
    crate::worker::build()?;
    crate::run(
        "cargo",
        &["build", "-p", "edgeflag-admin", "--bin", "edgeflag"],
    )?;
    let admin = target_dir().join("debug").join("edgeflag");
    PKG.node_test(
        "test",
        &[
            ("EDGEFLAG_ADMIN_BIN", admin.display().to_string()),
            (
                "EDGEFLAG_UI_SCREENSHOTS",
                screenshots_dir().display().to_string(),
            ),
        ],
    )?;
    println!("screenshots: {}", screenshots_dir().display());
    Ok(())
}
