//! The Edgeflag admin service: the source of truth for flags, and the publisher
//! that delivers signed snapshots to the edge.
//!
//! It is an axum REST API over SQLite (default) or PostgreSQL (sqlx's Any driver),
//! with API-key/JWT auth and roles per organization, engine-validated flags and
//! segments, flag history, an audit log, and a transactional outbox drained by a
//! background publisher. The `edgeflag` binary in this crate is both the server and
//! the CLI. Depend on the library only from tests, benchmarks and tooling; other
//! parts of Edgeflag talk to the admin over HTTP.

pub mod app;
pub mod audit;
pub mod auth;
pub mod client_subset;
pub mod config;
pub mod db;
pub mod dependents;
pub mod endorse;
pub mod error;
pub mod extract;
pub mod flagstore;
pub mod metrics;
pub mod model;
pub mod publisher;
pub mod routes;
pub mod scope;
pub mod seed;
pub mod signing;
pub mod snapshot;
pub mod targets;
pub mod ui;
pub mod validate;
pub mod webhook_delivery;
pub mod webhooks;

pub use app::{AppState, router};
pub use config::Config;
