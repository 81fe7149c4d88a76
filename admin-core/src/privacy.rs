//! What the admin does so that client snapshots reveal no one (docs/snapshot-format.md,
//! "Client snapshots"): each environment's hash salt, each project's private
//! attributes, and the warnings given when a client-visible flag (or a segment one
//! uses) tests a private attribute with an operator that keeps its values readable.
//! A warning does not refuse the change: the person saving it decides.

use std::collections::BTreeSet;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use crate::{
    db,
    error::Error,
    model::{Condition, EnvConfig, FlagDocument, SegmentRule},
};

/// A warning about a saved flag or segment, returned with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrivacyWarning {
    /// `PRIVATE_ATTRIBUTE_READABLE`.
    pub code: String,
    /// A JSON Pointer to the condition, in the flag's or segment's document.
    pub path: String,
    pub message: String,
}

/// The environment's hash salt, made (16 random bytes, base64url) on first use and
/// kept: a value must hash the same in every version of the client snapshot.
pub async fn hash_salt(conn: &mut AnyConnection, env_id: &str) -> Result<String, Error> {
    let select = "SELECT hash_salt FROM environments WHERE id = $1";
    let stored: Option<String> = sqlx::query(select)
        .bind(env_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("hash_salt")?;
    if let Some(salt) = stored {
        return Ok(salt);
    }
    let salt = Base64UrlUnpadded::encode_string(&db::random_bytes::<16>());
    // Only if still unset: of two builders racing, both then read the winner's salt.
    sqlx::query("UPDATE environments SET hash_salt = $1 WHERE id = $2 AND hash_salt IS NULL")
        .bind(&salt)
        .bind(env_id)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(select).bind(env_id).fetch_one(conn).await?;
    Ok(row
        .try_get::<Option<String>, _>("hash_salt")?
        .unwrap_or(salt))
}

/// The attributes project `project_id` marks as identifying people.
pub async fn private_attributes(
    conn: &mut AnyConnection,
    project_id: &str,
) -> Result<BTreeSet<String>, Error> {
    let text: String = sqlx::query("SELECT private_attributes FROM projects WHERE id = $1")
        .bind(project_id)
        .fetch_one(conn)
        .await?
        .try_get("private_attributes")?;
    serde_json::from_str(&text).map_err(Error::internal)
}

/// The warnings for a flag: none unless it is client-visible.
pub fn flag_warnings(doc: &FlagDocument, private: &BTreeSet<String>) -> Vec<PrivacyWarning> {
    if !doc.definition.client_visible {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (env, config) in &doc.environments {
        for (r, rule) in config.rules.iter().enumerate() {
            let at = format!("/environments/{env}/rules/{r}");
            out.extend(condition_warnings(&rule.conditions, private, &at));
        }
    }
    out
}

/// The warnings for a segment's rules, when a client-visible flag names the segment.
pub async fn segment_warnings(
    conn: &mut AnyConnection,
    project_id: &str,
    segment: &str,
    rules: &[SegmentRule],
) -> Result<Vec<PrivacyWarning>, Error> {
    let private = private_attributes(conn, project_id).await?;
    if private.is_empty() || !used_by_client_visible_flag(conn, project_id, segment).await? {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (r, rule) in rules.iter().enumerate() {
        out.extend(condition_warnings(
            &rule.conditions,
            &private,
            &format!("/rules/{r}"),
        ));
    }
    Ok(out)
}

async fn used_by_client_visible_flag(
    conn: &mut AnyConnection,
    project_id: &str,
    segment: &str,
) -> Result<bool, Error> {
    let rows = sqlx::query(
        "SELECT fe.config FROM flag_environments fe JOIN flags f ON f.id = fe.flag_id \
         WHERE f.project_id = $1 AND f.archived_at IS NULL AND f.client_visible = 1",
    )
    .bind(project_id)
    .fetch_all(conn)
    .await?;
    for row in rows {
        let text: String = row.try_get("config")?;
        let config: EnvConfig = serde_json::from_str(&text).map_err(Error::internal)?;
        let names = |c: &Condition| {
            matches!(c.op.as_str(), "inSegment" | "notInSegment")
                && c.values.iter().any(|v| v.as_str() == Some(segment))
        };
        if config.rules.iter().any(|r| r.conditions.iter().any(names)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A warning for each condition that tests a private attribute with values the
/// client snapshot keeps readable: any operator but `in` / `notIn` (whose strings
/// are hashed), and numbers or booleans in `in` / `notIn`. `exists` / `notExists`
/// carry no values, and segment references name no attribute.
fn condition_warnings<'a>(
    conditions: &'a [Condition],
    private: &'a BTreeSet<String>,
    at: &'a str,
) -> impl Iterator<Item = PrivacyWarning> + 'a {
    conditions.iter().enumerate().filter_map(move |(c, cond)| {
        let readable = match cond.op.as_str() {
            "in" | "notIn" => cond.values.iter().any(|v| !v.is_string()),
            "exists" | "notExists" | "inSegment" | "notInSegment" => false,
            _ => true,
        };
        let attribute = cond.attribute.as_deref().unwrap_or_default();
        (readable && private.contains(attribute)).then(|| PrivacyWarning {
            code: "PRIVATE_ATTRIBUTE_READABLE".into(),
            path: format!("{at}/conditions/{c}"),
            message: format!(
                "`{}` is a private attribute, but `{}` keeps its values readable in the client \
                 snapshot (only the strings of `in` and `notIn` are hashed)",
                attribute, cond.op
            ),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Rule;
    use serde_json::json;

    fn condition(attribute: &str, op: &str, values: serde_json::Value) -> Condition {
        serde_json::from_value(json!({"attribute": attribute, "op": op, "values": values})).unwrap()
    }

    #[test]
    fn warns_on_readable_operators_over_private_attributes_only() {
        let private: BTreeSet<String> = ["email".to_string()].into();
        let conditions = [
            condition("email", "in", json!(["a@example.com"])),
            condition("email", "endsWith", json!(["@example.com"])),
            condition("email", "in", json!(["a@example.com", 7])),
            condition("email", "exists", json!([])),
            condition("country", "startsWith", json!(["D"])),
        ];
        let paths: Vec<String> = condition_warnings(&conditions, &private, "/rules/0")
            .map(|w| w.path)
            .collect();
        assert_eq!(paths, ["/rules/0/conditions/1", "/rules/0/conditions/2"]);
    }

    #[test]
    fn only_client_visible_flags_are_warned_about() {
        let private: BTreeSet<String> = ["email".to_string()].into();
        let rule: Rule = serde_json::from_value(json!({
            "conditions": [{"attribute": "email", "op": "matches", "values": ["@corp$"]}],
            "serve": {"variation": "on"}
        }))
        .unwrap();
        let mut doc: FlagDocument = serde_json::from_value(json!({
            "key": "f", "name": "f", "description": "", "type": "boolean",
            "variations": [{"key": "on", "value": true}], "tags": [], "clientVisible": false,
            "environments": {"production": {"enabled": true, "offVariation": "on",
                "rules": [rule], "defaultRule": {"variation": "on"}}}
        }))
        .unwrap();
        assert_eq!(flag_warnings(&doc, &private), []);
        doc.definition.client_visible = true;
        let warnings = flag_warnings(&doc, &private);
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].path,
            "/environments/production/rules/0/conditions/0"
        );
        assert!(
            warnings[0].message.contains("`matches`"),
            "{}",
            warnings[0].message
        );
    }
}
