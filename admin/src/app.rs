//! The shared application state and the router. The router is a plain function so
//! tests drive it with `tower::ServiceExt::oneshot`, no socket needed.

use std::{sync::Arc, time::Duration};

use axum::{Extension, Router, extract::DefaultBodyLimit, http::StatusCode, middleware};
use edgeflag_admin_core::{db, publisher::Publisher, signing, webhook_delivery::Deliverer};
use sqlx::AnyPool;
use tokio::sync::Notify;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    auth::{RateLimiter, TokenKey},
    config::Config,
    extract::BodyLimit,
    metrics::{self, Metrics},
    routes,
};

/// Everything a handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: AnyPool,
    pub config: Arc<Config>,
    pub token_key: Arc<TokenKey>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<RateLimiter>,
    /// Woken after every commit that wrote an outbox row, so publishing starts at once.
    pub publish_wake: Arc<Notify>,
}

impl AppState {
    /// Builds the state over a migrated pool; creates the token key on first start.
    pub async fn new(pool: AnyPool, config: Config) -> Result<Self, sqlx::Error> {
        let token_key = TokenKey::load_or_create(&pool).await?;
        signing::ensure_snapshot_key(&pool).await?;
        Ok(Self {
            limiter: Arc::new(RateLimiter::new(config.rate_limit_per_minute)),
            pool,
            config: Arc::new(config),
            token_key: Arc::new(token_key),
            metrics: Arc::new(Metrics::default()),
            publish_wake: Arc::new(Notify::new()),
        })
    }

    /// Connects, migrates and builds the state from a configuration.
    pub async fn from_config(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database_url).await?;
        db::migrate(&pool, &config.database_url).await?;
        Ok(Self::new(pool, config).await?)
    }

    /// The background publisher over this state's pool and settings, woken by its
    /// `publish_wake`.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(
            self.pool.clone(),
            self.config.publish.clone(),
            self.publish_wake.clone(),
        )
    }

    /// The background webhook deliverer over this state's pool and settings.
    pub fn deliverer(&self) -> Deliverer {
        Deliverer::new(self.pool.clone(), self.config.webhooks.clone())
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    routes::router()
        .layer(middleware::from_fn(crate::auth::rate_headers))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(limit))
        .layer(Extension(BodyLimit(limit)))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
