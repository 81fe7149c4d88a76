//! Flags: definitions per project, targeting per environment, toggles, bulk
//! toggles, archive and restore. Every write is validated by the engine first and
//! stored through `flagstore::write` (version, audit and outbox in one transaction).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{AnyPool, Row};

use crate::{
    actor::Actor,
    audit,
    db::{self, now_ms, rfc3339},
    error::Error,
    flagstore::{self, Change},
    list::{Keyset, ListQuery, Page, archived_clause, bind_cursor},
    model::{EnvConfig, FlagDef, FlagDocument, Metadata, Variation},
    outbox, privacy,
    scope::{self, ProjectRef, check_key},
    validate::Sent,
};

/// A flag as the API returns it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagView {
    #[serde(flatten)]
    pub document: FlagDocument,
    pub version: i64,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
    /// On the answer to a change only: what the client snapshot keeps readable of a
    /// private attribute (`privacy::flag_warnings`). The change is saved regardless.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<privacy::PrivacyWarning>,
}

/// A new flag: the body of `POST /v1/projects/{project}/flags`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFlag {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub value_type: String,
    pub variations: Vec<Variation>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub client_visible: bool,
    pub salt: Option<String>,
    /// Names to strings, numbers or booleans, returned to OpenFeature as flag metadata.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    /// Targeting per environment key; environments left out start off.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvConfig>,
}

impl CreateFlag {
    /// The flag as a document (environments left out are filled in by [`create`]).
    pub fn into_document(self) -> FlagDocument {
        FlagDocument {
            definition: FlagDef {
                key: self.key,
                name: self.name,
                description: self.description,
                value_type: self.value_type,
                variations: self.variations,
                tags: self.tags,
                client_visible: self.client_visible,
                salt: self.salt,
                metadata: self.metadata,
            },
            environments: self.environments,
        }
    }
}

