//! Environments of a project. Each one is published to the edge under its
//! `edgeName` (unique across the admin; default `{project}-{environment}`).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use edgeflag_admin_core::{
    environments::{self, EnvironmentView},
    list::{ListQuery, Page},
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
        .route(
            "/v1/projects/{project}/environments",
            get(list).post(create),
        )
        .route("/v1/projects/{project}/environments/{env}", get(show))
        .route(
            "/v1/projects/{project}/environments/{env}/archive",
            post(archive),
        )
        .route(
            "/v1/projects/{project}/environments/{env}/restore",
            post(restore),
        )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEnvironment {
    pub key: String,
    pub name: String,
    /// The environment's name at the edge; default `{project}-{key}`.
    pub edge_name: Option<String>,
}

#[utoipa::path(get, path = "/v1/projects/{project}/environments", params(ListQuery), responses((status = 200, body = Page<EnvironmentView>), (status = 422, description = "a bad query parameter, e.g. limit outside 1–200")))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(project): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<EnvironmentView>>> {
    Ok(Json(
        environments::list(&state.pool, &who.org_id, &project, &q).await?,
    ))
}

/// Creates an environment; every flag of the project gets an (off) configuration in it. Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/environments", request_body = CreateEnvironment, responses((status = 201, body = EnvironmentView)))]
pub async fn create(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(project): Path<String>,
    JsonBody(req): JsonBody<CreateEnvironment>,
) -> ApiResult<(StatusCode, Json<EnvironmentView>)> {
    who.require(Role::Admin)?;
    let edge_name = req.edge_name.as_deref();
    let view =
        environments::create(&state.pool, &who, &project, &req.key, &req.name, edge_name).await?;
    state.publish_wake.notify_one();
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/projects/{project}/environments/{env}", responses((status = 200, body = EnvironmentView)))]
pub async fn show(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(
        environments::fetch(&state.pool, &who.org_id, &project, &env).await?,
    ))
}

#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/archive", responses((status = 200, body = EnvironmentView)))]
pub async fn archive(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<EnvironmentView>> {
    who.require(Role::Admin)?;
    let view = environments::set_archived(&state.pool, &who, &project, &env, true).await?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/restore", responses((status = 200, body = EnvironmentView)))]
pub async fn restore(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<EnvironmentView>> {
    who.require(Role::Admin)?;
    let view = environments::set_archived(&state.pool, &who, &project, &env, false).await?;
    Ok(Json(view))
}
