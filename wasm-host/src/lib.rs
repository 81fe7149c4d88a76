//! A small wasmtime host for Edgeflag's two WebAssembly components.
//!
//! - [`engine::EngineComponent`] loads the engine component (`wit/engine.wit`, built
//!   from `wit/component/`) and calls its `edgeflag:engine/evaluator` exports. The
//!   component has no imports, so the linker is empty.
//! - [`spin::SpinApp`] runs the Spin app (`spin-app/`) the way `spin up` does: a fresh
//!   instance per request, `wasi:http/handler@0.3.0` for HTTP, and host
//!   implementations of `spin:key-value@3.0.0` (an in-memory store shared by all
//!   instances) and `spin:variables@3.0.0` (a fixed map).
//! - [`serve::serve`] puts the Spin app on a TCP port (`edgeflag-wasm-host serve ADDR`),
//!   standing in for `spin up` where the `spin` CLI is not installed.
//!
//! Tests and tools depend on this crate; nothing in production does.

pub mod engine;
mod kv;
pub mod serve;
pub mod spin;

use std::path::PathBuf;

use wasmtime::error::Context as _;

/// The environment variable naming the built engine component.
pub const ENGINE_COMPONENT_VAR: &str = "EDGEFLAG_ENGINE_COMPONENT";
/// The environment variable naming the built Spin component.
pub const SPIN_COMPONENT_VAR: &str = "EDGEFLAG_SPIN_COMPONENT";

/// The path in `var`, which must name an existing file. The error says how to build
/// the components, so a test run without them fails with a clear message.
pub fn component_path(var: &str) -> wasmtime::Result<PathBuf> {
    let path = std::env::var_os(var).map(PathBuf::from).with_context(|| {
        format!("{var} is not set: build the components and set it with `cargo xtask build-components` (or run `cargo xtask test wasm-host`)")
    })?;
    wasmtime::ensure!(
        path.is_file(),
        "{var}={} does not exist: run `cargo xtask build-components`",
        path.display()
    );
    Ok(path)
}
