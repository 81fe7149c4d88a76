//! Evaluation insights, ingestion side: what a usage batch is, the rules it must
//! follow to be accepted, and the settings of the usage pipeline.
//!
//! The edge (and, through it, the JS SDK) counts evaluations per environment, flag,
//! variant and reason per minute and sends the counts in batches. A batch is checked
//! here as a whole — every refused item is named by its JSON Pointer — then handed to
//! the writer (`usage_writer`), which adds it to the minute, hour and day buckets in
//! one transaction with its idempotency key. Reading the counts back is `usage_query`;
//! the ingestion keys are `usage_keys`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use crate::error::Error;

/// The most items one batch may carry.
pub const MAX_ITEMS: usize = 1_000;
/// Items older than this are refused (the minute buckets are kept 7 days by default).
pub const MAX_PAST_MS: i64 = 7 * 24 * 3_600_000;
/// Items further in the future than this are refused (clock skew allowance).
pub const MAX_FUTURE_MS: i64 = 5 * 60_000;
/// The longest flag key, variant or idempotency key accepted.
pub const MAX_TEXT: usize = 256;
/// The largest count one item may carry.
pub const MAX_COUNT: i64 = 1_000_000_000;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// The usage pipeline's settings (`[usage]` in the admin's configuration).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageConfig {
    /// Batches per minute allowed per ingestion key.
    pub rate_limit_per_minute: u32,
    /// How long minute buckets are kept, days.
    pub minute_retention_days: i64,
    /// How long hour buckets are kept, days.
    pub hour_retention_days: i64,
    /// How long day buckets are kept, days.
    pub day_retention_days: i64,
    /// How often `serve` runs the retention job, seconds.
    pub retention_interval_secs: u64,
    /// The most batches the writer commits in one transaction.
    pub write_max_batches: usize,
}

impl Default for UsageConfig {
    fn default() -> Self {
        Self {
            rate_limit_per_minute: 1_200,
            minute_retention_days: 7,
            hour_retention_days: 90,
            day_retention_days: 730,
            retention_interval_secs: 3_600,
            write_max_batches: 256,
        }
    }
}

/// A batch as posted to `POST /v1/usage/batches`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// At most 1,000 items, accepted or refused together.
    pub items: Vec<ItemRequest>,
}

/// One count: `count` evaluations of `flag` in `environment` that served `variant`
/// for `reason` during the minute holding `time`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    /// The environment's edge name (`{project}-{environment}`), as the edge knows it.
    pub environment: String,
    pub flag: String,
    /// The variation served; absent or null when none was (errors).
    #[serde(default)]
    pub variant: Option<String>,
    /// The OpenFeature reason (`TARGETING_MATCH`, `SPLIT`, …).
    pub reason: String,
    /// Epoch milliseconds within the minute counted.
    pub time: i64,
    pub count: i64,
}

/// A checked item, ready for the writer: its environment resolved to an id and its
/// time to the start of its minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub environment_id: String,
    pub flag: String,
    pub variant: String,
    pub reason: String,
    pub minute: i64,
    pub count: i64,
}

/// Why a batch or its items were refused; the label is the metrics' `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    TooLarge,
    Timestamp,
    UnknownEnvironment,
    Invalid,
    RateLimited,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Timestamp => "timestamp",
            Self::UnknownEnvironment => "unknown_environment",
            Self::Invalid => "invalid",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// A refused batch: the first problem's reason for the metrics, and the error that
/// names every refused item.
#[derive(Debug)]
pub struct Refused {
    pub reason: Refusal,
    pub items: usize,
    pub error: Error,
}

/// The idempotency key of a batch: 1–256 visible ASCII characters.
pub fn check_batch_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty() && id.len() <= MAX_TEXT && id.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "Idempotency-Key",
            "the Idempotency-Key header must be 1–256 visible ASCII characters",
        ))
    }
}

