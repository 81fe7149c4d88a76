//! SDK keys per environment (server and client; create, list, rotate with a grace
//! period, revoke), snapshot signing keys (list, rotate), publish status and republish.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Row, any::AnyRow};

use crate::{
    app::AppState,
    audit,
    auth::{self, Principal, Role},
    db::{self, now_ms, rfc3339},
    error::{ApiError, ApiResult},
    extract::JsonBody,
    scope::{self, EnvRef},
    signing,
};

const ENV: &str = "/v1/projects/{project}/environments/{env}";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{ENV}/sdk-keys"),
            get(list_sdk_keys).post(create_sdk_key),
        )
        .route(
            &format!("{ENV}/sdk-keys/{{id}}/rotate"),
            post(rotate_sdk_key),
        )
        .route(
            &format!("{ENV}/sdk-keys/{{id}}/revoke"),
            post(revoke_sdk_key),
        )
        .route(&format!("{ENV}/publish-status"), get(publish_status))
        .route(&format!("{ENV}/publish"), post(republish))
        .route("/v1/signing-keys", get(list_signing_keys))
        .route("/v1/signing-keys/rotate", post(rotate_signing_key))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SdkKeyView {
    pub id: String,
    pub kind: String,
    pub prefix: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Only in the response that creates the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSdkKey {
    /// `server` or `client`.
    pub kind: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateSdkKey {
    /// How long the old key keeps working; the configured default when absent.
    pub grace_seconds: Option<i64>,
}

fn sdk_view(row: &AnyRow) -> Result<SdkKeyView, sqlx::Error> {
    Ok(SdkKeyView {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        prefix: row.try_get("prefix")?,
        created_at: rfc3339(row.try_get("created_at")?),
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(rfc3339),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(rfc3339),
        secret: None,
    })
}

/// Inserts an SDK key; returns its id and secret.
pub async fn insert_sdk_key(
    conn: &mut sqlx::AnyConnection,
    env_id: &str,
    kind: &str,
) -> Result<(String, String), ApiError> {
    if kind != "server" && kind != "client" {
        return Err(ApiError::invalid(
            "/kind",
            format!("`{kind}` is not `server` or `client`"),
        ));
    }
    let id = db::new_id("sdk");
    let secret = auth::new_secret(if kind == "server" { "efs" } else { "efc" });
    sqlx::query("INSERT INTO sdk_keys (id, environment_id, kind, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(env_id)
        .bind(kind)
        .bind(auth::display_prefix(&secret))
        .bind(auth::hash_secret(&secret))
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok((id, secret))
}

async fn fetch_sdk_key(state: &AppState, env: &EnvRef, id: &str) -> ApiResult<SdkKeyView> {
    let row = sqlx::query("SELECT * FROM sdk_keys WHERE id = $1 AND environment_id = $2")
        .bind(id)
        .bind(&env.id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("SDK key", id))?;
    Ok(sdk_view(&row)?)
}

#[utoipa::path(get, path = "/v1/projects/{project}/environments/{env}/sdk-keys", responses((status = 200, body = [SdkKeyView])))]
pub async fn list_sdk_keys(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, env) = scope::project_env(&state, &who, &project, &env).await?;
    let rows =
        sqlx::query("SELECT * FROM sdk_keys WHERE environment_id = $1 ORDER BY created_at, id")
            .bind(&env.id)
            .fetch_all(&state.pool)
            .await?;
    let items = rows.iter().map(sdk_view).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "items": items })))
}

/// Creates an SDK key; the secret is in this response only. Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/sdk-keys", request_body = CreateSdkKey, responses((status = 201, body = SdkKeyView)))]
pub async fn create_sdk_key(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env_key)): Path<(String, String)>,
    JsonBody(req): JsonBody<CreateSdkKey>,
) -> ApiResult<(StatusCode, Json<SdkKeyView>)> {
    who.require(Role::Admin)?;
    let (_, env) = scope::project_env(&state, &who, &project, &env_key).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    let (id, secret) = insert_sdk_key(&mut tx, &env.id, &req.kind).await?;
    audit::record(
        &mut tx,
        &who,
        "sdk-key.create",
        &format!("project/{project}/environment/{env_key}/sdk-key/{id}"),
        None,
        Some(&json!({"kind": req.kind})),
    )
    .await?;
    audit::enqueue(&mut tx, &env.id, "sdk-key.create").await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    let mut view = fetch_sdk_key(&state, &env, &id).await?;
    view.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(view)))
}

