//! Evaluation counts (issue 16): the edge counts evaluations per environment, flag,
//! variant and reason per minute in memory, and hands the adapter batches to send to
//! the admin's `POST /v1/usage/batches` off the request path (the Worker's
//! `waitUntil`). Counting is one hash-map update under a lock that is never held
//! across an `await`; nothing is counted when no admin URL and ingestion key are set.
//!
//! The JS SDK's counts of its local evaluations arrive at `POST /v1/usage` with the
//! client key and are added here, so the admin hears from the edge alone.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

pub mod parked;

/// The most items one batch carries (the admin refuses more).
pub const MAX_ITEMS: usize = 1_000;
/// Batches kept for a retry when the admin did not acknowledge them.
pub const MAX_RETRY: usize = 16;
/// Items older than this are dropped rather than sent (the admin refuses them).
const MAX_AGE_MS: i64 = 7 * 24 * 3_600_000 - 3_600_000;

/// Where counts go, from `EDGEFLAG_USAGE_URL` and `EDGEFLAG_USAGE_KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageConfig {
    /// The admin's base URL; batches go to `{url}/v1/usage/batches`.
    pub url: String,
    /// An ingestion key (`efi_…`), sent as `X-API-Key`.
    pub key: String,
    /// The longest a count waits before it is sent, milliseconds.
    pub interval_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CountKey {
    environment: String,
    flag: String,
    variant: Option<String>,
    reason: String,
    minute: i64,
}

/// One batch for the admin: the URL to post to, its headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageBatch {
    pub url: String,
    /// `X-API-Key`, `Idempotency-Key` and `Content-Type`.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Items in the batch.
    pub items: usize,
}

#[derive(Debug, Serialize)]
struct Item<'a> {
    environment: &'a str,
    flag: &'a str,
    variant: Option<&'a str>,
    reason: &'a str,
    time: i64,
    count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    /// By a hash of the key's parts, so that counting an evaluation already seen this
    /// minute allocates nothing; the (rare) colliding keys share a bucket.
    counts: HashMap<u64, Vec<(CountKey, u64)>>,
    /// Distinct keys held.
    distinct: usize,
    last_flush_ms: Option<i64>,
    /// A flush is scheduled (see [`Usage::timer`]).
    timer_armed: bool,
    sequence: u64,
    retry: VecDeque<UsageBatch>,
}

/// The isolate's counts.
#[derive(Debug)]
pub struct Usage {
    config: Option<UsageConfig>,
    /// Names this isolate's batches, so that idempotency keys differ between isolates.
    instance: String,
    inner: Mutex<Inner>,
}

