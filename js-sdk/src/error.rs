//! The one error type of the adapter: the engine's [`AcceptError`], shared with the
//! server SDKs. Each variant has a stable `code` that the TypeScript layer exposes as
//! `EdgeflagError.code`.

pub use edgeflag_engine::accept::AcceptError as SdkError;
