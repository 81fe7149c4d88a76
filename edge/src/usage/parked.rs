//! Counting where nothing outlives a request (the Spin app, `docs/usage.md`, "Spin").
//!
//! A Spin instance serves one request, so its counts cannot wait in memory for a
//! batch. Sending each request's counts to the admin on its own costs an HTTP request
//! per evaluation, on both sides (measured: half the Spin app's throughput). Instead,
//! after its response each request **parks** its counts in the key-value store under a
//! key of its own (`usage/pending/{slot}/{instance}`, the [`SLOT_MS`] slot it parked them
//! in: no read-modify-write, so concurrent requests never lose each other's counts), and
//! at most every [`FLUSH_GAP_MS`] one request **collects** the parked entries of every
//! slot that ended [`GRACE_MS`] ago or more, sums them into batches and sends them. The
//! items keep the minute they were counted in; the slot only groups the parking.
//!
//! Exactly once, with no lock: a slot's entries are all written during that slot, so
//! once it is over (plus the grace) every collector lists the same entries and builds
//! the same batches, under an idempotency key made of the slot and a digest of those
//! entries' keys: the admin counts them once however many collectors send them. After
//! the admin acknowledges a slot the collector writes its `usage/done/{slot}` marker,
//! then deletes the entries; a collector checks the marker after reading the entries
//! and before sending, so one that listed while another was deleting (a partial set,
//! another digest) sees the marker and sends nothing. Markers are pruned after
//! [`DONE_KEPT_MS`]. This relies on a store that reads its own writes in order (Spin's
//! default, SQLite-backed store does). Counts reach the admin [`SLOT_MS`] +
//! [`GRACE_MS`] to that plus [`FLUSH_GAP_MS`] after they are parked, when a request
//! comes to collect them: on Spin nothing runs between requests.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{CountKey, MAX_ITEMS, Usage, UsageBatch, batch, items_body};
use crate::kv::{Kv, KvError};

/// Every key this module writes starts with this.
pub const PREFIX: &str = "usage/";
const PENDING: &str = "usage/pending/";
const DONE: &str = "usage/done/";
const NEXT: &str = "usage/next-collect";
/// How long one parking slot lasts.
pub const SLOT_MS: i64 = 10_000;
/// How long after a slot ends its entries are collected: longer than a request may
/// still be parking counts in that slot (the host's limit on work after a response).
pub const GRACE_MS: i64 = 15_000;
/// The least time between two collections.
pub const FLUSH_GAP_MS: i64 = 5_000;
/// How long a slot's done marker is kept.
pub const DONE_KEPT_MS: i64 = 24 * 3_600_000;

/// One slot's parked counts, summed into batches for the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// The slot the entries were parked in (its start, epoch ms).
    pub slot: i64,
    pub batches: Vec<UsageBatch>,
    /// The parked entries, deleted by [`settle`] once the admin has every batch.
    keys: Vec<String>,
}

#[derive(Deserialize)]
struct Entry {
    items: Vec<OwnedItem>,
}

#[derive(Deserialize)]
struct OwnedItem {
    environment: String,
    flag: String,
    variant: Option<String>,
    reason: String,
    time: i64,
    count: u64,
}

fn slot_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(SLOT_MS)
}

/// Parks every count `usage` holds under a key of this instance's own. Nothing when
/// counting is off or nothing was counted.
pub async fn park(usage: &Usage, kv: &impl Kv, now_ms: i64) -> Result<(), KvError> {
    if usage.config.is_none() {
        return Ok(());
    }
    let counts = usage.take();
    if counts.is_empty() {
        return Ok(());
    }
    let sequence = {
        let mut inner = usage.lock();
        inner.sequence += 1;
        inner.sequence
    };
    let refs: Vec<&(CountKey, u64)> = counts.iter().collect();
    let body = items_body(&refs);
    let key = format!("{PENDING}{}/{}-{sequence}", slot_of(now_ms), usage.instance);
    kv.put(&key, &body).await
}