impl Usage {
    /// Counting to `config`; `None` counts nothing. `seed` is any value that differs
    /// between isolates (the adapters pass their start time and a random number).
    pub fn new(config: Option<UsageConfig>, seed: &str) -> Self {
        Self {
            config,
            instance: format!("{:016x}", xxh3_64(seed.as_bytes())),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts `count` evaluations of `flag` in `environment` at `now_ms`.
    pub fn record(
        &self,
        environment: &str,
        flag: &str,
        variant: Option<&str>,
        reason: &str,
        now_ms: i64,
        count: u64,
    ) {
        if self.config.is_none() || count == 0 {
            return;
        }
        let minute = now_ms - now_ms.rem_euclid(60_000);
        let hash = key_hash(environment, flag, variant, reason, minute);
        let mut inner = self.lock();
        // The interval runs from the first count after a flush.
        inner.last_flush_ms.get_or_insert(now_ms);
        let bucket = inner.counts.entry(hash).or_default();
        let same = |k: &CountKey| {
            k.minute == minute
                && k.flag == flag
                && k.environment == environment
                && k.reason == reason
                && k.variant.as_deref() == variant
        };
        if let Some((_, n)) = bucket.iter_mut().find(|(k, _)| same(k)) {
            *n += count;
            return;
        }
        bucket.push((
            CountKey {
                environment: environment.to_string(),
                flag: flag.to_string(),
                variant: variant.map(str::to_string),
                reason: reason.to_string(),
                minute,
            },
            count,
        ));
        inner.distinct += 1;
    }

    /// The batches to send now: every count when the interval has passed since the
    /// last flush (or `force`), or as soon as the counts fill a batch; plus batches
    /// waiting for a retry. Empty most of the time.
    pub fn due(&self, now_ms: i64, force: bool) -> Vec<UsageBatch> {
        let Some(config) = &self.config else {
            return Vec::new();
        };
        let mut inner = self.lock();
        if !inner.retry.is_empty() {
            // Batches waiting for a retry start the interval too.
            inner.last_flush_ms.get_or_insert(now_ms);
        }
        let waited = inner
            .last_flush_ms
            .is_some_and(|last| now_ms - last >= config.interval_ms);
        if !(force || waited || inner.distinct >= MAX_ITEMS) {
            return Vec::new();
        }
        inner.last_flush_ms = None;
        let mut out: Vec<UsageBatch> = inner.retry.drain(..).collect();
        let counts: Vec<(CountKey, u64)> = inner.counts.drain().flat_map(|(_, v)| v).collect();
        inner.distinct = 0;
        let fresh = counts
            .iter()
            .filter(|(k, _)| now_ms - k.minute <= MAX_AGE_MS);
        let fresh: Vec<&(CountKey, u64)> = fresh.collect();
        for chunk in fresh.chunks(MAX_ITEMS) {
            inner.sequence += 1;
            let id = format!("{}-{}-{}", self.instance, now_ms, inner.sequence);
            out.push(batch(config, &id, chunk));
        }
        out
    }

    /// When counts are waiting and no flush is scheduled, schedules one: the delay in
    /// milliseconds after which the adapter calls [`Self::timer_fired`]. Without it,
    /// the counts of the last requests before traffic stops would wait for the next
    /// request, however long that takes. `None`: nothing waits, or a flush is scheduled.
    pub fn timer(&self, now_ms: i64) -> Option<i64> {
        let config = self.config.as_ref()?;
        let mut inner = self.lock();
        let started = inner.last_flush_ms?;
        if inner.timer_armed {
            return None;
        }
        inner.timer_armed = true;
        Some((config.interval_ms - (now_ms - started)).clamp(0, config.interval_ms))
    }

    /// The scheduled flush: every count now (the interval has passed for the oldest).
    pub fn timer_fired(&self, now_ms: i64) -> Vec<UsageBatch> {
        self.lock().timer_armed = false;
        self.due(now_ms, true)
    }

    /// Every count held, taken out (for parking them in the store, `parked.rs`).
    fn take(&self) -> Vec<(CountKey, u64)> {
        let mut inner = self.lock();
        inner.distinct = 0;
        inner.last_flush_ms = None;
        inner.counts.drain().flat_map(|(_, v)| v).collect()
    }

    /// Keeps a batch the admin did not acknowledge for the next flush (same
    /// idempotency key, so it is counted once however often it is sent).
    pub fn retry(&self, batch: UsageBatch) {
        let mut inner = self.lock();
        if inner.retry.len() >= MAX_RETRY {
            inner.retry.pop_front();
        }
        inner.retry.push_back(batch);
    }
}

fn key_hash(
    environment: &str,
    flag: &str,
    variant: Option<&str>,
    reason: &str,
    minute: i64,
) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (environment, flag, variant, reason, minute).hash(&mut hasher);
    hasher.finish()
}

fn batch(config: &UsageConfig, id: &str, chunk: &[&(CountKey, u64)]) -> UsageBatch {
    UsageBatch {
        url: format!("{}/v1/usage/batches", config.url.trim_end_matches('/')),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-api-key".into(), config.key.clone()),
            ("idempotency-key".into(), id.to_string()),
        ],
        body: items_body(chunk),
        items: chunk.len(),
    }
}

/// `{"items": [...]}`: a batch's body, and what `parked.rs` stores.
fn items_body(chunk: &[&(CountKey, u64)]) -> Vec<u8> {
    let items: Vec<Item<'_>> = chunk
        .iter()
        .map(|(k, n)| Item {
            environment: &k.environment,
            flag: &k.flag,
            variant: k.variant.as_deref(),
            reason: &k.reason,
            time: k.minute,
            count: *n,
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "items": items })).unwrap_or_default()
}

