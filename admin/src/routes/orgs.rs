//! Organizations (tenants). A caller sees only its own organization; an owner may
//! create another one, which comes with its own first owner key.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
/// Kept here for the callers that knew it as a route helper (the CLI, tests, the load example).
pub use edgeflag_admin_core::orgs::create_org;
use edgeflag_admin_core::{
    audit,
    db::{self, rfc3339},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    app::AppState,
    auth::{Principal, Role},
    error::{ApiError, ApiResult},
    extract::JsonBody,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations", get(list).post(create))
        .route("/v1/organizations/current", get(current).patch(update))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    pub id: String,
    pub key: String,
    pub name: String,
    pub created_at: String,
    /// The first owner key, only in the response that creates the organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_api_key: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    pub key: String,
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    pub name: String,
}

fn view(row: &AnyRow) -> Result<OrgView, sqlx::Error> {
    Ok(OrgView {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        created_at: rfc3339(row.try_get("created_at")?),
        owner_api_key: None,
    })
}

async fn fetch(pool: &AnyPool, id: &str) -> ApiResult<OrgView> {
    let row = sqlx::query("SELECT * FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ApiError::not_found("organization", id))?;
    Ok(view(&row)?)
}

/// Lists the organizations the caller can see: its own.
#[utoipa::path(get, path = "/v1/organizations", responses((status = 200, body = [OrgView])))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let org = fetch(&state.pool, &who.org_id).await?;
    Ok(Json(json!({ "items": [org] })))
}

/// The caller's organization.
#[utoipa::path(get, path = "/v1/organizations/current", responses((status = 200, body = OrgView)))]
pub async fn current(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<OrgView>> {
    Ok(Json(fetch(&state.pool, &who.org_id).await?))
}

/// Renames the caller's organization. Needs owner.
#[utoipa::path(patch, path = "/v1/organizations/current", request_body = UpdateOrg, responses((status = 200, body = OrgView)))]
pub async fn update(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<UpdateOrg>,
) -> ApiResult<Json<OrgView>> {
    who.require(Role::Owner)?;
    let before = fetch(&state.pool, &who.org_id).await?;
    let mut tx = db::begin(&state.pool).await?;
    sqlx::query("UPDATE organizations SET name = $1 WHERE id = $2")
        .bind(&req.name)
        .bind(&who.org_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &who,
        "organization.update",
        &format!("organization/{}", before.key),
        Some(&json!(before)),
        Some(&json!({"name": req.name})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(fetch(&state.pool, &who.org_id).await?))
}

/// Creates a new organization (a separate tenant) with its own owner key. Needs owner.
#[utoipa::path(post, path = "/v1/organizations", request_body = CreateOrg, responses((status = 201, body = OrgView)))]
pub async fn create(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<CreateOrg>,
) -> ApiResult<(StatusCode, Json<OrgView>)> {
    who.require(Role::Owner)?;
    let (id, secret) = create_org(&state.pool, &req.key, &req.name).await?;
    let mut tx = db::begin(&state.pool).await?;
    audit::record(
        &mut tx,
        &who,
        "organization.create",
        &format!("organization/{}", req.key),
        None,
        Some(&json!({"id": id, "key": req.key})),
    )
    .await?;
    tx.commit().await?;
    let mut org = fetch(&state.pool, &id).await?;
    org.owner_api_key = Some(secret);
    Ok((StatusCode::CREATED, Json(org)))
}
