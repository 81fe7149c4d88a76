//! Segments of a project, validated by the engine before they are stored.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use edgeflag_admin_core::{
    Actor,
    list::{ListQuery, Page},
    model::{SegmentBody, SegmentRule},
    segments::{self, SegmentFields, SegmentView},
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
        .route("/v1/projects/{project}/segments", get(list).post(create))
        .route(
            "/v1/projects/{project}/segments/{segment}",
            get(show).put(update),
        )
        .route(
            "/v1/projects/{project}/segments/{segment}/archive",
            post(archive),
        )
        .route(
            "/v1/projects/{project}/segments/{segment}/restore",
            post(restore),
        )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSegment {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub included: Vec<String>,
    #[serde(default)]
    pub excluded: Vec<String>,
    #[serde(default)]
    pub rules: Vec<SegmentRule>,
}

impl CreateSegment {
    fn body(&self) -> SegmentBody {
        SegmentBody {
            included: self.included.clone(),
            excluded: self.excluded.clone(),
            rules: self.rules.clone(),
        }
    }
}

/// The same fields without the key (which is in the URL).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSegment {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub included: Vec<String>,
    #[serde(default)]
    pub excluded: Vec<String>,
    #[serde(default)]
    pub rules: Vec<SegmentRule>,
}

impl UpdateSegment {
    fn body(&self) -> SegmentBody {
        SegmentBody {
            included: self.included.clone(),
            excluded: self.excluded.clone(),
            rules: self.rules.clone(),
        }
    }
}

#[utoipa::path(get, path = "/v1/projects/{project}/segments", params(ListQuery), responses((status = 200, body = Page<SegmentView>), (status = 422, description = "a bad query parameter, e.g. limit outside 1–200")))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(project): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<SegmentView>>> {
    Ok(Json(
        segments::list(&state.pool, &who.org_id, &project, &q).await?,
    ))
}

/// Creates a segment. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/segments", request_body = CreateSegment, responses((status = 201, body = SegmentView), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(project): Path<String>,
    JsonBody(req): JsonBody<CreateSegment>,
) -> ApiResult<(StatusCode, Json<SegmentView>)> {
    let body = req.body();
    who.require(Role::Editor)?;
    let fields = SegmentFields {
        name: &req.name,
        description: &req.description,
        body: &body,
    };
    let view = segments::create(&state.pool, &who, &project, &req.key, &fields).await?;
    state.publish_wake.notify_one();
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/projects/{project}/segments/{segment}", responses((status = 200, body = SegmentView)))]
pub async fn show(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, segment)): Path<(String, String)>,
) -> ApiResult<Json<SegmentView>> {
    Ok(Json(
        segments::show(&state.pool, &who.org_id, &project, &segment).await?,
    ))
}

/// Replaces a segment's definition. Needs editor.
#[utoipa::path(put, path = "/v1/projects/{project}/segments/{segment}", request_body = UpdateSegment, responses((status = 200, body = SegmentView), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, key)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateSegment>,
) -> ApiResult<Json<SegmentView>> {
    let body = req.body();
    who.require(Role::Editor)?;
    let fields = SegmentFields {
        name: &req.name,
        description: &req.description,
        body: &body,
    };
    let view = segments::update(&state.pool, &who, &project, &key, &fields).await?;
    state.publish_wake.notify_one();
    Ok(Json(view))
}

async fn set_archived(
    state: AppState,
    who: Actor,
    project: String,
    key: String,
    archived: bool,
) -> ApiResult<Json<SegmentView>> {
    who.require(Role::Editor)?;
    let view = segments::set_archived(&state.pool, &who, &project, &key, archived).await?;
    state.publish_wake.notify_one();
    Ok(Json(view))
}

#[utoipa::path(post, path = "/v1/projects/{project}/segments/{segment}/archive", responses((status = 200, body = SegmentView), (status = 409, description = "a live flag still uses the segment")))]
pub async fn archive(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, key)): Path<(String, String)>,
) -> ApiResult<Json<SegmentView>> {
    set_archived(state, who, project, key, true).await
}

#[utoipa::path(post, path = "/v1/projects/{project}/segments/{segment}/restore", responses((status = 200, body = SegmentView)))]
pub async fn restore(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, key)): Path<(String, String)>,
) -> ApiResult<Json<SegmentView>> {
    set_archived(state, who, project, key, false).await
}
