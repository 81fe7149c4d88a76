//! An organization's API keys (`efk_…`, stored hashed) and the [`Actor`] each one
//! acts as. The HTTP layer turns a bearer credential into a key id and then, through
//! [`actor`], into the actor that every operation takes.

use sqlx::{AnyConnection, AnyPool, Row};

use crate::{
    actor::{Actor, ActorKind, Role},
    db::{self, now_ms},
    error::Error,
    secret,
};

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
        "SELECT k.id, k.name, k.role, k.org_id FROM api_keys k JOIN organizations o ON o.id = k.org_id \
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
        request_id: None,
    }))
}
