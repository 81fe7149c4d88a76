//! The router. It is a plain function so tests drive it with
//! `tower::ServiceExt::oneshot`, no socket needed.

use std::time::Duration;

use axum::{Extension, Router, extract::DefaultBodyLimit, http::StatusCode, middleware};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    access_log, extract::BodyLimit, feed, limit, metrics, routes, security, state::AppState,
};

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    routes::router()
        .layer(middleware::from_fn(limit::rate_headers))
        .layer(middleware::from_fn_with_state(
            state.feed.clone(),
            feed::wake_after_changes,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(Extension(BodyLimit(limit)))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(access_log::make_span)
                .on_response(access_log::on_response),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(middleware::from_fn_with_state(
            security::Policy::of(&state.config),
            security::headers,
        ))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
