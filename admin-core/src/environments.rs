//! Environments of a project. Each one is published to the edge under its
//! `edgeName` (unique across the admin; default `{project}-{environment}`).

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    actor::Actor,
    audit,
    db::{self, now_ms, rfc3339},
    error::Error,
    flagstore::{default_env_config, load_def},
    list::{Keyset, ListQuery, Page, archived_clause, bind_cursor},
    model::FlagDef,
    outbox,
    scope::{self, check_key},
};

/// An environment as the API returns it.
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

/// Environment `env` of project `project` in organization `org_id`.
pub async fn fetch(
    pool: &AnyPool,
    org_id: &str,
    project: &str,
    env: &str,
) -> Result<EnvironmentView, Error> {
    let (_, env) = scope::project_env(pool, org_id, project, env).await?;
    let row = sqlx::query("SELECT * FROM environments WHERE id = $1")
        .bind(&env.id)
        .fetch_one(pool)
        .await?;
    Ok(view(&row)?)
}

/// One page of a project's environments.
pub async fn list(
    pool: &AnyPool,
    org_id: &str,
    project: &str,
    q: &ListQuery,
) -> Result<Page<EnvironmentView>, Error> {
    let project = scope::project(pool, org_id, project).await?;
    let keyset = Keyset::from_query(q, false)?;
    let mut sql = format!(
        "SELECT * FROM environments WHERE project_id = $1{}",
        archived_clause(q, "")?
    );
    sql.push_str(" AND (key LIKE $2 OR name LIKE $2)");
    sql.push_str(&keyset.where_clause("", 3));
    sql.push_str(&keyset.order_clause(""));
    let like = format!("%{}%", q.q.as_deref().unwrap_or(""));
    let rows = bind_cursor(sqlx::query(&sql).bind(&project.id).bind(like), &keyset)
        .fetch_all(pool)
        .await?;
    let items = rows.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    Ok(keyset.finish(items, |e| {
        keyset.key_or_created(&e.key, &e.created_at, &e.id)
    }))
}

/// Creates an environment; every flag of the project gets an (off) configuration in
/// it, and the publisher is asked to build its first snapshot.
pub async fn create(
    pool: &AnyPool,
    actor: &Actor,
    project_key: &str,
    key: &str,
    name: &str,
    edge_name: Option<&str>,
) -> Result<EnvironmentView, Error> {
    check_key("/key", key)?;
    let project = scope::project(pool, &actor.org_id, project_key).await?;
    let edge_name = edge_name.map_or_else(|| format!("{}-{key}", project.key), str::to_string);
    check_key("/edgeName", &edge_name)?;
    let id = db::new_id("env");
    let mut tx = db::begin(pool).await?;
    sqlx::query("INSERT INTO environments (id, project_id, key, name, edge_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(&project.id)
        .bind(key)
        .bind(name)
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
    let after = json!({"key": key, "name": name, "edgeName": edge_name});
    audit::record(
        &mut tx,
        actor,
        "environment.create",
        &format!("project/{project_key}/environment/{key}"),
        None,
        Some(&after),
    )
    .await?;
    outbox::enqueue(
        &mut tx,
        &id,
        "environment.create",
        actor.request_id.as_deref(),
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, project_key, key).await
}

/// Archives or restores an environment; the edge stops or resumes serving it.
pub async fn set_archived(
    pool: &AnyPool,
    actor: &Actor,
    project: &str,
    env: &str,
    archived: bool,
) -> Result<EnvironmentView, Error> {
    let (_, e) = scope::project_env(pool, &actor.org_id, project, env).await?;
    let mut tx = db::begin(pool).await?;
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
        actor,
        action,
        &format!("project/{project}/environment/{env}"),
        None,
        None,
    )
    .await?;
    // The edge learns of it: an archived environment is published retired.
    outbox::enqueue(&mut tx, &e.id, action, actor.request_id.as_deref()).await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, project, env).await
}

/// Asks the publisher to rebuild and redeliver an environment now.
pub async fn republish(
    pool: &AnyPool,
    actor: &Actor,
    project: &str,
    env: &str,
) -> Result<(), Error> {
    let (_, e) = scope::project_env(pool, &actor.org_id, project, env).await?;
    let mut tx = db::begin(pool).await?;
    audit::record(
        &mut tx,
        actor,
        "environment.publish",
        &format!("project/{project}/environment/{env}"),
        None,
        None,
    )
    .await?;
    outbox::enqueue(&mut tx, &e.id, "republish", actor.request_id.as_deref()).await?;
    tx.commit().await?;
    Ok(())
}
