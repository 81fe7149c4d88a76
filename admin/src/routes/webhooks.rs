//! `/v1/webhooks`: create (the secret is shown once), list, show, change, disable
//! (`DELETE`) and the delivery log. Managing needs admin; any member may read.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::get,
};
use edgeflag_admin_core::{
    Actor, audit,
    db::{self, now_ms, rfc3339},
    scope, secret, webhooks,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Row, any::AnyRow};

use crate::{
    app::AppState,
    auth::{Principal, Role},
    error::{ApiError, ApiResult},
    extract::JsonBody,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks", get(list).post(create))
        .route("/v1/webhooks/{id}", get(show).patch(update).delete(disable))
        .route("/v1/webhooks/{id}/deliveries", get(deliveries))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// The project key it is limited to; every project of the organization when null.
    pub project: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The signing secret, only in the response that creates the webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
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
pub struct DeliveryQuery {
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<i64>,
}

const SELECT: &str =
    "SELECT w.*, p.key AS project_key FROM webhooks w LEFT JOIN projects p ON p.id = w.project_id";

fn view(row: &AnyRow) -> ApiResult<WebhookView> {
    let events: String = row.try_get("events")?;
    Ok(WebhookView {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events: serde_json::from_str(&events).map_err(ApiError::internal)?,
        project: row.try_get("project_key")?,
        description: row.try_get("description")?,
        enabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_none(),
        created_at: rfc3339(row.try_get("created_at")?),
        updated_at: rfc3339(row.try_get("updated_at")?),
        secret: None,
    })
}

async fn fetch(state: &AppState, who: &Actor, id: &str) -> ApiResult<WebhookView> {
    let row = sqlx::query(&format!("{SELECT} WHERE w.org_id = $1 AND w.id = $2"))
        .bind(&who.org_id)
        .bind(id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook", id))?;
    view(&row)
}

fn check_url(url: &str) -> ApiResult<()> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        _ => Err(ApiError::invalid(
            "/url",
            format!("`{url}` is not an http(s) URL"),
        )),
    }
}

fn events_text(events: &[String]) -> ApiResult<String> {
    webhooks::check_events(events)?;
    serde_json::to_string(events).map_err(ApiError::internal)
}

/// Creates a webhook. Needs admin. The response carries the secret, once.
#[utoipa::path(post, path = "/v1/webhooks", request_body = CreateWebhook, responses((status = 201, body = WebhookView), (status = 403), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    who.require(Role::Admin)?;
    check_url(&req.url)?;
    let event_list = req.events.unwrap_or_else(webhooks::default_events);
    let events = events_text(&event_list)?;
    let project = match &req.project {
        Some(key) => Some(scope::project(&state.pool, &who.org_id, key).await?),
        None => None,
    };
    let id = db::new_id("whk");
    let secret = secret::new_secret("whsec");
    let now = now_ms();
    let mut tx = db::begin(&state.pool).await?;
    sqlx::query(
        "INSERT INTO webhooks (id, org_id, project_id, url, events, description, secret, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(&who.org_id)
    .bind(project.as_ref().map(|p| p.id.clone()))
    .bind(&req.url)
    .bind(&events)
    .bind(req.description.unwrap_or_default())
    .bind(&secret)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let after = json!({"url": req.url, "events": event_list, "project": req.project});
    audit::record(
        &mut tx,
        &who,
        "webhook.create",
        &format!("webhook/{id}"),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    let mut created = fetch(&state, &who, &id).await?;
    created.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(created)))
}

/// Lists the organization's webhooks (without secrets).
#[utoipa::path(get, path = "/v1/webhooks", responses((status = 200, body = [WebhookView])))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<Value>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE w.org_id = $1 ORDER BY w.created_at, w.id"
    ))
    .bind(&who.org_id)
    .fetch_all(&state.pool)
    .await?;
    let items = rows.iter().map(view).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({ "items": items })))
}

/// One webhook (without its secret).
#[utoipa::path(get, path = "/v1/webhooks/{id}", responses((status = 200, body = WebhookView)))]
pub async fn show(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(fetch(&state, &who, &id).await?))
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
    let before = fetch(&state, &who, &id).await?;
    let url = req.url.unwrap_or(before.url.clone());
    check_url(&url)?;
    let events = events_text(&req.events.unwrap_or(before.events.clone()))?;
    let description = req.description.unwrap_or(before.description.clone());
    let enabled = req.enabled.unwrap_or(before.enabled);
    write(&state, &who, &before, &url, &events, &description, enabled).await
}

/// Disables a webhook (nothing is hard-deleted; its log stays). Needs admin.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", responses((status = 200, body = WebhookView)))]
pub async fn disable(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookView>> {
    who.require(Role::Admin)?;
    let before = fetch(&state, &who, &id).await?;
    let events = events_text(&before.events)?;
    write(
        &state,
        &who,
        &before,
        &before.url,
        &events,
        &before.description,
        false,
    )
    .await
}

async fn write(
    state: &AppState,
    who: &Actor,
    before: &WebhookView,
    url: &str,
    events: &str,
    description: &str,
    enabled: bool,
) -> ApiResult<Json<WebhookView>> {
    let now = now_ms();
    let disabled_at = match (enabled, before.enabled) {
        (true, _) => None,
        (false, true) => Some(now),
        (false, false) => sqlx::query("SELECT disabled_at FROM webhooks WHERE id = $1")
            .bind(&before.id)
            .fetch_one(&state.pool)
            .await?
            .try_get("disabled_at")?,
    };
    let mut tx = db::begin(&state.pool).await?;
    sqlx::query(
        "UPDATE webhooks SET url = $1, events = $2, description = $3, disabled_at = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(url)
    .bind(events)
    .bind(description)
    .bind(disabled_at)
    .bind(now)
    .bind(&before.id)
    .execute(&mut *tx)
    .await?;
    let action = if enabled {
        "webhook.update"
    } else {
        "webhook.disable"
    };
    let events: Value = serde_json::from_str(events).map_err(ApiError::internal)?;
    let after =
        json!({"url": url, "events": events, "description": description, "enabled": enabled});
    let resource = format!("webhook/{}", before.id);
    audit::record(
        &mut tx,
        who,
        action,
        &resource,
        Some(&json!(before)),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(fetch(state, who, &before.id).await?))
}

/// The delivery log of a webhook, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", params(DeliveryQuery), responses((status = 200)))]
pub async fn deliveries(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<Json<Value>> {
    fetch(&state, &who, &id).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let rows = sqlx::query(
        "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(&id)
    .bind(limit)
    .fetch_all(&state.pool)
    .await?;
    let items = rows.iter().map(delivery).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({ "items": items })))
}

fn delivery(row: &AnyRow) -> ApiResult<Value> {
    let time = |name: &str| -> ApiResult<Option<String>> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(rfc3339))
    };
    let status: String = row.try_get("status")?;
    Ok(json!({
        "id": row.try_get::<i64, _>("id")?,
        "eventId": row.try_get::<String, _>("event_id")?,
        "event": row.try_get::<String, _>("event")?,
        "nextAttemptAt": if status == "pending" { time("next_attempt_at")? } else { None },
        "status": status,
        "attempts": row.try_get::<i64, _>("attempts")?,
        "lastError": row.try_get::<Option<String>, _>("last_error")?,
        "responseCode": row.try_get::<Option<i64>, _>("response_code")?,
        "createdAt": time("created_at")?,
        "lastAttemptAt": time("last_attempt_at")?,
        "deliveredAt": time("delivered_at")?,
    }))
}
