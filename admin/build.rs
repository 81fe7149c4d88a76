//! Embeds the dashboard in the `edgeflag` binary: every file of `ui/dist/` (built from
//! `ui/src/` by `cargo xtask build-ui`) becomes a static byte slice, with its gzip sibling
//! when the build wrote one, in `$OUT_DIR/ui_assets.rs`, which `src/ui.rs` includes.
//!
//! Without a built dashboard (a fresh clone) the table is empty and `/` serves a page that
//! says how to build it: `cargo build` never needs node.
//!
//! Cargo reruns this script when anything under `ui/dist/` changes (it scans a directory
//! recursively). A missing path would make it rerun on every build, so the script creates
//! the (git-ignored) directory when it is absent.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest.join("ui").join("dist");
    if !dist.exists() {
        let _ = fs::create_dir_all(&dist);
    }
    println!("cargo:rerun-if-changed=ui/dist");
    let mut files = Vec::new();
    collect(&dist, &mut files);
    files.sort();
    let mut table = String::from("/// Files of `admin/ui/dist/`.\n");
    table.push_str("pub static ASSETS: &[Asset] = &[\n");
    for file in &files {
        let Ok(relative) = file.strip_prefix(&dist) else {
            continue;
        };
        let name = relative.to_string_lossy().replace('\\', "/");
        let gz = PathBuf::from(format!("{}.gz", file.display()));
        let gz = if gz.exists() {
            format!("Some(include_bytes!({:?}))", gz.display().to_string())
        } else {
            "None".to_string()
        };
        table.push_str(&format!(
            "    Asset {{ path: {name:?}, bytes: include_bytes!({:?}), gzip: {gz} }},\n",
            file.display().to_string()
        ));
    }
    table.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("ui_assets.rs");
    if let Err(e) = fs::write(&out, table) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}

/// Every file under `dir` except the gzip siblings and dotfiles (build reports).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, out);
        } else if !name.ends_with(".gz") {
            out.push(path);
        }
    }
}
