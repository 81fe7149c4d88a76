//! Evaluation insights over HTTP: the ingestion endpoint the edge posts usage batches
//! to (ingestion keys in `X-API-Key`, a rate limit per key, idempotency keys), the
//! ingestion keys themselves, and the answers (a flag's usage, last evaluations, the
//! stale-flag report). The rules live in `edgeflag_admin_core::usage*`.

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use edgeflag_admin_core::{
    db::now_ms,
    usage::{self, BatchRequest, Refusal},
    usage_keys::{self, IngestionKey, IngestionKeyView},
    usage_query::{self, FlagUsage, StaleReport, UsageQuery},
    usage_writer::Outcome,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    auth::Principal,
    error::{ApiError, ApiResult},
    extract::{JsonBody, QueryParams, parse},
    limit::{RateInfo, RateSlot},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/usage/batches", post(ingest))
        .route("/v1/ingestion-keys", get(list_keys).post(create_key))
        .route("/v1/ingestion-keys/{id}/revoke", post(revoke_key))
        .route("/v1/projects/{project}/flags/{flag}/usage", get(flag_usage))
        .route(
            "/v1/projects/{project}/usage/last-evaluated",
            get(last_evaluated),
        )
        .route("/v1/projects/{project}/usage/stale", get(stale))
}

/// Adds a batch of evaluation counts. Authenticated by an ingestion key in
/// `X-API-Key`; the `Idempotency-Key` header names the batch, so a retry is not
/// counted twice (200 with `duplicate: true`). The batch (1–1,000 items) is accepted
/// or refused as a whole; 202 means it is committed.
#[utoipa::path(post, path = "/v1/usage/batches", request_body = BatchRequest,
    params(("X-API-Key" = String, Header, description = "an ingestion key (efi_…)"),
           ("Idempotency-Key" = String, Header, description = "the batch's id, 1–256 visible ASCII characters")),
    responses((status = 202, description = "counted"), (status = 200, description = "a retried batch, already counted"),
              (status = 401, description = "no or unknown ingestion key"), (status = 422, description = "refused; names every bad item"),
              (status = 429, description = "over the key's rate limit; see Retry-After")))]
pub async fn ingest(
    State(state): State<AppState>,
    slot: Option<Extension<RateSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let key = ingestion_key(&state, &headers).await?;
    limit(&state, &key, slot.map(|s| s.0)).await?;
    let batch_id = header(&headers, "idempotency-key").unwrap_or_default();
    usage::check_batch_id(&batch_id)?;
    let batch: BatchRequest = parse(&body).inspect_err(|_| {
        state.usage.metrics.refused(Refusal::Invalid, 0);
    })?;
    let environments = usage::environments(&state.pool, &key.org_id).await?;
    let counts = usage::check(&batch, &environments, now_ms()).map_err(|refused| {
        state.usage.metrics.refused(refused.reason, refused.items);
        ApiError::from(refused.error)
    })?;
    let items = counts.len();
    match state.usage.submit(&key.id, &batch_id, counts).await? {
        Outcome::Accepted => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"accepted": items, "duplicate": false})),
        )),
        Outcome::Duplicate => Ok((
            StatusCode::OK,
            Json(json!({"accepted": 0, "duplicate": true})),
        )),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

async fn ingestion_key(state: &AppState, headers: &HeaderMap) -> ApiResult<IngestionKey> {
    let secret = header(headers, "x-api-key")
        .ok_or_else(|| ApiError::Unauthorized("send an ingestion key as `X-API-Key`".into()))?;
    usage_keys::resolve(&state.pool, &secret)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown or revoked ingestion key".into()))
}

/// Applies the key's rate limit and leaves its state for the `X-RateLimit-*` headers.
async fn limit(state: &AppState, key: &IngestionKey, slot: Option<RateSlot>) -> ApiResult<()> {
    let limiter = &state.usage_limiter;
    let outcome = limiter.check(&key.id).await;
    let info = match &outcome {
        Ok(info) => *info,
        Err(_) => RateInfo {
            limit: limiter.limit,
            remaining: 0,
            reset_secs: limiter.reset_secs(&key.id),
        },
    };
    if let Some(slot) = slot {
        *slot
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(info);
    }
    if outcome.is_err() {
        state.usage.metrics.refused(Refusal::RateLimited, 1);
    }
    outcome.map(|_| ())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIngestionKey {
    pub name: String,
}

/// The organization's ingestion keys (never their secrets).
#[utoipa::path(get, path = "/v1/ingestion-keys", responses((status = 200, body = [IngestionKeyView])))]
pub async fn list_keys(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<Value>> {
    let items = usage_keys::list(&state.pool, &who.org_id).await?;
    Ok(Json(json!({ "items": items })))
}

/// Creates an ingestion key for the edge; the secret is in this response only. Needs admin.
#[utoipa::path(post, path = "/v1/ingestion-keys", request_body = CreateIngestionKey, responses((status = 201, body = IngestionKeyView)))]
pub async fn create_key(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<CreateIngestionKey>,
) -> ApiResult<(StatusCode, Json<IngestionKeyView>)> {
    let view = usage_keys::create(&state.pool, &who, &req.name).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes an ingestion key at once. Needs admin.
#[utoipa::path(post, path = "/v1/ingestion-keys/{id}/revoke", responses((status = 200, body = IngestionKeyView)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<IngestionKeyView>> {
    Ok(Json(usage_keys::revoke(&state.pool, &who, &id).await?))
}

/// A flag's evaluations over a time range, per bucket and environment, with counts
/// per variant and reason. Any role.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}/usage", params(UsageQuery), responses((status = 200, body = FlagUsage)))]
pub async fn flag_usage(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag)): Path<(String, String)>,
    QueryParams(q): QueryParams<UsageQuery>,
) -> ApiResult<Json<FlagUsage>> {
    let usage =
        usage_query::flag_usage(&state.pool, &who.org_id, &project, &flag, &q, now_ms()).await?;
    Ok(Json(usage))
}

/// When each flag was last evaluated in each environment. Any role.
#[utoipa::path(get, path = "/v1/projects/{project}/usage/last-evaluated", responses((status = 200)))]
pub async fn last_evaluated(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    let items = usage_query::last_evaluated(&state.pool, &who.org_id, &project).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StaleQuery {
    /// The window, days (default 30).
    pub days: Option<i64>,
}

/// The stale-flag report: flags not evaluated for `days` days, flags serving one
/// variation to all traffic for `days` days, archived flags still evaluated. Any role.
#[utoipa::path(get, path = "/v1/projects/{project}/usage/stale", params(StaleQuery), responses((status = 200, body = StaleReport)))]
pub async fn stale(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(project): Path<String>,
    QueryParams(q): QueryParams<StaleQuery>,
) -> ApiResult<Json<StaleReport>> {
    let days = q.days.unwrap_or(30);
    let report = usage_query::stale(&state.pool, &who.org_id, &project, days, now_ms()).await?;
    Ok(Json(report))
}
