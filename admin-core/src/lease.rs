//! Leases: how several admin processes on one database share work without doing it
//! twice. A lease is a named row (`leases`) held by one process until it releases it
//! or it expires; a crashed holder's work is taken over once its lease expires.
//!
//! Why rows with an expiry rather than `SELECT … FOR UPDATE SKIP LOCKED`: a delivery
//! holds its claim across a network call (an edge `PUT`, a webhook `POST`), and a
//! database transaction must not stay open that long; and the same rows work on SQLite,
//! where the one process takes every lease at once. Taking a lease is one statement
//! (an upsert that only overwrites an expired or own row), so two processes racing for
//! it cannot both win. Names: `deliver/{environment}/{target}` for a publisher
//! delivery, `job/{name}` for a background job that runs once across replicas.

use sqlx::AnyPool;

use crate::{db::now_ms, error::Error};

/// Who holds a lease: `host:pid:random`, unique per process start, so an operator can
/// tell which process holds what (and a test which process to kill).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder(String);

impl Holder {
    /// This process's holder name.
    pub fn this_process() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string());
        let tag = hex::encode(crate::db::random_bytes::<4>());
        Self(format!("{host}:{}:{tag}", std::process::id()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Takes lease `name` for `ttl_ms` unless another holder's lease is still running;
/// answers whether this holder has it now (renewing its own lease counts).
pub async fn acquire(
    pool: &AnyPool,
    name: &str,
    holder: &Holder,
    ttl_ms: i64,
) -> Result<bool, Error> {
    let now = now_ms();
    let done = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at, acquired_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, \
         acquired_at = excluded.acquired_at \
         WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
    )
    .bind(name)
    .bind(holder.as_str())
    .bind(now.saturating_add(ttl_ms))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives lease `name` back, if this holder has it.
pub async fn release(pool: &AnyPool, name: &str, holder: &Holder) -> Result<(), Error> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

/// Gives back every lease this holder has (at shutdown), so another replica takes the
/// work over at once instead of when the leases expire.
pub async fn release_all(pool: &AnyPool, holder: &Holder) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM leases WHERE holder = $1")
        .bind(holder.as_str())
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Voids every lease and every webhook-delivery claim, whoever holds them: only for a
/// process that knows it is the database's only one (`serve` on SQLite, which holds the
/// file's lock), so that what a killed predecessor held is taken over at once.
pub async fn void_all(pool: &AnyPool) -> Result<(), Error> {
    sqlx::query("DELETE FROM leases").execute(pool).await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET claimed_by = NULL, claim_expires_at = NULL \
         WHERE claimed_by IS NOT NULL",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The holder of a running lease `name`, if any.
pub async fn holder_of(pool: &AnyPool, name: &str) -> Result<Option<String>, Error> {
    let holder = sqlx::query_scalar::<_, String>(
        "SELECT holder FROM leases WHERE name = $1 AND expires_at > $2",
    )
    .bind(name)
    .bind(now_ms())
    .fetch_optional(pool)
    .await?;
    Ok(holder)
}

/// Runs `job` only if this holder takes lease `job/{name}` for `ttl_ms`: a periodic
/// job run by every replica then runs once per `ttl_ms` across them all. The lease is
/// kept (not released) so the others skip until it expires. Answers `None` when another
/// replica has the job.
pub async fn once<T, F>(
    pool: &AnyPool,
    name: &str,
    holder: &Holder,
    ttl_ms: i64,
    job: F,
) -> Result<Option<T>, Error>
where
    F: std::future::Future<Output = Result<T, Error>>,
{
    if !acquire(pool, &format!("job/{name}"), holder, ttl_ms).await? {
        return Ok(None);
    }
    job.await.map(Some)
}

/// Resolves once `stop` turns true; never when its sender is gone (nothing will stop
/// the task then but aborting it).
pub async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool() -> (AnyPool, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/l.db", dir.path().display());
        let pool = crate::db::connect(&url).await.unwrap();
        crate::db::migrate(&pool, &url).await.unwrap();
        (pool, dir)
    }

    #[tokio::test]
    async fn one_holder_at_a_time_until_release_or_expiry() {
        let (pool, _dir) = pool().await;
        let (a, b) = (Holder::this_process(), Holder::this_process());
        assert_ne!(a, b, "each start is a new holder");
        assert!(acquire(&pool, "x", &a, 60_000).await.unwrap());
        assert!(!acquire(&pool, "x", &b, 60_000).await.unwrap());
        assert!(acquire(&pool, "x", &a, 60_000).await.unwrap(), "renewal");
        assert_eq!(
            holder_of(&pool, "x").await.unwrap().as_deref(),
            Some(a.as_str())
        );
        release(&pool, "x", &b).await.unwrap();
        assert!(
            !acquire(&pool, "x", &b, 60_000).await.unwrap(),
            "only the holder releases"
        );
        release(&pool, "x", &a).await.unwrap();
        assert!(acquire(&pool, "x", &b, 0).await.unwrap());
        // B's lease expired at once: a crashed holder's work is taken over.
        assert!(acquire(&pool, "x", &a, 60_000).await.unwrap());
        assert!(acquire(&pool, "y", &a, 60_000).await.unwrap());
        assert_eq!(release_all(&pool, &a).await.unwrap(), 2);
        assert_eq!(holder_of(&pool, "x").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_job_runs_once_while_its_lease_runs() {
        let (pool, _dir) = pool().await;
        let (a, b) = (Holder::this_process(), Holder::this_process());
        let ran = once(&pool, "j", &a, 60_000, async { Ok(1) }).await.unwrap();
        let skipped = once(&pool, "j", &b, 60_000, async { Ok(2) }).await.unwrap();
        let again = once(&pool, "j", &a, 60_000, async { Ok(3) }).await.unwrap();
        assert_eq!((ran, skipped, again), (Some(1), None, Some(3)));
    }
}
