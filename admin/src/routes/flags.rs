//! Flags: definitions per project, targeting per environment, toggles, bulk
//! toggles, archive and restore. Every write is validated by the engine first.

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post, put},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;

use crate::{
    app::AppState,
    auth::{Principal, Role},
    db::{self, now_ms, rfc3339},
    error::{ApiError, ApiResult},
    extract::{JsonBody, QueryParams},
    flagstore::{self, Change, FlagDocument},
    model::{EnvConfig, FlagDef, Variation},
    scope::{self, Keyset, ListQuery, Page, ProjectRef, check_key},
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

/// A flag as the API returns it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagView {
    #[serde(flatten)]
    pub document: FlagDocument,
    pub version: i64,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFlag {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub value_type: String,
    pub variations: Vec<Variation>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub client_visible: bool,
    pub salt: Option<String>,
    /// Targeting per environment key; environments left out start off.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvConfig>,
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

pub async fn view(state: &AppState, flag_id: &str) -> ApiResult<FlagView> {
    let mut conn = state.pool.acquire().await?;
    let (document, version) = flagstore::load(&mut conn, flag_id).await?;
    let row = sqlx::query("SELECT created_at, updated_at, archived_at FROM flags WHERE id = $1")
        .bind(flag_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(FlagView {
        document,
        version,
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
        created_at: rfc3339(row.try_get("created_at")?),
        updated_at: rfc3339(row.try_get("updated_at")?),
    })
}

/// Lists flags with cursor pagination, `q`, `tag`, `type`, `archived` and `sort`.
#[utoipa::path(get, path = "/v1/projects/{project}/flags", params(ListQuery), responses((status = 200, body = Page<FlagView>)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<FlagView>>> {
    let project = scope::project(&state, &who, &project).await?;
    let keyset = Keyset::from_query(&q, true)?;
    let mut sql = format!(
        "SELECT id, key, created_at, updated_at FROM flags WHERE project_id = $1{}",
        scope::archived_clause(&q, "")?
    );
    sql.push_str(" AND (key LIKE $2 OR name LIKE $2) AND tags LIKE $3 AND value_type LIKE $4");
    sql.push_str(&keyset.where_clause("", 5));
    sql.push_str(&keyset.order_clause(""));
    let like = format!("%{}%", q.q.as_deref().unwrap_or(""));
    let tag = q
        .tag
        .as_ref()
        .map_or_else(|| "%".to_string(), |t| format!("%{}%", json!(t)));
    let value_type = q.value_type.clone().unwrap_or_else(|| "%".to_string());
    let query = sqlx::query(&sql)
        .bind(&project.id)
        .bind(like)
        .bind(tag)
        .bind(value_type);
    let rows = scope::bind_cursor(query, &keyset)
        .fetch_all(&state.pool)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    let mut cursors = BTreeMap::new();
    for row in &rows {
        let id: String = row.try_get("id")?;
        let cursor = match keyset.column {
            "key" => json!(row.try_get::<String, _>("key")?),
            column => json!(row.try_get::<i64, _>(column)?),
        };
        cursors.insert(id.clone(), cursor);
        items.push((id.clone(), view(&state, &id).await?));
    }
    let page = keyset.finish(items, |(id, _)| {
        (cursors.get(id).cloned().unwrap_or(Value::Null), id.clone())
    });
    Ok(Json(Page {
        items: page.items.into_iter().map(|(_, v)| v).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a flag. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags", request_body = CreateFlag, responses((status = 201, body = FlagView), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    Path(project_key): Path<String>,
    JsonBody(req): JsonBody<CreateFlag>,
) -> ApiResult<(StatusCode, Json<FlagView>)> {
    who.require(Role::Editor)?;
    check_key("/key", &req.key)?;
    let project = scope::project(&state, &who, &project_key).await?;
    let definition = FlagDef {
        key: req.key,
        name: req.name,
        description: req.description,
        value_type: req.value_type,
        variations: req.variations,
        tags: req.tags,
        client_visible: req.client_visible,
        salt: req.salt,
    };
    let mut doc = FlagDocument {
        definition,
        environments: req.environments,
    };
    fill_environments(&state, &project, &mut doc).await?;
    let id = db::new_id("flg");
    let mut tx = crate::db::begin(&state.pool).await?;
    flagstore::validate(&mut tx, &project.id, &doc).await?;
    let change = Change {
        who: &who,
        action: "flag.create",
        project_id: &project.id,
        project_key: &project.key,
        before: None,
    };
    flagstore::write(&mut tx, &id, &doc, &change).await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok((StatusCode::CREATED, Json(view(&state, &id).await?)))
}

/// Every environment of the project gets a configuration; unknown ones are refused.
async fn fill_environments(
    state: &AppState,
    project: &ProjectRef,
    doc: &mut FlagDocument,
) -> ApiResult<()> {
    let rows = sqlx::query("SELECT key FROM environments WHERE project_id = $1")
        .bind(&project.id)
        .fetch_all(&state.pool)
        .await?;
    let keys: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("key"))
        .collect::<Result<_, _>>()?;
    if let Some(unknown) = doc.environments.keys().find(|k| !keys.contains(k)) {
        return Err(ApiError::invalid(
            format!("/environments/{unknown}"),
            format!("environment `{unknown}` does not exist"),
        ));
    }
    for key in keys {
        let default = flagstore::default_env_config(&doc.definition);
        doc.environments.entry(key).or_insert(default);
    }
    Ok(())
}

#[utoipa::path(get, path = "/v1/projects/{project}/flags/{flag}", responses((status = 200, body = FlagView)))]
pub async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<Json<FlagView>> {
    let project = scope::project(&state, &who, &project).await?;
    let mut conn = state.pool.acquire().await?;
    let id = flagstore::find(&mut conn, &project.id, &flag).await?;
    drop(conn);
    Ok(Json(view(&state, &id).await?))
}

/// Applies `edit` to the stored document, validates and stores the result.
pub async fn modify(
    state: &AppState,
    who: &Principal,
    project_key: &str,
    flag: &str,
    action: &str,
    edit: impl FnOnce(&mut FlagDocument) -> ApiResult<()>,
) -> ApiResult<FlagView> {
    who.require(Role::Editor)?;
    let project = scope::project(state, who, project_key).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    let id = flagstore::find(&mut tx, &project.id, flag).await?;
    let (before, _) = flagstore::load(&mut tx, &id).await?;
    let mut doc = before.clone();
    edit(&mut doc)?;
    flagstore::validate(&mut tx, &project.id, &doc).await?;
    let change = Change {
        who,
        action,
        project_id: &project.id,
        project_key: &project.key,
        before: Some(&before),
    };
    flagstore::write(&mut tx, &id, &doc, &change).await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    view(state, &id).await
}

/// Changes a flag's definition. Needs editor.
#[utoipa::path(patch, path = "/v1/projects/{project}/flags/{flag}", request_body = UpdateFlag, responses((status = 200, body = FlagView), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateFlag>,
) -> ApiResult<Json<FlagView>> {
    let view = modify(&state, &who, &project, &flag, "flag.update", |doc| {
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
        Ok(())
    })
    .await?;
    Ok(Json(view))
}

/// Replaces a flag's targeting in one environment. Needs editor.
#[utoipa::path(put, path = "/v1/projects/{project}/flags/{flag}/environments/{env}", request_body = EnvConfig, responses((status = 200, body = FlagView), (status = 422)))]
pub async fn set_targeting(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag, env)): Path<(String, String, String)>,
    JsonBody(config): JsonBody<EnvConfig>,
) -> ApiResult<Json<FlagView>> {
    let view = modify(&state, &who, &project, &flag, "flag.targeting", |doc| {
        let slot = doc
            .environments
            .get_mut(&env)
            .ok_or_else(|| ApiError::not_found("environment", &env))?;
        *slot = config;
        Ok(())
    })
    .await?;
    Ok(Json(view))
}

/// Turns a flag on or off in one environment. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{flag}/environments/{env}/toggle", request_body = Toggle, responses((status = 200, body = FlagView)))]
pub async fn toggle(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag, env)): Path<(String, String, String)>,
    JsonBody(req): JsonBody<Toggle>,
) -> ApiResult<Json<FlagView>> {
    let action = if req.enabled { "flag.on" } else { "flag.off" };
    let view = modify(&state, &who, &project, &flag, action, |doc| {
        let slot = doc
            .environments
            .get_mut(&env)
            .ok_or_else(|| ApiError::not_found("environment", &env))?;
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
    who: Principal,
    Path((project_key, env)): Path<(String, String)>,
    JsonBody(req): JsonBody<BulkToggle>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Editor)?;
    let project = scope::project(&state, &who, &project_key).await?;
    scope::environment(&state, &project, &env).await?;
    let action = if req.enabled { "flag.on" } else { "flag.off" };
    let mut tx = crate::db::begin(&state.pool).await?;
    let mut versions = serde_json::Map::new();
    for (i, key) in req.flags.iter().enumerate() {
        let id = flagstore::find(&mut tx, &project.id, key)
            .await
            .map_err(|_| {
                ApiError::invalid(
                    format!("/flags/{i}"),
                    format!("flag `{key}` does not exist"),
                )
            })?;
        let (before, _) = flagstore::load(&mut tx, &id).await?;
        let mut doc = before.clone();
        if let Some(slot) = doc.environments.get_mut(&env) {
            slot.enabled = req.enabled;
        }
        let change = Change {
            who: &who,
            action,
            project_id: &project.id,
            project_key: &project.key,
            before: Some(&before),
        };
        let version = flagstore::write(&mut tx, &id, &doc, &change).await?;
        versions.insert(key.clone(), json!(version));
    }
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok(Json(
        json!({ "environment": env, "enabled": req.enabled, "versions": versions }),
    ))
}

async fn set_archived(
    state: AppState,
    who: Principal,
    project_key: String,
    flag: String,
    archived: bool,
) -> ApiResult<Json<FlagView>> {
    who.require(Role::Editor)?;
    let project = scope::project(&state, &who, &project_key).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    let id = flagstore::find(&mut tx, &project.id, &flag).await?;
    sqlx::query("UPDATE flags SET archived_at = $1, updated_at = $2 WHERE id = $3")
        .bind(archived.then(now_ms))
        .bind(now_ms())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let action = if archived {
        "flag.archive"
    } else {
        "flag.restore"
    };
    crate::audit::record(
        &mut tx,
        &who,
        action,
        &format!("project/{project_key}/flag/{flag}"),
        None,
        None,
    )
    .await?;
    crate::audit::enqueue_project(&mut tx, &project.id, action).await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok(Json(view(&state, &id).await?))
}

/// Archives a flag: it leaves the published snapshots; nothing is deleted. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{flag}/archive", responses((status = 200, body = FlagView)))]
pub async fn archive(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<Json<FlagView>> {
    set_archived(state, who, project, flag, true).await
}

/// Restores an archived flag. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{flag}/restore", responses((status = 200, body = FlagView)))]
pub async fn restore(
    State(state): State<AppState>,
    who: Principal,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<Json<FlagView>> {
    set_archived(state, who, project, flag, false).await
}
