//! The usage writer: checked batches wait in an in-memory queue, and one task writes
//! whatever has gathered in one transaction (group commit), so a burst of batches
//! becomes a few transactions rather than one per batch or per item.
//!
//! Durability: a caller is answered only after the transaction holding its batch has
//! committed ([`UsageQueue::submit`] waits for it). A batch still in the queue when the
//! process dies was never acknowledged, so the edge retries it; a batch that was
//! acknowledged is in the database with its idempotency key, so the retry of a batch
//! whose answer was lost is recognised and not counted twice.
//!
//! Rollups happen at write time: each count is added to its minute, hour and day
//! bucket in the same transaction. The retention job ([`apply_retention`]) then only
//! deletes old buckets.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::{
    db::{self, now_ms},
    error::Error,
    usage::{Count, DAY_MS, HOUR_MS, Refusal, UsageConfig},
};

/// How a submitted batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted now.
    Accepted,
    /// A batch with this idempotency key was counted before; nothing was added.
    Duplicate,
}

/// The write-latency histogram's upper bounds, seconds.
pub const LATENCY_BUCKETS: [f64; 9] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0];

/// What the usage pipeline has done, for the Prometheus exposition.
#[derive(Debug, Default)]
pub struct UsageMetrics {
    pub ingested_items: AtomicU64,
    pub duplicate_items: AtomicU64,
    /// Items in the queue, not yet committed.
    pub queue_depth: AtomicI64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
    removed: Mutex<BTreeMap<&'static str, u64>>,
    latency: Mutex<Latency>,
}

/// A histogram of transaction latencies (cumulative buckets, as Prometheus wants).
#[derive(Debug, Default, Clone)]
pub struct Latency {
    pub count: u64,
    pub sum: f64,
    pub buckets: [u64; LATENCY_BUCKETS.len()],
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl UsageMetrics {
    pub fn refused(&self, reason: Refusal, items: usize) {
        *locked(&self.refused).entry(reason.as_str()).or_default() += items as u64;
    }

    /// Refused items by reason.
    pub fn refused_by_reason(&self) -> BTreeMap<&'static str, u64> {
        locked(&self.refused).clone()
    }

    /// Rows removed by retention, by resolution (and `batches` for idempotency keys).
    pub fn removed_by_resolution(&self) -> BTreeMap<&'static str, u64> {
        locked(&self.removed).clone()
    }

    pub fn write_latency(&self) -> Latency {
        locked(&self.latency).clone()
    }

    fn observe_write(&self, seconds: f64) {
        let mut latency = locked(&self.latency);
        latency.count += 1;
        latency.sum += seconds;
        for (slot, bound) in latency.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
    }
}

struct Job {
    key_id: String,
    batch_id: String,
    counts: Vec<Count>,
    done: oneshot::Sender<Result<Outcome, String>>,
}

/// The handle to the writer task; cheap to clone.
#[derive(Debug, Clone)]
pub struct UsageQueue {
    jobs: mpsc::UnboundedSender<Job>,
    pub metrics: Arc<UsageMetrics>,
}

impl UsageQueue {
    /// Starts the writer task over `pool`; it runs as long as a handle lives.
    pub fn start(pool: AnyPool, config: &UsageConfig) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        let metrics = Arc::new(UsageMetrics::default());
        let max = config.write_max_batches.max(1);
        tokio::spawn(run(pool, rx, metrics.clone(), max));
        Self { jobs, metrics }
    }

    /// Queues a checked batch and waits until it is committed (or found a duplicate).
    pub async fn submit(
        &self,
        key_id: &str,
        batch_id: &str,
        counts: Vec<Count>,
    ) -> Result<Outcome, Error> {
        let items = counts.len() as i64;
        let (done, answer) = oneshot::channel();
        self.metrics.queue_depth.fetch_add(items, Ordering::Relaxed);
        let job = Job {
            key_id: key_id.to_string(),
            batch_id: batch_id.to_string(),
            counts,
            done,
        };
        if self.jobs.send(job).is_err() {
            self.metrics.queue_depth.fetch_sub(items, Ordering::Relaxed);
            return Err(Error::internal("the usage writer has stopped"));
        }
        match answer.await {
            Ok(result) => result.map_err(Error::Internal),
            Err(_) => Err(Error::internal("the usage writer dropped a batch")),
        }
    }
}

