//! `POST /v1/auth/token`, `POST /v1/auth/refresh` and the API keys of an organization.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, post},
};
use edgeflag_admin_core::{
    api_keys, audit,
    db::{self, now_ms, rfc3339},
    secret::{hash_secret, new_secret},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    app::AppState,
    auth::{self, Principal, Role, TokenClaims},
    error::{ApiError, ApiResult},
    extract::JsonBody,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/token", post(token))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/api-keys", post(create_key).get(list_keys))
        .route("/v1/api-keys/{id}", delete(revoke_key))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenRequest {
    pub api_key: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub refresh_token: String,
}

/// Exchanges an API key for a short-lived access token and a refresh token.
#[utoipa::path(post, path = "/v1/auth/token", request_body = TokenRequest, responses((status = 200, body = TokenResponse), (status = 401)))]
pub async fn token(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let key_id = auth::key_id_for_secret(&state, &req.api_key).await?;
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(&key_id)
        .execute(&state.pool)
        .await?;
    issue(&state, &key_id).await.map(Json)
}

/// Trades a refresh token (single use) for a new pair.
#[utoipa::path(post, path = "/v1/auth/refresh", request_body = RefreshRequest, responses((status = 200, body = TokenResponse), (status = 401)))]
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let used = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 \
         AND api_key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NULL)",
    )
    .bind(now_ms())
    .bind(hash_secret(&req.refresh_token))
    .execute(&state.pool)
    .await?;
    if used.rows_affected() != 1 {
        return Err(ApiError::Unauthorized(
            "the refresh token is unknown, used or expired".into(),
        ));
    }
    let row = sqlx::query("SELECT api_key_id FROM refresh_tokens WHERE hash = $1")
        .bind(hash_secret(&req.refresh_token))
        .fetch_one(&state.pool)
        .await?;
    issue(&state, &row.try_get::<String, _>("api_key_id")?)
        .await
        .map(Json)
}

async fn issue(state: &AppState, key_id: &str) -> ApiResult<TokenResponse> {
    let row = sqlx::query("SELECT org_id, role FROM api_keys WHERE id = $1")
        .bind(key_id)
        .fetch_one(&state.pool)
        .await?;
    let role: String = row.try_get("role")?;
    let claims = TokenClaims {
        sub: key_id.to_string(),
        org: row.try_get("org_id")?,
        role: Role::parse(&role).ok_or_else(|| ApiError::internal("stored role"))?,
    };
    let ttl = state.config.access_token_ttl_secs;
    let access_token = state.token_key.issue(claims, ttl)?;
    let refresh_token = new_secret("efr");
    sqlx::query("INSERT INTO refresh_tokens (hash, api_key_id, expires_at) VALUES ($1, $2, $3)")
        .bind(hash_secret(&refresh_token))
        .bind(key_id)
        .bind(now_ms() + state.config.refresh_token_ttl_secs * 1000)
        .execute(&state.pool)
        .await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        refresh_token,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    pub role: Role,
}

/// An API key as listed (never with its secret).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Only in the response that creates the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn key_view(row: &AnyRow) -> Result<ApiKeyView, sqlx::Error> {
    Ok(ApiKeyView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        prefix: row.try_get("prefix")?,
        created_at: rfc3339(row.try_get("created_at")?),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(rfc3339),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(rfc3339),
        secret: None,
    })
}

/// Creates an API key; the secret is in this response only. Needs admin, and owner to mint an owner.
#[utoipa::path(post, path = "/v1/api-keys", request_body = CreateApiKey, responses((status = 201, body = ApiKeyView)))]
pub async fn create_key(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<CreateApiKey>,
) -> ApiResult<(StatusCode, Json<ApiKeyView>)> {
    who.require(Role::Admin)?;
    who.require(req.role)?;
    let mut tx = db::begin(&state.pool).await?;
    let (id, secret) =
        api_keys::insert(&mut tx, &who.org_id, &req.name, req.role, Some(&who.id)).await?;
    let after = json!({"id": id, "name": req.name, "role": req.role});
    audit::record(
        &mut tx,
        &who,
        "api-key.create",
        &format!("api-key/{id}"),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    let mut view = fetch_key(&state.pool, &who.org_id, &id).await?;
    view.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(view)))
}

async fn fetch_key(pool: &AnyPool, org_id: &str, id: &str) -> ApiResult<ApiKeyView> {
    let row = sqlx::query("SELECT * FROM api_keys WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ApiError::not_found("API key", id))?;
    Ok(key_view(&row)?)
}

/// Lists the organization's API keys. Needs admin.
#[utoipa::path(get, path = "/v1/api-keys", responses((status = 200, body = [ApiKeyView])))]
pub async fn list_keys(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<serde_json::Value>> {
    who.require(Role::Admin)?;
    let rows = sqlx::query("SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at, id")
        .bind(&who.org_id)
        .fetch_all(&state.pool)
        .await?;
    let items = rows.iter().map(key_view).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "items": items })))
}

/// Revokes an API key at once. Needs admin, and owner to revoke an owner key.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", responses((status = 200, body = ApiKeyView)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyView>> {
    who.require(Role::Admin)?;
    let before = fetch_key(&state.pool, &who.org_id, &id).await?;
    who.require(Role::parse(&before.role).unwrap_or(Role::Owner))?;
    let mut tx = db::begin(&state.pool).await?;
    sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(&id)
    .bind(&who.org_id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &who,
        "api-key.revoke",
        &format!("api-key/{id}"),
        Some(&json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(fetch_key(&state.pool, &who.org_id, &id).await?))
}
