//! Liveness, readiness, Prometheus metrics and the public JWKS.

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use serde_json::json;
use sqlx::Row;

use edgeflag_admin_core::{
    db::{self, now_ms},
    signing,
};

use crate::{error::ApiResult, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/.well-known/jwks.json", get(jwks))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive")))]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// The database answers and every migration this build knows is applied.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 503, description = "database unreachable, or migrations not yet applied")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let unavailable = |status: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": status})),
        )
    };
    match db::migrations_applied(&state.pool, &state.config.database_url).await {
        Ok(true) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Ok(false) => unavailable("migrations pending"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable("unavailable")
        }
    }
}

/// Prometheus metrics: requests, latency, errors and publish lag.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let mut text = state.metrics.render();
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE processed_at IS NULL",
    )
    .fetch_one(&state.pool)
    .await?;
    let pending: i64 = row.try_get("n")?;
    let oldest: Option<i64> = row.try_get("oldest")?;
    let lag = oldest.map_or(0.0, |t| (now_ms() - t).max(0) as f64 / 1000.0);
    let undelivered: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM publish_status p JOIN environments e ON e.id = p.environment_id \
         WHERE p.delivered_version < e.snapshot_version",
    )
    .fetch_one(&state.pool)
    .await?
    .try_get("n")?;
    text.push_str(&format!(
        "# HELP edgeflag_admin_outbox_pending Outbox rows not yet built into a snapshot.\n# TYPE edgeflag_admin_outbox_pending gauge\nedgeflag_admin_outbox_pending {pending}\n\
         # HELP edgeflag_admin_publish_lag_seconds Age of the oldest unbuilt change.\n# TYPE edgeflag_admin_publish_lag_seconds gauge\nedgeflag_admin_publish_lag_seconds {lag}\n\
         # HELP edgeflag_admin_targets_behind Environment/target pairs holding an older snapshot than the newest built.\n# TYPE edgeflag_admin_targets_behind gauge\nedgeflag_admin_targets_behind {undelivered}\n"
    ));
    let mut outcomes = std::collections::BTreeMap::from([
        ("delivered".to_string(), 0_i64),
        ("failed".to_string(), 0),
        ("pending".to_string(), 0),
    ]);
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status")
        .fetch_all(&state.pool)
        .await?;
    for row in rows {
        outcomes.insert(row.try_get("status")?, row.try_get("n")?);
    }
    text.push_str(
        "# HELP edgeflag_admin_webhook_deliveries Webhook deliveries kept, by outcome (pending: not yet acknowledged; delivered; failed: given up).\n\
         # TYPE edgeflag_admin_webhook_deliveries gauge\n",
    );
    for (status, n) in outcomes {
        text.push_str(&format!(
            "edgeflag_admin_webhook_deliveries{{status=\"{status}\"}} {n}\n"
        ));
    }
    text.push_str(&crate::metrics::render_pool(&state.pool));
    text.push_str(
        &crate::metrics::render_targets(&state.pool, &state.config.publish.targets).await?,
    );
    text.push_str(&crate::metrics::render_usage(&state.usage.metrics));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// The public keys that verify published snapshots (old and new during a rotation).
#[utoipa::path(get, path = "/.well-known/jwks.json", responses((status = 200, description = "JWKS")))]
pub async fn jwks(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(Json(signing::jwks(&state.pool).await?))
}
