//! Evaluation insights, answer side: a flag's usage over a time range at minute, hour
//! or day resolution; when each flag was last evaluated in each environment; and the
//! stale-flag report. All of it reads what `usage_writer` wrote, within one project of
//! the caller's organization.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use crate::{
    db::rfc3339,
    error::Error,
    scope::{self, ProjectRef},
    usage::{DAY_MS, HOUR_MS, MINUTE_MS},
};

/// The most buckets one usage answer may span (a week of minutes).
pub const MAX_BUCKETS: i64 = 7 * 24 * 60;

/// A bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Minute,
    Hour,
    Day,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    pub fn width_ms(self) -> i64 {
        match self {
            Self::Minute => MINUTE_MS,
            Self::Hour => HOUR_MS,
            Self::Day => DAY_MS,
        }
    }
}

/// A flag's counts in one bucket of one environment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageBucket {
    /// The bucket's first instant (RFC 3339, UTC).
    pub start: String,
    /// The environment's key.
    pub environment: String,
    pub count: i64,
    /// Counts per variant served (`""`: none, as for errors).
    pub variants: BTreeMap<String, i64>,
    /// Counts per reason.
    pub reasons: BTreeMap<String, i64>,
}

/// A flag's usage over `[from, to)`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagUsage {
    pub flag: String,
    pub resolution: Resolution,
    pub from: String,
    pub to: String,
    pub total: i64,
    /// Buckets with counts, oldest first, then by environment.
    pub buckets: Vec<UsageBucket>,
}

/// The environments of a project: id → key.
async fn environment_keys(
    pool: &AnyPool,
    project: &ProjectRef,
) -> Result<HashMap<String, String>, Error> {
    let rows = sqlx::query("SELECT id, key FROM environments WHERE project_id = $1")
        .bind(&project.id)
        .fetch_all(pool)
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        out.insert(row.try_get("id")?, row.try_get("key")?);
    }
    Ok(out)
}

/// The query of a usage answer: `from` and `to` are RFC 3339 (default: the last 24
/// hours up to now), `resolution` `minute`, `hour` (default) or `day`, and
/// `environment` an environment key (default: all).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct UsageQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub resolution: Option<Resolution>,
    pub environment: Option<String>,
}

fn parse_time(name: &str, text: Option<&str>, default: i64) -> Result<i64, Error> {
    match text {
        None => Ok(default),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_millis())
            .map_err(|e| Error::invalid(format!("?{name}"), format!("not an RFC 3339 time: {e}"))),
    }
}

