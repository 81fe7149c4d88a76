//! A flag's history: every version kept (`flag_versions`), two versions diffed, and
//! an old one read back to restore it (as a new version, so history only grows).

use serde_json::{Value, json};
use sqlx::{AnyPool, Row};

use crate::{db::rfc3339, error::Error, flags};

/// One stored version: its document, who wrote it and when (epoch milliseconds).
#[derive(Debug, Clone)]
pub struct Version {
    pub document: Value,
    pub actor: String,
    pub created_at: i64,
}

/// Version `version` of flag `flag_id`, or not found.
pub async fn get(pool: &AnyPool, flag_id: &str, version: i64) -> Result<Version, Error> {
    let row = sqlx::query(
        "SELECT document, actor, created_at FROM flag_versions WHERE flag_id = $1 AND version = $2",
    )
    .bind(flag_id)
    .bind(version)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("version", &version.to_string()))?;
    let text: String = row.try_get("document")?;
    Ok(Version {
        document: serde_json::from_str(&text).map_err(Error::internal)?,
        actor: row.try_get("actor")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Every version of a flag, newest first: `{version, actor, createdAt}`.
pub async fn list(
    pool: &AnyPool,
    org_id: &str,
    project: &str,
    flag: &str,
) -> Result<Vec<Value>, Error> {
    let id = flags::id(pool, org_id, project, flag).await?;
    let rows = sqlx::query("SELECT version, actor, created_at FROM flag_versions WHERE flag_id = $1 ORDER BY version DESC")
        .bind(&id)
        .fetch_all(pool)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(json!({"version": r.try_get::<i64, _>("version")?, "actor": r.try_get::<String, _>("actor")?, "createdAt": rfc3339(r.try_get("created_at")?)}));
    }
    Ok(items)
}

/// The changes from version `from` to version `to` of a flag, as [`json_diff`] writes them.
pub async fn diff(
    pool: &AnyPool,
    org_id: &str,
    project: &str,
    flag: &str,
    (from, to): (i64, i64),
) -> Result<Vec<Value>, Error> {
    let id = flags::id(pool, org_id, project, flag).await?;
    let from = get(pool, &id, from).await?;
    let to = get(pool, &id, to).await?;
    let mut changes = Vec::new();
    json_diff("", &from.document, &to.document, &mut changes);
    Ok(changes)
}

/// A structural diff: `replace`, `add` and `remove` operations with JSON Pointers.
pub fn json_diff(path: &str, from: &Value, to: &Value, out: &mut Vec<Value>) {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                match b.get(k) {
                    Some(vb) => json_diff(&p, va, vb, out),
                    None => out.push(json!({"op": "remove", "path": p, "from": va})),
                }
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(json!({"op": "add", "path": p, "value": vb}));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                json_diff(&format!("{path}/{i}"), va, vb, out);
            }
        }
        _ if from != to => {
            out.push(json!({"op": "replace", "path": path, "from": from, "value": to}))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_name_the_changed_paths() {
        let mut out = Vec::new();
        json_diff(
            "",
            &json!({"a": 1, "b": [1, 2], "c": true}),
            &json!({"a": 2, "b": [1, 3], "d": 0}),
            &mut out,
        );
        let paths: Vec<&str> = out.iter().map(|c| c["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["/a", "/b/1", "/c", "/d"]);
        assert_eq!(out[2]["op"], "remove");
    }
}
