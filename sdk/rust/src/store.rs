//! The snapshot in use and the keys that may replace it. Every evaluation reads the
//! current snapshot through one atomic load (`arc-swap`), with no lock; replacing it
//! takes a lock, so offers are decided one at a time. Whether a signed snapshot is
//! accepted is the engine's shared rule (`edgeflag_engine::accept`), as in the JS SDK.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use arc_swap::{ArcSwap, Guard};
use edgeflag_engine::{
    Snapshot, Warning,
    accept::{self, Accepted, Policy},
    envelope::{KeySet, VerifyingKey},
};
use serde::Deserialize;
use serde_json::value::RawValue;
use xxhash_rust::xxh3::xxh3_64;

use crate::{Error, events::Change};

/// A verified snapshot with what was learnt while accepting it.
#[derive(Debug)]
pub(crate) struct Current {
    pub snapshot: Snapshot,
    pub warnings: Vec<Warning>,
    /// Hashes of each flag's and each segment's definition, to tell which changed.
    definitions: Definitions,
}

impl Current {
    fn from_accepted(accepted: Accepted) -> Self {
        Self {
            definitions: Definitions::read(&accepted.payload),
            snapshot: accepted.loaded.snapshot,
            warnings: accepted.loaded.warnings,
        }
    }
}

/// The first snapshot a client accepts: nothing is in use yet, so any version goes.
pub(crate) fn accept_first(token: &str, keys: &KeySet, policy: &Policy) -> Result<Current, Error> {
    match accept::accept(token, keys, policy, None)? {
        Some(accepted) => Ok(Current::from_accepted(accepted)),
        // `accept` answers `None` only when a version is held; none is.
        None => Err(Error::Config("no snapshot was accepted".into())),
    }
}

#[derive(Debug)]
pub(crate) struct Store {
    current: ArcSwap<Current>,
    keys: Mutex<KeySet>,
    policy: Policy,
    /// Serializes offers, so two refreshes cannot both replace the same version.
    offering: Mutex<()>,
}

impl Store {
    pub fn new(first: Current, keys: KeySet, policy: Policy) -> Self {
        Self {
            current: ArcSwap::from_pointee(first),
            keys: Mutex::new(keys),
            policy,
            offering: Mutex::new(()),
        }
    }

    /// The snapshot in use, for as long as the guard lives.
    #[inline]
    pub fn load(&self) -> Guard<Arc<Current>> {
        self.current.load()
    }

    /// Trusts more keys (a JWKS fetched after a rotation).
    pub fn trust(&self, found: Vec<VerifyingKey>) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        for key in found {
            keys.push(key);
        }
    }

    /// Verifies `token` and, if it is newer than the snapshot in use, swaps it in and
    /// says what changed. `Ok(None)`: it holds the version in use.
    pub fn offer(&self, token: &str) -> Result<Option<Change>, Error> {
        let _one_at_a_time = self.offering.lock().unwrap_or_else(PoisonError::into_inner);
        let before = self.current.load_full();
        let held = before.snapshot.version();
        let accepted = {
            let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            accept::accept(token, &keys, &self.policy, Some(held))?
        };
        let Some(accepted) = accepted else {
            return Ok(None);
        };
        let next = Current::from_accepted(accepted);
        let change = Change {
            version: next.snapshot.version(),
            previous_version: held,
            flags: before.definitions.changed_flags(&next.definitions),
            segments: before.definitions.changed_segments(&next.definitions),
        };
        self.current.store(Arc::new(next));
        Ok(Some(change))
    }
}

/// A hash of every flag's and segment's JSON definition, by key.
#[derive(Debug, Default)]
struct Definitions {
    flags: HashMap<String, u64>,
    segments: HashMap<String, u64>,
}

#[derive(Deserialize)]
struct Items<'a> {
    #[serde(borrow, default)]
    flags: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    segments: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Keyed {
    key: String,
}

impl Definitions {
    /// Reads the verified payload once more, item by item. An item without a readable
    /// key is left out (the engine reported it as a load warning).
    fn read(payload: &[u8]) -> Self {
        let Ok(items) = serde_json::from_slice::<Items<'_>>(payload) else {
            return Self::default();
        };
        let hashes = |raw: &[&RawValue]| {
            raw.iter()
                .filter_map(|item| {
                    let keyed: Keyed = serde_json::from_str(item.get()).ok()?;
                    Some((keyed.key, xxh3_64(item.get().as_bytes())))
                })
                .collect()
        };
        Self {
            flags: hashes(&items.flags),
            segments: hashes(&items.segments),
        }
    }

    fn changed_flags(&self, next: &Self) -> Vec<String> {
        changed(&self.flags, &next.flags)
    }

    fn changed_segments(&self, next: &Self) -> Vec<String> {
        changed(&self.segments, &next.segments)
    }
}

/// Keys added, removed, or whose definition differs, sorted.
fn changed(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_added_removed_and_edited_items() {
        let before = Definitions::read(
            br#"{"flags":[{"key":"a","v":1},{"key":"b","v":1}],"segments":[{"key":"s","v":1}]}"#,
        );
        let after = Definitions::read(
            br#"{"flags":[{"key":"a","v":1},{"key":"b","v":2},{"key":"c"}],"segments":[]}"#,
        );
        assert_eq!(before.changed_flags(&after), ["b", "c"]);
        assert_eq!(before.changed_segments(&after), ["s"]);
        assert!(after.changed_flags(&after).is_empty());
    }
}
