//! The retention job: deletes audit rows (only when configured: the audit log is kept
//! whole by default), finished webhook deliveries, stored snapshots no target needs,
//! and spent rate-limit counters, as `RetentionConfig` says. Every replica runs the
//! loop; the `job/retention` lease lets one of them do the work per interval.

use std::time::Duration;

use sqlx::AnyPool;
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    config::RetentionConfig,
    db::now_ms,
    error::Error,
    lease::{self, Holder},
};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Rate-limit counters are kept this long after their window started; no limit's
/// window is longer.
const COUNTER_KEEP_MS: i64 = DAY_MS;

/// How many rows one run removed, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub audit: u64,
    pub webhook_deliveries: u64,
    pub snapshots: u64,
    pub rate_counters: u64,
}

/// Applies retention once, as of `now` (epoch ms).
pub async fn apply(pool: &AnyPool, config: &RetentionConfig, now: i64) -> Result<Removed, Error> {
    let mut removed = Removed::default();
    if config.audit_days > 0 {
        removed.audit = delete(
            pool,
            "DELETE FROM audit_log WHERE at < $1",
            now - config.audit_days.saturating_mul(DAY_MS),
        )
        .await?;
    }
    if config.webhook_delivery_days > 0 {
        removed.webhook_deliveries = delete(
            pool,
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1",
            now - config.webhook_delivery_days.saturating_mul(DAY_MS),
        )
        .await?;
    }
    if config.snapshots_kept > 0 {
        removed.snapshots = prune_snapshots(pool, config.snapshots_kept).await?;
    }
    removed.rate_counters = delete(
        pool,
        "DELETE FROM rate_counters WHERE window_start < $1",
        now - COUNTER_KEEP_MS,
    )
    .await?;
    Ok(removed)
}

async fn delete(pool: &AnyPool, sql: &str, before: i64) -> Result<u64, Error> {
    Ok(sqlx::query(sql)
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected())
}

/// Deletes stored snapshots older than both the newest `kept` of their environment and
/// the oldest version a target still holds (the next delivery to a target that is
/// behind starts there, and its key index says which keys that delivery removes).
async fn prune_snapshots(pool: &AnyPool, kept: i64) -> Result<u64, Error> {
    let done = sqlx::query(
        "DELETE FROM env_snapshots WHERE version <= ( \
           SELECT e.snapshot_version - $1 FROM environments e WHERE e.id = env_snapshots.environment_id) \
         AND NOT EXISTS (SELECT 1 FROM publish_status p \
           WHERE p.environment_id = env_snapshots.environment_id AND p.delivered_version <= env_snapshots.version)",
    )
    .bind(kept)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Runs the job every `interval_secs` until `stop` turns true; one replica per
/// interval does the work.
pub fn spawn(
    pool: AnyPool,
    config: RetentionConfig,
    holder: Holder,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let every = Duration::from_secs(config.interval_secs.max(1));
        let ttl = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
        while !*stop.borrow() {
            let job = apply(&pool, &config, now_ms());
            match lease::once(&pool, "retention", &holder, ttl, job).await {
                Ok(Some(removed)) => tracing::info!(?removed, "retention applied"),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "retention failed; retrying at the next interval")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = lease::stopped(&mut stop) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool() -> (AnyPool, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/r.db", dir.path().display());
        let pool = crate::db::connect(&url).await.unwrap();
        crate::db::migrate(&pool, &url).await.unwrap();
        (pool, dir)
    }

    async fn run(pool: &AnyPool, sql: &str) {
        sqlx::query(sql).execute(pool).await.unwrap();
    }

    async fn versions(pool: &AnyPool) -> Vec<i64> {
        sqlx::query_scalar("SELECT version FROM env_snapshots ORDER BY version")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn keeps_the_audit_by_default_and_what_targets_need() {
        let (pool, _dir) = pool().await;
        let now = 100 * DAY_MS;
        run(&pool, "INSERT INTO audit_log (org_id, actor, action, resource, at) VALUES ('o', 'a', 'x', 'r', 0)").await;
        run(
            &pool,
            "INSERT INTO organizations (id, key, name, created_at) VALUES ('o', 'o', 'O', 0)",
        )
        .await;
        run(&pool, "INSERT INTO webhooks (id, org_id, url, events, description, secret, created_at, updated_at) VALUES ('w', 'o', 'https://x', '[]', '', 's', 0, 0)").await;
        for (status, at) in [
            ("delivered", 0),
            ("failed", 0),
            ("pending", 0),
            ("delivered", now),
        ] {
            run(&pool, &format!("INSERT INTO webhook_deliveries (webhook_id, event_id, event, payload, status, attempts, next_attempt_at, created_at) VALUES ('w', 'e', 'x', '{{}}', '{status}', 1, 0, {at})")).await;
        }
        run(&pool, "INSERT INTO projects (id, org_id, key, name, created_at) VALUES ('p', 'o', 'p', 'P', 0)").await;
        run(&pool, "INSERT INTO environments (id, project_id, key, name, edge_name, snapshot_version, created_at) VALUES ('e', 'p', 'e', 'E', 'p-e', 10, 0)").await;
        for v in 1..=10 {
            run(&pool, &format!("INSERT INTO env_snapshots (environment_id, version, kid, server_jws, client_jws, keys_jws, built_at) VALUES ('e', {v}, 'k', '', '', '', 0)")).await;
        }
        // A target behind at version 4 needs 4 and after.
        run(&pool, "INSERT INTO publish_status (environment_id, target, delivered_version) VALUES ('e', 't', 4)").await;
        run(
            &pool,
            "INSERT INTO rate_counters (bucket, window_start, hits) VALUES ('b', 0, 1)",
        )
        .await;
        let config = RetentionConfig {
            snapshots_kept: 3,
            ..RetentionConfig::default()
        };
        let removed = apply(&pool, &config, now).await.unwrap();
        assert_eq!(
            removed,
            Removed {
                audit: 0,
                webhook_deliveries: 2,
                snapshots: 3,
                rate_counters: 1
            }
        );
        assert_eq!(versions(&pool).await, (4..=10).collect::<Vec<_>>());
        run(&pool, "UPDATE publish_status SET delivered_version = 10").await;
        let config = RetentionConfig {
            audit_days: 30,
            snapshots_kept: 3,
            ..RetentionConfig::default()
        };
        let removed = apply(&pool, &config, now).await.unwrap();
        assert_eq!((removed.audit, removed.snapshots), (1, 4));
        assert_eq!(versions(&pool).await, vec![8, 9, 10], "the newest 3");
    }
}
