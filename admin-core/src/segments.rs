//! Segments of a project, validated by the engine before they are stored. Every
//! write audits itself and asks the publisher to rebuild the project's environments.

use edgeflag_engine::ItemKind;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    actor::Actor,
    audit,
    db::{self, now_ms, rfc3339},
    dependents,
    error::Error,
    flagstore,
    list::{Keyset, ListQuery, Page, archived_clause, bind_cursor},
    model::{self, SegmentBody},
    outbox, privacy,
    scope::{self, check_key},
    validate,
};

/// A segment as the API returns it.
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
    /// On the answer to a change only, when a client-visible flag uses the segment:
    /// what the client snapshot keeps readable of a private attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<privacy::PrivacyWarning>,
}

/// What a segment is called and who is in it.
#[derive(Debug, Clone)]
pub struct SegmentFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub body: &'a SegmentBody,
}

fn view(row: &AnyRow) -> Result<SegmentView, Error> {
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
        warnings: Vec::new(),
    })
}

/// The segment's view with the privacy warnings its saved rules deserve.
async fn fetch_with_warnings(
    pool: &AnyPool,
    project_id: &str,
    key: &str,
) -> Result<SegmentView, Error> {
    let mut view = fetch(pool, project_id, key).await?;
    let mut conn = pool.acquire().await?;
    view.warnings = privacy::segment_warnings(&mut conn, project_id, key, &view.body.rules).await?;
    Ok(view)
}

async fn fetch(pool: &AnyPool, project_id: &str, key: &str) -> Result<SegmentView, Error> {
    let row = sqlx::query("SELECT * FROM segments WHERE project_id = $1 AND key = $2")
        .bind(project_id)
        .bind(key)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("segment", key))?;
    view(&row)
}

/// Segment `key` of project `project_key` in organization `org_id`.
pub async fn show(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
    key: &str,
) -> Result<SegmentView, Error> {
    let project = scope::project(pool, org_id, project_key).await?;
    fetch(pool, &project.id, key).await
}

/// Loads the segment alone through the engine; a warning becomes [`Error::Invalid`].
fn check(key: &str, body: &SegmentBody) -> Result<(), Error> {
    validate::check(
        vec![],
        vec![model::wire_segment(key, 1, body)],
        ItemKind::Segment,
        key,
    )
}

fn json_text<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(Error::internal)
}

/// One page of a project's segments.
pub async fn list(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
    q: &ListQuery,
) -> Result<Page<SegmentView>, Error> {
    let project = scope::project(pool, org_id, project_key).await?;
    let keyset = Keyset::from_query(q, true)?;
    let mut sql = format!(
        "SELECT * FROM segments WHERE project_id = $1{}",
        archived_clause(q, "")?
    );
    sql.push_str(" AND (key LIKE $2 OR name LIKE $2)");
    sql.push_str(&keyset.where_clause("", 3));
    sql.push_str(&keyset.order_clause(""));
    let like = format!("%{}%", q.q.as_deref().unwrap_or(""));
    let rows = bind_cursor(sqlx::query(&sql).bind(&project.id).bind(like), &keyset)
        .fetch_all(pool)
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
    Ok(Page {
        items: page.items.into_iter().map(|(_, s)| s).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Creates a segment.
pub async fn create(
    pool: &AnyPool,
    actor: &Actor,
    project_key: &str,
    key: &str,
    fields: &SegmentFields<'_>,
) -> Result<SegmentView, Error> {
    let body = fields.body;
    check_key("/key", key)?;
    check(key, body)?;
    let project = scope::project(pool, &actor.org_id, project_key).await?;
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "INSERT INTO segments (id, project_id, key, name, description, included, excluded, rules, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
    )
    .bind(db::new_id("seg")).bind(&project.id).bind(key).bind(fields.name).bind(fields.description)
    .bind(json_text(&body.included)?).bind(json_text(&body.excluded)?).bind(json_text(&body.rules)?).bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let after = json!({"key": key, "name": fields.name, "body": body});
    audit::record(
        &mut tx,
        actor,
        "segment.create",
        &format!("project/{project_key}/segment/{key}"),
        None,
        Some(&after),
    )
    .await?;
    outbox::enqueue_project(
        &mut tx,
        &project.id,
        "segment.create",
        actor.request_id.as_deref(),
    )
    .await?;
    tx.commit().await?;
    fetch_with_warnings(pool, &project.id, key).await
}

/// Replaces a segment's definition.
pub async fn update(
    pool: &AnyPool,
    actor: &Actor,
    project_key: &str,
    key: &str,
    fields: &SegmentFields<'_>,
) -> Result<SegmentView, Error> {
    let body = fields.body;
    check(key, body)?;
    let project = scope::project(pool, &actor.org_id, project_key).await?;
    let before = fetch(pool, &project.id, key).await?;
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "UPDATE segments SET name = $1, description = $2, included = $3, excluded = $4, rules = $5, version = version + 1, updated_at = $6 WHERE id = $7",
    )
    .bind(fields.name).bind(fields.description).bind(json_text(&body.included)?).bind(json_text(&body.excluded)?)
    .bind(json_text(&body.rules)?).bind(now_ms()).bind(&before.id)
    .execute(&mut *tx)
    .await?;
    let after = json!({"name": fields.name, "description": fields.description, "body": body});
    audit::record(
        &mut tx,
        actor,
        "segment.update",
        &format!("project/{project_key}/segment/{key}"),
        Some(&json!(before)),
        Some(&after),
    )
    .await?;
    outbox::enqueue_project(
        &mut tx,
        &project.id,
        "segment.update",
        actor.request_id.as_deref(),
    )
    .await?;
    tx.commit().await?;
    fetch_with_warnings(pool, &project.id, key).await
}

/// Archives a segment (refused while a live flag uses it) or restores it.
pub async fn set_archived(
    pool: &AnyPool,
    actor: &Actor,
    project_key: &str,
    key: &str,
    archived: bool,
) -> Result<SegmentView, Error> {
    let project = scope::project(pool, &actor.org_id, project_key).await?;
    let before = fetch(pool, &project.id, key).await?;
    let mut tx = db::begin(pool).await?;
    if archived {
        dependents::check_segment_unused(&mut tx, &project.id, key).await?;
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
        actor,
        action,
        &format!("project/{project_key}/segment/{key}"),
        None,
        None,
    )
    .await?;
    outbox::enqueue_project(&mut tx, &project.id, action, actor.request_id.as_deref()).await?;
    tx.commit().await?;
    fetch(pool, &project.id, key).await
}
