//! Projects: the containers of flags, segments and environments.

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
    scope::{self, Keyset, ListQuery, Page, check_key},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/projects", get(list).post(create))
        .route("/v1/projects/{project}", get(show).patch(update))
        .route("/v1/projects/{project}/archive", post(archive))
        .route("/v1/projects/{project}/restore", post(restore))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    pub id: String,
    pub key: String,
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub created_at: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    pub name: Option<String>,
    pub description: Option<String>,
}

fn view(row: &AnyRow) -> Result<ProjectView, sqlx::Error> {
    Ok(ProjectView {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
        created_at: rfc3339(row.try_get("created_at")?),
    })
}

async fn fetch(state: &AppState, who: &Principal, key: &str) -> ApiResult<ProjectView> {
    let project = scope::project(state, who, key).await?;
    let row = sqlx::query("SELECT * FROM projects WHERE id = $1")
        .bind(&project.id)
        .fetch_one(&state.pool)
        .await?;
    Ok(view(&row)?)
}

/// Lists projects, with cursor pagination, `q`, `archived` and `sort`.
#[utoipa::path(get, path = "/v1/projects", params(ListQuery), responses((status = 200, body = Page<ProjectView>)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<ProjectView>>> {
    let keyset = Keyset::from_query(&q, false)?;
    let mut sql = format!(
        "SELECT * FROM projects WHERE org_id = $1{}",
        scope::archived_clause(&q, "")?
    );
    sql.push_str(" AND (key LIKE $2 OR name LIKE $2)");
    sql.push_str(&keyset.where_clause("", 3));
    sql.push_str(&keyset.order_clause(""));
    let like = format!("%{}%", q.q.as_deref().unwrap_or(""));
    let query = sqlx::query(&sql).bind(&who.org_id).bind(like);
    let rows = scope::bind_cursor(query, &keyset)
        .fetch_all(&state.pool)
        .await?;
    let items = rows.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(keyset.finish(items, |p| {
        keyset.key_or_created(&p.key, &p.created_at, &p.id)
    })))
}

/// Creates a project. Needs admin.
#[utoipa::path(post, path = "/v1/projects", request_body = CreateProject, responses((status = 201, body = ProjectView)))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    JsonBody(req): JsonBody<CreateProject>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    who.require(Role::Admin)?;
    check_key("/key", &req.key)?;
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query("INSERT INTO projects (id, org_id, key, name, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(db::new_id("prj"))
        .bind(&who.org_id)
        .bind(&req.key)
        .bind(&req.name)
        .bind(&req.description)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    let after = json!({"key": req.key, "name": req.name, "description": req.description});
    audit::record(
        &mut tx,
        &who,
        "project.create",
        &format!("project/{}", req.key),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(fetch(&state, &who, &req.key).await?),
    ))
}

#[utoipa::path(get, path = "/v1/projects/{project}", responses((status = 200, body = ProjectView)))]
pub async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path(key): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(fetch(&state, &who, &key).await?))
}

/// Renames or redescribes a project. Needs admin.
#[utoipa::path(patch, path = "/v1/projects/{project}", request_body = UpdateProject, responses((status = 200, body = ProjectView)))]
pub async fn update(
    State(state): State<AppState>,
    who: Principal,
    Path(key): Path<String>,
    JsonBody(req): JsonBody<UpdateProject>,
) -> ApiResult<Json<ProjectView>> {
    who.require(Role::Admin)?;
    let before = fetch(&state, &who, &key).await?;
    let name = req.name.clone().unwrap_or_else(|| before.name.clone());
    let description = req
        .description
        .clone()
        .unwrap_or_else(|| before.description.clone());
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query("UPDATE projects SET name = $1, description = $2 WHERE id = $3")
        .bind(&name)
        .bind(&description)
        .bind(&before.id)
        .execute(&mut *tx)
        .await?;
    let after = json!({"name": name, "description": description});
    audit::record(
        &mut tx,
        &who,
        "project.update",
        &format!("project/{key}"),
        Some(&json!(before)),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(fetch(&state, &who, &key).await?))
}

async fn set_archived(
    state: AppState,
    who: Principal,
    key: String,
    archived: bool,
) -> ApiResult<Json<ProjectView>> {
    who.require(Role::Admin)?;
    let project = scope::project(&state, &who, &key).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query("UPDATE projects SET archived_at = $1 WHERE id = $2")
        .bind(archived.then(now_ms))
        .bind(&project.id)
        .execute(&mut *tx)
        .await?;
    let action = if archived {
        "project.archive"
    } else {
        "project.restore"
    };
    audit::record(&mut tx, &who, action, &format!("project/{key}"), None, None).await?;
    tx.commit().await?;
    Ok(Json(fetch(&state, &who, &key).await?))
}

/// Archives a project (nothing is deleted). Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/archive", responses((status = 200, body = ProjectView)))]
pub async fn archive(
    State(state): State<AppState>,
    who: Principal,
    Path(key): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    set_archived(state, who, key, true).await
}

/// Restores an archived project. Needs admin.
#[utoipa::path(post, path = "/v1/projects/{project}/restore", responses((status = 200, body = ProjectView)))]
pub async fn restore(
    State(state): State<AppState>,
    who: Principal,
    Path(key): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    set_archived(state, who, key, false).await
}
