//! Reading and writing flags as whole documents: the definition plus every
//! environment's targeting. Every write bumps the flag's version, stores that
//! version, audits it and enqueues a publish of the project's environments, all in
//! the caller's transaction.

use std::collections::BTreeMap;

use edgeflag_engine::ItemKind;
use serde_json::{Value, json};
use sqlx::{Any, AnyConnection, Row, Transaction, any::AnyRow};

pub use crate::model::FlagDocument;
use crate::{
    actor::Actor,
    audit,
    db::{bool_int, now_ms},
    dependents,
    error::Error,
    model::{self, EnvConfig, FlagDef, SegmentBody},
    outbox,
    validate::{self, Sent},
};

/// Reads the definition columns of a `flags` row.
pub fn load_def(row: &AnyRow) -> Result<FlagDef, Error> {
    let json_col = |name: &str| -> Result<Value, Error> {
        let text: String = row.try_get(name)?;
        serde_json::from_str(&text).map_err(Error::internal)
    };
    Ok(FlagDef {
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        value_type: row.try_get("value_type")?,
        variations: serde_json::from_value(json_col("variations")?).map_err(Error::internal)?,
        tags: serde_json::from_value(json_col("tags")?).map_err(Error::internal)?,
        client_visible: row.try_get::<i64, _>("client_visible")? != 0,
        salt: row.try_get("salt")?,
        metadata: serde_json::from_value(json_col("metadata")?).map_err(Error::internal)?,
    })
}

/// The targeting a flag gets in a new environment: off, serving the off variation.
pub fn default_env_config(def: &FlagDef) -> EnvConfig {
    let off = def
        .variations
        .last()
        .map(|v| v.key.clone())
        .unwrap_or_default();
    EnvConfig {
        enabled: false,
        off_variation: off.clone(),
        targets: Vec::new(),
        rules: Vec::new(),
        default_rule: model::Serve {
            variation: Some(off),
            rollout: None,
        },
        prerequisites: Vec::new(),
    }
}

/// Loads a flag's whole document.
pub async fn load(conn: &mut AnyConnection, flag_id: &str) -> Result<(FlagDocument, i64), Error> {
    let row = sqlx::query("SELECT * FROM flags WHERE id = $1")
        .bind(flag_id)
        .fetch_one(&mut *conn)
        .await?;
    let definition = load_def(&row)?;
    let version: i64 = row.try_get("version")?;
    let rows = sqlx::query(
        "SELECT e.key, fe.enabled, fe.config FROM flag_environments fe JOIN environments e ON e.id = fe.environment_id WHERE fe.flag_id = $1",
    )
    .bind(flag_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut environments = BTreeMap::new();
    for r in rows {
        let text: String = r.try_get("config")?;
        let mut config: EnvConfig = serde_json::from_str(&text).map_err(Error::internal)?;
        config.enabled = r.try_get::<i64, _>("enabled")? != 0;
        environments.insert(r.try_get("key")?, config);
    }
    Ok((
        FlagDocument {
            definition,
            environments,
        },
        version,
    ))
}

/// The flag's id within a project, or 404.
pub async fn find(conn: &mut AnyConnection, project_id: &str, key: &str) -> Result<String, Error> {
    let row = sqlx::query("SELECT id FROM flags WHERE project_id = $1 AND key = $2")
        .bind(project_id)
        .bind(key)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::not_found("flag", key))?;
    Ok(row.try_get("id")?)
}

/// Checks a document with the engine, environment by environment (those `sent`
/// changes), with the project's segments and the flags its prerequisites name; then
/// that no other flag requires a variation of it that the document no longer has.
/// Paths point into the request body, which holds what `sent` says.
pub async fn validate(
    conn: &mut AnyConnection,
    project_id: &str,
    doc: &FlagDocument,
    sent: &Sent,
) -> Result<(), Error> {
    if doc.definition.variations.is_empty() {
        return Err(Error::invalid(
            "/variations",
            "a flag needs at least one variation",
        ));
    }
    let segments = project_segments(conn, project_id).await?;
    let key = &doc.definition.key;
    for (env, config) in doc.environments.iter().filter(|(env, _)| sent.checks(env)) {
        let checked = match with_prerequisites(conn, project_id, doc, env, config).await {
            Ok(flags) => validate::check(flags, segments.clone(), ItemKind::Flag, key),
            Err(e) => Err(e),
        };
        checked.map_err(|e| match e {
            Error::Invalid { path, message } => sent.locate(env, &path, &message),
            other => other,
        })?;
    }
    dependents::check_prerequisite_dependents(conn, project_id, doc).await
}

/// The engine documents of the flag in `env` and of the flags its prerequisites
/// name; a wrong prerequisite is invalid at its path in the flag's document.
async fn with_prerequisites(
    conn: &mut AnyConnection,
    project_id: &str,
    doc: &FlagDocument,
    env: &str,
    config: &EnvConfig,
) -> Result<Vec<Value>, Error> {
    let mut flags = vec![model::wire_flag(&doc.definition, 1, config)];
    for (i, pre) in config.prerequisites.iter().enumerate() {
        let path = format!("/prerequisites/{i}/flag");
        if pre.flag == doc.definition.key {
            return Err(Error::invalid(
                path,
                "a flag cannot be its own prerequisite",
            ));
        }
        let Ok(id) = find(conn, project_id, &pre.flag).await else {
            return Err(Error::invalid(
                path,
                format!("flag `{}` does not exist", pre.flag),
            ));
        };
        let (other, _) = load(conn, &id).await?;
        let other_config = other
            .environments
            .get(env)
            .cloned()
            .unwrap_or_else(|| default_env_config(&other.definition));
        flags.push(model::wire_flag(&other.definition, 1, &other_config));
    }
    Ok(flags)
}

