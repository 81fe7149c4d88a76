//! Publishing: `PUT /publish/v1/environments/{env}` with the three signed documents
//! of an environment (see `docs/publish-protocol.md`). Accepted only if every
//! signature verifies against a trusted key of one issuer, that issuer may publish the
//! environment (`trusted::check_binding`), the documents agree with each other and
//! with the path, the server snapshot loads, the version is newer than the one stored,
//! and no SDK key of the index belongs to another organization's environment. The
//! version pointer is written last: it is the commit point.

use base64ct::{Base64UrlUnpadded, Encoding};
use edgeflag_engine::{Snapshot, envelope};
use serde::{Deserialize, Serialize};

use crate::{
    config::Config,
    error::ApiError,
    keys::{KeyIndex, KeyRecord},
    kv::Kv,
    layout,
    state::{Cache, EnvState},
    trusted::{self, Issuer, TrustedKeys},
};

/// The body of a publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// JWS of the full snapshot, `aud: server`.
    pub server: String,
    /// JWS of the client-visible snapshot, `aud: client`.
    pub client: String,
    /// JWS of the environment's SDK-key index, `aud: keys`.
    pub keys: String,
}

/// The reply to an accepted publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishAccepted {
    pub environment: String,
    pub version: u64,
    pub flags: usize,
    pub warnings: Vec<String>,
}

/// The verified, parsed documents of one environment version.
#[derive(Debug)]
pub struct Documents {
    pub version: u64,
    pub snapshot: Snapshot,
    pub warnings: Vec<String>,
    pub keys: KeyIndex,
    /// Whom the signing key signs for.
    pub issuer: Issuer,
    /// The server snapshot's payload: what its signature covers (sealed records are
    /// cut from it).
    pub server_payload: Vec<u8>,
}

pub async fn publish(
    env: &str,
    body: &[u8],
    kv: &impl Kv,
    config: &Config,
    cache: &Cache,
    now_ms: i64,
) -> Result<(PublishAccepted, String), ApiError> {
    crate::eval::require_object(body, "publish body")?;
    let request: PublishRequest =
        serde_json::from_slice(body).map_err(|e| ApiError::parse(format!("publish body: {e}")))?;
    let stored_trust = trusted::StoredTrust::read(kv)
        .await
        .map_err(ApiError::unavailable)?;
    let trusted = stored_trust
        .trusted(&config.trusted_keys)
        .map_err(ApiError::unavailable)?;
    let docs = verify_documents(
        env,
        &request.server,
        &request.client,
        &request.keys,
        &trusted,
    )?;
    let bound = trusted::binding(kv, env).await?;
    trusted::check_binding(env, bound.as_deref(), &docs.issuer)?;
    let stored = kv
        .get(&layout::version(env))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .and_then(|b| String::from_utf8_lossy(&b).trim().parse::<u64>().ok());
    if let Some(stored) = stored.filter(|stored| docs.version <= *stored) {
        return Err(ApiError::new(
            409,
            "STALE_VERSION",
            format!(
                "`{env}` holds version {stored}; a publish must be newer, this one is {}",
                docs.version
            ),
        ));
    }
    let old = stored_index(env, kv).await?;
    check_key_claims(env, &docs, old.as_ref(), kv).await?;
    let bind = match (&bound, &docs.issuer) {
        (None, Issuer::Organization(org)) => Some(org.as_str()),
        _ => None,
    };
    store(env, &request, &docs.keys, old.as_ref(), bind, kv).await?;
    if let Some(key) = &config.seal {
        let trust = stored_trust.digest();
        let verified = crate::sealed::Verified {
            environment: env,
            version: docs.version,
            payload: &docs.server_payload,
            snapshot: &docs.snapshot,
            keys: &docs.keys,
            trust: &trust,
        };
        // The publish is committed; a seal that cannot be written leaves requests on
        // the full path, which writes it again.
        let _ = crate::sealed::write(&verified, kv, key).await;
    }
    let accepted = PublishAccepted {
        environment: env.to_string(),
        version: docs.version,
        flags: docs.snapshot.len(),
        warnings: docs.warnings,
    };
    let client_jws = request.client.clone();
    cache.install(
        EnvState {
            environment: env.to_string(),
            version: docs.version,
            snapshot: docs.snapshot,
            keys: docs.keys,
            client_jws: request.client,
            server_jws: request.server,
            loaded_at_ms: now_ms,
        },
        now_ms,
    );
    Ok((accepted, client_jws))
}

