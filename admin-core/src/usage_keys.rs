//! Ingestion keys (`efi_…`): the credential an edge sends as `X-API-Key` with usage
//! batches. They are not API keys: they cannot read or change anything, only add
//! usage counts for the environments of their organization. Stored hashed, shown once.

use serde::Serialize;
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    actor::{Actor, Role},
    audit,
    db::{self, now_ms, rfc3339},
    error::Error,
    secret,
};

/// The prefix of every ingestion key's secret.
pub const PREFIX: &str = "efi";

/// An ingestion key as listed (never with its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestionKeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Only in the response that creates the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Who a live ingestion key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestionKey {
    pub id: String,
    pub org_id: String,
}

fn view(row: &AnyRow) -> Result<IngestionKeyView, sqlx::Error> {
    Ok(IngestionKeyView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: rfc3339(row.try_get("created_at")?),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(rfc3339),
        secret: None,
    })
}

/// The live key with this secret, in a live organization.
pub async fn resolve(pool: &AnyPool, secret: &str) -> Result<Option<IngestionKey>, Error> {
    let row = sqlx::query(
        "SELECT k.id, k.org_id FROM ingestion_keys k JOIN organizations o ON o.id = k.org_id \
         WHERE k.hash = $1 AND k.revoked_at IS NULL AND o.archived_at IS NULL",
    )
    .bind(secret::hash_secret(secret))
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(IngestionKey {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
    }))
}

/// Ingestion key `id` of the actor's organization.
pub async fn fetch(pool: &AnyPool, org_id: &str, id: &str) -> Result<IngestionKeyView, Error> {
    let row = sqlx::query("SELECT * FROM ingestion_keys WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("ingestion key", id))?;
    Ok(view(&row)?)
}

/// The organization's ingestion keys, oldest first.
pub async fn list(pool: &AnyPool, org_id: &str) -> Result<Vec<IngestionKeyView>, Error> {
    let rows =
        sqlx::query("SELECT * FROM ingestion_keys WHERE org_id = $1 ORDER BY created_at, id")
            .bind(org_id)
            .fetch_all(pool)
            .await?;
    Ok(rows.iter().map(view).collect::<Result<Vec<_>, _>>()?)
}

/// Creates an ingestion key (admin role); the view carries the secret, this once.
pub async fn create(pool: &AnyPool, actor: &Actor, name: &str) -> Result<IngestionKeyView, Error> {
    actor.require(Role::Admin)?;
    if name.trim().is_empty() || name.len() > 200 {
        return Err(Error::invalid("/name", "a name of 1–200 characters"));
    }
    let id = db::new_id("ikey");
    let secret = secret::new_secret(PREFIX);
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "INSERT INTO ingestion_keys (id, org_id, name, prefix, hash, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&actor.org_id)
    .bind(name)
    .bind(secret::display_prefix(&secret))
    .bind(secret::hash_secret(&secret))
    .bind(now_ms())
    .bind(actor.id.clone())
    .execute(&mut *tx)
    .await?;
    let after = json!({"id": id, "name": name});
    let resource = format!("ingestion-key/{id}");
    audit::record(
        &mut tx,
        actor,
        "ingestion-key.create",
        &resource,
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    let mut created = fetch(pool, &actor.org_id, &id).await?;
    created.secret = Some(secret);
    Ok(created)
}

/// Revokes an ingestion key at once (admin role).
pub async fn revoke(pool: &AnyPool, actor: &Actor, id: &str) -> Result<IngestionKeyView, Error> {
    actor.require(Role::Admin)?;
    let before = fetch(pool, &actor.org_id, id).await?;
    let mut tx = db::begin(pool).await?;
    sqlx::query("UPDATE ingestion_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let resource = format!("ingestion-key/{id}");
    let before = json!(before);
    audit::record(
        &mut tx,
        actor,
        "ingestion-key.revoke",
        &resource,
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, id).await
}