/// The parked slots due for sending, at most once per [`FLUSH_GAP_MS`] across
/// instances (a best-effort gate: two collectors at once only repeat work). Also deletes
/// what acknowledged slots left behind and prunes old markers.
pub async fn collect(usage: &Usage, kv: &impl Kv, now_ms: i64) -> Result<Vec<Collected>, KvError> {
    let Some(config) = &usage.config else {
        return Ok(Vec::new());
    };
    let next = kv
        .get(NEXT)
        .await?
        .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<i64>().ok());
    if next.is_some_and(|next| now_ms < next) {
        return Ok(Vec::new());
    }
    kv.put(NEXT, (now_ms + FLUSH_GAP_MS).to_string().as_bytes())
        .await?;
    let mut pending: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for key in kv.keys_with_prefix(PREFIX).await? {
        if let Some(rest) = key.strip_prefix(DONE) {
            let slot = rest.parse::<i64>().unwrap_or(i64::MIN);
            if now_ms - slot > DONE_KEPT_MS {
                kv.delete(&key).await?;
            }
            continue;
        }
        let Some(slot) = key
            .strip_prefix(PENDING)
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(slot, _)| slot.parse::<i64>().ok())
        else {
            continue;
        };
        if slot + SLOT_MS + GRACE_MS <= now_ms {
            pending.entry(slot).or_default().push(key);
        }
    }
    let mut out = Vec::new();
    for (slot, mut keys) in pending {
        keys.sort_unstable();
        if is_done(kv, slot).await? {
            delete_all(kv, &keys).await?;
            continue;
        }
        let mut sums: BTreeMap<(String, String, Option<String>, String, i64), u64> =
            BTreeMap::new();
        for key in &keys {
            // An entry that cannot be read is skipped, not fatal: it is this edge's own
            // writing, and the rest of the slot still counts.
            let Some(bytes) = kv.get(key).await? else {
                continue;
            };
            let Ok(entry) = serde_json::from_slice::<Entry>(&bytes) else {
                continue;
            };
            for item in entry.items {
                let slot = (
                    item.environment,
                    item.flag,
                    item.variant,
                    item.reason,
                    item.time,
                );
                *sums.entry(slot).or_default() += item.count;
            }
        }
        // Another collector may have finished this slot while these were read.
        if is_done(kv, slot).await? {
            continue;
        }
        let counts: Vec<(CountKey, u64)> = sums
            .into_iter()
            .map(|((environment, flag, variant, reason, minute), n)| {
                let key = CountKey {
                    environment,
                    flag,
                    variant,
                    reason,
                    minute,
                };
                (key, n)
            })
            .collect();
        let digest = crate::keys::hex(&Sha256::digest(keys.join("\n").as_bytes()));
        let refs: Vec<&(CountKey, u64)> = counts.iter().collect();
        let batches = refs
            .chunks(MAX_ITEMS)
            .enumerate()
            .map(|(i, chunk)| {
                let id = format!("parked-{slot}-{}-{i}", digest.get(..32).unwrap_or(""));
                batch(config, &id, chunk)
            })
            .collect();
        out.push(Collected {
            slot,
            batches,
            keys,
        });
    }
    Ok(out)
}

/// Records that the admin has every batch of `collected`, then deletes its entries.
pub async fn settle(kv: &impl Kv, collected: &Collected) -> Result<(), KvError> {
    kv.put(&format!("{DONE}{}", collected.slot), b"1").await?;
    delete_all(kv, &collected.keys).await
}

async fn is_done(kv: &impl Kv, slot: i64) -> Result<bool, KvError> {
    Ok(kv.get(&format!("{DONE}{slot}")).await?.is_some())
}

async fn delete_all(kv: &impl Kv, keys: &[String]) -> Result<(), KvError> {
    for key in keys {
        kv.delete(key).await?;
    }
    Ok(())
}

