//! Flags: definitions per project, targeting per environment, toggles, bulk
//! toggles, archive and restore. Every write is validated by the engine first
//! (`edgeflag_admin_core::flags`).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post, put},
};
use edgeflag_admin_core::{
    Actor, Error,
    flags::{self, CreateFlag, Edit, FlagView},
    list::{ListQuery, Page},
    model::{EnvConfig, FlagDocument, Metadata, Variation},
    validate::Sent,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    auth::{Principal, Role},
    error::ApiResult,
    extract::{JsonBody, QueryParams},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects/{project}/flags", get(list).post(create))
        .route(
            "/v1/projects/{project}/flags/{flag}",
            get(show).patch(update),
        )
        .route("/v1/projects/{project}/flags/{flag}/archive", post(archive))
        .route("/v1/projects/{project}/flags/{flag}/restore", post(restore))
        .route(
            "/v1/projects/{project}/flags/{flag}/environments/{env}",
            put(set_targeting),
        )
        .route(
            "/v1/projects/{project}/flags/{flag}/environments/{env}/toggle",
            post(toggle),
        )
        .route(
            "/v1/projects/{project}/environments/{env}/flags/bulk-toggle",
            post(bulk_toggle),
        )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateFlag {
    pub name: Option<String>,
    pub description: Option<String>,
    pub variations: Option<Vec<Variation>>,
    pub tags: Option<Vec<String>>,
    pub client_visible: Option<bool>,
    pub salt: Option<String>,
    /// Replaces the flag's metadata as a whole.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    pub enabled: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkToggle {
    pub flags: Vec<String>,
    pub enabled: bool,
}

/// Lists flags with cursor pagination, `q`, `tag`, `type`, `archived` and `sort`.
#[utoipa::path(get, path = "/v1/projects/{project}/flags", params(ListQuery), responses((status = 200, body = Page<FlagView>), (status = 422, description = "a bad query parameter, e.g. limit outside 1–200")))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(project): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<FlagView>>> {
    Ok(Json(
        flags::list(&state.pool, &who.org_id, &project, &q).await?,
    ))
}

/// Creates a flag. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags", request_body = CreateFlag, responses((status = 201, body = FlagView), (status = 409, description = "the key is taken; the message says when by an archived flag, and how to restore it"), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path(project): Path<String>,
    JsonBody(req): JsonBody<CreateFlag>,
) -> ApiResult<(StatusCode, Json<FlagView>)> {
    who.require(Role::Editor)?;
    let view = flags::create(&state.pool, &who, &project, req.into_document()).await?;
    state.publish_wake.notify_one();
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}", responses((status = 200, body = FlagView)))]
pub async fn show(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<Json<FlagView>> {
    Ok(Json(
        flags::show(&state.pool, &who.org_id, &project, &flag).await?,
    ))
}

/// Applies `edit` to the stored document, validates and stores the result. Needs editor.
pub async fn modify(
    state: &AppState,
    who: &Actor,
    project: &str,
    flag: &str,
    what: Edit<'_>,
    edit: impl FnOnce(&mut FlagDocument) -> Result<(), Error>,
) -> ApiResult<FlagView> {
    who.require(Role::Editor)?;
    let view = flags::modify(&state.pool, who, project, flag, what, edit).await?;
    state.publish_wake.notify_one();
    Ok(view)
}

/// Changes a flag's definition. Needs editor.
#[utoipa::path(patch, path = "/v1/projects/{project}/flags/{flag}", request_body = UpdateFlag, responses((status = 200, body = FlagView), (status = 409, description = "the flag is archived"), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateFlag>,
) -> ApiResult<Json<FlagView>> {
    let what = Edit {
        action: "flag.update",
        sent: Sent::Definition,
    };
    let view = modify(&state, &who, &project, &flag, what, |doc| {
        let def = &mut doc.definition;
        if let Some(v) = req.name {
            def.name = v;
        }
        if let Some(v) = req.description {
            def.description = v;
        }
        if let Some(v) = req.variations {
            def.variations = v;
        }
        if let Some(v) = req.tags {
            def.tags = v;
        }
        if let Some(v) = req.client_visible {
            def.client_visible = v;
        }
        if req.salt.is_some() {
            def.salt = req.salt;
        }
        if let Some(v) = req.metadata {
            def.metadata = v;
        }
        Ok(())
    })
    .await?;
    Ok(Json(view))
}

/// Replaces a flag's targeting in one environment. Needs editor.
#[utoipa::path(put, path = "/v1/projects/{project}/flags/{flag}/environments/{env}", request_body = EnvConfig, responses((status = 200, body = FlagView), (status = 409, description = "the flag is archived"), (status = 422)))]
pub async fn set_targeting(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag, env)): Path<(String, String, String)>,
    JsonBody(config): JsonBody<EnvConfig>,
) -> ApiResult<Json<FlagView>> {
    let what = Edit {
        action: "flag.targeting",
        sent: Sent::Targeting { env: env.clone() },
    };
    let view = modify(&state, &who, &project, &flag, what, |doc| {
        let slot = doc
            .environments
            .get_mut(&env)
            .ok_or_else(|| Error::not_found("environment", &env))?;
        *slot = config;
        Ok(())
    })
    .await?;
    Ok(Json(view))
}

/// Turns a flag on or off in one environment. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{flag}/environments/{env}/toggle", request_body = Toggle, responses((status = 200, body = FlagView), (status = 409, description = "the flag is archived")))]
pub async fn toggle(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag, env)): Path<(String, String, String)>,
    JsonBody(req): JsonBody<Toggle>,
) -> ApiResult<Json<FlagView>> {
    let what = Edit {
        action: if req.enabled { "flag.on" } else { "flag.off" },
        sent: Sent::Nothing,
    };
    let view = modify(&state, &who, &project, &flag, what, |doc| {
        let slot = doc
            .environments
            .get_mut(&env)
            .ok_or_else(|| Error::not_found("environment", &env))?;
        slot.enabled = req.enabled;
        Ok(())
    })
    .await?;
    Ok(Json(view))
}

/// Turns many flags on or off in one environment, atomically: all or none. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/flags/bulk-toggle", request_body = BulkToggle, responses((status = 200)))]
pub async fn bulk_toggle(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, env)): Path<(String, String)>,
    JsonBody(req): JsonBody<BulkToggle>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Editor)?;
    let versions =
        flags::bulk_toggle(&state.pool, &who, &project, &env, &req.flags, req.enabled).await?;
    state.publish_wake.notify_one();
    Ok(Json(
        json!({ "environment": env, "enabled": req.enabled, "versions": versions }),
    ))
}

async fn set_archived(
    state: AppState,
    who: Actor,
    project: String,
    flag: String,
    archived: bool,
) -> ApiResult<Json<FlagView>> {
    who.require(Role::Editor)?;
    let view = flags::set_archived(&state.pool, &who, &project, &flag, archived).await?;
    state.publish_wake.notify_one();
    Ok(Json(view))
}

/// Archives a flag: it leaves the published snapshots; nothing is deleted. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{flag}/archive", responses((status = 200, body = FlagView)))]
pub async fn archive(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<Json<FlagView>> {
    set_archived(state, who, project, flag, true).await
}

/// Restores an archived flag. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{flag}/restore", responses((status = 200, body = FlagView)))]
pub async fn restore(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<Json<FlagView>> {
    set_archived(state, who, project, flag, false).await
}
