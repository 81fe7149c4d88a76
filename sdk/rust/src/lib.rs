//! The Edgeflag server SDK for Rust: flags evaluated in your process, in nanoseconds,
//! from a snapshot the edge signed.
//!
//! A [`Client`] fetches the environment's signed server snapshot from the edge
//! (`GET /v1/snapshot` with the server key), verifies its Ed25519 signature against
//! pinned keys or the edge's JWKS, and evaluates every flag locally with
//! [`edgeflag_engine`], the same engine the edge, the Spin app and the browser SDK run.
//! A background task asks the edge for a newer snapshot (a `304` when there is none),
//! follows signing-key rotations, and tells you which flags changed. Anything that does
//! not verify is refused and the snapshot in use keeps serving: a client never
//! evaluates from something it could not verify.
//!
//! Depend on this crate from services; depend on `edgeflag-engine` only to embed the
//! engine without any I/O. The Python package (`sdk/python`) wraps this crate.
//!
//! # Online
//!
//! ```no_run
//! use edgeflag::{Client, Context};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .url("https://flags.example.com")
//!     .server_key(std::env::var("EDGEFLAG_SERVER_KEY")?)
//!     .build()
//!     .await?; // returns once a verified snapshot is in use
//!
//! let mut user = Context::with_targeting_key("user-2");
//! user.set("email", "ada@example.com".into())?;
//! if client.bool_value("new-checkout", &user, false) {
//!     // …
//! }
//! let details = client.bool_details("new-checkout", &user, false);
//! println!("{:?} because {:?} (rule {:?})", details.value, details.reason, details.rule_id);
//!
//! client.on_event(|event| println!("{event:?}")); // changed flags, failed refreshes
//! # Ok(())
//! # }
//! ```
//!
//! # Offline, from a bootstrap file
//!
//! With pinned keys and a saved snapshot (what `GET /v1/snapshot` answered, or the
//! admin's signed export), no network is needed; add `url` and `server_key` too and the
//! client starts from the file and refreshes from the edge behind it.
//!
//! ```
//! # use edgeflag_engine::envelope::{KeySet, SigningKey};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let publisher = SigningKey::from_seed("publisher-1", [7; 32]);
//! # let mut demo: serde_json::Value = serde_json::from_str(include_str!("../../../examples/demo-snapshot.json"))?;
//! # demo["environment"] = "production".into();
//! # let token = publisher.sign(&serde_json::to_vec(&demo)?, Some("production"), demo["version"].as_u64(), Some("server"));
//! # std::fs::write(dir.path().join("snapshot.jws"), token)?;
//! # std::fs::write(dir.path().join("jwks.json"), serde_json::to_string(&KeySet::new(vec![publisher.verifying_key()]).to_jwks())?)?;
//! # let (snapshot_path, jwks_path) = (dir.path().join("snapshot.jws"), dir.path().join("jwks.json"));
//! use edgeflag::{Client, Context, Reason};
//!
//! let client = Client::builder()
//!     .jwks(std::fs::read_to_string(jwks_path)?) // pinned: the admin's `edgeflag jwks`
//!     .bootstrap_file(snapshot_path)
//!     .environment("production")
//!     .build_blocking()?; // no async runtime needed
//!
//! let ctx = Context::from_json(br#"{"targetingKey":"user-2","email":"ada@example.com"}"#)?;
//! let details = client.bool_details("new-checkout", &ctx, false);
//! assert!(details.value);
//! assert_eq!((details.reason, details.rule_id.as_deref()), (Reason::TargetingMatch, Some("staff")));
//! assert_eq!(client.evaluate_all(&ctx).len(), 4);
//! # Ok(())
//! # }
//! ```
//!
//! # What it accepts
//!
//! A snapshot replaces the one in use only if its signature verifies with a trusted key,
//! it is a `server` snapshot of the expected environment (when one is set), its version
//! is newer, and its signed header agrees with its payload: the rules the JS SDK applies
//! to client snapshots (`edgeflag_engine::accept`). Keys pinned with
//! [`ClientBuilder::jwks`] are never widened from the network; without them the client
//! trusts the edge's JWKS and fetches it again once when a snapshot names an unknown key
//! (a signing-key rotation).
//!
//! # Features
//!
//! - `openfeature`: [`openfeature::EdgeflagProvider`], a provider for the `open-feature` crate.

mod builder;
mod client;
mod details;
mod error;
mod events;
mod live;
#[cfg(feature = "openfeature")]
pub mod openfeature;
mod source;
mod store;

pub use builder::{ClientBuilder, DEFAULT_REFRESH_INTERVAL, DEFAULT_TIMEOUT};
pub use client::{Client, Clock, SnapshotGuard};
pub use details::{Details, Evaluation, as_int};
pub use edgeflag_engine::{
    self as engine, Context, ContextError, ErrorCode, EvaluationDetail, Reason, ValueType, Warning,
    accept::AcceptError,
};
pub use error::Error;
pub use events::{Change, Event, ListenerId};