/// The edge names and ids of the organization's live environments.
pub async fn environments(pool: &AnyPool, org_id: &str) -> Result<HashMap<String, String>, Error> {
    let rows = sqlx::query(
        "SELECT e.id, e.edge_name FROM environments e JOIN projects p ON p.id = e.project_id \
         WHERE p.org_id = $1 AND e.archived_at IS NULL",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    let mut out = HashMap::new();
    for row in rows {
        out.insert(row.try_get("edge_name")?, row.try_get("id")?);
    }
    Ok(out)
}

/// Checks a batch as a whole at time `now` against the organization's environments
/// (edge name → id): either every item becomes a [`Count`], or the batch is refused
/// with one error naming every bad item by its JSON Pointer.
pub fn check(
    batch: &BatchRequest,
    environments: &HashMap<String, String>,
    now: i64,
) -> Result<Vec<Count>, Refused> {
    if batch.items.is_empty() || batch.items.len() > MAX_ITEMS {
        return Err(Refused {
            reason: Refusal::TooLarge,
            items: batch.items.len(),
            error: Error::invalid(
                "/items",
                format!(
                    "a batch carries 1 to {MAX_ITEMS} items; this one has {}",
                    batch.items.len()
                ),
            ),
        });
    }
    let mut counts = Vec::with_capacity(batch.items.len());
    let mut problems: Vec<(String, Refusal, String)> = Vec::new();
    for (i, item) in batch.items.iter().enumerate() {
        match check_item(item, environments, now) {
            Ok(count) => counts.push(count),
            Err((field, reason, message)) => {
                problems.push((format!("/items/{i}/{field}"), reason, message));
            }
        }
    }
    let Some(first) = problems.first() else {
        return Ok(counts);
    };
    let reason = problems
        .iter()
        .map(|p| p.1)
        .min()
        .unwrap_or(Refusal::Invalid);
    let listed: Vec<String> = problems
        .iter()
        .map(|(path, _, message)| format!("{path}: {message}"))
        .collect();
    Err(Refused {
        reason,
        items: batch.items.len(),
        error: Error::invalid(
            first.0.clone(),
            format!(
                "the batch is refused: {} of its items are invalid ({})",
                problems.len(),
                listed.join("; ")
            ),
        ),
    })
}

type ItemProblem = (&'static str, Refusal, String);

fn check_item(
    item: &ItemRequest,
    environments: &HashMap<String, String>,
    now: i64,
) -> Result<Count, ItemProblem> {
    if item.time < now - MAX_PAST_MS {
        return Err((
            "time",
            Refusal::Timestamp,
            "more than 7 days in the past".into(),
        ));
    }
    if item.time > now + MAX_FUTURE_MS {
        return Err((
            "time",
            Refusal::Timestamp,
            "more than 5 minutes in the future".into(),
        ));
    }
    let environment_id = environments.get(&item.environment).ok_or_else(|| {
        (
            "environment",
            Refusal::UnknownEnvironment,
            format!(
                "no live environment `{}` in this key's organization",
                item.environment
            ),
        )
    })?;
    if item.flag.is_empty() || item.flag.len() > MAX_TEXT {
        return Err(("flag", Refusal::Invalid, "1–256 characters".into()));
    }
    let variant = item.variant.clone().unwrap_or_default();
    if variant.len() > MAX_TEXT {
        return Err(("variant", Refusal::Invalid, "at most 256 characters".into()));
    }
    let reason_ok = !item.reason.is_empty()
        && item.reason.len() <= 32
        && item
            .reason
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_');
    if !reason_ok {
        return Err((
            "reason",
            Refusal::Invalid,
            "an OpenFeature reason such as TARGETING_MATCH".into(),
        ));
    }
    if !(1..=MAX_COUNT).contains(&item.count) {
        return Err(("count", Refusal::Invalid, "1 to 1,000,000,000".into()));
    }
    Ok(Count {
        environment_id: environment_id.clone(),
        flag: item.flag.clone(),
        variant,
        reason: item.reason.clone(),
        minute: item.time - item.time.rem_euclid(MINUTE_MS),
        count: item.count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn item(time: i64) -> ItemRequest {
        ItemRequest {
            environment: "web-production".into(),
            flag: "checkout".into(),
            variant: Some("on".into()),
            reason: "SPLIT".into(),
            time,
            count: 3,
        }
    }

    fn envs() -> HashMap<String, String> {
        HashMap::from([("web-production".to_string(), "env_1".to_string())])
    }

    #[test]
    fn a_good_item_lands_in_its_minute() {
        let batch = BatchRequest {
            items: vec![item(NOW + 12_345)],
        };
        let counts = check(&batch, &envs(), NOW).unwrap();
        assert_eq!(counts[0].minute % MINUTE_MS, 0);
        assert!(counts[0].minute <= NOW + 12_345 && NOW + 12_345 - counts[0].minute < MINUTE_MS);
        assert_eq!(counts[0].environment_id, "env_1");
    }

    #[test]
    fn every_refused_item_is_named() {
        let mut unknown = item(NOW);
        unknown.environment = "nope".into();
        let batch = BatchRequest {
            items: vec![
                item(NOW),
                item(NOW - MAX_PAST_MS - 1),
                unknown,
                item(NOW + MAX_FUTURE_MS + 1),
            ],
        };
        let refused = check(&batch, &envs(), NOW).unwrap_err();
        assert_eq!(refused.reason, Refusal::Timestamp);
        let Error::Invalid { path, message } = refused.error else {
            panic!("not invalid")
        };
        assert_eq!(path, "/items/1/time");
        for named in ["/items/1/time", "/items/2/environment", "/items/3/time"] {
            assert!(message.contains(named), "{message}");
        }
        assert!(!message.contains("/items/0/"), "{message}");
    }

    #[test]
    fn the_edges_of_the_window_are_accepted() {
        let batch = BatchRequest {
            items: vec![item(NOW - MAX_PAST_MS), item(NOW + MAX_FUTURE_MS)],
        };
        assert_eq!(check(&batch, &envs(), NOW).unwrap().len(), 2);
    }

    #[test]
    fn batches_over_a_thousand_or_empty_are_refused_whole() {
        let big = BatchRequest {
            items: vec![item(NOW); MAX_ITEMS + 1],
        };
        assert_eq!(
            check(&big, &envs(), NOW).unwrap_err().reason,
            Refusal::TooLarge
        );
        let full = BatchRequest {
            items: vec![item(NOW); MAX_ITEMS],
        };
        assert_eq!(check(&full, &envs(), NOW).unwrap().len(), MAX_ITEMS);
        let empty = BatchRequest { items: vec![] };
        assert!(check(&empty, &envs(), NOW).is_err());
    }

    #[test]
    fn counts_and_reasons_are_checked() {
        let mut zero = item(NOW);
        zero.count = 0;
        let mut lower = item(NOW);
        lower.reason = "split".into();
        let batch = BatchRequest {
            items: vec![zero, lower],
        };
        let Error::Invalid { message, .. } = check(&batch, &envs(), NOW).unwrap_err().error else {
            panic!()
        };
        assert!(message.contains("/items/0/count") && message.contains("/items/1/reason"));
        assert!(check_batch_id("b-1").is_ok());
        assert!(check_batch_id("").is_err() && check_batch_id("a b").is_err());
    }
}
