//! The per-isolate cache: each environment's compiled snapshot, held in memory and
//! reloaded only when the version stored in KV changes, reading KV at most once per
//! refresh interval. A stored value that is missing, corrupt or unverifiable never
//! replaces a good snapshot: the last good one keeps serving and the problem is
//! reported in `/healthz`.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use edgeflag_engine::Snapshot;
use serde::Serialize;

use crate::{
    config::Config,
    error::ApiError,
    keys::{KeyIndex, KeyKind, KeyRecord},
    kv::Kv,
    layout,
};

/// One environment as the edge serves it.
#[derive(Debug)]
pub struct EnvState {
    pub environment: String,
    pub version: u64,
    pub snapshot: Snapshot,
    pub keys: KeyIndex,
    /// The signed client snapshot, served as is to browsers. Empty in a state opened
    /// from a sealed record, which answers one OFREP evaluation and is never cached.
    pub client_jws: String,
    /// The signed server snapshot, served as is to server SDKs (`GET /v1/snapshot`).
    /// Empty in a state opened from a sealed record.
    pub server_jws: String,
    pub loaded_at_ms: i64,
}

#[derive(Debug, Default)]
struct Slot {
    current: Option<Arc<EnvState>>,
    checked_at_ms: Option<i64>,
    last_error: Option<String>,
}

/// What `/healthz` reports per environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvHealth {
    pub version: Option<u64>,
    pub loaded_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// The isolate's cache. Cheap to share; locks are never held across an `await`.
///
/// Requests never wait for one another here: workerd gives each request its own I/O
/// context and cancels a request whose promise waits on nothing but another request
/// (it looks hung), so an async lock shared between requests cannot be used. Two
/// requests that find the snapshot due for a refresh at once both read KV.
#[derive(Debug, Default)]
pub struct Cache {
    slots: Mutex<HashMap<String, Slot>>,
    key_records: Mutex<HashMap<String, (Option<KeyRecord>, i64)>>,
}

/// How long after a read of the version pointer a newer version hint (a refetch caused
/// by an event) may force another: clients cannot make every request read KV.
const HINT_GAP_MS: i64 = 50;

impl Cache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The environment's state, refreshed from KV when the interval has passed, or
    /// sooner when the caller knows of a version newer than the one held (`at_least`,
    /// from the event that made a client refetch).
    pub async fn environment(
        &self,
        env: &str,
        kv: &impl Kv,
        config: &Config,
        now_ms: i64,
        at_least: Option<u64>,
    ) -> Result<Arc<EnvState>, ApiError> {
        if let Some(state) = self.usable(env, config, now_ms, at_least) {
            return Ok(state);
        }
        let current = self.peek(env, config, now_ms).0;
        let stored = read_version(kv, env).await;
        let outcome = match (&stored, &current) {
            (Ok(Some(version)), Some(state)) if *version == state.version => Ok(state.clone()),
            (Ok(Some(_)), _) => load(env, kv, config, now_ms).await.map(Arc::new),
            (Ok(None), _) => Err(format!("no snapshot has been published for `{env}`")),
            (Err(e), _) => Err(e.clone()),
        };
        self.settle(env, now_ms, outcome)
    }

    /// Whether the isolate holds a compiled snapshot of `env`, however old.
    pub fn holds(&self, env: &str) -> bool {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.get(env).is_some_and(|slot| slot.current.is_some())
    }

    /// Installs a state that a publish has just verified and stored.
    pub fn install(&self, state: EnvState, now_ms: i64) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(state.environment.clone()).or_default();
        slot.current = Some(Arc::new(state));
        slot.checked_at_ms = Some(now_ms);
        slot.last_error = None;
        self.key_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub fn health(&self) -> BTreeMap<String, EnvHealth> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .iter()
            .map(|(env, slot)| {
                let health = EnvHealth {
                    version: slot.current.as_ref().map(|s| s.version),
                    loaded_at_ms: slot.current.as_ref().map(|s| s.loaded_at_ms),
                    last_error: slot.last_error.clone(),
                };
                (env.clone(), health)
            })
            .collect()
    }

    /// Which environment and kind an SDK key hash belongs to, cached like snapshots.
    pub async fn key_record(
        &self,
        hash: &str,
        kv: &impl Kv,
        config: &Config,
        now_ms: i64,
    ) -> Result<Option<KeyRecord>, ApiError> {
        if let Some((record, at)) = self.cached_record(hash)
            && now_ms - at < config.refresh_interval_ms
        {
            return Ok(record);
        }
        let bytes = kv
            .get(&layout::sdk_key(hash))
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        let record = bytes.and_then(|b| serde_json::from_slice::<KeyRecord>(&b).ok());
        self.key_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(hash.to_string(), (record.clone(), now_ms));
        Ok(record)
    }

    fn cached_record(&self, hash: &str) -> Option<(Option<KeyRecord>, i64)> {
        let records = self
            .key_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        records.get(hash).cloned()
    }

    /// The held state when it may serve without reading KV: checked within the refresh
    /// interval and, if a newer version was hinted, either that new or checked just now.
    fn usable(
        &self,
        env: &str,
        config: &Config,
        now_ms: i64,
        at_least: Option<u64>,
    ) -> Option<Arc<EnvState>> {
        let (current, fresh, checked_at) = self.peek(env, config, now_ms);
        let state = current.filter(|_| fresh)?;
        let satisfied = at_least.is_none_or(|wanted| state.version >= wanted);
        let just_checked = checked_at.is_some_and(|at| now_ms - at < HINT_GAP_MS);
        (satisfied || just_checked).then_some(state)
    }

    fn peek(
        &self,
        env: &str,
        config: &Config,
        now_ms: i64,
    ) -> (Option<Arc<EnvState>>, bool, Option<i64>) {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match slots.get(env) {
            Some(slot) => {
                let fresh = slot
                    .checked_at_ms
                    .is_some_and(|at| now_ms - at < config.refresh_interval_ms);
                (slot.current.clone(), fresh, slot.checked_at_ms)
            }
            None => (None, false, None),
        }
    }

    /// Records the outcome of a refresh: a new state replaces the old; an error is
    /// reported and the old state, if any, keeps serving.
    fn settle(
        &self,
        env: &str,
        now_ms: i64,
        outcome: Result<Arc<EnvState>, String>,
    ) -> Result<Arc<EnvState>, ApiError> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(env.to_string()).or_default();
        slot.checked_at_ms = Some(now_ms);
        match outcome {
            Ok(state) => {
                slot.last_error = None;
                slot.current = Some(state.clone());
                Ok(state)
            }
            Err(error) => {
                slot.last_error = Some(error.clone());
                slot.current
                    .clone()
                    .ok_or_else(|| ApiError::unavailable(error))
            }
        }
    }
}

