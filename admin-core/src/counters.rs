//! Shared rate-limit counters: hits per bucket in fixed windows aligned to the epoch
//! (`rate_counters`), so that replicas on one PostgreSQL database count together. The
//! admin's rate limits and sign-in throttles use them on PostgreSQL and count in memory
//! on SQLite, where one process serves the database. Spent windows are deleted by the
//! retention job.

use sqlx::AnyPool;

use crate::error::Error;

/// A bucket's count in the window holding `now`, and milliseconds until it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub hits: i64,
    pub reset_ms: i64,
}

fn start_of(now: i64, window_ms: i64) -> i64 {
    now - now.rem_euclid(window_ms.max(1))
}

fn window(hits: i64, now: i64, window_ms: i64) -> Window {
    Window {
        hits,
        reset_ms: start_of(now, window_ms) + window_ms.max(1) - now,
    }
}

/// Counts one hit of `bucket` (one statement: replicas hitting at once all count).
pub async fn hit(pool: &AnyPool, bucket: &str, window_ms: i64, now: i64) -> Result<Window, Error> {
    let hits: i64 = sqlx::query_scalar(
        "INSERT INTO rate_counters (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1 \
         RETURNING hits",
    )
    .bind(bucket)
    .bind(start_of(now, window_ms))
    .fetch_one(pool)
    .await?;
    Ok(window(hits, now, window_ms))
}

/// `bucket`'s count in the current window, without counting.
pub async fn peek(pool: &AnyPool, bucket: &str, window_ms: i64, now: i64) -> Result<Window, Error> {
    let hits: Option<i64> = sqlx::query_scalar(
        "SELECT hits FROM rate_counters WHERE bucket = $1 AND window_start = $2",
    )
    .bind(bucket)
    .bind(start_of(now, window_ms))
    .fetch_optional(pool)
    .await?;
    Ok(window(hits.unwrap_or(0), now, window_ms))
}

/// Forgets every count of `bucket`.
pub async fn clear(pool: &AnyPool, bucket: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM rate_counters WHERE bucket = $1")
        .bind(bucket)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_to_the_epoch() {
        assert_eq!(start_of(125_000, 60_000), 120_000);
        assert_eq!(window(3, 125_000, 60_000).reset_ms, 55_000);
        assert_eq!(window(0, 120_000, 60_000).reset_ms, 60_000);
    }

    #[tokio::test]
    async fn hits_count_per_bucket_and_window_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/c.db", dir.path().display());
        let pool = crate::db::connect(&url).await.unwrap();
        crate::db::migrate(&pool, &url).await.unwrap();
        assert_eq!(hit(&pool, "a", 60_000, 1_000).await.unwrap().hits, 1);
        assert_eq!(hit(&pool, "a", 60_000, 59_999).await.unwrap().hits, 2);
        assert_eq!(hit(&pool, "b", 60_000, 2_000).await.unwrap().hits, 1);
        assert_eq!(peek(&pool, "a", 60_000, 3_000).await.unwrap().hits, 2);
        assert_eq!(
            hit(&pool, "a", 60_000, 60_000).await.unwrap().hits,
            1,
            "a new window starts at zero"
        );
        clear(&pool, "a").await.unwrap();
        assert_eq!(peek(&pool, "a", 60_000, 60_001).await.unwrap().hits, 0);
        assert_eq!(peek(&pool, "b", 60_000, 2_001).await.unwrap().hits, 1);
    }
}