/// Flag `flag`'s usage in project `project_key` as `q` asks, as of `now`.
pub async fn flag_usage(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
    flag: &str,
    q: &UsageQuery,
    now: i64,
) -> Result<FlagUsage, Error> {
    let resolution = q.resolution.unwrap_or(Resolution::Hour);
    let to = parse_time("to", q.to.as_deref(), now)?;
    let from = parse_time("from", q.from.as_deref(), to - DAY_MS)?;
    let environment = q.environment.as_deref();
    if to <= from {
        return Err(Error::invalid("?to", "`to` must be later than `from`"));
    }
    if (to - from) / resolution.width_ms() > MAX_BUCKETS {
        return Err(Error::invalid(
            "?from",
            format!(
                "at most {MAX_BUCKETS} buckets per answer: narrow the range or use a coarser resolution"
            ),
        ));
    }
    let project = scope::project(pool, org_id, project_key).await?;
    let envs = environment_keys(pool, &project).await?;
    if let Some(env) = environment
        && !envs.values().any(|k| k == env)
    {
        return Err(Error::not_found("environment", env));
    }
    let rows = sqlx::query(
        "SELECT u.bucket_start, u.environment_id, u.variant, u.reason, u.count FROM usage_counts u \
         JOIN environments e ON e.id = u.environment_id \
         WHERE e.project_id = $1 AND u.flag_key = $2 AND u.resolution = $3 \
         AND u.bucket_start >= $4 AND u.bucket_start < $5 ORDER BY u.bucket_start",
    )
    .bind(&project.id)
    .bind(flag)
    .bind(resolution.as_str())
    .bind(from - from.rem_euclid(resolution.width_ms()))
    .bind(to)
    .fetch_all(pool)
    .await?;
    let mut buckets: BTreeMap<(i64, String), UsageBucket> = BTreeMap::new();
    let mut total = 0;
    for row in rows {
        let start: i64 = row.try_get("bucket_start")?;
        let env_id: String = row.try_get("environment_id")?;
        let env = envs.get(&env_id).cloned().unwrap_or(env_id);
        if environment.is_some_and(|wanted| wanted != env) {
            continue;
        }
        let count: i64 = row.try_get("count")?;
        let bucket = buckets
            .entry((start, env.clone()))
            .or_insert_with(|| UsageBucket {
                start: rfc3339(start),
                environment: env,
                count: 0,
                variants: BTreeMap::new(),
                reasons: BTreeMap::new(),
            });
        bucket.count += count;
        *bucket.variants.entry(row.try_get("variant")?).or_default() += count;
        *bucket.reasons.entry(row.try_get("reason")?).or_default() += count;
        total += count;
    }
    Ok(FlagUsage {
        flag: flag.to_string(),
        resolution,
        from: rfc3339(from),
        to: rfc3339(to),
        total,
        buckets: buckets.into_values().collect(),
    })
}

/// When a flag was last evaluated in an environment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastEvaluated {
    pub flag: String,
    pub environment: String,
    /// The start of the newest minute with evaluations (RFC 3339).
    pub last_evaluated_at: String,
    #[serde(skip)]
    pub last_ms: i64,
}

/// Every (flag, environment) of the project with evaluations, by flag then environment.
pub async fn last_evaluated(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
) -> Result<Vec<LastEvaluated>, Error> {
    let project = scope::project(pool, org_id, project_key).await?;
    last_evaluated_in(pool, &project).await
}

async fn last_evaluated_in(
    pool: &AnyPool,
    project: &ProjectRef,
) -> Result<Vec<LastEvaluated>, Error> {
    let rows = sqlx::query(
        "SELECT s.flag_key, e.key AS env, s.last_at FROM usage_last_seen s \
         JOIN environments e ON e.id = s.environment_id WHERE e.project_id = $1 \
         ORDER BY s.flag_key, e.key",
    )
    .bind(&project.id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let last_ms: i64 = row.try_get("last_at")?;
            Ok(LastEvaluated {
                flag: row.try_get("flag_key")?,
                environment: row.try_get("env")?,
                last_evaluated_at: rfc3339(last_ms),
                last_ms,
            })
        })
        .collect()
}

/// A flag in the stale report, with why it is there.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaleFlag {
    pub flag: String,
    /// The newest evaluation in any environment; absent when never evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_at: Option<String>,
    /// For `singleVariation`: the one variant served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// For `singleVariation` and `archivedButEvaluated`: evaluations in the window or since archiving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<i64>,
}

/// The stale-flag report of a project over the last `days` days.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaleReport {
    pub days: i64,
    /// Live flags older than the window and not evaluated in it.
    pub not_evaluated: Vec<StaleFlag>,
    /// Live flags older than the window that served one variant to all their
    /// evaluations in it, in every environment: ready to remove.
    pub single_variation: Vec<StaleFlag>,
    /// Archived flags evaluated after they were archived: something still asks.
    pub archived_but_evaluated: Vec<StaleFlag>,
}

struct FlagRow {
    key: String,
    created_at: i64,
    archived_at: Option<i64>,
}

