//! SDK keys per environment: server (`efs_…`) and client (`efc_…`), stored hashed,
//! created, rotated with a grace period, and revoked. Every change asks the publisher
//! to rebuild the environment, whose key index tells the edge which keys to accept.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyConnection, AnyPool, Row, any::AnyRow};

use crate::{
    actor::Actor,
    audit,
    db::{self, now_ms, rfc3339},
    error::Error,
    outbox,
    scope::{self, EnvRef},
    secret,
};

/// An SDK key as the API returns it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SdkKeyView {
    pub id: String,
    pub kind: String,
    pub prefix: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Only in the response that creates the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn view(row: &AnyRow) -> Result<SdkKeyView, sqlx::Error> {
    Ok(SdkKeyView {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        prefix: row.try_get("prefix")?,
        created_at: rfc3339(row.try_get("created_at")?),
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(rfc3339),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(rfc3339),
        secret: None,
    })
}

/// Inserts an SDK key of `kind` (`server` or `client`); returns its id and secret.
pub async fn insert(
    conn: &mut AnyConnection,
    env_id: &str,
    kind: &str,
) -> Result<(String, String), Error> {
    if kind != "server" && kind != "client" {
        return Err(Error::invalid(
            "/kind",
            format!("`{kind}` is not `server` or `client`"),
        ));
    }
    let id = db::new_id("sdk");
    let secret = secret::new_secret(if kind == "server" { "efs" } else { "efc" });
    sqlx::query("INSERT INTO sdk_keys (id, environment_id, kind, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(env_id)
        .bind(kind)
        .bind(secret::display_prefix(&secret))
        .bind(secret::hash_secret(&secret))
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok((id, secret))
}

async fn fetch(pool: &AnyPool, env: &EnvRef, id: &str) -> Result<SdkKeyView, Error> {
    let row = sqlx::query("SELECT * FROM sdk_keys WHERE id = $1 AND environment_id = $2")
        .bind(id)
        .bind(&env.id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("SDK key", id))?;
    Ok(view(&row)?)
}

/// Every SDK key of an environment, oldest first.
pub async fn list(
    pool: &AnyPool,
    org_id: &str,
    project: &str,
    env: &str,
) -> Result<Vec<SdkKeyView>, Error> {
    let (_, env) = scope::project_env(pool, org_id, project, env).await?;
    let rows =
        sqlx::query("SELECT * FROM sdk_keys WHERE environment_id = $1 ORDER BY created_at, id")
            .bind(&env.id)
            .fetch_all(pool)
            .await?;
    Ok(rows.iter().map(view).collect::<Result<Vec<_>, _>>()?)
}

/// Creates an SDK key; the view carries the secret, this once.
pub async fn create(
    pool: &AnyPool,
    actor: &Actor,
    project: &str,
    env_key: &str,
    kind: &str,
) -> Result<SdkKeyView, Error> {
    let (_, env) = scope::project_env(pool, &actor.org_id, project, env_key).await?;
    let mut tx = db::begin(pool).await?;
    let (id, secret) = insert(&mut tx, &env.id, kind).await?;
    audit::record(
        &mut tx,
        actor,
        "sdk-key.create",
        &format!("project/{project}/environment/{env_key}/sdk-key/{id}"),
        None,
        Some(&json!({"kind": kind})),
    )
    .await?;
    outbox::enqueue(
        &mut tx,
        &env.id,
        "sdk-key.create",
        actor.request_id.as_deref(),
    )
    .await?;
    tx.commit().await?;
    let mut view = fetch(pool, &env, &id).await?;
    view.secret = Some(secret);
    Ok(view)
}

/// Issues a new key of the same kind; the old one works for `grace_secs` more. The
/// view is the new key's, with its secret.
pub async fn rotate(
    pool: &AnyPool,
    actor: &Actor,
    project: &str,
    env_key: &str,
    id: &str,
    grace_secs: i64,
) -> Result<SdkKeyView, Error> {
    let (_, env) = scope::project_env(pool, &actor.org_id, project, env_key).await?;
    let old = fetch(pool, &env, id).await?;
    if old.revoked_at.is_some() || old.expires_at.is_some() {
        return Err(Error::Conflict(format!(
            "SDK key `{id}` was already rotated or revoked"
        )));
    }
    let grace = grace_secs.max(0);
    let mut tx = db::begin(pool).await?;
    sqlx::query("UPDATE sdk_keys SET expires_at = $1 WHERE id = $2")
        .bind(now_ms() + grace * 1000)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let (new_id, secret) = insert(&mut tx, &env.id, &old.kind).await?;
    let resource = format!("project/{project}/environment/{env_key}/sdk-key/{id}");
    audit::record(
        &mut tx,
        actor,
        "sdk-key.rotate",
        &resource,
        None,
        Some(&json!({"replacedBy": new_id, "graceSeconds": grace})),
    )
    .await?;
    outbox::enqueue(
        &mut tx,
        &env.id,
        "sdk-key.rotate",
        actor.request_id.as_deref(),
    )
    .await?;
    tx.commit().await?;
    let mut view = fetch(pool, &env, &new_id).await?;
    view.secret = Some(secret);
    Ok(view)
}

/// Revokes an SDK key at once (the next publish removes it from the edge).
pub async fn revoke(
    pool: &AnyPool,
    actor: &Actor,
    project: &str,
    env_key: &str,
    id: &str,
) -> Result<SdkKeyView, Error> {
    let (_, env) = scope::project_env(pool, &actor.org_id, project, env_key).await?;
    fetch(pool, &env, id).await?;
    let mut tx = db::begin(pool).await?;
    sqlx::query("UPDATE sdk_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        "sdk-key.revoke",
        &format!("project/{project}/environment/{env_key}/sdk-key/{id}"),
        None,
        None,
    )
    .await?;
    outbox::enqueue(
        &mut tx,
        &env.id,
        "sdk-key.revoke",
        actor.request_id.as_deref(),
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &env, id).await
}
