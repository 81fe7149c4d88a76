//! Access logs: one `info` line per request, written by tower-http's `TraceLayer`
//! inside a span that carries the method, the matched route (`/v1/projects/{project}`,
//! never the path as sent) and the request id; the line adds the status and the
//! duration. The URI's query string and the request headers are never recorded: a
//! query may hold a credential (`?token=…`), and `Authorization` always does.
//!
//! The filter is `EDGEFLAG_LOG`, [`DEFAULT_FILTER`] when unset, so a default
//! installation logs every request.

use std::time::Duration;

use axum::{
    extract::MatchedPath,
    http::{Request, Response},
};
use tracing::Span;

/// The log filter when `EDGEFLAG_LOG` is unset (tracing's env-filter syntax).
pub const DEFAULT_FILTER: &str = "info";

/// The span of one request: method, matched route and request id.
pub fn make_span<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", method = %request.method(), route, request_id = %id)
}

/// The access-log line, at `info`, once the response head is ready.
pub fn on_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        duration_ms = latency.as_secs_f64() * 1000.0,
        "request served"
    );
}
