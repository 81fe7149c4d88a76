//! Environments of a project. Each one is published to the edge under its
//! `edgeName` (unique across the admin; default `{project}-{environment}`).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{Row, any::AnyRow};

use crate::{
    app::AppState,
    audit,
    auth::{Principal, Role},
    db::{self, now_ms, rfc3339},
    error::ApiResult,
    extract::{JsonBody, QueryParams},
    flagstore::{default_env_config, load_def},
    model::FlagDef,
    scope::{self, Keyset, ListQuery, Page, check_key},
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

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentView {
    pub id: String,
    pub key: String,
    pub name: String,
    pub edge_name: String,
    pub snapshot_version: i64,
    pub archived: bool,
    pub created_at: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEnvironment {
    pub key: String,
    pub name: String,
    /// The environment's name at the edge; default `{project}-{key}`.
    pub edge_name: Option<String>,
}

fn view(row: &AnyRow) -> Result<EnvironmentView, sqlx::Error> {
    Ok(EnvironmentView {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        edge_name: row.try_get("edge_name")?,
        snapshot_version: row.try_get("snapshot_version")?,
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
        created_at: rfc3339(row.try_get("created_at")?),
    })
}

async fn fetch(
    state: &AppState,
    who: &Principal,
    project: &str,
    env: &str,
) -> ApiResult<EnvironmentView> {
    let (_, env) = scope::project_env(state, who, project, env).await?;
    let row = sqlx::query("SELECT * FROM environments WHERE id = $1")
        .bind(&env.id)
        .fetch_one(&state.pool)
        .await?;
    Ok(view(&row)?)
}

#[utoipa::path(get, path = "/v1/projects/{project}/environments", params(ListQuery), responses((status = 200, body = Page<EnvironmentView>)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<EnvironmentView>>> {
    let project = scope::project(&state, &who, &project).await?;
    let keyset = Keyset::from_query(&q, false)?;
    let mut sql = format!(
        "SELECT * FROM environments WHERE project_id = $1{}",
        scope::archived_clause(&q, "")?
    );
    sql.push_str(" AND (key LIKE $2 OR name LIKE $2)");
    sql.push_str(&keyset.where_clause("", 3));
    sql.push_str(&keyset.order_clause(""));
    let like = format!("%{}%", q.q.as_deref().unwrap_or(""));
    let rows = scope::bind_cursor(sqlx::query(&sql).bind(&project.id).bind(like), &keyset)
        .fetch_all(&state.pool)
        .await?;
    let items = rows.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(keyset.finish(items, |e| {
        keyset.key_or_created(&e.key, &e.created_at, &e.id)
    })))
}

/// Creates an environment; every flag of the project gets an (off) configuration in it. Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/environments", request_body = CreateEnvironment, responses((status = 201, body = EnvironmentView)))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    Path(project_key): Path<String>,
    JsonBody(req): JsonBody<CreateEnvironment>,
) -> ApiResult<(StatusCode, Json<EnvironmentView>)> {
    who.require(Role::Admin)?;
    check_key("/key", &req.key)?;
    let project = scope::project(&state, &who, &project_key).await?;
    let edge_name = req
        .edge_name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", project.key, req.key));
    check_key("/edgeName", &edge_name)?;
    let id = db::new_id("env");
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query("INSERT INTO environments (id, project_id, key, name, edge_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(&project.id)
        .bind(&req.key)
        .bind(&req.name)
        .bind(&edge_name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    let flags = sqlx::query("SELECT * FROM flags WHERE project_id = $1")
        .bind(&project.id)
        .fetch_all(&mut *tx)
        .await?;
    for row in &flags {
        let def: FlagDef = load_def(row)?;
        let config = default_env_config(&def);
        sqlx::query("INSERT INTO flag_environments (flag_id, environment_id, enabled, config) VALUES ($1, $2, 0, $3)")
            .bind(row.try_get::<String, _>("id")?)
            .bind(&id)
            .bind(serde_json::to_string(&config).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
    }
    let after = json!({"key": req.key, "name": req.name, "edgeName": edge_name});
    audit::record(
        &mut tx,
        &who,
        "environment.create",
        &format!("project/{project_key}/environment/{}", req.key),
        None,
        Some(&after),
    )
    .await?;
    audit::enqueue(&mut tx, &id, "environment.create").await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok((
        StatusCode::CREATED,
        Json(fetch(&state, &who, &project_key, &req.key).await?),
    ))
}

#[utoipa::path(get, path = "/v1/projects/{project}/environments/{env}", responses((status = 200, body = EnvironmentView)))]
pub async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(fetch(&state, &who, &project, &env).await?))
}

async fn set_archived(
    state: AppState,
    who: Principal,
    project: String,
    env: String,
    archived: bool,
) -> ApiResult<Json<EnvironmentView>> {
    who.require(Role::Admin)?;
    let (_, e) = scope::project_env(&state, &who, &project, &env).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query("UPDATE environments SET archived_at = $1 WHERE id = $2")
        .bind(archived.then(now_ms))
        .bind(&e.id)
        .execute(&mut *tx)
        .await?;
    let action = if archived {
        "environment.archive"
    } else {
        "environment.restore"
    };
    audit::record(
        &mut tx,
        &who,
        action,
        &format!("project/{project}/environment/{env}"),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(fetch(&state, &who, &project, &env).await?))
}

#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/archive", responses((status = 200, body = EnvironmentView)))]
pub async fn archive(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<EnvironmentView>> {
    set_archived(state, who, project, env, true).await
}

#[utoipa::path(post, path = "/v1/projects/{project}/environments/{env}/restore", responses((status = 200, body = EnvironmentView)))]
pub async fn restore(
    State(state): State<AppState>,
    who: Principal,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<Json<EnvironmentView>> {
    set_archived(state, who, project, env, false).await
}
