//! Sessions: a signed-in browser. The HTTP layer hands the browser a random secret in a
//! cookie; only its SHA-256 is stored, so the table is no key to anyone's account. A
//! session ends at its absolute expiry, after the idle timeout since it was last used,
//! or when revoked: sign-out, "sign out everywhere", a password change, a removal.
//!
//! Each session has a CSRF token derived from its secret ([`csrf_token`]); the HTTP
//! layer asks for it on every state-changing request made with the cookie. Knowing the
//! token does not reveal the secret (it is a SHA-256 of it), and it needs no column.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyPool, Row, Transaction, any::AnyRow};

use crate::{
    config::AccountsConfig,
    db::{self, now_ms, rfc3339},
    error::Error,
    secret,
};

/// A session as its owner lists it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub created_at: String,
    pub last_seen_at: String,
    /// When it ends however it is used.
    pub expires_at: String,
    /// When it ends if unused from now on.
    pub idle_expires_at: String,
    pub user_agent: String,
    /// The address it signed in from.
    pub address: String,
    /// Whether this is the session of the request that lists it.
    pub current: bool,
}

fn view(row: &AnyRow, policy: &AccountsConfig) -> Result<SessionView, Error> {
    let last_seen: i64 = row.try_get("last_seen_at")?;
    let expires: i64 = row.try_get("expires_at")?;
    Ok(SessionView {
        id: row.try_get("id")?,
        created_at: rfc3339(row.try_get("created_at")?),
        last_seen_at: rfc3339(last_seen),
        expires_at: rfc3339(expires),
        idle_expires_at: rfc3339(idle_end(last_seen, policy).min(expires)),
        user_agent: row.try_get("user_agent")?,
        address: row.try_get("address")?,
        current: false,
    })
}

fn idle_end(last_seen: i64, policy: &AccountsConfig) -> i64 {
    last_seen.saturating_add(policy.session_idle_secs.saturating_mul(1000))
}

/// Where a new session signs in from, as the HTTP layer saw it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    pub user_agent: &'a str,
    pub address: &'a str,
}

/// A new session: the secret for the cookie (shown this once) and the row.
#[derive(Debug)]
pub struct NewSession {
    pub secret: String,
    pub id: String,
    pub expires_at: i64,
}

/// Opens a session of user `user_id` in organization `org_id`.
pub async fn open(
    pool: &AnyPool,
    user_id: &str,
    org_id: &str,
    from: Origin<'_>,
    policy: &AccountsConfig,
) -> Result<NewSession, Error> {
    let secret = secret::new_secret("efsess");
    let id = db::new_id("ses");
    let now = now_ms();
    let expires_at = now.saturating_add(policy.session_absolute_secs.saturating_mul(1000));
    sqlx::query(
        "INSERT INTO sessions (id, hash, user_id, org_id, created_at, last_seen_at, expires_at, user_agent, address) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(secret::hash_secret(&secret))
    .bind(user_id)
    .bind(org_id)
    .bind(now)
    .bind(expires_at)
    .bind(from.user_agent.chars().take(256).collect::<String>())
    .bind(from.address)
    .execute(pool)
    .await?;
    Ok(NewSession {
        secret,
        id,
        expires_at,
    })
}

/// The CSRF token of the session whose cookie holds `secret`.
pub fn csrf_token(secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"edgeflag csrf token\0");
    hash.update(secret.as_bytes());
    hex::encode(hash.finalize())
}

/// A live session found by its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub user_id: String,
    pub org_id: String,
    pub expires_at: i64,
}

