//! SDK keys per environment (server and client; create, list, rotate with a grace
//! period, revoke), snapshot signing keys (list, rotate), publish status and republish.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use edgeflag_admin_core::{
    db::rfc3339,
    environments, publisher, scope,
    sdk_keys::{self, SdkKeyView},
    signing,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    auth::{Principal, Role},
    error::ApiResult,
    extract::JsonBody,
    state::AppState,
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
        .route("/v1/instance/signing-key/rotate", post(rotate_instance_key))
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

#[utoipa::path(get, path = "/v1/projects/{project}/environments/{env}/sdk-keys", responses((status = 200, body = [SdkKeyView])))]
pub async fn list_sdk_keys(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let items = sdk_keys::list(&state.pool, &who.org_id, &project, &env).await?;
    Ok(Json(json!({ "items": items })))
}

/// Creates an SDK key; the secret is in this response only. Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/sdk-keys", request_body = CreateSdkKey, responses((status = 201, body = SdkKeyView)))]
pub async fn create_sdk_key(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env)): Path<(String, String)>,
    JsonBody(req): JsonBody<CreateSdkKey>,
) -> ApiResult<(StatusCode, Json<SdkKeyView>)> {
    who.require(Role::Admin)?;
    let view = sdk_keys::create(&state.pool, &who, &project, &env, &req.kind).await?;
    state.publish_wake.notify_one();
    Ok((StatusCode::CREATED, Json(view)))
}

/// Issues a new key of the same kind; the old one works until the grace period ends. Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/sdk-keys/{id}/rotate", request_body = RotateSdkKey, responses((status = 201, body = SdkKeyView)))]
pub async fn rotate_sdk_key(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env, id)): Path<(String, String, String)>,
    JsonBody(req): JsonBody<RotateSdkKey>,
) -> ApiResult<(StatusCode, Json<SdkKeyView>)> {
    who.require(Role::Admin)?;
    let grace = req.grace_seconds.unwrap_or(state.config.sdk_key_grace_secs);
    let view = sdk_keys::rotate(&state.pool, &who, &project, &env, &id, grace).await?;
    state.publish_wake.notify_one();
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes an SDK key at once (the next publish removes it from the edge). Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/sdk-keys/{id}/revoke", responses((status = 200, body = SdkKeyView)))]
pub async fn revoke_sdk_key(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env, id)): Path<(String, String, String)>,
) -> ApiResult<Json<SdkKeyView>> {
    who.require(Role::Admin)?;
    let view = sdk_keys::revoke(&state.pool, &who, &project, &env, &id).await?;
    state.publish_wake.notify_one();
    Ok(Json(view))
}

/// Per target: the delivered version and the last error.
#[utoipa::path(get, path = "/v1/projects/{project}/environments/{env}/publish-status", responses((status = 200)))]
pub async fn publish_status(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env_key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, env) = scope::project_env(&state.pool, &who.org_id, &project, &env_key).await?;
    Ok(Json(
        publisher::status(&state.pool, &env.id, &state.config.publish).await?,
    ))
}

/// Rebuilds and redelivers this environment. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/publish", responses((status = 202)))]
pub async fn republish(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env_key)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require(Role::Editor)?;
    environments::republish(&state.pool, &who, &project, &env_key).await?;
    state.publish_wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"environment": env_key, "queued": true})),
    ))
}

/// The caller's organization's snapshot-signing keys and the JWKS that verifies them.
#[utoipa::path(get, path = "/v1/signing-keys", responses((status = 200)))]
pub async fn list_signing_keys(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<Value>> {
    who.require(Role::Admin)?;
    let keys = signing::list(&state.pool, &who.org_id).await?;
    let items: Vec<Value> = keys
        .into_iter()
        .map(|(kid, created, retired)| json!({"kid": kid, "createdAt": rfc3339(created), "retiredAt": retired.map(rfc3339), "active": retired.is_none()}))
        .collect();
    Ok(Json(
        json!({ "items": items, "jwks": signing::org_jwks(&state.pool, &who.org_id).await? }),
    ))
}

/// A new key signs the caller's organization's snapshots from now on; each of its
/// environments is republished with it. Needs owner; other organizations' keys are
/// untouched.
#[utoipa::path(post, path = "/v1/signing-keys/rotate", responses((status = 200)))]
pub async fn rotate_signing_key(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<Value>> {
    who.require(Role::Owner)?;
    let kid = signing::rotate_by(&state.pool, &state.keyring, &who).await?;
    state.publish_wake.notify_one();
    Ok(Json(
        json!({ "kid": kid, "jwks": signing::org_jwks(&state.pool, &who.org_id).await? }),
    ))
}

/// A new instance key endorses organizations' keys from now on. Needs an instance
/// operator.
#[utoipa::path(post, path = "/v1/instance/signing-key/rotate", responses((status = 200)))]
pub async fn rotate_instance_key(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<Value>> {
    let kid = signing::rotate_instance_by(&state.pool, &state.keyring, &who).await?;
    state.publish_wake.notify_one();
    Ok(Json(json!({ "kid": kid })))
}
