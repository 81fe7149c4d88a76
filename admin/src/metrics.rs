//! Prometheus metrics in the text exposition format, kept by hand: a request
//! counter and latency histogram per method, route and status (each status its own
//! series, so two statuses on one route never print the same labels), plus gauges that the
//! `/metrics` handler reads from the database at scrape time (publish lag).

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex, atomic::Ordering},
    time::Instant,
};

use edgeflag_admin_core::usage_writer::{LATENCY_BUCKETS, UsageMetrics};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics, keyed by (method, route, status).
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = series
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (slot, bound) in s.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
    }

    /// Renders the request series; the caller appends gauges.
    pub fn render(&self) -> String {
        let series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str(
            "# HELP edgeflag_admin_requests_total Requests served, by route and status.\n",
        );
        out.push_str("# TYPE edgeflag_admin_requests_total counter\n");
        for ((method, route, status), s) in series.iter() {
            let _ = writeln!(
                out,
                "edgeflag_admin_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP edgeflag_admin_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE edgeflag_admin_request_duration_seconds histogram\n");
        for ((method, route, status), s) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (bound, count) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "edgeflag_admin_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "edgeflag_admin_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "edgeflag_admin_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "edgeflag_admin_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// The usage pipeline's series: items ingested and refused (by reason), the queue's
/// depth, the writer's transaction latency and rows removed by retention.
pub fn render_usage(m: &UsageMetrics) -> String {
    let mut out = String::new();
    let ingested = m.ingested_items.load(Ordering::Relaxed);
    let duplicate = m.duplicate_items.load(Ordering::Relaxed);
    let depth = m.queue_depth.load(Ordering::Relaxed);
    let _ = write!(
        out,
        "# HELP edgeflag_admin_usage_items_ingested_total Usage items committed.\n\
         # TYPE edgeflag_admin_usage_items_ingested_total counter\n\
         edgeflag_admin_usage_items_ingested_total {ingested}\n\
         # HELP edgeflag_admin_usage_items_duplicate_total Items of retried batches, already counted.\n\
         # TYPE edgeflag_admin_usage_items_duplicate_total counter\n\
         edgeflag_admin_usage_items_duplicate_total {duplicate}\n\
         # HELP edgeflag_admin_usage_items_refused_total Items of refused batches, by reason (rate_limited counts batches).\n\
         # TYPE edgeflag_admin_usage_items_refused_total counter\n"
    );
    for (reason, n) in m.refused_by_reason() {
        let _ = writeln!(
            out,
            "edgeflag_admin_usage_items_refused_total{{reason=\"{reason}\"}} {n}"
        );
    }
    let _ = write!(
        out,
        "# HELP edgeflag_admin_usage_queue_depth Items accepted for writing, not yet committed.\n\
         # TYPE edgeflag_admin_usage_queue_depth gauge\n\
         edgeflag_admin_usage_queue_depth {depth}\n\
         # HELP edgeflag_admin_usage_write_duration_seconds Latency of one usage write transaction.\n\
         # TYPE edgeflag_admin_usage_write_duration_seconds histogram\n"
    );
    let latency = m.write_latency();
    for (bound, count) in LATENCY_BUCKETS.iter().zip(latency.buckets) {
        let _ = writeln!(
            out,
            "edgeflag_admin_usage_write_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
        );
    }
    let _ = write!(
        out,
        "edgeflag_admin_usage_write_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
         edgeflag_admin_usage_write_duration_seconds_sum {sum}\n\
         edgeflag_admin_usage_write_duration_seconds_count {count}\n\
         # HELP edgeflag_admin_usage_retention_removed_total Rows removed by usage retention, by resolution.\n\
         # TYPE edgeflag_admin_usage_retention_removed_total counter\n",
        count = latency.count,
        sum = latency.sum
    );
    for (resolution, n) in m.removed_by_resolution() {
        let _ = writeln!(
            out,
            "edgeflag_admin_usage_retention_removed_total{{resolution=\"{resolution}\"}} {n}"
        );
    }
    out
}

/// The database pool: connections open and idle, and the most it may open.
pub fn render_pool(pool: &sqlx::AnyPool) -> String {
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
    format!(
        "# HELP edgeflag_admin_db_pool_connections Database connections open, by state.\n\
         # TYPE edgeflag_admin_db_pool_connections gauge\n\
         edgeflag_admin_db_pool_connections{{state=\"idle\"}} {idle}\n\
         edgeflag_admin_db_pool_connections{{state=\"in_use\"}} {}\n\
         # HELP edgeflag_admin_db_pool_max_connections The most connections the pool opens.\n\
         # TYPE edgeflag_admin_db_pool_max_connections gauge\n\
         edgeflag_admin_db_pool_max_connections {}\n",
        size - idle,
        pool.options().get_max_connections()
    )
}

/// Per publish target: environments it lags behind on, and how long ago the oldest
/// snapshot it does not hold yet was built (0 when it holds every one). Every
/// configured target gets a series, so a target that never lagged still shows 0.
pub async fn render_targets(
    pool: &sqlx::AnyPool,
    targets: &[edgeflag_admin_core::config::TargetConfig],
) -> Result<String, sqlx::Error> {
    use sqlx::Row as _;
    let rows = sqlx::query(
        "SELECT p.target AS target, COUNT(DISTINCT p.environment_id) AS behind, MIN(s.built_at) AS oldest \
         FROM publish_status p JOIN env_snapshots s \
           ON s.environment_id = p.environment_id AND s.version > p.delivered_version \
         GROUP BY p.target",
    )
    .fetch_all(pool)
    .await?;
    let mut lag: BTreeMap<String, (i64, f64)> = targets
        .iter()
        .map(|t| (t.name().to_string(), (0, 0.0)))
        .collect();
    let now = edgeflag_admin_core::db::now_ms();
    for row in rows {
        let oldest: Option<i64> = row.try_get("oldest")?;
        let seconds = oldest.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0);
        lag.insert(row.try_get("target")?, (row.try_get("behind")?, seconds));
    }
    let mut out = String::from(
        "# HELP edgeflag_admin_target_environments_behind Environments whose newest snapshot a target does not hold yet.\n\
         # TYPE edgeflag_admin_target_environments_behind gauge\n",
    );
    for (target, (behind, _)) in &lag {
        let _ = writeln!(
            out,
            "edgeflag_admin_target_environments_behind{{target=\"{target}\"}} {behind}"
        );
    }
    out.push_str(
        "# HELP edgeflag_admin_target_lag_seconds Age of the oldest snapshot a target does not hold yet (0: up to date).\n\
         # TYPE edgeflag_admin_target_lag_seconds gauge\n",
    );
    for (target, (_, seconds)) in &lag {
        let _ = writeln!(
            out,
            "edgeflag_admin_target_lag_seconds{{target=\"{target}\"}} {seconds}"
        );
    }
    Ok(out)
}

/// Middleware that records every request.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics.observe(&method, &route, status, start.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe("GET", "/v1/projects", 200, 0.003);
        let text = m.render();
        assert!(text.contains(
            "edgeflag_admin_requests_total{method=\"GET\",route=\"/v1/projects\",status=\"200\"} 1"
        ));
        assert!(text.contains("le=\"0.0025\"} 0"));
        assert!(text.contains("le=\"0.005\"} 1"));
    }
}