/// The version pointer of `env` as stored: what a publish last committed.
pub async fn read_version(kv: &impl Kv, env: &str) -> Result<Option<u64>, String> {
    let Some(bytes) = kv
        .get(&layout::version(env))
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| format!("stored version of `{env}` is not a number: `{text}`"))
}

/// Reads, verifies and compiles an environment's stored documents.
///
/// With a seal secret configured, a version verified here that has no current seal is
/// sealed (`sealed.rs`), so that later fresh instances can answer from its records.
async fn load(env: &str, kv: &impl Kv, config: &Config, now_ms: i64) -> Result<EnvState, String> {
    let stored_trust = crate::trusted::StoredTrust::read(kv).await?;
    let trusted = stored_trust.trusted(&config.trusted_keys)?;
    let read = |key: String| async move {
        let bytes = kv.get(&key).await.map_err(|e| e.to_string())?;
        let bytes = bytes.ok_or_else(|| format!("`{key}` is missing"))?;
        String::from_utf8(bytes).map_err(|_| format!("`{key}` is not text"))
    };
    let server = read(layout::server_snapshot(env)).await?;
    let keys = read(layout::key_index(env)).await?;
    let client = read(layout::client_snapshot(env)).await?;
    let docs = crate::publish::verify_stored(env, &server, &client, &keys, &trusted, kv)
        .await
        .map_err(|e| format!("stored snapshot of `{env}` refused: {}", e.message))?;
    if let Some(key) = &config.seal {
        let trust = stored_trust.digest();
        if !crate::sealed::is_current(env, docs.version, &trust, kv, key).await {
            let verified = crate::sealed::Verified {
                environment: env,
                version: docs.version,
                payload: &docs.server_payload,
                snapshot: &docs.snapshot,
                keys: &docs.keys,
                trust: &trust,
            };
            // A store that refuses the write leaves the old seal, which no longer
            // matches: requests keep taking this full path, which still answers.
            let _ = crate::sealed::write(&verified, kv, key).await;
        }
    }
    Ok(EnvState {
        environment: env.to_string(),
        version: docs.version,
        snapshot: docs.snapshot,
        keys: docs.keys,
        client_jws: client,
        server_jws: server,
        loaded_at_ms: now_ms,
    })
}

/// Checks that a request's key hash is a current key of the environment's signed
/// index, of the required kind.
pub fn authorize(
    state: &EnvState,
    hash: &str,
    required: KeyKind,
    now_ms: i64,
) -> Result<(), ApiError> {
    let entry = state
        .keys
        .find(hash)
        .filter(|entry| entry.is_valid_at(now_ms))
        .ok_or_else(|| ApiError::unauthorized("the SDK key is not valid for this environment"))?;
    if state.keys.retired {
        return Err(ApiError::new(
            410,
            "ENVIRONMENT_ARCHIVED",
            format!(
                "environment `{}` is archived and serves nothing; restore it in the admin to serve it again",
                state.environment
            ),
        ));
    }
    if entry.kind != required {
        return Err(ApiError::forbidden(match required {
            KeyKind::Server => "a client key cannot use server routes; use a server key",
            KeyKind::Client => "a server key cannot fetch the client snapshot; use a client key",
        }));
    }
    Ok(())
}
