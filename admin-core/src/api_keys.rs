//! An organization's API keys (`efk_…`, stored hashed) and the [`Actor`] each one
//! acts as. The HTTP layer turns a bearer credential into a key id and then, through
//! [`actor`], into the actor that every operation takes.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyConnection, AnyPool, Row, any::AnyRow};

use crate::{
    actor::{Actor, ActorKind, Role},
    audit,
    db::{self, now_ms, rfc3339},
    error::Error,
    secret,
};

/// An API key as listed (never with its secret).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Only in the response that creates the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn key_view(row: &AnyRow) -> Result<ApiKeyView, sqlx::Error> {
    Ok(ApiKeyView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        prefix: row.try_get("prefix")?,
        created_at: rfc3339(row.try_get("created_at")?),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(rfc3339),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(rfc3339),
        secret: None,
    })
}

/// Inserts an API key and returns its id and secret (shown once).
pub async fn insert(
    conn: &mut AnyConnection,
    org_id: &str,
    name: &str,
    role: Role,
    created_by: Option<&str>,
) -> Result<(String, String), sqlx::Error> {
    let id = db::new_id("key");
    let secret = secret::new_secret("efk");
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, role, prefix, hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(name)
    .bind(role.as_str())
    .bind(secret::display_prefix(&secret))
    .bind(secret::hash_secret(&secret))
    .bind(now_ms())
    .bind(created_by.map(str::to_string))
    .execute(conn)
    .await?;
    Ok((id, secret))
}

/// The id of the live (not revoked) API key with this secret.
pub async fn live_key_id(pool: &AnyPool, secret: &str) -> Result<Option<String>, Error> {
    let row = sqlx::query("SELECT id FROM api_keys WHERE hash = $1 AND revoked_at IS NULL")
        .bind(secret::hash_secret(secret))
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get("id")).transpose()?)
}

/// The actor API key `key_id` acts as, read afresh so that revoking a key or archiving
/// its organization takes effect at once; `None` when either happened.
pub async fn actor(pool: &AnyPool, key_id: &str) -> Result<Option<Actor>, Error> {
    let row = sqlx::query(
        "SELECT k.id, k.name, k.role, k.org_id, k.operator FROM api_keys k JOIN organizations o ON o.id = k.org_id \
         WHERE k.id = $1 AND k.revoked_at IS NULL AND o.archived_at IS NULL",
    )
    .bind(key_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.try_get("role")?;
    Ok(Some(Actor {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: ActorKind::ApiKey,
        org_id: row.try_get("org_id")?,
        role: Role::parse(&role).ok_or_else(|| Error::internal(format!("stored role `{role}`")))?,
        operator: row.try_get::<i64, _>("operator")? != 0,
        request_id: None,
    }))
}

/// API key `id` of organization `org_id`.
pub async fn fetch(pool: &AnyPool, org_id: &str, id: &str) -> Result<ApiKeyView, Error> {
    let row = sqlx::query("SELECT * FROM api_keys WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("API key", id))?;
    Ok(key_view(&row)?)
}

/// The organization's API keys, oldest first (never their secrets).
pub async fn list(pool: &AnyPool, org_id: &str) -> Result<Vec<ApiKeyView>, Error> {
    let rows = sqlx::query("SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at, id")
        .bind(org_id)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(key_view).collect::<Result<Vec<_>, _>>()?)
}

/// Creates an API key of `role` in the actor's organization; the view carries the
/// secret, this once.
pub async fn create(
    pool: &AnyPool,
    actor: &Actor,
    name: &str,
    role: Role,
) -> Result<ApiKeyView, Error> {
    let mut tx = db::begin(pool).await?;
    let (id, secret) = insert(&mut tx, &actor.org_id, name, role, Some(&actor.id)).await?;
    let after = json!({"id": id, "name": name, "role": role});
    audit::record(
        &mut tx,
        actor,
        "api-key.create",
        &format!("api-key/{id}"),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    let mut view = fetch(pool, &actor.org_id, &id).await?;
    view.secret = Some(secret);
    Ok(view)
}

/// Revokes the API key `before` (as [`fetch`] returned it) at once.
pub async fn revoke(
    pool: &AnyPool,
    actor: &Actor,
    before: &ApiKeyView,
) -> Result<ApiKeyView, Error> {
    let id = &before.id;
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .bind(&actor.org_id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        "api-key.revoke",
        &format!("api-key/{id}"),
        Some(&json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, id).await
}
