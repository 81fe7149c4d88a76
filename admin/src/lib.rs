//! The Edgeflag admin service's HTTP side: the axum REST API over the domain in
//! `edgeflag_admin_core` (flags, segments, audit, webhooks, signing, publishing).
//!
//! Routes extract, authorize and translate: the `Principal` extractor turns a token, an
//! API key or a person's session cookie into the domain's `Actor`, a handler calls a domain operation, and
//! `ApiError` turns the domain's error into a status and the one JSON error shape.
//! The `edgeflag` binary in this crate is the server and the CLI, and starts the
//! domain's background publisher and webhook deliverer. Depend on the library only
//! from tests, benchmarks and tooling; other parts of Edgeflag talk to the admin over
//! HTTP.

pub mod access_log;
pub mod app;
pub mod auth;
pub mod client;
pub mod commands;
pub mod config;
pub mod error;
pub mod extract;
pub mod feed;
pub mod input_error;
pub mod limit;
pub mod local;
pub mod metrics;
pub mod refresh;
pub mod routes;
pub mod security;
pub mod serve;
pub mod session;
pub mod state;
pub mod strict;
pub mod telemetry;
pub mod throttle;
pub mod tls;
pub mod token;
pub mod ui;
pub mod usage_cli;

pub use app::router;
pub use config::Config;
pub use state::AppState;
