//! Refresh tokens (`efr_…`, stored hashed, single use) and their families. A token
//! issued by `POST /v1/auth/token` starts a family; trading it at `/v1/auth/refresh`
//! marks it used and issues the next one in the same family. Presenting a used token
//! again means two parties hold it (one of them a thief): the whole family is revoked,
//! its refresh tokens and — through the `fam` claim the `Principal` extractor checks —
//! its access tokens (OAuth 2.0 Security BCP, refresh token rotation).

use edgeflag_admin_core::{
    db::{self, now_ms},
    secret::{hash_secret, new_secret},
};
use sqlx::{AnyPool, Row};

use crate::error::{ApiError, ApiResult};

/// A refresh token that was traded: its API key and family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub api_key_id: String,
    pub family: String,
}

/// A new family id, for a sign-in with an API key.
pub fn new_family() -> String {
    db::new_id("fam")
}

/// Stores a new refresh token of `family` for `api_key_id`; returns its secret.
pub async fn issue(
    pool: &AnyPool,
    api_key_id: &str,
    family: &str,
    ttl_secs: i64,
) -> ApiResult<String> {
    let secret = new_secret("efr");
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, api_key_id, expires_at, family_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash_secret(&secret))
    .bind(api_key_id)
    .bind(now_ms() + ttl_secs * 1000)
    .bind(family)
    .execute(pool)
    .await?;
    Ok(secret)
}

fn refused() -> ApiError {
    ApiError::Unauthorized("the refresh token is unknown, used, revoked or expired".into())
}

/// Trades a refresh token: marks it used and returns its key and family. A token used
/// before revokes its family.
pub async fn redeem(pool: &AnyPool, secret: &str) -> ApiResult<Redeemed> {
    let hash = hash_secret(secret);
    let row = sqlx::query("SELECT api_key_id, family_id FROM refresh_tokens WHERE hash = $1")
        .bind(&hash)
        .fetch_optional(pool)
        .await?
        .ok_or_else(refused)?;
    let redeemed = Redeemed {
        api_key_id: row.try_get("api_key_id")?,
        family: row.try_get("family_id")?,
    };
    let now = now_ms();
    let used = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND revoked_at IS NULL \
         AND expires_at > $1 AND api_key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NULL)",
    )
    .bind(now)
    .bind(&hash)
    .execute(pool)
    .await?;
    if used.rows_affected() == 1 {
        return Ok(redeemed);
    }
    let reused = sqlx::query("SELECT used_at FROM refresh_tokens WHERE hash = $1")
        .bind(&hash)
        .fetch_one(pool)
        .await?
        .try_get::<Option<i64>, _>("used_at")?
        .is_some();
    if reused {
        revoke_family(pool, &redeemed.family).await?;
        tracing::warn!(
            family = %redeemed.family,
            api_key = %redeemed.api_key_id,
            "a used refresh token was presented again; its family is revoked"
        );
    }
    Err(refused())
}

/// Revokes every token of `family`.
pub async fn revoke_family(pool: &AnyPool, family: &str) -> ApiResult<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(family)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether `family` was revoked.
pub async fn family_revoked(pool: &AnyPool, family: &str) -> ApiResult<bool> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NOT NULL",
    )
    .bind(family)
    .fetch_one(pool)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}
