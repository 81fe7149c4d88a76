//! Projects: the containers of flags, segments and environments.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use edgeflag_admin_core::{
    list::{ListQuery, Page},
    projects::{self, ProjectView},
};
use serde::Deserialize;

use crate::{
    auth::{Principal, Role},
    error::ApiResult,
    extract::{JsonBody, QueryParams},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects", get(list).post(create))
        .route("/v1/projects/{project}", get(show).patch(update))
        .route("/v1/projects/{project}/archive", post(archive))
        .route("/v1/projects/{project}/restore", post(restore))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateProject {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Attributes that identify people (docs/API-DESIGN.md, "Private attributes").
    #[serde(default)]
    pub private_attributes: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateProject {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Attributes that identify people (docs/API-DESIGN.md, "Private attributes").
    pub private_attributes: Option<Vec<String>>,
}

/// Lists projects, with cursor pagination, `q`, `archived` and `sort`.
#[utoipa::path(get, path = "/v1/projects", params(ListQuery), responses((status = 200, body = Page<ProjectView>), (status = 422, description = "a bad query parameter, e.g. limit outside 1–200")))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<ProjectView>>> {
    Ok(Json(projects::list(&state.pool, &who.org_id, &q).await?))
}

/// Creates a project. Needs admin.
#[utoipa::path(post, path = "/v1/projects", request_body = CreateProject, responses((status = 201, body = ProjectView)))]
pub async fn create(
    State(state): State<AppState>,
    Principal(who): Principal,
    JsonBody(req): JsonBody<CreateProject>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    who.require(Role::Admin)?;
    let view = projects::create(
        &state.pool,
        &who,
        &req.key,
        &req.name,
        &req.description,
        &req.private_attributes,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/projects/{project}", responses((status = 200, body = ProjectView)))]
pub async fn show(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(key): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(projects::fetch(&state.pool, &who.org_id, &key).await?))
}

/// Renames or redescribes a project, or changes its private attributes. Needs admin.
#[utoipa::path(patch, path = "/v1/projects/{project}", request_body = UpdateProject, responses((status = 200, body = ProjectView)))]
pub async fn update(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(key): Path<String>,
    JsonBody(req): JsonBody<UpdateProject>,
) -> ApiResult<Json<ProjectView>> {
    who.require(Role::Admin)?;
    let change = projects::ProjectChange {
        name: req.name,
        description: req.description,
        private_attributes: req.private_attributes,
    };
    let view = projects::update(&state.pool, &who, &key, change).await?;
    Ok(Json(view))
}

/// Archives a project (nothing is deleted). Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/archive", responses((status = 200, body = ProjectView)))]
pub async fn archive(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(key): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    who.require(Role::Admin)?;
    Ok(Json(
        projects::set_archived(&state.pool, &who, &key, true).await?,
    ))
}

/// Restores an archived project. Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/restore", responses((status = 200, body = ProjectView)))]
pub async fn restore(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(key): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    who.require(Role::Admin)?;
    Ok(Json(
        projects::set_archived(&state.pool, &who, &key, false).await?,
    ))
}
