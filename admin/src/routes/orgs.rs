//! Organizations (tenants). A caller sees only its own organization; an instance
//! operator may create another one, which comes with its own first owner key.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
/// Kept here for the callers that knew it as a route helper (the CLI, tests, the load example).
pub use edgeflag_admin_core::orgs::create_org;
use edgeflag_admin_core::orgs::{self, OrgView};
use serde::Deserialize;
use serde_json::json;

use crate::{
    auth::{Principal, Role},
    error::ApiResult,
    extract::JsonBody,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations", get(list).post(create))
        .route("/v1/organizations/current", get(current).patch(update))
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

/// Lists the organizations the caller can see: its own.
#[utoipa::path(get, path = "/v1/organizations", responses((status = 200, body = [OrgView])))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let org = orgs::fetch(&state.pool, &who.org_id).await?;
    Ok(Json(json!({ "items": [org] })))
}

/// The caller's organization.
#[utoipa::path(get, path = "/v1/organizations/current", responses((status = 200, body = OrgView)))]
pub async fn current(
    State(state): State<AppState>,
    Principal(who): Principal,
) -> ApiResult<Json<OrgView>> {
    Ok(Json(orgs::fetch(&state.pool, &who.org_id).await?))
}

/// Renames the caller's organization. Needs owner.
#[utoipa::path(patch, path = "/v1/organizations/current", request_body = UpdateOrg, responses((status = 200, body = OrgView)))]
pub async fn update(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<UpdateOrg>,
) -> ApiResult<Json<OrgView>> {
    who.require(Role::Owner)?;
    Ok(Json(orgs::rename(&state.pool, &who, &req.name).await?))
}

/// Creates a new organization (a separate tenant) with its own owner key. Needs an
/// instance operator.
#[utoipa::path(post, path = "/v1/organizations", request_body = CreateOrg, responses((status = 201, body = OrgView)))]
pub async fn create(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<CreateOrg>,
) -> ApiResult<(StatusCode, Json<OrgView>)> {
    let org = orgs::create_by(&state.pool, &who, &req.key, &req.name).await?;
    Ok((StatusCode::CREATED, Json(org)))
}
