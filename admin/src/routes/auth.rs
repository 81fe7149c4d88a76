//! `POST /v1/auth/token`, `POST /v1/auth/refresh` and the API keys of an organization.

use axum::{
    Json, Router,
    extract::{FromRequestParts, Path, State},
    http::{StatusCode, request::Parts},
    routing::{delete, post},
};
use edgeflag_admin_core::{
    api_keys::{self, ApiKeyView},
    db::now_ms,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

use crate::{
    auth::{self, Principal, Role},
    error::{ApiError, ApiResult},
    extract::JsonBody,
    limit::{self, RateSlot},
    refresh,
    state::AppState,
    token::TokenClaims,
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
/// Throttled per client address and per API key (`auth_rate_limit_per_minute`).
#[utoipa::path(post, path = "/v1/auth/token", request_body = TokenRequest, responses((status = 200, body = TokenResponse), (status = 401), (status = 429)))]
pub async fn token(
    State(state): State<AppState>,
    throttle: Throttle,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    throttle.client(&state).await?;
    let key_id = auth::key_id_for_secret(&state, &req.api_key).await?;
    throttle.check(&state, &format!("key:{key_id}")).await?;
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(&key_id)
        .execute(&state.pool)
        .await?;
    issue(&state, &key_id, &refresh::new_family())
        .await
        .map(Json)
}

/// Trades a refresh token (single use) for a new pair. A token used a second time
/// revokes every token issued with it. Throttled per client address.
#[utoipa::path(post, path = "/v1/auth/refresh", request_body = RefreshRequest, responses((status = 200, body = TokenResponse), (status = 401), (status = 429)))]
pub async fn refresh(
    State(state): State<AppState>,
    throttle: Throttle,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    throttle.client(&state).await?;
    let redeemed = refresh::redeem(&state.pool, &req.refresh_token).await?;
    issue(&state, &redeemed.api_key_id, &redeemed.family)
        .await
        .map(Json)
}

/// What a sign-in route throttles by: the client's address (`throttle::client_address`:
/// the TCP peer, or the trusted proxy's `X-Forwarded-For`) and the slot for the
/// `X-RateLimit-*` headers.
#[derive(Debug, Clone)]
pub struct Throttle {
    client: String,
    slot: Option<RateSlot>,
}

impl Throttle {
    /// Counts one request against the client's address in the sign-in limit.
    async fn client(&self, state: &AppState) -> ApiResult<()> {
        self.check(state, &format!("client:{}", self.client)).await
    }

    /// Counts one request against `key` in the sign-in limit; `429` when over it.
    async fn check(&self, state: &AppState, key: &str) -> ApiResult<()> {
        state
            .auth_limiter
            .check_into(key, self.slot.as_ref())
            .await
            .map(drop)
    }
}

impl FromRequestParts<AppState> for Throttle {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let address =
            crate::throttle::client_address(parts, state.config.login.trust_forwarded_for);
        Ok(Self {
            client: limit::client_key(&address),
            slot: parts.extensions.get::<RateSlot>().cloned(),
        })
    }
}

async fn issue(state: &AppState, key_id: &str, family: &str) -> ApiResult<TokenResponse> {
    let row = sqlx::query("SELECT org_id, role FROM api_keys WHERE id = $1")
        .bind(key_id)
        .fetch_one(&state.pool)
        .await?;
    let role: String = row.try_get("role")?;
    let claims = TokenClaims {
        sub: key_id.to_string(),
        org: row.try_get("org_id")?,
        role: Role::parse(&role).ok_or_else(|| ApiError::internal("stored role"))?,
        fam: Some(family.to_string()),
    };
    let ttl = state.config.access_token_ttl_secs;
    let access_token = state.token_key.issue(claims, ttl)?;
    let refresh_token = refresh::issue(
        &state.pool,
        key_id,
        family,
        state.config.refresh_token_ttl_secs,
    )
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

/// Creates an API key; the secret is in this response only. Needs admin, and owner to mint an owner.
#[utoipa::path(post, path = "/v1/api-keys", request_body = CreateApiKey, responses((status = 201, body = ApiKeyView)))]
pub async fn create_key(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<CreateApiKey>,
) -> ApiResult<(StatusCode, Json<ApiKeyView>)> {
    who.require(Role::Admin)?;
    who.require(req.role)?;
    let view = api_keys::create(&state.pool, &who, &req.name, req.role).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Lists the organization's API keys. Needs admin.
#[utoipa::path(get, path = "/v1/api-keys", responses((status = 200, body = [ApiKeyView])))]
pub async fn list_keys(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<serde_json::Value>> {
    who.require(Role::Admin)?;
    let items = api_keys::list(&state.pool, &who.org_id).await?;
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
    let before = api_keys::fetch(&state.pool, &who.org_id, &id).await?;
    who.require(Role::parse(&before.role).unwrap_or(Role::Owner))?;
    Ok(Json(api_keys::revoke(&state.pool, &who, &before).await?))
}
