//! A flag's history: every version kept, two versions diffed, an old one restored
//! (as a new version, so history only grows).

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, post},
};
use edgeflag_admin_core::{
    Error,
    db::rfc3339,
    flags::{self, Edit, FlagView},
    model::FlagDocument,
    validate::Sent,
    versions,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    auth::Principal, error::ApiResult, extract::QueryParams, routes::flags::modify, state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects/{project}/flags/{flag}/versions", get(list))
        .route(
            "/v1/projects/{project}/flags/{flag}/versions/diff",
            get(diff),
        )
        .route(
            "/v1/projects/{project}/flags/{flag}/versions/{version}",
            get(show),
        )
        .route(
            "/v1/projects/{project}/flags/{flag}/versions/{version}/restore",
            post(restore),
        )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    pub from: i64,
    pub to: i64,
}

/// Every version of a flag, newest first.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}/versions", responses((status = 200)))]
pub async fn list(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let items = versions::list(&state.pool, &who.org_id, &project, &flag).await?;
    Ok(Json(json!({ "items": items })))
}

/// One version's full document.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}/versions/{version}", responses((status = 200)))]
pub async fn show(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag, version)): Path<(String, String, i64)>,
) -> ApiResult<Json<Value>> {
    let id = flags::id(&state.pool, &who.org_id, &project, &flag).await?;
    let v = versions::get(&state.pool, &id, version).await?;
    Ok(Json(
        json!({"version": version, "actor": v.actor, "createdAt": rfc3339(v.created_at), "document": v.document}),
    ))
}

/// The changes from one version to another, as JSON Patch-like operations.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}/versions/diff", params(DiffQuery), responses((status = 200)))]
pub async fn diff(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag)): Path<(String, String)>,
    QueryParams(q): QueryParams<DiffQuery>,
) -> ApiResult<Json<Value>> {
    let changes = versions::diff(&state.pool, &who.org_id, &project, &flag, (q.from, q.to)).await?;
    Ok(Json(
        json!({"from": q.from, "to": q.to, "changes": changes}),
    ))
}

/// Makes an old version current again (as a new version). Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{flag}/versions/{version}/restore", responses((status = 200, body = FlagView)))]
pub async fn restore(
    State(state): State<AppState>,
    Principal(who): Principal,
    Path((project, flag, version)): Path<(String, String, i64)>,
) -> ApiResult<Json<FlagView>> {
    let id = flags::id(&state.pool, &who.org_id, &project, &flag).await?;
    let old = versions::get(&state.pool, &id, version).await?;
    let old: FlagDocument = serde_json::from_value(old.document).map_err(Error::internal)?;
    let view = modify(
        &state,
        &who,
        &project,
        &flag,
        Edit {
            action: "flag.restore-version",
            sent: Sent::Nothing,
        },
        |doc| {
            let current_envs = doc.environments.clone();
            *doc = old;
            // Environments created after that version keep their current targeting.
            for (key, config) in current_envs {
                doc.environments.entry(key).or_insert(config);
            }
            Ok(())
        },
    )
    .await?;
    Ok(Json(view))
}