/// What the JS SDK sends to `POST /v1/usage`: its counts since the last send.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdkReport {
    pub counts: Vec<SdkCount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdkCount {
    pub flag: String,
    #[serde(default)]
    pub variant: Option<String>,
    pub reason: String,
    /// Epoch milliseconds in the minute counted.
    pub time: i64,
    pub count: u64,
}

/// The most counts one SDK report may carry.
pub const MAX_SDK_COUNTS: usize = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> Usage {
        Usage::new(
            Some(UsageConfig {
                url: "http://admin/".into(),
                key: "efi_x".into(),
                interval_ms: 5_000,
            }),
            "seed",
        )
    }

    fn body(batch: &UsageBatch) -> serde_json::Value {
        serde_json::from_slice(&batch.body).unwrap()
    }

    #[test]
    fn counts_per_minute_are_sent_once_the_interval_passes() {
        let u = usage();
        assert!(
            u.due(0, false).is_empty(),
            "the first call starts the clock"
        );
        u.record("web-prod", "f", Some("on"), "SPLIT", 61_000, 1);
        u.record("web-prod", "f", Some("on"), "SPLIT", 62_000, 2);
        u.record("web-prod", "f", None, "ERROR", 62_000, 1);
        assert!(
            u.due(66_000 - 1, false).is_empty(),
            "the interval starts at the first count"
        );
        let batches = u.due(66_000, false);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].url, "http://admin/v1/usage/batches");
        let mut items = body(&batches[0])["items"].as_array().unwrap().clone();
        items.sort_by_key(|i| i["count"].as_u64());
        assert_eq!(items[1]["count"], 3);
        assert_eq!(items[1]["time"], 60_000);
        assert_eq!(items[0]["variant"], serde_json::Value::Null);
        assert!(u.due(20_000, false).is_empty(), "nothing is sent twice");
    }

    #[test]
    fn a_timer_sends_the_last_counts_when_traffic_stops() {
        let u = usage();
        assert_eq!(u.timer(1_000), None, "nothing waits");
        u.record("web-prod", "f", Some("on"), "SPLIT", 61_000, 1);
        assert_eq!(
            u.timer(62_000),
            Some(4_000),
            "the interval ends 5 s after the first count"
        );
        u.record("web-prod", "f", Some("on"), "SPLIT", 63_000, 2);
        assert_eq!(u.timer(63_000), None, "one timer at a time");
        let batches = u.timer_fired(66_000);
        assert_eq!(batches.len(), 1);
        assert_eq!(body(&batches[0])["items"][0]["count"], 3);
        assert_eq!(u.timer(67_000), None, "nothing waits after the flush");
        u.record("web-prod", "f", Some("on"), "SPLIT", 70_000, 1);
        assert_eq!(u.timer(70_000), Some(5_000), "the next count arms it again");
        assert!(u.due(72_000, false).is_empty());
        assert_eq!(u.timer_fired(75_000).len(), 1);
    }

    #[test]
    fn a_full_batch_goes_at_once_and_retries_keep_their_key() {
        let u = usage();
        u.due(0, false);
        for i in 0..MAX_ITEMS + 5 {
            u.record("e", &format!("f{i}"), Some("on"), "STATIC", 1_000, 1);
        }
        let batches = u.due(1_001, false);
        assert_eq!(batches.iter().map(|b| b.items).collect::<Vec<_>>().len(), 2);
        assert_eq!(
            batches.iter().map(|b| b.items).sum::<usize>(),
            MAX_ITEMS + 5
        );
        let id = batches[0].headers[2].1.clone();
        assert_ne!(id, batches[1].headers[2].1);
        u.retry(batches[0].clone());
        assert!(
            u.due(1_002, false).is_empty(),
            "a retry waits for the interval"
        );
        let again = u.due(1_002 + 5_000, false);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].headers[2].1, id);
    }

    #[test]
    fn off_counts_nothing() {
        let u = Usage::new(None, "");
        u.record("e", "f", None, "STATIC", 0, 1);
        assert!(!u.enabled() && u.due(i64::MAX, true).is_empty());
    }
}
