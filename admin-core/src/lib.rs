//! The Edgeflag admin's domain: the database and its migrations, flags and segments
//! validated by the engine, versions, the audit log, webhooks, signing keys, and the
//! snapshot builder and publisher that deliver signed snapshots to the edge.
//!
//! Every operation is a plain function over a pool, connection or transaction with
//! plain arguments — an [`Actor`] says who acts — and fails with the one [`Error`],
//! whose variants say what went wrong in domain terms. Nothing here knows HTTP (no
//! axum, no tower, no route or extractor types), so the `edgeflag` binary's routes, its
//! CLI commands, its background tasks and tests all call the same code. Depend on this
//! crate from the admin service (`edgeflag-admin`) and from tooling; the rest of
//! Edgeflag talks to the admin over HTTP.
//!
//! Modules point one way (`tests/layers.rs` keeps them acyclic): services (`orgs`,
//! `api_keys`, `projects`, `environments`, `flags`, `versions`, `segments`, `sdk_keys`,
//! `webhook_store`, `seed`) use the stores and records (`flagstore`, `audit`, `outbox`,
//! `webhooks`, `feed`), which use the leaves (`db`, `model`, `scope`, `list`, `actor`,
//! `error`, `destination`). People are `invitations` → `users` → `sessions`, `passwords`. Publishing
//! (`publisher` → `snapshot`, `targets`, `endorse`, `signing`) and `webhook_delivery` are
//! background work over the same tables.
//! Several replicas share work through `lease` and count rate limits in `counters`
//! (leaves), and `retention` prunes old rows once across them.
//! Evaluation insights: `usage` (batches and their rules) → `usage_writer` (the queue,
//! group commit, rollups, retention), `usage_query` (answers) and `usage_keys`.

pub mod actor;
pub mod api_keys;
pub mod audit;
pub mod backup;
pub mod client_subset;
pub mod config;
pub mod counters;
pub mod db;
pub mod dependents;
pub mod destination;
pub mod endorse;
pub mod environments;
pub mod error;
pub mod feed;
pub mod flags;
pub mod flagstore;
pub mod invitations;
pub mod lease;
pub mod list;
pub mod masterkey;
pub mod model;
pub mod orgs;
pub mod outbox;
pub mod passwords;
pub mod privacy;
pub mod projects;
pub mod publisher;
pub mod retention;
pub mod scope;
pub mod sdk_keys;
pub mod secret;
pub mod seed;
pub mod segments;
pub mod sessions;
pub mod signing;
pub mod snapshot;
pub mod targets;
pub mod usage;
pub mod usage_keys;
pub mod usage_query;
pub mod usage_writer;
pub mod users;
pub mod validate;
pub mod versions;
pub mod webhook_delivery;
pub mod webhook_store;
pub mod webhooks;

pub use actor::{Actor, ActorKind, Role};
pub use error::{Error, Result};
