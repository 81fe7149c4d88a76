//! Organizations (tenants): creating one with its first owner key (an instance
//! operator's act, or the bootstrap of `edgeflag init`), reading and renaming the
//! actor's own.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    actor::{Actor, Role},
    api_keys, audit,
    db::{self, now_ms, rfc3339},
    error::Error,
    scope::check_key,
};

/// An organization as the API returns it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    pub id: String,
    pub key: String,
    pub name: String,
    pub created_at: String,
    /// The first owner key, only in the response that creates the organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_api_key: Option<String>,
}

fn view(row: &AnyRow) -> Result<OrgView, sqlx::Error> {
    Ok(OrgView {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        created_at: rfc3339(row.try_get("created_at")?),
        owner_api_key: None,
    })
}

/// Organization `id`.
pub async fn fetch(pool: &AnyPool, id: &str) -> Result<OrgView, Error> {
    let row = sqlx::query("SELECT * FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("organization", id))?;
    Ok(view(&row)?)
}

/// The id of the organization whose key is `key`.
pub async fn id_by_key(pool: &AnyPool, key: &str) -> Result<String, Error> {
    let row = sqlx::query("SELECT id FROM organizations WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("organization", key))?;
    Ok(row.try_get("id")?)
}

/// A new organization and its first owner API key.
#[derive(Debug)]
pub struct NewOrg {
    pub id: String,
    pub owner_key_id: String,
    /// The owner key's secret, shown once.
    pub owner_secret: String,
}

/// Creates an organization and its first owner key.
pub async fn create(pool: &AnyPool, key: &str, name: &str) -> Result<NewOrg, Error> {
    create_with(pool, key, name, false).await
}

/// Creates the first organization of an instance (`edgeflag init`, `seed-demo`): its
/// first owner key is also an instance operator.
pub async fn bootstrap(pool: &AnyPool, key: &str, name: &str) -> Result<NewOrg, Error> {
    create_with(pool, key, name, true).await
}

async fn create_with(
    pool: &AnyPool,
    key: &str,
    name: &str,
    operator: bool,
) -> Result<NewOrg, Error> {
    check_key("/key", key)?;
    let id = db::new_id("org");
    let mut tx = db::begin(pool).await?;
    sqlx::query("INSERT INTO organizations (id, key, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(key)
        .bind(name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    let (owner_key_id, owner_secret) =
        api_keys::insert(&mut tx, &id, "first owner", Role::Owner, None).await?;
    if operator {
        sqlx::query("UPDATE api_keys SET operator = 1 WHERE id = $1")
            .bind(&owner_key_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(NewOrg {
        id,
        owner_key_id,
        owner_secret,
    })
}

/// Creates an organization and its first owner key; returns (org id, owner secret).
pub async fn create_org(pool: &AnyPool, key: &str, name: &str) -> Result<(String, String), Error> {
    let org = create(pool, key, name).await?;
    Ok((org.id, org.owner_secret))
}

/// Renames the actor's organization.
pub async fn rename(pool: &AnyPool, actor: &Actor, name: &str) -> Result<OrgView, Error> {
    let before = fetch(pool, &actor.org_id).await?;
    let mut tx = db::begin(pool).await?;
    sqlx::query("UPDATE organizations SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(&actor.org_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        "organization.update",
        &format!("organization/{}", before.key),
        Some(&json!(before)),
        Some(&json!({"name": name})),
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id).await
}

/// Creates another organization (a separate tenant) on behalf of an instance
/// operator, audited in the operator's organization; the view carries the new owner
/// key, this once. The new organization gets its own signing key at its first publish.
pub async fn create_by(
    pool: &AnyPool,
    actor: &Actor,
    key: &str,
    name: &str,
) -> Result<OrgView, Error> {
    actor.require_operator("creating an organization")?;
    let (id, secret) = create_org(pool, key, name).await?;
    let mut tx = db::begin(pool).await?;
    audit::record(
        &mut tx,
        actor,
        "organization.create",
        &format!("organization/{key}"),
        None,
        Some(&json!({"id": id, "key": key})),
    )
    .await?;
    tx.commit().await?;
    let mut org = fetch(pool, &id).await?;
    org.owner_api_key = Some(secret);
    Ok(org)
}