/// Which parked slots exist.
#[cfg(test)]
async fn pending_slots(kv: &impl Kv) -> Result<std::collections::BTreeSet<i64>, KvError> {
    Ok(kv
        .keys_with_prefix(PENDING)
        .await?
        .iter()
        .filter_map(|k| k.strip_prefix(PENDING)?.split_once('/')?.0.parse().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kv::MemoryKv, usage::UsageConfig};

    const T0: i64 = 1_795_608_000_000; // the start of a slot

    fn usage(seed: &str) -> Usage {
        let config = UsageConfig {
            url: "http://admin".into(),
            key: "efi_test".into(),
            interval_ms: 5_000,
        };
        Usage::new(Some(config), seed)
    }

    fn block<T>(f: impl Future<Output = T>) -> T {
        pollster::block_on(f)
    }

    /// Items of a batch as (flag, variant, count).
    fn items(batch: &UsageBatch) -> Vec<(String, String, u64)> {
        let body: serde_json::Value = serde_json::from_slice(&batch.body).unwrap();
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["flag"].as_str().unwrap().to_string(),
                    i["variant"].as_str().unwrap_or("").to_string(),
                    i["count"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    fn idempotency(batch: &UsageBatch) -> &str {
        &batch
            .headers
            .iter()
            .find(|(n, _)| n == "idempotency-key")
            .unwrap()
            .1
    }

    /// `n` requests, each a fresh instance, evaluating `flag` once at `at`.
    fn requests(kv: &MemoryKv, n: usize, flag: &str, at: i64) {
        for i in 0..n {
            let u = usage(&format!("instance-{flag}-{at}-{i}"));
            u.record("production", flag, Some("on"), "STATIC", at, 1);
            block(park(&u, kv, at)).unwrap();
        }
    }

    #[test]
    fn a_slot_is_sent_once_it_is_over_with_every_request_summed() {
        let kv = MemoryKv::new();
        requests(&kv, 25, "a", T0 + 1_000);
        requests(&kv, 5, "b", T0 + SLOT_MS - 1);
        let collector = usage("collector");
        // Not yet: the slot is not over plus the grace.
        assert!(
            block(collect(&collector, &kv, T0 + SLOT_MS + GRACE_MS - 1))
                .unwrap()
                .is_empty()
        );
        let due = block(collect(
            &collector,
            &kv,
            T0 + SLOT_MS + GRACE_MS + FLUSH_GAP_MS,
        ))
        .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].slot, T0);
        assert_eq!(
            items(&due[0].batches[0]),
            [("a".into(), "on".into(), 25), ("b".into(), "on".into(), 5)]
        );
        block(settle(&kv, &due[0])).unwrap();
        assert!(block(pending_slots(&kv)).unwrap().is_empty());
        // A later collection sends nothing again.
        let later = T0 + SLOT_MS + GRACE_MS + 3 * FLUSH_GAP_MS;
        assert!(block(collect(&collector, &kv, later)).unwrap().is_empty());
    }

    #[test]
    fn collectors_at_once_send_the_same_batch_and_the_gate_spaces_collections() {
        let kv = MemoryKv::new();
        requests(&kv, 10, "a", T0 + 2_000);
        let at = T0 + SLOT_MS + GRACE_MS;
        let first = block(collect(&usage("c1"), &kv, at)).unwrap();
        // Within the gap the gate turns a second collector away…
        assert!(
            block(collect(&usage("c2"), &kv, at + 1))
                .unwrap()
                .is_empty()
        );
        // …and when it lets one through before the first settled, it builds the same
        // batch under the same idempotency key, so the admin counts it once.
        let second = block(collect(&usage("c3"), &kv, at + FLUSH_GAP_MS)).unwrap();
        assert_eq!(first, second);
        assert_eq!(
            idempotency(&first[0].batches[0]),
            idempotency(&second[0].batches[0])
        );
    }

    #[test]
    fn a_collector_that_read_a_partly_deleted_slot_sends_nothing() {
        let kv = MemoryKv::new();
        requests(&kv, 4, "a", T0 + 2_000);
        let at = T0 + SLOT_MS + GRACE_MS;
        let first = block(collect(&usage("c1"), &kv, at)).unwrap();
        // The first collector has its acknowledgement: it marks the slot done, and
        // has deleted one entry when a second collector lists what is left.
        block(kv.put(&format!("{DONE}{T0}"), b"1")).unwrap();
        block(kv.delete(&first[0].keys[0])).unwrap();
        let second = block(collect(&usage("c2"), &kv, at + FLUSH_GAP_MS)).unwrap();
        assert!(second.is_empty(), "a partial set is never sent");
        assert!(
            block(pending_slots(&kv)).unwrap().is_empty(),
            "and it tidies up"
        );
    }

    #[test]
    fn slots_still_open_wait_and_old_markers_go() {
        let kv = MemoryKv::new();
        requests(&kv, 3, "a", T0 + 2_000);
        requests(&kv, 2, "a", T0 + SLOT_MS + 2_000);
        block(kv.put(&format!("{DONE}{}", T0 - DONE_KEPT_MS - SLOT_MS), b"1")).unwrap();
        let due = block(collect(&usage("c"), &kv, T0 + SLOT_MS + GRACE_MS)).unwrap();
        assert_eq!(due.iter().map(|c| c.slot).collect::<Vec<_>>(), [T0]);
        assert_eq!(
            block(pending_slots(&kv))
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            [T0, T0 + SLOT_MS]
        );
        assert!(
            !kv.keys().iter().any(|k| k.starts_with(DONE)),
            "the old marker is pruned"
        );
    }

    #[test]
    fn nothing_is_parked_when_counting_is_off_or_nothing_was_counted() {
        let kv = MemoryKv::new();
        block(park(&Usage::new(None, "x"), &kv, T0)).unwrap();
        block(park(&usage("y"), &kv, T0)).unwrap();
        assert!(kv.keys().is_empty());
    }
}
