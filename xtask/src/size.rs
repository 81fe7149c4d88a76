//! `cargo xtask size`: the engine's size as WebAssembly, against its budget.
//!
//! Builds the probe `engine/size` (a `no_std` cdylib that keeps exactly the engine code a
//! runtime ships: load, evaluate, verify) for `wasm32-unknown-unknown` with the `wasm`
//! profile, drops the custom sections (names, producers: debugging aids no runtime
//! loads), and reports raw and `gzip -9` bytes. The other wasm artifacts are reported the
//! same way when an earlier build left them in the target directory.

use std::{fs, path::Path, process::Command};

use crate::{run, target_dir};

/// The engine's budget (issue #2): raw bytes and gzip bytes, custom sections removed.
pub const BUDGET: (usize, usize) = (150 * 1024, 60 * 1024);

pub fn report() -> Result<(), String> {
    run(
        "cargo",
        &[
            "build",
            "-p",
            "edgeflag-engine-size",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm",
        ],
    )?;
    let out = target_dir().join("wasm32-unknown-unknown").join("wasm");
    let engine = measure(&out.join("edgeflag_engine_size.wasm"))?;
    println!("| artifact | as built | without custom sections | gzip -9 |");
    println!("|---|---|---|---|");
    print_row("engine (engine/size probe)", engine);
    for (name, file) in [
        ("JS SDK (edgeflag_js.wasm)", "edgeflag_js.wasm"),
        ("Worker (edgeflag_worker.wasm)", "edgeflag_worker.wasm"),
        (
            "engine component (edgeflag_component.wasm)",
            "edgeflag_component.wasm",
        ),
    ] {
        let path = out.join(file);
        if path.exists() {
            print_row(name, measure(&path)?);
        }
    }
    let (raw, gz) = (engine.1, engine.2);
    let verdict = |size: usize, budget: usize| if size <= budget { "within" } else { "OVER" };
    println!(
        "engine budget: {} KiB raw ({}), {} KiB gzip ({})",
        BUDGET.0 / 1024,
        verdict(raw, BUDGET.0),
        BUDGET.1 / 1024,
        verdict(gz, BUDGET.1)
    );
    Ok(())
}

fn print_row(name: &str, (built, stripped, gz): (usize, usize, usize)) {
    let kb = |n: usize| format!("{:.1} KiB", n as f64 / 1024.0);
    println!("| {name} | {} | {} | {} |", kb(built), kb(stripped), kb(gz));
}

/// (as built, without custom sections, gzip -9 of the latter).
fn measure(path: &Path) -> Result<(usize, usize, usize), String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let stripped = strip_custom_sections(&bytes)
        .ok_or_else(|| format!("{} is not a WebAssembly module", path.display()))?;
    Ok((bytes.len(), stripped.len(), gzip_len(&stripped)?))
}

/// The module without its custom sections (id 0). `None` if it does not parse.
fn strip_custom_sections(module: &[u8]) -> Option<Vec<u8>> {
    let header = module.get(..8)?;
    if header.get(..4)? != b"\0asm" {
        return None;
    }
    let mut out = header.to_vec();
    let mut rest = module.get(8..)?;
    while let Some((&id, after_id)) = rest.split_first() {
        let (len, len_bytes) = leb128_u32(after_id)?;
        let end = len_bytes.checked_add(usize::try_from(len).ok()?)?;
        let section = after_id.get(..end)?;
        if id != 0 {
            out.push(id);
            out.extend_from_slice(section);
        }
        rest = after_id.get(end..)?;
    }
    Some(out)
}

/// An unsigned LEB128 number and how many bytes it took.
fn leb128_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for (i, &byte) in bytes.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn gzip_len(bytes: &[u8]) -> Result<usize, String> {
    // Through a file: piping both ways could deadlock once gzip's output fills the pipe.
    let file = target_dir().join("size-probe-stripped.wasm");
    fs::write(&file, bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let output = Command::new("gzip")
        .arg("-9c")
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    if !output.status.success() {
        return Err(format!("gzip failed ({})", output.status));
    }
    Ok(output.stdout.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_custom_sections() {
        // header, a type section (id 1, 1 byte), a custom section (id 0, 3 bytes)
        let module = [
            b"\0asm".as_slice(),
            &[1, 0, 0, 0],
            &[1, 1, 0],
            &[0, 3, 1, b'x', 9],
        ]
        .concat();
        let stripped = strip_custom_sections(&module).unwrap();
        assert_eq!(
            stripped,
            [b"\0asm".as_slice(), &[1, 0, 0, 0], &[1, 1, 0]].concat()
        );
        assert_eq!(strip_custom_sections(b"\0asm\x01\0\0\0\x01\x05"), None);
        assert_eq!(strip_custom_sections(b"not wasm"), None);
    }
}