/// [`verify_documents`] for documents read back from KV, plus the environment's binding:
/// a stored value signed for another organization is refused like a bad signature.
pub async fn verify_stored(
    env: &str,
    server: &str,
    client: &str,
    keys: &str,
    trusted: &TrustedKeys,
    kv: &impl Kv,
) -> Result<Documents, ApiError> {
    let docs = check_documents(env, server, client, keys, trusted, Stage::Reload)?;
    let bound = trusted::binding(kv, env).await?;
    trusted::check_binding(env, bound.as_deref(), &docs.issuer)?;
    Ok(docs)
}

/// A publish may not claim an SDK key that the edge records for an environment of
/// another organization: that would send the other tenant's callers to this one. Only
/// hashes new to this environment's index are looked up.
async fn check_key_claims(
    env: &str,
    docs: &Documents,
    old: Option<&KeyIndex>,
    kv: &impl Kv,
) -> Result<(), ApiError> {
    let fail = |e: crate::kv::KvError| ApiError::unavailable(e.to_string());
    for entry in &docs.keys.keys {
        if old.is_some_and(|old| old.find(&entry.hash).is_some()) {
            continue;
        }
        let Some(bytes) = kv.get(&layout::sdk_key(&entry.hash)).await.map_err(fail)? else {
            continue;
        };
        let Ok(record) = serde_json::from_slice::<KeyRecord>(&bytes) else {
            continue;
        };
        if record.environment == env {
            continue;
        }
        let owner = trusted::binding(kv, &record.environment).await?;
        if trusted::check_binding(&record.environment, owner.as_deref(), &docs.issuer).is_err() {
            return Err(ApiError::new(
                409,
                "KEY_CONFLICT",
                format!(
                    "an SDK key in the key index of `{env}` belongs to environment `{}` of another organization",
                    record.environment
                ),
            ));
        }
    }
    Ok(())
}

/// When documents are checked: as a publish arrives, or as the edge reads them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Publish,
    /// Every check but one: the client snapshot, which the edge only serves as the
    /// signed bytes it stores, is not loaded again. Its signature, environment,
    /// version and issuer are checked as at publish, and loading it at publish
    /// already showed that its content loads; loading it on every reload (each Spin
    /// request) cost as much as loading the server snapshot (BENCHMARKS.md).
    Reload,
}

/// Verifies the three documents of `env` as a publish does and checks they agree: same
/// environment, same version, the right audiences, server and client snapshots that load.
pub fn verify_documents(
    env: &str,
    server: &str,
    client: &str,
    keys: &str,
    trusted: &TrustedKeys,
) -> Result<Documents, ApiError> {
    check_documents(env, server, client, keys, trusted, Stage::Publish)
}

