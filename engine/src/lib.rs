//! The Edgeflag evaluation engine.
//!
//! One crate answers "which variation of this flag does this context get?" for
//! every Edgeflag runtime: the Cloudflare Worker, the Spin app, the WIT component,
//! the browser SDK and the admin's preview. It is `no_std` + `alloc` and pure — no
//! I/O, no clock, no randomness; the host passes the time in — so the same source
//! builds for `wasm32-unknown-unknown`, `wasm32-wasip*` and native, and answers
//! identically everywhere.
//!
//! The flow is: [`Snapshot::load`] parses, validates and compiles a snapshot once
//! (schemaVersion 1 and 2, `docs/snapshot-format.md`); [`Snapshot::evaluate`] answers with an
//! [`EvaluationDetail`] that carries the value and OpenFeature's reason and error
//! code. Errors during evaluation are data, never panics. [`envelope`] signs and
//! verifies snapshots (Ed25519 JWS); [`accept`] holds the rules by which every SDK
//! accepts a verified snapshot (audience, environment, never an older version).
//!
//! Depend on it from hosts and bindings; never re-implement any of its rules.
//!
//! ```
//! use edgeflag_engine::{Context, Reason, Snapshot, ValueType};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let loaded = Snapshot::load(include_bytes!("../../examples/demo-snapshot.json"))?;
//! for warning in &loaded.warnings {
//!     eprintln!("{warning}"); // a malformed flag degrades alone, with a JSON Pointer to the field
//! }
//! let ctx = Context::from_json(br#"{"targetingKey":"user-2","email":"ada@example.com"}"#)?;
//! let now_ms = 1_795_608_000_000; // the host's clock; the engine has none
//! let detail = loaded.snapshot.evaluate_as("new-checkout", ValueType::Boolean, &ctx, now_ms);
//! assert_eq!(detail.value, Some(&serde_json::json!(true)));
//! assert_eq!((detail.reason, detail.rule_id), (Reason::TargetingMatch, Some("staff")));
//! # Ok(())
//! # }
//! ```

#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod accept;
mod attribute;
mod audience;
mod base64url;
mod condition;
mod context;
mod date;
mod document;
pub mod envelope;
mod error;
mod evaluate;
mod flag;
pub mod hashed;
mod input;
mod json;
mod limits;
mod reader;
mod reason;
mod regex;
pub mod rollout;
mod segment;
mod semver;
mod snapshot;
mod strings;
pub mod wire;

pub use attribute::{NOW, TARGETING_KEY};
pub use audience::Audience;
pub use condition::OPERATORS;
pub use context::{Context, ContextError, type_name};
pub use date::parse_rfc3339;
pub use error::{FieldError, ItemKind, LoadError, Warning};
pub use limits::Limits;
pub use reason::{ErrorCode, EvaluationDetail, EvaluationError, Reason, ValueType};
pub use snapshot::{FlagInfo, Loaded, SCHEMA_VERSION, Snapshot};

/// The version of the shared test vectors and of this document set.
pub const SPEC_VERSION: &str = "1.0.0";
