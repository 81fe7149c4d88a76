//! Publishing: `PUT /publish/v1/environments/{env}` with the three signed documents
//! of an environment (see `docs/publish-protocol.md`). Accepted only if every
//! signature verifies against a trusted key, the documents agree with each other and
//! with the path, the server snapshot loads, and the version is newer than the one
//! stored. The version pointer is written last: it is the commit point.

use base64ct::{Base64UrlUnpadded, Encoding};
use edgeflag_engine::{
    Snapshot,
    envelope::{self, KeySet},
};
use serde::{Deserialize, Serialize};

use crate::{
    config::Config,
    error::ApiError,
    keys::{KeyIndex, KeyRecord},
    kv::Kv,
    layout,
    state::{self, Cache, EnvState},
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
}

pub async fn publish(
    env: &str,
    body: &[u8],
    kv: &impl Kv,
    config: &Config,
    cache: &Cache,
    now_ms: i64,
) -> Result<PublishAccepted, ApiError> {
    crate::eval::require_object(body, "publish body")?;
    let request: PublishRequest =
        serde_json::from_slice(body).map_err(|e| ApiError::parse(format!("publish body: {e}")))?;
    let trusted = state::trusted_keys(kv, config)
        .await
        .map_err(ApiError::unavailable)?;
    let docs = verify_documents(
        env,
        &request.server,
        &request.client,
        &request.keys,
        &trusted,
    )?;
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
    store(env, &request, &docs.keys, kv).await?;
    let accepted = PublishAccepted {
        environment: env.to_string(),
        version: docs.version,
        flags: docs.snapshot.len(),
        warnings: docs.warnings,
    };
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
    Ok(accepted)
}

/// Verifies the three documents of `env` and checks they agree: same environment,
/// same version, the right audiences, a server snapshot that loads.
pub fn verify_documents(
    env: &str,
    server: &str,
    client: &str,
    keys: &str,
    trusted: &KeySet,
) -> Result<Documents, ApiError> {
    if trusted.is_empty() {
        return Err(crate::trust::no_trusted_keys());
    }
    let server = verified(server, trusted, "server", env)?;
    let client = verified(client, trusted, "client", env)?;
    let keys = verified(keys, trusted, "keys", env)?;
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
    Snapshot::load(&client.payload)
        .map_err(|e| ApiError::new(422, "SNAPSHOT_REFUSED", format!("client snapshot: {e}")))?;
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
    })
}

fn verified(
    token: &str,
    trusted: &KeySet,
    aud: &str,
    env: &str,
) -> Result<envelope::Verified, ApiError> {
    let doc = crate::trust::verify_signed(token, trusted, aud)?;
    if doc.header.env.as_deref() != Some(env) {
        return Err(ApiError::parse(format!(
            "the {aud} document is for environment {:?}, the path names `{env}`",
            doc.header.env
        )));
    }
    Ok(doc)
}

/// Writes the documents and the key records; the version pointer last.
async fn store(
    env: &str,
    request: &PublishRequest,
    keys: &KeyIndex,
    kv: &impl Kv,
) -> Result<(), ApiError> {
    let fail = |e: crate::kv::KvError| ApiError::unavailable(e.to_string());
    if let Some(old) = kv.get(&layout::key_index(env)).await.map_err(fail)? {
        for gone in removed_hashes(&old, keys) {
            kv.delete(&layout::sdk_key(&gone)).await.map_err(fail)?;
        }
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

/// Hashes in the previously stored key index that the new one no longer holds. The
/// stored index was verified when it was published; reading its payload suffices.
fn removed_hashes(old_jws: &[u8], new: &KeyIndex) -> Vec<String> {
    let payload = std::str::from_utf8(old_jws)
        .ok()
        .and_then(|jws| jws.split('.').nth(1))
        .and_then(|b64| Base64UrlUnpadded::decode_vec(b64).ok());
    let Some(old) = payload.and_then(|p| serde_json::from_slice::<KeyIndex>(&p).ok()) else {
        return Vec::new();
    };
    old.keys
        .into_iter()
        .filter(|k| new.find(&k.hash).is_none())
        .map(|k| k.hash)
        .collect()
}
