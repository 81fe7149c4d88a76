//! Projects: the containers of flags, segments and environments.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    actor::Actor,
    audit,
    db::{self, now_ms, rfc3339},
    error::Error,
    list::{Keyset, ListQuery, Page, archived_clause, bind_cursor},
    scope::{self, check_key},
};

/// A project as the API returns it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    pub id: String,
    pub key: String,
    pub name: String,
    pub description: String,
    /// Attributes that identify people: saving a client-visible flag that tests one
    /// with an operator that keeps its values readable in the client snapshot answers
    /// with warnings (`privacy`).
    pub private_attributes: Vec<String>,
    pub archived: bool,
    pub created_at: String,
}

fn view(row: &AnyRow) -> Result<ProjectView, sqlx::Error> {
    Ok(ProjectView {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        private_attributes: serde_json::from_str(&row.try_get::<String, _>("private_attributes")?)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
        created_at: rfc3339(row.try_get("created_at")?),
    })
}

/// Project `key` of organization `org_id`.
pub async fn fetch(pool: &AnyPool, org_id: &str, key: &str) -> Result<ProjectView, Error> {
    let project = scope::project(pool, org_id, key).await?;
    let row = sqlx::query("SELECT * FROM projects WHERE id = $1")
        .bind(&project.id)
        .fetch_one(pool)
        .await?;
    Ok(view(&row)?)
}

/// One page of an organization's projects, with `q`, `archived` and `sort`.
pub async fn list(pool: &AnyPool, org_id: &str, q: &ListQuery) -> Result<Page<ProjectView>, Error> {
    let keyset = Keyset::from_query(q, false)?;
    let mut sql = format!(
        "SELECT * FROM projects WHERE org_id = $1{}",
        archived_clause(q, "")?
    );
    sql.push_str(" AND (key LIKE $2 OR name LIKE $2)");
    sql.push_str(&keyset.where_clause("", 3));
    sql.push_str(&keyset.order_clause(""));
    let like = format!("%{}%", q.q.as_deref().unwrap_or(""));
    let query = sqlx::query(&sql).bind(org_id).bind(like);
    let rows = bind_cursor(query, &keyset).fetch_all(pool).await?;
    let items = rows.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    Ok(keyset.finish(items, |p| {
        keyset.key_or_created(&p.key, &p.created_at, &p.id)
    }))
}

/// Creates a project in the actor's organization, with the attributes it marks
/// private (see [`ProjectView::private_attributes`]).
pub async fn create(
    pool: &AnyPool,
    actor: &Actor,
    key: &str,
    name: &str,
    description: &str,
    private_attributes: &[String],
) -> Result<ProjectView, Error> {
    check_key("/key", key)?;
    let private = private_text(private_attributes)?;
    let mut tx = db::begin(pool).await?;
    sqlx::query("INSERT INTO projects (id, org_id, key, name, description, private_attributes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(db::new_id("prj"))
        .bind(&actor.org_id)
        .bind(key)
        .bind(name)
        .bind(description)
        .bind(&private)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    let after = json!({"key": key, "name": name, "description": description,
        "privateAttributes": private_attributes});
    audit::record(
        &mut tx,
        actor,
        "project.create",
        &format!("project/{key}"),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, key).await
}

/// What [`update`] changes; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct ProjectChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub private_attributes: Option<Vec<String>>,
}

/// Renames or redescribes a project, or changes its private attributes.
pub async fn update(
    pool: &AnyPool,
    actor: &Actor,
    key: &str,
    change: ProjectChange,
) -> Result<ProjectView, Error> {
    let before = fetch(pool, &actor.org_id, key).await?;
    let name = change.name.unwrap_or_else(|| before.name.clone());
    let description = change
        .description
        .unwrap_or_else(|| before.description.clone());
    let private_attributes = change
        .private_attributes
        .unwrap_or_else(|| before.private_attributes.clone());
    let private = private_text(&private_attributes)?;
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "UPDATE projects SET name = $1, description = $2, private_attributes = $3 WHERE id = $4",
    )
    .bind(&name)
    .bind(&description)
    .bind(&private)
    .bind(&before.id)
    .execute(&mut *tx)
    .await?;
    let after = json!({"name": name, "description": description,
        "privateAttributes": private_attributes});
    audit::record(
        &mut tx,
        actor,
        "project.update",
        &format!("project/{key}"),
        Some(&json!(before)),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, key).await
}

/// Private attributes are attribute references, as conditions name them: not empty.
fn private_text(names: &[String]) -> Result<String, Error> {
    if let Some(i) = names.iter().position(String::is_empty) {
        return Err(Error::invalid(
            format!("/privateAttributes/{i}"),
            "an attribute name cannot be empty",
        ));
    }
    serde_json::to_string(names).map_err(Error::internal)
}

/// Archives (nothing is deleted) or restores a project.
pub async fn set_archived(
    pool: &AnyPool,
    actor: &Actor,
    key: &str,
    archived: bool,
) -> Result<ProjectView, Error> {
    let project = scope::project(pool, &actor.org_id, key).await?;
    let mut tx = db::begin(pool).await?;
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
    audit::record(
        &mut tx,
        actor,
        action,
        &format!("project/{key}"),
        None,
        None,
    )
    .await?;
    // Its environments are published retired (or live again) at the edge.
    sqlx::query(
        "INSERT INTO outbox (environment_id, reason, created_at) SELECT id, $1, $2 FROM environments WHERE project_id = $3",
    )
    .bind(action)
    .bind(now_ms())
    .bind(&project.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, key).await
}
