//! `/v1/webhooks`: create (the secret is shown once), list, show, change, disable
//! (`DELETE`) and the delivery log. Managing needs admin; any member may read.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use edgeflag_admin_core::{
    list,
    webhook_store::{self, NewWebhook, WebhookChange, WebhookView},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    auth::{Principal, Role},
    error::ApiResult,
    extract::{JsonBody, QueryParams},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks", get(list).post(create))
        .route("/v1/webhooks/{id}", get(show).patch(update).delete(disable))
        .route("/v1/webhooks/{id}/deliveries", get(deliveries))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    pub url: String,
    /// Event filters: `*`, `flag.*` or actions such as `flag.on`. Default `["flag.*"]`.
    pub events: Option<Vec<String>>,
    /// Limit to one project (its key).
    pub project: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// `false` disables (as `DELETE` does), `true` enables again.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// At most this many, newest first (default 50; 1–200, as every list).
    pub limit: Option<u32>,
}

/// Creates a webhook. Needs admin. The response carries the secret, once.
#[utoipa::path(post, path = "/v1/webhooks", request_body = CreateWebhook, responses((status = 201, body = WebhookView), (status = 403), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    who.require(Role::Admin)?;
    let new = NewWebhook {
        url: &req.url,
        events: req.events,
        project: req.project.as_deref(),
        description: req.description,
    };
    let created = webhook_store::create(
        &state.pool,
        &who,
        new,
        &state.config.webhooks.destinations(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Lists the organization's webhooks (without secrets).
#[utoipa::path(get, path = "/v1/webhooks", responses((status = 200, body = [WebhookView])))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<Value>> {
    let items = webhook_store::list(&state.pool, &who.org_id).await?;
    Ok(Json(json!({ "items": items })))
}

/// One webhook (without its secret).
#[utoipa::path(get, path = "/v1/webhooks/{id}", responses((status = 200, body = WebhookView)))]
pub async fn show(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(
        webhook_store::fetch(&state.pool, &who.org_id, &id).await?,
    ))
}

/// Changes a webhook's URL, events, description or enabled state. Needs admin.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", request_body = UpdateWebhook, responses((status = 200, body = WebhookView), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateWebhook>,
) -> ApiResult<Json<WebhookView>> {
    who.require(Role::Admin)?;
    let change = WebhookChange {
        url: req.url,
        events: req.events,
        description: req.description,
        enabled: req.enabled,
    };
    Ok(Json(
        webhook_store::update(
            &state.pool,
            &who,
            &id,
            change,
            &state.config.webhooks.destinations(),
        )
        .await?,
    ))
}

/// Disables a webhook (nothing is hard-deleted; its log stays). Needs admin.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", responses((status = 200, body = WebhookView)))]
pub async fn disable(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookView>> {
    who.require(Role::Admin)?;
    Ok(Json(webhook_store::disable(&state.pool, &who, &id).await?))
}

/// The delivery log of a webhook, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", params(DeliveryQuery), responses((status = 200), (status = 422, description = "a bad query parameter, e.g. limit outside 1–200")))]
pub async fn deliveries(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<DeliveryQuery>,
) -> ApiResult<Json<Value>> {
    let limit = list::page_limit(q.limit)?;
    let items = webhook_store::deliveries(&state.pool, &who.org_id, &id, limit).await?;
    Ok(Json(json!({ "items": items })))
}
