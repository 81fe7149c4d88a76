//! The wasmtime host's tests: the engine component against every shared vector
//! (compared with the native engine), and the Spin app over HTTP through a fresh
//! instance per request — the scenarios of the Worker suite and every vector.
//!
//! The components are built by `cargo xtask build-components`, which also names
//! them in `EDGEFLAG_ENGINE_COMPONENT` / `EDGEFLAG_SPIN_COMPONENT`; `cargo xtask test
//! wasm-host` does both. Without them every test fails and says how to build them.
//! One test binary, so each component is compiled once per run.

mod engine_vectors;
mod manifest;
mod spin_scenarios;
mod spin_vectors;
mod support;