fn check_documents(
    env: &str,
    server: &str,
    client: &str,
    keys: &str,
    trusted: &TrustedKeys,
    stage: Stage,
) -> Result<Documents, ApiError> {
    if trusted.is_empty() {
        return Err(crate::trust::no_trusted_keys());
    }
    let server = verified(server, trusted, "server", env)?;
    let client = verified(client, trusted, "client", env)?;
    let keys = verified(keys, trusted, "keys", env)?;
    let issuer = trusted
        .issuer(&server.header.kid)
        .ok_or_else(|| ApiError::unauthorized("the server snapshot's key is not trusted"))?;
    for (what, doc) in [("client", &client), ("keys", &keys)] {
        if trusted.issuer(&doc.header.kid).as_ref() != Some(&issuer) {
            return Err(ApiError::forbidden(format!(
                "the {what} document is signed by key `{}`, which does not sign for {} like the server snapshot's",
                doc.header.kid,
                issuer.describe()
            )));
        }
    }
    let version = server.header.ver.unwrap_or_default();
    for (what, doc) in [("client", &client), ("keys", &keys)] {
        if doc.header.ver != Some(version) {
            return Err(ApiError::parse(format!(
                "the {what} document is version {:?}, the server snapshot {version}",
                doc.header.ver
            )));
        }
    }
    let loaded = Snapshot::load(&server.payload)
        .map_err(|e| ApiError::new(422, "SNAPSHOT_REFUSED", format!("server snapshot: {e}")))?;
    if stage == Stage::Publish {
        Snapshot::load(&client.payload)
            .map_err(|e| ApiError::new(422, "SNAPSHOT_REFUSED", format!("client snapshot: {e}")))?;
    }
    let snapshot = loaded.snapshot;
    if snapshot.environment() != env || snapshot.version() != version {
        return Err(ApiError::parse(format!(
            "the server snapshot is `{}` version {}, its header says `{env}` version {version}",
            snapshot.environment(),
            snapshot.version()
        )));
    }
    let keys: KeyIndex = serde_json::from_slice(&keys.payload)
        .map_err(|e| ApiError::parse(format!("key index: {e}")))?;
    if keys.environment != env || keys.version != version {
        return Err(ApiError::parse(
            "the key index names another environment or version",
        ));
    }
    let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
    Ok(Documents {
        version,
        snapshot,
        warnings,
        keys,
        issuer,
        server_payload: server.payload,
    })
}

fn verified(
    token: &str,
    trusted: &TrustedKeys,
    aud: &str,
    env: &str,
) -> Result<envelope::Verified, ApiError> {
    let doc = crate::trust::verify_signed(token, trusted.keys(), aud)?;
    if doc.header.env.as_deref() != Some(env) {
        return Err(ApiError::parse(format!(
            "the {aud} document is for environment {:?}, the path names `{env}`",
            doc.header.env
        )));
    }
    Ok(doc)
}

/// The key index the edge holds for `env`, if any. It was verified when it was
/// published; reading its payload suffices.
async fn stored_index(env: &str, kv: &impl Kv) -> Result<Option<KeyIndex>, ApiError> {
    let bytes = kv
        .get(&layout::key_index(env))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(bytes.and_then(|jws| {
        let payload = std::str::from_utf8(&jws)
            .ok()?
            .split('.')
            .nth(1)
            .and_then(|b64| Base64UrlUnpadded::decode_vec(b64).ok())?;
        serde_json::from_slice(&payload).ok()
    }))
}

/// Writes the documents, the key records and a new binding; the version pointer last.
async fn store(
    env: &str,
    request: &PublishRequest,
    keys: &KeyIndex,
    old: Option<&KeyIndex>,
    bind: Option<&str>,
    kv: &impl Kv,
) -> Result<(), ApiError> {
    let fail = |e: crate::kv::KvError| ApiError::unavailable(e.to_string());
    for gone in old.into_iter().flat_map(|old| removed_hashes(old, keys)) {
        kv.delete(&layout::sdk_key(&gone)).await.map_err(fail)?;
    }
    if let Some(org) = bind {
        kv.put(&layout::env_org(env), org.as_bytes())
            .await
            .map_err(fail)?;
    }
    for entry in &keys.keys {
        let record = KeyRecord {
            environment: env.to_string(),
            kind: entry.kind,
        };
        let bytes =
            serde_json::to_vec(&record).map_err(|e| ApiError::unavailable(e.to_string()))?;
        kv.put(&layout::sdk_key(&entry.hash), &bytes)
            .await
            .map_err(fail)?;
    }
    kv.put(&layout::server_snapshot(env), request.server.as_bytes())
        .await
        .map_err(fail)?;
    kv.put(&layout::client_snapshot(env), request.client.as_bytes())
        .await
        .map_err(fail)?;
    kv.put(&layout::key_index(env), request.keys.as_bytes())
        .await
        .map_err(fail)?;
    kv.put(&layout::version(env), keys.version.to_string().as_bytes())
        .await
        .map_err(fail)
}

/// Hashes in the previously stored key index that the new one no longer holds.
fn removed_hashes(old: &KeyIndex, new: &KeyIndex) -> Vec<String> {
    old.keys
        .iter()
        .filter(|k| new.find(&k.hash).is_none())
        .map(|k| k.hash.clone())
        .collect()
}
