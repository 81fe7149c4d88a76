//! The engine as a runtime ships it, and nothing else: a `no_std` cdylib whose exports
//! load a snapshot, evaluate all of its flags for a context, and verify a signed
//! envelope against a JWKS. `cargo xtask size` builds it for `wasm32-unknown-unknown`
//! and holds the result to the engine's size budget; the Worker, the Spin app and the
//! JS SDK add their own bindings on top of exactly this code.
//!
//! The exports take and return plain integers so that no binding layer is counted
//! (turning results into JSON or JS objects is the bindings' work, not the engine's).

// No `std` on the target that is measured; natively (for `cargo check --workspace`)
// the standard library provides the panic handler and allocator.
#![cfg_attr(target_arch = "wasm32", no_std)]
// Exporting unmangled symbols is what a probe module is for.
#![allow(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use edgeflag_engine::{Context, Snapshot, envelope};

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// Reserves `len` bytes for the host to write input into.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    Box::into_raw(alloc::vec![0u8; len].into_boxed_slice()).cast()
}

/// Loads a snapshot and a context from memory the host filled, evaluates every flag,
/// and returns how many evaluated to a value (or `-1` if either input was refused).
///
/// # Safety
/// Both regions must be readable for their lengths (the host got them from `alloc`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evaluate_all(
    snapshot: *const u8,
    snapshot_len: usize,
    context: *const u8,
    context_len: usize,
    now_ms: i64,
) -> i32 {
    // SAFETY: the host passes regions it obtained from `alloc` and filled.
    let (snapshot, context) = unsafe {
        (
            core::slice::from_raw_parts(snapshot, snapshot_len),
            core::slice::from_raw_parts(context, context_len),
        )
    };
    let (Ok(loaded), Ok(ctx)) = (Snapshot::load(snapshot), Context::from_json(context)) else {
        return -1;
    };
    let details = loaded.snapshot.evaluate_all(&ctx, now_ms);
    let values = details.iter().filter(|(_, d)| d.value.is_some()).count();
    i32::try_from(values).unwrap_or(i32::MAX)
}

/// Verifies a signed envelope against a JWKS; returns the payload length or `-1`.
///
/// # Safety
/// As for [`evaluate_all`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn verify(
    token: *const u8,
    token_len: usize,
    jwks: *const u8,
    jwks_len: usize,
) -> i32 {
    // SAFETY: as for `evaluate_all`.
    let (token, jwks) = unsafe {
        (
            core::slice::from_raw_parts(token, token_len),
            core::slice::from_raw_parts(jwks, jwks_len),
        )
    };
    let Ok(token) = core::str::from_utf8(token) else {
        return -1;
    };
    envelope::KeySet::from_jwks_json(jwks)
        .and_then(|keys| envelope::verify(token, &keys))
        .map_or(-1, |v| i32::try_from(v.payload.len()).unwrap_or(i32::MAX))
}