/// The current document of flag `flag_id` with its version and times.
pub async fn view(pool: &AnyPool, flag_id: &str) -> Result<FlagView, Error> {
    let mut conn = pool.acquire().await?;
    let (document, version) = flagstore::load(&mut conn, flag_id).await?;
    let row = sqlx::query("SELECT created_at, updated_at, archived_at FROM flags WHERE id = $1")
        .bind(flag_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(FlagView {
        document,
        version,
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
        created_at: rfc3339(row.try_get("created_at")?),
        updated_at: rfc3339(row.try_get("updated_at")?),
        warnings: Vec::new(),
    })
}

/// The flag's view with the privacy warnings its saved document deserves.
async fn view_with_warnings(
    pool: &AnyPool,
    project_id: &str,
    flag_id: &str,
) -> Result<FlagView, Error> {
    let mut view = view(pool, flag_id).await?;
    let mut conn = pool.acquire().await?;
    let private = privacy::private_attributes(&mut conn, project_id).await?;
    view.warnings = privacy::flag_warnings(&view.document, &private);
    Ok(view)
}

/// The id of flag `flag` in project `project_key` of organization `org_id`.
pub async fn id(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
    flag: &str,
) -> Result<String, Error> {
    let project = scope::project(pool, org_id, project_key).await?;
    let mut conn = pool.acquire().await?;
    flagstore::find(&mut conn, &project.id, flag).await
}

/// Flag `flag` of project `project_key` in organization `org_id`.
pub async fn show(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
    flag: &str,
) -> Result<FlagView, Error> {
    let id = id(pool, org_id, project_key, flag).await?;
    view(pool, &id).await
}

/// One page of a project's flags, with `q`, `tag`, `type`, `archived` and `sort`.
pub async fn list(
    pool: &AnyPool,
    org_id: &str,
    project_key: &str,
    q: &ListQuery,
) -> Result<Page<FlagView>, Error> {
    let project = scope::project(pool, org_id, project_key).await?;
    let keyset = Keyset::from_query(q, true)?;
    let mut sql = format!(
        "SELECT id, key, created_at, updated_at FROM flags WHERE project_id = $1{}",
        archived_clause(q, "")?
    );
    sql.push_str(" AND (key LIKE $2 OR name LIKE $2) AND tags LIKE $3 AND value_type LIKE $4");
    sql.push_str(&keyset.where_clause("", 5));
    sql.push_str(&keyset.order_clause(""));
    let like = format!("%{}%", q.q.as_deref().unwrap_or(""));
    let tag = q
        .tag
        .as_ref()
        .map_or_else(|| "%".to_string(), |t| format!("%{}%", json!(t)));
    let value_type = q.value_type.clone().unwrap_or_else(|| "%".to_string());
    let query = sqlx::query(&sql)
        .bind(&project.id)
        .bind(like)
        .bind(tag)
        .bind(value_type);
    let rows = bind_cursor(query, &keyset).fetch_all(pool).await?;
    let mut items = Vec::with_capacity(rows.len());
    let mut cursors = BTreeMap::new();
    for row in &rows {
        let id: String = row.try_get("id")?;
        let cursor = match keyset.column {
            "key" => json!(row.try_get::<String, _>("key")?),
            column => json!(row.try_get::<i64, _>(column)?),
        };
        cursors.insert(id.clone(), cursor);
        items.push((id.clone(), view(pool, &id).await?));
    }
    let page = keyset.finish(items, |(id, _)| {
        (cursors.get(id).cloned().unwrap_or(Value::Null), id.clone())
    });
    Ok(Page {
        items: page.items.into_iter().map(|(_, v)| v).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Creates a flag; environments the document leaves out start off.
pub async fn create(
    pool: &AnyPool,
    actor: &Actor,
    project_key: &str,
    mut doc: FlagDocument,
) -> Result<FlagView, Error> {
    check_key("/key", &doc.definition.key)?;
    let project = scope::project(pool, &actor.org_id, project_key).await?;
    let sent = Sent::Flag {
        environments: doc.environments.keys().cloned().collect(),
    };
    fill_environments(pool, &project, &mut doc).await?;
    let id = db::new_id("flg");
    let mut tx = db::begin(pool).await?;
    check_key_free(&mut tx, &project, &doc.definition.key).await?;
    flagstore::validate(&mut tx, &project.id, &doc, &sent).await?;
    let change = Change {
        actor,
        action: "flag.create",
        project_id: &project.id,
        project_key: &project.key,
        before: None,
    };
    flagstore::write(&mut tx, &id, &doc, &change).await?;
    tx.commit().await?;
    view_with_warnings(pool, &project.id, &id).await
}

/// Refuses (409) a key that a flag of the project already has, saying how to restore
/// it when that flag is archived (archived flags keep their key).
async fn check_key_free(
    conn: &mut sqlx::AnyConnection,
    project: &ProjectRef,
    key: &str,
) -> Result<(), Error> {
    let row = sqlx::query("SELECT archived_at FROM flags WHERE project_id = $1 AND key = $2")
        .bind(&project.id)
        .bind(key)
        .fetch_optional(conn)
        .await?;
    match row {
        None => Ok(()),
        Some(row) if row.try_get::<Option<i64>, _>("archived_at")?.is_some() => {
            Err(Error::Conflict(format!(
                "flag `{key}` already exists and is archived; restore it with POST {} \
                 or choose another key",
                restore_route(&project.key, key)
            )))
        }
        Some(_) => Err(Error::Conflict(format!("flag `{key}` already exists"))),
    }
}

/// The API route that restores an archived flag, named in the errors about one.
fn restore_route(project_key: &str, flag: &str) -> String {
    format!("/v1/projects/{project_key}/flags/{flag}/restore")
}

/// Refuses (409) to change an archived flag: nothing of it is served, so a change
/// would look applied while doing nothing.
async fn check_live(
    conn: &mut sqlx::AnyConnection,
    project_key: &str,
    flag_id: &str,
    flag: &str,
) -> Result<(), Error> {
    let row = sqlx::query("SELECT archived_at FROM flags WHERE id = $1")
        .bind(flag_id)
        .fetch_one(conn)
        .await?;
    if row.try_get::<Option<i64>, _>("archived_at")?.is_some() {
        return Err(Error::Conflict(format!(
            "flag `{flag}` is archived, so nothing of it is served; restore it with POST {} \
             before changing it",
            restore_route(project_key, flag)
        )));
    }
    Ok(())
}

/// Every environment of the project gets a configuration; unknown ones are refused.
async fn fill_environments(
    pool: &AnyPool,
    project: &ProjectRef,
    doc: &mut FlagDocument,
) -> Result<(), Error> {
    let rows = sqlx::query("SELECT key FROM environments WHERE project_id = $1")
        .bind(&project.id)
        .fetch_all(pool)
        .await?;
    let keys: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("key"))
        .collect::<Result<_, _>>()?;
    if let Some(unknown) = doc.environments.keys().find(|k| !keys.contains(k)) {
        return Err(Error::invalid(
            format!("/environments/{unknown}"),
            format!("environment `{unknown}` does not exist"),
        ));
    }
    for key in keys {
        let default = flagstore::default_env_config(&doc.definition);
        doc.environments.entry(key).or_insert(default);
    }
    Ok(())
}

/// What a change to a flag is: which request body it comes from (for the paths of
/// its errors) and how it is audited.
#[derive(Debug, Clone)]
pub struct Edit<'a> {
    pub action: &'a str,
    pub sent: Sent,
}

/// Applies `edit` to the stored document of a live (not archived) flag, validates
/// and stores the result as the next version, audited as `what.action`.
pub async fn modify(
    pool: &AnyPool,
    actor: &Actor,
    project_key: &str,
    flag: &str,
    what: Edit<'_>,
    edit: impl FnOnce(&mut FlagDocument) -> Result<(), Error>,
) -> Result<FlagView, Error> {
    let action = what.action;
    let project = scope::project(pool, &actor.org_id, project_key).await?;
    let mut tx = db::begin(pool).await?;
    let id = flagstore::find(&mut tx, &project.id, flag).await?;
    check_live(&mut tx, project_key, &id, flag).await?;
    let (before, _) = flagstore::load(&mut tx, &id).await?;
    let mut doc = before.clone();
    edit(&mut doc)?;
    flagstore::validate(&mut tx, &project.id, &doc, &what.sent).await?;
    let change = Change {
        actor,
        action,
        project_id: &project.id,
        project_key: &project.key,
        before: Some(&before),
    };
    flagstore::write(&mut tx, &id, &doc, &change).await?;
    tx.commit().await?;
    view_with_warnings(pool, &project.id, &id).await
}

/// Turns many flags on or off in one environment, atomically: all or none. Returns
/// each flag's new version by key.
pub async fn bulk_toggle(
    pool: &AnyPool,
    actor: &Actor,
    project_key: &str,
    env: &str,
    flags: &[String],
    enabled: bool,
) -> Result<Map<String, Value>, Error> {
    let project = scope::project(pool, &actor.org_id, project_key).await?;
    scope::environment(pool, &project, env).await?;
    let action = if enabled { "flag.on" } else { "flag.off" };
    let mut tx = db::begin(pool).await?;
    let mut versions = Map::new();
    for (i, key) in flags.iter().enumerate() {
        let id = flagstore::find(&mut tx, &project.id, key)
            .await
            .map_err(|_| {
                Error::invalid(
                    format!("/flags/{i}"),
                    format!("flag `{key}` does not exist"),
                )
            })?;
        check_live(&mut tx, project_key, &id, key)
            .await
            .map_err(|e| Error::invalid(format!("/flags/{i}"), e.to_string()))?;
        let (before, _) = flagstore::load(&mut tx, &id).await?;
        let mut doc = before.clone();
        if let Some(slot) = doc.environments.get_mut(env) {
            slot.enabled = enabled;
        }
        let change = Change {
            actor,
            action,
            project_id: &project.id,
            project_key: &project.key,
            before: Some(&before),
        };
        let version = flagstore::write(&mut tx, &id, &doc, &change).await?;
        versions.insert(key.clone(), json!(version));
    }
    tx.commit().await?;
    Ok(versions)
}

/// Archives a flag (it leaves the published snapshots; nothing is deleted) or restores it.
pub async fn set_archived(
    pool: &AnyPool,
    actor: &Actor,
    project_key: &str,
    flag: &str,
    archived: bool,
) -> Result<FlagView, Error> {
    let project = scope::project(pool, &actor.org_id, project_key).await?;
    let mut tx = db::begin(pool).await?;
    let id = flagstore::find(&mut tx, &project.id, flag).await?;
    sqlx::query("UPDATE flags SET archived_at = $1, updated_at = $2 WHERE id = $3")
        .bind(archived.then(now_ms))
        .bind(now_ms())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let action = if archived {
        "flag.archive"
    } else {
        "flag.restore"
    };
    audit::record(
        &mut tx,
        actor,
        action,
        &format!("project/{project_key}/flag/{flag}"),
        None,
        None,
    )
    .await?;
    outbox::enqueue_project(&mut tx, &project.id, action, actor.request_id.as_deref()).await?;
    tx.commit().await?;
    view(pool, &id).await
}
