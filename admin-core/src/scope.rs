//! Resolving keys to rows, always within one organization: this is where tenancy is
//! enforced. A project of another organization is simply "not found".

use sqlx::{AnyPool, Row, any::AnyRow};

use crate::error::Error;

/// A project row, found within an organization.
#[derive(Debug, Clone)]
pub struct ProjectRef {
    pub id: String,
    pub key: String,
}

/// An environment row, found within a project.
#[derive(Debug, Clone)]
pub struct EnvRef {
    pub id: String,
    pub key: String,
    pub edge_name: String,
}

/// The project `key` of organization `org_id`, or not found.
pub async fn project(pool: &AnyPool, org_id: &str, key: &str) -> Result<ProjectRef, Error> {
    let row = sqlx::query("SELECT id, key FROM projects WHERE org_id = $1 AND key = $2")
        .bind(org_id)
        .bind(key)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("project", key))?;
    Ok(ProjectRef {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
    })
}

/// The environment `key` of a project, or not found.
pub async fn environment(pool: &AnyPool, project: &ProjectRef, key: &str) -> Result<EnvRef, Error> {
    let row = sqlx::query(
        "SELECT id, key, edge_name FROM environments WHERE project_id = $1 AND key = $2",
    )
    .bind(&project.id)
    .bind(key)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("environment", key))?;
    env_ref(&row)
}

pub fn env_ref(row: &AnyRow) -> Result<EnvRef, Error> {
    Ok(EnvRef {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        edge_name: row.try_get("edge_name")?,
    })
}

/// Resolves `/projects/{p}/environments/{e}` in one call.
pub async fn project_env(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
    env_key: &str,
) -> Result<(ProjectRef, EnvRef), Error> {
    let project = project(pool, org_id, project_key).await?;
    let env = environment(pool, &project, env_key).await?;
    Ok((project, env))
}

/// A user-chosen key: 1–64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn check_key(path: &str, key: &str) -> Result<(), Error> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            path,
            format!("`{key}` is not a valid key: use 1–64 letters, digits, `.`, `_` or `-`"),
        ))
    }
}
