//! The snapshot builder: an environment's server snapshot (schemaVersion 1), its
//! client snapshot (schemaVersion 2, audience `client`: client-visible flags and what
//! they need, people hashed; see `client_subset`) and its SDK-key index, built from
//! the database and signed with the active signing key.

use edgeflag_edge::{
    keys::{KeyEntry, KeyIndex, KeyKind},
    publish::PublishRequest,
};
use edgeflag_engine::envelope::SigningKey;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use crate::{
    client_subset::{client_form, client_subset},
    db::{now_ms, rfc3339},
    error::Error,
    flagstore,
    model::{self, EnvConfig},
};

/// The unsigned documents of one environment version.
#[derive(Debug, Clone)]
pub struct Documents {
    pub edge_name: String,
    pub version: u64,
    pub server: Value,
    pub client: Value,
    pub keys: KeyIndex,
}

/// Builds the documents of environment `env_id` as version `version`.
pub async fn build(
    conn: &mut AnyConnection,
    env_id: &str,
    version: u64,
) -> Result<Documents, Error> {
    let env = sqlx::query(
        "SELECT e.project_id, e.edge_name, e.archived_at, p.archived_at AS project_archived_at \
         FROM environments e JOIN projects p ON p.id = e.project_id WHERE e.id = $1",
    )
    .bind(env_id)
    .fetch_one(&mut *conn)
    .await?;
    let project_id: String = env.try_get("project_id")?;
    let edge_name: String = env.try_get("edge_name")?;
    // An archived environment (or one of an archived project) is published retired:
    // no flags, and the edge answers its SDK keys 410 (`docs/edge-api.md`).
    let retired = env.try_get::<Option<i64>, _>("archived_at")?.is_some()
        || env
            .try_get::<Option<i64>, _>("project_archived_at")?
            .is_some();
    let rows = sqlx::query(
        "SELECT f.*, fe.enabled AS env_enabled, fe.config FROM flags f JOIN flag_environments fe ON fe.flag_id = f.id \
         WHERE f.project_id = $1 AND fe.environment_id = $2 AND f.archived_at IS NULL ORDER BY f.key",
    )
    .bind(&project_id)
    .bind(env_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut flags = Vec::with_capacity(rows.len());
    for row in &rows {
        let def = flagstore::load_def(row)?;
        let text: String = row.try_get("config")?;
        let mut config: EnvConfig = serde_json::from_str(&text).map_err(Error::internal)?;
        config.enabled = row.try_get::<i64, _>("env_enabled")? != 0;
        flags.push(model::wire_flag(&def, row.try_get("version")?, &config));
    }
    let mut segments = flagstore::project_segments(conn, &project_id).await?;
    if retired {
        flags.clear();
        segments.clear();
    }
    let (mut client_flags, mut client_segments) = client_subset(&flags, &segments);
    let salt = crate::privacy::hash_salt(conn, env_id).await?;
    client_form(&mut client_flags, &mut client_segments, &salt);
    let mut keys = key_index(conn, env_id, &edge_name, version).await?;
    keys.retired = retired;
    let generated_at = rfc3339(now_ms());
    let server = json!({
        "schemaVersion": 1,
        "environment": edge_name,
        "version": version,
        "generatedAt": generated_at,
        "flags": flags,
        "segments": segments,
    });
    // Hashed values and the audience are schemaVersion 2: engines that read only 1
    // refuse the client snapshot rather than misread it.
    let client = json!({
        "schemaVersion": 2,
        "audience": "client",
        "hashSalt": salt,
        "environment": edge_name,
        "version": version,
        "generatedAt": generated_at,
        "flags": client_flags,
        "segments": client_segments,
    });
    Ok(Documents {
        server,
        client,
        keys,
        version,
        edge_name: edge_name.clone(),
    })
}

/// The SDK keys the edge must accept now: live keys, and rotated ones in their grace period.
async fn key_index(
    conn: &mut AnyConnection,
    env_id: &str,
    edge_name: &str,
    version: u64,
) -> Result<KeyIndex, Error> {
    let rows = sqlx::query(
        "SELECT hash, kind, expires_at FROM sdk_keys WHERE environment_id = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at, id",
    )
    .bind(env_id)
    .bind(now_ms())
    .fetch_all(conn)
    .await?;
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: String = row.try_get("kind")?;
        keys.push(KeyEntry {
            hash: row.try_get("hash")?,
            kind: if kind == "client" {
                KeyKind::Client
            } else {
                KeyKind::Server
            },
            expires_at_ms: row.try_get("expires_at")?,
        });
    }
    Ok(KeyIndex {
        environment: edge_name.to_string(),
        version,
        keys,
        retired: false,
    })
}

/// Signs the three documents into the body of an edge publish.
pub fn sign(docs: &Documents, key: &SigningKey) -> Result<PublishRequest, Error> {
    let env = Some(docs.edge_name.as_str());
    let ver = Some(docs.version);
    let bytes = |v: &Value| serde_json::to_vec(v).map_err(Error::internal);
    let keys = serde_json::to_vec(&docs.keys).map_err(Error::internal)?;
    Ok(PublishRequest {
        server: key.sign(&bytes(&docs.server)?, env, ver, Some("server")),
        client: key.sign(&bytes(&docs.client)?, env, ver, Some("client")),
        keys: key.sign(&keys, env, ver, Some("keys")),
    })
}