/// Issues a new key of the same kind; the old one works until the grace period ends. Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/sdk-keys/{id}/rotate", request_body = RotateSdkKey, responses((status = 201, body = SdkKeyView)))]
pub async fn rotate_sdk_key(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env_key, id)): Path<(String, String, String)>,
    JsonBody(req): JsonBody<RotateSdkKey>,
) -> ApiResult<(StatusCode, Json<SdkKeyView>)> {
    who.require(Role::Admin)?;
    let (_, env) = scope::project_env(&state, &who, &project, &env_key).await?;
    let old = fetch_sdk_key(&state, &env, &id).await?;
    if old.revoked_at.is_some() || old.expires_at.is_some() {
        return Err(ApiError::Conflict(format!(
            "SDK key `{id}` was already rotated or revoked"
        )));
    }
    let grace = req
        .grace_seconds
        .unwrap_or(state.config.sdk_key_grace_secs)
        .max(0);
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query("UPDATE sdk_keys SET expires_at = $1 WHERE id = $2")
        .bind(now_ms() + grace * 1000)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let (new_id, secret) = insert_sdk_key(&mut tx, &env.id, &old.kind).await?;
    let resource = format!("project/{project}/environment/{env_key}/sdk-key/{id}");
    audit::record(
        &mut tx,
        &who,
        "sdk-key.rotate",
        &resource,
        None,
        Some(&json!({"replacedBy": new_id, "graceSeconds": grace})),
    )
    .await?;
    audit::enqueue(&mut tx, &env.id, "sdk-key.rotate").await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    let mut view = fetch_sdk_key(&state, &env, &new_id).await?;
    view.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes an SDK key at once (the next publish removes it from the edge). Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/sdk-keys/{id}/revoke", responses((status = 200, body = SdkKeyView)))]
pub async fn revoke_sdk_key(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env_key, id)): Path<(String, String, String)>,
) -> ApiResult<Json<SdkKeyView>> {
    who.require(Role::Admin)?;
    let (_, env) = scope::project_env(&state, &who, &project, &env_key).await?;
    fetch_sdk_key(&state, &env, &id).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query("UPDATE sdk_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &who,
        "sdk-key.revoke",
        &format!("project/{project}/environment/{env_key}/sdk-key/{id}"),
        None,
        None,
    )
    .await?;
    audit::enqueue(&mut tx, &env.id, "sdk-key.revoke").await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok(Json(fetch_sdk_key(&state, &env, &id).await?))
}

/// Per target: the delivered version and the last error.
#[utoipa::path(get, path = "/v1/projects/{project}/environments/{env}/publish-status", responses((status = 200)))]
pub async fn publish_status(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env_key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, env) = scope::project_env(&state, &who, &project, &env_key).await?;
    Ok(Json(
        crate::publisher::status(&state.pool, &env.id, &state.config).await?,
    ))
}

/// Rebuilds and redelivers this environment. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/publish", responses((status = 202)))]
pub async fn republish(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env_key)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require(Role::Editor)?;
    let (_, env) = scope::project_env(&state, &who, &project, &env_key).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    audit::record(
        &mut tx,
        &who,
        "environment.publish",
        &format!("project/{project}/environment/{env_key}"),
        None,
        None,
    )
    .await?;
    audit::enqueue(&mut tx, &env.id, "republish").await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"environment": env_key, "queued": true})),
    ))
}

#[utoipa::path(get, path = "/v1/signing-keys", responses((status = 200)))]
pub async fn list_signing_keys(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let keys = signing::list(&state.pool).await?;
    let items: Vec<Value> = keys
        .into_iter()
        .map(|(kid, created, retired)| json!({"kid": kid, "createdAt": rfc3339(created), "retiredAt": retired.map(rfc3339), "active": retired.is_none()}))
        .collect();
    Ok(Json(
        json!({ "items": items, "jwks": signing::jwks(&state.pool).await? }),
    ))
}

/// A new key signs from now on; every environment is republished with it. Needs owner.
#[utoipa::path(post, path = "/v1/signing-keys/rotate", responses((status = 200)))]
pub async fn rotate_signing_key(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Value>> {
    who.require(Role::Owner)?;
    let kid = signing::rotate(&state.pool).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    audit::record(
        &mut tx,
        &who,
        "signing-key.rotate",
        &format!("signing-key/{kid}"),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok(Json(
        json!({ "kid": kid, "jwks": signing::jwks(&state.pool).await? }),
    ))
}