/// The stale-flag report of project `project_key` as of `now`.
pub async fn stale(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
    days: i64,
    now: i64,
) -> Result<StaleReport, Error> {
    if !(1..=730).contains(&days) {
        return Err(Error::invalid("?days", "a number of days from 1 to 730"));
    }
    let project = scope::project(pool, org_id, project_key).await?;
    let since = now - days * DAY_MS;
    let flags = sqlx::query(
        "SELECT key, created_at, archived_at FROM flags WHERE project_id = $1 ORDER BY key",
    )
    .bind(&project.id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(FlagRow {
            key: row.try_get("key")?,
            created_at: row.try_get("created_at")?,
            archived_at: row.try_get("archived_at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut last: HashMap<String, i64> = HashMap::new();
    for seen in last_evaluated_in(pool, &project).await? {
        let at = last.entry(seen.flag).or_insert(seen.last_ms);
        *at = (*at).max(seen.last_ms);
    }
    let variants = variants_since(pool, &project, since - since.rem_euclid(DAY_MS)).await?;
    let mut report = StaleReport {
        days,
        not_evaluated: Vec::new(),
        single_variation: Vec::new(),
        archived_but_evaluated: Vec::new(),
    };
    for flag in flags {
        let seen = last.get(&flag.key).copied();
        let entry = |variant: Option<String>, evaluations: Option<i64>| StaleFlag {
            flag: flag.key.clone(),
            last_evaluated_at: seen.map(rfc3339),
            variant,
            evaluations,
        };
        if let Some(archived) = flag.archived_at {
            if seen.is_some_and(|t| t + MINUTE_MS > archived) {
                let after = evaluations_since(pool, &project, &flag.key, archived).await?;
                report.archived_but_evaluated.push(entry(None, Some(after)));
            }
            continue;
        }
        if flag.created_at > since {
            continue;
        }
        match (seen, variants.get(&flag.key)) {
            (None, _) => report.not_evaluated.push(entry(None, None)),
            (Some(t), _) if t < since => report.not_evaluated.push(entry(None, None)),
            (_, Some(served)) if served.len() == 1 => {
                let (variant, n) = served
                    .iter()
                    .next()
                    .map(|(v, n)| (v.clone(), *n))
                    .unwrap_or_default();
                report.single_variation.push(entry(Some(variant), Some(n)));
            }
            _ => {}
        }
    }
    Ok(report)
}

/// Per flag, the evaluations per variant in day buckets from `since` on.
async fn variants_since(
    pool: &AnyPool,
    project: &ProjectRef,
    since: i64,
) -> Result<HashMap<String, BTreeMap<String, i64>>, Error> {
    let rows = sqlx::query(
        "SELECT u.flag_key, u.variant, CAST(SUM(u.count) AS BIGINT) AS n FROM usage_counts u \
         JOIN environments e ON e.id = u.environment_id \
         WHERE e.project_id = $1 AND u.resolution = 'day' AND u.bucket_start >= $2 \
         GROUP BY u.flag_key, u.variant",
    )
    .bind(&project.id)
    .bind(since)
    .fetch_all(pool)
    .await?;
    let mut out: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for row in rows {
        out.entry(row.try_get("flag_key")?)
            .or_default()
            .insert(row.try_get("variant")?, row.try_get("n")?);
    }
    Ok(out)
}

/// Evaluations of `flag` in minutes that end after `since` (minute buckets, so within
/// their retention; older ones fall back to hours).
async fn evaluations_since(
    pool: &AnyPool,
    project: &ProjectRef,
    flag: &str,
    since: i64,
) -> Result<i64, Error> {
    let mut total = 0;
    for (resolution, width) in [("minute", MINUTE_MS), ("hour", HOUR_MS)] {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(u.count), 0) AS BIGINT) AS n FROM usage_counts u \
             JOIN environments e ON e.id = u.environment_id \
             WHERE e.project_id = $1 AND u.flag_key = $2 AND u.resolution = $3 AND u.bucket_start > $4",
        )
        .bind(&project.id)
        .bind(flag)
        .bind(resolution)
        .bind(since - width)
        .fetch_one(pool)
        .await?;
        total = row.try_get("n")?;
        if total > 0 {
            break;
        }
    }
    Ok(total)
}