/// The live segments of a project as engine documents.
pub async fn project_segments(
    conn: &mut AnyConnection,
    project_id: &str,
) -> Result<Vec<Value>, Error> {
    let rows = sqlx::query(
        "SELECT * FROM segments WHERE project_id = $1 AND archived_at IS NULL ORDER BY key",
    )
    .bind(project_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(segment_wire).collect()
}

pub fn segment_body(row: &AnyRow) -> Result<SegmentBody, Error> {
    let col = |name: &str| -> Result<Value, Error> {
        let text: String = row.try_get(name)?;
        serde_json::from_str(&text).map_err(Error::internal)
    };
    Ok(SegmentBody {
        included: serde_json::from_value(col("included")?).map_err(Error::internal)?,
        excluded: serde_json::from_value(col("excluded")?).map_err(Error::internal)?,
        rules: serde_json::from_value(col("rules")?).map_err(Error::internal)?,
    })
}

pub fn segment_wire(row: &AnyRow) -> Result<Value, Error> {
    let key: String = row.try_get("key")?;
    Ok(model::wire_segment(
        &key,
        row.try_get("version")?,
        &segment_body(row)?,
    ))
}

/// What a write is, for the audit log.
#[derive(Debug)]
pub struct Change<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub project_id: &'a str,
    pub project_key: &'a str,
    pub before: Option<&'a FlagDocument>,
}

/// Stores `doc` as the next version of the flag (creating it when `flag_id` has no row yet).
pub async fn write(
    tx: &mut Transaction<'_, Any>,
    flag_id: &str,
    doc: &FlagDocument,
    change: &Change<'_>,
) -> Result<i64, Error> {
    let now = now_ms();
    let def = &doc.definition;
    let variations = serde_json::to_string(&def.variations).map_err(Error::internal)?;
    let tags = serde_json::to_string(&def.tags).map_err(Error::internal)?;
    let metadata = serde_json::to_string(&def.metadata).map_err(Error::internal)?;
    let version = match change.before {
        None => {
            sqlx::query(
                "INSERT INTO flags (id, project_id, key, name, description, value_type, variations, tags, client_visible, salt, metadata, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)",
            )
            .bind(flag_id).bind(change.project_id).bind(&def.key).bind(&def.name).bind(&def.description)
            .bind(&def.value_type).bind(&variations).bind(&tags).bind(bool_int(def.client_visible)).bind(def.salt.clone()).bind(&metadata).bind(now)
            .execute(&mut **tx)
            .await?;
            1
        }
        Some(_) => {
            sqlx::query(
                "UPDATE flags SET name = $1, description = $2, variations = $3, tags = $4, client_visible = $5, salt = $6, \
                 metadata = $7, version = version + 1, updated_at = $8 WHERE id = $9",
            )
            .bind(&def.name).bind(&def.description).bind(&variations).bind(&tags).bind(bool_int(def.client_visible))
            .bind(def.salt.clone()).bind(&metadata).bind(now).bind(flag_id)
            .execute(&mut **tx)
            .await?;
            let row = sqlx::query("SELECT version FROM flags WHERE id = $1")
                .bind(flag_id)
                .fetch_one(&mut **tx)
                .await?;
            row.try_get("version")?
        }
    };
    write_environments(tx, flag_id, change.project_id, doc).await?;
    let document = serde_json::to_string(doc).map_err(Error::internal)?;
    sqlx::query("INSERT INTO flag_versions (flag_id, version, document, actor, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(flag_id).bind(version).bind(document).bind(change.actor.label()).bind(now)
        .execute(&mut **tx)
        .await?;
    let resource = format!("project/{}/flag/{}", change.project_key, def.key);
    let before = change.before.map(|b| json!(b));
    let mut after = json!(doc);
    after["version"] = json!(version);
    audit::record(
        tx,
        change.actor,
        change.action,
        &resource,
        before.as_ref(),
        Some(&after),
    )
    .await?;
    outbox::enqueue_project(
        tx,
        change.project_id,
        change.action,
        change.actor.request_id.as_deref(),
    )
    .await?;
    Ok(version)
}

async fn write_environments(
    tx: &mut Transaction<'_, Any>,
    flag_id: &str,
    project_id: &str,
    doc: &FlagDocument,
) -> Result<(), Error> {
    let envs = sqlx::query("SELECT id, key FROM environments WHERE project_id = $1")
        .bind(project_id)
        .fetch_all(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM flag_environments WHERE flag_id = $1")
        .bind(flag_id)
        .execute(&mut **tx)
        .await?;
    for env in envs {
        let key: String = env.try_get("key")?;
        let config = doc
            .environments
            .get(&key)
            .cloned()
            .unwrap_or_else(|| default_env_config(&doc.definition));
        sqlx::query("INSERT INTO flag_environments (flag_id, environment_id, enabled, config) VALUES ($1, $2, $3, $4)")
            .bind(flag_id)
            .bind(env.try_get::<String, _>("id")?)
            .bind(bool_int(config.enabled))
            .bind(serde_json::to_string(&config).map_err(Error::internal)?)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
