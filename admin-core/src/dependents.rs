//! Cross-item checks the engine cannot make from one item alone: a segment that a
//! live flag still uses cannot be archived, and a flag's variations cannot change so
//! that another flag's prerequisite names a variation that no longer exists.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, Row};

use crate::{
    error::Error,
    model::{EnvConfig, FlagDocument},
};

/// One environment's targeting of a live (not archived) flag.
struct Use {
    flag: String,
    env: String,
    config: EnvConfig,
}

async fn live_configs(conn: &mut AnyConnection, project_id: &str) -> Result<Vec<Use>, Error> {
    let rows = sqlx::query(
        "SELECT f.key AS flag_key, e.key AS env_key, fe.config FROM flag_environments fe \
         JOIN flags f ON f.id = fe.flag_id JOIN environments e ON e.id = fe.environment_id \
         WHERE f.project_id = $1 AND f.archived_at IS NULL ORDER BY f.key, e.key",
    )
    .bind(project_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let text: String = r.try_get("config")?;
            Ok(Use {
                flag: r.try_get("flag_key")?,
                env: r.try_get("env_key")?,
                config: serde_json::from_str(&text).map_err(Error::internal)?,
            })
        })
        .collect()
}

/// Refuses (409) to archive segment `segment` while a live flag names it.
pub async fn check_segment_unused(
    conn: &mut AnyConnection,
    project_id: &str,
    segment: &str,
) -> Result<(), Error> {
    let mut users = Vec::new();
    for u in live_configs(conn, project_id).await? {
        for (r, rule) in u.config.rules.iter().enumerate() {
            for (c, cond) in rule.conditions.iter().enumerate() {
                let named = cond.values.iter().any(|v| v.as_str() == Some(segment));
                if matches!(cond.op.as_str(), "inSegment" | "notInSegment") && named {
                    users.push(format!(
                        "flag `{}` (/environments/{}/rules/{r}/conditions/{c})",
                        u.flag, u.env
                    ));
                }
            }
        }
    }
    if users.is_empty() {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "segment `{segment}` is used by {}; remove it from those rules (or archive the flags) first",
        users.join(", ")
    )))
}

/// Refuses (422, path `/variations`) a flag document whose variations no longer
/// include one that another live flag requires of it as a prerequisite.
pub async fn check_prerequisite_dependents(
    conn: &mut AnyConnection,
    project_id: &str,
    doc: &FlagDocument,
) -> Result<(), Error> {
    let key = &doc.definition.key;
    let have: BTreeSet<&str> = doc
        .definition
        .variations
        .iter()
        .map(|v| v.key.as_str())
        .collect();
    for u in live_configs(conn, project_id).await? {
        if &u.flag == key {
            continue;
        }
        for (i, pre) in u.config.prerequisites.iter().enumerate() {
            if &pre.flag == key && !have.contains(pre.variation.as_str()) {
                return Err(Error::invalid(
                    "/variations",
                    format!(
                        "flag `{}` requires variation `{}` of `{key}` as a prerequisite \
                         (/environments/{}/prerequisites/{i}); change that flag first",
                        u.flag, pre.variation, u.env
                    ),
                ));
            }
        }
    }
    Ok(())
}
