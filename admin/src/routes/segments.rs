//! Segments of a project, validated by the engine before they are stored.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use edgeflag_engine::ItemKind;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{Row, any::AnyRow};

use crate::{
    app::AppState,
    audit,
    auth::{Principal, Role},
    db::{self, now_ms, rfc3339},
    error::{ApiError, ApiResult},
    extract::{JsonBody, QueryParams},
    flagstore,
    model::{self, SegmentBody},
    scope::{self, Keyset, ListQuery, Page, check_key},
    validate,
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

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SegmentView {
    pub id: String,
    pub key: String,
    pub name: String,
    pub description: String,
    #[serde(flatten)]
    pub body: SegmentBody,
    pub version: i64,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
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
    pub rules: Vec<crate::model::SegmentRule>,
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
    pub rules: Vec<crate::model::SegmentRule>,
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

fn view(row: &AnyRow) -> ApiResult<SegmentView> {
    Ok(SegmentView {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        body: flagstore::segment_body(row)?,
        version: row.try_get("version")?,
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
        created_at: rfc3339(row.try_get("created_at")?),
        updated_at: rfc3339(row.try_get("updated_at")?),
    })
}

async fn fetch(state: &AppState, project_id: &str, key: &str) -> ApiResult<SegmentView> {
    let row = sqlx::query("SELECT * FROM segments WHERE project_id = $1 AND key = $2")
        .bind(project_id)
        .bind(key)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("segment", key))?;
    view(&row)
}

fn check(key: &str, body: &SegmentBody) -> ApiResult<()> {
    validate::check(
        vec![],
        vec![model::wire_segment(key, 1, body)],
        ItemKind::Segment,
        key,
        "",
    )
}

fn json_text<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

#[utoipa::path(get, path = "/v1/projects/{project}/segments", params(ListQuery), responses((status = 200, body = Page<SegmentView>)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(project): Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<SegmentView>>> {
    let project = scope::project(&state, &who, &project).await?;
    let keyset = Keyset::from_query(&q, true)?;
    let mut sql = format!(
        "SELECT * FROM segments WHERE project_id = $1{}",
        scope::archived_clause(&q, "")?
    );
    sql.push_str(" AND (key LIKE $2 OR name LIKE $2)");
    sql.push_str(&keyset.where_clause("", 3));
    sql.push_str(&keyset.order_clause(""));
    let like = format!("%{}%", q.q.as_deref().unwrap_or(""));
    let rows = scope::bind_cursor(sqlx::query(&sql).bind(&project.id).bind(like), &keyset)
        .fetch_all(&state.pool)
        .await?;
    let mut items = Vec::new();
    for row in &rows {
        let cursor = match keyset.column {
            "key" => json!(row.try_get::<String, _>("key")?),
            column => json!(row.try_get::<i64, _>(column)?),
        };
        items.push((cursor, view(row)?));
    }
    let page = keyset.finish(items, |(c, s)| (c.clone(), s.id.clone()));
    Ok(Json(Page {
        items: page.items.into_iter().map(|(_, s)| s).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a segment. Needs editor.
#[utoipa::path(post, path = "/v1/projects/{project}/segments", request_body = CreateSegment, responses((status = 201, body = SegmentView), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    Path(project_key): Path<String>,
    JsonBody(req): JsonBody<CreateSegment>,
) -> ApiResult<(StatusCode, Json<SegmentView>)> {
    let body = req.body();
    who.require(Role::Editor)?;
    check_key("/key", &req.key)?;
    check(&req.key, &body)?;
    let project = scope::project(&state, &who, &project_key).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query(
        "INSERT INTO segments (id, project_id, key, name, description, included, excluded, rules, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
    )
    .bind(db::new_id("seg")).bind(&project.id).bind(&req.key).bind(&req.name).bind(&req.description)
    .bind(json_text(&body.included)?).bind(json_text(&body.excluded)?).bind(json_text(&body.rules)?).bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let after = json!({"key": req.key, "name": req.name, "body": body});
    audit::record(
        &mut tx,
        &who,
        "segment.create",
        &format!("project/{project_key}/segment/{}", req.key),
        None,
        Some(&after),
    )
    .await?;
    audit::enqueue_project(&mut tx, &project.id, "segment.create").await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok((
        StatusCode::CREATED,
        Json(fetch(&state, &project.id, &req.key).await?),
    ))
}

#[utoipa::path(get, path = "/v1/projects/{project}/segments/{segment}", responses((status = 200, body = SegmentView)))]
pub async fn show(
    State(state): State<AppState>,
    who: Principal,
    Path((project, segment)): Path<(String, String)>,
) -> ApiResult<Json<SegmentView>> {
    let project = scope::project(&state, &who, &project).await?;
    Ok(Json(fetch(&state, &project.id, &segment).await?))
}

/// Replaces a segment's definition. Needs editor.
#[utoipa::path(put, path = "/v1/projects/{project}/segments/{segment}", request_body = UpdateSegment, responses((status = 200, body = SegmentView), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    who: Principal,
    Path((project_key, key)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateSegment>,
) -> ApiResult<Json<SegmentView>> {
    let body = req.body();
    who.require(Role::Editor)?;
    check(&key, &body)?;
    let project = scope::project(&state, &who, &project_key).await?;
    let before = fetch(&state, &project.id, &key).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query(
        "UPDATE segments SET name = $1, description = $2, included = $3, excluded = $4, rules = $5, version = version + 1, updated_at = $6 WHERE id = $7",
    )
    .bind(&req.name).bind(&req.description).bind(json_text(&body.included)?).bind(json_text(&body.excluded)?)
    .bind(json_text(&body.rules)?).bind(now_ms()).bind(&before.id)
    .execute(&mut *tx)
    .await?;
    let after = json!({"name": req.name, "description": req.description, "body": body});
    audit::record(
        &mut tx,
        &who,
        "segment.update",
        &format!("project/{project_key}/segment/{key}"),
        Some(&json!(before)),
        Some(&after),
    )
    .await?;
    audit::enqueue_project(&mut tx, &project.id, "segment.update").await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok(Json(fetch(&state, &project.id, &key).await?))
}

async fn set_archived(
    state: AppState,
    who: Principal,
    project_key: String,
    key: String,
    archived: bool,
) -> ApiResult<Json<SegmentView>> {
    who.require(Role::Editor)?;
    let project = scope::project(&state, &who, &project_key).await?;
    let before = fetch(&state, &project.id, &key).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    if archived {
        crate::dependents::check_segment_unused(&mut tx, &project.id, &key).await?;
    }
    sqlx::query("UPDATE segments SET archived_at = $1, updated_at = $2 WHERE id = $3")
        .bind(archived.then(now_ms))
        .bind(now_ms())
        .bind(&before.id)
        .execute(&mut *tx)
        .await?;
    let action = if archived {
        "segment.archive"
    } else {
        "segment.restore"
    };
    audit::record(
        &mut tx,
        &who,
        action,
        &format!("project/{project_key}/segment/{key}"),
        None,
        None,
    )
    .await?;
    audit::enqueue_project(&mut tx, &project.id, action).await?;
    tx.commit().await?;
    state.publish_wake.notify_one();
    Ok(Json(fetch(&state, &project.id, &key).await?))
}

#[utoipa::path(post, path = "/v1/projects/{project}/segments/{segment}/archive", responses((status = 200, body = SegmentView), (status = 409, description = "a live flag still uses the segment")))]
pub async fn archive(
    State(state): State<AppState>,
    who: Principal,
    Path((project, key)): Path<(String, String)>,
) -> ApiResult<Json<SegmentView>> {
    set_archived(state, who, project, key, true).await
}

#[utoipa::path(post, path = "/v1/projects/{project}/segments/{segment}/restore", responses((status = 200, body = SegmentView)))]
pub async fn restore(
    State(state): State<AppState>,
    who: Principal,
    Path((project, key)): Path<(String, String)>,
) -> ApiResult<Json<SegmentView>> {
    set_archived(state, who, project, key, false).await
}