/// The live session whose cookie holds `secret`, marked as used now; `None` when there
/// is none (unknown, revoked, expired, or idle too long). Its user's membership is the
/// caller's to check (`users::actor`).
pub async fn find(
    pool: &AnyPool,
    secret: &str,
    policy: &AccountsConfig,
) -> Result<Option<Found>, Error> {
    let now = now_ms();
    let row = sqlx::query(
        "SELECT id, user_id, org_id, last_seen_at, expires_at FROM sessions \
         WHERE hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(secret::hash_secret(secret))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let last_seen: i64 = row.try_get("last_seen_at")?;
    if idle_end(last_seen, policy) <= now {
        return Ok(None);
    }
    let found = Found {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        org_id: row.try_get("org_id")?,
        expires_at: row.try_get("expires_at")?,
    };
    // Writing on every request would make every read a write; a tenth of the idle
    // timeout (at most a minute) is precise enough for a timeout of minutes.
    let step = (policy.session_idle_secs.saturating_mul(100)).clamp(0, 60_000);
    if now - last_seen >= step {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&found.id)
            .execute(pool)
            .await?;
    }
    Ok(Some(found))
}

/// Whether session `id` is still live, without marking it used: a long-lived stream
/// asks this to end when its session does, without keeping it alive.
pub async fn is_live(pool: &AnyPool, id: &str, policy: &AccountsConfig) -> Result<bool, Error> {
    let now = now_ms();
    let row = sqlx::query(
        "SELECT last_seen_at FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) => idle_end(r.try_get("last_seen_at")?, policy) > now,
        None => false,
    })
}

/// Session `id` of user `user_id`, live or not.
pub async fn fetch(
    pool: &AnyPool,
    user_id: &str,
    id: &str,
    policy: &AccountsConfig,
) -> Result<SessionView, Error> {
    let row = sqlx::query("SELECT * FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("session", id))?;
    view(&row, policy)
}

/// The live sessions of user `user_id`, most recently used first.
pub async fn list(
    pool: &AnyPool,
    user_id: &str,
    policy: &AccountsConfig,
) -> Result<Vec<SessionView>, Error> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT * FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3 \
         ORDER BY last_seen_at DESC, id",
    )
    .bind(user_id)
    .bind(now)
    .bind(now.saturating_sub(policy.session_idle_secs.saturating_mul(1000)))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| view(r, policy)).collect()
}

/// Ends session `id` of user `user_id`; not found when it is not theirs or already over.
pub async fn revoke(pool: &AnyPool, user_id: &str, id: &str) -> Result<(), Error> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .bind(user_id)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("session", id));
    }
    Ok(())
}

/// Which of a person's sessions [`end`] ends.
#[derive(Debug, Clone, Copy)]
pub enum Ending<'a> {
    /// All of them ("sign out everywhere", an operator's password reset).
    All,
    /// All but the one a password was changed from.
    AllBut(&'a str),
    /// Those in one organization (the person was removed from it).
    InOrganization(&'a str),
}

/// Ends sessions of user `user_id` in the caller's transaction; answers how many.
pub async fn end(
    tx: &mut Transaction<'_, Any>,
    user_id: &str,
    which: Ending<'_>,
) -> Result<u64, Error> {
    let (sql, extra) = match which {
        Ending::All => ("", ""),
        Ending::AllBut(id) => (" AND id <> $3", id),
        Ending::InOrganization(org) => (" AND org_id = $3", org),
    };
    let sql = format!(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL{sql}"
    );
    let mut query = sqlx::query(&sql).bind(now_ms()).bind(user_id);
    if !matches!(which, Ending::All) {
        query = query.bind(extra);
    }
    Ok(query.execute(&mut **tx).await?.rows_affected())
}

/// Ends every session of user `user_id` ("sign out everywhere"); answers how many.
pub async fn end_all(pool: &AnyPool, user_id: &str) -> Result<u64, Error> {
    let mut tx = db::begin(pool).await?;
    let n = end(&mut tx, user_id, Ending::All).await?;
    tx.commit().await?;
    Ok(n)
}

/// Deletes sessions that ended before `before_ms` (the table keeps live ones and recent
/// history only); answers how many.
pub async fn prune(pool: &AnyPool, before_ms: i64) -> Result<u64, Error> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1 OR last_seen_at < $2",
    )
    .bind(before_ms)
    .bind(before_ms)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_is_derived_and_differs_per_session() {
        let a = csrf_token("efsess_a");
        assert_eq!(a, csrf_token("efsess_a"));
        assert_ne!(a, csrf_token("efsess_b"));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("efsess"));
    }
}