async fn run(
    pool: AnyPool,
    mut rx: mpsc::UnboundedReceiver<Job>,
    metrics: Arc<UsageMetrics>,
    max: usize,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < max {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let items: i64 = jobs.iter().map(|j| j.counts.len() as i64).sum();
        let start = Instant::now();
        let result = write(&pool, &jobs).await;
        metrics.observe_write(start.elapsed().as_secs_f64());
        metrics.queue_depth.fetch_sub(items, Ordering::Relaxed);
        match result {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let n = job.counts.len() as u64;
                    let counter = match outcome {
                        Outcome::Accepted => &metrics.ingested_items,
                        Outcome::Duplicate => &metrics.duplicate_items,
                    };
                    counter.fetch_add(n, Ordering::Relaxed);
                    let _ = job.done.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batches = jobs.len(), "writing usage counts failed");
                for job in jobs {
                    let _ = job.done.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// One bucket row's identity: resolution, environment, flag, variant, reason, start.
type BucketKey = (&'static str, String, String, String, String, i64);

/// Writes a group of batches in one transaction; returns each batch's outcome.
async fn write(pool: &AnyPool, jobs: &[Job]) -> Result<Vec<Outcome>, Error> {
    let mut tx = db::begin(pool).await?;
    let now = now_ms();
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut buckets: HashMap<BucketKey, i64> = HashMap::new();
    let mut last_seen: HashMap<(String, String), i64> = HashMap::new();
    for job in jobs {
        let inserted = sqlx::query(
            "INSERT INTO usage_batches (key_id, batch_id, items, received_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key_id, batch_id) DO NOTHING",
        )
        .bind(&job.key_id)
        .bind(&job.batch_id)
        .bind(job.counts.len() as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            outcomes.push(Outcome::Duplicate);
            continue;
        }
        outcomes.push(Outcome::Accepted);
        for c in &job.counts {
            for (resolution, width) in [("minute", 60_000), ("hour", HOUR_MS), ("day", DAY_MS)] {
                let start = c.minute - c.minute.rem_euclid(width);
                let key = (
                    resolution,
                    c.environment_id.clone(),
                    c.flag.clone(),
                    c.variant.clone(),
                    c.reason.clone(),
                    start,
                );
                *buckets.entry(key).or_default() += c.count;
            }
            let seen = last_seen
                .entry((c.environment_id.clone(), c.flag.clone()))
                .or_insert(c.minute);
            *seen = (*seen).max(c.minute);
        }
    }
    upsert_buckets(&mut tx, &buckets).await?;
    upsert_last_seen(&mut tx, &last_seen).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Rows per multi-row INSERT: 7 parameters each stays far below SQLite's limit.
const ROWS_PER_STATEMENT: usize = 100;

async fn upsert_buckets(
    tx: &mut Transaction<'_, Any>,
    buckets: &HashMap<BucketKey, i64>,
) -> Result<(), Error> {
    let rows: Vec<_> = buckets.iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values = placeholders(chunk.len(), 7);
        let sql = format!(
            "INSERT INTO usage_counts (resolution, environment_id, flag_key, variant, reason, bucket_start, count) \
             VALUES {values} ON CONFLICT (resolution, environment_id, flag_key, bucket_start, variant, reason) \
             DO UPDATE SET count = usage_counts.count + excluded.count"
        );
        let mut query = sqlx::query(&sql);
        for ((resolution, env, flag, variant, reason, start), count) in chunk {
            query = query
                .bind(*resolution)
                .bind(env)
                .bind(flag)
                .bind(variant)
                .bind(reason)
                .bind(*start)
                .bind(**count);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn upsert_last_seen(
    tx: &mut Transaction<'_, Any>,
    seen: &HashMap<(String, String), i64>,
) -> Result<(), Error> {
    let rows: Vec<_> = seen.iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values = placeholders(chunk.len(), 3);
        // CASE rather than MAX/GREATEST: one text for SQLite and PostgreSQL.
        let sql = format!(
            "INSERT INTO usage_last_seen (environment_id, flag_key, last_at) VALUES {values} \
             ON CONFLICT (environment_id, flag_key) DO UPDATE SET last_at = \
             CASE WHEN excluded.last_at > usage_last_seen.last_at THEN excluded.last_at ELSE usage_last_seen.last_at END"
        );
        let mut query = sqlx::query(&sql);
        for ((env, flag), at) in chunk {
            query = query.bind(env).bind(flag).bind(**at);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `width` columns.
fn placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let cols: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deletes buckets older than their resolution's retention, and idempotency keys
/// older than any batch could still be retried (8 days), as of `now`. Returns the
/// rows removed per resolution and records them in `metrics`.
pub async fn apply_retention(
    pool: &AnyPool,
    config: &UsageConfig,
    metrics: &UsageMetrics,
    now: i64,
) -> Result<BTreeMap<&'static str, u64>, Error> {
    let mut removed = BTreeMap::new();
    for (resolution, days) in [
        ("minute", config.minute_retention_days),
        ("hour", config.hour_retention_days),
        ("day", config.day_retention_days),
    ] {
        let n = sqlx::query("DELETE FROM usage_counts WHERE resolution = $1 AND bucket_start < $2")
            .bind(resolution)
            .bind(now - days * DAY_MS)
            .execute(pool)
            .await?
            .rows_affected();
        removed.insert(resolution, n);
    }
    let n = sqlx::query("DELETE FROM usage_batches WHERE received_at < $1")
        .bind(now - 8 * DAY_MS)
        .execute(pool)
        .await?
        .rows_affected();
    removed.insert("batches", n);
    let mut total = locked(&metrics.removed);
    for (what, n) in &removed {
        *total.entry(what).or_default() += n;
    }
    Ok(removed)
}

/// Runs [`apply_retention`] every `retention_interval_secs`; abort the handle to stop.
/// Every replica runs the loop; the `job/usage-retention` lease lets one of them do
/// the work per interval. It ends when `stop` turns true.
pub fn spawn_retention(
    pool: AnyPool,
    config: UsageConfig,
    metrics: Arc<UsageMetrics>,
    holder: crate::lease::Holder,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = Duration::from_secs(config.retention_interval_secs.max(1));
        let ttl = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
        while !*stop.borrow() {
            let job = apply_retention(&pool, &config, &metrics, now_ms());
            if let Err(e) = crate::lease::once(&pool, "usage-retention", &holder, ttl, job).await {
                tracing::warn!(error = %e, "usage retention failed; retrying at the next interval");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = crate::lease::stopped(&mut stop) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_column() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn latency_buckets_are_cumulative() {
        let m = UsageMetrics::default();
        m.observe_write(0.003);
        let l = m.write_latency();
        assert_eq!(
            (l.count, l.buckets[0], l.buckets[1], l.buckets[8]),
            (1, 0, 1, 1)
        );
    }
}
